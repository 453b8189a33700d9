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
    service::AppCtx,
};

/// The path of a serde error, or `body` when the error is about the document as a whole.
fn path_of(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    if text == "." || text.is_empty() {
        String::new()
    } else {
        text
    }
}

/// The field a serde message names itself: "unknown field `x`, expected ..." or
/// "missing field `x`".
fn named_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    rest.split('`').next()
}

fn field_error(path: String, message: String, fallback: &str) -> AppError {
    let field = match named_field(&message) {
        // For an unknown field the path already ends at it; a missing one is below the path.
        Some(name) if path.is_empty() => name.to_string(),
        Some(name) if message.starts_with("missing") => format!("{path}.{name}"),
        _ if path.is_empty() => fallback.to_string(),
        _ => path,
    };
    // serde appends " at line 1 column 7": the field name says more.
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    AppError::Validation(vec![FieldError::new(field, message)])
}

/// Deserializes JSON, naming the failing field. A body that is not JSON at all is a 400; JSON of
/// the wrong shape is a 422. The two steps keep those apart: serde_json alone reports some type
/// errors (a number where an enum's string belongs) as syntax errors.
///
/// Every body this service takes is a JSON object: an array is refused rather than mapped onto
/// a struct's fields by position. A string holding U+0000 is refused with its path, since no
/// text column can store it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let value: serde_json::Value =
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
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = path_of(err.path());
        field_error(path, err.into_inner().to_string(), "body")
    })
}

const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

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
        let path = path_of(err.path());
        field_error(path, err.into_inner().to_string(), what)
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

/// The version named by `If-Match` (`"3"` or `W/"3"`); absent or `*` means any version.
pub struct IfMatch(pub Option<i32>);

impl FromRequest for IfMatch {
    type Error = Problem;
    type Future = std::future::Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = match req.headers().get(header::IF_MATCH) {
            // A change without a condition is how updates get lost: say which version, or `*`.
            None => Err(AppError::PreconditionRequired),
            Some(value) => {
                let text = value.to_str().unwrap_or("").trim();
                if text == "*" {
                    Ok(None)
                } else {
                    text.trim_start_matches("W/")
                        .trim_matches('"')
                        .parse::<i32>()
                        .map(Some)
                        .map_err(|_| {
                            AppError::field("If-Match", "must be an ETag this service issued")
                        })
                }
            }
        };
        std::future::ready(parsed.map(IfMatch).map_err(Problem))
    }
}

/// The ETag of a record version.
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
    req.extensions_mut().insert(actor.clone());
    Ok(actor)
}

pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string())
}
