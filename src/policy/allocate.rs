//! The pure allocation: policy + inputs + realized value -> exact Shapley values, shares,
//! payout rules, rounded payouts and the per-player breakdown.
//!
//! Scaling: a player's share of the amount is `amount × φ_i / v(N)` (the Shapley values of
//! the policy's game normalized by its total worth). By efficiency Σ φ_i = v(N), so the
//! shares add up to the amount exactly; by linearity this equals the Shapley value of the
//! game scaled by `amount / v(N)`. Worth units (points) are therefore arbitrary.

use std::collections::BTreeMap;
use std::sync::Arc;

use num_rational::BigRational;
use num_traits::{FromPrimitive, Signed, Zero};
use rust_decimal::Decimal;
use serde::Serialize;

use super::error::{PolicyError, Result};
use super::exact::Exact;
use super::file::Policy;
use super::game::{Detail, PolicyGame, build_game_with};
use super::input::{ActorKind, Inputs, Realized};
use super::money_fmt;
use super::payout::apply_kind_limits;
use super::rulings::{self, MergedPayout, Rulings};
use crate::shapley::money::{decimal_to_ratio, payouts};
use crate::shapley::rational::{self, ratio, times};
use crate::shapley::sampling::{Estimate, SamplingConfig};
use crate::shapley::select::{Method, Request, Values, solve};

/// The result of an allocation: everything the `allocation` entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allocation {
    /// Policy name.
    pub policy: String,
    /// `blake3:<hex>` of the policy file's bytes.
    pub policy_hash: String,
    /// Solver(s) used: `closed-form/mc-nets`, plus `+exact` or `+monte-carlo` for the
    /// measured game.
    pub method: String,
    /// Present when the measured game was sampled.
    pub sampling: Option<SamplingReport>,
    /// v(N) of the game, a reduced fraction.
    pub total_worth: String,
    /// The amount split.
    pub amount: Decimal,
    /// Its currency.
    pub currency: String,
    /// One line per player, sorted by actor id.
    pub players: Vec<PlayerAllocation>,
    /// Money per recipient (AI shares paid to their operator when the policy says so),
    /// sorted by actor id; sums to `amount`.
    pub recipients: Vec<Recipient>,
    /// Contributions that did not count, and why.
    pub excluded: Vec<ExcludedContribution>,
    /// How each merged player's payout was split (rulings that merge actors; absent
    /// without them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<MergedPayout>,
}

/// How the measured game was sampled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SamplingReport {
    /// Seed given by the caller.
    pub seed: u64,
    /// Permutations drawn.
    pub samples: u64,
    /// Largest half-width of the players' intervals (worth units), as decimal text.
    pub error_bound: String,
    /// Confidence of each interval.
    pub confidence: String,
}

/// One player's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlayerAllocation {
    /// Actor id.
    pub actor: String,
    /// Actor kind.
    pub kind: ActorKind,
    /// Exact Shapley value in worth units, a reduced fraction.
    pub shapley_value: String,
    /// Exact share of the amount, `amount × φ / v(N)`, a reduced fraction.
    pub share: String,
    /// Exact share after the kind caps and floors (equal to `share` without them).
    pub adjusted_share: String,
    /// `adjusted_share` rounded to minor units by largest remainder.
    pub payout: Decimal,
    /// Who receives the payout (the operator for an AI actor under `ai_to_operator`).
    pub paid_to: String,
    /// Where the Shapley value comes from; the values add up to `shapley_value`.
    pub breakdown: Vec<Attribution>,
}

/// One part of a player's Shapley value. Entry ids and names are shared (`Arc<str>`):
/// a large project has millions of attributions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// `proportional`, `lineage`, `synergy` or `measured`.
    pub feature: &'static str,
    /// `author`, `model`, `curators`, `team` or `member` (measured).
    pub role: &'static str,
    /// Entry id of the contribution whose worth this is.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shared_text"
    )]
    pub contribution: Option<Arc<str>>,
    /// For lineage: the earlier contribution through which it is received.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shared_text"
    )]
    pub via: Option<Arc<str>>,
    /// For synergy: the policy's synergy name.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shared_text"
    )]
    pub synergy: Option<Arc<str>>,
    /// Amount of Shapley value (worth units), exact; serialized as a reduced fraction.
    #[serde(serialize_with = "exact_text")]
    pub value: Exact,
}

