//! Network cost arithmetic: the cost of one network hop under its list,
//! and the production cost of a usage module's network cost under a
//! marketing company's terms (docs/network-costs.md).
//!
//! Every amount is an [`Exact`] fraction until its one rounding, with the
//! list's named strategy: a price per 60 s for 185 s is `price × 185 / 60`
//! exactly (0.30 × 185 / 60 = 0.925, which rounds half away from zero to
//! 0.93, where a division first would give 0.92499... and 0.92).

use rust_decimal::Decimal;

use crate::money::Exact;
use crate::resolve::network::{NetworkList, Terms};
use crate::resolve::price_list::Rounding;

/// What a hop was charged for, and its cost, rounded once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HopPrice {
    /// The duration rounded up to whole increments (0 without a
    /// `[duration]` rate).
    pub charged_seconds: u64,
    /// Started capacity units (0 without a `[capacity]` rate).
    pub charged_units: u64,
    pub cost: Decimal,
}

/// Why a hop could not be costed under the list found for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HopError {
    /// The list prices capacity and the hop reports none.
    NoCapacity,
    Overflow,
}

impl std::fmt::Display for HopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HopError::NoCapacity => {
                f.write_str("the list prices consumed capacity; the hop reports none")
            }
            HopError::Overflow => f.write_str("arithmetic overflow costing the hop"),
        }
    }
}

fn round_up(n: u64, step: u64) -> Option<u64> {
    n.div_ceil(step).checked_mul(step)
}

/// The cost of a hop of `seconds` chargeable duration and `capacity`
/// consumed capacity under `list`: duration rounded up to whole
/// increments times the price per `unit_seconds`, plus started capacity
/// units times their price, rounded once.
pub fn hop_cost(
    list: &NetworkList,
    seconds: u64,
    capacity: Option<u64>,
) -> Result<HopPrice, HopError> {
    let mut exact = Exact::ZERO;
    let mut charged_seconds = 0;
    let mut charged_units = 0;
    if let Some(d) = &list.duration {
        charged_seconds = round_up(seconds, d.increment).ok_or(HopError::Overflow)?;
        // Multiply first, divide once.
        let part = Exact::from_decimal(d.price.0)
            .mul_int(charged_seconds)
            .and_then(|x| x.div_int(d.unit_seconds))
            .ok_or(HopError::Overflow)?;
        exact = exact.checked_add(part).ok_or(HopError::Overflow)?;
    }
    if let Some(c) = &list.capacity {
        let used = capacity.ok_or(HopError::NoCapacity)?;
        charged_units = used.div_ceil(c.unit_size);
        let part = Exact::from_decimal(c.price.0)
            .mul_int(charged_units)
            .ok_or(HopError::Overflow)?;
        exact = exact.checked_add(part).ok_or(HopError::Overflow)?;
    }
    let cost = list.rounding.round(exact).ok_or(HopError::Overflow)?;
    Ok(HopPrice {
        charged_seconds,
        charged_units,
        cost,
    })
}

/// A network cost with what the service producing company adds to it
/// for a marketing company: `production = network + refinement + margin`,
/// each part rounded once, so a row adds up as printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Production {
    pub network: Decimal,
    pub refinement: Decimal,
    pub margin: Decimal,
    pub production: Decimal,
}

