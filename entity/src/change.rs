use sea_orm::entity::prelude::*;

/// One entry of the change feed. Append-only: the service inserts rows and never updates them.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub record_type: String,
    pub record_id: Uuid,
    pub version: i32,
    pub rule: String,
    pub before_owner: Option<Uuid>,
    pub before_key: Option<Uuid>,
    pub after_owner: Option<Uuid>,
    pub after_key: Option<Uuid>,
    pub changed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
