//! The log: batch planning (pure), the sequencer (the one append path), and Merkle hashing.

pub mod batch;
pub mod merkle;
pub mod sequencer;

pub use batch::{Answer, Receipt};
pub use sequencer::{Sequencer, append_batch};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the sequencer has stopped")]
    Stopped,
    #[error("internal error while planning a batch: {0}")]
    Planning(String),
}
