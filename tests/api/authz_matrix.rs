//! The authorization matrix (DESIGN §4; `api/src/authz.rs`, `api/src/service/scope.rs`): role ×
//! organization × record, reads and writes, REST and GraphQL alike.
//!
//! A record the caller may not read answers 404 (GraphQL: `null` for a query, `not_found` for a
//! mutation), never 403; a readable record the caller may not change answers 403 (`forbidden`).
//! Each test walks its table on one fresh app, collects every mismatch and fails once at the end,
//! naming the actor (`role@org code`), the operation and the record of each.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    time::Duration,
};

use entity::{organization, pairing};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{TestApp, parts, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

/// Every request is answered well within this, or the test stops right there: a request that
/// waits longer is stuck, and the rest of the matrix would only queue behind it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A pairing by its sides' codes: (east, west).
type Pair = (&'static str, &'static str);

const SH_ZY: Pair = ("310000", "520300"); // 上海–遵义
const SZ_TR: Pair = ("320500", "520600"); // 苏州–铜仁
const GZ_BJ: Pair = ("440100", "520500"); // 广州–毕节
const DL_LPS: Pair = ("210200", "520200"); // 大连–六盘水
const SH_GZ: Pair = ("310000", "520000"); // 上海–贵州, province level

/// The 2019 register the seed loads.
const SEEDED_PAIRINGS: &[Pair] = &[
    SH_ZY,
    DL_LPS,
    ("370200", "520400"),
    GZ_BJ,
    ("440100", "522700"),
    SZ_TR,
    ("330100", "522600"),
    ("330200", "522300"),
    SH_GZ,
    ("210000", "520000"),
    ("370000", "520000"),
    ("440000", "520000"),
    ("320000", "520000"),
    ("330000", "520000"),
];

/// What an actor may read.
enum Reach {
    Everything,
    /// Exactly these organizations (by code) and pairings.
    Only {
        orgs: &'static [&'static str],
        pairings: &'static [Pair],
    },
}

/// The editor of 遵义: its subtree (仁怀), its ancestor (the province), the other side of its
/// pairing (上海), and that pairing.
const ZUNYI_EDITOR_READS: Reach = Reach::Only {
    orgs: &["520000", "520300", "520382", "310000"],
    pairings: &[SH_ZY],
};

/// The partner 上海 (a root): itself, 遵义 across the 上海–遵义 pairing, and the province
/// across their province-level pairing.
const SHANGHAI_PARTNER_READS: Reach = Reach::Only {
    orgs: &["310000", "520300", "520000"],
    pairings: &[SH_ZY, SH_GZ],
};

/// The partner 苏州: itself, its province (江苏), 铜仁 across the 苏州–铜仁 pairing.
const SUZHOU_PARTNER_READS: Reach = Reach::Only {
    orgs: &["320000", "320500", "520600"],
    pairings: &[SZ_TR],
};

/// The answer a table row expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Allowed: 200 (201 for POST, 204 for DELETE); GraphQL data without errors.
    Ok,
    /// Readable but not writable: 403 / `forbidden`.
    Forbidden,
    /// Not readable: 404 / `not_found`.
    NotFound,
}

impl Expect {
    fn status(self, method: &Method) -> u16 {
        match self {
            Expect::Ok if *method == Method::POST => 201,
            Expect::Ok if *method == Method::DELETE => 204,
            Expect::Ok => 200,
            Expect::Forbidden => 403,
            Expect::NotFound => 404,
        }
    }

    fn code(self) -> Option<&'static str> {
        match self {
            Expect::Ok => None,
            Expect::Forbidden => Some("forbidden"),
            Expect::NotFound => Some("not_found"),
        }
    }
}

/// An actor with a signed token.
struct Who {
    role: Role,
    org: &'static str,
    token: String,
}

impl Who {
    fn label(&self) -> String {
        format!("{}@{}", self.role.as_str(), self.org)
    }
}

/// `role` in the organization `org`, with a token from the harness.
fn who(app: &TestApp, role: Role, org: &'static str) -> Who {
    Who {
        role,
        org,
        token: app.token(role, Some(org)),
    }
}

/// Ground truth read from the database, not through the API.
struct World {
    /// Every live organization: code → id.
    orgs: BTreeMap<String, Uuid>,
    /// Every live pairing: (east code, west code) → id.
    pairings: BTreeMap<(String, String), Uuid>,
    code_of: HashMap<Uuid, String>,
}

impl World {
    async fn load(app: &TestApp) -> Self {
        let orgs: BTreeMap<String, Uuid> = organization::Entity::find()
            .filter(organization::Column::DeletedAt.is_null())
            .all(&app.ctx.db)
            .await
            .unwrap_or_else(|e| panic!("cannot read organizations: {e}"))
            .into_iter()
            .map(|m| (m.code, m.id))
            .collect();
        let code_of: HashMap<Uuid, String> =
            orgs.iter().map(|(code, id)| (*id, code.clone())).collect();
        let pairings = pairing::Entity::find()
            .filter(pairing::Column::DeletedAt.is_null())
            .all(&app.ctx.db)
            .await
            .unwrap_or_else(|e| panic!("cannot read pairings: {e}"))
            .into_iter()
            .map(|m| {
                let side = |id: Uuid| {
                    code_of
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| panic!("pairing {} names unknown org {id}", m.id))
                };
                ((side(m.east_org_id), side(m.west_org_id)), m.id)
            })
            .collect();
        Self {
            orgs,
            pairings,
            code_of,
        }
    }

    fn org(&self, code: &str) -> Uuid {
        *self
            .orgs
            .get(code)
            .unwrap_or_else(|| panic!("the seed has no organization {code}"))
    }

    fn pairing(&self, (east, west): Pair) -> Uuid {
        *self
            .pairings
            .get(&(east.to_string(), west.to_string()))
            .unwrap_or_else(|| panic!("the seed has no pairing {east}–{west}"))
    }

    /// `east–west` codes of a pairing in an API answer (REST snake_case or GraphQL camelCase).
    fn sides(&self, item: &Value) -> (String, String) {
        let side = |snake: &str, camel: &str| {
            let id = item[snake].as_str().or_else(|| item[camel].as_str());
            id.and_then(|s| s.parse::<Uuid>().ok())
                .and_then(|id| self.code_of.get(&id).cloned())
                .unwrap_or_else(|| format!("?{}", item[snake]))
        };
        (
            side("east_org_id", "eastOrgId"),
            side("west_org_id", "westOrgId"),
        )
    }
}

