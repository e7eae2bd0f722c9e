//! The server's long-running tasks, over the store: the sequencer (the one append path),
//! the checkpointer, the stored-tree check, and the allocator.

pub mod allocator;
pub mod check;
pub mod checkpointer;
pub mod sequencer;

pub use sequencer::{Sequencer, append_batch};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
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
