//! Project routes.

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
        projects::{self, NewProject, ProjectPatch, ProjectQuery, ProjectView},
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

fn one(view: &ProjectView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List projects the caller may read, with their money totals.
#[utoipa::path(
    tag = "projects",
    params(ProjectQuery, FormatParam),
    responses((status = 200, body = Page<ProjectView>)),
    security(("bearer" = []))
)]
#[get("/projects")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<ProjectQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(projects::list)).await
}

/// Create a project (status `proposed`). Send `Idempotency-Key` to make retries safe.
#[utoipa::path(
    tag = "projects",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = NewProject,
    responses(
        (status = 201, body = ProjectView),
        (status = 409, description = "code taken, or the Idempotency-Key was used for another request", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/projects")]
pub async fn create(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewProject>,
) -> Result<HttpResponse, Problem> {
    let view = projects::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((header::LOCATION, format!("/api/v1/projects/{}", view.id)))
        .json(view))
}

/// One project with its money totals.
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ProjectView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/projects/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    Ok(one(&projects::get(&ctx, &actor, *id).await?))
}

/// Change a project; `status` moves it through its lifecycle.
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = ProjectPatch,
    responses(
        (status = 200, body = ProjectView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`, or code taken", body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/projects/{id}")]
pub async fn update(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<ProjectPatch>,
) -> Result<HttpResponse, Problem> {
    Ok(one(&projects::update(
        &ctx, &actor, *id, if_match.0, body.0,
    )
    .await?))
}

/// Delete a project without fund transactions (never a verified one).
#[utoipa::path(
    tag = "projects",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/projects/{id}")]
pub async fn remove(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    projects::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
