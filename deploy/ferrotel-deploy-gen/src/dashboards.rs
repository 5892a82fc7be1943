//! The dashboards of the bundled stacks, built from the instrument catalog.
//!
//! | file | content |
//! |---|---|
//! | `contextd-overview.json` | contextd home: MCP tools, checkpoints, remediations, embeddings, database, HTTP and runtime summary |
//! | `contextd-testing.json` | coverage, tests, bugs, regression tests |
//! | `contextd-agents-skills.json` | skills and the MCP tools agents call |
//! | `http-red.json` | rate, errors, duration of the semconv HTTP server metrics |
//! | `runtime.json` | allocator heap, tokio tasks and stalls |
//! | `slo.json` | 99% availability SLO: error budget, burn rates, firing alerts |
//! | `automation-execution.json` | seed 003 execution dashboard |
//! | `automation-selector.json` | seed 003 selector dashboard |
//! | `agenttrace-overview.json` | seed 004 overview |
//! | `agenttrace-api.json` | seed 004 API performance: throughput, errors, latency by route, payload sizes |
//! | `agenttrace-workers.json` | seed 004 worker performance: queues, jobs by type and status, job duration |
//! | `agenttrace-database.json` | seed 004 database health: pools by database, query latency |
//! | `agenttrace-clickhouse.json` | seed 004 ClickHouse: inserts by table, query times, pool, the server's merges |

use crate::Error;
use crate::catalog::Catalog;
use crate::grafana::{Dashboard, Panel, PanelKind, Row};
use crate::query::Metric;

use PanelKind::{BarGauge, Gauge, Heatmap, Stat, Table, TimeSeries};

/// Every dashboard, in file order.
pub fn all(catalog: &Catalog) -> Result<Vec<Dashboard>, Error> {
    Ok(vec![
        contextd_overview(catalog)?,
        contextd_testing(catalog)?,
        contextd_agents_skills(catalog)?,
        http_red(catalog)?,
        runtime(catalog)?,
        slo(catalog)?,
        automation_execution(catalog)?,
        automation_selector(catalog)?,
        agenttrace_overview(catalog)?,
        agenttrace_api(catalog)?,
        agenttrace_workers(catalog)?,
        agenttrace_database(catalog)?,
        agenttrace_clickhouse(catalog)?,
    ])
}

fn dashboard(
    uid: &str,
    title: &str,
    description: &str,
    tags: &[&str],
    rows: Vec<Row>,
) -> Dashboard {
    let mut all_tags = vec!["telemetry".to_owned()];
    all_tags.extend(tags.iter().map(|t| (*t).to_owned()));
    Dashboard {
        uid: uid.to_owned(),
        title: title.to_owned(),
        description: description.to_owned(),
        tags: all_tags,
        rows,
    }
}

/// Looks instruments up by Prometheus name.
struct Lookup<'a>(&'a Catalog);

impl<'a> Lookup<'a> {
    fn m(&self, name: &str) -> Result<Metric<'a>, Error> {
        self.0.get(name).map(Metric::new)
    }
}

/// Request/error/latency summary of the semconv HTTP server metrics, reused by the overview.
fn http_summary(c: &Lookup<'_>) -> Result<Vec<Panel>, Error> {
    let requests = c.m("http_server_requests_total")?;
    let duration = c.m("http_server_request_duration_seconds")?;
    Ok(vec![
        Panel::new(
            Stat,
            "HTTP requests/s",
            "reqps",
            requests.rate(&[], &[])?,
            "requests/s",
        ),
        Panel::new(
            Stat,
            "HTTP 5xx ratio",
            "percentunit",
            requests.ratio(&[("http_response_status_code", "=~", "5..")], &[], &[])?,
            "5xx",
        )
        .threshold(0.01, "orange")
        .threshold(0.05, "red"),
        Panel::new(
            Stat,
            "HTTP P95 latency",
            "s",
            duration.quantile(0.95, &[], &[])?,
            "p95",
        )
        .threshold(0.5, "orange")
        .threshold(1.0, "red"),
    ])
}

