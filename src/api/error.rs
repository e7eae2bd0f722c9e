//! The API's one error type and its mapping to problem+json (RFC 9457).

use crate::entry::submission::BodyError;
use crate::entry::{EntryError, Rejection};
use crate::service::{ServiceError, telemetry};
use crate::store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
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
    /// A POST body that is not `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A body refused as a whole while it was read (its form or its limits).
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The memory for request bodies stayed taken for as long as a request may wait.
    #[error("{0}")]
    Busy(String),
    /// No signature where one is needed, or one that does not verify (PROTOCOL.md, "Signed
    /// requests").
    #[error("{0}")]
    Unauthenticated(String),
    /// The requester is known but may not do this (the authorization table's refusal).
    #[error("{0}")]
    Forbidden(String),
    /// The request is well formed but the log's state does not allow it.
    #[error("{0}")]
    Conflict(String),
    /// A readiness check failed; the message says which.
    #[error("not ready: {0}")]
    NotReady(String),
    /// A client sent more reads than its rate limit allows.
    #[error("more than {limit} reads per second (burst {burst}) from this client")]
    TooManyRequests {
        limit: u32,
        burst: u32,
        /// Whole seconds until the next read is allowed (the Retry-After header).
        retry_after_secs: u64,
    },
    /// Appending failed: nothing was stored, or (a connection lost while committing) the
    /// outcome is unknown.
    #[error("cannot append")]
    Append(#[source] Arc<ServiceError>),
    /// A read or a computation of the service failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking computation of the handler panicked.
    #[error("a blocking computation did not finish")]
    Task(#[source] tokio::task::JoinError),
    /// A response could not be written as JSON.
    #[error("cannot encode the response")]
    Encode(#[source] serde_json::Error),
}

/// A failure on the server's side, as clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ServerFailure {
    /// The database was unavailable (503: worth a retry); otherwise the server or its data
    /// failed (500).
    unavailable: bool,
    /// What a failed write left behind, for writes.
    write: Option<WriteOutcome>,
}

/// What a client may conclude about a failed write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteOutcome {
    NothingStored,
    /// The commit may be durable: resubmitting the same entries returns their receipts if
    /// they were stored, and stores them if not.
    Unknown,
}

impl ApiError {
    /// `None` for the client's own errors.
    fn server_failure(&self) -> Option<ServerFailure> {
        let (unavailable, write) = match self {
            Self::Append(error) => (
                error.is_unavailable(),
                Some(if error.is_outcome_unknown() {
                    WriteOutcome::Unknown
                } else {
                    WriteOutcome::NothingStored
                }),
            ),
            Self::Service(error) => (error.is_unavailable(), None),
            Self::Store(error) => (error.is_unavailable(), None),
            Self::Task(_) | Self::Encode(_) => (false, None),
            _ => return None,
        };
        Some(ServerFailure { unavailable, write })
    }

    /// The problem document, counted by type: every refusal (a response or a batch slot)
    /// passes here exactly once.
    pub fn problem(&self) -> Problem {
        let (status, code, title) = match self {
            Self::Entry(e) => rejection_status(e.rejection),
            Self::BadRequest(_) => status_problem(StatusCode::BAD_REQUEST),
            Self::NotFound(_) => status_problem(StatusCode::NOT_FOUND),
            Self::PayloadTooLarge(_) | Self::Body(BodyError::TooManyValues { .. }) => {
                status_problem(StatusCode::PAYLOAD_TOO_LARGE)
            }
            Self::Body(_) => status_problem(StatusCode::BAD_REQUEST),
            Self::UnsupportedMediaType(_) => status_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            Self::Busy(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "The server is busy; retry later",
            ),
            Self::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "The request is not signed, or its signature does not verify",
            ),
            Self::Forbidden(_) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "The requester may not read or do this",
            ),
            Self::Conflict(_) => (
                StatusCode::CONFLICT,
                "conflict",
                "The request conflicts with the log",
            ),
            Self::NotReady(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "not-ready",
                "The server is not ready to serve",
            ),
            Self::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
            ),
            _ => match self.server_failure() {
                Some(ServerFailure {
                    unavailable: true, ..
                }) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The ledger's database is unavailable",
                ),
                _ => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "The ledger could not complete the request",
                ),
            },
        };
        let (detail, field) = match (self, self.server_failure()) {
            (Self::Entry(e), _) => (e.message.clone(), Some(e.field.clone())),
            (Self::Body(e), _) => (e.to_string(), e.path().map(str::to_owned)),
            // Internal details stay in the server log.
            (_, Some(failure)) => (failure_detail(failure).to_owned(), None),
            (other, None) => (other.to_string(), None),
        };
        metrics::counter!(telemetry::REFUSALS, "type" => code).increment(1);
        Problem {
            problem_type: format!("urn:fairshare:problem:{code}"),
            title,
            status: status.as_u16(),
            detail,
            field,
        }
    }
}

