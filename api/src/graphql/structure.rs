//! Organizations and pairings.

use async_graphql::{
    ComplexObject, Context, Object, connection::Connection, dataloader::DataLoader,
};
use uuid::Uuid;

use super::{
    agreements::PairingAgreementsLoader,
    connection,
    exchanges::PairingExchangesLoader,
    gql, gql_shared,
    loaders::{
        OrgPlansLoader, OrgWorkingGroupLoader, OwnerProjectsLoader, PairingFundsLoader,
        PairingProjectsLoader, PairingTotalsLoader,
    },
    page_args, parts,
};
use crate::{
    error::AppError,
    service::idempotency,
    service::{
        agreements::AgreementView,
        exchanges::ExchangeView,
        fund_transactions::{FundTransactionView, Totals},
        organizations::{
            self, NewOrganization, OrganizationPatch, OrganizationQuery, OrganizationView,
        },
        pairings::{self, NewPairing, PairingPatch, PairingQuery, PairingView},
        plans::PlanView,
        projects::ProjectView,
        working_groups::WorkingGroupView,
    },
};

#[derive(Default)]
pub struct StructureQuery;

#[Object]
impl StructureQuery {
    async fn organization(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<OrganizationView>> {
        let (app, actor) = parts(ctx)?;
        match organizations::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Organizations the caller may read, in id order (Relay connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrganizationQuery>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, OrganizationView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = organizations::list(app, actor, q)
            .await
            .map_err(page_args)?;
        Ok(connection(page, |o| o.id))
    }

    async fn pairing(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<PairingView>> {
        let (app, actor) = parts(ctx)?;
        match pairings::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Pairings the caller may read (Relay connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn pairings(
        &self,
        ctx: &Context<'_>,
        filter: Option<PairingQuery>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, PairingView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = pairings::list(app, actor, q).await.map_err(page_args)?;
        Ok(connection(page, |p| p.id))
    }
}

#[derive(Default)]
pub struct StructureMutation;

#[Object]
impl StructureMutation {
    /// `idempotencyKey` works as REST's `Idempotency-Key` header.
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: NewOrganization,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<OrganizationView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        let result = idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "create_organization",
            &payload,
            || organizations::create(app, actor, input),
        )
        .await;
        restructured(ctx, result).await
    }

    /// `expected_version` works as REST's `If-Match`.
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: OrganizationPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<OrganizationView> {
        let (app, actor) = parts(ctx)?;
        let result = organizations::update(app, actor, id, expected_version, input).await;
        restructured(ctx, result).await
    }

    async fn delete_organization(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        let result = organizations::delete(app, actor, id, expected_version).await;
        restructured(ctx, result).await?;
        Ok(true)
    }

    /// `idempotencyKey` works as REST's `Idempotency-Key` header.
    async fn create_pairing(
        &self,
        ctx: &Context<'_>,
        input: NewPairing,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<PairingView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        let result = idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "create_pairing",
            &payload,
            || pairings::create(app, actor, input),
        )
        .await;
        restructured(ctx, result).await
    }

    async fn update_pairing(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: PairingPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<PairingView> {
        let (app, actor) = parts(ctx)?;
        let result = pairings::update(app, actor, id, expected_version, input).await;
        restructured(ctx, result).await
    }

    async fn delete_pairing(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        let result = pairings::delete(app, actor, id, expected_version).await;
        restructured(ctx, result).await?;
        Ok(true)
    }
}

/// A write to organizations or pairings: its result, with the request's directory read again
/// when it succeeded, so that what the request nests from here on shows the change. The write
/// has committed by then: if the reading fails, the result still stands (nested structure then
/// shows the request's earlier reading), rather than an error for a change that was made.
async fn restructured<T>(
    ctx: &Context<'_>,
    result: Result<T, AppError>,
) -> async_graphql::Result<T> {
    let value = result.map_err(gql)?;
    if let Err(e) = super::refresh_directory(ctx).await {
        tracing::warn!(error = ?e.message, "reading the directory again after a structure change");
    }
    Ok(value)
}

#[ComplexObject]
impl OrganizationView {
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrganizationView>> {
        let Some(parent) = self.parent_id else {
            return Ok(None);
        };
        super::organization(ctx, parent)
    }

    #[graphql(
        complexity = "super::list_cost(crate::service::directory::widest(), child_complexity)"
    )]
    async fn children(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OrganizationView>> {
        let (_, actor) = super::parts(ctx)?;
        let dir = super::request_directory(ctx)?;
        organizations::children_in_directory(&dir, actor, self.id).map_err(gql)
    }

    /// The organization's working group (工作推进组), if it has one.
    async fn working_group(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<WorkingGroupView>> {
        ctx.data::<DataLoader<OrgWorkingGroupLoader>>()?
            .load_one(self.id)
            .await
            .map_err(|e| gql_shared(&e))
    }

    /// The organization's yearly plans (年度工作方案).
    #[graphql(complexity = "super::first_cost(first, super::NESTED_FIRST, child_complexity)")]
    async fn plans(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many (100 by default, at most 500), in id order; the top-level connection pages through all of them."
        )]
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<PlanView>> {
        super::nested::<OrgPlansLoader, _>(ctx, self.id, first).await
    }

    /// Projects this organization recorded.
    #[graphql(complexity = "super::first_cost(first, super::NESTED_FIRST, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many (100 by default, at most 500), in id order; the top-level connection pages through all of them."
        )]
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<ProjectView>> {
        super::nested::<OwnerProjectsLoader, _>(ctx, self.id, first).await
    }

