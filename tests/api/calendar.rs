//! The working-day calendar (DESIGN §2, §7): every quarter's ledger deadline from 2019 Q1 through
//! 2026 Q3, written out by hand from the State Council's holiday notices with their make-up
//! working days (调休); working days; a year an admin sets; who may set it; REST and GraphQL.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tests::{assert_problem, parts, spawn_app};
use xiezuo::domain::Role;

/// (year, quarter, due on). Each was counted by hand on the notice of the year the count runs
/// in: five working days after the quarter's last day, holidays skipped, make-up days counted.
const DEADLINES: &[(i32, i32, &str)] = &[
    (2019, 1, "2019-04-08"), // 4/5 清明 off, weekend
    (2019, 2, "2019-07-05"),
    (2019, 3, "2019-10-12"), // a Saturday worked after 国庆
    (2019, 4, "2020-01-08"), // 1/1 off
    (2020, 1, "2020-04-08"), // 4/4–6 清明 off
    (2020, 2, "2020-07-07"),
    (2020, 3, "2020-10-14"), // 10/1–8 off, Saturday 10/10 worked
    (2020, 4, "2021-01-08"), // 1/1–3 off
    (2021, 1, "2021-04-08"), // 4/3–5 off
    (2021, 2, "2021-07-07"),
    (2021, 3, "2021-10-13"), // 10/1–7 off, Saturday 10/9 worked
    (2021, 4, "2022-01-10"), // 1/1–3 off
    (2022, 1, "2022-04-08"), // Saturday 4/2 worked, 4/3–5 off
    (2022, 2, "2022-07-07"),
    (2022, 3, "2022-10-12"), // 10/1–7 off, 10/8 and 10/9 worked
    (2022, 4, "2023-01-09"), // 12/31–1/2 off
    (2023, 1, "2023-04-10"), // 4/5 off
    (2023, 2, "2023-07-07"),
    (2023, 3, "2023-10-11"), // 9/29–10/6 off, 10/7 and 10/8 worked
    (2023, 4, "2024-01-08"), // 1/1 off
    (2024, 1, "2024-04-08"), // 4/4–6 off, Sunday 4/7 worked
    (2024, 2, "2024-07-05"),
    (2024, 3, "2024-10-12"), // 10/1–7 off, Saturday 10/12 worked
    (2024, 4, "2025-01-08"), // 1/1 off
    (2025, 1, "2025-04-08"), // 4/4–6 off
    (2025, 2, "2025-07-07"),
    (2025, 3, "2025-10-14"), // 10/1–8 off, Saturday 10/11 worked
    (2025, 4, "2026-01-08"), // 1/1–3 off, Sunday 1/4 worked
    (2026, 1, "2026-04-08"), // 4/4–6 off
    (2026, 2, "2026-07-07"),
    (2026, 3, "2026-10-13"), // 10/1–7 off, Saturday 10/10 worked
];

