//! The log: batch planning (pure), the sequencer (the one append path), the RFC 6962 Merkle
//! tree with its proofs (pure), and C2SP checkpoints as signed notes (pure).

pub mod batch;
pub mod check;
pub mod checkpoint;
pub mod checkpointer;
pub mod merkle;
pub mod replay;
pub mod rules;
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
    /// Stored data disagrees with what the leaves imply: tampering or corruption.
    #[error("{}{reason}", index.map(|i| format!("leaf {i}: ")).unwrap_or_default())]
    Inconsistent { index: Option<u64>, reason: String },
}
