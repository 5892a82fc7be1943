//! The contextd catalog: 31 instruments (25 business metrics declared here, 4 runtime and
//! 2 HTTP instruments whose descriptors come from `ferrotel-runtime` and `ferrotel-http`), with
//! the exact names of `shared/spec/instruments.md`.
//!
//! ```
//! use ferrotel_catalog::contextd::*;
//!
//! let meter = opentelemetry::global::meter("contextd");
//! let m = ContextdMeters::new(&meter);
//! m.checkpoint_operations.add(1, CheckpointOp::Create);
//! m.mcp_tool_calls.add(1, (Tool::CheckpointSave, Status::Success));
//! m.embedding_duration.record(0.12, (Provider::OpenAi, "text-embedding-3-small"));
//! m.checkpoints_total.register_value(|| 42u64);
//! ```
//!
//! Two units differ from the spec table on purpose, so that the Prometheus names survive
//! OTLP → Prometheus translation unchanged (see [`ferrotel_meters::prometheus`]):
//! `contextd_embedding_cost_total` uses `{USD}` (with `USD` the translated name would be
//! `contextd_embedding_cost_USD_total`) and `contextd_skill_success_rate` uses `{ratio}` (with
//! `1` a gauge gets `_ratio`). Both are UCUM annotations of a dimensionless value.

pub mod files;

use std::future::Future;
use std::time::Duration;

use ferrotel_meters::{
    CachedSource, DURATION_BUCKETS, FreeForm, InstrumentDescriptor, InstrumentSet, Operation,
    SCORE_BUCKETS,
};
use ferrotel_runtime::descriptors as runtime;

use crate::cost::PriceTable;

ferrotel_meters::label_enum! {
    /// MCP tool (`tool_name`).
    pub enum Tool {
        /// `checkpoint_save`
        CheckpointSave = "checkpoint_save",
        /// `checkpoint_search`
        CheckpointSearch = "checkpoint_search",
        /// `checkpoint_list`
        CheckpointList = "checkpoint_list",
        /// `remediation_save`
        RemediationSave = "remediation_save",
        /// `remediation_search`
        RemediationSearch = "remediation_search",
        /// `troubleshoot`
        Troubleshoot = "troubleshoot",
        /// `list_patterns`
        ListPatterns = "list_patterns",
        /// `index_repository`
        IndexRepository = "index_repository",
        /// `status`
        Status = "status",
    }
}

ferrotel_meters::label_enum! {
    /// Outcome of an operation (`status`).
    pub enum Status {
        /// The operation succeeded.
        Success = "success",
        /// The operation failed.
        Error = "error",
    }
}

impl Status {
    /// `Success` when `ok`, else `Error`.
    pub const fn from_ok(ok: bool) -> Self {
        if ok { Status::Success } else { Status::Error }
    }
}

ferrotel_meters::label_enum! {
    /// Checkpoint operation (`operation`).
    pub enum CheckpointOp {
        /// `create`
        Create = "create",
        /// `search`
        Search = "search",
        /// `list`
        List = "list",
        /// `update`
        Update = "update",
        /// `delete`
        Delete = "delete",
    }
}

ferrotel_meters::label_enum! {
    /// Remediation operation (`operation`).
    pub enum RemediationOp {
        /// `save`
        Save = "save",
        /// `search`
        Search = "search",
    }
}

ferrotel_meters::label_enum! {
    /// Skill operation (`operation`).
    pub enum SkillOp {
        /// `create`
        Create = "create",
        /// `apply`
        Apply = "apply",
        /// `search`
        Search = "search",
        /// `update`
        Update = "update",
        /// `delete`
        Delete = "delete",
    }
}

ferrotel_meters::label_enum! {
    /// Embedding provider (`provider`).
    pub enum Provider {
        /// OpenAI API.
        OpenAi = "openai",
        /// Text Embeddings Inference (self-hosted).
        Tei = "tei",
    }
}

ferrotel_meters::label_enum! {
    /// Vector-database operation (`operation`).
    pub enum DbOp {
        /// `insert`
        Insert = "insert",
        /// `search`
        Search = "search",
        /// `delete`
        Delete = "delete",
        /// `get`
        Get = "get",
        /// `update`
        Update = "update",
    }
}

