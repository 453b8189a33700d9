use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app};

fn county(code: &str, parent: impl ToString) -> Value {
    json!({"code": code, "name": format!("测试县残联{code}"), "region": "west", "level": "county",
           "kind": "federation", "parent_id": parent.to_string()})
}

async fn create(app: &TestApp, token: &str, body: &Value) -> Value {
    let (status, created) = parts(app.post_json("/api/v1/organizations", token, body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

#[tokio::test]
async fn create_read_patch_delete_with_etags_and_audit() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let zunyi = app.org_id("520300").await;
    let created = create(
        &app,
        &admin,
        &json!({"code": "520321", "name": "汇川区残疾人联合会", "region": "west", "level": "county",
                "kind": "federation", "parent_id": zunyi, "division_code": "520303", "external_id": "zy-hc"}),
    )
    .await;
    assert_eq!(created["version"], 1);
    let id = created["id"].as_str().expect("id").to_string();
    let path = format!("/api/v1/organizations/{id}");

    let got = app.get(&path, &admin).await;
    assert_eq!(tests::etag_version(&got), 1);
    let (_, body) = parts(got).await;
    assert_eq!(body, created);

    // PATCH with the right version moves it on; the old version is refused with 412.
    let patched = app
        .patch_json(
            &path,
            &admin,
            Some(1),
            &json!({"name": "汇川区残联", "external_id": null}),
        )
        .await;
    assert_eq!(tests::etag_version(&patched), 2);
    let (status, patched) = parts(patched).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["name"], "汇川区残联");
    assert!(patched["external_id"].is_null());
    assert_eq!(patched["division_code"], "520303", "absent fields stay");
    let stale = assert_problem(
        app.patch_json(&path, &admin, Some(1), &json!({"name": "x"}))
            .await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(stale["current_version"], 2);
    let (_, unchanged) = parts(app.get(&path, &admin).await).await;
    assert_eq!(unchanged["name"], "汇川区残联");
    assert_problem(
        app.delete(&path, &admin, Some(1)).await,
        412,
        "precondition_failed",
    )
    .await;

    assert_eq!(
        app.delete(&path, &admin, Some(2)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(app.get(&path, &admin).await, 404, "not_found").await;
    let (_, list) = parts(app.get("/api/v1/organizations?code=520321", &admin).await).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));

    // Three audit entries, before/after as the API showed them.
    let (_, log) = parts(
        app.get(&format!("/api/v1/audit-log?record_id={id}"), &admin)
            .await,
    )
    .await;
    let entries = log["items"].as_array().expect("items");
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["create", "update", "delete"]);
    assert!(entries[0]["before"].is_null());
    assert_eq!(entries[0]["after"], created);
    assert_eq!(entries[1]["before"]["name"], "汇川区残疾人联合会");
    assert_eq!(entries[1]["after"]["name"], "汇川区残联");
    assert_eq!(entries[2]["before"]["version"], 2);
    assert!(entries[2]["after"].is_null());
    assert!(
        entries
            .iter()
            .all(|e| e["record_type"] == "organization" && e["actor_role"] == "admin")
    );
}

#[tokio::test]
async fn a_refused_write_leaves_no_audit_entry() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let before = parts(app.get("/api/v1/audit-log?limit=500", &admin).await)
        .await
        .1["items"]
        .as_array()
        .map(Vec::len);
    // A child above its parent's level: refused after the transaction began.
    let bad = json!({"code": "bad-1", "name": "错误", "region": "west", "level": "province",
                     "kind": "federation", "parent_id": app.org_id("520300").await});
    let body = assert_problem(
        app.post_json("/api/v1/organizations", &admin, &bad).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "level");
    let after = parts(app.get("/api/v1/audit-log?limit=500", &admin).await)
        .await
        .1["items"]
        .as_array()
        .map(Vec::len);
    assert_eq!(before, after);
}

