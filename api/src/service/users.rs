//! User accounts: admin-managed, one role and (for editors and partners) one organization each.

use entity::{organization, user};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page, audit, check_version, now,
    records::{PageArgs, fetch_page},
};
use crate::{
    auth::hash_secret,
    authz::Actor,
    authz::{RecordKind, ensure_role},
    config::Config,
    domain::{Fields, NewPassword, Region, Role, checked},
    error::{AppError, AppResult},
};

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub org_id: Option<Uuid>,
    pub disabled: bool,
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl UserView {
    fn from_model(m: user::Model) -> AppResult<Self> {
        Ok(Self {
            role: Role::from_db(&m.role)?,
            id: m.id,
            username: m.username,
            org_id: m.org_id,
            disabled: m.disabled,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    #[serde(default)]
    pub org_id: Option<Uuid>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub org_id: Option<Uuid>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub role: Option<Role>,
    pub org_id: Option<Uuid>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// How long a user name is (it is ASCII: bytes and characters are the same).
pub const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=64;

pub fn parse_username(text: &str) -> Result<String, String> {
    let ok = USERNAME_LEN.contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "must be {}–{} characters of a–z, 0–9, '.', '_' and '-'",
            USERNAME_LEN.start(),
            USERNAME_LEN.end()
        ))
    }
}

/// Editors belong to a western organization, partners to an eastern one; the other roles may
/// name an organization or not.
pub async fn check_role_org(
    db: &impl ConnectionTrait,
    f: &mut Fields,
    role: Role,
    org_id: Option<Uuid>,
) -> AppResult<()> {
    let org = match org_id {
        Some(id) => {
            let found = organization::Entity::find_by_id(id)
                .filter(organization::Column::DeletedAt.is_null())
                .one(db)
                .await?;
            if found.is_none() {
                f.push("org_id", "no such organization");
                return Ok(());
            }
            found
        }
        None => None,
    };
    let region = org.map(|o| Region::from_db(&o.region)).transpose()?;
    match (role, region) {
        (Role::Editor | Role::Partner, None) => f.push(
            "org_id",
            format!("is required for the {} role", role.as_str()),
        ),
        (Role::Editor, Some(Region::East)) => {
            f.push("org_id", "an editor belongs to a western organization")
        }
        (Role::Partner, Some(Region::West)) => {
            f.push("org_id", "a partner belongs to an eastern organization")
        }
        _ => {}
    }
    Ok(())
}

pub async fn create(ctx: &AppCtx, actor: &Actor, input: NewUser) -> AppResult<UserView> {
    ensure_role(actor, &[Role::Admin])?;
    let mut f = Fields::new();
    let username = f.check("username", parse_username(&input.username));
    let password = f.check("password", NewPassword::parse(&input.password));
    check_role_org(&ctx.db, &mut f, input.role, input.org_id).await?;
    f.finish()?;
    let hash = hash_secret(checked(password)?.expose().to_string()).await?;
    let tx = ctx.begin_write().await?;
    let view = insert(&tx, checked(username)?, hash, input.role, input.org_id).await?;
    audit::record(
        &tx,
        actor,
        audit::Action::Create,
        RecordKind::User,
        view.id,
        None,
        Some(&view),
    )
    .await?;
    tx.commit().await?;
    ctx.directory.invalidate();
    Ok(view)
}

async fn insert(
    db: &impl ConnectionTrait,
    username: String,
    password_hash: String,
    role: Role,
    org_id: Option<Uuid>,
) -> AppResult<UserView> {
    if user::Entity::find()
        .filter(user::Column::Username.eq(username.as_str()))
        .count(db)
        .await?
        > 0
    {
        return Err(AppError::conflict(
            "username",
            format!("{username} is already taken"),
        ));
    }
    let at = now();
    let inserted = user::Entity::insert(user::ActiveModel {
        id: Set(Uuid::now_v7()),
        username: Set(username),
        password_hash: Set(password_hash),
        role: Set(role.as_str().into()),
        org_id: Set(org_id),
        disabled: Set(false),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_with_returning(db)
    .await?;
    UserView::from_model(inserted)
}

async fn live(db: &impl ConnectionTrait, id: Uuid) -> AppResult<user::Model> {
    user::Entity::find_by_id(id)
        .filter(user::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Admins read every account; anyone reads their own.
pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<UserView> {
    if actor.role != Role::Admin && actor.id != id {
        return Err(AppError::NotFound);
    }
    UserView::from_model(live(&ctx.db, id).await?)
}

pub async fn list(ctx: &AppCtx, actor: &Actor, q: UserQuery) -> AppResult<Page<UserView>> {
    ensure_role(actor, &[Role::Admin])?;
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.finish()?;
    let args = checked(args)?;
    let mut select = user::Entity::find().filter(user::Column::DeletedAt.is_null());
    if let Some(role) = q.role {
        select = select.filter(user::Column::Role.eq(role.as_str()));
    }
    if let Some(org) = q.org_id {
        select = select.filter(user::Column::OrgId.eq(org));
    }
    let rows = fetch_page(&ctx.db, select, user::Column::Id, args).await?;
    let views = rows
        .into_iter()
        .map(UserView::from_model)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::from_rows(views, args.limit.get(), |v| v.id))
}

pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: UserPatch,
) -> AppResult<UserView> {
    ensure_role(actor, &[Role::Admin])?;
    let current = live(&ctx.db, id).await?;
    check_version(expected_version, current.version)?;
    let before = UserView::from_model(current.clone())?;
    let mut f = Fields::new();
    let password = f.check_opt("password", patch.password.as_deref(), NewPassword::parse);
    let role = patch.role.unwrap_or(before.role);
    let org_id = patch.org_id.or(before.org_id);
    check_role_org(&ctx.db, &mut f, role, org_id).await?;
    if actor.id == id && (role != Role::Admin || patch.disabled == Some(true)) {
        f.push(
            "role",
            "an admin cannot demote or disable their own account",
        );
    }
    f.finish()?;
    let hash = match checked(password)? {
        Some(p) => Some(hash_secret(p.expose().to_string()).await?),
        None => None,
    };
    let tx = ctx.begin_write().await?;
    let mut model: user::ActiveModel = current.clone().into();
    model.role = Set(role.as_str().into());
    model.org_id = Set(org_id);
    if let Some(d) = patch.disabled {
        model.disabled = Set(d);
    }
    if let Some(h) = hash {
        model.password_hash = Set(h);
    }
    let after = super::save_versioned::<user::Entity>(
        &tx,
        model,
        id,
        current.version,
        [
            user::Column::Id,
            user::Column::Version,
            user::Column::UpdatedAt,
        ],
    )
    .await?;
    let view = UserView::from_model(after)?;
    audit::record(
        &tx,
        actor,
        audit::Action::Update,
        RecordKind::User,
        id,
        Some(&before),
        Some(&view),
    )
    .await?;
    tx.commit().await?;
    ctx.directory.invalidate();
    Ok(view)
}

pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    ensure_role(actor, &[Role::Admin])?;
    if actor.id == id {
        return Err(AppError::Conflict {
            code: "not_allowed",
            field: None,
            detail: "an admin cannot delete their own account".into(),
            existing_id: None,
        });
    }
    let tx = ctx.begin_write().await?;
    let current = live(&tx, id).await?;
    check_version(expected_version, current.version)?;
    let before = UserView::from_model(current.clone())?;
    let mut model: user::ActiveModel = current.clone().into();
    model.deleted_at = Set(Some(now()));
    super::save_versioned::<user::Entity>(
        &tx,
        model,
        id,
        current.version,
        [
            user::Column::Id,
            user::Column::Version,
            user::Column::UpdatedAt,
        ],
    )
    .await?;
    audit::record(
        &tx,
        actor,
        audit::Action::Delete,
        RecordKind::User,
        id,
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    ctx.directory.invalidate();
    Ok(())
}

/// What `ensure_admin` did, for the caller to report.
pub enum FirstAdmin {
    AlreadyThere,
    Created { generated_password: Option<String> },
}

/// Creates user `admin` when no live admin exists, with `XIEZUO_ADMIN_PASSWORD_HASH`,
/// `XIEZUO_ADMIN_PASSWORD` or a generated password the caller prints once. An existing admin's password is never changed here.
pub async fn ensure_admin(ctx: &AppCtx, config: &Config) -> AppResult<FirstAdmin> {
    let admins = user::Entity::find()
        .filter(user::Column::DeletedAt.is_null())
        .filter(user::Column::Role.eq(Role::Admin.as_str()))
        .count(&ctx.db)
        .await?;
    if admins > 0 {
        return Ok(FirstAdmin::AlreadyThere);
    }
    let province: Option<Uuid> = organization::Entity::find()
        .select_only()
        .column(organization::Column::Id)
        .filter(organization::Column::Code.eq(crate::seed::PROVINCE_CODE))
        .into_tuple()
        .one(&ctx.db)
        .await?;
    let (hash, generated) = match (&config.admin_password_hash, &config.admin_password) {
        (Some(hash), _) => (hash.expose().to_string(), None),
        (None, given) => {
            let (password, generated) = match given {
                Some(p) => (p.expose().to_string(), None),
                None => {
                    let p = crate::auth::generate_password()?;
                    (p.clone(), Some(p))
                }
            };
            if NewPassword::parse(&password).is_err() {
                return Err(AppError::field(
                    "XIEZUO_ADMIN_PASSWORD",
                    "must be at least 12 characters",
                ));
            }
            (hash_secret(password).await?, generated)
        }
    };
    insert(&ctx.db, "admin".into(), hash, Role::Admin, province).await?;
    ctx.directory.invalidate();
    Ok(FirstAdmin::Created {
        generated_password: generated,
    })
}

/// Looks up a live, enabled user for the password grant.
pub async fn for_login(ctx: &AppCtx, username: &str) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .filter(user::Column::DeletedAt.is_null())
        .filter(user::Column::Disabled.eq(false))
        .one(&ctx.db)
        .await?)
}

/// The live user named `username`, enabled or not (for the command line's password reset).
pub async fn id_by_username(ctx: &AppCtx, username: &str) -> AppResult<Option<Uuid>> {
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Username.eq(username))
        .filter(user::Column::DeletedAt.is_null())
        .into_tuple()
        .one(&ctx.db)
        .await?)
}
