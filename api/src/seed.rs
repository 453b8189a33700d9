//! The 2019 structure (DESIGN §8): every organization the work plan names, with its GB/T 2260
//! code and parent, the eight city–prefecture pairings and the province's six province-level
//! ones, the province working group, and the plan itself as the province's 2019 plan: its
//! document metadata, its quarterly schedule (三、年度工作计划安排) and the deadlines the rest of
//! it sets, each task counting what its sentence asks of whom. Loading is idempotent:
//! organizations are matched by `code`, pairings by their two sides, the group and the plan by
//! the province, and nothing present is changed.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{contact, organization, pairing, plan, plan_task, plan_task_org, working_group};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    domain::{
        OrgKind, OrgLevel, PairingLevel, Region,
        calendar::{Calendar, annual_due_on},
    },
    error::AppResult,
    service::{
        exchanges::ExchangeDirection,
        now,
        plans::{
            CountedRecord, CountsPeriod, LEDGER_ANNUAL, LEDGER_QUARTERLY, PLAN_ISSUED,
            PLAN_SUMMARIZED, quarter_end,
        },
        working_groups::WorkingGroupRole,
    },
};

/// The provincial federation runs the system: it owns the seeded structure.
pub const PROVINCE_CODE: &str = "520000";

struct Org {
    code: &'static str,
    name: &'static str,
    region: Region,
    level: OrgLevel,
    kind: OrgKind,
    parent: Option<&'static str>,
    division: Option<&'static str>,
}

const fn fed(
    code: &'static str,
    name: &'static str,
    region: Region,
    level: OrgLevel,
    parent: Option<&'static str>,
) -> Org {
    Org {
        code,
        name,
        region,
        level,
        kind: OrgKind::Federation,
        parent,
        division: Some(code),
    }
}

const fn unit(code: &'static str, name: &'static str, kind: OrgKind) -> Org {
    Org {
        code,
        name,
        region: Region::West,
        level: OrgLevel::Province,
        kind,
        parent: Some(PROVINCE_CODE),
        division: Some(PROVINCE_CODE),
    }
}

use OrgLevel::{County, Prefecture, Province};
use Region::{East, West};

