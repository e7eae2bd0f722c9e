//! Worths as machine integers over one common denominator, read straight from their text.
//!
//! A game file's worths are decimals (`"12.5"`, `1e-3`) or fractions (`"1/3"`). Building one
//! big rational per worth costs microseconds; most files fit in a far cheaper form: every
//! worth is `num / den` with `num` an `i64` and `den` a power of ten or a small fraction
//! denominator, so the whole list is `nums[k] / D` for one common denominator `D` (a power of
//! ten for decimals, the lcm of the denominators for fractions). [`small_worth`] reads one
//! worth in that form without allocating, [`Accumulator`] brings a list to one denominator
//! (rescaling what it holds when a worth needs a finer one), and [`read_array`] reads a JSON
//! array of worths in chunks on all cores. Whatever does not fit (more than 18 digits, an
//! overflowing denominator, a string with escapes) returns `None`, and the caller reads the
//! list with big rationals as before.
//!
//! The result is reduced ([`Scaled::reduce`]): `D` is the lcm of the reduced denominators of
//! the worths, exactly the denominator the big-rational path computes, so both paths build
//! the same game, bit for bit.

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use rayon::prelude::*;

/// A worth as `num / den` in machine integers (not reduced), `den >= 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmallWorth {
    /// Numerator.
    pub num: i64,
    /// Denominator, at least 1.
    pub den: u64,
}

/// Largest power of ten a decimal worth may carry (10^18 fits in both u64 and i64).
const MAX_DECIMALS: u32 = 18;

/// The decimal digits of `text` as an integer, or `None` when empty, not all digits, or
/// larger than `u64`.
fn digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |acc, &b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Applies an optional leading sign to a magnitude.
fn signed(text: &[u8]) -> Option<i64> {
    let (negative, body) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = i64::try_from(digits(body)?).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Reads a decimal (`-12`, `3.25`, `1e-3`, `.5`) or a fraction (`p/q`) without allocating,
/// when it fits in machine integers. `None` means "read it with `parse_exact`": the text is
/// outside this fast grammar (spaces, an empty part, a zero denominator: `parse_exact`
/// words the error) or does not fit. Everything accepted here is accepted by `parse_exact`
/// with the same value (property-tested).
pub fn small_worth(text: &[u8]) -> Option<SmallWorth> {
    if let Some(slash) = text.iter().position(|&b| b == b'/') {
        let num = signed(&text[..slash])?;
        let den = signed(&text[slash + 1..])?;
        return match den.signum() {
            1 => Some(SmallWorth {
                num,
                den: den.unsigned_abs(),
            }),
            -1 => Some(SmallWorth {
                num: num.checked_neg()?,
                den: den.unsigned_abs(),
            }),
            _ => None,
        };
    }
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e' || b == b'E') {
        Some(e) => (&text[..e], signed(&text[e + 1..])?),
        None => (text, 0),
    };
    let (negative, body) = match mantissa.first() {
        Some(b'-') => (true, &mantissa[1..]),
        Some(b'+') => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int_part, frac_part) = match body.iter().position(|&b| b == b'.') {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, &body[body.len()..]),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    // All digits, at most 18 in all, so the concatenation fits in u64.
    if int_part.len() + frac_part.len() > MAX_DECIMALS as usize {
        return None;
    }
    let whole = if int_part.is_empty() {
        0
    } else {
        digits(int_part)?
    };
    let frac = if frac_part.is_empty() {
        0
    } else {
        digits(frac_part)?
    };
    let frac_len = u32::try_from(frac_part.len()).ok()?;
    let magnitude = whole * 10u64.pow(frac_len) + frac;
    let scale = exponent.checked_sub(i64::from(frac_len))?;
    let (magnitude, den) = if scale >= 0 {
        let up = 10u64.checked_pow(u32::try_from(scale).ok()?)?;
        (magnitude.checked_mul(up)?, 1)
    } else {
        let down = u32::try_from(scale.unsigned_abs()).ok()?;
        if down > MAX_DECIMALS {
            return None;
        }
        (magnitude, 10u64.pow(down))
    };
    let magnitude = i64::try_from(magnitude).ok()?;
    Some(SmallWorth {
        num: if negative { -magnitude } else { magnitude },
        den,
    })
}

