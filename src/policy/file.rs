//! Policy files: TOML text -> a validated [`Policy`]. Every field is documented in
//! docs/POLICIES.md. Numbers that become money or worth are read from their text
//! (`weight = 0.1` is exactly one tenth), never through a float.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use super::error::{PolicyError, Result};
use super::input::ActorKind;

/// Hard cap of exact enumeration in the engine (documented in docs/SHAPLEY.md).
pub const MAX_EXACT_LIMIT: usize = 30;
/// Deepest `builds_on` chain a lineage royalty may follow. Flows fan out along every parent,
/// so the work is at most contributions × 64^depth; 4 keeps realistic graphs small.
pub const MAX_LINEAGE_DEPTH: u32 = 4;

/// A validated policy and the hash of the bytes it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Policy name (an identifier).
    pub name: String,
    /// Free text.
    pub description: String,
    /// `blake3:<hex>` of the file's bytes, the form every entry and the API use.
    pub hash: String,
    /// Weights per (contribution kind, unit); `*` matches any.
    pub weights: Vec<Weight>,
    /// What to do with a contribution whose (kind, unit) has no weight.
    pub unlisted: Unlisted,
    /// The AI-drafts, human-filters workflow.
    pub curation: Option<Curation>,
    /// Emergent value rules.
    pub synergies: Vec<Synergy>,
    /// Royalties along `builds_on`.
    pub lineage: Option<Lineage>,
    /// Measured coalition outcomes as an explicit game.
    pub measured: Option<Measured>,
    /// Payout rules.
    pub payout: Payout,
    /// Solver limits.
    pub solver: Solver,
}

/// Worth per unit of one (contribution kind, unit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weight {
    /// Contribution kind or `*`.
    pub kind: String,
    /// Unit or `*`.
    pub unit: String,
    /// Worth of one unit (>= 0).
    pub weight: Decimal,
}

/// Handling of contributions whose (kind, unit) matches no weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlisted {
    /// They are worth nothing (the default: an unexpected kind cannot block allocations).
    Ignore,
    /// The allocation fails and names the contribution.
    Reject,
}

/// The AI-drafts, human-filters workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Curation {
    /// Actor kinds whose contributions count only when a human accepted them.
    pub kinds: Vec<ActorKind>,
    /// Fraction of such a contribution's worth that goes to its accepting curators.
    pub curator_share: Decimal,
}

/// An emergent-value rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synergy {
    /// Name (unique in the policy), reported in breakdowns.
    pub name: String,
    /// When it fires and what it adds.
    pub trigger: SynergyTrigger,
}

/// The two forms of synergy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SynergyTrigger {
    /// For every counted contribution whose team holds every listed kind: extra worth
    /// `bonus ×` the contribution's worth, earned jointly by the team members of those kinds.
    Kinds {
        /// Distinct actor kinds that must all take part (at least two).
        kinds: Vec<ActorKind>,
        /// Fraction of the contribution's worth added.
        bonus: Decimal,
    },
    /// Fixed extra worth when all the named actors take part in the project.
    Actors {
        /// Distinct actor ids (at least two).
        actors: Vec<String>,
        /// Worth added.
        worth: Decimal,
    },
}

/// Royalties along `builds_on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lineage {
    /// Fraction of a contribution's worth passed to the contributions it builds on.
    pub share: Decimal,
    /// How many `builds_on` steps the royalty follows (1..=4).
    pub depth: u32,
}

/// Measured coalition outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    /// How coalitions without a measurement get their worth.
    pub fill: Fill,
    /// Factor from measured worth to game worth (so measured games can be weighed against
    /// the rules).
    pub scale: Decimal,
}

/// Fill rule of unmeasured coalitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Unmeasured coalitions are worth 0.
    Zero,
    /// An unmeasured coalition is worth the largest measured worth of its sub-coalitions
    /// (0 when none is measured): adding actors never loses a measured outcome.
    MaxSubset,
}

