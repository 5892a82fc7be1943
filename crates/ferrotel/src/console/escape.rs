//! Escaping of everything a console line shows that did not come from us: one event is one line,
//! and no value can move the cursor, clear the screen, retitle the terminal or reorder the text
//! around it.
//!
//! Hand-written rather than serde_json's: the JSON form also escapes the characters serde_json
//! leaves raw (DEL, C1 controls, Unicode line separators, bidirectional controls), and every form
//! stops at a byte budget without ever writing half of an escape.

use std::fmt::Write as _;

/// How a piece of text is escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escape {
    /// Human-readable text (messages, `Debug`/`Display` output, names): control characters.
    Text,
    /// A string value shown in double quotes: control characters, `"` and `\`.
    Quoted,
    /// The inside of a JSON string: what JSON requires, plus the other control characters.
    Json,
}

/// Whether `c` can end a line, drive a terminal or reorder the text around it: the C0 controls
/// (NUL, BEL, BS, TAB, LF, CR, ESC...), DEL, the C1 controls (U+0080..U+009F, CSI and NEL
/// among them), U+2028/U+2029 (line and paragraph separators) and the bidirectional formatting
/// controls (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069).
pub(crate) fn is_control(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

fn needs_escape(c: char, escape: Escape) -> bool {
    is_control(c) || (escape != Escape::Text && (c == '"' || c == '\\'))
}

/// Appends the escaped form of `c` (one that [`needs_escape`]).
fn push_escape(out: &mut String, c: char, escape: Escape) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        // Writing to a String cannot fail.
        _ if escape == Escape::Json => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        _ => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Appends `text` escaped to `out` as long as `out` stays within `end` bytes, cutting at a
/// character boundary and never inside an escape. `false` when not all of `text` fit.
pub(crate) fn push_escaped(out: &mut String, text: &str, escape: Escape, end: usize) -> bool {
    let mut run = 0;
    for (at, c) in text.char_indices() {
        if !needs_escape(c, escape) {
            continue;
        }
        if !push_within(out, &text[run..at], end) {
            return false;
        }
        let before = out.len();
        push_escape(out, c, escape);
        if out.len() > end {
            out.truncate(before);
            return false;
        }
        run = at + c.len_utf8();
    }
    push_within(out, &text[run..], end)
}

fn push_within(out: &mut String, text: &str, end: usize) -> bool {
    let room = end.saturating_sub(out.len());
    if text.len() <= room {
        out.push_str(text);
        return true;
    }
    out.push_str(crate::limits::cut(text, room));
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str, escape: Escape) -> String {
        let mut out = String::new();
        assert!(push_escaped(&mut out, text, escape, usize::MAX));
        out
    }

    #[test]
    fn every_character_round_trips_through_the_json_escape() {
        for c in (0..=0x10_ffff).filter_map(char::from_u32) {
            let text = format!("a{c}b");
            let json = format!("\"{}\"", escaped(&text, Escape::Json));
            let back: String =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(back, text, "U+{:04X}", c as u32);
            assert!(!json.chars().any(is_control), "U+{:04X} left raw", c as u32);
        }
    }

    #[test]
    fn text_escapes_leave_no_control_character_and_keep_the_rest() {
        for c in (0..=0x10_ffff).filter_map(char::from_u32) {
            for escape in [Escape::Text, Escape::Quoted] {
                let out = escaped(&c.to_string(), escape);
                assert!(!out.chars().any(is_control), "U+{:04X}", c as u32);
                if !needs_escape(c, escape) {
                    assert_eq!(out, c.to_string());
                }
            }
        }
        assert_eq!(
            escaped("a\nb\r\t\x1b[2J\0\u{9b}\u{2028}", Escape::Text),
            "a\\nb\\r\\t\\u{1b}[2J\\u{0}\\u{9b}\\u{2028}"
        );
        assert_eq!(escaped(r#"say "hi" \o/"#, Escape::Text), r#"say "hi" \o/"#);
        assert_eq!(
            escaped(r#"say "hi" \o/"#, Escape::Quoted),
            r#"say \"hi\" \\o/"#
        );
    }

    #[test]
    fn the_budget_cuts_at_a_character_boundary_and_never_inside_an_escape() {
        let mut out = String::from("ab");
        assert!(!push_escaped(&mut out, "cdé", Escape::Text, 5));
        assert_eq!(out, "abcd");
        let mut out = String::new();
        // `\u001b` needs six bytes: with five left it is not started.
        assert!(!push_escaped(&mut out, "x\x1by", Escape::Json, 6));
        assert_eq!(out, "x");
        let mut out = String::new();
        assert!(push_escaped(&mut out, "x\x1b", Escape::Json, 7));
        assert_eq!(out, "x\\u001b");
    }
}
