//! Indexes for the list filters of exchanges and agreements that the core-records migration
//! left out.

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
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
