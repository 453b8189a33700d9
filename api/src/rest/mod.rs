//! The REST adapter: parse, call the service, map. No rule lives here.

pub mod accounts;
pub mod agreements;
pub mod assessments;
pub mod calendar;
mod constraints;
pub mod contacts;
pub mod evidence;
pub mod exchanges;
pub mod fund_transactions;
pub mod idempotency;
pub mod imports;
pub mod ledger_submissions;
pub mod ledgers;
pub mod organizations;
pub mod pairings;
pub mod plans;
pub mod projects;
pub mod reconciliations;
pub mod self_assessments;
pub mod statements;
pub mod sync;
pub mod webhooks;
pub mod working_groups;

use actix_web::{
    HttpResponse, get,
    http::header::{self, ContentDisposition, DispositionParam, DispositionType},
    web,
};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        self, Content, RefOr, ResponseBuilder,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use utoipa_actix_web::{scope, service_config::ServiceConfig};

use crate::http::{
    extract::{ListQuery, Query},
    problem::{PROBLEM_JSON, Problem, ProblemBody},
};
use crate::{
    authz::Actor,
    service::{
        AppCtx, Page,
        audit::{self, AuditEntry, AuditQuery},
        changes::{self as feed, ChangePage, ChangesQuery},
        spreadsheet::{self, Export, Fetch, ListFormat, Paged, Tabular},
    },
};

/// Routes under `/api/v1`, registered through utoipa so the OpenAPI document is collected from
/// the same list that serves requests.
pub fn api_v1(cfg: &mut ServiceConfig) {
    cfg.service(
        scope::scope("/api/v1")
            .service(accounts::token)
            .service(accounts::me)
            .service(accounts::list_users)
            .service(accounts::create_user)
            .service(accounts::get_user)
            .service(accounts::update_user)
            .service(accounts::delete_user)
            .service(accounts::list_service_accounts)
            .service(accounts::create_service_account)
            .service(accounts::get_service_account)
            .service(accounts::delete_service_account)
            .service(organizations::list)
            .service(organizations::create)
            .service(organizations::get)
            .service(organizations::update)
            .service(organizations::remove)
            .service(organizations::children)
            .service(organizations::ancestors)
            .service(pairings::list)
            .service(pairings::create)
            .service(pairings::get)
            .service(pairings::update)
            .service(pairings::remove)
            .service(audit_log)
            .service(changes)
            .configure(projects::routes)
            .configure(fund_transactions::routes)
            .configure(exchanges::routes)
            .configure(agreements::routes)
            .configure(contacts::routes)
            .configure(working_groups::routes)
            .configure(plans::routes)
            .configure(calendar::routes)
            .configure(evidence::routes)
            .configure(ledgers::routes)
            .configure(ledger_submissions::routes)
            .configure(assessments::routes)
            .configure(self_assessments::routes)
            .configure(webhooks::routes)
            .configure(reconciliations::routes)
            .configure(sync::routes)
            .configure(imports::routes)
            .configure(statements::routes),
    );
}

/// A list's answer: one JSON page, or with `format=csv|xlsx` every page the filters keep as
/// a spreadsheet, streamed.
pub async fn listing<Q: Paged + Clone, T: Tabular + serde::Serialize>(
    ctx: &AppCtx,
    actor: &Actor,
    q: ListQuery<Q>,
    fetch: Fetch<Q, T>,
) -> Result<HttpResponse, Problem> {
    Ok(match q.format {
        ListFormat::Json => {
            HttpResponse::Ok().json(fetch(ctx.clone(), actor.clone(), q.query).await?)
        }
        format => download(spreadsheet::export(ctx, actor, q.query, format, fetch).await?),
    })
}

/// A spreadsheet as an attachment, sent as it is written.
pub fn download(export: Export) -> HttpResponse {
    let body = futures_util::stream::unfold(export.body, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    HttpResponse::Ok()
        .content_type(export.content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            ContentDisposition {
                disposition: DispositionType::Attachment,
                parameters: vec![DispositionParam::Filename(export.file_name)],
            },
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .streaming(body)
}

/// `projects::list` as a [`Fetch`]: a list function that owns what it borrows.
#[macro_export]
macro_rules! fetch {
    ($list:path) => {
        |ctx, actor, q| Box::pin(async move { $list(&ctx, &actor, q).await })
    };
}

/// The audit log (admin, coordinator, auditor), oldest first.
#[utoipa::path(
    tag = "audit",
    params(AuditQuery, spreadsheet::FormatParam),
    responses((status = 200, body = Page<AuditEntry>)),
    security(("bearer" = []))
)]
#[get("/audit-log")]
pub async fn audit_log(
    ctx: web::Data<AppCtx>,
    actor: Actor,
    q: ListQuery<AuditQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, fetch!(audit::list)).await
}

