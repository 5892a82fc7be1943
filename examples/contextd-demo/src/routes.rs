//! The HTTP API (axum): MCP tool calls, skills, the demo's own telemetry counters, plus the
//! middleware's health endpoints and Prometheus `/metrics`.
//!
//! | route | what |
//! |---|---|
//! | `POST /mcp/tools/{tool}` | one MCP tool call (`checkpoint_save`, `checkpoint_search`, ...); JSON body `{"text": .., "top_k": ..}` |
//! | `POST /v1/skills` | create a skill, body `{"name": ..}` |
//! | `POST /v1/skills/{id}/apply` | apply a skill (`any` picks a stored one) |
//! | `GET /demo/stats` | spans/points/logs emitted, exported, failed, dropped so far |
//! | `/health`, `/livez`, `/readyz`, `/version` | health endpoints (ferrotel-http) |
//! | `GET /metrics` | Prometheus / OpenMetrics exposition of every instrument |

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ferrotel_catalog::contextd::Tool;
use serde_json::{Value, json};

use crate::service::{Service, ServiceError};

/// Reports the telemetry counters as JSON (for `/demo/stats`).
pub type StatsFn = Arc<dyn Fn() -> Value + Send + Sync>;

#[derive(Clone)]
struct AppState {
    service: Arc<Service>,
    stats: StatsFn,
}

/// The application routes (without the middleware layer).
pub fn router(service: Arc<Service>, stats: StatsFn) -> Router {
    Router::new()
        .route("/mcp/tools/{tool}", post(tool_call))
        .route("/v1/skills", post(skill_create))
        .route("/v1/skills/{id}/apply", post(skill_apply))
        .route("/demo/stats", get(demo_stats))
        .with_state(AppState { service, stats })
}

fn body_json(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn error_response(e: ServiceError) -> Response {
    let status = match e {
        ServiceError::NoSuchSkill => StatusCode::NOT_FOUND,
        ServiceError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (
        status,
        axum::Json(json!({ "error": e.to_string(), "error_type": e.kind() })),
    )
        .into_response()
}

async fn tool_call(State(st): State<AppState>, Path(name): Path<String>, body: Bytes) -> Response {
    let Some(tool) = Tool::ALL.iter().find(|t| t.as_str() == name).copied() else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": "unknown tool", "tools": Tool::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>() })),
        )
            .into_response();
    };
    match st.service.call_tool(tool, &body_json(&body)).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => error_response(e),
    }
}

async fn skill_create(State(st): State<AppState>, body: Bytes) -> Response {
    let args = body_json(&body);
    let name = args
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("retry flaky test");
    match st.service.skill_create(name).await {
        Ok(v) => (StatusCode::CREATED, axum::Json(v)).into_response(),
        Err(e) => error_response(e),
    }
}

async fn skill_apply(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let id = (id != "any").then_some(id);
    match st.service.skill_apply(id.as_deref()).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => error_response(e),
    }
}

async fn demo_stats(State(st): State<AppState>) -> Response {
    axum::Json((st.stats)()).into_response()
}
