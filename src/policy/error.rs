//! The one error type of the policy module.

use crate::shapley::ShapleyError;

/// Everything that can go wrong while reading a policy, building its game or allocating.
/// Messages name the key (policy) or the input record (allocation) at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The file is not TOML, or does not have the policy's shape (unknown key, wrong type).
    #[error("policy: line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column (in characters) of the offending text.
        column: usize,
        /// What toml reported.
        message: String,
    },
    /// A key has a value the policy does not allow.
    #[error("policy: {key}{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Invalid {
        /// Dotted path of the key, with array indices (`weights[2].weight`).
        key: String,
        /// 1-based line of the value, when known.
        line: Option<usize>,
        /// Why it is refused.
        message: String,
    },
    /// An input record is malformed or inconsistent (the message names it).
    #[error("input: {0}")]
    Input(String),
    /// The realized value cannot be allocated (zero or negative amount, bad currency scale).
    #[error("value: {0}")]
    Value(String),
    /// The game's total worth is zero or negative: there is nothing to share in proportion.
    #[error("total worth v(N) = {worth}: {reason}")]
    NoWorth {
        /// v(N) as a reduced fraction.
        worth: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The payout rules cannot be met (for example caps that leave money unassigned).
    #[error("payout rules: {0}")]
    Payout(String),
    /// The engine refused the game or the rounding.
    #[error(transparent)]
    Shapley(#[from] ShapleyError),
}

/// Result alias of the policy module.
pub type Result<T> = std::result::Result<T, PolicyError>;
