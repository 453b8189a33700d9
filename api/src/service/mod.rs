//! The business rules. Every function takes the context, the acting `Actor` and parsed input;
//! authorization first, then rules, then storage, each write in one transaction together with its
//! audit entry. REST handlers and GraphQL resolvers call these and nothing below them.

pub mod agreements;
pub mod assessment_package;
pub mod assessments;
pub mod audit;
pub mod auth;
pub mod body;
pub mod bulk;
pub mod calendar;
pub mod changes;
pub mod contacts;
pub mod directory;
pub mod evidence;
pub mod exchanges;
pub mod fund_transactions;
pub mod idempotency;
pub mod imports;
pub mod kernel;
pub mod ledger_export;
pub mod ledger_submissions;
pub mod ledgers;
pub mod login_guard;
pub mod organizations;
pub mod pairings;
pub mod plans;
pub mod projects;
pub mod reconciliation_export;
pub mod reconciliations;
pub mod records;
pub mod scope;
pub mod self_assessments;
pub mod service_accounts;
pub mod spreadsheet;
pub mod statements;
pub mod sync;
pub mod users;
pub mod vertical;
pub mod webhooks;
pub mod working_groups;

use std::sync::Arc;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, EntityTrait, ExecResult, IsolationLevel, QueryFilter, QueryResult,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use serde::Serialize;
use tokio::sync::{Mutex, OwnedMutexGuard};
use utoipa::ToSchema;

use self::directory::DirectoryCache;
use crate::{auth::JwtKeys, config::Config, domain::Cursor, error::AppError};

/// Shared by every request: the database pool, configuration, keys and the directory cache.
#[derive(Clone)]
pub struct AppCtx {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub jwt: Arc<JwtKeys>,
    pub directory: Arc<DirectoryCache>,
    /// Failed sign-ins, for the token endpoint's delays.
    pub login_guard: Arc<login_guard::LoginGuard>,
    /// Where evidence files are kept.
    pub storage: Arc<crate::storage::Storage>,
    /// The time the deadline rules go by.
    pub clock: Clock,
    /// SQLite only: the one writer at a time (see [`AppCtx::begin_write`]).
    writer: Option<Arc<Mutex<()>>>,
    /// A rehearsal: every write transaction rolls back where it would commit.
    rehearsal: bool,
}

impl AppCtx {
    pub fn new(
        db: DatabaseConnection,
        config: Arc<Config>,
        jwt: Arc<JwtKeys>,
        storage: Arc<crate::storage::Storage>,
    ) -> Self {
        let sqlite = db.get_database_backend() == DbBackend::Sqlite;
        Self {
            db,
            config,
            jwt,
            storage,
            clock: Clock::default(),
            // SQLite has one process; PostgreSQL trusts its cache only while it listens.
            directory: Arc::new(DirectoryCache::new(sqlite)),
            login_guard: Arc::default(),
            writer: sqlite.then(Arc::default),
            rehearsal: false,
        }
    }

    /// This context as a rehearsal: writes run every rule and statement as they would, and
    /// their transactions roll back instead of committing (an import's dry run).
    pub fn rehearsal(&self) -> Self {
        Self {
            rehearsal: true,
            ..self.clone()
        }
    }

    /// This context with sync batches of up to `max` items (an import is one batch).
    pub fn with_batch_max(&self, max: usize) -> Self {
        let mut config = (*self.config).clone();
        config.sync_batch_max = config.sync_batch_max.max(max);
        Self {
            config: Arc::new(config),
            ..self.clone()
        }
    }

    /// Opens a write transaction. On SQLite, writers queue here, one at a time, and then begin
    /// `IMMEDIATE`: a deferred transaction that reads first and writes later fails with
    /// `SQLITE_BUSY` when another writer commits in between, whatever the busy timeout, and the
    /// client would see a 503 for a write that only had to wait its turn. The immediate begin
    /// (with the busy timeout) also covers another process writing the same file.
    pub async fn begin_write(&self) -> Result<WriteTx, DbErr> {
        self.begin_write_with(None).await
    }

