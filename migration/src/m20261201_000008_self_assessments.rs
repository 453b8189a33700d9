//! Self-assessments (自评): a federation's account of its year, drafted from the computed
//! indicators, sent to its eastern partner for an opinion, then submitted.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, s};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = "self_assessments";
        manager
            .create_table(
                Table::create()
                    .table(s(t))
                    .col(pk_uuid(s("id")))
                    .col(integer(s("year")))
                    .col(uuid(s("pairing_id")))
                    .col(string_len(s("status"), 20))
                    .col(text(s("summary")))
                    // The computed assessment (canonical JSON) the draft rests on, frozen when
                    // it is sent.
                    .col(text(s("indicators")))
                    .col(string_len(s("indicators_sha256"), 64))
                    .col(uuid(s("drafted_by")))
                    .col(uuid_null(s("sent_by")))
                    .col(timestamp_with_time_zone_null(s("sent_at")))
                    .col(string_len_null(s("opinion"), 20))
                    .col(text_null(s("opinion_comment")))
                    .col(uuid_null(s("opinion_by")))
                    .col(timestamp_with_time_zone_null(s("opinion_at")))
                    .col(uuid_null(s("submitted_by")))
                    .col(timestamp_with_time_zone_null(s("submitted_at")))
                    .col(integer(s("version")))
                    .col(uuid(s("owner_org_id")))
                    .col(timestamp_with_time_zone(s("created_at")))
                    .col(timestamp_with_time_zone(s("updated_at")))
                    .col(timestamp_with_time_zone_null(s("deleted_at")))
                    .foreign_key(&mut fk(t, "owner_org_id", "organizations"))
                    .foreign_key(&mut fk(t, "pairing_id", "pairings"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_self_assessments_org_year")
                    .table(s(t))
                    .col(s("owner_org_id"))
                    .col(s("year"))
                    .unique()
                    .to_owned(),
            )
            .await?;
        for cols in [&["pairing_id"][..], &["year", "status"], &["updated_at"]] {
            let mut index = Index::create();
            index
                .name(format!("idx_{t}_{}", cols.join("_")))
                .table(s(t));
            for col in cols {
                index.col(s(col));
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(s("self_assessments")).to_owned())
            .await
    }
}
