//! Labelled test corpus, generated at test time from the token formats (no
//! real-looking secret is committed). Deterministic: a fixed-seed PRNG.

#![allow(dead_code)]

use base64::Engine as _;
use ferrotel_redaction::kinds;

/// splitmix64: tiny, deterministic, good enough to fill token alphabets.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn from(&mut self, alphabet: &str, n: usize) -> String {
        let a = alphabet.as_bytes();
        (0..n).map(|_| a[self.below(a.len())] as char).collect()
    }

    pub fn alnum(&mut self, n: usize) -> String {
        self.from(ALNUM, n)
    }
}

pub const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
pub const HEX: &str = "0123456789abcdef";
pub const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub const B32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A secret embedded in an expression (`expr` contains `secret`; only
/// `secret` must disappear, e.g. `password=` stays).
#[derive(Clone, Debug)]
pub struct Secret {
    pub kind: &'static str,
    pub expr: String,
    pub secret: String,
    /// Text that is always used in the replacement of this kind.
    pub marker: String,
}

fn label(kind: &str) -> String {
    format!("[REDACTED:{kind}]")
}

fn secret(kind: &'static str, expr: String, secret: String) -> Secret {
    Secret {
        kind,
        expr,
        secret,
        marker: label(kind),
    }
}

fn whole(kind: &'static str, token: String) -> Secret {
    secret(kind, token.clone(), token)
}

/// One secret of `kind`, variant `v` (variants rotate through the formats).
pub fn generate(kind: &'static str, v: usize, r: &mut Rng) -> Secret {
    match kind {
        k if k == kinds::PRIVATE_KEY => {
            let label = ["RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED "][v % 5];
            let body: Vec<String> = (0..4).map(|_| r.from(B64, 64)).collect();
            let block = format!(
                "-----BEGIN {label}PRIVATE KEY-----\n{}\n-----END {label}PRIVATE KEY-----",
                body.join("\n")
            );
            secret(k, block, body[1].clone())
        }
        k if k == kinds::JWT => {
            let payload = format!("eyJ{}", r.from(B64URL, 40 + v));
            let sig = r.from(B64URL, 43);
            secret(
                k,
                format!("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{payload}.{sig}"),
                format!("{payload}.{sig}"),
            )
        }
        k if k == kinds::ANTHROPIC_API_KEY => {
            whole(k, format!("sk-ant-api03-{}AA", r.from(B64URL, 93)))
        }
        k if k == kinds::OPENAI_API_KEY => match v % 3 {
            0 => whole(k, format!("sk-proj-{}", r.from(B64URL, 156))),
            1 => whole(k, format!("sk-{}T3BlbkFJ{}", r.alnum(20), r.alnum(20))),
            _ => whole(k, format!("sk-svcacct-{}", r.from(B64URL, 74))),
        },
        k if k == kinds::GITHUB_TOKEN => {
            if v % 6 == 5 {
                whole(k, format!("github_pat_{}_{}", r.alnum(22), r.alnum(59)))
            } else {
                let p = ["ghp", "gho", "ghu", "ghs", "ghr"][v % 5];
                whole(k, format!("{p}_{}", r.alnum(36)))
            }
        }
        k if k == kinds::GITLAB_TOKEN => {
            let p = ["glpat", "gldt", "glrt", "glptt", "glsoat"][v % 5];
            whole(k, format!("{p}-{}", r.from(B64URL, 20)))
        }
        k if k == kinds::SLACK_WEBHOOK => {
            let path = format!(
                "services/T{}/B{}/{}",
                r.from(B32, 8),
                r.from(B32, 10),
                r.alnum(24)
            );
            secret(k, format!("https://hooks.slack.com/{path}"), path)
        }
        k if k == kinds::SLACK_TOKEN => {
            let p = ["xoxb", "xoxp", "xoxa", "xoxs", "xoxe.xoxp"][v % 5];
            whole(
                k,
                format!(
                    "{p}-{}-{}-{}",
                    r.from("0123456789", 12),
                    r.from("0123456789", 13),
                    r.alnum(32)
                ),
            )
        }
        k if k == kinds::STRIPE_KEY => {
            let p = ["sk_live", "rk_live", "sk_test", "rk_test"][v % 4];
            if v % 5 == 4 {
                whole(k, format!("whsec_{}", r.alnum(32)))
            } else {
                whole(k, format!("{p}_{}", r.alnum(24 + 10 * (v % 3))))
            }
        }
        k if k == kinds::AWS_ACCESS_KEY_ID => {
            let p = ["AKIA", "ASIA"][v % 2];
            whole(k, format!("{p}{}", r.from(B32, 16)))
        }
        k if k == kinds::GOOGLE_API_KEY => whole(k, format!("AIza{}", r.from(B64URL, 35))),
        k if k == kinds::NPM_TOKEN => whole(k, format!("npm_{}", r.alnum(36))),
        k if k == kinds::PYPI_TOKEN => {
            whole(k, format!("pypi-AgEIcHlwaS5vcmc{}", r.from(B64URL, 120)))
        }
        k if k == kinds::HUGGINGFACE_TOKEN => whole(k, format!("hf_{}", r.alnum(34))),
        k if k == kinds::SENDGRID_API_KEY => whole(
            k,
            format!("SG.{}.{}", r.from(B64URL, 22), r.from(B64URL, 43)),
        ),
        k if k == kinds::URL_CREDENTIALS => {
            let scheme = ["https", "postgres", "redis", "amqp", "mongodb+srv"][v % 5];
            let user = format!("svc{}", r.from(LOWER, 6));
            let pass = r.from(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*-",
                18,
            );
            Secret {
                kind: k,
                expr: format!(
                    "{scheme}://{user}:{pass}@db-{}.internal:5432/app",
                    r.below(99)
                ),
                secret: format!("{user}:{pass}"),
                marker: "://REDACTED:REDACTED@".into(),
            }
        }
        k if k == kinds::URL_QUERY_SECRET => {
            let (expr, s) = match v % 4 {
                0 => {
                    let s = r.from(HEX, 64);
                    (
                        format!(
                            "https://bucket.s3.amazonaws.com/o.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature={s}"
                        ),
                        s,
                    )
                }
                1 => {
                    let s = r.from(B64, 43);
                    (
                        format!(
                            "https://acct.blob.core.windows.net/c/b.bin?sv=2022-11-02&sp=r&sig={s}"
                        ),
                        s,
                    )
                }
                2 => {
                    let s = r.from(HEX, 128);
                    (
                        format!(
                            "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature={s}"
                        ),
                        s,
                    )
                }
                _ => {
                    let s = r.from(B64, 28);
                    (
                        format!(
                            "https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1700000000&Signature={s}"
                        ),
                        s,
                    )
                }
            };
            Secret {
                kind: k,
                expr,
                secret: s,
                marker: "=REDACTED".into(),
            }
        }
        k if k == kinds::BASIC_AUTH => {
            let creds = format!("{}:{}", r.from(LOWER, 6), r.alnum(12));
            let b64 = base64::engine::general_purpose::STANDARD.encode(creds);
            secret(k, format!("Basic {b64}"), b64)
        }
        k if k == kinds::BEARER_TOKEN => {
            let t = r.from(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
                40,
            );
            secret(k, format!("Bearer {t}"), t)
        }
        k if k == kinds::AUTHORIZATION => {
            let t = r.alnum(32);
            let expr = match v % 3 {
                0 => format!("Authorization: Token {t}"),
                1 => format!("proxy-authorization={t}"),
                _ => format!("authorization: ApiKey {t}"),
            };
            secret(k, expr, t)
        }
        k if k == kinds::CREDENTIAL_PAIR => {
            let s = r.from(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*%$",
                16,
            );
            let expr = match v % 8 {
                0 => format!("password={s}"),
                1 => format!("db_password: {s}"),
                2 => format!("client_secret={s}&grant_type=client_credentials"),
                3 => format!("Server=db;User Id=app;Password={s};Encrypt=true"),
                4 => format!("access_token={s}"),
                5 => format!("'api_key': '{s}'"),
                6 => format!("SECRET={s}"),
                _ => format!("passwd={s}"),
            };
            secret(k, expr, s)
        }
        k if k == kinds::USERNAME => {
            let user = format!("{}{}", r.from(LOWER, 5), r.below(1000));
            let expr = match v % 3 {
                0 => format!("/home/{user}/src/app/main.rs:42:7"),
                1 => format!("/Users/{user}/Library/app.log"),
                _ => format!("C:\\Users\\{user}\\AppData\\Local\\app.exe"),
            };
            secret(k, expr, user)
        }
        other => panic!("no generator for {other}"),
    }
}

/// Every kind the by-value corpus covers.
pub const VALUE_KINDS: &[&str] = &[
    kinds::PRIVATE_KEY,
    kinds::JWT,
    kinds::ANTHROPIC_API_KEY,
    kinds::OPENAI_API_KEY,
    kinds::GITHUB_TOKEN,
    kinds::GITLAB_TOKEN,
    kinds::SLACK_WEBHOOK,
    kinds::SLACK_TOKEN,
    kinds::STRIPE_KEY,
    kinds::AWS_ACCESS_KEY_ID,
    kinds::GOOGLE_API_KEY,
    kinds::NPM_TOKEN,
    kinds::PYPI_TOKEN,
    kinds::HUGGINGFACE_TOKEN,
    kinds::SENDGRID_API_KEY,
    kinds::URL_CREDENTIALS,
    kinds::URL_QUERY_SECRET,
    kinds::BASIC_AUTH,
    kinds::BEARER_TOKEN,
    kinds::AUTHORIZATION,
    kinds::CREDENTIAL_PAIR,
    kinds::USERNAME,
];

pub fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// The contexts a secret is placed in.
pub const CONTEXTS: &[&str] = &[
    "bare",
    "json",
    "header",
    "url",
    "log",
    "stacktrace",
    "json_stacktrace",
];

pub fn in_context(context: &str, expr: &str) -> String {
    match context {
        "bare" => expr.to_string(),
        "json" => format!(
            r#"{{"level":"error","msg":"upstream call failed","detail":"{}","attempt":3}}"#,
            json_escape(expr)
        ),
        "header" => format!("X-Debug-Context: {expr}\r\nAccept: application/json\r\n"),
        "url" => format!("https://api.example.com/v1/callback?state=ok&ctx={expr}&page=2"),
        "log" => format!(
            "2024-05-01T12:00:00.123Z WARN request_id=7f3a9c retrying with {expr} after 3 attempts"
        ),
        "stacktrace" => format!(
            "thread 'main' panicked at src/client.rs:42:9:\ncalled `Result::unwrap()` on an `Err` value: Config(\"{expr}\")\nstack backtrace:\n   0: rust_begin_unwind\n"
        ),
        "json_stacktrace" => format!(
            r#"{{"exception.type":"Error","exception.stacktrace":"Error: bad credential {}\n    at handler (app.js:10:5)"}}"#,
            json_escape(expr)
        ),
        other => panic!("unknown context {other}"),
    }
}

/// A labelled true-positive case.
#[derive(Clone, Debug)]
pub struct Positive {
    pub kind: &'static str,
    pub context: &'static str,
    pub text: String,
    pub secret: String,
    pub marker: String,
}

/// `per_kind` secrets of every kind, each in every context.
pub fn positives(per_kind: usize, seed: u64) -> Vec<Positive> {
    let mut r = Rng::new(seed);
    let mut out = Vec::new();
    for kind in VALUE_KINDS {
        for v in 0..per_kind {
            let s = generate(kind, v, &mut r);
            for context in CONTEXTS {
                out.push(Positive {
                    kind,
                    context,
                    text: in_context(context, &s.expr),
                    secret: s.secret.clone(),
                    marker: s.marker.clone(),
                });
            }
        }
    }
    out
}

/// Look-alike negatives that must survive untouched, labelled by what they are.
pub fn negatives(per_template: usize, seed: u64) -> Vec<(&'static str, String)> {
    let mut r = Rng::new(seed);
    let mut out = Vec::new();
    for _ in 0..per_template {
        let trace = r.from(HEX, 32);
        let span = r.from(HEX, 16);
        let uuid = format!(
            "{}-{}-4{}-a{}-{}",
            r.from(HEX, 8),
            r.from(HEX, 4),
            r.from(HEX, 3),
            r.from(HEX, 3),
            r.from(HEX, 12)
        );
        let n = r.below(100_000);
        out.extend([
            ("trace_id", format!("trace_id={trace}")),
            ("traceparent", format!("traceparent: 00-{trace}-{span}-01")),
            (
                "span_id",
                format!(
                    r#"{{"span_id":"{span}","parent_span_id":"{}"}}"#,
                    r.from(HEX, 16)
                ),
            ),
            ("uuid", format!("request {uuid} completed in 12ms")),
            (
                "sha1",
                format!("commit {} Merge branch 'main'", r.from(HEX, 40)),
            ),
            ("sha256", format!("image digest sha256:{}", r.from(HEX, 64))),
            (
                "base64_image",
                format!(
                    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA{}==",
                    r.from(B64, 2000)
                ),
            ),
            (
                "api_url",
                format!(
                    "https://api.example.com/api/v2/users/{n}/orders?page=2&limit=50&sort=desc"
                ),
            ),
            (
                "api_url",
                format!("GET /api/v1/accounts/{n}/tokens/usage HTTP/1.1"),
            ),
            (
                "api_url",
                format!("https://shop.example.com/home/products/{n}?ref=homepage"),
            ),
            ("api_url", format!("/api/users/{n}/home/feed")),
            (
                "log_words",
                format!("max_tokens={n} prompt_tokens: 12 completion_tokens: 40 token_count={n}"),
            ),
            (
                "log_words",
                "Authorization header missing; falling back to anonymous".to_string(),
            ),
            (
                "log_words",
                "basic usage: run the binary with --help".to_string(),
            ),
            (
                "log_words",
                "the bearer of bad news arrived; Bearer authentication failed".to_string(),
            ),
            (
                "log_words",
                format!("password reset email sent to user {n}"),
            ),
            (
                "log_words",
                "tokenizer: cl100k_base, secretName: db-creds, password_policy=strong".to_string(),
            ),
            (
                "paths",
                "/usr/local/bin/app --config /etc/app/config.toml cwd=/home/".to_string(),
            ),
            (
                "paths",
                "C:\\Program Files\\App\\app.exe file:///etc/hosts /Users/Shared/data/x"
                    .to_string(),
            ),
            (
                "aws_example",
                "aws_access_key_id = AKIAIOSFODNN7EXAMPLE".to_string(),
            ),
            (
                "prefix_lookalike",
                format!("using sk-learn {n}, ghp is a word, eyJhbGciOi, AIza short, xoxo hugs"),
            ),
            (
                "email_ip",
                format!(
                    "user{n}@example.com from 10.0.{}.{} via ssh://git@github.com/org/repo",
                    r.below(255),
                    r.below(255)
                ),
            ),
            ("hex_blob", format!("checksum={} size={n}", r.from(HEX, 32))),
        ]);
    }
    out
}