/// Payout rules.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Payout {
    /// Pay an AI actor's share to its operator (the AI's share stays in the record).
    pub ai_to_operator: bool,
    /// Caps and floors on the total share of an actor kind.
    pub kind_limits: Vec<KindLimit>,
}

/// Bounds on the fraction of the amount paid to one actor kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindLimit {
    /// The kind.
    pub kind: ActorKind,
    /// Floor, a fraction in [0, 1].
    pub min: Option<Decimal>,
    /// Cap, a fraction in [0, 1].
    pub max: Option<Decimal>,
}

/// Solver limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Solver {
    /// Largest number of players solved by exact enumeration (measured games only).
    pub exact_limit: usize,
    /// Permutations drawn beyond the limit (the maximum when `target_error` is set).
    pub samples: u64,
    /// Stop sampling when every half-width is at most this (game worth units).
    pub target_error: Option<f64>,
    /// Confidence of the sampled intervals.
    pub confidence: f64,
}

impl Default for Solver {
    fn default() -> Self {
        Self {
            exact_limit: 20,
            samples: 20_000,
            target_error: None,
            confidence: 0.95,
        }
    }
}

type Num = Spanned<toml::Value>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    unlisted: Option<Spanned<String>>,
    #[serde(default)]
    weights: Vec<RawWeight>,
    curation: Option<RawCuration>,
    #[serde(default)]
    synergy: Vec<RawSynergy>,
    lineage: Option<RawLineage>,
    measured: Option<RawMeasured>,
    payout: Option<RawPayout>,
    solver: Option<RawSolver>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeight {
    kind: Spanned<String>,
    unit: Spanned<String>,
    weight: Num,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCuration {
    kinds: Option<Spanned<Vec<Spanned<String>>>>,
    curator_share: Num,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSynergy {
    name: Spanned<String>,
    kinds: Option<Spanned<Vec<Spanned<String>>>>,
    bonus: Option<Num>,
    actors: Option<Spanned<Vec<Spanned<String>>>>,
    worth: Option<Num>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLineage {
    share: Num,
    depth: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasured {
    fill: Spanned<String>,
    scale: Option<Num>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayout {
    #[serde(default)]
    ai_to_operator: bool,
    #[serde(default)]
    kind_limit: Vec<RawKindLimit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKindLimit {
    kind: Spanned<String>,
    min: Option<Num>,
    max: Option<Num>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSolver {
    exact_limit: Option<Spanned<i64>>,
    samples: Option<Spanned<i64>>,
    target_error: Option<Num>,
    confidence: Option<Num>,
}

/// Reads spans back into lines and numbers back from their text.
struct Source<'a> {
    text: &'a str,
}

impl Source<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    fn line(&self, offset: usize) -> usize {
        self.line_col(offset).0
    }

    fn invalid<T>(
        &self,
        key: impl Into<String>,
        at: usize,
        message: impl Into<String>,
    ) -> Result<T> {
        Err(PolicyError::Invalid {
            key: key.into(),
            line: Some(self.line(at)),
            message: message.into(),
        })
    }

    /// A decimal from a TOML integer, float (read from its text) or string.
    fn decimal(&self, key: &str, num: &Num) -> Result<Decimal> {
        let at = num.span().start;
        let text = match num.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(_) | toml::Value::Float(_) => self
                .text
                .get(num.span())
                .unwrap_or_default()
                .replace('_', ""),
            other => {
                return self.invalid(
                    key,
                    at,
                    format!("expected a decimal number, found a {}", other.type_str()),
                );
            }
        };
        let text = text.trim();
        let parsed = if text.contains(['e', 'E']) {
            Decimal::from_scientific(text)
        } else {
            Decimal::from_str(text)
        };
        match parsed {
            Ok(d) => Ok(d.normalize()),
            Err(_) => self.invalid(key, at, format!("not a decimal number: {text:?}")),
        }
    }

    fn fraction(&self, key: &str, num: &Num) -> Result<Decimal> {
        let d = self.decimal(key, num)?;
        if d < Decimal::ZERO || d > Decimal::ONE {
            return self.invalid(key, num.span().start, format!("{d} is not in [0, 1]"));
        }
        Ok(d)
    }

    fn non_negative(&self, key: &str, num: &Num) -> Result<Decimal> {
        let d = self.decimal(key, num)?;
        if d < Decimal::ZERO {
            return self.invalid(key, num.span().start, format!("{d} is negative"));
        }
        Ok(d)
    }

    fn kind(&self, key: &str, s: &Spanned<String>) -> Result<ActorKind> {
        ActorKind::parse(s.get_ref())
            .ok()
            .ok_or_else(|| PolicyError::Invalid {
                key: key.into(),
                line: Some(self.line(s.span().start)),
                message: format!(
                    "unknown actor kind {:?} (human, ai, platform, regulator)",
                    s.get_ref()
                ),
            })
    }

    fn distinct_kinds(
        &self,
        key: &str,
        list: &Spanned<Vec<Spanned<String>>>,
    ) -> Result<Vec<ActorKind>> {
        let mut out = Vec::new();
        for (i, s) in list.get_ref().iter().enumerate() {
            let k = self.kind(&format!("{key}[{i}]"), s)?;
            if out.contains(&k) {
                return self.invalid(format!("{key}[{i}]"), s.span().start, "repeated kind");
            }
            out.push(k);
        }
        Ok(out)
    }
}

/// Identifiers as in docs/PROTOCOL.md: `[a-z0-9][a-z0-9._-]{0,63}`.
pub fn is_identifier(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|&c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
        })
}

/// `blake3:<hex>` of a policy file's bytes: the content digest `policy.adopted` records.
pub fn policy_hash(bytes: &[u8]) -> String {
    format!("blake3:{}", blake3::hash(bytes).to_hex())
}

impl Policy {
    /// Parse and validate a policy file. The hash is that of exactly these bytes.
    pub fn parse(bytes: &[u8]) -> Result<Policy> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let src = Source {
                text: std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
            };
            let (line, column) = src.line_col(e.valid_up_to());
            PolicyError::Syntax {
                line,
                column,
                message: "the file is not UTF-8".into(),
            }
        })?;
        let src = Source { text };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| src.line_col(s.start));
            PolicyError::Syntax {
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        let mut policy = validate(&src, raw)?;
        policy.hash = policy_hash(bytes);
        Ok(policy)
    }

    /// The weight of a (contribution kind, unit): the most specific match of exact pair,
    /// `(kind, *)`, `(*, unit)`, `(*, *)`.
    pub fn weight(&self, kind: &str, unit: &str) -> Option<Decimal> {
        let find = |k: &str, u: &str| {
            self.weights
                .iter()
                .find(|w| w.kind == k && w.unit == u)
                .map(|w| w.weight)
        };
        find(kind, unit)
            .or_else(|| find(kind, "*"))
            .or_else(|| find("*", unit))
            .or_else(|| find("*", "*"))
    }
}

