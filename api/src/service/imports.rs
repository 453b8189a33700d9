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

use std::collections::{HashMap, HashSet};

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
    authz::{Actor, Scope},
    domain::{FundKind, ProjectCategory, Role},
    error::{AppError, FieldError, Result},
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

/// A file's rows that hold something, each with its row number in the file (1-based, as a
/// spreadsheet program shows it), the header first.
type Table = Vec<(u64, Vec<String>)>;

/// How big a file may be; the reading stops at the first bound passed.
#[derive(Clone, Copy)]
struct Bounds {
    /// Rows, the header row not counted.
    rows: usize,
    columns: usize,
    /// Cells that hold something, the header's too: what [`ROWS_MAX`] rows of a wide sheet
    /// need, and a bound on the memory a hostile file can make the reading take.
    cells: usize,
    /// The bytes one part of a workbook may unpack to. calamine reads the shared-string table
    /// whole into memory, and a single text of a worksheet whole into a buffer; a legitimate
    /// import of `cells` cells needs well under this.
    unpacked_part: u64,
    /// The bytes a whole workbook may unpack to.
    unpacked: u64,
}

const BOUNDS: Bounds = Bounds {
    rows: ROWS_MAX,
    columns: 200,
    cells: 3_000_000,
    unpacked_part: 256 << 20,
    unpacked: 1 << 30,
};

fn too_big(what: &str) -> AppError {
    AppError::field("file", format!("has {what}; split it"))
}

/// Reads `bytes` as XLSX (by its ZIP signature) or CSV, within `bounds`.
fn read_table(bytes: &[u8], bounds: Bounds) -> Result<Table> {
    if bytes.starts_with(b"PK\x03\x04") {
        return read_xlsx(bytes, bounds);
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
    let mut table = Table::new();
    let mut cells = 0;
    for record in reader.records() {
        let record =
            record.map_err(|e| AppError::field("file", format!("is not valid CSV: {e}")))?;
        if record.len() > bounds.columns {
            return Err(too_big(&format!("more than {} columns", bounds.columns)));
        }
        cells += record.len();
        if table.len() > bounds.rows {
            return Err(too_big(&format!("more than {} rows", bounds.rows)));
        }
        if cells > bounds.cells {
            return Err(too_big(&format!("more than {} cells", bounds.cells)));
        }
        // The line the record starts on: blank lines, which the reader skips, still count.
        let line = record
            .position()
            .map_or(table.len() as u64 + 1, |p| p.line());
        table.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(table)
}

/// Checks that the ZIP `bytes` unpacks within the bounds, by unpacking it (the sizes a ZIP
/// declares may lie): a 32 MiB upload could otherwise unpack to gigabytes of shared strings
/// before a single row is counted.
fn unpacks_within(bytes: &[u8], bounds: Bounds) -> Result<()> {
    let (part_max, total_max) = (bounds.unpacked_part, bounds.unpacked);
    use std::io::Read;
    let unreadable = |e: &dyn std::fmt::Display| {
        AppError::field("file", format!("is not a readable XLSX workbook: {e}"))
    };
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let part = archive.by_index(i).map_err(|e| unreadable(&e))?;
        let name = part.name().map_err(|e| unreadable(&e))?.to_string();
        let size = std::io::copy(&mut part.take(part_max + 1), &mut std::io::sink())
            .map_err(|e| unreadable(&e))?;
        total += size;
        if size > part_max || total > total_max {
            let mib = |n: u64| n >> 20;
            return Err(AppError::field(
                "file",
                format!(
                    "unpacks to more than {} MiB ({name}{}); split it",
                    mib(if size > part_max { part_max } else { total_max }),
                    if size > part_max {
                        ""
                    } else {
                        " and the parts before it"
                    },
                ),
            ));
        }
    }
    Ok(())
}

/// The first worksheet, cell by cell (calamine's range would first allocate the rectangle a
/// file's farthest cell spans, whatever the cells it holds).
fn read_xlsx(bytes: &[u8], bounds: Bounds) -> Result<Table> {
    use calamine::{DataRef, Reader, Xlsx};
    let unreadable = |e: &dyn std::fmt::Display| {
        AppError::field("file", format!("is not a readable XLSX workbook: {e}"))
    };
    unpacks_within(bytes, bounds)?;
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let name = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| AppError::field("file", "has no worksheet"))?;
    let mut reader = book
        .worksheet_cells_reader(&name)
        .map_err(|e| unreadable(&e))?;
    let mut rows: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
    let mut cells = 0;
    while let Some(cell) = reader.next_cell().map_err(|e| unreadable(&e))? {
        let (row, col) = cell.get_position();
        let text = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(s) => s.clone(),
            DataRef::SharedString(s) => s.to_string(),
            DataRef::Int(n) => n.to_string(),
            DataRef::Float(f) => number_text(*f),
            DataRef::Bool(b) => b.to_string(),
            // The workbook's own date system (1900 or 1904); a serial no date can have stays
            // as text the date column refuses.
            DataRef::DateTime(d) => d
                .as_datetime()
                .map_or_else(|| format!("#{}", d.as_f64()), |t| t.date().to_string()),
            DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
            DataRef::Error(e) => format!("#{e}"),
        };
        let col = col as usize;
        if col >= bounds.columns {
            return Err(too_big(&format!("more than {} columns", bounds.columns)));
        }
        cells += 1;
        if rows.len() > bounds.rows && !rows.contains_key(&row) {
            return Err(too_big(&format!("more than {} rows", bounds.rows)));
        }
        if cells > bounds.cells {
            return Err(too_big(&format!("more than {} cells", bounds.cells)));
        }
        let cells_of_row = rows.entry(row).or_default();
        if cells_of_row.len() <= col {
            cells_of_row.resize(col + 1, String::new());
        }
        cells_of_row[col] = text;
    }
    Ok(rows
        .into_iter()
        .map(|(row, cells)| (u64::from(row) + 1, cells))
        .collect())
}

