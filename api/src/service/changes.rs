//! The change feed (`GET /api/v1/changes`): every create, update and delete of the records the
//! caller may read, in an order a poller can follow without ever skipping a change.
//!
//! Each change is appended by the kernel's write envelope in the transaction that makes it
//! ([`append`]), so the feed holds a change exactly when the change committed.
//!
//! **Order.** `seq` numbers the changes. On PostgreSQL a sequence alone would let a poller skip
//! a change: a transaction can take 7, another takes 8 and commits, a poller reads 8 and moves
//! past it, and then 7 commits. So [`append`] takes a transaction-level advisory lock before it
//! takes numbers, and every writer appends as the last write of its transaction: the lock is
//! held to the commit, numbers are taken in commit order, and by the time 8 is visible 7 has
//! committed or rolled back. Writers still run concurrently up to that point; only the append
//! and the commit take turns. SQLite runs one writer at a time (`AppCtx::begin_write`), which
//! gives the same order.
//!
//! **Scope.** A change keeps the record's scope columns before and after it (none after a
//! delete). A caller sees a change when it could read the record on either side, and sees it as
//! `delete` when it cannot read the record after it: a record moved out of the caller's view
//! leaves its copy as a tombstone, exactly as a deleted one does.

use chrono::{DateTime, Utc};
use entity::change;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{AppCtx, now};
use crate::{
    authz::{Actor, RecordKind, Scope},
    domain::{Fields, Int64, Limit, checked},
    error::{AppError, Result},
};

/// How the scope applies to a family's rows (the kernel's `Readable`, as stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Owner in the caller's subtree, or `key` (the pairing, if the family has one) among the
    /// caller's pairings.
    Record,
    /// `key` (an organization) among those the caller reads.
    Org,
    /// `key` (a pairing) among the caller's pairings.
    Pairing,
}

impl Rule {
    fn as_str(self) -> &'static str {
        match self {
            Self::Record => "record",
            Self::Org => "org",
            Self::Pairing => "pairing",
        }
    }

    fn from_db(text: &str) -> Result<Self> {
        match text {
            "record" => Ok(Self::Record),
            "org" => Ok(Self::Org),
            "pairing" => Ok(Self::Pairing),
            _ => Err(AppError::internal(format!("stored change rule {text}"))),
        }
    }
}

/// Who may read a record in one state: its owner and the column its family's rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keys {
    pub rule: Rule,
    pub owner: Uuid,
    pub key: Option<Uuid>,
}

impl Keys {
    /// Whether `scope` reads a record with these keys: the same answer as `kernel::can_read`.
    pub fn readable(&self, scope: &Scope) -> bool {
        match self.rule {
            Rule::Record => scope.can_read_record(self.owner, self.key),
            Rule::Org => self.key.is_some_and(|k| scope.can_read_org(k)),
            Rule::Pairing => self.key.is_some_and(|k| scope.can_read_pairing(k)),
        }
    }
}

/// One change to append.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub kind: RecordKind,
    pub record_id: Uuid,
    /// The record's version after the change (a delete bumps it too).
    pub version: i32,
    /// Who read the record before the change (none for a create).
    pub before: Option<Keys>,
    /// Who reads it after (none for a delete).
    pub after: Option<Keys>,
}

/// The record types the feed carries (`record_type` values).
pub const KINDS: [RecordKind; 14] = [
    RecordKind::Organization,
    RecordKind::Pairing,
    RecordKind::WorkingGroup,
    RecordKind::Contact,
    RecordKind::Plan,
    RecordKind::PlanTask,
    RecordKind::Project,
    RecordKind::FundTransaction,
    RecordKind::Exchange,
    RecordKind::Agreement,
    RecordKind::Evidence,
    RecordKind::LedgerSubmission,
    RecordKind::SelfAssessment,
    RecordKind::Statement,
];

/// The advisory lock the feed's writers take in turn (PostgreSQL): any fixed 64-bit key
/// (`xiezuo` in ASCII), shared with the migrations' backfill.
const FEED_LOCK: i64 = migration::feed_backfill::FEED_LOCK;

