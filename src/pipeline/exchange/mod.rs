//! The Arrow exchange: sdrate as the decoder and pricer of a cluster job
//! (Apache Spark's `DataFrame.mapInArrow`), one process per partition,
//! Arrow IPC streams on standard input and output (docs/spark.md, "The
//! Arrow exchange").
//!
//! Two steps, each a pure function of its input stream:
//! - [`scan`] turns a list of input files (a `path` column) into one row
//!   per record: where it lies, what kind it is, the keys a cluster
//!   shuffles on (session id, duplicate fingerprint) and the record's
//!   bytes as read. Nothing is priced.
//! - [`price`] turns scanned rows into priced rows: each record goes
//!   through the very job `sdrate rate` runs on it ([`RateJob`]), so a
//!   priced row's bytes are those `rate` writes into `priced/*.sdr`, and a
//!   fault's those it keeps in `faults.sdr`.
//!
//! Design:
//! - Deterministic: output depends on the input stream, the price lists,
//!   the customers and the pricing time only (no clock, no counters, no
//!   thread scheduling: rows leave in the order they came), so a task the
//!   cluster retries writes the same bytes.
//! - Bounded memory: scan emits a batch every [`BATCH_ROWS`] rows or
//!   [`BATCH_BYTES`] of raw bytes, whichever comes first, and reads files
//!   block by block as `rate` does; price holds one input batch.
//! - Columns are types Spark SQL reads: no unsigned integers (Spark has
//!   none and refuses them), Utf8 and Binary rather than their large
//!   variants, times as RFC 3339 text (a timestamp column would lose the
//!   UTC offset the SDR was written with).
//! - The duplicate check of [`price`] covers the rows of one invocation,
//!   as `rate` without a state directory covers one run: a cluster that
//!   sends every copy of an SDR (same `duplicate_key`) to one partition,
//!   in input order, gets `rate`'s answer.
//! - Session events pass through, not priced: sessions are priced from
//!   all their events, which a cluster first gathers by session id.

