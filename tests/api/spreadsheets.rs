//! Lists as spreadsheets, read back as a client reads them: every list the OpenAPI document
//! says takes `format` answers CSV and XLSX holding exactly the records its JSON pages hold;
//! an editor's export spans every page and nothing outside the editor's scope; bad input is a
//! problem, not a broken file; and a cell a spreadsheet program would run is defused.

use std::collections::BTreeSet;

use calamine::Reader;
use reqwest::StatusCode;
use serde_json::json;
use tests::{Pages, TestApp, assert_problem, parts, spawn_app};
use xiezuo::domain::Role;

/// The CSV body of `path` for `token`: its header and its rows.
async fn csv_of(app: &TestApp, path: &str, token: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let response = app.get(path, token).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(content_type, "text/csv; charset=utf-8", "{path}");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        disposition.starts_with("attachment") && disposition.contains(".csv"),
        "{path}: {disposition}"
    );
    let bytes = response.bytes().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        bytes.starts_with(b"\xef\xbb\xbf"),
        "{path}: no byte-order mark"
    );
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers = reader
        .headers()
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            r.unwrap_or_else(|e| panic!("{path}: {e}"))
                .iter()
                .map(String::from)
                .collect()
        })
        .collect();
    (headers, rows)
}

/// The XLSX body of `path` for `token`: its sheet names and the cells of its first sheet.
async fn xlsx_of(
    app: &TestApp,
    path: &str,
    token: &str,
) -> (Vec<String>, calamine::Range<calamine::Data>) {
    let response = app.get(path, token).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "{path}"
    );
    let bytes = response.bytes().await.unwrap_or_else(|e| panic!("{e}"));
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec()))
            .unwrap_or_else(|e| panic!("{path}: not a workbook: {e}"));
    let names = book.sheet_names();
    let first = book
        .worksheet_range_at(0)
        .unwrap_or_else(|| panic!("{path}: no sheet"))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    (names, first)
}

/// Every id the JSON list `path` (with a `?`) pages through.
async fn json_ids(app: &TestApp, path: &str, token: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut pages = Pages::new(100);
    let mut url = format!("{path}&limit=500");
    loop {
        let (status, body) = parts(app.get(&url, token).await).await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
        for item in body["items"].as_array().into_iter().flatten() {
            assert!(
                ids.insert(item["id"].as_str().unwrap_or_default().to_string()),
                "{url}: an id twice"
            );
        }
        match body["next_cursor"].as_str() {
            Some(c) => url = format!("{path}&limit=500&cursor={}", pages.next(c)),
            None => return ids,
        }
    }
}

/// The `ID` column of an export.
fn id_column(path: &str, headers: &[String], rows: &[Vec<String>]) -> BTreeSet<String> {
    let at = headers
        .iter()
        .position(|h| h == "ID")
        .unwrap_or_else(|| panic!("{path}: no ID column in {headers:?}"));
    let ids: BTreeSet<String> = rows.iter().map(|r| r[at].clone()).collect();
    assert_eq!(ids.len(), rows.len(), "{path}: a record twice");
    ids
}

