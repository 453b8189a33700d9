//! Agreement routes: `/api/v1/agreements`.

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
        agreements::{self, AgreementPatch, AgreementQuery, AgreementView, NewAgreement},
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

fn one(view: &AgreementView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List agreements (协议书) the caller may read, filtered, in keyset pages.
#[utoipa::path(
    tag = "agreements",
    params(AgreementQuery, FormatParam),
    responses((status = 200, body = Page<AgreementView>)),
    security(("bearer" = []))
)]
#[get("/agreements")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<AgreementQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(agreements::list)).await
}

/// Record a signed agreement, owned by the caller's organization.
#[utoipa::path(
    tag = "agreements",
    request_body = NewAgreement,
    responses(
        (status = 201, body = AgreementView, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "external_id taken", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/agreements")]
pub async fn create(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewAgreement>,
) -> Result<HttpResponse, Problem> {
    let view = agreements::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((header::LOCATION, format!("/api/v1/agreements/{}", view.id)))
        .json(view))
}

/// One agreement, with its version as `ETag`.
#[utoipa::path(
    tag = "agreements",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = AgreementView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/agreements/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    Ok(one(&agreements::get(&ctx, &actor, *id).await?))
}

/// Change an agreement. Send `If-Match` with the ETag you read; `project_ids` replaces the
/// whole set.
#[utoipa::path(
    tag = "agreements",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = AgreementPatch,
    responses(
        (status = 200, body = AgreementView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/agreements/{id}")]
pub async fn update(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<AgreementPatch>,
) -> Result<HttpResponse, Problem> {
    Ok(one(&agreements::update(
        &ctx, &actor, *id, if_match.0, body.0,
    )
    .await?))
}

/// Delete an agreement.
#[utoipa::path(
    tag = "agreements",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/agreements/{id}")]
pub async fn remove(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    agreements::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
