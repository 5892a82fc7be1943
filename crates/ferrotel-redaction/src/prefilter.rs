//! The prefilter: which rules can match a value, decided without running any
//! rule's regex.
//!
//! Every rule has triggers, of which at least one occurs in every text its
//! pattern matches; a rule runs only when one of its triggers occurs. The
//! prefilter only ever over-selects (a rule selected in vain finds nothing),
//! so it never changes the output: `tests/engine.rs` checks that against the
//! engine with the prefilter off, and the fuzz target does on random input.
//!
//! Speed is the point, so the triggers are shaped for SIMD search:
//! - exact-case literals (`ghp_`, `AKIA`, `eyJ`, `Bearer`, ...) go into one
//!   case-sensitive leftmost-longest Aho-Corasick automaton, which can use its
//!   packed SIMD (Teddy) prefilter. (An ASCII-case-insensitive or overlapping
//!   automaton cannot, and runs a DFA step per byte: ~3x slower.)
//! - case-insensitive key words of `key=value` / `key: value` pairs
//!   (`password`, `Authorization`, `X-Amz-Signature`, ...) are not searched:
//!   the rare delimiters `:` and `=` are (`memchr`), and the word must end
//!   right before the delimiter (after blanks and an optional quote), which a
//!   two-byte table rejects almost always in one lookup.
//! - URL credentials need `://` then `@`; Windows profiles need
//!   `<drive>:\Users` (any case): both are checked at the same delimiters.
//! - user keywords (ASCII case-insensitive by contract) get their own
//!   automaton, built only when there are some.
//!
//! Short values (span attributes, typically) skip the automata and the
//! delimiter search unless a table of byte pairs, probed at every other byte,
//! says a literal may occur, or a delimiter does: well under 1 ns per byte,
//! with no setup.

use crate::engine::MAX_RULES;
use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};
use std::borrow::Cow;

/// A set of rule indexes.
pub(crate) type RuleSet = [u64; MAX_RULES / 64];

pub(crate) const EMPTY: RuleSet = [0; MAX_RULES / 64];

pub(crate) fn insert(set: &mut RuleSet, rule: usize) {
    set[rule / 64] |= 1 << (rule % 64);
}

fn union(set: &mut RuleSet, other: &RuleSet) {
    for (a, b) in set.iter_mut().zip(other) {
        *a |= *b;
    }
}

fn contains_all(set: &RuleSet, other: &RuleSet) -> bool {
    set.iter().zip(other).all(|(a, b)| a & b == *b)
}

/// After this many literal hits in one value, every literal-triggered rule is
/// selected instead of searching on (bounded prefilter cost on dense text).
const MAX_LITERAL_HITS: usize = 32;

/// Values shorter than this take the byte-pair test before the automata
/// (whose SIMD prefilter needs a few dozen bytes to pay off).
const SHORT: usize = 64;

