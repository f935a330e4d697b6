//! Usage analysis of multi-party sessions: per service and day, how many
//! sessions and participations there were, how many minutes they were
//! active, and what they earned and cost.
//!
//! The analysis is built one priced session at a time ([`UsageAnalysis::add`])
//! and written as CSV ([`UsageAnalysis::write_csv`]) and as an SVG bar chart
//! of revenue per service ([`UsageAnalysis::write_svg`]). Its memory grows
//! with services × days × currencies, never with the number of sessions.
//!
//! Money is [`Decimal`] throughout and every sum is checked: an overflow is
//! an error, and a session that would overflow leaves the analysis as it
//! was. Floating point is used only for pixel geometry in the chart.

use crate::sdr::Text as SdrText;
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, ensure};
use chrono::NaiveDate;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// Totals per service and day, built from priced sessions.
#[derive(Debug, Default)]
pub struct UsageAnalysis {
    /// service → day → usage; ordered so that output is deterministic.
    services: BTreeMap<String, BTreeMap<NaiveDate, DayUsage>>,
}

/// One priced multi-party session, as handed to [`UsageAnalysis::add`].
pub struct SessionUsage<'a> {
    pub service: &'a str,
    /// The session's start date in its own UTC offset.
    pub day: NaiveDate,
    pub participations: u64,
    /// Sum over the participations.
    pub active_seconds: u64,
    /// (currency, individual price excluding VAT): one entry per
    /// participation, or already summed; entries are added up per currency.
    pub revenue: &'a [(SdrText, Decimal)],
    /// (currency, third-party cost), added up per currency likewise.
    pub cost: &'a [(SdrText, Decimal)],
}

#[derive(Debug, Default)]
struct DayUsage {
    sessions: u64,
    participations: u64,
    active_seconds: u64,
    /// currency → money.
    money: BTreeMap<String, Money>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Money {
    revenue: Decimal,
    cost: Decimal,
}

impl Money {
    /// `self + other`, checked.
    fn checked_add(self, other: Money, currency: &str) -> Result<Money> {
        let revenue = self
            .revenue
            .checked_add(other.revenue)
            .ok_or_else(|| anyhow!("revenue in {currency} overflows"))?;
        let cost = self
            .cost
            .checked_add(other.cost)
            .ok_or_else(|| anyhow!("cost in {currency} overflows"))?;
        Ok(Money { revenue, cost })
    }

