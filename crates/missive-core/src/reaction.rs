//! Misskey's reaction rules for a local user (`ReactionService`): what a requested
//! reaction is stored as, which reactions of a note `reactionAndUserPairCache` holds,
//! and the order of the `reactions` map.
//!
//! missive has no custom emoji and no remote users, so every stored reaction is a
//! Unicode emoji: a `:name:` names an emoji this server does not have and becomes the
//! fallback `❤`, as Misskey does with an unknown local custom emoji.

use serde_json::{Map, Value};

/// What Misskey stores for a reaction it cannot use, and for every reaction to a
/// `likeOnly` note: U+2764 without a variation selector.
pub const FALLBACK: &str = "\u{2764}";

/// How many `userId/reaction` pairs a note's `reactionAndUserPairCache` holds: the newest
/// ten. (Misskey's own cache keeps the first 16 pairs that found room; missive keeps the
/// newest, which is what a receiver wants to see and what its issue asks for.)
pub const PAIR_CACHE_MAX: i64 = 10;

/// The longest emoji sequence to look for, in characters (flags of subdivisions and
/// family sequences are the longest, around ten).
const LONGEST_EMOJI_CHARS: usize = 16;

/// Words older Misskey versions stored instead of emoji, still accepted by the API.
const LEGACY_WORDS: [(&str, &str); 11] = [
    ("like", "\u{1F44D}"),
    ("love", "\u{2764}"),
    ("laugh", "\u{1F606}"),
    ("hmm", "\u{1F914}"),
    ("surprise", "\u{1F62E}"),
    ("congrats", "\u{1F389}"),
    ("angry", "\u{1F4A2}"),
    ("confused", "\u{1F625}"),
    ("rip", "\u{1F607}"),
    ("pudding", "\u{1F36E}"),
    ("star", "\u{2B50}"),
];

/// The reaction stored when a local user reacts with `requested` to a note whose
/// `reactionAcceptance` is `acceptance`.
///
/// `likeOnly` turns everything into `❤`. The other modes restrict only custom emoji
/// (sensitive ones) or remote users, neither of which missive has. A `:name:` is a
/// custom emoji that this server does not have, so it becomes `❤`. Anything else is
/// normalised: a legacy word becomes its emoji, otherwise the first emoji in the text
/// is taken (without variation selectors unless it is a joined sequence), and text
/// without an emoji becomes `❤`.
pub fn stored_reaction(requested: &str, acceptance: Option<&str>) -> String {
    if acceptance == Some("likeOnly") || is_custom_emoji(requested) {
        return FALLBACK.to_owned();
    }
    normalize(requested)
}

/// `:name:` or `:name@.:` with a name of word characters, `+` and `-`.
fn is_custom_emoji(text: &str) -> bool {
    let Some(inner) = text
        .strip_prefix(':')
        .and_then(|rest| rest.strip_suffix(':'))
    else {
        return false;
    };
    let name = inner.strip_suffix("@.").unwrap_or(inner);
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '+' || c == '-')
}

fn normalize(text: &str) -> String {
    if let Some((_, emoji)) = LEGACY_WORDS.iter().find(|(word, _)| *word == text) {
        return (*emoji).to_owned();
    }
    let Some(emoji) = first_emoji(text) else {
        return FALLBACK.to_owned();
    };
    if emoji.contains('\u{200D}') {
        emoji.to_owned()
    } else {
        emoji.replace('\u{FE0F}', "")
    }
}

/// The first emoji in `text` (the longest sequence starting at the earliest position).
fn first_emoji(text: &str) -> Option<&str> {
    let starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    for (n, &start) in starts.iter().enumerate() {
        let ends = starts
            .iter()
            .skip(n + 1)
            .take(LONGEST_EMOJI_CHARS - 1)
            .copied()
            .chain(std::iter::once(text.len()).filter(|_| starts.len() - n <= LONGEST_EMOJI_CHARS))
            .collect::<Vec<usize>>();
        if let Some(end) = ends
            .into_iter()
            .rev()
            .find(|&end| emojis::get(&text[start..end]).is_some())
        {
            return Some(&text[start..end]);
        }
    }
    None
}

/// The reactions of one note, as packing needs them (viewer-independent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoteReactions {
    /// Each reaction with its count (above zero), in any order.
    pub counts: Vec<(String, i64)>,
    /// `userId/reaction` pairs of the newest reactions, oldest of them first.
    pub pair_cache: Vec<String>,
}

