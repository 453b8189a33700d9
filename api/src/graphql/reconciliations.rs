//! Reconciliations: the same service functions as REST's `/reconciliations`.

use async_graphql::{ComplexObject, Context, Object, connection::Connection};
use uuid::Uuid;

use super::{connection, gql, page_args, parts};
use crate::{
    error::AppError,
    service::{
        idempotency,
        reconciliations::{
            self, LineEventView, LineQuery as ReconciliationLineFilter, LineStep, LineView,
            NewReconciliation, ReconciliationQuery as ReconciliationFilter, ReconciliationView,
        },
    },
};

/// A run reads every record of a pairing's period on both sides.
const RECONCILE_COST: usize = 5_000;

#[derive(Default)]
pub struct ReconciliationQuery;

#[Object]
impl ReconciliationQuery {
    /// One reconciliation report; null when it does not exist or the caller may not read it.
    async fn reconciliation(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<ReconciliationView>> {
        let (app, actor) = parts(ctx)?;
        match reconciliations::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Reconciliation reports the caller may read, in id order (Relay connection; `first` ≤
    /// 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn reconciliations(
        &self,
        ctx: &Context<'_>,
        filter: Option<ReconciliationFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ReconciliationView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = reconciliations::list(app, actor, q)
            .await
            .map_err(page_args)?;
        Ok(connection(page, |r| r.id))
    }
}

#[ComplexObject]
impl ReconciliationView {
    /// The report's lines in line order (discrepancies first), filtered (Relay connection;
    /// `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn lines(
        &self,
        ctx: &Context<'_>,
        filter: Option<ReconciliationLineFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, LineView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = reconciliations::lines(app, actor, self.id, q)
            .await
            .map_err(page_args)?;
        Ok(connection(page, |l| reconciliations::line_key(l.line_no)))
    }

    /// What each side said about line `lineNo`, oldest first.
    async fn line_history(
        &self,
        ctx: &Context<'_>,
        line_no: i64,
    ) -> async_graphql::Result<Vec<LineEventView>> {
        let (app, actor) = parts(ctx)?;
        reconciliations::line_history(app, actor, self.id, line_no)
            .await
            .map_err(gql)
    }
}

#[derive(Default)]
pub struct ReconciliationMutation;

#[Object]
impl ReconciliationMutation {
    /// Runs a reconciliation and stores its report. `idempotencyKey` works as REST's
    /// `Idempotency-Key` header.
    #[graphql(complexity = "RECONCILE_COST + child_complexity")]
    async fn create_reconciliation(
        &self,
        ctx: &Context<'_>,
        input: NewReconciliation,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<ReconciliationView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "create_reconciliation",
            &payload,
            || reconciliations::create(app, actor, input),
        )
        .await
        .map_err(gql)
    }

    /// Explains a line, resolves it or reopens it, by the side that owns one of its records.
    /// `expectedVersion` works as REST's `If-Match`.
    async fn step_reconciliation_line(
        &self,
        ctx: &Context<'_>,
        reconciliation_id: Uuid,
        line_no: i64,
        input: LineStep,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<LineView> {
        let (app, actor) = parts(ctx)?;
        reconciliations::step(
            app,
            actor,
            reconciliation_id,
            line_no,
            expected_version,
            input,
        )
        .await
        .map_err(gql)
    }
}