fn shared_text<S: serde::Serializer>(
    v: &Option<Arc<str>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(t) => s.serialize_str(t),
        None => s.serialize_none(),
    }
}

fn exact_text<S: serde::Serializer>(v: &Exact, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_text())
}

/// Money paid to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// Actor id.
    pub actor: String,
    /// Amount.
    pub amount: Decimal,
}

/// A contribution that does not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExcludedContribution {
    /// Entry id.
    pub contribution: String,
    /// Its author.
    pub actor: String,
    /// Why.
    pub reason: String,
}

/// Allocate `realized` among the actors of `inputs` under `policy`, with each player's
/// breakdown. `seed` is used only if the measured game exceeds the policy's exact limit (the
/// caller derives it from the value entry's hash). Deterministic: same inputs, same result,
/// on any thread count.
pub fn allocate(
    policy: &Policy,
    inputs: &Inputs,
    realized: &Realized,
    seed: u64,
) -> Result<Allocation> {
    allocate_with(policy, inputs, realized, seed, Detail::Breakdown)
}

/// [`allocate_with`] under the effects of `rulings` (docs/POLICIES.md, "Rulings").
pub fn allocate_ruled(
    policy: &Policy,
    inputs: &Inputs,
    rulings: &Rulings,
    realized: &Realized,
    seed: u64,
    detail: Detail,
) -> Result<Allocation> {
    let ruled = rulings::apply(inputs, rulings);
    let mut allocation = allocate_with(policy, &ruled, realized, seed, detail)?;
    if matches!(detail, Detail::Breakdown) {
        allocation
            .excluded
            .extend(rulings::excluded_contributions(inputs, rulings));
    }
    if !rulings.merged.is_empty() {
        rulings::split_merged(&mut allocation, rulings, realized)?;
    }
    Ok(allocation)
}

/// [`allocate`], explaining as much as `detail` asks.
pub fn allocate_with(
    policy: &Policy,
    inputs: &Inputs,
    realized: &Realized,
    seed: u64,
    detail: Detail,
) -> Result<Allocation> {
    if realized.amount <= Decimal::ZERO {
        return Err(PolicyError::Value(format!(
            "amount {} is not positive",
            realized.amount
        )));
    }
    if realized.minor_unit_scale > 18 {
        return Err(PolicyError::Value(format!(
            "minor unit scale {} is more than 18 decimals",
            realized.minor_unit_scale
        )));
    }
    if realized.amount.normalize().scale() > realized.minor_unit_scale {
        return Err(PolicyError::Value(format!(
            "amount {} has more decimals than the currency's {}",
            realized.amount, realized.minor_unit_scale
        )));
    }
    let game = build_game_with(policy, inputs, detail)?;
    allocate_game(policy, &game, realized, seed, detail)
}

