//! Predicted lifetime value on the sheet: a site's CLV models, fitted in the background per
//! currency from one small record per purchasing contact ([`History`]), and a contact's
//! prediction from them.
//!
//! The models are [`super::clv`]'s, in weeks as the CDNOW analyses use them:
//! - a contact's **frequency** is its orders in its main currency less the first, its
//!   **recency** the weeks from its first order to its last, its **T** the weeks from its
//!   first order to the fit (or the sheet);
//! - its **monetary value** is the mean of its repeat orders: the currency's spend less the
//!   first order's total, over the repeat orders. Contacts recorded before the first order's
//!   total was kept (record v4; v6 keeps the first order apart) use the mean of all their orders.
//!
//! Each order counts as a purchase, however close to the last one: the model's time is
//! continuous, and orders are already one per order id.
//!
//! A site's currency is fitted only when it has enough data ([`FitRules`]); otherwise the
//! record says why, and the sheet shows that reason instead of numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::aggregate::Contact;
use super::clv::{BgNbd, GammaGamma, Summary};
use super::fact::{Units, UNITS};

const WEEK_MS: f64 = 7.0 * 86_400_000.0;
/// The horizons the sheet predicts over, in weeks.
pub const WEEKS_90_DAYS: f64 = 90.0 / 7.0;
pub const WEEKS_12_MONTHS: f64 = 365.25 / 7.0;

/// One purchasing contact's history in its main currency: what the fit and the sheet read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub currency: String,
    pub first_at: i64,
    pub last_at: i64,
    pub orders: u64,
    /// The summed totals of the orders after the first.
    pub repeat_value: Units,
}

impl History {
    /// The history of `c`; `None` without orders.
    pub fn of(c: &Contact) -> Option<History> {
        let e = &c.ecommerce;
        let currency = e.main_currency()?.to_owned();
        let orders = e.orders.get(&currency).copied().filter(|n| *n > 0)?;
        let spent = e.spent.get(&currency).copied().unwrap_or(0);
        let first = c.extras.first_orders.get(&currency);
        let first_at = first
            .map(|f| f.at)
            .or(e.first_purchase_at)
            .unwrap_or(c.created_at);
        let repeat_value = match first {
            Some(f) => spent - f.value,
            // An older record: the mean of every order stands in for the repeat orders'.
            None => spent * Units::from(orders - 1) / Units::from(orders),
        };
        Some(History {
            currency,
            first_at,
            last_at: e.last_purchase_at.unwrap_or(first_at).max(first_at),
            orders,
            repeat_value: repeat_value.max(0),
        })
    }

    /// The models' view of it as of `now`, in weeks.
    pub fn summary(&self, now: i64) -> Summary {
        let weeks = |ms: i64| ms.max(0) as f64 / WEEK_MS;
        let repeats = self.orders.saturating_sub(1);
        let recency = if repeats == 0 {
            0.0
        } else {
            weeks(self.last_at - self.first_at)
        };
        Summary {
            frequency: repeats as f64,
            recency,
            t: weeks(now - self.first_at).max(recency),
            monetary_value: if repeats == 0 {
                0.0
            } else {
                self.repeat_value as f64 / UNITS as f64 / repeats as f64
            },
        }
    }
}

/// When a site's currency has enough data to fit (the `clv_` keys of the edge's `[contacts]` config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitRules {
    /// Purchasing contacts in the currency.
    pub min_customers: u64,
    /// Of them, contacts with a repeat order (Gamma-Gamma fits on these only).
    pub min_repeat_customers: u64,
    /// Days from the currency's earliest first order to the fit.
    pub min_history_days: u64,
}

/// A site's models, one per currency, as of one fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteClv {
    pub fitted_at: i64,
    pub currencies: BTreeMap<String, CurrencyModel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrencyModel {
    pub customers: u64,
    pub repeat_customers: u64,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Fitted {
        bg_nbd: BgNbd,
        gamma_gamma: GammaGamma,
    },
    /// Why there is no model: the sheet shows this.
    NotFitted(String),
}

impl SiteClv {
    /// Fits each currency of `histories` (one site's) that has enough data by `rules`.
    pub fn fit(histories: &[History], now: i64, rules: FitRules) -> SiteClv {
        let mut by_currency: BTreeMap<&str, Vec<&History>> = BTreeMap::new();
        for h in histories {
            by_currency.entry(h.currency.as_str()).or_default().push(h);
        }
        let currencies = by_currency
            .into_iter()
            .map(|(currency, hs)| (currency.to_owned(), fit_currency(currency, &hs, now, rules)))
            .collect();
        SiteClv {
            fitted_at: now,
            currencies,
        }
    }
}

