//! Projects and fund transactions: lifecycle, money rules and totals, the role × org matrix,
//! concurrency, pagination, idempotency, batching.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app};
use xiezuo::domain::Role;

struct Setup {
    /// Editor of 遵义.
    zunyi: String,
    /// Partner of 上海.
    shanghai: String,
    pairing: String,
}

async fn setup(app: &TestApp) -> Setup {
    Setup {
        zunyi: app.token(Role::Editor, Some("520300")),
        shanghai: app.token(Role::Partner, Some("310000")),
        pairing: app.pairing_id("310000", "520300").await.to_string(),
    }
}

fn project_body(code: &str, pairing: &str) -> Value {
    json!({
        "code": code, "year": 2019, "title": "遵义市残疾人康复托养中心设备", "category": "care_facility",
        "pairing_id": pairing, "basis": "托养中心缺少康复设备", "measures": "上海残联资助采购，遵义残联实施",
        "quantity": "设备2套", "deep_poverty": true, "beneficiaries_planned": 120, "budget_fen": 50_000_000,
        "items": [{"name": "康复训练设备", "unit": "套", "quantity": 2, "unit_cost_fen": 25_000_000}],
        "milestones": [{"title": "完成采购", "due_on": "2019-06-30"}],
        "start_on": "2019-04-01", "end_on": "2019-12-31"
    })
}

