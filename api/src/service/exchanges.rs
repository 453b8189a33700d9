//! Exchanges (交流对接): joint meetings, inspection visits, consultations, special and work
//! meetings, agreement signings and trainings, with the host, the visiting organizations, the
//! dates and the leaders who took part.

use std::collections::{HashMap, HashSet};

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::NaiveDate;
use entity::{exchange, exchange_visiting_org, organization, pairing};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    FromQueryResult, QueryFilter, QuerySelect, QueryTrait, Select,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page, WriteTx,
    kernel::{self, Columns, Readable, Record},
    now,
    records::{PageArgs, external_id, long_text, patch_nullable, period_filter as period},
    sync,
};
use crate::{
    authz::Actor,
    authz::{RecordKind, Scope, ensure_write},
    domain::{Fields, Region, Text, checked},
    error::{AppError, AppResult},
};

use crate::domain::names;

names!(
    /// What kind of exchange: 联席会议, 考察调研, 磋商, 专题会议, 工作会议, 协议签约, 培训.
    ExchangeKind {
        JointMeeting => "joint_meeting",
        InspectionVisit => "inspection_visit",
        Consultation => "consultation",
        SpecialMeeting => "special_meeting",
        WorkMeeting => "work_meeting",
        AgreementSigning => "agreement_signing",
        Training => "training",
    }
);
names!(
    /// Who travelled: eastern visitors to a western host, the reverse, or neither side.
    ExchangeDirection {
        EastToWest => "east_to_west",
        WestToEast => "west_to_east",
        Local => "local",
    }
);

