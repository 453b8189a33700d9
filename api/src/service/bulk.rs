//! Multi-row inserts, for the writes that add many rows at once (a sync batch, its feed
//! entries, an import).
//!
//! On PostgreSQL a chunk of rows goes as one array per column, bound in binary and expanded by
//! `UNNEST`: a fixed handful of bound parameters whatever the chunk's size, and no text to parse.
//! (Two earlier forms, measured on a chunk of 1,000 fund transactions: 12,000 bound values took
//! 36 ms, most of it parsing and planning the `VALUES` list; one JSON text expanded by
//! `json_populate_recordset` took 19 ms, and parsing that JSON was then a third of PostgreSQL's
//! time in a sync, `bench/sync.sh`.) A column with a NULL in the chunk also gets a boolean
//! array saying which rows hold it, since an array bound this way has no NULL elements. On
//! SQLite: sea-orm's multi-row insert, in chunks under SQLite's bound-parameter limit.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ColumnType, ConnectionTrait, DbBackend, EntityTrait, IdenStatic,
    Iterable, Statement, Value, sea_query::ArrayType,
};

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
    let list = columns
        .iter()
        .map(|c| format!("\"{}\"", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let json: Vec<bool> = columns
        .iter()
        .map(|c| matches!(c.def().get_column_type(), ColumnType::Json))
        .collect();
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
        // The values are moved out of their rows into their columns: nothing is copied.
        let mut by_column: Vec<Vec<Value>> = vec![Vec::with_capacity(chunk.len()); columns.len()];
        for mut row in chunk {
            for (values, c) in by_column.iter_mut().zip(&columns) {
                values.push(row.take(*c).into_value().unwrap_or(Value::Int(None)));
            }
        }
        let mut params = Vec::with_capacity(columns.len());
        let mut names = Vec::with_capacity(columns.len());
        let mut select = Vec::with_capacity(columns.len());
        for (i, mut values) in by_column.into_iter().enumerate() {
            // A `json` column takes its values as text, which PostgreSQL only checks: bound as
            // `jsonb` each would be parsed into a tree and printed back.
            if json[i] {
                for value in &mut values {
                    if let Value::Json(v) = value {
                        *value = Value::String(v.as_ref().map(|j| j.to_string()));
                    }
                }
            }
            let (array, nulls) = column_array(values)
                .map_err(|e| AppError::internal(format!("a bulk insert into {table}: {e}")))?;
            params.push(array);
            names.push(format!("c{i}"));
            let mut expr = format!("c{i}");
            if let Some(nulls) = nulls {
                params.push(nulls);
                names.push(format!("n{i}"));
                expr = format!("CASE WHEN n{i} THEN NULL ELSE c{i} END");
            }
            if json[i] {
                expr = format!("CAST({expr} AS json)");
            }
            select.push(expr);
        }
        let placeholders = (1..=params.len())
            .map(|k| format!("${k}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO \"{table}\" ({list}) SELECT {} FROM UNNEST({placeholders}) AS u({})",
            select.join(", "),
            names.join(", ")
        );
        db.execute_raw(Statement::from_sql_and_values(backend, sql, params))
            .await?;
    }
    Ok(())
}

/// Whether `row` gives column `c` a value: set, or unchanged (a model turned into a row).
fn given<A: ActiveModelTrait>(row: &A, c: <A::Entity as EntityTrait>::Column) -> bool {
    row.get(c).into_value().is_some()
}

/// One column of a chunk as an array of its values, with NULLs replaced by a placeholder, and
/// (if the column holds a NULL) the array of which rows are NULL. Every value of a column has
/// the same type.
fn column_array(values: Vec<Value>) -> std::result::Result<(Value, Option<Value>), String> {
    let ty = match values.first() {
        Some(Value::Bool(_)) => ArrayType::Bool,
        Some(Value::SmallInt(_)) => ArrayType::SmallInt,
        Some(Value::Int(_)) => ArrayType::Int,
        Some(Value::BigInt(_)) => ArrayType::BigInt,
        Some(Value::String(_)) => ArrayType::String,
        Some(Value::Uuid(_)) => ArrayType::Uuid,
        Some(Value::ChronoDate(_)) => ArrayType::ChronoDate,
        Some(Value::ChronoDateTimeUtc(_)) => ArrayType::ChronoDateTimeUtc,
        Some(Value::Json(_)) => ArrayType::Json,
        Some(other) => return Err(format!("no array form for {other:?}")),
        None => return Err("an empty column".into()),
    };
    let mut nulls = Vec::with_capacity(values.len());
    let mut any_null = false;
    let mut items = Vec::with_capacity(values.len());
    for value in values {
        let null = !value.is_some();
        let item = match (&ty, value) {
            (ArrayType::Bool, Value::Bool(v)) => Value::Bool(Some(v.unwrap_or_default())),
            (ArrayType::SmallInt, Value::SmallInt(v)) => Value::SmallInt(Some(v.unwrap_or(0))),
            (ArrayType::Int, Value::Int(v)) => Value::Int(Some(v.unwrap_or(0))),
            (ArrayType::BigInt, Value::BigInt(v)) => Value::BigInt(Some(v.unwrap_or(0))),
            (ArrayType::String, Value::String(v)) => Value::String(Some(v.unwrap_or_default())),
            (ArrayType::Uuid, Value::Uuid(v)) => Value::Uuid(Some(v.unwrap_or_default())),
            (ArrayType::ChronoDate, Value::ChronoDate(v)) => {
                Value::ChronoDate(Some(v.unwrap_or_default()))
            }
            (ArrayType::ChronoDateTimeUtc, Value::ChronoDateTimeUtc(v)) => {
                Value::ChronoDateTimeUtc(Some(v.unwrap_or_default()))
            }
            (ArrayType::Json, Value::Json(v)) => {
                Value::Json(Some(v.unwrap_or_else(|| Box::new(serde_json::Value::Null))))
            }
            (_, other) => return Err(format!("{other:?} in a column of {ty:?}")),
        };
        any_null |= null;
        nulls.push(Value::Bool(Some(null)));
        items.push(item);
    }
    Ok((
        Value::Array(ty, Some(Box::new(items))),
        any_null.then(|| Value::Array(ArrayType::Bool, Some(Box::new(nulls)))),
    ))
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

    /// Each type a record column has becomes its array; a NULL becomes a placeholder that the
    /// mask marks, and a column without one has no mask.
    #[test]
    fn columns_become_arrays_with_a_mask_for_their_nulls() {
        let id = Uuid::from_u128(7);
        let day = NaiveDate::from_ymd_opt(2019, 6, 3);
        let at = "2026-12-03T08:00:00Z".parse::<DateTime<Utc>>().ok();
        let json = Some(Box::new(serde_json::json!({"a": [1]})));
        let cases = [
            (
                ArrayType::Bool,
                Value::Bool(Some(true)),
                Value::Bool(None),
                Value::Bool(Some(false)),
            ),
            (
                ArrayType::SmallInt,
                Value::SmallInt(Some(-2)),
                Value::SmallInt(None),
                Value::SmallInt(Some(0)),
            ),
            (
                ArrayType::Int,
                Value::Int(Some(7)),
                Value::Int(None),
                Value::Int(Some(0)),
            ),
            (
                ArrayType::BigInt,
                Value::BigInt(Some(1 << 40)),
                Value::BigInt(None),
                Value::BigInt(Some(0)),
            ),
            (
                ArrayType::String,
                Value::String(Some("遵义".into())),
                Value::String(None),
                Value::String(Some(String::new())),
            ),
            (
                ArrayType::Uuid,
                Value::Uuid(Some(id)),
                Value::Uuid(None),
                Value::Uuid(Some(Uuid::nil())),
            ),
            (
                ArrayType::ChronoDate,
                Value::ChronoDate(day),
                Value::ChronoDate(None),
                Value::ChronoDate(Some(NaiveDate::default())),
            ),
            (
                ArrayType::ChronoDateTimeUtc,
                Value::ChronoDateTimeUtc(at),
                Value::ChronoDateTimeUtc(None),
                Value::ChronoDateTimeUtc(Some(DateTime::<Utc>::default())),
            ),
            (
                ArrayType::Json,
                Value::Json(json.clone()),
                Value::Json(None),
                Value::Json(Some(Box::new(serde_json::Value::Null))),
            ),
        ];
        let mask = |m: &[bool]| {
            Value::Array(
                ArrayType::Bool,
                Some(Box::new(m.iter().map(|b| Value::Bool(Some(*b))).collect())),
            )
        };
        for (ty, value, null, placeholder) in cases {
            let whole = column_array(vec![value.clone(), value.clone()]);
            let expect = Value::Array(
                ty.clone(),
                Some(Box::new(vec![value.clone(), value.clone()])),
            );
            assert_eq!(whole, Ok((expect, None)), "{ty:?} without a NULL");
            let holed = column_array(vec![value.clone(), null, value.clone()]);
            let expect = Value::Array(
                ty.clone(),
                Some(Box::new(vec![value.clone(), placeholder, value])),
            );
            assert_eq!(
                holed,
                Ok((expect, Some(mask(&[false, true, false])))),
                "{ty:?} with a NULL"
            );
        }
        assert!(column_array(vec![Value::Int(Some(1)), Value::BigInt(Some(1))]).is_err());
        assert!(column_array(vec![Value::Double(Some(1.5))]).is_err());
        assert!(column_array(vec![]).is_err());
    }
}
