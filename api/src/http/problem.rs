//! RFC 9457 problem+json rendering of [`AppError`].

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, FieldError};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemBody {
    /// A URI naming the problem type: `urn:xiezuo:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable snake_case code; the same string appears in GraphQL `extensions.code`.
    pub code: String,
    /// One entry per invalid field (validation errors).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The field whose value is already taken (conflicts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The record that already holds a duplicate value (409 `duplicate`), when the caller may
    /// read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<uuid::Uuid>,
    /// The stored version (412 responses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i32>,
}

impl ProblemBody {
    pub fn from_error(err: &AppError) -> Self {
        Self {
            type_: format!("urn:xiezuo:problem:{}", err.code()),
            title: err.title().into(),
            status: err.status(),
            detail: err.detail(),
            code: err.code().into(),
            errors: err.field_errors().to_vec(),
            field: err.conflict_field().map(Into::into),
            existing_id: err.existing_id(),
            current_version: match err {
                AppError::PreconditionFailed { current_version } => Some(*current_version),
                _ => None,
            },
        }
    }
}

/// The REST face of [`AppError`]: handlers return `Result<_, Problem>` and `?` converts.
#[derive(Debug)]
pub struct Problem(pub AppError);

impl From<AppError> for Problem {
    fn from(err: AppError) -> Self {
        Self(err)
    }
}

impl From<sea_orm::DbErr> for Problem {
    fn from(err: sea_orm::DbErr) -> Self {
        Self(err.into())
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.code(), self.0.detail())
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = &self.0 {
            // Logged once, here at the boundary; the client sees only the generic detail.
            tracing::error!(error = ?cause, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        match &self.0 {
            AppError::Unauthenticated { code, .. } => {
                let value = if *code == "invalid_token" {
                    r#"Bearer error="invalid_token""#
                } else {
                    "Bearer"
                };
                response.insert_header(("WWW-Authenticate", value));
            }
            AppError::Unavailable => {
                response.insert_header(("Retry-After", "1"));
            }
            AppError::RetryLater { retry_after, .. } => {
                response.insert_header(("Retry-After", retry_after.to_string()));
            }
            AppError::MethodNotAllowed { allowed } => {
                response.insert_header(("Allow", allowed.as_str()));
            }
            _ => {}
        }
        response.json(ProblemBody::from_error(&self.0))
    }
}
