//! Test harness: `spawn_app()` starts the real server on port 0 over a fresh database — SQLite
//! in memory by default, a fresh PostgreSQL database when `TEST_DATABASE_URL` is set (dropped
//! when the `TestApp` is dropped) — migrated and seeded through the same code as `serve`.

use std::{
    collections::HashMap,
    net::TcpListener,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use uuid::Uuid;
use xiezuo::{
    auth::ActorKind,
    config::{Config, LogFormat, Secret},
    domain::Role,
    service::AppCtx,
};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

pub struct TestApp {
    /// Organization ids by code, as seeded.
    orgs: HashMap<String, Uuid>,
    /// The user behind `token(role, org)`: one per role and seeded organization (and none).
    users: HashMap<(Role, Option<Uuid>), Uuid>,
    pub address: String,
    pub client: reqwest::Client,
    pub ctx: AppCtx,
    pub config: Config,
    /// SQL statements the server has run so far (see `statements_during`).
    pub sql_statements: Arc<AtomicUsize>,
    pg: Option<PgDatabase>,
}

struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let Some(pg) = self.pg.take() else { return };
        // Drop runs inside the test's runtime: clean up on a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(db) = Database::connect(pg.admin_url.as_str()).await {
                    let _ = db
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                            pg.name
                        ))
                        .await;
                    let _ = db.close().await;
                }
            });
        })
        .join();
    }
}

pub fn base_config(database_url: String) -> Config {
    Config {
        bind: "127.0.0.1:0".into(),
        database_url: Some(database_url),
        // Each app its own, so that a test can count the evidence files its app left.
        data_dir: std::env::temp_dir()
            .join("xiezuo-tests")
            .join(Uuid::new_v4().simple().to_string()),
        admin_password: None,
        admin_password_hash: Some(Secret::new(admin_password_hash())),
        jwt_secret: Some(Secret::new(JWT_SECRET)),
        jwt_issuer: "xiezuo".into(),
        jwt_audience: "xiezuo-api".into(),
        token_ttl_seconds: 900,
        db_max_connections: Some(8),
        log_format: LogFormat::Text,
        max_body_bytes: 64 * 1024,
        graphiql_assets_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../graphiql/node_modules"),
        graphiql_assets_url: None,
        cors_origins: Vec::new(),
        body_timeout_seconds: 30,
        // Tests drive many requests from one address; the limit has its own test.
        rate_limit_per_second: 0,
        rate_limit_burst: 0,
        seed_on_start: true,
        demo_on_start: false,
        evidence_max_bytes: 64 * 1024 * 1024,
        s3_bucket: None,
        s3_endpoint: None,
        s3_region: "us-east-1".into(),
        // The deliverer's queries would show in the statement counts; the webhook tests turn
        // it on.
        webhooks_enabled: false,
        webhook_allow_private: false,
        webhook_poll_ms: 50,
        webhook_retry_base_ms: 200,
        webhook_max_attempts: 10,
        sync_batch_max: 1_000,
        import_max_bytes: 32 * 1024 * 1024,
        reconcile_window_days: 15,
    }
}

/// The hash of [`ADMIN_PASSWORD`], made once per test process: every app's first admin gets
/// it through `XIEZUO_ADMIN_PASSWORD_HASH`, so that starting an app costs no argon2 run (the
/// largest part of a small test's time before).
fn admin_password_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        use argon2::password_hash::PasswordHasher;
        argon2::Argon2::default()
            .hash_password(ADMIN_PASSWORD.as_bytes())
            .expect("hash the admin password")
            .to_string()
    })
    .clone()
}

/// A fresh database URL, and the PostgreSQL database to drop afterwards if any.
async fn fresh_database() -> (String, Option<PgDatabase>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.trim().is_empty() => {
            let name = format!("xiezuo_test_{}", Uuid::new_v4().simple());
            let admin = Database::connect(admin_url.as_str())
                .await
                .expect("TEST_DATABASE_URL is not reachable");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("cannot create a test database");
            let _ = admin.close().await;
            // postgres://user@host:port/dbname?params → same URL naming the new database.
            let (without_query, query) = match admin_url.split_once('?') {
                Some((u, q)) => (u.to_string(), format!("?{q}")),
                None => (admin_url.clone(), String::new()),
            };
            let scheme_end = without_query.find("://").map_or(0, |i| i + 3);
            let base = match without_query[scheme_end..].find('/') {
                Some(i) => without_query[..scheme_end + i].to_string(),
                None => without_query.clone(),
            };
            (
                format!("{base}/{name}{query}"),
                Some(PgDatabase { admin_url, name }),
            )
        }
        _ => ("sqlite::memory:".to_string(), None),
    }
}

