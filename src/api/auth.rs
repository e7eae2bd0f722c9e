//! Who is asking: the signed-request middleware (PROTOCOL.md, "Signed requests") and the
//! [`Requester`] it hands to the authorization table and to handlers.
//!
//! A request without `Signature-Input` and `Signature` is anonymous. A request with them is
//! refused (401) unless the signature verifies with an unrevoked key of a registered actor,
//! its `created` time is within the replay window of the server clock, its nonce was not
//! seen in that window, and the body matches its Content-Digest.

use super::AppState;
use super::access;
use super::error::ApiError;
use crate::crypto::request::{self, Covered};
use crate::crypto::{KeyId, PublicKey};
use crate::entry::{ActorId, ActorKind};
use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The request fields of the profile.
pub const SIGNATURE_INPUT: &str = "signature-input";
pub const SIGNATURE: &str = "signature";
pub const CONTENT_DIGEST: &str = "content-digest";

/// What the requester may be trusted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// No signature.
    Public,
    /// A registered actor, for its own records and its projects'.
    Actor,
    /// An actor a regulator granted read-all (by a `read.granted` entry not revoked since).
    Auditor,
    /// An actor of kind `regulator`.
    Regulator,
}

/// The actor who signed a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBy {
    pub actor: ActorId,
    pub kind: ActorKind,
    /// The id of the key that signed.
    pub key: KeyId,
    pub role: Role,
}

/// Who sent a request, as its signature proves: handlers take it as an extractor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    Anonymous,
    Signed(SignedBy),
}

impl Requester {
    pub fn role(&self) -> Role {
        match self {
            Self::Anonymous => Role::Public,
            Self::Signed(signed) => signed.role,
        }
    }

    /// The signing actor, if any.
    pub fn actor(&self) -> Option<&ActorId> {
        match self {
            Self::Anonymous => None,
            Self::Signed(signed) => Some(&signed.actor),
        }
    }

    /// Whether the requester reads the whole log (a regulator or an auditor).
    pub fn reads_everything(&self) -> bool {
        matches!(self.role(), Role::Regulator | Role::Auditor)
    }
}

/// Set by the middleware on every request; a request that did not pass it is anonymous, so a
/// route wired outside it fails closed.
impl<S: Send + Sync> FromRequestParts<S> for Requester {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Requester>()
            .cloned()
            .unwrap_or(Requester::Anonymous))
    }
}

/// Most (actor, nonce) pairs remembered at once. Past it, signed requests are refused with a
/// 503 until the oldest expire: forgetting a nonce early would let its request be replayed.
const MAX_REMEMBERED_NONCES: usize = 1_000_000;
/// How often the expired nonces are dropped, in seconds.
const SWEEP_EVERY_SECS: i64 = 10;

/// The nonces of the verified requests whose `created` time is still inside the replay
/// window, each with the time it leaves it. A nonce is needed only that long: after, the
/// request's timestamp alone refuses it. The set is per server process (see PROTOCOL.md
/// on several processes).
#[derive(Debug, Clone, Default)]
pub struct NonceCache {
    inner: Arc<Mutex<Nonces>>,
}

#[derive(Debug, Default)]
struct Nonces {
    /// (actor, nonce) -> Unix time (seconds) after which the request is stale anyway.
    expiry: HashMap<(String, String), i64>,
    /// When to drop the expired pairs next.
    next_sweep: i64,
}

impl NonceCache {
    /// Remembers the nonce of a verified request; an error when it was seen already.
    fn admit(&self, actor: &str, nonce: &str, expires: i64, now: i64) -> Result<(), ApiError> {
        // A poisoned lock only means another request panicked mid-insert: the map is whole.
        let mut nonces = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if now >= nonces.next_sweep || nonces.expiry.len() >= MAX_REMEMBERED_NONCES {
            nonces.expiry.retain(|_, until| *until >= now);
            nonces.next_sweep = now + SWEEP_EVERY_SECS;
        }
        let key = (actor.to_owned(), nonce.to_owned());
        if nonces.expiry.get(&key).is_some_and(|until| *until >= now) {
            return Err(ApiError::Unauthenticated(format!(
                "the nonce {nonce:?} of {actor} was already used: a replayed request"
            )));
        }
        if nonces.expiry.len() >= MAX_REMEMBERED_NONCES {
            return Err(ApiError::Busy(
                "too many signed requests inside the replay window; retry later".into(),
            ));
        }
        nonces.expiry.insert(key, expires);
        Ok(())
    }
}

