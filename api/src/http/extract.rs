//! Extractors that turn every kind of bad input into a problem naming the field: JSON bodies,
//! query strings, `If-Match`, and the bearer token.

use std::{future::Future, pin::Pin};

use actix_web::{
    FromRequest, HttpMessage, HttpRequest,
    dev::Payload,
    http::header,
    web::{self, Bytes},
};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::problem::Problem;
use crate::{
    authz::Actor,
    error::{AppError, FieldError},
    service::{
        AppCtx,
        spreadsheet::{FormatParam, ListFormat},
    },
};

/// A step of a path into a JSON document.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Step {
    Key(String),
    Index(usize),
}

fn steps(path: &serde_path_to_error::Path) -> Vec<Step> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// `items[0].name` for a path.
fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The field a serde message names itself: "unknown field `x`, expected ..." or
/// "missing field `x`".
fn named_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    rest.split('`').next()
}

/// serde's message in plain words: no Rust type names, no line and column.
fn plain(message: &str) -> String {
    let message = message.find(" at line ").map_or(message, |i| &message[..i]);
    if message.starts_with("missing field") {
        return "is required".into();
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let expected = rest.split_once("expected ").map_or("", |(_, e)| e);
        let choices = expected
            .replace("one of ", "")
            .replace(" or ", ", ")
            .replace('`', "");
        return format!("must be one of: {choices}");
    }
    if message.starts_with("unknown field") {
        let expected = message.split_once("expected ").map_or("", |(_, e)| e);
        return format!(
            "is not a field of this request (expected {})",
            expected.replace('`', "")
        );
    }
    let expected = message.rsplit_once("expected ").map(|(_, e)| e.trim());
    let kind = |e: &str| -> Option<&'static str> {
        let e = e.to_ascii_lowercase();
        let any = |words: &[&str]| words.iter().any(|w| e.contains(w));
        if any(&[
            "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "isize", "usize",
        ]) {
            Some("must be a whole number")
        } else if any(&["f32", "f64"]) {
            Some("must be a number")
        } else if any(&["bool"]) {
            Some("must be true or false")
        } else if any(&["uuid"]) {
            Some("must be a UUID")
        } else if any(&["date and time", "datetime"]) {
            Some("must be a date and time (RFC 3339, e.g. 2019-04-08T09:00:00+08:00)")
        } else if any(&["date"]) {
            Some("must be a date (YYYY-MM-DD)")
        } else if any(&["a string", "string"]) {
            Some("must be text")
        } else if any(&["sequence", "vec", "array", "list"]) {
            Some("must be a list")
        } else if any(&["struct", "map", "object"]) {
            Some("must be an object")
        } else {
            None
        }
    };
    if let Some(text) = expected.and_then(kind) {
        return text.into();
    }
    // Parse errors of typed strings: UUIDs, dates.
    let lower = message.to_ascii_lowercase();
    if lower.contains("uuid") || lower.contains("invalid character") && lower.contains("group") {
        return "must be a UUID".into();
    }
    if lower.contains("premature end of input")
        || lower.contains("input contains invalid characters")
        || lower.contains("trailing input")
        || lower.contains("input is out of range")
        || lower.contains("input is not enough")
    {
        return "is not a valid date or time".into();
    }
    message.to_string()
}

/// Replacement values tried, in order, for a field that is missing or of the wrong type, so
/// that deserialization can go on and find the next error: a text, a number, a boolean, a
/// list, an object, a UUID, a date, a date and time.
fn stand_ins() -> [serde_json::Value; 8] {
    use serde_json::json;
    [
        json!(""),
        json!(0),
        json!(false),
        json!([]),
        json!({}),
        json!("00000000-0000-0000-0000-000000000000"),
        json!("2000-01-01"),
        json!("2000-01-01T00:00:00Z"),
    ]
}

