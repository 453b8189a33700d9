//! The change feed (`GET /api/v1/changes`, GraphQL `changes`): creates, updates and deletes of
//! what the caller may read, in an order a poller follows without ever skipping a change.

use std::collections::{HashMap, HashSet};

use reqwest::StatusCode;
use sea_orm::{DbBackend, TransactionTrait};
use serde_json::{Value, json};
use tests::{Pages, TestApp, assert_problem, parts, spawn_app};
use uuid::Uuid;
use xiezuo::{
    authz::RecordKind,
    domain::Role,
    service::changes::{self, Entry, Keys, Rule},
};

/// One poll: the items and the `next_after` to poll with next.
pub(crate) async fn poll(app: &TestApp, token: &str, query: &str) -> (Vec<Value>, String) {
    let url = format!("/api/v1/changes?{query}");
    let (status, page) = parts(app.get(&url, token).await).await;
    assert_eq!(status, StatusCode::OK, "{url}: {page}");
    let items = page["items"].as_array().cloned().unwrap_or_default();
    let next = page["next_after"]
        .as_str()
        .unwrap_or_else(|| panic!("no next_after in {page}"))
        .to_string();
    (items, next)
}

/// Polls from `after` (the beginning if `None`) until a poll brings nothing new: every item seen,
/// and where the next poll starts.
async fn drain(app: &TestApp, token: &str, after: Option<&str>) -> (Vec<Value>, String) {
    let mut seen = Vec::new();
    let mut pages = Pages::new(1_000);
    let mut after = after.map(str::to_string);
    loop {
        let query = match &after {
            Some(a) => format!("limit=100&after={a}"),
            None => "limit=100".to_string(),
        };
        let (items, next) = poll(app, token, &query).await;
        if items.is_empty() {
            if let Some(a) = &after {
                assert_eq!(&next, a, "an empty poll must hand back its own position");
            }
            return (seen, next);
        }
        seen.extend(items);
        after = Some(pages.next(&next));
    }
}

/// Where a poller that has read everything so far stands.
async fn end_of_feed(app: &TestApp, token: &str) -> String {
    drain(app, token, None).await.1
}

/// `(op, version)` of each item about `id`, in feed order.
pub(crate) fn history(items: &[Value], id: &str) -> Vec<(String, i64)> {
    items
        .iter()
        .filter(|i| i["record_id"] == id)
        .map(|i| {
            (
                i["op"].as_str().unwrap_or_default().to_string(),
                i["version"].as_i64().unwrap_or_default(),
            )
        })
        .collect()
}

fn ids(items: &[Value]) -> HashSet<String> {
    items
        .iter()
        .filter_map(|i| i["record_id"].as_str().map(str::to_string))
        .collect()
}

