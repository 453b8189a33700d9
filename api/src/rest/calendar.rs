//! The working-day calendar: `/api/v1/calendar/…`. Ledger deadlines and working days for every
//! signed-in role; an admin stores a year.

use actix_web::{HttpResponse, get, http::header, put, web};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::{
    extract::{IfMatchOpt, Json, Query, etag},
    problem::{Problem, ProblemBody},
};
use crate::{
    authz::Actor,
    service::{
        AppCtx,
        calendar::{
            self, CalendarYearInput, CalendarYearView, DeadlineQuery, LedgerDeadline, Precondition,
            WorkingDays, WorkingDaysQuery,
        },
    },
};

type Ctx = web::Data<AppCtx>;

/// The fixed paths come before `/calendar/{year}`, which would otherwise take them.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(ledger_deadline)
        .service(working_days)
        .service(get_year)
        .service(set_year);
}

/// When a quarterly ledger is due: the fifth working day after the quarter's last day, counted on
/// the official calendar (public holidays off, make-up working days on). Without `quarter`, the
/// year's materials, due by 1 December.
#[utoipa::path(
    tag = "calendar",
    params(DeadlineQuery),
    responses(
        (status = 200, body = LedgerDeadline),
        (status = 409, description = "`calendar_not_set`: the count runs into a year the calendar does not hold", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/calendar/ledger-deadline")]
pub async fn ledger_deadline(
    ctx: Ctx,
    actor: Actor,
    q: Query<DeadlineQuery>,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(calendar::ledger_deadline(&ctx, &actor, q.0).await?))
}

/// The working days from `from` through `to` (both included, at most 366 days).
#[utoipa::path(
    tag = "calendar",
    params(WorkingDaysQuery),
    responses(
        (status = 200, body = WorkingDays),
        (status = 409, description = "`calendar_not_set`: the range reaches a year the calendar does not hold", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/calendar/working-days")]
pub async fn working_days(
    ctx: Ctx,
    actor: Actor,
    q: Query<WorkingDaysQuery>,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(calendar::working_days(&ctx, &actor, q.0).await?))
}

/// One year of the calendar: its holidays, its make-up working days and the notice they come
/// from. Built in for 2019 through 2026; 404 for a year nobody set.
#[utoipa::path(
    tag = "calendar",
    params(("year" = i32, Path)),
    responses(
        (status = 200, body = CalendarYearView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/calendar/{year}")]
pub async fn get_year(
    ctx: Ctx,
    actor: Actor,
    year: web::Path<i32>,
) -> Result<HttpResponse, Problem> {
    let view = calendar::get_year(&ctx, &actor, *year).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}

/// Set a whole year (admin): a later year than the built-in ones, or a correction of one. The
/// year then replaces what the calendar held for it; deadlines already frozen in submissions do
/// not change. Replacing a year an admin stored before needs `If-Match`.
#[utoipa::path(
    tag = "calendar",
    params(
        ("year" = i32, Path),
        ("If-Match" = Option<String>, Header, description = "The `ETag` the year was read with, or `*`. Required when the year was stored before (428 without it); a built-in year not yet stored has version 0."),
    ),
    request_body = CalendarYearInput,
    responses(
        (status = 200, description = "a stored year replaced", body = CalendarYearView, headers(("ETag" = String))),
        (status = 201, description = "the year stored for the first time", body = CalendarYearView, headers(("ETag" = String))),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
        (status = 428, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/calendar/{year}")]
pub async fn set_year(
    ctx: Ctx,
    actor: Actor,
    year: web::Path<i32>,
    if_match: IfMatchOpt,
    body: Json<CalendarYearInput>,
) -> Result<HttpResponse, Problem> {
    let precondition = match if_match.0 {
        None => Precondition::Absent,
        Some(None) => Precondition::Any,
        Some(Some(v)) => Precondition::Version(v),
    };
    let (view, created) = calendar::set_year(&ctx, &actor, *year, body.0, precondition).await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}
