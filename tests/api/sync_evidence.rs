//! Batch sync of evidence metadata (`POST /api/v1/sync/evidence`), as a partner system uses it:
//! the files were uploaded with their external ids, and the batch then changes what
//! `PATCH /evidence/{id}` changes, `updated` or `unchanged` per item; the links are checked for
//! the whole batch and the pairing follows them; one bad item writes nothing; an external id
//! naming no uploaded evidence is refused, and so is a change to frozen evidence; nobody writes
//! outside what a single write allows; GraphQL is the same service.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, proof_bytes, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

use super::{
    changes::{history, poll},
    ledger_submissions::submit_at,
    sync_records::{expect, id_of, item_errors, outcomes, read, sync},
};

const FAMILY: &str = "evidence";
/// The title every upload of these tests has (`TestApp::upload_evidence`).
const UPLOADED: &str = "印证资料（示例）";

/// Uploads a document proving `records` as `token`, with `external_id`; its id.
async fn upload(app: &TestApp, token: &str, external_id: &str, records: &[(&str, Uuid)]) -> String {
    let body = app
        .upload_evidence(
            token,
            "document",
            records,
            proof_bytes("document"),
            "report.pdf",
            Some(external_id),
        )
        .await;
    assert_eq!(body["external_id"], external_id, "{body}");
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {body}"))
        .to_string()
}

/// A sync item: `title` and the `links` it proves, no period.
fn item(external_id: &str, title: &str, links: &[(&str, Uuid)]) -> Value {
    let links: Vec<Value> = links
        .iter()
        .map(|(t, id)| json!({"record_type": t, "record_id": id}))
        .collect();
    json!({"external_id": external_id, "title": title, "links": links})
}

fn projects(ids: &[Uuid]) -> Vec<(&'static str, Uuid)> {
    ids.iter().map(|id| ("project", *id)).collect()
}

/// The ids of the records a piece of evidence links, sorted.
fn linked(evidence: &Value) -> Vec<String> {
    let mut ids: Vec<String> = evidence["links"]
        .as_array()
        .unwrap_or_else(|| panic!("no links in {evidence}"))
        .iter()
        .filter_map(|l| l["record_id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[Uuid]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    ids.sort();
    ids
}

/// Sends `items` as `token` and expects them refused: `(field, external_id)` of each error.
async fn refused(app: &TestApp, token: &str, items: Value) -> Vec<(String, Option<String>)> {
    let (status, problem) = sync(app, token, FAMILY, items).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    item_errors(&problem)
}

/// The message of the error on `field`.
fn message<'a>(problem: &'a Value, field: &str) -> &'a str {
    problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["field"] == field)
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no error on {field} in {problem}"))
}

/// 上海–遵义 and three of its projects, owned by 遵义.
async fn zunyi_projects(app: &TestApp) -> (Uuid, Vec<Uuid>) {
    let pairing = app.pairing_id("310000", "520300").await;
    let ps = app
        .insert_projects(pairing, app.org_id("520300").await, 3)
        .await;
    (pairing, ps)
}

