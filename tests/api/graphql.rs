//! GraphQL at /graphql: nested relations over the seeded 2019 structure, Relay pagination,
//! filters, mutations with versions, errors that carry the REST `code`, authentication, the
//! depth and complexity limits, and the GraphiQL page.

use std::collections::HashSet;

use reqwest::{Method, header};
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app, spawn_app_with};
use uuid::Uuid;
use xiezuo::{
    domain::Role,
    graphql::{MAX_COST, MAX_DEPTH},
};

const ZUNYI: &str = "遵义市残疾人联合会";
const PROVINCE: &str = "贵州省残疾人联合会";
const SHANGHAI: &str = "上海市残疾人联合会";

/// The response's `data`, after checking that there are no errors.
fn data(response: &Value) -> &Value {
    assert!(
        response.get("errors").is_none_or(Value::is_null),
        "unexpected errors: {response}"
    );
    &response["data"]
}

/// The first error of a response that must have failed, after checking its `extensions.code`
/// and `extensions.status`.
fn error_with_code<'a>(response: &'a Value, code: &str, status: u16) -> &'a Value {
    let error = &response["errors"][0];
    assert_eq!(error["extensions"]["code"], code, "{response}");
    assert_eq!(error["extensions"]["status"], status, "{response}");
    assert!(error["message"].is_string(), "{response}");
    error
}