/// Worths `nums[k] / den` over one common denominator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaled {
    /// The common denominator, at least 1.
    pub den: u64,
    /// The numerators, in input order.
    pub nums: Vec<i64>,
}

impl Scaled {
    /// Divides the denominator and every numerator by their greatest common divisor, so
    /// `den` becomes the lcm of the worths' reduced denominators.
    #[must_use]
    pub fn reduce(mut self) -> Self {
        if self.den == 1 {
            return self;
        }
        let den = self.den;
        // Most lists reach 1 within a few elements; a divisor check is cheaper than a gcd.
        let common = self
            .nums
            .par_chunks(1 << 16)
            .map(|chunk| {
                chunk.iter().fold(den, |g, &x| {
                    if g == 1 || x.unsigned_abs() % g == 0 {
                        g
                    } else {
                        g.gcd(&(x.unsigned_abs() % g))
                    }
                })
            })
            .reduce(|| den, |a, b| a.gcd(&b));
        if common > 1 {
            // `common` divides every |num|, so the quotients are exact and no larger.
            match i64::try_from(common) {
                Ok(divisor) => self.nums.par_iter_mut().for_each(|x| *x /= divisor),
                // Only 0 and i64::MIN are multiples of a divisor above i64::MAX.
                Err(_) => self.nums.iter_mut().for_each(|x| {
                    *x = i64::try_from(i128::from(*x) / i128::from(common)).unwrap_or(0);
                }),
            }
            self.den /= common;
        }
        self
    }
}

/// Exact worths over one common denominator `den` (the lcm of their reduced denominators):
/// `i64` numerators when every one fits, big integers otherwise. The storage of explicit
/// tables and MC-nets rule values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worths {
    den: BigInt,
    table: Table,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Table {
    Small(Vec<i64>),
    Big(Vec<BigInt>),
}

/// Largest integer every smaller one of which an f64 holds exactly.
const EXACT_F64: u64 = 1 << 53;

impl Worths {
    /// From exact rationals: `den` = lcm of their denominators.
    pub fn from_ratios(values: &[BigRational]) -> Self {
        let den = super::rational::lcm_all(values.iter().map(|v| v.denom()));
        let scaled: Vec<BigInt> = values
            .iter()
            .map(|v| v.numer() * (&den / v.denom()))
            .collect();
        let small: Option<Vec<i64>> = scaled.iter().map(|v| i64::try_from(v).ok()).collect();
        let table = match small {
            Some(v) => Table::Small(v),
            None => Table::Big(scaled),
        };
        Self { den, table }
    }

    /// From worths already over one denominator (reduced here, so the result equals
    /// [`Worths::from_ratios`] of the same values).
    pub fn from_scaled(scaled: Scaled) -> Self {
        let Scaled { den, nums } = scaled.reduce();
        Self {
            den: den.into(),
            table: Table::Small(nums),
        }
    }

    /// Integers over denominator 1.
    pub fn from_integers(nums: Vec<i64>) -> Self {
        Self {
            den: BigInt::from(1),
            table: Table::Small(nums),
        }
    }

    /// The common denominator.
    pub fn den(&self) -> &BigInt {
        &self.den
    }

    /// Number of worths.
    pub fn len(&self) -> usize {
        match &self.table {
            Table::Small(v) => v.len(),
            Table::Big(v) => v.len(),
        }
    }

    /// Whether there is no worth.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The numerators, when all fit in `i64`.
    pub fn small(&self) -> Option<&[i64]> {
        match &self.table {
            Table::Small(v) => Some(v),
            Table::Big(_) => None,
        }
    }

    /// `den` times worth `k`.
    pub fn scaled(&self, k: usize) -> BigInt {
        match &self.table {
            Table::Small(v) => BigInt::from(v[k]),
            Table::Big(v) => v[k].clone(),
        }
    }

    /// `den` times worth `k`, when it fits in `i64`.
    pub fn scaled_i64(&self, k: usize) -> Option<i64> {
        match &self.table {
            Table::Small(v) => Some(v[k]),
            Table::Big(v) => i64::try_from(&v[k]).ok(),
        }
    }

    /// Worth `k` exactly.
    pub fn ratio(&self, k: usize) -> BigRational {
        super::rational::ratio(self.scaled(k), self.den.clone())
    }

