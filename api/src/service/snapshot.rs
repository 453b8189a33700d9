//! One snapshot read on two connections (PostgreSQL). A transaction that reads one snapshot
//! throughout ([`super::AppCtx::begin_write_snapshot`]) exports it, and a second connection of
//! the pool imports it to run a read beside the first: the server gives that read its second
//! core while the first connection runs its long statement, and both see the database as of
//! the same moment.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::error::{AppError, Result};

/// How long a read waits for a second connection before the caller does without one.
const WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// The name of `tx`'s snapshot, for another connection to import while `tx` is open. `tx` must
/// read one snapshot throughout (`REPEATABLE READ`): a `READ COMMITTED` transaction would
/// export the snapshot of this one statement.
pub async fn export(tx: &impl ConnectionTrait) -> Result<String> {
    let row = tx
        .query_one_raw(Statement::from_string(
            tx.get_database_backend(),
            "SELECT pg_export_snapshot() AS s",
        ))
        .await?
        .ok_or_else(|| AppError::internal("pg_export_snapshot returned no row"))?;
    Ok(row.try_get("", "s")?)
}

/// The first row of `sql` (`N` integers named `c0`, `c1`, …) read in the exported `snapshot`
/// on a second connection of the pool. `None` when the pool has no connection to give within
/// [`WAIT`] (callers that each held one and waited long for a second would stall the pool) or
/// when reading failed (logged): the caller then reads it on its own connection, in the same
/// snapshot, and gets the same answer later.
pub async fn counts_beside<const N: usize>(
    db: &DatabaseConnection,
    snapshot: &str,
    sql: &str,
) -> Option<[i64; N]> {
    use sea_orm::sqlx::{self, AssertSqlSafe, Connection, Row};
    // A snapshot's name is hexadecimal digits and dashes; it is written into the statement.
    if snapshot.is_empty() || !snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return None;
    }
    let pool = db.get_postgres_connection_pool();
    let mut conn = tokio::time::timeout(WAIT, pool.acquire())
        .await
        .ok()?
        .ok()?;
    let read = async {
        let mut tx = conn
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        // Before any other statement: the first would take a snapshot of its own.
        sqlx::raw_sql(AssertSqlSafe(format!(
            "SET TRANSACTION SNAPSHOT '{snapshot}'"
        )))
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(AssertSqlSafe(sql.to_owned()))
            .persistent(false)
            .fetch_one(&mut *tx)
            .await?;
        let mut out = [0; N];
        for (i, n) in out.iter_mut().enumerate() {
            *n = row.try_get(format!("c{i}").as_str())?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(out)
    };
    match read.await {
        Ok(counts) => Some(counts),
        Err(error) => {
            tracing::warn!(%error, "reading beside a snapshot transaction; the caller reads it");
            None
        }
    }
}
