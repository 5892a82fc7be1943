//! The seed services' Prometheus rule files, generated from their instrument sets.
//!
//! Every series an application exposes is named through the catalog ([`Metric::series`]), so a
//! rule cannot read a metric or a label its instrument set does not declare, and renaming an
//! instrument regenerates the rules. Series from elsewhere (`up`, node_exporter's) are written
//! as text. The promtool unit tests of `deploy/rules/tests` exercise the output.
//!
//! | file | service |
//! |---|---|
//! | `automation.rules.yml` | seed 003 (OpsConductor automation service, `ai_*`/`selector_*`) |
//! | `agenttrace.rules.yml` | seed 004 (AgentTrace API and workers) |

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::Error;
use crate::catalog::Catalog;
use crate::query::Metric;

/// Where runbook sections live: `docs/deploy.md#<alert in lowercase>`.
const RUNBOOK_BASE: &str = "https://example.invalid/ferrotel/blob/main/docs/deploy.md";

/// One generated rule file.
#[derive(Debug, Clone)]
pub struct GeneratedRuleFile {
    /// File name inside `deploy/rules`.
    pub file_name: &'static str,
    /// Comment lines written above `groups:` (without the `# `).
    pub header: &'static str,
    /// Rule groups, in file order.
    pub groups: Vec<Group>,
}

/// A rule group.
#[derive(Debug, Clone)]
pub struct Group {
    /// Group name.
    pub name: &'static str,
    /// Evaluation interval when it differs from the server's global one.
    pub interval: Option<&'static str>,
    /// Rules, in evaluation order.
    pub rules: Vec<RuleSpec>,
}

/// A recording or an alerting rule.
#[derive(Debug, Clone)]
pub enum RuleSpec {
    /// `record: name` / `expr`.
    Record {
        /// Recorded series.
        record: String,
        /// PromQL.
        expr: String,
        /// Comment written above the rule.
        comment: Option<&'static str>,
    },
    /// An alert.
    Alert(Alert),
}

/// An alerting rule.
#[derive(Debug, Clone)]
pub struct Alert {
    /// Alert name (also its runbook anchor, lowercased).
    pub name: &'static str,
    /// PromQL.
    pub expr: String,
    /// Pending duration.
    pub for_: &'static str,
    /// `critical`, `warning` or `info` (the Alertmanager routes).
    pub severity: &'static str,
    /// Labels besides `severity`.
    pub labels: Vec<(&'static str, &'static str)>,
    /// `summary` annotation.
    pub summary: &'static str,
    /// `description` annotation.
    pub description: &'static str,
    /// Comment written above the rule.
    pub comment: Option<&'static str>,
}

impl GeneratedRuleFile {
    /// Path relative to `deploy/`.
    pub fn path(&self) -> PathBuf {
        PathBuf::from("rules").join(self.file_name)
    }

    /// The YAML text, with expressions as block scalars and annotations double-quoted.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in self.header.lines() {
            if line.is_empty() {
                out.push_str("#\n");
            } else {
                let _ = writeln!(out, "# {line}");
            }
        }
        out.push_str("groups:\n");
        for (i, group) in self.groups.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "  - name: {}", group.name);
            if let Some(interval) = group.interval {
                let _ = writeln!(out, "    interval: {interval}");
            }
            out.push_str("    rules:\n");
            for (j, rule) in group.rules.iter().enumerate() {
                match rule {
                    RuleSpec::Record {
                        record,
                        expr,
                        comment,
                    } => {
                        comment_lines(&mut out, *comment);
                        let _ = writeln!(out, "      - record: {record}");
                        expr_lines(&mut out, expr);
                    }
                    RuleSpec::Alert(a) => {
                        if j > 0 {
                            out.push('\n');
                        }
                        comment_lines(&mut out, a.comment);
                        let _ = writeln!(out, "      - alert: {}", a.name);
                        expr_lines(&mut out, &a.expr);
                        let _ = writeln!(out, "        for: {}", a.for_);
                        out.push_str("        labels:\n");
                        let _ = writeln!(out, "          severity: {}", a.severity);
                        for (k, v) in &a.labels {
                            let _ = writeln!(out, "          {k}: {v}");
                        }
                        out.push_str("        annotations:\n");
                        let _ = writeln!(out, "          summary: {}", quoted(a.summary));
                        let _ = writeln!(out, "          description: {}", quoted(a.description));
                        let runbook = format!("{RUNBOOK_BASE}#{}", a.name.to_lowercase());
                        let _ = writeln!(out, "          runbook_url: {}", quoted(&runbook));
                    }
                }
            }
        }
        out
    }
}

