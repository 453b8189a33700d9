//! The yearly assessment (考核, DESIGN §2, §7) of an organization: indicators in the 2019 work
//! plan's six areas, computed from the records, never typed in. Each figure names the records
//! it counts and the evidence linked to them, so an assessor can check it.
//!
//! The records are those of the organization's **year ledger** ([`super::ledgers`]: its subtree
//! and its pairings, fund transactions and exchanges dated in the year, projects of the year),
//! plus its working groups, the agreements signed on its pairings in the year, its county
//! pairings and its ledger submissions.
//!
//! | area | code | value |
//! |---|---|---|
//! | organization | `working_group_established` | 1 when a working group of the subtree exists, set up by the year's end (or with no date recorded) |
//! | organization | `joint_meetings`, `special_meetings` | exchanges of that kind |
//! | organization | `visits_east_to_west`, `visits_west_to_east` | exchanges in that direction, trainings apart |
//! | organization | `agreements_signed` | agreements signed in the year |
//! | organization | `evidence_completeness_bp` | of the transactions, exchanges and completed projects, the share without a gap, in basis points (null when there are none) |
//! | organization | `ledgers_on_time` | periods (4 quarters and the year's materials) with a submission on time |
//! | talent_exchange | `trainings`, `cadres_trained` | training exchanges; their participants |
//! | fund_use | `pledged_fen`, `transferred_fen`, `arrived_fen`, `spent_fen` | sums in fen |
//! | fund_use | `arrival_rate_bp` | arrived ÷ pledged in basis points (null when nothing was pledged) |
//! | industrial_cooperation | `projects`, `industry_projects` | projects; of them industry, incubator and equity dividend |
//! | industrial_cooperation | `beneficiaries_planned`, `beneficiaries_actual` | sums over the projects |
//! | labour_cooperation | `labour_projects`, `people_placed` | labour and employment projects; their actual beneficiaries |
//! | county_pairing | `county_pairings`, `county_pairings_active` | county–county pairings of the subtree; those with a record in the year |
//!
//! Who reads it: those who read all of the organization's records (its subtree and the roles
//! that read everything).

use std::collections::{BTreeSet, HashMap};

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use entity::{agreement, evidence_link, ledger_submission, working_group};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    AppCtx,
    agreements::Agreements,
    evidence::EvidenceFamily,
    exchanges::{ExchangeDirection, ExchangeKind},
    kernel,
    ledger_submissions::LedgerSubmissions,
    ledgers::{self, GapKind, Ledger},
    now,
    working_groups::WorkingGroups,
};
use crate::{
    authz::Actor,
    domain::{FundKind, Int64, PairingLevel, ProjectCategory, ProjectStatus, RecordType},
    error::{AppError, AppResult},
};

crate::domain::names!(
    /// The six areas of the 2019 work plan's assessment: 组织领导, 人才交流, 资金使用, 产业合作,
    /// 劳务协作, 携手奔小康.
    AssessmentArea {
        Organization => "organization",
        TalentExchange => "talent_exchange",
        FundUse => "fund_use",
        IndustrialCooperation => "industrial_cooperation",
        LabourCooperation => "labour_cooperation",
        CountyPairing => "county_pairing",
    }
);

/// One figure of the assessment and what it rests on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject)]
pub struct Indicator {
    pub code: String,
    pub area: AssessmentArea,
    /// A count, a sum in fen, or basis points (1/100 of a percent), as the code says; null when
    /// the figure is undefined (a rate with nothing to divide by).
    pub value: Option<Int64>,
    /// The records counted, in id order.
    pub record_ids: Vec<Uuid>,
    /// The evidence linked to those records, in id order.
    pub evidence_ids: Vec<Uuid>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, SimpleObject)]
pub struct Assessment {
    pub org_id: Uuid,
    pub year: i32,
    pub computed_at: DateTime<Utc>,
    pub indicators: Vec<Indicator>,
}

/// Basis points of `part` in `whole`, rounded down; `None` when `whole` is 0.
pub fn basis_points(part: i64, whole: i64) -> Option<i64> {
    if whole == 0 {
        return None;
    }
    i64::try_from(i128::from(part) * 10_000 / i128::from(whole)).ok()
}

/// An indicator in the making: its value and the records behind it.
struct Figure {
    code: &'static str,
    area: AssessmentArea,
    value: Option<i64>,
    records: Vec<(RecordType, Uuid)>,
}

fn figure(
    code: &'static str,
    area: AssessmentArea,
    value: Option<i64>,
    records: impl IntoIterator<Item = (RecordType, Uuid)>,
) -> Figure {
    Figure {
        code,
        area,
        value,
        records: records.into_iter().collect(),
    }
}

