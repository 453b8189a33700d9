//! Evidence: `/api/v1/evidence`. Upload is `multipart/form-data`, streamed to storage; content
//! is served with its type, `Content-Disposition` and `Range`.

use std::time::Duration;

use actix_multipart::Multipart;
use actix_web::{
    HttpMessage, HttpRequest, HttpResponse, delete, get,
    http::header::{self, ContentDisposition, DispositionParam, DispositionType},
    patch, post, web,
};
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::listing;
use crate::http::{
    extract::{IfMatch, Json, ListQuery, etag},
    problem::{Problem, ProblemBody},
};
use crate::service::spreadsheet::FormatParam;
use crate::{
    authz::Actor,
    domain::evidence::RangeAnswer,
    error::AppError,
    service::{
        AppCtx, Page,
        evidence::{
            self, EvidenceLink, EvidencePatch, EvidenceQuery, EvidenceUpload, EvidenceView,
            NewEvidence,
        },
    },
};

type Ctx = web::Data<AppCtx>;

/// The most bytes a form part other than `file` may hold.
const FIELD_MAX: usize = 64 * 1024;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(upload)
        .service(get)
        .service(content)
        .service(update)
        .service(remove);
}

fn one(view: &EvidenceView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// List the evidence the caller may read.
#[utoipa::path(
    tag = "evidence",
    operation_id = "list_evidence",
    params(EvidenceQuery, FormatParam),
    responses((status = 200, body = Page<EvidenceView>)),
    security(("bearer" = []))
)]
#[get("/evidence")]
pub async fn list(
    ctx: Ctx,
    actor: Actor,
    q: ListQuery<EvidenceQuery>,
) -> Result<HttpResponse, Problem> {
    listing(&ctx, &actor, q, crate::fetch!(evidence::list)).await
}

