//! The Shapley axioms as property tests, and agreement of every exact solver with brute
//! force over all permutations.

use fairshare::shapley::banzhaf::banzhaf_exact;
use fairshare::shapley::exact::{shapley_brute_force, shapley_exact};
use fairshare::shapley::owen::owen_exact;
use fairshare::shapley::{Explicit, Game, McNets, Ratio, Rule, SumGame, WeightedVoting};
use num_bigint::BigInt;
use num_traits::Zero;
use proptest::prelude::*;

fn table(n: usize) -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(-50i64..50, 1 << n)
}

fn game(vals: Vec<i64>) -> Explicit {
    match Explicit::from_integers(vals) {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    }
}

fn shapley(g: &dyn Game) -> Vec<Ratio> {
    match shapley_exact(g, 25) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

fn sized_table() -> impl Strategy<Value = (usize, Vec<i64>)> {
    (1usize..=7).prop_flat_map(|n| (Just(n), table(n)))
}

fn random_rules(n: usize) -> impl Strategy<Value = Vec<Rule>> {
    prop::collection::vec(
        (
            prop::collection::vec(0..n, 0..4),
            prop::collection::vec(0..n, 0..3),
            -20i64..20,
            1i64..4,
        )
            .prop_map(|(all, none, v, d)| Rule {
                all,
                none,
                value: Ratio::new(v.into(), d.into()),
            }),
        0..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn efficiency_and_brute_force((n, vals) in sized_table()) {
        let g = game(vals.clone());
        let phi = shapley(&g);
        let sum: Ratio = phi.iter().sum();
        let grand = Ratio::from_integer(BigInt::from(vals[(1 << n) - 1] - vals[0]));
        prop_assert_eq!(sum, grand);
        prop_assert_eq!(phi, shapley_brute_force(&g));
    }

    #[test]
    fn symmetry((n, mut vals) in (2usize..=6).prop_flat_map(|n| (Just(n), table(n)))) {
        // Make players 0 and 1 symmetric: v(S + 1) := v(S + 0) for S without both.
        for s in 0..(1usize << n) {
            if s & 3 == 0 {
                vals[s | 2] = vals[s | 1];
            }
        }
        let phi = shapley(&game(vals));
        prop_assert_eq!(&phi[0], &phi[1]);
    }

    #[test]
    fn null_player((n, mut vals) in sized_table(), p in 0usize..7) {
        let p = p % n;
        for s in 0..(1usize << n) {
            if s & (1 << p) != 0 {
                vals[s] = vals[s & !(1 << p)];
            }
        }
        let phi = shapley(&game(vals));
        prop_assert!(phi[p].is_zero());
    }

    #[test]
    fn additivity((n, a) in sized_table(), seed in any::<u64>()) {
        let b: Vec<i64> = (0..a.len())
            .map(|k| i64::try_from((seed >> (k % 60)) & 31).unwrap_or(0) - 7)
            .collect();
        let (ga, gb) = (game(a), game(b.clone()));
        let sum = SumGame::new(vec![Box::new(ga.clone()), Box::new(game(b))]);
        let sum = match sum { Ok(s) => s, Err(e) => panic!("{e}") };
        let lhs = shapley(&sum);
        let rhs: Vec<Ratio> = shapley(&ga).iter().zip(shapley(&gb)).map(|(x, y)| x + y).collect();
        prop_assert_eq!(lhs, rhs);
        let _ = n;
    }

    #[test]
    fn mc_nets_closed_form_matches_brute_force(n in 1usize..=7, rules in random_rules(7)) {
        let rules: Vec<Rule> = rules.into_iter().map(|mut r| {
            r.all.iter_mut().for_each(|p| *p %= n);
            r.none.iter_mut().for_each(|p| *p %= n);
            r
        }).collect();
        let g = match McNets::new(n, rules) { Ok(g) => g, Err(e) => panic!("{e}") };
        prop_assert_eq!(g.shapley_closed_form(), shapley_brute_force(&g));
        prop_assert_eq!(shapley(&g), shapley_brute_force(&g));
    }

    #[test]
    fn voting_dp_matches_brute_force(weights in prop::collection::vec(0u64..12, 1..=7), q in 0u64..40) {
        let g = match WeightedVoting::new(weights, q) { Ok(g) => g, Err(e) => panic!("{e}") };
        prop_assert_eq!(g.shapley_dp(), shapley_brute_force(&g));
    }

    #[test]
    fn owen_with_trivial_unions_is_shapley((n, vals) in sized_table()) {
        let g = game(vals);
        let phi = shapley(&g);
        let singletons: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
        let one: Vec<Vec<usize>> = vec![(0..n).collect()];
        prop_assert_eq!(owen_exact(&g, &singletons).ok(), Some(phi.clone()));
        prop_assert_eq!(owen_exact(&g, &one).ok(), Some(phi));
    }

    #[test]
    fn owen_is_efficient((n, vals) in (2usize..=7).prop_flat_map(|n| (Just(n), table(n))), cut in 1usize..6) {
        let cut = cut % (n - 1) + 1;
        let unions = vec![(0..cut).collect::<Vec<_>>(), (cut..n).collect()];
        let g = game(vals.clone());
        let o = match owen_exact(&g, &unions) { Ok(o) => o, Err(e) => panic!("{e}") };
        let sum: Ratio = o.iter().sum();
        prop_assert_eq!(sum, Ratio::from_integer(BigInt::from(vals[(1 << n) - 1] - vals[0])));
    }

    #[test]
    fn banzhaf_matches_definition((n, vals) in sized_table()) {
        let g = game(vals.clone());
        let b = match banzhaf_exact(&g, 25) { Ok(b) => b, Err(e) => panic!("{e}") };
        for (i, bi) in b.iter().enumerate() {
            let mut swing = 0i64;
            for s in 0..(1usize << n) {
                if s & (1 << i) == 0 {
                    swing += vals[s | 1 << i] - vals[s];
                }
            }
            prop_assert_eq!(bi, &Ratio::new(swing.into(), BigInt::from(1i64 << (n - 1))));
        }
    }
}

#[test]
fn rational_worths_enumerate_exactly() {
    // v = 1/3 for the grand coalition of two players, 1/7 for each singleton.
    let r = |p: i64, q: i64| Ratio::new(p.into(), q.into());
    let g = match Explicit::new(&[r(0, 1), r(1, 7), r(1, 7), r(1, 3)]) {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(shapley(&g), vec![r(1, 6), r(1, 6)]);
}

#[test]
fn huge_worths_fall_back_to_big_integers() {
    let big = Ratio::from_integer(BigInt::from(i64::MAX) * 1000);
    let z = Ratio::zero();
    let g = match Explicit::new(&[z.clone(), big.clone(), z, big.clone()]) {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(shapley(&g), vec![big, Ratio::zero()]);
}

#[test]
fn restriction_is_the_subgame() {
    use fairshare::shapley::Restriction;
    let vals: Vec<i64> = (0..32i64)
        .map(|s| (s * 13 % 7) - 2 + s.count_ones() as i64)
        .collect();
    let g = game(vals.clone());
    let keep = vec![4usize, 1, 3];
    let r = match Restriction::new(&g, keep.clone()) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    // The subgame's own table: bit k of the new mask is player keep[k].
    let sub: Vec<i64> = (0..8usize)
        .map(|m| {
            let orig: usize = (0..3)
                .filter(|k| m >> k & 1 == 1)
                .map(|k| 1 << keep[k])
                .sum();
            vals[orig]
        })
        .collect();
    assert_eq!(shapley(&r), shapley(&game(sub)));
}

#[test]
fn restricted_and_summed_mc_nets_keep_their_closed_form() {
    use fairshare::shapley::Restriction;
    let r = |p: i64| Ratio::from_integer(p.into());
    let m = match McNets::new(
        5,
        vec![
            Rule {
                all: vec![0, 1],
                none: vec![4],
                value: r(6),
            },
            Rule {
                all: vec![2],
                none: vec![3],
                value: r(-2),
            },
            Rule {
                all: vec![4],
                none: vec![],
                value: r(3),
            },
        ],
    ) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    let res = match Restriction::new(&m, vec![0, 1, 2]) {
        Ok(x) => x,
        Err(e) => panic!("{e}"),
    };
    let cf = match res.as_mc_nets() {
        Some(c) => c.shapley_closed_form(),
        None => panic!("restriction of MC-nets lost its form"),
    };
    assert_eq!(cf, shapley(&res));
    let sum = match SumGame::new(vec![Box::new(m.clone()), Box::new(m.clone())]) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let cf = match sum.as_mc_nets() {
        Some(c) => c.shapley_closed_form(),
        None => panic!("sum of MC-nets lost its form"),
    };
    let twice: Vec<Ratio> = m
        .shapley_closed_form()
        .iter()
        .map(|x| x * BigInt::from(2))
        .collect();
    assert_eq!(cf, twice);
    assert_eq!(shapley(&sum), twice);
}
