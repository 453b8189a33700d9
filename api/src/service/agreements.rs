//! Agreements (协议书): cooperation agreements signed on a pairing, the money they commit and
//! the projects they cover.

use std::collections::{HashMap, HashSet};

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::NaiveDate;
use entity::{agreement, agreement_project, pairing, project};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, QuerySelect, Select,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AppCtx, Page, WriteTx,
    exchanges::{SUMMARY_MAX, readable_pairings},
    kernel::{self, Columns, Readable, Record},
    now,
    records::{EXTERNAL_ID_MAX, PageArgs, external_id, patch_nullable},
    records::{long_text, period_filter as period},
    sync,
};
use crate::{
    authz::Actor,
    authz::{RecordKind, Scope, ensure_write},
    domain::{AmountFen, Fen, Fields, Text, checked},
    error::AppResult,
};

/// An agreement as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema, SimpleObject, Deserialize)]
#[graphql(name = "Agreement", complex)]
pub struct AgreementView {
    pub id: Uuid,
    pub pairing_id: Uuid,
    /// e.g. 上海市残联 遵义市残联 2019年东西部扶贫协作协议.
    pub title: String,
    pub signed_on: NaiveDate,
    /// The money the agreement commits, in integer fen (分).
    pub committed_fen: Fen,
    pub summary: Option<String>,
    /// The projects the agreement covers (all on its pairing), in id order.
    pub project_ids: Vec<Uuid>,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl AgreementView {
    fn from_model(m: agreement::Model, mut project_ids: Vec<Uuid>) -> Self {
        project_ids.sort();
        Self {
            id: m.id,
            pairing_id: m.pairing_id,
            title: m.title,
            signed_on: m.signed_on,
            committed_fen: Fen(m.committed_fen),
            summary: m.summary,
            project_ids,
            version: m.version,
            owner_org_id: m.owner_org_id,
            external_id: m.external_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Clone, Debug, Deserialize, ToSchema, InputObject, Serialize)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewAgreementInput")]
pub struct NewAgreement {
    pub pairing_id: Uuid,
    pub title: String,
    pub signed_on: NaiveDate,
    /// Integer fen, not negative.
    pub committed_fen: Fen,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    #[graphql(default)]
    pub project_ids: Vec<Uuid>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A partial update: absent fields stay, `null` clears a nullable field; `project_ids` replaces
/// the whole list.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "AgreementPatchInput")]
pub struct AgreementPatch {
    #[serde(default)]
    pub pairing_id: Option<Uuid>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub signed_on: Option<NaiveDate>,
    #[serde(default)]
    pub committed_fen: Option<Fen>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub summary: MaybeUndefined<String>,
    #[serde(default)]
    pub project_ids: Option<Vec<Uuid>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: MaybeUndefined<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "AgreementFilter")]
pub struct AgreementQuery {
    pub pairing_id: Option<Uuid>,
    /// The organization that recorded the agreement.
    pub org_id: Option<Uuid>,
    /// Agreements signed in this year.
    pub year: Option<i32>,
    pub external_id: Option<String>,
    /// Only records changed at or after this instant (RFC 3339).
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Page size, 1–500 (default 50).
    #[graphql(skip)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[graphql(skip)]
    pub cursor: Option<String>,
}

pub const TITLE_MAX: usize = 200;
pub const PROJECTS_MAX: usize = 500;

/// An agreement row with the projects it covers, listed by the same statement.
#[derive(Clone, Debug, FromQueryResult)]
pub struct AgreementRow {
    #[sea_orm(nested)]
    pub agreement: agreement::Model,
    pub project_ids: Option<String>,
}

/// The agreement family for the record kernel.
pub struct Agreements;

impl Record for Agreements {
    type Entity = agreement::Entity;
    type Row = AgreementRow;
    type View = AgreementView;
    const KIND: RecordKind = RecordKind::Agreement;

    fn columns() -> Columns<agreement::Column> {
        use agreement::Column as C;
        kernel::record_columns!(C, Readable::Record(Some(C::PairingId)))
    }

    fn select(backend: DbBackend) -> Select<agreement::Entity> {
        agreement::Entity::find().column_as(
            kernel::id_list(
                backend,
                "agreement_projects",
                "project_id",
                "agreement_id",
                "agreements",
            ),
            "project_ids",
        )
    }

    fn model(row: &AgreementRow) -> &agreement::Model {
        &row.agreement
    }

    fn view(_: &Actor, row: AgreementRow) -> AppResult<AgreementView> {
        let projects = kernel::parse_id_list(row.project_ids.as_deref())?;
        Ok(AgreementView::from_model(row.agreement, projects))
    }
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<AgreementView> {
    kernel::get::<Agreements>(ctx, actor, id).await
}

pub async fn list(
    ctx: &AppCtx,
    actor: &Actor,
    q: AgreementQuery,
) -> AppResult<Page<AgreementView>> {
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    let period = period(&mut f, q.year, None);
    f.instant("updated_since", q.updated_since);
    f.finish()?;
    let (args, period) = (checked(args)?, checked(period)?);
    let mut select = kernel::visible::<Agreements>(ctx.db.get_database_backend(), actor.scope());
    if let Some(p) = q.pairing_id {
        select = select.filter(agreement::Column::PairingId.eq(p));
    }
    if let Some(org) = q.org_id {
        select = select.filter(agreement::Column::OwnerOrgId.eq(org));
    }
    if let Some((from, to)) = period {
        select = select.filter(agreement::Column::SignedOn.between(from, to));
    }
    if let Some(e) = q.external_id {
        select = select.filter(agreement::Column::ExternalId.eq(e));
    }
    if let Some(since) = q.updated_since {
        select = select.filter(agreement::Column::UpdatedAt.gte(since));
    }
    kernel::page::<Agreements>(ctx, actor, select, args).await
}

/// Batch read for GraphQL loaders: the readable, live agreements on each of `pairing_ids`, in
/// id order.
pub async fn of_pairings(
    ctx: &AppCtx,
    actor: &Actor,
    pairing_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<AgreementView>>> {
    kernel::children::<Agreements>(
        ctx,
        actor,
        agreement::Column::PairingId,
        |r| Some(r.agreement.pairing_id),
        pairing_ids,
    )
    .await
}

/// Every field of an agreement as it will be stored, before checking.
pub struct Draft {
    pairing_id: Uuid,
    title: String,
    signed_on: NaiveDate,
    committed_fen: i64,
    summary: Option<String>,
    project_ids: Vec<Uuid>,
}

impl From<NewAgreement> for Draft {
    fn from(input: NewAgreement) -> Self {
        Self {
            pairing_id: input.pairing_id,
            title: input.title,
            signed_on: input.signed_on,
            committed_fen: input.committed_fen.0,
            summary: input.summary,
            project_ids: input.project_ids,
        }
    }
}

/// The checked text fields of a draft.
pub struct Checked {
    title: String,
    summary: Option<String>,
}

/// What drafts name, read once: the live pairings the caller may read, and the pairing of each
/// live project named. A sync batch reads it for all its items.
pub struct Named {
    pairings: HashMap<Uuid, pairing::Model>,
    pairing_of: HashMap<Uuid, Uuid>,
}

impl Named {
    /// One statement for the pairings, one for the projects.
    pub async fn read(
        db: &impl ConnectionTrait,
        scope: &Scope,
        pairings: impl IntoIterator<Item = Uuid>,
        projects: impl IntoIterator<Item = Uuid>,
    ) -> AppResult<Self> {
        let projects: HashSet<Uuid> = projects.into_iter().collect();
        let pairing_of = if projects.is_empty() {
            HashMap::new()
        } else {
            project::Entity::find()
                .select_only()
                .columns([project::Column::Id, project::Column::PairingId])
                .filter(project::Column::Id.is_in(projects))
                .filter(project::Column::DeletedAt.is_null())
                .into_tuple::<(Uuid, Uuid)>()
                .all(db)
                .await?
                .into_iter()
                .collect()
        };
        Ok(Self {
            pairings: readable_pairings(db, scope, pairings).await?,
            pairing_of,
        })
    }

    async fn of(db: &impl ConnectionTrait, scope: &Scope, d: &Draft) -> AppResult<Self> {
        Self::read(db, scope, [d.pairing_id], d.project_ids.iter().copied()).await
    }
}

/// Checks a whole draft against what it names, recording every problem in `f`.
fn check(named: &Named, f: &mut Fields, d: &Draft) -> Option<Checked> {
    f.date("signed_on", Some(d.signed_on));
    if !named.pairings.contains_key(&d.pairing_id) {
        f.push("pairing_id", "no such pairing");
    }
    let title = f.check(
        "title",
        Text::parse(&d.title, TITLE_MAX).map(Text::into_inner),
    );
    f.check(
        "committed_fen",
        AmountFen::parse_non_negative(d.committed_fen),
    );
    let summary = f.check_opt("summary", d.summary.as_deref(), |s| {
        long_text(s, SUMMARY_MAX)
    });
    if d.project_ids.len() > PROJECTS_MAX {
        f.push("project_ids", format!("at most {PROJECTS_MAX} projects"));
    }
    // A project on another pairing is reported like a missing one: the caller may not be
    // allowed to know it exists.
    let mut seen = HashSet::new();
    for (i, id) in d.project_ids.iter().enumerate() {
        let field = format!("project_ids[{i}]");
        if !seen.insert(*id) {
            f.push(&field, "is listed twice");
        } else if named.pairing_of.get(id) != Some(&d.pairing_id) {
            f.push(&field, "no such project on this agreement's pairing");
        }
    }
    match (title, summary) {
        (Some(title), Some(summary)) => Some(Checked { title, summary }),
        _ => None,
    }
}

/// The content columns of a checked draft (the record columns are the kernel's).
fn content(d: &Draft, good: &Checked) -> agreement::ActiveModel {
    agreement::ActiveModel {
        pairing_id: Set(d.pairing_id),
        title: Set(good.title.clone()),
        signed_on: Set(d.signed_on),
        committed_fen: Set(d.committed_fen),
        summary: Set(good.summary.clone()),
        ..Default::default()
    }
}

/// Batch sync (`POST /sync/agreement`): the rules of [`create`], for every item at once.
impl sync::Synced for Agreements {
    type Input = NewAgreement;
    type Item = (Draft, Checked);
    type Lookup = Named;

    fn external_id(input: &NewAgreement) -> Option<&str> {
        input.external_id.as_deref()
    }

    async fn lookup(tx: &WriteTx, actor: &Actor, inputs: &[NewAgreement]) -> AppResult<Named> {
        Named::read(
            tx,
            actor.scope(),
            inputs.iter().map(|i| i.pairing_id),
            inputs.iter().flat_map(|i| i.project_ids.iter().copied()),
        )
        .await
    }

    fn owner_org(actor: &Actor, named: &Named, input: &NewAgreement) -> Uuid {
        actor.org_id.unwrap_or_else(|| {
            named
                .pairings
                .get(&input.pairing_id)
                .map_or(Uuid::nil(), |p| p.west_org_id)
        })
    }

    fn check(_: &Actor, named: &Named, input: NewAgreement, f: &mut Fields) -> Option<Self::Item> {
        let draft = Draft::from(input);
        check(named, f, &draft).map(|good| (draft, good))
    }

    fn same(stored: &AgreementRow, (d, good): &Self::Item) -> bool {
        let m = &stored.agreement;
        let mut projects = d.project_ids.clone();
        projects.sort();
        m.pairing_id == d.pairing_id
            && m.title == good.title
            && m.signed_on == d.signed_on
            && m.committed_fen == d.committed_fen
            && m.summary == good.summary
            && kernel::parse_id_list(stored.project_ids.as_deref()).ok() == Some(projects)
    }

    fn content((d, good): &Self::Item) -> agreement::ActiveModel {
        content(d, good)
    }

    async fn link(
        tx: &WriteTx,
        created: &[(Uuid, &Self::Item)],
        updated: &[(Uuid, &Self::Item)],
    ) -> AppResult<()> {
        use agreement_project::{ActiveModel, Column, Entity};
        for chunk in updated.chunks(sync::CHUNK) {
            Entity::delete_many()
                .filter(Column::AgreementId.is_in(chunk.iter().map(|(id, _)| *id)))
                .exec(tx)
                .await?;
        }
        let rows: Vec<ActiveModel> = created
            .iter()
            .chain(updated)
            .flat_map(|(id, (d, _))| {
                d.project_ids.iter().map(|p| ActiveModel {
                    agreement_id: Set(*id),
                    project_id: Set(*p),
                })
            })
            .collect::<Vec<_>>();
        super::bulk::insert::<Entity>(tx, rows).await
    }
}

async fn insert_projects(tx: &impl ConnectionTrait, id: Uuid, projects: &[Uuid]) -> AppResult<()> {
    if projects.is_empty() {
        return Ok(());
    }
    agreement_project::Entity::insert_many(projects.iter().map(|p| {
        agreement_project::ActiveModel {
            agreement_id: Set(id),
            project_id: Set(*p),
        }
    }))
    .exec_without_returning(tx)
    .await?;
    Ok(())
}

pub async fn create(ctx: &AppCtx, actor: &Actor, input: NewAgreement) -> AppResult<AgreementView> {
    let scope = actor.scope();
    let (dir, tx) = kernel::begin(ctx).await?;
    // Recorded by the caller's organization; an admin or coordinator without one records it
    // for the pairing's western side.
    let draft = Draft::from(input.clone());
    let named = Named::of(&tx, scope, &draft).await?;
    let (owner, _) = kernel::new_owner(
        &dir,
        actor,
        <Agreements as sync::Synced>::owner_org(actor, &named, &input),
    );
    ensure_write(actor, scope, RecordKind::Agreement, owner)?;

    let mut f = Fields::new();
    let good = check(&named, &mut f, &draft);
    let external = external_id(&mut f, input.external_id.as_deref());
    f.finish()?;
    kernel::ensure_external_free::<Agreements>(
        &tx,
        actor,
        owner.org_id,
        external.clone().flatten().as_deref(),
    )
    .await?;
    let (good, external) = (checked(good)?, checked(external)?);

    let id = Uuid::now_v7();
    let at = now();
    let inserted = agreement::Entity::insert(agreement::ActiveModel {
        id: Set(id),
        version: Set(1),
        owner_org_id: Set(owner.org_id),
        external_id: Set(external),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
        ..content(&draft, &good)
    })
    .exec_with_returning(&tx)
    .await?;
    insert_projects(&tx, id, &draft.project_ids).await?;
    let row = AgreementRow {
        agreement: inserted,
        project_ids: Some(kernel::id_list_text(&draft.project_ids)),
    };
    kernel::created::<Agreements>(tx, actor, row).await
}

pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: AgreementPatch,
) -> AppResult<AgreementView> {
    let change = kernel::change::<Agreements>(ctx, actor, id, expected_version).await?;
    let before = &change.before;
    let projects_changed = patch.project_ids.is_some();
    let draft = Draft {
        pairing_id: patch.pairing_id.unwrap_or(before.pairing_id),
        title: patch.title.unwrap_or_else(|| before.title.clone()),
        signed_on: patch.signed_on.unwrap_or(before.signed_on),
        committed_fen: patch.committed_fen.map_or(before.committed_fen.0, |f| f.0),
        summary: match patch.summary {
            MaybeUndefined::Undefined => before.summary.clone(),
            MaybeUndefined::Null => None,
            MaybeUndefined::Value(s) => Some(s),
        },
        project_ids: patch
            .project_ids
            .unwrap_or_else(|| before.project_ids.clone()),
    };
    let mut f = Fields::new();
    let named = Named::of(&change.tx, actor.scope(), &draft).await?;
    let good = check(&named, &mut f, &draft);
    let external = patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        before.external_id.clone(),
        |e: &String| Text::parse(e, EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    f.finish()?;
    let (good, external) = (checked(good)?, checked(external)?);

    let mut model = content(&draft, &good);
    model.external_id = Set(external);
    if projects_changed {
        agreement_project::Entity::delete_many()
            .filter(agreement_project::Column::AgreementId.eq(id))
            .exec(&change.tx)
            .await?;
        insert_projects(&change.tx, id, &draft.project_ids).await?;
    }
    change.save(model).await
}

/// Batch sync (`POST /sync/agreement`): each item created, updated or left unchanged by its owner's
/// `external_id`, under the rules of [`create`]; all in one transaction or none.
pub async fn sync(
    ctx: &AppCtx,
    actor: &Actor,
    items: Vec<NewAgreement>,
) -> AppResult<sync::SyncResponse> {
    sync::run::<Agreements>(ctx, actor, items).await
}

pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    kernel::change::<Agreements>(ctx, actor, id, expected_version)
        .await?
        .delete()
        .await
}