    /// Opens a write transaction whose statements all read one snapshot of the database, taken
    /// at its first (PostgreSQL's `REPEATABLE READ`; a SQLite transaction always reads one): a
    /// report computed over several statements then describes one moment, whatever commits
    /// while it runs. Only for writes that insert what they computed: one that updates a row
    /// another transaction changed after the snapshot fails with a serialization error (a 503
    /// the client retries).
    pub async fn begin_write_snapshot(&self) -> Result<WriteTx, DbErr> {
        let postgres = self.db.get_database_backend() == DbBackend::Postgres;
        self.begin_write_with(postgres.then_some(IsolationLevel::RepeatableRead))
            .await
    }

    async fn begin_write_with(
        &self,
        isolation_level: Option<IsolationLevel>,
    ) -> Result<WriteTx, DbErr> {
        let turn = match &self.writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let options = TransactionOptions {
            sqlite_transaction_mode: turn.as_ref().map(|_| SqliteTransactionMode::Immediate),
            isolation_level,
            ..TransactionOptions::default()
        };
        let tx = self.db.begin_with_options(options).await?;
        Ok(WriteTx {
            tx,
            rehearsal: self.rehearsal,
            _turn: turn,
        })
    }
}

/// A write transaction that holds the writer's turn (SQLite) until it commits or drops.
pub struct WriteTx {
    tx: DatabaseTransaction,
    rehearsal: bool,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Commits, or in a rehearsal rolls back.
    pub async fn commit(self) -> Result<(), DbErr> {
        if self.rehearsal {
            return self.tx.rollback().await;
        }
        self.tx.commit().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTx {
    fn get_database_backend(&self) -> DbBackend {
        self.tx.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.tx.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.tx.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.tx.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.tx.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.tx.support_returning()
    }
}

/// One page of a keyset-paginated list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in id order: the extra row only says
    /// that another page exists.
    pub fn from_rows(mut rows: Vec<T>, limit: u64, id_of: impl Fn(&T) -> uuid::Uuid) -> Self {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|last| Cursor::after(id_of(last)).encode())
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Checks a client's expected version (`If-Match`, `expected_version`) against the stored one.
pub fn check_version(expected: Option<i32>, current: i32) -> Result<(), AppError> {
    match expected {
        Some(v) if v != current => Err(AppError::PreconditionFailed {
            current_version: current,
        }),
        _ => Ok(()),
    }
}

/// The time the deadline rules go by (has a quarter ended? was a ledger on time?): the system
/// clock, unless pinned. Tests pin it to submit a 2019 ledger as of 2019; nothing else does.
#[derive(Clone, Debug, Default)]
pub struct Clock(Arc<std::sync::RwLock<Option<chrono::DateTime<chrono::Utc>>>>);

impl Clock {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
            .read()
            .ok()
            .and_then(|pinned| *pinned)
            .unwrap_or_else(now)
    }

    /// Pins the clock to `at`, or (`None`) lets it run again.
    pub fn pin(&self, at: Option<chrono::DateTime<chrono::Utc>>) {
        if let Ok(mut pinned) = self.0.write() {
            *pinned = at;
        }
    }
}

/// `value` as canonical JSON (RFC 8785: sorted keys, no spaces, one spelling per number) and
/// the SHA-256 of those bytes in lower-case hex: what a frozen snapshot stores and names.
pub fn canonical_json<T: Serialize>(value: &T) -> Result<(String, String), AppError> {
    use sha2::Digest;
    let text = serde_jcs::to_string(value).map_err(|e| AppError::Internal(e.into()))?;
    let sha256 = evidence::hex(&sha2::Sha256::digest(text.as_bytes()));
    Ok((text, sha256))
}

pub fn now() -> chrono::DateTime<chrono::Utc> {
    // Microsecond precision: what PostgreSQL stores, so a value read back equals the one written.
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Writes `model` if the stored version is still `version` ([`kernel::compare_and_set`]) and
/// reads the row back, for the writes that do not go through the kernel's [`kernel::Change`].
pub async fn save_versioned<E: EntityTrait>(
    tx: &impl ConnectionTrait,
    model: E::ActiveModel,
    id: uuid::Uuid,
    version: i32,
    cols: [E::Column; 3],
) -> Result<E::Model, AppError>
where
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    kernel::compare_and_set::<E>(tx, model, id, version, cols).await?;
    E::find()
        .filter(cols[0].eq(id))
        .one(tx)
        .await?
        .ok_or(AppError::NotFound)
}
