//! Projects.

use async_graphql::{ComplexObject, Context, Object, Request, connection::Connection};
use uuid::Uuid;

use super::{
    connection, data_loader, gql,
    loaders::{OwnerProjectsLoader, PairingProjectsLoader, ProjectFundsLoader, ProjectLoader},
    page_args, parts,
};
use crate::{
    authz::Actor,
    error::AppError,
    service::{
        AppCtx,
        fund_transactions::FundTransactionView,
        idempotency,
        organizations::OrganizationView,
        pairings::PairingView,
        projects::{self, NewProject, ProjectPatch, ProjectQuery as Filter, ProjectView},
        sync::SyncResult,
    },
};

#[derive(Default)]
pub struct ProjectQuery;

#[Object]
impl ProjectQuery {
    async fn project(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<ProjectView>> {
        let (app, actor) = parts(ctx)?;
        match projects::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Projects the caller may read, with money totals (Relay connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        filter: Option<Filter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ProjectView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = projects::list_with(app, actor, q, money_asked(ctx))
            .await
            .map_err(page_args)?;
        Ok(connection(page, |p| p.id))
    }
}

/// Whether the selection under a connection of projects names any total (through aliases and
/// fragments too): only then are they summed.
fn money_asked(ctx: &Context<'_>) -> projects::Money {
    const TOTALS: [&str; 5] = [
        "pledgedFen",
        "transferredFen",
        "arrivedFen",
        "spentFen",
        "refundedFen",
    ];
    let look = ctx.look_ahead();
    let (edges, nodes) = (look.field("edges").field("node"), look.field("nodes"));
    if TOTALS
        .iter()
        .any(|t| edges.field(t).exists() || nodes.field(t).exists())
    {
        projects::Money::Summed
    } else {
        projects::Money::NotAsked
    }
}

#[derive(Default)]
pub struct ProjectMutation;

#[Object]
impl ProjectMutation {
    /// `idempotencyKey` works as REST's `Idempotency-Key` header.
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        input: NewProject,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<ProjectView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "createProject",
            &payload,
            || projects::create(app, actor, input),
        )
        .await
        .map_err(gql)
    }

    /// `status` in the input moves the lifecycle; `expectedVersion` works as `If-Match`.
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: ProjectPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<ProjectView> {
        let (app, actor) = parts(ctx)?;
        projects::update(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    async fn delete_project(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        projects::delete(app, actor, id, expected_version)
            .await
            .map_err(gql)?;
        Ok(true)
    }

    /// Batch sync, as REST's `POST /sync/project`: each item created, updated or left
    /// unchanged by its `externalId`, all in one transaction or none (the error's `errors`
    /// extension names each bad item's field as REST does, `items[3].code`, with its
    /// `externalId`).
    async fn sync_projects(
        &self,
        ctx: &Context<'_>,
        items: Vec<NewProject>,
    ) -> async_graphql::Result<Vec<SyncResult>> {
        let (app, actor) = parts(ctx)?;
        Ok(projects::sync(app, actor, items)
            .await
            .map_err(gql)?
            .results)
    }
}

#[ComplexObject]
impl ProjectView {
    async fn pairing(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<PairingView>> {
        super::pairing(ctx, self.pairing_id)
    }

    /// The organization that recorded the project.
    async fn organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<OrganizationView>> {
        super::organization(ctx, self.owner_org_id)
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
        super::nested::<ProjectFundsLoader, _>(ctx, self.id, first).await
    }
}

pub fn attach(request: Request, ctx: &AppCtx, actor: &Actor) -> Request {
    request
        .data(data_loader(ProjectLoader::new(ctx, actor)))
        .data(data_loader(PairingProjectsLoader::new(ctx, actor)))
        .data(data_loader(OwnerProjectsLoader::new(ctx, actor)))
        .data(data_loader(ProjectFundsLoader::new(ctx, actor)))
}