    fn margin(self, currency: &str) -> Result<Decimal> {
        self.revenue
            .checked_sub(self.cost)
            .ok_or_else(|| anyhow!("margin in {currency} overflows"))
    }
}

/// CSV header of [`UsageAnalysis::write_csv`].
const CSV_HEADER: [&str; 9] = [
    "service",
    "day",
    "currency",
    "sessions",
    "participations",
    "active_minutes",
    "revenue",
    "cost",
    "margin",
];

/// Fill colour of the revenue bars in the chart.
const BAR: RGBColor = RGBColor(70, 130, 180);
const FONT: &str = "sans-serif";
/// Chart title.
const TITLE: &str = "Revenue per service";

impl UsageAnalysis {
    /// Adds one priced session. On error (an overflowing count or amount, or
    /// an empty currency code) the analysis is left unchanged.
    pub fn add(&mut self, s: &SessionUsage<'_>) -> Result<()> {
        // Sum this session's money per currency first: few currencies, so a
        // linear search beats a map.
        let mut money: Vec<(&str, Money)> = Vec::with_capacity(1);
        let entries = s
            .revenue
            .iter()
            .map(|(c, a)| {
                (
                    c.as_str(),
                    Money {
                        revenue: *a,
                        cost: Decimal::ZERO,
                    },
                )
            })
            .chain(s.cost.iter().map(|(c, a)| {
                (
                    c.as_str(),
                    Money {
                        revenue: Decimal::ZERO,
                        cost: *a,
                    },
                )
            }));
        for (currency, amount) in entries {
            ensure!(
                !currency.is_empty(),
                "service {}: an amount without a currency",
                s.service
            );
            match money.iter_mut().find(|(c, _)| *c == currency) {
                Some((_, m)) => *m = m.checked_add(amount, currency)?,
                None => money.push((currency, amount)),
            }
        }

        // Check everything against the current totals before changing any.
        let current = self.services.get(s.service).and_then(|d| d.get(&s.day));
        let overflow = |what: &str| anyhow!("service {} on {}: {what} overflows", s.service, s.day);
        let (sessions, participations, active_seconds) = match current {
            Some(u) => (
                u.sessions
                    .checked_add(1)
                    .ok_or_else(|| overflow("sessions"))?,
                u.participations
                    .checked_add(s.participations)
                    .ok_or_else(|| overflow("participations"))?,
                u.active_seconds
                    .checked_add(s.active_seconds)
                    .ok_or_else(|| overflow("active seconds"))?,
            ),
            None => (1, s.participations, s.active_seconds),
        };
        for (currency, m) in &mut money {
            if let Some(old) = current.and_then(|u| u.money.get(*currency)) {
                *m = old.checked_add(*m, currency)?;
            }
            // Kept representable, so that writing never meets an overflow
            // that adding could have caught.
            m.margin(currency)?;
        }

        // Commit.
        let days = match self.services.get_mut(s.service) {
            Some(days) => days,
            None => self.services.entry(s.service.to_owned()).or_default(),
        };
        let usage = days.entry(s.day).or_default();
        usage.sessions = sessions;
        usage.participations = participations;
        usage.active_seconds = active_seconds;
        for (currency, m) in money {
            match usage.money.get_mut(currency) {
                Some(old) => *old = m,
                None => {
                    usage.money.insert(currency.to_owned(), m);
                }
            }
        }
        Ok(())
    }

    /// Whether no session has been added.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Writes the analysis as CSV with the columns
    /// `service,day,currency,sessions,participations,active_minutes,revenue,cost,margin`.
    ///
    /// There is one row per (service, day, currency), sorted by service, day
    /// and currency. `sessions`, `participations` and `active_minutes` belong
    /// to the (service, day), not to the currency: they are repeated on each
    /// currency row of the same (service, day), so do not add them up across
    /// currencies. A (service, day) without any amount gets one row with an
    /// empty currency and zero amounts.
    ///
    /// `active_minutes` is the active seconds / 60 with two decimals, rounded
    /// half away from zero. Amounts are exact sums, `margin` = revenue − cost.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut out = csv::Writer::from_path(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        self.write_rows(&mut out)
            .and_then(|()| out.flush().map_err(Into::into))
            .with_context(|| format!("cannot write {}", path.display()))
    }

    fn write_rows<W: std::io::Write>(&self, out: &mut csv::Writer<W>) -> Result<()> {
        out.write_record(CSV_HEADER)?;
        let none = [(String::new(), Money::default())];
        for (service, days) in &self.services {
            for (day, u) in days {
                let day = day.to_string();
                let sessions = u.sessions.to_string();
                let participations = u.participations.to_string();
                let minutes = minutes(u.active_seconds)?.to_string();
                let rows: Box<dyn Iterator<Item = (&String, &Money)>> = if u.money.is_empty() {
                    Box::new(none.iter().map(|(c, m)| (c, m)))
                } else {
                    Box::new(u.money.iter())
                };
                for (currency, m) in rows {
                    out.write_record([
                        service.as_str(),
                        &day,
                        currency,
                        &sessions,
                        &participations,
                        &minutes,
                        &amount(m.revenue).to_string(),
                        &amount(m.cost).to_string(),
                        &amount(m.margin(currency)?).to_string(),
                    ])?;
                }
            }
        }
        Ok(())
    }

