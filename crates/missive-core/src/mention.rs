//! Mention extraction: which `@user` and `@user@host` a note's text mentions, as Misskey sees it.
//!
//! Misskey parses a note with mfm-js and collects every `mention` node (`extractMentions`), so
//! whether `@alice` counts depends on the MFM syntax around it, not only on the mention itself.
//! A mention inside inline code, a code block, math, `<plain>`, a URL or a link is not a mention
//! node, and neither is one inside an unclosed `**`, `<b>`, `~~` or `$[`, which mfm-js turns back
//! into plain text together with everything it contains.
//! To give the same answers this module is a small recursive-descent port of the mfm-js 0.25
//! grammar: it walks the text with the same rules, in the same order of precedence, with the same
//! nesting limit, but builds no tree and only records mentions.
//!
//! The `mention` rule itself (mfm-js 0.25's `mention` parser):
//!
//! * `@`, then `[a-z0-9_.-]+` as the username, then optionally `@` and `[a-z0-9_.-]+` as the host,
//!   matched greedily and case-insensitively over ASCII only;
//! * it does not start where the previous character is an ASCII letter or digit, so `foo@bar.com`
//!   is no mention, while `あ@alice` is;
//! * trailing `.` and `-` are trimmed from the host, or from the username when there is no host,
//!   and the trimmed characters are left in the text (`@alice.` mentions `alice`);
//! * the match is kept as plain text, and so mentions nobody, when the username or host starts
//!   with `.` or `-`, when the host is made only of `.` and `-` (`@alice@.`), or when a username
//!   that ends in `.` or `-` is followed by a host (`@alice.@host`).
//!
//! Usernames and hosts are returned as written; the caller compares them case-insensitively.
//!
//! Two more places where mfm-js differs from a naive reading, both kept on purpose:
//! a line that ends in ` search` or ` 検索` is a search box whose text is not parsed (unless the line
//! itself starts with a mention or other MFM), and `#tag@alice` is one hashtag, because `@` is a
//! hashtag character.
//! Of mfm-js's Unicode emoji rule only the keycaps (`#️⃣`, `*️⃣`, `0️⃣`…) are reproduced: no other
//! emoji starts with an ASCII character, so no other emoji can change what is a mention.

use std::collections::HashMap;

/// A mention as written in the text: `@username` or `@username@host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub username: String,
    pub host: Option<String>,
}

/// Every mention in `text`, in document order, duplicates kept (the caller deduplicates after resolving).
pub fn extract_mentions(text: &str) -> Vec<Mention> {
    let mut parser = Parser::new(text.chars().collect(), 0);
    parser.full_run(0);
    parser.mentions
}

/// mfm-js's default `nestLimit`: a construct nested this deep is read as plain text.
const NEST_LIMIT: usize = 20;

/// One grammar rule: given a start index, the index just past what it matched, or `None`.
/// A rule that fails leaves no mentions behind (see `Parser::attempt`).
type Rule = fn(&mut Parser, usize) -> Option<usize>;

/// The rules of mfm-js's `full` parser (top level and quotes), in its order of precedence.
/// The last resort, one character of plain text, is added by `Parser::full_item`.
const FULL_RULES: &[Rule] = &[
    Parser::keycap_emoji,
    Parser::center_tag,
    Parser::small_tag,
    Parser::plain_tag,
    Parser::bold_tag,
    Parser::italic_tag,
    Parser::strike_tag,
    Parser::url_alt,
    Parser::big,
    Parser::bold_asta,
    Parser::italic_asta,
    Parser::bold_under,
    Parser::italic_under,
    Parser::code_block,
    Parser::inline_code,
    Parser::quote,
    Parser::math_block,
    Parser::math_inline,
    Parser::strike_wave,
    Parser::fn_call,
    Parser::mention,
    Parser::hashtag,
    Parser::emoji_code,
    Parser::link,
    Parser::url,
    Parser::search,
];

/// The rules of mfm-js's `inline` parser (inside bold, small, links and so on): the full ones
/// without the blocks (center, code block, quote, math block, search).
const INLINE_RULES: &[Rule] = &[
    Parser::keycap_emoji,
    Parser::small_tag,
    Parser::plain_tag,
    Parser::bold_tag,
    Parser::italic_tag,
    Parser::strike_tag,
    Parser::url_alt,
    Parser::big,
    Parser::bold_asta,
    Parser::italic_asta,
    Parser::bold_under,
    Parser::italic_under,
    Parser::inline_code,
    Parser::math_inline,
    Parser::strike_wave,
    Parser::fn_call,
    Parser::mention,
    Parser::hashtag,
    Parser::emoji_code,
    Parser::link,
    Parser::url,
];

