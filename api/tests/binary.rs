//! The `xiezuo` binary as an operator runs it: `serve` on an empty data directory creates,
//! migrates and seeds an SQLite database, answers `/readyz`, never prints secrets to its logs,
//! and exits cleanly on SIGTERM.

use std::{
    io::Read,
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18123)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

#[tokio::test]
async fn serve_on_an_empty_directory_then_stop_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("xiezuo-bin-{}", uuid::Uuid::new_v4()));
    let port = free_port();
    let jwt_secret = "binary-test-secret-binary-test-secret-42";
    let admin_password = "binary-test-admin-password";
    let child = Command::new(env!("CARGO_BIN_EXE_xiezuo"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("XIEZUO_DATA_DIR", &dir)
        .env("XIEZUO_BIND", format!("127.0.0.1:{port}"))
        .env("XIEZUO_JWT_SECRET", jwt_secret)
        .env("XIEZUO_ADMIN_PASSWORD", admin_password)
        .env("RUST_LOG", "debug")
        .env("XIEZUO_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start xiezuo");
    let mut server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = client();

    wait_ready(&client, &base).await;
    assert!(
        dir.join("xiezuo.sqlite3").exists(),
        "SQLite file under XIEZUO_DATA_DIR"
    );

    let token: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", admin_password),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = token["access_token"].as_str().expect("access_token");
    let zunyi: serde_json::Value = client
        .get(format!("{base}/api/v1/organizations?division_code=520300"))
        .bearer_auth(token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(zunyi["items"][0]["name"], "遵义市残疾人联合会");

    let pid = server.0.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = server.0.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "graceful exit, got {exit:?}");

    let mut logs = String::new();
    if let Some(mut out) = server.0.stdout.take() {
        out.read_to_string(&mut logs).expect("stdout");
    }
    if let Some(mut err) = server.0.stderr.take() {
        err.read_to_string(&mut logs).expect("stderr");
    }
    // XIEZUO_LOG_FORMAT=json: one JSON object per line.
    let serving = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|entry| entry["message"] == "xiezuo is serving");
    assert!(serving.is_some_and(|e| e["level"] == "INFO"), "{logs}");
    assert!(!logs.contains(jwt_secret), "the JWT secret was logged");
    assert!(
        !logs.contains(admin_password),
        "the admin password was logged"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A lost admin password is recovered from the command line: `reset-password` sets a new one
/// (from standard input here) and the next `serve` accepts it and refuses the old one.
#[tokio::test]
async fn reset_password_recovers_a_lost_admin_password() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("xiezuo-bin-{}", uuid::Uuid::new_v4()));
    let (old, new) = ("forgotten-admin-password", "recovered-admin-password");
    let mut reset = Command::new(env!("CARGO_BIN_EXE_xiezuo"))
        .args(["reset-password", "--password-stdin"])
        .env_remove("DATABASE_URL")
        .env("XIEZUO_DATA_DIR", &dir)
        .env("XIEZUO_ADMIN_PASSWORD", old)
        .env("XIEZUO_DEMO", "false")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start reset-password");
    reset
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{new}\n").as_bytes())
        .expect("write password");
    let output = reset.wait_with_output().expect("reset-password");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("reset the password of admin"));

    let (_server, base) = serve_quietly(&dir, &[("XIEZUO_ADMIN_PASSWORD", old)]).await;
    let client = client();
    assert_eq!(admin_login(&client, &base, new).await, 200);
    assert_eq!(admin_login(&client, &base, old).await, 401);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The first admin's password given as a hash: `hash-password` prints one from standard input,
