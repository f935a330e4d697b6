//! Tariff arithmetic: from a usage quantity and a charge to an amount.
//!
//! Usage is rounded up to the charging increments first, then priced, and
//! the money is rounded once per priced item by the caller, with the list's
//! named rounding strategy. Every step is checked for overflow.

use rust_decimal::Decimal;

use crate::resolve::price_list::{Charge, Per};

/// How much of something was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Events or functions performed.
    Events(u64),
    /// Units of a quantity (pages, messages, octets, cells).
    Units(u64),
    /// Seconds of duration.
    Seconds(u64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("charge for `{item}` is per {per:?} but the usage is measured as {quantity:?}")]
    Mismatch {
        item: String,
        per: Per,
        quantity: Quantity,
    },
    #[error("arithmetic overflow pricing `{0}`")]
    Overflow(String),
}

/// Seconds charged for `secs` of use under first/next increments: zero use
/// is free; otherwise at least the first increment, then whole next
/// increments.
pub fn charged_seconds(secs: u64, first: u64, next: u64) -> Option<u64> {
    if secs == 0 {
        return Some(0);
    }
    if secs <= first {
        return Some(first);
    }
    let rest = secs - first;
    let steps = rest.div_ceil(next);
    first.checked_add(steps.checked_mul(next)?)
}

/// The unrounded amount of one charge for one usage.
pub fn amount(charge: &Charge, quantity: Quantity) -> Result<Decimal, PriceError> {
    let item = charge.item.get_ref();
    let overflow = || PriceError::Overflow(item.clone());
    let price = charge.price.0;
    let (raw, used) = match (charge.per, quantity) {
        // A function performed n times is n events.
        (Per::Event, Quantity::Events(n) | Quantity::Units(n)) => {
            (price.checked_mul(Decimal::from(n)), n)
        }
        (Per::Unit, Quantity::Units(n)) | (Per::Unit, Quantity::Events(n)) => {
            let size = charge.unit_size.unwrap_or(1);
            (price.checked_mul(Decimal::from(n.div_ceil(size))), n)
        }
        (Per::Duration, Quantity::Seconds(s)) => {
            let billed = charged_seconds(
                s,
                charge.first_increment.unwrap_or(1),
                charge.next_increment.unwrap_or(1),
            )
            .ok_or_else(overflow)?;
            let per = Decimal::from(charge.unit_seconds.unwrap_or(60));
            (
                price
                    .checked_mul(Decimal::from(billed))
                    .and_then(|x| x.checked_div(per)),
                s,
            )
        }
        (per, quantity) => {
            return Err(PriceError::Mismatch {
                item: item.clone(),
                per,
                quantity,
            });
        }
    };
    let raw = raw.ok_or_else(overflow)?;
    Ok(match charge.minimum {
        Some(m) if used > 0 && raw < m.0 => m.0,
        _ => raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(toml_text: &str) -> Charge {
        toml::from_str(toml_text).unwrap()
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn increments_worked_examples() {
        // 60/60: 61 s is two whole minutes.
        assert_eq!(charged_seconds(61, 60, 60), Some(120));
        // 60/1: first minute, then per second.
        assert_eq!(charged_seconds(61, 60, 1), Some(61));
        assert_eq!(charged_seconds(5, 60, 1), Some(60));
        // 30/6: 31 s -> 30 + 6.
        assert_eq!(charged_seconds(31, 30, 6), Some(36));
        assert_eq!(charged_seconds(36, 30, 6), Some(36));
        assert_eq!(charged_seconds(37, 30, 6), Some(42));
        assert_eq!(charged_seconds(0, 30, 6), Some(0));
    }

    #[test]
    fn duration_price_with_minimum() {
        let c = charge(
            r#"item = "call"
               per = "duration"
               price = "0.60"
               first_increment = 30
               next_increment = 6
               minimum = "0.45""#,
        );
        // 37 s -> 42 s charged -> 0.60 * 42 / 60 = 0.42, below the minimum.
        assert_eq!(amount(&c, Quantity::Seconds(37)).unwrap(), d("0.45"));
        // 125 s -> 30 + 16*6 = 126 s -> 0.60 * 126 / 60 = 1.26.
        assert_eq!(amount(&c, Quantity::Seconds(125)).unwrap(), d("1.26"));
        // No use, no minimum.
        assert_eq!(amount(&c, Quantity::Seconds(0)).unwrap(), d("0"));
    }

    #[test]
    fn unit_and_event_prices() {
        let pages = charge(
            r#"item = "send"
               per = "unit"
               price = "1.50"
               unit_size = 10"#,
        );
        // 11 pages at 1.50 per started 10 pages = 3.00.
        assert_eq!(amount(&pages, Quantity::Units(11)).unwrap(), d("3.00"));
        let ev = charge(
            r#"item = "logon"
               per = "event"
               price = "0.10""#,
        );
        assert_eq!(amount(&ev, Quantity::Events(3)).unwrap(), d("0.30"));
        assert!(matches!(
            amount(&ev, Quantity::Seconds(3)),
            Err(PriceError::Mismatch { .. })
        ));
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let c = charge(
            r#"item = "send"
               per = "event"
               price = "79228162514264337593543950335""#,
        );
        assert!(matches!(
            amount(&c, Quantity::Events(2)),
            Err(PriceError::Overflow(_))
        ));
    }
}
