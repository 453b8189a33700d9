//! Agreements (协议书): the record, its links to projects, who may read and write it, lists and
//! GraphQL.

use std::collections::HashSet;

use reqwest::StatusCode;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

/// A project row on `pairing`, written straight to the database so that these tests do not
/// depend on the project family's own rules.
async fn project(app: &TestApp, pairing: Uuid, owner_code: &str, deleted: bool) -> Uuid {
    let id = Uuid::now_v7();
    let at = chrono::Utc::now();
    entity::project::Entity::insert(entity::project::ActiveModel {
        id: Set(id),
        code: Set(format!("P-{}", id.simple())),
        year: Set(2019),
        title: Set("康复中心设备".into()),
        category: Set("care_facility".into()),
        status: Set("agreed".into()),
        pairing_id: Set(pairing),
        basis: Set("康复设备不足".into()),
        items: Set(json!([])),
        quantity: Set(None),
        measures: Set("采购".into()),
        deep_poverty: Set(false),
        beneficiaries_planned: Set(100),
        beneficiaries_actual: Set(None),
        budget_fen: Set(1_000_000),
        responsible_contact_id: Set(None),
        start_on: Set(None),
        end_on: Set(None),
        milestones: Set(json!([])),
        version: Set(1),
        owner_org_id: Set(app.org_id(owner_code).await),
        external_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(deleted.then_some(at)),
    })
    .exec_without_returning(&app.ctx.db)
    .await
    .expect("insert project");
    id
}

async fn agreement_body(app: &TestApp) -> Value {
    json!({
        "pairing_id": app.pairing_id("310000", "520300").await,
        "title": "上海市残联 遵义市残联 2019年东西部扶贫协作协议",
        "signed_on": "2019-03-28",
        "committed_fen": 300_000_000,
        "summary": "上海援助遵义康复设备与就业培训。"
    })
}

