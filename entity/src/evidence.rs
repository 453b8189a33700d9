use sea_orm::entity::prelude::*;

/// A piece of evidence (印证资料): a file in one of six categories and the records it proves.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "evidence")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub category: String,
    pub title: String,
    /// The uploaded file's name, made safe.
    pub file_name: String,
    /// Sniffed from the content, never taken from the client.
    pub media_type: String,
    pub size_bytes: i64,
    /// Lower-case hex.
    pub sha256: String,
    /// Where the file is in the evidence storage.
    pub storage_key: String,
    pub period_year: Option<i32>,
    pub period_quarter: Option<i32>,
    /// The pairing of the records it proves, if any: what decides who reads it.
    pub pairing_id: Option<Uuid>,
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
