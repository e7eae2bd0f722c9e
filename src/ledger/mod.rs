//! The log, purely: batch planning and the stateful rules (who may sign what), the RFC 6962
//! Merkle tree with its proofs, C2SP checkpoints as signed notes, and the offline replay.

pub mod batch;
pub mod checkpoint;
pub mod merkle;
pub mod names;
pub mod proof;
pub mod replay;
pub mod rules;
pub mod tiles;
pub mod witness;

pub use batch::{Answer, Receipt};
