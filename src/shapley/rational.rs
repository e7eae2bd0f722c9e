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
    let scale = exp - frac_part.len() as i64;
    if scale.unsigned_abs() > 10_000 {
        return Err(format!("exponent out of range in {t:?}"));
    }
    let ten = BigInt::from(10u32);
    let p = num_traits::pow(ten, scale.unsigned_abs() as usize);
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

/// Format a rational as `p/q` reduced, or `p` when it is an integer.
pub fn fmt_ratio(r: &BigRational) -> String {
    if r.is_integer() {
        r.numer().to_string()
    } else {
        format!("{}/{}", r.numer(), r.denom())
    }
}

/// Nearest f64 of a rational (for display and comparison only).
pub fn to_f64(r: &BigRational) -> f64 {
    r.to_f64().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(p: i64, q: i64) -> BigRational {
        BigRational::new(p.into(), q.into())
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
