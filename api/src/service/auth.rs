//! The token endpoint's rules (RFC 6749 password and client-credentials grants).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AppCtx, service_accounts, users};
use crate::{
    auth::{ActorKind, verify_secret},
    domain::{Fields, Role},
    error::{AppError, AppResult},
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// `password` or `client_credentials`.
    pub grant_type: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Accepted for RFC 6749 compatibility; the role decides what a token may do.
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
}

fn bad_credentials() -> AppError {
    // One answer for an unknown name, a wrong secret and a disabled account.
    AppError::Unauthenticated {
        code: "invalid_credentials",
        detail: "the credentials are not valid",
    }
}

pub async fn issue(ctx: &AppCtx, req: TokenRequest) -> AppResult<TokenResponse> {
    let mut f = Fields::new();
    let (id, kind, role, org, secret, stored) = match req.grant_type.as_str() {
        "password" => {
            let username = req.username.unwrap_or_default();
            let password = req.password.unwrap_or_default();
            if username.is_empty() {
                f.push("username", "is required for the password grant");
            }
            if password.is_empty() {
                f.push("password", "is required for the password grant");
            }
            f.finish()?;
            let found = users::for_login(ctx, &username).await?;
            let hash = found.as_ref().map(|u| u.password_hash.clone());
            match found {
                Some(u) => (
                    u.id,
                    ActorKind::User,
                    Some(u.role),
                    u.org_id,
                    password,
                    hash,
                ),
                None => (
                    uuid::Uuid::nil(),
                    ActorKind::User,
                    None,
                    None,
                    password,
                    None,
                ),
            }
        }
        "client_credentials" => {
            let client_id = req.client_id.unwrap_or_default();
            let secret = req.client_secret.unwrap_or_default();
            if client_id.is_empty() {
                f.push("client_id", "is required for the client_credentials grant");
            }
            if secret.is_empty() {
                f.push(
                    "client_secret",
                    "is required for the client_credentials grant",
                );
            }
            f.finish()?;
            let found = service_accounts::for_login(ctx, &client_id).await?;
            let hash = found.as_ref().map(|a| a.secret_hash.clone());
            match found {
                Some(a) => (
                    a.id,
                    ActorKind::ServiceAccount,
                    Some(a.role),
                    a.org_id,
                    secret,
                    hash,
                ),
                None => (
                    uuid::Uuid::nil(),
                    ActorKind::ServiceAccount,
                    None,
                    None,
                    secret,
                    None,
                ),
            }
        }
        _ => {
            return Err(AppError::BadRequest {
                code: "unsupported_grant_type",
                detail: "grant_type must be password or client_credentials".into(),
            });
        }
    };
    if !verify_secret(secret, stored).await? {
        return Err(bad_credentials());
    }
    let role = Role::from_db(&role.ok_or_else(bad_credentials)?)?;
    let token = ctx.jwt.issue(id, kind, role, org)?;
    Ok(TokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: ctx.jwt.ttl_seconds,
    })
}
