//! Pairings (结对): an eastern city with a western prefecture, or district with county.

use std::collections::HashMap;

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::NaiveDate;
use entity::{organization, pairing};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter,
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
};
use crate::{
    authz::{Actor, RecordKind, ensure_write},
    domain::{Fields, OrgKind, OrgLevel, PairingLevel, Region, Text, checked},
    error::{AppError, AppResult},
};

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema, SimpleObject, Deserialize)]
#[graphql(name = "Pairing", complex)]
pub struct PairingView {
    pub id: Uuid,
    pub east_org_id: Uuid,
    pub west_org_id: Uuid,
    pub level: PairingLevel,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    /// Computed: started and not yet ended, by today's date in Asia/Shanghai.
    pub active: bool,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Today's date where the federations work (UTC+8 all year: China has no daylight saving).
pub fn today_in_china() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

impl PairingView {
    pub fn from_model(m: pairing::Model) -> AppResult<Self> {
        let today = today_in_china();
        Ok(Self {
            level: PairingLevel::from_db(&m.level)?,
            active: m.started_on <= today && m.ended_on.is_none_or(|end| end >= today),
            id: m.id,
            east_org_id: m.east_org_id,
            west_org_id: m.west_org_id,
            started_on: m.started_on,
            ended_on: m.ended_on,
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
#[graphql(name = "NewPairingInput")]
pub struct NewPairing {
    pub east_org_id: Uuid,
    pub west_org_id: Uuid,
    pub level: PairingLevel,
    pub started_on: NaiveDate,
    #[serde(default)]
    pub ended_on: Option<NaiveDate>,
    #[serde(default)]
    pub external_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "PairingPatchInput")]
pub struct PairingPatch {
    #[serde(default)]
    pub started_on: Option<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub ended_on: MaybeUndefined<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: MaybeUndefined<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "PairingFilter")]
pub struct PairingQuery {
    /// Either side.
    pub org_id: Option<Uuid>,
    pub east_org_id: Option<Uuid>,
    pub west_org_id: Option<Uuid>,
    pub level: Option<PairingLevel>,
    pub external_id: Option<String>,
    /// Only records changed at or after this instant (RFC 3339).
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Page size, 1–500 (default 50).
    #[graphql(skip)]
    pub limit: Option<i64>,
    #[graphql(skip)]
    pub cursor: Option<String>,
}

/// The pairing family for the record kernel: readable by those in it (and the reading roles).
pub struct Pairings;

impl Record for Pairings {
    type Entity = pairing::Entity;
    type Row = pairing::Model;
    type View = PairingView;
    const KIND: RecordKind = RecordKind::Pairing;

    fn columns() -> Columns<pairing::Column> {
        use pairing::Column as C;
        kernel::record_columns!(C, Readable::Pairing(C::Id))
    }

    fn model(row: &pairing::Model) -> &pairing::Model {
        row
    }

    fn view(_: &Actor, row: pairing::Model) -> AppResult<PairingView> {
        PairingView::from_model(row)
    }
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<PairingView> {
    kernel::get::<Pairings>(ctx, actor, id).await
}

pub async fn list(ctx: &AppCtx, actor: &Actor, q: PairingQuery) -> AppResult<Page<PairingView>> {
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.instant("updated_since", q.updated_since);
    f.finish()?;
    let args = checked(args)?;
    let mut select = kernel::visible::<Pairings>(ctx.db.get_database_backend(), actor.scope());
    if let Some(org) = q.org_id {
        select = select.filter(
            Condition::any()
                .add(pairing::Column::EastOrgId.eq(org))
                .add(pairing::Column::WestOrgId.eq(org)),
        );
    }
    if let Some(org) = q.east_org_id {
        select = select.filter(pairing::Column::EastOrgId.eq(org));
    }
    if let Some(org) = q.west_org_id {
        select = select.filter(pairing::Column::WestOrgId.eq(org));
    }
    if let Some(level) = q.level {
        select = select.filter(pairing::Column::Level.eq(level.as_str()));
    }
    if let Some(e) = q.external_id {
        select = select.filter(pairing::Column::ExternalId.eq(e));
    }
    if let Some(since) = q.updated_since {
        select = select.filter(pairing::Column::UpdatedAt.gte(since));
    }
    kernel::page::<Pairings>(ctx, actor, select, args).await
}

/// The live pairing `id` from the directory the request was resolved with, if `actor` may read
/// it: how GraphQL nests a pairing under a record, with no statement.
pub fn in_directory(dir: &Directory, actor: &Actor, id: Uuid) -> AppResult<Option<PairingView>> {
    Ok(kernel::readable_views::<Pairings>(actor, dir.live_pairing(id))?.pop())
}

/// The readable live pairings `org_id` is a side of, in id order, from the directory the
/// request was resolved with: no statement.
pub fn of_org_in_directory(
    dir: &Directory,
    actor: &Actor,
    org_id: Uuid,
) -> AppResult<Vec<PairingView>> {
    kernel::readable_views::<Pairings>(actor, dir.live_pairings_of(org_id))
}

/// Both sides must exist, be on their side of the country and fit the pairing level.
async fn check_sides(
    db: &impl ConnectionTrait,
    f: &mut Fields,
    east: Uuid,
    west: Uuid,
    level: PairingLevel,
) -> AppResult<()> {
    let orgs: HashMap<Uuid, organization::Model> = organization::Entity::find()
        .filter(organization::Column::Id.is_in([east, west]))
        .filter(organization::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    for (field, id, region) in [
        ("east_org_id", east, Region::East),
        ("west_org_id", west, Region::West),
    ] {
        let Some(org) = orgs.get(&id) else {
            f.push(field, "no such organization");
            continue;
        };
        if Region::from_db(&org.region)? != region {
            f.push(
                field,
                format!("must be an organization of the {} region", region.as_str()),
            );
            continue;
        }
        let org_level = OrgLevel::from_db(&org.level)?;
        let fits = match level {
            // 上海 is a province-level city paired with a prefecture.
            PairingLevel::CityPrefecture => {
                org_level != OrgLevel::County
                    && (region == Region::East || org_level == OrgLevel::Prefecture)
            }
            PairingLevel::CountyCounty => org_level == OrgLevel::County,
            // Federations only: a department acts within its federation's pairing.
            PairingLevel::ProvinceProvince => {
                org_level == OrgLevel::Province && org.kind == OrgKind::Federation.as_str()
            }
        };
        if !fits {
            f.push(
                field,
                format!(
                    "a {} pairing cannot include a {} organization",
                    level.as_str(),
                    org_level.as_str()
                ),
            );
        }
    }
    Ok(())
}

fn check_dates(f: &mut Fields, started: NaiveDate, ended: Option<NaiveDate>) {
    f.date("started_on", Some(started));
    f.date("ended_on", ended);
    if ended.is_some_and(|end| end < started) {
        f.push("ended_on", "must not be before started_on");
    }
}

pub async fn create(ctx: &AppCtx, actor: &Actor, input: NewPairing) -> AppResult<PairingView> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let owner_org = actor.org_id.unwrap_or(input.west_org_id);
    // The west org named in the input may not exist: check_sides reports that below.
    let (owner, _) = kernel::new_owner(&dir, actor, owner_org);
    ensure_write(actor, scope, RecordKind::Pairing, owner)?;
    let mut f = Fields::new();
    check_sides(
        &tx,
        &mut f,
        input.east_org_id,
        input.west_org_id,
        input.level,
    )
    .await?;
    check_dates(&mut f, input.started_on, input.ended_on);
    let external = external_id(&mut f, input.external_id.as_deref());
    f.finish()?;
    kernel::ensure_external_free::<Pairings>(
        &tx,
        actor,
        owner_org,
        external.clone().flatten().as_deref(),
    )
    .await?;
    let duplicate = pairing::Entity::find()
        .filter(pairing::Column::DeletedAt.is_null())
        .filter(pairing::Column::EastOrgId.eq(input.east_org_id))
        .filter(pairing::Column::WestOrgId.eq(input.west_org_id))
        .filter(pairing::Column::Level.eq(input.level.as_str()))
        .count(&tx)
        .await?;
    if duplicate > 0 {
        return Err(AppError::conflict(
            "west_org_id",
            "these two organizations are already paired",
        ));
    }
    let id = Uuid::now_v7();
    let at = now();
    let inserted = pairing::Entity::insert(pairing::ActiveModel {
        id: Set(id),
        east_org_id: Set(input.east_org_id),
        west_org_id: Set(input.west_org_id),
        level: Set(input.level.as_str().into()),
        started_on: Set(input.started_on),
        ended_on: Set(input.ended_on),
        version: Set(1),
        owner_org_id: Set(owner_org),
        external_id: Set(checked(external)?),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_with_returning(&tx)
    .await?;
    let view = kernel::created::<Pairings>(tx, actor, inserted).await?;
    ctx.directory.invalidate();
    Ok(view)
}

pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: PairingPatch,
) -> AppResult<PairingView> {
    let change = kernel::change::<Pairings>(ctx, actor, id, expected_version).await?;
    let current = &change.current;
    let mut f = Fields::new();
    let started = patch.started_on.unwrap_or(current.started_on);
    let ended = match patch.ended_on {
        MaybeUndefined::Value(d) => Some(d),
        MaybeUndefined::Null => None,
        MaybeUndefined::Undefined => current.ended_on,
    };
    check_dates(&mut f, started, ended);
    let external = patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        current.external_id.clone(),
        |e| Text::parse(e, EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    f.finish()?;
    let mut model: pairing::ActiveModel = current.clone().into();
    model.started_on = Set(started);
    model.ended_on = Set(ended);
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
    kernel::change::<Pairings>(ctx, actor, id, expected_version)
        .await?
        .delete()
        .await?;
    ctx.directory.invalidate();
    Ok(())
}