/// Appends `entries` in order: call with the transaction that makes the changes, so both commit
/// or neither, as its **last write** (an audit entry may follow): from here to the commit it
/// holds the feed's turn, and a row lock taken after it could deadlock with a writer waiting for
/// that turn. One statement per thousand entries ([`bulk::insert`](super::bulk::insert)).
pub async fn append(db: &impl ConnectionTrait, entries: &[Entry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        db.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({FEED_LOCK})"))
            .await?;
    }
    let at = now();
    let rows = entries
        .iter()
        .map(|e| {
            let keys = e.after.or(e.before).ok_or_else(|| {
                AppError::internal(format!("change of {} has no keys", e.record_id))
            })?;
            Ok(change::ActiveModel {
                seq: NotSet,
                record_type: Set(e.kind.as_str().to_string()),
                record_id: Set(e.record_id),
                version: Set(e.version),
                rule: Set(keys.rule.as_str().to_string()),
                before_owner: Set(e.before.map(|k| k.owner)),
                before_key: Set(e.before.and_then(|k| k.key)),
                after_owner: Set(e.after.map(|k| k.owner)),
                after_key: Set(e.after.and_then(|k| k.key)),
                changed_at: Set(at),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    super::bulk::insert::<change::Entity>(db, rows).await?;
    Ok(())
}

/// A position in the feed (the `seq` of the last change read): the changes after it come next.
/// Clients treat it as opaque and pass back the `next_after` they were given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position(i64);

impl Position {
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<i64>().ok())
            .flatten()
            .map(Self)
            .ok_or_else(|| "must be a next_after value the feed returned".to_string())
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `next_after` of the previous page; from the beginning when absent.
    pub after: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// Only these record types, comma-separated (`project,fund_transaction`).
    pub record_type: Option<String>,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, async_graphql::Enum,
)]
#[serde(rename_all = "snake_case")]
#[graphql(rename_items = "snake_case")]
pub enum ChangeOp {
    /// The record exists as of `version`: fetch it.
    Upsert,
    /// The record was deleted, or the caller can no longer read it.
    Delete,
}

#[derive(Clone, Debug, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct ChangeItem {
    /// The change's number: increasing along the feed, with gaps (a transaction that rolled
    /// back).
    pub seq: Int64,
    /// A `record_type` value (`project`, `fund_transaction`, …).
    pub record_type: String,
    pub record_id: Uuid,
    pub op: ChangeOp,
    /// The record's version after the change.
    pub version: i32,
    pub changed_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, ToSchema, async_graphql::SimpleObject)]
pub struct ChangePage {
    pub items: Vec<ChangeItem>,
    /// Where the next poll starts: pass it back as `after`. Equal to `after` when nothing new
    /// has committed.
    pub next_after: String,
}

/// The caller's scope over one side's columns: the SQL form of [`Keys::readable`].
fn readable_condition(scope: &Scope, owner: change::Column, key: change::Column) -> Condition {
    let ids = |set: &std::collections::HashSet<Uuid>| set.iter().copied().collect::<Vec<_>>();
    let rule = change::Column::Rule;
    Condition::any()
        .add(
            Condition::all().add(rule.eq(Rule::Record.as_str())).add(
                Condition::any()
                    .add(owner.is_in(ids(&scope.subtree)))
                    .add(key.is_in(ids(&scope.pairings))),
            ),
        )
        .add(
            Condition::all()
                .add(rule.eq(Rule::Org.as_str()))
                .add(key.is_in(ids(&scope.orgs))),
        )
        .add(
            Condition::all()
                .add(rule.eq(Rule::Pairing.as_str()))
                .add(key.is_in(ids(&scope.pairings))),
        )
}

/// One page of the feed after `q.after`, as the caller may read it: one statement.
pub async fn list(ctx: &AppCtx, actor: &Actor, q: ChangesQuery) -> Result<ChangePage> {
    let mut f = Fields::new();
    let limit = f.check("limit", Limit::parse(q.limit));
    let after = f.check_opt("after", q.after.as_deref(), Position::parse);
    let kinds = f.check_opt("record_type", q.record_type.as_deref(), parse_kinds);
    f.finish()?;
    let (limit, after, kinds) = (checked(limit)?, checked(after)?, checked(kinds)?);
    let after = after.unwrap_or_default();
    let items = read(
        &ctx.db,
        actor.scope(),
        after.0,
        kinds.as_deref(),
        limit.get(),
    )
    .await?;
    let next_after = items.last().map_or(after, |i| Position(i.seq.0));
    Ok(ChangePage {
        items,
        next_after: next_after.to_string(),
    })
}

