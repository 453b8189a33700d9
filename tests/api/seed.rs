use reqwest::StatusCode;
use serde_json::Value;
use tests::{parts, spawn_app};

const PAIRS: &[(&str, &str)] = &[
    ("上海市残疾人联合会", "遵义市残疾人联合会"),
    ("大连市残疾人联合会", "六盘水市残疾人联合会"),
    ("青岛市残疾人联合会", "安顺市残疾人联合会"),
    ("广州市残疾人联合会", "毕节市残疾人联合会"),
    ("广州市残疾人联合会", "黔南布依族苗族自治州残疾人联合会"),
    ("苏州市残疾人联合会", "铜仁市残疾人联合会"),
    ("杭州市残疾人联合会", "黔东南苗族侗族自治州残疾人联合会"),
    ("宁波市残疾人联合会", "黔西南布依族苗族自治州残疾人联合会"),
];

async fn all(app: &tests::TestApp, path: &str, token: &str) -> Vec<Value> {
    let (status, body) = parts(app.get(path, token).await).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    assert!(
        body["next_cursor"].is_null(),
        "{path} should fit one page of 500"
    );
    body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn the_2019_structure_is_loaded_and_queryable_by_division_code() {
    let app = spawn_app().await;
    let token = app.admin_token();

    let orgs = all(&app, "/api/v1/organizations?limit=500", &token).await;
    let name_of = |id: &Value| {
        orgs.iter()
            .find(|o| &o["id"] == id)
            .map(|o| o["name"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    // 9 prefectures, the province and its 10 departments and institutions, 仁怀, 威宁, 贵安,
    // 6 eastern cities, 上海 and 5 eastern provinces.
    assert_eq!(orgs.len(), 35);

    for (code, name, level, region) in [
        ("520000", "贵州省残疾人联合会", "province", "west"),
        ("520300", "遵义市残疾人联合会", "prefecture", "west"),
        (
            "522700",
            "黔南布依族苗族自治州残疾人联合会",
            "prefecture",
            "west",
        ),
        ("520382", "仁怀市残疾人联合会", "county", "west"),
        ("310000", "上海市残疾人联合会", "province", "east"),
        ("320500", "苏州市残疾人联合会", "prefecture", "east"),
    ] {
        let found = all(
            &app,
            &format!("/api/v1/organizations?division_code={code}&kind=federation"),
            &token,
        )
        .await;
        assert_eq!(found.len(), 1, "division {code}");
        assert_eq!(found[0]["name"], name);
        assert_eq!(found[0]["level"], level);
        assert_eq!(found[0]["region"], region);
    }
    // Parents: 仁怀 under 遵义, 苏州 under 江苏, the departments under the province.
    let renhuai = &all(&app, "/api/v1/organizations?code=520382", &token).await[0];
    assert_eq!(name_of(&renhuai["parent_id"]), "遵义市残疾人联合会");
    let suzhou = &all(&app, "/api/v1/organizations?code=320500", &token).await[0];
    assert_eq!(name_of(&suzhou["parent_id"]), "江苏省残疾人联合会");
    let departments = all(&app, "/api/v1/organizations?kind=department", &token).await;
    let names: Vec<&str> = departments
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    for dept in ["维权部", "教就部", "组联部", "康复部", "社保部", "宣文部"] {
        assert!(
            names.iter().any(|n| n.ends_with(dept)),
            "missing {dept} in {names:?}"
        );
    }
    assert!(
        departments
            .iter()
            .all(|d| name_of(&d["parent_id"]) == "贵州省残疾人联合会")
    );
    assert_eq!(
        all(&app, "/api/v1/organizations?kind=institution", &token)
            .await
            .len(),
        4
    );
    let guian = all(&app, "/api/v1/organizations?kind=agency", &token).await;
    assert_eq!(guian.len(), 1);
    assert_eq!(guian[0]["name"], "贵安新区社会事务管理局");

    let pairings = all(&app, "/api/v1/pairings?level=city_prefecture", &token).await;
    assert_eq!(pairings.len(), 8);
    let mut actual: Vec<(String, String)> = pairings
        .iter()
        .map(|p| {
            assert_eq!(p["level"], "city_prefecture");
            assert_eq!(p["active"], true);
            (name_of(&p["east_org_id"]), name_of(&p["west_org_id"]))
        })
        .collect();
    let mut expected: Vec<(String, String)> = PAIRS
        .iter()
        .map(|(e, w)| (e.to_string(), w.to_string()))
        .collect();
    actual.sort();
    expected.sort();
    assert_eq!(actual, expected);
}

#[tokio::test]
async fn seeding_twice_adds_nothing() {
    let app = spawn_app().await;
    let again = xiezuo::seed::load(&app.ctx.db).await.expect("seed");
    assert_eq!(again, xiezuo::seed::Seeded::default());
    let token = app.admin_token();
    assert_eq!(
        all(&app, "/api/v1/organizations?limit=500", &token)
            .await
            .len(),
        35
    );
    // Eight city–prefecture pairings and six province-level ones.
    assert_eq!(all(&app, "/api/v1/pairings", &token).await.len(), 14);
}
