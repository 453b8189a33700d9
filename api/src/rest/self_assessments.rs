//! Self-assessment routes: `/api/v1/self-assessments`, and the steps `send`, `opinion`,
//! `submit`.

use actix_web::{HttpResponse, get, http::header, patch, post, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::listing;
use crate::http::{
    extract::{IfMatch, IfMatchOpt, Json, ListQuery, etag},
    problem::{Problem, ProblemBody},
};
use crate::service::spreadsheet::FormatParam;
use crate::{
    authz::Actor,
    service::{
        AppCtx, Page,
        self_assessments::{
            self, NewSelfAssessment, OpinionInput, SelfAssessmentPatch, SelfAssessmentQuery,
            SelfAssessmentView,
        },
    },
};

type Ctx = web::Data<AppCtx>;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get)
        .service(update)
        .service(send)
        .service(opinion)
        .service(submit);
}

fn one(view: &SelfAssessmentView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List the self-assessments the caller may read (its own organization's, and, for a partner,
/// those sent to it), filtered, in keyset pages.
#[utoipa::path(
    tag = "self-assessments",
    params(SelfAssessmentQuery, FormatParam),
    responses((status = 200, body = Page<SelfAssessmentView>)),
    security(("bearer" = []))
)]
#[get("/self-assessments")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<SelfAssessmentQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(self_assessments::list)).await
}

/// Draft the self-assessment of an organization for a year, with its computed indicators.
#[utoipa::path(
    tag = "self-assessments",
    request_body = NewSelfAssessment,
    responses(
        (status = 201, body = SelfAssessmentView, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "the organization already has one for the year", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/self-assessments")]
pub async fn create(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewSelfAssessment>,
) -> Result<HttpResponse, Problem> {
    let view = self_assessments::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((
            header::LOCATION,
            format!("/api/v1/self-assessments/{}", view.id),
        ))
        .json(view))
}

/// One self-assessment, with its version as `ETag`.
#[utoipa::path(
    tag = "self-assessments",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = SelfAssessmentView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/self-assessments/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    Ok(one(&self_assessments::get(&ctx, &actor, *id).await?))
}

/// Change a draft's account; its indicators are computed again.
#[utoipa::path(
    tag = "self-assessments",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = SelfAssessmentPatch,
    responses(
        (status = 200, body = SelfAssessmentView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "no longer a draft", body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/self-assessments/{id}")]
pub async fn update(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<SelfAssessmentPatch>,
) -> Result<HttpResponse, Problem> {
    Ok(one(&self_assessments::update(
        &ctx, &actor, *id, if_match.0, body.0,
    )
    .await?))
}

/// Send the draft to the eastern partner for its opinion; the indicators are computed one last
/// time and frozen. `If-Match` is optional.
#[utoipa::path(
    tag = "self-assessments",
    operation_id = "send_self_assessment",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` the record was read with; optional.")),
    responses(
        (status = 200, body = SelfAssessmentView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "not a draft", body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/self-assessments/{id}/send")]
pub async fn send(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatchOpt,
) -> Result<HttpResponse, Problem> {
    let expected = if_match.0.flatten();
    Ok(one(
        &self_assessments::send(&ctx, &actor, *id, expected).await?
    ))
}

/// The partner's opinion (the eastern side of the pairing): `agree`, or `comment` with a
/// comment. `If-Match` is optional.
#[utoipa::path(
    tag = "self-assessments",
    operation_id = "give_self_assessment_opinion",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` the record was read with; optional.")),
    request_body = OpinionInput,
    responses(
        (status = 200, body = SelfAssessmentView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "not sent, or already answered", body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/self-assessments/{id}/opinion")]
pub async fn opinion(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatchOpt,
    body: Json<OpinionInput>,
) -> Result<HttpResponse, Problem> {
    let expected = if_match.0.flatten();
    Ok(one(&self_assessments::give_opinion(
        &ctx, &actor, *id, expected, body.0,
    )
    .await?))
}

/// Submit a self-assessment the partner has given its opinion on. `If-Match` is optional.
#[utoipa::path(
    tag = "self-assessments",
    operation_id = "submit_self_assessment",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` the record was read with; optional.")),
    responses(
        (status = 200, body = SelfAssessmentView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "no opinion yet, or already submitted", body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/self-assessments/{id}/submit")]
pub async fn submit(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatchOpt,
) -> Result<HttpResponse, Problem> {
    let expected = if_match.0.flatten();
    Ok(one(
        &self_assessments::submit(&ctx, &actor, *id, expected).await?
    ))
}