/// Parents come before their children.
const ORGS: &[Org] = &[
    fed(PROVINCE_CODE, "贵州省残疾人联合会", West, Province, None),
    // The provincial federation's departments and institutions named in the plan.
    unit("520000-wq", "贵州省残联维权部", OrgKind::Department),
    unit("520000-jj", "贵州省残联教就部", OrgKind::Department),
    unit("520000-zl", "贵州省残联组联部", OrgKind::Department),
    unit("520000-kf", "贵州省残联康复部", OrgKind::Department),
    unit("520000-sb", "贵州省残联社保部", OrgKind::Department),
    unit("520000-xw", "贵州省残联宣文部", OrgKind::Department),
    unit("520000-kfzx", "贵州省残疾人康复中心", OrgKind::Institution),
    unit("520000-jyzx", "贵州省残疾人就业中心", OrgKind::Institution),
    unit("520000-tjzz", "贵州省特教中职校", OrgKind::Institution),
    unit("520000-kfyy", "贵州省康复医院", OrgKind::Institution),
    // Prefectures: the eight assisted, and 贵阳.
    fed(
        "520100",
        "贵阳市残疾人联合会",
        West,
        Prefecture,
        Some(PROVINCE_CODE),
    ),
    fed(
        "520200",
        "六盘水市残疾人联合会",
        West,
        Prefecture,
        Some(PROVINCE_CODE),
    ),
    fed(
        "520300",
        "遵义市残疾人联合会",
        West,
        Prefecture,
        Some(PROVINCE_CODE),
    ),
    fed(
        "520400",
        "安顺市残疾人联合会",
        West,
        Prefecture,
        Some(PROVINCE_CODE),
    ),
    fed(
        "520500",
        "毕节市残疾人联合会",
        West,
        Prefecture,
        Some(PROVINCE_CODE),
    ),
    fed(
        "520600",
        "铜仁市残疾人联合会",
        West,
        Prefecture,
        Some(PROVINCE_CODE),
    ),
    fed(
        "522300",
        "黔西南布依族苗族自治州残疾人联合会",
        West,
        Prefecture,
        Some(PROVINCE_CODE),
    ),
    fed(
        "522600",
        "黔东南苗族侗族自治州残疾人联合会",
        West,
        Prefecture,
        Some(PROVINCE_CODE),
    ),
    fed(
        "522700",
        "黔南布依族苗族自治州残疾人联合会",
        West,
        Prefecture,
        Some(PROVINCE_CODE),
    ),
    // Addressed directly by the plan: 仁怀 (under 遵义), 威宁 (under 毕节), and 贵安新区, which has
    // no division code of its own.
    fed("520382", "仁怀市残疾人联合会", West, County, Some("520300")),
    fed(
        "520526",
        "威宁彝族回族苗族自治县残疾人联合会",
        West,
        County,
        Some("520500"),
    ),
    Org {
        code: "guian",
        name: "贵安新区社会事务管理局",
        region: West,
        level: Prefecture,
        kind: OrgKind::Agency,
        parent: Some(PROVINCE_CODE),
        division: None,
    },
    // Eastern side.
    fed("310000", "上海市残疾人联合会", East, Province, None),
    fed("210000", "辽宁省残疾人联合会", East, Province, None),
    fed(
        "210200",
        "大连市残疾人联合会",
        East,
        Prefecture,
        Some("210000"),
    ),
    fed("370000", "山东省残疾人联合会", East, Province, None),
    fed(
        "370200",
        "青岛市残疾人联合会",
        East,
        Prefecture,
        Some("370000"),
    ),
    fed("440000", "广东省残疾人联合会", East, Province, None),
    fed(
        "440100",
        "广州市残疾人联合会",
        East,
        Prefecture,
        Some("440000"),
    ),
    fed("320000", "江苏省残疾人联合会", East, Province, None),
    fed(
        "320500",
        "苏州市残疾人联合会",
        East,
        Prefecture,
        Some("320000"),
    ),
    fed("330000", "浙江省残疾人联合会", East, Province, None),
    fed(
        "330100",
        "杭州市残疾人联合会",
        East,
        Prefecture,
        Some("330000"),
    ),
    fed(
        "330200",
        "宁波市残疾人联合会",
        East,
        Prefecture,
        Some("330000"),
    ),
];

/// (east code, west code) of the 2019 city–prefecture pairings.
pub const PAIRINGS: &[(&str, &str)] = &[
    ("310000", "520300"), // 上海–遵义
    ("210200", "520200"), // 大连–六盘水
    ("370200", "520400"), // 青岛–安顺
    ("440100", "520500"), // 广州–毕节
    ("440100", "522700"), // 广州–黔南
    ("320500", "520600"), // 苏州–铜仁
    ("330100", "522600"), // 杭州–黔东南
    ("330200", "522300"), // 宁波–黔西南
];

/// (east code, west code) of the province-level pairings: 贵州 with the eastern provinces whose
/// cities assist it (上海 is both). The joint meeting, the agreement, the leaders' yearly visit
/// east and the provincial departments' projects hang on them.
pub const PROVINCE_PAIRINGS: &[(&str, &str)] = &[
    ("310000", PROVINCE_CODE), // 上海
    ("210000", PROVINCE_CODE), // 辽宁
    ("370000", PROVINCE_CODE), // 山东
    ("440000", PROVINCE_CODE), // 广东
    ("320000", PROVINCE_CODE), // 江苏
    ("330000", PROVINCE_CODE), // 浙江
];

/// The day the pairings start. The seed gives no date: it reports the pairs' 2018 projects
/// ("完成 2018 年度对口帮扶项目") and that the federations joined the cooperation in 2018
/// ("2018年国家将残联系统列入到东西部扶贫协作单位"), so they start at the latest on 1 January
/// 2018.
pub fn pairings_start() -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(2018, 1, 1)
}

