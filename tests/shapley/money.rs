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
    fn deterministic_tie_break(n in 2usize..12) {
        // 1 unit over n equal shares: the first player in input order gets the extra unit.
        let amounts = vec![Ratio::new(1.into(), (n as i64).into()); n];
        let p = match payouts(&amounts, Decimal::ONE, 0) { Ok(p) => p, Err(e) => panic!("{e}") };
        prop_assert_eq!(p[0], Decimal::ONE);
        prop_assert!(p[1..].iter().all(|x| x.is_zero()));
    }
}