fn count(n: usize) -> Option<i64> {
    Some(i64::try_from(n).unwrap_or(i64::MAX))
}

pub async fn get(ctx: &AppCtx, actor: &Actor, org_id: Uuid, year: i32) -> AppResult<Assessment> {
    let scope = actor.scope();
    let dir = ctx.directory.get(&ctx.db).await?;
    if dir.live_owner(org_id).is_none() || !(scope.all || scope.subtree.contains(&org_id)) {
        return Err(AppError::NotFound);
    }
    let ledger = ledgers::get(ctx, actor, org_id, year, None).await?;
    let subtree: Vec<Uuid> = dir.subtree(org_id).into_iter().collect();
    let pairings: Vec<_> = dir
        .live_pairing_rows()
        .filter(|p| subtree.contains(&p.west_org_id) || subtree.contains(&p.east_org_id))
        .cloned()
        .collect();
    let pairing_ids: Vec<Uuid> = pairings.iter().map(|p| p.id).collect();
    let backend = ctx.db.get_database_backend();
    let (first, last) = ledgers::period(year, None)?;

    let groups: Vec<Uuid> = kernel::visible::<WorkingGroups>(backend, scope)
        .filter(working_group::Column::OrgId.is_in(subtree.clone()))
        .filter(
            Condition::any()
                .add(working_group::Column::EstablishedOn.is_null())
                .add(working_group::Column::EstablishedOn.lte(last)),
        )
        .into_model::<<WorkingGroups as kernel::Record>::Row>()
        .all(&ctx.db)
        .await?
        .iter()
        .map(kernel::id_of::<WorkingGroups>)
        .collect();
    let agreements: Vec<Uuid> = kernel::visible::<Agreements>(backend, scope)
        .filter(agreement::Column::SignedOn.between(first, last))
        .filter(
            Condition::any()
                .add(agreement::Column::PairingId.is_in(pairing_ids.clone()))
                .add(agreement::Column::OwnerOrgId.is_in(subtree.clone())),
        )
        .into_model::<<Agreements as kernel::Record>::Row>()
        .all(&ctx.db)
        .await?
        .iter()
        .map(kernel::id_of::<Agreements>)
        .collect();
    let submissions = kernel::visible::<LedgerSubmissions>(backend, scope)
        .filter(ledger_submission::Column::OwnerOrgId.eq(org_id))
        .filter(ledger_submission::Column::Year.eq(year))
        .filter(ledger_submission::Column::OnTime.eq(true))
        .into_model::<ledger_submission::Model>()
        .all(&ctx.db)
        .await?;
    // The first on-time submission of each period.
    let mut on_time: HashMap<i32, &ledger_submission::Model> = HashMap::new();
    for s in &submissions {
        let kept = on_time.entry(s.quarter).or_insert(s);
        if s.number < kept.number {
            *kept = s;
        }
    }

    let on_time: Vec<Uuid> = on_time.values().map(|s| s.id).collect();
    let mut figures = figures(&ledger, &groups, &agreements, &on_time, year);
    figures.extend(county_figures(&ledger, &pairings, &subtree));

    let evidence = evidence_of(ctx, actor, &figures).await?;
    let indicators = figures
        .into_iter()
        .map(|f| {
            let mut record_ids: Vec<Uuid> = f.records.iter().map(|(_, id)| *id).collect();
            record_ids.sort();
            record_ids.dedup();
            let evidence_ids: BTreeSet<Uuid> = f
                .records
                .iter()
                .filter_map(|r| evidence.get(r))
                .flatten()
                .copied()
                .collect();
            Indicator {
                code: f.code.to_string(),
                area: f.area,
                value: f.value.map(Int64),
                record_ids,
                evidence_ids: evidence_ids.into_iter().collect(),
            }
        })
        .collect();
    Ok(Assessment {
        org_id,
        year,
        computed_at: now(),
        indicators,
    })
}