/// Problem code and title of the statuses the API answers without a more specific code.
fn status_problem(status: StatusCode) -> (StatusCode, &'static str, &'static str) {
    let (code, title) = match status {
        StatusCode::NOT_FOUND => ("not-found", "No such resource"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method-not-allowed", "The path does not answer this method")
        }
        StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "The request is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported-media-type", "The body is not application/json")
        }
        status if status.is_server_error() => {
            ("internal", "The ledger could not complete the request")
        }
        _ => ("bad-request", "The request is malformed"),
    };
    (status, code, title)
}

fn failure_detail(failure: ServerFailure) -> &'static str {
    match (failure.unavailable, failure.write) {
        (_, Some(WriteOutcome::Unknown)) => {
            "the database connection failed while committing: the entries may or may not be \
             stored; resubmit them unchanged (an entry already in the log is answered with its \
             receipt)"
        }
        (true, Some(WriteOutcome::NothingStored)) => {
            "the database is unavailable; nothing was stored; retry later"
        }
        (true, None) => "the database is unavailable; retry later",
        (false, Some(WriteOutcome::NothingStored)) => "the server failed; nothing was stored",
        (false, None) => "the server failed",
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
        Rejection::LimitExceeded => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Allocating it would exceed the log's solver limits",
        ),
    };
    (status, rejection.code(), title)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.server_failure().is_some() {
            tracing::error!(error = &self as &dyn std::error::Error, "request failed");
        }
        let retry_after = match &self {
            Self::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        let asks_signature = matches!(self, Self::Unauthenticated(_));
        let mut response = self.problem().into_response();
        if asks_signature {
            // RFC 9421 §5.1: what a signature the server accepts covers.
            response.headers_mut().insert(
                "accept-signature",
                HeaderValue::from_static(ACCEPT_SIGNATURE),
            );
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], body).into_response()
    }
}

/// The Accept-Signature field of a 401 (RFC 9421 §5.1): the profile's label, components and
/// tag (PROTOCOL.md, "Signed requests").
const ACCEPT_SIGNATURE: &str =
    r#"fairshare=("@method" "@target-uri");created;nonce;keyid;tag="fairshare/request/v1""#;

/// The media type of every problem document.
const PROBLEM_JSON: &str = "application/problem+json";

/// Makes every error answer a problem document, those written by axum itself included (a
/// 405, an extractor's rejection): their text becomes the detail, their headers (`Allow`)
/// stay.
pub async fn problem_for_bare_errors(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t == PROBLEM_JSON);
    if is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // axum's own error texts are a line; anything longer is cut, not buffered.
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let (status, code, title) = status_problem(status);
    let detail = if text.is_empty() {
        status.canonical_reason().unwrap_or(title).to_owned()
    } else {
        text
    };
    let problem = Problem {
        problem_type: format!("urn:fairshare:problem:{code}"),
        title,
        status: status.as_u16(),
        detail,
        field: None,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(PROBLEM_JSON),
    );
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(body))
}

pub async fn not_found_fallback(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append_failure(store: StoreError) -> Problem {
        ApiError::Append(Arc::new(ServiceError::Store(store))).problem()
    }

    #[test]
    fn a_commit_cut_off_midway_is_never_reported_as_nothing_stored() {
        let problem = append_failure(crate::store::examples::commit_cut_off());
        assert_eq!(problem.status, 503);
        assert!(
            !problem.detail.contains("nothing was stored"),
            "{problem:?}"
        );
        assert!(problem.detail.contains("resubmit"), "{problem:?}");
    }

    #[test]
    fn a_failure_before_the_commit_says_nothing_was_stored() {
        let problem = append_failure(crate::store::examples::no_connection());
        assert_eq!(problem.status, 503);
        assert!(problem.detail.contains("nothing was stored"), "{problem:?}");
    }
}
