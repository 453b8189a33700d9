//! Connecting to SQLite or PostgreSQL, and migrating.

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::config::{Config, redact_url};

/// Opens the pool. SQLite gets WAL and a busy timeout so readers never block the writer and a
/// writer waits for another instead of failing; an in-memory SQLite database lives in exactly one
/// connection, which must never be recycled.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let url = config.effective_database_url();
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    }
    connect_url(&url, config.db_max_connections).await
}

pub async fn connect_url(url: &str, max: Option<u32>) -> anyhow::Result<DatabaseConnection> {
    let sqlite = url.starts_with("sqlite:");
    let memory = sqlite && url.contains(":memory:");
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        // A ping on every checkout doubles the round trips of a one-statement read; only a
        // connection idle long enough to have been dropped (by the server, a proxy or a firewall)
        // is tested before use. A broken hot connection fails its statement and is discarded.
        .test_before_acquire_if_idle_for(Duration::from_secs(30));
    if memory {
        opts.max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    } else if sqlite {
        opts.max_connections(max.unwrap_or(4)).min_connections(1);
    }
    if sqlite {
        // Per-connection settings, applied to every connection the pool opens.
        opts.map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(5))
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
        });
    } else {
        opts.max_connections(max.unwrap_or(16)).min_connections(2);
    }
    Database::connect(opts)
        .await
        .with_context(|| format!("cannot connect to {}", redact_url(url)))
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("migration failed")
}

/// Ready: the database answers and no migration is pending.
pub async fn ready(db: &DatabaseConnection) -> Result<(), String> {
    db.ping()
        .await
        .map_err(|_| "database unreachable".to_string())?;
    let pending = Migrator::get_pending_migrations(db)
        .await
        .map_err(|_| "cannot read migration state".to_string())?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(format!("{} migrations pending", pending.len()))
    }
}