pub mod grouped;

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use arrow_array::builder::{BinaryBuilder, Int64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{BinaryType, ByteArrayType, LargeBinaryType, LargeUtf8Type, Utf8Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, GenericByteArray, Int64Array, RecordBatch, StringArray,
};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;

use crate::fault::FaultCause;
use crate::group::duplicates::{Key, Verdict, Window};
use crate::rate::Rater;
use crate::read::compressed::Damaged;
use crate::read::events::{EventLog, LineBytes, Row};
use crate::read::{self, Framed, Reader};
use crate::sdr::{ServicePart, ServiceSpecificPart};
use crate::write::export::Head;

use super::blocks::{Job, with_decoded};
use super::dedup::{Dedup, DupKey};
use super::record::{Done, Needs, RateJob, Responsible, refusal};
use crate::write::trace::Tag;

/// Rows of a scan batch at most.
pub const BATCH_ROWS: usize = 8192;
/// Raw bytes of a scan batch at most (one record may pass it alone).
pub const BATCH_BYTES: usize = 32 << 20;

/// What is wrong with an exchange stream.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("the Arrow stream on standard input has no column `{0}`")]
    MissingColumn(&'static str),
    #[error("column `{column}` of the Arrow stream on standard input is {found}, not {wanted}")]
    ColumnType {
        column: &'static str,
        found: DataType,
        wanted: &'static str,
    },
    #[error("row {row} of an Arrow batch on standard input: `{column}` is null")]
    Null { column: &'static str, row: usize },
    #[error("{file} at {offset}: unknown record_kind `{kind}`")]
    UnknownKind {
        file: String,
        offset: i64,
        kind: String,
    },
    #[error("cannot read the Arrow stream on standard input: {0}")]
    Read(#[source] ArrowError),
    #[error("cannot write the Arrow stream on standard output: {0}")]
    Write(#[source] ArrowError),
}

/// What a scanned row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A decodable SDR that carries no session event.
    Sdr,
    /// A decodable SDR carrying session events (`session_id` is its first
    /// event's).
    SessionEvent,
    /// A framed record that does not decode (a fault when priced).
    Undecodable,
    /// A stretch that cannot be framed as records (kept whole).
    Broken,
    /// Where a compressed input's stream breaks off (no bytes).
    Damaged,
    /// A row of a session event log.
    EventRow,
    /// A row of an event log that is not a valid event.
    BadEventRow,
}

impl RecordKind {
    pub const ALL: [RecordKind; 7] = [
        RecordKind::Sdr,
        RecordKind::SessionEvent,
        RecordKind::Undecodable,
        RecordKind::Broken,
        RecordKind::Damaged,
        RecordKind::EventRow,
        RecordKind::BadEventRow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Sdr => "sdr",
            RecordKind::SessionEvent => "sessionEvent",
            RecordKind::Undecodable => "undecodable",
            RecordKind::Broken => "broken",
            RecordKind::Damaged => "damaged",
            RecordKind::EventRow => "eventRow",
            RecordKind::BadEventRow => "badEventRow",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The schema [`scan`] writes and [`price`] reads.
pub fn scan_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("source_file", DataType::Utf8, false),
        Field::new("offset", DataType::Int64, false),
        Field::new("record_kind", DataType::Utf8, false),
        Field::new("session_id", DataType::Utf8, true),
        Field::new("sequence_number", DataType::Int64, true),
        Field::new("duplicate_key", DataType::Binary, true),
        Field::new("time_of_origin", DataType::Utf8, true),
        Field::new("raw", DataType::Binary, false),
        Field::new("event_seconds", DataType::Int64, true),
        Field::new("fault_detail", DataType::Utf8, true),
    ]))
}

/// The schema [`price`] writes: the row's place and keys as scanned
/// (passed through, so a cluster partitions and joins on them without
/// keeping the scan), what became of it, and the columns of the
/// analytics export for a priced SDR.
pub fn price_schema() -> SchemaRef {
    let scan = scan_schema();
    let passed = PASSED.iter().map(|name| {
        scan.field_with_name(name)
            .expect("passed columns are scan columns")
            .clone()
    });
    Arc::new(Schema::new(
        passed
            .chain([
                Field::new("outcome", DataType::Utf8, false),
                Field::new("priced", DataType::Binary, false),
                Field::new("fault_cause", DataType::Utf8, true),
                Field::new("fault_detail", DataType::Utf8, true),
                Field::new("producer", DataType::Utf8, true),
                Field::new("sdr_identifier", DataType::Int64, true),
                Field::new("customer", DataType::Utf8, true),
                Field::new("marketing_company", DataType::Utf8, true),
                Field::new("currency", DataType::Utf8, true),
                Field::new("basic_price", DataType::Utf8, true),
                Field::new("individual_price", DataType::Utf8, true),
            ])
            .collect::<Vec<_>>(),
    ))
}

/// One scanned row, borrowed from the block it was read in.
struct ScanRow<'a> {
    file: &'a str,
    offset: u64,
    kind: RecordKind,
    session_id: Option<&'a str>,
    sequence: Option<u32>,
    duplicate_key: Option<[u8; 16]>,
    time_of_origin: Option<String>,
    raw: &'a [u8],
    /// Session rows: the latest event time in UTC seconds (the clock that
    /// ages open sessions is the newest event of the night).
    event_seconds: Option<i64>,
    /// Broken stretches, stream breaks and bad event rows: the detail
    /// `rate`'s fault report gives (only the scan knows why).
    detail: Option<String>,
}

/// The scan stream being written: rows gathered into a batch, written
/// when it is full.
struct ScanOut<W: Write> {
    writer: StreamWriter<W>,
    source_file: StringBuilder,
    offset: Int64Builder,
    kind: StringBuilder,
    session_id: StringBuilder,
    sequence: Int64Builder,
    duplicate_key: BinaryBuilder,
    time_of_origin: StringBuilder,
    raw: BinaryBuilder,
    event_seconds: Int64Builder,
    detail: StringBuilder,
    rows: usize,
    bytes: usize,
    written: u64,
}

