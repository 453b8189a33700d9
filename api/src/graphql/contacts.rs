//! Contacts: `contact`, `contacts`, their mutations, and `Contact.organization`. Phone and email
//! arrive masked from the service exactly as REST shows them.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    ComplexObject, Context, Object, Request, connection::Connection, dataloader::Loader,
};
use uuid::Uuid;

use super::{connection, data_loader, gql, page_args, parts};
use crate::{
    authz::Actor,
    error::AppError,
    service::idempotency,
    service::{
        AppCtx,
        contacts::{self, ContactPatch, ContactQuery as ContactFilter, ContactView, NewContact},
        organizations::OrganizationView,
    },
};

/// Contacts by id, as the request's actor may see them (masked where the service masks).
pub struct ContactLoader {
    ctx: AppCtx,
    actor: Actor,
}

impl Loader<Uuid> for ContactLoader {
    type Value = ContactView;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, ContactView>, Self::Error> {
        contacts::get_many(&self.ctx, &self.actor, keys)
            .await
            .map_err(Arc::new)
    }
}

#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    async fn contact(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<ContactView>> {
        let (app, actor) = parts(ctx)?;
        match contacts::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Contacts of the organizations the caller may read (Relay connection; `first` ≤ 500).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        filter: Option<ContactFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ContactView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = contacts::list(app, actor, q).await.map_err(page_args)?;
        Ok(connection(page, |c| c.id))
    }
}

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// `idempotencyKey` works as REST's `Idempotency-Key` header.
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        input: NewContact,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<ContactView> {
        let (app, actor) = parts(ctx)?;
        let payload = input.clone();
        idempotency::run(
            app,
            actor,
            idempotency_key.as_deref(),
            "create_contact",
            &payload,
            || contacts::create(app, actor, input),
        )
        .await
        .map_err(gql)
    }

    /// `expected_version` works as REST's `If-Match`.
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: ContactPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<ContactView> {
        let (app, actor) = parts(ctx)?;
        contacts::update(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    async fn delete_contact(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        contacts::delete(app, actor, id, expected_version)
            .await
            .map_err(gql)?;
        Ok(true)
    }
}

#[ComplexObject]
impl ContactView {
    async fn organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<OrganizationView>> {
        super::organization(ctx, self.org_id)
    }
}

/// Attaches this family's DataLoaders to a request.
pub fn attach(request: Request, ctx: &AppCtx, actor: &Actor) -> Request {
    request.data(data_loader(ContactLoader {
        ctx: ctx.clone(),
        actor: actor.clone(),
    }))
}