/// Upload a piece of evidence: the parts `category`, `title`, optional `period_year`,
/// `period_quarter`, `links` (a JSON array of `{record_type, record_id}`) and `external_id`,
/// then `file` last. The file is streamed to storage (never held in memory); its media type is
/// sniffed from the content and must fit the category.
#[utoipa::path(
    tag = "evidence",
    operation_id = "upload_evidence",
    request_body(content = EvidenceUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = EvidenceView, headers(("ETag" = String), ("Location" = String))),
        (status = 413, description = "the file exceeds `XIEZUO_EVIDENCE_MAX_BYTES`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, or `media_type_mismatch`: the content is not what the category takes", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/evidence")]
pub async fn upload(
    ctx: Ctx,
    actor: Actor,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let mime = req.content_type().to_ascii_lowercase();
    if mime != "multipart/form-data" {
        return Err(AppError::UnsupportedMediaType {
            detail: "send multipart/form-data with the file in the part `file`, last".into(),
        }
        .into());
    }
    let idle = Duration::from_secs(ctx.config.body_timeout_seconds.max(1));
    let mut form = Multipart::new(req.headers(), payload);
    let mut meta = NewEvidence::default();
    let mut errors = Vec::new();
    while let Some(part) = next_part(&mut form, idle).await? {
        let name = part.name().unwrap_or_default().to_string();
        if name == "file" {
            let file_name = part
                .content_disposition()
                .and_then(|d| d.get_filename())
                .unwrap_or("file")
                .to_string();
            if !errors.is_empty() {
                return Err(AppError::Validation(errors).into());
            }
            let stream = part.map_err(|e| e.to_string()).into_stream().boxed_local();
            let stream = idle_limited(stream, idle);
            let view = evidence::upload(&ctx, &actor, meta, &file_name, stream).await?;
            return Ok(HttpResponse::Created()
                .insert_header((header::ETAG, etag(view.version)))
                .insert_header((header::LOCATION, format!("/api/v1/evidence/{}", view.id)))
                .json(view));
        }
        let text = read_text(part, &name, idle).await?;
        let mut bad = |message: &str| errors.push(crate::error::FieldError::new(&name, message));
        match name.as_str() {
            "category" => meta.category = Some(text),
            "title" => meta.title = Some(text),
            "external_id" => meta.external_id = Some(text),
            "period_year" | "period_quarter" => match text.trim().parse::<i32>() {
                Ok(n) if name == "period_year" => meta.period_year = Some(n),
                Ok(n) => meta.period_quarter = Some(n),
                Err(_) => bad("must be a whole number"),
            },
            "links" => match serde_json::from_str::<Vec<EvidenceLink>>(&text) {
                Ok(links) => meta.links = links,
                Err(e) => bad(&format!(
                    "must be a list of {{record_type, record_id}} (invalid type: {e})"
                )),
            },
            _ => bad("is not a field of an evidence upload"),
        }
    }
    errors.push(crate::error::FieldError::new(
        "file",
        "is required: the file, as the last part",
    ));
    Err(AppError::Validation(errors).into())
}

pub(crate) async fn next_part(
    form: &mut Multipart,
    idle: Duration,
) -> Result<Option<actix_multipart::Field>, Problem> {
    match tokio::time::timeout(idle, form.next()).await {
        Err(_) => Err(AppError::BodyTimeout {
            seconds: idle.as_secs(),
        }
        .into()),
        Ok(None) => Ok(None),
        Ok(Some(Ok(field))) => Ok(Some(field)),
        Ok(Some(Err(e))) => Err(AppError::BadRequest {
            code: "malformed_multipart",
            detail: format!("the multipart body cannot be read: {e}"),
        }
        .into()),
    }
}

async fn read_text(
    part: actix_multipart::Field,
    name: &str,
    idle: Duration,
) -> Result<String, Problem> {
    let buf = read_part(part, name, idle, FIELD_MAX).await?;
    String::from_utf8(buf.to_vec())
        .map_err(|_| AppError::field(name, "must be text (UTF-8)").into())
}

/// A part's bytes, up to `max` (a larger part is refused naming it).
pub(crate) async fn read_part(
    mut part: actix_multipart::Field,
    name: &str,
    idle: Duration,
    max: usize,
) -> Result<BytesMut, Problem> {
    let mut buf = BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout(idle, part.next()).await {
            Err(_) => {
                return Err(AppError::BodyTimeout {
                    seconds: idle.as_secs(),
                }
                .into());
            }
            Ok(None) => break,
            Ok(Some(chunk)) => chunk.map_err(|e| AppError::BadRequest {
                code: "malformed_multipart",
                detail: format!("the part `{name}` cannot be read: {e}"),
            })?,
        };
        if buf.len() + chunk.len() > max {
            return Err(AppError::field(name, format!("must be at most {max} bytes")).into());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Ends the file with an error when the client sends nothing for `idle`.
fn idle_limited(
    stream: futures_util::stream::LocalBoxStream<'static, Result<Bytes, String>>,
    idle: Duration,
) -> futures_util::stream::LocalBoxStream<'static, Result<Bytes, String>> {
    futures_util::stream::unfold(Some(stream), move |state| async move {
        let mut stream = state?;
        match tokio::time::timeout(idle, stream.next()).await {
            Err(_) => Some((
                Err(format!("nothing arrived for {} seconds", idle.as_secs())),
                None,
            )),
            Ok(None) => None,
            Ok(Some(item)) => Some((item, Some(stream))),
        }
    })
    .boxed_local()
}

/// One piece of evidence, with its version as `ETag`.
#[utoipa::path(
    tag = "evidence",
    operation_id = "get_evidence",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = EvidenceView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/evidence/{id}")]
pub async fn get(ctx: Ctx, actor: Actor, id: web::Path<Uuid>) -> Result<HttpResponse, Problem> {
    Ok(one(&evidence::get(&ctx, &actor, *id).await?))
}

/// The file itself, with its `Content-Type`, `Content-Disposition` (the stored file name) and
/// `Range` support (one range: `bytes=a-b`, `bytes=a-`, `bytes=-n`).
#[utoipa::path(
    tag = "evidence",
    operation_id = "get_evidence_content",
    params(
        ("id" = Uuid, Path),
        ("Range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1023`; several ranges are answered with the whole file."),
    ),
    responses(
        (status = 200, description = "the whole file", content_type = "application/octet-stream"),
        (status = 206, description = "the range asked for, with `Content-Range`", content_type = "application/octet-stream"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 416, description = "the range starts past the end; `Content-Range: bytes */<size>`", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/evidence/{id}/content")]
pub async fn content(
    ctx: Ctx,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let (view, answer, content) = evidence::content(&ctx, &actor, *id, range).await?;
    let size = view.size_bytes;
    let Some(content) = content else {
        let problem = ProblemBody {
            type_: "urn:xiezuo:problem:range_not_satisfiable".into(),
            title: "Range not satisfiable".into(),
            status: 416,
            detail: format!("the file has {size} bytes"),
            code: "range_not_satisfiable".into(),
            errors: Vec::new(),
            field: None,
            existing_id: None,
            current_version: None,
        };
        return Ok(HttpResponse::RangeNotSatisfiable()
            .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
            .content_type("application/problem+json")
            .json(problem));
    };
    let disposition = ContentDisposition {
        disposition: if view.media_type.starts_with("image/") {
            DispositionType::Inline
        } else {
            DispositionType::Attachment
        },
        parameters: vec![
            DispositionParam::Filename(ascii_fallback(&view.file_name)),
            DispositionParam::FilenameExt(header::ExtendedValue {
                charset: header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: view.file_name.clone().into_bytes(),
            }),
        ],
    };
    let mut response = match answer {
        RangeAnswer::Part(_) => {
            let mut r = HttpResponse::PartialContent();
            r.insert_header((
                header::CONTENT_RANGE,
                format!(
                    "bytes {}-{}/{}",
                    content.range.start,
                    content.range.end.saturating_sub(1),
                    content.size
                ),
            ));
            r
        }
        _ => HttpResponse::Ok(),
    };
    let length = content.range.end - content.range.start;
    let body = content
        .stream
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.to_string()));
    Ok(response
        .insert_header((header::CONTENT_TYPE, view.media_type.clone()))
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::ETAG, format!("\"sha256:{}\"", view.sha256)))
        .insert_header((header::CACHE_CONTROL, "private, max-age=0"))
        .no_chunking(length)
        .streaming(body))
}