impl<W: Write> ScanOut<W> {
    fn new(out: W) -> Result<Self> {
        Ok(ScanOut {
            writer: StreamWriter::try_new(out, &scan_schema()).map_err(ExchangeError::Write)?,
            source_file: StringBuilder::new(),
            offset: Int64Builder::new(),
            kind: StringBuilder::new(),
            session_id: StringBuilder::new(),
            sequence: Int64Builder::new(),
            duplicate_key: BinaryBuilder::new(),
            time_of_origin: StringBuilder::new(),
            raw: BinaryBuilder::new(),
            event_seconds: Int64Builder::new(),
            detail: StringBuilder::new(),
            rows: 0,
            bytes: 0,
            written: 0,
        })
    }

    fn push(&mut self, r: ScanRow<'_>) -> Result<()> {
        self.source_file.append_value(r.file);
        self.offset.append_value(r.offset as i64);
        self.kind.append_value(r.kind.name());
        self.session_id.append_option(r.session_id);
        self.sequence.append_option(r.sequence.map(i64::from));
        self.duplicate_key.append_option(r.duplicate_key);
        self.time_of_origin.append_option(r.time_of_origin);
        self.raw.append_value(r.raw);
        self.event_seconds.append_option(r.event_seconds);
        self.detail.append_option(r.detail);
        self.rows += 1;
        self.bytes += r.raw.len();
        if self.rows >= BATCH_ROWS || self.bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.source_file.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.session_id.finish()),
            Arc::new(self.sequence.finish()),
            Arc::new(self.duplicate_key.finish()),
            Arc::new(self.time_of_origin.finish()),
            Arc::new(self.raw.finish()),
            Arc::new(self.event_seconds.finish()),
            Arc::new(self.detail.finish()),
        ];
        let batch = RecordBatch::try_new(scan_schema(), columns).map_err(ExchangeError::Write)?;
        self.writer.write(&batch).map_err(ExchangeError::Write)?;
        self.written += self.rows as u64;
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }
}

/// What a scan read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanCounts {
    pub files: u64,
    pub rows: u64,
}

/// `sdrate spark scan`: reads a stream with a `path` column (Utf8 or
/// LargeUtf8, one input file a row: SDR files, compressed or not, and
/// session event logs) and writes the [`scan_schema`] stream, one row a
/// record in file order, files in row order.
pub fn scan(input: impl Read, output: impl Write, max_record: usize) -> Result<ScanCounts> {
    let reader = StreamReader::try_new(input, None).map_err(ExchangeError::Read)?;
    let mut out = ScanOut::new(output)?;
    let mut files = 0;
    for batch in reader {
        let batch = batch.map_err(ExchangeError::Read)?;
        let paths = Text::of(&batch, "path")?;
        for row in 0..batch.num_rows() {
            let path = paths.get(row).ok_or(ExchangeError::Null {
                column: "path",
                row,
            })?;
            let before = out.written + out.rows as u64;
            scan_file(path, max_record, &mut out)?;
            files += 1;
            tracing::debug!(
                file = path,
                rows = out.written + out.rows as u64 - before,
                "scanned"
            );
        }
    }
    out.flush()?;
    out.writer.finish().map_err(ExchangeError::Write)?;
    Ok(ScanCounts {
        files,
        rows: out.written,
    })
}

fn scan_file<W: Write>(file: &str, max_record: usize, out: &mut ScanOut<W>) -> Result<()> {
    let path = Path::new(file);
    if read::is_event_log(path) {
        return scan_event_log(file, out);
    }
    let mut reader = Reader::open(path)?.max_record(max_record);
    loop {
        let chunk = match reader.next_chunk() {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return Ok(()),
            Err(e) => {
                // What was decompressed before the break was scanned; the
                // break itself is one row, as it is one fault of `rate`.
                let d = e.downcast::<Damaged>()?;
                return out.push(ScanRow {
                    file,
                    offset: d.offset,
                    kind: RecordKind::Damaged,
                    session_id: None,
                    sequence: None,
                    duplicate_key: None,
                    time_of_origin: None,
                    raw: &[],
                    event_seconds: None,
                    detail: Some(crate::write::damaged_detail(&d)),
                });
            }
        };
        for item in chunk.records() {
            match item {
                Ok(rec) => scan_record(file, rec, out)?,
                Err(b) => out.push(ScanRow {
                    file,
                    offset: b.offset,
                    kind: RecordKind::Broken,
                    session_id: None,
                    sequence: None,
                    duplicate_key: None,
                    time_of_origin: None,
                    raw: b.bytes,
                    event_seconds: None,
                    detail: Some(crate::write::broken_detail(
                        &b.error,
                        b.bytes.len(),
                        crate::write::names::BROKEN,
                    )),
                })?,
            }
        }
        reader.recycle(chunk);
    }
}

