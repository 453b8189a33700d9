//! Exchanges (交流对接): the record, its rules, who may read and write it, lists and GraphQL.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

/// An east-to-west visit of 上海 to 遵义 on their pairing.
async fn shanghai_visits_zunyi(app: &TestApp) -> Value {
    json!({
        "kind": "inspection_visit",
        "direction": "east_to_west",
        "pairing_id": app.pairing_id("310000", "520300").await,
        "host_org_id": app.org_id("520300").await,
        "visiting_org_ids": [app.org_id("310000").await],
        "start_on": "2019-04-08",
        "end_on": "2019-04-10",
        "leaders_present": ["上海市残联理事长", "遵义市残联理事长"],
        "participants": 12,
        "summary": "考察康复中心，商定2019年帮扶项目。"
    })
}

/// Creates through REST and returns the body, failing the test on anything but 201.
async fn create(app: &TestApp, token: &str, body: &Value) -> Value {
    let (status, created) = parts(app.post_json("/api/v1/exchanges", token, body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

fn id_of(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

fn path(v: &Value) -> String {
    format!("/api/v1/exchanges/{}", id_of(v))
}

/// The field names of a validation problem, in order.
fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str().map(str::to_string))
        .collect()
}

/// Every id a list answers for `query`, walking all pages.
async fn all_ids(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = tests::Pages::new(1000);
    loop {
        let mut url = format!("/api/v1/exchanges?{query}");
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

#[tokio::test]
async fn an_exchange_is_created_read_changed_and_deleted_with_etags_and_audit() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let body = shanghai_visits_zunyi(&app).await;

    let response = app.post_json("/api/v1/exchanges", &editor, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(tests::etag_version(&response), 1);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let (_, created) = parts(response).await;
    assert_eq!(location, path(&created));
    assert_eq!(created["version"], 1);
    assert_eq!(created["kind"], "inspection_visit");
    assert_eq!(created["direction"], "east_to_west");
    assert_eq!(
        created["owner_org_id"],
        app.org_id("520300").await.to_string()
    );
    assert_eq!(created["visiting_org_ids"], body["visiting_org_ids"]);
    assert_eq!(created["leaders_present"], body["leaders_present"]);
    assert_eq!(created["participants"], 12);
    assert!(created["external_id"].is_null());

    let response = app.get(&location, &editor).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(tests::etag_version(&response), 1);
    let (_, read) = parts(response).await;
    assert_eq!(read, created);

    // A stale If-Match loses; the current one wins, and the visitor set is replaced.
    // Visitors the editor may read: its partner city and a county of its own.
    let renhuai = app.org_id("520382").await;
    let shanghai = app.org_id("310000").await;
    let change = json!({"visiting_org_ids": [renhuai, shanghai], "summary": null,
                        "end_on": "2019-04-11", "kind": "consultation", "external_id": "zy-2019-07"});
    let problem = assert_problem(
        app.patch_json(&location, &editor, Some(7), &change).await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(problem["current_version"], 1);
    let response = app.patch_json(&location, &editor, Some(1), &change).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(tests::etag_version(&response), 2);
    let (_, changed) = parts(response).await;
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["kind"], "consultation");
    assert_eq!(changed["end_on"], "2019-04-11");
    assert!(changed["summary"].is_null());
    assert_eq!(changed["external_id"], "zy-2019-07");
    let mut expected = vec![renhuai.to_string(), shanghai.to_string()];
    expected.sort();
    assert_eq!(changed["visiting_org_ids"], json!(expected));
    assert_eq!(changed["leaders_present"], body["leaders_present"]);
    let (_, read) = parts(app.get(&location, &editor).await).await;
    assert_eq!(read, changed);
    // The same patch against the old version is refused, nothing changes.
    assert_problem(
        app.patch_json(&location, &editor, Some(1), &change).await,
        412,
        "precondition_failed",
    )
    .await;

    // The external id is unique per owner.
    let mut twin = body.clone();
    twin["external_id"] = json!("zy-2019-07");
    let problem = assert_problem(
        app.post_json("/api/v1/exchanges", &editor, &twin).await,
        409,
        "duplicate",
    )
    .await;
    assert_eq!(problem["field"], "external_id");
    assert_eq!(problem["existing_id"], changed["id"], "{problem}");

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
    assert!(all_ids(&app, &editor, "").await.is_empty());

    let admin = app.admin_token();
    let (_, log) = parts(
        app.get(
            &format!(
                "/api/v1/audit-log?record_type=exchange&record_id={}",
                id_of(&created)
            ),
            &admin,
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
    assert_eq!(entries[0]["actor_role"], "editor");
    assert!(entries[0]["before"].is_null());
    assert_eq!(entries[0]["after"], created);
    assert_eq!(entries[1]["before"], created);
    assert_eq!(entries[1]["after"], changed);
    assert_eq!(entries[2]["before"], changed);
    assert!(entries[2]["after"].is_null());
}

#[tokio::test]
async fn bad_exchanges_are_refused_naming_each_field() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let good = shanghai_visits_zunyi(&app).await;
    let post = |body: Value| {
        let app = &app;
        let editor = editor.clone();
        async move {
            assert_problem(
                app.post_json("/api/v1/exchanges", &editor, &body).await,
                422,
                "validation_failed",
            )
            .await
        }
    };

    let mut bad = good.clone();
    bad["end_on"] = json!("2019-04-07");
    assert_eq!(fields(&post(bad).await), ["end_on"]);

    let mut bad = good.clone();
    bad["host_org_id"] = json!(Uuid::now_v7());
    assert_eq!(fields(&post(bad).await), ["host_org_id"]);

    let mut bad = good.clone();
    let shanghai = app.org_id("310000").await;
    bad["visiting_org_ids"] = json!([shanghai, Uuid::now_v7(), shanghai]);
    assert_eq!(
        fields(&post(bad).await),
        ["visiting_org_ids[1]", "visiting_org_ids[2]"]
    );

    // 上海 hosting 遵义 is not east_to_west.
    let mut bad = good.clone();
    bad["host_org_id"] = json!(shanghai);
    bad["visiting_org_ids"] = json!([app.org_id("520300").await]);
    assert_eq!(fields(&post(bad.clone()).await), ["direction"]);
    bad["direction"] = json!("west_to_east");
    let reverse = create(&app, &editor, &bad).await;
    assert_eq!(reverse["direction"], "west_to_east");
    // A local meeting has no visitors from the other side.
    bad["direction"] = json!("local");
    assert_eq!(fields(&post(bad).await), ["direction"]);

    let mut bad = good.clone();
    bad["kind"] = json!("banquet");
    assert_eq!(fields(&post(bad).await), ["kind"]);
    let mut bad = good.clone();
    bad["direction"] = json!("north_to_south");
    assert_eq!(fields(&post(bad).await), ["direction"]);
    let mut bad = good.clone();
    bad["start_on"] = json!("2019-13-01");
    assert_eq!(fields(&post(bad).await), ["start_on"]);

    // Several at once, each named; a pairing the caller cannot read does not exist for it.
    let mut bad = good.clone();
    bad["pairing_id"] = json!(app.pairing_id("320500", "520600").await);
    bad["participants"] = json!(-1);
    bad["leaders_present"] = json!(["理事长", "  "]);
    bad["summary"] = json!("");
    bad["external_id"] = json!("");
    assert_eq!(
        fields(&post(bad).await),
        [
            "pairing_id",
            "leaders_present[1]",
            "participants",
            "summary",
            "external_id"
        ]
    );

    // Patches are checked against the whole record they would make.
    let created = create(&app, &editor, &good).await;
    let problem = assert_problem(
        app.patch_json(
            &path(&created),
            &editor,
            Some(1),
            &json!({"start_on": "2019-05-01", "visiting_org_ids": []}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&problem), ["direction", "end_on"]);
    let problem = assert_problem(
        app.patch_json(
            &path(&created),
            &editor,
            Some(1),
            &json!({"owner_org_id": Uuid::now_v7()}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&problem), ["owner_org_id"]);

    // List parameters too.
    for (query, field) in [
        ("quarter=2", "quarter"),
        ("year=2019&quarter=5", "quarter"),
        ("kind=banquet", "kind"),
        ("limit=0", "limit"),
        ("cursor=nope", "cursor"),
    ] {
        let problem = assert_problem(
            app.get(&format!("/api/v1/exchanges?{query}"), &editor)
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(fields(&problem), [field], "{query}");
    }
}

#[tokio::test]
async fn who_reads_and_writes_exchanges() {
    let app = spawn_app().await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let tongren = app.token(Role::Editor, Some("520600"));
    let shanghai = app.token(Role::Partner, Some("310000"));
    let suzhou = app.token(Role::Partner, Some("320500"));
    let auditor = app.token(Role::Auditor, None);

    let zunyi_record = create(&app, &zunyi, &shanghai_visits_zunyi(&app).await).await;
    let zunyi_path = path(&zunyi_record);

    // 上海 records its own exchange on the same pairing: owned by 上海.
    let mut body = shanghai_visits_zunyi(&app).await;
    body["kind"] = json!("joint_meeting");
    let shanghai_record = create(&app, &shanghai, &body).await;
    assert_eq!(
        shanghai_record["owner_org_id"],
        app.org_id("310000").await.to_string()
    );
    let shanghai_path = path(&shanghai_record);
    let both: HashSet<String> = [id_of(&zunyi_record), id_of(&shanghai_record)]
        .into_iter()
        .map(str::to_string)
        .collect();

    // Each side reads both, changes only its own.
    for (token, own, other) in [
        (&zunyi, &zunyi_path, &shanghai_path),
        (&shanghai, &shanghai_path, &zunyi_path),
    ] {
        for p in [own, other] {
            assert_eq!(app.get(p, token).await.status(), StatusCode::OK, "{p}");
        }
        let listed: HashSet<String> = all_ids(&app, token, "").await.into_iter().collect();
        assert_eq!(listed, both);
        assert_problem(
            app.patch_json(other, token, None, &json!({"participants": 3}))
                .await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(app.delete(other, token, None).await, 403, "forbidden").await;
        let (status, body) = parts(
            app.patch_json(own, token, None, &json!({"participants": 3}))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // Outsiders: nothing exists for them.
    for token in [&tongren, &suzhou] {
        for p in [&zunyi_path, &shanghai_path] {
            assert_problem(app.get(p, token).await, 404, "not_found").await;
            assert_problem(
                app.patch_json(p, token, None, &json!({"participants": 1}))
                    .await,
                404,
                "not_found",
            )
            .await;
            assert_problem(app.delete(p, token, None).await, 404, "not_found").await;
        }
        assert!(all_ids(&app, token, "").await.is_empty());
        let body = app
            .gql(
                token,
                "query($id: UUID!) { exchange(id: $id) { id } }",
                json!({"id": id_of(&zunyi_record)}),
            )
            .await;
        assert!(body["data"]["exchange"].is_null(), "{body}");
    }
    // 铜仁 cannot record on 上海–遵义, nor for 遵义's org as owner.
    let problem = assert_problem(
        app.post_json(
            "/api/v1/exchanges",
            &tongren,
            &shanghai_visits_zunyi(&app).await,
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    // Neither 遵义 (the host) nor 上海 (the visitor) is readable by 铜仁: each is answered as
    // a missing organization, as a random id would be.
    assert_eq!(
        fields(&problem),
        ["host_org_id", "visiting_org_ids[0]", "pairing_id"]
    );
    // 苏州 on its own pairing with 铜仁 is fine.
    let mut own = shanghai_visits_zunyi(&app).await;
    own["pairing_id"] = json!(app.pairing_id("320500", "520600").await);
    own["host_org_id"] = json!(app.org_id("520600").await);
    own["visiting_org_ids"] = json!([app.org_id("320500").await]);
    let suzhou_record = create(&app, &suzhou, &own).await;
    assert_problem(
        app.get(&path(&suzhou_record), &zunyi).await,
        404,
        "not_found",
    )
    .await;

    // The auditor reads everything and writes nothing.
    let listed: HashSet<String> = all_ids(&app, &auditor, "").await.into_iter().collect();
    assert_eq!(listed.len(), 3);
    assert_eq!(
        app.get(&zunyi_path, &auditor).await.status(),
        StatusCode::OK
    );
    assert_problem(
        app.post_json(
            "/api/v1/exchanges",
            &auditor,
            &shanghai_visits_zunyi(&app).await,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.patch_json(&zunyi_path, &auditor, None, &json!({"participants": 1}))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.delete(&zunyi_path, &auditor, None).await,
        403,
        "forbidden",
    )
    .await;

    // GraphQL applies the same rules.
    let body = app
        .gql(
            &shanghai,
            "mutation($id: UUID!) { updateExchange(id: $id, input: {participants: 9}) { id } }",
            json!({"id": id_of(&zunyi_record)}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "forbidden",
        "{body}"
    );
    let body = app
        .gql(
            &suzhou,
            "mutation($id: UUID!) { deleteExchange(id: $id) }",
            json!({"id": id_of(&zunyi_record)}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "not_found",
        "{body}"
    );
}

#[tokio::test]
async fn exchange_filters() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let sh_zy = app.pairing_id("310000", "520300").await;
    let sz_tr = app.pairing_id("320500", "520600").await;
    let shanghai = app.org_id("310000").await;
    let zunyi = app.org_id("520300").await;
    let tongren = app.org_id("520600").await;
    let suzhou = app.org_id("320500").await;
    let renhuai = app.org_id("520382").await;
    let mut made = Vec::new();
    for (kind, direction, pairing, host, visitors, start) in [
        (
            "joint_meeting",
            "east_to_west",
            Some(sh_zy),
            zunyi,
            vec![shanghai],
            "2019-02-10",
        ),
        (
            "inspection_visit",
            "west_to_east",
            Some(sh_zy),
            shanghai,
            vec![zunyi],
            "2019-05-03",
        ),
        (
            "training",
            "east_to_west",
            Some(sz_tr),
            tongren,
            vec![suzhou],
            "2019-11-20",
        ),
        (
            "joint_meeting",
            "local",
            None,
            zunyi,
            vec![renhuai],
            "2020-01-15",
        ),
    ] {
        let body = json!({"kind": kind, "direction": direction, "pairing_id": pairing,
                          "host_org_id": host, "visiting_org_ids": visitors,
                          "start_on": start, "end_on": start});
        made.push(id_of(&create(&app, &admin, &body).await).to_string());
    }
    let expect = |query: String, which: &[usize]| {
        let wanted: Vec<String> = which.iter().map(|i| made[*i].clone()).collect();
        let (app, admin) = (&app, &admin);
        async move {
            assert_eq!(all_ids(app, admin, &query).await, wanted, "{query}");
        }
    };
    expect(String::new(), &[0, 1, 2, 3]).await;
    expect("year=2019".into(), &[0, 1, 2]).await;
    expect("year=2019&quarter=1".into(), &[0]).await;
    expect("year=2019&quarter=2".into(), &[1]).await;
    expect("year=2019&quarter=3".into(), &[]).await;
    expect("year=2019&quarter=4".into(), &[2]).await;
    expect("year=2020&quarter=1".into(), &[3]).await;
    expect("kind=joint_meeting".into(), &[0, 3]).await;
    expect("kind=joint_meeting&year=2019".into(), &[0]).await;
    expect("direction=east_to_west".into(), &[0, 2]).await;
    expect(format!("pairing_id={sh_zy}"), &[0, 1]).await;
    expect(format!("pairing_id={sz_tr}&kind=training"), &[2]).await;
    // An organization matches as host, owner or visitor.
    expect(format!("org_id={shanghai}"), &[0, 1]).await;
    expect(format!("org_id={renhuai}"), &[3]).await;
    expect(
        format!("org_id={}", app.org_id("520000").await),
        &[0, 1, 2, 3],
    )
    .await;
    expect("updated_since=2100-01-01T00:00:00Z".into(), &[]).await;
    expect("updated_since=2000-01-01T00:00:00Z".into(), &[0, 1, 2, 3]).await;

    // The same filters through GraphQL.
    let body = app
        .gql(
            &admin,
            "query($p: UUID) { exchanges(filter: {year: 2019, kind: joint_meeting, pairingId: $p}) {
                 edges { node { id } } pageInfo { hasNextPage } } }",
            json!({"p": sh_zy}),
        )
        .await;
    assert_eq!(
        body["data"]["exchanges"]["edges"],
        json!([{"node": {"id": made[0]}}]),
        "{body}"
    );
}

#[tokio::test]
async fn pages_cover_every_exchange_once() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let body = shanghai_visits_zunyi(&app).await;
    let mut made = Vec::new();
    for chunk in 0..12 {
        let batch = (0..10).map(|i| {
            let mut b = body.clone();
            b["external_id"] = json!(format!("zy-{chunk}-{i}"));
            let app = &app;
            let editor = &editor;
            async move {
                let (status, created) =
                    parts(app.post_json("/api/v1/exchanges", editor, &b).await).await;
                assert_eq!(status, StatusCode::CREATED, "{created}");
                id_of(&created).to_string()
            }
        });
        made.extend(futures_util::future::join_all(batch).await);
    }
    made.sort();
    assert_eq!(made.len(), 120);

    let listed = all_ids(&app, &editor, "limit=7").await;
    assert_eq!(listed, made, "REST pages in id order, each once");
    assert_eq!(all_ids(&app, &editor, "limit=500").await, made);
    assert_eq!(all_ids(&app, &editor, "").await, made);

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = tests::Pages::new(1000);
    loop {
        let body = app
            .gql(
                &editor,
                "query($after: String) { exchanges(first: 11, after: $after) {
                     edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }",
                json!({"after": after}),
            )
            .await;
        let conn = &body["data"]["exchanges"];
        let edges = conn["edges"].as_array().expect("edges");
        seen.extend(
            edges
                .iter()
                .map(|e| e["node"]["id"].as_str().expect("id").to_string()),
        );
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = edges
            .last()
            .map(|e| pages.next(e["cursor"].as_str().expect("cursor")));
    }
    assert_eq!(seen, made, "GraphQL pages in id order, each once");
}

const NESTED: &str = r#"query($n: Int) {
  exchanges(first: $n) {
    edges { node {
      id kind direction leadersPresent
      host { name }
      visitingOrgs { name }
      pairing { level east { name } west { name } }
    } }
  }
}"#;

#[tokio::test]
async fn nested_exchange_queries_cost_the_same_at_any_size() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    // Different hosts, visitors and pairings on every row, so nothing is shared by accident.
    let pairs = [
        ("310000", "520300"),
        ("210200", "520200"),
        ("370200", "520400"),
        ("440100", "520500"),
        ("440100", "522700"),
        ("320500", "520600"),
        ("330100", "522600"),
        ("330200", "522300"),
    ];
    for i in 0..12 {
        let (east, west) = pairs[i % pairs.len()];
        let body = json!({"kind": "joint_meeting", "direction": "east_to_west",
                          "pairing_id": app.pairing_id(east, west).await,
                          "host_org_id": app.org_id(west).await,
                          "visiting_org_ids": [app.org_id(east).await, app.org_id("520382").await],
                          "start_on": "2019-06-01", "end_on": "2019-06-02"});
        // 仁怀 visiting with an eastern delegation is still east_to_west.
        create(&app, &admin, &body).await;
    }
    let cost = |n: usize| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let (body, statements) = app
                .statements_during(app.gql(&admin, NESTED, json!({"n": n})))
                .await;
            assert!(body["errors"].is_null(), "{body}");
            let edges = body["data"]["exchanges"]["edges"]
                .as_array()
                .expect("edges");
            assert_eq!(edges.len(), n);
            for e in edges {
                let node = &e["node"];
                assert!(node["host"]["name"].is_string(), "{node}");
                assert_eq!(node["visitingOrgs"].as_array().map(Vec::len), Some(2));
                assert!(node["pairing"]["east"]["name"].is_string(), "{node}");
            }
            statements
        }
    };
    let small = cost(3).await;
    let large = cost(12).await;
    assert_eq!(small, large, "statements for 3 rows vs 12 rows");
    // The page, with its visitors' ids: the hosts, visitors, pairings and the pairings' sides
    // are served from the directory the request was resolved with.
    assert_eq!(large, 1, "{large} statements");

    // The 遵义 editor's scope is resolved from the directory too: no statement for it.
    let editor = app.token(Role::Editor, Some("520300"));
    let (body, statements) = app
        .statements_during(app.gql(&editor, NESTED, json!({"n": 50})))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let edges = body["data"]["exchanges"]["edges"]
        .as_array()
        .expect("edges");
    // Only the exchanges on 上海–遵义 (every eighth from the first).
    assert_eq!(edges.len(), 2, "{body}");
    assert_eq!(statements, large, "editor: {statements} statements");
}

#[tokio::test]
async fn exchanges_through_graphql_mutations() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let input = json!({
        "kind": "special_meeting",
        "direction": "local",
        "hostOrgId": app.org_id("520300").await,
        "visitingOrgIds": [app.org_id("520382").await],
        "startOn": "2019-09-02",
        "endOn": "2019-09-02",
        "leadersPresent": ["遵义市残联理事长"]
    });
    let body = app
        .gql(
            &editor,
            "mutation($input: NewExchangeInput!) { createExchange(input: $input) {
                 id version kind direction pairing { id } host { code } visitingOrgs { code } } }",
            json!({"input": input}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let created = &body["data"]["createExchange"];
    assert_eq!(created["kind"], "special_meeting");
    assert_eq!(created["direction"], "local");
    assert!(created["pairing"].is_null());
    assert_eq!(created["host"]["code"], "520300");
    assert_eq!(created["visitingOrgs"], json!([{"code": "520382"}]));
    let id = created["id"].as_str().expect("id");

    let update = "mutation($id: UUID!, $v: Int) {
        updateExchange(id: $id, input: {endOn: \"2019-09-01\"}, expectedVersion: $v) { version } }";
    let body = app.gql(&editor, update, json!({"id": id, "v": 1})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "validation_failed",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["errors"][0]["field"],
        "end_on"
    );
    let update = "mutation($id: UUID!, $v: Int) {
        updateExchange(id: $id, input: {participants: 40, summary: null}, expectedVersion: $v) {
            version participants } }";
    let body = app.gql(&editor, update, json!({"id": id, "v": 4})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "precondition_failed",
        "{body}"
    );
    let body = app.gql(&editor, update, json!({"id": id, "v": 1})).await;
    assert_eq!(
        body["data"]["updateExchange"],
        json!({"version": 2, "participants": 40}),
        "{body}"
    );
    let body = app
        .gql(
            &editor,
            "mutation($id: UUID!) { deleteExchange(id: $id, expectedVersion: 2) }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(body["data"]["deleteExchange"], true, "{body}");
    let body = app
        .gql(
            &editor,
            "query($id: UUID!) { exchange(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert!(body["data"]["exchange"].is_null(), "{body}");
}
