//! Configuration from the environment. Names are part of the contract (DESIGN §7); secrets are
//! wrapped in [`Secret`] so that no `Debug` or log line can print them.

use std::{fmt, path::PathBuf};

use anyhow::Context;

#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `XIEZUO_BIND`, default `127.0.0.1:8080`.
    pub bind: String,
    /// `DATABASE_URL`; `None` means an SQLite file under the data directory.
    pub database_url: Option<String>,
    /// `XIEZUO_DATA_DIR`, default `./data`.
    pub data_dir: PathBuf,
    /// `XIEZUO_ADMIN_PASSWORD`: the first admin's password; generated and printed once if unset.
    pub admin_password: Option<Secret>,
    /// `XIEZUO_ADMIN_PASSWORD_HASH`: the first admin's password as an argon2 PHC string
    /// (`xiezuo hash-password` prints one), in place of `XIEZUO_ADMIN_PASSWORD`, so that the
    /// password itself never sits in the environment. Only one of the two may be set.
    pub admin_password_hash: Option<Secret>,
    /// `XIEZUO_JWT_SECRET` (HS256). Generated per process if unset, which only suits one replica.
    pub jwt_secret: Option<Secret>,
    /// `XIEZUO_JWT_ISSUER`, default `xiezuo`.
    pub jwt_issuer: String,
    /// `XIEZUO_JWT_AUDIENCE`, default `xiezuo-api`.
    pub jwt_audience: String,
    /// `XIEZUO_TOKEN_TTL_SECONDS`, default 900.
    pub token_ttl_seconds: i64,
    /// `XIEZUO_DB_MAX_CONNECTIONS`, default 16 for PostgreSQL, 4 for an SQLite file.
    pub db_max_connections: Option<u32>,
    /// `XIEZUO_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `XIEZUO_MAX_BODY_BYTES`, default 1 MiB: the largest JSON or form body accepted.
    pub max_body_bytes: usize,
    /// `XIEZUO_GRAPHIQL_ASSETS_DIR`, default `graphiql/node_modules`: where
    /// `npm ci --prefix graphiql` installed the packages the GraphiQL page loads, served by
    /// this service under `/graphiql/`.
    pub graphiql_assets_dir: PathBuf,
    /// `XIEZUO_GRAPHIQL_ASSETS_URL`: a CDN (such as `https://unpkg.com`) the GraphiQL page loads
    /// its packages from instead. Unset by default: the page needs no internet access.
    pub graphiql_assets_url: Option<String>,
    /// `XIEZUO_SEED`: load the 2019 structure on start (default true).
    pub seed_on_start: bool,
    /// `XIEZUO_CORS_ORIGINS`: comma-separated origins (`https://ledger.example.org`) whose
    /// pages may call the API from a browser; none by default.
    pub cors_origins: Vec<String>,
    /// `XIEZUO_BODY_TIMEOUT_SECONDS`, default 30: how long a client may take to send a request
    /// body before it is answered `408`.
    pub body_timeout_seconds: u64,
    /// `XIEZUO_RATE_LIMIT_PER_SECOND`, default 50: requests per second one client address may
    /// make on average (`0` turns the limit off).
    pub rate_limit_per_second: u32,
    /// `XIEZUO_RATE_LIMIT_BURST`, default 200: requests one client address may make at once.
    pub rate_limit_burst: u32,
    /// `XIEZUO_DEMO`: with the structure, load the 2019 demo ledger of 上海–遵义 and 广州–毕节
    /// (default true; once only).
    pub demo_on_start: bool,
    /// `XIEZUO_EVIDENCE_MAX_BYTES`, default 2 GiB: the largest evidence file accepted.
    pub evidence_max_bytes: u64,
    /// `XIEZUO_S3_BUCKET`: keep evidence files in this S3-compatible bucket instead of under
    /// the data directory. Credentials come from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    pub s3_bucket: Option<String>,
    /// `XIEZUO_S3_ENDPOINT`: the store's URL (`http://minio:9000`); unset for AWS itself.
    pub s3_endpoint: Option<String>,
    /// `XIEZUO_S3_REGION`, default `us-east-1`.
    pub s3_region: String,
    /// `XIEZUO_WEBHOOKS`: deliver webhooks from this process (default true). Every replica may;
    /// they share the work.
    pub webhooks_enabled: bool,
    /// `XIEZUO_WEBHOOK_ALLOW_PRIVATE`: allow webhook URLs that resolve to loopback, private or
    /// link-local addresses (default false: server-side request forgery).
    pub webhook_allow_private: bool,
    /// `XIEZUO_WEBHOOK_POLL_MS`, default 1000: how often the deliverer looks for work.
    pub webhook_poll_ms: u64,
    /// `XIEZUO_WEBHOOK_RETRY_BASE_MS`, default 10000: the wait before the first retry of a
    /// failed delivery, doubling with each attempt (at most 6 hours).
    pub webhook_retry_base_ms: u64,
    /// `XIEZUO_WEBHOOK_MAX_ATTEMPTS`, default 10: attempts before a delivery is `failed`.
    pub webhook_max_attempts: i32,
    /// `XIEZUO_SYNC_BATCH_MAX`, default 1000: the most items one sync batch may hold.
    pub sync_batch_max: usize,
    /// `XIEZUO_IMPORT_MAX_BYTES`, default 32 MiB: the largest spreadsheet an import accepts.
    pub import_max_bytes: usize,
    /// `XIEZUO_RECONCILE_WINDOW_DAYS`, default 15: how many days apart a transfer and an arrival
    /// of equal amount may be and still match, when a reconciliation does not say.
    pub reconcile_window_days: i32,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_var<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    var(name)
        .map(|v| {
            v.trim()
                .parse::<T>()
                .with_context(|| format!("{name} is not valid"))
        })
        .transpose()
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let log_format = match var("XIEZUO_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => anyhow::bail!("XIEZUO_LOG_FORMAT must be text or json, not {other}"),
        };
        let admin_password = var("XIEZUO_ADMIN_PASSWORD").map(Secret::new);
        let admin_password_hash = var("XIEZUO_ADMIN_PASSWORD_HASH").map(Secret::new);
        if let Some(hash) = &admin_password_hash {
            anyhow::ensure!(
                admin_password.is_none(),
                "set XIEZUO_ADMIN_PASSWORD or XIEZUO_ADMIN_PASSWORD_HASH, not both"
            );
            crate::auth::check_password_hash(hash.expose())
                .map_err(|why| anyhow::anyhow!("XIEZUO_ADMIN_PASSWORD_HASH {why}"))?;
        }
        Ok(Self {
            bind: var("XIEZUO_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            database_url: var("DATABASE_URL"),
            data_dir: var("XIEZUO_DATA_DIR")
                .unwrap_or_else(|| "./data".into())
                .into(),
            admin_password,
            admin_password_hash,
            jwt_secret: var("XIEZUO_JWT_SECRET").map(Secret::new),
            jwt_issuer: var("XIEZUO_JWT_ISSUER").unwrap_or_else(|| "xiezuo".into()),
            jwt_audience: var("XIEZUO_JWT_AUDIENCE").unwrap_or_else(|| "xiezuo-api".into()),
            token_ttl_seconds: parse_var("XIEZUO_TOKEN_TTL_SECONDS")?.unwrap_or(900),
            db_max_connections: parse_var("XIEZUO_DB_MAX_CONNECTIONS")?,
            log_format,
            max_body_bytes: parse_var("XIEZUO_MAX_BODY_BYTES")?.unwrap_or(1024 * 1024),
            graphiql_assets_dir: var("XIEZUO_GRAPHIQL_ASSETS_DIR")
                .unwrap_or_else(|| "graphiql/node_modules".into())
                .into(),
            graphiql_assets_url: var("XIEZUO_GRAPHIQL_ASSETS_URL"),
            cors_origins: cors_origins(var("XIEZUO_CORS_ORIGINS").as_deref())?,
            body_timeout_seconds: parse_var("XIEZUO_BODY_TIMEOUT_SECONDS")?.unwrap_or(30),
            rate_limit_per_second: parse_var("XIEZUO_RATE_LIMIT_PER_SECOND")?.unwrap_or(50),
            rate_limit_burst: parse_var("XIEZUO_RATE_LIMIT_BURST")?.unwrap_or(200),
            seed_on_start: parse_var("XIEZUO_SEED")?.unwrap_or(true),
            demo_on_start: parse_var("XIEZUO_DEMO")?.unwrap_or(true),
            evidence_max_bytes: parse_var("XIEZUO_EVIDENCE_MAX_BYTES")?
                .unwrap_or(2 * 1024 * 1024 * 1024),
            s3_bucket: var("XIEZUO_S3_BUCKET"),
            s3_endpoint: var("XIEZUO_S3_ENDPOINT"),
            s3_region: var("XIEZUO_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
            webhooks_enabled: parse_var("XIEZUO_WEBHOOKS")?.unwrap_or(true),
            webhook_allow_private: parse_var("XIEZUO_WEBHOOK_ALLOW_PRIVATE")?.unwrap_or(false),
            webhook_poll_ms: parse_var("XIEZUO_WEBHOOK_POLL_MS")?.unwrap_or(1000),
            webhook_retry_base_ms: parse_var("XIEZUO_WEBHOOK_RETRY_BASE_MS")?.unwrap_or(10_000),
            webhook_max_attempts: parse_var("XIEZUO_WEBHOOK_MAX_ATTEMPTS")?.unwrap_or(10),
            sync_batch_max: parse_var("XIEZUO_SYNC_BATCH_MAX")?.unwrap_or(1_000),
            import_max_bytes: parse_var("XIEZUO_IMPORT_MAX_BYTES")?.unwrap_or(32 * 1024 * 1024),
            reconcile_window_days: parse_var("XIEZUO_RECONCILE_WINDOW_DAYS")?.unwrap_or(15),
        })
    }

    /// The database URL in effect: `DATABASE_URL`, or an SQLite file in the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("xiezuo.sqlite3").display()
            ),
        }
    }
}

