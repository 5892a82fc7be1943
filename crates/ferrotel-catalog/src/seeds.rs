//! The instrument sets of the other seed services, declared with the same mechanism as
//! contextd's to show it is general: [`AutomationMeters`] (seed 003, an AI automation service
//! scraped on `/metrics`) and [`AgentTraceMeters`] (seed 004, an ingestion API with workers and
//! database pools). Every name is chosen to survive Prometheus translation unchanged (tested).

use ferrotel_meters::{DURATION_BUCKETS, FreeForm};

/// Byte-size buckets for request/response body histograms: 100 B .. 10 MB.
pub const SIZE_BUCKETS: &[f64] = &[
    100.0,
    1_000.0,
    10_000.0,
    100_000.0,
    1_000_000.0,
    10_000_000.0,
];

ferrotel_meters::label_enum! {
    /// Outcome of an AI request (`status`).
    pub enum AiStatus {
        /// `success`
        Success = "success",
        /// `error`
        Error = "error",
    }
}

ferrotel_meters::label_enum! {
    /// Outcome of a selector request (`status`).
    pub enum SelectorStatus {
        /// `ok`
        Ok = "ok",
        /// `error`
        Error = "error",
    }
}

ferrotel_meters::label_enum! {
    /// Where a selector answer came from (`source`).
    pub enum SelectorSource {
        /// Computed now.
        Fresh = "fresh",
        /// Served from cache.
        Cache = "cache",
        /// Degraded fallback.
        Degraded = "degraded",
    }
}

ferrotel_meters::instrument_set! {
    /// Seed 003: the automation service (`ai_*`, `selector_*`, build info).
    pub struct AutomationMeters {
        counter ai_requests {
            name: "ai_requests_total",
            unit: "{request}",
            description: "AI tool executions, by status and tool.",
            labels: { "status": AiStatus, "tool": FreeForm },
            cardinality_limit: 100,
        },
        histogram ai_request_duration {
            name: "ai_request_duration_seconds",
            unit: "s",
            description: "AI tool execution duration, by tool.",
            labels: { "tool": FreeForm },
            buckets: DURATION_BUCKETS,
            cardinality_limit: 100,
        },
        counter ai_request_errors {
            name: "ai_request_errors_total",
            unit: "{error}",
            description: "AI tool executions that failed, by tool.",
            labels: { "tool": FreeForm },
            cardinality_limit: 100,
        },
        counter selector_requests {
            name: "selector_requests_total",
            unit: "{request}",
            description: "Selector requests, by status and answer source.",
            labels: { "status": SelectorStatus, "source": SelectorSource },
        },
        histogram selector_request_duration {
            name: "selector_request_duration_seconds",
            unit: "s",
            description: "Selector request duration.",
            labels: { "source": SelectorSource },
            buckets: DURATION_BUCKETS,
        },
        counter selector_cache_hits {
            name: "selector_cache_hits_total",
            unit: "{hit}",
            description: "Selector cache hits.",
            labels: {},
        },
        counter selector_cache_misses {
            name: "selector_cache_misses_total",
            unit: "{miss}",
            description: "Selector cache misses.",
            labels: {},
        },
        counter selector_cache_evictions {
            name: "selector_cache_evictions_total",
            unit: "{eviction}",
            description: "Selector cache evictions.",
            labels: {},
        },
        observable_gauge selector_cache_entries {
            name: "selector_cache_entries",
            unit: "{entry}",
            description: "Entries currently in the selector cache.",
            labels: {},
        },
        observable_gauge selector_cache_ttl {
            name: "selector_cache_ttl_seconds",
            unit: "s",
            description: "Configured selector cache TTL.",
            labels: {},
        },
        counter selector_db_errors {
            name: "selector_db_errors_total",
            unit: "{error}",
            description: "Selector database errors.",
            labels: {},
        },
        observable_gauge build_info {
            name: "automation_build_info",
            unit: "",
            description: "Build information; always 1.",
            labels: { "version": FreeForm, "git_commit": FreeForm, "built_at": FreeForm },
            cardinality_limit: 4,
        },
    }
}

