//! Organizations: the federations, their departments and institutions, east and west.

use std::collections::HashMap;

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use entity::{organization, pairing, user};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, LikeExpr},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page,
    directory::Directory,
    kernel::{self, Columns, Readable, Record},
    now,
    records::{EXTERNAL_ID_MAX, PageArgs, external_id, patch_nullable},
    scope,
};
use crate::{
    authz::{Actor, Owner, RecordKind, ensure_write},
    domain::{Code, DivisionCode, Fields, OrgKind, OrgLevel, Region, Text, checked},
    error::{AppError, AppResult},
};

/// An organization as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema, SimpleObject, Deserialize)]
#[graphql(name = "Organization", complex)]
pub struct OrganizationView {
    pub id: Uuid,
    /// Unique code, e.g. `520300`.
    pub code: String,
    /// Chinese name, e.g. 遵义市残疾人联合会.
    pub name: String,
    pub region: Region,
    pub level: OrgLevel,
    pub kind: OrgKind,
    pub parent_id: Option<Uuid>,
    /// GB/T 2260 administrative division code.
    pub division_code: Option<String>,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl OrganizationView {
    pub fn from_model(m: organization::Model) -> AppResult<Self> {
        Ok(Self {
            region: Region::from_db(&m.region)?,
            level: OrgLevel::from_db(&m.level)?,
            kind: OrgKind::from_db(&m.kind)?,
            id: m.id,
            code: m.code,
            name: m.name,
            parent_id: m.parent_id,
            division_code: m.division_code,
            version: m.version,
            owner_org_id: m.owner_org_id,
            external_id: m.external_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

#[derive(Clone, Debug, Deserialize, ToSchema, InputObject, Serialize)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewOrganizationInput")]
pub struct NewOrganization {
    pub code: String,
    pub name: String,
    pub region: Region,
    pub level: OrgLevel,
    pub kind: OrgKind,
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    #[serde(default)]
    pub division_code: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A partial update: absent fields stay, `null` clears a nullable field.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "OrganizationPatchInput")]
pub struct OrganizationPatch {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub region: Option<Region>,
    #[serde(default)]
    pub level: Option<OrgLevel>,
    #[serde(default)]
    pub kind: Option<OrgKind>,
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub parent_id: MaybeUndefined<Uuid>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub division_code: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: MaybeUndefined<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "OrganizationFilter")]
pub struct OrganizationQuery {
    /// GB/T 2260 code, e.g. `520300`.
    pub division_code: Option<String>,
    pub region: Option<Region>,
    pub level: Option<OrgLevel>,
    pub kind: Option<OrgKind>,
    pub parent_id: Option<Uuid>,
    pub code: Option<String>,
    pub external_id: Option<String>,
    /// Part of the name, e.g. `遵义`.
    pub q: Option<String>,
    /// Only records changed at or after this instant (RFC 3339).
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Page size, 1–500 (default 50).
    #[graphql(skip)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[graphql(skip)]
    pub cursor: Option<String>,
}

pub const CODE_MAX: usize = 64;
pub const NAME_MAX: usize = 200;

fn level_rank(level: OrgLevel) -> u8 {
    match level {
        OrgLevel::Province => 0,
        OrgLevel::Prefecture => 1,
        OrgLevel::County => 2,
    }
}

async fn live(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<organization::Model>> {
    Ok(organization::Entity::find_by_id(id)
        .filter(organization::Column::DeletedAt.is_null())
        .one(db)
        .await?)
}

/// The organization family for the record kernel: readable when the organization itself is.
pub struct Organizations;

impl Record for Organizations {
    type Entity = organization::Entity;
    type Row = organization::Model;
    type View = OrganizationView;
    const KIND: RecordKind = RecordKind::Organization;

    fn columns() -> Columns<organization::Column> {
        use organization::Column as C;
        kernel::record_columns!(C, Readable::Org(C::Id))
    }

    fn model(row: &organization::Model) -> &organization::Model {
        row
    }

    fn view(_: &Actor, row: organization::Model) -> AppResult<OrganizationView> {
        OrganizationView::from_model(row)
    }
}

/// Checks parent, region and level together: a child sits in its parent's region, at its
/// parent's level or below.
async fn check_parent(
    db: &impl ConnectionTrait,
    f: &mut Fields,
    parent_id: Option<Uuid>,
    region: Region,
    level: OrgLevel,
) -> AppResult<()> {
    let Some(parent_id) = parent_id else {
        return Ok(());
    };
    match live(db, parent_id).await? {
        None => f.push("parent_id", "no such organization"),
        Some(parent) => {
            if Region::from_db(&parent.region)? != region {
                f.push("region", "must be the parent's region");
            }
            if level_rank(level) < level_rank(OrgLevel::from_db(&parent.level)?) {
                f.push("level", "must not be above the parent's level");
            }
        }
    }
    Ok(())
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<OrganizationView> {
    kernel::get::<Organizations>(ctx, actor, id).await
}

pub async fn list(
    ctx: &AppCtx,
    actor: &Actor,
    q: OrganizationQuery,
) -> AppResult<Page<OrganizationView>> {
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    let division = f.check_opt(
        "division_code",
        q.division_code.as_deref(),
        DivisionCode::parse,
    );
    f.instant("updated_since", q.updated_since);
    f.finish()?;
    let (args, division) = (checked(args)?, checked(division)?);
    let mut select = kernel::visible::<Organizations>(ctx.db.get_database_backend(), actor.scope());
    if let Some(d) = division {
        select = select.filter(organization::Column::DivisionCode.eq(d.into_inner()));
    }
    if let Some(r) = q.region {
        select = select.filter(organization::Column::Region.eq(r.as_str()));
    }
    if let Some(l) = q.level {
        select = select.filter(organization::Column::Level.eq(l.as_str()));
    }
    if let Some(k) = q.kind {
        select = select.filter(organization::Column::Kind.eq(k.as_str()));
    }
    if let Some(p) = q.parent_id {
        select = select.filter(organization::Column::ParentId.eq(p));
    }
    if let Some(c) = q.code {
        select = select.filter(organization::Column::Code.eq(c));
    }
    if let Some(e) = q.external_id {
        select = select.filter(organization::Column::ExternalId.eq(e));
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        select = select.filter(
            Expr::col(organization::Column::Name)
                .like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        );
    }
    if let Some(since) = q.updated_since {
        select = select.filter(organization::Column::UpdatedAt.gte(since));
    }
    kernel::page::<Organizations>(ctx, actor, select, args).await
}

/// The parents of `id`, nearest first, as far as the actor may read them.
pub async fn ancestors(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<Vec<OrganizationView>> {
    if !actor.scope().can_read_org(id) {
        return Err(AppError::NotFound);
    }
    let chain = ctx.directory.get(&ctx.db).await?.ancestors(id);
    // The organization itself with its chain, in one statement.
    let mut wanted = chain.clone();
    wanted.push(id);
    let mut found = get_many(ctx, actor, &wanted).await?;
    if found.remove(&id).is_none() {
        return Err(AppError::NotFound);
    }
    Ok(chain.iter().filter_map(|id| found.remove(id)).collect())
}

/// Batch read for GraphQL loaders: the readable, live organizations among `ids`, from the
/// directory (every write to organizations drops it), so nesting organizations costs no
/// statement.
pub async fn get_many(
    ctx: &AppCtx,
    actor: &Actor,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, OrganizationView>> {
    let dir = ctx.directory.get(&ctx.db).await?;
    let mut found = HashMap::with_capacity(ids.len());
    for id in ids {
        if let Some(view) = in_directory(&dir, actor, *id)? {
            found.insert(view.id, view);
        }
    }
    Ok(found)
}

/// The live organization `id` from a reading of the directory, if `actor` may read it: how a
/// GraphQL request resolves the organizations nested under its records, from the reading its
/// caller was resolved with (no batching and no statement needed).
pub fn in_directory(
    dir: &Directory,
    actor: &Actor,
    id: Uuid,
) -> AppResult<Option<OrganizationView>> {
    Ok(kernel::readable_views::<Organizations>(actor, dir.live_org(id))?.pop())
}

/// The readable live children of `id`, in id order, from the directory the request was
/// resolved with: no statement.
pub fn children_in_directory(
    dir: &Directory,
    actor: &Actor,
    id: Uuid,
) -> AppResult<Vec<OrganizationView>> {
    let children = dir
        .live_children(id)
        .iter()
        .filter_map(|c| dir.live_org(*c));
    kernel::readable_views::<Organizations>(actor, children)
}

pub async fn create(
    ctx: &AppCtx,
    actor: &Actor,
    input: NewOrganization,
) -> AppResult<OrganizationView> {
    let scope = actor.scope();
    // Organizations are the admin's: check the role before looking at the input.
    ensure_write(
        actor,
        scope,
        RecordKind::Organization,
        Owner {
            org_id: actor.org_id.unwrap_or_default(),
            region: input.region,
        },
    )?;
    let tx = ctx.begin_write().await?;
    let mut f = Fields::new();
    let code = f.check("code", Code::parse(&input.code, CODE_MAX));
    let name = f.check("name", Text::parse(&input.name, NAME_MAX));
    let division = f.check_opt(
        "division_code",
        input.division_code.as_deref(),
        DivisionCode::parse,
    );
    let external = external_id(&mut f, input.external_id.as_deref());
    check_parent(&tx, &mut f, input.parent_id, input.region, input.level).await?;
    f.finish()?;
    let code = checked(code)?.into_inner();
    if organization::Entity::find()
        .filter(organization::Column::Code.eq(code.as_str()))
        .count(&tx)
        .await?
        > 0
    {
        return Err(AppError::conflict(
            "code",
            format!("code {code} is already taken"),
        ));
    }

    let id = Uuid::now_v7();
    let at = now();
    let model = organization::ActiveModel {
        id: Set(id),
        code: Set(code),
        name: Set(checked(name)?.into_inner()),
        region: Set(input.region.as_str().into()),
        level: Set(input.level.as_str().into()),
        kind: Set(input.kind.as_str().into()),
        parent_id: Set(input.parent_id),
        division_code: Set(checked(division)?.map(DivisionCode::into_inner)),
        version: Set(1),
        owner_org_id: Set(actor.org_id.unwrap_or(id)),
        external_id: Set(checked(external)?),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    };
    let inserted = organization::Entity::insert(model)
        .exec_with_returning(&tx)
        .await?;
    let view = kernel::created::<Organizations>(tx, actor, inserted).await?;
    ctx.directory.invalidate();
    Ok(view)
}

pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: OrganizationPatch,
) -> AppResult<OrganizationView> {
    let change = kernel::change::<Organizations>(ctx, actor, id, expected_version).await?;
    let (tx, current, before) = (&change.tx, &change.current, &change.before);
    let mut f = Fields::new();
    let code = f.check_opt("code", patch.code.as_deref(), |c| Code::parse(c, CODE_MAX));
    let name = f.check_opt("name", patch.name.as_deref(), |n| Text::parse(n, NAME_MAX));
    let division = patch_nullable(
        &mut f,
        "division_code",
        &patch.division_code,
        current.division_code.clone(),
        |d| DivisionCode::parse(d).map(DivisionCode::into_inner),
    );
    let external = patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        current.external_id.clone(),
        |e| Text::parse(e, EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    let region = patch.region.unwrap_or(before.region);
    let level = patch.level.unwrap_or(before.level);
    let parent_id = match patch.parent_id {
        MaybeUndefined::Value(p) => Some(p),
        MaybeUndefined::Null => None,
        MaybeUndefined::Undefined => before.parent_id,
    };
    if let Some(p) = parent_id
        && (p == id || scope::subtree(tx, id).await?.contains(&p))
    {
        f.push("parent_id", "would put the organization under itself");
    }
    check_parent(tx, &mut f, parent_id, region, level).await?;
    f.finish()?;

    let mut model: organization::ActiveModel = current.clone().into();
    if let Some(code) = checked(code)? {
        let code = code.into_inner();
        if code != current.code
            && organization::Entity::find()
                .filter(organization::Column::Code.eq(code.as_str()))
                .count(tx)
                .await?
                > 0
        {
            return Err(AppError::conflict(
                "code",
                format!("code {code} is already taken"),
            ));
        }
        model.code = Set(code);
    }
    if let Some(name) = checked(name)? {
        model.name = Set(name.into_inner());
    }
    if let Some(r) = patch.region {
        model.region = Set(r.as_str().into());
    }
    if let Some(l) = patch.level {
        model.level = Set(l.as_str().into());
    }
    if let Some(k) = patch.kind {
        model.kind = Set(k.as_str().into());
    }
    model.parent_id = Set(parent_id);
    model.division_code = Set(checked(division)?);
    model.external_id = Set(checked(external)?);
    let view = change.save(model).await?;
    ctx.directory.invalidate();
    Ok(view)
}

pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    let change = kernel::change::<Organizations>(ctx, actor, id, expected_version).await?;
    let tx = &change.tx;
    let children = organization::Entity::find()
        .filter(organization::Column::ParentId.eq(id))
        .filter(organization::Column::DeletedAt.is_null())
        .count(tx)
        .await?;
    let pairings = pairing::Entity::find()
        .filter(pairing::Column::DeletedAt.is_null())
        .filter(
            Condition::any()
                .add(pairing::Column::EastOrgId.eq(id))
                .add(pairing::Column::WestOrgId.eq(id)),
        )
        .count(tx)
        .await?;
    let users = user::Entity::find()
        .filter(user::Column::DeletedAt.is_null())
        .filter(user::Column::OrgId.eq(id))
        .count(tx)
        .await?;
    if children + pairings + users > 0 {
        return Err(AppError::in_use(format!(
            "the organization still has {children} sub-organizations, {pairings} pairings \
                 and {users} users"
        )));
    }
    change.delete().await?;
    ctx.directory.invalidate();
    Ok(())
}
