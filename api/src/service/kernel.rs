//! The record kernel: what every record family shares, written once.
//!
//! A family implements [`Record`] (its table, where its owner and pairing are, how a row becomes
//! a view) and gets generic reads under the caller's scope (one record, many by id, the children
//! of many parents for DataLoaders, keyset pages) and the write envelope ([`Change`]): the
//! transaction, the read under scope, the write permission, the `If-Match` check and the
//! before-image when it opens; the versioned save or soft delete, the audit entry and the commit
//! when it closes. Families keep only their own rules: creates and the content of updates are
//! written by hand, as in Lemmy's `Crud` trait.
//!
//! A row ([`Record::Row`]) carries, beside the stored columns, what its view computes from other
//! tables (a project's money, an exchange's visiting organizations), read by the same statement:
//! reading one record costs one SQL statement.

use std::{collections::HashMap, sync::Arc};

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    FromQueryResult, ModelTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::ValueType,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    AppCtx, Page, WriteTx, audit, changes, check_version, directory::Directory, now,
    records::PageArgs,
};
use crate::{
    authz::{Actor, Owner, RecordKind, Scope, ensure_write},
    error::{AppError, Result},
};

/// The columns every record table has, and what the scope rules look at.
pub struct Columns<C> {
    pub id: C,
    pub version: C,
    pub updated_at: C,
    pub deleted_at: C,
    /// The organization whose write rules apply.
    pub owner: C,
    /// What decides who reads a row: see [`Readable`].
    pub readable: Readable<C>,
}

/// How the scope applies to a family's rows.
pub enum Readable<C> {
    /// A ledger record: its owner is in the caller's subtree, or it sits on one of the caller's
    /// pairings, named by this column if it has one (`Scope::can_read_record`).
    Record(Option<C>),
    /// Readable with the organization in this column (contacts, working groups, and an
    /// organization itself).
    Org(C),
    /// A pairing: readable when it is one of the caller's.
    Pairing(C),
}

/// The [`Columns`] of a table with the record columns every family has (`id`, `version`,
/// `updated_at`, `deleted_at`, `owner_org_id`), read as `readable` says.
macro_rules! record_columns {
    ($col:ident, $readable:expr) => {
        $crate::service::kernel::Columns {
            id: $col::Id,
            version: $col::Version,
            updated_at: $col::UpdatedAt,
            deleted_at: $col::DeletedAt,
            owner: $col::OwnerOrgId,
            readable: $readable,
        }
    };
}
pub(crate) use record_columns;

pub type Col<R> = <<R as Record>::Entity as EntityTrait>::Column;
type Active<R> = <<R as Record>::Entity as EntityTrait>::ActiveModel;

/// One record family.
pub trait Record: Send + Sync + 'static {
    type Entity: EntityTrait;
    /// A stored row and what its view needs from other tables, read in one statement.
    type Row: FromQueryResult + Clone + Send + Sync + 'static;
    type View: Serialize + Send + Sync + 'static;
    const KIND: RecordKind;

    fn columns() -> Columns<Col<Self>>;

    /// Every read starts here: the table, plus the columns computed from other tables.
    fn select(_backend: DbBackend) -> Select<Self::Entity> {
        Self::Entity::find()
    }

    /// The stored model inside a row.
    fn model(row: &Self::Row) -> &<Self::Entity as EntityTrait>::Model;

    /// The view `actor` gets of `row`.
    fn view(actor: &Actor, row: Self::Row) -> Result<Self::View>;

    /// The view the audit log keeps: the caller's view unless the family keeps less (contacts
    /// log their personal data masked, since the log outlives the request and others read it).
    fn logged(actor: &Actor, row: &Self::Row) -> Result<Self::View> {
        Self::view(actor, row.clone())
    }
}

