//! The GraphQL adapter: the same service functions as REST, with relations loaded through
//! DataLoaders so a nested query costs a bounded number of SQL statements.

mod agreements;
mod calendar;
mod changes;
mod contacts;
mod evidence;
mod exchanges;
mod fund_transactions;
pub mod ide;
mod ledgers;
mod loaders;
mod plans;
mod projects;
mod reconciliations;
mod self_assessments;
mod statements;
mod structure;
mod working_groups;

use std::sync::Arc;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::{
    Context, EmptySubscription, ErrorExtensions, MergedObject, Schema,
    connection::{Connection, Edge},
    dataloader::DataLoader,
};
use uuid::Uuid;

use self::loaders::{OrgPlansLoader, OrgWorkingGroupLoader};
use crate::{
    authz::Actor,
    domain::Cursor,
    error::AppError,
    http::{
        extract::{RawBody, actor_from_request, is_json, parse_json},
        problem::Problem,
    },
    service::{
        AppCtx, Page,
        directory::Directory,
        organizations::{self, OrganizationView},
        pairings::{self, PairingView},
    },
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
    calendar::CalendarQuery,
    evidence::EvidenceQuery,
    ledgers::LedgerQuery,
    self_assessments::SelfAssessmentQuery,
    reconciliations::ReconciliationQuery,
    statements::StatementQuery,
    changes::ChangeQuery,
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
    calendar::CalendarMutation,
    evidence::EvidenceMutation,
    ledgers::LedgerMutation,
    self_assessments::SelfAssessmentMutation,
    reconciliations::ReconciliationMutation,
    statements::StatementMutation,
);

pub type XiezuoSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// How deep a query may nest. The cost model below is what bounds the work; the depth limit
/// only stops absurd documents, and leaves room for the standard introspection query.
pub const MAX_DEPTH: usize = 20;

/// The most a query may cost: about the number of values it can return. A field costs 1 plus
/// its selection; a list field costs the most items it can return times (1 + their selection),
/// so nesting and aliases multiply as they do in the response. Checked before anything runs.
pub const MAX_COST: usize = 200_000;

/// Items a nested list (`Pairing.projects`, `Project.fundTransactions`, …) returns when the
/// query does not say `first`; at most [`kernel::CHILDREN_MAX`](crate::service::kernel).
pub const NESTED_FIRST: i32 = 100;

/// Every cost is capped here, so sums and products of costs never overflow.
const COST_CAP: usize = 1 << 40;

/// The cost of a list of at most `n` items, each costing 1 plus `child`.
pub(crate) fn list_cost(n: usize, child: usize) -> usize {
    n.saturating_mul(child.saturating_add(1))
        .saturating_add(1)
        .min(COST_CAP)
}

/// The cost of a list that returns at most `first` items (`default` when absent). A `first`
/// outside 1..=500 is refused when the field runs; here it counts as 500.
pub(crate) fn first_cost(first: Option<i32>, default: i32, child: usize) -> usize {
    let max = i32::try_from(crate::service::kernel::CHILDREN_MAX).unwrap_or(i32::MAX);
    let n = first.unwrap_or(default).clamp(0, max);
    list_cost(usize::try_from(n).unwrap_or_default(), child)
}

/// The cost of a connection (`first` items, 50 by default).
pub(crate) fn page_cost(first: Option<i32>, child: usize) -> usize {
    first_cost(first, 50, child)
}

/// `first` of a nested list, checked: `NESTED_FIRST` when absent, 1..=500 otherwise.
pub(crate) fn nested_first(first: Option<i32>) -> async_graphql::Result<usize> {
    let max = crate::service::kernel::CHILDREN_MAX;
    match first {
        None => Ok(usize::try_from(NESTED_FIRST).unwrap_or_default()),
        Some(n) if n >= 1 && u64::try_from(n).is_ok_and(|n| n <= max) => {
            Ok(usize::try_from(n).unwrap_or_default())
        }
        Some(_) => Err(gql(AppError::field(
            "first",
            format!("must be between 1 and {max}"),
        ))),
    }
}

