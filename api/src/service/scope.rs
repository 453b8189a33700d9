//! The organization tree read inside a transaction, for the writes that must see it as it is
//! there (moving an organization, checking a plan's owner). Requests read it from the
//! directory cache instead (`directory.rs`).

use std::collections::HashSet;

use entity::organization;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::error::AppResult;

/// Depth bound for walking the tree: province → prefecture → county → department is 4 deep;
/// the bound only guards against a cycle someone wrote into the data.
const MAX_DEPTH: usize = 16;

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
