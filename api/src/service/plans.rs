//! Yearly work plans (年度工作方案) and their quarterly tasks ("召开至少一次专题会议").
//!
//! A task with a target counts the records that meet it; its `progress_count` and `status` are
//! computed here on every read and never taken from a client (DESIGN §2, plan progress). A list
//! is computed as a whole with a fixed number of grouped queries, whatever its length.

use std::collections::{HashMap, HashSet};

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::{Datelike, NaiveDate};
use entity::{agreement, exchange, fund_transaction, plan, plan_task, project};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
    sea_query::{Expr, Query, SelectStatement},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page, audit, check_version,
    directory::Directory,
    exchanges::ExchangeKind,
    kernel::{self, Columns, Readable, Record},
    now,
    pairings::today_in_china,
    records::{self, PageArgs},
    scope,
};
use crate::{
    authz::Actor,
    authz::{Owner, RecordKind, Scope, ensure_write},
    domain::{Cursor, Fields, FundKind, ProjectStatus, Region, Text, checked},
    error::{AppError, AppResult},
};

const TITLE_MAX: usize = 200;
const TASK_TITLE_MAX: usize = 500;
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;
/// Rows per round when a list is filtered by the computed `status`.
const STATUS_CHUNK: u64 = 500;

use crate::domain::names;

names!(
    /// Computed: `done` when the count meets the target, else `overdue` after the due date
    /// (Asia/Shanghai), else `pending`; `not_tracked` for a task with no countable target.
    PlanTaskStatus {
        Pending => "pending",
        Done => "done",
        Overdue => "overdue",
        NotTracked => "not_tracked",
    }
);

names!(
    /// The record type whose records count towards a task's target.
    CountedRecord {
        /// Dated by `start_on`; `counts_kind` is an exchange kind.
        Exchange => "exchange",
        /// Dated by `start_on`, or the day it was recorded; `counts_kind` is a status.
        Project => "project",
        /// Dated by `signed_on`; no kind.
        Agreement => "agreement",
        /// Dated by `occurred_on`; `counts_kind` is a transaction kind.
        FundTransaction => "fund_transaction",
    }
);

