//! The change feed (`GET /api/v1/changes`): one row per create, update and delete of a record,
//! written in the transaction that makes the change.
//!
//! A poller must never skip a change, even while writers commit concurrently. A sequence alone
//! does not give that on PostgreSQL: a transaction can take `seq` 7 and commit after another
//! took 8 and a poller read 8. So a writer appends to the feed as the last write of its
//! transaction, holding a transaction-level advisory lock from there to its commit: the numbers
//! are taken in commit order, and when `seq` 8 is visible, 7 has committed or rolled back. SQLite
//! runs one writer at a time, which gives the same.
//!
//! Who may read the change is kept with it, as the record's scope columns were before and after
//! the change (`before_*`, `after_*`; none after a delete), so the feed filters by the caller's
//! scope in SQL and tells a caller who can no longer read a record that it is gone.

use sea_orm_migration::{prelude::*, schema::*};

use crate::s;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = "changes";
        manager
            .create_table(
                Table::create()
                    .table(s(t))
                    .col(big_pk_auto(s("seq")))
                    .col(string_len(s("record_type"), 32))
                    .col(uuid(s("record_id")))
                    .col(integer(s("version")))
                    // How the scope applies: `record` (owner subtree or pairing), `org`, `pairing`.
                    .col(string_len(s("rule"), 8))
                    .col(uuid_null(s("before_owner")))
                    .col(uuid_null(s("before_key")))
                    .col(uuid_null(s("after_owner")))
                    .col(uuid_null(s("after_key")))
                    .col(timestamp_with_time_zone(s("changed_at")))
                    .to_owned(),
            )
            .await?;
        // A record's history in the feed (and the backfill's check for a record with none).
        manager
            .create_index(
                Index::create()
                    .name("idx_changes_record")
                    .table(s(t))
                    .col(s("record_type"))
                    .col(s("record_id"))
                    .to_owned(),
            )
            .await?;
        // The records written before the feed existed enter it as they are now.
        crate::feed_backfill::backfill(manager.get_connection()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(s("changes")).to_owned())
            .await
    }
}
