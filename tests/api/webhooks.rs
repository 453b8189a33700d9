//! Webhooks: the change feed pushed to a partner system's URL, signed, retried, kept in the
//! database; private URLs refused.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tests::{TestApp, assert_problem, parts, spawn_app_with};
use uuid::Uuid;
use xiezuo::{config::Config, domain::Role};

const SECRET: &str = "a-partner-systems-secret";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    delivery: String,
    signature: String,
    body: Vec<u8>,
}

/// A partner system's endpoint on a local port: keeps every request and answers with the
/// statuses queued (200 once the queue is empty).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(answers: &[u16]) -> (Self, String) {
        let receiver = Self::default();
        receiver
            .answers
            .lock()
            .unwrap_or_else(|e| panic!("{e}"))
            .extend(answers);
        let state = receiver.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .default_service(web::to(receive))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("{e}"));
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        (receiver, format!("http://127.0.0.1:{port}/xiezuo"))
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap_or_else(|e| panic!("{e}")).clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("waited 10 s for {n} deliveries; got {:?}", self.got());
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<Receiver>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    state
        .got
        .lock()
        .unwrap_or_else(|e| panic!("{e}"))
        .push(Received {
            delivery: header("x-xiezuo-delivery"),
            signature: header("x-xiezuo-signature"),
            body: body.to_vec(),
        });
    let status = state
        .answers
        .lock()
        .unwrap_or_else(|e| panic!("{e}"))
        .pop_front()
        .unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default()).finish()
}

/// HMAC-SHA256 (RFC 2104) written out here, so the test does not check the service's
/// signature with the service's own code.
fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `X-Xiezuo-Signature: t=<unix seconds>,v1=<hex>` against the body and the secret.
fn assert_signed(r: &Received) {
    let (t, v1) = r
        .signature
        .strip_prefix("t=")
        .and_then(|s| s.split_once(",v1="))
        .unwrap_or_else(|| panic!("signature header {:?}", r.signature));
    let t: i64 = t.parse().unwrap_or_else(|e| panic!("{e}"));
    assert!((chrono::Utc::now().timestamp() - t).abs() < 120, "t={t}");
    let mut message = format!("{t}.").into_bytes();
    message.extend(&r.body);
    assert_eq!(v1, hmac_sha256_hex(SECRET.as_bytes(), &message));
    assert!(Uuid::parse_str(&r.delivery).is_ok(), "{}", r.delivery);
}

fn body(r: &Received) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}"))
}

fn delivering(c: &mut Config) {
    c.webhooks_enabled = true;
    c.webhook_allow_private = true;
}

