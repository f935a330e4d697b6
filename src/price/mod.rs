//! Tariff arithmetic: from a usage quantity and a charge to an amount.
//!
//! Usage is rounded up to the charging increments first, then priced, and
//! the money is rounded once per priced item by the caller, with the list's
//! named rounding strategy. Every amount here is an [`Exact`] fraction, so
//! dividing by `unit_seconds` before multiplying or adding loses nothing
//! (see [`crate::money`]); every step is checked for overflow.

pub mod interact;
pub mod network;
pub mod session;
pub mod trace;

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;

use crate::money::Exact;
use crate::price::trace::{self as explain, Step, Trace};
use crate::resolve::period::{Calendar, SplitError};
use crate::resolve::price_list::{Algorithm, Charge, Per, PriceSpec, TierMode};

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
    #[error("cannot split `{item}` into rate periods: {err}")]
    Period { item: String, err: SplitError },
    #[error("charge for `{item}` has no price for period `{period}`")]
    NoPeriodPrice { item: String, period: String },
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

/// The unrounded amount of one charge for one usage starting at `at`,
/// with the rate periods of the list that holds the charge.
///
/// The quantity is rounded first (increments, unit sizes), for the whole
/// usage; a duration is then split at period boundaries in time order from
/// `at`, so a boundary never costs an extra increment. Tiers count the
/// rounded quantity. Nothing is rounded here: the caller rounds the money
/// once per priced item.
pub fn amount(
    charge: &Charge,
    quantity: Quantity,
    at: &DateTime<FixedOffset>,
    calendar: &Calendar,
) -> Result<Exact, PriceError> {
    amount_over(charge, quantity, at, &[], calendar, None)
}

/// [`amount`], recording each step into `trace` when one is given.
pub fn amount_traced(
    charge: &Charge,
    quantity: Quantity,
    at: &DateTime<FixedOffset>,
    calendar: &Calendar,
    trace: Option<&mut Trace>,
) -> Result<Exact, PriceError> {
    amount_over(charge, quantity, at, &[], calendar, trace)
}

/// A duration used in several spans (start, seconds), such as a
/// participant's active time around a suspension: increments count the
/// total, and each span is split at the rate periods it crosses; the
/// seconds the increments add are priced from the end of the last span.
pub fn amount_spans(
    charge: &Charge,
    spans: &[(DateTime<FixedOffset>, u64)],
    calendar: &Calendar,
) -> Result<Exact, PriceError> {
    amount_spans_traced(charge, spans, calendar, None)
}

/// [`amount_spans`], recording each step into `trace` when one is given.
pub fn amount_spans_traced(
    charge: &Charge,
    spans: &[(DateTime<FixedOffset>, u64)],
    calendar: &Calendar,
    trace: Option<&mut Trace>,
) -> Result<Exact, PriceError> {
    let total = spans
        .iter()
        .try_fold(0u64, |a, (_, s)| a.checked_add(*s))
        .ok_or_else(|| PriceError::Overflow(charge.item.get_ref().clone()))?;
    let at = spans
        .first()
        .map_or_else(|| DateTime::UNIX_EPOCH.fixed_offset(), |(t, _)| *t);
    amount_over(
        charge,
        Quantity::Seconds(total),
        &at,
        spans,
        calendar,
        trace,
    )
}

/// Time slices (period, seconds) of `charged` seconds used in `spans`
/// (or from `at` when there are none).
fn duration_slices(
    at: &DateTime<FixedOffset>,
    spans: &[(DateTime<FixedOffset>, u64)],
    charged: u64,
    calendar: &Calendar,
) -> Result<Vec<(usize, u64)>, SplitError> {
    if spans.len() <= 1 {
        return calendar.split(at, charged);
    }
    let mut out: Vec<(usize, u64)> = Vec::new();
    let mut used = 0u64;
    let mut push = |slices: Vec<(usize, u64)>| {
        for (p, n) in slices {
            match out.last_mut() {
                Some((last, m)) if *last == p => *m += n,
                _ => out.push((p, n)),
            }
        }
    };
    for (start, secs) in spans {
        push(calendar.split(start, *secs)?);
        used += secs;
    }
    let (last_start, last_secs) = spans[spans.len() - 1];
    let end = last_start + chrono::Duration::seconds(last_secs as i64);
    push(calendar.split(&end, charged.saturating_sub(used))?);
    Ok(out)
}

