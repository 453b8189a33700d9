//! Bad input over REST: every class of mistake is answered with `application/problem+json`, the
//! right status and a stable `code` (never a 500), names the offending field, and a refused write
//! leaves the database exactly as it was.

use entity::{audit_log, organization};
use reqwest::{Method, Response, header};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

const ORGS: &str = "/api/v1/organizations";
const PAIRINGS: &str = "/api/v1/pairings";

/// A valid organization body; tests break one thing in it at a time.
fn new_org(code: &str) -> Value {
    json!({
        "code": code,
        "name": "测试县残疾人联合会",
        "region": "west",
        "level": "county",
        "kind": "federation",
        "division_code": "520381",
    })
}

/// `base` with `changes` merged over it (a `null` change removes the key).
fn with(mut base: Value, changes: Value) -> Value {
    if let (Some(body), Some(changes)) = (base.as_object_mut(), changes.as_object()) {
        for (key, value) in changes {
            if value.is_null() {
                body.remove(key);
            } else {
                body.insert(key.clone(), value.clone());
            }
        }
    }
    base
}

/// Rows in every table a refused organization write could have touched.
#[derive(Debug, PartialEq)]
struct Counts {
    organizations: u64,
    audit_entries: u64,
}

async fn counts(app: &TestApp) -> Counts {
    Counts {
        organizations: organization::Entity::find()
            .count(&app.ctx.db)
            .await
            .expect("count organizations"),
        audit_entries: audit_log::Entity::find()
            .count(&app.ctx.db)
            .await
            .expect("count audit entries"),
    }
}

/// A request with a raw body and an explicit content type (none when `None`).
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Response {
    let changes = method == Method::PATCH || method == Method::DELETE;
    let mut request = app.request(method, path, Some(token)).body(body);
    if changes {
        // These cases are about bodies; `If-Match` has its own test.
        request = request.header("If-Match", "*");
    }
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    request.send().await.expect("request failed")
}

/// The `field` of each entry of a problem's `errors`, in order.
fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A 422 `validation_failed` whose `errors` name exactly `fields` (in any order), each with a
/// message.
async fn assert_invalid(response: Response, fields: &[&str]) -> Value {
    let problem = assert_problem(response, 422, "validation_failed").await;
    let mut actual = error_fields(&problem);
    actual.sort();
    let mut expected: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    expected.sort();
    assert_eq!(actual, expected, "fields named; problem: {problem}");
    for error in problem["errors"].as_array().into_iter().flatten() {
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "every field error has a message: {problem}"
        );
    }
    assert_eq!(problem["type"], "urn:xiezuo:problem:validation_failed");
    problem
}