impl CountedRecord {
    /// The values `counts_kind` may take for this record type, from the record types' own
    /// enums.
    pub fn kinds(self) -> Vec<&'static str> {
        match self {
            Self::Exchange => ExchangeKind::ALL.iter().map(|k| k.as_str()).collect(),
            Self::Project => ProjectStatus::ALL.iter().map(|s| s.as_str()).collect(),
            Self::Agreement => Vec::new(),
            Self::FundTransaction => FundKind::ALL.iter().map(|k| k.as_str()).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Views and inputs

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema, SimpleObject, Deserialize)]
#[graphql(name = "Plan", complex)]
pub struct PlanView {
    pub id: Uuid,
    /// The federation whose plan this is.
    pub org_id: Uuid,
    pub year: i32,
    /// e.g. 2019年贵州省残联系统东西部扶贫协作工作方案.
    pub title: String,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl PlanView {
    pub fn from_model(m: plan::Model) -> Self {
        Self {
            id: m.id,
            org_id: m.org_id,
            year: m.year,
            title: m.title,
            version: m.version,
            owner_org_id: m.owner_org_id,
            external_id: m.external_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A plan with its tasks (REST `GET /plans/{id}`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PlanDetail {
    #[serde(flatten)]
    pub plan: PlanView,
    /// In quarter, then due date order.
    pub tasks: Vec<PlanTaskView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema, SimpleObject, Deserialize)]
#[graphql(name = "PlanTask", complex)]
pub struct PlanTaskView {
    pub id: Uuid,
    pub plan_id: Uuid,
    /// 1–4.
    pub quarter: i32,
    pub title: String,
    pub due_on: NaiveDate,
    /// Records of this organization and those under it count towards the target.
    pub responsible_org_id: Uuid,
    /// How many records the task asks for ("至少一次" is 1); 0 when nothing is counted.
    pub target_count: i32,
    pub counts_record_type: Option<CountedRecord>,
    /// An exchange kind, project status or fund transaction kind; absent counts every kind.
    pub counts_kind: Option<String>,
    /// Computed: live records of `counts_record_type` (and `counts_kind`) owned by the
    /// responsible organization or one under it, dated in the plan's year on or before `due_on`.
    pub progress_count: i32,
    /// Computed from `progress_count`, `target_count`, `due_on` and today in Asia/Shanghai.
    pub status: PlanTaskStatus,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Debug, Deserialize, ToSchema, InputObject, Serialize)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewPlanInput")]
pub struct NewPlan {
    pub org_id: Uuid,
    pub year: i32,
    pub title: String,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A partial update. The organization and year make the plan what it is and do not change.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "PlanPatchInput")]
pub struct PlanPatch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: MaybeUndefined<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "PlanFilter")]
pub struct PlanQuery {
    pub org_id: Option<Uuid>,
    pub year: Option<i32>,
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

#[derive(Clone, Debug, Deserialize, ToSchema, InputObject, Serialize)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewPlanTaskInput")]
pub struct NewPlanTask {
    pub plan_id: Uuid,
    /// 1–4.
    pub quarter: i32,
    pub title: String,
    /// In the plan's year; the quarter's last day when absent.
    #[serde(default)]
    pub due_on: Option<NaiveDate>,
    /// The plan's organization or one under it; the plan's organization when absent.
    #[serde(default)]
    pub responsible_org_id: Option<Uuid>,
    /// 0 or more (0 when absent); above 0 needs `counts_record_type`.
    #[serde(default)]
    pub target_count: Option<i32>,
    #[serde(default)]
    pub counts_record_type: Option<CountedRecord>,
    #[serde(default)]
    pub counts_kind: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A partial update: absent fields stay, `null` clears a nullable field. The progress and
/// status are computed, never set.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "PlanTaskPatchInput")]
pub struct PlanTaskPatch {
    #[serde(default)]
    pub quarter: Option<i32>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub due_on: Option<NaiveDate>,
    #[serde(default)]
    pub responsible_org_id: Option<Uuid>,
    #[serde(default)]
    pub target_count: Option<i32>,
    #[serde(default)]
    #[schema(value_type = Option<CountedRecord>)]
    pub counts_record_type: MaybeUndefined<CountedRecord>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub counts_kind: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: MaybeUndefined<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "PlanTaskFilter")]
pub struct PlanTaskQuery {
    pub plan_id: Option<Uuid>,
    /// The responsible organization.
    pub org_id: Option<Uuid>,
    /// The plan's year.
    pub year: Option<i32>,
    pub quarter: Option<i32>,
    /// The computed status.
    pub status: Option<PlanTaskStatus>,
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

// ---------------------------------------------------------------------------------------------
// Progress: the computed part

/// The last day of `quarter` (1–4) in `year`.
pub fn quarter_end(year: i32, quarter: i32) -> Option<NaiveDate> {
    let (month, day) = match quarter {
        1 => (3, 31),
        2 => (6, 30),
        3 => (9, 30),
        4 => (12, 31),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The status rule, on its own so that it can be tested without a clock.
pub fn status_of(
    progress: i64,
    target: i32,
    due_on: NaiveDate,
    today: NaiveDate,
) -> PlanTaskStatus {
    if target == 0 {
        // Nothing can be counted: the service cannot say it is done, and will not pretend.
        PlanTaskStatus::NotTracked
    } else if progress >= i64::from(target) {
        PlanTaskStatus::Done
    } else if today > due_on {
        PlanTaskStatus::Overdue
    } else {
        PlanTaskStatus::Pending
    }
}

/// Records counted by date, owner and kind: one row per group of the grouped queries.
struct Tally {
    owner: Uuid,
    kind: Option<String>,
    on: NaiveDate,
    n: i64,
}

/// The dates a task counts: from the start of its plan's year to its due date, within that year.
fn window(year: i32, due_on: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let start = NaiveDate::from_ymd_opt(year, 1, 1)?;
    let end = NaiveDate::from_ymd_opt(year, 12, 31)?.min(due_on);
    (start <= end).then_some((start, end))
}

/// Counts the records of one type for the given owners and dates, grouped by owner, kind and
/// date: one statement.
async fn tallies(
    db: &impl ConnectionTrait,
    kind: CountedRecord,
    owners: Vec<Uuid>,
    kinds: Option<Vec<String>>,
    (from, to): (NaiveDate, NaiveDate),
) -> AppResult<Vec<Tally>> {
    fn grouped<E: EntityTrait>(
        select: Select<E>,
        owner: E::Column,
        kind: Option<E::Column>,
        date: E::Column,
        id: E::Column,
    ) -> Select<E> {
        let mut select = select.select_only().column(owner);
        if let Some(k) = kind {
            select = select.column(k);
        }
        select = select.column(date).column_as(id.count(), "n");
        select = select.group_by(owner);
        if let Some(k) = kind {
            select = select.group_by(k);
        }
        select.group_by(date)
    }
    let rows = match kind {
        CountedRecord::Exchange => {
            let mut select = exchange::Entity::find()
                .filter(exchange::Column::DeletedAt.is_null())
                .filter(exchange::Column::OwnerOrgId.is_in(owners))
                .filter(exchange::Column::StartOn.between(from, to));
            if let Some(k) = kinds {
                select = select.filter(exchange::Column::Kind.is_in(k));
            }
            grouped(
                select,
                exchange::Column::OwnerOrgId,
                Some(exchange::Column::Kind),
                exchange::Column::StartOn,
                exchange::Column::Id,
            )
            .into_tuple::<(Uuid, String, NaiveDate, i64)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(owner, kind, on, n)| Tally {
                owner,
                kind: Some(kind),
                on,
                n,
            })
            .collect()
        }
        CountedRecord::FundTransaction => {
            let mut select = fund_transaction::Entity::find()
                .filter(fund_transaction::Column::DeletedAt.is_null())
                .filter(fund_transaction::Column::OwnerOrgId.is_in(owners))
                .filter(fund_transaction::Column::OccurredOn.between(from, to));
            if let Some(k) = kinds {
                select = select.filter(fund_transaction::Column::Kind.is_in(k));
            }
            grouped(
                select,
                fund_transaction::Column::OwnerOrgId,
                Some(fund_transaction::Column::Kind),
                fund_transaction::Column::OccurredOn,
                fund_transaction::Column::Id,
            )
            .into_tuple::<(Uuid, String, NaiveDate, i64)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(owner, kind, on, n)| Tally {
                owner,
                kind: Some(kind),
                on,
                n,
            })
            .collect()
        }
        CountedRecord::Agreement => {
            let select = agreement::Entity::find()
                .filter(agreement::Column::DeletedAt.is_null())
                .filter(agreement::Column::OwnerOrgId.is_in(owners))
                .filter(agreement::Column::SignedOn.between(from, to));
            grouped(
                select,
                agreement::Column::OwnerOrgId,
                None,
                agreement::Column::SignedOn,
                agreement::Column::Id,
            )
            .into_tuple::<(Uuid, NaiveDate, i64)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(owner, on, n)| Tally {
                owner,
                kind: None,
                on,
                n,
            })
            .collect()
        }
        CountedRecord::Project => {
            // A project counts from its start or — not started yet — from the day it was
            // recorded (in China): two statements, the second for projects without a start.
            let mut started = project::Entity::find()
                .filter(project::Column::DeletedAt.is_null())
                .filter(project::Column::OwnerOrgId.is_in(owners.clone()))
                .filter(project::Column::StartOn.between(from, to));
            let mut unstarted = project::Entity::find()
                .filter(project::Column::DeletedAt.is_null())
                .filter(project::Column::OwnerOrgId.is_in(owners))
                .filter(project::Column::StartOn.is_null())
                .filter(project::Column::CreatedAt.gte(china_midnight(from)?))
                .filter(
                    project::Column::CreatedAt.lt(china_midnight(to.succ_opt().unwrap_or(to))?),
                );
            if let Some(k) = kinds {
                started = started.filter(project::Column::Status.is_in(k.clone()));
                unstarted = unstarted.filter(project::Column::Status.is_in(k));
            }
            let mut rows: Vec<Tally> = grouped(
                started,
                project::Column::OwnerOrgId,
                Some(project::Column::Status),
                project::Column::StartOn,
                project::Column::Id,
            )
            .into_tuple::<(Uuid, String, NaiveDate, i64)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(owner, status, on, n)| Tally {
                owner,
                kind: Some(status),
                on,
                n,
            })
            .collect();
            rows.extend(
                unstarted
                    .select_only()
                    .columns([
                        project::Column::OwnerOrgId,
                        project::Column::Status,
                        project::Column::CreatedAt,
                    ])
                    .into_tuple::<(Uuid, String, chrono::DateTime<chrono::Utc>)>()
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|(owner, status, created)| Tally {
                        owner,
                        kind: Some(status),
                        on: china_date(created),
                        n: 1,
                    }),
            );
            rows
        }
    };
    Ok(rows)
}