fn contextd_overview(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let tool_calls = c.m("contextd_mcp_tool_calls_total")?;
    let tool_duration = c.m("contextd_mcp_tool_duration_seconds")?;
    let cp_ops = c.m("contextd_checkpoint_operations_total")?;
    let cp_duration = c.m("contextd_checkpoint_duration_seconds")?;
    let cp_total = c.m("contextd_checkpoints_total")?;
    let cp_score = c.m("contextd_checkpoint_search_score")?;
    let rem_total = c.m("contextd_remediations_total")?;
    let rem_ops = c.m("contextd_remediation_operations_total")?;
    let rem_score = c.m("contextd_remediation_match_score")?;
    let rem_duration = c.m("contextd_remediation_duration_seconds")?;
    let emb_duration = c.m("contextd_embedding_duration_seconds")?;
    let emb_ops = c.m("contextd_embedding_operations_total")?;
    let emb_tokens = c.m("contextd_embedding_tokens_total")?;
    let emb_cost = c.m("contextd_embedding_cost_total")?;
    let db_ops = c.m("contextd_database_operations_total")?;
    let db_duration = c.m("contextd_database_duration_seconds")?;
    let db_errors = c.m("contextd_database_errors_total")?;
    let heap_live = c.m("rust_memory_heap_live_bytes")?;
    let tasks = c.m("tokio_runtime_alive_tasks")?;

    let mut service = http_summary(&c)?;
    service.push(
        Panel::new(
            Stat,
            "Live heap",
            "bytes",
            heap_live.gauge("sum", &[], &[])?,
            "heap",
        )
        .describe("Bytes allocated through the allocator in use (not RSS)."),
    );
    service.push(
        Panel::new(
            TimeSeries,
            "Alive tokio tasks",
            "short",
            tasks.gauge("sum", &[], &["job"])?,
            "{{job}}",
        )
        .width(24),
    );

    Ok(dashboard(
        "contextd-overview",
        "contextd / Overview",
        "contextd service health: MCP tool calls, checkpoints, remediations, embeddings and the vector database.",
        &["contextd"],
        vec![
            Row::new(
                "MCP tools",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Tool calls/s by tool and status",
                        "ops",
                        tool_calls.rate(&[], &["tool_name", "status"])?,
                        "{{tool_name}} {{status}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Tool error ratio by tool",
                        "percentunit",
                        tool_calls.ratio(&[("status", "=", "error")], &[], &["tool_name"])?,
                        "{{tool_name}}",
                    )
                    .threshold(0.05, "red"),
                    Panel::new(
                        TimeSeries,
                        "Tool call P95 duration by tool",
                        "s",
                        tool_duration.quantile(0.95, &[], &["tool_name"])?,
                        "{{tool_name}}",
                    )
                    .width(24),
                ],
            ),
            Row::new(
                "Checkpoints and remediations",
                vec![
                    Panel::new(
                        Stat,
                        "Checkpoints stored",
                        "short",
                        cp_total.gauge("sum", &[], &[])?,
                        "checkpoints",
                    ),
                    Panel::new(
                        Stat,
                        "Remediations stored",
                        "short",
                        rem_total.gauge("sum", &[], &[])?,
                        "remediations",
                    ),
                    Panel::new(
                        Stat,
                        "Median checkpoint search score",
                        "percentunit",
                        cp_score.quantile(0.5, &[], &[])?,
                        "p50",
                    )
                    .range(0.0, 1.0),
                    Panel::new(
                        Stat,
                        "Median remediation match score",
                        "percentunit",
                        rem_score.quantile(0.5, &[], &[])?,
                        "p50",
                    )
                    .range(0.0, 1.0)
                    .describe("Hybrid score: 0.7 semantic + 0.3 string similarity."),
                    Panel::new(
                        TimeSeries,
                        "Checkpoint operations/s",
                        "ops",
                        cp_ops.rate(&[], &["operation"])?,
                        "{{operation}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Checkpoint P95 duration",
                        "s",
                        cp_duration.quantile(0.95, &[], &["operation"])?,
                        "{{operation}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Remediation operations/s",
                        "ops",
                        rem_ops.rate(&[], &["operation"])?,
                        "{{operation}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Remediation P95 duration",
                        "s",
                        rem_duration.quantile(0.95, &[], &["operation"])?,
                        "{{operation}}",
                    ),
                ],
            ),
            Row::new(
                "Embeddings",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Embedding calls/s by provider and model",
                        "ops",
                        emb_ops.rate(&[], &["provider", "model"])?,
                        "{{provider}} {{model}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Embedding latency P50/P95",
                        "s",
                        emb_duration.quantile(0.5, &[], &["provider"])?,
                        "p50 {{provider}}",
                    )
                    .target(
                        emb_duration.quantile(0.95, &[], &["provider"])?,
                        "p95 {{provider}}",
                    )
                    .threshold(2.0, "red"),
                    Panel::new(
                        TimeSeries,
                        "Tokens/s by model",
                        "short",
                        emb_tokens.rate(&[], &["model"])?,
                        "{{model}}",
                    ),
                    Panel::new(
                        Stat,
                        "Embedding cost in range",
                        "currencyUSD",
                        emb_cost.increase_over_range(&[], &[])?,
                        "USD",
                    )
                    .describe(
                        "tokens / 1e6 * price per model, summed over the selected time range.",
                    ),
                ],
            ),
            Row::new(
                "Vector database",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Operations/s by operation and collection",
                        "ops",
                        db_ops.rate(&[], &["operation", "collection"])?,
                        "{{operation}} {{collection}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "P95 duration by operation",
                        "s",
                        db_duration.quantile(0.95, &[], &["operation"])?,
                        "{{operation}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Errors/s by type",
                        "ops",
                        db_errors.rate(&[], &["error_type", "database"])?,
                        "{{error_type}} {{database}}",
                    )
                    .width(24),
                ],
            ),
            Row::new("Service", service),
        ],
    ))
}

fn contextd_testing(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let coverage = c.m("contextd_test_coverage_percent")?;
    let tests = c.m("contextd_tests_total")?;
    let bugs = c.m("contextd_bugs_total")?;
    let regression = c.m("contextd_regression_tests_total")?;
    Ok(dashboard(
        "contextd-testing",
        "contextd / Testing",
        "Test coverage and quality of the contextd repository, read from its test tree and bug records.",
        &["contextd"],
        vec![
            Row::new(
                "Quality now",
                vec![
                    Panel::new(
                        Gauge,
                        "Test coverage",
                        "percent",
                        coverage.gauge("max", &[], &[])?,
                        "coverage",
                    )
                    .range(0.0, 100.0)
                    .threshold(60.0, "orange")
                    .threshold(80.0, "green"),
                    Panel::new(
                        Stat,
                        "Tests",
                        "short",
                        tests.gauge("sum", &[], &[])?,
                        "tests",
                    ),
                    Panel::new(
                        Stat,
                        "Open critical bugs",
                        "short",
                        bugs.gauge(
                            "sum",
                            &[("severity", "=", "critical"), ("status", "=", "open")],
                            &[],
                        )?,
                        "open critical",
                    )
                    .threshold(1.0, "red"),
                    Panel::new(
                        Stat,
                        "Regression tests",
                        "short",
                        regression.gauge("sum", &[], &[])?,
                        "regression tests",
                    ),
                ],
            ),
            Row::new(
                "Trends",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Coverage over time",
                        "percent",
                        coverage.gauge("max", &[], &["job"])?,
                        "{{job}}",
                    )
                    .range(0.0, 100.0),
                    Panel::new(
                        TimeSeries,
                        "Tests by type",
                        "short",
                        tests.gauge("sum", &[], &["type"])?,
                        "{{type}}",
                    ),
                    Panel::new(
                        BarGauge,
                        "Bugs by severity and status",
                        "short",
                        bugs.gauge("sum", &[], &["severity", "status"])?,
                        "{{severity}} {{status}}",
                    ),
                    Panel::new(
                        BarGauge,
                        "Regression tests by category",
                        "short",
                        regression.gauge("sum", &[], &["category"])?,
                        "{{category}}",
                    ),
                ],
            ),
        ],
    ))
}

