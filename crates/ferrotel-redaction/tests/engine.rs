//! Engine behaviour: replacement styles, user rules, allow-lists, properties.

mod support;

use ferrotel_redaction::{BuildError, Redactor, Replacement, Rule, kinds};
use std::borrow::Cow;
use support::{CONTEXTS, Rng, VALUE_KINDS, generate, in_context, negatives, positives};

#[test]
fn clean_text_is_borrowed_and_redaction_is_idempotent() {
    let r = Redactor::default();
    assert!(matches!(
        r.redact("GET /api/v1/users/42?page=2"),
        Cow::Borrowed(_)
    ));
    assert!(matches!(r.redact(""), Cow::Borrowed(_)));
    // A keyword without a secret runs a rule that finds nothing: still borrowed.
    assert!(matches!(r.redact("the token is missing"), Cow::Borrowed(_)));
    let mut rng = Rng::new(7);
    for kind in VALUE_KINDS {
        let s = generate(kind, 0, &mut rng);
        let once = r.redact(&s.expr).into_owned();
        assert_ne!(once, s.expr, "{kind}");
        assert!(
            matches!(r.redact(&once), Cow::Borrowed(_)),
            "{kind}: redacting {once:?} again changed it"
        );
    }
}

/// Found by the fuzzer: a token pair whose value swallows an `Authorization:` keyword, followed
/// by a labelled look-alike spanning a second, real `Authorization:` value. The second value
/// must be redacted in the first pass, not only once the first label has changed what the
/// look-alike spans.
#[test]
fn a_secret_inside_a_labelled_look_alike_is_redacted_in_one_pass() {
    let r = Redactor::default();
    let text = String::from_utf8_lossy(
        b"on: B\0oA\xf2irudhza$BCnpm_token: Beudhza$B\xc5\xdf\xbd\x9a\xea\x9e*\x01\
          Authorization: [REDACTED\x9car\x01Authorizati\x9c\x9c\x9c\x9c\x9ci.\xff\xff\xff\
          \xff\xff\xff\xff\xff\xffear0arwYX\x01Authorization:n:ear\xff\xff\xff\xff\xff\xff\
          \xff\xff\xff\xff\xa7\xff\xff\xff\xff\xff\xff\xffsigarw C:\\UseprYrXer ",
    )
    .into_owned();
    let once = r.redact(&text).into_owned();
    assert!(
        once.contains("[REDACTED:authorization]"),
        "the second Authorization value is redacted at once: {once:?}"
    );
    assert!(
        matches!(r.redact(&once), Cow::Borrowed(_)),
        "redacting {once:?} again changed it"
    );
    // Many labelled look-alikes in a row stay linear and do not panic.
    let nested = "Authorization:[REDACTED".repeat(10_000);
    let _ = r.redact(&nested);
}

#[test]
fn hmac_pseudonyms_are_stable_keyed_and_hide_the_secret() {
    let a = Redactor::builder()
        .replacement(Replacement::hmac(b"key-one-0123456789abcdef0123456789"))
        .build()
        .unwrap();
    let b = Redactor::builder()
        .replacement(Replacement::hmac(b"key-two-0123456789abcdef0123456789"))
        .build()
        .unwrap();
    let token = format!("ghp_{}", "A1b2C3d4".repeat(5).get(..36).unwrap());
    let text = format!("push with {token}");
    let out_a1 = a.redact(&text).into_owned();
    let out_a2 = a.redact(&format!("again {token}")).into_owned();
    let out_b = b.redact(&text).into_owned();
    assert!(!out_a1.contains(&token));
    let pseudo = out_a1.strip_prefix("push with ").unwrap();
    assert!(
        pseudo.starts_with("[REDACTED:github_token:") && pseudo.ends_with(']'),
        "{pseudo}"
    );
    assert_eq!(pseudo.len(), "[REDACTED:github_token:]".len() + 16);
    assert!(
        out_a2.ends_with(pseudo),
        "same secret, same key -> same pseudonym"
    );
    assert_ne!(out_b, out_a1, "another key gives another pseudonym");
    // Semconv literals are kept whatever the style.
    assert_eq!(a.redact("https://u:p@h/x"), "https://REDACTED:REDACTED@h/x");
    // By key too.
    let v = a.redact_value("password", &"hunter2".into()).unwrap();
    assert!(v.as_str().starts_with("[REDACTED:sensitive_key:"));
    assert!(matches!(
        Redactor::builder()
            .replacement(Replacement::hmac(b""))
            .build(),
        Err(BuildError::EmptyHmacKey)
    ));
}