/// and `serve` with `XIEZUO_ADMIN_PASSWORD_HASH` accepts that password. A malformed hash, or
/// both variables at once, stops the binary before it touches the database, naming the variable.
#[tokio::test]
async fn the_first_admin_can_be_given_as_a_password_hash() {
    let password = "hashed-admin-password";
    let (ok, stdout, _) = run_with_stdin(&["hash-password"], &[], password);
    assert!(ok);
    let hash = stdout.trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(password));
    let (ok, _, stderr) = run_with_stdin(&["hash-password"], &[], "too-short");
    assert!(!ok && stderr.contains("at least 12"), "{stderr}");

    for (env, what) in [
        (
            vec![("XIEZUO_ADMIN_PASSWORD_HASH", "$argon2id$oops")],
            "PHC",
        ),
        (
            vec![(
                "XIEZUO_ADMIN_PASSWORD_HASH",
                "$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA",
            )],
            "argon2",
        ),
        (
            vec![
                ("XIEZUO_ADMIN_PASSWORD_HASH", hash.as_str()),
                ("XIEZUO_ADMIN_PASSWORD", password),
            ],
            "not both",
        ),
    ] {
        let (ok, _, stderr) = run_with_stdin(&["migrate"], &env, "");
        assert!(
            !ok && stderr.contains("XIEZUO_ADMIN_PASSWORD") && stderr.contains(what),
            "{env:?}: {stderr}"
        );
    }

    let dir = std::env::temp_dir().join(format!("xiezuo-bin-{}", uuid::Uuid::new_v4()));
    let (_server, base) =
        serve_quietly(&dir, &[("XIEZUO_ADMIN_PASSWORD_HASH", hash.as_str())]).await;
    let client = client();
    assert_eq!(admin_login(&client, &base, password).await, 200);
    assert_eq!(
        admin_login(&client, &base, "hashed-admin-passwore").await,
        401
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the binary with `args` and `env` (and no database or admin settings of the caller's),
/// `input` on standard input: whether it succeeded, and what it printed to each stream.
fn run_with_stdin(args: &[&str], env: &[(&str, &str)], input: &str) -> (bool, String, String) {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("xiezuo-bin-{}", uuid::Uuid::new_v4()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_xiezuo"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("XIEZUO_ADMIN_PASSWORD")
        .env_remove("XIEZUO_ADMIN_PASSWORD_HASH")
        .env("XIEZUO_DATA_DIR", &dir)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start xiezuo: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(format!("{input}\n").as_bytes())
            .unwrap_or_else(|e| panic!("write to xiezuo: {e}"));
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("xiezuo: {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `serve` on `dir` without the demo, with `env` (and no database or admin settings of the
/// caller's), its output discarded: the running server, once ready, and its base URL.
async fn serve_quietly(dir: &std::path::Path, env: &[(&str, &str)]) -> (Server, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_xiezuo"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env_remove("XIEZUO_ADMIN_PASSWORD")
        .env_remove("XIEZUO_ADMIN_PASSWORD_HASH")
        .env("XIEZUO_DATA_DIR", dir)
        .env("XIEZUO_BIND", format!("127.0.0.1:{port}"))
        .env("XIEZUO_DEMO", "false")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start xiezuo: {e}"));
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&client(), &base).await;
    (server, base)
}

/// Waits (up to a minute) for the server at `base` to answer `/readyz`.
async fn wait_ready(client: &reqwest::Client, base: &str) {
    let started = Instant::now();
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(started.elapsed() < Duration::from_secs(60), "never ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The status of a password grant for user `admin`.
async fn admin_login(client: &reqwest::Client, base: &str, password: &str) -> u16 {
    client
        .post(format!("{base}/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("login: {e}"))
        .status()
        .as_u16()
}

/// An HTTP client. The service's own HTTP client (object storage) brings reqwest with rustls
/// and no bundled crypto provider, so the process installs ring first, as the service does.
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// `xiezuo import` as an operator runs it on a seeded database: a dry run writes nothing, the
/// real run creates, a second run leaves the rows unchanged, and a bad row fails the command
/// naming its row and column, with nothing written.
#[test]
fn import_a_spreadsheet_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("xiezuo-bin-{}", uuid::Uuid::new_v4()));
    let env = [
        ("XIEZUO_DATA_DIR", dir.to_string_lossy().to_string()),
        ("XIEZUO_ADMIN_PASSWORD", "import-admin-password".to_string()),
        ("XIEZUO_DEMO", "false".to_string()),
    ];
    let run = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xiezuo"));
        command.args(args).env_remove("DATABASE_URL");
        for (k, v) in &env {
            command.env(k, v);
        }
        let output = command.output().expect("run xiezuo");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (ok, _, stderr) = run(&["seed"]);
    assert!(ok, "{stderr}");
    std::fs::create_dir_all(&dir).expect("dir");
    let good = dir.join("exchanges.csv");
    std::fs::write(
        &good,
        "外部编号,类型,方向,接待单位,来访单位,开始日期,结束日期,参加人数\n\
         CLI-1,考察调研,东部来黔,520300,310000,2019-09-10,2019-09-12,6\n",
    )
    .expect("write");
    let file = good.to_string_lossy().to_string();
    let import = |extra: &[&str]| {
        let mut args = vec!["import", file.as_str(), "--record-type", "exchange"];
        args.extend(extra);
        run(&args)
    };
    let (ok, stdout, stderr) = import(&["--dry-run", "--org-code", "520300"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("1 rows: 1 created") && stdout.contains("dry run"),
        "{stdout}"
    );
    let (ok, stdout, stderr) = import(&["--org-code", "520300"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 rows: 1 created"), "{stdout}");
    let (ok, stdout, stderr) = import(&["--org-code", "520300"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 unchanged"), "{stdout}");

    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "外部编号,类型,方向,接待单位,来访单位,开始日期,结束日期\n\
         CLI-2,考察调研,东部来黔,520300,310000,2019-09-10,2019-09-12\n\
         CLI-3,开会,东部来黔,520300,310000,2019-09-10,2019-09-12\n",
    )
    .expect("write");
    let bad = bad.to_string_lossy().to_string();
    let (ok, _, stderr) = run(&["import", &bad, "--record-type", "exchange"]);
    assert!(!ok, "a bad row must fail the command");
    assert!(stderr.contains("row 3, 类型"), "{stderr}");
    // CLI-2 was good, and still nothing was written: on its own, it is new.
    let alone = dir.join("alone.csv");
    std::fs::write(
        &alone,
        "外部编号,类型,方向,接待单位,来访单位,开始日期,结束日期\n\
         CLI-2,考察调研,东部来黔,520300,310000,2019-09-10,2019-09-12\n",
    )
    .expect("write");
    let alone = alone.to_string_lossy().to_string();
    let (ok, stdout, stderr) = run(&["import", &alone, "--record-type", "exchange", "--dry-run"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 rows: 1 created"), "{stdout}");
    let (ok, _, stderr) = run(&["import", &file, "--record-type", "pairing"]);
    assert!(!ok && stderr.contains("--record-type"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