fn contextd_agents_skills(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let skills = c.m("contextd_skills_total")?;
    let skill_ops = c.m("contextd_skill_operations_total")?;
    let success = c.m("contextd_skill_success_rate")?;
    let skill_duration = c.m("contextd_skill_duration_seconds")?;
    let tool_calls = c.m("contextd_mcp_tool_calls_total")?;
    let tool_duration = c.m("contextd_mcp_tool_duration_seconds")?;
    Ok(dashboard(
        "contextd-agents-skills",
        "contextd / Agents & Skills",
        "How agents use contextd: skills stored and applied, their success rates, and the MCP tools agents call.",
        &["contextd"],
        vec![
            Row::new(
                "Skills",
                vec![
                    Panel::new(
                        Stat,
                        "Skills stored",
                        "short",
                        skills.gauge("sum", &[], &[])?,
                        "skills",
                    ),
                    Panel::new(
                        Stat,
                        "Mean skill success rate",
                        "percentunit",
                        success.gauge("avg", &[], &[])?,
                        "mean",
                    )
                    .range(0.0, 1.0),
                    Panel::new(
                        Stat,
                        "Skills applied in range",
                        "short",
                        skill_ops.increase_over_range(&[("operation", "=", "apply")], &[])?,
                        "applied",
                    ),
                    Panel::new(
                        Stat,
                        "Skill apply P95",
                        "s",
                        skill_duration.quantile(0.95, &[("operation", "=", "apply")], &[])?,
                        "p95",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Skill operations/s",
                        "ops",
                        skill_ops.rate(&[], &["operation"])?,
                        "{{operation}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Skill P95 duration by operation",
                        "s",
                        skill_duration.quantile(0.95, &[], &["operation"])?,
                        "{{operation}}",
                    ),
                    Panel::new(
                        Table,
                        "Least successful skills",
                        "percentunit",
                        format!("bottomk(10, {})", success.gauge_series(&[])?),
                        "{{skill_id}}",
                    )
                    .describe("One series per stored skill (bounded by the skill count)."),
                ],
            ),
            Row::new(
                "Agent tool use",
                vec![
                    Panel::new(
                        BarGauge,
                        "Tool calls in range by tool",
                        "short",
                        tool_calls.increase_over_range(&[], &["tool_name"])?,
                        "{{tool_name}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Tool success ratio by tool",
                        "percentunit",
                        tool_calls.ratio(&[("status", "=", "success")], &[], &["tool_name"])?,
                        "{{tool_name}}",
                    )
                    .range(0.0, 1.0),
                    Panel::new(
                        Heatmap,
                        "Tool call duration distribution",
                        "s",
                        tool_duration.heatmap(&[])?,
                        "{{le}}",
                    ),
                ],
            ),
        ],
    ))
}

fn http_red(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let requests = c.m("http_server_requests_total")?;
    let duration = c.m("http_server_request_duration_seconds")?;
    let five = [("http_response_status_code", "=~", "5..")];
    Ok(dashboard(
        "http-red",
        "HTTP / RED",
        "Rate, errors and duration of every service's HTTP server (stable semantic conventions: http.server.request.duration, http.server.requests).",
        &["http"],
        vec![
            Row::new("Summary", http_summary(&c)?),
            Row::new(
                "Rate",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Requests/s by route",
                        "reqps",
                        requests.rate(&[], &["http_request_method", "http_route"])?,
                        "{{http_request_method}} {{http_route}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Requests/s by status code",
                        "reqps",
                        requests.rate(&[], &["http_response_status_code"])?,
                        "{{http_response_status_code}}",
                    ),
                ],
            ),
            Row::new(
                "Errors",
                vec![
                    Panel::new(
                        TimeSeries,
                        "5xx ratio by route",
                        "percentunit",
                        requests.ratio(&five, &[], &["http_route"])?,
                        "{{http_route}}",
                    )
                    .threshold(0.05, "red"),
                    Panel::new(
                        TimeSeries,
                        "Errors/s by error.type",
                        "reqps",
                        requests.rate(&[("error_type", "!=", "")], &["error_type"])?,
                        "{{error_type}}",
                    ),
                ],
            ),
            Row::new(
                "Duration",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Latency P50/P95/P99",
                        "s",
                        duration.quantile(0.5, &[], &[])?,
                        "p50",
                    )
                    .target(duration.quantile(0.95, &[], &[])?, "p95")
                    .target(duration.quantile(0.99, &[], &[])?, "p99")
                    .threshold(1.0, "red"),
                    Panel::new(
                        TimeSeries,
                        "P95 by route",
                        "s",
                        duration.quantile(0.95, &[], &["http_route"])?,
                        "{{http_route}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Mean duration by route",
                        "s",
                        duration.mean(&[], &["http_route"])?,
                        "{{http_route}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Measured requests/s by protocol",
                        "reqps",
                        duration
                            .observation_rate(&[], &["network_protocol_version", "url_scheme"])?,
                        "HTTP/{{network_protocol_version}} {{url_scheme}}",
                    ),
                    Panel::new(
                        Heatmap,
                        "Duration distribution",
                        "s",
                        duration.heatmap(&[])?,
                        "{{le}}",
                    ),
                ],
            ),
        ],
    ))
}

