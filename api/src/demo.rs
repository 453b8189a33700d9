//! Demo ledger for 2019 on two pairings (上海–遵义, 广州–毕节) and the province's pairing with
//! 上海: projects across the categories with pledges, transfers, arrivals and spending that add
//! up, the exchanges the plan schedules, in the quarters it schedules them, each recorded by the
//! western federation whose trip or meeting it was, and the prefectures' plans and working
//! groups. Everything goes through the service layer as the operator, so the demo obeys every
//! rule a user would. Real organizations, no real person. Loaded once: skipped when its first
//! project exists.

use async_graphql::MaybeUndefined;
use chrono::NaiveDate;
use uuid::Uuid;

use crate::{
    authz::Actor,
    domain::{ActorKind, Fen, FundKind, ProjectCategory, ProjectStatus, Role},
    error::AppResult,
    service::{
        AppCtx,
        agreements::{self, NewAgreement},
        contacts::{self, NewContact},
        exchanges::{self, ExchangeDirection, ExchangeKind, NewExchange},
        fund_transactions::{self, NewFundTransaction},
        organizations::{self, OrganizationQuery},
        pairings::{self, PairingQuery},
        plans::{self, NewPlan},
        projects::{self, Milestone, NewProject, ProjectItem, ProjectPatch, ProjectQuery},
        working_groups::{self, NewWorkingGroup, WorkingGroupMemberInput, WorkingGroupRole},
    },
};

struct Money {
    kind: FundKind,
    yuan: i64,
    on: (u32, u32),
    voucher: &'static str,
}

/// (start, end), as (month, day) of 2019.
type Span = ((u32, u32), (u32, u32));

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
    /// Training trips east the project paid for: (start, end).
    trainings: &'static [Span],
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
        trainings: &[],
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
        trainings: &[],
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
        trainings: &[],
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
        // The two batches.
        trainings: &[((5, 6), (5, 17)), ((9, 2), (9, 13))],
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
        trainings: &[],
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
        trainings: &[],
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
        trainings: &[],
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
        trainings: &[],
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
        let (Some(pairing_id), Some(east_id), Some(west_id)) = (
            pairing(ctx, &actor, east, west).await?,
            org(ctx, &actor, east).await?,
            org(ctx, &actor, west).await?,
        ) else {
            continue;
        };
        // What follows is the western federation's own record.
        let actor = Actor::system_for("demo", west_id);
        let mut project_ids = Vec::new();
        for demo in list {
            project_ids.push(load_project(ctx, &actor, pairing_id, demo).await?);
            added += 1;
            for (start, end) in demo.trainings {
                trip(
                    ctx,
                    &actor,
                    Trip {
                        kind: ExchangeKind::Training,
                        direction: ExchangeDirection::WestToEast,
                        pairing_id,
                        host: east_id,
                        visitors: vec![west_id],
                        start: *start,
                        end: *end,
                        leaders: vec![],
                        summary: format!("{}：{}", demo.title, demo.measures),
                        participants: 20,
                    },
                )
                .await?;
            }
        }
        // The agreement commits what the east pledged for the year.
        let committed: i64 = list
            .iter()
            .flat_map(|p| p.money.iter())
            .filter(|m| m.kind == Pledge)
            .map(|m| m.yuan * 100)
            .sum();
        load_exchanges(
            ctx,
            &actor,
            pairing_id,
            east_id,
            west_id,
            project_ids,
            committed,
        )
        .await?;
        load_working_group(ctx, &actor, west_id, west).await?;
        load_plan(ctx, &actor, west_id).await?;
    }
    added += load_province(ctx, &actor).await?;
    Ok(added)
}

/// An exchange to record.
struct Trip {
    kind: ExchangeKind,
    direction: ExchangeDirection,
    pairing_id: Uuid,
    host: Uuid,
    visitors: Vec<Uuid>,
    start: (u32, u32),
    end: (u32, u32),
    leaders: Vec<String>,
    summary: String,
    participants: i32,
}

