//! Statements: `statement`, `statements` and their mutations, over `service::statements`.

use async_graphql::{ComplexObject, Context, Object, connection::Connection};
use uuid::Uuid;

use super::{connection, gql, page_args, parts};
use crate::{
    error::AppError,
    service::{
        idempotency,
        reconciliations::{self, LineView, StatementLineQuery},
        statements::{
            self, NewStatement, StatementPatch, StatementQuery as StatementFilter, StatementView,
        },
    },
};

#[ComplexObject]
impl StatementView {
    /// The reconciliation lines that compare this statement with its prefecture's own figure,
    /// one per vertical report, in the order the reports were made (Relay connection; `first`
    /// ≤ 500). The declaring organization reads them without reading the rest of the report.
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn reconciliation_lines(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, LineView>> {
        let (app, actor) = parts(ctx)?;
        let q = StatementLineQuery {
            limit: first.map(i64::from),
            cursor: after,
        };
        let page = reconciliations::statement_lines(app, actor, self.id, q)
            .await
            .map_err(page_args)?;
        Ok(connection(page, |l| l.reconciliation_id))
    }
}

#[derive(Default)]
pub struct StatementQuery;

#[Object]
impl StatementQuery {
    async fn statement(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<StatementView>> {
        let (app, actor) = parts(ctx)?;
        match statements::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// The statements the caller may read (Relay connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn statements(
        &self,
        ctx: &Context<'_>,
        filter: Option<StatementFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, StatementView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = statements::list(app, actor, q).await.map_err(page_args)?;
        Ok(connection(page, |s| s.id))
    }
}

#[derive(Default)]
pub struct StatementMutation;

#[Object]
impl StatementMutation {
    /// `idempotencyKey` works as REST's `Idempotency-Key` header.
    async fn create_statement(
        &self,
        ctx: &Context<'_>,
        input: NewStatement,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<StatementView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "create_statement",
            &payload,
            || statements::create(app, actor, input),
        )
        .await
        .map_err(gql)
    }

    /// `expected_version` works as REST's `If-Match`.
    async fn update_statement(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: StatementPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<StatementView> {
        let (app, actor) = parts(ctx)?;
        statements::update(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    async fn delete_statement(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        statements::delete(app, actor, id, expected_version)
            .await
            .map_err(gql)?;
        Ok(true)
    }
}
