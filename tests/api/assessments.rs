//! The yearly assessment (考核), against a fixture of 遵义's 2019 counted by hand: every
//! indicator's value, the records behind it and the evidence linked to them; who reads it; REST
//! and GraphQL agreeing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, parts, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

fn id(v: &Value) -> Uuid {
    v["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("no id in {v}"))
}

async fn created(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let (status, value) = parts(app.post_json(path, token, &body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {value}");
    value
}

fn project(code: &str, year: i32, category: &str, planned: i32, pairing: Uuid) -> Value {
    json!({"code": code, "year": year, "title": format!("项目 {code}"), "category": category,
           "pairing_id": pairing, "basis": "依据（示例）", "measures": "措施（示例）",
           "deep_poverty": false, "beneficiaries_planned": planned, "budget_fen": 0})
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

fn ids(v: &Value) -> Vec<Uuid> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().and_then(|s| Uuid::parse_str(s).ok()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_assessment_counts_the_years_records_and_names_them() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let coordinator = app.token(Role::Coordinator, Some("520000"));
    let editor = app.token(Role::Editor, Some("520300"));
    let partner = app.token(Role::Partner, Some("310000"));
    let zunyi = app.org_id("520300").await;
    let shanghai = app.org_id("310000").await;
    let renhuai = app.org_id("520382").await;
    let pairing = app.pairing_id("310000", "520300").await;

    // 组织领导: a working group, and 仁怀's, set up only in 2020.
    let group = created(
        &app,
        "/api/v1/working-groups",
        &coordinator,
        json!({"org_id": zunyi, "name": "遵义市残联东西部扶贫协作工作组", "members": [],
               "established_on": "2019-03-05"}),
    )
    .await;
    created(
        &app,
        "/api/v1/working-groups",
        &coordinator,
        json!({"org_id": renhuai, "name": "仁怀市残联东西部扶贫协作工作组", "members": [],
               "established_on": "2020-02-01"}),
    )
    .await;

    // Projects of 2019 (and one of 2020, which does not count).
    let p1 = created(
        &app,
        "/api/v1/projects",
        &editor,
        project("ZY-1", 2019, "care_facility", 120, pairing),
    )
    .await;
    let p2 = created(
        &app,
        "/api/v1/projects",
        &editor,
        project("ZY-2", 2019, "industry", 30, pairing),
    )
    .await;
    let p3 = created(
        &app,
        "/api/v1/projects",
        &editor,
        project("ZY-3", 2019, "labour_employment", 50, pairing),
    )
    .await;
    created(
        &app,
        "/api/v1/projects",
        &editor,
        project("ZY-4", 2020, "industry", 99, pairing),
    )
    .await;
    for (p, actual) in [(&p2, 25), (&p3, 40)] {
        let response = app
            .patch_json(
                &format!("/api/v1/projects/{}", id(p)),
                &editor,
                Some(1),
                &json!({"beneficiaries_actual": actual}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    // Money: pledged 1,000,000.00 yuan, transferred and arrived 600,000.00, spent 200,000.00;
    // a pledge of 2018 does not count.
    let money = |kind: &str, fen: i64, on: &str| {
        json!({"kind": kind, "amount_fen": fen, "occurred_on": on, "pairing_id": pairing,
               "project_id": id(&p1), "voucher_no": format!("V-{kind}-{on}")})
    };
    created(
        &app,
        "/api/v1/fund-transactions",
        &partner,
        money("pledge", 5_000_000, "2018-12-20"),
    )
    .await;
    let pledge = created(
        &app,
        "/api/v1/fund-transactions",
        &partner,
        money("pledge", 100_000_000, "2019-03-15"),
    )
    .await;
    let transfer = created(
        &app,
        "/api/v1/fund-transactions",
        &partner,
        money("transfer", 60_000_000, "2019-04-15"),
    )
    .await;
    let arrival = created(
        &app,
        "/api/v1/fund-transactions",
        &editor,
        money("arrival", 60_000_000, "2019-04-20"),
    )
    .await;
    let spend = created(
        &app,
        "/api/v1/fund-transactions",
        &editor,
        money("expenditure", 20_000_000, "2019-06-20"),
    )
    .await;

    // Exchanges.
    let exchange = |kind: &str,
                    direction: &str,
                    host: Uuid,
                    visitors: Vec<Uuid>,
                    on: &str,
                    pairing: Option<Uuid>,
                    participants: Option<i32>| {
        json!({"kind": kind, "direction": direction, "host_org_id": host, "visiting_org_ids": visitors,
               "pairing_id": pairing, "start_on": on, "end_on": on, "participants": participants})
    };
    let joint = created(
        &app,
        "/api/v1/exchanges",
        &editor,
        exchange(
            "joint_meeting",
            "local",
            zunyi,
            vec![],
            "2019-03-10",
            None,
            None,
        ),
    )
    .await;
    let special = created(
        &app,
        "/api/v1/exchanges",
        &editor,
        exchange(
            "special_meeting",
            "local",
            zunyi,
            vec![],
            "2019-05-10",
            None,
            None,
        ),
    )
    .await;
    let visit = created(
        &app,
        "/api/v1/exchanges",
        &editor,
        exchange(
            "inspection_visit",
            "east_to_west",
            zunyi,
            vec![shanghai],
            "2019-06-01",
            Some(pairing),
            None,
        ),
    )
    .await;
    let trip = created(
        &app,
        "/api/v1/exchanges",
        &editor,
        exchange(
            "consultation",
            "west_to_east",
            shanghai,
            vec![zunyi],
            "2019-07-01",
            Some(pairing),
            None,
        ),
    )
    .await;
    let course_1 = created(
        &app,
        "/api/v1/exchanges",
        &editor,
        exchange(
            "training",
            "west_to_east",
            shanghai,
            vec![zunyi],
            "2019-08-01",
            Some(pairing),
            Some(12),
        ),
    )
    .await;
    let course_2 = created(
        &app,
        "/api/v1/exchanges",
        &editor,
        exchange(
            "training",
            "west_to_east",
            shanghai,
            vec![zunyi],
            "2019-10-08",
            Some(pairing),
            Some(8),
        ),
    )
    .await;

    // 携手奔小康: 闵行–仁怀, active through a visit of 2019.
    let minhang = created(
        &app,
        "/api/v1/organizations",
        &admin,
        json!({"code": "310112", "name": "闵行区残疾人联合会", "region": "east", "level": "county",
               "kind": "federation", "parent_id": shanghai, "division_code": "310112"}),
    )
    .await;
    let county_pairing = created(
        &app,
        "/api/v1/pairings",
        &coordinator,
        json!({"east_org_id": id(&minhang), "west_org_id": renhuai, "level": "county_county",
               "started_on": "2019-03-01"}),
    )
    .await;
    let county_visit = created(
        &app,
        "/api/v1/exchanges",
        &editor,
        exchange(
            "inspection_visit",
            "east_to_west",
            renhuai,
            vec![id(&minhang)],
            "2019-09-01",
            Some(id(&county_pairing)),
            None,
        ),
    )
    .await;

    let agreement = created(
        &app,
        "/api/v1/agreements",
        &editor,
        json!({"pairing_id": pairing, "title": "上海市残联 遵义市残联 2019年东西部扶贫协作协议",
               "signed_on": "2019-04-01", "committed_fen": 100_000_000}),
    )
    .await;

    // Evidence: the visit's photo, the arrival's voucher, the agreement's scan.
    let photo = id(&app
        .upload_proof(&editor, "photo", ("exchange", id(&visit)))
        .await);
    let voucher = id(&app
        .upload_proof(&editor, "document", ("fund_transaction", id(&arrival)))
        .await);
    let scan = id(&app
        .upload_proof(&editor, "document", ("agreement", id(&agreement)))
        .await);

    // Ledgers: Q1 on time, Q2 only late, Q3 on time twice (counted once), the year's
    // materials on time.
    let submit = |when: &str, quarter: Option<i32>| {
        app.ctx.clock.pin(Some(
            DateTime::parse_from_rfc3339(when)
                .expect("instant")
                .with_timezone(&Utc),
        ));
        let body = json!({"org_id": zunyi, "year": 2019, "quarter": quarter});
        let editor = editor.clone();
        let app = &app;
        async move {
            let (status, body) = parts(
                app.post_json("/api/v1/ledger-submissions", &editor, &body)
                    .await,
            )
            .await;
            app.ctx.clock.pin(None);
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body
        }
    };
    let q1 = submit("2019-04-03T02:00:00Z", Some(1)).await;
    submit("2019-07-20T02:00:00Z", Some(2)).await;
    let q3 = submit("2019-10-09T02:00:00Z", Some(3)).await;
    submit("2019-10-10T02:00:00Z", Some(3)).await;
    let annual = submit("2019-11-20T02:00:00Z", None).await;

    let (status, assessment) = parts(
        app.get(&format!("/api/v1/assessments/{zunyi}/2019"), &editor)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{assessment}");
    assert_eq!(assessment["org_id"], json!(zunyi));
    assert_eq!(assessment["year"], 2019);
    let by_code: BTreeMap<String, Value> = assessment["indicators"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    (
                        i["code"].as_str().unwrap_or_default().to_string(),
                        i.clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let check = |code: &str, area: &str, value: Value, records: Vec<Uuid>, evidence: Vec<Uuid>| {
        let i = by_code
            .get(code)
            .unwrap_or_else(|| panic!("no indicator {code} in {assessment}"));
        assert_eq!(i["area"], area, "{code}");
        assert_eq!(i["value"], value, "{code}");
        assert_eq!(ids(&i["record_ids"]), sorted(records), "{code}: records");
        assert_eq!(
            ids(&i["evidence_ids"]),
            sorted(evidence),
            "{code}: evidence"
        );
    };
    let txs = [id(&pledge), id(&transfer), id(&arrival), id(&spend)];
    let exchanges = vec![
        id(&joint),
        id(&special),
        id(&visit),
        id(&trip),
        id(&course_1),
        id(&course_2),
        id(&county_visit),
    ];
    let projects = vec![id(&p1), id(&p2), id(&p3)];
    check(
        "working_group_established",
        "organization",
        json!(1),
        vec![id(&group)],
        vec![],
    );
    check(
        "joint_meetings",
        "organization",
        json!(1),
        vec![id(&joint)],
        vec![],
    );
    check(
        "special_meetings",
        "organization",
        json!(1),
        vec![id(&special)],
        vec![],
    );
    check(
        "visits_east_to_west",
        "organization",
        json!(2),
        vec![id(&visit), id(&county_visit)],
        vec![photo],
    );
    check(
        "visits_west_to_east",
        "organization",
        json!(1),
        vec![id(&trip)],
        vec![],
    );
    check(
        "agreements_signed",
        "organization",
        json!(1),
        vec![id(&agreement)],
        vec![scan],
    );
    // 4 transactions and 7 exchanges to prove; only the arrival and the visit are: 2 of 11.
    let checked: Vec<Uuid> = txs.iter().chain(&exchanges).copied().collect();
    check(
        "evidence_completeness_bp",
        "organization",
        json!(1818),
        checked,
        vec![photo, voucher],
    );
    check(
        "ledgers_on_time",
        "organization",
        json!(3),
        vec![id(&q1), id(&q3), id(&annual)],
        vec![],
    );
    check(
        "trainings",
        "talent_exchange",
        json!(2),
        vec![id(&course_1), id(&course_2)],
        vec![],
    );
    check(
        "cadres_trained",
        "talent_exchange",
        json!(20),
        vec![id(&course_1), id(&course_2)],
        vec![],
    );
    check(
        "pledged_fen",
        "fund_use",
        json!(100_000_000),
        vec![id(&pledge)],
        vec![],
    );
    check(
        "transferred_fen",
        "fund_use",
        json!(60_000_000),
        vec![id(&transfer)],
        vec![],
    );
    check(
        "arrived_fen",
        "fund_use",
        json!(60_000_000),
        vec![id(&arrival)],
        vec![voucher],
    );
    check(
        "spent_fen",
        "fund_use",
        json!(20_000_000),
        vec![id(&spend)],
        vec![],
    );
    check(
        "arrival_rate_bp",
        "fund_use",
        json!(6000),
        vec![id(&pledge), id(&arrival)],
        vec![voucher],
    );
    check(
        "projects",
        "industrial_cooperation",
        json!(3),
        projects.clone(),
        vec![],
    );
    check(
        "industry_projects",
        "industrial_cooperation",
        json!(1),
        vec![id(&p2)],
        vec![],
    );
    check(
        "beneficiaries_planned",
        "industrial_cooperation",
        json!(200),
        projects.clone(),
        vec![],
    );
    check(
        "beneficiaries_actual",
        "industrial_cooperation",
        json!(65),
        projects,
        vec![],
    );
    check(
        "labour_projects",
        "labour_cooperation",
        json!(1),
        vec![id(&p3)],
        vec![],
    );
    check(
        "people_placed",
        "labour_cooperation",
        json!(40),
        vec![id(&p3)],
        vec![],
    );
    check(
        "county_pairings",
        "county_pairing",
        json!(1),
        vec![id(&county_pairing)],
        vec![],
    );
    check(
        "county_pairings_active",
        "county_pairing",
        json!(1),
        vec![id(&county_pairing)],
        vec![],
    );
    // Overdue plan tasks: as the year ledger lists them.
    let (_, ledger) = parts(
        app.get(&format!("/api/v1/ledgers/{zunyi}/2019"), &editor)
            .await,
    )
    .await;
    let overdue: Vec<Uuid> = ledger["gaps"]
        .as_array()
        .map(|gaps| {
            gaps.iter()
                .filter(|g| g["kind"] == "plan_task_overdue")
                .filter_map(|g| {
                    g["record_id"]
                        .as_str()
                        .and_then(|s| Uuid::parse_str(s).ok())
                })
                .collect()
        })
        .unwrap_or_default();
    check(
        "plan_tasks_overdue",
        "organization",
        json!(overdue.len()),
        overdue,
        vec![],
    );
    assert_eq!(by_code.len(), 24, "{:?}", by_code.keys());

    // GraphQL gives the same figures.
    let gql = app
        .gql(
            &editor,
            "query($org: UUID!) { assessment(orgId: $org, year: 2019) {
                indicators { code area value recordIds evidenceIds } } }",
            json!({"org": zunyi}),
        )
        .await;
    assert_eq!(gql["errors"], Value::Null, "{gql}");
    for i in gql["data"]["assessment"]["indicators"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let rest = &by_code[i["code"].as_str().unwrap_or_default()];
        assert_eq!(i["value"], rest["value"]);
        assert_eq!(i["recordIds"], rest["record_ids"]);
        assert_eq!(i["evidenceIds"], rest["evidence_ids"]);
    }

    // Who reads it: the organization's own subtree and the roles that read everything.
    for (role, org, status) in [
        (Role::Editor, Some("520000"), 200),
        (Role::Coordinator, Some("520000"), 200),
        (Role::Auditor, None, 200),
        (Role::Partner, Some("310000"), 404),
        (Role::Editor, Some("520400"), 404),
        (Role::Editor, Some("520382"), 404),
    ] {
        let response = app
            .get(
                &format!("/api/v1/assessments/{zunyi}/2019"),
                &app.token(role, org),
            )
            .await;
        assert_eq!(response.status().as_u16(), status, "{role:?} of {org:?}");
    }
    let response = app
        .get(&format!("/api/v1/assessments/{zunyi}/1800"), &editor)
        .await;
    tests::assert_problem(response, 422, "validation_failed").await;
}

/// A real PNG of `w`×`h` pixels.
fn png(w: u32, h: u32, shade: u8) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("header");
        let pixels: Vec<u8> = (0..w * h * 3)
            .map(|i| (i as u8).wrapping_add(shade))
            .collect();
        writer.write_image_data(&pixels).expect("pixels");
    }
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn the_package_files_the_evidence_with_an_index_albums_and_a_matching_manifest() {
    use std::io::Read;
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let zunyi = app.org_id("520300").await;
    let shanghai = app.org_id("310000").await;
    let pairing = app.pairing_id("310000", "520300").await;
    let arrival = created(
        &app,
        "/api/v1/fund-transactions",
        &editor,
        json!({"kind": "arrival", "amount_fen": 500_000, "occurred_on": "2019-05-06",
               "pairing_id": pairing, "voucher_no": "DZ-1"}),
    )
    .await;
    let visit = created(
        &app,
        "/api/v1/exchanges",
        &editor,
        json!({"kind": "inspection_visit", "direction": "east_to_west", "pairing_id": pairing,
               "host_org_id": zunyi, "visiting_org_ids": [shanghai],
               "start_on": "2019-06-01", "end_on": "2019-06-02"}),
    )
    .await;
    let voucher = app
        .upload_file(
            &editor,
            "document",
            &[("fund_transaction", id(&arrival))],
            [b"%PDF-1.7\n".as_slice(), &[7u8; 3000]].concat(),
            "到账凭证.pdf",
        )
        .await;
    let photos = [png(40, 30, 0), png(20, 60, 99)];
    let mut photo_ids = Vec::new();
    for (i, bytes) in photos.iter().enumerate() {
        let photo = app
            .upload_file(
                &editor,
                "photo",
                &[("exchange", id(&visit))],
                bytes.clone(),
                &format!("考察照片{i}.png"),
            )
            .await;
        photo_ids.push(id(&photo));
    }

    let response = app
        .get(
            &format!("/api/v1/assessments/{zunyi}/2019/package"),
            &editor,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/zip")
    );
    let bytes = response.bytes().await.expect("the whole package").to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("entry");
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("read");
        files.insert(entry.name().expect("name").to_string(), content);
    }
    let voucher_path = format!("evidence/document/{}-到账凭证.pdf", id(&voucher));
    let album_path = format!("albums/exchange-{}.pdf", id(&visit));
    let mut expected: Vec<String> = vec![
        voucher_path.clone(),
        album_path.clone(),
        "index.xlsx".into(),
        "assessment.json".into(),
        "manifest.json".into(),
    ];
    for (i, photo) in photo_ids.iter().enumerate() {
        expected.push(format!("evidence/photo/{photo}-考察照片{i}.png"));
    }
    expected.sort();
    assert_eq!(files.keys().cloned().collect::<Vec<_>>(), expected);
    // The evidence is the file uploaded.
    assert_eq!(files[&voucher_path].len(), 3009);
    assert_eq!(
        sha256_hex(&files[&voucher_path]),
        voucher["sha256"].as_str().unwrap_or_default()
    );

    // The manifest names every other file with its SHA-256 and size.
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest");
    let listed: BTreeMap<String, (String, u64)> = manifest["files"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|f| {
                    (
                        f["path"].as_str().unwrap_or_default().to_string(),
                        (
                            f["sha256"].as_str().unwrap_or_default().to_string(),
                            f["size_bytes"].as_u64().unwrap_or_default(),
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(listed.len(), files.len() - 1, "{manifest}");
    for (path, content) in &files {
        if path == "manifest.json" {
            continue;
        }
        assert_eq!(
            listed.get(path),
            Some(&(sha256_hex(content), content.len() as u64)),
            "{path}"
        );
    }

    // The visit's two photos are one album of two pages.
    let album = lopdf::Document::load_mem(&files[&album_path]).expect("a PDF");
    assert_eq!(album.get_pages().len(), 2);

    // The index lists each piece of evidence with what it proves and supports.
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(files["index.xlsx"].clone()))
            .expect("index workbook");
    let sheet = book.worksheet_range("印证资料目录").expect("sheet");
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0][0], "文件路径");
    let row = rows
        .iter()
        .find(|r| r[0] == voucher_path)
        .expect("the voucher's row");
    assert_eq!(row[6], format!("fund_transaction:{}", id(&arrival)));
    assert!(row[7].split('\n').any(|c| c == "arrived_fen"), "{row:?}");
    let photo_row = rows
        .iter()
        .find(|r| r[9] == photo_ids[0].to_string())
        .expect("a photo's row");
    assert_eq!(photo_row[8], album_path);

    // The indicators are those the assessment gives.
    let packaged: Value = serde_json::from_slice(&files["assessment.json"]).expect("json");
    let (_, live) = parts(
        app.get(&format!("/api/v1/assessments/{zunyi}/2019"), &editor)
            .await,
    )
    .await;
    assert_eq!(packaged["indicators"], live["indicators"]);

    // Not for those who cannot read the organization's records whole: a problem, not a ZIP.
    let response = app
        .get(
            &format!("/api/v1/assessments/{zunyi}/2019/package"),
            &app.token(Role::Partner, Some("310000")),
        )
        .await;
    tests::assert_problem(response, 404, "not_found").await;

    // A file changed in storage behind the service's back breaks the download instead of
    // passing as the evidence.
    if tests::s3_endpoint().is_none() {
        let stored = app
            .config
            .data_dir
            .join("evidence-files/evidence")
            .join(id(&voucher).to_string());
        std::fs::write(&stored, b"%PDF-1.7\ntampered").expect("overwrite");
        let response = app
            .get(
                &format!("/api/v1/assessments/{zunyi}/2019/package"),
                &editor,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.bytes().await.is_err(),
            "a tampered package downloaded whole"
        );
    }
}
