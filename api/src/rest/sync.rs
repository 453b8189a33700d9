//! Batch sync: `POST /api/v1/sync/{record_type}` (see `service::sync`).

use actix_web::{HttpResponse, post, web};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::{
    extract::Json,
    problem::{Problem, ProblemBody},
};
use crate::{
    authz::Actor,
    error::AppError,
    service::{
        AppCtx,
        agreements::{self, NewAgreement},
        evidence::{self, EvidenceMetadata},
        exchanges::{self, NewExchange},
        fund_transactions::{self, NewFundTransaction},
        projects::{self, NewProject},
        sync::{SyncBatch, SyncResponse},
    },
};

type Ctx = web::Data<AppCtx>;

/// The record types sync takes today.
const SYNCED: &str = "fund_transaction, project, exchange, agreement, evidence";

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(fund_transaction)
        .service(project)
        .service(exchange)
        .service(agreement)
        .service(evidence_metadata)
        .service(other);
}

/// Creates or updates a batch of fund transactions, each matched by its owner's `external_id`:
/// `created`, `updated` or `unchanged` per item, in the batch's order. All or nothing: if any
/// item is bad, nothing is written and the `422` lists every bad item's fields
/// (`items[3].amount_fen`) with its `external_id`. The rules are those of single writes; the
/// money rules hold for the batch as a whole (it may carry an arrival and the spending it pays
/// for). At most `XIEZUO_SYNC_BATCH_MAX` items (default 1,000).
#[utoipa::path(
    tag = "sync",
    operation_id = "sync_fund_transactions",
    request_body = SyncBatch<NewFundTransaction>,
    responses(
        (status = 200, body = SyncResponse),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/sync/fund_transaction")]
pub async fn fund_transaction(
    ctx: Ctx,
    actor: Actor,
    body: Json<SyncBatch<NewFundTransaction>>,
) -> Result<HttpResponse, Problem> {
    let response = fund_transactions::sync(&ctx, &actor, body.0.items).await?;
    Ok(HttpResponse::Ok().json(response))
}

/// Creates or updates a batch of projects, each matched by its owner's `external_id`:
/// `created`, `updated` or `unchanged` per item, in the batch's order. A new project is created
/// `proposed` under the rules of `POST /projects`; a stored one takes the item's content under
/// those of `PATCH /projects/{id}` (its status and actual beneficiaries stay; a verified project
/// and a project's pairing do not change). Codes are unique across all projects. All or
/// nothing, as for fund transactions.
#[utoipa::path(
    tag = "sync",
    operation_id = "sync_projects",
    request_body = SyncBatch<NewProject>,
    responses(
        (status = 200, body = SyncResponse),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/sync/project")]
pub async fn project(
    ctx: Ctx,
    actor: Actor,
    body: Json<SyncBatch<NewProject>>,
) -> Result<HttpResponse, Problem> {
    let response = projects::sync(&ctx, &actor, body.0.items).await?;
    Ok(HttpResponse::Ok().json(response))
}

/// Creates or updates a batch of exchanges (visits and joint meetings), each matched by its
/// owner's `external_id`: `created`, `updated` or `unchanged` per item, in the batch's order.
/// The rules are those of `POST /exchanges`; an item's `visiting_org_ids` replace the stored
/// ones. All or nothing, as for fund transactions.
#[utoipa::path(
    tag = "sync",
    operation_id = "sync_exchanges",
    request_body = SyncBatch<NewExchange>,
    responses(
        (status = 200, body = SyncResponse),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/sync/exchange")]
pub async fn exchange(
    ctx: Ctx,
    actor: Actor,
    body: Json<SyncBatch<NewExchange>>,
) -> Result<HttpResponse, Problem> {
    let response = exchanges::sync(&ctx, &actor, body.0.items).await?;
    Ok(HttpResponse::Ok().json(response))
}

/// Creates or updates a batch of cooperation agreements, each matched by its owner's
/// `external_id`: `created`, `updated` or `unchanged` per item, in the batch's order. The rules
/// are those of `POST /agreements`; an item's `project_ids` replace the stored links. All or
/// nothing, as for fund transactions.
#[utoipa::path(
    tag = "sync",
    operation_id = "sync_agreements",
    request_body = SyncBatch<NewAgreement>,
    responses(
        (status = 200, body = SyncResponse),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/sync/agreement")]
pub async fn agreement(
    ctx: Ctx,
    actor: Actor,
    body: Json<SyncBatch<NewAgreement>>,
) -> Result<HttpResponse, Problem> {
    let response = agreements::sync(&ctx, &actor, body.0.items).await?;
    Ok(HttpResponse::Ok().json(response))
}

/// Updates the metadata of a batch of evidence the caller's organization already uploaded, each
/// matched by the `external_id` it was uploaded with: `updated` or `unchanged` per item, in the
/// batch's order. An item holds what `PATCH /evidence/{id}` changes (`title`, `period_year`,
/// `period_quarter`, `links`; an absent period or list is none) under the same rules; the
/// pairing, and so who reads the evidence, follows the links. An item naming no stored evidence
/// is refused on its `external_id`: the file must be uploaded first with `POST /evidence` and
/// that `external_id`. Evidence a submitted ledger froze does not change. All or nothing, as for
/// fund transactions.
#[utoipa::path(
    tag = "sync",
    operation_id = "sync_evidence",
    request_body = SyncBatch<EvidenceMetadata>,
    responses(
        (status = 200, body = SyncResponse),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/sync/evidence")]
pub async fn evidence_metadata(
    ctx: Ctx,
    actor: Actor,
    body: Json<SyncBatch<EvidenceMetadata>>,
) -> Result<HttpResponse, Problem> {
    let response = evidence::sync(&ctx, &actor, body.0.items).await?;
    Ok(HttpResponse::Ok().json(response))
}

/// A record type sync does not take (yet): `422 record_type`, naming those it does.
#[utoipa::path(
    tag = "sync",
    operation_id = "sync_other",
    params(("record_type" = String, Path)),
    responses(
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/sync/{record_type}")]
pub async fn other(_actor: Actor, record_type: web::Path<String>) -> Result<HttpResponse, Problem> {
    Err(AppError::field(
        "record_type",
        format!(
            "must be one of: {SYNCED} ({:?} is not synced)",
            record_type.into_inner()
        ),
    )
    .into())
}
