//! The actix-web middleware (feature `actix`). Wrap the whole `App` with it
//! (`App::new().wrap(HttpMiddleware::new(instrumentation))`): the route template comes from
//! `HttpRequest::match_pattern`, absent when no resource matched.
//!
//! An `App`-level middleware runs before actix routes the request, and matching the path
//! against the resource map then costs as much as routing itself. So the route is read once the
//! wrapped service has answered (a walk along the matched resource path), and the span is
//! renamed `{method} {route}` then; it starts as `{method}`. `http.route` is not among the
//! semconv attributes that samplers need at span creation. When the wrapped service fails
//! without a response (an inner middleware's `Err`; handler errors are responses), the request
//! is recorded without a route.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::Error;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use bytes::Bytes;

use crate::headers::{HeaderAccess as _, HeaderExtractor};
use crate::instrumentation::{HttpInstrumentation, Observation, RequestInfo, announced_body_size};

/// actix-web middleware adding semconv metrics, a server span, trace-context extraction and
/// response headers, and a request id to every request.
#[derive(Debug, Clone)]
pub struct HttpMiddleware {
    instrumentation: HttpInstrumentation,
}

impl HttpMiddleware {
    /// Creates the middleware.
    pub fn new(instrumentation: HttpInstrumentation) -> Self {
        Self { instrumentation }
    }
}

impl<S, B> Transform<S, ServiceRequest> for HttpMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<ResponseBody<B>>;
    type Error = Error;
    type Transform = HttpMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let request_id_header = HeaderName::from_bytes(
            self.instrumentation
                .inner
                .request_id_header
                .as_str()
                .as_bytes(),
        )
        .unwrap_or(HeaderName::from_static(
            crate::instrumentation::DEFAULT_REQUEST_ID_HEADER,
        ));
        ready(Ok(HttpMiddlewareService {
            service: Rc::new(service),
            instrumentation: self.instrumentation.clone(),
            request_id_header,
        }))
    }
}

/// The service produced by [`HttpMiddleware`].
#[derive(Debug)]
pub struct HttpMiddlewareService<S> {
    service: Rc<S>,
    instrumentation: HttpInstrumentation,
    request_id_header: HeaderName,
}

fn protocol_version(version: actix_web::http::Version) -> &'static str {
    use actix_web::http::Version;
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "_OTHER",
    }
}

impl<S, B> Service<ServiceRequest> for HttpMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<ResponseBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let inner = &self.instrumentation.inner;
        let headers = req.headers();
        let get = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let body_size = announced_body_size(
            get(&header::CONTENT_LENGTH),
            headers.contains_key(header::TRANSFER_ENCODING),
        );
        let query = req.query_string();
        let observation = inner.start(RequestInfo {
            method: req.method().as_str(),
            path: req.path(),
            query: (!query.is_empty()).then_some(query),
            version: protocol_version(req.version()),
            // Known only after routing: see `ResponseFuture::poll` and the module docs.
            route: None,
            user_agent: get(&header::USER_AGENT),
            client_address: req.peer_addr().map(|a| a.ip()),
            request_id: headers
                .get(&self.request_id_header)
                .map(HeaderValue::as_bytes),
            body_size,
            headers: &HeaderExtractor(headers),
        });
        let Some(observation) = observation else {
            return ResponseFuture {
                inner: self.service.call(req),
                state: None,
            };
        };
        if observation.request_id.generated() {
            req.headers_mut()
                .set(&self.request_id_header, observation.request_id.as_bytes());
        }
        let future = {
            let _entered = observation.span.enter();
            let _current = observation.attach();
            self.service.call(req)
        };
        ResponseFuture {
            inner: future,
            state: Some(State {
                observation,
                request_id_header: self.request_id_header.clone(),
            }),
        }
    }
}

struct State {
    observation: Observation,
    request_id_header: HeaderName,
}

pin_project_lite::pin_project! {
    /// Response future of [`HttpMiddlewareService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        state: Option<State>,
    }
}

impl<F, B> Future for ResponseFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody,
{
    type Output = Result<ServiceResponse<ResponseBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.state {
            Some(state) => {
                let _entered = state.observation.span.enter();
                let _current = state.observation.attach();
                std::task::ready!(this.inner.poll(cx))
            }
            None => std::task::ready!(this.inner.poll(cx)),
        };
        let Some(state) = this.state.take() else {
            return Poll::Ready(result.map(|res| {
                res.map_body(|_, body| ResponseBody {
                    inner: body,
                    observation: None,
                })
            }));
        };
        let State {
            mut observation,
            request_id_header,
        } = state;
        let mut response = match result {
            Ok(response) => response,
            Err(error) => {
                // actix renders the error after every middleware has run, so neither headers nor
                // body size can be attached here; record the status it will get.
                let status = error.as_response_error().status_code().as_u16();
                let _ = observation.on_response(status, None);
                observation.response_size_unknown();
                return Poll::Ready(Err(error));
            }
        };
        let route = response.request().match_pattern();
        observation
            .on_response(response.status().as_u16(), route.as_deref())
            .write_to(response.headers_mut(), &request_id_header);
        Poll::Ready(Ok(response.map_body(|_, body| ResponseBody {
            inner: body,
            observation: Some(observation),
        })))
    }
}

pin_project_lite::pin_project! {
    /// Response body of [`HttpMiddlewareService`]: counts bytes and records the request's
    /// metrics when the body ends or is dropped.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        observation: Option<Observation>,
    }
}

impl<B: MessageBody> MessageBody for ResponseBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.project();
        let chunk = std::task::ready!(this.inner.poll_next(cx));
        if let Some(obs) = this.observation.as_mut() {
            match &chunk {
                Some(Ok(bytes)) => obs.add_response_bytes(bytes.len()),
                Some(Err(_)) => {
                    obs.on_error();
                    obs.finish();
                }
                None => obs.finish(),
            }
        }
        Poll::Ready(chunk)
    }
}
