//! The self-assessment (自评) workflow: drafted from the computed indicators, sent to the
//! eastern partner, the partner's opinion, submitted; each step by whom it belongs to, kept
//! with who and when, in order; the indicators following the records until sent and frozen
//! after.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

fn id(v: &Value) -> Uuid {
    v["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("no id in {v}"))
}

fn indicator(view: &Value, code: &str) -> Value {
    view["indicators"]["indicators"]
        .as_array()
        .and_then(|all| all.iter().find(|i| i["code"] == code))
        .map(|i| i["value"].clone())
        .unwrap_or_else(|| panic!("no {code} in {view}"))
}

async fn step(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = app.request(Method::POST, path, Some(token));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request failed")
}

async fn arrival(app: &TestApp, token: &str, pairing: Uuid, fen: i64, on: &str) {
    let (status, body) = parts(
        app.post_json(
            "/api/v1/fund-transactions",
            token,
            &json!({"kind": "arrival", "amount_fen": fen, "occurred_on": on,
                    "pairing_id": pairing, "voucher_no": format!("A-{on}")}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_self_assessment_is_drafted_sent_answered_and_submitted() {
    let app = spawn_app().await;
    let zunyi = app.org_id("520300").await;
    let shanghai = app.org_id("310000").await;
    let pairing = app.pairing_id("310000", "520300").await;
    let editor = app.token(Role::Editor, Some("520300"));
    let partner = app.token(Role::Partner, Some("310000"));
    let other_partner = app.token(Role::Partner, Some("330100"));
    arrival(&app, &editor, pairing, 300_000, "2019-05-06").await;

    // Drafted by the prefecture, with the indicators as they stand.
    let body = json!({"org_id": zunyi, "year": 2019,
                      "summary": "2019年遵义市残联东西部扶贫协作工作自评（示例）"});
    let (status, draft) = parts(
        app.post_json("/api/v1/self-assessments", &editor, &body)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["partner_org_id"], json!(shanghai));
    assert_eq!(draft["pairing_id"], json!(pairing));
    assert_eq!(indicator(&draft, "arrived_fen"), 300_000);
    assert!(draft["drafted_by"].is_string());
    let path = format!("/api/v1/self-assessments/{}", id(&draft));
    // One per organization and year.
    let conflict = assert_problem(
        app.post_json("/api/v1/self-assessments", &editor, &body)
            .await,
        409,
        "duplicate",
    )
    .await;
    assert_eq!(conflict["existing_id"], json!(id(&draft)), "{conflict}");

    // The draft follows the records.
    arrival(&app, &editor, pairing, 200_000, "2019-06-06").await;
    let (status, edited) = parts(
        app.patch_json(
            &path,
            &editor,
            Some(1),
            &json!({"summary": "修改后的自评（示例）"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["summary"], "修改后的自评（示例）");
    assert_eq!(indicator(&edited, "arrived_fen"), 500_000);
    assert_eq!(edited["version"], 2);

    // Out of order, or by the wrong side.
    let opinion_url = format!("{path}/opinion");
    assert_problem(
        step(
            &app,
            &partner,
            &opinion_url,
            Some(json!({"opinion": "agree"})),
        )
        .await,
        409,
        "invalid_transition",
    )
    .await;
    assert_problem(
        step(&app, &partner, &format!("{path}/send"), None).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        step(&app, &editor, &format!("{path}/submit"), None).await,
        409,
        "invalid_transition",
    )
    .await;

    // Sent: the indicators freeze.
    let (status, sent) = parts(step(&app, &editor, &format!("{path}/send"), None).await).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["status"], "sent");
    assert!(sent["sent_at"].is_string() && sent["sent_by"].is_string());
    arrival(&app, &editor, pairing, 100_000, "2019-07-06").await;
    let (_, later) = parts(app.get(&path, &partner).await).await;
    assert_eq!(indicator(&later, "arrived_fen"), 500_000);
    assert_eq!(later["indicators_sha256"], sent["indicators_sha256"]);
    assert_problem(
        app.patch_json(&path, &editor, Some(3), &json!({"summary": "再改"}))
            .await,
        409,
        "invalid_transition",
    )
    .await;

    // The opinion is the partner's: not the prefecture's, not another city's.
    assert_problem(
        step(
            &app,
            &editor,
            &opinion_url,
            Some(json!({"opinion": "agree"})),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        step(
            &app,
            &other_partner,
            &opinion_url,
            Some(json!({"opinion": "agree"})),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let problem = assert_problem(
        step(
            &app,
            &partner,
            &opinion_url,
            Some(json!({"opinion": "comment"})),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "comment");
    let (status, answered) = parts(
        step(
            &app,
            &partner,
            &opinion_url,
            Some(json!({"opinion": "comment", "comment": "建议补充劳务协作的就业人数（示例）"})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_eq!(answered["status"], "opinion_given");
    assert_eq!(answered["opinion"], "comment");
    assert!(answered["opinion_at"].is_string() && answered["opinion_by"].is_string());
    assert_problem(
        step(
            &app,
            &partner,
            &opinion_url,
            Some(json!({"opinion": "agree"})),
        )
        .await,
        409,
        "invalid_transition",
    )
    .await;

    // Submitted by the prefecture.
    assert_problem(
        step(&app, &partner, &format!("{path}/submit"), None).await,
        403,
        "forbidden",
    )
    .await;
    let (status, submitted) =
        parts(step(&app, &editor, &format!("{path}/submit"), None).await).await;
    assert_eq!(status, StatusCode::OK, "{submitted}");
    assert_eq!(submitted["status"], "submitted");
    assert!(submitted["submitted_at"].is_string());
    assert_eq!(submitted["version"], 5);
    assert_problem(
        step(&app, &editor, &format!("{path}/submit"), None).await,
        409,
        "invalid_transition",
    )
    .await;

    // Every step is in the audit log.
    let (_, log) = parts(
        app.get(
            &format!(
                "/api/v1/audit-log?record_type=self_assessment&record_id={}",
                id(&draft)
            ),
            &app.admin_token(),
        )
        .await,
    )
    .await;
    let statuses: Vec<String> = log["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|e| {
                    e["after"]["status"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        statuses,
        ["draft", "draft", "sent", "opinion_given", "submitted"],
        "{log}"
    );

    // Who reads it: the prefecture's side, its partner, the roles that read everything.
    for (role, org, status) in [
        (Role::Editor, Some("520000"), 200),
        (Role::Partner, Some("310000"), 200),
        (Role::Auditor, None, 200),
        (Role::Partner, Some("330100"), 404),
        (Role::Editor, Some("520400"), 404),
    ] {
        let response = app.get(&path, &app.token(role, org)).await;
        assert_eq!(response.status().as_u16(), status, "{role:?} of {org:?}");
    }

    // GraphQL reads the same record.
    let gql = app
        .gql(
            &partner,
            "query($id: UUID!) { selfAssessment(id: $id) { status opinion partnerOrgId
                indicators { year indicators { code value } } } }",
            json!({"id": id(&draft)}),
        )
        .await;
    assert_eq!(gql["errors"], Value::Null, "{gql}");
    assert_eq!(gql["data"]["selfAssessment"]["status"], "submitted");
    assert_eq!(gql["data"]["selfAssessment"]["opinion"], "comment");
}

#[tokio::test]
async fn a_self_assessment_needs_a_western_organization_with_a_partner() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let draft = |org: Uuid, year: i32, summary: &str| json!({"org_id": org, "year": year, "summary": summary});
    for (org, field) in [
        // 贵阳 is assisted by no one.
        (app.org_id("520100").await, "org_id"),
        // The province has six province-level pairings: it must name one.
        (app.org_id("520000").await, "pairing_id"),
        // An eastern city gives opinions; it does not file here.
        (app.org_id("310000").await, "org_id"),
    ] {
        let problem = assert_problem(
            app.post_json(
                "/api/v1/self-assessments",
                &admin,
                &draft(org, 2019, "自评"),
            )
            .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let problem = assert_problem(
        app.post_json(
            "/api/v1/self-assessments",
            &admin,
            &draft(app.org_id("520300").await, 1800, "  "),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    fields.sort_unstable();
    assert_eq!(fields, ["summary", "year"], "{problem}");
    // Only the organization's writers draft it.
    for (role, org) in [
        (Role::Partner, Some("310000")),
        (Role::Auditor, None),
        (Role::Editor, Some("520382")),
    ] {
        let response = app
            .post_json(
                "/api/v1/self-assessments",
                &app.token(role, org),
                &draft(app.org_id("520300").await, 2019, "自评"),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{role:?} of {org:?}"
        );
    }
}
