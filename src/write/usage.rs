//! Usage analysis: every priced usage of a run, by day of use, service and
//! currency, as a CSV report (`usage.csv`) and a chart (`usage.svg`).
//!
//! The seed's usage analysis engine builds "a statistically significant
//! view of the usage of services" from everything the run prices. Both
//! kinds of priced usage count:
//!
//! - a self-contained SDR, one row contribution per usage module
//!   ([`UsageAnalysis::add_record`], from the writer, in input order, only
//!   for what is billed: not duplicates, answers or quality assurance);
//! - a multi-party session, per participation and cost line
//!   ([`UsageAnalysis::add_session`]).
//!
//! **Day of use** is the UTC date of the start of use: the earliest time of
//! use of a usage module's items, the first event of a session. UTC, not
//! each record's own offset, so that one day means one stretch of time
//! whatever offsets producers write.
//!
//! **Money.** `revenue` is the individual price (what the customer is
//! billed, excluding VAT). `cost` is what the retailer owes third parties
//! for the usage: the seed's third-party costing, which sdrate prices per
//! session from the providers' cost lists (`costs.csv`). A priced SDR
//! carries no cost: its two prices are the basic price (the base list's,
//! before discounts) and the individual price (after them), so basic minus
//! individual is a discount given, not a cost paid. Counting the basic
//! price as cost would make every undiscounted service break even and a
//! discount look like a loss; it is reported as its own column
//! (`basic_price`) instead, and a self-contained service's cost is 0 until
//! a cost list covers it. `margin` = revenue − cost.
//!
//! Every amount is a [`Decimal`] and every sum is checked: an overflow is an
//! error, and a usage that would overflow leaves the analysis as it was.
//! The CSV carries the exact sums (prices are already rounded by their
//! lists; a sum of them needs no further rounding). The chart rounds once,
//! for display only, half away from zero ([`DISPLAY_ROUNDING`]), to three
//! significant digits with a k / M / bn suffix ("3.55 M"), and gives the
//! exact totals with thousands separators in each panel's heading. Floating
//! point is used only for pixel geometry.
//!
//! **Cost of keeping it.** Memory grows with days × services × currencies
//! (a 30-day month of 9 services in 2 currencies is 540 rows), never with
//! the number of records. Adding a record looks its row up in three small
//! ordered maps by borrowed `&str` (no allocation unless the row is new) and
//! does one checked addition per column; the writer does it for every
//! billed record, so it stays in the one thread that writes and the output
//! is the same at any thread count. Measured on a generated 1 M-record mix
//! (611,082 priced SDRs plus sessions; 7 interleaved runs each, on 2 cores
//! shared with other work, so the spread is wide): median user time 2.26 s
//! before, 2.45 s with the analysis; median wall time 7.01 s and 7.24 s.
//! Every other output is byte-identical.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::rate::Totals;
use crate::sdr::Text;

/// The one rounding of amounts shown in the chart (the CSV is exact).
pub const DISPLAY_ROUNDING: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// Totals by day of use → service → currency; ordered, so output is
/// deterministic.
#[derive(Debug, Default)]
pub struct UsageAnalysis {
    days: BTreeMap<NaiveDate, BTreeMap<Text, BTreeMap<Text, Row>>>,
}

/// One priced multi-party session, as handed to
/// [`UsageAnalysis::add_session`].
pub struct SessionUsage<'a> {
    pub service: &'a str,
    /// UTC date of the session's first event.
    pub day: NaiveDate,
    pub participations: &'a [Participation],
    /// (currency, third-party cost).
    pub cost: &'a [(Text, Decimal)],
}

/// One priced participation of a session.
pub struct Participation {
    pub currency: Text,
    pub active_seconds: u64,
    pub basic: Decimal,
    pub individual: Decimal,
}

/// The totals of one (day, service, currency).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Row {
    /// Priced usage modules of self-contained SDRs.
    usage_modules: u64,
    /// Sessions, each counted once: in the currency of its first
    /// participation.
    sessions: u64,
    participations: u64,
    /// Durations of SDR usage items and active seconds of participations.
    seconds: u64,
    events: u64,
    units: u64,
    basic: Decimal,
    revenue: Decimal,
    cost: Decimal,
}

impl Row {
    /// `self + other`, naming the first column that overflows.
    fn checked_add(&self, o: &Row) -> Result<Row, &'static str> {
        fn n(a: u64, b: u64, what: &'static str) -> Result<u64, &'static str> {
            a.checked_add(b).ok_or(what)
        }
        fn d(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, &'static str> {
            a.checked_add(b).ok_or(what)
        }
        let r = Row {
            usage_modules: n(self.usage_modules, o.usage_modules, "usage modules")?,
            sessions: n(self.sessions, o.sessions, "sessions")?,
            participations: n(self.participations, o.participations, "participations")?,
            seconds: n(self.seconds, o.seconds, "seconds")?,
            events: n(self.events, o.events, "events")?,
            units: n(self.units, o.units, "units")?,
            basic: d(self.basic, o.basic, "basic price")?,
            revenue: d(self.revenue, o.revenue, "revenue")?,
            cost: d(self.cost, o.cost, "cost")?,
        };
        // Kept representable, so that writing never meets an overflow that
        // adding could have caught.
        r.margin().ok_or("margin")?;
        Ok(r)
    }

    fn margin(&self) -> Option<Decimal> {
        self.revenue.checked_sub(self.cost)
    }
}

/// CSV header of [`UsageAnalysis::write_csv`].
pub const CSV_HEADER: [&str; 13] = [
    "day",
    "service",
    "currency",
    "usage_modules",
    "sessions",
    "participations",
    "minutes",
    "events",
    "units",
    "basic_price",
    "revenue",
    "cost",
    "margin",
];

/// The rows one billed SDR adds: one per usage module.
fn record_rows(t: &Totals) -> impl Iterator<Item = (NaiveDate, &str, &str, Row)> {
    t.modules.iter().map(|m| {
        (
            m.day,
            m.service.as_str(),
            t.currency.as_str(),
            Row {
                usage_modules: 1,
                seconds: m.seconds,
                events: m.events,
                units: m.units,
                basic: m.basic,
                revenue: m.individual,
                ..Row::default()
            },
        )
    })
}