/// The change feed: every create, update and delete of the records the caller may read, in an
/// order a poller follows without skipping a change even while writers commit concurrently.
/// Poll with the last `next_after`; an `upsert` means fetch the record, a `delete` means drop it
/// (it was deleted, or the caller can no longer read it).
#[utoipa::path(
    tag = "sync",
    params(ChangesQuery),
    responses((status = 200, body = ChangePage)),
    security(("bearer" = []))
)]
#[get("/changes")]
pub async fn changes(
    ctx: web::Data<AppCtx>,
    actor: Actor,
    q: Query<ChangesQuery>,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(feed::list(&ctx, &actor, q.0).await?))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "xiezuo",
        description = "xiezuo (协作): the system of record for east–west poverty-alleviation cooperation of the \
                       disabled persons' federations: pairings, projects, money, exchanges, \
                       evidence, ledgers. Errors are RFC 9457 application/problem+json with a \
                       stable `code`.",
        version = env!("CARGO_PKG_VERSION"),
    ),
    components(schemas(ProblemBody)),
    modifiers(&Common)
)]
pub struct ApiDoc;

/// Adds what every operation shares: bearer security and the problem responses any of them can
/// give (bad input, no or bad token, role not allowed, internal error).
struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        let problem = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        PROBLEM_JSON,
                        Content::new(Some(RefOr::Ref(openapi::Ref::from_schema_name(
                            "ProblemBody",
                        )))),
                    )
                    .build(),
            )
        };
        for item in doc.paths.paths.values_mut() {
            if let Some(op) = item.get.as_mut() {
                conditional_reads(op);
                spreadsheet_lists(op);
            }
            for (conditional, op) in [
                (false, &mut item.get),
                (false, &mut item.post),
                (false, &mut item.put),
                (true, &mut item.patch),
                (true, &mut item.delete),
            ]
            .into_iter()
            .filter_map(|(c, op)| op.as_mut().map(|op| (c, op)))
            {
                state_page_limits(op);
                let secured = op.security.is_some();
                let responses = &mut op.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| problem(description));
                };
                add("400", "Malformed request (not JSON, bad header)");
                add("413", "Body larger than the configured limit");
                add("415", "Unsupported content type");
                add("422", "Invalid input; `errors` names each field");
                if secured {
                    add("401", "Missing, malformed, forged or expired token");
                    add("403", "The caller's role may not do this");
                }
                if conditional {
                    add("428", "`If-Match` is missing");
                }
                add("500", "Internal error");
                // OpenAPI requires a description on every response.
                for (status, response) in responses.iter_mut() {
                    if let RefOr::T(response) = response
                        && response.description.is_empty()
                    {
                        response.description = default_description(status).to_string();
                    }
                }
            }
        }
        name_operations(doc);
        page_items_by_reference(doc);
        constraints::state(doc);
    }
}

/// A `Page_X` schema lists its items as a reference to `X` rather than a copy of it, so that
/// generated clients get one type per record, not one more per list.
fn page_items_by_reference(doc: &mut openapi::OpenApi) {
    use openapi::schema::{ArrayItems, Schema};
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for (name, schema) in components.schemas.iter_mut() {
        let Some(item) = name.strip_prefix("Page_") else {
            continue;
        };
        if !names.iter().any(|n| n == item) {
            continue;
        }
        if let RefOr::T(Schema::Object(page)) = schema
            && let Some(RefOr::T(Schema::Array(items))) = page.properties.get_mut("items")
        {
            items.items =
                ArrayItems::RefOrSchema(Box::new(RefOr::Ref(openapi::Ref::from_schema_name(item))));
        }
    }
}

/// States the page size the service accepts (`limit`: 1 to 500, 50 by default), so that a
/// request the document allows is one the service accepts.
fn state_page_limits(op: &mut openapi::path::Operation) {
    use openapi::{
        path::{Parameter, ParameterIn},
        schema::Schema,
    };
    for param in op.parameters.iter_mut().flatten() {
        let RefOr::T(Parameter {
            name,
            parameter_in: ParameterIn::Query,
            schema: Some(RefOr::T(Schema::Object(schema))),
            ..
        }) = param
        else {
            continue;
        };
        if name == "limit" {
            let max = usize::try_from(crate::domain::Limit::MAX).unwrap_or(500);
            schema.minimum = Some(utoipa::Number::UInt(1));
            schema.maximum = Some(utoipa::Number::UInt(max));
            schema.default = Some(serde_json::json!(crate::domain::Limit::DEFAULT));
        }
    }
}

