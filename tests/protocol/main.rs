//! Protocol conformance without a database: entry vectors, the transparency core against
//! published and committed vectors, and property tests of the Merkle proofs.

// Test data are small counts, sizes and indices: casts between integer widths cannot
// truncate or wrap here.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

mod allocation_vectors;
mod c2sp;
mod committed;
mod ed25519_vectors;
mod entry_vectors;
mod note_vectors;
mod privacy_vectors;
mod properties;
mod request_vectors;
mod rfc_vectors;
mod submission;
mod tile_vectors;
mod vectors;
mod worked_examples;