/// A correlated subquery listing the ids in `link_table.id_col` of the rows whose `fk_col` is
/// `parent_table.id`, as one comma-separated text (or NULL): how a row carries its linked ids
/// (an exchange's visiting organizations) without a second statement. Read it with
/// [`parse_id_list`].
pub fn id_list(
    backend: DbBackend,
    link_table: &str,
    id_col: &str,
    fk_col: &str,
    parent_table: &str,
) -> sea_orm::sea_query::Expr {
    // SQLite keeps a UUID as a 16-byte blob; PostgreSQL as uuid.
    let item = match backend {
        DbBackend::Postgres => format!("l.{id_col}::text"),
        _ => format!(
            "CASE typeof(l.{id_col}) WHEN 'blob' THEN lower(hex(l.{id_col})) ELSE l.{id_col} END"
        ),
    };
    let agg = match backend {
        DbBackend::Postgres => format!("string_agg({item}, ',')"),
        _ => format!("group_concat({item}, ',')"),
    };
    sea_orm::sea_query::Expr::cust(format!(
        "(SELECT {agg} FROM {link_table} l WHERE l.{fk_col} = {parent_table}.id)"
    ))
}

/// Ids as an [`id_list`] column holds them (for a row built in memory).
pub fn id_list_text(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The ids of an [`id_list`] column, sorted.
pub fn parse_id_list(text: Option<&str>) -> Result<Vec<Uuid>> {
    let mut ids = text
        .unwrap_or_default()
        .split(',')
        .filter(|t| !t.is_empty())
        .map(|t| Uuid::parse_str(t).map_err(|e| AppError::internal(format!("stored id {t}: {e}"))))
        .collect::<Result<Vec<Uuid>>>()?;
    ids.sort();
    Ok(ids)
}

pub fn get_value<R: Record, T: ValueType>(row: &R::Row, col: Col<R>) -> Option<T> {
    T::try_from(R::model(row).get(col)).ok()
}

fn uuid_of<R: Record>(row: &R::Row, col: Col<R>) -> Uuid {
    get_value::<R, Uuid>(row, col).unwrap_or_default()
}

pub fn id_of<R: Record>(row: &R::Row) -> Uuid {
    uuid_of::<R>(row, R::columns().id)
}

pub fn version_of<R: Record>(row: &R::Row) -> i32 {
    get_value::<R, i32>(row, R::columns().version).unwrap_or_default()
}

pub fn owner_of<R: Record>(row: &R::Row) -> Uuid {
    uuid_of::<R>(row, R::columns().owner)
}

/// Whether `scope` may read `row`.
pub fn can_read<R: Record>(scope: &Scope, row: &R::Row) -> bool {
    match R::columns().readable {
        Readable::Record(pairing) => scope.can_read_record(
            owner_of::<R>(row),
            pairing.and_then(|col| get_value::<R, Option<Uuid>>(row, col).flatten()),
        ),
        Readable::Org(col) => scope.can_read_org(uuid_of::<R>(row, col)),
        Readable::Pairing(col) => scope.can_read_pairing(uuid_of::<R>(row, col)),
    }
}

/// Who reads `row`, as the change feed keeps it: [`can_read`] without the row.
pub fn feed_keys<R: Record>(row: &R::Row) -> changes::Keys {
    let (rule, key) = match R::columns().readable {
        Readable::Record(pairing) => (
            changes::Rule::Record,
            pairing.and_then(|col| get_value::<R, Option<Uuid>>(row, col).flatten()),
        ),
        Readable::Org(col) => (changes::Rule::Org, Some(uuid_of::<R>(row, col))),
        Readable::Pairing(col) => (changes::Rule::Pairing, Some(uuid_of::<R>(row, col))),
    };
    changes::Keys {
        rule,
        owner: owner_of::<R>(row),
        key,
    }
}

/// Appends the change of `id` to the feed, in the transaction that makes it.
pub async fn feed<R: Record>(
    tx: &impl ConnectionTrait,
    id: Uuid,
    version: i32,
    before: Option<&R::Row>,
    after: Option<&R::Row>,
) -> Result<()> {
    changes::append(
        tx,
        &[changes::Entry {
            kind: R::KIND,
            record_id: id,
            version,
            before: before.map(feed_keys::<R>),
            after: after.map(feed_keys::<R>),
        }],
    )
    .await
}

/// The SQL form of [`can_read`], or `None` when the caller reads everything.
pub fn scope_condition<R: Record>(scope: &Scope) -> Option<Condition> {
    if scope.all {
        return None;
    }
    let ids = |set: &std::collections::HashSet<Uuid>| set.iter().copied().collect::<Vec<_>>();
    let cols = R::columns();
    Some(match cols.readable {
        Readable::Record(pairing) => {
            let mut any = Condition::any().add(cols.owner.is_in(ids(&scope.subtree)));
            if let Some(col) = pairing {
                any = any.add(col.is_in(ids(&scope.pairings)));
            }
            any
        }
        Readable::Org(col) => Condition::all().add(col.is_in(ids(&scope.orgs))),
        Readable::Pairing(col) => Condition::all().add(col.is_in(ids(&scope.pairings))),
    })
}

/// Live rows of the family, with their computed columns.
pub fn live<R: Record>(backend: DbBackend) -> Select<R::Entity> {
    R::select(backend).filter(R::columns().deleted_at.is_null())
}

/// Live rows the caller may read.
pub fn visible<R: Record>(backend: DbBackend, scope: &Scope) -> Select<R::Entity> {
    visible_in::<R>(R::select(backend), scope)
}

/// The live rows of `select` (a family's own select, such as one without its computed
/// columns) that the caller may read.
pub fn visible_in<R: Record>(select: Select<R::Entity>, scope: &Scope) -> Select<R::Entity> {
    let select = select.filter(R::columns().deleted_at.is_null());
    match scope_condition::<R>(scope) {
        Some(cond) => select.filter(cond),
        None => select,
    }
}

async fn row<R: Record>(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<R::Row>> {
    Ok(live::<R>(db.get_database_backend())
        .filter(R::columns().id.eq(id))
        .into_model::<R::Row>()
        .one(db)
        .await?)
}

/// The live row `id` if `scope` may read it; `NotFound` otherwise (never telling the two apart).
pub async fn find<R: Record>(db: &impl ConnectionTrait, scope: &Scope, id: Uuid) -> Result<R::Row> {
    match row::<R>(db, id).await? {
        Some(r) if can_read::<R>(scope, &r) => Ok(r),
        _ => Err(AppError::NotFound),
    }
}

/// One record, as the caller sees it: one statement.
pub async fn get<R: Record>(ctx: &AppCtx, actor: &Actor, id: Uuid) -> Result<R::View> {
    R::view(actor, find::<R>(&ctx.db, actor.scope(), id).await?)
}

/// The views of the rows `actor` may read among `rows` (records the directory holds in
/// memory, such as the organizations and pairings nested under another record): no statement.
pub fn readable_views<'r, R: Record>(
    actor: &Actor,
    rows: impl IntoIterator<Item = &'r R::Row>,
) -> Result<Vec<R::View>> {
    rows.into_iter()
        .filter(|r| can_read::<R>(actor.scope(), r))
        .map(|r| R::view(actor, r.clone()))
        .collect()
}

/// Views of rows, in their order.
pub fn views<R: Record>(actor: &Actor, rows: Vec<R::Row>) -> Result<Vec<R::View>> {
    rows.into_iter().map(|r| R::view(actor, r)).collect()
}

/// The readable records among `ids` (for DataLoaders): one statement.
pub async fn get_many<R: Record>(
    ctx: &AppCtx,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, R::View>> {
    let rows = visible::<R>(ctx.db.get_database_backend(), actor.scope())
        .filter(R::columns().id.is_in(ids.iter().copied()))
        .into_model::<R::Row>()
        .all(&ctx.db)
        .await?;
    rows.into_iter()
        .map(|r| Ok((id_of::<R>(&r), R::view(actor, r)?)))
        .collect()
}

/// The most children of one parent that [`children`] reads. A nested GraphQL list returns at
/// most this many (its `first`), so a parent with a hundred thousand children costs no more
/// than one with five hundred.
pub const CHILDREN_MAX: u64 = 500;

/// The readable records whose `parent` column holds one of `parents`, grouped by it, each group
/// in id order and cut at [`CHILDREN_MAX`] (for DataLoaders): one statement, ranking each
/// parent's rows by a window function.
pub async fn children<R: Record>(
    ctx: &AppCtx,
    actor: &Actor,
    parent: Col<R>,
    parent_of: impl Fn(&R::Row) -> Option<Uuid>,
    parents: &[Uuid],
) -> Result<HashMap<Uuid, Vec<R::View>>> {
    use sea_orm::{
        QueryTrait,
        sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query, WindowStatement},
    };
    let backend = ctx.db.get_database_backend();
    let table = R::Entity::default();
    let mut ranked = visible::<R>(backend, actor.scope())
        .filter(parent.is_in(parents.iter().copied()))
        .into_query();
    ranked.expr_window_as(
        Expr::cust("ROW_NUMBER()"),
        WindowStatement::partition_by((table, parent))
            .order_by((table, R::columns().id), Order::Asc)
            .to_owned(),
        Alias::new("child_rank"),
    );
    let select = Query::select()
        .column(Asterisk)
        .from_subquery(ranked, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("child_rank")).lte(CHILDREN_MAX))
        .order_by(Alias::new("id"), Order::Asc)
        .to_owned();
    let rows = R::Row::find_by_statement(backend.build(&select))
        .all(&ctx.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<R::View>> = HashMap::new();
    for r in rows {
        if let Some(key) = parent_of(&r) {
            out.entry(key).or_default().push(R::view(actor, r)?);
        }
    }
    Ok(out)
}

/// One keyset page of `select` (built from [`visible`] with the family's filters): rows after
/// the cursor in id order, plus one that only tells whether another page exists.
pub async fn page<R: Record>(
    ctx: &AppCtx,
    actor: &Actor,
    mut select: Select<R::Entity>,
    args: PageArgs,
) -> Result<Page<R::View>> {
    let id = R::columns().id;
    if let Some(c) = args.cursor {
        select = select.filter(id.gt(c.id()));
    }
    let rows = select
        .order_by_asc(id)
        .limit(args.limit.get() + 1)
        .into_model::<R::Row>()
        .all(&ctx.db)
        .await?;
    let page = Page::from_rows(rows, args.limit.get(), id_of::<R>);
    Ok(Page {
        items: views::<R>(actor, page.items)?,
        next_cursor: page.next_cursor,
    })
}

/// The owner facts of `org_id` for the write rules: from the directory, or from `db` (the open
/// transaction) for an organization the directory does not hold yet.
pub async fn owner(dir: &Directory, db: &impl ConnectionTrait, org_id: Uuid) -> Result<Owner> {
    if let Some(owner) = dir.owner(org_id) {
        return Ok(owner);
    }
    // A deleted organization still owns what it recorded.
    let region: Option<String> = entity::organization::Entity::find_by_id(org_id)
        .select_only()
        .column(entity::organization::Column::Region)
        .into_tuple()
        .one(db)
        .await?;
    let region = region
        .ok_or_else(|| AppError::internal(format!("owner organization {org_id} is missing")))?;
    Ok(Owner {
        org_id,
        region: crate::domain::Region::from_db(&region)?,
    })
}

/// The owner of a new record, for the organization its input names. An organization that does
/// not exist, or that the caller cannot read, is missing (the same answer for both, so the
/// answer tells nothing of what exists); the caller's own organization then stands in, so that
/// the write rule answers by role first and the missing organization is reported as a field
/// error after. The one place a new record's owner is decided.
pub fn new_owner(dir: &Directory, actor: &Actor, org_id: Uuid) -> (Owner, bool) {
    match dir.live_owner(org_id) {
        Some(owner) if actor.scope().can_read_org(org_id) => (owner, true),
        _ => {
            let stand_in = Owner {
                org_id: actor.org_id.unwrap_or_default(),
                region: crate::domain::Region::West,
            };
            (stand_in, false)
        }
    }
}

/// A change to one existing record, open: the transaction holds the writer's turn, the record
/// was read under the caller's scope, the caller may write it, and its version is the one the
/// caller expected. Close it with [`Change::save`] or [`Change::delete`]; dropping it rolls back.
pub struct Change<'a, R: Record> {
    pub tx: WriteTx,
    pub actor: &'a Actor,
    /// The directory as the change opened.
    pub dir: Arc<Directory>,
    /// The record's owner, whose write rules were checked.
    pub owner: Owner,
    /// The record as stored before the change.
    pub current: R::Row,
    /// Its logged view before the change: the audit entry's before-image.
    pub before: R::View,
}

