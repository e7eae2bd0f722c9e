//! The API's layout, written once (as tessera's `api/layout`): every route path, for the
//! server's routers and for the client, and the line format of leaf pages, which export
//! files keep as they are.

use crate::crypto::{CryptoError, b64_decode, b64_encode};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

pub const HEALTH: &str = "/health";
pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const METRICS: &str = "/metrics";
pub const ENTRIES: &str = "/v1/entries";
pub const ENTRY: &str = "/v1/entries/{seq}";
/// An entry's C2SP tlog-proof bundle.
pub const ENTRY_PROOF: &str = "/v1/entries/{seq}/proof";
pub const ACTOR: &str = "/v1/actors/{id}";
pub const LOG_KEY: &str = "/v1/log/key";
pub const LOG_CHECKPOINT: &str = "/v1/log/checkpoint";
pub const LOG_CHECKPOINT_OF_SIZE: &str = "/v1/log/checkpoints/{tree_size}";
pub const INCLUSION_PROOF: &str = "/v1/log/proof/inclusion";
pub const CONSISTENCY_PROOF: &str = "/v1/log/proof/consistency";
pub const LOG_ENTRIES: &str = "/v1/log/entries";
/// The C2SP tlog-tiles prefix: `<prefix>/checkpoint` is [`LOG_CHECKPOINT`], tiles and entry
/// bundles are under `<prefix>/tile/`.
pub const TILES_PREFIX: &str = "/v1/log";
pub const LOG_TILE: &str = "/v1/log/tile/{*path}";
/// The checkpoint witnesses are asked to cosign, and where they post their cosignatures.
pub const LOG_CHECKPOINT_TO_COSIGN: &str = "/v1/log/witness/checkpoint";
pub const LOG_COSIGNATURES: &str = "/v1/log/witness/cosignatures";
pub const ALLOCATIONS: &str = "/v1/allocations";
pub const ALLOCATION: &str = "/v1/allocations/{id}";
pub const ALLOCATION_RETRY: &str = "/v1/allocations/{id}/retry";
pub const PROJECT: &str = "/v1/projects/{id}";
pub const ALLOCATION_STATUS: &str = "/v1/allocations/{id}/status";
pub const ALLOCATOR: &str = "/v1/allocator";
pub const PROJECT_CONTRIBUTIONS: &str = "/v1/projects/{id}/contributions";
pub const POLICY: &str = "/v1/policies/{hash}";
pub const AUDIT_CONCENTRATION: &str = "/v1/audit/concentration";
pub const AUDIT_REPORT: &str = "/v1/audit/allocations/{id}/report";
pub const DISCLOSURES: &str = "/v1/disclosures";
pub const DISCLOSURE: &str = "/v1/disclosures/{entry}";

/// `template` with its one `{parameter}` segment replaced by `value`.
fn fill(template: &str, value: &str) -> String {
    match (template.find('{'), template.find('}')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{value}{}", &template[..open], &template[close + 1..])
        }
        _ => template.to_owned(),
    }
}

/// The allocation of entry `id` (or of the value entry `id`).
pub fn allocation(id: &str) -> String {
    fill(ALLOCATION, id)
}

/// The manipulation report of the allocation of entry `id` (or of the value entry `id`).
pub fn audit_report(id: &str) -> String {
    fill(AUDIT_REPORT, id)
}

/// Leaves `start..end`, or from `start` on (the server cuts the range to its page size).
pub fn leaf_page(start: u64, end: Option<u64>) -> String {
    match end {
        Some(end) => format!("{LOG_ENTRIES}?start={start}&end={end}"),
        None => format!("{LOG_ENTRIES}?start={start}"),
    }
}

/// One line of a leaf page and of an export file: `{"index":N,"leaf":"<base64>"}`. Base64
/// needs no escapes, so a reader borrows the leaf from the line unless a writer escaped it
/// anyway.
#[derive(Serialize, Deserialize)]
struct LeafLine<'a> {
    index: u64,
    #[serde(borrow)]
    leaf: Cow<'a, str>,
}

/// Why a leaf line does not read.
#[derive(Debug, thiserror::Error)]
pub enum LeafLineError {
    #[error("not a leaf line")]
    Json(#[from] serde_json::Error),
    #[error("the leaf is not base64")]
    Base64(#[from] CryptoError),
}

/// The line for leaf `index`, without its newline.
pub fn leaf_line(index: u64, leaf: &[u8]) -> String {
    let line = LeafLine {
        index,
        leaf: Cow::Owned(b64_encode(leaf)),
    };
    // A struct of a number and a string always serializes.
    serde_json::to_string(&line).unwrap_or_default()
}

/// The index and the leaf bytes of one line.
pub fn parse_leaf_line(line: &str) -> Result<(u64, Vec<u8>), LeafLineError> {
    let parsed: LeafLine = serde_json::from_str(line)?;
    Ok((parsed.index, b64_decode(&parsed.leaf)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_fill_their_segment() {
        assert_eq!(allocation("ab12"), "/v1/allocations/ab12");
        assert_eq!(leaf_page(3, Some(1003)), "/v1/log/entries?start=3&end=1003");
        assert_eq!(leaf_page(3, None), "/v1/log/entries?start=3");
        assert_eq!(fill(HEALTH, "x"), HEALTH);
    }

    #[test]
    fn a_leaf_line_reads_back() {
        let line = leaf_line(7, b"{\"a\":1}");
        assert_eq!(line, r#"{"index":7,"leaf":"eyJhIjoxfQ=="}"#);
        assert_eq!(
            parse_leaf_line(&line).expect("reads"),
            (7, b"{\"a\":1}".to_vec())
        );
        assert!(matches!(
            parse_leaf_line(r#"{"index":7,"leaf":"!"}"#),
            Err(LeafLineError::Base64(_))
        ));
        assert!(matches!(
            parse_leaf_line(r#"{"index":-1,"leaf":""}"#),
            Err(LeafLineError::Json(_))
        ));
    }
}
