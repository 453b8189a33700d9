//! The plan as the 2019 work plan writes it: the plan's document metadata and year-end summary,
//! tasks that count by direction and leaders present, mandatory (规定动作) or self-chosen
//! (自选动作), each with the organizations that must each meet its target, and the day a
//! working group was set up.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, s};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Adds `cols` to `table`, one statement each: SQLite takes one change per ALTER TABLE.
async fn add_columns(
    manager: &SchemaManager<'_>,
    table: &str,
    cols: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    for col in cols {
        manager
            .alter_table(Table::alter().table(s(table)).add_column(col).to_owned())
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            "plans",
            vec![
                string_len_null(s("document_no"), 100),
                date_null(s("issued_on")),
                string_len_null(s("issuer"), 200),
                text_null(s("addressees")),
                text_null(s("goals")),
                text_null(s("contents")),
                text_null(s("summary")),
                // `[{"title": ..., "description": ...}]`, the innovative practices (创新做法).
                json_null(s("innovations")),
                date_null(s("summarized_on")),
            ],
        )
        .await?;
        add_columns(
            manager,
            "plan_tasks",
            vec![
                boolean(s("mandatory")).default(true).to_owned(),
                string_len_null(s("counts_direction"), 20),
                boolean(s("counts_leaders")).default(false).to_owned(),
                // `quarter` counts from the start of the task's quarter, `year` from the
                // start of the plan's year; tasks made before this count the year.
                string_len(s("counts_period"), 10)
                    .default("year")
                    .to_owned(),
            ],
        )
        .await?;
        add_columns(
            manager,
            "working_groups",
            vec![date_null(s("established_on"))],
        )
        .await?;

        let t = "plan_task_orgs";
        manager
            .create_table(
                Table::create()
                    .table(s(t))
                    .col(uuid(s("task_id")))
                    .col(uuid(s("org_id")))
                    .primary_key(Index::create().col(s("task_id")).col(s("org_id")))
                    .foreign_key(&mut fk(t, "task_id", "plan_tasks"))
                    .foreign_key(&mut fk(t, "org_id", "organizations"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_plan_task_orgs_org_id")
                    .table(s(t))
                    .col(s("org_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(s("plan_task_orgs")).to_owned())
            .await?;
        for (table, cols) in [
            ("working_groups", &["established_on"][..]),
            (
                "plan_tasks",
                &[
                    "mandatory",
                    "counts_direction",
                    "counts_leaders",
                    "counts_period",
                ],
            ),
            (
                "plans",
                &[
                    "document_no",
                    "issued_on",
                    "issuer",
                    "addressees",
                    "goals",
                    "contents",
                    "summary",
                    "innovations",
                    "summarized_on",
                ],
            ),
        ] {
            for col in cols {
                manager
                    .alter_table(
                        Table::alter()
                            .table(s(table))
                            .drop_column(s(col))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
