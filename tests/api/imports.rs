//! Spreadsheet import as a clerk uses it: a dry run lists every bad row and cell and writes
//! nothing; the real run of a bad file writes nothing either and says why; a good file commits
//! whole; an exported workbook imports back unchanged; and nobody imports outside their scope.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tests::{TestApp, assert_problem, parts, spawn_app, spawn_app_with};
use xiezuo::domain::Role;

async fn import(
    app: &TestApp,
    token: &str,
    record_type: &str,
    dry_run: bool,
    bytes: Vec<u8>,
    file_name: &str,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
    );
    app.request(
        Method::POST,
        &format!("/api/v1/imports/{record_type}?dry_run={dry_run}"),
        Some(token),
    )
    .multipart(form)
    .send()
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// How many fund transactions of `pairing` the editor reads.
async fn count(app: &TestApp, token: &str, pairing: &str) -> usize {
    let (status, body) = parts(
        app.get(
            &format!("/api/v1/fund-transactions?pairing_id={pairing}&limit=500"),
            token,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().map_or(0, Vec::len)
}

fn errors_of(body: &Value, key: &str) -> Vec<(u64, String, String)> {
    body[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["row"].as_u64().unwrap_or_default(),
                e[if key == "errors" && e.get("column").is_some() {
                    "column"
                } else {
                    "field"
                }]
                .as_str()
                .unwrap_or_default()
                .to_string(),
                e["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_dry_run_lists_every_bad_row_and_cell_and_nothing_is_written_either_way() {
    let app = spawn_app().await;
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let other = uuid::Uuid::now_v7().to_string();
    let editor = app.token(Role::Editor, Some("520300"));
    let before = count(&app, &editor, &pairing).await;
    // Row 2 is good; 3 has too many decimals; 4 an unknown kind and a bad date; 5 lacks its
    // external id; 6 names no pairing (a rule of sync itself); the
    // blank row 7 is skipped; 8 is good.
    let csv = format!(
        "外部编号,类型,金额（元）,日期,凭证号,结对ID,备注,版本\n\
         IMP-1,到位,1234.56,2019-07-02,V-1,{pairing},,3\n\
         IMP-2,到位,12.345,2019-07-03,,{pairing},,\n\
         IMP-3,收到,5,2019-13-01,,{pairing},,\n\
         ,到位,5,2019-07-04,,{pairing},,\n\
         IMP-5,到位,5,2019-07-05,,{other},,\n\
         ,,,,,,,\n\
         IMP-7,支出,1.00,2019/07/06,,{pairing},'=1+1,\n"
    );
    let (status, body) = parts(
        import(
            &app,
            &editor,
            "fund_transaction",
            true,
            csv.clone().into_bytes(),
            "a.csv",
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], 6, "the blank row is not counted: {body}");
    assert_eq!(body["dry_run"], true);
    assert_eq!(
        body["created"], 0,
        "nothing is written when a row is bad: {body}"
    );
    assert_eq!(body["ignored_columns"], serde_json::json!(["版本"]));
    let errors = errors_of(&body, "errors");
    let rows: Vec<u64> = errors.iter().map(|e| e.0).collect();
    assert_eq!(rows, [3, 4, 4, 5, 6], "{body}");
    assert_eq!(errors[0].1, "金额（元）");
    assert_eq!(errors[1].1, "类型");
    assert_eq!(errors[2].1, "日期");
    assert_eq!(
        (errors[3].1.as_str(), errors[3].2.as_str()),
        ("外部编号", "required")
    );
    assert_eq!(errors[4].1, "结对ID", "{body}");
    assert_eq!(count(&app, &editor, &pairing).await, before);

    // The real run of the same file: a 422 naming the same rows, and still nothing written.
    let response = import(
        &app,
        &editor,
        "fund_transaction",
        false,
        csv.into_bytes(),
        "a.csv",
    )
    .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    let rows: Vec<u64> = errors_of(&problem, "errors").iter().map(|e| e.0).collect();
    assert_eq!(rows, [3, 4, 4, 5, 6], "{problem}");
    assert_eq!(count(&app, &editor, &pairing).await, before);
}

#[tokio::test]
async fn a_good_file_commits_whole_and_its_export_imports_back_unchanged() {
    let app = spawn_app().await;
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let editor = app.token(Role::Editor, Some("520300"));
    let before = count(&app, &editor, &pairing).await;
    // English headers: money in fen.
    let csv = format!(
        "external_id,kind,amount_fen,occurred_on,voucher_no,pairing_id,note\n\
         EN-1,arrival,123456,2019-07-02,V-9,{pairing},first\n\
         EN-2,expenditure,100,2019-07-03,,{pairing},'=2+2\n"
    );
    let (status, body) = parts(
        import(
            &app,
            &editor,
            "fund_transaction",
            false,
            csv.clone().into_bytes(),
            "b.csv",
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["created"].as_u64(), body["rows"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(count(&app, &editor, &pairing).await, before + 2);
    let (_, listed) = parts(
        app.get(
            "/api/v1/fund-transactions?external_id=EN-1&limit=5",
            &editor,
        )
        .await,
    )
    .await;
    assert_eq!(listed["items"][0]["amount_fen"], 123_456, "{listed}");
    let (_, listed) = parts(
        app.get(
            "/api/v1/fund-transactions?external_id=EN-2&limit=5",
            &editor,
        )
        .await,
    )
    .await;
    assert_eq!(
        listed["items"][0]["note"], "=2+2",
        "the export's quote is undone"
    );

    // The same file again: unchanged.
    let (_, again) = parts(
        import(
            &app,
            &editor,
            "fund_transaction",
            false,
            csv.into_bytes(),
            "b.csv",
        )
        .await,
    )
    .await;
    assert_eq!(again["unchanged"], 2, "{again}");

    // Export as XLSX and import the workbook back: every row is the record it came from.
    let response = app
        .get(
            &format!("/api/v1/fund-transactions?pairing_id={pairing}&external_id=EN-1&format=xlsx"),
            &editor,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let workbook = response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_vec();
    let (status, back) = parts(
        import(
            &app,
            &editor,
            "fund_transaction",
            false,
            workbook,
            "export.xlsx",
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(
        (back["rows"].as_u64(), back["unchanged"].as_u64()),
        (Some(1), Some(1)),
        "{back}"
    );
    let ignored = back["ignored_columns"].to_string();
    assert!(
        ignored.contains("版本") && ignored.contains("ID"),
        "{ignored}"
    );

    // Edit the export's amount in yuan and import: updated.
    let (headers, rows) = {
        let text = app
            .get(
                "/api/v1/fund-transactions?external_id=EN-1&format=csv",
                &editor,
            )
            .await
            .text()
            .await
            .unwrap_or_default();
        let mut lines = text.lines();
        (
            lines.next().unwrap_or_default().to_string(),
            lines.map(String::from).collect::<Vec<_>>(),
        )
    };
    assert_eq!(rows.len(), 1);
    let edited = format!("{headers}\n{}\n", rows[0].replace("1234.56", "1300.00"));
    let (status, body) = parts(
        import(
            &app,
            &editor,
            "fund_transaction",
            false,
            edited.into_bytes(),
            "e.csv",
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["updated"], 1, "{body}");
    let (_, listed) = parts(
        app.get(
            "/api/v1/fund-transactions?external_id=EN-1&limit=5",
            &editor,
        )
        .await,
    )
    .await;
    assert_eq!(listed["items"][0]["amount_fen"], 130_000);
}

#[tokio::test]
async fn projects_and_exchanges_import_with_chinese_labels_and_names() {
    let app = spawn_app().await;
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let editor = app.token(Role::Editor, Some("520300"));
    let csv = format!(
        "外部编号,项目编号,项目名称,年度,类别,结对ID,深度贫困地区,计划受益人数,预算（元）,立项依据,帮扶措施\n\
         P-1,IMP-2019-001,康复中心设备采购,2019,康复托养机构,{pairing},是,120,500000.00,依据,措施\n"
    );
    let (status, body) =
        parts(import(&app, &editor, "project", false, csv.into_bytes(), "p.csv").await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], 1, "{body}");
    let (_, listed) = parts(app.get("/api/v1/projects?code=IMP-2019-001", &editor).await).await;
    let project = &listed["items"][0];
    assert_eq!(project["category"], "care_facility");
    assert_eq!(project["budget_fen"], 50_000_000);
    assert_eq!(project["deep_poverty"], true);

    // Give it items and a milestone through the API; its exported row then imports back
    // unchanged, keeping what no column holds, and an edited title changes only the title.
    let id = project["id"].as_str().unwrap_or_default();
    let (status, patched) = parts(
        app.patch_json(
            &format!("/api/v1/projects/{id}"),
            &editor,
            None,
            &json!({"items": [{"name": "康复床", "unit": "张", "quantity": 10,
                               "unit_cost_fen": 200_000}],
                    "milestones": [{"title": "设备到货", "due_on": "2019-10-01"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let exported = app
        .get("/api/v1/projects?code=IMP-2019-001&format=csv", &editor)
        .await
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_vec();
    let (status, back) =
        parts(import(&app, &editor, "project", false, exported.clone(), "p.csv").await).await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(back["unchanged"], 1, "{back}");
    let edited = String::from_utf8(exported)
        .unwrap_or_default()
        .replace("康复中心设备采购", "康复中心设备采购（二期）");
    let (_, again) = parts(
        import(
            &app,
            &editor,
            "project",
            false,
            edited.into_bytes(),
            "p.csv",
        )
        .await,
    )
    .await;
    assert_eq!(again["updated"], 1, "{again}");
    let (_, after) = parts(app.get(&format!("/api/v1/projects/{id}"), &editor).await).await;
    assert_eq!(after["title"], "康复中心设备采购（二期）");
    assert_eq!(
        after["items"], patched["items"],
        "the items survived the import"
    );
    assert_eq!(after["milestones"], patched["milestones"]);

    let zunyi = app.org_id("520300").await;
    let csv = format!(
        "外部编号,类型,方向,结对ID,接待单位,来访单位,开始日期,结束日期,出席领导,参加人数\n\
         X-1,考察调研,东部来黔,{pairing},{zunyi},310000,2019-09-01,2019-09-03,副理事长；处长,8\n\
         X-2,考察调研,东部来黔,{pairing},{zunyi},不存在的单位,2019-09-01,2019-09-03,,\n\
         X-3,考察调研,东部来黔,{pairing},{zunyi},520526,2019-09-01,2019-09-03,,\n"
    );
    let (status, body) =
        parts(import(&app, &editor, "exchange", true, csv.into_bytes(), "x.csv").await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let errors = errors_of(&body, "errors");
    assert_eq!(errors.len(), 2, "{body}");
    assert_eq!((errors[0].0, errors[0].1.as_str()), (3, "来访单位"));
    // 威宁 exists, but not for 遵义's editor: it reads as absent as a name that is nobody's.
    assert_eq!((errors[1].0, errors[1].1.as_str()), (4, "来访单位"));
    let messages: Vec<String> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            e["message"]
                .as_str()
                .unwrap_or_default()
                .split(':')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(messages[0], messages[1], "{body}");
}

#[tokio::test]
async fn an_import_is_refused_outside_the_callers_scope_and_for_what_is_not_a_spreadsheet() {
    let app = spawn_app().await;
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let outsider = app.token(Role::Partner, Some("320500"));
    let csv = format!("外部编号,类型,金额（元）,日期,结对ID\nO-1,拨付,1.00,2019-07-02,{pairing}\n");
    // The partner does not read the pairing: to it, there is no such pairing.
    let (status, body) = parts(
        import(
            &app,
            &outsider,
            "fund_transaction",
            true,
            csv.clone().into_bytes(),
            "o.csv",
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], 0, "{body}");
    let errors = errors_of(&body, "errors");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(
        (errors[0].1.as_str(), errors[0].2.as_str()),
        ("结对ID", "not_found")
    );
    let response = import(
        &app,
        &outsider,
        "fund_transaction",
        false,
        csv.into_bytes(),
        "o.csv",
    )
    .await;
    assert_problem(response, 422, "validation_failed").await;
    let editor = app.token(Role::Editor, Some("520300"));
    assert_eq!(
        count(&app, &editor, &pairing).await,
        0,
        "the outsider wrote"
    );
    let auditor = app.token(Role::Auditor, None);
    assert_problem(
        import(
            &app,
            &auditor,
            "fund_transaction",
            true,
            format!("external_id,kind,amount_fen,occurred_on,pairing_id\nA-1,transfer,1,2019-07-01,{pairing}\n")
                .into_bytes(),
            "a.csv",
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        import(&app, &editor, "pairing", true, b"x\n".to_vec(), "a.csv").await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        import(
            &app,
            &editor,
            "fund_transaction",
            true,
            vec![0xff, 0xfe, 0x00, 0x81],
            "a.bin",
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        import(
            &app,
            &editor,
            "fund_transaction",
            true,
            b"PK\x03\x04garbage".to_vec(),
            "a.xlsx",
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    // A file wider than any sheet of records is refused, naming the file, before a row is read.
    let wide = format!("{}\n", vec!["x"; 201].join(","));
    let body = assert_problem(
        import(
            &app,
            &editor,
            "fund_transaction",
            true,
            wide.into_bytes(),
            "w.csv",
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "file", "{body}");
    assert!(body.to_string().contains("200 columns"), "{body}");
}

/// The one error of a refused file: `file`, and why.
async fn file_refusal(response: reqwest::Response) -> String {
    let body = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "file", "{body}");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_file_beyond_the_bounds_is_refused_naming_the_bound_and_writes_nothing() {
    let app = spawn_app_with(|c| c.import_max_bytes = 8 * 1024 * 1024).await;
    let pairing = app.pairing_id("310000", "520300").await.to_string();
    let editor = app.token(Role::Editor, Some("520300"));
    let header = "外部编号,类型,金额（元）,日期,结对ID";
    let row = |i: usize| format!("B-{i},到位,1.00,2019-07-02,{pairing}");

    // 200 columns are read (the extra ones are ignored); 201 are too many.
    for (columns, refused) in [(200, false), (201, true)] {
        let extra: Vec<String> = (5..columns).map(|i| format!("c{i}")).collect();
        let csv = format!("{header},{}\n{}\n", extra.join(","), row(0));
        let response = import(
            &app,
            &editor,
            "fund_transaction",
            true,
            csv.into_bytes(),
            "c.csv",
        )
        .await;
        if refused {
            let why = file_refusal(response).await;
            assert_eq!(why, "has more than 200 columns; split it");
        } else {
            let (status, body) = parts(response).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["rows"], 1, "{body}");
        }
    }

    let refused = async |csv: String| {
        let response = import(
            &app,
            &editor,
            "fund_transaction",
            false,
            csv.into_bytes(),
            "f.csv",
        );
        file_refusal(response.await).await
    };

    // 100,001 rows are one too many (the header does not count).
    let mut csv = String::from(header);
    for i in 0..100_001 {
        csv.push('\n');
        csv.push_str(&row(i));
    }
    let why = refused(csv).await;
    assert_eq!(why, "has more than 100000 rows; split it");

    // Few rows, but more than 3,000,000 cells: 15,001 rows of 200.
    let wide = vec!["1"; 195].join(",");
    let mut csv = format!(
        "{header},{}",
        (5..200)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    for i in 0..15_001 {
        csv.push('\n');
        csv.push_str(&row(i));
        csv.push(',');
        csv.push_str(&wide);
    }
    let why = refused(csv).await;
    assert_eq!(why, "has more than 3000000 cells; split it");
    assert_eq!(
        count(&app, &editor, &pairing).await,
        0,
        "a refused file wrote"
    );

    // More bytes than XIEZUO_IMPORT_MAX_BYTES: refused while it is received.
    let big = format!("{header}\n{}", "x".repeat(8 * 1024 * 1024));
    let response = import(
        &app,
        &editor,
        "fund_transaction",
        true,
        big.into_bytes(),
        "b.csv",
    )
    .await;
    let why = file_refusal(response).await;
    assert_eq!(why, "must be at most 8388608 bytes");
}
