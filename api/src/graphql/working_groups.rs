//! Working groups: `workingGroup`, `workingGroups`, their mutations, and the relations
//! `WorkingGroup.organization` / `office` / `responsibleOrganization` and
//! `WorkingGroup.members { role contact }`: organizations from the request's directory reading,
//! contacts through a DataLoader.

use async_graphql::{
    ComplexObject, Context, Object, Request, connection::Connection, dataloader::DataLoader,
};
use uuid::Uuid;

use super::{connection, contacts::ContactLoader, gql, gql_shared, page_args, parts};
use crate::{
    authz::Actor,
    error::AppError,
    service::idempotency,
    service::{
        AppCtx,
        contacts::ContactView,
        organizations::OrganizationView,
        working_groups::{
            self, NewWorkingGroup, WorkingGroupMember, WorkingGroupPatch,
            WorkingGroupQuery as WorkingGroupFilter, WorkingGroupView,
        },
    },
};

#[derive(Default)]
pub struct WorkingGroupQuery;

#[Object]
impl WorkingGroupQuery {
    async fn working_group(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<WorkingGroupView>> {
        let (app, actor) = parts(ctx)?;
        match working_groups::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Working groups of the organizations the caller may read (Relay connection;
    /// `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn working_groups(
        &self,
        ctx: &Context<'_>,
        filter: Option<WorkingGroupFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, WorkingGroupView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = working_groups::list(app, actor, q)
            .await
            .map_err(page_args)?;
        Ok(connection(page, |g| g.id))
    }
}

#[derive(Default)]
pub struct WorkingGroupMutation;

#[Object]
impl WorkingGroupMutation {
    /// `idempotencyKey` works as REST's `Idempotency-Key` header.
    async fn create_working_group(
        &self,
        ctx: &Context<'_>,
        input: NewWorkingGroup,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<WorkingGroupView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "create_working_group",
            &payload,
            || working_groups::create(app, actor, input),
        )
        .await
        .map_err(gql)
    }

    /// `expected_version` works as REST's `If-Match`; `members` replaces the whole list.
    async fn update_working_group(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: WorkingGroupPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<WorkingGroupView> {
        let (app, actor) = parts(ctx)?;
        working_groups::update(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    async fn delete_working_group(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        working_groups::delete(app, actor, id, expected_version)
            .await
            .map_err(gql)?;
        Ok(true)
    }
}

async fn org(
    ctx: &Context<'_>,
    id: Option<Uuid>,
) -> async_graphql::Result<Option<OrganizationView>> {
    let Some(id) = id else {
        return Ok(None);
    };
    super::organization(ctx, id)
}

#[ComplexObject]
impl WorkingGroupView {
    async fn organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<OrganizationView>> {
        org(ctx, Some(self.org_id)).await
    }

    /// Where the group's office sits.
    async fn office(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrganizationView>> {
        org(ctx, self.office_org_id).await
    }

    async fn responsible_organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<OrganizationView>> {
        org(ctx, self.responsible_org_id).await
    }
}

#[ComplexObject]
impl WorkingGroupMember {
    /// The contact, masked as `contact(id)` shows it; `null` when the caller may not read it or
    /// it has been deleted.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ContactView>> {
        ctx.data::<DataLoader<ContactLoader>>()?
            .load_one(self.contact_id)
            .await
            .map_err(|e| gql_shared(&e))
    }
}

/// Attaches this family's DataLoaders to a request. Members' contacts go through the
/// `ContactLoader` that `contacts::attach` registers.
pub fn attach(request: Request, _ctx: &AppCtx, _actor: &Actor) -> Request {
    request
}
