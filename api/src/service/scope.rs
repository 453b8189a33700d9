//! Resolves an actor's [`Scope`] from the organization tree and the pairing register.

use std::collections::HashSet;

use entity::{organization, pairing};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{
    auth::Actor,
    authz::{Scope, reads_everything},
    error::AppResult,
};

/// Depth bound for walking the tree: province → prefecture → county → department is 4 deep;
/// the bound only guards against a cycle someone wrote into the data.
const MAX_DEPTH: usize = 16;

pub async fn load(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Scope> {
    if reads_everything(actor.role) {
        return Ok(Scope::everything());
    }
    let Some(org_id) = actor.org_id else {
        return Ok(Scope::default());
    };
    let subtree = subtree(db, org_id).await?;
    let ids: Vec<Uuid> = subtree.iter().copied().collect();
    let pairings: Vec<(Uuid, Uuid, Uuid)> = pairing::Entity::find()
        .select_only()
        .columns([
            pairing::Column::Id,
            pairing::Column::EastOrgId,
            pairing::Column::WestOrgId,
        ])
        .filter(pairing::Column::DeletedAt.is_null())
        .filter(
            Condition::any()
                .add(pairing::Column::EastOrgId.is_in(ids.clone()))
                .add(pairing::Column::WestOrgId.is_in(ids)),
        )
        .into_tuple()
        .all(db)
        .await?;
    let mut orgs = subtree.clone();
    orgs.extend(ancestors(db, org_id).await?);
    let mut pairing_ids = HashSet::new();
    for (id, east, west) in pairings {
        pairing_ids.insert(id);
        orgs.insert(east);
        orgs.insert(west);
    }
    Ok(Scope {
        all: false,
        subtree,
        orgs,
        pairings: pairing_ids,
    })
}

/// `root` and every live organization below it, one query per level.
pub async fn subtree(db: &impl ConnectionTrait, root: Uuid) -> AppResult<HashSet<Uuid>> {
    let mut all = HashSet::from([root]);
    let mut frontier = vec![root];
    for _ in 0..MAX_DEPTH {
        if frontier.is_empty() {
            break;
        }
        let children: Vec<Uuid> = organization::Entity::find()
            .select_only()
            .column(organization::Column::Id)
            .filter(organization::Column::ParentId.is_in(frontier))
            .filter(organization::Column::DeletedAt.is_null())
            .into_tuple()
            .all(db)
            .await?;
        frontier = children.into_iter().filter(|id| all.insert(*id)).collect();
    }
    Ok(all)
}

/// The parents of `id` up to the root, nearest first (not including `id`).
pub async fn ancestors(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Vec<Uuid>> {
    let mut chain = Vec::new();
    let mut current = id;
    for _ in 0..MAX_DEPTH {
        let parent: Option<Option<Uuid>> = organization::Entity::find_by_id(current)
            .select_only()
            .column(organization::Column::ParentId)
            .into_tuple()
            .one(db)
            .await?;
        match parent.flatten() {
            Some(p) if !chain.contains(&p) && p != id => {
                chain.push(p);
                current = p;
            }
            _ => break,
        }
    }
    Ok(chain)
}
