//! The read path as the users walk it: editors and partners, whose scope must be resolved, cost
//! the same SQL as the admin; the directory (scope, accounts) comes from memory and follows every
//! change at once, in this instance and in a replica on the same PostgreSQL; and writers on the
//! embedded SQLite take turns instead of failing.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, parts, spawn_app, spawn_app_with};
use uuid::Uuid;
use xiezuo::domain::Role;

const ROLES: [(Role, Option<&str>); 5] = [
    (Role::Admin, Some("520000")),
    (Role::Coordinator, Some("520000")),
    (Role::Editor, Some("520300")),
    (Role::Partner, Some("310000")),
    (Role::Auditor, None),
];

/// One record of each family, preferring those of 上海–遵义 (which both the 遵义 editor and the
/// 上海 partner may read).
async fn one_of_each(app: &TestApp) -> Vec<String> {
    let admin = app.admin_token();
    let zunyi = app.org_id("520300").await.to_string();
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let mut paths = vec![
        format!("/api/v1/organizations/{zunyi}"),
        format!("/api/v1/pairings/{pairing}"),
    ];
    for family in [
        "projects",
        "fund-transactions",
        "exchanges",
        "agreements",
        "contacts",
        "working-groups",
        "plans",
        "plan-tasks",
    ] {
        let (status, page) = parts(
            app.get(&format!("/api/v1/{family}?limit=500"), &admin)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{family}: {page}");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let ours = |v: &&Value| {
            v["pairing_id"] == json!(pairing)
                || v["owner_org_id"] == json!(zunyi)
                || v["org_id"] == json!(zunyi)
        };
        // A task that counts something, so that its progress is computed.
        let counted = |v: &&Value| family == "plan-tasks" && v["counts_record_type"].is_string();
        let item = items
            .iter()
            .find(counted)
            .or_else(|| items.iter().find(ours))
            .or(items.first())
            .unwrap_or_else(|| panic!("the demo ledger has no {family}"));
        let id = item["id"].as_str().expect("id");
        paths.push(format!("/api/v1/{family}/{id}"));
    }
    paths
}

#[tokio::test]
async fn get_by_id_costs_one_statement_for_every_role() {
    let app = spawn_app_with(|c| c.demo_on_start = true).await;
    let paths = one_of_each(&app).await;
    let mut costs = Vec::new();
    for (role, org) in ROLES {
        let token = app.token(role, org);
        for path in &paths {
            let (status, statements) = app
                .statements_during(async { app.get(path, &token).await.status() })
                .await;
            assert!(
                status == StatusCode::OK || status == StatusCode::NOT_FOUND,
                "{role:?} {path}: {status}"
            );
            if role == Role::Editor {
                assert_eq!(status, StatusCode::OK, "the 遵义 editor reads {path}");
            }
            costs.push((role, path.clone(), statements));
        }
    }
    // A plan is served with its tasks and their computed progress: the plan, its tasks, and one
    // statement that counts what every task counts. A task: itself, and that count.
    let allowed = |path: &str| {
        // The plan and its tasks, their target organizations, one counting statement.
        if path.starts_with("/api/v1/plans/") {
            4
        } else if path.starts_with("/api/v1/plan-tasks/") {
            3
        } else {
            1
        }
    };
    let over: Vec<_> = costs
        .iter()
        .filter(|(_, path, n)| *n > allowed(path) || *n == 0)
        .collect();
    assert!(
        over.is_empty(),
        "GETs over their statement budget: {over:#?}"
    );
}