fn scan_record<W: Write>(file: &str, rec: Framed<'_>, out: &mut ScanOut<W>) -> Result<()> {
    with_decoded(rec.bytes, |decoded| {
        let Ok(sdr) = decoded else {
            return out.push(ScanRow {
                file,
                offset: rec.offset,
                kind: RecordKind::Undecodable,
                session_id: None,
                sequence: None,
                duplicate_key: None,
                time_of_origin: None,
                raw: rec.bytes,
                event_seconds: None,
                detail: None,
            });
        };
        let h = &sdr.service_header;
        // One row per session the SDR carries events of (nearly always
        // one): a cluster gathers each session's events by session id.
        let mut sessions: Vec<(&str, i64)> = Vec::new();
        for sum in &sdr.service_usage_modules {
            if let ServiceSpecificPart::Known(ServicePart::SessionEvent(e)) = &sum.service_specific
            {
                let t = e.timestamp.0.timestamp();
                match sessions
                    .iter_mut()
                    .find(|(id, _)| *id == e.session_id.as_str())
                {
                    Some((_, newest)) => *newest = (*newest).max(t),
                    None => sessions.push((e.session_id.as_str(), t)),
                }
            }
        }
        let key = Some(Key::of(h).fingerprint().to_bytes());
        let time_of_origin = h.time_of_origin.to_string();
        if sessions.is_empty() {
            return out.push(ScanRow {
                file,
                offset: rec.offset,
                kind: RecordKind::Sdr,
                session_id: None,
                sequence: h.sequence_number,
                duplicate_key: key,
                time_of_origin: Some(time_of_origin),
                raw: rec.bytes,
                event_seconds: None,
                detail: None,
            });
        }
        for (id, newest) in sessions {
            out.push(ScanRow {
                file,
                offset: rec.offset,
                kind: RecordKind::SessionEvent,
                session_id: Some(id),
                sequence: h.sequence_number,
                duplicate_key: key,
                time_of_origin: Some(time_of_origin.clone()),
                raw: rec.bytes,
                event_seconds: Some(newest),
                detail: None,
            })?;
        }
        Ok(())
    })
}

/// An event log: one row a data row, `offset` its 1-based line (the CSV
/// header is line 1), `raw` its fields in `EVENT_COLUMNS` order as one CSV
/// line (a faulted JSON line: the line as it is).
fn scan_event_log<W: Write>(file: &str, out: &mut ScanOut<W>) -> Result<()> {
    for row in EventLog::open(Path::new(file))? {
        match row? {
            Row::Event(e) => {
                let fields = match &e.origin.raw {
                    crate::group::Raw::Row(r) => r.clone(),
                    crate::group::Raw::Sdr(_) => e.to_row(),
                };
                let line = match e.origin.position {
                    crate::group::Position::Line(n) => n,
                    crate::group::Position::Offset(n) => n,
                };
                out.push(ScanRow {
                    file,
                    offset: line,
                    kind: RecordKind::EventRow,
                    session_id: Some(&e.session_id),
                    sequence: e.sequence,
                    duplicate_key: None,
                    time_of_origin: Some(e.timestamp.to_string()),
                    raw: &csv_line(&fields)?,
                    event_seconds: Some(e.timestamp.0.timestamp()),
                    detail: None,
                })?;
            }
            Row::Fault(f) => {
                let raw = match &f.line_bytes {
                    Some(LineBytes::Held(bytes)) => bytes.clone(),
                    _ => csv_line(&f.row)?,
                };
                out.push(ScanRow {
                    file,
                    offset: f.line,
                    kind: RecordKind::BadEventRow,
                    session_id: f.row.first().map(String::as_str).filter(|s| !s.is_empty()),
                    sequence: None,
                    duplicate_key: None,
                    time_of_origin: None,
                    raw: &raw,
                    event_seconds: None,
                    detail: Some(f.cause.clone()),
                })?;
            }
        }
    }
    Ok(())
}

