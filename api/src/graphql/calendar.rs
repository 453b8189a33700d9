//! The working-day calendar: `ledgerDeadline`, `workingDays`, `calendarYear` and
//! `setCalendarYear`, over the same service as REST's `/api/v1/calendar/…`.

use async_graphql::{Context, Object};
use chrono::NaiveDate;

use super::{gql, parts};
use crate::{
    error::AppError,
    service::calendar::{
        self, CalendarYearInput, CalendarYearView, DeadlineQuery, LedgerDeadline, Precondition,
        WorkingDays, WorkingDaysQuery,
    },
};

#[derive(Default)]
pub struct CalendarQuery;

#[Object]
impl CalendarQuery {
    /// When a quarterly ledger is due (the fifth working day after the quarter), or without
    /// `quarter` the year's materials (1 December).
    async fn ledger_deadline(
        &self,
        ctx: &Context<'_>,
        year: i32,
        quarter: Option<i32>,
    ) -> async_graphql::Result<LedgerDeadline> {
        let (app, actor) = parts(ctx)?;
        calendar::ledger_deadline(app, actor, DeadlineQuery { year, quarter })
            .await
            .map_err(gql)
    }

    /// The working days from `from` through `to`, both included (at most 366 days).
    async fn working_days(
        &self,
        ctx: &Context<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> async_graphql::Result<WorkingDays> {
        let (app, actor) = parts(ctx)?;
        calendar::working_days(app, actor, WorkingDaysQuery { from, to })
            .await
            .map_err(gql)
    }

    /// One year of the calendar; null for a year nobody set.
    async fn calendar_year(
        &self,
        ctx: &Context<'_>,
        year: i32,
    ) -> async_graphql::Result<Option<CalendarYearView>> {
        let (app, actor) = parts(ctx)?;
        match calendar::get_year(app, actor, year).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }
}

#[derive(Default)]
pub struct CalendarMutation;

#[Object]
impl CalendarMutation {
    /// Set a whole year (admin). `expectedVersion` works as REST's `If-Match` (a built-in year
    /// nobody stored has version 0).
    async fn set_calendar_year(
        &self,
        ctx: &Context<'_>,
        year: i32,
        input: CalendarYearInput,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<CalendarYearView> {
        let (app, actor) = parts(ctx)?;
        let precondition = expected_version.map_or(Precondition::Any, Precondition::Version);
        calendar::set_year(app, actor, year, input, precondition)
            .await
            .map(|(view, _)| view)
            .map_err(gql)
    }
}