fn comment_lines(out: &mut String, comment: Option<&str>) {
    for line in comment.into_iter().flat_map(str::lines) {
        let _ = writeln!(out, "      # {line}");
    }
}

fn expr_lines(out: &mut String, expr: &str) {
    if expr.contains('\n') {
        out.push_str("        expr: |\n");
        for line in expr.lines() {
            let _ = writeln!(out, "          {line}");
        }
    } else {
        let _ = writeln!(out, "        expr: {expr}");
    }
}

/// A YAML double-quoted scalar: JSON's string syntax is a subset of it.
fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// Every generated rule file.
pub fn all(catalog: &Catalog) -> Result<Vec<GeneratedRuleFile>, Error> {
    Ok(vec![automation(catalog)?, agenttrace(catalog)?])
}

fn metric<'a>(catalog: &'a Catalog, name: &str) -> Result<Metric<'a>, Error> {
    catalog.get(name).map(Metric::new)
}

/// `sum by (<by>) (rate(<selector>[<window>]))`.
fn rate(selector: &str, by: &str, window: &str) -> String {
    format!("sum by ({by}) (rate({selector}[{window}]))")
}

/// The error share of a counter over `window`, 0 (not absent) while nothing failed.
fn error_ratio(errors: &str, total: &str, by: &str, window: &str) -> String {
    format!(
        "(sum by ({by}) (rate({errors}[{window}]))\n  or sum by ({by}) (rate({total}[{window}])) * 0)\n/ sum by ({by}) (rate({total}[{window}]))"
    )
}

fn quantile(q: f64, bucket: &str, by: &str, window: &str) -> String {
    format!("histogram_quantile({q}, sum by ({by}, le) (rate({bucket}[{window}])))")
}

const AUTOMATION_HEADER: &str = "\
GENERATED by `cargo run -p ferrotel-deploy-gen` from ferrotel_catalog::seeds::AutomationMeters: do not edit.

OpsConductor automation service alerts (seed 003) on the series it exposes on /metrics:
ai_requests_total{status,tool}, ai_request_errors_total{tool},
ai_request_duration_seconds{tool}, selector_requests_total{status,source}.
Evaluated every 30s, as the seed says (group `interval`).

The success SLO is the seed's: 99% over 30 days (budget 1%). Its boxes say \"success < 99%\"
for both windows but also \"burn rate 14.4x, 2% of the budget in 1 hour\" (fast) and \"6x,
5% in 6 hours\" (slow); the rules implement the burn rates, i.e. an error ratio above
14.4 x 1% over 1h and 5m (critical) and above 6 x 1% over 6h and 30m (warning), with a
minimum-traffic guard so that one failed call in a quiet hour does not page.
Usable by Prometheus and vmalert. Unit tests: tests/automation.test.yml.";

