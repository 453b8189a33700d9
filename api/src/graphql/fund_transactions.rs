//! Fund transactions.

use async_graphql::{
    ComplexObject, Context, Object, Request, connection::Connection, dataloader::DataLoader,
};
use uuid::Uuid;

use super::{
    connection, data_loader, gql, gql_shared,
    loaders::{PairingFundsLoader, PairingTotalsLoader, ProjectLoader},
    page_args, parts,
};
use crate::{
    authz::Actor,
    error::AppError,
    service::{
        AppCtx,
        fund_transactions::{
            self, FundTransactionPatch, FundTransactionQuery as Filter, FundTransactionView,
            NewFundTransaction,
        },
        idempotency,
        pairings::PairingView,
        projects::ProjectView,
        sync::SyncResult,
    },
};

#[derive(Default)]
pub struct FundTransactionQuery;

#[Object]
impl FundTransactionQuery {
    async fn fund_transaction(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<FundTransactionView>> {
        let (app, actor) = parts(ctx)?;
        match fund_transactions::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Fund transactions the caller may read (Relay connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn fund_transactions(
        &self,
        ctx: &Context<'_>,
        filter: Option<Filter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, FundTransactionView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = fund_transactions::list(app, actor, q)
            .await
            .map_err(page_args)?;
        Ok(connection(page, |t| t.id))
    }
}

#[derive(Default)]
pub struct FundTransactionMutation;

#[Object]
impl FundTransactionMutation {
    /// `idempotencyKey` works as REST's `Idempotency-Key` header.
    async fn create_fund_transaction(
        &self,
        ctx: &Context<'_>,
        input: NewFundTransaction,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<FundTransactionView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "createFundTransaction",
            &payload,
            || fund_transactions::create(app, actor, input),
        )
        .await
        .map_err(gql)
    }

    async fn update_fund_transaction(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: FundTransactionPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<FundTransactionView> {
        let (app, actor) = parts(ctx)?;
        fund_transactions::update(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    async fn delete_fund_transaction(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        fund_transactions::delete(app, actor, id, expected_version)
            .await
            .map_err(gql)?;
        Ok(true)
    }

    /// Batch sync, as `POST /api/v1/sync/fund_transaction`: each item created, updated or left
    /// unchanged by its `externalId`, all in one transaction or none (the error's `errors`
    /// extension names each bad item's field as REST does, `items[3].amount_fen`, with its
    /// `externalId`).
    async fn sync_fund_transactions(
        &self,
        ctx: &Context<'_>,
        items: Vec<NewFundTransaction>,
    ) -> async_graphql::Result<Vec<SyncResult>> {
        let (app, actor) = parts(ctx)?;
        Ok(fund_transactions::sync(app, actor, items)
            .await
            .map_err(gql)?
            .results)
    }
}

#[ComplexObject]
impl FundTransactionView {
    async fn pairing(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<PairingView>> {
        super::pairing(ctx, self.pairing_id)
    }

    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ProjectView>> {
        let Some(id) = self.project_id else {
            return Ok(None);
        };
        ctx.data::<DataLoader<ProjectLoader>>()?
            .load_one(id)
            .await
            .map_err(|e| gql_shared(&e))
    }
}

pub fn attach(request: Request, ctx: &AppCtx, actor: &Actor) -> Request {
    request
        .data(data_loader(PairingFundsLoader::new(ctx, actor)))
        .data(data_loader(PairingTotalsLoader::new(ctx, actor)))
}