ferrotel_meters::label_enum! {
    /// Vector-database collection (`collection`).
    pub enum Collection {
        /// `checkpoints`
        Checkpoints = "checkpoints",
        /// `remediations`
        Remediations = "remediations",
        /// `skills`
        Skills = "skills",
        /// `documents`
        Documents = "documents",
    }
}

ferrotel_meters::label_enum! {
    /// Vector-database error class (`error_type`).
    pub enum DbErrorType {
        /// `connection_timeout`
        ConnectionTimeout = "connection_timeout",
        /// `query_failed`
        QueryFailed = "query_failed",
        /// `not_found`
        NotFound = "not_found",
        /// `permission_denied`
        PermissionDenied = "permission_denied",
    }
}

ferrotel_meters::label_enum! {
    /// Test type (`type`).
    pub enum TestType {
        /// `unit`
        Unit = "unit",
        /// `integration`
        Integration = "integration",
        /// `e2e`
        E2e = "e2e",
    }
}

ferrotel_meters::label_enum! {
    /// Bug severity (`severity`).
    pub enum Severity {
        /// `critical`
        Critical = "critical",
        /// `high`
        High = "high",
        /// `medium`
        Medium = "medium",
        /// `low`
        Low = "low",
    }
}

ferrotel_meters::label_enum! {
    /// Bug status (`status`).
    pub enum BugStatus {
        /// `open`
        Open = "open",
        /// `fixed`
        Fixed = "fixed",
        /// `verified`
        Verified = "verified",
    }
}

ferrotel_meters::label_enum! {
    /// Regression test category (`category`).
    pub enum RegressionCategory {
        /// `bugs`
        Bugs = "bugs",
        /// `security`
        Security = "security",
        /// `performance`
        Performance = "performance",
    }
}

/// Cardinality limit for the free-form `model` label.
pub const MODEL_LIMIT: usize = 50;
/// Cardinality limit for instruments with the free-form `database` label (`shared`,
/// `project_<hash>`: one per indexed project).
pub const DATABASE_LIMIT: usize = 500;
/// Cardinality limit for `skill_id` (one series per stored skill).
pub const SKILL_LIMIT: usize = 2000;

