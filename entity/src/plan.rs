use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub year: i32,
    pub title: String,
    /// 文号, e.g. 黔残联办发〔2019〕8号.
    pub document_no: Option<String>,
    pub issued_on: Option<Date>,
    pub issuer: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub addressees: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub goals: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub contents: Option<String>,
    /// The year-end summary (总结).
    #[sea_orm(column_type = "Text", nullable)]
    pub summary: Option<String>,
    /// `[{"title": ..., "description": ...}]`, the innovative practices (创新做法).
    pub innovations: Option<Json>,
    pub summarized_on: Option<Date>,
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
