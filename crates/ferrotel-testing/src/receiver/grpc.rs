//! OTLP/gRPC: the generated `TraceService`/`MetricsService`/`LogsService` servers, gzip
//! accepted, routed by tonic and served by the same connection loop as OTLP/HTTP.

use std::sync::Arc;

use axum::Router;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use super::MAX_MESSAGE_BYTES;
use super::http::header_list;
use super::model::{RequestInfo, Signal, Transport};
use super::store::{Fault, Payload, Shared};

#[derive(Clone)]
struct Sink(Arc<Shared>);

impl Sink {
    async fn accept<T>(
        &self,
        signal: Signal,
        request: Request<T>,
        wrap: fn(T) -> Payload,
    ) -> Result<(), Status> {
        let headers = header_list(&request.metadata().clone().into_headers());
        let compression = request
            .metadata()
            .get("grpc-encoding")
            .and_then(|v| v.to_str().ok())
            .filter(|v| *v != "identity")
            .map(str::to_owned);
        let info = |accepted| RequestInfo {
            signal,
            transport: Transport::Grpc,
            headers: headers.clone(),
            compression: compression.clone(),
            accepted,
        };
        match self.0.take_fault() {
            Some(Fault::Unavailable) => {
                self.0.record(info(false), None);
                return Err(Status::unavailable("fault injected: unavailable"));
            }
            Some(Fault::BadRequest) => {
                self.0.record(info(false), None);
                return Err(Status::invalid_argument("fault injected: bad request"));
            }
            Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
            None => {}
        }
        self.0.record(info(true), Some(wrap(request.into_inner())));
        Ok(())
    }
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.accept(Signal::Traces, request, Payload::Traces)
            .await?;
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.accept(Signal::Metrics, request, Payload::Metrics)
            .await?;
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Sink {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.accept(Signal::Logs, request, Payload::Logs).await?;
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let sink = Sink(shared);
    tonic::service::Routes::new(
        TraceServiceServer::new(sink.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
    )
    .add_service(
        MetricsServiceServer::new(sink.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
    )
    .add_service(
        LogsServiceServer::new(sink)
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
    )
    .prepare()
    .into_axum_router()
}
