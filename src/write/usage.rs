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
//! is the same at any thread count.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::rate::{ModuleUsage, Totals};
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

impl UsageAnalysis {
    /// Adds every usage module of one billed SDR, all or none.
    pub fn add_record(&mut self, t: &Totals) -> Result<()> {
        let row = |m: &ModuleUsage| Row {
            usage_modules: 1,
            seconds: m.seconds,
            events: m.events,
            units: m.units,
            basic: m.basic,
            revenue: m.individual,
            ..Row::default()
        };
        let mut modules = t.modules.iter();
        let Some(first) = modules.next() else {
            return Ok(());
        };
        if modules.next().is_none() {
            // Nearly every SDR: one module, no list to build.
            return self.apply(&[(first.day, &first.service, &t.currency, row(first))]);
        }
        let rows: Vec<_> = t
            .modules
            .iter()
            .map(|m| (m.day, m.service.as_str(), t.currency.as_str(), row(m)))
            .collect();
        self.apply(&rows)
    }

    /// Adds one priced session, all or none.
    pub fn add_session(&mut self, s: &SessionUsage<'_>) -> Result<()> {
        let mut rows: Vec<(NaiveDate, &str, &str, Row)> = Vec::with_capacity(2);
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
            // Priced with nothing to bill or cost: counted all the same.
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
        self.apply(&rows)
    }

    /// Adds `rows` (which may share keys), or nothing when any sum would
    /// overflow or an amount has no currency.
    fn apply(&mut self, rows: &[(NaiveDate, &str, &str, Row)]) -> Result<()> {
        // Check first: each row's new total is the current one plus every
        // row of this call up to it with the same key (a handful at most).
        for (i, (day, service, currency, _)) in rows.iter().enumerate() {
            let r = &rows[i].3;
            let has_money = !r.revenue.is_zero() || !r.cost.is_zero() || !r.basic.is_zero();
            if currency.is_empty() && has_money {
                return Err(anyhow!("{service} on {day}: an amount without a currency"));
            }
            let mut total = self.row(*day, service, currency);
            for (d, s, c, add) in &rows[..=i] {
                if (d, s, c) == (day, service, currency) {
                    total = total.checked_add(add).map_err(|what| {
                        anyhow!("usage of {service} on {day} in {currency}: {what} overflows")
                    })?;
                }
            }
        }
        for (day, service, currency, add) in rows {
            let services = self.days.entry(*day).or_default();
            let currencies = match services.get_mut(*service) {
                Some(c) => c,
                None => services.entry(Text::from(*service)).or_default(),
            };
            let row = match currencies.get_mut(*currency) {
                Some(r) => r,
                None => currencies.entry(Text::from(*currency)).or_default(),
            };
            // Checked above.
            *row = row
                .checked_add(add)
                .map_err(|what| anyhow!("{what} overflows"))?;
        }
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
                    let by = d.revenue.entry(service.to_string()).or_default();
                    *by = by
                        .checked_add(r.revenue)
                        .ok_or_else(|| overflow("revenue"))?;
                    d.cost = d.cost.checked_add(r.cost).ok_or_else(|| overflow("cost"))?;
                }
            }
        }
        data.services.sort();
        data.totals()?;
        Ok(data)
    }
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
    let dp = if suffix.is_empty() {
        2
    } else if v.abs() < Decimal::TEN {
        2
    } else if v.abs() < Decimal::ONE_HUNDRED {
        1
    } else {
        0
    };
    let mut v = v.round_dp_with_strategy(dp, DISPLAY_ROUNDING);
    // 999.96 k rounds to 1000.0 k: say 1.00 M.
    if !suffix.is_empty() && v.abs() >= Decimal::ONE_THOUSAND && scale < Decimal::from(1_000_000_000)
    {
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
    }

    impl Day {
        fn revenue(&self) -> Decimal {
            // Checked when the panel totals were summed.
            self.revenue.values().fold(Decimal::ZERO, |a, v| a.saturating_add(*v))
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
        let _ = write!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" {FONT}>\n"
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
            margins.push((cx, y(f(d.margin())), d.margin(), day));
        }

        // Margin: diamonds joined day to day.
        if margins.len() > 1 {
            let points: Vec<String> = margins
                .iter()
                .map(|(x, y, _, _)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = writeln!(
                s,
                "<polyline class=\"margin\" points=\"{}\" fill=\"none\" stroke=\"{MARGIN}\" stroke-width=\"1.5\"/>",
                points.join(" ")
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
            format!("<rect x=\"{lx:.1}\" y=\"{ly:.1}\" width=\"12\" height=\"12\" fill=\"{fill}\"/>")
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