fn short(body: &Value) -> String {
    let text = body.to_string();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

fn set_diff<T: Ord + std::fmt::Debug>(expected: &BTreeSet<T>, actual: &BTreeSet<T>) -> String {
    let missing: Vec<_> = expected.difference(actual).collect();
    let unexpected: Vec<_> = actual.difference(expected).collect();
    format!("missing {missing:?}, unexpected {unexpected:?}")
}

fn pair_codes(pairs: &[Pair]) -> BTreeSet<(String, String)> {
    pairs
        .iter()
        .map(|(e, w)| (e.to_string(), w.to_string()))
        .collect()
}

/// One app, its ground truth, and the mismatches found so far.
struct Matrix<'a> {
    app: &'a TestApp,
    world: World,
    failures: Vec<String>,
}

impl<'a> Matrix<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let world = World::load(app).await;
        for (east, west) in SEEDED_PAIRINGS {
            world.pairing((east, west));
        }
        Self {
            app,
            world,
            failures: Vec::new(),
        }
    }

    fn check(&mut self, ok: bool, message: impl FnOnce() -> String) {
        if !ok {
            self.failures.push(message());
        }
    }

    fn report(&self) -> String {
        format!(
            "{} authorization check(s) failed:\n  - {}",
            self.failures.len(),
            self.failures.join("\n  - ")
        )
    }

    /// Fails the test with everything found so far.
    fn finish(self) {
        assert!(self.failures.is_empty(), "{}", self.report());
    }

    /// Sends one request; `what` names it in the failure if it gets no answer in time.
    async fn send(
        &mut self,
        who: &Who,
        what: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .app
            .request(method.clone(), path, Some(&who.token))
            .timeout(REQUEST_TIMEOUT);
        if let Some(body) = body {
            request = request.json(body);
        }
        if method == Method::PATCH || method == Method::DELETE {
            // The matrix is about who may change what, not about versions.
            request = request.header("If-Match", "*");
        }
        match request.send().await {
            Ok(response) => parts(response).await,
            Err(e) => {
                let why = if e.is_timeout() {
                    format!("no answer within {REQUEST_TIMEOUT:?}: the request is stuck")
                } else {
                    format!("request failed: {e}")
                };
                self.failures
                    .push(format!("{} {what} ({method} {path}): {why}", who.label()));
                panic!("{}\n(stopped at the stuck request)", self.report());
            }
        }
    }

    async fn rest(
        &mut self,
        who: &Who,
        what: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        expect: Expect,
    ) -> Value {
        let (status, answer) = self
            .send(
                who,
                &format!("{method} {what}"),
                method.clone(),
                path,
                body.as_ref(),
            )
            .await;
        let want = expect.status(&method);
        let code_ok = expect.code().is_none_or(|code| answer["code"] == code);
        self.check(status.as_u16() == want && code_ok, || {
            format!(
                "{} {method} {what}: expected {want}{}, got {status} {}",
                who.label(),
                expect.code().map(|c| format!(" {c}")).unwrap_or_default(),
                short(&answer)
            )
        });
        answer
    }

    async fn gql(&mut self, who: &Who, what: &str, query: &str, variables: Value) -> Value {
        let body = json!({"query": query, "variables": variables});
        let (status, answer) = self
            .send(who, what, Method::POST, "/graphql", Some(&body))
            .await;
        self.check(status == StatusCode::OK, || {
            format!(
                "{} GraphQL transport: expected 200, got {status} {}",
                who.label(),
                short(&answer)
            )
        });
        answer
    }

    /// A mutation whose answer is `data[field]`; returns that value.
    async fn mutation(
        &mut self,
        who: &Who,
        what: &str,
        query: &str,
        variables: Value,
        field: &str,
        expect: Expect,
    ) -> Value {
        let answer = self
            .gql(who, &format!("GraphQL {field} {what}"), query, variables)
            .await;
        let code = answer["errors"][0]["extensions"]["code"].as_str();
        let ok = match expect.code() {
            None => answer["errors"].is_null() && !answer["data"][field].is_null(),
            Some(want) => code == Some(want),
        };
        self.check(ok, || {
            format!(
                "{} GraphQL {field} {what}: expected {}, got {}",
                who.label(),
                expect.code().unwrap_or("success"),
                short(&answer)
            )
        });
        answer["data"][field].clone()
    }

    /// Every organization and pairing by id (REST and GraphQL), and both lists, against `reach`.
    async fn check_reads(&mut self, who: &Who, reach: &Reach) {
        let orgs: Vec<(String, Uuid)> = self
            .world
            .orgs
            .iter()
            .map(|(c, id)| (c.clone(), *id))
            .collect();
        let pairs: Vec<((String, String), Uuid)> = self
            .world
            .pairings
            .iter()
            .map(|(p, id)| (p.clone(), *id))
            .collect();
        let (readable_orgs, readable_pairs): (BTreeSet<String>, BTreeSet<(String, String)>) =
            match reach {
                Reach::Everything => (
                    orgs.iter().map(|(c, _)| c.clone()).collect(),
                    pairs.iter().map(|(p, _)| p.clone()).collect(),
                ),
                Reach::Only { orgs, pairings } => {
                    for code in *orgs {
                        self.world.org(code);
                    }
                    for pair in *pairings {
                        self.world.pairing(*pair);
                    }
                    (
                        orgs.iter().map(|c| c.to_string()).collect(),
                        pair_codes(pairings),
                    )
                }
            };

        // REST, one record at a time.
        for (code, id) in &orgs {
            let readable = readable_orgs.contains(code);
            let expect = if readable {
                Expect::Ok
            } else {
                Expect::NotFound
            };
            let what = format!("organization {code}");
            let path = format!("/api/v1/organizations/{id}");
            let body = self
                .rest(who, &what, Method::GET, &path, None, expect)
                .await;
            // A problem body (it has `status`) was already reported as the wrong answer.
            if readable && body.get("status").is_none() {
                self.check(body["code"] == code.as_str(), || {
                    format!("{} GET {what}: wrong body {}", who.label(), short(&body))
                });
            }
        }
        for ((east, west), id) in &pairs {
            let readable = readable_pairs.contains(&(east.clone(), west.clone()));
            let expect = if readable {
                Expect::Ok
            } else {
                Expect::NotFound
            };
            let what = format!("pairing {east}–{west}");
            let path = format!("/api/v1/pairings/{id}");
            let body = self
                .rest(who, &what, Method::GET, &path, None, expect)
                .await;
            // A problem body (it has `status`) was already reported as the wrong answer.
            if readable && body.get("status").is_none() {
                self.check(body["id"] == id.to_string().as_str(), || {
                    format!("{} GET {what}: wrong body {}", who.label(), short(&body))
                });
            }
        }

        // REST lists: exactly the readable sets, in one page.
        let list = self
            .rest(
                who,
                "organization list",
                Method::GET,
                "/api/v1/organizations?limit=500",
                None,
                Expect::Ok,
            )
            .await;
        let listed: BTreeSet<String> = list["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|o| o["code"].as_str().unwrap_or("?").to_string())
                    .collect()
            })
            .unwrap_or_default();
        self.check(
            listed == readable_orgs && list["next_cursor"].is_null(),
            || {
                format!(
                    "{} GET /api/v1/organizations: {} (next_cursor {})",
                    who.label(),
                    set_diff(&readable_orgs, &listed),
                    list["next_cursor"]
                )
            },
        );
        let list = self
            .rest(
                who,
                "pairing list",
                Method::GET,
                "/api/v1/pairings?limit=500",
                None,
                Expect::Ok,
            )
            .await;
        let listed: BTreeSet<(String, String)> = list["items"]
            .as_array()
            .map(|items| items.iter().map(|p| self.world.sides(p)).collect())
            .unwrap_or_default();
        self.check(
            listed == readable_pairs && list["next_cursor"].is_null(),
            || {
                format!(
                    "{} GET /api/v1/pairings: {} (next_cursor {})",
                    who.label(),
                    set_diff(&readable_pairs, &listed),
                    list["next_cursor"]
                )
            },
        );

        // GraphQL: every record by id under an alias, and both connections, in one document.
        let mut doc = String::from("query {\n");
        for (i, (_, id)) in orgs.iter().enumerate() {
            doc.push_str(&format!(
                "  o{i}: organization(id: \"{id}\") {{ id code }}\n"
            ));
        }
        for (i, (_, id)) in pairs.iter().enumerate() {
            doc.push_str(&format!(
                "  p{i}: pairing(id: \"{id}\") {{ id eastOrgId westOrgId }}\n"
            ));
        }
        doc.push_str(
            "  orgs: organizations(first: 500) { edges { node { code } } pageInfo { hasNextPage } }\n  \
             pairs: pairings(first: 500) { edges { node { eastOrgId westOrgId } } pageInfo { hasNextPage } }\n}",
        );
        let answer = self.gql(who, "GraphQL reads", &doc, json!({})).await;
        self.check(answer["errors"].is_null(), || {
            format!("{} GraphQL reads: errors {}", who.label(), short(&answer))
        });
        let data = &answer["data"];
        for (i, (code, _)) in orgs.iter().enumerate() {
            let node = &data[format!("o{i}")];
            let ok = if readable_orgs.contains(code) {
                node["code"] == code.as_str()
            } else {
                node.is_null()
            };
            self.check(ok, || {
                format!(
                    "{} GraphQL organization({code}): expected {}, got {node}",
                    who.label(),
                    if readable_orgs.contains(code) {
                        "the record"
                    } else {
                        "null"
                    }
                )
            });
        }
        for (i, (pair, id)) in pairs.iter().enumerate() {
            let node = &data[format!("p{i}")];
            let readable = readable_pairs.contains(pair);
            let ok = if readable {
                node["id"] == id.to_string().as_str() && self.world.sides(node) == *pair
            } else {
                node.is_null()
            };
            self.check(ok, || {
                format!(
                    "{} GraphQL pairing({}–{}): expected {}, got {node}",
                    who.label(),
                    pair.0,
                    pair.1,
                    if readable { "the record" } else { "null" }
                )
            });
        }
        let listed: BTreeSet<String> = data["orgs"]["edges"]
            .as_array()
            .map(|edges| {
                edges
                    .iter()
                    .map(|e| e["node"]["code"].as_str().unwrap_or("?").to_string())
                    .collect()
            })
            .unwrap_or_default();
        self.check(
            listed == readable_orgs && data["orgs"]["pageInfo"]["hasNextPage"] == false,
            || {
                format!(
                    "{} GraphQL organizations: {}",
                    who.label(),
                    set_diff(&readable_orgs, &listed)
                )
            },
        );
        let listed: BTreeSet<(String, String)> = data["pairs"]["edges"]
            .as_array()
            .map(|edges| edges.iter().map(|e| self.world.sides(&e["node"])).collect())
            .unwrap_or_default();
        self.check(
            listed == readable_pairs && data["pairs"]["pageInfo"]["hasNextPage"] == false,
            || {
                format!(
                    "{} GraphQL pairings: {}",
                    who.label(),
                    set_diff(&readable_pairs, &listed)
                )
            },
        );
    }

    /// PATCH then DELETE an organization over REST, both expecting `expect`.
    async fn rest_org_writes(&mut self, who: &Who, code: &str, expect: Expect) {
        let path = format!("/api/v1/organizations/{}", self.world.org(code));
        let what = format!("organization {code}");
        let patch = json!({"name": format!("{} 改名", who.label())});
        self.rest(who, &what, Method::PATCH, &path, Some(patch), expect)
            .await;
        self.rest(who, &what, Method::DELETE, &path, None, expect)
            .await;
    }

    /// PATCH then DELETE a pairing over REST, both expecting `expect`.
    async fn rest_pairing_writes(&mut self, who: &Who, pair: Pair, expect: Expect) {
        let id = self.world.pairing(pair);
        self.rest_pairing_id_writes(who, pair, id, expect).await;
    }

    async fn rest_pairing_id_writes(&mut self, who: &Who, pair: Pair, id: Uuid, expect: Expect) {
        let path = format!("/api/v1/pairings/{id}");
        let what = format!("pairing {}–{}", pair.0, pair.1);
        let patch = json!({"external_id": format!("by {}", who.label())});
        self.rest(who, &what, Method::PATCH, &path, Some(patch), expect)
            .await;
        self.rest(who, &what, Method::DELETE, &path, None, expect)
            .await;
    }

    /// updateOrganization then deleteOrganization, both expecting `expect`.
    async fn gql_org_writes(&mut self, who: &Who, code: &str, expect: Expect) {
        let id = self.world.org(code);
        let what = format!("on organization {code}");
        let name = format!("{} 改名", who.label());
        self.mutation(
            who,
            &what,
            UPDATE_ORG,
            json!({"id": id, "input": {"name": name}}),
            "updateOrganization",
            expect,
        )
        .await;
        self.mutation(
            who,
            &what,
            DELETE_ORG,
            json!({"id": id}),
            "deleteOrganization",
            expect,
        )
        .await;
    }

    /// updatePairing then deletePairing, both expecting `expect`.
    async fn gql_pairing_writes(&mut self, who: &Who, pair: Pair, expect: Expect) {
        let id = self.world.pairing(pair);
        let what = format!("on pairing {}–{}", pair.0, pair.1);
        let external = format!("by {}", who.label());
        self.mutation(
            who,
            &what,
            UPDATE_PAIRING,
            json!({"id": id, "input": {"externalId": external}}),
            "updatePairing",
            expect,
        )
        .await;
        self.mutation(
            who,
            &what,
            DELETE_PAIRING,
            json!({"id": id}),
            "deletePairing",
            expect,
        )
        .await;
    }

    /// The stored organization (deleted or not), straight from the database.
    async fn stored_org(&self, code: &str) -> Option<organization::Model> {
        organization::Entity::find()
            .filter(organization::Column::Code.eq(code))
            .one(&self.app.ctx.db)
            .await
            .unwrap_or_else(|e| panic!("cannot read organization {code}: {e}"))
    }

    /// Checks a stored organization is live at `version`.
    async fn org_state(&mut self, code: &str, version: i32, why: &str) {
        let stored = self.stored_org(code).await;
        let state = stored.as_ref().map(|m| (m.version, m.deleted_at.is_some()));
        self.check(state == Some((version, false)), || {
            format!(
                "organization {code} ({why}): expected live at version {version}, \
                 stored (version, deleted) = {state:?}"
            )
        });
    }

    /// Checks a stored pairing is live at `version`.
    async fn pairing_state(&mut self, pair: Pair, version: i32, why: &str) {
        let id = self.world.pairing(pair);
        let stored = pairing::Entity::find_by_id(id)
            .one(&self.app.ctx.db)
            .await
            .unwrap_or_else(|e| panic!("cannot read pairing {id}: {e}"));
        let state = stored.as_ref().map(|m| (m.version, m.deleted_at.is_some()));
        self.check(state == Some((version, false)), || {
            format!(
                "pairing {}–{} ({why}): expected live at version {version}, \
                 stored (version, deleted) = {state:?}",
                pair.0, pair.1
            )
        });
    }

    /// Checks the live pairings are exactly `expected`.
    async fn live_pairings(&mut self, expected: &[Pair]) {
        let now = World::load(self.app).await;
        let live: BTreeSet<(String, String)> = now.pairings.keys().cloned().collect();
        let expected = pair_codes(expected);
        self.check(live == expected, || {
            format!("live pairings: {}", set_diff(&expected, &live))
        });
    }
}