async fn trip(ctx: &AppCtx, actor: &Actor, t: Trip) -> AppResult<()> {
    exchanges::create(
        ctx,
        actor,
        NewExchange {
            kind: t.kind,
            direction: t.direction,
            pairing_id: Some(t.pairing_id),
            host_org_id: t.host,
            visiting_org_ids: t.visitors,
            start_on: date(t.start.0, t.start.1),
            end_on: date(t.end.0, t.end.1),
            leaders_present: t.leaders,
            participants: Some(t.participants),
            summary: Some(t.summary),
            external_id: None,
        },
    )
    .await?;
    Ok(())
}

/// The province's own cooperation with 上海 on their province-level pairing, as the plan sets
/// it: the leaders' visit east (二（二）2), the joint meeting with the agreement (Q2), and a
/// provincial institution's project in the 帮扶清单. Returns how many projects it added.
async fn load_province(ctx: &AppCtx, operator: &Actor) -> AppResult<usize> {
    let (Some(pairing_id), Some(province), Some(shanghai), Some(centre)) = (
        pairing(ctx, operator, "310000", "520000").await?,
        org(ctx, operator, "520000").await?,
        org(ctx, operator, "310000").await?,
        org(ctx, operator, "520000-jyzx").await?,
    ) else {
        return Ok(0);
    };
    let actor = Actor::system_for("demo", province);
    trip(
        ctx,
        &actor,
        Trip {
            kind: ExchangeKind::InspectionVisit,
            direction: ExchangeDirection::WestToEast,
            pairing_id,
            host: shanghai,
            visitors: vec![province],
            start: (4, 22),
            end: (4, 25),
            leaders: vec!["省残联理事长".into()],
            summary: "省残联领导赴上海考察调研，对接项目，磋商工作".into(),
            participants: 5,
        },
    )
    .await?;
    for kind in [ExchangeKind::JointMeeting, ExchangeKind::AgreementSigning] {
        trip(
            ctx,
            &actor,
            Trip {
                kind,
                direction: ExchangeDirection::EastToWest,
                pairing_id,
                host: province,
                visitors: vec![shanghai],
                start: (6, 5),
                end: (6, 5),
                leaders: vec!["省残联理事长".into(), "上海市残联理事长".into()],
                summary: "省残联协调东部帮扶省、市残联，共同召开残联系统东西部扶贫协作联席会议，签订协议书".into(),
                participants: 30,
            },
        )
        .await?;
    }
    // The employment centre's need, agreed at the joint meeting: recorded by the centre itself
    // on the province's pairing.
    let project = DemoProject {
        code: "GZ-2019-01",
        title: "残疾人职业技能培训师资赴沪研修",
        category: ProjectCategory::LabourEmployment,
        basis: "全省残疾人职业技能培训师资不足，培训内容与东部企业岗位需求衔接不够",
        measures: "省残疾人就业中心选派培训师资赴上海研修，学习岗位开发和支持性就业做法",
        deep_poverty: false,
        beneficiaries: 0,
        items: &[("研修", "人次", 20, 6_000)],
        money: &[],
        status: ProjectStatus::Agreed,
        trainings: &[],
    };
    // As the centre's editor would: the rules for a department's project on its federation's
    // pairing are the ones under test here.
    let dir = ctx.directory.get(&ctx.db).await?;
    let editor = Actor::new(
        Uuid::nil(),
        ActorKind::System,
        Role::Editor,
        Some(centre),
        Some("demo".into()),
        dir.scope(Role::Editor, Some(centre)),
    );
    let project_id = load_project(ctx, &editor, pairing_id, &project).await?;
    agreements::create(
        ctx,
        &actor,
        NewAgreement {
            pairing_id,
            title: "残联系统东西部扶贫协作协议书（省级）".into(),
            signed_on: date(6, 5),
            committed_fen: Fen(12_000_000),
            summary: Some("协商确定省级帮扶项目和帮扶资金".into()),
            project_ids: vec![project_id],
            external_id: None,
        },
    )
    .await?;
    Ok(1)
}