fn china_date(at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    (at + chrono::Duration::hours(8)).date_naive()
}

fn china_midnight(day: NaiveDate) -> AppResult<chrono::DateTime<chrono::Utc>> {
    let midnight = day
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| AppError::internal("midnight does not exist"))?;
    Ok(midnight.and_utc() - chrono::Duration::hours(8))
}

/// Builds the views of `tasks` (each with its plan's year), computing progress and status for
/// all of them together: the subtrees come from the directory, then one grouped query per
/// record type the tasks count (two for projects) — at most five statements for any number of
/// tasks.
async fn task_views(
    db: &impl ConnectionTrait,
    dir: &Directory,
    tasks: Vec<(plan_task::Model, i32)>,
) -> AppResult<Vec<PlanTaskView>> {
    struct Counting {
        kind: CountedRecord,
        filter: Option<String>,
        subtree: HashSet<Uuid>,
        window: (NaiveDate, NaiveDate),
    }
    let mut counting: Vec<Option<Counting>> = Vec::with_capacity(tasks.len());
    let mut subtrees: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    for (t, year) in &tasks {
        let kind = t
            .counts_record_type
            .as_deref()
            .map(CountedRecord::from_db)
            .transpose()?;
        let (Some(kind), Some(window)) = (kind, window(*year, t.due_on)) else {
            counting.push(None);
            continue;
        };
        let subtree = subtrees
            .entry(t.responsible_org_id)
            .or_insert_with(|| dir.subtree(t.responsible_org_id))
            .clone();
        counting.push(Some(Counting {
            kind,
            filter: t.counts_kind.clone(),
            subtree,
            window,
        }));
    }

    let mut by_type: HashMap<CountedRecord, Vec<Tally>> = HashMap::new();
    for kind in CountedRecord::ALL {
        let of_kind: Vec<&Counting> = counting
            .iter()
            .flatten()
            .filter(|c| c.kind == *kind)
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let owners: HashSet<Uuid> = of_kind
            .iter()
            .flat_map(|c| c.subtree.iter().copied())
            .collect();
        let from = of_kind.iter().map(|c| c.window.0).min();
        let to = of_kind.iter().map(|c| c.window.1).max();
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        // Narrow by kind only when every task of this type names one.
        let kinds: Option<Vec<String>> = of_kind
            .iter()
            .map(|c| c.filter.clone())
            .collect::<Option<HashSet<String>>>()
            .map(|set| set.into_iter().collect());
        let rows = tallies(db, *kind, owners.into_iter().collect(), kinds, (from, to)).await?;
        by_type.insert(*kind, rows);
    }

    let today = today_in_china();
    tasks
        .into_iter()
        .zip(counting)
        .map(|((t, _), c)| {
            let progress: i64 = match &c {
                None => 0,
                Some(c) => by_type
                    .get(&c.kind)
                    .into_iter()
                    .flatten()
                    .filter(|r| c.subtree.contains(&r.owner))
                    .filter(|r| r.on >= c.window.0 && r.on <= c.window.1)
                    .filter(|r| match (&c.filter, &r.kind) {
                        (Some(wanted), Some(kind)) => wanted == kind,
                        (Some(_), None) => false,
                        // Every kind counts, except projects that were given up.
                        (None, kind) => {
                            !(c.kind == CountedRecord::Project
                                && kind.as_deref() == Some("cancelled"))
                        }
                    })
                    .map(|r| r.n)
                    .sum(),
            };
            let counts_record_type = c.as_ref().map(|c| c.kind).or(t
                .counts_record_type
                .as_deref()
                .and_then(CountedRecord::parse));
            Ok(PlanTaskView {
                status: status_of(progress, t.target_count, t.due_on, today),
                progress_count: i32::try_from(progress).unwrap_or(i32::MAX),
                id: t.id,
                plan_id: t.plan_id,
                quarter: t.quarter,
                title: t.title,
                due_on: t.due_on,
                responsible_org_id: t.responsible_org_id,
                target_count: t.target_count,
                counts_record_type,
                counts_kind: t.counts_kind,
                version: t.version,
                owner_org_id: t.owner_org_id,
                external_id: t.external_id,
                created_at: t.created_at,
                updated_at: t.updated_at,
            })
        })
        .collect()
}

