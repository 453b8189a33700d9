//! Demo ledger for 2019 on two pairings (上海–遵义, 广州–毕节): projects across the categories
//! with pledges, transfers, arrivals and spending that add up. Everything goes through the
//! service layer as the operator, so the demo obeys every rule a user would. Real organizations,
//! no real person. Loaded once: skipped when its first project exists.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::{
    auth::Actor,
    domain::{FundKind, ProjectCategory, ProjectStatus},
    error::AppResult,
    service::{
        AppCtx,
        fund_transactions::{self, NewFundTransaction},
        organizations::{self, OrganizationQuery},
        pairings::{self, PairingQuery},
        projects::{self, Milestone, NewProject, ProjectItem, ProjectPatch, ProjectQuery},
    },
};

struct Money {
    kind: FundKind,
    yuan: i64,
    on: (u32, u32),
    voucher: &'static str,
}

struct DemoProject {
    code: &'static str,
    title: &'static str,
    category: ProjectCategory,
    basis: &'static str,
    measures: &'static str,
    deep_poverty: bool,
    beneficiaries: i32,
    items: &'static [(&'static str, &'static str, i64, i64)],
    money: &'static [Money],
    status: ProjectStatus,
}

const fn m(kind: FundKind, yuan: i64, on: (u32, u32), voucher: &'static str) -> Money {
    Money {
        kind,
        yuan,
        on,
        voucher,
    }
}

use FundKind::{Arrival, Expenditure, Pledge, Transfer};

const ZUNYI: &[DemoProject] = &[
    DemoProject {
        code: "ZY-2019-01",
        title: "遵义市残疾人康复托养中心设施设备购置",
        category: ProjectCategory::CareFacility,
        basis: "托养中心建成后康复训练和护理设备不足，不能满足重度残疾人托养需求",
        measures: "上海市残联资助设备款，遵义市残联按政府采购程序采购，年内投入使用",
        deep_poverty: true,
        beneficiaries: 300,
        items: &[
            ("康复训练设备", "套", 4, 200_000),
            ("护理床", "张", 40, 10_000),
        ],
        money: &[
            m(Pledge, 1_200_000, (4, 18), "SH2019-P-001"),
            m(Transfer, 1_200_000, (6, 10), "SH2019-T-001"),
            m(Arrival, 1_200_000, (6, 14), "SH2019-T-001"),
            m(Expenditure, 865_000, (8, 20), "ZY2019-E-001"),
        ],
        status: ProjectStatus::InProgress,
    },
    DemoProject {
        code: "ZY-2019-02",
        title: "贫困残疾人家庭无障碍改造",
        category: ProjectCategory::AccessibilityRetrofit,
        basis: "建档立卡贫困残疾人家庭出行、如厕、洗浴困难",
        measures: "按户制定改造方案，县级残联组织实施，乡镇验收",
        deep_poverty: true,
        beneficiaries: 500,
        items: &[("家庭无障碍改造", "户", 500, 3_000)],
        money: &[
            m(Pledge, 1_500_000, (4, 18), "SH2019-P-002"),
            m(Transfer, 1_000_000, (7, 2), "SH2019-T-002"),
            m(Arrival, 1_000_000, (7, 8), "SH2019-T-002"),
            m(Expenditure, 1_000_000, (11, 15), "ZY2019-E-002"),
        ],
        status: ProjectStatus::InProgress,
    },
    DemoProject {
        code: "ZY-2019-03",
        title: "残疾人就业创业孵化基地建设",
        category: ProjectCategory::Incubator,
        basis: "残疾人创业缺少场地和孵化服务",
        measures: "依托市残疾人就业服务机构建设孵化基地，引入上海运营经验",
        deep_poverty: false,
        beneficiaries: 80,
        items: &[("孵化基地设施", "项", 1, 800_000)],
        money: &[m(Pledge, 800_000, (5, 6), "SH2019-P-003")],
        status: ProjectStatus::Funded,
    },
    DemoProject {
        code: "ZY-2019-04",
        title: "遵义市残联干部赴上海培训交流",
        category: ProjectCategory::CadreTraining,
        basis: "基层残联干部业务能力需提升",
        measures: "分两批赴上海跟班学习，每批两周",
        deep_poverty: false,
        beneficiaries: 0,
        items: &[("培训", "人次", 40, 5_000)],
        money: &[
            m(Pledge, 200_000, (3, 28), "SH2019-P-004"),
            m(Transfer, 200_000, (4, 9), "SH2019-T-004"),
            m(Arrival, 200_000, (4, 12), "SH2019-T-004"),
            m(Expenditure, 198_600, (9, 30), "ZY2019-E-004"),
        ],
        status: ProjectStatus::Completed,
    },
];