/// Opens a [`Change`] of record `id`.
pub async fn change<'a, R: Record>(
    ctx: &AppCtx,
    actor: &'a Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> Result<Change<'a, R>> {
    change_with::<R>(ctx, actor, id, expected_version, |owner, _| {
        ensure_write(actor, actor.scope(), R::KIND, owner)
    })
    .await
}

/// Opens a [`Change`] of record `id` that `permit` allows instead of the owner's write rule:
/// for a step another party takes on the record (a partner's opinion on a self-assessment).
/// The scope, the version check and everything [`Change`] closes with are the same.
pub async fn change_with<'a, R: Record>(
    ctx: &AppCtx,
    actor: &'a Actor,
    id: Uuid,
    expected_version: Option<i32>,
    permit: impl FnOnce(Owner, &R::Row) -> Result<()>,
) -> Result<Change<'a, R>> {
    let scope = actor.scope();
    let (dir, tx) = begin(ctx).await?;
    let current = find::<R>(&tx, scope, id).await?;
    let owner = owner(&dir, &tx, owner_of::<R>(&current)).await?;
    permit(owner, &current)?;
    check_version(expected_version, version_of::<R>(&current))?;
    let before = R::logged(actor, &current)?;
    Ok(Change {
        tx,
        actor,
        dir,
        owner,
        current,
        before,
    })
}

