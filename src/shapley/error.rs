//! The one error type of the Shapley engine.

/// Everything that can go wrong in the engine. Messages name the field and index at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapleyError {
    /// A game description is malformed (the message names the field and index).
    #[error("invalid game: {0}")]
    InvalidGame(String),
    /// The requested method does not apply to this game.
    #[error("method {method} does not apply: {reason}")]
    MethodNotApplicable {
        /// The method asked for.
        method: &'static str,
        /// Why it cannot be used.
        reason: String,
    },
    /// The game is too large for the requested exact method.
    #[error("{method}: {n} players exceeds the limit of {limit}")]
    TooLarge {
        /// The method asked for.
        method: &'static str,
        /// Players in the game.
        n: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A sampling parameter is out of range.
    #[error("invalid sampling parameter: {0}")]
    InvalidParameter(String),
    /// Rounding to money failed.
    #[error("payout: {0}")]
    Money(String),
}

/// Result alias of the engine.
pub type Result<T> = std::result::Result<T, ShapleyError>;