/// The figures the year ledger, the working groups, the agreements and the on-time
/// submissions give.
fn figures(
    ledger: &Ledger,
    groups: &[Uuid],
    agreements: &[Uuid],
    on_time: &[Uuid],
    year: i32,
) -> Vec<Figure> {
    use AssessmentArea as A;
    use RecordType as R;
    let exchanges = |keep: &dyn Fn(&super::exchanges::ExchangeView) -> bool| {
        ledger
            .exchanges
            .iter()
            .filter(|e| keep(e))
            .map(|e| (R::Exchange, e.id))
            .collect::<Vec<_>>()
    };
    let of_kind = |kind: ExchangeKind| exchanges(&|e| e.kind == kind);
    let visits = |direction: ExchangeDirection| {
        exchanges(&|e| e.direction == direction && e.kind != ExchangeKind::Training)
    };
    let trainings = of_kind(ExchangeKind::Training);
    let cadres: i64 = ledger
        .exchanges
        .iter()
        .filter(|e| e.kind == ExchangeKind::Training)
        .map(|e| i64::from(e.participants.unwrap_or(0)))
        .sum();

    // Evidence completeness: the records a gap can name, and those it does.
    let mut checked: Vec<(RecordType, Uuid)> = Vec::new();
    checked.extend(
        ledger
            .fund_transactions
            .iter()
            .map(|t| (R::FundTransaction, t.id)),
    );
    checked.extend(ledger.exchanges.iter().map(|e| (R::Exchange, e.id)));
    checked.extend(
        ledger
            .projects
            .iter()
            .filter(|p| {
                matches!(
                    p.status_at_period_end,
                    ProjectStatus::Completed | ProjectStatus::Verified
                )
            })
            .map(|p| (R::Project, p.project.id)),
    );
    let gaps = ledger
        .gaps
        .iter()
        .filter(|g| g.kind != GapKind::PlanTaskOverdue)
        .count();
    let complete = i64::try_from(checked.len().saturating_sub(gaps)).unwrap_or_default();
    let completeness = basis_points(complete, i64::try_from(checked.len()).unwrap_or(1));

    let money = |kind: FundKind| {
        let listed: Vec<_> = ledger
            .fund_transactions
            .iter()
            .filter(|t| t.kind == kind)
            .collect();
        let sum: i64 = listed.iter().map(|t| t.amount_fen.0).sum();
        (
            sum,
            listed
                .iter()
                .map(|t| (R::FundTransaction, t.id))
                .collect::<Vec<_>>(),
        )
    };
    let (pledged, pledges) = money(FundKind::Pledge);
    let (transferred, transfers) = money(FundKind::Transfer);
    let (arrived, arrivals) = money(FundKind::Arrival);
    let (spent, expenditures) = money(FundKind::Expenditure);

    // The projects of the year (not those of other years a transaction of this one was for).
    let projects: Vec<_> = ledger
        .projects
        .iter()
        .map(|p| &p.project)
        .filter(|p| p.year == year)
        .collect();
    let ids = |keep: &dyn Fn(&&super::projects::ProjectView) -> bool| {
        projects
            .iter()
            .filter(|p| keep(p))
            .map(|p| (R::Project, p.id))
            .collect::<Vec<_>>()
    };
    let industry = ids(&|p| {
        matches!(
            p.category,
            ProjectCategory::Industry
                | ProjectCategory::Incubator
                | ProjectCategory::EquityDividend
        )
    });
    let labour = ids(&|p| p.category == ProjectCategory::LabourEmployment);
    let placed: i64 = projects
        .iter()
        .filter(|p| p.category == ProjectCategory::LabourEmployment)
        .map(|p| i64::from(p.beneficiaries_actual.unwrap_or(0)))
        .sum();
    let planned: i64 = projects
        .iter()
        .map(|p| i64::from(p.beneficiaries_planned))
        .sum();
    let actual: i64 = projects
        .iter()
        .map(|p| i64::from(p.beneficiaries_actual.unwrap_or(0)))
        .sum();
    let all_projects = ids(&|_| true);

    let joint = of_kind(ExchangeKind::JointMeeting);
    let special = of_kind(ExchangeKind::SpecialMeeting);
    let east_west = visits(ExchangeDirection::EastToWest);
    let west_east = visits(ExchangeDirection::WestToEast);
    let rate_records: Vec<_> = pledges.iter().chain(&arrivals).copied().collect();
    vec![
        figure(
            "working_group_established",
            A::Organization,
            Some(i64::from(!groups.is_empty())),
            groups.iter().map(|id| (R::WorkingGroup, *id)),
        ),
        figure("joint_meetings", A::Organization, count(joint.len()), joint),
        figure(
            "special_meetings",
            A::Organization,
            count(special.len()),
            special,
        ),
        figure(
            "visits_east_to_west",
            A::Organization,
            count(east_west.len()),
            east_west,
        ),
        figure(
            "visits_west_to_east",
            A::Organization,
            count(west_east.len()),
            west_east,
        ),
        figure(
            "agreements_signed",
            A::Organization,
            count(agreements.len()),
            agreements.iter().map(|id| (R::Agreement, *id)),
        ),
        figure(
            "evidence_completeness_bp",
            A::Organization,
            completeness,
            checked,
        ),
        figure(
            "plan_tasks_overdue",
            A::Organization,
            count(
                ledger
                    .gaps
                    .iter()
                    .filter(|g| g.kind == GapKind::PlanTaskOverdue)
                    .count(),
            ),
            ledger
                .gaps
                .iter()
                .filter(|g| g.kind == GapKind::PlanTaskOverdue)
                .map(|g| (R::PlanTask, g.record_id)),
        ),
        figure(
            "ledgers_on_time",
            A::Organization,
            count(on_time.len()),
            on_time.iter().map(|id| (R::LedgerSubmission, *id)),
        ),
        figure(
            "trainings",
            A::TalentExchange,
            count(trainings.len()),
            trainings.clone(),
        ),
        figure("cadres_trained", A::TalentExchange, Some(cadres), trainings),
        figure("pledged_fen", A::FundUse, Some(pledged), pledges),
        figure("transferred_fen", A::FundUse, Some(transferred), transfers),
        figure("arrived_fen", A::FundUse, Some(arrived), arrivals),
        figure("spent_fen", A::FundUse, Some(spent), expenditures),
        figure(
            "arrival_rate_bp",
            A::FundUse,
            basis_points(arrived, pledged),
            rate_records,
        ),
        figure(
            "projects",
            A::IndustrialCooperation,
            count(all_projects.len()),
            all_projects.clone(),
        ),
        figure(
            "industry_projects",
            A::IndustrialCooperation,
            count(industry.len()),
            industry,
        ),
        figure(
            "beneficiaries_planned",
            A::IndustrialCooperation,
            Some(planned),
            all_projects.clone(),
        ),
        figure(
            "beneficiaries_actual",
            A::IndustrialCooperation,
            Some(actual),
            all_projects,
        ),
        figure(
            "labour_projects",
            A::LabourCooperation,
            count(labour.len()),
            labour.clone(),
        ),
        figure("people_placed", A::LabourCooperation, Some(placed), labour),
    ]
}

