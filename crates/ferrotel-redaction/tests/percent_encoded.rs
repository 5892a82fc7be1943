//! Secrets in percent-encoded text (URL paths and query values under neutral keys, form bodies)
//! are found in the decoded form and replaced where their escapes are written.

use ferrotel_redaction::Redactor;

/// Plain forms the engine redacts, each with a part that must never survive. Generated shapes,
/// not real credentials.
const SECRETS: &[(&str, &str, &str)] = &[
    (
        "aws secret",
        "aws_secret_access_key=q8Zr4Lw1Vt6Nx3Mb9Kc2Jd5Hf7Gs0Pa4Ye8Ui1Ok",
        "q8Zr4Lw1Vt6Nx3Mb9Kc2Jd5Hf7Gs0Pa4Ye8Ui1Ok",
    ),
    (
        "postgres password",
        "postgres://app:S3cr3tPassw0rd@db.internal:5432/orders",
        "S3cr3tPassw0rd",
    ),
    (
        "bearer token",
        "Authorization: Bearer fb3ZxQw9TqLp2Vn7Rk5Ms8Jd",
        "fb3ZxQw9TqLp2Vn7Rk5Ms8Jd",
    ),
    (
        "pem key",
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    ),
    ("home path", "/home/mallory/projects/x", "mallory"),
    (
        "gcp private_key",
        r#"{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAAS\n-----END PRIVATE KEY-----\n"}"#,
        "MIIEvgIBADANBgkqhkiG9w0BAQEFAAS",
    ),
];

/// Every byte outside the URL-unreserved set escaped, as `encodeURIComponent` does.
fn encode(text: &str, space_as_plus: bool) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' if space_as_plus => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[test]
fn plain_forms_are_redacted() {
    let r = Redactor::default();
    for (name, text, secret) in SECRETS {
        let out = r.redact(text);
        assert!(!out.contains(secret), "{name}: {out}");
    }
}

#[test]
fn percent_encoded_forms_are_redacted_in_place() {
    let r = Redactor::default();
    for (name, text, secret) in SECRETS {
        for space_as_plus in [false, true] {
            let encoded = encode(text, space_as_plus);
            for (place, value) in [
                ("query", format!("page=2&q={encoded}&sort=asc")),
                ("path", format!("/files/{encoded}/raw")),
                ("url", format!("https://example.com/a?next={encoded}")),
            ] {
                let out = r.redact(&value);
                assert!(!out.contains(secret), "{name} in {place}: {out}");
                assert!(
                    !out.contains(&encode(secret, space_as_plus)),
                    "{name} in {place}: {out}"
                );
                assert!(out.contains("REDACTED"), "{name} in {place}: {out}");
                // Only the secret's escapes are replaced: the text around them is as written
                // (a path's tail may read as part of a secret, as it would unencoded).
                let (head, tail) = value.split_once(&encoded).unwrap();
                assert!(out.starts_with(head), "{name} in {place}: {out}");
                if place == "query" {
                    assert!(out.ends_with(tail), "{name} in {place}: {out}");
                }
                // Redacting again changes nothing.
                assert_eq!(r.redact(&out), out, "{name} in {place}");
            }
        }
    }
}

#[test]
fn clean_encoded_text_is_left_alone_without_allocating() {
    let r = Redactor::default();
    for clean in [
        "q=caf%C3%A9+au+lait&page=2",
        "/search/hello%20world%21",
        "100% sure, %zz and %4",
        "token_count=3&x=%FF%FE",
        "a+b=c",
    ] {
        assert!(
            matches!(r.redact(clean), std::borrow::Cow::Borrowed(_)),
            "{clean}"
        );
    }
}

#[test]
fn a_plus_encoded_secret_without_any_equals_sign_is_found() {
    let redactor = ferrotel_redaction::Redactor::default();
    let text = "/users/Authorization:+Bearer+fb3ZxQw9TqLp2Vn7Rk5Ms8Jd/next";
    let out = redactor.redact(text);
    assert!(!out.contains("fb3ZxQw9TqLp2Vn7Rk5Ms8Jd"), "{out}");
    assert!(out.starts_with("/users/"), "{out}");
}