/// Fields as one CSV line, without its line break.
fn csv_line(fields: &[String]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(fields)?;
    let mut line = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    line.pop();
    Ok(line)
}

/// A variable-width column of either offset width: text (Utf8 or
/// LargeUtf8) or bytes (Binary or LargeBinary). Spark sends the narrow
/// ones; other writers may send either.
enum Var<'a, S: ByteArrayType, L: ByteArrayType> {
    Small(&'a GenericByteArray<S>),
    Large(&'a GenericByteArray<L>),
}

/// A text column.
type Text<'a> = Var<'a, Utf8Type, LargeUtf8Type>;
/// A binary column.
type Bytes<'a> = Var<'a, BinaryType, LargeBinaryType>;

impl<'a, S, L> Var<'a, S, L>
where
    S: ByteArrayType<Offset = i32>,
    L: ByteArrayType<Offset = i64, Native = S::Native>,
{
    fn of(batch: &'a RecordBatch, name: &'static str) -> Result<Self, ExchangeError> {
        let col = batch
            .column_by_name(name)
            .ok_or(ExchangeError::MissingColumn(name))?;
        if let Some(a) = col.as_bytes_opt::<S>() {
            Ok(Var::Small(a))
        } else if let Some(a) = col.as_bytes_opt::<L>() {
            Ok(Var::Large(a))
        } else {
            Err(ExchangeError::ColumnType {
                column: name,
                found: col.data_type().clone(),
                wanted: if S::DATA_TYPE == DataType::Utf8 {
                    "Utf8"
                } else {
                    "Binary"
                },
            })
        }
    }

    fn get(&self, row: usize) -> Option<&'a S::Native> {
        match self {
            Var::Small(a) => a.is_valid(row).then(|| a.value(row)),
            Var::Large(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// The columns of a scan batch that pricing reads.
struct Scanned<'a> {
    file: Text<'a>,
    offset: &'a Int64Array,
    kind: Text<'a>,
    raw: Bytes<'a>,
    /// Why the scan kept a row as a fault (optional).
    detail: Option<Text<'a>>,
}

impl<'a> Scanned<'a> {
    fn of(batch: &'a RecordBatch) -> Result<Self, ExchangeError> {
        Ok(Scanned {
            file: Text::of(batch, "source_file")?,
            offset: int64(batch, "offset")?.ok_or(ExchangeError::MissingColumn("offset"))?,
            kind: Text::of(batch, "record_kind")?,
            raw: Bytes::of(batch, "raw")?,
            detail: batch
                .column_by_name("fault_detail")
                .map(|_| Text::of(batch, "fault_detail"))
                .transpose()?,
        })
    }

    /// A row's file, offset, kind and bytes; a null is an error.
    fn row(&self, row: usize) -> Result<(&'a str, i64, RecordKind, &'a [u8]), ExchangeError> {
        let null = |column| ExchangeError::Null { column, row };
        let file = self.file.get(row).ok_or(null("source_file"))?;
        if self.offset.is_null(row) {
            return Err(null("offset"));
        }
        let offset = self.offset.value(row);
        let kind = self.kind.get(row).ok_or(null("record_kind"))?;
        let kind = RecordKind::parse(kind).ok_or_else(|| ExchangeError::UnknownKind {
            file: file.to_owned(),
            offset,
            kind: kind.to_owned(),
        })?;
        let raw = self.raw.get(row).ok_or(null("raw"))?;
        Ok((file, offset, kind, raw))
    }
}

/// An Int64 column, if the batch has one by that name.
fn int64<'a>(
    batch: &'a RecordBatch,
    name: &'static str,
) -> Result<Option<&'a Int64Array>, ExchangeError> {
    let Some(col) = batch.column_by_name(name) else {
        return Ok(None);
    };
    col.as_primitive_opt::<arrow_array::types::Int64Type>()
        .map(Some)
        .ok_or_else(|| ExchangeError::ColumnType {
            column: name,
            found: col.data_type().clone(),
            wanted: "Int64",
        })
}

/// A column of the input passed through to the output as it is: the same
/// array when its type is the output's, a copy into the narrower type when
/// it is a large variant, nulls when the input lacks it.
fn passed(
    batch: &RecordBatch,
    name: &'static str,
    wanted: &DataType,
) -> Result<ArrayRef, ExchangeError> {
    let n = batch.num_rows();
    let Some(col) = batch.column_by_name(name) else {
        return Ok(arrow_array::new_null_array(wanted, n));
    };
    if col.data_type() == wanted {
        return Ok(col.clone());
    }
    Ok(match wanted {
        DataType::Utf8 => {
            let t = Text::of(batch, name)?;
            Arc::new((0..n).map(|r| t.get(r)).collect::<StringArray>())
        }
        DataType::Binary => {
            let b = Bytes::of(batch, name)?;
            Arc::new((0..n).map(|r| b.get(r)).collect::<BinaryArray>())
        }
        _ => {
            return Err(ExchangeError::ColumnType {
                column: name,
                found: col.data_type().clone(),
                wanted: "Int64",
            });
        }
    })
}

/// What became of a row, as [`price`] writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PriceOutcome {
    /// Billed: `priced` is the priced SDR (as in `priced/*.sdr`).
    Priced,
    /// A price request answered (as in `answers.sdr`).
    PriceRequest,
    /// Passed on unpriced (as in `not-priced.sdr`).
    NotPriced,
    /// A second copy of an SDR billed earlier in the stream (as in
    /// `duplicates.sdr`).
    Duplicate,
    /// A record, stretch or stream break that faulted (`faults.sdr`,
    /// `broken.dat`; a stream break has no bytes).
    Fault,
    /// A session-event SDR or event-log row, passed through as read.
    SessionEvent,
    /// An event-log row that is not a valid event.
    BadEventRow,
}

