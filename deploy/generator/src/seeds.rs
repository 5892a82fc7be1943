//! Instrument sets of the other services in the seed documents, declared with the same
//! [`instrument_set!`](telemetry_meters::instrument_set) mechanism as the contextd catalog.
//!
//! Seed 003 (an automation service with an AI execution path and a selector cache, pull model)
//! and seed 004 (AgentTrace: HTTP, ingestion, worker and database-pool metrics) name their
//! series but publish no catalog. These declarations are that catalog: a service of either
//! kind that records through these sets exposes exactly the names the seed 003/004 dashboards
//! and `deploy/rules/service.rules.yml` query. (They could move into `telemetry-meters` next to
//! `contextd` if those services are ported.)

use telemetry_meters::{
    DURATION_BUCKETS, FreeForm, InstrumentDescriptor, InstrumentSet, instrument_set, label_enum,
};

label_enum! {
    /// Outcome of an AI execution request (`status`).
    pub enum AiStatus {
        /// The request succeeded.
        Success = "success",
        /// The request failed.
        Error = "error",
    }
}

label_enum! {
    /// Outcome of a selector request (`status`).
    pub enum SelectorStatus {
        /// Answered.
        Ok = "ok",
        /// Failed.
        Error = "error",
    }
}

label_enum! {
    /// Where a selector answer came from (`source`).
    pub enum SelectorSource {
        /// Computed now.
        Fresh = "fresh",
        /// Served from the cache.
        Cache = "cache",
        /// Served stale because the database failed.
        Degraded = "degraded",
    }
}

instrument_set! {
    /// Seed 003: the automation service's AI execution metrics (`/metrics`, pull model).
    pub struct AutomationMeters {
        counter requests {
            name: "ai_requests_total",
            unit: "{request}",
            description: "AI execution requests by outcome and tool.",
            labels: { "status": AiStatus, "tool": FreeForm },
            cardinality_limit: 100,
        },
        counter request_errors {
            name: "ai_request_errors_total",
            unit: "{error}",
            description: "Failed AI execution requests by tool and failure reason.",
            labels: { "tool": FreeForm, "reason": FreeForm },
            cardinality_limit: 200,
        },
        histogram request_duration {
            name: "ai_request_duration_seconds",
            unit: "s",
            description: "AI execution request duration by tool.",
            labels: { "tool": FreeForm },
            buckets: DURATION_BUCKETS,
            cardinality_limit: 100,
        },
    }
}

instrument_set! {
    /// Seed 003: the selector (a cached lookup service) metrics.
    pub struct SelectorMeters {
        counter requests {
            name: "selector_requests_total",
            unit: "{request}",
            description: "Selector requests by outcome and answer source.",
            labels: { "status": SelectorStatus, "source": SelectorSource },
        },
        histogram request_duration {
            name: "selector_request_duration_seconds",
            unit: "s",
            description: "Selector request duration.",
            labels: {},
            buckets: DURATION_BUCKETS,
        },
        counter cache_hits {
            name: "selector_cache_hits_total",
            unit: "{hit}",
            description: "Selector cache hits.",
            labels: {},
        },
        counter cache_misses {
            name: "selector_cache_misses_total",
            unit: "{miss}",
            description: "Selector cache misses.",
            labels: {},
        },
        counter cache_evictions {
            name: "selector_cache_evictions_total",
            unit: "{eviction}",
            description: "Entries evicted from the selector cache.",
            labels: {},
        },
        counter db_errors {
            name: "selector_db_errors_total",
            unit: "{error}",
            description: "Selector database errors.",
            labels: {},
        },
        observable_gauge cache_entries {
            name: "selector_cache_entries",
            unit: "{entry}",
            description: "Entries currently in the selector cache.",
            labels: {},
        },
        float_observable_gauge cache_ttl {
            name: "selector_cache_ttl_seconds",
            unit: "s",
            description: "Configured selector cache TTL.",
            labels: {},
        },
        observable_gauge build_info {
            name: "selector_build_info",
            unit: "{info}",
            description: "Always 1; the labels carry the build's version, git commit and build time.",
            labels: { "version": FreeForm, "git_commit": FreeForm, "built_at": FreeForm },
            cardinality_limit: 4,
        },
    }
}

