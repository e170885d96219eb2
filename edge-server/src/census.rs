//! Figures over every contact that no counter keeps: each site's RFM grid (how many
//! purchasers have each recency and frequency score).
//!
//! A counter on the write path cannot keep it: a score moves when the site's cut points are
//! recomputed and when time passes, with no write to the contact. So a walk over the
//! contacts takes it, and the answer says when ("as of 10:42 UTC").
//!
//! - The first question waits for the first walk; after that an answer is never waited for.
//! - A walk older than [`Census::fresh_for`] is retaken in the background (one at a time),
//!   and meanwhile the last one answers.
//! - How long it stays fresh grows with what a walk costs (20 times its duration, at least a
//!   minute), so the walks take at most a twentieth of one core at any number of contacts.
//! - Each cell is counted per confidentiality level, so an admin's answer sums only the
//!   levels it is cleared for, and a hidden contact counts nowhere it could be seen.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::contacts::{sheet, Confidentiality};
use crate::store::{Store, StoreError};

/// Cells `[recency - 1][frequency - 1]`.
pub type Cells = [[u64; 5]; 5];

const LEVELS: usize = Confidentiality::ALL.len();

/// One walk's result.
#[derive(Debug)]
pub struct Taken {
    /// When it was taken, by the edge's clock (ms).
    pub at: i64,
    /// Each site's cells, per confidentiality level (in the order of `Confidentiality::ALL`).
    by_site: HashMap<String, [Cells; LEVELS]>,
    started: Instant,
    took: Duration,
}

impl Taken {
    /// The cells of `site` (every site's, summed, for `None`) that an admin cleared for
    /// `clearance` may count.
    pub fn cells(&self, site: Option<&str>, clearance: Confidentiality) -> Cells {
        let mut out = Cells::default();
        let sites = self
            .by_site
            .iter()
            .filter(|(s, _)| site.is_none_or(|want| want == s.as_str()));
        for (_, levels) in sites {
            for (level, cells) in Confidentiality::ALL.iter().zip(levels) {
                if *level > clearance {
                    continue;
                }
                for (row, add) in out.iter_mut().zip(cells) {
                    for (n, a) in row.iter_mut().zip(add) {
                        *n += a;
                    }
                }
            }
        }
        out
    }

    /// Whether `site` had cut points at the walk.
    pub fn has(&self, site: &str) -> bool {
        self.by_site.contains_key(site)
    }

    /// Walks every live, valid contact as of `now` and scores it with its site's cut points.
    /// Sites whose cut points are not computed yet have no grid.
    pub fn take(store: &Store, now: i64) -> Result<Taken, StoreError> {
        let started = Instant::now();
        let mut cuts = HashMap::new();
        let mut by_site: HashMap<String, [Cells; LEVELS]> = HashMap::new();
        for c in store.contacts_before(None) {
            let c = c?;
            let Some((inputs, _)) = sheet::rfm_inputs(&c) else {
                continue;
            };
            if !cuts.contains_key(&c.site) {
                cuts.insert(c.site.clone(), store.quintiles(&c.site)?);
            }
            let Some(Some(q)) = cuts.get(&c.site) else {
                continue;
            };
            // Every scored site has a grid, if only of zeros: it was walked.
            let site = by_site.entry(c.site.clone()).or_default();
            if c.invalid_at(now) {
                continue;
            }
            let (r, f, _) = q.score(&inputs, now);
            let level = Confidentiality::ALL
                .iter()
                .position(|l| *l == c.admin.confidentiality)
                .unwrap_or(LEVELS - 1);
            let (r, f) = (
                usize::from(r.clamp(1, 5)) - 1,
                usize::from(f.clamp(1, 5)) - 1,
            );
            site[level][r][f] += 1;
        }
        Ok(Taken {
            at: now,
            by_site,
            started,
            took: started.elapsed(),
        })
    }
}

/// The last walk and whether one is under way.
#[derive(Default)]
pub struct Census {
    last: Mutex<Option<Arc<Taken>>>,
    walking: AtomicBool,
}

impl Census {
    /// How long a walk that took `took` answers before it is retaken.
    pub fn fresh_for(took: Duration) -> Duration {
        (took * 20).max(Duration::from_secs(60))
    }

    fn last(&self) -> Option<Arc<Taken>> {
        self.last.lock().ok().and_then(|l| l.clone())
    }

    fn keep(&self, t: Arc<Taken>) {
        if let Ok(mut l) = self.last.lock() {
            *l = Some(t);
        }
    }

    /// The last walk, taking the first one now if there is none, and starting a fresh one in
    /// the background when it is stale. `walk` runs on the blocking pool.
    pub async fn current(
        self: &Arc<Self>,
        walk: impl Fn() -> Result<Taken, StoreError> + Send + Sync + 'static,
    ) -> Result<Arc<Taken>, StoreError> {
        let walk = Arc::new(walk);
        match self.last() {
            Some(t) => {
                let stale = t.started.elapsed() > Census::fresh_for(t.took);
                if stale && !self.walking.swap(true, Ordering::AcqRel) {
                    let me = Arc::clone(self);
                    tokio::task::spawn_blocking(move || {
                        match walk() {
                            Ok(fresh) => me.keep(Arc::new(fresh)),
                            Err(e) => tracing::warn!(error = %e, "the RFM grid's walk failed"),
                        }
                        me.walking.store(false, Ordering::Release);
                    });
                }
                Ok(t)
            }
            None => self.retake(move || walk()).await,
        }
    }

    /// A walk taken now, waited for, and kept.
    pub async fn retake(
        &self,
        walk: impl FnOnce() -> Result<Taken, StoreError> + Send + 'static,
    ) -> Result<Arc<Taken>, StoreError> {
        let taken = tokio::task::spawn_blocking(walk)
            .await
            .map_err(|e| StoreError::Sled(format!("the walk stopped: {e}")))??;
        let taken = Arc::new(taken);
        self.keep(Arc::clone(&taken));
        Ok(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_take_at_most_a_twentieth_of_the_time() {
        assert_eq!(
            Census::fresh_for(Duration::from_millis(200)),
            Duration::from_secs(60)
        );
        assert_eq!(
            Census::fresh_for(Duration::from_secs(10)),
            Duration::from_secs(200)
        );
    }

    #[test]
    fn an_admin_counts_only_the_levels_it_is_cleared_for() {
        let mut levels = [Cells::default(); LEVELS];
        levels[0][4][4] = 3;
        levels[2][4][4] = 1;
        let mut other = [Cells::default(); LEVELS];
        other[1][0][0] = 2;
        let t = Taken {
            at: 0,
            by_site: HashMap::from([("a".to_owned(), levels), ("b".to_owned(), other)]),
            started: Instant::now(),
            took: Duration::ZERO,
        };
        assert_eq!(t.cells(Some("a"), Confidentiality::Free)[4][4], 3);
        assert_eq!(t.cells(Some("a"), Confidentiality::Confidential)[4][4], 4);
        let all = t.cells(None, Confidentiality::Restricted);
        assert_eq!((all[4][4], all[0][0]), (3, 2));
    }
}