ferrotel_meters::instrument_set! {
    /// The 25 `contextd_*` business instruments.
    pub struct ContextdMeters {
        counter mcp_tool_calls {
            name: "contextd_mcp_tool_calls_total",
            unit: "{call}",
            description: "MCP tool calls, by tool and outcome.",
            labels: { "tool_name": Tool, "status": Status },
        },
        histogram mcp_tool_duration {
            name: "contextd_mcp_tool_duration_seconds",
            unit: "s",
            description: "MCP tool call duration.",
            labels: { "tool_name": Tool },
            buckets: DURATION_BUCKETS,
        },
        observable_gauge checkpoints_total {
            name: "contextd_checkpoints_total",
            unit: "{checkpoint}",
            description: "Checkpoints currently stored.",
            labels: {},
        },
        counter checkpoint_operations {
            name: "contextd_checkpoint_operations_total",
            unit: "{operation}",
            description: "Checkpoint operations, by operation.",
            labels: { "operation": CheckpointOp },
        },
        histogram checkpoint_duration {
            name: "contextd_checkpoint_duration_seconds",
            unit: "s",
            description: "Checkpoint operation duration.",
            labels: { "operation": CheckpointOp },
            buckets: DURATION_BUCKETS,
        },
        histogram checkpoint_search_score {
            name: "contextd_checkpoint_search_score",
            unit: "1",
            description: "Similarity score (0..1) of checkpoint search results.",
            labels: {},
            buckets: SCORE_BUCKETS,
        },
        observable_gauge remediations_total {
            name: "contextd_remediations_total",
            unit: "{remediation}",
            description: "Remediations currently stored.",
            labels: {},
        },
        counter remediation_operations {
            name: "contextd_remediation_operations_total",
            unit: "{operation}",
            description: "Remediation operations, by operation.",
            labels: { "operation": RemediationOp },
        },
        histogram remediation_match_score {
            name: "contextd_remediation_match_score",
            unit: "1",
            description: "Hybrid remediation match score (0..1): 0.7 semantic + 0.3 string similarity.",
            labels: {},
            buckets: SCORE_BUCKETS,
        },
        histogram remediation_duration {
            name: "contextd_remediation_duration_seconds",
            unit: "s",
            description: "Remediation operation duration.",
            labels: { "operation": RemediationOp },
            buckets: DURATION_BUCKETS,
        },
        observable_gauge skills_total {
            name: "contextd_skills_total",
            unit: "{skill}",
            description: "Skills currently stored.",
            labels: {},
        },
        counter skill_operations {
            name: "contextd_skill_operations_total",
            unit: "{operation}",
            description: "Skill operations, by operation.",
            labels: { "operation": SkillOp },
        },
        float_observable_gauge skill_success_rate {
            name: "contextd_skill_success_rate",
            unit: "{ratio}",
            description: "Success rate (0..1) of each stored skill; one series per stored skill, bounded by the skill count.",
            labels: { "skill_id": FreeForm },
            cardinality_limit: SKILL_LIMIT,
        },
        histogram skill_duration {
            name: "contextd_skill_duration_seconds",
            unit: "s",
            description: "Skill operation duration.",
            labels: { "operation": SkillOp },
            buckets: DURATION_BUCKETS,
        },
        histogram embedding_duration {
            name: "contextd_embedding_duration_seconds",
            unit: "s",
            description: "Embedding call duration (including retries), by provider and model.",
            labels: { "provider": Provider, "model": FreeForm },
            buckets: DURATION_BUCKETS,
            cardinality_limit: MODEL_LIMIT,
        },
        counter embedding_operations {
            name: "contextd_embedding_operations_total",
            unit: "{operation}",
            description: "Embedding calls, by provider and model.",
            labels: { "provider": Provider, "model": FreeForm },
            cardinality_limit: MODEL_LIMIT,
        },
        counter embedding_tokens {
            name: "contextd_embedding_tokens_total",
            unit: "{token}",
            description: "Tokens sent for embedding, by model.",
            labels: { "model": FreeForm },
            cardinality_limit: MODEL_LIMIT,
        },
        float_counter embedding_cost {
            name: "contextd_embedding_cost_total",
            unit: "{USD}",
            description: "Embedding cost in USD (tokens / 1e6 * price per 1M tokens), by model.",
            labels: { "model": FreeForm },
            cardinality_limit: MODEL_LIMIT,
        },
        counter database_operations {
            name: "contextd_database_operations_total",
            unit: "{operation}",
            description: "Vector-database operations, by operation, database and collection.",
            labels: { "operation": DbOp, "database": FreeForm, "collection": Collection },
            cardinality_limit: DATABASE_LIMIT,
        },
        histogram database_duration {
            name: "contextd_database_duration_seconds",
            unit: "s",
            description: "Vector-database operation duration, by operation and database.",
            labels: { "operation": DbOp, "database": FreeForm },
            buckets: DURATION_BUCKETS,
            cardinality_limit: DATABASE_LIMIT,
        },
        counter database_errors {
            name: "contextd_database_errors_total",
            unit: "{error}",
            description: "Vector-database errors, by error type and database.",
            labels: { "error_type": DbErrorType, "database": FreeForm },
            cardinality_limit: DATABASE_LIMIT,
        },
        float_observable_gauge test_coverage_percent {
            name: "contextd_test_coverage_percent",
            unit: "%",
            description: "Line coverage of the test suite, in percent.",
            labels: {},
        },
        observable_gauge tests_total {
            name: "contextd_tests_total",
            unit: "{test}",
            description: "Tests in the repository, by type.",
            labels: { "type": TestType },
        },
        observable_gauge bugs_total {
            name: "contextd_bugs_total",
            unit: "{bug}",
            description: "Tracked bugs, by severity and status.",
            labels: { "severity": Severity, "status": BugStatus },
        },
        observable_gauge regression_tests_total {
            name: "contextd_regression_tests_total",
            unit: "{test}",
            description: "Regression tests, by category.",
            labels: { "category": RegressionCategory },
        },
    }
}

