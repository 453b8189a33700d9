//! Statements (报表数据): the figures an organization — a municipal department, or a
//! prefecture federation itself — declares for a period, and what a vertical reconciliation
//! (纵向对账) needs of its reports and lines.

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
                    .table(s("statements"))
                    .col(pk_uuid(s("id")))
                    .col(uuid(s("org_id")))
                    .col(integer(s("year")))
                    .col(integer_null(s("quarter")))
                    .col(string_len(s("indicator"), 40))
                    .col(big_integer(s("value")))
                    .col(text_null(s("note")))
                    .col(integer(s("version")))
                    .col(uuid(s("owner_org_id")))
                    .col(string_len_null(s("external_id"), 200))
                    .col(timestamp_with_time_zone(s("created_at")))
                    .col(timestamp_with_time_zone(s("updated_at")))
                    .col(timestamp_with_time_zone_null(s("deleted_at")))
                    .foreign_key(&mut fk("statements", "org_id", "organizations"))
                    .foreign_key(&mut fk("statements", "owner_org_id", "organizations"))
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "idx_statements_org_id_year_indicator",
                &["org_id", "year", "indicator"][..],
                false,
            ),
            ("idx_statements_updated_at", &["updated_at"][..], false),
            (
                "uq_statements_external",
                &["owner_org_id", "external_id"][..],
                true,
            ),
            (
                "idx_reconciliations_org_id_year",
                &["org_id", "year"][..],
                false,
            ),
        ] {
            if name == "idx_reconciliations_org_id_year" {
                manager
                    .alter_table(
                        Table::alter()
                            .table(s("reconciliations"))
                            .add_column(uuid_null(s("org_id")))
                            .to_owned(),
                    )
                    .await?;
            }
            let mut stmt = Index::create();
            stmt.name(name)
                .table(s(if name.contains("reconciliations") {
                    "reconciliations"
                } else {
                    "statements"
                }));
            for col in cols {
                stmt.col(s(col));
            }
            if unique {
                stmt.unique();
            }
            manager.create_index(stmt.take()).await?;
        }
        // One live figure per organization, indicator and period (a whole year's has no
        // quarter): an expression index with a condition, which both databases take as written.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_statements_indicator ON statements \
                 (org_id, year, COALESCE(quarter, 0), indicator) WHERE deleted_at IS NULL",
            )
            .await?;
        // A vertical line: the indicator, the organization whose figure is compared (a county
        // sum has none), the statement, and the two values.
        for col in [
            string_len_null(s("indicator"), 40),
            uuid_null(s("org_id")),
            uuid_null(s("statement_id")),
            big_integer_null(s("prefecture_value")),
            big_integer_null(s("compared_value")),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(s("reconciliation_lines"))
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX uq_statements_indicator")
            .await?;
        for col in [
            "indicator",
            "org_id",
            "statement_id",
            "prefecture_value",
            "compared_value",
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(s("reconciliation_lines"))
                        .drop_column(s(col))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_reconciliations_org_id_year")
                    .table(s("reconciliations"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(s("reconciliations"))
                    .drop_column(s("org_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(s("statements")).to_owned())
            .await
    }
}
