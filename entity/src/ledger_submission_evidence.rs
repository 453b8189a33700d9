use sea_orm::entity::prelude::*;

/// A piece of evidence a ledger submission froze: it can no longer be changed or deleted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_submission_evidence")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub submission_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub evidence_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