    #[graphql(
        complexity = "super::list_cost(crate::service::directory::widest(), child_complexity)"
    )]
    async fn pairings(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PairingView>> {
        let (_, actor) = super::parts(ctx)?;
        let dir = super::request_directory(ctx)?;
        pairings::of_org_in_directory(&dir, actor, self.id).map_err(gql)
    }
}

#[ComplexObject]
impl PairingView {
    async fn east(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrganizationView>> {
        super::organization(ctx, self.east_org_id)
    }

    #[graphql(complexity = "super::first_cost(first, super::NESTED_FIRST, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many (100 by default, at most 500), in id order; the top-level connection pages through all of them."
        )]
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<ProjectView>> {
        super::nested::<PairingProjectsLoader, _>(ctx, self.id, first).await
    }

    #[graphql(complexity = "super::first_cost(first, super::NESTED_FIRST, child_complexity)")]
    async fn fund_transactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many (100 by default, at most 500), in id order; the top-level connection pages through all of them."
        )]
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<FundTransactionView>> {
        super::nested::<PairingFundsLoader, _>(ctx, self.id, first).await
    }

    #[graphql(complexity = "super::first_cost(first, super::NESTED_FIRST, child_complexity)")]
    async fn exchanges(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many (100 by default, at most 500), in id order; the top-level connection pages through all of them."
        )]
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<ExchangeView>> {
        super::nested::<PairingExchangesLoader, _>(ctx, self.id, first).await
    }

    #[graphql(complexity = "super::first_cost(first, super::NESTED_FIRST, child_complexity)")]
    async fn agreements(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many (100 by default, at most 500), in id order; the top-level connection pages through all of them."
        )]
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<AgreementView>> {
        super::nested::<PairingAgreementsLoader, _>(ctx, self.id, first).await
    }

    /// Money pledged, transferred, arrived, spent and refunded on this pairing.
    async fn totals(&self, ctx: &Context<'_>) -> async_graphql::Result<Totals> {
        Ok(ctx
            .data::<DataLoader<PairingTotalsLoader>>()?
            .load_one(self.id)
            .await
            .map_err(|e| gql_shared(&e))?
            .unwrap_or_default())
    }

    async fn west(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrganizationView>> {
        super::organization(ctx, self.west_org_id)
    }
}