const BIJIE: &[DemoProject] = &[
    DemoProject {
        code: "BJ-2019-01",
        title: "毕节市残疾儿童康复救助",
        category: ProjectCategory::Rehabilitation,
        basis: "贫困残疾儿童康复训练经费缺口大",
        measures: "定点康复机构开展训练，按人头拨付救助资金",
        deep_poverty: true,
        beneficiaries: 200,
        items: &[("康复救助", "人", 200, 5_000)],
        money: &[
            m(Pledge, 1_000_000, (4, 25), "GZ2019-P-001"),
            m(Transfer, 600_000, (6, 20), "GZ2019-T-001"),
            m(Arrival, 600_000, (6, 26), "GZ2019-T-001"),
            m(Expenditure, 450_000, (10, 12), "BJ2019-E-001"),
        ],
        status: ProjectStatus::InProgress,
    },
    DemoProject {
        code: "BJ-2019-02",
        title: "威宁县贫困残疾人产业扶贫转股分红",
        category: ProjectCategory::EquityDividend,
        basis: "深度贫困县贫困残疾人缺乏稳定收入来源",
        measures: "帮扶资金入股合作社，按年度向贫困残疾人分红",
        deep_poverty: true,
        beneficiaries: 1000,
        items: &[("入股资金", "户", 1000, 2_000)],
        money: &[
            m(Pledge, 2_000_000, (5, 15), "GZ2019-P-002"),
            m(Transfer, 2_000_000, (6, 28), "GZ2019-T-002"),
            m(Arrival, 2_000_000, (7, 3), "GZ2019-T-002"),
            m(Expenditure, 2_000_000, (8, 1), "BJ2019-E-002"),
        ],
        status: ProjectStatus::Completed,
    },
    DemoProject {
        code: "BJ-2019-03",
        title: "残疾人劳务培训与转移就业",
        category: ProjectCategory::LabourEmployment,
        basis: "有就业意愿的残疾人缺乏技能和岗位信息",
        measures: "在毕节开展技能培训，对接广州企业岗位",
        deep_poverty: false,
        beneficiaries: 150,
        items: &[("技能培训", "人", 150, 2_000)],
        money: &[m(Pledge, 300_000, (6, 5), "GZ2019-P-003")],
        status: ProjectStatus::Funded,
    },
    DemoProject {
        code: "BJ-2019-04",
        title: "残疾人刺绣产业协作合作社",
        category: ProjectCategory::Industry,
        basis: "民族刺绣有市场，残疾人绣娘缺订单",
        measures: "广州企业提供订单和设计，合作社组织生产",
        deep_poverty: true,
        beneficiaries: 60,
        items: &[("刺绣设备", "台", 30, 3_000)],
        money: &[],
        status: ProjectStatus::Proposed,
    },
];

/// The route each demo status takes through the lifecycle.
fn path_to(status: ProjectStatus) -> &'static [ProjectStatus] {
    use ProjectStatus::*;
    match status {
        Proposed => &[],
        Agreed => &[Agreed],
        Funded => &[Agreed, Funded],
        InProgress => &[Agreed, Funded, InProgress],
        Completed => &[Agreed, Funded, InProgress, Completed],
        Verified => &[Agreed, Funded, InProgress, Completed, Verified],
        Cancelled => &[Cancelled],
    }
}

async fn org(ctx: &AppCtx, actor: &Actor, code: &str) -> AppResult<Option<Uuid>> {
    let q = OrganizationQuery {
        code: Some(code.into()),
        ..Default::default()
    };
    Ok(organizations::list(ctx, actor, q)
        .await?
        .items
        .first()
        .map(|o| o.id))
}

