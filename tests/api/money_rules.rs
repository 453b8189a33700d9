//! The money rules where they are easiest to get wrong: changing and deleting amounts already
//! spent, cancelled projects, and many clients spending at once.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app};
use xiezuo::domain::Role;

struct Ledger {
    zunyi: String,
    shanghai: String,
    pairing: String,
}

async fn ledger(app: &TestApp) -> Ledger {
    Ledger {
        zunyi: app.token(Role::Editor, Some("520300")),
        shanghai: app.token(Role::Partner, Some("310000")),
        pairing: app.pairing_id("310000", "520300").await.to_string(),
    }
}

async fn project(app: &TestApp, l: &Ledger, code: &str) -> String {
    let (status, body) = parts(
        app.post_json(
            "/api/v1/projects",
            &l.zunyi,
            &json!({"code": code, "year": 2019, "title": "康复设备", "category": "rehabilitation",
                    "pairing_id": l.pairing, "basis": "b", "measures": "m", "deep_poverty": false,
                    "beneficiaries_planned": 10, "budget_fen": 100_000, "items": [], "milestones": []}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_string()
}

async fn money(
    app: &TestApp,
    token: &str,
    kind: &str,
    amount: i64,
    pairing: &str,
    project: Option<&str>,
) -> (StatusCode, Value) {
    parts(
        app.post_json(
            "/api/v1/fund-transactions",
            token,
            &json!({"kind": kind, "amount_fen": amount, "occurred_on": "2019-05-10",
                    "pairing_id": pairing, "project_id": project}),
        )
        .await,
    )
    .await
}

async fn created(
    app: &TestApp,
    token: &str,
    kind: &str,
    amount: i64,
    pairing: &str,
    project: Option<&str>,
) -> String {
    let (status, body) = money(app, token, kind, amount, pairing, project).await;
    assert_eq!(status, StatusCode::CREATED, "{kind} {amount}: {body}");
    body["id"].as_str().expect("id").to_string()
}

async fn project_totals(app: &TestApp, token: &str, id: &str) -> (i64, i64) {
    let (_, p) = parts(app.get(&format!("/api/v1/projects/{id}"), token).await).await;
    (
        p["arrived_fen"].as_i64().unwrap_or(-1),
        p["spent_fen"].as_i64().unwrap_or(-1),
    )
}

/// An arrival already spent keeps its project whole: its note may change, but not its amount
/// below what was spent, nor its project, and it cannot be deleted. Money without a project is
/// held to the pairing's total the same way. A transaction nothing depends on is deleted.
#[tokio::test]
async fn amounts_already_spent_cannot_be_taken_back() {
    let app = spawn_app().await;
    let l = ledger(&app).await;
    let p = project(&app, &l, "MR-1").await;
    let arrival = created(&app, &l.zunyi, "arrival", 1000, &l.pairing, Some(&p)).await;
    created(&app, &l.zunyi, "expenditure", 600, &l.pairing, Some(&p)).await;
    let path = format!("/api/v1/fund-transactions/{arrival}");

    let response = app
        .patch_json(&path, &l.zunyi, None, &json!({"note": "凭证已归档"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "only the note changed");
    let body = assert_problem(
        app.patch_json(&path, &l.zunyi, None, &json!({"amount_fen": 599}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "amount_fen", "{body}");
    assert_eq!(
        app.patch_json(&path, &l.zunyi, None, &json!({"amount_fen": 600}))
            .await
            .status(),
        StatusCode::OK,
        "down to exactly what was spent is allowed"
    );
    let response = app
        .patch_json(&path, &l.zunyi, None, &json!({"project_id": null}))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "moved off a spent project"
    );
    assert_problem(app.delete(&path, &l.zunyi, None).await, 409, "in_use").await;
    assert_eq!(project_totals(&app, &l.zunyi, &p).await, (600, 600));

    // On the pairing alone, without a project; a second project shares the pairing.
    let other = project(&app, &l, "MR-2").await;
    let loose = created(&app, &l.zunyi, "arrival", 500, &l.pairing, None).await;
    created(&app, &l.zunyi, "expenditure", 400, &l.pairing, None).await;
    let loose_path = format!("/api/v1/fund-transactions/{loose}");
    let body = assert_problem(
        app.patch_json(&loose_path, &l.zunyi, None, &json!({"amount_fen": 399}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "amount_fen", "{body}");
    assert_problem(app.delete(&loose_path, &l.zunyi, None).await, 409, "in_use").await;
    // Moving the loose arrival onto the other project leaves the pairing whole: allowed.
    assert_eq!(
        app.patch_json(&loose_path, &l.zunyi, None, &json!({"project_id": other}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(project_totals(&app, &l.zunyi, &other).await, (500, 0));

    // A pledge nothing depends on is deleted, and the totals follow.
    let pledge = created(&app, &l.shanghai, "pledge", 700, &l.pairing, Some(&other)).await;
    let response = app
        .delete(
            &format!("/api/v1/fund-transactions/{pledge}"),
            &l.shanghai,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get(&format!("/api/v1/fund-transactions/{pledge}"), &l.shanghai)
            .await,
        404,
        "not_found",
    )
    .await;
    let (_, p2) = parts(
        app.get(&format!("/api/v1/projects/{other}"), &l.zunyi)
            .await,
    )
    .await;
    assert_eq!(p2["pledged_fen"], 0, "{p2}");
}

/// A cancelled project only gives money back: a refund is recorded, a pledge may be removed,
/// but no new pledge or spending is accepted.
/// A project's own money is checked on its own: with more money loose on the pairing, the
/// pairing's total would let an overspent project through, and the project's check must not.
/// A changed transaction counts once, at its new amount, and only on the project it is on.
#[tokio::test]
async fn a_project_is_held_to_its_own_money_when_the_pairing_has_more() {
    let app = spawn_app().await;
    let l = ledger(&app).await;
    let p = project(&app, &l, "MR-OWN").await;
    created(&app, &l.zunyi, "arrival", 5000, &l.pairing, None).await;
    let arrival = created(&app, &l.zunyi, "arrival", 1000, &l.pairing, Some(&p)).await;
    let spent = created(&app, &l.zunyi, "expenditure", 600, &l.pairing, Some(&p)).await;
    let arrival_path = format!("/api/v1/fund-transactions/{arrival}");
    let spent_path = format!("/api/v1/fund-transactions/{spent}");

    // Below what the project spent: refused, though the pairing holds plenty.
    let body = assert_problem(
        app.patch_json(&arrival_path, &l.zunyi, None, &json!({"amount_fen": 599}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "amount_fen", "{body}");
    // Raising the expenditure up to what arrived for the project: the old 600 is replaced, not
    // added to.
    let response = app
        .patch_json(&spent_path, &l.zunyi, None, &json!({"amount_fen": 1000}))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "600 → 1000, of 1000 arrived"
    );
    assert_eq!(project_totals(&app, &l.zunyi, &p).await, (1000, 1000));
    let body = assert_problem(
        app.patch_json(&spent_path, &l.zunyi, None, &json!({"amount_fen": 1001}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "amount_fen", "{body}");

    // Moved to a second project with nothing arrived: the old amount is not taken off the new
    // project's spending.
    let other = project(&app, &l, "MR-OWN-2").await;
    let body = assert_problem(
        app.patch_json(&spent_path, &l.zunyi, None, &json!({"project_id": other}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "amount_fen", "{body}");
    assert_eq!(project_totals(&app, &l.zunyi, &other).await, (0, 0));
}

#[tokio::test]
async fn a_cancelled_project_takes_refunds_and_loses_pledges() {
    let app = spawn_app().await;
    let l = ledger(&app).await;
    let p = project(&app, &l, "MR-C").await;
    let pledge = created(&app, &l.shanghai, "pledge", 900, &l.pairing, Some(&p)).await;
    created(&app, &l.zunyi, "arrival", 800, &l.pairing, Some(&p)).await;
    let response = app
        .patch_json(
            &format!("/api/v1/projects/{p}"),
            &l.zunyi,
            None,
            &json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let (status, body) = money(&app, &l.shanghai, "pledge", 100, &l.pairing, Some(&p)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "invalid_transition");
    let (status, body) = money(&app, &l.zunyi, "expenditure", 100, &l.pairing, Some(&p)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    created(&app, &l.zunyi, "refund", 800, &l.pairing, Some(&p)).await;
    let response = app
        .delete(
            &format!("/api/v1/fund-transactions/{pledge}"),
            &l.shanghai,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (_, body) = parts(app.get(&format!("/api/v1/projects/{p}"), &l.zunyi).await).await;
    assert_eq!(
        (&body["pledged_fen"], &body["refunded_fen"]),
        (&json!(0), &json!(800)),
        "{body}"
    );
}

/// Thirty-two clients spend 100 fen each, at once, from a project that received 1,000: exactly
/// ten succeed and the rest are refused, on SQLite (writers take turns) and on PostgreSQL (the
/// project's and the pairing's rows are locked while the rule is checked).
#[tokio::test]
async fn concurrent_spending_never_exceeds_what_arrived() {
    let app = spawn_app().await;
    let l = ledger(&app).await;
    // Three rounds: a race that slips through once in a while is still caught.
    for round in 0..3 {
        let p = project(&app, &l, &format!("MR-X{round}")).await;
        created(&app, &l.zunyi, "arrival", 1000, &l.pairing, Some(&p)).await;
        let attempts =
            (0..32).map(|_| money(&app, &l.zunyi, "expenditure", 100, &l.pairing, Some(&p)));
        let results = join_all(attempts).await;
        for (status, body) in &results {
            assert!(
                *status == StatusCode::CREATED || *status == StatusCode::UNPROCESSABLE_ENTITY,
                "{status}: {body}"
            );
        }
        let ok = results
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count();
        assert_eq!(ok, 10, "round {round}: {results:?}");
        assert_eq!(project_totals(&app, &l.zunyi, &p).await, (1000, 1000));
    }
}
