//! Confidence intervals for means of bounded samples.
//!
//! For iid samples X_1..X_t in an interval of width R, with sample variance V (unbiased):
//! - Hoeffding (1963): |mean - E X| <= R sqrt(ln(2/d) / (2t)) with probability >= 1 - d.
//! - Empirical Bernstein, Maurer and Pontil, "Empirical Bernstein bounds and sample variance
//!   penalization", COLT 2009, Theorem 4 (one-sided at level d, applied to both tails):
//!   |mean - E X| <= sqrt(2 V ln(4/d) / t) + 7 R ln(4/d) / (3 (t - 1)).
//!
//! - Hoeffding (1963), Theorem 1, in relative-entropy form (samples rescaled to [0, 1]):
//!   P(mean >= m + e) <= exp(-t kl(m + e, m)), tighter than the first near the range's ends.
//! - Clopper and Pearson (1934), exact binomial tails, when every sample is one of the two
//!   ends of the range (simple games).
//!
//! [`interval`] uses Clopper–Pearson for two-valued samples; otherwise it spends d/2 on the
//! relative-entropy bound and d/2 on empirical Bernstein and intersects them, so the
//! interval holds with probability >= 1 - d for each player. Both bounds depend on the range R of the marginal
//! contributions, which the game states (`Game::marginal_range`): a player that never
//! pivoted in the sample still gets an interval of width ~ R sqrt(ln(4/d) / 2t), never 0.

/// Running count, mean and sum of squared deviations (merged with Chan et al.'s formula).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// Number of samples.
    pub count: u64,
    /// Sample mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl Stats {
    /// From raw sums of one block (small blocks: the naive formula is accurate enough).
    pub fn from_sums(count: u64, sum: f64, sumsq: f64) -> Self {
        if count == 0 {
            return Self::default();
        }
        let c = count as f64;
        let mean = sum / c;
        let m2 = (sumsq - sum * mean).max(0.0);
        Self { count, mean, m2 }
    }

    /// Merge another block (deterministic for a fixed merge order).
    pub fn merge(&mut self, o: &Stats) {
        if o.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *o;
            return;
        }
        let (na, nb) = (self.count as f64, o.count as f64);
        let n = na + nb;
        let delta = o.mean - self.mean;
        self.mean += delta * nb / n;
        self.m2 += o.m2 + delta * delta * na * nb / n;
        self.count += o.count;
    }

    /// Unbiased sample variance (0 for fewer than two samples).
    pub fn variance(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            self.m2 / (self.count - 1) as f64
        }
    }

    /// Standard error of the mean.
    pub fn stderr(&self) -> f64 {
        if self.count == 0 {
            f64::INFINITY
        } else {
            (self.variance() / self.count as f64).sqrt()
        }
    }
}

/// Hoeffding half-width at failure probability `delta` for range width `r`.
pub fn hoeffding(count: u64, r: f64, delta: f64) -> f64 {
    if count == 0 {
        return f64::INFINITY;
    }
    r * ((2.0 / delta).ln() / (2.0 * count as f64)).sqrt()
}

/// Empirical Bernstein half-width (Maurer and Pontil 2009, Thm 4, two-sided) at `delta`.
pub fn empirical_bernstein(count: u64, variance: f64, r: f64, delta: f64) -> f64 {
    if count < 2 {
        return f64::INFINITY;
    }
    let t = count as f64;
    let l = (4.0 / delta).ln();
    (2.0 * variance * l / t).sqrt() + 7.0 * r * l / (3.0 * (t - 1.0))
}

/// The smaller of Hoeffding and empirical Bernstein, each at `delta / 2`: holds with
/// probability at least `1 - delta`.
pub fn half_width(s: &Stats, r: f64, delta: f64) -> f64 {
    let h = hoeffding(s.count, r, delta / 2.0);
    let b = empirical_bernstein(s.count, s.variance(), r, delta / 2.0);
    h.min(b)
}

