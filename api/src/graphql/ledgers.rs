//! Ledgers, ledger submissions and assessments: the same service functions as REST's
//! `/ledgers`, `/ledger-submissions` and `/assessments`.

use async_graphql::{ComplexObject, Context, Object, connection::Connection};
use uuid::Uuid;

use super::{connection, gql, page_args, parts};
use crate::{
    error::AppError,
    service::{
        assessments::{self, Assessment},
        idempotency,
        ledger_submissions::{
            self, LedgerReview, LedgerSubmissionQuery as LedgerSubmissionFilter,
            LedgerSubmissionView, NewLedgerSubmission,
        },
        ledgers::{self, Ledger},
        organizations::OrganizationView,
    },
};

/// What computing one ledger counts for in a query's cost: it reads every record of a
/// quarter, so a query holds at most a few dozen.
const LEDGER_COST: usize = 5_000;

#[derive(Default)]
pub struct LedgerQuery;

#[Object]
impl LedgerQuery {
    /// The ledger of an organization for one quarter, or (no `quarter`) for the year: its
    /// records, totals, due day and gaps. Null when the organization does not exist or the
    /// caller may not read it.
    #[graphql(complexity = "LEDGER_COST + child_complexity")]
    async fn ledger(
        &self,
        ctx: &Context<'_>,
        org_id: Uuid,
        year: i32,
        quarter: Option<i32>,
    ) -> async_graphql::Result<Option<Ledger>> {
        let (app, actor) = parts(ctx)?;
        match ledgers::get(app, actor, org_id, year, quarter).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// The assessment of an organization for a year, computed from the records; null when the
    /// organization does not exist or the caller does not read its records whole.
    #[graphql(complexity = "LEDGER_COST + child_complexity")]
    async fn assessment(
        &self,
        ctx: &Context<'_>,
        org_id: Uuid,
        year: i32,
    ) -> async_graphql::Result<Option<Assessment>> {
        let (app, actor) = parts(ctx)?;
        match assessments::get(app, actor, org_id, year).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// One ledger submission; null when it does not exist or the caller may not read it.
    async fn ledger_submission(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<LedgerSubmissionView>> {
        let (app, actor) = parts(ctx)?;
        match ledger_submissions::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Ledger submissions the caller may read, in id order (Relay connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn ledger_submissions(
        &self,
        ctx: &Context<'_>,
        filter: Option<LedgerSubmissionFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, LedgerSubmissionView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = ledger_submissions::list(app, actor, q)
            .await
            .map_err(page_args)?;
        Ok(connection(page, |s| s.id))
    }
}

#[derive(Default)]
pub struct LedgerMutation;

#[Object]
impl LedgerMutation {
    /// Submits a ledger (no `quarter`: the year's materials). `idempotencyKey` works as REST's
    /// `Idempotency-Key` header.
    #[graphql(complexity = "LEDGER_COST + child_complexity")]
    async fn submit_ledger(
        &self,
        ctx: &Context<'_>,
        input: NewLedgerSubmission,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<LedgerSubmissionView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "submit_ledger",
            &payload,
            || ledger_submissions::submit(app, actor, input),
        )
        .await
        .map_err(gql)
    }

    /// Accepts or returns the latest submission of a ledger (coordinator, admin).
    /// `expectedVersion` works as REST's `If-Match`.
    async fn review_ledger_submission(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: LedgerReview,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<LedgerSubmissionView> {
        let (app, actor) = parts(ctx)?;
        ledger_submissions::review(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }
}

#[ComplexObject]
impl LedgerSubmissionView {
    /// The organization whose ledger it is.
    async fn organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<OrganizationView>> {
        super::organization(ctx, self.org_id)
    }

    /// Where the frozen snapshot is served byte for byte (REST), relative to the service's
    /// address.
    async fn snapshot_url(&self) -> String {
        format!("/api/v1/ledger-submissions/{}/snapshot", self.id)
    }
}
