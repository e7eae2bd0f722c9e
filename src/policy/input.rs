//! The plain inputs of an allocation: no database types. The allocation step fills them
//! from the log (the project's entries up to the value entry's sequence number).

use rust_decimal::Decimal;

/// Kinds of actor: the ledger's own type.
pub use crate::entry::ActorKind;

/// An actor that appears in the inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Actor id.
    pub id: String,
    /// Kind.
    pub kind: ActorKind,
    /// For AI actors: the accountable human or platform actor (paid when the policy says so).
    pub operator: Option<String>,
}

/// A `contribution` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    /// Entry id (lowercase hex blake3 of the leaf).
    pub id: String,
    /// Sequence number in the log (orders everything).
    pub seq: u64,
    /// The contributing actor.
    pub actor: String,
    /// Contribution kind.
    pub kind: String,
    /// Unit of the measure.
    pub unit: String,
    /// Quantity of the measure (>= 0).
    pub quantity: Decimal,
    /// Entry ids of the contributions it builds on. Ids absent from the inputs (other
    /// projects) are ignored: royalties stay inside the allocated project.
    pub builds_on: Vec<String>,
}

/// An `endorsement` entry. The latest decision (highest `seq`) of each endorser counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endorsement {
    /// Entry id of the endorsed contribution.
    pub contribution: String,
    /// The endorsing actor (only human endorsers of another actor's work count).
    pub endorser: String,
    /// Accept (true) or reject (false).
    pub accept: bool,
    /// Sequence number in the log.
    pub seq: u64,
}

/// A `coalition.measured` entry: the value observed with exactly these actors taking part.
/// The latest measurement (highest `seq`) of a coalition counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasuredCoalition {
    /// Actor ids (a non-empty set).
    pub members: Vec<String>,
    /// Observed worth.
    pub worth: Decimal,
    /// Sequence number in the log.
    pub seq: u64,
}

/// Everything a game is built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Every actor named by the other lists (and AI operators).
    pub actors: Vec<Actor>,
    /// The project's contributions.
    pub contributions: Vec<Contribution>,
    /// Endorsements of those contributions.
    pub endorsements: Vec<Endorsement>,
    /// Measured coalition outcomes of the project.
    pub measured: Vec<MeasuredCoalition>,
}

/// The value to split (from a `value.realized` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realized {
    /// Amount (> 0, a whole number of minor units).
    pub amount: Decimal,
    /// ISO 4217 code, carried into the result.
    pub currency: String,
    /// Decimals of the currency's minor unit (2 for EUR, 0 for JPY).
    pub minor_unit_scale: u32,
}
