//! Health endpoints (`/health`, `/livez`, `/readyz`, `/version`) with async dependency checks.
//!
//! Every check runs concurrently under its own timeout: a hung check reports `timeout` and a
//! panicking check reports `unhealthy`; neither can hang or crash the endpoint.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde::Serialize;

/// Default per-check timeout.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

type CheckFn = dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync;

struct Check {
    name: String,
    required: bool,
    timeout: Duration,
    run: Box<CheckFn>,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("name", &self.name)
            .field("required", &self.required)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Options of one dependency check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    name: String,
    required: bool,
    timeout: Duration,
}

impl CheckOptions {
    /// A required check named `name` with the default timeout.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            required: true,
            timeout: DEFAULT_CHECK_TIMEOUT,
        }
    }

    /// Marks the check optional: its failure degrades `/health` but does not fail `/readyz`.
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    /// Sets the timeout after which the check reports `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Build and version facts reported by `/version` and `/health`.
#[derive(Debug, Clone, Default)]
struct BuildInfo {
    version: String,
    git_commit: Option<String>,
    build_time: Option<String>,
}

/// The registered checks plus build facts; cheap to clone and shared by the endpoints.
#[derive(Debug, Clone)]
pub struct HealthRegistry {
    inner: Arc<RegistryInner>,
}

#[derive(Debug)]
struct RegistryInner {
    checks: Vec<Check>,
    build: BuildInfo,
    started: Instant,
}

/// Builder for [`HealthRegistry`].
#[derive(Debug, Default)]
pub struct HealthRegistryBuilder {
    checks: Vec<Check>,
    build: BuildInfo,
}

impl HealthRegistryBuilder {
    /// The service version (for example `env!("CARGO_PKG_VERSION")`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.build.version = version.into();
        self
    }

    /// The git commit the service was built from.
    pub fn git_commit(mut self, commit: impl Into<String>) -> Self {
        self.build.git_commit = Some(commit.into());
        self
    }

    /// The build timestamp (RFC 3339 recommended).
    pub fn build_time(mut self, time: impl Into<String>) -> Self {
        self.build.build_time = Some(time.into());
        self
    }

    /// Adds a required check named `name` with the default timeout. The closure returns a
    /// future resolving to `Ok(())` when healthy or `Err(message)` otherwise.
    pub fn check<F, Fut>(self, name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.check_with(CheckOptions::new(name), check)
    }

    /// Adds a check with explicit [`CheckOptions`].
    pub fn check_with<F, Fut>(mut self, options: CheckOptions, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push(Check {
            name: options.name,
            required: options.required,
            timeout: options.timeout,
            run: Box::new(move || Box::pin(check())),
        });
        self
    }

    /// Finishes the registry; uptime counts from now.
    pub fn build(self) -> HealthRegistry {
        HealthRegistry {
            inner: Arc::new(RegistryInner {
                checks: self.checks,
                build: self.build,
                started: Instant::now(),
            }),
        }
    }
}

/// Status of one check or of the whole service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Everything passed.
    Healthy,
    /// Only optional checks failed (overall status only).
    Degraded,
    /// A check failed (or, overall: a required check failed).
    Unhealthy,
    /// The check did not finish within its timeout.
    Timeout,
}

/// Result of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// `healthy`, `unhealthy` or `timeout`.
    pub status: Status,
    /// Wall time the check took (its timeout when it timed out).
    pub latency_ms: u64,
    /// Whether a failure of this check fails `/readyz`.
    pub required: bool,
    /// The check's error message, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `/health` document.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// `healthy`, `degraded` (optional checks failing) or `unhealthy` (a required check failing).
    pub status: Status,
    /// Each check by name.
    pub checks: BTreeMap<String, CheckResult>,
    /// Service version.
    pub version: String,
    /// Uptime formatted like `2h15m30s`.
    pub uptime: String,
}

impl HealthReport {
    /// 503 when a required check fails, 200 otherwise.
    pub fn http_status(&self) -> u16 {
        if self.status == Status::Unhealthy {
            503
        } else {
            200
        }
    }
}