/// The prefecture's own 2019 plan (四（一）: "受帮扶的8个市（州）残联要结合实际制订年度工作方案"),
/// issued in the first quarter.
async fn load_plan(ctx: &AppCtx, actor: &Actor, org_id: Uuid) -> AppResult<()> {
    let org = organizations::get(ctx, actor, org_id).await?;
    let city = org.name.trim_end_matches("残疾人联合会");
    plans::create(
        ctx,
        actor,
        NewPlan {
            org_id,
            year: 2019,
            title: format!("2019年{city}残联东西部扶贫协作工作方案"),
            document_no: None,
            issued_on: Some(date(3, 1)),
            issuer: Some(org.name.clone()),
            addressees: Some("各县（市、区）残联".into()),
            goals: Some("落实全省残联系统东西部扶贫协作工作方案，完成年度帮扶项目".into()),
            contents: Some(
                "组建工作机构；加强交流对接；编制帮扶清单；抓好项目落实；建立工作台账".into(),
            ),
            summary: None,
            innovations: None,
            summarized_on: None,
            external_id: None,
        },
    )
    .await?;
    Ok(())
}

/// The year's exchanges both ways, as the plan schedules them: a special meeting in Q1, a
/// consultation east and the joint meeting with the agreement in Q2, the partner's inspection
/// visit and the work meeting in Q3. The western federation records each (`actor` acts for it),
/// its trips east included.
async fn load_exchanges(
    ctx: &AppCtx,
    actor: &Actor,
    pairing_id: Uuid,
    east: Uuid,
    west: Uuid,
    project_ids: Vec<Uuid>,
    committed_fen: i64,
) -> AppResult<()> {
    use ExchangeDirection::{EastToWest, Local, WestToEast};
    use ExchangeKind::*;
    let plan = [
        (
            SpecialMeeting,
            Local,
            west,
            vec![],
            (3, 12),
            (3, 12),
            "专题会议研究部署东西部扶贫协作工作",
            25,
        ),
        (
            Consultation,
            WestToEast,
            east,
            vec![west],
            (5, 20),
            (5, 22),
            "赴对口帮扶城市协商帮扶项目具体事宜",
            6,
        ),
        (
            JointMeeting,
            EastToWest,
            west,
            vec![east],
            (6, 18),
            (6, 18),
            "召开残联系统东西部扶贫协作联席会议",
            40,
        ),
        (
            AgreementSigning,
            EastToWest,
            west,
            vec![east],
            (6, 18),
            (6, 18),
            "签订残联系统东西部扶贫协作协议书",
            20,
        ),
        (
            InspectionVisit,
            EastToWest,
            west,
            vec![east],
            (8, 26),
            (8, 29),
            "东部残联领导和项目主管人员来黔考察",
            8,
        ),
        (
            WorkMeeting,
            Local,
            west,
            vec![],
            (9, 20),
            (9, 20),
            "听取各县（市、区）工作情况汇报，研究部署下步工作",
            30,
        ),
    ];
    for (kind, direction, host, visitors, start, end, summary, participants) in plan {
        trip(
            ctx,
            actor,
            Trip {
                kind,
                direction,
                pairing_id,
                host,
                visitors,
                start,
                end,
                leaders: vec!["理事长".into(), "副理事长".into()],
                summary: summary.into(),
                participants,
            },
        )
        .await?;
    }
    agreements::create(
        ctx,
        actor,
        NewAgreement {
            pairing_id,
            title: "2019年残联系统东西部扶贫协作协议书".into(),
            signed_on: date(6, 18),
            committed_fen: Fen(committed_fen),
            summary: Some("双方确定年度帮扶项目和帮扶资金".into()),
            project_ids,
            external_id: None,
        },
    )
    .await?;
    Ok(())
}

