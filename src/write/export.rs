//! Priced records for analytics: one row per priced usage module and one
//! per priced participation, for DuckDB, Spark or a warehouse
//! (`--export parquet,jsonl`; docs/operations.md, "Exporting priced
//! records").
//!
//! Design:
//! - The rows come from what the writer already holds: the [`Totals`] of a
//!   priced SDR (its usage modules one by one, as the usage analysis
//!   counts them) and a [`Head`] of three header fields the rating worker
//!   copies only when an export is asked for. Nothing is decoded again.
//! - The single writer appends rows in input order, so the files are byte
//!   for byte the same at any thread count, like every other output.
//! - Money is never a float. JSON lines: exact decimal strings ("0.0125").
//!   Parquet: DECIMAL(38, 18) (Arrow Decimal128), one fixed scale so every
//!   file of every run has one schema. 18 places is the most a price list
//!   may round to (`resolve::validate::MAX_DECIMALS`), and a pricing
//!   module's amount is a 64-bit integer of units, so at most 19 integer
//!   digits: every amount fits exactly, with room for the sums a reader
//!   makes. An amount that does not fit is an error
//!   ([`ExportError::Amount`]), never rounded.
//! - Times: `start_of_use` of a usage module is the UTC date of its
//!   earliest item (what [`ModuleUsage`] keeps: Parquet DATE, JSON
//!   "YYYY-MM-DD"); a participation's is its first join (Parquet
//!   TIMESTAMP(MICROS, UTC), JSON RFC 3339 in UTC).
//! - Memory is bounded: JSON lines stream through a 64 KiB buffer; Parquet
//!   rows gather in Arrow builders up to [`ROW_GROUP`] rows (64 Ki), then
//!   go to a streaming ArrowWriter as one row group. The run's rows are
//!   never held.
//! - Parquet files are deterministic: fixed writer properties (snappy,
//!   one row group per 64 Ki rows) and `created_by` naming sdrate's
//!   version, no time in the metadata.
//! - Only SDRs that are billed (priced and not duplicates) have rows:
//!   faults are in faults.csv with their cause, and the sum of
//!   `individual_price` per currency over both files is the run's total.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Decimal128Builder, StringBuilder, TimestampMicrosecondBuilder, UInt16Builder,
    UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

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
    Parquet,
    Jsonl,
}

/// Rows of a Parquet row group: 64 Ki rows of about 150 bytes is some
/// 10 MB of builders, and few enough groups for a reader to skip by
/// statistics.
pub const ROW_GROUP: usize = 1 << 16;

/// Decimal places of every amount in Parquet (see the module docs).
pub const SCALE: i8 = 18;

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
    #[error("cannot write {path}: {source}")]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("cannot build a row group of {path}: {source}")]
    Arrow {
        path: PathBuf,
        source: arrow_schema::ArrowError,
    },
    #[error("{path}: amount {value} does not fit DECIMAL(38, {SCALE})")]
    Amount { path: PathBuf, value: Decimal },
}

