//! The index a horizontal reconciliation reads each side through: a pairing's live transfers
//! or arrivals in a period, with their amounts.
//!
//! It replaces the plain index on `(pairing_id, kind, occurred_on)`. Partial (`deleted_at IS
//! NULL`) and holding `amount_fen`, it answers a side's count and sum by an index-only scan:
//! the run counts both sides besides joining them, to find voucher numbers repeated on a side,
//! and sums the east side, to total the pairs that agree without reading them again.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::s;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "idx_fund_transactions_pairing_id_kind_occurred_on";
const NEW: &str = "idx_fund_transactions_live_side";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(OLD)
                    .table(s("fund_transactions"))
                    .to_owned(),
            )
            .await?;
        // SQLite has no INCLUDE: the amount is a last key column there.
        let sql = if manager.get_database_backend() == DbBackend::Postgres {
            format!(
                "CREATE INDEX {NEW} ON fund_transactions (pairing_id, kind, occurred_on) \
                 INCLUDE (amount_fen) WHERE deleted_at IS NULL"
            )
        } else {
            format!(
                "CREATE INDEX {NEW} ON fund_transactions (pairing_id, kind, occurred_on, \
                 amount_fen) WHERE deleted_at IS NULL"
            )
        };
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(NEW)
                    .table(s("fund_transactions"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(OLD)
                    .table(s("fund_transactions"))
                    .col(s("pairing_id"))
                    .col(s("kind"))
                    .col(s("occurred_on"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