/// The interval for the mean of iid samples in `[a, b]` that holds with probability at
/// least `1 - delta`: exact binomial (Clopper–Pearson, `delta / 2` per side) when every sample
/// is `a` or `b` (`two_valued`), else the intersection of Hoeffding's relative-entropy
/// interval and empirical Bernstein's at `delta / 2` each, clipped to `[a, b]`.
pub fn interval(s: &Stats, (a, b): (f64, f64), two_valued: bool, delta: f64) -> (f64, f64) {
    let r = (b - a).max(0.0);
    if two_valued && r > 0.0 && s.count > 0 {
        return binomial_interval(successes(s, (a, b)), (a, b), delta);
    }
    if r == 0.0 || s.count == 0 {
        let w = half_width(s, r, delta);
        return ((s.mean - w).max(a), (s.mean + w).min(b));
    }
    // Two intervals at delta / 2 each: both hold with probability >= 1 - delta, so their
    // intersection does.
    let t = s.count as f64;
    let (lo, hi) = relative_entropy_interval(((s.mean - a) / r).clamp(0.0, 1.0), t, delta / 4.0);
    let w = empirical_bernstein(s.count, s.variance(), r, delta / 2.0);
    (
        (a + r * lo).max(s.mean - w).max(a),
        (a + r * hi).min(s.mean + w).min(b),
    )
}

/// Bisection steps of the betting interval: 2^-32 of the range, far below any width.
const BETTING_STEPS: u32 = 32;

/// The betting confidence interval of Waudby-Smith and Ramdas ("Estimating means of bounded
/// random variables by betting", JRSS-B 2024), for iid `samples` in `[a, b]`, holding with
/// probability at least `1 - delta`. Needs every sample, in the order drawn.
///
/// With x_i the samples rescaled to [0, 1], a candidate mean m is rejected when one of the
/// capitals K+(m) = prod(1 + l_i(m) (x_i - m)) or K-(m) = prod(1 - l'_i(m) (x_i - m)) reaches
/// 2/delta: each is a nonnegative martingale when m is the mean, so by Ville's inequality each
/// rejects the true mean with probability at most delta/2. The bets are predictable: their
/// plug-in l_i = sqrt(2 ln(2/delta) / (t s2_{i-1})), tuned to the sample size t, with
/// s2_{i-1} = (1/4 + sum_{j<i} (x_j - mu_{j-1})^2) / i and mu_{j} = (1/2 + sum_{k<=j} x_k)/(j+1),
/// truncated at 1/(2m) for K+ and 1/(2(1-m)) for K- so every factor stays above 1/2. Each
/// factor is monotone in m (K+ decreasing, K- increasing), so the rejected values are the two
/// ends of [0, 1] and bisection finds their boundaries.
pub fn betting_interval(samples: &[f64], (a, b): (f64, f64), delta: f64) -> (f64, f64) {
    let r = b - a;
    if samples.is_empty() || r <= 0.0 {
        return (a, b.max(a));
    }
    let x: Vec<f64> = samples
        .iter()
        .map(|v| ((v - a) / r).clamp(0.0, 1.0))
        .collect();
    let t = x.len() as f64;
    let level = (2.0 / delta).ln();
    let mut bets = Vec::with_capacity(x.len());
    let (mut sum, mut squares, mut mean, mut var) = (0.0, 0.0, 0.5, 0.25);
    for (i, &xi) in x.iter().enumerate() {
        bets.push((2.0 * level / (t * var)).sqrt());
        squares += (xi - mean) * (xi - mean);
        sum += xi;
        let seen = (i + 2) as f64;
        mean = (0.5 + sum) / seen;
        var = (0.25 + squares) / seen;
    }
    let log_capital = |m: f64, sign: f64, cap: f64| -> f64 {
        let mut total = 0.0;
        for (&xi, &l) in x.iter().zip(&bets) {
            total += (sign * l.min(cap) * (xi - m)).ln_1p();
        }
        total
    };
    let center = sum / t;
    let lower = bisect_steps(0.0, center, BETTING_STEPS, |m| {
        log_capital(m, 1.0, 0.5 / m) >= level
    });
    let upper = 1.0
        - bisect_steps(0.0, 1.0 - center, BETTING_STEPS, |d| {
            log_capital(1.0 - d, -1.0, 0.5 / d) >= level
        });
    (a + r * lower, a + r * upper)
}

