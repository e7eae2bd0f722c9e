//! The engine's front door: pick the cheapest exact method that applies, fall back to
//! sampling beyond the limits, and say which method was used.
//!
//! `Method::Auto` order: MC-nets closed form (linear in the rules) > weighted voting
//! dynamic program (when n^2 q <= `voting_dp_limit`) > exact enumeration (n <=
//! `exact_limit`) > Monte Carlo permutation sampling.

use num_rational::BigRational;

use super::banzhaf::banzhaf_exact;
use super::error::{Result, ShapleyError};
use super::exact::shapley_exact;
use super::game::Game;
use super::owen::{MAX_OWEN_WORK, owen_exact, owen_work};
use super::sampling::{Estimate, SamplingConfig, banzhaf_sampled, owen_sampled, shapley_sampled};

/// The method asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Method {
    /// Cheapest exact method that applies; sampling beyond the limits.
    #[default]
    Auto,
    /// Exact enumeration of all coalitions.
    Exact,
    /// A closed form (MC-nets or weighted voting).
    ClosedForm,
    /// Monte Carlo permutation sampling.
    MonteCarlo,
    /// The Owen value for the request's unions (exact when small, else sampled).
    Owen,
    /// The Banzhaf value (exact when small, else sampled).
    Banzhaf,
}

/// The method actually used, named in every result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Used {
    /// Exact enumeration.
    Exact,
    /// MC-nets closed form.
    ClosedFormMcNets,
    /// Weighted voting dynamic program.
    ClosedFormWeightedVoting,
    /// Permutation sampling.
    MonteCarlo,
    /// Exact Owen value.
    OwenExact,
    /// Sampled Owen value.
    OwenMonteCarlo,
    /// Exact Banzhaf value.
    BanzhafExact,
    /// Sampled Banzhaf value.
    BanzhafMonteCarlo,
}

impl Used {
    /// The name printed and recorded.
    pub fn as_str(self) -> &'static str {
        match self {
            Used::Exact => "exact",
            Used::ClosedFormMcNets => "closed-form/mc-nets",
            Used::ClosedFormWeightedVoting => "closed-form/weighted-voting",
            Used::MonteCarlo => "monte-carlo",
            Used::OwenExact => "owen",
            Used::OwenMonteCarlo => "owen/monte-carlo",
            Used::BanzhafExact => "banzhaf",
            Used::BanzhafMonteCarlo => "banzhaf/monte-carlo",
        }
    }
}

/// What to compute and within which limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// Largest n for exact enumeration.
    pub exact_limit: usize,
    /// Largest n^2 q for the weighted voting dynamic program.
    pub voting_dp_limit: u128,
    /// Sampling parameters (used only when sampling).
    pub sampling: SamplingConfig,
    /// For Owen and Banzhaf: sample even when exact is possible.
    pub force_sampling: bool,
    /// A priori unions for the Owen value (player indices).
    pub unions: Option<Vec<Vec<usize>>>,
}

impl Default for Request {
    fn default() -> Self {
        Self {
            method: Method::Auto,
            exact_limit: super::DEFAULT_EXACT_LIMIT,
            voting_dp_limit: 4_000_000_000,
            sampling: SamplingConfig::default(),
            force_sampling: false,
            unions: None,
        }
    }
}

/// Exact or sampled values.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Exact rationals, one per player.
    Exact(Vec<BigRational>),
    /// A sampled estimate with intervals.
    Sampled(Estimate),
}

/// A result and the method that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// The method used.
    pub method: Used,
    /// The values.
    pub values: Values,
}

fn exact(method: Used, v: Vec<BigRational>) -> Solution {
    Solution {
        method,
        values: Values::Exact(v),
    }
}

fn closed_form<G: Game + ?Sized>(game: &G, req: &Request) -> Option<Solution> {
    if let Some(mc) = game.as_mc_nets() {
        return Some(exact(Used::ClosedFormMcNets, mc.shapley_closed_form()));
    }
    if let Some(wv) = game.as_weighted_voting()
        && wv.dp_cost() <= req.voting_dp_limit
    {
        return Some(exact(Used::ClosedFormWeightedVoting, wv.shapley_dp()));
    }
    None
}

/// Solve `game` as `req` asks.
pub fn solve<G: Game + ?Sized>(game: &G, req: &Request) -> Result<Solution> {
    req.sampling.validate()?;
    let n = game.n();
    match req.method {
        Method::Auto => {
            if let Some(s) = closed_form(game, req) {
                return Ok(s);
            }
            if n <= req.exact_limit {
                return Ok(exact(Used::Exact, shapley_exact(game, req.exact_limit)?));
            }
            Ok(Solution {
                method: Used::MonteCarlo,
                values: Values::Sampled(shapley_sampled(game, &req.sampling)?),
            })
        }
        Method::Exact => Ok(exact(Used::Exact, shapley_exact(game, req.exact_limit)?)),
        Method::ClosedForm => closed_form(game, req).ok_or(ShapleyError::MethodNotApplicable {
            method: "closed-form",
            reason: "the game is neither MC-nets nor weighted voting within the DP limit".into(),
        }),
        Method::MonteCarlo => Ok(Solution {
            method: Used::MonteCarlo,
            values: Values::Sampled(shapley_sampled(game, &req.sampling)?),
        }),
        Method::Owen => {
            let unions = req
                .unions
                .as_deref()
                .ok_or(ShapleyError::MethodNotApplicable {
                    method: "owen",
                    reason: "the game has no unions".into(),
                })?;
            if !req.force_sampling && n <= 63 && owen_work(unions) <= MAX_OWEN_WORK {
                Ok(exact(Used::OwenExact, owen_exact(game, unions)?))
            } else {
                Ok(Solution {
                    method: Used::OwenMonteCarlo,
                    values: Values::Sampled(owen_sampled(game, unions, &req.sampling)?),
                })
            }
        }
        Method::Banzhaf => {
            if !req.force_sampling && n <= req.exact_limit {
                Ok(exact(
                    Used::BanzhafExact,
                    banzhaf_exact(game, req.exact_limit)?,
                ))
            } else {
                Ok(Solution {
                    method: Used::BanzhafMonteCarlo,
                    values: Values::Sampled(banzhaf_sampled(game, &req.sampling)?),
                })
            }
        }
    }
}
