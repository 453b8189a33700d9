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
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, IdenStatic, Iterable, Statement,
    Value,
};
use serde::{Serialize, Serializer, ser::SerializeMap};

use crate::error::{AppError, Result};

/// Rows per statement.
pub const CHUNK: usize = 1_000;

/// SQLite's bound-parameter limit (32,766 since 3.32).
const SQLITE_PARAMS: usize = 32_766;

/// Inserts `rows`, a statement per [`CHUNK`] (fewer rows per statement on SQLite for a wide
/// table). Every row sets the same columns (an internal error otherwise); the others take
/// their defaults. (A caller that needs the stored rows has them: every value is its own, down
/// to the microsecond of [`super::now`], so nothing is read back.)
pub async fn insert<E: EntityTrait>(
    db: &impl ConnectionTrait,
    rows: impl IntoIterator<Item = E::ActiveModel>,
) -> Result<()>
where
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let rows: Vec<E::ActiveModel> = rows.into_iter().collect();
    let Some(first) = rows.first() else {
        return Ok(());
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
    let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
    let list = names
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO \"{table}\" ({list}) SELECT {list} \
         FROM json_populate_recordset(NULL::\"{table}\", CAST($1 AS json))"
    );
    let per_statement = match backend {
        DbBackend::Postgres => CHUNK,
        _ => CHUNK.min(SQLITE_PARAMS / columns.len().max(1)),
    };
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<E::ActiveModel> = rows.by_ref().take(per_statement).collect();
        if backend != DbBackend::Postgres {
            E::insert_many(chunk).exec_without_returning(db).await?;
            continue;
        }
        // The values are moved out of their rows and written as JSON text as they are: no JSON
        // tree is built, and a JSON column (an audit image) is not copied.
        let json = chunk
            .into_iter()
            .map(|mut row| JsonRow {
                names: &names,
                values: columns
                    .iter()
                    .map(|c| row.take(*c).into_value().unwrap_or(Value::Int(None)))
                    .collect(),
            })
            .collect::<Vec<_>>();
        let text = serde_json::to_string(&json).map_err(|e| AppError::internal(e.to_string()))?;
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            sql.clone(),
            [text.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Whether `row` gives column `c` a value: set, or unchanged (a model turned into a row).
fn given<A: ActiveModelTrait>(row: &A, c: <A::Entity as EntityTrait>::Column) -> bool {
    row.get(c).into_value().is_some()
}

/// One row as the JSON object `json_populate_recordset` reads: the columns by name.
struct JsonRow<'a> {
    names: &'a [&'a str],
    values: Vec<Value>,
}

impl Serialize for JsonRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.values.len()))?;
        for (name, value) in self.names.iter().zip(&self.values) {
            map.serialize_entry(name, &JsonCell(value))?;
        }
        map.end()
    }
}

/// A column value as `json_populate_recordset` reads it into the column's type: numbers and
/// booleans as themselves, uuids, text, dates and instants (RFC 3339) as strings, a JSON column
/// as the JSON itself.
struct JsonCell<'a>(&'a Value);

impl Serialize for JsonCell<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0 {
            Value::Bool(v) => v.serialize(s),
            Value::SmallInt(v) => v.serialize(s),
            Value::Int(v) => v.serialize(s),
            Value::BigInt(v) => v.serialize(s),
            Value::String(v) => v.serialize(s),
            Value::Uuid(v) => v.serialize(s),
            Value::ChronoDate(v) => v.serialize(s),
            Value::ChronoDateTimeUtc(v) => v.serialize(s),
            Value::Json(v) => v.serialize(s),
            other => Err(serde::ser::Error::custom(format!(
                "a bulk insert has no JSON form for {other:?}"
            ))),
        }
    }
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
            let json = serde_json::to_value(JsonCell(&value))
                .map_err(|e| AppError::internal(e.to_string()))?;
            assert_eq!(json, expect, "{value:?}");
        }
        assert!(serde_json::to_value(JsonCell(&Value::Double(Some(1.5)))).is_err());
        Ok(())
    }
}
