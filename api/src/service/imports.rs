//! Spreadsheet import: projects, fund transactions and exchanges from an XLSX workbook (its
//! first sheet) or a CSV file (UTF-8, or GB18030 as Excel saves Chinese CSV), with Chinese
//! headers (those of the export, so an exported sheet imports back) or English ones (the API's
//! field names, money then in fen).
//!
//! Each row becomes one sync item, keyed by its `external_id` (外部编号), and the whole file is
//! one sync batch: the same rules, the same authorization, one transaction. A dry run goes
//! through every rule and statement and rolls back; so does a run with any bad row. Every bad
//! row and cell is reported by its row number (the header is row 1) and its column as written
//! in the file.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    AppCtx,
    directory::Directory,
    exchanges::{self, ExchangeDirection, ExchangeKind, NewExchange},
    fund_transactions::{self, NewFundTransaction},
    projects::{self, NewProject},
    spreadsheet::Label,
    sync::{SyncOutcome, SyncResponse},
};
use crate::{
    authz::Actor,
    domain::{FundKind, ProjectCategory},
    error::{AppError, AppResult, FieldError},
};

/// How far an import has come, for a progress bar (`xiezuo import`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Rows read into items so far, of the file's rows.
    Reading { done: u64, total: u64 },
    /// The items go through sync's rules and are written, in one transaction.
    Writing { rows: u64 },
}

/// Told of each [`Stage`] as the import reaches it.
pub type Progress<'a> = &'a (dyn Fn(Stage) + Sync);

/// The most data rows one file may hold.
pub const ROWS_MAX: usize = 100_000;

/// What an import did, or (a dry run) would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// Data rows read (the header not counted).
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Whether this was a dry run: nothing was written either way when there are errors.
    pub dry_run: bool,
    /// Every bad cell or row; empty when the file imports.
    pub errors: Vec<ImportError>,
    /// Columns the import does not read (an export's computed columns: totals, status, names).
    pub ignored_columns: Vec<String>,
}

/// The multipart form of `POST /api/v1/imports/{record_type}`, for the OpenAPI document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportUpload {
    /// An XLSX workbook (its first sheet is read) or a CSV file (UTF-8 or GB18030), the first
    /// row naming the columns.
    #[schema(format = Binary, value_type = String)]
    pub file: Vec<u8>,
}

/// `?dry_run=`.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true`: check every row against every rule and write nothing (default `false`).
    pub dry_run: Option<bool>,
}

/// One bad cell (or row, when `column` is a field the file lacks).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ImportError {
    /// The spreadsheet row: the header is row 1, the first record row 2.
    pub row: u64,
    /// The column as the file names it (or, for a missing one, its Chinese header).
    pub column: String,
    /// For programs, as in every problem: `required`, `invalid_format`, ….
    pub code: String,
    pub message: String,
}

/// How a column's text becomes the item's value.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    /// Yuan under a Chinese header, fen under the English one.
    Money,
    Date,
    Bool,
    /// An id, as text.
    Id,
    /// An organization by id, code or name.
    Org,
    /// Organizations, separated by `；`, `;`, `、` or `,`.
    Orgs,
    /// Texts, separated as organizations are.
    Texts,
    /// A coded value by its Chinese label or its code.
    Code(fn(&str) -> Option<&'static str>),
}

/// An importable field: its key (the API name), its Chinese header, and its kind.
struct Field {
    key: &'static str,
    header: &'static str,
    kind: Kind,
}

const fn field(key: &'static str, header: &'static str, kind: Kind) -> Field {
    Field { key, header, kind }
}

fn code<T: Label>(text: &str) -> Option<&'static str> {
    T::from_label(text).map(Label::code)
}

/// The families an import takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Project,
    FundTransaction,
    Exchange,
}