#[tokio::test]
async fn every_list_in_the_openapi_document_answers_csv_and_xlsx_with_its_records() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let pairing = app.pairing_id("310000", "520300").await;
    app.insert_projects(pairing, app.org_id("520300").await, 3)
        .await;
    let (status, doc) = parts(app.get("/api/v1/openapi.json", &admin).await).await;
    assert_eq!(status, StatusCode::OK);
    let mut lists = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        let Some(get) = item.get("get") else { continue };
        let takes_format = get["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "format" && p["in"] == "query");
        if !takes_format || path.contains('{') {
            continue;
        }
        let content = &get["responses"]["200"]["content"];
        for media in [
            "application/json",
            "text/csv",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ] {
            assert!(content.get(media).is_some(), "{path}: no {media} answer");
        }
        lists.push(path.clone());
    }
    // Every record family's list, the accounts and the audit log.
    for expected in [
        "/api/v1/organizations",
        "/api/v1/pairings",
        "/api/v1/working-groups",
        "/api/v1/contacts",
        "/api/v1/plans",
        "/api/v1/plan-tasks",
        "/api/v1/projects",
        "/api/v1/fund-transactions",
        "/api/v1/exchanges",
        "/api/v1/agreements",
        "/api/v1/evidence",
        "/api/v1/ledger-submissions",
        "/api/v1/self-assessments",
        "/api/v1/reconciliations",
        "/api/v1/webhooks",
        "/api/v1/users",
        "/api/v1/service-accounts",
        "/api/v1/audit-log",
    ] {
        assert!(
            lists.iter().any(|l| l == expected),
            "{expected} takes no format"
        );
    }
    let mut nonempty = 0;
    for path in &lists {
        let ids = json_ids(&app, &format!("{path}?format=json"), &admin).await;
        let (headers, rows) = csv_of(&app, &format!("{path}?format=csv"), &admin).await;
        assert!(
            headers
                .iter()
                .all(|h| !h.is_ascii() || h == "ID" || h == "SHA-256"),
            "{path}: a header is not Chinese: {headers:?}"
        );
        assert_eq!(id_column(path, &headers, &rows), ids, "{path}: CSV rows");
        let (sheets, cells) = xlsx_of(&app, &format!("{path}?format=xlsx"), &admin).await;
        assert_eq!(sheets.len(), 1, "{path}: {sheets:?}");
        let header_row: Vec<String> = cells
            .rows()
            .next()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .unwrap_or_default();
        assert_eq!(header_row, headers, "{path}: XLSX headers");
        assert_eq!(cells.height(), ids.len() + 1, "{path}: XLSX rows");
        nonempty += usize::from(!ids.is_empty());
    }
    // The fixture fills many lists, so rows were compared, not only headers.
    assert!(nonempty >= 8, "only {nonempty} lists had records");
}

#[tokio::test]
async fn an_editors_export_is_every_page_of_what_the_editor_reads_and_nothing_else() {
    let app = spawn_app().await;
    let pairing = app.pairing_id("310000", "520300").await;
    let zunyi = app.org_id("520300").await;
    // More than two pages of the largest page size.
    let inserted = app.insert_projects(pairing, zunyi, 1_203).await;
    let editor = app.token(Role::Editor, Some("520300"));
    let list = format!("/api/v1/projects?pairing_id={pairing}");

    let ids = json_ids(&app, &list, &editor).await;
    assert!(ids.len() >= 1_203, "{}", ids.len());
    let (headers, rows) = csv_of(&app, &format!("{list}&format=csv&limit=3"), &editor).await;
    let exported = id_column(&list, &headers, &rows);
    assert_eq!(exported, ids);
    assert!(inserted.iter().all(|i| exported.contains(&i.to_string())));

    // Chinese labels, the pairing by name, money in yuan.
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
    };
    let first = rows
        .iter()
        .find(|r| r[col("ID")] == inserted[0].to_string())
        .unwrap_or_else(|| panic!("the first project is missing"));
    assert_eq!(first[col("状态")], "拟定");
    assert_eq!(first[col("类别")], "其他");
    assert_eq!(first[col("预算（元）")], "0.00");
    assert_eq!(first[col("结对ID")], pairing.to_string());
    let pairing_name = &first[col("结对")];
    assert!(
        pairing_name.contains("上海") && pairing_name.contains("遵义"),
        "{pairing_name}"
    );

    // The workbook holds the same rows, and money as numbers.
    let (sheets, cells) = xlsx_of(&app, &format!("{list}&format=xlsx"), &editor).await;
    assert_eq!(sheets, ["项目"]);
    assert_eq!(cells.height(), ids.len() + 1);
    let budget = u32::try_from(col("预算（元）")).unwrap_or_default();
    assert_eq!(
        cells.get_value((1, budget)),
        Some(&calamine::Data::Float(0.0))
    );

    // An editor elsewhere reads none of them: a header and no rows.
    let outsider = app.token(Role::Editor, Some("520200"));
    let (_, rows) = csv_of(&app, &format!("{list}&format=csv"), &outsider).await;
    assert!(rows.is_empty(), "{} rows leaked", rows.len());
    let partner = app.token(Role::Partner, Some("320500"));
    let (_, rows) = csv_of(&app, &format!("{list}&format=csv"), &partner).await;
    assert!(rows.is_empty(), "{} rows leaked", rows.len());
}