async fn subscribe(app: &TestApp, token: &str, url: &str, types: &[&str]) -> Value {
    let (status, hook) = parts(
        app.post_json(
            "/api/v1/webhooks",
            token,
            &json!({"url": url, "record_types": types, "secret": SECRET}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    assert!(hook.get("secret").is_none(), "{hook}");
    hook
}

async fn project(app: &TestApp, token: &str, code: &str, east: &str, west: &str) -> String {
    let body = json!({
        "code": code, "year": 2019, "title": "康复托养中心设备", "category": "care_facility",
        "pairing_id": app.pairing_id(east, west).await, "basis": "托养中心缺少康复设备",
        "measures": "东部资助采购，西部实施", "beneficiaries_planned": 120, "budget_fen": 50_000_000,
        "items": [{"name": "康复训练设备", "unit": "套", "quantity": 2, "unit_cost_fen": 25_000_000}]
    });
    let (status, created) = parts(app.post_json("/api/v1/projects", token, &body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_partner_gets_its_pairing_s_changes_signed_and_retried_until_they_land() {
    let app = spawn_app_with(delivering).await;
    // The partner system is down for the first attempt.
    let (receiver, url) = Receiver::start(&[503]).await;
    let shanghai = app.token(Role::Partner, Some("310000"));
    let hook = subscribe(&app, &shanghai, &url, &["project"]).await;
    let hook_path = format!(
        "/api/v1/webhooks/{}",
        hook["id"].as_str().unwrap_or_default()
    );

    let ours = project(
        &app,
        &app.token(Role::Editor, Some("520300")),
        "ZY-1",
        "310000",
        "520300",
    )
    .await;
    let _theirs = project(
        &app,
        &app.token(Role::Editor, Some("520600")),
        "TR-1",
        "320500",
        "520600",
    )
    .await;
    // A contact is not among the subscribed types.
    let zunyi = app.org_id("520300").await;
    let editor = app.token(Role::Editor, Some("520300"));
    let (status, _) = parts(
        app.post_json(
            "/api/v1/contacts",
            &editor,
            &json!({"org_id": zunyi, "name": "联络员（示例）"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let got = receiver.wait_for(2).await;
    for r in &got {
        assert_signed(r);
    }
    assert_eq!(
        got[0].delivery, got[1].delivery,
        "a retry is the same delivery"
    );
    assert_eq!(got[0].body, got[1].body);
    let change = body(&got[1]);
    assert_eq!(change["record_type"], "project");
    assert_eq!(change["record_id"], ours.as_str());
    assert_eq!(change["op"], "upsert");
    assert_eq!(change["version"], 1);
    assert_eq!(change["webhook_id"], hook["id"]);

    // Only that one change: 铜仁's project is not on 上海's pairing, the contact not subscribed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.got().len(), 2, "{:?}", receiver.got());

    // The log: one delivery, delivered at the second attempt.
    let (status, log) = parts(app.get(&format!("{hook_path}/deliveries"), &shanghai).await).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let items = log["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{log}");
    assert_eq!(items[0]["id"], got[0].delivery.as_str());
    assert_eq!(items[0]["status"], "delivered");
    assert_eq!(items[0]["attempts"], 2);
    assert_eq!(items[0]["last_status_code"], 200);

    // Sent again on request.
    let (status, resent) = parts(
        app.post_json(
            &format!("{hook_path}/deliveries/{}/resend", got[0].delivery),
            &shanghai,
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{resent}");
    let got = receiver.wait_for(3).await;
    assert_eq!(got[2].delivery, got[0].delivery);
    assert_signed(&got[2]);

    // Another organization sees none of it.
    let guangzhou = app.token(Role::Partner, Some("440100"));
    assert_problem(app.get(&hook_path, &guangzhou).await, 404, "not_found").await;
    assert_problem(
        app.get(&format!("{hook_path}/deliveries"), &guangzhou)
            .await,
        404,
        "not_found",
    )
    .await;
    let (_, theirs) = parts(app.get("/api/v1/webhooks", &guangzhou).await).await;
    assert_eq!(theirs["items"], json!([]));

    // Ended: nothing more is delivered.
    let response = app.delete(&hook_path, &shanghai, Some(1)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    project(
        &app,
        &app.token(Role::Editor, Some("520300")),
        "ZY-2",
        "310000",
        "520300",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.got().len(), 3);
}

/// A delivery is kept in the database: one made by a process that never sent it (it stopped)
/// is sent by the next process over the same database.
#[tokio::test]
async fn deliveries_survive_a_restart() {
    let file = std::env::temp_dir()
        .join("xiezuo-tests")
        .join(format!("{}.sqlite3", Uuid::now_v7().simple()));
    let first = spawn_app_with(|c| {
        if c.database_url.as_deref() == Some("sqlite::memory:") {
            let _ = std::fs::create_dir_all(file.parent().unwrap_or(&file));
            c.database_url = Some(format!("sqlite://{}?mode=rwc", file.display()));
        }
        c.webhook_allow_private = true;
    })
    .await;
    let (receiver, url) = Receiver::start(&[]).await;
    let shanghai = first.token(Role::Partner, Some("310000"));
    subscribe(&first, &shanghai, &url, &["project"]).await;
    let ours = project(
        &first,
        &first.token(Role::Editor, Some("520300")),
        "ZY-1",
        "310000",
        "520300",
    )
    .await;
    let made = xiezuo::service::webhooks::dispatch(&first.ctx)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(made, 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        receiver.got().is_empty(),
        "the first process does not deliver"
    );

    let _second = first
        .spawn_replica_with(|c| c.webhooks_enabled = true)
        .await;
    let got = receiver.wait_for(1).await;
    assert_signed(&got[0]);
    assert_eq!(body(&got[0])["record_id"], ours.as_str());
    let _ = std::fs::remove_file(&file);
}

/// Two replicas on one PostgreSQL database share the work and never send a delivery twice.
#[tokio::test]
async fn replicas_never_send_one_delivery_twice() {
    let app = spawn_app_with(delivering).await;
    if app.ctx.db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return; // An in-memory SQLite database belongs to one process.
    }
    let _replica = app.spawn_replica().await;
    let (receiver, url) = Receiver::start(&[]).await;
    let shanghai = app.token(Role::Partner, Some("310000"));
    subscribe(&app, &shanghai, &url, &["project"]).await;
    let editor = app.token(Role::Editor, Some("520300"));
    let mut made = HashSet::new();
    for i in 0..30 {
        made.insert(project(&app, &editor, &format!("ZY-{i}"), "310000", "520300").await);
    }
    receiver.wait_for(30).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = receiver.got();
    let mut per_delivery: HashMap<String, usize> = HashMap::new();
    for r in &got {
        *per_delivery.entry(r.delivery.clone()).or_default() += 1;
    }
    assert!(per_delivery.values().all(|n| *n == 1), "{per_delivery:?}");
    let records: HashSet<String> = got
        .iter()
        .filter_map(|r| body(r)["record_id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(records, made);
    assert_eq!(got.len(), 30);
}

/// A subscription speaks for its subscriber's account: while the account is disabled nothing is
/// delivered, and once it is enabled again the changes made meanwhile arrive.
#[tokio::test]
async fn a_disabled_subscriber_s_subscription_waits() {
    let app = spawn_app_with(delivering).await;
    let (receiver, url) = Receiver::start(&[]).await;
    let shanghai = app.token(Role::Partner, Some("310000"));
    subscribe(&app, &shanghai, &url, &["project"]).await;
    let user = app
        .fixture_user(Role::Partner, Some(app.seeded_org("310000")))
        .unwrap_or_else(|| panic!("no fixture partner"));
    let admin = app.admin_token();
    let set_disabled = |disabled: bool| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let response = app
                .patch_json(
                    &format!("/api/v1/users/{user}"),
                    &admin,
                    None,
                    &json!({ "disabled": disabled }),
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK);
        }
    };
    set_disabled(true).await;
    let zunyi = app.token(Role::Editor, Some("520300"));
    let made = project(&app, &zunyi, "ZY-W1", "310000", "520300").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.got().len(), 0, "delivered for a disabled account");

    set_disabled(false).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(body(&got[0])["record_id"], made.as_str());
}

#[tokio::test]
async fn private_urls_and_bad_subscriptions_are_refused() {
    let app = spawn_app_with(|_| {}).await;
    let shanghai = app.token(Role::Partner, Some("310000"));
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.7/hook",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
    ] {
        let problem = assert_problem(
            app.post_json(
                "/api/v1/webhooks",
                &shanghai,
                &json!({"url": url, "record_types": ["project"], "secret": SECRET}),
            )
            .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }
    let problem = assert_problem(
        app.post_json(
            "/api/v1/webhooks",
            &shanghai,
            &json!({"url": "ftp://example.org/", "record_types": ["user"], "secret": "short",
                    "org_id": app.org_id("520300").await}),
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
        ["org_id", "url", "record_types", "secret"],
        "{problem}"
    );
    // The auditor reads and writes nothing here.
    assert_problem(
        app.post_json(
            "/api/v1/webhooks",
            &app.token(Role::Auditor, None),
            &json!({"url": "https://8.8.8.8/", "record_types": ["project"], "secret": SECRET}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
}