/// `refinement = network × refinement_percent / 100 + refinement_amount`;
/// `margin = (network + refinement) × margin_percent / 100 + margin_amount`,
/// the margin on the refinement as invoiced (rounded). None on overflow.
/// Without terms, production cost is the network cost.
pub fn production(
    network: Decimal,
    terms: Option<&Terms>,
    rounding: &Rounding,
) -> Option<Production> {
    let Some(t) = terms else {
        return Some(Production {
            network,
            refinement: Decimal::ZERO,
            margin: Decimal::ZERO,
            production: network,
        });
    };
    let hundred = Exact::from_int(100);
    let refinement = Exact::from_decimal(network)
        .mul_decimal(t.refinement_percent.0)?
        .checked_div(hundred)?
        .checked_add(Exact::from_decimal(t.refinement_amount.0))?;
    let refinement = rounding.round(refinement)?;
    let base = network.checked_add(refinement)?;
    let margin = Exact::from_decimal(base)
        .mul_decimal(t.margin_percent.0)?
        .checked_div(hundred)?
        .checked_add(Exact::from_decimal(t.margin_amount.0))?;
    let margin = rounding.round(margin)?;
    Some(Production {
        network,
        refinement,
        margin,
        production: base.checked_add(margin)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::network::{CapacityRate, DurationRate};
    use crate::resolve::price_list::{Money, RoundingMode};
    use crate::sdr::TypeOfNetwork;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn list(duration: Option<DurationRate>, capacity: Option<CapacityRate>) -> NetworkList {
        NetworkList {
            id: "l".into(),
            revision: 1,
            provider: "p".into(),
            network: TypeOfNetwork::VoiceChannel,
            valid_from: chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap(),
            valid_to: None,
            currency: "SEK".into(),
            rounding: Rounding::default(),
            duration,
            capacity,
            path: "l.toml".into(),
        }
    }

    fn per(price: &str, unit_seconds: u64, increment: u64) -> Option<DurationRate> {
        Some(DurationRate {
            price: Money(d(price)),
            unit_seconds,
            increment,
        })
    }

    /// 0.30 per 60 s for 185 s, every second: 0.30 × 185 / 60 = 111/120
    /// = 0.925 exactly, half away from zero 0.93 (a division first gives
    /// 0.92499... and 0.92).
    #[test]
    fn cost_per_second_is_exact_at_the_rounding_boundary() {
        let p = hop_cost(&list(per("0.30", 60, 1), None), 185, None).unwrap();
        assert_eq!((p.charged_seconds, p.cost), (185, d("0.93")));
        let mut even = list(per("0.30", 60, 1), None);
        even.rounding.mode = RoundingMode::HalfEven;
        assert_eq!(hop_cost(&even, 185, None).unwrap().cost, d("0.92"));
    }

    /// 0.12 per started minute for 185 s: 4 minutes, 0.48.
    #[test]
    fn cost_per_started_minute_rounds_the_duration_up() {
        let p = hop_cost(&list(per("0.12", 60, 60), None), 185, None).unwrap();
        assert_eq!((p.charged_seconds, p.cost), (240, d("0.48")));
        let p = hop_cost(&list(per("0.12", 60, 60), None), 0, None).unwrap();
        assert_eq!((p.charged_seconds, p.cost), (0, d("0.00")));
    }

    /// 0.50 per started 10 units for 12 units: 2 × 0.50 = 1.00; both
    /// rates add before the rounding: 1.00 + 0.07 × 7 / 60 = 1.008166...
    /// → 1.01.
    #[test]
    fn capacity_is_charged_per_started_unit_and_adds_to_duration() {
        let cap = Some(CapacityRate {
            price: Money(d("0.50")),
            unit_size: 10,
        });
        let p = hop_cost(&list(None, cap), 0, Some(12)).unwrap();
        assert_eq!((p.charged_units, p.cost), (2, d("1.00")));
        assert_eq!(
            hop_cost(&list(None, cap), 0, None),
            Err(HopError::NoCapacity)
        );
        let both = hop_cost(&list(per("0.07", 60, 1), cap), 7, Some(12)).unwrap();
        assert_eq!(both.cost, d("1.01"));
    }

    /// The seed example's SDR 9001 (tests/cli/network_costs.rs): network
    /// cost 1.57; refinement 20 % plus 0.10 = 0.314 + 0.10 = 0.414 →
    /// 0.41; margin 10 % of 1.57 + 0.41 = 0.198 → 0.20; production
    /// 1.57 + 0.41 + 0.20 = 2.18.
    #[test]
    fn production_cost_adds_refinement_and_margin_each_rounded_once() {
        let t = Terms {
            marketing_company: "megacom".into(),
            service: Some("VPN".into()),
            refinement_percent: Money(d("20")),
            refinement_amount: Money(d("0.10")),
            margin_percent: Money(d("10")),
            margin_amount: Money(Decimal::ZERO),
        };
        let p = production(d("1.57"), Some(&t), &Rounding::default()).unwrap();
        assert_eq!(
            (p.network, p.refinement, p.margin, p.production),
            (d("1.57"), d("0.41"), d("0.20"), d("2.18"))
        );
        let none = production(d("1.57"), None, &Rounding::default()).unwrap();
        assert_eq!(none.production, d("1.57"));
    }
}
