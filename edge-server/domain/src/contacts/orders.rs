//! Orders (Engage's transaction history, SecuTix's purchase history): one record per order a
//! contact placed, with its lines, where it came from, and the refunds given on it.
//!
//! A repeated `order_id` stays one order: the store keeps the first purchase event of an id
//! and counts nothing again. A `refund` names its order; without an amount it gives back what
//! is left of it. What a refund takes off the contact's totals is worked out here, from the
//! order as the store holds it, so a refund never gives back more than was paid.

use serde::{Deserialize, Serialize};

use super::fact::{Line, Source, Units};

/// Refunds one order keeps.
pub const MAX_REFUNDS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub at: i64,
    pub items: Vec<Line>,
    pub total: Units,
    pub currency: String,
    pub source: Source,
    pub refunds: Vec<RefundEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundEntry {
    pub at: i64,
    pub amount: Units,
    pub reason: Option<String>,
}

impl Order {
    pub fn refunded(&self) -> Units {
        self.refunds.iter().map(|r| r.amount).sum()
    }

    /// What is left to refund.
    pub fn remaining(&self) -> Units {
        (self.total - self.refunded()).max(0)
    }

    /// Records a refund of `amount` (all that is left when `None`) in `currency` (the order's
    /// when `None`); returns what it took off, or why it took nothing (the batch warning).
    pub fn refund(
        &mut self,
        at: i64,
        amount: Option<Units>,
        currency: Option<&str>,
        reason: Option<String>,
    ) -> Result<Units, String> {
        let id = &self.order_id;
        if let Some(c) = currency.filter(|c| *c != self.currency) {
            return Err(format!(
                "properties.currency: order {id} is in {}, not {c}; nothing was refunded",
                self.currency
            ));
        }
        let left = self.remaining();
        if left == 0 {
            return Err(format!(
                "properties.order_id: order {id} is already refunded in full; nothing more was \
                 refunded"
            ));
        }
        let amount = amount.unwrap_or(left);
        if amount <= 0 || amount > left {
            return Err(format!(
                "properties.amount: {} is more than the {} {} left on order {id}, or not above \
                 0; nothing was refunded",
                super::sheet::Money(amount),
                super::sheet::Money(left),
                self.currency
            ));
        }
        if self.refunds.len() >= MAX_REFUNDS {
            return Err(format!(
                "properties.order_id: order {id} already has {MAX_REFUNDS} refunds, the most \
                 one keeps; nothing more was refunded"
            ));
        }
        self.refunds.push(RefundEntry { at, amount, reason });
        Ok(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Order {
        Order {
            order_id: "o-1".into(),
            at: 0,
            items: Vec::new(),
            total: 100_000,
            currency: "EUR".into(),
            source: Source::Browser,
            refunds: Vec::new(),
        }
    }

    #[test]
    fn partial_then_full_refunds_never_exceed_the_total() {
        let mut o = order();
        assert_eq!(o.refund(1, Some(30_000), Some("EUR"), None), Ok(30_000));
        assert!(o
            .refund(2, Some(80_000), None, None)
            .unwrap_err()
            .contains("7.00 EUR left"));
        assert!(o
            .refund(2, None, Some("USD"), None)
            .unwrap_err()
            .contains("in EUR"));
        assert_eq!(o.refund(3, None, None, Some("damaged".into())), Ok(70_000));
        assert_eq!((o.refunded(), o.remaining()), (100_000, 0));
        assert!(o
            .refund(4, None, None, None)
            .unwrap_err()
            .contains("in full"));
    }
}
