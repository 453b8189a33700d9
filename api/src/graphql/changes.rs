//! The change feed: `changes`, over the same service as REST's `/api/v1/changes`.

use async_graphql::{Context, Object};

use super::{gql, parts};
use crate::service::changes::{self, ChangePage, ChangesQuery};

#[derive(Default)]
pub struct ChangeQuery;

#[Object]
impl ChangeQuery {
    /// Every create, update and delete of the records the caller may read, after `after` (the
    /// `nextAfter` of the previous page; from the beginning without it), in an order a poller
    /// follows without skipping a change. `recordTypes` keeps only those types.
    async fn changes(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        limit: Option<i32>,
        record_types: Option<Vec<String>>,
    ) -> async_graphql::Result<ChangePage> {
        let (app, actor) = parts(ctx)?;
        let q = ChangesQuery {
            after,
            limit: limit.map(i64::from),
            record_type: record_types.map(|t| t.join(",")),
        };
        changes::list(app, actor, q).await.map_err(gql)
    }
}
