//! Predicted customer lifetime value: the BG/NBD model of repeat purchases (Fader, Hardie &
//! Lee 2005) and the Gamma-Gamma model of their value (Fader & Hardie 2013), fitted by
//! maximum likelihood.
//!
//! Both fits minimise the mean negative log-likelihood over the logarithms of the
//! parameters (which keeps them positive) with Nelder-Mead, restarted once from its own
//! answer so that a simplex that collapsed early gets a second look. ln Γ comes from libm.
//! Times are in whatever unit the summaries use (weeks for the CDNOW summaries).

use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;
use serde::{Deserialize, Serialize};

/// One customer's purchase history, as the models read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Repeat purchases (the first is not counted).
    pub frequency: f64,
    /// Time of the last repeat purchase since the first purchase (0 without repeats).
    pub recency: f64,
    /// Time since the first purchase: the customer's age.
    pub t: f64,
    /// The mean value of the repeat purchases (0 without repeats).
    pub monetary_value: f64,
}

/// The BG/NBD model's parameters: purchase rates are Gamma(r, α); the chance of dropping out
/// after a purchase is Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    /// The summed log-likelihood of the data at these parameters.
    pub log_likelihood: f64,
}

/// The Gamma-Gamma model's parameters for the value of a purchase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error("no customers to fit")]
    Empty,
    #[error("the optimiser failed: {0}")]
    Optimiser(String),
}

fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

fn ln_beta(u: f64, v: f64) -> f64 {
    ln_gamma(u) + ln_gamma(v) - ln_gamma(u + v)
}

/// ln(eᵘ + eᵛ) without overflow.
fn log_sum_exp(u: f64, v: f64) -> f64 {
    let m = u.max(v);
    m + ((u - m).exp() + (v - m).exp()).ln()
}

impl BgNbd {
    /// One customer's log-likelihood (equation 6 of the 2005 paper, in logs).
    pub fn log_likelihood_of(r: f64, alpha: f64, a: f64, b: f64, s: &Summary) -> f64 {
        let x = s.frequency;
        let common = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let alive = ln_beta(a, b + x) - ln_beta(a, b) - (r + x) * (alpha + s.t).ln();
        if x > 0.0 {
            let dropped =
                ln_beta(a + 1.0, b + x - 1.0) - ln_beta(a, b) - (r + x) * (alpha + s.recency).ln();
            common + log_sum_exp(alive, dropped)
        } else {
            common + alive
        }
    }

    /// Fits the model to `data`.
    pub fn fit(data: &[Summary]) -> Result<BgNbd, FitError> {
        if data.is_empty() {
            return Err(FitError::Empty);
        }
        let groups = Groups::of(data);
        let n = data.len() as f64;
        let cost =
            |p: &[f64]| -groups.log_likelihood(p[0].exp(), p[1].exp(), p[2].exp(), p[3].exp()) / n;
        let best = minimise(&cost, vec![0.0; 4])?;
        let (r, alpha, a, b) = (best[0].exp(), best[1].exp(), best[2].exp(), best[3].exp());
        Ok(BgNbd {
            r,
            alpha,
            a,
            b,
            log_likelihood: -cost(&best) * n,
        })
    }
}

/// A fit's data, as the likelihood reads it fastest: customers with the same history counted
/// once with their number (a shop's summaries, in days, repeat many times over), and the
/// terms that depend only on the frequency computed once per evaluation for each frequency
/// rather than per customer. The sum is split over the machine's cores.
struct Groups {
    /// (frequency index, recency, T, customers)
    rows: Vec<(usize, f64, f64, f64)>,
    frequencies: Vec<f64>,
}

