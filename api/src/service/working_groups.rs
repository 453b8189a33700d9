//! Working groups (工作推进组): one per federation, with its office (办公室), the department
//! responsible, and members by role — roles, not only names, so the assessment can ask "who is
//! the 组长" of any group.

use std::collections::HashSet;

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::NaiveDate;
use entity::working_group;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page, contacts,
    kernel::{self, Columns, Readable, Record},
    now,
    records::{self, PageArgs},
    scope,
};
use crate::{
    authz::Actor,
    authz::{RecordKind, Scope, ensure_write},
    domain::{Fields, Text, checked},
    error::{AppError, AppResult},
};

pub const NAME_MAX: usize = 200;
pub const MEMBERS_MAX: usize = 200;

/// A member's role in a working group (DESIGN §1: roles, not only names).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, async_graphql::Enum,
)]
#[serde(rename_all = "snake_case")]
#[graphql(rename_items = "snake_case")]
pub enum WorkingGroupRole {
    /// 组长
    Leader,
    /// 副组长
    DeputyLeader,
    /// 成员
    Member,
    /// 办公室主任
    OfficeDirector,
    /// 联络员
    Liaison,
    /// 台账责任人
    LedgerKeeper,
}

impl WorkingGroupRole {
    pub const ALL: &'static [WorkingGroupRole] = &[
        Self::Leader,
        Self::DeputyLeader,
        Self::Member,
        Self::OfficeDirector,
        Self::Liaison,
        Self::LedgerKeeper,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Leader => "leader",
            Self::DeputyLeader => "deputy_leader",
            Self::Member => "member",
            Self::OfficeDirector => "office_director",
            Self::Liaison => "liaison",
            Self::LedgerKeeper => "ledger_keeper",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.as_str() == text)
    }

    /// For values read back from the database, where anything else is corruption.
    pub fn from_db(text: &str) -> AppResult<Self> {
        Self::parse(text).ok_or_else(|| {
            AppError::internal(format!("stored WorkingGroupRole is not valid: {text}"))
        })
    }
}

/// One member: a contact in a role. GraphQL resolves `contact`, masked as contacts are.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema, SimpleObject, Deserialize)]
#[graphql(name = "WorkingGroupMember", complex)]
pub struct WorkingGroupMember {
    pub contact_id: Uuid,
    pub role: WorkingGroupRole,
}

#[derive(Clone, Debug, Deserialize, ToSchema, InputObject, Serialize)]
#[serde(deny_unknown_fields)]
#[graphql(name = "WorkingGroupMemberInput")]
pub struct WorkingGroupMemberInput {
    pub contact_id: Uuid,
    pub role: WorkingGroupRole,
}

/// How members are stored in `working_groups.members`.
#[derive(Serialize, Deserialize)]
struct StoredMember {
    contact_id: Uuid,
    role: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema, SimpleObject, Deserialize)]
