//! Runs the dashboards against a real Prometheus: start `prometheus` (Debian's 2.42 works) on
//! a free loopback port, scrape the given `/metrics` targets with the stack's rules loaded,
//! and evaluate every dashboard query through the HTTP API.
//!
//! This is the issue's final proof once a service (the contextd demo) exposes `/metrics`:
//!
//! ```no_run
//! use ferrotel_deploy_gen::harness::{Prometheus, PrometheusOptions, ScrapeTarget, check_dashboards};
//! use ferrotel_deploy_gen::{Catalog, deploy_dir, dashboards, rules, query::Variables};
//! use std::time::Duration;
//!
//! # fn main() -> Result<(), ferrotel_deploy_gen::Error> {
//! let prom = Prometheus::start(&PrometheusOptions {
//!     targets: vec![ScrapeTarget::new("127.0.0.1:9464", "/metrics")],
//!     rules_dir: Some(deploy_dir().join("rules")),
//!     ..PrometheusOptions::default()
//! })?;
//! prom.wait_for_targets_up(Duration::from_secs(30))?;
//! std::thread::sleep(Duration::from_secs(5)); // a few scrapes, so rates have two samples
//! let dashboards = dashboards::all(&Catalog::load())?;
//! let recording = rules::recording_rules(&deploy_dir().join("rules"))?;
//! let checks = check_dashboards(&prom, &dashboards, &recording, &Variables::harness(),
//!                               Duration::from_secs(30))?;
//! let failures: Vec<_> = checks.iter().filter(|c| c.failed()).collect();
//! assert!(failures.is_empty(), "{failures:#?}");
//! # Ok(()) }
//! ```
//!
//! A query "concerns exercised instruments" when every selector in it (after resolving
//! recording rules to the selectors of their expressions) matches at least one series; such
//! a query must return data. Other queries are reported as [`Outcome::NotExercised`] with the
//! selectors that matched nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Error;
use crate::grafana::Dashboard;
use crate::query::{Variables, instantiate};

/// A `/metrics` endpoint to scrape.
#[derive(Debug, Clone)]
pub struct ScrapeTarget {
    /// `host:port` (loopback).
    pub address: String,
    /// Path, e.g. `/metrics`.
    pub metrics_path: String,
}

impl ScrapeTarget {
    /// A target.
    pub fn new(address: &str, metrics_path: &str) -> Self {
        ScrapeTarget {
            address: address.to_owned(),
            metrics_path: metrics_path.to_owned(),
        }
    }
}

/// How to run Prometheus.
#[derive(Debug, Clone)]
pub struct PrometheusOptions {
    /// The `prometheus` binary (found on `PATH` by default).
    pub binary: PathBuf,
    /// Targets scraped as job `target`.
    pub targets: Vec<ScrapeTarget>,
    /// Directory whose `*.rules.yml` are loaded.
    pub rules_dir: Option<PathBuf>,
    /// Scrape and rule evaluation interval.
    pub interval: Duration,
    /// How long to wait for `/-/ready`.
    pub startup_timeout: Duration,
    /// Further command-line flags (for example `--enable-feature=exemplar-storage`).
    pub extra_args: Vec<String>,
    /// More scrape jobs, as YAML list items (a job taken from a stack's own config, say).
    pub extra_scrape_configs: Vec<serde_yaml::Value>,
}

impl Default for PrometheusOptions {
    fn default() -> Self {
        PrometheusOptions {
            binary: PathBuf::from("prometheus"),
            targets: Vec::new(),
            rules_dir: None,
            interval: Duration::from_secs(1),
            startup_timeout: Duration::from_secs(30),
            extra_args: Vec::new(),
            extra_scrape_configs: Vec::new(),
        }
    }
}

