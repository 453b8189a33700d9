//! Yearly work plans (年度工作方案) and their quarterly tasks ("召开至少一次专题会议").
//!
//! A task with a target counts the records that meet it; its `progress_count` and `status` are
//! computed on every read (`progress.rs`) and never taken from a client (DESIGN §2, plan
//! progress). A list is computed as a whole with a fixed number of grouped queries, whatever its
//! length. Tasks are in `tasks.rs`; plans, the shared types and inputs here.

mod progress;
mod tasks;

use self::{
    progress::task_views,
    tasks::{save_task, tasks_of_plans},
};
pub use self::{
    progress::{quarter_end, status_of},
    tasks::{create_task, delete_task, get_task, list_tasks, tasks_of_many, update_task},
};

use std::collections::{HashMap, HashSet};

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::{Datelike, NaiveDate};
use entity::{plan, plan_task};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
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

pub const TITLE_MAX: usize = 200;
pub const TASK_TITLE_MAX: usize = 500;
/// The years a plan may be for.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;
pub const QUARTERS: std::ops::RangeInclusive<i32> = 1..=4;
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
// Plan reads

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
        kernel::record_columns!(C, Readable::Org(C::OrgId))
    }

    fn model(row: &plan::Model) -> &plan::Model {
        row
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

fn check_year(f: &mut Fields, field: &str, year: Option<i32>) {
    if year.is_some_and(|y| !YEARS.contains(&y)) {
        f.push(
            field,
            format!("must be between {} and {}", YEARS.start(), YEARS.end()),
        );
    }
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<PlanView> {
    kernel::get::<Plans>(ctx, actor, id).await
}

/// A plan with all its tasks, progress computed.
pub async fn get_with_tasks(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<PlanDetail> {
    let plan = kernel::find::<Plans>(&ctx.db, actor.scope(), id).await?;
    let dir = ctx.directory.get(&ctx.db).await?;
    let tasks = tasks_of_plans(&ctx.db, &dir, actor.scope(), &[(plan.id, plan.year)]).await?;
    Ok(PlanDetail {
        tasks: tasks.into_iter().next().map(|(_, t)| t).unwrap_or_default(),
        plan: PlanView::from_model(plan),
    })
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
    f.instant("updated_since", q.updated_since);
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

/// Batch read for GraphQL loaders: the readable, live plans among `ids`.
pub async fn get_many(
    ctx: &AppCtx,
    actor: &Actor,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, PlanView>> {
    kernel::get_many::<Plans>(ctx, actor, ids).await
}

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
    kernel::ensure_external_free::<Plans>(
        &tx,
        actor,
        input.org_id,
        external.clone().flatten().as_deref(),
    )
    .await?;
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
    let change = kernel::change::<Plans>(ctx, actor, id, expected_version).await?;
    let current = &change.current;

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
    change.save(model).await
}

/// Deletes the plan and its tasks together, each with its audit entry.
pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    let change = kernel::change::<Plans>(ctx, actor, id, expected_version).await?;
    let (tx, dir, current) = (&change.tx, &change.dir, &change.current);
    let stored = plan_task::Entity::find()
        .filter(plan_task::Column::PlanId.eq(current.id))
        .filter(plan_task::Column::DeletedAt.is_null())
        .order_by_asc(plan_task::Column::Id)
        .all(tx)
        .await?;
    let views = task_views(
        tx,
        dir,
        actor.scope(),
        stored.iter().cloned().map(|t| (t, current.year)).collect(),
    )
    .await?;
    for (task, view) in stored.into_iter().zip(views) {
        let (task_id, task_version) = (task.id, task.version);
        let mut model: plan_task::ActiveModel = task.into();
        model.deleted_at = Set(Some(now()));
        save_task(tx, model, task_id, task_version).await?;
        audit::record(
            tx,
            actor,
            audit::Action::Delete,
            RecordKind::PlanTask,
            task_id,
            Some(&view),
            None,
        )
        .await?;
    }
    change.delete().await
}

#[cfg(test)]
mod tests {
    use super::{
        progress::{china_date, china_midnight, window},
        *,
    };

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