/// The wall-clock time `offset` charged seconds into a usage that starts
/// at `at` or runs in `spans` (as [`duration_slices`] lays them out); for
/// explanations only.
fn time_at(
    at: &DateTime<FixedOffset>,
    spans: &[(DateTime<FixedOffset>, u64)],
    offset: u64,
) -> DateTime<FixedOffset> {
    let secs = |n: u64| chrono::Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1000));
    let mut left = offset;
    for (start, n) in spans {
        if left < *n {
            return *start + secs(left);
        }
        left -= n;
    }
    match spans.last() {
        Some((start, n)) if spans.len() > 1 => *start + secs(*n) + secs(left),
        _ => *at + secs(offset),
    }
}

/// How a charge's price is written, for explanations.
pub fn describe_price(charge: &Charge) -> String {
    let spec = |p: &PriceSpec| match p {
        PriceSpec::Flat(m) => m.0.to_string(),
        PriceSpec::ByPeriod(t) => t
            .iter()
            .map(|(k, v)| format!("{k} {}", v.0))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut out = match (&charge.price, charge.tiers, &charge.algorithm) {
        (Some(p), _, _) => spec(p.get_ref()),
        (_, Some(mode), _) => format!(
            "{} tiers {}",
            match mode {
                TierMode::Graduated => "graduated",
                TierMode::Volume => "volume",
            },
            charge
                .tier
                .iter()
                .map(|t| format!("from {}: {}", t.from.get_ref(), spec(t.price.get_ref())))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        (_, _, Some(a)) => match a.get_ref() {
            Algorithm::Linear { setup, rate } => format!(
                "linear: setup {} + {} per price unit",
                setup.map_or(Decimal::ZERO, |m| m.0),
                rate.0
            ),
            Algorithm::Capped { setup, rate, cap } => format!(
                "capped: setup {} + {} per price unit, at most {}",
                setup.map_or(Decimal::ZERO, |m| m.0),
                rate.0,
                cap.0
            ),
            Algorithm::Allowance { setup, free, rate } => format!(
                "allowance: setup {} + {} per price unit above {free} free",
                setup.map_or(Decimal::ZERO, |m| m.0),
                rate.0
            ),
        },
        _ => String::new(),
    };
    if let Some(m) = charge.minimum {
        out.push_str(&format!(", minimum {}", m.0));
    }
    out
}

fn amount_over(
    charge: &Charge,
    quantity: Quantity,
    at: &DateTime<FixedOffset>,
    spans: &[(DateTime<FixedOffset>, u64)],
    calendar: &Calendar,
    mut trace: Option<&mut Trace>,
) -> Result<Exact, PriceError> {
    let item = charge.item.get_ref();
    let overflow = || PriceError::Overflow(item.clone());
    // The charged quantity in item units, and how many item units one
    // price is for.
    let (charged, per_units, used) = match (charge.per, quantity) {
        // A function performed n times is n events.
        (Per::Event, Quantity::Events(n) | Quantity::Units(n)) => (n, 1, n),
        (Per::Unit, Quantity::Units(n) | Quantity::Events(n)) => {
            let size = charge.unit_size.unwrap_or(1);
            let whole = n.div_ceil(size).checked_mul(size).ok_or_else(overflow)?;
            (whole, size, n)
        }
        (Per::Duration, Quantity::Seconds(s)) => {
            let billed = charged_seconds(
                s,
                charge.first_increment.unwrap_or(1),
                charge.next_increment.unwrap_or(1),
            )
            .ok_or_else(overflow)?;
            (billed, charge.unit_seconds.unwrap_or(60), s)
        }
        (per, quantity) => {
            return Err(PriceError::Mismatch {
                item: item.clone(),
                per,
                quantity,
            });
        }
    };
    explain::record(&mut trace, || Step::Quantity {
        per: per_name(charge.per).into(),
        used,
        first_increment: charge
            .first_increment
            .filter(|_| charge.per == Per::Duration),
        next_increment: charge
            .next_increment
            .filter(|_| charge.per == Per::Duration),
        unit_size: charge.unit_size.filter(|_| charge.per == Per::Unit),
        charged,
        price_per: per_units,
    });
    let price_per = per_units;
    let flat = match (&charge.price, charge.tiers) {
        (Some(p), None) => match p.get_ref() {
            PriceSpec::Flat(m) => Some(m.0),
            PriceSpec::ByPeriod(_) => None,
        },
        _ => None,
    };
    let flat_slice = |price: Decimal, amount: Exact| Step::Slice {
        period: None,
        band: None,
        from: 0,
        to: charged,
        start: None,
        quantity: charged,
        unit_price: price,
        price_per,
        amount: shown(amount),
    };
    let raw = match (&charge.algorithm, flat) {
        // The common case, without building slices and bands: the price
        // times the quantity, divided once by what one price is for.
        (None, Some(price)) => {
            let raw = Exact::from_decimal(price)
                .mul_int(charged)
                .and_then(|x| x.div_int(price_per))
                .ok_or_else(overflow)?;
            explain::record(&mut trace, || flat_slice(price, raw));
            raw
        }
        (Some(a), _) => {
            let raw = algorithm(a.get_ref(), charged, price_per).ok_or_else(overflow)?;
            explain::record(&mut trace, || {
                algorithm_step(a.get_ref(), charged, price_per, raw)
            });
            raw
        }
        (None, None) => {
            let by_period = charge
                .price
                .iter()
                .chain(charge.tier.iter().map(|t| &t.price))
                .any(|p| p.get_ref().by_period());
            let period_err = |err| PriceError::Period {
                item: item.clone(),
                err,
            };
            let slices = match (by_period, charge.per) {
                (false, _) => vec![(0, charged)],
                (true, Per::Duration) => {
                    duration_slices(at, spans, charged, calendar).map_err(period_err)?
                }
                (true, _) => vec![(calendar.period_of(at).map_err(period_err)?, charged)],
            };
            let bands = bands(charge, charged);
            if let Some(mode) = charge.tiers {
                explain::record(&mut trace, || Step::Tiers {
                    mode: match mode {
                        TierMode::Graduated => "graduated",
                        TierMode::Volume => "volume",
                    }
                    .into(),
                    charged,
                    reached: match mode {
                        TierMode::Volume => charge
                            .tier
                            .iter()
                            .rev()
                            .find(|t| *t.from.get_ref() <= charged)
                            .map(|t| *t.from.get_ref()),
                        TierMode::Graduated => None,
                    },
                });
            }
            let shown_as = Shown {
                price_per,
                by_period,
                tiered: charge.tiers == Some(TierMode::Graduated),
                start: (charge.per == Per::Duration).then_some((at, spans)),
            };
            let sum = price_slices(
                &slices,
                &bands,
                calendar.names(),
                item,
                trace.as_deref_mut().map(|t| (t, shown_as)),
            )?;
            sum.div_int(price_per).ok_or_else(overflow)?
        }
    };
    let out = match charge.minimum {
        Some(m) if used > 0 && raw < Exact::from_decimal(m.0) => Exact::from_decimal(m.0),
        _ => raw,
    };
    if let Some(m) = charge.minimum {
        explain::record(&mut trace, || Step::Minimum {
            minimum: m.0,
            before: shown(raw),
            applied: out != raw,
        });
    }
    explain::record(&mut trace, || Step::Unrounded { amount: shown(out) });
    // Beyond what a Decimal holds, the amount could not be written.
    if !out.fits_decimal() {
        return Err(overflow());
    }
    Ok(out)
}

/// An exact amount as a decimal for an explanation: exact when it has a
/// finite expansion, else to 28 digits (never used for arithmetic).
pub fn shown(x: Exact) -> Decimal {
    x.to_decimal().unwrap_or_default()
}

/// A `per` as price lists write it.
pub fn per_name(per: Per) -> &'static str {
    match per {
        Per::Event => "event",
        Per::Unit => "unit",
        Per::Duration => "duration",
    }
}

type Spans<'a> = &'a [(DateTime<FixedOffset>, u64)];

/// What an explanation of price slices needs besides the arithmetic.
#[derive(Clone, Copy)]
struct Shown<'a> {
    price_per: u64,
    by_period: bool,
    tiered: bool,
    /// Durations: where the charged seconds lie in time.
    start: Option<(&'a DateTime<FixedOffset>, Spans<'a>)>,
}

