//! Working groups (工作推进组): one per organization, members by role, who may write them, and
//! the GraphQL relations with their contacts masked as contacts are.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

fn id_of(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

fn path(v: &Value) -> String {
    format!("/api/v1/working-groups/{}", id_of(v))
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str().map(str::to_string))
        .collect()
}

/// Removes the seeded province working group and its placeholder holders, so that a test
/// sets up the group itself.
async fn without_seeded_group(app: &TestApp) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let province = app.org_id("520000").await;
    entity::working_group::Entity::delete_many()
        .filter(entity::working_group::Column::OrgId.eq(province))
        .exec(&app.ctx.db)
        .await
        .expect("delete group");
    entity::contact::Entity::delete_many()
        .filter(entity::contact::Column::OrgId.eq(province))
        .exec(&app.ctx.db)
        .await
        .expect("delete contacts");
}

async fn contact(app: &TestApp, org: &str, name: &str, phone: &str) -> Uuid {
    let (status, body) = parts(
        app.post_json(
            "/api/v1/contacts",
            &app.admin_token(),
            &json!({"org_id": app.org_id(org).await, "name": name, "phone": phone,
                    "email": "holder@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id_of(&body).parse().expect("uuid")
}

#[tokio::test]
async fn the_province_sets_up_its_group_once_with_members_by_role() {
    let app = spawn_app().await;
    without_seeded_group(&app).await;
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    let province = app.org_id("520000").await;
    let jj = app.org_id("520000-jj").await;
    let leader = contact(&app, "520000", "组长（示例）", "13800000001").await;
    let deputy = contact(&app, "520000", "副组长（示例）", "13800000002").await;
    let keeper = contact(&app, "520000-jj", "台账责任人（示例）", "13800000003").await;

    let body = json!({
        "org_id": province,
        "name": "全省残联东西部扶贫协作工作推进组",
        "office_org_id": jj,
        "responsible_org_id": jj,
        "members": [
            {"contact_id": leader, "role": "leader"},
            {"contact_id": deputy, "role": "deputy_leader"},
            {"contact_id": deputy, "role": "office_director"},
            {"contact_id": keeper, "role": "ledger_keeper"},
        ],
        "external_id": "gz-wg"
    });
    let response = app
        .post_json("/api/v1/working-groups", &coordinator, &body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(tests::etag_version(&response), 1);
    let created: Value = response.json().await.expect("body");
    assert_eq!(created["owner_org_id"], province.to_string());
    assert_eq!(created["office_org_id"], jj.to_string());
    assert_eq!(created["members"].as_array().map(Vec::len), Some(4));
    assert_eq!(created["members"][1]["role"], "deputy_leader");
    assert_eq!(created["members"][1]["contact_id"], deputy.to_string());

    // One live group per organization.
    let mut again = body.clone();
    again["external_id"] = json!("gz-wg-2");
    let conflict = assert_problem(
        app.post_json("/api/v1/working-groups", &coordinator, &again)
            .await,
        409,
        "duplicate",
    )
    .await;
    assert_eq!(conflict["field"], "org_id");

    // Replace the members; a stale version loses.
    let liaison = contact(&app, "520000-jj", "联络员（示例）", "13800000004").await;
    let patch = json!({"members": [{"contact_id": leader, "role": "leader"},
                                   {"contact_id": liaison, "role": "liaison"}]});
    assert_problem(
        app.patch_json(&path(&created), &coordinator, Some(2), &patch)
            .await,
        412,
        "precondition_failed",
    )
    .await;
    let response = app
        .patch_json(&path(&created), &coordinator, Some(1), &patch)
        .await;
    assert_eq!(tests::etag_version(&response), 2);
    let changed: Value = response.json().await.expect("body");
    assert_eq!(
        changed["members"],
        json!([{"contact_id": leader, "role": "leader"},
               {"contact_id": liaison, "role": "liaison"}])
    );
    // Clearing the office keeps the rest.
    let (status, cleared) = parts(
        app.patch_json(
            &path(&created),
            &coordinator,
            None,
            &json!({"office_org_id": null}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(cleared["office_org_id"].is_null());
    assert_eq!(cleared["responsible_org_id"], jj.to_string());
    assert_eq!(cleared["members"], changed["members"]);

    // Deleted, the organization may set up a new one.
    assert_eq!(
        app.delete(&path(&created), &coordinator, Some(3))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        app.get(&path(&created), &coordinator).await,
        404,
        "not_found",
    )
    .await;
    let (status, _) = parts(
        app.post_json("/api/v1/working-groups", &coordinator, &again)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, log) = parts(
        app.get(
            &format!(
                "/api/v1/audit-log?record_type=working_group&record_id={}",
                id_of(&created)
            ),
            &app.admin_token(),
        )
        .await,
    )
    .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["create", "update", "update", "delete"]);
}

#[tokio::test]
async fn bad_groups_name_every_field() {
    let app = spawn_app().await;
    without_seeded_group(&app).await;
    let admin = app.admin_token();
    let known = contact(&app, "520300", "组长（示例）", "13800000001").await;
    // The office outside the organization, a contact that does not exist, a role that does not.
    let body = assert_problem(
        app.post_json(
            "/api/v1/working-groups",
            &admin,
            &json!({"org_id": app.org_id("520300").await, "name": "",
                    "office_org_id": app.org_id("520600").await,
                    "members": [{"contact_id": known, "role": "leader"},
                                {"contact_id": Uuid::now_v7(), "role": "member"},
                                {"contact_id": known, "role": "leader"}]}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        fields(&body),
        [
            "name",
            "office_org_id",
            "members[1].contact_id",
            "members[2]"
        ]
    );
    let body = assert_problem(
        app.post_json(
            "/api/v1/working-groups",
            &admin,
            &json!({"org_id": app.org_id("520300").await, "name": "推进组",
                    "members": [{"contact_id": known, "role": "chair"}]}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), ["members[0].role"]);
    let body = assert_problem(
        app.post_json(
            "/api/v1/working-groups",
            &admin,
            &json!({"org_id": Uuid::now_v7(), "name": "推进组"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), ["org_id"]);
}

#[tokio::test]
async fn prefectures_write_their_own_groups_and_the_office_writes_any() {
    let app = spawn_app().await;
    without_seeded_group(&app).await;
    let zunyi_editor = app.token(Role::Editor, Some("520300"));
    let leader = contact(&app, "520300", "遵义组长（示例）", "13912345678").await;
    let (status, group) = parts(
        app.post_json(
            "/api/v1/working-groups",
            &zunyi_editor,
            &json!({"org_id": app.org_id("520300").await, "name": "遵义市残联东西部扶贫协作工作推进小组",
                    "members": [{"contact_id": leader, "role": "leader"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");

    let rename = json!({"name": "改名"});
    for (role, org, status, code) in [
        (Role::Editor, "520600", 404, "not_found"),
        (Role::Partner, "320500", 404, "not_found"),
        (Role::Partner, "310000", 403, "forbidden"),
        (Role::Editor, "520382", 403, "forbidden"),
        (Role::Auditor, "520000", 403, "forbidden"),
    ] {
        let token = app.token(role, Some(org));
        assert_problem(
            app.patch_json(&path(&group), &token, None, &rename).await,
            status,
            code,
        )
        .await;
    }
    // 铜仁 cannot see 遵义 (no such organization); the auditor sees it but writes nothing.
    for (role, org, status, code) in [
        (Role::Editor, "520600", 422, "validation_failed"),
        (Role::Auditor, "520000", 403, "forbidden"),
    ] {
        assert_problem(
            app.post_json(
                "/api/v1/working-groups",
                &app.token(role, Some(org)),
                &json!({"org_id": app.org_id("520300").await, "name": "x"}),
            )
            .await,
            status,
            code,
        )
        .await;
    }
    // The coordinator writes any group, the eastern ones included.
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    let (status, _) = parts(
        app.patch_json(&path(&group), &coordinator, None, &rename)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = parts(
        app.post_json(
            "/api/v1/working-groups",
            &coordinator,
            &json!({"org_id": app.org_id("310000").await, "name": "上海市残联东西部扶贫协作工作小组"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // An editor cannot name a contact it may not read.
    let tongren_contact = contact(&app, "520600", "铜仁联络员（示例）", "13700000000").await;
    let body = assert_problem(
        app.patch_json(
            &path(&group),
            &zunyi_editor,
            None,
            &json!({"members": [{"contact_id": tongren_contact, "role": "liaison"}]}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), ["members[0].contact_id"]);

    // Lists hold only groups of organizations the caller may read.
    let (_, list) = parts(
        app.get(
            "/api/v1/working-groups",
            &app.token(Role::Editor, Some("520600")),
        )
        .await,
    )
    .await;
    assert_eq!(list["items"], json!([]));
    let (_, list) = parts(
        app.get(
            &format!(
                "/api/v1/working-groups?org_id={}",
                app.org_id("520300").await
            ),
            &app.token(Role::Partner, Some("310000")),
        )
        .await,
    )
    .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
}

const GROUPS: &str = r#"query($n: Int) {
  workingGroups(first: $n) {
    edges { node {
      name
      organization { code }
      office { code }
      responsibleOrganization { code }
      members { role contact { name phone email masked organization { code } } }
    } }
  }
}"#;

#[tokio::test]
async fn graphql_walks_groups_to_masked_contacts_in_bounded_statements() {
    let app = spawn_app().await;
    without_seeded_group(&app).await;
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    for code in ["520300", "520200", "520400", "520500", "520600"] {
        let leader = contact(&app, code, "组长（示例）", "13812345678").await;
        let liaison = contact(&app, code, "联络员（示例）", "13887654321").await;
        let (status, body) = parts(
            app.post_json(
                "/api/v1/working-groups",
                &coordinator,
                &json!({"org_id": app.org_id(code).await, "name": format!("{code} 工作推进小组"),
                        "office_org_id": app.org_id(code).await,
                        "members": [{"contact_id": leader, "role": "leader"},
                                    {"contact_id": liaison, "role": "liaison"}]}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let admin = app.admin_token();
    let mut costs = Vec::new();
    for n in [2, 5] {
        let (body, statements) = app
            .statements_during(app.gql(&admin, GROUPS, json!({"n": n})))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let edges = body["data"]["workingGroups"]["edges"]
            .as_array()
            .expect("edges");
        assert_eq!(edges.len(), n);
        let node = &edges[0]["node"];
        assert_eq!(node["members"][0]["role"], "leader");
        assert_eq!(node["members"][0]["contact"]["phone"], "13812345678");
        assert_eq!(node["members"][1]["contact"]["masked"], false);
        costs.push(statements);
    }
    assert_eq!(costs[0], costs[1], "statements for 2 vs 5 groups");
    // Groups, organizations, contacts, the contacts' organizations.
    assert!(costs[1] <= 6, "{costs:?}");

    // 上海 reads 遵义's group (its pairing) with the contacts masked.
    let shanghai = app.token(Role::Partner, Some("310000"));
    let body = app.gql(&shanghai, GROUPS, json!({"n": 10})).await;
    assert!(body["errors"].is_null(), "{body}");
    let edges = body["data"]["workingGroups"]["edges"]
        .as_array()
        .expect("edges");
    assert_eq!(edges.len(), 1, "{body}");
    let member = &edges[0]["node"]["members"][0]["contact"];
    assert_eq!(edges[0]["node"]["organization"]["code"], "520300");
    assert_eq!(member["phone"], "138****5678");
    assert_eq!(member["email"], "h***@example.com");
    assert_eq!(member["masked"], true);

    // Mutations carry the service's codes.
    let body = app
        .gql(
            &coordinator,
            "mutation($org: UUID!) { createWorkingGroup(input: {orgId: $org, name: \"again\"}) { id } }",
            json!({"org": app.org_id("520300").await}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "duplicate");
    assert_eq!(body["errors"][0]["extensions"]["field"], "org_id");
}