impl<R: Record> Change<'_, R>
where
    Active<R>: ActiveModelTrait<Entity = R::Entity> + Send,
{
    pub fn id(&self) -> Uuid {
        id_of::<R>(&self.current)
    }

    /// Writes `model` if the stored version is still the one read (else 412), bumping
    /// `version` and `updated_at`; then the audit entry and the commit. Writes the family made
    /// on `self.tx` before (linked rows) are part of the same change.
    pub async fn save(self, model: Active<R>) -> Result<R::View> {
        let id = self.id();
        save_versioned::<R>(&self.tx, model, id, version_of::<R>(&self.current)).await?;
        let after = row::<R>(&self.tx, id).await?.ok_or(AppError::NotFound)?;
        feed::<R>(
            &self.tx,
            id,
            version_of::<R>(&after),
            Some(&self.current),
            Some(&after),
        )
        .await?;
        audit::record(
            &self.tx,
            self.actor,
            audit::Action::Update,
            R::KIND,
            id,
            Some(&self.before),
            Some(&R::logged(self.actor, &after)?),
        )
        .await?;
        self.tx.commit().await?;
        R::view(self.actor, after)
    }

    /// Soft-deletes the record (its version bumps, so a stale `If-Match` loses), with the audit
    /// entry, and commits.
    pub async fn delete(self) -> Result<()> {
        self.delete_with(&[]).await
    }

    /// [`Change::delete`], with the feed's entries of the records the family changed with it
    /// (a plan's tasks): the feed is the transaction's last write (see `changes::append`).
    pub async fn delete_with(self, also: &[changes::Entry]) -> Result<()> {
        let id = self.id();
        let mut model = <Active<R> as ActiveModelTrait>::default();
        model.set(R::columns().deleted_at, Some(now()).into());
        let version = version_of::<R>(&self.current);
        save_versioned::<R>(&self.tx, model, id, version).await?;
        let mut entries = also.to_vec();
        entries.push(changes::Entry {
            kind: R::KIND,
            record_id: id,
            version: version + 1,
            before: Some(feed_keys::<R>(&self.current)),
            after: None,
        });
        changes::append(&self.tx, &entries).await?;
        audit::record(
            &self.tx,
            self.actor,
            audit::Action::Delete,
            R::KIND,
            id,
            Some(&self.before),
            None,
        )
        .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// Opens a create: the directory (for owner facts) and the write transaction. The directory is
/// read first: a reload must not wait for a second connection while the transaction holds one
/// (an in-memory SQLite pool has only one).
pub async fn begin(ctx: &AppCtx) -> Result<(Arc<Directory>, WriteTx)> {
    let dir = ctx.directory.get(&ctx.db).await?;
    Ok((dir, ctx.begin_write().await?))
}

/// [`begin`] for a write that computes a report over several statements: they all read one
/// snapshot ([`AppCtx::begin_write_snapshot`]).
pub async fn begin_snapshot(ctx: &AppCtx) -> Result<(Arc<Directory>, WriteTx)> {
    let dir = ctx.directory.get(&ctx.db).await?;
    Ok((dir, ctx.begin_write_snapshot().await?))
}

/// Closes a create: the view of the new row, the audit entry, the commit.
pub async fn created<R: Record>(tx: WriteTx, actor: &Actor, row: R::Row) -> Result<R::View> {
    let id = id_of::<R>(&row);
    feed::<R>(&tx, id, version_of::<R>(&row), None, Some(&row)).await?;
    audit::record(
        &tx,
        actor,
        audit::Action::Create,
        R::KIND,
        id,
        None,
        Some(&R::logged(actor, &row)?),
    )
    .await?;
    tx.commit().await?;
    R::view(actor, row)
}

/// Refuses a new record whose `external_id` its owner already gave another record of the
/// family (live or deleted): `409 duplicate` naming `external_id`, with the existing record's
/// id when the caller may read it, so a partner system that retries learns which record it
/// already made. One statement, only when an external id is given; the unique index stays the
/// guard against a race.
pub async fn ensure_external_free<R: Record>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    owner: Uuid,
    external_id: Option<&str>,
) -> Result<()> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait};
    let Some(external_id) = external_id else {
        return Ok(());
    };
    let existing = R::select(db.get_database_backend())
        .filter(R::columns().owner.eq(owner))
        .filter(Expr::col((R::Entity::default(), Alias::new("external_id"))).eq(external_id))
        .into_model::<R::Row>()
        .one(db)
        .await?;
    let Some(row) = existing else {
        return Ok(());
    };
    let live = get_value::<R, Option<chrono::DateTime<chrono::Utc>>>(&row, R::columns().deleted_at)
        .flatten()
        .is_none();
    let readable = live && can_read::<R>(actor.scope(), &row);
    Err(AppError::Conflict {
        code: "duplicate",
        field: Some("external_id".into()),
        detail: format!("this organization already has a record with external_id {external_id}"),
        existing_id: readable.then(|| id_of::<R>(&row)),
    })
}

