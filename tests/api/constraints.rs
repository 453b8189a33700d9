//! The constraints the OpenAPI document states are the ones the service enforces.
//!
//! Driven by the served document: for each create operation, every top-level text field with a
//! `maxLength` is accepted at exactly that many characters and refused (`too_long`) at one more,
//! and so is every list with a `maxItems` whose entries are easy to build. A limit the document
//! states that the service does not keep, in either direction, fails here.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, parts, spawn_app};

/// A valid body for the `n`-th request of a case: unique where the service wants uniqueness.
type Body<'a> = Box<dyn Fn(usize) -> Value + 'a>;

struct Case<'a> {
    path: &'static str,
    body: Body<'a>,
    /// Fields the document must bound, so that a limit that disappears from it fails here too.
    expected: &'static [&'static str],
}

/// The component schema of the JSON body `POST path` takes.
fn request_schema<'d>(doc: &'d Value, path: &str) -> &'d Value {
    let reference =
        doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("POST {path} takes no JSON body by reference"));
    let schema =
        &doc["components"]["schemas"][reference.trim_start_matches("#/components/schemas/")];
    assert!(schema.is_object(), "{reference} is not in the document");
    schema
}

fn limit(schema: &Value, keyword: &str) -> Option<usize> {
    schema[keyword]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
}

fn is_string(schema: &Value) -> bool {
    match &schema["type"] {
        Value::String(t) => t == "string",
        Value::Array(types) => types.iter().any(|t| t == "string"),
        _ => false,
    }
}

/// `len` characters the field takes. Free text is Chinese (three bytes a character, so a limit
/// counted in bytes would show); the fields with a pattern get values of their shape.
fn text(field: &str, len: usize, n: usize) -> String {
    let pad = |head: String, fill: char, tail: &str| {
        let used = head.chars().count() + tail.chars().count();
        assert!(
            used <= len,
            "{field}: {len} characters is too short for {head}{tail}"
        );
        format!("{head}{}{tail}", fill.to_string().repeat(len - used))
    };
    match field {
        // Codes are unique: the request number leads.
        "code" => pad(format!("c{n}-"), 'x', ""),
        "division_code" => pad("520303".into(), '0', ""),
        "phone" => pad("+86".into(), ' ', "13812345678"),
        "email" => pad(String::new(), 'a', "@example.com"),
        _ => "档".repeat(len),
    }
}

/// `count` entries for a list field, or None when its entries are records that would have to
/// exist first.
fn entries(field: &str, count: usize) -> Option<Value> {
    let one = |i: usize| match field {
        "items" => {
            Some(json!({"name": "康复训练设备", "unit": "套", "quantity": 1, "unit_cost_fen": 100}))
        }
        "milestones" => Some(json!({"title": format!("第{i}步"), "due_on": "2019-06-30"})),
        "leaders_present" => Some(json!(format!("理事长{i}"))),
        _ => None,
    };
    (0..count)
        .map(one)
        .collect::<Option<Vec<_>>>()
        .map(Value::Array)
}

