//! Generates and checks the bundled observability stacks in `deploy/`.
//!
//! * [`dashboards`]: the Grafana dashboards, built from the instrument catalog of
//!   `ferrotel-catalog` ([`Catalog`]) through query builders ([`query::Metric`]) that only
//!   accept catalog instruments and their labels;
//! * [`alert_rules`]: the seed services' rule files of `deploy/rules`, generated from their
//!   instrument sets;
//! * [`k8s`]: the `PrometheusRule` manifest, generated from `deploy/rules`;
//! * [`harness`]: a real Prometheus scraping a service's `/metrics`, with every dashboard query
//!   evaluated through its HTTP API;
//! * [`promql`], [`rules`]: parsing helpers for the tests.
//!
//! The dashboards query the contextd catalog (`ferrotel_catalog::contextd::CATALOG`) and the
//! seed 003/004 instrument sets (`ferrotel_catalog::seeds`).
//!
//! `cargo run -p ferrotel-deploy-gen` rewrites the generated files; `-- --check` fails when a
//! committed file differs (the test `generated_files` does the same).
//!
//! Dependencies: `ferrotel-catalog` (the catalog), `ferrotel-meters` (descriptor types), `serde_json` (dashboard JSON, Prometheus API
//! responses), `serde`/`serde_yaml` (rule files, manifests), `promql-parser` (GreptimeDB's
//! PromQL parser: query validation without a Prometheus), `reqwest` (blocking HTTP client for
//! the Prometheus API), `tempfile` (the harness' Prometheus data directory), `thiserror`.

pub mod alert_rules;
pub mod catalog;
pub mod dashboards;
pub mod grafana;
pub mod harness;
pub mod k8s;
pub mod promql;
pub mod query;
pub mod rules;

use std::path::{Path, PathBuf};

pub use catalog::Catalog;

/// Why generation or a check failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A dashboard names an instrument that is not in the catalog.
    #[error("unknown instrument `{0}`: not in the ferrotel-catalog catalog or the seed sets")]
    UnknownInstrument(String),
    /// A query uses a label the instrument does not have.
    #[error("instrument `{instrument}` has no label `{label}`")]
    UnknownLabel {
        /// Instrument.
        instrument: String,
        /// Label.
        label: String,
    },
    /// A query function does not fit the instrument kind (rate of a gauge...).
    #[error("instrument `{instrument}` is not a {expected}")]
    WrongKind {
        /// Instrument.
        instrument: String,
        /// Expected kind.
        expected: String,
    },
    /// A query does not parse.
    #[error("PromQL `{expr}`: {reason}")]
    PromQl {
        /// Query.
        expr: String,
        /// Parser message.
        reason: String,
    },
    /// A YAML file does not parse.
    #[error("{}: {reason}", path.display())]
    Yaml {
        /// File.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
    /// File system error.
    #[error("{what}: {source}")]
    Io {
        /// Path or resource.
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// An external tool failed.
    #[error("{tool}: {reason}")]
    Tool {
        /// Tool.
        tool: String,
        /// What happened.
        reason: String,
    },
    /// HTTP error talking to Prometheus.
    #[error("HTTP: {0}")]
    Http(String),
}

impl Error {
    fn io(what: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.as_ref().display().to_string(),
            source,
        }
    }
}

/// The `deploy/` directory of this checkout.
pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("deploy"))
}

/// Every generated file: path relative to `deploy/` and its content.
pub fn generated_files() -> Result<Vec<(PathBuf, String)>, Error> {
    let catalog = Catalog::load();
    let mut files = Vec::new();
    for d in dashboards::all(&catalog)? {
        files.push((
            PathBuf::from("grafana/dashboards").join(format!("{}.json", d.uid)),
            d.render(),
        ));
    }
    let rules_dir = deploy_dir().join("rules");
    let generated_rules: Vec<(PathBuf, String)> = alert_rules::all(&catalog)?
        .iter()
        .map(|f| (deploy_dir().join(f.path()), f.render()))
        .collect();
    // The manifest holds every rule file, the generated ones as this run writes them.
    let mut rule_texts = Vec::new();
    for path in rules::rule_files(&rules_dir)? {
        if generated_rules.iter().all(|(p, _)| *p != path) {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            rule_texts.push((path, text));
        }
    }
    rule_texts.extend(generated_rules.iter().cloned());
    rule_texts.sort_by(|a, b| a.0.cmp(&b.0));
    files.push((
        PathBuf::from("k8s/prometheusrule.yaml"),
        k8s::prometheus_rule_of(&rules_dir, &rule_texts)?,
    ));
    for (path, text) in generated_rules {
        let rel = path
            .strip_prefix(deploy_dir())
            .map(Path::to_path_buf)
            .unwrap_or(path);
        files.push((rel, text));
    }
    Ok(files)
}