    /// Worth `k` as the nearest f64 (a division when numerator and denominator are exact
    /// in f64, which IEEE rounds correctly, else the big-rational conversion).
    pub fn to_f64(&self, k: usize) -> f64 {
        if let (Some(x), Some(d)) = (self.scaled_i64(k), u64::try_from(&self.den).ok())
            && x.unsigned_abs() <= EXACT_F64
            && d <= EXACT_F64
        {
            // Both are exact in f64 (at most 2^53): the casts lose nothing.
            return x as f64 / d as f64;
        }
        super::rational::to_f64(&self.ratio(k))
    }
}

/// Brings worths to one common denominator as they come.
#[derive(Debug, Clone)]
pub struct Accumulator {
    den: u64,
    nums: Vec<i64>,
}

impl Default for Accumulator {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl Accumulator {
    /// An empty list with room for `capacity` worths.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            den: 1,
            nums: Vec::with_capacity(capacity),
        }
    }

    /// Moves every numerator to the denominator `den`, a multiple of the current one.
    fn rescale(&mut self, den: u64) -> Option<()> {
        if den != self.den {
            let factor = i64::try_from(den / self.den).ok()?;
            for x in &mut self.nums {
                *x = x.checked_mul(factor)?;
            }
            self.den = den;
        }
        Some(())
    }

    /// Appends one worth; `None` when the common denominator or a numerator overflows.
    /// The denominator only grows (at most 63 times, each a doubling or more), so rescaling
    /// costs a bounded number of passes over what is held.
    pub fn push(&mut self, w: SmallWorth) -> Option<()> {
        if !self.den.is_multiple_of(w.den) {
            let lcm = (self.den / self.den.gcd(&w.den)).checked_mul(w.den)?;
            self.rescale(lcm)?;
        }
        let factor = i64::try_from(self.den / w.den).ok()?;
        self.nums.push(w.num.checked_mul(factor)?);
        Some(())
    }

    /// Number of worths held.
    pub fn len(&self) -> usize {
        self.nums.len()
    }

    /// Whether no worth is held.
    pub fn is_empty(&self) -> bool {
        self.nums.is_empty()
    }

    /// Joins lists read in order (chunks of one array) over their common denominator.
    pub fn concat(parts: Vec<Accumulator>) -> Option<Scaled> {
        let den = parts
            .iter()
            .try_fold(1u64, |l, p| (l / l.gcd(&p.den)).checked_mul(p.den))?;
        let mut parts = parts;
        parts
            .par_iter_mut()
            .try_for_each(|p| p.rescale(den).ok_or(()))
            .ok()?;
        let total = parts.iter().map(Accumulator::len).sum();
        let mut nums = Vec::with_capacity(total);
        for p in parts {
            nums.extend_from_slice(&p.nums);
        }
        Some(Scaled { den, nums })
    }
}

/// JSON whitespace.
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// After an element of an array ends at `pos`: skips whitespace and a comma. Returns the
/// position after the comma and whether the array goes on, `None` if neither `,` nor `]`
/// follows.
pub fn after_element(text: &[u8], mut pos: usize) -> Option<(usize, bool)> {
    while pos < text.len() && is_space(text[pos]) {
        pos += 1;
    }
    match text.get(pos) {
        Some(b',') => Some((pos + 1, true)),
        Some(b']') => Some((pos, false)),
        _ => None,
    }
}

/// Reads the worths of one chunk of a JSON array, from `start` (the first byte of an element
/// or whitespace before it) until the element that ends at or after `stop`. Returns the
/// worths and the position just after the comma (or at the `]`) where reading stopped, or
/// `None` when an element is not a plain number or string worth that fits.
fn read_chunk(text: &str, start: usize, stop: usize) -> Option<(Accumulator, usize)> {
    let text = text.as_bytes();
    let mut acc = Accumulator::with_capacity((stop - start) / 8);
    let mut pos = start;
    loop {
        while pos < text.len() && is_space(text[pos]) {
            pos += 1;
        }
        let element_end = if text.get(pos) == Some(&b'"') {
            let body = pos + 1;
            let close = body + text[body..].iter().position(|&b| b == b'"' || b == b'\\')?;
            if text[close] != b'"' {
                return None; // an escape: the careful path unescapes it
            }
            acc.push(small_worth(&text[body..close])?)?;
            close + 1
        } else {
            let len = text[pos..]
                .iter()
                .position(|&b| b == b',' || b == b']' || is_space(b))?;
            acc.push(small_worth(&text[pos..pos + len])?)?;
            pos + len
        };
        let (next, more) = after_element(text, element_end)?;
        pos = next;
        if !more || pos >= stop {
            return Some((acc, pos));
        }
    }
}

