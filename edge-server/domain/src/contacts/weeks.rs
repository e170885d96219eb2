//! A contact's activity per week: how many events that show it doing something
//! ([`super::FactKind::engages`]) fell in each week, by event time.
//!
//! Weeks start on Monday, UTC. Only the [`KEPT`] weeks up to the newest one with activity are
//! kept, so the record stays the same size however long the contact lives; which weeks those
//! are depends only on the events, not on the order they arrived in (an event older than
//! the window is dropped whether it comes before or after the newer ones).

use serde::{Deserialize, Serialize};

/// Weeks kept: a year and a week, so that "the same week last year" is there.
pub const KEPT: u32 = 53;

const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;
/// 1970-01-01 was a Thursday: the Monday of its week is 3 days before.
const MONDAY_OFFSET_MS: i64 = 3 * DAY_MS;

/// The week of `at` (ms): weeks since the Monday before the epoch.
pub fn week_of(at: i64) -> u32 {
    u32::try_from((at + MONDAY_OFFSET_MS).div_euclid(WEEK_MS)).unwrap_or(0)
}

/// When week `w` starts (ms, Monday 00:00 UTC).
pub fn week_start(w: u32) -> i64 {
    i64::from(w) * WEEK_MS - MONDAY_OFFSET_MS
}

/// (week, events), oldest first, no week twice, no zero counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weeks(Vec<(u32, u32)>);

impl Weeks {
    /// Counts one event at `at`.
    pub fn add(&mut self, at: i64) {
        self.add_n(week_of(at), 1);
    }

    fn add_n(&mut self, week: u32, n: u32) {
        match self.0.binary_search_by_key(&week, |(w, _)| *w) {
            Ok(i) => self.0[i].1 = self.0[i].1.saturating_add(n),
            Err(i) => self.0.insert(i, (week, n)),
        }
        self.prune();
    }

    /// Folds in another contact's weeks: a merge.
    pub fn absorb(&mut self, other: &Weeks) {
        for &(w, n) in &other.0 {
            self.add_n(w, n);
        }
    }

    fn prune(&mut self) {
        if let Some(&(newest, _)) = self.0.last() {
            let oldest = newest.saturating_sub(KEPT - 1);
            self.0.retain(|(w, _)| *w >= oldest);
        }
    }

    /// The `n` weeks up to and including the week of `now`, oldest first, with their start
    /// (ms) and count; weeks without activity count 0.
    pub fn last(&self, now: i64, n: u32) -> Vec<(i64, u32)> {
        let this = week_of(now);
        (0..n)
            .rev()
            .filter_map(|back| this.checked_sub(back))
            .map(|w| {
                let count = self
                    .0
                    .binary_search_by_key(&w, |(k, _)| *k)
                    .map_or(0, |i| self.0[i].1);
                (week_start(w), count)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-23, a Monday, 00:00 UTC.
    const MONDAY: i64 = 1_795_392_000_000;

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(week_start(week_of(MONDAY)), MONDAY);
        assert_eq!(week_of(MONDAY - 1), week_of(MONDAY) - 1, "Sunday night");
        assert_eq!(week_of(MONDAY + 7 * DAY_MS - 1), week_of(MONDAY));
    }

    #[test]
    fn the_window_does_not_depend_on_arrival_order() {
        let times = [
            MONDAY,
            MONDAY - 60 * WEEK_MS,
            MONDAY - 2 * WEEK_MS,
            MONDAY + 1,
        ];
        let mut forward = Weeks::default();
        times.iter().for_each(|t| forward.add(*t));
        let mut backward = Weeks::default();
        times.iter().rev().for_each(|t| backward.add(*t));
        assert_eq!(forward, backward);
        assert_eq!(
            forward.0.len(),
            2,
            "the 60-week-old event is out of the window"
        );
        let mut merged = Weeks::default();
        merged.add(MONDAY - 60 * WEEK_MS);
        let mut other = Weeks::default();
        other.add(MONDAY);
        other.add(MONDAY + 1);
        other.add(MONDAY - 2 * WEEK_MS);
        merged.absorb(&other);
        assert_eq!(merged, forward);
    }

    #[test]
    fn the_last_weeks_include_empty_ones() {
        let mut w = Weeks::default();
        w.add(MONDAY + DAY_MS);
        w.add(MONDAY - WEEK_MS);
        w.add(MONDAY - WEEK_MS + 5);
        let last = w.last(MONDAY + 3 * DAY_MS, 3);
        assert_eq!(
            last,
            vec![
                (MONDAY - 2 * WEEK_MS, 0),
                (MONDAY - WEEK_MS, 2),
                (MONDAY, 1)
            ]
        );
    }
}