/// A list that takes `format` also answers as CSV and XLSX.
fn spreadsheet_lists(op: &mut openapi::path::Operation) {
    let takes_format = op
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if p.name == "format"));
    let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") else {
        return;
    };
    if !takes_format || ok.content.contains_key("text/csv") {
        return;
    }
    let binary = || {
        Content::new(Some(RefOr::T(openapi::schema::Schema::Object(
            openapi::schema::ObjectBuilder::new()
                .schema_type(openapi::schema::Type::String)
                .format(Some(openapi::schema::SchemaFormat::KnownFormat(
                    openapi::schema::KnownFormat::Binary,
                )))
                .build(),
        ))))
    };
    ok.content.insert("text/csv".into(), RefOr::T(binary()));
    ok.content
        .insert(spreadsheet::XLSX.into(), RefOr::T(binary()));
}

/// A GET answered with an `ETag` also takes `If-None-Match` and may answer `304`.
fn conditional_reads(op: &mut openapi::path::Operation) {
    use openapi::{
        path::{ParameterBuilder, ParameterIn},
        schema::{ObjectBuilder, Type},
    };
    let tagged = match op.responses.responses.get("200") {
        Some(RefOr::T(ok)) => ok.headers.contains_key("ETag"),
        _ => false,
    };
    if !tagged {
        return;
    }
    op.parameters.get_or_insert_with(Vec::new).push(RefOr::T(
        ParameterBuilder::new()
            .name("If-None-Match")
            .parameter_in(ParameterIn::Header)
            .required(openapi::Required::False)
            .description(Some(
                "ETags held (`\"3-5f1c0e9a2b7d4c18\"`, weak or a list, or `*`): when one is \
                 what this read would send, the answer is 304 with no body",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build(),
    ));
    op.responses.responses.insert(
        "304".to_string(),
        RefOr::T(
            ResponseBuilder::new()
                .description(default_description("304"))
                .build(),
        ),
    );
}

/// What a response with no description of its own says, by status.
fn default_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created; `Location` names the new record and `ETag` its version",
        "204" => "Done; no content",
        "304" => "Not modified: `If-None-Match` names the representation this read would send",
        "404" => "No such record, or one the caller may not read",
        "409" => "Conflicts with stored data (a taken value, a record in use, a transition)",
        "412" => "`If-Match` names an older version; `current_version` gives the stored one",
        "428" => "`If-Match` is required",
        "429" => "Too many requests; wait `Retry-After` seconds",
        "503" => "Temporarily unavailable; retry after `Retry-After` seconds",
        _ => "See the problem's `code`",
    }
}

/// Gives every operation a unique, descriptive id (`list_projects`, `get_project`, …): the
/// handlers of each resource share the names `list`, `create`, `get`, `update` and `remove`,
/// and client generators turn operation ids into function names.
fn name_operations(doc: &mut openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let rest = path.trim_start_matches("/api/v1/");
        let mut segments = rest.split('/');
        let resource = segments.next().unwrap_or_default().replace('-', "_");
        let one = resource.strip_suffix('s').unwrap_or(&resource).to_string();
        let sub: Vec<&str> = segments.filter(|s| !s.starts_with('{')).collect();
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let name = op.operation_id.clone().unwrap_or_default();
            let renamed = match (name.as_str(), sub.as_slice()) {
                ("list", []) => format!("list_{resource}"),
                ("create", []) => format!("create_{one}"),
                ("get", []) => format!("get_{one}"),
                ("update", []) => format!("update_{one}"),
                ("remove", []) => format!("delete_{one}"),
                (verb, [sub]) if !verb.contains('_') => format!("{one}_{}", sub.replace('-', "_")),
                _ => continue,
            };
            op.operation_id = Some(renamed);
        }
    }
}

/// Liveness: the process answers.
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the database answers and every migration is applied.
#[get("/readyz")]
pub async fn readyz(ctx: web::Data<AppCtx>) -> HttpResponse {
    match crate::db::ready(&ctx.db).await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
        Err(reason) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "not_ready", "reason": reason})),
    }
}

/// The OpenAPI document, built without a database from the same route list the server uses.
pub fn openapi() -> openapi::OpenApi {
    let (_, doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(api_v1)
        .split_for_parts();
    let mut doc = doc;
    // Modifiers ran before the routes were collected: run ours again over the full set.
    Common.modify(&mut doc);
    doc
}

use utoipa_actix_web::AppExt;
