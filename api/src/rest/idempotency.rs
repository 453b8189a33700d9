//! `Idempotency-Key` on every REST POST: the middleware claims the key, runs the request, keeps
//! its response, and replays that response to a retry (see `service::idempotency`).

use actix_web::{
    HttpResponse, ResponseError,
    body::BoxBody,
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{Method, StatusCode, header::HeaderName},
    middleware::Next,
    web,
};

use crate::error::AppError;
use crate::http::{
    extract::{actor_from_request, read_body},
    problem::Problem,
};
use crate::service::{
    AppCtx,
    idempotency::{self, Claim, HEADER, Stored},
};

/// Response headers worth replaying.
const KEPT_HEADERS: [&str; 3] = ["content-type", "etag", "location"];

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let key = match req.headers().get(HEADER).map(|v| v.to_str()) {
        None => None,
        Some(Ok(key)) => Some(key.to_string()),
        // A key that is not plain ASCII must not be dropped silently: the retry it was meant
        // to make safe would create a second record.
        Some(Err(_)) => {
            let err = AppError::field(
                "Idempotency-Key",
                "must be printable ASCII, for example a UUID",
            );
            return Ok(req.into_response(Problem(err).error_response()));
        }
    };
    // REST resources only: GraphQL has its own `idempotencyKey`, and the token and
    // service-account responses carry secrets that must never be stored.
    let path = req.path();
    let applies = req.method() == Method::POST
        && path.starts_with("/api/v1/")
        && !path.starts_with("/api/v1/auth/")
        && !path.starts_with("/api/v1/service-accounts");
    let (Some(key), true) = (key, applies) else {
        return next.call(req).await;
    };
    // Without a valid caller the handler answers 401 itself; keys belong to callers.
    let Ok(actor) = actor_from_request(req.request()).await else {
        return next.call(req).await;
    };
    let Some(ctx) = req.app_data::<web::Data<AppCtx>>().cloned() else {
        return next.call(req).await;
    };
    let (http, payload) = req.parts_mut();
    let body = match read_body(http, payload).await {
        Ok(body) => body,
        Err(e) => return Ok(req.into_response(Problem(e).error_response())),
    };
    let operation = format!("{} {}?{}", req.method(), req.path(), req.query_string());
    let hash = idempotency::fingerprint(&operation, &body);
    match idempotency::claim(&ctx.db, actor.id, &key, &hash).await {
        Err(e) => return Ok(req.into_response(Problem(e).error_response())),
        Ok(Claim::Replay(stored)) => {
            let mut response =
                HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
            for (name, value) in &stored.headers {
                response.insert_header((name.as_str(), value.as_str()));
            }
            response.insert_header(("Idempotency-Replayed", "true"));
            return Ok(req.into_response(response.body(stored.body)));
        }
        Ok(Claim::Proceed) => {}
    }
    req.set_payload(Payload::from(body));
    let response = next.call(req).await;
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            let _ = idempotency::release(&ctx.db, actor.id, &key).await;
            return Err(e);
        }
    };
    let status = response.status();
    if status.is_server_error() {
        let _ = idempotency::release(&ctx.db, actor.id, &key).await;
        return Ok(response);
    }
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let headers = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            head.headers()
                .get(HeaderName::from_static(name))
                .and_then(|v| v.to_str().ok())
                .map(|v| ((*name).to_string(), v.to_string()))
        })
        .collect();
    let stored = Stored {
        status: status.as_u16(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        headers,
    };
    if let Err(e) = idempotency::complete(&ctx.db, actor.id, &key, &stored).await {
        tracing::error!(error = ?e, "could not keep an idempotent response");
    }
    let response = head.set_body(bytes).map_into_boxed_body();
    Ok(ServiceResponse::new(request, response))
}
