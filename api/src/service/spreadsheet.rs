//! Lists as spreadsheets: every list answers `?format=csv|xlsx` with all the pages its filters
//! keep, streamed. A record family says how its rows look ([`Tabular`]: a column's Chinese
//! header, its English key and how a record fills it); this module pages through the family's
//! own list function (so the caller's scope and the filters apply exactly as for JSON) and
//! writes the pages as they come. CSV goes out page by page. XLSX rows go to rust_xlsxwriter's
//! constant-memory worksheets (rows spill to a temporary file); once every row is in, the
//! response starts and the workbook's ZIP is streamed out as it is compressed, so no export is
//! ever held whole in memory.
//!
//! A failure while the rows are read (a database error, say) ends an XLSX export before the
//! response has started: the client gets the problem, with its status, rather than a `200` and a
//! cut-off file. A CSV export has already started by then; its response is aborted without the
//! final chunk, which every HTTP client reports as an incomplete transfer. A client that goes away
//! stops a CSV export at the next page and an XLSX export at the next block of its ZIP. (While an
//! XLSX export is still reading its rows nothing has been written, and actix-web does not tell a
//! handler that its client left, so that phase runs to its end.)

mod columns;

use std::{future::Future, pin::Pin, sync::Arc};

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use utoipa::{IntoParams, ToSchema};

use super::{AppCtx, Page, body::ChannelWriter, directory::Directory};
use crate::{
    authz::Actor,
    domain::{Limit, calendar::SHANGHAI, names},
    error::{AppError, AppResult},
};

pub use columns::Label;

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const CSV: &str = "text/csv; charset=utf-8";
/// Data rows per worksheet: the XLSX limit is 1,048,576 rows, the header included.
const SHEET_ROWS: u32 = 1_048_575;

names!(
    /// How a list is sent: JSON pages (the default), or every page as one spreadsheet.
    ListFormat { Json => "json", Csv => "csv", Xlsx => "xlsx" }
);

/// The `format` parameter every list takes.
#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct FormatParam {
    /// `json` (default): one keyset page. `csv` or `xlsx`: every record the filters keep, all
    /// pages, as a spreadsheet with Chinese headers (amounts in yuan, times in Beijing time);
    /// `limit` and `cursor` are ignored.
    #[param(inline)]
    pub format: Option<ListFormat>,
}

/// One cell of a spreadsheet row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    /// Integer fen, shown as yuan.
    Yuan(i64),
    Date(NaiveDate),
    /// Shown in Beijing time.
    Time(DateTime<Utc>),
    Bool(bool),
}

impl Cell {
    pub fn text(value: impl Into<String>) -> Self {
        Self::Text(value.into())
    }

    pub fn opt<T>(value: Option<T>, cell: impl FnOnce(T) -> Cell) -> Self {
        value.map_or(Self::Empty, cell)
    }

    /// The cell as CSV text. Text that a spreadsheet program would run as a formula (it starts
    /// with `=`, `+`, `-`, `@`, a tab or a carriage return) is sent behind a `'`, as OWASP
    /// advises against CSV injection.
    pub fn csv_text(&self) -> String {
        match self {
            Self::Empty => String::new(),
            Self::Text(t) if t.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{t}"),
            Self::Text(t) => t.clone(),
            Self::Int(n) => n.to_string(),
            Self::Yuan(fen) => yuan(*fen),
            Self::Date(d) => d.to_string(),
            Self::Time(t) => beijing(*t),
            Self::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        }
    }
}

/// Yuan as exact decimal text: `-12345` fen is `-123.45`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// An instant as Beijing wall-clock time, `2019-07-01 08:30:00`.
pub fn beijing(t: DateTime<Utc>) -> String {
    t.with_timezone(&SHANGHAI)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// What a column may name: the organizations and pairings the caller reads (the others stay
/// ids, as the JSON has them).
pub struct Lookup<'a> {
    pub dir: &'a Directory,
    pub scope: &'a crate::authz::Scope,
}

/// One column: its Chinese header, the English field it shows (the JSON name where there is
/// one), and how a record fills it (organizations and pairings are named from the directory).
pub struct Column<T> {
    pub header: &'static str,
    pub key: &'static str,
    pub cell: fn(&T, &Lookup) -> Cell,
}

/// A record family's rows as a spreadsheet.
pub trait Tabular: Send + Sync + Sized + 'static {
    /// The file name's stem (`projects`).
    const FILE: &'static str;
    /// The worksheet's name (`项目`).
    const SHEET: &'static str;
    fn columns() -> Vec<Column<Self>>;
}

