//! Vertical reconciliation (纵向对账): "受帮扶的8个市（州）残联要落实工作台账，纵向须与市（州）直
//! 相关部门资料数据对账一致". A prefecture's own figures for a period — the money and exchanges
//! of the pairings its own units hold — are compared, indicator by indicator:
//!
//! - with the sum of the same figures of its counties (the pairings each county's subtree
//!   holds): a `counties` line per indicator, when the prefecture has counties;
//! - with every statement declared for the period by the prefecture or an organization under it
//!   that is not in a county (a municipal department, say): a `statement` line each.
//!
//! Each line is `matched` or `mismatch`, and is answered (explained, resolved) as a horizontal
//! line is, under the write rules of statements: by the prefecture's side (the report is the
//! prefecture's, read by its subtree and the province), and on a statement's line also by
//! whoever writes for the declaring organization and reads the report. The figures are summed
//! by the database (one grouped statement for money, one for exchanges), whatever the number of
//! records.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{exchange, fund_transaction, reconciliation, reconciliation_line, statement};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Alias, Expr, ExprTrait, Func},
};
use uuid::Uuid;

use super::{
    AppCtx, WriteTx, kernel, ledgers, now,
    reconciliations::{
        LineRecordType, LineStatus, NewReconciliation, ReconciliationView, Reconciliations,
        Resolution, StatusTotals, Totals,
    },
    statements::{self, StatementIndicator},
};
use crate::{
    authz::{self, Actor},
    domain::{Fen, Fields, FundKind, OrgLevel},
    error::{AppError, Result},
};

/// Whose figure a pairing's records count in.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    /// The prefecture's own units (and the organizations under it outside its counties).
    Prefecture,
    County(Uuid),
}

/// The figures of each side, by indicator.
type Figures = HashMap<(Side, StatementIndicator), i64>;

pub async fn create(
    ctx: &AppCtx,
    actor: &Actor,
    input: NewReconciliation,
) -> Result<ReconciliationView> {
    let (dir, tx) = kernel::begin_snapshot(ctx).await?;
    let org = input
        .org_id
        .and_then(|id| dir.live_org(id))
        .filter(|o| actor.scope().can_read_org(o.id))
        .cloned();
    if !authz::can_reconcile_org(actor, org.as_ref().map(|o| o.id)) {
        return Err(AppError::Forbidden);
    }
    let mut f = Fields::new();
    match &org {
        None => f.push("org_id", "no such organization"),
        Some(o) if o.level != OrgLevel::Prefecture.as_str() => {
            f.push("org_id", "must be a prefecture (市（州）) federation")
        }
        Some(_) => {}
    }
    if input.pairing_id.is_some() {
        f.push(
            "pairing_id",
            "is for a horizontal reconciliation: a vertical one names org_id",
        );
    }
    if input.window_days.is_some() {
        f.push("window_days", "is for a horizontal reconciliation");
    }
    let period = ledgers::period(input.year, input.quarter);
    if let Err(AppError::Validation(errors)) = &period {
        for e in errors {
            f.push(&e.field, e.message.clone());
        }
    }
    f.finish()?;
    let (Some(org), Ok((start, end))) = (org, period) else {
        return Err(AppError::internal("checked above"));
    };

    // The counties, and which side each organization's pairings count on.
    let counties: Vec<Uuid> = dir
        .live_children(org.id)
        .iter()
        .copied()
        .filter(|c| {
            dir.live_org(*c)
                .is_some_and(|o| o.level == OrgLevel::County.as_str())
        })
        .collect();
    let mut side_of: HashMap<Uuid, Side> = dir
        .subtree(org.id)
        .into_iter()
        .map(|o| (o, Side::Prefecture))
        .collect();
    for &c in &counties {
        for o in dir.subtree(c) {
            side_of.insert(o, Side::County(c));
        }
    }
    let pairings: HashMap<Uuid, Side> = dir
        .live_pairing_rows()
        .filter_map(|p| side_of.get(&p.west_org_id).map(|s| (p.id, *s)))
        .collect();
    let figures = figures(&tx, &pairings, &side_of, start, end).await?;
    let prefecture_orgs: Vec<Uuid> = side_of
        .iter()
        .filter(|(_, s)| **s == Side::Prefecture)
        .map(|(o, _)| *o)
        .collect();
    let declared = statements::of_period(&tx, &prefecture_orgs, input.year, input.quarter).await?;

    let id = Uuid::now_v7();
    let lines = lines(id, org.id, &counties, &figures, &declared)?;
    let totals = totals(&lines)?;
    let line_count = lines.len() as i64;
    for chunk in lines.chunks(500) {
        reconciliation_line::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&tx)
            .await?;
    }
    let (totals, _) = super::canonical_json(&totals)?;
    let stamp = now();
    let inserted = reconciliation::Entity::insert(reconciliation::ActiveModel {
        id: Set(id),
        kind: Set(input.kind.as_str().into()),
        pairing_id: Set(None),
        org_id: Set(Some(org.id)),
        year: Set(input.year),
        quarter: Set(input.quarter),
        window_days: Set(0),
        totals: Set(totals),
        line_count: Set(line_count),
        pairs_after: Set(0),
        pair_count: Set(0),
        created_by: Set(actor.id),
        version: Set(1),
        owner_org_id: Set(org.id),
        created_at: Set(stamp),
        updated_at: Set(stamp),
        deleted_at: Set(None),
    })
    .exec_with_returning(&tx)
    .await?;
    kernel::created::<Reconciliations>(tx, actor, inserted).await
}

