//! Ledger submission routes: `/api/v1/ledger-submissions`. Submissions are append-only: there
//! is no PATCH or DELETE, only the review.

use actix_web::{HttpResponse, get, http::header, post, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::listing;
use crate::http::{
    extract::{IfMatchOpt, Json, ListQuery, etag},
    problem::{Problem, ProblemBody},
};
use crate::service::spreadsheet::FormatParam;
use crate::{
    authz::Actor,
    service::{
        AppCtx, Page,
        ledger_submissions::{
            self, LedgerReview, LedgerSubmissionQuery, LedgerSubmissionView, NewLedgerSubmission,
        },
    },
};

type Ctx = web::Data<AppCtx>;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(submit)
        .service(get)
        .service(snapshot)
        .service(review);
}

fn one(view: &LedgerSubmissionView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List the ledger submissions the caller may read, filtered, in keyset pages.
#[utoipa::path(
    tag = "ledger-submissions",
    params(LedgerSubmissionQuery, FormatParam),
    responses((status = 200, body = Page<LedgerSubmissionView>)),
    security(("bearer" = []))
)]
#[get("/ledger-submissions")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<LedgerSubmissionQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(ledger_submissions::list)).await
}

/// Submit an organization's ledger of one quarter (from the day after the quarter ends), or,
/// without `quarter`, its year's materials. The ledger is frozen as a snapshot; `due_on` and
/// `on_time` come from the working-day calendar, and a late ledger is flagged, not refused.
/// Submitting the same period again creates the next `number`.
#[utoipa::path(
    tag = "ledger-submissions",
    request_body = NewLedgerSubmission,
    responses(
        (status = 201, body = LedgerSubmissionView, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "evidence of the ledger changed while it was being submitted (`changed_while_submitting`)", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/ledger-submissions")]
pub async fn submit(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewLedgerSubmission>,
) -> Result<HttpResponse, Problem> {
    let view = ledger_submissions::submit(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((
            header::LOCATION,
            format!("/api/v1/ledger-submissions/{}", view.id),
        ))
        .json(view))
}

/// One submission, with its version as `ETag`.
#[utoipa::path(
    tag = "ledger-submissions",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = LedgerSubmissionView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/ledger-submissions/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    Ok(one(&ledger_submissions::get(&ctx, &actor, *id).await?))
}

/// The frozen ledger, byte for byte as submitted: canonical JSON (RFC 8785) whose SHA-256 is
/// the submission's `sha256`, also sent as the `ETag`.
#[utoipa::path(
    tag = "ledger-submissions",
    operation_id = "get_ledger_submission_snapshot",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = crate::service::ledgers::Ledger, content_type = "application/json", headers(("ETag" = String, description = "`\"sha256:<hex>\"`"))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/ledger-submissions/{id}/snapshot")]
pub async fn snapshot(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let (bytes, sha256) = ledger_submissions::snapshot(&ctx, &actor, *id).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ETAG, format!("\"sha256:{sha256}\"")))
        .insert_header((header::CACHE_CONTROL, "private, max-age=0"))
        .body(bytes))
}

/// Review the latest submission of a ledger (province office: coordinator or admin):
/// `accepted`, or `returned` with a comment saying what to correct. `If-Match` is optional.
#[utoipa::path(
    tag = "ledger-submissions",
    operation_id = "review_ledger_submission",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` the submission was read with; optional.")),
    request_body = LedgerReview,
    responses(
        (status = 200, body = LedgerSubmissionView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "already reviewed, or superseded by a later submission", body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/ledger-submissions/{id}/review")]
pub async fn review(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatchOpt,
    body: Json<LedgerReview>,
) -> Result<HttpResponse, Problem> {
    let expected = if_match.0.flatten();
    Ok(one(&ledger_submissions::review(
        &ctx, &actor, *id, expected, body.0,
    )
    .await?))
}
