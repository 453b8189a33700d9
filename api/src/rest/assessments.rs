//! The yearly assessment (考核): `GET /api/v1/assessments/{org_id}/{year}`.

use actix_web::{HttpResponse, get, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::http::problem::{Problem, ProblemBody};
use crate::{
    authz::Actor,
    service::{
        AppCtx,
        assessments::{self, Assessment},
    },
};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get);
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
