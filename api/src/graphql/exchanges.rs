//! Exchange queries and mutations.

use async_graphql::{Context, Object, Request};

use crate::{auth::Actor, service::AppCtx};

#[derive(Default)]
pub struct ExchangeQuery;

#[Object]
impl ExchangeQuery {
    /// Placeholder until the record family lands.
    async fn _exchanges_pending(&self, _ctx: &Context<'_>) -> bool {
        false
    }
}

#[derive(Default)]
pub struct ExchangeMutation;

#[Object]
impl ExchangeMutation {
    /// Placeholder until the record family lands.
    async fn _exchanges_pending(&self, _ctx: &Context<'_>) -> bool {
        false
    }
}

/// Attaches this family's DataLoaders to a request.
pub fn attach(request: Request, _ctx: &AppCtx, _actor: &Actor) -> Request {
    request
}
