//! The quarterly ledger (台账) of an organization (DESIGN §2, §7): the records of its subtree
//! and of its pairings in one quarter, with totals and the **gaps** the work plan asks to check
//! ("核对数据、凭证、附件之间的逻辑关系") before the ledger is submitted. The year's materials
//! (due 1 December) are the same ledger over the whole year: read "the year" for "`Q`" below,
//! and evidence filed under any quarter of it.
//!
//! What a ledger of organization `O` for quarter `Q` of year `Y` holds (every record also under
//! the caller's scope; the caller must be able to read `O`):
//! - **fund transactions** dated in `Q`, recorded by `O`'s subtree or on a pairing one of whose
//!   sides is in it (so a prefecture's ledger shows its partner's transfers);
//! - **exchanges** starting in `Q`, recorded, hosted or paired the same way;
//! - **projects** of year `Y` recorded by the subtree or on its pairings, with their status
//!   **at the end of `Q`** (from the audit log; the stored status when no change is logged),
//!   and the projects the listed transactions are for. A ledger may be kept after the fact, so
//!   when a record was entered does not matter, only the dates it carries;
//! - **plan tasks** due in `Q` whose responsible organization is in the subtree, with their
//!   computed progress;
//! - **evidence** filed under `Q` or linked to any record listed.
//!
//! The gaps: a fund transaction without voucher evidence (a document, correspondence or
//! statistics file linked to it), an exchange without a photo or document, a project completed
//! (or verified) at the end of `Q` without an acceptance document, a plan task overdue.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_graphql::SimpleObject;
use chrono::NaiveDate;
use entity::{audit_log, evidence, evidence_link, exchange, fund_transaction, project};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    AppCtx, calendar,
    evidence::{EvidenceFamily, EvidenceView},
    exchanges::{ExchangeView, Exchanges},
    fund_transactions::{FundTransactionView, FundTransactions},
    kernel,
    plans::{PlanTaskQuery, PlanTaskStatus, PlanTaskView, list_tasks},
    projects::{ProjectView, Projects},
};
use crate::{
    authz::Actor,
    domain::{EvidenceCategory, Fen, FundKind, ProjectStatus, RecordType},
    error::{AppError, AppResult, FieldError},
};

crate::domain::names!(
    /// What a gap is.
    GapKind {
        FundTransactionWithoutVoucher => "fund_transaction_without_voucher",
        ExchangeWithoutEvidence => "exchange_without_evidence",
        CompletedProjectWithoutAcceptance => "completed_project_without_acceptance",
        PlanTaskOverdue => "plan_task_overdue",
    }
);

/// Something the ledger lacks before it can be submitted.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema, SimpleObject)]
pub struct Gap {
    pub kind: GapKind,
    pub record_type: RecordType,
    pub record_id: Uuid,
    pub message: String,
}

/// A project as the ledger shows it: the record, and its status when the quarter ended. (In
/// JSON the project's fields are inline; in GraphQL they are under `project`.)
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema, SimpleObject)]
pub struct LedgerProject {
    #[serde(flatten)]
    pub project: ProjectView,
    /// The status at the end of the quarter (the current one is `status`).
    pub status_at_period_end: ProjectStatus,
}

/// The ledger's sums: money by kind (integer fen, of the transactions listed) and counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema, SimpleObject)]
pub struct LedgerTotals {
    pub pledged_fen: Fen,
    pub transferred_fen: Fen,
    pub arrived_fen: Fen,
    pub spent_fen: Fen,
    pub refunded_fen: Fen,
    pub projects: i32,
    pub fund_transactions: i32,
    pub exchanges: i32,
    pub plan_tasks: i32,
    pub evidence: i32,
    pub gaps: i32,
}

/// The ledger (台账) of an organization for a quarter or a year.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema, SimpleObject)]
pub struct Ledger {
    pub org_id: Uuid,
    pub year: i32,
    /// 1–4; null for the year's materials.
    pub quarter: Option<i32>,
    /// The fifth working day after the quarter (1 December for the year's materials); null
    /// when the calendar does not hold the year the count runs into.
    pub due_on: Option<NaiveDate>,
    pub totals: LedgerTotals,
    pub projects: Vec<LedgerProject>,
    pub fund_transactions: Vec<FundTransactionView>,
    pub exchanges: Vec<ExchangeView>,
    pub plan_tasks: Vec<PlanTaskView>,
    pub evidence: Vec<EvidenceView>,
    pub gaps: Vec<Gap>,
}

