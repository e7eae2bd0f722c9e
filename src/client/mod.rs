//! The one client of the API (on the model of tessera's `client/`): the log's key and
//! checkpoints, read and verified through `ledger::checkpoint`; leaf pages, and the leaves
//! up to a checkpoint verified as they are fetched ([`LeafStream`]); submitting entries one
//! by one or in batches; the allocations and the audit view. `layout` holds the paths the
//! server's routers use too.

pub mod layout;
mod leaves;
mod signing;
mod witness;

pub use leaves::LeafStream;
pub use signing::RequestSigner;

use crate::ledger::checkpoint::{Checkpoint, NoteError, NoteVerifier, open_checkpoint};
use crate::ledger::merkle::{Frontier, MerkleError};
use layout::LeafLineError;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("unreadable answer from {url}")]
    Unreadable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the answer from {url} is not the JSON expected")]
    NotJson {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{url} answered {status}: {body}")]
    Status {
        url: String,
        status: StatusCode,
        body: String,
    },
    #[error("the server refused the entry ({status}): {problem}")]
    Refused { status: StatusCode, problem: Value },
    #[error("the server's log key is not a verifier key")]
    LogKey(#[source] NoteError),
    #[error("the server's checkpoint does not verify")]
    Checkpoint(#[source] NoteError),
    #[error("line {line} of the leaf page from {start}")]
    PageLine {
        start: u64,
        line: usize,
        #[source]
        source: LeafLineError,
    },
    #[error("expected leaf {expected}, the server sent {found}")]
    OutOfOrder { expected: u64, found: u64 },
    /// The server's leaves end before the size its own signed checkpoint gives.
    #[error(
        "the server holds {held} leaves, fewer than its checkpoint's {size}: entries were removed"
    )]
    Short { held: u64, size: u64 },
    #[error("{held} leaves are more than the checkpoint's {size}: are they another log's?")]
    Beyond { held: u64, size: u64 },
    #[error(
        "the root recomputed from the first {size} leaves ({recomputed}) differs from the checkpoint's ({signed})"
    )]
    RootMismatch {
        size: u64,
        recomputed: String,
        signed: String,
    },
    #[error("the leaves do not fit a tree")]
    Tree(#[from] MerkleError),
    #[error("{0:?} is not an HTTP method")]
    Method(String),
    #[error("cannot sign the request")]
    Sign(#[source] crate::crypto::CryptoError),
}

/// A checkpoint and the signed note it was read from (what export saves).
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: String,
}

/// One leaf of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub index: u64,
    pub bytes: Vec<u8>,
}

/// What a batch submission answers: one result per entry, a receipt or a problem.
#[derive(Debug, Deserialize)]
pub struct BatchResults {
    pub accepted: u64,
    pub rejected: u64,
    pub results: Vec<Value>,
}

/// A client of one fairshare server.
#[derive(Debug, Clone)]
pub struct LogClient {
    http: reqwest::Client,
    base: String,
    /// Signs every request when set (reads that are not public need it).
    signer: Option<RequestSigner>,
}

