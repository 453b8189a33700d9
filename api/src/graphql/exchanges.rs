//! Exchange queries and mutations, and the loader behind `Pairing.exchanges`.

use async_graphql::{ComplexObject, Context, Object, Request, connection::Connection};
use uuid::Uuid;

use super::{connection, data_loader, gql, loaders::loader, page_args, parts};
use crate::{
    authz::Actor,
    error::AppError,
    service::idempotency,
    service::{
        AppCtx,
        exchanges::{
            self, ExchangePatch, ExchangeQuery as ExchangeFilter, ExchangeView, NewExchange,
        },
        organizations::OrganizationView,
        pairings::PairingView,
        sync::SyncResult,
    },
};

loader!(
    PairingExchangesLoader,
    Vec<ExchangeView>,
    exchanges::of_pairings
);

#[derive(Default)]
pub struct ExchangeQuery;

#[Object]
impl ExchangeQuery {
    /// One exchange, or `null` when it does not exist or the caller may not read it.
    async fn exchange(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<ExchangeView>> {
        let (app, actor) = parts(ctx)?;
        match exchanges::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Exchanges the caller may read, in id order (Relay connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn exchanges(
        &self,
        ctx: &Context<'_>,
        filter: Option<ExchangeFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ExchangeView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = exchanges::list(app, actor, q).await.map_err(page_args)?;
        Ok(connection(page, |e| e.id))
    }
}

#[derive(Default)]
pub struct ExchangeMutation;

#[Object]
impl ExchangeMutation {
    /// `idempotencyKey` works as REST's `Idempotency-Key` header.
    async fn create_exchange(
        &self,
        ctx: &Context<'_>,
        input: NewExchange,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<ExchangeView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "create_exchange",
            &payload,
            || exchanges::create(app, actor, input),
        )
        .await
        .map_err(gql)
    }

    /// `expected_version` works as REST's `If-Match`.
    async fn update_exchange(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: ExchangePatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<ExchangeView> {
        let (app, actor) = parts(ctx)?;
        exchanges::update(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    async fn delete_exchange(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        exchanges::delete(app, actor, id, expected_version)
            .await
            .map_err(gql)?;
        Ok(true)
    }

    /// Batch sync, as REST's `POST /sync/exchange`: each item created, updated or left
    /// unchanged by its `externalId`, all in one transaction or none (the error's `errors`
    /// extension names each bad item's field as REST does, `items[3].start_on`, with its
    /// `externalId`).
    async fn sync_exchanges(
        &self,
        ctx: &Context<'_>,
        items: Vec<NewExchange>,
    ) -> async_graphql::Result<Vec<SyncResult>> {
        let (app, actor) = parts(ctx)?;
        Ok(exchanges::sync(app, actor, items)
            .await
            .map_err(gql)?
            .results)
    }
}

#[ComplexObject]
impl ExchangeView {
    /// The host organization (`null` if the caller may not read it).
    async fn host(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrganizationView>> {
        super::organization(ctx, self.host_org_id)
    }

    /// The visiting organizations the caller may read, in id order.
    #[graphql(
        complexity = "super::list_cost(crate::service::exchanges::VISITORS_MAX, child_complexity)"
    )]
    async fn visiting_orgs(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<OrganizationView>> {
        let mut found = Vec::with_capacity(self.visiting_org_ids.len());
        for id in &self.visiting_org_ids {
            found.extend(super::organization(ctx, *id)?);
        }
        Ok(found)
    }

    async fn pairing(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<PairingView>> {
        let Some(id) = self.pairing_id else {
            return Ok(None);
        };
        super::pairing(ctx, id)
    }
}

/// Attaches this family's DataLoaders to a request.
pub fn attach(request: Request, ctx: &AppCtx, actor: &Actor) -> Request {
    request.data(data_loader(PairingExchangesLoader::new(ctx, actor)))
}