/// The parse state over one input, which is the note's text or the joined content of a quote.
///
/// Indices count `char`s where mfm-js counts UTF-16 code units; every syntax character is in the
/// Basic Multilingual Plane and every test is on whole characters, so the results are the same.
struct Parser {
    input: Vec<char>,
    /// How many nestable constructs enclose the current position.
    depth: usize,
    /// Set while parsing a link label, where mentions, hashtags, URLs and links are not parsed.
    link_label: bool,
    /// Where link labels stop, memoized by the index of an item and the depth (see `label_end`).
    label_ends: HashMap<(usize, usize), usize>,
    mentions: Vec<Mention>,
}

impl Parser {
    fn new(input: Vec<char>, depth: usize) -> Parser {
        Parser {
            input,
            depth,
            link_label: false,
            label_ends: HashMap::new(),
            mentions: Vec::new(),
        }
    }

    // Alternation, nesting and plain text.

    /// Parses the whole input from `start` as a sequence of `full` items.
    fn full_run(&mut self, start: usize) {
        let mut idx = start;
        while let Some(next) = self.full_item(idx) {
            idx = next;
        }
    }

    fn full_item(&mut self, idx: usize) -> Option<usize> {
        self.first_match(FULL_RULES, idx)
            .or_else(|| self.any_char(idx))
    }

    fn inline_item(&mut self, idx: usize) -> Option<usize> {
        self.first_match(INLINE_RULES, idx)
            .or_else(|| self.any_char(idx))
    }

    /// An inline item inside a link label.
    fn label_item(&mut self, idx: usize) -> Option<usize> {
        self.link_label = true;
        let res = self.inline_item(idx);
        self.link_label = false;
        res
    }

    /// The first rule that matches at `idx`, like a PEG ordered choice.
    fn first_match(&mut self, rules: &[Rule], idx: usize) -> Option<usize> {
        rules.iter().find_map(|&rule| self.attempt(rule, idx))
    }

    /// Runs `rule` and, if it fails, forgets the mentions it recorded before failing.
    fn attempt(&mut self, rule: Rule, idx: usize) -> Option<usize> {
        let n_mentions = self.mentions.len();
        let res = rule(self, idx);
        if res.is_none() {
            self.mentions.truncate(n_mentions);
        }
        res
    }

    /// One level of nesting: `rule` while under the nest limit, and `fallback` when the limit is
    /// reached or `rule` fails. The fallbacks are single-character rules that record nothing.
    fn nest(&mut self, idx: usize, rule: Rule, fallback: Rule) -> Option<usize> {
        self.depth += 1;
        let mut res = None;
        if self.depth < NEST_LIMIT {
            res = self.attempt(rule, idx);
        }
        if res.is_none() {
            res = fallback(self, idx);
        }
        self.depth -= 1;
        res
    }

    /// One character of plain text.
    fn any_char(&mut self, idx: usize) -> Option<usize> {
        (idx < self.input.len()).then_some(idx + 1)
    }

    // Character-level helpers.

    fn at(&self, idx: usize) -> Option<char> {
        self.input.get(idx).copied()
    }

    /// The index past `lit` if the input has it at `idx`.
    fn lit(&self, idx: usize, lit: &str) -> Option<usize> {
        let mut end = idx;
        for c in lit.chars() {
            if self.at(end) != Some(c) {
                return None;
            }
            end += 1;
        }
        Some(end)
    }

    /// The index past `CRLF`, `CR` or `LF` at `idx`.
    fn newline(&self, idx: usize) -> Option<usize> {
        match self.at(idx)? {
            '\r' if self.at(idx + 1) == Some('\n') => Some(idx + 2),
            '\r' | '\n' => Some(idx + 1),
            _ => None,
        }
    }

    /// Skips one newline at `idx` if there is one.
    fn opt_newline(&self, idx: usize) -> usize {
        self.newline(idx).unwrap_or(idx)
    }

    fn is_line_begin(&self, idx: usize) -> bool {
        idx == 0 || matches!(self.at(idx - 1), Some('\r' | '\n'))
    }

    fn is_line_end(&self, idx: usize) -> bool {
        matches!(self.at(idx), None | Some('\r' | '\n'))
    }

    /// Whether the character before `idx` is an ASCII letter or digit, which stops mentions,
    /// hashtags and `*`/`_` italics from starting at `idx`.
    fn follows_alphanumeric(&self, idx: usize) -> bool {
        idx > 0 && self.input[idx - 1].is_ascii_alphanumeric()
    }

