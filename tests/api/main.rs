//! One integration-test binary (faster to link than many): each module tests one area
//! against the real server on a random port and a fresh database.

// Test data are small counts, sizes and indices: casts between integer widths cannot
// truncate or wrap here.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

mod access;
mod actors;
mod allocation_inputs;
mod allocations;
mod allocator;
mod audit;
mod cli;
mod client;
mod concurrency;
mod crash;
mod deploy;
mod docker;
mod embedded;
mod entries;
mod failures;
mod fairplay;
mod guards;
mod helpers;
mod import;
mod limits;
mod operations;
mod privacy;
mod ranges;
mod retry;
mod signed_requests;
mod solver_limits;
mod spec;
mod tiles;
mod transparency;
mod trust;
mod vetting;
mod witnesses;