/// The value at `steps`, if the document has it.
fn at<'v>(value: &'v mut serde_json::Value, steps: &[Step]) -> Option<&'v mut serde_json::Value> {
    let mut here = value;
    for step in steps {
        here = match step {
            Step::Key(k) => here.as_object_mut()?.get_mut(k)?,
            Step::Index(i) => here.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(here)
}

/// Deserializes `value`, collecting every field error rather than stopping at the first: each
/// missing field gets a stand-in, each value of the wrong type is replaced by one, each unknown
/// field is dropped and each unknown enum value is replaced by a valid one, until the document
/// deserializes (or nothing more can be repaired). Only the client's own errors are reported,
/// never those of a stand-in.
///
/// Each round parses the whole document again, so the rounds are few for a large body: a
/// megabyte of wrong values costs a handful of parses, not hundreds.
fn deserialize_all<T: DeserializeOwned>(
    mut value: serde_json::Value,
    fallback: &str,
    rounds: usize,
) -> Result<T, AppError> {
    use std::collections::HashMap;
    let mut errors: Vec<FieldError> = Vec::new();
    // Paths given a stand-in, and which stand-in comes next for each.
    let mut standing: HashMap<Vec<Step>, usize> = HashMap::new();
    for _ in 0..rounds {
        let err = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(parsed) if errors.is_empty() => return Ok(parsed),
            Ok(_) => break,
            Err(err) => err,
        };
        let mut path = steps(err.path());
        let message = err.into_inner().to_string();
        let named = named_field(&message).map(str::to_string);
        let missing = message.starts_with("missing field");
        if let (Some(name), true) = (&named, missing) {
            path.push(Step::Key(name.clone()));
        }
        if !standing.contains_key(&path) {
            let field = render(&path);
            let field = if field.is_empty() {
                fallback.to_string()
            } else {
                field
            };
            errors.push(FieldError::new(field, plain(&message)));
        }
        // Repair the document so the next round reaches the next error.
        if message.starts_with("unknown field") {
            let Some((Step::Key(key), parent)) = path.split_last() else {
                break;
            };
            let removed = at(&mut value, parent)
                .and_then(|p| p.as_object_mut())
                .and_then(|object| object.remove(key));
            if removed.is_some() {
                continue;
            }
            break;
        }
        if let Some(rest) = message.strip_prefix("unknown variant `") {
            let first = rest
                .split_once("expected ")
                .and_then(|(_, e)| e.split('`').nth(1))
                .map(str::to_string);
            if let (Some(first), Some(slot)) = (first, at(&mut value, &path)) {
                *slot = serde_json::Value::String(first);
                standing.insert(path, usize::MAX);
                continue;
            }
            break;
        }
        let next = standing.entry(path.clone()).or_insert(0);
        let Some(stand_in) = stand_ins().get(*next).cloned() else {
            break;
        };
        *next += 1;
        if missing {
            let Some((_, parent)) = path.split_last() else {
                break;
            };
            let Some(name) = named else { break };
            match at(&mut value, parent).and_then(|p| p.as_object_mut()) {
                Some(object) => {
                    object.insert(name, stand_in);
                }
                None => break,
            }
        } else {
            match at(&mut value, &path) {
                Some(slot) if !path.is_empty() => *slot = stand_in,
                _ => break,
            }
        }
    }
    if errors.is_empty() {
        errors.push(FieldError::new(fallback, "is not valid"));
    }
    Err(AppError::Validation(errors))
}

/// Deserializes JSON, naming the failing field. A body that is not JSON at all is a 400; JSON of
/// the wrong shape is a 422. The two steps keep those apart: serde_json alone reports some type
/// errors (a number where an enum's string belongs) as syntax errors.
///
/// Every body this service takes is a JSON object: an array is refused rather than mapped onto
/// a struct's fields by position. A string holding U+0000 is refused with its path, since no
/// text column can store it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| AppError::BadRequest {
            code: "malformed_json",
            detail: format!("the body is not valid JSON: {err}"),
        })?;
    if !value.is_object() {
        return Err(AppError::field("body", "must be a JSON object"));
    }
    // Only an escaped `\u0000` puts NUL in a JSON string: look for it before walking the tree.
    if bytes.windows(6).any(|w| w == b"\\u0000")
        && let Some(path) = nul_path(&value, String::new())
    {
        return Err(AppError::field(path, NUL_MESSAGE));
    }
    integral_numbers(&mut value);
    // About 50 rounds for an ordinary body, fewer as it grows (at least 3).
    let rounds = (3 * 1024 * 1024 / bytes.len().max(1)).clamp(3, 50);
    deserialize_all(value, "body", rounds)
}

