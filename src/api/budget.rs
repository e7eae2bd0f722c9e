//! The memory request bodies may hold at once (`--max-body-memory`): a POST reserves what
//! reading and parsing its body can take, before a byte of it is read, and keeps it until
//! its answer is ready. A request that finds the budget taken waits its turn (first come,
//! first served), at most [`WAIT`], then is answered 503.

use super::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a request waits for body memory before it is answered 503.
const WAIT: Duration = Duration::from_secs(30);
/// Budget unit: permits are KiB, so that a budget of up to 4 TiB fits a request's `u32`.
const UNIT: usize = 1024;
/// The entries parsed from a body take up to this many times its bytes (a small JSON object
/// is a 640-byte tree node; measured in docs/BENCHMARKS.md).
const PARSED_PER_BYTE: usize = 8;
/// The tree of the one entry being read takes up to this many bytes per byte of JSON (a
/// one-key object `{"":0}`) ...
const TREE_PER_BYTE: usize = 100;
/// ... and at most this much (`Limits::VALUES` values of about 350 bytes).
const TREE_MAX: usize = 1536 * 1024;

/// The shared budget, and the largest body a request may send.
#[derive(Clone, Debug)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    total: u32,
    max_body_bytes: usize,
}

impl BodyBudget {
    pub fn new(memory_bytes: usize, max_body_bytes: usize) -> Self {
        let total = u32::try_from(memory_bytes.div_ceil(UNIT)).unwrap_or(u32::MAX);
        Self {
            permits: Arc::new(Semaphore::new(total as usize)),
            total,
            max_body_bytes,
        }
    }

    /// What a body of `len` bytes may hold while it is read and parsed, in units; at most
    /// the whole budget, so that every body allowed by `--max-body-bytes` can run.
    fn reservation(&self, len: usize) -> u32 {
        let bytes = len
            .saturating_mul(1 + PARSED_PER_BYTE)
            .saturating_add(len.saturating_mul(TREE_PER_BYTE).min(TREE_MAX));
        u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .min(self.total)
    }
}

/// Admits a POST's body: `application/json`, no longer than `--max-body-bytes` by its
/// `Content-Length` (a body without one is counted at that limit), and within the budget.
pub async fn admit(
    State(budget): State<BodyBudget>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if request.method() != Method::POST {
        return Ok(next.run(request).await);
    }
    let headers = request.headers();
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .map(|t| String::from_utf8_lossy(t.as_bytes()).into_owned());
    let is_json = media_type
        .as_deref()
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType(match media_type {
            Some(other) => format!("the body must be application/json, not {other}"),
            None => "the body must be sent with Content-Type: application/json".to_owned(),
        }));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|n| n.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > budget.max_body_bytes) {
        return Err(too_large(budget.max_body_bytes));
    }
    let units = budget.reservation(declared.unwrap_or(budget.max_body_bytes));
    let permit = tokio::time::timeout(WAIT, budget.permits.clone().acquire_many_owned(units))
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            ApiError::Busy(format!(
                "the memory for request bodies stayed taken for {} s",
                WAIT.as_secs()
            ))
        })?;
    let response = next.run(request).await;
    drop(permit);
    Ok(response)
}

pub fn too_large(max_body_bytes: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!("the body exceeds {max_body_bytes} bytes"))
}
