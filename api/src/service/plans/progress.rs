//! Plan task progress, the computed part: a task with a target counts the live records of its
//! type (and kind) owned by its responsible organization or one under it, dated in its plan's
//! year on or before its due date; the status follows from the count, the target and today in
//! Asia/Shanghai.

use super::*;

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
pub(super) struct Tally {
    owner: Uuid,
    kind: Option<String>,
    on: NaiveDate,
    n: i64,
}

/// The dates a task counts: from the start of its plan's year to its due date, within that year.
pub(super) fn window(year: i32, due_on: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let start = NaiveDate::from_ymd_opt(year, 1, 1)?;
    let end = NaiveDate::from_ymd_opt(year, 12, 31)?.min(due_on);
    (start <= end).then_some((start, end))
}

/// Counts the records of one type for the given owners and dates, grouped by owner, kind and
/// date: one statement.
pub(super) async fn tallies(
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

pub(super) fn china_date(at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    (at + chrono::Duration::hours(8)).date_naive()
}

pub(super) fn china_midnight(day: NaiveDate) -> AppResult<chrono::DateTime<chrono::Utc>> {
    let midnight = day
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| AppError::internal("midnight does not exist"))?;
    Ok(midnight.and_utc() - chrono::Duration::hours(8))
}

/// Builds the views of `tasks` (each with its plan's year), computing progress and status for
/// all of them together: the subtrees come from the directory, then one grouped query per
/// record type the tasks count (two for projects) — at most five statements for any number of
/// tasks.
pub(super) async fn task_views(
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
pub(super) async fn task_views_with_years(
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
