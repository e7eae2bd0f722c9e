//! Policies: one test per feature with hand-computed payouts, precise errors, properties on
//! random projects, and identical results on any thread count. Pure: no database.

// Test data are small counts, sizes and indices: casts between integer widths cannot
// truncate or wrap here.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

mod errors;
mod features;
mod props;
mod rulings;
mod threads;
