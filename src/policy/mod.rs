//! Policies: parse and validate policy files, turn a project's contributions into a game,
//! and allocate a realized value (pure: no IO, no database, no clock).
//!
//! - [`file`]: TOML policy files -> [`Policy`] (validated, hashed);
//! - [`input`]: the plain input records (actors, contributions, endorsements, measurements);
//! - [`game`]: the game a policy builds (MC-nets rules with provenance + measured game);
//! - [`exact`]: the fast exact rationals used while building games;
//! - [`measured`]: the measured-coalition game (explicit, the only exponential part);
//! - [`payout`]: caps and floors by actor kind;
//! - [`rulings`]: rulings' effects (exclusions, voided measurements, merged players);
//! - [`allocate`](mod@allocate): solve, scale to the amount, payout rules, rounding.
//!
//! See docs/POLICIES.md for every field and a worked example per feature.

pub mod allocate;
pub mod error;
pub mod exact;
pub mod file;
pub mod game;
pub mod input;
pub mod measured;
pub mod payout;
pub mod rulings;

pub use allocate::{
    Allocation, Attribution, PlayerAllocation, Recipient, allocate, allocate_game, allocate_ruled,
    allocate_with,
};
pub use error::{PolicyError, Result};
pub use file::{Policy, policy_hash};
pub use game::{Detail, PolicyGame, build_game, build_game_with};
pub use input::{Actor, ActorKind, Contribution, Endorsement, Inputs, MeasuredCoalition, Realized};
pub use rulings::{MergedGroup, Rulings};

/// Exact numbers in results: reduced `p/q`, or `p` for integers.
pub(crate) fn money_fmt(r: &num_rational::BigRational) -> String {
    crate::shapley::rational::fmt_ratio(r)
}