/// The rows one priced session adds: one per participation and one per
/// cost line, the session counted once, in the first of them (or in a row
/// of its own when it bills and costs nothing).
fn session_rows<'a>(s: &SessionUsage<'a>) -> Vec<(NaiveDate, &'a str, &'a str, Row)> {
    let mut rows: Vec<(NaiveDate, &str, &str, Row)> =
        Vec::with_capacity(s.participations.len() + s.cost.len());
    let parts = s.participations.iter().map(|p| {
        (
            p.currency.as_str(),
            Row {
                participations: 1,
                seconds: p.active_seconds,
                basic: p.basic,
                revenue: p.individual,
                ..Row::default()
            },
        )
    });
    let costs = s.cost.iter().map(|(c, a)| {
        (
            c.as_str(),
            Row {
                cost: *a,
                ..Row::default()
            },
        )
    });
    for (currency, r) in parts.chain(costs) {
        rows.push((s.day, s.service, currency, r));
    }
    match rows.first_mut() {
        Some(first) => first.3.sessions = 1,
        None => rows.push((
            s.day,
            s.service,
            "",
            Row {
                sessions: 1,
                ..Row::default()
            },
        )),
    }
    rows
}

/// Usage summed apart from the analysis, by the threads that price, and
/// merged into it once per block ([`UsageAnalysis::merge`]): the writer,
/// one thread, then touches the analysis once per key a block uses rather
/// than once per billed SDR (about 900 instructions a record on the
/// generated mix, serial). A flat list: a block uses a few (day, service,
/// currency) keys, which a scan finds faster than three tree lookups.
/// Sums are exact, so the order they are added in does not change them.
#[derive(Debug, Default)]
pub struct UsageSums {
    rows: Vec<(NaiveDate, Text, Text, Row)>,
}

impl UsageSums {
    /// Whether nothing has been added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds every usage module of one billed SDR.
    pub fn add_record(&mut self, t: &Totals) -> Result<()> {
        for (day, service, currency, r) in record_rows(t) {
            self.add(day, service, currency, &r)?;
        }
        Ok(())
    }

    /// Adds one priced session.
    pub fn add_session(&mut self, s: &SessionUsage<'_>) -> Result<()> {
        for (day, service, currency, r) in session_rows(s) {
            self.add(day, service, currency, &r)?;
        }
        Ok(())
    }

    /// Adds what `other` summed.
    pub fn merge(&mut self, other: UsageSums) -> Result<()> {
        for (day, service, currency, r) in &other.rows {
            self.add(*day, service, currency, r)?;
        }
        Ok(())
    }

    fn add(&mut self, day: NaiveDate, service: &str, currency: &str, add: &Row) -> Result<()> {
        no_currency(day, service, currency, add)?;
        let found = self
            .rows
            .iter_mut()
            .find(|(d, s, c, _)| *d == day && s.as_str() == service && c.as_str() == currency);
        match found {
            Some((.., row)) => *row = sum(day, service, currency, row, add)?,
            None => self.rows.push((
                day,
                Text::from(service),
                Text::from(currency),
                sum(day, service, currency, &Row::default(), add)?,
            )),
        }
        Ok(())
    }
}

impl UsageAnalysis {
    /// Adds every usage module of one billed SDR, all or none.
    pub fn add_record(&mut self, t: &Totals) -> Result<()> {
        let rows: Vec<_> = record_rows(t).collect();
        self.apply(&rows)
    }

    /// Adds one priced session, all or none.
    pub fn add_session(&mut self, s: &SessionUsage<'_>) -> Result<()> {
        self.apply(&session_rows(s))
    }

    /// Adds what the threads summed ([`UsageSums`]), all or none. Its keys
    /// are unique (rows of one key are summed as they are added), so each
    /// row's new total is the current one plus the row: checked in one
    /// pass, not against every row before it as [`Self::apply`] must (that
    /// was quadratic in the rows, 4 % of the writer's work on the mix).
    /// The new totals are kept from the check and stored as they are:
    /// adding each row again (nine checked sums) was half the merge.
    pub fn merge(&mut self, sums: UsageSums) -> Result<()> {
        let totals = sums
            .rows
            .iter()
            .map(|(day, service, currency, add)| {
                no_currency(*day, service, currency, add)?;
                let now = self.row(*day, service, currency);
                sum(*day, service, currency, &now, add)
            })
            .collect::<Result<Vec<Row>>>()?;
        for ((day, service, currency, _), total) in sums.rows.iter().zip(totals) {
            self.with_row(*day, service, currency, |row| *row = total);
        }
        Ok(())
    }

    /// Adds `rows` (which may share keys), or nothing when any sum would
    /// overflow or an amount has no currency.
    fn apply(&mut self, rows: &[(NaiveDate, &str, &str, Row)]) -> Result<()> {
        if let [(day, service, currency, add)] = rows {
            return self.add_one(*day, service, currency, add);
        }
        // Check first: each row's new total is the current one plus every
        // row of this call up to it with the same key (a handful at most).
        for (i, (day, service, currency, _)) in rows.iter().enumerate() {
            no_currency(*day, service, currency, &rows[i].3)?;
            let mut total = self.row(*day, service, currency);
            for (d, s, c, add) in &rows[..=i] {
                if (d, s, c) == (day, service, currency) {
                    total = sum(*day, service, currency, &total, add)?;
                }
            }
        }
        for (day, service, currency, add) in rows {
            self.put(*day, service, currency, add)?;
        }
        Ok(())
    }

    /// Adds one row whose sum was checked beforehand.
    fn put(&mut self, day: NaiveDate, service: &str, currency: &str, add: &Row) -> Result<()> {
        self.with_row(day, service, currency, |row| {
            *row = row
                .checked_add(add)
                .map_err(|what| anyhow!("{what} overflows"))?;
            Ok(())
        })
    }

    /// Calls `f` with the row of a key, made empty if new; its strings
    /// are copied only then.
    fn with_row<R>(
        &mut self,
        day: NaiveDate,
        service: &str,
        currency: &str,
        f: impl FnOnce(&mut Row) -> R,
    ) -> R {
        let services = self.days.entry(day).or_default();
        let currencies = match services.get_mut(service) {
            Some(c) => c,
            None => services.entry(Text::from(service)).or_default(),
        };
        let row = match currencies.get_mut(currency) {
            Some(r) => r,
            None => currencies.entry(Text::from(currency)).or_default(),
        };
        f(row)
    }

    /// [`Self::apply`] of one row, the writer's case for nearly every
    /// record: one look-up when the row exists.
    fn add_one(&mut self, day: NaiveDate, service: &str, currency: &str, add: &Row) -> Result<()> {
        no_currency(day, service, currency, add)?;
        let existing = self
            .days
            .get_mut(&day)
            .and_then(|s| s.get_mut(service))
            .and_then(|c| c.get_mut(currency));
        if let Some(row) = existing {
            *row = sum(day, service, currency, row, add)?;
            return Ok(());
        }
        let new = sum(day, service, currency, &Row::default(), add)?;
        self.with_row(day, service, currency, |row| *row = new);
        Ok(())
    }

