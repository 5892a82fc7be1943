//! Formatting of field values that cannot crash the host.
//!
//! A field's `Debug`, `Display` or `Error` impl is the application's code, run by our layers
//! inside the application's `tracing` call. A panic there must not unwind into that call, nor
//! through a lock that it would poison: every such call goes through [`append_debug`],
//! [`append_display`] or their `_to_string` forms, which run the formatter under
//! [`std::panic::catch_unwind`] and record [`FORMAT_PANIC_MARKER`] instead of the value.
//!
//! The panic hook still runs (the default hook prints the panic message to stderr), and a binary
//! built with `panic = "abort"` aborts as it would anywhere else.
//!
//! A formatter that returns `Err` without panicking (which `ToString` would turn into a panic)
//! keeps what it wrote.

use std::fmt::{self, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The value recorded in place of one whose `Debug`/`Display`/`Error` formatting panicked.
pub const FORMAT_PANIC_MARKER: &str = "<formatting panicked>";

/// How a panic-safe formatting ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formatted {
    /// The formatter finished (or returned an error) within the byte budget.
    Whole,
    /// The output reached the byte budget and was cut at a character boundary; the formatter was
    /// told to stop (its writes failed from there on).
    Cut,
    /// The formatter panicked: what it wrote was discarded and [`FORMAT_PANIC_MARKER`] appended.
    Panicked,
}

/// Appends `value`'s `Debug` output to `out`, at most `max` bytes of it, without letting a panic
/// escape (see the [module docs](self)).
pub fn append_debug(out: &mut String, value: &dyn fmt::Debug, max: usize) -> Formatted {
    append_with(out, max, |w| write!(w, "{value:?}"))
}

/// Appends `value`'s `Display` output to `out`, at most `max` bytes of it, without letting a
/// panic escape (see the [module docs](self)).
pub fn append_display(out: &mut String, value: &dyn fmt::Display, max: usize) -> Formatted {
    append_with(out, max, |w| write!(w, "{value}"))
}

/// `value`'s whole `Debug` output, or [`FORMAT_PANIC_MARKER`] if it panics.
pub fn debug_to_string(value: &dyn fmt::Debug) -> String {
    let mut out = String::new();
    append_debug(&mut out, value, usize::MAX);
    out
}

/// `value`'s whole `Display` output, or [`FORMAT_PANIC_MARKER`] if it panics.
pub fn display_to_string(value: &dyn fmt::Display) -> String {
    let mut out = String::new();
    append_display(&mut out, value, usize::MAX);
    out
}

fn append_with(
    out: &mut String,
    max: usize,
    write: impl FnOnce(&mut Bounded<'_>) -> fmt::Result,
) -> Formatted {
    let start = out.len();
    let end = start.saturating_add(max);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut bounded = Bounded {
            out: &mut *out,
            end,
            cut: false,
        };
        // An error is either ours (the budget is spent, `cut` says so) or the formatter's own.
        let _ = write(&mut bounded);
        bounded.cut
    }));
    match result {
        Ok(true) => Formatted::Cut,
        Ok(false) => Formatted::Whole,
        Err(payload) => {
            // A payload whose own `Drop` panics must not escape either.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            out.truncate(start);
            out.push_str(FORMAT_PANIC_MARKER);
            Formatted::Panicked
        }
    }
}

/// Appends to a `String` up to `end`, then fails every write.
struct Bounded<'a> {
    out: &'a mut String,
    end: usize,
    cut: bool,
}

impl fmt::Write for Bounded<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.end.saturating_sub(self.out.len());
        if s.len() <= room {
            self.out.push_str(s);
            return Ok(());
        }
        let mut at = room;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        self.out.push_str(&s[..at]);
        self.cut = true;
        Err(fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Panics;
    impl fmt::Debug for Panics {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("partial output")?;
            panic!("formatting failed")
        }
    }
    impl fmt::Display for Panics {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(self, f)
        }
    }

    #[test]
    fn a_panic_discards_the_partial_output_and_appends_the_marker() {
        let mut out = String::from("before ");
        assert_eq!(append_debug(&mut out, &Panics, 100), Formatted::Panicked);
        assert_eq!(out, format!("before {FORMAT_PANIC_MARKER}"));
        assert_eq!(display_to_string(&Panics), FORMAT_PANIC_MARKER);
        assert_eq!(debug_to_string(&Panics), FORMAT_PANIC_MARKER);
    }

    #[test]
    fn output_is_cut_at_the_budget_on_a_character_boundary() {
        let mut out = String::new();
        // "é" is two bytes: a budget of 4 fits "aé" plus nothing of the next "é".
        assert_eq!(append_display(&mut out, &"aéé", 4), Formatted::Cut);
        assert_eq!(out, "aé");
        let mut out = String::new();
        assert_eq!(append_display(&mut out, &"aé", 3), Formatted::Whole);
        assert_eq!(out, "aé");
        let mut out = String::new();
        assert_eq!(append_debug(&mut out, &"abc", 0), Formatted::Cut);
        assert_eq!(out, "");
    }

    /// Writes forever unless told to stop.
    struct Endless;
    impl fmt::Display for Endless {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            loop {
                f.write_str("more ")?;
            }
        }
    }

    #[test]
    fn a_formatter_propagating_errors_stops_at_the_budget() {
        let mut out = String::new();
        assert_eq!(append_display(&mut out, &Endless, 12), Formatted::Cut);
        assert_eq!(out, "more more mo");
    }
}
