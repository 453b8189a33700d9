//! Indexes for list filters the core-records migration left out, and the partial unique
//! indexes behind "one live working group per organization" and "one live plan per organization
//! and year" (checked in the service too; these make concurrent creates safe).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &str)] = &[
    ("exchanges", "kind"),
    ("exchanges", "direction"),
    ("exchanges", "updated_at"),
    ("agreements", "owner_org_id"),
    ("agreements", "signed_on"),
    ("agreements", "updated_at"),
    ("fund_transactions", "updated_at"),
    ("contacts", "updated_at"),
    ("plan_tasks", "due_on"),
    ("plan_tasks", "quarter"),
    ("plan_tasks", "updated_at"),
    ("plans", "year"),
    ("plans", "updated_at"),
    ("working_groups", "updated_at"),
    ("projects", "start_on"),
    ("projects", "created_at"),
];

/// Partial unique indexes, in SQL both databases accept.
const LIVE_UNIQUE: &[(&str, &str, &str)] = &[
    ("uq_working_groups_org_id", "working_groups", "org_id"),
    ("uq_plans_org_id_year", "plans", "org_id, year"),
];

fn name(table: &str, col: &str) -> String {
    format!("idx_{table}_{col}")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, col) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name(table, col))
                        .table(Alias::new(*table))
                        .col(Alias::new(*col))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        for (name, table, cols) in LIVE_UNIQUE {
            db.execute_unprepared(&format!(
                "CREATE UNIQUE INDEX {name} ON {table} ({cols}) WHERE deleted_at IS NULL"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _, _) in LIVE_UNIQUE {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        for (table, col) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(name(table, col))
                        .table(Alias::new(*table))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