#[tokio::test]
async fn every_quarter_from_2019_to_2026_is_due_on_the_fifth_working_day() {
    let app = spawn_app().await;
    let partner = app.token(Role::Partner, Some("330100"));
    for &(year, quarter, due_on) in DEADLINES {
        let (status, body) = parts(
            app.get(
                &format!("/api/v1/calendar/ledger-deadline?year={year}&quarter={quarter}"),
                &partner,
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body,
            json!({"year": year, "quarter": quarter, "due_on": due_on,
                   "due_at": format!("{due_on}T15:59:59Z")}),
            "{year} Q{quarter}"
        );
    }
    // The year's materials: 1 December, whatever the weekday (2019-12-01 was a Sunday).
    let (status, body) = parts(
        app.get("/api/v1/calendar/ledger-deadline?year=2019", &partner)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["due_on"], "2019-12-01");
    assert!(body["quarter"].is_null());

    // GraphQL answers from the same rules.
    let data = app
        .gql(
            &partner,
            "{ q3: ledgerDeadline(year: 2019, quarter: 3) { dueOn dueAt } \
               annual: ledgerDeadline(year: 2020) { dueOn quarter } }",
            json!({}),
        )
        .await;
    assert_eq!(data["data"]["q3"]["dueOn"], "2019-10-12", "{data}");
    assert_eq!(data["data"]["annual"]["dueOn"], "2020-12-01");
}

#[tokio::test]
async fn bad_questions_name_their_field() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    for (query, field) in [
        ("year=2019&quarter=5", "quarter"),
        ("year=2019&quarter=0", "quarter"),
        ("year=1999&quarter=1", "year"),
        ("year=2101", "year"),
        ("year=abc", "year"),
        ("quarter=1", "year"),
    ] {
        let problem = assert_problem(
            app.get(
                &format!("/api/v1/calendar/ledger-deadline?{query}"),
                &editor,
            )
            .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    // 2026 Q4 is counted in January 2027, which no notice has set yet: said, never guessed.
    let problem = assert_problem(
        app.get(
            "/api/v1/calendar/ledger-deadline?year=2026&quarter=4",
            &editor,
        )
        .await,
        409,
        "calendar_not_set",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("2027"),
        "{problem}"
    );
    for (query, field) in [
        ("from=2019-10-02&to=2019-10-01", "to"),
        ("from=2019-01-01&to=2020-01-02", "to"),
        ("from=2019-13-01&to=2019-12-01", "from"),
    ] {
        let problem = assert_problem(
            app.get(&format!("/api/v1/calendar/working-days?{query}"), &editor)
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    assert_problem(
        app.get(
            "/api/v1/calendar/working-days?from=2018-12-25&to=2019-01-05",
            &editor,
        )
        .await,
        409,
        "calendar_not_set",
    )
    .await;
    assert_problem(
        app.get("/api/v1/calendar/2027", &editor).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn working_days_skip_holidays_and_count_make_up_days() {
    let app = spawn_app().await;
    let auditor = app.token(Role::Auditor, None);
    let (status, body) = parts(
        app.get(
            "/api/v1/calendar/working-days?from=2019-09-28&to=2019-10-13",
            &auditor,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["working_days"],
        json!([
            "2019-09-29",
            "2019-09-30",
            "2019-10-08",
            "2019-10-09",
            "2019-10-10",
            "2019-10-11",
            "2019-10-12"
        ])
    );
    // A whole year: 2019 had 250 working days (365 − 104 weekend days − 17 weekdays off
    // + 6 make-up days).
    let (_, body) = parts(
        app.get(
            "/api/v1/calendar/working-days?from=2019-01-01&to=2019-12-31",
            &auditor,
        )
        .await,
    )
    .await;
    assert_eq!(body["working_days"].as_array().map(Vec::len), Some(250));

    let (status, year) = parts(app.get("/api/v1/calendar/2020", &auditor).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(year["built_in"], true);
    assert_eq!(year["version"], 0);
    // The Spring Festival of 2020 as extended on 26 January 2020: 1 February no longer worked.
    let holidays = year["holidays"].as_array().cloned().unwrap_or_default();
    assert!(holidays.contains(&json!("2020-02-02")), "{year}");
    assert!(
        !year["workdays"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .contains(&json!("2020-02-01"))
    );
    assert!(
        year["source"]
            .as_str()
            .unwrap_or("")
            .contains("延长2020年春节假期")
    );
}

async fn put_year(
    app: &tests::TestApp,
    token: &str,
    year: i32,
    if_match: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = app
        .request(
            Method::PUT,
            &format!("/api/v1/calendar/{year}"),
            Some(token),
        )
        .json(body);
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    request.send().await.expect("request failed")
}

/// What the 2027 notice would say, for the test (not an official notice).
fn year_2027() -> Value {
    json!({
        "holidays": ["2027-01-01", "2027-01-02", "2027-01-03"],
        "workdays": [],
        "source": "test data, not an official notice"
    })
}

#[tokio::test]
async fn an_admin_sets_a_later_year_and_the_deadlines_follow() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let coordinator = app.token(Role::Coordinator, Some("520000"));

    // Only an admin sets a year.
    for token in [
        coordinator.clone(),
        app.token(Role::Editor, Some("520300")),
        app.token(Role::Partner, Some("330100")),
        app.token(Role::Auditor, None),
    ] {
        assert_problem(
            put_year(&app, &token, 2027, None, &year_2027()).await,
            403,
            "forbidden",
        )
        .await;
    }
    assert_eq!(
        app.get("/api/v1/calendar/2027", &admin).await.status(),
        StatusCode::NOT_FOUND,
        "a refused write left nothing behind"
    );

    let response = put_year(&app, &admin, 2027, None, &year_2027()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(tests::etag_version(&response), 1);
    let stored: Value = response.json().await.expect("body");
    assert_eq!(stored["built_in"], false);
    assert_eq!(stored["holidays"][2], "2027-01-03");

    // 2026-12-31 is a Thursday; 1–3 January 2027 off; the fifth working day is Friday the 8th.
    let (status, body) = parts(
        app.get(
            "/api/v1/calendar/ledger-deadline?year=2026&quarter=4",
            &coordinator,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["due_on"], "2027-01-08");

    // Replacing a stored year needs its version; a stale one loses.
    let changed = json!({"holidays": ["2027-01-01", "2027-01-04"], "workdays": ["2027-01-09"]});
    assert_problem(
        put_year(&app, &admin, 2027, None, &changed).await,
        428,
        "precondition_required",
    )
    .await;
    let stale = assert_problem(
        put_year(&app, &admin, 2027, Some("\"7\""), &changed).await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(stale["current_version"], 1);
    let response = put_year(&app, &admin, 2027, Some("\"1\""), &changed).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(tests::etag_version(&response), 2);
    let (_, body) = parts(
        app.get(
            "/api/v1/calendar/ledger-deadline?year=2026&quarter=4",
            &coordinator,
        )
        .await,
    )
    .await;
    // 1/1 and 1/4 off, Saturday 1/9 worked: 1/5, 1/6, 1/7, 1/8, 1/9.
    assert_eq!(body["due_on"], "2027-01-09");

    // A built-in year can be corrected; the correction wins and says so.
    let response = put_year(
        &app,
        &admin,
        2019,
        Some("\"0\""),
        &json!({"holidays": ["2019-01-01"], "workdays": [], "source": "a correction"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (_, body) = parts(
        app.get(
            "/api/v1/calendar/ledger-deadline?year=2019&quarter=3",
            &coordinator,
        )
        .await,
    )
    .await;
    assert_eq!(
        body["due_on"], "2019-10-07",
        "no 国庆 in the corrected year"
    );

    // Each store is in the audit log, before and after.
    let (_, log) = parts(
        app.get("/api/v1/audit-log?record_type=calendar_year", &admin)
            .await,
    )
    .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(actions, ["create", "update", "create"], "{log}");
    assert_eq!(log["items"][1]["before"]["holidays"][1], "2027-01-02");
    assert_eq!(log["items"][1]["after"]["holidays"][1], "2027-01-04");

    // GraphQL: the same rules, the same version check.
    let data = app
        .gql(
            &admin,
            "mutation($input: CalendarYearInput!) { \
               setCalendarYear(year: 2028, input: $input) { year version builtIn holidays } }",
            json!({"input": {"holidays": ["2028-01-01"], "workdays": []}}),
        )
        .await;
    assert_eq!(data["data"]["setCalendarYear"]["version"], 1, "{data}");
    let data = app
        .gql(
            &admin,
            "mutation($input: CalendarYearInput!) { \
               setCalendarYear(year: 2028, input: $input, expectedVersion: 5) { version } }",
            json!({"input": {"holidays": ["2028-01-01"], "workdays": []}}),
        )
        .await;
    assert_eq!(
        data["errors"][0]["extensions"]["code"], "precondition_failed",
        "{data}"
    );
    let data = app
        .gql(
            &coordinator,
            "{ calendarYear(year: 2028) { holidays version } none: calendarYear(year: 2031) { year } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["data"]["calendarYear"]["holidays"],
        json!(["2028-01-01"]),
        "{data}"
    );
    assert!(data["data"]["none"].is_null());
}

#[tokio::test]
async fn a_year_that_cannot_be_true_is_refused_whole() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let problem = assert_problem(
        put_year(
            &app,
            &admin,
            2027,
            None,
            &json!({
                "holidays": ["2027-01-01", "2026-12-31", "2027-01-01"],
                "workdays": ["2027-01-04", "2027-01-01"]
            }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        fields,
        [
            "holidays[1]",
            "holidays[2]",
            "workdays[0]",
            "workdays[1]",
            "workdays[1]"
        ],
        "{problem}"
    );
    assert_problem(
        put_year(
            &app,
            &admin,
            2027,
            None,
            &json!({"holidays": ["2027-02-30"]}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        put_year(&app, &admin, 2101, None, &json!({"holidays": []})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        app.get("/api/v1/calendar/2027", &admin).await.status(),
        StatusCode::NOT_FOUND,
        "nothing was stored"
    );
}
