//! Reconciliations (对账): a stored report comparing two sides' records, its lines, and the
//! history of what each side said about a line.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, s};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(name: &str, table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(s(table));
    for col in cols {
        stmt.col(s(col));
    }
    stmt.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(s("reconciliations"))
                    .col(pk_uuid(s("id")))
                    .col(string_len(s("kind"), 20))
                    .col(uuid_null(s("pairing_id")))
                    .col(integer(s("year")))
                    .col(integer_null(s("quarter")))
                    .col(integer(s("window_days")))
                    // Canonical JSON of the totals per side and per status.
                    .col(text(s("totals")))
                    .col(big_integer(s("line_count")))
                    .col(uuid(s("created_by")))
                    .col(integer(s("version")))
                    .col(uuid(s("owner_org_id")))
                    .col(timestamp_with_time_zone(s("created_at")))
                    .col(timestamp_with_time_zone(s("updated_at")))
                    .col(timestamp_with_time_zone_null(s("deleted_at")))
                    .foreign_key(&mut fk("reconciliations", "owner_org_id", "organizations"))
                    .foreign_key(&mut fk("reconciliations", "pairing_id", "pairings"))
                    .to_owned(),
            )
            .await?;
        // A report of a million lines is written by one INSERT … SELECT: the lines carry no
        // foreign keys to the records they compare (each would be checked per row) and no index
        // but their key. A status filter needs none: lines are numbered by status (discrepancies
        // first), so each status's lines are one stretch of the key.
        manager
            .create_table(
                Table::create()
                    .table(s("reconciliation_lines"))
                    .col(uuid(s("reconciliation_id")))
                    .col(big_integer(s("line_no")))
                    .col(string_len(s("record_type"), 20))
                    .col(string_len(s("status"), 20))
                    .col(string_len_null(s("rule"), 20))
                    .col(string_len_null(s("voucher_no"), 100))
                    .col(uuid_null(s("east_record_id")))
                    .col(uuid_null(s("west_record_id")))
                    .col(uuid_null(s("east_owner_org_id")))
                    .col(uuid_null(s("west_owner_org_id")))
                    .col(big_integer_null(s("east_amount_fen")))
                    .col(big_integer_null(s("west_amount_fen")))
                    .col(date_null(s("east_on")))
                    .col(date_null(s("west_on")))
                    .col(string_len(s("resolution"), 20))
                    .col(text_null(s("note")))
                    .col(timestamp_with_time_zone_null(s("annotated_at")))
                    .col(uuid_null(s("annotated_by")))
                    .col(integer(s("version")))
                    .primary_key(
                        Index::create()
                            .col(s("reconciliation_id"))
                            .col(s("line_no")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(s("reconciliation_line_events"))
                    .col(pk_uuid(s("id")))
                    .col(uuid(s("reconciliation_id")))
                    .col(big_integer(s("line_no")))
                    .col(string_len(s("action"), 20))
                    .col(text_null(s("note")))
                    .col(uuid(s("actor_id")))
                    .col(uuid_null(s("actor_org_id")))
                    .col(timestamp_with_time_zone(s("at")))
                    .foreign_key(&mut fk(
                        "reconciliation_line_events",
                        "reconciliation_id",
                        "reconciliations",
                    ))
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index(
                "idx_reconciliations_pairing_id_year",
                "reconciliations",
                &["pairing_id", "year"],
            ),
            index(
                "idx_reconciliations_updated_at",
                "reconciliations",
                &["updated_at"],
            ),
            index(
                "idx_reconciliation_line_events_line",
                "reconciliation_line_events",
                &["reconciliation_id", "line_no"],
            ),
            // What a horizontal reconciliation reads of one side: a pairing's transfers or
            // arrivals in a period.
            index(
                "idx_fund_transactions_pairing_id_kind_occurred_on",
                "fund_transactions",
                &["pairing_id", "kind", "occurred_on"],
            ),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_fund_transactions_pairing_id_kind_occurred_on")
                    .table(s("fund_transactions"))
                    .to_owned(),
            )
            .await?;
        for table in [
            "reconciliation_line_events",
            "reconciliation_lines",
            "reconciliations",
        ] {
            manager
                .drop_table(Table::drop().table(s(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
