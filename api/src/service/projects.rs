//! Projects (帮扶项目 / 帮扶清单): why (basis), what (items), how much, how (measures), with a
//! checked lifecycle and money computed from fund transactions.

use std::collections::{HashMap, HashSet};

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::NaiveDate;
use entity::{contact, pairing, project};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QuerySelect, Select,
    sea_query::{Expr, ExprTrait, LikeExpr},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page, WriteTx,
    exchanges::readable_pairings,
    fund_transactions::Totals,
    kernel::{self, Columns, Readable, Record},
    now,
    records::{self, PageArgs, external_id, patch_nullable, period_filter},
    sync,
};
use crate::{
    authz::{self, Actor, RecordKind, Scope, ensure_write},
    domain::{
        AmountFen, Code, Fen, Fields, FundKind, ProjectCategory, ProjectStatus, Role, Text, checked,
    },
    error::{AppError, Result},
};

/// One line of the 帮扶清单: what, in which unit, how many, at what unit cost.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, SimpleObject, InputObject,
)]
#[serde(deny_unknown_fields)]
#[graphql(name = "ProjectItem", input_name = "ProjectItemInput")]
pub struct ProjectItem {
    pub name: String,
    pub unit: String,
    pub quantity: i64,
    pub unit_cost_fen: Fen,
}

/// A step of the 路径图/时间表.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, SimpleObject, InputObject,
)]
#[serde(deny_unknown_fields)]
#[graphql(name = "Milestone", input_name = "MilestoneInput")]
pub struct Milestone {
    pub title: String,
    pub due_on: NaiveDate,
    #[serde(default)]
    pub done_on: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "Project", complex)]