impl Groups {
    fn of(data: &[Summary]) -> Groups {
        let mut counts: std::collections::HashMap<(u64, u64, u64), f64> = Default::default();
        for s in data {
            *counts
                .entry((s.frequency.to_bits(), s.recency.to_bits(), s.t.to_bits()))
                .or_default() += 1.0;
        }
        let mut frequencies: Vec<f64> = counts.keys().map(|k| f64::from_bits(k.0)).collect();
        frequencies.sort_by(f64::total_cmp);
        frequencies.dedup();
        let mut rows: Vec<(usize, f64, f64, f64)> = counts
            .into_iter()
            .map(|((x, tx, t), n)| {
                let x = f64::from_bits(x);
                let i = frequencies.partition_point(|f| *f < x);
                (i, f64::from_bits(tx), f64::from_bits(t), n)
            })
            .collect();
        // A fixed order, so that a fit is the same number every run.
        rows.sort_by(|a, b| {
            (a.0, a.1, a.2)
                .partial_cmp(&(b.0, b.1, b.2))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Groups { rows, frequencies }
    }

    fn log_likelihood(&self, r: f64, alpha: f64, a: f64, b: f64) -> f64 {
        // Per frequency: the Gamma and Beta terms of the alive and dropped branches.
        let per_x: Vec<(f64, f64, f64)> = self
            .frequencies
            .iter()
            .map(|&x| {
                let common = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
                let alive = ln_beta(a, b + x) - ln_beta(a, b);
                let dropped = if x > 0.0 {
                    ln_beta(a + 1.0, b + x - 1.0) - ln_beta(a, b)
                } else {
                    f64::NEG_INFINITY
                };
                (common, alive, dropped)
            })
            .collect();
        let part = |rows: &[(usize, f64, f64, f64)]| -> f64 {
            rows.iter()
                .map(|&(i, tx, t, n)| {
                    let x = self.frequencies[i];
                    let (common, alive, dropped) = per_x[i];
                    let alive = alive - (r + x) * (alpha + t).ln();
                    let ll = if x > 0.0 {
                        common + log_sum_exp(alive, dropped - (r + x) * (alpha + tx).ln())
                    } else {
                        common + alive
                    };
                    n * ll
                })
                .sum()
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Threads pay off only on a large fit; a small one is summed here.
        if cores == 1 || self.rows.len() < 50_000 {
            return part(&self.rows);
        }
        let chunk = self.rows.len().div_ceil(cores);
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .rows
                .chunks(chunk)
                .map(|rows| scope.spawn(move || part(rows)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(f64::NAN))
                .sum()
        })
    }
}

impl BgNbd {
    /// The probability that a customer with this history has not dropped out (equation 11
    /// of the 2005 paper). A customer with no repeat purchase is alive by the model's
    /// assumption (it drops out only after a purchase).
    pub fn probability_alive(&self, s: &Summary) -> f64 {
        if s.frequency == 0.0 {
            return 1.0;
        }
        1.0 / (1.0 + self.dropped_odds(s))
    }

    /// The odds of having dropped out against being alive, for a customer with repeats.
    fn dropped_odds(&self, s: &Summary) -> f64 {
        let x = s.frequency;
        self.a / (self.b + x - 1.0)
            * ((self.alpha + s.t) / (self.alpha + s.recency)).powf(self.r + x)
    }

    /// The expected number of purchases in the next `t` time units (equation 10).
    pub fn expected_purchases(&self, s: &Summary, t: f64) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let x = s.frequency;
        let z = t / (alpha + s.t + t);
        let hyp = hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let ahead = (a + b + x - 1.0) / (a - 1.0)
            * (1.0 - ((alpha + s.t) / (alpha + s.t + t)).powf(r + x) * hyp);
        let odds = if x > 0.0 { self.dropped_odds(s) } else { 0.0 };
        ahead / (1.0 + odds)
    }
}

/// Gauss's hypergeometric function ₂F₁(a, b; c; z) for 0 ≤ z < 1, by its power series:
/// each term is the last times (a+j)(b+j)/((c+j)(j+1))·z. The BG/NBD expectation calls it
/// with z = t/(α+T+t) < 1, where the series converges; its terms shrink like z^j once j
/// passes a, b and c, so it stops when a term no longer moves the sum at double precision
/// (or after 100,000 terms, reached only for z within 1e-4 of 1).
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for j in 0..100_000 {
        let j = f64::from(j);
        term *= (a + j) * (b + j) / ((c + j) * (j + 1.0)) * z;
        sum += term;
        if term.abs() <= f64::EPSILON * sum.abs() {
            break;
        }
    }
    sum
}

