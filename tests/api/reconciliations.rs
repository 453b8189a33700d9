//! Horizontal reconciliation, as the two sides use it: a pairing's quarter with a discrepancy
//! of every kind planted, found exactly (none missed, none invented); the lines answered by the
//! side that owns them, with their history; and nobody outside the pairing reading or running
//! anything.

use std::collections::{BTreeSet, HashMap};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app};
use xiezuo::domain::Role;

/// Syncs `items` of `family` and returns external id → record id.
async fn sync(app: &TestApp, token: &str, family: &str, items: Value) -> HashMap<String, String> {
    let (status, body) = parts(
        app.post_json(
            &format!("/api/v1/sync/{family}"),
            token,
            &json!({ "items": items }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["external_id"].as_str().unwrap_or_default().to_string(),
                r["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn money(
    id: &str,
    kind: &str,
    amount: i64,
    on: &str,
    voucher: Option<&str>,
    pairing: &str,
) -> Value {
    json!({"external_id": id, "kind": kind, "amount_fen": amount, "occurred_on": on,
           "pairing_id": pairing, "voucher_no": voucher})
}

/// The planted quarter (2021 Q2 on 上海–遵义) and the ids of its records by external id.
struct Planted {
    pairing: String,
    ids: HashMap<String, String>,
    shanghai: String,
    zunyi: String,
}

async fn plant(app: &TestApp) -> Planted {
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let p = pairing.as_str();
    let shanghai = app.token(Role::Partner, Some("310000"));
    let zunyi = app.token(Role::Editor, Some("520300"));
    let east = json!([
        money("E1", "transfer", 100_000, "2021-04-10", Some("V-001"), p),
        money("E2", "transfer", 200_000, "2021-04-12", Some("V-002"), p),
        money("E3", "transfer", 50_000, "2021-05-01", Some("V-003"), p),
        money("E4", "transfer", 30_000, "2021-05-10", None, p),
        money("E5", "transfer", 70_000, "2021-06-01", None, p),
        money("E6", "transfer", 80_000, "2021-06-10", Some("V-006"), p),
        // One voucher number on two transfers: they pair with the arrivals in date order.
        money("E7a", "transfer", 10_000, "2021-04-20", Some("V-007"), p),
        money("E7b", "transfer", 12_000, "2021-04-25", Some("V-007"), p),
        // Its arrival falls in the next quarter.
        money("E8", "transfer", 40_000, "2021-06-29", None, p),
        // Deleted below: its arrival stands alone.
        money("E9", "transfer", 90_000, "2021-05-05", Some("V-009"), p),
        // Two transfers and two arrivals a day apart: each arrival after its own transfer.
        money("Ec1", "transfer", 5_000, "2021-04-01", None, p),
        money("Ec2", "transfer", 5_000, "2021-04-03", None, p),
        // Outside what is compared: before the quarter, and a pledge with a shared voucher.
        money("E100", "transfer", 100, "2021-03-31", Some("V-100"), p),
        money("P1", "pledge", 100_000, "2021-04-10", Some("V-001"), p),
    ]);
    let mut ids = sync(app, &shanghai, "fund_transaction", east).await;
    let west = json!([
        money("W1", "arrival", 100_000, "2021-04-11", Some("V-001"), p),
        money("W2", "arrival", 200_000, "2021-04-13", Some("V-002"), p),
        money("W3", "arrival", 49_000, "2021-05-02", Some("V-003"), p),
        money("W4", "arrival", 30_000, "2021-05-20", Some("X-9"), p),
        money("W5", "arrival", 70_000, "2021-06-25", None, p),
        money("W7a", "arrival", 10_000, "2021-04-21", Some("V-007"), p),
        money("W7b", "arrival", 12_000, "2021-04-26", Some("V-007"), p),
        money("W8", "arrival", 40_000, "2021-07-03", None, p),
        money("W9", "arrival", 90_000, "2021-05-06", Some("V-009"), p),
        money("Wc1", "arrival", 5_000, "2021-04-02", None, p),
        money("Wc2", "arrival", 5_000, "2021-04-04", None, p),
        money("W100", "arrival", 100, "2021-04-02", Some("V-100"), p),
    ]);
    ids.extend(sync(app, &zunyi, "fund_transaction", west).await);
    let e9 = format!("/api/v1/fund-transactions/{}", ids["E9"]);
    assert_eq!(
        app.delete(&e9, &shanghai, Some(1)).await.status(),
        StatusCode::NO_CONTENT
    );

    let (zunyi_org, shanghai_org) = (app.org_id("520300").await, app.org_id("310000").await);
    let exchange = |id: &str, kind: &str, direction: &str, start: &str, end: &str| {
        let (host, visiting) = match direction {
            "east_to_west" => (zunyi_org, shanghai_org),
            _ => (shanghai_org, zunyi_org),
        };
        json!({"external_id": id, "kind": kind, "direction": direction, "pairing_id": p,
               "host_org_id": host, "visiting_org_ids": [visiting], "start_on": start,
               "end_on": end, "leaders_present": [], "participants": 6, "summary": null})
    };
    ids.extend(
        sync(
            app,
            &shanghai,
            "exchange",
            json!([
                exchange(
                    "XE1",
                    "inspection_visit",
                    "east_to_west",
                    "2021-04-08",
                    "2021-04-10"
                ),
                exchange(
                    "XE2",
                    "training",
                    "west_to_east",
                    "2021-06-01",
                    "2021-06-03"
                ),
            ]),
        )
        .await,
    );
    ids.extend(
        sync(
            app,
            &zunyi,
            "exchange",
            json!([
                exchange(
                    "XW1",
                    "inspection_visit",
                    "east_to_west",
                    "2021-04-09",
                    "2021-04-10"
                ),
                exchange(
                    "XW2",
                    "joint_meeting",
                    "east_to_west",
                    "2021-05-15",
                    "2021-05-15"
                ),
            ]),
        )
        .await,
    );
    Planted {
        pairing,
        ids,
        shanghai,
        zunyi,
    }
}

async fn reconcile(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    parts(app.post_json("/api/v1/reconciliations", token, &body).await).await
}

/// Every line of a report, through the pages.
async fn all_lines(app: &TestApp, token: &str, id: &str, filter: &str) -> Vec<Value> {
    lines_in_pages(app, token, id, 4, filter).await
}

/// Every line of a report, through pages of `limit`.
async fn lines_in_pages(
    app: &TestApp,
    token: &str,
    id: &str,
    limit: u32,
    filter: &str,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        assert!(out.len() < 1000, "the pages do not end: {out:#?}");
        let path = format!("/api/v1/reconciliations/{id}/lines?limit={limit}{filter}{cursor}");
        let (status, page) = parts(app.get(&path, token).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        out.extend(page["items"].as_array().into_iter().flatten().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return out,
        }
    }
}

/// A line as `(record_type, status, rule, east external id, west external id)`.
fn shape(
    line: &Value,
    names: &HashMap<String, String>,
) -> (String, String, String, String, String) {
    let name = |v: &Value| {
        v.as_str()
            .and_then(|id| names.get(id))
            .cloned()
            .unwrap_or_default()
    };
    (
        line["record_type"].as_str().unwrap_or_default().into(),
        line["status"].as_str().unwrap_or_default().into(),
        line["rule"].as_str().unwrap_or_default().into(),
        name(&line["east_record_id"]),
        name(&line["west_record_id"]),
    )
}

fn expected(
    lines: &[(&str, &str, &str, &str, &str)],
) -> BTreeSet<(String, String, String, String, String)> {
    lines
        .iter()
        .map(|(t, s, r, e, w)| {
            (
                t.to_string(),
                s.to_string(),
                r.to_string(),
                e.to_string(),
                w.to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_planted_quarter_is_reconciled_exactly() {
    let app = spawn_app().await;
    let planted = plant(&app).await;
    let names: HashMap<String, String> = planted
        .ids
        .iter()
        .map(|(ext, id)| (id.clone(), ext.clone()))
        .collect();
    let (status, report) = reconcile(
        &app,
        &planted.shanghai,
        json!({"kind": "horizontal", "pairing_id": planted.pairing, "year": 2021, "quarter": 2}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    assert_eq!(report["window_days"], 15);
    let id = report["id"].as_str().unwrap_or_default().to_string();
    let lines = all_lines(&app, &planted.zunyi, &id, "").await;
    let found: BTreeSet<_> = lines.iter().map(|l| shape(l, &names)).collect();
    let f = "fund_transaction";
    let x = "exchange";
    assert_eq!(
        found,
        expected(&[
            (f, "amount_mismatch", "voucher", "E3", "W3"),
            (f, "east_only", "", "E5", ""),
            (f, "east_only", "", "E6", ""),
            (f, "east_only", "", "E8", ""),
            (f, "west_only", "", "", "W5"),
            (f, "west_only", "", "", "W9"),
            (f, "west_only", "", "", "W100"),
            (f, "matched", "voucher", "E1", "W1"),
            (f, "matched", "voucher", "E2", "W2"),
            (f, "matched", "voucher", "E7a", "W7a"),
            (f, "matched", "voucher", "E7b", "W7b"),
            (f, "matched", "amount_date", "E4", "W4"),
            (f, "matched", "amount_date", "Ec1", "Wc1"),
            (f, "matched", "amount_date", "Ec2", "Wc2"),
            (x, "matched", "dates", "XE1", "XW1"),
            (x, "east_only", "", "XE2", ""),
            (x, "west_only", "", "", "XW2"),
        ])
    );
    assert_eq!(lines.len(), 17, "no line twice");
    assert_eq!(report["line_count"], 17);

    // Numbered 1.. in order: money before exchanges, discrepancies first.
    let numbers: Vec<i64> = lines.iter().filter_map(|l| l["line_no"].as_i64()).collect();
    assert_eq!(numbers, (1..=17).collect::<Vec<i64>>());
    let rank = |l: &Value| {
        let t = usize::from(l["record_type"] == "exchange");
        let s = ["amount_mismatch", "east_only", "west_only", "matched"]
            .iter()
            .position(|s| l["status"] == *s)
            .unwrap_or(9);
        (t, s)
    };
    assert!(
        lines.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
        "{lines:#?}"
    );
    // Each line carries both amounts, dates and the voucher.
    let mismatch = &lines[0];
    assert_eq!(mismatch["east_amount_fen"], 50_000);
    assert_eq!(mismatch["west_amount_fen"], 49_000);
    assert_eq!(mismatch["voucher_no"], "V-003");
    assert_eq!(mismatch["east_on"], "2021-05-01");
    assert_eq!(mismatch["west_on"], "2021-05-02");
    assert_eq!(mismatch["resolution"], "open");

    // Totals per side and per status.
    let totals = &report["totals"];
    assert_eq!(totals["east"]["fund_transactions"], 11);
    assert_eq!(totals["west"]["fund_transactions"], 11);
    let east_fen = 100_000
        + 200_000
        + 50_000
        + 30_000
        + 70_000
        + 80_000
        + 10_000
        + 12_000
        + 40_000
        + 5_000
        + 5_000;
    let west_fen = 100_000
        + 200_000
        + 49_000
        + 30_000
        + 70_000
        + 10_000
        + 12_000
        + 90_000
        + 5_000
        + 5_000
        + 100;
    assert_eq!(totals["east"]["amount_fen"], east_fen);
    assert_eq!(totals["west"]["amount_fen"], west_fen);
    assert_eq!(totals["difference_fen"], east_fen - west_fen);
    assert_eq!(totals["east"]["exchanges"], 2);
    assert_eq!(totals["west"]["exchanges"], 2);
    let by_status: Vec<(String, String, i64, i64, i64)> = totals["by_status"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["record_type"].as_str().unwrap_or_default().into(),
                s["status"].as_str().unwrap_or_default().into(),
                s["lines"].as_i64().unwrap_or(-1),
                s["east_amount_fen"].as_i64().unwrap_or(-1),
                s["west_amount_fen"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let row = |t: &str, s: &str, n: i64, e: i64, w: i64| (t.to_string(), s.to_string(), n, e, w);
    assert_eq!(
        by_status,
        vec![
            row(f, "amount_mismatch", 1, 50_000, 49_000),
            row(f, "east_only", 3, 190_000, 0),
            row(f, "west_only", 3, 0, 160_100),
            row(f, "matched", 7, 362_000, 362_000),
            row(x, "east_only", 1, 0, 0),
            row(x, "west_only", 1, 0, 0),
            row(x, "matched", 1, 0, 0),
        ]
    );

    // Filters: one status, one record type; the report reads back as it was stored.
    let east_only = all_lines(&app, &planted.shanghai, &id, "&status=east_only").await;
    assert_eq!(east_only.len(), 4);
    let exchanges = all_lines(&app, &planted.shanghai, &id, "&record_type=exchange").await;
    assert_eq!(exchanges.len(), 3);
    let (status, again) = parts(
        app.get(&format!("/api/v1/reconciliations/{id}"), &planted.zunyi)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, report);

    // A wider window pairs E5 and W5 (24 days apart); the whole year adds E8 and W8 (and
    // E100 with W100 by voucher).
    let (status, wide) = reconcile(
        &app,
        &planted.zunyi,
        json!({"kind": "horizontal", "pairing_id": planted.pairing, "year": 2021, "quarter": 2,
               "window_days": 30}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{wide}");
    let wide_id = wide["id"].as_str().unwrap_or_default();
    let wide_lines = all_lines(&app, &planted.zunyi, wide_id, "").await;
    let found: BTreeSet<_> = wide_lines.iter().map(|l| shape(l, &names)).collect();
    assert!(found.contains(&(
        f.into(),
        "matched".into(),
        "amount_date".into(),
        "E5".into(),
        "W5".into()
    )));
    assert_eq!(wide_lines.len(), 16);
    let (status, year) = reconcile(
        &app,
        &planted.zunyi,
        json!({"kind": "horizontal", "pairing_id": planted.pairing, "year": 2021}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{year}");
    let year_id = year["id"].as_str().unwrap_or_default();
    let found: BTreeSet<_> = all_lines(&app, &planted.zunyi, year_id, "&status=matched")
        .await
        .iter()
        .map(|l| shape(l, &names))
        .collect();
    assert!(found.contains(&(
        f.into(),
        "matched".into(),
        "amount_date".into(),
        "E8".into(),
        "W8".into()
    )));
    assert!(found.contains(&(
        f.into(),
        "matched".into(),
        "voucher".into(),
        "E100".into(),
        "W100".into()
    )));
    assert_eq!(year["quarter"], Value::Null);

    // A quarter with nothing recorded: a report with no lines and nothing in its totals.
    let (status, empty) = reconcile(
        &app,
        &planted.zunyi,
        json!({"kind": "horizontal", "pairing_id": planted.pairing, "year": 2021, "quarter": 4}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{empty}");
    assert_eq!(empty["line_count"], 0, "{empty}");
    assert_eq!(empty["totals"]["by_status"], json!([]), "{empty}");
    assert_eq!(empty["totals"]["difference_fen"], 0, "{empty}");
    let empty_id = empty["id"].as_str().unwrap_or_default();
    assert!(
        all_lines(&app, &planted.zunyi, empty_id, "")
            .await
            .is_empty()
    );
    assert_problem(
        app.get(
            &format!("/api/v1/reconciliations/{empty_id}/lines/1"),
            &planted.zunyi,
        )
        .await,
        404,
        "not_found",
    )
    .await;

    // The list finds the four reports of the pairing.
    let (_, list) = parts(
        app.get(
            &format!("/api/v1/reconciliations?pairing_id={}", planted.pairing),
            &planted.shanghai,
        )
        .await,
    )
    .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(4), "{list}");
}

/// A quarter whose voucher numbers are each on at most one record of a side that the other
/// side also has (the common case, which the service pairs with a plain join and no ranking):
/// the same lines as the ranked pairing finds, numbered discrepancies first, then the pairs
/// found by amount and date, then the voucher pairs that agree, and an exchange after the money.
/// A number repeated on one side only pairs with nothing, so it needs no ranking either.
#[tokio::test]
async fn without_repeated_vouchers_the_plain_join_finds_the_same_lines() {
    let app = spawn_app().await;
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let p = pairing.as_str();
    let shanghai = app.token(Role::Partner, Some("310000"));
    let zunyi = app.token(Role::Editor, Some("520300"));
    let mut ids = sync(
        &app,
        &shanghai,
        "fund_transaction",
        json!([
            money("E1", "transfer", 100_000, "2021-07-05", Some("V-1"), p),
            money("E2", "transfer", 200_000, "2021-07-01", Some("V-2"), p),
            money("E3", "transfer", 300_000, "2021-08-01", Some("V-3"), p),
            money("E5", "transfer", 70_000, "2021-09-01", None, p),
            // One number on two transfers, none on the arrivals.
            money("E6a", "transfer", 61_000, "2021-07-20", Some("V-6"), p),
            money("E6b", "transfer", 62_000, "2021-07-10", Some("V-6"), p),
            money("E7", "transfer", 7_000, "2021-07-02", Some("V-7"), p),
        ]),
    )
    .await;
    ids.extend(
        sync(
            &app,
            &zunyi,
            "fund_transaction",
            json!([
                money("W1", "arrival", 100_000, "2021-07-06", Some("V-1"), p),
                money("W2", "arrival", 199_000, "2021-07-02", Some("V-2"), p),
                money("W4", "arrival", 40_000, "2021-08-15", Some("V-4"), p),
                money("W5", "arrival", 70_000, "2021-09-03", None, p),
                money("W7", "arrival", 7_000, "2021-07-03", Some("V-7"), p),
            ]),
        )
        .await,
    );
    let exchange = json!([{"external_id": "X1", "kind": "training", "direction": "west_to_east",
        "pairing_id": p, "host_org_id": app.org_id("310000").await,
        "visiting_org_ids": [app.org_id("520300").await], "start_on": "2021-07-01",
        "end_on": "2021-07-02", "leaders_present": [], "participants": 3, "summary": null}]);
    ids.extend(sync(&app, &shanghai, "exchange", exchange).await);
    let names: HashMap<String, String> = ids.into_iter().map(|(e, id)| (id, e)).collect();

    let (status, report) = reconcile(
        &app,
        &shanghai,
        json!({"kind": "horizontal", "pairing_id": pairing, "year": 2021, "quarter": 3}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    let id = report["id"].as_str().unwrap_or_default().to_string();
    let lines = all_lines(&app, &zunyi, &id, "").await;
    let shapes: Vec<_> = lines.iter().map(|l| shape(l, &names)).collect();
    let f = "fund_transaction";
    let owned = |l: &[(&str, &str, &str, &str, &str)]| expected(l).into_iter().collect::<Vec<_>>();
    let in_order = [
        (f, "amount_mismatch", "voucher", "E2", "W2"),
        (f, "east_only", "", "E6b", ""),
        (f, "east_only", "", "E6a", ""),
        (f, "east_only", "", "E3", ""),
        (f, "west_only", "", "", "W4"),
        (f, "matched", "amount_date", "E5", "W5"),
    ];
    let discrepancies_then_by_date: Vec<_> = in_order.iter().flat_map(|l| owned(&[*l])).collect();
    assert_eq!(shapes[..6], discrepancies_then_by_date[..], "{lines:#?}");
    // The voucher pairs that agree come next, in the order they formed; the exchange last.
    assert_eq!(
        shapes[6..8].iter().cloned().collect::<BTreeSet<_>>(),
        expected(&[
            (f, "matched", "voucher", "E1", "W1"),
            (f, "matched", "voucher", "E7", "W7"),
        ])
    );
    assert_eq!(
        shapes[8..],
        owned(&[("exchange", "east_only", "", "X1", "")])[..]
    );
    let numbers: Vec<i64> = lines.iter().filter_map(|l| l["line_no"].as_i64()).collect();
    assert_eq!(numbers, (1..=9).collect::<Vec<i64>>());
    assert_eq!(report["line_count"], 9);
    let matched = &lines[6];
    assert_eq!(matched["east_amount_fen"], matched["west_amount_fen"]);
    assert!(
        matched["voucher_no"]
            .as_str()
            .is_some_and(|v| v.starts_with("V-"))
    );

    let totals = &report["totals"];
    assert_eq!(totals["east"]["fund_transactions"], 7);
    assert_eq!(totals["west"]["fund_transactions"], 5);
    assert_eq!(
        totals["east"]["amount_fen"],
        100_000 + 200_000 + 300_000 + 70_000 + 61_000 + 62_000 + 7_000
    );
    assert_eq!(
        totals["west"]["amount_fen"],
        100_000 + 199_000 + 40_000 + 70_000 + 7_000
    );
    let by_status: Vec<(String, i64)> = totals["by_status"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["record_type"] == f)
        .map(|s| {
            (
                s["status"].as_str().unwrap_or_default().to_string(),
                s["lines"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        by_status,
        [
            ("amount_mismatch".to_string(), 1),
            ("east_only".to_string(), 3),
            ("west_only".to_string(), 1),
            ("matched".to_string(), 3),
        ]
    );
}

#[tokio::test]
async fn each_side_answers_its_own_lines_and_outsiders_get_nothing() {
    let app = spawn_app().await;
    let planted = plant(&app).await;
    let body =
        json!({"kind": "horizontal", "pairing_id": planted.pairing, "year": 2021, "quarter": 2});

    // Outside the pairing: another city's partner, and the assessment team, run nothing.
    let suzhou = app.token(Role::Partner, Some("320500"));
    assert_problem(
        app.post_json("/api/v1/reconciliations", &suzhou, &body)
            .await,
        403,
        "forbidden",
    )
    .await;
    let auditor = app.token(Role::Auditor, None);
    assert_problem(
        app.post_json("/api/v1/reconciliations", &auditor, &body)
            .await,
        403,
        "forbidden",
    )
    .await;
    // Bad input names each field.
    let (status, problem) = reconcile(
        &app,
        &planted.zunyi,
        json!({"kind": "horizontal", "pairing_id": planted.pairing, "year": 1990, "quarter": 5,
               "window_days": -1}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields: BTreeSet<&str> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, BTreeSet::from(["year", "quarter", "window_days"]));

    let (status, report) = reconcile(&app, &planted.zunyi, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    let id = report["id"].as_str().unwrap_or_default().to_string();
    // Another city's partner reads neither the report nor its lines.
    let path = format!("/api/v1/reconciliations/{id}");
    assert_problem(app.get(&path, &suzhou).await, 404, "not_found").await;
    assert_problem(
        app.get(&format!("{path}/lines"), &suzhou).await,
        404,
        "not_found",
    )
    .await;
    let (_, list) = parts(app.get("/api/v1/reconciliations", &suzhou).await).await;
    assert_eq!(list["items"], json!([]));
    // The auditor reads it.
    assert_eq!(app.get(&path, &auditor).await.status(), StatusCode::OK);

    let lines = all_lines(&app, &planted.shanghai, &id, "").await;
    let line_of = |status: &str, side: &str, ext: &str| {
        lines
            .iter()
            .find(|l| {
                l["status"] == status && l[format!("{side}_record_id")] == planted.ids[ext].as_str()
            })
            .and_then(|l| l["line_no"].as_i64())
            .unwrap_or_else(|| panic!("no {status} line of {ext}"))
    };
    let e6 = line_of("east_only", "east", "E6");
    let w5 = line_of("west_only", "west", "W5");
    let mismatch = line_of("amount_mismatch", "east", "E3");
    let steps = |n: i64| format!("{path}/lines/{n}/steps");

    // The west does not answer for the east's transfer, nor an outsider for anything.
    let explain = json!({"action": "explain", "note": "汇款在途，7月到账"});
    assert_problem(
        app.post_json(&steps(e6), &planted.zunyi, &explain).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post_json(&steps(e6), &suzhou, &explain).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.post_json(&steps(w5), &planted.shanghai, &explain).await,
        403,
        "forbidden",
    )
    .await;
    // Explaining needs a note.
    let problem = assert_problem(
        app.post_json(&steps(e6), &planted.shanghai, &json!({"action": "explain"}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "note", "{problem}");

    let (status, line) = parts(app.post_json(&steps(e6), &planted.shanghai, &explain).await).await;
    assert_eq!(status, StatusCode::OK, "{line}");
    assert_eq!(line["resolution"], "explained");
    assert_eq!(line["note"], "汇款在途，7月到账");
    assert_eq!(line["version"], 2);
    // The west answers its own arrival.
    let (status, line) = parts(
        app.post_json(
            &steps(w5),
            &planted.zunyi,
            &json!({"action": "resolve", "note": "已与上海核实"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{line}");
    assert_eq!(line["resolution"], "resolved");

    // A mismatch belongs to both sides: the east explains, the west resolves with the version
    // it read; a stale version loses; resolving twice is refused.
    let (status, _) = parts(
        app.post_json(
            &steps(mismatch),
            &planted.shanghai,
            &json!({"action": "explain", "note": "手续费1000元"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let stale = app
        .request(
            reqwest::Method::POST,
            &steps(mismatch),
            Some(&planted.zunyi),
        )
        .header("If-Match", "\"1\"")
        .json(&json!({"action": "resolve"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(stale, 412, "precondition_failed").await;
    let fresh = app
        .request(
            reqwest::Method::POST,
            &steps(mismatch),
            Some(&planted.zunyi),
        )
        .header("If-Match", "\"2\"")
        .json(&json!({"action": "resolve"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, line) = parts(fresh).await;
    assert_eq!(status, StatusCode::OK, "{line}");
    assert_eq!(line["resolution"], "resolved");
    assert_eq!(
        line["note"], "手续费1000元",
        "resolving without a note keeps the explanation"
    );
    assert_problem(
        app.post_json(
            &steps(mismatch),
            &planted.zunyi,
            &json!({"action": "resolve"}),
        )
        .await,
        409,
        "invalid_transition",
    )
    .await;
    let (status, line) = parts(
        app.post_json(
            &steps(mismatch),
            &planted.shanghai,
            &json!({"action": "reopen", "note": "复核"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{line}");
    assert_eq!(line["resolution"], "open");

    // The history keeps every step, oldest first, with who took it.
    let (status, history) = parts(
        app.get(&format!("{path}/lines/{mismatch}/history"), &planted.zunyi)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let actions: Vec<(&str, Option<&str>, Option<&str>)> = history
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default(),
                e["note"].as_str(),
                e["actor_org_id"].as_str(),
            )
        })
        .collect();
    let (shanghai_org, zunyi_org) = (
        app.org_id("310000").await.to_string(),
        app.org_id("520300").await.to_string(),
    );
    assert_eq!(
        actions,
        vec![
            ("explain", Some("手续费1000元"), Some(shanghai_org.as_str())),
            ("resolve", None, Some(zunyi_org.as_str())),
            ("reopen", Some("复核"), Some(shanghai_org.as_str())),
        ]
    );
    // The line's filter by resolution finds the two answered lines.
    let explained = all_lines(&app, &planted.zunyi, &id, "&resolution=explained").await;
    assert_eq!(explained.len(), 1);
    let resolved = all_lines(&app, &planted.zunyi, &id, "&resolution=resolved").await;
    assert_eq!(resolved.len(), 1);
}

/// The numbers and resolutions of `lines`.
fn numbered(lines: &[Value]) -> Vec<(i64, String)> {
    lines
        .iter()
        .map(|l| {
            (
                l["line_no"].as_i64().unwrap_or_default(),
                l["resolution"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The voucher pairs that agree are kept apart from the other lines and numbered among them; a
/// pair a side answers takes its own place, once, in every read: the list in pages of any size,
/// each filter, the line itself, its history and its version.
#[tokio::test]
async fn an_answered_voucher_pair_keeps_its_place_among_the_lines() {
    let app = spawn_app().await;
    let planted = plant(&app).await;
    let body =
        json!({"kind": "horizontal", "pairing_id": planted.pairing, "year": 2021, "quarter": 2});
    let (status, report) = reconcile(&app, &planted.zunyi, body).await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    let id = report["id"].as_str().unwrap_or_default().to_string();
    let path = format!("/api/v1/reconciliations/{id}/lines");

    let before = all_lines(&app, &planted.zunyi, &id, "").await;
    assert_eq!(numbered(&before).len(), 17);
    assert_eq!(
        before
            .iter()
            .filter_map(|l| l["line_no"].as_i64())
            .collect::<Vec<_>>(),
        (1..=17).collect::<Vec<_>>()
    );
    // V-001, V-002 and the two V-007: four voucher pairs, one stretch of numbers, after the
    // other money lines and before the exchanges.
    let pairs: Vec<i64> = before
        .iter()
        .filter(|l| l["rule"] == "voucher" && l["status"] == "matched")
        .filter_map(|l| l["line_no"].as_i64())
        .collect();
    assert_eq!(pairs.len(), 4, "{before:#?}");
    assert!(pairs.windows(2).all(|w| w[1] == w[0] + 1), "{pairs:?}");
    let after_pairs = &before[usize::try_from(pairs[3]).unwrap_or_default()..];
    assert!(
        !after_pairs.is_empty() && after_pairs.iter().all(|l| l["record_type"] == "exchange"),
        "{before:#?}"
    );
    // Every page size reads the same lines.
    for limit in [1, 2, 3, 100] {
        let paged = lines_in_pages(&app, &planted.zunyi, &id, limit, "").await;
        assert_eq!(numbered(&paged), numbered(&before), "limit {limit}");
    }

    // A pair no side answered reads as a line; numbers outside the report do not.
    let (status, first) = parts(
        app.get(&format!("{path}/{}", pairs[0]), &planted.zunyi)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        first,
        before[usize::try_from(pairs[0] - 1).unwrap_or_default()]
    );
    assert_eq!(first["version"], 1);
    for n in [0, 18] {
        assert_problem(
            app.get(&format!("{path}/{n}"), &planted.zunyi).await,
            404,
            "not_found",
        )
        .await;
    }

    // The west explains the second pair; a stale version then loses.
    let second = pairs[1];
    let step = |token: &str, n: i64, body: Value| {
        let path = format!("{path}/{n}/steps");
        let token = token.to_string();
        let app = &app;
        async move { parts(app.post_json(&path, &token, &body).await).await }
    };
    let (status, line) = step(
        &planted.zunyi,
        second,
        json!({"action": "explain", "note": "同一凭证分两次入账"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{line}");
    assert_eq!(
        (
            &line["line_no"],
            &line["resolution"],
            &line["version"],
            &line["rule"]
        ),
        (
            &json!(second),
            &json!("explained"),
            &json!(2),
            &json!("voucher")
        )
    );
    let stale = app
        .request(
            reqwest::Method::POST,
            &format!("{path}/{second}/steps"),
            Some(&planted.zunyi),
        )
        .header("If-Match", "\"1\"")
        .json(&json!({"action": "resolve"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_problem(stale, 412, "precondition_failed").await;
    let (status, read) = parts(app.get(&format!("{path}/{second}"), &planted.zunyi).await).await;
    assert_eq!((status, &read), (StatusCode::OK, &line));
    let (status, history) = parts(
        app.get(&format!("{path}/{second}/history"), &planted.shanghai)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");
    // The east resolves the third: two answered pairs side by side.
    let third = pairs[2];
    let (status, line) = step(
        &planted.shanghai,
        third,
        json!({"action": "resolve", "note": "已核对"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{line}");

    // Each line is read once, answered, in its place, whatever the page size.
    let expected: Vec<(i64, String)> = numbered(&before)
        .into_iter()
        .map(|(n, r)| match n {
            n if n == second => (n, "explained".into()),
            n if n == third => (n, "resolved".into()),
            _ => (n, r),
        })
        .collect();
    for limit in [1, 2, 4, 100] {
        let paged = lines_in_pages(&app, &planted.zunyi, &id, limit, "").await;
        assert_eq!(numbered(&paged), expected, "limit {limit}");
    }
    // A filter that leaves it out still reads every pair after it, before the exchanges.
    let open: Vec<(i64, String)> = expected
        .iter()
        .filter(|(n, _)| *n != second && *n != third)
        .cloned()
        .collect();
    for limit in [1, 2, 100] {
        let paged = lines_in_pages(&app, &planted.zunyi, &id, limit, "&resolution=open").await;
        assert_eq!(numbered(&paged), open, "limit {limit}");
    }
    let explained = all_lines(&app, &planted.zunyi, &id, "&resolution=explained").await;
    assert_eq!(
        numbered(&explained),
        vec![(second, "explained".to_string())]
    );
    let resolved = all_lines(&app, &planted.zunyi, &id, "&resolution=resolved").await;
    assert_eq!(numbered(&resolved), vec![(third, "resolved".to_string())]);
    let matched = lines_in_pages(&app, &planted.zunyi, &id, 1, "&status=matched").await;
    let matched_pairs: Vec<i64> = matched
        .iter()
        .filter(|l| l["rule"] == "voucher")
        .filter_map(|l| l["line_no"].as_i64())
        .collect();
    assert_eq!(matched_pairs, pairs);
    // The pairs are money lines, not exchanges.
    for (record_type, limit) in [("fund_transaction", 1), ("exchange", 2)] {
        let paged = lines_in_pages(
            &app,
            &planted.zunyi,
            &id,
            limit,
            &format!("&record_type={record_type}"),
        )
        .await;
        let want: Vec<(i64, String)> = before
            .iter()
            .zip(&expected)
            .filter(|(l, _)| l["record_type"] == record_type)
            .map(|(_, e)| e.clone())
            .collect();
        assert!(!want.is_empty());
        assert_eq!(numbered(&paged), want, "{record_type}");
    }
    // The pairs count in the totals once: the report's totals did not change.
    let (_, again) = parts(
        app.get(&format!("/api/v1/reconciliations/{id}"), &planted.zunyi)
            .await,
    )
    .await;
    assert_eq!(again["totals"], report["totals"]);
    assert_eq!(again["line_count"], 17);
}

/// A report describes the ledgers at one moment (PostgreSQL): a pair of records committed
/// while a run is under way is in none of its lines and none of its totals, although the run
/// reads the ledgers in several statements. The records are held back by a table lock until the
/// run is waiting for them, then committed.
#[tokio::test]
async fn a_report_reads_the_ledgers_as_they_were_when_it_began() {
    let app = spawn_app().await;
    if app.ctx.db.get_database_backend() != DbBackend::Postgres {
        // SQLite runs one write transaction at a time: nothing commits during a run.
        return;
    }
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let p = pairing.as_str();
    let shanghai = app.token(Role::Partner, Some("310000"));
    let zunyi = app.token(Role::Editor, Some("520300"));
    let e1 = money("E1", "transfer", 100_000, "2021-07-05", Some("V-1"), p);
    sync(&app, &shanghai, "fund_transaction", json!([e1])).await;
    let w1 = money("W1", "arrival", 100_000, "2021-07-06", Some("V-1"), p);
    sync(&app, &zunyi, "fund_transaction", json!([w1])).await;
    let body = json!({"kind": "horizontal", "pairing_id": pairing, "year": 2021, "quarter": 3});

    let late = app.ctx.db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let sql = |sql: String| Statement::from_string(DbBackend::Postgres, sql);
    late.execute_raw(sql(
        "LOCK TABLE fund_transactions IN ACCESS EXCLUSIVE MODE".into()
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let (shanghai_id, zunyi_id) = (app.org_id("310000").await, app.org_id("520300").await);
    for (owner, kind, side, on) in [
        (shanghai_id, "transfer", "east", "2021-07-10"),
        (zunyi_id, "arrival", "west", "2021-07-11"),
    ] {
        late.execute_raw(sql(format!(
            "INSERT INTO fund_transactions (id, version, owner_org_id, created_at, updated_at, \
             pairing_id, kind, side, amount_fen, occurred_on, voucher_no) VALUES \
             ('{}', 1, '{owner}', now(), now(), '{p}', '{kind}', '{side}', 50000, \
             DATE '{on}', 'V-2')",
            uuid::Uuid::now_v7()
        )))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let release = async {
        // The run has begun, and waits for the table.
        app.until_a_backend_waits_for_a_lock().await;
        late.commit().await.unwrap_or_else(|e| panic!("{e}"));
    };
    let ((status, report), ()) = tokio::join!(reconcile(&app, &shanghai, body.clone()), release);
    assert_eq!(status, StatusCode::CREATED, "{report}");
    let totals = &report["totals"];
    assert_eq!(report["line_count"], 1, "{report}");
    assert_eq!(totals["east"]["fund_transactions"], 1, "{totals}");
    assert_eq!(totals["west"]["fund_transactions"], 1, "{totals}");
    assert_eq!(totals["east"]["amount_fen"], 100_000, "{totals}");
    assert_eq!(totals["west"]["amount_fen"], 100_000, "{totals}");
    assert_eq!(
        totals["by_status"],
        json!([{"record_type": "fund_transaction", "status": "matched", "lines": 1,
                "east_amount_fen": 100_000, "west_amount_fen": 100_000}]),
    );
    let id = report["id"].as_str().unwrap_or_default();
    let lines = all_lines(&app, &shanghai, id, "").await;
    let vouchers: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["voucher_no"].as_str())
        .collect();
    assert_eq!(vouchers, ["V-1"], "{lines:?}");

    // The records committed meanwhile are there for the next run.
    let (status, next) = reconcile(&app, &shanghai, body).await;
    assert_eq!(status, StatusCode::CREATED, "{next}");
    assert_eq!(next["line_count"], 2, "{next}");
    assert_eq!(next["totals"]["east"]["amount_fen"], 150_000, "{next}");
}

/// On PostgreSQL a report's pairs are read from its own partition, by name. A report without
/// pairs (as every report made before the partitions were) may have none: its lines still read,
/// and a line number past them is 404, not an error about a missing table.
#[tokio::test]
async fn a_report_without_pairs_reads_without_its_partition() {
    let app = spawn_app().await;
    if app.ctx.db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let p = pairing.as_str();
    let shanghai = app.token(Role::Partner, Some("310000"));
    let e1 = money("E1", "transfer", 70_000, "2021-07-05", Some("V-9"), p);
    sync(&app, &shanghai, "fund_transaction", json!([e1])).await;
    let body = json!({"kind": "horizontal", "pairing_id": pairing, "year": 2021, "quarter": 3});
    let (status, report) = reconcile(&app, &shanghai, body).await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    assert_eq!(report["line_count"], 1, "{report}");
    let id = report["id"].as_str().unwrap_or_default();
    let simple = id.replace('-', "");
    app.ctx
        .db
        .execute_unprepared(&format!("DROP TABLE reconciliation_pairs_{simple}"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let lines = all_lines(&app, &shanghai, id, "").await;
    let statuses: Vec<&str> = lines.iter().filter_map(|l| l["status"].as_str()).collect();
    assert_eq!(statuses, ["east_only"], "{lines:?}");
    let (status, line) = parts(
        app.get(&format!("/api/v1/reconciliations/{id}/lines/1"), &shanghai)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{line}");
    for n in [0, 2, 3] {
        let path = format!("/api/v1/reconciliations/{id}/lines/{n}");
        assert_problem(app.get(&path, &shanghai).await, 404, "not_found").await;
    }
}

/// A page of pairs reads a stretch of `k` through the partition's BRIN index only when the
/// planner knows that `k` follows the rows' order; without statistics it scans the whole
/// partition (55 ms a page at a million pairs against 0.3 ms, `bench/reconcile.sh`). The run
/// leaves them, rather than waiting for autovacuum.
#[tokio::test]
async fn a_report_leaves_statistics_of_its_pairs() {
    let app = spawn_app().await;
    if app.ctx.db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let planted = plant(&app).await;
    let body =
        json!({"kind": "horizontal", "pairing_id": planted.pairing, "year": 2021, "quarter": 2});
    let (status, report) = reconcile(&app, &planted.shanghai, body).await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    let matched = report["totals"]["by_status"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["record_type"] == "fund_transaction" && s["status"] == "matched");
    assert!(
        matched.is_some_and(|s| s["lines"].as_i64() > Some(1)),
        "{report}"
    );
    let table = format!(
        "reconciliation_pairs_{}",
        report["id"].as_str().unwrap_or_default().replace('-', "")
    );
    let row = app
        .ctx
        .db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT CAST(correlation AS DOUBLE PRECISION) AS c FROM pg_stats \
             WHERE tablename = $1 AND attname = 'k'",
            [table.clone().into()],
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no statistics of {table}.k"));
    let correlation: f64 = row.try_get("", "c").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(correlation, 1.0, "{table}");
}

#[tokio::test]
async fn graphql_runs_and_reads_a_reconciliation() {
    let app = spawn_app().await;
    let planted = plant(&app).await;
    let run = app
        .gql(
            &planted.shanghai,
            "mutation($p: UUID!) { createReconciliation(input: {kind: horizontal, pairingId: $p, year: 2021, quarter: 2}) {
                id lineCount totals { difference_fen: differenceFen east { amountFen } }
                lines(first: 2, filter: {status: east_only}) { edges { cursor node { lineNo status eastAmountFen } } pageInfo { hasNextPage } }
            } }",
            json!({"p": planted.pairing}),
        )
        .await;
    assert_eq!(run["errors"], Value::Null, "{run}");
    let report = &run["data"]["createReconciliation"];
    assert_eq!(report["lineCount"], 17);
    let edges = report["lines"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edges.len(), 2);
    assert!(edges.iter().all(|e| e["node"]["status"] == "east_only"));
    assert_eq!(report["lines"]["pageInfo"]["hasNextPage"], true);
    // The next page continues after the cursor.
    let id = report["id"].as_str().unwrap_or_default();
    let after = edges[1]["cursor"].as_str().unwrap_or_default();
    let next = app
        .gql(
            &planted.zunyi,
            "query($id: UUID!, $after: String) { reconciliation(id: $id) {
                lines(first: 5, after: $after, filter: {status: east_only}) { edges { node { lineNo } } }
            } }",
            json!({"id": id, "after": after}),
        )
        .await;
    assert_eq!(next["errors"], Value::Null, "{next}");
    let rest = next["data"]["reconciliation"]["lines"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(rest.len(), 2, "four east-only lines in all: {next}");
    assert!(rest[0]["node"]["lineNo"].as_i64() > edges[1]["node"]["lineNo"].as_i64());

    // A step through GraphQL, and its history.
    let line_no = edges[0]["node"]["lineNo"].as_i64().unwrap_or_default();
    let step = app
        .gql(
            &planted.shanghai,
            "mutation($id: UUID!, $n: Int!) { stepReconciliationLine(reconciliationId: $id, lineNo: $n, input: {action: explain, note: \"在途\"}, expectedVersion: 1) { resolution version } }",
            json!({"id": id, "n": line_no}),
        )
        .await;
    assert_eq!(step["errors"], Value::Null, "{step}");
    assert_eq!(
        step["data"]["stepReconciliationLine"]["resolution"],
        "explained"
    );
    // The west may not explain the east's line: the same code as REST.
    let refused = app
        .gql(
            &planted.zunyi,
            "mutation($id: UUID!, $n: Int!) { stepReconciliationLine(reconciliationId: $id, lineNo: $n, input: {action: resolve}) { version } }",
            json!({"id": id, "n": line_no}),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "forbidden",
        "{refused}"
    );
    // Another city's partner sees no report.
    let outsider = app
        .gql(
            &app.token(Role::Partner, Some("320500")),
            "query($id: UUID!) { reconciliation(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        outsider["data"]["reconciliation"],
        Value::Null,
        "{outsider}"
    );
}

#[tokio::test]
async fn a_report_exports_as_csv_and_xlsx_and_reads_back() {
    use calamine::Reader;
    let app = spawn_app().await;
    let planted = plant(&app).await;
    let (status, report) = reconcile(
        &app,
        &planted.shanghai,
        json!({"kind": "horizontal", "pairing_id": planted.pairing, "year": 2021, "quarter": 2}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    let id = report["id"].as_str().unwrap_or_default().to_string();
    let lines = all_lines(&app, &planted.zunyi, &id, "").await;
    let path = format!("/api/v1/reconciliations/{id}/lines");
    let explain = json!({"action": "explain", "note": "手续费, \"银行\" 扣除"});
    let (status, _) = parts(
        app.post_json(&format!("{path}/1/steps"), &planted.shanghai, &explain)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // CSV: every line (the page size does not apply), Chinese headers and labels, yuan.
    let response = app
        .get(&format!("{path}?format=csv&limit=2"), &planted.zunyi)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/csv"),
        "{:?}",
        response.headers()
    );
    let bytes = response.bytes().await.unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8(bytes.to_vec()).unwrap_or_else(|e| panic!("{e}"));
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(headers[0], "行号");
    assert_eq!(headers[2], "状态");
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| {
            r.unwrap_or_else(|e| panic!("{e}"))
                .iter()
                .map(String::from)
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), lines.len());
    for (row, line) in rows.iter().zip(&lines) {
        assert_eq!(row[0], line["line_no"].to_string());
        assert_eq!(row[10], line["east_record_id"].as_str().unwrap_or_default());
        assert_eq!(row[11], line["west_record_id"].as_str().unwrap_or_default());
    }
    assert_eq!(
        rows[0][1..8],
        [
            "资金",
            "金额不符",
            "凭证号",
            "V-003",
            "500.00",
            "490.00",
            "10.00"
        ]
        .map(String::from)
    );
    assert_eq!(
        rows[0][12..14],
        ["已说明", "手续费, \"银行\" 扣除"].map(String::from)
    );
    // A filter keeps its lines only.
    let response = app
        .get(
            &format!("{path}?format=csv&status=east_only"),
            &planted.zunyi,
        )
        .await;
    let text = response.text().await.unwrap_or_default();
    assert_eq!(text.lines().count(), 5, "a header and four lines: {text}");
    assert!(
        text.lines().skip(1).all(|l| l.contains("仅东部有记录")),
        "{text}"
    );

    // XLSX: the summary and the lines.
    let response = app
        .get(&format!("{path}?format=xlsx"), &planted.shanghai)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.unwrap_or_else(|e| panic!("{e}"));
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec()))
            .unwrap_or_else(|e| panic!("a workbook: {e}"));
    assert_eq!(
        book.sheet_names(),
        vec!["汇总".to_string(), "对账明细".to_string()]
    );
    let sheet = book
        .worksheet_range("对账明细")
        .unwrap_or_else(|e| panic!("{e}"));
    let cells: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(cells.len(), lines.len() + 1);
    assert_eq!(cells[0][0], "行号");
    assert_eq!(cells[1][2], "金额不符");
    assert_eq!(sheet.get_value((1, 5)), Some(&calamine::Data::Float(500.0)));
    assert_eq!(sheet.get_value((1, 7)), Some(&calamine::Data::Float(10.0)));
    assert_eq!(cells[17][1], "交流互访");
    let summary = book
        .worksheet_range("汇总")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        summary.get_value((1, 1)),
        Some(&calamine::Data::String("2021年第2季度".into()))
    );
    assert_eq!(
        summary.get_value((3, 1)),
        Some(&calamine::Data::Float(11.0))
    );

    // Outside the pairing: nothing, in any format.
    let suzhou = app.token(Role::Partner, Some("320500"));
    assert_problem(
        app.get(&format!("{path}?format=xlsx"), &suzhou).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get(&format!("{path}?format=pdf"), &planted.zunyi).await,
        422,
        "validation_failed",
    )
    .await;
}
