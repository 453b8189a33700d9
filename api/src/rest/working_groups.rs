//! Working groups (工作推进组): `/api/v1/working-groups`.

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
        working_groups::{
            self, NewWorkingGroup, WorkingGroupPatch, WorkingGroupQuery, WorkingGroupView,
        },
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

fn one(view: &WorkingGroupView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List the working groups of the organizations the caller may read.
#[utoipa::path(
    tag = "working-groups",
    operation_id = "list_working_groups",
    params(WorkingGroupQuery, FormatParam),
    responses((status = 200, body = Page<WorkingGroupView>)),
    security(("bearer" = []))
)]
#[get("/working-groups")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<WorkingGroupQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(working_groups::list)).await
}

/// Set up an organization's working group (one per organization).
#[utoipa::path(
    tag = "working-groups",
    operation_id = "create_working_group",
    request_body = NewWorkingGroup,
    responses(
        (status = 201, body = WorkingGroupView, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "the organization already has a group (`org_id`), or external_id taken", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/working-groups")]
pub async fn create(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewWorkingGroup>,
) -> Result<HttpResponse, Problem> {
    let view = working_groups::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((
            header::LOCATION,
            format!("/api/v1/working-groups/{}", view.id),
        ))
        .json(view))
}

/// One working group, with its version as `ETag`.
#[utoipa::path(
    tag = "working-groups",
    operation_id = "get_working_group",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = WorkingGroupView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/working-groups/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    Ok(one(&working_groups::get(&ctx, &actor, *id).await?))
}

/// Change a working group; `members` replaces the whole list. Send `If-Match`.
#[utoipa::path(
    tag = "working-groups",
    operation_id = "update_working_group",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = WorkingGroupPatch,
    responses(
        (status = 200, body = WorkingGroupView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/working-groups/{id}")]
pub async fn update(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<WorkingGroupPatch>,
) -> Result<HttpResponse, Problem> {
    Ok(one(&working_groups::update(
        &ctx, &actor, *id, if_match.0, body.0,
    )
    .await?))
}

/// Dissolve a working group.
#[utoipa::path(
    tag = "working-groups",
    operation_id = "delete_working_group",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/working-groups/{id}")]
pub async fn remove(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    working_groups::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
