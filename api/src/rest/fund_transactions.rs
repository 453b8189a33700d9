//! Fund transaction routes, and the money totals of a pairing.

use actix_web::{HttpResponse, delete, get, http::header, patch, post, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::listing;
use crate::http::{
    extract::{IfMatch, Json, ListQuery, etag},
    problem::{Problem, ProblemBody},
};
use crate::service::spreadsheet::FormatParam;
use crate::{
    authz::Actor,
    service::{
        AppCtx, Page,
        fund_transactions::{
            self, FundTransactionPatch, FundTransactionQuery, FundTransactionView,
            NewFundTransaction, Totals,
        },
    },
};

type Ctx = web::Data<AppCtx>;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get)
        .service(update)
        .service(remove)
        .service(pairing_totals);
}

fn one(view: &FundTransactionView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List fund transactions the caller may read.
#[utoipa::path(
    tag = "fund-transactions",
    params(FundTransactionQuery, FormatParam),
    responses((status = 200, body = Page<FundTransactionView>)),
    security(("bearer" = []))
)]
#[get("/fund-transactions")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<FundTransactionQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(fund_transactions::list)).await
}

/// Record money: the east records `pledge` and `transfer`, the west `arrival`, `expenditure`
/// and `refund`; a project never spends or refunds more than arrived for it.
#[utoipa::path(
    tag = "fund-transactions",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = NewFundTransaction,
    responses(
        (status = 201, body = FundTransactionView),
        (status = 409, description = "the project is verified, or the Idempotency-Key was used for another request", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/fund-transactions")]
pub async fn create(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewFundTransaction>,
) -> Result<HttpResponse, Problem> {
    let view = fund_transactions::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((
            header::LOCATION,
            format!("/api/v1/fund-transactions/{}", view.id),
        ))
        .json(view))
}

/// One fund transaction.
#[utoipa::path(
    tag = "fund-transactions",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = FundTransactionView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/fund-transactions/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    Ok(one(&fund_transactions::get(&ctx, &actor, *id).await?))
}

/// Correct a fund transaction (amount, date, project, voucher, note).
#[utoipa::path(
    tag = "fund-transactions",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = FundTransactionPatch,
    responses(
        (status = 200, body = FundTransactionView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/fund-transactions/{id}")]
pub async fn update(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<FundTransactionPatch>,
) -> Result<HttpResponse, Problem> {
    Ok(one(&fund_transactions::update(
        &ctx, &actor, *id, if_match.0, body.0,
    )
    .await?))
}

/// Delete a fund transaction.
#[utoipa::path(
    tag = "fund-transactions",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/fund-transactions/{id}")]
pub async fn remove(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    fund_transactions::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Money pledged, transferred, arrived, spent and refunded on a pairing, and its arrival rate.
#[utoipa::path(
    tag = "pairings",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Totals),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/pairings/{id}/totals")]
pub async fn pairing_totals(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(fund_transactions::pairing_totals(&ctx, &actor, *id).await?))
}