/// The ledger of `org_id` as the caller may see it, for one quarter of `year`, or (`quarter`
/// `None`) for the whole year, which is what the year's materials (due 1 December) hold.
pub async fn get(
    ctx: &AppCtx,
    actor: &Actor,
    org_id: Uuid,
    year: i32,
    quarter: Option<i32>,
) -> AppResult<Ledger> {
    let (start, end) = period(year, quarter)?;
    let scope = actor.scope();
    let dir = ctx.directory.get(&ctx.db).await?;
    if dir.live_owner(org_id).is_none() || !scope.can_read_org(org_id) {
        return Err(AppError::NotFound);
    }
    let subtree: Vec<Uuid> = dir.subtree(org_id).into_iter().collect();
    let in_subtree: HashSet<Uuid> = subtree.iter().copied().collect();
    let pairings: Vec<Uuid> = dir
        .live_pairing_rows()
        .filter(|p| in_subtree.contains(&p.west_org_id) || in_subtree.contains(&p.east_org_id))
        .map(|p| p.id)
        .collect();
    let ended_at = crate::domain::calendar::deadline_at(end);
    let backend = ctx.db.get_database_backend();

    // Fund transactions dated in the quarter.
    let ft_rows = kernel::visible::<FundTransactions>(backend, scope)
        .filter(fund_transaction::Column::OccurredOn.between(start, end))
        .filter(
            Condition::any()
                .add(fund_transaction::Column::OwnerOrgId.is_in(subtree.clone()))
                .add(fund_transaction::Column::PairingId.is_in(pairings.clone())),
        )
        .order_by_asc(fund_transaction::Column::OccurredOn)
        .order_by_asc(fund_transaction::Column::Id)
        .into_model()
        .all(&ctx.db)
        .await?;
    let fund_transactions = kernel::views::<FundTransactions>(actor, ft_rows)?;

    // Exchanges starting in the quarter.
    let ex_rows = kernel::visible::<Exchanges>(backend, scope)
        .filter(exchange::Column::StartOn.between(start, end))
        .filter(
            Condition::any()
                .add(exchange::Column::OwnerOrgId.is_in(subtree.clone()))
                .add(exchange::Column::HostOrgId.is_in(subtree.clone()))
                .add(exchange::Column::PairingId.is_in(pairings.clone())),
        )
        .order_by_asc(exchange::Column::StartOn)
        .order_by_asc(exchange::Column::Id)
        .into_model()
        .all(&ctx.db)
        .await?;
    let exchanges = kernel::views::<Exchanges>(actor, ex_rows)?;

    // Projects of the year, and those the transactions are for.
    let funded: Vec<Uuid> = fund_transactions
        .iter()
        .filter_map(|t| t.project_id)
        .collect();
    let pj_rows = kernel::visible::<Projects>(backend, scope)
        .filter(
            Condition::any()
                .add(
                    Condition::all().add(project::Column::Year.eq(year)).add(
                        Condition::any()
                            .add(project::Column::OwnerOrgId.is_in(subtree.clone()))
                            .add(project::Column::PairingId.is_in(pairings.clone())),
                    ),
                )
                .add(project::Column::Id.is_in(funded)),
        )
        .order_by_asc(project::Column::Code)
        .order_by_asc(project::Column::Id)
        .into_model()
        .all(&ctx.db)
        .await?;
    let project_views = kernel::views::<Projects>(actor, pj_rows)?;
    let statuses = statuses_at(ctx, &project_views, ended_at).await?;
    let projects: Vec<LedgerProject> = project_views
        .into_iter()
        .map(|p| {
            let status_at_period_end = statuses.get(&p.id).copied().unwrap_or(p.status);
            LedgerProject {
                project: p,
                status_at_period_end,
            }
        })
        .collect();

    // Plan tasks due in the quarter, of the subtree's organizations.
    let plan_tasks = tasks_due(ctx, actor, year, quarter, &in_subtree).await?;

    // Evidence filed under the quarter, or linked to a record listed.
    let mut listed: Vec<(RecordType, Uuid)> = Vec::new();
    listed.extend(projects.iter().map(|p| (RecordType::Project, p.project.id)));
    listed.extend(
        fund_transactions
            .iter()
            .map(|t| (RecordType::FundTransaction, t.id)),
    );
    listed.extend(exchanges.iter().map(|e| (RecordType::Exchange, e.id)));
    let mut linked_ids: Vec<Uuid> = Vec::new();
    for chunk in listed.chunks(500) {
        let ids: Vec<Uuid> = chunk.iter().map(|(_, id)| *id).collect();
        let rows = evidence_link::Entity::find()
            .filter(evidence_link::Column::RecordId.is_in(ids))
            .all(&ctx.db)
            .await?;
        linked_ids.extend(rows.into_iter().map(|l| l.evidence_id));
    }
    let ev_rows = kernel::visible::<EvidenceFamily>(backend, scope)
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(evidence::Column::PeriodYear.eq(year))
                        .add(match quarter {
                            Some(q) => Condition::all().add(evidence::Column::PeriodQuarter.eq(q)),
                            None => Condition::all(),
                        })
                        .add(
                            Condition::any()
                                .add(evidence::Column::OwnerOrgId.is_in(subtree.clone()))
                                .add(evidence::Column::PairingId.is_in(pairings.clone())),
                        ),
                )
                .add(evidence::Column::Id.is_in(linked_ids)),
        )
        .order_by_asc(evidence::Column::Id)
        .into_model()
        .all(&ctx.db)
        .await?;
    let evidence = kernel::views::<EvidenceFamily>(actor, ev_rows)?;

    let gaps = gaps(
        &projects,
        &fund_transactions,
        &exchanges,
        &plan_tasks,
        &evidence,
    );
    let totals = totals(
        &projects,
        &fund_transactions,
        &exchanges,
        &plan_tasks,
        &evidence,
        &gaps,
    );
    let due_on = match quarter {
        Some(q) => calendar::load(&ctx.db).await?.ledger_due_on(year, q).ok(),
        None => crate::domain::calendar::annual_due_on(year),
    };
    Ok(Ledger {
        org_id,
        year,
        quarter,
        due_on,
        totals,
        projects,
        fund_transactions,
        exchanges,
        plan_tasks,
        evidence,
        gaps,
    })
}

