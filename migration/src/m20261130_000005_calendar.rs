//! The working-day calendar: the years an admin stores, beside the built-in ones (2019–2026).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CalendarYears {
    Table,
    Id,
    Year,
    Holidays,
    Workdays,
    Source,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CalendarYears::Table)
                    .col(pk_uuid(CalendarYears::Id))
                    .col(integer_uniq(CalendarYears::Year))
                    .col(json(CalendarYears::Holidays))
                    .col(json(CalendarYears::Workdays))
                    .col(string_len_null(CalendarYears::Source, 2000))
                    .col(integer(CalendarYears::Version))
                    .col(timestamp_with_time_zone(CalendarYears::CreatedAt))
                    .col(timestamp_with_time_zone(CalendarYears::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CalendarYears::Table).to_owned())
            .await
    }
}
