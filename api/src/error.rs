//! The one error type of the service layer. REST renders it as RFC 9457 problem+json
//! (`http::problem`), GraphQL as an error with the same `code` in `extensions`
//! (`graphql::gql_error`).
//!
//! `AppError` deliberately does not implement `Display`: async-graphql converts anything that
//! does into an error without extensions, so a stray `?` in a resolver would silently drop the
//! `code`. Without `Display` that mistake does not compile.

use sea_orm::{DbErr, SqlErr};
use serde::Serialize;
use utoipa::ToSchema;

pub type AppResult<T> = Result<T, AppError>;

/// One invalid input field. `field` is the JSON path of the field (`items[0].quantity`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug)]
pub enum AppError {
    /// Input that parsed but broke a rule; one entry per field.
    Validation(Vec<FieldError>),
    /// A body that could not be read at all (not JSON, wrong content type, ...).
    BadRequest {
        code: &'static str,
        detail: String,
    },
    PayloadTooLarge {
        limit: usize,
    },
    /// The client did not finish sending its body in time.
    BodyTimeout {
        seconds: u64,
    },
    UnsupportedMediaType {
        detail: String,
    },
    /// No credentials, or credentials that do not check out.
    Unauthenticated {
        code: &'static str,
        detail: &'static str,
    },
    /// Authenticated, allowed to see the record, but not to do this with it.
    Forbidden,
    /// Absent, deleted, or not readable by the caller (never tell those apart).
    NotFound,
    /// The path exists, the method does not; `allowed` lists the ones that do.
    MethodNotAllowed {
        allowed: String,
    },
    /// A unique field already taken, or a state that forbids the change.
    Conflict {
        field: Option<String>,
        detail: String,
    },
    /// A status change the lifecycle does not allow, or a change to a record that is closed.
    InvalidTransition {
        detail: String,
    },
    /// `If-Match` / `expected_version` does not match the stored version.
    PreconditionFailed {
        current_version: i32,
    },
    /// A PATCH or DELETE without `If-Match`.
    PreconditionRequired,
    /// SQLite busy beyond its timeout; the client should retry.
    Unavailable,
    /// Too much at once: `429` for this client or account, `503` for the server as a whole;
    /// either way with `Retry-After` in seconds.
    RetryLater {
        status: u16,
        code: &'static str,
        detail: String,
        retry_after: u64,
    },
    Internal(anyhow::Error),
}

