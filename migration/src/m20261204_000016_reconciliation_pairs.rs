//! The voucher-agreed pairs of a horizontal reconciliation, kept apart from its other lines.
//!
//! Most lines of a real pairing's report are transfers and arrivals whose voucher numbers and
//! amounts agree: a million of them a side is a million pairs. They are written straight from
//! the voucher join into `reconciliation_pairs`, narrow and numbered `k` = 1, 2, …; the report
//! row says which line numbers they take (`pairs_after` + `k`, `pair_count` of them). The other
//! lines, and a pair a side has answered (explained, resolved), are rows of
//! `reconciliation_lines`, which take precedence over the pair of the same number.
//!
//! On PostgreSQL the table is partitioned by report: a run writes its pairs with `CREATE TABLE
//! … AS` (the bulk path, which an `INSERT` into an indexed table is not) and attaches the table
//! as its report's partition. Each partition has a BRIN index on `k`: a page of lines reads one
//! stretch of `k`. A partition is the whole voucher join as it came: its rows that do not agree
//! (an amount mismatch, a record of one side) are there too, with `k` NULL and their owners and
//! both amounts, and the run copies them into its working table; a read asks for a range of `k`
//! and never sees them. A pair row leaves its owners and the western amount empty: the owners
//! are the records', joined when it is read, and the amounts are equal. SQLite keeps one table
//! with its primary key, of pairs only.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::s;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: &str = "k BIGINT, voucher_no TEXT, east_id {uuid}, west_id {uuid}, \
     east_owner {uuid}, west_owner {uuid}, east_amount BIGINT, west_amount BIGINT, \
     east_on DATE, west_on DATE";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in ["pairs_after", "pair_count"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(s("reconciliations"))
                        .add_column(big_integer(s(col)).default(0))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        let sql = if manager.get_database_backend() == DbBackend::Postgres {
            // The key is nullable: a partition made by `CREATE TABLE … AS` has no NOT NULL
            // columns, and its CHECK says what attaching it needs.
            format!(
                "CREATE TABLE reconciliation_pairs (reconciliation_id uuid, {}) \
                 PARTITION BY LIST (reconciliation_id)",
                COLUMNS.replace("{uuid}", "uuid")
            )
        } else {
            format!(
                "CREATE TABLE reconciliation_pairs (reconciliation_id BLOB NOT NULL, {}, \
                 PRIMARY KEY (reconciliation_id, k))",
                COLUMNS.replace("{uuid}", "BLOB")
            )
        };
        db.execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // On PostgreSQL this drops every report's partition with it.
        manager
            .drop_table(Table::drop().table(s("reconciliation_pairs")).to_owned())
            .await?;
        for col in ["pairs_after", "pair_count"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(s("reconciliations"))
                        .drop_column(s(col))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