/// Bytes of array text per chunk read on one core.
const CHUNK_BYTES: usize = 1 << 20;

/// The first position at or after `from` just after a comma that ends an element: any comma
/// for an array of scalars (`closer` = `None`), a comma after `closer` (`}` for an array of
/// objects, whose members are separated by commas too).
fn next_element(bytes: &[u8], from: usize, closer: Option<u8>) -> Option<usize> {
    let Some(closer) = closer else {
        return Some(from + bytes[from..].iter().position(|&b| b == b',')? + 1);
    };
    let mut at = from;
    loop {
        let end = at + bytes[at..].iter().position(|&b| b == closer)? + 1;
        if let Some((next, true)) = after_element(bytes, end) {
            return Some(next);
        }
        at = end;
    }
}

/// Reads a JSON array in chunks on all cores: `read(text, start, stop)` reads the elements
/// from `start` until the one ending at or after `stop`, and returns what it read and the
/// position after the comma that follows (or at the closing `]`); `None` stops everything
/// (the caller then reads the array carefully). Returns the chunks' results in order.
/// `closer` is the last byte of an element when elements contain commas (see
/// [`next_element`]).
///
/// `text` must be a valid JSON array (serde has checked it). Chunks start just after a
/// comma found near an even split of the bytes; a comma inside a string would start a chunk
/// mid-element, so the chunks are accepted only if each one ends exactly where the next one
/// starts: chunk 0 starts at the first element, and by induction every chunk then starts at
/// an element.
pub fn par_array<T, F>(text: &str, closer: Option<u8>, read: F) -> Option<Vec<T>>
where
    T: Send,
    F: Fn(&str, usize, usize) -> Option<(T, usize)> + Sync,
{
    let bytes = text.as_bytes();
    let open = bytes.iter().position(|&b| b == b'[')?;
    let first = open + 1 + bytes[open + 1..].iter().position(|&b| !is_space(b))?;
    if bytes[first] == b']' {
        return Some(Vec::new());
    }
    let mut starts = vec![first];
    let mut cut = first + CHUNK_BYTES;
    while cut < bytes.len() {
        let start = next_element(bytes, cut, closer)?;
        starts.push(start);
        cut = start + CHUNK_BYTES;
    }
    let stops: Vec<usize> = starts
        .iter()
        .skip(1)
        .copied()
        .chain([bytes.len()])
        .collect();
    let parts: Vec<(T, usize)> = starts
        .par_iter()
        .zip(stops.par_iter())
        .map(|(&start, &stop)| read(text, start, stop))
        .collect::<Option<Vec<_>>>()?;
    let joined = parts
        .iter()
        .zip(starts.iter().skip(1))
        .all(|((_, end), next)| end == next);
    joined.then(|| parts.into_iter().map(|(part, _)| part).collect())
}

