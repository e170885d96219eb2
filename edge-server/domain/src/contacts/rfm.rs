//! RFM: recency, frequency and monetary value, scored 1 to 5 by quintiles over every
//! purchasing contact of a site, and named by a fixed grid.
//!
//! The quintile cut points are recomputed in the background (see `Store::recompute_rfm`) from
//! one small record per purchasing contact; a sheet only compares its contact's values with
//! the latest cut points, so reading it costs nothing extra.
//!
//! Scores:
//! - the cut points of a measure are the values at the 20th, 40th, 60th and 80th percentiles
//!   (`sorted[ceil(n·k/5) − 1]`);
//! - frequency and monetary score 1 plus the number of cut points the value is above;
//! - recency (days since the last purchase, lower is better) scores 5 minus the number of cut
//!   points it is above.
//!
//! Segments, by R and by FM = ⌈(F + M) / 2⌉:
//!
//! | R \ FM | 1 | 2 | 3 | 4 | 5 |
//! |---|---|---|---|---|---|
//! | 5 | new_customer | potential_loyalist | potential_loyalist | champions | champions |
//! | 4 | promising | potential_loyalist | potential_loyalist | loyal | champions |
//! | 3 | about_to_sleep | about_to_sleep | need_attention | loyal | loyal |
//! | 2 | hibernating | hibernating | at_risk | at_risk | cannot_lose |
//! | 1 | lost | lost | at_risk | at_risk | cannot_lose |

use serde::{Deserialize, Serialize};

use super::fact::Units;
use super::named::RfmSegment;

/// One purchasing contact's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub last_purchase_at: i64,
    pub frequency: u64,
    /// Spend in the contact's main currency.
    pub monetary: Units,
}

/// The cut points of one site's purchasing contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quintiles {
    pub computed_at: i64,
    pub contacts: u64,
    pub recency_days: [i64; 4],
    pub frequency: [u64; 4],
    pub monetary: [Units; 4],
}

pub const DAY_MS: i64 = 86_400_000;

/// Whole days from `then` to `now`, never negative.
pub fn days_between(then: i64, now: i64) -> i64 {
    (now - then).max(0) / DAY_MS
}

fn cuts<T: Copy + Ord>(mut v: Vec<T>) -> Option<[T; 4]> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    let at = |k: usize| v[(n * k).div_ceil(5).max(1) - 1];
    Some([at(1), at(2), at(3), at(4)])
}

impl Quintiles {
    /// The cut points over `all`, as of `now`. `None` when nobody has purchased.
    pub fn compute(all: &[Inputs], now: i64) -> Option<Quintiles> {
        Some(Quintiles {
            computed_at: now,
            contacts: all.len() as u64,
            recency_days: cuts(
                all.iter()
                    .map(|i| days_between(i.last_purchase_at, now))
                    .collect(),
            )?,
            frequency: cuts(all.iter().map(|i| i.frequency).collect())?,
            monetary: cuts(all.iter().map(|i| i.monetary).collect())?,
        })
    }

    /// The R, F and M scores of `i` as of `now`.
    pub fn score(&self, i: &Inputs, now: i64) -> (u8, u8, u8) {
        fn above<T: PartialOrd>(v: T, cuts: &[T; 4]) -> u8 {
            cuts.iter().filter(|c| v > **c).count() as u8
        }
        let r = 5 - above(days_between(i.last_purchase_at, now), &self.recency_days);
        let f = 1 + above(i.frequency, &self.frequency);
        let m = 1 + above(i.monetary, &self.monetary);
        (r, f, m)
    }
}

/// The grid's segment for scores `r`, `f`, `m` (each 1 to 5).
pub fn segment(r: u8, f: u8, m: u8) -> RfmSegment {
    let fm = (f + m).div_ceil(2);
    match (r, fm) {
        (5, 1) => RfmSegment::NewCustomer,
        (5, 2..=3) | (4, 2..=3) => RfmSegment::PotentialLoyalist,
        (5, _) | (4, 5) => RfmSegment::Champions,
        (4, 1) => RfmSegment::Promising,
        (4, _) | (3, 4..) => RfmSegment::Loyal,
        (3, 3) => RfmSegment::NeedAttention,
        (3, _) => RfmSegment::AboutToSleep,
        (1..=2, 5) => RfmSegment::CannotLose,
        (1..=2, 3..=4) => RfmSegment::AtRisk,
        (2, _) => RfmSegment::Hibernating,
        _ => RfmSegment::Lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(days_ago: i64, frequency: u64, monetary: Units, now: i64) -> Inputs {
        Inputs {
            last_purchase_at: now - days_ago * DAY_MS,
            frequency,
            monetary,
        }
    }

    #[test]
    fn five_contacts_spread_over_the_five_scores() {
        let now = 1_000 * DAY_MS;
        let all: Vec<Inputs> = (1..=5)
            .map(|k| inputs(k * 10, k as u64, Units::from(k * 100), now))
            .collect();
        let q = Quintiles::compute(&all, now).unwrap();
        assert_eq!(q.frequency, [1, 2, 3, 4]);
        assert_eq!(q.recency_days, [10, 20, 30, 40]);
        let scores: Vec<_> = all.iter().map(|i| q.score(i, now)).collect();
        assert_eq!(
            scores,
            vec![(5, 1, 1), (4, 2, 2), (3, 3, 3), (2, 4, 4), (1, 5, 5)]
        );
    }

    #[test]
    fn a_value_on_a_cut_point_takes_the_lower_score() {
        let now = 100 * DAY_MS;
        let all: Vec<Inputs> = (1..=10).map(|k| inputs(0, k, 0, now)).collect();
        let q = Quintiles::compute(&all, now).unwrap();
        // Cut points 2, 4, 6, 8: 2 is not above 2, so it scores 1; 3 scores 2.
        assert_eq!(q.frequency, [2, 4, 6, 8]);
        assert_eq!(q.score(&inputs(0, 2, 0, now), now).1, 1);
        assert_eq!(q.score(&inputs(0, 3, 0, now), now).1, 2);
        assert_eq!(q.score(&inputs(0, 9, 0, now), now).1, 5);
    }

    #[test]
    fn one_purchaser_is_recent_but_lowest_on_f_and_m() {
        let now = 10 * DAY_MS;
        let only = inputs(1, 1, 50, now);
        let q = Quintiles::compute(&[only], now).unwrap();
        assert_eq!(q.score(&only, now), (5, 1, 1));
        assert_eq!(segment(5, 1, 1), "new_customer");
        assert!(Quintiles::compute(&[], now).is_none());
    }

    #[test]
    fn the_grid_names_every_cell() {
        let mut names = std::collections::BTreeSet::new();
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    names.insert(segment(r, f, m));
                }
            }
        }
        assert_eq!(names.len(), 11, "{names:?}");
        assert_eq!(segment(5, 5, 5), "champions");
        assert_eq!(segment(4, 4, 4), "loyal");
        assert_eq!(segment(4, 1, 1), "promising");
        assert_eq!(segment(3, 3, 3), "need_attention");
        assert_eq!(segment(3, 1, 2), "about_to_sleep");
        assert_eq!(segment(2, 3, 4), "at_risk");
        assert_eq!(segment(1, 5, 5), "cannot_lose");
        assert_eq!(segment(2, 1, 1), "hibernating");
        assert_eq!(segment(1, 1, 2), "lost");
        assert_eq!(segment(5, 2, 3), "potential_loyalist");
    }
}