/// The 遵义 editor uploaded two pieces of evidence from its own system and keeps their
/// metadata there: a sync updates the one that changed, leaves the other, and changes nothing
/// when sent again; the links are rewritten, the pairing follows them, and every write is in
/// the change feed and the audit log.
#[tokio::test]
async fn evidence_metadata_is_updated_then_unchanged_with_its_links() {
    let app = spawn_app().await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let shanghai = app.token(Role::Partner, Some("310000"));
    let (pairing, ps) = zunyi_projects(&app).await;
    let e1 = upload(&app, &zunyi, "ZY-E1", &projects(&ps[..1])).await;
    let e2 = upload(&app, &zunyi, "ZY-E2", &projects(&ps[1..2])).await;

    let mut changed = item("ZY-E1", "遵义项目验收报告", &projects(&[ps[2], ps[0]]));
    changed["period_year"] = json!(2019);
    changed["period_quarter"] = json!(3);
    let batch = json!([changed, item("ZY-E2", UPLOADED, &projects(&ps[1..2]))]);
    let (status, first) = sync(&app, &zunyi, FAMILY, batch.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        outcomes(&first),
        expect(&[("ZY-E1", "updated"), ("ZY-E2", "unchanged")])
    );
    assert_eq!(id_of(&first, 0), e1);
    assert_eq!(id_of(&first, 1), e2);
    let path = format!("/api/v1/evidence/{e1}");
    let stored = read(&app, &zunyi, &path).await;
    assert_eq!(stored["title"], "遵义项目验收报告", "{stored}");
    assert_eq!(stored["period_year"], 2019, "{stored}");
    assert_eq!(stored["period_quarter"], 3, "{stored}");
    assert_eq!(stored["pairing_id"], pairing.to_string(), "{stored}");
    assert_eq!(linked(&stored), sorted(&[ps[0], ps[2]]), "{stored}");
    assert_eq!(stored["version"], 2, "{stored}");
    // The file is the uploaded one.
    assert_eq!(stored["file_name"], "report.pdf", "{stored}");
    assert_eq!(
        read(&app, &zunyi, &format!("/api/v1/evidence/{e2}")).await["version"],
        1
    );
    // The link rows themselves: the evidence list by record finds it under the new project.
    let by_record = read(
        &app,
        &zunyi,
        &format!("/api/v1/evidence?record_type=project&record_id={}", ps[2]),
    )
    .await;
    assert_eq!(by_record["items"][0]["id"], e1.as_str(), "{by_record}");

    // Sent again, the links in another order: nothing written.
    let mut reordered = batch.clone();
    reordered[0]["links"] = json!([
        {"record_type": "project", "record_id": ps[0]},
        {"record_type": "project", "record_id": ps[2]}
    ]);
    for again in [batch, reordered] {
        let (status, body) = sync(&app, &zunyi, FAMILY, again).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            outcomes(&body),
            expect(&[("ZY-E1", "unchanged"), ("ZY-E2", "unchanged")])
        );
    }
    assert_eq!(read(&app, &zunyi, &path).await["version"], 2);

    // The update is in the feed with its new version, for 遵义 and for 上海 (on the pairing),
    // whose webhooks follow the feed; and in the audit log with both images.
    for token in [&zunyi, &shanghai] {
        let (items, _) = poll(&app, token, "record_type=evidence&limit=500").await;
        assert_eq!(
            history(&items, &e1),
            [("upsert".to_string(), 1), ("upsert".to_string(), 2)]
        );
        assert_eq!(history(&items, &e2), [("upsert".to_string(), 1)]);
    }
    let audit = read(
        &app,
        &app.admin_token(),
        &format!("/api/v1/audit-log?record_type=evidence&record_id={e1}"),
    )
    .await;
    let entries = &audit["items"];
    assert_eq!(entries[1]["action"], "update", "{audit}");
    assert_eq!(entries[1]["before"], entries[0]["after"], "{audit}");
    assert_eq!(entries[1]["before"]["title"], UPLOADED, "{audit}");
    assert_eq!(entries[1]["after"]["title"], "遵义项目验收报告", "{audit}");
    assert_eq!(entries[1]["after"]["version"], 2, "{audit}");
    assert_eq!(entries[1]["actor_role"], "editor", "{audit}");

    // No links: the evidence is on no pairing, and 上海 no longer reads it (a delete in its
    // feed).
    let (status, body) = sync(
        &app,
        &zunyi,
        FAMILY,
        json!([item("ZY-E1", "遵义项目验收报告", &[])]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(outcomes(&body), expect(&[("ZY-E1", "updated")]));
    let stored = read(&app, &zunyi, &path).await;
    assert_eq!(stored["links"], json!([]), "{stored}");
    assert_eq!(stored["pairing_id"], Value::Null, "{stored}");
    assert_eq!(stored["period_year"], Value::Null, "{stored}");
    assert_eq!(stored["version"], 3, "{stored}");
    assert_problem(app.get(&path, &shanghai).await, 404, "not_found").await;
    let (items, _) = poll(&app, &shanghai, "record_type=evidence&limit=500").await;
    assert_eq!(
        history(&items, &e1).last(),
        Some(&("delete".to_string(), 3))
    );
}

/// A link to a record of another pairing, to one that does not exist, or twice, and the other
/// rules of an update: every bad item is named, with its external id, and nothing is written.
#[tokio::test]
async fn a_bad_item_writes_nothing_and_names_the_link() {
    let app = spawn_app().await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let (_, ps) = zunyi_projects(&app).await;
    let elsewhere = app
        .insert_projects(
            app.pairing_id("320500", "520600").await,
            app.org_id("520600").await,
            1,
        )
        .await;
    let e1 = upload(&app, &zunyi, "ZY-E1", &projects(&ps[..1])).await;
    let e2 = upload(&app, &zunyi, "ZY-E2", &projects(&ps[1..2])).await;

    // 苏州–铜仁's project is not 遵义's to read: answered as missing, as a single write is.
    let (status, problem) = sync(
        &app,
        &zunyi,
        FAMILY,
        json!([
            item("ZY-E1", "改过的标题", &projects(&ps[..1])),
            item("ZY-E2", UPLOADED, &projects(&[ps[1], elsewhere[0]])),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [(
            "items[1].links[1].record_id".to_string(),
            Some("ZY-E2".to_string())
        )]
    );
    assert_eq!(
        message(&problem, "items[1].links[1].record_id"),
        "no such project"
    );

    // A record that does not exist, a record twice, and the title and period rules.
    let mut no_year = item("ZY-E3", " ", &projects(&ps[..1]));
    no_year["period_quarter"] = json!(3);
    let (status, problem) = sync(
        &app,
        &zunyi,
        FAMILY,
        json!([
            item(
                "ZY-E1",
                "改过的标题",
                &[("fund_transaction", Uuid::now_v7())]
            ),
            item("ZY-E2", UPLOADED, &projects(&[ps[1], ps[1]])),
            no_year,
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        item_errors(&problem),
        [
            ("items[0].links[0].record_id".to_string(), s("ZY-E1")),
            ("items[1].links[1].record_id".to_string(), s("ZY-E2")),
            ("items[2].title".to_string(), s("ZY-E3")),
            ("items[2].period_year".to_string(), s("ZY-E3")),
        ]
    );
    assert_eq!(
        message(&problem, "items[0].links[0].record_id"),
        "no such fund_transaction"
    );
    assert_eq!(
        message(&problem, "items[1].links[1].record_id"),
        "is listed twice"
    );

    // Nothing was written: both as uploaded.
    for (id, project) in [(&e1, ps[0]), (&e2, ps[1])] {
        let stored = read(&app, &zunyi, &format!("/api/v1/evidence/{id}")).await;
        assert_eq!(stored["title"], UPLOADED, "{stored}");
        assert_eq!(stored["version"], 1, "{stored}");
        assert_eq!(linked(&stored), sorted(&[project]), "{stored}");
    }

    // Records on two pairings, which the province office reads: one piece proves one pairing.
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    let office = upload(&app, &coordinator, "GZ-E1", &projects(&ps[..1])).await;
    assert_eq!(
        refused(
            &app,
            &coordinator,
            json!([item("GZ-E1", UPLOADED, &projects(&[ps[0], elsewhere[0]]))]),
        )
        .await,
        [("items[0].links".to_string(), Some("GZ-E1".to_string()))]
    );
    let (status, body) = sync(
        &app,
        &coordinator,
        FAMILY,
        json!([item("GZ-E1", UPLOADED, &projects(&elsewhere))]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(outcomes(&body), expect(&[("GZ-E1", "updated")]));
    let stored = read(&app, &coordinator, &format!("/api/v1/evidence/{office}")).await;
    assert_eq!(
        stored["pairing_id"],
        app.pairing_id("320500", "520600").await.to_string()
    );
}

/// Sync cannot carry a file: an external id naming no uploaded evidence of the caller's
/// organization is refused, saying how to upload it; a deleted one's is refused; evidence a
/// submitted ledger froze keeps its metadata.
#[tokio::test]
async fn evidence_must_be_uploaded_first_and_frozen_evidence_stays() {
    let app = spawn_app().await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let (_, ps) = zunyi_projects(&app).await;
    let e1 = upload(&app, &zunyi, "ZY-E1", &projects(&ps[..1])).await;

    let (status, problem) = sync(
        &app,
        &zunyi,
        FAMILY,
        json!([
            item("ZY-E1", "改过的标题", &projects(&ps[..1])),
            item("ZY-NEW", UPLOADED, &projects(&ps[..1])),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [(
            "items[1].external_id".to_string(),
            Some("ZY-NEW".to_string())
        )]
    );
    let why = message(&problem, "items[1].external_id");
    assert!(
        why.contains("upload the file first") && why.contains("POST /api/v1/evidence"),
        "{why}"
    );
    let path = format!("/api/v1/evidence/{e1}");
    assert_eq!(read(&app, &zunyi, &path).await["title"], UPLOADED);
    // The external id is the key: a missing one names the field.
    let mut nameless = item("x", UPLOADED, &[]);
    nameless
        .as_object_mut()
        .unwrap_or_else(|| panic!("object"))
        .remove("external_id");
    let response = app
        .post_json(
            "/api/v1/sync/evidence",
            &zunyi,
            &json!({ "items": [nameless] }),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(
        problem["errors"][0]["field"], "items[0].external_id",
        "{problem}"
    );

    // Deleted through REST, its external id stays taken.
    let response = app.delete(&path, &zunyi, Some(1)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        refused(
            &app,
            &zunyi,
            json!([item("ZY-E1", UPLOADED, &projects(&ps[..1]))]),
        )
        .await,
        [(
            "items[0].external_id".to_string(),
            Some("ZY-E1".to_string())
        )]
    );

    // 上海's bank letter for a 2019 Q3 transfer, frozen by 遵义's Q3 ledger.
    let shanghai = app.token(Role::Partner, Some("310000"));
    let pairing = app.pairing_id("310000", "520300").await;
    let (status, transfer) = parts(
        app.post_json(
            "/api/v1/fund-transactions",
            &shanghai,
            &json!({"kind": "transfer", "amount_fen": 1_000_000, "occurred_on": "2019-09-02",
                    "pairing_id": pairing, "voucher_no": "V-1"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{transfer}");
    let transfer = Uuid::parse_str(transfer["id"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {transfer}"));
    let letter = upload(&app, &shanghai, "SH-L1", &[("fund_transaction", transfer)]).await;
    let response = submit_at(
        &app,
        &zunyi,
        "2019-10-10T02:00:00Z",
        &json!({"org_id": app.org_id("520300").await, "year": 2019, "quarter": 3}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let same = item("SH-L1", UPLOADED, &[("fund_transaction", transfer)]);
    let (status, body) = sync(&app, &shanghai, FAMILY, json!([same])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(outcomes(&body), expect(&[("SH-L1", "unchanged")]));
    let (status, problem) = sync(
        &app,
        &shanghai,
        FAMILY,
        json!([item(
            "SH-L1",
            "改过的标题",
            &[("fund_transaction", transfer)]
        )]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        item_errors(&problem),
        [(
            "items[0].external_id".to_string(),
            Some("SH-L1".to_string())
        )]
    );
    assert!(
        message(&problem, "items[0].external_id").contains("submitted ledger"),
        "{problem}"
    );
    let stored = read(&app, &shanghai, &format!("/api/v1/evidence/{letter}")).await;
    assert_eq!(stored["title"], UPLOADED, "{stored}");
    assert_eq!(stored["version"], 1, "{stored}");
}

/// Sync writes what the caller's single writes would: only its own organization's evidence. A
/// partner of another pairing reaches neither 遵义's evidence nor its records; 上海, which reads
/// 遵义's evidence on their pairing, still cannot change it; the assessment team writes none.
#[tokio::test]
async fn evidence_sync_is_refused_where_a_single_write_is() {
    let app = spawn_app().await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let (_, ps) = zunyi_projects(&app).await;
    let e1 = upload(&app, &zunyi, "ZY-E1", &projects(&ps[..1])).await;
    let path = format!("/api/v1/evidence/{e1}");
    let changed = json!([item("ZY-E1", "改过的标题", &projects(&ps[..1]))]);

    let response = app
        .post_json(
            "/api/v1/sync/evidence",
            &app.token(Role::Auditor, None),
            &json!({ "items": changed }),
        )
        .await;
    assert_problem(response, 403, "forbidden").await;
    let response = app
        .post_json("/api/v1/sync/evidence", "", &json!({ "items": changed }))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // 广州 is on 广州–毕节: 遵义's project is not there for it, and 遵义's evidence is not its own.
    let guangzhou = app.token(Role::Partner, Some("440100"));
    assert_eq!(
        refused(&app, &guangzhou, changed.clone()).await,
        [(
            "items[0].links[0].record_id".to_string(),
            Some("ZY-E1".to_string())
        )]
    );
    assert_eq!(
        refused(&app, &guangzhou, json!([item("ZY-E1", "改过的标题", &[])]),).await,
        [(
            "items[0].external_id".to_string(),
            Some("ZY-E1".to_string())
        )]
    );
    // 上海 reads it, but sync matches its own organization's external ids only.
    let shanghai = app.token(Role::Partner, Some("310000"));
    assert_eq!(read(&app, &shanghai, &path).await["title"], UPLOADED);
    assert_eq!(
        refused(&app, &shanghai, changed.clone()).await,
        [(
            "items[0].external_id".to_string(),
            Some("ZY-E1".to_string())
        )]
    );
    let stored = read(&app, &zunyi, &path).await;
    assert_eq!(stored["title"], UPLOADED, "{stored}");
    assert_eq!(stored["version"], 1, "{stored}");

    // An admin without an organization uploads for the pairing's western side, and syncs the
    // same way; without a record on a pairing it has no organization to write for.
    let admin = app.token(Role::Admin, None);
    let made = upload(&app, &admin, "ADM-E1", &projects(&ps[1..2])).await;
    let (status, body) = sync(
        &app,
        &admin,
        FAMILY,
        json!([item("ADM-E1", "改过的标题", &projects(&ps[1..2]))]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(outcomes(&body), expect(&[("ADM-E1", "updated")]));
    let stored = read(&app, &zunyi, &format!("/api/v1/evidence/{made}")).await;
    assert_eq!(
        stored["owner_org_id"],
        app.org_id("520300").await.to_string()
    );
    assert_eq!(stored["title"], "改过的标题", "{stored}");
    assert_eq!(
        refused(&app, &admin, json!([item("ADM-E1", "改过的标题", &[])]),).await,
        [("items[0].links".to_string(), Some("ADM-E1".to_string()))]
    );
}

/// `syncEvidence` is the same service as REST's sync: the same results and the same errors.
#[tokio::test]
async fn graphql_syncs_evidence_the_same_way() {
    let app = spawn_app().await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let (_, ps) = zunyi_projects(&app).await;
    let e1 = upload(&app, &zunyi, "ZY-E1", &projects(&ps[..1])).await;
    let query = "mutation($items: [EvidenceMetadataInput!]!) {
        syncEvidence(items: $items) { externalId id result } }";
    let gql_item = |title: &str, project: Uuid| {
        json!({"externalId": "ZY-E1", "title": title, "periodYear": 2019,
               "links": [{"recordType": "project", "recordId": project}]})
    };
    let body = app
        .gql(
            &zunyi,
            query,
            json!({"items": [gql_item("图片说明", ps[1])]}),
        )
        .await;
    assert_eq!(
        body["data"]["syncEvidence"][0]["result"], "updated",
        "{body}"
    );
    assert_eq!(body["data"]["syncEvidence"][0]["id"], e1.as_str(), "{body}");
    let mut rest = item("ZY-E1", "图片说明", &projects(&ps[1..2]));
    rest["period_year"] = json!(2019);
    let (status, again) = sync(&app, &zunyi, FAMILY, json!([rest])).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(outcomes(&again), expect(&[("ZY-E1", "unchanged")]));

    let body = app
        .gql(
            &zunyi,
            query,
            json!({"items": [gql_item("图片说明", Uuid::now_v7())]}),
        )
        .await;
    let error = &body["errors"][0]["extensions"];
    assert_eq!(error["code"], "validation_failed", "{body}");
    assert_eq!(
        error["errors"][0]["field"], "items[0].links[0].record_id",
        "{body}"
    );
    assert_eq!(error["errors"][0]["externalId"], "ZY-E1", "{body}");
    let stored = read(&app, &zunyi, &format!("/api/v1/evidence/{e1}")).await;
    assert_eq!(linked(&stored), sorted(&ps[1..2]), "{stored}");
}
