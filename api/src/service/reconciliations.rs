//! Reconciliations (对账, DESIGN §2, §7): the records two sides kept of the same money and the
//! same visits, compared line by line, stored as a report each side can answer.
//!
//! **Horizontal** (横向): one pairing and period. The eastern side's transfers are compared with
//! the western side's arrivals, and the exchanges the eastern side recorded with those the
//! western side recorded.
//!
//! - **Vouchers first.** A transfer and an arrival with the same voucher number are a pair:
//!   `matched` when their amounts are equal, `amount_mismatch` when not. When one voucher number
//!   appears on several records of a side, they pair up in date order.
//! - **Then amount and date.** What is left pairs by equal amount within `window_days` days
//!   (default 15, `XIEZUO_RECONCILE_WINDOW_DAYS`). Where several records could pair, the pairs with
//!   the closest dates go first, and at equal distance an arrival after its transfer before one
//!   before it; the result is the greedy matching in that order, found in rounds of set-based
//!   statements (each round pairs every record with the candidate that also chose it).
//! - **Exchanges** pair when kind and direction are the same and their dates overlap, the closest
//!   start dates first.
//! - What pairs with nothing is `east_only` or `west_only`.
//!
//! The whole comparison runs in the database (set-based statements), so a million records a
//! side never pass through the service's memory. The voucher pairs that agree, most lines of a
//! real pairing, are stored apart from the others in `reconciliation_pairs` (on PostgreSQL a
//! partition per report, written by `CREATE TABLE … AS` and attached): narrow rows, written
//! once, numbered as one stretch of the report's lines. Reads merge them with the stored lines;
//! a pair a side answers is stored as a line, which then takes its place. Records are compared within
//! the period: a transfer on 28 December that arrived on 5 January is `east_only` in the fourth
//! quarter and `west_only` in the next year's first (money in transit, explained on its line).
//!
//! **One moment.** A run reads the ledgers in several statements, and they all read them as they
//! were when it began: a record committed meanwhile is in none of its lines and none of its
//! totals (on PostgreSQL the run's transaction is `REPEATABLE READ`).
//!
//! **Answering a line.** The side that owns a line's record (by the same write rule as the
//! record itself) explains it, marks it resolved, or reopens it; each step is kept in the line's
//! history, and the line shows the latest. A vertical line that compares a statement is also read
//! and answered by whoever reads the statement ([`statement_lines`]): the municipal department
//! that declared a figure answers the line about it without reading the rest of its
//! prefecture's report.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{reconciliation, reconciliation_line, reconciliation_line_event};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, Value,
    sea_query::{Expr, OnConflict},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page, WriteTx, audit,
    kernel::{self, Columns, Readable, Record},
    ledgers, now,
    records::{self, PageArgs, long_text},
    statements::StatementIndicator,
};
use crate::{
    authz::{self, Actor, Owner, RecordKind},
    domain::{Fen, Fields, checked},
    error::{AppError, Result},
};

crate::domain::names!(
    /// What a reconciliation compares: `horizontal` is the eastern side's records of a pairing
    /// against the western side's; `vertical` is a prefecture's own figures against the sum of
    /// its counties' and against the statements of its departments.
    ReconciliationKind {
        Horizontal => "horizontal",
        Vertical => "vertical",
    }
);

crate::domain::names!(
    /// How a line's records compare.
    LineStatus {
        /// Both sides recorded it, and the amounts agree.
        Matched => "matched",
        /// Both sides recorded it under one voucher number, with different amounts.
        AmountMismatch => "amount_mismatch",
        /// Only the eastern side recorded it.
        EastOnly => "east_only",
        /// Only the western side recorded it.
        WestOnly => "west_only",
        /// Vertical: the two figures differ.
        Mismatch => "mismatch",
    }
);

crate::domain::names!(
    /// How a line's pair was found.
    MatchRule {
        /// The same voucher number.
        Voucher => "voucher",
        /// The same amount, within the date window.
        AmountDate => "amount_date",
        /// Exchanges of the same kind and direction whose dates overlap.
        Dates => "dates",
    }
);

crate::domain::names!(
    /// The record type a line compares.
    LineRecordType {
        FundTransaction => "fund_transaction",
        Exchange => "exchange",
        /// Vertical: the prefecture's figure against the sum of its counties'.
        Counties => "counties",
        /// Vertical: the prefecture's figure against a statement.
        Statement => "statement",
    }
);

crate::domain::names!(
    /// Where a line's answer stands.
    Resolution {
        Open => "open",
        Explained => "explained",
        Resolved => "resolved",
    }
);

crate::domain::names!(
    /// A step a side takes on a line.
    LineAction {
        /// Says why the line is as it is (a note is required); the line is `explained`.
        Explain => "explain",
        /// Marks the line `resolved`.
        Resolve => "resolve",
        /// Opens a resolved or explained line again.
        Reopen => "reopen",
    }
);

pub const NOTE_MAX: usize = 2000;
pub const WINDOW_DAYS_MAX: i32 = 366;

/// One side's records in a reconciliation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "ReconciliationSide")]
pub struct SideTotals {
    /// Transfers (east) or arrivals (west) compared.
    pub fund_transactions: i64,
    /// Their sum.
    pub amount_fen: Fen,
    /// Exchanges compared.
    pub exchanges: i64,
}

/// The lines of one record type and status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "ReconciliationStatusTotals")]
pub struct StatusTotals {
    pub record_type: LineRecordType,
    pub status: LineStatus,
    pub lines: i64,
    /// The eastern side's amounts on these lines (fund transactions; 0 for exchanges).
    pub east_amount_fen: Fen,
    pub west_amount_fen: Fen,
}

/// What a reconciliation found, per side and per status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "ReconciliationTotals")]
pub struct Totals {
    pub east: SideTotals,
    pub west: SideTotals,
    /// East's amount less west's: money transferred and not (yet) recorded as arrived.
    pub difference_fen: Fen,
    /// Every record type and status that has lines, in that order.
    pub by_status: Vec<StatusTotals>,
}

/// A stored reconciliation report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "Reconciliation", complex)]
pub struct ReconciliationView {
    pub id: Uuid,
    pub kind: ReconciliationKind,
    /// The pairing of a horizontal report.
    pub pairing_id: Option<Uuid>,
    /// The prefecture of a vertical report.
    pub org_id: Option<Uuid>,
    pub year: i32,
    /// 1–4; null for the whole year.
    pub quarter: Option<i32>,
    /// How many days apart a transfer and an arrival of equal amount may be and still match.
    pub window_days: i32,
    pub totals: Totals,
    pub line_count: i64,
    /// The user or service account that ran it.
    pub created_by: Uuid,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One line of a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "ReconciliationLine")]