/// The eight assisted prefectures (受帮扶的8个市（州）): the western sides of the city pairings.
pub fn assisted_prefectures() -> impl Iterator<Item = &'static str> {
    let mut seen: Vec<&str> = Vec::new();
    PAIRINGS.iter().map(|(_, west)| *west).filter(move |west| {
        let new = !seen.contains(west);
        seen.push(west);
        new
    })
}

/// The year of the seeded plan, and its title (the document's own).
pub const PLAN_YEAR: i32 = 2019;
pub const PLAN_TITLE: &str = "2019年贵州省残联系统东西部扶贫协作工作方案";
pub const PLAN_DOCUMENT_NO: &str = "黔残联办发〔2019〕8号";
pub const PLAN_ISSUER: &str = "贵州省残疾人联合会办公室";
pub const PLAN_ADDRESSEES: &str = "各市（州）残联，贵安新区社会事务管理局，仁怀市、威宁县残联";
/// 一、工作目标, as the document states it.
pub const PLAN_GOALS: &str = "认真贯彻落实党的十九大及习近平总书记关于脱贫攻坚和东西部扶贫协作的有关精神，围绕我省残疾人脱贫攻坚工作，紧扣上海市、大连市、青岛市、广州市、苏州市、杭州市、宁波市和我省受帮扶的 8 个市（州）东西部扶贫协作涉及的组织领导、人才交流、资金使用、产业合作、劳务协作、携手奔小康等要求，加强与东部协作城市以及所在省残联的沟通对接，强化协调力度，抓好督促落实，力争实现残疾人领域东西部扶贫协作工作再上新台阶，助力我省决战脱贫攻坚。";
/// 二、主要工作内容 and 四、工作要求, by their headings.
pub const PLAN_CONTENTS: &str = "二、主要工作内容：（一）组建工作机构；（二）加强交流对接；（三）提高扶贫协作水平；（四）着力抓好帮扶项目落实。\n三、年度工作计划安排：按季度安排。\n四、工作要求：（一）高度重视；（二）台账管理；（三）创新总结；（四）资料报送。";

/// The province working group (全省残联东西部扶贫协作工作推进组, 二（一）1).
pub const PROVINCE_GROUP: &str = "全省残联东西部扶贫协作工作推进组";
/// Its office is in 教就部.
pub const PROVINCE_GROUP_OFFICE: &str = "520000-jj";

/// Whose duty a task is, and so whose records count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// Anyone in the province's tree: one record anywhere meets it.
    Anyone,
    /// The province federation itself, with its departments and institutions ("省残联 …").
    Province,
    /// Each of the eight assisted prefectures on its own ("受帮扶的8个市（州）残联 …").
    EachPrefecture,
    /// Each of the province and the eight prefectures on its own ("省及受帮扶的8个市（州）残联 …").
    EachFederation,
}

/// When a task is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// The last day of its quarter.
    QuarterEnd,
    /// The quarter's ledger: the fifth working day after the quarter ("每季度结束后的 5 个工作日").
    Ledger,
    /// 1 December ("12 月 1 日前").
    December1,
}

/// What counts towards a task: a record type, and the kind, direction and leaders it asks for.
#[derive(Clone, Copy, Debug)]
pub struct Counts {
    pub record: CountedRecord,
    pub kind: Option<&'static str>,
    pub direction: Option<ExchangeDirection>,
    pub leaders: bool,
}

/// One task of the seeded plan.
#[derive(Clone, Copy, Debug)]
pub struct SeedTask {
    pub quarter: i32,
    pub title: &'static str,
    pub who: Who,
    pub due: Due,
    /// From when records count: the quarter's start for the schedule's items, the year's for
    /// what the seed asks every year.
    pub period: CountsPeriod,
    /// `None`: the seed gives nothing a record can show, so the task is not tracked.
    pub counts: Option<Counts>,
}