/// No organization with `code` is listed.
async fn assert_no_org(app: &TestApp, token: &str, code: &str) {
    let (status, body) = parts(app.get(&format!("{ORGS}?code={code}"), token).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"], json!([]), "organization {code} was written");
}

/// The stored organization as REST shows it.
async fn fetch_org(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, body) = parts(app.get(&format!("{ORGS}/{id}"), token).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Creates a fresh organization with no children, pairings or users, and returns its body.
async fn create_org(app: &TestApp, token: &str, code: &str) -> Value {
    let (status, body) = parts(app.post_json(ORGS, token, &new_org(code)).await).await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn bad_json_bodies_are_problems_and_write_nothing() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let before = counts(&app).await;
    let json = Some("application/json");

    // Not JSON at all, truncated, and empty: 400 malformed_json.
    for body in [r#"{"code": "X1", "name": "#, "not json", ""] {
        let response = send_raw(&app, Method::POST, ORGS, &token, json, body).await;
        let problem = assert_problem(response, 400, "malformed_json").await;
        assert_eq!(problem["type"], "urn:xiezuo:problem:malformed_json");
        assert!(problem["title"].is_string() && problem["detail"].is_string());
    }

    // Parsed, but the wrong shape: 422 naming the field.
    let cases = [
        (
            "wrong type",
            with(new_org("bad-2"), json!({"name": 5})),
            "name",
        ),
        (
            "bad enum value",
            with(new_org("bad-4"), json!({"region": "north"})),
            "region",
        ),
        (
            "bad kind",
            with(new_org("bad-5"), json!({"kind": "club"})),
            "kind",
        ),
        (
            "bad uuid",
            with(new_org("bad-6"), json!({"parent_id": "nope"})),
            "parent_id",
        ),
    ];
    for (what, body, field) in cases {
        let response = app.post_json(ORGS, &token, &body).await;
        let problem = assert_invalid(response, &[field]).await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(field)),
            "{what}: detail names {field}: {problem}"
        );
        assert_no_org(&app, &token, body["code"].as_str().unwrap_or_default()).await;
    }

    // JSON that is not an object at all is about the body as a whole.
    let response = app.post_json(ORGS, &token, &json!(["520399"])).await;
    assert_invalid(response, &["body"]).await;

    // Several rule violations at once: each field listed in one answer.
    let body = with(new_org(""), json!({"division_code": "12", "name": "  "}));
    let response = app.post_json(ORGS, &token, &body).await;
    let problem = assert_invalid(response, &["code", "name", "division_code"]).await;
    assert_eq!(problem["detail"], "3 fields are invalid");

    // A parent that does not exist; a child in another region than its parent, or above it.
    let province = app.org_id("520000").await;
    let zunyi = app.org_id("520300").await;
    let body = with(
        new_org("bad-7"),
        json!({"parent_id": Uuid::now_v7(), "division_code": "990000"}),
    );
    assert_invalid(
        app.post_json(ORGS, &token, &body).await,
        &["parent_id", "division_code"],
    )
    .await;
    let body = with(
        new_org("bad-8"),
        json!({"parent_id": province, "region": "east"}),
    );
    assert_invalid(app.post_json(ORGS, &token, &body).await, &["region"]).await;
    let body = with(
        new_org("bad-9"),
        json!({"parent_id": zunyi, "level": "province"}),
    );
    assert_invalid(app.post_json(ORGS, &token, &body).await, &["level"]).await;
    for code in ["bad-7", "bad-8", "bad-9"] {
        assert_no_org(&app, &token, code).await;
    }

    assert_eq!(
        counts(&app).await,
        before,
        "a refused create wrote something"
    );
}

/// An unknown body field or query parameter is named as itself: `nickname`, not a path built
/// around it.
#[tokio::test]
async fn unknown_fields_and_parameters_are_named_exactly() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let zunyi = app.org_id("520300").await;
    let before = counts(&app).await;

    let body = with(new_org("bad-1"), json!({"nickname": "x"}));
    assert_invalid(app.post_json(ORGS, &token, &body).await, &["nickname"]).await;
    assert_no_org(&app, &token, "bad-1").await;
    let path = format!("{ORGS}/{zunyi}");
    let response = app
        .patch_json(&path, &token, None, &json!({"nickname": "x"}))
        .await;
    assert_invalid(response, &["nickname"]).await;
    for (path, field) in [
        (format!("{ORGS}?colour=red"), "colour"),
        (format!("{PAIRINGS}?org=1"), "org"),
        (format!("{ORGS}/{zunyi}/children?code=1"), "code"),
    ] {
        assert_invalid(app.get(&path, &token).await, &[field]).await;
    }

    assert_eq!(counts(&app).await, before);
}

/// Valid JSON holding a number or an array where an enum name belongs is a shape error like any
/// other wrong type (422 naming the field), not "the body is not valid JSON".
#[tokio::test]
async fn a_wrongly_typed_enum_is_a_422_naming_it() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let before = counts(&app).await;

    for (changes, field) in [
        (json!({"region": 5}), "region"),
        (json!({"level": []}), "level"),
    ] {
        let body = with(new_org("bad-3"), changes);
        assert_invalid(app.post_json(ORGS, &token, &body).await, &[field]).await;
    }
    assert_no_org(&app, &token, "bad-3").await;

    assert_eq!(counts(&app).await, before);
}

