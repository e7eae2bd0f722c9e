//! Concentration of payouts over a set of allocations, per currency: the share of each actor
//! kind, the Herfindahl-Hirschman index, the Gini coefficient and the top-k shares.
//!
//! Definitions (x_i = an actor's total over the allocations, T = sum of x_i, n = actors):
//! - share_i = x_i / T;
//! - HHI = sum of share_i^2: 1/n when everyone has the same, 1 when one actor has all;
//! - Gini = sum_i sum_j |x_i - x_j| / (2 n T) = sum_k (2k - n - 1) x_(k) / (n T) with x_(k)
//!   sorted ascending: 0 for equal totals, (n - 1)/n when one actor has all;
//! - top-k share = the k largest totals over T.
//!
//! Every figure is exact (a reduced fraction) and also rounded to 6 decimal places, half
//! away from zero. Actors with a zero payout count (they took part); a total of zero has no
//! shares, so its figures are absent.

use crate::entry::ActorKind;
use crate::shapley::money::decimal_to_ratio;
use crate::shapley::rational::fmt_ratio;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, Zero};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Whose totals are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// What each player earned (an AI's share stays the AI's).
    Earned,
    /// What each recipient was paid (an AI's share counts for its operator when the policy
    /// pays operators).
    Received,
}

impl Basis {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "earned" => Ok(Self::Earned),
            "received" => Ok(Self::Received),
            other => Err(format!("basis={other:?}: expected earned or received")),
        }
    }
}