const fn task(quarter: i32, title: &'static str, who: Who, counts: Option<Counts>) -> SeedTask {
    SeedTask {
        quarter,
        title,
        who,
        due: Due::QuarterEnd,
        period: CountsPeriod::Quarter,
        counts,
    }
}

const fn untracked(quarter: i32, title: &'static str) -> SeedTask {
    task(quarter, title, Who::Anyone, None)
}

const fn counts(record: CountedRecord, kind: Option<&'static str>) -> Option<Counts> {
    Some(Counts {
        record,
        kind,
        direction: None,
        leaders: false,
    })
}

const fn exchange(
    kind: Option<&'static str>,
    direction: Option<ExchangeDirection>,
    leaders: bool,
) -> Option<Counts> {
    Some(Counts {
        record: CountedRecord::Exchange,
        kind,
        direction,
        leaders,
    })
}

const fn ledger(quarter: i32, title: &'static str) -> SeedTask {
    SeedTask {
        quarter,
        title,
        who: Who::EachPrefecture,
        due: Due::Ledger,
        period: CountsPeriod::Quarter,
        counts: counts(CountedRecord::LedgerSubmission, Some(LEDGER_QUARTERLY)),
    }
}

use CountedRecord::{Agreement, Plan, SelfAssessment, WorkingGroup};
use ExchangeDirection::{EastToWest, WestToEast};
use Who::{Anyone, EachFederation, EachPrefecture, Province as ProvinceOnly};