#[tokio::test]
async fn a_list_page_costs_at_most_two_statements_for_every_role() {
    let app = spawn_app_with(|c| c.demo_on_start = true).await;
    let mut costs = Vec::new();
    for (role, org) in ROLES {
        let token = app.token(role, org);
        for family in [
            "organizations",
            "pairings",
            "projects",
            "fund-transactions",
            "exchanges",
            "agreements",
            "contacts",
            "working-groups",
            "plans",
        ] {
            let path = format!("/api/v1/{family}?limit=50");
            let ((status, page), statements) = app
                .statements_during(async { parts(app.get(&path, &token).await).await })
                .await;
            assert_eq!(status, StatusCode::OK, "{role:?} {path}: {page}");
            costs.push((role, family, statements));
        }
    }
    let over: Vec<_> = costs.iter().filter(|(_, _, n)| *n > 2).collect();
    assert!(over.is_empty(), "list pages over 2 statements: {over:#?}");
}

/// Nested GraphQL costs the same at two sizes for the users, not only the admin.
#[tokio::test]
async fn nested_graphql_is_bounded_for_editors_and_partners() {
    let app = spawn_app_with(|c| c.demo_on_start = true).await;
    let query = "query($n: Int) { projects(first: $n) { edges { node { id title
        pairing { east { name } west { name } } fundTransactions { amountFen } } } } }";
    for (role, org) in [
        (Role::Editor, Some("520300")),
        (Role::Partner, Some("310000")),
    ] {
        let token = app.token(role, org);
        let mut costs = Vec::new();
        for n in [1, 3] {
            let (body, statements) = app
                .statements_during(app.gql(&token, query, json!({"n": n})))
                .await;
            assert!(body["errors"].is_null(), "{body}");
            let edges = body["data"]["projects"]["edges"].as_array().map(Vec::len);
            assert_eq!(edges, Some(n), "{role:?}: {body}");
            costs.push(statements);
        }
        assert_eq!(costs[0], costs[1], "{role:?}: statements for 1 and 3 rows");
        assert!(costs[1] <= 5, "{role:?}: {costs:?}");
    }
}