/// The figures of one allocation entry's body that the audit reads (other fields ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct AllocationFigures {
    pub status: String,
    pub allocation: Option<Figures>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Figures {
    pub currency: String,
    pub players: Vec<PlayerFigures>,
    pub recipients: Vec<RecipientFigures>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlayerFigures {
    pub actor: String,
    pub kind: ActorKind,
    pub payout: Decimal,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RecipientFigures {
    pub actor: String,
    pub amount: Decimal,
}

/// An exact figure and its rounding for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figure {
    /// A reduced fraction, or an integer.
    pub exact: String,
    /// Rounded to 6 decimal places, half away from zero.
    pub rounded: String,
}

impl Figure {
    fn of(value: &BigRational) -> Self {
        Self {
            exact: fmt_ratio(value),
            rounded: round6(value),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindShare {
    pub kind: ActorKind,
    pub actors: usize,
    pub amount: Decimal,
    pub share: Option<Figure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActorShare {
    pub actor: String,
    pub kind: ActorKind,
    pub amount: Decimal,
    pub share: Option<Figure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopShare {
    pub k: usize,
    pub share: Figure,
}

/// The figures of one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Concentration {
    pub currency: String,
    pub basis: Basis,
    /// Allocations counted (those with status ok in this currency).
    pub allocations: usize,
    pub total: Decimal,
    pub actors: usize,
    pub by_kind: Vec<KindShare>,
    pub hhi: Option<Figure>,
    pub gini: Option<Figure>,
    pub top: Vec<TopShare>,
    /// The largest totals, largest first (ties by actor id), at most `largest` of them.
    pub largest: Vec<ActorShare>,
}

/// Why the figures cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("recipient {0} is not a player of its allocation and has no known kind")]
    UnknownKind(String),
    #[error("the {0} total overflows")]
    Overflow(String),
}

/// Top-k shares reported.
const TOP_K: [usize; 3] = [1, 5, 10];

/// The concentration of `allocations` (failed ones are skipped), one result per currency in
/// code order. `kinds` names the kind of recipients that are not players (AI operators);
/// `largest` bounds the list of largest actors.
pub fn concentration(
    allocations: &[AllocationFigures],
    basis: Basis,
    kinds: &HashMap<String, ActorKind>,
    largest: usize,
) -> Result<Vec<Concentration>, AuditError> {
    struct Currency {
        allocations: usize,
        totals: BTreeMap<String, (ActorKind, Decimal)>,
    }
    let mut currencies: BTreeMap<&str, Currency> = BTreeMap::new();
    for figures in allocations.iter().filter(|a| a.status == "ok") {
        let Some(figures) = &figures.allocation else {
            continue;
        };
        let currency = currencies
            .entry(figures.currency.as_str())
            .or_insert_with(|| Currency {
                allocations: 0,
                totals: BTreeMap::new(),
            });
        currency.allocations += 1;
        let player_kinds: HashMap<&str, ActorKind> = figures
            .players
            .iter()
            .map(|p| (p.actor.as_str(), p.kind))
            .collect();
        let amounts: Vec<(&str, ActorKind, Decimal)> = match basis {
            Basis::Earned => figures
                .players
                .iter()
                .map(|p| (p.actor.as_str(), p.kind, p.payout))
                .collect(),
            Basis::Received => figures
                .recipients
                .iter()
                .map(|r| {
                    let kind = player_kinds
                        .get(r.actor.as_str())
                        .or_else(|| kinds.get(&r.actor))
                        .copied()
                        .ok_or_else(|| AuditError::UnknownKind(r.actor.clone()))?;
                    Ok((r.actor.as_str(), kind, r.amount))
                })
                .collect::<Result<_, AuditError>>()?,
        };
        for (actor, kind, amount) in amounts {
            let slot = currency
                .totals
                .entry(actor.to_owned())
                .or_insert((kind, Decimal::ZERO));
            slot.1 = slot
                .1
                .checked_add(amount)
                .ok_or_else(|| AuditError::Overflow(actor.to_owned()))?;
        }
    }
    currencies
        .into_iter()
        .map(|(code, currency)| {
            summarize(code, basis, currency.allocations, &currency.totals, largest)
        })
        .collect()
}

fn summarize(
    currency: &str,
    basis: Basis,
    allocations: usize,
    totals: &BTreeMap<String, (ActorKind, Decimal)>,
    largest: usize,
) -> Result<Concentration, AuditError> {
    let total = totals
        .values()
        .try_fold(Decimal::ZERO, |sum, (_, x)| sum.checked_add(*x))
        .ok_or_else(|| AuditError::Overflow(currency.to_owned()))?;
    let t = decimal_to_ratio(total);
    let share = |x: Decimal| (!t.is_zero()).then(|| decimal_to_ratio(x) / &t);
    let figure = |x: Decimal| share(x).map(|s| Figure::of(&s));

    let mut by_kind: BTreeMap<ActorKind, (usize, Decimal)> = BTreeMap::new();
    for (kind, amount) in totals.values() {
        let slot = by_kind.entry(*kind).or_insert((0, Decimal::ZERO));
        slot.0 += 1;
        slot.1 = slot
            .1
            .checked_add(*amount)
            .ok_or_else(|| AuditError::Overflow(kind.as_str().to_owned()))?;
    }

    // Largest first, ties by actor id (the map's order, kept by the stable sort).
    let mut ranked: Vec<(&String, ActorKind, Decimal)> =
        totals.iter().map(|(a, (k, x))| (a, *k, *x)).collect();
    ranked.sort_by_key(|&(_, _, amount)| std::cmp::Reverse(amount));

    let n = ranked.len();
    let (hhi, gini) = if t.is_zero() {
        (None, None)
    } else {
        let shares: Vec<BigRational> = ranked
            .iter()
            .map(|(_, _, x)| decimal_to_ratio(*x) / &t)
            .collect();
        let hhi = shares.iter().map(|s| s * s).sum::<BigRational>();
        // Ascending rank k = n - position: weight 2k - n - 1.
        let weighted = shares
            .iter()
            .enumerate()
            .map(|(position, s)| s * (BigInt::from(n) - BigInt::from(2 * position + 1)))
            .sum::<BigRational>();
        let gini = weighted / BigInt::from(n);
        (Some(Figure::of(&hhi)), Some(Figure::of(&gini)))
    };
    let top = if t.is_zero() {
        Vec::new()
    } else {
        TOP_K
            .iter()
            .filter(|&&k| k <= n)
            .map(|&k| {
                let sum: Decimal = ranked[..k].iter().map(|(_, _, x)| *x).sum();
                TopShare {
                    k,
                    share: Figure::of(&(decimal_to_ratio(sum) / &t)),
                }
            })
            .collect()
    };
    Ok(Concentration {
        currency: currency.to_owned(),
        basis,
        allocations,
        total,
        actors: n,
        by_kind: by_kind
            .into_iter()
            .map(|(kind, (actors, amount))| KindShare {
                kind,
                actors,
                amount,
                share: figure(amount),
            })
            .collect(),
        hhi,
        gini,
        top,
        largest: ranked
            .iter()
            .take(largest)
            .map(|(actor, kind, amount)| ActorShare {
                actor: (*actor).clone(),
                kind: *kind,
                amount: *amount,
                share: figure(*amount),
            })
            .collect(),
    })
}

/// `value` rounded to 6 decimal places, half away from zero.
fn round6(value: &BigRational) -> String {
    let scale = BigInt::from(1_000_000);
    let scaled = value * &scale;
    let (numer, denom) = (scaled.numer().abs(), scaled.denom().clone());
    let rounded: BigInt = (numer * 2 + &denom) / (denom * 2);
    let sign = if value.is_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    let (whole, fraction) = (&rounded / &scale, &rounded % &scale);
    format!("{sign}{whole}.{fraction:06}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An allocation of `players` (actor, kind, payout); AI players are paid to "acme".
    fn allocation(currency: &str, players: &[(&str, &str, &str)]) -> AllocationFigures {
        let mut recipients: BTreeMap<&str, Decimal> = BTreeMap::new();
        for (actor, kind, payout) in players {
            let paid_to = if *kind == "ai" { "acme" } else { actor };
            *recipients.entry(paid_to).or_default() += payout.parse::<Decimal>().expect("decimal");
        }
        let players: Vec<_> = players
            .iter()
            .map(|(actor, kind, payout)| json!({"actor": actor, "kind": kind, "payout": payout}))
            .collect();
        let recipients: Vec<_> = recipients
            .iter()
            .map(|(actor, amount)| json!({"actor": actor, "amount": amount.to_string()}))
            .collect();
        serde_json::from_value(json!({"status": "ok", "allocation":
            {"currency": currency, "players": players, "recipients": recipients}}))
        .expect("figures")
    }

    fn one(figures: &[AllocationFigures], basis: Basis) -> Concentration {
        let kinds = HashMap::from([("acme".to_owned(), ActorKind::Platform)]);
        let mut all = concentration(figures, basis, &kinds, 10).expect("figures");
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    #[test]
    fn equal_payouts_have_no_inequality() {
        let c = one(
            &[allocation(
                "EUR",
                &[
                    ("a", "human", "25.00"),
                    ("b", "human", "25.00"),
                    ("c", "human", "25.00"),
                    ("d", "human", "25.00"),
                ],
            )],
            Basis::Earned,
        );
        assert_eq!(c.gini.expect("gini").exact, "0");
        assert_eq!(c.hhi.expect("hhi").exact, "1/4");
        assert_eq!(c.top[0].share.exact, "1/4");
        assert_eq!(c.total, Decimal::new(10000, 2));
    }

    #[test]
    fn hand_computed_figures() {
        // Totals 10, 20, 70 over two allocations: T = 100.
        // HHI = 0.01 + 0.04 + 0.49 = 0.54. Gini: sorted 10, 20, 70 with weights -2, 0, 2:
        // (140 - 20) / (3 * 100) = 2/5.
        let figures = [
            allocation(
                "EUR",
                &[
                    ("a", "human", "10"),
                    ("b", "human", "20"),
                    ("model", "ai", "30"),
                ],
            ),
            allocation("EUR", &[("model", "ai", "40")]),
        ];
        let c = one(&figures, Basis::Earned);
        assert_eq!(c.allocations, 2);
        assert_eq!(c.hhi.as_ref().map(|f| f.exact.as_str()), Some("27/50"));
        assert_eq!(
            c.gini.as_ref().map(|f| f.rounded.as_str()),
            Some("0.400000")
        );
        assert_eq!(c.top[0].share.exact, "7/10");
        assert_eq!(c.largest[0].actor, "model");
        let ai = c
            .by_kind
            .iter()
            .find(|k| k.kind == ActorKind::Ai)
            .expect("ai");
        assert_eq!((ai.actors, ai.amount), (1, Decimal::from(70)));

        // Received: the model's 70 went to its operator, a platform.
        let c = one(&figures, Basis::Received);
        assert_eq!(c.largest[0].actor, "acme");
        assert_eq!(c.largest[0].kind, ActorKind::Platform);
        assert_eq!(c.gini.as_ref().map(|f| f.exact.as_str()), Some("2/5"));
    }

    #[test]
    fn one_actor_with_everything_is_maximal() {
        let c = one(
            &[allocation(
                "EUR",
                &[
                    ("a", "human", "0"),
                    ("b", "human", "0"),
                    ("c", "human", "9"),
                ],
            )],
            Basis::Earned,
        );
        assert_eq!(c.hhi.expect("hhi").exact, "1");
        assert_eq!(c.gini.expect("gini").exact, "2/3");
    }

    #[test]
    fn currencies_are_kept_apart_and_failures_skipped() {
        let mut figures = vec![
            allocation("EUR", &[("a", "human", "1")]),
            allocation("JPY", &[("a", "human", "100")]),
        ];
        figures.push(
            serde_json::from_value(json!({"status": "failed", "reason": "x"})).expect("failed"),
        );
        let all = concentration(&figures, Basis::Earned, &HashMap::new(), 10).expect("figures");
        assert_eq!(
            all.iter().map(|c| c.currency.as_str()).collect::<Vec<_>>(),
            ["EUR", "JPY"]
        );
        assert!(all.iter().all(|c| c.allocations == 1));
    }

    #[test]
    fn a_zero_total_has_no_shares() {
        let c = one(&[allocation("EUR", &[("a", "human", "0")])], Basis::Earned);
        assert!(c.hhi.is_none() && c.gini.is_none() && c.top.is_empty());
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        let r = |n: i64, d: i64| round6(&BigRational::new(n.into(), d.into()));
        assert_eq!(r(1, 3), "0.333333");
        assert_eq!(r(2, 3), "0.666667");
        assert_eq!(r(1, 2_000_000), "0.000001");
        assert_eq!(r(-1, 2_000_000), "-0.000001");
        assert_eq!(r(7, 1), "7.000000");
    }
}