/// `XIEZUO_TEST_S3_ENDPOINT`: run the tests with evidence files in an S3-compatible store at
/// this URL (CI starts moto's server), each app in a bucket of its own.
pub fn s3_endpoint() -> Option<String> {
    std::env::var("XIEZUO_TEST_S3_ENDPOINT")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// The tests' HTTP client. It drops a pooled connection after 2 s idle, before the server's
/// keep-alive (5 s) closes it: a request sent on a connection the server is closing at that
/// moment fails with `IncompleteMessage` (seen once, on a loaded machine).
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap_or_else(|e| panic!("the test HTTP client: {e}"))
}

async fn new_bucket(endpoint: &str) -> String {
    let bucket = format!("xiezuo-test-{}", Uuid::new_v4().simple());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("the S3 endpoint is not reachable");
    assert!(
        response.status().is_success(),
        "creating bucket {bucket}: {}",
        response.status()
    );
    bucket
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with a chance to change the configuration first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        xiezuo::telemetry::init(LogFormat::Text);
    }
    let (url, pg) = fresh_database().await;
    let mut config = base_config(url);
    adjust(&mut config);
    if let Some(endpoint) = s3_endpoint() {
        config.s3_endpoint = Some(endpoint.clone());
        config.s3_bucket = Some(new_bucket(&endpoint).await);
    }
    let mut ctx = xiezuo::startup::prepare(config.clone())
        .await
        .expect("prepare failed");
    let sql_statements = Arc::new(AtomicUsize::new(0));
    let counter = sql_statements.clone();
    ctx.db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = xiezuo::startup::run(listener, ctx.clone()).expect("server");
    tokio::spawn(server);
    let orgs = {
        use sea_orm::EntityTrait;
        entity::organization::Entity::find()
            .all(&ctx.db)
            .await
            .expect("organizations")
            .into_iter()
            .map(|o| (o.code, o.id))
            .collect()
    };
    let users = fixture_users(&ctx, &orgs).await;
    settle_directory(&ctx).await;
    TestApp {
        orgs,
        users,
        address: format!("http://127.0.0.1:{port}"),
        client: http_client(),
        ctx,
        config,
        sql_statements,
        pg,
    }
}

/// The record version an ETag names. Every tag the service sends is `"<version>-<16 hex>"`
/// (the version, then a digest of the representation); anything else fails the test.
pub fn etag_version(response: &Response) -> i32 {
    let tag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let inner = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or_default();
    let (version, digest) = inner.split_once('-').unwrap_or_default();
    assert!(
        digest.len() == 16 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "not a representation tag: {tag:?}"
    );
    version
        .parse()
        .unwrap_or_else(|_| panic!("no version in {tag:?}"))
}

