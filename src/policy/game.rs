//! Game construction: a policy and a project's contributions -> MC-nets rules (solved in
//! closed form, linear in the rules) plus, when the policy uses them, a measured-coalition
//! game (the only exponential part). Every rule keeps its provenance, so each player's
//! Shapley value splits exactly into the contributions and policy features behind it.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Zero};
use rayon::prelude::*;
use rust_decimal::Decimal;

use super::error::{PolicyError, Result};
use super::exact::Exact;
use super::file::{Policy, SynergyTrigger, Unlisted};
use super::input::{ActorKind, Inputs};
use super::measured::MeasuredGame;
use crate::shapley::mcnets::{McNets, Rule};
use crate::shapley::money::decimal_to_ratio;

/// How much an allocation explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The figures only (the `breakdown` and `excluded` lists stay empty): what an
    /// allocation entry records. A large project has millions of attributions, the bulk of
    /// the work and memory.
    Figures,
    /// The figures, each player's breakdown, and the contributions that did not count.
    Breakdown,
}

/// A player of the game: an actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Player {
    /// Actor id.
    pub actor: String,
    /// Actor kind.
    pub kind: ActorKind,
    /// The operator of an AI actor.
    pub operator: Option<String>,
}

/// Which policy feature produced a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Feature {
    /// A contribution's own worth, weight × quantity (after lineage royalties left it).
    Proportional,
    /// A royalty: part of a later contribution's worth reaching one it builds on.
    Lineage,
    /// Emergent value of a synergy rule.
    Synergy,
}

impl Feature {
    /// Name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Proportional => "proportional",
            Feature::Lineage => "lineage",
            Feature::Synergy => "synergy",
        }
    }
}

/// The role in which the rule's players earn it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The author of a contribution that needs no endorsement.
    Author,
    /// The model's side of an endorsed contribution (curation).
    Model,
    /// The accepting curators of an endorsed contribution, jointly.
    Curators,
    /// The team members of a synergy rule, jointly.
    Team,
}

impl Role {
    /// Name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Author => "author",
            Role::Model => "model",
            Role::Curators => "curators",
            Role::Team => "team",
        }
    }
}

/// Provenance of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The feature.
    pub feature: Feature,
    /// The role of the rule's players.
    pub role: Role,
    /// The contribution whose worth the rule carries (index into `PolicyGame::contributions`);
    /// `None` for actor synergies.
    pub contribution: Option<u32>,
    /// For lineage: the earlier contribution through which the players receive it.
    pub via: Option<u32>,
    /// For synergy: the index of the rule in the policy's `synergy` list.
    pub synergy: Option<u32>,
}

/// One rule of the game before merging: worth `value` when every one of its players takes
/// part; each of them gets exactly `value / count` of Shapley value from it. Its players
/// are `PolicyGame::part_players[first..first + count]` (one flat list: a game has
/// hundreds of thousands of parts, mostly of one player).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Start of its players in `PolicyGame::part_players`.
    pub first: usize,
    /// Number of players (>= 1).
    pub count: usize,
    /// The worth.
    pub value: Exact,
    /// Where it comes from.
    pub source: Source,
}

/// A contribution that does not count, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    /// Entry id.
    pub contribution: String,
    /// Its author.
    pub actor: String,
    /// Why.
    pub reason: String,
}

/// The game a policy builds from a project's inputs.
#[derive(Debug, Clone)]
pub struct PolicyGame {
    /// Players, sorted by actor id (the order of every per-player list).
    pub players: Vec<Player>,
    /// Entry ids of the inputs' contributions in log order (`Source` indexes them).
    pub contributions: Vec<String>,
    /// The rules with their provenance, one per (source, set of players).
    pub parts: Vec<Part>,
    /// The players of every part (sorted within a part), see [`Part`].
    pub part_players: Vec<u32>,
    /// The MC-nets game handed to the engine: the parts merged by set of players (the
    /// Shapley value is linear, so merging changes nothing but the work), every worth
    /// multiplied by `rules_scale` so that it is an integer when that fits (the engine's
    /// fastest path). `None` when no part has a non-zero worth.
    pub rules: Option<McNets>,
    /// The factor applied to the worths of `rules` (1 when they are kept as fractions).
    pub rules_scale: BigInt,
    /// The measured part and, for each of its players, the index in `players`.
    pub measured: Option<(MeasuredGame, Vec<usize>)>,
    /// Contributions that do not count.
    pub excluded: Vec<Excluded>,
}

/// Owners of a counted contribution: who receives its worth, and in which proportions.
#[derive(Debug, Clone)]
enum Owners {
    Author(usize),
    Curated { model: usize, curators: Vec<usize> },
}

impl Owners {
    fn actors(&self) -> impl Iterator<Item = usize> + '_ {
        let (first, rest): (usize, &[usize]) = match self {
            Owners::Author(a) => (*a, &[]),
            Owners::Curated { model, curators } => (*model, curators),
        };
        std::iter::once(first).chain(rest.iter().copied())
    }
}

struct Counted {
    /// Index into the log-ordered contributions.
    contribution: usize,
    /// Weight × quantity, made exact once: the lineage flow and every synergy read it.
    worth: Exact,
    owners: Owners,
    parents: Vec<usize>,
}

