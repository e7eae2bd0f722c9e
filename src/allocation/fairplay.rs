//! The fair-play entries of a log (affiliations, disputes, rulings) as the allocation and
//! the report read them: followed in log order, then asked for what holds before a value
//! entry. The allocator fills it from the store, the offline verifier while replaying; both
//! then ask [`FairPlay::rulings_before`], so they hand the policy identical effects.

use crate::entry::body::Body;
use crate::entry::fairplay::{Relation, RulingEffect};
use crate::entry::record::ActorRecord;
use crate::entry::{ActorId, EntryId, EntryType, SignedEntry};
use crate::policy::{self, MergedGroup, Rulings};
use std::collections::HashMap;

/// Where the log holds a disputed entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub seq: u64,
    pub entry_type: EntryType,
}

/// One `affiliation` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffiliationRecord {
    pub seq: u64,
    /// Who signed it: the affiliate (a declaration) or a regulator (a finding).
    pub signer: String,
    pub affiliate: String,
    pub relation: Relation,
    pub principal: String,
}

/// A ruling as kept: its position, id, the dispute it decides and its effect.
#[derive(Debug, Clone)]
struct KeptRuling {
    seq: u64,
    id: EntryId,
    dispute: EntryId,
    effect: RulingEffect,
}

/// What the log's fair-play entries said so far.
#[derive(Debug, Clone, Default)]
pub struct FairPlay {
    affiliations: Vec<AffiliationRecord>,
    /// Each dispute's target, where the log holds it.
    disputes: HashMap<EntryId, Option<Target>>,
    rulings: Vec<KeptRuling>,
}

impl FairPlay {
    /// Takes entry `seq` into account if it is a fair-play entry; `target` is where the log
    /// holds a dispute's target (ignored for other entries).
    pub fn follow(&mut self, seq: u64, id: EntryId, entry: &SignedEntry, target: Option<Target>) {
        match &entry.envelope.body {
            Body::Affiliation(a) => self.affiliations.push(AffiliationRecord {
                seq,
                signer: entry.envelope.actor.to_string(),
                affiliate: a.affiliate.to_string(),
                relation: a.relation,
                principal: a.principal.to_string(),
            }),
            Body::Dispute(_) => {
                self.disputes.insert(id, target);
            }
            Body::Ruling(r) => self.rulings.push(KeptRuling {
                seq,
                id,
                dispute: r.dispute,
                effect: r.effect.clone(),
            }),
            _ => {}
        }
    }

    /// The actors the affiliations and merge rulings name (whose kinds a reader loads).
    pub fn named_actors(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .affiliations
            .iter()
            .flat_map(|a| [a.affiliate.clone(), a.principal.clone()])
            .collect();
        for r in &self.rulings {
            if let RulingEffect::Merge(members) = &r.effect {
                names.extend(members.iter().map(|m| m.actor.to_string()));
            }
        }
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The affiliations logged before `before_seq`, in log order.
    pub fn affiliations_before(&self, before_seq: u64) -> Vec<AffiliationRecord> {
        self.affiliations
            .iter()
            .filter(|a| a.seq < before_seq)
            .cloned()
            .collect()
    }

    /// The effects in force for a value entry at `before_seq`: of each dispute, its latest
    /// ruling logged before it, taken in log order. An effect applies only to the entry
    /// types it names (exclude: a contribution or an endorsement; void: a measurement);
    /// a merge names registered actors, the first standing for the group.
    pub fn rulings_before(
        &self,
        before_seq: u64,
        registry: &HashMap<ActorId, ActorRecord>,
    ) -> Rulings {
        let mut latest: HashMap<EntryId, &KeptRuling> = HashMap::new();
        for r in self.rulings.iter().filter(|r| r.seq < before_seq) {
            latest.insert(r.dispute, r);
        }
        let mut in_force: Vec<&KeptRuling> = latest.into_values().collect();
        in_force.sort_by_key(|r| r.seq);
        let mut rulings = Rulings::default();
        for r in in_force {
            let target = self.disputes.get(&r.dispute).copied().flatten();
            let ruling = r.id.to_string();
            match (&r.effect, target) {
                (RulingEffect::Exclude, Some(t))
                    if matches!(
                        t.entry_type,
                        EntryType::Contribution | EntryType::Endorsement
                    ) =>
                {
                    rulings.excluded.insert(t.seq, ruling);
                }
                (RulingEffect::Void, Some(t)) if t.entry_type == EntryType::CoalitionMeasured => {
                    rulings.voided.insert(t.seq, ruling);
                }
                (RulingEffect::Merge(members), _) => {
                    let Some((lead, record)) = members
                        .first()
                        .and_then(|m| registry.get_key_value(&m.actor))
                    else {
                        continue;
                    };
                    rulings.merge(MergedGroup {
                        ruling,
                        player: policy::Actor {
                            id: lead.to_string(),
                            kind: record.kind,
                            operator: record.operator.as_ref().map(ToString::to_string),
                        },
                        members: members
                            .iter()
                            .map(|m| (m.actor.to_string(), m.share))
                            .collect(),
                    });
                }
                _ => {}
            }
        }
        rulings
    }
}