/// Reads a JSON array of worths (numbers, or strings holding a decimal or fraction) into
/// reduced scaled integers on all cores, or `None` when some element needs the careful path
/// (not a worth, an escape, too many digits, an overflowing denominator).
pub fn read_array(text: &str) -> Option<Scaled> {
    Accumulator::concat(par_array(text, None, read_chunk)?).map(Scaled::reduce)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapley::rational::parse_exact;
    use proptest::prelude::*;

    fn ratios(scaled: &Scaled) -> Vec<BigRational> {
        let den = BigInt::from(scaled.den);
        scaled
            .nums
            .iter()
            .map(|&x| BigRational::new(x.into(), den.clone()))
            .collect()
    }

    fn value(w: SmallWorth) -> BigRational {
        BigRational::new(w.num.into(), w.den.into())
    }

    #[test]
    fn reads_decimals_and_fractions() {
        let read = |t: &str| small_worth(t.as_bytes()).map(value);
        let r = |p: i64, q: i64| Some(BigRational::new(p.into(), q.into()));
        assert_eq!(read("0.1"), r(1, 10));
        assert_eq!(read("-3.25"), r(-13, 4));
        assert_eq!(read("1e-3"), r(1, 1000));
        assert_eq!(read("2.5E+2"), r(250, 1));
        assert_eq!(read(".5"), r(1, 2));
        assert_eq!(read("5."), r(5, 1));
        assert_eq!(read("2/-6"), r(-1, 3));
        assert_eq!(
            read("1234567890.12345678"),
            r(123_456_789_012_345_678, 100_000_000)
        );
        for outside in [
            "", ".", "1/0", "1 ", "1e", "--1", "0x1", "1.2.3", "1e-19", "1/2/3",
        ] {
            assert_eq!(read(outside), None, "{outside:?}");
        }
        // 19 digits: the careful path.
        assert_eq!(read("1234567890123456789"), None);
    }

    #[test]
    fn arrays_with_commas_in_strings_fall_back() {
        let mut text = String::from("[");
        for k in 0..200_000 {
            text.push_str(&format!("{k}.5, "));
        }
        // Several chunks, joined in order.
        let whole = format!("{}\"0.25\"]", text);
        let mut expected: Vec<i64> = (0..200_000).map(|k| 4 * k + 2).collect();
        expected.push(1);
        assert_eq!(
            read_array(&whole),
            Some(Scaled {
                den: 4,
                nums: expected
            })
        );
        text.push_str("\"1,5\"]");
        assert_eq!(read_array(&text), None);
        assert_eq!(
            read_array("[ ]"),
            Some(Scaled {
                den: 1,
                nums: vec![]
            })
        );
        assert_eq!(
            read_array("[1, \"0.25\" ,\"1/3\"]"),
            Some(Scaled {
                den: 12,
                nums: vec![12, 3, 4]
            })
        );
        assert_eq!(read_array("[1, \"\\u0031\"]"), None);
        assert_eq!(read_array("[1, true]"), None);
    }

    /// The text of a worth in one of the forms game files use.
    fn worth_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i32>().prop_map(|x| x.to_string()),
            (any::<i64>(), 0u32..8).prop_map(|(m, d)| {
                let s = (m % 10_000_000_000).unsigned_abs().to_string();
                let sign = if m < 0 { "-" } else { "" };
                let d = (d as usize).min(s.len());
                format!("{sign}{}.{}", &s[..s.len() - d], &s[s.len() - d..])
            }),
            (any::<i32>(), -20i32..20).prop_map(|(m, e)| format!("{m}e{e}")),
            (any::<i32>(), any::<i32>()).prop_map(|(p, q)| format!("{p}/{q}")),
            any::<i64>().prop_map(|x| format!("{x}.{}", x.unsigned_abs() % 97)),
            "[0-9.eE/+-]{0,12}",
        ]
    }

    proptest! {
        #[test]
        fn small_worths_agree_with_parse_exact(text in worth_text()) {
            if let Some(w) = small_worth(text.as_bytes()) {
                prop_assert_eq!(Ok(value(w)), parse_exact(&text));
            }
        }

        #[test]
        fn arrays_agree_with_big_rationals(
            texts in proptest::collection::vec(worth_text(), 0..60),
            quoted in proptest::collection::vec(any::<bool>(), 60),
        ) {
            let exact: Option<Vec<BigRational>> =
                texts.iter().map(|t| parse_exact(t).ok()).collect();
            let body: Vec<String> = texts
                .iter()
                .zip(&quoted)
                .map(|(t, &q)| if q || !t.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                    format!("\"{t}\"")
                } else {
                    t.clone()
                })
                .collect();
            let array = format!("[{}]", body.join(" ,"));
            if let Some(scaled) = read_array(&array) {
                let exact = exact.unwrap_or_default();
                prop_assert_eq!(ratios(&scaled), exact.clone());
                // Reduced: the denominator is the lcm of the reduced denominators.
                let lcm = super::super::rational::lcm_all(exact.iter().map(|v| v.denom()));
                prop_assert_eq!(BigInt::from(scaled.den), lcm);
            }
        }
    }
}