    /// Total revenue per currency and service over all days.
    fn revenue_totals(&self) -> Result<BTreeMap<&str, BTreeMap<&str, Decimal>>> {
        let mut totals: BTreeMap<&str, BTreeMap<&str, Decimal>> = BTreeMap::new();
        for (service, days) in &self.services {
            for u in days.values() {
                for (currency, m) in &u.money {
                    let t = totals
                        .entry(currency)
                        .or_default()
                        .entry(service)
                        .or_default();
                    *t = t.checked_add(m.revenue).ok_or_else(|| {
                        anyhow!("total revenue of {service} in {currency} overflows")
                    })?;
                }
            }
        }
        Ok(totals)
    }

    /// Writes an SVG bar chart titled "Revenue per service": one panel per
    /// currency (amounts in different currencies share no scale), in it one
    /// bar per service with that currency, its height proportional to the
    /// service's total revenue over all days, labelled with the service's
    /// name and the exact amount. The same analysis gives the same bytes.
    /// An empty analysis gives a chart saying "no sessions"; sessions without
    /// any amount, one saying "no revenue".
    pub fn write_svg(&self, path: &Path) -> Result<()> {
        let svg = self.render_svg()?;
        std::fs::write(path, svg).with_context(|| format!("cannot write {}", path.display()))
    }

    fn render_svg(&self) -> Result<String> {
        let totals = self.revenue_totals()?;
        let widest = totals.values().map(BTreeMap::len).max().unwrap_or(0);
        let size = (
            u32::try_from(widest.saturating_mul(140).saturating_add(160))
                .unwrap_or(u32::MAX)
                .max(640),
            u32::try_from(totals.len().saturating_mul(320).saturating_add(60))
                .unwrap_or(u32::MAX)
                .max(240),
        );
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            root.fill(&WHITE)?;
            let body = root.titled(TITLE, (FONT, 28))?;
            if totals.is_empty() {
                let (w, h) = body.dim_in_pixel();
                let message = if self.is_empty() {
                    "no sessions"
                } else {
                    "no revenue"
                };
                let style = TextStyle::from((FONT, 20)).pos(Pos::new(HPos::Center, VPos::Center));
                body.draw_text(message, &style, (w as i32 / 2, h as i32 / 2))?;
            } else {
                let panels = body.split_evenly((totals.len(), 1));
                for (panel, (currency, services)) in panels.iter().zip(&totals) {
                    draw_panel(panel, currency, services)?;
                }
            }
            root.present()?;
        }
        Ok(svg)
    }
}

/// One currency's bars. Service i occupies x in [10 i, 10 i + 10) and its bar
/// [10 i + 2, 10 i + 8]; integer x so that plotters formats the labels.
fn draw_panel(
    panel: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    currency: &str,
    services: &BTreeMap<&str, Decimal>,
) -> Result<()> {
    let names: Vec<&str> = services.keys().copied().collect();
    let values: Vec<f64> = services
        .values()
        .map(|v| v.to_f64().unwrap_or(0.0))
        .collect();
    let lo = values.iter().copied().fold(0.0, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    // Head room for the amount labels above (and below) the bars.
    let pad = if hi > lo { (hi - lo) * 0.15 } else { 1.0 };
    let lo = if lo < 0.0 { lo - pad } else { 0.0 };
    let hi = if hi > 0.0 || lo == 0.0 { hi + pad } else { 0.0 };
    let slot = |i: usize| i.saturating_mul(10);
    let n = slot(names.len());
    let centres: Vec<usize> = (0..names.len()).map(|i| slot(i) + 5).collect();

    let mut chart = ChartBuilder::on(panel)
        .caption(currency, (FONT, 18))
        .margin(12)
        .x_label_area_size(32)
        .build_cartesian_2d((0..n).with_key_points(centres), lo..hi)?;
    let label = |x: &usize| {
        names
            .get(x / 10)
            .map_or_else(String::new, |s| (*s).to_owned())
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_label_formatter(&label)
        .label_style((FONT, 14))
        .draw()?;
    if lo < 0.0 {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0, 0.0), (n, 0.0)],
            BLACK,
        )))?;
    }
    chart.draw_series(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Rectangle::new([(slot(i) + 2, 0.0), (slot(i) + 8, *v)], BAR.filled())),
    )?;
    chart.draw_series(
        services
            .values()
            .zip(&values)
            .enumerate()
            .map(|(i, (a, v))| {
                let v_pos = if *v < 0.0 { VPos::Top } else { VPos::Bottom };
                let style = TextStyle::from((FONT, 14)).pos(Pos::new(HPos::Center, v_pos));
                Text::new(
                    format!("{} {currency}", amount(*a)),
                    (slot(i) + 5, *v),
                    style,
                )
            }),
    )?;
    Ok(())
}