/// A partner's new pairing shows on its next request, with no SQL spent on its scope.
#[tokio::test]
async fn a_scope_change_is_visible_on_the_next_request() {
    let app = spawn_app().await;
    let partner = app.token(Role::Partner, Some("310000"));
    let tongren = app.org_id("520600").await;
    let path = format!("/api/v1/organizations/{tongren}");
    assert_eq!(
        app.get(&path, &partner).await.status(),
        StatusCode::NOT_FOUND
    );

    let pairing = add_pairing(&app, "310000", "520600").await;
    assert_eq!(app.get(&path, &partner).await.status(), StatusCode::OK);

    let (status, _) = parts(
        app.delete(
            &format!("/api/v1/pairings/{pairing}"),
            &app.admin_token(),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&path, &partner).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// The same through a second instance on the same PostgreSQL: the change made through one
/// replica reaches the other by `NOTIFY`, without a time-to-live.
#[tokio::test]
async fn a_scope_change_reaches_a_replica_on_the_same_postgresql() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("replicas share PostgreSQL only; set TEST_DATABASE_URL");
        return;
    }
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let partner = app.token(Role::Partner, Some("310000"));
    let tongren = app.org_id("520600").await;
    let path = format!("/api/v1/organizations/{tongren}");
    // The replica has read (and cached) the directory before the change.
    assert_eq!(
        replica.get(&path, &partner).await.status(),
        StatusCode::NOT_FOUND
    );
    let (_, cached) = replica
        .statements_during(async { replica.get(&path, &partner).await.status() })
        .await;
    assert_eq!(cached, 0, "the replica's directory is cached");

    add_pairing(&app, "310000", "520600").await;
    let seen =
        eventually(|| async { replica.get(&path, &partner).await.status() == StatusCode::OK })
            .await;
    assert!(seen, "the replica never saw the new pairing");

    // A user disabled through the first instance is refused by the replica.
    let editor = app.token(Role::Editor, Some("520300"));
    assert_eq!(
        replica.get("/api/v1/projects", &editor).await.status(),
        StatusCode::OK
    );
    disable(
        &app,
        app.fixture_user(Role::Editor, Some(app.org_id("520300").await)),
    )
    .await;
    let refused = eventually(|| async {
        replica.get("/api/v1/projects", &editor).await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(refused, "the replica still serves a disabled user");
}

/// Disabling, demoting or deleting an account takes effect on the account's next request.
#[tokio::test]
async fn account_changes_apply_to_tokens_already_issued() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let zunyi = app.org_id("520300").await;
    let tongren = app.org_id("520600").await;

    let editor = app.token(Role::Editor, Some("520300"));
    assert_eq!(
        app.get("/api/v1/me", &editor).await.status(),
        StatusCode::OK
    );
    disable(&app, app.fixture_user(Role::Editor, Some(zunyi))).await;
    let (status, body) = parts(app.get("/api/v1/me", &editor).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "invalid_token");
    let gql = app
        .post_json(
            "/graphql",
            &editor,
            &json!({"query": "{ organizations { edges { cursor } } }"}),
        )
        .await;
    assert_eq!(gql.status(), StatusCode::UNAUTHORIZED);

    // A user moved from 遵义 to 铜仁 reads as 铜仁 from the next request on.
    let moved = app.token(Role::Editor, Some("520382"));
    let renhuai_user = app
        .fixture_user(Role::Editor, Some(app.org_id("520382").await))
        .expect("fixture");
    let zunyi_path = format!("/api/v1/organizations/{zunyi}");
    assert_eq!(app.get(&zunyi_path, &moved).await.status(), StatusCode::OK);
    let (status, body) = parts(
        app.patch_json(
            &format!("/api/v1/users/{renhuai_user}"),
            &admin,
            None,
            &json!({"org_id": tongren}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.get(&zunyi_path, &moved).await.status(),
        StatusCode::NOT_FOUND,
        "the token still reads as 仁怀"
    );

    // An admin demoted to editor can no longer create users.
    let other_admin = app.token(Role::Admin, None);
    let other_id = app.fixture_user(Role::Admin, None).expect("fixture");
    let (status, body) = parts(
        app.patch_json(
            &format!("/api/v1/users/{other_id}"),
            &admin,
            None,
            &json!({"role": "editor", "org_id": zunyi}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = parts(
        app.post_json(
            "/api/v1/users",
            &other_admin,
            &json!({"username": "second.admin", "password": "a-long-password-1", "role": "admin"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A deleted user's token is refused.
    let auditor = app.token(Role::Auditor, None);
    let auditor_id = app.fixture_user(Role::Auditor, None).expect("fixture");
    let (status, _) = parts(
        app.delete(&format!("/api/v1/users/{auditor_id}"), &admin, None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", &auditor).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// 32 clients writing at once to the embedded SQLite file: every write succeeds or loses its
/// `If-Match` race cleanly; none gets a 503 for a lock.
#[tokio::test]
async fn thirty_two_concurrent_writers_on_a_sqlite_file_wait_their_turn() {
    let dir = std::env::temp_dir().join(format!("xiezuo-writers-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.join("xiezuo.sqlite3").display());
    let app = spawn_app_with(|c| {
        c.database_url = Some(url);
        c.db_max_connections = Some(4);
    })
    .await;
    let editor = app.token(Role::Editor, Some("520300"));
    let partner = app.token(Role::Partner, Some("310000"));
    let pairing = app.pairing_id("310000", "520300").await;
    let (status, project) = parts(
        app.post_json(
            "/api/v1/projects",
            &editor,
            &json!({"code": "ZY-WRITERS", "year": 2019, "title": "并发写入", "category": "rehabilitation",
                    "pairing_id": pairing, "basis": "测试", "measures": "测试"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    let path = format!("/api/v1/projects/{}", project["id"].as_str().expect("id"));

    // 32 pledges created at once: all land.
    let creates = (0..32).map(|i| {
        let (app, partner) = (&app, partner.clone());
        let body = json!({"kind": "pledge", "amount_fen": 100 + i, "occurred_on": "2019-05-10",
                          "pairing_id": pairing, "project_id": project["id"],
                          "voucher_no": format!("SH-{i:03}")});
        async move {
            app.post_json("/api/v1/fund-transactions", &partner, &body)
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(creates).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );

    // 32 If-Match writers of one version: one wins, the rest get a clean 412.
    let patches = (0..32).map(|i| {
        let (app, editor, path) = (&app, editor.clone(), path.clone());
        async move {
            app.patch_json(
                &path,
                &editor,
                Some(1),
                &json!({"beneficiaries_planned": i}),
            )
            .await
            .status()
        }
    });
    let statuses = futures_util::future::join_all(patches).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let stale = statuses
        .iter()
        .filter(|s| **s == StatusCode::PRECONDITION_FAILED)
        .count();
    assert_eq!((ok, stale), (1, 31), "{statuses:?}");
    let (_, totals) = parts(app.get(&path, &editor).await).await;
    assert_eq!(totals["pledged_fen"], (0..32).map(|i| 100 + i).sum::<i64>());
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn add_pairing(app: &TestApp, east: &str, west: &str) -> String {
    let (status, body) = parts(
        app.post_json(
            "/api/v1/pairings",
            &app.admin_token(),
            &json!({"east_org_id": app.org_id(east).await, "west_org_id": app.org_id(west).await,
                    "level": "city_prefecture", "started_on": "2019-01-01"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_string()
}

async fn disable(app: &TestApp, user: Option<Uuid>) {
    let user = user.expect("fixture user");
    let (status, body) = parts(
        app.patch_json(
            &format!("/api/v1/users/{user}"),
            &app.admin_token(),
            None,
            &json!({"disabled": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Whether `check` holds within 2 s (a notification crossing between replicas takes
/// milliseconds; nothing here waits for a time-to-live).
async fn eventually<F, Fut>(check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(2) {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

/// A user another process inserted, which no notification announces (SQLite): its token is
/// refused while the directory reading is fresh — a stream of unknown tokens must not reload
/// it on every request — and accepted once the reading is a second old.
#[tokio::test]
async fn an_account_made_elsewhere_is_found_once_the_reading_is_a_second_old() {
    use entity::user;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let app = spawn_app().await;
    let zunyi = app.org_id("520300").await;
    // A fresh reading.
    app.ctx.directory.invalidate();
    assert_eq!(
        app.get("/api/v1/me", &app.admin_token()).await.status(),
        StatusCode::OK
    );
    let id = Uuid::now_v7();
    let at = chrono::Utc::now();
    user::Entity::insert(user::ActiveModel {
        id: Set(id),
        username: Set("made-elsewhere".into()),
        password_hash: Set(tests::FIXTURE_PASSWORD_HASH.into()),
        role: Set(Role::Editor.as_str().into()),
        org_id: Set(Some(zunyi)),
        disabled: Set(false),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    })
    .exec(&app.ctx.db)
    .await
    .expect("insert user");
    let token = app
        .ctx
        .jwt
        .issue(
            id,
            xiezuo::domain::ActorKind::User,
            Role::Editor,
            Some(zunyi),
            xiezuo::auth::credential_stamp(tests::FIXTURE_PASSWORD_HASH),
        )
        .expect("token");
    let sqlite = app.ctx.db.get_database_backend() == sea_orm::DbBackend::Sqlite;
    if sqlite {
        let started = std::time::Instant::now();
        let status = app.get("/api/v1/me", &token).await.status();
        // Only meaningful while the reading is younger than the reload interval.
        if started.elapsed() < std::time::Duration::from_millis(500) {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
    }
    // PostgreSQL announces the insert; SQLite finds it once the reading is a second old.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, me) = parts(app.get("/api/v1/me", &token).await).await;
    assert_eq!(status, StatusCode::OK, "{me}");
}