/// A list query whose page can be set: the export walks the pages with it.
pub trait Paged: Send + 'static {
    fn set_page(&mut self, limit: Option<i64>, cursor: Option<String>);
}

macro_rules! paged {
    ($($query:ty),+ $(,)?) => {$(
        impl Paged for $query {
            fn set_page(&mut self, limit: Option<i64>, cursor: Option<String>) {
                self.limit = limit;
                self.cursor = cursor;
            }
        }
    )+};
}

paged!(
    super::organizations::OrganizationQuery,
    super::pairings::PairingQuery,
    super::working_groups::WorkingGroupQuery,
    super::contacts::ContactQuery,
    super::plans::PlanQuery,
    super::plans::PlanTaskQuery,
    super::projects::ProjectQuery,
    super::fund_transactions::FundTransactionQuery,
    super::exchanges::ExchangeQuery,
    super::agreements::AgreementQuery,
    super::evidence::EvidenceQuery,
    super::ledger_submissions::LedgerSubmissionQuery,
    super::self_assessments::SelfAssessmentQuery,
    super::reconciliations::ReconciliationQuery,
    super::webhooks::WebhookListQuery,
    super::users::UserQuery,
    super::service_accounts::ServiceAccountQuery,
    super::audit::AuditQuery,
    super::statements::StatementQuery,
);

/// A list function: `projects::list` and its kind, owning what it borrows.
pub type Fetch<Q, T> =
    fn(AppCtx, Actor, Q) -> Pin<Box<dyn Future<Output = AppResult<Page<T>>> + Send>>;

/// An export on its way: the file's name and type, and its bytes as they are written.
pub struct Export {
    pub file_name: String,
    pub content_type: &'static str,
    pub body: mpsc::Receiver<std::io::Result<Bytes>>,
}

/// Exports every record `fetch` lists for `q` as `format` (CSV or XLSX). The first page is
/// read before this returns, so a refused or invalid query fails as the JSON list would.
pub async fn export<Q: Paged + Clone, T: Tabular>(
    ctx: &AppCtx,
    actor: &Actor,
    mut q: Q,
    format: ListFormat,
    fetch: Fetch<Q, T>,
) -> AppResult<Export> {
    q.set_page(Some(Limit::MAX as i64), None);
    let first = fetch(ctx.clone(), actor.clone(), q.clone()).await?;
    let dir = ctx.directory.get(&ctx.db).await?;
    let rows_actor = actor.clone();
    let (ctx, actor) = (ctx.clone(), actor.clone());
    let pages = spawn_pages(first, move |cursor| {
        let mut q = q.clone();
        q.set_page(Some(Limit::MAX as i64), Some(cursor));
        fetch(ctx.clone(), actor.clone(), q)
    });
    let rows = spawn_rows(pages, dir, rows_actor);
    start(
        format,
        T::FILE.to_string(),
        T::SHEET,
        &headers::<T>(),
        rows,
        None,
    )
    .await
}

/// The headers of `T`'s columns.
pub fn headers<T: Tabular>() -> Vec<&'static str> {
    T::columns().iter().map(|c| c.header).collect()
}

/// Pages from `first` on, each next one fetched with the cursor of the one before, read by a
/// task of their own. Stops with a failure if a cursor comes back a second time, so a broken
/// list can never make an export run forever.
fn spawn_pages<T, F, Fut>(first: Page<T>, mut next: F) -> mpsc::Receiver<AppResult<Vec<T>>>
where
    T: Send + 'static,
    F: FnMut(String) -> Fut + Send + 'static,
    Fut: Future<Output = AppResult<Page<T>>> + Send,
{
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        let mut page = Ok(first);
        let mut seen = std::collections::HashSet::new();
        loop {
            let (items, cursor) = match page {
                Ok(p) => (Ok(p.items), p.next_cursor),
                Err(e) => (Err(e), None),
            };
            let cursor = match cursor {
                Some(c) if !seen.insert(c.clone()) => {
                    let _ = tx.send(items).await;
                    let _ = tx
                        .send(Err(AppError::internal("the list repeated a page cursor")))
                        .await;
                    return;
                }
                other => other,
            };
            if tx.send(items).await.is_err() {
                return;
            }
            match cursor {
                Some(c) => page = next(c).await,
                None => return,
            }
        }
    });
    rx
}