async fn pairing(ctx: &AppCtx, actor: &Actor, east: &str, west: &str) -> AppResult<Option<Uuid>> {
    let (Some(east), Some(west)) = (org(ctx, actor, east).await?, org(ctx, actor, west).await?)
    else {
        return Ok(None);
    };
    let q = PairingQuery {
        east_org_id: Some(east),
        west_org_id: Some(west),
        ..Default::default()
    };
    Ok(pairings::list(ctx, actor, q)
        .await?
        .items
        .first()
        .map(|p| p.id))
}

fn date(month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2019, month, day).unwrap_or_default()
}

/// Loads the demo ledger unless it is there; returns how many projects it added.
pub async fn load(ctx: &AppCtx) -> AppResult<usize> {
    let actor = Actor::system("demo");
    let first = ProjectQuery {
        code: Some(ZUNYI[0].code.into()),
        ..Default::default()
    };
    if !projects::list(ctx, &actor, first).await?.items.is_empty() {
        return Ok(0);
    }
    let mut added = 0;
    for (east, west, list) in [("310000", "520300", ZUNYI), ("440100", "520500", BIJIE)] {
        let Some(pairing_id) = pairing(ctx, &actor, east, west).await? else {
            continue;
        };
        for demo in list {
            load_project(ctx, &actor, pairing_id, demo).await?;
            added += 1;
        }
    }
    Ok(added)
}

async fn load_project(
    ctx: &AppCtx,
    actor: &Actor,
    pairing_id: Uuid,
    demo: &DemoProject,
) -> AppResult<()> {
    let budget: i64 = demo
        .items
        .iter()
        .map(|(_, _, q, yuan)| q * yuan * 100)
        .sum();
    let project = projects::create(
        ctx,
        actor,
        NewProject {
            code: demo.code.into(),
            year: 2019,
            title: demo.title.into(),
            category: demo.category,
            pairing_id,
            basis: demo.basis.into(),
            items: demo
                .items
                .iter()
                .map(|(name, unit, quantity, yuan)| ProjectItem {
                    name: (*name).into(),
                    unit: (*unit).into(),
                    quantity: *quantity,
                    unit_cost_fen: yuan * 100,
                })
                .collect(),
            quantity: None,
            measures: demo.measures.into(),
            deep_poverty: demo.deep_poverty,
            beneficiaries_planned: demo.beneficiaries,
            budget_fen: budget,
            responsible_contact_id: None,
            start_on: Some(date(4, 1)),
            end_on: Some(date(12, 31)),
            milestones: vec![
                Milestone {
                    title: "资金到位".into(),
                    due_on: date(6, 30),
                    done_on: None,
                },
                Milestone {
                    title: "项目实施完成".into(),
                    due_on: date(11, 30),
                    done_on: None,
                },
            ],
            external_id: None,
        },
    )
    .await?;
    let record = |kind: FundKind, yuan: i64, on: (u32, u32), voucher: &str| NewFundTransaction {
        kind,
        amount_fen: yuan * 100,
        occurred_on: date(on.0, on.1),
        pairing_id,
        project_id: Some(project.id),
        voucher_no: Some(voucher.into()),
        note: None,
        external_id: None,
    };
    // Money first where the lifecycle needs it: a pledge before `funded`, an arrival before
    // `in_progress`; spending after.
    let (spending, income): (Vec<&Money>, Vec<&Money>) =
        demo.money.iter().partition(|m| m.kind == Expenditure);
    for money in income {
        fund_transactions::create(
            ctx,
            actor,
            record(money.kind, money.yuan, money.on, money.voucher),
        )
        .await?;
    }
    for step in path_to(demo.status) {
        projects::update(
            ctx,
            actor,
            project.id,
            None,
            ProjectPatch {
                status: Some(*step),
                ..Default::default()
            },
        )
        .await?;
    }
    for money in spending {
        fund_transactions::create(
            ctx,
            actor,
            record(money.kind, money.yuan, money.on, money.voucher),
        )
        .await?;
    }
    Ok(())
}
