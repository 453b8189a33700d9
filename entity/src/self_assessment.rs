use sea_orm::entity::prelude::*;

/// A self-assessment (自评) of an organization for a year: its account, drafted from the
/// computed indicators, the partner's opinion, and who took each step when.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "self_assessments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub year: i32,
    /// The pairing whose eastern side gives its opinion: what lets that partner read it.
    pub pairing_id: Uuid,
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub summary: String,
    /// The computed assessment as canonical JSON.
    #[sea_orm(column_type = "Text")]
    pub indicators: String,
    pub indicators_sha256: String,
    pub drafted_by: Uuid,
    pub sent_by: Option<Uuid>,
    pub sent_at: Option<DateTimeUtc>,
    pub opinion: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub opinion_comment: Option<String>,
    pub opinion_by: Option<Uuid>,
    pub opinion_at: Option<DateTimeUtc>,
    pub submitted_by: Option<Uuid>,
    pub submitted_at: Option<DateTimeUtc>,
    pub version: i32,
    /// The organization assessed.
    pub owner_org_id: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
