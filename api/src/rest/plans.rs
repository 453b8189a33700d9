//! Yearly plans and their tasks: `/api/v1/plans` and `/api/v1/plan-tasks`. A task's
//! `progress_count` and `status` are computed by the service on every read.

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
        plans::{
            self, NewPlan, NewPlanTask, PlanDetail, PlanPatch, PlanQuery, PlanTaskPatch,
            PlanTaskQuery, PlanTaskView, PlanView,
        },
    },
};

type Ctx = web::Data<AppCtx>;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_plans)
        .service(create_plan)
        .service(get_plan)
        .service(update_plan)
        .service(delete_plan)
        .service(list_tasks)
        .service(create_task)
        .service(get_task)
        .service(update_task)
        .service(delete_task);
}

fn with_etag<T: serde::Serialize>(version: i32, body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}

/// List the plans of the organizations the caller may read.
#[utoipa::path(
    tag = "plans",
    operation_id = "list_plans",
    params(PlanQuery, FormatParam),
    responses((status = 200, body = Page<PlanView>)),
    security(("bearer" = []))
)]
#[get("/plans")]
pub async fn list_plans(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<PlanQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(plans::list)).await
}

/// Start an organization's plan for a year (one per organization and year).
#[utoipa::path(
    tag = "plans",
    operation_id = "create_plan",
    request_body = NewPlan,
    responses(
        (status = 201, body = PlanView, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "the organization already has a plan for the year (`year`), or external_id taken", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/plans")]
pub async fn create_plan(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewPlan>,
) -> Result<HttpResponse, Problem> {
    let view = plans::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((header::LOCATION, format!("/api/v1/plans/{}", view.id)))
        .json(view))
}

/// One plan with its tasks (progress computed), the plan's version as `ETag`.
#[utoipa::path(
    tag = "plans",
    operation_id = "get_plan",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = PlanDetail, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/plans/{id}")]
pub async fn get_plan(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let detail = plans::get_with_tasks(&ctx, &actor, *id).await?;
    Ok(with_etag(detail.plan.version, &detail))
}

/// Change a plan's title or external id. Send `If-Match`.
#[utoipa::path(
    tag = "plans",
    operation_id = "update_plan",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = PlanPatch,
    responses(
        (status = 200, body = PlanView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/plans/{id}")]
pub async fn update_plan(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<PlanPatch>,
) -> Result<HttpResponse, Problem> {
    let view = plans::update(&ctx, &actor, *id, if_match.0, body.0).await?;
    Ok(with_etag(view.version, &view))
}

/// Delete a plan together with its tasks.
#[utoipa::path(
    tag = "plans",
    operation_id = "delete_plan",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/plans/{id}")]
pub async fn delete_plan(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    plans::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List plan tasks of readable plans, with computed progress and status.
#[utoipa::path(
    tag = "plans",
    operation_id = "list_plan_tasks",
    params(PlanTaskQuery, FormatParam),
    responses((status = 200, body = Page<PlanTaskView>)),
    security(("bearer" = []))
)]
#[get("/plan-tasks")]
pub async fn list_tasks(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<PlanTaskQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(plans::list_tasks)).await
}

/// Add a task to a plan.
#[utoipa::path(
    tag = "plans",
    operation_id = "create_plan_task",
    request_body = NewPlanTask,
    responses(
        (status = 201, body = PlanTaskView, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "external_id taken", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/plan-tasks")]
pub async fn create_task(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewPlanTask>,
) -> Result<HttpResponse, Problem> {
    let view = plans::create_task(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((header::LOCATION, format!("/api/v1/plan-tasks/{}", view.id)))
        .json(view))
}

/// One plan task, with its version as `ETag`.
#[utoipa::path(
    tag = "plans",
    operation_id = "get_plan_task",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = PlanTaskView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/plan-tasks/{id}")]
pub async fn get_task(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let view = plans::get_task(&ctx, &actor, *id).await?;
    Ok(with_etag(view.version, &view))
}

/// Change a plan task. Send `If-Match`.
#[utoipa::path(
    tag = "plans",
    operation_id = "update_plan_task",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = PlanTaskPatch,
    responses(
        (status = 200, body = PlanTaskView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/plan-tasks/{id}")]
pub async fn update_task(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<PlanTaskPatch>,
) -> Result<HttpResponse, Problem> {
    let view = plans::update_task(&ctx, &actor, *id, if_match.0, body.0).await?;
    Ok(with_etag(view.version, &view))
}

/// Delete a plan task.
#[utoipa::path(
    tag = "plans",
    operation_id = "delete_plan_task",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/plan-tasks/{id}")]
pub async fn delete_task(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    plans::delete_task(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