const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// Writes `2.0` as `2`. JSON has one number type, and JSON Schema counts `2.0` as an integer,
/// so a client (or a generator from the OpenAPI document) may send it for any integer field;
/// every number this service takes is an integer, and one with a fraction stays refused.
/// Only values exactly representable in 53 bits are rewritten: beyond that a float may already
/// have rounded what the client meant.
fn integral_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() <= EXACT
            {
                let whole = f as i64;
                *value = Value::from(whole);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// The path of the first string under `value` that holds U+0000.
fn nul_path(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) => s.contains('\0').then_some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(join(&k.replace('\0', "")))
            } else {
                nul_path(v, join(k))
            }
        }),
        _ => None,
    }
}

/// Deserializes a query string or form body, naming the failing field.
pub fn parse_urlencoded<T: DeserializeOwned>(input: &[u8], what: &str) -> Result<T, AppError> {
    if let Some((name, _)) =
        form_urlencoded::parse(input).find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(AppError::field(name.replace('\0', ""), NUL_MESSAGE));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(input));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let mut path = steps(err.path());
        let message = err.into_inner().to_string();
        if message.starts_with("missing field")
            && let Some(name) = named_field(&message)
        {
            path.push(Step::Key(name.to_string()));
        }
        // A parameter that does not parse reports its own name.
        let field = match render(&path) {
            f if f.is_empty() => named_field(&message).unwrap_or(what).to_string(),
            f => f,
        };
        AppError::field(field, plain(&message))
    })
}

/// Reads the body up to the configured limit (413 beyond it), streaming, so an oversize body is
/// refused without being held in memory; a body not sent whole within the configured time is a
/// 408, so a client that stops half-way does not hold its connection.
pub async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<Bytes, AppError> {
    let (limit, seconds) = req
        .app_data::<web::Data<AppCtx>>()
        .map(|ctx| (ctx.config.max_body_bytes, ctx.config.body_timeout_seconds))
        .unwrap_or((1024 * 1024, 30));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(AppError::PayloadTooLarge { limit });
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = tokio::time::timeout_at(deadline, payload.next())
        .await
        .map_err(|_| AppError::BodyTimeout { seconds })?
    {
        let chunk = chunk.map_err(|e| AppError::BadRequest {
            code: "malformed_body",
            detail: format!("the body could not be read: {e}"),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

pub fn is_json(req: &HttpRequest) -> bool {
    let mime = req.content_type().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

type Fut<T> = Pin<Box<dyn Future<Output = Result<T, Problem>>>>;

/// A JSON request body of type `T`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = Problem;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json(&req) {
                return Err(AppError::UnsupportedMediaType {
                    detail: "send the body as application/json".into(),
                }
                .into());
            }
            let body = read_body(&req, &mut payload).await?;
            Ok(Json(parse_json(&body)?))
        })
    }
}

/// The raw body, read within the configured limit.
pub struct RawBody(pub Bytes);

impl FromRequest for RawBody {
    type Error = Problem;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move { Ok(RawBody(read_body(&req, &mut payload).await?)) })
    }
}

/// A query string of type `T`; unknown parameters are refused.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Query<T> {
    type Error = Problem;
    type Future = std::future::Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            parse_urlencoded(req.query_string().as_bytes(), "query")
                .map(Query)
                .map_err(Problem),
        )
    }
}

/// A list's query string: the list's own parameters `T` (unknown ones refused), and `format`
/// (`json`, `csv` or `xlsx`), which every list takes.
pub struct ListQuery<T> {
    pub query: T,
    pub format: ListFormat,
}

impl<T: DeserializeOwned + 'static> FromRequest for ListQuery<T> {
    type Error = Problem;
    type Future = std::future::Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (mut own, mut format) = (
            form_urlencoded::Serializer::new(String::new()),
            form_urlencoded::Serializer::new(String::new()),
        );
        for (k, v) in form_urlencoded::parse(req.query_string().as_bytes()) {
            match k.as_ref() {
                "format" => format.append_pair(&k, &v),
                _ => own.append_pair(&k, &v),
            };
        }
        let parsed = parse_urlencoded::<FormatParam>(format.finish().as_bytes(), "format")
            .and_then(|f| {
                Ok(ListQuery {
                    query: parse_urlencoded(own.finish().as_bytes(), "query")?,
                    format: f.format.unwrap_or(ListFormat::Json),
                })
            });
        std::future::ready(parsed.map_err(Problem))
    }
}

