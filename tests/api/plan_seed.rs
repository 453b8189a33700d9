//! The seeded 2019 plan read against the work plan itself (黔残联办发〔2019〕8号), sentence by
//! sentence: each task, whose duty it is, what counts towards it and by when. Then what the
//! counting rules must get right: who travels where, duties of each of nine federations, the
//! ledger deadlines, the year-end summary, and the province-level cooperation.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{exchange, ledger_submission};
use reqwest::StatusCode;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use tests::{TestApp, parts, spawn_app};

use super::plans::{seeded_plan, task};
use uuid::Uuid;
use xiezuo::domain::Role;

const PREFECTURES: [&str; 8] = [
    "520300", "520200", "520400", "520500", "522700", "520600", "522600", "522300",
];

/// Whose duty a task is, by the organizations that must each meet it.
#[derive(Clone, Copy, Debug)]
enum Who {
    /// Nothing counts: the sentence names nothing a record can show.
    Untracked,
    /// One record anywhere in the province's tree.
    Anyone,
    /// "省残联 …": the province itself.
    Province,
    /// "受帮扶的8个市（州）残联 …": each prefecture.
    Prefectures,
    /// "省及受帮扶的8个市（州）残联 …": each of the nine.
    Nine,
}

/// (record type, kind, direction, leaders present, period).
type Counts = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    bool,
    &'static str,
);

struct Expect {
    /// The work plan's own words the task comes from.
    sentence: &'static str,
    title: &'static str,
    quarter: i64,
    due: &'static str,
    who: Who,
    counts: Option<Counts>,
}

const fn item(
    sentence: &'static str,
    title: &'static str,
    quarter: i64,
    due: &'static str,
    who: Who,
    counts: Option<Counts>,
) -> Expect {
    Expect {
        sentence,
        title,
        quarter,
        due,
        who,
        counts,
    }
}