/// A running Prometheus on `127.0.0.1`, killed on drop.
#[derive(Debug)]
pub struct Prometheus {
    child: Child,
    url: String,
    log: PathBuf,
    http: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

/// Job name of the scraped targets.
pub const TARGET_JOB: &str = "target";

impl Prometheus {
    /// Writes a config, starts Prometheus on a free loopback port and waits until it is ready.
    pub fn start(opts: &PrometheusOptions) -> Result<Self, Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("temporary directory", e))?;
        let interval = format!("{}s", opts.interval.as_secs().max(1));
        let mut config =
            format!("global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n");
        if let Some(rules) = &opts.rules_dir {
            config.push_str(&format!(
                "rule_files:\n  - {:?}\n",
                rules.join("*.rules.yml").to_string_lossy()
            ));
        }
        config.push_str("scrape_configs:\n");
        for (i, t) in opts.targets.iter().enumerate() {
            config.push_str(&format!(
                "  - job_name: {TARGET_JOB}{suffix}\n    metrics_path: {:?}\n    static_configs:\n      - targets: [{:?}]\n",
                t.metrics_path,
                t.address,
                suffix = if i == 0 { String::new() } else { format!("_{i}") },
            ));
        }
        for job in &opts.extra_scrape_configs {
            let yaml = serde_yaml::to_string(&vec![job]).map_err(|e| Error::Yaml {
                path: "extra scrape config".into(),
                reason: e.to_string(),
            })?;
            for line in yaml.lines() {
                config.push_str(&format!("  {line}\n"));
            }
        }
        let config_path = dir.path().join("prometheus.yml");
        fs::write(&config_path, config).map_err(|e| Error::io(&config_path, e))?;

        // The port is picked by binding :0 and released just before Prometheus binds it;
        // a lost race shows as an early exit, retried with a new port.
        let mut last_error = None;
        for attempt in 0..3 {
            let port = free_port()?;
            let log = dir.path().join(format!("prometheus-{attempt}.log"));
            let log_file = fs::File::create(&log).map_err(|e| Error::io(&log, e))?;
            let log_err = log_file.try_clone().map_err(|e| Error::io(&log, e))?;
            let child = Command::new(&opts.binary)
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join(format!("data-{attempt}")).display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn")
                .args(&opts.extra_args)
                .stdin(Stdio::null())
                .stdout(Stdio::from(log_file))
                .stderr(Stdio::from(log_err))
                .spawn()
                .map_err(|e| Error::Tool {
                    tool: opts.binary.display().to_string(),
                    reason: format!("cannot start (apt-get install prometheus): {e}"),
                })?;
            let http = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| Error::Http(e.to_string()))?;
            let url = format!("http://127.0.0.1:{port}");
            let mut child = child;
            match wait_ready(&mut child, &http, &url, &log, opts.startup_timeout) {
                Ok(()) => {
                    return Ok(Prometheus {
                        child,
                        url,
                        log,
                        http,
                        _dir: dir,
                    });
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Tool {
            tool: "prometheus".to_owned(),
            reason: "did not start".to_owned(),
        }))
    }

    /// Base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The last lines Prometheus logged.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// Instant query; returns the result vector (an empty vector is no data).
    pub fn query(&self, expr: &str) -> Result<Vec<Value>, Error> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/query", self.url),
            &[("query", expr)],
        )
        .map_err(|e| Error::Http(e.to_string()))?;
        let resp = self
            .http
            .get(url)
            .send()
            .map_err(|e| Error::Http(e.to_string()))?;
        let body: Value = resp.json().map_err(|e| Error::Http(e.to_string()))?;
        if body["status"] != "success" {
            return Err(Error::PromQl {
                expr: expr.to_owned(),
                reason: format!("{}: {}", body["errorType"], body["error"]),
            });
        }
        match &body["data"]["result"] {
            Value::Array(samples) => Ok(samples.clone()),
            // Scalar/string results are one value.
            other => Ok(vec![other.clone()]),
        }
    }

    /// Waits until every scraped target reports `up == 1`.
    pub fn wait_for_targets_up(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let down = self.query(&format!("up{{job=~\"{TARGET_JOB}.*\"}} == 0"))?;
            let up = self.query(&format!("up{{job=~\"{TARGET_JOB}.*\"}} == 1"))?;
            if down.is_empty() && !up.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Tool {
                    tool: "prometheus".to_owned(),
                    reason: format!("targets not up after {timeout:?} (down: {down:?})"),
                });
            }
            sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_tail(log: &std::path::Path) -> String {
    let log = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn wait_ready(
    child: &mut Child,
    http: &reqwest::blocking::Client,
    url: &str,
    log: &std::path::Path,
    timeout: Duration,
) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::Tool {
                tool: "prometheus".to_owned(),
                reason: format!("exited with {status}:\n{}", log_tail(log)),
            });
        }
        if let Ok(r) = http.get(format!("{url}/-/ready")).send()
            && r.status().is_success()
        {
            return Ok(());
        }
        sleep(Duration::from_millis(200));
    }
    Err(Error::Tool {
        tool: "prometheus".to_owned(),
        reason: format!("not ready after {timeout:?}:\n{}", log_tail(log)),
    })
}