#[tokio::test]
async fn the_tree_children_ancestors_and_cycles() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let zunyi = app.org_id("520300").await;
    let child = create(&app, &admin, &county("zy-1", zunyi)).await;
    let child_id = child["id"].as_str().expect("id");

    let (_, children) = parts(
        app.get(&format!("/api/v1/organizations/{zunyi}/children"), &admin)
            .await,
    )
    .await;
    let mut names: Vec<&str> = children["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["仁怀市残疾人联合会", "测试县残联zy-1"]);

    let (_, ancestors) = parts(
        app.get(
            &format!("/api/v1/organizations/{child_id}/ancestors"),
            &admin,
        )
        .await,
    )
    .await;
    let chain: Vec<&str> = ancestors["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|o| o["code"].as_str())
        .collect();
    assert_eq!(chain, ["520300", "520000"]);

    // Moving 遵义 under its own descendant would make a cycle.
    let (_, zunyi_now) = parts(
        app.get(&format!("/api/v1/organizations/{zunyi}"), &admin)
            .await,
    )
    .await;
    let body = assert_problem(
        app.patch_json(
            &format!("/api/v1/organizations/{zunyi}"),
            &admin,
            None,
            &json!({"parent_id": child_id, "level": "county"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .any(|e| e["field"] == "parent_id")
    );
    let (_, zunyi_after) = parts(
        app.get(&format!("/api/v1/organizations/{zunyi}"), &admin)
            .await,
    )
    .await;
    assert_eq!(zunyi_now, zunyi_after);

    // An organization with children, pairings or users cannot be deleted.
    let body = assert_problem(
        app.delete(&format!("/api/v1/organizations/{zunyi}"), &admin, None)
            .await,
        409,
        "in_use",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("sub-organizations")
    );
}

#[tokio::test]
async fn filters_select_what_they_name() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let codes = |body: Value| -> HashSet<String> {
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|o| o["code"].as_str().map(String::from))
            .collect()
    };
    let get = |q: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            codes(
                parts(app.get(&format!("/api/v1/organizations?{q}"), &admin).await)
                    .await
                    .1,
            )
        }
    };
    assert_eq!(
        get("division_code=520300").await,
        HashSet::from(["520300".to_string()])
    );
    assert_eq!(get("region=east&level=prefecture").await.len(), 6);
    assert_eq!(get("region=east&level=province").await.len(), 6); // 上海 and five provinces
    assert_eq!(get("kind=institution").await.len(), 4);
    assert_eq!(
        get("q=%E9%81%B5%E4%B9%89").await,
        HashSet::from(["520300".to_string()])
    ); // 遵义
    assert!(
        get("q=%25").await.is_empty(),
        "LIKE wildcards in q are literal"
    );
    let zunyi = app.org_id("520300").await;
    let by_parent = codes(
        parts(
            app.get(&format!("/api/v1/organizations?parent_id={zunyi}"), &admin)
                .await,
        )
        .await
        .1,
    );
    assert_eq!(by_parent, HashSet::from(["520382".to_string()]));
    let future = "2199-01-01T00:00:00Z";
    assert!(
        codes(
            parts(
                app.get(
                    &format!("/api/v1/organizations?updated_since={future}"),
                    &admin
                )
                .await
            )
            .await
            .1
        )
        .is_empty()
    );
}

#[tokio::test]
async fn keyset_pages_visit_every_organization_exactly_once() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let province = app.org_id("520000").await;
    for i in 0..115 {
        create(&app, &admin, &json!({"code": format!("page-{i:03}"), "name": format!("分页{i}"), "region": "west",
                                     "level": "county", "kind": "federation", "parent_id": province})).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    let mut guard = tests::Pages::new(1000);
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/organizations?limit=7&cursor={c}"),
            None => "/api/v1/organizations?limit=7".to_string(),
        };
        let (status, body) = parts(app.get(&path, &admin).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let items = body["items"].as_array().expect("items");
        assert!(items.len() <= 7);
        seen.extend(
            items
                .iter()
                .map(|o| o["id"].as_str().unwrap_or_default().to_string()),
        );
        pages += 1;
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(guard.next(c)),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 35 + 115);
    assert_eq!(unique.len(), seen.len(), "no organization twice");
    assert_eq!(pages, (150usize).div_ceil(7));
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen, "stable id order");
}

#[tokio::test]
async fn concurrent_writers_with_the_same_version_have_exactly_one_winner() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let id = app.org_id("520600").await;
    let path = format!("/api/v1/organizations/{id}");
    let writers = (0..32).map(|i| {
        let (app, admin, path) = (&app, admin.clone(), path.clone());
        async move {
            app.patch_json(
                &path,
                &admin,
                Some(1),
                &json!({"name": format!("铜仁市残联-{i}")}),
            )
            .await
            .status()
        }
    });
    let statuses = futures_util::future::join_all(writers).await;
    let winners = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let losers = statuses
        .iter()
        .filter(|s| **s == StatusCode::PRECONDITION_FAILED)
        .count();
    assert_eq!((winners, losers), (1, 31), "{statuses:?}");
    let (_, now) = parts(app.get(&path, &admin).await).await;
    assert_eq!(now["version"], 2);
    let (_, log) = parts(
        app.get(&format!("/api/v1/audit-log?record_id={id}"), &admin)
            .await,
    )
    .await;
    assert_eq!(
        log["items"].as_array().map(Vec::len),
        Some(1),
        "one update audited"
    );
}