/// The `field` of each entry of an error's `extensions.errors`, sorted.
fn error_fields(error: &Value) -> Vec<String> {
    let mut fields: Vec<String> = error["extensions"]["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

/// The nodes of a connection.
fn nodes(connection: &Value) -> Vec<&Value> {
    connection["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|e| &e["node"]).collect())
        .unwrap_or_default()
}

/// A string field of each node, in order.
fn strings<'a>(items: impl IntoIterator<Item = &'a Value>, key: &str) -> Vec<String> {
    items
        .into_iter()
        .map(|item| item[key].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Every organization REST lists for `token` (one page of 500 holds them all).
async fn rest_org_ids(app: &TestApp, token: &str) -> HashSet<String> {
    let (status, body) = parts(app.get("/api/v1/organizations?limit=500", token).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["next_cursor"].is_null());
    body["items"]
        .as_array()
        .map(|items| strings(items, "id").into_iter().collect())
        .unwrap_or_default()
}

/// The organization with `code`, as REST shows it, or None when it is gone.
async fn rest_org(app: &TestApp, token: &str, code: &str) -> Option<Value> {
    let (status, body) = parts(
        app.get(&format!("/api/v1/organizations?code={code}"), token)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["items"].get(0).cloned()
}

const ORGS_BY_FILTER: &str = r#"
    query($filter: OrganizationFilter, $first: Int, $after: String) {
        organizations(filter: $filter, first: $first, after: $after) {
            edges { cursor node { id code name region divisionCode } }
            pageInfo { hasNextPage endCursor }
        }
    }"#;

/// Codes of the organizations matching `filter`, in one page.
async fn codes_where(app: &TestApp, token: &str, filter: Value) -> Vec<String> {
    let response = app
        .gql(
            token,
            ORGS_BY_FILTER,
            json!({"filter": filter, "first": 500}),
        )
        .await;
    let mut codes = strings(nodes(&data(&response)["organizations"]), "code");
    codes.sort();
    codes
}

const CREATE: &str = r#"
    mutation($input: NewOrganizationInput!) {
        createOrganization(input: $input) { id code name version divisionCode parent { code } }
    }"#;

const UPDATE: &str = r#"
    mutation($id: UUID!, $input: OrganizationPatchInput!, $version: Int) {
        updateOrganization(id: $id, input: $input, expectedVersion: $version) {
            id name version divisionCode
        }
    }"#;

const DELETE: &str = r#"
    mutation($id: UUID!, $version: Int) { deleteOrganization(id: $id, expectedVersion: $version) }"#;

/// A county under 遵义 for the mutation tests.
async fn county_input(app: &TestApp, code: &str) -> Value {
    json!({
        "code": code,
        "name": "汇川区残疾人联合会",
        "region": "west",
        "level": "county",
        "kind": "federation",
        "parentId": app.org_id("520300").await,
        "divisionCode": "520303",
    })
}

#[tokio::test]
async fn nested_queries_follow_parents_children_and_pairings() {
    let app = spawn_app().await;
    let token = app.admin_token();

    let query = r#"
        query($filter: OrganizationFilter) {
            organizations(filter: $filter) {
                edges { node {
                    code name region level kind
                    parent { code name parent { code } }
                    children { code name parent { code } }
                    pairings { level active east { code name } west { code name } }
                } }
            }
        }"#;
    let response = app
        .gql(&token, query, json!({"filter": {"divisionCode": "520300"}}))
        .await;
    let zunyi = nodes(&data(&response)["organizations"]);
    assert_eq!(zunyi.len(), 1, "{response}");
    let zunyi = zunyi[0];
    assert_eq!(
        (
            &zunyi["code"],
            &zunyi["name"],
            &zunyi["region"],
            &zunyi["level"],
            &zunyi["kind"]
        ),
        (
            &json!("520300"),
            &json!(ZUNYI),
            &json!("west"),
            &json!("prefecture"),
            &json!("federation")
        )
    );
    assert_eq!(zunyi["parent"]["code"], "520000");
    assert_eq!(zunyi["parent"]["name"], PROVINCE);
    assert_eq!(
        zunyi["parent"]["parent"],
        Value::Null,
        "the province is the root"
    );
    assert_eq!(
        zunyi["children"],
        json!([{"code": "520382", "name": "仁怀市残疾人联合会", "parent": {"code": "520300"}}])
    );
    assert_eq!(
        zunyi["pairings"],
        json!([{
            "level": "city_prefecture",
            "active": true,
            "east": {"code": "310000", "name": SHANGHAI},
            "west": {"code": "520300", "name": ZUNYI},
        }])
    );

    // 广州 is paired twice; the province's children are every prefecture, department and
    // institution REST lists under it; 仁怀's grandparent is the province.
    let query = r#"
        query($guangzhou: UUID!, $province: UUID!, $renhuai: UUID!) {
            guangzhou: organization(id: $guangzhou) {
                name parent { name } pairings { west { code } east { name } }
            }
            province: organization(id: $province) { children { id } }
            renhuai: organization(id: $renhuai) { parent { name parent { name } } }
        }"#;
    let province = app.org_id("520000").await;
    let variables = json!({
        "guangzhou": app.org_id("440100").await,
        "province": province,
        "renhuai": app.org_id("520382").await,
    });
    let response = app.gql(&token, query, variables).await;
    let found = data(&response);
    assert_eq!(found["guangzhou"]["name"], "广州市残疾人联合会");
    assert_eq!(found["guangzhou"]["parent"]["name"], "广东省残疾人联合会");
    let pairings = found["guangzhou"]["pairings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut wests: Vec<String> = pairings
        .iter()
        .map(|p| p["west"]["code"].as_str().unwrap_or_default().to_string())
        .collect();
    wests.sort();
    assert_eq!(wests, ["520500", "522700"], "{response}");
    assert!(
        pairings
            .iter()
            .all(|p| p["east"]["name"] == "广州市残疾人联合会")
    );
    let (_, rest_children) = parts(
        app.get(
            &format!("/api/v1/organizations/{province}/children?limit=500"),
            &token,
        )
        .await,
    )
    .await;
    let expected: HashSet<String> = strings(
        rest_children["items"].as_array().into_iter().flatten(),
        "id",
    )
    .into_iter()
    .collect();
    let children: HashSet<String> = strings(
        found["province"]["children"]
            .as_array()
            .into_iter()
            .flatten(),
        "id",
    )
    .into_iter()
    .collect();
    assert_eq!(children.len(), 20, "9 prefectures, 贵安, 10 units");
    assert_eq!(children, expected);
    assert_eq!(found["renhuai"]["parent"]["name"], ZUNYI);
    assert_eq!(found["renhuai"]["parent"]["parent"]["name"], PROVINCE);

    // Every seeded pairing, with both sides resolved.
    let query = r#"{ pairings(first: 500) { edges { node {
        east { code name } west { code name } } } } }"#;
    let response = app.gql(&token, query, json!({})).await;
    let mut pairs: Vec<String> = nodes(&data(&response)["pairings"])
        .into_iter()
        .map(|p| {
            format!(
                "{}-{}",
                p["east"]["code"].as_str().unwrap_or("?"),
                p["west"]["code"].as_str().unwrap_or("?")
            )
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            "210000-520000",
            "210200-520200",
            "310000-520000",
            "310000-520300",
            "320000-520000",
            "320500-520600",
            "330000-520000",
            "330100-522600",
            "330200-522300",
            "370000-520000",
            "370200-520400",
            "440000-520000",
            "440100-520500",
            "440100-522700",
        ]
    );
    assert!(
        nodes(&data(&response)["pairings"])
            .iter()
            .any(|p| p["east"]["name"] == "苏州市残疾人联合会"
                && p["west"]["name"] == "铜仁市残疾人联合会"),
        "{response}"
    );

    // A record that does not exist is null, not an error.
    let response = app
        .gql(
            &token,
            "query($id: UUID!) { organization(id: $id) { code } pairing(id: $id) { id } }",
            json!({"id": Uuid::now_v7()}),
        )
        .await;
    assert_eq!(
        data(&response),
        &json!({"organization": null, "pairing": null})
    );
}

/// The structure nested under organizations (parents, children, pairings and their sides) comes
/// from the directory the request was resolved with: a nested query costs the statement of its
/// list and nothing per organization or per level, however many organizations it covers. Exact,
/// not a bound: no batching is involved, so nothing can split a batch under load.
#[tokio::test]
async fn nested_queries_cost_a_bounded_number_of_statements() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let all = rest_org_ids(&app, &token).await.len();
    let partner = app.token(Role::Partner, Some("310000"));
    let query = r#"
        query($first: Int) {
            organizations(first: $first) { edges { node {
                code
                parent { code parent { code } }
                children { code children { code } pairings { id } }
                pairings { east { code parent { code } } west { code children { code } } }
            } } }
        }"#;

    // 40 covers every seeded organization; 500 would be refused by the cost limit, which
    // prices each of the 500 with 20 children of 20 children.
    for first in [5, 40] {
        let (response, statements) = app
            .statements_during(app.gql(&token, query, json!({"first": first})))
            .await;
        let orgs = nodes(&data(&response)["organizations"]);
        assert_eq!(orgs.len(), first.min(all));
        assert_eq!(statements, 1, "statements for {} organizations", orgs.len());
        // The nesting is really there: some organization has children with pairings.
        assert!(
            orgs.iter()
                .any(|o| o["children"].as_array().is_some_and(|c| !c.is_empty())),
            "{response}"
        );
    }

    // A partner's view of the same query: the scope cuts the nested lists as it cuts the list,
    // still in one statement. 上海 sees 遵义 (its pairing's other side) but not 仁怀, the county
    // under 遵义, which the admin sees.
    let children_of_zunyi = |response: &Value| -> Vec<String> {
        nodes(&data(response)["organizations"])
            .iter()
            .find(|o| o["code"] == "520300")
            .map(|o| {
                o["children"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["code"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_else(|| panic!("遵义 missing: {response}"))
    };
    let admin_view = app.gql(&token, query, json!({"first": 40})).await;
    assert!(children_of_zunyi(&admin_view).contains(&"520382".to_string()));
    let (response, statements) = app
        .statements_during(app.gql(&partner, query, json!({"first": 40})))
        .await;
    assert_eq!(statements, 1);
    assert_eq!(children_of_zunyi(&response), Vec::<String>::new());
    let visible: HashSet<String> = nodes(&data(&response)["organizations"])
        .iter()
        .filter_map(|o| o["code"].as_str().map(str::to_string))
        .collect();
    for org in nodes(&data(&response)["organizations"]) {
        for child in org["children"].as_array().into_iter().flatten() {
            let code = child["code"].as_str().unwrap_or_default();
            assert!(
                visible.contains(code),
                "a child the partner cannot list: {code}"
            );
        }
    }
}

#[tokio::test]
async fn relay_pagination_visits_every_organization_once() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let expected = rest_org_ids(&app, &token).await;
    assert!(
        expected.len() > 30,
        "the seeded structure: {}",
        expected.len()
    );

    let page_size = 7;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    let mut cursors = tests::Pages::new(1000);
    loop {
        let response = app
            .gql(
                &token,
                ORGS_BY_FILTER,
                json!({"first": page_size, "after": after}),
            )
            .await;
        let connection = &data(&response)["organizations"];
        let edges = connection["edges"].as_array().cloned().unwrap_or_default();
        assert!(!edges.is_empty() && edges.len() <= page_size, "{response}");
        let last_cursor = edges.last().map(|e| e["cursor"].clone());
        assert_eq!(
            Some(connection["pageInfo"]["endCursor"].clone()),
            last_cursor,
            "endCursor is the last edge's cursor"
        );
        seen.extend(strings(edges.iter().map(|e| &e["node"]), "id"));
        pages += 1;
        assert!(pages <= expected.len(), "pagination does not end");
        if connection["pageInfo"]["hasNextPage"] != true {
            assert!(edges.len() <= page_size);
            break;
        }
        assert_eq!(edges.len(), page_size, "a page before the last is full");
        after = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(|c| cursors.next(c));
    }
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "an organization was listed twice");
    assert_eq!(unique, expected, "every organization, and only those");
    assert_eq!(pages, expected.len().div_ceil(page_size));
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "a stable id order");

    // Page sizes and cursors are checked like REST's `limit` and `cursor`.
    for variables in [
        json!({"first": 0}),
        json!({"first": 501}),
        json!({"after": "junk"}),
    ] {
        let response = app.gql(&token, ORGS_BY_FILTER, variables).await;
        error_with_code(&response, "validation_failed", 422);
        assert!(response["data"].is_null(), "{response}");
    }
}

#[tokio::test]
async fn filters_narrow_the_connection() {
    let app = spawn_app().await;
    let token = app.admin_token();

    let response = app
        .gql(
            &token,
            ORGS_BY_FILTER,
            json!({"filter": {"divisionCode": "520300"}}),
        )
        .await;
    let found = nodes(&data(&response)["organizations"]);
    assert_eq!(found.len(), 1, "{response}");
    assert_eq!(
        (
            &found[0]["code"],
            &found[0]["name"],
            &found[0]["divisionCode"]
        ),
        (&json!("520300"), &json!(ZUNYI), &json!("520300"))
    );
    assert_eq!(
        data(&response)["organizations"]["pageInfo"]["hasNextPage"],
        false
    );

    assert_eq!(
        codes_where(
            &app,
            &token,
            json!({"parentId": app.org_id("520300").await})
        )
        .await,
        ["520382"]
    );
    assert_eq!(
        codes_where(&app, &token, json!({"q": "遵义"})).await,
        ["520300"]
    );
    assert_eq!(
        codes_where(&app, &token, json!({"code": "520526"})).await,
        ["520526"]
    );
    assert_eq!(
        codes_where(&app, &token, json!({"level": "county"})).await,
        ["520382", "520526"]
    );
    assert_eq!(
        codes_where(&app, &token, json!({"region": "east", "level": "province"})).await,
        ["210000", "310000", "320000", "330000", "370000", "440000"]
    );
    assert_eq!(
        codes_where(&app, &token, json!({"kind": "agency"})).await,
        ["guian"]
    );
    let eastern = codes_where(&app, &token, json!({"region": "east"})).await;
    assert_eq!(eastern.len(), 12, "{eastern:?}");
    assert!(eastern.iter().all(|c| !c.starts_with("52")), "{eastern:?}");
    assert!(
        codes_where(&app, &token, json!({"divisionCode": "110000"}))
            .await
            .is_empty()
    );

    let west_of_guangzhou = app
        .gql(
            &token,
            "query($f: PairingFilter) { pairings(filter: $f) { edges { node { west { code } } } } }",
            json!({"f": {"eastOrgId": app.org_id("440100").await}}),
        )
        .await;
    let mut wests: Vec<String> = nodes(&data(&west_of_guangzhou)["pairings"])
        .iter()
        .map(|p| p["west"]["code"].as_str().unwrap_or_default().to_string())
        .collect();
    wests.sort();
    assert_eq!(wests, ["520500", "522700"]);

    // A bad filter value is a validation error naming the field.
    let response = app
        .gql(
            &token,
            ORGS_BY_FILTER,
            json!({"filter": {"divisionCode": "12"}}),
        )
        .await;
    let error = error_with_code(&response, "validation_failed", 422);
    assert_eq!(error_fields(error), ["division_code"]);
}

#[tokio::test]
async fn mutations_create_update_and_delete_with_expected_versions() {
    let app = spawn_app().await;
    let token = app.admin_token();

    // Create.
    let response = app
        .gql(
            &token,
            CREATE,
            json!({"input": county_input(&app, "520303").await}),
        )
        .await;
    let created = data(&response)["createOrganization"].clone();
    assert_eq!(created["version"], 1);
    assert_eq!(created["parent"]["code"], "520300");
    let id = created["id"].as_str().unwrap_or_default().to_string();
    let stored = rest_org(&app, &token, "520303").await.unwrap_or_default();
    assert_eq!(stored["id"], id.as_str(), "REST sees what GraphQL created");
    assert_eq!(stored["name"], "汇川区残疾人联合会");
    assert_eq!(stored["division_code"], "520303");

    // The same code again is a conflict naming it.
    let response = app
        .gql(
            &token,
            CREATE,
            json!({"input": county_input(&app, "520303").await}),
        )
        .await;
    let error = error_with_code(&response, "duplicate", 409);
    assert_eq!(error["extensions"]["field"], "code", "{response}");
    assert!(response["data"].is_null());

    // Update with the current version; `null` clears a nullable field.
    let response = app
        .gql(
            &token,
            UPDATE,
            json!({"id": id, "input": {"name": "汇川区残联", "divisionCode": null}, "version": 1}),
        )
        .await;
    assert_eq!(
        data(&response)["updateOrganization"],
        json!({"id": id, "name": "汇川区残联", "version": 2, "divisionCode": null})
    );

    // A stale version is refused with the current one, and changes nothing.
    let response = app
        .gql(
            &token,
            UPDATE,
            json!({"id": id, "input": {"name": "过期的改动"}, "version": 1}),
        )
        .await;
    let error = error_with_code(&response, "precondition_failed", 412);
    assert_eq!(error["extensions"]["current_version"], 2, "{response}");
    assert!(response["data"].is_null(), "{response}");
    let stored = rest_org(&app, &token, "520303").await.unwrap_or_default();
    assert_eq!(
        (&stored["name"], &stored["version"]),
        (&json!("汇川区残联"), &json!(2))
    );

    // Without a version the update applies to whatever is current.
    let response = app
        .gql(
            &token,
            UPDATE,
            json!({"id": id, "input": {"divisionCode": "520303"}}),
        )
        .await;
    assert_eq!(data(&response)["updateOrganization"]["version"], 3);

    // Delete: a stale version is refused, the current one removes it.
    let response = app
        .gql(&token, DELETE, json!({"id": id, "version": 2}))
        .await;
    let error = error_with_code(&response, "precondition_failed", 412);
    assert_eq!(error["extensions"]["current_version"], 3);
    assert!(
        rest_org(&app, &token, "520303").await.is_some(),
        "still there"
    );
    let response = app
        .gql(&token, DELETE, json!({"id": id, "version": 3}))
        .await;
    assert_eq!(data(&response)["deleteOrganization"], true);
    assert!(rest_org(&app, &token, "520303").await.is_none(), "deleted");
    let response = app
        .gql(
            &token,
            "query($id: UUID!) { organization(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(data(&response)["organization"], Value::Null);

    // Deleting it again: not found. Deleting an organization with children: a conflict.
    let response = app.gql(&token, DELETE, json!({"id": id})).await;
    error_with_code(&response, "not_found", 404);
    let response = app
        .gql(&token, DELETE, json!({"id": app.org_id("520300").await}))
        .await;
    error_with_code(&response, "in_use", 409);
    assert!(rest_org(&app, &token, "520300").await.is_some());
}

#[tokio::test]
async fn validation_and_forbidden_errors_carry_their_codes() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let organizations = rest_org_ids(&app, &token).await;

    // Several invalid fields, all named in `extensions.errors`; nothing written.
    let mut input = county_input(&app, "").await;
    input["divisionCode"] = json!("12");
    input["name"] = json!("  ");
    let response = app.gql(&token, CREATE, json!({"input": input})).await;
    let error = error_with_code(&response, "validation_failed", 422);
    assert_eq!(error_fields(error), ["code", "division_code", "name"]);
    for entry in error["extensions"]["errors"]
        .as_array()
        .into_iter()
        .flatten()
    {
        assert!(entry["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert!(response["data"].is_null());

    let zunyi = app.org_id("520300").await;
    let response = app
        .gql(
            &token,
            UPDATE,
            json!({"id": zunyi, "input": {"parentId": zunyi}}),
        )
        .await;
    let error = error_with_code(&response, "validation_failed", 422);
    assert_eq!(error_fields(error), ["parent_id"]);

    // Roles that may not write organizations: forbidden, and nothing changes.
    let editor = app.token(Role::Editor, Some("520300"));
    let auditor = app.token(Role::Auditor, Some("520000"));
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    for who in [&editor, &auditor, &coordinator] {
        let input = county_input(&app, "520304").await;
        let response = app.gql(who, CREATE, json!({"input": input})).await;
        error_with_code(&response, "forbidden", 403);
        assert!(response["data"].is_null());
    }
    // (Editors' updates and deletes: `an_editor_may_not_change_organizations` below.)
    for who in [&auditor, &coordinator] {
        assert_forbidden_to_change(&app, who, zunyi).await;
    }
    assert_eq!(
        rest_org_ids(&app, &token).await,
        organizations,
        "nothing was created"
    );
    let stored = rest_org(&app, &token, "520300").await.unwrap_or_default();
    assert_eq!(
        (&stored["name"], &stored["version"]),
        (&json!(ZUNYI), &json!(1))
    );

    // An editor of 遵义 sees its own subtree, its ancestors and its partner, not the rest.
    let response = app
        .gql(&editor, ORGS_BY_FILTER, json!({"first": 500}))
        .await;
    let visible: HashSet<String> = strings(nodes(&data(&response)["organizations"]), "code")
        .into_iter()
        .collect();
    for code in ["520300", "520382", "520000", "310000"] {
        assert!(
            visible.contains(code),
            "{code} hidden from 遵义's editor: {visible:?}"
        );
    }
    for code in ["520600", "320500", "520526"] {
        assert!(
            !visible.contains(code),
            "{code} shown to 遵义's editor: {visible:?}"
        );
    }
    let response = app
        .gql(
            &editor,
            "query($id: UUID!) { organization(id: $id) { code } }",
            json!({"id": app.org_id("520600").await}),
        )
        .await;
    assert_eq!(data(&response)["organization"], Value::Null);
}

/// `who` may neither update nor delete the organization `id`.
async fn assert_forbidden_to_change(app: &TestApp, who: &str, id: Uuid) {
    let variables = json!({"id": id, "input": {"name": "改名"}, "version": 1});
    let response = app.gql(who, UPDATE, variables).await;
    error_with_code(&response, "forbidden", 403);
    assert!(response["data"].is_null());
    let response = app.gql(who, DELETE, json!({"id": id, "version": 1})).await;
    error_with_code(&response, "forbidden", 403);
}

/// An editor reads its own federation but may not change it: forbidden, like every other role
/// but the admin's.
#[tokio::test]
async fn an_editor_may_not_change_organizations() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let editor = app.token(Role::Editor, Some("520300"));
    let zunyi = app.org_id("520300").await;

    assert_forbidden_to_change(&app, &editor, zunyi).await;

    let stored = rest_org(&app, &admin, "520300").await.unwrap_or_default();
    assert_eq!(
        (&stored["name"], &stored["version"]),
        (&json!(ZUNYI), &json!(1))
    );
}

#[tokio::test]
async fn post_without_a_valid_token_is_a_401_problem() {
    let app = spawn_app().await;
    let body = json!({"query": "{ organizations { edges { node { code } } } }"});

    let response = app
        .request(Method::POST, "/graphql", None)
        .json(&body)
        .send()
        .await
        .expect("request failed");
    assert_eq!(
        response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    let problem = assert_problem(response, 401, "unauthenticated").await;
    assert!(
        problem.get("data").is_none(),
        "no data without a token: {problem}"
    );

    for bad in ["not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"] {
        let response = app
            .request(Method::POST, "/graphql", Some(bad))
            .json(&body)
            .send()
            .await
            .expect("request failed");
        assert_problem(response, 401, "invalid_token").await;
    }
    let response = app
        .request(Method::POST, "/graphql", None)
        .header(header::AUTHORIZATION, "Basic YWRtaW46YWRtaW4=")
        .json(&body)
        .send()
        .await
        .expect("request failed");
    assert_problem(response, 401, "invalid_token").await;
}

/// A GraphQL request is a JSON body like any other: beyond `max_body_bytes` it is refused with
/// 413 before anything runs.
#[tokio::test]
async fn an_oversize_graphql_request_is_a_413_problem() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let limit = app.config.max_body_bytes;

    // A valid mutation, padded past the limit with a comment.
    let padded = format!("{CREATE}\n#{}", "x".repeat(limit));
    let body = json!({"query": padded, "variables": {"input": county_input(&app, "520303").await}});
    let response = app.post_json("/graphql", &token, &body).await;
    assert_problem(response, 413, "payload_too_large").await;
    assert!(
        rest_org(&app, &token, "520303").await.is_none(),
        "it ran anyway"
    );
}

/// `{ organization(id: ...) { parent { ... { code } } } }` nested `depth` levels deep.
fn nested_query(id: Uuid, depth: usize) -> String {
    let parents = depth - 2;
    format!(
        "{{ organization(id: \"{id}\") {{ {}code{} }} }}",
        "parent { ".repeat(parents),
        " }".repeat(parents)
    )
}

#[tokio::test]
async fn queries_beyond_the_depth_and_cost_limits_are_refused() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let renhuai = app.org_id("520382").await;
    assert_eq!(MAX_DEPTH, 20);

    // At the limit the query runs (仁怀 → 遵义 → 贵州 → null).
    let response = app
        .gql(&token, &nested_query(renhuai, MAX_DEPTH), json!({}))
        .await;
    let found = &data(&response)["organization"];
    assert_eq!(
        found["parent"]["parent"]["parent"],
        Value::Null,
        "{response}"
    );
    assert!(found["parent"]["parent"].is_object(), "{response}");

    // One level deeper, through parents or through children: refused before it runs.
    let children = format!(
        "{{ organizations {{ edges {{ node {{ {}code{} }} }} }} }}",
        "children { ".repeat(MAX_DEPTH - 3),
        " }".repeat(MAX_DEPTH - 3)
    );
    for query in [nested_query(renhuai, MAX_DEPTH + 1), children] {
        let response = app.gql(&token, &query, json!({})).await;
        let errors = response["errors"].as_array().cloned().unwrap_or_default();
        assert!(!errors.is_empty(), "a too-deep query ran: {response}");
        assert!(
            errors[0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("nested too deep")),
            "{response}"
        );
        assert!(
            response["data"].is_null(),
            "no data for a refused query: {response}"
        );
    }

    // Too many values at once: 500 pairings × 500 projects each is refused before it runs, with
    // the estimate and the limit.
    let wide = "{ pairings(first: 500) { nodes { projects(first: 500) { id } } } }";
    let response = app.gql(&token, wide, json!({})).await;
    let error = &response["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "query_too_costly",
        "{response}"
    );
    assert_eq!(error["extensions"]["limit"], json!(MAX_COST), "{response}");
    assert!(
        error["extensions"]["cost"]
            .as_u64()
            .is_some_and(|c| c > 250_000),
        "{response}"
    );
    assert!(response["data"].is_null(), "{response}");
}

/// The `src`/`href` URLs of the page's scripts and stylesheets.
fn asset_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for piece in html.split(attribute).skip(1) {
            if let Some(url) = piece.split('"').next() {
                urls.push(url.to_string());
            }
        }
    }
    urls
}

#[tokio::test]
async fn graphiql_loads_its_assets_from_the_configured_url() {
    for configured in ["http://assets.example/cdn", "http://assets.example/cdn/"] {
        let app =
            spawn_app_with(|config| config.graphiql_assets_url = Some(configured.into())).await;
        let response = app
            .request(Method::GET, "/graphql", None)
            .send()
            .await
            .expect("request failed");
        assert_eq!(response.status(), 200);
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let html = response.text().await.unwrap_or_default();

        assert!(
            !html.contains("unpkg.com"),
            "a script still comes from unpkg.com"
        );
        assert!(html.contains("<script"), "{html}");
        assert!(html.contains("/graphql"), "the page talks to /graphql");
        let urls = asset_urls(&html);
        let scripts: Vec<&String> = urls.iter().filter(|u| u.ends_with(".js")).collect();
        assert!(!scripts.is_empty(), "no script URLs in {html}");
        for url in urls.iter().filter(|u| u.starts_with("http")) {
            assert!(
                url.starts_with("http://assets.example/cdn/") && !url.contains("cdn//"),
                "{url} is not under the configured assets URL"
            );
        }
    }
}

/// The standard introspection query that GraphiQL, Apollo and code generators send (here as
/// graphql-core writes it, with every option on) is answered in full, for any role: the depth
/// and cost limits bound data, not the schema.
#[tokio::test]
async fn the_standard_introspection_query_is_answered() {
    let app = spawn_app().await;
    let query = include_str!("fixtures/introspection.graphql");
    let response = app
        .gql(&app.token(Role::Partner, Some("310000")), query, json!({}))
        .await;
    assert!(response["errors"].is_null(), "{response}");
    let types = response["data"]["__schema"]["types"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = types.iter().filter_map(|t| t["name"].as_str()).collect();
    for wanted in [
        "Project",
        "Pairing",
        "Organization",
        "FundTransaction",
        "QueryRoot",
        "MutationRoot",
    ] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
}

/// Money beyond GraphQL's 32-bit `Int` is exact: amounts are the `Fen` scalar (a JSON number,
/// or a string of digits as input), so a spec-following client reads a 30-million-yuan project.
#[tokio::test]
async fn money_beyond_32_bits_is_exact_in_graphql() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let pairing = app.pairing_id("310000", "520300").await;
    let sdl = xiezuo::render_graphql_sdl();
    assert!(sdl.contains("budgetFen: Fen!"), "budgetFen is not a Fen");
    assert!(sdl.contains("amountFen: Fen!"), "amountFen is not a Fen");
    let create = r#"mutation($input: NewProjectInput!) {
        createProject(input: $input) { id budgetFen items { unitCostFen } } }"#;
    for (code, budget) in [
        ("BIG-1", json!(3_000_000_000_i64)),
        ("BIG-2", json!("3000000000")),
    ] {
        let input = json!({"code": code, "year": 2019, "title": "三千万元项目", "category": "care_facility",
            "pairingId": pairing, "basis": "b", "measures": "m", "deepPoverty": false,
            "beneficiariesPlanned": 1, "budgetFen": budget, "milestones": [],
            "items": [{"name": "设备", "unit": "套", "quantity": 1, "unitCostFen": budget}]});
        let response = app.gql(&editor, create, json!({"input": input})).await;
        assert!(response["errors"].is_null(), "{response}");
        let project = &response["data"]["createProject"];
        assert_eq!(project["budgetFen"], json!(3_000_000_000_i64), "{response}");
        assert_eq!(project["items"][0]["unitCostFen"], json!(3_000_000_000_i64));
        let (_, rest) = parts(
            app.get(
                &format!("/api/v1/projects/{}", project["id"].as_str().expect("id")),
                &editor,
            )
            .await,
        )
        .await;
        assert_eq!(rest["budget_fen"], json!(3_000_000_000_i64));
    }
    let response = app
        .gql(
            &editor,
            r#"mutation($input: NewFundTransactionInput!) { createFundTransaction(input: $input) { id } }"#,
            json!({"input": {"kind": "arrival", "amountFen": 12.5, "occurredOn": "2019-05-10",
                             "pairingId": pairing}}),
        )
        .await;
    assert!(
        response["errors"].is_array(),
        "a fractional fen was accepted: {response}"
    );
}