/// The first and last day of a ledger's period, checked.
pub fn period(year: i32, quarter: Option<i32>) -> AppResult<(NaiveDate, NaiveDate)> {
    let mut errors = Vec::new();
    let years = crate::domain::calendar::SETTABLE_YEARS;
    if !years.contains(&year) {
        errors.push(FieldError::new(
            "year",
            format!("must be between {} and {}", years.start(), years.end()),
        ));
    }
    let last_month: Option<u32> = match quarter {
        None => Some(12),
        Some(q @ 1..=4) => Some(q as u32 * 3),
        Some(_) => None,
    };
    if last_month.is_none() {
        errors.push(FieldError::new("quarter", "must be 1, 2, 3 or 4"));
    }
    let first_month = if quarter.is_some() { 2 } else { 11 };
    let dates = last_month.and_then(|m| {
        let start = NaiveDate::from_ymd_opt(year, m - first_month, 1)?;
        let end = match m {
            12 => NaiveDate::from_ymd_opt(year, 12, 31),
            _ => NaiveDate::from_ymd_opt(year, m + 1, 1)?.pred_opt(),
        }?;
        Some((start, end))
    });
    match (dates, errors.is_empty()) {
        (Some(dates), true) => Ok(dates),
        _ => Err(AppError::Validation(errors)),
    }
}