#[graphql(name = "WorkingGroup", complex)]
pub struct WorkingGroupView {
    pub id: Uuid,
    /// The federation whose group this is; at most one live group per organization.
    pub org_id: Uuid,
    /// e.g. 全省残联东西部扶贫协作工作推进组.
    pub name: String,
    /// Where the group's office (办公室) sits, e.g. 教就部.
    pub office_org_id: Option<Uuid>,
    /// The department responsible (责任科室).
    pub responsible_org_id: Option<Uuid>,
    /// The day the group was set up; plan tasks count the group from then.
    pub established_on: Option<NaiveDate>,
    #[graphql(complexity = "crate::graphql::list_cost(MEMBERS_MAX, child_complexity)")]
    pub members: Vec<WorkingGroupMember>,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl WorkingGroupView {
    pub fn from_model(m: working_group::Model) -> AppResult<Self> {
        let stored: Vec<StoredMember> = serde_json::from_value(m.members)
            .map_err(|e| AppError::internal(format!("stored working group members: {e}")))?;
        let members = stored
            .into_iter()
            .map(|s| {
                Ok(WorkingGroupMember {
                    contact_id: s.contact_id,
                    role: WorkingGroupRole::from_db(&s.role)?,
                })
            })
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Self {
            id: m.id,
            org_id: m.org_id,
            name: m.name,
            office_org_id: m.office_org_id,
            responsible_org_id: m.responsible_org_id,
            established_on: m.established_on,
            members,
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
#[graphql(name = "NewWorkingGroupInput")]
pub struct NewWorkingGroup {
    pub org_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub office_org_id: Option<Uuid>,
    #[serde(default)]
    pub responsible_org_id: Option<Uuid>,
    #[serde(default)]
    pub established_on: Option<NaiveDate>,
    #[serde(default)]
    #[graphql(default)]
    pub members: Vec<WorkingGroupMemberInput>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A partial update: absent fields stay, `null` clears a nullable field; `members` replaces the
/// whole list.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "WorkingGroupPatchInput")]
pub struct WorkingGroupPatch {
    #[serde(default)]
    pub org_id: Option<Uuid>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub office_org_id: MaybeUndefined<Uuid>,
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub responsible_org_id: MaybeUndefined<Uuid>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub established_on: MaybeUndefined<NaiveDate>,
    #[serde(default)]
    pub members: Option<Vec<WorkingGroupMemberInput>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: MaybeUndefined<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "WorkingGroupFilter")]
pub struct WorkingGroupQuery {
    pub org_id: Option<Uuid>,
    pub external_id: Option<String>,
    /// Only records changed at or after this instant (RFC 3339).
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Page size, 1–500 (default 50).
    #[graphql(skip)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[graphql(skip)]
    pub cursor: Option<String>,
}

/// The working group family for the record kernel: readable with its organization.
pub struct WorkingGroups;

impl Record for WorkingGroups {
    type Entity = working_group::Entity;
    type Row = working_group::Model;
    type View = WorkingGroupView;
    const KIND: RecordKind = RecordKind::WorkingGroup;

    fn columns() -> Columns<working_group::Column> {
        use working_group::Column as C;
        kernel::record_columns!(C, Readable::Org(C::OrgId))
    }

    fn model(row: &working_group::Model) -> &working_group::Model {
        row
    }

    fn view(_: &Actor, row: working_group::Model) -> AppResult<WorkingGroupView> {
        WorkingGroupView::from_model(row)
    }
}

/// The office and the responsible department sit in the group's organization or under it; each
/// member is a contact the caller can see, listed once per role.
async fn check_parts(
    db: &impl ConnectionTrait,
    scope: &Scope,
    f: &mut Fields,
    org_id: Option<Uuid>,
    office: Option<Uuid>,
    responsible: Option<Uuid>,
    members: &[WorkingGroupMemberInput],
) -> AppResult<()> {
    if office.is_some() || responsible.is_some() {
        let subtree = match org_id {
            Some(org) => scope::subtree(db, org).await?,
            None => HashSet::new(),
        };
        for (field, id) in [
            ("office_org_id", office),
            ("responsible_org_id", responsible),
        ] {
            if let Some(id) = id
                && org_id.is_some()
                && !subtree.contains(&id)
            {
                f.push(field, "must be the group's organization or one under it");
            }
        }
    }
    if members.len() > MEMBERS_MAX {
        f.push("members", format!("at most {MEMBERS_MAX} members"));
        return Ok(());
    }
    let ids: Vec<Uuid> = members.iter().map(|m| m.contact_id).collect();
    let known: HashSet<Uuid> = contacts::readable_ids(db, scope, ids)
        .await?
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    for (i, m) in members.iter().enumerate() {
        if !known.contains(&m.contact_id) {
            f.push(&format!("members[{i}].contact_id"), "no such contact");
        } else if !seen.insert((m.contact_id, m.role)) {
            f.push(
                &format!("members[{i}]"),
                "this contact is already listed in this role",
            );
        }
    }
    Ok(())
}

fn stored_members(members: &[WorkingGroupMemberInput]) -> AppResult<serde_json::Value> {
    let stored: Vec<StoredMember> = members
        .iter()
        .map(|m| StoredMember {
            contact_id: m.contact_id,
            role: m.role.as_str().into(),
        })
        .collect();
    serde_json::to_value(stored).map_err(|e| AppError::Internal(e.into()))
}

/// At most one live group per organization.
async fn ensure_unique(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    except: Option<Uuid>,
) -> AppResult<()> {
    let mut select = working_group::Entity::find()
        .filter(working_group::Column::DeletedAt.is_null())
        .filter(working_group::Column::OrgId.eq(org_id));
    if let Some(id) = except {
        select = select.filter(working_group::Column::Id.ne(id));
    }
    if select.count(db).await? > 0 {
        return Err(AppError::conflict(
            "org_id",
            "this organization already has a working group",
        ));
    }
    Ok(())
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<WorkingGroupView> {
    kernel::get::<WorkingGroups>(ctx, actor, id).await
}

/// Batch read for GraphQL loaders: the live working group of each readable organization.
pub async fn of_orgs(
    ctx: &AppCtx,
    actor: &Actor,
    org_ids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, WorkingGroupView>> {
    // At most one live group per organization.
    let groups = kernel::children::<WorkingGroups>(
        ctx,
        actor,
        working_group::Column::OrgId,
        |m| Some(m.org_id),
        org_ids,
    )
    .await?;
    Ok(groups
        .into_iter()
        .filter_map(|(org, views)| views.into_iter().next().map(|v| (org, v)))
        .collect())
}

pub async fn list(
    ctx: &AppCtx,
    actor: &Actor,
    q: WorkingGroupQuery,
) -> AppResult<Page<WorkingGroupView>> {
    let mut f = Fields::new();
    let page = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.instant("updated_since", q.updated_since);
    f.finish()?;
    let page = checked(page)?;
    let mut select = kernel::visible::<WorkingGroups>(ctx.db.get_database_backend(), actor.scope());
    if let Some(org) = q.org_id {
        select = select.filter(working_group::Column::OrgId.eq(org));
    }
    if let Some(e) = q.external_id {
        select = select.filter(working_group::Column::ExternalId.eq(e));
    }
    if let Some(since) = q.updated_since {
        select = select.filter(working_group::Column::UpdatedAt.gte(since));
    }
    kernel::page::<WorkingGroups>(ctx, actor, select, page).await
}

pub async fn create(
    ctx: &AppCtx,
    actor: &Actor,
    input: NewWorkingGroup,
) -> AppResult<WorkingGroupView> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let (owner, org_exists) = kernel::new_owner(&dir, actor, input.org_id);
    ensure_write(actor, scope, RecordKind::WorkingGroup, owner)?;

    let mut f = Fields::new();
    if !org_exists {
        f.push("org_id", "no such organization");
    }
    let name = f.check("name", Text::parse(&input.name, NAME_MAX));
    f.date("established_on", input.established_on);
    check_parts(
        &tx,
        scope,
        &mut f,
        org_exists.then_some(input.org_id),
        input.office_org_id,
        input.responsible_org_id,
        &input.members,
    )
    .await?;
    let external = records::external_id(&mut f, input.external_id.as_deref());
    f.finish()?;
    kernel::ensure_external_free::<WorkingGroups>(
        &tx,
        actor,
        input.org_id,
        external.clone().flatten().as_deref(),
    )
    .await?;
    ensure_unique(&tx, input.org_id, None).await?;

    let id = Uuid::now_v7();
    let at = now();
    let inserted = working_group::Entity::insert(working_group::ActiveModel {
        id: Set(id),
        org_id: Set(input.org_id),
        name: Set(checked(name)?.into_inner()),
        office_org_id: Set(input.office_org_id),
        responsible_org_id: Set(input.responsible_org_id),
        established_on: Set(input.established_on),
        members: Set(stored_members(&input.members)?),
        version: Set(1),
        owner_org_id: Set(input.org_id),
        external_id: Set(checked(external)?),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_with_returning(&tx)
    .await?;
    kernel::created::<WorkingGroups>(tx, actor, inserted).await
}

pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: WorkingGroupPatch,
) -> AppResult<WorkingGroupView> {
    let scope = actor.scope();
    let change = kernel::change::<WorkingGroups>(ctx, actor, id, expected_version).await?;
    let (tx, current, before) = (&change.tx, &change.current, &change.before);

    let mut f = Fields::new();
    let org_id = patch.org_id.unwrap_or(current.org_id);
    let mut org_exists = true;
    if org_id != current.org_id {
        let (owner, exists) = kernel::new_owner(&change.dir, actor, org_id);
        ensure_write(actor, scope, RecordKind::WorkingGroup, owner)?;
        if !exists {
            f.push("org_id", "no such organization");
        }
        org_exists = exists;
    }
    let name = match &patch.name {
        Some(n) => f
            .check("name", Text::parse(n, NAME_MAX))
            .map(Text::into_inner),
        None => Some(current.name.clone()),
    };
    let office = match patch.office_org_id {
        MaybeUndefined::Undefined => current.office_org_id,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => Some(v),
    };
    let responsible = match patch.responsible_org_id {
        MaybeUndefined::Undefined => current.responsible_org_id,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => Some(v),
    };
    let established_on = match patch.established_on {
        MaybeUndefined::Undefined => current.established_on,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => Some(v),
    };
    f.date("established_on", established_on);
    let replacing = patch.members.is_some();
    let members: Vec<WorkingGroupMemberInput> = match patch.members {
        Some(m) => m,
        None => before
            .members
            .iter()
            .map(|m| WorkingGroupMemberInput {
                contact_id: m.contact_id,
                role: m.role,
            })
            .collect(),
    };
    // Members already on the group are not checked again unless the list is replaced: a
    // contact deleted since then stays listed (GraphQL shows its contact as null).
    let check_members: &[WorkingGroupMemberInput] = if replacing { &members } else { &[] };
    check_parts(
        tx,
        scope,
        &mut f,
        org_exists.then_some(org_id),
        office,
        responsible,
        check_members,
    )
    .await?;
    let external = records::patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        current.external_id.clone(),
        |e| Text::parse(e, records::EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    f.finish()?;
    if org_id != current.org_id {
        ensure_unique(tx, org_id, Some(id)).await?;
    }

    let mut model: working_group::ActiveModel = current.clone().into();
    model.org_id = Set(org_id);
    model.owner_org_id = Set(org_id);
    model.name = Set(checked(name)?);
    model.office_org_id = Set(office);
    model.responsible_org_id = Set(responsible);
    model.established_on = Set(established_on);
    model.members = Set(stored_members(&members)?);
    model.external_id = Set(checked(external)?);
    change.save(model).await
}

pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    kernel::change::<WorkingGroups>(ctx, actor, id, expected_version)
        .await?
        .delete()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for role in WorkingGroupRole::ALL {
            assert_eq!(WorkingGroupRole::parse(role.as_str()), Some(*role));
            assert_eq!(
                serde_json::to_value(role).ok(),
                Some(serde_json::Value::String(role.as_str().into()))
            );
        }
        assert_eq!(WorkingGroupRole::parse("chair"), None);
    }
}