fn runtime(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let live = c.m("rust_memory_heap_live_bytes")?;
    let mapped = c.m("rust_memory_heap_mapped_bytes")?;
    let stall = c.m("tokio_runtime_stall_duration_seconds")?;
    let tasks = c.m("tokio_runtime_alive_tasks")?;
    Ok(dashboard(
        "runtime",
        "Runtime / Rust process",
        "Allocator heap (live vs mapped), tokio tasks and runtime stalls: the Rust counterparts of the Go runtime metrics.",
        &["runtime"],
        vec![
            Row::new(
                "Memory",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Live heap by allocator",
                        "bytes",
                        live.gauge("sum", &[], &["job", "rust_allocator"])?,
                        "{{job}} {{rust_allocator}}",
                    )
                    .describe("Bytes allocated and not freed (jemalloc stats.allocated, glibc mallinfo2, or the counting allocator). Not RSS."),
                    Panel::new(
                        TimeSeries,
                        "Mapped heap by allocator",
                        "bytes",
                        mapped.gauge("sum", &[], &["job", "rust_allocator"])?,
                        "{{job}} {{rust_allocator}}",
                    )
                    .describe("Heap memory the allocator obtained from the OS."),
                ],
            ),
            Row::new(
                "Tokio",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Alive tasks by runtime",
                        "short",
                        tasks.gauge("sum", &[], &["job", "tokio_runtime_id"])?,
                        "{{job}} {{tokio_runtime_id}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Stall P50/P99",
                        "s",
                        stall.quantile(0.5, &[], &["job"])?,
                        "p50 {{job}}",
                    )
                    .target(stall.quantile(0.99, &[], &["job"])?, "p99 {{job}}")
                    .threshold(0.1, "red")
                    .describe("How late a probe task ran versus when it was due: a blocked worker thread shows here."),
                    Panel::new(
                        TimeSeries,
                        "Stall probes/s",
                        "ops",
                        stall.observation_rate(&[], &["job", "tokio_runtime_id"])?,
                        "{{job}} {{tokio_runtime_id}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Mean stall",
                        "s",
                        stall.mean(&[], &["job"])?,
                        "{{job}}",
                    ),
                    Panel::new(Heatmap, "Stall distribution", "s", stall.heatmap(&[])?, "{{le}}"),
                ],
            ),
            Row::new("SDK export health", sdk_export_health(&c)?),
        ],
    ))
}

/// The `otel.sdk.*` self-metrics: what the exporters delivered, what failed
/// (`error.type="export_failed"`) and what the queues turned away (`error.type="queue_full"`).
fn sdk_export_health(c: &Lookup<'_>) -> Result<Vec<Panel>, Error> {
    let spans = c.m("otel_sdk_exporter_span_exported_total")?;
    let logs = c.m("otel_sdk_exporter_log_exported_total")?;
    let points = c.m("otel_sdk_exporter_metric_data_point_exported_total")?;
    let span_queue = c.m("otel_sdk_processor_span_processed_total")?;
    let log_queue = c.m("otel_sdk_processor_log_processed_total")?;
    let ok = [("error_type", "=", "")];
    let failed = [("error_type", "=", "export_failed")];
    let full = [("error_type", "=", "queue_full")];
    Ok(vec![
        Panel::new(
            TimeSeries,
            "Exported records/s",
            "ops",
            spans.rate(&ok, &["job"])?,
            "spans {{job}}",
        )
        .target(logs.rate(&ok, &["job"])?, "logs {{job}}")
        .target(points.rate(&ok, &["job"])?, "metric points {{job}}")
        .describe("Records whose export the backend acknowledged (pushed over OTLP; a Prometheus scrape is not counted here)."),
        Panel::new(
            TimeSeries,
            "Failed exports (records/s)",
            "ops",
            spans.rate(&failed, &["job", "error_type"])?,
            "spans {{job}} {{error_type}}",
        )
        .target(logs.rate(&failed, &["job", "error_type"])?, "logs {{job}} {{error_type}}")
        .target(
            points.rate(&failed, &["job", "error_type"])?,
            "metric points {{job}} {{error_type}}",
        )
        .threshold(0.0001, "red")
        .describe("Records in batches the exporter gave up on: collector down, refusing or too slow. The TelemetryExportFailing alert fires after 5 minutes of this."),
        Panel::new(
            TimeSeries,
            "Dropped at the queue (records/s)",
            "ops",
            span_queue.rate(&full, &["job", "error_type"])?,
            "spans {{job}} {{error_type}}",
        )
        .target(
            log_queue.rate(&full, &["job", "error_type"])?,
            "logs {{job}} {{error_type}}",
        )
        .threshold(0.0001, "orange")
        .describe("Records turned away because the export queue was full (OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BLRP_MAX_QUEUE_SIZE): the exporter cannot keep up or is failing."),
        Panel::new(
            Stat,
            "Span export success",
            "percentunit",
            format!(
                "1 - ({})",
                spans.ratio(&failed, &[], &[])?
            ),
            "success",
        )
        .range(0.0, 1.0)
        .threshold(0.99, "green")
        .describe("Share of finished span exports that succeeded."),
    ])
}