/// The compare-and-set that makes concurrent writers lose cleanly (412) instead of overwriting
/// each other: writes `model` only where the stored version is still `version`.
async fn save_versioned<R: Record>(
    tx: &impl ConnectionTrait,
    model: Active<R>,
    id: Uuid,
    version: i32,
) -> Result<()>
where
    Active<R>: ActiveModelTrait<Entity = R::Entity> + Send,
{
    let cols = R::columns();
    compare_and_set::<R::Entity>(
        tx,
        model,
        id,
        version,
        [cols.id, cols.version, cols.updated_at],
    )
    .await
}

/// Writes `model` to row `id` only if its stored version is still `version`, bumping `version`
/// and `updated_at`; a 412 with the winner's version otherwise (`NotFound` when the row is gone).
/// `cols` are the table's id, version and updated_at columns. The one compare-and-set of every
/// write, for record families through [`Change`] and for accounts directly.
pub async fn compare_and_set<E: EntityTrait>(
    tx: &impl ConnectionTrait,
    mut model: E::ActiveModel,
    id: Uuid,
    version: i32,
    [id_col, version_col, updated_col]: [E::Column; 3],
) -> Result<()>
where
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    model.set(version_col, (version + 1).into());
    model.set(updated_col, now().into());
    let result = E::update_many()
        .set(model)
        .filter(id_col.eq(id))
        .filter(version_col.eq(version))
        .exec(tx)
        .await?;
    if result.rows_affected == 1 {
        return Ok(());
    }
    let stored: Option<i32> = E::find()
        .select_only()
        .column(version_col)
        .filter(id_col.eq(id))
        .into_tuple()
        .one(tx)
        .await?;
    Err(match stored {
        // The winner's version: ours plus at least one.
        Some(current_version) => AppError::PreconditionFailed { current_version },
        None => AppError::NotFound,
    })
}