fn algorithm_step(a: &Algorithm, charged: u64, per_units: u64, amount: Exact) -> Step {
    let n = |q: u64| Exact::ratio(q, per_units).map(shown).unwrap_or_default();
    let setup_of = |s: &Option<crate::resolve::price_list::Money>| s.map_or(Decimal::ZERO, |m| m.0);
    let (function, setup, rate, cap, free, n) = match a {
        Algorithm::Linear { setup, rate } => {
            ("linear", setup_of(setup), rate.0, None, None, n(charged))
        }
        Algorithm::Capped { setup, rate, cap } => (
            "capped",
            setup_of(setup),
            rate.0,
            Some(cap.0),
            None,
            n(charged),
        ),
        Algorithm::Allowance { setup, free, rate } => (
            "allowance",
            setup_of(setup),
            rate.0,
            None,
            Some(*free),
            n(charged.saturating_sub(*free)),
        ),
    };
    Step::Algorithm {
        function: function.into(),
        setup,
        rate,
        cap,
        free,
        n,
        amount: shown(amount),
    }
}

/// Quantity bands [from, to) with their price: one band for a flat price
/// or a volume tier, one per tier when graduated.
fn bands(charge: &Charge, charged: u64) -> Vec<(u64, u64, &PriceSpec)> {
    match (charge.tiers, &charge.price) {
        (None, Some(p)) => vec![(0, u64::MAX, p.get_ref())],
        (Some(TierMode::Volume), _) => charge
            .tier
            .iter()
            .rev()
            .find(|t| *t.from.get_ref() <= charged)
            .map(|t| vec![(0, u64::MAX, t.price.get_ref())])
            .unwrap_or_default(),
        (Some(TierMode::Graduated), _) => charge
            .tier
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let to = charge
                    .tier
                    .get(i + 1)
                    .map_or(u64::MAX, |n| *n.from.get_ref());
                (*t.from.get_ref(), to, t.price.get_ref())
            })
            .collect(),
        // Checked at load: a charge without price or tiers has an algorithm.
        (None, None) => Vec::new(),
    }
}