/// Descriptors of the 25 instruments of [`ContextdMeters`], in declaration order.
pub const DESCRIPTORS: &[InstrumentDescriptor] = <ContextdMeters as InstrumentSet>::DESCRIPTORS;

/// Which crate implements a catalog entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementer {
    /// This crate ([`ContextdMeters`]).
    Catalog,
    /// `ferrotel-runtime`.
    RuntimeMetrics,
    /// `ferrotel-http`.
    HttpMiddleware,
}

impl Implementer {
    /// Package name.
    pub const fn crate_name(self) -> &'static str {
        match self {
            Implementer::Catalog => "ferrotel-catalog",
            Implementer::RuntimeMetrics => "ferrotel-runtime",
            Implementer::HttpMiddleware => "ferrotel-http",
        }
    }
}

/// One entry of the 31-instrument catalog.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CatalogEntry {
    /// Number in `instruments.md`.
    pub number: u8,
    /// Catalog section.
    pub group: &'static str,
    /// The instrument.
    pub descriptor: &'static InstrumentDescriptor,
    /// Crate that records it (and owns its descriptor).
    pub implemented_by: Implementer,
}

const fn m(number: u8, group: &'static str, i: usize) -> CatalogEntry {
    CatalogEntry {
        number,
        group,
        descriptor: &DESCRIPTORS[i],
        implemented_by: Implementer::Catalog,
    }
}

const BUSINESS: &str = "Business metrics";
const RUNTIME: &str = "Runtime metrics";
const HTTP: &str = "HTTP server metrics";

/// All 31 instruments of the contextd catalog, in `instruments.md` order (by number).
pub static CATALOG: [CatalogEntry; 31] = [
    m(1, BUSINESS, 0),
    m(2, BUSINESS, 1),
    m(3, BUSINESS, 2),
    m(4, BUSINESS, 3),
    m(5, BUSINESS, 4),
    m(6, BUSINESS, 5),
    m(7, BUSINESS, 6),
    m(8, BUSINESS, 7),
    m(9, BUSINESS, 8),
    m(10, BUSINESS, 9),
    m(11, BUSINESS, 10),
    m(12, BUSINESS, 11),
    m(13, BUSINESS, 12),
    m(14, BUSINESS, 13),
    m(15, BUSINESS, 14),
    m(16, BUSINESS, 15),
    m(17, BUSINESS, 16),
    m(18, BUSINESS, 17),
    m(19, BUSINESS, 18),
    m(20, BUSINESS, 19),
    m(21, BUSINESS, 20),
    CatalogEntry {
        number: 22,
        group: RUNTIME,
        descriptor: &runtime::HEAP_LIVE,
        implemented_by: Implementer::RuntimeMetrics,
    },
    CatalogEntry {
        number: 23,
        group: RUNTIME,
        descriptor: &runtime::HEAP_MAPPED,
        implemented_by: Implementer::RuntimeMetrics,
    },
    CatalogEntry {
        number: 24,
        group: RUNTIME,
        descriptor: &runtime::STALL_DURATION,
        implemented_by: Implementer::RuntimeMetrics,
    },
    CatalogEntry {
        number: 25,
        group: RUNTIME,
        descriptor: &runtime::ALIVE_TASKS,
        implemented_by: Implementer::RuntimeMetrics,
    },
    m(26, BUSINESS, 21),
    m(27, BUSINESS, 22),
    m(28, BUSINESS, 23),
    m(29, BUSINESS, 24),
    CatalogEntry {
        number: 30,
        group: HTTP,
        descriptor: &ferrotel_http::semconv::SERVER_REQUEST_DURATION,
        implemented_by: Implementer::HttpMiddleware,
    },
    CatalogEntry {
        number: 31,
        group: HTTP,
        descriptor: &ferrotel_http::semconv::SERVER_REQUESTS,
        implemented_by: Implementer::HttpMiddleware,
    },
];

/// Looks up a catalog entry by OTel name or Prometheus name.
pub fn find(name: &str) -> Option<&'static CatalogEntry> {
    CATALOG
        .iter()
        .find(|e| e.descriptor.name == name || e.descriptor.prometheus_name() == name)
}