/// The version named by `If-Match` (`"3-5f1c…"` as served, `"3"`, or either weak), or `None`
/// for `*` (whatever is stored); a request without `If-Match` is refused with 428. Only the
/// version part is compared: a change replaces the record, whatever totals or progress were
/// computed around it when it was read (see [`super::conditional`]).
pub struct IfMatch(pub Option<i32>);

impl FromRequest for IfMatch {
    type Error = Problem;
    type Future = std::future::Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // A change without a condition is how updates get lost: say which version, or `*`.
        let parsed = if_match(req).and_then(|c| c.ok_or(AppError::PreconditionRequired));
        std::future::ready(parsed.map(IfMatch).map_err(Problem))
    }
}

/// `If-Match` on a `PUT` that may create the record: absent is allowed here, and the service
/// requires it when the record exists. `None`: absent; `Some(None)`: `*`.
pub struct IfMatchOpt(pub Option<Option<i32>>);

impl FromRequest for IfMatchOpt {
    type Error = Problem;
    type Future = std::future::Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(if_match(req).map(IfMatchOpt).map_err(Problem))
    }
}

fn if_match(req: &HttpRequest) -> Result<Option<Option<i32>>, AppError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(Some(None));
    }
    if_match_version(text)
        .map(|v| Some(Some(v)))
        .ok_or_else(|| AppError::field("If-Match", "must be an ETag this service issued"))
}

/// The version part of a tag: `"3"`, `"3-<digest>"`, with or without `W/`.
fn if_match_version(text: &str) -> Option<i32> {
    let inner = text
        .trim_start_matches("W/")
        .strip_prefix('"')?
        .strip_suffix('"')?;
    let version = match inner.split_once('-') {
        Some((version, digest)) if !digest.is_empty() => version,
        Some(_) => return None,
        None => inner,
    };
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    version.parse().ok()
}

/// The version tag a handler puts on a record response; [`super::conditional::etags`] completes
/// it with the digest of the body.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

impl FromRequest for Actor {
    type Error = Problem;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(actor_from_request(&req).await?) })
    }
}

/// The caller behind the bearer token, as its account stands now. Missing credentials, bad
/// tokens and tokens of accounts that were disabled or deleted since are all 401s: a request
/// with an invalid token is never treated as anonymous. Role and organization come from the
/// account, not the token, so a demotion or a move takes effect on the next request. All of it
/// comes from the directory cache: no SQL statement when nothing changed.
pub async fn actor_from_request(req: &HttpRequest) -> Result<Actor, AppError> {
    if let Some(actor) = req.extensions().get::<Actor>() {
        return Ok(actor.clone());
    }
    let ctx = req
        .app_data::<web::Data<AppCtx>>()
        .ok_or_else(|| AppError::internal("application context missing"))?;
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(AppError::Unauthenticated {
            code: "unauthenticated",
            detail: "send a bearer token from POST /api/v1/auth/token",
        });
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or(AppError::Unauthenticated {
            code: "invalid_token",
            detail: "the Authorization header must be `Bearer <token>`",
        })?;
    let claims = ctx.jwt.verify(token)?;
    let (directory, account) = ctx
        .directory
        .account(&ctx.db, claims.typ, claims.sub)
        .await?;
    let Some(account) = account.filter(|a| a.active) else {
        return Err(AppError::Unauthenticated {
            code: "invalid_token",
            detail: "the account behind this token is disabled or no longer exists",
        });
    };
    if account.credential != claims.cred {
        return Err(AppError::Unauthenticated {
            code: "invalid_token",
            detail: "the password or secret behind this token has changed since it was issued",
        });
    }
    let actor = Actor::new(
        claims.sub,
        claims.typ,
        account.role,
        account.org_id,
        request_id(req),
        directory.scope(account.role, account.org_id),
    );
    let mut extensions = req.extensions_mut();
    extensions.insert(actor.clone());
    // The reading the scope came from, for what else the request needs of the structure.
    extensions.insert(directory);
    Ok(actor)
}

pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string())
}
