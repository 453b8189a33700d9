//! The directory: the organization tree, the pairing register and the accounts, held in memory.
//!
//! The live organizations are kept whole, so that an organization nested under any record
//! (GraphQL `organization`, `host`, `east`, …) costs no statement.
//!
//! Every request needs them (who is calling, is the account still active, what may it read), and
//! they change rarely, so reading them from the database on each request made an editor's
//! `GET` cost six statements instead of one. The cache is dropped on every write to those tables:
//! by the service in this process right after its commit, and, on PostgreSQL, by a trigger whose
//! `NOTIFY` reaches every replica sharing the database (`listen`). While a replica is not
//! listening (at start, or after its listening connection dropped) it keeps nothing and reads the
//! directory afresh for each request, so a time-to-live never decides what a caller may see.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use entity::{organization, pairing, service_account, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use crate::{
    authz::{Owner, Scope, reads_everything},
    domain::{ActorKind, OrgKind, PairingLevel, Region, Role},
    error::Result,
};

/// The widest the structure has been seen in this process: the most children of one
/// organization, or the most pairings of one organization. GraphQL prices the nested lists
/// of organizations (`children`, `pairings`) by it, since only administrators add to them.
static WIDEST: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// See [`WIDEST`]; never below 20, the widest level of the 2019 structure.
pub fn widest() -> usize {
    WIDEST.load(std::sync::atomic::Ordering::Relaxed).max(20)
}

fn note_width(dir: &Directory) {
    let children = dir.children.values().map(Vec::len).max().unwrap_or(0);
    let mut per_org: HashMap<Uuid, usize> = HashMap::new();
    for (_, east, west) in &dir.pairings {
        *per_org.entry(*east).or_default() += 1;
        *per_org.entry(*west).or_default() += 1;
    }
    let pairings = per_org.values().copied().max().unwrap_or(0);
    WIDEST.fetch_max(children.max(pairings), std::sync::atomic::Ordering::Relaxed);
}

/// The PostgreSQL channel the directory triggers notify (see the migration that creates them).
pub const CHANNEL: &str = "xiezuo_directory";

/// Depth bound for walking the tree: province → prefecture → county → department is 4 deep; the
/// bound only guards against a cycle someone wrote into the data.
const MAX_DEPTH: usize = 16;

type Deleted = chrono::DateTime<chrono::Utc>;

/// An account as it stands now, which a token's claims may no longer match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Account {
    pub role: Role,
    pub org_id: Option<Uuid>,
    /// Not disabled and not deleted.
    pub active: bool,
    /// The [`credential_stamp`](crate::auth::credential_stamp) of its password or secret now.
    pub credential: u64,
}

#[derive(Clone, Copy, Debug)]
struct Org {
    parent: Option<Uuid>,
    region: Region,
    live: bool,
}

/// One consistent reading of the directory tables.
#[derive(Debug, Default)]
pub struct Directory {
    orgs: HashMap<Uuid, Org>,
    /// The live organizations as stored, for reads that nest an organization under a record.
    live_orgs: HashMap<Uuid, organization::Model>,
    /// Live children of each organization.
    children: HashMap<Uuid, Vec<Uuid>>,
    /// Live pairings: (id, east org, west org).
    pairings: Vec<(Uuid, Uuid, Uuid)>,
    /// The live pairings as stored, in id order, for reads that nest them under an
    /// organization.
    live_pairings: Vec<pairing::Model>,
    accounts: HashMap<(ActorKind, Uuid), Account>,
    /// Scopes already resolved from this reading, by organization.
    scopes: Mutex<HashMap<Uuid, Arc<Scope>>>,
    loaded_at: Option<Instant>,
}

