//! Names of the built-in redaction kinds.
//!
//! A kind names what was found. It appears in the default replacement
//! (`[REDACTED:<kind>]`), in the redaction counters and in
//! [`RedactorBuilder::disable_kind`](crate::RedactorBuilder::disable_kind).
//! The set is small and fixed (plus the kinds of user rules), so it is safe as a
//! metric attribute value.

/// The whole value of an attribute whose key is sensitive (`authorization`, `password`, ...).
pub const SENSITIVE_KEY: &str = "sensitive_key";
/// PEM private key blocks (`-----BEGIN ... PRIVATE KEY-----`).
pub const PRIVATE_KEY: &str = "private_key";
/// JSON Web Tokens (`eyJ...`.`...`.`...`).
pub const JWT: &str = "jwt";
/// Anthropic API keys (`sk-ant-api03-...`).
pub const ANTHROPIC_API_KEY: &str = "anthropic_api_key";
/// OpenAI API keys (`sk-proj-...`, legacy `sk-...T3BlbkFJ...`).
pub const OPENAI_API_KEY: &str = "openai_api_key";
/// GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`).
pub const GITHUB_TOKEN: &str = "github_token";
/// GitLab tokens (`glpat-`, `gldt-`, `glrt-`, ...).
pub const GITLAB_TOKEN: &str = "gitlab_token";
/// Slack incoming-webhook URLs (the path after `hooks.slack.com/`).
pub const SLACK_WEBHOOK: &str = "slack_webhook";
/// Slack tokens (`xoxb-`, `xoxp-`, `xapp-`, ...).
pub const SLACK_TOKEN: &str = "slack_token";
/// Stripe secret and restricted keys (`sk_live_`, `rk_test_`, ...) and webhook secrets (`whsec_`).
pub const STRIPE_KEY: &str = "stripe_key";
/// AWS access key ids (`AKIA...`, `ASIA...`).
pub const AWS_ACCESS_KEY_ID: &str = "aws_access_key_id";
/// Google API keys (`AIza...`).
pub const GOOGLE_API_KEY: &str = "google_api_key";
/// npm access tokens (`npm_...`).
pub const NPM_TOKEN: &str = "npm_token";
/// PyPI upload tokens (`pypi-AgEIcHlwaS5vcmc...`).
pub const PYPI_TOKEN: &str = "pypi_token";
/// Hugging Face access tokens (`hf_...`).
pub const HUGGINGFACE_TOKEN: &str = "huggingface_token";
/// SendGrid API keys (`SG.xxx.yyy`).
pub const SENDGRID_API_KEY: &str = "sendgrid_api_key";
/// Credentials in URLs: `scheme://user:pass@host` becomes
/// `scheme://REDACTED:REDACTED@host` (OpenTelemetry semantic conventions).
pub const URL_CREDENTIALS: &str = "url_credentials";
/// Semconv sensitive query parameters (`X-Amz-Signature`, `sig`, ...): the value
/// becomes `REDACTED`, the key is kept.
pub const URL_QUERY_SECRET: &str = "url_query_secret";
/// `Authorization: Basic <base64 user:pass>` values.
pub const BASIC_AUTH: &str = "basic_auth";
/// `Bearer <token>` values.
pub const BEARER_TOKEN: &str = "bearer_token";
/// Other `Authorization:`/`Proxy-Authorization:` header values.
pub const AUTHORIZATION: &str = "authorization";
/// `password=`, `secret=`, `token=`, `api_key:` ... pairs in query strings, form
/// bodies, connection strings, JSON and log lines.
pub const CREDENTIAL_PAIR: &str = "credential_pair";
/// The user name in personal paths (`/home/<user>/`, `/Users/<user>/`, `C:\Users\<user>\`).
pub const USERNAME: &str = "username";

/// Every built-in kind, in rule priority order ([`SENSITIVE_KEY`] first).
pub const ALL: &[&str] = &[
    SENSITIVE_KEY,
    PRIVATE_KEY,
    JWT,
    ANTHROPIC_API_KEY,
    OPENAI_API_KEY,
    GITHUB_TOKEN,
    GITLAB_TOKEN,
    SLACK_WEBHOOK,
    SLACK_TOKEN,
    STRIPE_KEY,
    AWS_ACCESS_KEY_ID,
    GOOGLE_API_KEY,
    NPM_TOKEN,
    PYPI_TOKEN,
    HUGGINGFACE_TOKEN,
    SENDGRID_API_KEY,
    URL_CREDENTIALS,
    URL_QUERY_SECRET,
    BASIC_AUTH,
    BEARER_TOKEN,
    AUTHORIZATION,
    CREDENTIAL_PAIR,
    USERNAME,
];
