//! Payout rules applied to exact shares of the amount: caps and floors on the total share
//! of an actor kind. (The AI-to-operator redirect happens after rounding, in `allocate`,
//! so the AI's own rounded figure stays in the record.)
//!
//! Redistribution rule (deterministic, documented in docs/POLICIES.md):
//! 1. Kinds with no player are ignored (their floors cannot be met by anyone).
//! 2. Repeat: the kinds not yet fixed share what the fixed kinds left, in proportion to
//!    their Shapley totals (by player count if those are all 0). If some free kinds then
//!    exceed their cap, fix all of them at their cap and repeat; otherwise, if some are
//!    below their floor, fix all of them at their floor and repeat; otherwise stop.
//!    When every kind present is fixed and money is left over (caps too tight for the
//!    kinds present) or over-committed (floors plus caps above the amount), the capped
//!    kinds absorb the difference in proportion to their totals: caps yield, so an
//!    allocation never fails for want of someone to pay.
//! 3. Inside each kind, its players share the kind's total in proportion to their Shapley
//!    shares (equally if the kind's Shapley total is 0).
//!    Each round fixes at least one kind, so it ends after at most one round per kind.

use std::collections::BTreeMap;

use num_rational::BigRational;
use num_traits::{Signed, Zero};

use super::error::{PolicyError, Result};
use super::file::KindLimit;
use super::input::ActorKind;
use super::money_fmt;
use crate::shapley::money::decimal_to_ratio;
use crate::shapley::rational;

/// Apply the kind limits to `shares` (exact, summing to `amount`). Returns the new shares,
/// which also sum to `amount`.
pub fn apply_kind_limits(
    shares: &[BigRational],
    kinds: &[ActorKind],
    amount: &BigRational,
    limits: &[KindLimit],
) -> Result<Vec<BigRational>> {
    if limits.is_empty() {
        return Ok(shares.to_vec());
    }
    if let Some(i) = shares.iter().position(|s| s.is_negative()) {
        return Err(PolicyError::Payout(format!(
            "player {i} has a negative share {}: caps and floors need non-negative shares",
            money_fmt(&shares[i])
        )));
    }
    let present = kind_totals(shares, kinds);
    let targets = kind_targets(&present, amount, limits);
    Ok(share_within_kinds(shares, kinds, &present, &targets))
}

/// Per kind with players (rule 1): its Shapley total and its player count.
type KindTotals = BTreeMap<ActorKind, (BigRational, usize)>;

fn kind_totals(shares: &[BigRational], kinds: &[ActorKind]) -> KindTotals {
    let mut by_kind: BTreeMap<ActorKind, Vec<&BigRational>> = BTreeMap::new();
    for (s, k) in shares.iter().zip(kinds) {
        by_kind.entry(*k).or_default().push(s);
    }
    by_kind
        .into_iter()
        .map(|(k, list)| (k, (rational::sum(list.iter().copied()), list.len())))
        .collect()
}

