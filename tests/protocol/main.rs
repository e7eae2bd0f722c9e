//! Protocol conformance without a database: entry vectors, the transparency core against
//! published and committed vectors, and property tests of the Merkle proofs.

mod ed25519_vectors;
mod entry_vectors;
mod note_vectors;
mod properties;
mod rfc_vectors;
mod vectors;
