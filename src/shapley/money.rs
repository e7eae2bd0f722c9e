//! Rounding exact shares to money by largest remainder (Hamilton's method).
//!
//! Rule: scale each exact amount to minor units (`amount * 10^scale`), give every player
//! the floor (towards minus infinity), then hand the remaining units, one each, to the
//! players with the largest fractional remainders; equal remainders go to the player that
//! comes first in the input order. The payouts then add up exactly to the total, and each
//! differs from its exact amount by less than one minor unit.
//!
//! Negative amounts (games with negative worths can give negative Shapley values) are
//! allowed and rounded by the same rule: a negative payout means the player owes that
//! amount. Clamping or netting them is the policy's business, not the engine's.

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};
use rust_decimal::Decimal;

use super::error::{Result, ShapleyError};
use super::rational;

/// The exact value of a decimal.
pub fn decimal_to_ratio(d: Decimal) -> BigRational {
    BigRational::new(
        BigInt::from(d.mantissa()),
        num_traits::pow(BigInt::from(10u32), d.scale() as usize),
    )
}

/// Exact amounts `total * values[i] / sum(values)`: shares of `total` proportional to the
/// values (for games whose worths are not already in money). Errors when the values sum
/// to zero.
pub fn proportional(values: &[BigRational], total: Decimal) -> Result<Vec<BigRational>> {
    let sum: BigRational = values.iter().sum();
    if sum.is_zero() {
        return Err(ShapleyError::Money(
            "values sum to zero: no proportional split".into(),
        ));
    }
    let t = decimal_to_ratio(total);
    Ok(values.iter().map(|v| &t * v / &sum).collect())
}

/// Payouts in minor units of `minor_unit_scale` decimals (2 for EUR, 0 for JPY) whose sum
/// is exactly `total`. `amounts` must add up exactly to `total`, and `total` must be a
/// whole number of minor units.
pub fn payouts(
    amounts: &[BigRational],
    total: Decimal,
    minor_unit_scale: u32,
) -> Result<Vec<Decimal>> {
    if minor_unit_scale > Decimal::MAX_SCALE {
        return Err(ShapleyError::Money(format!(
            "minor unit scale {minor_unit_scale} exceeds {}",
            Decimal::MAX_SCALE
        )));
    }
    let t = decimal_to_ratio(total);
    let sum = rational::sum(amounts);
    if sum != t {
        return Err(ShapleyError::Money(format!(
            "amounts sum to {} / {}, not the total {total}",
            sum.numer(),
            sum.denom()
        )));
    }
    let unit = num_traits::pow(BigInt::from(10u32), minor_unit_scale as usize);
    let total_units = &t * BigRational::from_integer(unit.clone());
    if !total_units.is_integer() {
        return Err(ShapleyError::Money(format!(
            "total {total} has more than {minor_unit_scale} decimals"
        )));
    }
    // In minor units an amount n/d is n·10^scale / d = floor + r/d with 0 <= r < d: one
    // integer division each, no rational arithmetic.
    let (mut floors, rems): (Vec<BigInt>, Vec<BigInt>) = amounts
        .iter()
        .map(|a| (a.numer() * &unit).div_mod_floor(a.denom()))
        .unzip();
    let floor_sum: BigInt = floors.iter().sum();
    let left = (total_units.to_integer() - floor_sum)
        .to_usize()
        .ok_or_else(|| ShapleyError::Money("internal: negative remainder count".into()))?;
    // The `left` largest remainders r/d (r_i·d_j against r_j·d_i), equal ones to the player
    // that comes first: which they are needs a selection, not a sort.
    let largest_first = |&i: &usize, &j: &usize| {
        (&rems[j] * amounts[i].denom())
            .cmp(&(&rems[i] * amounts[j].denom()))
            .then(i.cmp(&j))
    };
    let mut order: Vec<usize> = (0..amounts.len()).collect();
    if left > 0 && left < order.len() {
        order.select_nth_unstable_by(left - 1, largest_first);
    }
    for &i in order.iter().take(left) {
        floors[i] += 1;
    }
    floors
        .into_iter()
        .enumerate()
        .map(|(i, units)| {
            let v = units.to_i128().ok_or_else(|| {
                ShapleyError::Money(format!("payout {i} does not fit in a decimal"))
            })?;
            Decimal::try_from_i128_with_scale(v, minor_unit_scale)
                .map_err(|e| ShapleyError::Money(format!("payout {i}: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn r(p: i64, q: i64) -> BigRational {
        BigRational::new(p.into(), q.into())
    }
    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn thirds_of_a_hundred() {
        let p = payouts(&[r(100, 3), r(100, 3), r(100, 3)], d("100"), 2);
        assert_eq!(p, Ok(vec![d("33.34"), d("33.33"), d("33.33")]));
    }

    #[test]
    fn largest_remainder_wins() {
        // 10 split 1/6, 2/6, 3/6 in cents: 1.666.., 3.333.., 5.0 -> remainders .67, .33, 0
        let p = payouts(&[r(10, 6), r(20, 6), r(5, 1)], d("10"), 2);
        assert_eq!(p, Ok(vec![d("1.67"), d("3.33"), d("5.00")]));
    }

    #[test]
    fn negative_amounts_round_the_same_way() {
        let p = payouts(&[r(-10, 3), r(40, 3), r(0, 1)], d("10"), 2);
        // -333.33.. -> floor -334, rem 2/3; 1333.33.. -> floor 1333, rem 1/3; 0.
        assert_eq!(p, Ok(vec![d("-3.33"), d("13.33"), d("0.00")]));
    }

    #[test]
    fn rejects_mismatched_total_and_fine_total() {
        assert!(payouts(&[r(1, 1)], d("2"), 2).is_err());
        assert!(payouts(&[r(1, 1000)], d("0.001"), 2).is_err());
        assert!(proportional(&[r(0, 1)], d("1")).is_err());
    }
}
