//! Token issue, users and service accounts.

use actix_web::{HttpRequest, HttpResponse, delete, get, http::header, patch, post, web};
use uuid::Uuid;

use super::listing;
use crate::http::{
    extract::{IfMatch, Json, ListQuery, RawBody, etag, parse_json, parse_urlencoded},
    problem::{Problem, ProblemBody},
};
use crate::service::spreadsheet::FormatParam;
use crate::{
    authz::Actor,
    error::AppError,
    service::{
        AppCtx, Page, auth,
        service_accounts::{
            self, CreatedServiceAccount, NewServiceAccount, ServiceAccountQuery, ServiceAccountView,
        },
        users::{self, NewUser, UserPatch, UserQuery, UserView},
    },
};

type Ctx = web::Data<AppCtx>;

/// Issue an access token: `grant_type=password` (`username`, `password`) or
/// `grant_type=client_credentials` (`client_id`, `client_secret`), form-encoded as RFC 6749
/// says. The same fields are also accepted as an `application/json` object.
#[utoipa::path(
    tag = "auth",
    request_body(content = auth::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = auth::TokenResponse),
        (status = 400, body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "unknown account or wrong secret (one answer for both)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "too many failed attempts from this client or for this account; wait `Retry-After` seconds", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "too many sign-ins at once; retry after `Retry-After` seconds", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
#[post("/auth/token")]
pub async fn token(ctx: Ctx, req: HttpRequest, body: RawBody) -> Result<HttpResponse, Problem> {
    let mime = req.content_type().to_ascii_lowercase();
    let body = body.0;
    let mut request: auth::TokenRequest = if mime == "application/x-www-form-urlencoded" {
        parse_urlencoded(&body, "body")?
    } else if mime == "application/json" {
        parse_json(&body)?
    } else {
        return Err(AppError::UnsupportedMediaType {
            detail: "send application/x-www-form-urlencoded or application/json".into(),
        }
        .into());
    };
    if let Some((id, secret)) = basic_credentials(&req)? {
        // RFC 6749 §2.3.1: a client authenticates one way only.
        if request.client_id.is_some() || request.client_secret.is_some() {
            return Err(AppError::BadRequest {
                code: "invalid_request",
                detail: "send the client credentials either in the Authorization header or in \
                         the body, not both"
                    .into(),
            }
            .into());
        }
        request.client_id = Some(id);
        request.client_secret = Some(secret);
    }
    let client = req.peer_addr().map(|a| a.ip());
    let response = auth::issue(&ctx, request, client).await?;
    // RFC 6749 §5.1: token responses must not be cached.
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(response))
}

/// Client credentials sent with HTTP Basic (RFC 6749 §2.3.1), the default of many OAuth2
/// libraries: `Authorization: Basic base64(urlencode(client_id) ":" urlencode(client_secret))`.
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, AppError> {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let invalid = || AppError::Unauthenticated {
        code: "invalid_client",
        detail: "the Authorization header must be `Basic base64(client_id:client_secret)`",
    };
    let text = value.to_str().map_err(|_| invalid())?.trim();
    let Some((scheme, encoded)) = text.split_once(' ') else {
        return Err(invalid());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

use actix_web::HttpMessage;

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: Uuid,
    /// `user` or `service_account`.
    pub kind: String,
    pub role: crate::domain::Role,
    pub org_id: Option<Uuid>,
}

/// Who the token belongs to.
#[utoipa::path(tag = "auth", responses((status = 200, body = Me)), security(("bearer" = [])))]
#[get("/me")]
pub async fn me(actor: Actor) -> HttpResponse {
    HttpResponse::Ok().json(Me {
        id: actor.id,
        kind: actor.kind.as_str().into(),
        role: actor.role,
        org_id: actor.org_id,
    })
}

/// List users (admin).
#[utoipa::path(tag = "users", params(UserQuery, FormatParam), responses((status = 200, body = Page<UserView>)), security(("bearer" = [])))]
#[get("/users")]
pub async fn list_users(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<UserQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(users::list)).await
}

/// Create a user (admin). Editors need a western organization, partners an eastern one.
#[utoipa::path(
    tag = "users",
    request_body = NewUser,
    responses(
        (status = 201, body = UserView),
        (status = 409, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/users")]
pub async fn create_user(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewUser>,
) -> Result<HttpResponse, Problem> {
    let view = users::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}

/// One user (admin, or the user themself).
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/users/{id}")]
pub async fn get_user(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let view = users::get(&ctx, &actor, *id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}

/// Change a user's role, organization, password or disabled flag (admin).
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    request_body = UserPatch,
    responses(
        (status = 200, body = UserView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/users/{id}")]
pub async fn update_user(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UserPatch>,
) -> Result<HttpResponse, Problem> {
    let view = users::update(&ctx, &actor, *id, if_match.0, body.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}

/// Delete a user (admin).
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses((status = 204), (status = 404, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[delete("/users/{id}")]
pub async fn delete_user(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    users::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List service accounts (admin). Secrets are never listed.
#[utoipa::path(
    tag = "service-accounts",
    params(ServiceAccountQuery, FormatParam),
    responses((status = 200, body = Page<ServiceAccountView>)),
    security(("bearer" = []))
)]
#[get("/service-accounts")]
pub async fn list_service_accounts(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<ServiceAccountQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(service_accounts::list)).await
}

/// Create a service account (admin). The `client_secret` is in this response only.
#[utoipa::path(
    tag = "service-accounts",
    request_body = NewServiceAccount,
    responses((status = 201, body = CreatedServiceAccount)),
    security(("bearer" = []))
)]
#[post("/service-accounts")]
pub async fn create_service_account(
    ctx: Ctx,
    actor: Actor,
    body: Json<NewServiceAccount>,
) -> Result<HttpResponse, Problem> {
    let created = service_accounts::create(&ctx, &actor, body.0).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(created))
}

/// One service account (admin).
#[utoipa::path(
    tag = "service-accounts",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ServiceAccountView), (status = 404, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/service-accounts/{id}")]
pub async fn get_service_account(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(service_accounts::get(&ctx, &actor, *id).await?))
}

/// Delete a service account (admin); its tokens stop being issued at once.
#[utoipa::path(
    tag = "service-accounts",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with (`\"3-5f1c0e9a2b7d4c18\"`; only the version before the dash is compared), or `*` to change whatever is stored. Required: without it the answer is 428.")),
    responses((status = 204), (status = 404, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[delete("/service-accounts/{id}")]
pub async fn delete_service_account(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    service_accounts::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
