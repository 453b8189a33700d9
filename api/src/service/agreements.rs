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
    AppCtx, Page,
    exchanges::{SUMMARY_MAX, readable_pairing},
    kernel::{self, Columns, Readable, Record},
    now,
    records::{EXTERNAL_ID_MAX, PageArgs, external_id, patch_nullable},
    records::{long_text, period_filter as period},
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

#[derive(Debug, Default, Deserialize, IntoParams, InputObject)]
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
struct Draft {
    pairing_id: Uuid,
    title: String,
    signed_on: NaiveDate,
    committed_fen: i64,
    summary: Option<String>,
    project_ids: Vec<Uuid>,
}

/// The checked text fields of a draft.
struct Checked {
    title: String,
    summary: Option<String>,
}

/// Checks a whole draft, recording every problem in `f`.
async fn check(
    db: &impl ConnectionTrait,
    scope: &Scope,
    f: &mut Fields,
    d: &Draft,
) -> AppResult<Option<Checked>> {
    f.date("signed_on", Some(d.signed_on));
    let pairing_ok = readable_pairing(db, scope, d.pairing_id).await?.is_some();
    if !pairing_ok {
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
    if !d.project_ids.is_empty() {
        // Each project's pairing, in one statement. A project on another pairing is reported
        // like a missing one: the caller may not be allowed to know it exists.
        let pairing_of: HashMap<Uuid, Uuid> = project::Entity::find()
            .select_only()
            .columns([project::Column::Id, project::Column::PairingId])
            .filter(project::Column::Id.is_in(d.project_ids.iter().copied()))
            .filter(project::Column::DeletedAt.is_null())
            .into_tuple::<(Uuid, Uuid)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let mut seen = HashSet::new();
        for (i, id) in d.project_ids.iter().enumerate() {
            let field = format!("project_ids[{i}]");
            if !seen.insert(*id) {
                f.push(&field, "is listed twice");
            } else if pairing_of.get(id) != Some(&d.pairing_id) {
                f.push(&field, "no such project on this agreement's pairing");
            }
        }
    }
    Ok(match (title, summary) {
        (Some(title), Some(summary)) => Some(Checked { title, summary }),
        _ => None,
    })
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
    let owner_org = match actor.org_id {
        Some(org) => org,
        None => pairing::Entity::find_by_id(input.pairing_id)
            .filter(pairing::Column::DeletedAt.is_null())
            .one(&tx)
            .await?
            .map_or(Uuid::nil(), |p| p.west_org_id),
    };
    let (owner, _) = kernel::new_owner(&dir, actor, owner_org);
    ensure_write(actor, scope, RecordKind::Agreement, owner)?;

    let draft = Draft {
        pairing_id: input.pairing_id,
        title: input.title,
        signed_on: input.signed_on,
        committed_fen: input.committed_fen.0,
        summary: input.summary,
        project_ids: input.project_ids,
    };
    let mut f = Fields::new();
    let good = check(&tx, scope, &mut f, &draft).await?;
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
        pairing_id: Set(draft.pairing_id),
        title: Set(good.title),
        signed_on: Set(draft.signed_on),
        committed_fen: Set(draft.committed_fen),
        summary: Set(good.summary),
        version: Set(1),
        owner_org_id: Set(owner.org_id),
        external_id: Set(external),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
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
    let good = check(&change.tx, actor.scope(), &mut f, &draft).await?;
    let external = patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        before.external_id.clone(),
        |e: &String| Text::parse(e, EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    f.finish()?;
    let (good, external) = (checked(good)?, checked(external)?);

    let mut model: agreement::ActiveModel = change.current.agreement.clone().into();
    model.pairing_id = Set(draft.pairing_id);
    model.title = Set(good.title);
    model.signed_on = Set(draft.signed_on);
    model.committed_fen = Set(draft.committed_fen);
    model.summary = Set(good.summary);
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