fn automation(catalog: &Catalog) -> Result<GeneratedRuleFile, Error> {
    let requests = metric(catalog, "ai_requests_total")?;
    let errors = metric(catalog, "ai_request_errors_total")?;
    let duration = metric(catalog, "ai_request_duration_seconds")?;
    let selector = metric(catalog, "selector_requests_total")?;
    let job = requests.by_labels(&["job"])?;
    let all_requests = requests.series("", &[])?;
    let failed = errors.series("", &[])?;
    let error_share = |window: &str| error_ratio(&failed, &all_requests, &job, window);
    let burn = |long: &str, short: &str, factor: &str, min_requests: u32, seconds: u32| {
        format!(
            "{long_ratio} > ({factor} * 0.01)\nand on (job) {short_ratio} > ({factor} * 0.01)\nand on (job) {volume} * {seconds} >= {min_requests}",
            long_ratio = paren(&error_share(long)),
            short_ratio = paren(&error_share(short)),
            volume = rate(&all_requests, &job, long),
        )
    };
    let selector_errors = selector.series("", &[("status", "=", "error")])?;
    let selector_all = selector.series("", &[])?;
    Ok(GeneratedRuleFile {
        file_name: "automation.rules.yml",
        header: AUTOMATION_HEADER,
        groups: vec![
            Group {
                name: "automation-execution",
                interval: Some("30s"),
                rules: vec![
                    RuleSpec::Alert(Alert {
                        name: "AIExecutionErrorRateHigh",
                        expr: format!("{} > 0.05", paren(&error_share("5m"))),
                        for_: "2m",
                        severity: "warning",
                        labels: vec![],
                        summary: "AI executions failing on {{ $labels.job }}",
                        description: "{{ $value | humanizePercentage }} of AI tool executions failed over 5m (threshold 5% for 2m).",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "AIExecutionLatencyP95High",
                        expr: format!(
                            "{} > 1",
                            quantile(0.95, &duration.series("_bucket", &[])?, &job, "5m")
                        ),
                        for_: "2m",
                        severity: "warning",
                        labels: vec![],
                        summary: "Slow AI executions on {{ $labels.job }}",
                        description: "P95 AI tool execution time is {{ $value | humanizeDuration }} over 5m (threshold 1s for 2m).",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "SelectorErrorBurst",
                        expr: format!(
                            "{ratio} > 0.1\nand on (job) sum by ({job}) (increase({selector_errors}[5m])) >= 10",
                            ratio = paren(&error_ratio(
                                &selector_errors,
                                &selector_all,
                                &selector.by_labels(&["job"])?,
                                "5m"
                            )),
                        ),
                        for_: "1m",
                        severity: "warning",
                        labels: vec![],
                        summary: "Burst of selector errors on {{ $labels.job }}",
                        description: "{{ $value | humanizePercentage }} of selector requests failed over 5m (threshold 10% and at least 10 errors, for 1m).",
                        comment: Some(
                            "A burst: a tenth of the selector's answers failing, and enough of them (10 in 5m)\nthat one failed request of a quiet minute is not one.",
                        ),
                    }),
                ],
            },
            Group {
                name: "automation-slo",
                interval: Some("30s"),
                rules: vec![
                    RuleSpec::Alert(Alert {
                        name: "SLOBurnRateFast",
                        expr: burn("1h", "5m", "14.4", 100, 3600),
                        for_: "2m",
                        severity: "critical",
                        labels: vec![("slo", "automation-success-99")],
                        summary: "{{ $labels.job }} burns its 99% success budget 14.4x too fast",
                        description: "{{ $labels.job }}: {{ $value | humanizePercentage }} of AI executions failed over the last hour (and the last 5m); 2% of the 30-day budget is gone in an hour.",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "SLOBurnRateSlow",
                        expr: burn("6h", "30m", "6", 600, 21600),
                        for_: "15m",
                        severity: "warning",
                        labels: vec![("slo", "automation-success-99")],
                        summary: "{{ $labels.job }} burns its 99% success budget 6x too fast",
                        description: "{{ $labels.job }}: {{ $value | humanizePercentage }} of AI executions failed over the last 6 hours (and the last 30m); 5% of the 30-day budget is gone in 6 hours.",
                        comment: None,
                    }),
                ],
            },
        ],
    })
}

fn paren(expr: &str) -> String {
    format!("({expr})")
}

const AGENTTRACE_HEADER: &str = "\
GENERATED by `cargo run -p ferrotel-deploy-gen` from ferrotel_catalog::seeds::AgentTraceMeters: do not edit.

