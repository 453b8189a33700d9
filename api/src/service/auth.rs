//! The token endpoint's rules (RFC 6749 password and client-credentials grants).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AppCtx, service_accounts, users};
use crate::{
    auth::{ActorKind, credential_stamp, verify_secret},
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

/// Checks the credentials and issues a token. `client` is the caller's address: failed
/// attempts are counted per account and address, and answered `429` for a while once there
/// are too many ([`login_guard`](super::login_guard)).
pub async fn issue(
    ctx: &AppCtx,
    req: TokenRequest,
    client: Option<std::net::IpAddr>,
) -> AppResult<TokenResponse> {
    let mut f = Fields::new();
    let login: String;
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
            ctx.login_guard.check(&username, client)?;
            login = username.clone();
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
            ctx.login_guard.check(&client_id, client)?;
            login = client_id.clone();
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
    if !verify_secret(secret, stored.clone()).await? || role.is_none() {
        ctx.login_guard.failed(&login, client);
        return Err(bad_credentials());
    }
    ctx.login_guard.succeeded(&login, client);
    let role = Role::from_db(&role.ok_or_else(bad_credentials)?)?;
    let cred = stored.as_deref().map(credential_stamp).unwrap_or_default();
    let token = ctx.jwt.issue(id, kind, role, org, cred)?;
    Ok(TokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: ctx.jwt.ttl_seconds,
    })
}
