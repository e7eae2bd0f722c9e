//! Policies: one test per feature with hand-computed payouts, precise errors, properties on
//! random projects, and identical results on any thread count. Pure: no database.

mod errors;
mod features;
mod props;
mod threads;
