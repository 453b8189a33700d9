//! The full round of an eastern partner's own system, through a service account as such a
//! system signs in: pull the change feed, push a batch, pull again and see exactly its own
//! writes, run a reconciliation of its pairing and read it, and be refused everything outside
//! its pairing.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{Pages, TestApp, parts, spawn_app};
use xiezuo::domain::Role;

/// A partner service account of `org_code`, signed in: its bearer token.
async fn partner_system(app: &TestApp, org_code: &str) -> String {
    let (status, created) = parts(
        app.post_json(
            "/api/v1/service-accounts",
            &app.admin_token(),
            &json!({"name": "东部残联数据同步", "role": "partner",
                    "org_id": app.org_id(org_code).await}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let response = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_id",
                created["client_id"].as_str().unwrap_or_default(),
            ),
            (
                "client_secret",
                created["client_secret"].as_str().unwrap_or_default(),
            ),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, token) = parts(response).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Every feed item after `after` (all when `None`), and the `next_after` to poll with next.
async fn pull(app: &TestApp, token: &str, after: Option<&str>) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut pages = Pages::new(1_000);
    let mut after = after.map(str::to_string);
    loop {
        let url = match &after {
            Some(a) => format!("/api/v1/changes?limit=500&after={a}"),
            None => "/api/v1/changes?limit=500".to_string(),
        };
        let (status, page) = parts(app.get(&url, token).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let next = page["next_after"].as_str().unwrap_or_default().to_string();
        let batch = page["items"].as_array().cloned().unwrap_or_default();
        if batch.is_empty() {
            return (items, next);
        }
        items.extend(batch);
        after = Some(pages.next(&next));
    }
}

fn transfer(external_id: &str, amount: i64, on: &str, voucher: &str, pairing: &str) -> Value {
    json!({"external_id": external_id, "kind": "transfer", "amount_fen": amount,
           "occurred_on": on, "voucher_no": voucher, "pairing_id": pairing})
}

#[tokio::test]
async fn a_partner_system_pulls_pushes_and_reconciles_its_pairing_and_nothing_else() {
    let app = spawn_app().await;
    let ours = app.pairing_id("310000", "520300").await.to_string();
    let theirs = app.pairing_id("440100", "520500").await.to_string();
    let zunyi = app.token(Role::Editor, Some("520300"));
    let bijie = app.token(Role::Editor, Some("520500"));
    // The other pairing has money of its own, which the partner must never see.
    let (status, foreign) = parts(
        app.post_json(
            "/api/v1/sync/fund_transaction",
            &bijie,
            &json!({"items": [{"external_id": "BJ-1", "kind": "arrival", "amount_fen": 777,
                               "occurred_on": "2019-07-01", "pairing_id": theirs}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{foreign}");
    let foreign_id = foreign["results"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let shanghai = partner_system(&app, "310000").await;

    // 1. Pull the feed from the beginning.
    let (first, after) = pull(&app, &shanghai, None).await;
    assert!(
        first.iter().all(|i| i["record_id"] != foreign_id.as_str()),
        "the feed carried another pairing's money"
    );

    // 2. Push a batch of transfers on its pairing.
    let batch = json!({"items": [
        transfer("SH-T1", 100_000, "2019-07-10", "SH-V1", &ours),
        transfer("SH-T2", 250_000, "2019-08-10", "SH-V2", &ours),
        transfer("SH-T3", 40_000, "2019-09-10", "SH-V3", &ours),
    ]});
    let (status, pushed) = parts(
        app.post_json("/api/v1/sync/fund_transaction", &shanghai, &batch)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pushed}");
    let mine: BTreeSet<String> = pushed["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            assert_eq!(r["result"], "created", "{pushed}");
            r["id"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(mine.len(), 3);

    // 3. Pull again: exactly its three records, as upserts; sending the batch again changes
    // nothing and adds nothing to the feed.
    let (second, after) = pull(&app, &shanghai, Some(&after)).await;
    let seen: BTreeSet<String> = second
        .iter()
        .map(|i| {
            assert_eq!(
                (i["op"].as_str(), i["record_type"].as_str()),
                (Some("upsert"), Some("fund_transaction")),
                "{i}"
            );
            i["record_id"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(seen, mine);
    let (_, again) = parts(
        app.post_json("/api/v1/sync/fund_transaction", &shanghai, &batch)
            .await,
    )
    .await;
    assert!(
        again["results"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|r| r["result"] == "unchanged"),
        "{again}"
    );
    let (third, after) = pull(&app, &shanghai, Some(&after)).await;
    assert!(third.is_empty(), "{third:?}");

    // The western side records two of the three arrivals, one with another amount.
    let (status, arrivals) = parts(
        app.post_json(
            "/api/v1/sync/fund_transaction",
            &zunyi,
            &json!({"items": [
                {"external_id": "ZY-A1", "kind": "arrival", "amount_fen": 100_000,
                 "occurred_on": "2019-07-12", "voucher_no": "SH-V1", "pairing_id": ours},
                {"external_id": "ZY-A2", "kind": "arrival", "amount_fen": 249_000,
                 "occurred_on": "2019-08-12", "voucher_no": "SH-V2", "pairing_id": ours},
            ]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{arrivals}");
    // The partner's feed shows the west's records of its pairing too.
    let (fourth, _) = pull(&app, &shanghai, Some(&after)).await;
    assert_eq!(fourth.len(), 2, "{fourth:?}");

    // 4. Reconcile its pairing's third quarter, and read the lines.
    let (status, report) = parts(
        app.post_json(
            "/api/v1/reconciliations",
            &shanghai,
            &json!({"kind": "horizontal", "pairing_id": ours, "year": 2019, "quarter": 3}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    let id = report["id"].as_str().unwrap_or_default();
    let (status, lines) = parts(
        app.get(
            &format!("/api/v1/reconciliations/{id}/lines?record_type=fund_transaction&limit=500"),
            &shanghai,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{lines}");
    let by_voucher = |v: &str| {
        lines["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["voucher_no"] == v)
            .map(|l| l["status"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(by_voucher("SH-V1").as_deref(), Some("matched"), "{lines}");
    assert_eq!(by_voucher("SH-V2").as_deref(), Some("amount_mismatch"));
    assert_eq!(by_voucher("SH-V3").as_deref(), Some("east_only"));

    // 5. Everything outside its pairing is refused.
    let (status, refused) = parts(
        app.post_json(
            "/api/v1/sync/fund_transaction",
            &shanghai,
            &json!({"items": [transfer("SH-X", 1, "2019-07-10", "X", &theirs)]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused.to_string().contains("pairing_id"), "{refused}");
    let response = app
        .post_json(
            "/api/v1/reconciliations",
            &shanghai,
            &json!({"kind": "horizontal", "pairing_id": theirs, "year": 2019, "quarter": 3}),
        )
        .await;
    assert!(
        [
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND,
            StatusCode::UNPROCESSABLE_ENTITY
        ]
        .contains(&response.status()),
        "{}",
        response.status()
    );
    let response = app
        .get(
            &format!("/api/v1/fund-transactions/{foreign_id}"),
            &shanghai,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (_, listed) = parts(
        app.get(
            &format!("/api/v1/fund-transactions?pairing_id={theirs}"),
            &shanghai,
        )
        .await,
    )
    .await;
    assert_eq!(listed["items"], json!([]), "{listed}");
    // Another pairing's reconciliation is not there for it.
    let (status, theirs_report) = parts(
        app.post_json(
            "/api/v1/reconciliations",
            &bijie,
            &json!({"kind": "horizontal", "pairing_id": theirs, "year": 2019, "quarter": 3}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{theirs_report}");
    let response = app
        .get(
            &format!(
                "/api/v1/reconciliations/{}",
                theirs_report["id"].as_str().unwrap_or_default()
            ),
            &shanghai,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (everything, _) = pull(&app, &shanghai, None).await;
    assert!(
        everything
            .iter()
            .all(|i| i["record_id"] != foreign_id.as_str()
                && i["record_id"] != theirs_report["id"]),
        "the feed carried what the partner may not read"
    );
}