impl PriceOutcome {
    pub fn name(self) -> &'static str {
        match self {
            PriceOutcome::Priced => "priced",
            PriceOutcome::PriceRequest => "priceRequest",
            PriceOutcome::NotPriced => "notPriced",
            PriceOutcome::Duplicate => "duplicate",
            PriceOutcome::Fault => "fault",
            PriceOutcome::SessionEvent => "sessionEvent",
            PriceOutcome::BadEventRow => "badEventRow",
        }
    }
}

/// A row worked on (in parallel), before the duplicate check (in order).
// Nearly every row is rated; boxing it would cost an allocation a row to
// shrink the rare kept one.
#[allow(clippy::large_enum_variant)]
enum Worked {
    /// Rated: what the rating job made of it, and the bytes it produced.
    Rated(Done, Vec<u8>),
    /// Not rated: passed on as it is.
    Kept(PriceOutcome, Option<FaultCause>),
}

/// What a price step wrote, by outcome.
pub type PriceCounts = std::collections::BTreeMap<&'static str, u64>;

/// Where [`price`] looks for copies of an SDR billed before.
#[derive(Debug, Clone, Copy)]
pub enum DuplicateCheck {
    /// Within the stream, as `rate` without a state directory: the first
    /// copy (in row order) is `priced`, later ones `duplicate`. No window.
    Stream,
    /// Left to the cluster, which joins `duplicate_key` against the keys
    /// billed on earlier nights and keeps the first copy of the night: no
    /// row is `duplicate` here. The window is checked row by row, as the
    /// index checks it before any lookup: a time of origin before it is a
    /// `tooOldForDuplicateCheck` fault, after it a `futureTimeOfOrigin`
    /// one, with `rate --state`'s bytes and details.
    Join(Window),
}