/// Renumbers `players` from actor to player indices (`player_of`) and sorts each of
/// `sets` (ranges of `players`) so that equal sets meet.
fn number_sets(
    players: &mut [u32],
    sets: impl Iterator<Item = std::ops::Range<usize>>,
    player_of: &[usize],
) {
    for a in players.iter_mut() {
        *a = compact(player_of[*a as usize]);
    }
    for set in sets {
        players[set].sort_unstable();
    }
}

/// Worths summed by set of players: set `k` is `players[sets[k].0..][..sets[k].1]` and is
/// worth `values[k]`. What a chunk of parts leaves when only the figures are asked for.
struct SetSums {
    players: Vec<u32>,
    sets: Vec<(u32, u32)>,
    values: Vec<Exact>,
}

impl SetSums {
    /// Actor indices to player indices (`player_of`), each set's players then sorted.
    fn number(&mut self, player_of: &[usize]) {
        let sets = self
            .sets
            .iter()
            .map(|&(first, count)| first as usize..(first + count) as usize);
        number_sets(&mut self.players, sets, player_of);
    }

    fn items(&self) -> impl Iterator<Item = (&[u32], &Exact)> + Clone {
        self.sets
            .iter()
            .zip(&self.values)
            .map(|(&(first, count), v)| {
                (&self.players[first as usize..(first + count) as usize], v)
            })
    }
}

/// Rules over actor indices, before players are numbered.
#[derive(Default)]
struct Draft {
    parts: Vec<Part>,
    /// Actor indices while drafting, player indices once numbered.
    players: Vec<u32>,
}

impl Draft {
    /// The drafts one after the other, in vectors of their exact size: growing them by
    /// doubling touched (and zeroed) twice the memory, a large part of a big allocation's
    /// time. Each draft is freed once copied.
    fn concat(drafts: Vec<Draft>) -> Draft {
        let mut all = Draft {
            parts: Vec::with_capacity(drafts.iter().map(|d| d.parts.len()).sum()),
            players: Vec::with_capacity(drafts.iter().map(|d| d.players.len()).sum()),
        };
        for draft in drafts {
            let offset = all.players.len();
            all.players.extend(draft.players);
            all.parts.extend(draft.parts.into_iter().map(|p| Part {
                first: p.first + offset,
                ..p
            }));
        }
        all
    }

    /// Actor indices to player indices (`player_of`), each part's players then sorted.
    fn number(&mut self, player_of: &[usize]) {
        let sets = self.parts.iter().map(|p| p.first..p.first + p.count);
        number_sets(&mut self.players, sets, player_of);
    }

    fn items(&self) -> impl Iterator<Item = (&[u32], &Exact)> + Clone {
        self.parts
            .iter()
            .map(|p| (&self.players[p.first..p.first + p.count], &p.value))
    }

    fn clear(&mut self) {
        self.parts.clear();
        self.players.clear();
    }

    /// The parts' worths summed by set of players, sets in actor indices below `actors`
    /// (each part's players sorted in place so that equal sets meet).
    fn sum_by_set(&mut self, actors: usize) -> SetSums {
        for part in &self.parts {
            self.players[part.first..part.first + part.count].sort_unstable();
        }
        let (sets, sums) = sum_by_set(self.items(), self.parts.len(), actors);
        let values = match sums {
            Sums::Scaled(sums, common) => sums
                .into_iter()
                .map(|s| Exact::reduced(s, common))
                .collect(),
            Sums::Exact(values) => values,
        };
        let mut out = SetSums {
            players: Vec::with_capacity(sets.iter().map(|s| s.len()).sum()),
            sets: Vec::with_capacity(sets.len()),
            values,
        };
        for set in sets {
            out.sets
                .push((compact(out.players.len()), compact(set.len())));
            out.players.extend_from_slice(set);
        }
        out
    }

    /// The worth of counted contribution `k`, kept by its owners or passed along
    /// `builds_on` as lineage royalties.
    fn flows(
        &mut self,
        k: usize,
        counted: &[Counted],
        lineage: Option<&(Exact, u32)>,
        curator_share: &Exact,
        stack: &mut Vec<(usize, Exact, u32)>,
    ) {
        let c = &counted[k];
        if c.worth.is_zero() {
            return;
        }
        let origin = Some(compact(c.contribution));
        stack.push((k, c.worth.clone(), lineage.map_or(0, |l| l.1)));
        while let Some((x, amount, depth_left)) = stack.pop() {
            let node = &counted[x];
            let (keep, passes) = match lineage {
                Some((share, _)) if depth_left > 0 && !node.parents.is_empty() => {
                    let passed = amount.mul(share);
                    (amount.sub(&passed), Some(passed))
                }
                _ => (amount, None),
            };
            let base = Source {
                feature: if x == k {
                    Feature::Proportional
                } else {
                    Feature::Lineage
                },
                role: Role::Author,
                contribution: origin,
                via: (x != k).then_some(compact(node.contribution)),
                synergy: None,
            };
            self.pay_owners(node, &keep, curator_share, base);
            if let Some(passed) = passes {
                let each = passed.div_int(node.parents.len() as u64);
                // Reverse so the stack visits parents in order (the parts' order is then
                // fixed; it does not change any value).
                for &p in node.parents.iter().rev() {
                    stack.push((p, each.clone(), depth_left - 1));
                }
            }
        }
    }

