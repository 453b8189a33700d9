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
