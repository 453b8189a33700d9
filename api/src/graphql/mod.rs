//! The GraphQL adapter: the same service functions as REST, with relations loaded through
//! DataLoaders so a nested query costs a bounded number of SQL statements.

mod agreements;
mod contacts;
mod exchanges;
mod fund_transactions;
mod loaders;
mod plans;
mod projects;
mod structure;
mod working_groups;

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::{
    Context, EmptySubscription, ErrorExtensions, MergedObject, Schema,
    connection::{Connection, Edge},
    dataloader::DataLoader,
    http::GraphiQLSource,
};
use uuid::Uuid;

use self::loaders::{
    ChildrenLoader, OrgLoader, OrgPairingsLoader, OrgPlansLoader, OrgWorkingGroupLoader,
    PairingLoader,
};
use crate::{
    authz::Actor,
    domain::Cursor,
    error::AppError,
    http::{
        extract::{RawBody, actor_from_request, is_json, parse_json},
        problem::Problem,
    },
    service::{AppCtx, Page},
};

/// Each record family contributes its own query and mutation fields.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    structure::StructureQuery,
    projects::ProjectQuery,
    fund_transactions::FundTransactionQuery,
    exchanges::ExchangeQuery,
    agreements::AgreementQuery,
    contacts::ContactQuery,
    working_groups::WorkingGroupQuery,
    plans::PlanQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    structure::StructureMutation,
    projects::ProjectMutation,
    fund_transactions::FundTransactionMutation,
    exchanges::ExchangeMutation,
    agreements::AgreementMutation,
    contacts::ContactMutation,
    working_groups::WorkingGroupMutation,
    plans::PlanMutation,
);

pub type XiezuoSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Limits a hostile or careless query cannot get past.
pub const MAX_DEPTH: usize = 12;
pub const MAX_COMPLEXITY: usize = 5000;

/// Built without a database: request data (context, actor, loaders) is attached per request.
pub fn schema() -> XiezuoSchema {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .finish()
}

/// `AppError` → GraphQL error with the REST `code` (and field errors) in `extensions`.
impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let AppError::Internal(cause) = self {
            tracing::error!(error = ?cause, "internal error");
        }
        async_graphql::Error::new(self.detail()).extend_with(|_, e| {
            e.set("code", self.code());
            e.set("status", self.status());
            if !self.field_errors().is_empty() {
                let fields: Vec<async_graphql::Value> = self
                    .field_errors()
                    .iter()
                    .map(|f| {
                        let mut m = async_graphql::indexmap::IndexMap::new();
                        m.insert(async_graphql::Name::new("field"), f.field.clone().into());
                        m.insert(
                            async_graphql::Name::new("message"),
                            f.message.clone().into(),
                        );
                        async_graphql::Value::Object(m)
                    })
                    .collect();
                e.set("errors", fields);
            }
            if let Some(field) = self.conflict_field() {
                e.set("field", field);
            }
            if let AppError::PreconditionFailed { current_version } = self {
                e.set("current_version", *current_version);
            }
        })
    }
}

/// A per-request DataLoader. No batching delay: the siblings of one level of a query are
/// resolved in one poll of the request's task, so every key of the level is queued before the
/// load task (spawned on the same worker) runs; a delay would only add latency to each level.
pub(crate) fn data_loader<T: async_graphql::dataloader::Loader<Uuid>>(inner: T) -> DataLoader<T> {
    DataLoader::new(inner, tokio::spawn).delay(std::time::Duration::ZERO)
}

/// Explicit conversion: see `error.rs` for why `?` alone does not compile here.
pub(crate) fn gql(err: AppError) -> async_graphql::Error {
    err.extend()
}

/// The service names page arguments as REST does (`limit`, `cursor`); GraphQL calls them
/// `first` and `after`.
pub(crate) fn page_args(err: AppError) -> async_graphql::Error {
    match err {
        AppError::Validation(mut errors) => {
            for e in &mut errors {
                match e.field.as_str() {
                    "limit" => e.field = "first".into(),
                    "cursor" => e.field = "after".into(),
                    _ => {}
                }
            }
            gql(AppError::Validation(errors))
        }
        other => gql(other),
    }
}

pub(crate) fn parts<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<(&'a AppCtx, &'a Actor)> {
    Ok((ctx.data::<AppCtx>()?, ctx.data::<Actor>()?))
}

pub(crate) fn connection<T: async_graphql::OutputType>(
    page: Page<T>,
    id_of: impl Fn(&T) -> Uuid,
) -> Connection<String, T> {
    let mut conn = Connection::new(false, page.next_cursor.is_some());
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(Cursor::after(id_of(&item)).encode(), item)),
    );
    conn
}

/// POST /graphql. Authentication is the same as REST's (no token or a bad one is a 401), and so
/// are the body rules: the size limit, JSON only, problem+json for a body that is not a request.
pub async fn handle(
    schema: web::Data<XiezuoSchema>,
    app: web::Data<AppCtx>,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, Problem> {
    let actor = actor_from_request(&req).await?;
    if !is_json(&req) {
        return Err(AppError::UnsupportedMediaType {
            detail: "send the GraphQL request as application/json".into(),
        }
        .into());
    }
    let request: async_graphql::Request = parse_json(&body.0)?;
    let ctx = app.get_ref().clone();
    let request = request
        .data(data_loader(OrgLoader::new(&ctx, &actor)))
        .data(data_loader(ChildrenLoader::new(&ctx, &actor)))
        .data(data_loader(OrgPairingsLoader::new(&ctx, &actor)))
        .data(data_loader(PairingLoader::new(&ctx, &actor)))
        .data(data_loader(OrgWorkingGroupLoader::new(&ctx, &actor)))
        .data(data_loader(OrgPlansLoader::new(&ctx, &actor)));
    let request = projects::attach(request, &ctx, &actor);
    let request = fund_transactions::attach(request, &ctx, &actor);
    let request = exchanges::attach(request, &ctx, &actor);
    let request = agreements::attach(request, &ctx, &actor);
    let request = contacts::attach(request, &ctx, &actor);
    let request = working_groups::attach(request, &ctx, &actor);
    let request = plans::attach(request, &ctx, &actor);
    let request = request.data(ctx).data(actor);
    Ok(HttpResponse::Ok().json(schema.execute(request).await))
}

/// GET /graphql: GraphiQL, with its scripts from `XIEZUO_GRAPHIQL_ASSETS_URL`.
pub async fn graphiql(app: web::Data<AppCtx>) -> HttpResponse {
    let html = GraphiQLSource::build()
        .endpoint("/graphql")
        .title("xiezuo GraphQL")
        .finish();
    let base = app.config.graphiql_assets_url.trim_end_matches('/');
    let html = html.replace("https://unpkg.com", base).replace(
        r#"<link rel="icon" href="https://graphql.org/favicon.ico">"#,
        "",
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html)
}

pub(crate) fn gql_shared(err: &Arc<AppError>) -> async_graphql::Error {
    err.as_ref().extend()
}