    /// A synergy over kinds on one contribution: when its team (the owners of the
    /// contribution and of what it builds on directly) holds every kind, the team members
    /// of those kinds earn `bonus ×` its worth jointly. `team` is scratch space, reused
    /// across the contributions of a chunk.
    #[allow(clippy::too_many_arguments)]
    fn synergy(
        &mut self,
        c: &Counted,
        counted: &[Counted],
        kinds: &[ActorKind],
        bonus: &Exact,
        synergy: u32,
        kind_of: &impl Fn(usize) -> ActorKind,
        team: &mut Vec<usize>,
    ) {
        if c.worth.is_zero() {
            return;
        }
        team.clear();
        team.extend(
            c.parents
                .iter()
                .flat_map(|&p| counted[p].owners.actors())
                .chain(c.owners.actors())
                .filter(|&a| kinds.contains(&kind_of(a))),
        );
        team.sort_unstable();
        team.dedup();
        if kinds.iter().all(|k| team.iter().any(|&a| kind_of(a) == *k)) {
            let value = c.worth.mul(bonus);
            let source = Source {
                feature: Feature::Synergy,
                role: Role::Team,
                contribution: Some(compact(c.contribution)),
                via: None,
                synergy: Some(synergy),
            };
            self.push(team.drain(..), value, source);
        }
    }

    fn push(&mut self, all: impl IntoIterator<Item = usize>, value: Exact, source: Source) {
        if value.is_zero() {
            return;
        }
        let first = self.players.len();
        self.players.extend(all.into_iter().map(compact));
        self.parts.push(Part {
            first,
            count: self.players.len() - first,
            value,
            source,
        });
    }

    /// Rules paying `amount` of a contribution's worth to the owners of `counted`.
    fn pay_owners(
        &mut self,
        counted: &Counted,
        amount: &Exact,
        curator_share: &Exact,
        base: Source,
    ) {
        match &counted.owners {
            Owners::Author(a) => self.push([*a], amount.clone(), base),
            Owners::Curated { model, curators } => {
                let to_curators = amount.mul(curator_share);
                let to_model = amount.sub(&to_curators);
                self.push(
                    [*model],
                    to_model,
                    Source {
                        role: Role::Model,
                        ..base
                    },
                );
                // One joint rule: the curators earn it together and share it equally.
                self.push(
                    curators.iter().copied(),
                    to_curators,
                    Source {
                        role: Role::Curators,
                        ..base
                    },
                );
            }
        }
    }
}

/// Build the game of `policy` over `inputs`, with every part's provenance.
pub fn build_game(policy: &Policy, inputs: &Inputs) -> Result<PolicyGame> {
    build_game_with(policy, inputs, Detail::Breakdown)
}

/// Most actors, and most contributions, one game is built over: its tables number players,
/// contributions, parts and sets in `u32` ([`compact`]), and each contribution makes a
/// bounded number of parts (its own, lineage, synergies), so every index stays below 2^32.
pub const MAX_RECORDS: usize = 1 << 24;

/// An index into one of the game's tables, which are numbered in `u32` to halve their
/// memory. Fits: the inputs are at most [`MAX_RECORDS`] (checked in [`build_game_with`]).
#[allow(clippy::cast_possible_truncation)] // bounded by MAX_RECORDS, see above
fn compact(index: usize) -> u32 {
    debug_assert!(u32::try_from(index).is_ok());
    index as u32
}

fn within_records(inputs: &Inputs) -> Result<()> {
    if inputs.actors.len() > MAX_RECORDS || inputs.contributions.len() > MAX_RECORDS {
        return Err(PolicyError::Input(format!(
            "{} actors and {} contributions: a game holds at most {MAX_RECORDS} of each",
            inputs.actors.len(),
            inputs.contributions.len()
        )));
    }
    Ok(())
}

/// Where the drafting pass leaves the rules it drafts, chunk by chunk of contributions:
/// every part with its provenance ([`EveryPart`], for the breakdown), or only their worths
/// summed by set of players ([`SumsBySet`], for the figures). The pass is the same for both.
trait Sink: Sized {
    /// What one chunk of contributions leaves.
    type Chunk: Send;
    /// Whether [`Sink::keep`] leaves the draft's memory to the next chunk.
    const REUSES_DRAFT: bool;
    /// What a chunk's `draft` (over actor indices below `actors`) leaves; the draft is then
    /// cleared and reused for the next chunk.
    fn keep(draft: &mut Draft, actors: usize) -> Self::Chunk;
    /// The chunks in order, then the synergies between named actors.
    fn gather(chunks: Vec<Self::Chunk>, named: Draft) -> Self;
    /// The lists of actor indices the rules name.
    fn actor_lists(&self) -> impl Iterator<Item = &[u32]>;
    /// Actor indices to player indices (`player_of`), then the rules merged by set of
    /// players as the engine's game over `players` players ([`engine_rules`]).
    fn engine_rules(
        &mut self,
        players: usize,
        player_of: &[usize],
    ) -> Result<(Option<McNets>, BigInt)>;
    /// Every part and the players of each (numbered), when kept.
    fn into_parts(self) -> Option<(Vec<Part>, Vec<u32>)>;
}

