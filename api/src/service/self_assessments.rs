//! Self-assessments (自评), as the national method for east–west cooperation (2017, trial) has
//! each side write one at year end: a federation's account of its year, **drafted from the
//! computed indicators** ([`super::assessments`]), **sent to its eastern partner**, who records
//! its **opinion** (agree, or a comment), and then **submitted**. Each step keeps who took it
//! and when.
//!
//! - One per organization and year. The organization's writers (its editors and those above
//!   it, a coordinator, an admin) draft, edit, send and submit it; the eastern side of its
//!   pairing (a partner of that organization, or an admin) gives the opinion.
//! - The indicators are recomputed on every change of the draft and when it is sent; from then
//!   on they are frozen (canonical JSON with its SHA-256), since they are what the partner saw.
//! - Read as a record on the pairing: the organization's subtree, the partner, and the roles
//!   that read everything.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::self_assessment;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Select,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page,
    assessments::{self, Assessment},
    kernel::{self, Columns, Readable, Record},
    now,
    records::{PageArgs, long_text},
};
use crate::{
    authz::{Actor, RecordKind, ensure_write},
    domain::{Fields, Region, Role, calendar::SETTABLE_YEARS, checked},
    error::{AppError, AppResult},
};

crate::domain::names!(
    /// Where a self-assessment stands.
    SelfAssessmentStatus {
        Draft => "draft",
        Sent => "sent",
        OpinionGiven => "opinion_given",
        Submitted => "submitted",
    }
);

crate::domain::names!(
    /// The partner's opinion: it agrees, or it comments.
    Opinion {
        Agree => "agree",
        Comment => "comment",
    }
);

pub const SUMMARY_MAX: usize = 10_000;
pub const COMMENT_MAX: usize = 2_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "SelfAssessment")]
pub struct SelfAssessmentView {
    pub id: Uuid,
    /// The organization assessed.
    pub org_id: Uuid,
    pub year: i32,
    pub pairing_id: Uuid,
    /// The eastern side of the pairing, whose opinion is asked.
    pub partner_org_id: Uuid,
    pub status: SelfAssessmentStatus,
    /// The organization's own account of its year.
    pub summary: String,
    /// The computed indicators the account rests on (as of the last change of the draft, then
    /// as sent).
    pub indicators: Assessment,
    /// SHA-256 of the indicators' canonical JSON.
    pub indicators_sha256: String,
    pub drafted_by: Uuid,
    pub sent_by: Option<Uuid>,
    pub sent_at: Option<DateTime<Utc>>,
    pub opinion: Option<Opinion>,
    pub opinion_comment: Option<String>,
    pub opinion_by: Option<Uuid>,
    pub opinion_at: Option<DateTime<Utc>>,
    pub submitted_by: Option<Uuid>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewSelfAssessmentInput")]
pub struct NewSelfAssessment {
    pub org_id: Uuid,
    pub year: i32,
    pub summary: String,
    /// The pairing whose eastern side gives its opinion; needed only when the organization has
    /// more than one.
    #[serde(default)]
    pub pairing_id: Option<Uuid>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "SelfAssessmentPatchInput")]
pub struct SelfAssessmentPatch {
    /// The new account; absent keeps it. Either way the indicators are computed again.
    #[serde(default)]
    pub summary: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "SelfAssessmentOpinionInput")]
pub struct OpinionInput {
    pub opinion: Opinion,
    /// Required with `comment`.
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "SelfAssessmentFilter")]
pub struct SelfAssessmentQuery {
    pub org_id: Option<Uuid>,
    pub pairing_id: Option<Uuid>,
    pub year: Option<i32>,
    pub status: Option<SelfAssessmentStatus>,
    pub updated_since: Option<DateTime<Utc>>,
    /// Page size, 1–500 (default 50).
    #[graphql(skip)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[graphql(skip)]
    pub cursor: Option<String>,
}

