//! One migration set for SQLite and PostgreSQL. One file per change, named
//! `mYYYYMMDD_NNNNNN_what.rs`; migrations hold structure only, never seed data.

pub use sea_orm_migration::prelude::*;

pub mod feed_backfill;

mod m20261129_000001_foundation;
mod m20261129_000002_core_records;
mod m20261129_000003_filter_indexes;
mod m20261130_000004_directory_notify;
mod m20261130_000005_calendar;
mod m20261130_000006_evidence;
mod m20261201_000007_ledger_submissions;
mod m20261201_000008_self_assessments;
mod m20261201_000009_plan_structure;
mod m20261201_000010_change_feed;
mod m20261201_000011_webhooks;
mod m20261202_000012_reconciliations;
mod m20261203_000013_statements;
mod m20261203_000014_owner_index_once;
mod m20261203_000015_statement_lines;
mod m20261204_000016_reconciliation_pairs;
mod m20261204_000017_live_side_index;

pub struct Migrator;

/// A table or column name.
pub(crate) fn s(name: &str) -> Alias {
    Alias::new(name)
}

/// The foreign key `table.col` → `target.id`, named `fk_<table>_<col>`.
pub(crate) fn fk(table: &str, col: &str, target: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{col}"))
        .from(s(table), s(col))
        .to(s(target), s("id"))
        .to_owned()
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_foundation::Migration),
            Box::new(m20261129_000002_core_records::Migration),
            Box::new(m20261129_000003_filter_indexes::Migration),
            Box::new(m20261130_000004_directory_notify::Migration),
            Box::new(m20261130_000005_calendar::Migration),
            Box::new(m20261130_000006_evidence::Migration),
            Box::new(m20261201_000007_ledger_submissions::Migration),
            Box::new(m20261201_000008_self_assessments::Migration),
            Box::new(m20261201_000009_plan_structure::Migration),
            Box::new(m20261201_000010_change_feed::Migration),
            Box::new(m20261201_000011_webhooks::Migration),
            Box::new(m20261202_000012_reconciliations::Migration),
            Box::new(m20261203_000013_statements::Migration),
            Box::new(m20261203_000014_owner_index_once::Migration),
            Box::new(m20261203_000015_statement_lines::Migration),
            Box::new(m20261204_000016_reconciliation_pairs::Migration),
            Box::new(m20261204_000017_live_side_index::Migration),
        ]
    }
}
