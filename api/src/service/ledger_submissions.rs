//! Ledger submissions (台账报送, DESIGN §2, §7): an organization's quarterly ledger, due on the
//! fifth working day after its quarter, or its year's materials, due 1 December, frozen when
//! submitted.
//!
//! - **The snapshot.** Submitting computes the ledger ([`super::ledgers`]) and stores it as
//!   canonical JSON (RFC 8785: sorted keys, no spaces, one spelling per number), so that the same
//!   ledger always gives the same bytes; `sha256` is the SHA-256 of exactly those bytes, and
//!   `GET …/snapshot` serves them unchanged.
//! - **On time or late.** `due_on` comes from the working-day calendar; `on_time` compares the
//!   submission instant with 23:59:59 Asia/Shanghai of that day. A late ledger is flagged, never
//!   refused. While the calendar does not hold the year the count runs into (2026 Q4 runs into
//!   2027), both are null, and they are filled in when an admin sets that year.
//! - **Numbers.** Each submission of one organization and period takes the next `number`;
//!   earlier ones stay as they were, readable. Only the latest may be reviewed.
//! - **Review.** The province office (coordinator, or admin) accepts a `submitted` ledger or
//!   returns it with a comment; either is final for that number. A returned ledger is corrected
//!   and submitted again.
//! - **Frozen evidence.** The evidence a snapshot lists can no longer be changed or deleted
//!   ([`ensure_not_frozen`]): the snapshot names its files by id and SHA-256, and they must stay
//!   what the snapshot says.
//! - **Who.** A submission is read as a record of the organization's own (its subtree and the
//!   roles that read everything; partners do not read the western side's ledgers whole). It is
//!   submitted by an editor of the organization or above it in the tree, a coordinator or an
//!   admin, for a western organization.

use std::collections::HashMap;

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{evidence, ledger_submission, ledger_submission_evidence};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page, WriteTx, calendar, changes,
    kernel::{self, Columns, Readable, Record},
    ledgers, now,
    records::{PageArgs, long_text},
};
use crate::{
    authz::{self, Actor, RecordKind, ensure_write},
    domain::{Fields, Region, calendar as days, checked},
    error::{AppError, AppResult},
};

crate::domain::names!(
    /// Where a submission stands: `submitted` until the province office reviews it, then
    /// `accepted` or `returned`.
    SubmissionStatus {
        Submitted => "submitted",
        Accepted => "accepted",
        Returned => "returned",
    }
);

crate::domain::names!(
    /// The province office's answer to a submission.
    ReviewDecision {
        Accepted => "accepted",
        Returned => "returned",
    }
);

pub const COMMENT_MAX: usize = 2000;

/// A ledger submission as the API shows it (the snapshot itself is served apart).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "LedgerSubmission", complex)]
pub struct LedgerSubmissionView {
    pub id: Uuid,
    /// The organization whose ledger it is.
    pub org_id: Uuid,
    pub year: i32,
    /// 1–4; null for the year's materials.
    pub quarter: Option<i32>,
    /// 1, 2, … per organization and period: a resubmission takes the next.
    pub number: i32,
    /// The fifth working day after the quarter, or 1 December for the year's materials; null
    /// until the calendar holds the year the count runs into.
    pub due_on: Option<NaiveDate>,
    pub submitted_at: DateTime<Utc>,
    /// The user or service account that submitted it.
    pub submitted_by: Uuid,
    /// Submitted by 23:59:59 Asia/Shanghai of `due_on`; null while `due_on` is.
    pub on_time: Option<bool>,
    /// SHA-256 (lower-case hex) of the snapshot's bytes.
    pub sha256: String,
    /// The snapshot's size in bytes.
    pub snapshot_bytes: i64,
    /// How many gaps the ledger had when submitted.
    pub gaps: i32,
    pub status: SubmissionStatus,
    /// The reviewer's comment (required when returned).
    pub review_comment: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reviewed_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What to submit: an organization's ledger of one quarter, or (no `quarter`) its year's
/// materials.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewLedgerSubmissionInput")]
pub struct NewLedgerSubmission {
    pub org_id: Uuid,
    pub year: i32,
    /// 1–4; absent or null for the year's materials.
    #[serde(default)]
    pub quarter: Option<i32>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "LedgerReviewInput")]