const CREATE_ORG: &str =
    "mutation($input: NewOrganizationInput!) { createOrganization(input: $input) { id code } }";
const UPDATE_ORG: &str = "mutation($id: UUID!, $input: OrganizationPatchInput!) { \
     updateOrganization(id: $id, input: $input) { id version } }";
const DELETE_ORG: &str = "mutation($id: UUID!) { deleteOrganization(id: $id) }";
const CREATE_PAIRING: &str =
    "mutation($input: NewPairingInput!) { createPairing(input: $input) { id version } }";
const UPDATE_PAIRING: &str = "mutation($id: UUID!, $input: PairingPatchInput!) { \
     updatePairing(id: $id, input: $input) { id version } }";
const DELETE_PAIRING: &str = "mutation($id: UUID!) { deletePairing(id: $id) }";

/// A REST body for a new department under `parent`.
fn new_org_rest(code: &str, parent: Uuid) -> Value {
    json!({
        "code": code,
        "name": format!("{code} 测试部"),
        "region": "west",
        "level": "prefecture",
        "kind": "department",
        "parent_id": parent,
    })
}

/// A GraphQL input for a new department under `parent`.
fn new_org_gql(code: &str, parent: Uuid) -> Value {
    json!({"input": {
        "code": code,
        "name": format!("{code} 测试部"),
        "region": "west",
        "level": "prefecture",
        "kind": "department",
        "parentId": parent,
    }})
}

