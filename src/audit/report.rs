//! The manipulation report of one allocation (docs/POLICIES.md, "Manipulation report"):
//! split gain per affiliate group, policy shopping across the project's admitted policies,
//! and self-dealing flags. Pure and deterministic: every figure is an allocation recomputed
//! from the same inputs as the recorded one, so anyone holding the log gets the same report.
//! It shows only what the log gives evidence of: affiliations nobody declared or found are
//! invisible to it.

use crate::allocation::{self, fairplay::AffiliationRecord};
use crate::entry::{EntryId, SignedEntry};
use crate::policy::{self, ActorKind, Detail, MergedGroup, Rulings};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the report is computed from: the recorded allocation's own inputs, and the log's
/// other evidence.
pub struct ReportInputs<'a> {
    pub value_id: &'a EntryId,
    /// The `value.realized` entry; its signer is the realizing platform.
    pub value: &'a SignedEntry,
    /// `blake3:` hash of the policy the value was realized under.
    pub chosen: &'a str,
    /// Every policy the project admits, as (`blake3:` hash, text), in the project's order.
    pub admitted: &'a [(String, String)],
    pub inputs: &'a policy::Inputs,
    pub rulings: &'a Rulings,
    /// Affiliations logged before the value entry.
    pub affiliations: &'a [AffiliationRecord],
    /// Who signed each measurement, by sequence number.
    pub measurement_signers: &'a HashMap<u64, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub value_entry: String,
    pub realizer: String,
    /// Affiliate groups (connected by declared or recorded affiliations), each with what
    /// appearing as several players gained it.
    pub split_gain: Vec<SplitGain>,
    pub policy_shopping: PolicyShopping,
    pub self_dealing: Vec<SelfDealing>,
    /// Whether anything above is flagged.
    pub flagged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitGain {
    /// The group's members, sorted.
    pub members: Vec<String>,
    /// What the group's members receive in the allocation.
    pub apart: Decimal,
    /// What they would receive as one player.
    pub merged: Decimal,
    /// `apart - merged` (negative: splitting cost them).
    pub gain: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyShopping {
    /// The realizer and its affiliates, sorted.
    pub beneficiaries: Vec<String>,
    /// What they receive under each admitted policy.
    pub policies: Vec<PolicyPayout>,
    /// The chosen policy pays them the most of several admitted policies that pay
    /// differently.
    pub flagged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyPayout {
    pub policy: String,
    pub chosen: bool,
    /// What the beneficiaries receive; absent when the policy cannot allocate the inputs.
    pub amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelfDealing {
    /// `curator_affiliated_with_operator`, `affiliate_endorsement` or `self_measured`.
    pub flag: &'static str,
    /// Sequence number of the entry flagged.
    pub seq: u64,
    /// Who signed it.
    pub actor: String,
    /// The other party: the endorsed contribution's author, or the measured coalition.
    pub with: Vec<String>,
}

/// The report of the allocation of `inputs.value`.
pub fn report(r: &ReportInputs<'_>) -> Report {
    let groups = affiliate_groups(r.affiliations);
    let group_of = |actor: &str| groups.iter().position(|g| g.members.contains(actor));
    let realizer = r.value.envelope.actor.to_string();
    let chosen_text = r
        .admitted
        .iter()
        .find(|(hash, _)| hash == r.chosen)
        .map(|(_, text)| text.as_str());
    let chosen = chosen_text.and_then(|text| allocate(r, text, r.rulings).ok());

    let split_gain = match (&chosen, chosen_text) {
        (Some(base), Some(text)) => groups
            .iter()
            .map(|g| split_gain(r, text, base, g))
            .collect(),
        _ => Vec::new(),
    };
    let beneficiaries: BTreeSet<String> = match group_of(&realizer) {
        Some(g) => groups[g].members.clone(),
        None => BTreeSet::from([realizer.clone()]),
    };
    let policy_shopping = policy_shopping(r, &beneficiaries);
    let self_dealing = self_dealing(r, &group_of);
    let flagged = policy_shopping.flagged
        || !self_dealing.is_empty()
        || split_gain.iter().any(|g| g.gain > Decimal::ZERO);
    Report {
        value_entry: r.value_id.to_string(),
        realizer,
        split_gain,
        policy_shopping,
        self_dealing,
        flagged,
    }
}

fn allocate(
    r: &ReportInputs<'_>,
    text: &str,
    rulings: &Rulings,
) -> Result<policy::Allocation, String> {
    allocation::allocate(
        r.value_id,
        r.value,
        text,
        r.inputs,
        rulings,
        Detail::Figures,
    )
}

/// What `actors` receive in `allocation`.
fn received(allocation: &policy::Allocation, actors: &BTreeSet<String>) -> Decimal {
    allocation
        .recipients
        .iter()
        .filter(|p| actors.contains(&p.actor))
        .map(|p| p.amount)
        .sum()
}

/// An affiliate group: a connected component of the affiliation graph.
struct Group {
    /// Its members.
    members: BTreeSet<String>,
    /// The principal of its earliest affiliation: who would stand for the group.
    principal: String,
}

/// The affiliate groups, in the order of their first affiliation.
fn affiliate_groups(affiliations: &[AffiliationRecord]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for a in affiliations {
        let touching: Vec<usize> = (0..groups.len())
            .filter(|&g| {
                groups[g].members.contains(&a.affiliate) || groups[g].members.contains(&a.principal)
            })
            .collect();
        let mut joined = Group {
            members: BTreeSet::from([a.affiliate.clone(), a.principal.clone()]),
            principal: a.principal.clone(),
        };
        // Joined groups keep the earliest one's principal and place.
        for &g in touching.iter().rev() {
            let earlier = groups.remove(g);
            joined.members.extend(earlier.members);
            joined.principal = earlier.principal;
        }
        let at = touching.first().copied().unwrap_or(groups.len());
        groups.insert(at, joined);
    }
    groups
}

/// The group played as one player, its principal standing for it when the inputs name the
/// principal (an AI's operator, say), else its first member that plays; against the
/// allocation as made.
fn split_gain(
    r: &ReportInputs<'_>,
    text: &str,
    base: &policy::Allocation,
    group: &Group,
) -> SplitGain {
    let apart = received(base, &group.members);
    let members: Vec<String> = group.members.iter().cloned().collect();
    let named = |id: &str| r.inputs.actors.iter().find(|a| a.id == id).cloned();
    let player = named(&group.principal).or_else(|| {
        base.players
            .iter()
            .find(|p| group.members.contains(&p.actor))
            .and_then(|p| named(&p.actor))
    });
    let merged = match player {
        Some(player) => {
            let mut rulings = r.rulings.clone();
            // The whole payout to the standing player: the group's total is what counts.
            let lead = player.id.clone();
            rulings.merge(MergedGroup {
                ruling: "report".into(),
                members: std::iter::once((lead.clone(), Decimal::ONE))
                    .chain(
                        members
                            .iter()
                            .filter(|m| **m != lead)
                            .map(|m| (m.clone(), Decimal::ZERO)),
                    )
                    .collect(),
                player,
            });
            allocate(r, text, &rulings).map_or(apart, |a| received(&a, &group.members))
        }
        None => apart,
    };
    SplitGain {
        members,
        apart,
        merged,
        gain: apart - merged,
    }
}

fn policy_shopping(r: &ReportInputs<'_>, beneficiaries: &BTreeSet<String>) -> PolicyShopping {
    let policies: Vec<PolicyPayout> = r
        .admitted
        .iter()
        .map(|(hash, text)| {
            let outcome = allocate(r, text, r.rulings);
            PolicyPayout {
                policy: hash.clone(),
                chosen: hash == r.chosen,
                amount: outcome.as_ref().ok().map(|a| received(a, beneficiaries)),
                failed: outcome.err(),
            }
        })
        .collect();
    let amounts: Vec<Decimal> = policies.iter().filter_map(|p| p.amount).collect();
    let chosen = policies.iter().find(|p| p.chosen).and_then(|p| p.amount);
    let flagged = match (chosen, amounts.iter().max(), amounts.iter().min()) {
        (Some(chosen), Some(&most), Some(&least)) => chosen == most && most > least,
        _ => false,
    };
    PolicyShopping {
        beneficiaries: beneficiaries.iter().cloned().collect(),
        policies,
        flagged,
    }
}

/// Endorsements of an AI's drafts by curators affiliated with its operator (or the AI),
/// endorsements between affiliates, and measurements signed by a member of the measured
/// coalition or an affiliate of one.
fn self_dealing(
    r: &ReportInputs<'_>,
    group_of: &dyn Fn(&str) -> Option<usize>,
) -> Vec<SelfDealing> {
    let related = |a: &str, b: &str| a == b || group_of(a).is_some_and(|g| group_of(b) == Some(g));
    let actors: HashMap<&str, &policy::Actor> =
        r.inputs.actors.iter().map(|a| (a.id.as_str(), a)).collect();
    let authors: BTreeMap<&str, &str> = r
        .inputs
        .contributions
        .iter()
        .map(|c| (c.id.as_str(), c.actor.as_str()))
        .collect();
    let mut flags = Vec::new();
    let counted = |seq: &u64| !r.rulings.excluded.contains_key(seq);
    for e in r
        .inputs
        .endorsements
        .iter()
        .filter(|e| e.accept && counted(&e.seq))
    {
        let Some(&author) = authors.get(e.contribution.as_str()) else {
            continue;
        };
        let operator = actors
            .get(author)
            .filter(|a| a.kind == ActorKind::Ai)
            .and_then(|a| a.operator.as_deref());
        let flag = if operator.is_some_and(|op| related(&e.endorser, op)) {
            "curator_affiliated_with_operator"
        } else if related(&e.endorser, author) {
            "affiliate_endorsement"
        } else {
            continue;
        };
        flags.push(SelfDealing {
            flag,
            seq: e.seq,
            actor: e.endorser.clone(),
            with: vec![author.to_owned()],
        });
    }
    for m in r
        .inputs
        .measured
        .iter()
        .filter(|m| !r.rulings.voided.contains_key(&m.seq))
    {
        let Some(signer) = r.measurement_signers.get(&m.seq) else {
            continue;
        };
        if m.members.iter().any(|member| related(signer, member)) {
            flags.push(SelfDealing {
                flag: "self_measured",
                seq: m.seq,
                actor: signer.clone(),
                with: m.members.clone(),
            });
        }
    }
    flags
}