impl NoteReactions {
    /// `reactionCount`: every reaction counted once.
    pub fn total(&self) -> i64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// The reactions once `user_id` has reacted with `reaction` in place of `previous`
    /// (their earlier reaction, if any): what the note carries after the write.
    pub fn with_reaction(
        mut self,
        user_id: &str,
        reaction: &str,
        previous: Option<&str>,
    ) -> NoteReactions {
        if let Some(previous) = previous {
            if let Some((_, n)) = self.counts.iter_mut().find(|(r, _)| r == previous) {
                *n -= 1;
            }
            self.counts.retain(|(_, n)| *n > 0);
            let pair = format!("{user_id}/{previous}");
            self.pair_cache.retain(|p| *p != pair);
        }
        match self.counts.iter_mut().find(|(r, _)| r == reaction) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((reaction.to_owned(), 1)),
        }
        self.pair_cache.push(format!("{user_id}/{reaction}"));
        let excess = self
            .pair_cache
            .len()
            .saturating_sub(PAIR_CACHE_MAX as usize);
        self.pair_cache.drain(..excess);
        self
    }

    /// The `reactions` map, its keys in the order Misskey's PostgreSQL `jsonb` column
    /// keeps them: shorter keys (in bytes) first, then bytewise.
    pub fn map(&self) -> Map<String, Value> {
        let mut counts: Vec<&(String, i64)> = self.counts.iter().filter(|(_, n)| *n > 0).collect();
        counts.sort_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        counts
            .into_iter()
            .map(|(reaction, n)| (reaction.clone(), Value::from(*n)))
            .collect()
    }
}

/// One user's reaction to a note, as `notes/reactions` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub id: String,
    pub note_id: String,
    pub user_id: String,
    pub reaction: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_reactions_are_stored_as_misskey_stores_them() {
        let cases: [(&str, Option<&str>, &str); 14] = [
            ("👍", None, "👍"),
            ("❤️", None, "❤"),
            ("❤", None, "❤"),
            ("☺️", None, "☺"),
            ("👨‍👩‍👧", None, "👨‍👩‍👧"),
            ("🏳️‍🌈", None, "🏳️‍🌈"),
            ("👍🏽", None, "👍🏽"),
            ("like", None, "👍"),
            ("pudding", None, "🍮"),
            ("abc🎉def👍", None, "🎉"),
            ("no emoji", None, "❤"),
            (":blobcat:", None, "❤"),
            (":blobcat@.:", Some("nonSensitiveOnly"), "❤"),
            ("🎉", Some("likeOnly"), "❤"),
        ];
        for (requested, acceptance, stored) in cases {
            assert_eq!(
                stored_reaction(requested, acceptance),
                stored,
                "{requested:?} on {acceptance:?}"
            );
        }
        for acceptance in [
            "likeOnlyForRemote",
            "nonSensitiveOnly",
            "nonSensitiveOnlyForLocalLikeOnlyForRemote",
        ] {
            assert_eq!(
                stored_reaction("🎉", Some(acceptance)),
                "🎉",
                "{acceptance}"
            );
        }
    }

    #[test]
    fn a_new_reaction_replaces_the_previous_one() {
        let before = NoteReactions {
            counts: vec![("👍".into(), 2), ("🎉".into(), 1)],
            pair_cache: vec!["u1/👍".into(), "u2/🎉".into(), "u3/👍".into()],
        };
        let after = before.with_reaction("u2", "👍", Some("🎉"));
        assert_eq!(after.counts, [("👍".to_owned(), 3)]);
        assert_eq!(after.pair_cache, ["u1/👍", "u3/👍", "u2/👍"]);
        let full = NoteReactions {
            counts: vec![("👍".into(), 10)],
            pair_cache: (0..10).map(|i| format!("u{i}/👍")).collect(),
        };
        let after = full.with_reaction("late", "🎉", None);
        assert_eq!(after.total(), 11);
        // The newest ten: the oldest pair gave way to the new one.
        let mut newest: Vec<String> = (1..10).map(|i| format!("u{i}/👍")).collect();
        newest.push("late/🎉".into());
        assert_eq!(after.pair_cache, newest);
    }

    #[test]
    fn the_reactions_map_is_in_jsonb_key_order() {
        let reactions = NoteReactions {
            counts: vec![
                ("🎉".into(), 2),
                ("❤".into(), 1),
                ("👍🏽".into(), 1),
                ("👍".into(), 3),
                ("😆".into(), 0),
            ],
            pair_cache: Vec::new(),
        };
        let map = reactions.map();
        let keys: Vec<&String> = map.keys().collect();
        assert_eq!(keys, ["❤", "🎉", "👍", "👍🏽"]);
        assert_eq!(reactions.total(), 7);
    }
}