impl AppError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn conflict(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Conflict {
            field: Some(field.into()),
            detail: detail.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(anyhow::anyhow!(message.into()))
    }

    /// Stable, snake_case; clients switch on it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::BadRequest { code, .. } => code,
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::BodyTimeout { .. } => "request_timeout",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::Unauthenticated { code, .. } => code,
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Conflict { .. } => "conflict",
            Self::InvalidTransition { .. } => "invalid_transition",
            Self::PreconditionFailed { .. } => "precondition_failed",
            Self::PreconditionRequired => "precondition_required",
            Self::Unavailable => "service_unavailable",
            Self::RetryLater { code, .. } => code,
            Self::Internal(_) => "internal_error",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::Validation(_) => 422,
            Self::BadRequest { .. } => 400,
            Self::PayloadTooLarge { .. } => 413,
            Self::BodyTimeout { .. } => 408,
            Self::UnsupportedMediaType { .. } => 415,
            Self::Unauthenticated { .. } => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::Conflict { .. } | Self::InvalidTransition { .. } => 409,
            Self::PreconditionFailed { .. } => 412,
            Self::PreconditionRequired => 428,
            Self::Unavailable => 503,
            Self::RetryLater { status, .. } => *status,
            Self::Internal(_) => 500,
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            Self::Validation(_) => "Invalid input",
            Self::BadRequest { .. } => "Malformed request",
            Self::PayloadTooLarge { .. } => "Request body too large",
            Self::BodyTimeout { .. } => "Request timeout",
            Self::UnsupportedMediaType { .. } => "Unsupported media type",
            Self::Unauthenticated { .. } => "Authentication required",
            Self::Forbidden => "Not allowed",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed { .. } => "Method not allowed",
            Self::Conflict { .. } => "Conflict",
            Self::InvalidTransition { .. } => "Transition not allowed",
            Self::PreconditionFailed { .. } => "Version mismatch",
            Self::PreconditionRequired => "Precondition required",
            Self::Unavailable => "Temporarily unavailable",
            Self::RetryLater { status: 429, .. } => "Too many requests",
            Self::RetryLater { .. } => "Temporarily unavailable",
            Self::Internal(_) => "Internal error",
        }
    }

    /// What the client may be told. Internal causes stay in the logs.
    pub fn detail(&self) -> String {
        match self {
            Self::Validation(errors) => match errors.as_slice() {
                [one] => format!("{}: {}", one.field, one.message),
                _ => format!("{} fields are invalid", errors.len()),
            },
            Self::BadRequest { detail, .. }
            | Self::UnsupportedMediaType { detail }
            | Self::Conflict { detail, .. }
            | Self::InvalidTransition { detail } => detail.clone(),
            Self::PayloadTooLarge { limit } => format!("the body exceeds {limit} bytes"),
            Self::BodyTimeout { seconds } => {
                format!("the body was not sent within {seconds} seconds")
            }
            Self::Unauthenticated { detail, .. } => (*detail).to_string(),
            Self::Forbidden => "your role may not do this".into(),
            Self::NotFound => "no such record".into(),
            Self::MethodNotAllowed { allowed } => format!("this resource answers {allowed}"),
            Self::PreconditionFailed { current_version } => {
                format!("the record has changed; its current version is {current_version}")
            }
            Self::PreconditionRequired => "send If-Match with the ETag of the version you \
                                            read (or `*` to change whatever is stored)"
                .into(),
            Self::Unavailable => "the database is busy; retry shortly".into(),
            Self::RetryLater { detail, .. } => detail.clone(),
            Self::Internal(_) => "an internal error occurred".into(),
        }
    }

    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Validation(errors) => errors,
            _ => &[],
        }
    }

    pub fn conflict_field(&self) -> Option<&str> {
        match self {
            Self::Conflict { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
            let field = unique_field(&message);
            return Self::Conflict {
                detail: match &field {
                    Some(f) => format!("{f} is already taken"),
                    None => "a unique value is already taken".into(),
                },
                field,
            };
        }
        let text = err.to_string();
        if text.contains("database is locked") || text.contains("SQLITE_BUSY") {
            return Self::Unavailable;
        }
        // What the input checks should have stopped, answered as the client's mistake rather
        // than a 500: NUL in text (PostgreSQL 22021) and a date or time PostgreSQL cannot
        // hold (22008).
        if text.contains("invalid byte sequence for encoding \"UTF8\": 0x00") {
            return Self::field("body", "text must not contain the NUL character (U+0000)");
        }
        if text.contains("out of range") && (text.contains("date") || text.contains("time")) {
            return Self::field("body", "a date or time is outside the supported range");
        }
        Self::Internal(err.into())
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}

/// The column behind a unique violation, from either database's message:
/// SQLite says `UNIQUE constraint failed: organizations.code`, PostgreSQL names the constraint
/// (`organizations_code_key`, or our `uq_<table>_external` indexes).
fn unique_field(message: &str) -> Option<String> {
    if let Some(rest) = message.split("UNIQUE constraint failed:").nth(1) {
        let cols: Vec<&str> = rest
            .split(',')
            .filter_map(|c| c.trim().split('.').nth(1))
            .collect();
        return cols.last().map(|c| c.to_string());
    }
    let name = message.split('"').nth(1)?;
    if let Some(rest) = name.strip_prefix("uq_") {
        // Our own unique indexes: uq_<table>_<columns>, the last column the one that clashes.
        return match rest {
            r if r.ends_with("_external") => Some("external_id".into()),
            r if r.ends_with("_year") => Some("year".into()),
            r if r.ends_with("_org_id") => Some("org_id".into()),
            _ => None,
        };
    }
    let name = name.strip_suffix("_key")?;
    for column in ["external_id", "client_id", "username", "code"] {
        if name.ends_with(column) {
            return Some(column.into());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::unique_field;

    #[test]
    fn unique_field_from_sqlite_and_postgres() {
        assert_eq!(
            unique_field("UNIQUE constraint failed: organizations.code").as_deref(),
            Some("code")
        );
        assert_eq!(
            unique_field(
                "UNIQUE constraint failed: organizations.owner_org_id, organizations.external_id"
            )
            .as_deref(),
            Some("external_id")
        );
        assert_eq!(
            unique_field(
                r#"duplicate key value violates unique constraint "organizations_code_key""#
            )
            .as_deref(),
            Some("code")
        );
        assert_eq!(
            unique_field(r#"violates unique constraint "uq_pairings_external""#).as_deref(),
            Some("external_id")
        );
        assert_eq!(
            unique_field(r#"violates unique constraint "uq_plans_org_id_year""#).as_deref(),
            Some("year")
        );
        assert_eq!(
            unique_field("UNIQUE constraint failed: working_groups.org_id").as_deref(),
            Some("org_id")
        );
    }
}
