//! Points: lead scoring (Connectif's "System: the points the contact has and the last
//! update"), by per-site rules.
//!
//! A site's [`PointRules`] give points per event type, per page path pattern and per unit of
//! a purchase's total, and optionally a half-life. The points an event earns are worked out
//! when the event is accepted (on the request's thread, into its [`Earned`]), so the writer
//! and every replica of the log add the same number: **a change of the rules applies from
//! then on**, and points already earned keep the value they were given.
//!
//! A contact keeps [`Points`]: a value as of a time. With a half-life the value halves every
//! `half_life_days`; an event adds its points at its own time (a late event adds them
//! already decayed), so the order events arrive in does not matter. The half-life in effect
//! when points were last added rides along, so reading the value needs no config.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use footprint_protocol::EventKind;

const DAY_MS: f64 = 86_400_000.0;

/// Largest number of points one rule gives, either way: keeps sums finite and readable.
pub const MAX_RULE_POINTS: f64 = 1_000_000.0;
/// Most page rules a site has.
pub const MAX_PAGE_RULES: usize = 100;

/// One site's scoring rules (the `[sites.points]` table of the edge's config).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PointRules {
    /// By event type name (`page_view`, `purchase`, …), or `custom.NAME` for a custom event
    /// of that name.
    pub events: BTreeMap<String, f64>,
    /// Page views whose path matches, in order; every matching rule adds.
    pub pages: Vec<PageRule>,
    /// Points per unit of a purchase's total (per euro, per dollar: the currency is not
    /// converted).
    pub purchase_per_unit: f64,
    pub half_life_days: Option<f64>,
}

/// `pattern` is a path with `*` standing for any run of characters (`/pricing*`,
/// `/blog/*/compare`).
#[derive(Debug, Clone, PartialEq)]
pub struct PageRule {
    pub pattern: String,
    pub points: f64,
}

/// What an event earned, carried in its fact (and so in the command).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Earned {
    pub points: f64,
    pub half_life_days: Option<f64>,
}

/// A contact's points: `value` as of `at` (ms), halving every `half_life_days` after it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Points {
    pub value: f64,
    pub at: i64,
    pub half_life_days: Option<f64>,
}

/// `0.5^(ms / half-life)`; 1 without a half-life.
fn decay(ms: i64, half_life_days: Option<f64>) -> f64 {
    match half_life_days {
        Some(h) if h > 0.0 => 0.5f64.powf(ms as f64 / (h * DAY_MS)),
        _ => 1.0,
    }
}

impl Points {
    /// The value at `now` (never earlier than `at`), rounded to 2 decimals as the sheet
    /// shows it.
    pub fn value_at(&self, now: i64) -> f64 {
        let v = self.value * decay((now - self.at).max(0), self.half_life_days);
        (v * 100.0).round() / 100.0
    }

    /// Adds `points` earned at `at` under `half_life_days`.
    pub fn add(slot: &mut Option<Points>, points: f64, at: i64, half_life_days: Option<f64>) {
        if points == 0.0 {
            return;
        }
        match slot {
            None => {
                *slot = Some(Points {
                    value: points,
                    at,
                    half_life_days,
                })
            }
            Some(p) if at >= p.at => {
                p.value = p.value * decay(at - p.at, half_life_days) + points;
                p.at = at;
                p.half_life_days = half_life_days;
            }
            // A late event: its points arrive decayed to the latest time.
            Some(p) => p.value += points * decay(p.at - at, p.half_life_days),
        }
    }

    /// Folds a merged contact's points into `slot`'s.
    pub fn absorb(slot: &mut Option<Points>, other: Option<Points>) {
        if let Some(o) = other {
            Points::add(slot, o.value, o.at, o.half_life_days);
        }
    }
}

impl Points {
    /// A number that orders contacts by their points at any one time, and does not change
    /// as time passes: `v·0.5^((now−at)/h)` orders as `log2|v| + at/h`, by the sign first.
    /// (Exact among contacts whose points share a half-life; see README.)
    pub fn order_key(&self) -> (u8, f64) {
        if self.value == 0.0 || !self.value.is_finite() {
            return (1, 0.0);
        }
        let drift = match self.half_life_days {
            Some(h) if h > 0.0 => self.at as f64 / (h * DAY_MS),
            _ => 0.0,
        };
        let k = self.value.abs().log2() + drift;
        if self.value > 0.0 {
            (2, k)
        } else {
            (0, -k)
        }
    }
}

/// Whether `path` matches `pattern`, `*` matching any run of characters.
pub fn glob(pattern: &str, path: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: the whole path.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

impl PointRules {
    /// What `ev` earns; `None` when nothing.
    pub fn earned(&self, kind: &EventKind) -> Option<Earned> {
        let ty = kind.event_type();
        let mut points = self.events.get(ty.as_str()).copied().unwrap_or(0.0);
        match kind {
            EventKind::PageView(p) => {
                for rule in &self.pages {
                    if glob(&rule.pattern, p.path.as_str()) {
                        points += rule.points;
                    }
                }
            }
            EventKind::Purchase(p) => {
                use rust_decimal::prelude::ToPrimitive;
                let total = p.total.as_decimal().to_f64().unwrap_or(0.0);
                points += total * self.purchase_per_unit;
            }
            EventKind::Custom(c) => {
                points += self
                    .events
                    .get(&format!("custom.{}", c.name.as_str()))
                    .copied()
                    .unwrap_or(0.0);
            }
            _ => {}
        }
        (points != 0.0 && points.is_finite()).then_some(Earned {
            points,
            half_life_days: self.half_life_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn globs_match_as_documented() {
        assert!(glob("/pricing", "/pricing"));
        assert!(!glob("/pricing", "/pricing/team"));
        assert!(glob("/pricing*", "/pricing/team"));
        assert!(glob("/blog/*/compare", "/blog/a/b/compare"));
        assert!(!glob("/blog/*/compare", "/blog/compare"));
        assert!(glob("*", "/anything"));
        assert!(glob("*.pdf", "/docs/x.pdf"));
        assert!(!glob("/a*a", "/a"));
    }

    #[test]
    fn points_halve_every_half_life_whatever_the_order() {
        let h = Some(10.0);
        let mut in_order = None;
        Points::add(&mut in_order, 8.0, 0, h);
        Points::add(&mut in_order, 4.0, 10 * DAY, h);
        // 8 halved once, plus 4.
        assert_eq!(in_order.unwrap().value_at(10 * DAY), 8.0);
        assert_eq!(in_order.unwrap().value_at(20 * DAY), 4.0);
        let mut late = None;
        Points::add(&mut late, 4.0, 10 * DAY, h);
        Points::add(&mut late, 8.0, 0, h);
        assert_eq!(late.unwrap().value_at(20 * DAY), 4.0);
        let mut flat = None;
        Points::add(&mut flat, 3.0, 0, None);
        Points::add(&mut flat, -1.0, 5 * DAY, None);
        assert_eq!(flat.unwrap().value_at(900 * DAY), 2.0);
    }
}
