//! Webhooks: `/api/v1/webhooks` — subscriptions to the change feed, their delivery log, and
//! re-sending a delivery (see `service::webhooks`).

use actix_web::{HttpResponse, delete, get, http::header, post, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::listing;
use crate::http::{
    extract::{IfMatch, Json, ListQuery, Query, etag},
    problem::{Problem, ProblemBody},
};
use crate::service::spreadsheet::FormatParam;
use crate::{
    authz::Actor,
    service::{
        AppCtx, Page,
        webhooks::{self, DeliveryView, NewWebhook, WebhookListQuery, WebhookView},
    },
};

type Ctx = web::Data<AppCtx>;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get)
        .service(remove)
        .service(deliveries)
        .service(resend);
}

/// The subscriptions of the caller's organization (all of them for an admin).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhooks",
    params(WebhookListQuery, FormatParam),
    responses((status = 200, body = Page<WebhookView>)),
    security(("bearer" = []))
)]
#[get("/webhooks")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<WebhookListQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(webhooks::list)).await
}

/// Subscribe a URL to the changes of the given record types that the caller may read. Each
/// change is POSTed to it as JSON with `X-Xiezuo-Delivery` (a UUID) and `X-Xiezuo-Signature:
/// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>`, and retried with
/// exponential backoff until it answers 2xx. A URL that resolves to a loopback, private or
/// link-local address is refused (`422 url`).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "create_webhook",
    request_body = NewWebhook,
    responses((status = 201, body = WebhookView, headers(("ETag" = String), ("Location" = String)))),
    security(("bearer" = []))
)]
#[post("/webhooks")]
pub async fn create(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewWebhook>,
) -> Result<HttpResponse, Problem> {
    let view = webhooks::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((header::LOCATION, format!("/api/v1/webhooks/{}", view.id)))
        .json(view))
}

/// One subscription (never its secret).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "get_webhook",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = WebhookView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    let view = webhooks::get(&ctx, &actor, *id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}

/// End a subscription: nothing more is delivered; its log stays readable by an admin.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "delete_webhook",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the subscription was read with, or `*`. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/webhooks/{id}")]
pub async fn remove(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    webhooks::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The delivery log of a subscription, oldest first: status, attempts, the receiver's last
/// status code and error.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhook_deliveries",
    params(("id" = Uuid, Path), WebhookListQuery),
    responses(
        (status = 200, body = Page<DeliveryView>),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn deliveries(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    q: Query<WebhookListQuery>,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(webhooks::deliveries(&ctx, &actor, *id, q.0).await?))
}

/// Send a delivery again, now, with a fresh set of attempts (whatever became of it).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "resend_webhook_delivery",
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses(
        (status = 202, body = DeliveryView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/resend")]
pub async fn resend(
    ctx: Ctx,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, Problem> {
    let (id, delivery_id) = path.into_inner();
    Ok(HttpResponse::Accepted().json(webhooks::resend(&ctx, &actor, id, delivery_id).await?))
}