async fn load_project(
    ctx: &AppCtx,
    actor: &Actor,
    pairing_id: Uuid,
    demo: &DemoProject,
) -> AppResult<Uuid> {
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
                    unit_cost_fen: Fen(yuan * 100),
                })
                .collect(),
            quantity: None,
            measures: demo.measures.into(),
            deep_poverty: demo.deep_poverty,
            beneficiaries_planned: demo.beneficiaries,
            budget_fen: Fen(budget),
            responsible_contact_id: None,
            start_on: Some(date(4, 1)),
            end_on: Some(date(12, 31)),
            milestones: milestones(demo),
            external_id: None,
        },
    )
    .await?;
    let record = |kind: FundKind, yuan: i64, on: (u32, u32), voucher: &str| NewFundTransaction {
        kind,
        amount_fen: Fen(yuan * 100),
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
    if demo.status == ProjectStatus::Completed {
        // Done: everyone it was for was reached.
        projects::update(
            ctx,
            actor,
            project.id,
            None,
            ProjectPatch {
                beneficiaries_actual: MaybeUndefined::Value(demo.beneficiaries),
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(project.id)
}

/// The money milestone is done on the last arrival once all that was pledged arrived; the
/// work milestone on the last spending of a completed project.
fn milestones(demo: &DemoProject) -> Vec<Milestone> {
    let total = |kind: FundKind| -> i64 {
        demo.money
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| m.yuan)
            .sum()
    };
    let last = |kind: FundKind| {
        demo.money
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| date(m.on.0, m.on.1))
            .max()
    };
    let arrived = total(Pledge) > 0 && total(Arrival) == total(Pledge);
    let completed = demo.status == ProjectStatus::Completed;
    vec![
        Milestone {
            title: "资金到位".into(),
            due_on: date(6, 30),
            done_on: last(Arrival).filter(|_| arrived),
        },
        Milestone {
            title: "项目实施完成".into(),
            due_on: date(11, 30),
            done_on: last(Expenditure).filter(|_| completed),
        },
    ]
}

/// The prefecture's 工作推进小组 with placeholder holders of each role (no real person).
async fn load_working_group(
    ctx: &AppCtx,
    actor: &Actor,
    org_id: Uuid,
    code: &str,
) -> AppResult<()> {
    let roles = [
        (WorkingGroupRole::Leader, "示例组长", "理事长"),
        (WorkingGroupRole::DeputyLeader, "示例副组长", "副理事长"),
        (
            WorkingGroupRole::OfficeDirector,
            "示例办公室主任",
            "教育就业科科长",
        ),
        (WorkingGroupRole::Liaison, "示例联络员", "科员"),
        (WorkingGroupRole::LedgerKeeper, "示例台账责任人", "科员"),
    ];
    let mut members = Vec::new();
    for (i, (role, name, title)) in roles.into_iter().enumerate() {
        let contact = contacts::create(
            ctx,
            actor,
            NewContact {
                org_id,
                name: name.into(),
                title: Some(title.into()),
                // Placeholders: not a number anyone can dial, an address nobody reads.
                phone: Some(format!("000-0000-{code}{i}")),
                email: Some(format!("role{i}.{code}@example.org")),
                external_id: None,
            },
        )
        .await?;
        members.push(WorkingGroupMemberInput {
            contact_id: contact.id,
            role,
        });
    }
    // The prefecture's sections are not organizations of their own: the federation is the
    // group's office and the responsible unit; the office director's title names the section.
    working_groups::create(
        ctx,
        actor,
        NewWorkingGroup {
            org_id,
            name: "东西部扶贫协作工作推进小组".into(),
            office_org_id: Some(org_id),
            responsible_org_id: Some(org_id),
            established_on: Some(date(3, 5)),
            members,
            external_id: None,
        },
    )
    .await?;
    Ok(())
}
