//! The Shapley engine: axioms, textbook games, sampling guarantees, money, and the command.

// Test data are small counts, sizes and indices: casts between integer widths cannot
// truncate or wrap here.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

mod axioms;
mod cli;
mod money;
mod sampling;
mod textbook;
