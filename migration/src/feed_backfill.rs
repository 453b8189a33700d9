//! Change-feed rows for live records that have none: the records written before the feed
//! existed (run by the migration that adds it), and those the seed inserts directly (run by the
//! seed in its transaction). With them, a partner system that follows the feed from the start
//! learns of every record, not only of those changed since.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DbBackend},
};

/// Each family's table, `record_type`, scope rule and the column its rule looks at (see the
/// service's `kernel::Readable`).
const FAMILIES: [(&str, &str, &str, &str); 13] = [
    ("organizations", "organization", "org", "id"),
    ("pairings", "pairing", "pairing", "id"),
    ("working_groups", "working_group", "org", "org_id"),
    ("contacts", "contact", "org", "org_id"),
    ("plans", "plan", "org", "org_id"),
    ("plan_tasks", "plan_task", "org", "owner_org_id"),
    ("projects", "project", "record", "pairing_id"),
    (
        "fund_transactions",
        "fund_transaction",
        "record",
        "pairing_id",
    ),
    ("exchanges", "exchange", "record", "pairing_id"),
    ("agreements", "agreement", "record", "pairing_id"),
    ("evidence", "evidence", "record", "pairing_id"),
    ("ledger_submissions", "ledger_submission", "record", "NULL"),
    (
        "self_assessments",
        "self_assessment",
        "record",
        "pairing_id",
    ),
];

/// The advisory lock the feed's writers take in turn on PostgreSQL (the service's
/// `changes::FEED_LOCK`).
pub const FEED_LOCK: i64 = 0x7869_657a_756f;

/// Appends an `upsert` for every live record without a feed row, oldest first; returns how many.
/// Call as the transaction's last write (it takes the feed's turn on PostgreSQL).
pub async fn backfill(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({FEED_LOCK})"))
            .await?;
    }
    let mut added = 0;
    for (table, record_type, rule, key) in FAMILIES {
        let key = if key == "NULL" {
            "NULL".to_string()
        } else {
            format!("t.{key}")
        };
        let sql = format!(
            "INSERT INTO changes (record_type, record_id, version, rule, before_owner, \
             before_key, after_owner, after_key, changed_at) \
             SELECT '{record_type}', t.id, t.version, '{rule}', NULL, NULL, t.owner_org_id, \
             {key}, t.updated_at FROM {table} t \
             WHERE t.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM changes c \
             WHERE c.record_type = '{record_type}' AND c.record_id = t.id) \
             ORDER BY t.id"
        );
        added += db.execute_unprepared(&sql).await?.rows_affected();
    }
    Ok(added)
}
