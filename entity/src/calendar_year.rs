use sea_orm::entity::prelude::*;

/// A year of the working-day calendar stored by an admin: a year the service does not ship, or
/// a correction of one it does.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_years")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub year: i32,
    /// `["YYYY-MM-DD", ...]`, sorted: the days off.
    pub holidays: Json,
    /// `["YYYY-MM-DD", ...]`, sorted: the weekend days worked (调休).
    pub workdays: Json,
    pub source: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