/// The `(field, code)` pairs of a validation problem.
fn errors(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                    (s("field"), s("code"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Posts `body` and expects it to be created.
async fn accepted(app: &TestApp, token: &str, path: &str, what: &str, body: &Value) {
    let (status, answer) = parts(app.post_json(path, token, body).await).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "POST {path} with {what}: the document allows it, the service answered {answer}"
    );
}

/// Posts `body` and expects `field` to be refused with `code` (any code when None).
async fn refused(
    app: &TestApp,
    token: &str,
    path: &str,
    what: &str,
    body: &Value,
    field: &str,
    code: Option<&str>,
) {
    let (status, answer) = parts(app.post_json(path, token, body).await).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "POST {path} with {what}: the document refuses it, the service answered {answer}"
    );
    let found = errors(&answer);
    assert!(
        found
            .iter()
            .any(|(f, c)| f == field && code.is_none_or(|code| c == code)),
        "POST {path} with {what}: expected {field} ({code:?}), got {found:?}"
    );
}

/// Runs one case against the document: each bounded field at its limit and one past it.
async fn check(app: &TestApp, token: &str, doc: &Value, case: Case<'_>) {
    let Case {
        path,
        body,
        expected,
    } = case;
    let schema = request_schema(doc, path);
    let properties = schema["properties"].as_object().expect("properties");
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let mut checked = Vec::new();
    for (field, property) in properties {
        if is_string(property)
            && let Some(max) = limit(property, "maxLength")
        {
            let i = next();
            let mut at = body(i);
            at[field] = json!(text(field, max, i));
            accepted(
                app,
                token,
                path,
                &format!("{max} characters of {field}"),
                &at,
            )
            .await;

            let i = next();
            let mut over = body(i);
            over[field] = json!(text(field, max + 1, i));
            // A fixed length (a division code) is refused for its form, not its length.
            let code = (limit(property, "minLength") != Some(max)).then_some("too_long");
            let what = format!("{} characters of {field}", max + 1);
            refused(app, token, path, &what, &over, field, code).await;
            checked.push(field.clone());
        }
        if let Some(max) = limit(property, "maxItems")
            && let Some(full) = entries(field, max)
        {
            let mut at = body(next());
            at[field] = full;
            accepted(app, token, path, &format!("{max} entries of {field}"), &at).await;

            let mut over = body(next());
            over[field] = entries(field, max + 1).expect("entries");
            let what = format!("{} entries of {field}", max + 1);
            refused(app, token, path, &what, &over, field, Some("too_many")).await;
            checked.push(field.clone());
        }
        if property["items"]["type"] == "string"
            && let Some(max) = limit(&property["items"], "maxLength")
        {
            let entry = format!("{field}[0]");
            let mut at = body(next());
            at[field] = json!([text(field, max, 0)]);
            accepted(
                app,
                token,
                path,
                &format!("{max} characters in {entry}"),
                &at,
            )
            .await;

            let mut over = body(next());
            over[field] = json!([text(field, max + 1, 0)]);
            let what = format!("{} characters in {entry}", max + 1);
            refused(app, token, path, &what, &over, &entry, Some("too_long")).await;
            checked.push(entry);
        }
    }
    for field in expected {
        assert!(
            checked.iter().any(|c| c == field),
            "POST {path}: the document states no limit for {field} (checked {checked:?})"
        );
    }
}

#[tokio::test]
async fn every_stated_length_is_the_length_the_service_accepts() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let (status, doc) = parts(app.get("/api/v1/openapi.json", &admin).await).await;
    assert_eq!(status, StatusCode::OK);

    let pairing = app.pairing_id("310000", "520300").await;
    let zunyi = app.org_id("520300").await;
    let shanghai = app.org_id("310000").await;
    let (status, plan) = parts(
        app.post_json(
            "/api/v1/plans",
            &admin,
            &json!({"org_id": zunyi, "year": 2099, "title": "遵义市残联工作方案"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    // A working group per organization: each accepted request takes the next one.
    let mut groups = Vec::new();
    for code in [
        "520100", "520200", "520400", "520500", "520600", "522300", "522600", "522700",
    ] {
        groups.push(app.org_id(code).await);
    }

    let cases = vec![
        Case {
            path: "/api/v1/projects",
            body: Box::new(move |n| {
                json!({
                    "code": format!("ZY-{n}"), "year": 2019, "title": "康复托养中心设备",
                    "category": "care_facility", "pairing_id": pairing, "basis": "缺少康复设备",
                    "measures": "资助采购", "quantity": "设备2套", "budget_fen": 50_000_000,
                    "items": [{"name": "康复训练设备", "unit": "套", "quantity": 2, "unit_cost_fen": 25_000_000}],
                    "milestones": [{"title": "完成采购", "due_on": "2019-06-30"}],
                    "start_on": "2019-04-01", "end_on": "2019-12-31"
                })
            }),
            expected: &[
                "code",
                "title",
                "basis",
                "measures",
                "quantity",
                "external_id",
                "items",
                "milestones",
            ],
        },
        Case {
            path: "/api/v1/organizations",
            body: Box::new(move |n| {
                json!({"code": format!("org-{n}"), "name": "汇川区残疾人联合会", "region": "west",
                       "level": "county", "kind": "federation", "parent_id": zunyi})
            }),
            expected: &["code", "name", "division_code", "external_id"],
        },
        Case {
            path: "/api/v1/contacts",
            body: Box::new(move |_| json!({"org_id": zunyi, "name": "联络员（示例）"})),
            expected: &["name", "title", "phone", "email", "external_id"],
        },
        Case {
            path: "/api/v1/fund-transactions",
            body: Box::new(move |_| {
                json!({"kind": "pledge", "amount_fen": 100, "occurred_on": "2019-05-10",
                       "pairing_id": pairing})
            }),
            expected: &["voucher_no", "note", "external_id"],
        },
        Case {
            path: "/api/v1/working-groups",
            body: Box::new(
                |n| json!({"org_id": groups[n - 1], "name": "东西部扶贫协作工作推进组"}),
            ),
            expected: &["name", "external_id"],
        },
        Case {
            path: "/api/v1/plans",
            body: Box::new(
                move |n| json!({"org_id": zunyi, "year": 2030 + n, "title": "东西部扶贫协作工作方案"}),
            ),
            expected: &["title", "external_id"],
        },
        Case {
            path: "/api/v1/plan-tasks",
            body: Box::new(|_| json!({"plan_id": plan["id"], "quarter": 2, "title": "赴上海考察"})),
            expected: &["title", "external_id"],
        },
        Case {
            path: "/api/v1/agreements",
            body: Box::new(move |_| {
                json!({"pairing_id": pairing, "title": "2019年东西部扶贫协作协议",
                       "signed_on": "2019-03-28", "committed_fen": 300_000_000})
            }),
            expected: &["title", "summary", "external_id"],
        },
        Case {
            path: "/api/v1/exchanges",
            body: Box::new(move |_| {
                json!({"kind": "inspection_visit", "direction": "east_to_west",
                       "pairing_id": pairing, "host_org_id": zunyi, "visiting_org_ids": [shanghai],
                       "start_on": "2019-04-08", "end_on": "2019-04-10"})
            }),
            expected: &[
                "summary",
                "external_id",
                "leaders_present",
                "leaders_present[0]",
            ],
        },
    ];
    for case in cases {
        check(&app, &admin, &doc, case).await;
    }
}

/// The phone and email patterns are written from the service's rules, which the unit tests
/// cannot call: values at the edges of each pattern must be accepted.
#[tokio::test]
async fn phones_and_emails_of_the_documented_shape_are_accepted() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let zunyi = app.org_id("520300").await;
    let phones = [
        "12345",
        "+12345",
        "1-2-3-4-5",
        "+1 - 2 -- 3  4-5",
        "12345678901234567890",
        "+86 138 0000 1111",
        "0851-2822 6688",
    ];
    let emails = [
        "a@b.c",
        "a.b+c@d-e.f.g",
        "档案@例子.中国",
        "!#$%&'*+/=?^_`{|}~.@x.y",
        "a@1.2.3.4",
    ];
    let max_email = format!("{}@example.com", "a".repeat(200 - "@example.com".len()));
    let bodies = phones
        .iter()
        .map(|p| json!({"org_id": zunyi, "name": "联络员（示例）", "phone": p}))
        .chain(
            emails
                .iter()
                .copied()
                .chain([max_email.as_str()])
                .map(|e| json!({"org_id": zunyi, "name": "联络员（示例）", "email": e})),
        );
    for body in bodies {
        accepted(&app, &admin, "/api/v1/contacts", &body.to_string(), &body).await;
    }
}
