use sea_orm::entity::prelude::*;

/// A submitted ledger (台账报送): one organization's quarterly ledger, or its year's materials,
/// frozen. Append-only: only the review columns change after it is written.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_submissions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub year: i32,
    /// 1–4; 0 for the year's materials.
    pub quarter: i32,
    /// 1, 2, … per organization and period.
    pub number: i32,
    /// `None` while the working-day calendar does not hold the year the count runs into.
    pub due_on: Option<Date>,
    pub submitted_at: DateTimeUtc,
    /// The user or service account that submitted.
    pub submitted_by: Uuid,
    pub on_time: Option<bool>,
    /// Lower-case hex SHA-256 of `snapshot`'s bytes.
    pub sha256: String,
    /// The ledger as canonical JSON (RFC 8785).
    #[sea_orm(column_type = "Text")]
    pub snapshot: String,
    pub snapshot_bytes: i64,
    /// How many gaps the ledger had when it was submitted.
    pub gaps: i32,
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub review_comment: Option<String>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub reviewed_by: Option<Uuid>,
    pub version: i32,
    /// The organization whose ledger it is.
    pub owner_org_id: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
