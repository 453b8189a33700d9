//! Representation ETags and conditional GETs.
//!
//! A handler tags a record response with its version (`"3"`, see [`super::extract::etag`]). What
//! a client sees can change without a new version, though: a project's money totals follow its
//! fund transactions, a plan task's progress follows the records it counts, a pairing's `active`
//! follows the date, and a contact's personal data is masked by who asks. So the ETag sent is
//! the version and a digest of the representation, `"3-5f1c0e9a2b7d4c18"`:
//!
//! - `If-None-Match` on a GET compares the whole tag, and answers `304 Not Modified` only when
//!   the caller would receive the very same bytes;
//! - `If-Match` on a change compares the version part only (the record itself is what a write
//!   replaces; see [`super::extract::IfMatch`]).

use actix_web::{
    body::{self, BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        Method, StatusCode,
        header::{self, HeaderValue},
    },
    middleware::Next,
};
use sha2::{Digest, Sha256};

use super::problem::Problem;
use crate::error::AppError;

/// Completes the version tag of a successful response with the digest of its body, and turns a
/// GET whose `If-None-Match` names that tag into a `304` without a body.
pub async fn etags(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let conditional = matches!(*req.method(), Method::GET | Method::HEAD);
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
    let res = next.call(req).await?;
    let version = res
        .headers()
        .get(header::ETAG)
        .and_then(bare_version)
        .filter(|_| res.status().is_success());
    let Some(version) = version else {
        return Ok(res.map_into_boxed_body());
    };
    let (req, res) = res.into_parts();
    let (mut res, body) = res.into_parts();
    let bytes = body::to_bytes(body).await.map_err(|e| {
        let e: Box<dyn std::error::Error> = e.into();
        Problem(AppError::Internal(anyhow::anyhow!(
            "reading a response body: {e}"
        )))
    })?;
    let tag = representation_tag(version, &bytes);
    let value = HeaderValue::from_str(&tag).map_err(|e| Problem(AppError::Internal(e.into())))?;
    res.headers_mut().insert(header::ETAG, value);
    let not_modified = conditional
        && if_none_match
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .is_some_and(|list| names(list, &tag));
    let res = if not_modified {
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res.headers_mut().remove(header::CONTENT_TYPE);
        res.headers_mut().remove(header::CONTENT_LENGTH);
        res.set_body(BoxBody::new(()))
    } else {
        res.set_body(BoxBody::new(bytes))
    };
    Ok(ServiceResponse::new(req, res))
}

/// `"<version>-<16 hex digits of the body's SHA-256>"`.
pub fn representation_tag(version: i32, body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{version}-{hex}\"")
}

/// The version of a tag a handler set (`"3"`), or `None` for any other header (one already
/// completed, as an idempotent replay carries).
fn bare_version(value: &HeaderValue) -> Option<i32> {
    let inner = value.to_str().ok()?.strip_prefix('"')?.strip_suffix('"')?;
    if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    inner.parse().ok()
}

/// Whether an `If-None-Match` list (`*`, or tags separated by commas, weak or strong) names
/// `tag`. RFC 9110 §13.1.2 compares weakly: `W/"x"` matches `"x"`.
fn names(list: &str, tag: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_carry_the_version_and_change_with_the_body() {
        let a = representation_tag(3, b"{\"spent_fen\":0}");
        let b = representation_tag(3, b"{\"spent_fen\":1}");
        assert!(a.starts_with("\"3-") && a.ends_with('"') && a.len() == "\"3-".len() + 16 + 1);
        assert_ne!(a, b);
        assert_eq!(a, representation_tag(3, b"{\"spent_fen\":0}"));
    }

    #[test]
    fn only_a_bare_version_is_completed() {
        assert_eq!(bare_version(&HeaderValue::from_static("\"12\"")), Some(12));
        for other in ["\"12-ab\"", "12", "\"\"", "W/\"12\"", "\"-1\""] {
            assert_eq!(
                bare_version(&HeaderValue::from_static(other)),
                None,
                "{other}"
            );
        }
    }

    #[test]
    fn if_none_match_lists_compare_weakly() {
        let tag = "\"3-0011223344556677\"";
        assert!(names(tag, tag));
        assert!(names("\"1-aa\", W/\"3-0011223344556677\"", tag));
        assert!(names("*", tag));
        assert!(!names("\"3\"", tag));
        assert!(!names("\"3-0011223344556678\"", tag));
    }
}