/// Rows of cells from pages of records, each record through `T`'s columns.
pub fn spawn_rows<T: Tabular>(
    mut pages: mpsc::Receiver<AppResult<Vec<T>>>,
    dir: Arc<Directory>,
    actor: Actor,
) -> mpsc::Receiver<AppResult<Vec<Vec<Cell>>>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        let columns = T::columns();
        let lookup = Lookup {
            dir: &dir,
            scope: actor.scope(),
        };
        while let Some(page) = pages.recv().await {
            let rows = page.map(|items| {
                items
                    .iter()
                    .map(|item| columns.iter().map(|c| (c.cell)(item, &lookup)).collect())
                    .collect()
            });
            let failed = rows.is_err();
            if tx.send(rows).await.is_err() || failed {
                return;
            }
        }
    });
    rx
}

/// What an XLSX export writes before its rows (a summary sheet, say), as sheet 0.
pub type Prelude = Box<dyn FnOnce(&mut Workbook) -> Result<(), XlsxError> + Send>;

/// Starts writing `rows` under `headers` as `format`, into a file named `{stem}.{ext}`. For XLSX
/// this returns once every row is in the workbook, with the error that stopped it if one did.
pub async fn start(
    format: ListFormat,
    stem: String,
    sheet: &'static str,
    headers: &[&'static str],
    rows: mpsc::Receiver<AppResult<Vec<Vec<Cell>>>>,
    prelude: Option<Prelude>,
) -> AppResult<Export> {
    let (tx, rx) = mpsc::channel(4);
    let headers = headers.to_vec();
    let (ext, content_type) = match format {
        ListFormat::Xlsx => {
            let (filled, is_filled) = oneshot::channel();
            tokio::task::spawn_blocking(move || xlsx(sheet, &headers, rows, prelude, filled, tx));
            is_filled
                .await
                .map_err(|_| AppError::internal("the workbook's writer stopped"))??;
            ("xlsx", XLSX)
        }
        _ => {
            tokio::spawn(csv(headers, rows, tx));
            ("csv", CSV)
        }
    };
    Ok(Export {
        file_name: format!("{stem}.{ext}"),
        content_type,
        body: rx,
    })
}

fn io_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// CSV bytes of some records (one writer per page: it buffers the page and hands back its bytes).
fn csv_bytes(records: impl Iterator<Item = Vec<String>>) -> std::io::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for record in records {
        writer.write_record(&record).map_err(io_error)?;
    }
    writer.into_inner().map_err(io_error)
}

async fn csv(
    headers: Vec<&'static str>,
    mut rows: mpsc::Receiver<AppResult<Vec<Vec<Cell>>>>,
    tx: mpsc::Sender<std::io::Result<Bytes>>,
) {
    // A byte-order mark, so that spreadsheet programs read the Chinese as UTF-8.
    let header = csv_bytes(std::iter::once(
        headers.iter().map(|h| h.to_string()).collect(),
    ))
    .map(|bytes| [&b"\xef\xbb\xbf"[..], &bytes].concat());
    let failed = header.is_err();
    if tx.send(header.map(Bytes::from)).await.is_err() || failed {
        return;
    }
    while let Some(page) = rows.recv().await {
        let bytes = page
            .map_err(|e| io_error(format!("{e:?}")))
            .and_then(|rows| {
                csv_bytes(
                    rows.iter()
                        .map(|row| row.iter().map(Cell::csv_text).collect()),
                )
            });
        let failed = bytes.is_err();
        if tx.send(bytes.map(Bytes::from)).await.is_err() || failed {
            return;
        }
    }
}

