//! Priced records for analytics: one row per priced usage module and one
//! per faulted record (priced-usage.*), and one per priced participation
//! (participations.*), for DuckDB, Spark or a warehouse (`--export
//! parquet,jsonl`; docs/operations.md, "Exporting priced records").
//!
//! Design:
//! - Nothing is priced or decoded again. The rows come from what the
//!   writer already holds: the [`Totals`] of a priced SDR (its usage
//!   modules one by one, as the usage analysis counts them, with the
//!   exact start of use and the customer group the resolution found) and
//!   a [`Head`] the rating worker builds only when an export is asked for:
//!   header fields, and per usage module its pricing module's list,
//!   revision and VAT and the names of its items (read off the decoded
//!   SDR the worker still holds). A run without `--export` pays for two
//!   small fields of [`ModuleUsage`] (a time and an inline group name),
//!   nothing else.
//! - Faults are rows of priced-usage.* (`status` "fault", the cause and
//!   detail filled, prices, quantities, list and times null), not a file
//!   of their own: one table answers "what became of what we read", and a
//!   recycled fault reappears there as a priced row with the same columns.
//!   One row per record summary.json counts in `faulted`; the worker
//!   copies the header and the failed module's service into a
//!   [`FaultHead`], again only when an export is asked for.
//! - One row per usage module, not per usage item: the grain of the usage
//!   analysis and of the totals. `items` lists the module's kinds of item;
//!   `price_list` and `revision` are those of its first price item (items
//!   of one module share their resolution unless their times of use fall
//!   either side of a new revision; the priced SDR has every item's).
//! - The single writer appends rows in input order, so the files are byte
//!   for byte the same at any thread count, like every other output.
//! - Money is never a float. JSON lines: exact decimal strings ("0.0125"),
//!   null where a fault row has none. Parquet: DECIMAL(38, 18) (Arrow
//!   Decimal128), one fixed scale so every file of every run has one
//!   schema. 18 places is the most a price list may round to
//!   (`resolve::validate::MAX_DECIMALS`), and a pricing module's amount is
//!   a 64-bit integer of units, so at most 19 integer digits: every amount
//!   fits exactly, with room for the sums a reader makes. An amount that
//!   does not fit is an error ([`ExportError::Amount`]), never rounded.
//! - Times: `start_of_use` is the earliest time of use of a module's items
//!   or a participation's first join (Parquet TIMESTAMP(MICROS, UTC), JSON
//!   RFC 3339 in UTC); a usage module's `day` is its UTC date, the day
//!   usage.csv counts it under (Parquet DATE, JSON "YYYY-MM-DD"), so no
//!   reader has to get a time zone right to match the usage analysis.
//! - Memory is bounded: JSON lines stream through a 64 KiB buffer; Parquet
//!   rows gather in Arrow builders up to [`ROW_GROUP`] rows (64 Ki), then
//!   go to a streaming ArrowWriter as one row group. The run's rows are
//!   never held.
//! - Parquet files are deterministic: fixed writer properties (snappy,
//!   one row group per 64 Ki rows) and `created_by` naming sdrate's
//!   version, no time in the metadata.
//! - Only billed SDRs (priced and not duplicates) have priced rows: the
//!   sum of `individual_price` per currency over both files is the run's
//!   total.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Decimal128Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
    UInt16Builder, UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::fault::FaultCause;
use crate::price::session::PricedParticipation;
use crate::rate::{ModuleUsage, Totals};
use crate::sdr::{ServiceDetailRecord, ServicePricingModule, StatusIndicator, Text};

use super::names;

/// What the writer needs of a priced SDR beyond its [`Totals`] for its
/// export rows, copied by the rating worker only when an export is asked
/// for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub sdr_identifier: u32,
    pub producer: Text,
    /// None when the SDR names no customer identity.
    pub customer: Option<Text>,
    /// One per usage module, in the order of the SDR and of
    /// [`Totals::modules`].
    pub modules: Vec<ModuleHead>,
}

/// What a usage module's pricing module says, with its item names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleHead {
    /// Kinds of usage item, each once ([`crate::rate::item_names`]).
    pub items: Vec<Text>,
    /// The list (or pricing profile) that set the individual price of the
    /// module's first price item, and its revision.
    pub price_list: Text,
    pub revision: u16,
    pub vat_percent: Option<Decimal>,
}