/// The policy `raw` describes, each table checked by one function, in the file's order.
fn validate(src: &Source, raw: RawPolicy) -> Result<Policy> {
    check_name(src, &raw.name)?;
    let unlisted = read_unlisted(src, raw.unlisted.as_ref())?;
    let weights = read_weights(src, &raw.weights)?;
    let curation = read_curation(src, raw.curation.as_ref())?;
    let synergies = read_synergies(src, &raw.synergy)?;
    let lineage = read_lineage(src, raw.lineage.as_ref())?;
    let measured = read_measured(src, raw.measured.as_ref())?;
    let payout = read_payout(src, raw.payout.as_ref())?;
    let solver = read_solver(src, raw.solver.as_ref())?;
    // A policy that can produce no worth at all is a mistake, not a policy.
    if weights.is_empty()
        && measured.is_none()
        && synergies
            .iter()
            .all(|s| !matches!(s.trigger, SynergyTrigger::Actors { .. }))
    {
        return src.invalid(
            "weights",
            0,
            "no weights and no measured game: every worth would be 0",
        );
    }
    Ok(Policy {
        name: raw.name.into_inner(),
        description: raw.description,
        hash: String::new(),
        weights,
        unlisted,
        curation,
        synergies,
        lineage,
        measured,
        payout,
        solver,
    })
}

