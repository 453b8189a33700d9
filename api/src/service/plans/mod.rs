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

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::{Datelike, NaiveDate};
use entity::{plan, plan_task, plan_task_org};
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
    AppCtx, Page, audit, changes, check_version,
    directory::Directory,
    exchanges::{ExchangeDirection, ExchangeKind},
    kernel::{self, Columns, Readable, Record},
    now,
    pairings::today_in_china,
    records::{self, PageArgs},
};
use crate::{
    authz::Actor,
    authz::{Owner, RecordKind, Scope, ensure_write},
    domain::{Cursor, Fields, FundKind, ProjectStatus, Region, Text, checked},
    error::{AppError, AppResult},
};

pub const TITLE_MAX: usize = 200;
pub const TASK_TITLE_MAX: usize = 500;
/// 文号, e.g. 黔残联办发〔2019〕8号.
pub const DOCUMENT_NO_MAX: usize = 100;
pub const ISSUER_MAX: usize = 200;
/// Addressees, goals, contents and the summary: multi-line text.
pub const PLAN_TEXT_MAX: usize = 20_000;
pub const INNOVATIONS_MAX: usize = 50;
pub const INNOVATION_TITLE_MAX: usize = 200;
/// Organizations a task may ask to meet its target each.
pub const TARGET_ORGS_MAX: usize = 200;
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
    /// From when a task counts records: the start of its quarter ("第三季度：…走访对口帮扶省份和城
    /// 市"), or of its plan's year ("每年安排1次以上").
    CountsPeriod {
        Quarter => "quarter",
        Year => "year",
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
        /// Dated by `established_on`; no kind.
        WorkingGroup => "working_group",
        /// A plan for the task's year: `issued` counts it by `issued_on`, `summarized` by the
        /// day of its year-end summary, `summarized_on`.
        Plan => "plan",
        /// A ledger for the task's year that was not returned, dated by when it was submitted
        /// (Asia/Shanghai): `quarterly` counts the ledger of the task's quarter, `annual` the
        /// year's materials.
        LedgerSubmission => "ledger_submission",
        /// A self-assessment (the work report) for the task's year, dated by when it was
        /// submitted; no kind.
        SelfAssessment => "self_assessment",
    }
);

impl CountedRecord {
    /// The values `counts_kind` may take for this record type, from the record types' own
    /// enums.
    pub fn kinds(self) -> Vec<&'static str> {
        match self {
            Self::Exchange => ExchangeKind::ALL.iter().map(|k| k.as_str()).collect(),
            Self::Project => ProjectStatus::ALL.iter().map(|s| s.as_str()).collect(),
            Self::Agreement | Self::WorkingGroup | Self::SelfAssessment => Vec::new(),
            Self::FundTransaction => FundKind::ALL.iter().map(|k| k.as_str()).collect(),
            Self::Plan => vec![PLAN_ISSUED, PLAN_SUMMARIZED],
            Self::LedgerSubmission => vec![LEDGER_QUARTERLY, LEDGER_ANNUAL],
        }
    }

    /// Whether a task counting this type must name a kind: a plan is counted when issued or when
    /// summarized, a ledger of the quarter or of the year, never both at once.
    pub fn needs_kind(self) -> bool {
        matches!(self, Self::Plan | Self::LedgerSubmission)
    }

    /// Whether the records are read as their organization is (whoever may read a federation
    /// may read its plan and working group), rather than as ledger records.
    pub fn read_as_org(self) -> bool {
        matches!(self, Self::Plan | Self::WorkingGroup)
    }

    /// Whether the records carry the year they are for: then they count for tasks of that
    /// year, whenever in the window up to the due date they are dated.
    pub fn has_year(self) -> bool {
        matches!(
            self,
            Self::Plan | Self::LedgerSubmission | Self::SelfAssessment
        )
    }
}

pub const PLAN_ISSUED: &str = "issued";
pub const PLAN_SUMMARIZED: &str = "summarized";
pub const LEDGER_QUARTERLY: &str = "quarterly";
pub const LEDGER_ANNUAL: &str = "annual";