/// Sum of price x quantity over the overlap of time slices (in order, as
/// offsets into the charged quantity) and quantity bands; unrounded.
fn price_slices(
    slices: &[(usize, u64)],
    bands: &[(u64, u64, &PriceSpec)],
    names: &[String],
    item: &str,
    mut trace: Option<(&mut Trace, Shown<'_>)>,
) -> Result<Exact, PriceError> {
    let overflow = || PriceError::Overflow(item.to_owned());
    let mut sum = Exact::ZERO;
    let mut offset = 0u64;
    for &(period, len) in slices {
        let (a, b) = (offset, offset.checked_add(len).ok_or_else(overflow)?);
        offset = b;
        for &(lo, hi, spec) in bands {
            let n = b.min(hi).saturating_sub(a.max(lo));
            if n == 0 {
                continue;
            }
            let name = names.get(period).map_or("", String::as_str);
            let price = spec
                .for_period(name)
                .ok_or_else(|| PriceError::NoPeriodPrice {
                    item: item.to_owned(),
                    period: name.to_owned(),
                })?;
            let x = Exact::from_decimal(price).mul_int(n).ok_or_else(overflow)?;
            sum = sum.checked_add(x).ok_or_else(overflow)?;
            if let Some((t, s)) = trace.as_mut() {
                let from = a.max(lo);
                t.steps.push(Step::Slice {
                    period: s.by_period.then(|| name.to_owned()),
                    band: s.tiered.then_some((lo, (hi != u64::MAX).then_some(hi))),
                    from,
                    to: from + n,
                    start: s.start.map(|(at, spans)| time_at(at, spans, from)),
                    quantity: n,
                    unit_price: price,
                    price_per: s.price_per,
                    amount: x.div_int(s.price_per).map(shown).unwrap_or_default(),
                });
            }
        }
    }
    Ok(sum)
}

/// A declared pricing function of `charged` item units, `per_units` of
/// which one rate is for; exact (`rate × charged / per_units`, divided
/// last). None on overflow.
///
/// `allowance` floors the term, not the amount: `setup + rate × max(0, n −
/// free)`, so the setup is paid within the allowance too. With zero use an
/// algorithm still charges its setup (no increment or minimum applies).
fn algorithm(a: &Algorithm, charged: u64, per_units: u64) -> Option<Exact> {
    let term = |rate: Decimal, q: u64| Exact::from_decimal(rate).mul_int(q)?.div_int(per_units);
    let setup_of = |s: &Option<crate::resolve::price_list::Money>| {
        Exact::from_decimal(s.map_or(Decimal::ZERO, |m| m.0))
    };
    match a {
        Algorithm::Linear { setup, rate } => setup_of(setup).checked_add(term(rate.0, charged)?),
        Algorithm::Capped { setup, rate, cap } => Some(
            setup_of(setup)
                .checked_add(term(rate.0, charged)?)?
                .min(Exact::from_decimal(cap.0)),
        ),
        Algorithm::Allowance { setup, free, rate } => {
            setup_of(setup).checked_add(term(rate.0, charged.saturating_sub(*free))?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(toml_text: &str) -> Charge {
        toml::from_str(toml_text).unwrap()
    }

    fn d(s: &str) -> Exact {
        Exact::from_decimal(s.parse().unwrap())
    }

    /// Priced with no rate periods, at a fixed time.
    fn flat(c: &Charge, q: Quantity) -> Result<Exact, PriceError> {
        let at = DateTime::parse_from_rfc3339("2026-11-18T10:00:00+01:00").unwrap();
        amount(c, q, &at, &Calendar::default())
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
    fn sixty_sixty_minutes_price_by_the_minute() {
        let c = charge(
            r#"item = "call"
               per = "duration"
               price = "0.60"
               first_increment = 60
               next_increment = 60"#,
        );
        // 61 s -> 120 s charged -> 0.60 * 2 = 1.20, two decimals kept.
        assert_eq!(flat(&c, Quantity::Seconds(61)).unwrap(), d("1.20"));
        // 60 s -> 0.60 exactly.
        assert_eq!(flat(&c, Quantity::Seconds(60)).unwrap(), d("0.60"));
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
        assert_eq!(flat(&c, Quantity::Seconds(37)).unwrap(), d("0.45"));
        // 125 s -> 30 + 16*6 = 126 s -> 0.60 * 126 / 60 = 1.26.
        assert_eq!(flat(&c, Quantity::Seconds(125)).unwrap(), d("1.26"));
        // No use, no minimum.
        assert_eq!(flat(&c, Quantity::Seconds(0)).unwrap(), d("0"));
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
        assert_eq!(flat(&pages, Quantity::Units(11)).unwrap(), d("3.00"));
        let ev = charge(
            r#"item = "logon"
               per = "event"
               price = "0.10""#,
        );
        assert_eq!(flat(&ev, Quantity::Events(3)).unwrap(), d("0.30"));
        assert!(matches!(
            flat(&ev, Quantity::Seconds(3)),
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
            flat(&c, Quantity::Events(2)),
            Err(PriceError::Overflow(_))
        ));
    }

    fn minutes_tiers(mode: &str) -> Charge {
        charge(&format!(
            r#"item = "call"
               per = "duration"
               first_increment = 60
               next_increment = 60
               tiers = "{mode}"
               tier = [{{ from = 0, price = "0.50" }}, {{ from = 3600, price = "0.30" }}]"#
        ))
    }

    #[test]
    fn graduated_tiers_price_each_portion() {
        let c = minutes_tiers("graduated");
        // 90 min: 60 min at 0.50 = 30.00, 30 min at 0.30 = 9.00 -> 39.00.
        assert_eq!(flat(&c, Quantity::Seconds(5400)).unwrap(), d("39.00"));
        // 50 min, all in the first tier: 25.00.
        assert_eq!(flat(&c, Quantity::Seconds(3000)).unwrap(), d("25.00"));
        // 3590 s rounds up to 3600 s: exactly the first tier, 30.00.
        assert_eq!(flat(&c, Quantity::Seconds(3590)).unwrap(), d("30.00"));
        // 3601 s rounds up to 3660 s: 30.00 + 1 min at 0.30 = 30.30.
        assert_eq!(flat(&c, Quantity::Seconds(3601)).unwrap(), d("30.30"));
    }

    #[test]
    fn volume_tiers_price_the_whole_at_the_tier_reached() {
        let c = minutes_tiers("volume");
        // 90 min reaches the second tier: 90 * 0.30 = 27.00.
        assert_eq!(flat(&c, Quantity::Seconds(5400)).unwrap(), d("27.00"));
        // 50 min stays in the first: 50 * 0.50 = 25.00.
        assert_eq!(flat(&c, Quantity::Seconds(3000)).unwrap(), d("25.00"));
        // 3590 s is charged as 3600 s, which reaches the second tier:
        // 60 * 0.30 = 18.00 (tiers count the rounded quantity).
        assert_eq!(flat(&c, Quantity::Seconds(3590)).unwrap(), d("18.00"));
        assert_eq!(flat(&c, Quantity::Seconds(0)).unwrap(), d("0"));
    }

    #[test]
    fn graduated_unit_tiers_in_item_units() {
        let c = charge(
            r#"item = "volume"
               per = "unit"
               unit_size = 1000000
               tiers = "graduated"
               tier = [{ from = 0, price = "0.05" }, { from = 10000000, price = "0.02" }]"#,
        );
        // 12.5 MB rounds up to 13 MB: 10 MB * 0.05 + 3 MB * 0.02 = 0.56.
        assert_eq!(flat(&c, Quantity::Units(12_500_000)).unwrap(), d("0.56"));
        // 1 octet is one started MB: 0.05.
        assert_eq!(flat(&c, Quantity::Units(1)).unwrap(), d("0.05"));
    }

    #[test]
    fn per_period_prices_split_after_rounding() {
        use crate::resolve::period::Rule;
        use chrono::NaiveDate;
        // peak Mon-Fri 08-18 in Stockholm, offpeak otherwise.
        let cal = Calendar::new(
            chrono_tz::Europe::Stockholm,
            vec![NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()],
            vec![Rule {
                period: 1,
                days: 0b1_1111,
                from: 8 * 3600,
                to: 18 * 3600,
            }],
            vec!["offpeak".into(), "peak".into()],
        );
        let c = charge(
            r#"item = "call"
               per = "duration"
               first_increment = 60
               next_increment = 60
               price = { peak = "0.60", offpeak = "0.30" }"#,
        );
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        // Wed 17:58, 270 s -> 300 s charged: 120 s peak (1.20) + 180 s
        // offpeak (0.90) = 2.10.
        let wed = at("2026-11-18T17:58:00+01:00");
        assert_eq!(
            amount(&c, Quantity::Seconds(270), &wed, &cal).unwrap(),
            d("2.10")
        );
        // 17:59:30 for 45 s -> one 60 s increment, split 30 s peak (0.30) +
        // 30 s offpeak (0.15) = 0.45: the boundary adds no increment.
        let late = at("2026-11-18T17:59:30+01:00");
        assert_eq!(
            amount(&c, Quantity::Seconds(45), &late, &cal).unwrap(),
            d("0.45")
        );
        // Christmas Eve 10:00 is a holiday, so not peak: 5 min * 0.30 = 1.50.
        let eve = at("2026-12-24T10:00:00+01:00");
        assert_eq!(
            amount(&c, Quantity::Seconds(300), &eve, &cal).unwrap(),
            d("1.50")
        );
        // An event is priced at the period of its time of use.
        let ev = charge(
            r#"item = "logon"
               per = "event"
               price = { peak = "0.10", offpeak = "0.04" }"#,
        );
        assert_eq!(
            amount(&ev, Quantity::Events(2), &wed, &cal).unwrap(),
            d("0.20")
        );
        assert_eq!(
            amount(&ev, Quantity::Events(2), &eve, &cal).unwrap(),
            d("0.08")
        );
    }

    #[test]
    fn algorithms() {
        let linear = charge(
            r#"item = "call"
               per = "duration"
               first_increment = 60
               next_increment = 60
               algorithm = { fn = "linear", setup = "0.50", rate = "0.02" }"#,
        );
        // 125 s -> 180 s = 3 min: 0.50 + 3 * 0.02 = 0.56.
        assert_eq!(flat(&linear, Quantity::Seconds(125)).unwrap(), d("0.56"));
        let capped = charge(
            r#"item = "volume"
               per = "unit"
               unit_size = 1000000
               algorithm = { fn = "capped", rate = "0.10", cap = "5.00" }"#,
        );
        // 30 MB: 3.00; 120 MB: 12.00 capped to 5.00.
        assert_eq!(
            flat(&capped, Quantity::Units(30_000_000)).unwrap(),
            d("3.00")
        );
        assert_eq!(
            flat(&capped, Quantity::Units(120_000_000)).unwrap(),
            d("5.00")
        );
        let allowance = charge(
            r#"item = "call"
               per = "duration"
               algorithm = { fn = "allowance", free = 600, rate = "0.40" }"#,
        );
        // 900 s, 600 free: 300 s = 5 min * 0.40 = 2.00; 500 s is free.
        assert_eq!(flat(&allowance, Quantity::Seconds(900)).unwrap(), d("2.00"));
        assert_eq!(flat(&allowance, Quantity::Seconds(500)).unwrap(), d("0"));
        assert!(
            toml::from_str::<Charge>(
                r#"item = "call"
                   per = "duration"
                   algorithm = { fn = "cubic", rate = "1" }"#
            )
            .is_err()
        );
        assert!(
            toml::from_str::<Charge>(
                r#"item = "call"
                   per = "duration"
                   algorithm = { fn = "linear", rate = "1", extra = "2" }"#
            )
            .is_err()
        );
    }

    #[test]
    fn tier_and_algorithm_overflow_is_an_error() {
        let c = charge(
            r#"item = "send"
               per = "event"
               tiers = "graduated"
               tier = [{ from = 0, price = "1" }, { from = 2, price = "79228162514264337593543950335" }]"#,
        );
        assert_eq!(flat(&c, Quantity::Events(1)).unwrap(), d("1"));
        assert!(matches!(
            flat(&c, Quantity::Events(4)),
            Err(PriceError::Overflow(_))
        ));
        let a = charge(
            r#"item = "send"
               per = "event"
               algorithm = { fn = "linear", setup = "79228162514264337593543950335", rate = "1" }"#,
        );
        assert!(matches!(
            flat(&a, Quantity::Events(1)),
            Err(PriceError::Overflow(_))
        ));
        // A unit size that cannot be rounded up to is an overflow too.
        let u = charge(
            r#"item = "send"
               per = "unit"
               unit_size = 10
               price = "1""#,
        );
        assert!(matches!(
            flat(&u, Quantity::Units(u64::MAX)),
            Err(PriceError::Overflow(_))
        ));
    }
}
