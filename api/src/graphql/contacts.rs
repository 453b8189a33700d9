//! Contact queries and mutations.

use async_graphql::{Context, Object, Request};

use crate::{auth::Actor, service::AppCtx};

#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    /// Placeholder until the record family lands.
    async fn _contacts_pending(&self, _ctx: &Context<'_>) -> bool {
        false
    }
}

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Placeholder until the record family lands.
    async fn _contacts_pending(&self, _ctx: &Context<'_>) -> bool {
        false
    }
}

/// Attaches this family's DataLoaders to a request.
pub fn attach(request: Request, _ctx: &AppCtx, _actor: &Actor) -> Request {
    request
}