    fn row(&self, day: NaiveDate, service: &str, currency: &str) -> Row {
        self.days
            .get(&day)
            .and_then(|s| s.get(service))
            .and_then(|c| c.get(currency))
            .copied()
            .unwrap_or_default()
    }

    /// Every row: day, service, currency, revenue and third-party cost
    /// (for the margins of `write::network`).
    pub fn rows(&self) -> impl Iterator<Item = (NaiveDate, &str, &str, Decimal, Decimal)> {
        self.days.iter().flat_map(|(day, services)| {
            services.iter().flat_map(move |(service, currencies)| {
                currencies.iter().map(move |(currency, r)| {
                    (*day, service.as_str(), currency.as_str(), r.revenue, r.cost)
                })
            })
        })
    }

    /// Whether nothing has been added.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// Writes the analysis as CSV ([`CSV_HEADER`]): one row per (day,
    /// service, currency), sorted by them.
    ///
    /// `usage_modules` counts priced usage modules of self-contained SDRs,
    /// `sessions` and `participations` multi-party sessions (a session
    /// counted once, in its first participation's currency). `minutes` is
    /// seconds of duration (SDR items and active participation) / 60, two
    /// decimals, half away from zero; `events` and `units` are the other
    /// quantities of SDR items. Amounts are exact sums excluding VAT:
    /// `basic_price` the list prices before discounts, `revenue` the
    /// individual prices, `cost` third-party costs, `margin` = revenue − cost.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut out = csv::Writer::from_path(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        self.write_rows(&mut out)
            .and_then(|()| out.flush().map_err(Into::into))
            .with_context(|| format!("cannot write {}", path.display()))
    }

    fn write_rows<W: std::io::Write>(&self, out: &mut csv::Writer<W>) -> Result<()> {
        out.write_record(CSV_HEADER)?;
        for (day, services) in &self.days {
            let day = day.to_string();
            for (service, currencies) in services {
                for (currency, r) in currencies {
                    let margin = r.margin().ok_or_else(|| anyhow!("margin overflows"))?;
                    out.write_record([
                        day.as_str(),
                        service,
                        currency,
                        &r.usage_modules.to_string(),
                        &r.sessions.to_string(),
                        &r.participations.to_string(),
                        &minutes(r.seconds).to_string(),
                        &r.events.to_string(),
                        &r.units.to_string(),
                        &amount(r.basic).to_string(),
                        &amount(r.revenue).to_string(),
                        &amount(r.cost).to_string(),
                        &amount(margin).to_string(),
                    ])?;
                }
            }
        }
        Ok(())
    }

    /// Writes the chart ([`chart`]). The same analysis gives the same bytes.
    pub fn write_svg(&self, path: &Path) -> Result<()> {
        let svg = chart::render(&self.chart_data()?);
        std::fs::write(path, svg).with_context(|| format!("cannot write {}", path.display()))
    }

    /// What the chart shows: per currency, per day, revenue per service and
    /// cost.
    fn chart_data(&self) -> Result<chart::Data> {
        let mut data = chart::Data {
            days: self.days.keys().copied().collect(),
            ..chart::Data::default()
        };
        for (day_index, (day, services)) in self.days.iter().enumerate() {
            for (service, currencies) in services {
                if !data.services.iter().any(|s| s == service.as_str()) {
                    data.services.push(service.to_string());
                }
                for (currency, r) in currencies {
                    if currency.is_empty() {
                        continue;
                    }
                    let panel = data.panel(currency, self.days.len());
                    let overflow = |what: &str| {
                        anyhow!("{what} in {currency} on {day} overflows, summed for the chart")
                    };
                    let d = &mut panel.days[day_index];
                    d.used = true;
                    // A service with only cost draws no empty revenue bar.
                    if !r.revenue.is_zero() {
                        let by = d.revenue.entry(service.to_string()).or_default();
                        *by = by
                            .checked_add(r.revenue)
                            .ok_or_else(|| overflow("revenue"))?;
                    }
                    d.cost = d.cost.checked_add(r.cost).ok_or_else(|| overflow("cost"))?;
                }
            }
        }
        data.services.sort();
        data.totals()?;
        Ok(data)
    }
}

/// `total + add` for the row of (day, service, currency), naming the row
/// and the column that overflows.
fn sum(day: NaiveDate, service: &str, currency: &str, total: &Row, add: &Row) -> Result<Row> {
    total
        .checked_add(add)
        .map_err(|what| anyhow!("usage of {service} on {day} in {currency}: {what} overflows"))
}

/// An amount must name its currency (a count need not: a session that
/// billed nothing).
fn no_currency(day: NaiveDate, service: &str, currency: &str, r: &Row) -> Result<()> {
    if currency.is_empty() && (!r.revenue.is_zero() || !r.cost.is_zero() || !r.basic.is_zero()) {
        return Err(anyhow!("{service} on {day}: an amount without a currency"));
    }
    Ok(())
}

/// Seconds as minutes, two decimals, half away from zero.
fn minutes(seconds: u64) -> Decimal {
    // u64::MAX / 60 fits a Decimal (96-bit mantissa): no overflow.
    let mut m = (Decimal::from(seconds) / Decimal::from(60))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    m.rescale(2);
    m
}

/// An amount as written: exact, and never "-0".
fn amount(mut d: Decimal) -> Decimal {
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    d
}

/// Amounts for people: three significant digits with a k / M / bn suffix
/// ("3.55 M", "812 k", "46.50"), rounded once with [`DISPLAY_ROUNDING`].
pub fn readable(d: Decimal) -> String {
    let (scale, suffix) = [
        (Decimal::from(1_000_000_000), " bn"),
        (Decimal::from(1_000_000), " M"),
        (Decimal::from(1_000), " k"),
    ]
    .into_iter()
    .find(|(s, _)| d.abs() >= *s)
    .unwrap_or((Decimal::ONE, ""));
    let v = d / scale;
    let dp = if suffix.is_empty() || v.abs() < Decimal::TEN {
        2
    } else if v.abs() < Decimal::ONE_HUNDRED {
        1
    } else {
        0
    };
    let mut v = v.round_dp_with_strategy(dp, DISPLAY_ROUNDING);
    // 999.996 rounds to 1000.00, 999.96 k to 1000.0 k: say 1.00 k, 1.00 M.
    if v.abs() >= Decimal::ONE_THOUSAND && scale < Decimal::from(1_000_000_000) {
        let next = scale * Decimal::ONE_THOUSAND;
        return readable(if d.is_sign_negative() { -next } else { next });
    }
    v.rescale(dp);
    format!("{}{suffix}", amount(v))
}

