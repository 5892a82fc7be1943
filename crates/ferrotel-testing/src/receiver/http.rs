//! OTLP/HTTP: `POST /v1/{traces,metrics,logs}` with protobuf or JSON bodies, optionally gzipped.

use std::io::Read as _;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;

use super::MAX_MESSAGE_BYTES;
use super::json;
use super::model::{RequestInfo, Signal, Transport};
use super::store::{Fault, Payload, Shared};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(Signal::Traces.http_path(), post(traces))
        .route(Signal::Metrics.http_path(), post(metrics))
        .route(Signal::Logs.http_path(), post(logs))
        .with_state(shared)
}

async fn traces(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    handle(&shared, Signal::Traces, req).await
}

async fn metrics(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    handle(&shared, Signal::Metrics, req).await
}

async fn logs(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    handle(&shared, Signal::Logs, req).await
}

pub(crate) fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_owned(), v.to_owned()))
        })
        .collect()
}

fn plain(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

async fn handle(shared: &Shared, signal: Signal, req: Request) -> Response {
    let headers = header_list(req.headers());
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let compression = req
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty() && v != "identity");

    let transport = match transport_of(signal, &content_type) {
        Ok(transport) => transport,
        Err(msg) => {
            shared.record_decode_error(msg.clone());
            return plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, msg);
        }
    };

    // Read the whole body before answering, faults included: answering early makes some
    // clients see a reset connection instead of the status code.
    let raw = match axum::body::to_bytes(req.into_body(), MAX_MESSAGE_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            let msg = format!("{signal}: could not read the request body: {e}");
            shared.record_decode_error(msg.clone());
            return plain(StatusCode::PAYLOAD_TOO_LARGE, msg);
        }
    };

    let info = |accepted| RequestInfo {
        signal,
        transport,
        headers: headers.clone(),
        compression: compression.clone(),
        accepted,
    };
    match shared.take_fault() {
        Some(Fault::Unavailable) => {
            shared.record(info(false), None);
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "fault injected: unavailable".into(),
            );
        }
        Some(Fault::BadRequest) => {
            shared.record(info(false), None);
            return plain(
                StatusCode::BAD_REQUEST,
                "fault injected: bad request".into(),
            );
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        None => {}
    }

    match decode_body(signal, transport, compression.as_deref(), &raw) {
        Ok(payload) => {
            shared.record(info(true), Some(payload));
            success(signal, transport)
        }
        Err((status, msg)) => {
            shared.record_decode_error(msg.clone());
            shared.record(info(false), None);
            plain(status, msg)
        }
    }
}

/// The transport a `Content-Type` (lowercase) selects, or the message for a 415.
pub(crate) fn transport_of(signal: Signal, content_type: &str) -> Result<Transport, String> {
    if content_type.starts_with(PROTOBUF) {
        Ok(Transport::HttpProtobuf)
    } else if content_type.starts_with(JSON) {
        Ok(Transport::HttpJson)
    } else {
        Err(format!(
            "{signal}: unsupported Content-Type {content_type:?} (expected {PROTOBUF} or {JSON})"
        ))
    }
}

/// Inflates (`compression` is the lowercase `Content-Encoding`, `None` for identity) and
/// decodes one request body, or says why not with the status to answer.
pub(crate) fn decode_body(
    signal: Signal,
    transport: Transport,
    compression: Option<&str>,
    raw: &[u8],
) -> Result<Payload, (StatusCode, String)> {
    let inflated;
    let body = match compression {
        None => raw,
        Some("gzip") => {
            inflated =
                gunzip(raw).map_err(|msg| (StatusCode::BAD_REQUEST, format!("{signal}: {msg}")))?;
            &inflated[..]
        }
        Some(other) => {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("{signal}: unsupported Content-Encoding {other:?} (expected gzip)"),
            ));
        }
    };
    decode(signal, transport, body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("{signal} over {transport}: {e}"),
        )
    })
}

fn gunzip(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(raw)
        .take(MAX_MESSAGE_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("invalid gzip body: {e}"))?;
    if out.len() > MAX_MESSAGE_BYTES {
        return Err(format!(
            "gzip body inflates beyond {MAX_MESSAGE_BYTES} bytes"
        ));
    }
    Ok(out)
}

fn decode(signal: Signal, transport: Transport, body: &[u8]) -> Result<Payload, String> {
    let protobuf_err = |e: prost::DecodeError| format!("invalid protobuf: {e}");
    match (signal, transport) {
        (Signal::Traces, Transport::HttpJson) => json::decode(body).map(Payload::Traces),
        (Signal::Metrics, Transport::HttpJson) => json::decode(body).map(Payload::Metrics),
        (Signal::Logs, Transport::HttpJson) => json::decode(body).map(Payload::Logs),
        (Signal::Traces, _) => ExportTraceServiceRequest::decode(body)
            .map(Payload::Traces)
            .map_err(protobuf_err),
        (Signal::Metrics, _) => ExportMetricsServiceRequest::decode(body)
            .map(Payload::Metrics)
            .map_err(protobuf_err),
        (Signal::Logs, _) => ExportLogsServiceRequest::decode(body)
            .map(Payload::Logs)
            .map_err(protobuf_err),
    }
}

/// A full-success export response in the request's encoding.
fn success(signal: Signal, transport: Transport) -> Response {
    let (content_type, body) = if transport == Transport::HttpJson {
        // Every field of a full-success response is default, so its OTLP/JSON form is `{}`.
        (JSON, b"{}".to_vec())
    } else {
        let bytes = match signal {
            Signal::Traces => ExportTraceServiceResponse::default().encode_to_vec(),
            Signal::Metrics => ExportMetricsServiceResponse::default().encode_to_vec(),
            Signal::Logs => ExportLogsServiceResponse::default().encode_to_vec(),
        };
        (PROTOBUF, bytes)
    };
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
