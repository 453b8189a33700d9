//! Evidence (印证资料): the file's facts (its bytes live in the evidence storage) and the records
//! each piece proves.

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
                    .table(s("evidence"))
                    .col(pk_uuid(s("id")))
                    .col(string_len(s("category"), 20))
                    .col(string_len(s("title"), 200))
                    .col(string_len(s("file_name"), 255))
                    .col(string_len(s("media_type"), 100))
                    .col(big_integer(s("size_bytes")))
                    .col(string_len(s("sha256"), 64))
                    .col(string_len(s("storage_key"), 200))
                    .col(integer_null(s("period_year")))
                    .col(integer_null(s("period_quarter")))
                    .col(uuid_null(s("pairing_id")))
                    .col(integer(s("version")))
                    .col(uuid(s("owner_org_id")))
                    .col(string_len_null(s("external_id"), 200))
                    .col(timestamp_with_time_zone(s("created_at")))
                    .col(timestamp_with_time_zone(s("updated_at")))
                    .col(timestamp_with_time_zone_null(s("deleted_at")))
                    .foreign_key(&mut fk("evidence", "owner_org_id", "organizations"))
                    .foreign_key(&mut fk("evidence", "pairing_id", "pairings"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(s("evidence_links"))
                    .col(uuid(s("evidence_id")))
                    .col(string_len(s("record_type"), 30))
                    .col(uuid(s("record_id")))
                    .primary_key(
                        Index::create()
                            .col(s("evidence_id"))
                            .col(s("record_type"))
                            .col(s("record_id")),
                    )
                    .foreign_key(&mut fk("evidence_links", "evidence_id", "evidence"))
                    .to_owned(),
            )
            .await?;
        let indexes: &[(&str, &[&str])] = &[
            ("evidence", &["owner_org_id"]),
            ("evidence", &["pairing_id"]),
            ("evidence", &["category"]),
            ("evidence", &["period_year", "period_quarter"]),
            ("evidence", &["updated_at"]),
            // "The evidence of this record": ledger gaps, the assessment, a record's page.
            ("evidence_links", &["record_type", "record_id"]),
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
        manager
            .create_index(
                Index::create()
                    .name("uq_evidence_external")
                    .table(s("evidence"))
                    .col(s("owner_org_id"))
                    .col(s("external_id"))
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["evidence_links", "evidence"] {
            manager
                .drop_table(Table::drop().table(s(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
