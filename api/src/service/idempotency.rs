//! Idempotency keys: a POST retried with the same `Idempotency-Key` and the same request replays
//! the first response; the same key with another request is refused. Keys belong to the caller
//! and are kept 24 hours.
//!
//! A key is claimed (a pending row) before the request runs and completed after it, so two
//! concurrent retries cannot both create. A claim whose request died is taken over after
//! [`PENDING_TIMEOUT`].

use std::future::Future;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Duration;
use entity::idempotency_key;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{AppCtx, now};
use crate::{
    authz::Actor,
    error::{AppError, AppResult, FieldError},
};

pub const HEADER: &str = "Idempotency-Key";
const KEEP: Duration = Duration::hours(24);
const PENDING_TIMEOUT: Duration = Duration::seconds(60);

/// A response kept for replay.
#[derive(Clone, Debug)]
pub struct Stored {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

pub enum Claim {
    /// First use: run the request, then `complete` (or `release` on a server error).
    Proceed,
    Replay(Stored),
}

/// The fingerprint of a request: what it is for and what it says.
pub fn fingerprint(operation: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

fn parse_key(key: &str) -> AppResult<String> {
    let ok = (1..=200).contains(&key.len()) && key.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(key.to_string())
    } else {
        Err(AppError::Validation(vec![FieldError::new(
            HEADER,
            "must be 1–200 visible ASCII characters",
        )]))
    }
}

fn reused() -> AppError {
    AppError::Conflict {
        code: "idempotency_key_reused",
        field: Some(HEADER.into()),
        detail: "this Idempotency-Key was already used with a different request".into(),
        existing_id: None,
    }
}

pub async fn claim(
    db: &DatabaseConnection,
    actor: Uuid,
    key: &str,
    hash: &str,
) -> AppResult<Claim> {
    let key = parse_key(key)?;
    let at = now();
    // Expired keys go first, so a key is reusable after its 24 hours.
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(at - KEEP))
        .exec(db)
        .await?;
    let existing = idempotency_key::Entity::find_by_id((actor, key.clone()))
        .one(db)
        .await?;
    if let Some(row) = existing {
        if row.request_hash != hash {
            return Err(reused());
        }
        if row.status > 0 {
            let headers = serde_json::from_value(row.response_headers).unwrap_or_default();
            return Ok(Claim::Replay(Stored {
                status: u16::try_from(row.status).unwrap_or(200),
                body: row.response_body,
                headers,
            }));
        }
        if row.created_at > at - PENDING_TIMEOUT {
            return Err(AppError::Conflict {
                code: "idempotency_in_progress",
                field: Some(HEADER.into()),
                detail: "a request with this Idempotency-Key is still in progress".into(),
                existing_id: None,
            });
        }
        // The first attempt died mid-way: take its claim over.
        let taken = idempotency_key::Entity::update_many()
            .col_expr(
                idempotency_key::Column::CreatedAt,
                sea_orm::sea_query::Expr::value(at),
            )
            .filter(idempotency_key::Column::ActorId.eq(actor))
            .filter(idempotency_key::Column::Key.eq(key.as_str()))
            .filter(idempotency_key::Column::CreatedAt.eq(row.created_at))
            .exec(db)
            .await?;
        return if taken.rows_affected == 1 {
            Ok(Claim::Proceed)
        } else {
            Err(AppError::Conflict {
                code: "idempotency_in_progress",
                field: Some(HEADER.into()),
                detail: "a request with this Idempotency-Key is still in progress".into(),
                existing_id: None,
            })
        };
    }
    let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        actor_id: Set(actor),
        key: Set(key),
        request_hash: Set(hash.to_string()),
        status: Set(0),
        response_body: Set(String::new()),
        response_headers: Set(serde_json::json!([])),
        created_at: Set(at),
    })
    .exec_without_returning(db)
    .await;
    match inserted {
        Ok(_) => Ok(Claim::Proceed),
        // A concurrent request with the same key got there first.
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Err(AppError::Conflict {
                code: "idempotency_in_progress",
                field: Some(HEADER.into()),
                detail: "a request with this Idempotency-Key is still in progress".into(),
                existing_id: None,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Keeps the response of a claimed key for replay.
pub async fn complete(
    db: &DatabaseConnection,
    actor: Uuid,
    key: &str,
    stored: &Stored,
) -> AppResult<()> {
    idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::Status,
            sea_orm::sea_query::Expr::value(i32::from(stored.status)),
        )
        .col_expr(
            idempotency_key::Column::ResponseBody,
            sea_orm::sea_query::Expr::value(stored.body.clone()),
        )
        .col_expr(
            idempotency_key::Column::ResponseHeaders,
            sea_orm::sea_query::Expr::value(
                serde_json::to_value(&stored.headers).unwrap_or_default(),
            ),
        )
        .filter(idempotency_key::Column::ActorId.eq(actor))
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives a claimed key back (the request failed on our side; a retry may run it again).
pub async fn release(db: &DatabaseConnection, actor: Uuid, key: &str) -> AppResult<()> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ActorId.eq(actor))
        .filter(idempotency_key::Column::Key.eq(key))
        .filter(idempotency_key::Column::Status.eq(0))
        .exec(db)
        .await?;
    Ok(())
}

/// Runs a create for GraphQL under an optional idempotency key: the stored result is the
/// created record as JSON, replayed as the same record.
pub async fn run<I, T, F>(
    ctx: &AppCtx,
    actor: &Actor,
    key: Option<&str>,
    operation: &str,
    input: &I,
    create: impl FnOnce() -> F,
) -> AppResult<T>
where
    I: Serialize,
    T: Serialize + DeserializeOwned,
    F: Future<Output = AppResult<T>>,
{
    let Some(key) = key else {
        return create().await;
    };
    let body = serde_json::to_vec(input).map_err(|e| AppError::Internal(e.into()))?;
    let hash = fingerprint(&format!("graphql {operation}"), &body);
    match claim(&ctx.db, actor.id, key, &hash).await? {
        Claim::Replay(stored) => {
            serde_json::from_str(&stored.body).map_err(|e| AppError::Internal(e.into()))
        }
        Claim::Proceed => match create().await {
            Ok(created) => {
                let body =
                    serde_json::to_string(&created).map_err(|e| AppError::Internal(e.into()))?;
                complete(
                    &ctx.db,
                    actor.id,
                    key,
                    &Stored {
                        status: 200,
                        body,
                        headers: vec![],
                    },
                )
                .await?;
                Ok(created)
            }
            Err(e) => {
                release(&ctx.db, actor.id, key).await?;
                Err(e)
            }
        },
    }
}
