//! Fund transactions (资金): pledged, transferred and refunded by the east, arrived and spent in
//! the west; and the money totals of projects and pairings computed from them.

use std::collections::HashMap;

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::NaiveDate;
use entity::{fund_transaction, pairing, project};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
    sea_query::{Alias, Expr, Func},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page,
    kernel::{self, Columns, Readable, Record},
    now,
    records::{EXTERNAL_ID_MAX, PageArgs, external_id, patch_nullable, period_filter},
    sync,
};
use crate::{
    authz::Actor,
    authz::{RecordKind, Scope, ensure_write},
    domain::{AmountFen, Fen, Fields, FundKind, ProjectStatus, Region, Role, Text, checked},
    error::{AppError, Result},
};

pub const VOUCHER_NO_MAX: usize = 100;
pub const NOTE_MAX: usize = 2000;

/// Money per kind, in fen. Computed from fund transactions, never stored.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, SimpleObject,
)]
#[graphql(name = "MoneyTotals")]
pub struct Totals {
    pub pledged_fen: Fen,
    pub transferred_fen: Fen,
    pub arrived_fen: Fen,
    pub spent_fen: Fen,
    pub refunded_fen: Fen,
    /// arrived / pledged in basis points (8500 = 85.00 %); null while nothing is pledged.
    pub arrival_rate_bp: Option<i64>,
}

impl Totals {
    /// Saturating: an input amount is added before it is validated, and must not panic.
    fn add(&mut self, kind: FundKind, amount: i64) {
        let total = match kind {
            FundKind::Pledge => &mut self.pledged_fen.0,
            FundKind::Transfer => &mut self.transferred_fen.0,
            FundKind::Arrival => &mut self.arrived_fen.0,
            FundKind::Expenditure => &mut self.spent_fen.0,
            FundKind::Refund => &mut self.refunded_fen.0,
        };
        *total = total.saturating_add(amount);
    }

    /// Totals from the five sums; computes the arrival rate.
    pub fn from_sums(
        pledged: i64,
        transferred: i64,
        arrived: i64,
        spent: i64,
        refunded: i64,
    ) -> Self {
        Self {
            pledged_fen: Fen(pledged),
            transferred_fen: Fen(transferred),
            arrived_fen: Fen(arrived),
            spent_fen: Fen(spent),
            refunded_fen: Fen(refunded),
            arrival_rate_bp: None,
        }
        .finish()
    }

    fn finish(mut self) -> Self {
        self.arrival_rate_bp = (self.pledged_fen.0 > 0).then(|| {
            let rate = i128::from(self.arrived_fen.0) * 10_000 / i128::from(self.pledged_fen.0);
            i64::try_from(rate).unwrap_or(i64::MAX)
        });
        self
    }

    /// What may still be spent: arrived, less spent and refunded.
    pub fn available_fen(&self) -> i64 {
        self.arrived_fen
            .0
            .saturating_sub(self.spent_fen.0)
            .saturating_sub(self.refunded_fen.0)
    }
}

/// Totals for each of `keys`, grouped by `key_col` (project or pairing), in one query.
async fn totals_by(
    db: &impl ConnectionTrait,
    key_col: fund_transaction::Column,
    keys: &[Uuid],
) -> Result<HashMap<Uuid, Totals>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    // SUM over BIGINT is NUMERIC in PostgreSQL: cast back so both databases answer an i64.
    let rows: Vec<(Uuid, String, i64)> = fund_transaction::Entity::find()
        .select_only()
        .column(key_col)
        .column(fund_transaction::Column::Kind)
        .column_as(
            Expr::from(Func::cast_as(
                Func::sum(Expr::col(fund_transaction::Column::AmountFen)),
                Alias::new("BIGINT"),
            )),
            "total",
        )
        .filter(key_col.is_in(keys.iter().copied()))
        .filter(fund_transaction::Column::DeletedAt.is_null())
        .group_by(key_col)
        .group_by(fund_transaction::Column::Kind)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Totals> = keys.iter().map(|k| (*k, Totals::default())).collect();
    for (key, kind, total) in rows {
        out.entry(key)
            .or_default()
            .add(FundKind::from_db(&kind)?, total);
    }
    Ok(out.into_iter().map(|(k, t)| (k, t.finish())).collect())
}

