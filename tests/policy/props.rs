// Properties on random projects: payouts add up exactly to the amount, each player's
// breakdown adds up to its Shapley value, the closed form agrees with exact enumeration,
// and results do not depend on the thread count.

use fairshare::policy::{
    Actor, ActorKind, Contribution, Detail, Endorsement, Inputs, MeasuredCoalition, Policy,
    PolicyError, Realized, allocate, allocate_with, build_game,
};
use fairshare::shapley::exact::shapley_exact;
use fairshare::shapley::rational::parse_exact;
use num_rational::BigRational;
use num_traits::{Signed, Zero};
use proptest::prelude::*;
use rust_decimal::Decimal;

const KINDS: [ActorKind; 3] = [ActorKind::Human, ActorKind::Ai, ActorKind::Platform];
const WORK: [(&str, &str); 4] = [
    ("text", "words"),
    ("code", "lines"),
    ("review", "notes"),
    ("publish", "pages"),
];

fn policy(bytes: &[u8]) -> Policy {
    Policy::parse(bytes).unwrap_or_else(|e| panic!("{e}"))
}

#[derive(Debug, Clone)]
struct Project {
    kinds: Vec<usize>,
    contributions: Vec<(usize, usize, u32, Vec<usize>)>,
    endorsements: Vec<(usize, usize, bool)>,
    measured: Vec<(Vec<bool>, i32)>,
}

fn project() -> impl Strategy<Value = Project> {
    (1usize..7).prop_flat_map(|n| {
        (
            proptest::collection::vec(0usize..3, n),
            proptest::collection::vec(
                (
                    0..n,
                    0usize..4,
                    0u32..5000,
                    proptest::collection::vec(0usize..40, 0..3),
                ),
                1..30,
            ),
            proptest::collection::vec((0usize..40, 0..n, any::<bool>()), 0..30),
            proptest::collection::vec(
                (proptest::collection::vec(any::<bool>(), n), -50i32..500),
                0..6,
            ),
        )
            .prop_map(|(kinds, contributions, endorsements, measured)| Project {
                kinds,
                contributions,
                endorsements,
                measured,
            })
    })
}

fn inputs(p: &Project) -> Inputs {
    let actors = p
        .kinds
        .iter()
        .enumerate()
        .map(|(i, &k)| Actor {
            id: format!("a{i}"),
            kind: KINDS[k],
            operator: (KINDS[k] == ActorKind::Ai).then(|| "op".to_string()),
        })
        .collect();
    let m = p.contributions.len();
    let contributions = p
        .contributions
        .iter()
        .enumerate()
        .map(|(i, (actor, work, qty, parents))| Contribution {
            id: format!("c{i:02}"),
            seq: i as u64,
            actor: format!("a{actor}"),
            kind: WORK[*work].0.into(),
            unit: WORK[*work].1.into(),
            quantity: Decimal::new(i64::from(*qty), 1),
            // Only earlier contributions (as the log guarantees).
            builds_on: parents
                .iter()
                .filter(|&&q| q < i)
                .map(|q| format!("c{q:02}"))
                .collect(),
        })
        .collect();
    let endorsements = p
        .endorsements
        .iter()
        .enumerate()
        .filter(|(_, (c, _, _))| *c < m)
        .map(|(k, (c, by, accept))| Endorsement {
            contribution: format!("c{c:02}"),
            endorser: format!("a{by}"),
            accept: *accept,
            seq: 100 + k as u64,
        })
        .collect();
    let measured = p
        .measured
        .iter()
        .enumerate()
        .filter(|(_, (set, _))| set.iter().any(|&b| b))
        .map(|(k, (set, worth))| MeasuredCoalition {
            members: set
                .iter()
                .enumerate()
                .filter(|(_, b)| **b)
                .map(|(i, _)| format!("a{i}"))
                .collect(),
            worth: Decimal::from(*worth),
            seq: 200 + k as u64,
        })
        .collect();
    let mut all: Vec<Actor> = actors;
    all.push(Actor {
        id: "op".into(),
        kind: ActorKind::Platform,
        operator: None,
    });
    Inputs {
        actors: all,
        contributions,
        endorsements,
        measured,
    }
}