pub struct LedgerReview {
    pub decision: ReviewDecision,
    /// Required when returning the ledger: what to correct.
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "LedgerSubmissionFilter")]
pub struct LedgerSubmissionQuery {
    pub org_id: Option<Uuid>,
    pub year: Option<i32>,
    /// 1–4: that quarter's ledgers.
    pub quarter: Option<i32>,
    /// `true`: the year's materials only; `false`: quarterly ledgers only.
    pub annual: Option<bool>,
    pub status: Option<SubmissionStatus>,
    pub updated_since: Option<DateTime<Utc>>,
    /// Page size, 1–500 (default 50).
    #[graphql(skip)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[graphql(skip)]
    pub cursor: Option<String>,
}

/// The quarter column's value for the year's materials.
const ANNUAL: i32 = 0;

pub struct LedgerSubmissions;

impl Record for LedgerSubmissions {
    type Entity = ledger_submission::Entity;
    type Row = ledger_submission::Model;
    type View = LedgerSubmissionView;
    const KIND: RecordKind = RecordKind::LedgerSubmission;

    fn columns() -> Columns<ledger_submission::Column> {
        use ledger_submission::Column as C;
        kernel::record_columns!(C, Readable::Record(None))
    }

    /// Every column but the snapshot, which only `snapshot` reads.
    fn select(_: DbBackend) -> Select<ledger_submission::Entity> {
        use ledger_submission::Column as C;
        ledger_submission::Entity::find()
            .select_only()
            .columns([
                C::Id,
                C::Year,
                C::Quarter,
                C::Number,
                C::DueOn,
                C::SubmittedAt,
                C::SubmittedBy,
                C::OnTime,
                C::Sha256,
                C::SnapshotBytes,
                C::Gaps,
                C::Status,
                C::ReviewComment,
                C::ReviewedAt,
                C::ReviewedBy,
                C::Version,
                C::OwnerOrgId,
                C::CreatedAt,
                C::UpdatedAt,
                C::DeletedAt,
            ])
            .expr_as(sea_orm::sea_query::Expr::val(""), "snapshot")
    }

    fn model(row: &ledger_submission::Model) -> &ledger_submission::Model {
        row
    }