pub struct LineView {
    pub reconciliation_id: Uuid,
    /// 1, 2, … within the report. Horizontal: the money lines, then the exchanges; of each,
    /// the discrepancies first (amount mismatches, east only, west only) by date, then the
    /// pairs found by amount and date (or by dates) by date, then the money pairs found by
    /// voucher number whose amounts agree.
    pub line_no: i64,
    pub record_type: LineRecordType,
    pub status: LineStatus,
    /// How the pair was found; null on a one-sided line.
    pub rule: Option<MatchRule>,
    pub voucher_no: Option<String>,
    pub east_record_id: Option<Uuid>,
    pub west_record_id: Option<Uuid>,
    pub east_amount_fen: Option<Fen>,
    pub west_amount_fen: Option<Fen>,
    /// The date of the eastern record (a transfer's, an exchange's start).
    pub east_on: Option<NaiveDate>,
    pub west_on: Option<NaiveDate>,
    pub resolution: Resolution,
    /// The latest explanation or note.
    pub note: Option<String>,
    pub annotated_at: Option<DateTime<Utc>>,
    pub annotated_by: Option<Uuid>,
    /// +1 per step; `If-Match` / `expected_version` of the next step.
    pub version: i32,
    /// Vertical: the indicator compared (null on horizontal lines).
    pub indicator: Option<StatementIndicator>,
    /// Vertical: the organization whose figure is compared with the prefecture's — the one
    /// that declared the statement; null for the sum of the counties.
    pub org_id: Option<Uuid>,
    /// Vertical: the statement compared.
    pub statement_id: Option<Uuid>,
    /// Vertical: the prefecture's own figure (fen, or a count for `exchanges`).
    pub prefecture_value: Option<Fen>,
    /// Vertical: the figure compared with it (the counties' sum, or the statement's value).
    pub compared_value: Option<Fen>,
}

/// One step in a line's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "ReconciliationLineEvent")]
pub struct LineEventView {
    pub id: Uuid,
    pub line_no: i64,
    pub action: LineAction,
    pub note: Option<String>,
    pub actor_id: Uuid,
    pub actor_org_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// What to reconcile.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewReconciliationInput")]
pub struct NewReconciliation {
    pub kind: ReconciliationKind,
    /// The pairing (horizontal).
    #[serde(default)]
    pub pairing_id: Option<Uuid>,
    /// The prefecture (vertical).
    #[serde(default)]
    pub org_id: Option<Uuid>,
    pub year: i32,
    /// 1–4; absent or null for the whole year.
    #[serde(default)]
    pub quarter: Option<i32>,
    /// 0–366; default `XIEZUO_RECONCILE_WINDOW_DAYS` (15).
    #[serde(default)]
    pub window_days: Option<i32>,
}

/// A step on a line.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "ReconciliationLineStepInput")]
pub struct LineStep {
    pub action: LineAction,
    /// Required to explain; optional otherwise.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "ReconciliationFilter")]
pub struct ReconciliationQuery {
    pub pairing_id: Option<Uuid>,
    /// The prefecture of vertical reports.
    pub org_id: Option<Uuid>,
    pub year: Option<i32>,
    pub quarter: Option<i32>,
    /// Page size, 1–500 (default 50).
    #[graphql(skip)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[graphql(skip)]
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "ReconciliationLineFilter")]
pub struct LineQuery {
    pub status: Option<LineStatus>,
    pub record_type: Option<LineRecordType>,
    pub resolution: Option<Resolution>,
    /// `json` (default: one page), `csv` or `xlsx` (every line the filters keep, whatever
    /// `limit` and `cursor` say; XLSX with a summary sheet).
    #[graphql(skip)]
    #[param(inline)]
    pub format: Option<super::spreadsheet::ListFormat>,
    /// Page size, 1–500 (default 50).
    #[graphql(skip)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[graphql(skip)]
    pub cursor: Option<String>,
}

impl LineQuery {
    pub fn filter(&self) -> LineFilter {
        LineFilter {
            status: self.status,
            record_type: self.record_type,
            resolution: self.resolution,
        }
    }
}

/// A page of the lines that compare one statement.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatementLineQuery {
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Which lines of a report to read.
#[derive(Clone, Copy, Debug, Default)]
pub struct LineFilter {
    pub status: Option<LineStatus>,
    pub record_type: Option<LineRecordType>,
    pub resolution: Option<Resolution>,
}

pub struct Reconciliations;

impl Record for Reconciliations {
    type Entity = reconciliation::Entity;
    type Row = reconciliation::Model;
    type View = ReconciliationView;
    const KIND: RecordKind = RecordKind::Reconciliation;

    fn columns() -> Columns<reconciliation::Column> {
        use reconciliation::Column as C;
        kernel::record_columns!(C, Readable::Record(Some(C::PairingId)))
    }

    fn model(row: &reconciliation::Model) -> &reconciliation::Model {
        row
    }

