//! Plans and plan tasks: `plan`, `plans`, `planTask`, `planTasks`, their mutations, and the
//! relations `Plan.tasks`, `PlanTask.plan` and the organizations, through DataLoaders: the tasks
//! of every plan on a page, progress included, cost a fixed number of statements.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    ComplexObject, Context, Object, Request,
    connection::Connection,
    dataloader::{DataLoader, Loader},
};
use uuid::Uuid;

use super::{connection, data_loader, gql, gql_shared, page_args, parts};
use crate::{
    authz::Actor,
    error::AppError,
    service::idempotency,
    service::{
        AppCtx,
        organizations::OrganizationView,
        plans::{
            self, NewPlan, NewPlanTask, OrgProgress, PlanPatch, PlanQuery as PlanFilter,
            PlanTaskPatch, PlanTaskQuery as PlanTaskFilter, PlanTaskView, PlanView,
        },
    },
};

/// Plans by id.
pub struct PlanLoader {
    ctx: AppCtx,
    actor: Actor,
}

impl Loader<Uuid> for PlanLoader {
    type Value = PlanView;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, PlanView>, Self::Error> {
        plans::get_many(&self.ctx, &self.actor, keys)
            .await
            .map_err(Arc::new)
    }
}

/// The tasks of each plan, by plan id.
pub struct PlanTasksLoader {
    ctx: AppCtx,
    actor: Actor,
}

impl Loader<Uuid> for PlanTasksLoader {
    type Value = Vec<PlanTaskView>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<PlanTaskView>>, Self::Error> {
        plans::tasks_of_many(&self.ctx, &self.actor, keys)
            .await
            .map_err(Arc::new)
    }
}

#[derive(Default)]
pub struct PlanQuery;

#[Object]
impl PlanQuery {
    async fn plan(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<PlanView>> {
        let (app, actor) = parts(ctx)?;
        match plans::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Plans of the organizations the caller may read (Relay connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn plans(
        &self,
        ctx: &Context<'_>,
        filter: Option<PlanFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, PlanView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = plans::list(app, actor, q).await.map_err(page_args)?;
        Ok(connection(page, |p| p.id))
    }

    async fn plan_task(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<PlanTaskView>> {
        let (app, actor) = parts(ctx)?;
        match plans::get_task(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Tasks of the plans the caller may read, with computed progress and status (Relay
    /// connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn plan_tasks(
        &self,
        ctx: &Context<'_>,
        filter: Option<PlanTaskFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, PlanTaskView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = plans::list_tasks(app, actor, q).await.map_err(page_args)?;
        Ok(connection(page, |t| t.id))
    }
}

#[derive(Default)]
pub struct PlanMutation;

#[Object]
impl PlanMutation {
    /// `idempotencyKey` works as REST's `Idempotency-Key` header.
    async fn create_plan(
        &self,
        ctx: &Context<'_>,
        input: NewPlan,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<PlanView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "create_plan",
            &payload,
            || plans::create(app, actor, input),
        )
        .await
        .map_err(gql)
    }

    /// `expected_version` works as REST's `If-Match`.
    async fn update_plan(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: PlanPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<PlanView> {
        let (app, actor) = parts(ctx)?;
        plans::update(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    /// Deletes the plan together with its tasks.
    async fn delete_plan(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        plans::delete(app, actor, id, expected_version)
            .await
            .map_err(gql)?;
        Ok(true)
    }

    /// `idempotencyKey` works as REST's `Idempotency-Key` header.
    async fn create_plan_task(
        &self,
        ctx: &Context<'_>,
        input: NewPlanTask,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<PlanTaskView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "create_plan_task",
            &payload,
            || plans::create_task(app, actor, input),
        )
        .await
        .map_err(gql)
    }

    /// `expected_version` works as REST's `If-Match`.
    async fn update_plan_task(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: PlanTaskPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<PlanTaskView> {
        let (app, actor) = parts(ctx)?;
        plans::update_task(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    async fn delete_plan_task(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        plans::delete_task(app, actor, id, expected_version)
            .await
            .map_err(gql)?;
        Ok(true)
    }
}

#[ComplexObject]
impl PlanView {
    async fn organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<OrganizationView>> {
        super::organization(ctx, self.org_id)
    }

    /// In quarter, then due date order, progress computed.
    #[graphql(complexity = "super::first_cost(first, super::NESTED_FIRST, child_complexity)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many (100 by default, at most 500), in quarter and due date order; `planTasks` pages through all of them."
        )]
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<PlanTaskView>> {
        super::nested::<PlanTasksLoader, _>(ctx, self.id, first).await
    }
}

#[ComplexObject]
impl PlanTaskView {
    async fn plan(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<PlanView>> {
        ctx.data::<DataLoader<PlanLoader>>()?
            .load_one(self.plan_id)
            .await
            .map_err(|e| gql_shared(&e))
    }

    async fn responsible_organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<OrganizationView>> {
        super::organization(ctx, self.responsible_org_id)
    }

    /// The organizations that must each meet the target, as the caller may read them.
    async fn target_organizations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<OrganizationView>> {
        let mut out = Vec::with_capacity(self.target_org_ids.len());
        for id in &self.target_org_ids {
            out.extend(super::organization(ctx, *id)?);
        }
        Ok(out)
    }
}

#[ComplexObject]
impl OrgProgress {
    async fn organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<OrganizationView>> {
        super::organization(ctx, self.org_id)
    }
}

/// Attaches this family's DataLoaders to a request.
pub fn attach(request: Request, ctx: &AppCtx, actor: &Actor) -> Request {
    request
        .data(data_loader(PlanLoader {
            ctx: ctx.clone(),
            actor: actor.clone(),
        }))
        .data(data_loader(PlanTasksLoader {
            ctx: ctx.clone(),
            actor: actor.clone(),
        }))
}
