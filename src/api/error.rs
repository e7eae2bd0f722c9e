//! The API's one error type and its mapping to problem+json (RFC 9457).

use crate::entry::{EntryError, Rejection};
use crate::service::ServiceError;
use crate::store::StoreError;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;

/// A problem document. `type` is `urn:fairshare:problem:<code>`.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// The JSON path of the offending field in the submitted entry, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Entry(#[from] EntryError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The request is well formed but the log's state does not allow it.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Ledger(Arc<ServiceError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn problem(&self) -> Problem {
        let (status, code, title) = match self {
            Self::Entry(e) => rejection_status(e.rejection),
            Self::BadRequest(_) => (
                StatusCode::BAD_REQUEST,
                "bad-request",
                "The request is malformed",
            ),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "No such resource"),
            Self::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "The request is too large",
            ),
            Self::Conflict(_) => (
                StatusCode::CONFLICT,
                "conflict",
                "The request conflicts with the log",
            ),
            Self::Ledger(_) | Self::Store(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The ledger could not complete the request",
            ),
        };
        let (detail, field) = match self {
            Self::Entry(e) => (e.message.clone(), Some(e.field.clone())),
            // Internal details stay in the server log; clients learn only that nothing was stored.
            Self::Ledger(_) | Self::Store(_) => {
                ("nothing was stored; retry later".to_owned(), None)
            }
            other => (other.to_string(), None),
        };
        Problem {
            problem_type: format!("urn:fairshare:problem:{code}"),
            title,
            status: status.as_u16(),
            detail,
            field,
        }
    }
}

fn rejection_status(rejection: Rejection) -> (StatusCode, &'static str, &'static str) {
    let (status, title) = match rejection {
        Rejection::Malformed => (StatusCode::UNPROCESSABLE_ENTITY, "The entry is malformed"),
        Rejection::Timestamp => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The entry's timestamp is out of range",
        ),
        Rejection::BadSignature => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "A signature does not verify",
        ),
        Rejection::UnknownSigner => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The signer is not registered",
        ),
        Rejection::RevokedKey => (StatusCode::FORBIDDEN, "The signing key was revoked"),
        Rejection::NotPermitted => (StatusCode::FORBIDDEN, "The actor may not submit this entry"),
        Rejection::Conflict => (StatusCode::CONFLICT, "The entry conflicts with the log"),
        Rejection::UnknownReference => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The entry references an unknown entry",
        ),
    };
    (status, rejection.code(), title)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, Self::Ledger(_) | Self::Store(_)) {
            tracing::error!(error = %self, "request failed");
        }
        self.problem().into_response()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

pub async fn not_found_fallback(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}