/// An innovative practice (创新做法) the year-end summary names.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, SimpleObject, InputObject,
)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "InnovationInput")]
pub struct Innovation {
    pub title: String,
    pub description: String,
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
    /// 文号, e.g. 黔残联办发〔2019〕8号.
    pub document_no: Option<String>,
    /// The day the plan was issued (印发); a plan counts as made from then.
    pub issued_on: Option<NaiveDate>,
    /// Who issued it, e.g. 贵州省残疾人联合会办公室.
    pub issuer: Option<String>,
    /// Whom it is addressed to (主送).
    pub addressees: Option<String>,
    /// 工作目标.
    pub goals: Option<String>,
    /// 主要工作内容 and 任务安排.
    pub contents: Option<String>,
    /// The year-end summary (总结).
    pub summary: Option<String>,
    /// The innovative practices (创新做法) the summary names.
    pub innovations: Vec<Innovation>,
    /// The day the summary was made; the summary counts from then.
    pub summarized_on: Option<NaiveDate>,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl PlanView {
    pub fn from_model(m: plan::Model) -> AppResult<Self> {
        let innovations = match m.innovations {
            None => Vec::new(),
            Some(json) => serde_json::from_value(json)
                .map_err(|e| AppError::internal(format!("stored innovations: {e}")))?,
        };
        Ok(Self {
            id: m.id,
            org_id: m.org_id,
            year: m.year,
            title: m.title,
            document_no: m.document_no,
            issued_on: m.issued_on,
            issuer: m.issuer,
            addressees: m.addressees,
            goals: m.goals,
            contents: m.contents,
            summary: m.summary,
            innovations,
            summarized_on: m.summarized_on,
            version: m.version,
            owner_org_id: m.owner_org_id,
            external_id: m.external_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
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
    /// An exchange kind, project status, fund transaction kind, `issued` or `summarized` for
    /// plans, `quarterly` or `annual` for ledger submissions; absent counts every kind.
    pub counts_kind: Option<String>,
    /// Exchanges only: who travelled. Absent counts every direction.
    pub counts_direction: Option<ExchangeDirection>,
    /// Exchanges only: count only those with leaders present ("省残联领导 …").
    pub counts_leaders: bool,
    /// Records dated from the start of the task's quarter, or of the plan's year, count.
    /// Working groups count when set up by the due date, whenever; plans, ledgers and
    /// self-assessments when they are for the plan's year.
    pub counts_period: CountsPeriod,
    /// 规定动作, set by the plan (`true`), or 自选动作, chosen by the organization (`false`).
    pub mandatory: bool,
    /// When not empty, each of these organizations must meet `target_count` on its own, with
    /// the records of the organization itself and its departments and institutions ("省及受帮扶
    /// 的8个市（州）残联 …": each of the nine). In id order.
    pub target_org_ids: Vec<Uuid>,
    /// Computed: live records of `counts_record_type` (and `counts_kind`, direction, leaders)
    /// dated on or before `due_on` — in the plan's year, or for the plan's year where the
    /// record names one — owned by the responsible organization or one under it, or, for a task
    /// with `target_org_ids`, the sum over those organizations.
    pub progress_count: i32,
    /// Computed, for a task with `target_org_ids`: each organization's count and status.
    pub progress_by_org: Vec<OrgProgress>,
    /// Computed from `progress_count` (each organization's, for a task with
    /// `target_org_ids`: done only when every one is), `target_count`, `due_on` and today in
    /// Asia/Shanghai.
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
    pub document_no: Option<String>,
    /// In the plan's year or the year before.
    #[serde(default)]
    pub issued_on: Option<NaiveDate>,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub addressees: Option<String>,
    #[serde(default)]
    pub goals: Option<String>,
    #[serde(default)]
    pub contents: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub innovations: Option<Vec<Innovation>>,
    /// In the plan's year or the year after; needs `summary`.
    #[serde(default)]
    pub summarized_on: Option<NaiveDate>,
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
    pub document_no: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub issued_on: MaybeUndefined<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub issuer: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub addressees: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub goals: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub contents: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub summary: MaybeUndefined<String>,
    /// Replaces the list; `[]` clears it.
    #[serde(default)]
    pub innovations: Option<Vec<Innovation>>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub summarized_on: MaybeUndefined<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: MaybeUndefined<String>,
}

/// A plan's document metadata and summary as a write leaves them, before validation.
#[derive(Default)]
struct Metadata {
    document_no: Option<String>,
    issued_on: Option<NaiveDate>,
    issuer: Option<String>,
    addressees: Option<String>,
    goals: Option<String>,
    contents: Option<String>,
    summary: Option<String>,
    innovations: Vec<Innovation>,
    summarized_on: Option<NaiveDate>,
}

/// The stored value after a patch: absent keeps it, `null` clears it.
fn merged<T: Clone>(patch: &MaybeUndefined<T>, current: Option<T>) -> Option<T> {
    match patch {
        MaybeUndefined::Undefined => current,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => Some(v.clone()),
    }
}

impl Metadata {
    fn of_new(input: &NewPlan) -> Self {
        Self {
            document_no: input.document_no.clone(),
            issued_on: input.issued_on,
            issuer: input.issuer.clone(),
            addressees: input.addressees.clone(),
            goals: input.goals.clone(),
            contents: input.contents.clone(),
            summary: input.summary.clone(),
            innovations: input.innovations.clone().unwrap_or_default(),
            summarized_on: input.summarized_on,
        }
    }

    fn patched(patch: &PlanPatch, current: &PlanView) -> Self {
        Self {
            document_no: merged(&patch.document_no, current.document_no.clone()),
            issued_on: merged(&patch.issued_on, current.issued_on),
            issuer: merged(&patch.issuer, current.issuer.clone()),
            addressees: merged(&patch.addressees, current.addressees.clone()),
            goals: merged(&patch.goals, current.goals.clone()),
            contents: merged(&patch.contents, current.contents.clone()),
            summary: merged(&patch.summary, current.summary.clone()),
            innovations: patch
                .innovations
                .clone()
                .unwrap_or_else(|| current.innovations.clone()),
            summarized_on: merged(&patch.summarized_on, current.summarized_on),
        }
    }

    /// Checks every field against the plan's `year`, naming each bad one, and returns the
    /// metadata trimmed as it is stored.
    fn check(self, f: &mut Fields, year: i32) -> Option<Self> {
        fn line(
            f: &mut Fields,
            field: &str,
            v: Option<String>,
            max: usize,
        ) -> Option<Option<String>> {
            match v {
                None => Some(None),
                Some(v) => f
                    .check(field, Text::parse(&v, max))
                    .map(|t| Some(t.into_inner())),
            }
        }
        fn long(f: &mut Fields, field: &str, v: Option<String>) -> Option<Option<String>> {
            match v {
                None => Some(None),
                Some(v) => f
                    .check(field, records::long_text(&v, PLAN_TEXT_MAX))
                    .map(Some),
            }
        }
        f.date("issued_on", self.issued_on);
        f.date("summarized_on", self.summarized_on);
        if self
            .issued_on
            .is_some_and(|d| d.year() != year && d.year() != year - 1)
        {
            f.push("issued_on", format!("must be in {} or {year}", year - 1));
        }
        if self
            .summarized_on
            .is_some_and(|d| d.year() != year && d.year() != year + 1)
        {
            f.push(
                "summarized_on",
                format!("must be in {year} or {}", year + 1),
            );
        }
        if self.summarized_on.is_some() && self.summary.is_none() {
            f.push("summarized_on", "needs the summary it dates");
        }
        if let (Some(issued), Some(summarized)) = (self.issued_on, self.summarized_on)
            && summarized < issued
        {
            f.push("summarized_on", "must not come before issued_on");
        }
        if self.innovations.len() > INNOVATIONS_MAX {
            f.push(
                "innovations",
                format!("must hold at most {INNOVATIONS_MAX} practices"),
            );
        }
        let mut innovations = Vec::with_capacity(self.innovations.len());
        for (i, item) in self.innovations.iter().enumerate() {
            let title = f.check(
                &format!("innovations[{i}].title"),
                Text::parse(&item.title, INNOVATION_TITLE_MAX),
            );
            let description = f.check(
                &format!("innovations[{i}].description"),
                records::long_text(&item.description, PLAN_TEXT_MAX),
            );
            if let (Some(title), Some(description)) = (title, description) {
                innovations.push(Innovation {
                    title: title.into_inner(),
                    description,
                });
            }
        }
        let document_no = line(f, "document_no", self.document_no, DOCUMENT_NO_MAX);
        let issuer = line(f, "issuer", self.issuer, ISSUER_MAX);
        let addressees = long(f, "addressees", self.addressees);
        let goals = long(f, "goals", self.goals);
        let contents = long(f, "contents", self.contents);
        let summary = long(f, "summary", self.summary);
        Some(Self {
            document_no: document_no?,
            issued_on: self.issued_on,
            issuer: issuer?,
            addressees: addressees?,
            goals: goals?,
            contents: contents?,
            summary: summary?,
            innovations,
            summarized_on: self.summarized_on,
        })
    }

    /// Sets the columns on `model`.
    fn apply(self, model: &mut plan::ActiveModel) -> AppResult<()> {
        model.document_no = Set(self.document_no);
        model.issued_on = Set(self.issued_on);
        model.issuer = Set(self.issuer);
        model.addressees = Set(self.addressees);
        model.goals = Set(self.goals);
        model.contents = Set(self.contents);
        model.summary = Set(self.summary);
        model.innovations = Set(if self.innovations.is_empty() {
            None
        } else {
            Some(
                serde_json::to_value(&self.innovations)
                    .map_err(|e| AppError::internal(e.to_string()))?,
            )
        });
        model.summarized_on = Set(self.summarized_on);
        Ok(())
    }
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
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

/// One organization's part of a task it must meet on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(complex)]
pub struct OrgProgress {
    pub org_id: Uuid,
    pub progress_count: i32,
    pub status: PlanTaskStatus,
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
    /// Exchanges only.
    #[serde(default)]
    pub counts_direction: Option<ExchangeDirection>,
    /// Exchanges only (false when absent).
    #[serde(default)]
    pub counts_leaders: Option<bool>,
    /// `year` when absent.
    #[serde(default)]
    pub counts_period: Option<CountsPeriod>,
    /// True (规定动作) when absent.
    #[serde(default)]
    pub mandatory: Option<bool>,
    /// The plan's organization or ones under it, each to meet the target on its own.
    #[serde(default)]
    pub target_org_ids: Option<Vec<Uuid>>,
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
    #[schema(value_type = Option<ExchangeDirection>)]
    pub counts_direction: MaybeUndefined<ExchangeDirection>,
    #[serde(default)]
    pub counts_leaders: Option<bool>,
    #[serde(default)]
    pub counts_period: Option<CountsPeriod>,
    #[serde(default)]
    pub mandatory: Option<bool>,
    /// Replaces the list; `[]` makes the responsible organization's subtree count as a whole.
    #[serde(default)]
    pub target_org_ids: Option<Vec<Uuid>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: MaybeUndefined<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "PlanTaskFilter")]
pub struct PlanTaskQuery {
    pub plan_id: Option<Uuid>,
    /// The responsible organization, or one of the organizations that must each meet the
    /// target.
    pub org_id: Option<Uuid>,
    /// 规定动作 (`true`) or 自选动作 (`false`).
    pub mandatory: Option<bool>,
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
        PlanView::from_model(row)
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
        plan: PlanView::from_model(plan)?,
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
        let view = PlanView::from_model(m)?;
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
    let metadata = Metadata::of_new(&input).check(&mut f, input.year);
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
    let mut model = plan::ActiveModel {
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
        ..Default::default()
    };
    checked(metadata)?.apply(&mut model)?;
    let inserted = plan::Entity::insert(model).exec_with_returning(&tx).await?;
    kernel::feed::<Plans>(&tx, id, inserted.version, None, Some(&inserted)).await?;
    let view = PlanView::from_model(inserted)?;
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
    let metadata = Metadata::patched(&patch, &PlanView::from_model(current.clone())?)
        .check(&mut f, current.year);
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
    checked(metadata)?.apply(&mut model)?;
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
    let mut feed = Vec::new();
    for (task, view) in stored.into_iter().zip(views) {
        let (task_id, task_version) = (task.id, task.version);
        let mut model: plan_task::ActiveModel = task.into();
        model.deleted_at = Set(Some(now()));
        let deleted = save_task(tx, model, task_id, task_version).await?;
        feed.push(tasks::task_change(&deleted, Some(&deleted), false));
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
    change.delete_with(&feed).await
}

#[cfg(test)]
mod tests {
    use super::{
        progress::{china_date, china_midnight, status_of_all, window},
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
        let (ex, year, quarter) = (
            CountedRecord::Exchange,
            CountsPeriod::Year,
            CountsPeriod::Quarter,
        );
        assert_eq!(
            window(ex, year, 2019, 2, day(2019, 6, 30)),
            Some((day(2019, 1, 1), day(2019, 6, 30)))
        );
        assert_eq!(
            window(ex, quarter, 2019, 2, day(2019, 6, 30)),
            Some((day(2019, 4, 1), day(2019, 6, 30)))
        );
        assert_eq!(
            window(ex, quarter, 2019, 1, day(2019, 3, 31)),
            Some((day(2019, 1, 1), day(2019, 3, 31)))
        );
        assert_eq!(
            window(ex, year, 2019, 4, day(2020, 1, 10)),
            Some((day(2019, 1, 1), day(2019, 12, 31)))
        );
        assert_eq!(window(ex, year, 2019, 1, day(2018, 12, 31)), None);
        // A record for the year counts up to the due date, even in the next year: the Q4
        // ledger is due in January.
        let ledger = CountedRecord::LedgerSubmission;
        assert_eq!(
            window(ledger, quarter, 2019, 4, day(2020, 1, 8)),
            Some((day(2018, 1, 1), day(2020, 1, 8)))
        );
        // A working group counts however long before it was set up.
        assert_eq!(
            window(
                CountedRecord::WorkingGroup,
                quarter,
                2019,
                1,
                day(2019, 3, 31)
            ),
            Some((day(1919, 1, 1), day(2019, 3, 31)))
        );
    }

    #[test]
    fn a_task_of_several_organizations_is_done_when_each_is() {
        use PlanTaskStatus::*;
        let due = day(2019, 6, 30);
        assert_eq!(status_of_all(&[Done, Done], 1, due, day(2019, 7, 1)), Done);
        assert_eq!(
            status_of_all(&[Done, Overdue], 1, due, day(2019, 7, 1)),
            Overdue
        );
        assert_eq!(
            status_of_all(&[Done, Pending], 1, due, day(2019, 6, 30)),
            Pending
        );
        assert_eq!(status_of_all(&[Done], 0, due, day(2019, 6, 30)), NotTracked);
    }

    #[test]
    fn ledger_tasks_count_the_period_they_name() {
        use progress::stored_kind;
        let l = CountedRecord::LedgerSubmission;
        assert_eq!(stored_kind(l, LEDGER_QUARTERLY, 3), "3");
        assert_eq!(stored_kind(l, LEDGER_ANNUAL, 4), "0");
        let e = CountedRecord::Exchange;
        assert_eq!(stored_kind(e, "training", 2), "training");
        assert!(l.needs_kind() && CountedRecord::Plan.needs_kind());
        assert!(!e.needs_kind() && !e.has_year());
        assert!(CountedRecord::SelfAssessment.has_year());
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
