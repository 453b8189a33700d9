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

/// The same as [`AppResult`], under the name mutation testing recognizes: cargo-mutants knows a
/// function returns a `Result` only when the type is spelled `Result`, and only then tries
/// "this check does nothing" (`Ok(())`) and an error in its place. The modules that hold the
/// rules (authorization, the kernel, the domain parsers, money, the project lifecycle) use it.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// One invalid input field. `field` is the JSON path of the field (`items[0].quantity`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    /// What is wrong, for programs: `required`, `unknown_field`, `invalid_type`,
    /// `invalid_choice`, `invalid_format`, `too_short`, `too_long`, `too_many`, `out_of_range`,
    /// `not_found`, `duplicate` or `invalid` (any other rule; the message says which).
    pub code: String,
    /// What is wrong, for people.
    pub message: String,
    /// In a sync batch, the `external_id` of the item the field belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// In an import, the spreadsheet row the field belongs to (the header is row 1); `field`
    /// is then the column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
}

impl FieldError {
    /// The code is read from the message, whose wording every rule of the service shares
    /// (see [`field_code`]).
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            field: field.into(),
            code: field_code(&message).to_string(),
            message,
            external_id: None,
            row: None,
        }
    }
}

/// The stable code of a field message. The service words its rules in a few fixed ways ("is
/// required", "at most N characters", "must be between", "no such …"); this is the one place
/// that maps those wordings to codes, and its test pins every one.
pub fn field_code(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if has(&["is required", "must not be empty", "missing field"]) {
        "required"
    } else if has(&["unknown field", "is not a field"]) {
        "unknown_field"
    } else if has(&["must be one of", "unknown variant", "must be 1, 2, 3 or 4"]) {
        "invalid_choice"
    } else if has(&["no such", "does not exist"]) {
        "not_found"
    } else if has(&["already taken", "listed twice", "is a duplicate"]) {
        "duplicate"
    } else if has(&["at least"]) {
        "too_short"
    } else if has(&["control characters"]) {
        "invalid_format"
    } else if has(&["at most", "too long", "characters"]) && has(&["characters", "too long"]) {
        "too_long"
    } else if has(&["at most"]) {
        "too_many"
    } else if has(&[
        "must be between",
        "must be positive",
        "must not be negative",
        "or more",
        "positive integer",
        "larger than",
        "out of range",
        "outside the supported range",
    ]) {
        "out_of_range"
    } else if has(&[
        "must be a whole number",
        "must be text",
        "must be true or false",
        "must be a list",
        "must be an object",
        "must be a number",
        "must be a json object",
        "invalid type",
    ]) {
        "invalid_type"
    } else if has(&[
        "must be a uuid",
        "is not a valid",
        "must be a date",
        "must be an etag",
        "may hold only",
        "must be printable",
        "is not a cursor",
        "nul character",
        "digits",
    ]) {
        "invalid_format"
    } else {
        "invalid"
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
    /// An evidence file whose content (sniffed, not as declared) the category does not take.
    MediaTypeMismatch {
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
    /// The change collides with what is stored. `code` tells which way: `duplicate` (a value
    /// that must be unique is taken; `existing_id` names the record holding it when the caller
    /// may read it), `in_use` (other records depend on this one),
    /// `idempotency_key_reused`, `idempotency_in_progress`, `calendar_not_set` (a deadline that
    /// counts into a year the working-day calendar does not hold), or `not_allowed` (a change the
    /// rules forbid whatever the data, such as deleting one's own account).
    Conflict {
        code: &'static str,
        field: Option<String>,
        detail: String,
        existing_id: Option<uuid::Uuid>,
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

    /// A duplicate of a unique value in `field`.
    pub fn conflict(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code: "duplicate",
            field: Some(field.into()),
            detail: detail.into(),
            existing_id: None,
        }
    }

    /// A record other records still depend on.
    pub fn in_use(detail: impl Into<String>) -> Self {
        Self::Conflict {
            code: "in_use",
            field: None,
            detail: detail.into(),
            existing_id: None,
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
            Self::MediaTypeMismatch { .. } => "media_type_mismatch",
            Self::Unauthenticated { code, .. } => code,
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Conflict { code, .. } => code,
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
            Self::Validation(_) | Self::MediaTypeMismatch { .. } => 422,
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
            Self::MediaTypeMismatch { .. } => "File type does not fit the category",
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
            | Self::MediaTypeMismatch { detail }
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

    /// The record holding a duplicate value, when the caller may read it.
    pub fn existing_id(&self) -> Option<uuid::Uuid> {
        match self {
            Self::Conflict { existing_id, .. } => *existing_id,
            _ => None,
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
                code: "duplicate",
                detail: match &field {
                    Some(f) => format!("{f} is already taken"),
                    None => "a unique value is already taken".into(),
                },
                field,
                existing_id: None,
            };
        }
        let text = err.to_string();
        // Contention, not a fault: SQLite's busy writer, and PostgreSQL's serialization failure
        // (40001, a snapshot transaction that would update a row changed since) and deadlock
        // (40P01). The client retries.
        if text.contains("database is locked")
            || text.contains("SQLITE_BUSY")
            || text.contains("could not serialize access")
            || text.contains("deadlock detected")
        {
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
    // SQLite names an expression index instead of its columns.
    if let Some(rest) = message.split("UNIQUE constraint failed: index '").nth(1) {
        let name = rest.split('\'').next().unwrap_or_default();
        return match name.strip_prefix("uq_") {
            Some(r) if r.ends_with("_indicator") => Some("indicator".into()),
            _ => None,
        };
    }
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
            r if r.ends_with("_indicator") => Some("indicator".into()),
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
    use super::field_code;

    #[test]
    fn every_wording_of_the_rules_has_its_code() {
        for (message, code) in [
            ("is required", "required"),
            ("must not be empty", "required"),
            ("is required for the password grant", "required"),
            ("unknown field `x`, expected one of `a`", "unknown_field"),
            ("must be one of: east, west", "invalid_choice"),
            ("must be 1, 2, 3 or 4", "invalid_choice"),
            ("no such organization", "not_found"),
            ("no such project on this agreement's pairing", "not_found"),
            ("is listed twice", "duplicate"),
            ("must be at least 12 characters", "too_short"),
            ("must be at most 200 characters", "too_long"),
            ("must be 1–200 characters", "too_long"),
            ("must not contain control characters", "invalid_format"),
            ("at most 500 projects", "too_many"),
            ("must be between 1 and 500", "out_of_range"),
            ("must be between 1900-01-01 and 2199-12-31", "out_of_range"),
            ("must not be negative", "out_of_range"),
            ("must be 0 or more", "out_of_range"),
            ("must be a positive integer number of fen", "out_of_range"),
            (
                "is larger than any amount this service accepts",
                "out_of_range",
            ),
            ("must be a whole number", "invalid_type"),
            ("must be text", "invalid_type"),
            ("must be a JSON object", "invalid_type"),
            ("must be a UUID", "invalid_format"),
            ("must be a date (YYYY-MM-DD)", "invalid_format"),
            (
                "may hold only letters, digits, '.', '_' and '-'",
                "invalid_format",
            ),
            (
                "must be six digits (GB/T 2260), e.g. 520300",
                "invalid_format",
            ),
            ("is not a cursor this service issued", "invalid_format"),
            (
                "must not contain the NUL character (U+0000)",
                "invalid_format",
            ),
            ("must not be before start_on", "invalid"),
            ("is the host", "invalid"),
        ] {
            assert_eq!(field_code(message), code, "{message}");
        }
    }

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
