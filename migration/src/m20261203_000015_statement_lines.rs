//! The lines that compare a statement, found by the statement: its declaring organization reads
//! and answers them (`GET /api/v1/statements/{id}/reconciliation-lines`). Only vertical lines
//! name a statement, so the index is partial: the million lines of a horizontal report, written
//! in one statement, add nothing to it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_reconciliation_lines_statement_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The same SQL on PostgreSQL and SQLite, which both index part of a table.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {NAME} ON reconciliation_lines (statement_id, reconciliation_id) \
                 WHERE statement_id IS NOT NULL"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX {NAME}"))
            .await?;
        Ok(())
    }
}
