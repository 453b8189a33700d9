use sea_orm::entity::prelude::*;

/// One line of a reconciliation: a pair of records the two sides kept of the same thing, or a
/// record only one side has; and where its explanation stands.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub reconciliation_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub line_no: i64,
    pub record_type: String,
    pub status: String,
    /// How the pair was matched: `voucher`, `amount_date` or `dates`; `None` for one side.
    pub rule: Option<String>,
    pub voucher_no: Option<String>,
    pub east_record_id: Option<Uuid>,
    pub west_record_id: Option<Uuid>,
    pub east_owner_org_id: Option<Uuid>,
    pub west_owner_org_id: Option<Uuid>,
    pub east_amount_fen: Option<i64>,
    pub west_amount_fen: Option<i64>,
    pub east_on: Option<Date>,
    pub west_on: Option<Date>,
    /// `open`, `explained` or `resolved`.
    pub resolution: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub annotated_at: Option<DateTimeUtc>,
    pub annotated_by: Option<Uuid>,
    pub version: i32,
    /// A vertical line: the indicator compared.
    pub indicator: Option<String>,
    /// A vertical line: the organization whose figure is compared with the prefecture's (the
    /// declaring one of a statement; `None` for the sum of the counties).
    pub org_id: Option<Uuid>,
    pub statement_id: Option<Uuid>,
    /// A vertical line: the prefecture's own figure, and the one compared with it.
    pub prefecture_value: Option<i64>,
    pub compared_value: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