/// serde reports a missing required field as `missing field `kind``; the problem should name
/// `kind` as the field, as it does for unknown and mistyped fields.
#[tokio::test]
async fn a_missing_required_field_is_named() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let before = counts(&app).await;

    let body = with(new_org("bad-9"), json!({"kind": null}));
    assert_invalid(app.post_json(ORGS, &token, &body).await, &["kind"]).await;

    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn bad_patch_bodies_leave_the_record_unchanged() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let zunyi = app.org_id("520300").await.to_string();
    let path = format!("{ORGS}/{zunyi}");
    let stored = fetch_org(&app, &token, &zunyi).await;
    let before = counts(&app).await;

    let response = send_raw(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some("application/json"),
        "{",
    )
    .await;
    assert_problem(response, 400, "malformed_json").await;
    let cases = [
        (json!({"name": 5}), vec!["name"]),
        (json!({"region": "north"}), vec!["region"]),
        (
            json!({"code": "", "division_code": "12"}),
            vec!["code", "division_code"],
        ),
        (json!({"parent_id": zunyi}), vec!["parent_id"]),
    ];
    for (body, fields) in cases {
        assert_invalid(app.patch_json(&path, &token, None, &body).await, &fields).await;
    }
    let response = send_raw(&app, Method::PATCH, &path, &token, Some("text/plain"), "{}").await;
    assert_problem(response, 415, "unsupported_media_type").await;

    assert_eq!(
        fetch_org(&app, &token, &zunyi).await,
        stored,
        "a refused patch changed it"
    );
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn oversize_bodies_and_wrong_content_types_are_refused() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let before = counts(&app).await;
    let limit = app.config.max_body_bytes;
    assert_eq!(limit, 64 * 1024, "the test config's limit");

    // Valid JSON, but larger than the limit.
    let huge = with(
        new_org("big-1"),
        json!({"name": "残".repeat(limit / 3 + 1)}),
    );
    let bytes = serde_json::to_vec(&huge).expect("serialize");
    assert!(bytes.len() > limit);
    let response = send_raw(
        &app,
        Method::POST,
        ORGS,
        &token,
        Some("application/json"),
        bytes,
    )
    .await;
    let problem = assert_problem(response, 413, "payload_too_large").await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&limit.to_string())),
        "the detail names the limit: {problem}"
    );
    assert_no_org(&app, &token, "big-1").await;

    // Just under the limit is read (and then refused for its over-long name, not its size).
    let fits = with(
        new_org("big-2"),
        json!({"name": "残".repeat(limit / 3 - 100)}),
    );
    assert_invalid(app.post_json(ORGS, &token, &fits).await, &["name"]).await;

    // The same valid body as text/plain, as a form, and with no content type at all.
    let body = serde_json::to_vec(&new_org("plain-1")).expect("serialize");
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let response = send_raw(&app, Method::POST, ORGS, &token, content_type, body.clone()).await;
        assert_problem(response, 415, "unsupported_media_type").await;
    }
    assert_no_org(&app, &token, "plain-1").await;

    // A charset parameter and a `+json` media type are JSON.
    for (code, content_type) in [
        ("json-1", "application/json; charset=utf-8"),
        ("json-2", "application/merge-patch+json"),
    ] {
        let body = serde_json::to_vec(&new_org(code)).expect("serialize");
        let response = send_raw(&app, Method::POST, ORGS, &token, Some(content_type), body).await;
        assert_eq!(response.status(), 201, "{content_type}");
    }

    let after = counts(&app).await;
    assert_eq!(
        after.organizations,
        before.organizations + 2,
        "only json-1 and json-2 were written"
    );
}