/// 三、年度工作计划安排, one task per concrete item in the document's order, then in each quarter
/// the deadlines the rest of the document sets: the quarterly ledgers and the 1 December
/// materials (四（四）), and the leaders' yearly visit east (二（二）2).
pub const PLAN_TASKS: &[SeedTask] = &[
    task(
        1,
        "省及受帮扶的8个市（州）残联成立工作推进组",
        EachFederation,
        counts(WorkingGroup, None),
    ),
    untracked(1, "开展2019年帮扶项目调研"),
    // 四（一）: "受帮扶的8个市（州）残联要结合实际制订年度工作方案".
    task(
        1,
        "制定年度工作方案",
        EachPrefecture,
        counts(Plan, Some(PLAN_ISSUED)),
    ),
    untracked(1, "编制拟帮扶清单"),
    task(
        1,
        "召开至少一次专题会议，研究部署东西部扶贫协作相关工作",
        EachFederation,
        exchange(Some("special_meeting"), None, false),
    ),
    // Where conditions allow: no prefecture is bound to it, so nothing is overdue without it.
    untracked(1, "条件成熟的市（州）赴对口帮扶城市协商帮扶项目具体事宜"),
    ledger(
        1,
        "受帮扶的8个市（州）残联报送第一季度台账佐证资料（季度结束后的5个工作日内）",
    ),
    // The 2018 projects lie outside the 2019 plan's year.
    untracked(
        2,
        "受帮扶的8个市（州）残联完成2018年度对口帮扶项目及总结工作",
    ),
    task(
        2,
        "省及受帮扶的8个市（州）残联至少一次赴对口帮扶省份和城市协调帮扶项目具体事宜",
        EachFederation,
        exchange(Some("consultation"), Some(WestToEast), false),
    ),
    task(
        2,
        "省残联协调东部帮扶省、市残联，共同召开一次残联系统东西部扶贫协作联席会议",
        ProvinceOnly,
        exchange(Some("joint_meeting"), None, false),
    ),
    task(
        2,
        "力争签订残联系统东西部扶贫协作协议书",
        ProvinceOnly,
        counts(Agreement, None),
    ),
    untracked(2, "与东部对口帮扶城市建立定期互访和定期磋商机制"),
    task(
        2,
        "邀请东部扶贫协作省及对口帮扶城市残联的领导和项目主管人员到贵州进行考察",
        Anyone,
        exchange(Some("inspection_visit"), Some(EastToWest), true),
    ),
    untracked(2, "根据东部协作省份经费到位情况及时启动帮扶项目"),
    ledger(
        2,
        "受帮扶的8个市（州）残联报送第二季度台账佐证资料（季度结束后的5个工作日内）",
    ),
    task(
        3,
        "省及受帮扶的8个市（州）残联邀请东部扶贫协作省及对口帮扶城市残联的领导和项目主管人员到贵州进行考察",
        EachFederation,
        exchange(Some("inspection_visit"), Some(EastToWest), true),
    ),
    untracked(
        3,
        "根据东部协作省份经费到位情况及时启动并抓好帮扶项目的实施工作",
    ),
    untracked(3, "准确评估任务清单落实情况"),
    task(
        3,
        "走访对口帮扶省份和城市，共商工作推进措施",
        Anyone,
        exchange(Some("consultation"), Some(WestToEast), false),
    ),
    task(
        3,
        "省残联或受帮扶的8个市（州）残联召开对口扶贫协作工作会议，听取各县（市、区、特区）工作情况汇报，研究部署下步工作",
        Anyone,
        exchange(Some("work_meeting"), None, false),
    ),
    ledger(
        3,
        "受帮扶的8个市（州）残联报送第三季度台账佐证资料（季度结束后的5个工作日内）",
    ),
    untracked(4, "按照进展要求，完成2019年对口帮扶项目任务"),
    task(
        4,
        "做好2019年全省残联东西部扶贫协作总结",
        ProvinceOnly,
        counts(Plan, Some(PLAN_SUMMARIZED)),
    ),
    untracked(4, "研究谋划2020年对口帮扶项目和任务清单"),
    // Due by 1 December, with the materials (四（四）); the work report is the self-assessment.
    SeedTask {
        due: Due::December1,
        ..task(
            4,
            "各级残联按照职责，对照东西部扶贫协作考核要求，做好迎接考核的工作报告、工作台帐和印证资料（文件、函电、图片、影像、文字和统计资料）的准备，迎接国家及省考核",
            EachPrefecture,
            counts(SelfAssessment, None),
        )
    },
    SeedTask {
        due: Due::December1,
        ..task(
            4,
            "受帮扶的8个市（州）残联12月1日前报送全年台账佐证资料",
            EachPrefecture,
            counts(CountedRecord::LedgerSubmission, Some(LEDGER_ANNUAL)),
        )
    },
    SeedTask {
        period: CountsPeriod::Year,
        ..task(
            4,
            "省残联领导每年安排1次以上赴东部帮扶省份考察调研，对接项目，磋商工作",
            ProvinceOnly,
            exchange(Some("inspection_visit"), Some(WestToEast), true),
        )
    },
    ledger(
        4,
        "受帮扶的8个市（州）残联报送第四季度台账佐证资料（季度结束后的5个工作日内）",
    ),
];

/// How many records a seeding run added.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    pub organizations: usize,
    pub pairings: usize,
    pub working_groups: usize,
    pub plans: usize,
    /// An earlier seed's 2019 plan that nobody had changed, given the tasks of this one.
    pub plans_upgraded: usize,
    pub plan_tasks: usize,
}