/// The response status and JSON body (Null when the body is empty or not JSON).
pub async fn parts(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

impl TestApp {
    /// A second instance of the service over the same database, as a replica behind a load
    /// balancer would be. It shares this app's fixture users and leaves the database to it.
    pub async fn spawn_replica(&self) -> TestApp {
        self.spawn_replica_with(|_| {}).await
    }

    /// Like `spawn_replica`, with a chance to change the replica's configuration first.
    pub async fn spawn_replica_with(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.config.clone();
        adjust(&mut config);
        let ctx = xiezuo::startup::prepare(config.clone())
            .await
            .expect("prepare failed");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = xiezuo::startup::run(listener, ctx.clone()).expect("server");
        tokio::spawn(server);
        settle_directory(&ctx).await;
        TestApp {
            orgs: self.orgs.clone(),
            users: self.users.clone(),
            address: format!("http://127.0.0.1:{port}"),
            client: http_client(),
            ctx,
            config,
            sql_statements: Arc::new(AtomicUsize::new(0)),
            pg: None,
        }
    }

    /// Runs `work` and returns its result with the number of SQL statements the server ran
    /// meanwhile. Only meaningful while nothing else talks to this app.
    pub async fn statements_during<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> (T, usize) {
        let before = self.sql_statements.load(Ordering::SeqCst);
        let out = work.await;
        (out, self.sql_statements.load(Ordering::SeqCst) - before)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(t) => builder.bearer_auth(t),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .send()
            .await
            .expect("request failed")
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(token))
            .json(body)
            .send()
            .await
            .expect("request failed")
    }

    pub async fn patch_json(
        &self,
        path: &str,
        token: &str,
        if_match: Option<i32>,
        body: &Value,
    ) -> Response {
        // `None` overwrites whatever is stored, as `If-Match: *` says; without any If-Match
        // the service answers 428.
        let condition = if_match.map_or("*".to_string(), |v| format!("\"{v}\""));
        self.request(Method::PATCH, path, Some(token))
            .json(body)
            .header("If-Match", condition)
            .send()
            .await
            .expect("request failed")
    }

    pub async fn delete(&self, path: &str, token: &str, if_match: Option<i32>) -> Response {
        let condition = if_match.map_or("*".to_string(), |v| format!("\"{v}\""));
        self.request(Method::DELETE, path, Some(token))
            .header("If-Match", condition)
            .send()
            .await
            .expect("request failed")
    }

    /// POST /graphql; returns the whole response body (`data`, `errors`).
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self
            .post_json(
                "/graphql",
                token,
                &json!({"query": query, "variables": variables}),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "GraphQL transport status"
        );
        response.json().await.expect("GraphQL body")
    }

    /// A token for a user with `role` in the organization with `org_code`, signed with the test
    /// key. The user exists (see `fixture_users`): the service checks every token's account.
    pub fn token(&self, role: Role, org_code: Option<&str>) -> String {
        self.token_for_org(role, org_code.map(|c| self.seeded_org(c)))
    }

    pub fn admin_token(&self) -> String {
        self.token(Role::Admin, Some("520000"))
    }

    /// Logs in through the token endpoint (password grant, JSON).
    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/token"))
            .json(&json!({"grant_type": "password", "username": username, "password": password}))
            .send()
            .await
            .expect("request failed")
    }

    /// A seeded organization's id.
    pub fn seeded_org(&self, code: &str) -> Uuid {
        *self
            .orgs
            .get(code)
            .unwrap_or_else(|| panic!("no seeded organization {code}"))
    }

    /// A token for the fixture user of `role` in a seeded organization (or none).
    pub fn token_for_org(&self, role: Role, org: Option<Uuid>) -> String {
        let user = self
            .fixture_user(role, org)
            .unwrap_or_else(|| panic!("no fixture user for {role:?} in {org:?}"));
        self.ctx
            .jwt
            .issue(
                user,
                ActorKind::User,
                role,
                org,
                xiezuo::auth::credential_stamp(FIXTURE_PASSWORD_HASH),
            )
            .expect("issue token")
    }

    /// The id of the user behind `token_for_org(role, org)`.
    pub fn fixture_user(&self, role: Role, org: Option<Uuid>) -> Option<Uuid> {
        self.users.get(&(role, org)).copied()
    }

    pub async fn org_id(&self, code: &str) -> Uuid {
        org_id(&self.ctx, code).await
    }

    /// Returns once a backend of this test's database waits for a lock (PostgreSQL): a request
    /// under way has reached a table another transaction holds. Fails after 10 s.
    pub async fn until_a_backend_waits_for_a_lock(&self) {
        use sea_orm::{DbBackend, Statement};
        let waiting = Statement::from_string(
            DbBackend::Postgres,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        for _ in 0..400 {
            let n: i64 = self
                .ctx
                .db
                .query_one_raw(waiting.clone())
                .await
                .ok()
                .flatten()
                .and_then(|row| row.try_get("", "n").ok())
                .unwrap_or_default();
            if n > 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("no backend waited for a lock");
    }

    /// The id of the pairing between two organizations, by code.
    pub async fn pairing_id(&self, east_code: &str, west_code: &str) -> Uuid {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let east = self.org_id(east_code).await;
        let west = self.org_id(west_code).await;
        entity_pairing::Entity::find()
            .filter(entity_pairing::Column::EastOrgId.eq(east))
            .filter(entity_pairing::Column::WestOrgId.eq(west))
            .one(&self.ctx.db)
            .await
            .expect("query")
            .expect("no such pairing")
            .id
    }
}

use entity::pairing as entity_pairing;

/// Waits until the directory cache holds a reading that no notification already sent will drop,
/// so that statement counts measure requests, not a reload. On PostgreSQL that means listening,
/// and having received a notification of our own (they arrive in commit order).
pub async fn settle_directory(ctx: &AppCtx) {
    use sea_orm::ConnectionTrait;
    if ctx.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        wait_until("the directory listener", || ctx.directory.is_trusted()).await;
        let mark = format!("settle-{}", Uuid::now_v7());
        ctx.db
            .execute_unprepared(&format!("NOTIFY xiezuo_directory, '{mark}'"))
            .await
            .expect("notify");
        wait_until("our notification", || {
            ctx.directory.last_notification().as_deref() == Some(mark.as_str())
        })
        .await;
    }
    ctx.directory.get(&ctx.db).await.expect("directory");
}

