//! A ledger as a spreadsheet: XLSX with a summary sheet and one sheet per list (Chinese headers,
//! amounts in yuan with two decimals, the header row frozen), or one list as CSV.
//!
//! Money stays integer fen up to the cell: CSV writes yuan as exact decimal text
//! (`12345.67`); XLSX stores a number, which spreadsheets keep as a double (exact to the fen
//! for every amount the service accepts) and shows with the `#,##0.00` format.

use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{
    ledgers::Ledger,
    spreadsheet::{Cell, Label, header_row, money_format, write_cell},
};
use crate::{
    domain::names,
    error::{AppError, AppResult},
};

names!(
    /// How a ledger is sent.
    LedgerFormat { Json => "json", Xlsx => "xlsx", Csv => "csv" }
);
names!(
    /// One list of a ledger, for CSV (a CSV file holds one table).
    LedgerPart {
        Summary => "summary",
        Projects => "projects",
        FundTransactions => "fund_transactions",
        Exchanges => "exchanges",
        PlanTasks => "plan_tasks",
        Evidence => "evidence",
        Gaps => "gaps",
    }
);

#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LedgerExportQuery {
    /// `json` (default), `xlsx` (every list, one sheet each) or `csv` (the list `part` names).
    #[param(inline)]
    pub format: Option<LedgerFormat>,
    /// With `format=csv`: which list.
    #[param(inline)]
    pub part: Option<LedgerPart>,
}

fn text(value: impl ToString) -> Cell {
    Cell::Text(value.to_string())
}

fn label(value: impl Label) -> Cell {
    Cell::text(value.label())
}

fn opt(value: Option<impl ToString>) -> Cell {
    Cell::opt(value, text)
}

/// One list: its sheet name, its CSV part, its headers and rows.
struct Table {
    sheet: &'static str,
    part: LedgerPart,
    headers: &'static [&'static str],
    rows: Vec<Vec<Cell>>,
}