/// Rule 2: each kind's total once the caps and floors hold.
fn kind_targets(
    present: &KindTotals,
    amount: &BigRational,
    limits: &[KindLimit],
) -> BTreeMap<ActorKind, BigRational> {
    let bound = |k: ActorKind| -> (BigRational, BigRational) {
        let l = limits.iter().find(|l| l.kind == k);
        let lo = l
            .and_then(|l| l.min)
            .map_or_else(BigRational::zero, |m| decimal_to_ratio(m) * amount);
        let hi = l
            .and_then(|l| l.max)
            .map_or_else(|| amount.clone(), |m| decimal_to_ratio(m) * amount);
        (lo, hi)
    };
    let mut fixed: BTreeMap<ActorKind, BigRational> = BTreeMap::new();
    let mut capped: Vec<ActorKind> = Vec::new();
    loop {
        let left: BigRational = amount - fixed.values().sum::<BigRational>();
        let free: Vec<ActorKind> = present
            .keys()
            .filter(|k| !fixed.contains_key(k))
            .copied()
            .collect();
        if free.is_empty() {
            // Every kind present is at a bound and money is left over (or over-committed):
            // caps yield, since nobody else can take it.
            let yielding = if capped.is_empty() {
                present.keys().copied().collect()
            } else {
                capped.clone()
            };
            spread(&mut fixed, &yielding, &left, present);
            return fixed;
        }
        let proposal = proportional(&free, &left, present);
        let over: Vec<(ActorKind, BigRational)> = proposal
            .iter()
            .filter_map(|(k, t)| {
                let hi = bound(*k).1;
                (*t > hi).then_some((*k, hi))
            })
            .collect();
        let under: Vec<(ActorKind, BigRational)> = proposal
            .iter()
            .filter_map(|(k, t)| {
                let lo = bound(*k).0;
                (*t < lo).then_some((*k, lo))
            })
            .collect();
        let fix = if !over.is_empty() {
            capped.extend(over.iter().map(|(k, _)| *k));
            over
        } else {
            under
        };
        if fix.is_empty() {
            let mut all = fixed.clone();
            all.extend(proposal);
            return all;
        }
        fixed.extend(fix);
    }
}

/// `left` shared among the `free` kinds in proportion to their Shapley totals, or to their
/// player counts if those are all 0.
fn proportional(
    free: &[ActorKind],
    left: &BigRational,
    present: &KindTotals,
) -> BTreeMap<ActorKind, BigRational> {
    let total: BigRational = free.iter().map(|k| &present[k].0).sum();
    let count: usize = free.iter().map(|k| present[k].1).sum();
    free.iter()
        .map(|k| {
            let t = if total.is_zero() {
                left * BigRational::from_integer(present[k].1.into())
                    / BigRational::from_integer(count.into())
            } else {
                left * &present[k].0 / &total
            };
            (*k, t)
        })
        .collect()
}

/// Rule 3: each kind's target shared among its players in proportion to their shares, or
/// equally if the kind's Shapley total is 0.
fn share_within_kinds(
    shares: &[BigRational],
    kinds: &[ActorKind],
    present: &KindTotals,
    targets: &BTreeMap<ActorKind, BigRational>,
) -> Vec<BigRational> {
    // One factor per kind: players of a kind left as it was keep their exact share.
    let factor: BTreeMap<ActorKind, Option<BigRational>> = present
        .iter()
        .map(|(k, (total, count))| {
            let target = &targets[k];
            let f = if total.is_zero() {
                Some(target / BigRational::from_integer((*count).into()))
            } else if target == total {
                None
            } else {
                Some(target / total)
            };
            (*k, f)
        })
        .collect();
    shares
        .iter()
        .zip(kinds)
        .map(|(s, k)| match &factor[k] {
            None => s.clone(),
            // A kind whose Shapley total is 0 shares its target equally.
            Some(f) if present[k].0.is_zero() => f.clone(),
            Some(f) => rational::times(s, f),
        })
        .collect()
}

/// Add `left` to the targets of `kinds`: in proportion to their targets, else to their
/// Shapley totals, else to their player counts.
fn spread(
    targets: &mut BTreeMap<ActorKind, BigRational>,
    kinds: &[ActorKind],
    left: &BigRational,
    present: &KindTotals,
) {
    if left.is_zero() {
        return;
    }
    let by_target: Vec<BigRational> = kinds.iter().map(|k| targets[k].clone()).collect();
    let by_total: Vec<BigRational> = kinds.iter().map(|k| present[k].0.clone()).collect();
    let by_count: Vec<BigRational> = kinds
        .iter()
        .map(|k| BigRational::from_integer(present[k].1.into()))
        .collect();
    let weights = [by_target, by_total, by_count]
        .into_iter()
        .find(|w| !w.iter().sum::<BigRational>().is_zero())
        .unwrap_or_default();
    let sum: BigRational = weights.iter().sum();
    for (k, w) in kinds.iter().zip(&weights) {
        if let Some(t) = targets.get_mut(k) {
            *t += left * w / &sum;
        }
    }
}
