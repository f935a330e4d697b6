//! The network cost reports of a run with `--network-costs`
//! (docs/network-costs.md):
//!
//! - `network-cost-lines.csv`: one row per network hop of every billed
//!   SDR, streamed in input order as the writer files the SDR (nothing
//!   kept per record): which SDR, which provider, network and switching
//!   element, the hop's duration and capacity, the list and revision that
//!   costed it and the cost, or why it has none;
//! - `network-costs-by-session.csv`: one row per service use session (a
//!   billed SDR) and currency: its hops, those without a list, and its
//!   network cost, streamed as the SDR is filed;
//! - `network-costs.csv`: per network provider, type of network, service,
//!   UTC day of the hop's start and currency: hops, seconds, capacity and
//!   cost, to check the provider's invoice against. Hops without a list
//!   have their own rows, with an empty currency;
//! - `production-costs.csv`: per marketing company, service, day of use
//!   and currency: network cost, refinement cost, profit margin and
//!   production cost, what the service producing company invoices the
//!   marketing company;
//! - `margins.csv`: the usage analysis's revenue against its third-party
//!   cost and the network cost, per day of use, service and currency.
//!
//! **Why a separate `margins.csv`** rather than columns of `usage.csv`:
//! the usage analysis's `cost` and `margin` already mean third-party cost
//! (the cost lists of sessions), and its columns are read by position by
//! the chart and by whoever loads the file; columns that appear only with
//! an option would give one file two shapes. A file of its own keeps
//! `usage.csv` one shape, byte for byte as without network costing.
//!
//! **Bounded memory.** The aggregates are keyed by provider, network,
//! service, day and currency (and marketing company, service, day and
//! currency): they grow with days × providers × services, never with the
//! number of records; hop rows are written as they come.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::rate::NetworkCost;
use crate::sdr::Text;
use crate::write::names;
use crate::write::usage::UsageAnalysis;

pub const LINE_COLUMNS: [&str; 17] = [
    "producer",
    "sdr_identifier",
    "service",
    "provider",
    "network",
    "element",
    "start",
    "seconds",
    "capacity",
    "list",
    "revision",
    "charged_seconds",
    "charged_units",
    "currency",
    "cost",
    "status",
    "reason",
];

pub const SESSION_COLUMNS: [&str; 7] = [
    "producer",
    "sdr_identifier",
    "service",
    "hops",
    "hops_without_list",
    "currency",
    "cost",
];

pub const COST_COLUMNS: [&str; 12] = [
    "provider",
    "network",
    "service",
    "day",
    "currency",
    "hops",
    "hops_without_list",
    "seconds",
    "charged_seconds",
    "capacity",
    "charged_units",
    "cost",
];

pub const PRODUCTION_COLUMNS: [&str; 10] = [
    "marketing_company",
    "service",
    "day",
    "currency",
    "usage_modules",
    "network_cost",
    "refinement_cost",
    "profit_margin",
    "production_cost",
    "terms",
];

pub const MARGIN_COLUMNS: [&str; 7] = [
    "day",
    "service",
    "currency",
    "revenue",
    "third_party_cost",
    "network_cost",
    "margin",
];

#[derive(Debug, Default, Clone, Copy)]
struct CostRow {
    hops: u64,
    without_list: u64,
    seconds: u64,
    charged_seconds: u64,
    capacity: u64,
    charged_units: u64,
    cost: Decimal,
}

#[derive(Debug, Default, Clone, Copy)]
struct ProductionRow {
    usage_modules: u64,
    network: Decimal,
    refinement: Decimal,
    margin: Decimal,
    production: Decimal,
    /// Usage modules priced without terms for their marketing company.
    without_terms: u64,
}

/// The `network_costs` block of summary.json.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkSummary {
    /// Network cost lists loaded.
    pub lists: usize,
    /// Hops of billed SDRs, costed or not.
    pub hops: u64,
    pub hops_costed: u64,
    /// Hops no list covers (or whose list cannot cost them), by provider
    /// and network (`provider/network`).
    pub hops_without_list: u64,
    pub without_list: BTreeMap<String, u64>,
    /// Cost of the costed hops, per currency (exact sums of rounded costs).
    pub cost: BTreeMap<String, String>,
    /// Production cost per currency and marketing company.
    pub production_cost: BTreeMap<String, BTreeMap<String, String>>,
    /// Usage modules whose marketing company has no production terms: their
    /// production cost is their network cost.
    pub usage_modules_without_terms: u64,
}

type CostKey = (Text, Text, Text, NaiveDate, Text);
type ProductionKey = (Text, Text, NaiveDate, Text);

/// The reports of one run, filled by the writer in input order.
pub struct NetworkReports {
    lines: csv::Writer<BufWriter<File>>,
    sessions: csv::Writer<BufWriter<File>>,
    costs: BTreeMap<CostKey, CostRow>,
    production: BTreeMap<ProductionKey, ProductionRow>,
    summary: NetworkSummary,
}

fn overflow() -> anyhow::Error {
    anyhow!("network cost totals overflow")
}

