//! A reconciliation report as a spreadsheet: XLSX with a summary sheet and the lines (Chinese
//! headers and labels, amounts in yuan), or its lines as CSV. Both are streamed: the lines are
//! read in keyset pages while the file is written, so a report of a million lines is never held
//! whole (the XLSX worksheet writes its rows to a temporary file as they come, and only the
//! finished, compressed workbook is sent from memory).

use bytes::Bytes;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{
    AppCtx,
    ledger_export::{CSV, XLSX, yuan},
    reconciliations::{
        self, LineFilter, LineRecordType, LineStatus, LineView, MatchRule, ReconciliationView,
        Resolution,
    },
};
use crate::{
    authz::Actor,
    domain::names,
    error::{AppError, AppResult},
};

names!(
    /// How a report's lines are sent.
    LinesFormat { Json => "json", Xlsx => "xlsx", Csv => "csv" }
);

/// Lines read per statement while exporting.
const PAGE: u64 = 5_000;
/// Data rows per worksheet: the XLSX limit is 1,048,576 rows, the header included.
const SHEET_ROWS: u32 = 1_048_575;

const HEADERS: [&str; 14] = [
    "行号",
    "类型",
    "状态",
    "匹配方式",
    "凭证号",
    "东部金额（元）",
    "西部金额（元）",
    "差额（元）",
    "东部日期",
    "西部日期",
    "东部记录",
    "西部记录",
    "处理状态",
    "说明",
];

/// An export on its way: the file's name and type, and its bytes as they are written.
pub struct Export {
    pub file_name: String,
    pub content_type: &'static str,
    pub body: mpsc::Receiver<std::io::Result<Bytes>>,
}

fn type_label(t: LineRecordType) -> &'static str {
    match t {
        LineRecordType::FundTransaction => "资金",
        LineRecordType::Exchange => "交流互访",
    }
}

fn status_label(s: LineStatus) -> &'static str {
    match s {
        LineStatus::Matched => "一致",
        LineStatus::AmountMismatch => "金额不符",
        LineStatus::EastOnly => "仅东部有记录",
        LineStatus::WestOnly => "仅西部有记录",
    }
}

fn rule_label(r: Option<MatchRule>) -> &'static str {
    match r {
        Some(MatchRule::Voucher) => "凭证号",
        Some(MatchRule::AmountDate) => "金额与日期",
        Some(MatchRule::Dates) => "日期重叠",
        None => "",
    }
}

fn resolution_label(r: Resolution) -> &'static str {
    match r {
        Resolution::Open => "待处理",
        Resolution::Explained => "已说明",
        Resolution::Resolved => "已解决",
    }
}

/// A line's amounts and their difference (east less west), as far as they exist.
fn amounts(l: &LineView) -> [Option<i64>; 3] {
    let east = l.east_amount_fen.map(|f| f.0);
    let west = l.west_amount_fen.map(|f| f.0);
    let diff = match (east, west) {
        (None, None) => None,
        (e, w) => Some(e.unwrap_or(0).saturating_sub(w.unwrap_or(0))),
    };
    [east, west, diff]
}

fn texts(l: &LineView) -> [String; 14] {
    let [east, west, diff] = amounts(l).map(|a| a.map(yuan).unwrap_or_default());
    let opt = |v: Option<String>| v.unwrap_or_default();
    [
        l.line_no.to_string(),
        type_label(l.record_type).into(),
        status_label(l.status).into(),
        rule_label(l.rule).into(),
        opt(l.voucher_no.clone()),
        east,
        west,
        diff,
        opt(l.east_on.map(|d| d.to_string())),
        opt(l.west_on.map(|d| d.to_string())),
        opt(l.east_record_id.map(|i| i.to_string())),
        opt(l.west_record_id.map(|i| i.to_string())),
        resolution_label(l.resolution).into(),
        opt(l.note.clone()),
    ]
}