/// `name`: an identifier.
fn check_name(src: &Source, name: &Spanned<String>) -> Result<()> {
    if !is_identifier(name.get_ref()) {
        return src.invalid(
            "name",
            name.span().start,
            format!(
                "{:?} is not an identifier ([a-z0-9][a-z0-9._-]{{0,63}})",
                name.get_ref()
            ),
        );
    }
    Ok(())
}

/// `unlisted`: "ignore" (the default) or "reject".
fn read_unlisted(src: &Source, unlisted: Option<&Spanned<String>>) -> Result<Unlisted> {
    match unlisted.map(|s| (s.get_ref().as_str(), s.span().start)) {
        None | Some(("ignore", _)) => Ok(Unlisted::Ignore),
        Some(("reject", _)) => Ok(Unlisted::Reject),
        Some((other, at)) => src.invalid(
            "unlisted",
            at,
            format!("{other:?} is not \"ignore\" or \"reject\""),
        ),
    }
}

/// The `[[weights]]`: a valid kind and unit, each pair once, a non-negative weight.
fn read_weights(src: &Source, raw: &[RawWeight]) -> Result<Vec<Weight>> {
    let mut weights: Vec<Weight> = Vec::new();
    for (i, w) in raw.iter().enumerate() {
        for (field, s) in [("kind", &w.kind), ("unit", &w.unit)] {
            if s.get_ref() != "*" && !is_identifier(s.get_ref()) {
                return src.invalid(
                    format!("weights[{i}].{field}"),
                    s.span().start,
                    format!("{:?} is neither an identifier nor \"*\"", s.get_ref()),
                );
            }
        }
        let weight = src.non_negative(&format!("weights[{i}].weight"), &w.weight)?;
        if let Some(j) = weights
            .iter()
            .position(|x| x.kind == *w.kind.get_ref() && x.unit == *w.unit.get_ref())
        {
            return src.invalid(
                format!("weights[{i}]"),
                w.kind.span().start,
                format!("same kind and unit as weights[{j}]"),
            );
        }
        weights.push(Weight {
            kind: w.kind.get_ref().clone(),
            unit: w.unit.get_ref().clone(),
            weight,
        });
    }
    Ok(weights)
}

/// The `[curation]` table, when present.
fn read_curation(src: &Source, c: Option<&RawCuration>) -> Result<Option<Curation>> {
    let Some(c) = c else { return Ok(None) };
    let kinds = match &c.kinds {
        None => vec![ActorKind::Ai],
        Some(list) => {
            let kinds = src.distinct_kinds("curation.kinds", list)?;
            if kinds.contains(&ActorKind::Human) {
                return src.invalid(
                    "curation.kinds",
                    list.span().start,
                    "human contributions cannot require a human endorsement to count",
                );
            }
            kinds
        }
    };
    Ok(Some(Curation {
        kinds,
        curator_share: src.fraction("curation.curator_share", &c.curator_share)?,
    }))
}

