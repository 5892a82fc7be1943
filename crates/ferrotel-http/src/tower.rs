//! The tower [`Layer`]/[`Service`] (feature `tower`): works for axum, hyper and tonic services.
//!
//! With feature `axum`, add it with `Router::layer` so it runs after routing and sees the
//! matched route template (`axum::extract::MatchedPath`) and the peer address
//! (`axum::extract::ConnectInfo<SocketAddr>`). Other tower stacks supply the template by
//! inserting a [`RouteTemplate`] request extension before this layer; without one, `http.route`
//! is absent (never the raw path).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{HeaderValue, Request, Response};
use http_body::{Body, Frame, SizeHint};
use tower_layer::Layer;
use tower_service::Service;

use crate::headers::{HeaderAccess as _, HeaderExtractor};
use crate::instrumentation::{HttpInstrumentation, Observation, RequestInfo, announced_body_size};
use crate::semconv;

/// A route template supplied by a non-axum tower stack (for example a tonic service's method
/// path). Insert it as a request extension before [`HttpLayer`].
#[derive(Debug, Clone)]
pub struct RouteTemplate(pub std::sync::Arc<str>);

/// Tower layer adding semconv metrics, a server span, trace-context extraction and response
/// headers, and a request id to every request.
#[derive(Debug, Clone)]
pub struct HttpLayer {
    instrumentation: HttpInstrumentation,
}

impl HttpLayer {
    /// Creates the layer.
    pub fn new(instrumentation: HttpInstrumentation) -> Self {
        Self { instrumentation }
    }
}

impl<S> Layer<S> for HttpLayer {
    type Service = HttpService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpService {
            inner,
            instrumentation: self.instrumentation.clone(),
        }
    }
}

/// The service produced by [`HttpLayer`].
#[derive(Debug, Clone)]
pub struct HttpService<S> {
    inner: S,
    instrumentation: HttpInstrumentation,
}

/// The matched route template: axum's `MatchedPath` (feature `axum`), else a [`RouteTemplate`].
fn route_template<B>(req: &Request<B>) -> Option<&str> {
    #[cfg(feature = "axum")]
    if let Some(matched) = req.extensions().get::<axum::extract::MatchedPath>() {
        return Some(matched.as_str());
    }
    req.extensions().get::<RouteTemplate>().map(|r| &*r.0)
}

/// The peer address axum records with `into_make_service_with_connect_info::<SocketAddr>()`.
fn client_address<B>(req: &Request<B>) -> Option<std::net::IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(info.0.ip());
    }
    let _ = req;
    None
}

fn header_str<B>(req: &Request<B>, name: impl http::header::AsHeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body,
    ResBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let inner = &self.instrumentation.inner;
        let route = route_template(&req);
        let chunked = req.headers().contains_key(http::header::TRANSFER_ENCODING);
        let body_size =
            announced_body_size(header_str(&req, http::header::CONTENT_LENGTH), chunked)
                .or_else(|| req.body().size_hint().exact());
        let observation = inner.start(RequestInfo {
            method: req.method().as_str(),
            path: req.uri().path(),
            query: req.uri().query(),
            version: semconv::protocol_version(req.version()),
            route,
            user_agent: header_str(&req, http::header::USER_AGENT),
            client_address: client_address(&req),
            request_id: req
                .headers()
                .get(&inner.request_id_header)
                .map(HeaderValue::as_bytes),
            body_size,
            headers: &HeaderExtractor(req.headers()),
        });
        let Some(observation) = observation else {
            return ResponseFuture {
                inner: self.inner.call(req),
                observation: None,
            };
        };
        if observation.request_id.generated() {
            req.headers_mut()
                .set(&inner.request_id_header, observation.request_id.as_bytes());
        }
        let future = {
            let _entered = observation.span.enter();
            let _current = observation.attach();
            self.inner.call(req)
        };
        ResponseFuture {
            inner: future,
            observation: Some(observation),
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`HttpService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        observation: Option<Observation>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.observation {
            Some(obs) => {
                let _entered = obs.span.enter();
                let _current = obs.attach();
                ready!(this.inner.poll(cx))
            }
            None => ready!(this.inner.poll(cx)),
        };
        let mut observation = this.observation.take();
        Poll::Ready(match result {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                if let Some(obs) = observation.as_mut() {
                    let request_id_header = obs.request_id_header().clone();
                    obs.on_response(parts.status.as_u16(), None)
                        .write_to(&mut parts.headers, &request_id_header);
                }
                Ok(Response::from_parts(
                    parts,
                    ResponseBody {
                        inner: body,
                        observation,
                    },
                ))
            }
            Err(error) => {
                if let Some(obs) = observation.as_mut() {
                    obs.on_error();
                }
                Err(error)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// Response body of [`HttpService`]: counts bytes and records the request's metrics when
    /// the body ends or is dropped, so durations include streaming the body.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        observation: Option<Observation>,
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let Some(obs) = this.observation.as_mut() {
            match &frame {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        obs.add_response_bytes(bytes::Buf::remaining(data));
                    }
                }
                Some(Err(_)) => obs.on_error(),
                None => {}
            }
            if frame.as_ref().is_none_or(|f| f.is_err()) {
                obs.finish();
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
