//! The by-value engine: an Aho-Corasick keyword prefilter selects which rules
//! can match a value; only those rules' regexes run.
//!
//! Clean text (the overwhelmingly common case) costs one pass of the keyword
//! automaton and no allocation. Every regex is a `regex::bytes::Regex`, whose
//! matching is linear in the input (no backtracking engine anywhere), so no
//! input can make redaction slow (ReDoS).

use crate::replacement::Renderer;
use crate::rules::{PemMatcher, Validator};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

/// Maximum number of by-value rules (built-in plus user): the set of rules
/// selected by the prefilter is a fixed-size bitset on the stack.
pub const MAX_RULES: usize = 256;

pub(crate) enum Matcher {
    Regex {
        regex: regex::bytes::Regex,
        /// True when the pattern has explicit capture groups (the redacted span
        /// is the first one that participated).
        groups: bool,
    },
    Pem(Box<PemMatcher>),
}

pub(crate) struct CompiledRule {
    pub(crate) kind: usize,
    pub(crate) matcher: Matcher,
    pub(crate) validate: Option<Validator>,
    pub(crate) literal: Option<&'static str>,
    pub(crate) requires: Option<u8>,
}

/// Values never redacted (documented examples, test fixtures, ...).
#[derive(Default)]
pub(crate) struct AllowValues {
    pub(crate) exact: HashSet<Box<[u8]>>,
    pub(crate) regexes: Vec<regex::bytes::Regex>,
}

impl AllowValues {
    fn allows(&self, secret: &[u8]) -> bool {
        (!self.exact.is_empty() && self.exact.contains(secret))
            || self.regexes.iter().any(|r| r.is_match(secret))
    }
}

#[derive(Clone, Copy, Debug)]
struct Hit {
    start: usize,
    end: usize,
    rule: usize,
}

type RuleSet = [u64; MAX_RULES / 64];

pub(crate) struct Engine {
    prefilter: Option<AhoCorasick>,
    /// Prefilter pattern id -> (rule index, keyword must match exactly in case).
    keyword_rule: Vec<(usize, bool)>,
    patterns: Vec<Vec<u8>>,
    /// Rules without keywords: they run on every value.
    always: RuleSet,
    rules: Vec<CompiledRule>,
    allow: AllowValues,
    pub(crate) renderer: Renderer,
    /// Redactions per kind id.
    pub(crate) counts: Box<[AtomicU64]>,
}