/// The analytics columns of a priced row.
#[derive(Default)]
struct Analytics {
    producer: StringBuilder,
    sdr_identifier: Int64Builder,
    customer: StringBuilder,
    marketing_company: StringBuilder,
    currency: StringBuilder,
    basic: StringBuilder,
    individual: StringBuilder,
}

impl Analytics {
    fn push(&mut self, head: Option<&Head>, totals: Option<&crate::rate::Totals>) {
        self.producer
            .append_option(head.map(|h| h.producer.as_str()));
        self.sdr_identifier
            .append_option(head.map(|h| i64::from(h.sdr_identifier)));
        self.customer
            .append_option(head.and_then(|h| h.customer.as_deref()));
        self.marketing_company
            .append_option(totals.map(|t| t.marketing_company.as_str()));
        self.currency
            .append_option(totals.map(|t| t.currency.as_str()));
        self.basic
            .append_option(totals.map(|t| t.basic.to_string()));
        self.individual
            .append_option(totals.map(|t| t.individual.to_string()));
    }

    fn finish(mut self) -> [ArrayRef; 7] {
        [
            Arc::new(self.producer.finish()),
            Arc::new(self.sdr_identifier.finish()),
            Arc::new(self.customer.finish()),
            Arc::new(self.marketing_company.finish()),
            Arc::new(self.currency.finish()),
            Arc::new(self.basic.finish()),
            Arc::new(self.individual.finish()),
        ]
    }
}

