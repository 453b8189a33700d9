//! Vertical reconciliation (纵向对账) of 遵义 for 2019 Q3, with differences planted and found
//! exactly: its own figures against the sum of its county 仁怀's, and against the statements a
//! municipal department and the federation itself declared. And statements themselves: one per
//! organization, indicator and period; written by their organization's side only.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app};
use xiezuo::domain::Role;

async fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (status, body) = parts(app.post_json(path, token, &body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {body}");
    body
}

fn money(kind: &str, amount: i64, on: &str, pairing: &str) -> Value {
    json!({"kind": kind, "amount_fen": amount, "occurred_on": on, "pairing_id": pairing})
}

/// A new editor of `org`, signed in: its bearer token.
async fn sign_in(app: &TestApp, username: &str, org: &str) -> String {
    let password = "遵义-2019-台账-核对";
    created(
        app,
        &app.admin_token(),
        "/api/v1/users",
        json!({"username": username, "password": password, "role": "editor", "org_id": org}),
    )
    .await;
    let (status, token) = parts(app.login(username, password).await).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

struct World {
    zunyi: String,
    renhuai: String,
    finance: String,
}

/// 遵义 with a municipal department (an agency under it), and a county pairing of 仁怀 with a
/// district of 上海; money and exchanges on both pairings in and around 2019 Q3.
async fn plant(app: &TestApp) -> World {
    let admin = app.admin_token();
    let zunyi = app.org_id("520300").await.to_string();
    let renhuai = app.org_id("520382").await.to_string();
    let finance = created(
        app,
        &admin,
        "/api/v1/organizations",
        json!({"code": "520300-CZ", "name": "遵义市财政局", "region": "west",
               "level": "prefecture", "kind": "agency", "parent_id": zunyi}),
    )
    .await["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pudong = created(
        app,
        &admin,
        "/api/v1/organizations",
        json!({"code": "310115", "name": "上海市浦东新区残疾人联合会", "region": "east",
               "level": "county", "kind": "federation",
               "parent_id": app.org_id("310000").await}),
    )
    .await["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let county_pairing = created(
        app,
        &admin,
        "/api/v1/pairings",
        json!({"east_org_id": pudong, "west_org_id": renhuai, "level": "county_county",
               "started_on": "2018-01-01"}),
    )
    .await["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let city_pairing = app.pairing_id("310000", "520300").await.to_string();
    let (c, p) = (city_pairing.as_str(), county_pairing.as_str());
    for body in [
        // The prefecture's own: 1,500.00 arrived and transferred in the quarter.
        money("arrival", 100_000, "2019-07-05", c),
        money("arrival", 50_000, "2019-08-05", c),
        money("transfer", 150_000, "2019-07-01", c),
        // Outside the quarter.
        money("arrival", 70_000, "2019-10-01", c),
        money("arrival", 30_000, "2019-06-30", c),
        // 仁怀's: 1,000.00 arrived, 1,500.00 transferred.
        money("arrival", 100_000, "2019-07-20", p),
        money("transfer", 150_000, "2019-07-02", p),
        money("arrival", 5_000, "2019-12-01", p),
    ] {
        created(app, &admin, "/api/v1/fund-transactions", body).await;
    }
    // Deleted: not counted.
    let gone = created(
        app,
        &admin,
        "/api/v1/fund-transactions",
        money("arrival", 999, "2019-07-09", c),
    )
    .await;
    let response = app
        .delete(
            &format!(
                "/api/v1/fund-transactions/{}",
                gone["id"].as_str().unwrap_or_default()
            ),
            &admin,
            Some(1),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // One exchange recorded by the prefecture in the quarter, one of 仁怀's after it.
    created(
        app,
        &app.token(Role::Editor, Some("520300")),
        "/api/v1/exchanges",
        json!({"kind": "inspection_visit", "direction": "east_to_west", "pairing_id": c,
               "host_org_id": zunyi, "visiting_org_ids": [app.org_id("310000").await],
               "start_on": "2019-09-10", "end_on": "2019-09-12"}),
    )
    .await;
    // 上海's own record of the same visit: the east's, not counted on the western side again.
    created(
        app,
        &app.token(Role::Partner, Some("310000")),
        "/api/v1/exchanges",
        json!({"kind": "inspection_visit", "direction": "east_to_west", "pairing_id": c,
               "host_org_id": zunyi, "visiting_org_ids": [app.org_id("310000").await],
               "start_on": "2019-09-10", "end_on": "2019-09-12"}),
    )
    .await;
    created(
        app,
        &admin,
        "/api/v1/exchanges",
        json!({"kind": "inspection_visit", "direction": "east_to_west", "pairing_id": p,
               "host_org_id": renhuai, "visiting_org_ids": [pudong],
               "start_on": "2019-10-10", "end_on": "2019-10-11"}),
    )
    .await;
    World {
        zunyi,
        renhuai,
        finance,
    }
}

#[tokio::test]
async fn a_prefecture_against_its_counties_and_its_departments_statements_found_exactly() {
    let app = spawn_app().await;
    let w = plant(&app).await;
    // The department's own clerk and 仁怀's, signed in as users of theirs.
    let finance_editor = sign_in(&app, "czj-clerk", &w.finance).await;
    let renhuai_editor = sign_in(&app, "rh-clerk", &w.renhuai).await;
    let zunyi_editor = app.token(Role::Editor, Some("520300"));
    // The department's figure agrees; the federation's own count of exchanges does not; a
    // whole-year figure and a county's figure are not part of a Q3 report.
    let agrees = created(
        &app,
        &finance_editor,
        "/api/v1/statements",
        json!({"org_id": w.finance, "year": 2019, "quarter": 3, "indicator": "arrived_fen",
               "value": 150_000, "note": "遵财〔2019〕12号"}),
    )
    .await;
    let differs = created(
        &app,
        &zunyi_editor,
        "/api/v1/statements",
        json!({"org_id": w.zunyi, "year": 2019, "quarter": 3, "indicator": "exchanges",
               "value": 2}),
    )
    .await;
    created(
        &app,
        &finance_editor,
        "/api/v1/statements",
        json!({"org_id": w.finance, "year": 2019, "indicator": "arrived_fen", "value": 1}),
    )
    .await;
    let county_figure = created(
        &app,
        &renhuai_editor,
        "/api/v1/statements",
        json!({"org_id": w.renhuai, "year": 2019, "quarter": 3, "indicator": "arrived_fen",
               "value": 7}),
    )
    .await;

    let report = created(
        &app,
        &zunyi_editor,
        "/api/v1/reconciliations",
        json!({"kind": "vertical", "org_id": w.zunyi, "year": 2019, "quarter": 3}),
    )
    .await;
    assert_eq!(report["kind"], "vertical");
    assert_eq!(report["org_id"], w.zunyi.as_str());
    assert_eq!(report["pairing_id"], Value::Null);
    assert_eq!(report["line_count"], 8, "{report}");
    let id = report["id"].as_str().unwrap_or_default();
    let (status, page) = parts(
        app.get(
            &format!("/api/v1/reconciliations/{id}/lines?limit=500"),
            &zunyi_editor,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let lines: Vec<(String, String, String, i64, i64, Value, Value)> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["record_type"].as_str().unwrap_or_default().to_string(),
                l["indicator"].as_str().unwrap_or_default().to_string(),
                l["status"].as_str().unwrap_or_default().to_string(),
                l["prefecture_value"].as_i64().unwrap_or(-1),
                l["compared_value"].as_i64().unwrap_or(-1),
                l["org_id"].clone(),
                l["statement_id"].clone(),
            )
        })
        .collect();
    let line = |t: &str, i: &str, s: &str, p: i64, c: i64, org: Value, st: Value| {
        (t.to_string(), i.to_string(), s.to_string(), p, c, org, st)
    };
    let none = Value::Null;
    let finance = json!(w.finance);
    let zunyi = json!(w.zunyi);
    assert_eq!(
        lines,
        vec![
            // Mismatches first, in indicator order, the counties' line before the statements.
            line(
                "counties",
                "arrived_fen",
                "mismatch",
                150_000,
                100_000,
                none.clone(),
                none.clone()
            ),
            line(
                "counties",
                "exchanges",
                "mismatch",
                1,
                0,
                none.clone(),
                none.clone()
            ),
            line(
                "statement",
                "exchanges",
                "mismatch",
                1,
                2,
                zunyi,
                differs["id"].clone()
            ),
            line(
                "counties",
                "pledged_fen",
                "matched",
                0,
                0,
                none.clone(),
                none.clone()
            ),
            line(
                "counties",
                "transferred_fen",
                "matched",
                150_000,
                150_000,
                none.clone(),
                none.clone()
            ),
            line(
                "statement",
                "arrived_fen",
                "matched",
                150_000,
                150_000,
                finance,
                agrees["id"].clone()
            ),
            line(
                "counties",
                "spent_fen",
                "matched",
                0,
                0,
                none.clone(),
                none.clone()
            ),
            line(
                "counties",
                "refunded_fen",
                "matched",
                0,
                0,
                none.clone(),
                none
            ),
        ]
    );
    let totals = report["totals"]["by_status"].to_string();
    let by_status: Vec<(String, String, i64)> = report["totals"]["by_status"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["record_type"].as_str().unwrap_or_default().to_string(),
                s["status"].as_str().unwrap_or_default().to_string(),
                s["lines"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        by_status,
        [
            ("counties", "matched", 4),
            ("counties", "mismatch", 2),
            ("statement", "matched", 1),
            ("statement", "mismatch", 1),
        ]
        .map(|(t, s, n)| (t.to_string(), s.to_string(), n)),
        "{totals}"
    );

    // The report is the prefecture's: the department (below it, not above) does not read it,
    // and 遵义 answers its lines.
    let explain = json!({"action": "explain", "note": "含县级转拨资金"});
    let (status, _) = parts(
        app.post_json(
            &format!("/api/v1/reconciliations/{id}/lines/1/steps"),
            &finance_editor,
            &explain,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = parts(
        app.post_json(
            &format!("/api/v1/reconciliations/{id}/lines/1/steps"),
            &zunyi_editor,
            &explain,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resolution"], "explained");
    let (status, body) = parts(
        app.post_json(
            &format!("/api/v1/reconciliations/{id}/lines/3/steps"),
            &zunyi_editor,
            &json!({"action": "resolve", "note": "市残联统计口径含座谈会"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resolution"], "resolved");

    // The department reads and answers the line about its own figure, and nothing else of the
    // report: found through its statement.
    let statement_lines = |statement: &Value| {
        format!(
            "/api/v1/statements/{}/reconciliation-lines",
            statement["id"].as_str().unwrap_or_default()
        )
    };
    let (status, page) = parts(app.get(&statement_lines(&agrees), &finance_editor).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let found: Vec<(Value, Value, Value, Value)> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["reconciliation_id"].clone(),
                l["line_no"].clone(),
                l["status"].clone(),
                l["compared_value"].clone(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![(json!(id), json!(6), json!("matched"), json!(150_000))],
        "{page}"
    );
    assert_eq!(page["next_cursor"], Value::Null);
    // Another organization's statement is not the department's to read, and a figure no report
    // compared has no lines.
    assert_problem(
        app.get(&statement_lines(&differs), &finance_editor).await,
        404,
        "not_found",
    )
    .await;
    let (status, page) = parts(
        app.get(&statement_lines(&county_figure), &renhuai_editor)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"], json!([]));
    for path in [
        format!("/api/v1/reconciliations/{id}"),
        format!("/api/v1/reconciliations/{id}/lines"),
        format!("/api/v1/reconciliations/{id}/lines/3"),
        format!("/api/v1/reconciliations/{id}/lines/3/history"),
    ] {
        assert_problem(app.get(&path, &finance_editor).await, 404, "not_found").await;
    }
    let (status, body) = parts(
        app.post_json(
            &format!("/api/v1/reconciliations/{id}/lines/6/steps"),
            &finance_editor,
            &json!({"action": "explain", "note": "财政口径与台账一致"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resolution"], "explained");
    let (status, history) = parts(
        app.get(
            &format!("/api/v1/reconciliations/{id}/lines/6/history"),
            &finance_editor,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");
    assert_eq!(history[0]["actor_org_id"], json!(w.finance));
    let response = app
        .get(
            &format!("/api/v1/reconciliations/{id}/lines/6"),
            &finance_editor,
        )
        .await;
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (status, line) = parts(response).await;
    assert_eq!(status, StatusCode::OK, "{line}");
    assert_eq!(
        (&line["statement_id"], &line["resolution"], &line["version"]),
        (&agrees["id"], &json!("explained"), &json!(2)),
        "{line}"
    );
    assert!(etag.starts_with("\"2-"), "{etag}");
    // An editor of another prefecture reads neither the statement nor its line.
    let tongren = app.token(Role::Editor, Some("520600"));
    assert_problem(
        app.get(&statement_lines(&agrees), &tongren).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.post_json(
            &format!("/api/v1/reconciliations/{id}/lines/6/steps"),
            &tongren,
            &json!({"action": "resolve"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // The same through GraphQL.
    let data = app
        .gql(
            &finance_editor,
            "query($id: UUID!) { statement(id: $id) { reconciliationLines(first: 5) { \
             edges { node { reconciliationId lineNo resolution note } } } } }",
            json!({"id": agrees["id"]}),
        )
        .await;
    assert_eq!(
        data["data"]["statement"]["reconciliationLines"]["edges"],
        json!([{"node": {"reconciliationId": id, "lineNo": 6, "resolution": "explained",
                         "note": "财政口径与台账一致"}}]),
        "{data}"
    );

    // A second run compares the statement again: its lines page one report at a time.
    let again = created(
        &app,
        &zunyi_editor,
        "/api/v1/reconciliations",
        json!({"kind": "vertical", "org_id": w.zunyi, "year": 2019, "quarter": 3}),
    )
    .await;
    let mut seen = Vec::new();
    let mut path = format!("{}?limit=1", statement_lines(&agrees));
    for _ in 0..3 {
        let (status, page) = parts(app.get(&path, &finance_editor).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
        seen.push(page["items"][0]["reconciliation_id"].clone());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("{}?limit=1&cursor={cursor}", statement_lines(&agrees));
            }
            None => break,
        }
    }
    assert_eq!(seen, vec![json!(id), again["id"].clone()]);

    // The CSV carries the indicator and both figures.
    let text = app
        .get(
            &format!("/api/v1/reconciliations/{id}/lines?format=csv"),
            &zunyi_editor,
        )
        .await
        .text()
        .await
        .unwrap_or_default();
    let second = text.lines().nth(1).unwrap_or_default();
    assert!(
        second.contains("县级合计")
            && second.contains("到位金额")
            && second.contains("1500.00")
            && second.contains("1000.00"),
        "{second}"
    );

    // Who may run and read it.
    assert_problem(
        app.get(&format!("/api/v1/reconciliations/{id}"), &tongren)
            .await,
        404,
        "not_found",
    )
    .await;
    let vertical = json!({"kind": "vertical", "org_id": w.zunyi, "year": 2019, "quarter": 3});
    for token in [
        tongren.clone(),
        app.token(Role::Partner, Some("310000")),
        app.token(Role::Auditor, None),
        renhuai_editor.clone(),
    ] {
        let response = app
            .post_json("/api/v1/reconciliations", &token, &vertical)
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    let auditor = app.token(Role::Auditor, None);
    assert_eq!(
        app.get(&format!("/api/v1/reconciliations/{id}"), &auditor)
            .await
            .status(),
        StatusCode::OK
    );
    let (_, listed) = parts(
        app.get(
            &format!("/api/v1/reconciliations?org_id={}", w.zunyi),
            &zunyi_editor,
        )
        .await,
    )
    .await;
    // Both runs of the report.
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
}

#[tokio::test]
async fn statements_are_one_per_period_and_their_organizations_and_bad_input_is_named() {
    let app = spawn_app().await;
    let w = plant(&app).await;
    let zunyi_editor = app.token(Role::Editor, Some("520300"));
    let first = created(
        &app,
        &zunyi_editor,
        "/api/v1/statements",
        json!({"org_id": w.finance, "year": 2019, "quarter": 3, "indicator": "spent_fen",
               "value": 10}),
    )
    .await;
    let body = assert_problem(
        app.post_json(
            "/api/v1/statements",
            &zunyi_editor,
            &json!({"org_id": w.finance, "year": 2019, "quarter": 3, "indicator": "spent_fen",
                    "value": 11}),
        )
        .await,
        409,
        "duplicate",
    )
    .await;
    assert_eq!(body["existing_id"], first["id"], "{body}");
    // Two declarations racing past that check meet the database's unique index.
    {
        use sea_orm::{ActiveValue::Set, EntityTrait};
        let at = chrono::Utc::now();
        let org: uuid::Uuid = w.finance.parse().unwrap_or_else(|e| panic!("{e}"));
        let raced = entity::statement::Entity::insert(entity::statement::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            org_id: Set(org),
            year: Set(2019),
            quarter: Set(Some(3)),
            indicator: Set("spent_fen".into()),
            value: Set(11),
            note: Set(None),
            version: Set(1),
            owner_org_id: Set(org),
            external_id: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
            deleted_at: Set(None),
        })
        .exec_without_returning(&app.ctx.db)
        .await;
        let Err(err) = raced else {
            panic!("a second live figure for the period was stored");
        };
        assert!(
            matches!(
                xiezuo::error::AppError::from(err),
                xiezuo::error::AppError::Conflict {
                    code: "duplicate",
                    ..
                }
            ),
            "not a duplicate"
        );
    }
    // Outside the organization's subtree it is not there to declare for; the assessment team,
    // which reads it, writes nothing.
    let outside = json!({"org_id": w.finance, "year": 2019, "indicator": "spent_fen", "value": 1});
    for token in [
        app.token(Role::Editor, Some("520600")),
        app.token(Role::Partner, Some("310000")),
    ] {
        let body = assert_problem(
            app.post_json("/api/v1/statements", &token, &outside).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "org_id", "{body}");
    }
    assert_problem(
        app.post_json(
            "/api/v1/statements",
            &app.token(Role::Auditor, None),
            &outside,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let body = assert_problem(
        app.post_json(
            "/api/v1/statements",
            &zunyi_editor,
            &json!({"org_id": w.finance, "year": 1999, "quarter": 5, "indicator": "arrived_fen",
                    "value": -1}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["year", "quarter", "value"], "{body}");
    // A correction, then withdrawal.
    let id = first["id"].as_str().unwrap_or_default();
    let (status, updated) = parts(
        app.patch_json(
            &format!("/api/v1/statements/{id}"),
            &zunyi_editor,
            Some(1),
            &json!({"value": 12}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["value"], 12);
    let response = app
        .delete(&format!("/api/v1/statements/{id}"), &zunyi_editor, Some(2))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // GraphQL declares through the same service.
    let reply = app
        .gql(
            &zunyi_editor,
            "mutation($input: NewStatementInput!) { createStatement(input: $input) { id indicator value } }",
            json!({"input": {"orgId": w.finance, "year": 2019, "quarter": 3,
                             "indicator": "spent_fen", "value": 13}}),
        )
        .await;
    assert_eq!(reply["data"]["createStatement"]["value"], 13, "{reply}");
    // The report a figure comes from is evidence of the statement.
    let declared: uuid::Uuid = reply["data"]["createStatement"]["id"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let proof = app
        .upload_proof(&zunyi_editor, "statistics", ("statement", declared))
        .await;
    assert_eq!(proof["links"][0]["record_type"], "statement", "{proof}");
    // A vertical reconciliation names a prefecture, and not a pairing.
    for (body, field) in [
        (
            json!({"kind": "vertical", "org_id": w.renhuai, "year": 2019}),
            "org_id",
        ),
        (
            json!({"kind": "vertical", "org_id": w.zunyi, "year": 2019,
                   "pairing_id": app.pairing_id("310000", "520300").await}),
            "pairing_id",
        ),
        (
            json!({"kind": "horizontal", "org_id": w.zunyi, "year": 2019}),
            "org_id",
        ),
        (json!({"kind": "horizontal", "year": 2019}), "pairing_id"),
    ] {
        let problem = assert_problem(
            app.post_json("/api/v1/reconciliations", &app.admin_token(), &body)
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert!(problem.to_string().contains(field), "{problem}");
    }
}

/// The prefecture's figure of `indicator` in vertical report `report`'s counties line.
async fn prefecture_figure(app: &TestApp, token: &str, report: &Value, indicator: &str) -> i64 {
    let id = report["id"].as_str().unwrap_or_default();
    let path = format!("/api/v1/reconciliations/{id}/lines?limit=500");
    let (status, page) = parts(app.get(&path, token).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let found: Vec<i64> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["record_type"] == "counties" && l["indicator"] == indicator)
        .filter_map(|l| l["prefecture_value"].as_i64())
        .collect();
    assert_eq!(found.len(), 1, "one counties line of {indicator}: {page}");
    found[0]
}

/// A vertical report describes the ledgers at one moment too (PostgreSQL): an exchange that
/// commits after the run summed the money, and before it counts the exchanges, is not counted.
/// The exchange is held back by a table lock until the run waits for that table.
#[tokio::test]
async fn a_vertical_report_reads_the_ledgers_as_they_were_when_it_began() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    let app = spawn_app().await;
    if app.ctx.db.get_database_backend() != DbBackend::Postgres {
        // SQLite runs one write transaction at a time: nothing commits during a run.
        return;
    }
    let zunyi = app.org_id("520300").await;
    let pairing = app.pairing_id("310000", "520300").await;
    let editor = app.token(Role::Editor, Some("520300"));
    let admin = app.admin_token();
    let arrival = money("arrival", 100_000, "2019-07-05", &pairing.to_string());
    created(&app, &admin, "/api/v1/fund-transactions", arrival).await;
    let body = json!({"kind": "vertical", "org_id": zunyi, "year": 2019, "quarter": 3});

    let late = app.ctx.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let sql = |sql: String| Statement::from_string(DbBackend::Postgres, sql);
    for statement in [
        "LOCK TABLE exchanges IN ACCESS EXCLUSIVE MODE".to_owned(),
        format!(
            "INSERT INTO exchanges (id, kind, direction, pairing_id, host_org_id, start_on, \
             end_on, leaders_present, version, owner_org_id, created_at, updated_at) VALUES \
             ('{}', 'inspection_visit', 'east_to_west', '{pairing}', '{zunyi}', \
             DATE '2019-09-10', DATE '2019-09-12', '[]', 1, '{zunyi}', now(), now())",
            uuid::Uuid::now_v7()
        ),
    ] {
        late.execute_raw(sql(statement))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let release = async {
        // The run has summed the money, and waits for the exchanges.
        app.until_a_backend_waits_for_a_lock().await;
        late.commit().await.unwrap_or_else(|e| panic!("{e}"));
    };
    let post = app.post_json("/api/v1/reconciliations", &editor, &body);
    let (response, ()) = tokio::join!(post, release);
    let (status, during) = parts(response).await;
    assert_eq!(status, StatusCode::CREATED, "{during}");
    assert_eq!(
        prefecture_figure(&app, &editor, &during, "arrived_fen").await,
        100_000
    );
    assert_eq!(
        prefecture_figure(&app, &editor, &during, "exchanges").await,
        0
    );

    // The exchange is the prefecture's: a run that begins after it counts it.
    let after = created(&app, &editor, "/api/v1/reconciliations", body).await;
    assert_eq!(
        prefecture_figure(&app, &editor, &after, "exchanges").await,
        1
    );
}
