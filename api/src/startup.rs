//! Building the application state and the HTTP server.

use std::{net::TcpListener, sync::Arc};

use actix_web::{
    App, HttpMessage, HttpRequest, HttpResponse, HttpServer,
    body::MessageBody,
    dev::{ResourceDef, Server, ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    web,
};
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    auth::JwtKeys,
    config::Config,
    db,
    error::AppError,
    graphql,
    http::problem::Problem,
    rest, seed,
    service::{AppCtx, users},
    storage::{Backend, Storage},
};

/// Connects, migrates, loads the 2019 structure and makes sure an admin exists.
pub async fn prepare(config: Config) -> anyhow::Result<AppCtx> {
    // TLS to object storage (rustls on ring, as sqlx uses). Installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = db::connect(&config).await?;
    db::migrate(&db).await?;
    if config.seed_on_start {
        let seeded = seed::load(&db).await.map_err(error_to_anyhow)?;
        if seeded != seed::Seeded::default() {
            tracing::info!(
                organizations = seeded.organizations,
                pairings = seeded.pairings,
                working_groups = seeded.working_groups,
                plans = seeded.plans,
                plans_upgraded = seeded.plans_upgraded,
                plan_tasks = seeded.plan_tasks,
                "loaded the 2019 structure"
            );
        }
    }
    let jwt = JwtKeys::from_config(&config)?;
    let storage = Storage::open(Backend::from_config(&config))?;
    let ctx = AppCtx::new(db, Arc::new(config), Arc::new(jwt), Arc::new(storage));
    let swept = crate::service::evidence::sweep(&ctx, true).await?;
    if swept > 0 {
        tracing::warn!(
            files = swept,
            "removed evidence files no record names (an earlier crash)"
        );
    }
    if ctx.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        tokio::spawn(crate::service::directory::listen(
            ctx.db.clone(),
            ctx.directory.clone(),
        ));
    }
    if ctx.config.webhooks_enabled {
        tokio::spawn(crate::service::webhooks::run(ctx.clone()));
    }
    if ctx.config.seed_on_start && ctx.config.demo_on_start {
        let added = crate::demo::load(&ctx).await.map_err(error_to_anyhow)?;
        if added > 0 {
            tracing::info!(projects = added, "loaded the 2019 demo ledger");
        }
    }
    match users::ensure_admin(&ctx, &ctx.config)
        .await
        .map_err(error_to_anyhow)?
    {
        users::FirstAdmin::AlreadyThere => {}
        users::FirstAdmin::Created {
            generated_password: Some(password),
        } => {
            // Printed once to the terminal, never to the log stream.
            println!(
                "\n  Created the first admin.\n  username: admin\n  password: {password}\n  \
                 (shown once; set XIEZUO_ADMIN_PASSWORD to choose it)\n"
            );
        }
        users::FirstAdmin::Created { .. } => {
            tracing::info!(
                "created the first admin from XIEZUO_ADMIN_PASSWORD or XIEZUO_ADMIN_PASSWORD_HASH"
            );
        }
    }
    Ok(ctx)
}

pub fn error_to_anyhow(err: AppError) -> anyhow::Error {
    match err {
        AppError::Internal(e) => e,
        other => anyhow::anyhow!("{}: {}", other.code(), other.detail()),
    }
}

/// Echoes the request id tracing-actix-web assigned as `x-request-id`.
async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().copied();
    let mut res = next.call(req).await?;
    if let Some(id) = id
        && let Ok(value) = HeaderValue::from_str(&id.to_string())
    {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

/// The API's paths and their methods, from the OpenAPI document: what tells a 405 from a 404.
pub struct Routes(Vec<(ResourceDef, Vec<&'static str>)>);

impl Routes {
    fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .chain([(ResourceDef::new("/graphql"), vec!["GET", "POST"])])
            .collect();
        Self(routes)
    }

    /// The methods of the API path `path` answers, if it is one.
    fn allowed(&self, path: &str) -> Option<String> {
        let methods: Vec<&str> = self
            .0
            .iter()
            .filter(|(def, _)| def.is_match(path))
            .flat_map(|(_, methods)| methods.iter().copied())
            .collect();
        (!methods.is_empty()).then(|| methods.join(", "))
    }
}

async fn not_found(req: HttpRequest, routes: web::Data<Routes>) -> Result<HttpResponse, Problem> {
    match routes.allowed(req.path()) {
        Some(allowed) => Err(Problem(AppError::MethodNotAllowed { allowed })),
        None => Err(Problem(AppError::NotFound)),
    }
}

/// Starts serving on `listener`. SIGTERM and SIGINT stop accepting, let in-flight requests
/// finish (up to 30 s) and then exit.
pub fn run(listener: TcpListener, ctx: AppCtx) -> anyhow::Result<Server> {
    let openapi = rest::openapi();
    let routes = web::Data::new(Routes::from_openapi(&openapi));
    let schema = web::Data::new(graphql::schema());
    crate::http::metrics::handle();
    let data = web::Data::new(ctx);
    let max_body = data.config.max_body_bytes;
    let origins = data.config.cors_origins.clone();
    let rate_limit = web::Data::new(crate::http::hardening::RateLimit::new(
        data.config.rate_limit_per_second,
        data.config.rate_limit_burst,
    ));
    let server = HttpServer::new(move || {
        App::new()
            // Before the /api/v1 scope, which would otherwise swallow /api/v1/openapi.json.
            .service(SwaggerUi::new("/docs/{_:.*}").url("/api/v1/openapi.json", openapi.clone()))
            .into_utoipa_app()
            .configure(rest::api_v1)
            .into_app()
            // Innermost: an idempotent replay stores and repeats the completed tag.
            .wrap(actix_web::middleware::from_fn(
                crate::http::conditional::etags,
            ))
            .wrap(actix_web::middleware::from_fn(
                rest::idempotency::middleware,
            ))
            .wrap(actix_web::middleware::from_fn(
                crate::http::hardening::rate_limit,
            ))
            .wrap(actix_web::middleware::from_fn(
                crate::http::hardening::security_headers,
            ))
            .wrap(actix_web::middleware::from_fn(request_id_header))
            .wrap(actix_web::middleware::from_fn(crate::http::metrics::record))
            .wrap(TracingLogger::default())
            // Outermost: a preflight is answered before anything else looks at the request.
            .wrap(actix_web::middleware::Condition::new(
                !origins.is_empty(),
                crate::http::hardening::cors(&origins),
            ))
            .app_data(data.clone())
            .app_data(schema.clone())
            .app_data(routes.clone())
            .app_data(rate_limit.clone())
            .app_data(web::PayloadConfig::new(max_body))
            .app_data(web::PathConfig::default().error_handler(|err, _| {
                Problem(AppError::field("id", format!("is not a valid id: {err}"))).into()
            }))
            .route("/metrics", web::get().to(crate::http::metrics::render))
            .service(rest::healthz)
            .service(rest::readyz)
            .route("/graphiql/{asset:.*}", web::get().to(graphql::ide::asset))
            .service(
                web::resource("/graphql")
                    .route(web::post().to(graphql::handle))
                    .route(web::get().to(graphql::ide::graphiql))
                    .default_service(web::to(not_found)),
            )
            .service(web::redirect("/docs", "/docs/"))
            .default_service(web::to(not_found))
    })
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}