/// `sdrate spark price`: reads a [`scan_schema`] stream (extra columns
/// ignored) and writes the [`price_schema`] stream, one row per row read,
/// in the same order. With a `tag`, priced SDRs carry sdrate's
/// responsibility tag, as `rate --system-identity` writes them.
pub fn price(
    rater: &Rater,
    input: impl Read,
    output: impl Write,
    duplicates: DuplicateCheck,
    tag: Option<&Tag>,
) -> Result<PriceCounts> {
    let reader = StreamReader::try_new(input, None).map_err(ExchangeError::Read)?;
    let schema = price_schema();
    let mut writer = StreamWriter::try_new(output, &schema).map_err(ExchangeError::Write)?;
    let mut dedup = Dedup::Run(Default::default());
    let mut counts = PriceCounts::new();
    let needs = Needs {
        routed: false,
        // The index's fingerprint carries the time of origin the window
        // is checked against.
        indexed: matches!(duplicates, DuplicateCheck::Join(_)),
        export: true,
        fault_rows: false,
    };
    for batch in reader {
        let batch = batch.map_err(ExchangeError::Read)?;
        let cols = Scanned::of(&batch)?;
        let worked = (0..batch.num_rows())
            .into_par_iter()
            .map(|row| {
                let (file, offset, kind, raw) = cols.row(row)?;
                Ok(match kind {
                    RecordKind::Sdr | RecordKind::SessionEvent | RecordKind::Undecodable => {
                        let job = Responsible {
                            job: RateJob { rater, file, needs },
                            tag,
                        };
                        let rec = Framed {
                            offset: offset as u64,
                            bytes: raw,
                        };
                        let mut bytes = Vec::new();
                        let done = job.work(&rec, &mut bytes);
                        Worked::Rated(done, bytes)
                    }
                    RecordKind::Broken => {
                        Worked::Kept(PriceOutcome::Fault, Some(FaultCause::BrokenFraming))
                    }
                    RecordKind::Damaged => {
                        Worked::Kept(PriceOutcome::Fault, Some(FaultCause::DamagedCompression))
                    }
                    RecordKind::EventRow => Worked::Kept(PriceOutcome::SessionEvent, None),
                    RecordKind::BadEventRow => {
                        Worked::Kept(PriceOutcome::BadEventRow, Some(FaultCause::BadEventRow))
                    }
                })
            })
            .collect::<Result<Vec<Worked>, ExchangeError>>()?;
        let mut outcome = StringBuilder::new();
        let mut priced = BinaryBuilder::new();
        let mut cause = StringBuilder::new();
        let mut detail = StringBuilder::new();
        let mut analytics = Analytics::default();
        for (row, w) in worked.into_iter().enumerate() {
            let (_, _, _, raw) = cols.row(row)?;
            let mut billed = None;
            let (what, bytes, fault, why): (_, &[u8], _, _) = match &w {
                Worked::Kept(what, fault) => {
                    let why = cols.detail.as_ref().and_then(|d| d.get(row));
                    (*what, raw, *fault, why.map(str::to_owned))
                }
                Worked::Rated(done, produced) => match done {
                    Done::Priced(b) => {
                        let verdict = match (duplicates, &b.key) {
                            (DuplicateCheck::Stream, _) => dedup.check_and_stage(b.key)?,
                            (DuplicateCheck::Join(window), DupKey::Index(fp)) => {
                                window.outside(fp.seconds()).unwrap_or(Verdict::New)
                            }
                            (DuplicateCheck::Join(_), DupKey::Run(_)) => {
                                unreachable!("keys are made for the index (Needs::indexed)")
                            }
                        };
                        match verdict {
                            Verdict::New => {
                                billed = Some((b.head.as_deref(), &b.totals));
                                (PriceOutcome::Priced, &produced[b.range.clone()], None, None)
                            }
                            Verdict::Duplicate => (PriceOutcome::Duplicate, raw, None, None),
                            v @ (Verdict::TooOld | Verdict::Future) => {
                                let (c, d) = refusal(v);
                                (PriceOutcome::Fault, raw, Some(c), Some(d.to_owned()))
                            }
                        }
                    }
                    Done::Answered(range, _, _) => (
                        PriceOutcome::PriceRequest,
                        &produced[range.clone()],
                        None,
                        None,
                    ),
                    Done::NotPriced(..) => (PriceOutcome::NotPriced, raw, None, None),
                    Done::SessionEvent(_) => (PriceOutcome::SessionEvent, raw, None, None),
                    Done::Fault(f) => (
                        PriceOutcome::Fault,
                        f.labelled.as_deref().unwrap_or(raw),
                        Some(f.cause),
                        Some(f.detail.clone()),
                    ),
                },
            };
            *counts.entry(what.name()).or_default() += 1;
            outcome.append_value(what.name());
            priced.append_value(bytes);
            cause.append_option(fault.map(|c| c.name()));
            detail.append_option(why);
            match billed {
                Some((head, totals)) => analytics.push(head, Some(totals)),
                None => analytics.push(None, None),
            }
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for field in schema.fields().iter().take(8) {
            let name = field.name().as_str();
            let name: &'static str = PASSED.iter().find(|p| **p == name).expect("listed");
            columns.push(passed(&batch, name, field.data_type())?);
        }
        columns.push(Arc::new(outcome.finish()));
        columns.push(Arc::new(priced.finish()));
        columns.push(Arc::new(cause.finish()));
        columns.push(Arc::new(detail.finish()));
        columns.extend(analytics.finish());
        let out = RecordBatch::try_new(schema.clone(), columns).map_err(ExchangeError::Write)?;
        writer.write(&out).map_err(ExchangeError::Write)?;
    }
    writer.finish().map_err(ExchangeError::Write)?;
    Ok(counts)
}

/// The scan columns [`price`] passes through, in its schema's order.
const PASSED: [&str; 8] = [
    "source_file",
    "offset",
    "record_kind",
    "session_id",
    "sequence_number",
    "duplicate_key",
    "time_of_origin",
    "event_seconds",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_back() {
        for k in RecordKind::ALL {
            assert_eq!(RecordKind::parse(k.name()), Some(k));
        }
        assert_eq!(RecordKind::parse("SDR"), None);
    }

    #[test]
    fn csv_line_quotes_and_has_no_terminator() {
        let line = csv_line(&["a".into(), "b,c".into(), String::new()]).unwrap();
        assert_eq!(line, b"a,\"b,c\",");
    }
}
