//! Agreement queries and mutations, and the loader behind `Pairing.agreements`.

use async_graphql::{
    ComplexObject, Context, Object, Request, connection::Connection, dataloader::DataLoader,
};
use uuid::Uuid;

use super::{
    connection, data_loader, gql, gql_shared,
    loaders::{ProjectLoader, loader},
    page_args, parts,
};
use crate::{
    authz::Actor,
    error::AppError,
    service::idempotency,
    service::projects::ProjectView,
    service::{
        AppCtx,
        agreements::{
            self, AgreementPatch, AgreementQuery as AgreementFilter, AgreementView, NewAgreement,
        },
        pairings::PairingView,
        sync::SyncResult,
    },
};

loader!(
    PairingAgreementsLoader,
    Vec<AgreementView>,
    agreements::of_pairings
);

#[derive(Default)]
pub struct AgreementQuery;

#[Object]
impl AgreementQuery {
    /// One agreement, or `null` when it does not exist or the caller may not read it.
    async fn agreement(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<AgreementView>> {
        let (app, actor) = parts(ctx)?;
        match agreements::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Agreements the caller may read, in id order (Relay connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn agreements(
        &self,
        ctx: &Context<'_>,
        filter: Option<AgreementFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, AgreementView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = agreements::list(app, actor, q).await.map_err(page_args)?;
        Ok(connection(page, |a| a.id))
    }
}

#[derive(Default)]
pub struct AgreementMutation;

#[Object]
impl AgreementMutation {
    /// `idempotencyKey` works as REST's `Idempotency-Key` header.
    async fn create_agreement(
        &self,
        ctx: &Context<'_>,
        input: NewAgreement,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<AgreementView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "create_agreement",
            &payload,
            || agreements::create(app, actor, input),
        )
        .await
        .map_err(gql)
    }

    /// `expected_version` works as REST's `If-Match`.
    async fn update_agreement(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: AgreementPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<AgreementView> {
        let (app, actor) = parts(ctx)?;
        agreements::update(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    async fn delete_agreement(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        agreements::delete(app, actor, id, expected_version)
            .await
            .map_err(gql)?;
        Ok(true)
    }

    /// Batch sync, as REST's `POST /sync/agreement`: each item created, updated or left
    /// unchanged by its `externalId`, all in one transaction or none (the error's `errors`
    /// extension names each bad item's field as REST does, `items[3].start_on`, with its
    /// `externalId`).
    async fn sync_agreements(
        &self,
        ctx: &Context<'_>,
        items: Vec<NewAgreement>,
    ) -> async_graphql::Result<Vec<SyncResult>> {
        let (app, actor) = parts(ctx)?;
        Ok(agreements::sync(app, actor, items)
            .await
            .map_err(gql)?
            .results)
    }
}

#[ComplexObject]
impl AgreementView {
    async fn pairing(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<PairingView>> {
        super::pairing(ctx, self.pairing_id)
    }

    /// The projects the agreement covers (those the caller may read).
    #[graphql(complexity = "super::first_cost(first, super::NESTED_FIRST, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many (100 by default, at most 500), in id order.")]
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<ProjectView>> {
        let first = super::nested_first(first)?;
        let loaded = ctx
            .data::<DataLoader<ProjectLoader>>()?
            .load_many(self.project_ids.iter().copied())
            .await
            .map_err(|e| gql_shared(&e))?;
        Ok(self
            .project_ids
            .iter()
            .filter_map(|id| loaded.get(id).cloned())
            .take(first)
            .collect())
    }
}

/// Attaches this family's DataLoaders to a request.
pub fn attach(request: Request, ctx: &AppCtx, actor: &Actor) -> Request {
    request.data(data_loader(PairingAgreementsLoader::new(ctx, actor)))
}