#[tokio::test]
async fn bad_list_input_is_a_problem_before_any_file_starts() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let body = assert_problem(
        app.get("/api/v1/projects?format=pdf", &editor).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(body.to_string().contains("format"), "{body}");
    let body = assert_problem(
        app.get("/api/v1/projects?format=csv&year=abc", &editor)
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert!(body.to_string().contains("year"), "{body}");
    assert_problem(
        app.get("/api/v1/fund-transactions?format=xlsx&bogus=1", &editor)
            .await,
        422,
        "validation_failed",
    )
    .await;
    // A role that may not list at all is refused, in any format.
    assert_problem(
        app.get("/api/v1/users?format=csv", &editor).await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn a_cell_a_spreadsheet_would_run_is_defused_and_money_reads_back_exactly() {
    let app = spawn_app().await;
    let pairing = app.pairing_id("310000", "520300").await;
    let editor = app.token(Role::Editor, Some("520300"));
    let (status, created) = parts(
        app.post_json(
            "/api/v1/fund-transactions",
            &editor,
            &json!({"kind": "arrival", "amount_fen": 123_456_789_012_i64,
                    "occurred_on": "2019-08-01", "pairing_id": pairing,
                    "voucher_no": "-V-1", "note": "=HYPERLINK(\"http://x\",\"点击\")"}),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{created}");
    let id = created["id"].as_str().unwrap_or_default();
    let list = format!("/api/v1/fund-transactions?pairing_id={pairing}&kind=arrival&format=csv");
    let (headers, rows) = csv_of(&app, &list, &editor).await;
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap_or(usize::MAX);
    let row = rows
        .iter()
        .find(|r| r.get(at("ID")).is_some_and(|i| i == id))
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(row[at("备注")], "'=HYPERLINK(\"http://x\",\"点击\")");
    assert_eq!(row[at("凭证号")], "'-V-1");
    assert_eq!(row[at("金额（元）")], "1234567890.12");
    assert_eq!(row[at("类型")], "到位");
    assert_eq!(row[at("东西部")], "西部");
    // XLSX cells are never formulas: the text is kept as it was written.
    let (_, cells) = xlsx_of(&app, &list.replace("csv", "xlsx"), &editor).await;
    let note = u32::try_from(at("备注")).unwrap_or_default();
    let money = u32::try_from(at("金额（元）")).unwrap_or_default();
    let line = (1..cells.height() as u32)
        .find(|r| {
            cells
                .get_value((*r, note))
                .is_some_and(|c| c.to_string().contains("HYPER"))
        })
        .unwrap_or_else(|| panic!("the note is missing"));
    assert_eq!(
        cells.get_value((line, note)),
        Some(&calamine::Data::String(
            "=HYPERLINK(\"http://x\",\"点击\")".into()
        ))
    );
    assert_eq!(
        cells.get_value((line, money)),
        Some(&calamine::Data::Float(1_234_567_890.12))
    );
}

#[tokio::test]
async fn an_export_names_only_the_organizations_the_caller_reads() {
    let app = spawn_app().await;
    let pairing = app.pairing_id("310000", "520300").await;
    let renhuai = app.org_id("520382").await;
    let zunyi_editor = app.token(Role::Editor, Some("520300"));
    // 遵义's exchange on the pairing, hosted by its county 仁怀: 上海 reads the exchange (it is
    // on its pairing) but not 仁怀.
    let (status, exchange) = parts(
        app.post_json(
            "/api/v1/exchanges",
            &zunyi_editor,
            &json!({"kind": "inspection_visit", "direction": "east_to_west",
                    "pairing_id": pairing, "host_org_id": renhuai,
                    "visiting_org_ids": [app.org_id("310000").await],
                    "start_on": "2019-09-10", "end_on": "2019-09-11"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{exchange}");
    let id = exchange["id"].as_str().unwrap_or_default();
    let path = format!("/api/v1/exchanges?pairing_id={pairing}&format=csv");
    let host = |headers: &[String], rows: &[Vec<String>]| {
        let at = |name: &str| headers.iter().position(|h| h == name).unwrap_or(usize::MAX);
        rows.iter()
            .find(|r| r.get(at("ID")).is_some_and(|i| i == id))
            .map(|r| (r[at("接待单位")].clone(), r[at("来访单位")].clone()))
            .unwrap_or_else(|| panic!("the exchange is missing"))
    };
    let (headers, rows) = csv_of(&app, &path, &zunyi_editor).await;
    let (by_zunyi, _) = host(&headers, &rows);
    assert_eq!(by_zunyi, "仁怀市残疾人联合会");
    let shanghai = app.token(Role::Partner, Some("310000"));
    let (headers, rows) = csv_of(&app, &path, &shanghai).await;
    let (by_shanghai, visitors) = host(&headers, &rows);
    assert_eq!(
        by_shanghai,
        renhuai.to_string(),
        "a name the partner may not read"
    );
    assert!(visitors.contains("上海"), "{visitors}");
}
