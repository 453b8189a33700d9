//! Quarterly ledgers (台账): `GET /api/v1/ledgers/{org_id}/{year}/{quarter}`.

use actix_web::{HttpResponse, get, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::http::problem::{Problem, ProblemBody};
use crate::{
    authz::Actor,
    service::{
        AppCtx,
        ledgers::{self, Ledger},
    },
};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get);
}

/// The ledger of an organization for one quarter: the records of its subtree and pairings in
/// the quarter (projects with their status at the quarter's end, fund transactions, exchanges,
/// plan tasks due, evidence), totals, the due day, and the gaps to close before submitting.
#[utoipa::path(
    tag = "ledgers",
    operation_id = "get_ledger",
    params(("org_id" = Uuid, Path), ("year" = i32, Path), ("quarter" = i32, Path, description = "1–4")),
    responses(
        (status = 200, body = Ledger),
        (status = 404, description = "no such organization, or not one the caller may read", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/ledgers/{org_id}/{year}/{quarter}")]
pub async fn get(
    ctx: web::Data<AppCtx>,
    actor: Actor,
    path: web::Path<(Uuid, i32, i32)>,
) -> Result<HttpResponse, Problem> {
    let (org_id, year, quarter) = path.into_inner();
    Ok(HttpResponse::Ok().json(ledgers::get(&ctx, &actor, org_id, year, quarter).await?))
}