impl Head {
    /// The head of a priced SDR and its pricing modules: one per usage
    /// module, in order, as [`crate::rate::Outcome::Priced`] has them.
    pub fn priced(sdr: &ServiceDetailRecord, spms: &[ServicePricingModule]) -> Self {
        let h = &sdr.service_header;
        let modules = sdr
            .service_usage_modules
            .iter()
            .zip(spms)
            .map(|(sum, spm)| {
                let first = spm.prices.first();
                ModuleHead {
                    items: crate::rate::item_names(sdr, sum),
                    price_list: first
                        .map(|p| p.price_table_identifier.clone())
                        .unwrap_or_default(),
                    revision: first.map_or(0, |p| p.price_table_revision),
                    vat_percent: spm.vat_level.to_decimal().ok(),
                }
            })
            .collect();
        Head {
            sdr_identifier: h.sdr_identifier,
            producer: h.producer_identity.clone(),
            customer: h.customer_identity.clone(),
            modules,
        }
    }
}

/// What a fault row says of a faulted record beyond its cause: the
/// header's fields when it decoded, and the usage module whose pricing
/// failed when there is one. All None for a record that did not decode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultHead {
    pub sdr_identifier: Option<u32>,
    pub producer: Option<Text>,
    pub customer: Option<Text>,
    pub marketing_company: Option<Text>,
    pub service: Option<Text>,
}

impl FaultHead {
    /// The head of an SDR that faulted with pricing modules `spms`: as
    /// pricing makes them, one per usage module in order, so the first
    /// one not priced names the module that failed.
    pub fn of(sdr: &ServiceDetailRecord, spms: &[ServicePricingModule]) -> Self {
        let h = &sdr.service_header;
        let failed = spms
            .iter()
            .position(|s| {
                s.prices
                    .iter()
                    .any(|p| p.status_indicator != StatusIndicator::Priced)
            })
            .and_then(|i| sdr.service_usage_modules.get(i));
        FaultHead {
            sdr_identifier: Some(h.sdr_identifier),
            producer: Some(h.producer_identity.clone()),
            customer: h.customer_identity.clone(),
            marketing_company: failed.map(|m| m.marketing_company.clone()),
            service: failed.map(|m| m.service_feature_code.clone()),
        }
    }

