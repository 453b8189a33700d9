//! Ledger submissions (台账报送): the frozen snapshot served byte for byte under its SHA-256,
//! `due_on` and `on_time` from the working-day calendar (to the second of the deadline), late
//! ledgers flagged and never refused, numbering on resubmission, the province office's review,
//! frozen evidence, who may do what, and the year's materials.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tests::{TestApp, assert_problem, parts, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

fn id(v: &Value) -> Uuid {
    v["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("no id in {v}"))
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("instant")
        .with_timezone(&Utc)
}

async fn created(response: reqwest::Response) -> Value {
    let (status, body) = parts(response).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Submits as `token` at instant `when` (the service's clock pinned there).
pub(crate) async fn submit_at(
    app: &TestApp,
    token: &str,
    when: &str,
    body: &Value,
) -> reqwest::Response {
    app.ctx.clock.pin(Some(at(when)));
    let response = app
        .post_json("/api/v1/ledger-submissions", token, body)
        .await;
    app.ctx.clock.pin(None);
    response
}

/// 上海–遵义 in 2019 Q3: a transfer with its bank letter, an arrival without a voucher.
struct Fixture {
    zunyi: Uuid,
    transfer: Value,
    arrival: Value,
    letter: Value,
}

async fn fixture(app: &TestApp) -> Fixture {
    let zunyi = app.org_id("520300").await;
    let pairing = app.pairing_id("310000", "520300").await;
    let editor = app.token(Role::Editor, Some("520300"));
    let partner = app.token(Role::Partner, Some("310000"));
    let money = |kind: &str, fen: i64, on: &str| {
        json!({"kind": kind, "amount_fen": fen, "occurred_on": on, "pairing_id": pairing,
               "voucher_no": format!("V-{on}")})
    };
    let transfer = created(
        app.post_json(
            "/api/v1/fund-transactions",
            &partner,
            &money("transfer", 123_456_789, "2019-09-02"),
        )
        .await,
    )
    .await;
    let arrival = created(
        app.post_json(
            "/api/v1/fund-transactions",
            &editor,
            &money("arrival", 123_456_789, "2019-09-10"),
        )
        .await,
    )
    .await;
    let letter = app
        .upload_proof(
            &partner,
            "correspondence",
            ("fund_transaction", id(&transfer)),
        )
        .await;
    Fixture {
        zunyi,
        transfer,
        arrival,
        letter,
    }
}

#[tokio::test]
async fn a_submission_freezes_the_ledger_byte_for_byte() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let editor = app.token(Role::Editor, Some("520300"));
    let q3 = json!({"org_id": f.zunyi, "year": 2019, "quarter": 3});

    // The ledger as it stands, then submitted on 10 October 2019, two days early.
    let (_, live) = parts(
        app.get(&format!("/api/v1/ledgers/{}/2019/3", f.zunyi), &editor)
            .await,
    )
    .await;
    let response = submit_at(&app, &editor, "2019-10-10T02:00:00Z", &q3).await;
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let first = created(response).await;
    assert_eq!(
        location.as_deref(),
        Some(format!("/api/v1/ledger-submissions/{}", id(&first)).as_str())
    );
    assert_eq!(first["org_id"], json!(f.zunyi));
    assert_eq!(first["year"], 2019);
    assert_eq!(first["quarter"], 3);
    assert_eq!(first["number"], 1);
    assert_eq!(first["due_on"], "2019-10-12");
    assert_eq!(first["on_time"], true);
    assert_eq!(first["submitted_at"], "2019-10-10T02:00:00Z");
    assert_eq!(first["status"], "submitted");
    // The arrival has no voucher: one gap, as the live ledger says.
    assert_eq!(first["gaps"], 1);
    assert_eq!(live["gaps"].as_array().map(Vec::len), Some(1), "{live}");

    // The snapshot: its SHA-256 is the submission's, it is canonical JSON, and it is the
    // ledger that was live.
    let snapshot_url = format!("/api/v1/ledger-submissions/{}/snapshot", id(&first));
    let response = app.get(&snapshot_url, &editor).await;
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response.bytes().await.expect("body").to_vec();
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(first["sha256"], json!(digest));
    assert_eq!(first["snapshot_bytes"], json!(bytes.len()));
    assert_eq!(etag, Some(format!("\"sha256:{digest}\"")));
    let frozen: Value = serde_json::from_slice(&bytes).expect("snapshot JSON");
    let canonical = serde_jcs::to_vec(&frozen).expect("canonical");
    assert_eq!(canonical, bytes, "the snapshot is not in canonical form");
    assert_eq!(
        frozen, live,
        "the snapshot is not the ledger that was submitted"
    );
    assert_eq!(frozen["totals"]["arrived_fen"], 123_456_789);

    // A record changes after submission: the live ledger follows, the snapshot does not.
    let response = app
        .patch_json(
            &format!("/api/v1/fund-transactions/{}", id(&f.arrival)),
            &editor,
            Some(1),
            &json!({"amount_fen": 100_000}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let again = app
        .get(&snapshot_url, &editor)
        .await
        .bytes()
        .await
        .expect("body");
    assert_eq!(again.to_vec(), bytes);

    // The evidence the snapshot lists is frozen, its content still served.
    let letter = id(&f.letter);
    let partner = app.token(Role::Partner, Some("310000"));
    assert_problem(
        app.delete(&format!("/api/v1/evidence/{letter}"), &partner, Some(1))
            .await,
        409,
        "frozen",
    )
    .await;
    assert_problem(
        app.patch_json(
            &format!("/api/v1/evidence/{letter}"),
            &partner,
            Some(1),
            &json!({"title": "改过的标题"}),
        )
        .await,
        409,
        "frozen",
    )
    .await;
    let content = app
        .get(&format!("/api/v1/evidence/{letter}/content"), &partner)
        .await;
    assert_eq!(content.status(), StatusCode::OK);
    // Evidence no snapshot holds can still go.
    let loose = app
        .upload_proof(&editor, "document", ("fund_transaction", id(&f.arrival)))
        .await;
    let response = app
        .delete(
            &format!("/api/v1/evidence/{}", id(&loose)),
            &editor,
            Some(1),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // The submission's cover letter (报送函) is evidence of the submission itself.
    let letter = app
        .upload_file(
            &editor,
            "correspondence",
            &[("ledger_submission", id(&first))],
            [b"%PDF-1.7\n".as_slice(), &[3u8; 100]].concat(),
            "报送函.pdf",
        )
        .await;
    let (_, of_submission) = parts(
        app.get(
            &format!(
                "/api/v1/evidence?record_type=ledger_submission&record_id={}",
                id(&first)
            ),
            &editor,
        )
        .await,
    )
    .await;
    assert_eq!(of_submission["items"][0]["id"], letter["id"]);

    // Resubmitting takes the next number; the first stays as it was.
    let second = created(submit_at(&app, &editor, "2019-10-11T01:00:00Z", &q3).await).await;
    assert_eq!(second["number"], 2);
    assert_ne!(second["sha256"], first["sha256"]);
    let (status, first_again) = parts(
        app.get(
            &format!("/api/v1/ledger-submissions/{}", id(&first)),
            &editor,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first_again, first);
    let (_, listed) = parts(
        app.get(
            &format!(
                "/api/v1/ledger-submissions?org_id={}&year=2019&quarter=3",
                f.zunyi
            ),
            &editor,
        )
        .await,
    )
    .await;
    let numbers: Vec<i64> = listed["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|s| s["number"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(numbers, vec![1, 2]);

    // No one changes or deletes a submission.
    for method in [
        reqwest::Method::PATCH,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = app
            .request(
                method.clone(),
                &format!("/api/v1/ledger-submissions/{}", id(&first)),
                Some(&app.admin_token()),
            )
            .header("if-match", "\"1\"")
            .json(&json!({}))
            .send()
            .await
            .expect("request failed");
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
    }
    // The transfer is in both snapshots, unchanged.
    assert!(
        frozen["fund_transactions"]
            .as_array()
            .is_some_and(|ts| ts.iter().any(|t| id(t) == id(&f.transfer)))
    );
}

#[tokio::test]
async fn due_dates_and_lateness_follow_the_calendar_to_the_second() {
    let app = spawn_app().await;
    let zunyi = app.org_id("520300").await;
    let editor = app.token(Role::Editor, Some("520300"));
    let q3 = json!({"org_id": zunyi, "year": 2019, "quarter": 3});

    // Not before the quarter has ended, in Beijing time: 23:00 on 30 September is too early,
    // midnight is not.
    let problem = assert_problem(
        submit_at(&app, &editor, "2019-09-30T15:00:00Z", &q3).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "quarter", "{problem}");
    let first = created(submit_at(&app, &editor, "2019-09-30T16:00:00Z", &q3).await).await;
    assert_eq!(first["on_time"], true);

    // 2019 Q3 is due on Saturday 12 October (a make-up working day): 23:59:59 in Beijing is
    // on time, one second later is late, and a late ledger is still taken.
    let last_second = created(submit_at(&app, &editor, "2019-10-12T15:59:59Z", &q3).await).await;
    assert_eq!(last_second["due_on"], "2019-10-12");
    assert_eq!(last_second["on_time"], true);
    let late = created(submit_at(&app, &editor, "2019-10-12T16:00:00Z", &q3).await).await;
    assert_eq!(late["on_time"], false);
    assert_eq!(late["number"], 3);

    // The year's materials: due 1 December.
    let annual = json!({"org_id": zunyi, "year": 2019});
    let early = created(submit_at(&app, &editor, "2019-11-30T16:00:00Z", &annual).await).await;
    assert_eq!(early["quarter"], Value::Null);
    assert_eq!(early["due_on"], "2019-12-01");
    assert_eq!(early["on_time"], true);
    assert_eq!(early["number"], 1);
    let after = created(submit_at(&app, &editor, "2019-12-01T16:00:00Z", &annual).await).await;
    assert_eq!(after["on_time"], false);
    assert_eq!(after["number"], 2);
    let problem = assert_problem(
        submit_at(
            &app,
            &editor,
            "2019-06-01T00:00:00Z",
            &json!({"org_id": zunyi, "year": 2020}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "year", "{problem}");
    // The annual ledger holds the whole year, evidence of any quarter.
    let (status, snapshot) = parts(
        app.get(
            &format!("/api/v1/ledger-submissions/{}/snapshot", id(&early)),
            &editor,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(snapshot["quarter"], Value::Null);
    assert_eq!(snapshot["due_on"], "2019-12-01");
    let (_, listed) = parts(
        app.get(
            &format!("/api/v1/ledger-submissions?org_id={zunyi}&annual=true"),
            &editor,
        )
        .await,
    )
    .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));

    // 2026 Q4 counts into 2027, which the calendar does not hold: the ledger is taken, its
    // deadline unknown, until an admin sets 2027.
    let q4 = json!({"org_id": zunyi, "year": 2026, "quarter": 4});
    let pending = created(submit_at(&app, &editor, "2027-01-04T02:00:00Z", &q4).await).await;
    assert_eq!(pending["due_on"], Value::Null);
    assert_eq!(pending["on_time"], Value::Null);
    let response = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/calendar/2027",
            Some(&app.admin_token()),
        )
        .json(&json!({"holidays": ["2027-01-01"], "workdays": [],
                      "source": "test data, not an official notice"}))
        .send()
        .await
        .expect("request failed");
    assert_eq!(response.status(), StatusCode::CREATED);
    let (_, filled) = parts(
        app.get(
            &format!("/api/v1/ledger-submissions/{}", id(&pending)),
            &editor,
        )
        .await,
    )
    .await;
    // Friday 1 January off; Monday 4 to Friday 8 are the five working days.
    assert_eq!(filled["due_on"], "2027-01-08", "{filled}");
    assert_eq!(filled["on_time"], true);
    assert_eq!(filled["version"], 2);
    // Its snapshot is what was submitted, deadline unknown.
    let (_, snapshot) = parts(
        app.get(
            &format!("/api/v1/ledger-submissions/{}/snapshot", id(&pending)),
            &editor,
        )
        .await,
    )
    .await;
    assert_eq!(snapshot["due_on"], Value::Null);
}

#[tokio::test]
async fn the_province_office_reviews_the_latest_submission() {
    let app = spawn_app().await;
    let zunyi = app.org_id("520300").await;
    let editor = app.token(Role::Editor, Some("520300"));
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    let q2 = json!({"org_id": zunyi, "year": 2019, "quarter": 2});
    let first = created(submit_at(&app, &editor, "2019-07-03T02:00:00Z", &q2).await).await;
    let review_url = format!("/api/v1/ledger-submissions/{}/review", id(&first));

    // Only the province office reviews; those who cannot read it are told it is not there.
    for (token, status, code) in [
        (editor.clone(), 403, "forbidden"),
        (app.token(Role::Editor, Some("520000")), 403, "forbidden"),
        (app.token(Role::Auditor, None), 403, "forbidden"),
        (app.token(Role::Partner, Some("310000")), 404, "not_found"),
        (app.token(Role::Editor, Some("520400")), 404, "not_found"),
    ] {
        assert_problem(
            app.post_json(&review_url, &token, &json!({"decision": "accepted"}))
                .await,
            status,
            code,
        )
        .await;
    }
    // Returning needs a comment.
    let problem = assert_problem(
        app.post_json(&review_url, &coordinator, &json!({"decision": "returned"}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "comment");
    // A stale If-Match loses.
    let response = app
        .request(reqwest::Method::POST, &review_url, Some(&coordinator))
        .header("if-match", "\"7\"")
        .json(&json!({"decision": "accepted"}))
        .send()
        .await
        .expect("request failed");
    assert_problem(response, 412, "precondition_failed").await;
    let (status, returned) = parts(
        app.post_json(
            &review_url,
            &coordinator,
            &json!({"decision": "returned", "comment": "补充6月到位资金的凭证"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{returned}");
    assert_eq!(returned["status"], "returned");
    assert_eq!(returned["review_comment"], "补充6月到位资金的凭证");
    assert_eq!(returned["version"], 2);
    assert!(returned["reviewed_at"].is_string());
    assert!(returned["reviewed_by"].is_string());
    // A review is final for its number.
    assert_problem(
        app.post_json(&review_url, &coordinator, &json!({"decision": "accepted"}))
            .await,
        409,
        "invalid_transition",
    )
    .await;

    // Corrected twice: the second is superseded by the third before anyone reviews it.
    let second = created(submit_at(&app, &editor, "2019-07-05T02:00:00Z", &q2).await).await;
    let third = created(submit_at(&app, &editor, "2019-07-06T02:00:00Z", &q2).await).await;
    assert_eq!(
        (second["number"].clone(), third["number"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(third["on_time"], false);
    assert_problem(
        app.post_json(
            &format!("/api/v1/ledger-submissions/{}/review", id(&second)),
            &coordinator,
            &json!({"decision": "accepted"}),
        )
        .await,
        409,
        "invalid_transition",
    )
    .await;
    let (status, accepted) = parts(
        app.post_json(
            &format!("/api/v1/ledger-submissions/{}/review", id(&third)),
            &coordinator,
            &json!({"decision": "accepted"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["review_comment"], Value::Null);

    // The audit log keeps the submission and each review.
    let (_, log) = parts(
        app.get(
            &format!(
                "/api/v1/audit-log?record_type=ledger_submission&record_id={}",
                id(&first)
            ),
            &app.admin_token(),
        )
        .await,
    )
    .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(actions, vec!["create", "update"], "{log}");
}

#[tokio::test]
async fn who_may_submit_and_read_a_ledger() {
    let app = spawn_app().await;
    let zunyi = app.org_id("520300").await;
    let q1 = json!({"org_id": zunyi, "year": 2019, "quarter": 1});
    let when = "2019-04-02T02:00:00Z";

    // Submitting: the organization's editors and those above it, the province office, the
    // admin; not its partner, a county below it or the assessment team. A neighbour cannot
    // see the organization, and is told it does not exist.
    for (role, org, status) in [
        (Role::Partner, Some("310000"), 403),
        (Role::Editor, Some("520400"), 422),
        (Role::Editor, Some("520382"), 403),
        (Role::Auditor, None, 403),
        (Role::Editor, Some("520300"), 201),
        (Role::Editor, Some("520000"), 201),
        (Role::Coordinator, Some("520000"), 201),
        (Role::Admin, Some("520000"), 201),
    ] {
        let response = submit_at(&app, &app.token(role, org), when, &q1).await;
        assert_eq!(
            response.status().as_u16(),
            status,
            "{role:?} of {org:?}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    let (_, page) = parts(
        app.get(
            "/api/v1/ledger-submissions?year=2019&quarter=1",
            &app.admin_token(),
        )
        .await,
    )
    .await;
    let submission = page["items"][0].clone();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(4), "{page}");

    // Reading: as a record of the organization's own.
    let path = format!("/api/v1/ledger-submissions/{}", id(&submission));
    for (role, org, status) in [
        (Role::Editor, Some("520300"), 200),
        (Role::Editor, Some("520000"), 200),
        (Role::Coordinator, Some("520000"), 200),
        (Role::Auditor, None, 200),
        (Role::Partner, Some("310000"), 404),
        (Role::Editor, Some("520400"), 404),
        (Role::Editor, Some("520382"), 404),
    ] {
        let token = app.token(role, org);
        for url in [path.clone(), format!("{path}/snapshot")] {
            assert_eq!(
                app.get(&url, &token).await.status().as_u16(),
                status,
                "{role:?} of {org:?} reading {url}"
            );
        }
        let (_, listed) = parts(app.get("/api/v1/ledger-submissions", &token).await).await;
        let seen = listed["items"].as_array().map_or(0, Vec::len);
        assert_eq!(
            seen,
            if status == 200 { 4 } else { 0 },
            "{role:?} of {org:?}"
        );
    }

    // Bad input names each field.
    let admin = app.admin_token();
    let problem = assert_problem(
        submit_at(
            &app,
            &admin,
            when,
            &json!({"org_id": Uuid::now_v7(), "year": 1800, "quarter": 5}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    fields.sort_unstable();
    assert_eq!(fields, vec!["org_id", "quarter", "year"], "{problem}");
    // An eastern federation keeps no ledger here.
    let problem = assert_problem(
        submit_at(
            &app,
            &admin,
            when,
            &json!({"org_id": app.org_id("310000").await, "year": 2019, "quarter": 1}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "org_id");
}

#[tokio::test]
async fn graphql_submits_reads_and_reviews_ledgers() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let editor = app.token(Role::Editor, Some("520300"));
    let coordinator = app.token(Role::Coordinator, Some("520000"));

    let ledger = app
        .gql(
            &editor,
            "query($org: UUID!) { ledger(orgId: $org, year: 2019, quarter: 3) {
                quarter dueOn totals { arrivedFen transferredFen gaps }
                fundTransactions { id } gaps { kind recordId } } }",
            json!({"org": f.zunyi}),
        )
        .await;
    assert_eq!(ledger["errors"], Value::Null, "{ledger}");
    let l = &ledger["data"]["ledger"];
    assert_eq!(l["dueOn"], "2019-10-12");
    assert_eq!(l["totals"]["gaps"], 1);
    assert_eq!(l["gaps"][0]["kind"], "fund_transaction_without_voucher");
    assert_eq!(l["gaps"][0]["recordId"], json!(id(&f.arrival)));

    app.ctx.clock.pin(Some(at("2019-10-09T03:00:00Z")));
    let submitted = app
        .gql(
            &editor,
            "mutation($org: UUID!) { submitLedger(input: {orgId: $org, year: 2019, quarter: 3}) {
                id number dueOn onTime status sha256 snapshotUrl organization { code } } }",
            json!({"org": f.zunyi}),
        )
        .await;
    app.ctx.clock.pin(None);
    assert_eq!(submitted["errors"], Value::Null, "{submitted}");
    let s = &submitted["data"]["submitLedger"];
    assert_eq!(s["number"], 1);
    assert_eq!(s["onTime"], true);
    assert_eq!(s["organization"]["code"], "520300");
    let sid = s["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        s["snapshotUrl"],
        json!(format!("/api/v1/ledger-submissions/{sid}/snapshot"))
    );

    // The same rules as REST: an editor does not review.
    let refused = app
        .gql(
            &editor,
            "mutation($id: UUID!) { reviewLedgerSubmission(id: $id, input: {decision: accepted}) { status } }",
            json!({"id": sid}),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "forbidden",
        "{refused}"
    );
    let reviewed = app
        .gql(
            &coordinator,
            "mutation($id: UUID!) { reviewLedgerSubmission(id: $id, expectedVersion: 1,
                input: {decision: returned, comment: \"补充凭证\"}) { status reviewComment version } }",
            json!({"id": sid}),
        )
        .await;
    assert_eq!(reviewed["errors"], Value::Null, "{reviewed}");
    assert_eq!(
        reviewed["data"]["reviewLedgerSubmission"],
        json!({"status": "returned", "reviewComment": "补充凭证", "version": 2})
    );
    let listed = app
        .gql(
            &editor,
            "{ ledgerSubmissions(filter: {status: returned}) { edges { node { id sha256 } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["data"]["ledgerSubmissions"]["edges"][0]["node"]["sha256"], s["sha256"],
        "{listed}"
    );
    // A partner reads neither the submission nor its organization's whole ledger.
    let partner = app.token(Role::Partner, Some("310000"));
    let hidden = app
        .gql(
            &partner,
            "query($id: UUID!) { ledgerSubmission(id: $id) { id } }",
            json!({"id": sid}),
        )
        .await;
    assert_eq!(hidden["data"]["ledgerSubmission"], Value::Null, "{hidden}");
}

/// Concurrent submissions of one period take the numbers one after the other: none fails, none
/// is lost (PostgreSQL runs them truly at once; SQLite one at a time).
#[tokio::test]
async fn concurrent_submissions_each_take_a_number() {
    let app = spawn_app().await;
    let zunyi = app.org_id("520300").await;
    let editor = app.token(Role::Editor, Some("520300"));
    let body = json!({"org_id": zunyi, "year": 2019, "quarter": 4});
    let sends = (0..6).map(|_| app.post_json("/api/v1/ledger-submissions", &editor, &body));
    let responses = futures_util::future::join_all(sends).await;
    let mut numbers = Vec::new();
    for response in responses {
        numbers.push(
            created(response).await["number"]
                .as_i64()
                .unwrap_or_default(),
        );
    }
    numbers.sort_unstable();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5, 6]);
}

/// A submission and a deletion of evidence it lists, at the same moment: whichever wins, no
/// snapshot lists evidence that is gone (the submission share-locks what it freezes, the
/// deletion locks its row before asking whether it is frozen).
#[tokio::test]
async fn evidence_deleted_while_submitting_never_leaves_a_snapshot_without_its_files() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let editor = app.token(Role::Editor, Some("520300"));
    let body = json!({"org_id": f.zunyi, "year": 2019, "quarter": 3});
    let mut outcomes = std::collections::BTreeMap::new();
    // The deletion starts later each round, to land before, during and after the submission.
    for round in 0..16u64 {
        let proof = app
            .upload_proof(&editor, "document", ("fund_transaction", id(&f.arrival)))
            .await;
        let path = format!("/api/v1/evidence/{}", id(&proof));
        let (submitted, deleted) = tokio::join!(
            app.post_json("/api/v1/ledger-submissions", &editor, &body),
            async {
                tokio::time::sleep(std::time::Duration::from_millis(round * 3)).await;
                app.delete(&path, &editor, Some(1)).await
            },
        );
        let (submit_status, submission) = parts(submitted).await;
        let delete_status = deleted.status().as_u16();
        *outcomes
            .entry((submit_status.as_u16(), delete_status))
            .or_insert(0) += 1;
        if submit_status == StatusCode::CREATED {
            let (_, snapshot) = parts(
                app.get(
                    &format!("/api/v1/ledger-submissions/{}/snapshot", id(&submission)),
                    &editor,
                )
                .await,
            )
            .await;
            for e in snapshot["evidence"].as_array().cloned().unwrap_or_default() {
                let content = app
                    .get(&format!("/api/v1/evidence/{}/content", id(&e)), &editor)
                    .await;
                assert_eq!(
                    content.status(),
                    StatusCode::OK,
                    "submission {} lists evidence {} that is gone ({outcomes:?})",
                    id(&submission),
                    id(&e)
                );
            }
        } else {
            assert_eq!(submit_status, StatusCode::CONFLICT, "{submission}");
            assert_eq!(submission["code"], "changed_while_submitting");
        }
        assert!(
            matches!(delete_status, 204 | 409),
            "delete answered {delete_status}"
        );
    }
    // (submission status, deletion status) → rounds: which side won how often.
    eprintln!("outcomes: {outcomes:?}");
}