impl Directory {
    /// Four statements, whatever the size of the tree.
    pub async fn load(db: &impl ConnectionTrait) -> Result<Self> {
        let orgs = organization::Entity::find().all(db).await?;
        let mut live_pairings = pairing::Entity::find()
            .filter(pairing::Column::DeletedAt.is_null())
            .all(db)
            .await?;
        live_pairings.sort_by_key(|p| p.id);
        let pairings = live_pairings
            .iter()
            .map(|p| (p.id, p.east_org_id, p.west_org_id))
            .collect();
        type AccountRow = (Uuid, String, Option<Uuid>, bool, Option<Deleted>, String);
        let users: Vec<AccountRow> = user::Entity::find()
            .select_only()
            .columns([
                user::Column::Id,
                user::Column::Role,
                user::Column::OrgId,
                user::Column::Disabled,
                user::Column::DeletedAt,
                user::Column::PasswordHash,
            ])
            .into_tuple()
            .all(db)
            .await?;
        let services: Vec<AccountRow> = service_account::Entity::find()
            .select_only()
            .columns([
                service_account::Column::Id,
                service_account::Column::Role,
                service_account::Column::OrgId,
                service_account::Column::Disabled,
                service_account::Column::DeletedAt,
                service_account::Column::SecretHash,
            ])
            .into_tuple()
            .all(db)
            .await?;

        let mut dir = Directory {
            loaded_at: Some(Instant::now()),
            pairings,
            live_pairings,
            ..Directory::default()
        };
        for model in orgs {
            let (id, parent) = (model.id, model.parent_id);
            let org = Org {
                parent,
                region: Region::from_db(&model.region)?,
                live: model.deleted_at.is_none(),
            };
            if org.live {
                if let Some(p) = parent {
                    dir.children.entry(p).or_default().push(id);
                }
                dir.live_orgs.insert(id, model);
            }
            dir.orgs.insert(id, org);
        }
        let kinds = [ActorKind::User, ActorKind::ServiceAccount];
        for (kind, rows) in kinds.into_iter().zip([users, services]) {
            for (id, role, org_id, disabled, deleted, hash) in rows {
                let account = Account {
                    role: Role::from_db(&role)?,
                    org_id,
                    active: !disabled && deleted.is_none(),
                    credential: crate::auth::credential_stamp(&hash),
                };
                dir.accounts.insert((kind, id), account);
            }
        }
        for children in dir.children.values_mut() {
            children.sort();
        }
        note_width(&dir);
        Ok(dir)
    }

    /// A directory of live organizations `(id, parent, region)` and pairings `(id, east,
    /// west)`, without accounts: for tests of the rules that read it.
    pub fn from_parts(
        orgs: &[(Uuid, Option<Uuid>, Region)],
        pairings: &[(Uuid, Uuid, Uuid)],
    ) -> Self {
        let mut dir = Directory {
            pairings: pairings.to_vec(),
            ..Directory::default()
        };
        for &(id, parent, region) in orgs {
            if let Some(p) = parent {
                dir.children.entry(p).or_default().push(id);
            }
            dir.orgs.insert(
                id,
                Org {
                    parent,
                    region,
                    live: true,
                },
            );
        }
        dir
    }

    pub fn account(&self, kind: ActorKind, id: Uuid) -> Option<Account> {
        self.accounts.get(&(kind, id)).copied()
    }

    /// The owner of records an organization keeps: its id and region. A deleted organization
    /// still owns what it recorded.
    pub fn owner(&self, org_id: Uuid) -> Option<Owner> {
        self.orgs.get(&org_id).map(|o| Owner {
            org_id,
            region: o.region,
        })
    }

    /// A live organization as stored.
    pub fn live_org(&self, id: Uuid) -> Option<&organization::Model> {
        self.live_orgs.get(&id)
    }

    /// The live children of `id`, in id order.
    /// Every live organization, in no order.
    pub fn live_orgs(&self) -> impl Iterator<Item = &organization::Model> {
        self.live_orgs.values()
    }

