//! Service accounts: OAuth2 client-credentials identities for scripts and partner systems.

use entity::service_account;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page, audit, check_version, now,
    records::{PageArgs, fetch_page},
    users::check_role_org,
};
use crate::{
    auth::{hash_secret, random_token},
    authz::Actor,
    authz::{RecordKind, ensure_role},
    domain::{Fields, Role, Text, checked},
    error::{AppError, AppResult},
};

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ServiceAccountView {
    pub id: Uuid,
    pub name: String,
    pub client_id: String,
    pub role: Role,
    pub org_id: Option<Uuid>,
    pub disabled: bool,
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The answer to a create: the only time the secret is ever shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedServiceAccount {
    #[serde(flatten)]
    pub account: ServiceAccountView,
    pub client_secret: String,
}

impl ServiceAccountView {
    fn from_model(m: service_account::Model) -> AppResult<Self> {
        Ok(Self {
            role: Role::from_db(&m.role)?,
            id: m.id,
            name: m.name,
            client_id: m.client_id,
            org_id: m.org_id,
            disabled: m.disabled,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

pub const NAME_MAX: usize = 200;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceAccount {
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub org_id: Option<Uuid>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ServiceAccountQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn create(
    ctx: &AppCtx,
    actor: &Actor,
    input: NewServiceAccount,
) -> AppResult<CreatedServiceAccount> {
    ensure_role(actor, &[Role::Admin])?;
    let mut f = Fields::new();
    let name = f.check("name", Text::parse(&input.name, NAME_MAX));
    if input.role == Role::Admin {
        // A leaked integration secret must not hand over the whole system.
        f.push("role", "a service account cannot be an admin");
    }
    check_role_org(&ctx.db, &mut f, input.role, input.org_id).await?;
    f.finish()?;
    let client_id = format!("xz_{}", random_token(12)?);
    let client_secret = random_token(32)?;
    let hash = hash_secret(client_secret.clone()).await?;
    let at = now();
    let tx = ctx.begin_write().await?;
    let inserted = service_account::Entity::insert(service_account::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(checked(name)?.into_inner()),
        client_id: Set(client_id),
        secret_hash: Set(hash),
        role: Set(input.role.as_str().into()),
        org_id: Set(input.org_id),
        disabled: Set(false),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_with_returning(&tx)
    .await?;
    let view = ServiceAccountView::from_model(inserted)?;
    audit::record(
        &tx,
        actor,
        audit::Action::Create,
        RecordKind::ServiceAccount,
        view.id,
        None,
        Some(&view),
    )
    .await?;
    tx.commit().await?;
    ctx.directory.invalidate();
    Ok(CreatedServiceAccount {
        account: view,
        client_secret,
    })
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<ServiceAccountView> {
    ensure_role(actor, &[Role::Admin])?;
    let m = service_account::Entity::find_by_id(id)
        .filter(service_account::Column::DeletedAt.is_null())
        .one(&ctx.db)
        .await?
        .ok_or(AppError::NotFound)?;
    ServiceAccountView::from_model(m)
}

pub async fn list(
    ctx: &AppCtx,
    actor: &Actor,
    q: ServiceAccountQuery,
) -> AppResult<Page<ServiceAccountView>> {
    ensure_role(actor, &[Role::Admin])?;
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.finish()?;
    let args = checked(args)?;
    let select =
        service_account::Entity::find().filter(service_account::Column::DeletedAt.is_null());
    let rows = fetch_page(&ctx.db, select, service_account::Column::Id, args).await?;
    let views = rows
        .into_iter()
        .map(ServiceAccountView::from_model)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::from_rows(views, args.limit.get(), |v| v.id))
}

pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    ensure_role(actor, &[Role::Admin])?;
    let tx = ctx.begin_write().await?;
    let current = service_account::Entity::find_by_id(id)
        .filter(service_account::Column::DeletedAt.is_null())
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound)?;
    check_version(expected_version, current.version)?;
    let before = ServiceAccountView::from_model(current.clone())?;
    let mut model: service_account::ActiveModel = current.clone().into();
    model.deleted_at = Set(Some(now()));
    super::save_versioned::<service_account::Entity>(
        &tx,
        model,
        id,
        current.version,
        [
            service_account::Column::Id,
            service_account::Column::Version,
            service_account::Column::UpdatedAt,
        ],
    )
    .await?;
    audit::record(
        &tx,
        actor,
        audit::Action::Delete,
        RecordKind::ServiceAccount,
        id,
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    ctx.directory.invalidate();
    Ok(())
}

/// Looks up a live, enabled account for the client-credentials grant.
pub async fn for_login(ctx: &AppCtx, client_id: &str) -> AppResult<Option<service_account::Model>> {
    Ok(service_account::Entity::find()
        .filter(service_account::Column::ClientId.eq(client_id))
        .filter(service_account::Column::DeletedAt.is_null())
        .filter(service_account::Column::Disabled.eq(false))
        .one(&ctx.db)
        .await?)
}