/// The `[[synergy]]` tables: each named once, with one of the two triggers.
fn read_synergies(src: &Source, raw: &[RawSynergy]) -> Result<Vec<Synergy>> {
    let mut synergies: Vec<Synergy> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let key = format!("synergy[{i}]");
        let at = s.name.span().start;
        if !is_identifier(s.name.get_ref()) {
            return src.invalid(format!("{key}.name"), at, "not an identifier");
        }
        if let Some(j) = synergies.iter().position(|x| x.name == *s.name.get_ref()) {
            return src.invalid(
                format!("{key}.name"),
                at,
                format!("same name as synergy[{j}]"),
            );
        }
        let trigger = match (&s.kinds, &s.bonus, &s.actors, &s.worth) {
            (Some(kinds), Some(bonus), None, None) => kinds_trigger(src, &key, kinds, bonus)?,
            (None, None, Some(actors), Some(worth)) => actors_trigger(src, &key, actors, worth)?,
            _ => {
                return src.invalid(
                    key,
                    at,
                    "give either `kinds` and `bonus`, or `actors` and `worth`",
                );
            }
        };
        synergies.push(Synergy {
            name: s.name.get_ref().clone(),
            trigger,
        });
    }
    Ok(synergies)
}

/// A synergy over kinds; `key` names it in errors.
fn kinds_trigger(
    src: &Source,
    key: &str,
    kinds: &Spanned<Vec<Spanned<String>>>,
    bonus: &Num,
) -> Result<SynergyTrigger> {
    let distinct = src.distinct_kinds(&format!("{key}.kinds"), kinds)?;
    if distinct.len() < 2 {
        return src.invalid(
            format!("{key}.kinds"),
            kinds.span().start,
            "needs at least two kinds (one kind alone creates no co-operation)",
        );
    }
    Ok(SynergyTrigger::Kinds {
        kinds: distinct,
        bonus: src.non_negative(&format!("{key}.bonus"), bonus)?,
    })
}

/// A synergy between named actors; `key` names it in errors.
fn actors_trigger(
    src: &Source,
    key: &str,
    actors: &Spanned<Vec<Spanned<String>>>,
    worth: &Num,
) -> Result<SynergyTrigger> {
    let mut ids: Vec<String> = Vec::new();
    for (k, a) in actors.get_ref().iter().enumerate() {
        if !is_identifier(a.get_ref()) {
            return src.invalid(
                format!("{key}.actors[{k}]"),
                a.span().start,
                "not an actor id",
            );
        }
        if ids.contains(a.get_ref()) {
            return src.invalid(
                format!("{key}.actors[{k}]"),
                a.span().start,
                "repeated actor",
            );
        }
        ids.push(a.get_ref().clone());
    }
    if ids.len() < 2 {
        return src.invalid(
            format!("{key}.actors"),
            actors.span().start,
            "needs at least two actors",
        );
    }
    Ok(SynergyTrigger::Actors {
        actors: ids,
        worth: src.non_negative(&format!("{key}.worth"), worth)?,
    })
}

/// The `[lineage]` table, when present.
fn read_lineage(src: &Source, l: Option<&RawLineage>) -> Result<Option<Lineage>> {
    let Some(l) = l else { return Ok(None) };
    let raw_depth = *l.depth.get_ref();
    let Some(depth) = u32::try_from(raw_depth)
        .ok()
        .filter(|d| (1..=MAX_LINEAGE_DEPTH).contains(d))
    else {
        return src.invalid(
            "lineage.depth",
            l.depth.span().start,
            format!("{raw_depth} is not in 1..={MAX_LINEAGE_DEPTH}"),
        );
    };
    Ok(Some(Lineage {
        share: src.fraction("lineage.share", &l.share)?,
        depth,
    }))
}

/// The `[measured]` table, when present.
fn read_measured(src: &Source, m: Option<&RawMeasured>) -> Result<Option<Measured>> {
    let Some(m) = m else { return Ok(None) };
    let fill = match m.fill.get_ref().as_str() {
        "zero" => Fill::Zero,
        "max-subset" => Fill::MaxSubset,
        other => {
            return src.invalid(
                "measured.fill",
                m.fill.span().start,
                format!("{other:?} is not \"zero\" or \"max-subset\""),
            );
        }
    };
    let scale = match &m.scale {
        None => Decimal::ONE,
        Some(s) => src.non_negative("measured.scale", s)?,
    };
    Ok(Some(Measured { fill, scale }))
}