/// The county–county pairings whose western side is in the subtree, and those with a project,
/// fund transaction or exchange in the year.
fn county_figures(
    ledger: &Ledger,
    pairings: &[entity::pairing::Model],
    subtree: &[Uuid],
) -> Vec<Figure> {
    let county: Vec<Uuid> = pairings
        .iter()
        .filter(|p| {
            p.level == PairingLevel::CountyCounty.as_str() && subtree.contains(&p.west_org_id)
        })
        .map(|p| p.id)
        .collect();
    let mut used: BTreeSet<Uuid> = BTreeSet::new();
    used.extend(ledger.projects.iter().map(|p| p.project.pairing_id));
    used.extend(ledger.fund_transactions.iter().map(|t| t.pairing_id));
    used.extend(ledger.exchanges.iter().filter_map(|e| e.pairing_id));
    let active: Vec<Uuid> = county
        .iter()
        .copied()
        .filter(|p| used.contains(p))
        .collect();
    vec![
        figure(
            "county_pairings",
            AssessmentArea::CountyPairing,
            count(county.len()),
            county.iter().map(|id| (RecordType::Pairing, *id)),
        ),
        figure(
            "county_pairings_active",
            AssessmentArea::CountyPairing,
            count(active.len()),
            active.iter().map(|id| (RecordType::Pairing, *id)),
        ),
    ]
}

/// The readable evidence linked to each record the figures name.
async fn evidence_of(
    ctx: &AppCtx,
    actor: &Actor,
    figures: &[Figure],
) -> AppResult<HashMap<(RecordType, Uuid), Vec<Uuid>>> {
    let records: BTreeSet<(RecordType, Uuid)> = figures
        .iter()
        .flat_map(|f| f.records.iter().copied())
        .collect();
    let ids: Vec<Uuid> = records.iter().map(|(_, id)| *id).collect();
    let mut links = Vec::new();
    for chunk in ids.chunks(500) {
        links.extend(
            evidence_link::Entity::find()
                .filter(evidence_link::Column::RecordId.is_in(chunk.to_vec()))
                .all(&ctx.db)
                .await?,
        );
    }
    let evidence_ids: Vec<Uuid> = links.iter().map(|l| l.evidence_id).collect();
    let mut readable = std::collections::HashSet::new();
    for chunk in evidence_ids.chunks(500) {
        readable.extend(
            kernel::get_many::<EvidenceFamily>(ctx, actor, chunk)
                .await?
                .into_keys(),
        );
    }
    let mut out: HashMap<(RecordType, Uuid), Vec<Uuid>> = HashMap::new();
    for link in links {
        let Some(kind) = RecordType::parse(&link.record_type) else {
            continue;
        };
        if records.contains(&(kind, link.record_id)) && readable.contains(&link.evidence_id) {
            out.entry((kind, link.record_id))
                .or_default()
                .push(link.evidence_id);
        }
    }
    Ok(out)
}
