//! Plan task progress, the computed part: a task with a target counts the live records of its
//! type (and kind) owned by its responsible organization or one under it, dated in its plan's
//! year on or before its due date; the status follows from the count, the target and today in
//! Asia/Shanghai.

use super::*;

pub use crate::domain::calendar::quarter_end;

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
    pairing: Option<Uuid>,
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

/// What to count of one record type: whose, which kinds (all when `None`), between which dates.
pub(super) struct Wanted {
    pub(super) kind: CountedRecord,
    pub(super) owners: Vec<Uuid>,
    pub(super) kinds: Option<Vec<String>>,
    pub(super) window: (NaiveDate, NaiveDate),
}

/// One row of the counting statement.
#[derive(FromQueryResult)]
struct TallyRow {
    rtype: String,
    owner: Uuid,
    pairing: Option<Uuid>,
    kind: Option<String>,
    on_date: Option<NaiveDate>,
    recorded_at: Option<chrono::DateTime<chrono::Utc>>,
    n: i64,
}

/// Counts the records of every wanted type, grouped by type, owner, kind and date: one
/// statement (a `UNION ALL` of one branch per type, two for projects), whatever the number of
/// tasks.
pub(super) async fn tallies(
    db: &impl ConnectionTrait,
    wanted: Vec<Wanted>,
) -> AppResult<HashMap<CountedRecord, Vec<Tally>>> {
    use sea_orm::sea_query::{Alias, Asterisk, ExprTrait, Func, UnionType};
    /// A grouped branch: (type, owner, kind, date, NULL, count) over `table`.
    fn grouped(
        rtype: CountedRecord,
        table: &str,
        date: &str,
        kind: Option<&str>,
        w: &Wanted,
    ) -> SelectStatement {
        let mut q = Query::select();
        q.expr_as(
            Expr::cust(format!("'{}'", rtype.as_str())),
            Alias::new("rtype"),
        )
        .expr_as(Expr::col(Alias::new("owner_org_id")), Alias::new("owner"))
        .expr_as(Expr::col(Alias::new("pairing_id")), Alias::new("pairing"))
        .expr_as(
            match kind {
                Some(k) => Expr::col(Alias::new(k)),
                None => Expr::cust("CAST(NULL AS TEXT)"),
            },
            Alias::new("kind"),
        )
        .expr_as(Expr::col(Alias::new(date)), Alias::new("on_date"))
        .expr_as(
            Expr::cust("CAST(NULL AS TIMESTAMP)"),
            Alias::new("recorded_at"),
        )
        .expr_as(Func::count(Expr::col(Asterisk)), Alias::new("n"))
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("deleted_at")).is_null())
        .and_where(Expr::col(Alias::new("owner_org_id")).is_in(w.owners.iter().copied()))
        .and_where(Expr::col(Alias::new(date)).between(w.window.0, w.window.1));
        if let (Some(k), Some(kinds)) = (kind, &w.kinds) {
            q.and_where(Expr::col(Alias::new(k)).is_in(kinds.iter().cloned()));
        }
        q.add_group_by([
            Expr::col(Alias::new("owner_org_id")),
            Expr::col(Alias::new("pairing_id")),
        ]);
        if let Some(k) = kind {
            q.add_group_by([Expr::col(Alias::new(k))]);
        }
        q.add_group_by([Expr::col(Alias::new(date))]);
        q
    }

    let mut branches: Vec<SelectStatement> = Vec::new();
    for w in &wanted {
        match w.kind {
            CountedRecord::Exchange => {
                branches.push(grouped(w.kind, "exchanges", "start_on", Some("kind"), w))
            }
            CountedRecord::FundTransaction => branches.push(grouped(
                w.kind,
                "fund_transactions",
                "occurred_on",
                Some("kind"),
                w,
            )),
            CountedRecord::Agreement => {
                branches.push(grouped(w.kind, "agreements", "signed_on", None, w))
            }
            CountedRecord::Project => {
                // A project counts from its start or — not started yet — from the day it was
                // recorded (in China): the second branch lists those, dated in Rust.
                branches.push(grouped(w.kind, "projects", "start_on", Some("status"), w));
                let mut q = Query::select();
                q.expr_as(Expr::cust("'project'"), Alias::new("rtype"))
                    .expr_as(Expr::col(Alias::new("owner_org_id")), Alias::new("owner"))
                    .expr_as(Expr::col(Alias::new("pairing_id")), Alias::new("pairing"))
                    .expr_as(Expr::col(Alias::new("status")), Alias::new("kind"))
                    .expr_as(Expr::cust("CAST(NULL AS DATE)"), Alias::new("on_date"))
                    .expr_as(
                        Expr::col(Alias::new("created_at")),
                        Alias::new("recorded_at"),
                    )
                    .expr_as(Expr::cust("1"), Alias::new("n"))
                    .from(Alias::new("projects"))
                    .and_where(Expr::col(Alias::new("deleted_at")).is_null())
                    .and_where(
                        Expr::col(Alias::new("owner_org_id")).is_in(w.owners.iter().copied()),
                    )
                    .and_where(Expr::col(Alias::new("start_on")).is_null())
                    .and_where(Expr::col(Alias::new("created_at")).gte(china_midnight(w.window.0)?))
                    .and_where(
                        Expr::col(Alias::new("created_at"))
                            .lt(china_midnight(w.window.1.succ_opt().unwrap_or(w.window.1))?),
                    );
                if let Some(kinds) = &w.kinds {
                    q.and_where(Expr::col(Alias::new("status")).is_in(kinds.iter().cloned()));
                }
                branches.push(q);
            }
        }
    }
    let mut out: HashMap<CountedRecord, Vec<Tally>> = HashMap::new();
    let mut branches = branches.into_iter();
    let Some(mut statement) = branches.next() else {
        return Ok(out);
    };
    for branch in branches {
        statement.union(UnionType::All, branch);
    }
    let stmt = db.get_database_backend().build(&statement);
    for row in TallyRow::find_by_statement(stmt).all(db).await? {
        let on = match (row.on_date, row.recorded_at) {
            (Some(on), _) => on,
            (None, Some(at)) => china_date(at),
            (None, None) => continue,
        };
        out.entry(CountedRecord::from_db(&row.rtype)?)
            .or_default()
            .push(Tally {
                owner: row.owner,
                pairing: row.pairing,
                kind: row.kind,
                on,
                n: row.n,
            });
    }
    Ok(out)
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

/// Builds the views of `tasks` (each with its plan's year) as `scope` sees them, computing
/// progress and status for all of them together: the subtrees come from the directory, then
/// one grouped query per record type the tasks count (two for projects). Only records the
/// viewer may read count, so a count never reveals records the viewer cannot see.
pub(super) async fn task_views(
    db: &impl ConnectionTrait,
    dir: &Directory,
    scope: &Scope,
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

    let mut wanted = Vec::new();
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
        wanted.push(Wanted {
            kind: *kind,
            owners: owners.into_iter().collect(),
            kinds,
            window: (from, to),
        });
    }
    let by_type = tallies(db, wanted).await?;

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
                    // Only what the viewer may read counts: a count must not reveal records
                    // the viewer cannot see.
                    .filter(|r| scope.can_read_record(r.owner, r.pairing))
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
    scope: &Scope,
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
    task_views(db, dir, scope, with_years).await
}
