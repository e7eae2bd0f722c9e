//! Signing requests as an actor (PROTOCOL.md, "Signed requests"): the fields to add to one
//! request, with the current time and a fresh random nonce.

use super::ClientError;
use crate::crypto::request::{self, Covered, SignedFields};
use crate::crypto::{SecretKey, b64_encode};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// An actor and its key, signing the requests of a client.
#[derive(Debug, Clone)]
pub struct RequestSigner {
    actor: String,
    key: SecretKey,
}

impl RequestSigner {
    pub fn new(actor: &str, key: SecretKey) -> Self {
        Self {
            actor: actor.to_owned(),
            key,
        }
    }

    /// The fields signing `method url` with `body` now, with a new nonce.
    pub fn sign(&self, method: &str, url: &str, body: &[u8]) -> Result<HeaderMap, ClientError> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| {
            ClientError::Sign(crate::crypto::CryptoError::Randomness(e.to_string()))
        })?;
        self.sign_at(
            method,
            url,
            body,
            chrono::Utc::now().timestamp(),
            &b64_encode(&nonce),
        )
    }

    /// The fields signing `method url` with `body` at `created` (Unix seconds) with `nonce`.
    pub fn sign_at(
        &self,
        method: &str,
        url: &str,
        body: &[u8],
        created: i64,
        nonce: &str,
    ) -> Result<HeaderMap, ClientError> {
        let covered = Covered {
            method,
            target_uri: url,
            body,
        };
        let fields = request::sign(&self.key, &self.actor, &covered, created, nonce)
            .map_err(ClientError::Sign)?;
        headers(&fields)
    }
}

/// The request fields as headers.
pub fn headers(fields: &SignedFields) -> Result<HeaderMap, ClientError> {
    let mut headers = HeaderMap::new();
    let mut add = |name: &'static str, value: &str| {
        let value = HeaderValue::from_str(value).map_err(|e| {
            ClientError::Sign(crate::crypto::CryptoError::Request(format!("{name}: {e}")))
        })?;
        headers.insert(HeaderName::from_static(name), value);
        Ok::<_, ClientError>(())
    };
    add("signature-input", &fields.signature_input)?;
    add("signature", &fields.signature)?;
    if let Some(digest) = &fields.content_digest {
        add("content-digest", digest)?;
    }
    Ok(headers)
}