/// The seeded plan, task by task, each with the sentence it comes from.
const EXPECTED: &[Expect] = &[
    item(
        "第一季度：省及受帮扶的 8 个市（州）残联成立工作推进组",
        "省及受帮扶的8个市（州）残联成立工作推进组",
        1,
        "2019-03-31",
        Who::Nine,
        Some(("working_group", None, None, false, "quarter")),
    ),
    item(
        "开展 2019 年帮扶项目调研",
        "开展2019年帮扶项目调研",
        1,
        "2019-03-31",
        Who::Untracked,
        None,
    ),
    item(
        "受帮扶的8个市（州）残联要结合实际制订年度工作方案",
        "制定年度工作方案",
        1,
        "2019-03-31",
        Who::Prefectures,
        Some(("plan", Some("issued"), None, false, "quarter")),
    ),
    item(
        "编制拟帮扶清单",
        "编制拟帮扶清单",
        1,
        "2019-03-31",
        Who::Untracked,
        None,
    ),
    item(
        "召开至少一次专题会议，研究部署东西部扶贫协作相关工作",
        "召开至少一次专题会议",
        1,
        "2019-03-31",
        Who::Nine,
        Some(("exchange", Some("special_meeting"), None, false, "quarter")),
    ),
    item(
        "条件成熟的市（州）赴对口帮扶城市协商帮扶项目具体事宜",
        "条件成熟的市（州）",
        1,
        "2019-03-31",
        Who::Untracked,
        None,
    ),
    item(
        "受帮扶的 8 个市（州）残联在工作中形成和各县（市、区、特区）上报各类台账佐证资料，须分类转换成 PDF 格式于每季度结束后的 5 个工作日……报省残联教就部",
        "受帮扶的8个市（州）残联报送第一季度台账",
        1,
        "2019-04-08",
        Who::Prefectures,
        Some((
            "ledger_submission",
            Some("quarterly"),
            None,
            false,
            "quarter",
        )),
    ),
    item(
        "第二季度：受帮扶的 8 个市（州）残联完成 2018 年度对口帮扶项目及总结工作",
        "受帮扶的8个市（州）残联完成2018年度",
        2,
        "2019-06-30",
        Who::Untracked,
        None,
    ),
    item(
        "省及受帮扶的 8 个市（州）残联至少一次赴对口帮扶省份和城市协调帮扶项目具体事宜",
        "省及受帮扶的8个市（州）残联至少一次赴对口帮扶",
        2,
        "2019-06-30",
        Who::Nine,
        Some((
            "exchange",
            Some("consultation"),
            Some("west_to_east"),
            false,
            "quarter",
        )),
    ),
    item(
        "省残联协调东部帮扶省、市残联，共同召开一次残联系统东西部扶贫协作联席会议",
        "省残联协调东部帮扶省、市残联",
        2,
        "2019-06-30",
        Who::Province,
        Some(("exchange", Some("joint_meeting"), None, false, "quarter")),
    ),
    item(
        "力争签订残联系统东西部扶贫协作协议书",
        "力争签订",
        2,
        "2019-06-30",
        Who::Province,
        Some(("agreement", None, None, false, "quarter")),
    ),
    item(
        "与东部对口帮扶城市建立定期互访和定期磋商机制",
        "与东部对口帮扶城市建立定期互访",
        2,
        "2019-06-30",
        Who::Untracked,
        None,
    ),
    item(
        "邀请东部扶贫协作省及对口帮扶城市残联的领导和项目主管人员到贵州进行考察",
        "邀请东部扶贫协作省及对口帮扶城市残联的领导",
        2,
        "2019-06-30",
        Who::Anyone,
        Some((
            "exchange",
            Some("inspection_visit"),
            Some("east_to_west"),
            true,
            "quarter",
        )),
    ),
    item(
        "根据东部协作省份经费到位情况及时启动帮扶项目",
        "根据东部协作省份经费到位情况及时启动帮扶项目",
        2,
        "2019-06-30",
        Who::Untracked,
        None,
    ),
    item(
        "于每季度结束后的 5 个工作日……报省残联教就部",
        "受帮扶的8个市（州）残联报送第二季度台账",
        2,
        "2019-07-05",
        Who::Prefectures,
        Some((
            "ledger_submission",
            Some("quarterly"),
            None,
            false,
            "quarter",
        )),
    ),
    item(
        "第三季度：省及受帮扶的 8 个市（州）残联邀请东部扶贫协作省及对口帮扶城市残联的领导和项目主管人员到贵州进行考察",
        "省及受帮扶的8个市（州）残联邀请东部",
        3,
        "2019-09-30",
        Who::Nine,
        Some((
            "exchange",
            Some("inspection_visit"),
            Some("east_to_west"),
            true,
            "quarter",
        )),
    ),
    item(
        "根据东部协作省份经费到位情况及时启动并抓好帮扶项目的实施工作",
        "根据东部协作省份经费到位情况及时启动并抓好",
        3,
        "2019-09-30",
        Who::Untracked,
        None,
    ),
    item(
        "准确评估任务清单落实情况",
        "准确评估任务清单落实情况",
        3,
        "2019-09-30",
        Who::Untracked,
        None,
    ),
    item(
        "走访对口帮扶省份和城市，共商工作推进措施",
        "走访对口帮扶省份和城市",
        3,
        "2019-09-30",
        Who::Anyone,
        Some((
            "exchange",
            Some("consultation"),
            Some("west_to_east"),
            false,
            "quarter",
        )),
    ),
    item(
        "省残联或受帮扶的 8 个市（州）残联召开对口扶贫协作工作会议，听取各县（市、区、特区）工作情况汇报，研究部署下步工作",
        "省残联或受帮扶的8个市（州）残联召开",
        3,
        "2019-09-30",
        Who::Anyone,
        Some(("exchange", Some("work_meeting"), None, false, "quarter")),
    ),
    item(
        "于每季度结束后的 5 个工作日……报省残联教就部",
        "受帮扶的8个市（州）残联报送第三季度台账",
        3,
        "2019-10-12",
        Who::Prefectures,
        Some((
            "ledger_submission",
            Some("quarterly"),
            None,
            false,
            "quarter",
        )),
    ),
    item(
        "第四季度：按照进展要求，完成 2019 年对口帮扶项目任务",
        "按照进展要求",
        4,
        "2019-12-31",
        Who::Untracked,
        None,
    ),
    item(
        "做好 2019 年全省残联东西部扶贫协作总结",
        "做好2019年全省残联东西部扶贫协作总结",
        4,
        "2019-12-31",
        Who::Province,
        Some(("plan", Some("summarized"), None, false, "quarter")),
    ),
    item(
        "研究谋划 2020 年对口帮扶项目和任务清单",
        "研究谋划2020年",
        4,
        "2019-12-31",
        Who::Untracked,
        None,
    ),
    item(
        "各级残联按照职责，对照东西部扶贫协作考核要求，做好迎接考核的工作报告、工作台帐和印证资料……的准备 (以及 12 月 1 日前报省残联教就部)",
        "各级残联按照职责",
        4,
        "2019-12-01",
        Who::Prefectures,
        Some(("self_assessment", None, None, false, "quarter")),
    ),
    item(
        "须分类转换成 PDF 格式于每季度结束后的 5 个工作日以及 12 月 1 日前报省残联教就部",
        "受帮扶的8个市（州）残联12月1日前报送全年台账",
        4,
        "2019-12-01",
        Who::Prefectures,
        Some(("ledger_submission", Some("annual"), None, false, "quarter")),
    ),
    item(
        "省残联领导每年安排1次以上赴东部帮扶省份考察调研，对接项目，磋商工作",
        "省残联领导每年安排1次以上",
        4,
        "2019-12-31",
        Who::Province,
        Some((
            "exchange",
            Some("inspection_visit"),
            Some("west_to_east"),
            true,
            "year",
        )),
    ),
    item(
        "于每季度结束后的 5 个工作日……报省残联教就部",
        "受帮扶的8个市（州）残联报送第四季度台账",
        4,
        "2020-01-08",
        Who::Prefectures,
        Some((
            "ledger_submission",
            Some("quarterly"),
            None,
            false,
            "quarter",
        )),
    ),
];

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// Noon in Beijing on `text`, in UTC.
fn beijing_noon(text: &str) -> DateTime<Utc> {
    day(text).and_hms_opt(4, 0, 0).expect("time").and_utc()
}

/// One organization's count on a per-organization task.
fn count_of(task: &Value, org: Uuid) -> i64 {
    task["progress_by_org"]
        .as_array()
        .expect("progress_by_org")
        .iter()
        .find(|p| p["org_id"] == org.to_string())
        .and_then(|p| p["progress_count"].as_i64())
        .unwrap_or_else(|| panic!("{org} is not a target of {task}"))
}

