//! Plans and plan tasks (年度工作方案): the seeded 2019 plan, CRUD with versions and audit,
//! validation, who may write, and progress and status computed from the records themselves.

use chrono::{Datelike, NaiveDate};
use entity::{agreement, exchange};
use reqwest::StatusCode;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

fn id_of(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

fn task_path(v: &Value) -> String {
    format!("/api/v1/plan-tasks/{}", id_of(v))
}

fn plan_path(v: &Value) -> String {
    format!("/api/v1/plans/{}", id_of(v))
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str().map(str::to_string))
        .collect()
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// The seeded province plan, with its tasks, read by `token`.
pub(crate) async fn seeded_plan(app: &TestApp, token: &str) -> Value {
    let province = app.org_id("520000").await;
    let (status, list) = parts(
        app.get(&format!("/api/v1/plans?org_id={province}&year=2019"), token)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let plans = items(&list);
    assert_eq!(plans.len(), 1, "{list}");
    let (status, plan) = parts(app.get(&plan_path(&plans[0]), token).await).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    plan
}

/// The one task of `plan` whose title starts with `prefix`.
pub(crate) fn task<'a>(plan: &'a Value, prefix: &str) -> &'a Value {
    let found: Vec<&Value> = plan["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["title"].as_str().is_some_and(|s| s.starts_with(prefix)))
        .collect();
    assert_eq!(found.len(), 1, "one task starts with {prefix}");
    found[0]
}

/// An exchange written straight into the table, as the plan counts it.
async fn insert_exchange(app: &TestApp, kind: &str, owner: &str, on: &str, deleted: bool) {
    let owner = app.org_id(owner).await;
    let at = chrono::Utc::now();
    exchange::Entity::insert(exchange::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(kind.into()),
        direction: Set("local".into()),
        pairing_id: Set(None),
        host_org_id: Set(owner),
        start_on: Set(day(on)),
        end_on: Set(day(on)),
        leaders_present: Set(json!([])),
        participants: Set(None),
        summary: Set(None),
        version: Set(1),
        owner_org_id: Set(owner),
        external_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(deleted.then_some(at)),
    })
    .exec_without_returning(&app.ctx.db)
    .await
    .expect("insert exchange");
}