/// Up to `limit` changes after `seq` that `scope` may read, of `kinds` (all without), in order:
/// one statement. (The feed for a caller, and for a webhook's subscriber.)
pub async fn read(
    db: &impl ConnectionTrait,
    scope: &Scope,
    seq: i64,
    kinds: Option<&[RecordKind]>,
    limit: u64,
) -> Result<Vec<ChangeItem>> {
    use change::Column as C;
    let mut select = change::Entity::find().filter(C::Seq.gt(seq));
    if !scope.all {
        select = select.filter(
            Condition::any()
                .add(readable_condition(scope, C::BeforeOwner, C::BeforeKey))
                .add(readable_condition(scope, C::AfterOwner, C::AfterKey)),
        );
    }
    if let Some(kinds) = kinds {
        select = select.filter(C::RecordType.is_in(kinds.iter().map(|k| k.as_str())));
    }
    let rows = select.order_by_asc(C::Seq).limit(limit).all(db).await?;
    rows.into_iter()
        .map(|r| {
            let after_keys = keys(&r.rule, r.after_owner, r.after_key)?;
            let op = match after_keys {
                Some(k) if k.readable(scope) => ChangeOp::Upsert,
                _ => ChangeOp::Delete,
            };
            Ok(ChangeItem {
                seq: Int64(r.seq),
                record_type: r.record_type,
                record_id: r.record_id,
                op,
                version: r.version,
                changed_at: r.changed_at,
            })
        })
        .collect()
}

/// The stored keys of one side, or `None` when the record did not exist on that side.
fn keys(rule: &str, owner: Option<Uuid>, key: Option<Uuid>) -> Result<Option<Keys>> {
    Ok(match owner {
        Some(owner) => Some(Keys {
            rule: Rule::from_db(rule)?,
            owner,
            key,
        }),
        None => None,
    })
}

/// A comma-separated list of the feed's record types.
pub fn parse_kinds(text: &str) -> std::result::Result<Vec<RecordKind>, String> {
    text.split(',')
        .map(|t| {
            let t = t.trim();
            KINDS
                .iter()
                .copied()
                .find(|k| k.as_str() == t)
                .ok_or_else(|| {
                    format!(
                        "{t:?} is not a record type of the feed ({})",
                        KINDS.map(RecordKind::as_str).join(", ")
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_refuse_anything_else() {
        let p = Position(7401);
        assert_eq!(Position::parse(&p.to_string()), Ok(p));
        assert_eq!(Position::parse("0"), Ok(Position::default()));
        for bad in ["", "1.2", "-1", "+1", "a", " 1", "99999999999999999999"] {
            assert!(Position::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_read_as_the_family_rule_says() {
        let (own, other, pairing) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let scope = Scope {
            all: false,
            subtree: [own].into(),
            orgs: [own, other].into(),
            pairings: [pairing].into(),
        };
        let record = |owner, key| Keys {
            rule: Rule::Record,
            owner,
            key,
        };
        assert!(record(own, None).readable(&scope));
        assert!(record(other, Some(pairing)).readable(&scope));
        assert!(!record(other, None).readable(&scope));
        assert!(!record(other, Some(Uuid::now_v7())).readable(&scope));
        let org = |key| Keys {
            rule: Rule::Org,
            owner: own,
            key,
        };
        assert!(org(Some(other)).readable(&scope));
        assert!(!org(Some(Uuid::now_v7())).readable(&scope));
        assert!(!org(None).readable(&scope));
        let pairing_rule = |key| Keys {
            rule: Rule::Pairing,
            owner: own,
            key,
        };
        assert!(pairing_rule(Some(pairing)).readable(&scope));
        assert!(!pairing_rule(Some(other)).readable(&scope));
        assert!(
            Keys {
                rule: Rule::Org,
                owner: own,
                key: Some(Uuid::now_v7())
            }
            .readable(&Scope::everything())
        );
    }

    #[test]
    fn record_types_are_the_feed_s() {
        assert_eq!(
            parse_kinds("project, fund_transaction"),
            Ok(vec![RecordKind::Project, RecordKind::FundTransaction])
        );
        assert!(parse_kinds("user").is_err());
        assert!(parse_kinds("project,").is_err());
    }
}