/// The solving and paying half of [`allocate_with`], for a game already built (with the
/// breakdown's provenance when `detail` asks for it: [`super::game::build_game_with`]).
pub fn allocate_game(
    policy: &Policy,
    game: &PolicyGame,
    realized: &Realized,
    seed: u64,
    detail: Detail,
) -> Result<Allocation> {
    let mut values = shapley_values(policy, game, seed)?;
    if !values.total.is_positive() {
        return Err(PolicyError::NoWorth {
            worth: money_fmt(&values.total),
            reason: "nothing to share in proportion to the Shapley values".into(),
        });
    }

    let amount = decimal_to_ratio(realized.amount);
    // One reduction per player, not two: amount × φ / v(N) = φ × (amount / v(N)).
    let per_worth = &amount / &values.total;
    let phi = &values.phi;
    let shares: Vec<BigRational> = phi.iter().map(|v| times(v, &per_worth)).collect();
    let kinds: Vec<ActorKind> = game.players.iter().map(|p| p.kind).collect();
    let adjusted = apply_kind_limits(&shares, &kinds, &amount, &policy.payout.kind_limits)?;
    let paid = payouts(&adjusted, realized.amount, realized.minor_unit_scale)?;
    let paid_to = paid_to(policy, game)?;

    let breakdown = match detail {
        Detail::Breakdown => breakdown(policy, game, &values.measured),
        Detail::Figures => vec![Vec::new(); game.players.len()],
    };
    let players = game
        .players
        .iter()
        .zip(breakdown)
        .enumerate()
        .map(|(i, (p, items))| PlayerAllocation {
            actor: p.actor.clone(),
            kind: p.kind,
            shapley_value: money_fmt(&phi[i]),
            share: money_fmt(&shares[i]),
            adjusted_share: money_fmt(&adjusted[i]),
            payout: paid[i],
            paid_to: paid_to[i].clone(),
            breakdown: items,
        })
        .collect();
    values.method.dedup();
    Ok(Allocation {
        policy: policy.name.clone(),
        policy_hash: policy.hash.clone(),
        method: values.method.join("+"),
        sampling: values.sampling,
        total_worth: money_fmt(&values.total),
        amount: realized.amount,
        currency: realized.currency.clone(),
        players,
        recipients: recipients(&paid_to, &paid),
        excluded: match detail {
            Detail::Breakdown => game
                .excluded
                .iter()
                .map(|e| ExcludedContribution {
                    contribution: e.contribution.clone(),
                    actor: e.actor.clone(),
                    reason: e.reason.clone(),
                })
                .collect(),
            Detail::Figures => Vec::new(),
        },
        merged: Vec::new(),
    })
}

/// The players' Shapley values over the whole game (rules and measured part) and how they
/// were found.
struct ShapleyValues {
    /// One per player.
    phi: Vec<BigRational>,
    /// v(N) of the whole game.
    total: BigRational,
    /// The solvers used, in order.
    method: Vec<&'static str>,
    /// Present when the measured game was sampled.
    sampling: Option<SamplingReport>,
    /// The measured part's values, one per member of the measured game (empty without one).
    measured: Vec<BigRational>,
}

fn shapley_values(policy: &Policy, game: &PolicyGame, seed: u64) -> Result<ShapleyValues> {
    let mut values = solve_rules(game)?;
    if let Some((mg, members)) = &game.measured {
        let request = Request {
            method: Method::Auto,
            exact_limit: policy.solver.exact_limit,
            sampling: SamplingConfig {
                seed,
                samples: policy.solver.samples,
                target_half_width: policy.solver.target_error,
                confidence: policy.solver.confidence,
                antithetic: None,
            },
            ..Request::default()
        };
        let grand =
            crate::shapley::game::bitset(members.len(), &(0..members.len()).collect::<Vec<_>>());
        let worth_n = crate::shapley::game::Game::worth(mg, &grand);
        let solution = solve(mg, &request)?;
        values.method.push(solution.method.as_str());
        values.measured = match solution.values {
            Values::Exact(v) => v,
            Values::Sampled(est) => {
                let (v, report) = sampled_values(&est, &worth_n);
                values.sampling = Some(report);
                v
            }
        };
        for (l, &p) in members.iter().enumerate() {
            values.phi[p] += &values.measured[l];
        }
        values.total += worth_n;
    }
    Ok(values)
}

/// The rules part's Shapley values, solved in closed form, with their sum as `total`.
fn solve_rules(game: &PolicyGame) -> Result<ShapleyValues> {
    let mut phi = vec![BigRational::zero(); game.players.len()];
    let mut method = Vec::new();
    if let Some(rules) = &game.rules {
        let solution = solve(rules, &Request::default())?;
        method.push(solution.method.as_str());
        match solution.values {
            Values::Exact(v) => {
                // The engine solved the game scaled by `rules_scale` (integer worths).
                phi = v
                    .into_iter()
                    .map(|x| {
                        let (numer, denom) = x.into_raw();
                        ratio(numer, denom * &game.rules_scale)
                    })
                    .collect();
            }
            Values::Sampled(_) => {
                return Err(PolicyError::Input(
                    "internal: the rules game was sampled instead of solved in closed form".into(),
                ));
            }
        }
    }
    Ok(ShapleyValues {
        // v(N) of the rules part = the sum of its exact Shapley values (efficiency).
        total: rational::sum(&phi),
        phi,
        method,
        sampling: None,
        measured: Vec::new(),
    })
}

