//! Exact number helpers: parsing decimal text to rationals, factorials, formatting.

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

/// Parse a decimal number exactly: `-12`, `3.25`, `1e-3`, `2.5E+4`, or a fraction `p/q`.
/// Never goes through floating point.
pub fn parse_exact(text: &str) -> Result<BigRational, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty number".into());
    }
    if let Some((p, q)) = t.split_once('/') {
        let num: BigInt = parse_int(p.trim()).ok_or_else(|| format!("bad numerator in {t:?}"))?;
        let den: BigInt = parse_int(q.trim()).ok_or_else(|| format!("bad denominator in {t:?}"))?;
        if den.is_zero() {
            return Err(format!("zero denominator in {t:?}"));
        }
        return Ok(BigRational::new(num, den));
    }
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(pos) => {
            let e: i64 = t[pos + 1..]
                .parse()
                .map_err(|_| format!("bad exponent in {t:?}"))?;
            (&t[..pos], e)
        }
        None => (t, 0),
    };
    let (neg, body) = match mantissa.as_bytes().first() {
        Some(b'-') => (true, &mantissa[1..]),
        Some(b'+') => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("not a decimal number: {t:?}"));
    }
    let digits = format!("{int_part}{frac_part}");
    let mut num: BigInt = digits
        .parse()
        .map_err(|_| format!("not a decimal number: {t:?}"))?;
    if neg {
        num = -num;
    }
    let scale = i64::try_from(frac_part.len())
        .ok()
        .and_then(|digits| exp.checked_sub(digits))
        .filter(|scale| scale.unsigned_abs() <= 10_000)
        .ok_or_else(|| format!("exponent out of range in {t:?}"))?;
    let ten = BigInt::from(10u32);
    // At most 10,000 (checked above).
    let p = num_traits::pow(ten, usize::try_from(scale.unsigned_abs()).unwrap_or(10_000));
    Ok(if scale >= 0 {
        BigRational::from_integer(num * p)
    } else {
        BigRational::new(num, p)
    })
}

fn parse_int(s: &str) -> Option<BigInt> {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `k!` as a big integer.
pub fn factorial(k: usize) -> BigInt {
    (1..=k).fold(BigInt::one(), |acc, i| acc * BigInt::from(i))
}

/// Binomial coefficient C(n, k).
pub fn binomial(n: usize, k: usize) -> BigInt {
    if k > n {
        return BigInt::zero();
    }
    let k = k.min(n - k);
    let mut acc = BigInt::one();
    for i in 0..k {
        acc = acc * BigInt::from(n - i) / BigInt::from(i + 1);
    }
    acc
}

/// Factorials `0!..=n!`.
pub fn factorials(n: usize) -> Vec<BigInt> {
    let mut out = Vec::with_capacity(n + 1);
    let mut acc = BigInt::one();
    out.push(acc.clone());
    for i in 1..=n {
        acc *= BigInt::from(i);
        out.push(acc.clone());
    }
    out
}

/// Least common multiple of big integers (absolute values); 1 for an empty list.
pub fn lcm_all<'a>(it: impl IntoIterator<Item = &'a BigInt>) -> BigInt {
    it.into_iter()
        .fold(BigInt::one(), |acc, d| acc.lcm(&d.abs()))
}

/// `n / d` reduced, for d != 0. An allocation builds tens of thousands of these, mostly of
/// 128-bit size, where a machine gcd costs a small part of a big-integer one.
pub fn ratio(n: BigInt, d: BigInt) -> BigRational {
    if let (Some(a), Some(b)) = (n.to_i128(), d.to_i128())
        && a != i128::MIN
        && b != i128::MIN
        && b != 0
    {
        let g = a.gcd(&b);
        let (a, b) = if b < 0 {
            (-a / g, -b / g)
        } else {
            (a / g, b / g)
        };
        return BigRational::new_raw(a.into(), b.into());
    }
    BigRational::new(n, d)
}

/// `a × b` reduced (see [`ratio`]).
pub fn times(a: &BigRational, b: &BigRational) -> BigRational {
    ratio(a.numer() * b.numer(), a.denom() * b.denom())
}

