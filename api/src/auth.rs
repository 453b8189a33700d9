//! Proving who is calling: JWT issue and verification, password and secret hashing. What the
//! caller may do is `authz`'s; the account behind a token is checked against the directory
//! (`service::directory`) on every request.

use std::sync::OnceLock;

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::domain::ActorKind;
use crate::{
    config::Config,
    domain::Role,
    error::{AppError, AppResult},
};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
    pub typ: ActorKind,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<Uuid>,
    /// The account's credential stamp when the token was issued ([`credential_stamp`]): a
    /// password or secret changed since makes the token invalid on its next use.
    #[serde(default)]
    pub cred: u64,
}

/// A stamp of a stored password or secret hash: 64 bits of its SHA-256. It changes whenever the
/// credential changes (each hash has a fresh salt) and tells nothing about the credential.
pub fn credential_stamp(stored_hash: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(stored_hash.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Signing and verification keys with the validation rules that go with them.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub ttl_seconds: i64,
}

impl JwtKeys {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let secret = match &config.jwt_secret {
            Some(secret) => {
                anyhow::ensure!(
                    secret.expose().len() >= 32,
                    "XIEZUO_JWT_SECRET must be at least 32 bytes"
                );
                secret.expose().as_bytes().to_vec()
            }
            None => {
                tracing::warn!(
                    "XIEZUO_JWT_SECRET is not set: using a random key, so tokens die with this \
                     process and are not shared between replicas"
                );
                random_bytes(32)?
            }
        };
        Self::new(&secret, config)
    }

    pub fn new(secret: &[u8], config: &Config) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[config.jwt_issuer.as_str()]);
        validation.set_audience(&[config.jwt_audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl_seconds: config.token_ttl_seconds,
        })
    }

    pub fn issue(
        &self,
        sub: Uuid,
        typ: ActorKind,
        role: Role,
        org: Option<Uuid>,
        cred: u64,
    ) -> AppResult<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub,
            exp: now + self.ttl_seconds,
            iat: now,
            jti: Uuid::now_v7(),
            typ,
            role,
            org,
            cred,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(e.into()))
    }

    /// Any failure is a 401: an invalid token never degrades to anonymous access.
    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                let detail = match e.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    _ => "the token is not valid",
                };
                AppError::Unauthenticated {
                    code: "invalid_token",
                    detail,
                }
            })
    }
}

pub fn random_bytes(n: usize) -> anyhow::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
    Ok(buf)
}

/// A URL-safe random secret of `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> AppResult<String> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    Ok(URL_SAFE_NO_PAD.encode(random_bytes(bytes)?))
}

/// How long a sign-in waits for a free hashing slot before it is answered `503`.
const HASH_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A turn at argon2: one per core. Each run takes 19 MiB and tens of milliseconds of a core,
/// so unbounded concurrent sign-ins would take memory without end and finish no sooner. Beyond
/// the cores, attempts queue for [`HASH_QUEUE_WAIT`] and are then refused with `Retry-After`.
async fn hashing_turn() -> AppResult<tokio::sync::SemaphorePermit<'static>> {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        tokio::sync::Semaphore::new(cores)
    });
    match tokio::time::timeout(HASH_QUEUE_WAIT, slots.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(AppError::RetryLater {
            status: 503,
            code: "busy",
            detail: "too many sign-ins at once; retry shortly".into(),
            retry_after: 1,
        }),
    }
}

/// argon2id with the crate's defaults (19 MiB, t=2, p=1), a fresh salt each time. Runs on the
/// blocking pool: hashing takes tens of milliseconds and must not stall the async workers.
pub async fn hash_secret(secret: String) -> AppResult<String> {
    let _turn = hashing_turn().await?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(secret.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| AppError::internal(format!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}

/// Whether `phc` is a password hash this service verifies: an argon2 PHC string
/// (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), as `hash_secret` and `xiezuo hash-password` write.
pub fn check_password_hash(phc: &str) -> std::result::Result<(), String> {
    let parsed = PasswordHash::new(phc)
        .map_err(|e| format!("is not a PHC string like $argon2id$v=19$…: {e}"))?;
    argon2::Algorithm::try_from(parsed.algorithm.as_str())
        .map_err(|_| format!("names {}, not argon2id", parsed.algorithm.as_str()))?;
    argon2::Params::try_from(&parsed).map_err(|e| format!("has parameters argon2 refuses: {e}"))?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("lacks its salt or its hash".into());
    }
    Ok(())
}

/// Verifies `secret` against a PHC string. With no stored hash (unknown user) it still runs a
/// verification against a fixed dummy hash, so both failures take the same time.
pub async fn verify_secret(secret: String, stored: Option<String>) -> AppResult<bool> {
    let _turn = hashing_turn().await?;
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = match stored {
            Some(phc) => phc,
            None => dummy_hash()?.to_string(),
        };
        let ok = PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(secret.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        Ok(known && ok)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}

fn dummy_hash() -> AppResult<&'static str> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = Argon2::default()
        .hash_password(b"xiezuo-dummy-password")
        .map_err(|e| AppError::internal(format!("hashing failed: {e}")))?
        .to_string();
    Ok(DUMMY.get_or_init(|| hash))
}

/// A new password for a first admin nobody configured: 24 URL-safe characters.
pub fn generate_password() -> AppResult<String> {
    random_token(18)
}