/// A recording rule of `deploy/rules/http-slo.rules.yml`, filtered by `$job`.
fn recorded(name: &str) -> String {
    format!("{name}{{job=~\"$job\"}}")
}

fn slo(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let requests = c.m("http_server_requests_total")?;
    Ok(dashboard(
        "slo",
        "SLO / HTTP availability 99%",
        "99% of HTTP requests succeed (non-5xx) over 30 days. Burn rates and windows follow the multi-window, multi-burn-rate alerts of deploy/rules/http-slo.rules.yml.",
        &["slo", "http"],
        vec![
            Row::new(
                "Budget",
                vec![
                    Panel::new(
                        Stat,
                        "Error budget remaining (30d)",
                        "percentunit",
                        recorded("job:http_server_slo_error_budget:remaining30d"),
                        "{{job}}",
                    )
                    .threshold(0.25, "orange")
                    .threshold(0.5, "green"),
                    Panel::new(
                        Stat,
                        "Availability (1h)",
                        "percentunit",
                        format!("1 - {}", recorded("job:http_server_requests_errors:ratio_rate1h")),
                        "{{job}}",
                    ),
                    Panel::new(
                        Stat,
                        "Burn rate (1h)",
                        "short",
                        format!("{} / 0.01", recorded("job:http_server_requests_errors:ratio_rate1h")),
                        "{{job}}",
                    )
                    .threshold(6.0, "orange")
                    .threshold(14.4, "red"),
                    Panel::new(
                        Stat,
                        "Burn rate (6h)",
                        "short",
                        format!("{} / 0.01", recorded("job:http_server_requests_errors:ratio_rate6h")),
                        "{{job}}",
                    )
                    .threshold(6.0, "red"),
                ],
            ),
            Row::new(
                "Windows",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Error ratio by alert window",
                        "percentunit",
                        recorded("job:http_server_requests_errors:ratio_rate5m"),
                        "5m {{job}}",
                    )
                    .target(recorded("job:http_server_requests_errors:ratio_rate30m"), "30m {{job}}")
                    .target(recorded("job:http_server_requests_errors:ratio_rate1h"), "1h {{job}}")
                    .target(recorded("job:http_server_requests_errors:ratio_rate6h"), "6h {{job}}")
                    .threshold(0.06, "orange")
                    .threshold(0.144, "red")
                    .describe("Page when 1h and 5m exceed 14.4% (14.4x burn); ticket when 6h and 30m exceed 6% (6x)."),
                    Panel::new(
                        TimeSeries,
                        "Traffic (minimum-traffic guard)",
                        "reqps",
                        recorded("job:http_server_requests:rate1h"),
                        "1h {{job}}",
                    )
                    .target(requests.rate(&[], &["job"])?, "now {{job}}")
                    .describe("Burn-rate alerts need >= 100 requests in the last hour (fast) / 600 in 6h (slow)."),
                    Panel::new(
                        TimeSeries,
                        "Latency P95/P99 (recorded)",
                        "s",
                        recorded("job:http_server_request_duration_seconds:p95_5m"),
                        "p95 {{job}}",
                    )
                    .target(recorded("job:http_server_request_duration_seconds:p99_5m"), "p99 {{job}}")
                    .threshold(1.0, "red")
                    .width(24),
                ],
            ),
            Row::new(
                "Alerts",
                vec![Panel::new(
                    Table,
                    "Firing alerts",
                    "short",
                    "sum by (alertname, severity, job) (ALERTS{alertstate=\"firing\"})".to_owned(),
                    "{{alertname}}",
                )
                .describe("Evaluated by Prometheus (stack B) or vmalert; empty when nothing fires.")],
            ),
        ],
    ))
}

fn automation_execution(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let requests = c.m("ai_requests_total")?;
    let errors = c.m("ai_request_errors_total")?;
    let duration = c.m("ai_request_duration_seconds")?;
    Ok(dashboard(
        "automation-execution",
        "Automation / Execution",
        "Seed 003 execution dashboard: AI execution requests, errors and latency by tool.",
        &["automation"],
        vec![
            Row::new(
                "Request overview",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Request rate by status",
                        "reqps",
                        requests.rate(&[], &["status"])?,
                        "{{status}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Error rate by tool",
                        "reqps",
                        errors.rate(&[], &["tool"])?,
                        "{{tool}}",
                    )
                    .target(
                        requests.ratio(&[("status", "=", "error")], &[], &[])?,
                        "error ratio",
                    )
                    .threshold(0.05, "red")
                    .describe(
                        "The 5% threshold of the error-rate alert applies to the error ratio.",
                    ),
                ],
            ),
            Row::new(
                "Latency",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Request duration P50/P95/P99",
                        "s",
                        duration.quantile(0.5, &[], &[])?,
                        "p50",
                    )
                    .target(duration.quantile(0.95, &[], &[])?, "p95")
                    .target(duration.quantile(0.99, &[], &[])?, "p99")
                    .threshold(1.0, "red"),
                    Panel::new(
                        TimeSeries,
                        "Requests by tool",
                        "reqps",
                        requests.rate(&[], &["tool"])?,
                        "{{tool}}",
                    ),
                ],
            ),
            Row::new(
                "Distribution",
                vec![Panel::new(
                    Heatmap,
                    "Duration heatmap",
                    "s",
                    duration.heatmap(&[])?,
                    "{{le}}",
                )],
            ),
            Row::new(
                "Debugging",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Trace ID links",
                        "s",
                        duration.quantile(0.95, &[], &["tool"])?,
                        "{{tool}}",
                    )
                    .width(24)
                    .describe(
                        "P95 duration per tool, with exemplars: each point is one \
                         recorded execution carrying its trace_id. Hover a point and follow the \
                         trace_id link to the trace (Tempo on stack B), then to its logs. \
                         Exemplars need Prometheus with exemplar storage; VictoriaMetrics \
                         (stack A) keeps none.",
                    ),
                ],
            ),
        ],
    ))
}

