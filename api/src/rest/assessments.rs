//! The yearly assessment (考核): `GET /api/v1/assessments/{org_id}/{year}` and its package.

use actix_web::{
    HttpResponse, get,
    http::header::{self, ContentDisposition, DispositionParam, DispositionType},
    web,
};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::http::problem::{Problem, ProblemBody};
use crate::{
    authz::Actor,
    service::{
        AppCtx, assessment_package,
        assessments::{self, Assessment},
    },
};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get).service(package);
}

/// The assessment of an organization for a year: the indicators of the work plan's six areas,
/// computed from the records as they stand, each with the ids of the records it counts and of
/// the evidence linked to them. Read by the organization's own subtree and the roles that read
/// everything.
#[utoipa::path(
    tag = "assessments",
    operation_id = "get_assessment",
    params(("org_id" = Uuid, Path), ("year" = i32, Path)),
    responses(
        (status = 200, body = Assessment),
        (status = 404, description = "no such organization, or not one whose records the caller reads whole", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/assessments/{org_id}/{year}")]
pub async fn get(
    ctx: web::Data<AppCtx>,
    actor: Actor,
    path: web::Path<(Uuid, i32)>,
) -> Result<HttpResponse, Problem> {
    let (org_id, year) = path.into_inner();
    Ok(HttpResponse::Ok().json(assessments::get(&ctx, &actor, org_id, year).await?))
}

/// The assessment package: a ZIP streamed as it is written, holding the evidence behind the
/// indicators filed by category (`evidence/<category>/<id>-<file name>`), the photos of each
/// record as a PDF album (`albums/<record type>-<record id>.pdf`), `index.xlsx` listing every
/// file with the records it proves and the indicators it supports, `assessment.json`, and
/// `manifest.json` with the SHA-256 and size of every other file.
#[utoipa::path(
    tag = "assessments",
    operation_id = "get_assessment_package",
    params(("org_id" = Uuid, Path), ("year" = i32, Path)),
    responses(
        (status = 200, description = "the package", content_type = "application/zip"),
        (status = 404, description = "no such organization, or not one whose records the caller reads whole", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/assessments/{org_id}/{year}/package")]
pub async fn package(
    ctx: web::Data<AppCtx>,
    actor: Actor,
    path: web::Path<(Uuid, i32)>,
) -> Result<HttpResponse, Problem> {
    let (org_id, year) = path.into_inner();
    let package = assessment_package::package(&ctx, &actor, org_id, year).await?;
    let body = futures_util::stream::unfold(package.body, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok(HttpResponse::Ok()
        .content_type(assessment_package::ZIP)
        .insert_header((
            header::CONTENT_DISPOSITION,
            ContentDisposition {
                disposition: DispositionType::Attachment,
                parameters: vec![DispositionParam::Filename(package.file_name)],
            },
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .streaming(body))
}