instrument_set! {
    /// Seed 004: AgentTrace's API, ingestion, worker and database metrics.
    pub struct AgentTraceMeters {
        counter http_requests {
            name: "http_requests_total",
            unit: "{request}",
            description: "HTTP requests by method, route template and status.",
            labels: { "method": FreeForm, "path": FreeForm, "status": FreeForm },
            cardinality_limit: 500,
        },
        histogram http_request_duration {
            name: "http_request_duration_seconds",
            unit: "s",
            description: "HTTP request latency.",
            labels: { "method": FreeForm, "path": FreeForm },
            buckets: DURATION_BUCKETS,
            cardinality_limit: 500,
        },
        histogram http_request_size {
            name: "http_request_size_bytes",
            unit: "By",
            description: "HTTP request body sizes.",
            labels: {},
        },
        histogram http_response_size {
            name: "http_response_size_bytes",
            unit: "By",
            description: "HTTP response body sizes.",
            labels: {},
        },
        counter traces_ingested {
            name: "traces_ingested_total",
            unit: "{trace}",
            description: "Traces ingested.",
            labels: {},
        },
        counter observations_ingested {
            name: "observations_ingested_total",
            unit: "{observation}",
            description: "Observations ingested.",
            labels: {},
        },
        counter scores_created {
            name: "scores_created_total",
            unit: "{score}",
            description: "Scores created.",
            labels: {},
        },
        counter api_keys_created {
            name: "api_keys_created_total",
            unit: "{key}",
            description: "API keys generated.",
            labels: {},
        },
        counter worker_jobs {
            name: "worker_jobs_processed_total",
            unit: "{job}",
            description: "Jobs processed by type and status.",
            labels: { "type": FreeForm, "status": FreeForm },
            cardinality_limit: 100,
        },
        histogram worker_job_duration {
            name: "worker_job_duration_seconds",
            unit: "s",
            description: "Job processing time.",
            labels: { "type": FreeForm },
            buckets: DURATION_BUCKETS,
            cardinality_limit: 50,
        },
        observable_gauge worker_queue_depth {
            name: "worker_queue_depth",
            unit: "{job}",
            description: "Current queue depth by queue.",
            labels: { "queue": FreeForm },
            cardinality_limit: 50,
        },
        observable_gauge worker_active_jobs {
            name: "worker_active_jobs",
            unit: "{job}",
            description: "Jobs being processed now.",
            labels: {},
        },
        observable_gauge db_connections_active {
            name: "db_connections_active",
            unit: "{connection}",
            description: "Database connections in use.",
            labels: {},
        },
        observable_gauge db_connections_idle {
            name: "db_connections_idle",
            unit: "{connection}",
            description: "Idle database connections.",
            labels: {},
        },
        observable_gauge db_connections_max {
            name: "db_connections_max",
            unit: "{connection}",
            description: "Configured maximum of the database pool (the DatabasePoolNearlyExhausted alert divides by it).",
            labels: {},
        },
        histogram db_query_duration {
            name: "db_query_duration_seconds",
            unit: "s",
            description: "Database query execution time.",
            labels: {},
            buckets: DURATION_BUCKETS,
        },
        counter clickhouse_insert_rows {
            name: "clickhouse_insert_rows_total",
            unit: "{row}",
            description: "Rows inserted into ClickHouse.",
            labels: {},
        },
    }
}

/// Every seed instrument set, with the name dashboards and docs use for it.
pub fn seed_sets() -> [(&'static str, &'static [InstrumentDescriptor]); 3] {
    [
        ("seed 003 automation", AutomationMeters::DESCRIPTORS),
        ("seed 003 selector", SelectorMeters::DESCRIPTORS),
        ("seed 004 agenttrace", AgentTraceMeters::DESCRIPTORS),
    ]
}
