//! The quarterly ledger (台账) of an organization, against a fixture computed by hand: which
//! records a quarter holds, the money totals, each project's status at the quarter's end, and
//! the gaps (a transaction without a voucher, an exchange without a photo, a completed project
//! without an acceptance document, an overdue plan task); who may read which ledger.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{assert_problem, parts, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

async fn created(response: reqwest::Response) -> Value {
    let (status, body) = parts(response).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn id(v: &Value) -> Uuid {
    v["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .expect("id")
}

fn ids_of(list: &Value) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = list
        .as_array()
        .map(|items| items.iter().map(id).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_quarter_ledger_holds_its_records_totals_and_gaps() {
    let app = spawn_app().await;
    let zunyi = app.org_id("520300").await;
    let pairing = app.pairing_id("310000", "520300").await;
    let editor = app.token(Role::Editor, Some("520300"));
    let partner = app.token(Role::Partner, Some("310000"));
    let admin = app.admin_token();

    // Two projects of 2019 on 上海–遵义.
    app.insert_projects(pairing, zunyi, 2).await;
    let (_, page) = parts(
        app.get(&format!("/api/v1/projects?pairing_id={pairing}"), &admin)
            .await,
    )
    .await;
    let (a, b) = (id(&page["items"][0]), id(&page["items"][1]));
    // B is agreed today: at the end of 2019 Q3 it was still proposed.
    let response = app
        .patch_json(
            &format!("/api/v1/projects/{b}"),
            &editor,
            Some(1),
            &json!({"status": "agreed"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let money = |kind: &str, fen: i64, on: &str, project: Option<Uuid>| {
        json!({"kind": kind, "amount_fen": fen, "occurred_on": on, "pairing_id": pairing,
               "project_id": project, "voucher_no": format!("V-{on}")})
    };
    let pledge = created(
        app.post_json(
            "/api/v1/fund-transactions",
            &partner,
            &money("pledge", 100_000, "2019-08-01", Some(a)),
        )
        .await,
    )
    .await;
    let transfer = created(
        app.post_json(
            "/api/v1/fund-transactions",
            &partner,
            &money("transfer", 60_000, "2019-09-02", Some(a)),
        )
        .await,
    )
    .await;
    let arrival = created(
        app.post_json(
            "/api/v1/fund-transactions",
            &editor,
            &money("arrival", 60_000, "2019-09-10", Some(a)),
        )
        .await,
    )
    .await;
    // In Q4: not in the Q3 ledger.
    let later = created(
        app.post_json(
            "/api/v1/fund-transactions",
            &partner,
            &money("transfer", 5_000, "2019-10-08", Some(a)),
        )
        .await,
    )
    .await;
    let visit = created(
        app.post_json(
            "/api/v1/exchanges",
            &editor,
            &json!({"kind": "inspection_visit", "direction": "east_to_west", "pairing_id": pairing,
                    "host_org_id": zunyi, "visiting_org_ids": [app.org_id("310000").await],
                    "start_on": "2019-09-20", "end_on": "2019-09-21"}),
        )
        .await,
    )
    .await;
    let meeting = created(
        app.post_json(
            "/api/v1/exchanges",
            &editor,
            &json!({"kind": "special_meeting", "direction": "local", "host_org_id": zunyi,
                    "start_on": "2019-07-15", "end_on": "2019-07-15"}),
        )
        .await,
    )
    .await;
    // Proof: the arrival's voucher, the transfer's bank letter, the visit's photo. The pledge
    // and the meeting have none.
    let voucher = app
        .upload_proof(&editor, "document", ("fund_transaction", id(&arrival)))
        .await;
    let letter = app
        .upload_proof(
            &partner,
            "correspondence",
            ("fund_transaction", id(&transfer)),
        )
        .await;
    let photo = app
        .upload_proof(&editor, "photo", ("exchange", id(&visit)))
        .await;

    let (status, ledger) = parts(
        app.get(&format!("/api/v1/ledgers/{zunyi}/2019/3"), &editor)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ledger}");
    assert_eq!(ledger["org_id"], json!(zunyi));
    assert_eq!(ledger["due_on"], "2019-10-12");
    assert_eq!(ids_of(&ledger["fund_transactions"]), {
        let mut v = vec![id(&pledge), id(&transfer), id(&arrival)];
        v.sort();
        v
    });
    assert!(!ids_of(&ledger["fund_transactions"]).contains(&id(&later)));
    assert_eq!(ids_of(&ledger["exchanges"]), {
        let mut v = vec![id(&visit), id(&meeting)];
        v.sort();
        v
    });
    assert_eq!(ids_of(&ledger["projects"]), {
        let mut v = vec![a, b];
        v.sort();
        v
    });
    assert_eq!(ids_of(&ledger["evidence"]), {
        let mut v = vec![id(&voucher), id(&letter), id(&photo)];
        v.sort();
        v
    });
    let project_b = ledger["projects"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| id(p) == b))
        .cloned()
        .unwrap_or_default();
    assert_eq!(project_b["status"], "agreed");
    assert_eq!(project_b["status_at_period_end"], "proposed");
    assert_eq!(
        ledger["totals"],
        json!({"pledged_fen": 100_000, "transferred_fen": 60_000, "arrived_fen": 60_000,
               "spent_fen": 0, "refunded_fen": 0, "projects": 2, "fund_transactions": 3,
               "exchanges": 2, "plan_tasks": 0, "evidence": 3, "gaps": 2})
    );
    let gaps: Vec<(String, Uuid)> = ledger["gaps"]
        .as_array()
        .map(|g| {
            g.iter()
                .map(|g| {
                    (
                        g["kind"].as_str().unwrap_or("").to_string(),
                        Uuid::parse_str(g["record_id"].as_str().unwrap_or("")).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        gaps,
        [
            ("fund_transaction_without_voucher".to_string(), id(&pledge)),
            ("exchange_without_evidence".to_string(), id(&meeting)),
        ],
        "{}",
        ledger["gaps"]
    );

    // The Q4 ledger holds the later transfer only, due after 国庆 and New Year's Day.
    let (_, q4) = parts(
        app.get(&format!("/api/v1/ledgers/{zunyi}/2019/4"), &editor)
            .await,
    )
    .await;
    assert_eq!(ids_of(&q4["fund_transactions"]), vec![id(&later)]);
    assert_eq!(q4["due_on"], "2020-01-08");
    assert_eq!(q4["totals"]["transferred_fen"], 5_000);
}

#[tokio::test]
async fn completed_projects_need_acceptance_and_the_province_sees_overdue_tasks() {
    let app = spawn_app().await;
    let zunyi = app.org_id("520300").await;
    let pairing = app.pairing_id("310000", "520300").await;
    let editor = app.token(Role::Editor, Some("520300"));
    app.insert_projects(pairing, zunyi, 1).await;
    // Completed (written straight into the table: no change is logged, so the stored status
    // is the status at the quarter's end).
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        entity::project::Entity::update_many()
            .col_expr(entity::project::Column::Status, Expr::value("completed"))
            .filter(entity::project::Column::PairingId.eq(pairing))
            .exec(&app.ctx.db)
            .await
            .expect("update");
    }
    let path = format!("/api/v1/ledgers/{zunyi}/2019/2");
    let (_, ledger) = parts(app.get(&path, &editor).await).await;
    let project = id(&ledger["projects"][0]);
    assert_eq!(
        ledger["gaps"][0]["kind"], "completed_project_without_acceptance",
        "{ledger}"
    );
    assert_eq!(ledger["gaps"][0]["record_id"], json!(project));
    // A photo is not an acceptance document; a document is.
    app.upload_proof(&editor, "photo", ("project", project))
        .await;
    let (_, ledger) = parts(app.get(&path, &editor).await).await;
    assert_eq!(ledger["totals"]["gaps"], 1);
    app.upload_proof(&editor, "document", ("project", project))
        .await;
    let (_, ledger) = parts(app.get(&path, &editor).await).await;
    assert_eq!(ledger["gaps"], json!([]), "{ledger}");

    // The province's ledger holds the seeded plan's Q2 tasks (all due in 2019, long past); the
    // ones whose target was not met are overdue gaps.
    let province = app.org_id("520000").await;
    let (status, ledger) = parts(
        app.get(
            &format!("/api/v1/ledgers/{province}/2019/2"),
            &app.token(Role::Coordinator, Some("520000")),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let tasks = ledger["plan_tasks"].as_array().cloned().unwrap_or_default();
    assert!(!tasks.is_empty(), "{ledger}");
    assert!(tasks.iter().all(|t| t["quarter"] == 2));
    let overdue: Vec<&Value> = tasks.iter().filter(|t| t["status"] == "overdue").collect();
    let overdue_gaps = ledger["gaps"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter(|g| g["kind"] == "plan_task_overdue")
                .count()
        })
        .unwrap_or_default();
    assert!(!overdue.is_empty());
    assert_eq!(overdue_gaps, overdue.len());
}

#[tokio::test]
async fn a_ledger_is_read_under_the_callers_scope() {
    let app = spawn_app().await;
    let zunyi = app.org_id("520300").await;
    let pairing = app.pairing_id("310000", "520300").await;
    let other = app.pairing_id("440100", "520500").await;
    app.insert_projects(pairing, zunyi, 1).await;
    {
        // insert_projects numbers from BULK-00000 each time; codes are unique.
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        entity::project::Entity::update_many()
            .col_expr(entity::project::Column::Code, Expr::value("ZY-1"))
            .filter(entity::project::Column::PairingId.eq(pairing))
            .exec(&app.ctx.db)
            .await
            .expect("update");
    }
    app.insert_projects(other, app.org_id("520500").await, 1)
        .await;
    let path = format!("/api/v1/ledgers/{zunyi}/2019/1");
    // 遵义's partner reads 遵义's ledger (its pairing's records); 广州, paired with 毕节, does not.
    let (status, ledger) = parts(
        app.get(&path, &app.token(Role::Partner, Some("310000")))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ledger["projects"].as_array().map(Vec::len), Some(1));
    assert_problem(
        app.get(&path, &app.token(Role::Partner, Some("440100")))
            .await,
        404,
        "not_found",
    )
    .await;
    // The province's ledger holds every prefecture's projects; 毕节's editor reads its own only.
    let province = app.org_id("520000").await;
    let (_, all) = parts(
        app.get(
            &format!("/api/v1/ledgers/{province}/2019/1"),
            &app.admin_token(),
        )
        .await,
    )
    .await;
    assert_eq!(all["projects"].as_array().map(Vec::len), Some(2));
    let (_, own) = parts(
        app.get(
            &format!("/api/v1/ledgers/{province}/2019/1"),
            &app.token(Role::Editor, Some("520500")),
        )
        .await,
    )
    .await;
    assert_eq!(own["projects"].as_array().map(Vec::len), Some(1), "{own}");
    for (path, field) in [
        (format!("/api/v1/ledgers/{zunyi}/2019/5"), "quarter"),
        (format!("/api/v1/ledgers/{zunyi}/1999/1"), "year"),
    ] {
        let problem = assert_problem(
            app.get(&path, &app.admin_token()).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field);
    }
    assert_problem(
        app.get(
            &format!("/api/v1/ledgers/{}/2019/1", Uuid::now_v7()),
            &app.admin_token(),
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_ledger_exports_as_xlsx_and_csv_that_read_back() {
    use calamine::{Data, Reader, Xlsx};
    let app = spawn_app().await;
    let zunyi = app.org_id("520300").await;
    let pairing = app.pairing_id("310000", "520300").await;
    let partner = app.token(Role::Partner, Some("310000"));
    let editor = app.token(Role::Editor, Some("520300"));
    created(
        app.post_json(
            "/api/v1/fund-transactions",
            &partner,
            &json!({"kind": "pledge", "amount_fen": 123_456_789, "occurred_on": "2019-08-01",
                    "pairing_id": pairing, "voucher_no": "沪残联〔2019〕1号"}),
        )
        .await,
    )
    .await;
    let path = format!("/api/v1/ledgers/{zunyi}/2019/3");

    let response = app.get(&format!("{path}?format=xlsx"), &editor).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = response.bytes().await.expect("bytes").to_vec();
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).expect("an XLSX file");
    assert_eq!(
        book.sheet_names(),
        [
            "汇总",
            "项目",
            "资金往来",
            "交流活动",
            "计划任务",
            "印证资料",
            "问题清单"
        ]
    );
    let money = book.worksheet_range("资金往来").expect("sheet");
    assert_eq!(money.get((0, 0)), Some(&Data::String("日期".into())));
    assert_eq!(money.get((0, 2)), Some(&Data::String("金额（元）".into())));
    assert_eq!(money.get((1, 1)), Some(&Data::String("认捐".into())));
    assert_eq!(money.get((1, 2)), Some(&Data::Float(1_234_567.89)));
    assert_eq!(
        money.get((1, 3)),
        Some(&Data::String("沪残联〔2019〕1号".into()))
    );
    let summary = book.worksheet_range("汇总").expect("sheet");
    assert_eq!(
        summary.get((5, 0)),
        Some(&Data::String("认捐（元）".into()))
    );
    assert_eq!(summary.get((5, 1)), Some(&Data::Float(1_234_567.89)));
    let gaps = book.worksheet_range("问题清单").expect("sheet");
    assert_eq!(
        gaps.get((1, 0)),
        Some(&Data::String("资金往来缺凭证".into()))
    );
    // Every sheet keeps its header row in view.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
    for i in 1..=7 {
        let mut xml = String::new();
        std::io::Read::read_to_string(
            &mut archive
                .by_name(&format!("xl/worksheets/sheet{i}.xml"))
                .expect("sheet xml"),
            &mut xml,
        )
        .expect("read");
        assert!(
            xml.contains(r#"ySplit="1""#),
            "sheet {i} has no frozen header row"
        );
    }

    let response = app
        .get(
            &format!("{path}?format=csv&part=fund_transactions"),
            &editor,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let text = response.text().await.expect("text");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("\u{feff}日期,类型,金额（元）,凭证号,项目,结对,记录方,备注,ID")
    );
    let row = lines.next().unwrap_or_default();
    assert!(
        row.starts_with("2019-08-01,认捐,1234567.89,沪残联〔2019〕1号,,"),
        "{row}"
    );
    assert_eq!(lines.next(), None);

    for (query, field) in [
        ("format=csv", "part"),
        ("format=xlsx&part=gaps", "part"),
        ("format=pdf", "format"),
    ] {
        let problem = assert_problem(
            app.get(&format!("{path}?{query}"), &editor).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
}