/// A REST body for a new city–prefecture pairing.
fn new_pairing_rest(world: &World, (east, west): Pair) -> Value {
    json!({
        "east_org_id": world.org(east),
        "west_org_id": world.org(west),
        "level": "city_prefecture",
        "started_on": "2024-01-01",
    })
}

/// A GraphQL input for a new city–prefecture pairing.
fn new_pairing_gql(world: &World, (east, west): Pair) -> Value {
    json!({"input": {
        "eastOrgId": world.org(east),
        "westOrgId": world.org(west),
        "level": "city_prefecture",
        "startedOn": "2024-01-01",
    }})
}

fn id_in(body: &Value) -> Option<Uuid> {
    body["id"].as_str().and_then(|s| s.parse().ok())
}

#[tokio::test]
async fn admin_coordinator_and_auditor_read_every_organization_and_pairing() {
    let app = spawn_app().await;
    let mut m = Matrix::new(&app).await;
    for code in ["520000", "520300", "520382", "520600", "310000", "320500"] {
        m.world.org(code);
    }
    for role in [Role::Admin, Role::Coordinator, Role::Auditor] {
        let actor = who(&app, role, "520000");
        m.check_reads(&actor, &Reach::Everything).await;
    }
    // The role decides, not the organization: an auditor placed in an eastern federation too.
    let auditor_east = who(&app, Role::Auditor, "310000");
    m.check_reads(&auditor_east, &Reach::Everything).await;
    m.finish();
}