#[tokio::test]
async fn a_fresh_seed_shows_every_counted_task_overdue_and_pages_by_status() {
    // Task by task against the work plan: `plan_seed.rs`.
    let app = spawn_app().await;
    let admin = app.admin_token();
    let plan = seeded_plan(&app, &admin).await;
    let tasks = plan["tasks"].as_array().expect("tasks");
    // Nothing is recorded but the seeded province working group: every counted task is
    // overdue; a task the plan gives no countable target is not tracked (never "done" without
    // a record behind it).
    let mut counted = 0;
    for t in tasks {
        if t["target_count"] == 0 {
            assert_eq!(t["status"], "not_tracked", "{t}");
        } else {
            counted += 1;
            assert_eq!(t["status"], "overdue", "{t}");
        }
    }
    assert_eq!((tasks.len(), counted), (28, 18));

    // The overdue ones are a filter away, across quarters.
    let (_, overdue) = parts(
        app.get(
            "/api/v1/plan-tasks?year=2019&status=overdue&limit=3",
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(items(&overdue).len(), 3);
    let cursor = overdue["next_cursor"].as_str().expect("more");
    let (_, rest) = parts(
        app.get(
            &format!("/api/v1/plan-tasks?year=2019&status=overdue&cursor={cursor}"),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(items(&rest).len(), 15);
    assert!(rest["next_cursor"].is_null());
}

#[tokio::test]
async fn progress_counts_the_responsible_subtree_within_the_year_up_to_the_due_date() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    let (status, zunyi_plan) = parts(
        app.post_json(
            "/api/v1/plans",
            &coordinator,
            &json!({"org_id": app.org_id("520300").await, "year": 2019, "title": "遵义市2019年工作方案"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{zunyi_plan}");
    let mut created = Vec::new();
    for (quarter, title, target, counts, kind) in [
        (
            1,
            "召开专题会议",
            1,
            Some("exchange"),
            Some("special_meeting"),
        ),
        (
            2,
            "召开联席会议",
            1,
            Some("exchange"),
            Some("joint_meeting"),
        ),
        (2, "签订协议书", 1, Some("agreement"), None),
        (2, "邀请考察", 1, Some("exchange"), Some("inspection_visit")),
        (2, "编制清单", 0, None, None),
        (2, "赴上海考察", 3, Some("exchange"), None),
    ] {
        let (status, task) = parts(
            app.post_json(
                "/api/v1/plan-tasks",
                &coordinator,
                &json!({"plan_id": zunyi_plan["id"], "quarter": quarter, "title": title,
                        "target_count": target, "counts_record_type": counts,
                        "counts_kind": kind}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        assert_eq!(task["counts_period"], "year");
        created.push(task);
    }

    // Counted: a special meeting of 仁怀 (under 遵义) in Q1.
    insert_exchange(&app, "special_meeting", "520382", "2019-03-10", false).await;
    // Not counted for Q1: after the due date, deleted, the year before, not under 遵义.
    insert_exchange(&app, "special_meeting", "520300", "2019-04-02", false).await;
    insert_exchange(&app, "special_meeting", "520300", "2019-02-01", true).await;
    insert_exchange(&app, "special_meeting", "520300", "2018-12-31", false).await;
    insert_exchange(&app, "special_meeting", "520600", "2019-02-01", false).await;
    // A joint meeting held by 遵义 on the last day of Q2.
    insert_exchange(&app, "joint_meeting", "520300", "2019-06-30", false).await;
    // An inspection visit recorded through the API by 遵义.
    let (status, visit) = parts(
        app.post_json(
            "/api/v1/exchanges",
            &app.token(Role::Editor, Some("520300")),
            &json!({"kind": "inspection_visit", "direction": "east_to_west",
                    "pairing_id": app.pairing_id("310000", "520300").await,
                    "host_org_id": app.org_id("520300").await,
                    "visiting_org_ids": [app.org_id("310000").await],
                    "start_on": "2019-04-08", "end_on": "2019-04-10",
                    "leaders_present": ["上海市残联理事长"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    // The agreement, signed by 遵义 in Q3: too late for its Q2 task.
    let at = chrono::Utc::now();
    agreement::Entity::insert(agreement::ActiveModel {
        id: Set(Uuid::now_v7()),
        pairing_id: Set(app.pairing_id("310000", "520300").await),
        title: Set("残联系统东西部扶贫协作协议书".into()),
        signed_on: Set(day("2019-07-15")),
        committed_fen: Set(10_000_000),
        summary: Set(None),
        version: Set(1),
        owner_org_id: Set(app.org_id("520300").await),
        external_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec_without_returning(&app.ctx.db)
    .await
    .expect("insert agreement");

    let (_, plan) = parts(app.get(&plan_path(&zunyi_plan), &admin).await).await;
    let expect = [
        ("召开专题会议", 1, "done"),
        ("召开联席会议", 1, "done"),
        ("签订协议书", 0, "overdue"),
        ("邀请考察", 1, "done"),
        ("编制清单", 0, "not_tracked"),
        // Every kind counts when none is named: 仁怀's Q1 meeting, the April meeting, the
        // joint meeting and the visit.
        ("赴上海考察", 4, "done"),
    ];
    for (prefix, progress, status) in expect {
        let t = task(&plan, prefix);
        assert_eq!(t["progress_count"], progress, "{prefix}: {t}");
        assert_eq!(t["status"], status, "{prefix}: {t}");
    }

    // The same figures on a single task, in the list, and in GraphQL.
    let meeting = task(&plan, "召开专题会议");
    let (_, one) = parts(app.get(&task_path(meeting), &admin).await).await;
    assert_eq!(one["progress_count"], 1);
    let of_plan = format!("/api/v1/plan-tasks?plan_id={}", id_of(&zunyi_plan));
    for (status, n) in [
        ("done", 4),
        ("overdue", 1),
        ("not_tracked", 1),
        ("pending", 0),
    ] {
        let (_, listed) = parts(app.get(&format!("{of_plan}&status={status}"), &admin).await).await;
        assert_eq!(items(&listed).len(), n, "{status}: {listed}");
    }

    let query = r#"query { plans(filter: {year: 2019}) { edges { node {
        title organization { code }
        tasks { quarter title progressCount targetCount status countsRecordType plan { title } responsibleOrganization { code } }
    } } } }"#;
    let (body, statements) = app
        .statements_during(app.gql(&admin, query, json!({})))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let edges = body["data"]["plans"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[0]["node"]["tasks"].as_array().map(Vec::len), Some(28));
    let zunyi_tasks = edges[1]["node"]["tasks"].as_array().expect("tasks");
    assert_eq!(zunyi_tasks[0]["progressCount"], 1);
    assert_eq!(zunyi_tasks[0]["status"], "done");
    assert_eq!(zunyi_tasks[0]["countsRecordType"], "exchange");
    assert_eq!(zunyi_tasks[0]["plan"]["title"], "遵义市2019年工作方案");
    assert_eq!(zunyi_tasks[0]["responsibleOrganization"]["code"], "520300");
    // Plans, organizations, tasks, their target organizations, one counting statement, plans.
    assert!(statements <= 10, "{statements} statements");
}

#[tokio::test]
async fn task_lists_cost_a_bounded_number_of_statements() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    insert_exchange(&app, "special_meeting", "520300", "2019-03-10", false).await;
    let mut costs = Vec::new();
    for limit in [2, 28] {
        let ((status, page), statements) = app
            .statements_during(async {
                parts(
                    app.get(&format!("/api/v1/plan-tasks?limit={limit}"), &admin)
                        .await,
                )
                .await
            })
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(items(&page).len(), limit);
        costs.push(statements);
    }
    // With only uncounted tasks on the first page there is less to count; never more.
    assert!(costs[0] <= costs[1], "{costs:?}");
    assert!(costs[1] <= 6, "{costs:?}");
    let (_, statements) = app
        .statements_during(async {
            let plan = seeded_plan(&app, &admin).await;
            assert_eq!(plan["tasks"].as_array().map(Vec::len), Some(28));
        })
        .await;
    assert!(statements <= 10, "{statements}");
}

#[tokio::test]
async fn plans_and_tasks_are_created_changed_and_deleted_with_versions_and_audit() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let zunyi = app.org_id("520300").await;
    let next_year = chrono::Utc::now().year() + 1;

    let response = app
        .post_json(
            "/api/v1/plans",
            &editor,
            &json!({"org_id": zunyi, "year": next_year, "title": "遵义市残联东西部扶贫协作工作方案"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(tests::etag_version(&response), 1);
    let plan: Value = response.json().await.expect("plan");
    assert_eq!(plan["owner_org_id"], zunyi.to_string());
    let conflict = assert_problem(
        app.post_json(
            "/api/v1/plans",
            &editor,
            &json!({"org_id": zunyi, "year": next_year, "title": "again"}),
        )
        .await,
        409,
        "duplicate",
    )
    .await;
    assert_eq!(conflict["field"], "year");

    // Defaults: due at the quarter's end, the plan's organization responsible, no target.
    let response = app
        .post_json(
            "/api/v1/plan-tasks",
            &editor,
            &json!({"plan_id": plan["id"], "quarter": 1, "title": "召开专题会议",
                    "target_count": 1, "counts_record_type": "exchange", "counts_kind": "special_meeting"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(tests::etag_version(&response), 1);
    let created: Value = response.json().await.expect("task");
    assert_eq!(created["due_on"], format!("{next_year}-03-31"));
    assert_eq!(created["responsible_org_id"], zunyi.to_string());
    assert_eq!(created["progress_count"], 0);
    assert_eq!(created["status"], "pending");

    let stale = assert_problem(
        app.patch_json(
            &task_path(&created),
            &editor,
            Some(3),
            &json!({"target_count": 2}),
        )
        .await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(stale["current_version"], 1);
    let renhuai = app.org_id("520382").await;
    let response = app
        .patch_json(
            &task_path(&created),
            &editor,
            Some(1),
            &json!({"target_count": 0, "responsible_org_id": renhuai, "counts_kind": null,
                    "counts_record_type": null}),
        )
        .await;
    assert_eq!(tests::etag_version(&response), 2);
    let changed: Value = response.json().await.expect("task");
    assert_eq!(changed["responsible_org_id"], renhuai.to_string());
    assert!(changed["counts_record_type"].is_null());
    // Nothing to count any more: not tracked.
    assert_eq!(changed["status"], "not_tracked");
    // Progress and status are computed, never taken.
    let body = assert_problem(
        app.patch_json(
            &task_path(&created),
            &editor,
            None,
            &json!({"status": "done"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), ["status"]);

    let (_, plan_read) = parts(app.get(&plan_path(&plan), &editor).await).await;
    assert_eq!(plan_read["tasks"][0]["id"], created["id"]);
    let response = app
        .patch_json(
            &plan_path(&plan),
            &editor,
            Some(1),
            &json!({"title": "改后的方案"}),
        )
        .await;
    assert_eq!(tests::etag_version(&response), 2);

    assert_eq!(
        app.delete(&task_path(&created), &editor, Some(2))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        app.get(&task_path(&created), &editor).await,
        404,
        "not_found",
    )
    .await;
    let (_, log) = parts(
        app.get(
            &format!(
                "/api/v1/audit-log?record_type=plan_task&record_id={}",
                id_of(&created)
            ),
            &app.admin_token(),
        )
        .await,
    )
    .await;
    let entries = items(&log);
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["create", "update", "delete"]);
    assert_eq!(entries[0]["after"], created);
    assert_eq!(entries[1]["after"], changed);

    // Deleting a plan takes its tasks with it.
    let (_, second) = parts(
        app.post_json(
            "/api/v1/plan-tasks",
            &editor,
            &json!({"plan_id": plan["id"], "quarter": 4, "title": "年度总结"}),
        )
        .await,
    )
    .await;
    assert_problem(
        app.delete(&plan_path(&plan), &editor, Some(1)).await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(
        app.delete(&plan_path(&plan), &editor, Some(2))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        app.get(&task_path(&second), &editor).await,
        404,
        "not_found",
    )
    .await;
    let (_, log) = parts(
        app.get(
            &format!(
                "/api/v1/audit-log?record_type=plan_task&record_id={}",
                id_of(&second)
            ),
            &app.admin_token(),
        )
        .await,
    )
    .await;
    let actions: Vec<Value> = items(&log).iter().map(|e| e["action"].clone()).collect();
    assert_eq!(actions, [json!("create"), json!("delete")]);
    // The year is free again.
    let (status, _) = parts(
        app.post_json(
            "/api/v1/plans",
            &editor,
            &json!({"org_id": zunyi, "year": next_year, "title": "重新制定"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn bad_plans_and_tasks_name_every_field() {
    let app = spawn_app().await;
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    let body = assert_problem(
        app.post_json(
            "/api/v1/plans",
            &coordinator,
            &json!({"org_id": Uuid::now_v7(), "year": 1999, "title": " "}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), ["org_id", "year", "title"]);

    let (_, plan) = parts(
        app.post_json(
            "/api/v1/plans",
            &coordinator,
            &json!({"org_id": app.org_id("520300").await, "year": 2019, "title": "遵义方案"}),
        )
        .await,
    )
    .await;
    let body = assert_problem(
        app.post_json(
            "/api/v1/plan-tasks",
            &coordinator,
            &json!({"plan_id": plan["id"], "quarter": 5, "title": "", "due_on": "2020-04-01",
                    "responsible_org_id": app.org_id("520600").await, "target_count": 2,
                    "counts_kind": "special_meeting"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        fields(&body),
        [
            "title",
            "quarter",
            "due_on",
            "responsible_org_id",
            "counts_record_type",
            "counts_kind"
        ]
    );
    for (record_type, kind) in [
        ("exchange", "arrival"),
        ("agreement", "signed"),
        ("project", "special_meeting"),
    ] {
        let body = assert_problem(
            app.post_json(
                "/api/v1/plan-tasks",
                &coordinator,
                &json!({"plan_id": plan["id"], "quarter": 1, "title": "t",
                        "counts_record_type": record_type, "counts_kind": kind}),
            )
            .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(fields(&body), ["counts_kind"], "{record_type}/{kind}");
    }
    let body = assert_problem(
        app.post_json(
            "/api/v1/plan-tasks",
            &coordinator,
            &json!({"plan_id": plan["id"], "quarter": 1, "title": "t", "target_count": -1,
                    "counts_record_type": "meeting"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), ["counts_record_type"]);
    let body = assert_problem(
        app.post_json(
            "/api/v1/plan-tasks",
            &coordinator,
            &json!({"plan_id": plan["id"], "quarter": 1, "title": "t", "target_count": -1}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), ["target_count"]);
    let body = assert_problem(
        app.post_json(
            "/api/v1/plan-tasks",
            &coordinator,
            &json!({"plan_id": Uuid::now_v7(), "quarter": 1, "title": "t"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), ["plan_id"]);
    let body = assert_problem(
        app.get("/api/v1/plan-tasks?quarter=0&year=3000", &coordinator)
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), ["year", "quarter"]);
    // Fund transactions and projects count by their own kinds.
    for (record_type, kind) in [("fund_transaction", "arrival"), ("project", "in_progress")] {
        let (status, body) = parts(
            app.post_json(
                "/api/v1/plan-tasks",
                &coordinator,
                &json!({"plan_id": plan["id"], "quarter": 3, "title": "t", "target_count": 1,
                        "counts_record_type": record_type, "counts_kind": kind}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "overdue");
    }
}

#[tokio::test]
async fn who_may_write_plans_and_their_tasks() {
    let app = spawn_app().await;
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    let (_, zunyi_plan) = parts(
        app.post_json(
            "/api/v1/plans",
            &coordinator,
            &json!({"org_id": app.org_id("520300").await, "year": 2019, "title": "遵义方案"}),
        )
        .await,
    )
    .await;
    let (_, zunyi_task) = parts(
        app.post_json(
            "/api/v1/plan-tasks",
            &coordinator,
            &json!({"plan_id": zunyi_plan["id"], "quarter": 1, "title": "成立工作推进小组"}),
        )
        .await,
    )
    .await;
    let province_plan = seeded_plan(&app, &coordinator).await;
    let province_task = &province_plan["tasks"][0];
    let tongren = app.token(Role::Editor, Some("520600"));
    let auditor = app.token(Role::Auditor, Some("520000"));
    let shanghai = app.token(Role::Partner, Some("310000"));
    let change = json!({"title": "改"});

    // 铜仁 may not read 遵义's plan: its tasks are not found, and it cannot add any.
    assert_problem(
        app.get(&task_path(&zunyi_task), &tongren).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.patch_json(&task_path(&zunyi_task), &tongren, None, &change)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.delete(&task_path(&zunyi_task), &tongren, None).await,
        404,
        "not_found",
    )
    .await;
    let body = assert_problem(
        app.post_json(
            "/api/v1/plan-tasks",
            &tongren,
            &json!({"plan_id": zunyi_plan["id"], "quarter": 1, "title": "t"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), ["plan_id"]);
    let (_, list) = parts(
        app.get(
            &format!("/api/v1/plan-tasks?plan_id={}", id_of(&zunyi_plan)),
            &tongren,
        )
        .await,
    )
    .await;
    assert!(items(&list).is_empty());
    // It reads the province's plan (its parent) but may not change it.
    assert_problem(
        app.patch_json(&task_path(province_task), &tongren, None, &change)
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post_json(
            "/api/v1/plan-tasks",
            &tongren,
            &json!({"plan_id": province_plan["id"], "quarter": 1, "title": "t"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post_json(
            "/api/v1/plans",
            &tongren,
            &json!({"org_id": app.org_id("520300").await, "year": 2020, "title": "t"}),
        )
        .await,
        // 遵义 is not an organization 铜仁 can see: no such organization, not "forbidden".
        422,
        "validation_failed",
    )
    .await;

    // The auditor and 上海 read 遵义's plan and write nothing.
    for token in [&auditor, &shanghai] {
        let (status, read) = parts(app.get(&plan_path(&zunyi_plan), token).await).await;
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(read["tasks"].as_array().map(Vec::len), Some(1));
        assert_problem(
            app.patch_json(&task_path(&zunyi_task), token, None, &change)
                .await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(
            app.delete(&plan_path(&zunyi_plan), token, None).await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(
            app.post_json(
                "/api/v1/plan-tasks",
                token,
                &json!({"plan_id": zunyi_plan["id"], "quarter": 1, "title": "t"}),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
    }
    assert_problem(
        app.post_json(
            "/api/v1/plans",
            &auditor,
            &json!({"org_id": app.org_id("520300").await, "year": 2020, "title": "t"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // 上海 is the province's partner too (their province-level pairing) and reads its plan;
    // 大连, only 六盘水's partner, does not see it at all.
    let (status, _) = parts(app.get(&plan_path(&province_plan), &shanghai).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_problem(
        app.get(
            &plan_path(&province_plan),
            &app.token(Role::Partner, Some("210200")),
        )
        .await,
        404,
        "not_found",
    )
    .await;

    // 遵义's editor writes its own plan's tasks; 仁怀's editor (below it) does not.
    let (status, _) = parts(
        app.patch_json(
            &task_path(&zunyi_task),
            &app.token(Role::Editor, Some("520300")),
            None,
            &change,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_problem(
        app.patch_json(
            &task_path(&zunyi_task),
            &app.token(Role::Editor, Some("520382")),
            None,
            &change,
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    // GraphQL: the same rules, the same codes.
    let body = app
        .gql(
            &tongren,
            "mutation($id: UUID!) { updatePlanTask(id: $id, input: {title: \"x\"}) { id } }",
            json!({"id": province_task["id"]}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "forbidden");
    let body = app
        .gql(
            &tongren,
            "query($id: UUID!) { planTask(id: $id) { id } }",
            json!({"id": zunyi_task["id"]}),
        )
        .await;
    assert!(body["data"]["planTask"].is_null(), "{body}");
    let body = app
        .gql(
            &coordinator,
            "mutation($id: UUID!) { updatePlanTask(id: $id, input: {quarter: 9}, expectedVersion: 2) { id } }",
            json!({"id": zunyi_task["id"]}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "validation_failed");
    assert_eq!(
        body["errors"][0]["extensions"]["errors"][0]["field"],
        "quarter"
    );
}
