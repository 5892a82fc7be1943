//! A per-thread memo of `&'static str` texts a redactor found clean.
//!
//! A static string's address and length identify it for the life of the process, and a
//! redactor's rules never change after it is built, so "this text has no secret" holds forever
//! for one (redactor, text) pair. Span and event names are usually literals repeated on every
//! span; the memo turns their scan (a prefilter pass, about a hundred instructions even for a
//! two-letter name) into a table probe. Only clean verdicts are kept: a name that needs
//! redacting is rare and is redacted again each time. A collision only means scanning again.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Redactor;

const SLOTS: usize = 64;

thread_local! {
    /// (text address, text length, redactor id); id 0 is never handed out, so zeroed slots
    /// match nothing.
    static CLEAN: [Cell<(usize, usize, u64)>; SLOTS] =
        const { [const { Cell::new((0, 0, 0)) }; SLOTS] };
}

/// A fresh, non-zero redactor id.
pub(crate) fn next_redactor_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// `redactor`'s redaction of `text`, `None` when it has nothing to redact.
pub(crate) fn redact_static(redactor: &Redactor, text: &'static str) -> Option<String> {
    let key = (text.as_ptr() as usize, text.len(), redactor.inner.id);
    let slot = (key.0 >> 3 ^ key.1.wrapping_mul(31)) % SLOTS;
    // `try_with`: while the thread's locals are being destroyed, scan without the memo.
    if CLEAN.try_with(|memo| memo[slot].get() == key) == Ok(true) {
        return None;
    }
    let redacted = redactor.redact_cow(text);
    if redacted.is_none() {
        let _ = CLEAN.try_with(|memo| memo[slot].set(key));
    }
    redacted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_clean_verdicts_per_redactor_only() {
        let default = Redactor::default();
        assert_eq!(redact_static(&default, "GET /items"), None);
        assert_eq!(redact_static(&default, "GET /items"), None);
        // A secret is redacted every time, never remembered as clean.
        let secret: &'static str = "token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
        for _ in 0..2 {
            let out = redact_static(&default, secret).expect("redacted");
            assert!(!out.contains("ghp_0123"), "{out}");
        }
        // Another redactor with other rules does not reuse the first one's verdict.
        let strict = Redactor::builder()
            .rule(crate::Rule::new("items", r"items"))
            .build()
            .expect("builds");
        let out = redact_static(&strict, "GET /items").expect("redacted by the second redactor");
        assert_eq!(out, "GET /[REDACTED:items]");
        assert_eq!(redact_static(&default, "GET /items"), None);
    }
}