#[tokio::test]
async fn bad_path_and_query_parameters_name_the_parameter() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let before = counts(&app).await;

    // A path id that is not a UUID, for every method and resource.
    for path in [
        format!("{ORGS}/not-a-uuid"),
        format!("{ORGS}/520300/children"),
        format!("{ORGS}/520300/ancestors"),
        format!("{PAIRINGS}/12345"),
    ] {
        assert_invalid(app.get(&path, &token).await, &["id"]).await;
    }
    let response = app
        .patch_json(
            &format!("{ORGS}/xyz"),
            &token,
            Some(1),
            &json!({"name": "新"}),
        )
        .await;
    assert_invalid(response, &["id"]).await;
    assert_invalid(
        app.delete(&format!("{PAIRINGS}/xyz"), &token, Some(1))
            .await,
        &["id"],
    )
    .await;

    // Query parameters: out of range, wrong type, junk cursor, unknown, bad filter values.
    let zunyi = app.org_id("520300").await;
    for (list, query, field) in [
        (ORGS, "limit=0", "limit"),
        (ORGS, "limit=501", "limit"),
        (ORGS, "limit=-1", "limit"),
        (ORGS, "limit=abc", "limit"),
        (ORGS, "cursor=junk", "cursor"),
        (ORGS, "division_code=12", "division_code"),
        (ORGS, "region=north", "region"),
        (ORGS, "parent_id=nope", "parent_id"),
        (ORGS, "updated_since=yesterday", "updated_since"),
        (PAIRINGS, "limit=0", "limit"),
        (PAIRINGS, "cursor=junk", "cursor"),
        (PAIRINGS, "level=village", "level"),
    ] {
        let response = app.get(&format!("{list}?{query}"), &token).await;
        let problem = assert_invalid(response, &[field]).await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with(field)),
            "{list}?{query}: {problem}"
        );
    }
    let children = format!("{ORGS}/{zunyi}/children");
    assert_invalid(
        app.get(&format!("{children}?limit=0"), &token).await,
        &["limit"],
    )
    .await;
    assert_invalid(
        app.get(&format!("{children}?cursor=junk"), &token).await,
        &["cursor"],
    )
    .await;

    // The same lists with good parameters answer.
    let (status, body) = parts(
        app.get(&format!("{ORGS}?limit=500&division_code=520300"), &token)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1), "{body}");

    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn a_taken_code_is_a_conflict_naming_code() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let before = counts(&app).await;

    // Creating with a seeded code.
    let response = app.post_json(ORGS, &token, &new_org("520300")).await;
    let problem = assert_problem(response, 409, "duplicate").await;
    assert_eq!(problem["field"], "code", "{problem}");
    let (_, listed) = parts(app.get(&format!("{ORGS}?code=520300"), &token).await).await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "still one 520300"
    );
    assert_eq!(
        listed["items"][0]["name"], "遵义市残疾人联合会",
        "the original is untouched"
    );
    assert_eq!(counts(&app).await, before);

    // Renaming another organization's code onto a taken one.
    let created = create_org(&app, &token, "dup-1").await;
    let id = created["id"].as_str().unwrap_or_default().to_string();
    let before = counts(&app).await;
    let response = app
        .patch_json(
            &format!("{ORGS}/{id}"),
            &token,
            Some(1),
            &json!({"code": "520300"}),
        )
        .await;
    let problem = assert_problem(response, 409, "duplicate").await;
    assert_eq!(problem["field"], "code", "{problem}");
    assert_eq!(
        fetch_org(&app, &token, &id).await,
        created,
        "the refused patch changed it"
    );
    assert_eq!(counts(&app).await, before);

    // A duplicate pairing is a conflict too.
    let pairing = json!({
        "east_org_id": app.org_id("310000").await,
        "west_org_id": app.org_id("520300").await,
        "level": "city_prefecture",
        "started_on": "2019-01-01",
    });
    let response = app.post_json(PAIRINGS, &token, &pairing).await;
    let problem = assert_problem(response, 409, "duplicate").await;
    assert_eq!(problem["field"], "west_org_id", "{problem}");
    let (_, listed) = parts(app.get(&format!("{PAIRINGS}?limit=500"), &token).await).await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(14),
        "still the fourteen seeded pairings"
    );
}