    /// The head of an SDR priced and then refused by the duplicate check
    /// (too old, or from the future): the whole SDR is the fault, so its
    /// first module stands for it.
    pub fn refused(head: &Head, t: &Totals) -> Self {
        FaultHead {
            sdr_identifier: Some(head.sdr_identifier),
            producer: Some(head.producer.clone()),
            customer: head.customer.clone(),
            marketing_company: Some(t.marketing_company.clone()),
            service: t.modules.iter().next().map(|m| m.service.clone()),
        }
    }
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

/// One row of priced-usage.*: one priced usage module of a billed SDR
/// (`status` "priced"), or one faulted record (`status` "fault": the
/// module's facts null, the cause filled).
#[derive(Debug, Default, Serialize)]
pub struct UsageRow<'a> {
    /// `start_of_use` as UTC microseconds, for Parquet.
    #[serde(skip)]
    pub start_micros: Option<i64>,
    /// `day` as days since 1970-01-01, for Parquet.
    #[serde(skip)]
    pub day_number: Option<i32>,
    pub sdr_identifier: Option<u32>,
    pub producer: Option<&'a str>,
    pub customer: Option<&'a str>,
    pub marketing_company: Option<&'a str>,
    pub customer_group: Option<&'a str>,
    pub service: Option<&'a str>,
    pub items: Option<Vec<&'a str>>,
    /// Earliest time of use of its items, RFC 3339 in UTC.
    pub start_of_use: Option<String>,
    /// UTC date of `start_of_use`, YYYY-MM-DD (usage.csv's day).
    pub day: Option<String>,
    pub seconds: Option<u64>,
    pub events: Option<u64>,
    pub units: Option<u64>,
    pub price_list: Option<&'a str>,
    pub revision: Option<u16>,
    pub currency: Option<&'a str>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub vat_percent: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub basic_price: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub individual_price: Option<Decimal>,
    pub status: &'static str,
    pub fault_cause: Option<&'a str>,
    pub fault_detail: Option<&'a str>,
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
    pub customer_group: Option<&'a str>,
    pub service: &'a str,
    pub items: Vec<&'a str>,
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
        for (i, m) in t.modules.iter().enumerate() {
            let row = usage_row(head, head.modules.get(i), t, m, file, offset);
            self.usage_row(&row)?;
        }
        Ok(())
    }

    /// The row of one faulted record (counted in summary.json's
    /// `faulted`), read at `offset` of `file`.
    pub fn fault(
        &mut self,
        head: &FaultHead,
        cause: FaultCause,
        detail: &str,
        file: &str,
        offset: u64,
    ) -> Result<(), ExportError> {
        let cause = cause.name();
        let row = UsageRow {
            sdr_identifier: head.sdr_identifier,
            producer: head.producer.as_deref(),
            customer: head.customer.as_deref(),
            marketing_company: head.marketing_company.as_deref(),
            service: head.service.as_deref(),
            status: "fault",
            fault_cause: Some(&cause),
            fault_detail: Some(detail),
            file,
            offset,
            ..UsageRow::default()
        };
        self.usage_row(&row)
    }

    fn usage_row(&mut self, row: &UsageRow<'_>) -> Result<(), ExportError> {
        for w in &mut self.usage {
            w.row(row)?;
        }
        if let Some(p) = &mut self.usage_parquet {
            p.push(row)?;
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
        let mut items: Vec<&str> = Vec::with_capacity(p.lines.len());
        for l in &p.lines {
            if !items.contains(&l.item.as_str()) {
                items.push(&l.item);
            }
        }
        let row = ParticipationRow {
            start_micros: start.timestamp_micros(),
            session_identifier: session,
            participant: &p.part.participant_id,
            role: &p.part.role,
            customer: &p.customer,
            marketing_company: &p.marketing_company,
            customer_group: p.customer_group.as_deref(),
            service,
            items,
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
    module: Option<&'a ModuleHead>,
    t: &'a Totals,
    m: &'a ModuleUsage,
    file: &'a str,
    offset: u64,
) -> UsageRow<'a> {
    UsageRow {
        start_micros: Some(m.start.timestamp_micros()),
        day_number: Some((m.day - chrono::NaiveDate::default()).num_days() as i32),
        sdr_identifier: Some(head.sdr_identifier),
        producer: Some(&head.producer),
        customer: head.customer.as_deref(),
        marketing_company: Some(&t.marketing_company),
        customer_group: m.customer_group.as_deref(),
        service: Some(&m.service),
        items: module.map(|h| h.items.iter().map(Text::as_str).collect()),
        start_of_use: Some(m.start.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        day: Some(m.day.format("%Y-%m-%d").to_string()),
        seconds: Some(m.seconds),
        events: Some(m.events),
        units: Some(m.units),
        price_list: module.map(|h| h.price_list.as_str()),
        revision: module.map(|h| h.revision),
        currency: Some(&t.currency),
        vat_percent: module.and_then(|h| h.vat_percent),
        basic_price: Some(m.basic),
        individual_price: Some(m.individual),
        status: "priced",
        fault_cause: None,
        fault_detail: None,
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

fn nullable(name: &str, t: DataType) -> Field {
    Field::new(name, t, true)
}

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// A list of item names: LIST<VARCHAR> in DuckDB.
fn items_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, false)))
}

fn items_builder() -> ListBuilder<StringBuilder> {
    ListBuilder::new(StringBuilder::new())
        .with_field(Arc::new(Field::new_list_field(DataType::Utf8, false)))
}

fn append_items(b: &mut ListBuilder<StringBuilder>, items: Option<&[&str]>) {
    match items {
        Some(items) => {
            for i in items {
                b.values().append_value(i);
            }
            b.append(true);
        }
        None => b.append_null(),
    }
}

struct UsageColumns {
    sdr_identifier: UInt32Builder,
    producer: StringBuilder,
    customer: StringBuilder,
    marketing_company: StringBuilder,
    customer_group: StringBuilder,
    service: StringBuilder,
    items: ListBuilder<StringBuilder>,
    start_of_use: TimestampMicrosecondBuilder,
    day: Date32Builder,
    seconds: UInt64Builder,
    events: UInt64Builder,
    units: UInt64Builder,
    price_list: StringBuilder,
    revision: UInt16Builder,
    currency: StringBuilder,
    vat_percent: Decimal128Builder,
    basic_price: Decimal128Builder,
    individual_price: Decimal128Builder,
    status: StringBuilder,
    fault_cause: StringBuilder,
    fault_detail: StringBuilder,
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
            customer_group: StringBuilder::new(),
            service: StringBuilder::new(),
            items: items_builder(),
            start_of_use: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            day: Date32Builder::new(),
            seconds: UInt64Builder::new(),
            events: UInt64Builder::new(),
            units: UInt64Builder::new(),
            price_list: StringBuilder::new(),
            revision: UInt16Builder::new(),
            currency: StringBuilder::new(),
            vat_percent: money_builder(),
            basic_price: money_builder(),
            individual_price: money_builder(),
            status: StringBuilder::new(),
            fault_cause: StringBuilder::new(),
            fault_detail: StringBuilder::new(),
            file: StringBuilder::new(),
            offset: UInt64Builder::new(),
        }
    }
}

