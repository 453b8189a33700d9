use sea_orm::entity::prelude::*;

/// A stored reconciliation report (对账): which records it compared, and its totals. Its lines
/// are `reconciliation_line`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `horizontal` (of `pairing_id`) or `vertical` (of `org_id`).
    pub kind: String,
    pub pairing_id: Option<Uuid>,
    /// The prefecture a vertical reconciliation is of.
    pub org_id: Option<Uuid>,
    pub year: i32,
    /// 1–4; `None` for the whole year.
    pub quarter: Option<i32>,
    /// How many days apart two records of equal amount may be and still match.
    pub window_days: i32,
    /// The totals as canonical JSON.
    #[sea_orm(column_type = "Text")]
    pub totals: String,
    pub line_count: i64,
    /// A horizontal report's voucher-agreed pairs (`reconciliation_pairs`) are its lines
    /// `pairs_after + 1` to `pairs_after + pair_count`; a line of that stretch stored in
    /// `reconciliation_line` (a pair a side answered) takes precedence over its pair.
    pub pairs_after: i64,
    pub pair_count: i64,
    pub created_by: Uuid,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