#[tokio::test]
async fn pairing_inputs_are_checked_field_by_field() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let shanghai = app.org_id("310000").await;
    let tongren = app.org_id("520600").await;
    let renhuai = app.org_id("520382").await;
    let pairing = |changes: Value| {
        with(
            json!({
                "east_org_id": shanghai,
                "west_org_id": tongren,
                "level": "city_prefecture",
                "started_on": "2019-01-01",
            }),
            changes,
        )
    };

    for (changes, fields) in [
        (json!({"started_on": "2019-13-01"}), vec!["started_on"]),
        (json!({"level": "village"}), vec!["level"]),
        (json!({"east_org_id": 7}), vec!["east_org_id"]),
        (json!({"ended_on": "2018-12-31"}), vec!["ended_on"]),
        // Both sides swapped: each is on the wrong side of the country.
        (
            json!({"east_org_id": tongren, "west_org_id": shanghai}),
            vec!["east_org_id", "west_org_id"],
        ),
        // A county in a city–prefecture pairing.
        (json!({"west_org_id": renhuai}), vec!["west_org_id"]),
        (json!({"east_org_id": Uuid::now_v7()}), vec!["east_org_id"]),
    ] {
        assert_invalid(
            app.post_json(PAIRINGS, &token, &pairing(changes)).await,
            &fields,
        )
        .await;
    }
    let (_, listed) = parts(app.get(&format!("{PAIRINGS}?limit=500"), &token).await).await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(14),
        "still the fourteen seeded pairings"
    );
}