/// Active minutes, two decimals, half away from zero.
fn minutes(seconds: u64) -> Result<Decimal> {
    let mut m = Decimal::from(seconds)
        .checked_div(Decimal::from(60))
        .ok_or_else(|| anyhow!("active minutes overflow"))?
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    m.rescale(2);
    Ok(m)
}

/// An amount as written: exact, and never "-0".
fn amount(mut d: Decimal) -> Decimal {
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn money(entries: &[(&str, &str)]) -> Vec<(SdrText, Decimal)> {
        entries
            .iter()
            .map(|(c, a)| (SdrText::from(*c), a.parse().unwrap()))
            .collect()
    }

    fn add(
        a: &mut UsageAnalysis,
        service: &str,
        d: &str,
        participations: u64,
        active_seconds: u64,
        revenue: &[(&str, &str)],
        cost: &[(&str, &str)],
    ) -> Result<()> {
        a.add(&SessionUsage {
            service,
            day: day(d),
            participations,
            active_seconds,
            revenue: &money(revenue),
            cost: &money(cost),
        })
    }

    fn csv_text(a: &UsageAnalysis) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.csv");
        a.write_csv(&path).unwrap();
        std::fs::read_to_string(path).unwrap()
    }

    fn svg_text(a: &UsageAnalysis) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.svg");
        a.write_svg(&path).unwrap();
        std::fs::read_to_string(path).unwrap()
    }

    /// Two services over two days in SEK and EUR.
    fn sample() -> UsageAnalysis {
        let mut a = UsageAnalysis::default();
        let v = "voice";
        add(
            &mut a,
            v,
            "2026-11-21",
            2,
            150,
            &[("SEK", "12.50"), ("SEK", "7.25")],
            &[("SEK", "5.00")],
        )
        .unwrap();
        add(
            &mut a,
            v,
            "2026-11-21",
            3,
            200,
            &[("SEK", "1.10"), ("EUR", "0.40")],
            &[("EUR", "0.15")],
        )
        .unwrap();
        add(&mut a, v, "2026-11-22", 1, 100, &[("SEK", "3")], &[]).unwrap();
        add(
            &mut a,
            "data",
            "2026-11-22",
            2,
            61,
            &[("EUR", "2.00"), ("EUR", "0.5")],
            &[("EUR", "1.25"), ("SEK", "0.30")],
        )
        .unwrap();
        add(&mut a, "data", "2026-11-21", 1, 0, &[], &[]).unwrap();
        add(&mut a, "data", "2026-11-22", 4, 3601, &[("EUR", "1")], &[]).unwrap();
        a
    }

    #[test]
    fn csv_per_service_day_and_currency() {
        let a = sample();
        assert!(!a.is_empty());
        // data 11-22: 61 + 3601 = 3662 s = 61.0333 min; EUR 2.00 + 0.5 + 1
        // = 3.50 less 1.25; SEK only a cost. voice 11-21: 350 s = 5.8333
        // min; SEK 12.50 + 7.25 + 1.10 = 20.85 less 5.00. voice 11-22:
        // 100 s = 1.6667 min.
        let expected = "\
service,day,currency,sessions,participations,active_minutes,revenue,cost,margin
data,2026-11-21,,1,1,0.00,0,0,0
data,2026-11-22,EUR,2,6,61.03,3.50,1.25,2.25
data,2026-11-22,SEK,2,6,61.03,0,0.30,-0.30
voice,2026-11-21,EUR,2,5,5.83,0.40,0.15,0.25
voice,2026-11-21,SEK,2,5,5.83,20.85,5.00,15.85
voice,2026-11-22,SEK,1,1,1.67,3,0,3
";
        assert_eq!(csv_text(&a), expected);
    }

    #[test]
    fn empty_analysis_writes_only_the_header() {
        let a = UsageAnalysis::default();
        assert!(a.is_empty());
        assert_eq!(
            csv_text(&a),
            "service,day,currency,sessions,participations,active_minutes,revenue,cost,margin\n"
        );
    }

    #[test]
    fn margin_is_negative_when_cost_exceeds_revenue() {
        let mut a = UsageAnalysis::default();
        add(
            &mut a,
            "conf",
            "2026-01-05",
            3,
            90,
            &[("SEK", "4.00")],
            &[("SEK", "6.50")],
        )
        .unwrap();
        assert_eq!(
            csv_text(&a).lines().nth(1),
            Some("conf,2026-01-05,SEK,1,3,1.50,4.00,6.50,-2.50")
        );
    }

    #[test]
    fn overflow_is_an_error_and_changes_nothing() {
        let max = Decimal::MAX.to_string();
        let mut a = UsageAnalysis::default();
        add(&mut a, "s", "2026-01-01", 1, 60, &[("SEK", &max)], &[]).unwrap();
        let before = csv_text(&a);

        // Revenue across sessions.
        let e = add(&mut a, "s", "2026-01-01", 1, 60, &[("SEK", "1")], &[]).unwrap_err();
        assert!(e.to_string().contains("revenue in SEK overflows"), "{e}");
        // Revenue within one session.
        let e = add(
            &mut a,
            "t",
            "2026-01-01",
            1,
            60,
            &[("SEK", &max), ("SEK", &max)],
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("overflows"), "{e}");
        // A margin that cannot be represented.
        let e = add(&mut a, "s", "2026-01-01", 1, 60, &[], &[("SEK", "-1")]).unwrap_err();
        assert!(e.to_string().contains("margin in SEK overflows"), "{e}");
        // Counts.
        let e = add(&mut a, "s", "2026-01-01", u64::MAX, 0, &[], &[]).unwrap_err();
        assert!(e.to_string().contains("participations overflows"), "{e}");
        let e = add(&mut a, "s", "2026-01-01", 0, u64::MAX, &[], &[]).unwrap_err();
        assert!(e.to_string().contains("active seconds overflows"), "{e}");
        // Total revenue of a service over days, summed for the chart.
        add(&mut a, "s", "2026-01-02", 1, 60, &[("SEK", "1")], &[]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let e = a.write_svg(&dir.path().join("x.svg")).unwrap_err();
        assert!(e.to_string().contains("total revenue of s in SEK"), "{e}");

        // The failed sessions left no trace.
        let after = csv_text(&a);
        assert_eq!(
            after.lines().take(2).collect::<Vec<_>>(),
            before.lines().collect::<Vec<_>>()
        );
        assert_eq!(after.lines().count(), 3);
    }

    #[test]
    fn amounts_need_a_currency() {
        let mut a = UsageAnalysis::default();
        assert!(add(&mut a, "s", "2026-01-01", 1, 1, &[("", "1")], &[]).is_err());
        assert!(a.is_empty());
    }

    /// The `<rect>` elements drawn as bars, as (y, height).
    fn bars(svg: &str) -> Vec<(i64, i64)> {
        let attr = |tag: &str, name: &str| -> i64 {
            let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            let len = tag[start..].find('"').unwrap();
            tag[start..start + len].parse().unwrap()
        };
        svg.split("<rect")
            .skip(1)
            .map(|t| &t[..t.find("/>").unwrap()])
            .filter(|t| t.contains("fill=\"#4682B4\""))
            .map(|t| (attr(t, "y"), attr(t, "height")))
            .collect()
    }

    /// The contents of the `<text>` elements.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .map(|t| {
                let body = &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()];
                body.trim().to_owned()
            })
            .collect()
    }

    #[test]
    fn svg_bars_are_proportional_to_revenue() {
        let mut a = UsageAnalysis::default();
        add(
            &mut a,
            "video",
            "2026-02-01",
            2,
            60,
            &[("SEK", "300.00")],
            &[("SEK", "10")],
        )
        .unwrap();
        add(
            &mut a,
            "audio",
            "2026-02-01",
            2,
            60,
            &[("SEK", "60.00")],
            &[],
        )
        .unwrap();
        add(&mut a, "audio", "2026-02-02", 2, 60, &[("SEK", "40")], &[]).unwrap();
        let svg = svg_text(&a);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        let b = bars(&svg);
        assert_eq!(b.len(), 2, "{svg}");
        // Services in name order: audio 100.00, video 300.00, same baseline.
        let (audio, video) = (b[0], b[1]);
        assert_eq!(audio.0 + audio.1, video.0 + video.1);
        let ratio = video.1 as f64 / audio.1 as f64;
        assert!((ratio - 3.0).abs() < 0.05, "{ratio} in {svg}");
        let t = texts(&svg);
        for label in [
            "Revenue per service",
            "SEK",
            "audio",
            "video",
            "100.00 SEK",
            "300.00 SEK",
        ] {
            assert!(t.iter().any(|s| s == label), "{label} not in {t:?}");
        }
    }

    #[test]
    fn svg_has_a_bar_per_service_and_currency_and_is_deterministic() {
        let a = sample();
        let svg = svg_text(&a);
        // EUR: data 3.50, voice 0.40; SEK: data 0 (only a cost), voice 23.85.
        assert_eq!(bars(&svg).len(), 4, "{svg}");
        let t = texts(&svg);
        for label in [
            "EUR",
            "SEK",
            "data",
            "voice",
            "3.50 EUR",
            "0.40 EUR",
            "0 SEK",
            "23.85 SEK",
        ] {
            assert!(t.iter().any(|s| s == label), "{label} not in {t:?}");
        }
        assert_eq!(svg, svg_text(&sample()));
    }

    #[test]
    fn svg_of_nothing_says_so() {
        let svg = svg_text(&UsageAnalysis::default());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(texts(&svg).iter().any(|s| s == "no sessions"), "{svg}");
        assert!(bars(&svg).is_empty());

        let mut a = UsageAnalysis::default();
        add(&mut a, "s", "2026-01-01", 1, 1, &[], &[]).unwrap();
        assert!(texts(&svg_text(&a)).iter().any(|s| s == "no revenue"));
    }

    #[test]
    fn negative_revenue_draws_down_from_the_baseline() {
        let mut a = UsageAnalysis::default();
        add(&mut a, "credit", "2026-03-01", 1, 1, &[("EUR", "-2")], &[]).unwrap();
        add(&mut a, "sale", "2026-03-01", 1, 1, &[("EUR", "4")], &[]).unwrap();
        let svg = svg_text(&a);
        let b = bars(&svg);
        assert_eq!(b.len(), 2);
        let (credit, sale) = (b[0], b[1]);
        // The credit bar starts where the sale bar ends: at zero.
        assert_eq!(credit.0, sale.0 + sale.1);
        let ratio = sale.1 as f64 / credit.1 as f64;
        assert!((ratio - 2.0).abs() < 0.05, "{ratio}");
        assert!(texts(&svg).iter().any(|s| s == "-2 EUR"));
    }
}