/// Views of tasks whose plans are not at hand: reads the plans' years first.
async fn task_views_with_years(
    db: &impl ConnectionTrait,
    dir: &Directory,
    tasks: Vec<plan_task::Model>,
) -> AppResult<Vec<PlanTaskView>> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    let plan_ids: HashSet<Uuid> = tasks.iter().map(|t| t.plan_id).collect();
    let years: HashMap<Uuid, i32> = plan::Entity::find()
        .select_only()
        .columns([plan::Column::Id, plan::Column::Year])
        .filter(plan::Column::Id.is_in(plan_ids))
        .into_tuple::<(Uuid, i32)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let with_years = tasks
        .into_iter()
        .map(|t| {
            let year = years.get(&t.plan_id).copied().unwrap_or(t.due_on.year());
            (t, year)
        })
        .collect();
    task_views(db, dir, with_years).await
}

// ---------------------------------------------------------------------------------------------
// Reads

/// The plan family for the record kernel: a plan is readable by whoever may read its
/// organization.
pub struct Plans;

impl Record for Plans {
    type Entity = plan::Entity;
    type Row = plan::Model;
    type View = PlanView;
    const KIND: RecordKind = RecordKind::Plan;

    fn columns() -> Columns<plan::Column> {
        use plan::Column as C;
        Columns {
            id: C::Id,
            version: C::Version,
            updated_at: C::UpdatedAt,
            deleted_at: C::DeletedAt,
            readable: Readable::Org(C::OrgId),
        }
    }

    fn id(row: &plan::Model) -> Uuid {
        row.id
    }

    fn version(row: &plan::Model) -> i32 {
        row.version
    }

    fn owner(row: &plan::Model) -> Uuid {
        row.owner_org_id
    }

    fn readable_keys(row: &plan::Model) -> (Uuid, Option<Uuid>) {
        (row.org_id, None)
    }

    fn view(_: &Actor, row: plan::Model) -> AppResult<PlanView> {
        Ok(PlanView::from_model(row))
    }
}