    /// The index past the longest run of characters matching `pred` from `idx`.
    fn scan(&self, idx: usize, pred: fn(char) -> bool) -> usize {
        let mut end = idx;
        while self.at(end).is_some_and(pred) {
            end += 1;
        }
        end
    }

    /// `end` moved back over trailing characters matching `pred`, but not before `start`.
    fn trim_end(&self, start: usize, mut end: usize, pred: fn(char) -> bool) -> usize {
        while end > start && pred(self.input[end - 1]) {
            end -= 1;
        }
        end
    }

    fn text(&self, start: usize, end: usize) -> String {
        self.input[start..end].iter().collect()
    }

    // Rules that can contain mentions.

    /// `@user` or `@user@host`; an invalid one is consumed as plain text.
    fn mention(&mut self, idx: usize) -> Option<usize> {
        if self.link_label {
            return None;
        }
        let name_start = self.lit(idx, "@")?;
        let name_end = self.scan(name_start, is_mention_char);
        if name_end == name_start {
            return None;
        }
        let host_span = self.lit(name_end, "@").and_then(|host_start| {
            let host_end = self.scan(host_start, is_mention_char);
            (host_end > host_start).then_some((host_start, host_end))
        });
        if self.follows_alphanumeric(idx) {
            return None;
        }
        let match_end = host_span.map_or(name_end, |(_, host_end)| host_end);

        let mut invalid = false;
        let mut host = None;
        if let Some((host_start, host_end)) = host_span {
            let trimmed_end = self.trim_end(host_start, host_end, is_dot_or_dash);
            if trimmed_end == host_start {
                // A host of only dots and dashes invalidates the whole match.
                invalid = true;
            } else {
                host = Some((host_start, trimmed_end));
            }
        }
        let mut name_trimmed_end = self.trim_end(name_start, name_end, is_dot_or_dash);
        if name_trimmed_end < name_end && host.is_some() {
            // The username is trimmed only when no host follows it.
            invalid = true;
            name_trimmed_end = name_end;
        }
        if name_trimmed_end == name_start || is_dot_or_dash(self.input[name_start]) {
            invalid = true;
        }
        if host.is_some_and(|(host_start, _)| is_dot_or_dash(self.input[host_start])) {
            invalid = true;
        }
        if invalid {
            return Some(match_end);
        }

        self.mentions.push(Mention {
            username: self.text(name_start, name_trimmed_end),
            host: host.map(|(start, end)| self.text(start, end)),
        });
        // The trimmed characters are parsed again as whatever follows the mention.
        Some(host.map_or(name_trimmed_end, |(_, host_end)| host_end))
    }

    /// A quote: consecutive lines starting with `>`, whose content is parsed again as a document.
    fn quote(&mut self, idx: usize) -> Option<usize> {
        let start = self.opt_newline(self.opt_newline(idx));
        if !self.is_line_begin(start) {
            return None;
        }
        let (mut end, first) = self.quote_line(start)?;
        let mut lines = vec![first];
        while end < self.input.len() {
            let Some((next, line)) = self.newline(end).and_then(|after| self.quote_line(after))
            else {
                break;
            };
            lines.push(line);
            end = next;
        }
        end = self.opt_newline(self.opt_newline(end));
        if lines.len() == 1 && lines[0].0 == lines[0].1 {
            // A single `>` with nothing after it is not a quote.
            return None;
        }

        let mut content = Vec::new();
        for (line_idx, &(line_start, line_end)) in lines.iter().enumerate() {
            if line_idx > 0 {
                content.push('\n');
            }
            content.extend_from_slice(&self.input[line_start..line_end]);
        }
        // Past the nest limit mfm-js reads the content one character at a time, as plain text.
        if self.depth + 1 < NEST_LIMIT {
            let mut inner = Parser::new(content, self.depth + 1);
            inner.mentions = std::mem::take(&mut self.mentions);
            inner.full_run(0);
            self.mentions = inner.mentions;
        }
        Some(end)
    }

    /// One quote line: `>`, one optional space, then the rest of the line as `(start, end)`.
    fn quote_line(&self, idx: usize) -> Option<(usize, (usize, usize))> {
        let mut start = self.lit(idx, ">")?;
        if self.at(start).is_some_and(is_space) {
            start += 1;
        }
        let end = self.scan(start, |c| c != '\r' && c != '\n');
        Some((end, (start, end)))
    }