/// An exact amount with thousands separators: "21,034,567.12".
pub fn grouped(d: Decimal) -> String {
    let text = amount(d).to_string();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let mut out = String::from(sign);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = fraction {
        let _ = write!(out, ".{f}");
    }
    out
}

/// The chart: hand-written SVG, so that its bytes depend on the data only.
///
/// Layout, for a person looking at one run:
/// - a title with the run's period of use (first and last day, UTC);
/// - one panel per currency (amounts in different currencies share no
///   scale and are never added), all on the same day axis;
/// - per day two bars side by side: revenue stacked by service (one colour
///   per service, the same in every panel) and cost; margin (revenue −
///   cost) a black diamond joined day to day;
/// - a y axis with 4 to 8 round ticks (1, 2 or 5 × 10ⁿ), labelled with
///   [`readable`], and the currency as its unit; dates under the days
///   (every k-th when they would overlap);
/// - a legend per panel, and the panel's exact totals in its heading;
/// - `<title>` tooltips with the exact amounts on every bar and diamond.
///
/// An empty analysis gives the title and "no priced usage in this run".
mod chart {
    use super::*;

    #[derive(Debug, Default)]
    pub(super) struct Data {
        pub days: Vec<NaiveDate>,
        /// Every service, sorted: its index picks its colour.
        pub services: Vec<String>,
        pub panels: Vec<Panel>,
    }

    #[derive(Debug, Default)]
    pub(super) struct Panel {
        pub currency: String,
        /// One per day of [`Data::days`].
        pub days: Vec<Day>,
        pub revenue: Decimal,
        pub cost: Decimal,
        pub margin: Decimal,
    }

    #[derive(Debug, Default, Clone)]
    pub(super) struct Day {
        /// Revenue per service (sorted).
        pub revenue: BTreeMap<String, Decimal>,
        pub cost: Decimal,
        /// Whether the day has any usage in the panel's currency.
        pub used: bool,
    }

    impl Day {
        fn revenue(&self) -> Decimal {
            // Checked when the panel totals were summed.
            self.revenue
                .values()
                .fold(Decimal::ZERO, |a, v| a.saturating_add(*v))
        }
        fn margin(&self) -> Decimal {
            self.revenue().saturating_sub(self.cost)
        }
    }

    impl Data {
        pub fn panel(&mut self, currency: &str, days: usize) -> &mut Panel {
            let i = match self.panels.iter().position(|p| p.currency == currency) {
                Some(i) => i,
                None => {
                    self.panels.push(Panel {
                        currency: currency.to_owned(),
                        days: vec![Day::default(); days],
                        ..Panel::default()
                    });
                    self.panels.sort_by(|a, b| a.currency.cmp(&b.currency));
                    self.panels
                        .iter()
                        .position(|p| p.currency == currency)
                        .unwrap_or_default()
                }
            };
            &mut self.panels[i]
        }

        /// Sums each panel's totals, checked: the per-day sums the chart
        /// draws are below them, so they cannot overflow either.
        pub fn totals(&mut self) -> Result<()> {
            for p in &mut self.panels {
                let c = p.currency.clone();
                let overflow = |what: &str| anyhow!("total {what} in {c} overflows");
                for d in &p.days {
                    for v in d.revenue.values() {
                        p.revenue = p
                            .revenue
                            .checked_add(*v)
                            .ok_or_else(|| overflow("revenue"))?;
                    }
                    p.cost = p.cost.checked_add(d.cost).ok_or_else(|| overflow("cost"))?;
                }
                p.margin = p
                    .revenue
                    .checked_sub(p.cost)
                    .ok_or_else(|| overflow("margin"))?;
            }
            Ok(())
        }
    }