#[test]
fn custom_replacement_substitutes_the_kind() {
    let r = Redactor::builder()
        .replacement(Replacement::custom("<{kind}>"))
        .build()
        .unwrap();
    assert_eq!(r.redact("password=hunter2"), "password=<credential_pair>");
    let r = Redactor::builder()
        .replacement(Replacement::custom("***"))
        .build()
        .unwrap();
    assert_eq!(
        r.redact("password=hunter2 token=abc"),
        "password=*** token=***"
    );
    assert!(matches!(r.redact("password=***"), Cow::Borrowed(_)));
}

#[test]
fn user_rules_allow_lists_and_disabled_kinds() {
    let r = Redactor::builder()
        .rule(Rule::new("employee_id", r"\bEMP-([0-9]{6})\b").keywords(["emp-"]))
        .rule(Rule::new("always_on", r"(?-u)internal-[a-z]{8}"))
        .allow_value("ghp_000000000000000000000000000000000000")
        .allow_value_regex(r"^AKIA0{16}$")
        .allow_key("app.token_hint")
        .sensitive_key("pin")
        .sensitive_key_regex(r"^x-acme-.*$")
        .disable_kind(kinds::USERNAME)
        .build()
        .unwrap();
    assert_eq!(
        r.redact("badge EMP-123456 ok"),
        "badge EMP-[REDACTED:employee_id] ok"
    );
    assert_eq!(
        r.redact("host internal-abcdefgh"),
        "host [REDACTED:always_on]"
    );
    assert!(matches!(
        r.redact("ghp_000000000000000000000000000000000000"),
        Cow::Borrowed(_)
    ));
    assert!(matches!(r.redact("AKIA0000000000000000"), Cow::Borrowed(_)));
    assert!(matches!(r.redact("/home/alice/src"), Cow::Borrowed(_)));
    assert!(
        r.redact_value("app.token_hint", &"password=x".into())
            .is_none()
    );
    assert!(r.redact_value("card.PIN", &1234i64.into()).is_some());
    assert!(r.redact_value("X-Acme-Session", &"abc".into()).is_some());
    assert!(r.kinds().any(|k| k == "employee_id"));

    let err = Redactor::builder()
        .rule(Rule::new("bad", "(unclosed"))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("bad"), "{err}");
    assert!(matches!(
        Redactor::builder()
            .rule(Rule::new("has space", "x"))
            .build(),
        Err(BuildError::InvalidKind(_))
    ));
    let too_many = (0..300).fold(Redactor::builder(), |b, i| {
        b.rule(Rule::new(format!("r{i}"), "x"))
    });
    assert!(matches!(too_many.build(), Err(BuildError::TooManyRules(_))));
}

#[test]
fn documented_aws_examples_are_kept_unless_asked() {
    let r = Redactor::default();
    assert!(matches!(r.redact("AKIAIOSFODNN7EXAMPLE"), Cow::Borrowed(_)));
    let strict = Redactor::builder()
        .without_default_allow_values()
        .build()
        .unwrap();
    assert_eq!(
        strict.redact("AKIAIOSFODNN7EXAMPLE"),
        "[REDACTED:aws_access_key_id]"
    );
}

