//! Fuzzes redaction of percent-encoded URL text: a known secret shape, encoded the way the fuzz
//! input chooses (which bytes are escaped, upper- or lower-case hex, `+` or `%20` for spaces),
//! is planted as a query value or a path segment between arbitrary text. Invariants: no panic;
//! the secret's sensitive part is in neither the output nor its decoded forms; a second pass
//! changes nothing; the prefilter never changes the output.

#![no_main]

use ferrotel_redaction::Redactor;
use libfuzzer_sys::fuzz_target;
use std::borrow::Cow;
use std::sync::OnceLock;

/// Plain secret and the part of it that must never survive (generated shapes).
const SECRETS: &[(&str, &str)] = &[
    (
        "aws_secret_access_key=q8Zr4Lw1Vt6Nx3Mb9Kc2Jd5Hf7Gs0Pa4Ye8Ui1Ok",
        "q8Zr4Lw1Vt6Nx3Mb9Kc2Jd5Hf7Gs0Pa4Ye8Ui1Ok",
    ),
    (
        "postgres://app:S3cr3tPassw0rd@db.internal:5432/orders",
        "S3cr3tPassw0rd",
    ),
    (
        "Authorization: Bearer fb3ZxQw9TqLp2Vn7Rk5Ms8Jd",
        "fb3ZxQw9TqLp2Vn7Rk5Ms8Jd",
    ),
    (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    ),
    ("/home/mallory/projects/x", "mallory"),
    ("password=hunter2secret", "hunter2secret"),
];

fn unfiltered() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(|| {
        Redactor::builder()
            .prefilter(false)
            .build()
            .expect("unfiltered")
    })
}

fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(Redactor::default)
}

/// Bytes a URL encoder must escape whatever its style: they would change the structure.
fn must_escape(b: u8) -> bool {
    matches!(b, b'/' | b'?' | b'#' | b'&' | b'=' | b';' | b'%' | b'+') || !b.is_ascii_graphic()
}

fn encode(text: &str, choices: &[u8]) -> String {
    let mut out = String::new();
    for (i, b) in text.bytes().enumerate() {
        let choice = choices.get(i % choices.len().max(1)).copied().unwrap_or(0);
        if b == b' ' && choice & 4 != 0 {
            out.push('+');
        } else if must_escape(b) || choice & 1 != 0 {
            if choice & 2 != 0 {
                out.push_str(&format!("%{b:02x}"));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(b as char);
        }
    }
    out
}

fn decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Arbitrary text without the separators that would make it part of the planted value.
fn filler(data: &[u8]) -> String {
    String::from_utf8_lossy(data)
        .chars()
        .filter(|c| !matches!(c, '&' | '/' | '?' | '#' | '=' | ';'))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let [selector, place, rest @ ..] = data else {
        return;
    };
    let (secret, sensitive) = SECRETS[*selector as usize % SECRETS.len()];
    let third = rest.len() / 3;
    let (choices, rest) = rest.split_at(third);
    let (before, after) = rest.split_at(rest.len() / 2);
    let encoded = encode(secret, choices);
    let (before, after) = (filler(before), filler(after));
    // Filler that spells the secret itself (plainly or percent-encoded) is not a planted secret:
    // nothing marks it as one, so it may stay.
    for part in [&before, &after] {
        if [part.to_string(), decode(part, false), decode(part, true)]
            .iter()
            .any(|view| view.contains(sensitive))
        {
            return;
        }
    }
    let text = match place % 3 {
        0 => format!("{before}=1&q={encoded}&{after}=2"),
        1 => format!("/{before}/{encoded}/{after}"),
        _ => format!("https://example.com/{before}?next={encoded}#{after}"),
    };
    let redactor = redactor();
    let once = redactor.redact(&text);
    for view in [once.to_string(), decode(&once, false), decode(&once, true)] {
        assert!(
            !view.contains(sensitive),
            "{sensitive:?} survived in {view:?} (from {text:?})"
        );
    }
    assert_eq!(
        once,
        unfiltered().redact(&text),
        "the prefilter changed the output of {text:?}"
    );
    let twice = redactor.redact(&once);
    assert!(
        matches!(twice, Cow::Borrowed(_)),
        "not idempotent: {text:?} -> {once:?} -> {twice:?}"
    );
});
