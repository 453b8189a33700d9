//! Multi-row inserts, for the writes that add many rows at once (a sync batch, its feed
//! entries, an import).
//!
//! On PostgreSQL a chunk of rows goes as one JSON array, expanded by `json_populate_recordset`
//! over the table's own row type: one bound parameter instead of one per value. A chunk of 1,000
//! fund transactions took 36 ms as 12,000 bound values and 19 ms as one JSON text (`psql`,
//! prepared statements, same table and indexes); the parse and plan of a 12,000-parameter
//! `VALUES` list is most of the difference. On SQLite: sea-orm's multi-row insert, in chunks
//! under SQLite's bound-parameter limit.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, IdenStatic,
    Iterable, QueryTrait, Statement, Value,
};

use crate::error::{AppError, Result};

/// Rows per statement.
pub const CHUNK: usize = 1_000;

/// SQLite's bound-parameter limit (32,766 since 3.32).
const SQLITE_PARAMS: usize = 32_766;

/// Inserts `rows`, a statement per [`CHUNK`] (fewer rows per statement on SQLite for a wide
/// table). Every row sets the same columns (an internal error otherwise); the others take
/// their defaults.
pub async fn insert<E: EntityTrait>(
    db: &impl ConnectionTrait,
    rows: impl IntoIterator<Item = E::ActiveModel>,
) -> Result<()>
where
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    write::<E>(db, rows.into_iter().collect(), false).await?;
    Ok(())
}

/// [`insert`], returning the stored rows (in no particular order).
pub async fn insert_returning<E: EntityTrait>(
    db: &impl ConnectionTrait,
    rows: Vec<E::ActiveModel>,
) -> Result<Vec<E::Model>>
where
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    E::Model: FromQueryResult,
{
    write::<E>(db, rows, true).await
}

async fn write<E: EntityTrait>(
    db: &impl ConnectionTrait,
    rows: Vec<E::ActiveModel>,
    returning: bool,
) -> Result<Vec<E::Model>>
where
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    E::Model: FromQueryResult,
{
    let mut stored = Vec::new();
    let Some(first) = rows.first() else {
        return Ok(stored);
    };
    let columns: Vec<E::Column> = E::Column::iter().filter(|c| given(first, *c)).collect();
    let table = E::default().table_name().to_string();
    if let Some(n) = rows
        .iter()
        .position(|row| E::Column::iter().any(|c| given(row, c) != given(first, c)))
    {
        return Err(AppError::internal(format!(
            "a bulk insert into {table} sets other columns in row {n} than in its first row"
        )));
    }
    let backend = db.get_database_backend();
    let list = columns
        .iter()
        .map(|c| format!("\"{}\"", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO \"{table}\" ({list}) SELECT {list} \
         FROM json_populate_recordset(NULL::\"{table}\", CAST($1 AS json)){}",
        if returning { " RETURNING *" } else { "" }
    );
    let per_statement = match backend {
        DbBackend::Postgres => CHUNK,
        _ => CHUNK.min(SQLITE_PARAMS / columns.len().max(1)),
    };
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<E::ActiveModel> = rows.by_ref().take(per_statement).collect();
        if backend != DbBackend::Postgres {
            let mut insert = E::insert_many(chunk);
            if returning {
                insert.query().returning_all();
                let statement = insert.build(backend);
                stored.extend(E::Model::find_by_statement(statement).all(db).await?);
            } else {
                insert.exec_without_returning(db).await?;
            }
            continue;
        }
        let json = chunk
            .iter()
            .map(|row| {
                columns
                    .iter()
                    .map(|c| {
                        let value = row.get(*c).into_value().unwrap_or(Value::Int(None));
                        Ok((c.as_str().to_string(), json_value(&value)?))
                    })
                    .collect::<Result<serde_json::Map<_, _>>>()
                    .map(serde_json::Value::Object)
            })
            .collect::<Result<Vec<_>>>()?;
        let statement = Statement::from_sql_and_values(
            backend,
            sql.clone(),
            [serde_json::Value::Array(json).to_string().into()],
        );
        if returning {
            stored.extend(E::Model::find_by_statement(statement).all(db).await?);
        } else {
            db.execute_raw(statement).await?;
        }
    }
    Ok(stored)
}

