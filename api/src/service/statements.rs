//! Statements (报表数据): figures an organization declares for a period — a municipal
//! department's sum of the money that arrived in a quarter, a prefecture federation's own count
//! of exchanges. The work plan wants each prefecture's ledger "纵向须与市（州）直相关部门资料数据对账一致":
//! vertical reconciliation compares the records with these figures.
//!
//! A statement is a ledger record of its declaring organization (that organization's write
//! rules; readable by its subtree and the roles that read everything). One organization declares
//! one figure per indicator and period: declaring it again is a `409 duplicate` naming the
//! statement to update.

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use entity::statement;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page,
    kernel::{self, Columns, Readable, Record},
    now,
    records::{self, PageArgs},
};
use crate::{
    authz::{Actor, RecordKind, ensure_write},
    domain::{Fen, Fields, FundKind, calendar::SETTABLE_YEARS, checked, names},
    error::{AppError, AppResult},
};

names!(
    /// What a statement declares and a vertical reconciliation compares, for a period.
    StatementIndicator {
        /// Money pledged (fen).
        PledgedFen => "pledged_fen",
        /// Money transferred by the eastern side (fen).
        TransferredFen => "transferred_fen",
        /// Money arrived on the western side (fen).
        ArrivedFen => "arrived_fen",
        /// Money spent (fen).
        SpentFen => "spent_fen",
        /// Money refunded (fen).
        RefundedFen => "refunded_fen",
        /// Exchanges that began in the period (a count).
        Exchanges => "exchanges",
    }
);

impl StatementIndicator {
    /// The fund transaction kind a money indicator sums.
    pub fn fund_kind(self) -> Option<FundKind> {
        match self {
            Self::PledgedFen => Some(FundKind::Pledge),
            Self::TransferredFen => Some(FundKind::Transfer),
            Self::ArrivedFen => Some(FundKind::Arrival),
            Self::SpentFen => Some(FundKind::Expenditure),
            Self::RefundedFen => Some(FundKind::Refund),
            Self::Exchanges => None,
        }
    }
}

pub const NOTE_MAX: usize = 2000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "Statement", complex)]
pub struct StatementView {
    pub id: Uuid,
    /// The declaring organization.
    pub org_id: Uuid,
    pub year: i32,
    /// 1–4; `null` for the whole year.
    pub quarter: Option<i32>,
    pub indicator: StatementIndicator,
    /// Fen for the money indicators (`…_fen`), a count for `exchanges`.
    pub value: Fen,
    /// Where the figure comes from (a report's number, say).
    pub note: Option<String>,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewStatementInput")]
pub struct NewStatement {
    pub org_id: Uuid,
    pub year: i32,
    /// 1–4; absent or null for the whole year.
    #[serde(default)]
    pub quarter: Option<i32>,
    pub indicator: StatementIndicator,
    /// 0 to 10^13: fen for the money indicators, a count for `exchanges`.
    pub value: Fen,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A correction: the figure and its note (a different period or indicator is another
/// statement).
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "StatementPatchInput")]
pub struct StatementPatch {
    #[serde(default)]
    pub value: Option<Fen>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub note: MaybeUndefined<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "StatementFilter")]
pub struct StatementQuery {
    /// The declaring organization.
    pub org_id: Option<Uuid>,
    pub year: Option<i32>,
    pub quarter: Option<i32>,
    pub indicator: Option<StatementIndicator>,
    pub external_id: Option<String>,
    /// Page size, 1–500 (default 50).
    #[graphql(skip)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[graphql(skip)]
    pub cursor: Option<String>,
}

/// The statement family for the record kernel: a ledger record of its declaring organization.
pub struct Statements;

impl Record for Statements {
    type Entity = statement::Entity;
    type Row = statement::Model;
    type View = StatementView;
    const KIND: RecordKind = RecordKind::Statement;

    fn columns() -> Columns<statement::Column> {
        use statement::Column as C;
        kernel::record_columns!(C, Readable::Record(None))
    }

    fn model(row: &statement::Model) -> &statement::Model {
        row
    }

