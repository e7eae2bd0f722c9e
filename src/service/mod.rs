//! The server's long-running tasks, over the store: the sequencer (the one append path),
//! the checkpointer (which vets what other writers appended), the stored log's check, and
//! the allocator.

pub mod allocator;
pub mod check;
pub mod checkpointer;
pub mod limits;
pub mod privacy;
pub mod sequencer;
pub mod telemetry;

pub use sequencer::{Sequencer, append_batch};

use crate::entry::{EntryError, EntryId};
use crate::ledger::checkpoint::NoteError;
use crate::ledger::merkle::MerkleError;
use std::sync::Arc;

/// The service layer's error. Each variant keeps its cause; `is_unavailable` tells a
/// passing database outage from a failure of the server or of its data.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the sequencer has stopped")]
    Stopped,
    /// A blocking computation (planning, signatures, an allocation) panicked.
    #[error("a blocking computation did not finish")]
    Task(#[from] tokio::task::JoinError),
    /// The batch's leaves do not fit the tree (a size beyond 2^64 leaves).
    #[error("cannot extend the tree")]
    Tree(#[source] MerkleError),
    /// The stored tree lacks a hash that its size implies: corruption.
    #[error("the stored tree is incomplete")]
    StoredTree(#[source] MerkleError),
    #[error("cannot sign a checkpoint")]
    Checkpoint(#[from] NoteError),
    /// The server's own `limits.set` does not validate: a bug, not bad input.
    #[error("the solver limits entry was refused")]
    LimitsRefused(#[source] EntryError),
    #[error("cannot append the solver limits entry")]
    LimitsAppend(#[source] Arc<ServiceError>),
    #[error("the solver panicked")]
    SolverPanicked,
    #[error("cannot start the allocator's solver threads")]
    SolverPool(#[source] rayon::ThreadPoolBuildError),
    /// The allocator built an entry that does not validate: a bug, not bad input.
    #[error("the allocation of {value} is not a valid entry")]
    AllocationEntry {
        value: EntryId,
        #[source]
        source: EntryError,
    },
    #[error("the allocation of {value} was refused")]
    AllocationRefused {
        value: EntryId,
        #[source]
        source: EntryError,
    },
    #[error("cannot append the allocation of {value}")]
    AllocationAppend {
        value: EntryId,
        #[source]
        source: Arc<ServiceError>,
    },
    /// An entry this process did not append failed vetting: no checkpoint covers it.
    #[error(
        "refusing to sign a checkpoint of size {size}: an entry this server did not append does not verify"
    )]
    Unvetted {
        size: u64,
        #[source]
        source: Box<ServiceError>,
    },
    /// A disclosure that does not open its entry's commitment (the path is into the
    /// deposit).
    #[error("refused disclosure")]
    Disclosure(#[source] EntryError),
    #[error("no entry {0}")]
    UnknownEntry(EntryId),
    /// The server's own erasure entry does not validate: a bug, not bad input.
    #[error("the retention erasure was refused")]
    ErasureRefused(#[source] EntryError),
    #[error("cannot append the retention erasure")]
    ErasureAppend(#[source] Arc<ServiceError>),
    /// Stored data disagrees with what the leaves imply: tampering or corruption.
    #[error("{}{reason}", index.map(|i| format!("leaf {i}: ")).unwrap_or_default())]
    Inconsistent { index: Option<u64>, reason: String },
}

impl ServiceError {
    /// Whether the database was unavailable (see `StoreError::is_unavailable`): worth a
    /// retry, unlike every other failure.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Store(error) => error.is_unavailable(),
            Self::AllocationAppend { source, .. } => source.is_unavailable(),
            Self::Unvetted { source, .. } => source.is_unavailable(),
            Self::LimitsAppend(source) | Self::ErasureAppend(source) => source.is_unavailable(),
            _ => false,
        }
    }

    /// Whether the failed write may have been stored (see
    /// `StoreError::is_outcome_unknown`).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::Store(error) if error.is_outcome_unknown())
    }
}

/// `error` and its causes, each once: `a: caused by b: caused by c`. A cause whose text the
/// message before it already holds (many errors write their cause into their own message)
/// is not repeated.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut previous = text.clone();
    let mut cause = error.source();
    while let Some(current) = cause {
        let message = current.to_string();
        if !previous.contains(&message) {
            text.push_str(": caused by ");
            text.push_str(&message);
        }
        previous = message;
        cause = current.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_names_each_cause_once() {
        let stopped = Arc::new(ServiceError::Stopped);
        let error = ServiceError::AllocationAppend {
            value: EntryId([7; 32]),
            source: stopped,
        };
        assert_eq!(
            describe(&error),
            format!(
                "cannot append the allocation of {}: caused by the sequencer has stopped",
                EntryId([7; 32])
            )
        );
        // A cause already written into the message is not repeated.
        #[derive(Debug, thiserror::Error)]
        #[error("the check failed: {0}")]
        struct Quoting(#[source] ServiceError);
        assert_eq!(
            describe(&Quoting(ServiceError::Stopped)),
            "the check failed: the sequencer has stopped"
        );
    }
}
