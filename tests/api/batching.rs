//! A nested GraphQL query costs a number of SQL statements that does not grow with the rows it
//! returns: record relations go through a DataLoader, and the structure (organizations,
//! pairings) comes from the directory the request was resolved with.

use serde_json::json;
use tests::{TestApp, spawn_app};
use xiezuo::domain::Role;

const NESTED: &str = r#"query($n: Int, $filter: OrganizationFilter) {
  organizations(first: $n, filter: $filter) {
    edges { node {
      name
      parent { name }
      children { name }
      pairings { level east { name } west { name } }
    } }
  }
}"#;

async fn cost(app: &TestApp, token: &str, n: usize) -> usize {
    let (body, statements) = app
        .statements_during(app.gql(token, NESTED, json!({"n": n})))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let edges = body["data"]["organizations"]["edges"]
        .as_array()
        .map(Vec::len);
    assert_eq!(edges, Some(n), "{body}");
    statements
}

#[tokio::test]
async fn nested_queries_cost_the_same_for_3_and_10_organizations() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let small = cost(&app, &admin, 3).await;
    let large = cost(&app, &admin, 10).await;
    assert_eq!(small, large, "statements for 3 rows vs 10 rows");
    // The list; parents, children, pairings and their sides cost nothing more.
    assert_eq!(large, 1, "{large} statements");

    // An editor's scope is resolved from the directory too.
    let editor = app.token(Role::Editor, Some("520300"));
    let (body, statements) = app
        .statements_during(app.gql(&editor, NESTED, json!({"n": 50})))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(statements, large, "editor: {statements} statements");
}