/// The samples equal to `b` among samples that are all `a` or `b` (`b > a`), and their
/// count, as whole numbers in f64: the sum of such samples is exact in f64, and merging
/// blocks may move it only by rounding.
pub fn successes(s: &Stats, (a, b): (f64, f64)) -> (f64, f64) {
    let t = s.count as f64;
    (((s.mean - a) / (b - a) * t).round().clamp(0.0, t), t)
}

/// The Clopper–Pearson interval (`delta / 2` per side) for `(hits, trials)` of two-valued
/// samples in `[a, b]`: see [`interval`]. Players with equal counts share it, so callers
/// may compute it once per distinct count.
pub fn binomial_interval((hits, t): (f64, f64), (a, b): (f64, f64), delta: f64) -> (f64, f64) {
    let (lo, hi) = clopper_pearson(hits, t, delta / 2.0);
    (a + (b - a) * lo, a + (b - a) * hi)
}

/// Bernoulli relative entropy kl(p, q) = p ln(p/q) + (1-p) ln((1-p)/(1-q)), `0 < q < 1`.
fn relative_entropy(p: f64, q: f64) -> f64 {
    let term = |x: f64, y: f64| if x == 0.0 { 0.0 } else { x * (x / y).ln() };
    term(p, q) + term(1.0 - p, 1.0 - q)
}

/// Hoeffding's bound in its relative-entropy form (Hoeffding 1963, Theorem 1): for iid
/// samples in [0, 1] with mean `mean` over `t` samples, P(mean >= m + e) <= exp(-t kl(m + e, m))
/// whatever their distribution. Returns `(lower, upper)`, each failing with probability at
/// most `alpha`: the values q with t kl(mean, q) >= ln(1/alpha) are rejected. Never wider
/// than Hoeffding's sqrt(ln(1/alpha) / 2t) (Pinsker), much narrower near 0 and 1.
pub fn relative_entropy_interval(mean: f64, t: f64, alpha: f64) -> (f64, f64) {
    let level = (1.0 / alpha).ln() / t;
    let lower = bisect(0.0, mean, |q| relative_entropy(mean, q) >= level);
    let upper = 1.0
        - bisect(0.0, 1.0 - mean, |q| {
            relative_entropy(1.0 - mean, q) >= level
        });
    (lower, upper)
}

/// `ln Γ(x + 1) − (x + ½) ln x + x − ½ ln 2π` (Stirling's error), for integers `x >= 0`:
/// exact sums of logarithms below 16, the asymptotic series above (Loader 2000). `x >= 1`.
fn stirling_error(x: f64) -> f64 {
    if x < 16.0 {
        let mut ln_factorial = 0.0;
        let mut i = 2.0;
        while i <= x {
            ln_factorial += f64::ln(i);
            i += 1.0;
        }
        return ln_factorial - (x + 0.5) * x.ln() + x - 0.5 * (2.0 * std::f64::consts::PI).ln();
    }
    let x2 = x * x;
    (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - (1.0 / 1680.0) / x2) / x2) / x2) / x
}

/// `x ln(x / m) + m − x`, accurate when `x` is close to `m` (Loader 2000).
fn deviance(x: f64, m: f64) -> f64 {
    if (x - m).abs() < 0.1 * (x + m) {
        let v = (x - m) / (x + m);
        let mut s = (x - m) * v;
        let mut ej = 2.0 * x * v;
        let v2 = v * v;
        let mut j = 1.0;
        loop {
            ej *= v2;
            let next = s + ej / (2.0 * j + 1.0);
            if next == s {
                return s;
            }
            s = next;
            j += 1.0;
        }
    }
    x * (x / m).ln() + m - x
}

