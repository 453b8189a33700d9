//! Batch sync of exchanges and agreements, as a partner system uses it: created, then
//! `unchanged`, then `updated` with the linked rows (visitors, projects) replaced; one bad item
//! writes nothing; a deleted record's external id is refused; nobody writes outside what a
//! single write allows; GraphQL is the same service. The helpers are shared with the other
//! families' sync tests (`sync_evidence`).

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

pub(crate) async fn sync(
    app: &TestApp,
    token: &str,
    family: &str,
    items: Value,
) -> (StatusCode, Value) {
    let path = format!("/api/v1/sync/{family}");
    parts(
        app.post_json(&path, token, &json!({ "items": items }))
            .await,
    )
    .await
}

/// `(external_id, result)` of each item of a 200, in order.
pub(crate) fn outcomes(body: &Value) -> Vec<(String, String)> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {body}"))
        .iter()
        .map(|r| {
            (
                r["external_id"].as_str().unwrap_or_default().to_string(),
                r["result"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

pub(crate) fn expect(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// `(field, external_id)` of each error of a 422.
pub(crate) fn item_errors(body: &Value) -> Vec<(String, Option<String>)> {
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

pub(crate) fn id_of(results: &Value, index: usize) -> String {
    results["results"][index]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {results}"))
        .to_string()
}

pub(crate) async fn read(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = parts(app.get(path, token).await).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// An east-to-west visit of 上海 to 遵义 on their pairing.
async fn visit(app: &TestApp, external_id: &str, summary: &str) -> Value {
    json!({
        "external_id": external_id,
        "kind": "inspection_visit",
        "direction": "east_to_west",
        "pairing_id": app.pairing_id("310000", "520300").await,
        "host_org_id": app.org_id("520300").await,
        "visiting_org_ids": [app.org_id("310000").await],
        "start_on": "2019-04-08",
        "end_on": "2019-04-10",
        "leaders_present": ["上海市残联理事长"],
        "participants": 12,
        "summary": summary,
    })
}

async fn agreement(app: &TestApp, external_id: &str, projects: &[Uuid]) -> Value {
    json!({
        "external_id": external_id,
        "pairing_id": app.pairing_id("310000", "520300").await,
        "title": "上海市残联 遵义市残联 2019年东西部扶贫协作协议",
        "signed_on": "2019-03-28",
        "committed_fen": 300_000_000,
        "project_ids": projects,
    })
}

fn sorted(ids: &[Uuid]) -> Value {
    let mut ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    ids.sort();
    json!(ids)
}

/// The 遵义 editor keeps its visits in its own system and syncs them.
#[tokio::test]
async fn exchanges_are_created_then_unchanged_then_updated_with_their_visitors() {
    let app = spawn_app().await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let zunyi_org = app.org_id("520300").await;
    let (shanghai_org, renhuai_org) = (app.org_id("310000").await, app.org_id("520382").await);

    let batch = json!([
        visit(&app, "ZY-X1", "考察").await,
        visit(&app, "ZY-X2", "座谈").await
    ]);
    let (status, first) = sync(&app, &zunyi, "exchange", batch.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        outcomes(&first),
        expect(&[("ZY-X1", "created"), ("ZY-X2", "created")])
    );
    let x1 = format!("/api/v1/exchanges/{}", id_of(&first, 0));
    let stored = read(&app, &zunyi, &x1).await;
    assert_eq!(stored["external_id"], "ZY-X1");
    assert_eq!(stored["owner_org_id"], zunyi_org.to_string());
    assert_eq!(stored["visiting_org_ids"], json!([shanghai_org]));
    assert_eq!(stored["version"], 1);

    // The same batch again changes nothing.
    let (status, again) = sync(&app, &zunyi, "exchange", batch).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        outcomes(&again),
        expect(&[("ZY-X1", "unchanged"), ("ZY-X2", "unchanged")])
    );
    assert_eq!(again["results"][0]["id"], first["results"][0]["id"]);
    assert_eq!(read(&app, &zunyi, &x1).await["version"], 1);

    // A second visitor and a new summary update ZY-X1; the visitors are replaced, and their
    // order does not matter on the next send.
    let mut changed = visit(&app, "ZY-X1", "考察康复中心").await;
    changed["visiting_org_ids"] = json!([renhuai_org, shanghai_org]);
    let mut reordered = changed.clone();
    reordered["visiting_org_ids"] = json!([shanghai_org, renhuai_org]);
    let (status, third) = sync(
        &app,
        &zunyi,
        "exchange",
        json!([
            changed,
            visit(&app, "ZY-X2", "座谈").await,
            visit(&app, "ZY-X3", "回访").await
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_eq!(
        outcomes(&third),
        expect(&[
            ("ZY-X1", "updated"),
            ("ZY-X2", "unchanged"),
            ("ZY-X3", "created")
        ])
    );
    let stored = read(&app, &zunyi, &x1).await;
    assert_eq!(stored["version"], 2);
    assert_eq!(stored["summary"], "考察康复中心");
    assert_eq!(
        stored["visiting_org_ids"],
        sorted(&[renhuai_org, shanghai_org])
    );
    let (status, same) = sync(&app, &zunyi, "exchange", json!([reordered])).await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(outcomes(&same), expect(&[("ZY-X1", "unchanged")]));
    // 上海, the partner, reads them on its pairing.
    let shanghai = app.token(Role::Partner, Some("310000"));
    assert_eq!(read(&app, &shanghai, &x1).await["summary"], "考察康复中心");

    // Fewer visitors: the old link goes.
    let (status, fourth) = sync(
        &app,
        &zunyi,
        "exchange",
        json!([visit(&app, "ZY-X1", "考察康复中心").await]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{fourth}");
    assert_eq!(outcomes(&fourth), expect(&[("ZY-X1", "updated")]));
    let stored = read(&app, &zunyi, &x1).await;
    assert_eq!(stored["visiting_org_ids"], json!([shanghai_org]));
    assert_eq!(stored["version"], 3);
    // Each write left its audit entry: the create, then two updates.
    let audit = read(
        &app,
        &app.admin_token(),
        &format!(
            "/api/v1/audit-log?record_type=exchange&record_id={}",
            id_of(&first, 0)
        ),
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["create", "update", "update"], "{audit}");
    // With the images a single write logs: none before the create, the old and the new content
    // of each update.
    let entries = &audit["items"];
    assert_eq!(entries[0]["before"], Value::Null, "{audit}");
    assert_eq!(entries[0]["after"]["summary"], "考察", "{audit}");
    assert_eq!(entries[0]["after"]["external_id"], "ZY-X1", "{audit}");
    assert_eq!(entries[1]["before"], entries[0]["after"], "{audit}");
    assert_eq!(entries[1]["after"]["summary"], "考察康复中心", "{audit}");
    assert_eq!(
        entries[2]["after"]["visiting_org_ids"],
        json!([shanghai_org]),
        "{audit}"
    );
    assert_eq!(entries[2]["actor_role"], "editor", "{audit}");
}

#[tokio::test]
async fn a_bad_exchange_batch_writes_nothing_and_names_every_bad_item() {
    let app = spawn_app().await;
    let shanghai = app.token(Role::Partner, Some("310000"));
    let mut late = visit(&app, "SH-B2", "座谈").await;
    late["end_on"] = json!("2019-04-01");
    let mut twice = visit(&app, "SH-B1", "再次").await;
    twice["participants"] = json!(3);
    let mut nameless = visit(&app, "", "x").await;
    nameless
        .as_object_mut()
        .unwrap_or_else(|| panic!("object"))
        .remove("external_id");
    let (status, problem) = sync(
        &app,
        &shanghai,
        "exchange",
        json!([visit(&app, "SH-B1", "考察").await, late, twice, nameless]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [
            ("items[1].end_on".to_string(), Some("SH-B2".to_string())),
            (
                "items[2].external_id".to_string(),
                Some("SH-B1".to_string())
            ),
            ("items[3].external_id".to_string(), None),
        ]
    );
    // SH-B1, good on its own, was not written.
    let page = read(&app, &shanghai, "/api/v1/exchanges?limit=500").await;
    assert!(
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["external_id"] != "SH-B1"),
        "{page}"
    );
}

#[tokio::test]
async fn exchange_sync_is_refused_where_a_single_write_is() {
    let app = spawn_app().await;
    let one = json!([visit(&app, "A-1", "考察").await]);

    // The auditor writes no exchanges at all.
    let response = app
        .post_json(
            "/api/v1/sync/exchange",
            &app.token(Role::Auditor, None),
            &json!({ "items": one }),
        )
        .await;
    assert_problem(response, 403, "forbidden").await;
    // 广州 is not on 上海–遵义: it cannot name that pairing.
    let guangzhou = app.token(Role::Partner, Some("440100"));
    let (status, problem) = sync(&app, &guangzhou, "exchange", one.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        item_errors(&problem).contains(&("items[0].pairing_id".into(), Some("A-1".into()))),
        "{problem}"
    );

    // A record deleted through REST keeps its external id: a later sync is told so.
    let shanghai = app.token(Role::Partner, Some("310000"));
    let (status, created) = sync(&app, &shanghai, "exchange", one.clone()).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let path = format!("/api/v1/exchanges/{}", id_of(&created, 0));
    let response = app.delete(&path, &shanghai, Some(1)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, problem) = sync(&app, &shanghai, "exchange", one).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [("items[0].external_id".to_string(), Some("A-1".to_string()))]
    );

    // A body that is not a batch names the field.
    let response = app
        .post_json(
            "/api/v1/sync/exchange",
            &shanghai,
            &json!({ "items": [{"external_id": "A-2"}] }),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert!(
        problem["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["field"] == "items[0].kind"),
        "{problem}"
    );
}

#[tokio::test]
async fn agreements_sync_their_project_links() {
    let app = spawn_app().await;
    let pairing = app.pairing_id("310000", "520300").await;
    let ps = app
        .insert_projects(pairing, app.org_id("520300").await, 2)
        .await;
    let elsewhere = app
        .insert_projects(
            app.pairing_id("320500", "520600").await,
            app.org_id("520600").await,
            1,
        )
        .await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let zunyi_org = app.org_id("520300").await;

    let (status, first) = sync(
        &app,
        &zunyi,
        "agreement",
        json!([agreement(&app, "ZY-A1", &ps).await]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(outcomes(&first), expect(&[("ZY-A1", "created")]));
    let path = format!("/api/v1/agreements/{}", id_of(&first, 0));
    let stored = read(&app, &zunyi, &path).await;
    assert_eq!(stored["project_ids"], sorted(&ps));
    assert_eq!(stored["owner_org_id"], zunyi_org.to_string());

    // The projects in another order are the same links.
    let (status, again) = sync(
        &app,
        &zunyi,
        "agreement",
        json!([agreement(&app, "ZY-A1", &[ps[1], ps[0]]).await]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(outcomes(&again), expect(&[("ZY-A1", "unchanged")]));

    let (status, third) = sync(
        &app,
        &zunyi,
        "agreement",
        json!([agreement(&app, "ZY-A1", &ps[..1]).await]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_eq!(outcomes(&third), expect(&[("ZY-A1", "updated")]));
    let stored = read(&app, &zunyi, &path).await;
    assert_eq!(stored["project_ids"], sorted(&ps[..1]));
    assert_eq!(stored["version"], 2);

    // A project of another pairing, and a negative commitment: nothing is written.
    let mut bad = agreement(&app, "ZY-A2", &elsewhere).await;
    bad["committed_fen"] = json!(-1);
    let (status, problem) = sync(
        &app,
        &zunyi,
        "agreement",
        json!([agreement(&app, "ZY-A1", &ps).await, bad]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [
            (
                "items[1].committed_fen".to_string(),
                Some("ZY-A2".to_string())
            ),
            (
                "items[1].project_ids[0]".to_string(),
                Some("ZY-A2".to_string())
            ),
        ]
    );
    assert_eq!(
        read(&app, &zunyi, &path).await["project_ids"],
        sorted(&ps[..1])
    );

    // An admin without an organization records for the pairing's western side; the 铜仁
    // editor may not write on 上海–遵义 at all.
    let (status, admin) = sync(
        &app,
        &app.token(Role::Admin, None),
        "agreement",
        json!([agreement(&app, "ADM-1", &[]).await]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{admin}");
    let stored = read(
        &app,
        &zunyi,
        &format!("/api/v1/agreements/{}", id_of(&admin, 0)),
    )
    .await;
    assert_eq!(stored["owner_org_id"], zunyi_org.to_string());
    let tongren = app.token(Role::Editor, Some("520600"));
    let (status, problem) = sync(
        &app,
        &tongren,
        "agreement",
        json!([agreement(&app, "TR-1", &[]).await]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        item_errors(&problem).contains(&("items[0].pairing_id".into(), Some("TR-1".into()))),
        "{problem}"
    );
}

/// `syncExchanges` and `syncAgreements` are the same service as REST's sync.
#[tokio::test]
async fn graphql_syncs_exchanges_and_agreements() {
    let app = spawn_app().await;
    let shanghai = app.token(Role::Partner, Some("310000"));
    let pairing = app.pairing_id("310000", "520300").await;
    let exchange = json!({
        "externalId": "SH-G1", "kind": "inspection_visit", "direction": "east_to_west",
        "pairingId": pairing, "hostOrgId": app.org_id("520300").await,
        "visitingOrgIds": [app.org_id("310000").await],
        "startOn": "2019-04-08", "endOn": "2019-04-10"
    });
    let body = app
        .gql(
            &shanghai,
            "mutation($items: [NewExchangeInput!]!) {
                syncExchanges(items: $items) { externalId id result } }",
            json!({"items": [exchange]}),
        )
        .await;
    assert_eq!(
        body["data"]["syncExchanges"][0]["result"], "created",
        "{body}"
    );
    let mut rest = visit(&app, "SH-G1", "").await;
    rest["leaders_present"] = json!([]);
    rest["participants"] = Value::Null;
    rest["summary"] = Value::Null;
    let (status, again) = sync(&app, &shanghai, "exchange", json!([rest])).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(outcomes(&again), expect(&[("SH-G1", "unchanged")]));
    assert_eq!(
        again["results"][0]["id"],
        body["data"]["syncExchanges"][0]["id"]
    );

    let query = "mutation($items: [NewAgreementInput!]!) {
        syncAgreements(items: $items) { externalId id result } }";
    let item = |external: &str, fen: i64| {
        json!({"externalId": external, "pairingId": pairing, "title": "协议",
               "signedOn": "2019-03-28", "committedFen": fen})
    };
    let body = app
        .gql(&shanghai, query, json!({"items": [item("SH-A1", 100)]}))
        .await;
    assert_eq!(
        body["data"]["syncAgreements"][0]["result"], "created",
        "{body}"
    );
    let body = app
        .gql(
            &shanghai,
            query,
            json!({"items": [item("SH-A1", 200), item("SH-A2", -1)]}),
        )
        .await;
    let error = &body["errors"][0]["extensions"];
    assert_eq!(error["code"], "validation_failed", "{body}");
    assert_eq!(
        error["errors"][0]["field"], "items[1].committed_fen",
        "{body}"
    );
    assert_eq!(error["errors"][0]["externalId"], "SH-A2", "{body}");
}

fn project_item(external_id: &str, code: &str, pairing: &str, budget: i64) -> Value {
    json!({
        "external_id": external_id, "code": code, "year": 2019, "title": "康复托养中心设备",
        "category": "care_facility", "pairing_id": pairing, "basis": "托养中心缺少康复设备",
        "measures": "上海残联资助采购，遵义残联实施", "quantity": "设备2套", "beneficiaries_planned": 120,
        "budget_fen": budget, "deep_poverty": true,
        "items": [{"name": "康复训练设备", "unit": "套", "quantity": 2, "unit_cost_fen": 25_000_000}],
        "milestones": [{"title": "完成采购", "due_on": "2019-06-30"}],
        "start_on": "2019-04-01", "end_on": "2019-12-31"
    })
}

/// Projects sync as their single writes do: created `proposed`, re-sent `unchanged`, changed
/// content `updated` with the status kept; codes unique in the batch and across projects; a
/// verified project and a project's pairing do not change.
#[tokio::test]
async fn projects_sync_under_the_rules_of_their_single_writes() {
    let app = spawn_app().await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let other_pairing = app.pairing_id("320500", "520600").await.to_string();
    let batch = json!([
        project_item("ZY-P1", "ZY-2019-101", &pairing, 50_000_000),
        project_item("ZY-P2", "ZY-2019-102", &pairing, 10_000_000),
    ]);
    let (status, first) = sync(&app, &zunyi, "project", batch.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        outcomes(&first),
        expect(&[("ZY-P1", "created"), ("ZY-P2", "created")])
    );
    let p1 = format!("/api/v1/projects/{}", id_of(&first, 0));
    let stored = read(&app, &zunyi, &p1).await;
    assert_eq!(stored["status"], "proposed");
    assert_eq!(stored["code"], "ZY-2019-101");
    assert_eq!(
        stored["owner_org_id"],
        app.org_id("520300").await.to_string()
    );
    assert_eq!(stored["items"][0]["unit_cost_fen"], 25_000_000);
    assert_eq!(stored["quantity"], "设备2套");
    assert_eq!(stored["start_on"], "2019-04-01");
    assert_eq!(stored["end_on"], "2019-12-31");
    assert_eq!(stored["beneficiaries_actual"], Value::Null);

    let (status, again) = sync(&app, &zunyi, "project", batch).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        outcomes(&again),
        expect(&[("ZY-P1", "unchanged"), ("ZY-P2", "unchanged")])
    );

    // Moved forward through its lifecycle in xiezuo, the project keeps its status when its
    // content is synced.
    let response = app
        .patch_json(&p1, &zunyi, Some(1), &json!({"status": "agreed"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // One field at a time, each an update: the budget, then a milestone done, then the
    // responsible contact (one 遵义 may read; an unknown one is refused).
    let mut changed = project_item("ZY-P1", "ZY-2019-101", &pairing, 60_000_000);
    let (status, third) = sync(&app, &zunyi, "project", json!([changed.clone()])).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_eq!(outcomes(&third), expect(&[("ZY-P1", "updated")]));
    changed["milestones"] =
        json!([{"title": "完成采购", "due_on": "2019-06-30", "done_on": "2019-06-20"}]);
    let (status, fourth) = sync(&app, &zunyi, "project", json!([changed.clone()])).await;
    assert_eq!(status, StatusCode::OK, "{fourth}");
    assert_eq!(outcomes(&fourth), expect(&[("ZY-P1", "updated")]));
    let (status, contact) = parts(
        app.post_json(
            "/api/v1/contacts",
            &zunyi,
            &json!({"org_id": app.org_id("520300").await, "name": "项目负责人（示例）"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    changed["responsible_contact_id"] = json!(Uuid::now_v7());
    let (status, problem) = sync(&app, &zunyi, "project", json!([changed.clone()])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [(
            "items[0].responsible_contact_id".to_string(),
            Some("ZY-P1".to_string())
        )]
    );
    changed["responsible_contact_id"] = contact["id"].clone();
    let (status, fifth) = sync(&app, &zunyi, "project", json!([changed.clone()])).await;
    assert_eq!(status, StatusCode::OK, "{fifth}");
    assert_eq!(outcomes(&fifth), expect(&[("ZY-P1", "updated")]));
    let stored = read(&app, &zunyi, &p1).await;
    assert_eq!(stored["status"], "agreed");
    assert_eq!(stored["budget_fen"], 60_000_000);
    assert_eq!(stored["milestones"][0]["done_on"], "2019-06-20");
    assert_eq!(stored["responsible_contact_id"], contact["id"]);
    assert_eq!(stored["version"], 5);

    // A code another project holds, a code twice in the batch, a pairing that moves: every
    // bad item named, nothing written.
    let (status, problem) = sync(
        &app,
        &zunyi,
        "project",
        json!([
            project_item("ZY-P3", "ZY-2019-101", &pairing, 1),
            project_item("ZY-P4", "ZY-2019-104", &pairing, 1),
            project_item("ZY-P5", "ZY-2019-104", &pairing, 1),
            project_item("ZY-P2", "ZY-2019-102", &other_pairing, 1),
            project_item("ZY-P6", "ZY-2019-106", &pairing, 1),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        item_errors(&problem),
        [
            ("items[0].code".to_string(), some("ZY-P3")),
            ("items[1].code".to_string(), some("ZY-P4")),
            ("items[2].code".to_string(), some("ZY-P5")),
            ("items[3].pairing_id".to_string(), some("ZY-P2")),
        ]
    );
    let page = read(&app, &zunyi, "/api/v1/projects?code=ZY-2019-106").await;
    assert_eq!(page["items"], json!([]), "{page}");

    // Verified, the project refuses any change; the same content is still `unchanged`.
    entity::project::Entity::update_many()
        .col_expr(
            entity::project::Column::Status,
            sea_orm::sea_query::Expr::value("verified"),
        )
        .filter(entity::project::Column::Code.eq("ZY-2019-101"))
        .exec(&app.ctx.db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, same) = sync(&app, &zunyi, "project", json!([changed])).await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(outcomes(&same), expect(&[("ZY-P1", "unchanged")]));
    let (status, problem) = sync(
        &app,
        &zunyi,
        "project",
        json!([project_item("ZY-P1", "ZY-2019-101", &pairing, 1)]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [("items[0].external_id".to_string(), some("ZY-P1"))]
    );

    // Projects are the western side's: a partner writes none; the 铜仁 editor cannot name
    // 上海–遵义.
    let response = app
        .post_json(
            "/api/v1/sync/project",
            &app.token(Role::Partner, Some("310000")),
            &json!({"items": [project_item("SH-1", "SH-2019-1", &pairing, 1)]}),
        )
        .await;
    assert_problem(response, 403, "forbidden").await;
    let tongren = app.token(Role::Editor, Some("520600"));
    let (status, problem) = sync(
        &app,
        &tongren,
        "project",
        json!([project_item("TR-1", "TR-2019-1", &pairing, 1)]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [("items[0].pairing_id".to_string(), some("TR-1"))]
    );

    // The admin records projects for the pairing's western side, with or without an
    // organization of its own.
    for admin in [app.admin_token(), app.token(Role::Admin, None)] {
        let code = format!("ADM-{}", Uuid::now_v7().simple());
        let (status, made) = sync(
            &app,
            &admin,
            "project",
            json!([project_item(&code, &code, &pairing, 1)]),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{made}");
        let stored = read(
            &app,
            &admin,
            &format!("/api/v1/projects/{}", id_of(&made, 0)),
        )
        .await;
        assert_eq!(
            stored["owner_org_id"],
            app.org_id("520300").await.to_string()
        );
    }

    // GraphQL is the same service.
    let body = app
        .gql(
            &zunyi,
            "mutation($items: [NewProjectInput!]!) {
                syncProjects(items: $items) { externalId id result } }",
            json!({"items": [{
                "externalId": "ZY-P2", "code": "ZY-2019-102", "year": 2019,
                "title": "康复托养中心设备", "category": "care_facility", "pairingId": pairing,
                "basis": "托养中心缺少康复设备", "measures": "上海残联资助采购，遵义残联实施",
                "quantity": "设备2套",
                "beneficiariesPlanned": 120, "budgetFen": 10_000_000, "deepPoverty": true,
                "items": [{"name": "康复训练设备", "unit": "套", "quantity": 2,
                           "unitCostFen": 25_000_000}],
                "milestones": [{"title": "完成采购", "dueOn": "2019-06-30"}],
                "startOn": "2019-04-01", "endOn": "2019-12-31"
            }]}),
        )
        .await;
    assert_eq!(
        body["data"]["syncProjects"][0]["result"], "unchanged",
        "{body}"
    );
    assert_eq!(
        body["data"]["syncProjects"][0]["id"],
        first["results"][1]["id"]
    );
}
