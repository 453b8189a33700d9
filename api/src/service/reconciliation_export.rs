//! A reconciliation report as a spreadsheet: XLSX with a summary sheet and the lines (Chinese
//! headers and labels, amounts in yuan), or its lines as CSV. Both are streamed: the lines are
//! read in keyset pages while the file is written, so a report of a million lines is never held
//! whole (see [`super::spreadsheet`]).

use rust_xlsxwriter::{Format, Workbook, XlsxError};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{
    AppCtx,
    reconciliations::{self, LineFilter, LineView, ReconciliationView},
    spreadsheet::{
        self, Export, Label, ListFormat, Prelude, Tabular, header_row, money_format, spawn_rows,
    },
};
use crate::{authz::Actor, error::AppResult};

/// Lines read per statement while exporting.
const PAGE: u64 = 5_000;

/// Starts exporting report `id` (which the caller must read) in `format` (CSV or XLSX), its
/// lines filtered by `filter`.
pub async fn export(
    ctx: &AppCtx,
    actor: &Actor,
    id: Uuid,
    format: ListFormat,
    filter: LineFilter,
) -> AppResult<Export> {
    let report = reconciliations::get(ctx, actor, id).await?;
    let dir = ctx.directory.get(&ctx.db).await?;
    let rows = spawn_rows(pages(ctx.clone(), id, filter), dir, actor.clone());
    let period = match report.quarter {
        Some(q) => format!("{}Q{q}", report.year),
        None => report.year.to_string(),
    };
    let stem = format!("reconciliation-{period}-{id}");
    let prelude: Prelude = Box::new(move |workbook| summary(workbook, &report));
    spreadsheet::start(
        format,
        stem,
        LineView::SHEET,
        &spreadsheet::headers::<LineView>(),
        rows,
        (format == ListFormat::Xlsx).then_some(prelude),
    )
    .await
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

/// The summary sheet: the period, the window, and the totals per side and per status.
fn summary(workbook: &mut Workbook, report: &ReconciliationView) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let money = money_format();
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
        summary.write_string(row, 0, s.record_type.label())?;
        summary.write_string(row, 1, s.status.label())?;
        summary.write_number(row, 2, s.lines as f64)?;
        summary.write_number_with_format(row, 3, s.east_amount_fen.0 as f64 / 100.0, &money)?;
        summary.write_number_with_format(row, 4, s.west_amount_fen.0 as f64 / 100.0, &money)?;
    }

    Ok(())
}