fn tables(l: &Ledger) -> Vec<Table> {
    let t = &l.totals;
    let summary = vec![
        vec![text("单位"), text(l.org_id)],
        vec![text("年度"), Cell::Int(l.year.into())],
        vec![
            text("季度"),
            match l.quarter {
                Some(q) => Cell::Int(q.into()),
                None => text("全年"),
            },
        ],
        vec![text("报送截止日"), opt(l.due_on)],
        vec![text("认捐（元）"), Cell::Yuan(t.pledged_fen.0)],
        vec![text("拨付（元）"), Cell::Yuan(t.transferred_fen.0)],
        vec![text("到位（元）"), Cell::Yuan(t.arrived_fen.0)],
        vec![text("支出（元）"), Cell::Yuan(t.spent_fen.0)],
        vec![text("退回（元）"), Cell::Yuan(t.refunded_fen.0)],
        vec![text("项目数"), Cell::Int(t.projects.into())],
        vec![text("资金往来笔数"), Cell::Int(t.fund_transactions.into())],
        vec![text("交流活动数"), Cell::Int(t.exchanges.into())],
        vec![text("计划任务数"), Cell::Int(t.plan_tasks.into())],
        vec![text("印证资料数"), Cell::Int(t.evidence.into())],
        vec![text("问题数"), Cell::Int(t.gaps.into())],
    ];
    vec![
        Table {
            sheet: "汇总",
            part: LedgerPart::Summary,
            headers: &["项目", "数值"],
            rows: summary,
        },
        Table {
            sheet: "项目",
            part: LedgerPart::Projects,
            headers: &[
                "项目编号",
                "项目名称",
                "年度",
                "类别",
                "季末状态",
                "当前状态",
                "预算（元）",
                "认捐（元）",
                "到位（元）",
                "支出（元）",
                "结对",
                "ID",
            ],
            rows: l
                .projects
                .iter()
                .map(|p| {
                    let v = &p.project;
                    vec![
                        text(&v.code),
                        text(&v.title),
                        Cell::Int(v.year.into()),
                        label(v.category),
                        label(p.status_at_period_end),
                        label(v.status),
                        Cell::Yuan(v.budget_fen.0),
                        Cell::Yuan(v.pledged_fen.0),
                        Cell::Yuan(v.arrived_fen.0),
                        Cell::Yuan(v.spent_fen.0),
                        text(v.pairing_id),
                        text(v.id),
                    ]
                })
                .collect(),
        },
        Table {
            sheet: "资金往来",
            part: LedgerPart::FundTransactions,
            headers: &[
                "日期",
                "类型",
                "金额（元）",
                "凭证号",
                "项目",
                "结对",
                "记录方",
                "备注",
                "ID",
            ],
            rows: l
                .fund_transactions
                .iter()
                .map(|f| {
                    vec![
                        text(f.occurred_on),
                        label(f.kind),
                        Cell::Yuan(f.amount_fen.0),
                        opt(f.voucher_no.as_ref()),
                        opt(f.project_id),
                        text(f.pairing_id),
                        label(f.side),
                        opt(f.note.as_ref()),
                        text(f.id),
                    ]
                })
                .collect(),
        },
        Table {
            sheet: "交流活动",
            part: LedgerPart::Exchanges,
            headers: &[
                "开始",
                "结束",
                "类型",
                "方向",
                "主办单位",
                "参加人数",
                "概要",
                "结对",
                "ID",
            ],
            rows: l
                .exchanges
                .iter()
                .map(|e| {
                    vec![
                        text(e.start_on),
                        text(e.end_on),
                        label(e.kind),
                        label(e.direction),
                        text(e.host_org_id),
                        opt(e.participants),
                        opt(e.summary.as_ref()),
                        opt(e.pairing_id),
                        text(e.id),
                    ]
                })
                .collect(),
        },
        Table {
            sheet: "计划任务",
            part: LedgerPart::PlanTasks,
            headers: &[
                "季度",
                "任务",
                "截止日",
                "目标",
                "完成",
                "状态",
                "责任单位",
                "ID",
            ],
            rows: l
                .plan_tasks
                .iter()
                .map(|t| {
                    vec![
                        Cell::Int(t.quarter.into()),
                        text(&t.title),
                        text(t.due_on),
                        Cell::Int(t.target_count.into()),
                        Cell::Int(t.progress_count.into()),
                        label(t.status),
                        text(t.responsible_org_id),
                        text(t.id),
                    ]
                })
                .collect(),
        },
        Table {
            sheet: "印证资料",
            part: LedgerPart::Evidence,
            headers: &[
                "类别",
                "标题",
                "文件名",
                "类型",
                "大小（字节）",
                "SHA-256",
                "证明的记录",
                "ID",
            ],
            rows: l
                .evidence
                .iter()
                .map(|e| {
                    let links = e
                        .links
                        .iter()
                        .map(|k| format!("{} {}", k.record_type.label(), k.record_id))
                        .collect::<Vec<_>>()
                        .join(" ");
                    vec![
                        label(e.category),
                        text(&e.title),
                        text(&e.file_name),
                        text(&e.media_type),
                        Cell::Int(e.size_bytes),
                        text(&e.sha256),
                        text(links),
                        text(e.id),
                    ]
                })
                .collect(),
        },
        Table {
            sheet: "问题清单",
            part: LedgerPart::Gaps,
            headers: &["问题", "记录类型", "记录", "说明"],
            rows: l
                .gaps
                .iter()
                .map(|g| {
                    vec![
                        label(g.kind),
                        label(g.record_type),
                        text(g.record_id),
                        text(&g.message),
                    ]
                })
                .collect(),
        },
    ]
}

/// The whole ledger as an XLSX workbook.
pub fn xlsx(ledger: &Ledger) -> AppResult<Vec<u8>> {
    build_xlsx(ledger).map_err(|e| AppError::internal(format!("writing the workbook: {e}")))
}

fn build_xlsx(ledger: &Ledger) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let money = money_format();
    for table in tables(ledger) {
        let sheet = workbook.add_worksheet();
        sheet.set_name(table.sheet)?;
        header_row(sheet, table.headers, &bold)?;
        for (row, cells) in (1u32..).zip(&table.rows) {
            for (col, cell) in (0u16..).zip(cells) {
                write_cell(sheet, row, col, cell, &money)?;
            }
        }
    }
    workbook.save_to_buffer()
}

/// One list of the ledger as CSV, UTF-8 with a byte-order mark (so that spreadsheet programs
/// read the Chinese headers right).
pub fn csv(ledger: &Ledger, part: LedgerPart) -> AppResult<Vec<u8>> {
    let table = tables(ledger)
        .into_iter()
        .find(|t| t.part == part)
        .ok_or_else(|| AppError::internal("a ledger part without a table"))?;
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        let fail = |e: csv::Error| AppError::internal(format!("writing CSV: {e}"));
        writer.write_record(table.headers).map_err(fail)?;
        for row in &table.rows {
            writer
                .write_record(row.iter().map(Cell::csv_text))
                .map_err(fail)?;
        }
        writer
            .flush()
            .map_err(|e| AppError::internal(format!("writing CSV: {e}")))?;
    }
    Ok(out)
}