/// The file name in plain ASCII, for clients that do not read `filename*`.
fn ascii_fallback(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    if ascii.trim_matches(['_', '.', ' ']).is_empty() {
        format!("evidence{}", extension(name))
    } else {
        ascii
    }
}

fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .filter(|(_, ext)| ext.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|(_, ext)| format!(".{ext}"))
        .unwrap_or_default()
}

/// Change a piece of evidence's title, period, links or `external_id` (not its file: upload a
/// new one). Send `If-Match` with the ETag you read.
#[utoipa::path(
    tag = "evidence",
    operation_id = "update_evidence",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with, or `*`. Required: without it the answer is 428.")),
    request_body = EvidencePatch,
    responses(
        (status = 200, body = EvidenceView, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/evidence/{id}")]
pub async fn update(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<EvidencePatch>,
) -> Result<HttpResponse, Problem> {
    Ok(one(&evidence::update(
        &ctx, &actor, *id, if_match.0, body.0,
    )
    .await?))
}

/// Delete a piece of evidence and its file.
#[utoipa::path(
    tag = "evidence",
    operation_id = "delete_evidence",
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The `ETag` the record was read with, or `*`. Required: without it the answer is 428.")),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/evidence/{id}")]
pub async fn remove(
    ctx: Ctx,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, Problem> {
    evidence::delete(&ctx, &actor, *id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
