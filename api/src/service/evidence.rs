//! Evidence (印证资料): files in six categories, each linked to the records it proves. A piece of
//! evidence is a record like the others (version, owner, audit, scope); its bytes live in the
//! evidence storage ([`crate::storage`]).
//!
//! **Who reads it.** Evidence follows the scope of what it proves: it carries the pairing of the
//! records it is linked to, and is read as a record on that pairing is (its owner's subtree, the
//! pairing's two sides, and the roles that read everything). Evidence of a pairing the caller
//! cannot read is a 404, its record and its content alike. All the records one piece proves are
//! on one pairing (or on none).
//!
//! **Upload.** The metadata is checked before a byte of the file is stored; the file is streamed
//! to storage with bounded buffers while its SHA-256 and size are counted and its first bytes
//! sniffed; the row is written, in one transaction with its links and its audit entry, only
//! when the file is whole. A refused or failed upload leaves no file behind.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use async_graphql::SimpleObject;
use bytes::Bytes;
use entity::{
    agreement, contact, evidence, evidence_link, exchange, fund_transaction, ledger_submission,
    organization, plan, plan_task, project, statement, working_group,
};
use futures_util::{Stream, StreamExt};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    JoinType, QueryFilter, QueryOrder, QuerySelect, Select,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page, WriteTx,
    exchanges::readable_pairings,
    kernel::{self, Columns, Readable, Record},
    ledger_submissions, now,
    records::{PageArgs, external_id},
    sync,
};
use crate::{
    authz::{Actor, RecordKind, Scope, ensure_write},
    domain::{
        EvidenceCategory, Fields, RecordType, Text, checked,
        evidence::{self as rules, RangeAnswer, SNIFF_BYTES},
    },
    error::{AppError, AppResult},
    storage::{Content, Storage},
};

pub const TITLE_MAX: usize = 200;
pub const LINKS_MAX: usize = 50;
/// The years a piece of evidence may be filed under.
pub const PERIOD_YEARS: std::ops::RangeInclusive<i32> = crate::domain::calendar::SETTABLE_YEARS;

/// A record a piece of evidence proves.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    SimpleObject,
    async_graphql::InputObject,
)]
#[serde(deny_unknown_fields)]
#[graphql(input_name = "EvidenceLinkInput")]
pub struct EvidenceLink {
    pub record_type: RecordType,
    pub record_id: Uuid,
}

/// A piece of evidence as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject)]
#[graphql(name = "Evidence", complex)]
pub struct EvidenceView {
    pub id: Uuid,
    pub category: EvidenceCategory,
    pub title: String,
    /// The uploaded file's name, without any path.
    pub file_name: String,
    /// Sniffed from the content: `application/pdf`, `image/jpeg`, `image/png` or `video/mp4`.
    pub media_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
    pub period_year: Option<i32>,
    pub period_quarter: Option<i32>,
    /// The pairing of the records it proves, if any: who may read it.
    pub pairing_id: Option<Uuid>,
    /// The records it proves, sorted.
    pub links: Vec<EvidenceLink>,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// What an upload says about its file (the multipart parts before `file`).
#[derive(Clone, Debug, Default)]
pub struct NewEvidence {
    pub category: Option<String>,
    pub title: Option<String>,
    pub period_year: Option<i32>,
    pub period_quarter: Option<i32>,
    pub links: Vec<EvidenceLink>,
    pub external_id: Option<String>,
}

/// The multipart form of `POST /api/v1/evidence`, for the OpenAPI document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EvidenceUpload {
    /// `document`, `correspondence`, `photo`, `video`, `text` or `statistics`.
    pub category: EvidenceCategory,
    /// At most 200 characters.
    pub title: String,
    pub period_year: Option<i32>,
    /// 1–4, with `period_year`.
    pub period_quarter: Option<i32>,
    /// The records this evidence proves: a JSON array of `{record_type, record_id}`.
    pub links: Option<Vec<EvidenceLink>>,
    pub external_id: Option<String>,
    /// The file, last. PDF for documents, correspondence, texts and statistics; JPEG or PNG for
    /// photos; MP4 for videos.
    #[schema(format = Binary, value_type = String)]
    pub file: Vec<u8>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "EvidenceFilter")]
pub struct EvidenceQuery {
    pub category: Option<EvidenceCategory>,
    pub pairing_id: Option<Uuid>,
    /// The organization that recorded it.
    pub org_id: Option<Uuid>,
    /// Evidence of one record: `record_type` and `record_id` together.
    pub record_type: Option<RecordType>,
    pub record_id: Option<Uuid>,
    pub period_year: Option<i32>,
    pub period_quarter: Option<i32>,
    pub external_id: Option<String>,
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
    #[graphql(skip)]
    pub limit: Option<i64>,
    #[graphql(skip)]
    pub cursor: Option<String>,
}

/// An evidence row with its links (`type:id,…`), read by the same statement.
#[derive(Clone, Debug, FromQueryResult)]
pub struct EvidenceRow {
    #[sea_orm(nested)]
    pub evidence: evidence::Model,
    pub links: Option<String>,
}