async fn create(app: &TestApp, token: &str, body: &Value) -> Value {
    let (status, created) = parts(app.post_json("/api/v1/agreements", token, body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

fn id_of(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

fn path(v: &Value) -> String {
    format!("/api/v1/agreements/{}", id_of(v))
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str().map(str::to_string))
        .collect()
}

async fn all_ids(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = tests::Pages::new(1000);
    loop {
        let mut url = format!("/api/v1/agreements?limit=2&{query}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = parts(app.get(&url, token).await).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        ids.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|e| id_of(e).to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(pages.next(c)),
            None => return ids,
        }
    }
}

fn sorted(ids: &[Uuid]) -> Value {
    let mut ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    ids.sort();
    json!(ids)
}

#[tokio::test]
async fn an_agreement_links_projects_of_its_pairing_with_etags_and_audit() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let sh_zy = app.pairing_id("310000", "520300").await;
    let sz_tr = app.pairing_id("320500", "520600").await;
    let p1 = project(&app, sh_zy, "520300", false).await;
    let p2 = project(&app, sh_zy, "310000", false).await;
    let elsewhere = project(&app, sz_tr, "520600", false).await;
    let gone = project(&app, sh_zy, "520300", true).await;

    // Every bad field at once.
    let mut bad = agreement_body(&app).await;
    bad["title"] = json!("  ");
    bad["committed_fen"] = json!(-1);
    bad["project_ids"] = json!([p1, elsewhere, gone, Uuid::now_v7(), p1]);
    let problem = assert_problem(
        app.post_json("/api/v1/agreements", &editor, &bad).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        fields(&problem),
        [
            "title",
            "committed_fen",
            "project_ids[1]",
            "project_ids[2]",
            "project_ids[3]",
            "project_ids[4]"
        ]
    );
    let mut bad = agreement_body(&app).await;
    bad["pairing_id"] = json!(sz_tr);
    let problem = assert_problem(
        app.post_json("/api/v1/agreements", &editor, &bad).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&problem), ["pairing_id"]);
    let mut bad = agreement_body(&app).await;
    bad["committed_fen"] = json!(1.5);
    let problem = assert_problem(
        app.post_json("/api/v1/agreements", &editor, &bad).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&problem), ["committed_fen"]);

    let mut body = agreement_body(&app).await;
    body["project_ids"] = json!([p2, p1]);
    let response = app.post_json("/api/v1/agreements", &editor, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(tests::etag_version(&response), 1);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let (_, created) = parts(response).await;
    assert_eq!(location, path(&created));
    assert_eq!(created["committed_fen"], 300_000_000);
    assert_eq!(created["project_ids"], sorted(&[p1, p2]));
    assert_eq!(
        created["owner_org_id"],
        app.org_id("520300").await.to_string()
    );
    let response = app.get(&location, &editor).await;
    assert_eq!(tests::etag_version(&response), 1);
    assert_eq!(parts(response).await.1, created);

    let change = json!({"project_ids": [p1], "committed_fen": 0, "summary": null});
    let problem = assert_problem(
        app.patch_json(&location, &editor, Some(2), &change).await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(problem["current_version"], 1);
    // Moving the agreement to a pairing its projects are not on is refused.
    let problem = assert_problem(
        app.patch_json(
            &location,
            &editor,
            Some(1),
            &json!({"pairing_id": app.pairing_id("440100", "520500").await}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        fields(&problem),
        ["pairing_id", "project_ids[0]", "project_ids[1]"]
    );
    let response = app.patch_json(&location, &editor, Some(1), &change).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(tests::etag_version(&response), 2);
    let (_, changed) = parts(response).await;
    assert_eq!(changed["project_ids"], sorted(&[p1]));
    assert_eq!(changed["committed_fen"], 0);
    assert!(changed["summary"].is_null());
    assert_eq!(changed["title"], created["title"]);
    assert_eq!(parts(app.get(&location, &editor).await).await.1, changed);

    assert_problem(
        app.delete(&location, &editor, Some(1)).await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(
        app.delete(&location, &editor, Some(2)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(app.get(&location, &editor).await, 404, "not_found").await;

    let (_, log) = parts(
        app.get(
            &format!(
                "/api/v1/audit-log?record_type=agreement&record_id={}",
                id_of(&created)
            ),
            &app.admin_token(),
        )
        .await,
    )
    .await;
    let entries = log["items"].as_array().expect("items");
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["create", "update", "delete"]);
    assert_eq!(entries[0]["after"], created);
    assert_eq!(entries[1]["before"], created);
    assert_eq!(entries[1]["after"], changed);
    assert_eq!(entries[2]["before"], changed);
    assert!(entries[2]["after"].is_null());
}

#[tokio::test]
async fn who_reads_and_writes_agreements() {
    let app = spawn_app().await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let tongren = app.token(Role::Editor, Some("520600"));
    let shanghai = app.token(Role::Partner, Some("310000"));
    let suzhou = app.token(Role::Partner, Some("320500"));
    let auditor = app.token(Role::Auditor, None);

    let zunyi_record = create(&app, &zunyi, &agreement_body(&app).await).await;
    let shanghai_record = create(&app, &shanghai, &agreement_body(&app).await).await;
    assert_eq!(
        shanghai_record["owner_org_id"],
        app.org_id("310000").await.to_string()
    );
    // An admin without an organization records for the pairing's western side.
    let admin_record = create(
        &app,
        &app.token(Role::Admin, None),
        &agreement_body(&app).await,
    )
    .await;
    assert_eq!(
        admin_record["owner_org_id"],
        app.org_id("520300").await.to_string()
    );
    let all: HashSet<String> = [&zunyi_record, &shanghai_record, &admin_record]
        .into_iter()
        .map(|r| id_of(r).to_string())
        .collect();

    for (token, own, other) in [
        (&zunyi, &zunyi_record, &shanghai_record),
        (&shanghai, &shanghai_record, &zunyi_record),
    ] {
        assert_eq!(app.get(&path(other), token).await.status(), StatusCode::OK);
        let listed: HashSet<String> = all_ids(&app, token, "").await.into_iter().collect();
        assert_eq!(listed, all);
        assert_problem(
            app.patch_json(&path(other), token, None, &json!({"committed_fen": 1}))
                .await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(
            app.delete(&path(other), token, None).await,
            403,
            "forbidden",
        )
        .await;
        let (status, body) = parts(
            app.patch_json(&path(own), token, None, &json!({"committed_fen": 1}))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // The 遵义 editor also keeps the admin's record made for 遵义.
    assert_eq!(
        app.patch_json(
            &path(&admin_record),
            &zunyi,
            Some(1),
            &json!({"title": "补充协议"})
        )
        .await
        .status(),
        StatusCode::OK
    );

    for token in [&tongren, &suzhou] {
        for record in [&zunyi_record, &shanghai_record] {
            assert_problem(app.get(&path(record), token).await, 404, "not_found").await;
            assert_problem(
                app.patch_json(&path(record), token, None, &json!({"committed_fen": 5}))
                    .await,
                404,
                "not_found",
            )
            .await;
            assert_problem(
                app.delete(&path(record), token, None).await,
                404,
                "not_found",
            )
            .await;
        }
        assert!(all_ids(&app, token, "").await.is_empty());
        let problem = assert_problem(
            app.post_json("/api/v1/agreements", token, &agreement_body(&app).await)
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(fields(&problem), ["pairing_id"]);
    }

    let listed: HashSet<String> = all_ids(&app, &auditor, "").await.into_iter().collect();
    assert_eq!(listed, all);
    assert_problem(
        app.post_json("/api/v1/agreements", &auditor, &agreement_body(&app).await)
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.patch_json(
            &path(&zunyi_record),
            &auditor,
            None,
            &json!({"committed_fen": 5}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.delete(&path(&zunyi_record), &auditor, None).await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn agreement_filters() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let sh_zy = app.pairing_id("310000", "520300").await;
    let gz_bj = app.pairing_id("440100", "520500").await;
    let shanghai = app.token(Role::Partner, Some("310000"));
    let mut made = Vec::new();
    for (token, pairing, signed) in [
        (&admin, sh_zy, "2019-03-28"),
        (&shanghai, sh_zy, "2020-04-01"),
        (&admin, gz_bj, "2019-12-31"),
    ] {
        let mut body = agreement_body(&app).await;
        body["pairing_id"] = json!(pairing);
        body["signed_on"] = json!(signed);
        made.push(id_of(&create(&app, token, &body).await).to_string());
    }
    let expect = |query: String, which: &[usize]| {
        let wanted: Vec<String> = which.iter().map(|i| made[*i].clone()).collect();
        let (app, admin) = (&app, &admin);
        async move {
            assert_eq!(all_ids(app, admin, &query).await, wanted, "{query}");
        }
    };
    expect(String::new(), &[0, 1, 2]).await;
    expect("year=2019".into(), &[0, 2]).await;
    expect("year=2020".into(), &[1]).await;
    expect(format!("pairing_id={sh_zy}"), &[0, 1]).await;
    expect(format!("pairing_id={gz_bj}&year=2020"), &[]).await;
    expect(format!("org_id={}", app.org_id("310000").await), &[1]).await;
    expect(format!("org_id={}", app.org_id("520000").await), &[0, 2]).await;
    expect("updated_since=2100-01-01T00:00:00Z".into(), &[]).await;
    let problem = assert_problem(
        app.get("/api/v1/agreements?year=abc", &admin).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&problem), ["year"]);
}

#[tokio::test]
async fn agreements_through_graphql() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let sh_zy = app.pairing_id("310000", "520300").await;
    let p1 = project(&app, sh_zy, "520300", false).await;
    let body = app
        .gql(
            &editor,
            "mutation($input: NewAgreementInput!) { createAgreement(input: $input) {
                 id version committedFen projectIds pairing { east { code } west { code } } } }",
            json!({"input": {"pairingId": sh_zy, "title": "2019年协议", "signedOn": "2019-03-28",
                             "committedFen": 5_000_000_000_i64, "projectIds": [p1]}}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let created = &body["data"]["createAgreement"];
    assert_eq!(created["committedFen"], 5_000_000_000_i64);
    assert_eq!(created["projectIds"], json!([p1]));
    assert_eq!(
        created["pairing"],
        json!({"east": {"code": "310000"}, "west": {"code": "520300"}})
    );
    let id = created["id"].as_str().expect("id");

    let update = "mutation($id: UUID!, $v: Int, $input: AgreementPatchInput!) {
        updateAgreement(id: $id, input: $input, expectedVersion: $v) { version projectIds } }";
    let body = app
        .gql(
            &editor,
            update,
            json!({"id": id, "v": 3, "input": {"projectIds": []}}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "precondition_failed",
        "{body}"
    );
    let body = app
        .gql(
            &editor,
            update,
            json!({"id": id, "v": 1, "input": {"committedFen": -5}}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["errors"][0]["field"], "committed_fen",
        "{body}"
    );
    let body = app
        .gql(
            &editor,
            update,
            json!({"id": id, "v": 1, "input": {"projectIds": []}}),
        )
        .await;
    assert_eq!(
        body["data"]["updateAgreement"],
        json!({"version": 2, "projectIds": []}),
        "{body}"
    );

    // Lists with their pairings: one batch for the pairings, whatever the page size.
    for year in [2019, 2020, 2021] {
        let b = json!({"input": {"pairingId": sh_zy, "title": format!("{year}年协议"),
                                 "signedOn": format!("{year}-05-01"), "committedFen": 100}});
        let body = app
            .gql(
                &editor,
                "mutation($input: NewAgreementInput!) { createAgreement(input: $input) { id } }",
                b,
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let list = "query($n: Int) { agreements(first: $n, filter: {pairingId: null}) {
        edges { node { id title pairing { level east { name } } } } pageInfo { hasNextPage } } }";
    let (small, s) = app
        .statements_during(app.gql(&editor, list, json!({"n": 1})))
        .await;
    let (large, l) = app
        .statements_during(app.gql(&editor, list, json!({"n": 4})))
        .await;
    assert_eq!(
        small["data"]["agreements"]["edges"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{small}"
    );
    assert_eq!(
        large["data"]["agreements"]["edges"]
            .as_array()
            .map(Vec::len),
        Some(4),
        "{large}"
    );
    assert_eq!(s, l, "statements for 1 row vs 4 rows");

    let body = app
        .gql(
            &editor,
            "mutation($id: UUID!) { deleteAgreement(id: $id, expectedVersion: 2) }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(body["data"]["deleteAgreement"], true, "{body}");
    let body = app
        .gql(
            &editor,
            "query($id: UUID!) { agreement(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert!(body["data"]["agreement"].is_null(), "{body}");
}