/// P(Bin(t, p) = k) by Loader's saddle-point formula: relative error about 1e-15 for any
/// t (no difference of large log-factorials). `0 < p < 1`.
fn binomial_pmf(k: f64, t: f64, p: f64) -> f64 {
    let q = 1.0 - p;
    if k == 0.0 {
        return (t * q.ln()).exp();
    }
    if k == t {
        return (t * p.ln()).exp();
    }
    let log = stirling_error(t)
        - stirling_error(k)
        - stirling_error(t - k)
        - deviance(k, t * p)
        - deviance(t - k, t * q);
    log.exp() * (t / (2.0 * std::f64::consts::PI * k * (t - k))).sqrt()
}

/// Terms summed exactly before the rest of a tail is bounded by a geometric series.
const TAIL_TERMS: u32 = 256;

/// An upper bound on P(Bin(t, p) >= k), valid when `k > t p` (above the mean, where the
/// terms decrease): the first terms summed, the rest bounded by a geometric series whose
/// ratio is the (decreasing) ratio of successive terms where the sum stopped.
fn upper_tail_bound(k: f64, t: f64, p: f64) -> f64 {
    let q = 1.0 - p;
    let ratio = |j: f64| (t - j) * p / ((j + 1.0) * q);
    let mut term = binomial_pmf(k, t, p);
    let mut sum = 0.0;
    let mut j = k;
    for _ in 0..TAIL_TERMS {
        sum += term;
        if j >= t {
            return sum.min(1.0);
        }
        term *= ratio(j);
        j += 1.0;
        // The rest is at most term / (1 - ratio(j)): stop once that cannot matter.
        if term < 1e-17 * sum {
            break;
        }
    }
    (sum + term / (1.0 - ratio(j))).min(1.0)
}

/// One-sided Clopper–Pearson bounds at level `alpha` each for `k` successes in `t` trials
/// (whole numbers):
/// `(lower, upper)` with P(lower > p) <= alpha and P(upper < p) <= alpha. The tails are
/// upper bounds of the exact ones ([`upper_tail_bound`]) and the bisection keeps the end
/// where the test rejects, so the bounds are never narrower than exact Clopper–Pearson.
pub fn clopper_pearson(k: f64, t: f64, alpha: f64) -> (f64, f64) {
    if t < 1.0 {
        return (0.0, 1.0);
    }
    let (kf, tf) = (k, t);
    // P(Bin >= k) at p, for the lower bound: rejected p are those where it is <= alpha.
    let lower = if k == 0.0 {
        0.0
    } else if k == t {
        alpha.powf(1.0 / tf)
    } else {
        // Below `kf / tf` the tail is small (rejected); above it at least 1/2 (kept).
        bisect(0.0, kf / tf, |p| upper_tail_bound(kf, tf, p) <= alpha)
    };
    // By symmetry: the failures' lower bound.
    let upper = if k == t {
        1.0
    } else if k == 0.0 {
        1.0 - alpha.powf(1.0 / tf)
    } else {
        1.0 - bisect(0.0, (tf - kf) / tf, |p| {
            upper_tail_bound(tf - kf, tf, p) <= alpha
        })
    };
    (lower, upper)
}

/// The boundary in `[lo, hi]` between rejected values below (`rejected(p)` true) and kept
/// values above: returns the largest value checked to be rejected (or `lo`), so every value
/// below it is rejected too when the exact test is monotone.
fn bisect(lo: f64, hi: f64, rejected: impl Fn(f64) -> bool) -> f64 {
    // 2^-44 of the bracket: far below any width that matters, and a third cheaper than 60.
    bisect_steps(lo, hi, 44, rejected)
}

