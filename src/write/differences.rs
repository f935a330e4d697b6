//! The difference report of `sdrate rerate`: one row per record read with
//! its old and new individual price (`differences.csv`), and old against
//! new totals per currency, customer, marketing company and service
//! (`difference-totals.csv`).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::group::Position;
use crate::reprice::{Facts, Side};
use crate::write::names;

/// Columns of `differences.csv`.
pub const DIFFERENCE_COLUMNS: [&str; 16] = [
    "file",
    "offset",
    "sdr_identifier",
    "producer",
    "customer",
    "marketing_company",
    "service",
    "currency",
    "old_individual_price",
    "new_individual_price",
    "difference",
    "old_price_table",
    "new_price_table",
    "outcome",
    "status",
    "cause",
];

/// Columns of `difference-totals.csv`.
pub const TOTAL_COLUMNS: [&str; 7] = [
    "dimension",
    "key",
    "currency",
    "sdrs",
    "old",
    "new",
    "difference",
];

#[derive(Debug, Default, Serialize, PartialEq, Eq, Clone, Copy)]
pub struct Change {
    #[serde(with = "rust_decimal::serde::str")]
    pub old: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub new: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub difference: Decimal,
}

/// Old and new money of one (dimension, key, currency).
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    sdrs: u64,
    old: Decimal,
    new: Decimal,
}

type ByKey = BTreeMap<String, BTreeMap<String, Sums>>;

/// The difference totals, per dimension (in the order they are written,
/// which is sorted by name), key and currency.
#[derive(Debug, Default)]
pub struct Totals {
    currency: ByKey,
    customer: ByKey,
    marketing_company: ByKey,
    service: ByKey,
}

fn overflow(what: &str, key: &str, currency: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the {what} total of {currency} for `{key}` exceeds what an exact decimal holds"
    )
}

/// The sums of `key` and `currency`, created on first use; keys are
/// allocated once per run, not once per SDR.
fn slot<'m>(m: &'m mut ByKey, key: &str, currency: &str) -> &'m mut Sums {
    if !m.contains_key(key) {
        m.insert(key.to_owned(), BTreeMap::new());
    }
    let by_currency = m.get_mut(key).expect("inserted above");
    if !by_currency.contains_key(currency) {
        by_currency.insert(currency.to_owned(), Sums::default());
    }
    by_currency.get_mut(currency).expect("inserted above")
}

impl Totals {
    /// Adds one SDR: its old price (if any) and its new price (if any).
    /// An SDR counts once in a row; with old and new in two currencies,
    /// once in each currency's row.
    pub fn add(&mut self, facts: &Facts, old: Option<&Side>, new: Option<&Side>) -> Result<()> {
        let same_currency = matches!((old, new), (Some(o), Some(n)) if o.currency == n.currency);
        for (side, is_old) in [(old, true), (new, false)] {
            let Some(side) = side else { continue };
            let cur = side.currency.as_str();
            for (m, key) in [
                (&mut self.currency, cur),
                (&mut self.customer, facts.customer.as_str()),
                (
                    &mut self.marketing_company,
                    facts.marketing_company.as_str(),
                ),
                (&mut self.service, facts.service.as_str()),
            ] {
                let s = slot(m, key, cur);
                if is_old {
                    s.sdrs += 1;
                    s.old = s
                        .old
                        .checked_add(side.individual)
                        .ok_or_else(|| overflow("old", key, cur))?;
                } else {
                    if !same_currency {
                        s.sdrs += 1;
                    }
                    s.new = s
                        .new
                        .checked_add(side.individual)
                        .ok_or_else(|| overflow("new", key, cur))?;
                }
            }
        }
        Ok(())
    }

