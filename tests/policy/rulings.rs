// Rulings' effects on an allocation (docs/POLICIES.md, "Rulings"): the merged player
// checked against a brute-force Shapley value with exact fractions, exclusions and voided
// measurements.

use std::str::FromStr;

use fairshare::policy::{
    Actor, ActorKind, Allocation, Contribution, Endorsement, Inputs, MeasuredCoalition,
    MergedGroup, Policy, Realized, Rulings, allocate_ruled, game::Detail,
};
use fairshare::shapley::exact::shapley_brute_force;
use fairshare::shapley::explicit::Explicit;
use fairshare::shapley::rational::fmt_ratio;
use num_rational::BigRational;
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn actor(id: &str, kind: ActorKind, operator: Option<&str>) -> Actor {
    Actor {
        id: id.into(),
        kind,
        operator: operator.map(Into::into),
    }
}

fn eur(amount: &str) -> Realized {
    Realized {
        amount: d(amount),
        currency: "EUR".into(),
        minor_unit_scale: 2,
    }
}

fn run(policy: &[u8], inputs: &Inputs, rulings: &Rulings, amount: &str) -> Allocation {
    let policy = Policy::parse(policy).unwrap_or_else(|e| panic!("{e}"));
    let a = allocate_ruled(&policy, inputs, rulings, &eur(amount), 7, Detail::Breakdown)
        .unwrap_or_else(|e| panic!("{e}"));
    let received: Decimal = a.recipients.iter().map(|r| r.amount).sum();
    assert_eq!(received, d(amount), "recipients add up to the amount");
    a
}

/// A worth for every coalition of alice, bob, model and plat (bit i = actor i), chosen
/// with interactions so that merging alice and bob changes everyone's value.
fn worth(mask: usize) -> i64 {
    let has = |i: usize| mask & (1 << i) != 0;
    let mut w = 0;
    for (i, solo) in [7, 5, 2, 11].into_iter().enumerate() {
        if has(i) {
            w += solo;
        }
    }
    if has(0) && has(1) {
        w += 13; // alice and bob together
    }
    if has(2) && has(3) {
        w += 17; // the model needs its platform
    }
    if has(1) && has(2) {
        w += 3;
    }
    w
}

const NAMES: [&str; 4] = ["alice", "bob", "model", "plat"];

fn measured_everything() -> Inputs {
    let measured = (1..16usize)
        .map(|mask| MeasuredCoalition {
            members: (0..4)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| NAMES[i].to_owned())
                .collect(),
            worth: Decimal::from(worth(mask)),
            seq: mask as u64,
        })
        .collect();
    Inputs {
        actors: vec![
            actor("alice", ActorKind::Human, None),
            actor("bob", ActorKind::Human, None),
            actor("model", ActorKind::Ai, Some("plat")),
            actor("plat", ActorKind::Platform, None),
        ],
        measured,
        ..Inputs::default()
    }
}

fn merge_alice_and_bob(alice: &str, bob: &str) -> Rulings {
    let mut rulings = Rulings::default();
    rulings.merge(MergedGroup {
        ruling: "r1".into(),
        player: actor("alice", ActorKind::Human, None),
        members: vec![("alice".into(), d(alice)), ("bob".into(), d(bob))],
    });
    rulings
}

#[test]
fn a_merged_player_gets_the_brute_force_shapley_value_of_the_merged_game() {
    // The merged game: players {alice+bob, model, plat}; v'(S) = v(S with the group whole).
    let merged_worth = |mask3: usize| {
        let group = if mask3 & 1 != 0 { 0b0011 } else { 0 };
        worth(group | ((mask3 & 0b110) << 1))
    };
    let table: Vec<i64> = (0..8).map(merged_worth).collect();
    let game = Explicit::from_integers(table).expect("table");
    let brute: Vec<BigRational> = shapley_brute_force(&game);
    let total: BigRational = brute.iter().sum();

    let a = run(
        include_bytes!("../../policies/measured.toml"),
        &measured_everything(),
        &merge_alice_and_bob("0.7", "0.3"),
        "1000.00",
    );
    let players: Vec<(&str, &str)> = a
        .players
        .iter()
        .map(|p| (p.actor.as_str(), p.shapley_value.as_str()))
        .collect();
    assert_eq!(
        players,
        vec![
            ("alice", fmt_ratio(&brute[0]).as_str()),
            ("model", fmt_ratio(&brute[1]).as_str()),
            ("plat", fmt_ratio(&brute[2]).as_str()),
        ]
    );
    assert_eq!(a.total_worth, fmt_ratio(&total));
    // docs/POLICIES.md, "Rulings": 53/2, 12 and 39/2 of 58.
    assert_eq!(a.total_worth, "58");
    let payouts: Vec<Decimal> = a.players.iter().map(|p| p.payout).collect();
    assert_eq!(payouts, vec![d("456.90"), d("206.89"), d("336.21")]);
    // The merged player's payout, split 70/30 to the cent.
    let group_payout = a.players[0].payout;
    let split = &a.merged[0];
    assert_eq!(split.player, "alice");
    assert_eq!(split.members.len(), 2);
    assert_eq!(
        split.members[0].amount + split.members[1].amount,
        group_payout
    );
    assert_eq!(split.members[1].actor, "bob");
    assert_eq!(split.members[0].amount, d("319.83"));
    assert_eq!(split.members[1].amount, d("137.07"));
    let bob_receives = a.recipients.iter().find(|r| r.actor == "bob");
    assert_eq!(
        bob_receives.map(|r| r.amount),
        Some(split.members[1].amount)
    );
}