/// A number as a spreadsheet shows it: whole numbers without a point, and a computed amount
/// (`0.30000000000000004`) at the cent it stands for.
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let cents = (f * 100.0).round();
    if (f * 100.0 - cents).abs() < 1e-6 && cents.abs() < 1e15 {
        return super::spreadsheet::yuan(cents as i64);
    }
    f.to_string()
}

/// Yuan text (`1,234.5`, `-0.07`) as fen.
fn yuan_to_fen(text: &str) -> Option<i64> {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text),
    };
    let (grouped, frac) = digits.split_once('.').unwrap_or((digits, ""));
    // Thousands separators only between groups of three digits: `12,5` is no amount.
    let groups: Vec<&str> = grouped.split([',', '，']).collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return None;
    }
    let whole = groups.concat();
    let whole = whole.as_str();
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

/// The organizations a caller may name in a file, by id, code and name: built once per import,
/// from the live organizations the caller reads (one that it does not read is as absent as one
/// that does not exist).
pub struct OrgNames {
    ids: HashSet<Uuid>,
    by_text: HashMap<String, Vec<Uuid>>,
}

impl OrgNames {
    pub fn new(dir: &Directory, scope: &Scope) -> Self {
        let mut names = Self {
            ids: HashSet::new(),
            by_text: HashMap::new(),
        };
        for o in dir.live_orgs().filter(|o| scope.can_read_org(o.id)) {
            names.ids.insert(o.id);
            for text in [&o.code, &o.name] {
                let ids = names.by_text.entry(text.clone()).or_default();
                if !ids.contains(&o.id) {
                    ids.push(o.id);
                }
            }
        }
        names
    }