ferrotel_meters::label_enum! {
    /// HTTP request method (`method`).
    pub enum HttpMethod {
        /// `GET`
        Get = "GET",
        /// `POST`
        Post = "POST",
        /// `PUT`
        Put = "PUT",
        /// `PATCH`
        Patch = "PATCH",
        /// `DELETE`
        Delete = "DELETE",
        /// `HEAD`
        Head = "HEAD",
        /// `OPTIONS`
        Options = "OPTIONS",
        /// Any other method.
        Other = "_OTHER",
    }
}

ferrotel_meters::label_enum! {
    /// Outcome of a worker job (`status`).
    pub enum JobStatus {
        /// `completed`
        Completed = "completed",
        /// `failed`
        Failed = "failed",
        /// `retried`
        Retried = "retried",
    }
}

ferrotel_meters::label_enum! {
    /// Database behind a pool or query (`db`).
    pub enum Database {
        /// `postgres`
        Postgres = "postgres",
        /// `clickhouse`
        Clickhouse = "clickhouse",
        /// `redis`
        Redis = "redis",
    }
}

ferrotel_meters::instrument_set! {
    /// Seed 004: the AgentTrace API and workers (HTTP, business, worker and database-pool metrics).
    pub struct AgentTraceMeters {
        counter http_requests {
            name: "http_requests_total",
            unit: "{request}",
            description: "HTTP requests, by method, route template and status code.",
            labels: { "method": HttpMethod, "path": FreeForm, "status": FreeForm },
            cardinality_limit: 1000,
        },
        histogram http_request_duration {
            name: "http_request_duration_seconds",
            unit: "s",
            description: "HTTP request latency, by method and route template.",
            labels: { "method": HttpMethod, "path": FreeForm },
            buckets: DURATION_BUCKETS,
            cardinality_limit: 500,
        },
        histogram http_request_size {
            name: "http_request_size_bytes",
            unit: "By",
            description: "HTTP request body sizes.",
            labels: { "method": HttpMethod },
            buckets: SIZE_BUCKETS,
        },
        histogram http_response_size {
            name: "http_response_size_bytes",
            unit: "By",
            description: "HTTP response body sizes.",
            labels: { "method": HttpMethod },
            buckets: SIZE_BUCKETS,
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
        counter worker_jobs_processed {
            name: "worker_jobs_processed_total",
            unit: "{job}",
            description: "Jobs processed, by job type and status.",
            labels: { "type": FreeForm, "status": JobStatus },
            cardinality_limit: 200,
        },
        histogram worker_job_duration {
            name: "worker_job_duration_seconds",
            unit: "s",
            description: "Job processing time, by job type.",
            labels: { "type": FreeForm },
            buckets: DURATION_BUCKETS,
            cardinality_limit: 100,
        },
        observable_gauge worker_queue_depth {
            name: "worker_queue_depth",
            unit: "{job}",
            description: "Jobs waiting, by queue.",
            labels: { "queue": FreeForm },
            cardinality_limit: 100,
        },
        up_down_counter worker_active_jobs {
            name: "worker_active_jobs",
            unit: "{job}",
            description: "Jobs currently processing.",
            labels: {},
        },
        observable_gauge db_connections_active {
            name: "db_connections_active",
            unit: "{connection}",
            description: "Active (in use) pool connections, by database.",
            labels: { "db": Database },
        },
        observable_gauge db_connections_idle {
            name: "db_connections_idle",
            unit: "{connection}",
            description: "Idle pool connections, by database.",
            labels: { "db": Database },
        },
        observable_gauge db_connections_max {
            name: "db_connections_max",
            unit: "{connection}",
            description: "Maximum pool size, by database.",
            labels: { "db": Database },
        },
        histogram db_query_duration {
            name: "db_query_duration_seconds",
            unit: "s",
            description: "Query execution time, by database.",
            labels: { "db": Database },
            buckets: DURATION_BUCKETS,
        },
        counter clickhouse_insert_rows {
            name: "clickhouse_insert_rows_total",
            unit: "{row}",
            description: "Rows inserted into ClickHouse, by table.",
            labels: { "table": FreeForm },
            cardinality_limit: 100,
        },
    }
}
