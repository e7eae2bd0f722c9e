//! Textbook games checked against values published in the literature.

use fairshare::shapley::banzhaf::banzhaf_exact;
use fairshare::shapley::exact::shapley_exact;
use fairshare::shapley::owen::owen_exact;
use fairshare::shapley::{
    Explicit, McNets, Method, Ratio, Request, Rule, Used, Values, WeightedVoting, solve,
};
use num_bigint::BigInt;

fn r(p: i64, q: i64) -> Ratio {
    Ratio::new(p.into(), q.into())
}

fn ok<T, E: std::fmt::Display>(x: Result<T, E>) -> T {
    match x {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// UN Security Council [39; 7,7,7,7,7,1 x 10]: Shapley-Shubik index 421/2145 for each
/// permanent member and 4/2145 for each non-permanent one (the Shapley-Shubik index of
/// Shapley and Shubik, APSR 1954, for the post-1965 Council; the values 0.1963 and 0.00186
/// are quoted across the voting-power literature, e.g. Straffin, "Game Theory and
/// Strategy", 1993).
#[test]
fn un_security_council() {
    let mut w = vec![7u64; 5];
    w.extend([1u64; 10]);
    let g = ok(WeightedVoting::new(w, 39));
    let mut expect = vec![r(421, 2145); 5];
    expect.extend(vec![r(4, 2145); 10]);
    assert_eq!(g.shapley_dp(), expect);
    assert_eq!(ok(shapley_exact(&g, 25)), expect);
    let sol = ok(solve(&g, &Request::default()));
    assert_eq!(sol.method, Used::ClosedFormWeightedVoting);
}

/// [51; 49, 48, 3]: any two players form a majority, none alone, so all three are
/// symmetric: Shapley 1/3 each, and each has 2 swings out of 4, Banzhaf value 1/2 each
/// (the classic example of Banzhaf, "Weighted voting doesn't work", Rutgers Law Rev. 1965).
#[test]
fn weighted_majority_51_49_48_3() {
    let g = ok(WeightedVoting::new(vec![49, 48, 3], 51));
    assert_eq!(g.shapley_dp(), vec![r(1, 3); 3]);
    assert_eq!(ok(banzhaf_exact(&g, 25)), vec![r(1, 2); 3]);
}

/// Glove game with one left glove (player 0) and two right gloves: v(S) = 1 when S holds a
/// pair. Shapley value (2/3, 1/6, 1/6): the standard glove-market example of the textbooks
/// (e.g. Maschler, Solan and Zamir, "Game Theory", 2013, chapter on the Shapley value).
#[test]
fn glove_game() {
    // bits: 0 = left, 1 and 2 = right.
    let v: Vec<i64> = (0..8u32)
        .map(|s| i64::from(s & 1 == 1 && s & 6 != 0))
        .collect();
    let g = ok(Explicit::from_integers(v));
    assert_eq!(ok(shapley_exact(&g, 25)), vec![r(2, 3), r(1, 6), r(1, 6)]);
}

/// Airport game (Littlechild and Owen, "A simple expression for the Shapley value in a
/// special case", Management Science 1973): with costs c_1 <= ... <= c_n, player i pays
/// sum_{j <= i} (c_j - c_{j-1}) / (n - j + 1). Built as MC-nets (cost of the longest runway
/// in S): v(S) = -max c over S = sum_j -(c_j - c_{j-1}) [S meets {j..n}], each term a
/// rule; checked against the closed form of the paper, by enumeration and by MC-nets.
#[test]
fn airport_game() {
    let c = [1i64, 3, 4, 8, 9];
    let n = c.len();
    let expect: Vec<Ratio> = (0..n)
        .map(|i| {
            (0..=i)
                .map(|j| {
                    let prev = if j == 0 { 0 } else { c[j - 1] };
                    r(-(c[j] - prev), i64::try_from(n - j).unwrap_or(1))
                })
                .sum()
        })
        .collect();
    let table: Vec<i64> = (0..1usize << n)
        .map(|s| {
            -(0..n)
                .filter(|&i| s >> i & 1 == 1)
                .map(|i| c[i])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let g = ok(Explicit::from_integers(table));
    assert_eq!(ok(shapley_exact(&g, 25)), expect);
    // "S meets {j..n}" = not "none of j..n present": value -d as a rule with that `none`
    // set, plus the constant d, which is split to nobody.
    let mut rules = Vec::new();
    for j in 0..n {
        let d = c[j] - if j == 0 { 0 } else { c[j - 1] };
        rules.push(Rule {
            all: vec![],
            none: (j..n).collect(),
            value: r(d, 1),
        });
        rules.push(Rule {
            all: vec![],
            none: vec![],
            value: r(-d, 1),
        });
    }
    let m = ok(McNets::new(n, rules));
    assert_eq!(m.shapley_closed_form(), expect);
}

/// Owen value of the three-player majority game with unions {1,2},{3}: the union {1,2}
/// wins alone, so it takes 1 and splits it equally: (1/2, 1/2, 0) (Owen, "Values of
/// games with a priori unions", 1977, the standard illustration).
#[test]
fn owen_majority_with_unions() {
    let g = ok(WeightedVoting::new(vec![1, 1, 1], 2));
    let o = ok(owen_exact(&g, &[vec![0, 1], vec![2]]));
    assert_eq!(o, vec![r(1, 2), r(1, 2), r(0, 1)]);
    let req = Request {
        method: Method::Owen,
        unions: Some(vec![vec![0, 1], vec![2]]),
        ..Request::default()
    };
    let sol = ok(solve(&g, &req));
    assert_eq!(sol.method, Used::OwenExact);
    assert_eq!(sol.values, Values::Exact(o));
}

/// Unanimity game u_T: 1/|T| to each member of T, 0 to others; additive game: a_i.
#[test]
fn unanimity_and_additive() {
    let u = ok(McNets::unanimity(5, vec![0, 2, 4], r(1, 1)));
    assert_eq!(
        u.shapley_closed_form(),
        vec![r(1, 3), r(0, 1), r(1, 3), r(0, 1), r(1, 3)]
    );
    let a = ok(McNets::additive(vec![r(1, 2), r(-3, 1), r(7, 5)]));
    assert_eq!(a.shapley_closed_form(), vec![r(1, 2), r(-3, 1), r(7, 5)]);
    let sol = ok(solve(&a, &Request::default()));
    assert_eq!(sol.method, Used::ClosedFormMcNets);
    let _ = BigInt::from(0);
}