/// A stored self-assessment and the eastern side of its pairing, read by one statement.
#[derive(Clone, Debug, sea_orm::FromQueryResult)]
pub struct SelfAssessmentRow {
    #[sea_orm(nested)]
    pub model: self_assessment::Model,
    pub partner_org_id: Uuid,
}

pub struct SelfAssessments;

impl Record for SelfAssessments {
    type Entity = self_assessment::Entity;
    type Row = SelfAssessmentRow;
    type View = SelfAssessmentView;
    const KIND: RecordKind = RecordKind::SelfAssessment;

    fn columns() -> Columns<self_assessment::Column> {
        use self_assessment::Column as C;
        kernel::record_columns!(C, Readable::Record(Some(C::PairingId)))
    }

    fn select(_: DbBackend) -> Select<self_assessment::Entity> {
        self_assessment::Entity::find().column_as(
            sea_orm::sea_query::Expr::cust(
                "(SELECT p.east_org_id FROM pairings p WHERE p.id = self_assessments.pairing_id)",
            ),
            "partner_org_id",
        )
    }

    fn model(row: &SelfAssessmentRow) -> &self_assessment::Model {
        &row.model
    }

    fn view(_: &Actor, row: SelfAssessmentRow) -> AppResult<SelfAssessmentView> {
        let m = row.model;
        let indicators: Assessment = serde_json::from_str(&m.indicators)
            .map_err(|e| AppError::internal(format!("stored indicators of {}: {e}", m.id)))?;
        Ok(SelfAssessmentView {
            id: m.id,
            org_id: m.owner_org_id,
            year: m.year,
            pairing_id: m.pairing_id,
            partner_org_id: row.partner_org_id,
            status: SelfAssessmentStatus::from_db(&m.status)?,
            summary: m.summary,
            indicators,
            indicators_sha256: m.indicators_sha256,
            drafted_by: m.drafted_by,
            sent_by: m.sent_by,
            sent_at: m.sent_at,
            opinion: m.opinion.as_deref().map(Opinion::from_db).transpose()?,
            opinion_comment: m.opinion_comment,
            opinion_by: m.opinion_by,
            opinion_at: m.opinion_at,
            submitted_by: m.submitted_by,
            submitted_at: m.submitted_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<SelfAssessmentView> {
    kernel::get::<SelfAssessments>(ctx, actor, id).await
}

pub async fn list(
    ctx: &AppCtx,
    actor: &Actor,
    q: SelfAssessmentQuery,
) -> AppResult<Page<SelfAssessmentView>> {
    use self_assessment::Column as C;
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.instant("updated_since", q.updated_since);
    f.finish()?;
    let args = checked(args)?;
    let mut select =
        kernel::visible::<SelfAssessments>(ctx.db.get_database_backend(), actor.scope());
    if let Some(org) = q.org_id {
        select = select.filter(C::OwnerOrgId.eq(org));
    }
    if let Some(p) = q.pairing_id {
        select = select.filter(C::PairingId.eq(p));
    }
    if let Some(year) = q.year {
        select = select.filter(C::Year.eq(year));
    }
    if let Some(status) = q.status {
        select = select.filter(C::Status.eq(status.as_str()));
    }
    if let Some(since) = q.updated_since {
        select = select.filter(C::UpdatedAt.gte(since));
    }
    kernel::page::<SelfAssessments>(ctx, actor, select, args).await
}

/// The assessment of `org_id` for `year` as canonical JSON and its SHA-256.
async fn indicators(
    ctx: &AppCtx,
    actor: &Actor,
    org_id: Uuid,
    year: i32,
) -> AppResult<(String, String)> {
    super::canonical_json(&assessments::get(ctx, actor, org_id, year).await?)
}

pub async fn create(
    ctx: &AppCtx,
    actor: &Actor,
    input: NewSelfAssessment,
) -> AppResult<SelfAssessmentView> {
    let dir = ctx.directory.get(&ctx.db).await?;
    let (owner, found) = kernel::new_owner(&dir, actor, input.org_id);
    ensure_write(actor, actor.scope(), RecordKind::SelfAssessment, owner)?;
    let mut f = Fields::new();
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
    let summary = f.check("summary", long_text(&input.summary, SUMMARY_MAX));
    let mut pairing_id = None;
    if !found {
        f.push("org_id", "no such organization");
    } else if owner.region != Region::West {
        f.push(
            "org_id",
            "self-assessments here are the western side's, with the eastern partner's opinion",
        );
    } else {
        let own: Vec<Uuid> = dir
            .live_pairings_of(input.org_id)
            .filter(|p| p.west_org_id == input.org_id)
            .map(|p| p.id)
            .collect();
        match (input.pairing_id, own.as_slice()) {
            (Some(p), _) if own.contains(&p) => pairing_id = Some(p),
            (Some(_), _) => f.push("pairing_id", "not a pairing of this organization"),
            (None, [only]) => pairing_id = Some(*only),
            (None, []) => f.push(
                "org_id",
                "the organization has no eastern partner to give an opinion",
            ),
            (None, many) => f.push(
                "pairing_id",
                format!("is required: the organization has {} pairings", many.len()),
            ),
        }
    }
    f.finish()?;
    let (summary, pairing_id) = (checked(summary)?, checked(pairing_id)?);
    let (text, sha256) = indicators(ctx, actor, input.org_id, input.year).await?;

    let tx = ctx.begin_write().await?;
    let existing: Option<Uuid> = self_assessment::Entity::find()
        .select_only()
        .column(self_assessment::Column::Id)
        .filter(self_assessment::Column::OwnerOrgId.eq(input.org_id))
        .filter(self_assessment::Column::Year.eq(input.year))
        .into_tuple()
        .one(&tx)
        .await?;
    if let Some(existing) = existing {
        return Err(AppError::Conflict {
            code: "duplicate",
            field: Some("year".into()),
            detail: format!(
                "the organization already has a self-assessment for {}: change that one",
                input.year
            ),
            existing_id: Some(existing),
        });
    }
    let at = now();
    let model = self_assessment::Entity::insert(self_assessment::ActiveModel {
        id: Set(Uuid::now_v7()),
        year: Set(input.year),
        pairing_id: Set(pairing_id),
        status: Set(SelfAssessmentStatus::Draft.as_str().into()),
        summary: Set(summary),
        indicators: Set(text),
        indicators_sha256: Set(sha256),
        drafted_by: Set(actor.id),
        sent_by: Set(None),
        sent_at: Set(None),
        opinion: Set(None),
        opinion_comment: Set(None),
        opinion_by: Set(None),
        opinion_at: Set(None),
        submitted_by: Set(None),
        submitted_at: Set(None),
        version: Set(1),
        owner_org_id: Set(input.org_id),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_with_returning(&tx)
    .await?;
    let partner_org_id = dir
        .live_pairing(pairing_id)
        .map(|p| p.east_org_id)
        .ok_or_else(|| AppError::internal("the pairing checked above is gone"))?;
    let row = SelfAssessmentRow {
        model,
        partner_org_id,
    };
    kernel::created::<SelfAssessments>(tx, actor, row).await
}

/// The indicators of self-assessment `id`, computed now, for a caller allowed to change it
/// (checked first, so that a caller who may only read it is told so, not shown figures). They
/// are computed before the change's transaction opens: the computation reads on its own
/// connection.
async fn fresh_indicators(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<(String, String)> {
    let current = get(ctx, actor, id).await?;
    let dir = ctx.directory.get(&ctx.db).await?;
    let owner = kernel::owner(&dir, &ctx.db, current.org_id).await?;
    ensure_write(actor, actor.scope(), RecordKind::SelfAssessment, owner)?;
    indicators(ctx, actor, current.org_id, current.year).await
}

fn expect_status(
    current: SelfAssessmentStatus,
    wanted: SelfAssessmentStatus,
    step: &str,
) -> AppResult<()> {
    if current == wanted {
        return Ok(());
    }
    Err(AppError::InvalidTransition {
        detail: format!(
            "a self-assessment that is {} cannot be {step}; it must be {}",
            current.as_str(),
            wanted.as_str()
        ),
    })
}

/// Changes the draft's account, and computes its indicators again.
pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: SelfAssessmentPatch,
) -> AppResult<SelfAssessmentView> {
    let (text, sha256) = fresh_indicators(ctx, actor, id).await?;
    let change = kernel::change::<SelfAssessments>(ctx, actor, id, expected_version).await?;
    expect_status(change.before.status, SelfAssessmentStatus::Draft, "edited")?;
    let mut f = Fields::new();
    let summary = f.check_opt("summary", patch.summary.as_deref(), |s| {
        long_text(s, SUMMARY_MAX)
    });
    f.finish()?;
    let mut model = <self_assessment::ActiveModel as sea_orm::ActiveModelTrait>::default();
    if let Some(summary) = checked(summary)? {
        model.summary = Set(summary);
    }
    model.indicators = Set(text);
    model.indicators_sha256 = Set(sha256);
    change.save(model).await
}

/// Sends the draft to the partner, with its indicators computed one last time.
pub async fn send(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<SelfAssessmentView> {
    let (text, sha256) = fresh_indicators(ctx, actor, id).await?;
    let change = kernel::change::<SelfAssessments>(ctx, actor, id, expected_version).await?;
    expect_status(change.before.status, SelfAssessmentStatus::Draft, "sent")?;
    let mut model = <self_assessment::ActiveModel as sea_orm::ActiveModelTrait>::default();
    model.status = Set(SelfAssessmentStatus::Sent.as_str().into());
    model.indicators = Set(text);
    model.indicators_sha256 = Set(sha256);
    model.sent_by = Set(Some(actor.id));
    model.sent_at = Set(Some(now()));
    change.save(model).await
}

/// The partner's opinion on a self-assessment sent to it.
pub async fn give_opinion(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    input: OpinionInput,
) -> AppResult<SelfAssessmentView> {
    let change =
        kernel::change_with::<SelfAssessments>(ctx, actor, id, expected_version, |_, row| {
            let partner = actor.role == Role::Partner && actor.org_id == Some(row.partner_org_id);
            if partner || actor.role == Role::Admin {
                Ok(())
            } else {
                Err(AppError::Forbidden)
            }
        })
        .await?;
    expect_status(
        change.before.status,
        SelfAssessmentStatus::Sent,
        "given an opinion",
    )?;
    let mut f = Fields::new();
    let comment = f.check_opt("comment", input.comment.as_deref(), |c| {
        long_text(c, COMMENT_MAX)
    });
    if input.opinion == Opinion::Comment && input.comment.is_none() {
        f.push("comment", "is required with the opinion comment");
    }
    f.finish()?;
    let mut model = <self_assessment::ActiveModel as sea_orm::ActiveModelTrait>::default();
    model.status = Set(SelfAssessmentStatus::OpinionGiven.as_str().into());
    model.opinion = Set(Some(input.opinion.as_str().into()));
    model.opinion_comment = Set(checked(comment)?);
    model.opinion_by = Set(Some(actor.id));
    model.opinion_at = Set(Some(now()));
    change.save(model).await
}

/// Submits a self-assessment the partner has given its opinion on.
pub async fn submit(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<SelfAssessmentView> {
    let change = kernel::change::<SelfAssessments>(ctx, actor, id, expected_version).await?;
    expect_status(
        change.before.status,
        SelfAssessmentStatus::OpinionGiven,
        "submitted",
    )?;
    let mut model = <self_assessment::ActiveModel as sea_orm::ActiveModelTrait>::default();
    model.status = Set(SelfAssessmentStatus::Submitted.as_str().into());
    model.submitted_by = Set(Some(actor.id));
    model.submitted_at = Set(Some(now()));
    change.save(model).await
}
