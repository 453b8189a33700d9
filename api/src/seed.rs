//! The 2019 structure (DESIGN §8): every organization the work plan names, with its GB/T 2260
//! code and parent, the eight city–prefecture pairings, and the plan's own quarterly schedule
//! (三、年度工作计划安排) as the province's 2019 plan. Loading is idempotent: organizations are
//! matched by `code`, pairings by their two sides, the plan by (province, 2019), and nothing
//! present is changed.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{organization, pairing, plan, plan_task};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use crate::{
    domain::{OrgKind, OrgLevel, PairingLevel, Region},
    error::AppResult,
    service::{
        now,
        plans::{CountedRecord, quarter_end},
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

/// The year of the seeded plan, and its title (the document's own).
pub const PLAN_YEAR: i32 = 2019;
pub const PLAN_TITLE: &str = "2019年贵州省残联系统东西部扶贫协作工作方案";

/// One item of the plan's quarterly schedule: (quarter, wording, target count, record type and
/// kind that count). Items the seed gives no countable target have target 0 and nothing counted.
type Item = (
    i32,
    &'static str,
    i32,
    Option<(CountedRecord, Option<&'static str>)>,
);

use CountedRecord::{Agreement, Exchange};

/// 三、年度工作计划安排, one task per concrete item, in the document's order.
pub const PLAN_TASKS: &[Item] = &[
    (1, "省及受帮扶的8个市（州）残联成立工作推进组", 0, None),
    (1, "开展2019年帮扶项目调研", 0, None),
    (1, "制定年度工作方案", 0, None),
    (1, "编制拟帮扶清单", 0, None),
    (
        1,
        "召开至少一次专题会议，研究部署东西部扶贫协作相关工作",
        1,
        Some((Exchange, Some("special_meeting"))),
    ),
    (
        1,
        "条件成熟的市（州）赴对口帮扶城市协商帮扶项目具体事宜",
        0,
        None,
    ),
    (
        2,
        "受帮扶的8个市（州）残联完成2018年度对口帮扶项目及总结工作",
        0,
        None,
    ),
    (
        2,
        "省及受帮扶的8个市（州）残联至少一次赴对口帮扶省份和城市协调帮扶项目具体事宜",
        1,
        Some((Exchange, Some("inspection_visit"))),
    ),
    (
        2,
        "省残联协调东部帮扶省、市残联，共同召开一次残联系统东西部扶贫协作联席会议",
        1,
        Some((Exchange, Some("joint_meeting"))),
    ),
    (
        2,
        "力争签订残联系统东西部扶贫协作协议书",
        1,
        Some((Agreement, None)),
    ),
    (2, "与东部对口帮扶城市建立定期互访和定期磋商机制", 0, None),
    (
        2,
        "邀请东部扶贫协作省及对口帮扶城市残联的领导和项目主管人员到贵州进行考察",
        1,
        Some((Exchange, Some("inspection_visit"))),
    ),
    (2, "根据东部协作省份经费到位情况及时启动帮扶项目", 0, None),
    (
        3,
        "省及受帮扶的8个市（州）残联邀请东部扶贫协作省及对口帮扶城市残联的领导和项目主管人员到贵州进行考察",
        1,
        Some((Exchange, Some("inspection_visit"))),
    ),
    (
        3,
        "根据东部协作省份经费到位情况及时启动并抓好帮扶项目的实施工作",
        0,
        None,
    ),
    (3, "准确评估任务清单落实情况", 0, None),
    (
        3,
        "走访对口帮扶省份和城市，共商工作推进措施",
        1,
        Some((Exchange, Some("inspection_visit"))),
    ),
    (
        3,
        "省残联或受帮扶的8个市（州）残联召开对口扶贫协作工作会议，听取各县（市、区、特区）工作情况汇报，研究部署下步工作",
        1,
        Some((Exchange, Some("work_meeting"))),
    ),
    (4, "按照进展要求，完成2019年对口帮扶项目任务", 0, None),
    (4, "做好2019年全省残联东西部扶贫协作总结", 0, None),
    (4, "研究谋划2020年对口帮扶项目和任务清单", 0, None),
    (
        4,
        "各级残联按照职责，对照东西部扶贫协作考核要求，做好迎接考核的工作报告、工作台帐和印证资料（文件、函电、图片、影像、文字和统计资料）的准备，迎接国家及省考核",
        0,
        None,
    ),
];

/// How many records a seeding run added.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    pub organizations: usize,
    pub pairings: usize,
    pub plans: usize,
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
    let started = NaiveDate::from_ymd_opt(2019, 1, 1);
    let mut new_pairings = Vec::new();
    for (east, west) in PAIRINGS {
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
            level: Set(PairingLevel::CityPrefecture.as_str().into()),
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
        seed_plan(&tx, province, at, &mut seeded).await?;
    }
    tx.commit().await?;
    Ok(seeded)
}

/// The province's 2019 plan with one task per item of its quarterly schedule, each due at its
/// quarter's end. A plan the province already has for 2019 — even one deleted since — is left
/// alone, so a deliberate deletion is not undone at the next start.
async fn seed_plan(
    tx: &impl ConnectionTrait,
    province: Uuid,
    at: chrono::DateTime<chrono::Utc>,
    seeded: &mut Seeded,
) -> AppResult<()> {
    let existing = plan::Entity::find()
        .filter(plan::Column::OrgId.eq(province))
        .filter(plan::Column::Year.eq(PLAN_YEAR))
        .count(tx)
        .await?;
    if existing > 0 {
        return Ok(());
    }
    let plan_id = Uuid::now_v7();
    plan::Entity::insert(plan::ActiveModel {
        id: Set(plan_id),
        org_id: Set(province),
        year: Set(PLAN_YEAR),
        title: Set(PLAN_TITLE.into()),
        version: Set(1),
        owner_org_id: Set(province),
        external_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_without_returning(tx)
    .await?;
    seeded.plans = 1;
    let mut tasks = Vec::new();
    for (quarter, title, target, counts) in PLAN_TASKS {
        let Some(due_on) = quarter_end(PLAN_YEAR, *quarter) else {
            continue;
        };
        tasks.push(plan_task::ActiveModel {
            id: Set(Uuid::now_v7()),
            plan_id: Set(plan_id),
            quarter: Set(*quarter),
            title: Set((*title).into()),
            due_on: Set(due_on),
            responsible_org_id: Set(province),
            target_count: Set(*target),
            counts_record_type: Set(counts.map(|(t, _)| t.as_str().to_string())),
            counts_kind: Set(counts.and_then(|(_, k)| k).map(Into::into)),
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
    Ok(())
}
