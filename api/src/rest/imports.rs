//! Spreadsheet import: `POST /api/v1/imports/{record_type}` (see `service::imports`).

use std::time::Duration;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, post, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::evidence::{next_part, read_part};
use crate::http::{
    extract::Query,
    problem::{Problem, ProblemBody},
};
use crate::{
    authz::Actor,
    error::AppError,
    service::{
        AppCtx,
        imports::{self, Family, ImportQuery, ImportReport, ImportUpload},
    },
};

type Ctx = web::Data<AppCtx>;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(import);
}

/// Imports projects, fund transactions or exchanges from a spreadsheet (multipart part
/// `file`: XLSX or CSV), one record per row keyed by `external_id` (外部编号), with the
/// export's Chinese headers or the API's field names (money then in fen). All rows or none,
/// under the rules and authorization of sync. `dry_run=true` reports what would be created and
/// updated and every bad row and cell, and writes nothing; a real run with bad rows is a `422`
/// whose `errors` name each one's `row` and column (`field`).
#[utoipa::path(
    tag = "sync",
    params(("record_type" = String, Path, description = "`project`, `fund_transaction` or `exchange`"), ImportQuery),
    request_body(content = ImportUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = ImportReport),
        (status = 415, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/imports/{record_type}")]
pub async fn import(
    ctx: Ctx,
    actor: Actor,
    record_type: web::Path<String>,
    q: Query<ImportQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let family = Family::parse(&record_type).ok_or_else(|| {
        AppError::field(
            "record_type",
            format!(
                "must be one of: {} ({:?} is not imported)",
                Family::NAMES,
                record_type.as_str()
            ),
        )
    })?;
    if !req
        .content_type()
        .eq_ignore_ascii_case("multipart/form-data")
    {
        return Err(AppError::UnsupportedMediaType {
            detail: "send multipart/form-data with the spreadsheet in the part `file`".into(),
        }
        .into());
    }
    let idle = Duration::from_secs(ctx.config.body_timeout_seconds.max(1));
    let mut form = actix_multipart::Multipart::new(req.headers(), payload);
    let Some(part) = next_part(&mut form, idle).await? else {
        return Err(AppError::field("file", "is required: the spreadsheet").into());
    };
    if part.name() != Some("file") {
        let name = part.name().unwrap_or_default().to_string();
        return Err(AppError::field(name, "is not a part of an import: send `file` only").into());
    }
    let bytes = read_part(part, "file", idle, ctx.config.import_max_bytes).await?;
    let dry_run = q.0.dry_run.unwrap_or(false);
    let report = imports::import(&ctx, &actor, family, &bytes, dry_run).await?;
    Ok(HttpResponse::Ok().json(report))
}
