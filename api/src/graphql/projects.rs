//! Project queries and mutations.

use async_graphql::{Context, Object, Request};

use crate::{auth::Actor, service::AppCtx};

#[derive(Default)]
pub struct ProjectQuery;

#[Object]
impl ProjectQuery {
    /// Placeholder until the record family lands.
    async fn _projects_pending(&self, _ctx: &Context<'_>) -> bool {
        false
    }
}

#[derive(Default)]
pub struct ProjectMutation;

#[Object]
impl ProjectMutation {
    /// Placeholder until the record family lands.
    async fn _projects_pending(&self, _ctx: &Context<'_>) -> bool {
        false
    }
}

/// Attaches this family's DataLoaders to a request.
pub fn attach(request: Request, _ctx: &AppCtx, _actor: &Actor) -> Request {
    request
}