impl Family {
    pub const NAMES: &'static str = "project, fund_transaction, exchange";

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "project" => Some(Self::Project),
            "fund_transaction" => Some(Self::FundTransaction),
            "exchange" => Some(Self::Exchange),
            _ => None,
        }
    }

    fn fields(self) -> Vec<Field> {
        use Kind::*;
        let external = field("external_id", "外部编号", Text);
        match self {
            Self::Project => vec![
                external,
                field("code", "项目编号", Text),
                field("title", "项目名称", Text),
                field("year", "年度", Int),
                field("category", "类别", Code(code::<ProjectCategory>)),
                field("pairing_id", "结对ID", Id),
                field("deep_poverty", "深度贫困地区", Bool),
                field("beneficiaries_planned", "计划受益人数", Int),
                field("budget_fen", "预算（元）", Money),
                field("start_on", "开始日期", Date),
                field("end_on", "结束日期", Date),
                field("basis", "立项依据", Text),
                field("measures", "帮扶措施", Text),
                field("quantity", "数量", Text),
            ],
            Self::FundTransaction => vec![
                external,
                field("kind", "类型", Code(code::<FundKind>)),
                field("amount_fen", "金额（元）", Money),
                field("occurred_on", "日期", Date),
                field("voucher_no", "凭证号", Text),
                field("pairing_id", "结对ID", Id),
                field("project_id", "项目ID", Id),
                field("note", "备注", Text),
            ],
            Self::Exchange => vec![
                external,
                field("kind", "类型", Code(code::<ExchangeKind>)),
                field("direction", "方向", Code(code::<ExchangeDirection>)),
                field("pairing_id", "结对ID", Id),
                field("host_org_id", "接待单位", Org),
                field("visiting_org_ids", "来访单位", Orgs),
                field("start_on", "开始日期", Date),
                field("end_on", "结束日期", Date),
                field("leaders_present", "出席领导", Texts),
                field("participants", "参加人数", Int),
                field("summary", "内容摘要", Text),
            ],
        }
    }
}

/// A file's cells as text, the header first.
type Table = Vec<Vec<String>>;

/// Reads `bytes` as XLSX (by its ZIP signature) or CSV.
fn read_table(bytes: &[u8]) -> AppResult<Table> {
    if bytes.starts_with(b"PK\x03\x04") {
        return read_xlsx(bytes);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.trim_start_matches('\u{feff}').to_string(),
        Err(_) => {
            let (text, _, bad) = encoding_rs::GB18030.decode(bytes);
            if bad {
                return Err(AppError::field(
                    "file",
                    "is neither an XLSX workbook nor CSV text in UTF-8 or GB18030",
                ));
            }
            text.into_owned()
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            r.map(|r| r.iter().map(str::to_string).collect())
                .map_err(|e| AppError::field("file", format!("is not valid CSV: {e}")))
        })
        .collect()
}

fn read_xlsx(bytes: &[u8]) -> AppResult<Table> {
    use calamine::{Data, Reader, Xlsx};
    let unreadable = |e: &dyn std::fmt::Display| {
        AppError::field("file", format!("is not a readable XLSX workbook: {e}"))
    };
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| AppError::field("file", "has no worksheet"))?
        .map_err(|e| unreadable(&e))?;
    Ok(range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Int(n) => n.to_string(),
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
                        format!("{}", *f as i64)
                    }
                    Data::Float(f) => f.to_string(),
                    Data::Bool(b) => b.to_string(),
                    // An Excel date: days since 1899-12-30.
                    Data::DateTime(d) => NaiveDate::from_ymd_opt(1899, 12, 30)
                        .and_then(|epoch| {
                            epoch.checked_add_days(chrono::Days::new(d.as_f64().floor() as u64))
                        })
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                    Data::Error(e) => format!("#{e}"),
                })
                .collect()
        })
        .collect())
}

/// Yuan text (`1,234.5`, `-0.07`) as fen.
fn yuan_to_fen(text: &str) -> Option<i64> {
    let text: String = text.chars().filter(|c| *c != ',' && *c != '，').collect();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.as_str()),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let cents = format!("{frac:0<2}").parse::<i64>().ok()?;
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)?
        .checked_mul(sign)
}