    pub fn live_children(&self, id: Uuid) -> &[Uuid] {
        self.children
            .get(&id)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// A live pairing as stored.
    pub fn live_pairing(&self, id: Uuid) -> Option<&pairing::Model> {
        self.live_pairings
            .binary_search_by_key(&id, |p| p.id)
            .ok()
            .and_then(|i| self.live_pairings.get(i))
    }

    /// Every live pairing, in id order.
    pub fn live_pairing_rows(&self) -> impl Iterator<Item = &pairing::Model> {
        self.live_pairings.iter()
    }

    /// The live pairings `org_id` is a side of, in id order.
    pub fn live_pairings_of(&self, org_id: Uuid) -> impl Iterator<Item = &pairing::Model> {
        self.live_pairings
            .iter()
            .filter(move |p| p.east_org_id == org_id || p.west_org_id == org_id)
    }

    /// The owner facts of a live organization.
    pub fn live_owner(&self, org_id: Uuid) -> Option<Owner> {
        self.orgs.get(&org_id).filter(|o| o.live).map(|o| Owner {
            org_id,
            region: o.region,
        })
    }

    /// Whether `id` is a live department or institution of a federation (省残联维权部,
    /// 省残疾人康复中心, …) rather than a federation or agency of its own.
    fn is_unit(&self, id: Uuid) -> bool {
        self.live_orgs.get(&id).is_some_and(|o| {
            o.kind == OrgKind::Department.as_str() || o.kind == OrgKind::Institution.as_str()
        })
    }

    /// `root` and the departments and institutions under it, but not the federations and
    /// agencies below: the organization itself, when a duty falls on each federation ("省及受帮扶
    /// 的8个市（州）残联 …") and its departments act for it.
    pub fn own_units(&self, root: Uuid) -> HashSet<Uuid> {
        self.walk(root, |id| self.is_unit(id))
    }

    /// The federation a department or institution belongs to: its nearest ancestor that is not
    /// one. `None` for an organization that is not a department or institution.
    pub fn federation_of_unit(&self, id: Uuid) -> Option<Uuid> {
        if !self.is_unit(id) {
            return None;
        }
        self.ancestors(id).into_iter().find(|a| !self.is_unit(*a))
    }

    /// `root` and every live organization below it.
    pub fn subtree(&self, root: Uuid) -> HashSet<Uuid> {
        self.walk(root, |_| true)
    }

    /// `root` and the live organizations below it reached through children that `keep` takes.
    fn walk(&self, root: Uuid, keep: impl Fn(Uuid) -> bool) -> HashSet<Uuid> {
        let mut all = HashSet::from([root]);
        let mut frontier = vec![root];
        for _ in 0..MAX_DEPTH {
            let mut next = Vec::new();
            for id in frontier {
                for child in self.children.get(&id).into_iter().flatten() {
                    if keep(*child) && all.insert(*child) {
                        next.push(*child);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        all
    }

    /// The parents of `id` up to the root, nearest first (not including `id`). Deleted parents
    /// count: the chain is the one the organization was recorded under.
    pub fn ancestors(&self, id: Uuid) -> Vec<Uuid> {
        let mut chain = Vec::new();
        let mut current = id;
        for _ in 0..MAX_DEPTH {
            match self.orgs.get(&current).and_then(|o| o.parent) {
                Some(p) if !chain.contains(&p) && p != id => {
                    chain.push(p);
                    current = p;
                }
                _ => break,
            }
        }
        chain
    }

    /// What an actor of `role` in `org_id` may read.
    pub fn scope(&self, role: Role, org_id: Option<Uuid>) -> Arc<Scope> {
        if reads_everything(role) {
            return Arc::new(Scope::everything());
        }
        let Some(org_id) = org_id else {
            return Arc::new(Scope::default());
        };
        let mut memo = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        memo.entry(org_id)
            .or_insert_with(|| Arc::new(self.resolve(org_id)))
            .clone()
    }

    fn resolve(&self, org_id: Uuid) -> Scope {
        let subtree = self.subtree(org_id);
        let mut orgs = subtree.clone();
        orgs.extend(self.ancestors(org_id));
        let mut pairings = HashSet::new();
        for &(id, east, west) in &self.pairings {
            if subtree.contains(&east) || subtree.contains(&west) {
                pairings.insert(id);
                orgs.insert(east);
                orgs.insert(west);
            }
        }
        // A department or institution works within its federation's cooperation with the
        // eastern provinces (DESIGN §7): the federation's province-level pairings are its
        // pairings too, so that it can record projects and agreements on them.
        if let Some(federation) = self.federation_of_unit(org_id) {
            let level = PairingLevel::ProvinceProvince.as_str();
            for p in self
                .live_pairings_of(federation)
                .filter(|p| p.level == level)
            {
                pairings.insert(p.id);
                orgs.insert(p.east_org_id);
                orgs.insert(p.west_org_id);
            }
        }
        Scope {
            all: false,
            subtree,
            orgs,
            pairings,
        }
    }
}

/// The process's copy of the directory, and what keeps it true.
#[derive(Debug)]
pub struct DirectoryCache {
    current: RwLock<Option<Arc<Directory>>>,
    /// Bumped by every invalidation: a reading that started before one is never kept.
    generation: AtomicU64,
    /// Whether a reading may be kept at all: always for SQLite (one process owns the file), on
    /// PostgreSQL only while this process listens for the other replicas' changes.
    trusted: AtomicBool,
    loading: tokio::sync::Mutex<()>,
    /// The payload of the last notification received (for tests and diagnostics: notifications
    /// arrive in commit order, so seeing one's own means every earlier one has arrived).
    last_notification: Mutex<Option<String>>,
}

/// A token naming an account this reading does not know makes it read the directory again, but
/// not more often than this: an account created by another process since the last reading is
/// found, and a stream of such tokens cannot turn every request into a reload.
const MISS_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

impl DirectoryCache {
    pub fn new(trusted: bool) -> Self {
        Self {
            current: RwLock::new(None),
            generation: AtomicU64::new(0),
            trusted: AtomicBool::new(trusted),
            loading: tokio::sync::Mutex::new(()),
            last_notification: Mutex::new(None),
        }
    }

    /// Drops the cached reading; the next request reads the directory again. Call after
    /// committing any change to organizations, pairings, users or service accounts.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Whether readings are kept (on PostgreSQL: whether this process is listening).
    pub fn is_trusted(&self) -> bool {
        self.trusted.load(Ordering::SeqCst)
    }

    /// The payload of the last `NOTIFY` this process received.
    pub fn last_notification(&self) -> Option<String> {
        self.last_notification
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn notified(&self, payload: &str) {
        self.invalidate();
        *self
            .last_notification
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(payload.to_string());
    }

    fn set_trusted(&self, trusted: bool) {
        self.trusted.store(trusted, Ordering::SeqCst);
        self.invalidate();
    }

    fn cached(&self) -> Option<Arc<Directory>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The current directory: from memory when nothing changed since it was read.
    pub async fn get(&self, db: &DatabaseConnection) -> Result<Arc<Directory>> {
        if let Some(dir) = self.cached() {
            return Ok(dir);
        }
        if !self.trusted.load(Ordering::SeqCst) {
            return Ok(Arc::new(Directory::load(db).await?));
        }
        // One reload at a time: the requests that arrive meanwhile wait for it and share it.
        let _loading = self.loading.lock().await;
        if let Some(dir) = self.cached() {
            return Ok(dir);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let dir = Arc::new(Directory::load(db).await?);
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if self.trusted.load(Ordering::SeqCst)
            && self.generation.load(Ordering::SeqCst) == generation
        {
            *current = Some(dir.clone());
        }
        Ok(dir)
    }

    /// The directory and the account `kind`/`id` as they stand now; `None` for an account that
    /// does not exist (or no longer does).
    pub async fn account(
        &self,
        db: &DatabaseConnection,
        kind: ActorKind,
        id: Uuid,
    ) -> Result<(Arc<Directory>, Option<Account>)> {
        let dir = self.get(db).await?;
        if let Some(account) = dir.account(kind, id) {
            return Ok((dir, Some(account)));
        }
        let stale = dir
            .loaded_at
            .is_some_and(|at| at.elapsed() >= MISS_RELOAD_INTERVAL);
        if !stale {
            return Ok((dir, None));
        }
        self.invalidate();
        let dir = self.get(db).await?;
        let account = dir.account(kind, id);
        Ok((dir, account))
    }
}

/// Keeps `cache` in step with the other replicas on PostgreSQL: listens on [`CHANNEL`] and drops
/// the cache on every notification. Runs until the process ends; a lost connection makes the
/// cache untrusted until listening resumes.
pub async fn listen(db: DatabaseConnection, cache: Arc<DirectoryCache>) {
    use sea_orm::sqlx::postgres::PgListener;
    let pool = db.get_postgres_connection_pool().clone();
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => {
                    cache.set_trusted(true);
                    // `try_recv` answers `None` when the connection was lost.
                    while let Ok(Some(notification)) = listener.try_recv().await {
                        cache.notified(notification.payload());
                    }
                    tracing::warn!(
                        "lost the directory listener; reading the directory per request until it is back"
                    );
                }
                Err(e) => tracing::warn!(error = %e, "cannot LISTEN for directory changes"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot open the directory listener"),
        }
        cache.set_trusted(false);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cycle someone wrote into the data ends the chain of parents where it closes.
    #[test]
    fn ancestors_stop_where_a_cycle_closes() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let dir = Directory::from_parts(
            &[
                (a, Some(b), Region::West),
                (b, Some(c), Region::West),
                (c, Some(a), Region::West),
            ],
            &[],
        );
        assert_eq!(dir.ancestors(a), [b, c]);
        let (d, e) = (Uuid::now_v7(), Uuid::now_v7());
        let dir = Directory::from_parts(
            &[(d, Some(e), Region::West), (e, Some(e), Region::West)],
            &[],
        );
        assert_eq!(dir.ancestors(d), [e]);
    }

    /// GraphQL prices nested lists by the widest level seen: never below the 2019 structure's
    /// 20, and up with every wider one (by pairings on either side, or by children). The width
    /// only grows, so other tests running at the same time cannot lower it.
    #[test]
    fn nested_lists_are_priced_by_the_widest_level_seen() {
        assert!(widest() >= 20);
        let hub = Uuid::now_v7();
        let east_of_many: Vec<_> = (0..30)
            .map(|_| (Uuid::now_v7(), hub, Uuid::now_v7()))
            .collect();
        note_width(&Directory::from_parts(
            &[(hub, None, Region::East)],
            &east_of_many,
        ));
        assert!(widest() >= 30, "{}", widest());
        let west_of_many: Vec<_> = (0..40)
            .map(|_| (Uuid::now_v7(), Uuid::now_v7(), hub))
            .collect();
        note_width(&Directory::from_parts(
            &[(hub, None, Region::West)],
            &west_of_many,
        ));
        assert!(widest() >= 40, "{}", widest());
        let family: Vec<_> = std::iter::once((hub, None, Region::West))
            .chain((0..50).map(|_| (Uuid::now_v7(), Some(hub), Region::West)))
            .collect();
        note_width(&Directory::from_parts(&family, &[]));
        assert!(widest() >= 50, "{}", widest());
    }

    fn org(parent: Option<Uuid>, region: Region, live: bool) -> Org {
        Org {
            parent,
            region,
            live,
        }
    }

    /// province → prefecture → county (and a deleted county), an eastern city paired with the
    /// prefecture, and an unrelated prefecture.
    fn sample() -> (Directory, [Uuid; 6]) {
        let ids = [(); 6].map(|_| Uuid::now_v7());
        let [province, prefecture, county, gone, east, other] = ids;
        let mut dir = Directory::default();
        dir.orgs.insert(province, org(None, Region::West, true));
        dir.orgs
            .insert(prefecture, org(Some(province), Region::West, true));
        dir.orgs
            .insert(county, org(Some(prefecture), Region::West, true));
        dir.orgs
            .insert(gone, org(Some(prefecture), Region::West, false));
        dir.orgs.insert(east, org(None, Region::East, true));
        dir.orgs
            .insert(other, org(Some(province), Region::West, true));
        dir.children.insert(province, vec![prefecture, other]);
        dir.children.insert(prefecture, vec![county]);
        dir.pairings.push((Uuid::now_v7(), east, prefecture));
        (dir, ids)
    }

    #[test]
    fn scope_of_an_editor_covers_subtree_ancestors_and_partners() {
        let (dir, [province, prefecture, county, gone, east, other]) = sample();
        let scope = dir.scope(Role::Editor, Some(prefecture));
        assert!(!scope.all);
        assert_eq!(scope.subtree, HashSet::from([prefecture, county]));
        assert!(!scope.subtree.contains(&gone), "deleted children drop out");
        assert_eq!(
            scope.orgs,
            HashSet::from([prefecture, county, province, east])
        );
        assert!(!scope.can_read_org(other));
        assert_eq!(scope.pairings.len(), 1);

        let partner = dir.scope(Role::Partner, Some(east));
        assert_eq!(partner.pairings, scope.pairings);
        assert!(partner.can_read_org(prefecture) && !partner.can_read_org(county));

        let county_scope = dir.scope(Role::Editor, Some(county));
        assert!(county_scope.pairings.is_empty());
        assert_eq!(dir.ancestors(county), vec![prefecture, province]);
    }

    /// The write rules read an owner's region from the directory, live or deleted, with no
    /// query; `kernel::owner` asks the database only for an organization created since the
    /// directory was read. (Its answer would be the same, so only this test tells the query
    /// was spent.)
    #[test]
    fn owners_live_or_deleted_come_from_the_directory() {
        let (dir, [province, _, _, gone, east, _]) = sample();
        assert_eq!(
            dir.owner(province).map(|o| (o.org_id, o.region)),
            Some((province, Region::West))
        );
        assert_eq!(
            dir.owner(east).map(|o| (o.org_id, o.region)),
            Some((east, Region::East))
        );
        assert_eq!(dir.owner(gone).map(|o| o.org_id), Some(gone));
        assert!(
            dir.live_owner(gone).is_none(),
            "a deleted org owns no new record"
        );
        assert!(dir.owner(Uuid::now_v7()).is_none());
    }

    #[test]
    fn reading_roles_see_everything_and_no_org_sees_nothing() {
        let (dir, [.., other]) = sample();
        for role in [Role::Admin, Role::Coordinator, Role::Auditor] {
            assert!(dir.scope(role, None).all);
        }
        let nothing = dir.scope(Role::Editor, None);
        assert!(!nothing.all && nothing.orgs.is_empty());
        assert!(!dir.scope(Role::Partner, Some(other)).all);
    }

    #[test]
    fn invalidation_drops_the_cached_reading() {
        let cache = DirectoryCache::new(true);
        *cache.current.write().expect("lock") = Some(Arc::new(Directory::default()));
        assert!(cache.cached().is_some());
        cache.invalidate();
        assert!(cache.cached().is_none());
    }
}
