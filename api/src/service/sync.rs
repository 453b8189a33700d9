//! Batch sync, the shared half: a partner system sends a batch of records keyed by its own
//! `external_id`; each becomes `created`, `updated` or `unchanged`, all in one transaction, or
//! nothing is written and every bad item is reported (`items[3].amount_fen`, with the item's
//! `external_id`). A family's `sync` checks its items with one statement per kind of lookup
//! (pairings, projects, the existing records), not one per item, and writes through these
//! helpers: multi-row inserts, one audit insert per chunk, one feed append.

use std::collections::{HashMap, HashSet};

use entity::audit_log;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityName, EntityTrait,
    FromQueryResult, QueryFilter, QueryTrait, Statement,
    sea_query::{Alias, Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    AppCtx, WriteTx,
    audit::{self, Action},
    bulk, changes,
    kernel::{self, Record},
    now, records,
};
use crate::{
    authz::{Actor, Owner, ensure_write},
    domain::Fields,
    error::{AppError, FieldError, Result},
};

/// Keys per lookup statement (a list of bound values, under SQLite's 32,766 bound parameters).
pub const CHUNK: usize = 1_000;

/// A batch: `{"items": [...]}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncBatch<T> {
    /// Up to `XIEZUO_SYNC_BATCH_MAX` items (default 1,000), each with an `external_id`.
    pub items: Vec<T>,
}

/// What sync did with an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
#[graphql(rename_items = "snake_case")]
pub enum SyncOutcome {
    Created,
    Updated,
    /// The stored record already says what the item says: nothing was written.
    Unchanged,
}

#[derive(Debug, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct SyncResult {
    pub external_id: String,
    pub id: Uuid,
    pub result: SyncOutcome,
}

/// The result of each item, in the order of the batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResponse {
    pub results: Vec<SyncResult>,
}

/// The errors of a batch, each under its item's path and with its `external_id`.
#[derive(Default)]
pub struct ItemErrors(Vec<FieldError>);

impl ItemErrors {
    /// Keeps what `f` recorded for item `index`; whether it was clean.
    pub fn add(&mut self, index: usize, external_id: Option<&str>, f: Fields) -> bool {
        let errors = f.into_errors();
        let clean = errors.is_empty();
        for mut e in errors {
            e.field = format!("items[{index}].{}", e.field);
            e.external_id = external_id.map(str::to_string);
            self.0.push(e);
        }
        clean
    }

    /// One error of item `index`.
    pub fn push(&mut self, index: usize, external_id: &str, field: &str, message: String) {
        let mut f = Fields::new();
        f.push(field, message);
        self.add(index, Some(external_id), f);
    }

    /// `Err(Validation)` listing every item's errors, in item order, when there are any.
    pub fn finish(mut self) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0.sort_by_key(|e| item_index(&e.field));
        Err(AppError::Validation(self.0))
    }
}

