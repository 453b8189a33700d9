use sea_orm::entity::prelude::*;

/// A figure an organization declares for a period (报表数据): a municipal department's count of
/// the money that arrived, say. Vertical reconciliation compares it with the records.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "statements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The declaring organization.
    pub org_id: Uuid,
    pub year: i32,
    /// 1–4; `None` for the whole year.
    pub quarter: Option<i32>,
    /// What is declared: `arrived_fen`, `exchanges`, ….
    pub indicator: String,
    /// Fen for the money indicators, a count for the others.
    pub value: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