fn automation_selector(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let requests = c.m("selector_requests_total")?;
    let duration = c.m("selector_request_duration_seconds")?;
    let hits = c.m("selector_cache_hits_total")?;
    let misses = c.m("selector_cache_misses_total")?;
    let evictions = c.m("selector_cache_evictions_total")?;
    let db_errors = c.m("selector_db_errors_total")?;
    let entries = c.m("selector_cache_entries")?;
    let ttl = c.m("selector_cache_ttl_seconds")?;
    let build = c.m("automation_build_info")?;
    let hit_rate = format!(
        "{} / ({} + {})",
        hits.rate(&[], &[])?,
        hits.rate(&[], &[])?,
        misses.rate(&[], &[])?
    );
    Ok(dashboard(
        "automation-selector",
        "Automation / Selector",
        "Seed 003 selector dashboard: requests by status and source, cache health, latency, build info.",
        &["automation"],
        vec![
            Row::new(
                "Request overview",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Request rate by status",
                        "reqps",
                        requests.rate(&[], &["status"])?,
                        "{{status}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Request rate by source",
                        "reqps",
                        requests.rate(&[], &["source"])?,
                        "{{source}}",
                    ),
                ],
            ),
            Row::new(
                "Health",
                vec![
                    Panel::new(Gauge, "Cache hit rate", "percentunit", hit_rate, "hit rate")
                        .range(0.0, 1.0)
                        .threshold(0.5, "orange")
                        .threshold(0.8, "green"),
                    Panel::new(
                        Stat,
                        "DB errors in range",
                        "short",
                        db_errors.increase_over_range(&[], &[])?,
                        "errors",
                    )
                    .threshold(1.0, "red"),
                    Panel::new(
                        Stat,
                        "Cache entries",
                        "short",
                        entries.gauge("sum", &[], &[])?,
                        "entries",
                    ),
                    Panel::new(Stat, "Cache TTL", "s", ttl.gauge("max", &[], &[])?, "ttl"),
                ],
            ),
            Row::new(
                "Performance",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Request duration P50/P95/P99",
                        "s",
                        duration.quantile(0.5, &[], &[])?,
                        "p50",
                    )
                    .target(duration.quantile(0.95, &[], &[])?, "p95")
                    .target(duration.quantile(0.99, &[], &[])?, "p99"),
                    Panel::new(
                        TimeSeries,
                        "Cache eviction rate",
                        "ops",
                        evictions.rate(&[], &[])?,
                        "evictions/s",
                    ),
                ],
            ),
            Row::new(
                "Build info",
                vec![Panel::new(
                    Table,
                    "Version, git commit, built at",
                    "short",
                    build.gauge("max", &[], &["job", "version", "git_commit", "built_at"])?,
                    "{{version}}",
                )],
            ),
        ],
    ))
}

fn agenttrace_overview(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let requests = c.m("http_requests_total")?;
    let duration = c.m("http_request_duration_seconds")?;
    let traces = c.m("traces_ingested_total")?;
    let observations = c.m("observations_ingested_total")?;
    let queue = c.m("worker_queue_depth")?;
    let jobs = c.m("worker_jobs_processed_total")?;
    let active = c.m("db_connections_active")?;
    let idle = c.m("db_connections_idle")?;
    let max = c.m("db_connections_max")?;
    let query = c.m("db_query_duration_seconds")?;
    Ok(dashboard(
        "agenttrace-overview",
        "AgentTrace / Overview",
        "Seed 004 overview: API traffic, ingestion, workers and the database pool.",
        &["agenttrace"],
        vec![
            Row::new(
                "API",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Request rate",
                        "reqps",
                        requests.rate(&[], &["method", "path"])?,
                        "{{method}} {{path}}",
                    ),
                    Panel::new(
                        Stat,
                        "Error rate (5xx)",
                        "percentunit",
                        requests.ratio(&[("status", "=~", "5..")], &[], &[])?,
                        "5xx",
                    )
                    .threshold(0.01, "orange")
                    .threshold(0.05, "red"),
                    Panel::new(
                        Stat,
                        "P99 latency",
                        "s",
                        duration.quantile(0.99, &[], &[])?,
                        "p99",
                    )
                    .threshold(0.5, "orange")
                    .threshold(1.0, "red"),
                ],
            ),
            Row::new(
                "Ingestion and workers",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Traces ingested/s",
                        "ops",
                        traces.rate(&[], &[])?,
                        "traces/s",
                    )
                    .target(observations.rate(&[], &[])?, "observations/s"),
                    Panel::new(
                        TimeSeries,
                        "Worker queue depth",
                        "short",
                        queue.gauge("max", &[], &["queue"])?,
                        "{{queue}}",
                    )
                    .threshold(10000.0, "red"),
                    Panel::new(
                        TimeSeries,
                        "Jobs processed/s by type and status",
                        "ops",
                        jobs.rate(&[], &["type", "status"])?,
                        "{{type}} {{status}}",
                    )
                    .width(24),
                ],
            ),
            Row::new(
                "Database",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Connections",
                        "short",
                        active.gauge("sum", &[], &["db"])?,
                        "active {{db}}",
                    )
                    .target(idle.gauge("sum", &[], &["db"])?, "idle {{db}}")
                    .target(max.gauge("sum", &[], &["db"])?, "max {{db}}"),
                    Panel::new(
                        TimeSeries,
                        "Query P99",
                        "s",
                        query.quantile(0.99, &[], &[])?,
                        "p99",
                    )
                    .threshold(10.0, "red"),
                ],
            ),
        ],
    ))
}

