//! Batch sync, as a partner system uses it: a batch keyed by external_id creates, then reports
//! `unchanged`, then updates; one bad item writes nothing and every bad item is named; the money
//! rules hold for the batch as a whole; nobody writes outside what they may write.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app, spawn_app_with};
use xiezuo::domain::Role;

const PATH: &str = "/api/v1/sync/fund_transaction";

async fn sync(app: &TestApp, token: &str, items: Value) -> (StatusCode, Value) {
    parts(app.post_json(PATH, token, &json!({ "items": items })).await).await
}

/// The `result` of each item, in order.
fn outcomes(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {body}"))
        .iter()
        .map(|r| r["result"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `(field, external_id)` of each error of a 422.
fn item_errors(body: &Value) -> Vec<(String, Option<String>)> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"))
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or_default().to_string(),
                e["external_id"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn item(external_id: &str, kind: &str, amount: i64, pairing: &str) -> Value {
    json!({"external_id": external_id, "kind": kind, "amount_fen": amount,
           "occurred_on": "2019-06-03", "pairing_id": pairing, "voucher_no": external_id})
}

/// The fund transactions of `pairing` the caller reads, by external id: `(amount, version)`.
async fn stored(app: &TestApp, token: &str, pairing: &str) -> Vec<(String, i64, i64)> {
    let (status, page) = parts(
        app.get(
            &format!("/api/v1/fund-transactions?pairing_id={pairing}&limit=500"),
            token,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut out: Vec<(String, i64, i64)> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some((
                t["external_id"].as_str()?.to_string(),
                t["amount_fen"].as_i64()?,
                t["version"].as_i64()?,
            ))
        })
        .filter(|(e, _, _)| e.starts_with("SH-") || e.starts_with("ZY-"))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_batch_creates_then_is_unchanged_then_updates() {
    let app = spawn_app().await;
    let shanghai = app.token(Role::Partner, Some("310000"));
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let batch = json!([
        item("SH-1", "pledge", 500_000, &pairing),
        item("SH-2", "transfer", 200_000, &pairing),
        item("SH-3", "transfer", 300_000, &pairing),
    ]);

    let (status, first) = sync(&app, &shanghai, batch.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(outcomes(&first), ["created", "created", "created"]);
    assert_eq!(first["results"][1]["external_id"], "SH-2");
    let id = first["results"][1]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // Stored as sent (a field the item left out is null), and the audit entry's image of the
    // new record is the record as stored: the batch keeps the rows it inserts rather than
    // reading them back, so any difference between the two would show here.
    let (_, created) = parts(
        app.get(&format!("/api/v1/fund-transactions/{id}"), &shanghai)
            .await,
    )
    .await;
    assert_eq!(
        [
            &created["external_id"],
            &created["kind"],
            &created["amount_fen"],
            &created["occurred_on"],
            &created["voucher_no"],
            &created["note"],
            &created["project_id"],
            &created["version"],
        ],
        [
            &json!("SH-2"),
            &json!("transfer"),
            &json!(200_000),
            &json!("2019-06-03"),
            &json!("SH-2"),
            &Value::Null,
            &Value::Null,
            &json!(1),
        ],
        "{created}"
    );
    let (_, audit) = parts(
        app.get(
            &format!("/api/v1/audit-log?record_id={id}"),
            &app.admin_token(),
        )
        .await,
    )
    .await;
    assert_eq!(audit["items"][0]["action"], "create", "{audit}");
    assert_eq!(audit["items"][0]["before"], Value::Null, "{audit}");
    assert_eq!(audit["items"][0]["after"], created, "{audit}");

    // Sent again, as a retrying partner system would: nothing written.
    let (status, again) = sync(&app, &shanghai, batch.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(outcomes(&again), ["unchanged", "unchanged", "unchanged"]);
    assert_eq!(again["results"][1]["id"], id.as_str());

    // One transaction corrected: every field it may change.
    let mut corrected = batch.clone();
    corrected[1]["amount_fen"] = json!(250_000);
    corrected[1]["occurred_on"] = json!("2019-06-04");
    corrected[1]["voucher_no"] = json!("SH-2-B");
    corrected[1]["note"] = json!("更正");
    let (status, third) = sync(&app, &shanghai, corrected).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_eq!(outcomes(&third), ["unchanged", "updated", "unchanged"]);
    let (_, record) = parts(
        app.get(&format!("/api/v1/fund-transactions/{id}"), &shanghai)
            .await,
    )
    .await;
    assert_eq!(
        [
            &record["amount_fen"],
            &record["occurred_on"],
            &record["voucher_no"],
            &record["note"]
        ],
        [
            &json!(250_000),
            &json!("2019-06-04"),
            &json!("SH-2-B"),
            &json!("更正")
        ],
        "{record}"
    );
    assert_eq!(
        stored(&app, &shanghai, &pairing).await,
        [
            ("SH-1".to_string(), 500_000, 1),
            ("SH-2".to_string(), 250_000, 2),
            ("SH-3".to_string(), 300_000, 1)
        ]
    );

    // An external id its organization gave a deleted transaction is not reused.
    let sh3 = third["results"][2]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let response = app
        .delete(&format!("/api/v1/fund-transactions/{sh3}"), &shanghai, None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, problem) = sync(&app, &shanghai, batch.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [("items[2].external_id".to_string(), Some("SH-3".to_string()))]
    );

    // Each write is audited and in the change feed, like a single write.
    let (status, audit) = parts(
        app.get(
            &format!("/api/v1/audit-log?record_id={id}"),
            &app.admin_token(),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["record_id"] == id.as_str())
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["create", "update"], "{audit}");
    let (_, feed) = parts(
        app.get(
            "/api/v1/changes?record_type=fund_transaction&limit=500",
            &shanghai,
        )
        .await,
    )
    .await;
    let versions: Vec<i64> = feed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["record_id"] == id.as_str())
        .filter_map(|c| c["version"].as_i64())
        .collect();
    assert_eq!(versions, [1, 2], "{feed}");
}

#[tokio::test]
async fn one_bad_item_writes_nothing_and_every_bad_item_is_named() {
    let app = spawn_app().await;
    let shanghai = app.token(Role::Partner, Some("310000"));
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let elsewhere = app.pairing_id("320500", "520600").await.to_string();
    let mut no_external = item("x", "pledge", 1, &pairing);
    no_external.as_object_mut().map(|o| o.remove("external_id"));
    let batch = json!([
        item("SH-1", "pledge", 100, &pairing),
        item("SH-2", "pledge", -5, &pairing),
        item("SH-3", "arrival", 100, &pairing),
        item("SH-1", "transfer", 100, &pairing),
        no_external,
        item("SH-6", "pledge", 100, &elsewhere),
        item("SH-7", "pledge", 100, &pairing),
    ]);
    let (status, problem) = sync(&app, &shanghai, batch).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "validation_failed");
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        item_errors(&problem),
        [
            ("items[1].amount_fen".to_string(), s("SH-2")),
            ("items[2].kind".to_string(), s("SH-3")),
            ("items[3].external_id".to_string(), s("SH-1")),
            ("items[4].external_id".to_string(), None),
            // 苏州–铜仁 is not 上海's: answered as missing, as a single write would be.
            ("items[5].pairing_id".to_string(), s("SH-6")),
        ]
    );
    assert_eq!(stored(&app, &shanghai, &pairing).await, []);

    // The good items alone go through: they had not been written.
    let (status, body) = sync(
        &app,
        &shanghai,
        json!([
            item("SH-1", "pledge", 100, &pairing),
            item("SH-7", "pledge", 100, &pairing)
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(outcomes(&body), ["created", "created"]);

    // A stored transaction keeps its kind and pairing.
    let (status, problem) = sync(
        &app,
        &shanghai,
        json!([item("SH-1", "transfer", 100, &pairing)]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [("items[0].kind".to_string(), s("SH-1"))]
    );
}

#[tokio::test]
async fn the_money_rules_hold_for_the_batch_as_a_whole() {
    let app = spawn_app().await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    // More than could ever have arrived on the pairing, spent: refused, nothing written.
    let huge = 9_000_000_000_000;
    let (status, problem) = sync(
        &app,
        &zunyi,
        json!([
            item("ZY-1", "arrival", 1_000, &pairing),
            item("ZY-2", "expenditure", huge, &pairing)
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let errors = item_errors(&problem);
    assert!(
        errors.contains(&("items[1].amount_fen".to_string(), Some("ZY-2".to_string()))),
        "{problem}"
    );
    assert_eq!(stored(&app, &zunyi, &pairing).await, []);

    // An arrival and the spending it pays for, in one batch.
    let (status, body) = sync(
        &app,
        &zunyi,
        json!([
            item("ZY-1", "arrival", huge, &pairing),
            item("ZY-2", "expenditure", huge, &pairing)
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(outcomes(&body), ["created", "created"]);

    // Lowering the arrival under what was spent is refused on the batch that does it.
    let (status, problem) = sync(
        &app,
        &zunyi,
        json!([item("ZY-1", "arrival", 1_000, &pairing)]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [("items[0].amount_fen".to_string(), Some("ZY-1".to_string()))]
    );
}

#[tokio::test]
async fn sync_is_refused_where_a_single_write_is() {
    let app = spawn_app_with(|c| c.sync_batch_max = 3).await;
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let one = json!([item("A-1", "pledge", 100, &pairing)]);

    // The auditor writes no fund transactions at all.
    let response = app
        .post_json(
            PATH,
            &app.token(Role::Auditor, None),
            &json!({ "items": one }),
        )
        .await;
    assert_problem(response, 403, "forbidden").await;
    // 广州 is not on 上海–遵义.
    let guangzhou = app.token(Role::Partner, Some("440100"));
    let (status, problem) = sync(&app, &guangzhou, one.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [("items[0].pairing_id".to_string(), Some("A-1".to_string()))]
    );
    let response = app.post_json(PATH, "", &json!({ "items": one })).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Over the configured bound, and a type sync does not take.
    let shanghai = app.token(Role::Partner, Some("310000"));
    let four: Vec<Value> = (0..4)
        .map(|i| item(&format!("A-{i}"), "pledge", 100, &pairing))
        .collect();
    let response = app
        .post_json(PATH, &shanghai, &json!({ "items": four }))
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "items");
    let response = app
        .post_json("/api/v1/sync/contact", &shanghai, &json!({ "items": [] }))
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "record_type");
    // A body that is not a batch names the field.
    let response = app
        .post_json(
            PATH,
            &shanghai,
            &json!({ "items": [{"external_id": "A-1"}] }),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert!(
        problem["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["field"] == "items[0].amount_fen"),
        "{problem}"
    );
}

/// GraphQL's `syncFundTransactions` is the same service: the same results, the same errors.
#[tokio::test]
async fn graphql_syncs_the_same_way() {
    let app = spawn_app().await;
    let shanghai = app.token(Role::Partner, Some("310000"));
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let query = "mutation($items: [NewFundTransactionInput!]!) {
        syncFundTransactions(items: $items) { externalId id result } }";
    let gql_item = |external: &str, amount: i64| {
        json!({"externalId": external, "kind": "pledge", "amountFen": amount,
               "occurredOn": "2019-06-03", "pairingId": pairing, "voucherNo": external})
    };
    let body = app
        .gql(&shanghai, query, json!({"items": [gql_item("SH-G1", 100)]}))
        .await;
    assert_eq!(
        body["data"]["syncFundTransactions"][0]["result"], "created",
        "{body}"
    );
    // Now known to REST's sync too.
    let (status, rest) = sync(
        &app,
        &shanghai,
        json!([item("SH-G1", "pledge", 100, &pairing)]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rest}");
    assert_eq!(rest["results"][0]["result"], "unchanged", "{rest}");
    assert_eq!(
        rest["results"][0]["id"],
        body["data"]["syncFundTransactions"][0]["id"]
    );

    let body = app
        .gql(
            &shanghai,
            query,
            json!({"items": [gql_item("SH-G1", 200), gql_item("SH-G2", -1)]}),
        )
        .await;
    let error = &body["errors"][0]["extensions"];
    assert_eq!(error["code"], "validation_failed", "{body}");
    assert_eq!(error["errors"][0]["field"], "items[1].amount_fen", "{body}");
    assert_eq!(error["errors"][0]["externalId"], "SH-G2", "{body}");
    // Nothing written: SH-G1 still has its first amount.
    assert_eq!(
        stored(&app, &shanghai, &pairing).await,
        [("SH-G1".to_string(), 100, 1)]
    );
}

/// A project's rules hold in a batch as in a single write: it must exist on the item's pairing,
/// and once cancelled it takes refunds only, while a re-sent item that changes nothing passes.
#[tokio::test]
async fn project_rules_hold_in_a_batch() {
    let app = spawn_app().await;
    let shanghai = app.token(Role::Partner, Some("310000"));
    let zunyi = app.token(Role::Editor, Some("520300"));
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let (status, project) = parts(
        app.post_json(
            "/api/v1/projects",
            &zunyi,
            &json!({"code": "SY-P", "year": 2019, "title": "康复设备", "category": "rehabilitation",
                    "pairing_id": pairing, "basis": "b", "measures": "m", "deep_poverty": false,
                    "beneficiaries_planned": 10, "budget_fen": 100_000, "items": [], "milestones": []}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    let project = project["id"].as_str().unwrap_or_default().to_string();
    let on_project = |external: &str, kind: &str, amount: i64| {
        let mut i = item(external, kind, amount, &pairing);
        i["project_id"] = json!(project);
        i
    };

    let (status, body) = sync(&app, &shanghai, json!([on_project("SH-P1", "pledge", 900)])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = sync(&app, &zunyi, json!([on_project("ZY-P1", "arrival", 800)])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut unknown = item("SH-P2", "pledge", 1, &pairing);
    unknown["project_id"] = json!(uuid::Uuid::now_v7());
    let (status, problem) = sync(&app, &shanghai, json!([unknown])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [("items[0].project_id".to_string(), Some("SH-P2".to_string()))]
    );

    let response = app
        .patch_json(
            &format!("/api/v1/projects/{project}"),
            &zunyi,
            None,
            &json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // The same pledge again: nothing changes, so nothing is refused.
    let (status, body) = sync(&app, &shanghai, json!([on_project("SH-P1", "pledge", 900)])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(outcomes(&body), ["unchanged"]);
    // More money for it, new or changed, is refused; a refund is taken.
    let (status, problem) = sync(
        &app,
        &shanghai,
        json!([
            on_project("SH-P1", "pledge", 1_000),
            on_project("SH-P3", "pledge", 5)
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [
            ("items[0].project_id".to_string(), Some("SH-P1".to_string())),
            ("items[1].project_id".to_string(), Some("SH-P3".to_string()))
        ]
    );
    // Taking a pledge off the cancelled project is allowed: no money goes to it.
    let (status, body) = sync(
        &app,
        &shanghai,
        json!([item("SH-P1", "pledge", 900, &pairing)]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(outcomes(&body), ["updated"]);
    let moved = body["results"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (_, record) = parts(
        app.get(&format!("/api/v1/fund-transactions/{moved}"), &shanghai)
            .await,
    )
    .await;
    assert_eq!(record["project_id"], Value::Null, "{record}");
    let (status, body) = sync(&app, &zunyi, json!([on_project("ZY-P2", "refund", 800)])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(outcomes(&body), ["created"]);
    // Refunding more than arrived for the project is refused, on the project's totals.
    let (status, problem) = sync(&app, &zunyi, json!([on_project("ZY-P3", "refund", 1)])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("the project would"))),
        "{problem}"
    );
}

/// A verified project's money no longer changes through sync, neither on it nor away from it;
/// and a project must be on the item's pairing (the admin reads every project).
#[tokio::test]
async fn a_verified_project_keeps_its_money() {
    let app = spawn_app().await;
    let shanghai = app.token(Role::Partner, Some("310000"));
    let zunyi = app.token(Role::Editor, Some("520300"));
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let (status, project) = parts(
        app.post_json(
            "/api/v1/projects",
            &zunyi,
            &json!({"code": "SY-V", "year": 2019, "title": "康复设备", "category": "rehabilitation",
                    "pairing_id": pairing, "basis": "b", "measures": "m", "deep_poverty": false,
                    "beneficiaries_planned": 10, "budget_fen": 100_000, "items": [], "milestones": []}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    let id = project["id"].as_str().unwrap_or_default().to_string();
    let path = format!("/api/v1/projects/{id}");
    let on_project = |external: &str, kind: &str, amount: i64| {
        let mut i = item(external, kind, amount, &pairing);
        i["project_id"] = json!(id);
        i
    };
    let step = |token: String, status: &'static str| {
        let (app, path) = (&app, path.clone());
        async move {
            let response = app
                .patch_json(&path, &token, None, &json!({ "status": status }))
                .await;
            assert_eq!(response.status(), StatusCode::OK, "{status}");
        }
    };
    step(zunyi.clone(), "agreed").await;
    let (status, body) = sync(&app, &shanghai, json!([on_project("SH-V1", "pledge", 900)])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    step(zunyi.clone(), "funded").await;
    let (status, body) = sync(&app, &zunyi, json!([on_project("ZY-V1", "arrival", 800)])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    step(zunyi.clone(), "in_progress").await;
    step(zunyi.clone(), "completed").await;
    step(app.token(Role::Coordinator, Some("520000")), "verified").await;

    let (status, body) = sync(&app, &shanghai, json!([on_project("SH-V1", "pledge", 900)])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(outcomes(&body), ["unchanged"]);
    for changed in [
        on_project("SH-V1", "pledge", 901),
        item("SH-V1", "pledge", 900, &pairing),
    ] {
        let (status, problem) = sync(&app, &shanghai, json!([changed])).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(
            item_errors(&problem),
            [("items[0].project_id".to_string(), Some("SH-V1".to_string()))]
        );
    }

    // The admin names the project on another pairing.
    let mut elsewhere = on_project("AD-1", "pledge", 5);
    elsewhere["pairing_id"] = json!(app.pairing_id("320500", "520600").await);
    let (status, problem) = sync(&app, &app.admin_token(), json!([elsewhere])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        problem["errors"][0]["field"], "items[0].project_id",
        "{problem}"
    );
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("another pairing")),
        "{problem}"
    );
}