/// The requester of `request`, verified; the request is given back with its body, which was
/// read to check its digest.
pub async fn authenticate(
    state: &AppState,
    request: Request,
) -> Result<(Requester, Request), ApiError> {
    let headers = request.headers();
    let (Some(input), Some(signature)) =
        (field(headers, SIGNATURE_INPUT)?, field(headers, SIGNATURE)?)
    else {
        if headers.contains_key(SIGNATURE_INPUT) || headers.contains_key(SIGNATURE) {
            return Err(ApiError::Unauthenticated(
                "a signed request needs both Signature-Input and Signature".into(),
            ));
        }
        return Ok((Requester::Anonymous, request));
    };
    let received = request::parse(&input, &signature).map_err(unauthenticated)?;
    let digest = field(headers, CONTENT_DIGEST)?;
    let target_uri = target_uri(state, &request)?;
    let method = request.method().as_str().to_owned();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, state.settings.max_body_bytes)
        .await
        .map_err(|e| ApiError::PayloadTooLarge(format!("the signed body: {e}")))?;

    let now = chrono::Utc::now().timestamp();
    let window = state.settings.request_window.num_seconds();
    let created = received.params.created;
    if (now - created).abs() > window {
        return Err(ApiError::Unauthenticated(format!(
            "the signature was created at {created}, more than {window} s from the server's \
             clock ({now})"
        )));
    }
    let signer = signer(state, &received.params).await?;
    let covered = Covered {
        method: &method,
        target_uri: &target_uri,
        body: &body,
    };
    received
        .verify(&covered, digest.as_deref(), &signer.1)
        .map_err(unauthenticated)?;
    // Only a verified request spends its nonce: a forger cannot fill the cache.
    state.nonces.admit(
        signer.0.actor.as_str(),
        &received.params.nonce,
        created + window,
        now,
    )?;
    Ok((
        Requester::Signed(signer.0),
        Request::from_parts(parts, Body::from(body)),
    ))
}

fn unauthenticated(error: crate::crypto::CryptoError) -> ApiError {
    ApiError::Unauthenticated(error.to_string())
}

/// A header field as text, trimmed; `None` when absent.
fn field(headers: &HeaderMap, name: &str) -> Result<Option<String>, ApiError> {
    headers
        .get(name)
        .map(|value| {
            value
                .to_str()
                .map(|text| text.trim().to_owned())
                .map_err(|_| ApiError::Unauthenticated(format!("{name} is not visible ASCII")))
        })
        .transpose()
}

/// `@target-uri`: the configured public origin (or `http://` and the Host field) followed
/// by the path and query as received.
fn target_uri(state: &AppState, request: &Request) -> Result<String, ApiError> {
    let path_and_query = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let origin = match &state.settings.public_origin {
        Some(origin) => origin.clone(),
        None => {
            let host = match request.uri().authority() {
                Some(authority) => authority.as_str().to_owned(),
                None => field(request.headers(), header::HOST.as_str())?.ok_or_else(|| {
                    ApiError::Unauthenticated("a signed request needs a Host field".into())
                })?,
            };
            format!("http://{host}")
        }
    };
    Ok(format!("{origin}{path_and_query}"))
}

/// The signing actor and its key, refused when unknown or revoked.
async fn signer(
    state: &AppState,
    params: &request::SignatureParams,
) -> Result<(SignedBy, PublicKey), ApiError> {
    let unknown = || {
        ApiError::Unauthenticated(format!(
            "no key {} of an actor {} is registered",
            params.key, params.actor
        ))
    };
    let actor = ActorId::parse(&params.actor).map_err(|_| unknown())?;
    let key_id = KeyId::parse(&params.key).ok_or_else(unknown)?;
    let key = state
        .store
        .signing_key(&actor, &params.key)
        .await?
        .ok_or_else(unknown)?;
    if let Some(seq) = key.revoked_seq {
        return Err(ApiError::Unauthenticated(format!(
            "the key {} of {} was revoked at entry {seq}",
            params.key, params.actor
        )));
    }
    let public_key = PublicKey::from_bytes(&key.public_key).map_err(|e| {
        ApiError::Store(crate::store::StoreError::Corrupt(format!(
            "key {} of {}: {e}",
            params.key, params.actor
        )))
    })?;
    let role = match (key.kind, key.reads_all) {
        (ActorKind::Regulator, _) => Role::Regulator,
        (_, true) => Role::Auditor,
        (_, false) => Role::Actor,
    };
    Ok((
        SignedBy {
            actor,
            kind: key.kind,
            key: key_id,
            role,
        },
        public_key,
    ))
}

/// The middleware every route passes: authenticates the request, applies the route's rule
/// (`access::RULES`) and hands the [`Requester`] on to the handler.
pub async fn guard(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match admit(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => axum::response::IntoResponse::into_response(refusal),
    }
}

async fn admit(state: &AppState, request: Request) -> Result<Request, ApiError> {
    let (requester, mut request) = authenticate(state, request).await?;
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned());
    if let Some(rule) = access::rule_of(
        request.method(),
        route.as_deref(),
        state.settings.public_reads,
    ) {
        let target = access::Target::new(
            route.as_deref().unwrap_or_default(),
            request.uri().path(),
            request.uri().query(),
        );
        access::authorize(state, &requester, rule, &target).await?;
    }
    request.extensions_mut().insert(requester);
    Ok(request)
}