/// Keeps every part with its provenance, for the breakdown.
struct EveryPart(Draft);

impl Sink for EveryPart {
    type Chunk = Draft;
    const REUSES_DRAFT: bool = false;

    fn keep(draft: &mut Draft, _actors: usize) -> Draft {
        std::mem::take(draft)
    }

    fn gather(mut chunks: Vec<Draft>, named: Draft) -> Self {
        chunks.push(named);
        EveryPart(Draft::concat(chunks))
    }

    fn actor_lists(&self) -> impl Iterator<Item = &[u32]> {
        std::iter::once(self.0.players.as_slice())
    }

    fn engine_rules(
        &mut self,
        players: usize,
        player_of: &[usize],
    ) -> Result<(Option<McNets>, BigInt)> {
        self.0.number(player_of);
        engine_rules(players, self.0.items(), self.0.parts.len())
    }

    fn into_parts(self) -> Option<(Vec<Part>, Vec<u32>)> {
        Some((self.0.parts, self.0.players))
    }
}

/// Keeps only each chunk's worths summed by set of players, for the figures: a chunk's
/// parts are summed as soon as it is drafted, in scratch space that each thread reuses, so
/// the half million parts of a big project never exist all at once.
struct SumsBySet {
    chunks: Vec<SetSums>,
    /// The synergies between named actors (a few parts).
    named: Draft,
}

impl Sink for SumsBySet {
    type Chunk = SetSums;
    const REUSES_DRAFT: bool = true;

    fn keep(draft: &mut Draft, actors: usize) -> SetSums {
        draft.sum_by_set(actors)
    }

    fn gather(chunks: Vec<SetSums>, named: Draft) -> Self {
        SumsBySet { chunks, named }
    }

    fn actor_lists(&self) -> impl Iterator<Item = &[u32]> {
        let chunks = self.chunks.iter().map(|s| s.players.as_slice());
        chunks.chain(std::iter::once(self.named.players.as_slice()))
    }

    fn engine_rules(
        &mut self,
        players: usize,
        player_of: &[usize],
    ) -> Result<(Option<McNets>, BigInt)> {
        self.chunks.par_iter_mut().for_each(|s| s.number(player_of));
        self.named.number(player_of);
        let count =
            self.chunks.iter().map(|s| s.values.len()).sum::<usize>() + self.named.parts.len();
        let items = self.chunks.iter().flat_map(SetSums::items);
        let items = items.chain(self.named.items());
        engine_rules(players, items, count)
    }

    fn into_parts(self) -> Option<(Vec<Part>, Vec<u32>)> {
        None
    }
}

/// Build the game of `policy` over `inputs`. With [`Detail::Figures`] only what solving
/// needs: `parts`, `part_players` and `contributions` stay empty (the rules are the same).
pub fn build_game_with(policy: &Policy, inputs: &Inputs, detail: Detail) -> Result<PolicyGame> {
    match detail {
        Detail::Breakdown => build::<EveryPart>(policy, inputs),
        Detail::Figures => build::<SumsBySet>(policy, inputs),
    }
}

/// [`build_game_with`], keeping of the drafted rules what sink `S` keeps.
fn build<S: Sink>(policy: &Policy, inputs: &Inputs) -> Result<PolicyGame> {
    within_records(inputs)?;
    let actor_at = actor_indices(inputs)?;
    let log = LogOrder::of(inputs, &actor_at)?;
    let acceptors = acceptors(inputs, &actor_at, &log)?;
    let (counted, excluded) = count_contributions(policy, inputs, &log, &acceptors)?;
    let chunks = draft_chunks::<S>(policy, inputs, &counted);
    let named = named_synergies(policy, inputs, &actor_at, &counted);
    let mut drafted = S::gather(chunks, named);
    let measured_sets = latest_measurements(policy, inputs, &actor_at)?;
    let (players, player_of) = players(inputs, &drafted, &measured_sets)?;
    let (rules, rules_scale) = drafted.engine_rules(players.len(), &player_of)?;
    let (parts, part_players, contributions) = match drafted.into_parts() {
        // The parts name contributions by their position in log order.
        Some((parts, part_players)) => {
            let ids = log
                .order
                .iter()
                .map(|&i| inputs.contributions[i].id.clone())
                .collect();
            (parts, part_players, ids)
        }
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    Ok(PolicyGame {
        players,
        contributions,
        parts,
        part_players,
        rules,
        rules_scale,
        measured: measured_game(policy, &measured_sets, &player_of),
        excluded,
    })
}

/// Actor indices (into `inputs.actors`) by actor id.
type ActorAt<'a> = HashMap<&'a str, usize, FxBuild>;

fn actor_indices(inputs: &Inputs) -> Result<ActorAt<'_>> {
    let mut actor_at: ActorAt<'_> =
        HashMap::with_capacity_and_hasher(inputs.actors.len(), FxBuild::default());
    for (i, a) in inputs.actors.iter().enumerate() {
        if actor_at.insert(a.id.as_str(), i).is_some() {
            return Err(PolicyError::Input(format!(
                "actors[{i}]: actor {:?} listed twice",
                a.id
            )));
        }
    }
    Ok(actor_at)
}