/// Something that occurs in every match of a rule.
#[derive(Clone, Debug)]
pub(crate) enum Trigger {
    /// A literal, case-sensitive.
    Literal(Cow<'static, str>),
    /// A literal, ASCII case-insensitive (user keywords).
    FoldedLiteral(Cow<'static, str>),
    /// An ASCII case-insensitive word (two bytes or more) that ends right
    /// before `[ \t]*`, an optional (backslash-escaped) quote, then `:` or `=`;
    /// the pattern must require exactly that shape after the word.
    Key(&'static str),
    /// `://` and, after it, `@` (credentials in a URL).
    UrlUserinfo,
    /// `:` followed by `\`, `\\` or `/` and `users` in any case (the profile
    /// directory of a Windows path after its drive letter).
    WindowsProfile,
}

/// Literal keywords of one case mode, searched with restarts so that
/// overlapping keywords are all seen.
struct Literals {
    /// Leftmost-longest automaton with its SIMD prefilter (long values).
    long: AhoCorasick,
    /// The same without prefilter (short values: no setup cost).
    short: AhoCorasick,
    /// Pattern id -> the rules of the pattern and of every pattern inside it.
    rules: Vec<RuleSet>,
    /// Pattern id -> where the next search starts, relative to the match
    /// start: the first offset at which another keyword could begin and run
    /// past this match's end.
    resume: Vec<usize>,
    /// Union of `rules`: once all are selected the search can stop.
    all: RuleSet,
}

impl Literals {
    fn new(
        words: Vec<(Vec<u8>, RuleSet)>,
        folded: bool,
    ) -> Result<Option<Self>, aho_corasick::BuildError> {
        // Merge duplicates.
        let mut patterns: Vec<(Vec<u8>, RuleSet)> = Vec::new();
        for (word, rules) in words {
            let same = |p: &(Vec<u8>, RuleSet)| {
                if folded {
                    p.0.eq_ignore_ascii_case(&word)
                } else {
                    p.0 == word
                }
            };
            match patterns.iter_mut().find(|p| same(p)) {
                Some(p) => union(&mut p.1, &rules),
                None => patterns.push((word, rules)),
            }
        }
        if patterns.is_empty() {
            return Ok(None);
        }
        let eq = |a: &[u8], b: &[u8]| {
            if folded {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        let contains = |hay: &[u8], needle: &[u8]| {
            needle.len() <= hay.len() && hay.windows(needle.len()).any(|w| eq(w, needle))
        };
        let mut rules = Vec::with_capacity(patterns.len());
        let mut resume = Vec::with_capacity(patterns.len());
        let mut all = EMPTY;
        for (p, own) in &patterns {
            let mut set = *own;
            for (q, theirs) in &patterns {
                if contains(p, q) {
                    union(&mut set, theirs);
                }
            }
            union(&mut all, &set);
            rules.push(set);
            let next = (1..p.len())
                .find(|&k| {
                    let tail = &p[k..];
                    patterns
                        .iter()
                        .any(|(q, _)| q.len() > tail.len() && eq(&q[..tail.len()], tail))
                })
                .unwrap_or(p.len());
            resume.push(next);
        }
        let build = |prefilter: bool| {
            AhoCorasick::builder()
                .ascii_case_insensitive(folded)
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(AhoCorasickKind::DFA))
                .prefilter(prefilter)
                .build(patterns.iter().map(|p| &p.0))
        };
        Ok(Some(Self {
            long: build(true)?,
            short: build(false)?,
            rules,
            resume,
            all,
        }))
    }

    fn select(&self, text: &[u8], selected: &mut RuleSet) {
        let ac = if text.len() < SHORT {
            &self.short
        } else {
            &self.long
        };
        let mut at = 0;
        for _ in 0..MAX_LITERAL_HITS {
            if at >= text.len() {
                return;
            }
            let Some(m) = ac.find(Input::new(text).range(at..)) else {
                return;
            };
            let id = m.pattern().as_usize();
            union(selected, &self.rules[id]);
            if contains_all(selected, &self.all) {
                return;
            }
            at = m.start() + self.resume[id];
        }
        // Secret-dense text: restarting the search after every hit costs more
        // than running the few remaining rules.
        union(selected, &self.all);
    }
}

/// Heuristic frequency of a byte in log and prose text (higher: more common),
/// to pick each literal's rarest byte pair.
fn commonness(b: u8) -> u32 {
    let lower: u32 = match b.to_ascii_lowercase() {
        b' ' => 255,
        b'e' => 250,
        b't' => 240,
        b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 225,
        b'h' | b'l' | b'd' | b'c' | b'u' => 200,
        b'm' | b'f' | b'p' | b'g' | b'w' | b'y' | b'b' => 180,
        b'0'..=b'9' => 175,
        b'.' | b'/' | b',' | b'-' | b':' | b'"' | b'=' | b'\n' => 165,
        b'v' | b'k' => 150,
        b'x' | b'j' | b'q' | b'z' => 110,
        b'_' => 120,
        _ => 60,
    };
    // Upper case is rarer than lower case in running text.
    lower.saturating_sub(if b.is_ascii_uppercase() { 60 } else { 0 })
}

/// The short-value test: may a literal occur, does a delimiter occur?
///
/// Each literal contributes the two byte pairs of its rarest three-byte
/// window; any occurrence of that window puts one of its two pairs at an even
/// offset, so checking the pairs at even offsets only (one table lookup per two
/// bytes, no setup) never misses a literal. The same lookup says whether the
/// pair holds a delimiter. The table ignores the top bit of each byte (16 KiB,
/// of which ASCII text touches a few lines): non-ASCII text can only add false
/// candidates.
struct PairFilter {
    /// [`LITERAL`] and [`DELIMITER`] flags per [`pair_index`].
    table: Box<[u8; 1 << 14]>,
    /// A literal shorter than three bytes: the test cannot rule it out.
    search_always: bool,
}

/// The pair is one a literal chose.
const LITERAL: u8 = 1;
/// The pair holds a delimiter.
const DELIMITER: u8 = 2;

fn pair_index(a: u8, b: u8) -> usize {
    ((a & 0x7f) as usize) << 7 | (b & 0x7f) as usize
}

fn is_delimiter(b: u8) -> bool {
    matches!(b, b':' | b'=' | b'@')
}

impl PairFilter {
    fn add(&mut self, word: &[u8], folded: bool) {
        let pair_cost = |a: u8, b: u8| {
            // Two lower-case letters in a row are everywhere in running text.
            let letters = a.is_ascii_lowercase() && b.is_ascii_lowercase();
            commonness(a) + commonness(b) + if letters { 100 } else { 0 }
        };
        let Some(best) = (0..word.len().saturating_sub(2))
            .min_by_key(|&i| pair_cost(word[i], word[i + 1]) + pair_cost(word[i + 1], word[i + 2]))
        else {
            self.search_always = true;
            return;
        };
        let cases = |c: u8| {
            if folded {
                [c.to_ascii_lowercase(), c.to_ascii_uppercase()]
            } else {
                [c, c]
            }
        };
        for (x, y) in [
            (word[best], word[best + 1]),
            (word[best + 1], word[best + 2]),
        ] {
            for a in cases(x) {
                for b in cases(y) {
                    self.table[pair_index(a, b)] |= LITERAL;
                }
            }
        }
    }

    fn add_delimiters(&mut self) {
        for a in 0..0x80u8 {
            for b in 0..0x80u8 {
                if is_delimiter(a) || is_delimiter(b) {
                    self.table[pair_index(a, b)] |= DELIMITER;
                }
            }
        }
    }

    /// (a literal may occur, a delimiter occurs) in `text`.
    fn scan(&self, text: &[u8]) -> (bool, bool) {
        let mut flags = 0u8;
        let pairs = text.chunks_exact(2);
        if pairs.remainder().first().is_some_and(|b| is_delimiter(*b)) {
            flags |= DELIMITER;
        }
        for pair in pairs {
            flags |= self.table[pair_index(pair[0], pair[1])];
        }
        (
            self.search_always || flags & LITERAL != 0,
            flags & DELIMITER != 0,
        )
    }
}

/// Triggers found at the delimiters `:`, `=` and `@`.
struct Delimited {
    /// Lower-case key words and their rules (at most 64 words).
    keys: Vec<(Box<[u8]>, RuleSet)>,
    /// Bit `i` of `last[c]`: `keys[i]` ends with `c` (any case); `prev` the
    /// same for the byte before it.
    last: [u64; 256],
    prev: [u64; 256],
    url_userinfo: RuleSet,
    windows_profile: RuleSet,
    all: RuleSet,
}

/// Maximum number of distinct [`Trigger::Key`] words (a `u64` bitmask).
const MAX_KEYS: usize = 64;

impl Delimited {
    fn is_empty(&self) -> bool {
        self.all == EMPTY
    }

    fn select(&self, text: &[u8], selected: &mut RuleSet) {
        if text.len() < SHORT {
            // A plain loop: no SIMD setup for a few bytes.
            let at = (0..text.len()).filter(|&i| is_delimiter(text[i]));
            self.select_at(text, at, selected);
        } else {
            self.select_at(text, memchr::memchr3_iter(b':', b'=', b'@', text), selected);
        }
    }

    /// `delimiters`: the positions of `:`, `=` and `@` in `text`, in order.
    fn select_at(
        &self,
        text: &[u8],
        delimiters: impl Iterator<Item = usize>,
        selected: &mut RuleSet,
    ) {
        let mut scheme_seen = false;
        for at in delimiters {
            match text[at] {
                b'@' => {
                    if scheme_seen {
                        union(selected, &self.url_userinfo);
                    }
                }
                delimiter => {
                    self.key_before(text, at, selected);
                    if delimiter == b':' {
                        let after = &text[at + 1..];
                        scheme_seen |= after.starts_with(b"//");
                        if is_windows_profile(after) {
                            union(selected, &self.windows_profile);
                        }
                    }
                }
            }
            if contains_all(selected, &self.all) {
                return;
            }
        }
    }

    /// Selects the rules of a key word ending before the delimiter at `at`.
    fn key_before(&self, text: &[u8], at: usize, selected: &mut RuleSet) {
        let mut end = at;
        // Blanks are skipped once per delimiter and a run of blanks precedes at
        // most one delimiter, so this stays linear.
        while end > 0 && matches!(text[end - 1], b' ' | b'\t') {
            end -= 1;
        }
        if end > 0 && matches!(text[end - 1], b'"' | b'\'') {
            end -= 1;
            if end > 0 && text[end - 1] == b'\\' {
                end -= 1;
            }
        }
        if end < 2 {
            return;
        }
        let mut candidates = self.last[text[end - 1] as usize] & self.prev[text[end - 2] as usize];
        while candidates != 0 {
            let (word, rules) = &self.keys[candidates.trailing_zeros() as usize];
            candidates &= candidates - 1;
            if word.len() <= end && text[end - word.len()..end].eq_ignore_ascii_case(word) {
                union(selected, rules);
            }
        }
    }
}

/// `after` follows a `:`: is it `\users`, `\\users` or `/users` (any case)?
fn is_windows_profile(after: &[u8]) -> bool {
    let rest = match after {
        [b'\\', b'\\', rest @ ..] | [b'\\', rest @ ..] | [b'/', rest @ ..] => rest,
        _ => return false,
    };
    rest.len() >= 5 && rest[..5].eq_ignore_ascii_case(b"users")
}

/// The compiled prefilter of an engine.
pub(crate) struct Prefilter {
    /// Rules without triggers: they run on every value.
    always: RuleSet,
    literals: Option<Literals>,
    folded: Option<Literals>,
    pairs: PairFilter,
    delimited: Delimited,
    /// False: every rule runs on every value (verification, comparisons).
    enabled: bool,
}

impl Prefilter {
    /// `triggers[i]` are rule `i`'s triggers; a rule without any always runs.
    pub(crate) fn new(
        triggers: &[Vec<Trigger>],
        enabled: bool,
    ) -> Result<Self, aho_corasick::BuildError> {
        let mut always = EMPTY;
        let mut literal_words = Vec::new();
        let mut folded_words = Vec::new();
        let mut delimited = Delimited {
            keys: Vec::new(),
            last: [0; 256],
            prev: [0; 256],
            url_userinfo: EMPTY,
            windows_profile: EMPTY,
            all: EMPTY,
        };
        let mut pairs = PairFilter {
            table: Box::new([0; 1 << 14]),
            search_always: false,
        };
        for (rule, rule_triggers) in triggers.iter().enumerate() {
            let mut only = EMPTY;
            insert(&mut only, rule);
            let mut any = false;
            for trigger in rule_triggers {
                match trigger {
                    Trigger::Literal(w) | Trigger::FoldedLiteral(w) if w.is_empty() => continue,
                    Trigger::Literal(w) => {
                        pairs.add(w.as_bytes(), false);
                        literal_words.push((w.as_bytes().to_vec(), only));
                    }
                    Trigger::FoldedLiteral(w) => {
                        pairs.add(w.as_bytes(), true);
                        folded_words.push((w.as_bytes().to_vec(), only));
                    }
                    Trigger::Key(word) => {
                        let word = word.to_ascii_lowercase().into_bytes();
                        let full = delimited.keys.len() == MAX_KEYS;
                        match delimited.keys.iter_mut().find(|k| *k.0 == *word) {
                            Some(k) => union(&mut k.1, &only),
                            // Built-in words only; more than MAX_KEYS or a
                            // word too short for the two-byte table would be a
                            // bug here, so such a rule simply always runs.
                            None if word.len() < 2 || full => union(&mut always, &only),
                            None => delimited.keys.push((word.into_boxed_slice(), only)),
                        }
                    }
                    Trigger::UrlUserinfo => union(&mut delimited.url_userinfo, &only),
                    Trigger::WindowsProfile => union(&mut delimited.windows_profile, &only),
                }
                any = true;
            }
            if !any {
                union(&mut always, &only);
            }
        }
        for (i, (word, rules)) in delimited.keys.iter().enumerate() {
            let n = word.len();
            for (table, c) in [
                (&mut delimited.last, word[n - 1]),
                (&mut delimited.prev, word[n - 2]),
            ] {
                table[c.to_ascii_lowercase() as usize] |= 1 << i;
                table[c.to_ascii_uppercase() as usize] |= 1 << i;
            }
            union(&mut delimited.all, rules);
        }
        let (url, windows) = (delimited.url_userinfo, delimited.windows_profile);
        union(&mut delimited.all, &url);
        union(&mut delimited.all, &windows);
        if !delimited.is_empty() {
            pairs.add_delimiters();
        }
        Ok(Self {
            always,
            literals: Literals::new(literal_words, false)?,
            folded: Literals::new(folded_words, true)?,
            pairs,
            delimited,
            enabled,
        })
    }

    /// The rules that can match `text`, or `None` when no rule can.
    pub(crate) fn select(&self, text: &[u8], all_rules: usize) -> Option<RuleSet> {
        if !self.enabled {
            let mut every = EMPTY;
            for rule in 0..all_rules {
                insert(&mut every, rule);
            }
            return Some(every);
        }
        let (literal, delimiter) = if text.len() < SHORT {
            self.pairs.scan(text)
        } else {
            (true, !self.delimited.is_empty())
        };
        if !literal && !delimiter && self.always == EMPTY {
            // The common case for span attributes: nothing to copy or compare.
            return None;
        }
        let mut selected = self.always;
        if literal {
            if let Some(l) = &self.literals {
                l.select(text, &mut selected);
            }
            if let Some(l) = &self.folded {
                l.select(text, &mut selected);
            }
        }
        if delimiter {
            self.delimited.select(text, &mut selected);
        }
        (selected != EMPTY).then_some(selected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rules: &[usize]) -> RuleSet {
        let mut s = EMPTY;
        for r in rules {
            insert(&mut s, *r);
        }
        s
    }

    struct Checked(Prefilter);

    impl Checked {
        fn select(&self, text: &[u8], all_rules: usize) -> RuleSet {
            self.0.select(text, all_rules).unwrap_or(EMPTY)
        }
    }

    impl std::ops::Deref for Checked {
        type Target = Prefilter;
        fn deref(&self) -> &Prefilter {
            &self.0
        }
    }

    fn prefilter(triggers: Vec<Vec<Trigger>>) -> Checked {
        Checked(Prefilter::new(&triggers, true).unwrap())
    }

    fn lit(w: &'static str) -> Trigger {
        Trigger::Literal(w.into())
    }

    #[test]
    fn overlapping_and_contained_literals_are_all_seen() {
        // 0: "A3T", 1: "T3BlbkFJ" (overlaps A3T), 2: "3B" (inside 1),
        // 3: "ab" (prefix of 4), 4: "abc".
        let p = prefilter(vec![
            vec![lit("A3T")],
            vec![lit("T3BlbkFJ")],
            vec![lit("3B")],
            vec![lit("ab")],
            vec![lit("abc")],
        ]);
        for text in ["A3T3BlbkFJ", &format!("{}A3T3BlbkFJ", "x".repeat(80))] {
            assert_eq!(p.select(text.as_bytes(), 5), set(&[0, 1, 2]), "{text}");
        }
        assert_eq!(p.select(b"zabc", 5), set(&[3, 4]));
        assert_eq!(p.select(b"zab", 5), set(&[3]));
        assert_eq!(
            p.select(b"a3t t3blbkfj", 5),
            EMPTY,
            "literals are case-sensitive"
        );
    }

    #[test]
    fn short_values_never_miss_a_literal_at_any_offset() {
        let words = ["eyJ", "A3T", "ghp_", "sk-ant-", "PRIVATE KEY", "xy", "Q"];
        let p = prefilter(words.iter().map(|w| vec![lit(w)]).collect());
        for (rule, word) in words.iter().enumerate() {
            for pad in 0..4 {
                for tail in 0..3 {
                    let text = format!("{}{word}{}", "-".repeat(pad), "-".repeat(tail));
                    let selected = p.select(text.as_bytes(), words.len());
                    assert_eq!(selected[0] >> rule & 1, 1, "{text:?}");
                }
            }
        }
        let q = prefilter(vec![vec![lit("eyJ")], vec![Trigger::Key("password")]]);
        assert_eq!(q.pairs.scan(b"key; they"), (false, false));
        for (text, delimiter) in [("a=", true), ("=a", true), ("ab:", true), ("abc", false)] {
            assert_eq!(q.pairs.scan(text.as_bytes()), (false, delimiter), "{text}");
        }
    }

    #[test]
    fn folded_literals_ignore_ascii_case() {
        let p = prefilter(vec![vec![Trigger::FoldedLiteral("emp-".into())], vec![]]);
        assert_eq!(p.select(b"id EmP-123", 2), set(&[0, 1]));
        assert_eq!(p.select(b"id emp123", 2), set(&[1]));
        let long = format!("{}EMP-1", "y".repeat(100));
        assert_eq!(p.select(long.as_bytes(), 2), set(&[0, 1]));
    }

    #[test]
    fn key_words_must_end_before_a_delimiter() {
        let p = prefilter(vec![
            vec![Trigger::Key("password")],
            vec![Trigger::Key("sig"), Trigger::Key("password")],
        ]);
        for text in [
            "PassWord=x",
            "db_password : x",
            "{\"password\":\"x\"}",
            "{\\\"Password\\\"\t:\\\"x\\\"}",
            "password\t=",
        ] {
            assert_eq!(p.select(text.as_bytes(), 2), set(&[0, 1]), "{text}");
        }
        assert_eq!(p.select(b"?SIG=abc", 2), set(&[1]));
        for text in [
            "password is x",
            "passwords=x",
            "password-=x",
            "=password",
            "a:b=c",
        ] {
            assert_eq!(p.select(text.as_bytes(), 2), EMPTY, "{text}");
        }
    }

    #[test]
    fn url_userinfo_and_windows_profiles() {
        let p = prefilter(vec![
            vec![Trigger::UrlUserinfo],
            vec![Trigger::WindowsProfile],
        ]);
        assert_eq!(p.select(b"https://u:p@h", 2), set(&[0]));
        assert_eq!(p.select(b"mail bob@h then https://h", 2), EMPTY);
        for text in [r"C:\Users\bob\", r"c:\\USERS\\bob", "C:/uSeRs/bob/"] {
            assert_eq!(p.select(text.as_bytes(), 2), set(&[1]), "{text}");
        }
        assert_eq!(p.select(br"C:\Program Files\", 2), EMPTY);
    }

    #[test]
    fn disabled_selects_every_rule() {
        let p = Prefilter::new(&[vec![lit("abc")], vec![]], false).unwrap();
        assert_eq!(p.select(b"", 2), Some(set(&[0, 1])));
    }
}
