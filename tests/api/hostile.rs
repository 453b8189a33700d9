//! Hostile and careless clients: queries built to be expensive, login floods and guessing,
//! revoked credentials, inputs the database cannot hold, and requests that misuse the protocol.
//! Each test here failed before the fix it covers.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use tests::{ADMIN_PASSWORD, assert_problem, parts, spawn_app, spawn_app_with};
use uuid::Uuid;
use xiezuo::domain::Role;

fn code_of(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// The partner's 118-byte query that once took the process to 3 GB: three levels of
/// `projects` under one pairing of 300 projects. It is refused before it runs, the server stays
/// up, and the same shape with small `first`s runs and returns exactly what it asked for.
#[tokio::test]
async fn nested_lists_are_priced_by_their_size_and_capped() {
    let app = spawn_app().await;
    let pairing = app.pairing_id("310000", "520300").await;
    app.insert_projects(pairing, app.org_id("520300").await, 300)
        .await;
    let partner = app.token(Role::Partner, Some("310000"));

    let bomb = format!(
        "{{ pairing(id: \"{pairing}\") {{ projects {{ pairing {{ projects {{ pairing {{ projects {{ id }} }} }} }} }} }} }}"
    );
    let started = Instant::now();
    let response = app.gql(&partner, &bomb, json!({})).await;
    assert_eq!(code_of(&response), "query_too_costly", "{response}");
    assert!(response["data"].is_null(), "{response}");
    assert!(started.elapsed() < Duration::from_secs(2), "refused late");

    // 400 aliases of a full page: refused too.
    let aliases: String = (0..400)
        .map(|i| format!("a{i}: projects(first: 500) {{ nodes {{ id }} }} "))
        .collect();
    let response = app
        .gql(&partner, &format!("{{ {aliases}}}"), json!({}))
        .await;
    assert_eq!(code_of(&response), "query_too_costly", "{response}");

    // The server is still there, and small nested lists hold at most `first` items.
    let small = format!(
        "{{ pairing(id: \"{pairing}\") {{ projects(first: 3) {{ pairing {{ projects(first: 2) {{ id }} }} }} }} }}"
    );
    let response = app.gql(&partner, &small, json!({})).await;
    let outer = response["data"]["pairing"]["projects"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(outer.len(), 3, "{response}");
    for p in &outer {
        assert_eq!(p["pairing"]["projects"].as_array().map(Vec::len), Some(2));
    }
    // By default a nested list holds 100; `first` beyond 500 is refused, naming the argument.
    let response = app
        .gql(
            &partner,
            &format!("{{ pairing(id: \"{pairing}\") {{ projects {{ id }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(
        response["data"]["pairing"]["projects"]
            .as_array()
            .map(Vec::len),
        Some(100),
        "{response}"
    );
    let response = app
        .gql(
            &partner,
            &format!("{{ pairing(id: \"{pairing}\") {{ projects(first: 501) {{ id }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(
        response["errors"][0]["extensions"]["errors"][0]["field"], "first",
        "{response}"
    );
}

/// A flood of bogus logins neither runs argon2 without bound nor takes memory without bound:
/// every answer is a 401, a 429 or a 503 with `Retry-After`, and the process grows by far less
/// than the 128 × 19 MiB that unbounded hashing would take.
#[tokio::test]
async fn a_login_flood_is_bounded() {
    let app = spawn_app().await;
    let before = resident_bytes();
    let mut statuses = Vec::new();
    for round in 0..2 {
        let batch = (0..64).map(|i| {
            let app = &app;
            async move {
                let response = app
                    .login(&format!("nobody-{round}-{i}"), "not-the-password")
                    .await;
                let retry = response.headers().contains_key(header::RETRY_AFTER);
                (response.status(), retry)
            }
        });
        statuses.extend(futures_util::future::join_all(batch).await);
    }
    for (status, retry) in &statuses {
        match status.as_u16() {
            401 => {}
            429 | 503 => assert!(retry, "{status} without Retry-After"),
            other => panic!("a login answered {other}"),
        }
    }
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 1 << 30, "the process grew by {grown} bytes");
    // Some attempts were held back: by the hashing slots (503) or, once the address had
    // failed often enough, before any hashing (429).
    assert!(
        statuses.iter().any(|(s, _)| s.as_u16() != 401),
        "128 logins all ran argon2"
    );
}

fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Password guessing is slowed down per account and address: after five failures the next
/// attempt is a 429 with `Retry-After`, even with the right password, and the right password
/// works again once the delay has passed.
#[tokio::test]
async fn password_guessing_meets_growing_delays() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let (status, _) = parts(app.login("admin", "wrong-password").await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = parts(app.login("admin", "wrong-password").await).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the sixth failure is counted"
    );
    let response = app.login("admin", ADMIN_PASSWORD).await;
    let retry: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    assert_problem(response, 429, "too_many_attempts").await;
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let (status, body) = parts(app.login("admin", ADMIN_PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A token issued before its account's password changed stops working on the next request.
#[tokio::test]
async fn a_password_change_revokes_earlier_tokens() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let (status, user) = parts(
        app.post_json(
            "/api/v1/users",
            &admin,
            &json!({"username": "changer", "password": "first-password-1", "role": "auditor"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (_, body) = parts(app.login("changer", "first-password-1").await).await;
    let old = body["access_token"].as_str().expect("token").to_string();
    assert_eq!(app.get("/api/v1/me", &old).await.status(), StatusCode::OK);

    let id = user["id"].as_str().expect("id");
    let (status, body) = parts(
        app.patch_json(
            &format!("/api/v1/users/{id}"),
            &admin,
            None,
            &json!({"password": "second-password-2"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tests::settle_directory(&app.ctx).await;
    assert_problem(app.get("/api/v1/me", &old).await, 401, "invalid_token").await;
    let (_, body) = parts(app.login("changer", "second-password-2").await).await;
    let new = body["access_token"].as_str().expect("token");
    assert_eq!(app.get("/api/v1/me", new).await.status(), StatusCode::OK);
}

/// Text PostgreSQL cannot store (U+0000) and dates it cannot hold are the client's mistake,
/// named by field, on every path: query filters, JSON bodies, GraphQL variables and the
/// unauthenticated token endpoint.
#[tokio::test]
async fn nul_characters_and_impossible_dates_are_4xx_naming_the_field() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));

    let response = app.get("/api/v1/projects?q=a%00b", &editor).await;
    let body = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "q", "{body}");

    let response = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "ad\0min"),
            ("password", "x"),
        ])
        .send()
        .await
        .expect("request");
    let body = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "username", "{body}");

    let response = app
        .post_json(
            "/api/v1/contacts",
            &editor,
            &json!({"name": "测试\u{0}联系人", "org_id": app.org_id("520300").await}),
        )
        .await;
    let body = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "name", "{body}");

    // In GraphQL variables, the path names the variable.
    let response = app
        .post_json(
            "/graphql",
            &editor,
            &json!({"query": "query($f: ProjectFilter) { projects(filter: $f) { nodes { id } } }",
                    "variables": {"f": {"q": "a\u{0}b"}}}),
        )
        .await;
    let body = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "variables.f.q", "{body}");
    // In the query text itself, it is refused as an error of that query.
    let response = app
        .gql(
            &editor,
            "{ projects(filter: {q: \"a\\u0000b\"}) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        response["errors"][0]["extensions"]["status"], 422,
        "{response}"
    );

    for since in [
        "-9999-01-01T00:00:00Z",
        "-4800-01-01T00:00:00Z",
        "%2B10000-01-01T00:00:00Z",
    ] {
        let response = app
            .get(&format!("/api/v1/projects?updated_since={since}"), &editor)
            .await;
        let body = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "updated_since", "{body}");
    }
    let pairing = app.pairing_id("310000", "520300").await;
    for (start, end) in [
        ("+10000-01-01", "+10000-02-01"),
        ("-0001-01-01", "2019-01-01"),
    ] {
        let response = app
            .post_json(
                "/api/v1/projects",
                &editor,
                &json!({"code": format!("D{}", start.len()), "year": 2019, "title": "日期", "category": "care_facility",
                        "pairing_id": pairing, "basis": "b", "measures": "m", "deep_poverty": false,
                        "beneficiaries_planned": 1, "budget_fen": 1, "items": [], "milestones": [],
                        "start_on": start, "end_on": end}),
            )
            .await;
        let body = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "start_on", "{body}");
    }
}