    /// `<center>…</center>` on lines of its own. Unlike the inline tags it is no match at all
    /// when it is not closed.
    fn center_tag(&mut self, idx: usize) -> Option<usize> {
        let start = self.opt_newline(idx);
        if !self.is_line_begin(start) {
            return None;
        }
        let mut end = self.lit(start, "<center>")?;
        end = self.opt_newline(end);
        let content_start = end;
        while end < self.input.len() && self.lit(self.opt_newline(end), "</center>").is_none() {
            match self.nest(end, Parser::inline_item, Parser::any_char) {
                Some(next) => end = next,
                None => break,
            }
        }
        if end == content_start {
            return None;
        }
        end = self.lit(self.opt_newline(end), "</center>")?;
        if !self.is_line_end(end) {
            return None;
        }
        Some(self.opt_newline(end))
    }

    fn big(&mut self, idx: usize) -> Option<usize> {
        self.enclosed(idx, "***", "***", false)
    }

    fn bold_asta(&mut self, idx: usize) -> Option<usize> {
        self.enclosed(idx, "**", "**", false)
    }

    fn bold_tag(&mut self, idx: usize) -> Option<usize> {
        self.enclosed(idx, "<b>", "</b>", false)
    }

    fn small_tag(&mut self, idx: usize) -> Option<usize> {
        self.enclosed(idx, "<small>", "</small>", false)
    }

    fn italic_tag(&mut self, idx: usize) -> Option<usize> {
        self.enclosed(idx, "<i>", "</i>", false)
    }

    fn strike_tag(&mut self, idx: usize) -> Option<usize> {
        self.enclosed(idx, "<s>", "</s>", false)
    }

    fn strike_wave(&mut self, idx: usize) -> Option<usize> {
        self.enclosed(idx, "~~", "~~", true)
    }

    /// `open`, inline content, `close`.
    fn enclosed(
        &mut self,
        idx: usize,
        open: &str,
        close: &str,
        single_line: bool,
    ) -> Option<usize> {
        let content_start = self.lit(idx, open)?;
        Some(self.enclosed_rest(content_start, close, single_line))
    }

    /// The inline content and closing mark of a construct whose opening has matched.
    ///
    /// Once the opening has matched, mfm-js's `seqOrText` never fails: when the content is empty
    /// or the closing mark is missing, everything read so far becomes plain text, mentions included.
    fn enclosed_rest(&mut self, content_start: usize, close: &str, single_line: bool) -> usize {
        let n_mentions = self.mentions.len();
        let mut end = content_start;
        while end < self.input.len()
            && self.lit(end, close).is_none()
            && !(single_line && self.newline(end).is_some())
        {
            match self.nest(end, Parser::inline_item, Parser::any_char) {
                Some(next) => end = next,
                None => break,
            }
        }
        match self.lit(end, close) {
            Some(after_close) if end > content_start => after_close,
            _ => {
                self.mentions.truncate(n_mentions);
                end
            }
        }
    }

    /// `$[name.arg=value,flag content]`.
    fn fn_call(&mut self, idx: usize) -> Option<usize> {
        let name_start = self.lit(idx, "$[")?;
        let name_end = self.scan(name_start, is_fn_name_char);
        if name_end == name_start {
            return Some(name_start);
        }
        let args_end = self.fn_args(name_end).unwrap_or(name_end);
        let Some(content_start) = self.lit(args_end, " ") else {
            return Some(args_end);
        };
        Some(self.enclosed_rest(content_start, "]", false))
    }

    /// `.arg`, `.arg=value`, separated by commas.
    fn fn_args(&self, idx: usize) -> Option<usize> {
        let mut end = self.fn_arg(self.lit(idx, ".")?)?;
        while let Some(next) = self.lit(end, ",").and_then(|after| self.fn_arg(after)) {
            end = next;
        }
        Some(end)
    }

    fn fn_arg(&self, idx: usize) -> Option<usize> {
        let key_end = self.scan(idx, is_fn_name_char);
        if key_end == idx {
            return None;
        }
        let value_end = self.lit(key_end, "=").map(|value_start| {
            let value_end = self.scan(value_start, is_mention_char);
            if value_end > value_start {
                value_end
            } else {
                key_end
            }
        });
        Some(value_end.unwrap_or(key_end))
    }

