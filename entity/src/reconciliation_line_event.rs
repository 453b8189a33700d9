use sea_orm::entity::prelude::*;

/// What a side said about a reconciliation line, and when: append-only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_line_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub reconciliation_id: Uuid,
    pub line_no: i64,
    /// `explain`, `resolve` or `reopen`.
    pub action: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub actor_id: Uuid,
    pub actor_org_id: Option<Uuid>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
