//! What every response and every client gets, whatever the route: headers that stop a browser
//! or a proxy from misusing a response, and a request rate limit per client address.

use std::{net::IpAddr, num::NonZeroU32, sync::Arc};

use actix_web::{
    ResponseError,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderValue},
    middleware::Next,
};
use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
};

use super::problem::Problem;
use crate::error::AppError;

/// `X-Content-Type-Options: nosniff` on every response, and `Cache-Control: no-store` on the
/// API's own (REST and GraphQL carry records, some with personal data, for one caller only)
/// unless the handler chose a policy itself.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    let api = path.starts_with("/api/") || path == "/graphql";
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if api && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

type Limiter = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// Requests per client address (an IPv6 client by its /64): a token bucket of `burst` refilled
/// at `per_second`.
#[derive(Clone)]
pub struct RateLimit(
    Option<Arc<Limiter>>,
    Arc<std::sync::Mutex<std::time::Instant>>,
);

/// How often the addresses with a full bucket again are forgotten, at most.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Above this many tracked addresses, those with a full bucket again are dropped.
const FORGET_ABOVE: usize = 10_000;

impl RateLimit {
    /// `per_second == 0` turns the limit off.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let swept = Arc::new(std::sync::Mutex::new(std::time::Instant::now()));
        let Some(rate) = NonZeroU32::new(per_second) else {
            return Self(None, swept);
        };
        let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
        Self(
            Some(Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))),
            swept,
        )
    }

    /// `Err(seconds to wait)` when `client` is over its rate.
    fn check(&self, client: IpAddr) -> Result<(), u64> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        if limiter.len() > FORGET_ABOVE
            && let Ok(mut swept) = self.1.try_lock()
            && swept.elapsed() >= SWEEP_EVERY
        {
            *swept = std::time::Instant::now();
            limiter.retain_recent();
        }
        let client = crate::service::login_guard::network(client);
        limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// Answers `429` with `Retry-After` once a client address is over its rate. The health
/// endpoints stay outside the limit, for load balancers and probes.
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limit = req.app_data::<actix_web::web::Data<RateLimit>>().cloned();
    let client = req.peer_addr().map(|a| a.ip());
    let probe = matches!(req.path(), "/healthz" | "/readyz" | "/metrics");
    if let (Some(limit), Some(client), false) = (limit, client, probe)
        && let Err(retry_after) = limit.check(client)
    {
        let err = AppError::RetryLater {
            status: 429,
            code: "rate_limited",
            detail: "too many requests from this address; slow down".into(),
            retry_after,
        };
        return Ok(req.into_response(Problem(err).error_response()));
    }
    next.call(req).await
}

/// Cross-origin access for the browser front ends on `origins` (`XIEZUO_CORS_ORIGINS`): a
/// preflight for every method and the headers clients send, and the response headers scripts
/// need exposed. Requests from other origins get no CORS headers, so browsers keep their pages
/// out; non-browser clients are unaffected.
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::{Method, header::HeaderName};
    let mut cors = actix_cors::Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("idempotency-replayed"),
        ])
        .block_on_origin_mismatch(false)
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