/// The contributions in log order, which makes every later step deterministic whatever
/// the caller's order.
struct LogOrder<'a> {
    /// Indices into `inputs.contributions`, by sequence number, then entry id.
    order: Vec<usize>,
    /// Each contribution's position in `order`, by entry id.
    position: HashMap<&'a str, usize, FxBuild>,
    /// Each contribution's author (an actor index), by position.
    author: Vec<usize>,
}

impl<'a> LogOrder<'a> {
    fn of(inputs: &'a Inputs, actor_at: &ActorAt<'_>) -> Result<Self> {
        let mut order: Vec<usize> = (0..inputs.contributions.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&inputs.contributions[a], &inputs.contributions[b]);
            x.seq.cmp(&y.seq).then_with(|| x.id.cmp(&y.id))
        });
        let mut position: HashMap<&str, usize, FxBuild> =
            HashMap::with_capacity_and_hasher(order.len(), FxBuild::default());
        let mut author: Vec<usize> = Vec::with_capacity(order.len());
        for (pos, &i) in order.iter().enumerate() {
            let c = &inputs.contributions[i];
            if position.insert(c.id.as_str(), pos).is_some() {
                return Err(PolicyError::Input(format!(
                    "contributions[{i}]: entry id {} listed twice",
                    c.id
                )));
            }
            let a = *actor_at.get(c.actor.as_str()).ok_or_else(|| {
                PolicyError::Input(format!(
                    "contributions[{i}] ({}): unknown actor {:?}",
                    c.id, c.actor
                ))
            })?;
            if c.quantity < Decimal::ZERO {
                return Err(PolicyError::Input(format!(
                    "contributions[{i}] ({}): negative quantity {}",
                    c.id, c.quantity
                )));
            }
            author.push(a);
        }
        Ok(LogOrder {
            order,
            position,
            author,
        })
    }
}

/// The humans accepting each contribution (by position in log order), sorted by actor id:
/// the latest decision of each endorser on each contribution.
fn acceptors(
    inputs: &Inputs,
    actor_at: &ActorAt<'_>,
    log: &LogOrder<'_>,
) -> Result<Vec<Vec<usize>>> {
    let mut endorsements: Vec<usize> = (0..inputs.endorsements.len()).collect();
    endorsements.sort_by_key(|&e| inputs.endorsements[e].seq);
    let mut decision: BTreeMap<(usize, usize), bool> = BTreeMap::new();
    for &e in &endorsements {
        let en = &inputs.endorsements[e];
        let pos = *log.position.get(en.contribution.as_str()).ok_or_else(|| {
            PolicyError::Input(format!(
                "endorsements[{e}]: unknown contribution {}",
                en.contribution
            ))
        })?;
        let by = *actor_at.get(en.endorser.as_str()).ok_or_else(|| {
            PolicyError::Input(format!(
                "endorsements[{e}]: unknown endorser {:?}",
                en.endorser
            ))
        })?;
        // Only a human judging someone else's work filters (docs/PROTOCOL.md enforces it
        // at ingestion; here it is a guard, not an error).
        if inputs.actors[by].kind == ActorKind::Human && by != log.author[pos] {
            decision.insert((pos, by), en.accept);
        }
    }
    let mut acceptors: Vec<Vec<usize>> = vec![Vec::new(); log.order.len()];
    for (&(pos, by), &accept) in &decision {
        if accept {
            acceptors[pos].push(by);
        }
    }
    for list in &mut acceptors {
        list.sort_by(|&a, &b| inputs.actors[a].id.cmp(&inputs.actors[b].id));
    }
    Ok(acceptors)
}

/// Which contributions count, with their worth, owners and counted parents; and which do
/// not, and why.
fn count_contributions(
    policy: &Policy,
    inputs: &Inputs,
    log: &LogOrder<'_>,
    acceptors: &[Vec<usize>],
) -> Result<(Vec<Counted>, Vec<Excluded>)> {
    let mut excluded = Vec::new();
    let mut counted: Vec<Counted> = Vec::with_capacity(log.order.len());
    let mut counted_at: Vec<Option<usize>> = vec![None; log.order.len()];
    for (pos, &i) in log.order.iter().enumerate() {
        let c = &inputs.contributions[i];
        let Some(weight) = policy.weight(&c.kind, &c.unit) else {
            if policy.unlisted == Unlisted::Reject {
                return Err(PolicyError::Input(format!(
                    "contributions[{i}] ({}): the policy has no weight for kind {:?}, unit {:?}",
                    c.id, c.kind, c.unit
                )));
            }
            excluded.push(Excluded {
                contribution: c.id.clone(),
                actor: c.actor.clone(),
                reason: format!("no weight for kind {:?}, unit {:?}", c.kind, c.unit),
            });
            continue;
        };
        let worth = weight.checked_mul(c.quantity).ok_or_else(|| {
            PolicyError::Input(format!(
                "contributions[{i}] ({}): weight × quantity overflows",
                c.id
            ))
        })?;
        let author = log.author[pos];
        let owners = match &policy.curation {
            Some(cur) if cur.kinds.contains(&inputs.actors[author].kind) => {
                if acceptors[pos].is_empty() {
                    excluded.push(Excluded {
                        contribution: c.id.clone(),
                        actor: c.actor.clone(),
                        reason: "not accepted by a human curator".into(),
                    });
                    continue;
                }
                Owners::Curated {
                    model: author,
                    curators: acceptors[pos].clone(),
                }
            }
            _ => Owners::Author(author),
        };
        counted_at[pos] = Some(counted.len());
        counted.push(Counted {
            contribution: pos,
            worth: Exact::from_decimal(worth),
            owners,
            parents: Vec::new(),
        });
    }
    link_parents(&mut counted, &counted_at, inputs, log);
    Ok((counted, excluded))
}

