use reqwest::StatusCode;
use serde_json::json;
use tests::{assert_problem, parts, spawn_app};
use xiezuo::domain::Role;

#[tokio::test]
async fn coordinator_registers_a_county_pairing_with_checked_sides() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    // An eastern district for 携手奔小康.
    let (status, minhang) = parts(
        app.post_json(
            "/api/v1/organizations",
            &admin,
            &json!({"code": "310112", "name": "闵行区残疾人联合会", "region": "east", "level": "county",
                    "kind": "federation", "parent_id": app.org_id("310000").await, "division_code": "310112"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{minhang}");
    let renhuai = app.org_id("520382").await;

    // Sides swapped, wrong level, dates backwards: each named.
    let bad = json!({"east_org_id": renhuai, "west_org_id": minhang["id"], "level": "county_county",
                     "started_on": "2019-03-01", "ended_on": "2018-12-31"});
    let body = assert_problem(
        app.post_json("/api/v1/pairings", &coordinator, &bad).await,
        422,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["east_org_id", "west_org_id", "ended_on"]);
    let wrong_level = json!({"east_org_id": minhang["id"], "west_org_id": renhuai, "level": "city_prefecture",
                             "started_on": "2019-03-01"});
    assert_problem(
        app.post_json("/api/v1/pairings", &coordinator, &wrong_level)
            .await,
        422,
        "validation_failed",
    )
    .await;

    let good = json!({"east_org_id": minhang["id"], "west_org_id": renhuai, "level": "county_county",
                      "started_on": "2019-03-01", "external_id": "sh-mh-rh"});
    let (status, created) =
        parts(app.post_json("/api/v1/pairings", &coordinator, &good).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["active"], true);
    assert_eq!(
        created["owner_org_id"],
        app.org_id("520000").await.to_string()
    );
    let body = assert_problem(
        app.post_json("/api/v1/pairings", &coordinator, &good).await,
        409,
        "duplicate",
    )
    .await;
    assert!(body["field"].is_string());

    // Ending it makes it inactive; an end before the start is refused.
    let path = format!("/api/v1/pairings/{}", created["id"].as_str().expect("id"));
    let (status, ended) = parts(
        app.patch_json(
            &path,
            &coordinator,
            Some(1),
            &json!({"ended_on": "2020-12-31"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["active"], false);
    assert_eq!(ended["version"], 2);
    assert_problem(
        app.patch_json(
            &path,
            &coordinator,
            None,
            &json!({"ended_on": "2019-01-01"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;

    // The 遵义 editor sees the new pairing of its county; the 铜仁 editor does not.
    assert_eq!(
        app.get(&path, &app.token(Role::Editor, Some("520300")))
            .await
            .status(),
        StatusCode::OK
    );
    assert_problem(
        app.get(&path, &app.token(Role::Editor, Some("520600")))
            .await,
        404,
        "not_found",
    )
    .await;

    assert_eq!(
        app.delete(&path, &coordinator, Some(2)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(app.get(&path, &admin).await, 404, "not_found").await;
    let (_, log) = parts(
        app.get(
            &format!(
                "/api/v1/audit-log?record_type=pairing&record_id={}",
                created["id"].as_str().unwrap_or("")
            ),
            &admin,
        )
        .await,
    )
    .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["create", "update", "delete"]);
    assert_eq!(log["items"][0]["actor_role"], "coordinator");
}

#[tokio::test]
async fn pairing_filters() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let guangzhou = app.org_id("440100").await;
    let (_, body) = parts(
        app.get(&format!("/api/v1/pairings?east_org_id={guangzhou}"), &admin)
            .await,
    )
    .await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(2));
    let bijie = app.org_id("520500").await;
    let (_, body) = parts(
        app.get(&format!("/api/v1/pairings?org_id={bijie}"), &admin)
            .await,
    )
    .await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
    let (_, body) = parts(
        app.get("/api/v1/pairings?level=county_county", &admin)
            .await,
    )
    .await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(0));
    let (_, body) = parts(app.get("/api/v1/pairings?limit=3", &admin).await).await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(3));
    assert!(body["next_cursor"].is_string());
}
