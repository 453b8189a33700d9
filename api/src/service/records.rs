//! Input helpers every record family shares: page arguments, nullable patch fields, external
//! ids, free text and period filters. (Reads and writes themselves are the kernel's.)

use async_graphql::MaybeUndefined;
use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

use crate::{
    domain::{Cursor, Fields, Limit, Text},
    error::AppResult,
};

pub const EXTERNAL_ID_MAX: usize = 200;

/// `limit` and `cursor` of a list request, parsed.
#[derive(Clone, Copy, Debug)]
pub struct PageArgs {
    pub limit: Limit,
    pub cursor: Option<Cursor>,
}

impl PageArgs {
    /// Parses into `f`; call `f.finish()` before [`PageArgs::done`].
    pub fn parse(f: &mut Fields, limit: Option<i64>, cursor: Option<&str>) -> Option<Self> {
        let limit = f.check("limit", Limit::parse(limit));
        let cursor = f.check_opt("cursor", cursor, Cursor::parse);
        Some(Self {
            limit: limit?,
            cursor: cursor?,
        })
    }
}

/// Runs `select` as one keyset page: rows after the cursor in id order, plus one row that only
/// says whether another page exists (see `Page::from_rows`).
pub async fn fetch_page<E: EntityTrait>(
    db: &impl ConnectionTrait,
    mut select: Select<E>,
    id_col: E::Column,
    args: PageArgs,
) -> AppResult<Vec<E::Model>> {
    if let Some(c) = args.cursor {
        select = select.filter(id_col.gt(c.id()));
    }
    Ok(select
        .order_by_asc(id_col)
        .limit(args.limit.get() + 1)
        .all(db)
        .await?)
}

/// An optional external id on create.
pub fn external_id(f: &mut Fields, input: Option<&str>) -> Option<Option<String>> {
    f.check_opt("external_id", input, |e| {
        Text::parse(e, EXTERNAL_ID_MAX).map(Text::into_inner)
    })
}

/// A nullable field of a patch: absent keeps `current`, `null` clears, a value must parse.
pub fn patch_nullable<T: Clone, I>(
    f: &mut Fields,
    field: &str,
    input: &MaybeUndefined<I>,
    current: Option<T>,
    parse: impl FnOnce(&I) -> Result<T, String>,
) -> Option<Option<T>> {
    match input {
        MaybeUndefined::Undefined => Some(current),
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => f.check(field, parse(v)).map(Some),
    }
}

/// Multi-line free text: trimmed, non-empty, at most `max` characters, no control characters
/// but line breaks and tabs.
pub fn long_text(text: &str, max: usize) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters".into());
    }
    Ok(text.to_string())
}

/// The dates of `year`, or of one quarter of it, for list filters; `quarter` needs `year`.
pub fn period_filter(
    f: &mut Fields,
    year: Option<i32>,
    quarter: Option<i32>,
) -> Option<Option<(NaiveDate, NaiveDate)>> {
    let year = match year {
        None => {
            if quarter.is_some() {
                f.push("quarter", "needs year");
                return None;
            }
            return Some(None);
        }
        Some(y) if (1900..=9999).contains(&y) => y,
        Some(_) => {
            f.push("year", "must be between 1900 and 9999");
            return None;
        }
    };
    let (first_month, last_month) = match quarter {
        None => (1, 12),
        Some(q @ 1..=4) => ((q - 1) * 3 + 1, q * 3),
        Some(_) => {
            f.push("quarter", "must be 1, 2, 3 or 4");
            return None;
        }
    };
    let from = NaiveDate::from_ymd_opt(year, first_month as u32, 1)?;
    let next = if last_month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, last_month as u32 + 1, 1)
    }?;
    Some(Some((from, next.pred_opt()?)))
}