/// An exchange as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema, SimpleObject, Deserialize)]
#[graphql(name = "Exchange", complex)]
pub struct ExchangeView {
    pub id: Uuid,
    pub kind: ExchangeKind,
    pub direction: ExchangeDirection,
    pub pairing_id: Option<Uuid>,
    pub host_org_id: Uuid,
    /// The visiting organizations, in id order.
    pub visiting_org_ids: Vec<Uuid>,
    pub start_on: NaiveDate,
    pub end_on: NaiveDate,
    /// Leaders who took part, e.g. `省残联理事长`.
    pub leaders_present: Vec<String>,
    /// Number of people who took part.
    pub participants: Option<i32>,
    /// What was discussed and agreed (成效).
    pub summary: Option<String>,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl ExchangeView {
    fn from_model(m: exchange::Model, mut visiting_org_ids: Vec<Uuid>) -> AppResult<Self> {
        visiting_org_ids.sort();
        let leaders_present: Vec<String> = serde_json::from_value(m.leaders_present)
            .map_err(|e| AppError::internal(format!("stored leaders_present of {}: {e}", m.id)))?;
        Ok(Self {
            kind: ExchangeKind::from_db(&m.kind)?,
            direction: ExchangeDirection::from_db(&m.direction)?,
            id: m.id,
            pairing_id: m.pairing_id,
            host_org_id: m.host_org_id,
            visiting_org_ids,
            start_on: m.start_on,
            end_on: m.end_on,
            leaders_present,
            participants: m.participants,
            summary: m.summary,
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
#[graphql(name = "NewExchangeInput")]
pub struct NewExchange {
    pub kind: ExchangeKind,
    pub direction: ExchangeDirection,
    #[serde(default)]
    pub pairing_id: Option<Uuid>,
    pub host_org_id: Uuid,
    #[serde(default)]
    #[graphql(default)]
    pub visiting_org_ids: Vec<Uuid>,
    pub start_on: NaiveDate,
    pub end_on: NaiveDate,
    #[serde(default)]
    #[graphql(default)]
    pub leaders_present: Vec<String>,
    #[serde(default)]
    pub participants: Option<i32>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A partial update: absent fields stay, `null` clears a nullable field; `visiting_org_ids` and
/// `leaders_present` replace the whole list.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "ExchangePatchInput")]
pub struct ExchangePatch {
    #[serde(default)]
    pub kind: Option<ExchangeKind>,
    #[serde(default)]
    pub direction: Option<ExchangeDirection>,
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub pairing_id: MaybeUndefined<Uuid>,
    #[serde(default)]
    pub host_org_id: Option<Uuid>,
    #[serde(default)]
    pub visiting_org_ids: Option<Vec<Uuid>>,
    #[serde(default)]
    pub start_on: Option<NaiveDate>,
    #[serde(default)]
    pub end_on: Option<NaiveDate>,
    #[serde(default)]
    pub leaders_present: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub participants: MaybeUndefined<i32>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub summary: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: MaybeUndefined<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "ExchangeFilter")]
pub struct ExchangeQuery {
    /// The host, the owner or one of the visitors.
    pub org_id: Option<Uuid>,
    pub pairing_id: Option<Uuid>,
    pub kind: Option<ExchangeKind>,
    pub direction: Option<ExchangeDirection>,
    /// Exchanges that started in this year.
    pub year: Option<i32>,
    /// With `year`: exchanges that started in this quarter (1–4).
    pub quarter: Option<i32>,
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

pub const VISITORS_MAX: usize = 100;
pub const LEADERS_MAX: usize = 100;
pub const LEADER_MAX: usize = 200;
pub const SUMMARY_MAX: usize = 20_000;

/// An exchange row with its visiting organizations, listed by the same statement.
#[derive(Clone, Debug, FromQueryResult)]
pub struct ExchangeRow {
    #[sea_orm(nested)]
    pub exchange: exchange::Model,
    pub visiting_org_ids: Option<String>,
}

/// The exchange family for the record kernel.
pub struct Exchanges;

impl Record for Exchanges {
    type Entity = exchange::Entity;
    type Row = ExchangeRow;
    type View = ExchangeView;
    const KIND: RecordKind = RecordKind::Exchange;

    fn columns() -> Columns<exchange::Column> {
        use exchange::Column as C;
        kernel::record_columns!(C, Readable::Record(Some(C::PairingId)))
    }

    fn select(backend: DbBackend) -> Select<exchange::Entity> {
        exchange::Entity::find().column_as(
            kernel::id_list(
                backend,
                "exchange_visiting_orgs",
                "org_id",
                "exchange_id",
                "exchanges",
            ),
            "visiting_org_ids",
        )
    }

    fn model(row: &ExchangeRow) -> &exchange::Model {
        &row.exchange
    }

    fn view(_: &Actor, row: ExchangeRow) -> AppResult<ExchangeView> {
        let visitors = kernel::parse_id_list(row.visiting_org_ids.as_deref())?;
        ExchangeView::from_model(row.exchange, visitors)
    }
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<ExchangeView> {
    kernel::get::<Exchanges>(ctx, actor, id).await
}

pub async fn list(ctx: &AppCtx, actor: &Actor, q: ExchangeQuery) -> AppResult<Page<ExchangeView>> {
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    let period = period(&mut f, q.year, q.quarter);
    f.instant("updated_since", q.updated_since);
    f.finish()?;
    let (args, period) = (checked(args)?, checked(period)?);
    let mut select = kernel::visible::<Exchanges>(ctx.db.get_database_backend(), actor.scope());
    if let Some(org) = q.org_id {
        let visited = exchange_visiting_org::Entity::find()
            .select_only()
            .column(exchange_visiting_org::Column::ExchangeId)
            .filter(exchange_visiting_org::Column::OrgId.eq(org))
            .into_query();
        select = select.filter(
            Condition::any()
                .add(exchange::Column::HostOrgId.eq(org))
                .add(exchange::Column::OwnerOrgId.eq(org))
                .add(exchange::Column::Id.in_subquery(visited)),
        );
    }
    if let Some(p) = q.pairing_id {
        select = select.filter(exchange::Column::PairingId.eq(p));
    }
    if let Some(k) = q.kind {
        select = select.filter(exchange::Column::Kind.eq(k.as_str()));
    }
    if let Some(d) = q.direction {
        select = select.filter(exchange::Column::Direction.eq(d.as_str()));
    }
    if let Some((from, to)) = period {
        select = select.filter(exchange::Column::StartOn.between(from, to));
    }
    if let Some(e) = q.external_id {
        select = select.filter(exchange::Column::ExternalId.eq(e));
    }
    if let Some(since) = q.updated_since {
        select = select.filter(exchange::Column::UpdatedAt.gte(since));
    }
    kernel::page::<Exchanges>(ctx, actor, select, args).await
}

/// Batch read for GraphQL loaders: the readable, live exchanges on each of `pairing_ids`, in id
/// order.
pub async fn of_pairings(
    ctx: &AppCtx,
    actor: &Actor,
    pairing_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<ExchangeView>>> {
    kernel::children::<Exchanges>(
        ctx,
        actor,
        exchange::Column::PairingId,
        |r| r.exchange.pairing_id,
        pairing_ids,
    )
    .await
}

/// Every field of an exchange as it will be stored, before checking.
pub struct Draft {
    kind: ExchangeKind,
    direction: ExchangeDirection,
    pairing_id: Option<Uuid>,
    host_org_id: Uuid,
    visiting_org_ids: Vec<Uuid>,
    start_on: NaiveDate,
    end_on: NaiveDate,
    leaders_present: Vec<String>,
    participants: Option<i32>,
    summary: Option<String>,
}

/// The checked text fields of a draft.
pub struct Checked {
    leaders_present: Vec<String>,
    summary: Option<String>,
}

/// What drafts name, read once: the live organizations the caller may read, with their
/// region, and the live pairings it may read. A sync batch reads it for all its items.
pub struct Named {
    regions: HashMap<Uuid, Region>,
    pairings: HashMap<Uuid, pairing::Model>,
}

impl Named {
    /// One statement for the organizations, one for the pairings.
    pub async fn read(
        db: &impl ConnectionTrait,
        scope: &Scope,
        orgs: impl IntoIterator<Item = Uuid>,
        pairings: impl IntoIterator<Item = Uuid>,
    ) -> AppResult<Self> {
        let orgs: HashSet<Uuid> = orgs.into_iter().collect();
        let regions = organization::Entity::find()
            .select_only()
            .columns([organization::Column::Id, organization::Column::Region])
            .filter(organization::Column::Id.is_in(orgs))
            .filter(organization::Column::DeletedAt.is_null())
            .into_tuple::<(Uuid, String)>()
            .all(db)
            .await?
            .into_iter()
            // An organization the caller may not read is answered as a missing one: the answer
            // must not tell which ids exist.
            .filter(|(id, _)| scope.can_read_org(*id))
            .map(|(id, r)| Region::from_db(&r).map(|r| (id, r)))
            .collect::<AppResult<_>>()?;
        Ok(Self {
            regions,
            pairings: readable_pairings(db, scope, pairings).await?,
        })
    }

    async fn of(db: &impl ConnectionTrait, scope: &Scope, d: &Draft) -> AppResult<Self> {
        let mut orgs = vec![d.host_org_id];
        orgs.extend(d.visiting_org_ids.iter().copied());
        Self::read(db, scope, orgs, d.pairing_id).await
    }
}

/// The live pairings among `ids` that the caller may read, in one statement.
pub(super) async fn readable_pairings(
    db: &impl ConnectionTrait,
    scope: &Scope,
    ids: impl IntoIterator<Item = Uuid>,
) -> AppResult<HashMap<Uuid, pairing::Model>> {
    let ids: HashSet<Uuid> = ids
        .into_iter()
        .filter(|id| scope.can_read_pairing(*id))
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(pairing::Entity::find()
        .filter(pairing::Column::Id.is_in(ids))
        .filter(pairing::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect())
}

/// Checks a whole draft against what it names, recording every problem in `f`.
fn check(named: &Named, f: &mut Fields, d: &Draft) -> Option<Checked> {
    let regions = &named.regions;
    let host = regions.get(&d.host_org_id).copied();
    if host.is_none() {
        f.push("host_org_id", "no such organization");
    }
    if d.visiting_org_ids.len() > VISITORS_MAX {
        f.push(
            "visiting_org_ids",
            format!("at most {VISITORS_MAX} organizations"),
        );
    }
    let mut seen = HashSet::new();
    let mut visitors = Vec::new();
    let mut all_found = host.is_some();
    for (i, id) in d.visiting_org_ids.iter().enumerate() {
        let field = format!("visiting_org_ids[{i}]");
        if *id == d.host_org_id {
            f.push(&field, "is the host");
        } else if !seen.insert(*id) {
            f.push(&field, "is listed twice");
        } else if let Some(r) = regions.get(id) {
            visitors.push(*r);
        } else {
            all_found = false;
            f.push(&field, "no such organization");
        }
    }
    // Only judge the direction when every organization it depends on is known.
    if let (Some(host), true) = (host, all_found) {
        let message = match d.direction {
            ExchangeDirection::EastToWest
                if host != Region::West || !visitors.contains(&Region::East) =>
            {
                Some("east_to_west needs a western host and at least one eastern visitor")
            }
            ExchangeDirection::WestToEast
                if host != Region::East || !visitors.contains(&Region::West) =>
            {
                Some("west_to_east needs an eastern host and at least one western visitor")
            }
            ExchangeDirection::Local if visitors.iter().any(|r| *r != host) => {
                Some("local means every visitor is in the host's region")
            }
            _ => None,
        };
        if let Some(message) = message {
            f.push("direction", message);
        }
    }
    if let Some(p) = d.pairing_id
        && !named.pairings.contains_key(&p)
    {
        f.push("pairing_id", "no such pairing");
    }
    f.date("start_on", Some(d.start_on));
    f.date("end_on", Some(d.end_on));
    if d.end_on < d.start_on {
        f.push("end_on", "must not be before start_on");
    }
    if d.leaders_present.len() > LEADERS_MAX {
        f.push("leaders_present", format!("at most {LEADERS_MAX} entries"));
    }
    let leaders: Vec<Option<String>> = d
        .leaders_present
        .iter()
        .enumerate()
        .map(|(i, l)| {
            f.check(
                &format!("leaders_present[{i}]"),
                Text::parse(l, LEADER_MAX).map(Text::into_inner),
            )
        })
        .collect();
    if d.participants.is_some_and(|n| n < 0) {
        f.push("participants", "must not be negative");
    }
    let summary = f.check_opt("summary", d.summary.as_deref(), |s| {
        long_text(s, SUMMARY_MAX)
    });
    match (leaders.into_iter().collect(), summary) {
        (Some(leaders_present), Some(summary)) => Some(Checked {
            leaders_present,
            summary,
        }),
        _ => None,
    }
}

impl From<NewExchange> for Draft {
    fn from(input: NewExchange) -> Self {
        Self {
            kind: input.kind,
            direction: input.direction,
            pairing_id: input.pairing_id,
            host_org_id: input.host_org_id,
            visiting_org_ids: input.visiting_org_ids,
            start_on: input.start_on,
            end_on: input.end_on,
            leaders_present: input.leaders_present,
            participants: input.participants,
            summary: input.summary,
        }
    }
}

/// The content columns of a checked draft (the record columns are the kernel's).
fn content(d: &Draft, good: &Checked) -> exchange::ActiveModel {
    exchange::ActiveModel {
        kind: Set(d.kind.as_str().into()),
        direction: Set(d.direction.as_str().into()),
        pairing_id: Set(d.pairing_id),
        host_org_id: Set(d.host_org_id),
        start_on: Set(d.start_on),
        end_on: Set(d.end_on),
        leaders_present: Set(serde_json::json!(good.leaders_present)),
        participants: Set(d.participants),
        summary: Set(good.summary.clone()),
        ..Default::default()
    }
}

/// Batch sync (`POST /sync/exchange`): the rules of [`create`], for every item at once.
impl sync::Synced for Exchanges {
    type Input = NewExchange;
    type Item = (Draft, Checked);
    type Lookup = Named;

    fn external_id(input: &NewExchange) -> Option<&str> {
        input.external_id.as_deref()
    }

    async fn lookup(tx: &WriteTx, actor: &Actor, inputs: &[NewExchange]) -> AppResult<Named> {
        let orgs = inputs
            .iter()
            .flat_map(|i| std::iter::once(i.host_org_id).chain(i.visiting_org_ids.iter().copied()));
        Named::read(
            tx,
            actor.scope(),
            orgs,
            inputs.iter().filter_map(|i| i.pairing_id),
        )
        .await
    }

    fn owner_org(actor: &Actor, _: &Named, input: &NewExchange) -> Uuid {
        actor.org_id.unwrap_or(input.host_org_id)
    }

    fn check(_: &Actor, named: &Named, input: NewExchange, f: &mut Fields) -> Option<Self::Item> {
        let draft = Draft::from(input);
        check(named, f, &draft).map(|good| (draft, good))
    }

    fn same(stored: &ExchangeRow, (d, good): &Self::Item) -> bool {
        let m = &stored.exchange;
        let mut visitors = d.visiting_org_ids.clone();
        visitors.sort();
        m.kind == d.kind.as_str()
            && m.direction == d.direction.as_str()
            && m.pairing_id == d.pairing_id
            && m.host_org_id == d.host_org_id
            && m.start_on == d.start_on
            && m.end_on == d.end_on
            && m.leaders_present == serde_json::json!(good.leaders_present)
            && m.participants == d.participants
            && m.summary == good.summary
            && kernel::parse_id_list(stored.visiting_org_ids.as_deref()).ok() == Some(visitors)
    }

    fn content((d, good): &Self::Item) -> exchange::ActiveModel {
        content(d, good)
    }

    async fn link(
        tx: &WriteTx,
        created: &[(Uuid, &Self::Item)],
        updated: &[(Uuid, &Self::Item)],
    ) -> AppResult<()> {
        use exchange_visiting_org::{ActiveModel, Column, Entity};
        for chunk in updated.chunks(sync::CHUNK) {
            Entity::delete_many()
                .filter(Column::ExchangeId.is_in(chunk.iter().map(|(id, _)| *id)))
                .exec(tx)
                .await?;
        }
        let rows: Vec<ActiveModel> = created
            .iter()
            .chain(updated)
            .flat_map(|(id, (d, _))| {
                d.visiting_org_ids.iter().map(|org| ActiveModel {
                    exchange_id: Set(*id),
                    org_id: Set(*org),
                })
            })
            .collect::<Vec<_>>();
        super::bulk::insert::<Entity>(tx, rows).await
    }
}

async fn replace_visitors(tx: &impl ConnectionTrait, id: Uuid, orgs: &[Uuid]) -> AppResult<()> {
    exchange_visiting_org::Entity::delete_many()
        .filter(exchange_visiting_org::Column::ExchangeId.eq(id))
        .exec(tx)
        .await?;
    insert_visitors(tx, id, orgs).await
}

async fn insert_visitors(tx: &impl ConnectionTrait, id: Uuid, orgs: &[Uuid]) -> AppResult<()> {
    if orgs.is_empty() {
        return Ok(());
    }
    exchange_visiting_org::Entity::insert_many(orgs.iter().map(|org| {
        exchange_visiting_org::ActiveModel {
            exchange_id: Set(id),
            org_id: Set(*org),
        }
    }))
    .exec_without_returning(tx)
    .await?;
    Ok(())
}

pub async fn create(ctx: &AppCtx, actor: &Actor, input: NewExchange) -> AppResult<ExchangeView> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    // Recorded by the caller's organization; an admin or coordinator without one records it
    // for the host.
    let (owner, _) = kernel::new_owner(&dir, actor, actor.org_id.unwrap_or(input.host_org_id));
    ensure_write(actor, scope, RecordKind::Exchange, owner)?;

    let external_given = input.external_id.clone();
    let draft = Draft::from(input);
    let mut f = Fields::new();
    let good = check(&Named::of(&tx, scope, &draft).await?, &mut f, &draft);
    let external = external_id(&mut f, external_given.as_deref());
    f.finish()?;
    kernel::ensure_external_free::<Exchanges>(
        &tx,
        actor,
        owner.org_id,
        external.clone().flatten().as_deref(),
    )
    .await?;
    let (good, external) = (checked(good)?, checked(external)?);

    let id = Uuid::now_v7();
    let at = now();
    let inserted = exchange::Entity::insert(exchange::ActiveModel {
        id: Set(id),
        version: Set(1),
        owner_org_id: Set(owner.org_id),
        external_id: Set(external),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
        ..content(&draft, &good)
    })
    .exec_with_returning(&tx)
    .await?;
    insert_visitors(&tx, id, &draft.visiting_org_ids).await?;
    let row = ExchangeRow {
        exchange: inserted,
        visiting_org_ids: Some(kernel::id_list_text(&draft.visiting_org_ids)),
    };
    kernel::created::<Exchanges>(tx, actor, row).await
}

pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: ExchangePatch,
) -> AppResult<ExchangeView> {
    let change = kernel::change::<Exchanges>(ctx, actor, id, expected_version).await?;
    let before = &change.before;
    let visitors_changed = patch.visiting_org_ids.is_some();
    let draft = Draft {
        kind: patch.kind.unwrap_or(before.kind),
        direction: patch.direction.unwrap_or(before.direction),
        pairing_id: match patch.pairing_id {
            MaybeUndefined::Undefined => before.pairing_id,
            MaybeUndefined::Null => None,
            MaybeUndefined::Value(p) => Some(p),
        },
        host_org_id: patch.host_org_id.unwrap_or(before.host_org_id),
        visiting_org_ids: patch
            .visiting_org_ids
            .unwrap_or_else(|| before.visiting_org_ids.clone()),
        start_on: patch.start_on.unwrap_or(before.start_on),
        end_on: patch.end_on.unwrap_or(before.end_on),
        leaders_present: patch
            .leaders_present
            .unwrap_or_else(|| before.leaders_present.clone()),
        participants: match patch.participants {
            MaybeUndefined::Undefined => before.participants,
            MaybeUndefined::Null => None,
            MaybeUndefined::Value(n) => Some(n),
        },
        summary: match patch.summary {
            MaybeUndefined::Undefined => before.summary.clone(),
            MaybeUndefined::Null => None,
            MaybeUndefined::Value(s) => Some(s),
        },
    };
    let mut f = Fields::new();
    let named = Named::of(&change.tx, actor.scope(), &draft).await?;
    let good = check(&named, &mut f, &draft);
    let external = patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        before.external_id.clone(),
        |e: &String| Text::parse(e, super::records::EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    f.finish()?;
    let (good, external) = (checked(good)?, checked(external)?);

    let mut model = content(&draft, &good);
    model.external_id = Set(external);
    if visitors_changed {
        replace_visitors(&change.tx, id, &draft.visiting_org_ids).await?;
    }
    change.save(model).await
}

/// Batch sync (`POST /sync/exchange`): each item created, updated or left unchanged by its owner's
/// `external_id`, under the rules of [`create`]; all in one transaction or none.
pub async fn sync(
    ctx: &AppCtx,
    actor: &Actor,
    items: Vec<NewExchange>,
) -> AppResult<sync::SyncResponse> {
    sync::run::<Exchanges>(ctx, actor, items).await
}

pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    kernel::change::<Exchanges>(ctx, actor, id, expected_version)
        .await?
        .delete()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in ExchangeKind::ALL {
            assert_eq!(ExchangeKind::parse(k.as_str()), Some(*k));
        }
        for d in ExchangeDirection::ALL {
            assert_eq!(ExchangeDirection::parse(d.as_str()), Some(*d));
        }
        assert_eq!(ExchangeKind::parse("party"), None);
    }

    #[test]
    fn periods() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let mut f = Fields::new();
        assert_eq!(
            period(&mut f, Some(2019), None),
            Some(Some((d(2019, 1, 1), d(2019, 12, 31))))
        );
        assert_eq!(
            period(&mut f, Some(2019), Some(4)),
            Some(Some((d(2019, 10, 1), d(2019, 12, 31))))
        );
        assert_eq!(
            period(&mut f, Some(2020), Some(1)),
            Some(Some((d(2020, 1, 1), d(2020, 3, 31))))
        );
        assert_eq!(period(&mut f, None, None), Some(None));
        assert!(f.finish().is_ok());
        let mut f = Fields::new();
        assert_eq!(period(&mut f, None, Some(2)), None);
        assert_eq!(period(&mut f, Some(2019), Some(5)), None);
        assert!(f.finish().is_err());
    }

    #[test]
    fn long_text_keeps_line_breaks() {
        assert_eq!(long_text(" a\nb ", 10), Ok("a\nb".to_string()));
        assert!(long_text("a\u{7}", 10).is_err());
        assert!(long_text("  ", 10).is_err());
        assert!(long_text("abc", 2).is_err());
    }
}
