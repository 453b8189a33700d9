//! The working-day calendar and the ledger deadlines computed from it (DESIGN §2, §7). The rules
//! are in [`crate::domain::calendar`]; this module reads the years an admin stored, lays them
//! over the built-in ones, and stores a year.
//!
//! Every signed-in role reads the calendar: deadlines concern everyone who keeps a ledger. Only
//! an admin sets a year.

use async_graphql::SimpleObject;
use chrono::{DateTime, NaiveDate, Utc};
use entity::calendar_year;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{AppCtx, audit};
use crate::{
    authz::{Actor, RecordKind, ensure_role},
    domain::{
        Role,
        calendar::{self, Calendar, MAX_RANGE_DAYS, YearDays, YearNotSet},
    },
    error::{AppError, AppResult, FieldError},
};

/// When a quarterly ledger (or, without `quarter`, the year's materials) is due.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct LedgerDeadline {
    pub year: i32,
    /// 1–4; absent for the year's materials.
    pub quarter: Option<i32>,
    /// The due day: the fifth working day after the quarter's last day, or 1 December.
    pub due_on: NaiveDate,
    /// The last instant that is still on time: 23:59:59 of `due_on` in Asia/Shanghai, in UTC.
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadlineQuery {
    pub year: i32,
    /// 1–4; leave out for the year's materials, due by 1 December.
    pub quarter: Option<i32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkingDaysQuery {
    /// The first day, included.
    pub from: NaiveDate,
    /// The last day, included; at most 365 days after `from`.
    pub to: NaiveDate,
}

#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct WorkingDays {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub working_days: Vec<NaiveDate>,
}

/// One year of the calendar.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct CalendarYearView {
    pub year: i32,
    /// The days off, weekends inside a holiday span included.
    pub holidays: Vec<NaiveDate>,
    /// The weekend days declared working days (调休).
    pub workdays: Vec<NaiveDate>,
    /// The notice the dates come from.
    pub source: Option<String>,
    /// Shipped with the service; `false` once an admin has stored the year (also when the stored
    /// year corrects a built-in one).
    pub built_in: bool,
    /// 0 for a built-in year nobody stored; each store adds one. `If-Match` compares it.
    pub version: i32,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A year as an admin sets it (`PUT /api/v1/calendar/{year}`): the whole year, replacing what
/// the calendar held for it.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "CalendarYearInput")]
pub struct CalendarYearInput {
    /// Every day off in the year, weekends inside a holiday span included.
    pub holidays: Vec<NaiveDate>,
    /// The Saturdays and Sundays declared working days.
    #[serde(default)]
    pub workdays: Vec<NaiveDate>,
    /// The notice the dates come from (at most 500 characters).
    pub source: Option<String>,
}

/// How a write states the version it expects: REST's `If-Match`, GraphQL's `expectedVersion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// No condition given.
    Absent,
    /// `*`: whatever is stored.
    Any,
    Version(i32),
}

/// The calendar in force: the built-in years with the stored ones laid over them. One statement.
pub async fn load(db: &impl ConnectionTrait) -> AppResult<Calendar> {
    let mut cal = Calendar::built_in();
    let rows = calendar_year::Entity::find()
        .order_by_asc(calendar_year::Column::Year)
        .all(db)
        .await?;
    for row in rows {
        cal.set(stored_days(&row)?);
    }
    Ok(cal)
}

fn stored_days(row: &calendar_year::Model) -> AppResult<YearDays> {
    let dates = |json: &serde_json::Value| -> AppResult<_> {
        serde_json::from_value::<Vec<NaiveDate>>(json.clone())
            .map(|v| v.into_iter().collect())
            .map_err(|e| AppError::internal(format!("stored calendar {}: {e}", row.year)))
    };
    Ok(YearDays {
        year: row.year,
        holidays: dates(&row.holidays)?,
        workdays: dates(&row.workdays)?,
        source: row.source.clone(),
        built_in: false,
    })
}

/// The calendar cannot count into a year nobody set.
fn not_set(YearNotSet(year): YearNotSet, field: &str) -> AppError {
    AppError::Conflict {
        code: "calendar_not_set",
        field: Some(field.to_string()),
        detail: format!(
            "the working-day calendar has no entry for {year}: an admin sets it with \
             PUT /api/v1/calendar/{year}"
        ),
        existing_id: None,
    }
}