/// Fills a workbook with `rows` and tells `filled` how that went; then, if the request still
/// waits, writes the workbook into `tx` (on a blocking thread: both steps are CPU and file work).
fn xlsx(
    sheet: &'static str,
    headers: &[&'static str],
    rows: mpsc::Receiver<AppResult<Vec<Vec<Cell>>>>,
    prelude: Option<Prelude>,
    filled: oneshot::Sender<AppResult<()>>,
    tx: mpsc::Sender<std::io::Result<Bytes>>,
) {
    let mut workbook = match fill_xlsx(sheet, headers, rows, prelude) {
        Ok(workbook) => workbook,
        Err(e) => {
            let _ = filled.send(Err(e));
            return;
        }
    };
    if filled.send(Ok(())).is_err() {
        return;
    }
    let mut out = ChannelWriter::new(tx, 64 * 1024);
    let saved = workbook
        .save_to_writer(&mut out)
        .map_err(io_error)
        .and_then(|()| std::io::Write::flush(&mut out));
    if let Err(e) = saved {
        out.fail(e);
    }
}

fn xlsx_error(e: XlsxError) -> AppError {
    AppError::internal(format!("writing the workbook: {e}"))
}

/// Writes the bold header row of `sheet` and freezes it.
pub fn header_row(sheet: &mut Worksheet, headers: &[&str], bold: &Format) -> Result<(), XlsxError> {
    for (col, title) in (0u16..).zip(headers) {
        sheet.write_string_with_format(0, col, *title, bold)?;
        sheet.set_column_width(col, 16)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// The most UTF-16 units an XLSX cell holds.
const CELL_UNITS: usize = 32_767;

/// `text` cut to what a cell holds, marked where it was cut (the full text is in the API).
fn fit(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= CELL_UNITS && text.encode_utf16().count() <= CELL_UNITS {
        return text.into();
    }
    const MARK: &str = "…（超出单元格长度，全文见接口）";
    let room = CELL_UNITS - MARK.encode_utf16().count();
    let mut units = 0;
    let cut: String = text
        .chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= room
        })
        .collect();
    format!("{cut}{MARK}").into()
}

/// The money format: yuan with two decimals.
pub fn money_format() -> Format {
    Format::new().set_num_format("#,##0.00")
}

pub fn write_cell(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    cell: &Cell,
    money: &Format,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Empty => {}
        Cell::Text(t) if t.is_empty() => {}
        Cell::Text(t) => {
            ws.write_string(row, col, fit(t))?;
        }
        Cell::Int(n) => {
            ws.write_number(row, col, *n as f64)?;
        }
        // Exact: every amount the API accepts (up to 10^13 fen) is below 2^53.
        Cell::Yuan(fen) => {
            ws.write_number_with_format(row, col, *fen as f64 / 100.0, money)?;
        }
        other => {
            ws.write_string(row, col, other.csv_text())?;
        }
    }
    Ok(())
}

