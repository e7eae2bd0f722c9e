//! Confidence intervals for means of bounded samples.
//!
//! For iid samples X_1..X_t in an interval of width R, with sample variance V (unbiased):
//! - Hoeffding (1963): |mean - E X| <= R sqrt(ln(2/d) / (2t)) with probability >= 1 - d.
//! - Empirical Bernstein, Maurer and Pontil, "Empirical Bernstein bounds and sample variance
//!   penalization", COLT 2009, Theorem 4 (one-sided at level d, applied to both tails):
//!   |mean - E X| <= sqrt(2 V ln(4/d) / t) + 7 R ln(4/d) / (3 (t - 1)).
//!
//! We spend d/2 on each and report the smaller half-width, so the interval holds with
//! probability >= 1 - d for each player. Both bounds depend on the range R of the marginal
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
    fn never_zero_width_with_positive_range() {
        let s = Stats::from_sums(200, 0.0, 0.0);
        assert!(half_width(&s, 1.0, 0.05) > 0.01);
    }
}
