//! The GraphQL adapter: the same service functions as REST, with relations loaded through
//! DataLoaders so a nested query costs a bounded number of SQL statements.

mod loaders;

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::{
    ComplexObject, Context, EmptySubscription, ErrorExtensions, Object, Schema,
    connection::{Connection, Edge},
    dataloader::DataLoader,
    http::GraphiQLSource,
};
use uuid::Uuid;

use self::loaders::{ChildrenLoader, OrgLoader, OrgPairingsLoader};
use crate::{
    auth::Actor,
    domain::Cursor,
    error::AppError,
    rest::{
        extract::{RawBody, actor_from_request, is_json, parse_json},
        problem::Problem,
    },
    service::{
        AppCtx, Page,
        organizations::{
            self, NewOrganization, OrganizationPatch, OrganizationQuery, OrganizationView,
        },
        pairings::{self, NewPairing, PairingPatch, PairingQuery, PairingView},
    },
};

pub type XiezuoSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Limits a hostile or careless query cannot get past.
pub const MAX_DEPTH: usize = 12;
pub const MAX_COMPLEXITY: usize = 5000;

/// Built without a database: request data (context, actor, loaders) is attached per request.
pub fn schema() -> XiezuoSchema {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
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

/// Explicit conversion: see `error.rs` for why `?` alone does not compile here.
fn gql(err: AppError) -> async_graphql::Error {
    err.extend()
}

/// The service names page arguments as REST does (`limit`, `cursor`); GraphQL calls them
/// `first` and `after`.
fn page_args(err: AppError) -> async_graphql::Error {
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

fn parts<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<(&'a AppCtx, &'a Actor)> {
    Ok((ctx.data::<AppCtx>()?, ctx.data::<Actor>()?))
}

fn connection<T: async_graphql::OutputType>(
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

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    async fn organization(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<OrganizationView>> {
        let (app, actor) = parts(ctx)?;
        match organizations::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Organizations the caller may read, in id order (Relay connection; `first` ≤ 500).
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrganizationQuery>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, OrganizationView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = organizations::list(app, actor, q)
            .await
            .map_err(page_args)?;
        Ok(connection(page, |o| o.id))
    }

    async fn pairing(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<Option<PairingView>> {
        let (app, actor) = parts(ctx)?;
        match pairings::get(app, actor, id).await {
            Ok(v) => Ok(Some(v)),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// Pairings the caller may read (Relay connection; `first` ≤ 500).
    async fn pairings(
        &self,
        ctx: &Context<'_>,
        filter: Option<PairingQuery>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, PairingView>> {
        let (app, actor) = parts(ctx)?;
        let mut q = filter.unwrap_or_default();
        q.limit = first.map(i64::from);
        q.cursor = after;
        let page = pairings::list(app, actor, q).await.map_err(page_args)?;
        Ok(connection(page, |p| p.id))
    }
}

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: NewOrganization,
    ) -> async_graphql::Result<OrganizationView> {
        let (app, actor) = parts(ctx)?;
        organizations::create(app, actor, input).await.map_err(gql)
    }

    /// `expected_version` works as REST's `If-Match`.
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: OrganizationPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<OrganizationView> {
        let (app, actor) = parts(ctx)?;
        organizations::update(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    async fn delete_organization(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        organizations::delete(app, actor, id, expected_version)
            .await
            .map_err(gql)?;
        Ok(true)
    }

    async fn create_pairing(
        &self,
        ctx: &Context<'_>,
        input: NewPairing,
    ) -> async_graphql::Result<PairingView> {
        let (app, actor) = parts(ctx)?;
        pairings::create(app, actor, input).await.map_err(gql)
    }

    async fn update_pairing(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: PairingPatch,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<PairingView> {
        let (app, actor) = parts(ctx)?;
        pairings::update(app, actor, id, expected_version, input)
            .await
            .map_err(gql)
    }

    async fn delete_pairing(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<bool> {
        let (app, actor) = parts(ctx)?;
        pairings::delete(app, actor, id, expected_version)
            .await
            .map_err(gql)?;
        Ok(true)
    }
}

#[ComplexObject]
impl OrganizationView {
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrganizationView>> {
        let Some(parent) = self.parent_id else {
            return Ok(None);
        };
        ctx.data::<DataLoader<OrgLoader>>()?
            .load_one(parent)
            .await
            .map_err(|e| gql_shared(&e))
    }

    async fn children(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OrganizationView>> {
        Ok(ctx
            .data::<DataLoader<ChildrenLoader>>()?
            .load_one(self.id)
            .await
            .map_err(|e| gql_shared(&e))?
            .unwrap_or_default())
    }

    async fn pairings(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PairingView>> {
        Ok(ctx
            .data::<DataLoader<OrgPairingsLoader>>()?
            .load_one(self.id)
            .await
            .map_err(|e| gql_shared(&e))?
            .unwrap_or_default())
    }
}

#[ComplexObject]
impl PairingView {
    async fn east(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrganizationView>> {
        ctx.data::<DataLoader<OrgLoader>>()?
            .load_one(self.east_org_id)
            .await
            .map_err(|e| gql_shared(&e))
    }

    async fn west(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrganizationView>> {
        ctx.data::<DataLoader<OrgLoader>>()?
            .load_one(self.west_org_id)
            .await
            .map_err(|e| gql_shared(&e))
    }
}

fn gql_shared(err: &Arc<AppError>) -> async_graphql::Error {
    err.as_ref().extend()
}

/// POST /graphql. Authentication is the same as REST's (no token or a bad one is a 401), and so
/// are the body rules: the size limit, JSON only, problem+json for a body that is not a request.
pub async fn handle(
    schema: web::Data<XiezuoSchema>,
    app: web::Data<AppCtx>,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, Problem> {
    let actor = actor_from_request(&req)?;
    if !is_json(&req) {
        return Err(AppError::UnsupportedMediaType {
            detail: "send the GraphQL request as application/json".into(),
        }
        .into());
    }
    let request: async_graphql::Request = parse_json(&body.0)?;
    let ctx = app.get_ref().clone();
    let request = request
        .data(DataLoader::new(OrgLoader::new(&ctx, &actor), tokio::spawn))
        .data(DataLoader::new(
            ChildrenLoader::new(&ctx, &actor),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            OrgPairingsLoader::new(&ctx, &actor),
            tokio::spawn,
        ))
        .data(ctx)
        .data(actor);
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