pub async fn totals_by_project(
    db: &impl ConnectionTrait,
    project_ids: &[Uuid],
) -> Result<HashMap<Uuid, Totals>> {
    totals_by(db, fund_transaction::Column::ProjectId, project_ids).await
}

pub async fn totals_by_pairing(
    db: &impl ConnectionTrait,
    pairing_ids: &[Uuid],
) -> Result<HashMap<Uuid, Totals>> {
    totals_by(db, fund_transaction::Column::PairingId, pairing_ids).await
}

/// The money totals of one pairing the caller may read.
pub async fn pairing_totals(ctx: &AppCtx, actor: &Actor, pairing_id: Uuid) -> Result<Totals> {
    let scope = actor.scope();
    if !scope.can_read_pairing(pairing_id) || live_pairing(&ctx.db, pairing_id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    Ok(totals_by_pairing(&ctx.db, &[pairing_id])
        .await?
        .remove(&pairing_id)
        .unwrap_or_default())
}

/// Batch read for GraphQL loaders: totals of the readable pairings among `ids`.
pub async fn totals_of_pairings(
    ctx: &AppCtx,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Totals>> {
    let scope = actor.scope();
    let wanted: Vec<Uuid> = ids
        .iter()
        .copied()
        .filter(|id| scope.can_read_pairing(*id))
        .collect();
    totals_by_pairing(&ctx.db, &wanted).await
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "FundTransaction", complex)]
pub struct FundTransactionView {
    pub id: Uuid,
    pub kind: FundKind,
    /// Positive integer fen.
    pub amount_fen: Fen,
    pub occurred_on: NaiveDate,
    /// 凭证号
    pub voucher_no: Option<String>,
    pub pairing_id: Uuid,
    pub project_id: Option<Uuid>,
    /// The side that recorded it (`east` or `west`).
    pub side: Region,
    pub note: Option<String>,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl FundTransactionView {
    fn from_model(m: fund_transaction::Model) -> Result<Self> {
        Ok(Self {
            kind: FundKind::from_db(&m.kind)?,
            side: Region::from_db(&m.side)?,
            id: m.id,
            amount_fen: Fen(m.amount_fen),
            occurred_on: m.occurred_on,
            voucher_no: m.voucher_no,
            pairing_id: m.pairing_id,
            project_id: m.project_id,
            note: m.note,
            version: m.version,
            owner_org_id: m.owner_org_id,
            external_id: m.external_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewFundTransactionInput")]
pub struct NewFundTransaction {
    pub kind: FundKind,
    pub amount_fen: Fen,
    pub occurred_on: NaiveDate,
    pub pairing_id: Uuid,
    #[serde(default)]
    pub project_id: Option<Uuid>,
    #[serde(default)]
    pub voucher_no: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "FundTransactionPatchInput")]
pub struct FundTransactionPatch {
    #[serde(default)]
    pub amount_fen: Option<Fen>,
    #[serde(default)]
    pub occurred_on: Option<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub project_id: MaybeUndefined<Uuid>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub voucher_no: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub note: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: MaybeUndefined<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "FundTransactionFilter")]
pub struct FundTransactionQuery {
    pub pairing_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    /// The recording organization.
    pub org_id: Option<Uuid>,
    pub kind: Option<FundKind>,
    pub side: Option<Region>,
    /// By `occurred_on`.
    pub year: Option<i32>,
    /// 1–4, with `year`.
    pub quarter: Option<i32>,
    pub voucher_no: Option<String>,
    pub external_id: Option<String>,
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
    #[graphql(skip)]
    pub limit: Option<i64>,
    #[graphql(skip)]
    pub cursor: Option<String>,
}

async fn live_pairing(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<pairing::Model>> {
    Ok(pairing::Entity::find_by_id(id)
        .filter(pairing::Column::DeletedAt.is_null())
        .one(db)
        .await?)
}

/// The fund transaction family for the record kernel.
pub struct FundTransactions;

impl Record for FundTransactions {
    type Entity = fund_transaction::Entity;
    type Row = fund_transaction::Model;
    type View = FundTransactionView;
    const KIND: RecordKind = RecordKind::FundTransaction;

    fn columns() -> Columns<fund_transaction::Column> {
        use fund_transaction::Column as C;
        kernel::record_columns!(C, Readable::Record(Some(C::PairingId)))
    }

    fn model(row: &fund_transaction::Model) -> &fund_transaction::Model {
        row
    }

    fn view(_: &Actor, row: fund_transaction::Model) -> Result<FundTransactionView> {
        FundTransactionView::from_model(row)
    }
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> Result<FundTransactionView> {
    kernel::get::<FundTransactions>(ctx, actor, id).await
}

pub async fn list(
    ctx: &AppCtx,
    actor: &Actor,
    q: FundTransactionQuery,
) -> Result<Page<FundTransactionView>> {
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    let range = period_filter(&mut f, q.year, q.quarter);
    f.instant("updated_since", q.updated_since);
    f.finish()?;
    let (args, range) = (checked(args)?, checked(range)?);
    use fund_transaction::Column as C;
    let mut select =
        kernel::visible::<FundTransactions>(ctx.db.get_database_backend(), actor.scope());
    if let Some(v) = q.pairing_id {
        select = select.filter(C::PairingId.eq(v));
    }
    if let Some(v) = q.project_id {
        select = select.filter(C::ProjectId.eq(v));
    }
    if let Some(v) = q.org_id {
        select = select.filter(C::OwnerOrgId.eq(v));
    }
    if let Some(v) = q.kind {
        select = select.filter(C::Kind.eq(v.as_str()));
    }
    if let Some(v) = q.side {
        select = select.filter(C::Side.eq(v.as_str()));
    }
    if let Some((from, to)) = range {
        select = select.filter(C::OccurredOn.between(from, to));
    }
    if let Some(v) = q.voucher_no {
        select = select.filter(C::VoucherNo.eq(v));
    }
    if let Some(v) = q.external_id {
        select = select.filter(C::ExternalId.eq(v));
    }
    if let Some(v) = q.updated_since {
        select = select.filter(C::UpdatedAt.gte(v));
    }
    kernel::page::<FundTransactions>(ctx, actor, select, args).await
}

/// Batch read for GraphQL: readable transactions of each project.
pub async fn of_projects(
    ctx: &AppCtx,
    actor: &Actor,
    project_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<FundTransactionView>>> {
    kernel::children::<FundTransactions>(
        ctx,
        actor,
        fund_transaction::Column::ProjectId,
        |m| m.project_id,
        project_ids,
    )
    .await
}

/// Batch read for GraphQL: readable transactions of each pairing.
pub async fn of_pairings(
    ctx: &AppCtx,
    actor: &Actor,
    pairing_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<FundTransactionView>>> {
    kernel::children::<FundTransactions>(
        ctx,
        actor,
        fund_transaction::Column::PairingId,
        |m| Some(m.pairing_id),
        pairing_ids,
    )
    .await
}

/// Locks the project row for the rest of the transaction, so two expenditures cannot both pass
/// the "not more than arrived" check. (`FOR UPDATE` on PostgreSQL; the SQLite query builder
/// leaves it out, as SQLite has one writer at a time.)
async fn lock_project(
    tx: &impl ConnectionTrait,
    project_id: Uuid,
) -> Result<Option<project::Model>> {
    Ok(project::Entity::find_by_id(project_id)
        .filter(project::Column::DeletedAt.is_null())
        .lock_exclusive()
        .one(tx)
        .await?)
}

/// The money rules of one transaction as it would stand: the right side records its kind, a
/// project belongs to the pairing and is not closed, and a project never spends or refunds more
/// than arrived for it.
#[allow(clippy::too_many_arguments)]
async fn check_rules(
    tx: &impl ConnectionTrait,
    scope: &Scope,
    f: &mut Fields,
    kind: FundKind,
    side: Region,
    pairing_id: Uuid,
    project_id: Option<Uuid>,
    amount: i64,
    replacing: Option<&fund_transaction::Model>,
) -> Result<()> {
    if kind.recorded_by() != side {
        f.push(
            "kind",
            format!(
                "{} is recorded by the {} side; this organization is on the {} side",
                kind.as_str(),
                kind.recorded_by().as_str(),
                side.as_str()
            ),
        );
    }
    // The pairing as a whole never spends or refunds more than arrived, project or not. Its row
    // is locked (PostgreSQL) so that concurrent spending is checked one at a time.
    pairing::Entity::find_by_id(pairing_id)
        .lock_exclusive()
        .one(tx)
        .await?;
    let mut on_pairing = totals_by_pairing(tx, &[pairing_id])
        .await?
        .remove(&pairing_id)
        .unwrap_or_default();
    if let Some(old) = replacing {
        on_pairing.add(FundKind::from_db(&old.kind)?, -old.amount_fen);
    }
    on_pairing.add(kind, amount);
    if on_pairing.available_fen() < 0 {
        f.push(
            "amount_fen",
            format!(
                "the pairing would spend or refund more than arrived on it ({} fen arrived, {} \
                 fen spent, {} fen refunded)",
                on_pairing.arrived_fen, on_pairing.spent_fen, on_pairing.refunded_fen
            ),
        );
    }
    let Some(project_id) = project_id else {
        return Ok(());
    };
    // A project the caller may not read is answered as a missing one, whatever pairing it is on.
    let Some(project) = lock_project(tx, project_id)
        .await?
        .filter(|p| scope.can_read_record(p.owner_org_id, Some(p.pairing_id)))
    else {
        f.push("project_id", "no such project");
        return Ok(());
    };
    if project.pairing_id != pairing_id {
        f.push("project_id", "belongs to another pairing");
        return Ok(());
    }
    match ProjectStatus::from_db(&project.status)? {
        ProjectStatus::Verified => {
            return Err(AppError::InvalidTransition {
                detail: "the project is verified: its money can no longer change".into(),
            });
        }
        // A cancelled project only gives money back.
        ProjectStatus::Cancelled if kind != FundKind::Refund && amount > 0 => {
            return Err(AppError::InvalidTransition {
                detail: "the project is cancelled: only refunds can be recorded for it".into(),
            });
        }
        _ => {}
    }
    let mut totals = totals_by_project(tx, &[project_id])
        .await?
        .remove(&project_id)
        .unwrap_or_default();
    if let Some(old) = replacing.filter(|old| old.project_id == Some(project_id)) {
        totals.add(FundKind::from_db(&old.kind)?, -old.amount_fen);
    }
    totals.add(kind, amount);
    if totals.available_fen() < 0 {
        f.push(
            "amount_fen",
            format!(
                "the project would spend or refund more than arrived for it ({} fen arrived, {} \
                 fen spent, {} fen refunded)",
                totals.arrived_fen, totals.spent_fen, totals.refunded_fen
            ),
        );
    }
    Ok(())
}

pub async fn create(
    ctx: &AppCtx,
    actor: &Actor,
    input: NewFundTransaction,
) -> Result<FundTransactionView> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let mut f = Fields::new();
    f.date("occurred_on", Some(input.occurred_on));
    let amount = f.check("amount_fen", AmountFen::parse(input.amount_fen.0));
    let voucher = f.check_opt("voucher_no", input.voucher_no.as_deref(), |v| {
        Text::parse(v, VOUCHER_NO_MAX).map(Text::into_inner)
    });
    let note = f.check_opt("note", input.note.as_deref(), |v| {
        Text::parse(v, NOTE_MAX).map(Text::into_inner)
    });
    let external = external_id(&mut f, input.external_id.as_deref());
    let Some(pair) = live_pairing(&tx, input.pairing_id)
        .await?
        .filter(|p| scope.can_read_pairing(p.id))
    else {
        f.push("pairing_id", "no such pairing");
        return Err(f.finish().err().unwrap_or(AppError::NotFound));
    };
    // The admin records on behalf of the side whose kind it is; everyone else as their org.
    let side_org = match input.kind.recorded_by() {
        Region::East => pair.east_org_id,
        Region::West => pair.west_org_id,
    };
    let owner_org = match (actor.role, actor.org_id) {
        (Role::Admin, _) | (_, None) => side_org,
        (_, Some(org)) => org,
    };
    let owner = kernel::owner(&dir, &tx, owner_org).await?;
    ensure_write(actor, scope, RecordKind::FundTransaction, owner)?;
    check_rules(
        &tx,
        actor.scope(),
        &mut f,
        input.kind,
        owner.region,
        pair.id,
        input.project_id,
        input.amount_fen.0,
        None,
    )
    .await?;
    f.finish()?;
    kernel::ensure_external_free::<FundTransactions>(
        &tx,
        actor,
        owner_org,
        external.clone().flatten().as_deref(),
    )
    .await?;
    let at = now();
    let id = Uuid::now_v7();
    let inserted = fund_transaction::Entity::insert(fund_transaction::ActiveModel {
        id: Set(id),
        pairing_id: Set(pair.id),
        project_id: Set(input.project_id),
        kind: Set(input.kind.as_str().into()),
        side: Set(owner.region.as_str().into()),
        amount_fen: Set(checked(amount)?.get()),
        occurred_on: Set(input.occurred_on),
        voucher_no: Set(checked(voucher)?),
        note: Set(checked(note)?),
        version: Set(1),
        owner_org_id: Set(owner_org),
        external_id: Set(checked(external)?),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_with_returning(&tx)
    .await?;
    kernel::created::<FundTransactions>(tx, actor, inserted).await
}

pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: FundTransactionPatch,
) -> Result<FundTransactionView> {
    let change = kernel::change::<FundTransactions>(ctx, actor, id, expected_version).await?;
    let (tx, owner, current) = (&change.tx, change.owner, &change.current);
    let mut f = Fields::new();
    f.date("occurred_on", patch.occurred_on);
    let amount = f.check(
        "amount_fen",
        AmountFen::parse(patch.amount_fen.map_or(current.amount_fen, |f| f.0)),
    );
    let project_id = patch_nullable(
        &mut f,
        "project_id",
        &patch.project_id,
        current.project_id,
        |p| Ok(*p),
    );
    let voucher = patch_nullable(
        &mut f,
        "voucher_no",
        &patch.voucher_no,
        current.voucher_no.clone(),
        |v| Text::parse(v, VOUCHER_NO_MAX).map(Text::into_inner),
    );
    let note = patch_nullable(&mut f, "note", &patch.note, current.note.clone(), |v| {
        Text::parse(v, NOTE_MAX).map(Text::into_inner)
    });
    let external = patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        current.external_id.clone(),
        |v| Text::parse(v, EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    let kind = FundKind::from_db(&current.kind)?;
    // The old project must stay consistent too when the transaction moves away from it.
    if current.project_id.is_some()
        && project_id
            .as_ref()
            .is_some_and(|p| *p != current.project_id)
    {
        check_rules(
            tx,
            actor.scope(),
            &mut f,
            kind,
            owner.region,
            current.pairing_id,
            current.project_id,
            0,
            Some(current),
        )
        .await?;
    }
    if let (Some(project_id), Some(amount)) = (&project_id, &amount) {
        check_rules(
            tx,
            actor.scope(),
            &mut f,
            kind,
            owner.region,
            current.pairing_id,
            *project_id,
            amount.get(),
            Some(current),
        )
        .await?;
    }
    f.finish()?;
    let mut model: fund_transaction::ActiveModel = current.clone().into();
    model.amount_fen = Set(checked(amount)?.get());
    model.occurred_on = Set(patch.occurred_on.unwrap_or(current.occurred_on));
    model.project_id = Set(checked(project_id)?);
    model.voucher_no = Set(checked(voucher)?);
    model.note = Set(checked(note)?);
    model.external_id = Set(checked(external)?);
    change.save(model).await
}

pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> Result<()> {
    let change = kernel::change::<FundTransactions>(ctx, actor, id, expected_version).await?;
    let current = &change.current;
    let mut f = Fields::new();
    // Deleting an arrival must not leave the project having spent money that never came.
    check_rules(
        &change.tx,
        actor.scope(),
        &mut f,
        FundKind::from_db(&current.kind)?,
        change.owner.region,
        current.pairing_id,
        current.project_id,
        0,
        Some(current),
    )
    .await?;
    if !f.is_empty() {
        return Err(AppError::in_use(
            "the project has spent money that this transaction brought in",
        ));
    }
    change.delete().await
}

/// One item of a fund transaction batch, checked.
struct SyncItem {
    index: usize,
    external_id: String,
    kind: FundKind,
    amount_fen: i64,
    occurred_on: NaiveDate,
    pairing_id: Uuid,
    project_id: Option<Uuid>,
    voucher_no: Option<String>,
    note: Option<String>,
    owner: Option<crate::authz::Owner>,
}

/// `POST /sync/fund_transaction`: creates or updates each transaction by its owner's
/// `external_id`, all in one transaction. The rules are those of a single write, checked for
/// the batch as a whole: the money rules (never more spent or refunded than arrived, on the
/// pairing and on each project) hold after every item is applied, so a batch may carry an
/// arrival and the spending it pays for. A stored transaction keeps its pairing and kind; a
/// different one in the item is an error (delete it and sync a new one).
pub async fn sync(
    ctx: &AppCtx,
    actor: &Actor,
    items: Vec<NewFundTransaction>,
) -> Result<sync::SyncResponse> {
    use sync::{ItemErrors, SyncResult};
    sync::check_size(items.len(), ctx.config.sync_batch_max)?;
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let mut errors = ItemErrors::default();

    // Each item on its own.
    let mut seen = std::collections::HashSet::new();
    let mut checked_items = Vec::with_capacity(items.len());
    for (index, input) in items.into_iter().enumerate() {
        let mut f = Fields::new();
        f.date("occurred_on", Some(input.occurred_on));
        let amount = f.check("amount_fen", AmountFen::parse(input.amount_fen.0));
        let voucher = f.check_opt("voucher_no", input.voucher_no.as_deref(), |v| {
            Text::parse(v, VOUCHER_NO_MAX).map(Text::into_inner)
        });
        let note = f.check_opt("note", input.note.as_deref(), |v| {
            Text::parse(v, NOTE_MAX).map(Text::into_inner)
        });
        let external = match external_id(&mut f, input.external_id.as_deref()) {
            Some(Some(e)) => Some(e),
            Some(None) => {
                f.push("external_id", "is required: sync matches records by it");
                None
            }
            None => None,
        };
        if let Some(e) = &external
            && !seen.insert(e.clone())
        {
            f.push("external_id", "is listed twice in the batch");
        }
        let clean = errors.add(index, input.external_id.as_deref(), f);
        if let (true, Some(external_id), Some(amount), Some(voucher_no), Some(note)) =
            (clean, external, amount, voucher, note)
        {
            checked_items.push(SyncItem {
                index,
                external_id,
                kind: input.kind,
                amount_fen: amount.get(),
                occurred_on: input.occurred_on,
                pairing_id: input.pairing_id,
                project_id: input.project_id,
                voucher_no,
                note,
                owner: None,
            });
        }
    }

    // Their pairings, in one statement, locked (PostgreSQL) as a single write locks its own:
    // the money rules below are checked one batch or write at a time.
    let pairing_ids: Vec<Uuid> = unique(checked_items.iter().map(|i| i.pairing_id));
    let pairings: HashMap<Uuid, pairing::Model> = pairing::Entity::find()
        .filter(pairing::Column::Id.is_in(pairing_ids))
        .filter(pairing::Column::DeletedAt.is_null())
        .lock_exclusive()
        .all(&tx)
        .await?
        .into_iter()
        .filter(|p| scope.can_read_pairing(p.id))
        .map(|p| (p.id, p))
        .collect();
    let mut owners: HashMap<Uuid, crate::authz::Owner> = HashMap::new();
    for item in &mut checked_items {
        let Some(pair) = pairings.get(&item.pairing_id) else {
            errors.push(
                item.index,
                &item.external_id,
                "pairing_id",
                "no such pairing".into(),
            );
            continue;
        };
        let owner_org = match (actor.role, actor.org_id) {
            (Role::Admin, _) | (_, None) => match item.kind.recorded_by() {
                Region::East => pair.east_org_id,
                Region::West => pair.west_org_id,
            },
            (_, Some(org)) => org,
        };
        let owner = match owners.get(&owner_org) {
            Some(o) => *o,
            None => {
                let o = kernel::owner(&dir, &tx, owner_org).await?;
                owners.insert(owner_org, o);
                o
            }
        };
        // As a single write: refused outright (the caller writes no such records at all).
        ensure_write(actor, scope, RecordKind::FundTransaction, owner)?;
        if item.kind.recorded_by() != owner.region {
            errors.push(
                item.index,
                &item.external_id,
                "kind",
                format!(
                    "{} is recorded by the {} side; this organization is on the {} side",
                    item.kind.as_str(),
                    item.kind.recorded_by().as_str(),
                    owner.region.as_str()
                ),
            );
        }
        item.owner = Some(owner);
    }

    // The stored records they name, in one statement per chunk.
    let owner_ids: Vec<Uuid> = owners.keys().copied().collect();
    let external_ids: Vec<&str> = checked_items
        .iter()
        .map(|i| i.external_id.as_str())
        .collect();
    let stored = sync::existing::<FundTransactions>(&tx, &owner_ids, &external_ids).await?;

    // The projects, new and replaced, in one statement, locked like the pairings.
    let project_ids = unique(
        checked_items
            .iter()
            .filter_map(|i| i.project_id)
            .chain(stored.values().filter_map(|s| s.project_id)),
    );
    let projects: HashMap<Uuid, project::Model> = project::Entity::find()
        .filter(project::Column::Id.is_in(project_ids))
        .filter(project::Column::DeletedAt.is_null())
        .lock_exclusive()
        .all(&tx)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let closed = |project_id: Option<Uuid>, kind: FundKind, amount: i64| -> Option<String> {
        let status = ProjectStatus::from_db(&projects.get(&project_id?)?.status).ok()?;
        match status {
            ProjectStatus::Verified => {
                Some("the project is verified: its money can no longer change".into())
            }
            ProjectStatus::Cancelled if kind != FundKind::Refund && amount > 0 => {
                Some("the project is cancelled: only refunds can be recorded for it".into())
            }
            _ => None,
        }
    };

    // Each item against what is stored: new, changed or the same.
    let mut steps = Vec::with_capacity(checked_items.len());
    let at = now();
    for item in &checked_items {
        let Some(owner) = item.owner else { continue };
        let mut f = Fields::new();
        let current = stored.get(&(owner.org_id, item.external_id.clone()));
        let same = current.is_some_and(|c| {
            c.amount_fen == item.amount_fen
                && c.occurred_on == item.occurred_on
                && c.project_id == item.project_id
                && c.voucher_no == item.voucher_no
                && c.note == item.note
        });
        if let Some(project_id) = item.project_id {
            match projects
                .get(&project_id)
                .filter(|p| scope.can_read_record(p.owner_org_id, Some(p.pairing_id)))
            {
                None => f.push("project_id", "no such project"),
                Some(p) if p.pairing_id != item.pairing_id => {
                    f.push("project_id", "belongs to another pairing");
                }
                // A re-sent item that changes nothing is not a write, whatever became of the
                // project since.
                Some(_) if same => {}
                Some(_) => {
                    if let Some(why) = closed(item.project_id, item.kind, item.amount_fen) {
                        f.push("project_id", why);
                    }
                }
            }
        }
        if let Some(c) = current {
            if c.deleted_at.is_some() {
                f.push(
                    "external_id",
                    "belongs to a deleted transaction of this organization; give the new one \
                     another external_id",
                );
            }
            if c.pairing_id != item.pairing_id {
                f.push(
                    "pairing_id",
                    "differs from the stored transaction's, which cannot move: delete it and \
                     sync a new one",
                );
            }
            if c.kind != item.kind.as_str() {
                f.push(
                    "kind",
                    "differs from the stored transaction's, which cannot change: delete it and \
                     sync a new one",
                );
            }
            // Money leaving a verified project is a change of its money too.
            if c.project_id != item.project_id
                && let Some(why) = closed(c.project_id, item.kind, 0)
            {
                f.push("project_id", why);
            }
        }
        if !errors.add(item.index, Some(&item.external_id), f) {
            continue;
        }
        let step = match current {
            None => SyncStep::Create(fund_transaction::Model {
                id: Uuid::now_v7(),
                pairing_id: item.pairing_id,
                project_id: item.project_id,
                kind: item.kind.as_str().into(),
                side: owner.region.as_str().into(),
                amount_fen: item.amount_fen,
                occurred_on: item.occurred_on,
                voucher_no: item.voucher_no.clone(),
                note: item.note.clone(),
                version: 1,
                owner_org_id: owner.org_id,
                external_id: Some(item.external_id.clone()),
                created_at: at,
                updated_at: at,
                deleted_at: None,
            }),
            Some(c) if same => SyncStep::Same(c.id),
            Some(c) => SyncStep::Update(c.clone()),
        };
        steps.push((item, step));
    }
    errors.finish()?;

    // The writes: new rows in multi-row inserts, changed rows each under its version check.
    use sync::SyncOutcome as Outcome;
    let mut results = Vec::with_capacity(steps.len());
    let mut updated = Vec::new();
    let mut replaced = HashMap::new();
    let mut inserts = Vec::new();
    let mut touched = Vec::new();
    for (item, step) in steps {
        let (id, outcome) = match step {
            SyncStep::Create(model) => {
                let id = model.id;
                inserts.push(model);
                (id, Outcome::Created)
            }
            SyncStep::Update(current) => {
                use fund_transaction::Column as C;
                let model = fund_transaction::ActiveModel {
                    amount_fen: Set(item.amount_fen),
                    occurred_on: Set(item.occurred_on),
                    project_id: Set(item.project_id),
                    voucher_no: Set(item.voucher_no.clone()),
                    note: Set(item.note.clone()),
                    ..Default::default()
                };
                kernel::compare_and_set::<fund_transaction::Entity>(
                    &tx,
                    model,
                    current.id,
                    current.version,
                    [C::Id, C::Version, C::UpdatedAt],
                )
                .await?;
                let id = current.id;
                touched.push((item, current.project_id));
                replaced.insert(id, current);
                updated.push(id);
                results.push(SyncResult {
                    external_id: item.external_id.clone(),
                    id,
                    result: Outcome::Updated,
                });
                continue;
            }
            SyncStep::Same(id) => (id, Outcome::Unchanged),
        };
        if outcome == Outcome::Created {
            touched.push((item, None));
        }
        results.push(SyncResult {
            external_id: item.external_id.clone(),
            id,
            result: outcome,
        });
    }
    // The new rows are stored as they are: they need not be read back.
    super::bulk::insert::<fund_transaction::Entity>(
        &tx,
        inserts
            .iter()
            .cloned()
            .map(IntoActiveModel::into_active_model),
    )
    .await?;
    let mut rows = inserts;

    // The money rules, on the totals as the batch leaves them. Only what arrives, is spent or
    // is refunded (the western side's kinds) moves what is available: a batch of pledges and
    // transfers sums nothing.
    touched.retain(|(item, _)| item.kind.recorded_by() == Region::West);
    let on_pairings =
        totals_by_pairing(&tx, &unique(touched.iter().map(|(i, _)| i.pairing_id))).await?;
    let on_projects = totals_by_project(
        &tx,
        &unique(
            touched
                .iter()
                .flat_map(|(i, old)| [i.project_id, *old])
                .flatten(),
        ),
    )
    .await?;
    let mut errors = ItemErrors::default();
    for (item, old_project) in &touched {
        if let Some(t) = on_pairings
            .get(&item.pairing_id)
            .filter(|t| t.available_fen() < 0)
        {
            errors.push(
                item.index,
                &item.external_id,
                "amount_fen",
                format!(
                    "the pairing would spend or refund more than arrived on it ({} fen \
                     arrived, {} fen spent, {} fen refunded)",
                    t.arrived_fen, t.spent_fen, t.refunded_fen
                ),
            );
        }
        for project_id in unique([item.project_id, *old_project].into_iter().flatten()) {
            if let Some(t) = on_projects
                .get(&project_id)
                .filter(|t| t.available_fen() < 0)
            {
                errors.push(
                    item.index,
                    &item.external_id,
                    "amount_fen",
                    format!(
                        "the project would spend or refund more than arrived for it ({} fen \
                         arrived, {} fen spent, {} fen refunded)",
                        t.arrived_fen, t.spent_fen, t.refunded_fen
                    ),
                );
            }
        }
    }
    errors.finish()?;

    // The changed rows are read again (their version and instant are the database's).
    rows.extend(sync::rows::<FundTransactions>(&tx, &updated).await?);
    sync::close::<FundTransactions>(tx, actor, rows, &replaced).await?;
    Ok(sync::SyncResponse { results })
}

enum SyncStep {
    Create(fund_transaction::Model),
    Update(fund_transaction::Model),
    Same(Uuid),
}

/// The distinct values, in first-seen order.
fn unique<T: Copy + Eq + std::hash::Hash>(values: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    values.into_iter().filter(|v| seen.insert(*v)).collect()
}