/// Starts exporting report `id` (which the caller must read) in `format` (CSV or XLSX), its
/// lines filtered by `filter`.
pub async fn export(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    format: LinesFormat,
    filter: LineFilter,
) -> AppResult<Export> {
    let report = reconciliations::get(ctx, actor, id).await?;
    let (tx, rx) = mpsc::channel(4);
    let pages = pages(ctx.clone(), id, filter);
    let (ext, content_type) = match format {
        LinesFormat::Xlsx => {
            tokio::spawn(xlsx(report.clone(), pages, tx));
            ("xlsx", XLSX)
        }
        _ => {
            tokio::spawn(csv(pages, tx));
            ("csv", CSV)
        }
    };
    let period = match report.quarter {
        Some(q) => format!("{}Q{q}", report.year),
        None => report.year.to_string(),
    };
    Ok(Export {
        file_name: format!("reconciliation-{period}-{id}.{ext}"),
        content_type,
        body: rx,
    })
}

/// The report's lines, a page at a time, read by a task of their own.
fn pages(ctx: AppCtx, id: Uuid, filter: LineFilter) -> mpsc::Receiver<AppResult<Vec<LineView>>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        let mut after = 0;
        loop {
            let page = reconciliations::line_rows(&ctx.db, id, &filter, after, PAGE).await;
            let last = match &page {
                Ok(rows) => rows.last().map(|l| l.line_no),
                Err(_) => None,
            };
            let done = last.is_none() || page.as_ref().is_ok_and(|p| (p.len() as u64) < PAGE);
            if tx.send(page).await.is_err() || done {
                return;
            }
            after = last.unwrap_or(after);
        }
    });
    rx
}

fn io_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

async fn csv(
    mut pages: mpsc::Receiver<AppResult<Vec<LineView>>>,
    tx: mpsc::Sender<std::io::Result<Bytes>>,
) {
    // One writer per page: it buffers the page's records and hands back its bytes.
    let page_bytes = |records: &mut dyn Iterator<Item = [String; 14]>| -> std::io::Result<Vec<u8>> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        for record in records {
            writer.write_record(&record).map_err(io_error)?;
        }
        writer.into_inner().map_err(io_error)
    };
    let mut first = "\u{feff}".as_bytes().to_vec();
    match page_bytes(&mut std::iter::once(HEADERS.map(String::from))) {
        Ok(bytes) => first.extend(bytes),
        Err(e) => {
            let _ = tx.send(Err(e)).await;
            return;
        }
    }
    if tx.send(Ok(Bytes::from(first))).await.is_err() {
        return;
    }
    while let Some(page) = pages.recv().await {
        let bytes = page
            .map_err(|e| io_error(format!("{e:?}")))
            .and_then(|rows| page_bytes(&mut rows.iter().map(texts)));
        let failed = bytes.is_err();
        if tx.send(bytes.map(Bytes::from)).await.is_err() || failed {
            return;
        }
    }
}

async fn xlsx(
    report: ReconciliationView,
    pages: mpsc::Receiver<AppResult<Vec<LineView>>>,
    tx: mpsc::Sender<std::io::Result<Bytes>>,
) {
    let built = tokio::task::spawn_blocking(move || build_xlsx(&report, pages)).await;
    let bytes = match built {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            let _ = tx.send(Err(io_error(e))).await;
            return;
        }
        Err(e) => {
            let _ = tx.send(Err(io_error(e))).await;
            return;
        }
    };
    let bytes = Bytes::from(bytes);
    for start in (0..bytes.len()).step_by(64 * 1024) {
        let end = (start + 64 * 1024).min(bytes.len());
        if tx.send(Ok(bytes.slice(start..end))).await.is_err() {
            return;
        }
    }
}

/// Why a workbook could not be written.
enum BuildError {
    Xlsx(XlsxError),
    Read(AppError),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Xlsx(e) => write!(f, "writing the workbook: {e}"),
            Self::Read(e) => write!(f, "reading the lines: {e:?}"),
        }
    }
}

impl From<XlsxError> for BuildError {
    fn from(e: XlsxError) -> Self {
        Self::Xlsx(e)
    }
}