impl LogClient {
    /// A client of the server at `base` (`http://host:port`, a trailing slash is ignored).
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            signer: None,
        }
    }

    /// The same client, signing its requests as `signer`'s actor.
    pub fn signed_by(self, signer: RequestSigner) -> Self {
        Self {
            signer: Some(signer),
            ..self
        }
    }

    /// `request` (to `url`, with `body`), signed when the client has a signer.
    fn signed(
        &self,
        request: reqwest::RequestBuilder,
        method: &str,
        url: &str,
        body: &[u8],
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        match &self.signer {
            // Signed as reqwest will send it: the URL parsed and serialized again.
            Some(signer) => {
                let sent = url::Url::parse(url).map_or_else(|_| url.to_owned(), String::from);
                Ok(request.headers(signer.sign(method, &sent, body)?))
            }
            None => Ok(request),
        }
    }

    /// The status and text of `method path` with `body` (JSON when not empty), signed when
    /// the client has a signer: what `fairshare request` sends.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, String), ClientError> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| ClientError::Method(method.to_owned()))?;
        let url = self.url(path);
        let mut request = self.http.request(method.clone(), &url);
        if !body.is_empty() {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let request = self.signed(request, method.as_str(), &url, &body)?;
        Self::send(request, url).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `request` (to `url`); the status and text of the answer.
    async fn send(
        request: reqwest::RequestBuilder,
        url: String,
    ) -> Result<(StatusCode, String), ClientError> {
        let response = request
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|source| ClientError::Unreadable { url, source })?;
        Ok((status, text))
    }

    /// The status and text of `GET path`.
    async fn fetch(&self, path: &str) -> Result<(StatusCode, String), ClientError> {
        let url = self.url(path);
        let request = self.signed(self.http.get(&url), "GET", &url, b"")?;
        Self::send(request, url).await
    }

    /// The text of a successful answer; any other is an error.
    fn successful(&self, path: &str, answer: (StatusCode, String)) -> Result<String, ClientError> {
        match answer {
            (status, body) if status.is_success() => Ok(body),
            (status, body) => Err(ClientError::Status {
                url: self.url(path),
                status,
                body,
            }),
        }
    }

    /// The text of `GET path`, which must succeed.
    async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        self.successful(path, self.fetch(path).await?)
    }

    /// The text of `GET path`, or `None` if the server has no such resource (404).
    async fn find_text(&self, path: &str) -> Result<Option<String>, ClientError> {
        match self.fetch(path).await? {
            (StatusCode::NOT_FOUND, _) => Ok(None),
            answer => self.successful(path, answer).map(Some),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        text: &str,
    ) -> Result<T, ClientError> {
        serde_json::from_str(text).map_err(|source| ClientError::NotJson {
            url: self.url(path),
            source,
        })
    }

    /// The status and JSON answer of `POST path` with `body`.
    async fn post(&self, path: &str, body: &Value) -> Result<(StatusCode, Value), ClientError> {
        let url = self.url(path);
        let (status, text) = Self::send(self.http.post(&url).json(body), url).await?;
        Ok((status, self.json(path, &text)?))
    }

    /// The log's signed-note verifier key, as the server serves it (trust on first use:
    /// a regulator compares it with the key it was given).
    pub async fn log_key(&self) -> Result<NoteVerifier, ClientError> {
        let key = self.get_text(layout::LOG_KEY).await?;
        NoteVerifier::from_vkey(key.trim()).map_err(ClientError::LogKey)
    }

    /// The latest checkpoint, verified under `verifier`.
    pub async fn checkpoint(
        &self,
        verifier: &NoteVerifier,
    ) -> Result<SignedCheckpoint, ClientError> {
        let note = self.get_text(layout::LOG_CHECKPOINT).await?;
        let (checkpoint, _) = open_checkpoint(&note, std::slice::from_ref(verifier))
            .map_err(ClientError::Checkpoint)?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Leaves `start..end` (or from `start` on) as the server pages them: at most its page
    /// size, none past the log's end.
    pub async fn leaf_page(&self, start: u64, end: Option<u64>) -> Result<Vec<Leaf>, ClientError> {
        let page = self.get_text(&layout::leaf_page(start, end)).await?;
        page.lines()
            .enumerate()
            .map(|(i, line)| {
                layout::parse_leaf_line(line)
                    .map(|(index, bytes)| Leaf { index, bytes })
                    .map_err(|source| ClientError::PageLine {
                        start,
                        line: i + 1,
                        source,
                    })
            })
            .collect()
    }

    /// The leaves from `frontier`'s size up to `checkpoint`'s (or on to the log's end, with
    /// [`LeafStream::to_log_end`]), page by page, verified as they arrive. `frontier` holds
    /// the leaves the caller has already (an empty one for the whole log).
    pub fn leaves(&self, checkpoint: Checkpoint, frontier: Frontier) -> LeafStream<'_> {
        LeafStream::new(self, checkpoint, frontier)
    }

    /// Submits one signed entry; its receipt (a resubmission gets the original one).
    pub async fn submit(&self, entry: &Value) -> Result<Value, ClientError> {
        match self.post(layout::ENTRIES, entry).await? {
            (status, receipt) if status.is_success() => Ok(receipt),
            (status, problem) => Err(ClientError::Refused { status, problem }),
        }
    }

    /// Submits signed entries as one batch; one result each, in order.
    pub async fn submit_batch(&self, entries: &[Value]) -> Result<BatchResults, ClientError> {
        let (status, answer) = self
            .post(layout::ENTRIES, &json!({"entries": entries}))
            .await?;
        if !status.is_success() {
            return Err(ClientError::Refused {
                status,
                problem: answer,
            });
        }
        serde_json::from_value(answer).map_err(|source| ClientError::NotJson {
            url: self.url(layout::ENTRIES),
            source,
        })
    }

    /// Deposits disclosures (`{"entry", "disclosures"}`) beside their entry; the server's
    /// answer once it checked them against the leaf's commitments.
    pub async fn deposit_disclosures(&self, deposit: &Value) -> Result<Value, ClientError> {
        match self.post(layout::DISCLOSURES, deposit).await? {
            (status, answer) if status.is_success() => Ok(answer),
            (status, problem) => Err(ClientError::Refused { status, problem }),
        }
    }

    /// The allocation answering the value entry (or allocation entry) `id`, once there is one.
    pub async fn allocation(&self, id: &str) -> Result<Option<Value>, ClientError> {
        let path = layout::allocation(id);
        match self.find_text(&path).await? {
            Some(text) => self.json(&path, &text).map(Some),
            None => Ok(None),
        }
    }

    /// The manipulation report of the allocation of entry `id` (or of the value entry `id`).
    pub async fn audit_report(&self, id: &str) -> Result<Value, ClientError> {
        let path = layout::audit_report(id);
        let text = self.get_text(&path).await?;
        self.json(&path, &text)
    }

    /// The regulator's concentration view; `query` is its query string (`project=p&basis=earned`).
    pub async fn concentration(&self, query: &str) -> Result<Value, ClientError> {
        let path = format!("{}?{query}", layout::AUDIT_CONCENTRATION);
        let text = self.get_text(&path).await?;
        self.json(&path, &text)
    }
}
