//! Ledgers (台账): `GET /api/v1/ledgers/{org_id}/{year}/{quarter}` for a quarter and
//! `GET /api/v1/ledgers/{org_id}/{year}` for the year's materials, as JSON, XLSX or CSV.

use actix_web::{
    HttpResponse, get,
    http::header::{self, ContentDisposition, DispositionParam, DispositionType},
    web,
};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::http::{
    extract::Query,
    problem::{Problem, ProblemBody},
};
use crate::{
    authz::Actor,
    error::AppError,
    service::{
        AppCtx,
        ledger_export::{self, LedgerExportQuery, LedgerFormat},
        ledgers::{self, Ledger},
        spreadsheet,
    },
};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get).service(get_annual);
}

/// The ledger of an organization for one quarter: the records of its subtree and pairings in
/// the quarter (projects with their status at the quarter's end, fund transactions, exchanges,
/// plan tasks due, evidence), totals, the due day, and the gaps to close before submitting.
/// `?format=xlsx` sends a workbook (a summary and one sheet per list, Chinese headers, amounts
/// in yuan); `?format=csv&part=…` one list as CSV.
#[utoipa::path(
    tag = "ledgers",
    operation_id = "get_ledger",
    params(("org_id" = Uuid, Path), ("year" = i32, Path), ("quarter" = i32, Path, description = "1–4"), LedgerExportQuery),
    responses(
        (status = 200, body = Ledger, content_type = "application/json"),
        (status = 200, description = "`format=xlsx`", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 200, description = "`format=csv`", content_type = "text/csv"),
        (status = 404, description = "no such organization, or not one the caller may read", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/ledgers/{org_id}/{year}/{quarter}")]
pub async fn get(
    ctx: web::Data<AppCtx>,
    actor: Actor,
    path: web::Path<(Uuid, i32, i32)>,
    q: Query<LedgerExportQuery>,
) -> Result<HttpResponse, Problem> {
    let (org_id, year, quarter) = path.into_inner();
    respond(&ctx, &actor, org_id, year, Some(quarter), q.0).await
}

/// The ledger of an organization for a whole year: the year's materials (due 1 December), with
/// the same lists, totals and gaps as a quarter's, evidence filed under any quarter of the year,
/// and the same `format` and `part`.
#[utoipa::path(
    tag = "ledgers",
    operation_id = "get_annual_ledger",
    params(("org_id" = Uuid, Path), ("year" = i32, Path), LedgerExportQuery),
    responses(
        (status = 200, body = Ledger, content_type = "application/json"),
        (status = 200, description = "`format=xlsx`", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 200, description = "`format=csv`", content_type = "text/csv"),
        (status = 404, description = "no such organization, or not one the caller may read", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/ledgers/{org_id}/{year}")]
pub async fn get_annual(
    ctx: web::Data<AppCtx>,
    actor: Actor,
    path: web::Path<(Uuid, i32)>,
    q: Query<LedgerExportQuery>,
) -> Result<HttpResponse, Problem> {
    let (org_id, year) = path.into_inner();
    respond(&ctx, &actor, org_id, year, None, q.0).await
}

async fn respond(
    ctx: &AppCtx,
    actor: &Actor,
    org_id: Uuid,
    year: i32,
    quarter: Option<i32>,
    q: LedgerExportQuery,
) -> Result<HttpResponse, Problem> {
    let format = q.format.unwrap_or(LedgerFormat::Json);
    let part = match (format, q.part) {
        (LedgerFormat::Csv, None) => {
            return Err(AppError::field(
                "part",
                "is required with format=csv: must be one of summary, projects, \
                 fund_transactions, exchanges, plan_tasks, evidence, gaps",
            )
            .into());
        }
        (LedgerFormat::Csv, Some(part)) => Some(part),
        (_, Some(_)) => {
            return Err(AppError::field("part", "is only for format=csv").into());
        }
        (_, None) => None,
    };
    let ledger = ledgers::get(ctx, actor, org_id, year, quarter).await?;
    let period = match quarter {
        Some(q) => format!("{year}Q{q}"),
        None => year.to_string(),
    };
    let file = |ext: &str, part: Option<&str>| {
        let name = match part {
            Some(part) => format!("ledger-{org_id}-{period}-{part}.{ext}"),
            None => format!("ledger-{org_id}-{period}.{ext}"),
        };
        ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name)],
        }
    };
    Ok(match (format, part) {
        (LedgerFormat::Xlsx, _) => HttpResponse::Ok()
            .content_type(spreadsheet::XLSX)
            .insert_header((header::CONTENT_DISPOSITION, file("xlsx", None)))
            .body(ledger_export::xlsx(&ledger)?),
        (LedgerFormat::Csv, Some(part)) => HttpResponse::Ok()
            .content_type(spreadsheet::CSV)
            .insert_header((
                header::CONTENT_DISPOSITION,
                file("csv", Some(part.as_str())),
            ))
            .body(ledger_export::csv(&ledger, part)?),
        _ => HttpResponse::Ok().json(ledger),
    })
}