/// The `/version` document.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    /// Service version.
    pub version: String,
    /// Git commit, when known.
    pub git_commit: Option<String>,
    /// Build time, when known.
    pub build_time: Option<String>,
    /// Uptime formatted like `2h15m30s`.
    pub uptime: String,
    /// Uptime in whole seconds.
    pub uptime_seconds: u64,
}

/// Formats a duration as `2h15m30s` (seed 004's format).
pub fn format_uptime(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

impl HealthRegistry {
    /// Starts building a registry.
    pub fn builder() -> HealthRegistryBuilder {
        HealthRegistryBuilder::default()
    }

    fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Runs every check concurrently (each under its timeout) and returns the `/health` report.
    pub async fn health(&self) -> HealthReport {
        self.report(|_| true).await
    }

    /// Runs the required checks; the report's [`HealthReport::http_status`] is the `/readyz` status.
    pub async fn readiness(&self) -> HealthReport {
        self.report(|c| c.required).await
    }

    async fn report(&self, include: impl Fn(&Check) -> bool) -> HealthReport {
        let runs = self
            .inner
            .checks
            .iter()
            .filter(|c| include(c))
            .map(|check| async move {
                let start = Instant::now();
                let outcome = tokio::time::timeout(
                    check.timeout,
                    AssertUnwindSafe((check.run)()).catch_unwind(),
                )
                .await;
                let latency_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
                let (status, error) = match outcome {
                    Ok(Ok(Ok(()))) => (Status::Healthy, None),
                    Ok(Ok(Err(message))) => (Status::Unhealthy, Some(message)),
                    Ok(Err(_panic)) => (Status::Unhealthy, Some("check panicked".to_owned())),
                    Err(_elapsed) => (
                        Status::Timeout,
                        Some(format!("no answer within {} ms", check.timeout.as_millis())),
                    ),
                };
                (
                    check.name.clone(),
                    CheckResult {
                        status,
                        latency_ms,
                        required: check.required,
                        error,
                    },
                )
            });
        let checks: BTreeMap<_, _> = futures_util::future::join_all(runs)
            .await
            .into_iter()
            .collect();
        let failing = |required: bool| {
            checks
                .values()
                .any(|c| c.required == required && c.status != Status::Healthy)
        };
        let status = if failing(true) {
            Status::Unhealthy
        } else if failing(false) {
            Status::Degraded
        } else {
            Status::Healthy
        };
        HealthReport {
            status,
            checks,
            version: self.inner.build.version.clone(),
            uptime: format_uptime(self.uptime()),
        }
    }

    /// The `/version` document.
    pub fn version_info(&self) -> VersionInfo {
        let uptime = self.uptime();
        VersionInfo {
            version: self.inner.build.version.clone(),
            git_commit: self.inner.build.git_commit.clone(),
            build_time: self.inner.build.build_time.clone(),
            uptime: format_uptime(uptime),
            uptime_seconds: uptime.as_secs(),
        }
    }
}

/// A JSON response: status code and body. The framework adapters turn it into responses.
#[derive(Debug, Clone)]
pub struct JsonResponse {
    /// HTTP status code.
    pub status: u16,
    /// JSON body.
    pub body: String,
}

fn json(status: u16, value: &impl Serialize) -> JsonResponse {
    let body = serde_json::to_string(value).unwrap_or_else(|e| {
        format!("{{\"status\":\"unhealthy\",\"error\":\"encoding failed: {e}\"}}")
    });
    JsonResponse { status, body }
}

/// Framework-independent handlers.
impl HealthRegistry {
    /// `/health`: 200 when healthy or degraded, 503 when a required check fails.
    pub async fn health_response(&self) -> JsonResponse {
        let report = self.health().await;
        json(report.http_status(), &report)
    }

    /// `/livez`: 200 while the process serves requests (checks are not run: a failing database
    /// must not get the pod restarted).
    pub fn livez_response(&self) -> JsonResponse {
        json(200, &serde_json::json!({ "status": "ok" }))
    }

    /// `/readyz`: 503 while any required check fails.
    pub async fn readyz_response(&self) -> JsonResponse {
        let report = self.readiness().await;
        let status = report.http_status();
        json(status, &report)
    }

    /// `/version`.
    pub fn version_response(&self) -> JsonResponse {
        json(200, &self.version_info())
    }
}

/// axum routes for the health endpoints (feature `axum`).
#[cfg(feature = "axum")]
pub mod axum {
    use super::{HealthRegistry, JsonResponse};
    use ::axum::Router;
    use ::axum::response::{IntoResponse, Response};
    use ::axum::routing::get;

    fn into_response(r: JsonResponse) -> Response {
        let status =
            http::StatusCode::from_u16(r.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(http::header::CONTENT_TYPE, "application/json")],
            r.body,
        )
            .into_response()
    }

    /// A router serving `/health`, `/livez`, `/readyz` and `/version`. Merge it into your app.
    pub fn router<S: Clone + Send + Sync + 'static>(registry: HealthRegistry) -> Router<S> {
        let (h, r, l, v) = (
            registry.clone(),
            registry.clone(),
            registry.clone(),
            registry,
        );
        Router::new()
            .route(
                "/health",
                get(move || async move { into_response(h.health_response().await) }),
            )
            .route(
                "/readyz",
                get(move || async move { into_response(r.readyz_response().await) }),
            )
            .route(
                "/livez",
                get(move || async move { into_response(l.livez_response()) }),
            )
            .route(
                "/version",
                get(move || async move { into_response(v.version_response()) }),
            )
    }
}

