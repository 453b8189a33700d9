use actix_web::{HttpResponse, delete, get, http::header, patch, post, web};
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
        pairings::{self, NewPairing, PairingPatch, PairingQuery, PairingView},
    },
};

type Ctx = web::Data<AppCtx>;

fn one(view: &PairingView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List the pairings the caller may read.
#[utoipa::path(
    tag = "pairings",
    params(PairingQuery, FormatParam),
    responses((status = 200, body = Page<PairingView>)),
    security(("bearer" = []))
)]
#[get("/pairings")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<PairingQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(pairings::list)).await
}

/// Register a pairing (admin, coordinator).
#[utoipa::path(
    tag = "pairings",
    request_body = NewPairing,
    responses(
        (status = 201, body = PairingView),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/pairings")]
pub async fn create(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewPairing>,
) -> Result<HttpResponse, Problem> {
    let view = pairings::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((header::LOCATION, format!("/api/v1/pairings/{}", view.id)))
        .json(view))
}

/// One pairing, with its version as `ETag`.
#[utoipa::path(
    tag = "pairings",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = PairingView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/pairings/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    Ok(one(&pairings::get(&ctx, &actor, *id).await?))
}

/// Change a pairing's dates or external id. Send `If-Match` with the ETag you read.
#[utoipa::path(
    tag = "pairings",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = PairingPatch,
    responses(
        (status = 200, body = PairingView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/pairings/{id}")]
pub async fn update(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<PairingPatch>,
) -> Result<HttpResponse, Problem> {
    Ok(one(&pairings::update(
        &ctx, &actor, *id, if_match.0, body.0,
    )
    .await?))
}

/// Delete a pairing (admin, coordinator).
#[utoipa::path(
    tag = "pairings",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/pairings/{id}")]
pub async fn remove(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    pairings::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