pub struct ProjectView {
    pub id: Uuid,
    pub code: String,
    pub year: i32,
    pub title: String,
    pub category: ProjectCategory,
    pub status: ProjectStatus,
    pub pairing_id: Uuid,
    /// 为什么: the basis of the need.
    pub basis: String,
    /// 干什么: the item list (at most 200).
    #[graphql(complexity = "crate::graphql::list_cost(ITEMS_MAX, child_complexity)")]
    pub items: Vec<ProjectItem>,
    /// 干多少: the quantity in words, beside the item quantities.
    pub quantity: Option<String>,
    /// 怎么干: the measures.
    pub measures: String,
    /// In a deep-poverty area (深度贫困地区).
    pub deep_poverty: bool,
    pub beneficiaries_planned: i32,
    pub beneficiaries_actual: Option<i32>,
    pub budget_fen: Fen,
    pub responsible_contact_id: Option<Uuid>,
    pub start_on: Option<NaiveDate>,
    pub end_on: Option<NaiveDate>,
    /// At most 200.
    #[graphql(complexity = "crate::graphql::list_cost(MILESTONES_MAX, child_complexity)")]
    pub milestones: Vec<Milestone>,
    /// Computed from fund transactions.
    pub pledged_fen: Fen,
    pub transferred_fen: Fen,
    pub arrived_fen: Fen,
    pub spent_fen: Fen,
    pub refunded_fen: Fen,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl ProjectView {
    fn from_model(m: project::Model, totals: Totals) -> Result<Self> {
        let json = |e: serde_json::Error| AppError::Internal(e.into());
        Ok(Self {
            category: ProjectCategory::from_db(&m.category)?,
            status: ProjectStatus::from_db(&m.status)?,
            items: serde_json::from_value(m.items).map_err(json)?,
            milestones: serde_json::from_value(m.milestones).map_err(json)?,
            pledged_fen: totals.pledged_fen,
            transferred_fen: totals.transferred_fen,
            arrived_fen: totals.arrived_fen,
            spent_fen: totals.spent_fen,
            refunded_fen: totals.refunded_fen,
            id: m.id,
            code: m.code,
            year: m.year,
            title: m.title,
            pairing_id: m.pairing_id,
            basis: m.basis,
            quantity: m.quantity,
            measures: m.measures,
            deep_poverty: m.deep_poverty,
            beneficiaries_planned: m.beneficiaries_planned,
            beneficiaries_actual: m.beneficiaries_actual,
            budget_fen: Fen(m.budget_fen),
            responsible_contact_id: m.responsible_contact_id,
            start_on: m.start_on,
            end_on: m.end_on,
            version: m.version,
            owner_org_id: m.owner_org_id,
            external_id: m.external_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// A project row with its money, summed by the same statement.
#[derive(Clone, Debug, FromQueryResult)]
pub struct ProjectRow {
    #[sea_orm(nested)]
    pub project: project::Model,
    pub pledged_fen: i64,
    pub transferred_fen: i64,
    pub arrived_fen: i64,
    pub spent_fen: i64,
    pub refunded_fen: i64,
}

impl ProjectRow {
    pub fn totals(&self) -> Totals {
        Totals::from_sums(
            self.pledged_fen,
            self.transferred_fen,
            self.arrived_fen,
            self.spent_fen,
            self.refunded_fen,
        )
    }
}

/// The totals of a project row, each the sum of one kind of fund transaction.
const TOTALS: [(FundKind, &str); 5] = [
    (FundKind::Pledge, "pledged_fen"),
    (FundKind::Transfer, "transferred_fen"),
    (FundKind::Arrival, "arrived_fen"),
    (FundKind::Expenditure, "spent_fen"),
    (FundKind::Refund, "refunded_fen"),
];

/// The project family for the record kernel.
pub struct Projects;

impl Record for Projects {
    type Entity = project::Entity;
    type Row = ProjectRow;
    type View = ProjectView;
    const KIND: RecordKind = RecordKind::Project;

    fn columns() -> Columns<project::Column> {
        use project::Column as C;
        kernel::record_columns!(C, Readable::Record(Some(C::PairingId)))
    }

    /// The totals are sums over the project's live fund transactions (indexed by project), in
    /// the same statement: on PostgreSQL one `LATERAL` aggregate per project (one index scan),
    /// on SQLite one correlated sum per total.
    fn select(backend: DbBackend) -> Select<project::Entity> {
        use sea_orm::{
            QueryTrait,
            sea_query::{Alias, JoinType, Query},
        };
        let mut select = project::Entity::find();
        if backend == DbBackend::Postgres {
            let mut sums = Query::select();
            for (kind, alias) in TOTALS {
                sums.expr_as(
                    Expr::cust(format!(
                        "CAST(COALESCE(SUM(f.amount_fen) FILTER (WHERE f.kind = '{}'), 0) AS BIGINT)",
                        kind.as_str()
                    )),
                    Alias::new(alias),
                );
            }
            sums.from_as(Alias::new("fund_transactions"), Alias::new("f"))
                .and_where(Expr::cust(
                    "f.project_id = projects.id AND f.deleted_at IS NULL",
                ));
            QueryTrait::query(&mut select).join_lateral(
                JoinType::LeftJoin,
                sums.to_owned(),
                Alias::new("totals"),
                Expr::cust("TRUE"),
            );
            for (_, alias) in TOTALS {
                select = select.column_as(Expr::cust(format!("totals.{alias}")), alias);
            }
            return select;
        }
        for (kind, alias) in TOTALS {
            let sum = format!(
                "(SELECT CAST(COALESCE(SUM(f.amount_fen), 0) AS BIGINT) FROM fund_transactions f \
                 WHERE f.project_id = projects.id AND f.kind = '{}' AND f.deleted_at IS NULL)",
                kind.as_str()
            );
            select = select.column_as(Expr::cust(sum), alias);
        }
        select
    }

    fn model(row: &ProjectRow) -> &project::Model {
        &row.project
    }

    fn view(_: &Actor, row: ProjectRow) -> Result<ProjectView> {
        let totals = row.totals();
        ProjectView::from_model(row.project, totals)
    }
}

/// The projects with zero in place of each total ([`Money::NotAsked`]).
fn without_totals() -> Select<project::Entity> {
    let mut select = project::Entity::find();
    for alias in TOTALS.map(|(_, alias)| alias) {
        select = select.column_as(Expr::cust("CAST(0 AS BIGINT)"), alias);
    }
    select
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewProjectInput")]
pub struct NewProject {
    pub code: String,
    pub year: i32,
    pub title: String,
    pub category: ProjectCategory,
    pub pairing_id: Uuid,
    pub basis: String,
    #[serde(default)]
    pub items: Vec<ProjectItem>,
    #[serde(default)]
    pub quantity: Option<String>,
    pub measures: String,
    #[serde(default)]
    pub deep_poverty: bool,
    #[serde(default)]
    pub beneficiaries_planned: i32,
    #[serde(default)]
    pub budget_fen: Fen,
    #[serde(default)]
    pub responsible_contact_id: Option<Uuid>,
    #[serde(default)]
    pub start_on: Option<NaiveDate>,
    #[serde(default)]
    pub end_on: Option<NaiveDate>,
    #[serde(default)]
    pub milestones: Vec<Milestone>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A partial update; `status` moves the lifecycle (refused with `invalid_transition`).
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "ProjectPatchInput")]
pub struct ProjectPatch {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub year: Option<i32>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub category: Option<ProjectCategory>,
    #[serde(default)]
    pub status: Option<ProjectStatus>,
    #[serde(default)]
    pub basis: Option<String>,
    #[serde(default)]
    pub items: Option<Vec<ProjectItem>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub quantity: MaybeUndefined<String>,
    #[serde(default)]
    pub measures: Option<String>,
    #[serde(default)]
    pub deep_poverty: Option<bool>,
    #[serde(default)]
    pub beneficiaries_planned: Option<i32>,
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub beneficiaries_actual: MaybeUndefined<i32>,
    #[serde(default)]
    pub budget_fen: Option<Fen>,
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub responsible_contact_id: MaybeUndefined<Uuid>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub start_on: MaybeUndefined<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub end_on: MaybeUndefined<NaiveDate>,
    #[serde(default)]
    pub milestones: Option<Vec<Milestone>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: MaybeUndefined<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "ProjectFilter")]
pub struct ProjectQuery {
    /// The recording (owner) organization.
    pub org_id: Option<Uuid>,
    pub pairing_id: Option<Uuid>,
    pub year: Option<i32>,
    /// 1–4: projects starting in that quarter of `year`.
    pub quarter: Option<i32>,
    pub status: Option<ProjectStatus>,
    pub category: Option<ProjectCategory>,
    pub deep_poverty: Option<bool>,
    pub code: Option<String>,
    pub external_id: Option<String>,
    /// Part of the title.
    pub q: Option<String>,
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
    #[graphql(skip)]
    pub limit: Option<i64>,
    #[graphql(skip)]
    pub cursor: Option<String>,
}

/// The longest free text (basis, measures, quantity).
pub const TEXT_MAX: usize = 20_000;
pub const CODE_MAX: usize = 64;
pub const TITLE_MAX: usize = 200;
pub const ITEM_NAME_MAX: usize = 200;
pub const ITEM_UNIT_MAX: usize = 20;
pub const MILESTONE_TITLE_MAX: usize = 200;
/// The years a project may be for.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// The content fields shared by create and patch, checked together.
struct Content {
    code: String,
    year: i32,
    title: String,
    basis: String,
    measures: String,
    quantity: Option<String>,
    items: Vec<ProjectItem>,
    milestones: Vec<Milestone>,
    beneficiaries_planned: i32,
    beneficiaries_actual: Option<i32>,
    budget_fen: i64,
    start_on: Option<NaiveDate>,
    end_on: Option<NaiveDate>,
}

impl Content {
    /// The content of a new project as given, trimmed.
    fn of(input: &NewProject) -> Self {
        Self {
            code: input.code.trim().to_string(),
            year: input.year,
            title: input.title.trim().to_string(),
            basis: input.basis.trim().to_string(),
            measures: input.measures.trim().to_string(),
            quantity: input.quantity.as_deref().map(|q| q.trim().to_string()),
            items: input.items.clone(),
            milestones: input.milestones.clone(),
            beneficiaries_planned: input.beneficiaries_planned,
            beneficiaries_actual: None,
            budget_fen: input.budget_fen.0,
            start_on: input.start_on,
            end_on: input.end_on,
        }
    }
}

/// The columns a new project's input sets (not its status, not the record columns).
fn content_columns(input: &NewProject, c: &Content) -> project::ActiveModel {
    project::ActiveModel {
        code: Set(c.code.clone()),
        year: Set(c.year),
        title: Set(c.title.clone()),
        category: Set(input.category.as_str().into()),
        pairing_id: Set(input.pairing_id),
        basis: Set(c.basis.clone()),
        items: Set(serde_json::json!(c.items)),
        quantity: Set(c.quantity.clone()),
        measures: Set(c.measures.clone()),
        deep_poverty: Set(input.deep_poverty),
        beneficiaries_planned: Set(c.beneficiaries_planned),
        budget_fen: Set(c.budget_fen),
        responsible_contact_id: Set(input.responsible_contact_id),
        start_on: Set(c.start_on),
        end_on: Set(c.end_on),
        milestones: Set(serde_json::json!(c.milestones)),
        ..Default::default()
    }
}

/// The most items and milestones a project lists.
pub const ITEMS_MAX: usize = 200;
pub const MILESTONES_MAX: usize = 200;

fn check_content(f: &mut Fields, c: &Content) {
    f.check("code", Code::parse(&c.code, CODE_MAX));
    if !YEARS.contains(&c.year) {
        f.push(
            "year",
            format!("must be between {} and {}", YEARS.start(), YEARS.end()),
        );
    }
    f.check("title", Text::parse(&c.title, TITLE_MAX));
    f.check("basis", long_text(&c.basis));
    f.check("measures", long_text(&c.measures));
    if let Some(q) = &c.quantity {
        f.check("quantity", long_text(q));
    }
    if c.items.len() > ITEMS_MAX {
        f.push("items", format!("at most {ITEMS_MAX} items"));
    }
    if c.milestones.len() > MILESTONES_MAX {
        f.push("milestones", format!("at most {MILESTONES_MAX} milestones"));
    }
    for (i, item) in c.items.iter().enumerate() {
        f.check(
            &format!("items[{i}].name"),
            Text::parse(&item.name, ITEM_NAME_MAX),
        );
        f.check(
            &format!("items[{i}].unit"),
            Text::parse(&item.unit, ITEM_UNIT_MAX),
        );
        if item.quantity < 0 {
            f.push(&format!("items[{i}].quantity"), "must not be negative");
        }
        f.check(
            &format!("items[{i}].unit_cost_fen"),
            AmountFen::parse_non_negative(item.unit_cost_fen.0),
        );
    }
    for (i, m) in c.milestones.iter().enumerate() {
        f.check(
            &format!("milestones[{i}].title"),
            Text::parse(&m.title, MILESTONE_TITLE_MAX),
        );
        f.date(&format!("milestones[{i}].due_on"), Some(m.due_on));
        f.date(&format!("milestones[{i}].done_on"), m.done_on);
    }
    f.date("start_on", c.start_on);
    f.date("end_on", c.end_on);
    if c.beneficiaries_planned < 0 {
        f.push("beneficiaries_planned", "must not be negative");
    }
    if c.beneficiaries_actual.is_some_and(|n| n < 0) {
        f.push("beneficiaries_actual", "must not be negative");
    }
    f.check("budget_fen", AmountFen::parse_non_negative(c.budget_fen));
    if let (Some(start), Some(end)) = (c.start_on, c.end_on)
        && end < start
    {
        f.push("end_on", "must not be before start_on");
    }
}

fn long_text(text: &str) -> Result<String, String> {
    records::long_text(text, TEXT_MAX)
}

/// The responsible contact must exist and be one the caller may read.
async fn check_contact(
    db: &impl ConnectionTrait,
    scope: &Scope,
    f: &mut Fields,
    id: Option<Uuid>,
) -> Result<()> {
    let Some(id) = id else {
        return Ok(());
    };
    let found = contact::Entity::find_by_id(id)
        .filter(contact::Column::DeletedAt.is_null())
        .one(db)
        .await?;
    if !found.is_some_and(|c| scope.can_read_org(c.org_id)) {
        f.push("responsible_contact_id", "no such contact");
    }
    Ok(())
}

async fn code_taken(db: &impl ConnectionTrait, code: &str, except: Option<Uuid>) -> Result<bool> {
    let mut q = project::Entity::find().filter(project::Column::Code.eq(code));
    if let Some(id) = except {
        q = q.filter(project::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> Result<ProjectView> {
    kernel::get::<Projects>(ctx, actor, id).await
}

/// Whether a list sums each project's money (its five totals).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Money {
    Summed,
    /// Not asked for: the totals read 0. For a GraphQL selection that names none of them; half
    /// of what PostgreSQL spends on a page of projects is summing their fund transactions.
    NotAsked,
}

pub async fn list(ctx: &AppCtx, actor: &Actor, q: ProjectQuery) -> Result<Page<ProjectView>> {
    list_with(ctx, actor, q, Money::Summed).await
}

pub async fn list_with(
    ctx: &AppCtx,
    actor: &Actor,
    q: ProjectQuery,
    money: Money,
) -> Result<Page<ProjectView>> {
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    // A quarter narrows projects to those starting in it; the year alone is the project's year.
    let starting = match q.quarter {
        Some(_) => period_filter(&mut f, q.year, q.quarter),
        None => Some(None),
    };
    f.instant("updated_since", q.updated_since);
    f.finish()?;
    let (args, starting) = (checked(args)?, checked(starting)?);
    use project::Column as C;
    let backend = ctx.db.get_database_backend();
    let mut select = match money {
        Money::Summed => kernel::visible::<Projects>(backend, actor.scope()),
        Money::NotAsked => kernel::visible_in::<Projects>(without_totals(), actor.scope()),
    };
    if let Some(v) = q.org_id {
        select = select.filter(C::OwnerOrgId.eq(v));
    }
    if let Some(v) = q.pairing_id {
        select = select.filter(C::PairingId.eq(v));
    }
    if let Some(v) = q.year {
        select = select.filter(C::Year.eq(v));
    }
    if let Some((from, to)) = starting {
        select = select.filter(C::StartOn.between(from, to));
    }
    if let Some(v) = q.status {
        select = select.filter(C::Status.eq(v.as_str()));
    }
    if let Some(v) = q.category {
        select = select.filter(C::Category.eq(v.as_str()));
    }
    if let Some(v) = q.deep_poverty {
        select = select.filter(C::DeepPoverty.eq(v));
    }
    if let Some(v) = q.code {
        select = select.filter(C::Code.eq(v));
    }
    if let Some(v) = q.external_id {
        select = select.filter(C::ExternalId.eq(v));
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        select = select
            .filter(Expr::col(C::Title).like(LikeExpr::new(format!("%{escaped}%")).escape('\\')));
    }
    if let Some(v) = q.updated_since {
        select = select.filter(C::UpdatedAt.gte(v));
    }
    kernel::page::<Projects>(ctx, actor, select, args).await
}

/// Batch read for GraphQL loaders.
pub async fn get_many(
    ctx: &AppCtx,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, ProjectView>> {
    kernel::get_many::<Projects>(ctx, actor, ids).await
}

/// Batch read for GraphQL loaders: readable projects of each pairing, in id order.
pub async fn of_pairings(
    ctx: &AppCtx,
    actor: &Actor,
    pairing_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<ProjectView>>> {
    kernel::children::<Projects>(
        ctx,
        actor,
        project::Column::PairingId,
        |r| Some(r.project.pairing_id),
        pairing_ids,
    )
    .await
}

/// Batch read for GraphQL loaders: readable projects each organization recorded.
pub async fn of_owners(
    ctx: &AppCtx,
    actor: &Actor,
    org_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<ProjectView>>> {
    kernel::children::<Projects>(
        ctx,
        actor,
        project::Column::OwnerOrgId,
        |r| Some(r.project.owner_org_id),
        org_ids,
    )
    .await
}

pub async fn create(ctx: &AppCtx, actor: &Actor, input: NewProject) -> Result<ProjectView> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    let mut f = Fields::new();
    let pair = pairing::Entity::find_by_id(input.pairing_id)
        .filter(pairing::Column::DeletedAt.is_null())
        .one(&tx)
        .await?
        .filter(|p| scope.can_read_pairing(p.id));
    let Some(pair) = pair else {
        f.push("pairing_id", "no such pairing");
        return Err(f.finish().err().unwrap_or(AppError::NotFound));
    };
    // Projects are the western side's needs: the admin records them for the west org.
    let owner_org = match (actor.role, actor.org_id) {
        (Role::Admin, _) | (_, None) => pair.west_org_id,
        (_, Some(org)) => org,
    };
    let owner = kernel::owner(&dir, &tx, owner_org).await?;
    ensure_write(actor, scope, RecordKind::Project, owner)?;
    let content = Content::of(&input);
    check_content(&mut f, &content);
    check_contact(&tx, scope, &mut f, input.responsible_contact_id).await?;
    let external = external_id(&mut f, input.external_id.as_deref());
    f.finish()?;
    kernel::ensure_external_free::<Projects>(
        &tx,
        actor,
        owner_org,
        external.clone().flatten().as_deref(),
    )
    .await?;
    if code_taken(&tx, &content.code, None).await? {
        return Err(AppError::conflict(
            "code",
            format!("project code {} is already taken", content.code),
        ));
    }
    let at = now();
    let inserted = project::Entity::insert(project::ActiveModel {
        id: Set(Uuid::now_v7()),
        status: Set(ProjectStatus::Proposed.as_str().into()),
        version: Set(1),
        owner_org_id: Set(owner_org),
        external_id: Set(checked(external)?),
        created_at: Set(at),
        updated_at: Set(at),
        ..content_columns(&input, &content)
    })
    .exec_with_returning(&tx)
    .await?;
    let row = ProjectRow {
        project: inserted,
        pledged_fen: 0,
        transferred_fen: 0,
        arrived_fen: 0,
        spent_fen: 0,
        refunded_fen: 0,
    };
    kernel::created::<Projects>(tx, actor, row).await
}

/// What a sync batch of projects names, read once: the pairings and responsible contacts the
/// caller may read, the stored projects holding the batch's codes, the codes several items use.
pub struct Named {
    pairings: HashMap<Uuid, pairing::Model>,
    contacts: HashSet<Uuid>,
    holders: HashMap<String, Vec<Uuid>>,
    repeated: HashSet<String>,
}

/// A sync item checked: its input, and its content as it will be stored.
pub struct Checked {
    input: NewProject,
    content: Content,
}

/// Batch sync (`POST /sync/project`): the rules of [`create`] for a new project; for a stored
/// one those of [`update`] on its content (its status and actual beneficiaries stay, a verified
/// project does not change, none moves to another pairing).
impl sync::Synced for Projects {
    type Input = NewProject;
    type Item = Checked;
    type Lookup = Named;

    fn external_id(input: &NewProject) -> Option<&str> {
        input.external_id.as_deref()
    }

    async fn lookup(tx: &WriteTx, actor: &Actor, inputs: &[NewProject]) -> Result<Named> {
        let scope = actor.scope();
        let pairings = readable_pairings(tx, scope, inputs.iter().map(|i| i.pairing_id)).await?;
        let contact_ids: HashSet<Uuid> = inputs
            .iter()
            .filter_map(|i| i.responsible_contact_id)
            .collect();
        let mut contacts = HashSet::new();
        if !contact_ids.is_empty() {
            contacts = contact::Entity::find()
                .select_only()
                .columns([contact::Column::Id, contact::Column::OrgId])
                .filter(contact::Column::Id.is_in(contact_ids))
                .filter(contact::Column::DeletedAt.is_null())
                .into_tuple::<(Uuid, Uuid)>()
                .all(tx)
                .await?
                .into_iter()
                .filter(|(_, org)| scope.can_read_org(*org))
                .map(|(id, _)| id)
                .collect();
        }
        let mut uses: HashMap<String, usize> = HashMap::new();
        for input in inputs {
            *uses.entry(input.code.trim().to_string()).or_default() += 1;
        }
        // Every stored project, deleted ones too: a code is never given twice.
        let codes: Vec<&String> = uses.keys().collect();
        let mut holders: HashMap<String, Vec<Uuid>> = HashMap::new();
        for chunk in codes.chunks(sync::CHUNK) {
            let held = project::Entity::find()
                .select_only()
                .columns([project::Column::Id, project::Column::Code])
                .filter(project::Column::Code.is_in(chunk.iter().map(|c| c.as_str())))
                .into_tuple::<(Uuid, String)>()
                .all(tx)
                .await?;
            for (id, code) in held {
                holders.entry(code).or_default().push(id);
            }
        }
        let repeated = uses
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(code, _)| code)
            .collect();
        Ok(Named {
            pairings,
            contacts,
            holders,
            repeated,
        })
    }

    /// As [`create`]: the caller's organization; the pairing's western side for the admin.
    fn owner_org(actor: &Actor, named: &Named, input: &NewProject) -> Uuid {
        match (actor.role, actor.org_id) {
            (Role::Admin, _) | (_, None) => named
                .pairings
                .get(&input.pairing_id)
                .map_or(Uuid::nil(), |p| p.west_org_id),
            (_, Some(org)) => org,
        }
    }

    fn check(_: &Actor, named: &Named, input: NewProject, f: &mut Fields) -> Option<Checked> {
        if !named.pairings.contains_key(&input.pairing_id) {
            f.push("pairing_id", "no such pairing");
        }
        let content = Content::of(&input);
        check_content(f, &content);
        if named.repeated.contains(&content.code) {
            f.push("code", "is used by more than one item of the batch");
        }
        if let Some(c) = input.responsible_contact_id
            && !named.contacts.contains(&c)
        {
            f.push("responsible_contact_id", "no such contact");
        }
        Some(Checked { input, content })
    }

    fn check_stored(named: &Named, stored: Option<&ProjectRow>, item: &Checked, f: &mut Fields) {
        let id = stored.map(|s| s.project.id);
        let code = &item.content.code;
        if named
            .holders
            .get(code)
            .is_some_and(|held| held.iter().any(|p| Some(*p) != id))
        {
            f.push("code", format!("project code {code} is already taken"));
        }
        let Some(stored) = stored else { return };
        if stored.project.status == ProjectStatus::Verified.as_str() {
            f.push(
                "external_id",
                "names a verified project: nothing about it can change",
            );
        }
        if stored.project.pairing_id != item.input.pairing_id {
            f.push(
                "pairing_id",
                "differs from the stored project's, which cannot move: delete it and sync a \
                 new one",
            );
        }
    }

    fn same(stored: &ProjectRow, item: &Checked) -> bool {
        let (m, i, c) = (&stored.project, &item.input, &item.content);
        m.code == c.code
            && m.year == c.year
            && m.title == c.title
            && m.category == i.category.as_str()
            && m.pairing_id == i.pairing_id
            && m.basis == c.basis
            && m.items == serde_json::json!(c.items)
            && m.quantity == c.quantity
            && m.measures == c.measures
            && m.deep_poverty == i.deep_poverty
            && m.beneficiaries_planned == c.beneficiaries_planned
            && m.budget_fen == c.budget_fen
            && m.responsible_contact_id == i.responsible_contact_id
            && m.start_on == c.start_on
            && m.end_on == c.end_on
            && m.milestones == serde_json::json!(c.milestones)
    }

    /// A stored project keeps its status and `beneficiaries_actual`.
    fn content(item: &Checked) -> project::ActiveModel {
        content_columns(&item.input, &item.content)
    }

    /// A new project is `proposed`.
    fn new_content(item: &Checked) -> project::ActiveModel {
        project::ActiveModel {
            status: Set(ProjectStatus::Proposed.as_str().into()),
            ..content_columns(&item.input, &item.content)
        }
    }
}

/// Batch sync (`POST /sync/project`): each item created, updated or left unchanged by its
/// owner's `external_id`; all in one transaction or none.
pub async fn sync(
    ctx: &AppCtx,
    actor: &Actor,
    items: Vec<NewProject>,
) -> Result<sync::SyncResponse> {
    sync::run::<Projects>(ctx, actor, items).await
}

/// Checks a status change against the lifecycle and the money behind it.
fn check_transition(
    actor: &Actor,
    from: ProjectStatus,
    to: ProjectStatus,
    money: &Totals,
) -> Result<()> {
    if from == to {
        return Ok(());
    }
    let refuse = |detail: String| Err(AppError::InvalidTransition { detail });
    if !from.can_become(to) {
        return refuse(format!(
            "a {} project cannot become {}",
            from.as_str(),
            to.as_str()
        ));
    }
    match to {
        ProjectStatus::Funded if money.pledged_fen.0 == 0 => {
            refuse("no money has been pledged for this project yet".into())
        }
        // 根据东部协作省份经费到位情况及时启动: start only once money has arrived.
        ProjectStatus::InProgress if money.arrived_fen.0 == 0 => {
            refuse("no money has arrived for this project yet".into())
        }
        ProjectStatus::Verified if !authz::can_verify(actor) => Err(AppError::Forbidden),
        _ => Ok(()),
    }
}

pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: ProjectPatch,
) -> Result<ProjectView> {
    let change = kernel::change::<Projects>(ctx, actor, id, expected_version).await?;
    let totals = change.current.totals();
    let before = &change.before;
    if before.status == ProjectStatus::Verified {
        return Err(AppError::InvalidTransition {
            detail: "the project is verified: nothing about it can change".into(),
        });
    }
    let status = patch.status.unwrap_or(before.status);
    check_transition(actor, before.status, status, &totals)?;

    let mut f = Fields::new();
    let quantity = patch_nullable(
        &mut f,
        "quantity",
        &patch.quantity,
        before.quantity.clone(),
        |q| long_text(q),
    );
    let actual = patch_nullable(
        &mut f,
        "beneficiaries_actual",
        &patch.beneficiaries_actual,
        before.beneficiaries_actual,
        |n| Ok(*n),
    );
    let contact = patch_nullable(
        &mut f,
        "responsible_contact_id",
        &patch.responsible_contact_id,
        before.responsible_contact_id,
        |c| Ok(*c),
    );
    let start_on = patch_nullable(&mut f, "start_on", &patch.start_on, before.start_on, |d| {
        Ok(*d)
    });
    let end_on = patch_nullable(&mut f, "end_on", &patch.end_on, before.end_on, |d| Ok(*d));
    let external = patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        before.external_id.clone(),
        |e| Text::parse(e, records::EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    let content = Content {
        code: patch
            .code
            .as_deref()
            .map_or(before.code.clone(), |c| c.trim().to_string()),
        year: patch.year.unwrap_or(before.year),
        title: patch
            .title
            .as_deref()
            .map_or(before.title.clone(), |t| t.trim().to_string()),
        basis: patch
            .basis
            .as_deref()
            .map_or(before.basis.clone(), |t| t.trim().to_string()),
        measures: patch
            .measures
            .as_deref()
            .map_or(before.measures.clone(), |t| t.trim().to_string()),
        quantity: quantity.clone().flatten(),
        items: patch.items.clone().unwrap_or_else(|| before.items.clone()),
        milestones: patch
            .milestones
            .clone()
            .unwrap_or_else(|| before.milestones.clone()),
        beneficiaries_planned: patch
            .beneficiaries_planned
            .unwrap_or(before.beneficiaries_planned),
        beneficiaries_actual: actual.flatten(),
        budget_fen: patch.budget_fen.map_or(before.budget_fen.0, |f| f.0),
        start_on: start_on.flatten(),
        end_on: end_on.flatten(),
    };
    check_content(&mut f, &content);
    check_contact(&change.tx, actor.scope(), &mut f, contact.flatten()).await?;
    f.finish()?;
    if content.code != before.code && code_taken(&change.tx, &content.code, Some(id)).await? {
        return Err(AppError::conflict(
            "code",
            format!("project code {} is already taken", content.code),
        ));
    }
    let json =
        |v: serde_json::Result<serde_json::Value>| v.map_err(|e| AppError::Internal(e.into()));
    let mut model: project::ActiveModel = change.current.project.clone().into();
    model.code = Set(content.code);
    model.year = Set(content.year);
    model.title = Set(content.title);
    model.basis = Set(content.basis);
    model.measures = Set(content.measures);
    model.quantity = Set(content.quantity);
    model.items = Set(json(serde_json::to_value(&content.items))?);
    model.milestones = Set(json(serde_json::to_value(&content.milestones))?);
    model.beneficiaries_planned = Set(content.beneficiaries_planned);
    model.beneficiaries_actual = Set(content.beneficiaries_actual);
    model.budget_fen = Set(content.budget_fen);
    model.responsible_contact_id = Set(checked(contact)?);
    model.start_on = Set(content.start_on);
    model.end_on = Set(content.end_on);
    model.external_id = Set(checked(external)?);
    model.status = Set(status.as_str().into());
    if let Some(c) = patch.category {
        model.category = Set(c.as_str().into());
    }
    if let Some(d) = patch.deep_poverty {
        model.deep_poverty = Set(d);
    }
    change.save(model).await
}

pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> Result<()> {
    let change = kernel::change::<Projects>(ctx, actor, id, expected_version).await?;
    let (before, totals) = (&change.before, change.current.totals());
    if before.status == ProjectStatus::Verified {
        return Err(AppError::InvalidTransition {
            detail: "the project is verified: it cannot be deleted".into(),
        });
    }
    if totals != Totals::default() {
        return Err(AppError::in_use(
            "the project has fund transactions; delete or move them first",
        ));
    }
    change.delete().await
}