    /// `[label](url)` or `?[label](url)`; the label is parsed with mentions turned off.
    fn link(&mut self, idx: usize) -> Option<usize> {
        if self.link_label {
            return None;
        }
        let label_start = self.lit(idx, "?[").or_else(|| self.lit(idx, "["))?;
        let mut end = self.label_end(label_start);
        if end == label_start {
            return None;
        }
        end = self.lit(end, "]")?;
        end = self.lit(end, "(")?;
        end = match self.url_alt(end) {
            Some(next) => next,
            None => match self.url_match(end)? {
                (next, true) => next,
                (_, false) => return None,
            },
        };
        self.lit(end, ")")
    }

    /// Where the items of a link label read from `idx` stop: at `]`, a newline or the end.
    ///
    /// Reading a label records nothing and depends only on where it starts and on the depth, and
    /// every label that reaches an item ends where that item's label would. Remembering this keeps
    /// a long run of `[`, each trying to start a link, from costing quadratic time.
    fn label_end(&mut self, idx: usize) -> usize {
        let mut items = Vec::new();
        let mut end = idx;
        let stop = loop {
            if let Some(&known) = self.label_ends.get(&(end, self.depth)) {
                break known;
            }
            if end >= self.input.len() || self.at(end) == Some(']') || self.newline(end).is_some() {
                break end;
            }
            items.push(end);
            match self.nest(end, Parser::label_item, Parser::any_char) {
                Some(next) => end = next,
                None => break end,
            }
        };
        for item in items {
            self.label_ends.insert((item, self.depth), stop);
        }
        stop
    }

    // Rules that only hide text from the mention rule.

    /// A keycap emoji such as `#️⃣`, which keeps its `#` or `*` from starting a hashtag or italics.
    fn keycap_emoji(&mut self, idx: usize) -> Option<usize> {
        if !matches!(self.at(idx)?, '#' | '*' | '0'..='9') {
            return None;
        }
        let mut end = idx + 1;
        if self.at(end) == Some('\u{FE0F}') {
            end += 1;
        }
        self.lit(end, "\u{20E3}")
    }

    /// `<plain>…</plain>`, whose content is not parsed.
    fn plain_tag(&mut self, idx: usize) -> Option<usize> {
        let content_start = self.opt_newline(self.lit(idx, "<plain>")?);
        let mut end = content_start;
        while end < self.input.len() && self.lit(self.opt_newline(end), "</plain>").is_none() {
            end += 1;
        }
        if end == content_start {
            return None;
        }
        self.lit(self.opt_newline(end), "</plain>")
    }

    /// `<https://…>`: anything up to `>` except spaces.
    fn url_alt(&mut self, idx: usize) -> Option<usize> {
        if self.link_label {
            return None;
        }
        let start = self.url_scheme(self.lit(idx, "<")?)?;
        let end = self.scan(start, |c| c != '>' && !is_space(c));
        if end == start {
            return None;
        }
        self.lit(end, ">")
    }

    fn url(&mut self, idx: usize) -> Option<usize> {
        self.url_match(idx).map(|(end, _)| end)
    }

    /// A bare URL, with balanced `()` and `[]`, and without trailing `.` or `,`.
    /// The flag is false when nothing but `.` and `,` followed the scheme: mfm-js then keeps the
    /// whole match as text.
    fn url_match(&mut self, idx: usize) -> Option<(usize, bool)> {
        if self.link_label {
            return None;
        }
        let start = self.url_scheme(idx)?;
        let mut end = start;
        while end < self.input.len() {
            match self.url_item(end) {
                Some(next) => end = next,
                None => break,
            }
        }
        if end == start {
            return None;
        }
        let trimmed_end = self.trim_end(start, end, |c| c == '.' || c == ',');
        if trimmed_end == start {
            return Some((end, false));
        }
        Some((trimmed_end, true))
    }

    fn url_scheme(&self, idx: usize) -> Option<usize> {
        self.lit(idx, "https://")
            .or_else(|| self.lit(idx, "http://"))
    }

    fn url_item(&mut self, idx: usize) -> Option<usize> {
        for (open, close) in [('(', ')'), ('[', ']')] {
            if self.at(idx) == Some(open) {
                let mut end = idx + 1;
                while end < self.input.len() {
                    match self.nest(end, Parser::url_item, Parser::url_char) {
                        Some(next) => end = next,
                        None => break,
                    }
                }
                if self.at(end) == Some(close) {
                    return Some(end + 1);
                }
            }
        }
        self.url_char(idx)
    }

    fn url_char(&mut self, idx: usize) -> Option<usize> {
        let c = self.at(idx)?;
        (c.is_ascii_alphanumeric() || ".,_/:%#@$&?!~=+-".contains(c)).then_some(idx + 1)
    }