impl ContextdMeters {
    /// Runs an MCP tool call, recording `contextd_mcp_tool_duration_seconds{tool_name}` and
    /// `contextd_mcp_tool_calls_total{tool_name,status}` from its outcome.
    pub fn tool_call<T, E>(&self, tool: Tool, op: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        Operation::new(&self.mcp_tool_duration, &self.mcp_tool_calls).observe(
            tool,
            |ok| (tool, Status::from_ok(ok)),
            op,
        )
    }

    /// Async form of [`tool_call`](Self::tool_call).
    pub async fn tool_call_async<T, E>(
        &self,
        tool: Tool,
        op: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        Operation::new(&self.mcp_tool_duration, &self.mcp_tool_calls)
            .observe_async(tool, |ok| (tool, Status::from_ok(ok)), op)
            .await
    }

    /// Runs a checkpoint operation, recording its duration and count.
    pub async fn checkpoint_op<T, E>(
        &self,
        op: CheckpointOp,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        Operation::new(&self.checkpoint_duration, &self.checkpoint_operations)
            .observe_async(op, |_| op, fut)
            .await
    }

    /// Runs a remediation operation, recording its duration and count.
    pub async fn remediation_op<T, E>(
        &self,
        op: RemediationOp,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        Operation::new(&self.remediation_duration, &self.remediation_operations)
            .observe_async(op, |_| op, fut)
            .await
    }

    /// Runs a skill operation, recording its duration and count.
    pub async fn skill_op<T, E>(
        &self,
        op: SkillOp,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        Operation::new(&self.skill_duration, &self.skill_operations)
            .observe_async(op, |_| op, fut)
            .await
    }

    /// Runs a vector-database operation: records its duration and count and, on error,
    /// `contextd_database_errors_total` with the error type given by `classify`.
    pub async fn database_op<T, E>(
        &self,
        op: DbOp,
        database: &str,
        collection: Collection,
        classify: impl FnOnce(&E) -> DbErrorType,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let timer = self.database_duration.start_timer((op, database));
        let result = fut.await;
        timer.stop();
        self.database_operations.add(1, (op, database, collection));
        if let Err(e) = &result {
            self.database_errors.add(1, (classify(e), database));
        }
        result
    }

    /// Records one embedding call: operations, duration, tokens and (for a priced model)
    /// cost in USD. Returns the cost recorded, if any.
    pub fn record_embedding(
        &self,
        provider: Provider,
        model: &str,
        tokens: u64,
        elapsed: Duration,
        prices: &PriceTable,
    ) -> Option<f64> {
        self.embedding_operations.add(1, (provider, model));
        self.embedding_duration
            .record_duration(elapsed, (provider, model));
        self.embedding_tokens.add(tokens, model);
        let cost = prices.cost_usd(model, tokens);
        if let Some(usd) = cost {
            self.embedding_cost.add(usd, model);
        }
        cost
    }

    /// Registers the four repository gauges (`contextd_test_coverage_percent`,
    /// `contextd_tests_total`, `contextd_bugs_total`, `contextd_regression_tests_total`)
    /// on a cache refreshed from files (see [`files::RepoScanner`]). A gauge whose part of the
    /// scan is not configured reports nothing.
    pub fn register_repo_source(&self, cache: &CachedSource<files::RepoInventory>) {
        let c = cache.clone();
        self.test_coverage_percent.register(move |o| {
            if let Some(pct) = c.fresh()?.coverage_percent {
                o.observe(pct, ());
            }
            Ok(())
        });
        let c = cache.clone();
        self.tests_total.register(move |o| {
            if let Some(by_type) = c.fresh()?.tests_by_type {
                for (t, n) in by_type {
                    o.observe(n, t);
                }
            }
            Ok(())
        });
        let c = cache.clone();
        self.bugs_total.register(move |o| {
            if let Some(bugs) = c.fresh()?.bugs {
                for ((sev, status), n) in bugs {
                    o.observe(n, (sev, status));
                }
            }
            Ok(())
        });
        let c = cache.clone();
        self.regression_tests_total.register(move |o| {
            if let Some(by_cat) = c.fresh()?.regression_tests {
                for (cat, n) in by_cat {
                    o.observe(n, cat);
                }
            }
            Ok(())
        });
    }
}
