//! Rulings' effects on an allocation (docs/POLICIES.md, "Rulings"): contributions and
//! endorsements excluded, measurements voided, groups of actors merged into one player
//! whose payout is split among them as the ruling says. The allocation step gathers the
//! effects of the rulings logged before the value entry; they reach the policy as plain
//! records, like the other inputs, so the offline verifier reproduces them.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use num_rational::BigRational;
use rust_decimal::Decimal;
use serde::Serialize;

use super::allocate::{Allocation, ExcludedContribution, Recipient};
use super::error::{PolicyError, Result};
use super::input::{Actor, Inputs, Realized};
use crate::shapley::money::{decimal_to_ratio, payouts};

/// The effects in force for one allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rulings {
    /// Sequence numbers of the contributions and endorsements that no longer count, each
    /// with the id of the ruling that excluded it.
    pub excluded: BTreeMap<u64, String>,
    /// Sequence numbers of the measurements that no longer count, with the ruling's id.
    pub voided: BTreeMap<u64, String>,
    /// Groups played as one player; no actor is in two groups.
    pub merged: Vec<MergedGroup>,
}

/// Actors treated as one player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedGroup {
    /// Entry id of the ruling.
    pub ruling: String,
    /// The player standing for the group: the ruling's first member, with its kind.
    pub player: Actor,
    /// Every member (the player first) and its share of the player's payout (adding to 1).
    pub members: Vec<(String, Decimal)>,
}

/// How a merged player's payout was split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergedPayout {
    /// The player standing for the group.
    pub player: String,
    /// Entry id of the ruling.
    pub ruling: String,
    /// Each member's part, in the ruling's order.
    pub members: Vec<Recipient>,
}

impl Rulings {
    pub fn is_empty(&self) -> bool {
        self.excluded.is_empty() && self.voided.is_empty() && self.merged.is_empty()
    }

    /// Adds a merge; an earlier group sharing a member with it is replaced (the later
    /// ruling decides).
    pub fn merge(&mut self, group: MergedGroup) {
        self.merged.retain(|g| {
            !g.members
                .iter()
                .any(|(a, _)| group.members.iter().any(|(b, _)| a == b))
        });
        self.merged.push(group);
    }

    /// The group player standing for each merged actor.
    fn player_of(&self) -> HashMap<&str, &Actor> {
        self.merged
            .iter()
            .flat_map(|g| g.members.iter().map(move |(a, _)| (a.as_str(), &g.player)))
            .collect()
    }
}

/// `inputs` with the effects applied: excluded and voided records dropped, merged actors
/// renamed to their group's player. A measured coalition counts only if it names all of a
/// group or none of it (the merged player is never measured in part): with the whole group
/// it names the player once. Borrowed unchanged when there is nothing to apply.
pub fn apply<'a>(inputs: &'a Inputs, rulings: &Rulings) -> Cow<'a, Inputs> {
    if rulings.is_empty() {
        return Cow::Borrowed(inputs);
    }
    let player_of = rulings.player_of();
    let rename = |id: &str| player_of.get(id).map_or(id, |p| p.id.as_str()).to_owned();
    let mut actors: Vec<Actor> = Vec::with_capacity(inputs.actors.len());
    for actor in &inputs.actors {
        let actor = player_of.get(actor.id.as_str()).copied().unwrap_or(actor);
        if !actors.iter().any(|a| a.id == actor.id) {
            actors.push(actor.clone());
        }
    }
    let contributions = inputs
        .contributions
        .iter()
        .filter(|c| !rulings.excluded.contains_key(&c.seq))
        .map(|c| {
            let mut c = c.clone();
            c.actor = rename(&c.actor);
            c
        })
        .collect();
    let endorsements = inputs
        .endorsements
        .iter()
        .filter(|e| !rulings.excluded.contains_key(&e.seq))
        .map(|e| {
            let mut e = e.clone();
            e.endorser = rename(&e.endorser);
            e
        })
        .collect();
    let measured = inputs
        .measured
        .iter()
        .filter(|m| !rulings.voided.contains_key(&m.seq))
        .filter(|m| {
            rulings.merged.iter().all(|g| {
                let named = g
                    .members
                    .iter()
                    .filter(|(a, _)| m.members.contains(a))
                    .count();
                named == 0 || named == g.members.len()
            })
        })
        .map(|m| {
            let mut m = m.clone();
            let mut members: Vec<String> = Vec::with_capacity(m.members.len());
            for member in m.members.iter().map(|a| rename(a)) {
                if !members.contains(&member) {
                    members.push(member);
                }
            }
            m.members = members;
            m
        })
        .collect();
    Cow::Owned(Inputs {
        actors,
        contributions,
        endorsements,
        measured,
    })
}

/// The contributions `rulings` excluded, for an allocation's `excluded` list.
pub fn excluded_contributions(inputs: &Inputs, rulings: &Rulings) -> Vec<ExcludedContribution> {
    inputs
        .contributions
        .iter()
        .filter_map(|c| {
            rulings
                .excluded
                .get(&c.seq)
                .map(|ruling| ExcludedContribution {
                    contribution: c.id.clone(),
                    actor: c.actor.clone(),
                    reason: format!("excluded by ruling {ruling}"),
                })
        })
        .collect()
}

/// Splits each merged player's payout among its members by the ruling's shares (exact,
/// then rounded to minor units by largest remainder, so the parts add up to the payout),
/// and pays the recipients accordingly: each member receives its part itself.
pub fn split_merged(
    allocation: &mut Allocation,
    rulings: &Rulings,
    realized: &Realized,
) -> Result<()> {
    let mut recipients: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut merged = Vec::new();
    for player in &allocation.players {
        let group = rulings.merged.iter().find(|g| g.player.id == player.actor);
        let Some(group) = group else {
            *recipients.entry(player.paid_to.clone()).or_default() += player.payout;
            continue;
        };
        let payout = decimal_to_ratio(player.payout);
        let exact: Vec<BigRational> = group
            .members
            .iter()
            .map(|(_, share)| &payout * decimal_to_ratio(*share))
            .collect();
        let parts = payouts(&exact, player.payout, realized.minor_unit_scale)
            .map_err(|e| PolicyError::Payout(e.to_string()))?;
        let members: Vec<Recipient> = group
            .members
            .iter()
            .zip(parts)
            .map(|((actor, _), amount)| Recipient {
                actor: actor.clone(),
                amount,
            })
            .collect();
        for m in &members {
            *recipients.entry(m.actor.clone()).or_default() += m.amount;
        }
        merged.push(MergedPayout {
            player: player.actor.clone(),
            ruling: group.ruling.clone(),
            members,
        });
    }
    allocation.recipients = recipients
        .into_iter()
        .map(|(actor, amount)| Recipient { actor, amount })
        .collect();
    allocation.merged = merged;
    Ok(())
}
