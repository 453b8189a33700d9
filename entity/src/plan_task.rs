use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub plan_id: Uuid,
    pub quarter: i32,
    pub title: String,
    pub due_on: Date,
    pub responsible_org_id: Uuid,
    pub target_count: i32,
    pub counts_record_type: Option<String>,
    pub counts_kind: Option<String>,
    /// An exchange direction; absent counts every direction.
    pub counts_direction: Option<String>,
    /// Only exchanges with leaders present count.
    pub counts_leaders: bool,
    /// `quarter` or `year`: from when records count.
    pub counts_period: String,
    /// 规定动作 (set by the plan) rather than 自选动作 (chosen by the organization).
    pub mandatory: bool,
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