/// Each project's status at `at`, from the audit log: the `after` image of its last logged
/// change by then, or else the `before` image of its first change after it. A project no change
/// of which is logged keeps its stored status.
async fn statuses_at(
    ctx: &AppCtx,
    projects: &[ProjectView],
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<HashMap<Uuid, ProjectStatus>> {
    let status_in = |image: &Option<serde_json::Value>| {
        image
            .as_ref()
            .and_then(|a| a.get("status"))
            .and_then(|s| s.as_str())
            .and_then(ProjectStatus::parse)
    };
    let mut by_then = HashMap::new();
    let mut after_then = HashMap::new();
    for chunk in projects.chunks(500) {
        let ids: Vec<Uuid> = chunk.iter().map(|p| p.id).collect();
        let entries = audit_log::Entity::find()
            .filter(audit_log::Column::RecordType.eq(RecordType::Project.as_str()))
            .filter(audit_log::Column::RecordId.is_in(ids))
            .order_by_asc(audit_log::Column::OccurredAt)
            .order_by_asc(audit_log::Column::Id)
            .all(&ctx.db)
            .await?;
        for entry in entries {
            if entry.occurred_at <= at {
                if let Some(status) = status_in(&entry.after) {
                    by_then.insert(entry.record_id, status);
                }
            } else if let Some(status) = status_in(&entry.before) {
                after_then.entry(entry.record_id).or_insert(status);
            }
        }
    }
    for (id, status) in after_then {
        by_then.entry(id).or_insert(status);
    }
    Ok(by_then)
}

/// The tasks due in `quarter` of `year` (or in the whole year) whose responsible organization
/// is in the subtree.
async fn tasks_due(
    ctx: &AppCtx,
    actor: &Actor,
    year: i32,
    quarter: Option<i32>,
    subtree: &HashSet<Uuid>,
) -> AppResult<Vec<PlanTaskView>> {
    let mut out = Vec::new();
    let mut cursor = None;
    // A plan has a few dozen tasks; the bound only guards against a paging fault.
    for _ in 0..1000 {
        let page = list_tasks(
            ctx,
            actor,
            PlanTaskQuery {
                year: Some(year),
                quarter,
                limit: Some(500),
                cursor: cursor.take(),
                ..PlanTaskQuery::default()
            },
        )
        .await?;
        out.extend(
            page.items
                .into_iter()
                .filter(|t| subtree.contains(&t.responsible_org_id)),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    out.sort_by_key(|t| (t.due_on, t.id));
    Ok(out)
}

/// The gaps of a ledger, in the order of its lists.
pub fn gaps(
    projects: &[LedgerProject],
    fund_transactions: &[FundTransactionView],
    exchanges: &[ExchangeView],
    plan_tasks: &[PlanTaskView],
    evidence: &[EvidenceView],
) -> Vec<Gap> {
    // The categories of the evidence linked to each record.
    let mut proofs: HashMap<(RecordType, Uuid), Vec<EvidenceCategory>> = HashMap::new();
    for e in evidence {
        for link in &e.links {
            proofs
                .entry((link.record_type, link.record_id))
                .or_default()
                .push(e.category);
        }
    }
    let has = |kind: RecordType, id: Uuid, categories: &[EvidenceCategory]| {
        proofs
            .get(&(kind, id))
            .is_some_and(|found| found.iter().any(|c| categories.contains(c)))
    };
    use EvidenceCategory as C;
    let mut gaps = Vec::new();
    for p in projects {
        let done = matches!(
            p.status_at_period_end,
            ProjectStatus::Completed | ProjectStatus::Verified
        );
        if done && !has(RecordType::Project, p.project.id, &[C::Document]) {
            gaps.push(Gap {
                kind: GapKind::CompletedProjectWithoutAcceptance,
                record_type: RecordType::Project,
                record_id: p.project.id,
                message: format!(
                    "项目 {} {} is {} but no acceptance document (验收材料) is linked to it",
                    p.project.code,
                    p.project.title,
                    p.status_at_period_end.as_str()
                ),
            });
        }
    }
    for t in fund_transactions {
        let vouchers = [C::Document, C::Correspondence, C::Statistics];
        if !has(RecordType::FundTransaction, t.id, &vouchers) {
            gaps.push(Gap {
                kind: GapKind::FundTransactionWithoutVoucher,
                record_type: RecordType::FundTransaction,
                record_id: t.id,
                message: format!(
                    "the {} of {} on {} has no voucher (凭证) linked to it",
                    t.kind.as_str(),
                    t.amount_fen,
                    t.occurred_on
                ),
            });
        }
    }
    for e in exchanges {
        if !has(RecordType::Exchange, e.id, &[C::Photo, C::Document]) {
            gaps.push(Gap {
                kind: GapKind::ExchangeWithoutEvidence,
                record_type: RecordType::Exchange,
                record_id: e.id,
                message: format!(
                    "the {} of {} has no photo or document linked to it",
                    e.kind.as_str(),
                    e.start_on
                ),
            });
        }
    }
    for t in plan_tasks {
        if t.status == PlanTaskStatus::Overdue {
            gaps.push(Gap {
                kind: GapKind::PlanTaskOverdue,
                record_type: RecordType::PlanTask,
                record_id: t.id,
                message: format!(
                    "「{}」 was due on {} and has {} of {}",
                    t.title, t.due_on, t.progress_count, t.target_count
                ),
            });
        }
    }
    gaps
}

fn totals(
    projects: &[LedgerProject],
    fund_transactions: &[FundTransactionView],
    exchanges: &[ExchangeView],
    plan_tasks: &[PlanTaskView],
    evidence: &[EvidenceView],
    gaps: &[Gap],
) -> LedgerTotals {
    let mut by_kind: BTreeMap<FundKind, i64> = BTreeMap::new();
    for t in fund_transactions {
        *by_kind.entry(t.kind).or_default() += t.amount_fen.0;
    }
    let sum = |kind| Fen(by_kind.get(&kind).copied().unwrap_or_default());
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    LedgerTotals {
        pledged_fen: sum(FundKind::Pledge),
        transferred_fen: sum(FundKind::Transfer),
        arrived_fen: sum(FundKind::Arrival),
        spent_fen: sum(FundKind::Expenditure),
        refunded_fen: sum(FundKind::Refund),
        projects: count(projects.len()),
        fund_transactions: count(fund_transactions.len()),
        exchanges: count(exchanges.len()),
        plan_tasks: count(plan_tasks.len()),
        evidence: count(evidence.len()),
        gaps: count(gaps.len()),
    }
}