pub async fn load(db: &DatabaseConnection) -> AppResult<Seeded> {
    let tx = db.begin().await?;
    let mut ids: HashMap<String, Uuid> = organization::Entity::find()
        .all(&tx)
        .await?
        .into_iter()
        .map(|m| (m.code, m.id))
        .collect();
    let at = now();
    let mut seeded = Seeded::default();
    let mut new_orgs = Vec::new();
    for org in ORGS {
        if ids.contains_key(org.code) {
            continue;
        }
        let id = Uuid::now_v7();
        ids.insert(org.code.to_string(), id);
        let owner = ids.get(PROVINCE_CODE).copied().unwrap_or(id);
        new_orgs.push(organization::ActiveModel {
            id: Set(id),
            code: Set(org.code.into()),
            name: Set(org.name.into()),
            region: Set(org.region.as_str().into()),
            level: Set(org.level.as_str().into()),
            kind: Set(org.kind.as_str().into()),
            parent_id: Set(org.parent.and_then(|p| ids.get(p).copied())),
            division_code: Set(org.division.map(Into::into)),
            version: Set(1),
            owner_org_id: Set(owner),
            external_id: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
            deleted_at: Set(None),
        });
    }
    seeded.organizations = new_orgs.len();
    if !new_orgs.is_empty() {
        organization::Entity::insert_many(new_orgs)
            .exec_without_returning(&tx)
            .await?;
    }

    let existing: Vec<(Uuid, Uuid)> = pairing::Entity::find()
        .filter(pairing::Column::DeletedAt.is_null())
        .all(&tx)
        .await?
        .into_iter()
        .map(|p| (p.east_org_id, p.west_org_id))
        .collect();
    let province = ids.get(PROVINCE_CODE).copied();
    let started = pairings_start();
    let mut new_pairings = Vec::new();
    let levels = PAIRINGS
        .iter()
        .map(|p| (p, PairingLevel::CityPrefecture))
        .chain(
            PROVINCE_PAIRINGS
                .iter()
                .map(|p| (p, PairingLevel::ProvinceProvince)),
        );
    for ((east, west), level) in levels {
        let (Some(&east), Some(&west), Some(owner), Some(started)) =
            (ids.get(*east), ids.get(*west), province, started)
        else {
            continue;
        };
        if existing.contains(&(east, west)) {
            continue;
        }
        new_pairings.push(pairing::ActiveModel {
            id: Set(Uuid::now_v7()),
            east_org_id: Set(east),
            west_org_id: Set(west),
            level: Set(level.as_str().into()),
            started_on: Set(started),
            ended_on: Set(None),
            version: Set(1),
            owner_org_id: Set(owner),
            external_id: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
            deleted_at: Set(None),
        });
    }
    seeded.pairings = new_pairings.len();
    if !new_pairings.is_empty() {
        pairing::Entity::insert_many(new_pairings)
            .exec_without_returning(&tx)
            .await?;
    }
    if let Some(province) = province {
        seed_group(&tx, &ids, province, at, &mut seeded).await?;
        seed_plan(&tx, &ids, province, at, &mut seeded).await?;
    }
    // What the seed inserted enters the change feed: its last write (see `changes::append`).
    if seeded != Seeded::default() {
        migration::feed_backfill::backfill(&tx).await?;
    }
    tx.commit().await?;
    Ok(seeded)
}

/// The province working group (二（一）1) with its office in 教就部 and placeholder holders of
/// each role: the seed names real people, the demo names none. Left alone when the province
/// has (or had) a group.
async fn seed_group(
    tx: &impl ConnectionTrait,
    ids: &HashMap<String, Uuid>,
    province: Uuid,
    at: chrono::DateTime<chrono::Utc>,
    seeded: &mut Seeded,
) -> AppResult<()> {
    let existing = working_group::Entity::find()
        .filter(working_group::Column::OrgId.eq(province))
        .count(tx)
        .await?;
    if existing > 0 {
        return Ok(());
    }
    let office = ids.get(PROVINCE_GROUP_OFFICE).copied();
    let holders = [
        (
            WorkingGroupRole::Leader,
            "组长（示例）",
            "省残联党组书记、理事长",
        ),
        (
            WorkingGroupRole::DeputyLeader,
            "副组长（示例）",
            "省残联副理事长",
        ),
        (
            WorkingGroupRole::OfficeDirector,
            "办公室主任（示例）",
            "省残联副理事长（兼）",
        ),
        (
            WorkingGroupRole::Member,
            "成员（示例）",
            "省残联教就部负责同志",
        ),
    ];
    let mut contacts = Vec::new();
    let mut members = Vec::new();
    for (role, name, title) in holders {
        let id = Uuid::now_v7();
        contacts.push(contact::ActiveModel {
            id: Set(id),
            org_id: Set(province),
            name: Set(name.into()),
            title: Set(Some(title.into())),
            phone: Set(None),
            email: Set(None),
            version: Set(1),
            owner_org_id: Set(province),
            external_id: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
            deleted_at: Set(None),
        });
        members.push(serde_json::json!({"contact_id": id, "role": role.as_str()}));
    }
    contact::Entity::insert_many(contacts)
        .exec_without_returning(tx)
        .await?;
    working_group::Entity::insert(working_group::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(province),
        name: Set(PROVINCE_GROUP.into()),
        office_org_id: Set(office),
        responsible_org_id: Set(office),
        // Set up by the plan itself, issued that day.
        established_on: Set(plan_issued_on()),
        members: Set(serde_json::Value::Array(members)),
        version: Set(1),
        owner_org_id: Set(province),
        external_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_without_returning(tx)
    .await?;
    seeded.working_groups = 1;
    Ok(())
}

/// The day the plan was issued: 2019年2月19日.
pub fn plan_issued_on() -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(2019, 2, 19)
}