async fn live_plan(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<plan::Model>> {
    Ok(plan::Entity::find_by_id(id)
        .filter(plan::Column::DeletedAt.is_null())
        .one(db)
        .await?)
}

/// A task and its whole plan, for the writes that check a task against its plan.
async fn task_with_plan(
    db: &impl ConnectionTrait,
    scope: &Scope,
    id: Uuid,
) -> AppResult<(plan_task::Model, plan::Model)> {
    let (task, _) = readable_task(db, scope, id).await?;
    let plan = kernel::find::<Plans>(db, scope, task.plan_id).await?;
    Ok((task, plan))
}

/// A task with what it needs of its plan, read in the same statement.
#[derive(Clone, Debug, FromQueryResult)]
struct TaskRow {
    #[sea_orm(nested)]
    task: plan_task::Model,
    /// Null when the plan is deleted.
    plan_year: Option<i32>,
    plan_org_id: Option<Uuid>,
}

/// A live task of a live plan, readable with its plan: one statement.
async fn readable_task(
    db: &impl ConnectionTrait,
    scope: &Scope,
    id: Uuid,
) -> AppResult<(plan_task::Model, i32)> {
    let plan_column = |col: &str| {
        Expr::cust(format!(
            "(SELECT p.{col} FROM plans p WHERE p.id = plan_tasks.plan_id AND p.deleted_at IS NULL)"
        ))
    };
    let row = plan_task::Entity::find_by_id(id)
        .filter(plan_task::Column::DeletedAt.is_null())
        .column_as(plan_column("year"), "plan_year")
        .column_as(plan_column("org_id"), "plan_org_id")
        .into_model::<TaskRow>()
        .one(db)
        .await?;
    match row {
        Some(TaskRow {
            task,
            plan_year: Some(year),
            plan_org_id: Some(org),
        }) if scope.can_read_org(org) => Ok((task, year)),
        _ => Err(AppError::NotFound),
    }
}

/// Ids of the live plans `scope` may read, optionally of one year: the SQL form of
/// [`Plans`]' read rule for task lists.
fn readable_plan_ids(scope: &Scope, year: Option<i32>) -> SelectStatement {
    let mut q = Query::select();
    q.column((plan::Entity, plan::Column::Id))
        .from(plan::Entity)
        .and_where(plan::Column::DeletedAt.is_null());
    if !scope.all {
        q.and_where(plan::Column::OrgId.is_in(scope.orgs.iter().copied()));
    }
    if let Some(y) = year {
        q.and_where(plan::Column::Year.eq(y));
    }
    q.to_owned()
}

fn check_year(f: &mut Fields, field: &str, year: Option<i32>) {
    if year.is_some_and(|y| !YEARS.contains(&y)) {
        f.push(
            field,
            format!("must be between {} and {}", YEARS.start(), YEARS.end()),
        );
    }
}

fn check_quarter(f: &mut Fields, quarter: Option<i32>) {
    if quarter.is_some_and(|q| !(1..=4).contains(&q)) {
        f.push("quarter", "must be 1, 2, 3 or 4");
    }
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<PlanView> {
    kernel::get::<Plans>(ctx, actor, id).await
}

/// A plan with all its tasks, progress computed.
pub async fn get_with_tasks(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<PlanDetail> {
    let plan = kernel::find::<Plans>(&ctx.db, actor.scope(), id).await?;
    let dir = ctx.directory.get(&ctx.db).await?;
    let tasks = tasks_of_plans(&ctx.db, &dir, &[(plan.id, plan.year)]).await?;
    Ok(PlanDetail {
        tasks: tasks.into_iter().next().map(|(_, t)| t).unwrap_or_default(),
        plan: PlanView::from_model(plan),
    })
}

/// The live tasks of each of `plans` (id, year), in quarter, due date, id order.
async fn tasks_of_plans(
    db: &impl ConnectionTrait,
    dir: &Directory,
    plans: &[(Uuid, i32)],
) -> AppResult<HashMap<Uuid, Vec<PlanTaskView>>> {
    if plans.is_empty() {
        return Ok(HashMap::new());
    }
    let years: HashMap<Uuid, i32> = plans.iter().copied().collect();
    let rows = plan_task::Entity::find()
        .filter(plan_task::Column::PlanId.is_in(years.keys().copied()))
        .filter(plan_task::Column::DeletedAt.is_null())
        .order_by_asc(plan_task::Column::Quarter)
        .order_by_asc(plan_task::Column::DueOn)
        .order_by_asc(plan_task::Column::Id)
        .all(db)
        .await?;
    let with_years = rows
        .into_iter()
        .map(|t| {
            let year = years.get(&t.plan_id).copied().unwrap_or(t.due_on.year());
            (t, year)
        })
        .collect();
    let mut out: HashMap<Uuid, Vec<PlanTaskView>> = HashMap::new();
    for view in task_views(db, dir, with_years).await? {
        out.entry(view.plan_id).or_default().push(view);
    }
    Ok(out)
}

/// Batch read for GraphQL loaders: the live plans of each readable organization, by year.
pub async fn of_orgs(
    ctx: &AppCtx,
    actor: &Actor,
    org_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<PlanView>>> {
    let rows = kernel::visible::<Plans>(ctx.db.get_database_backend(), actor.scope())
        .filter(plan::Column::OrgId.is_in(org_ids.iter().copied()))
        .order_by_asc(plan::Column::Year)
        .order_by_asc(plan::Column::Id)
        .all(&ctx.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<PlanView>> = HashMap::new();
    for m in rows {
        let view = PlanView::from_model(m);
        out.entry(view.org_id).or_default().push(view);
    }
    Ok(out)
}

pub async fn list(ctx: &AppCtx, actor: &Actor, q: PlanQuery) -> AppResult<Page<PlanView>> {
    let mut f = Fields::new();
    let page = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    check_year(&mut f, "year", q.year);
    f.finish()?;
    let page = checked(page)?;
    let mut select = kernel::visible::<Plans>(ctx.db.get_database_backend(), actor.scope());
    if let Some(org) = q.org_id {
        select = select.filter(plan::Column::OrgId.eq(org));
    }
    if let Some(year) = q.year {
        select = select.filter(plan::Column::Year.eq(year));
    }
    if let Some(e) = q.external_id {
        select = select.filter(plan::Column::ExternalId.eq(e));
    }
    if let Some(since) = q.updated_since {
        select = select.filter(plan::Column::UpdatedAt.gte(since));
    }
    kernel::page::<Plans>(ctx, actor, select, page).await
}

pub async fn get_task(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<PlanTaskView> {
    let (task, year) = readable_task(&ctx.db, actor.scope(), id).await?;
    let dir = ctx.directory.get(&ctx.db).await?;
    one_view(&ctx.db, &dir, task, year).await
}

async fn one_view(
    db: &impl ConnectionTrait,
    dir: &Directory,
    task: plan_task::Model,
    year: i32,
) -> AppResult<PlanTaskView> {
    task_views(db, dir, vec![(task, year)])
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("a task view went missing"))
}

pub async fn list_tasks(
    ctx: &AppCtx,
    actor: &Actor,
    q: PlanTaskQuery,
) -> AppResult<Page<PlanTaskView>> {
    let mut f = Fields::new();
    let page = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    check_year(&mut f, "year", q.year);
    check_quarter(&mut f, q.quarter);
    f.finish()?;
    let page = checked(page)?;
    let scope = actor.scope();
    let dir = ctx.directory.get(&ctx.db).await?;

    let mut select = plan_task::Entity::find()
        .filter(plan_task::Column::DeletedAt.is_null())
        .filter(plan_task::Column::PlanId.in_subquery(readable_plan_ids(scope, q.year)));
    if let Some(p) = q.plan_id {
        select = select.filter(plan_task::Column::PlanId.eq(p));
    }
    if let Some(org) = q.org_id {
        select = select.filter(plan_task::Column::ResponsibleOrgId.eq(org));
    }
    if let Some(quarter) = q.quarter {
        select = select.filter(plan_task::Column::Quarter.eq(quarter));
    }
    if let Some(e) = q.external_id {
        select = select.filter(plan_task::Column::ExternalId.eq(e));
    }
    if let Some(since) = q.updated_since {
        select = select.filter(plan_task::Column::UpdatedAt.gte(since));
    }
    let Some(wanted) = q.status else {
        let rows = records::fetch_page(&ctx.db, select, plan_task::Column::Id, page).await?;
        let views = task_views_with_years(&ctx.db, &dir, rows).await?;
        return Ok(Page::from_rows(views, page.limit.get(), |v| v.id));
    };

    // The status is computed, so it cannot be a WHERE clause. The due date narrows it where it
    // can (only a task past its due date is overdue; only one not yet due is pending); the rest
    // is computed chunk by chunk until the page is full.
    let today = today_in_china();
    match wanted {
        PlanTaskStatus::Overdue => {
            select = select
                .filter(plan_task::Column::DueOn.lt(today))
                .filter(plan_task::Column::TargetCount.gt(0))
        }
        PlanTaskStatus::Pending => {
            select = select
                .filter(plan_task::Column::DueOn.gte(today))
                .filter(plan_task::Column::TargetCount.gt(0))
        }
        PlanTaskStatus::NotTracked => select = select.filter(plan_task::Column::TargetCount.eq(0)),
        PlanTaskStatus::Done => select = select.filter(plan_task::Column::TargetCount.gt(0)),
    }
    let mut found = Vec::new();
    let mut after = page.cursor;
    loop {
        let args = PageArgs {
            limit: crate::domain::Limit::parse(Some(STATUS_CHUNK as i64 - 1))
                .map_err(AppError::internal)?,
            cursor: after,
        };
        let rows =
            records::fetch_page(&ctx.db, select.clone(), plan_task::Column::Id, args).await?;
        let exhausted = (rows.len() as u64) < STATUS_CHUNK;
        after = rows.last().map(|r| Cursor::after(r.id));
        found.extend(
            task_views_with_years(&ctx.db, &dir, rows)
                .await?
                .into_iter()
                .filter(|v| v.status == wanted),
        );
        if exhausted || found.len() as u64 > page.limit.get() {
            break;
        }
    }
    Ok(Page::from_rows(found, page.limit.get(), |v| v.id))
}

/// Batch read for GraphQL loaders: the readable, live plans among `ids`.
pub async fn get_many(
    ctx: &AppCtx,
    actor: &Actor,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, PlanView>> {
    kernel::get_many::<Plans>(ctx, actor, ids).await
}

/// Batch read for GraphQL loaders: the tasks of each readable plan among `plan_ids`, progress
/// computed for all of them together.
pub async fn tasks_of_many(
    ctx: &AppCtx,
    actor: &Actor,
    plan_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<PlanTaskView>>> {
    let plans: Vec<(Uuid, i32)> = get_many(ctx, actor, plan_ids)
        .await?
        .into_values()
        .map(|p| (p.id, p.year))
        .collect();
    let dir = ctx.directory.get(&ctx.db).await?;
    tasks_of_plans(&ctx.db, &dir, &plans).await
}

// ---------------------------------------------------------------------------------------------
// Plan writes

pub async fn create(ctx: &AppCtx, actor: &Actor, input: NewPlan) -> AppResult<PlanView> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let (owner, org_exists) = kernel::new_owner(&dir, actor, input.org_id);
    ensure_write(actor, scope, RecordKind::Plan, owner)?;

    let mut f = Fields::new();
    if !org_exists {
        f.push("org_id", "no such organization");
    }
    check_year(&mut f, "year", Some(input.year));
    let title = f.check("title", Text::parse(&input.title, TITLE_MAX));
    let external = records::external_id(&mut f, input.external_id.as_deref());
    f.finish()?;
    let taken = plan::Entity::find()
        .filter(plan::Column::DeletedAt.is_null())
        .filter(plan::Column::OrgId.eq(input.org_id))
        .filter(plan::Column::Year.eq(input.year))
        .count(&tx)
        .await?;
    if taken > 0 {
        return Err(AppError::conflict(
            "year",
            format!("this organization already has a plan for {}", input.year),
        ));
    }

    let id = Uuid::now_v7();
    let at = now();
    let inserted = plan::Entity::insert(plan::ActiveModel {
        id: Set(id),
        org_id: Set(input.org_id),
        year: Set(input.year),
        title: Set(checked(title)?.into_inner()),
        version: Set(1),
        owner_org_id: Set(input.org_id),
        external_id: Set(checked(external)?),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_with_returning(&tx)
    .await?;
    let view = PlanView::from_model(inserted);
    audit::record(
        &tx,
        actor,
        audit::Action::Create,
        RecordKind::Plan,
        id,
        None,
        Some(&view),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: PlanPatch,
) -> AppResult<PlanView> {
    // Resolve the scope before the transaction: it must not wait for a second connection
    // while this one is held (an in-memory SQLite pool has only one).
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let current = kernel::find::<Plans>(&tx, scope, id).await?;
    ensure_write(
        actor,
        scope,
        RecordKind::Plan,
        kernel::owner(&dir, &tx, current.owner_org_id).await?,
    )?;
    check_version(expected_version, current.version)?;
    let before = PlanView::from_model(current.clone());

    let mut f = Fields::new();
    let title = match &patch.title {
        Some(t) => f
            .check("title", Text::parse(t, TITLE_MAX))
            .map(Text::into_inner),
        None => Some(current.title.clone()),
    };
    let external = records::patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        current.external_id.clone(),
        |e| Text::parse(e, records::EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    f.finish()?;
    let mut model: plan::ActiveModel = current.clone().into();
    model.title = Set(checked(title)?);
    model.external_id = Set(checked(external)?);
    let after = save_plan(&tx, model, id, current.version).await?;
    let view = PlanView::from_model(after);
    audit::record(
        &tx,
        actor,
        audit::Action::Update,
        RecordKind::Plan,
        id,
        Some(&before),
        Some(&view),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

/// Deletes the plan and its tasks together, each with its audit entry.
pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let current = kernel::find::<Plans>(&tx, scope, id).await?;
    ensure_write(
        actor,
        scope,
        RecordKind::Plan,
        kernel::owner(&dir, &tx, current.owner_org_id).await?,
    )?;
    check_version(expected_version, current.version)?;
    let stored = plan_task::Entity::find()
        .filter(plan_task::Column::PlanId.eq(current.id))
        .filter(plan_task::Column::DeletedAt.is_null())
        .order_by_asc(plan_task::Column::Id)
        .all(&tx)
        .await?;
    let views = task_views(
        &tx,
        &dir,
        stored.iter().cloned().map(|t| (t, current.year)).collect(),
    )
    .await?;
    for (task, view) in stored.into_iter().zip(views) {
        let (task_id, task_version) = (task.id, task.version);
        let mut model: plan_task::ActiveModel = task.into();
        model.deleted_at = Set(Some(now()));
        save_task(&tx, model, task_id, task_version).await?;
        audit::record(
            &tx,
            actor,
            audit::Action::Delete,
            RecordKind::PlanTask,
            task_id,
            Some(&view),
            None,
        )
        .await?;
    }
    let before = PlanView::from_model(current.clone());
    let mut model: plan::ActiveModel = current.clone().into();
    model.deleted_at = Set(Some(now()));
    save_plan(&tx, model, id, current.version).await?;
    audit::record(
        &tx,
        actor,
        audit::Action::Delete,
        RecordKind::Plan,
        id,
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Task writes

/// A task's fields after merging input with what is stored, before validation.
struct TaskDraft {
    quarter: i32,
    title: Option<String>,
    due_on: NaiveDate,
    responsible_org_id: Uuid,
    target_count: i32,
    counts_record_type: Option<CountedRecord>,
    counts_kind: Option<String>,
}

/// Checks a task against its plan: quarter, due date in the plan's year, the responsible
/// organization in the plan's organization's subtree, and a target that something can count.
async fn check_task(
    db: &impl ConnectionTrait,
    f: &mut Fields,
    plan: &plan::Model,
    d: &TaskDraft,
) -> AppResult<()> {
    check_quarter(f, Some(d.quarter));
    if d.due_on.year() != plan.year {
        f.push(
            "due_on",
            format!("must be in the plan's year {}", plan.year),
        );
    }
    if d.responsible_org_id != plan.org_id
        && !scope::subtree(db, plan.org_id)
            .await?
            .contains(&d.responsible_org_id)
    {
        f.push(
            "responsible_org_id",
            "must be the plan's organization or one under it",
        );
    }
    if d.target_count < 0 {
        f.push("target_count", "must be 0 or more");
    } else if d.target_count > 0 && d.counts_record_type.is_none() {
        f.push(
            "counts_record_type",
            "is needed for a target above 0: name the record type that counts",
        );
    }
    match (d.counts_record_type, d.counts_kind.as_deref()) {
        (None, Some(_)) => f.push("counts_kind", "needs counts_record_type"),
        (Some(CountedRecord::Agreement), Some(_)) => {
            f.push("counts_kind", "agreements have no kind: leave it out")
        }
        (Some(t), Some(k)) if !t.kinds().contains(&k) => f.push(
            "counts_kind",
            format!("must be one of {} for {}", t.kinds().join(", "), t.as_str()),
        ),
        _ => {}
    }
    Ok(())
}

pub async fn create_task(
    ctx: &AppCtx,
    actor: &Actor,
    input: NewPlanTask,
) -> AppResult<PlanTaskView> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let plan = match live_plan(&tx, input.plan_id).await? {
        Some(p) if scope.can_read_org(p.org_id) => Some(p),
        _ => None,
    };
    // Without a plan, the caller's own organization stands in so the role answers first.
    let owner = match &plan {
        Some(p) => kernel::owner(&dir, &tx, p.owner_org_id).await?,
        None => Owner {
            org_id: actor.org_id.unwrap_or_default(),
            region: Region::West,
        },
    };
    ensure_write(actor, scope, RecordKind::PlanTask, owner)?;
    let Some(plan) = plan else {
        return Err(AppError::field("plan_id", "no such plan"));
    };
    let mut f = Fields::new();
    let draft = TaskDraft {
        quarter: input.quarter,
        title: f
            .check("title", Text::parse(&input.title, TASK_TITLE_MAX))
            .map(Text::into_inner),
        due_on: match input.due_on {
            Some(d) => d,
            None => quarter_end(plan.year, input.quarter.clamp(1, 4))
                .ok_or_else(|| AppError::internal("a quarter without an end"))?,
        },
        responsible_org_id: input.responsible_org_id.unwrap_or(plan.org_id),
        target_count: input.target_count.unwrap_or(0),
        counts_record_type: input.counts_record_type,
        counts_kind: input.counts_kind.map(|k| k.trim().to_string()),
    };
    check_task(&tx, &mut f, &plan, &draft).await?;
    let external = records::external_id(&mut f, input.external_id.as_deref());
    f.finish()?;

    let id = Uuid::now_v7();
    let at = now();
    let inserted = plan_task::Entity::insert(plan_task::ActiveModel {
        id: Set(id),
        plan_id: Set(plan.id),
        quarter: Set(draft.quarter),
        title: Set(checked(draft.title)?),
        due_on: Set(draft.due_on),
        responsible_org_id: Set(draft.responsible_org_id),
        target_count: Set(draft.target_count),
        counts_record_type: Set(draft.counts_record_type.map(|t| t.as_str().to_string())),
        counts_kind: Set(draft.counts_kind),
        version: Set(1),
        owner_org_id: Set(plan.org_id),
        external_id: Set(checked(external)?),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_with_returning(&tx)
    .await?;
    let view = one_view(&tx, &dir, inserted, plan.year).await?;
    audit::record(
        &tx,
        actor,
        audit::Action::Create,
        RecordKind::PlanTask,
        id,
        None,
        Some(&view),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn update_task(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: PlanTaskPatch,
) -> AppResult<PlanTaskView> {
    // Resolve the scope before the transaction: it must not wait for a second connection
    // while this one is held (an in-memory SQLite pool has only one).
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let (current, plan) = task_with_plan(&tx, scope, id).await?;
    ensure_write(
        actor,
        scope,
        RecordKind::PlanTask,
        kernel::owner(&dir, &tx, current.owner_org_id).await?,
    )?;
    check_version(expected_version, current.version)?;
    let before = one_view(&tx, &dir, current.clone(), plan.year).await?;

    let mut f = Fields::new();
    let counts_record_type = match patch.counts_record_type {
        MaybeUndefined::Undefined => before.counts_record_type,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(t) => Some(t),
    };
    let counts_kind = match patch.counts_kind {
        MaybeUndefined::Undefined => current.counts_kind.clone(),
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(k) => Some(k.trim().to_string()),
    };
    let draft = TaskDraft {
        quarter: patch.quarter.unwrap_or(current.quarter),
        title: match &patch.title {
            Some(t) => f
                .check("title", Text::parse(t, TASK_TITLE_MAX))
                .map(Text::into_inner),
            None => Some(current.title.clone()),
        },
        due_on: patch.due_on.unwrap_or(current.due_on),
        responsible_org_id: patch
            .responsible_org_id
            .unwrap_or(current.responsible_org_id),
        target_count: patch.target_count.unwrap_or(current.target_count),
        counts_record_type,
        counts_kind,
    };
    check_task(&tx, &mut f, &plan, &draft).await?;
    let external = records::patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        current.external_id.clone(),
        |e| Text::parse(e, records::EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    f.finish()?;

    let mut model: plan_task::ActiveModel = current.clone().into();
    model.quarter = Set(draft.quarter);
    model.title = Set(checked(draft.title)?);
    model.due_on = Set(draft.due_on);
    model.responsible_org_id = Set(draft.responsible_org_id);
    model.target_count = Set(draft.target_count);
    model.counts_record_type = Set(draft.counts_record_type.map(|t| t.as_str().to_string()));
    model.counts_kind = Set(draft.counts_kind);
    model.external_id = Set(checked(external)?);
    let after = save_task(&tx, model, id, current.version).await?;
    let view = one_view(&tx, &dir, after, plan.year).await?;
    audit::record(
        &tx,
        actor,
        audit::Action::Update,
        RecordKind::PlanTask,
        id,
        Some(&before),
        Some(&view),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn delete_task(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let (current, plan) = task_with_plan(&tx, scope, id).await?;
    ensure_write(
        actor,
        scope,
        RecordKind::PlanTask,
        kernel::owner(&dir, &tx, current.owner_org_id).await?,
    )?;
    check_version(expected_version, current.version)?;
    let before = one_view(&tx, &dir, current.clone(), plan.year).await?;
    let mut model: plan_task::ActiveModel = current.clone().into();
    model.deleted_at = Set(Some(now()));
    save_task(&tx, model, id, current.version).await?;
    audit::record(
        &tx,
        actor,
        audit::Action::Delete,
        RecordKind::PlanTask,
        id,
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn save_plan(
    tx: &impl ConnectionTrait,
    model: plan::ActiveModel,
    id: Uuid,
    version: i32,
) -> AppResult<plan::Model> {
    super::save_versioned::<plan::Entity>(
        tx,
        model,
        id,
        version,
        [
            plan::Column::Id,
            plan::Column::Version,
            plan::Column::UpdatedAt,
        ],
    )
    .await
}

async fn save_task(
    tx: &impl ConnectionTrait,
    model: plan_task::ActiveModel,
    id: Uuid,
    version: i32,
) -> AppResult<plan_task::Model> {
    super::save_versioned::<plan_task::Entity>(
        tx,
        model,
        id,
        version,
        [
            plan_task::Column::Id,
            plan_task::Column::Version,
            plan_task::Column::UpdatedAt,
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn status_follows_count_target_and_date() {
        let due = day(2019, 3, 31);
        use PlanTaskStatus::*;
        assert_eq!(status_of(1, 1, due, day(2019, 4, 1)), Done);
        assert_eq!(status_of(2, 1, due, day(2019, 3, 1)), Done);
        assert_eq!(status_of(0, 1, due, day(2019, 3, 31)), Pending);
        assert_eq!(status_of(0, 1, due, day(2019, 4, 1)), Overdue);
        // Nothing to count: met at once.
        assert_eq!(status_of(0, 0, due, day(2020, 1, 1)), NotTracked);
    }

    #[test]
    fn quarters_end_where_the_plan_says() {
        assert_eq!(quarter_end(2019, 1), Some(day(2019, 3, 31)));
        assert_eq!(quarter_end(2019, 2), Some(day(2019, 6, 30)));
        assert_eq!(quarter_end(2019, 3), Some(day(2019, 9, 30)));
        assert_eq!(quarter_end(2019, 4), Some(day(2019, 12, 31)));
        assert_eq!(quarter_end(2019, 5), None);
    }

    #[test]
    fn windows_stay_in_the_plan_year() {
        assert_eq!(
            window(2019, day(2019, 6, 30)),
            Some((day(2019, 1, 1), day(2019, 6, 30)))
        );
        assert_eq!(
            window(2019, day(2020, 1, 10)),
            Some((day(2019, 1, 1), day(2019, 12, 31)))
        );
        assert_eq!(window(2019, day(2018, 12, 31)), None);
    }

    #[test]
    fn china_dates_are_utc_plus_eight() {
        let late = day(2019, 3, 31)
            .and_hms_opt(17, 0, 0)
            .unwrap_or_default()
            .and_utc();
        assert_eq!(china_date(late), day(2019, 4, 1));
        assert_eq!(
            china_midnight(day(2019, 4, 1)).ok(),
            Some(
                day(2019, 3, 31)
                    .and_hms_opt(16, 0, 0)
                    .unwrap_or_default()
                    .and_utc()
            )
        );
    }

    #[test]
    fn names_round_trip() {
        for t in CountedRecord::ALL {
            assert_eq!(CountedRecord::parse(t.as_str()), Some(*t));
        }
        for s in PlanTaskStatus::ALL {
            assert_eq!(PlanTaskStatus::parse(s.as_str()), Some(*s));
        }
        assert!(CountedRecord::Exchange.kinds().contains(&"special_meeting"));
        assert!(CountedRecord::Agreement.kinds().is_empty());
    }
}