impl GammaGamma {
    /// The expected value of a customer's future purchase: its own mean, shrunk towards the
    /// population's by how few purchases it rests on (equation 5 of the 2013 note); the
    /// population's mean, pγ/(q−1), for a customer with no repeat purchase.
    pub fn expected_value(&self, s: &Summary) -> f64 {
        let (p, q, gamma) = (self.p, self.q, self.gamma);
        let x = s.frequency;
        if x == 0.0 {
            return p * gamma / (q - 1.0);
        }
        p * (gamma + x * s.monetary_value) / (p * x + q - 1.0)
    }

    /// One customer's log-likelihood of the mean value of its `x` repeat purchases.
    pub fn log_likelihood_of(p: f64, q: f64, gamma: f64, s: &Summary) -> f64 {
        let (x, m) = (s.frequency, s.monetary_value);
        ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
            + q * gamma.ln()
            + (p * x - 1.0) * m.ln()
            + p * x * x.ln()
            - (p * x + q) * (gamma + m * x).ln()
    }

    /// Fits the model to the customers of `data` with repeat purchases of some value.
    pub fn fit(data: &[Summary]) -> Result<GammaGamma, FitError> {
        let repeat: Vec<&Summary> = data
            .iter()
            .filter(|s| s.frequency > 0.0 && s.monetary_value > 0.0)
            .collect();
        if repeat.is_empty() {
            return Err(FitError::Empty);
        }
        let n = repeat.len() as f64;
        // As for BG/NBD (`Groups`): equal (frequency, value) pairs counted once, and the
        // Gamma terms, which depend on the frequency only, once per frequency.
        let mut counts: std::collections::HashMap<(u64, u64), f64> = Default::default();
        for s in &repeat {
            *counts
                .entry((s.frequency.to_bits(), s.monetary_value.to_bits()))
                .or_default() += 1.0;
        }
        let mut rows: Vec<(f64, f64, f64)> = counts
            .into_iter()
            .map(|((x, m), n)| (f64::from_bits(x), f64::from_bits(m), n))
            .collect();
        rows.sort_by(|a, b| {
            (a.0, a.1)
                .partial_cmp(&(b.0, b.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut frequencies: Vec<f64> = rows.iter().map(|r| r.0).collect();
        frequencies.dedup();
        let cost = |v: &[f64]| {
            let (p, q, gamma) = (v[0].exp(), v[1].exp(), v[2].exp());
            let per_x: Vec<f64> = frequencies
                .iter()
                .map(|&x| ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q) + q * gamma.ln())
                .collect();
            let sum: f64 = rows
                .iter()
                .map(|&(x, m, count)| {
                    let i = frequencies.partition_point(|f| *f < x);
                    count
                        * (per_x[i] + (p * x - 1.0) * m.ln() + p * x * x.ln()
                            - (p * x + q) * (gamma + m * x).ln())
                })
                .sum();
            -sum / n
        };
        let best = minimise(&cost, vec![0.0; 3])?;
        Ok(GammaGamma {
            p: best[0].exp(),
            q: best[1].exp(),
            gamma: best[2].exp(),
        })
    }
}

struct Cost<'a, F: Fn(&[f64]) -> f64>(&'a F);

impl<F: Fn(&[f64]) -> f64> CostFunction for Cost<'_, F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, p: &Vec<f64>) -> Result<f64, Error> {
        let c = (self.0)(p);
        // Outside the model's domain (an overflow): a wall the simplex turns back from.
        Ok(if c.is_finite() { c } else { f64::MAX })
    }
}

