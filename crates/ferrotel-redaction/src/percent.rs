//! The percent-decoded form of a text, with where each decoded byte came from, so that secrets
//! found in the decoded form (`postgres%3A%2F%2Fu%3Ahunter2%40db`, `%2Fhome%2Falice`) are
//! replaced in the original.
//!
//! Hand-written rather than `percent-encoding`'s decoder: that one yields bytes without their
//! origin, and the replacement must cover exactly the escapes that spell the secret.

/// A decoding of a text and, for each decoded byte, the offset in the original it starts at.
pub(crate) struct Decoded {
    pub(crate) text: String,
    starts: Vec<usize>,
    original_len: usize,
}

impl Decoded {
    /// The original byte range that decoded bytes `start..end` came from.
    pub(crate) fn origin(&self, start: usize, end: usize) -> (usize, usize) {
        let from = self.starts.get(start).copied().unwrap_or(self.original_len);
        let to = self.starts.get(end).copied().unwrap_or(self.original_len);
        (from, to)
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether `text` holds at least one `%XX` escape.
pub(crate) fn has_escape(text: &[u8]) -> bool {
    memchr::memchr_iter(b'%', text).any(|at| is_escape_at(text, at))
}

fn is_escape_at(text: &[u8], at: usize) -> bool {
    text.len() > at + 2 && hex(text[at + 1]).is_some() && hex(text[at + 2]).is_some()
}

/// [`has_escape`], and whether `text` holds a `+`, in one pass.
pub(crate) fn escape_and_plus(text: &[u8]) -> (bool, bool) {
    let (mut escaped, mut plus) = (false, false);
    for at in memchr::memchr2_iter(b'%', b'+', text) {
        if text[at] == b'+' {
            plus = true;
        } else if !escaped {
            escaped = is_escape_at(text, at);
        }
        if escaped && plus {
            break;
        }
    }
    (escaped, plus)
}

/// The parts of a URL or form text between its unescaped separators (`/ ? # & = ;`), each with
/// its byte offset.
pub(crate) fn parts(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split(['/', '?', '#', '&', '=', ';']).map(move |part| {
        let at = offset;
        offset += part.len() + 1;
        (at, part)
    })
}

/// `text` with its `%XX` escapes decoded, and `+` read as a space when `plus_is_space` (form
/// encoding, as in query strings). An escape whose byte would not make valid UTF-8 with its
/// neighbours stays as it was written.
pub(crate) fn decode(text: &str, plus_is_space: bool) -> Decoded {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut starts = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        let escaped = (b == b'%')
            .then(|| Some(hex(*bytes.get(at + 1)?)? << 4 | hex(*bytes.get(at + 2)?)?))
            .flatten();
        starts.push(at);
        match escaped {
            Some(value) => {
                decoded.push(value);
                at += 3;
            }
            None => {
                decoded.push(if plus_is_space && b == b'+' { b' ' } else { b });
                at += 1;
            }
        }
    }
    // Bytes that do not form UTF-8 go back to the text that spelled them (always ASCII escapes:
    // the original's own characters are valid).
    let mut text_out = Vec::with_capacity(decoded.len());
    let mut starts_out = Vec::with_capacity(decoded.len());
    let mut index = 0;
    for chunk in decoded.utf8_chunks() {
        let valid = chunk.valid().as_bytes();
        text_out.extend_from_slice(valid);
        starts_out.extend_from_slice(&starts[index..index + valid.len()]);
        index += valid.len();
        for _ in chunk.invalid() {
            let from = starts[index];
            let to = starts.get(index + 1).copied().unwrap_or(bytes.len());
            for (offset, &original) in bytes[from..to].iter().enumerate() {
                text_out.push(original);
                starts_out.push(from + offset);
            }
            index += 1;
        }
    }
    Decoded {
        // Valid by construction; an empty text is the safe answer were it not.
        text: String::from_utf8(text_out).unwrap_or_default(),
        starts: starts_out,
        original_len: bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_and_map_back_to_their_origin() {
        let d = decode("a%2Fb%3a+c", true);
        assert_eq!(d.text, "a/b: c");
        // "/" is bytes 1..4 of the original, ": " is 5..9.
        assert_eq!(d.origin(1, 2), (1, 4));
        assert_eq!(d.origin(3, 5), (5, 9));
        assert_eq!(d.origin(0, 6), (0, 10));
        assert_eq!(decode("a+b", false).text, "a+b");
    }

    #[test]
    fn escapes_that_are_not_utf8_stay_written() {
        let d = decode("x%FFy%C3%A9%C3", false);
        assert_eq!(d.text, "x%FFyé%C3");
        assert_eq!(d.origin(1, 4), (1, 4));
        assert_eq!(d.origin(5, 7), (5, 11));
        let d = decode("%e2%82", false);
        assert_eq!(d.text, "%e2%82");
    }

    #[test]
    fn parts_carry_their_offsets() {
        let text = "/a/b%2Fc?k=v&x";
        for (at, part) in parts(text) {
            assert_eq!(&text[at..at + part.len()], part);
        }
        let names: Vec<&str> = parts(text).map(|(_, p)| p).collect();
        assert_eq!(names, ["", "a", "b%2Fc", "k", "v", "x"]);
    }

    #[test]
    fn broken_escapes_are_text() {
        assert_eq!(decode("100%", false).text, "100%");
        assert_eq!(decode("%zz%4", false).text, "%zz%4");
        assert!(!has_escape(b"100% %4 %g1"));
        assert!(has_escape(b"a%41"));
        for text in [
            &b"plain"[..],
            b"a+b",
            b"100% %4",
            b"a%41",
            b"a+b%41",
            b"%41+",
            b"+%4",
        ] {
            let plus = text.contains(&b'+');
            assert_eq!(escape_and_plus(text), (has_escape(text), plus), "{text:?}");
        }
    }
}