/// Sets each counted contribution's parents: the counted contributions it builds on
/// (`counted_at` gives each position's index in `counted`), sorted.
fn link_parents(
    counted: &mut [Counted],
    counted_at: &[Option<usize>],
    inputs: &Inputs,
    log: &LogOrder<'_>,
) {
    for (k, node) in counted.iter_mut().enumerate() {
        let c = &inputs.contributions[log.order[node.contribution]];
        let mut parents: Vec<usize> = Vec::new();
        for id in &c.builds_on {
            // Parents outside the inputs (other projects) or not counted take no royalty.
            if let Some(&pos) = log.position.get(id.as_str())
                && let Some(p) = counted_at[pos]
                && p != k
                && !parents.contains(&p)
            {
                parents.push(p);
            }
        }
        parents.sort_unstable();
        node.parents = parents;
    }
}

/// The drafting pass: proportional worth with lineage royalties along builds_on, then
/// synergy over kinds, drafted in fixed-size chunks of contributions on all cores, each
/// chunk left as sink `S` keeps it. The chunks come back in order, so the parts' order
/// depends on the chunk size only, never on threads.
fn draft_chunks<S: Sink>(policy: &Policy, inputs: &Inputs, counted: &[Counted]) -> Vec<S::Chunk> {
    const CHUNK: usize = 4096;
    let kind_of = |a: usize| inputs.actors[a].kind;
    let curator_share = policy
        .curation
        .as_ref()
        .map_or(Exact::ZERO, |c| Exact::from_decimal(c.curator_share));
    let lineage = policy
        .lineage
        .as_ref()
        .map(|l| (Exact::from_decimal(l.share), l.depth));
    let kind_synergies: Vec<(u32, &[ActorKind], Exact)> = policy
        .synergies
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.trigger {
            SynergyTrigger::Kinds { kinds, bonus } => {
                let bonus = Exact::from_decimal(*bonus);
                (!bonus.is_zero()).then_some((compact(i), kinds.as_slice(), bonus))
            }
            SynergyTrigger::Actors { .. } => None,
        })
        .collect();
    let draft_chunk = |chunk: usize, draft: &mut Draft, stack: &mut Vec<_>, team: &mut Vec<_>| {
        let range = chunk * CHUNK..((chunk + 1) * CHUNK).min(counted.len());
        for k in range.clone() {
            draft.flows(k, counted, lineage.as_ref(), &curator_share, stack);
        }
        for (s_idx, kinds, bonus) in &kind_synergies {
            for c in &counted[range.clone()] {
                draft.synergy(c, counted, kinds, bonus, *s_idx, &kind_of, team);
            }
        }
    };
    // A sink that reuses the draft takes one run of chunks per thread: rayon makes new
    // scratch space for every piece it splits the work into, and each is fresh memory,
    // zeroed by the kernel when touched. Otherwise rayon balances chunk by chunk.
    let run = if S::REUSES_DRAFT {
        counted.len().div_ceil(CHUNK * rayon::current_num_threads())
    } else {
        1
    };
    (0..counted.len().div_ceil(CHUNK))
        .into_par_iter()
        .with_min_len(run)
        .map_init(
            || (Draft::default(), Vec::new(), Vec::new()),
            |(draft, stack, team), chunk| {
                draft.clear();
                draft_chunk(chunk, draft, stack, team);
                S::keep(draft, inputs.actors.len())
            },
        )
        .collect()
}

/// Synergies between named actors: each fires when every actor it names owns a counted
/// contribution, and they earn its worth jointly.
fn named_synergies(
    policy: &Policy,
    inputs: &Inputs,
    actor_at: &ActorAt<'_>,
    counted: &[Counted],
) -> Draft {
    let mut named = Draft::default();
    let mut participates = vec![false; inputs.actors.len()];
    for a in counted.iter().flat_map(|c| c.owners.actors()) {
        participates[a] = true;
    }
    for (s_idx, syn) in policy.synergies.iter().enumerate() {
        let SynergyTrigger::Actors { actors, worth } = &syn.trigger else {
            continue;
        };
        let members: Option<Vec<usize>> = actors
            .iter()
            .map(|id| {
                actor_at
                    .get(id.as_str())
                    .copied()
                    .filter(|&a| participates[a])
            })
            .collect();
        if let Some(mut members) = members {
            members.sort_unstable();
            let source = Source {
                feature: Feature::Synergy,
                role: Role::Team,
                contribution: None,
                via: None,
                synergy: Some(compact(s_idx)),
            };
            named.push(members, Exact::from_decimal(*worth), source);
        }
    }
    named
}