async fn create(app: &TestApp, token: &str, path: &str, body: &Value) -> Value {
    let (status, created) = parts(app.post_json(path, token, body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {created}");
    created
}

fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

fn project(code: &str, pairing: Uuid) -> Value {
    json!({
        "code": code, "year": 2019, "title": "康复托养中心设备", "category": "care_facility",
        "pairing_id": pairing, "basis": "托养中心缺少康复设备", "measures": "东部资助采购，西部实施",
        "beneficiaries_planned": 120, "budget_fen": 50_000_000,
        "items": [{"name": "康复训练设备", "unit": "套", "quantity": 2, "unit_cost_fen": 25_000_000}]
    })
}

#[tokio::test]
async fn the_feed_carries_creates_updates_and_deletes_in_order_with_tombstones() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let zunyi = app.org_id("520300").await;
    let start = end_of_feed(&app, &editor).await;

    let contact = create(
        &app,
        &editor,
        "/api/v1/contacts",
        &json!({"org_id": zunyi, "name": "台账责任人（示例）"}),
    )
    .await;
    let path = format!("/api/v1/contacts/{}", id_of(&contact));
    // A write that fails leaves nothing in the feed.
    assert_problem(
        app.patch_json(&path, &editor, Some(9), &json!({"title": "联络员"}))
            .await,
        412,
        "precondition_failed",
    )
    .await;
    let response = app
        .patch_json(&path, &editor, Some(1), &json!({"title": "联络员"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.delete(&path, &editor, Some(2)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let (items, end) = drain(&app, &editor, Some(&start)).await;
    let id = id_of(&contact);
    assert_eq!(
        history(&items, &id),
        [
            ("upsert".to_string(), 1),
            ("upsert".to_string(), 2),
            ("delete".to_string(), 3)
        ],
        "{items:?}"
    );
    assert!(items.iter().all(|i| i["record_type"] == "contact"));
    assert_eq!(items.len(), 3, "{items:?}");

    // Pages of one: the same changes, one at a time, each page's position after the last.
    let mut after = start.clone();
    let mut one_by_one = Vec::new();
    for _ in 0..3 {
        let (page, next) = poll(&app, &editor, &format!("limit=1&after={after}")).await;
        assert_eq!(page.len(), 1);
        one_by_one.extend(page);
        after = next;
    }
    assert_eq!(one_by_one, items);
    assert_eq!(after, end);
    assert!(
        poll(&app, &editor, &format!("after={end}"))
            .await
            .0
            .is_empty()
    );

    // GraphQL reads the same feed.
    let data = app
        .gql(
            &editor,
            "query($after: String) { changes(after: $after, limit: 10) { items { seq recordType recordId op version } nextAfter } }",
            json!({"after": start}),
        )
        .await;
    let feed = &data["data"]["changes"];
    assert_eq!(feed["nextAfter"], end.as_str(), "{data}");
    let gql_items = feed["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(gql_items.len(), 3, "{data}");
    for (g, r) in gql_items.iter().zip(&items) {
        assert_eq!(g["seq"], r["seq"]);
        assert_eq!(g["recordType"], r["record_type"]);
        assert_eq!(g["recordId"], r["record_id"]);
        assert_eq!(g["op"], r["op"]);
        assert_eq!(g["version"], r["version"]);
    }
}

#[tokio::test]
async fn a_partner_follows_its_pairing_and_sees_a_record_that_leaves_its_view_as_a_delete() {
    let app = spawn_app().await;
    let zunyi_editor = app.token(Role::Editor, Some("520300"));
    let tongren_editor = app.token(Role::Editor, Some("520600"));
    let shanghai = app.token(Role::Partner, Some("310000"));
    let guangzhou = app.token(Role::Partner, Some("440100"));
    let auditor = app.token(Role::Auditor, None);
    let (shanghai_start, guangzhou_start, editor_start, auditor_start) = (
        end_of_feed(&app, &shanghai).await,
        end_of_feed(&app, &guangzhou).await,
        end_of_feed(&app, &zunyi_editor).await,
        end_of_feed(&app, &auditor).await,
    );

    let ours = create(
        &app,
        &zunyi_editor,
        "/api/v1/projects",
        &project("ZY-2019-01", app.pairing_id("310000", "520300").await),
    )
    .await;
    let theirs = create(
        &app,
        &tongren_editor,
        "/api/v1/projects",
        &project("TR-2019-01", app.pairing_id("320500", "520600").await),
    )
    .await;
    let contact = create(
        &app,
        &zunyi_editor,
        "/api/v1/contacts",
        &json!({"org_id": app.org_id("520300").await, "name": "联络员（示例）"}),
    )
    .await;
    let contact_path = format!("/api/v1/contacts/{}", id_of(&contact));
    assert_eq!(
        app.get(&contact_path, &shanghai).await.status(),
        StatusCode::OK
    );
    // Moved to 仁怀: 上海's partner no longer reads it.
    let response = app
        .patch_json(
            &contact_path,
            &zunyi_editor,
            Some(1),
            &json!({"org_id": app.org_id("520382").await}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_problem(app.get(&contact_path, &shanghai).await, 404, "not_found").await;

    let (seen, _) = drain(&app, &shanghai, Some(&shanghai_start)).await;
    assert_eq!(history(&seen, &id_of(&ours)), [("upsert".to_string(), 1)]);
    assert!(history(&seen, &id_of(&theirs)).is_empty(), "{seen:?}");
    assert_eq!(
        history(&seen, &id_of(&contact)),
        [("upsert".to_string(), 1), ("delete".to_string(), 2)]
    );
    assert_eq!(seen.len(), 3, "{seen:?}");

    // The owner still reads the contact: for it the move is an update.
    let (seen, _) = drain(&app, &zunyi_editor, Some(&editor_start)).await;
    assert_eq!(
        history(&seen, &id_of(&contact)),
        [("upsert".to_string(), 1), ("upsert".to_string(), 2)]
    );
    assert!(history(&seen, &id_of(&theirs)).is_empty());

    // 广州 is in neither pairing.
    let (seen, _) = drain(&app, &guangzhou, Some(&guangzhou_start)).await;
    assert!(seen.is_empty(), "{seen:?}");

    // The auditor reads everything; a type filter keeps one type.
    let (items, _) = poll(
        &app,
        &auditor,
        &format!("record_type=project&after={auditor_start}"),
    )
    .await;
    assert_eq!(
        ids(&items),
        HashSet::from([id_of(&ours), id_of(&theirs)]),
        "{items:?}"
    );
    let (items, _) = poll(
        &app,
        &auditor,
        &format!("record_type=project,contact&after={auditor_start}"),
    )
    .await;
    assert_eq!(items.len(), 4, "{items:?}");
}

#[tokio::test]
async fn bad_feed_queries_name_the_field() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    for (query, field) in [
        ("after=1.2", "after"),
        ("after=-1", "after"),
        ("record_type=user", "record_type"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ] {
        let body = assert_problem(
            app.get(&format!("/api/v1/changes?{query}"), &editor).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
    assert_problem(
        app.request(reqwest::Method::GET, "/api/v1/changes", None)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        401,
        "unauthenticated",
    )
    .await;
}

/// The case a plain sequence gets wrong (PostgreSQL): a transaction takes its number, another
/// writer commits after it, a poller reads; then the first commits. The poller must still see
/// both, and never a change whose transaction rolled back.
#[tokio::test]
async fn a_change_committed_late_is_not_skipped() {
    let app = std::sync::Arc::new(spawn_app().await);
    if app.ctx.db.get_database_backend() != DbBackend::Postgres {
        // SQLite writes one transaction at a time: no change can commit out of order.
        return;
    }
    let admin = app.admin_token();
    let zunyi = app.org_id("520300").await;
    let start = end_of_feed(&app, &admin).await;
    let entry = |id| Entry {
        kind: RecordKind::Contact,
        record_id: id,
        version: 1,
        before: None,
        after: Some(Keys {
            rule: Rule::Org,
            owner: zunyi,
            key: Some(zunyi),
        }),
    };
    let begin = || async { app.ctx.db.begin().await.unwrap_or_else(|e| panic!("{e}")) };

    for commit in [true, false] {
        // A slow writer has appended to the feed and not yet committed.
        let slow = Uuid::now_v7();
        let slow_tx = begin().await;
        changes::append(&slow_tx, &[entry(slow)])
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        // A fast writer starts and a poller reads meanwhile.
        let fast = {
            let (app, admin) = (app.clone(), admin.clone());
            tokio::spawn(async move {
                let body = json!({"org_id": zunyi, "name": "联络员（示例）"});
                id_of(&create(&app, &admin, "/api/v1/contacts", &body).await)
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let (during, position) = drain(&app, &admin, Some(&start)).await;
        if commit {
            slow_tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        } else {
            slow_tx.rollback().await.unwrap_or_else(|e| panic!("{e}"));
        }
        let fast = fast.await.unwrap_or_else(|e| panic!("{e}"));
        let (later, _) = drain(&app, &admin, Some(&position)).await;
        let seen: Vec<Value> = during.into_iter().chain(later).collect();
        let seen_now: Vec<&Value> = seen
            .iter()
            .filter(|i| i["record_id"] == slow.to_string() || i["record_id"] == fast)
            .collect();
        let expected: Vec<String> = if commit {
            vec![slow.to_string(), fast.clone()]
        } else {
            vec![fast.clone()]
        };
        assert_eq!(
            seen_now
                .iter()
                .map(|i| i["record_id"].as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>(),
            expected,
            "commit {commit}: {seen:?}"
        );
    }
}

/// Writers commit concurrently while a poller follows the feed: the poller sees every change
/// exactly once, in each record's version order.
#[tokio::test]
async fn a_poller_sees_every_concurrent_change_exactly_once() {
    const WRITERS: usize = 6;
    const EACH: usize = 12;
    let app = std::sync::Arc::new(spawn_app().await);
    let editor = app.token(Role::Editor, Some("520300"));
    let zunyi = app.org_id("520300").await;
    let start = end_of_feed(&app, &editor).await;

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (app, editor) = (app.clone(), editor.clone());
        writers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for i in 0..EACH {
                let contact = create(
                    &app,
                    &editor,
                    "/api/v1/contacts",
                    &json!({"org_id": zunyi, "name": format!("联络员{w}-{i}（示例）")}),
                )
                .await;
                let path = format!("/api/v1/contacts/{}", id_of(&contact));
                let response = app
                    .patch_json(&path, &editor, Some(1), &json!({"title": "联络员"}))
                    .await;
                assert_eq!(response.status(), StatusCode::OK);
                made.push(id_of(&contact));
            }
            made
        }));
    }

    // Poll while they write, then once more after the last has finished (or failed: a writer
    // that panics ends too, and its panic is raised below).
    let mut seen = Vec::new();
    let mut after = start;
    let mut pages = Pages::new(10_000);
    loop {
        let finished = writers.iter().all(tokio::task::JoinHandle::is_finished);
        let (items, next) = drain(&app, &editor, Some(&after)).await;
        seen.extend(items);
        if next != after {
            after = pages.next(&next);
        }
        if finished {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let mut made = HashSet::new();
    for w in writers {
        made.extend(w.await.unwrap_or_else(|e| panic!("{e}")));
    }

    let mut versions: HashMap<String, Vec<i64>> = HashMap::new();
    for item in &seen {
        versions
            .entry(item["record_id"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push(item["version"].as_i64().unwrap_or_default());
    }
    assert_eq!(made.len(), WRITERS * EACH);
    let seen_ids: HashSet<String> = versions.keys().cloned().collect();
    let missed: Vec<_> = made.difference(&seen_ids).collect();
    let extra: Vec<_> = seen_ids.difference(&made).collect();
    assert!(missed.is_empty(), "the poller missed {missed:?}");
    assert!(
        extra.is_empty(),
        "the poller saw records nobody made: {extra:?}"
    );
    for (id, v) in &versions {
        assert_eq!(v, &[1, 2], "{id}: each change once, in version order");
    }
    let seqs: HashSet<i64> = seen.iter().filter_map(|i| i["seq"].as_i64()).collect();
    assert_eq!(seqs.len(), seen.len(), "a change was delivered twice");
}

/// The seed writes its records directly; they enter the feed all the same, so a partner system
/// that follows the feed from the start learns of every record.
#[tokio::test]
async fn the_feed_starts_with_every_record_the_seed_wrote() {
    use sea_orm::EntityTrait;
    let app = spawn_app().await;
    let auditor = app.token(Role::Auditor, None);
    let (items, _) = drain(&app, &auditor, None).await;
    let of_type = |t: &str| -> HashSet<String> {
        items
            .iter()
            .filter(|i| i["record_type"] == t)
            .filter_map(|i| i["record_id"].as_str().map(str::to_string))
            .collect()
    };
    let db = &app.ctx.db;
    let stored = |ids: Vec<Uuid>| ids.into_iter().map(|i| i.to_string()).collect();
    let orgs: HashSet<String> = stored(
        entity::organization::Entity::find()
            .all(db)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|o| o.id)
            .collect(),
    );
    let pairings: HashSet<String> = stored(
        entity::pairing::Entity::find()
            .all(db)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|p| p.id)
            .collect(),
    );
    let tasks: HashSet<String> = stored(
        entity::plan_task::Entity::find()
            .all(db)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|t| t.id)
            .collect(),
    );
    assert!(orgs.len() > 30 && !pairings.is_empty() && !tasks.is_empty());
    assert_eq!(of_type("organization"), orgs);
    assert_eq!(of_type("pairing"), pairings);
    assert_eq!(of_type("plan_task"), tasks);
    assert_eq!(of_type("plan").len(), 1);
    assert!(!of_type("working_group").is_empty() && !of_type("contact").is_empty());
    assert!(
        items
            .iter()
            .all(|i| i["op"] == "upsert" && i["version"] == 1)
    );

    // 上海's partner starts with its own pairing and organizations, and no other pairing.
    let shanghai = app.token(Role::Partner, Some("310000"));
    let (items, _) = drain(&app, &shanghai, None).await;
    let pairings_seen: HashSet<&str> = items
        .iter()
        .filter(|i| i["record_type"] == "pairing")
        .filter_map(|i| i["record_id"].as_str())
        .collect();
    assert!(
        pairings_seen.contains(
            app.pairing_id("310000", "520300")
                .await
                .to_string()
                .as_str()
        )
    );
    assert!(
        !pairings_seen.contains(
            app.pairing_id("440100", "520500")
                .await
                .to_string()
                .as_str()
        )
    );
}