/// The exact sum of `values`: over their common denominator in 128-bit integers when it
/// fits (one reduction in all), else term by term.
pub fn sum<'a, I>(values: I) -> BigRational
where
    I: IntoIterator<Item = &'a BigRational>,
    I::IntoIter: Clone,
{
    let values = values.into_iter();
    let common = values.clone().try_fold(1i128, |l, v| {
        let d = v.denom().to_i128()?;
        if l % d == 0 {
            Some(l)
        } else {
            (l / l.gcd(&d)).checked_mul(d)
        }
    });
    let total = common.and_then(|l| {
        values.clone().try_fold(0i128, |acc, v| {
            let scaled = v.numer().to_i128()?.checked_mul(l / v.denom().to_i128()?)?;
            acc.checked_add(scaled)
        })
    });
    match (total, common) {
        (Some(total), Some(l)) => ratio(total.into(), l.into()),
        _ => values.sum(),
    }
}

/// Format a rational as `p/q` reduced, or `p` when it is an integer.
pub fn fmt_ratio(r: &BigRational) -> String {
    // Machine integers print without the big-integer radix conversion.
    match (r.numer().to_i128(), r.denom().to_i128()) {
        (Some(n), Some(1)) => n.to_string(),
        (Some(n), Some(d)) => format!("{n}/{d}"),
        _ if r.is_integer() => r.numer().to_string(),
        _ => format!("{}/{}", r.numer(), r.denom()),
    }
}

/// Nearest f64 of a rational (for display and comparison only).
pub fn to_f64(r: &BigRational) -> f64 {
    r.to_f64().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(p: i64, q: i64) -> BigRational {
        BigRational::new(p.into(), q.into())
    }

    /// A numerator or denominator: mostly machine-sized, sometimes past 128 bits, so both
    /// paths of `ratio`, `times` and `sum` run.
    fn part() -> impl Strategy<Value = BigInt> {
        prop_oneof![
            4 => (-1_000_000i64..1_000_000).prop_map(BigInt::from),
            2 => any::<i64>().prop_map(BigInt::from),
            1 => any::<i128>().prop_map(|n| BigInt::from(n) * BigInt::from(u64::MAX)),
        ]
    }

    fn fraction() -> impl Strategy<Value = (BigInt, BigInt)> {
        (part(), part().prop_filter("non-zero", |d| !d.is_zero()))
    }

    proptest! {
        #[test]
        fn fast_paths_agree_with_big_rationals(
            a in fraction(),
            b in fraction(),
            list in proptest::collection::vec(fraction(), 0..40),
        ) {
            prop_assert_eq!(ratio(a.0.clone(), a.1.clone()), BigRational::new(a.0.clone(), a.1.clone()));
            let (x, y) = (BigRational::new(a.0, a.1), BigRational::new(b.0, b.1));
            prop_assert_eq!(times(&x, &y), &x * &y);
            let list: Vec<BigRational> = list.into_iter().map(|(n, d)| BigRational::new(n, d)).collect();
            prop_assert_eq!(sum(&list), list.iter().sum::<BigRational>());
            prop_assert_eq!(fmt_ratio(&x), if x.is_integer() { x.numer().to_string() } else { format!("{}/{}", x.numer(), x.denom()) });
        }
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_exact("0.1").ok(), Some(r(1, 10)));
        assert_eq!(parse_exact("-3.25").ok(), Some(r(-13, 4)));
        assert_eq!(parse_exact("1e-3").ok(), Some(r(1, 1000)));
        assert_eq!(parse_exact("2.5E+2").ok(), Some(r(250, 1)));
        assert_eq!(parse_exact("7").ok(), Some(r(7, 1)));
        assert_eq!(parse_exact("2/6").ok(), Some(r(1, 3)));
        assert_eq!(parse_exact(".5").ok(), Some(r(1, 2)));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "abc", "1..2", "1e", "1/0", "--1", "1.2.3", "0x10", "."] {
            assert!(parse_exact(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_reduced() {
        assert_eq!(fmt_ratio(&r(2, 4)), "1/2");
        assert_eq!(fmt_ratio(&r(-6, 3)), "-2");
    }
}