#[tokio::test]
async fn if_match_guards_every_change() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let created = create_org(&app, &token, "etag-1").await;
    let id = created["id"].as_str().unwrap_or_default().to_string();
    let path = format!("{ORGS}/{id}");
    let response = app.get(&path, &token).await;
    assert_eq!(
        tests::etag_version(&response),
        1,
        "the ETag names the version"
    );
    let before = counts(&app).await;

    // A stale version: 412 with the current one, for PATCH and DELETE alike.
    let response = app
        .patch_json(&path, &token, Some(7), &json!({"name": "改名"}))
        .await;
    let problem = assert_problem(response, 412, "precondition_failed").await;
    assert_eq!(problem["current_version"], 1, "{problem}");
    let problem = assert_problem(
        app.delete(&path, &token, Some(0)).await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(problem["current_version"], 1, "{problem}");

    // No If-Match at all: 428, for PATCH and DELETE alike (`If-Match: *` overwrites knowingly).
    let response = app
        .request(Method::PATCH, &path, Some(&token))
        .json(&json!({"name": "改名"}))
        .send()
        .await
        .expect("request failed");
    assert_problem(response, 428, "precondition_required").await;
    let response = app
        .request(Method::DELETE, &path, Some(&token))
        .send()
        .await
        .expect("request failed");
    assert_problem(response, 428, "precondition_required").await;

    // A malformed If-Match is a 422 naming the header.
    for value in [
        "abc", "\"one\"", "W/\"\"", "1.5", "\"1-\"", "\"-1\"", "\"x-1\"",
    ] {
        let response = app
            .request(Method::PATCH, &path, Some(&token))
            .header(header::IF_MATCH, value)
            .json(&json!({"name": "改名"}))
            .send()
            .await
            .expect("request failed");
        assert_invalid(response, &["If-Match"]).await;
        let response = app
            .request(Method::DELETE, &path, Some(&token))
            .header(header::IF_MATCH, value)
            .send()
            .await
            .expect("request failed");
        assert_invalid(response, &["If-Match"]).await;
    }
    assert_eq!(
        fetch_org(&app, &token, &id).await,
        created,
        "a refused write changed it"
    );
    assert_eq!(counts(&app).await, before);

    // The current version (weak form too) goes through, and the old one is then stale.
    let response = app
        .request(Method::PATCH, &path, Some(&token))
        .header(header::IF_MATCH, "W/\"1\"")
        .json(&json!({"name": "改名"}))
        .send()
        .await
        .expect("request failed");
    assert_eq!(tests::etag_version(&response), 2);
    let (status, updated) = parts(response).await;
    assert_eq!(
        (status.as_u16(), updated["version"].clone()),
        (200, json!(2)),
        "{updated}"
    );
    let response = app
        .patch_json(&path, &token, Some(1), &json!({"name": "再改"}))
        .await;
    let problem = assert_problem(response, 412, "precondition_failed").await;
    assert_eq!(problem["current_version"], 2, "{problem}");
    let problem = assert_problem(
        app.delete(&path, &token, Some(1)).await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(problem["current_version"], 2, "{problem}");
    assert_eq!(fetch_org(&app, &token, &id).await["name"], "改名");
    assert_eq!(app.delete(&path, &token, Some(2)).await.status(), 204);
}

/// A role that may read a record but not change it gets a 403 problem, never a 500.
#[tokio::test]
async fn a_forbidden_change_is_a_403_not_a_500() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let zunyi = app.org_id("520300").await;
    let editor = app.token(Role::Editor, Some("520300"));
    let path = format!("{ORGS}/{zunyi}");
    let stored = fetch_org(&app, &admin, &zunyi.to_string()).await;
    let before = counts(&app).await;

    let response = app
        .patch_json(&path, &editor, Some(1), &json!({"name": "改名"}))
        .await;
    assert_problem(response, 403, "forbidden").await;

    assert_eq!(fetch_org(&app, &admin, &zunyi.to_string()).await, stored);
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn unknown_routes_and_records_are_404_problems() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let zunyi = app.org_id("520300").await;
    let missing = Uuid::now_v7();

    for path in [
        "/nope".to_string(),
        "/api/v2/organizations".to_string(),
        "/api/v1/nope".to_string(),
        format!("{ORGS}/{zunyi}/nope"),
    ] {
        assert_problem(app.get(&path, &token).await, 404, "not_found").await;
        let response = app
            .request(Method::GET, &path, None)
            .send()
            .await
            .expect("request failed");
        assert_problem(response, 404, "not_found").await;
    }
    assert_problem(
        app.post_json("/api/v1/nope", &token, &json!({})).await,
        404,
        "not_found",
    )
    .await;

    // A well-formed id of no record.
    assert_problem(
        app.get(&format!("{ORGS}/{missing}"), &token).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get(&format!("{PAIRINGS}/{missing}"), &token).await,
        404,
        "not_found",
    )
    .await;
    let before = counts(&app).await;
    let response = app
        .patch_json(
            &format!("{ORGS}/{missing}"),
            &token,
            None,
            &json!({"name": "新"}),
        )
        .await;
    assert_problem(response, 404, "not_found").await;
    assert_problem(
        app.delete(&format!("{ORGS}/{missing}"), &token, None).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(counts(&app).await, before);
}

/// Every invalid and missing field of a body is reported at once, each with a stable `code` and
/// a plain message (no Rust type names), so a program can mark every field of a form.
#[tokio::test]
async fn every_bad_field_is_reported_at_once_with_a_code() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let response = app.post_json("/api/v1/projects", &editor, &json!({})).await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    let mut missing: Vec<(String, String)> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or("").to_string(),
                e["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    missing.sort();
    let expected: Vec<(String, String)> = [
        "basis",
        "category",
        "code",
        "measures",
        "pairing_id",
        "title",
        "year",
    ]
    .iter()
    .map(|f| (f.to_string(), "required".to_string()))
    .collect();
    assert_eq!(missing, expected, "{problem}");

    let response = app
        .post_json(
            "/api/v1/projects",
            &editor,
            &json!({"code": "E-1", "year": "2019", "title": "t", "category": "north",
                    "pairing_id": "not-a-uuid", "basis": "b", "measures": "m",
                    "budget_fen": 1.5, "bogus": true}),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    let found: std::collections::HashMap<String, (String, String)> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or("").to_string(),
                (
                    e["code"].as_str().unwrap_or("").to_string(),
                    e["message"].as_str().unwrap_or("").to_string(),
                ),
            )
        })
        .collect();
    let expect = [
        ("year", "invalid_type", "must be a whole number"),
        (
            "category",
            "invalid_choice",
            "must be one of: care_facility",
        ),
        ("pairing_id", "invalid_format", "must be a UUID"),
        ("budget_fen", "invalid_type", "must be a whole number"),
        ("bogus", "unknown_field", "is not a field of this request"),
    ];
    for (field, code, message) in expect {
        let (got_code, got_message) = found
            .get(field)
            .unwrap_or_else(|| panic!("{field} not reported: {problem}"));
        assert_eq!(got_code, code, "{field}: {problem}");
        assert!(got_message.starts_with(message), "{field}: {got_message}");
    }
    assert_eq!(found.len(), expect.len(), "{problem}");
    for (_, message) in found.values() {
        for rust in ["i64", "i32", "u64", "struct", "Uuid", "NaiveDate"] {
            assert!(!message.contains(rust), "Rust in {message}");
        }
    }
}

