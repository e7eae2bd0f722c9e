//! A fast exact rational for game construction: `i128` numerator and denominator while they
//! fit, a big rational beyond. Building a game does a few operations per rule on values
//! with small denominators (powers of ten times small parent counts); big-integer gcds
//! there cost more than solving. Results are identical either way: only speed differs.

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};
use rust_decimal::Decimal;

use crate::shapley::money::decimal_to_ratio;

/// An exact rational number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exact {
    /// Reduced `numerator / denominator`, denominator > 0.
    Small(i128, i128),
    /// Anything larger (boxed: keeps the common case small).
    Big(Box<BigRational>),
}

impl Exact {
    /// Zero.
    pub const ZERO: Exact = Exact::Small(0, 1);

    /// The exact value of a decimal.
    pub fn from_decimal(d: Decimal) -> Exact {
        let den = 10i128.checked_pow(d.scale());
        match den {
            Some(den) => Exact::small(d.mantissa(), den),
            None => Exact::Big(Box::new(decimal_to_ratio(d))),
        }
    }

    /// An integer.
    pub fn int(n: i128) -> Exact {
        Exact::Small(n, 1)
    }

    /// `n / d` reduced, for d > 0.
    pub fn reduced(n: i128, d: i128) -> Exact {
        if n == i128::MIN {
            // Its gcd overflows i128.
            return Exact::from_ratio(BigRational::new(n.into(), d.into()));
        }
        Exact::small(n, d)
    }

    fn small(n: i128, d: i128) -> Exact {
        // Most values of a game fit in 64 bits, where gcd and division cost a fraction of
        // their 128-bit forms; the result is the same reduced pair.
        if let (Ok(n), Ok(d)) = (i64::try_from(n), i64::try_from(d))
            && n != i64::MIN
            && d != i64::MIN
        {
            let g = n.gcd(&d);
            return if g > 1 {
                Exact::Small(i128::from(n / g), i128::from(d / g))
            } else {
                Exact::Small(i128::from(n), i128::from(d))
            };
        }
        let g = n.gcd(&d);
        if g > 1 {
            Exact::Small(n / g, d / g)
        } else {
            Exact::Small(n, d)
        }
    }

    /// As a big rational.
    pub fn to_ratio(&self) -> BigRational {
        match self {
            // Already reduced: no gcd needed.
            Exact::Small(n, d) => BigRational::new_raw(BigInt::from(*n), BigInt::from(*d)),
            Exact::Big(r) => (**r).clone(),
        }
    }

    /// From a big rational (small when it fits).
    pub fn from_ratio(r: BigRational) -> Exact {
        match (r.numer().to_i128(), r.denom().to_i128()) {
            (Some(n), Some(d)) => Exact::Small(n, d),
            _ => Exact::Big(Box::new(r)),
        }
    }

    /// Whether it is zero.
    pub fn is_zero(&self) -> bool {
        match self {
            Exact::Small(n, _) => *n == 0,
            Exact::Big(r) => r.is_zero(),
        }
    }

    /// Whether it is > 0.
    pub fn is_positive(&self) -> bool {
        match self {
            Exact::Small(n, _) => *n > 0,
            Exact::Big(r) => **r > BigRational::zero(),
        }
    }

    /// The denominator when small.
    pub fn small_parts(&self) -> Option<(i128, i128)> {
        match self {
            Exact::Small(n, d) => Some((*n, *d)),
            Exact::Big(_) => None,
        }
    }

    /// self + other.
    pub fn add(&self, other: &Exact) -> Exact {
        if let (Exact::Small(a, b), Exact::Small(c, d)) = (self, other) {
            // Same denominator (merging parts of one contribution): one gcd, not two.
            if b == d
                && let Some(n) = a.checked_add(*c)
            {
                return Exact::small(n, *b);
            }
            let g = gcd(*b, *d);
            let sum = (|| {
                let l = (b / g).checked_mul(*d)?;
                a.checked_mul(l / b)?
                    .checked_add(c.checked_mul(l / d)?)
                    .map(|n| (n, l))
            })();
            if let Some((n, l)) = sum {
                return Exact::small(n, l);
            }
        }
        Exact::from_ratio(self.to_ratio() + other.to_ratio())
    }

    /// self − other.
    pub fn sub(&self, other: &Exact) -> Exact {
        self.add(&other.neg())
    }

    fn neg(&self) -> Exact {
        match self {
            Exact::Small(n, d) if *n != i128::MIN => Exact::Small(-n, *d),
            _ => Exact::from_ratio(-self.to_ratio()),
        }
    }

    /// self × other.
    pub fn mul(&self, other: &Exact) -> Exact {
        if let (Exact::Small(a, b), Exact::Small(c, d)) = (self, other) {
            let g1 = gcd(*a, *d).max(1);
            let g2 = gcd(*c, *b).max(1);
            if let (Some(n), Some(m)) = ((a / g1).checked_mul(c / g2), (b / g2).checked_mul(d / g1))
            {
                return Exact::Small(n, m);
            }
        }
        Exact::from_ratio(self.to_ratio() * other.to_ratio())
    }

    /// self / k, k > 0.
    pub fn div_int(&self, k: u64) -> Exact {
        let k = i128::from(k);
        if let Exact::Small(a, b) = self {
            let g = gcd(*a, k).max(1);
            if let Some(m) = b.checked_mul(k / g) {
                return Exact::Small(a / g, m);
            }
        }
        Exact::from_ratio(self.to_ratio() / BigRational::from_integer(BigInt::from(k)))
    }

    /// Reduced `p/q`, or `p` for integers (as the engine prints exact values).
    pub fn to_text(&self) -> String {
        match self {
            Exact::Small(n, 1) => n.to_string(),
            Exact::Small(n, d) => format!("{n}/{d}"),
            Exact::Big(r) => crate::shapley::rational::fmt_ratio(r),
        }
    }
}

/// The non-negative gcd, in 64-bit arithmetic when both fit (see [`Exact::small`]).
fn gcd(a: i128, b: i128) -> i128 {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) if a != i64::MIN && b != i64::MIN => i128::from(a.gcd(&b)),
        _ => a.gcd(&b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(n: i64, d: i64) -> BigRational {
        BigRational::new(n.into(), d.into())
    }

    #[test]
    fn small_and_big_agree() {
        let a = Exact::from_decimal(Decimal::new(15, 1));
        let b = Exact::int(3).div_int(7);
        assert_eq!(a.add(&b).to_ratio(), big(3, 2) + big(3, 7));
        assert_eq!(a.sub(&b).to_ratio(), big(3, 2) - big(3, 7));
        assert_eq!(a.mul(&b).to_ratio(), big(9, 14));
        assert_eq!(a.mul(&b).to_text(), "9/14");
        let huge = Exact::int(i128::MAX / 3);
        let sum = huge.add(&huge).add(&huge).add(&huge);
        assert_eq!(
            sum.to_ratio(),
            BigRational::from_integer(BigInt::from(i128::MAX / 3) * 4)
        );
        assert!(matches!(sum, Exact::Big(_)));
        let tiny = Exact::int(1).div_int(u64::MAX).div_int(u64::MAX).div_int(3);
        assert!(matches!(tiny, Exact::Big(_)));
        assert_eq!(
            tiny.mul(&Exact::int(3)).div_int(1).to_ratio().recip(),
            BigRational::from_integer(BigInt::from(u64::MAX) * BigInt::from(u64::MAX))
        );
    }
}