    fn view(_: &Actor, m: ledger_submission::Model) -> AppResult<LedgerSubmissionView> {
        Ok(LedgerSubmissionView {
            id: m.id,
            org_id: m.owner_org_id,
            year: m.year,
            quarter: (m.quarter != ANNUAL).then_some(m.quarter),
            number: m.number,
            due_on: m.due_on,
            submitted_at: m.submitted_at,
            submitted_by: m.submitted_by,
            on_time: m.on_time,
            sha256: m.sha256,
            snapshot_bytes: m.snapshot_bytes,
            gaps: m.gaps,
            status: SubmissionStatus::from_db(&m.status)?,
            review_comment: m.review_comment,
            reviewed_at: m.reviewed_at,
            reviewed_by: m.reviewed_by,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<LedgerSubmissionView> {
    kernel::get::<LedgerSubmissions>(ctx, actor, id).await
}

pub async fn get_many(
    ctx: &AppCtx,
    actor: &Actor,
    ids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, LedgerSubmissionView>> {
    kernel::get_many::<LedgerSubmissions>(ctx, actor, ids).await
}

pub async fn list(
    ctx: &AppCtx,
    actor: &Actor,
    q: LedgerSubmissionQuery,
) -> AppResult<Page<LedgerSubmissionView>> {
    use ledger_submission::Column as C;
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    if q.quarter.is_some_and(|n| !(1..=4).contains(&n)) {
        f.push("quarter", "must be 1, 2, 3 or 4");
    }
    if q.quarter.is_some() && q.annual == Some(true) {
        f.push("annual", "the year's materials have no quarter");
    }
    f.instant("updated_since", q.updated_since);
    f.finish()?;
    let args = checked(args)?;
    let mut select =
        kernel::visible::<LedgerSubmissions>(ctx.db.get_database_backend(), actor.scope());
    if let Some(org) = q.org_id {
        select = select.filter(C::OwnerOrgId.eq(org));
    }
    if let Some(year) = q.year {
        select = select.filter(C::Year.eq(year));
    }
    if let Some(quarter) = q.quarter {
        select = select.filter(C::Quarter.eq(quarter));
    }
    match q.annual {
        Some(true) => select = select.filter(C::Quarter.eq(ANNUAL)),
        Some(false) => select = select.filter(C::Quarter.ne(ANNUAL)),
        None => {}
    }
    if let Some(status) = q.status {
        select = select.filter(C::Status.eq(status.as_str()));
    }
    if let Some(since) = q.updated_since {
        select = select.filter(C::UpdatedAt.gte(since));
    }
    kernel::page::<LedgerSubmissions>(ctx, actor, select, args).await
}

/// The snapshot of a submission the caller may read, with its SHA-256: the bytes as stored.
pub async fn snapshot(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<(String, String)> {
    let row = kernel::find::<LedgerSubmissions>(&ctx.db, actor.scope(), id).await?;
    let snapshot: Option<String> = ledger_submission::Entity::find_by_id(row.id)
        .select_only()
        .column(ledger_submission::Column::Snapshot)
        .into_tuple()
        .one(&ctx.db)
        .await?;
    let snapshot = snapshot.ok_or(AppError::NotFound)?;
    Ok((snapshot, row.sha256))
}

/// Whether the calendar says a submission at `at` of a ledger due on `due_on` is on time.
pub fn on_time(due_on: NaiveDate, at: DateTime<Utc>) -> bool {
    at <= days::deadline_at(due_on)
}

/// Submits a ledger: checks who and what, computes the ledger, freezes it with the evidence it
/// lists, in one transaction.
pub async fn submit(
    ctx: &AppCtx,
    actor: &Actor,
    input: NewLedgerSubmission,
) -> AppResult<LedgerSubmissionView> {
    let at = ctx.clock.now();
    let dir = ctx.directory.get(&ctx.db).await?;
    let (owner, found) = kernel::new_owner(&dir, actor, input.org_id);
    ensure_write(actor, actor.scope(), RecordKind::LedgerSubmission, owner)?;
    let mut f = Fields::new();
    if !found {
        f.push("org_id", "no such organization");
    } else if owner.region != Region::West {
        f.push(
            "org_id",
            "ledgers are submitted by the western side's federations, departments and \
             institutions",
        );
    }
    let period = ledgers::period(input.year, input.quarter);
    if let Err(AppError::Validation(errors)) = &period {
        for e in errors {
            f.push(&e.field, e.message.clone());
        }
    }
    if let Ok((start, end)) = period {
        let today = at.with_timezone(&days::SHANGHAI).date_naive();
        match input.quarter {
            Some(_) if today <= end => f.push(
                "quarter",
                format!(
                    "the quarter ends on {end}: its ledger can be submitted from {}",
                    end.succ_opt().unwrap_or(end)
                ),
            ),
            None if today < start => f.push(
                "year",
                format!("the year's materials can be submitted from {start}"),
            ),
            _ => {}
        }
    }
    f.finish()?;

    // The ledger as the submitter sees it: the organization's subtree and pairings, which an
    // editor above it or the province office reads whole.
    let ledger = ledgers::get(ctx, actor, input.org_id, input.year, input.quarter).await?;
    let (snapshot, sha256) = super::canonical_json(&ledger)?;
    let due_on = ledger.due_on;
    let frozen: Vec<(Uuid, i32)> = ledger.evidence.iter().map(|e| (e.id, e.version)).collect();
    let gaps = i32::try_from(ledger.gaps.len()).unwrap_or(i32::MAX);
    let quarter = input.quarter.unwrap_or(ANNUAL);

    let tx = ctx.begin_write().await?;
    lock_period(&tx, input.org_id, input.year, quarter).await?;
    freeze_check(&tx, &frozen).await?;
    let last = latest_number(&tx, input.org_id, input.year, quarter).await?;
    let id = Uuid::now_v7();
    let stamp = now();
    let row = ledger_submission::ActiveModel {
        id: Set(id),
        year: Set(input.year),
        quarter: Set(quarter),
        number: Set(last.unwrap_or(0) + 1),
        due_on: Set(due_on),
        submitted_at: Set(at),
        submitted_by: Set(actor.id),
        on_time: Set(due_on.map(|d| on_time(d, at))),
        sha256: Set(sha256),
        snapshot_bytes: Set(i64::try_from(snapshot.len()).unwrap_or(i64::MAX)),
        snapshot: Set(snapshot),
        gaps: Set(gaps),
        status: Set(SubmissionStatus::Submitted.as_str().into()),
        review_comment: Set(None),
        reviewed_at: Set(None),
        reviewed_by: Set(None),
        version: Set(1),
        owner_org_id: Set(input.org_id),
        created_at: Set(stamp),
        updated_at: Set(stamp),
        deleted_at: Set(None),
    };
    let mut inserted = ledger_submission::Entity::insert(row)
        .exec_with_returning(&tx)
        .await?;
    for chunk in frozen.chunks(500) {
        ledger_submission_evidence::Entity::insert_many(chunk.iter().map(|(evidence_id, _)| {
            ledger_submission_evidence::ActiveModel {
                submission_id: Set(id),
                evidence_id: Set(*evidence_id),
            }
        }))
        .exec_without_returning(&tx)
        .await?;
    }
    // The audit entry and the answer carry the record, not its snapshot.
    inserted.snapshot = String::new();
    kernel::created::<LedgerSubmissions>(tx, actor, inserted).await
}

/// The number of the latest submission of an organization's period (`quarter` as stored: 0 for
/// the year's materials), if any.
async fn latest_number(
    tx: &WriteTx,
    org_id: Uuid,
    year: i32,
    quarter: i32,
) -> AppResult<Option<i32>> {
    use ledger_submission::Column as C;
    Ok(ledger_submission::Entity::find()
        .select_only()
        .column(C::Number)
        .filter(C::OwnerOrgId.eq(org_id))
        .filter(C::Year.eq(year))
        .filter(C::Quarter.eq(quarter))
        .order_by_desc(C::Number)
        .limit(1)
        .into_tuple()
        .one(tx)
        .await?)
}

/// Makes concurrent submissions of one organization's period take their numbers one after the
/// other (PostgreSQL: a transaction-scoped advisory lock on the period; SQLite: writers already
/// go one at a time). Without it, two would both take the next number and one would fail on
/// the unique index.
async fn lock_period(tx: &WriteTx, org_id: Uuid, year: i32, quarter: i32) -> AppResult<()> {
    if tx.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let digest = Sha256::digest(format!("ledger_submission:{org_id}:{year}:{quarter}"));
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    tx.execute_raw(sea_orm::Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [i64::from_be_bytes(key).into()],
    ))
    .await?;
    Ok(())
}

/// Checks, inside the submitting transaction, that the evidence the snapshot lists is still
/// there as the snapshot describes it. On PostgreSQL the rows are share-locked: a concurrent
/// change to one of them waits for this transaction, and then finds it frozen
/// ([`ensure_not_frozen`]); one that got there first makes this submission fail, to be retried.
async fn freeze_check(tx: &WriteTx, frozen: &[(Uuid, i32)]) -> AppResult<()> {
    for chunk in frozen.chunks(500) {
        let mut select = evidence::Entity::find()
            .select_only()
            .columns([evidence::Column::Id, evidence::Column::Version])
            .filter(evidence::Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            .filter(evidence::Column::DeletedAt.is_null());
        if tx.get_database_backend() == DbBackend::Postgres {
            select = select.lock_shared();
        }
        let stored: std::collections::HashMap<Uuid, i32> = select
            .into_tuple::<(Uuid, i32)>()
            .all(tx)
            .await?
            .into_iter()
            .collect();
        if let Some((id, _)) = chunk.iter().find(|(id, v)| stored.get(id) != Some(v)) {
            return Err(AppError::Conflict {
                code: "changed_while_submitting",
                field: None,
                detail: format!(
                    "evidence {id} changed while the ledger was being submitted; submit again"
                ),
                existing_id: None,
            });
        }
    }
    Ok(())
}

/// Refuses a change to a piece of evidence a submitted ledger froze: `409 frozen`. Call it in
/// the change's transaction, after the write rules; on PostgreSQL it first locks the evidence
/// row, so that a submission freezing it at the same moment is either seen here or fails.
pub async fn ensure_not_frozen(tx: &WriteTx, evidence_id: Uuid) -> AppResult<()> {
    if tx.get_database_backend() == DbBackend::Postgres {
        evidence::Entity::find_by_id(evidence_id)
            .select_only()
            .column(evidence::Column::Id)
            .lock_exclusive()
            .into_tuple::<Uuid>()
            .one(tx)
            .await?;
    }
    match frozen(tx, &[evidence_id]).await?.get(&evidence_id) {
        None => Ok(()),
        Some(submission) => Err(AppError::Conflict {
            code: "frozen",
            field: None,
            detail: frozen_detail(*submission),
            existing_id: None,
        }),
    }
}

/// Which of `evidence_ids` a submitted ledger froze, each with the first submission that did:
/// one statement per 500 ids. Lock the rows first (as [`ensure_not_frozen`] does) so that a
/// submission freezing one at the same moment is either seen or fails.
pub async fn frozen(
    db: &impl ConnectionTrait,
    evidence_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Uuid>> {
    use ledger_submission_evidence::Column as C;
    let mut found = HashMap::new();
    for chunk in evidence_ids.chunks(500) {
        let rows: Vec<(Uuid, Uuid)> = ledger_submission_evidence::Entity::find()
            .select_only()
            .columns([C::EvidenceId, C::SubmissionId])
            .filter(C::EvidenceId.is_in(chunk.iter().copied()))
            .order_by_asc(C::SubmissionId)
            .into_tuple()
            .all(db)
            .await?;
        for (evidence, submission) in rows {
            found.entry(evidence).or_insert(submission);
        }
    }
    Ok(found)
}

/// Why frozen evidence does not change.
pub fn frozen_detail(submission: Uuid) -> String {
    format!(
        "this evidence is part of the submitted ledger {submission}: it can no longer be changed \
         or deleted"
    )
}

/// The province office's review of the latest submission of a ledger.
pub async fn review(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    input: LedgerReview,
) -> AppResult<LedgerSubmissionView> {
    let change = kernel::change::<LedgerSubmissions>(ctx, actor, id, expected_version).await?;
    if !authz::can_review_ledger(actor) {
        return Err(AppError::Forbidden);
    }
    let before = &change.before;
    if before.status != SubmissionStatus::Submitted {
        return Err(AppError::InvalidTransition {
            detail: format!(
                "this submission was already reviewed: it is {}",
                before.status.as_str()
            ),
        });
    }
    let latest = latest_number(
        &change.tx,
        before.org_id,
        before.year,
        change.current.quarter,
    )
    .await?;
    if let Some(latest) = latest.filter(|n| *n > before.number) {
        return Err(AppError::InvalidTransition {
            detail: format!(
                "submission {} of this ledger was superseded by submission {latest}: review that",
                before.number
            ),
        });
    }
    let mut f = Fields::new();
    let comment = f.check_opt("comment", input.comment.as_deref(), |c| {
        long_text(c, COMMENT_MAX)
    });
    if input.decision == ReviewDecision::Returned
        && input.comment.as_deref().is_none_or(|c| c.trim().is_empty())
    {
        f.push(
            "comment",
            "is required when returning a ledger: say what to correct",
        );
    }
    f.finish()?;
    let status = match input.decision {
        ReviewDecision::Accepted => SubmissionStatus::Accepted,
        ReviewDecision::Returned => SubmissionStatus::Returned,
    };
    let mut model = <ledger_submission::ActiveModel as sea_orm::ActiveModelTrait>::default();
    model.status = Set(status.as_str().into());
    model.review_comment = Set(checked(comment)?);
    model.reviewed_at = Set(Some(now()));
    model.reviewed_by = Set(Some(actor.id));
    change.save(model).await
}

/// Fills in `due_on` and `on_time` of the submissions that could not count them, once the
/// calendar holds the year (called by `calendar::set_year`, in its transaction). A date once
/// set is never changed by a later correction of the calendar: the submission keeps the
/// deadline it was judged by.
pub async fn fill_due_dates(tx: &WriteTx, actor: &Actor) -> AppResult<usize> {
    let pending = kernel::live::<LedgerSubmissions>(tx.get_database_backend())
        .filter(ledger_submission::Column::DueOn.is_null())
        .filter(ledger_submission::Column::Quarter.ne(ANNUAL))
        .into_model::<ledger_submission::Model>()
        .all(tx)
        .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let cal = calendar::load(tx).await?;
    let mut filled = 0;
    let mut feed = Vec::new();
    for row in pending {
        let Ok(due_on) = cal.ledger_due_on(row.year, row.quarter) else {
            continue;
        };
        let before = LedgerSubmissions::view(actor, row.clone())?;
        let mut model = <ledger_submission::ActiveModel as sea_orm::ActiveModelTrait>::default();
        model.due_on = Set(Some(due_on));
        model.on_time = Set(Some(on_time(due_on, row.submitted_at)));
        let after = super::save_versioned::<ledger_submission::Entity>(
            tx,
            model,
            row.id,
            row.version,
            [
                ledger_submission::Column::Id,
                ledger_submission::Column::Version,
                ledger_submission::Column::UpdatedAt,
            ],
        )
        .await?;
        feed.push(changes::Entry {
            kind: RecordKind::LedgerSubmission,
            record_id: row.id,
            version: after.version,
            before: Some(kernel::feed_keys::<LedgerSubmissions>(&row)),
            after: Some(kernel::feed_keys::<LedgerSubmissions>(&after)),
        });
        let mut after = after;
        after.snapshot = String::new();
        super::audit::record(
            tx,
            actor,
            super::audit::Action::Update,
            RecordKind::LedgerSubmission,
            row.id,
            Some(&before),
            Some(&LedgerSubmissions::view(actor, after)?),
        )
        .await?;
        filled += 1;
    }
    // The feed's turn last (see `changes::append`).
    changes::append(tx, &feed).await?;
    Ok(filled)
}