fn item_index(field: &str) -> usize {
    field
        .strip_prefix("items[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}

/// Refuses a batch larger than the configured bound, before anything is read.
pub fn check_size(len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(AppError::field(
            "items",
            format!("at most {max} items in one batch; send the rest in another"),
        ));
    }
    Ok(())
}

/// The records of family `R` that carry one of `external_ids`, live or deleted, by owner and
/// external id: one statement per [`CHUNK`].
pub async fn existing<R: Record>(
    db: &impl ConnectionTrait,
    owners: &[Uuid],
    external_ids: &[&str],
) -> Result<HashMap<(Uuid, String), R::Row>> {
    let mut found = HashMap::new();
    let backend = db.get_database_backend();
    let table = R::Entity::default().table_name().to_string();
    by_index(db, true).await?;
    for chunk in external_ids.chunks(CHUNK) {
        let select = R::select(backend).filter(R::columns().owner.is_in(owners.iter().copied()));
        let rows = match backend {
            // On PostgreSQL the ids go as one JSON array, each looked up on its own through the
            // (owner, external_id) index: a nested loop the `OFFSET 0` keeps the planner from
            // flattening. As a list of 1,000 parameters, or an array compared with each row, the
            // plan depends on the statistics: for a table filled faster than autovacuum counts it
            // again it reads every row of the owner for each batch (a first sync of 100,000 fund
            // transactions: 2 ms a lookup became 260 ms).
            DbBackend::Postgres => {
                let inner = select
                    .filter(Expr::cust(format!("\"{table}\".\"external_id\" = x.e")))
                    .build(backend);
                let mut values = inner.values.map(|v| v.0).unwrap_or_default();
                values.push(serde_json::json!(chunk).into());
                let sql = format!(
                    "SELECT f.* FROM jsonb_array_elements_text(CAST(${} AS jsonb)) AS x(e) \
                     CROSS JOIN LATERAL ({} OFFSET 0) AS f",
                    values.len(),
                    inner.sql
                );
                R::Row::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
                    .all(db)
                    .await?
            }
            _ => {
                select
                    .filter(
                        Expr::col((R::Entity::default(), Alias::new("external_id")))
                            .is_in(chunk.iter().copied()),
                    )
                    .into_model::<R::Row>()
                    .all(db)
                    .await?
            }
        };
        for row in rows {
            let external: Option<String> =
                kernel::get_value::<R, Option<String>>(&row, external_column::<R>()).flatten();
            if let Some(external) = external {
                found.insert((kernel::owner_of::<R>(&row), external), row);
            }
        }
    }
    by_index(db, false).await?;
    Ok(found)
}

/// A batch reads the rows it names by their keys, a thousand at a time, while it may be filling
/// the table from empty faster than autovacuum counts it again: with statistics that still call
/// the table small, the planner may scan all of it for each batch. Between `by_index(db, true)`
/// and `by_index(db, false)` PostgreSQL reads through the keys' indexes.
async fn by_index(db: &impl ConnectionTrait, on: bool) -> Result<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(if on {
            "SET LOCAL enable_seqscan = off"
        } else {
            "SET LOCAL enable_seqscan TO DEFAULT"
        })
        .await?;
    }
    Ok(())
}

fn external_column<R: Record>() -> kernel::Col<R> {
    column::<R>("external_id")
}

/// A column every record family has, by name (the id column if it had none).
fn column<R: Record>(name: &str) -> kernel::Col<R> {
    use sea_orm::{IdenStatic, Iterable};
    kernel::Col::<R>::iter()
        .find(|c| c.as_str() == name)
        .unwrap_or(R::columns().id)
}

/// The new row of a synced item: its content and the record columns.
fn new_row<S: Synced>(
    item: &S::Item,
    owner: Owner,
    id: Uuid,
    external_id: &str,
) -> Result<Active<S>>
where
    Active<S>: ActiveModelTrait<Entity = S::Entity> + Send,
{
    let (cols, at) = (S::columns(), now());
    let mut row = S::new_content(item);
    for (col, value) in [
        (cols.id, id.into()),
        (cols.version, 1i32.into()),
        (cols.owner, owner.org_id.into()),
        (external_column::<S>(), Some(external_id.to_string()).into()),
        (column::<S>("created_at"), at.into()),
        (cols.updated_at, at.into()),
    ] {
        row.try_set(col, value)
            .map_err(|e| AppError::internal(format!("new {} row: {e}", S::KIND.as_str())))?;
    }
    Ok(row)
}

/// The stored rows of `ids`, as the batch wrote them: one statement per [`CHUNK`].
pub async fn rows<R: Record>(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<R::Row>> {
    let mut out = Vec::with_capacity(ids.len());
    by_index(db, true).await?;
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            R::select(db.get_database_backend())
                .filter(R::columns().id.is_in(chunk.iter().copied()))
                .into_model::<R::Row>()
                .all(db)
                .await?,
        );
    }
    by_index(db, false).await?;
    Ok(out)
}

/// Closes a batch: the audit entries (one statement per chunk) and the feed entries of
/// every record it created or updated, then the commit. `before` holds the stored rows the
/// updates replaced, by id.
pub async fn close<R: Record>(
    tx: WriteTx,
    actor: &Actor,
    written: Vec<R::Row>,
    before: &HashMap<Uuid, R::Row>,
) -> Result<()> {
    let at = now();
    let mut entries = Vec::with_capacity(written.len());
    let mut audit = Vec::with_capacity(written.len());
    for row in &written {
        let id = kernel::id_of::<R>(row);
        let old = before.get(&id);
        let logged = |r: &R::Row| -> Result<serde_json::Value> {
            serde_json::to_value(R::logged(actor, r)?).map_err(|e| AppError::Internal(e.into()))
        };
        audit.push(audit_log::Model {
            id: Uuid::now_v7(),
            occurred_at: at,
            actor_type: actor.kind.as_str().to_string(),
            actor_id: actor.id,
            actor_role: actor.role.as_str().to_string(),
            action: match old {
                Some(_) => Action::Update,
                None => Action::Create,
            }
            .as_str()
            .to_string(),
            record_type: R::KIND.as_str().to_string(),
            record_id: id,
            before: old.map(logged).transpose()?,
            after: Some(logged(row)?),
            request_id: actor.request_id.clone(),
        });
        entries.push(changes::Entry {
            kind: R::KIND,
            record_id: id,
            version: kernel::version_of::<R>(row),
            before: old.map(kernel::feed_keys::<R>),
            after: Some(kernel::feed_keys::<R>(row)),
        });
    }
    audit::append_many(&tx, audit).await?;
    changes::append(&tx, &entries).await?;
    tx.commit().await?;
    Ok(())
}