/// A nested list: the first `first` children of `key` (see [`nested_first`]), through the
/// request's `L` loader, which batches the keys of one level into one statement.
pub(crate) async fn nested<L, T>(
    ctx: &Context<'_>,
    key: Uuid,
    first: Option<i32>,
) -> async_graphql::Result<Vec<T>>
where
    L: async_graphql::dataloader::Loader<Uuid, Value = Vec<T>, Error = Arc<AppError>>,
    T: Clone + Send + Sync + 'static,
{
    let n = nested_first(first)?;
    let mut items = ctx
        .data::<DataLoader<L>>()?
        .load_one(key)
        .await
        .map_err(|e| gql_shared(&e))?
        .unwrap_or_default();
    items.truncate(n);
    Ok(items)
}

/// Checks a document before it runs. It refuses a document too large once its fragments are
/// spread ([`MAX_EXPANDED_FIELDS`]) and a query that costs more than [`MAX_COST`], with the
/// estimate, the limit and the code `query_too_costly` in the error, so a client knows what to
/// shrink. It refuses a string argument holding U+0000 (which no text column can store) as
/// a `validation_failed` error naming the argument, as REST does for a body or query string.
///
/// It is an extension of the guard schema only ([`Graphql`]), which validates a request and
/// stops before executing it: in a schema with any extension, async-graphql runs every field
/// through the extension chain (a boxed future and a type lookup per field).
struct DocumentGuard;

/// The checks of a parsed document that come before validation, as a GraphQL error.
fn check_document(
    doc: &async_graphql::parser::types::ExecutableDocument,
) -> Result<(), async_graphql::ServerError> {
    let fields = expanded_fields(doc);
    if fields > MAX_EXPANDED_FIELDS {
        let mut err = async_graphql::ServerError::new(
            format!(
                "the query holds more than {MAX_EXPANDED_FIELDS} fields once its fragments \
                 are spread: split it"
            ),
            None,
        );
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", "query_too_costly");
        ext.set("fields", fields);
        ext.set("limit", MAX_EXPANDED_FIELDS);
        err.extensions = Some(ext);
        return Err(err);
    }
    if let Some(argument) = nul_argument(doc) {
        let err = AppError::field(argument, "must not contain the NUL character (U+0000)");
        return Err(err
            .extend()
            .into_server_error(async_graphql::Pos::default()));
    }
    Ok(())
}

/// The most fields a document may hold once its fragments are spread in place. It bounds the
/// work of checking the document, and keeps the sum of the field costs (each at most
/// 2^40) far inside 64 bits: fragments spread ten times over ten levels cannot make a 1 KB
/// query cost 10^10 steps to check, nor make its cost wrap around to zero.
pub const MAX_EXPANDED_FIELDS: u64 = 20_000;

/// The number of fields of `doc` with every fragment spread in place, each fragment's size
/// computed once (saturating; a fragment cycle counts as too many, validation names it).
fn expanded_fields(doc: &async_graphql::parser::types::ExecutableDocument) -> u64 {
    use std::collections::HashMap;

    use async_graphql::parser::types::{Selection, SelectionSet};
    fn size(
        set: &SelectionSet,
        doc: &async_graphql::parser::types::ExecutableDocument,
        memo: &mut HashMap<String, Option<u64>>,
    ) -> u64 {
        set.items.iter().fold(0u64, |total, item| {
            let n = match &item.node {
                Selection::Field(field) => {
                    1u64.saturating_add(size(&field.node.selection_set.node, doc, memo))
                }
                Selection::InlineFragment(inline) => {
                    size(&inline.node.selection_set.node, doc, memo)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.to_string();
                    match memo.get(&name) {
                        Some(Some(n)) => *n,
                        // Being computed: a cycle.
                        Some(None) => u64::MAX,
                        None => {
                            memo.insert(name.clone(), None);
                            let n = doc
                                .fragments
                                .get(spread.node.fragment_name.node.as_str())
                                .map_or(0, |f| size(&f.node.selection_set.node, doc, memo));
                            memo.insert(name, Some(n));
                            n
                        }
                    }
                }
            };
            total.saturating_add(n)
        })
    }
    let mut memo = HashMap::new();
    doc.operations.iter().fold(0u64, |total, (_, op)| {
        total.saturating_add(size(&op.node.selection_set.node, doc, &mut memo))
    })
}