/// One row of priced-usage.*: one priced usage module of a billed SDR.
#[derive(Debug, Serialize)]
pub struct UsageRow<'a> {
    /// `start_of_use` as days since 1970-01-01, for Parquet.
    #[serde(skip)]
    pub start_days: i32,
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
    /// `start_of_use` as UTC microseconds, for Parquet.
    #[serde(skip)]
    pub start_micros: i64,
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
    usage_parquet: Option<Table<UsageColumns>>,
    participations_parquet: Option<Table<ParticipationColumns>>,
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
            usage_parquet: None,
            participations_parquet: None,
        };
        for f in formats {
            match f {
                Format::Parquet => {
                    e.usage_parquet = Some(Table::create(
                        dir.join(names::EXPORT_USAGE_PARQUET),
                        UsageColumns::default(),
                    )?);
                    e.participations_parquet = Some(Table::create(
                        dir.join(names::EXPORT_PARTICIPATIONS_PARQUET),
                        ParticipationColumns::default(),
                    )?);
                }
                Format::Jsonl => {
                    e.usage
                        .push(Lines::create(dir.join(names::EXPORT_USAGE_JSONL))?);
                    e.participations
                        .push(Lines::create(dir.join(names::EXPORT_PARTICIPATIONS_JSONL))?);
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
            if let Some(p) = &mut self.usage_parquet {
                p.push(&row)?;
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
        let start = p.part.first_join.0.to_utc();
        let row = ParticipationRow {
            start_micros: start.timestamp_micros(),
            session_identifier: session,
            participant: &p.part.participant_id,
            role: &p.part.role,
            customer: &p.customer,
            marketing_company: &p.marketing_company,
            service,
            start_of_use: start.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
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
        if let Some(t) = &mut self.participations_parquet {
            t.push(&row)?;
        }
        Ok(())
    }

    /// Flushes every file; returns their paths, for the manifest.
    pub fn finish(self) -> Result<Vec<PathBuf>, ExportError> {
        let mut paths = Vec::new();
        for l in self.usage.into_iter().chain(self.participations) {
            paths.push(l.finish()?);
        }
        if let Some(t) = self.usage_parquet {
            paths.push(t.finish()?);
        }
        if let Some(t) = self.participations_parquet {
            paths.push(t.finish()?);
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
        start_days: (m.day - chrono::NaiveDate::default()).num_days() as i32,
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
            Format::Jsonl => [
                names::EXPORT_USAGE_JSONL,
                names::EXPORT_PARTICIPATIONS_JSONL,
            ],
            Format::Parquet => [
                names::EXPORT_USAGE_PARQUET,
                names::EXPORT_PARTICIPATIONS_PARQUET,
            ],
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The Arrow builders of one kind of row: what a Parquet file gathers
/// until a row group is full.
trait Columns {
    type Row<'a>;
    fn schema() -> Schema;
    fn push(&mut self, row: &Self::Row<'_>, path: &Path) -> Result<(), ExportError>;
    /// The gathered rows as arrays in schema order; the builders empty.
    fn take(&mut self) -> Vec<ArrayRef>;
}

/// A Parquet file being written: builders of the open row group and the
/// streaming writer.
struct Table<C: Columns> {
    path: PathBuf,
    schema: SchemaRef,
    columns: C,
    rows: usize,
    writer: ArrowWriter<BufWriter<File>>,
}

impl<C: Columns> Table<C> {
    fn create(path: PathBuf, columns: C) -> Result<Self, ExportError> {
        let f = File::create(&path).map_err(|source| ExportError::Io {
            path: path.clone(),
            source,
        })?;
        let schema: SchemaRef = Arc::new(C::schema());
        let props = WriterProperties::builder()
            .set_created_by(concat!("sdrate version ", env!("CARGO_PKG_VERSION")).to_owned())
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_size(ROW_GROUP)
            .build();
        let writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 16, f),
            schema.clone(),
            Some(props),
        )
        .map_err(|source| ExportError::Parquet {
            path: path.clone(),
            source,
        })?;
        Ok(Table {
            path,
            schema,
            columns,
            rows: 0,
            writer,
        })
    }

    fn push(&mut self, row: &C::Row<'_>) -> Result<(), ExportError> {
        self.columns.push(row, &self.path)?;
        self.rows += 1;
        if self.rows == ROW_GROUP {
            self.flush_group()?;
        }
        Ok(())
    }

    /// Writes the gathered rows as one row group.
    fn flush_group(&mut self) -> Result<(), ExportError> {
        if self.rows == 0 {
            return Ok(());
        }
        self.rows = 0;
        let batch =
            RecordBatch::try_new(self.schema.clone(), self.columns.take()).map_err(|source| {
                ExportError::Arrow {
                    path: self.path.clone(),
                    source,
                }
            })?;
        let parquet = |source| ExportError::Parquet {
            path: self.path.clone(),
            source,
        };
        self.writer.write(&batch).map_err(parquet)?;
        // The writer would hold the group until it reaches ROW_GROUP rows;
        // closing it here keeps the bound at the builders' rows.
        self.writer.flush().map_err(parquet)
    }

    fn finish(mut self) -> Result<PathBuf, ExportError> {
        self.flush_group()?;
        let path = self.path;
        let mut w = self
            .writer
            .into_inner()
            .map_err(|source| ExportError::Parquet {
                path: path.clone(),
                source,
            })?;
        w.flush().map_err(|source| ExportError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

/// `d` as a DECIMAL(38, SCALE) mantissa, exactly or not at all.
fn scaled(d: Decimal, path: &Path) -> Result<i128, ExportError> {
    let d = d.normalize();
    let too_big = || ExportError::Amount {
        path: path.to_path_buf(),
        value: d,
    };
    let places = u32::try_from(SCALE).map_err(|_| too_big())?;
    let shift = places.checked_sub(d.scale()).ok_or_else(too_big)?;
    d.mantissa()
        .checked_mul(10i128.pow(shift))
        .filter(|m| m.unsigned_abs() < 10u128.pow(38))
        .ok_or_else(too_big)
}

fn money_type() -> DataType {
    DataType::Decimal128(38, SCALE)
}

fn money_builder() -> Decimal128Builder {
    Decimal128Builder::new().with_data_type(money_type())
}

fn field(name: &str, t: DataType) -> Field {
    Field::new(name, t, false)
}

struct UsageColumns {
    sdr_identifier: UInt32Builder,
    producer: StringBuilder,
    customer: StringBuilder,
    marketing_company: StringBuilder,
    service: StringBuilder,
    start_of_use: Date32Builder,
    seconds: UInt64Builder,
    events: UInt64Builder,
    units: UInt64Builder,
    currency: StringBuilder,
    basic_price: Decimal128Builder,
    individual_price: Decimal128Builder,
    status: StringBuilder,
    file: StringBuilder,
    offset: UInt64Builder,
}

impl Default for UsageColumns {
    fn default() -> Self {
        UsageColumns {
            sdr_identifier: UInt32Builder::new(),
            producer: StringBuilder::new(),
            customer: StringBuilder::new(),
            marketing_company: StringBuilder::new(),
            service: StringBuilder::new(),
            start_of_use: Date32Builder::new(),
            seconds: UInt64Builder::new(),
            events: UInt64Builder::new(),
            units: UInt64Builder::new(),
            currency: StringBuilder::new(),
            basic_price: money_builder(),
            individual_price: money_builder(),
            status: StringBuilder::new(),
            file: StringBuilder::new(),
            offset: UInt64Builder::new(),
        }
    }
}

impl Columns for UsageColumns {
    type Row<'a> = UsageRow<'a>;

    fn schema() -> Schema {
        Schema::new(vec![
            field("sdr_identifier", DataType::UInt32),
            field("producer", DataType::Utf8),
            field("customer", DataType::Utf8),
            field("marketing_company", DataType::Utf8),
            field("service", DataType::Utf8),
            field("start_of_use", DataType::Date32),
            field("seconds", DataType::UInt64),
            field("events", DataType::UInt64),
            field("units", DataType::UInt64),
            field("currency", DataType::Utf8),
            field("basic_price", money_type()),
            field("individual_price", money_type()),
            field("status", DataType::Utf8),
            field("file", DataType::Utf8),
            field("offset", DataType::UInt64),
        ])
    }

    fn push(&mut self, r: &UsageRow<'_>, path: &Path) -> Result<(), ExportError> {
        let basic = scaled(r.basic_price, path)?;
        let individual = scaled(r.individual_price, path)?;
        self.sdr_identifier.append_value(r.sdr_identifier);
        self.producer.append_value(r.producer);
        self.customer.append_value(r.customer);
        self.marketing_company.append_value(r.marketing_company);
        self.service.append_value(r.service);
        self.start_of_use.append_value(r.start_days);
        self.seconds.append_value(r.seconds);
        self.events.append_value(r.events);
        self.units.append_value(r.units);
        self.currency.append_value(r.currency);
        self.basic_price.append_value(basic);
        self.individual_price.append_value(individual);
        self.status.append_value(r.status);
        self.file.append_value(r.file);
        self.offset.append_value(r.offset);
        Ok(())
    }

    fn take(&mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.sdr_identifier.finish()),
            Arc::new(self.producer.finish()),
            Arc::new(self.customer.finish()),
            Arc::new(self.marketing_company.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.start_of_use.finish()),
            Arc::new(self.seconds.finish()),
            Arc::new(self.events.finish()),
            Arc::new(self.units.finish()),
            Arc::new(self.currency.finish()),
            Arc::new(self.basic_price.finish()),
            Arc::new(self.individual_price.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.file.finish()),
            Arc::new(self.offset.finish()),
        ]
    }
}

struct ParticipationColumns {
    session_identifier: StringBuilder,
    participant: StringBuilder,
    role: StringBuilder,
    customer: StringBuilder,
    marketing_company: StringBuilder,
    service: StringBuilder,
    start_of_use: TimestampMicrosecondBuilder,
    seconds: UInt64Builder,
    price_list: StringBuilder,
    revision: UInt16Builder,
    currency: StringBuilder,
    vat_percent: Decimal128Builder,
    basic_price: Decimal128Builder,
    individual_price: Decimal128Builder,
    status: StringBuilder,
}

impl Default for ParticipationColumns {
    fn default() -> Self {
        ParticipationColumns {
            session_identifier: StringBuilder::new(),
            participant: StringBuilder::new(),
            role: StringBuilder::new(),
            customer: StringBuilder::new(),
            marketing_company: StringBuilder::new(),
            service: StringBuilder::new(),
            start_of_use: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            seconds: UInt64Builder::new(),
            price_list: StringBuilder::new(),
            revision: UInt16Builder::new(),
            currency: StringBuilder::new(),
            vat_percent: money_builder(),
            basic_price: money_builder(),
            individual_price: money_builder(),
            status: StringBuilder::new(),
        }
    }
}

impl Columns for ParticipationColumns {
    type Row<'a> = ParticipationRow<'a>;

    fn schema() -> Schema {
        Schema::new(vec![
            field("session_identifier", DataType::Utf8),
            field("participant", DataType::Utf8),
            field("role", DataType::Utf8),
            field("customer", DataType::Utf8),
            field("marketing_company", DataType::Utf8),
            field("service", DataType::Utf8),
            field(
                "start_of_use",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
            field("seconds", DataType::UInt64),
            field("price_list", DataType::Utf8),
            field("revision", DataType::UInt16),
            field("currency", DataType::Utf8),
            field("vat_percent", money_type()),
            field("basic_price", money_type()),
            field("individual_price", money_type()),
            field("status", DataType::Utf8),
        ])
    }

    fn push(&mut self, r: &ParticipationRow<'_>, path: &Path) -> Result<(), ExportError> {
        let vat = scaled(r.vat_percent, path)?;
        let basic = scaled(r.basic_price, path)?;
        let individual = scaled(r.individual_price, path)?;
        self.session_identifier.append_value(r.session_identifier);
        self.participant.append_value(r.participant);
        self.role.append_value(r.role);
        self.customer.append_value(r.customer);
        self.marketing_company.append_value(r.marketing_company);
        self.service.append_value(r.service);
        self.start_of_use.append_value(r.start_micros);
        self.seconds.append_value(r.seconds);
        self.price_list.append_value(r.price_list);
        self.revision.append_value(r.revision);
        self.currency.append_value(r.currency);
        self.vat_percent.append_value(vat);
        self.basic_price.append_value(basic);
        self.individual_price.append_value(individual);
        self.status.append_value(r.status);
        Ok(())
    }

    fn take(&mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.session_identifier.finish()),
            Arc::new(self.participant.finish()),
            Arc::new(self.role.finish()),
            Arc::new(self.customer.finish()),
            Arc::new(self.marketing_company.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.start_of_use.finish()),
            Arc::new(self.seconds.finish()),
            Arc::new(self.price_list.finish()),
            Arc::new(self.revision.finish()),
            Arc::new(self.currency.finish()),
            Arc::new(self.vat_percent.finish()),
            Arc::new(self.basic_price.finish()),
            Arc::new(self.individual_price.finish()),
            Arc::new(self.status.finish()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_scale_exactly_or_not_at_all() {
        let p = Path::new("x");
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(scaled(d("0.19"), p).unwrap(), 190_000_000_000_000_000);
        assert_eq!(
            scaled(d("-2.50000000000000"), p).unwrap(),
            -2_500_000_000_000_000_000
        );
        assert_eq!(scaled(d("25"), p).unwrap(), 25_000_000_000_000_000_000);
        // The largest pricing-module amount at 0 and at 18 decimals.
        assert!(scaled(Decimal::from(i64::MAX), p).is_ok());
        assert!(scaled(Decimal::from_i128_with_scale(i64::MAX.into(), 18), p).is_ok());
        assert!(scaled(d("0.0000000000000000001"), p).is_err());
    }
}