/// How many tasks earlier versions seeded: one per item of the quarterly schedule, each
/// counting over the province's whole tree.
const EARLIER_SEED_TASKS: u64 = 22;

/// Whether `plan` is an earlier version's seeded 2019 plan that nobody has changed since: the
/// seed's title, no document metadata, version 1, and its 22 tasks each at version 1 with no
/// target organizations.
async fn untouched_earlier_seed(tx: &impl ConnectionTrait, plan: &plan::Model) -> AppResult<bool> {
    if plan.deleted_at.is_some()
        || plan.version != 1
        || plan.title != PLAN_TITLE
        || plan.document_no.is_some()
    {
        return Ok(false);
    }
    let tasks = plan_task::Entity::find()
        .filter(plan_task::Column::PlanId.eq(plan.id))
        .all(tx)
        .await?;
    let untouched = tasks.len() as u64 == EARLIER_SEED_TASKS
        && tasks
            .iter()
            .all(|t| t.version == 1 && t.deleted_at.is_none() && t.counts_period == "year");
    let targeted = plan_task_org::Entity::find()
        .filter(plan_task_org::Column::TaskId.is_in(tasks.iter().map(|t| t.id)))
        .count(tx)
        .await?;
    Ok(untouched && targeted == 0)
}

/// The day a seeded task is due.
fn due_on(task: &SeedTask, calendar: &Calendar) -> Option<NaiveDate> {
    match task.due {
        Due::QuarterEnd => quarter_end(PLAN_YEAR, task.quarter),
        Due::Ledger => calendar.ledger_due_on(PLAN_YEAR, task.quarter).ok(),
        Due::December1 => annual_due_on(PLAN_YEAR),
    }
}