fn agenttrace_api(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let requests = c.m("http_requests_total")?;
    let duration = c.m("http_request_duration_seconds")?;
    let req_size = c.m("http_request_size_bytes")?;
    let resp_size = c.m("http_response_size_bytes")?;
    let server_errors = [("status", "=~", "5..")];
    Ok(dashboard(
        "agenttrace-api",
        "AgentTrace / API Performance",
        "Seed 004 API performance: throughput, errors and latency by route template, payload sizes.",
        &["agenttrace"],
        vec![
            Row::new(
                "Throughput",
                vec![
                    Panel::new(
                        Stat,
                        "Requests/s",
                        "reqps",
                        requests.rate(&[], &[])?,
                        "requests/s",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Requests/s by route",
                        "reqps",
                        requests.rate(&[], &["method", "path"])?,
                        "{{method}} {{path}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Requests/s by status",
                        "reqps",
                        requests.rate(&[], &["status"])?,
                        "{{status}}",
                    ),
                ],
            ),
            Row::new(
                "Errors",
                vec![
                    Panel::new(
                        Stat,
                        "Error rate (5xx)",
                        "percentunit",
                        requests.ratio(&server_errors, &[], &[])?,
                        "5xx",
                    )
                    .threshold(0.001, "orange")
                    .threshold(0.01, "red")
                    .describe(
                        "The seed's SLO is an error rate under 0.1%; HighErrorRate fires above 1%.",
                    ),
                    Panel::new(
                        TimeSeries,
                        "5xx share by route",
                        "percentunit",
                        requests.ratio(&server_errors, &[], &["method", "path"])?,
                        "{{method}} {{path}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "4xx share",
                        "percentunit",
                        requests.ratio(&[("status", "=~", "4..")], &[], &[])?,
                        "4xx",
                    ),
                ],
            ),
            Row::new(
                "Latency",
                vec![
                    Panel::new(
                        TimeSeries,
                        "P50/P95/P99",
                        "s",
                        duration.quantile(0.5, &[], &[])?,
                        "p50",
                    )
                    .target(duration.quantile(0.95, &[], &[])?, "p95")
                    .target(duration.quantile(0.99, &[], &[])?, "p99")
                    .threshold(0.5, "red")
                    .describe("The seed's SLOs: P50 under 50 ms, P99 under 500 ms."),
                    Panel::new(
                        TimeSeries,
                        "P99 by route",
                        "s",
                        duration.quantile(0.99, &[], &["method", "path"])?,
                        "{{method}} {{path}}",
                    ),
                    Panel::new(
                        Heatmap,
                        "Latency distribution",
                        "s",
                        duration.heatmap(&[])?,
                        "{{le}}",
                    ),
                ],
            ),
            Row::new(
                "Payloads",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Request body P95 by method",
                        "bytes",
                        req_size.quantile(0.95, &[], &["method"])?,
                        "{{method}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Response body P95 by method",
                        "bytes",
                        resp_size.quantile(0.95, &[], &["method"])?,
                        "{{method}}",
                    ),
                ],
            ),
        ],
    ))
}

fn agenttrace_workers(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let queue = c.m("worker_queue_depth")?;
    let active = c.m("worker_active_jobs")?;
    let jobs = c.m("worker_jobs_processed_total")?;
    let duration = c.m("worker_job_duration_seconds")?;
    Ok(dashboard(
        "agenttrace-workers",
        "AgentTrace / Worker Performance",
        "Seed 004 worker performance: queue depths, jobs in flight, throughput and failures by job type, job duration.",
        &["agenttrace"],
        vec![
            Row::new(
                "Queues",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Queue depth",
                        "short",
                        queue.gauge("max", &[], &["queue"])?,
                        "{{queue}}",
                    )
                    .threshold(10000.0, "red")
                    .describe("WorkerQueueBacklog fires above 10,000 waiting jobs for 10 minutes."),
                    Panel::new(
                        Stat,
                        "Jobs in flight",
                        "short",
                        active.gauge("sum", &[], &[])?,
                        "active",
                    ),
                ],
            ),
            Row::new(
                "Jobs",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Jobs/s by type and status",
                        "ops",
                        jobs.rate(&[], &["type", "status"])?,
                        "{{type}} {{status}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Failure share by type",
                        "percentunit",
                        jobs.ratio(&[("status", "=", "failed")], &[], &["type"])?,
                        "{{type}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Retries/s by type",
                        "ops",
                        jobs.rate(&[("status", "=", "retried")], &["type"])?,
                        "{{type}}",
                    ),
                ],
            ),
            Row::new(
                "Duration",
                vec![
                    Panel::new(
                        TimeSeries,
                        "P50/P99 by type",
                        "s",
                        duration.quantile(0.5, &[], &["type"])?,
                        "p50 {{type}}",
                    )
                    .target(duration.quantile(0.99, &[], &["type"])?, "p99 {{type}}"),
                    Panel::new(
                        TimeSeries,
                        "Mean by type",
                        "s",
                        duration.mean(&[], &["type"])?,
                        "{{type}}",
                    ),
                    Panel::new(
                        Heatmap,
                        "Job duration distribution",
                        "s",
                        duration.heatmap(&[])?,
                        "{{le}}",
                    ),
                ],
            ),
        ],
    ))
}

