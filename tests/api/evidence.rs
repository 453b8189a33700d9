//! Evidence (印证资料): streamed upload in parts larger than one storage part, the media type
//! sniffed against the category, safe file names, content with `Range`, scope (a pairing the
//! caller cannot read is a 404 for the record and its content), and no file left behind by a
//! refused, interrupted or deleted upload.

use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tests::{TestApp, assert_problem, parts, spawn_app, spawn_app_with};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;
use xiezuo::domain::Role;

/// A PDF-looking file of `size` bytes: the magic, then a pattern that is not all one byte.
fn pdf(size: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    bytes.extend((0..size.saturating_sub(bytes.len())).map(|i| (i * 31 % 251) as u8));
    bytes.truncate(size);
    bytes
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&[7u8; 2000]);
    bytes
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A project on 上海–遵义, for evidence to prove.
async fn zunyi_project(app: &TestApp) -> Uuid {
    let pairing = app.pairing_id("310000", "520300").await;
    app.insert_projects(pairing, app.org_id("520300").await, 1)
        .await;
    let (_, page) = parts(
        app.get(
            &format!("/api/v1/projects?pairing_id={pairing}"),
            &app.admin_token(),
        )
        .await,
    )
    .await;
    page["items"][0]["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .expect("a project")
}

fn form(category: &str, links: &Value, file_name: &str, bytes: Vec<u8>) -> Form {
    Form::new()
        .text("category", category.to_string())
        .text("title", "遵义项目验收报告（示例）")
        .text("period_year", "2019")
        .text("period_quarter", "3")
        .text("links", links.to_string())
        .part("file", Part::bytes(bytes).file_name(file_name.to_string()))
}

async fn upload(app: &TestApp, token: &str, form: Form) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/evidence"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("request failed")
}

/// Files in the app's evidence storage, and uploads begun there and never finished.
async fn stored_files(app: &TestApp) -> usize {
    app.ctx.storage.count().await.expect("storage") + app.pending_s3_uploads().await
}

#[tokio::test]
async fn evidence_is_streamed_in_and_served_whole_or_by_range() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let project = zunyi_project(&app).await;
    // Larger than two storage parts (5 MiB each), so the upload really is multipart.
    let bytes = pdf(12 * 1024 * 1024 + 17);
    let links = json!([{"record_type": "project", "record_id": project}]);
    let response = upload(
        &app,
        &editor,
        form(
            "document",
            &links,
            "../../etc/遵义 验收报告.pdf",
            bytes.clone(),
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(tests::etag_version(&response), 1);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let created: Value = response.json().await.expect("body");
    assert_eq!(created["category"], "document");
    assert_eq!(created["media_type"], "application/pdf");
    assert_eq!(created["file_name"], "遵义 验收报告.pdf");
    assert_eq!(created["size_bytes"], bytes.len());
    assert_eq!(created["sha256"], sha256_hex(&bytes));
    assert_eq!(created["period_year"], 2019);
    assert_eq!(created["period_quarter"], 3);
    assert_eq!(created["links"], links);
    assert_eq!(
        created["pairing_id"],
        json!(app.pairing_id("310000", "520300").await)
    );
    assert_eq!(
        location,
        format!("/api/v1/evidence/{}", created["id"].as_str().unwrap_or(""))
    );
    assert_eq!(stored_files(&app).await, 1);

    let content = format!("{location}/content");
    let whole = app.get(&content, &editor).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["content-type"], "application/pdf");
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(
        whole.headers()["content-length"],
        bytes.len().to_string().as_str()
    );
    let disposition = whole.headers()["content-disposition"]
        .to_str()
        .expect("disposition")
        .to_string();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''%E9%81%B5%E4%B9%89%20"),
        "{disposition}"
    );
    assert_eq!(
        whole.bytes().await.expect("bytes").as_ref(),
        bytes.as_slice()
    );

    let ranged = |range: &'static str| {
        let app = &app;
        let content = content.clone();
        let editor = editor.clone();
        async move {
            app.client
                .get(app.url(&content))
                .bearer_auth(editor)
                .header("Range", range)
                .send()
                .await
                .expect("request failed")
        }
    };
    let part = ranged("bytes=100-199").await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 100-199/{}", bytes.len()).as_str()
    );
    assert_eq!(
        part.bytes().await.expect("bytes").as_ref(),
        &bytes[100..200]
    );
    let tail = ranged("bytes=-10").await;
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        tail.bytes().await.expect("bytes").as_ref(),
        &bytes[bytes.len() - 10..]
    );
    // A range across the storage's part boundary reads both parts.
    let across = ranged("bytes=5242870-5242889").await;
    assert_eq!(
        across.bytes().await.expect("bytes").as_ref(),
        &bytes[5242870..5242890]
    );
    let past = ranged("bytes=99999999-").await;
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        past.headers()["content-range"],
        format!("bytes */{}", bytes.len()).as_str()
    );

    // Listed, and found as the evidence of its project.
    let (_, page) = parts(
        app.get(
            &format!("/api/v1/evidence?record_type=project&record_id={project}"),
            &editor,
        )
        .await,
    )
    .await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    let (_, none) = parts(app.get("/api/v1/evidence?category=photo", &editor).await).await;
    assert_eq!(none["items"], json!([]));
}