fn split_list(text: &str) -> Vec<&str> {
    text.split(['；', ';', '、', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// An organization by id, code or name (a name must be unique among live organizations).
fn org_id(dir: &Directory, text: &str) -> Result<Uuid, String> {
    if let Ok(id) = Uuid::parse_str(text) {
        return Ok(id);
    }
    let found: Vec<Uuid> = dir
        .live_orgs()
        .filter(|o| o.code == text || o.name == text)
        .map(|o| o.id)
        .collect();
    match found.as_slice() {
        [id] => Ok(*id),
        [] => Err(format!("names no organization: {text}")),
        _ => Err(format!(
            "names more than one organization: {text}; use its code"
        )),
    }
}

/// A cell's value for the item, or what is wrong with it (its code and message).
fn value(
    dir: &Directory,
    kind: Kind,
    english: bool,
    text: &str,
) -> Result<Value, (&'static str, String)> {
    let code = match kind {
        Kind::Code(_) => "invalid_choice",
        Kind::Org | Kind::Orgs => "not_found",
        _ => "invalid_format",
    };
    convert(dir, kind, english, text).map_err(|message| (code, message))
}

fn convert(dir: &Directory, kind: Kind, english: bool, text: &str) -> Result<Value, String> {
    match kind {
        // Undo the export's defusing of a text a spreadsheet would run.
        Kind::Text => Ok(Value::String(
            match text.strip_prefix('\'') {
                Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
                _ => text,
            }
            .to_string(),
        )),
        Kind::Id => Ok(Value::String(text.to_string())),
        Kind::Int => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "must be a whole number".to_string()),
        Kind::Money if english => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "must be a whole number of fen".to_string()),
        Kind::Money => yuan_to_fen(text)
            .map(Value::from)
            .ok_or_else(|| "must be an amount in yuan with at most two decimals".to_string()),
        Kind::Date => {
            let normalized = text.replace(['/', '.'], "-");
            NaiveDate::parse_from_str(&normalized, "%Y-%m-%d")
                .map(|d| Value::String(d.to_string()))
                .map_err(|_| "must be a date, YYYY-MM-DD".to_string())
        }
        Kind::Bool => match text {
            "是" | "true" | "TRUE" | "1" | "yes" => Ok(Value::Bool(true)),
            "否" | "false" | "FALSE" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err("must be 是 or 否 (true or false)".to_string()),
        },
        Kind::Code(parse) => parse(text)
            .map(|c| Value::String(c.to_string()))
            .ok_or_else(|| format!("is not one of the values this column takes: {text}")),
        Kind::Org => org_id(dir, text).map(|id| Value::String(id.to_string())),
        Kind::Orgs => split_list(text)
            .into_iter()
            .map(|t| org_id(dir, t).map(|id| Value::String(id.to_string())))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Kind::Texts => Ok(Value::Array(
            split_list(text)
                .into_iter()
                .map(|t| Value::String(t.to_string()))
                .collect(),
        )),
    }
}

/// The file's name for each field it holds.
struct Columns {
    family: Family,
    names: HashMap<&'static str, String>,
}

impl Columns {
    /// The file's name for field `key`, or its Chinese header when the file lacks it.
    fn name(&self, key: &str) -> String {
        self.names.get(key).cloned().unwrap_or_else(|| {
            self.family
                .fields()
                .iter()
                .find(|f| f.key == key)
                .map_or_else(|| key.to_string(), |f| f.header.to_string())
        })
    }
}

/// The rows of `table` as items of type `T`, with the spreadsheet row of each; and the errors.
struct Parsed<T> {
    items: Vec<T>,
    rows: Vec<u64>,
    columns: Columns,
    errors: Vec<ImportError>,
    ignored: Vec<String>,
    total: u64,
}

fn parse_rows<T: DeserializeOwned>(
    dir: &Directory,
    family: Family,
    table: Table,
    progress: Progress<'_>,
) -> AppResult<Parsed<T>> {
    let fields = family.fields();
    let mut rows = table.into_iter();
    let header = rows
        .next()
        .ok_or_else(|| AppError::field("file", "is empty: the first row must name the columns"))?;
    // Each column: the field it fills (by Chinese header or English key), or none.
    let mut columns = HashMap::new();
    let mut ignored = Vec::new();
    let mut by_column = Vec::with_capacity(header.len());
    for name in &header {
        let name = name.trim();
        let found = fields
            .iter()
            .find(|f| f.header == name || f.key == name)
            .filter(|f| !columns.contains_key(f.key));
        match found {
            Some(f) => {
                columns.insert(f.key, name.to_string());
                by_column.push(Some((f, f.key == name)));
            }
            None => {
                if !name.is_empty() {
                    ignored.push(name.to_string());
                }
                by_column.push(None);
            }
        }
    }
    if columns.is_empty() {
        let known: Vec<&str> = fields.iter().map(|f| f.header).collect();
        return Err(AppError::field(
            "file",
            format!(
                "its first row names none of the columns an import reads: {}",
                known.join(", ")
            ),
        ));
    }
    let mut parsed = Parsed {
        items: Vec::new(),
        rows: Vec::new(),
        columns: Columns {
            family,
            names: columns,
        },
        errors: Vec::new(),
        ignored,
        total: 0,
    };
    let total = rows.len() as u64;
    for (i, cells) in rows.enumerate() {
        let row = i as u64 + 2;
        if i % 1_000 == 0 {
            progress(Stage::Reading {
                done: i as u64,
                total,
            });
        }
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        parsed.total += 1;
        if parsed.total as usize > ROWS_MAX {
            return Err(AppError::field(
                "file",
                format!("holds more than {ROWS_MAX} rows; split it"),
            ));
        }
        let mut item = Map::new();
        let mut bad = false;
        for (cell, column) in cells.iter().zip(&by_column) {
            let (Some((f, english)), text) = (column, cell.trim()) else {
                continue;
            };
            if text.is_empty() {
                continue;
            }
            match value(dir, f.kind, *english, text) {
                Ok(v) => {
                    item.insert(f.key.to_string(), v);
                }
                Err((code, message)) => {
                    bad = true;
                    parsed.errors.push(ImportError {
                        row,
                        column: parsed.columns.name(f.key),
                        code: code.to_string(),
                        message,
                    });
                }
            }
        }
        if bad {
            continue;
        }
        match serde_path_to_error::deserialize::<_, T>(Value::Object(item)) {
            Ok(t) => {
                parsed.items.push(t);
                parsed.rows.push(row);
            }
            Err(e) => {
                let key = e.path().iter().next().map(|s| s.to_string());
                let message = e.into_inner().to_string();
                let key = key
                    .filter(|k| k != "?")
                    .or_else(|| missing_field(&message))
                    .unwrap_or_default();
                let column = parsed.columns.name(&key);
                parsed.errors.push(error(row, column, plain(&message)));
            }
        }
    }
    Ok(parsed)
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// serde's message without its position suffix.
fn plain(message: &str) -> String {
    match message.strip_prefix("missing field `") {
        Some(_) => "is required".to_string(),
        None => message.to_string(),
    }
}

fn error(row: u64, column: String, message: impl Into<String>) -> ImportError {
    let message = message.into();
    ImportError {
        row,
        column,
        code: crate::error::field_code(&message).to_string(),
        message,
    }
}

/// Imports `bytes` (an XLSX or CSV file) as records of `family`: all rows or none. A dry run
/// (or a file with errors) writes nothing; a real run with errors is a `422` listing them.
pub async fn import(
    ctx: &AppCtx,
    actor: &Actor,
    family: Family,
    bytes: &[u8],
    dry_run: bool,
) -> AppResult<ImportReport> {
    import_with_progress(ctx, actor, family, bytes, dry_run, &|_| {}).await
}

/// [`import`], telling `progress` how far it has come.
pub async fn import_with_progress(
    ctx: &AppCtx,
    actor: &Actor,
    family: Family,
    bytes: &[u8],
    dry_run: bool,
    progress: Progress<'_>,
) -> AppResult<ImportReport> {
    let table = read_table(bytes)?;
    let dir = ctx.directory.get(&ctx.db).await?;
    // The rows that parsed go through sync's rules even when others did not, so that one run
    // reports every bad row; only a clean real run commits.
    macro_rules! through {
        ($input:ty, $sync:path) => {{
            let parsed = parse_rows::<$input>(&dir, family, table, progress)?;
            progress(Stage::Writing {
                rows: parsed.items.len() as u64,
            });
            let rehearse = dry_run || !parsed.errors.is_empty();
            let ctx = ctx.with_batch_max(parsed.items.len());
            let ctx = if rehearse { ctx.rehearsal() } else { ctx };
            let outcome = match parsed.items.is_empty() {
                true => None,
                false => Some($sync(&ctx, actor, parsed.items).await),
            };
            let rest = Parsed {
                items: Vec::<()>::new(),
                rows: parsed.rows,
                columns: parsed.columns,
                errors: parsed.errors,
                ignored: parsed.ignored,
                total: parsed.total,
            };
            report(rest, outcome, dry_run)
        }};
    }
    match family {
        Family::Project => through!(NewProject, projects::sync),
        Family::FundTransaction => through!(NewFundTransaction, fund_transactions::sync),
        Family::Exchange => through!(NewExchange, exchanges::sync),
    }
}

/// The report of a parsed file and what sync said of its good rows.
fn report(
    parsed: Parsed<()>,
    outcome: Option<AppResult<SyncResponse>>,
    dry_run: bool,
) -> AppResult<ImportReport> {
    let mut errors = parsed.errors;
    let mut report = ImportReport {
        rows: parsed.total,
        created: 0,
        updated: 0,
        unchanged: 0,
        dry_run,
        errors: Vec::new(),
        ignored_columns: parsed.ignored,
    };
    match outcome {
        None => {}
        Some(Ok(response)) => {
            for r in response.results {
                match r.result {
                    SyncOutcome::Created => report.created += 1,
                    SyncOutcome::Updated => report.updated += 1,
                    SyncOutcome::Unchanged => report.unchanged += 1,
                }
            }
        }
        Some(Err(AppError::Validation(field_errors))) => {
            for e in field_errors {
                let (index, key) = item_field(&e.field);
                errors.push(ImportError {
                    row: index.and_then(|i| parsed.rows.get(i).copied()).unwrap_or(1),
                    column: parsed.columns.name(key),
                    code: e.code,
                    message: e.message,
                });
            }
        }
        Some(Err(other)) => return Err(other),
    }
    errors.sort_by_key(|e| e.row);
    if errors.is_empty() {
        return Ok(report);
    }
    // Nothing was written: say so in the counts too.
    report.created = 0;
    report.updated = 0;
    report.unchanged = 0;
    if !dry_run {
        return Err(AppError::Validation(
            errors
                .into_iter()
                .map(|e| {
                    let mut f = FieldError::new(e.column, e.message);
                    f.code = e.code;
                    f.row = Some(e.row);
                    f
                })
                .collect(),
        ));
    }
    report.errors = errors;
    Ok(report)
}

/// `items[3].amount_fen` → (3, `amount_fen`).
fn item_field(path: &str) -> (Option<usize>, &str) {
    let Some(rest) = path.strip_prefix("items[") else {
        return (None, path);
    };
    let Some((index, rest)) = rest.split_once(']') else {
        return (None, path);
    };
    let key = rest.trim_start_matches('.');
    let key = key.split(['.', '[']).next().unwrap_or(key);
    (index.parse().ok(), key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_reads_as_exact_fen() {
        assert_eq!(yuan_to_fen("1234.56"), Some(123_456));
        assert_eq!(yuan_to_fen("1,234.5"), Some(123_450));
        assert_eq!(yuan_to_fen("-0.07"), Some(-7));
        assert_eq!(yuan_to_fen("12"), Some(1_200));
        assert_eq!(yuan_to_fen("1.234"), None);
        assert_eq!(yuan_to_fen("1e3"), None);
        assert_eq!(yuan_to_fen(".5"), None);
        assert_eq!(yuan_to_fen(""), None);
        assert_eq!(yuan_to_fen("99999999999999999999"), None);
    }

    #[test]
    fn a_sync_path_names_its_item_and_field() {
        assert_eq!(item_field("items[3].amount_fen"), (Some(3), "amount_fen"));
        assert_eq!(item_field("items[0].items[2].name"), (Some(0), "items"));
        assert_eq!(item_field("items"), (None, "items"));
    }

    #[test]
    fn labels_and_codes_read_as_codes() {
        assert_eq!(code::<FundKind>("到位"), Some("arrival"));
        assert_eq!(code::<FundKind>("arrival"), Some("arrival"));
        assert_eq!(code::<FundKind>("收到"), None);
    }
}
