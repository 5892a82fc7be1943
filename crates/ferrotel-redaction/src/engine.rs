//! The by-value engine: the prefilter ([`crate::prefilter`]) selects which
//! rules can match a value; only those rules' regexes run.
//!
//! Clean text (the overwhelmingly common case) costs the prefilter's SIMD
//! search (or, for short values, one byte-pair pass) and no allocation. Every
//! regex is a `regex::bytes::Regex`, whose matching is linear in the input (no
//! unbounded backtracking), so no input can make redaction slow (ReDoS).

use crate::percent;
use crate::prefilter::{Prefilter, Trigger};
use crate::replacement::Renderer;
use crate::rules::{PemMatcher, Validator};
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

pub(crate) struct Engine {
    prefilter: Prefilter,
    rules: Vec<CompiledRule>,
    allow: AllowValues,
    pub(crate) renderer: Renderer,
    /// Redactions per kind id.
    pub(crate) counts: Box<[AtomicU64]>,
}

impl Engine {
    /// `rules` are in priority order; `triggers[i]` are rule `i`'s prefilter
    /// triggers (none: the rule runs on every value). `prefilter: false` runs
    /// every rule on every value.
    pub(crate) fn new(
        rules: Vec<CompiledRule>,
        triggers: &[Vec<Trigger>],
        prefilter: bool,
        allow: AllowValues,
        renderer: Renderer,
        kind_count: usize,
    ) -> Result<Self, aho_corasick::BuildError> {
        Ok(Self {
            prefilter: Prefilter::new(triggers, prefilter)?,
            rules,
            allow,
            renderer,
            counts: (0..kind_count).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    /// Redacts every secret the by-value rules find in `text`, or in its percent-decoded form
    /// (the secret is then replaced where its escapes are written).
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let bytes = text.as_bytes();
        let mut hits = Vec::new();
        self.find(bytes, &mut hits);
        // One pass for both `%` escapes and `+`: clean text usually has neither.
        let (escaped, plus) = percent::escape_and_plus(bytes);
        // `+` is a space in form-encoded text; any text with a `+` is also read that way, since a
        // form-encoded value can end up anywhere (a path segment, a fragment) without the `=`
        // of its pair.
        for plus_is_space in [false, true] {
            if !(if plus_is_space { plus } else { escaped }) {
                continue;
            }
            // The whole text (a secret may span separators: `postgres%3A//u%3Apw%40db`), then
            // each URL part holding an escape on its own, where a value starts a text (an
            // encoded `%2Fhome%2Falice%2F` is a path of its own, not part of the URL's).
            let whole = std::iter::once((0, text));
            let parts = percent::parts(text).filter(|(_, part)| {
                percent::has_escape(part.as_bytes()) || (plus_is_space && part.contains('+'))
            });
            for (offset, part) in whole.chain(parts) {
                let decoded = percent::decode(part, plus_is_space);
                let mut found = Vec::new();
                self.find(decoded.text.as_bytes(), &mut found);
                hits.extend(found.into_iter().map(|hit| {
                    let (start, end) = decoded.origin(hit.start, hit.end);
                    Hit {
                        start: offset + start,
                        end: offset + end,
                        ..hit
                    }
                }));
            }
        }
        if hits.is_empty() {
            return Cow::Borrowed(text);
        }
        Cow::Owned(self.apply(text, hits))
    }

    /// Adds what the rules the prefilter selects for `bytes` find there.
    fn find(&self, bytes: &[u8], hits: &mut Vec<Hit>) {
        let Some(selected) = self.prefilter.select(bytes, self.rules.len()) else {
            return;
        };
        for (word_index, word) in selected.iter().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let rule = word_index * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                self.run_rule(rule, bytes, hits);
            }
        }
    }

    fn run_rule(&self, rule_index: usize, text: &[u8], hits: &mut Vec<Hit>) {
        let rule = &self.rules[rule_index];
        // Searches resumed inside a labelled candidate rescan its tail: a bound keeps a text
        // made of nested labels linear (past it, such a candidate is skipped whole again).
        let mut rescans_left = 64_u32;
        // Returns where the rule's search resumes.
        let mut push = |whole: (usize, usize), secret: (usize, usize)| -> Resume {
            let (start, end) = secret;
            if start >= end {
                return Resume::AfterStartOf(whole);
            }
            let s = &text[start..end];
            if let Some(validate) = rule.validate
                && !validate(&text[whole.0..whole.1], s)
            {
                return Resume::AfterStartOf(whole);
            }
            // A candidate that already carries a redaction label was redacted by an earlier
            // pass (its secret part is gone); leaving it keeps redaction idempotent. The search
            // goes on inside it, after the label: a later candidate of this rule there must be
            // found in this pass, not only once another rule's label has changed what this
            // candidate spans (which made a second pass redact more).
            let own_output = self.renderer.is_own_output(s);
            if !own_output && let Some(label) = memchr::memmem::find(s, b"[REDACTED") {
                if rescans_left == 0 {
                    return Resume::At(end);
                }
                rescans_left -= 1;
                return Resume::At(start + label + 1);
            }
            // Allowed text stays, and so does anything overlapping it.
            if own_output || self.allow.allows(s) {
                return Resume::At(end);
            }
            hits.push(Hit {
                start,
                end,
                rule: rule_index,
            });
            Resume::At(end)
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
                    // After a secret, resume after the redacted span (patterns that consume a
                    // trailing delimiter must not hide a secret right after it). After a
                    // rejected look-alike, resume just after its start: a candidate the
                    // validator rejects must not hide a real secret overlapping it. Built-in
                    // validators only reject short candidates, so this stays linear.
                    let next = match push(whole, secret) {
                        Resume::At(next) => next,
                        Resume::AfterStartOf(whole) => whole.0 + 1,
                    };
                    at = next.max(at + 1);
                }
            }
            Matcher::Pem(pem) => pem.find_all(text, |s, e| {
                let _ = push((s, e), (s, e));
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

/// Where a rule's search resumes after a candidate.
enum Resume {
    /// At this byte offset.
    At(usize),
    /// Just after the start of this rejected candidate.
    AfterStartOf((usize, usize)),
}
