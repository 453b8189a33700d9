//! Agreement queries and mutations.

use async_graphql::{Context, Object, Request};

use crate::{auth::Actor, service::AppCtx};

#[derive(Default)]
pub struct AgreementQuery;

#[Object]
impl AgreementQuery {
    /// Placeholder until the record family lands.
    async fn _agreements_pending(&self, _ctx: &Context<'_>) -> bool {
        false
    }
}

#[derive(Default)]
pub struct AgreementMutation;

#[Object]
impl AgreementMutation {
    /// Placeholder until the record family lands.
    async fn _agreements_pending(&self, _ctx: &Context<'_>) -> bool {
        false
    }
}

/// Attaches this family's DataLoaders to a request.
pub fn attach(request: Request, _ctx: &AppCtx, _actor: &Actor) -> Request {
    request
}