/// [`bisect`] with a given number of steps.
fn bisect_steps(mut lo: f64, mut hi: f64, steps: u32, rejected: impl Fn(f64) -> bool) -> f64 {
    let mut best = lo;
    for _ in 0..steps {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if rejected(mid) {
            best = mid;
            lo = mid;
        } else {
            hi = mid;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_matches_direct() {
        let xs = [1.0, 2.0, 4.0, 8.0, 3.0];
        let mut a = Stats::from_sums(2, 3.0, 5.0);
        a.merge(&Stats::from_sums(3, 15.0, 89.0));
        let mean = xs.iter().sum::<f64>() / 5.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0;
        assert!((a.mean - mean).abs() < 1e-12);
        assert!((a.variance() - var).abs() < 1e-12);
    }

    #[test]
    fn clopper_pearson_matches_reference_values() {
        // Reference: exact binomial sums in 60-digit decimals, inverted by bisection.
        // Equal to the reference within the bisection's resolution (1e-11 relative).
        let close = |x: f64, reference: f64| (x - reference).abs() <= 1e-11 * reference;
        let (lo, hi) = clopper_pearson(20.0, 2000.0, 0.025);
        assert!(close(lo, 0.006_118_657_542_743_466), "{lo}");
        assert!(close(hi, 0.015_402_125_783_560_048), "{hi}");
        let (lo, hi) = clopper_pearson(3.0, 10.0, 0.025);
        assert!(close(lo, 0.066_739_511_177_734_47), "{lo}");
        assert!(close(hi, 0.652_452_850_059_997_3), "{hi}");
        let (lo, hi) = clopper_pearson(0.0, 200.0, 0.025);
        assert!(lo == 0.0 && close(hi, 0.018_275_340_355_136_244), "{hi}");
    }

    #[test]
    fn pmf_sums_to_one() {
        for (t, p) in [(10.0, 0.3), (2000.0, 0.01), (1e6, 0.4)] {
            let mean: f64 = t * p;
            let spread = 12.0 * (t * p * (1.0 - p)).sqrt();
            let lo = (mean - spread).max(0.0).floor();
            let hi = (mean + spread).min(t).ceil();
            let mut total = 0.0;
            let mut k = lo;
            while k <= hi {
                total += binomial_pmf(k, t, p);
                k += 1.0;
            }
            assert!((total - 1.0).abs() < 1e-12, "{t} {p} {total}");
        }
    }

    #[test]
    fn relative_entropy_interval_is_inside_hoeffding() {
        for (mean, t) in [
            (0.01, 2000.0),
            (0.5, 100.0),
            (0.0, 50.0),
            (1.0, 7.0),
            (0.3, 3.0),
        ] {
            let (lo, hi) = relative_entropy_interval(mean, t, 0.0125);
            let h = (f64::ln(1.0 / 0.0125) / (2.0 * t)).sqrt();
            assert!(
                lo >= mean - h - 1e-12 && hi <= mean + h + 1e-12,
                "{mean} {t}"
            );
            assert!(lo <= mean && mean <= hi, "{mean} {t}");
        }
    }

    #[test]
    fn betting_interval_holds_the_mean_and_shrinks() {
        // A fixed, varied sequence in [0, 1] with mean 0.3.
        let sample: Vec<f64> = (0..2000u32)
            .map(|i| f64::from((i * 7919) % 1000) / 1000.0 * 0.6)
            .collect();
        let mean = sample.iter().sum::<f64>() / 2000.0;
        let (lo, hi) = betting_interval(&sample, (0.0, 1.0), 0.05);
        assert!(lo < mean && mean < hi, "{lo} {mean} {hi}");
        let (lo_small, hi_small) = betting_interval(&sample[..200], (0.0, 1.0), 0.05);
        assert!(hi - lo < hi_small - lo_small);
        // Rescaled ranges give the rescaled interval.
        let shifted: Vec<f64> = sample.iter().map(|v| 10.0 + 4.0 * v).collect();
        let (slo, shi) = betting_interval(&shifted, (10.0, 14.0), 0.05);
        assert!((slo - (10.0 + 4.0 * lo)).abs() < 1e-9 && (shi - (10.0 + 4.0 * hi)).abs() < 1e-9);
    }

    #[test]
    fn never_zero_width_with_positive_range() {
        let s = Stats::from_sums(200, 0.0, 0.0);
        assert!(half_width(&s, 1.0, 0.05) > 0.01);
    }
}