/// A record family that takes batch sync through [`run`]: its rules are those of its single
/// create, checked against what [`Synced::lookup`] read once for the whole batch. Families with
/// rules over the batch as a whole (the money rules of fund transactions) drive the same helpers
/// themselves.
pub trait Synced: Record
where
    Active<Self>: ActiveModelTrait<Entity = Self::Entity> + Send,
{
    /// One item as the client sends it (the family's create input).
    type Input: Send + Sync;
    /// An item checked, as it will be stored.
    type Item: Send + Sync;
    /// What the items name (organizations, pairings, projects), read once per batch.
    type Lookup: Send + Sync;

    fn external_id(input: &Self::Input) -> Option<&str>;

    /// Reads what `inputs` name: one statement per kind of thing, whatever the batch's size.
    fn lookup(
        tx: &WriteTx,
        actor: &Actor,
        inputs: &[Self::Input],
    ) -> impl Future<Output = Result<Self::Lookup>> + Send;

    /// The organization that records `input`: as the family's single create decides.
    fn owner_org(actor: &Actor, lookup: &Self::Lookup, input: &Self::Input) -> Uuid;

    /// Checks one item as the family's create does, recording every problem in `f`.
    fn check(
        actor: &Actor,
        lookup: &Self::Lookup,
        input: Self::Input,
        f: &mut Fields,
    ) -> Option<Self::Item>;

    /// Whether the stored row already says what `item` says.
    fn same(stored: &Self::Row, item: &Self::Item) -> bool;

    /// Checks an item that writes against the stored record it names (`None`: a new one), as
    /// the family's single update checks a change, recording every problem in `f`. An item
    /// that changes nothing is not a write and is not checked here.
    fn check_stored(
        _lookup: &Self::Lookup,
        _stored: Option<&Self::Row>,
        _item: &Self::Item,
        _f: &mut Fields,
    ) {
    }

    /// The content columns `item` sets, on a new row and on a stored one (the record columns,
    /// id, version, owner, external id and times, are the driver's).
    fn content(item: &Self::Item) -> Active<Self>;

    /// The content of a new row: [`Synced::content`] and what only a new record gets (a
    /// project's first status).
    fn new_content(item: &Self::Item) -> Active<Self> {
        Self::content(item)
    }

    /// Writes the linked rows (an exchange's visitors) of the records the batch created and of
    /// those it updated (whose old links go): multi-row statements.
    fn link(
        _tx: &WriteTx,
        _created: &[(Uuid, &Self::Item)],
        _updated: &[(Uuid, &Self::Item)],
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

type Active<R> = <<R as Record>::Entity as EntityTrait>::ActiveModel;

/// `POST /sync/{record_type}` for a [`Synced`] family: each item created, updated or left
/// unchanged by its owner's `external_id`, all in one transaction or none.
pub async fn run<S: Synced>(
    ctx: &AppCtx,
    actor: &Actor,
    inputs: Vec<S::Input>,
) -> Result<SyncResponse>
where
    Active<S>: ActiveModelTrait<Entity = S::Entity> + Send,
{
    check_size(inputs.len(), ctx.config.sync_batch_max)?;
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let lookup = S::lookup(&tx, actor, &inputs).await?;
    let mut errors = ItemErrors::default();

    // Each item on its own, and its owner.
    let mut seen = HashSet::new();
    let mut items = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.into_iter().enumerate() {
        let (owner, _) = kernel::new_owner(&dir, actor, S::owner_org(actor, &lookup, &input));
        // As a single write: refused outright (the caller writes no such records at all).
        ensure_write(actor, scope, S::KIND, owner)?;
        let given = S::external_id(&input).map(str::to_string);
        let mut f = Fields::new();
        let external = match records::external_id(&mut f, given.as_deref()) {
            Some(Some(e)) if !seen.insert(e.clone()) => {
                f.push("external_id", "is listed twice in the batch");
                None
            }
            Some(Some(e)) => Some(e),
            Some(None) => {
                f.push("external_id", "is required: sync matches records by it");
                None
            }
            None => None,
        };
        let item = S::check(actor, &lookup, input, &mut f);
        if errors.add(index, given.as_deref(), f)
            && let (Some(external), Some(item)) = (external, item)
        {
            items.push((index, external, owner, item));
        }
    }

    // The stored records the good items name, in one statement per chunk: a bad item elsewhere
    // in the batch does not hide what is wrong with these.
    let owners: Vec<Uuid> = items
        .iter()
        .map(|(.., owner, _)| owner.org_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let external_ids: Vec<&str> = items.iter().map(|(_, e, ..)| e.as_str()).collect();
    let stored = existing::<S>(&tx, &owners, &external_ids).await?;
    let deleted = |row: &S::Row| {
        kernel::get_value::<S, Option<chrono::DateTime<chrono::Utc>>>(row, S::columns().deleted_at)
            .flatten()
            .is_some()
    };
    let mut results = Vec::with_capacity(items.len());
    let (mut inserts, mut created, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    for (index, external, owner, item) in &items {
        let current = stored.get(&(owner.org_id, external.clone()));
        if current.is_some_and(deleted) {
            errors.push(
                *index,
                external,
                "external_id",
                "belongs to a deleted record of this organization; give the new one another \
                 external_id"
                    .into(),
            );
            continue;
        }
        let same = current.is_some_and(|row| S::same(row, item));
        if !same {
            let mut f = Fields::new();
            S::check_stored(&lookup, current, item, &mut f);
            if !errors.add(*index, Some(external), f) {
                continue;
            }
        }
        let (id, outcome) = match current {
            Some(row) if same => (kernel::id_of::<S>(row), SyncOutcome::Unchanged),
            Some(row) => {
                changed.push((row, item));
                (kernel::id_of::<S>(row), SyncOutcome::Updated)
            }
            None => {
                let id = Uuid::now_v7();
                inserts.push(new_row::<S>(item, *owner, id, external)?);
                created.push((id, item));
                (id, SyncOutcome::Created)
            }
        };
        results.push(SyncResult {
            external_id: external.clone(),
            id,
            result: outcome,
        });
    }
    errors.finish()?;

    // The writes: each changed row under its version check, new rows in multi-row inserts.
    let mut updated = Vec::with_capacity(changed.len());
    let mut replaced = HashMap::with_capacity(changed.len());
    for (row, item) in changed {
        let id = kernel::id_of::<S>(row);
        let cols = S::columns();
        kernel::compare_and_set::<S::Entity>(
            &tx,
            S::content(item),
            id,
            kernel::version_of::<S>(row),
            [cols.id, cols.version, cols.updated_at],
        )
        .await?;
        replaced.insert(id, row.clone());
        updated.push((id, item));
    }
    bulk::insert::<S::Entity>(&tx, inserts).await?;
    S::link(&tx, &created, &updated).await?;
    let written: Vec<Uuid> = created.iter().chain(&updated).map(|(id, _)| *id).collect();
    let rows = rows::<S>(&tx, &written).await?;
    close::<S>(tx, actor, rows, &replaced).await?;
    Ok(SyncResponse { results })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_come_in_item_order_with_their_external_id() {
        let mut errors = ItemErrors::default();
        errors.push(10, "B", "amount_fen", "must be positive".into());
        errors.push(2, "A", "pairing_id", "no such pairing".into());
        let Err(AppError::Validation(list)) = errors.finish() else {
            panic!("no validation error");
        };
        assert_eq!(list[0].field, "items[2].pairing_id");
        assert_eq!(list[0].external_id.as_deref(), Some("A"));
        assert_eq!(list[1].field, "items[10].amount_fen");
        assert!(ItemErrors::default().finish().is_ok());
    }

    #[test]
    fn a_batch_over_the_bound_is_refused() {
        assert!(check_size(1_000, 1_000).is_ok());
        assert!(check_size(1_001, 1_000).is_err());
    }
}