fn add(a: &mut Decimal, b: Decimal) -> Result<()> {
    *a = a.checked_add(b).ok_or_else(overflow)?;
    Ok(())
}

impl NetworkReports {
    /// Opens `network-cost-lines.csv` in `dir`; `lists` is the number of
    /// lists loaded, for the summary.
    pub fn create(dir: &Path, lists: usize) -> Result<Self> {
        let path = dir.join(names::NETWORK_COST_LINES);
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut lines = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file));
        lines
            .write_record(LINE_COLUMNS)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let path = dir.join(names::NETWORK_COSTS_BY_SESSION);
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut sessions = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file));
        sessions
            .write_record(SESSION_COLUMNS)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(NetworkReports {
            lines,
            sessions,
            costs: BTreeMap::new(),
            production: BTreeMap::new(),
            summary: NetworkSummary {
                lists,
                ..NetworkSummary::default()
            },
        })
    }

    /// Files the network cost of one billed SDR: its hop rows, and its
    /// share of every aggregate. Every sum is checked: an overflow ends the
    /// run with an error rather than write a wrong total.
    pub fn add(&mut self, n: &NetworkCost) -> Result<()> {
        let s = &mut self.summary;
        for hop in &n.hops {
            s.hops += 1;
            let (currency, status, reason) = match &hop.costed {
                Ok(c) => (c.currency.clone(), "costed", ""),
                Err(why) => (Text::default(), "noList", why.as_str()),
            };
            let row = self
                .costs
                .entry((
                    hop.provider.clone(),
                    hop.network.clone(),
                    hop.service.clone(),
                    hop.day,
                    currency,
                ))
                .or_default();
            row.hops += 1;
            row.seconds = row.seconds.checked_add(hop.seconds).ok_or_else(overflow)?;
            row.capacity = row
                .capacity
                .checked_add(hop.capacity.unwrap_or(0))
                .ok_or_else(overflow)?;
            let (list, revision, charged_seconds, charged_units, currency, cost) = match &hop.costed
            {
                Ok(c) => {
                    s.hops_costed += 1;
                    row.charged_seconds = row
                        .charged_seconds
                        .checked_add(c.charged_seconds)
                        .ok_or_else(overflow)?;
                    row.charged_units = row
                        .charged_units
                        .checked_add(c.charged_units)
                        .ok_or_else(overflow)?;
                    add(&mut row.cost, c.cost)?;
                    (
                        c.list.to_string(),
                        c.revision.to_string(),
                        c.charged_seconds.to_string(),
                        c.charged_units.to_string(),
                        c.currency.to_string(),
                        c.cost.to_string(),
                    )
                }
                Err(_) => {
                    s.hops_without_list += 1;
                    row.without_list += 1;
                    *s.without_list
                        .entry(format!("{}/{}", hop.provider, hop.network))
                        .or_default() += 1;
                    Default::default()
                }
            };
            self.lines.write_record([
                n.producer.as_str(),
                &n.sdr_identifier.to_string(),
                hop.service.as_str(),
                hop.provider.as_str(),
                hop.network.as_str(),
                hop.element.as_deref().unwrap_or(""),
                &hop.start.rfc3339(),
                &hop.seconds.to_string(),
                &hop.capacity.map(|c| c.to_string()).unwrap_or_default(),
                &list,
                &revision,
                &charged_seconds,
                &charged_units,
                &currency,
                &cost,
                status,
                reason,
            ])?;
        }
        // The session's cost per currency (nearly always one), in the
        // order the currencies first appear; hops without a list count
        // on the first row (or on a row of their own when none is costed).
        let mut per_currency: Vec<(Text, u64, Decimal)> = Vec::new();
        let mut without = 0u64;
        let mut service = Text::default();
        for hop in &n.hops {
            service = hop.service.clone();
            match &hop.costed {
                Ok(c) => match per_currency.iter_mut().find(|(cur, ..)| *cur == c.currency) {
                    Some((_, hops, cost)) => {
                        *hops += 1;
                        add(cost, c.cost)?;
                    }
                    None => per_currency.push((c.currency.clone(), 1, c.cost)),
                },
                Err(_) => without += 1,
            }
        }
        if per_currency.is_empty() && without > 0 {
            per_currency.push((Text::default(), 0, Decimal::ZERO));
        }
        for (i, (currency, hops, cost)) in per_currency.iter().enumerate() {
            let without = if i == 0 { without } else { 0 };
            let cost = if currency.is_empty() {
                String::new()
            } else {
                cost.to_string()
            };
            self.sessions.write_record([
                n.producer.as_str(),
                &n.sdr_identifier.to_string(),
                service.as_str(),
                &(hops + without).to_string(),
                &without.to_string(),
                currency.as_str(),
                &cost,
            ])?;
        }
        for p in &n.production {
            let row = self
                .production
                .entry((
                    p.marketing_company.clone(),
                    p.service.clone(),
                    p.day,
                    p.currency.clone(),
                ))
                .or_default();
            row.usage_modules += 1;
            add(&mut row.network, p.cost.network)?;
            add(&mut row.refinement, p.cost.refinement)?;
            add(&mut row.margin, p.cost.margin)?;
            add(&mut row.production, p.cost.production)?;
            if !p.terms {
                row.without_terms += 1;
                s.usage_modules_without_terms += 1;
            }
        }
        Ok(())
    }

    /// Writes the aggregates and margins into `dir` and returns the
    /// summary block.
    pub fn finish(mut self, dir: &Path, usage: &UsageAnalysis) -> Result<NetworkSummary> {
        let lines = dir.join(names::NETWORK_COST_LINES);
        self.lines
            .flush()
            .with_context(|| format!("cannot write {}", lines.display()))?;
        let sessions = dir.join(names::NETWORK_COSTS_BY_SESSION);
        self.sessions
            .flush()
            .with_context(|| format!("cannot write {}", sessions.display()))?;
        let mut s = self.summary;
        // Totals from the aggregates: one pass, not per hop.
        let mut cost: BTreeMap<String, Decimal> = BTreeMap::new();
        write_csv(&dir.join(names::NETWORK_COSTS), &COST_COLUMNS, |w| {
            for ((provider, network, service, day, currency), r) in &self.costs {
                if !currency.is_empty() {
                    add(cost.entry(currency.to_string()).or_default(), r.cost)?;
                }
                w.write_record([
                    provider.as_str(),
                    network,
                    service,
                    &day.to_string(),
                    currency,
                    &r.hops.to_string(),
                    &r.without_list.to_string(),
                    &r.seconds.to_string(),
                    &r.charged_seconds.to_string(),
                    &r.capacity.to_string(),
                    &r.charged_units.to_string(),
                    &if currency.is_empty() {
                        String::new()
                    } else {
                        r.cost.to_string()
                    },
                ])?;
            }
            Ok(())
        })?;
        s.cost = cost.into_iter().map(|(c, d)| (c, d.to_string())).collect();
        let mut production: BTreeMap<String, BTreeMap<String, Decimal>> = BTreeMap::new();
        // Network cost per (day, service, currency), for the margins.
        let mut network_by_use: BTreeMap<(NaiveDate, Text, Text), Decimal> = BTreeMap::new();
        write_csv(
            &dir.join(names::PRODUCTION_COSTS),
            &PRODUCTION_COLUMNS,
            |w| {
                for ((company, service, day, currency), r) in &self.production {
                    add(
                        production
                            .entry(currency.to_string())
                            .or_default()
                            .entry(company.to_string())
                            .or_default(),
                        r.production,
                    )?;
                    add(
                        network_by_use
                            .entry((*day, service.clone(), currency.clone()))
                            .or_default(),
                        r.network,
                    )?;
                    w.write_record([
                        company.as_str(),
                        service,
                        &day.to_string(),
                        currency,
                        &r.usage_modules.to_string(),
                        &r.network.to_string(),
                        &r.refinement.to_string(),
                        &r.margin.to_string(),
                        &r.production.to_string(),
                        if r.without_terms == 0 {
                            "yes"
                        } else if r.without_terms == r.usage_modules {
                            "none"
                        } else {
                            "some"
                        },
                    ])?;
                }
                Ok(())
            },
        )?;
        s.production_cost = production
            .into_iter()
            .map(|(c, by)| (c, by.into_iter().map(|(m, d)| (m, d.to_string())).collect()))
            .collect();
        // Every row of the usage analysis, and network cost where nothing
        // was billed (a currency the customers were not billed in).
        let mut margins: BTreeMap<(NaiveDate, Text, Text), (Decimal, Decimal, Decimal)> =
            BTreeMap::new();
        for (day, service, currency, revenue, cost) in usage.rows() {
            let m = margins
                .entry((day, Text::from(service), Text::from(currency)))
                .or_default();
            m.0 = revenue;
            m.1 = cost;
        }
        for (key, network) in network_by_use {
            margins.entry(key).or_default().2 = network;
        }
        write_csv(&dir.join(names::MARGINS), &MARGIN_COLUMNS, |w| {
            for ((day, service, currency), (revenue, third, network)) in &margins {
                let margin = revenue
                    .checked_sub(*third)
                    .and_then(|m| m.checked_sub(*network))
                    .ok_or_else(overflow)?;
                w.write_record([
                    day.to_string().as_str(),
                    service,
                    currency,
                    &revenue.to_string(),
                    &third.to_string(),
                    &network.to_string(),
                    &margin.to_string(),
                ])?;
            }
            Ok(())
        })?;
        Ok(s)
    }
}

fn write_csv(
    path: &Path,
    header: &[&str],
    rows: impl FnOnce(&mut csv::Writer<File>) -> Result<()>,
) -> Result<()> {
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    w.write_record(header)
        .map_err(anyhow::Error::from)
        .and_then(|()| rows(&mut w))
        .and_then(|()| w.flush().map_err(Into::into))
        .with_context(|| format!("cannot write {}", path.display()))
}
