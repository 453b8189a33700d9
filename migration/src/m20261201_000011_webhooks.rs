//! Webhooks: an organization's subscription to the change feed (a URL, the record types, a
//! signing secret), and the log of deliveries, kept in the database so that they survive a
//! restart and several replicas can share the work (each delivery is claimed by one).

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, s};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = "webhooks";
        manager
            .create_table(
                Table::create()
                    .table(s(t))
                    .col(pk_uuid(s("id")))
                    // Checked at 2,048 characters as given; stored as parsed (percent-encoded), which may be longer.
                    .col(text(s("url")))
                    // Comma-separated `record_type` values.
                    .col(text(s("record_types")))
                    // The HMAC key; needed in clear to sign, never served.
                    .col(text(s("secret")))
                    // Whose reading the deliveries follow: the account that subscribed.
                    .col(string_len(s("subscriber_role"), 20))
                    .col(uuid(s("created_by")))
                    // The last change of the feed turned into deliveries.
                    .col(big_integer(s("cursor")))
                    .col(integer(s("version")))
                    .col(uuid(s("owner_org_id")))
                    .col(timestamp_with_time_zone(s("created_at")))
                    .col(timestamp_with_time_zone(s("updated_at")))
                    .col(timestamp_with_time_zone_null(s("deleted_at")))
                    .foreign_key(&mut fk(t, "owner_org_id", "organizations"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhooks_owner_org_id")
                    .table(s(t))
                    .col(s("owner_org_id"))
                    .to_owned(),
            )
            .await?;

        let d = "webhook_deliveries";
        manager
            .create_table(
                Table::create()
                    .table(s(d))
                    .col(pk_uuid(s("id")))
                    .col(uuid(s("webhook_id")))
                    .col(big_integer(s("seq")))
                    .col(string_len(s("record_type"), 32))
                    .col(uuid(s("record_id")))
                    .col(string_len(s("op"), 8))
                    .col(integer(s("version")))
                    .col(timestamp_with_time_zone(s("changed_at")))
                    // `pending`, `delivered` or `failed` (retries used up).
                    .col(string_len(s("status"), 10))
                    .col(integer(s("attempts")))
                    .col(timestamp_with_time_zone(s("next_attempt_at")))
                    .col(integer_null(s("last_status_code")))
                    .col(text_null(s("last_error")))
                    .col(timestamp_with_time_zone_null(s("delivered_at")))
                    .col(timestamp_with_time_zone(s("created_at")))
                    .foreign_key(&mut fk(d, "webhook_id", "webhooks"))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_webhook_deliveries_due",
                &["status", "next_attempt_at"][..],
            ),
            ("idx_webhook_deliveries_webhook", &["webhook_id", "id"]),
        ] {
            let mut index = Index::create();
            index.name(name).table(s(d));
            for col in cols {
                index.col(s(col));
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["webhook_deliveries", "webhooks"] {
            manager
                .drop_table(Table::drop().table(s(t)).to_owned())
                .await?;
        }
        Ok(())
    }
}
