//! The run's money and usage accounting, summed by the threads that price
//! rather than by the writer.
//!
//! Every billed SDR and priced session adds to the run totals (currency,
//! marketing company) and to the usage analysis (day, service, currency).
//! Done by the writer, one thread in input order, that was about 1,200
//! instructions a billed SDR and 13,000 a priced session (callgrind, 20 k
//! mix: 7.7 % of a run, all of it serial, and serial work is what keeps a
//! run from scaling with threads). Only the writer knows what is billed
//! (the duplicate check decides in input order), so it only sets billed
//! SDRs aside (the worker's box, a pointer); after the block the threads
//! sum them in slices ([`Ledger`]), and free them, and the writer settles
//! one short ledger.
//! Sums are exact decimals, so neither the order nor the slicing changes a
//! digit: output is byte-identical to adding them one by one.

use anyhow::Result;
use rayon::prelude::*;
use rust_decimal::Decimal;

use super::summary::{Money, Summary};
use crate::price::session::PricedSession;
use crate::rate::Totals;
use crate::sdr::Text;
use crate::write::usage::{Participation, SessionUsage, UsageAnalysis, UsageSums};

/// Billed SDRs a thread sums at least: few enough that a block splits
/// across threads.
const SLICE: usize = 256;

/// Totals and usage of some billed SDRs and sessions.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    totals: Vec<(Text, Text, Money)>,
    usage: UsageSums,
}

impl Ledger {
    /// One billed SDR.
    pub fn bill(&mut self, t: &Totals) -> Result<()> {
        add_money(
            &mut self.totals,
            &t.currency,
            &t.marketing_company,
            t.basic,
            t.individual,
        )?;
        self.usage.add_record(t)
    }

    /// One billed session: each participation's money, and its usage.
    pub fn bill_session(&mut self, priced: &PricedSession) -> Result<()> {
        let mut usage = Vec::with_capacity(priced.participations.len());
        for p in &priced.participations {
            add_money(
                &mut self.totals,
                &p.currency,
                &p.marketing_company,
                p.basic,
                p.individual,
            )?;
            usage.push(Participation {
                currency: p.currency.clone(),
                active_seconds: p.part.active_seconds(),
                basic: p.basic,
                individual: p.individual,
            });
        }
        let cost: Vec<(Text, Decimal)> = priced
            .costs
            .iter()
            .map(|c| (Text::from(c.currency.as_str()), c.amount))
            .collect();
        self.usage.add_session(&SessionUsage {
            service: &priced.facts.service,
            day: priced.facts.start.0.naive_utc().date(),
            participations: &usage,
            cost: &cost,
        })
    }

    /// Adds one slice, on a worker thread. Not inlined: the serial-share
    /// benchmark (`benches/serial.sh`) tells the threads' work from the
    /// writer's by this name.
    #[inline(never)]
    fn sum_into<T>(
        mut self,
        slice: &[T],
        add: impl Fn(&mut Ledger, &T) -> Result<()>,
    ) -> Result<Ledger> {
        for item in slice {
            add(&mut self, item)?;
        }
        Ok(self)
    }

    fn merge(&mut self, other: Ledger) -> Result<()> {
        // Rayon's reduction starts from an empty ledger: taken whole, its
        // rows in the same order as added one by one.
        if self.totals.is_empty() && self.usage.is_empty() {
            *self = other;
            return Ok(());
        }
        for (currency, company, m) in &other.totals {
            add_money(&mut self.totals, currency, company, m.basic, m.individual)?;
        }
        self.usage.merge(other.usage)
    }

    /// Adds this ledger to the run's totals and usage analysis.
    pub fn settle(self, summary: &mut Summary, usage: &mut UsageAnalysis) -> Result<()> {
        for (currency, company, m) in &self.totals {
            add_money(
                &mut summary.running,
                currency,
                company,
                m.basic,
                m.individual,
            )?;
        }
        usage.merge(self.usage)
    }

    /// The ledger of `items`, summed in parallel slices by `add`. Each
    /// thread's run of slices adds to one ledger, and only those are
    /// merged: merging a ledger per slice was 6 % of the writer's work on
    /// the mix (callgrind, `benches/serial.sh`), and is now one merge per
    /// piece rayon splits the items into.
    pub fn of<T: Sync>(
        items: &[T],
        add: impl Fn(&mut Ledger, &T) -> Result<()> + Sync,
    ) -> Result<Ledger> {
        items
            .par_chunks(SLICE)
            .try_fold(Ledger::default, |l, slice| l.sum_into(slice, &add))
            .try_reduce(Ledger::default, |mut a, b| {
                a.merge(b)?;
                Ok(a)
            })
    }
}

/// Adds a basic and an individual amount to their (currency, marketing
/// company) total: a handful of entries, searched in order.
pub(super) fn add_money(
    totals: &mut Vec<(Text, Text, Money)>,
    currency: &Text,
    company: &Text,
    basic: Decimal,
    individual: Decimal,
) -> Result<()> {
    let overflow = || {
        anyhow::anyhow!(
            "the run total of {currency} for {company} exceeds what an exact decimal holds"
        )
    };
    let m = match totals
        .iter_mut()
        .position(|(c, m, _)| c == currency && m == company)
    {
        Some(i) => &mut totals[i].2,
        None => {
            totals.push((currency.clone(), company.clone(), Money::default()));
            &mut totals.last_mut().expect("pushed").2
        }
    };
    m.basic = m.basic.checked_add(basic).ok_or_else(overflow)?;
    m.individual = m.individual.checked_add(individual).ok_or_else(overflow)?;
    Ok(())
}
