use sea_orm::entity::prelude::*;

/// Append-only: the service inserts rows and never updates or deletes them.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub occurred_at: DateTimeUtc,
    pub actor_type: String,
    pub actor_id: Uuid,
    pub actor_role: String,
    pub action: String,
    pub record_type: String,
    pub record_id: Uuid,
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
