//! Priced records for analytics: one row per priced usage module and one
//! per priced participation, for DuckDB, Spark or a warehouse
//! (`--export jsonl`; docs/operations.md, "Exporting priced records").
//!
//! Design:
//! - The rows come from what the writer already holds: the [`Totals`] of a
//!   priced SDR (its usage modules one by one, as the usage analysis
//!   counts them) and a [`Head`] of three header fields the rating worker
//!   copies only when an export is asked for. Nothing is decoded again.
//! - The single writer appends rows in input order, so the files are byte
//!   for byte the same at any thread count, like every other output.
//! - Money is written as exact decimal strings ("0.0125"), never floats:
//!   a reader sums them with DECIMAL and gets summary.json's totals to the
//!   last digit.
//! - Times: `start_of_use` of a usage module is the UTC date of its
//!   earliest item (what [`ModuleUsage`] keeps); a participation's is its
//!   first join, RFC 3339 in UTC.
//! - Rows stream through a 64 KiB buffer: nothing of the run is held.
//! - Only SDRs that are billed (priced and not duplicates) have rows:
//!   faults are in faults.csv with their cause, and the sum of
//!   `individual_price` per currency over both files is the run's total.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::Serialize;

use crate::price::session::PricedParticipation;
use crate::rate::{ModuleUsage, Totals};
use crate::sdr::Text;

use super::names;

/// What the writer needs of a priced SDR's header for its export rows,
/// copied by the rating worker only when an export is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub sdr_identifier: u32,
    pub producer: Text,
    pub customer: Text,
}

/// The export formats (`--export`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    Jsonl,
}

/// Export failures, as the caller tells them apart.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode a row of {path}: {source}")]
    Encode {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// One row of priced-usage.*: one priced usage module of a billed SDR.
#[derive(Debug, Serialize)]
pub struct UsageRow<'a> {
    pub sdr_identifier: u32,
    pub producer: &'a str,
    pub customer: &'a str,
    pub marketing_company: &'a str,
    pub service: &'a str,
    /// UTC date, YYYY-MM-DD.
    pub start_of_use: String,
    pub seconds: u64,
    pub events: u64,
    pub units: u64,
    pub currency: &'a str,
    #[serde(with = "rust_decimal::serde::str")]
    pub basic_price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub individual_price: Decimal,
    pub status: &'static str,
    pub file: &'a str,
    pub offset: u64,
}

/// One row of participations.*: one participation priced from sessions.
#[derive(Debug, Serialize)]
pub struct ParticipationRow<'a> {
    pub session_identifier: &'a str,
    pub participant: &'a str,
    pub role: &'a str,
    pub customer: &'a str,
    pub marketing_company: &'a str,
    pub service: &'a str,
    /// First join, RFC 3339 in UTC.
    pub start_of_use: String,
    pub seconds: u64,
    pub price_list: &'a str,
    pub revision: u16,
    pub currency: &'a str,
    #[serde(with = "rust_decimal::serde::str")]
    pub vat_percent: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub basic_price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub individual_price: Decimal,
    pub status: &'static str,
}

/// A JSON-lines file being written.
struct Lines {
    path: PathBuf,
    w: BufWriter<File>,
}

impl Lines {
    fn create(path: PathBuf) -> Result<Self, ExportError> {
        let f = File::create(&path).map_err(|source| ExportError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Lines {
            w: BufWriter::with_capacity(1 << 16, f),
            path,
        })
    }

    fn row(&mut self, row: &impl Serialize) -> Result<(), ExportError> {
        serde_json::to_writer(&mut self.w, row).map_err(|source| ExportError::Encode {
            path: self.path.clone(),
            source,
        })?;
        self.w.write_all(b"\n").map_err(|source| ExportError::Io {
            path: self.path.clone(),
            source,
        })
    }

    fn finish(mut self) -> Result<PathBuf, ExportError> {
        self.w.flush().map_err(|source| ExportError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.path)
    }
}

/// The export files of a run, written by the single writer.
pub struct Export {
    usage: Vec<Lines>,
    participations: Vec<Lines>,
}

impl Export {
    /// Opens the files of `formats` in `dir`; None when none is asked for.
    pub fn open(dir: &Path, formats: &[Format]) -> Result<Option<Self>, ExportError> {
        if formats.is_empty() {
            return Ok(None);
        }
        let mut e = Export {
            usage: Vec::new(),
            participations: Vec::new(),
        };
        for f in formats {
            match f {
                Format::Jsonl => {
                    e.usage
                        .push(Lines::create(dir.join(names::EXPORT_USAGE_JSONL))?);
                    e.participations.push(Lines::create(
                        dir.join(names::EXPORT_PARTICIPATIONS_JSONL),
                    )?);
                }
            }
        }
        Ok(Some(e))
    }

    /// The rows of one billed SDR, read at `offset` of `file`.
    pub fn priced(
        &mut self,
        head: &Head,
        t: &Totals,
        file: &str,
        offset: u64,
    ) -> Result<(), ExportError> {
        for m in t.modules.iter() {
            let row = usage_row(head, t, m, file, offset);
            for w in &mut self.usage {
                w.row(&row)?;
            }
        }
        Ok(())
    }

    /// The row of one billed participation of a session of `service`.
    pub fn participation(
        &mut self,
        session: &str,
        service: &str,
        p: &PricedParticipation,
    ) -> Result<(), ExportError> {
        let row = ParticipationRow {
            session_identifier: session,
            participant: &p.part.participant_id,
            role: &p.part.role,
            customer: &p.customer,
            marketing_company: &p.marketing_company,
            service,
            start_of_use: p
                .part
                .first_join
                .0
                .to_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            seconds: p.part.active_seconds(),
            price_list: &p.table,
            revision: p.revision,
            currency: &p.currency,
            vat_percent: p.vat_percent,
            basic_price: p.basic,
            individual_price: p.individual,
            status: "priced",
        };
        for w in &mut self.participations {
            w.row(&row)?;
        }
        Ok(())
    }

    /// Flushes every file; returns their paths, for the manifest.
    pub fn finish(self) -> Result<Vec<PathBuf>, ExportError> {
        let mut paths = Vec::new();
        for l in self.usage.into_iter().chain(self.participations) {
            paths.push(l.finish()?);
        }
        paths.sort();
        Ok(paths)
    }
}

fn usage_row<'a>(
    head: &'a Head,
    t: &'a Totals,
    m: &'a ModuleUsage,
    file: &'a str,
    offset: u64,
) -> UsageRow<'a> {
    UsageRow {
        sdr_identifier: head.sdr_identifier,
        producer: &head.producer,
        customer: &head.customer,
        marketing_company: &t.marketing_company,
        service: &m.service,
        start_of_use: m.day.format("%Y-%m-%d").to_string(),
        seconds: m.seconds,
        events: m.events,
        units: m.units,
        currency: &t.currency,
        basic_price: m.basic,
        individual_price: m.individual,
        status: "priced",
        file,
        offset,
    }
}

/// The file names an export of `formats` writes, sorted.
pub fn file_names(formats: &[Format]) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = formats
        .iter()
        .flat_map(|f| match f {
            Format::Jsonl => [names::EXPORT_USAGE_JSONL, names::EXPORT_PARTICIPATIONS_JSONL],
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}