fn free_port() -> Result<u16, Error> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io("127.0.0.1:0", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::io("127.0.0.1:0", e))
}

/// What one dashboard query returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Returned this many samples.
    Data(usize),
    /// Every selector matched series, yet the query returned nothing: a broken query.
    Empty,
    /// Some selectors matched nothing (the target does not exercise them).
    NotExercised(Vec<String>),
    /// Prometheus rejected the query.
    Rejected(String),
}

/// One evaluated dashboard query.
#[derive(Debug, Clone)]
pub struct QueryCheck {
    /// Dashboard UID.
    pub dashboard: String,
    /// Panel title.
    pub panel: String,
    /// The query as sent (variables replaced).
    pub expr: String,
    /// Result.
    pub outcome: Outcome,
}

impl QueryCheck {
    /// A query that concerns exercised instruments and returned no data, or was rejected.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Empty | Outcome::Rejected(_))
    }
}

/// Selector texts of a query, recording rules expanded to the selectors they read.
fn leaf_selectors(
    expr: &str,
    recording: &BTreeMap<String, String>,
    depth: usize,
) -> Result<BTreeSet<String>, Error> {
    let ast = promql_parser::parser::parse(expr).map_err(|reason| Error::PromQl {
        expr: expr.to_owned(),
        reason,
    })?;
    let mut selectors = Vec::new();
    collect_selectors(&ast, &mut selectors);
    let mut out = BTreeSet::new();
    for (name, text) in selectors {
        match recording.get(&name) {
            Some(rule_expr) if depth < 8 => {
                out.extend(leaf_selectors(rule_expr, recording, depth + 1)?);
            }
            _ => {
                out.insert(text);
            }
        }
    }
    Ok(out)
}

fn collect_selectors(e: &promql_parser::parser::Expr, out: &mut Vec<(String, String)>) {
    use promql_parser::parser::Expr;
    fn push(vs: &promql_parser::parser::VectorSelector, out: &mut Vec<(String, String)>) {
        out.push((vs.name.clone().unwrap_or_default(), vs.to_string()));
    }
    match e {
        Expr::Aggregate(a) => {
            collect_selectors(&a.expr, out);
            if let Some(p) = &a.param {
                collect_selectors(p, out);
            }
        }
        Expr::Unary(u) => collect_selectors(&u.expr, out),
        Expr::Binary(b) => {
            collect_selectors(&b.lhs, out);
            collect_selectors(&b.rhs, out);
        }
        Expr::Paren(p) => collect_selectors(&p.expr, out),
        Expr::Subquery(s) => collect_selectors(&s.expr, out),
        Expr::VectorSelector(vs) => push(vs, out),
        Expr::MatrixSelector(ms) => push(&ms.vs, out),
        Expr::Call(c) => {
            for a in &c.args.args {
                collect_selectors(a, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Evaluates every query of `dashboards` against `prom`. Queries whose selectors all match
/// series are retried until they return data or `timeout` passes (rates need two samples,
/// recording rules one evaluation).
pub fn check_dashboards(
    prom: &Prometheus,
    dashboards: &[Dashboard],
    recording: &BTreeMap<String, String>,
    vars: &Variables,
    timeout: Duration,
) -> Result<Vec<QueryCheck>, Error> {
    let deadline = Instant::now() + timeout;
    let mut checks = Vec::new();
    for d in dashboards {
        for p in d.panels() {
            for t in &p.targets {
                let expr = instantiate(&t.expr, vars);
                let mut unmatched = Vec::new();
                for sel in leaf_selectors(&expr, recording, 0)? {
                    if prom.query(&format!("count({sel})"))?.is_empty() {
                        unmatched.push(sel);
                    }
                }
                let outcome = if !unmatched.is_empty() {
                    Outcome::NotExercised(unmatched)
                } else {
                    loop {
                        match prom.query(&expr) {
                            Err(e) => break Outcome::Rejected(e.to_string()),
                            Ok(r) if !r.is_empty() => break Outcome::Data(r.len()),
                            Ok(_) if Instant::now() >= deadline => break Outcome::Empty,
                            Ok(_) => sleep(Duration::from_millis(500)),
                        }
                    }
                };
                checks.push(QueryCheck {
                    dashboard: d.uid.clone(),
                    panel: p.title.clone(),
                    expr,
                    outcome,
                });
            }
        }
    }
    Ok(checks)
}
