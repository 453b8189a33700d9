//! Plan task progress, the computed part. A task with a target counts the live records of its
//! type — and kind, direction and leaders present, where it names them — owned by its
//! responsible organization or one under it; or, for a task with target organizations, owned
//! by each of them (with its departments and institutions) separately. A record counts when it
//! is dated on or before the due date: in the plan's year, or — for records that name the year
//! they are for (plans, ledgers, self-assessments) — for the plan's year. The status follows
//! from the counts, the target and today in Asia/Shanghai.

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

/// The status of a task each of several organizations must meet: done when every one is,
/// else as the date says.
pub fn status_of_all(
    statuses: &[PlanTaskStatus],
    target: i32,
    due_on: NaiveDate,
    today: NaiveDate,
) -> PlanTaskStatus {
    if target == 0 {
        PlanTaskStatus::NotTracked
    } else if statuses.iter().all(|s| *s == PlanTaskStatus::Done) {
        PlanTaskStatus::Done
    } else if today > due_on {
        PlanTaskStatus::Overdue
    } else {
        PlanTaskStatus::Pending
    }
}

/// Records counted by owner, kind, date and the rest: one row per group of the grouped query.
pub(super) struct Tally {
    owner: Uuid,
    pairing: Option<Uuid>,
    kind: Option<String>,
    direction: Option<String>,
    leaders: bool,
    year: Option<i32>,
    on: NaiveDate,
    n: i64,
}

/// The dates a task counts: from the start of its quarter or its plan's year to its due date,
/// within that year. Records that name their year count any day up to the due date from the
/// year before; a working group counts once set up, however long before.
pub(super) fn window(
    kind: CountedRecord,
    period: CountsPeriod,
    year: i32,
    quarter: i32,
    due_on: NaiveDate,
) -> Option<(NaiveDate, NaiveDate)> {
    let (start, end) = if kind.has_year() {
        (NaiveDate::from_ymd_opt(year - 1, 1, 1)?, due_on)
    } else if kind == CountedRecord::WorkingGroup {
        (NaiveDate::from_ymd_opt(year - 100, 1, 1)?, due_on)
    } else {
        let start = match (period, quarter) {
            (CountsPeriod::Quarter, 2..=4) => quarter_end(year, quarter - 1)?.succ_opt()?,
            _ => NaiveDate::from_ymd_opt(year, 1, 1)?,
        };
        (start, NaiveDate::from_ymd_opt(year, 12, 31)?.min(due_on))
    };
    (start <= end).then_some((start, end))
}

/// What to count of one record type: whose, which stored kinds (all when `None`), between
/// which dates.
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
    direction: Option<String>,
    leaders: i32,
    year: Option<i32>,
    on_date: Option<NaiveDate>,
    recorded_at: Option<chrono::DateTime<chrono::Utc>>,
    n: i64,
}