async fn create_project(app: &TestApp, token: &str, code: &str, pairing: &str) -> Value {
    let (status, body) = parts(
        app.post_json("/api/v1/projects", token, &project_body(code, pairing))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn money(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    parts(
        app.post_json("/api/v1/fund-transactions", token, &body)
            .await,
    )
    .await
}

fn tx(kind: &str, amount: i64, pairing: &str, project: &Value, voucher: &str) -> Value {
    json!({"kind": kind, "amount_fen": amount, "occurred_on": "2019-05-10", "pairing_id": pairing,
           "project_id": project["id"], "voucher_no": voucher})
}

async fn set_status(
    app: &TestApp,
    token: &str,
    project: &Value,
    status: &str,
) -> (StatusCode, Value) {
    let path = format!("/api/v1/projects/{}", project["id"].as_str().unwrap_or(""));
    parts(
        app.patch_json(&path, token, None, &json!({"status": status}))
            .await,
    )
    .await
}

#[tokio::test]
async fn lifecycle_follows_the_money() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let p = create_project(&app, &s.zunyi, "ZY-2019-001", &s.pairing).await;
    assert_eq!(p["status"], "proposed");
    assert_eq!(p["pledged_fen"], 0);

    // proposed → in_progress skips the lifecycle.
    let (status, body) = set_status(&app, &s.zunyi, &p, "in_progress").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    assert_eq!(
        set_status(&app, &s.zunyi, &p, "agreed").await.0,
        StatusCode::OK
    );
    // funded needs a pledge.
    let (status, body) = set_status(&app, &s.zunyi, &p, "funded").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    assert_eq!(
        money(
            &app,
            &s.shanghai,
            tx("pledge", 50_000_000, &s.pairing, &p, "SH-P-1")
        )
        .await
        .0,
        StatusCode::CREATED
    );
    assert_eq!(
        set_status(&app, &s.zunyi, &p, "funded").await.0,
        StatusCode::OK
    );
    // in_progress needs money that arrived, not only money transferred.
    assert_eq!(
        money(
            &app,
            &s.shanghai,
            tx("transfer", 30_000_000, &s.pairing, &p, "SH-T-1")
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let (status, body) = set_status(&app, &s.zunyi, &p, "in_progress").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition")),
        "{body}"
    );
    assert_eq!(
        money(
            &app,
            &s.zunyi,
            tx("arrival", 30_000_000, &s.pairing, &p, "SH-T-1")
        )
        .await
        .0,
        StatusCode::CREATED
    );
    assert_eq!(
        set_status(&app, &s.zunyi, &p, "in_progress").await.0,
        StatusCode::OK
    );
    assert_eq!(
        set_status(&app, &s.zunyi, &p, "completed").await.0,
        StatusCode::OK
    );
    // Only the province office verifies.
    let (status, _) = set_status(&app, &s.zunyi, &p, "verified").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    let (status, verified) = set_status(&app, &coordinator, &p, "verified").await;
    assert_eq!(status, StatusCode::OK, "{verified}");

    // Nothing changes once verified: fields, status, money, deletion.
    let path = format!("/api/v1/projects/{}", p["id"].as_str().unwrap_or(""));
    let body = assert_problem(
        app.patch_json(&path, &coordinator, None, &json!({"title": "改"}))
            .await,
        409,
        "invalid_transition",
    )
    .await;
    assert!(body["detail"].as_str().unwrap_or("").contains("verified"));
    assert_problem(
        app.delete(&path, &app.admin_token(), None).await,
        409,
        "invalid_transition",
    )
    .await;
    let (status, body) = money(
        &app,
        &s.zunyi,
        tx("expenditure", 1, &s.pairing, &p, "ZY-E-9"),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );

    // The audit log has every step with the status before and after.
    let (_, log) = parts(
        app.get(
            &format!(
                "/api/v1/audit-log?record_type=project&record_id={}",
                p["id"].as_str().unwrap_or("")
            ),
            &app.admin_token(),
        )
        .await,
    )
    .await;
    let steps: Vec<(String, String)> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .skip(1)
        .map(|e| {
            (
                e["before"]["status"].as_str().unwrap_or("").into(),
                e["after"]["status"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let expected = [
        ("proposed", "agreed"),
        ("agreed", "funded"),
        ("funded", "in_progress"),
        ("in_progress", "completed"),
        ("completed", "verified"),
    ];
    assert_eq!(steps, expected.map(|(a, b)| (a.to_string(), b.to_string())));
}

#[tokio::test]
async fn money_rules_and_totals_to_the_fen() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let p = create_project(&app, &s.zunyi, "ZY-2019-002", &s.pairing).await;

    // Each side records its own kinds.
    let (status, body) = money(&app, &s.zunyi, tx("pledge", 100, &s.pairing, &p, "X")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "kind");
    let (status, body) = money(&app, &s.shanghai, tx("arrival", 100, &s.pairing, &p, "X")).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kind"))
    );
    // Positive integer fen only.
    for bad in [json!(0), json!(-5), json!(1.5), json!("100")] {
        let mut body = tx("pledge", 1, &s.pairing, &p, "X");
        body["amount_fen"] = bad.clone();
        let (status, answer) = money(&app, &s.shanghai, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {answer}");
        assert_eq!(answer["errors"][0]["field"], "amount_fen");
    }
    // A project of another pairing is refused.
    let other_pairing = app.pairing_id("440100", "520500").await.to_string();
    let (status, body) = money(
        &app,
        &app.admin_token(),
        tx("pledge", 100, &other_pairing, &p, "X"),
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("project_id"))
    );

    for (token, kind, amount, voucher) in [
        (&s.shanghai, "pledge", 123_456_789_i64, "SH-P-1"),
        (&s.shanghai, "pledge", 11, "SH-P-2"),
        (&s.shanghai, "transfer", 100_000_000, "SH-T-1"),
        (&s.zunyi, "arrival", 99_999_999, "SH-T-1"),
        (&s.zunyi, "expenditure", 60_000_001, "ZY-E-1"),
        (&s.zunyi, "refund", 100, "ZY-R-1"),
    ] {
        let (status, body) = money(&app, token, tx(kind, amount, &s.pairing, &p, voucher)).await;
        assert_eq!(status, StatusCode::CREATED, "{kind}: {body}");
    }
    // Spending beyond what arrived (less spent and refunded) is refused, by one fen.
    let available = 99_999_999 - 60_000_001 - 100;
    let (status, body) = money(
        &app,
        &s.zunyi,
        tx("expenditure", available + 1, &s.pairing, &p, "ZY-E-2"),
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("amount_fen")),
        "{body}"
    );
    assert_eq!(
        money(
            &app,
            &s.zunyi,
            tx("expenditure", available, &s.pairing, &p, "ZY-E-2")
        )
        .await
        .0,
        StatusCode::CREATED
    );

    let (_, project) = parts(
        app.get(
            &format!("/api/v1/projects/{}", p["id"].as_str().unwrap_or("")),
            &s.zunyi,
        )
        .await,
    )
    .await;
    assert_eq!(project["pledged_fen"], 123_456_789 + 11);
    assert_eq!(project["transferred_fen"], 100_000_000);
    assert_eq!(project["arrived_fen"], 99_999_999);
    assert_eq!(project["spent_fen"], 60_000_001 + available);
    assert_eq!(project["refunded_fen"], 100);

    let (status, totals) = parts(
        app.get(
            &format!("/api/v1/pairings/{}/totals", s.pairing),
            &s.shanghai,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(totals["pledged_fen"], 123_456_789 + 11);
    assert_eq!(totals["arrived_fen"], 99_999_999);
    assert_eq!(
        totals["arrival_rate_bp"],
        (99_999_999_i64 * 10_000) / (123_456_789 + 11)
    );

    // Deleting the arrival would leave money spent that never came.
    let (_, arrivals) = parts(
        app.get(
            &format!(
                "/api/v1/fund-transactions?kind=arrival&project_id={}",
                p["id"].as_str().unwrap_or("")
            ),
            &s.zunyi,
        )
        .await,
    )
    .await;
    let arrival = arrivals["items"][0]["id"]
        .as_str()
        .expect("arrival")
        .to_string();
    assert_problem(
        app.delete(
            &format!("/api/v1/fund-transactions/{arrival}"),
            &s.zunyi,
            None,
        )
        .await,
        409,
        "in_use",
    )
    .await;
    let body = assert_problem(
        app.patch_json(
            &format!("/api/v1/fund-transactions/{arrival}"),
            &s.zunyi,
            None,
            &json!({"amount_fen": 1}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "amount_fen");
    // A project with money cannot be deleted.
    assert_problem(
        app.delete(
            &format!("/api/v1/projects/{}", p["id"].as_str().unwrap_or("")),
            &s.zunyi,
            None,
        )
        .await,
        409,
        "in_use",
    )
    .await;

    // Filters: by side, kind, voucher, year and quarter.
    let count = |q: String| {
        let (app, token) = (&app, s.zunyi.clone());
        async move {
            parts(
                app.get(&format!("/api/v1/fund-transactions?{q}"), &token)
                    .await,
            )
            .await
            .1["items"]
                .as_array()
                .map_or(0, Vec::len)
        }
    };
    assert_eq!(count("side=east".into()).await, 3);
    assert_eq!(count("voucher_no=SH-T-1".into()).await, 2);
    assert_eq!(count("year=2019&quarter=2".into()).await, 7);
    assert_eq!(count("year=2019&quarter=3".into()).await, 0);
    let (status, _) = parts(
        app.get("/api/v1/fund-transactions?quarter=2", &s.zunyi)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn who_reads_and_writes_projects_and_money() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let p = create_project(&app, &s.zunyi, "ZY-2019-003", &s.pairing).await;
    let path = format!("/api/v1/projects/{}", p["id"].as_str().unwrap_or(""));
    let tongren = app.token(Role::Editor, Some("520600"));
    let suzhou = app.token(Role::Partner, Some("320500"));
    let auditor = app.token(Role::Auditor, None);
    let renhuai = app.token(Role::Editor, Some("520382"));

    // Reads.
    for (who, token, visible) in [
        ("遵义 editor", &s.zunyi, true),
        ("上海 partner", &s.shanghai, true),
        ("auditor", &auditor, true),
        ("铜仁 editor", &tongren, false),
        ("苏州 partner", &suzhou, false),
        ("仁怀 editor (below 遵义)", &renhuai, false),
    ] {
        let status = app.get(&path, token).await.status();
        assert_eq!(status == StatusCode::OK, visible, "{who}: GET {status}");
        if !visible {
            assert_eq!(status, StatusCode::NOT_FOUND, "{who}");
        }
        let (_, list) = parts(app.get("/api/v1/projects", token).await).await;
        let listed = list["items"]
            .as_array()
            .is_some_and(|i| i.iter().any(|x| x["id"] == p["id"]));
        assert_eq!(listed, visible, "{who}: list");
        let gql = app
            .gql(
                token,
                "query($id: UUID!) { project(id: $id) { code } }",
                json!({"id": p["id"]}),
            )
            .await;
        assert_eq!(
            gql["data"]["project"].is_object(),
            visible,
            "{who}: GraphQL {gql}"
        );
    }

    // Writes on 遵义's project: its owner yes; the partner, auditor, 铜仁 no.
    let patch = json!({"title": "改名"});
    assert_eq!(
        app.patch_json(&path, &s.shanghai, None, &patch)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.patch_json(&path, &auditor, None, &patch).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.patch_json(&path, &tongren, None, &patch).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.patch_json(&path, &suzhou, None, &patch).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.patch_json(&path, &s.zunyi, None, &patch).await.status(),
        StatusCode::OK
    );
    // 铜仁 cannot create a project on 上海–遵义 (not its pairing), nor can 苏州 record money on it.
    let (status, _) = parts(
        app.post_json(
            "/api/v1/projects",
            &tongren,
            &project_body("TR-X", &s.pairing),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = money(&app, &suzhou, tx("pledge", 5, &s.pairing, &p, "SZ")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The 上海 partner writes its own transfers, not 遵义's arrivals.
    let (status, transfer) = money(
        &app,
        &s.shanghai,
        tx("transfer", 500, &s.pairing, &p, "SH-T-9"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(transfer["side"], "east");
    assert_eq!(
        transfer["owner_org_id"],
        app.seeded_org("310000").to_string()
    );
    let (_, arrival) = money(&app, &s.zunyi, tx("arrival", 500, &s.pairing, &p, "SH-T-9")).await;
    let arrival_path = format!(
        "/api/v1/fund-transactions/{}",
        arrival["id"].as_str().unwrap_or("")
    );
    let transfer_path = format!(
        "/api/v1/fund-transactions/{}",
        transfer["id"].as_str().unwrap_or("")
    );
    assert_eq!(
        app.patch_json(&arrival_path, &s.shanghai, None, &json!({"note": "x"}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.patch_json(&transfer_path, &s.zunyi, None, &json!({"note": "x"}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.patch_json(
            &transfer_path,
            &s.shanghai,
            None,
            &json!({"note": "已汇出"})
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&transfer_path, &suzhou).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&transfer_path, &tongren).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/v1/pairings/{}/totals", s.pairing), &suzhou)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn validation_names_every_bad_field_and_codes_are_unique() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let mut bad = project_body("bad code!", &s.pairing);
    bad["year"] = json!(1800);
    bad["items"][0]["quantity"] = json!(-1);
    bad["end_on"] = json!("2019-01-01");
    bad["budget_fen"] = json!(-3);
    let body = assert_problem(
        app.post_json("/api/v1/projects", &s.zunyi, &bad).await,
        422,
        "validation_failed",
    )
    .await;
    let fields: HashSet<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        HashSet::from(["code", "year", "items[0].quantity", "end_on", "budget_fen"])
    );
    let mut bad = project_body("X-1", &s.pairing);
    bad["category"] = json!("space_program");
    let body = assert_problem(
        app.post_json("/api/v1/projects", &s.zunyi, &bad).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "category");

    create_project(&app, &s.zunyi, "ZY-DUP", &s.pairing).await;
    let body = assert_problem(
        app.post_json(
            "/api/v1/projects",
            &s.zunyi,
            &project_body("ZY-DUP", &s.pairing),
        )
        .await,
        409,
        "duplicate",
    )
    .await;
    assert_eq!(body["field"], "code");
    // The service checks before it writes, so the answer names the code that is taken (the
    // unique index alone could only say "code is already taken").
    assert_eq!(
        body["detail"], "project code ZY-DUP is already taken",
        "{body}"
    );
    let (_, list) = parts(app.get("/api/v1/projects?code=ZY-DUP", &s.zunyi).await).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    // Renaming another project onto a taken code is the same conflict, and changes nothing;
    // keeping one's own code is not a conflict with oneself.
    let other = create_project(&app, &s.zunyi, "ZY-OTHER", &s.pairing).await;
    let path = format!(
        "/api/v1/projects/{}",
        other["id"].as_str().unwrap_or_default()
    );
    let body = assert_problem(
        app.patch_json(&path, &s.zunyi, Some(1), &json!({"code": "ZY-DUP"}))
            .await,
        409,
        "duplicate",
    )
    .await;
    assert_eq!(body["field"], "code");
    assert_eq!(
        body["detail"], "project code ZY-DUP is already taken",
        "{body}"
    );
    let (status, same) = parts(
        app.patch_json(
            &path,
            &s.zunyi,
            Some(1),
            &json!({"code": "ZY-OTHER", "title": "改名"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["code"], "ZY-OTHER");
    assert_eq!(same["version"], 2);
    // Renaming onto a free code is no conflict either: the project takes it and frees its old one.
    let (status, renamed) = parts(
        app.patch_json(&path, &s.zunyi, Some(2), &json!({"code": "ZY-RENAMED"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["code"], "ZY-RENAMED");
    assert_eq!(renamed["version"], 3);
    for (code, n) in [("ZY-RENAMED", 1), ("ZY-OTHER", 0)] {
        let (_, list) = parts(
            app.get(&format!("/api/v1/projects?code={code}"), &s.zunyi)
                .await,
        )
        .await;
        assert_eq!(
            list["items"].as_array().map(Vec::len),
            Some(n),
            "{code}: {list}"
        );
    }
}

#[tokio::test]
async fn thirty_two_concurrent_if_match_writers_have_one_winner() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let p = create_project(&app, &s.zunyi, "ZY-RACE", &s.pairing).await;
    let path = format!("/api/v1/projects/{}", p["id"].as_str().unwrap_or(""));
    let writers = (0..32).map(|i| {
        let (app, token, path) = (&app, s.zunyi.clone(), path.clone());
        async move {
            app.patch_json(&path, &token, Some(1), &json!({"beneficiaries_planned": i}))
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(writers).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let stale = statuses
        .iter()
        .filter(|s| **s == StatusCode::PRECONDITION_FAILED)
        .count();
    assert_eq!((ok, stale), (1, 31), "{statuses:?}");
    let (_, now) = parts(app.get(&path, &s.zunyi).await).await;
    assert_eq!(now["version"], 2);
}

#[tokio::test]
async fn keyset_pages_cover_thousands_of_projects() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let owner = app.seeded_org("520300");
    let pairing = app.pairing_id("310000", "520300").await;
    // Rows straight into the table: the subject here is paging, not creating.
    app.insert_projects(pairing, owner, 2500).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = tests::Pages::new(100);
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/projects?limit=487&cursor={c}"),
            None => "/api/v1/projects?limit=487".into(),
        };
        let (status, body) = parts(app.get(&path, &s.shanghai).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        seen.extend(
            body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|p| p["code"].as_str().unwrap_or("").to_string()),
        );
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(pages.next(c)),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 2500);
    assert_eq!(unique.len(), 2500);
}

#[tokio::test]
async fn idempotent_retries_replay_and_a_reused_key_is_refused() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let body = project_body("ZY-IDEM", &s.pairing);
    let post = |token: String, key: &'static str, body: Value| {
        let app = &app;
        async move {
            app.request(reqwest::Method::POST, "/api/v1/projects", Some(&token))
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .expect("request")
        }
    };
    let first = post(s.zunyi.clone(), "key-1", body.clone()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_etag = first.headers()["etag"].clone();
    let (_, first) = parts(first).await;
    let retry = post(s.zunyi.clone(), "key-1", body.clone()).await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotency-replayed"], "true");
    assert_eq!(retry.headers()["etag"], first_etag);
    let (_, again) = parts(retry).await;
    assert_eq!(again, first, "the first response, replayed");
    let (_, list) = parts(app.get("/api/v1/projects?code=ZY-IDEM", &s.zunyi).await).await;
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(1),
        "created once"
    );

    // Same key, other body: refused. The key belongs to its caller: another caller may use it.
    let mut other = body.clone();
    other["code"] = json!("ZY-IDEM-2");
    let refused = post(s.zunyi.clone(), "key-1", other.clone()).await;
    let problem = assert_problem(refused, 409, "idempotency_key_reused").await;
    assert_eq!(problem["field"], "Idempotency-Key");
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    assert_eq!(
        post(coordinator, "key-1", other).await.status(),
        StatusCode::CREATED
    );

    // Concurrent retries of one request create one record.
    let racers = (0..8).map(|_| {
        let mut b = body.clone();
        b["code"] = json!("ZY-IDEM-RACE");
        post(s.zunyi.clone(), "key-race", b)
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .map(|r| r.status())
        .collect();
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::CREATED));
    let (_, list) = parts(
        app.get("/api/v1/projects?code=ZY-IDEM-RACE", &s.zunyi)
            .await,
    )
    .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    // GraphQL: the same with an idempotencyKey argument.
    let mutation = "mutation($input: NewFundTransactionInput!, $key: String) { createFundTransaction(input: $input, idempotencyKey: $key) { id amountFen } }";
    let vars = json!({"key": "gql-1", "input": {"kind": "pledge", "amountFen": 700, "occurredOn": "2019-05-01",
                                                "pairingId": s.pairing, "projectId": first["id"]}});
    let a = app.gql(&s.shanghai, mutation, vars.clone()).await;
    let b = app.gql(&s.shanghai, mutation, vars.clone()).await;
    assert!(a["errors"].is_null(), "{a}");
    assert_eq!(a, b);
    let (_, txs) = parts(
        app.get(
            &format!(
                "/api/v1/fund-transactions?project_id={}",
                first["id"].as_str().unwrap_or("")
            ),
            &s.shanghai,
        )
        .await,
    )
    .await;
    assert_eq!(txs["items"].as_array().map(Vec::len), Some(1));
    let mut changed = vars.clone();
    changed["input"]["amountFen"] = json!(701);
    let c = app.gql(&s.shanghai, mutation, changed).await;
    assert_eq!(
        c["errors"][0]["extensions"]["code"], "idempotency_key_reused",
        "{c}"
    );
}

const NESTED: &str = r#"query($n: Int) {
  pairings(first: $n) { edges { node {
    east { name } west { name projects(first: 100) { code } }
    totals { pledgedFen arrivedFen }
    projects(first: 20) { code pledgedFen organization { name }
                          fundTransactions(first: 20) { kind amountFen project { code } } }
    fundTransactions(first: 50) { voucherNo pairing { level } }
  } } }
}"#;

#[tokio::test]
async fn nested_money_queries_cost_the_same_at_two_sizes() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    // Two projects with money on each of the first pairings.
    let (_, pairings) = parts(app.get("/api/v1/pairings", &admin).await).await;
    for (i, p) in pairings["items"]
        .as_array()
        .expect("items")
        .iter()
        .enumerate()
    {
        let pairing = p["id"].as_str().expect("id");
        for j in 0..2 {
            let project = create_project(&app, &admin, &format!("N-{i}-{j}"), pairing).await;
            let (status, body) = money(
                &app,
                &admin,
                tx("pledge", 1000, pairing, &project, &format!("V-{i}-{j}")),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }
    let run = |n: usize| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let (body, statements) = app
                .statements_during(app.gql(&admin, NESTED, json!({"n": n})))
                .await;
            assert!(body["errors"].is_null(), "{body}");
            let edges = body["data"]["pairings"]["edges"].as_array().expect("edges");
            assert_eq!(edges.len(), n);
            // The money is really summed, per pairing and per project.
            for edge in edges {
                let node = &edge["node"];
                assert_eq!(node["totals"]["pledgedFen"], 2000, "{node}");
                assert_eq!(node["totals"]["arrivedFen"], 0, "{node}");
                let vouchers: Vec<&str> = node["fundTransactions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t["voucherNo"].as_str())
                    .collect();
                assert_eq!(vouchers.len(), 2, "{node}");
                assert!(vouchers.iter().all(|v| v.starts_with("V-")), "{vouchers:?}");
                let projects = node["projects"].as_array().expect("projects");
                assert_eq!(projects.len(), 2, "{node}");
                for project in projects {
                    assert_eq!(project["pledgedFen"], 1000, "{project}");
                    let money = &project["fundTransactions"][0];
                    assert_eq!(money["amountFen"], 1000, "{project}");
                    assert_eq!(money["project"]["code"], project["code"], "{project}");
                }
                // The western side recorded the pairing's projects, and only those.
                let codes = |list: &Value| -> HashSet<String> {
                    list.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["code"].as_str().map(str::to_string))
                        .collect()
                };
                assert_eq!(codes(&node["west"]["projects"]), codes(&node["projects"]));
            }
            statements
        }
    };
    let small = run(2).await;
    let large = run(8).await;
    assert_eq!(small, large, "statements for 2 vs 8 pairings");
    assert!(large <= 12, "{large}");
}

#[tokio::test]
async fn the_demo_ledger_adds_up() {
    let app = tests::spawn_app_with(|c| c.demo_on_start = true).await;
    let admin = app.admin_token();
    let shanghai_zunyi = app.pairing_id("310000", "520300").await;
    let (status, totals) = parts(
        app.get(&format!("/api/v1/pairings/{shanghai_zunyi}/totals"), &admin)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // 120万 + 150万 + 80万 + 20万 pledged; 120万 + 100万 + 20万 transferred and arrived;
    // 86.5万 + 100万 + 19.86万 spent.
    assert_eq!(totals["pledged_fen"], 370_000_000);
    assert_eq!(totals["transferred_fen"], 240_000_000);
    assert_eq!(totals["arrived_fen"], 240_000_000);
    assert_eq!(totals["spent_fen"], 206_360_000);
    assert_eq!(totals["arrival_rate_bp"], 6486);

    let (_, projects) = parts(app.get("/api/v1/projects?limit=500", &admin).await).await;
    let items = projects["items"].as_array().expect("items");
    // Four on each city pairing, and the employment centre's on the province's.
    assert_eq!(items.len(), 9);
    let categories: HashSet<&str> = items
        .iter()
        .filter_map(|p| p["category"].as_str())
        .collect();
    assert!(categories.len() >= 7, "{categories:?}");
    for p in items {
        let spent = p["spent_fen"].as_i64().unwrap_or(0);
        let arrived = p["arrived_fen"].as_i64().unwrap_or(0);
        assert!(spent <= arrived, "{}", p["code"]);
        if p["status"] == "in_progress" {
            assert!(arrived > 0, "{}", p["code"]);
        }
    }
    // Exchanges both ways on the pairing, an agreement linking its projects, a working group.
    let (_, exchanges) = parts(
        app.get(
            &format!("/api/v1/exchanges?pairing_id={shanghai_zunyi}"),
            &admin,
        )
        .await,
    )
    .await;
    let directions: HashSet<&str> = exchanges["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["direction"].as_str())
        .collect();
    assert!(
        directions.contains("east_to_west") && directions.contains("west_to_east"),
        "{directions:?}"
    );
    let (_, agreements) = parts(
        app.get(
            &format!("/api/v1/agreements?pairing_id={shanghai_zunyi}"),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(
        agreements["items"][0]["project_ids"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    assert_eq!(agreements["items"][0]["committed_fen"], 370_000_000);
    let zunyi = app.seeded_org("520300");
    let (_, groups) = parts(
        app.get(&format!("/api/v1/working-groups?org_id={zunyi}"), &admin)
            .await,
    )
    .await;
    assert_eq!(
        groups["items"][0]["members"].as_array().map(Vec::len),
        Some(5),
        "{groups}"
    );
    // What the plan's progress says of the demo: `plan_seed.rs`.
    // Loading again adds nothing.
    assert_eq!(xiezuo::demo::load(&app.ctx).await.expect("demo"), 0);
}

#[tokio::test]
async fn money_without_a_project_and_on_cancelled_projects_obeys_the_rules() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let none = json!(null);
    let loose = |kind: &str, amount: i64| json!({"kind": kind, "amount_fen": amount, "occurred_on": "2019-07-01", "pairing_id": s.pairing, "project_id": none});
    // Nothing arrived on the pairing: spending without a project is refused as well.
    let (status, body) = money(&app, &s.zunyi, loose("expenditure", 100)).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("amount_fen")),
        "{body}"
    );
    assert_eq!(
        money(&app, &s.zunyi, loose("arrival", 100)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        money(&app, &s.zunyi, loose("expenditure", 100)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        money(&app, &s.zunyi, loose("refund", 1)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Amounts stay far from overflow.
    let (status, body) = money(&app, &s.shanghai, loose("pledge", 999_999_999_999_999_999)).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("amount_fen"))
    );

    // A cancelled project takes refunds only.
    let p = create_project(&app, &s.zunyi, "ZY-CANCEL", &s.pairing).await;
    assert_eq!(
        money(&app, &s.shanghai, tx("pledge", 500, &s.pairing, &p, "P"))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        set_status(&app, &s.zunyi, &p, "cancelled").await.0,
        StatusCode::OK
    );
    let (status, body) = money(&app, &s.shanghai, tx("transfer", 500, &s.pairing, &p, "T")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );

    // Projects are the west's: a partner cannot own one.
    let (status, _) = parts(
        app.post_json(
            "/api/v1/projects",
            &s.shanghai,
            &project_body("SH-OWN", &s.pairing),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Rules of a project no other test reaches: the responsible contact must exist and be
/// readable, the actual beneficiaries cannot be negative, the basis, measures and quantity are
/// checked, codes stop at 64 characters, and `?q=` finds titles.
#[tokio::test]
async fn project_fields_follow_their_rules() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let base = project_body("ZY-RULES-1", &s.pairing);
    let post = |body: Value| {
        let app = &app;
        let token = s.zunyi.clone();
        async move { parts(app.post_json("/api/v1/projects", &token, &body).await).await }
    };
    let field_of = |body: &Value| {
        body["errors"][0]["field"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };

    // A contact of 铜仁 is not readable by 遵义: the same answer as no contact at all.
    let (status, tongren_contact) = parts(
        app.post_json(
            "/api/v1/contacts",
            &app.token(Role::Editor, Some("520600")),
            &json!({"org_id": app.org_id("520600").await, "name": "铜仁联系人"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{tongren_contact}");
    for contact in [tongren_contact["id"].clone(), json!(uuid::Uuid::now_v7())] {
        let mut body = base.clone();
        body["responsible_contact_id"] = contact;
        let (status, answer) = post(body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(field_of(&answer), "responsible_contact_id");
    }
    let (_, own_contact) = parts(
        app.post_json(
            "/api/v1/contacts",
            &s.zunyi,
            &json!({"org_id": app.org_id("520300").await, "name": "遵义联系人"}),
        )
        .await,
    )
    .await;
    let mut body = base.clone();
    body["responsible_contact_id"] = own_contact["id"].clone();
    let (status, created) = post(body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["responsible_contact_id"], own_contact["id"]);
    // The actual beneficiaries come later, by PATCH, and are never negative.
    let path = format!("/api/v1/projects/{}", created["id"].as_str().unwrap_or(""));
    let body = assert_problem(
        app.patch_json(&path, &s.zunyi, None, &json!({"beneficiaries_actual": -1}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(field_of(&body), "beneficiaries_actual");
    let (status, changed) = parts(
        app.patch_json(&path, &s.zunyi, None, &json!({"beneficiaries_actual": 12}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["beneficiaries_actual"], 12);
    let (status, changed) = parts(
        app.patch_json(&path, &s.zunyi, None, &json!({"beneficiaries_actual": 0}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "none yet is allowed: {changed}");
    assert_eq!(changed["beneficiaries_actual"], 0);

    // The bounds themselves are allowed: nothing counted, nothing costed, one day long.
    let mut body = base.clone();
    body["code"] = json!("ZY-RULES-0");
    body["items"] = json!([{"name": "待定", "unit": "项", "quantity": 0, "unit_cost_fen": 0}]);
    body["beneficiaries_planned"] = json!(0);
    body["budget_fen"] = json!(0);
    body["start_on"] = json!("2019-06-01");
    body["end_on"] = json!("2019-06-01");
    let (status, answer) = post(body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["items"][0]["quantity"], 0, "{answer}");
    body["code"] = json!("ZY-RULES-00");
    body["end_on"] = json!("2019-05-31");
    let (status, answer) = post(body.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(field_of(&answer), "end_on");
    body["end_on"] = json!("2019-06-01");
    body["items"][0]["quantity"] = json!(-1);
    let (status, answer) = post(body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(field_of(&answer), "items[0].quantity");

    for (field, value) in [
        ("basis", json!("")),
        ("measures", json!("x".repeat(20_001))),
        ("quantity", json!("")),
        ("code", json!("C".repeat(65))),
    ] {
        let mut body = base.clone();
        body["code"] = json!("ZY-RULES-2");
        body[field] = value;
        let (status, answer) = post(body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {answer}"
        );
        assert_eq!(field_of(&answer), field, "{answer}");
    }
    let mut body = base.clone();
    body["code"] = json!("C".repeat(64));
    body["title"] = json!("独一无二的标题");
    assert_eq!(
        post(body).await.0,
        StatusCode::CREATED,
        "64 characters is allowed"
    );

    let (_, found) = parts(
        app.get(
            "/api/v1/projects?q=%E7%8B%AC%E4%B8%80%E6%97%A0%E4%BA%8C",
            &s.zunyi,
        )
        .await,
    )
    .await;
    let titles: Vec<&str> = found["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect();
    assert_eq!(titles, ["独一无二的标题"], "{found}");

    // A project created by a single write keeps the external id its client gave it, and the id
    // is the owner's alone: a second project may not take it.
    let mut body = base.clone();
    body["code"] = json!("ZY-RULES-EXT");
    body["external_id"] = json!("ZY-P-0042");
    let (status, created) = post(body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["external_id"], "ZY-P-0042", "{created}");
    let path = format!("/api/v1/projects/{}", created["id"].as_str().unwrap_or(""));
    let (_, read) = parts(app.get(&path, &s.zunyi).await).await;
    assert_eq!(read["external_id"], "ZY-P-0042", "{read}");
    body["code"] = json!("ZY-RULES-EXT-2");
    let (status, answer) = post(body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
}

/// The ETag is the version plus a digest of what the caller receives: `If-None-Match` gets a 304
/// while the representation is the same, and a 200 with a new tag once the totals move (a fund
/// transaction changes a project's money without a new project version). `If-Match` compares
/// the version part, so the tag a client holds still guards its next change.
#[tokio::test]
async fn if_none_match_answers_304_until_the_representation_changes() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let project = create_project(&app, &s.zunyi, "ETAG-1", &s.pairing).await;
    let path = format!(
        "/api/v1/projects/{}",
        project["id"].as_str().unwrap_or_default()
    );
    let conditional_get = |tag: String| {
        app.request(reqwest::Method::GET, &path, Some(&s.zunyi))
            .header("If-None-Match", tag)
            .send()
    };

    let first = app.get(&path, &s.zunyi).await;
    assert_eq!(tests::etag_version(&first), 1);
    let tag = first.headers()["etag"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    let response = conditional_get(tag.clone()).await.expect("request failed");
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(response.headers()["etag"], tag.as_str());
    assert!(response.text().await.unwrap_or_default().is_empty());
    // Weak forms and lists match too; another tag does not.
    let listed = format!("\"1-0000000000000000\", W/{tag}");
    let response = conditional_get(listed).await.expect("request failed");
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    let response = conditional_get("\"1\"".into())
        .await
        .expect("request failed");
    assert_eq!(response.status(), StatusCode::OK);

    // Money arrives: same project version, another representation.
    let (status, body) = money(
        &app,
        &s.shanghai,
        tx("pledge", 1_000, &s.pairing, &project, "E-1"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let response = conditional_get(tag.clone()).await.expect("request failed");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(tests::etag_version(&response), 1);
    let new_tag = response.headers()["etag"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert_ne!(new_tag, tag);
    let (_, body) = parts(response).await;
    assert_eq!(body["pledged_fen"], 1_000, "{body}");

    // Each viewer's representation is tagged on its own: the partner gets the same bytes here.
    let partner = app.get(&path, &s.shanghai).await;
    assert_eq!(partner.headers()["etag"], new_tag.as_str());

    // A write answers with the completed tag; the older tag of the same version still guards it.
    let response = app
        .request(reqwest::Method::PATCH, &path, Some(&s.zunyi))
        .header("If-Match", tag.as_str())
        .json(&json!({"title": "新标题"}))
        .send()
        .await
        .expect("request failed");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(tests::etag_version(&response), 2);
    let response = app
        .request(reqwest::Method::PATCH, &path, Some(&s.zunyi))
        .header("If-Match", new_tag.as_str())
        .json(&json!({"title": "再改"}))
        .send()
        .await
        .expect("request failed");
    assert_problem(response, 412, "precondition_failed").await;
}

/// A connection of projects sums the money only when the selection names a total, however it
/// names it: on `edges.node` or `nodes`, under an alias, in a named or an inline fragment. Each
/// way answers the totals REST gives.
#[tokio::test]
async fn graphql_totals_are_right_whichever_way_the_selection_asks_for_them() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let project = create_project(&app, &s.zunyi, "GQL-MONEY-1", &s.pairing).await;
    for (kind, amount, voucher) in [("pledge", 5_000, "GM-1"), ("arrival", 3_000, "GM-2")] {
        let token = if kind == "pledge" {
            &s.shanghai
        } else {
            &s.zunyi
        };
        let (status, body) =
            money(&app, token, tx(kind, amount, &s.pairing, &project, voucher)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let filter = json!({"code": "GQL-MONEY-1"});
    let queries = [
        "query($f: ProjectFilter) { projects(filter: $f) { edges { node { pledgedFen arrivedFen } } } }",
        "query($f: ProjectFilter) { projects(filter: $f) { nodes { pledgedFen arrivedFen } } }",
        "query($f: ProjectFilter) { projects(filter: $f) { edges { node { p: pledgedFen arrivedFen } } } }",
        "query($f: ProjectFilter) { projects(filter: $f) { edges { node { ...Money } } } }
         fragment Money on Project { pledgedFen arrivedFen }",
        "query($f: ProjectFilter) { projects(filter: $f) { ...Page } }
         fragment Page on ProjectConnection { nodes { ... on Project { pledgedFen arrivedFen } } }",
    ];
    for query in queries {
        let body = app.gql(&s.zunyi, query, json!({"f": filter})).await;
        assert!(body["errors"].is_null(), "{query}: {body}");
        let connection = &body["data"]["projects"];
        let node = connection["edges"][0]["node"]
            .as_object()
            .or_else(|| connection["nodes"][0].as_object())
            .cloned()
            .unwrap_or_default();
        let pledged = node.get("pledgedFen").or_else(|| node.get("p"));
        assert_eq!(pledged, Some(&json!(5_000)), "{query}: {body}");
        assert_eq!(
            node.get("arrivedFen"),
            Some(&json!(3_000)),
            "{query}: {body}"
        );
    }
    // Without a total the page still answers, the same rows.
    let body = app
        .gql(
            &s.zunyi,
            "query($f: ProjectFilter) { projects(filter: $f) { nodes { code title } } }",
            json!({"f": filter}),
        )
        .await;
    assert_eq!(
        body["data"]["projects"]["nodes"][0]["code"], "GQL-MONEY-1",
        "{body}"
    );
}

/// JSON has one number type and JSON Schema counts `2019.0` as an integer, so integer fields take
/// a whole number written with a fraction or an exponent; a real fraction stays refused.
#[tokio::test]
async fn whole_numbers_written_as_floats_are_integers() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let mut body = project_body("FLOAT-1", &s.pairing);
    body["year"] = json!(2019.0);
    body["budget_fen"] = json!(5e7);
    body["items"][0]["quantity"] = json!(2.0);
    let (status, created) = parts(app.post_json("/api/v1/projects", &s.zunyi, &body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (created["year"].clone(), created["budget_fen"].clone()),
        (json!(2019), json!(50_000_000))
    );
    assert_eq!(created["items"][0]["quantity"], 2, "{created}");

    let mut body = project_body("FLOAT-2", &s.pairing);
    body["budget_fen"] = json!(1.5);
    body["year"] = json!(1e300);
    let problem = assert_problem(
        app.post_json("/api/v1/projects", &s.zunyi, &body).await,
        422,
        "validation_failed",
    )
    .await;
    let fields: HashSet<&str> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, HashSet::from(["budget_fen", "year"]), "{problem}");
}