    /// `#tag`, which may contain `@`, with balanced brackets of four kinds.
    fn hashtag(&mut self, idx: usize) -> Option<usize> {
        if self.link_label {
            return None;
        }
        let start = self.lit(idx, "#")?;
        let mut end = start;
        while end < self.input.len() {
            match self.hashtag_item(end) {
                Some(next) => end = next,
                None => break,
            }
        }
        if end == start || self.follows_alphanumeric(idx) {
            return None;
        }
        if self.input[start..end].iter().all(char::is_ascii_digit) {
            return None;
        }
        Some(end)
    }

    fn hashtag_item(&mut self, idx: usize) -> Option<usize> {
        for (open, close) in [('(', ')'), ('[', ']'), ('「', '」'), ('（', '）')] {
            if self.at(idx) == Some(open) {
                let mut end = idx + 1;
                while end < self.input.len() {
                    match self.nest(end, Parser::hashtag_item, Parser::hashtag_char) {
                        Some(next) => end = next,
                        None => break,
                    }
                }
                if self.at(end) == Some(close) {
                    return Some(end + 1);
                }
            }
        }
        self.hashtag_char(idx)
    }

    fn hashtag_char(&mut self, idx: usize) -> Option<usize> {
        let c = self.at(idx)?;
        let excluded = " \u{3000}\t\r\n.,!?'\"#:/[]【】()「」（）<>".contains(c);
        (!excluded).then_some(idx + 1)
    }

    /// `:name:`, not followed by a letter or digit.
    fn emoji_code(&mut self, idx: usize) -> Option<usize> {
        let name_start = self.lit(idx, ":")?;
        let name_end = self.scan(name_start, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-')
        });
        if name_end == name_start {
            return None;
        }
        let end = self.lit(name_end, ":")?;
        if self.at(end).is_some_and(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        Some(end)
    }

    /// `*text*`: letters, digits and spaces only.
    fn italic_asta(&mut self, idx: usize) -> Option<usize> {
        self.simple_emphasis(idx, "*", true)
    }

    /// `_text_`: letters, digits and spaces only.
    fn italic_under(&mut self, idx: usize) -> Option<usize> {
        self.simple_emphasis(idx, "_", true)
    }

    /// `__text__`: letters, digits and spaces only.
    fn bold_under(&mut self, idx: usize) -> Option<usize> {
        self.simple_emphasis(idx, "__", false)
    }

    fn simple_emphasis(&mut self, idx: usize, mark: &str, word_boundary: bool) -> Option<usize> {
        let start = self.lit(idx, mark)?;
        let end = self.scan(start, |c| c.is_ascii_alphanumeric() || is_space(c));
        if end == start {
            return None;
        }
        let after = self.lit(end, mark)?;
        if word_boundary && self.follows_alphanumeric(idx) {
            return None;
        }
        Some(after)
    }

    /// `` `code` `` on one line.
    fn inline_code(&mut self, idx: usize) -> Option<usize> {
        let start = self.lit(idx, "`")?;
        let end = self.scan(start, |c| !matches!(c, '`' | '´' | '\r' | '\n'));
        if end == start {
            return None;
        }
        self.lit(end, "`")
    }

    /// `\(formula\)` on one line.
    fn math_inline(&mut self, idx: usize) -> Option<usize> {
        let start = self.lit(idx, "\\(")?;
        let mut end = start;
        while end < self.input.len()
            && self.lit(end, "\\)").is_none()
            && self.newline(end).is_none()
        {
            end += 1;
        }
        if end == start {
            return None;
        }
        self.lit(end, "\\)")
    }

    /// `\[formula\]` from a line start to a line end.
    fn math_block(&mut self, idx: usize) -> Option<usize> {
        let open_at = self.opt_newline(idx);
        if !self.is_line_begin(open_at) {
            return None;
        }
        let start = self.opt_newline(self.lit(open_at, "\\[")?);
        let mut end = start;
        while end < self.input.len() && self.lit(self.opt_newline(end), "\\]").is_none() {
            end += 1;
        }
        if end == start {
            return None;
        }
        end = self.lit(self.opt_newline(end), "\\]")?;
        if !self.is_line_end(end) {
            return None;
        }
        Some(self.opt_newline(end))
    }

