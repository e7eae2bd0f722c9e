//! What a witness and a proof reader ask the log: the checkpoint to cosign, consistency
//! proofs, posting cosignatures, and an entry's proof bundle.

use super::{ClientError, LogClient, layout};
use crate::crypto::hash;
use crate::ledger::merkle::Hash;
use serde::Deserialize;

#[derive(Deserialize)]
struct ConsistencyAnswer {
    proof: Vec<String>,
}

impl LogClient {
    /// The signed note of the checkpoint the log asks witnesses to cosign (not yet checked).
    pub async fn checkpoint_to_cosign(&self) -> Result<String, ClientError> {
        self.get_text(layout::LOG_CHECKPOINT_TO_COSIGN).await
    }

    /// The RFC 9162 consistency proof from the tree of size `first` to that of `second`.
    pub async fn consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Vec<Hash>, ClientError> {
        let path = format!(
            "{}?first={first}&second={second}",
            layout::CONSISTENCY_PROOF
        );
        let text = self.get_text(&path).await?;
        let answer: ConsistencyAnswer = self.json(&path, &text)?;
        answer
            .proof
            .iter()
            .map(|h| {
                hash::parse_hex32(h).ok_or_else(|| ClientError::Status {
                    url: self.url(&path),
                    status: reqwest::StatusCode::OK,
                    body: format!("{h:?} is not a hash"),
                })
            })
            .collect()
    }

    /// Posts a checkpoint with this witness's cosignature line to the log.
    pub async fn post_cosignature(&self, cosigned_note: &str) -> Result<(), ClientError> {
        let url = self.url(layout::LOG_COSIGNATURES);
        let request = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(cosigned_note.to_owned());
        let answer = Self::send(request, url).await?;
        self.successful(layout::LOG_COSIGNATURES, answer).map(drop)
    }
}