fn header_row(sheet: &mut Worksheet, headers: &[&str], bold: &Format) -> Result<(), XlsxError> {
    for (col, title) in (0u16..).zip(headers) {
        sheet.write_string_with_format(0, col, *title, bold)?;
        sheet.set_column_width(col, 16)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn build_xlsx(
    report: &ReconciliationView,
    mut pages: mpsc::Receiver<AppResult<Vec<LineView>>>,
) -> Result<Vec<u8>, BuildError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let summary = workbook.add_worksheet();
    summary.set_name("汇总")?;
    header_row(summary, &["项目", "东部", "西部"], &bold)?;
    let t = &report.totals;
    let period = match report.quarter {
        Some(q) => format!("{}年第{q}季度", report.year),
        None => format!("{}年", report.year),
    };
    summary.write_string(1, 0, "期间")?;
    summary.write_string(1, 1, &period)?;
    summary.write_string(2, 0, "日期窗口（天）")?;
    summary.write_number(2, 1, f64::from(report.window_days))?;
    summary.write_string(3, 0, "资金笔数")?;
    summary.write_number(3, 1, t.east.fund_transactions as f64)?;
    summary.write_number(3, 2, t.west.fund_transactions as f64)?;
    summary.write_string(4, 0, "金额（元）")?;
    summary.write_number_with_format(4, 1, t.east.amount_fen.0 as f64 / 100.0, &money)?;
    summary.write_number_with_format(4, 2, t.west.amount_fen.0 as f64 / 100.0, &money)?;
    summary.write_string(5, 0, "差额（元）")?;
    summary.write_number_with_format(5, 1, t.difference_fen.0 as f64 / 100.0, &money)?;
    summary.write_string(6, 0, "交流互访次数")?;
    summary.write_number(6, 1, t.east.exchanges as f64)?;
    summary.write_number(6, 2, t.west.exchanges as f64)?;
    for (col, title) in (0u16..).zip(["类型", "状态", "行数", "东部金额（元）", "西部金额（元）"])
    {
        summary.write_string_with_format(8, col, title, &bold)?;
    }
    for (row, s) in (9u32..).zip(&t.by_status) {
        summary.write_string(row, 0, type_label(s.record_type))?;
        summary.write_string(row, 1, status_label(s.status))?;
        summary.write_number(row, 2, s.lines as f64)?;
        summary.write_number_with_format(row, 3, s.east_amount_fen.0 as f64 / 100.0, &money)?;
        summary.write_number_with_format(row, 4, s.west_amount_fen.0 as f64 / 100.0, &money)?;
    }

    // The summary is sheet 0; the lines fill sheets 1, 2, … as each one fills up.
    let mut sheets = 0;
    let mut row = SHEET_ROWS;
    while let Some(page) = pages.blocking_recv() {
        for l in page.map_err(BuildError::Read)? {
            if row == SHEET_ROWS {
                sheets += 1;
                let next = workbook.add_worksheet_with_constant_memory()?;
                next.set_name(if sheets == 1 {
                    "对账明细".to_string()
                } else {
                    format!("对账明细{sheets}")
                })?;
                header_row(next, &HEADERS, &bold)?;
                row = 0;
            }
            let ws = workbook.worksheet_from_index(sheets)?;
            row += 1;
            let [east, west, diff] = amounts(&l);
            for (col, text) in (0u16..).zip(texts(&l)) {
                match (
                    col,
                    [east, west, diff].get(usize::from(col).wrapping_sub(5)),
                ) {
                    (0, _) => ws.write_number(row, col, l.line_no as f64)?,
                    (5..=7, Some(Some(fen))) => {
                        ws.write_number_with_format(row, col, *fen as f64 / 100.0, &money)?
                    }
                    (5..=7, _) => ws,
                    _ if text.is_empty() => ws,
                    _ => ws.write_string(row, col, text)?,
                };
            }
        }
    }
    if sheets == 0 {
        let empty = workbook.add_worksheet();
        empty.set_name("对账明细")?;
        header_row(empty, &HEADERS, &bold)?;
    }
    Ok(workbook.save_to_buffer()?)
}
