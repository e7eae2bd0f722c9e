//! The regulator's figures over published allocations (pure, no IO): how concentrated the
//! payouts are, overall and by actor kind. Every figure is computed exactly (rationals) from
//! the allocation entries, which are themselves reproducible from the log, and only then
//! rounded for display, so anyone holding an exported log can recompute each one.

pub mod concentration;
pub mod report;

pub use concentration::{AllocationFigures, Basis, Concentration, concentration};