/// Measured worths by set of actors (sorted actor indices), each with the sequence number
/// of its measurement.
type MeasuredSets = BTreeMap<Vec<usize>, (u64, Decimal)>;

/// The latest measurement of each set of actors, when the policy has a measured game.
fn latest_measurements(
    policy: &Policy,
    inputs: &Inputs,
    actor_at: &ActorAt<'_>,
) -> Result<MeasuredSets> {
    let mut measured_sets = MeasuredSets::new();
    if policy.measured.is_none() {
        return Ok(measured_sets);
    }
    for (i, m) in inputs.measured.iter().enumerate() {
        let mut members = Vec::with_capacity(m.members.len());
        for (j, id) in m.members.iter().enumerate() {
            let a = *actor_at.get(id.as_str()).ok_or_else(|| {
                PolicyError::Input(format!("measured[{i}].members[{j}]: unknown actor {id:?}"))
            })?;
            if members.contains(&a) {
                return Err(PolicyError::Input(format!(
                    "measured[{i}].members[{j}]: {id:?} listed twice"
                )));
            }
            members.push(a);
        }
        if members.is_empty() {
            return Err(PolicyError::Input(format!(
                "measured[{i}]: no members (the empty coalition is worth 0 by definition)"
            )));
        }
        members.sort_unstable();
        match measured_sets.get(&members) {
            Some((seq, _)) if *seq >= m.seq => {}
            _ => {
                measured_sets.insert(members, (m.seq, m.worth));
            }
        }
    }
    Ok(measured_sets)
}

/// The players: every actor named by a rule or a measurement, sorted by id; and each
/// actor's player index (`usize::MAX` for an actor outside the game).
fn players(
    inputs: &Inputs,
    drafted: &impl Sink,
    measured_sets: &MeasuredSets,
) -> Result<(Vec<Player>, Vec<usize>)> {
    let mut in_game = vec![false; inputs.actors.len()];
    for &a in drafted.actor_lists().flatten() {
        in_game[a as usize] = true;
    }
    for &a in measured_sets.keys().flatten() {
        in_game[a] = true;
    }
    let mut actors_in_game: Vec<usize> = (0..in_game.len()).filter(|&a| in_game[a]).collect();
    actors_in_game.sort_by(|&a, &b| inputs.actors[a].id.cmp(&inputs.actors[b].id));
    if actors_in_game.is_empty() {
        return Err(PolicyError::Input(
            "no player: no contribution counts under this policy and nothing was measured".into(),
        ));
    }
    let mut player_of = vec![usize::MAX; inputs.actors.len()];
    for (p, &a) in actors_in_game.iter().enumerate() {
        player_of[a] = p;
    }
    let players = actors_in_game
        .iter()
        .map(|&a| Player {
            actor: inputs.actors[a].id.clone(),
            kind: inputs.actors[a].kind,
            operator: inputs.actors[a].operator.clone(),
        })
        .collect();
    Ok((players, player_of))
}

/// The measured part: the latest measurements as an explicit game over the players they
/// name, scaled as the policy says, and those players' indices.
fn measured_game(
    policy: &Policy,
    measured_sets: &MeasuredSets,
    player_of: &[usize],
) -> Option<(MeasuredGame, Vec<usize>)> {
    let m = policy
        .measured
        .as_ref()
        .filter(|_| !measured_sets.is_empty())?;
    let mut members: Vec<usize> = measured_sets
        .keys()
        .flatten()
        .map(|&a| player_of[a])
        .collect();
    members.sort_unstable();
    members.dedup();
    let local: HashMap<usize, usize> = members.iter().enumerate().map(|(l, &p)| (p, l)).collect();
    let scale = decimal_to_ratio(m.scale);
    let coalitions: Vec<(Vec<usize>, BigRational)> = measured_sets
        .iter()
        .map(|(set, (_, worth))| {
            (
                set.iter().map(|a| local[&player_of[*a]]).collect(),
                decimal_to_ratio(*worth) * &scale,
            )
        })
        .collect();
    Some((
        MeasuredGame::new(members.len(), &coalitions, m.fill),
        members,
    ))
}

/// Worths merged by set of players, as the engine's MC-nets game: integer worths (times
/// the common denominator of every worth) when they fit in i64, the engine's fastest path;
/// else exact fractions. `items` are (players, worth), `count` of them.
fn engine_rules<'a>(
    n: usize,
    items: impl Iterator<Item = (&'a [u32], &'a Exact)> + Clone,
    count: usize,
) -> Result<(Option<McNets>, BigInt)> {
    let (sets, sums) = sum_by_set(items, count, n);
    let (values, scale): (Vec<BigRational>, BigInt) = match sums {
        Sums::Scaled(sums, common) => match sums
            .iter()
            .map(|&s| i64::try_from(s).ok())
            .collect::<Option<Vec<i64>>>()
        {
            Some(ints) => (
                ints.into_iter()
                    .map(|i| BigRational::from_integer(i.into()))
                    .collect(),
                BigInt::from(common),
            ),
            None => (
                sums.into_iter()
                    .map(|s| BigRational::new(s.into(), common.into()))
                    .collect(),
                BigInt::one(),
            ),
        },
        Sums::Exact(values) => (values.iter().map(Exact::to_ratio).collect(), BigInt::one()),
    };
    let mut rules: Vec<Rule> = Vec::with_capacity(sets.len());
    rules.extend(
        sets.iter()
            .zip(values)
            .filter(|(_, v)| !v.is_zero())
            .map(|(players, value)| Rule {
                all: players.iter().map(|&p| p as usize).collect(),
                none: Vec::new(),
                value,
            }),
    );
    if rules.is_empty() {
        return Ok((None, BigInt::one()));
    }
    Ok((Some(McNets::new(n, rules)?), scale))
}

