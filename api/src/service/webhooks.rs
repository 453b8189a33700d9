//! Webhooks: the change feed pushed to a partner system. A subscription names a URL, the record
//! types and a secret; every change its subscriber may read becomes a delivery, a signed POST of
//! that change (`X-Xiezuo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as
//! Stripe signs), retried with exponential backoff until the receiver answers 2xx.
//!
//! Everything lives in the database, so deliveries survive a restart, and several replicas share
//! the work: the dispatcher turns feed entries into deliveries under a row lock on the
//! subscription (`FOR UPDATE SKIP LOCKED`), and the deliverer claims due deliveries the same way,
//! pushing their next attempt past a lease before it sends, so no two replicas send one at once.
//! A replica that dies mid-send leaves its claim to expire and the delivery is sent again: at
//! least once, with `X-Xiezuo-Delivery` for the receiver to drop a repeat.

use std::{net::IpAddr, time::Duration};

use chrono::{DateTime, Utc};
use entity::{webhook, webhook_delivery};
use hmac::{Hmac, Mac};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{LockBehavior, LockType},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    AppCtx, Page,
    changes::{self, ChangeItem, ChangeOp},
    now,
    records::{PageArgs, fetch_page},
};
use crate::{
    authz::Actor,
    domain::{Fields, Role, checked},
    error::{AppError, Result},
};