#[tokio::test]
async fn evidence_follows_the_scope_of_what_it_proves() {
    let app = spawn_app().await;
    let project = zunyi_project(&app).await;
    let links = json!([{"record_type": "project", "record_id": project}]);
    let response = upload(
        &app,
        &app.token(Role::Editor, Some("520300")),
        form("photo", &links, "visit.png", png()),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.expect("body");
    let path = format!("/api/v1/evidence/{}", created["id"].as_str().unwrap_or(""));
    assert_eq!(created["media_type"], "image/png");

    // The pairing's eastern side, the province and the assessment team read it; another
    // pairing's partner and another prefecture do not even learn it exists.
    for (role, org) in [
        (Role::Partner, Some("310000")),
        (Role::Editor, Some("520000")),
        (Role::Auditor, None),
        (Role::Coordinator, Some("520000")),
    ] {
        let token = app.token(role, org);
        assert_eq!(
            app.get(&path, &token).await.status(),
            StatusCode::OK,
            "{role:?} {org:?}"
        );
        let content = app.get(&format!("{path}/content"), &token).await;
        assert_eq!(content.status(), StatusCode::OK, "{role:?} {org:?}");
        assert!(
            content.headers()["content-disposition"]
                .to_str()
                .unwrap_or("")
                .starts_with("inline"),
            "photos show in the browser"
        );
    }
    for (role, org) in [
        (Role::Partner, Some("440100")),
        (Role::Editor, Some("520500")),
    ] {
        let token = app.token(role, org);
        assert_problem(app.get(&path, &token).await, 404, "not_found").await;
        assert_problem(
            app.get(&format!("{path}/content"), &token).await,
            404,
            "not_found",
        )
        .await;
        let (_, page) = parts(app.get("/api/v1/evidence", &token).await).await;
        assert_eq!(page["items"], json!([]), "{role:?} {org:?}");
    }

    // GraphQL reads through the same rules.
    let query = "query($id: UUID!) { evidence(id: $id) { title mediaType contentUrl links { recordType recordId } } \
                 evidenceList(first: 10) { edges { node { id } } } }";
    let id = created["id"].clone();
    let seen = app
        .gql(
            &app.token(Role::Partner, Some("310000")),
            query,
            json!({"id": id}),
        )
        .await;
    assert_eq!(seen["data"]["evidence"]["mediaType"], "image/png", "{seen}");
    assert_eq!(
        seen["data"]["evidence"]["contentUrl"],
        format!("{path}/content")
    );
    assert_eq!(
        seen["data"]["evidence"]["links"][0]["recordType"],
        "project"
    );
    assert_eq!(seen["data"]["evidenceList"]["edges"][0]["node"]["id"], id);
    let hidden = app
        .gql(
            &app.token(Role::Partner, Some("440100")),
            query,
            json!({"id": id}),
        )
        .await;
    assert!(hidden["data"]["evidence"].is_null(), "{hidden}");
    assert_eq!(hidden["data"]["evidenceList"]["edges"], json!([]));

    // Relinked to a record on no pairing (遵义 itself), the photo leaves the pairing's scope:
    // 上海 no longer reads it; 遵义 and the province still do.
    let zunyi = app.org_id("520300").await;
    let editor = app.token(Role::Editor, Some("520300"));
    let relinked = app
        .patch_json(
            &path,
            &editor,
            Some(1),
            &json!({"title": "遵义残联工作照", "links": [{"record_type": "organization", "record_id": zunyi}],
                    "period_quarter": null}),
        )
        .await;
    assert_eq!(tests::etag_version(&relinked), 2);
    let relinked: Value = relinked.json().await.expect("body");
    assert_eq!(relinked["title"], "遵义残联工作照");
    assert!(relinked["pairing_id"].is_null(), "{relinked}");
    assert!(relinked["period_quarter"].is_null());
    assert_eq!(relinked["period_year"], 2019);
    assert_eq!(
        relinked["sha256"], created["sha256"],
        "the file is unchanged"
    );
    assert_problem(
        app.get(&path, &app.token(Role::Partner, Some("310000")))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        app.get(&path, &app.token(Role::Editor, Some("520000")))
            .await
            .status(),
        StatusCode::OK
    );
    // Links on two pairings are refused; the stale version loses.
    let other = app.pairing_id("440100", "520500").await;
    let problem = assert_problem(
        app.patch_json(
            &path,
            &app.admin_token(),
            Some(2),
            &json!({"links": [{"record_type": "project", "record_id": project},
                              {"record_type": "pairing", "record_id": other}]}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "links", "{problem}");
    assert_problem(
        app.patch_json(&path, &editor, Some(1), &json!({"title": "x"}))
            .await,
        412,
        "precondition_failed",
    )
    .await;
    // Back on the project, 上海 reads it again.
    app.patch_json(&path, &editor, Some(2), &json!({"links": links}))
        .await;
    assert_eq!(
        app.get(&path, &app.token(Role::Partner, Some("310000")))
            .await
            .status(),
        StatusCode::OK
    );

    // Evidence cannot be linked to a record the caller cannot read.
    let problem = assert_problem(
        upload(
            &app,
            &app.token(Role::Partner, Some("440100")),
            form("photo", &links, "visit.png", png()),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        problem["errors"][0]["field"], "links[0].record_id",
        "{problem}"
    );
    // Nor by a role that writes nothing.
    assert_problem(
        upload(
            &app,
            &app.token(Role::Auditor, None),
            form("photo", &links, "visit.png", png()),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(stored_files(&app).await, 1);
}

#[tokio::test]
async fn a_refused_upload_leaves_no_file_and_no_record() {
    let app = spawn_app_with(|c| c.evidence_max_bytes = 3 * 1024 * 1024).await;
    let editor = app.token(Role::Editor, Some("520300"));
    let project = zunyi_project(&app).await;
    let links = json!([{"record_type": "project", "record_id": project}]);

    // A PDF sent as a photo: the content decides, whatever the name or declared type says.
    let problem = assert_problem(
        upload(
            &app,
            &editor,
            form("photo", &links, "photo.png", pdf(100_000)),
        )
        .await,
        422,
        "media_type_mismatch",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("application/pdf"),
        "{problem}"
    );
    // A photo sent as a document.
    assert_problem(
        upload(&app, &editor, form("document", &links, "scan.pdf", png())).await,
        422,
        "media_type_mismatch",
    )
    .await;
    // Over the configured limit, past the first storage part.
    assert_problem(
        upload(
            &app,
            &editor,
            form("document", &links, "big.pdf", pdf(8 * 1024 * 1024)),
        )
        .await,
        413,
        "payload_too_large",
    )
    .await;
    // Bad metadata: refused before the file is read, every field named.
    let bad = Form::new()
        .text("category", "photograph")
        .text("period_quarter", "5")
        .text(
            "links",
            r#"[{"record_type": "project", "record_id": "8d6f4c1e-0000-7000-8000-000000000000"}]"#,
        )
        .part("file", Part::bytes(png()).file_name("x.png"));
    let problem = assert_problem(upload(&app, &editor, bad).await, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        fields,
        ["category", "title", "period_year", "links[0].record_id"],
        "{problem}"
    );
    // No file part at all.
    let no_file = Form::new().text("category", "photo").text("title", "照片");
    let problem = assert_problem(
        upload(&app, &editor, no_file).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "file");
    // Not multipart.
    assert_problem(
        app.post_json("/api/v1/evidence", &editor, &json!({"category": "photo"}))
            .await,
        415,
        "unsupported_media_type",
    )
    .await;

    assert_eq!(stored_files(&app).await, 0);
    let (_, page) = parts(app.get("/api/v1/evidence", &editor).await).await;
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn an_interrupted_upload_leaves_no_file() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let address = app.address.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let boundary = "xiezuo-test-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\ndocument\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n会议纪要\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    );
    let promised = head.len() + 20 * 1024 * 1024;
    let request = format!(
        "POST /api/v1/evidence HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {editor}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {promised}\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.expect("write");
    socket.write_all(head.as_bytes()).await.expect("write");
    // Seven of the twenty MiB promised, past the first storage part, then the client is gone.
    let sent = pdf(7 * 1024 * 1024);
    socket.write_all(&sent).await.expect("write");
    socket.flush().await.expect("flush");
    drop(socket);
    // The server notices the closed connection, aborts the upload and removes its parts.
    let mut files = usize::MAX;
    for _ in 0..100 {
        files = stored_files(&app).await + staged_parts(&app);
        if files == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(files, 0, "the interrupted upload left files behind");
    let (_, page) = parts(app.get("/api/v1/evidence", &editor).await).await;
    assert_eq!(page["items"], json!([]));
}

/// Files the local store keeps while a multipart upload is in progress (`<key>#<n>`).
fn staged_parts(app: &TestApp) -> usize {
    let dir = app.config.data_dir.join("evidence-files").join("evidence");
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).count())
        .unwrap_or(0)
}

#[tokio::test]
async fn deleting_evidence_removes_its_file_and_the_sweep_removes_strays() {
    let app = spawn_app().await;
    let editor = app.token(Role::Editor, Some("520300"));
    let project = zunyi_project(&app).await;
    let links = json!([{"record_type": "project", "record_id": project}]);
    let created: Value = upload(&app, &editor, form("document", &links, "a.pdf", pdf(4096)))
        .await
        .json()
        .await
        .expect("body");
    let path = format!("/api/v1/evidence/{}", created["id"].as_str().unwrap_or(""));
    assert_eq!(stored_files(&app).await, 1);
    // Another organization's editor may not delete it, and learns nothing.
    assert_problem(
        app.delete(&path, &app.token(Role::Editor, Some("520500")), Some(1))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.delete(&path, &editor, Some(7)).await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(
        app.delete(&path, &editor, Some(1)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(stored_files(&app).await, 0);
    assert_problem(app.get(&path, &editor).await, 404, "not_found").await;
    assert_problem(
        app.get(&format!("{path}/content"), &editor).await,
        404,
        "not_found",
    )
    .await;

    // A file a crash left between upload and commit: no row names it.
    let key = xiezuo::storage::Storage::key(Uuid::now_v7());
    let mut stray = app.ctx.storage.start_upload(&key).await.expect("upload");
    stray.write(b"%PDF-1.7 left behind").await.expect("write");
    stray.finish().await.expect("finish");
    let kept = pdf(2048);
    let live: Value = upload(&app, &editor, form("document", &links, "b.pdf", kept))
        .await
        .json()
        .await
        .expect("body");
    assert_eq!(stored_files(&app).await, 2);
    // On the local disk, a crash in the middle of an upload also leaves its part file.
    let staged = app
        .config
        .data_dir
        .join("evidence-files")
        .join("evidence")
        .join(format!("{}#1", Uuid::now_v7()));
    let local = tests::s3_endpoint().is_none();
    if local {
        std::fs::write(&staged, b"%PDF-1.7 half").expect("staged part");
    }
    // The start-up sweep spares the last hour's files (uploads in flight elsewhere) ...
    let sweep = |only_old| xiezuo::service::evidence::sweep(&app.ctx, only_old);
    assert_eq!(sweep(true).await.expect("sweep"), 0);
    // ... and removes the strays once they are old enough; the live file stays.
    assert_eq!(
        sweep(false).await.expect("sweep"),
        if local { 2 } else { 1 }
    );
    assert!(!staged.exists());
    assert_eq!(stored_files(&app).await, 1);
    let path = format!(
        "/api/v1/evidence/{}/content",
        live["id"].as_str().unwrap_or("")
    );
    assert_eq!(app.get(&path, &editor).await.status(), StatusCode::OK);
}
