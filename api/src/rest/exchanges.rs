//! Exchange routes: `/api/v1/exchanges`.

use actix_web::{HttpResponse, delete, get, http::header, patch, post, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::listing;
use crate::http::{
    extract::{IfMatch, Json, ListQuery, etag},
    problem::{Problem, ProblemBody},
};
use crate::service::spreadsheet::FormatParam;
use crate::{
    authz::Actor,
    service::{
        AppCtx, Page,
        exchanges::{self, ExchangePatch, ExchangeQuery, ExchangeView, NewExchange},
    },
};

type Ctx = web::Data<AppCtx>;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get)
        .service(update)
        .service(remove);
}

fn one(view: &ExchangeView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List exchanges (交流对接) the caller may read, filtered, in keyset pages.
#[utoipa::path(
    tag = "exchanges",
    params(ExchangeQuery, FormatParam),
    responses((status = 200, body = Page<ExchangeView>)),
    security(("bearer" = []))
)]
#[get("/exchanges")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<ExchangeQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(exchanges::list)).await
}

/// Record an exchange, owned by the caller's organization.
#[utoipa::path(
    tag = "exchanges",
    request_body = NewExchange,
    responses(
        (status = 201, body = ExchangeView, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "external_id taken", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/exchanges")]
pub async fn create(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewExchange>,
) -> Result<HttpResponse, Problem> {
    let view = exchanges::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((header::LOCATION, format!("/api/v1/exchanges/{}", view.id)))
        .json(view))
}

/// One exchange, with its version as `ETag`.
#[utoipa::path(
    tag = "exchanges",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ExchangeView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/exchanges/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    Ok(one(&exchanges::get(&ctx, &actor, *id).await?))
}

/// Change an exchange. Send `If-Match` with the ETag you read; `visiting_org_ids` replaces the
/// whole set.
#[utoipa::path(
    tag = "exchanges",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = ExchangePatch,
    responses(
        (status = 200, body = ExchangeView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/exchanges/{id}")]
pub async fn update(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<ExchangePatch>,
) -> Result<HttpResponse, Problem> {
    Ok(one(&exchanges::update(
        &ctx, &actor, *id, if_match.0, body.0,
    )
    .await?))
}

/// Delete an exchange.
#[utoipa::path(
    tag = "exchanges",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/exchanges/{id}")]
pub async fn remove(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    exchanges::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