pub async fn ledger_deadline(
    ctx: &AppCtx,
    _actor: &Actor,
    q: DeadlineQuery,
) -> AppResult<LedgerDeadline> {
    let mut errors = Vec::new();
    if !calendar::SETTABLE_YEARS.contains(&q.year) {
        errors.push(FieldError::new(
            "year",
            format!(
                "must be between {} and {}",
                calendar::SETTABLE_YEARS.start(),
                calendar::SETTABLE_YEARS.end()
            ),
        ));
    }
    let quarter = match q.quarter {
        None => None,
        Some(n @ 1..=4) => Some(n),
        Some(_) => {
            errors.push(FieldError::new("quarter", "must be 1, 2, 3 or 4"));
            None
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let due_on = match quarter {
        Some(n) => load(&ctx.db)
            .await?
            .ledger_due_on(q.year, n)
            .map_err(|e| not_set(e, "year"))?,
        None => calendar::annual_due_on(q.year)
            .ok_or_else(|| AppError::internal("1 December of a checked year"))?,
    };
    Ok(LedgerDeadline {
        year: q.year,
        quarter: q.quarter,
        due_on,
        due_at: calendar::deadline_at(due_on),
    })
}

pub async fn working_days(
    ctx: &AppCtx,
    _actor: &Actor,
    q: WorkingDaysQuery,
) -> AppResult<WorkingDays> {
    let span = (q.to - q.from).num_days();
    if !(0..MAX_RANGE_DAYS).contains(&span) {
        return Err(AppError::field(
            "to",
            format!(
                "must be between `from` and {} days after it",
                MAX_RANGE_DAYS - 1
            ),
        ));
    }
    let days = load(&ctx.db)
        .await?
        .working_days(q.from, q.to)
        .map_err(|e| {
            let field = if e.0 == chrono::Datelike::year(&q.from) {
                "from"
            } else {
                "to"
            };
            not_set(e, field)
        })?;
    Ok(WorkingDays {
        from: q.from,
        to: q.to,
        working_days: days,
    })
}

/// One year as the calendar holds it; 404 for a year nobody set.
pub async fn get_year(ctx: &AppCtx, _actor: &Actor, year: i32) -> AppResult<CalendarYearView> {
    let row = stored(&ctx.db, year).await?;
    match row {
        Some(row) => view(&row),
        None => Calendar::built_in()
            .year(year)
            .map(|days| view_of(days, 0, None))
            .ok_or(AppError::NotFound),
    }
}

async fn stored(db: &impl ConnectionTrait, year: i32) -> AppResult<Option<calendar_year::Model>> {
    Ok(calendar_year::Entity::find()
        .filter(calendar_year::Column::Year.eq(year))
        .one(db)
        .await?)
}

fn view(row: &calendar_year::Model) -> AppResult<CalendarYearView> {
    Ok(view_of(
        &stored_days(row)?,
        row.version,
        Some(row.updated_at),
    ))
}

fn view_of(days: &YearDays, version: i32, updated_at: Option<DateTime<Utc>>) -> CalendarYearView {
    CalendarYearView {
        year: days.year,
        holidays: days.holidays.iter().copied().collect(),
        workdays: days.workdays.iter().copied().collect(),
        source: days.source.clone(),
        built_in: days.built_in,
        version,
        updated_at,
    }
}

/// Stores a whole year (admin): a year the service does not ship, or a correction of one it
/// does. Replacing a stored year needs its version (`If-Match`), as every change does.
/// Returns the view and whether the year was stored for the first time.
pub async fn set_year(
    ctx: &AppCtx,
    actor: &Actor,
    year: i32,
    input: CalendarYearInput,
    precondition: Precondition,
) -> AppResult<(CalendarYearView, bool)> {
    ensure_role(actor, &[Role::Admin])?;
    let days =
        YearDays::parse(year, &input.holidays, &input.workdays, input.source).map_err(|e| {
            AppError::Validation(e.into_iter().map(|(f, m)| FieldError::new(f, m)).collect())
        })?;
    let to_json = |dates: &std::collections::BTreeSet<NaiveDate>| {
        serde_json::to_value(dates).map_err(|e| AppError::Internal(e.into()))
    };
    let tx = ctx.begin_write().await?;
    let current = stored(&tx, year).await?;
    let now = super::now();
    let (row, before, created) = match current {
        Some(row) => {
            match precondition {
                Precondition::Absent => return Err(AppError::PreconditionRequired),
                Precondition::Any => {}
                Precondition::Version(v) => super::check_version(Some(v), row.version)?,
            }
            let before = view(&row)?;
            let mut model: calendar_year::ActiveModel = row.clone().into();
            model.holidays = Set(to_json(&days.holidays)?);
            model.workdays = Set(to_json(&days.workdays)?);
            model.source = Set(days.source.clone());
            let after = super::save_versioned::<calendar_year::Entity>(
                &tx,
                model,
                row.id,
                row.version,
                [
                    calendar_year::Column::Id,
                    calendar_year::Column::Version,
                    calendar_year::Column::UpdatedAt,
                ],
            )
            .await?;
            (after, Some(before), false)
        }
        None => {
            if let Precondition::Version(v) = precondition {
                super::check_version(Some(v), 0)?;
            }
            let before = Calendar::built_in()
                .year(year)
                .map(|days| view_of(days, 0, None));
            let row = calendar_year::ActiveModel {
                id: Set(Uuid::now_v7()),
                year: Set(year),
                holidays: Set(to_json(&days.holidays)?),
                workdays: Set(to_json(&days.workdays)?),
                source: Set(days.source.clone()),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&tx)
            .await?;
            (row, before, true)
        }
    };
    let after = view(&row)?;
    let action = if created {
        audit::Action::Create
    } else {
        audit::Action::Update
    };
    audit::record(
        &tx,
        actor,
        action,
        RecordKind::CalendarYear,
        row.id,
        before.as_ref(),
        Some(&after),
    )
    .await?;
    super::ledger_submissions::fill_due_dates(&tx, actor).await?;
    tx.commit().await?;
    Ok((after, created))
}