/// Polls `ok` every 5 ms; fails the test after 10 s.
pub async fn wait_until(what: &str, ok: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !ok() {
        assert!(start.elapsed().as_secs() < 10, "waited 10 s for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// One user per role and seeded organization (and per role without one), inserted in one
/// statement, so that tests can act as anyone. Their password hash is not a valid PHC string:
/// they hold tokens but cannot log in.
/// Not a PHC string: fixture users cannot log in, they get tokens from [`TestApp::token`].
pub const FIXTURE_PASSWORD_HASH: &str = "fixture-cannot-log-in";

async fn fixture_users(
    ctx: &AppCtx,
    orgs: &HashMap<String, Uuid>,
) -> HashMap<(Role, Option<Uuid>), Uuid> {
    use entity::user;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let at = chrono::Utc::now();
    let mut users = HashMap::new();
    let mut rows = Vec::new();
    let targets: Vec<(String, Option<Uuid>)> = orgs
        .iter()
        .map(|(code, id)| (code.clone(), Some(*id)))
        .chain([("none".to_string(), None)])
        .collect();
    for role in Role::ALL {
        for (code, org) in &targets {
            let id = Uuid::now_v7();
            users.insert((*role, *org), id);
            rows.push(user::ActiveModel {
                id: Set(id),
                username: Set(format!("fixture-{}-{code}", role.as_str())),
                password_hash: Set(FIXTURE_PASSWORD_HASH.into()),
                role: Set(role.as_str().into()),
                org_id: Set(*org),
                disabled: Set(false),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
                deleted_at: Set(None),
            });
        }
    }
    user::Entity::insert_many(rows)
        .exec(&ctx.db)
        .await
        .expect("fixture users");
    ctx.directory.invalidate();
    users
}

async fn org_id(ctx: &AppCtx, code: &str) -> Uuid {
    use entity::organization;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    organization::Entity::find()
        .filter(organization::Column::Code.eq(code))
        .one(&ctx.db)
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("no organization {code}"))
        .id
}

/// The repository's `schema/` directory.
pub fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("schema")
}

/// Problem+json checks shared by the error tests: content type, status, code.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (actual, body) = parts(response).await;
    assert_eq!(actual.as_u16(), status, "status; body: {body}");
    assert_eq!(
        content_type, "application/problem+json",
        "content type; body: {body}"
    );
    assert_eq!(body["code"], code, "code; body: {body}");
    assert_eq!(body["status"], status, "status in body");
    body
}

/// Guards a paging loop: each cursor must be new and the pages fewer than `bound`, so a paging
/// bug (a cursor that never advances) fails the test instead of hanging the suite.
pub struct Pages {
    seen: std::collections::HashSet<String>,
    bound: usize,
}

impl Pages {
    pub fn new(bound: usize) -> Self {
        Self {
            seen: std::collections::HashSet::new(),
            bound,
        }
    }

    /// The next cursor, checked; returns it for the next request.
    pub fn next(&mut self, cursor: &str) -> String {
        assert!(
            self.seen.insert(cursor.to_string()),
            "the cursor {cursor} came back: paging would never end"
        );
        assert!(
            self.seen.len() < self.bound,
            "more than {} pages: paging does not end",
            self.bound
        );
        cursor.to_string()
    }
}

