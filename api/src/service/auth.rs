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

/// The longest user name, client id, password or secret the token endpoint reads, in
/// characters as passwords are counted when set (so every password that can be set can sign
/// in; at most 1 KiB of UTF-8 reaches the hash).
const CREDENTIAL_MAX: usize = 256;

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
    let (kind, login, secret, fields, grant) = match req.grant_type.as_str() {
        "password" => (
            ActorKind::User,
            req.username.unwrap_or_default(),
            req.password.unwrap_or_default(),
            ("username", "password"),
            "the password grant",
        ),
        "client_credentials" => (
            ActorKind::ServiceAccount,
            req.client_id.unwrap_or_default(),
            req.client_secret.unwrap_or_default(),
            ("client_id", "client_secret"),
            "the client_credentials grant",
        ),
        _ => {
            return Err(AppError::BadRequest {
                code: "unsupported_grant_type",
                detail: "grant_type must be password or client_credentials".into(),
            });
        }
    };
    let mut f = Fields::new();
    for (field, value) in [(fields.0, &login), (fields.1, &secret)] {
        if value.is_empty() {
            f.push(field, format!("is required for {grant}"));
        } else if value.chars().count() > CREDENTIAL_MAX {
            f.push(
                field,
                format!("must be at most {CREDENTIAL_MAX} characters"),
            );
        }
    }
    f.finish()?;
    // Counted from here: a burst of guesses is held back as it arrives.
    let attempt = ctx.login_guard.admit(&login, client)?;
    let account = match kind {
        ActorKind::ServiceAccount => service_accounts::for_login(ctx, &login)
            .await?
            .map(|a| (a.id, a.role, a.org_id, a.secret_hash)),
        _ => users::for_login(ctx, &login)
            .await?
            .map(|u| (u.id, u.role, u.org_id, u.password_hash)),
    };
    let stored = account.as_ref().map(|a| a.3.clone());
    // Dropping `attempt` on an error here (the server busy) does not count it.
    let verified = verify_secret(secret, stored).await?;
    let Some((id, role, org, hash)) = account.filter(|_| verified) else {
        attempt.failed();
        return Err(bad_credentials());
    };
    attempt.succeeded();
    let role = Role::from_db(&role)?;
    let cred = credential_stamp(&hash);
    let token = ctx.jwt.issue(id, kind, role, org, cred)?;
    Ok(TokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: ctx.jwt.ttl_seconds,
    })
}