/// Each side's money (per fund kind) and exchanges in the period, summed by the database.
async fn figures(
    tx: &WriteTx,
    pairings: &HashMap<Uuid, Side>,
    side_of: &HashMap<Uuid, Side>,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Figures> {
    let mut figures = Figures::new();
    let ids: Vec<Uuid> = pairings.keys().copied().collect();
    if !ids.is_empty() {
        use fund_transaction::Column as F;
        let money: Vec<(Uuid, String, i64)> = fund_transaction::Entity::find()
            .select_only()
            .column(F::PairingId)
            .column(F::Kind)
            .column_as(
                Expr::expr(Func::sum(Expr::col(F::AmountFen))).cast_as(Alias::new("BIGINT")),
                "total",
            )
            .filter(F::PairingId.is_in(ids))
            .filter(F::DeletedAt.is_null())
            .filter(F::OccurredOn.between(start, end))
            .group_by(F::PairingId)
            .group_by(F::Kind)
            .into_tuple()
            .all(tx)
            .await?;
        for (pairing, kind, total) in money {
            let kind = FundKind::from_db(&kind)?;
            let Some(indicator) = StatementIndicator::ALL
                .iter()
                .copied()
                .find(|i| i.fund_kind() == Some(kind))
            else {
                continue;
            };
            if let Some(side) = pairings.get(&pairing) {
                *figures.entry((*side, indicator)).or_default() += total;
            }
        }
    }
    // Exchanges: the western side's own records, by who recorded them (both sides record an
    // exchange on a pairing; the eastern record is the partner's, not the prefecture's).
    use exchange::Column as X;
    let count = || Expr::expr(Func::count(Expr::col(X::Id))).cast_as(Alias::new("BIGINT"));
    let mut exchanges: Vec<(Side, i64)> = Vec::new();
    let owners: Vec<Uuid> = side_of.keys().copied().collect();
    for chunk in owners.chunks(1_000) {
        let rows: Vec<(Uuid, i64)> = exchange::Entity::find()
            .select_only()
            .column(X::OwnerOrgId)
            .column_as(count(), "n")
            .filter(X::OwnerOrgId.is_in(chunk.iter().copied()))
            .filter(X::DeletedAt.is_null())
            .filter(X::StartOn.between(start, end))
            .group_by(X::OwnerOrgId)
            .into_tuple()
            .all(tx)
            .await?;
        exchanges.extend(
            rows.into_iter()
                .filter_map(|(o, n)| side_of.get(&o).map(|s| (*s, n))),
        );
    }
    for (side, n) in exchanges {
        *figures
            .entry((side, StatementIndicator::Exchanges))
            .or_default() += n;
    }
    Ok(figures)
}

/// The report's lines, numbered: mismatches first, then the matched ones, each in indicator
/// order, the counties' line before the statements.
fn lines(
    id: Uuid,
    prefecture: Uuid,
    counties: &[Uuid],
    figures: &Figures,
    declared: &[statement::Model],
) -> Result<Vec<reconciliation_line::ActiveModel>> {
    struct Line {
        record_type: LineRecordType,
        indicator: StatementIndicator,
        org_id: Option<Uuid>,
        statement_id: Option<Uuid>,
        prefecture_value: i64,
        compared_value: i64,
    }
    let value = |side: Side, i: StatementIndicator| figures.get(&(side, i)).copied().unwrap_or(0);
    let mut found = Vec::new();
    for &indicator in StatementIndicator::ALL {
        let own = value(Side::Prefecture, indicator);
        if !counties.is_empty() {
            found.push(Line {
                record_type: LineRecordType::Counties,
                indicator,
                org_id: None,
                statement_id: None,
                prefecture_value: own,
                compared_value: counties
                    .iter()
                    .map(|c| value(Side::County(*c), indicator))
                    .sum(),
            });
        }
        let mut of_indicator: Vec<&statement::Model> = declared
            .iter()
            .filter(|s| s.indicator == indicator.as_str())
            .collect();
        of_indicator.sort_by_key(|s| (s.org_id, s.id));
        for s in of_indicator {
            found.push(Line {
                record_type: LineRecordType::Statement,
                indicator,
                org_id: Some(s.org_id),
                statement_id: Some(s.id),
                prefecture_value: own,
                compared_value: s.value,
            });
        }
    }
    // A stable sort: mismatches first, the order above kept within each.
    found.sort_by_key(|l| l.prefecture_value == l.compared_value);
    Ok((1i64..)
        .zip(found)
        .map(|(line_no, l)| reconciliation_line::ActiveModel {
            reconciliation_id: Set(id),
            line_no: Set(line_no),
            record_type: Set(l.record_type.as_str().into()),
            status: Set(if l.prefecture_value == l.compared_value {
                LineStatus::Matched
            } else {
                LineStatus::Mismatch
            }
            .as_str()
            .into()),
            rule: Set(None),
            voucher_no: Set(None),
            east_record_id: Set(None),
            west_record_id: Set(None),
            // Who answers the line: the prefecture, and a statement's declaring organization.
            east_owner_org_id: Set(Some(prefecture)),
            west_owner_org_id: Set(l.org_id),
            east_amount_fen: Set(None),
            west_amount_fen: Set(None),
            east_on: Set(None),
            west_on: Set(None),
            resolution: Set(Resolution::Open.as_str().into()),
            note: Set(None),
            annotated_at: Set(None),
            annotated_by: Set(None),
            version: Set(1),
            indicator: Set(Some(l.indicator.as_str().into())),
            org_id: Set(l.org_id),
            statement_id: Set(l.statement_id),
            prefecture_value: Set(Some(l.prefecture_value)),
            compared_value: Set(Some(l.compared_value)),
        })
        .collect())
}

/// Lines per type and status (a vertical report has no sides' money totals).
fn totals(lines: &[reconciliation_line::ActiveModel]) -> Result<Totals> {
    let mut counts: Vec<(LineRecordType, LineStatus, i64)> = Vec::new();
    for l in lines {
        let (Set(t), Set(s)) = (&l.record_type, &l.status) else {
            continue;
        };
        let (t, s) = (LineRecordType::from_db(t)?, LineStatus::from_db(s)?);
        match counts.iter_mut().find(|(ct, cs, _)| *ct == t && *cs == s) {
            Some(c) => c.2 += 1,
            None => counts.push((t, s, 1)),
        }
    }
    counts.sort_by_key(|(t, s, _)| (*t, *s));
    Ok(Totals {
        by_status: counts
            .into_iter()
            .map(|(record_type, status, lines)| StatusTotals {
                record_type,
                status,
                lines,
                east_amount_fen: Fen(0),
                west_amount_fen: Fen(0),
            })
            .collect(),
        ..Totals::default()
    })
}