/// A small file `category` takes: a PNG for photos, a PDF for the rest.
pub fn proof_bytes(category: &str) -> Vec<u8> {
    match category {
        "photo" => [b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".as_slice(), &[1u8; 64]].concat(),
        _ => [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".as_slice(), &[2u8; 64]].concat(),
    }
}

impl TestApp {
    /// Multipart uploads begun and neither completed nor aborted in this app's S3 bucket (0 on
    /// the local disk, whose store removes an unfinished upload's parts itself).
    pub async fn pending_s3_uploads(&self) -> usize {
        let (Some(endpoint), Some(bucket)) = (&self.config.s3_endpoint, &self.config.s3_bucket)
        else {
            return 0;
        };
        let listing = self
            .client
            .get(format!("{endpoint}/{bucket}?uploads"))
            .send()
            .await
            .expect("list multipart uploads")
            .text()
            .await
            .unwrap_or_default();
        listing.matches("<Upload>").count()
    }

    /// Uploads a small evidence file of `category` (a PDF, or a PNG for photos) linked to
    /// `record` (`(record_type, id)`) as `token`, and returns the created record.
    pub async fn upload_proof(&self, token: &str, category: &str, record: (&str, Uuid)) -> Value {
        self.upload_file(token, category, &[record], proof_bytes(category), "proof")
            .await
    }

    /// Uploads `bytes` as evidence of `category` named `file_name`, linked to `records`, as
    /// `token`, and returns the created record.
    pub async fn upload_file(
        &self,
        token: &str,
        category: &str,
        records: &[(&str, Uuid)],
        bytes: Vec<u8>,
        file_name: &str,
    ) -> Value {
        self.upload_evidence(token, category, records, bytes, file_name, None)
            .await
    }

    /// As [`TestApp::upload_file`], with the `external_id` part when one is given.
    pub async fn upload_evidence(
        &self,
        token: &str,
        category: &str,
        records: &[(&str, Uuid)],
        bytes: Vec<u8>,
        file_name: &str,
        external_id: Option<&str>,
    ) -> Value {
        let links: Vec<Value> = records
            .iter()
            .map(|(t, id)| json!({"record_type": t, "record_id": id}))
            .collect();
        let mut form = reqwest::multipart::Form::new()
            .text("category", category.to_string())
            .text("title", "印证资料（示例）")
            .text("links", Value::from(links).to_string());
        if let Some(external_id) = external_id {
            form = form.text("external_id", external_id.to_string());
        }
        let form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
        );
        let response = self
            .client
            .post(self.url("/api/v1/evidence"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("request failed");
        let (status, body) = parts(response).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// `n` live projects on `pairing`, written straight to the table (unique codes, so it may
    /// be called again); their ids, oldest first.
    pub async fn insert_projects(&self, pairing: Uuid, owner: Uuid, n: usize) -> Vec<Uuid> {
        use sea_orm::{ActiveValue::Set, EntityTrait};
        let at = chrono::Utc::now();
        let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        let rows: Vec<entity::project::ActiveModel> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| entity::project::ActiveModel {
                id: Set(*id),
                code: Set(format!("BULK-{i:05}-{}", id.simple())),
                year: Set(2019),
                title: Set(format!("项目{i}")),
                category: Set("other".into()),
                status: Set("proposed".into()),
                pairing_id: Set(pairing),
                basis: Set("依据".into()),
                items: Set(json!([])),
                quantity: Set(None),
                measures: Set("措施".into()),
                deep_poverty: Set(false),
                beneficiaries_planned: Set(0),
                beneficiaries_actual: Set(None),
                budget_fen: Set(0),
                responsible_contact_id: Set(None),
                start_on: Set(None),
                end_on: Set(None),
                milestones: Set(json!([])),
                version: Set(1),
                owner_org_id: Set(owner),
                external_id: Set(None),
                created_at: Set(at),
                updated_at: Set(at),
                deleted_at: Set(None),
            })
            .collect();
        for chunk in rows.chunks(500) {
            entity::project::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&self.ctx.db)
                .await
                .expect("insert projects");
        }
        ids
    }
}