/// Without a CDN, the page loads every script and stylesheet from this service, which serves
/// each from the installed packages with its media type; nothing else under `/graphiql/` is
/// served, and a site without the packages gets a page saying how to install them.
#[tokio::test]
async fn graphiql_works_offline_from_the_installed_packages() {
    let scratch = |name: &str| {
        let dir = std::env::temp_dir().join(format!("xiezuo-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        dir
    };
    let assets = scratch("graphiql");
    let files = [
        ("react/umd/react.production.min.js", "window.React = {};"),
        (
            "react-dom/umd/react-dom.production.min.js",
            "window.ReactDOM = {};",
        ),
        ("graphiql/graphiql.min.css", ".graphiql-container {}"),
        ("graphiql/graphiql.min.js", "window.GraphiQL = {};"),
    ];
    for (file, content) in files {
        let path = assets.join(file);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
    std::fs::write(assets.join("secret.txt"), "not an asset").expect("write");
    let (app, status, html) = graphiql_page(assets.clone()).await;
    assert_eq!(status, 200);
    let urls = asset_urls(&html);
    assert_eq!(urls.len(), 4, "{urls:?}");
    let mut served = Vec::new();
    for url in &urls {
        assert!(url.starts_with("/graphiql/"), "{url} is not served here");
        let response = app
            .request(Method::GET, url, None)
            .send()
            .await
            .expect("request failed");
        assert_eq!(response.status(), 200, "{url}");
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or_default()
            .to_string();
        let wanted = if url.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(content_type.starts_with(wanted), "{url}: {content_type}");
        served.push(response.text().await.unwrap_or_default());
    }
    for (_, content) in files {
        assert!(
            served.iter().any(|s| s == content),
            "{content} was not served"
        );
    }
    for probe in [
        "/graphiql/secret.txt",
        "/graphiql/graphiql@3.9.0/../../secret.txt",
        "/graphiql/graphiql@3.9.0/graphiql.min.js.map",
        "/graphiql/",
    ] {
        let response = app
            .request(Method::GET, probe, None)
            .send()
            .await
            .expect("request failed");
        assert_eq!(response.status(), 404, "{probe}");
    }

    let (_, status, html) = graphiql_page(scratch("graphiql-missing")).await;
    assert_eq!(status, 503);
    assert!(html.contains("npm ci --prefix graphiql"), "{html}");
    let _ = std::fs::remove_dir_all(assets);
}

/// A service whose GraphiQL packages are in `dir`, and its answer to `GET /graphql`.
async fn graphiql_page(dir: std::path::PathBuf) -> (tests::TestApp, u16, String) {
    let app = spawn_app_with(move |config| config.graphiql_assets_dir = dir).await;
    let response = app
        .request(Method::GET, "/graphql", None)
        .send()
        .await
        .expect("request failed");
    let status = response.status().as_u16();
    (app, status, response.text().await.unwrap_or_default())
}

/// Every rule of the specification is checked before a query runs (the guard schema validates
/// strictly; the schema that executes checks only what execution needs): an unknown field, a
/// missing required argument, an unused variable and a fragment on the wrong type are refused,
/// with no data.
#[tokio::test]
async fn invalid_documents_are_refused_before_they_run() {
    let app = spawn_app().await;
    let token = app.token(Role::Editor, Some("520300"));
    for query in [
        "{ projects { nodes { noSuchField } } }",
        "{ project { code } }",
        "query($unused: Int) { projects { nodes { code } } }",
        "{ projects { nodes { ...F } } } fragment F on Organization { code }",
    ] {
        let body = app.gql(&token, query, json!({})).await;
        assert!(
            body["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "{query}: {body}"
        );
        assert!(body["data"].is_null(), "{query} ran: {body}");
    }
}

/// A mutation that changes the structure nests its own change: the request's reading of the
/// directory is replaced after the write, so the new organization is among its parent's
/// children and the new pairing among its sides' pairings, in the same response.
#[tokio::test]
async fn a_mutation_nests_the_structure_it_wrote() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let zunyi = app.seeded_org("520300");
    let created = app
        .gql(
            &admin,
            "mutation($input: NewOrganizationInput!) {
                createOrganization(input: $input) { code parent { code children { code } } }
            }",
            json!({"input": {"code": "520300-nest", "name": "遵义市残联测试部", "region": "west",
                             "level": "prefecture", "kind": "department", "parentId": zunyi}}),
        )
        .await;
    let parent = &data(&created)["createOrganization"]["parent"];
    assert_eq!(parent["code"], "520300", "{created}");
    let children: Vec<&str> = parent["children"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert!(children.contains(&"520300-nest"), "{children:?}");

    let created = app
        .gql(
            &admin,
            "mutation($input: NewPairingInput!) {
                createPairing(input: $input) { id east { pairings { id } } west { pairings { id } } }
            }",
            json!({"input": {"eastOrgId": app.seeded_org("310000"),
                             "westOrgId": app.seeded_org("520200"),
                             "level": "city_prefecture", "startedOn": "2024-01-01"}}),
        )
        .await;
    let pairing = &data(&created)["createPairing"];
    for side in ["east", "west"] {
        let ids: Vec<&Value> = pairing[side]["pairings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| &p["id"])
            .collect();
        assert!(ids.contains(&&pairing["id"]), "{side}: {created}");
    }
}
