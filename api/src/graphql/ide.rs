//! GraphiQL at `GET /graphql`, working without internet access.
//!
//! The page needs React, ReactDOM and GraphiQL. They are npm packages pinned, with their
//! checksums, in `graphiql/package-lock.json`; `npm ci --prefix graphiql` installs them (the
//! Dockerfile and `.ci/run` do), and the service serves the four files the page loads from
//! `XIEZUO_GRAPHIQL_ASSETS_DIR` under `/graphiql/`. A CDN is used only when
//! `XIEZUO_GRAPHIQL_ASSETS_URL` names one.

use std::path::Path;

use actix_web::{HttpResponse, http::header, web};
use async_graphql::http::GraphiQLSource;

use crate::{error::AppError, http::problem::Problem, service::AppCtx};

/// The GraphiQL release the page asks for; `graphiql/package.json` pins the same one.
pub const GRAPHIQL_VERSION: &str = "3.9.0";

/// Where the page's URLs point when the assets are served locally.
const LOCAL_BASE: &str = "/graphiql";

/// The files the page loads: the path under the base URL (as the CDN lays them out), the file
/// under the assets directory, and its media type.
const ASSETS: [(&str, &str, &str); 4] = [
    (
        "react@18/umd/react.production.min.js",
        "react/umd/react.production.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "react-dom@18/umd/react-dom.production.min.js",
        "react-dom/umd/react-dom.production.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "graphiql@3.9.0/graphiql.min.css",
        "graphiql/graphiql.min.css",
        "text/css; charset=utf-8",
    ),
    (
        "graphiql@3.9.0/graphiql.min.js",
        "graphiql/graphiql.min.js",
        "text/javascript; charset=utf-8",
    ),
];

/// Whether every file the page loads is installed under `dir`.
pub fn installed(dir: &Path) -> bool {
    ASSETS.iter().all(|(_, file, _)| dir.join(file).is_file())
}

/// The GraphiQL page, its scripts from the CDN when one is configured, else from this service.
pub fn page(cdn: Option<&str>) -> String {
    let html = GraphiQLSource::build()
        .endpoint("/graphql")
        .title("xiezuo GraphQL")
        .version(GRAPHIQL_VERSION)
        .finish();
    let base = cdn.map_or(LOCAL_BASE, |url| url.trim_end_matches('/'));
    html.replace(
        r#"<link rel="icon" href="https://graphql.org/favicon.ico">"#,
        "",
    )
    .replace(".development.js", ".production.min.js")
    .replace("https://unpkg.com", base)
}

/// GET /graphql: the IDE, or a page saying how to install it when its assets are missing.
pub async fn graphiql(app: web::Data<AppCtx>) -> HttpResponse {
    let config = &app.config;
    let cdn = config.graphiql_assets_url.as_deref();
    if cdn.is_none() && !installed(&config.graphiql_assets_dir) {
        return HttpResponse::ServiceUnavailable()
            .content_type("text/html; charset=utf-8")
            .body(
                "<!DOCTYPE html><title>xiezuo GraphQL</title><p>GraphiQL is not installed here: \
                 run <code>npm ci --prefix graphiql</code> in the repository (or set \
                 <code>XIEZUO_GRAPHIQL_ASSETS_DIR</code> to where its packages are), or set \
                 <code>XIEZUO_GRAPHIQL_ASSETS_URL</code> to a CDN. <code>POST /graphql</code> \
                 works regardless.</p>",
            );
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page(cdn))
}

/// GET /graphiql/{asset}: one of the four files the page loads. Their URLs name the release, so
/// a browser may keep them.
pub async fn asset(
    app: web::Data<AppCtx>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let Some((_, file, media_type)) = ASSETS.iter().find(|(url, _, _)| *url == path.as_str())
    else {
        return Err(AppError::NotFound.into());
    };
    let bytes = match tokio::fs::read(app.config.graphiql_assets_dir.join(file)).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound.into()),
        Err(e) => return Err(AppError::Internal(e.into()).into()),
    };
    Ok(HttpResponse::Ok()
        .content_type(*media_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_its_assets_from_here_unless_a_cdn_is_named() {
        let local = page(None);
        for (url, _, _) in ASSETS {
            assert!(
                local.contains(&format!("{LOCAL_BASE}/{url}")),
                "{url} missing:\n{local}"
            );
        }
        assert!(
            !local.contains("unpkg") && !local.contains("graphql.org"),
            "{local}"
        );
        let cdn = page(Some("https://cdn.example.org/npm/"));
        assert!(cdn.contains("https://cdn.example.org/npm/graphiql@3.9.0/graphiql.min.js"));
        assert!(!cdn.contains("/graphiql/graphiql@"), "{cdn}");
    }

    #[test]
    fn the_pinned_packages_are_the_ones_the_page_asks_for() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../graphiql/package.json");
        let text = std::fs::read_to_string(&manifest).unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let deps = &json["dependencies"];
        assert_eq!(deps["graphiql"], GRAPHIQL_VERSION, "{text}");
        for react in ["react", "react-dom"] {
            assert!(
                deps[react].as_str().is_some_and(|v| v.starts_with("18.")),
                "{text}"
            );
        }
        for (url, _, _) in ASSETS {
            let package = url.split('/').next().unwrap_or_default();
            let (name, version) = package.split_once('@').unwrap_or_default();
            let pinned = deps[name].as_str().unwrap_or_default();
            assert!(
                pinned.starts_with(version),
                "{url} but {name} is pinned at {pinned}"
            );
        }
    }
}
