//! FundTransaction queries and mutations.

use async_graphql::{Context, Object, Request};

use crate::{auth::Actor, service::AppCtx};

#[derive(Default)]
pub struct FundTransactionQuery;

#[Object]
impl FundTransactionQuery {
    /// Placeholder until the record family lands.
    async fn _fund_transactions_pending(&self, _ctx: &Context<'_>) -> bool {
        false
    }
}

#[derive(Default)]
pub struct FundTransactionMutation;

#[Object]
impl FundTransactionMutation {
    /// Placeholder until the record family lands.
    async fn _fund_transactions_pending(&self, _ctx: &Context<'_>) -> bool {
        false
    }
}

/// Attaches this family's DataLoaders to a request.
pub fn attach(request: Request, _ctx: &AppCtx, _actor: &Actor) -> Request {
    request
}