/// actix-web service configuration for the health endpoints (feature `actix`).
#[cfg(feature = "actix")]
pub mod actix {
    use super::{HealthRegistry, JsonResponse};
    use actix_web::{HttpResponse, web};

    fn into_response(r: JsonResponse) -> HttpResponse {
        let status = actix_web::http::StatusCode::from_u16(r.status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status)
            .content_type("application/json")
            .body(r.body)
    }

    /// Registers `/health`, `/livez`, `/readyz` and `/version`:
    /// `App::new().configure(health::actix::configure(registry))`.
    pub fn configure(registry: HealthRegistry) -> impl FnOnce(&mut web::ServiceConfig) {
        move |cfg| {
            cfg.app_data(web::Data::new(registry))
                .route(
                    "/health",
                    web::get().to(|r: web::Data<HealthRegistry>| async move {
                        into_response(r.health_response().await)
                    }),
                )
                .route(
                    "/readyz",
                    web::get().to(|r: web::Data<HealthRegistry>| async move {
                        into_response(r.readyz_response().await)
                    }),
                )
                .route(
                    "/livez",
                    web::get().to(|r: web::Data<HealthRegistry>| async move {
                        into_response(r.livez_response())
                    }),
                )
                .route(
                    "/version",
                    web::get().to(|r: web::Data<HealthRegistry>| async move {
                        into_response(r.version_response())
                    }),
                );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_format() {
        assert_eq!(format_uptime(Duration::from_secs(8130)), "2h15m30s");
        assert_eq!(format_uptime(Duration::from_secs(61)), "1m1s");
        assert_eq!(format_uptime(Duration::from_secs(5)), "5s");
    }

    #[tokio::test]
    async fn statuses_combine() {
        let registry = HealthRegistry::builder()
            .version("1.2.3")
            .check("ok", || async { Ok(()) })
            .check_with(CheckOptions::new("flaky").optional(), || async {
                Err("down".into())
            })
            .build();
        let report = registry.health().await;
        assert_eq!(report.status, Status::Degraded);
        assert_eq!(report.http_status(), 200);
        assert_eq!(registry.readiness().await.checks.len(), 1);

        let panicking = HealthRegistry::builder()
            .check("boom", || async { panic!("check bug") })
            .build();
        let report = panicking.health().await;
        assert_eq!(report.checks["boom"].status, Status::Unhealthy);
        assert_eq!(report.http_status(), 503);
    }
}