    fn dimensions(&self) -> [(&'static str, &ByKey); 4] {
        [
            ("currency", &self.currency),
            ("customer", &self.customer),
            ("marketing_company", &self.marketing_company),
            ("service", &self.service),
        ]
    }

    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let err = || format!("cannot write {}", path.display());
        let mut w = csv::Writer::from_path(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        w.write_record(TOTAL_COLUMNS).with_context(err)?;
        for (dimension, by_key) in self.dimensions() {
            for (key, by_currency) in by_key {
                for (currency, s) in by_currency {
                    let difference = s
                        .new
                        .checked_sub(s.old)
                        .ok_or_else(|| overflow("difference", key, currency))?;
                    w.write_record([
                        dimension,
                        key,
                        currency,
                        &s.sdrs.to_string(),
                        &s.old.to_string(),
                        &s.new.to_string(),
                        &difference.to_string(),
                    ])
                    .with_context(err)?;
                }
            }
        }
        w.flush().with_context(err)
    }

    pub fn by_currency(&self) -> Result<BTreeMap<String, Change>> {
        self.currency
            .values()
            .flatten()
            .map(|(currency, s)| {
                let difference = s
                    .new
                    .checked_sub(s.old)
                    .ok_or_else(|| overflow("difference", currency, currency))?;
                Ok((
                    currency.clone(),
                    Change {
                        old: s.old,
                        new: s.new,
                        difference,
                    },
                ))
            })
            .collect()
    }
}

/// Text of an optional amount for the report.
fn amount(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// One row of differences.csv.
pub struct Row<'a> {
    pub file: &'a str,
    /// A byte offset, written as a number; an event-log row's line (a
    /// session known only from event-log rows), written `line N`.
    pub offset: Position,
    pub facts: Option<&'a Facts>,
    pub old: Option<&'a Side>,
    pub new: Option<&'a Side>,
    pub outcome: &'a str,
    pub status: &'a str,
    pub cause: &'a str,
}

impl Row<'_> {
    pub fn write(&self, w: &mut csv::Writer<File>) -> Result<()> {
        let f = self.facts;
        let text = |g: fn(&Facts) -> &str| f.map(g).unwrap_or("");
        let currency = self.new.or(self.old).map_or("", |s| s.currency.as_str());
        // An absent price counts as 0; no difference across currencies.
        let difference = match (self.old, self.new) {
            (Some(o), Some(n)) if o.currency != n.currency => None,
            (None, None) => None,
            (o, n) => {
                let o = o.map_or(Decimal::ZERO, |s| s.individual);
                let n = n.map_or(Decimal::ZERO, |s| s.individual);
                Some(
                    n.checked_sub(o)
                        .ok_or_else(|| overflow("difference", text(|f| &f.customer), currency))?,
                )
            }
        };
        let offset = match self.offset {
            Position::Offset(o) => o.to_string(),
            Position::Line(l) => format!("line {l}"),
        };
        w.write_record([
            self.file,
            &offset,
            &f.and_then(|f| f.sdr_identifier)
                .map(|i| i.to_string())
                .unwrap_or_default(),
            text(|f| &f.producer),
            text(|f| &f.customer),
            text(|f| &f.marketing_company),
            text(|f| &f.service),
            currency,
            &amount(self.old.map(|s| s.individual)),
            &amount(self.new.map(|s| s.individual)),
            &amount(difference),
            self.old.map_or("", |s| s.tables.as_str()),
            self.new.map_or("", |s| s.tables.as_str()),
            self.outcome,
            self.status,
            self.cause,
        ])
        .with_context(|| format!("cannot write {}", names::DIFFERENCES))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reprice::Facts;

    fn side(currency: &str, individual: &str) -> Side {
        Side {
            currency: currency.into(),
            individual: individual.parse().unwrap(),
            tables: String::new(),
        }
    }

    fn facts() -> Facts {
        Facts {
            sdr_identifier: Some(1),
            producer: "p".into(),
            customer: "K1".into(),
            marketing_company: "acme".into(),
            service: "VPN".into(),
        }
    }

    #[test]
    fn totals_count_each_sdr_once_per_row_and_keep_currencies_apart() {
        let mut t = Totals::default();
        let f = facts();
        // Repriced: same currency, one SDR in the row.
        t.add(&f, Some(&side("SEK", "1.25")), Some(&side("SEK", "1.00")))
            .unwrap();
        // Newly priced.
        t.add(&f, None, Some(&side("SEK", "0.50"))).unwrap();
        // Now faults: old only.
        t.add(&f, Some(&side("SEK", "2.00")), None).unwrap();
        // Currency changed: one SDR in each currency's row.
        t.add(&f, Some(&side("SEK", "3.00")), Some(&side("EUR", "0.30")))
            .unwrap();
        let sek = t.currency["SEK"]["SEK"];
        assert_eq!(sek.sdrs, 4);
        assert_eq!(sek.old, "6.25".parse().unwrap());
        assert_eq!(sek.new, "1.50".parse().unwrap());
        let eur = t.customer["K1"]["EUR"];
        assert_eq!(
            (eur.sdrs, eur.old, eur.new),
            (1, Decimal::ZERO, "0.30".parse().unwrap())
        );
        let by = t.by_currency().unwrap();
        assert_eq!(by["SEK"].difference, "-4.75".parse().unwrap());
        assert_eq!(by["EUR"].difference, "0.30".parse().unwrap());
    }

    #[test]
    fn overflowing_totals_are_an_error_not_a_panic() {
        let mut t = Totals::default();
        let f = facts();
        t.add(&f, None, Some(&side("SEK", &Decimal::MAX.to_string())))
            .unwrap();
        assert!(
            t.add(&f, None, Some(&side("SEK", "1")))
                .unwrap_err()
                .to_string()
                .contains("exceeds")
        );
    }
}