#[test]
fn specific_formats() {
    let r = Redactor::default();
    let cases = [
        (
            r#"{"password": "correct horse battery staple", "user": "bob"}"#,
            r#"{"password": "[REDACTED:credential_pair]", "user": "bob"}"#,
        ),
        (
            r#"{\"api_key\":\"abc def\"}"#,
            r#"{\"api_key\":\"[REDACTED:credential_pair]\"}"#,
        ),
        (
            "redis://:s3cr3t@cache:6379/0",
            "redis://REDACTED:REDACTED@cache:6379/0",
        ),
        ("https://u:p@ss@host/x", "https://REDACTED:REDACTED@host/x"),
        (
            "ssh://git@github.com/org/repo",
            "ssh://git@github.com/org/repo",
        ),
        (
            "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "https://hooks.slack.com/[REDACTED:slack_webhook]",
        ),
        ("PWD=/home/ubuntu/x", "PWD=/home/[REDACTED:username]/x"),
        ("Passwd=hunter2;", "Passwd=[REDACTED:credential_pair];"),
        (
            "C:\\\\Users\\\\alice\\\\x",
            "C:\\\\Users\\\\[REDACTED:username]\\\\x",
        ),
        (
            "file:///home/bob/notes.txt",
            "file:///home/[REDACTED:username]/notes.txt",
        ),
        ("/Users/Shared/x and /home/", "/Users/Shared/x and /home/"),
        (
            "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\nkqhkiG9w0BAQEF",
            "[REDACTED:private_key]",
        ),
        (
            "Authorization: Basic dXNlcjpwYXNz",
            "Authorization: Basic [REDACTED:basic_auth]",
        ),
        (
            "a basic question about settings",
            "a basic question about settings",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(r.redact(input), want, "input {input:?}");
    }
}

#[test]
fn never_breaks_utf8_and_never_panics_on_mixed_input() {
    let r = Redactor::default();
    let mut rng = Rng::new(99);
    let pieces = [
        "é",
        "日本語",
        "🙂",
        "\u{0}",
        "\u{feff}",
        "password=",
        "/home/",
        "ユーザー",
        "://",
        ":",
        "@",
        "\\",
        "\"",
        "eyJ",
        "Bearer ",
        "-----BEGIN PRIVATE KEY-----",
        "sk-ant-",
        "AKIA",
        "\n",
        " ",
    ];
    for _ in 0..2000 {
        let mut s = String::new();
        for _ in 0..rng.below(40) {
            let piece: &&str = rng.pick(&pieces[..]);
            s.push_str(piece);
            if rng.below(3) == 0 {
                let n = rng.below(50);
                s.push_str(&rng.alnum(n));
            }
        }
        // Type-level guarantee (Cow<str>), plus: everything outside redacted
        // spans is preserved, so a non-ASCII user name is replaced whole.
        let out = r.redact(&s);
        assert!(std::str::from_utf8(out.as_bytes()).is_ok());
    }
    assert_eq!(r.redact("/home/ユーザー/x"), "/home/[REDACTED:username]/x");
    assert_eq!(
        r.redact("password=pässwörd€ ok"),
        "password=[REDACTED:credential_pair] ok"
    );
}

#[test]
fn user_rules_matching_inside_a_character_are_widened() {
    // A bytes rule that matches the continuation byte of "é" (0xA9).
    let r = Redactor::builder()
        .without_builtin_rules()
        .rule(Rule::new("byte", r"(?-u)\xA9"))
        .build()
        .unwrap();
    assert_eq!(r.redact("café!"), "caf[REDACTED:byte]!");
}

#[test]
fn one_megabyte_values_complete() {
    let r = Redactor::default();
    let mut rng = Rng::new(1);
    let secret = generate(kinds::GITHUB_TOKEN, 0, &mut rng).expr;
    // Clean, secret-dense, and adversarial repetitions of every rule's keyword.
    let mut inputs = vec![
        "lorem ipsum dolor sit amet ".repeat(40_000),
        format!("{secret} ").repeat(25_000),
        "password=".repeat(120_000),
        "password=\"".repeat(100_000),
        "\\\"".repeat(500_000),
        "-----BEGIN PRIVATE KEY-----!".repeat(40_000),
        "-----BEGIN PRIVATE KEY-----".repeat(40_000),
        "://a:".repeat(200_000),
        "/home/a".repeat(150_000),
        " /home/".repeat(150_000),
        "eyJaaaaaaaaaa.".repeat(80_000),
        "Bearer ".repeat(150_000),
        "authorization: ".repeat(70_000),
        "sk-proj-".repeat(130_000),
        "T3BlbkFJ".repeat(130_000),
        "C:\\Users\\".repeat(100_000),
        "a".repeat(1 << 20),
    ];
    for kind in VALUE_KINDS {
        let s = generate(kind, 1, &mut rng);
        inputs.push(in_context(CONTEXTS[1], &s.expr).repeat((1 << 20) / s.expr.len().max(1)));
    }
    for input in &inputs {
        let out = r.redact(input);
        assert!(out.len() <= input.len() * 4 + 64);
    }
    let dense = r.redact(&inputs[1]);
    assert!(!dense.contains(&secret));
}

#[test]
fn a_rejected_look_alike_does_not_hide_an_overlapping_secret() {
    // Found by the fuzzer: the first "Authorization:" value is rejected as
    // not token-like and used to swallow the second, real one.
    let r = Redactor::default();
    let text = "Authorization: B\u{1}Authorization: Bearer fb3UUUUUUVearer";
    let once = r.redact(text);
    assert_eq!(
        once,
        "Authorization: B\u{1}Authorization: Bearer [REDACTED:bearer_token]"
    );
    assert!(matches!(r.redact(&once), Cow::Borrowed(_)));
}

#[test]
fn adjacent_replacements_are_stable() {
    // Found by the fuzzer: a query value followed directly by an authorization
    // value gave "sig=REDACTED[REDACTED:authorization]", re-redacted on a second pass.
    let r = Redactor::default();
    let once = r.redact("x?sig=]5url_q\u{1}Authorization:#0000000000000000000000co(");
    assert!(matches!(r.redact(&once), Cow::Borrowed(_)), "{once}");
}

/// Case variants a case-insensitive pattern accepts but a case-sensitive
/// literal search would miss.
fn recase(text: &str, rng: &mut Rng) -> [String; 3] {
    let mixed = text
        .chars()
        .map(|c| {
            if rng.below(2) == 0 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    [text.to_ascii_uppercase(), text.to_ascii_lowercase(), mixed]
}

#[test]
fn the_prefilter_never_changes_the_output() {
    // The prefilter may only skip rules that cannot match: with it off, every
    // rule's regex runs on every value, and the output must be identical.
    let fast = Redactor::default();
    let slow = Redactor::builder().prefilter(false).build().unwrap();
    let mut rng = Rng::new(0x00f1_17e5);
    let mut texts: Vec<String> = positives(3, 0x5eed_0101)
        .into_iter()
        .map(|p| p.text)
        .chain(negatives(4, 0x5eed_0102).into_iter().map(|(_, t)| t))
        .collect();
    for i in 0..texts.len() {
        let variants = recase(&texts[i], &mut rng);
        texts.extend(variants);
    }
    // Trigger shapes around their edges: blanks, quotes, escapes, short and long.
    let pieces = [
        "password",
        "PassWord",
        "X-Amz-Signature",
        "sig",
        "SIG",
        "Authorization",
        "proxy-AUTHORIZATION",
        "api-key",
        "Credentials",
        "=",
        ":",
        " ",
        "\t",
        "\"",
        "'",
        "\\",
        "://",
        "@",
        "C:",
        "\\Users\\",
        "\\\\users\\\\",
        "/USERS/",
        "/home/",
        "/Users/",
        "Bearer ",
        "BASIC ",
        "eyJ",
        "A3T",
        "T3BlbkFJ",
        "xoxb-",
        "ghp_",
        "SG.",
        "hf_",
        "?",
        "&",
        "-----BEGIN RSA PRIVATE KEY-----",
        "\n",
    ];
    for _ in 0..3000 {
        let mut s = String::new();
        for _ in 0..rng.below(16) {
            let piece: &&str = rng.pick(&pieces[..]);
            s.push_str(piece);
            if rng.below(2) == 0 {
                let n = rng.below(24);
                s.push_str(&rng.alnum(n));
            }
        }
        texts.push(s);
    }
    // Long values take the SIMD path, short ones the byte-pair pass.
    let long: Vec<String> = texts
        .chunks(7)
        .map(|c| format!("{}{}", "x".repeat(70), c.join(" ")))
        .collect();
    texts.extend(long);
    for text in &texts {
        assert_eq!(fast.redact(text), slow.redact(text), "input {text:?}");
    }
    // User rules: case-insensitive keywords.
    let user = |prefilter| {
        Redactor::builder()
            .rule(Rule::new("employee_id", r"(?i)\bEMP-([0-9]{6})\b").keywords(["emp-"]))
            .prefilter(prefilter)
            .build()
            .unwrap()
    };
    let (fast, slow) = (user(true), user(false));
    for text in ["id EMP-123456", "id emp-123456 and Emp-654321", "none"] {
        let long = format!("{}{text}", "y".repeat(80));
        for t in [text, long.as_str()] {
            assert_eq!(fast.redact(t), slow.redact(t), "input {t:?}");
            assert!(!fast.redact(t).contains("123456"), "{t}");
        }
    }
}