fn fit_currency(currency: &str, hs: &[&History], now: i64, rules: FitRules) -> CurrencyModel {
    let customers = hs.len() as u64;
    let repeat_customers = hs.iter().filter(|h| h.orders > 1).count() as u64;
    let model = |outcome| CurrencyModel {
        customers,
        repeat_customers,
        outcome,
    };
    let earliest = hs.iter().map(|h| h.first_at).min().unwrap_or(now);
    let days = u64::try_from((now - earliest).max(0) / 86_400_000).unwrap_or(0);
    let short = if customers < rules.min_customers {
        Some(format!(
            "the site has {customers} purchasing contacts in {currency}; a prediction needs \
             at least {} (contacts.clv_min_customers)",
            rules.min_customers
        ))
    } else if repeat_customers < rules.min_repeat_customers {
        Some(format!(
            "{repeat_customers} contacts bought more than once in {currency}; a prediction \
             needs at least {} (contacts.clv_min_repeat_customers)",
            rules.min_repeat_customers
        ))
    } else if days < rules.min_history_days {
        Some(format!(
            "the site's first order in {currency} is {days} days old; a prediction needs \
             {} days of history (contacts.clv_min_history_days)",
            rules.min_history_days
        ))
    } else {
        None
    };
    if let Some(why) = short {
        return model(Outcome::NotFitted(why));
    }
    let data: Vec<Summary> = hs.iter().map(|h| h.summary(now)).collect();
    let fitted = BgNbd::fit(&data)
        .map_err(|e| format!("the purchase model did not fit: {e}"))
        .and_then(|bg| {
            GammaGamma::fit(&data)
                .map_err(|e| format!("the value model did not fit: {e}"))
                .map(|gg| (bg, gg))
        })
        .and_then(|(bg, gg)| {
            // Both expectations divide by these: a fit outside them predicts nothing finite.
            if bg.a <= 1.0 {
                Err(format!(
                    "the purchase model's dropout shape a = {:.3} is not above 1, so its \
                     expected purchases are unbounded; more history usually fixes this",
                    bg.a
                ))
            } else if gg.q <= 1.0 {
                Err(format!(
                    "the value model's shape q = {:.3} is not above 1, so its mean value is \
                     unbounded; more repeat orders usually fix this",
                    gg.q
                ))
            } else {
                Ok((bg, gg))
            }
        });
    model(match fitted {
        Ok((bg_nbd, gamma_gamma)) => Outcome::Fitted {
            bg_nbd,
            gamma_gamma,
        },
        Err(why) => Outcome::NotFitted(why),
    })
}

/// A contact's predicted value, in its main currency. Numbers are rounded as the sheet shows
/// them (4 decimals, money to the cent), and segment rules compare these same numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub currency: String,
    pub probability_alive: f64,
    pub expected_purchases_90_days: f64,
    pub expected_purchases_12_months: f64,
    pub expected_value_per_purchase: Units,
    pub predicted_12_months: Units,
    pub model_fitted_at: i64,
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

fn to_cents(v: f64) -> Units {
    // Finite by the checks in `predict`; `as` saturates anything absurd rather than wrapping.
    ((v * 100.0).round() as i64 as Units) * (UNITS / 100)
}

/// The prediction for `h` as of `now` from the site's models, or why there is none.
pub fn predict(models: Option<&SiteClv>, h: &History, now: i64) -> Result<Prediction, String> {
    let site = models.ok_or(
        "the site's models have not been fitted yet; they are fitted in the background \
         (contacts.clv_every_seconds)",
    )?;
    let model = site.currencies.get(&h.currency).ok_or_else(|| {
        format!(
            "the site had no purchasing contacts in {} when its models were last fitted",
            h.currency
        )
    })?;
    let (bg, gg) = match &model.outcome {
        Outcome::Fitted {
            bg_nbd,
            gamma_gamma,
        } => (bg_nbd, gamma_gamma),
        Outcome::NotFitted(why) => return Err(why.clone()),
    };
    let s = h.summary(now);
    let alive = bg.probability_alive(&s);
    let soon = bg.expected_purchases(&s, WEEKS_90_DAYS);
    let year = bg.expected_purchases(&s, WEEKS_12_MONTHS);
    let value = gg.expected_value(&s);
    if ![alive, soon, year, value].iter().all(|v| v.is_finite()) {
        return Err("the model's prediction for this history is not a finite number".into());
    }
    let (year, value) = (round4(year), value.max(0.0));
    Ok(Prediction {
        currency: h.currency.clone(),
        probability_alive: round4(alive),
        expected_purchases_90_days: round4(soon),
        expected_purchases_12_months: year,
        expected_value_per_purchase: to_cents(value),
        predicted_12_months: to_cents(year * value),
        model_fitted_at: site.fitted_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn history(orders: u64, first_day: i64, last_day: i64, repeat_value: Units) -> History {
        History {
            currency: "EUR".into(),
            first_at: first_day * DAY,
            last_at: last_day * DAY,
            orders,
            repeat_value,
        }
    }

    #[test]
    fn a_history_reads_in_weeks() {
        let s = history(3, 0, 14, 40 * UNITS).summary(28 * DAY);
        assert_eq!((s.frequency, s.recency, s.t), (2.0, 2.0, 4.0));
        assert_eq!(s.monetary_value, 20.0);
        let one = history(1, 0, 0, 0).summary(7 * DAY);
        assert_eq!((one.frequency, one.recency, one.t), (0.0, 0.0, 1.0));
    }

    #[test]
    fn too_little_data_says_which_setting() {
        let rules = FitRules {
            min_customers: 3,
            min_repeat_customers: 1,
            min_history_days: 30,
        };
        let few = [history(2, 0, 5, 10 * UNITS)];
        let site = SiteClv::fit(&few, 100 * DAY, rules);
        let Outcome::NotFitted(why) = &site.currencies["EUR"].outcome else {
            panic!("fitted on one customer")
        };
        assert!(why.contains("min_customers"), "{why}");
        let young: Vec<History> = (0..3).map(|_| history(2, 90, 95, UNITS)).collect();
        let site = SiteClv::fit(&young, 100 * DAY, rules);
        let h = &young[0];
        let why = predict(Some(&site), h, 100 * DAY).unwrap_err();
        assert!(
            why.contains("10 days old") && why.contains("min_history_days"),
            "{why}"
        );
        let other = History {
            currency: "USD".into(),
            ..h.clone()
        };
        assert!(predict(Some(&site), &other, 100 * DAY)
            .unwrap_err()
            .contains("no purchasing contacts in USD"));
        assert!(predict(None, h, 0).unwrap_err().contains("every_seconds"));
    }
}
