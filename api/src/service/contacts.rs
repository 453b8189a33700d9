//! Contacts: the people who hold a role (组长, 联络员, 台账责任人). Their phone number and email
//! are personal data (DESIGN §6): shown in full only to those who need them, masked for everyone
//! else, by the one function that builds a contact's view for a caller ([`ContactView::for_viewer`]).

use std::collections::HashMap;

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use entity::contact;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, LikeExpr},
};
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
    authz::{self, Actor, RecordKind, Scope, ensure_write},
    domain::{Fields, Text, checked},
    error::AppResult,
};

pub const NAME_MAX: usize = 100;
pub const TITLE_MAX: usize = 100;
pub const PHONE_MAX: usize = 32;
/// How many digits a phone number has.
pub const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 5..=20;
pub const EMAIL_MAX: usize = 200;

/// A contact as a given caller may see it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema, SimpleObject, Deserialize)]
#[graphql(name = "Contact", complex)]
pub struct ContactView {
    pub id: Uuid,
    /// The organization the person works for.
    pub org_id: Uuid,
    /// A placeholder holder in demo data, never a real person's name.
    pub name: String,
    /// e.g. 联络员, 教就部副部长.
    pub title: Option<String>,
    /// Masked (`138****5678`) unless the caller may see personal data of this organization.
    pub phone: Option<String>,
    /// Masked (`z***@example.com`) unless the caller may see personal data of this organization.
    pub email: Option<String>,
    /// Whether `phone` and `email` are masked for this caller.
    pub masked: bool,
    pub version: i32,
    pub owner_org_id: Uuid,
    pub external_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// `13812345678` → `138****5678`: the first three and last four digits, separators dropped.
/// Shorter numbers keep only their last four digits, so at least half is always hidden.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return "****".into();
    }
    if digits.len() < 11 {
        let tail: String = digits[digits.len() - 4..].iter().collect();
        return format!("****{tail}");
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// `zhang@example.com` → `z***@example.com`: the first character of the local part, then the
/// domain.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

impl ContactView {
    /// The view `actor` may see: personal data in full or masked (see
    /// [`authz::sees_personal_data`]). Every output of a contact — REST, GraphQL, the audit log —
    /// goes through here or [`ContactView::for_log`].
    pub fn for_viewer(m: contact::Model, actor: &Actor) -> Self {
        let full = authz::sees_personal_data(actor, m.org_id);
        Self::build(m, full)
    }

    /// What everyone but the full-view roles sees: for stores that outlive the request, such as
    /// the audit log, which the assessment team reads too.
    pub fn for_log(m: contact::Model) -> Self {
        Self::build(m, false)
    }

    fn build(m: contact::Model, full: bool) -> Self {
        let (phone, email) = if full {
            (m.phone, m.email)
        } else {
            (
                m.phone.as_deref().map(mask_phone),
                m.email.as_deref().map(mask_email),
            )
        };
        Self {
            id: m.id,
            org_id: m.org_id,
            name: m.name,
            title: m.title,
            phone,
            email,
            masked: !full,
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
#[graphql(name = "NewContactInput")]
pub struct NewContact {
    pub org_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    /// Digits, with an optional leading `+`, and `-` or spaces between them.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A partial update: absent fields stay, `null` clears a nullable field.
#[derive(Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "ContactPatchInput")]
pub struct ContactPatch {
    #[serde(default)]
    pub org_id: Option<Uuid>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub title: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_id: MaybeUndefined<String>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams, InputObject)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[graphql(name = "ContactFilter")]
pub struct ContactQuery {
    pub org_id: Option<Uuid>,
    /// Part of the name.
    pub q: Option<String>,
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

/// A phone number as Chinese documents write it, in plain ASCII: full-width digits, `＋` and
/// the ideographic space become their ASCII forms, and every kind of dash a hyphen (the 2019
/// plan writes its own number `0851—…`, with an em dash).
fn ascii_phone(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => char::from_digit(u32::from(c) - 0xFF10, 10).unwrap_or(c),
            '\u{FF0B}' => '+',
            '\u{3000}' => ' ',
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FF0D}' => '-',
            c => c,
        })
        .collect()
}

/// Digits with an optional leading `+`, separated by `-` or spaces; 5–20 digits. Stored in
/// ASCII ([`ascii_phone`]).
fn parse_phone(text: &str) -> Result<String, String> {
    let ascii = ascii_phone(text.trim());
    let text = ascii.as_str();
    if text.chars().count() > PHONE_MAX {
        return Err(format!("must be at most {PHONE_MAX} characters"));
    }
    let body = text.strip_prefix('+').unwrap_or(text);
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
    {
        return Err("may hold only digits, a leading '+', '-' and spaces".into());
    }
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if !PHONE_DIGITS.contains(&digits) {
        return Err(format!(
            "must have {}–{} digits",
            PHONE_DIGITS.start(),
            PHONE_DIGITS.end()
        ));
    }
    if !body.starts_with(|c: char| c.is_ascii_digit())
        || !body.ends_with(|c: char| c.is_ascii_digit())
    {
        return Err("must begin and end with a digit".into());
    }
    Ok(text.to_string())
}

/// One `@`, something before it, and a domain with a dot that has text on both sides.
fn parse_email(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.chars().count() > EMAIL_MAX {
        return Err(format!("must be at most {EMAIL_MAX} characters"));
    }
    let bad = || "must be an address like name@example.com".to_string();
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = text.split_once('@').ok_or_else(bad)?;
    if local.is_empty() || domain.contains('@') {
        return Err(bad());
    }
    let Some((name, tld)) = domain.rsplit_once('.') else {
        return Err(bad());
    };
    if name.is_empty() || tld.is_empty() || domain.starts_with('.') || domain.contains("..") {
        return Err(bad());
    }
    Ok(text.to_string())
}

/// The contact family for the record kernel: readable with its organization.
pub struct Contacts;

impl Record for Contacts {
    type Entity = contact::Entity;
    type Row = contact::Model;
    type View = ContactView;
    const KIND: RecordKind = RecordKind::Contact;

    fn columns() -> Columns<contact::Column> {
        use contact::Column as C;
        kernel::record_columns!(C, Readable::Org(C::OrgId))
    }

    fn model(row: &contact::Model) -> &contact::Model {
        row
    }

    fn view(actor: &Actor, row: contact::Model) -> AppResult<ContactView> {
        Ok(ContactView::for_viewer(row, actor))
    }

    fn logged(_: &Actor, row: &contact::Model) -> AppResult<ContactView> {
        Ok(ContactView::for_log(row.clone()))
    }
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> AppResult<ContactView> {
    kernel::get::<Contacts>(ctx, actor, id).await
}

pub async fn list(ctx: &AppCtx, actor: &Actor, q: ContactQuery) -> AppResult<Page<ContactView>> {
    let mut f = Fields::new();
    let page = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.instant("updated_since", q.updated_since);
    f.finish()?;
    let page = checked(page)?;
    let mut select = kernel::visible::<Contacts>(ctx.db.get_database_backend(), actor.scope());
    if let Some(org) = q.org_id {
        select = select.filter(contact::Column::OrgId.eq(org));
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        select = select.filter(
            Expr::col(contact::Column::Name)
                .like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        );
    }
    if let Some(e) = q.external_id {
        select = select.filter(contact::Column::ExternalId.eq(e));
    }
    if let Some(since) = q.updated_since {
        select = select.filter(contact::Column::UpdatedAt.gte(since));
    }
    kernel::page::<Contacts>(ctx, actor, select, page).await
}

/// Batch read for GraphQL loaders: the readable, live contacts among `ids`, masked as
/// [`get`] masks them.
pub async fn get_many(
    ctx: &AppCtx,
    actor: &Actor,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, ContactView>> {
    kernel::get_many::<Contacts>(ctx, actor, ids).await
}

pub async fn create(ctx: &AppCtx, actor: &Actor, input: NewContact) -> AppResult<ContactView> {
    let (dir, tx) = kernel::begin(ctx).await?;
    let (owner, org_exists) = kernel::new_owner(&dir, actor, input.org_id);
    ensure_write(actor, actor.scope(), RecordKind::Contact, owner)?;

    let mut f = Fields::new();
    if !org_exists {
        f.push("org_id", "no such organization");
    }
    let name = f.check("name", Text::parse(&input.name, NAME_MAX));
    let title = f.check_opt("title", input.title.as_deref(), |t| {
        Text::parse(t, TITLE_MAX).map(Text::into_inner)
    });
    let phone = f.check_opt("phone", input.phone.as_deref(), parse_phone);
    let email = f.check_opt("email", input.email.as_deref(), parse_email);
    let external = records::external_id(&mut f, input.external_id.as_deref());
    f.finish()?;
    kernel::ensure_external_free::<Contacts>(
        &tx,
        actor,
        input.org_id,
        external.clone().flatten().as_deref(),
    )
    .await?;

    let id = Uuid::now_v7();
    let at = now();
    let inserted = contact::Entity::insert(contact::ActiveModel {
        id: Set(id),
        org_id: Set(input.org_id),
        name: Set(checked(name)?.into_inner()),
        title: Set(checked(title)?),
        phone: Set(checked(phone)?),
        email: Set(checked(email)?),
        version: Set(1),
        owner_org_id: Set(input.org_id),
        external_id: Set(checked(external)?),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_with_returning(&tx)
    .await?;
    kernel::created::<Contacts>(tx, actor, inserted).await
}

pub async fn update(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: ContactPatch,
) -> AppResult<ContactView> {
    let change = kernel::change::<Contacts>(ctx, actor, id, expected_version).await?;
    let current = &change.current;

    let mut f = Fields::new();
    let org_id = patch.org_id.unwrap_or(current.org_id);
    if org_id != current.org_id {
        // Moving a contact needs the right to write in the organization it moves to as well.
        let (owner, exists) = kernel::new_owner(&change.dir, actor, org_id);
        ensure_write(actor, actor.scope(), RecordKind::Contact, owner)?;
        if !exists {
            f.push("org_id", "no such organization");
        }
    }
    let name = match &patch.name {
        Some(n) => f
            .check("name", Text::parse(n, NAME_MAX))
            .map(Text::into_inner),
        None => Some(current.name.clone()),
    };
    let title =
        records::patch_nullable(&mut f, "title", &patch.title, current.title.clone(), |t| {
            Text::parse(t, TITLE_MAX).map(Text::into_inner)
        });
    let phone =
        records::patch_nullable(&mut f, "phone", &patch.phone, current.phone.clone(), |p| {
            parse_phone(p)
        });
    let email =
        records::patch_nullable(&mut f, "email", &patch.email, current.email.clone(), |e| {
            parse_email(e)
        });
    let external = records::patch_nullable(
        &mut f,
        "external_id",
        &patch.external_id,
        current.external_id.clone(),
        |e| Text::parse(e, records::EXTERNAL_ID_MAX).map(Text::into_inner),
    );
    f.finish()?;

    let mut model: contact::ActiveModel = current.clone().into();
    model.org_id = Set(org_id);
    model.owner_org_id = Set(org_id);
    model.name = Set(checked(name)?);
    model.title = Set(checked(title)?);
    model.phone = Set(checked(phone)?);
    model.email = Set(checked(email)?);
    model.external_id = Set(checked(external)?);
    change.save(model).await
}

pub async fn delete(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<()> {
    kernel::change::<Contacts>(ctx, actor, id, expected_version)
        .await?
        .delete()
        .await
}

/// Live contacts among `ids` that `scope` may read (for records that name contacts).
pub async fn readable_ids(
    db: &impl ConnectionTrait,
    scope: &Scope,
    ids: Vec<Uuid>,
) -> AppResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(contact::Entity::find()
        .filter(contact::Column::Id.is_in(ids))
        .filter(contact::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .filter(|m| scope.can_read_org(m.org_id))
        .map(|m| m.id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        authz::Scope,
        domain::{ActorKind, Role},
    };

    fn actor(role: Role, org: Option<Uuid>) -> Actor {
        let scope = std::sync::Arc::new(Scope::default());
        Actor::new(Uuid::now_v7(), ActorKind::User, role, org, None, scope)
    }

    fn model(org_id: Uuid) -> contact::Model {
        let at = chrono::Utc::now();
        contact::Model {
            id: Uuid::now_v7(),
            org_id,
            name: "联络员甲".into(),
            title: Some("联络员".into()),
            phone: Some("138-1234-5678".into()),
            email: Some("zhang@example.com".into()),
            version: 1,
            owner_org_id: org_id,
            external_id: None,
            created_at: at,
            updated_at: at,
            deleted_at: None,
        }
    }

    #[test]
    fn phones_keep_three_and_four_digits() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("138-1234-5678"), "138****5678");
        assert_eq!(mask_phone("+86 138 1234 5678"), "861****5678");
        assert_eq!(mask_phone("0851-12345678"), "085****5678");
        assert_eq!(mask_phone("8685-0370"), "****0370");
        assert_eq!(mask_phone("1234567"), "****");
        assert_eq!(mask_phone(""), "****");
    }

    #[test]
    fn emails_keep_the_first_character_and_the_domain() {
        assert_eq!(mask_email("zhang@example.com"), "z***@example.com");
        assert_eq!(mask_email("z@example.com"), "z***@example.com");
        assert_eq!(mask_email("张三@例子.中国"), "张***@例子.中国");
        assert_eq!(mask_email("broken"), "***");
    }

    #[test]
    fn phone_and_email_formats() {
        for good in ["13812345678", "+86 138 1234 5678", "0851-12345678", "12345"] {
            assert!(parse_phone(good).is_ok(), "{good}");
        }
        // As documents write numbers: an em dash (the 2019 plan's own), an en dash, full-width
        // digits and plus, an ideographic space; stored in ASCII.
        for (written, stored) in [
            ("0851—12345678", "0851-12345678"),
            ("0851–12345678", "0851-12345678"),
            ("０８５１－１２３４５６７８", "0851-12345678"),
            ("＋86\u{3000}138 1234 5678", "+86 138 1234 5678"),
        ] {
            assert_eq!(parse_phone(written).as_deref(), Ok(stored), "{written}");
        }
        // Letters and stray signs are refused.
        for bad in [
            "",
            "1234",
            "0851——",
            "138x1234",
            "0851_12345678",
            "+",
            "-13812345678",
            "++8613812345678",
        ] {
            assert!(parse_phone(bad).is_err(), "{bad}");
        }
        // Surrounding space is trimmed, not refused.
        assert_eq!(parse_phone(" 13812345678 ").as_deref(), Ok("13812345678"));
        for good in ["a@b.cn", "office@example.cn", "first.last@mail.example.org"] {
            assert!(parse_email(good).is_ok(), "{good}");
        }
        for bad in [
            "", "a", "a@b", "@b.cn", "a@@b.cn", "a@b@c.cn", "a@.cn", "a@b.", "a b@c.cn", "a@b..cn",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_view_masks_by_viewer() {
        let zunyi = Uuid::now_v7();
        let renhuai = Uuid::now_v7();
        let tongren = Uuid::now_v7();
        let m = model(renhuai);
        let own_subtree = Scope {
            subtree: [zunyi, renhuai].into_iter().collect(),
            orgs: [zunyi, renhuai].into_iter().collect(),
            ..Scope::default()
        };
        let elsewhere = Scope {
            subtree: [tongren].into_iter().collect(),
            orgs: [tongren, renhuai].into_iter().collect(),
            ..Scope::default()
        };
        let cases = [
            (actor(Role::Admin, None), Scope::everything(), false),
            (actor(Role::Coordinator, None), Scope::everything(), false),
            (actor(Role::Auditor, None), Scope::everything(), true),
            // 遵义 is above 仁怀, but the contact is 仁怀's own: masked for 遵义.
            (actor(Role::Editor, Some(zunyi)), own_subtree.clone(), true),
            (actor(Role::Editor, Some(renhuai)), own_subtree, false),
            (actor(Role::Editor, Some(tongren)), elsewhere.clone(), true),
            (actor(Role::Partner, Some(tongren)), elsewhere, true),
        ];
        for (who, _scope, masked) in cases {
            let view = ContactView::for_viewer(m.clone(), &who);
            assert_eq!(view.masked, masked, "{:?}", who.role);
            if masked {
                assert_eq!(view.phone.as_deref(), Some("138****5678"));
                assert_eq!(view.email.as_deref(), Some("z***@example.com"));
            } else {
                assert_eq!(view.phone.as_deref(), Some("138-1234-5678"));
                assert_eq!(view.email.as_deref(), Some("zhang@example.com"));
            }
        }
        let none = contact::Model {
            phone: None,
            email: None,
            ..model(renhuai)
        };
        let view = ContactView::for_log(none);
        assert_eq!((view.phone, view.email), (None, None));
    }
}