/// The first argument, anywhere in `doc`, whose value holds a string with U+0000.
fn nul_argument(doc: &async_graphql::parser::types::ExecutableDocument) -> Option<String> {
    use async_graphql::{
        Value,
        parser::types::{Selection, SelectionSet},
    };
    fn holds_nul(value: &Value) -> bool {
        match value {
            Value::String(s) => s.contains('\0'),
            Value::List(items) => items.iter().any(holds_nul),
            Value::Object(fields) => fields.values().any(holds_nul),
            _ => false,
        }
    }
    fn in_set(set: &SelectionSet) -> Option<String> {
        set.items.iter().find_map(|item| match &item.node {
            Selection::Field(field) => field
                .node
                .arguments
                .iter()
                .find(|(_, value)| {
                    value
                        .node
                        .clone()
                        .into_const_with(|_| Ok::<_, ()>(Value::Null))
                        .is_ok_and(|v| holds_nul(&v))
                })
                .map(|(name, _)| name.node.to_string())
                .or_else(|| in_set(&field.node.selection_set.node)),
            Selection::InlineFragment(fragment) => in_set(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => None,
        })
    }
    let in_defaults = doc.operations.iter().find_map(|(_, op)| {
        op.node.variable_definitions.iter().find_map(|var| {
            var.node
                .default_value
                .as_ref()
                .filter(|v| holds_nul(&v.node))
                .map(|_| var.node.name.node.to_string())
        })
    });
    in_defaults
        .or_else(|| {
            doc.operations
                .iter()
                .find_map(|(_, op)| in_set(&op.node.selection_set.node))
        })
        .or_else(|| {
            doc.fragments
                .values()
                .find_map(|f| in_set(&f.node.selection_set.node))
        })
}

impl async_graphql::extensions::ExtensionFactory for DocumentGuard {
    fn create(&self) -> Arc<dyn async_graphql::extensions::Extension> {
        Arc::new(DocumentGuard)
    }
}

#[async_trait::async_trait]
impl async_graphql::extensions::Extension for DocumentGuard {
    async fn validation(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        next: async_graphql::extensions::NextValidation<'_>,
    ) -> Result<async_graphql::ValidationResult, Vec<async_graphql::ServerError>> {
        let result = next.run(ctx).await?;
        if result.complexity > MAX_COST {
            let mut err = async_graphql::ServerError::new(
                format!(
                    "the query may return about {} values, more than the limit of {MAX_COST}: \
                     ask for fewer items with `first`, or split the query",
                    result.complexity
                ),
                None,
            );
            let mut ext = async_graphql::ErrorExtensionValues::default();
            ext.set("code", "query_too_costly");
            ext.set("cost", u64::try_from(result.complexity).unwrap_or(u64::MAX));
            ext.set("limit", u64::try_from(MAX_COST).unwrap_or(u64::MAX));
            err.extensions = Some(ext);
            return Err(vec![err]);
        }
        Ok(result)
    }

    /// The guard schema validates only: what it passes runs in the schema without extensions.
    async fn execute(
        &self,
        _ctx: &async_graphql::extensions::ExtensionContext<'_>,
        _operation_name: Option<&str>,
        _next: async_graphql::extensions::NextExecute<'_>,
    ) -> async_graphql::Response {
        async_graphql::Response::new(async_graphql::Value::Null)
    }
}

/// The schema twice over the same types: `guard` validates a request with [`DocumentGuard`]
/// and never executes it; `run` executes what the guard passed, with no extension in the way.
pub struct Graphql {
    guard: XiezuoSchema,
    pub run: XiezuoSchema,
}

impl Graphql {
    /// Parses and checks `request`, then executes it: an error at any step is the answer.
    pub async fn execute(&self, mut request: async_graphql::Request) -> async_graphql::Response {
        let doc = match request.parsed_query() {
            Ok(doc) => doc.clone(),
            Err(e) => return async_graphql::Response::from_errors(vec![e]),
        };
        if let Err(e) = check_document(&doc) {
            return async_graphql::Response::from_errors(vec![e]);
        }
        let mut probe =
            async_graphql::Request::new(request.query.clone()).variables(request.variables.clone());
        probe.operation_name = request.operation_name.clone();
        probe.set_parsed_query(doc);
        let verdict = self.guard.execute(probe).await;
        if verdict.is_err() {
            return verdict;
        }
        self.run.execute(request).await
    }
}

/// Built without a database: request data (context, actor, loaders) is attached per request.
pub fn schema() -> Graphql {
    let build = || {
        Schema::build(
            QueryRoot::default(),
            MutationRoot::default(),
            EmptySubscription,
        )
        .limit_depth(MAX_DEPTH)
    };
    Graphql {
        guard: build().extension(DocumentGuard).finish(),
        // What reaches `run` has passed every rule in `guard`: only the checks execution
        // needs (fragment cycles, depth) are made again, not the whole rule set.
        run: build()
            .validation_mode(async_graphql::ValidationMode::Fast)
            .finish(),
    }
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
                        m.insert(async_graphql::Name::new("code"), f.code.clone().into());
                        m.insert(
                            async_graphql::Name::new("message"),
                            f.message.clone().into(),
                        );
                        if let Some(external_id) = &f.external_id {
                            m.insert(
                                async_graphql::Name::new("externalId"),
                                external_id.clone().into(),
                            );
                        }
                        async_graphql::Value::Object(m)
                    })
                    .collect();
                e.set("errors", fields);
            }
            if let Some(field) = self.conflict_field() {
                e.set("field", field);
            }
            if let Some(id) = self.existing_id() {
                e.set("existingId", id.to_string());
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

/// The directory a GraphQL request nests organizations and pairings from: the reading its caller
/// was resolved with, so nesting needs neither a statement nor a batch. A mutation that changes
/// organizations or pairings replaces it ([`refresh_directory`]), so that what the request nests
/// afterwards, the mutation's own result included, shows the change.
pub(crate) struct RequestDirectory(std::sync::RwLock<Arc<Directory>>);

/// The request's current reading of the directory.
pub(crate) fn request_directory(ctx: &Context<'_>) -> async_graphql::Result<Arc<Directory>> {
    let held = ctx.data::<RequestDirectory>()?;
    Ok(held.0.read().unwrap_or_else(|e| e.into_inner()).clone())
}

/// Reads the directory again after a mutation wrote organizations or pairings (the write
/// invalidated the process's copy at commit).
pub(crate) async fn refresh_directory(ctx: &Context<'_>) -> async_graphql::Result<()> {
    let app = ctx.data::<AppCtx>()?;
    let fresh = app.directory.get(&app.db).await.map_err(gql)?;
    let held = ctx.data::<RequestDirectory>()?;
    *held.0.write().unwrap_or_else(|e| e.into_inner()) = fresh;
    Ok(())
}

/// The organization `id` nested under a record, if the caller may read it.
pub(crate) fn organization(
    ctx: &Context<'_>,
    id: Uuid,
) -> async_graphql::Result<Option<OrganizationView>> {
    let (_, actor) = parts(ctx)?;
    let dir = request_directory(ctx)?;
    organizations::in_directory(&dir, actor, id).map_err(gql)
}

/// The pairing `id` nested under a record, if the caller may read it.
pub(crate) fn pairing(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<PairingView>> {
    let (_, actor) = parts(ctx)?;
    let dir = request_directory(ctx)?;
    pairings::in_directory(&dir, actor, id).map_err(gql)
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
    schema: web::Data<Graphql>,
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
    let snapshot = req.extensions().get::<Arc<Directory>>().cloned();
    let directory = match snapshot {
        Some(dir) => dir,
        None => ctx.directory.get(&ctx.db).await?,
    };
    let request = request
        .data(RequestDirectory(std::sync::RwLock::new(directory)))
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

pub(crate) fn gql_shared(err: &Arc<AppError>) -> async_graphql::Error {
    err.as_ref().extend()
}
