//! PostgreSQL: every change to the directory tables (organizations, pairings, users, service
//! accounts) sends a `NOTIFY xiezuo_directory` at commit, so that every replica sharing the
//! database drops its in-memory copy of the directory. A trigger rather than the service's own
//! `NOTIFY`, so that a change made by hand or by another tool is seen too. SQLite has one process
//! and needs none.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 4] = ["organizations", "pairings", "users", "service_accounts"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION xiezuo_directory_changed() RETURNS trigger AS $$ \
             BEGIN PERFORM pg_notify('xiezuo_directory', TG_TABLE_NAME); RETURN NULL; END \
             $$ LANGUAGE plpgsql",
        )
        .await?;
        for table in TABLES {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_directory_changed \
                 AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} \
                 FOR EACH STATEMENT EXECUTE FUNCTION xiezuo_directory_changed()"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for table in TABLES {
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS {table}_directory_changed ON {table}"
            ))
            .await?;
        }
        db.execute_unprepared("DROP FUNCTION IF EXISTS xiezuo_directory_changed()")
            .await?;
        Ok(())
    }
}