    /// A fenced code block: a line starting with three backticks, at least one character of code,
    /// and a line that is three backticks.
    fn code_block(&mut self, idx: usize) -> Option<usize> {
        let fence_at = self.opt_newline(idx);
        if !self.is_line_begin(fence_at) {
            return None;
        }
        let lang_start = self.lit(fence_at, "```")?;
        let lang_end = self.scan(lang_start, |c| c != '\r' && c != '\n');
        let code_start = self.newline(lang_end)?;
        let mut end = code_start;
        while end < self.input.len() && !self.is_closing_fence(end) {
            end += 1;
        }
        if end == code_start {
            return None;
        }
        end = self.lit(self.newline(end)?, "```")?;
        if !self.is_line_end(end) {
            return None;
        }
        Some(self.opt_newline(end))
    }

    /// Whether a newline and a line of exactly three backticks start at `idx`.
    fn is_closing_fence(&self, idx: usize) -> bool {
        self.newline(idx)
            .and_then(|after| self.lit(after, "```"))
            .is_some_and(|end| self.is_line_end(end))
    }

    /// A whole line ending in a space and `search`, `検索`, `[search]` or `[検索]`: a search box.
    fn search(&mut self, idx: usize) -> Option<usize> {
        let start = self.opt_newline(idx);
        if !self.is_line_begin(start) {
            return None;
        }
        let mut end = start;
        while end < self.input.len() && self.newline(end).is_none() && !self.is_search_tail(end) {
            end += 1;
        }
        if end == start || !self.is_search_tail(end) {
            return None;
        }
        let after = self.search_button(end + 1)?;
        Some(self.opt_newline(after))
    }

    /// Whether a space, a search button and the end of the line start at `idx`.
    fn is_search_tail(&self, idx: usize) -> bool {
        self.at(idx).is_some_and(is_space)
            && self
                .search_button(idx + 1)
                .is_some_and(|end| self.is_line_end(end))
    }

    fn search_button(&self, idx: usize) -> Option<usize> {
        match self.lit(idx, "[") {
            Some(word_start) => self.lit(self.search_word(word_start)?, "]"),
            None => self.search_word(idx),
        }
    }

    fn search_word(&self, idx: usize) -> Option<usize> {
        if let Some(end) = self.lit(idx, "検索") {
            return Some(end);
        }
        let end = idx + "search".len();
        let word = self.input.get(idx..end)?;
        word.iter()
            .zip("search".chars())
            .all(|(c, s)| c.eq_ignore_ascii_case(&s))
            .then_some(end)
    }
}

/// A character of a username or host: `[a-z0-9_.-]`, case-insensitive.
fn is_mention_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn is_dot_or_dash(c: char) -> bool {
    c == '.' || c == '-'
}

