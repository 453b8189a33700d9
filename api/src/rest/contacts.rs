//! Contacts: `/api/v1/contacts`. Phone numbers and email addresses come masked unless the
//! caller may see them (see `service::contacts`).

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
        contacts::{self, ContactPatch, ContactQuery, ContactView, NewContact},
    },
};

type Ctx = web::Data<AppCtx>;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get)
        .service(update)
        .service(remove);
}

fn one(view: &ContactView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List contacts of the organizations the caller may read.
#[utoipa::path(
    tag = "contacts",
    operation_id = "list_contacts",
    params(ContactQuery, FormatParam),
    responses((status = 200, body = Page<ContactView>)),
    security(("bearer" = []))
)]
#[get("/contacts")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<ContactQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(contacts::list)).await
}

/// Record a contact of an organization the caller may write for.
#[utoipa::path(
    tag = "contacts",
    operation_id = "create_contact",
    request_body = NewContact,
    responses(
        (status = 201, body = ContactView, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "external_id taken", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/contacts")]
pub async fn create(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewContact>,
) -> Result<HttpResponse, Problem> {
    let view = contacts::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .insert_header((header::LOCATION, format!("/api/v1/contacts/{}", view.id)))
        .json(view))
}

/// One contact, with its version as `ETag`.
#[utoipa::path(
    tag = "contacts",
    operation_id = "get_contact",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ContactView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/contacts/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    Ok(one(&contacts::get(&ctx, &actor, *id).await?))
}

/// Change a contact. Send `If-Match` with the ETag you read.
#[utoipa::path(
    tag = "contacts",
    operation_id = "update_contact",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = ContactPatch,
    responses(
        (status = 200, body = ContactView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/contacts/{id}")]
pub async fn update(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<ContactPatch>,
) -> Result<HttpResponse, Problem> {
    Ok(one(&contacts::update(
        &ctx, &actor, *id, if_match.0, body.0,
    )
    .await?))
}

/// Delete a contact.
#[utoipa::path(
    tag = "contacts",
    operation_id = "delete_contact",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/contacts/{id}")]
pub async fn remove(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    contacts::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