#[test]
fn a_measurement_naming_part_of_a_merged_group_does_not_count() {
    let mut inputs = measured_everything();
    // A later measurement of {bob, plat} alone would otherwise replace nothing but add a
    // coalition the merged game has no place for.
    inputs.measured.push(MeasuredCoalition {
        members: vec!["bob".into(), "plat".into()],
        worth: d("1000"),
        seq: 99,
    });
    let with = run(
        include_bytes!("../../policies/measured.toml"),
        &inputs,
        &merge_alice_and_bob("0.5", "0.5"),
        "100.00",
    );
    let without = run(
        include_bytes!("../../policies/measured.toml"),
        &measured_everything(),
        &merge_alice_and_bob("0.5", "0.5"),
        "100.00",
    );
    assert_eq!(with.players, without.players);
}

#[test]
fn excluded_contributions_and_endorsements_and_voided_measurements_stop_counting() {
    let words = |id: &str, seq, who: &str, qty: &str| Contribution {
        id: id.into(),
        seq,
        actor: who.into(),
        kind: "text".into(),
        unit: "words".into(),
        quantity: d(qty),
        builds_on: Vec::new(),
    };
    let inputs = Inputs {
        actors: vec![
            actor("alice", ActorKind::Human, None),
            actor("bob", ActorKind::Human, None),
        ],
        contributions: vec![
            words("c1", 1, "alice", "1000"),
            words("c2", 2, "bob", "3000"),
        ],
        ..Inputs::default()
    };
    let proportional = include_bytes!("../../policies/proportional.toml");
    let before = run(proportional, &inputs, &Rulings::default(), "100.00");
    assert_eq!(before.recipients.len(), 2);
    let mut rulings = Rulings::default();
    rulings.excluded.insert(2, "r-exclude".into());
    let after = run(proportional, &inputs, &rulings, "100.00");
    assert_eq!(after.recipients.len(), 1);
    assert_eq!(after.recipients[0].actor, "alice");
    assert_eq!(after.recipients[0].amount, d("100.00"));
    assert!(
        after
            .excluded
            .iter()
            .any(|e| e.contribution == "c2" && e.reason.contains("r-exclude")),
        "{:?}",
        after.excluded
    );

    // An excluded endorsement: the curated policy pays drafts only once a human accepts.
    let curated = include_bytes!("../../policies/default.toml");
    let drafts = Inputs {
        actors: vec![
            actor("ann", ActorKind::Human, None),
            actor("scribe", ActorKind::Ai, Some("acme")),
            actor("acme", ActorKind::Platform, None),
        ],
        contributions: vec![words("d1", 1, "scribe", "1000")],
        endorsements: vec![Endorsement {
            contribution: "d1".into(),
            endorser: "ann".into(),
            accept: true,
            seq: 2,
        }],
        ..Inputs::default()
    };
    let endorsed = run(curated, &drafts, &Rulings::default(), "100.00");
    assert!(endorsed.recipients.iter().any(|r| r.actor == "ann"));
    let mut rulings = Rulings::default();
    rulings.excluded.insert(2, "r-endorsement".into());
    let policy = Policy::parse(curated).expect("policy");
    let unendorsed = allocate_ruled(
        &policy,
        &drafts,
        &rulings,
        &eur("100.00"),
        7,
        Detail::Figures,
    );
    assert!(
        unendorsed.is_err()
            || unendorsed.is_ok_and(|a| a.recipients.iter().all(|r| r.actor != "ann")),
        "the curator is paid for an endorsement that no longer counts"
    );

    // A voided measurement.
    let measured = include_bytes!("../../policies/measured.toml");
    let mut rulings = Rulings::default();
    rulings.voided.insert(15, "r-void".into());
    let voided = run(measured, &measured_everything(), &rulings, "100.00");
    let whole = run(
        measured,
        &measured_everything(),
        &Rulings::default(),
        "100.00",
    );
    // Without {alice, bob, model, plat} (58), v(N) is its best measured subset (38).
    assert_eq!(whole.total_worth, "58");
    assert_eq!(voided.total_worth, "38");
}
