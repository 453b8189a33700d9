//! Per-request DataLoaders. Each holds the request's actor, so batching never widens what the
//! caller may read: the service batch functions apply the same scope as single reads.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::{
    auth::Actor,
    error::AppError,
    service::{
        AppCtx, organizations, organizations::OrganizationView, pairings, pairings::PairingView,
    },
};

macro_rules! loader {
    ($name:ident, $value:ty, $fetch:path) => {
        pub struct $name {
            ctx: AppCtx,
            actor: Actor,
        }

        impl $name {
            pub fn new(ctx: &AppCtx, actor: &Actor) -> Self {
                Self {
                    ctx: ctx.clone(),
                    actor: actor.clone(),
                }
            }
        }

        impl Loader<Uuid> for $name {
            type Value = $value;
            type Error = Arc<AppError>;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                $fetch(&self.ctx, &self.actor, keys).await.map_err(Arc::new)
            }
        }
    };
}

loader!(OrgLoader, OrganizationView, organizations::get_many);
loader!(
    ChildrenLoader,
    Vec<OrganizationView>,
    organizations::children_of_many
);
loader!(OrgPairingsLoader, Vec<PairingView>, pairings::of_orgs);
