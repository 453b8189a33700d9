//! The committed `schema/` files must be what the code serves. `XIEZUO_UPDATE_SCHEMA=1`
//! rewrites them instead of failing.

use tests::schema_dir;

fn check(file: &str, rendered: String) {
    let path = schema_dir().join(file);
    if std::env::var("XIEZUO_UPDATE_SCHEMA").is_ok() {
        std::fs::write(&path, &rendered).expect("write schema");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "schema/{file} differs from the code: run `cargo run -- export-schema` (or this test \
         with XIEZUO_UPDATE_SCHEMA=1) and commit the result"
    );
}

#[test]
fn openapi_json_matches_the_code() {
    check("openapi.json", xiezuo::render_openapi().expect("render"));
}

#[test]
fn schema_graphql_matches_the_code() {
    check("schema.graphql", xiezuo::render_graphql_sdl());
}

#[test]
fn openapi_is_3_1_and_documents_problems() {
    let doc: serde_json::Value =
        serde_json::from_str(&xiezuo::render_openapi().expect("render")).expect("json");
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3.1"));
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/auth/token",
        "/api/v1/organizations",
        "/api/v1/organizations/{id}",
        "/api/v1/organizations/{id}/children",
        "/api/v1/organizations/{id}/ancestors",
        "/api/v1/pairings",
        "/api/v1/pairings/{id}",
        "/api/v1/users",
        "/api/v1/service-accounts",
        "/api/v1/audit-log",
        "/api/v1/projects",
        "/api/v1/projects/{id}",
        "/api/v1/fund-transactions",
        "/api/v1/fund-transactions/{id}",
        "/api/v1/pairings/{id}/totals",
        "/api/v1/exchanges",
        "/api/v1/exchanges/{id}",
        "/api/v1/agreements",
        "/api/v1/agreements/{id}",
        "/api/v1/contacts",
        "/api/v1/contacts/{id}",
        "/api/v1/working-groups",
        "/api/v1/working-groups/{id}",
        "/api/v1/plans",
        "/api/v1/plans/{id}",
        "/api/v1/plan-tasks",
        "/api/v1/plan-tasks/{id}",
    ] {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not documented"));
        for (method, op) in item.as_object().expect("operations") {
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.contains_key("422") && responses.contains_key("500"),
                "{method} {path} lacks problem responses"
            );
            let problem = &responses["422"]["content"]["application/problem+json"];
            assert!(
                problem.is_object(),
                "{method} {path}: 422 is not problem+json"
            );
        }
    }
}

/// What client generators need: an ASCII title (it becomes the package name), one operation
/// per operation id (they become function names), and a description on every response (the
/// OpenAPI specification requires one; openapi-spec-validator and openapi-python-client refuse
/// the document without). `.ci/outside` runs those tools on the served document.
#[test]
fn openapi_is_fit_for_client_generators() {
    let doc: serde_json::Value =
        serde_json::from_str(&xiezuo::render_openapi().expect("render")).expect("json");
    assert!(doc["info"]["title"].as_str().is_some_and(|t| t.is_ascii()));
    let mut ids = std::collections::HashMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let id = op["operationId"].as_str().expect("operationId").to_string();
            if let Some(other) = ids.insert(id.clone(), format!("{method} {path}")) {
                panic!("{id} names both {other} and {method} {path}");
            }
            for (status, response) in op["responses"].as_object().expect("responses") {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
    assert_eq!(
        ids.get("list_projects").map(String::as_str),
        Some("get /api/v1/projects")
    );
    assert_eq!(
        ids.get("delete_fund_transaction").map(String::as_str),
        Some("delete /api/v1/fund-transactions/{id}")
    );
}

/// Every `$ref` names a component the document holds. utoipa adds a schema to the components
/// only when something registers it, so a type used in query parameters alone (an enum of a
/// `?format=`) can be referenced and missing; openapi-spec-validator then refuses the document.
#[test]
fn every_reference_resolves() {
    fn refs<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v.as_str()) {
                        ("$ref", Some(target)) => out.push(target),
                        _ => refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let doc: serde_json::Value =
        serde_json::from_str(&xiezuo::render_openapi().expect("render")).expect("json");
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    let missing: Vec<&str> = found
        .into_iter()
        .filter(|target| {
            let name = target.trim_start_matches("#/components/schemas/");
            doc["components"]["schemas"].get(name).is_none()
        })
        .collect();
    assert!(
        missing.is_empty(),
        "references to no component: {missing:?}"
    );
}
