//! Reconciliation routes: `/api/v1/reconciliations`. A report is computed once and stored; its
//! lines are read in pages and answered one step at a time.

use actix_web::{HttpResponse, get, http::header, post, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::{download, listing};
use crate::http::{
    extract::{IfMatchOpt, Json, ListQuery, Query, etag},
    problem::{Problem, ProblemBody},
};
use crate::service::spreadsheet::{FormatParam, ListFormat};
use crate::{
    authz::Actor,
    service::{
        AppCtx, Page, reconciliation_export,
        reconciliations::{
            self, LineEventView, LineQuery, LineStep, LineView, NewReconciliation,
            ReconciliationQuery, ReconciliationView,
        },
    },
};

type Ctx = web::Data<AppCtx>;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get)
        .service(lines)
        .service(line)
        .service(history)
        .service(step);
}

/// List the reconciliation reports the caller may read (those of its pairings), in keyset
/// pages.
#[utoipa::path(
    tag = "reconciliations",
    params(ReconciliationQuery, FormatParam),
    responses((status = 200, body = Page<ReconciliationView>)),
    security(("bearer" = []))
)]
#[get("/reconciliations")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<ReconciliationQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(reconciliations::list)).await
}

/// Reconcile a pairing's period (`horizontal`): the eastern side's transfers against the
/// western side's arrivals, by voucher number and then by amount within `window_days`, and the
/// exchanges each side recorded. The report is stored with its totals; its lines are at
/// `…/lines`. Anyone who reads the pairing may run one, but the assessment team.
#[utoipa::path(
    tag = "reconciliations",
    request_body = NewReconciliation,
    responses(
        (status = 201, body = ReconciliationView, headers(("ETag" = String), ("Location" = String))),
        (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/reconciliations")]
pub async fn create(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewReconciliation>,
) -> Result<HttpResponse, Problem> {
    let view = reconciliations::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((
            header::LOCATION,
            format!("/api/v1/reconciliations/{}", view.id),
        ))
        .json(view))
}

/// One report, with its totals.
#[utoipa::path(
    tag = "reconciliations",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ReconciliationView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/reconciliations/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    let view = reconciliations::get(&ctx, &actor, *id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}

/// A report's lines in line order (discrepancies first), filtered, in keyset pages; or, with
/// `format=csv` or `format=xlsx`, every line the filters keep as a spreadsheet (Chinese
/// headers, amounts in yuan; the workbook also has a summary sheet), streamed.
#[utoipa::path(
    tag = "reconciliations",
    operation_id = "list_reconciliation_lines",
    params(("id" = Uuid, Path), LineQuery),
    responses(
        (status = 200, body = Page<LineView>),
        (status = 200, description = "`format=xlsx`", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 200, description = "`format=csv`", content_type = "text/csv"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/reconciliations/{id}/lines")]
pub async fn lines(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    q: Query<LineQuery>,
) -> Result<HttpResponse, Problem> {
    let format = q.0.format.unwrap_or(ListFormat::Json);
    if format == ListFormat::Json {
        return Ok(HttpResponse::Ok().json(reconciliations::lines(&ctx, &actor, *id, q.0).await?));
    }
    let filter = q.0.filter();
    Ok(download(
        reconciliation_export::export(&ctx, &actor, *id, format, filter).await?,
    ))
}

/// One line, with its version as `ETag`.
#[utoipa::path(
    tag = "reconciliations",
    operation_id = "get_reconciliation_line",
    params(("id" = Uuid, Path), ("line_no" = i64, Path)),
    responses(
        (status = 200, body = LineView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/reconciliations/{id}/lines/{line_no}")]
pub async fn line(
    ctx: Ctx,
    actor: Actor,
    path: web::Path<(Uuid, i64)>,
) -> Result<HttpResponse, Problem> {
    let (id, line_no) = path.into_inner();
    let view = reconciliations::line(&ctx, &actor, id, line_no).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}

/// What each side said about a line, oldest first.
#[utoipa::path(
    tag = "reconciliations",
    operation_id = "get_reconciliation_line_history",
    params(("id" = Uuid, Path), ("line_no" = i64, Path)),
    responses(
        (status = 200, body = Vec<LineEventView>),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/reconciliations/{id}/lines/{line_no}/history")]
pub async fn history(
    ctx: Ctx,
    actor: Actor,
    path: web::Path<(Uuid, i64)>,
) -> Result<HttpResponse, Problem> {
    let (id, line_no) = path.into_inner();
    Ok(HttpResponse::Ok().json(reconciliations::line_history(&ctx, &actor, id, line_no).await?))
}

/// Explain a line (a note is required), mark it resolved, or reopen it: by the side that owns
/// one of its records. `If-Match` (the line's `ETag`) is optional.
#[utoipa::path(
    tag = "reconciliations",
    operation_id = "step_reconciliation_line",
    params(("id" = Uuid, Path), ("line_no" = i64, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` the line was read with; optional.")),
    request_body = LineStep,
    responses(
        (status = 200, body = LineView, headers(("ETag" = String))),
        (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the step does not apply to the line as it stands", body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/reconciliations/{id}/lines/{line_no}/steps")]
pub async fn step(
    ctx: Ctx,
    actor: Actor,
    path: web::Path<(Uuid, i64)>,
    if_match: IfMatchOpt,
    body: Json<LineStep>,
) -> Result<HttpResponse, Problem> {
    let (id, line_no) = path.into_inner();
    let view =
        reconciliations::step(&ctx, &actor, id, line_no, if_match.0.flatten(), body.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}