/// Nelder-Mead from `start`, then again from where it stopped.
fn minimise(cost: &impl Fn(&[f64]) -> f64, start: Vec<f64>) -> Result<Vec<f64>, FitError> {
    let fail = |e: Error| FitError::Optimiser(e.to_string());
    let mut best = start;
    for step in [1.0, 0.1] {
        let mut simplex = vec![best.clone()];
        for i in 0..best.len() {
            let mut v = best.clone();
            v[i] += step;
            simplex.push(v);
        }
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(1e-12)
            .map_err(fail)?;
        let res = Executor::new(Cost(cost), solver)
            .configure(|s| s.max_iters(20_000))
            .run()
            .map_err(fail)?;
        best = res
            .state()
            .get_best_param()
            .cloned()
            .ok_or_else(|| FitError::Optimiser("no parameters came out".into()))?;
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With no repeat purchase, the Gamma and Beta terms cancel and the likelihood is
    /// (α/(α+T))^r: the general formula must agree.
    #[test]
    fn a_customer_without_repeats_has_the_closed_form_likelihood() {
        let (r, alpha, a, b) = (0.243, 4.414, 0.793, 2.426);
        let s = Summary {
            frequency: 0.0,
            recency: 0.0,
            t: 38.86,
            monetary_value: 0.0,
        };
        // B(a, b)/B(a, b) = 1 and Γ(r)/Γ(r) = 1 leave (α/(α+T))^r.
        let expected = r * (alpha / (alpha + s.t)).ln();
        let got = BgNbd::log_likelihood_of(r, alpha, a, b, &s);
        assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    }

    /// ₂F₁ against values from its closed forms: ₂F₁(1,1;2;z) = −ln(1−z)/z and
    /// ₂F₁(a,b;b;z) = (1−z)^(−a).
    #[test]
    fn the_hypergeometric_series_meets_its_closed_forms() {
        for z in [0.0f64, 0.1, 0.5, 0.9, 0.99] {
            let closed = if z == 0.0 { 1.0 } else { -(1.0 - z).ln() / z };
            let got = hyp2f1(1.0, 1.0, 2.0, z);
            assert!(
                (got - closed).abs() < 1e-10 * closed,
                "z={z}: {got} vs {closed}"
            );
            let closed = (1.0 - z).powf(-2.5);
            let got = hyp2f1(2.5, 3.7, 3.7, z);
            assert!(
                (got - closed).abs() < 1e-9 * closed,
                "z={z}: {got} vs {closed}"
            );
        }
    }

    /// The 2005 paper's worked example: with the CDNOW parameters, a customer with 2 repeat
    /// purchases, the last at 30.43 weeks, observed for 38.86, is expected to make 1.226
    /// purchases in the next 39 weeks.
    #[test]
    fn the_papers_worked_example_expects_1_226_purchases() {
        let m = BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
            log_likelihood: 0.0,
        };
        let s = Summary {
            frequency: 2.0,
            recency: 30.43,
            t: 38.86,
            monetary_value: 0.0,
        };
        let e = m.expected_purchases(&s, 39.0);
        assert!((e - 1.226).abs() < 0.0005, "{e}");
        let alive = m.probability_alive(&s);
        assert!(alive > 0.0 && alive < 1.0);
        // No repeat purchase: alive by assumption.
        let new = Summary {
            frequency: 0.0,
            recency: 0.0,
            ..s
        };
        assert_eq!(m.probability_alive(&new), 1.0);
    }

    #[test]
    fn log_sum_exp_does_not_overflow() {
        assert!((log_sum_exp(1000.0, 1000.0) - (1000.0 + 2f64.ln())).abs() < 1e-9);
        assert!((log_sum_exp(-1000.0, 0.0)).abs() < 1e-12);
    }
}
