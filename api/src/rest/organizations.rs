use actix_web::{HttpResponse, delete, get, http::header, patch, post, web};
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
        organizations::{
            self, NewOrganization, OrganizationPatch, OrganizationQuery, OrganizationView,
        },
    },
};

type Ctx = web::Data<AppCtx>;

fn one(view: &OrganizationView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List organizations the caller may read, filtered, in keyset pages.
#[utoipa::path(
    tag = "organizations",
    params(OrganizationQuery, FormatParam),
    responses((status = 200, body = Page<OrganizationView>)),
    security(("bearer" = []))
)]
#[get("/organizations")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<OrganizationQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(organizations::list)).await
}

/// Create an organization (admin).
#[utoipa::path(
    tag = "organizations",
    request_body = NewOrganization,
    responses(
        (status = 201, body = OrganizationView),
        (status = 409, description = "code or external_id taken", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/organizations")]
pub async fn create(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewOrganization>,
) -> Result<HttpResponse, Problem> {
    let view = organizations::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((
            header::LOCATION,
            format!("/api/v1/organizations/{}", view.id),
        ))
        .json(view))
}

/// One organization, with its version as `ETag`.
#[utoipa::path(
    tag = "organizations",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = OrganizationView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/organizations/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    Ok(one(&organizations::get(&ctx, &actor, *id).await?))
}

/// Change an organization (admin). Send `If-Match` with the ETag you read.
#[utoipa::path(
    tag = "organizations",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = OrganizationPatch,
    responses(
        (status = 200, body = OrganizationView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/organizations/{id}")]
pub async fn update(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<OrganizationPatch>,
) -> Result<HttpResponse, Problem> {
    Ok(one(&organizations::update(
        &ctx, &actor, *id, if_match.0, body.0,
    )
    .await?))
}

/// Delete an organization (admin); refused while it has sub-organizations, pairings or users.
#[utoipa::path(
    tag = "organizations",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/organizations/{id}")]
pub async fn remove(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    organizations::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The organization's direct sub-organizations, in keyset pages.
#[utoipa::path(
    tag = "organizations",
    params(("id" = Uuid, Path), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, body = Page<OrganizationView>),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/organizations/{id}/children")]
pub async fn children(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    q: Query<PageQuery>,
) -> Result<HttpResponse, Problem> {
    organizations::get(&ctx, &actor, *id).await?;
    let query = OrganizationQuery {
        parent_id: Some(*id),
        limit: q.0.limit,
        cursor: q.0.cursor,
        ..Default::default()
    };
    Ok(HttpResponse::Ok().json(organizations::list(&ctx, &actor, query).await?))
}

/// The organization's parents, nearest first.
#[utoipa::path(
    tag = "organizations",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Page<OrganizationView>),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/organizations/{id}/ancestors")]
pub async fn ancestors(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let items = organizations::ancestors(&ctx, &actor, *id).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}