fn ratio(s: &str) -> BigRational {
    parse_exact(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn payouts_add_up_and_breakdowns_explain_values(p in project(), cents in 1i64..10_000_000) {
        let policy = policy(include_bytes!("../../policies/default.toml"));
        let inputs = inputs(&p);
        let realized = Realized { amount: Decimal::new(cents, 2), currency: "EUR".into(), minor_unit_scale: 2 };
        let a = match allocate(&policy, &inputs, &realized, 1) {
            Ok(a) => a,
            // Only "nothing counts" may fail under the default policy.
            Err(PolicyError::Input(m)) if m.contains("no player") => return Ok(()),
            Err(e) => panic!("{e}"),
        };
        let total: Decimal = a.players.iter().map(|x| x.payout).sum();
        prop_assert_eq!(total, realized.amount);
        let received: Decimal = a.recipients.iter().map(|x| x.amount).sum();
        prop_assert_eq!(received, realized.amount);
        let shares: BigRational = a.players.iter().map(|x| ratio(&x.share)).sum();
        prop_assert_eq!(shares, ratio("0") + fairshare::shapley::money::decimal_to_ratio(realized.amount));
        for x in &a.players {
            let parts: BigRational = x.breakdown.iter().map(|b| b.value.to_ratio()).sum();
            prop_assert_eq!(parts, ratio(&x.shapley_value), "{}", x.actor);
            let diff = fairshare::shapley::money::decimal_to_ratio(x.payout) - ratio(&x.adjusted_share);
            prop_assert!(diff.abs() < ratio("1/100"));
        }
        // The figures alone (rules summed chunk by chunk) are the same figures.
        let mut figures = a.clone();
        figures.players.iter_mut().for_each(|x| x.breakdown.clear());
        figures.excluded.clear();
        prop_assert_eq!(allocate_with(&policy, &inputs, &realized, 1, Detail::Figures), Ok(figures));
    }

    #[test]
    fn closed_form_matches_enumeration_and_threads_do_not_matter(p in project()) {
        let mut text = String::from_utf8_lossy(include_bytes!("../../policies/default.toml")).into_owned();
        text.push_str("\n[measured]\nfill = \"max-subset\"\n");
        let policy = policy(text.as_bytes());
        let inputs = inputs(&p);
        let Ok(game) = build_game(&policy, &inputs) else { return Ok(()); };
        if let Some(rules) = &game.rules {
            let closed = rules.shapley_closed_form();
            let enumerated = shapley_exact(rules, 25).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(&closed, &enumerated);
            let scale = BigRational::from_integer(game.rules_scale.clone());
            let mut per_player = vec![BigRational::zero(); game.players.len()];
            game.for_each_attribution(|player, _, v| per_player[player] += v.to_ratio() * &scale);
            prop_assert_eq!(per_player, closed);
        }
        let realized = Realized { amount: Decimal::new(12345, 2), currency: "EUR".into(), minor_unit_scale: 2 };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap_or_else(|e| panic!("{e}"));
            pool.install(|| allocate(&policy, &inputs, &realized, 9))
        };
        let one = run(1);
        prop_assert_eq!(&one, &run(2));
        prop_assert_eq!(&one, &run(3));
    }
}

fn limit_strategy() -> impl Strategy<Value = Vec<(usize, Option<u32>, Option<u32>)>> {
    proptest::collection::vec(
        (
            0usize..3,
            proptest::option::of(0u32..=40),
            proptest::option::of(0u32..=100),
        ),
        0..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn kind_limits_keep_the_total_and_signs(
        shares in proptest::collection::vec((0usize..3, 0u32..1000), 1..8),
        limits in limit_strategy(),
    ) {
        use fairshare::policy::file::KindLimit;
        use fairshare::policy::payout::apply_kind_limits;
        let mut kl: Vec<KindLimit> = Vec::new();
        for (k, lo, hi) in limits {
            if kl.iter().any(|l| l.kind == KINDS[k]) {
                continue;
            }
            let (lo, hi) = match (lo, hi) {
                (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
                other => other,
            };
            kl.push(KindLimit {
                kind: KINDS[k],
                min: lo.map(|x| Decimal::new(i64::from(x), 2)),
                max: hi.map(|x| Decimal::new(i64::from(x), 2)),
            });
        }
        let values: Vec<BigRational> = shares.iter().map(|(_, v)| BigRational::from_integer((*v).into())).collect();
        let kinds: Vec<ActorKind> = shares.iter().map(|(k, _)| KINDS[*k]).collect();
        let total: BigRational = values.iter().sum();
        let out = apply_kind_limits(&values, &kinds, &total, &kl).unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(out.iter().sum::<BigRational>(), total);
        prop_assert!(out.iter().all(|v| !v.is_negative()));
    }
}
