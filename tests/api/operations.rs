use reqwest::StatusCode;
use tests::{assert_problem, parts, spawn_app};

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let (status, body) = parts(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn readiness_fails_when_a_migration_is_missing() {
    use migration::MigratorTrait;
    let app = spawn_app().await;
    migration::Migrator::down(&app.ctx.db, Some(1))
        .await
        .expect("roll back");
    let (status, body) = parts(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "not_ready");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let ok = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    let a = ok
        .headers()
        .get("x-request-id")
        .cloned()
        .expect("request id on 200");
    let missing = app
        .client
        .get(app.url("/api/v1/organizations"))
        .send()
        .await
        .expect("request");
    let b = missing
        .headers()
        .get("x-request-id")
        .cloned()
        .expect("request id on 401");
    assert_ne!(a, b, "each request gets its own id");
}

#[tokio::test]
async fn audit_entries_carry_the_request_id_of_the_change() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let response = app
        .post_json(
            "/api/v1/organizations",
            &token,
            &serde_json::json!({"code": "ops-1", "name": "测试残联", "region": "west",
                                "level": "county", "kind": "federation"}),
        )
        .await;
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let (status, created) = parts(response).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, log) = parts(
        app.get(
            &format!(
                "/api/v1/audit-log?record_id={}",
                created["id"].as_str().unwrap_or("")
            ),
            &token,
        )
        .await,
    )
    .await;
    assert_eq!(log["items"][0]["request_id"], request_id.as_str());
}

#[tokio::test]
async fn unknown_routes_are_problem_404s() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .expect("request");
    assert_problem(response, 404, "not_found").await;
}

#[tokio::test]
async fn docs_and_openapi_are_served_without_the_internet() {
    let app = spawn_app().await;
    let (status, doc) = parts(
        app.client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3.1"));

    let page = app
        .client
        .get(app.url("/docs/"))
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    // Every script and stylesheet the page loads is served by us.
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let target = part.split('"').next().unwrap_or("");
            assert!(
                !target.starts_with("http") && !target.starts_with("//"),
                "external asset {target}"
            );
        }
    }
    let initializer = app
        .client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .expect("request");
    assert_eq!(initializer.status(), StatusCode::OK);
    let js = initializer.text().await.expect("js");
    assert!(js.contains("/api/v1/openapi.json"));
    let bundle = app
        .client
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .expect("request");
    assert_eq!(bundle.status(), StatusCode::OK);
}

#[tokio::test]
async fn graphql_transport_errors_are_problems() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let malformed = app
        .request(reqwest::Method::POST, "/graphql", Some(&token))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_problem(malformed, 400, "malformed_json").await;
    let not_a_request = app
        .post_json("/graphql", &token, &serde_json::json!({"query": 5}))
        .await;
    let body = assert_problem(not_a_request, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "query");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_naming_the_allowed_ones() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let id = app.seeded_org("520300");
    for (method, path, allowed) in [
        (
            reqwest::Method::PUT,
            "/api/v1/organizations".to_string(),
            "GET, POST",
        ),
        (
            reqwest::Method::DELETE,
            "/api/v1/projects".to_string(),
            "GET, POST",
        ),
        (
            reqwest::Method::PUT,
            format!("/api/v1/organizations/{id}"),
            "GET, PATCH, DELETE",
        ),
        (reqwest::Method::PUT, "/graphql".to_string(), "GET, POST"),
    ] {
        let response = app
            .request(method.clone(), &path, Some(&token))
            .send()
            .await
            .expect("request");
        let allow = response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert_problem(response, 405, "method_not_allowed").await;
        assert_eq!(allow, allowed, "{method} {path}");
    }
    let missing = app
        .request(reqwest::Method::PUT, "/api/v1/nothing-here", Some(&token))
        .send()
        .await
        .expect("request");
    assert_problem(missing, 404, "not_found").await;
}

/// Prometheus metrics: request counts and latency histograms per route pattern (never a raw
/// path with an id in it) and the database pool's use, in the text exposition format.
#[tokio::test]
async fn metrics_count_requests_per_route_and_show_the_pool() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let zunyi = app.org_id("520300").await;
    for _ in 0..3 {
        let response = app
            .get(&format!("/api/v1/organizations/{zunyi}"), &admin)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.expect("body");
    let counted = text.lines().find(|l| {
        l.starts_with("http_requests_total{")
            && l.contains(r#"route="/api/v1/organizations/{id}""#)
            && l.contains(r#"method="GET""#)
            && l.contains(r#"status="200""#)
    });
    let count: f64 = counted
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count for the route:\n{text}"));
    assert!(count >= 3.0, "{count}");
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "no latency histogram"
    );
    assert!(!text.contains(&zunyi.to_string()), "an id became a label");
    for state in ["open", "idle", "in_use"] {
        assert!(
            text.contains(&format!(r#"db_pool_connections{{state="{state}"}}"#)),
            "no pool gauge {state}"
        );
    }
}
