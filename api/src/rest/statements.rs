//! Statements: `/api/v1/statements`, the figures an organization declares for a period, which
//! vertical reconciliation compares with the records (see `service::statements`).

use actix_web::{HttpResponse, delete, get, http::header, patch, post, web};
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
        reconciliations::{self, LineView, StatementLineQuery},
        statements::{self, NewStatement, StatementPatch, StatementQuery, StatementView},
    },
};

type Ctx = web::Data<AppCtx>;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get)
        .service(lines)
        .service(update)
        .service(remove);
}

fn one(view: &StatementView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List the statements the caller may read.
#[utoipa::path(
    tag = "statements",
    operation_id = "list_statements",
    params(StatementQuery, FormatParam),
    responses((status = 200, body = Page<StatementView>)),
    security(("bearer" = []))
)]
#[get("/statements")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<StatementQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(statements::list)).await
}

/// Declare a figure of an organization the caller writes for, for a year or a quarter: one per
/// organization, indicator and period (`409 duplicate` names the one to update).
#[utoipa::path(
    tag = "statements",
    operation_id = "create_statement",
    request_body = NewStatement,
    responses(
        (status = 201, body = StatementView, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "the period's figure is declared already, or external_id taken", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/statements")]
pub async fn create(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewStatement>,
) -> Result<HttpResponse, Problem> {
    let view = statements::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((header::LOCATION, format!("/api/v1/statements/{}", view.id)))
        .json(view))
}

/// One statement, with its version as `ETag`.
#[utoipa::path(
    tag = "statements",
    operation_id = "get_statement",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = StatementView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/statements/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    Ok(one(&statements::get(&ctx, &actor, *id).await?))
}

/// The reconciliation lines that compare this statement with its prefecture's own figure, one
/// per vertical report, in the order the reports were made (keyset pages). For whoever reads
/// the statement: the declaring organization sees, explains or resolves the line about its
/// figure (`POST /api/v1/reconciliations/{id}/lines/{line_no}/steps`) without reading the rest
/// of the report.
#[utoipa::path(
    tag = "statements",
    operation_id = "list_statement_reconciliation_lines",
    params(("id" = Uuid, Path), StatementLineQuery),
    responses(
        (status = 200, body = Page<LineView>),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/statements/{id}/reconciliation-lines")]
pub async fn lines(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    q: Query<StatementLineQuery>,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(reconciliations::statement_lines(&ctx, &actor, *id, q.0).await?))
}

/// Correct a statement's value or note. Send `If-Match` with the ETag you read.
#[utoipa::path(
    tag = "statements",
    operation_id = "update_statement",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = StatementPatch,
    responses(
        (status = 200, body = StatementView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/statements/{id}")]
pub async fn update(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<StatementPatch>,
) -> Result<HttpResponse, Problem> {
    Ok(one(&statements::update(
        &ctx, &actor, *id, if_match.0, body.0,
    )
    .await?))
}

/// Withdraw a statement.
#[utoipa::path(
    tag = "statements",
    operation_id = "delete_statement",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/statements/{id}")]
pub async fn remove(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    statements::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