pub struct EvidenceFamily;

impl Record for EvidenceFamily {
    type Entity = evidence::Entity;
    type Row = EvidenceRow;
    type View = EvidenceView;
    const KIND: RecordKind = RecordKind::Evidence;

    fn columns() -> Columns<evidence::Column> {
        use evidence::Column as C;
        kernel::record_columns!(C, Readable::Record(Some(C::PairingId)))
    }

    fn select(backend: DbBackend) -> Select<evidence::Entity> {
        let id = match backend {
            DbBackend::Postgres => "l.record_id::text",
            _ => {
                "CASE typeof(l.record_id) WHEN 'blob' THEN lower(hex(l.record_id)) \
                 ELSE l.record_id END"
            }
        };
        let item = format!("l.record_type || ':' || {id}");
        let agg = match backend {
            DbBackend::Postgres => format!("string_agg({item}, ',')"),
            _ => format!("group_concat({item}, ',')"),
        };
        evidence::Entity::find().column_as(
            sea_orm::sea_query::Expr::cust(format!(
                "(SELECT {agg} FROM evidence_links l WHERE l.evidence_id = evidence.id)"
            )),
            "links",
        )
    }

    fn model(row: &EvidenceRow) -> &evidence::Model {
        &row.evidence
    }

    fn view(_: &Actor, row: EvidenceRow) -> AppResult<EvidenceView> {
        let links = parse_links(row.links.as_deref())?;
        let m = row.evidence;
        Ok(EvidenceView {
            id: m.id,
            category: EvidenceCategory::from_db(&m.category)?,
            title: m.title,
            file_name: m.file_name,
            media_type: m.media_type,
            size_bytes: m.size_bytes,
            sha256: m.sha256,
            period_year: m.period_year,
            period_quarter: m.period_quarter,
            pairing_id: m.pairing_id,
            links,
            version: m.version,
            owner_org_id: m.owner_org_id,
            external_id: m.external_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

fn parse_links(text: Option<&str>) -> AppResult<Vec<EvidenceLink>> {
    let mut links = text
        .unwrap_or_default()
        .split(',')
        .filter(|t| !t.is_empty())
        .map(|item| {
            let bad = || AppError::internal(format!("stored evidence link {item}"));
            let (kind, id) = item.split_once(':').ok_or_else(bad)?;
            Ok(EvidenceLink {
                record_type: RecordType::from_db(kind)?,
                record_id: Uuid::parse_str(id).map_err(|_| bad())?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    links.sort();
    Ok(links)
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<EvidenceView> {
    kernel::get::<EvidenceFamily>(ctx, actor, id).await
}

pub async fn list(ctx: &AppCtx, actor: &Actor, q: EvidenceQuery) -> AppResult<Page<EvidenceView>> {
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.instant("updated_since", q.updated_since);
    if q.record_type.is_some() != q.record_id.is_some() {
        f.push(
            if q.record_type.is_some() {
                "record_id"
            } else {
                "record_type"
            },
            "is required with the other one (record_type and record_id name one record)",
        );
    }
    f.finish()?;
    let args = checked(args)?;
    let mut select =
        kernel::visible::<EvidenceFamily>(ctx.db.get_database_backend(), actor.scope());
    use evidence::Column as C;
    if let Some(c) = q.category {
        select = select.filter(C::Category.eq(c.as_str()));
    }
    if let Some(p) = q.pairing_id {
        select = select.filter(C::PairingId.eq(p));
    }
    if let Some(org) = q.org_id {
        select = select.filter(C::OwnerOrgId.eq(org));
    }
    if let (Some(kind), Some(id)) = (q.record_type, q.record_id) {
        select = select.filter(
            C::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(evidence_link::Column::EvidenceId)
                    .from(evidence_link::Entity)
                    .and_where(evidence_link::Column::RecordType.eq(kind.as_str()))
                    .and_where(evidence_link::Column::RecordId.eq(id))
                    .to_owned(),
            ),
        );
    }
    if let Some(y) = q.period_year {
        select = select.filter(C::PeriodYear.eq(y));
    }
    if let Some(n) = q.period_quarter {
        select = select.filter(C::PeriodQuarter.eq(n));
    }
    if let Some(e) = q.external_id {
        select = select.filter(C::ExternalId.eq(e));
    }
    if let Some(since) = q.updated_since {
        select = select.filter(C::UpdatedAt.gte(since));
    }
    kernel::page::<EvidenceFamily>(ctx, actor, select, args).await
}

/// The linked records the caller may read, each with its pairing (`None`: readable, on no
/// pairing), read with one statement per record type however many links there are: what
/// [`Linked::check`] checks links against, for one upload or update and for a whole sync batch
/// alike. A record that is absent or that the caller may not read is simply not there (the
/// answer never tells which).
struct Linked(HashMap<(RecordType, Uuid), Option<Uuid>>);

impl Linked {
    /// Reads what each list of `links` names (the first [`LINKS_MAX`] of each: the check looks no
    /// further), grouped by record type.
    async fn read<'a>(
        db: &impl ConnectionTrait,
        scope: &Scope,
        links: impl IntoIterator<Item = &'a [EvidenceLink]>,
    ) -> AppResult<Self> {
        let mut by_type: BTreeMap<RecordType, BTreeSet<Uuid>> = BTreeMap::new();
        for link in links.into_iter().flat_map(|l| l.iter().take(LINKS_MAX)) {
            by_type
                .entry(link.record_type)
                .or_default()
                .insert(link.record_id);
        }
        let mut found = HashMap::new();
        for (kind, ids) in by_type {
            let ids: Vec<Uuid> = ids.into_iter().collect();
            for (id, pairing) in readable(db, scope, kind, &ids).await? {
                found.insert((kind, id), pairing);
            }
        }
        Ok(Self(found))
    }

    /// Every linked record exists and is readable, none twice, all on one pairing: that
    /// pairing. Each problem is recorded in `f` (`links[2].record_id`).
    fn check(&self, f: &mut Fields, links: &[EvidenceLink]) -> Option<Uuid> {
        if links.len() > LINKS_MAX {
            f.push("links", format!("must hold at most {LINKS_MAX} records"));
        }
        let mut pairings = BTreeSet::new();
        let mut seen = HashSet::new();
        for (i, link) in links.iter().enumerate().take(LINKS_MAX) {
            let field = format!("links[{i}].record_id");
            if !seen.insert(link) {
                f.push(&field, "is listed twice");
                continue;
            }
            match self.0.get(&(link.record_type, link.record_id)) {
                None => f.push(&field, format!("no such {}", link.record_type.as_str())),
                Some(Some(p)) => {
                    pairings.insert(*p);
                }
                Some(None) => {}
            }
        }
        if pairings.len() > 1 {
            f.push(
                "links",
                "the records one piece of evidence proves are all on one pairing",
            );
        }
        pairings.into_iter().next()
    }

    /// The pairing `links` put a piece of evidence on, as [`Linked::check`] finds it.
    fn pairing(&self, links: &[EvidenceLink]) -> Option<Uuid> {
        self.check(&mut Fields::new(), links)
    }
}

/// The records of type `kind` among `ids` that are live and that the caller may read, each with
/// its pairing: one statement per [`sync::CHUNK`] ids.
async fn readable(
    db: &impl ConnectionTrait,
    scope: &Scope,
    kind: RecordType,
    ids: &[Uuid],
) -> AppResult<Vec<(Uuid, Option<Uuid>)>> {
    // A ledger record, read by its owner and pairing.
    let records = |rows: Vec<(Uuid, Uuid, Option<Uuid>)>| -> Vec<(Uuid, Option<Uuid>)> {
        rows.into_iter()
            .filter(|(_, owner, pairing)| scope.can_read_record(*owner, *pairing))
            .map(|(id, _, pairing)| (id, pairing))
            .collect()
    };
    // A ledger record on no pairing (a submission, a declared figure), read by its owner.
    let owned = |rows: Vec<(Uuid, Uuid)>| -> Vec<(Uuid, Option<Uuid>)> {
        rows.into_iter()
            .filter(|(_, owner)| scope.can_read_record(*owner, None))
            .map(|(id, _)| (id, None))
            .collect()
    };
    // A record read with its organization.
    let of_org = |rows: Vec<(Uuid, Uuid)>| -> Vec<(Uuid, Option<Uuid>)> {
        rows.into_iter()
            .filter(|(_, org)| scope.can_read_org(*org))
            .map(|(id, _)| (id, None))
            .collect()
    };
    Ok(match kind {
        RecordType::Organization => {
            use organization::Column as C;
            let live: Vec<Uuid> =
                live::<organization::Entity, _>(db, C::Id, C::DeletedAt, [C::Id], ids).await?;
            live.into_iter()
                .filter(|id| scope.can_read_org(*id))
                .map(|id| (id, None))
                .collect()
        }
        RecordType::Pairing => readable_pairings(db, scope, ids.iter().copied())
            .await?
            .into_keys()
            .map(|id| (id, Some(id)))
            .collect(),
        RecordType::Project => {
            use project::Column as C;
            let cols = [C::Id, C::OwnerOrgId, C::PairingId];
            records(live::<project::Entity, _>(db, C::Id, C::DeletedAt, cols, ids).await?)
        }
        RecordType::FundTransaction => {
            use fund_transaction::Column as C;
            let cols = [C::Id, C::OwnerOrgId, C::PairingId];
            records(live::<fund_transaction::Entity, _>(db, C::Id, C::DeletedAt, cols, ids).await?)
        }
        RecordType::Exchange => {
            use exchange::Column as C;
            let cols = [C::Id, C::OwnerOrgId, C::PairingId];
            records(live::<exchange::Entity, _>(db, C::Id, C::DeletedAt, cols, ids).await?)
        }
        RecordType::Agreement => {
            use agreement::Column as C;
            let cols = [C::Id, C::OwnerOrgId, C::PairingId];
            records(live::<agreement::Entity, _>(db, C::Id, C::DeletedAt, cols, ids).await?)
        }
        RecordType::Evidence => {
            use evidence::Column as C;
            let cols = [C::Id, C::OwnerOrgId, C::PairingId];
            records(live::<evidence::Entity, _>(db, C::Id, C::DeletedAt, cols, ids).await?)
        }
        RecordType::Contact => {
            use contact::Column as C;
            of_org(
                live::<contact::Entity, _>(db, C::Id, C::DeletedAt, [C::Id, C::OrgId], ids).await?,
            )
        }
        RecordType::WorkingGroup => {
            use working_group::Column as C;
            let cols = [C::Id, C::OrgId];
            of_org(live::<working_group::Entity, _>(db, C::Id, C::DeletedAt, cols, ids).await?)
        }
        RecordType::Plan => {
            use plan::Column as C;
            of_org(live::<plan::Entity, _>(db, C::Id, C::DeletedAt, [C::Id, C::OrgId], ids).await?)
        }
        // A task is read as its plan is: with the plan's organization, both live.
        RecordType::PlanTask => {
            let mut rows = Vec::new();
            for chunk in ids.chunks(sync::CHUNK) {
                rows.extend(
                    plan_task::Entity::find()
                        .select_only()
                        .column(plan_task::Column::Id)
                        .column(plan::Column::OrgId)
                        .join(
                            JoinType::InnerJoin,
                            plan_task::Entity::belongs_to(plan::Entity)
                                .from(plan_task::Column::PlanId)
                                .to(plan::Column::Id)
                                .into(),
                        )
                        .filter(plan_task::Column::Id.is_in(chunk.iter().copied()))
                        .filter(plan_task::Column::DeletedAt.is_null())
                        .filter(plan::Column::DeletedAt.is_null())
                        .into_tuple::<(Uuid, Uuid)>()
                        .all(db)
                        .await?,
                );
            }
            of_org(rows)
        }
        // A submission (its cover letter, 报送函), read as a record of its organization's own.
        RecordType::LedgerSubmission => {
            use ledger_submission::Column as C;
            let cols = [C::Id, C::OwnerOrgId];
            owned(live::<ledger_submission::Entity, _>(db, C::Id, C::DeletedAt, cols, ids).await?)
        }
        // A declared figure (the report it comes from), read as a record of its organization.
        RecordType::Statement => {
            use statement::Column as C;
            let cols = [C::Id, C::OwnerOrgId];
            owned(live::<statement::Entity, _>(db, C::Id, C::DeletedAt, cols, ids).await?)
        }
    })
}

/// `cols` of the live rows of a table among `ids`: one statement per [`sync::CHUNK`] ids.
async fn live<E, T>(
    db: &impl ConnectionTrait,
    id_col: E::Column,
    deleted: E::Column,
    cols: impl IntoIterator<Item = E::Column> + Clone,
    ids: &[Uuid],
) -> AppResult<Vec<T>>
where
    E: EntityTrait,
    T: sea_orm::TryGetableMany,
{
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(sync::CHUNK) {
        rows.extend(
            E::find()
                .select_only()
                .columns(cols.clone())
                .filter(id_col.is_in(chunk.iter().copied()))
                .filter(deleted.is_null())
                .into_tuple::<T>()
                .all(db)
                .await?,
        );
    }
    Ok(rows)
}

/// `period_year` 2000–2100, `period_quarter` 1–4 and only with a year.
fn check_period(f: &mut Fields, year: Option<i32>, quarter: Option<i32>) {
    match (year, quarter) {
        (Some(y), _) if !PERIOD_YEARS.contains(&y) => f.push(
            "period_year",
            format!(
                "must be between {} and {}",
                PERIOD_YEARS.start(),
                PERIOD_YEARS.end()
            ),
        ),
        (None, Some(_)) => f.push("period_year", "is required with period_quarter"),
        (_, Some(q)) if !(1..=4).contains(&q) => f.push("period_quarter", "must be 1, 2, 3 or 4"),
        _ => {}
    }
}

/// The metadata of a piece of evidence as an upload, an update or a sync item sets it, checked.
pub struct Metadata {
    /// `None`: an update that leaves the title as it is.
    title: Option<String>,
    period_year: Option<i32>,
    period_quarter: Option<i32>,
    /// Sorted, each once.
    links: Vec<EvidenceLink>,
    /// The pairing of the linked records: who reads the evidence.
    pairing_id: Option<Uuid>,
}

/// The rules of the metadata, one home for upload, update and sync: the title, the period, and
/// the links against what `linked` read. Every problem is recorded in `f`; `None` when the title
/// is bad (the caller's `f` then holds why).
fn check_metadata(
    f: &mut Fields,
    linked: &Linked,
    title: Option<&str>,
    period_year: Option<i32>,
    period_quarter: Option<i32>,
    links: &[EvidenceLink],
) -> Option<Metadata> {
    let title = f.check_opt("title", title, |t| {
        Text::parse(t, TITLE_MAX).map(Text::into_inner)
    });
    check_period(f, period_year, period_quarter);
    let pairing_id = linked.check(f, links);
    let mut links = links.to_vec();
    links.sort();
    links.dedup();
    Some(Metadata {
        title: title?,
        period_year,
        period_quarter,
        links,
        pairing_id,
    })
}

/// Why an account without an organization must link a record on a pairing.
const OWNERLESS: &str = "link a record on a pairing: an account without an organization records \
                         evidence for the pairing's western side";

/// What checking the metadata settles.
struct Checked {
    category: EvidenceCategory,
    /// Its title is set: an upload requires one.
    meta: Metadata,
    owner: crate::authz::Owner,
    external_id: Option<String>,
}

/// Checks everything but the file, recording every problem; and that the caller may write
/// evidence for the owner it would have.
async fn check(
    ctx: &AppCtx,
    db: &impl ConnectionTrait,
    actor: &Actor,
    meta: &NewEvidence,
) -> AppResult<Checked> {
    let scope = actor.scope();
    let mut f = Fields::new();
    let category = match meta.category.as_deref() {
        None => {
            f.push("category", "is required");
            None
        }
        Some(text) => f.check(
            "category",
            EvidenceCategory::parse(text).ok_or_else(|| {
                "must be one of document, correspondence, photo, video, text, statistics".into()
            }),
        ),
    };
    if meta.title.is_none() {
        f.push("title", "is required");
    }
    let linked = Linked::read(db, scope, [meta.links.as_slice()]).await?;
    let checked_meta = check_metadata(
        &mut f,
        &linked,
        meta.title.as_deref(),
        meta.period_year,
        meta.period_quarter,
        &meta.links,
    );
    let external = external_id(&mut f, meta.external_id.as_deref());
    f.finish()?;
    let (category, meta, external) = (
        checked(category)?,
        checked(checked_meta)?,
        checked(external)?,
    );

    // Recorded by the caller's organization; an admin or coordinator without one records it
    // for the western side of the pairing it proves.
    let dir = ctx.directory.get(&ctx.db).await?;
    let owner_org = actor
        .org_id
        .or_else(|| {
            meta.pairing_id
                .and_then(|p| dir.live_pairing(p).map(|p| p.west_org_id))
        })
        .ok_or_else(|| AppError::field("links", OWNERLESS))?;
    let (owner, _) = kernel::new_owner(&dir, actor, owner_org);
    ensure_write(actor, scope, RecordKind::Evidence, owner)?;
    kernel::ensure_external_free::<EvidenceFamily>(db, actor, owner.org_id, external.as_deref())
        .await?;
    Ok(Checked {
        category,
        meta,
        owner,
        external_id: external,
    })
}

/// What came of writing the file to storage.
struct Stored {
    media_type: &'static str,
    size: u64,
    sha256: String,
}

/// Streams `file` to `key`: counts, hashes and sniffs on the way; aborts (leaving nothing) on
/// a refusal or an error.
async fn store_file<S, E>(
    ctx: &AppCtx,
    key: &object_store::path::Path,
    category: EvidenceCategory,
    mut file: S,
) -> AppResult<Stored>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let limit = ctx.config.evidence_max_bytes;
    let mut upload = ctx
        .storage
        .start_upload(key)
        .await
        .map_err(AppError::Internal)?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
    let mut media_type: Option<&'static str> = None;
    let outcome: AppResult<()> = async {
        while let Some(chunk) = file.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest {
                code: "upload_interrupted",
                detail: format!("the file did not arrive whole: {e}"),
            })?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(AppError::PayloadTooLarge {
                    limit: usize::try_from(limit).unwrap_or(usize::MAX),
                });
            }
            if media_type.is_none() {
                let want = SNIFF_BYTES - head.len();
                head.extend_from_slice(&chunk[..want.min(chunk.len())]);
                if head.len() >= SNIFF_BYTES {
                    media_type = Some(fits(category, &head)?);
                }
            }
            hasher.update(&chunk);
            upload.write(&chunk).await.map_err(AppError::Internal)?;
        }
        if media_type.is_none() {
            media_type = Some(fits(category, &head)?);
        }
        Ok(())
    }
    .await;
    match (outcome, media_type) {
        (Ok(()), Some(media_type)) => {
            upload.finish().await.map_err(AppError::Internal)?;
            Ok(Stored {
                media_type,
                size,
                sha256: hex(&hasher.finalize()),
            })
        }
        (Err(e), _) => {
            upload.abort().await;
            Err(e)
        }
        (Ok(()), None) => {
            upload.abort().await;
            Err(AppError::internal("an upload ended without a media type"))
        }
    }
}

/// The sniffed media type, if `category` takes it.
fn fits(category: EvidenceCategory, head: &[u8]) -> AppResult<&'static str> {
    match rules::sniff(head) {
        Some(found) if rules::accepted(category).contains(&found) => Ok(found),
        found => Err(AppError::MediaTypeMismatch {
            detail: format!(
                "file: the content is {}; a {} takes {}",
                found.unwrap_or("of a type no category takes"),
                category.as_str(),
                rules::accepted(category).join(" or ")
            ),
        }),
    }
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Uploads a piece of evidence: `meta` is checked first, then `file` is streamed to storage,
/// then the record is written. Nothing is left behind when any step fails.
pub async fn upload<S, E>(
    ctx: &AppCtx,
    actor: &Actor,
    meta: NewEvidence,
    file_name: &str,
    file: S,
) -> AppResult<EvidenceView>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    // Refuse early: a bad title should not cost a 1 GiB upload.
    let first = check(ctx, &ctx.db, actor, &meta).await?;
    let id = Uuid::now_v7();
    let key = Storage::key(id);
    let stored = store_file(ctx, &key, first.category, file).await?;
    let written = write_row(ctx, actor, &meta, id, &key, file_name, stored).await;
    if written.is_err()
        && let Err(e) = ctx.storage.delete(&key).await
    {
        tracing::warn!(error = %e, %id, "removing the file of a refused upload failed");
    }
    written
}

/// The row, its links and its audit entry, in one transaction; the metadata is checked again
/// inside it (a linked record may have gone while the file was uploading).
async fn write_row(
    ctx: &AppCtx,
    actor: &Actor,
    meta: &NewEvidence,
    id: Uuid,
    key: &object_store::path::Path,
    file_name: &str,
    stored: Stored,
) -> AppResult<EvidenceView> {
    let (_, tx) = kernel::begin(ctx).await?;
    let c = check(ctx, &tx, actor, meta).await?;
    let at = now();
    let size_bytes = i64::try_from(stored.size)
        .map_err(|_| AppError::internal("a file larger than 2^63 bytes"))?;
    let inserted = evidence::Entity::insert(evidence::ActiveModel {
        id: Set(id),
        category: Set(c.category.as_str().to_string()),
        file_name: Set(rules::safe_file_name(file_name)),
        media_type: Set(stored.media_type.to_string()),
        size_bytes: Set(size_bytes),
        sha256: Set(stored.sha256),
        storage_key: Set(key.to_string()),
        version: Set(1),
        owner_org_id: Set(c.owner.org_id),
        external_id: Set(c.external_id),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
        ..metadata_columns(&c.meta)
    })
    .exec_with_returning(&tx)
    .await?;
    insert_links(&tx, &[(id, c.meta.links.as_slice())]).await?;
    let row = EvidenceRow {
        evidence: inserted,
        links: Some(
            c.meta
                .links
                .iter()
                .map(|l| format!("{}:{}", l.record_type.as_str(), l.record_id))
                .collect::<Vec<_>>()
                .join(","),
        ),
    };
    kernel::created::<EvidenceFamily>(tx, actor, row).await
}

/// The content columns of checked metadata (the title only when it is set).
fn metadata_columns(meta: &Metadata) -> evidence::ActiveModel {
    let mut model = evidence::ActiveModel {
        period_year: Set(meta.period_year),
        period_quarter: Set(meta.period_quarter),
        pairing_id: Set(meta.pairing_id),
        ..Default::default()
    };
    if let Some(title) = &meta.title {
        model.title = Set(title.clone());
    }
    model
}

/// Writes the links of `records`: multi-row statements, whatever their number.
async fn insert_links(
    tx: &impl ConnectionTrait,
    records: &[(Uuid, &[EvidenceLink])],
) -> AppResult<()> {
    let rows: Vec<evidence_link::ActiveModel> = records
        .iter()
        .flat_map(|(id, links)| {
            links.iter().map(|l| evidence_link::ActiveModel {
                evidence_id: Set(*id),
                record_type: Set(l.record_type.as_str().to_string()),
                record_id: Set(l.record_id),
            })
        })
        .collect();
    super::bulk::insert::<evidence_link::Entity>(tx, rows).await
}

/// Replaces the links of stored `records` (the old ones go): multi-row statements.
async fn relink(tx: &impl ConnectionTrait, records: &[(Uuid, &[EvidenceLink])]) -> AppResult<()> {
    for chunk in records.chunks(sync::CHUNK) {
        evidence_link::Entity::delete_many()
            .filter(evidence_link::Column::EvidenceId.is_in(chunk.iter().map(|(id, _)| *id)))
            .exec(tx)
            .await?;
    }
    insert_links(tx, records).await
}

/// A partial update of the record (never of the file): absent fields stay, `null` clears a
/// nullable one, `links` replaces the whole list. The pairing, and so who may read the
/// evidence, follows the new links.
#[derive(Debug, Default, Deserialize, ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "EvidencePatchInput")]
pub struct EvidencePatch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub period_year: async_graphql::MaybeUndefined<i32>,
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub period_quarter: async_graphql::MaybeUndefined<i32>,
    #[serde(default)]
    pub links: Option<Vec<EvidenceLink>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: async_graphql::MaybeUndefined<String>,
}

pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: EvidencePatch,
) -> AppResult<EvidenceView> {
    use async_graphql::MaybeUndefined;
    let change = kernel::change::<EvidenceFamily>(ctx, actor, id, expected_version).await?;
    super::ledger_submissions::ensure_not_frozen(&change.tx, id).await?;
    let before = &change.before;
    let keep = |input: &MaybeUndefined<i32>, current: Option<i32>| match input {
        MaybeUndefined::Undefined => current,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => Some(*v),
    };
    let period_year = keep(&patch.period_year, before.period_year);
    let period_quarter = keep(&patch.period_quarter, before.period_quarter);
    let links = patch.links.clone().unwrap_or_else(|| before.links.clone());
    let linked = Linked::read(&change.tx, actor.scope(), [links.as_slice()]).await?;
    let mut f = Fields::new();
    let meta = check_metadata(
        &mut f,
        &linked,
        patch.title.as_deref(),
        period_year,
        period_quarter,
        &links,
    );
    let external = super::records::patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        before.external_id.clone(),
        |e: &String| Text::parse(e, super::records::EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    f.finish()?;
    let (meta, external) = (checked(meta)?, checked(external)?);
    let mut model = metadata_columns(&meta);
    model.external_id = Set(external);
    if patch.links.is_some() {
        relink(&change.tx, &[(id, meta.links.as_slice())]).await?;
    }
    change.save(model).await
}

/// One item of `POST /sync/evidence`: the metadata of a piece of evidence its organization
/// already uploaded (`POST /evidence` with this `external_id`), as it should now read. It holds
/// every field `PATCH /evidence/{id}` changes but the key: an absent period is none, absent
/// `links` are none (the links replace the stored ones, in any order). The file and its
/// category never change.
#[derive(Clone, Debug, Deserialize, ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "EvidenceMetadataInput")]
pub struct EvidenceMetadata {
    /// The `external_id` the evidence was uploaded with: which one this item is.
    pub external_id: String,
    pub title: String,
    #[serde(default)]
    pub period_year: Option<i32>,
    /// 1–4, with `period_year`.
    #[serde(default)]
    pub period_quarter: Option<i32>,
    #[serde(default)]
    #[graphql(default)]
    pub links: Vec<EvidenceLink>,
}

/// What a sync batch of evidence names, read once: the linked records the caller may read,
/// the western side of the pairings they are on (whom an account without an organization
/// writes for), and which stored evidence of the batch a submitted ledger froze.
pub struct Named {
    linked: Linked,
    west_of: HashMap<Uuid, Uuid>,
    frozen: HashMap<Uuid, Uuid>,
}

/// Batch sync (`POST /sync/evidence`): the rules of [`update`] for the metadata of evidence
/// already uploaded; an item naming no stored evidence is refused (a sync item cannot carry the
/// file), and so is a change to evidence a submitted ledger froze.
impl sync::Synced for EvidenceFamily {
    type Input = EvidenceMetadata;
    type Item = Metadata;
    type Lookup = Named;

    fn external_id(input: &EvidenceMetadata) -> Option<&str> {
        Some(&input.external_id)
    }

    /// One statement per record type the links name, one for the pairings of an account without
    /// an organization, and two for the frozen evidence: the stored rows the batch names are
    /// locked first (PostgreSQL), as [`ledger_submissions::ensure_not_frozen`] locks one.
    async fn lookup(tx: &WriteTx, actor: &Actor, inputs: &[EvidenceMetadata]) -> AppResult<Named> {
        let scope = actor.scope();
        let linked = Linked::read(tx, scope, inputs.iter().map(|i| i.links.as_slice())).await?;
        let west_of: HashMap<Uuid, Uuid> = match actor.org_id {
            Some(_) => HashMap::new(),
            None => {
                let pairings = inputs.iter().filter_map(|i| linked.pairing(&i.links));
                readable_pairings(tx, scope, pairings)
                    .await?
                    .into_iter()
                    .map(|(id, p)| (id, p.west_org_id))
                    .collect()
            }
        };
        let owners: HashSet<Uuid> = actor
            .org_id
            .into_iter()
            .chain(west_of.values().copied())
            .collect();
        let named: BTreeSet<&str> = inputs.iter().map(|i| i.external_id.trim()).collect();
        let named: Vec<&str> = named.into_iter().collect();
        let mut stored = Vec::new();
        for chunk in named.chunks(sync::CHUNK) {
            use evidence::Column as C;
            let mut select = evidence::Entity::find()
                .select_only()
                .column(C::Id)
                .filter(C::OwnerOrgId.is_in(owners.iter().copied()))
                .filter(C::ExternalId.is_in(chunk.iter().copied()))
                .filter(C::DeletedAt.is_null())
                .order_by_asc(C::Id);
            if tx.get_database_backend() == DbBackend::Postgres {
                select = select.lock_exclusive();
            }
            stored.extend(select.into_tuple::<Uuid>().all(tx).await?);
        }
        Ok(Named {
            linked,
            west_of,
            frozen: ledger_submissions::frozen(tx, &stored).await?,
        })
    }

    /// As an upload: the caller's organization; the pairing's western side for an account
    /// without one.
    fn owner_org(actor: &Actor, named: &Named, input: &EvidenceMetadata) -> Uuid {
        actor
            .org_id
            .or_else(|| {
                named
                    .linked
                    .pairing(&input.links)
                    .and_then(|p| named.west_of.get(&p).copied())
            })
            .unwrap_or_else(Uuid::nil)
    }

    fn check(
        actor: &Actor,
        named: &Named,
        input: EvidenceMetadata,
        f: &mut Fields,
    ) -> Option<Metadata> {
        let meta = check_metadata(
            f,
            &named.linked,
            Some(&input.title),
            input.period_year,
            input.period_quarter,
            &input.links,
        )?;
        if actor.org_id.is_none() && meta.pairing_id.is_none() {
            f.push("links", OWNERLESS);
        }
        Some(meta)
    }

    fn check_stored(named: &Named, stored: Option<&EvidenceRow>, _: &Metadata, f: &mut Fields) {
        match stored {
            None => f.push(
                "external_id",
                "names no evidence of this organization: upload the file first with POST \
                 /api/v1/evidence and this external_id",
            ),
            Some(row) => {
                if let Some(submission) = named.frozen.get(&row.evidence.id) {
                    f.push(
                        "external_id",
                        ledger_submissions::frozen_detail(*submission),
                    );
                }
            }
        }
    }

    fn same(stored: &EvidenceRow, meta: &Metadata) -> bool {
        let m = &stored.evidence;
        meta.title.as_ref() == Some(&m.title)
            && m.period_year == meta.period_year
            && m.period_quarter == meta.period_quarter
            && m.pairing_id == meta.pairing_id
            && parse_links(stored.links.as_deref()).ok().as_ref() == Some(&meta.links)
    }

    fn content(meta: &Metadata) -> evidence::ActiveModel {
        metadata_columns(meta)
    }

    async fn link(
        tx: &WriteTx,
        created: &[(Uuid, &Metadata)],
        updated: &[(Uuid, &Metadata)],
    ) -> AppResult<()> {
        relink(tx, &links_of(updated)).await?;
        insert_links(tx, &links_of(created)).await
    }
}

/// The links each of `records` is to have.
fn links_of<'a>(records: &[(Uuid, &'a Metadata)]) -> Vec<(Uuid, &'a [EvidenceLink])> {
    records
        .iter()
        .map(|(id, m)| (*id, m.links.as_slice()))
        .collect()
}