    fn view(_: &Actor, m: reconciliation::Model) -> Result<ReconciliationView> {
        let totals = serde_json::from_str(&m.totals)
            .map_err(|e| AppError::internal(format!("stored totals of {}: {e}", m.id)))?;
        Ok(ReconciliationView {
            id: m.id,
            kind: ReconciliationKind::from_db(&m.kind)?,
            pairing_id: m.pairing_id,
            org_id: m.org_id,
            year: m.year,
            quarter: m.quarter,
            window_days: m.window_days,
            totals,
            line_count: m.line_count,
            created_by: m.created_by,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

fn line_view(m: reconciliation_line::Model) -> Result<LineView> {
    Ok(LineView {
        reconciliation_id: m.reconciliation_id,
        line_no: m.line_no,
        record_type: LineRecordType::from_db(&m.record_type)?,
        status: LineStatus::from_db(&m.status)?,
        rule: m.rule.as_deref().map(MatchRule::from_db).transpose()?,
        voucher_no: m.voucher_no,
        east_record_id: m.east_record_id,
        west_record_id: m.west_record_id,
        east_amount_fen: m.east_amount_fen.map(Fen),
        west_amount_fen: m.west_amount_fen.map(Fen),
        east_on: m.east_on,
        west_on: m.west_on,
        resolution: Resolution::from_db(&m.resolution)?,
        note: m.note,
        annotated_at: m.annotated_at,
        annotated_by: m.annotated_by,
        version: m.version,
        indicator: m
            .indicator
            .as_deref()
            .map(StatementIndicator::from_db)
            .transpose()?,
        org_id: m.org_id,
        statement_id: m.statement_id,
        prefecture_value: m.prefecture_value.map(Fen),
        compared_value: m.compared_value.map(Fen),
    })
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> Result<ReconciliationView> {
    kernel::get::<Reconciliations>(ctx, actor, id).await
}

pub async fn list(
    ctx: &AppCtx,
    actor: &Actor,
    q: ReconciliationQuery,
) -> Result<Page<ReconciliationView>> {
    use reconciliation::Column as C;
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    if q.quarter.is_some_and(|n| !(1..=4).contains(&n)) {
        f.push("quarter", "must be 1, 2, 3 or 4");
    }
    f.finish()?;
    let args = checked(args)?;
    let mut select =
        kernel::visible::<Reconciliations>(ctx.db.get_database_backend(), actor.scope());
    if let Some(pairing) = q.pairing_id {
        select = select.filter(C::PairingId.eq(pairing));
    }
    if let Some(org) = q.org_id {
        select = select.filter(C::OrgId.eq(org));
    }
    if let Some(year) = q.year {
        select = select.filter(C::Year.eq(year));
    }
    if let Some(quarter) = q.quarter {
        select = select.filter(C::Quarter.eq(quarter));
    }
    kernel::page::<Reconciliations>(ctx, actor, select, args).await
}

/// What a line's cursor holds: its number, in the 16 bytes every cursor has (cursors are
/// opaque).
pub fn line_key(line_no: i64) -> Uuid {
    Uuid::from_u64_pair(0, line_no.unsigned_abs())
}

/// One page of a report's lines in line order, after the caller's cursor.
pub async fn lines(ctx: &AppCtx, actor: &Actor, id: Uuid, q: LineQuery) -> Result<Page<LineView>> {
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.finish()?;
    let args = checked(args)?;
    kernel::find::<Reconciliations>(&ctx.db, actor.scope(), id).await?;
    let after = args
        .cursor
        .map(|c| i64::try_from(c.id().as_u64_pair().1).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let limit = args.limit.get();
    let rows = line_rows(&ctx.db, id, &q.filter(), after, limit + 1).await?;
    Ok(Page::from_rows(rows, limit, |l| line_key(l.line_no)))
}

/// Up to `limit` lines of report `id` after line `after`, in line order: for a caller already
/// known to read the report. The stored lines and the voucher-agreed pairs
/// ([`pair_rows`]) are read apart and merged.
pub async fn line_rows(
    db: &impl ConnectionTrait,
    id: Uuid,
    filter: &LineFilter,
    after: i64,
    limit: u64,
) -> Result<Vec<LineView>> {
    use reconciliation_line::Column as C;
    let mut select = reconciliation_line::Entity::find()
        .filter(C::ReconciliationId.eq(id))
        .filter(C::LineNo.gt(after));
    if let Some(status) = filter.status {
        select = select.filter(C::Status.eq(status.as_str()));
    }
    if let Some(t) = filter.record_type {
        select = select.filter(C::RecordType.eq(t.as_str()));
    }
    if let Some(r) = filter.resolution {
        select = select.filter(C::Resolution.eq(r.as_str()));
    }
    let mut lines = select.order_by_asc(C::LineNo).limit(limit).all(db).await?;
    // The first `limit` of either kind hold the page's: merged, in line order.
    lines.extend(pair_rows(db, id, filter, after, limit).await?);
    lines.sort_unstable_by_key(|l| l.line_no);
    lines.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    lines.into_iter().map(line_view).collect()
}

/// A pair of `reconciliation_pairs`.
#[derive(FromQueryResult)]
struct PairRow {
    k: i64,
    voucher_no: Option<String>,
    east_id: Option<Uuid>,
    west_id: Option<Uuid>,
    east_owner: Option<Uuid>,
    west_owner: Option<Uuid>,
    east_amount: Option<i64>,
    east_on: Option<NaiveDate>,
    west_on: Option<NaiveDate>,
}

impl PairRow {
    /// The line the pair is, before any side answered it.
    fn line(self, id: Uuid, pairs_after: i64) -> reconciliation_line::Model {
        reconciliation_line::Model {
            reconciliation_id: id,
            line_no: pairs_after + self.k,
            record_type: LineRecordType::FundTransaction.as_str().into(),
            status: LineStatus::Matched.as_str().into(),
            rule: Some(MatchRule::Voucher.as_str().into()),
            voucher_no: self.voucher_no,
            east_record_id: self.east_id,
            west_record_id: self.west_id,
            east_owner_org_id: self.east_owner,
            west_owner_org_id: self.west_owner,
            east_amount_fen: self.east_amount,
            west_amount_fen: self.east_amount,
            east_on: self.east_on,
            west_on: self.west_on,
            resolution: Resolution::Open.as_str().into(),
            note: None,
            annotated_at: None,
            annotated_by: None,
            version: 1,
            indicator: None,
            org_id: None,
            statement_id: None,
            prefecture_value: None,
            compared_value: None,
        }
    }
}

/// The table that holds report `id`'s pairs. On PostgreSQL that is the report's own partition,
/// named, not the partitioned parent: a statement on the parent makes the planner open every
/// partition's metadata, so with 3,000 reports a backend grew from 1.4 MB to 38 MB and a page
/// read took 231 ms, against 0.1 ms by name (psql, `EXPLAIN ANALYZE`).
fn pairs_table(backend: DbBackend, id: Uuid) -> String {
    match backend {
        DbBackend::Postgres => format!("reconciliation_pairs_{}", id.simple()),
        _ => "reconciliation_pairs".to_owned(),
    }
}

/// The columns of report `id`'s pairs `p`, and their records' owners, which a pair does not
/// store.
fn pair_columns(backend: DbBackend, id: Uuid) -> String {
    format!(
        "p.k, p.voucher_no, p.east_id, p.west_id, fe.owner_org_id AS east_owner, \
         fw.owner_org_id AS west_owner, p.east_amount, p.east_on, p.west_on FROM {} p \
         LEFT JOIN fund_transactions fe ON fe.id = p.east_id \
         LEFT JOIN fund_transactions fw ON fw.id = p.west_id",
        pairs_table(backend, id)
    )
}

/// The `n`th bind parameter of `backend`.
fn param(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}

/// Up to `limit` voucher-agreed pairs of report `id` that are lines after `after` and pass
/// `filter`, in line order; not those a side answered, which are stored lines. Pairs are
/// numbered without gaps, so the read asks for one bounded stretch of `k` (which the BRIN index
/// of a PostgreSQL partition serves), widened by the answered pairs in it.
async fn pair_rows(
    db: &impl ConnectionTrait,
    id: Uuid,
    filter: &LineFilter,
    after: i64,
    limit: u64,
) -> Result<Vec<reconciliation_line::Model>> {
    use reconciliation_line::Column as C;
    let shown = filter.status.is_none_or(|s| s == LineStatus::Matched)
        && filter
            .record_type
            .is_none_or(|t| t == LineRecordType::FundTransaction)
        && filter.resolution.is_none_or(|r| r == Resolution::Open);
    if !shown {
        return Ok(Vec::new());
    }
    let (pairs_after, pair_count) = pair_stretch(db, id).await?;
    let from = after.saturating_sub(pairs_after).max(0);
    if from >= pair_count {
        return Ok(Vec::new());
    }
    // The answered pairs after `after`: the stored money lines after the pairs' first number
    // (the other money lines come before the pairs, the exchanges after them).
    let answered = reconciliation_line::Entity::find()
        .filter(C::ReconciliationId.eq(id))
        .filter(C::LineNo.gt(after.max(pairs_after)))
        .filter(C::RecordType.eq(LineRecordType::FundTransaction.as_str()))
        .count(db)
        .await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let to = from
        .saturating_add(limit)
        .saturating_add(i64::try_from(answered).unwrap_or(i64::MAX))
        .min(pair_count);
    let backend = db.get_database_backend();
    let p = |n| param(backend, n);
    let sql = format!(
        "SELECT {} WHERE p.reconciliation_id = {} \
         AND p.k > {} AND p.k <= {} AND NOT EXISTS (SELECT 1 FROM reconciliation_lines l \
         WHERE l.reconciliation_id = {} AND l.line_no = {} + p.k) ORDER BY p.k LIMIT {}",
        pair_columns(backend, id),
        p(1),
        p(2),
        p(3),
        p(1),
        p(4),
        p(5)
    );
    let values = vec![
        id.into(),
        from.into(),
        to.into(),
        pairs_after.into(),
        limit.into(),
    ];
    Ok(
        PairRow::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(db)
            .await?
            .into_iter()
            .map(|r| r.line(id, pairs_after))
            .collect(),
    )
}

/// Where report `id`'s pairs are among its lines: after which line, and how many.
async fn pair_stretch(db: &impl ConnectionTrait, id: Uuid) -> Result<(i64, i64)> {
    use reconciliation::Column as C;
    reconciliation::Entity::find_by_id(id)
        .select_only()
        .column(C::PairsAfter)
        .column(C::PairCount)
        .into_tuple::<(i64, i64)>()
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Line `line_no` of report `report` if it is one of its pairs that no side answered yet.
async fn pair_line(
    db: &impl ConnectionTrait,
    report: &reconciliation::Model,
    line_no: i64,
) -> Result<Option<reconciliation_line::Model>> {
    let k = line_no.saturating_sub(report.pairs_after);
    if !(1..=report.pair_count).contains(&k) {
        // Not a pair; and a report without pairs may have no partition to ask.
        return Ok(None);
    }
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT {} WHERE p.reconciliation_id = {} AND p.k = {}",
        pair_columns(backend, report.id),
        param(backend, 1),
        param(backend, 2)
    );
    Ok(PairRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        vec![report.id.into(), k.into()],
    ))
    .one(db)
    .await?
    .map(|r| r.line(report.id, report.pairs_after)))
}

/// A line, and whether it is a row of `reconciliation_lines` (or a pair no side answered yet).
struct FoundLine {
    row: reconciliation_line::Model,
    stored: bool,
}

/// Line `line_no` of report `id`, for a caller who reads the report or, for a line comparing a
/// statement, the statement: the organization that declared a figure reads and answers the line
/// about it without reading the rest of its prefecture's report.
async fn readable_line(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    line_no: i64,
) -> Result<FoundLine> {
    let report = match kernel::find::<Reconciliations>(db, actor.scope(), id).await {
        Ok(report) => Some(report),
        Err(AppError::NotFound) => None,
        Err(e) => return Err(e),
    };
    let stored = reconciliation_line::Entity::find_by_id((id, line_no))
        .one(db)
        .await?;
    let Some(row) = stored else {
        let Some(report) = report else {
            return Err(AppError::NotFound);
        };
        let row = pair_line(db, &report, line_no)
            .await?
            .ok_or(AppError::NotFound)?;
        return Ok(FoundLine { row, stored: false });
    };
    let found = FoundLine { row, stored: true };
    if report.is_some() {
        return Ok(found);
    }
    let Some(statement) = found.row.statement_id else {
        return Err(AppError::NotFound);
    };
    let live = reconciliation::Entity::find_by_id(id)
        .filter(reconciliation::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .is_some();
    if !live {
        return Err(AppError::NotFound);
    }
    kernel::find::<super::statements::Statements>(db, actor.scope(), statement).await?;
    Ok(found)
}

/// One line of a report the caller may read (or of a statement it reads: see
/// [`readable_line`]).
pub async fn line(ctx: &AppCtx, actor: &Actor, id: Uuid, line_no: i64) -> Result<LineView> {
    line_view(readable_line(&ctx.db, actor, id, line_no).await?.row)
}

/// The lines that compare statement `statement` with its prefecture's own figure, one per
/// vertical report that compared it, in the order the reports were made: for a caller who
/// reads the statement.
pub async fn statement_lines(
    ctx: &AppCtx,
    actor: &Actor,
    statement: Uuid,
    q: StatementLineQuery,
) -> Result<Page<LineView>> {
    use reconciliation_line::Column as C;
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.finish()?;
    let args = checked(args)?;
    kernel::find::<super::statements::Statements>(&ctx.db, actor.scope(), statement).await?;
    let live_reports = sea_orm::sea_query::Query::select()
        .column(reconciliation::Column::Id)
        .from(reconciliation::Entity)
        .and_where(reconciliation::Column::DeletedAt.is_null())
        .to_owned();
    let select = reconciliation_line::Entity::find()
        .filter(C::StatementId.eq(statement))
        .filter(C::ReconciliationId.in_subquery(live_reports));
    let limit = args.limit.get();
    let rows = records::fetch_page(&ctx.db, select, C::ReconciliationId, args)
        .await?
        .into_iter()
        .map(line_view)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(rows, limit, |l| l.reconciliation_id))
}

/// A line's history, oldest first.
pub async fn line_history(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    line_no: i64,
) -> Result<Vec<LineEventView>> {
    use reconciliation_line_event::Column as C;
    readable_line(&ctx.db, actor, id, line_no).await?;
    reconciliation_line_event::Entity::find()
        .filter(C::ReconciliationId.eq(id))
        .filter(C::LineNo.eq(line_no))
        .order_by_asc(C::At)
        .order_by_asc(C::Id)
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|e| {
            Ok(LineEventView {
                id: e.id,
                line_no: e.line_no,
                action: LineAction::from_db(&e.action)?,
                note: e.note,
                actor_id: e.actor_id,
                actor_org_id: e.actor_org_id,
                at: e.at,
            })
        })
        .collect()
}

/// Runs a reconciliation and stores its report, in one transaction.
pub async fn create(
    ctx: &AppCtx,
    actor: &Actor,
    input: NewReconciliation,
) -> Result<ReconciliationView> {
    if input.kind == ReconciliationKind::Vertical {
        return super::vertical::create(ctx, actor, input).await;
    }
    // Every statement of the run reads the ledgers as they were when it began.
    let (dir, tx) = kernel::begin_snapshot(ctx).await?;
    if input.org_id.is_some() {
        return Err(AppError::field(
            "org_id",
            "is for a vertical reconciliation: a horizontal one names pairing_id",
        ));
    }
    if input.pairing_id.is_none() {
        return Err(AppError::field(
            "pairing_id",
            "is required: a horizontal reconciliation compares one pairing",
        ));
    }
    let pairing = input
        .pairing_id
        .and_then(|id| dir.live_pairing(id))
        .filter(|p| actor.scope().can_read_pairing(p.id))
        .cloned();
    if !authz::can_reconcile(actor, pairing.as_ref().map(|p| p.id)) {
        return Err(AppError::Forbidden);
    }
    let mut f = Fields::new();
    if pairing.is_none() {
        f.push("pairing_id", "no such pairing");
    }
    let period = ledgers::period(input.year, input.quarter);
    if let Err(AppError::Validation(errors)) = &period {
        for e in errors {
            f.push(&e.field, e.message.clone());
        }
    }
    let window = input
        .window_days
        .unwrap_or(ctx.config.reconcile_window_days);
    if !(0..=WINDOW_DAYS_MAX).contains(&window) {
        f.push(
            "window_days",
            format!("must be between 0 and {WINDOW_DAYS_MAX}"),
        );
    }
    f.finish()?;
    let (Some(pairing), Ok((start, end))) = (pairing, period) else {
        return Err(AppError::internal("checked above"));
    };

    let id = Uuid::now_v7();
    let work = Work::open(&tx, id).await?;
    let agreed = work.fund_transactions(pairing.id, start, end).await?;
    work.exchanges(pairing.id, start, end).await?;
    work.pair_rounds(window).await?;
    let (line_count, pairs_after) = work.store(agreed.pairs).await?;
    let totals = work.totals(agreed).await?;
    work.close().await?;

    let (totals, _) = super::canonical_json(&totals)?;
    let stamp = now();
    let row = reconciliation::ActiveModel {
        id: Set(id),
        kind: Set(input.kind.as_str().into()),
        pairing_id: Set(Some(pairing.id)),
        org_id: Set(None),
        year: Set(input.year),
        quarter: Set(input.quarter),
        window_days: Set(window),
        totals: Set(totals),
        line_count: Set(line_count),
        pairs_after: Set(pairs_after),
        pair_count: Set(agreed.pairs),
        created_by: Set(actor.id),
        version: Set(1),
        // The report is the pairing's, kept with the western side's ledger.
        owner_org_id: Set(pairing.west_org_id),
        created_at: Set(stamp),
        updated_at: Set(stamp),
        deleted_at: Set(None),
    };
    let inserted = reconciliation::Entity::insert(row)
        .exec_with_returning(&tx)
        .await?;
    kernel::created::<Reconciliations>(tx, actor, inserted).await
}

/// A side takes a step on a line: explains it, resolves it, or reopens it.
pub async fn step(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    line_no: i64,
    expected_version: Option<i32>,
    input: LineStep,
) -> Result<LineView> {
    use reconciliation_line::Column as C;
    let (dir, tx) = kernel::begin(ctx).await?;
    let FoundLine {
        row: current,
        stored,
    } = readable_line(&tx, actor, id, line_no).await?;
    let kind = match LineRecordType::from_db(&current.record_type)? {
        LineRecordType::FundTransaction => RecordKind::FundTransaction,
        LineRecordType::Exchange => RecordKind::Exchange,
        LineRecordType::Counties | LineRecordType::Statement => RecordKind::Statement,
    };
    let mut owns = false;
    for org in [current.east_owner_org_id, current.west_owner_org_id]
        .into_iter()
        .flatten()
    {
        let owner: Owner = kernel::owner(&dir, &tx, org).await?;
        owns |= authz::can_write(actor, actor.scope(), kind, owner);
    }
    if !owns {
        return Err(AppError::Forbidden);
    }
    super::check_version(expected_version, current.version)?;

    let mut f = Fields::new();
    let note = f.check_opt("note", input.note.as_deref(), |n| long_text(n, NOTE_MAX));
    if input.action == LineAction::Explain && input.note.is_none() {
        f.push(
            "note",
            "is required to explain a line: say why it is as it is",
        );
    }
    f.finish()?;
    let note = checked(note)?;
    let from = Resolution::from_db(&current.resolution)?;
    let to = match (input.action, from) {
        (LineAction::Explain, Resolution::Resolved) => {
            return Err(AppError::InvalidTransition {
                detail: "this line is resolved: reopen it to explain it again".into(),
            });
        }
        (LineAction::Explain, _) => Resolution::Explained,
        (LineAction::Resolve, Resolution::Resolved) => {
            return Err(AppError::InvalidTransition {
                detail: "this line is already resolved".into(),
            });
        }
        (LineAction::Resolve, _) => Resolution::Resolved,
        (LineAction::Reopen, Resolution::Open) => {
            return Err(AppError::InvalidTransition {
                detail: "this line is open".into(),
            });
        }
        (LineAction::Reopen, _) => Resolution::Open,
    };
    let at = now();
    let before = line_view(current.clone())?;
    if !stored {
        // A pair's first answer stores it as a line, which from then on takes its place. Two
        // sides answering at once both try; the second finds the row and loses on its version.
        reconciliation_line::Entity::insert(
            reconciliation_line::ActiveModel::from(current.clone()).reset_all(),
        )
        .on_conflict(
            OnConflict::columns([C::ReconciliationId, C::LineNo])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&tx)
        .await?;
    }
    let result = reconciliation_line::Entity::update_many()
        .col_expr(C::Resolution, Expr::value(to.as_str()))
        .col_expr(
            C::Note,
            Expr::value(note.clone().or_else(|| current.note.clone())),
        )
        .col_expr(C::AnnotatedAt, Expr::value(Some(at)))
        .col_expr(C::AnnotatedBy, Expr::value(Some(actor.id)))
        .col_expr(C::Version, Expr::value(current.version + 1))
        .filter(C::ReconciliationId.eq(id))
        .filter(C::LineNo.eq(line_no))
        .filter(C::Version.eq(current.version))
        .exec(&tx)
        .await?;
    if result.rows_affected != 1 {
        return Err(AppError::PreconditionFailed {
            current_version: current.version + 1,
        });
    }
    reconciliation_line_event::Entity::insert(reconciliation_line_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        reconciliation_id: Set(id),
        line_no: Set(line_no),
        action: Set(input.action.as_str().into()),
        note: Set(note),
        actor_id: Set(actor.id),
        actor_org_id: Set(actor.org_id),
        at: Set(at),
    })
    .exec_without_returning(&tx)
    .await?;
    let after = reconciliation_line::Entity::find_by_id((id, line_no))
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound)?;
    let after = line_view(after)?;
    audit::record(
        &tx,
        actor,
        audit::Action::Update,
        RecordKind::Reconciliation,
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// The working tables of one run, created in the run's transaction and dropped with it:
/// `recon_left` holds every line but the voucher pairs that agree, the rounds of
/// [`Work::pair_rounds`] pairing its one-sided ones; `recon_pairs` a round's pairs.
///
/// The voucher pairs that agree (most lines of a real pairing) go to `reconciliation_pairs`,
/// numbered `k` = 1, 2, … as they formed. On PostgreSQL the voucher join is written whole, as
/// it comes, into a new table by `CREATE TABLE … AS` (the bulk path): its agreeing rows are
/// numbered, the others copied to `recon_left`, and the table becomes the report's partition.
/// SQLite collects the pairs in the temporary `recon_work` and inserts them.
struct Work<'a> {
    tx: &'a WriteTx,
    backend: DbBackend,
    /// The report being made.
    id: Uuid,
}

/// The order of the lines of `recon_left`: money before exchanges, discrepancies first, then
/// by date (and the order the lines formed in). Integers and dates only: sorting a million lines
/// by text under the database's collation would cost more than the rest of the run.
const LINE_ORDER: &str = "CASE record_type WHEN 'fund_transaction' THEN 0 ELSE 1 END, \
     CASE status WHEN 'amount_mismatch' THEN 0 WHEN 'east_only' THEN 1 \
     WHEN 'west_only' THEN 2 ELSE 3 END, COALESCE(east_on, west_on), k";

const WORK_COLUMNS: &str = "record_type, status, rule, voucher_no, match_key, east_id, west_id, \
     east_owner, west_owner, east_amount, west_amount, east_on, west_on, east_end, west_end";

/// A row of the voucher join whose amounts agree.
const AGREE: &str = "east_id IS NOT NULL AND west_id IS NOT NULL AND east_amount = west_amount";

/// What the voucher pass counted: the records of each side, the rows of the join that hold one,
/// and the pairs that agree.
struct PassCounts {
    east: i64,
    west: i64,
    joined_east: i64,
    joined_west: i64,
    agreed: Agreed,
}

/// The voucher pairs that agree: how many, and their amount (the same on both sides).
#[derive(Clone, Copy)]
struct Agreed {
    pairs: i64,
    fen: i64,
}

impl PassCounts {
    /// A voucher number repeated on one side and present on the other makes the join repeat
    /// the other side's record: the plain join then is not the pairing, the ranked one is.
    fn repeated(&self) -> bool {
        self.east != self.joined_east || self.west != self.joined_west
    }
}

impl<'a> Work<'a> {
    async fn open(tx: &'a WriteTx, id: Uuid) -> Result<Self> {
        let backend = tx.get_database_backend();
        let work = Self { tx, backend, id };
        let (key, id, tail) = match backend {
            DbBackend::Postgres => (
                "k BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                "uuid",
                " ON COMMIT DROP",
            ),
            _ => ("k INTEGER PRIMARY KEY", "BLOB", ""),
        };
        if backend != DbBackend::Postgres {
            // SQLite's temporary tables last as long as the connection: `close` drops them (a
            // run that fails rolls their creation back).
            work.run(
                "CREATE TEMPORARY TABLE recon_work (k INTEGER PRIMARY KEY, voucher_no TEXT, \
                 east_id BLOB, west_id BLOB, amount BIGINT, east_on DATE, west_on DATE)",
                vec![],
            )
            .await?;
        } else {
            // A run hashes a million rows a side, by hash rather than by sorting both sides for
            // a merge join (which the planner picks for tables it has no statistics of, at
            // several times the cost), within the server's `work_mem`: a hash table of a whole
            // side in memory was slower than one built in batches (measured: 2.5 s against
            // 2.3 s for the voucher pass at 1,000,000 a side). Its statements run once, so
            // compiling them (JIT) costs more than it saves.
            work.run("SET LOCAL enable_mergejoin = off", vec![]).await?;
            work.run("SET LOCAL jit = off", vec![]).await?;
        }
        work.run(
            &format!(
                "CREATE TEMPORARY TABLE recon_left ({key}, \
                 record_type TEXT NOT NULL, status TEXT NOT NULL, rule TEXT, voucher_no TEXT, \
                 match_key TEXT NOT NULL, east_id {id}, west_id {id}, east_owner {id}, \
                 west_owner {id}, east_amount BIGINT, west_amount BIGINT, east_on DATE, \
                 west_on DATE, east_end DATE, west_end DATE){tail}"
            ),
            vec![],
        )
        .await?;
        work.run(
            &format!("CREATE TEMPORARY TABLE recon_pairs (ek BIGINT, wk BIGINT){tail}"),
            vec![],
        )
        .await?;
        if backend == DbBackend::Postgres {
            // Numbers the pairs as the join makes them. Owned by a column of a table dropped
            // at commit, it goes with it (a sequence has no `ON COMMIT DROP` of its own). Only
            // this session draws from it, so a large cache keeps the numbers dense while
            // sparing each of a million rows a visit to the sequence's page (a fifth of the
            // voucher pass without it).
            work.run(
                "CREATE TEMPORARY SEQUENCE recon_k CACHE 100000 OWNED BY recon_left.k",
                vec![],
            )
            .await?;
        }
        Ok(work)
    }

    async fn run(&self, sql: &str, values: Vec<Value>) -> Result<u64> {
        Ok(self
            .tx
            .execute_raw(Statement::from_sql_and_values(self.backend, sql, values))
            .await?
            .rows_affected())
    }

    /// The first row of `sql`'s result, as `N` integers named `c0`, `c1`, ….
    async fn counts<const N: usize>(&self, sql: &str, values: Vec<Value>) -> Result<[i64; N]> {
        let row = self
            .tx
            .query_one_raw(Statement::from_sql_and_values(self.backend, sql, values))
            .await?
            .ok_or_else(|| AppError::internal("a count returned no row"))?;
        let mut out = [0; N];
        for (i, n) in out.iter_mut().enumerate() {
            *n = row.try_get("", &format!("c{i}"))?;
        }
        Ok(out)
    }

    /// The `n`th bind parameter.
    fn p(&self, n: usize) -> String {
        param(self.backend, n)
    }

    /// Whole days from `a` to `b`.
    fn days(&self, a: &str, b: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("({b} - {a})"),
            _ => format!("CAST(julianday({b}) - julianday({a}) AS INTEGER)"),
        }
    }

    /// PostgreSQL: the table of this run's voucher join, which becomes the report's partition
    /// of `reconciliation_pairs`.
    fn partition(&self) -> String {
        pairs_table(self.backend, self.id)
    }

    /// The pairing's transfers and arrivals in the period, paired by voucher number: the pairs
    /// that agree are numbered as pairs, the rest (amount mismatches, one-sided records) go to
    /// `recon_left`. A voucher number on at most one record of each side is a plain full outer
    /// join, hashed, as one would write it by hand; only when the pass finds a number repeated
    /// on a side does it run again with each side's records of a number ranked by date, to
    /// pair up in order. Returns the pairs that agree.
    async fn fund_transactions(
        &self,
        pairing: Uuid,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Agreed> {
        let plain = self.voucher_pass(false, pairing, start, end).await?;
        if !plain.repeated() {
            return Ok(plain.agreed);
        }
        self.undo_voucher_pass().await?;
        Ok(self.voucher_pass(true, pairing, start, end).await?.agreed)
    }

    /// The `INSERT` of the rows of `source` (the voucher join, or a table of it) that meet
    /// `cond`, which do not agree, into `recon_left`.
    fn left_lines(&self, source: &str, cond: &str) -> String {
        format!(
            "INSERT INTO recon_left ({WORK_COLUMNS}) SELECT 'fund_transaction', \
             CASE WHEN east_id IS NULL THEN 'west_only' WHEN west_id IS NULL THEN 'east_only' \
             ELSE 'amount_mismatch' END, \
             CASE WHEN east_id IS NOT NULL AND west_id IS NOT NULL THEN 'voucher' END, \
             voucher_no, CAST(COALESCE(east_amount, west_amount) AS TEXT), east_id, west_id, \
             east_owner, west_owner, east_amount, west_amount, east_on, west_on, east_on, \
             west_on FROM {source} WHERE {cond}"
        )
    }

    /// Forgets a voucher pass, for another.
    async fn undo_voucher_pass(&self) -> Result<()> {
        self.run("DELETE FROM recon_left", vec![]).await?;
        if self.backend == DbBackend::Postgres {
            self.run(&format!("DROP TABLE {}", self.partition()), vec![])
                .await?;
            self.run("ALTER SEQUENCE recon_k RESTART", vec![]).await?;
        } else {
            // SQLite numbers an empty table's rows 1, 2, … again.
            self.run("DELETE FROM recon_work", vec![]).await?;
        }
        Ok(())
    }

    /// One voucher pass: the join `j` of the two sides on the voucher number (and, `ranked`, on
    /// the rank of each record among its side's records of that number).
    async fn voucher_pass(
        &self,
        ranked: bool,
        pairing: Uuid,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<PassCounts> {
        let postgres = self.backend == DbBackend::Postgres;
        // Voucher numbers are stored trimmed and never empty (every write parses them with
        // `Text::parse`): the join compares the column as it is, as one would by hand.
        let v = "voucher_no";
        let bound: Vec<Value> = if postgres {
            Vec::new()
        } else {
            vec![pairing.into(), start.into(), end.into()]
        };
        let values = || bound.clone();
        // `CREATE TABLE … AS` takes no bind parameters: on PostgreSQL the pairing and the
        // period are written in as literals (of a uuid and dates, which quote nothing).
        let (pairing, start, end) = if postgres {
            (
                format!("CAST('{pairing}' AS uuid)"),
                format!("DATE '{start}'"),
                format!("DATE '{end}'"),
            )
        } else {
            (self.p(1), self.p(2), self.p(3))
        };
        let side = |kind: &str, ranked: bool| {
            let rank = if ranked {
                format!(", ROW_NUMBER() OVER (PARTITION BY {v} ORDER BY occurred_on, id) AS vr")
            } else {
                String::new()
            };
            format!(
                "SELECT id, owner_org_id, amount_fen, occurred_on, {v} AS v{rank} \
                 FROM fund_transactions WHERE pairing_id = {pairing} AND kind = '{kind}' \
                 AND deleted_at IS NULL AND occurred_on BETWEEN {start} AND {end}"
            )
        };
        let on = if ranked {
            "e.v = w.v AND e.vr = w.vr"
        } else {
            "e.v = w.v"
        };
        let sides = format!(
            "e AS ({}), w AS ({})",
            side("transfer", ranked),
            side("arrival", ranked)
        );
        let with = format!(
            "{sides}, j AS (SELECT COALESCE(e.v, w.v) AS voucher_no, e.id AS east_id, \
             w.id AS west_id, e.owner_org_id AS east_owner, w.owner_org_id AS west_owner, \
             e.amount_fen AS east_amount, w.amount_fen AS west_amount, \
             e.occurred_on AS east_on, w.occurred_on AS west_on \
             FROM e FULL OUTER JOIN w ON {on})"
        );
        let counted = "CAST(COUNT(*) AS BIGINT)";
        let [east, west, joined_east, joined_west, agreed, agreed_fen] = if postgres {
            let table = self.partition();
            let pass = format!(
                "CREATE TABLE {table} AS WITH {with} SELECT CAST('{}' AS uuid) \
                 AS reconciliation_id, CASE WHEN {AGREE} THEN nextval('recon_k') END AS k, \
                 CAST(voucher_no AS TEXT) AS voucher_no, east_id, west_id, \
                 CASE WHEN {AGREE} THEN NULL ELSE east_owner END AS east_owner, \
                 CASE WHEN {AGREE} THEN NULL ELSE west_owner END AS west_owner, \
                 east_amount, CASE WHEN {AGREE} THEN NULL ELSE west_amount END AS west_amount, \
                 east_on, west_on FROM j",
                self.id
            );
            // The command tags count the rows: the join's, and those of it that do not agree.
            let joined = self.run(&pass, vec![]).await?;
            let left = self
                .run(&self.left_lines(&table, "k IS NULL"), vec![])
                .await?;
            let agreed = i64::try_from(joined.saturating_sub(left)).unwrap_or(i64::MAX);
            // Each side once more, for its count and sum (an index-only scan where the index
            // is all-visible, which PostgreSQL splits among its parallel workers), and the few
            // lines of `recon_left`: the pairs are not read again. In a pass with no number
            // repeated, each record is in one row of the join, so their amount is the east
            // side's less the east amounts of `recon_left`. The query calls no function that
            // forbids a parallel plan (`currval` does): a serial one took 0.75 s against
            // 0.41 s at 1,000,000 a side (psql, `EXPLAIN ANALYZE`, on a busy machine).
            // (Counting the sides on a second connection in the run's snapshot, while the pass
            // ran, saved nothing on this 2-core machine: the pass slowed by as much as the
            // count took.)
            let totals = |kind: &str| {
                format!(
                    "SELECT {counted} AS n, CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) AS fen \
                     FROM ({}) s",
                    side(kind, false)
                )
            };
            let [east, west, east_fen, left_east, left_west, left_east_fen] = self
                .counts(
                    &format!(
                        "SELECT e.n AS c0, w.n AS c1, e.fen AS c2, l.east_n AS c3, \
                         l.west_n AS c4, l.east_fen AS c5 FROM ({}) e, ({}) w, \
                         (SELECT CAST(COUNT(east_id) AS BIGINT) AS east_n, \
                         CAST(COUNT(west_id) AS BIGINT) AS west_n, \
                         CAST(COALESCE(SUM(east_amount), 0) AS BIGINT) AS east_fen \
                         FROM recon_left) l",
                        totals("transfer"),
                        totals("arrival"),
                    ),
                    values(),
                )
                .await?;
            [
                east,
                west,
                agreed.saturating_add(left_east),
                agreed.saturating_add(left_west),
                agreed,
                east_fen.saturating_sub(left_east_fen),
            ]
        } else {
            self.run(
                &format!(
                    "WITH {with} {}",
                    self.left_lines("j", &format!("NOT ({AGREE})"))
                ),
                values(),
            )
            .await?;
            let agreed = self
                .run(
                    &format!(
                        "WITH {with} INSERT INTO recon_work (voucher_no, east_id, west_id, \
                         amount, east_on, west_on) SELECT voucher_no, east_id, west_id, \
                         east_amount, east_on, west_on FROM j WHERE {AGREE}"
                    ),
                    values(),
                )
                .await?;
            let [east, west, joined_east, joined_west, agreed_fen] = self
                .counts(
                    &format!(
                        "WITH {with} SELECT (SELECT {counted} FROM e) AS c0, \
                         (SELECT {counted} FROM w) AS c1, \
                         (SELECT CAST(COUNT(east_id) AS BIGINT) FROM j) AS c2, \
                         (SELECT CAST(COUNT(west_id) AS BIGINT) FROM j) AS c3, \
                         (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM recon_work) AS c4"
                    ),
                    values(),
                )
                .await?;
            [
                east,
                west,
                joined_east,
                joined_west,
                i64::try_from(agreed).unwrap_or(i64::MAX),
                agreed_fen,
            ]
        };
        Ok(PassCounts {
            east,
            west,
            joined_east,
            joined_west,
            agreed: Agreed {
                pairs: agreed,
                fen: agreed_fen,
            },
        })
    }

    /// The pairing's exchanges overlapping the period, each side's alone for now.
    async fn exchanges(&self, pairing: Uuid, start: NaiveDate, end: NaiveDate) -> Result<()> {
        let sql = format!(
            "INSERT INTO recon_left ({WORK_COLUMNS}) \
             SELECT 'exchange', CASE o.region WHEN 'east' THEN 'east_only' ELSE 'west_only' END, \
             NULL, NULL, x.kind || '/' || x.direction, \
             CASE o.region WHEN 'east' THEN x.id END, CASE o.region WHEN 'east' THEN NULL ELSE x.id END, \
             CASE o.region WHEN 'east' THEN x.owner_org_id END, \
             CASE o.region WHEN 'east' THEN NULL ELSE x.owner_org_id END, NULL, NULL, \
             CASE o.region WHEN 'east' THEN x.start_on END, \
             CASE o.region WHEN 'east' THEN NULL ELSE x.start_on END, \
             CASE o.region WHEN 'east' THEN x.end_on END, \
             CASE o.region WHEN 'east' THEN NULL ELSE x.end_on END \
             FROM exchanges x JOIN organizations o ON o.id = x.owner_org_id \
             WHERE x.pairing_id = {} AND x.deleted_at IS NULL \
             AND x.start_on <= {} AND x.end_on >= {}",
            self.p(1),
            self.p(3),
            self.p(2),
        );
        self.run(&sql, vec![pairing.into(), start.into(), end.into()])
            .await?;
        if self.backend == DbBackend::Postgres {
            // A temporary table has no statistics until analyzed: without them the planner
            // joins the one-sided lines to themselves by nested loops.
            // Only the columns the rounds join on (all of them took twice as long).
            self.run(
                "ANALYZE recon_left (status, record_type, match_key)",
                vec![],
            )
            .await?;
        }
        Ok(())
    }

    /// Pairs what is left, in rounds: each round pairs every one-sided line with the candidate
    /// that also chose it, by the order the module documents, until a round pairs nothing.
    /// The best candidate pair of all is always chosen by both of its lines, so every round
    /// pairs at least one and the rounds end.
    async fn pair_rounds(&self, window: i32) -> Result<()> {
        let gap = self.days("e.east_on", "w.west_on");
        let candidates = format!(
            "SELECT e.k AS ek, w.k AS wk, e.east_on AS e_on, w.west_on AS w_on, \
             ABS({gap}) AS gap, CASE WHEN w.west_on < e.east_on THEN 1 ELSE 0 END AS back \
             FROM recon_left e JOIN recon_left w \
             ON e.status = 'east_only' AND w.status = 'west_only' \
             AND e.record_type = w.record_type AND e.match_key = w.match_key \
             AND ((e.record_type = 'fund_transaction' AND ABS({gap}) <= {}) \
             OR (e.record_type = 'exchange' AND e.east_on <= w.west_end \
             AND w.west_on <= e.east_end))",
            self.p(1)
        );
        let choose = format!(
            "INSERT INTO recon_pairs (ek, wk) SELECT ek, wk FROM (SELECT ek, wk, \
             ROW_NUMBER() OVER (PARTITION BY ek ORDER BY gap, back, w_on, wk) AS re, \
             ROW_NUMBER() OVER (PARTITION BY wk ORDER BY gap, back, e_on, ek) AS rw \
             FROM ({candidates}) c) r WHERE re = 1 AND rw = 1"
        );
        let merge = "UPDATE recon_left SET status = 'matched', \
             rule = CASE recon_left.record_type WHEN 'fund_transaction' THEN 'amount_date' \
             ELSE 'dates' END, \
             west_id = m.west_id, west_owner = m.west_owner, west_amount = m.west_amount, \
             west_on = m.west_on, west_end = m.west_end \
             FROM (SELECT p.ek, w.west_id, w.west_owner, w.west_amount, w.west_on, w.west_end \
             FROM recon_pairs p JOIN recon_left w ON w.k = p.wk) m WHERE recon_left.k = m.ek";
        loop {
            self.run("DELETE FROM recon_pairs", vec![]).await?;
            let paired = self.run(&choose, vec![window.into()]).await?;
            if paired == 0 {
                return Ok(());
            }
            self.run(merge, vec![]).await?;
            self.run(
                "DELETE FROM recon_left WHERE k IN (SELECT wk FROM recon_pairs)",
                vec![],
            )
            .await?;
        }
    }

    /// Writes the lines of the report: those of `recon_left` numbered in [`LINE_ORDER`], with
    /// the `agreed` voucher pairs after its money lines (in the order they formed, which needs
    /// no sort) and before its exchanges. Returns how many lines, and the number of the line
    /// before the first pair.
    async fn store(&self, agreed: i64) -> Result<(i64, i64)> {
        let [money] = self
            .counts(
                "SELECT CAST(COUNT(*) AS BIGINT) AS c0 FROM recon_left \
                 WHERE record_type = 'fund_transaction'",
                vec![],
            )
            .await?;
        let columns = "reconciliation_id, line_no, record_type, status, rule, voucher_no, \
             east_record_id, west_record_id, east_owner_org_id, west_owner_org_id, \
             east_amount_fen, west_amount_fen, east_on, west_on, resolution, version";
        let left = format!(
            "INSERT INTO reconciliation_lines ({columns}) \
             SELECT {}, ROW_NUMBER() OVER (ORDER BY {LINE_ORDER}) \
             + CASE record_type WHEN 'exchange' THEN {} ELSE 0 END, record_type, status, rule, \
             voucher_no, east_id, west_id, east_owner, west_owner, east_amount, west_amount, \
             east_on, west_on, 'open', 1 FROM recon_left",
            self.p(1),
            self.p(2),
        );
        let n = self.run(&left, vec![self.id.into(), agreed.into()]).await?;
        if self.backend == DbBackend::Postgres {
            // The CHECK spares `ATTACH` the scan that proves every row is the report's.
            //
            // A new table has no statistics until autovacuum gets to it, and without the
            // correlation of `k` the planner reads a page of lines by scanning the whole
            // table rather than through the BRIN index: 55 ms a page at a million pairs,
            // against 0.3 ms with them (psql, `EXPLAIN ANALYZE`). `k` follows the rows'
            // order exactly, so a sample of 300 rows (statistics target 1) tells it: 2 ms.
            let (table, id) = (self.partition(), self.id);
            for sql in [
                format!(
                    "ALTER TABLE {table} ADD CHECK (reconciliation_id IS NOT NULL \
                     AND reconciliation_id = '{id}')"
                ),
                format!("CREATE INDEX ON {table} USING brin (k) WITH (pages_per_range = 32)"),
                format!("ALTER TABLE {table} ALTER COLUMN k SET STATISTICS 1"),
                format!("ANALYZE {table} (k)"),
                format!(
                    "ALTER TABLE reconciliation_pairs ATTACH PARTITION {table} \
                     FOR VALUES IN ('{id}')"
                ),
            ] {
                self.run(&sql, vec![]).await?;
            }
        } else {
            self.run(
                &format!(
                    "INSERT INTO reconciliation_pairs (reconciliation_id, k, voucher_no, east_id, \
                     west_id, east_amount, east_on, west_on) \
                     SELECT {}, k, voucher_no, east_id, west_id, amount, east_on, west_on \
                     FROM recon_work",
                    self.p(1)
                ),
                vec![self.id.into()],
            )
            .await?;
        }
        let lines = i64::try_from(n).unwrap_or(i64::MAX).saturating_add(agreed);
        Ok((lines, money))
    }

    /// The totals per side and status: the lines of the working table, and the `agreed` voucher
    /// pairs (counted by the voucher pass, not read again).
    async fn totals(&self, agreed: Agreed) -> Result<Totals> {
        let sum = |col: &str| format!("CAST(COALESCE(SUM({col}), 0) AS BIGINT)");
        let sql = format!(
            "SELECT record_type, status, CAST(COUNT(*) AS BIGINT) AS lines, \
             CAST(COUNT(east_id) AS BIGINT) AS east_n, CAST(COUNT(west_id) AS BIGINT) AS west_n, \
             {} AS east_fen, {} AS west_fen FROM recon_left GROUP BY record_type, status",
            sum("east_amount"),
            sum("west_amount"),
        );
        let rows = self
            .tx
            .query_all_raw(Statement::from_string(self.backend, sql))
            .await?;
        let mut groups = Vec::with_capacity(rows.len() + 1);
        for row in rows {
            groups.push((
                LineRecordType::from_db(&row.try_get::<String>("", "record_type")?)?,
                LineStatus::from_db(&row.try_get::<String>("", "status")?)?,
                [
                    row.try_get::<i64>("", "lines")?,
                    row.try_get("", "east_n")?,
                    row.try_get("", "west_n")?,
                    row.try_get("", "east_fen")?,
                    row.try_get("", "west_fen")?,
                ],
            ));
        }
        if agreed.pairs > 0 {
            let pairs = [
                agreed.pairs,
                agreed.pairs,
                agreed.pairs,
                agreed.fen,
                agreed.fen,
            ];
            let key = (LineRecordType::FundTransaction, LineStatus::Matched);
            match groups.iter_mut().find(|(t, s, _)| (*t, *s) == key) {
                Some((_, _, counts)) => {
                    for (n, p) in counts.iter_mut().zip(pairs) {
                        *n = n.saturating_add(p);
                    }
                }
                None => groups.push((key.0, key.1, pairs)),
            }
        }
        let mut totals = Totals::default();
        for (record_type, status, [lines, east_n, west_n, east_fen, west_fen]) in groups {
            match record_type {
                LineRecordType::FundTransaction => {
                    totals.east.fund_transactions += east_n;
                    totals.west.fund_transactions += west_n;
                    totals.east.amount_fen.0 = totals.east.amount_fen.0.saturating_add(east_fen);
                    totals.west.amount_fen.0 = totals.west.amount_fen.0.saturating_add(west_fen);
                }
                LineRecordType::Exchange => {
                    totals.east.exchanges += east_n;
                    totals.west.exchanges += west_n;
                }
                // A horizontal report has no vertical lines.
                LineRecordType::Counties | LineRecordType::Statement => {}
            }
            totals.by_status.push(StatusTotals {
                record_type,
                status,
                lines,
                east_amount_fen: Fen(east_fen),
                west_amount_fen: Fen(west_fen),
            });
        }
        totals.difference_fen = Fen(totals
            .east
            .amount_fen
            .0
            .saturating_sub(totals.west.amount_fen.0));
        totals
            .by_status
            .sort_by_key(|s| (s.record_type, status_rank(s.status)));
        Ok(totals)
    }

    async fn close(self) -> Result<()> {
        if self.backend != DbBackend::Postgres {
            self.run("DROP TABLE temp.recon_pairs", vec![]).await?;
            self.run("DROP TABLE temp.recon_left", vec![]).await?;
            self.run("DROP TABLE temp.recon_work", vec![]).await?;
        }
        Ok(())
    }
}

fn status_rank(s: LineStatus) -> u8 {
    match s {
        LineStatus::AmountMismatch | LineStatus::Mismatch => 0,
        LineStatus::EastOnly => 1,
        LineStatus::WestOnly => 2,
        LineStatus::Matched => 3,
    }
}
