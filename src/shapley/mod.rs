//! The Shapley engine: games, solvers, error bounds and rounding to money.
//!
//! Pure: no IO, no database, no printing. See docs/SHAPLEY.md for every solver's
//! complexity, exactness and reference, and for how [`select::solve`] picks one.
// The round-2 branch of the engine (issue 18) reworks these casts; until it lands, the
// engine keeps the casts it was written and tested with.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

pub mod banzhaf;
pub mod bounds;
pub mod compose;
pub mod error;
pub mod exact;
pub mod explicit;
pub mod game;
pub mod gamefile;
pub mod mcnets;
pub mod money;
pub mod owen;
pub mod rational;
pub mod sampling;
pub mod select;
pub mod voting;

pub use compose::{Restriction, SumGame};
pub use error::ShapleyError;
pub use explicit::Explicit;
pub use game::{Game, Walker};
pub use mcnets::{McNets, Rule};
pub use sampling::{Estimate, SamplingConfig};
pub use select::{Method, Request, Solution, Used, Values, solve};
pub use voting::WeightedVoting;

/// Exact rational numbers used for every exact result.
pub type Ratio = num_rational::BigRational;

/// Default player limit for exact enumeration (2^25 coalitions).
pub const DEFAULT_EXACT_LIMIT: usize = 25;