/// Worths summed by set of players.
enum Sums {
    /// Integers over one common denominator (the second field), when everything fits.
    Scaled(Vec<i128>, i128),
    /// Exact fractions otherwise.
    Exact(Vec<Exact>),
}

/// The distinct sets of players of `items` (players, worth), in order of first appearance,
/// and the sum of the worths of each. `count` is the number of items; every player is
/// below `players`.
fn sum_by_set<'a>(
    items: impl Iterator<Item = (&'a [u32], &'a Exact)> + Clone,
    count: usize,
    players: usize,
) -> (Vec<&'a [u32]>, Sums) {
    // Most sets are one player: a table by player finds them without hashing, and keeps
    // the map to the sets of several, sized once for all of them (no rehashing as it grows).
    const NONE: u32 = u32::MAX;
    let mut single = vec![NONE; players];
    let several = items
        .clone()
        .filter(|(players, _)| players.len() != 1)
        .count();
    let mut index: HashMap<&[u32], u32, FxBuild> =
        HashMap::with_capacity_and_hasher(several, FxBuild::default());
    let mut sets: Vec<&[u32]> = Vec::new();
    let mut slot: Vec<u32> = Vec::with_capacity(count);
    for (players, _) in items.clone() {
        let next = compact(sets.len());
        let k = match players {
            [p] => {
                let k = &mut single[*p as usize];
                if *k == NONE {
                    *k = next;
                }
                *k
            }
            _ => *index.entry(players).or_insert(next),
        };
        if k == next {
            sets.push(players);
        }
        slot.push(k);
    }
    let sums = match integer_sums(items.clone().map(|(_, v)| v), &slot, sets.len()) {
        Some((sums, common)) => Sums::Scaled(sums, common),
        None => {
            let mut values = vec![Exact::ZERO; sets.len()];
            for ((_, value), &k) in items.zip(&slot) {
                values[k as usize] = values[k as usize].add(value);
            }
            Sums::Exact(values)
        }
    };
    (sets, sums)
}

/// Sums of `values` per slot as integers over the common denominator of all values, when
/// everything fits in i128; `None` otherwise.
fn integer_sums<'a>(
    values: impl Iterator<Item = &'a Exact> + Clone,
    slot: &[u32],
    slots: usize,
) -> Option<(Vec<i128>, i128)> {
    // Neighbouring values mostly share a denominator: 128-bit divisions are skipped for a
    // denominator seen just before.
    let mut common: i128 = 1;
    let mut last_denominator = 1;
    for value in values.clone() {
        let (_, d) = value.small_parts()?;
        if d != last_denominator && common % d != 0 {
            common = (common / common.gcd(&d)).checked_mul(d)?;
        }
        last_denominator = d;
    }
    let mut sums = vec![0i128; slots];
    let (mut last_denominator, mut factor) = (1, common);
    for (value, &k) in values.zip(slot) {
        let (num, d) = value.small_parts()?;
        if d != last_denominator {
            (last_denominator, factor) = (d, common / d);
        }
        let sum = &mut sums[k as usize];
        *sum = sum.checked_add(num.checked_mul(factor)?)?;
    }
    Some((sums, common))
}

/// FxHash (rustc's hasher) for the maps of the hot path: half a million lookups of entry
/// ids and player sets. Entry ids are blake3 outputs and player sets are our own indices,
/// so SipHash's resistance to chosen keys buys nothing here and costs a third of the time.
type FxBuild = BuildHasherDefault<FxHasher>;

#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        // The table picks buckets with the low bits, which after FxHash's last multiply
        // depend only on the low bytes of the last word: ids that differ only in earlier
        // characters would share buckets. One fold of the high half into the low half
        // spreads them.
        let h = self.0;
        (h ^ (h >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (h >> 29)
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl PolicyGame {
    /// The players of part `k`.
    pub fn players_of(&self, k: usize) -> &[u32] {
        let part = &self.parts[k];
        &self.part_players[part.first..part.first + part.count]
    }

    /// v(N) of the rules part: every rule fires in the grand coalition.
    pub fn rules_total(&self) -> BigRational {
        self.parts
            .iter()
            .fold(Exact::ZERO, |acc, p| acc.add(&p.value))
            .to_ratio()
    }

    /// Each player's Shapley value of the rules part, split by part: a part of value v over
    /// p players gives each of them exactly v/p. Calls `f(player, part index, amount)` in
    /// part order.
    pub fn for_each_attribution(&self, mut f: impl FnMut(usize, usize, &Exact)) {
        for (k, part) in self.parts.iter().enumerate() {
            let each = if part.count == 1 {
                part.value.clone()
            } else {
                part.value.div_int(part.count as u64)
            };
            for &p in self.players_of(k) {
                f(p as usize, k, &each);
            }
        }
    }
}