/// An exchange written straight into the table, as the plan counts it.
struct Trip<'a> {
    kind: &'a str,
    direction: &'a str,
    owner: &'a str,
    on: &'a str,
    leaders: bool,
}

async fn insert_exchange(app: &TestApp, t: Trip<'_>) {
    let owner = app.org_id(t.owner).await;
    let at = Utc::now();
    let leaders = if t.leaders {
        json!(["理事长"])
    } else {
        json!([])
    };
    exchange::Entity::insert(exchange::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(t.kind.into()),
        direction: Set(t.direction.into()),
        pairing_id: Set(None),
        host_org_id: Set(owner),
        start_on: Set(day(t.on)),
        end_on: Set(day(t.on)),
        leaders_present: Set(leaders),
        participants: Set(None),
        summary: Set(None),
        version: Set(1),
        owner_org_id: Set(owner),
        external_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_without_returning(&app.ctx.db)
    .await
    .expect("insert exchange");
}

/// A ledger submission written straight into the table, submitted at `at`.
async fn insert_submission(
    app: &TestApp,
    owner: &str,
    quarter: i32,
    at: DateTime<Utc>,
    status: &str,
) {
    let owner = app.org_id(owner).await;
    ledger_submission::Entity::insert(ledger_submission::ActiveModel {
        id: Set(Uuid::now_v7()),
        year: Set(2019),
        quarter: Set(quarter),
        number: Set(i32::from(status == "returned") + 1 + quarter * 10),
        due_on: Set(None),
        submitted_at: Set(at),
        submitted_by: Set(Uuid::nil()),
        on_time: Set(None),
        sha256: Set("0".repeat(64)),
        snapshot: Set("{}".into()),
        snapshot_bytes: Set(2),
        gaps: Set(0),
        status: Set(status.into()),
        review_comment: Set(None),
        reviewed_at: Set(None),
        reviewed_by: Set(None),
        version: Set(1),
        owner_org_id: Set(owner),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_without_returning(&app.ctx.db)
    .await
    .expect("insert submission");
}

#[tokio::test]
async fn every_seeded_task_says_what_its_sentence_asks_of_whom_and_by_when() {
    let app = spawn_app().await;
    let plan = seeded_plan(&app, &app.token(Role::Editor, Some("520300"))).await;
    // The document itself.
    assert_eq!(plan["title"], "2019年贵州省残联系统东西部扶贫协作工作方案");
    assert_eq!(plan["document_no"], "黔残联办发〔2019〕8号");
    assert_eq!(plan["issued_on"], "2019-02-19");
    assert_eq!(plan["issuer"], "贵州省残疾人联合会办公室");
    assert_eq!(
        plan["addressees"],
        "各市（州）残联，贵安新区社会事务管理局，仁怀市、威宁县残联"
    );
    assert!(
        plan["goals"]
            .as_str()
            .is_some_and(|g| g.starts_with("认真贯彻落实党的十九大"))
    );

    let province = app.org_id("520000").await.to_string();
    let mut prefectures = Vec::new();
    for code in PREFECTURES {
        prefectures.push(app.org_id(code).await.to_string());
    }
    prefectures.sort();
    let mut nine = prefectures.clone();
    nine.push(province.clone());
    nine.sort();

    let tasks = plan["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), EXPECTED.len(), "{plan}");
    for e in EXPECTED {
        let t = task(&plan, e.title);
        let ctx = format!("「{}」: {t}", e.sentence);
        assert_eq!(t["quarter"], e.quarter, "{ctx}");
        assert_eq!(t["due_on"], e.due, "{ctx}");
        assert_eq!(t["mandatory"], true, "{ctx}");
        assert_eq!(t["responsible_org_id"], province, "{ctx}");
        let mut targets: Vec<String> = t["target_org_ids"]
            .as_array()
            .expect("targets")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        targets.sort();
        let expected_targets: Vec<String> = match e.who {
            Who::Untracked | Who::Anyone => vec![],
            Who::Province => vec![province.clone()],
            Who::Prefectures => prefectures.clone(),
            Who::Nine => nine.clone(),
        };
        assert_eq!(targets, expected_targets, "{ctx}");
        match e.counts {
            None => {
                assert_eq!(t["target_count"], 0, "{ctx}");
                assert!(t["counts_record_type"].is_null(), "{ctx}");
                assert_eq!(t["status"], "not_tracked", "{ctx}");
            }
            Some((record, kind, direction, leaders, period)) => {
                assert_eq!(t["target_count"], 1, "{ctx}");
                assert_eq!(t["counts_record_type"], record, "{ctx}");
                assert_eq!(t["counts_kind"], json!(kind), "{ctx}");
                assert_eq!(t["counts_direction"], json!(direction), "{ctx}");
                assert_eq!(t["counts_leaders"], leaders, "{ctx}");
                assert_eq!(t["counts_period"], period, "{ctx}");
            }
        }
    }

    // The five deadlines the document sets outside its schedule, on their official dates: the
    // 5th working day after each quarter (10-12 was a Saturday worked in lieu of the National
    // Day holiday) and 1 December.
    let mut deadlines: Vec<(String, String)> = tasks
        .iter()
        .filter(|t| t["counts_record_type"] == "ledger_submission")
        .map(|t| {
            (
                t["due_on"].as_str().unwrap_or_default().to_string(),
                t["counts_kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    deadlines.sort();
    assert_eq!(
        deadlines,
        [
            ("2019-04-08", "quarterly"),
            ("2019-07-05", "quarterly"),
            ("2019-10-12", "quarterly"),
            ("2019-12-01", "annual"),
            ("2020-01-08", "quarterly"),
        ]
        .map(|(d, k)| (d.to_string(), k.to_string()))
    );

    // 二（一）1: the province working group, its office in 教就部, counted at once for the
    // province: the plan that sets it up was issued on 2019-02-19.
    let (_, groups) = parts(
        app.get(
            &format!("/api/v1/working-groups?org_id={province}"),
            &app.admin_token(),
        )
        .await,
    )
    .await;
    let group = &items(&groups)[0];
    assert_eq!(group["name"], "全省残联东西部扶贫协作工作推进组");
    assert_eq!(
        group["office_org_id"],
        app.org_id("520000-jj").await.to_string()
    );
    assert_eq!(group["established_on"], "2019-02-19");
    assert_eq!(group["members"][0]["role"], "leader");
    let groups_task = task(&plan, "省及受帮扶的8个市（州）残联成立工作推进组");
    assert_eq!(count_of(groups_task, app.org_id("520000").await), 1);
    assert_eq!(groups_task["status"], "overdue");

    // Seeding again adds nothing.
    let again = xiezuo::seed::load(&app.ctx.db).await.expect("seed");
    assert_eq!(again, xiezuo::seed::Seeded::default());
}

#[tokio::test]
async fn a_trip_east_counts_for_the_visit_tasks_and_a_visit_west_for_the_invitations() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let zunyi = app.org_id("520300").await;
    let province = app.org_id("520000").await;
    // 遵义 goes east to consult in Q2; 上海's leaders come west to 遵义 in Q2; the province's
    // leaders go east in Q2; a visit west without leaders; a trip east in Q1 (not Q2).
    for trip in [
        Trip {
            kind: "consultation",
            direction: "west_to_east",
            owner: "520300",
            on: "2019-05-20",
            leaders: false,
        },
        Trip {
            kind: "inspection_visit",
            direction: "east_to_west",
            owner: "520300",
            on: "2019-05-27",
            leaders: true,
        },
        Trip {
            kind: "inspection_visit",
            direction: "west_to_east",
            owner: "520000",
            on: "2019-04-22",
            leaders: true,
        },
        Trip {
            kind: "inspection_visit",
            direction: "east_to_west",
            owner: "520500",
            on: "2019-06-02",
            leaders: false,
        },
        Trip {
            kind: "consultation",
            direction: "west_to_east",
            owner: "520500",
            on: "2019-03-20",
            leaders: false,
        },
    ] {
        insert_exchange(&app, trip).await;
    }
    let plan = seeded_plan(&app, &admin).await;

    // Going east: 遵义's consultation counts, the visits west do not; 毕节's Q1 trip is
    // outside the Q2 task's quarter.
    let visit_east = task(&plan, "省及受帮扶的8个市（州）残联至少一次赴对口帮扶");
    assert_eq!(count_of(visit_east, zunyi), 1, "{visit_east}");
    assert_eq!(count_of(visit_east, app.org_id("520500").await), 0);
    assert_eq!(visit_east["progress_count"], 1);
    assert_eq!(visit_east["status"], "overdue");
    // The province's leaders' visit east is an inspection, with leaders: the yearly task
    // counts it; the invitations west do not.
    let leaders_east = task(&plan, "省残联领导每年安排1次以上");
    assert_eq!(count_of(leaders_east, province), 1);
    assert_eq!(leaders_east["status"], "done");

    // Coming west, with leaders: the Q2 invitation counts 上海's visit to 遵义 only, not the
    // trips east nor the visit without leaders.
    let invite = task(&plan, "邀请东部扶贫协作省及对口帮扶城市残联的领导");
    assert_eq!(invite["progress_count"], 1, "{invite}");
    assert_eq!(invite["status"], "done");
    // The Q3 invitation is per federation and counts from July: nothing yet.
    let invite_q3 = task(&plan, "省及受帮扶的8个市（州）残联邀请东部");
    assert_eq!(invite_q3["progress_count"], 0);
    assert_eq!(count_of(invite_q3, zunyi), 0);
    // The Q3 visit east counts from July too.
    let consult_q3 = task(&plan, "走访对口帮扶省份和城市");
    assert_eq!(consult_q3["progress_count"], 0);
    assert_eq!(consult_q3["status"], "overdue");
}

#[tokio::test]
async fn a_duty_of_each_federation_is_done_only_when_all_nine_are() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let meeting = |owner: &'static str, on: &'static str| Trip {
        kind: "special_meeting",
        direction: "local",
        owner,
        on,
        leaders: false,
    };
    // Seven prefectures meet in Q1; the province's 教就部 meets for the province; 仁怀 (a
    // county under 遵义) and 贵阳 (not assisted) meet too, and 遵义 only in April.
    for code in &PREFECTURES[1..] {
        insert_exchange(&app, meeting(code, "2019-03-12")).await;
    }
    insert_exchange(&app, meeting("520000-jj", "2019-02-28")).await;
    insert_exchange(&app, meeting("520382", "2019-03-01")).await;
    insert_exchange(&app, meeting("520100", "2019-03-01")).await;
    insert_exchange(&app, meeting("520300", "2019-04-02")).await;

    let plan = seeded_plan(&app, &admin).await;
    let t = task(&plan, "召开至少一次专题会议");
    let by_org = t["progress_by_org"].as_array().expect("by org");
    assert_eq!(by_org.len(), 9);
    let zunyi = app.org_id("520300").await;
    for p in by_org {
        let expect = if p["org_id"] == zunyi.to_string() {
            (0, "overdue")
        } else {
            (1, "done")
        };
        assert_eq!(
            (
                p["progress_count"].as_i64().unwrap_or(-1),
                p["status"].as_str().unwrap_or_default()
            ),
            expect,
            "{p}"
        );
    }
    // Eight of nine: not done.
    assert_eq!(t["progress_count"], 8);
    assert_eq!(t["status"], "overdue");
    // A prefecture's list of its own duties finds the task through its targets.
    let (_, mine) = parts(
        app.get(
            &format!("/api/v1/plan-tasks?org_id={zunyi}&quarter=1&status=overdue"),
            &admin,
        )
        .await,
    )
    .await;
    assert!(items(&mine).iter().any(|m| m["id"] == t["id"]), "{mine}");

    // 遵义's own meeting in Q1 completes it.
    insert_exchange(&app, meeting("520300", "2019-03-29")).await;
    let plan = seeded_plan(&app, &admin).await;
    let t = task(&plan, "召开至少一次专题会议");
    assert_eq!(t["progress_count"], 9);
    assert_eq!(t["status"], "done");
}

#[tokio::test]
async fn ledger_tasks_count_the_quarters_submissions_made_by_the_deadline() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    // 遵义 submits Q1 on the due day (Beijing time), 毕节 a day late, 安顺 on time but the
    // province returned it; 遵义's year materials by 1 December.
    insert_submission(&app, "520300", 1, beijing_noon("2019-04-08"), "submitted").await;
    insert_submission(&app, "520500", 1, beijing_noon("2019-04-09"), "submitted").await;
    insert_submission(&app, "520400", 1, beijing_noon("2019-04-03"), "returned").await;
    insert_submission(&app, "520300", 0, beijing_noon("2019-11-28"), "accepted").await;
    // The Q4 ledger, in January of the next year.
    insert_submission(&app, "520300", 4, beijing_noon("2020-01-06"), "submitted").await;

    let plan = seeded_plan(&app, &admin).await;
    let zunyi = app.org_id("520300").await;
    let q1 = task(&plan, "受帮扶的8个市（州）残联报送第一季度台账");
    assert_eq!(count_of(q1, zunyi), 1);
    // Read alone, the task counts ledgers only (one instant-dated branch in the statement).
    let (status, alone) = parts(
        app.get(
            &format!("/api/v1/plan-tasks/{}", q1["id"].as_str().expect("id")),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{alone}");
    assert_eq!(count_of(&alone, zunyi), 1);
    assert_eq!(count_of(q1, app.org_id("520500").await), 0, "late");
    assert_eq!(count_of(q1, app.org_id("520400").await), 0, "returned");
    assert_eq!(q1["status"], "overdue");
    // The Q1 ledger does not count for Q2.
    let q2 = task(&plan, "受帮扶的8个市（州）残联报送第二季度台账");
    assert_eq!(q2["progress_count"], 0);
    let annual = task(&plan, "受帮扶的8个市（州）残联12月1日前报送全年台账");
    assert_eq!(count_of(annual, zunyi), 1);
    assert_eq!(annual["progress_count"], 1);
    let q4 = task(&plan, "受帮扶的8个市（州）残联报送第四季度台账");
    assert_eq!(count_of(q4, zunyi), 1);
}

#[tokio::test]
async fn the_year_end_summary_and_its_innovations_count_for_the_summary_task() {
    let app = spawn_app().await;
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    let plan = seeded_plan(&app, &coordinator).await;
    let path = format!("/api/v1/plans/{}", plan["id"].as_str().expect("id"));
    assert_eq!(
        task(&plan, "做好2019年全省残联东西部扶贫协作总结")["progress_count"],
        0
    );

    // A date without the summary it dates, and an innovation without a title: each named.
    let response = app
        .patch_json(
            &path,
            &coordinator,
            None,
            &json!({"summarized_on": "2019-12-20",
                    "innovations": [{"title": " ", "description": "x"}]}),
        )
        .await;
    let problem = tests::assert_problem(response, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["summarized_on", "innovations[0].title"],
        "{problem}"
    );
    // A summary dated before the plan was issued (2019-02-19).
    let response = app
        .patch_json(
            &path,
            &coordinator,
            None,
            &json!({"summary": "总结", "summarized_on": "2019-01-05"}),
        )
        .await;
    let problem = tests::assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "summarized_on", "{problem}");

    let (status, patched) = parts(
        app.patch_json(&path, &coordinator, None, &json!({"summary": "全年完成帮扶项目，建立季度台账上报制度。",
                    "summarized_on": "2019-12-20",
                    "innovations": [{"title": "台账季度上报", "description": "按季度分类转换PDF报送"}]}))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["innovations"][0]["title"], "台账季度上报");
    let plan = seeded_plan(&app, &coordinator).await;
    let summary = task(&plan, "做好2019年全省残联东西部扶贫协作总结");
    assert_eq!(summary["progress_count"], 1);
    assert_eq!(summary["status"], "done");
}

#[tokio::test]
async fn a_provincial_department_records_projects_on_the_province_pairing_and_cities_cannot_read_them()
 {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let (_, pairings) = parts(
        app.get("/api/v1/pairings?level=province_province", &admin)
            .await,
    )
    .await;
    assert_eq!(items(&pairings).len(), 6, "{pairings}");
    let (_, all) = parts(app.get("/api/v1/pairings", &admin).await).await;
    for p in items(&all) {
        assert_eq!(p["started_on"], "2018-01-01", "{p}");
    }

    let province_pairing = app.pairing_id("310000", "520000").await;
    let centre = app.token(Role::Editor, Some("520000-kfzx"));
    let project = json!({"code": "KF-2019-01", "year": 2019, "title": "康复服务人员赴沪培训",
        "category": "rehabilitation", "pairing_id": province_pairing, "basis": "康复人员不足",
        "items": [{"name": "培训", "unit": "人次", "quantity": 10, "unit_cost_fen": 500_000}],
        "measures": "赴上海培训", "deep_poverty": false, "beneficiaries_planned": 0,
        "budget_fen": 5_000_000});
    let (status, created) = parts(app.post_json("/api/v1/projects", &centre, &project).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["owner_org_id"],
        app.org_id("520000-kfzx").await.to_string()
    );
    let path = format!("/api/v1/projects/{}", created["id"].as_str().expect("id"));

    // Read by the centre, the province, 上海's partner and the read-all roles; not by a city.
    for (role, org, status) in [
        (Role::Editor, Some("520000-kfzx"), StatusCode::OK),
        (Role::Editor, Some("520000"), StatusCode::OK),
        (Role::Partner, Some("310000"), StatusCode::OK),
        (Role::Auditor, None, StatusCode::OK),
        (Role::Editor, Some("520300"), StatusCode::NOT_FOUND),
        (Role::Partner, Some("440100"), StatusCode::NOT_FOUND),
    ] {
        let response = app.get(&path, &app.token(role, org)).await;
        assert_eq!(response.status(), status, "{role:?} {org:?}");
    }
    let (_, listed) = parts(
        app.get("/api/v1/projects", &app.token(Role::Editor, Some("520300")))
            .await,
    )
    .await;
    assert!(items(&listed).iter().all(|p| p["id"] != created["id"]));

    // A department has no part in a city's pairing.
    let mut on_city = project.clone();
    on_city["code"] = json!("KF-2019-02");
    on_city["pairing_id"] = json!(app.pairing_id("310000", "520300").await);
    let response = app.post_json("/api/v1/projects", &centre, &on_city).await;
    let problem = tests::assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "pairing_id");
}

#[tokio::test]
async fn tasks_take_direction_leaders_period_and_targets_only_where_they_mean_something() {
    let app = spawn_app().await;
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    let plan = seeded_plan(&app, &coordinator).await;
    let base = json!({"plan_id": plan["id"], "quarter": 2, "title": "自选：赴上海学习",
        "target_count": 1, "counts_record_type": "agreement", "counts_direction": "west_to_east",
        "counts_leaders": true, "target_org_ids": [app.org_id("310000").await, app.org_id("520300").await, app.org_id("520300").await]});
    let response = app
        .post_json("/api/v1/plan-tasks", &coordinator, &base)
        .await;
    let problem = tests::assert_problem(response, 422, "validation_failed").await;
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    fields.sort();
    fields.dedup();
    assert_eq!(
        fields,
        ["counts_direction", "counts_leaders", "target_org_ids"],
        "{problem}"
    );
    // Due before its own quarter starts.
    let response = app
        .post_json(
            "/api/v1/plan-tasks",
            &coordinator,
            &json!({"plan_id": plan["id"], "quarter": 3, "title": "三季度", "due_on": "2019-05-31"}),
        )
        .await;
    let problem = tests::assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "due_on", "{problem}");
    // A plan or ledger task must say which: issued or summarized, quarterly or annual.
    let response = app
        .post_json(
            "/api/v1/plan-tasks",
            &coordinator,
            &json!({"plan_id": plan["id"], "quarter": 2, "title": "方案", "target_count": 1,
                    "counts_record_type": "ledger_submission"}),
        )
        .await;
    let problem = tests::assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "counts_kind");

    // A self-chosen task (自选动作) for two prefectures, counting trips east with leaders.
    let (zunyi, bijie) = (app.org_id("520300").await, app.org_id("520500").await);
    let (status, created) = parts(
        app.post_json(
            "/api/v1/plan-tasks",
            &coordinator,
            &json!({"plan_id": plan["id"], "quarter": 2, "title": "自选：领导赴东部学习",
                    "target_count": 1, "counts_record_type": "exchange",
                    "counts_direction": "west_to_east", "counts_leaders": true,
                    "counts_period": "year", "mandatory": false,
                    "target_org_ids": [zunyi, bijie]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["mandatory"], false);
    insert_exchange(
        &app,
        Trip {
            kind: "training",
            direction: "west_to_east",
            owner: "520300",
            on: "2019-02-10",
            leaders: true,
        },
    )
    .await;
    let (_, read) = parts(
        app.get(
            &format!("/api/v1/plan-tasks/{}", created["id"].as_str().expect("id")),
            &coordinator,
        )
        .await,
    )
    .await;
    // The year counts, from January.
    assert_eq!(count_of(&read, zunyi), 1, "{read}");
    assert_eq!(count_of(&read, bijie), 0);
    assert_eq!(read["status"], "overdue");
    let (_, chosen) = parts(
        app.get("/api/v1/plan-tasks?mandatory=false", &coordinator)
            .await,
    )
    .await;
    assert_eq!(items(&chosen).len(), 1);

    // Overlapping targets (the province and its 教就部) count each record once in the total.
    let (province, office) = (app.org_id("520000").await, app.org_id("520000-jj").await);
    let (status, overlapping) = parts(
        app.post_json(
            "/api/v1/plan-tasks",
            &coordinator,
            &json!({"plan_id": plan["id"], "quarter": 1, "title": "自选：部室培训",
                    "target_count": 1, "counts_record_type": "exchange",
                    "counts_kind": "training", "target_org_ids": [province, office]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{overlapping}");
    insert_exchange(
        &app,
        Trip {
            kind: "training",
            direction: "local",
            owner: "520000-jj",
            on: "2019-03-01",
            leaders: false,
        },
    )
    .await;
    let (_, overlapping) = parts(
        app.get(
            &format!(
                "/api/v1/plan-tasks/{}",
                overlapping["id"].as_str().expect("id")
            ),
            &coordinator,
        )
        .await,
    )
    .await;
    assert_eq!(count_of(&overlapping, province), 1);
    assert_eq!(count_of(&overlapping, office), 1);
    assert_eq!(overlapping["progress_count"], 1, "{overlapping}");
    assert_eq!(overlapping["status"], "done");

    // Dropping 毕节 from the targets makes it done.
    let (status, patched) = parts(
        app.patch_json(
            &format!("/api/v1/plan-tasks/{}", created["id"].as_str().expect("id")),
            &coordinator,
            None,
            &json!({"target_org_ids": [zunyi]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["status"], "done");
    assert_eq!(patched["target_org_ids"], json!([zunyi]));
}

/// Each seeded task's status on a fresh demo, and why: nothing the records contradict.
const DEMO_STATUSES: &[(&str, &str, &str)] = &[
    (
        "省及受帮扶的8个市（州）残联成立工作推进组",
        "overdue",
        "the province (seeded), 遵义 and 毕节 set up groups in Q1; six prefectures have none recorded",
    ),
    (
        "开展2019年帮扶项目调研",
        "not_tracked",
        "research leaves no record",
    ),
    (
        "制定年度工作方案",
        "overdue",
        "遵义 and 毕节 issued plans on 3-01; six prefectures have none",
    ),
    (
        "编制拟帮扶清单",
        "not_tracked",
        "the list is the projects, which carry no date of listing",
    ),
    (
        "召开至少一次专题会议",
        "overdue",
        "遵义 and 毕节 met on 3-12; the province and six prefectures recorded no meeting",
    ),
    (
        "条件成熟的市（州）",
        "not_tracked",
        "conditional: no prefecture is bound to it",
    ),
    (
        "受帮扶的8个市（州）残联报送第一季度台账",
        "overdue",
        "the demo submits no ledger",
    ),
    (
        "受帮扶的8个市（州）残联完成2018年度",
        "not_tracked",
        "2018 projects lie outside the 2019 plan",
    ),
    (
        "省及受帮扶的8个市（州）残联至少一次赴对口帮扶",
        "overdue",
        "遵义 and 毕节 went east to consult on 5-20; the province's trip east was an inspection",
    ),
    (
        "省残联协调东部帮扶省、市残联",
        "done",
        "the province's joint meeting with 上海 on 6-05",
    ),
    (
        "力争签订",
        "done",
        "the province-level agreement signed on 6-05",
    ),
    (
        "与东部对口帮扶城市建立定期互访",
        "not_tracked",
        "a mechanism, not a record",
    ),
    (
        "邀请东部扶贫协作省及对口帮扶城市残联的领导",
        "overdue",
        "the eastern leaders' visits west came on 8-26, in Q3",
    ),
    (
        "根据东部协作省份经费到位情况及时启动帮扶项目",
        "not_tracked",
        "no count the seed states",
    ),
    (
        "受帮扶的8个市（州）残联报送第二季度台账",
        "overdue",
        "no ledger submitted",
    ),
    (
        "省及受帮扶的8个市（州）残联邀请东部",
        "overdue",
        "遵义 and 毕节 hosted eastern leaders on 8-26; the province and six prefectures did not",
    ),
    (
        "根据东部协作省份经费到位情况及时启动并抓好",
        "not_tracked",
        "no count the seed states",
    ),
    (
        "准确评估任务清单落实情况",
        "not_tracked",
        "an assessment leaves no countable record",
    ),
    (
        "走访对口帮扶省份和城市",
        "overdue",
        "no consultation east in Q3 (the Q3 trips east were a training)",
    ),
    (
        "省残联或受帮扶的8个市（州）残联召开",
        "done",
        "遵义 and 毕节 held work meetings on 9-20",
    ),
    (
        "受帮扶的8个市（州）残联报送第三季度台账",
        "overdue",
        "no ledger submitted",
    ),
    ("按照进展要求", "not_tracked", "no count the seed states"),
    (
        "做好2019年全省残联东西部扶贫协作总结",
        "overdue",
        "the province plan has no summary",
    ),
    ("研究谋划2020年", "not_tracked", "no count the seed states"),
    (
        "各级残联按照职责",
        "overdue",
        "no self-assessment submitted",
    ),
    (
        "受帮扶的8个市（州）残联12月1日前报送全年台账",
        "overdue",
        "no year's materials submitted",
    ),
    (
        "省残联领导每年安排1次以上",
        "done",
        "the province's leaders visited 上海 on 4-22",
    ),
    (
        "受帮扶的8个市（州）残联报送第四季度台账",
        "overdue",
        "no ledger submitted",
    ),
];

#[tokio::test]
async fn the_demo_plan_progress_states_nothing_its_records_contradict() {
    let app = tests::spawn_app_with(|c| c.demo_on_start = true).await;
    let plan = seeded_plan(&app, &app.admin_token()).await;
    let mut seen = Vec::new();
    for t in plan["tasks"].as_array().expect("tasks") {
        let by_org: Vec<String> = t["progress_by_org"]
            .as_array()
            .expect("by org")
            .iter()
            .map(|p| p["progress_count"].to_string())
            .collect();
        seen.push(format!(
            "{} | {} | {} | {}",
            t["title"].as_str().unwrap_or_default(),
            t["status"].as_str().unwrap_or_default(),
            t["progress_count"],
            by_org.join(",")
        ));
    }
    for (prefix, status, why) in DEMO_STATUSES {
        assert_eq!(task(&plan, prefix)["status"], *status, "{prefix}: {why}");
    }
    assert_eq!(DEMO_STATUSES.len(), EXPECTED.len(), "{}", seen.join("\n"));
}

/// Turns the seeded plan into what earlier versions seeded: no document metadata, 22 tasks at
/// version 1 counting over the province's tree, no target organizations.
async fn as_earlier_seed(app: &TestApp) -> Uuid {
    use entity::{plan, plan_task, plan_task_org};
    use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter};
    let province = app.org_id("520000").await;
    let old = plan::Entity::find()
        .filter(plan::Column::OrgId.eq(province))
        .one(&app.ctx.db)
        .await
        .expect("plan")
        .expect("seeded plan");
    let tasks: Vec<Uuid> = plan_task::Entity::find()
        .filter(plan_task::Column::PlanId.eq(old.id))
        .all(&app.ctx.db)
        .await
        .expect("tasks")
        .into_iter()
        .map(|t| t.id)
        .collect();
    plan_task_org::Entity::delete_many()
        .filter(plan_task_org::Column::TaskId.is_in(tasks))
        .exec(&app.ctx.db)
        .await
        .expect("targets");
    plan_task::Entity::delete_many()
        .filter(plan_task::Column::PlanId.eq(old.id))
        .exec(&app.ctx.db)
        .await
        .expect("tasks");
    let at = Utc::now();
    let rows = (0..22).map(|i| plan_task::ActiveModel {
        id: Set(Uuid::now_v7()),
        plan_id: Set(old.id),
        quarter: Set(i % 4 + 1),
        title: Set(format!("旧任务{i}")),
        due_on: Set(day("2019-12-31")),
        responsible_org_id: Set(province),
        target_count: Set(1),
        counts_record_type: Set(Some("exchange".into())),
        counts_kind: Set(None),
        counts_direction: Set(None),
        counts_leaders: Set(false),
        counts_period: Set("year".into()),
        mandatory: Set(true),
        version: Set(1),
        owner_org_id: Set(province),
        external_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    });
    plan_task::Entity::insert_many(rows)
        .exec_without_returning(&app.ctx.db)
        .await
        .expect("old tasks");
    let mut model: plan::ActiveModel = old.clone().into();
    model.document_no = Set(None);
    model.issued_on = Set(None);
    model.issuer = Set(None);
    model.addressees = Set(None);
    model.goals = Set(None);
    model.contents = Set(None);
    model.update(&app.ctx.db).await.expect("old plan");
    old.id
}

#[tokio::test]
async fn an_earlier_seeds_plan_nobody_changed_gets_these_tasks_and_a_changed_one_is_kept() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let id = as_earlier_seed(&app).await;
    let seeded = xiezuo::seed::load(&app.ctx.db).await.expect("seed");
    assert_eq!(
        (seeded.plans_upgraded, seeded.plan_tasks),
        (1, EXPECTED.len())
    );
    let plan = seeded_plan(&app, &admin).await;
    assert_eq!(plan["id"], id.to_string());
    assert_eq!(plan["version"], 2);
    assert_eq!(plan["document_no"], "黔残联办发〔2019〕8号");
    assert_eq!(plan["tasks"].as_array().map(Vec::len), Some(EXPECTED.len()));
    // Once is enough.
    assert_eq!(
        xiezuo::seed::load(&app.ctx.db).await.expect("seed"),
        xiezuo::seed::Seeded::default()
    );

    // A plan someone has changed is theirs: left alone.
    let app = spawn_app().await;
    as_earlier_seed(&app).await;
    let plan = seeded_plan(&app, &app.admin_token()).await;
    let task_id = plan["tasks"][0]["id"].as_str().expect("id").to_string();
    let (status, _) = parts(
        app.patch_json(
            &format!("/api/v1/plan-tasks/{task_id}"),
            &app.admin_token(),
            None,
            &json!({"title": "改过的任务"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let seeded = xiezuo::seed::load(&app.ctx.db).await.expect("seed");
    assert_eq!(seeded.plans_upgraded, 0);
    let plan = seeded_plan(&app, &app.admin_token()).await;
    assert_eq!(plan["tasks"].as_array().map(Vec::len), Some(22));
}