/// Whether `row` gives column `c` a value: set, or unchanged (a model turned into a row).
fn given<A: ActiveModelTrait>(row: &A, c: <A::Entity as EntityTrait>::Column) -> bool {
    row.get(c).into_value().is_some()
}

/// A column value as `json_populate_recordset` reads it into the column's type: numbers and
/// booleans as themselves, uuids, text, dates and instants (RFC 3339) as strings, a JSON column
/// as the JSON itself.
fn json_value(value: &Value) -> Result<serde_json::Value> {
    use serde_json::json;
    Ok(match value {
        Value::Bool(v) => json!(v),
        Value::SmallInt(v) => json!(v),
        Value::Int(v) => json!(v),
        Value::BigInt(v) => json!(v),
        Value::String(v) => json!(v),
        Value::Uuid(v) => json!(v),
        Value::ChronoDate(v) => json!(v),
        Value::ChronoDateTimeUtc(v) => json!(v),
        Value::Json(v) => v.as_deref().cloned().unwrap_or(serde_json::Value::Null),
        other => {
            return Err(AppError::internal(format!(
                "a bulk insert has no JSON form for {other:?}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, Utc};
    use uuid::Uuid;

    use super::*;

    /// A row that leaves out a column the first row sets would be written with NULL there on
    /// PostgreSQL (not the column's default): refused before any statement runs.
    #[tokio::test]
    async fn rows_setting_other_columns_are_refused() -> Result<()> {
        use entity::change;
        use sea_orm::ActiveValue::{NotSet, Set};
        let db = sea_orm::Database::connect("sqlite::memory:").await?;
        let row = |after_key| change::ActiveModel {
            seq: NotSet,
            record_type: Set("project".into()),
            record_id: Set(Uuid::nil()),
            version: Set(1),
            rule: Set("record".into()),
            before_owner: Set(None),
            before_key: Set(None),
            after_owner: Set(Some(Uuid::nil())),
            after_key,
            changed_at: Set(Utc::now()),
        };
        let refused = insert::<change::Entity>(&db, [row(Set(None)), row(NotSet)]).await;
        let Err(AppError::Internal(e)) = refused else {
            panic!("mixed rows were not refused: {refused:?}");
        };
        assert!(e.to_string().contains("row 1"), "{e}");
        Ok(())
    }

    #[test]
    fn values_take_the_forms_postgresql_reads() -> Result<()> {
        let id = Uuid::nil();
        let cases = [
            (Value::Bool(Some(true)), serde_json::json!(true)),
            (Value::SmallInt(Some(-2)), serde_json::json!(-2)),
            (Value::Int(Some(7)), serde_json::json!(7)),
            (Value::BigInt(Some(1 << 40)), serde_json::json!(1_i64 << 40)),
            (Value::BigInt(None), serde_json::Value::Null),
            (
                Value::String(Some("遵义".into())),
                serde_json::json!("遵义"),
            ),
            (Value::Uuid(Some(id)), serde_json::json!(id.to_string())),
            (
                Value::ChronoDate(NaiveDate::from_ymd_opt(2019, 6, 3)),
                serde_json::json!("2019-06-03"),
            ),
            (
                Value::ChronoDateTimeUtc("2026-12-03T08:00:00Z".parse::<DateTime<Utc>>().ok()),
                serde_json::json!("2026-12-03T08:00:00Z"),
            ),
            (
                Value::Json(Some(Box::new(serde_json::json!({"a": [1]})))),
                serde_json::json!({"a": [1]}),
            ),
        ];
        for (value, expect) in cases {
            assert_eq!(json_value(&value)?, expect, "{value:?}");
        }
        assert!(json_value(&Value::Double(Some(1.5))).is_err());
        Ok(())
    }
}
