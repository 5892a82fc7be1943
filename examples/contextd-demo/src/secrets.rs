//! Fake secrets the demo deliberately puts into span attributes and log records, so that the
//! redaction pipeline can be proven end to end (none of them may reach a collector).
//!
//! They are generated at start-up with a random part, never committed: a fake OpenAI-style API
//! key, a bearer token, a database password inside a connection URL, and a user name inside a
//! home-directory path (the seeds' own `project_path` example is `/home/<user>/projects/...`).

use rand::Rng as _;
use rand::distr::Alphanumeric;
use serde::Serialize;

/// The planted values. Only the end-of-run summary file lists them (so a test can search the
/// collector's data for them); they never appear unredacted in exported telemetry.
#[derive(Debug, Clone, Serialize)]
pub struct Secrets {
    /// An OpenAI-style project key (`sk-proj-...`).
    pub api_key: String,
    /// A bearer token, sent as `Authorization: Bearer <token>`.
    pub bearer_token: String,
    /// The vector database password, embedded in [`Secrets::database_url`].
    pub database_password: String,
    /// The user name inside [`Secrets::project_path`].
    pub home_user: String,
}

fn random(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

impl Secrets {
    /// Fresh random values.
    pub fn generate() -> Self {
        let user: String = random(6).to_ascii_lowercase();
        Secrets {
            api_key: format!("sk-proj-{}", random(40)),
            bearer_token: random(48),
            database_password: random(20),
            home_user: format!("dev{user}"),
        }
    }

    /// The project directory, under the user's home directory.
    pub fn project_path(&self) -> String {
        format!("/home/{}/projects/contextd", self.home_user)
    }

    /// The vector database URL, password included.
    pub fn database_url(&self) -> String {
        format!(
            "http://contextd:{}@127.0.0.1:6333/collections",
            self.database_password
        )
    }

    /// Whether any planted value (key, token, password, home user) appears in `text`.
    pub fn appears_in(&self, text: &str) -> bool {
        [
            &self.api_key,
            &self.bearer_token,
            &self.database_password,
            &self.home_user,
        ]
        .iter()
        .any(|secret| text.contains(secret.as_str()))
    }

    /// The `Authorization` header value sent to the embedding provider.
    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.bearer_token)
    }
}