/// A JSON array is not an object mapped by position, and a non-ASCII `Idempotency-Key` is
/// refused rather than ignored.
#[tokio::test]
async fn misshapen_requests_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let org = app.org_id("520300").await;
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/organizations/{org}"),
            Some(&admin),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .header("If-Match", "*")
        .body("[]")
        .send()
        .await
        .expect("request");
    let body = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "body", "{body}");
    let (_, after) = parts(
        app.get(&format!("/api/v1/organizations/{org}"), &admin)
            .await,
    )
    .await;
    assert_eq!(after["version"], 1, "the array changed the record: {after}");

    let body = json!({"name": "联系人", "org_id": org});
    let response = app
        .request(Method::POST, "/api/v1/contacts", Some(&admin))
        .header(
            "Idempotency-Key",
            header::HeaderValue::from_bytes("凭证-001".as_bytes()).expect("bytes"),
        )
        .json(&body)
        .send()
        .await
        .expect("request");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(
        problem["errors"][0]["field"], "Idempotency-Key",
        "{problem}"
    );
}

/// Every response says `nosniff`; API responses are not stored by caches.
#[tokio::test]
async fn responses_carry_hardening_headers() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    for path in ["/api/v1/contacts", "/api/v1/organizations", "/healthz"] {
        let response = app.get(path, &admin).await;
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        if path.starts_with("/api/") {
            assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
        }
    }
    let response = app
        .request(Method::POST, "/graphql", Some(&admin))
        .json(&json!({"query": "{ contacts { nodes { phone } } }"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["cache-control"], "no-store");
}

/// A client that stops half-way through its body gets a 408 and loses the connection, instead
/// of holding it open indefinitely.
#[tokio::test]
async fn a_half_sent_body_times_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|config| config.body_timeout_seconds = 1).await;
    let address = app.url("").trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let head = "POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 1000\r\n\r\n{\"grant_type\":";
    stream.write_all(head.as_bytes()).await.expect("write");
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection stayed open");
    assert!(started.elapsed() < Duration::from_secs(5));
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