    /// The organization `text` names (a name must be unique among those the caller reads).
    fn id(&self, text: &str) -> Result<Uuid, String> {
        let absent = || format!("names no organization: {text}");
        if let Ok(id) = Uuid::parse_str(text) {
            return if self.ids.contains(&id) {
                Ok(id)
            } else {
                Err(absent())
            };
        }
        match self.by_text.get(text).map(Vec::as_slice) {
            Some([id]) => Ok(*id),
            Some([_, _, ..]) => Err(format!(
                "names more than one organization: {text}; use its code"
            )),
            _ => Err(absent()),
        }
    }
}

/// A cell's value for the item, or what is wrong with it (its code and message).
fn value(
    names: &OrgNames,
    kind: Kind,
    english: bool,
    text: &str,
) -> Result<Value, (&'static str, String)> {
    let code = match kind {
        Kind::Code(_) => "invalid_choice",
        Kind::Org | Kind::Orgs => "not_found",
        _ => "invalid_format",
    };
    convert(names, kind, english, text).map_err(|message| (code, message))
}

fn convert(names: &OrgNames, kind: Kind, english: bool, text: &str) -> Result<Value, String> {
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
        Kind::Org => names.id(text).map(|id| Value::String(id.to_string())),
        Kind::Orgs => split_list(text)
            .into_iter()
            .map(|t| names.id(t).map(|id| Value::String(id.to_string())))
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
    names: &OrgNames,
    family: Family,
    table: Table,
    progress: Progress<'_>,
) -> Result<Parsed<T>> {
    let fields = family.fields();
    let mut rows = table.into_iter();
    let (_, header) = rows
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
    for (i, (row, cells)) in rows.enumerate() {
        if i % 1_000 == 0 {
            progress(Stage::Reading {
                done: i as u64,
                total,
            });
        }
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        // At most `BOUNDS.rows`: the table was read within them.
        parsed.total += 1;
        let mut item = Map::new();
        let mut bad = false;
        for (cell, column) in cells.iter().zip(&by_column) {
            let (Some((f, english)), text) = (column, cell.trim()) else {
                continue;
            };
            if text.is_empty() {
                continue;
            }
            match value(names, f.kind, *english, text) {
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
) -> Result<ImportReport> {
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
) -> Result<ImportReport> {
    // A caller who writes no records at all is refused before its file is read.
    if actor.role == Role::Auditor {
        return Err(AppError::Forbidden);
    }
    // Unpacking and parsing a workbook is CPU work: off the request's thread.
    let owned = bytes.to_vec();
    let table = tokio::task::spawn_blocking(move || read_table(&owned, BOUNDS))
        .await
        .map_err(|e| AppError::internal(format!("reading the file: {e}")))??;
    let dir = ctx.directory.get(&ctx.db).await?;
    let names = OrgNames::new(&dir, actor.scope());
    // The rows that parsed go through sync's rules even when others did not, so that one run
    // reports every bad row; only a clean real run commits.
    macro_rules! through {
        ($input:ty, $sync:path, $keep:ident) => {{
            let mut parsed = parse_rows::<$input>(&names, family, table, progress)?;
            $keep(ctx, &mut parsed).await?;
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
        Family::Project => through!(NewProject, projects::sync, keep_stored_project_fields),
        Family::FundTransaction => through!(NewFundTransaction, fund_transactions::sync, keep_all),
        Family::Exchange => through!(NewExchange, exchanges::sync, keep_all),
    }
}

/// Fund transactions and exchanges: every field is a column, so a row says all of its record.
async fn keep_all<T>(_: &AppCtx, _: &mut Parsed<T>) -> Result<()> {
    Ok(())
}

/// A row that names a stored project keeps what the file does not say of it: its items,
/// milestones and contact (no column holds them), and any column the file lacks. Sync then
/// compares and writes the whole content, so an exported sheet imports back unchanged and an
/// edited one changes only what was edited.
async fn keep_stored_project_fields(ctx: &AppCtx, parsed: &mut Parsed<NewProject>) -> Result<()> {
    use entity::project;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let named: Vec<String> = parsed
        .items
        .iter()
        .filter_map(|p| p.external_id.clone())
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    let mut stored: HashMap<(Uuid, String), project::Model> = HashMap::new();
    for chunk in named.chunks(1_000) {
        for m in project::Entity::find()
            .filter(project::Column::ExternalId.is_in(chunk.iter().cloned()))
            .filter(project::Column::DeletedAt.is_null())
            .all(&ctx.db)
            .await?
        {
            if let Some(e) = m.external_id.clone() {
                stored.insert((m.pairing_id, e), m);
            }
        }
    }
    let has = |key: &str| parsed.columns.names.contains_key(key);
    let (quantity, start, end, deep, planned, basis, measures) = (
        has("quantity"),
        has("start_on"),
        has("end_on"),
        has("deep_poverty"),
        has("beneficiaries_planned"),
        has("basis"),
        has("measures"),
    );
    for p in &mut parsed.items {
        let Some(m) = p
            .external_id
            .clone()
            .and_then(|e| stored.get(&(p.pairing_id, e)))
        else {
            continue;
        };
        p.items = serde_json::from_value(m.items.clone()).unwrap_or_default();
        p.milestones = serde_json::from_value(m.milestones.clone()).unwrap_or_default();
        p.responsible_contact_id = m.responsible_contact_id;
        if !quantity {
            p.quantity = m.quantity.clone();
        }
        if !start {
            p.start_on = m.start_on;
        }
        if !end {
            p.end_on = m.end_on;
        }
        if !deep {
            p.deep_poverty = m.deep_poverty;
        }
        if !planned {
            p.beneficiaries_planned = m.beneficiaries_planned;
        }
        if !basis {
            p.basis = m.basis.clone();
        }
        if !measures {
            p.measures = m.measures.clone();
        }
    }
    Ok(())
}

/// The report of a parsed file and what sync said of its good rows.
fn report(
    parsed: Parsed<()>,
    outcome: Option<Result<SyncResponse>>,
    dry_run: bool,
) -> Result<ImportReport> {
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
        assert_eq!(yuan_to_fen("1,234,567.00"), Some(123_456_700));
        assert_eq!(yuan_to_fen("12,5"), None);
        assert_eq!(yuan_to_fen(",125"), None);
        assert_eq!(yuan_to_fen("1234,567"), None);
        assert_eq!(yuan_to_fen("-0.07"), Some(-7));
        assert_eq!(yuan_to_fen("12"), Some(1_200));
        assert_eq!(yuan_to_fen("1.234"), None);
        assert_eq!(yuan_to_fen("1e3"), None);
        assert_eq!(yuan_to_fen(".5"), None);
        assert_eq!(yuan_to_fen(""), None);
        assert_eq!(yuan_to_fen("99999999999999999999"), None);
    }

    #[test]
    fn computed_numbers_read_at_the_cent() {
        assert_eq!(number_text(0.1 + 0.2), "0.30");
        assert_eq!(number_text(1234.5), "1234.50");
        assert_eq!(number_text(12.0), "12");
        assert_eq!(number_text(0.001), "0.001");
    }

    #[test]
    fn a_sync_path_names_its_item_and_field() {
        assert_eq!(item_field("items[3].amount_fen"), (Some(3), "amount_fen"));
        assert_eq!(item_field("items[0].items[2].name"), (Some(0), "items"));
        assert_eq!(item_field("items"), (None, "items"));
    }

    /// A ZIP of parts of `sizes` bytes each, deflated (a run of one byte packs to almost nothing).
    fn zip_of(sizes: &[usize]) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (i, size) in sizes.iter().enumerate() {
            let written = zip
                .start_file(format!("xl/part{i}.xml"), options)
                .map_err(|e| e.to_string())
                .and_then(|()| zip.write_all(&vec![b'a'; *size]).map_err(|e| e.to_string()));
            assert_eq!(written, Ok(()));
        }
        zip.finish()
            .map(std::io::Cursor::into_inner)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn refusal<T: std::fmt::Debug>(result: Result<T>) -> String {
        match result {
            Err(AppError::Validation(errors)) => format!("{errors:?}"),
            other => panic!("not refused as a bad file: {other:?}"),
        }
    }

    const MIB: u64 = 1 << 20;

    /// Small bounds, to test each at its edge.
    const SMALL: Bounds = Bounds {
        rows: 3,
        columns: 4,
        cells: 14,
        unpacked_part: MIB,
        unpacked: 3 * MIB,
    };

    #[test]
    fn a_workbook_that_unpacks_beyond_the_bounds_is_refused_before_it_is_read() {
        let mib = MIB as usize;
        let bomb = zip_of(&[1_000, 2 * mib]);
        assert!(bomb.len() < 64 * 1024, "{} bytes packed", bomb.len());
        let why = refusal(unpacks_within(&bomb, SMALL));
        assert!(
            why.contains("file") && why.contains("more than 1 MiB (xl/part1.xml)"),
            "{why}"
        );

        let many = zip_of(&[mib, mib, mib, 1]);
        let why = refusal(unpacks_within(&many, SMALL));
        assert!(
            why.contains("more than 3 MiB (xl/part3.xml and the parts before it)"),
            "{why}"
        );

        // Exactly at the bounds is within them.
        assert!(unpacks_within(&zip_of(&[mib, mib, mib]), SMALL).is_ok());
        // The real bounds take what a real import holds.
        assert!(unpacks_within(&many, BOUNDS).is_ok());
        // Not a ZIP at all: unreadable, still named as the file's fault.
        let why = refusal(unpacks_within(b"PK\x03\x04 and then nothing", SMALL));
        assert!(why.contains("not a readable XLSX workbook"), "{why}");
    }

    /// A workbook whose first sheet has a row of `n` numbers for each `n` of `rows`.
    fn workbook(rows: &[u16]) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (row, cells) in (0u32..).zip(rows) {
            for col in 0..*cells {
                assert!(sheet.write_number(row, col, f64::from(row)).is_ok());
            }
        }
        book.save_to_buffer().unwrap_or_else(|e| panic!("{e}"))
    }

    /// CSV text with a row of `n` cells for each `n` of `rows`.
    fn csv_of(rows: &[u16]) -> Vec<u8> {
        rows.iter()
            .map(|n| vec!["1"; usize::from(*n)].join(",") + "\n")
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn a_file_is_read_up_to_each_bound_and_refused_past_it() {
        for (kind, file) in [("XLSX", workbook as fn(&[u16]) -> Vec<u8>), ("CSV", csv_of)] {
            let read = |rows: &[u16]| read_table(&file(rows), SMALL).map(|t| t.len());
            let refused = |rows: &[u16], why: &str| {
                let got = refusal(read(rows));
                assert!(got.contains(why), "{kind} {rows:?}: {got}");
            };
            // The header and three rows; a fourth row is one too many.
            assert_eq!(read(&[1, 1, 1, 1]).ok(), Some(4), "{kind}");
            refused(&[1, 1, 1, 1, 1], "has more than 3 rows; split it");
            assert_eq!(read(&[4, 4]).ok(), Some(2), "{kind}");
            refused(&[4, 5], "has more than 4 columns; split it");
            // Fourteen cells; a fifteenth is one too many.
            assert_eq!(read(&[4, 4, 4, 2]).ok(), Some(4), "{kind}");
            refused(&[4, 4, 4, 3], "has more than 14 cells; split it");
        }
    }

    #[test]
    fn labels_and_codes_read_as_codes() {
        assert_eq!(code::<FundKind>("到位"), Some("arrival"));
        assert_eq!(code::<FundKind>("arrival"), Some("arrival"));
        assert_eq!(code::<FundKind>("收到"), None);
    }
}