AgentTrace alerts (seed 004) on the series its API and workers expose
(http_requests_total{method,path,status}, http_request_duration_seconds,
traces_ingested_total, worker_queue_depth{queue}, db_connections_*{db},
db_query_duration_seconds{db}) and node_exporter's filesystem, CPU and memory series. The
API is scraped as job `agenttrace-api` (the seed's scrape config).

The seed's ClickHouseSlowQueries reads `clickhouse_query_duration_seconds_bucket`; the
instrument set has no such histogram and records ClickHouse query time as
`db_query_duration_seconds{db=\"clickhouse\"}`, so the rule reads that.

Groups:
  agenttrace-critical / agenttrace-warning: the seed's alert rules.
  agenttrace-slo-*: its recommended SLOs (99.9% availability, P50 < 50ms, P99 < 500ms,
    error rate < 0.1%, ingestion > 1000 traces/s) as recording rules and alerts. The
    availability SLO (non-5xx share over 30 days, budget 0.1%) uses the multi-window,
    multi-burn-rate pairs of the Google SRE workbook: 14.4x over 1h and 5m (page), 6x over
    6h and 30m (ticket), with a minimum-traffic guard.
  agenttrace-capacity: its capacity-planning thresholds, as warnings to scale before an
    outage.
Usable by Prometheus and vmalert. Unit tests: tests/agenttrace.test.yml.";

/// The job the seed's scrape config gives the API.
const AGENTTRACE_JOB: &str = "agenttrace-api";

/// node_exporter's free share of the ClickHouse volume (not an instrument of ours).
const CLICKHOUSE_DISK_FREE: &str = "node_filesystem_avail_bytes{mountpoint=\"/var/lib/clickhouse\"}\n  / node_filesystem_size_bytes{mountpoint=\"/var/lib/clickhouse\"}";

fn agenttrace(catalog: &Catalog) -> Result<GeneratedRuleFile, Error> {
    let requests = metric(catalog, "http_requests_total")?;
    let duration = metric(catalog, "http_request_duration_seconds")?;
    let traces = metric(catalog, "traces_ingested_total")?;
    let queue = metric(catalog, "worker_queue_depth")?;
    let active = metric(catalog, "db_connections_active")?;
    let max = metric(catalog, "db_connections_max")?;
    let query = metric(catalog, "db_query_duration_seconds")?;

    let api = [("job", "=", AGENTTRACE_JOB)];
    let api_5xx = [("job", "=", AGENTTRACE_JOB), ("status", "=~", "5..")];
    let job = requests.by_labels(&["job"])?;
    let all_requests = requests.series("", &api)?;
    let failed = requests.series("", &api_5xx)?;
    let buckets = duration.series("_bucket", &api)?;
    let pool = active.by_labels(&["job", "instance", "db"])?;
    let queue_by = queue.by_labels(&["job", "queue"])?;

    let mut recording = Vec::new();
    for window in ["5m", "30m", "1h", "6h"] {
        recording.push(RuleSpec::Record {
            record: format!("job:agenttrace_http_requests:rate{window}"),
            expr: rate(&all_requests, &job, window),
            comment: None,
        });
    }
    for (i, window) in ["5m", "30m", "1h", "6h"].into_iter().enumerate() {
        recording.push(RuleSpec::Record {
            record: format!("job:agenttrace_http_requests_errors:ratio_rate{window}"),
            expr: format!(
                "({}\n  or {} * 0)\n/ job:agenttrace_http_requests:rate{window}",
                rate(&failed, &job, window),
                rate(&all_requests, &job, window)
            ),
            comment: (i == 0).then_some(
                "`or ... * 0` makes the ratio 0 (not absent) while the API serves no 5xx at all.",
            ),
        });
    }
    for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
        recording.push(RuleSpec::Record {
            record: format!("job:agenttrace_http_request_duration_seconds:{name}_5m"),
            expr: quantile(q, &buckets, &job, "5m"),
            comment: None,
        });
    }
    recording.push(RuleSpec::Record {
        record: "job:agenttrace_traces_ingested:rate5m".to_owned(),
        expr: rate(
            &traces.series("", &api)?,
            &traces.by_labels(&["job"])?,
            "5m",
        ),
        comment: None,
    });

    let pool_ratio = |db: Option<&str>| -> Result<String, Error> {
        let m: Vec<_> = db.map(|d| ("db", "=", d)).into_iter().collect();
        let by = match db {
            Some(_) => active.by_labels(&["job", "instance"])?,
            None => pool.clone(),
        };
        Ok(format!(
            "sum by ({by}) ({})\n  / sum by ({by}) ({})",
            active.series("", &m)?,
            max.series("", &m)?
        ))
    };

    Ok(GeneratedRuleFile {
        file_name: "agenttrace.rules.yml",
        header: AGENTTRACE_HEADER,
        groups: vec![
            Group {
                name: "agenttrace-critical",
                interval: None,
                rules: vec![
                    RuleSpec::Alert(Alert {
                        name: "AgentTraceDown",
                        expr: format!("up{{job=\"{AGENTTRACE_JOB}\"}} == 0"),
                        for_: "1m",
                        severity: "critical",
                        labels: vec![],
                        summary: "AgentTrace API is down",
                        description: "Prometheus could not scrape the AgentTrace API at {{ $labels.instance }} for more than 1 minute.",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "HighErrorRate",
                        expr: format!(
                            "{}\n  / {} > 0.05",
                            rate(&failed, &job, "5m"),
                            rate(&all_requests, &job, "5m")
                        ),
                        for_: "5m",
                        severity: "critical",
                        labels: vec![],
                        summary: "High error rate detected on {{ $labels.job }}",
                        description: "{{ $value | humanizePercentage }} of AgentTrace API requests answered 5xx over 5m (threshold 5% for 5m).",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "DatabaseConnectionExhausted",
                        expr: format!("{} > 0.9", pool_ratio(None)?),
                        for_: "5m",
                        severity: "critical",
                        labels: vec![],
                        summary: "{{ $labels.job }} {{ $labels.db }} connections nearly exhausted",
                        description: "{{ $labels.instance }}: {{ $value | humanizePercentage }} of the {{ $labels.db }} pool connections are in use (threshold 90% for 5m).",
                        comment: None,
                    }),
                ],
            },
            Group {
                name: "agenttrace-warning",
                interval: None,
                rules: vec![
                    RuleSpec::Alert(Alert {
                        name: "HighLatency",
                        expr: format!("{} > 1", quantile(0.99, &buckets, &job, "5m")),
                        for_: "10m",
                        severity: "warning",
                        labels: vec![],
                        summary: "High API latency on {{ $labels.job }}",
                        description: "P99 AgentTrace API latency is {{ $value | humanizeDuration }} (threshold 1s for 10m).",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "WorkerQueueBacklog",
                        expr: format!("max by ({queue_by}) ({}) > 10000", queue.series("", &[])?),
                        for_: "15m",
                        severity: "warning",
                        labels: vec![],
                        summary: "{{ $labels.job }} queue {{ $labels.queue }} backlog",
                        description: "Queue {{ $labels.queue }} holds {{ $value | humanize }} jobs (threshold 10000 for 15m).",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "ClickHouseSlowQueries",
                        expr: format!(
                            "{} > 10",
                            quantile(
                                0.99,
                                &query.series("_bucket", &[("db", "=", "clickhouse")])?,
                                &query.by_labels(&["job"])?,
                                "5m"
                            )
                        ),
                        for_: "10m",
                        severity: "warning",
                        labels: vec![],
                        summary: "Slow ClickHouse queries from {{ $labels.job }}",
                        description: "{{ $labels.job }}: P99 ClickHouse query time is {{ $value | humanizeDuration }} (threshold 10s for 10m).",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "LowDiskSpace",
                        expr: format!("{CLICKHOUSE_DISK_FREE} < 0.15"),
                        for_: "30m",
                        severity: "warning",
                        labels: vec![],
                        summary: "Low disk space on ClickHouse volume ({{ $labels.instance }})",
                        description: "Only {{ $value | humanizePercentage }} of /var/lib/clickhouse is free (threshold 15% for 30m).",
                        comment: None,
                    }),
                ],
            },
            Group {
                name: "agenttrace-slo-recording",
                interval: None,
                rules: recording,
            },
            Group {
                name: "agenttrace-slo-alerts",
                interval: None,
                rules: vec![
                    RuleSpec::Alert(Alert {
                        name: "AgentTraceAvailabilityBurnFast",
                        expr: "job:agenttrace_http_requests_errors:ratio_rate1h > (14.4 * 0.001)\nand on (job) job:agenttrace_http_requests_errors:ratio_rate5m > (14.4 * 0.001)\nand on (job) job:agenttrace_http_requests:rate1h * 3600 >= 100".to_owned(),
                        for_: "2m",
                        severity: "critical",
                        labels: vec![("slo", "agenttrace-availability-99.9")],
                        summary: "{{ $labels.job }} burns its 99.9% availability budget 14.4x too fast",
                        description: "{{ $labels.job }}: {{ $value | humanizePercentage }} of requests failed over the last hour (and the last 5m); 2% of the 30-day budget is gone in an hour.",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "AgentTraceAvailabilityBurnSlow",
                        expr: "job:agenttrace_http_requests_errors:ratio_rate6h > (6 * 0.001)\nand on (job) job:agenttrace_http_requests_errors:ratio_rate30m > (6 * 0.001)\nand on (job) job:agenttrace_http_requests:rate6h * 21600 >= 600".to_owned(),
                        for_: "15m",
                        severity: "warning",
                        labels: vec![("slo", "agenttrace-availability-99.9")],
                        summary: "{{ $labels.job }} burns its 99.9% availability budget 6x too fast",
                        description: "{{ $labels.job }}: {{ $value | humanizePercentage }} of requests failed over the last 6 hours (and the last 30m); 5% of the 30-day budget is gone in 6 hours.",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "AgentTraceErrorRateSLO",
                        expr: "job:agenttrace_http_requests_errors:ratio_rate1h > 0.001\nand on (job) job:agenttrace_http_requests:rate1h * 3600 >= 1000".to_owned(),
                        for_: "15m",
                        severity: "warning",
                        labels: vec![("slo", "agenttrace-error-rate-0.1")],
                        summary: "{{ $labels.job }} error rate above its 0.1% SLO",
                        description: "{{ $labels.job }}: {{ $value | humanizePercentage }} of requests failed over the last hour (SLO < 0.1%).",
                        comment: Some(
                            "At least 1000 requests in the hour, so that a single failure is not already 0.1%.",
                        ),
                    }),
                    RuleSpec::Alert(Alert {
                        name: "AgentTraceLatencyP50SLO",
                        expr: "job:agenttrace_http_request_duration_seconds:p50_5m > 0.05".to_owned(),
                        for_: "10m",
                        severity: "warning",
                        labels: vec![("slo", "agenttrace-latency-p50-50ms")],
                        summary: "{{ $labels.job }} P50 latency above its 50ms SLO",
                        description: "{{ $labels.job }}: P50 request latency is {{ $value | humanizeDuration }} (SLO < 50ms, for 10m).",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "AgentTraceLatencyP99SLO",
                        expr: "job:agenttrace_http_request_duration_seconds:p99_5m > 0.5".to_owned(),
                        for_: "10m",
                        severity: "warning",
                        labels: vec![("slo", "agenttrace-latency-p99-500ms")],
                        summary: "{{ $labels.job }} P99 latency above its 500ms SLO",
                        description: "{{ $labels.job }}: P99 request latency is {{ $value | humanizeDuration }} (SLO < 500ms, for 10m).",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "AgentTraceIngestionSLO",
                        expr: "job:agenttrace_traces_ingested:rate5m < 1000".to_owned(),
                        for_: "15m",
                        severity: "info",
                        labels: vec![("slo", "agenttrace-ingestion-1000")],
                        summary: "{{ $labels.job }} ingests fewer than 1000 traces/s",
                        description: "{{ $labels.job }}: {{ $value | humanize }} traces/s over 5m (baseline > 1000/s, for 15m).",
                        comment: Some(
                            "A throughput baseline, not an error: it says the deployment is below the rate it was\nsized for (or traffic dropped), hence `info`.",
                        ),
                    }),
                ],
            },
            Group {
                name: "agenttrace-capacity",
                interval: None,
                rules: vec![
                    RuleSpec::Alert(Alert {
                        name: "CapacityCPUHigh",
                        expr: "1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])) > 0.7".to_owned(),
                        for_: "30m",
                        severity: "warning",
                        labels: vec![],
                        summary: "CPU above 70% on {{ $labels.instance }}: add API replicas",
                        description: "{{ $labels.instance }}: CPU is {{ $value | humanizePercentage }} busy (threshold 70% for 30m).",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "CapacityMemoryHigh",
                        expr: "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes > 0.8".to_owned(),
                        for_: "15m",
                        severity: "warning",
                        labels: vec![],
                        summary: "Memory above 80% on {{ $labels.instance }}: raise limits or add replicas",
                        description: "{{ $labels.instance }}: {{ $value | humanizePercentage }} of memory is in use (threshold 80% for 15m).",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "CapacityWorkerQueueDeep",
                        expr: format!("max by ({queue_by}) ({}) > 5000", queue.series("", &[])?),
                        for_: "15m",
                        severity: "warning",
                        labels: vec![],
                        summary: "{{ $labels.job }} queue {{ $labels.queue }} above 5000: add worker replicas",
                        description: "Queue {{ $labels.queue }} holds {{ $value | humanize }} jobs (threshold 5000 for 15m).",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "CapacityClickHouseDiskHigh",
                        expr: format!("1 - {CLICKHOUSE_DISK_FREE} > 0.8"),
                        for_: "30m",
                        severity: "warning",
                        labels: vec![],
                        summary: "ClickHouse volume above 80% on {{ $labels.instance }}: expand it or enable retention",
                        description: "{{ $value | humanizePercentage }} of /var/lib/clickhouse is used (threshold 80% for 30m).",
                        comment: None,
                    }),
                    RuleSpec::Alert(Alert {
                        name: "CapacityPostgresConnectionsHigh",
                        expr: format!("{} > 0.8", pool_ratio(Some("postgres"))?),
                        for_: "15m",
                        severity: "warning",
                        labels: vec![],
                        summary: "{{ $labels.job }} PostgreSQL pool above 80%: increase the pool size",
                        description: "{{ $labels.instance }}: {{ $value | humanizePercentage }} of the PostgreSQL pool is in use (threshold 80% for 15m).",
                        comment: None,
                    }),
                ],
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_cannot_name_a_label_its_instrument_lacks() {
        let catalog = Catalog::load();
        let requests = metric(&catalog, "ai_requests_total").expect("instrument");
        assert!(requests.series("", &[("user_id", "=", "x")]).is_err());
        assert!(requests.series("_bucket", &[]).is_err());
        assert!(requests.by_labels(&["trace_id"]).is_err());
        assert_eq!(
            requests
                .series("", &[("status", "=", "error")])
                .expect("ok"),
            "ai_requests_total{status=\"error\"}"
        );
    }

    #[test]
    fn rendered_files_parse_as_rule_files() {
        for file in all(&Catalog::load()).expect("rules") {
            let text = file.render();
            let parsed: crate::rules::RuleFile =
                serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.file_name));
            assert_eq!(parsed.groups.len(), file.groups.len());
            for rule in parsed.groups.iter().flat_map(|g| &g.rules) {
                crate::promql::selected_series(&rule.expr)
                    .unwrap_or_else(|e| panic!("{}: {e}", rule.expr));
            }
        }
    }
}