/// Sampled estimates (floats) as exact values: taken exactly as they are, then the gap to
/// `worth_n` shared equally so the measured part stays efficient; and the sampling report.
fn sampled_values(est: &Estimate, worth_n: &BigRational) -> (Vec<BigRational>, SamplingReport) {
    let mut v: Vec<BigRational> = est
        .values
        .iter()
        .map(|&x| BigRational::from_f64(x).unwrap_or_else(BigRational::zero))
        .collect();
    let gap = (worth_n - v.iter().sum::<BigRational>()) / BigRational::from_integer(v.len().into());
    v.iter_mut().for_each(|x| *x += &gap);
    let bound = est
        .ci
        .iter()
        .zip(&est.values)
        .map(|((lo, hi), x)| (hi - x).max(x - lo))
        .fold(0.0f64, f64::max);
    let report = SamplingReport {
        seed: est.seed,
        samples: est.samples,
        error_bound: format!("{bound:e}"),
        confidence: format!("{}", est.confidence),
    };
    (v, report)
}

/// Who receives each player's payout: the player, or an AI player's operator when the
/// policy pays AI shares to operators.
fn paid_to(policy: &Policy, game: &PolicyGame) -> Result<Vec<String>> {
    game.players
        .iter()
        .map(|p| {
            if policy.payout.ai_to_operator && p.kind == ActorKind::Ai {
                p.operator.clone().ok_or_else(|| {
                    PolicyError::Input(format!(
                        "AI actor {:?} has no operator to receive its payout",
                        p.actor
                    ))
                })
            } else {
                Ok(p.actor.clone())
            }
        })
        .collect()
}

/// The money per recipient, sorted by actor id.
fn recipients(paid_to: &[String], paid: &[Decimal]) -> Vec<Recipient> {
    let mut recipients: BTreeMap<&str, Decimal> = BTreeMap::new();
    for (to, money) in paid_to.iter().zip(paid) {
        *recipients.entry(to.as_str()).or_default() += *money;
    }
    recipients
        .into_iter()
        .map(|(actor, amount)| Recipient {
            actor: actor.to_string(),
            amount,
        })
        .collect()
}

/// Per player, the attributions of its Shapley value, rule by rule (MC-nets) and one line
/// for the measured game.
fn breakdown(
    policy: &Policy,
    game: &PolicyGame,
    measured_phi: &[BigRational],
) -> Vec<Vec<Attribution>> {
    let mut counts = vec![0usize; game.players.len()];
    for &p in &game.part_players {
        counts[p as usize] += 1;
    }
    let mut out: Vec<Vec<Attribution>> = counts.into_iter().map(Vec::with_capacity).collect();
    let ids: Vec<Arc<str>> = game
        .contributions
        .iter()
        .map(|c| Arc::from(c.as_str()))
        .collect();
    let names: Vec<Arc<str>> = policy
        .synergies
        .iter()
        .map(|s| Arc::from(s.name.as_str()))
        .collect();
    game.for_each_attribution(|player, part, value| {
        let s = game.parts[part].source;
        let id = |k: Option<u32>| k.map(|k| ids[k as usize].clone());
        out[player].push(Attribution {
            feature: s.feature.as_str(),
            role: s.role.as_str(),
            contribution: id(s.contribution),
            via: id(s.via),
            synergy: s.synergy.map(|k| names[k as usize].clone()),
            value: value.clone(),
        });
    });
    if let Some((_, members)) = &game.measured {
        for (l, &p) in members.iter().enumerate() {
            out[p].push(Attribution {
                feature: "measured",
                role: "member",
                contribution: None,
                via: None,
                synergy: None,
                value: Exact::from_ratio(measured_phi[l].clone()),
            });
        }
    }
    out
}