    fn view(_: &Actor, m: statement::Model) -> AppResult<StatementView> {
        Ok(StatementView {
            id: m.id,
            org_id: m.org_id,
            year: m.year,
            quarter: m.quarter,
            indicator: StatementIndicator::from_db(&m.indicator)?,
            value: Fen(m.value),
            note: m.note,
            version: m.version,
            owner_org_id: m.owner_org_id,
            external_id: m.external_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

fn check_value(value: Fen) -> Result<i64, String> {
    crate::domain::AmountFen::parse_non_negative(value.0).map(|a| a.get())
}

fn check_note(note: &str) -> Result<String, String> {
    records::long_text(note, NOTE_MAX)
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<StatementView> {
    kernel::get::<Statements>(ctx, actor, id).await
}

pub async fn list(
    ctx: &AppCtx,
    actor: &Actor,
    q: StatementQuery,
) -> AppResult<Page<StatementView>> {
    let mut f = Fields::new();
    let page = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.finish()?;
    let page = checked(page)?;
    let mut select = kernel::visible::<Statements>(ctx.db.get_database_backend(), actor.scope());
    if let Some(org) = q.org_id {
        select = select.filter(statement::Column::OrgId.eq(org));
    }
    if let Some(year) = q.year {
        select = select.filter(statement::Column::Year.eq(year));
    }
    if let Some(quarter) = q.quarter {
        select = select.filter(statement::Column::Quarter.eq(quarter));
    }
    if let Some(indicator) = q.indicator {
        select = select.filter(statement::Column::Indicator.eq(indicator.as_str()));
    }
    if let Some(e) = q.external_id {
        select = select.filter(statement::Column::ExternalId.eq(e));
    }
    kernel::page::<Statements>(ctx, actor, select, page).await
}

pub async fn create(ctx: &AppCtx, actor: &Actor, input: NewStatement) -> AppResult<StatementView> {
    let (dir, tx) = kernel::begin(ctx).await?;
    let (owner, org_exists) = kernel::new_owner(&dir, actor, input.org_id);
    ensure_write(actor, actor.scope(), RecordKind::Statement, owner)?;

    let mut f = Fields::new();
    if !org_exists {
        f.push("org_id", "no such organization");
    }
    if !SETTABLE_YEARS.contains(&input.year) {
        f.push(
            "year",
            format!(
                "must be between {} and {}",
                SETTABLE_YEARS.start(),
                SETTABLE_YEARS.end()
            ),
        );
    }
    if input.quarter.is_some_and(|q| !(1..=4).contains(&q)) {
        f.push("quarter", "must be 1, 2, 3 or 4");
    }
    let value = f.check("value", check_value(input.value));
    let note = f.check_opt("note", input.note.as_deref(), check_note);
    let external = records::external_id(&mut f, input.external_id.as_deref());
    f.finish()?;
    kernel::ensure_external_free::<Statements>(
        &tx,
        actor,
        input.org_id,
        external.clone().flatten().as_deref(),
    )
    .await?;
    // One figure per organization, indicator and period (the unique index holds it too).
    let same = of_period(&tx, &[input.org_id], input.year, input.quarter)
        .await?
        .into_iter()
        .find(|s| s.indicator == input.indicator.as_str());
    if let Some(existing) = same {
        return Err(AppError::Conflict {
            code: "duplicate",
            field: Some("indicator".into()),
            detail: format!(
                "this organization already declared {} for the period: update statement {}",
                input.indicator.as_str(),
                existing.id
            ),
            existing_id: Some(existing.id),
        });
    }

    let at = now();
    let inserted = statement::Entity::insert(statement::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(input.org_id),
        year: Set(input.year),
        quarter: Set(input.quarter),
        indicator: Set(input.indicator.as_str().into()),
        value: Set(checked(value)?),
        note: Set(checked(note)?),
        version: Set(1),
        owner_org_id: Set(input.org_id),
        external_id: Set(checked(external)?),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_with_returning(&tx)
    .await?;
    kernel::created::<Statements>(tx, actor, inserted).await
}

pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: StatementPatch,
) -> AppResult<StatementView> {
    let change = kernel::change::<Statements>(ctx, actor, id, expected_version).await?;
    let current = &change.current;
    let mut f = Fields::new();
    let value = match patch.value {
        Some(v) => f.check("value", check_value(v)),
        None => Some(current.value),
    };
    let note = records::patch_nullable(&mut f, "note", &patch.note, current.note.clone(), |n| {
        check_note(n)
    });
    f.finish()?;
    let mut model: statement::ActiveModel = current.clone().into();
    model.value = Set(checked(value)?);
    model.note = Set(checked(note)?);
    change.save(model).await
}

pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    kernel::change::<Statements>(ctx, actor, id, expected_version)
        .await?
        .delete()
        .await
}

/// The live statements of `orgs` for the period (`quarter` `None`: the whole year's), any
/// indicator: what a vertical reconciliation compares.
pub async fn of_period(
    db: &impl sea_orm::ConnectionTrait,
    orgs: &[Uuid],
    year: i32,
    quarter: Option<i32>,
) -> AppResult<Vec<statement::Model>> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let select = statement::Entity::find()
        .filter(statement::Column::OrgId.is_in(orgs.iter().copied()))
        .filter(statement::Column::Year.eq(year))
        .filter(statement::Column::DeletedAt.is_null());
    let select = match quarter {
        Some(q) => select.filter(statement::Column::Quarter.eq(q)),
        None => select.filter(statement::Column::Quarter.is_null()),
    };
    Ok(select.all(db).await?)
}
