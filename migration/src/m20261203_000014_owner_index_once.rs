//! The record families that sync by `external_id` had two indexes leading with `owner_org_id`:
//! one of its own, and the unique `(owner_org_id, external_id)`. The second serves every lookup
//! the first did; the first only cost a write per row, and gave the planner a worse way to look
//! up a sync batch's external ids (all of the owner's rows, filtered).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "projects",
    "fund_transactions",
    "exchanges",
    "agreements",
    "evidence",
];

fn name(table: &str) -> String {
    format!("idx_{table}_owner_org_id")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .drop_index(
                    Index::drop()
                        .name(name(table))
                        .table(Alias::new(*table))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .create_index(
                    Index::create()
                        .name(name(table))
                        .table(Alias::new(*table))
                        .col(Alias::new("owner_org_id"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