/// The province's 2019 plan, with its document metadata and one task per item of its
/// schedule and per deadline it sets, each with the organizations that must meet it. A plan
/// the province already has for 2019 — even one deleted since — is left alone, so a deliberate
/// deletion is not undone at the next start; except an earlier version's seeded plan that
/// nobody has changed, which gets these tasks in place of its own.
async fn seed_plan(
    tx: &impl ConnectionTrait,
    ids: &HashMap<String, Uuid>,
    province: Uuid,
    at: chrono::DateTime<chrono::Utc>,
    seeded: &mut Seeded,
) -> AppResult<()> {
    let existing = plan::Entity::find()
        .filter(plan::Column::OrgId.eq(province))
        .filter(plan::Column::Year.eq(PLAN_YEAR))
        .all(tx)
        .await?;
    let metadata = |model: &mut plan::ActiveModel| {
        model.document_no = Set(Some(PLAN_DOCUMENT_NO.into()));
        model.issued_on = Set(plan_issued_on());
        model.issuer = Set(Some(PLAN_ISSUER.into()));
        model.addressees = Set(Some(PLAN_ADDRESSEES.into()));
        model.goals = Set(Some(PLAN_GOALS.into()));
        model.contents = Set(Some(PLAN_CONTENTS.into()));
        model.updated_at = Set(at);
    };
    let plan_id = match existing.as_slice() {
        [] => {
            let plan_id = Uuid::now_v7();
            let mut model = plan::ActiveModel {
                id: Set(plan_id),
                org_id: Set(province),
                year: Set(PLAN_YEAR),
                title: Set(PLAN_TITLE.into()),
                summary: Set(None),
                innovations: Set(None),
                summarized_on: Set(None),
                version: Set(1),
                owner_org_id: Set(province),
                external_id: Set(None),
                created_at: Set(at),
                deleted_at: Set(None),
                ..Default::default()
            };
            metadata(&mut model);
            plan::Entity::insert(model)
                .exec_without_returning(tx)
                .await?;
            seeded.plans = 1;
            plan_id
        }
        [old] if untouched_earlier_seed(tx, old).await? => {
            // Replaced, as nobody has touched it: its tasks said things its records
            // contradicted.
            plan_task::Entity::update_many()
                .col_expr(plan_task::Column::DeletedAt, Expr::value(at))
                .col_expr(plan_task::Column::UpdatedAt, Expr::value(at))
                .col_expr(plan_task::Column::Version, Expr::value(2))
                .filter(plan_task::Column::PlanId.eq(old.id))
                .filter(plan_task::Column::DeletedAt.is_null())
                .exec(tx)
                .await?;
            let mut model: plan::ActiveModel = old.clone().into();
            metadata(&mut model);
            model.version = Set(old.version + 1);
            model.update(tx).await?;
            seeded.plans_upgraded = 1;
            old.id
        }
        _ => return Ok(()),
    };
    let calendar = Calendar::built_in();
    let prefectures: Vec<Uuid> = assisted_prefectures()
        .filter_map(|code| ids.get(code).copied())
        .collect();
    let mut tasks = Vec::new();
    let mut targets = Vec::new();
    for seed in PLAN_TASKS {
        let Some(due_on) = due_on(seed, &calendar) else {
            continue;
        };
        let id = Uuid::now_v7();
        let orgs: Vec<Uuid> = match (seed.who, seed.counts) {
            (_, None) | (Who::Anyone, _) => Vec::new(),
            (Who::Province, _) => vec![province],
            (Who::EachPrefecture, _) => prefectures.clone(),
            (Who::EachFederation, _) => std::iter::once(province)
                .chain(prefectures.iter().copied())
                .collect(),
        };
        targets.extend(orgs.into_iter().map(|org| plan_task_org::ActiveModel {
            task_id: Set(id),
            org_id: Set(org),
        }));
        let c = seed.counts;
        tasks.push(plan_task::ActiveModel {
            id: Set(id),
            plan_id: Set(plan_id),
            quarter: Set(seed.quarter),
            title: Set(seed.title.into()),
            due_on: Set(due_on),
            responsible_org_id: Set(province),
            target_count: Set(i32::from(c.is_some())),
            counts_record_type: Set(c.map(|c| c.record.as_str().to_string())),
            counts_kind: Set(c.and_then(|c| c.kind).map(Into::into)),
            counts_direction: Set(c.and_then(|c| c.direction).map(|d| d.as_str().to_string())),
            counts_leaders: Set(c.is_some_and(|c| c.leaders)),
            counts_period: Set(seed.period.as_str().into()),
            // Every task the plan sets is 规定动作; an organization adds its own 自选动作.
            mandatory: Set(true),
            version: Set(1),
            owner_org_id: Set(province),
            external_id: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
            deleted_at: Set(None),
        });
    }
    seeded.plan_tasks = tasks.len();
    plan_task::Entity::insert_many(tasks)
        .exec_without_returning(tx)
        .await?;
    if !targets.is_empty() {
        plan_task_org::Entity::insert_many(targets)
            .exec_without_returning(tx)
            .await?;
    }
    Ok(())
}