/// Batch sync (`POST /sync/evidence`): the metadata of each piece of evidence the caller's
/// organization uploaded, by `external_id`, updated or left unchanged; all in one transaction
/// or none.
pub async fn sync(
    ctx: &AppCtx,
    actor: &Actor,
    items: Vec<EvidenceMetadata>,
) -> AppResult<sync::SyncResponse> {
    sync::run::<EvidenceFamily>(ctx, actor, items).await
}

/// Deletes a piece of evidence: the record (soft, audited), then its file.
pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    let change = kernel::change::<EvidenceFamily>(ctx, actor, id, expected_version).await?;
    super::ledger_submissions::ensure_not_frozen(&change.tx, id).await?;
    let key = object_store::path::Path::from(change.current.evidence.storage_key.clone());
    change.delete().await?;
    if let Err(e) = ctx.storage.delete(&key).await {
        // The record is gone; the sweep removes the file on the next start.
        tracing::warn!(error = %e, %id, "removing the file of deleted evidence failed");
    }
    Ok(())
}

/// The content of a piece of evidence the caller may read, whole or the range asked for.
pub async fn content(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    range_header: Option<&str>,
) -> AppResult<(EvidenceView, RangeAnswer, Option<Content>)> {
    let row = kernel::find::<EvidenceFamily>(&ctx.db, actor.scope(), id).await?;
    let key = object_store::path::Path::from(row.evidence.storage_key.clone());
    let view = EvidenceFamily::view(actor, row)?;
    let size = u64::try_from(view.size_bytes).unwrap_or_default();
    let answer = rules::range(range_header, size);
    let range = match &answer {
        RangeAnswer::Whole => None,
        RangeAnswer::Part(r) => Some(r.clone()),
        RangeAnswer::Unsatisfiable => return Ok((view, answer, None)),
    };
    let content = ctx
        .storage
        .read(&key, range)
        .await
        .map_err(AppError::Internal)?;
    Ok((view, answer, Some(content)))
}

/// Removes stored files that no evidence row names (see [`Storage::sweep`]); `only_old` spares
/// the files of the last hour, which may be uploads in progress on another replica.
pub async fn sweep(ctx: &AppCtx, only_old: bool) -> anyhow::Result<usize> {
    let db = ctx.db.clone();
    let known = |ids: Vec<Uuid>| async move {
        let mut found = HashSet::new();
        for chunk in ids.chunks(500) {
            let rows: Vec<Uuid> = evidence::Entity::find()
                .select_only()
                .column(evidence::Column::Id)
                .filter(evidence::Column::Id.is_in(chunk.iter().copied()))
                .filter(evidence::Column::DeletedAt.is_null())
                .into_tuple()
                .all(&db)
                .await?;
            found.extend(rows);
        }
        Ok::<_, anyhow::Error>(found)
    };
    ctx.storage.sweep_older_than(known, only_old).await
}

/// Batch read for GraphQL: the readable evidence of each of `ids`.
pub async fn get_many(
    ctx: &AppCtx,
    actor: &Actor,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, EvidenceView>> {
    kernel::get_many::<EvidenceFamily>(ctx, actor, ids).await
}
