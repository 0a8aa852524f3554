//! Properties of the mention parser over generated text, weighted towards the MFM syntax
//! that changes what is a mention: whatever the input, it returns (no panic, no runaway
//! backtracking) and every mention it reports is a well-formed one that the text holds.

use proptest::prelude::*;

use super::extract_mentions;

/// Pieces of MFM and mention syntax that generated texts are built from.
const PIECES: &[&str] = &[
    "@",
    "@alice",
    "@bob.",
    "@-x",
    "@a_b",
    "@alice@example.com",
    "@x@.",
    "@a.@h",
    "alice",
    "bob",
    ".",
    "-",
    "_",
    " ",
    "\n",
    "あ",
    "*",
    "**",
    "***",
    "__",
    "~~",
    "`",
    "```",
    "\n```\n",
    "<b>",
    "</b>",
    "<i>",
    "</i>",
    "<s>",
    "</s>",
    "<small>",
    "</small>",
    "<center>",
    "</center>",
    "<plain>",
    "</plain>",
    "$[",
    "$[x ",
    "$[tada ",
    "]",
    "[",
    "](",
    ")",
    "(",
    "\\(",
    "\\)",
    "\\[",
    "\\]",
    "http://",
    "https://x.y/",
    "<https://a.b>",
    "?[",
    "#",
    "#tag",
    ":emoji:",
    ">",
    "> ",
    " search",
    " 検索",
    "#️⃣",
    "0️⃣",
    "\u{200b}",
    "a@b.c",
];

fn mfm_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(PIECES), 0..80).prop_map(|p| p.concat()),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4_000, ..ProptestConfig::default() })]

    #[test]
    fn every_reported_mention_is_well_formed_and_in_the_text(text in mfm_text()) {
        let mentions = extract_mentions(&text);
        prop_assert!(mentions.len() <= text.matches('@').count());
        let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        for mention in &mentions {
            let user = &mention.username;
            prop_assert!(!user.is_empty() && user.chars().all(name_char), "{mention:?}");
            prop_assert!(!user.starts_with(['.', '-']), "{mention:?}");
            let written = match &mention.host {
                Some(host) => {
                    prop_assert!(!host.is_empty() && host.chars().all(name_char), "{mention:?}");
                    prop_assert!(!host.starts_with(['.', '-']) && !host.ends_with(['.', '-']));
                    format!("@{user}@{host}")
                }
                None => {
                    prop_assert!(!user.ends_with(['.', '-']), "{mention:?}");
                    format!("@{user}")
                }
            };
            prop_assert!(text.contains(&written), "{written} is not in {text:?}");
        }
        // The same text always gives the same answer.
        prop_assert_eq!(extract_mentions(&text), mentions);
    }
}