#[tokio::test]
async fn editor_reads_its_subtree_ancestors_and_pairing_counterparts_only() {
    let app = spawn_app().await;
    let mut m = Matrix::new(&app).await;
    let editor = who(&app, Role::Editor, "520300");
    m.check_reads(&editor, &ZUNYI_EDITOR_READS).await;

    // An unreadable record and a missing one answer alike.
    let missing = format!("/api/v1/organizations/{}", Uuid::now_v7());
    m.rest(
        &editor,
        "a missing organization",
        Method::GET,
        &missing,
        None,
        Expect::NotFound,
    )
    .await;

    // Filters and sub-resources do not widen the scope.
    let (province, tongren, renhuai) = (
        m.world.org("520000"),
        m.world.org("520600"),
        m.world.org("520382"),
    );
    for (what, path, expected) in [
        (
            "organizations filtered by code 520600",
            "/api/v1/organizations?code=520600".to_string(),
            vec![],
        ),
        (
            "organizations filtered by region east",
            "/api/v1/organizations?region=east".to_string(),
            vec!["310000"],
        ),
        (
            "children of 520000",
            format!("/api/v1/organizations/{province}/children"),
            vec!["520300"],
        ),
        (
            "ancestors of 520382",
            format!("/api/v1/organizations/{renhuai}/ancestors"),
            vec!["520300", "520000"],
        ),
        (
            "pairings of 520600",
            format!("/api/v1/pairings?org_id={tongren}"),
            vec![],
        ),
    ] {
        let body = m
            .rest(&editor, what, Method::GET, &path, None, Expect::Ok)
            .await;
        let got: Vec<String> = body["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| {
                        i["code"]
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("{:?}", m.world.sides(i)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let got_set: BTreeSet<&str> = got.iter().map(String::as_str).collect();
        let want_set: BTreeSet<&str> = expected.iter().copied().collect();
        let ordered = what.starts_with("ancestors");
        let ok = if ordered {
            got == expected
        } else {
            got_set == want_set
        };
        m.check(ok, || {
            format!("editor@520300 GET {what}: expected {expected:?}, got {got:?}")
        });
    }
    for (what, path) in [
        (
            "children of 520600",
            format!("/api/v1/organizations/{tongren}/children"),
        ),
        (
            "ancestors of 520600",
            format!("/api/v1/organizations/{tongren}/ancestors"),
        ),
    ] {
        m.rest(&editor, what, Method::GET, &path, None, Expect::NotFound)
            .await;
    }

    // Nested GraphQL goes through the same scope as the top-level fields.
    let zunyi = m.world.org("520300");
    let sh_zy = m.world.pairing(SH_ZY);
    let answer = m
        .gql(
            &editor,
            "nested GraphQL reads",
            "query($p: UUID!, $z: UUID!, $sz: UUID!) {
               province: organization(id: $p) { children { code } }
               zunyi: organization(id: $z) { pairings { east { code } west { code } } parent { code } }
               pairing(id: $sz) { east { code } west { code } }
             }",
            json!({"p": province, "z": zunyi, "sz": sh_zy}),
        )
        .await;
    let data = &answer["data"];
    let nested = [
        (
            "organization(520000).children",
            data["province"]["children"].clone(),
            json!([{"code": "520300"}]),
        ),
        (
            "organization(520300).pairings",
            data["zunyi"]["pairings"].clone(),
            json!([{"east": {"code": "310000"}, "west": {"code": "520300"}}]),
        ),
        (
            "organization(520300).parent",
            data["zunyi"]["parent"].clone(),
            json!({"code": "520000"}),
        ),
        (
            "pairing(上海–遵义) sides",
            data["pairing"].clone(),
            json!({"east": {"code": "310000"}, "west": {"code": "520300"}}),
        ),
    ];
    m.check(answer["errors"].is_null(), || {
        format!("editor@520300 nested GraphQL: errors {}", short(&answer))
    });
    for (what, got, want) in nested {
        m.check(got == want, || {
            format!("editor@520300 GraphQL {what}: expected {want}, got {got}")
        });
    }
    m.finish();
}

#[tokio::test]
async fn partners_read_their_pairings_and_the_other_side_only() {
    let app = spawn_app().await;
    let mut m = Matrix::new(&app).await;
    let shanghai = who(&app, Role::Partner, "310000");
    m.check_reads(&shanghai, &SHANGHAI_PARTNER_READS).await;
    let suzhou = who(&app, Role::Partner, "320500");
    m.check_reads(&suzhou, &SUZHOU_PARTNER_READS).await;

    // Nested GraphQL: 遵义's pairings as 上海 sees them, 铜仁's as 苏州 sees them.
    for (actor, org, pair) in [(&shanghai, "520300", SH_ZY), (&suzhou, "520600", SZ_TR)] {
        let id = m.world.org(org);
        let answer = m
            .gql(
                actor,
                "nested GraphQL reads",
                "query($id: UUID!) { organization(id: $id) { pairings { eastOrgId westOrgId } } }",
                json!({"id": id}),
            )
            .await;
        let got: Vec<(String, String)> = answer["data"]["organization"]["pairings"]
            .as_array()
            .map(|ps| ps.iter().map(|p| m.world.sides(p)).collect())
            .unwrap_or_default();
        let want = vec![(pair.0.to_string(), pair.1.to_string())];
        m.check(got == want, || {
            format!(
                "{} GraphQL organization({org}).pairings: expected {want:?}, got {}",
                actor.label(),
                short(&answer)
            )
        });
    }
    m.finish();
}

#[tokio::test]
async fn only_admin_writes_organizations_over_rest() {
    let app = spawn_app().await;
    let mut m = Matrix::new(&app).await;
    let admin = who(&app, Role::Admin, "520000");
    let coordinator = who(&app, Role::Coordinator, "520000");
    let auditor = who(&app, Role::Auditor, "520000");
    let editor = who(&app, Role::Editor, "520300");
    let shanghai = who(&app, Role::Partner, "310000");
    let suzhou = who(&app, Role::Partner, "320500");
    let zunyi = m.world.org("520300");
    let path = "/api/v1/organizations";

    // Create: admin only. Each refused body is valid, so a broken rule would show as a 201.
    for actor in [&coordinator, &auditor, &editor, &shanghai, &suzhou] {
        let code = format!("authz-{}-{}", actor.role.as_str(), actor.org);
        let body = new_org_rest(&code, zunyi);
        m.rest(
            actor,
            "a new organization",
            Method::POST,
            path,
            Some(body),
            Expect::Forbidden,
        )
        .await;
    }
    let created = m
        .rest(
            &admin,
            "a new organization",
            Method::POST,
            path,
            Some(new_org_rest("520300-authz", zunyi)),
            Expect::Ok,
        )
        .await;

    // Change and delete: forbidden on what the actor reads, not found on what it does not.
    use Expect::{Forbidden, NotFound};
    let table: [(&Who, &[(&str, Expect)]); 5] = [
        (
            &coordinator,
            &[
                ("520000", Forbidden),
                ("520382", Forbidden),
                ("310000", Forbidden),
            ],
        ),
        (&auditor, &[("520382", Forbidden), ("320500", Forbidden)]),
        (
            &editor,
            &[
                ("520300", Forbidden),
                ("520382", Forbidden),
                ("520000", Forbidden),
                ("310000", Forbidden),
                ("520600", NotFound),
                ("320500", NotFound),
                ("520000-wq", NotFound),
            ],
        ),
        (
            &shanghai,
            &[
                ("310000", Forbidden),
                ("520300", Forbidden),
                ("520382", NotFound),
                ("520600", NotFound),
                ("320500", NotFound),
            ],
        ),
        (
            &suzhou,
            &[
                ("320500", Forbidden),
                ("320000", Forbidden),
                ("520600", Forbidden),
                ("520300", NotFound),
                ("310000", NotFound),
            ],
        ),
    ];
    // The admin's own writes succeed.
    let tongren = m.world.org("520600");
    m.rest(
        &admin,
        "organization 520600",
        Method::PATCH,
        &format!("{path}/{tongren}"),
        Some(json!({"name": "铜仁市残疾人联合会（改）"})),
        Expect::Ok,
    )
    .await;
    match id_in(&created) {
        Some(id) => {
            m.rest(
                &admin,
                "organization 520300-authz",
                Method::DELETE,
                &format!("{path}/{id}"),
                None,
                Expect::Ok,
            )
            .await;
        }
        None => m.check(false, || format!("admin@520000 POST: no id in {created}")),
    }
    for (actor, rows) in table {
        for (code, expect) in rows {
            m.rest_org_writes(actor, code, *expect).await;
        }
    }

    // Nothing refused left a trace.
    for actor in [&coordinator, &auditor, &editor, &shanghai, &suzhou] {
        let code = format!("authz-{}-{}", actor.role.as_str(), actor.org);
        let stored = m.stored_org(&code).await;
        m.check(stored.is_none(), || {
            format!(
                "{} POST was refused, yet organization {code} exists",
                actor.label()
            )
        });
    }
    for code in [
        "520000",
        "520300",
        "520382",
        "310000",
        "320000",
        "320500",
        "520000-wq",
    ] {
        m.org_state(code, 1, "only refused writes").await;
    }
    m.org_state("520600", 2, "one admin PATCH").await;
    let deleted = m.stored_org("520300-authz").await;
    m.check(deleted.is_some_and(|o| o.deleted_at.is_some()), || {
        "organization 520300-authz: the admin's DELETE did not take".to_string()
    });
    m.finish();
}

#[tokio::test]
async fn admin_and_coordinator_write_pairings_over_rest() {
    let app = spawn_app().await;
    let mut m = Matrix::new(&app).await;
    let admin = who(&app, Role::Admin, "520000");
    let coordinator = who(&app, Role::Coordinator, "520000");
    let auditor = who(&app, Role::Auditor, "520000");
    let editor = who(&app, Role::Editor, "520300");
    let shanghai = who(&app, Role::Partner, "310000");
    let suzhou = who(&app, Role::Partner, "320500");
    let path = "/api/v1/pairings";

    // Create: refused bodies are valid and new, so a broken rule would show as a 201.
    for (actor, pair) in [
        (&editor, ("330200", "520300")),
        (&shanghai, ("310000", "520400")),
        (&suzhou, ("320500", "520100")),
        (&auditor, ("370200", "520100")),
    ] {
        let body = new_pairing_rest(&m.world, pair);
        let what = format!("a new pairing {}–{}", pair.0, pair.1);
        m.rest(
            actor,
            &what,
            Method::POST,
            path,
            Some(body),
            Expect::Forbidden,
        )
        .await;
    }
    let mut created = Vec::new();
    for (actor, pair) in [
        (&coordinator, ("330100", "520100")),
        (&admin, ("310000", "520200")),
    ] {
        let body = new_pairing_rest(&m.world, pair);
        let what = format!("a new pairing {}–{}", pair.0, pair.1);
        let view = m
            .rest(actor, &what, Method::POST, path, Some(body), Expect::Ok)
            .await;
        match id_in(&view) {
            Some(id) => created.push((actor, pair, id)),
            None => m.check(false, || {
                format!("{} POST {what}: no id in {view}", actor.label())
            }),
        }
    }

    // Change: admin and coordinator; delete: each deletes the one it created.
    for (actor, pair) in [(&admin, SH_ZY), (&coordinator, SZ_TR)] {
        let id = m.world.pairing(pair);
        let what = format!("pairing {}–{}", pair.0, pair.1);
        let body = json!({"external_id": format!("by {}", actor.label())});
        m.rest(
            actor,
            &what,
            Method::PATCH,
            &format!("{path}/{id}"),
            Some(body),
            Expect::Ok,
        )
        .await;
    }
    for (actor, pair, id) in created {
        let what = format!("pairing {}–{}", pair.0, pair.1);
        m.rest(
            actor,
            &what,
            Method::DELETE,
            &format!("{path}/{id}"),
            None,
            Expect::Ok,
        )
        .await;
    }

    // Everyone else: forbidden on what they read, not found on what they do not.
    use Expect::{Forbidden, NotFound};
    let table: [(&Who, &[(Pair, Expect)]); 4] = [
        (&auditor, &[(SH_ZY, Forbidden), (GZ_BJ, Forbidden)]),
        (
            &editor,
            &[(SH_ZY, Forbidden), (SZ_TR, NotFound), (GZ_BJ, NotFound)],
        ),
        (
            &shanghai,
            &[(SH_ZY, Forbidden), (SZ_TR, NotFound), (DL_LPS, NotFound)],
        ),
        (&suzhou, &[(SZ_TR, Forbidden), (SH_ZY, NotFound)]),
    ];
    for (actor, rows) in table {
        for (pair, expect) in rows {
            m.rest_pairing_writes(actor, *pair, *expect).await;
        }
    }

    // Only the allowed writes left a trace.
    m.live_pairings(SEEDED_PAIRINGS).await;
    m.pairing_state(SH_ZY, 2, "one admin PATCH").await;
    m.pairing_state(SZ_TR, 2, "one coordinator PATCH").await;
    m.pairing_state(GZ_BJ, 1, "only refused writes").await;
    m.pairing_state(DL_LPS, 1, "only refused writes").await;
    m.finish();
}

#[tokio::test]
async fn graphql_mutations_follow_the_same_rules() {
    let app = spawn_app().await;
    let mut m = Matrix::new(&app).await;
    let admin = who(&app, Role::Admin, "520000");
    let coordinator = who(&app, Role::Coordinator, "520000");
    let auditor = who(&app, Role::Auditor, "520000");
    let editor = who(&app, Role::Editor, "520300");
    let shanghai = who(&app, Role::Partner, "310000");
    let suzhou = who(&app, Role::Partner, "320500");
    let zunyi = m.world.org("520300");
    use Expect::{Forbidden, NotFound};

    // Organizations: admin only.
    for actor in [&coordinator, &auditor, &editor, &shanghai, &suzhou] {
        let code = format!("gql-{}-{}", actor.role.as_str(), actor.org);
        let vars = new_org_gql(&code, zunyi);
        m.mutation(actor, "", CREATE_ORG, vars, "createOrganization", Forbidden)
            .await;
    }
    let created = m
        .mutation(
            &admin,
            "",
            CREATE_ORG,
            new_org_gql("520300-gql", zunyi),
            "createOrganization",
            Expect::Ok,
        )
        .await;
    m.mutation(
        &admin,
        "on organization 520600",
        UPDATE_ORG,
        json!({"id": m.world.org("520600"), "input": {"name": "铜仁市残疾人联合会（改）"}}),
        "updateOrganization",
        Expect::Ok,
    )
    .await;
    for actor in [&coordinator, &auditor] {
        m.gql_org_writes(actor, "520382", Forbidden).await;
    }

    // Pairings: admin and coordinator.
    for (actor, pair) in [
        (&editor, ("330200", "520300")),
        (&shanghai, ("310000", "520400")),
        (&suzhou, ("320500", "520100")),
        (&auditor, ("370200", "520100")),
    ] {
        let what = format!("{}–{}", pair.0, pair.1);
        let vars = new_pairing_gql(&m.world, pair);
        m.mutation(
            actor,
            &what,
            CREATE_PAIRING,
            vars,
            "createPairing",
            Forbidden,
        )
        .await;
    }
    let mut created_pairings = Vec::new();
    for (actor, pair) in [
        (&coordinator, ("330100", "520100")),
        (&admin, ("310000", "520200")),
    ] {
        let what = format!("{}–{}", pair.0, pair.1);
        let vars = new_pairing_gql(&m.world, pair);
        let view = m
            .mutation(
                actor,
                &what,
                CREATE_PAIRING,
                vars,
                "createPairing",
                Expect::Ok,
            )
            .await;
        if let Some(id) = id_in(&view) {
            created_pairings.push((actor, what, id));
        }
    }
    m.mutation(
        &coordinator,
        "on pairing 苏州–铜仁",
        UPDATE_PAIRING,
        json!({"id": m.world.pairing(SZ_TR), "input": {"externalId": "by coordinator"}}),
        "updatePairing",
        Expect::Ok,
    )
    .await;
    for (actor, what, id) in created_pairings {
        m.mutation(
            actor,
            &format!("on pairing {what}"),
            DELETE_PAIRING,
            json!({"id": id}),
            "deletePairing",
            Expect::Ok,
        )
        .await;
    }
    m.gql_pairing_writes(&auditor, SH_ZY, Forbidden).await;

    // Editors and partners: forbidden on what they read, not found on what they do not.
    let org_table: [(&Who, &[(&str, Expect)]); 3] = [
        (
            &editor,
            &[
                ("520300", Forbidden),
                ("310000", Forbidden),
                ("520600", NotFound),
            ],
        ),
        (&shanghai, &[("520300", Forbidden), ("520600", NotFound)]),
        (&suzhou, &[("520600", Forbidden), ("520300", NotFound)]),
    ];
    for (actor, rows) in org_table {
        for (code, expect) in rows {
            m.gql_org_writes(actor, code, *expect).await;
        }
    }
    let pairing_table: [(&Who, &[(Pair, Expect)]); 3] = [
        (&editor, &[(SH_ZY, Forbidden), (SZ_TR, NotFound)]),
        (&shanghai, &[(SH_ZY, Forbidden), (SZ_TR, NotFound)]),
        (&suzhou, &[(SZ_TR, Forbidden), (SH_ZY, NotFound)]),
    ];
    for (actor, rows) in pairing_table {
        for (pair, expect) in rows {
            m.gql_pairing_writes(actor, *pair, *expect).await;
        }
    }

    // The admin deletes what it created, and nothing refused left a trace.
    match id_in(&created) {
        Some(id) => {
            m.mutation(
                &admin,
                "on organization 520300-gql",
                DELETE_ORG,
                json!({"id": id}),
                "deleteOrganization",
                Expect::Ok,
            )
            .await;
        }
        None => m.check(false, || {
            format!("admin createOrganization: no id in {created}")
        }),
    }
    for actor in [&coordinator, &auditor, &editor, &shanghai, &suzhou] {
        let code = format!("gql-{}-{}", actor.role.as_str(), actor.org);
        let stored = m.stored_org(&code).await;
        m.check(stored.is_none(), || {
            format!(
                "{} createOrganization was refused, yet {code} exists",
                actor.label()
            )
        });
    }
    for code in ["520300", "520382", "310000"] {
        m.org_state(code, 1, "only refused mutations").await;
    }
    m.org_state("520600", 2, "one admin updateOrganization")
        .await;
    m.live_pairings(SEEDED_PAIRINGS).await;
    m.pairing_state(SH_ZY, 1, "only refused mutations").await;
    m.pairing_state(SZ_TR, 2, "one coordinator updatePairing")
        .await;
    m.finish();
}