/// How a record type's rows are dated.
#[derive(Clone, Copy)]
enum On {
    /// A date column: rows are grouped by it.
    Day(&'static str),
    /// An instant: one row per record, dated in Asia/Shanghai in Rust.
    Instant(&'static str),
}

/// Where a counted record type lives and what of it a task can ask for.
struct Source {
    table: &'static str,
    on: On,
    /// SQL for the stored kind, if the type has kinds.
    kind: Option<&'static str>,
    has_pairing: bool,
    has_year: bool,
    /// Exchanges: direction and leaders present.
    is_exchange: bool,
    /// A further condition, in SQL.
    only: Option<&'static str>,
}

const fn source(table: &'static str, on: On, kind: Option<&'static str>) -> Source {
    Source {
        table,
        on,
        kind,
        has_pairing: true,
        has_year: false,
        is_exchange: false,
        only: None,
    }
}

/// The tables behind each counted record type: one branch each, two for projects and plans.
fn sources(kind: CountedRecord) -> Vec<Source> {
    match kind {
        CountedRecord::Exchange => vec![Source {
            is_exchange: true,
            ..source("exchanges", On::Day("start_on"), Some("kind"))
        }],
        CountedRecord::FundTransaction => vec![source(
            "fund_transactions",
            On::Day("occurred_on"),
            Some("kind"),
        )],
        CountedRecord::Agreement => vec![source("agreements", On::Day("signed_on"), None)],
        // A project counts from its start or — not started yet — from the day it was recorded.
        CountedRecord::Project => vec![
            source("projects", On::Day("start_on"), Some("status")),
            Source {
                only: Some("start_on IS NULL"),
                ..source("projects", On::Instant("created_at"), Some("status"))
            },
        ],
        CountedRecord::WorkingGroup => vec![Source {
            has_pairing: false,
            ..source("working_groups", On::Day("established_on"), None)
        }],
        CountedRecord::Plan => vec![
            Source {
                has_pairing: false,
                has_year: true,
                ..source(
                    "plans",
                    On::Day("issued_on"),
                    Some("CAST('issued' AS TEXT)"),
                )
            },
            Source {
                has_pairing: false,
                has_year: true,
                ..source(
                    "plans",
                    On::Day("summarized_on"),
                    Some("CAST('summarized' AS TEXT)"),
                )
            },
        ],
        // The stored kind is the period: `0` for the year's materials, else the quarter.
        CountedRecord::LedgerSubmission => vec![Source {
            has_pairing: false,
            has_year: true,
            only: Some("status <> 'returned'"),
            ..source(
                "ledger_submissions",
                On::Instant("submitted_at"),
                Some("CAST(quarter AS TEXT)"),
            )
        }],
        CountedRecord::SelfAssessment => vec![Source {
            has_year: true,
            only: Some("submitted_at IS NOT NULL"),
            ..source("self_assessments", On::Instant("submitted_at"), None)
        }],
    }
}

/// The stored kind a task's `counts_kind` stands for: for ledgers, the period of the task's
/// quarter or of the year.
pub(super) fn stored_kind(kind: CountedRecord, counts_kind: &str, quarter: i32) -> String {
    match (kind, counts_kind) {
        (CountedRecord::LedgerSubmission, LEDGER_ANNUAL) => "0".into(),
        (CountedRecord::LedgerSubmission, _) => quarter.to_string(),
        _ => counts_kind.to_string(),
    }
}

/// Counts the records of every wanted type, grouped by type, owner, kind, date and the rest:
/// one statement (a `UNION ALL` of one branch per source), whatever the number of tasks.
pub(super) async fn tallies(
    db: &impl ConnectionTrait,
    wanted: Vec<Wanted>,
) -> AppResult<HashMap<CountedRecord, Vec<Tally>>> {
    use sea_orm::sea_query::{Alias, Asterisk, ExprTrait, Func, UnionType};
    let backend = db.get_database_backend();
    // A typed NULL for the uuid column: PostgreSQL will not union `text` with `uuid`.
    let uuid_type = match backend {
        sea_orm::DbBackend::Postgres => "UUID",
        _ => "TEXT",
    };
    let col = |name: &str| Expr::col(Alias::new(name));
    let or_null = |present: bool, sql: &str, ty: &str| {
        if present {
            Expr::cust(sql.to_string())
        } else {
            Expr::cust(format!("CAST(NULL AS {ty})"))
        }
    };

    let mut branches: Vec<SelectStatement> = Vec::new();
    for w in &wanted {
        for src in sources(w.kind) {
            let mut q = Query::select();
            let kind = src.kind.map(|k| Expr::cust(k.to_string()));
            // Leaders are present when the stored list is not empty.
            let leaders =
                "CASE WHEN CAST(leaders_present AS TEXT) IN ('[]', 'null') THEN 0 ELSE 1 END";
            let grouped = [
                Some(col("owner_org_id")),
                src.has_pairing.then(|| col("pairing_id")),
                kind.clone(),
                src.is_exchange.then(|| col("direction")),
                src.is_exchange.then(|| Expr::cust(leaders.to_string())),
                src.has_year.then(|| col("year")),
            ];
            q.expr_as(
                Expr::cust(format!("CAST('{}' AS TEXT)", w.kind.as_str())),
                Alias::new("rtype"),
            )
            .expr_as(col("owner_org_id"), Alias::new("owner"))
            .expr_as(
                or_null(src.has_pairing, "pairing_id", uuid_type),
                Alias::new("pairing"),
            )
            .expr_as(
                kind.clone()
                    .unwrap_or_else(|| Expr::cust("CAST(NULL AS TEXT)")),
                Alias::new("kind"),
            )
            .expr_as(
                or_null(src.is_exchange, "direction", "TEXT"),
                Alias::new("direction"),
            )
            .expr_as(
                if src.is_exchange {
                    Expr::cust(leaders.to_string())
                } else {
                    Expr::cust("0")
                },
                Alias::new("leaders"),
            )
            .expr_as(or_null(src.has_year, "year", "INTEGER"), Alias::new("year"))
            .from(Alias::new(src.table))
            .and_where(col("deleted_at").is_null())
            .and_where(col("owner_org_id").is_in(w.owners.iter().copied()));
            if let (Some(k), Some(kinds)) = (&kind, &w.kinds) {
                q.and_where(k.clone().is_in(kinds.iter().cloned()));
            }
            if let Some(only) = src.only {
                q.and_where(Expr::cust(only.to_string()));
            }
            match src.on {
                On::Day(date) => {
                    q.expr_as(col(date), Alias::new("on_date"))
                        .expr_as(
                            Expr::cust("CAST(NULL AS TIMESTAMP)"),
                            Alias::new("recorded_at"),
                        )
                        .expr_as(Func::count(Expr::col(Asterisk)), Alias::new("n"))
                        .and_where(col(date).between(w.window.0, w.window.1));
                    q.add_group_by(grouped.into_iter().flatten());
                    q.add_group_by([col(date)]);
                }
                On::Instant(at) => {
                    let end = w.window.1.succ_opt().unwrap_or(w.window.1);
                    q.expr_as(Expr::cust("CAST(NULL AS DATE)"), Alias::new("on_date"))
                        .expr_as(col(at), Alias::new("recorded_at"))
                        // A BIGINT like `COUNT(*)`: PostgreSQL types a bare `1` INT4, which
                        // does not decode as `i64` when no grouped branch is in the union.
                        .expr_as(Expr::cust("CAST(1 AS BIGINT)"), Alias::new("n"))
                        .and_where(col(at).gte(china_midnight(w.window.0)?))
                        .and_where(col(at).lt(china_midnight(end)?));
                }
            }
            branches.push(q);
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
    let stmt = backend.build(&statement);
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
                direction: row.direction,
                leaders: row.leaders != 0,
                year: row.year,
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

/// The target organizations of each of `task_ids` that has any, in id order: one statement.
pub(super) async fn target_orgs(
    db: &impl ConnectionTrait,
    task_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Uuid>>> {
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if task_ids.is_empty() {
        return Ok(out);
    }
    let rows = plan_task_org::Entity::find()
        .filter(plan_task_org::Column::TaskId.is_in(task_ids.iter().copied()))
        .order_by_asc(plan_task_org::Column::TaskId)
        .order_by_asc(plan_task_org::Column::OrgId)
        .all(db)
        .await?;
    for row in rows {
        out.entry(row.task_id).or_default().push(row.org_id);
    }
    Ok(out)
}

/// What one task counts, resolved.
struct Counting {
    kind: CountedRecord,
    /// The stored kind wanted, if any.
    filter: Option<String>,
    direction: Option<String>,
    leaders: bool,
    year: i32,
    window: (NaiveDate, NaiveDate),
    /// Whose records count: one set for the responsible subtree, or one per target
    /// organization.
    groups: Vec<(Uuid, Arc<HashSet<Uuid>>)>,
}

impl Counting {
    fn counts(&self, scope: &Scope, r: &Tally) -> bool {
        // Only what the viewer may read counts: a count must not reveal records the viewer
        // cannot see.
        let readable = if self.kind.read_as_org() {
            scope.can_read_org(r.owner)
        } else {
            scope.can_read_record(r.owner, r.pairing)
        };
        readable
            && r.on >= self.window.0
            && r.on <= self.window.1
            && (!self.kind.has_year() || r.year == Some(self.year))
            && (!self.leaders || r.leaders)
            && self
                .direction
                .as_ref()
                .is_none_or(|d| r.direction.as_ref() == Some(d))
            && match (&self.filter, &r.kind) {
                (Some(wanted), Some(kind)) => wanted == kind,
                (Some(_), None) => false,
                // Every kind counts, except projects that were given up.
                (None, kind) => {
                    !(self.kind == CountedRecord::Project && kind.as_deref() == Some("cancelled"))
                }
            }
    }
}

/// Builds the views of `tasks` (each with its plan's year) as `scope` sees them, computing
/// progress and status for all of them together: the target organizations in one statement,
/// the subtrees from the directory, then one counting statement for every type the tasks
/// count. Only records the viewer may read count, so a count never reveals records the viewer
/// cannot see.
pub(super) async fn task_views(
    db: &impl ConnectionTrait,
    dir: &Directory,
    scope: &Scope,
    tasks: Vec<(plan_task::Model, i32)>,
) -> AppResult<Vec<PlanTaskView>> {
    let ids: Vec<Uuid> = tasks.iter().map(|(t, _)| t.id).collect();
    let mut targets = target_orgs(db, &ids).await?;
    let mut counting: Vec<Option<Counting>> = Vec::with_capacity(tasks.len());
    let mut subtrees: HashMap<Uuid, Arc<HashSet<Uuid>>> = HashMap::new();
    let mut units: HashMap<Uuid, Arc<HashSet<Uuid>>> = HashMap::new();
    for (t, year) in &tasks {
        let kind = t
            .counts_record_type
            .as_deref()
            .map(CountedRecord::from_db)
            .transpose()?;
        let period = CountsPeriod::from_db(&t.counts_period)?;
        let Some((kind, window)) =
            kind.and_then(|k| Some((k, window(k, period, *year, t.quarter, t.due_on)?)))
        else {
            counting.push(None);
            continue;
        };
        let groups = match targets.get(&t.id) {
            Some(orgs) => orgs
                .iter()
                .map(|o| {
                    let set = units
                        .entry(*o)
                        .or_insert_with(|| Arc::new(dir.own_units(*o)))
                        .clone();
                    (*o, set)
                })
                .collect(),
            None => {
                let set = subtrees
                    .entry(t.responsible_org_id)
                    .or_insert_with(|| Arc::new(dir.subtree(t.responsible_org_id)))
                    .clone();
                vec![(t.responsible_org_id, set)]
            }
        };
        counting.push(Some(Counting {
            kind,
            filter: t
                .counts_kind
                .as_deref()
                .map(|k| stored_kind(kind, k, t.quarter)),
            direction: t.counts_direction.clone(),
            leaders: t.counts_leaders,
            year: *year,
            window,
            groups,
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
            .flat_map(|c| c.groups.iter().flat_map(|(_, set)| set.iter().copied()))
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
            let target_org_ids = targets.remove(&t.id).unwrap_or_default();
            let mut per_org: Vec<(Uuid, i64)> = Vec::new();
            // Each record once in the total, even where target organizations overlap (a
            // federation and one of its departments).
            let mut progress: i64 = 0;
            if let Some(c) = &c {
                let counted: Vec<&Tally> = by_type
                    .get(&c.kind)
                    .into_iter()
                    .flatten()
                    .filter(|r| c.counts(scope, r))
                    .collect();
                for (org, set) in &c.groups {
                    let n = counted
                        .iter()
                        .filter(|r| set.contains(&r.owner))
                        .map(|r| r.n)
                        .sum();
                    per_org.push((*org, n));
                }
                progress = counted
                    .iter()
                    .filter(|r| c.groups.iter().any(|(_, set)| set.contains(&r.owner)))
                    .map(|r| r.n)
                    .sum();
            }
            let progress_by_org: Vec<OrgProgress> = if target_org_ids.is_empty() {
                Vec::new()
            } else {
                target_org_ids
                    .iter()
                    .map(|org| {
                        let n = per_org
                            .iter()
                            .find(|(o, _)| o == org)
                            .map_or(0, |(_, n)| *n);
                        OrgProgress {
                            org_id: *org,
                            progress_count: i32::try_from(n).unwrap_or(i32::MAX),
                            status: status_of(n, t.target_count, t.due_on, today),
                        }
                    })
                    .collect()
            };
            let status = if progress_by_org.is_empty() {
                status_of(progress, t.target_count, t.due_on, today)
            } else {
                let each: Vec<PlanTaskStatus> = progress_by_org.iter().map(|p| p.status).collect();
                status_of_all(&each, t.target_count, t.due_on, today)
            };
            let counts_record_type = c.as_ref().map(|c| c.kind).or(t
                .counts_record_type
                .as_deref()
                .and_then(CountedRecord::parse));
            Ok(PlanTaskView {
                status,
                progress_count: i32::try_from(progress).unwrap_or(i32::MAX),
                progress_by_org,
                target_org_ids,
                id: t.id,
                plan_id: t.plan_id,
                quarter: t.quarter,
                title: t.title,
                due_on: t.due_on,
                responsible_org_id: t.responsible_org_id,
                target_count: t.target_count,
                counts_record_type,
                counts_kind: t.counts_kind,
                counts_direction: t
                    .counts_direction
                    .as_deref()
                    .map(ExchangeDirection::from_db)
                    .transpose()?,
                counts_leaders: t.counts_leaders,
                counts_period: CountsPeriod::from_db(&t.counts_period)?,
                mandatory: t.mandatory,
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