fn is_fn_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// MFM's spaces: ASCII space, ideographic space and tab.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{3000}' | '\t')
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    /// An input, then the mentions expected in it as (username, host), in order.
    type Case = (
        &'static str,
        &'static [(&'static str, Option<&'static str>)],
    );

    const CASES: &[Case] = &[
        // The edge cases of mfm-js 0.25's `mention` parser.
        ("@alice hi", &[("alice", None)]),
        ("hi @alice@example.com!", &[("alice", Some("example.com"))]),
        ("mail foo@bar.com", &[]),
        ("a@alice", &[]),
        ("あ@alice", &[("alice", None)]),
        ("@alice.", &[("alice", None)]),
        ("@alice-", &[("alice", None)]),
        ("@alice@example.com.", &[("alice", Some("example.com"))]),
        ("@alice.bob", &[("alice.bob", None)]),
        ("@.alice", &[]),
        ("@alice.@host", &[]),
        ("(@alice)", &[("alice", None)]),
        ("@alice's", &[("alice", None)]),
        ("`@code` @x", &[("x", None)]),
        ("**@bold**", &[("bold", None)]),
        ("> @quoted", &[("quoted", None)]),
        ("[@label](https://x.y)", &[]),
        ("https://x.y/@alice", &[]),
        // Order and duplicates.
        (
            "@bob @alice @bob",
            &[("bob", None), ("alice", None), ("bob", None)],
        ),
        ("@a@x.y @a", &[("a", Some("x.y")), ("a", None)]),
        // Where a mention stands.
        ("hi @alice", &[("alice", None)]),
        ("hi\n@alice\nbye", &[("alice", None)]),
        ("hi\r\n@alice", &[("alice", None)]),
        ("@alice,@bob", &[("alice", None), ("bob", None)]),
        (
            "こんにちは@aliceさん、@bob@example.comです",
            &[("alice", None), ("bob", Some("example.com"))],
        ),
        ("「@alice」", &[("alice", None)]),
        // Characters and case.
        ("@Alice@Example.COM", &[("Alice", Some("Example.COM"))]),
        ("@bob_1", &[("bob_1", None)]),
        ("@_bob", &[("_bob", None)]),
        ("@a-b", &[("a-b", None)]),
        ("@alice..", &[("alice", None)]),
        ("@alice.-.", &[("alice", None)]),
        ("@alice@host-", &[("alice", Some("host"))]),
        ("@alice. @bob", &[("alice", None), ("bob", None)]),
        // Not mentions, or not quite.
        ("@", &[]),
        ("@ alice", &[]),
        ("@@alice", &[("alice", None)]),
        ("@alice@", &[("alice", None)]),
        ("@alice@@bob", &[("alice", None), ("bob", None)]),
        ("@alice@.", &[]),
        ("@alice@-host", &[]),
        ("@alice@.host", &[]),
        ("@-alice", &[]),
        ("@alice-@host", &[]),
        ("@.", &[]),
        ("1@alice", &[]),
        ("_@alice", &[("alice", None)]),
        ("éa@alice", &[]),
        ("é@alice", &[("alice", None)]),
        // Code.
        ("```\n@a\n@b\n```\n@c", &[("c", None)]),
        ("text\n```js\n@a\n```", &[]),
        ("```@a```", &[]),
        ("`@a\n@b`", &[("a", None), ("b", None)]),
        ("`` @a", &[("a", None)]),
        // URLs and links.
        ("http://x.y/@alice @bob", &[("bob", None)]),
        ("<https://x.y/@alice>", &[]),
        ("see https://x.y/(@a) @b", &[("b", None)]),
        ("HTTPS://x.y/@alice", &[("alice", None)]),
        ("[@label](https://x.y) @after", &[("after", None)]),
        ("?[@label](https://x.y/@user)", &[]),
        ("[@label] @after", &[("label", None), ("after", None)]),
        ("[**@label**](https://x.y)", &[]),
        // Containers that keep mentions.
        (
            "<b>@a</b> <small>@b</small> <i>@c</i> <s>@d</s>",
            &[("a", None), ("b", None), ("c", None), ("d", None)],
        ),
        (
            "***@big*** ~~@strike~~ $[x2 @fn]",
            &[("big", None), ("strike", None), ("fn", None)],
        ),
        ("<center>\n@centered\n</center>", &[("centered", None)]),
        (
            "> line\n> @second\n\n@after",
            &[("second", None), ("after", None)],
        ),
        ("> > @nested", &[("nested", None)]),
        // Containers that hide mentions.
        ("<plain>@a</plain> @b", &[("b", None)]),
        ("\\(@a\\) @b", &[("b", None)]),
        ("\\[\n@a\n\\]", &[]),
        ("#tag@alice", &[]),
        ("#123 @alice", &[("alice", None)]),
        // Unclosed constructs turn their content back into text (mfm-js's `seqOrText`).
        ("**@alice", &[]),
        ("<b>@alice", &[]),
        ("hey~~ @alice", &[]),
        ("~~ @alice\n@bob~~", &[("bob", None)]),
        ("$[x2 @alice", &[]),
        ("$[@alice]", &[("alice", None)]),
        ("*a**@alice", &[("alice", None)]),
        // A line ending in a search button is a search box.
        ("hi @alice search", &[]),
        ("@alice search", &[("alice", None)]),
        ("hi\n@alice 検索", &[]),
        // Keycap emoji keep `#` from starting a hashtag.
        ("#\u{FE0F}\u{20E3}@alice", &[("alice", None)]),
        // Emoji codes can split a URL scheme.
        (":https://x.y/@alice", &[("alice", None)]),
    ];

    #[test]
    fn extracts_mentions_like_mfm_js() {
        let mut failures = Vec::new();
        for &(input, expected) in CASES {
            let expected: Vec<Mention> = expected
                .iter()
                .map(|&(username, host)| Mention {
                    username: username.to_owned(),
                    host: host.map(str::to_owned),
                })
                .collect();
            let actual = extract_mentions(input);
            if actual != expected {
                failures.push(format!(
                    "{input:?}\n  expected {expected:?}\n  actual   {actual:?}"
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            CASES.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn nesting_past_the_limit_is_plain_text() {
        // mfm-js reads constructs nested 20 deep as text, so the inner mention disappears.
        let shallow = format!("{}@alice{}", "<b>".repeat(19), "</b>".repeat(19));
        let deep = format!("{}@alice{}", "<b>".repeat(20), "</b>".repeat(20));
        assert_eq!(extract_mentions(&shallow).len(), 1);
        assert_eq!(extract_mentions(&deep).len(), 0);
    }
}
