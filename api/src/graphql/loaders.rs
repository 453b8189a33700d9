//! Per-request DataLoaders. Each holds the request's actor, so batching never widens what the
//! caller may read: the service batch functions apply the same scope as single reads.

use crate::service::{
    fund_transactions::{self, FundTransactionView, Totals},
    plans::{self, PlanView},
    projects::{self, ProjectView},
    working_groups::{self, WorkingGroupView},
};

/// `loader!(Name, Value, service::batch_fn)` declares a per-request loader over a service batch
/// function `fn(&AppCtx, &Actor, &[Uuid]) -> AppResult<HashMap<Uuid, Value>>`.
macro_rules! loader {
    ($name:ident, $value:ty, $fetch:path) => {
        pub struct $name {
            ctx: $crate::service::AppCtx,
            actor: $crate::authz::Actor,
        }

        impl $name {
            pub fn new(ctx: &$crate::service::AppCtx, actor: &$crate::authz::Actor) -> Self {
                Self {
                    ctx: ctx.clone(),
                    actor: actor.clone(),
                }
            }
        }

        impl ::async_graphql::dataloader::Loader<::uuid::Uuid> for $name {
            type Value = $value;
            type Error = ::std::sync::Arc<$crate::error::AppError>;

            async fn load(
                &self,
                keys: &[::uuid::Uuid],
            ) -> Result<::std::collections::HashMap<::uuid::Uuid, Self::Value>, Self::Error> {
                $fetch(&self.ctx, &self.actor, keys)
                    .await
                    .map_err(::std::sync::Arc::new)
            }
        }
    };
}

pub(crate) use loader;

loader!(ProjectLoader, ProjectView, projects::get_many);
loader!(
    PairingProjectsLoader,
    Vec<ProjectView>,
    projects::of_pairings
);
loader!(OwnerProjectsLoader, Vec<ProjectView>, projects::of_owners);
loader!(
    ProjectFundsLoader,
    Vec<FundTransactionView>,
    fund_transactions::of_projects
);
loader!(
    PairingFundsLoader,
    Vec<FundTransactionView>,
    fund_transactions::of_pairings
);
loader!(
    PairingTotalsLoader,
    Totals,
    fund_transactions::totals_of_pairings
);
loader!(
    OrgWorkingGroupLoader,
    WorkingGroupView,
    working_groups::of_orgs
);
loader!(OrgPlansLoader, Vec<PlanView>, plans::of_orgs);
