//! Ledger submissions (台账报送): a quarterly ledger, or the year's materials, frozen as a
//! canonical JSON snapshot with its sha256, and the evidence each one froze.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, s};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(s("ledger_submissions"))
                    .col(pk_uuid(s("id")))
                    .col(integer(s("year")))
                    // 1–4, or 0 for the year's materials: never NULL, so that the unique index
                    // below holds for the annual submissions too.
                    .col(integer(s("quarter")))
                    .col(integer(s("number")))
                    .col(date_null(s("due_on")))
                    .col(timestamp_with_time_zone(s("submitted_at")))
                    .col(uuid(s("submitted_by")))
                    .col(boolean_null(s("on_time")))
                    .col(string_len(s("sha256"), 64))
                    .col(text(s("snapshot")))
                    .col(big_integer(s("snapshot_bytes")))
                    .col(integer(s("gaps")))
                    .col(string_len(s("status"), 20))
                    .col(text_null(s("review_comment")))
                    .col(timestamp_with_time_zone_null(s("reviewed_at")))
                    .col(uuid_null(s("reviewed_by")))
                    .col(integer(s("version")))
                    .col(uuid(s("owner_org_id")))
                    .col(timestamp_with_time_zone(s("created_at")))
                    .col(timestamp_with_time_zone(s("updated_at")))
                    .col(timestamp_with_time_zone_null(s("deleted_at")))
                    .foreign_key(&mut fk(
                        "ledger_submissions",
                        "owner_org_id",
                        "organizations",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(s("ledger_submission_evidence"))
                    .col(uuid(s("submission_id")))
                    .col(uuid(s("evidence_id")))
                    .primary_key(
                        Index::create()
                            .col(s("submission_id"))
                            .col(s("evidence_id")),
                    )
                    .foreign_key(&mut fk(
                        "ledger_submission_evidence",
                        "submission_id",
                        "ledger_submissions",
                    ))
                    .foreign_key(&mut fk(
                        "ledger_submission_evidence",
                        "evidence_id",
                        "evidence",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_ledger_submissions_period_number")
                    .table(s("ledger_submissions"))
                    .col(s("owner_org_id"))
                    .col(s("year"))
                    .col(s("quarter"))
                    .col(s("number"))
                    .unique()
                    .to_owned(),
            )
            .await?;
        let indexes: &[(&str, &[&str])] = &[
            ("ledger_submissions", &["year", "quarter"]),
            ("ledger_submissions", &["status"]),
            ("ledger_submissions", &["updated_at"]),
            // "Is this evidence frozen?", asked by every change to evidence.
            ("ledger_submission_evidence", &["evidence_id"]),
        ];
        for (table, cols) in indexes {
            let mut index = Index::create();
            index
                .name(format!("idx_{table}_{}", cols.join("_")))
                .table(s(table));
            for col in *cols {
                index.col(s(col));
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["ledger_submission_evidence", "ledger_submissions"] {
            manager
                .drop_table(Table::drop().table(s(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