impl Columns for UsageColumns {
    type Row<'a> = UsageRow<'a>;

    fn schema() -> Schema {
        // Null only where a fault row has nothing to say.
        Schema::new(vec![
            nullable("sdr_identifier", DataType::UInt32),
            nullable("producer", DataType::Utf8),
            nullable("customer", DataType::Utf8),
            nullable("marketing_company", DataType::Utf8),
            nullable("customer_group", DataType::Utf8),
            nullable("service", DataType::Utf8),
            nullable("items", items_type()),
            nullable("start_of_use", timestamp_type()),
            nullable("day", DataType::Date32),
            nullable("seconds", DataType::UInt64),
            nullable("events", DataType::UInt64),
            nullable("units", DataType::UInt64),
            nullable("price_list", DataType::Utf8),
            nullable("revision", DataType::UInt16),
            nullable("currency", DataType::Utf8),
            nullable("vat_percent", money_type()),
            nullable("basic_price", money_type()),
            nullable("individual_price", money_type()),
            field("status", DataType::Utf8),
            nullable("fault_cause", DataType::Utf8),
            nullable("fault_detail", DataType::Utf8),
            field("file", DataType::Utf8),
            field("offset", DataType::UInt64),
        ])
    }

    fn push(&mut self, r: &UsageRow<'_>, path: &Path) -> Result<(), ExportError> {
        let money = |d: Option<Decimal>| d.map(|d| scaled(d, path)).transpose();
        let vat = money(r.vat_percent)?;
        let basic = money(r.basic_price)?;
        let individual = money(r.individual_price)?;
        self.sdr_identifier.append_option(r.sdr_identifier);
        self.producer.append_option(r.producer);
        self.customer.append_option(r.customer);
        self.marketing_company.append_option(r.marketing_company);
        self.customer_group.append_option(r.customer_group);
        self.service.append_option(r.service);
        append_items(&mut self.items, r.items.as_deref());
        self.start_of_use.append_option(r.start_micros);
        self.day.append_option(r.day_number);
        self.seconds.append_option(r.seconds);
        self.events.append_option(r.events);
        self.units.append_option(r.units);
        self.price_list.append_option(r.price_list);
        self.revision.append_option(r.revision);
        self.currency.append_option(r.currency);
        self.vat_percent.append_option(vat);
        self.basic_price.append_option(basic);
        self.individual_price.append_option(individual);
        self.status.append_value(r.status);
        self.fault_cause.append_option(r.fault_cause);
        self.fault_detail.append_option(r.fault_detail);
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
            Arc::new(self.customer_group.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.items.finish()),
            Arc::new(self.start_of_use.finish()),
            Arc::new(self.day.finish()),
            Arc::new(self.seconds.finish()),
            Arc::new(self.events.finish()),
            Arc::new(self.units.finish()),
            Arc::new(self.price_list.finish()),
            Arc::new(self.revision.finish()),
            Arc::new(self.currency.finish()),
            Arc::new(self.vat_percent.finish()),
            Arc::new(self.basic_price.finish()),
            Arc::new(self.individual_price.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.fault_cause.finish()),
            Arc::new(self.fault_detail.finish()),
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
    customer_group: StringBuilder,
    service: StringBuilder,
    items: ListBuilder<StringBuilder>,
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
            customer_group: StringBuilder::new(),
            service: StringBuilder::new(),
            items: items_builder(),
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
            nullable("customer_group", DataType::Utf8),
            field("service", DataType::Utf8),
            field("items", items_type()),
            field("start_of_use", timestamp_type()),
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
        self.customer_group.append_option(r.customer_group);
        self.service.append_value(r.service);
        append_items(&mut self.items, Some(&r.items));
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
            Arc::new(self.customer_group.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.items.finish()),
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
