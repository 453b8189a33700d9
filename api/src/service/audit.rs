//! The append-only audit log: written inside the caller's transaction, read by admin,
//! coordinator and auditor.

use entity::audit_log;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    AppCtx, Page,
    records::{PageArgs, fetch_page},
};
use crate::{
    authz::Actor,
    authz::{RecordKind, ensure_role},
    domain::{Fields, Role, checked},
    error::AppResult,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// Appends the entries of a batch, in the batch's transaction: multi-row inserts
/// ([`bulk::insert`](super::bulk::insert); on PostgreSQL each thousand entries go as one JSON
/// parameter, parsed as `json`, not `jsonb`, so the logged images keep their key order as a
/// single insert stores them).
pub async fn append_many(
    db: &impl ConnectionTrait,
    entries: Vec<audit_log::Model>,
) -> AppResult<()> {
    super::bulk::insert::<audit_log::Entity>(
        db,
        entries
            .into_iter()
            .map(sea_orm::IntoActiveModel::into_active_model),
    )
    .await
}

/// Appends one entry. Call with the transaction that makes the change, so both commit or neither.
pub async fn record<T: Serialize>(
    tx: &impl ConnectionTrait,
    actor: &Actor,
    action: Action,
    kind: RecordKind,
    record_id: Uuid,
    before: Option<&T>,
    after: Option<&T>,
) -> AppResult<()> {
    let to_json = |v: Option<&T>| -> AppResult<Option<serde_json::Value>> {
        v.map(serde_json::to_value)
            .transpose()
            .map_err(|e| crate::error::AppError::Internal(e.into()))
    };
    let entry = audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        occurred_at: Set(super::now()),
        actor_type: Set(actor.kind.as_str().to_string()),
        actor_id: Set(actor.id),
        actor_role: Set(actor.role.as_str().to_string()),
        action: Set(action.as_str().to_string()),
        record_type: Set(kind.as_str().to_string()),
        record_id: Set(record_id),
        before: Set(to_json(before)?),
        after: Set(to_json(after)?),
        request_id: Set(actor.request_id.clone()),
    };
    audit_log::Entity::insert(entry)
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub actor_type: String,
    pub actor_id: Uuid,
    pub actor_role: String,
    /// `create`, `update` or `delete`.
    pub action: String,
    pub record_type: String,
    pub record_id: Uuid,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub record_type: Option<String>,
    pub record_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn list(ctx: &AppCtx, actor: &Actor, q: AuditQuery) -> AppResult<Page<AuditEntry>> {
    ensure_role(actor, &[Role::Admin, Role::Coordinator, Role::Auditor])?;
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.finish()?;
    let args = checked(args)?;

    let mut select = audit_log::Entity::find();
    if let Some(t) = q.record_type {
        select = select.filter(audit_log::Column::RecordType.eq(t));
    }
    if let Some(id) = q.record_id {
        select = select.filter(audit_log::Column::RecordId.eq(id));
    }
    if let Some(id) = q.actor_id {
        select = select.filter(audit_log::Column::ActorId.eq(id));
    }
    let rows = fetch_page(&ctx.db, select, audit_log::Column::Id, args).await?;
    let page = Page::from_rows(rows, args.limit.get(), |r| r.id);
    Ok(page.map(|r| AuditEntry {
        id: r.id,
        occurred_at: r.occurred_at,
        actor_type: r.actor_type,
        actor_id: r.actor_id,
        actor_role: r.actor_role,
        action: r.action,
        record_type: r.record_type,
        record_id: r.record_id,
        before: r.before,
        after: r.after,
        request_id: r.request_id,
    }))
}