/// `XIEZUO_CORS_ORIGINS`: each an origin as browsers send it, `scheme://host[:port]`.
fn cors_origins(value: Option<&str>) -> anyhow::Result<Vec<String>> {
    let mut origins = Vec::new();
    for origin in value.unwrap_or_default().split(',').map(str::trim) {
        if origin.is_empty() {
            continue;
        }
        let origin = origin.trim_end_matches('/');
        let host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        anyhow::ensure!(
            host.is_some_and(|h| !h.is_empty() && !h.contains(['/', '?', '#', ' ', '*'])),
            "XIEZUO_CORS_ORIGINS: {origin} is not an origin like https://ledger.example.org"
        );
        origins.push(origin.to_string());
    }
    Ok(origins)
}

/// A database URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2")),
            "Secret([redacted])"
        );
    }

    #[test]
    fn cors_origins_are_origins() {
        assert_eq!(
            cors_origins(Some(" https://a.example.org/, http://127.0.0.1:5173 ")).ok(),
            Some(vec![
                "https://a.example.org".to_string(),
                "http://127.0.0.1:5173".to_string()
            ])
        );
        assert_eq!(cors_origins(None).ok(), Some(Vec::new()));
        for bad in [
            "a.example.org",
            "https://a.example.org/app",
            "*",
            "https://*.example.org",
        ] {
            assert!(cors_origins(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/xiezuo"),
            "postgres://app:***@db:5432/xiezuo"
        );
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