/// The `[payout]` table (no rules when absent), its floors adding up to at most 1.
fn read_payout(src: &Source, p: Option<&RawPayout>) -> Result<Payout> {
    let Some(p) = p else {
        return Ok(Payout::default());
    };
    let mut payout = Payout {
        ai_to_operator: p.ai_to_operator,
        kind_limits: Vec::new(),
    };
    let mut floors = Decimal::ZERO;
    for (i, l) in p.kind_limit.iter().enumerate() {
        let key = format!("payout.kind_limit[{i}]");
        let limit = read_kind_limit(src, &key, l, &payout.kind_limits)?;
        floors += limit.min.unwrap_or_default();
        if floors > Decimal::ONE {
            return src.invalid(
                format!("{key}.min"),
                l.kind.span().start,
                format!("floors add up to {floors}, more than the whole amount"),
            );
        }
        payout.kind_limits.push(limit);
    }
    Ok(payout)
}

/// One kind's floor and cap, for a kind not among `earlier`; `key` names it in errors.
fn read_kind_limit(
    src: &Source,
    key: &str,
    l: &RawKindLimit,
    earlier: &[KindLimit],
) -> Result<KindLimit> {
    let kind = src.kind(&format!("{key}.kind"), &l.kind)?;
    if earlier.iter().any(|x| x.kind == kind) {
        return src.invalid(
            format!("{key}.kind"),
            l.kind.span().start,
            "kind already limited",
        );
    }
    let min = l
        .min
        .as_ref()
        .map(|m| src.fraction(&format!("{key}.min"), m))
        .transpose()?;
    let max = l
        .max
        .as_ref()
        .map(|m| src.fraction(&format!("{key}.max"), m))
        .transpose()?;
    match (min, max) {
        (None, None) => src.invalid(key, l.kind.span().start, "give `min`, `max` or both"),
        (Some(lo), Some(hi)) if lo > hi => src.invalid(
            key,
            l.kind.span().start,
            format!("min {lo} exceeds max {hi}"),
        ),
        _ => Ok(KindLimit { kind, min, max }),
    }
}

/// The `[solver]` table, each field defaulting to [`Solver::default`].
fn read_solver(src: &Source, s: Option<&RawSolver>) -> Result<Solver> {
    let mut solver = Solver::default();
    let Some(s) = s else { return Ok(solver) };
    if let Some(e) = &s.exact_limit {
        let v = *e.get_ref();
        let Some(limit) = usize::try_from(v)
            .ok()
            .filter(|limit| (1..=MAX_EXACT_LIMIT).contains(limit))
        else {
            return src.invalid(
                "solver.exact_limit",
                e.span().start,
                format!("{v} is not in 1..={MAX_EXACT_LIMIT}"),
            );
        };
        solver.exact_limit = limit;
    }
    if let Some(n) = &s.samples {
        let v = *n.get_ref();
        if !(1..=1_000_000_000).contains(&v) {
            return src.invalid(
                "solver.samples",
                n.span().start,
                format!("{v} is not in 1..=10^9"),
            );
        }
        solver.samples = v as u64;
    }
    if let Some(t) = &s.target_error {
        let d = src.decimal("solver.target_error", t)?;
        if d <= Decimal::ZERO {
            return src.invalid("solver.target_error", t.span().start, "must be positive");
        }
        solver.target_error = Some(decimal_f64(d));
    }
    if let Some(c) = &s.confidence {
        let d = src.decimal("solver.confidence", c)?;
        if d <= Decimal::ZERO || d >= Decimal::ONE {
            return src.invalid(
                "solver.confidence",
                c.span().start,
                format!("{d} is not in (0, 1)"),
            );
        }
        solver.confidence = decimal_f64(d);
    }
    Ok(solver)
}

fn decimal_f64(d: Decimal) -> f64 {
    // Decimal's text is exact and `f64::from_str` rounds it correctly: no platform libm.
    d.to_string().parse().unwrap_or(f64::NAN)
}
