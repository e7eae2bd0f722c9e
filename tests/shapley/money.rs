//! Rounding to money: the sum is exact and each payout is within one minor unit.

use fairshare::shapley::Ratio;
use fairshare::shapley::money::{decimal_to_ratio, payouts, proportional};
use num_traits::Signed;
use proptest::prelude::*;
use rust_decimal::Decimal;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sum_exact_and_within_one_unit(
        weights in prop::collection::vec(-1000i64..1000, 1..30),
        cents in 1i64..100_000_000,
        scale in 0u32..4,
    ) {
        let values: Vec<Ratio> = weights.iter().map(|&w| Ratio::from_integer(w.into())).collect();
        let total = Decimal::new(cents, scale);
        let amounts = match proportional(&values, total) {
            Ok(a) => a,
            Err(_) => return Ok(()), // weights summing to zero: no proportional split
        };
        let p = match payouts(&amounts, total, scale) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let sum: Decimal = p.iter().sum();
        prop_assert_eq!(sum, total);
        let unit = Ratio::new(1.into(), num_traits::pow(num_bigint::BigInt::from(10), scale as usize));
        for (x, a) in p.iter().zip(&amounts) {
            prop_assert!((decimal_to_ratio(*x) - a).abs() < unit);
        }
    }

    #[test]
    fn the_largest_remainders_get_the_units_ties_to_the_first(
        weights in prop::collection::vec(0i64..6, 1..40),
        cents in 1i64..10_000,
    ) {
        // Few distinct weights: many equal remainders, several units left to hand out.
        let values: Vec<Ratio> = weights.iter().map(|&w| Ratio::from_integer(w.into())).collect();
        let total = Decimal::new(cents, 2);
        let Ok(amounts) = proportional(&values, total) else { return Ok(()) };
        let p = match payouts(&amounts, total, 2) { Ok(p) => p, Err(e) => panic!("{e}") };
        prop_assert_eq!(p, largest_remainder_by_sorting(&amounts, total));
    }

    #[test]
    fn deterministic_tie_break(n in 2usize..12) {
        // 1 unit over n equal shares: the first player in input order gets the extra unit.
        let amounts = vec![Ratio::new(1.into(), n.into()); n];
        let p = match payouts(&amounts, Decimal::ONE, 0) { Ok(p) => p, Err(e) => panic!("{e}") };
        prop_assert_eq!(p[0], Decimal::ONE);
        prop_assert!(p[1..].iter().all(|x| x.is_zero()));
    }
}

/// The rule as stated, the plain way: floors in cents, then one more cent each to the
/// largest remainders in a stable sort (equal ones keep input order).
fn largest_remainder_by_sorting(amounts: &[Ratio], total: Decimal) -> Vec<Decimal> {
    let cents: Vec<Ratio> = amounts
        .iter()
        .map(|a| a * Ratio::from_integer(100.into()))
        .collect();
    let mut floors: Vec<i64> = cents
        .iter()
        .map(|c| c.floor().to_integer().try_into().expect("fits"))
        .collect();
    let total_cents: i64 = (total * Decimal::ONE_HUNDRED)
        .try_into()
        .expect("whole cents");
    let left = usize::try_from(total_cents - floors.iter().sum::<i64>()).expect("non-negative");
    let mut order: Vec<usize> = (0..amounts.len()).collect();
    order.sort_by(|&i, &j| (&cents[j] - cents[j].floor()).cmp(&(&cents[i] - cents[i].floor())));
    for &i in order.iter().take(left) {
        floors[i] += 1;
    }
    floors.into_iter().map(|f| Decimal::new(f, 2)).collect()
}