/// The longest secret accepted, and the shortest (a guessable key signs nothing).
pub const SECRET_LEN: std::ops::RangeInclusive<usize> = 16..=256;
/// The longest URL accepted, in characters.
pub const URL_MAX: usize = 2048;
/// Changes turned into deliveries per subscription and round.
const DISPATCH_BATCH: u64 = 500;
/// Deliveries one replica claims per round.
const CLAIM_BATCH: u64 = 16;
/// How long a claim keeps other replicas off a delivery being sent.
const LEASE: Duration = Duration::from_secs(60);
/// How long a receiver may take to answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long resolving a webhook's host may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest wait between two attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `http` or `https`; must not resolve to a loopback, private or link-local address.
    pub url: String,
    /// The `record_type` values to deliver (`project`, `fund_transaction`, …).
    pub record_types: Vec<String>,
    /// The HMAC-SHA256 key of the signature, 16–256 characters. Never shown again.
    pub secret: String,
    /// The organization the subscription belongs to; the caller's own by default.
    pub org_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub record_types: Vec<String>,
    pub owner_org_id: Uuid,
    /// The subscriber's role when it subscribed. Deliveries follow what the subscriber's
    /// account may read when each change is dispatched, and wait while the account is
    /// disabled, deleted or in another organization.
    pub subscriber_role: Role,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Also sent as `X-Xiezuo-Delivery`.
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub seq: i64,
    pub record_type: String,
    pub record_id: Uuid,
    pub op: ChangeOp,
    pub version: i32,
    /// `pending`, `delivered`, `failed` (every attempt used) or `cancelled` (the subscription
    /// was deleted first).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// The receiver's last HTTP status, if it answered.
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The body of a delivery: one change.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    delivery_id: Uuid,
    webhook_id: Uuid,
    seq: i64,
    record_type: &'a str,
    record_id: Uuid,
    op: &'a str,
    version: i32,
    changed_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WebhookListQuery {
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn view(m: webhook::Model) -> Result<WebhookView> {
    Ok(WebhookView {
        id: m.id,
        url: m.url,
        record_types: m
            .record_types
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        owner_org_id: m.owner_org_id,
        subscriber_role: Role::from_db(&m.subscriber_role)?,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn delivery_view(m: webhook_delivery::Model) -> Result<DeliveryView> {
    Ok(DeliveryView {
        id: m.id,
        webhook_id: m.webhook_id,
        seq: m.seq,
        record_type: m.record_type,
        record_id: m.record_id,
        op: op_from_db(&m.op)?,
        version: m.version,
        status: m.status,
        attempts: m.attempts,
        next_attempt_at: m.next_attempt_at,
        last_status_code: m.last_status_code,
        last_error: m.last_error,
        delivered_at: m.delivered_at,
        created_at: m.created_at,
    })
}

fn op_str(op: ChangeOp) -> &'static str {
    match op {
        ChangeOp::Upsert => "upsert",
        ChangeOp::Delete => "delete",
    }
}

fn op_from_db(text: &str) -> Result<ChangeOp> {
    match text {
        "upsert" => Ok(ChangeOp::Upsert),
        "delete" => Ok(ChangeOp::Delete),
        _ => Err(AppError::internal(format!("stored delivery op {text}"))),
    }
}

/// Who may subscribe: the roles that write, each for its own organization (admin for any).
const SUBSCRIBERS: [Role; 4] = [Role::Admin, Role::Coordinator, Role::Editor, Role::Partner];

/// Whether `actor` manages the subscriptions of `org_id`.
fn manages(actor: &Actor, org_id: Uuid) -> bool {
    actor.role == Role::Admin || actor.org_id == Some(org_id)
}

/// A live subscription the caller manages; `NotFound` otherwise.
async fn owned(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<webhook::Model> {
    match webhook::Entity::find_by_id(id)
        .filter(webhook::Column::DeletedAt.is_null())
        .one(db)
        .await?
    {
        Some(w) if manages(actor, w.owner_org_id) => Ok(w),
        _ => Err(AppError::NotFound),
    }
}

pub async fn create(ctx: &AppCtx, actor: &Actor, input: NewWebhook) -> Result<WebhookView> {
    crate::authz::ensure_role(actor, &SUBSCRIBERS)?;
    let mut f = Fields::new();
    let org_id = match input.org_id.or(actor.org_id) {
        Some(org) if manages(actor, org) => Some(org),
        Some(_) => {
            f.push("org_id", "must be your own organization");
            None
        }
        None => {
            f.push("org_id", "is needed: name the organization that subscribes");
            None
        }
    };
    let url = f.check(
        "url",
        check_url(&input.url, ctx.config.webhook_allow_private).await,
    );
    let kinds = if input.record_types.is_empty() {
        f.push("record_types", "must name at least one record type");
        None
    } else {
        f.check(
            "record_types",
            changes::parse_kinds(&input.record_types.join(",")),
        )
    };
    let secret_len = input.secret.chars().count();
    if !SECRET_LEN.contains(&secret_len) {
        f.push(
            "secret",
            format!(
                "must be {} to {} characters",
                SECRET_LEN.start(),
                SECRET_LEN.end()
            ),
        );
    }
    f.finish()?;
    let (org_id, url, kinds) = (checked(org_id)?, checked(url)?, checked(kinds)?);
    let dir = ctx.directory.get(&ctx.db).await?;
    if dir.live_owner(org_id).is_none() {
        return Err(AppError::field("org_id", "no such organization"));
    }

    let at = now();
    let tx = ctx.begin_write().await?;
    // Deliveries start with what changes from now on: the feed's current end.
    let cursor: Option<i64> = entity::change::Entity::find()
        .select_only()
        .column_as(entity::change::Column::Seq.max(), "seq")
        .into_tuple::<Option<i64>>()
        .one(&tx)
        .await?
        .flatten();
    let model = webhook::ActiveModel {
        id: Set(Uuid::now_v7()),
        url: Set(url),
        record_types: Set(kinds
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(",")),
        secret: Set(input.secret),
        subscriber_role: Set(actor.role.as_str().to_string()),
        created_by: Set(actor.id),
        cursor: Set(cursor.unwrap_or(0)),
        version: Set(1),
        owner_org_id: Set(org_id),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    };
    let inserted = model.insert(&tx).await?;
    tx.commit().await?;
    view(inserted)
}

pub async fn list(ctx: &AppCtx, actor: &Actor, q: WebhookListQuery) -> Result<Page<WebhookView>> {
    crate::authz::ensure_role(actor, &SUBSCRIBERS)?;
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.finish()?;
    let args = checked(args)?;
    let mut select = webhook::Entity::find().filter(webhook::Column::DeletedAt.is_null());
    if actor.role != Role::Admin {
        select = select.filter(webhook::Column::OwnerOrgId.eq(actor.org_id.unwrap_or_default()));
    }
    let rows = fetch_page(&ctx.db, select, webhook::Column::Id, args).await?;
    let page = Page::from_rows(rows, args.limit.get(), |w| w.id);
    Ok(Page {
        items: page.items.into_iter().map(view).collect::<Result<_>>()?,
        next_cursor: page.next_cursor,
    })
}

pub async fn get(ctx: &AppCtx, actor: &Actor, id: Uuid) -> Result<WebhookView> {
    view(owned(&ctx.db, actor, id).await?)
}

/// Ends a subscription: nothing more is delivered, its log stays.
pub async fn delete(ctx: &AppCtx, actor: &Actor, id: Uuid, expected: Option<i32>) -> Result<()> {
    let tx = ctx.begin_write().await?;
    let current = owned(&tx, actor, id).await?;
    super::check_version(expected, current.version)?;
    let mut model: webhook::ActiveModel = current.clone().into();
    model.deleted_at = Set(Some(now()));
    super::save_versioned::<webhook::Entity>(
        &tx,
        model,
        id,
        current.version,
        [
            webhook::Column::Id,
            webhook::Column::Version,
            webhook::Column::UpdatedAt,
        ],
    )
    .await?;
    // Its retries would only find the subscription gone; they end here.
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            sea_orm::sea_query::Expr::val("cancelled"),
        )
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .filter(webhook_delivery::Column::Status.eq("pending"))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The delivery log of a subscription, oldest first.
pub async fn deliveries(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    q: WebhookListQuery,
) -> Result<Page<DeliveryView>> {
    let mut f = Fields::new();
    let args = PageArgs::parse(&mut f, q.limit, q.cursor.as_deref());
    f.finish()?;
    let args = checked(args)?;
    owned(&ctx.db, actor, id).await?;
    let select =
        webhook_delivery::Entity::find().filter(webhook_delivery::Column::WebhookId.eq(id));
    let rows = fetch_page(&ctx.db, select, webhook_delivery::Column::Id, args).await?;
    let page = Page::from_rows(rows, args.limit.get(), |d| d.id);
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(delivery_view)
            .collect::<Result<_>>()?,
        next_cursor: page.next_cursor,
    })
}

/// Sends a delivery again, whatever became of it: it is due now, with a fresh set of attempts.
pub async fn resend(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    delivery_id: Uuid,
) -> Result<DeliveryView> {
    let tx = ctx.begin_write().await?;
    owned(&tx, actor, id).await?;
    let delivery = webhook_delivery::Entity::find_by_id(delivery_id)
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .one(&tx)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut model: webhook_delivery::ActiveModel = delivery.into();
    model.status = Set("pending".into());
    model.attempts = Set(0);
    model.next_attempt_at = Set(now());
    let saved = model.update(&tx).await?;
    tx.commit().await?;
    delivery_view(saved)
}

/// Whether a webhook may be sent to `ip` without `XIEZUO_WEBHOOK_ALLOW_PRIVATE`: not loopback,
/// private, link-local, shared (carrier-grade NAT), unspecified, broadcast or multicast, nor an
/// IPv6 unique-local or link-local address, nor an IPv4 address mapped into IPv6 that is one.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// A webhook URL: `http` or `https` with a host, no credentials, and (unless private
/// addresses are allowed) resolving to public addresses only.
pub async fn check_url(text: &str, allow_private: bool) -> std::result::Result<String, String> {
    let text = text.trim();
    if text.chars().count() > URL_MAX {
        return Err(format!("must be at most {URL_MAX} characters"));
    }
    let url = reqwest::Url::parse(text).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    let host = url
        .host_str()
        .ok_or_else(|| "must name a host".to_string())?;
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<IpAddr> =
        tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| {
                format!(
                    "{host} did not resolve within {} s",
                    LOOKUP_TIMEOUT.as_secs()
                )
            })?
            .map_err(|_| format!("{host} does not resolve"))?
            .map(|a| a.ip())
            .collect();
    if addrs.is_empty() {
        return Err(format!("{host} does not resolve"));
    }
    if !allow_private && !addrs.iter().all(|ip| is_public(*ip)) {
        return Err(format!(
            "{host} resolves to a loopback, private or link-local address"
        ));
    }
    Ok(url.to_string())
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={hex}")
}

/// The wait after failed attempt `attempts` (1, 2, …): `base`, doubling, at most 6 hours.
pub fn backoff(base: Duration, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    base.saturating_mul(1 << doublings).min(BACKOFF_MAX)
}

/// Locks the rows a replica takes for itself (PostgreSQL); SQLite has one writer anyway.
fn skip_locked<S: QuerySelect>(select: S, backend: DbBackend) -> S {
    if backend == DbBackend::Postgres {
        select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
    } else {
        select
    }
}

/// Turns the feed's new entries into deliveries, for every subscription no other replica is
/// dispatching: one transaction. Returns how many deliveries it made.
pub async fn dispatch(ctx: &AppCtx) -> Result<usize> {
    let dir = ctx.directory.get(&ctx.db).await?;
    let tx = ctx.begin_write().await?;
    let backend = tx.get_database_backend();
    let hooks = skip_locked(
        webhook::Entity::find().filter(webhook::Column::DeletedAt.is_null()),
        backend,
    )
    .all(&tx)
    .await?;
    let accounts = subscribers(&tx, hooks.iter().map(|h| h.created_by).collect()).await?;
    let mut made = 0;
    for hook in hooks {
        // The subscriber's account as it is now: a disabled or deleted one, or one moved to
        // another organization, no longer speaks for the subscription, which waits (its cursor
        // stays) until the account does again.
        let Some(&(role, org)) = accounts.get(&hook.created_by) else {
            continue;
        };
        if role != Role::Admin && org != Some(hook.owner_org_id) {
            continue;
        }
        let scope = dir.scope(role, Some(hook.owner_org_id));
        let kinds = changes::parse_kinds(&hook.record_types).map_err(AppError::internal)?;
        let items = changes::read(&tx, &scope, hook.cursor, Some(&kinds), DISPATCH_BATCH).await?;
        let Some(last) = items.last().map(|i| i.seq.0) else {
            continue;
        };
        let at = now();
        let rows = items
            .iter()
            .map(|i: &ChangeItem| webhook_delivery::ActiveModel {
                id: Set(Uuid::now_v7()),
                webhook_id: Set(hook.id),
                seq: Set(i.seq.0),
                record_type: Set(i.record_type.clone()),
                record_id: Set(i.record_id),
                op: Set(op_str(i.op).into()),
                version: Set(i.version),
                changed_at: Set(i.changed_at),
                status: Set("pending".into()),
                attempts: Set(0),
                next_attempt_at: Set(at),
                last_status_code: Set(None),
                last_error: Set(None),
                delivered_at: Set(None),
                created_at: Set(at),
            });
        made += items.len();
        webhook_delivery::Entity::insert_many(rows.collect::<Vec<_>>())
            .exec_without_returning(&tx)
            .await?;
        webhook::Entity::update_many()
            .col_expr(webhook::Column::Cursor, sea_orm::sea_query::Expr::val(last))
            .filter(webhook::Column::Id.eq(hook.id))
            .exec(&tx)
            .await?;
    }
    tx.commit().await?;
    Ok(made)
}

/// The live, enabled accounts (users and service accounts) among `ids`: their role and
/// organization now. Two statements.
async fn subscribers(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<std::collections::HashMap<Uuid, (Role, Option<Uuid>)>> {
    use entity::{service_account, user};
    let mut out = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let users: Vec<(Uuid, String, Option<Uuid>)> = user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::Role, user::Column::OrgId])
        .filter(user::Column::Id.is_in(ids.clone()))
        .filter(user::Column::Disabled.eq(false))
        .filter(user::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    let services: Vec<(Uuid, String, Option<Uuid>)> = service_account::Entity::find()
        .select_only()
        .columns([
            service_account::Column::Id,
            service_account::Column::Role,
            service_account::Column::OrgId,
        ])
        .filter(service_account::Column::Id.is_in(ids))
        .filter(service_account::Column::Disabled.eq(false))
        .filter(service_account::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    for (id, role, org) in users.into_iter().chain(services) {
        out.insert(id, (Role::from_db(&role)?, org));
    }
    Ok(out)
}

/// Claims the due deliveries no other replica holds (their next attempt moves a lease ahead),
/// sends each, and records the outcome. Returns how many it sent.
pub async fn deliver(ctx: &AppCtx, client: &reqwest::Client) -> Result<usize> {
    let claimed = {
        let tx = ctx.begin_write().await?;
        let backend = tx.get_database_backend();
        let at = now();
        let due = skip_locked(
            webhook_delivery::Entity::find()
                .filter(webhook_delivery::Column::Status.eq("pending"))
                .filter(webhook_delivery::Column::NextAttemptAt.lte(at))
                .order_by_asc(webhook_delivery::Column::NextAttemptAt)
                .order_by_asc(webhook_delivery::Column::Seq)
                .limit(CLAIM_BATCH),
            backend,
        )
        .all(&tx)
        .await?;
        let lease = at + chrono::Duration::from_std(LEASE).unwrap_or_default();
        if !due.is_empty() {
            webhook_delivery::Entity::update_many()
                .col_expr(
                    webhook_delivery::Column::NextAttemptAt,
                    sea_orm::sea_query::Expr::val(lease),
                )
                .filter(webhook_delivery::Column::Id.is_in(due.iter().map(|d| d.id)))
                .exec(&tx)
                .await?;
        }
        tx.commit().await?;
        due
    };
    let sent = claimed.len();
    for delivery in claimed {
        let hook = webhook::Entity::find_by_id(delivery.webhook_id)
            .one(&ctx.db)
            .await?;
        let outcome = match &hook {
            Some(h) if h.deleted_at.is_none() => send(ctx, client, h, &delivery).await,
            _ => Err((None, "the subscription was deleted".to_string())),
        };
        record(ctx, delivery, outcome).await?;
    }
    Ok(sent)
}

/// One attempt: `Ok(status)` on a 2xx answer, else the status (if any) and why.
async fn send(
    ctx: &AppCtx,
    client: &reqwest::Client,
    hook: &webhook::Model,
    delivery: &webhook_delivery::Model,
) -> std::result::Result<u16, (Option<u16>, String)> {
    // Checked again at each attempt: the name may resolve elsewhere now.
    let url = check_url(&hook.url, ctx.config.webhook_allow_private)
        .await
        .map_err(|why| (None, format!("url {why}")))?;
    let body = serde_json::to_vec(&Payload {
        delivery_id: delivery.id,
        webhook_id: hook.id,
        seq: delivery.seq,
        record_type: &delivery.record_type,
        record_id: delivery.record_id,
        op: &delivery.op,
        version: delivery.version,
        changed_at: delivery.changed_at,
    })
    .map_err(|e| (None, e.to_string()))?;
    let timestamp = now().timestamp();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-xiezuo-delivery", delivery.id.to_string())
        .header(
            "x-xiezuo-signature",
            signature(&hook.secret, timestamp, &body),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| (None, format!("no answer: {e}")))?;
    let status = response.status();
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err((Some(status.as_u16()), format!("answered {status}")))
    }
}

/// Keeps the outcome of an attempt: delivered, due again after the backoff, or failed for good.
async fn record(
    ctx: &AppCtx,
    delivery: webhook_delivery::Model,
    outcome: std::result::Result<u16, (Option<u16>, String)>,
) -> Result<()> {
    let attempts = delivery.attempts + 1;
    let mut model: webhook_delivery::ActiveModel = delivery.into();
    model.attempts = Set(attempts);
    let at = now();
    match outcome {
        Ok(code) => {
            model.status = Set("delivered".into());
            model.last_status_code = Set(Some(i32::from(code)));
            model.last_error = Set(None);
            model.delivered_at = Set(Some(at));
        }
        Err((code, why)) => {
            tracing::warn!(attempts, error = %why, "webhook delivery failed");
            model.last_status_code = Set(code.map(i32::from));
            model.last_error = Set(Some(why));
            if attempts >= ctx.config.webhook_max_attempts {
                model.status = Set("failed".into());
            } else {
                let wait = backoff(
                    Duration::from_millis(ctx.config.webhook_retry_base_ms),
                    attempts,
                );
                model.next_attempt_at =
                    Set(at + chrono::Duration::from_std(wait).unwrap_or_default());
            }
        }
    }
    let tx = ctx.begin_write().await?;
    model.update(&tx).await?;
    tx.commit().await?;
    Ok(())
}

/// The deliverer: dispatches and delivers every `XIEZUO_WEBHOOK_POLL_MS`, for as long as the
/// process runs. Errors are logged and the next round tries again.
pub async fn run(ctx: AppCtx) {
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(SEND_TIMEOUT)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: no HTTP client; nothing will be delivered");
            return;
        }
    };
    let pause = Duration::from_millis(ctx.config.webhook_poll_ms.max(10));
    loop {
        let round = async {
            dispatch(&ctx).await?;
            deliver(&ctx, &client).await
        };
        match round.await {
            // A full claim: more may be due; go again at once.
            Ok(n) if n as u64 == CLAIM_BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "webhooks: a round failed"),
        }
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_over_timestamp_and_body() {
        // RFC 4231 test case 2 ("Jefe"), split as "<t>.<body>" would be.
        let sig = signature("Jefe", 0, b"what do ya want for nothing?");
        let expected_mac = {
            let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(b"Jefe")
                .unwrap_or_else(|_| unreachable!());
            mac.update(b"0.what do ya want for nothing?");
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        assert_eq!(sig, format!("t=0,v1={expected_mac}"));
        let rfc = signature("Jefe", 1_700_000_000, b"x");
        assert!(rfc.starts_with("t=1700000000,v1=") && rfc.len() == "t=1700000000,v1=".len() + 64);
        assert_ne!(signature("Jefe", 1, b"x"), signature("Jefe", 2, b"x"));
        assert_ne!(signature("Jefe", 1, b"x"), signature("Jeff", 1, b"x"));
    }

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(
                !is_public(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"))),
                "{ip}"
            );
        }
        for ip in [
            "8.8.8.8",
            "101.6.6.6",
            "100.128.0.1",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            assert!(
                is_public(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"))),
                "{ip}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_six_hours() {
        let base = Duration::from_secs(10);
        assert_eq!(backoff(base, 1), Duration::from_secs(10));
        assert_eq!(backoff(base, 2), Duration::from_secs(20));
        assert_eq!(backoff(base, 4), Duration::from_secs(80));
        assert_eq!(backoff(base, 40), BACKOFF_MAX);
        assert_eq!(backoff(base, 0), base);
    }

    #[tokio::test]
    async fn urls_are_checked() {
        assert!(check_url("http://127.0.0.1:9/hook", false).await.is_err());
        assert!(check_url("http://127.0.0.1:9/hook", true).await.is_ok());
        assert!(check_url("http://localhost/hook", false).await.is_err());
        assert!(check_url("http://[::1]/hook", false).await.is_err());
        assert!(check_url("ftp://8.8.8.8/hook", true).await.is_err());
        assert!(check_url("https://user:pw@8.8.8.8/", true).await.is_err());
        assert!(check_url("not a url", true).await.is_err());
        assert!(check_url("https://8.8.8.8/hook", false).await.is_ok());
    }
}