fn agenttrace_database(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let active = c.m("db_connections_active")?;
    let idle = c.m("db_connections_idle")?;
    let max = c.m("db_connections_max")?;
    let query = c.m("db_query_duration_seconds")?;
    Ok(dashboard(
        "agenttrace-database",
        "AgentTrace / Database Health",
        "Seed 004 database health: connection pools of PostgreSQL, ClickHouse and Redis, and query latency by database.",
        &["agenttrace"],
        vec![
            Row::new(
                "Connection pools",
                vec![
                    Panel::new(
                        BarGauge,
                        "Pool utilisation",
                        "percentunit",
                        format!(
                            "{} / {}",
                            active.gauge("sum", &[], &["db"])?,
                            max.gauge("sum", &[], &["db"])?
                        ),
                        "{{db}}",
                    )
                    .range(0.0, 1.0)
                    .threshold(0.8, "orange")
                    .threshold(0.9, "red")
                    .describe("Active over maximum connections; DatabaseConnectionExhausted fires above 90% for 5 minutes."),
                    Panel::new(
                        TimeSeries,
                        "Active connections",
                        "short",
                        active.gauge("sum", &[], &["db"])?,
                        "{{db}}",
                    )
                    .target(max.gauge("sum", &[], &["db"])?, "max {{db}}"),
                    Panel::new(
                        TimeSeries,
                        "Idle connections",
                        "short",
                        idle.gauge("sum", &[], &["db"])?,
                        "{{db}}",
                    ),
                ],
            ),
            Row::new(
                "Queries",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Query P50/P99 by database",
                        "s",
                        query.quantile(0.5, &[], &["db"])?,
                        "p50 {{db}}",
                    )
                    .target(query.quantile(0.99, &[], &["db"])?, "p99 {{db}}"),
                    Panel::new(
                        TimeSeries,
                        "Queries/s by database",
                        "ops",
                        query.observation_rate(&[], &["db"])?,
                        "{{db}}",
                    ),
                    Panel::new(
                        Heatmap,
                        "Query latency distribution",
                        "s",
                        query.heatmap(&[])?,
                        "{{le}}",
                    ),
                ],
            ),
        ],
    ))
}

fn agenttrace_clickhouse(catalog: &Catalog) -> Result<Dashboard, Error> {
    let c = Lookup(catalog);
    let rows = c.m("clickhouse_insert_rows_total")?;
    let query = c.m("db_query_duration_seconds")?;
    let active = c.m("db_connections_active")?;
    let max = c.m("db_connections_max")?;
    let running_merges = c.m("ClickHouseMetrics_Merge")?;
    let merges = c.m("ClickHouseProfileEvents_Merge")?;
    let merged_rows = c.m("ClickHouseProfileEvents_MergedRows")?;
    let ch = [("db", "=", "clickhouse")];
    Ok(dashboard(
        "agenttrace-clickhouse",
        "AgentTrace / ClickHouse Metrics",
        "Seed 004 ClickHouse: rows the service inserts by table, its query times and pool, and the server's own merges (ClickHouse's built-in Prometheus endpoint, job clickhouse).",
        &["agenttrace", "clickhouse"],
        vec![
            Row::new(
                "Inserts",
                vec![
                    Panel::new(
                        Stat,
                        "Rows inserted/s",
                        "rowsps",
                        rows.rate(&[], &[])?,
                        "rows/s",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Rows inserted/s by table",
                        "rowsps",
                        rows.rate(&[], &["table"])?,
                        "{{table}}",
                    ),
                ],
            ),
            Row::new(
                "Queries",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Query P50/P99",
                        "s",
                        query.quantile(0.5, &ch, &[])?,
                        "p50",
                    )
                    .target(query.quantile(0.99, &ch, &[])?, "p99")
                    .threshold(10.0, "red")
                    .describe("ClickHouseSlowQueries fires when P99 stays above 10 s for 5 minutes."),
                    Panel::new(
                        TimeSeries,
                        "Queries/s",
                        "ops",
                        query.observation_rate(&ch, &[])?,
                        "queries/s",
                    ),
                    Panel::new(
                        Gauge,
                        "Pool utilisation",
                        "percentunit",
                        format!(
                            "{} / {}",
                            active.gauge("sum", &ch, &[])?,
                            max.gauge("sum", &ch, &[])?
                        ),
                        "clickhouse",
                    )
                    .range(0.0, 1.0)
                    .threshold(0.9, "red"),
                ],
            ),
            Row::new(
                "Merges (server)",
                vec![
                    Panel::new(
                        TimeSeries,
                        "Running merges",
                        "short",
                        running_merges.gauge("sum", &[], &["instance"])?,
                        "{{instance}}",
                    )
                    .describe("Background merges in progress, from ClickHouse's own /metrics (ClickHouseMetrics_Merge)."),
                    Panel::new(
                        TimeSeries,
                        "Merges started/s",
                        "ops",
                        merges.rate(&[], &["instance"])?,
                        "{{instance}}",
                    ),
                    Panel::new(
                        TimeSeries,
                        "Rows merged/s",
                        "rowsps",
                        merged_rows.rate(&[], &["instance"])?,
                        "{{instance}}",
                    ),
                ],
            ),
        ],
    ))
}