fn fill_xlsx(
    sheet: &str,
    headers: &[&str],
    mut rows: mpsc::Receiver<AppResult<Vec<Vec<Cell>>>>,
    prelude: Option<Prelude>,
) -> AppResult<Workbook> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let money = money_format();
    let first = match prelude {
        Some(prelude) => {
            prelude(&mut workbook).map_err(xlsx_error)?;
            1
        }
        None => 0,
    };
    // The rows fill sheets `first`, `first + 1`, … as each one fills up.
    let mut sheets = 0;
    let mut row = SHEET_ROWS;
    while let Some(page) = rows.blocking_recv() {
        for cells in page? {
            if row == SHEET_ROWS {
                sheets += 1;
                let next = workbook
                    .add_worksheet_with_constant_memory()
                    .map_err(xlsx_error)?;
                next.set_name(if sheets == 1 {
                    sheet.to_string()
                } else {
                    format!("{sheet}{sheets}")
                })
                .map_err(xlsx_error)?;
                header_row(next, headers, &bold).map_err(xlsx_error)?;
                row = 0;
            }
            let ws = workbook
                .worksheet_from_index(first + sheets - 1)
                .map_err(xlsx_error)?;
            row += 1;
            for (col, cell) in (0u16..).zip(&cells) {
                write_cell(ws, row, col, cell, &money).map_err(xlsx_error)?;
            }
        }
    }
    if sheets == 0 {
        let empty = workbook.add_worksheet();
        empty.set_name(sheet).map_err(xlsx_error)?;
        header_row(empty, headers, &bold).map_err(xlsx_error)?;
    }
    Ok(workbook)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_text_defuses_formulas_and_shows_money_and_time_for_people() {
        assert_eq!(Cell::text("=SUM(A1)").csv_text(), "'=SUM(A1)");
        assert_eq!(Cell::text("-1").csv_text(), "'-1");
        assert_eq!(Cell::text("@x").csv_text(), "'@x");
        assert_eq!(Cell::text("+1").csv_text(), "'+1");
        assert_eq!(Cell::text("a=b").csv_text(), "a=b");
        assert_eq!(Cell::Yuan(-12345).csv_text(), "-123.45");
        assert_eq!(Cell::Yuan(7).csv_text(), "0.07");
        assert_eq!(Cell::Int(-3).csv_text(), "-3");
        assert_eq!(Cell::Bool(true).csv_text(), "是");
        let t = DateTime::parse_from_rfc3339("2019-06-30T16:30:00Z")
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timezone(&Utc);
        assert_eq!(Cell::Time(t).csv_text(), "2019-07-01 00:30:00");
    }

    #[tokio::test]
    async fn a_repeated_cursor_ends_the_pages_with_a_failure() {
        let first = Page {
            items: vec![1],
            next_cursor: Some("c".to_string()),
        };
        let mut pages = spawn_pages(first, |cursor| async move {
            Ok(Page {
                items: vec![2],
                next_cursor: Some(cursor),
            })
        });
        let mut got = Vec::new();
        while let Some(page) = pages.recv().await {
            got.push(page.map_err(|e| format!("{e:?}")));
        }
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], Ok(vec![1]));
        assert_eq!(got[1], Ok(vec![2]));
        assert!(
            got[2].as_ref().is_err_and(|e| e.contains("repeated")),
            "{got:?}"
        );
    }

    /// `rows` as they would come from a list: each page, then the pages' end.
    fn rows_of(pages: Vec<AppResult<Vec<Vec<Cell>>>>) -> mpsc::Receiver<AppResult<Vec<Vec<Cell>>>> {
        let (tx, rx) = mpsc::channel(pages.len().max(1));
        for page in pages {
            let _ = tx.try_send(page);
        }
        rx
    }

    async fn body_of(export: Export) -> Vec<std::io::Result<Bytes>> {
        let mut body = export.body;
        let mut chunks = Vec::new();
        while let Some(chunk) = body.recv().await {
            chunks.push(chunk);
        }
        chunks
    }

    /// `rows` as an XLSX export of two columns.
    async fn xlsx_of(rows: mpsc::Receiver<AppResult<Vec<Vec<Cell>>>>) -> AppResult<Export> {
        start(
            ListFormat::Xlsx,
            "x".into(),
            "行",
            &["名称", "金额"],
            rows,
            None,
        )
        .await
    }

    #[tokio::test]
    async fn an_xlsx_export_that_fails_reading_its_rows_fails_before_its_response_starts() {
        let page = vec![vec![Cell::text("甲"), Cell::Yuan(100)]];
        let rows = rows_of(vec![
            Ok(page),
            Err(AppError::internal("the database went away")),
        ]);
        let started = xlsx_of(rows).await;
        assert!(
            matches!(started, Err(AppError::Internal(ref e)) if e.to_string().contains("went away")),
            "{:?}",
            started.map(|e| e.file_name)
        );
    }

    #[tokio::test]
    async fn an_xlsx_export_streams_a_workbook_that_reads_back() {
        use calamine::{Reader, Xlsx};
        // Text that does not compress away, so the ZIP takes several chunks.
        let page: Vec<Vec<Cell>> = (0..20_000u64)
            .map(|i| {
                let noise = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                vec![Cell::text(format!("项目{noise:x}")), Cell::Yuan(i as i64)]
            })
            .collect();
        let rows = rows_of(vec![Ok(page)]);
        let export = xlsx_of(rows).await.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(export.file_name, "x.xlsx");
        let chunks = body_of(export).await;
        assert!(
            chunks.len() > 1,
            "one chunk of {:?}",
            chunks.first().map(|c| c.as_ref().map(Bytes::len))
        );
        let bytes: Vec<u8> = chunks
            .into_iter()
            .flat_map(|c| c.unwrap_or_else(|e| panic!("{e}")).to_vec())
            .collect();
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
            .unwrap_or_else(|e| panic!("{e}"));
        let range = book.worksheet_range("行").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(range.height(), 20_001);
        assert_eq!(
            range.get_value((20_000, 1)).map(ToString::to_string),
            Some("199.99".to_string())
        );
    }

    #[test]
    fn a_text_longer_than_a_cell_is_cut_to_fit_and_marked() {
        assert_eq!(fit("短"), "短");
        let long = "𠀀".repeat(20_000);
        let cut = fit(&long);
        assert!(cut.encode_utf16().count() <= CELL_UNITS);
        assert!(cut.ends_with("全文见接口）"));
        assert!(cut.starts_with("𠀀𠀀"));
    }

    #[test]
    fn yuan_is_exact_decimal_text() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(100), "1.00");
        assert_eq!(yuan(1_234_567), "12345.67");
        assert_eq!(yuan(-1_005), "-10.05");
        assert_eq!(yuan(9_999_999_999_999), "99999999999.99");
        assert_eq!(yuan(i64::MIN), "-92233720368547758.08");
    }
}