/// Contention on PostgreSQL is a 503 the client retries, not a 500: a snapshot transaction
/// (`REPEATABLE READ`) that updates a row another transaction changed after its snapshot fails
/// with a serialization error (40001).
#[tokio::test]
async fn a_serialization_failure_is_a_retryable_503() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    use xiezuo::error::AppError;
    let app = spawn_app().await;
    if app.ctx.db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let zunyi = app.org_id("520300").await;
    let sql = |sql: String| Statement::from_string(DbBackend::Postgres, sql);
    let touch = format!("UPDATE organizations SET updated_at = now() WHERE id = '{zunyi}'");
    let snapshot = app
        .ctx
        .begin_write_snapshot()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    snapshot
        .execute_raw(sql("SELECT 1".into()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    app.ctx
        .db
        .execute_raw(sql(touch.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let failed = snapshot
        .execute_raw(sql(touch))
        .await
        .err()
        .map(AppError::from);
    assert!(matches!(failed, Some(AppError::Unavailable)), "{failed:?}");
    assert_eq!(failed.map(|e| e.status()), Some(503));
}

/// PostgreSQL's deadlock (40P01) is contention too: two writers that lock two rows in opposite
/// orders, one of which the server aborts. The aborted one is a 503 to retry, not a 500; the
/// other goes on.
#[tokio::test]
async fn a_deadlock_is_a_retryable_503() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    use xiezuo::error::AppError;
    let app = spawn_app().await;
    if app.ctx.db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let (zunyi, shanghai) = (app.org_id("520300").await, app.org_id("310000").await);
    let touch = |id: Uuid| {
        Statement::from_string(
            DbBackend::Postgres,
            format!("UPDATE organizations SET updated_at = now() WHERE id = '{id}'"),
        )
    };
    let begin = || async {
        app.ctx
            .begin_write()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (first, second) = (begin().await, begin().await);
    for (tx, id) in [(&first, zunyi), (&second, shanghai)] {
        tx.execute_raw(touch(id))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // Each now waits for the row the other holds, until the server's deadlock check (1 s).
    let (a, b) = tokio::join!(
        first.execute_raw(touch(shanghai)),
        second.execute_raw(touch(zunyi))
    );
    let failed: Vec<AppError> = [a.err(), b.err()]
        .into_iter()
        .flatten()
        .map(AppError::from)
        .collect();
    assert_eq!(failed.len(), 1, "one writer is aborted: {failed:?}");
    assert!(matches!(failed[0], AppError::Unavailable), "{failed:?}");
    assert_eq!(failed[0].status(), 503);
}