    /// Service colours (colour-blind safe, Tableau 10 without its grey).
    const PALETTE: [&str; 9] = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
        "#9c755f",
    ];
    const COST: &str = "#595959";
    const MARGIN: &str = "#000000";
    const FONT: &str = "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\"";

    const LEFT: f64 = 96.0;
    const LEGEND: f64 = 230.0;
    const TOP: f64 = 78.0;
    const PANEL: f64 = 330.0;
    /// Above each plot: the heading with the totals.
    const HEADING: f64 = 40.0;
    /// Below each plot: the dates.
    const DATES: f64 = 46.0;

    fn escape(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }

    fn f(d: Decimal) -> f64 {
        d.to_f64().unwrap_or(0.0)
    }

    /// A step of 1, 2 or 5 × 10ⁿ giving at most 8 ticks over `span`.
    fn step(span: Decimal) -> Decimal {
        let mut unit = Decimal::new(1, 2);
        loop {
            for m in [1, 2, 5] {
                let s = unit * Decimal::from(m);
                if span / s <= Decimal::from(7) {
                    return s;
                }
            }
            match unit.checked_mul(Decimal::TEN) {
                Some(u) => unit = u,
                None => return unit,
            }
        }
    }

    /// The y range of a panel: round ticks covering zero, every stack, cost
    /// and margin.
    fn range(p: &Panel) -> (Decimal, Decimal, Decimal) {
        let (mut lo, mut hi) = (Decimal::ZERO, Decimal::ZERO);
        for d in &p.days {
            let pos: Decimal = d
                .revenue
                .values()
                .filter(|v| v.is_sign_positive())
                .fold(Decimal::ZERO, |a, v| a.saturating_add(*v));
            let neg: Decimal = d
                .revenue
                .values()
                .filter(|v| v.is_sign_negative())
                .fold(Decimal::ZERO, |a, v| a.saturating_add(*v));
            for v in [pos, neg, d.cost, d.margin()] {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if hi == lo {
            hi = Decimal::ONE;
        }
        let s = step(hi.saturating_sub(lo));
        let lo = (lo / s).floor() * s;
        let hi = (hi / s).ceil() * s;
        (lo, hi, s)
    }

    pub(super) fn render(data: &Data) -> String {
        let days = data.days.len().max(1);
        // Wide enough for dates under every day up to ~20 days; beyond, the
        // chart grows 28 px a day and labels thin out.
        let plot_w = (days as f64 * 28.0).max(640.0);
        let slot = plot_w / days as f64;
        let width = LEFT + plot_w + LEGEND;
        let panels = data.panels.len().max(1);
        let height = TOP + panels as f64 * PANEL + 10.0;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" {FONT}>"
        );
        let _ = writeln!(
            s,
            "<rect x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"#ffffff\"/>"
        );
        let period = match (data.days.first(), data.days.last()) {
            (Some(a), Some(b)) if a == b => format!(", {a}"),
            (Some(a), Some(b)) => format!(", {a} to {b}"),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "<text x=\"{LEFT:.0}\" y=\"32\" font-size=\"22\" font-weight=\"bold\">Usage by day of use (UTC){period}</text>"
        );
        let _ = writeln!(
            s,
            "<text x=\"{LEFT:.0}\" y=\"56\" font-size=\"13\" fill=\"#444444\">Revenue (individual prices) by service against cost (third-party costs) and margin, excluding VAT; one panel per currency</text>"
        );
        if data.panels.is_empty() {
            let y = TOP + PANEL / 2.0;
            let x = LEFT + plot_w / 2.0;
            let _ = writeln!(
                s,
                "<rect x=\"{LEFT:.0}\" y=\"{TOP:.0}\" width=\"{plot_w:.0}\" height=\"{:.0}\" fill=\"none\" stroke=\"#bbbbbb\"/>",
                PANEL - 20.0
            );
            let _ = writeln!(
                s,
                "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"20\" text-anchor=\"middle\" fill=\"#444444\">no priced usage in this run</text>"
            );
        }
        for (i, p) in data.panels.iter().enumerate() {
            panel(&mut s, data, p, TOP + i as f64 * PANEL, plot_w, slot);
        }
        s.push_str("</svg>\n");
        s
    }

    fn panel(s: &mut String, data: &Data, p: &Panel, top: f64, plot_w: f64, slot: f64) {
        let cur = escape(&p.currency);
        let plot_top = top + HEADING;
        let plot_h = PANEL - HEADING - DATES;
        let bottom = plot_top + plot_h;
        let right = LEFT + plot_w;
        let _ = writeln!(s, "<g class=\"panel\" data-currency=\"{cur}\">");
        let _ = writeln!(
            s,
            "<text x=\"{LEFT:.0}\" y=\"{:.1}\" font-size=\"16\"><tspan font-weight=\"bold\">{cur}</tspan>: revenue {} {cur}, cost {} {cur}, margin {} {cur}</text>",
            top + 22.0,
            grouped(p.revenue),
            grouped(p.cost),
            grouped(p.margin),
        );
        let (lo, hi, step) = range(p);
        let (lo_f, hi_f) = (f(lo), f(hi));
        let y = |v: f64| bottom - (v - lo_f) / (hi_f - lo_f) * plot_h;

        // Grid and y axis.
        let mut tick = lo;
        while tick <= hi {
            let ty = y(f(tick));
            let colour = if tick.is_zero() { "#333333" } else { "#e3e3e3" };
            let _ = writeln!(
                s,
                "<line x1=\"{LEFT:.0}\" y1=\"{ty:.1}\" x2=\"{right:.1}\" y2=\"{ty:.1}\" stroke=\"{colour}\"/>"
            );
            let _ = writeln!(
                s,
                "<text x=\"{:.0}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{}</text>",
                LEFT - 8.0,
                ty + 4.0,
                tick_label(tick)
            );
            match tick.checked_add(step) {
                Some(t) => tick = t,
                None => break,
            }
        }
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT:.0}\" y1=\"{plot_top:.1}\" x2=\"{LEFT:.0}\" y2=\"{bottom:.1}\" stroke=\"#333333\"/>"
        );
        let mid = plot_top + plot_h / 2.0;
        let _ = writeln!(
            s,
            "<text x=\"18\" y=\"{mid:.1}\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 18 {mid:.1})\">{cur} (excl. VAT)</text>"
        );

        // Dates: every k-th so that labels (about 80 px wide) do not overlap.
        let every = (80.0 / slot).ceil().max(1.0) as usize;
        for (i, day) in data.days.iter().enumerate() {
            let cx = LEFT + (i as f64 + 0.5) * slot;
            let _ = writeln!(
                s,
                "<line x1=\"{cx:.1}\" y1=\"{bottom:.1}\" x2=\"{cx:.1}\" y2=\"{:.1}\" stroke=\"#333333\"/>",
                bottom + 4.0
            );
            if i % every == 0 {
                let _ = writeln!(
                    s,
                    "<text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{day}</text>",
                    bottom + 18.0
                );
            }
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#444444\">day of use (UTC)</text>",
            LEFT + plot_w / 2.0,
            bottom + 36.0
        );

        // Bars: revenue stacked by service, cost beside it.
        let bar = (slot * 0.36).min(60.0);
        let zero = y(0.0);
        let mut margins = Vec::with_capacity(p.days.len());
        for (i, (d, day)) in p.days.iter().zip(&data.days).enumerate() {
            let cx = LEFT + (i as f64 + 0.5) * slot;
            let (mut up, mut down) = (0.0f64, 0.0f64);
            for (service, v) in &d.revenue {
                let v_f = f(*v);
                let (from, to) = if v_f >= 0.0 {
                    up += v_f;
                    (up - v_f, up)
                } else {
                    down += v_f;
                    (down - v_f, down)
                };
                let (y0, y1) = (y(from).max(y(to)), y(from).min(y(to)));
                let colour = colour(data, service);
                let _ = writeln!(
                    s,
                    "<rect class=\"revenue\" x=\"{:.1}\" y=\"{y1:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{day} {}: revenue {} {cur}</title></rect>",
                    cx - bar - 1.0,
                    y0 - y1,
                    escape(service),
                    grouped(*v),
                );
            }
            let c = y(f(d.cost));
            let _ = writeln!(
                s,
                "<rect class=\"cost\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{COST}\"><title>{day}: cost {} {cur}</title></rect>",
                cx + 1.0,
                c.min(zero),
                (zero - c).abs(),
                grouped(d.cost),
            );
            // The day's revenue above its stack, where there is room.
            if slot >= 70.0 && !d.revenue.is_empty() {
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                    cx - bar / 2.0 - 1.0,
                    y(up) - 4.0,
                    readable(d.revenue()),
                );
            }
            // Over the cost bar, clear of the revenue label.
            if d.used {
                margins.push((cx + 1.0 + bar / 2.0, y(f(d.margin())), d.margin(), day));
            }
        }

        // Margin: diamonds, joined where days follow each other (a line
        // across a day without usage would invent one).
        let mut runs: Vec<Vec<String>> = Vec::new();
        let mut previous: Option<NaiveDate> = None;
        for (x, my, _, day) in &margins {
            let follows = previous.and_then(|p| p.succ_opt()) == Some(**day);
            match runs.last_mut() {
                Some(run) if follows => run.push(format!("{x:.1},{my:.1}")),
                _ => runs.push(vec![format!("{x:.1},{my:.1}")]),
            }
            previous = Some(**day);
        }
        for run in runs.iter().filter(|r| r.len() > 1) {
            let _ = writeln!(
                s,
                "<polyline class=\"margin\" points=\"{}\" fill=\"none\" stroke=\"{MARGIN}\" stroke-width=\"1.5\"/>",
                run.join(" ")
            );
        }
        for (x, my, m, day) in &margins {
            let _ = writeln!(
                s,
                "<path class=\"margin\" d=\"M{x:.1} {:.1} L{:.1} {my:.1} L{x:.1} {:.1} L{:.1} {my:.1} Z\" fill=\"{MARGIN}\"><title>{day}: margin {} {cur}</title></path>",
                my - 5.0,
                x + 5.0,
                my + 5.0,
                x - 5.0,
                grouped(*m),
            );
        }

        // Legend: the services of this panel, cost, margin.
        let lx = right + 24.0;
        let mut ly = plot_top + 4.0;
        let mut present: Vec<(&str, Decimal)> = Vec::new();
        for d in &p.days {
            for (service, v) in &d.revenue {
                match present.iter_mut().find(|(s, _)| s == service) {
                    Some((_, t)) => *t = t.saturating_add(*v),
                    None => present.push((service, *v)),
                }
            }
        }
        present.sort();
        let square = |fill: &str, ly: f64| {
            format!(
                "<rect x=\"{lx:.1}\" y=\"{ly:.1}\" width=\"12\" height=\"12\" fill=\"{fill}\"/>"
            )
        };
        let mut entries: Vec<(String, String)> = present
            .into_iter()
            .enumerate()
            .map(|(i, (service, total))| {
                (
                    square(colour(data, service), ly + i as f64 * 18.0),
                    format!("{} {}", escape(service), readable(total)),
                )
            })
            .collect();
        let n = entries.len() as f64;
        entries.push((
            square(COST, ly + n * 18.0),
            format!("cost {}", readable(p.cost)),
        ));
        let my = ly + (n + 1.0) * 18.0;
        entries.push((
            format!(
                "<path d=\"M{:.1} {my:.1} L{:.1} {:.1} L{:.1} {:.1} L{lx:.1} {:.1} Z\" fill=\"{MARGIN}\"/>",
                lx + 6.0,
                lx + 12.0,
                my + 6.0,
                lx + 6.0,
                my + 12.0,
                my + 6.0,
            ),
            format!("margin {}", readable(p.margin)),
        ));
        for (swatch, label) in entries {
            let _ = writeln!(s, "{swatch}");
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{label}</text>",
                lx + 20.0,
                ly + 10.0
            );
            ly += 18.0;
        }
        let _ = writeln!(s, "</g>");
    }

    fn colour<'a>(data: &Data, service: &str) -> &'a str {
        let i = data
            .services
            .iter()
            .position(|s| s == service)
            .unwrap_or_default();
        PALETTE[i % PALETTE.len()]
    }

    /// A tick's label: [`readable`] without trailing zeros ("2.5 M", "0").
    fn tick_label(d: Decimal) -> String {
        let text = readable(d);
        let (number, suffix) = match text.split_once(' ') {
            Some((n, s)) => (n.to_owned(), format!(" {s}")),
            None => (text.clone(), String::new()),
        };
        let number = match number.parse::<Decimal>() {
            Ok(n) => amount(n.normalize()).to_string(),
            Err(_) => number,
        };
        format!("{number}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::{ModuleUsage, Modules};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// A self-contained usage module: (service, day, seconds, events,
    /// units, basic, individual).
    fn module(
        service: &str,
        d: &str,
        (seconds, events, units): (u64, u64, u64),
        basic: &str,
        individual: &str,
    ) -> ModuleUsage {
        ModuleUsage {
            service: Text::from(service),
            day: day(d),
            start: day(d).and_time(chrono::NaiveTime::MIN).and_utc(),
            customer_group: None,
            seconds,
            events,
            units,
            basic: dec(basic),
            individual: dec(individual),
        }
    }

    /// A billed SDR in `currency` with `modules` (its totals as the rater
    /// sums them).
    fn record(currency: &str, modules: Vec<ModuleUsage>) -> Totals {
        let mut m = Modules::default();
        let (mut basic, mut individual) = (Decimal::ZERO, Decimal::ZERO);
        for u in modules {
            basic += u.basic;
            individual += u.individual;
            m.push(u);
        }
        Totals {
            currency: Text::from(currency),
            marketing_company: Text::from("acme"),
            basic,
            individual,
            modules: m,
            network: None,
        }
    }

    fn part(currency: &str, active_seconds: u64, basic: &str, individual: &str) -> Participation {
        Participation {
            currency: Text::from(currency),
            active_seconds,
            basic: dec(basic),
            individual: dec(individual),
        }
    }

    fn session(
        a: &mut UsageAnalysis,
        service: &str,
        d: &str,
        parts: &[Participation],
        cost: &[(&str, &str)],
    ) -> Result<()> {
        let cost: Vec<(Text, Decimal)> =
            cost.iter().map(|(c, v)| (Text::from(*c), dec(v))).collect();
        a.add_session(&SessionUsage {
            service,
            day: day(d),
            participations: parts,
            cost: &cost,
        })
    }

    fn csv_text(a: &UsageAnalysis) -> String {
        let mut out = csv::Writer::from_writer(Vec::new());
        a.write_rows(&mut out).unwrap();
        String::from_utf8(out.into_inner().unwrap()).unwrap()
    }

    fn svg_text(a: &UsageAnalysis) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.svg");
        a.write_svg(&path).unwrap();
        std::fs::read_to_string(path).unwrap()
    }

    /// VPN and BB records over two days, a conference session, in SEK and
    /// EUR.
    fn sample() -> UsageAnalysis {
        let mut a = UsageAnalysis::default();
        let vpn = |d, secs, b, i| record("SEK", vec![module("VPN", d, (secs, 0, 0), b, i)]);
        a.add_record(&vpn("2026-11-21", 120, "2.40", "2.16"))
            .unwrap();
        a.add_record(&vpn("2026-11-21", 61, "1.22", "1.22"))
            .unwrap();
        a.add_record(&vpn("2026-11-22", 30, "0.60", "0.54"))
            .unwrap();
        // A broadband record of two modules: both count.
        a.add_record(&record(
            "EUR",
            vec![
                module("BB", "2026-11-21", (600, 1, 1_000_000), "1.50", "1.35"),
                module("BB", "2026-11-21", (0, 1, 500), "0.05", "0.05"),
            ],
        ))
        .unwrap();
        session(
            &mut a,
            "CONF",
            "2026-11-21",
            &[
                part("SEK", 1800, "21.00", "21.00"),
                part("SEK", 1140, "11.40", "10.26"),
            ],
            &[("SEK", "4.50"), ("SEK", "1.25")],
        )
        .unwrap();
        a
    }

    #[test]
    fn csv_rows_per_day_service_and_currency() {
        // 2026-11-21 BB EUR: 2 modules, 600 s = 10.00 min, events 1 + 1,
        // units 1,000,000 + 500; basic 1.50 + 0.05, revenue 1.35 + 0.05.
        // CONF SEK: 1 session, 2 participations, 1800 + 1140 = 2940 s =
        // 49.00 min; basic 21.00 + 11.40, revenue 21.00 + 10.26 = 31.26,
        // cost 4.50 + 1.25 = 5.75, margin 25.51.
        // VPN SEK: 120 + 61 = 181 s = 3.0166 = 3.02 min; basic 2.40 + 1.22,
        // revenue 2.16 + 1.22 = 3.38, no cost.
        // 2026-11-22 VPN SEK: 30 s = 0.50 min.
        let expected = "\
day,service,currency,usage_modules,sessions,participations,minutes,events,units,basic_price,revenue,cost,margin
2026-11-21,BB,EUR,2,0,0,10.00,2,1000500,1.55,1.40,0,1.40
2026-11-21,CONF,SEK,0,1,2,49.00,0,0,32.40,31.26,5.75,25.51
2026-11-21,VPN,SEK,2,0,0,3.02,0,0,3.62,3.38,0,3.38
2026-11-22,VPN,SEK,1,0,0,0.50,0,0,0.60,0.54,0,0.54
";
        assert_eq!(csv_text(&sample()), expected);
    }

    #[test]
    fn empty_analysis_writes_only_the_header() {
        let a = UsageAnalysis::default();
        assert!(a.is_empty());
        assert_eq!(csv_text(&a), format!("{}\n", CSV_HEADER.join(",")));
    }

    #[test]
    fn a_session_counts_once_in_its_first_participations_currency() {
        let mut a = UsageAnalysis::default();
        session(
            &mut a,
            "GAME",
            "2026-01-05",
            &[part("EUR", 60, "1.00", "1.00"), part("SEK", 90, "11", "10")],
            &[("EUR", "0.30"), ("SEK", "12.50")],
        )
        .unwrap();
        // Nothing billed at all: still a session, in no currency.
        session(&mut a, "GAME", "2026-01-06", &[], &[]).unwrap();
        assert_eq!(
            csv_text(&a).lines().skip(1).collect::<Vec<_>>(),
            [
                "2026-01-05,GAME,EUR,0,1,1,1.00,0,0,1.00,1.00,0.30,0.70",
                // Cost above revenue: a negative margin.
                "2026-01-05,GAME,SEK,0,0,1,1.50,0,0,11,10,12.50,-2.50",
                "2026-01-06,GAME,,0,1,0,0.00,0,0,0,0,0,0",
            ]
        );
    }

    #[test]
    fn overflow_is_an_error_and_changes_nothing() {
        let max = Decimal::MAX.to_string();
        let mut a = UsageAnalysis::default();
        let one =
            |b: &str, i: &str| record("SEK", vec![module("S", "2026-01-01", (1, 0, 0), b, i)]);
        a.add_record(&one("0", &max)).unwrap();
        let before = csv_text(&a);

        let e = a.add_record(&one("0", "1")).unwrap_err();
        assert!(
            e.to_string()
                .contains("S on 2026-01-01 in SEK: revenue overflows"),
            "{e}"
        );
        // Within one record: the second module overflows, the first (a new
        // row) is not added either.
        let e = a
            .add_record(&record(
                "SEK",
                vec![
                    module("T", "2026-01-01", (1, 0, 0), "0", "1"),
                    module("S", "2026-01-01", (1, 0, 0), "0", "1"),
                ],
            ))
            .unwrap_err();
        assert!(e.to_string().contains("revenue overflows"), "{e}");
        // A margin that cannot be represented.
        let e = session(&mut a, "S", "2026-01-01", &[], &[("SEK", "-1")]).unwrap_err();
        assert!(e.to_string().contains("margin overflows"), "{e}");
        // Counts.
        let e = a
            .add_record(&record(
                "SEK",
                vec![module("S", "2026-01-01", (u64::MAX, 0, 0), "0", "0")],
            ))
            .unwrap_err();
        assert!(e.to_string().contains("seconds overflows"), "{e}");
        assert_eq!(csv_text(&a), before);

        // A currency's total over days, summed for the chart.
        a.add_record(&record(
            "SEK",
            vec![module("S", "2026-01-02", (1, 0, 0), "0", "1")],
        ))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let e = a.write_svg(&dir.path().join("x.svg")).unwrap_err();
        assert!(
            e.to_string().contains("total revenue in SEK overflows"),
            "{e}"
        );
    }

    #[test]
    fn merged_sums_are_all_or_none() {
        let max = Decimal::MAX.to_string();
        let one = |service: &str, day: &str, i: &str| {
            record("SEK", vec![module(service, day, (1, 0, 0), "0", i)])
        };
        let mut a = UsageAnalysis::default();
        a.add_record(&one("S", "2026-01-01", &max)).unwrap();
        let before = csv_text(&a);
        // A new row first, then one that overflows: neither is added.
        let mut sums = UsageSums::default();
        sums.add_record(&one("T", "2026-01-01", "1")).unwrap();
        sums.add_record(&one("S", "2026-01-01", "1")).unwrap();
        let e = a.merge(sums).unwrap_err();
        assert!(
            e.to_string()
                .contains("S on 2026-01-01 in SEK: revenue overflows"),
            "{e}"
        );
        assert_eq!(csv_text(&a), before);
        // Merged sums add up as the records one by one: T twice is 2.
        let (mut by_one, mut merged, mut sums) = (
            UsageAnalysis::default(),
            UsageAnalysis::default(),
            UsageSums::default(),
        );
        for r in [
            one("T", "2026-01-01", "1"),
            one("T", "2026-01-01", "1"),
            one("S", "2026-01-02", "0.5"),
        ] {
            by_one.add_record(&r).unwrap();
            sums.add_record(&r).unwrap();
        }
        merged.add_record(&one("T", "2026-01-01", "1")).unwrap();
        merged.merge(sums).unwrap();
        by_one.add_record(&one("T", "2026-01-01", "1")).unwrap();
        assert_eq!(csv_text(&merged), csv_text(&by_one));
        assert!(csv_text(&merged).contains("2026-01-01,T,SEK,3,0,0,0.05,0,0,0,3,0,3"));
    }

    #[test]
    fn amounts_need_a_currency() {
        let mut a = UsageAnalysis::default();
        let r = record("", vec![module("S", "2026-01-01", (1, 0, 0), "1", "1")]);
        assert!(a.add_record(&r).is_err());
        assert!(a.is_empty());
    }

    #[test]
    fn readable_numbers() {
        for (value, shown) in [
            ("3549845.16", "3.55 M"),
            ("21034567.12", "21.0 M"),
            ("812345", "812 k"),
            ("999999", "1.00 M"),
            ("999.994", "999.99"),
            ("999.996", "1.00 k"),
            ("1234", "1.23 k"),
            ("1235", "1.24 k"),
            ("-1235", "-1.24 k"),
            ("46.5", "46.50"),
            ("0.005", "0.01"),
            ("0", "0.00"),
            ("-0.001", "0.00"),
            ("7250000000", "7.25 bn"),
        ] {
            assert_eq!(readable(dec(value)), shown, "{value}");
        }
        assert_eq!(grouped(dec("21034567.12")), "21,034,567.12");
        assert_eq!(grouped(dec("-1234")), "-1,234");
        assert_eq!(grouped(dec("999.5")), "999.5");
        assert_eq!(grouped(dec("100000")), "100,000");
    }

    /// The attribute `name` of the first tag in `tag`.
    fn attr(tag: &str, name: &str) -> f64 {
        let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let len = tag[start..].find('"').unwrap();
        tag[start..start + len].parse().unwrap()
    }

    /// The `<rect>`s of `class`, as (x, y, height).
    fn bars(svg: &str, class: &str) -> Vec<(f64, f64, f64)> {
        svg.split("<rect")
            .skip(1)
            .filter(|t| t.starts_with(&format!(" class=\"{class}\"")))
            .map(|t| (attr(t, "x"), attr(t, "y"), attr(t, "height")))
            .collect()
    }

    /// The contents of the `<text>` and `<title>` elements.
    fn texts(svg: &str) -> Vec<String> {
        let mut out = Vec::new();
        for tag in ["text", "title"] {
            for t in svg.split(&format!("<{tag}")).skip(1) {
                let body = &t[t.find('>').unwrap() + 1..t.find(&format!("</{tag}>")).unwrap()];
                out.push(body.trim().to_owned());
            }
        }
        out
    }

    fn has(svg: &str, label: &str) -> bool {
        texts(svg).iter().any(|t| t.contains(label))
    }

    #[test]
    fn chart_has_a_panel_per_currency_with_dates_ticks_and_totals() {
        let svg = svg_text(&sample());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<g class=\"panel\"").count(), 2, "{svg}");
        for label in [
            "Usage by day of use (UTC), 2026-11-21 to 2026-11-22",
            "2026-11-21",
            "2026-11-22",
            "EUR (excl. VAT)",
            "SEK (excl. VAT)",
            "day of use (UTC)",
            // SEK: revenue 31.26 + 3.38 + 0.54, cost 5.75.
            ": revenue 35.18 SEK, cost 5.75 SEK, margin 29.43 SEK",
            ": revenue 1.40 EUR, cost 0 EUR, margin 1.40 EUR",
            // Legends: services with their totals, cost, margin.
            "CONF 31.26",
            "VPN 3.92",
            "BB 1.40",
            "cost 5.75",
            "margin 29.43",
            // Tooltips with exact amounts.
            "2026-11-21 CONF: revenue 31.26 SEK",
            "2026-11-21: cost 5.75 SEK",
            "2026-11-21: margin 28.89 SEK",
        ] {
            assert!(has(&svg, label), "{label} not in {:?}", texts(&svg));
        }
        // SEK ticks: 0 to 35 in steps of 5 (the 2026-11-21 stack is 34.64:
        // a step of 5 gives 7 intervals, the most allowed).
        for tick in ["0", "5", "20", "35"] {
            assert!(texts(&svg).iter().any(|t| t == tick), "tick {tick}");
        }
        // EUR ticks 0 to 1.4 by 0.2 (stack 1.40).
        for tick in ["0.2", "1.4"] {
            assert!(texts(&svg).iter().any(|t| t == tick), "tick {tick}");
        }
        assert_eq!(svg, svg_text(&sample()), "same analysis, same bytes");
    }

    #[test]
    fn chart_bars_are_proportional_to_the_amounts() {
        let mut a = UsageAnalysis::default();
        let r = |s, d, i| record("SEK", vec![module(s, d, (0, 1, 0), i, i)]);
        a.add_record(&r("A", "2026-02-01", "300")).unwrap();
        a.add_record(&r("B", "2026-02-01", "100")).unwrap();
        a.add_record(&r("A", "2026-02-02", "200")).unwrap();
        session(&mut a, "C", "2026-02-02", &[], &[("SEK", "50")]).unwrap();
        let svg = svg_text(&a);
        let revenue = bars(&svg, "revenue");
        // Day 1: A then B stacked on it; day 2: A.
        assert_eq!(revenue.len(), 3, "{svg}");
        let (a1, b1, a2) = (revenue[0], revenue[1], revenue[2]);
        assert!((a1.2 / b1.2 - 3.0).abs() < 0.01, "{a1:?} {b1:?}");
        assert!((a1.2 / a2.2 - 1.5).abs() < 0.01);
        // B sits on A; both days share the baseline.
        assert!((b1.1 + b1.2 - a1.1).abs() < 0.11);
        assert!((a1.1 + a1.2 - (a2.1 + a2.2)).abs() < 0.11);
        let cost = bars(&svg, "cost");
        assert_eq!(cost.len(), 2);
        assert_eq!(cost[0].2, 0.0);
        assert!((a2.2 / cost[1].2 - 4.0).abs() < 0.01, "{svg}");
        // Cost to the right of revenue.
        assert!(cost[1].0 > a2.0);
    }

    #[test]
    fn chart_of_nothing_says_so() {
        let svg = svg_text(&UsageAnalysis::default());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(has(&svg, "no priced usage in this run"), "{svg}");
        assert!(bars(&svg, "revenue").is_empty());
        assert_eq!(svg.matches("<g class=\"panel\"").count(), 0);
    }

    #[test]
    fn negative_revenue_draws_down_from_zero() {
        let mut a = UsageAnalysis::default();
        let r = |s, i| record("EUR", vec![module(s, "2026-03-01", (0, 1, 0), i, i)]);
        a.add_record(&r("credit", "-2")).unwrap();
        a.add_record(&r("sale", "4")).unwrap();
        let svg = svg_text(&a);
        let b = bars(&svg, "revenue");
        assert_eq!(b.len(), 2);
        let (credit, sale) = (b[0], b[1]);
        // The credit starts where the sale does: at zero.
        assert!((credit.1 - (sale.1 + sale.2)).abs() < 0.11, "{svg}");
        assert!((sale.2 / credit.2 - 2.0).abs() < 0.01);
        assert!(has(&svg, "credit: revenue -2 EUR"));
        assert!(texts(&svg).iter().any(|t| t == "-2"), "a tick below zero");
    }
}
