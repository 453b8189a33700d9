use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub code: String,
    pub year: i32,
    pub title: String,
    pub category: String,
    pub status: String,
    pub pairing_id: Uuid,
    pub basis: String,
    /// `[{"name", "unit", "quantity", "unit_cost_fen"}]`
    pub items: Json,
    pub quantity: Option<String>,
    pub measures: String,
    pub deep_poverty: bool,
    pub beneficiaries_planned: i32,
    pub beneficiaries_actual: Option<i32>,
    pub budget_fen: i64,
    pub responsible_contact_id: Option<Uuid>,
    pub start_on: Option<Date>,
    pub end_on: Option<Date>,
    /// `[{"title", "due_on", "done_on"}]`
    pub milestones: Json,
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