impl Engine {
    /// `rules` are in priority order; `keywords[i]` are rule `i`'s keywords,
    /// each with an exact-case flag.
    pub(crate) fn new(
        rules: Vec<CompiledRule>,
        keywords: Vec<Vec<(String, bool)>>,
        allow: AllowValues,
        renderer: Renderer,
        kind_count: usize,
    ) -> Result<Self, aho_corasick::BuildError> {
        let mut patterns = Vec::new();
        let mut keyword_rule = Vec::new();
        let mut always = [0u64; MAX_RULES / 64];
        for (rule, words) in keywords.iter().enumerate() {
            let words: Vec<&(String, bool)> = words.iter().filter(|w| !w.0.is_empty()).collect();
            if words.is_empty() {
                always[rule / 64] |= 1 << (rule % 64);
            }
            for (w, exact) in words {
                patterns.push(w.as_bytes().to_vec());
                keyword_rule.push((rule, *exact));
            }
        }
        let prefilter = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&patterns)?,
            )
        };
        Ok(Self {
            prefilter,
            keyword_rule,
            patterns,
            always,
            rules,
            allow,
            renderer,
            counts: (0..kind_count).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    /// Redacts every secret the by-value rules find in `text`.
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let bytes = text.as_bytes();
        let mut selected = self.always;
        if let Some(ac) = &self.prefilter {
            for m in ac.find_overlapping_iter(bytes) {
                let id = m.pattern().as_usize();
                let (rule, exact) = self.keyword_rule[id];
                if exact && bytes[m.start()..m.end()] != self.patterns[id][..] {
                    continue;
                }
                selected[rule / 64] |= 1 << (rule % 64);
            }
        }
        if selected.iter().all(|w| *w == 0) {
            return Cow::Borrowed(text);
        }
        let mut hits = Vec::new();
        for (word_index, word) in selected.iter().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let rule = word_index * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                self.run_rule(rule, bytes, &mut hits);
            }
        }
        if hits.is_empty() {
            return Cow::Borrowed(text);
        }
        Cow::Owned(self.apply(text, hits))
    }

    fn run_rule(&self, rule_index: usize, text: &[u8], hits: &mut Vec<Hit>) {
        let rule = &self.rules[rule_index];
        if let Some(byte) = rule.requires
            && memchr::memchr(byte, text).is_none()
        {
            return;
        }
        // Returns whether the candidate was a secret.
        let mut push = |whole: (usize, usize), secret: (usize, usize)| -> bool {
            let (start, end) = secret;
            if start >= end {
                return false;
            }
            let s = &text[start..end];
            if let Some(validate) = rule.validate
                && !validate(&text[whole.0..whole.1], s)
            {
                return false;
            }
            if self.renderer.is_own_output(s) || self.allow.allows(s) {
                // Allowed text stays, and so does anything overlapping it.
                return true;
            }
            hits.push(Hit {
                start,
                end,
                rule: rule_index,
            });
            true
        };
        match &rule.matcher {
            Matcher::Regex { regex, groups } => {
                let mut locs = regex.capture_locations();
                let mut at = 0;
                while at <= text.len() {
                    let (whole, secret) = if *groups {
                        let Some(m) = regex.captures_read_at(&mut locs, text, at) else {
                            break;
                        };
                        let whole = (m.start(), m.end());
                        (
                            whole,
                            (1..locs.len()).find_map(|i| locs.get(i)).unwrap_or(whole),
                        )
                    } else {
                        let Some(m) = regex.find_at(text, at) else {
                            break;
                        };
                        ((m.start(), m.end()), (m.start(), m.end()))
                    };
                    // After a secret, resume after the redacted span (patterns
                    // that consume a trailing delimiter must not hide a secret
                    // right after it). After a rejected look-alike, resume just
                    // after its start: a candidate the validator rejects must
                    // not hide a real secret overlapping it. Built-in validators
                    // only reject short candidates, so this stays linear.
                    let next = if push(whole, secret) {
                        secret.1
                    } else {
                        whole.0 + 1
                    };
                    at = next.max(at + 1);
                }
            }
            Matcher::Pem(pem) => pem.find_all(text, |s, e| {
                push((s, e), (s, e));
            }),
        }
    }

    /// Merges overlapping hits (the earliest start wins, ties go to the rule
    /// with priority) and writes the output.
    fn apply(&self, text: &str, mut hits: Vec<Hit>) -> String {
        hits.sort_unstable_by_key(|h| (h.start, h.rule));
        let mut out = String::with_capacity(text.len() + 16 * hits.len());
        let mut copied = 0; // bytes of `text` already handled
        let mut i = 0;
        while i < hits.len() {
            let first = hits[i];
            let mut end = first.end;
            i += 1;
            while i < hits.len() && hits[i].start < end {
                end = end.max(hits[i].end);
                i += 1;
            }
            // Never split a UTF-8 character: widen to character boundaries.
            let mut start = first.start.max(copied);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            while !text.is_char_boundary(end) {
                end += 1;
            }
            if end <= copied {
                continue;
            }
            let start = start.max(copied);
            out.push_str(&text[copied..start]);
            let rule = &self.rules[first.rule];
            match rule.literal {
                Some(literal) => out.push_str(literal),
                None => self
                    .renderer
                    .render(rule.kind, &text.as_bytes()[start..end], &mut out),
            }
            self.counts[rule.kind].fetch_add(1, Ordering::Relaxed);
            copied = end;
        }
        out.push_str(&text[copied..]);
        out
    }
}