/// One address over its request rate gets 429 with `Retry-After`; the health probes do not count.
#[tokio::test]
async fn one_client_over_its_rate_is_held_back() {
    let app = spawn_app_with(|config| {
        config.rate_limit_per_second = 1;
        config.rate_limit_burst = 3;
    })
    .await;
    let admin = app.admin_token();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(app.get("/api/v1/organizations", &admin).await.status());
    }
    assert_eq!(&statuses[..3], [StatusCode::OK; 3], "{statuses:?}");
    let response = app.get("/api/v1/organizations", &admin).await;
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert_problem(response, 429, "rate_limited").await;
    let health = app
        .request(Method::GET, "/healthz", None)
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), StatusCode::OK);
}

/// An unreadable record someone names is answered as a missing one, and counts cover only
/// what the caller may read: no answer tells which ids exist elsewhere.
#[tokio::test]
async fn unreadable_records_look_missing_and_are_not_counted() {
    let app = spawn_app().await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let pairing = app.pairing_id("310000", "520300").await;

    // 杭州 (another pairing's eastern city) is not readable by 遵义's editor: as a host or a
    // visitor it gets the answer a random id gets.
    let hangzhou = app.org_id("330100").await;
    for (host, visitor) in [
        (hangzhou, app.org_id("520300").await),
        (Uuid::now_v7(), app.org_id("520300").await),
    ] {
        let response = app
            .post_json(
                "/api/v1/exchanges",
                &zunyi,
                &json!({"kind": "inspection_visit", "direction": "west_to_east", "pairing_id": pairing,
                        "host_org_id": host, "visiting_org_ids": [visitor],
                        "start_on": "2019-05-01", "end_on": "2019-05-02"}),
            )
            .await;
        let body = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "host_org_id", "{body}");
        assert_eq!(
            body["errors"][0]["message"], "no such organization",
            "{body}"
        );
    }

    // A project on a pairing 遵义 cannot read is "no such project", as a random id is.
    let admin = app.admin_token();
    let other = app.pairing_id("440100", "520500").await;
    let (status, project) = parts(
        app.post_json(
            "/api/v1/projects",
            &app.token(Role::Editor, Some("520500")),
            &json!({"code": "BJ-1", "year": 2019, "title": "毕节项目", "category": "care_facility",
                    "pairing_id": other, "basis": "b", "measures": "m", "deep_poverty": false,
                    "beneficiaries_planned": 1, "budget_fen": 100, "items": [], "milestones": []}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    let mut messages = Vec::new();
    for project_id in [project["id"].clone(), json!(Uuid::now_v7())] {
        let response = app
            .post_json(
                "/api/v1/fund-transactions",
                &zunyi,
                &json!({"kind": "arrival", "amount_fen": 100, "occurred_on": "2019-05-10",
                        "pairing_id": pairing, "project_id": project_id}),
            )
            .await;
        let body = assert_problem(response, 422, "validation_failed").await;
        messages.push(body["errors"].clone());
    }
    assert_eq!(messages[0], messages[1]);

    // 遵义 holds a special meeting in Q1; the province plan's Q1 task counts it for the admin
    // but not for 铜仁's editor, who may read the plan but not 遵义's exchange.
    let (status, meeting) = parts(
        app.post_json(
            "/api/v1/exchanges",
            &zunyi,
            &json!({"kind": "special_meeting", "direction": "local",
                    "host_org_id": app.org_id("520300").await, "visiting_org_ids": [],
                    "start_on": "2019-03-10", "end_on": "2019-03-10"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{meeting}");
    let count_for = |token: String| {
        let app = &app;
        async move {
            let (_, tasks) = parts(
                app.get("/api/v1/plan-tasks?quarter=1&year=2019&limit=50", &token)
                    .await,
            )
            .await;
            tasks["items"]
                .as_array()
                .expect("items")
                .iter()
                .find(|t| {
                    t["title"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("召开至少一次专题会议"))
                })
                .map(|t| t["progress_count"].clone())
        }
    };
    assert_eq!(count_for(admin.clone()).await, Some(json!(1)));
    assert_eq!(count_for(zunyi.clone()).await, Some(json!(1)));
    assert_eq!(
        count_for(app.token(Role::Editor, Some("520600"))).await,
        Some(json!(0))
    );
}

/// CORS as a browser meets it: a preflight from a configured origin is answered for the
/// methods and headers clients send; the response exposes what scripts read; an origin not
/// configured gets no CORS headers; with no origins configured nothing is added.
#[tokio::test]
async fn browsers_on_configured_origins_may_call_the_api() {
    let page = "http://127.0.0.1:5173";
    let app = spawn_app_with(|config| config.cors_origins = vec![page.to_string()]).await;
    let admin = app.admin_token();
    for path in [
        "/api/v1/projects/0190a0e0-0000-7000-8000-000000000000",
        "/graphql",
    ] {
        let preflight = app
            .request(Method::OPTIONS, path, None)
            .header(header::ORIGIN, page)
            .header("Access-Control-Request-Method", "PATCH")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type, if-match, idempotency-key",
            )
            .send()
            .await
            .expect("preflight");
        assert!(
            preflight.status().is_success(),
            "{path}: {}",
            preflight.status()
        );
        let h = preflight.headers();
        assert_eq!(h["access-control-allow-origin"], page);
        let methods = h["access-control-allow-methods"].to_str().unwrap_or("");
        assert!(
            methods.contains("PATCH") && methods.contains("DELETE"),
            "{methods}"
        );
        let allowed = h["access-control-allow-headers"]
            .to_str()
            .unwrap_or("")
            .to_ascii_lowercase();
        for wanted in [
            "authorization",
            "content-type",
            "if-match",
            "idempotency-key",
        ] {
            assert!(allowed.contains(wanted), "{wanted} not in {allowed}");
        }
    }
    let response = app
        .request(Method::GET, "/api/v1/organizations?limit=1", Some(&admin))
        .header(header::ORIGIN, page)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], page);
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap_or("")
        .to_ascii_lowercase();
    for wanted in ["etag", "x-request-id", "idempotency-replayed"] {
        assert!(exposed.contains(wanted), "{wanted} not in {exposed}");
    }
    // Another origin: no CORS headers, so the browser keeps the page out.
    let response = app
        .request(Method::GET, "/api/v1/organizations?limit=1", Some(&admin))
        .header(header::ORIGIN, "http://evil.example")
        .send()
        .await
        .expect("request");
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    // No origins configured (the default): no CORS headers for anyone.
    let plain = spawn_app().await;
    let response = plain
        .request(
            Method::GET,
            "/api/v1/organizations?limit=1",
            Some(&plain.admin_token()),
        )
        .header(header::ORIGIN, page)
        .send()
        .await
        .expect("request");
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

/// Fragments spread inside fragments multiply a small document: it is measured with each
/// fragment counted once and refused before any cost is summed, so the cost cannot wrap around
/// and checking it takes no time. A NUL in a variable's default is refused like one in a value.
#[tokio::test]
async fn fragment_bombs_and_hidden_nul_are_refused() {
    let app = spawn_app().await;
    let partner = app.token(Role::Partner, Some("310000"));
    let pairing = app.pairing_id("310000", "520300").await;
    let mut doc = format!("{{ pairing(id: \"{pairing}\") {{ ...F5 }} }}\n");
    doc.push_str("fragment F0 on Pairing { id }\n");
    for level in 1..=5 {
        let spreads = (0..10)
            .map(|i| format!("a{i}: east {{ id }} ...F{} ", level - 1))
            .collect::<String>();
        doc.push_str(&format!("fragment F{level} on Pairing {{ {spreads} }}\n"));
    }
    let started = Instant::now();
    let response = app.gql(&partner, &doc, json!({})).await;
    assert_eq!(code_of(&response), "query_too_costly", "{response}");
    assert!(response["data"].is_null());
    assert!(started.elapsed() < Duration::from_secs(2), "checked slowly");

    let editor = app.token(Role::Editor, Some("520300"));
    let zunyi = app.org_id("520300").await;
    let query = format!(
        "mutation($i: NewContactInput = {{orgId: \"{zunyi}\", name: \"a\\u0000b\"}}) {{ createContact(input: $i) {{ id }} }}"
    );
    let response = app.gql(&editor, &query, json!({})).await;
    assert_eq!(
        response["errors"][0]["extensions"]["status"], 422,
        "{response}"
    );
    assert_eq!(
        response["errors"][0]["extensions"]["errors"][0]["field"], "i",
        "{response}"
    );

    // Names and secrets past 256 characters are refused before anything is hashed or counted.
    let response = app.login(&"x".repeat(300), "whatever-password").await;
    let body = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "username", "{body}");
    assert_eq!(body["errors"][0]["code"], "too_long", "{body}");
}
