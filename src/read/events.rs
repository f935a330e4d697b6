//! Reading raw session event logs: CSV or JSON lines, one session event a
//! row, streamed into [`Event`]s with every bad row kept as a [`RowFault`].
//!
//! # Format
//!
//! An event log holds uncombined session events, the same eight fields as
//! the event message of a session-event SDR plus role, sequence number,
//! provider and free parameters. Two encodings are read, chosen by the file
//! extension (see [`super::EVENT_LOG_EXTENSIONS`]):
//!
//! * **CSV** (`.csv`): a header row, then one event a row. The columns are
//!   named as in [`EVENT_COLUMNS`] and may come in any order (spaces
//!   around a name are ignored, not around a value). Fields are
//!   separated by `,` and quoted with `"` as usual (a quoted field may hold
//!   commas, quotes doubled, and line breaks); blank lines are skipped; a
//!   UTF-8 byte order mark is ignored.
//! * **JSON lines** (`.jsonl`, `.ndjson`): one JSON object a line, with the
//!   column names as keys and strings as values (`sequence` may also be a
//!   number). A `null` value or an absent key is an empty field. Blank
//!   lines are skipped.
//!
//! | column           | required | content |
//! |------------------|----------|---------|
//! | `session_id`     | yes      | the session the event belongs to |
//! | `service`        | yes      | service feature code, e.g. `CONF` |
//! | `category`       | yes      | `sessionRelated`, `participantRelated`, `serviceProviderDefined`, `invitation` or `other` |
//! | `event_type`     | yes      | `start`, `join`, `suspend`, `resume`, `leave`, `invite`, `advertise`, `decline`, `withdrawAdvertisement`, `end`, `logon`, `logoff` or `providerDefined` |
//! | `provider_event` | for `providerDefined` | the provider's name for the event |
//! | `timestamp`      | yes      | RFC 3339 with a UTC offset: `2026-11-20T14:00:00+01:00` (or `Z`); the offset is kept |
//! | `participant_id` | yes      | unique within the session |
//! | `user_name`      | yes      | |
//! | `billed_party`   | yes      | the customer to bill |
//! | `role`           | no       | e.g. `organiser` |
//! | `sequence`       | no       | position in the session's sequence, a whole number from 1 |
//! | `provider`       | no       | the service provider, for third-party costing |
//! | `parameters`     | no       | `name=value` pairs separated by `;`, e.g. `maxParticipants=10;lang=sv`; a value may contain `=` but not `;` |
//!
//! An empty optional field is absent; an empty required field is missing.
//!
//! ```text
//! session_id,service,category,event_type,timestamp,participant_id,user_name,billed_party,role,sequence,parameters
//! conf-20261120-0031,CONF,sessionRelated,start,2026-11-20T14:00:00+01:00,p1,anna.berg,C00081,organiser,1,maxParticipants=10
//! conf-20261120-0031,CONF,participantRelated,join,2026-11-20T14:00:05+01:00,p1,anna.berg,C00081,organiser,2,
//! ```
//!
//! ```text
//! {"session_id":"conf-20261120-0031","service":"CONF","category":"participantRelated","event_type":"join","timestamp":"2026-11-20T14:00:05+01:00","participant_id":"p1","user_name":"anna.berg","billed_party":"C00081","role":"organiser","sequence":2}
//! ```
//!
//! # Faults
//!
//! A row that cannot be read whole is a [`RowFault`]: its file, its line
//! (1-based physical line; the CSV header is line 1; for a quoted field
//! that spans lines, the line the row starts on), why, and its fields in
//! [`EVENT_COLUMNS`] order, so that it can be written out, corrected and
//! fed in again. The rows around it are read as usual. Faults are:
//! a missing required field, an unknown category or event type, a
//! `providerDefined` event without `provider_event`, a timestamp that is
//! not RFC 3339 or has no UTC offset, a bad sequence number, a parameter
//! without `=`, a CSV row with more or fewer fields than the header,
//! invalid UTF-8, and a JSON line that is not a JSON object of the known
//! keys with string values (or longer than [`MAX_JSON_LINE`] bytes).
//!
//! A faulted JSON line also carries the line itself, byte for byte
//! ([`RowFault::line_bytes`]): its fields alone would lose unknown keys,
//! and everything of a line that is not a JSON object, so it could not be
//! corrected and recycled. A line longer than [`MAX_JSON_LINE`] is not held;
//! its offset and length in the file are, for the writer to copy it from
//! there. (A CSV row is whole in its fields.)
//!
//! A CSV header that lacks a required column or has an unknown or
//! duplicated column makes every data row of the file a fault naming the
//! header problem (fields of known columns still filled in by name).
//!
//! Only I/O failures opening or reading the file are errors.

use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sdr::event::{EVENT_COLUMNS, Event, Origin, Position, Raw};
use crate::sdr::{EventCategory, SessionEventType, Text, Timestamp};

/// Longest JSON line read; a longer one is a fault (and is not held in
/// memory), so a file without line breaks cannot exhaust memory.
pub const MAX_JSON_LINE: usize = 1 << 20;

/// Columns that must be in a CSV header and non-empty in every row.
const REQUIRED: [&str; 8] = [
    "session_id",
    "service",
    "category",
    "event_type",
    "timestamp",
    "participant_id",
    "user_name",
    "billed_party",
];

// Indexes into EVENT_COLUMNS.
const SESSION_ID: usize = 0;
const SERVICE: usize = 1;
const CATEGORY: usize = 2;
const EVENT_TYPE: usize = 3;
const PROVIDER_EVENT: usize = 4;
const TIMESTAMP: usize = 5;
const PARTICIPANT_ID: usize = 6;
const USER_NAME: usize = 7;
const BILLED_PARTY: usize = 8;
const ROLE: usize = 9;
const SEQUENCE: usize = 10;
const PROVIDER: usize = 11;
const PARAMETERS: usize = 12;

/// A row of an event log that could not be made into an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowFault {
    pub file: String,
    /// 1-based physical line (the CSV header is line 1).
    pub line: u64,
    /// Why, without file and line: `event_type "jion" is not a session
    /// event type`.
    pub cause: String,
    /// The row's fields in [`EVENT_COLUMNS`] order, missing ones empty.
    pub row: Vec<String>,
    /// For a JSON line: the line itself, byte for byte, to be kept for
    /// recycling instead of `row` (which loses unknown keys, and every
    /// field of a line that is not a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_bytes: Option<LineBytes>,
}

/// A faulted JSON line as it is in its file, without its line break.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineBytes {
    /// The line, held (at most [`MAX_JSON_LINE`] bytes).
    Held(#[serde(with = "hex")] Vec<u8>),
    /// A longer line, not held in memory: where it is in its file (in the
    /// decompressed stream of a compressed file), to be copied from there.
    At { offset: u64, length: u64 },
}

impl fmt::Display for RowFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", self.file, self.line, self.cause)
    }
}

/// One row of an event log.
// Nearly every row is an event; boxing it would cost an allocation a row
// to shrink the rare fault.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Event(Event),
    Fault(RowFault),
}

/// Streams the rows of one event log; memory is bounded by the longest
/// row, not the file.
pub struct EventLog {
    file: String,
    source: Source,
    /// After an I/O error nothing more is read.
    done: bool,
}

enum Source {
    Csv(CsvSource),
    Json(JsonSource),
}

struct CsvSource {
    reader: csv::Reader<LineIndex>,
    record: csv::ByteRecord,
    /// For each header position, its index in EVENT_COLUMNS (None for an
    /// unknown or repeated column).
    columns: Vec<Option<usize>>,
    /// What is wrong with the header, if anything.
    header_fault: Option<String>,
}

struct JsonSource {
    reader: BufReader<Box<dyn Read + Send>>,
    buf: Vec<u8>,
    /// Physical line number of the line in `buf`.
    line: u64,
    /// Byte offset in the file of the next line.
    offset: u64,
}

impl EventLog {
    /// Opens an event log file: JSON lines for `.jsonl` and `.ndjson`,
    /// CSV otherwise, decided by the name without a compression suffix
    /// (`x.jsonl.gz` is JSON lines); a gzip or zstd file is decompressed
    /// as it is read ([`super::compressed`]: lines, and the offsets of
    /// long lines, are those of the decompressed stream; a damaged stream
    /// is an error naming the file and the decompressed offset reached).
    /// Event logs are files only (no `-` for stdin).
    pub fn open(path: &Path) -> Result<EventLog> {
        let json = super::compressed::inner_name(path)
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| x.eq_ignore_ascii_case("jsonl") || x.eq_ignore_ascii_case("ndjson"));
        let (source, _) = super::compressed::open(path)?;
        Self::from_reader(&path.display().to_string(), json, source)
    }

    /// An event log over any byte source; `name` is the file named in
    /// origins and faults. For CSV the header is read here.
    pub fn from_reader(name: &str, json: bool, r: Box<dyn Read + Send>) -> Result<EventLog> {
        let source = if json {
            Source::Json(JsonSource {
                reader: BufReader::with_capacity(64 << 10, r),
                buf: Vec::new(),
                line: 0,
                offset: 0,
            })
        } else {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .flexible(true)
                .trim(csv::Trim::Headers)
                .from_reader(LineIndex::new(r));
            let header = reader
                .byte_headers()
                .with_context(|| format!("cannot read {}", name))?
                .clone();
            let (columns, header_fault) = map_header(&header);
            Source::Csv(CsvSource {
                reader,
                record: csv::ByteRecord::new(),
                columns,
                header_fault,
            })
        };
        Ok(EventLog {
            file: name.to_owned(),
            source,
            done: false,
        })
    }

    /// The file named in origins and faults.
    pub fn file(&self) -> &str {
        &self.file
    }

    fn next_csv(file: &str, src: &mut CsvSource) -> Result<Option<Row>> {
        let more = src
            .reader
            .read_byte_record(&mut src.record)
            .with_context(|| format!("cannot read {file}"))?;
        if !more {
            return Ok(None);
        }
        // The csv crate's line is that of the end of the previous record,
        // before blank lines and the `\n` of a `\r\n` are skipped.
        let (byte, line) = src
            .record
            .position()
            .map_or((0, 0), |p| (p.byte(), p.line()));
        let line = src.reader.get_mut().line_from(byte).unwrap_or(line);
        let mut fields = vec![String::new(); EVENT_COLUMNS.len()];
        let mut bad_utf8 = None;
        for (i, bytes) in src.record.iter().enumerate() {
            let Some(Some(c)) = src.columns.get(i) else {
                continue;
            };
            fields[*c] = match std::str::from_utf8(bytes) {
                Ok(s) => s.to_owned(),
                Err(_) => {
                    bad_utf8.get_or_insert(*c);
                    String::from_utf8_lossy(bytes).into_owned()
                }
            };
        }
        let fault = if let Some(h) = &src.header_fault {
            Some(h.clone())
        } else if src.record.len() != src.columns.len() {
            Some(format!(
                "{} fields where the header has {}",
                src.record.len(),
                src.columns.len()
            ))
        } else {
            bad_utf8.map(|c| format!("{} is not valid UTF-8", EVENT_COLUMNS[c]))
        };
        Ok(Some(convert(file, line, fields, fault)))
    }

    fn next_json(file: &str, src: &mut JsonSource) -> Result<Option<Row>> {
        loop {
            src.buf.clear();
            src.line += 1;
            let start = src.offset;
            let (n, whole, ending) = read_line_capped(&mut src.reader, &mut src.buf, MAX_JSON_LINE)
                .with_context(|| format!("cannot read {file}"))?;
            if n == 0 {
                return Ok(None);
            }
            src.offset += n as u64;
            if !whole {
                return Ok(Some(Row::Fault(RowFault {
                    file: file.to_owned(),
                    line: src.line,
                    cause: format!("line longer than {MAX_JSON_LINE} bytes"),
                    row: vec![String::new(); EVENT_COLUMNS.len()],
                    line_bytes: Some(LineBytes::At {
                        offset: start,
                        length: (n - ending) as u64,
                    }),
                })));
            }
            let mut text: &[u8] = &src.buf;
            if src.line == 1 {
                text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
            }
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mut row = json_row(file, src.line, text);
            if let Row::Fault(f) = &mut row {
                f.line_bytes = Some(LineBytes::Held(text.to_vec()));
            }
            return Ok(Some(row));
        }
    }
}

impl Iterator for EventLog {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let got = match &mut self.source {
            Source::Csv(src) => Self::next_csv(&self.file, src),
            Source::Json(src) => Self::next_json(&self.file, src),
        };
        match got {
            Ok(Some(row)) => Some(Ok(row)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Passes the CSV source through, noting where each line's content begins,
/// so that a record's physical line is known: the csv crate reports the
/// position where it started looking for the record, which is a line early
/// after a `\r\n` and before any blank lines.
struct LineIndex {
    inner: Box<dyn Read + Send>,
    /// Bytes passed through so far.
    offset: u64,
    /// Line of the next byte.
    line: u64,
    /// The next byte begins a line.
    at_line_start: bool,
    after_cr: bool,
    /// (offset, line) of each byte that follows a line break (or starts the
    /// input) and is not itself one, from the last record on. Bounded by
    /// the parser's read-ahead plus the longest record.
    starts: VecDeque<(u64, u64)>,
}

impl LineIndex {
    fn new(inner: Box<dyn Read + Send>) -> Self {
        LineIndex {
            inner,
            offset: 0,
            line: 1,
            at_line_start: true,
            after_cr: false,
            starts: VecDeque::new(),
        }
    }

    /// The line of the first byte at or after `from` that is not a line
    /// break: where a record found from `from` begins. Forgets everything
    /// up to it, so calls must come with rising `from`.
    fn line_from(&mut self, from: u64) -> Option<u64> {
        while let Some((offset, line)) = self.starts.pop_front() {
            if offset >= from {
                return Some(line);
            }
        }
        None
    }
}

impl Read for LineIndex {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // The csv crate gives up on an interrupted read; it is retried, as
        // the JSON reader retries it.
        let n = loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        for &b in &buf[..n] {
            match b {
                // A line ends at `\n`, `\r\n` or a lone `\r`, as for the
                // csv crate.
                b'\n' => {
                    if !self.after_cr {
                        self.line += 1;
                    }
                    self.after_cr = false;
                    self.at_line_start = true;
                }
                b'\r' => {
                    self.line += 1;
                    self.after_cr = true;
                    self.at_line_start = true;
                }
                _ => {
                    if self.at_line_start {
                        self.starts.push_back((self.offset, self.line));
                    }
                    self.at_line_start = false;
                    self.after_cr = false;
                }
            }
            self.offset += 1;
        }
        Ok(n)
    }
}

/// Maps header positions to EVENT_COLUMNS and describes what is wrong.
fn map_header(header: &csv::ByteRecord) -> (Vec<Option<usize>>, Option<String>) {
    let mut seen = [false; EVENT_COLUMNS.len()];
    let mut problems = Vec::new();
    let columns = header
        .iter()
        .map(|name| {
            let name = String::from_utf8_lossy(name);
            match EVENT_COLUMNS.iter().position(|c| *c == name) {
                Some(c) if seen[c] => {
                    problems.push(format!("column {name} appears twice"));
                    None
                }
                Some(c) => {
                    seen[c] = true;
                    Some(c)
                }
                None => {
                    problems.push(format!("unknown column \"{name}\""));
                    None
                }
            }
        })
        .collect();
    for (c, name) in EVENT_COLUMNS.iter().enumerate() {
        if !seen[c] && REQUIRED.contains(name) {
            problems.push(format!("required column {name} is missing"));
        }
    }
    let fault = (!problems.is_empty()).then(|| format!("bad header: {}", problems.join(", ")));
    (columns, fault)
}

/// Reads one line (its `\n` dropped) into `buf`, keeping at most `max`
/// bytes. Returns the bytes consumed (0 at the end of input) and whether
/// the line fitted.
fn read_line_capped(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(usize, bool, usize)> {
    let mut consumed = 0;
    let mut whole = true;
    let mut last_was_newline = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            break;
        }
        let (chunk, found) = match avail.iter().position(|b| *b == b'\n') {
            Some(i) => (&avail[..i], Some(i + 1)),
            None => (avail, None),
        };
        if whole && buf.len() + chunk.len() <= max {
            buf.extend_from_slice(chunk);
        } else {
            whole = false;
            buf.clear();
        }
        let used = found.unwrap_or(avail.len());
        r.consume(used);
        consumed += used;
        last_was_newline = found.is_some();
        if found.is_some() {
            break;
        }
    }
    // The line break's bytes (`\n` or `\r\n`), known only when the line
    // was held; a longer line keeps its `\r`.
    let mut ending = usize::from(consumed > 0 && last_was_newline);
    if buf.last() == Some(&b'\r') {
        buf.pop();
        ending += 1;
    }
    Ok((consumed, whole, ending))
}

/// A JSON object's members in order, duplicates kept (serde_json's map
/// would keep only the last).
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Members, A::Error> {
                let mut v = Vec::new();
                while let Some(entry) = m.next_entry::<String, Value>()? {
                    v.push(entry);
                }
                Ok(Members(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// One JSON line into a row (the line is not blank).
fn json_row(file: &str, line: u64, text: &[u8]) -> Row {
    let mut fields = vec![String::new(); EVENT_COLUMNS.len()];
    let lossy;
    let (text, mut fault) = match std::str::from_utf8(text) {
        Ok(s) => (s, None),
        Err(_) => {
            // Still read what can be read, for the fault's fields.
            lossy = String::from_utf8_lossy(text);
            (&*lossy, Some("line is not valid UTF-8".to_owned()))
        }
    };
    match serde_json::from_str::<Members>(text) {
        Err(e) if e.is_data() => {
            // Well-formed, but an array, a string, a number...
            fault.get_or_insert_with(|| "line is not a JSON object".to_owned());
        }
        Err(e) => {
            let msg = e.to_string();
            let msg = msg.rsplit_once(" at line ").map_or(&*msg, |(m, _)| m);
            fault.get_or_insert_with(|| format!("invalid JSON at column {}: {msg}", e.column()));
        }
        Ok(Members(members)) => {
            let mut seen = [false; EVENT_COLUMNS.len()];
            for (key, value) in members {
                let Some(c) = EVENT_COLUMNS.iter().position(|k| *k == key) else {
                    fault.get_or_insert_with(|| format!("unknown key \"{key}\""));
                    continue;
                };
                if std::mem::replace(&mut seen[c], true) {
                    fault.get_or_insert_with(|| format!("key {key} appears twice"));
                    continue;
                }
                fields[c] = match value {
                    Value::Null => String::new(),
                    Value::String(s) => s,
                    Value::Number(n) if c == SEQUENCE => n.to_string(),
                    other => {
                        fault.get_or_insert_with(|| format!("{key} is not a string"));
                        other.to_string()
                    }
                };
            }
        }
    }
    convert(file, line, fields, fault)
}

/// One row given as a CSV line of its fields in `EVENT_COLUMNS` order,
/// without its line break (as the events archive and the Arrow exchange
/// keep rows), at `line` of `file`: an event, or a fault.
pub fn parse_line(file: &str, line: u64, bytes: &[u8]) -> Row {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let fields = match reader.read_byte_record(&mut record) {
        Ok(_) => record
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect::<Vec<_>>(),
        Err(e) => {
            return convert(
                file,
                line,
                vec![String::new(); EVENT_COLUMNS.len()],
                Some(format!("not a CSV row: {e}")),
            );
        }
    };
    if fields.len() != EVENT_COLUMNS.len() {
        let n = fields.len();
        let mut padded = fields;
        padded.resize(EVENT_COLUMNS.len(), String::new());
        return convert(
            file,
            line,
            padded,
            Some(format!(
                "{n} fields where an event row has {}",
                EVENT_COLUMNS.len()
            )),
        );
    }
    convert(file, line, fields, None)
}

/// The shared last step: fields in EVENT_COLUMNS order (empty = absent)
/// into an event, or a fault (at once when `fault` is given).
fn convert(file: &str, line: u64, fields: Vec<String>, fault: Option<String>) -> Row {
    let result = match fault {
        Some(cause) => Err(cause),
        None => parse_fields(&fields),
    };
    match result {
        Ok(p) => Row::Event(Event {
            session_id: Text::from(fields[SESSION_ID].as_str()),
            service: Text::from(fields[SERVICE].as_str()),
            category: p.category,
            event_type: p.event_type,
            provider_event: optional(&fields[PROVIDER_EVENT]).map(Into::into),
            timestamp: p.timestamp,
            participant_id: Text::from(fields[PARTICIPANT_ID].as_str()),
            user_name: Text::from(fields[USER_NAME].as_str()),
            billed_party: Text::from(fields[BILLED_PARTY].as_str()),
            role: optional(&fields[ROLE]).map(Into::into),
            sequence: p.sequence,
            provider: optional(&fields[PROVIDER]).map(Into::into),
            marketing_company: None,
            parameters: p
                .parameters
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            origin: Origin {
                file: file.to_owned(),
                position: Position::Line(line),
                raw: Raw::Row(fields),
            },
        }),
        Err(cause) => Row::Fault(RowFault {
            file: file.to_owned(),
            line,
            cause,
            row: fields,
            line_bytes: None,
        }),
    }
}

fn optional(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// The fields that need parsing.
struct Parsed {
    category: EventCategory,
    event_type: SessionEventType,
    timestamp: Timestamp,
    sequence: Option<u32>,
    parameters: Vec<(String, String)>,
}

fn parse_fields(f: &[String]) -> Result<Parsed, String> {
    for name in REQUIRED {
        let c = EVENT_COLUMNS.iter().position(|k| *k == name).unwrap_or(0);
        if f[c].is_empty() {
            return Err(format!("{name} is missing"));
        }
    }
    let category = EventCategory::from_name(&f[CATEGORY])
        .ok_or_else(|| format!("category \"{}\" is not an event category", f[CATEGORY]))?;
    let event_type = SessionEventType::from_name(&f[EVENT_TYPE]).ok_or_else(|| {
        format!(
            "event_type \"{}\" is not a session event type",
            f[EVENT_TYPE]
        )
    })?;
    if event_type == SessionEventType::ProviderDefined && f[PROVIDER_EVENT].is_empty() {
        return Err("provider_event is missing for a providerDefined event".into());
    }
    let timestamp = parse_timestamp(&f[TIMESTAMP])?;
    let sequence = match f[SEQUENCE].as_str() {
        "" => None,
        s => match s.parse::<u32>() {
            Ok(0) => return Err("sequence \"0\" is not at least 1".into()),
            Ok(n) => Some(n),
            Err(_) => {
                return Err(format!(
                    "sequence \"{s}\" is not a whole number from 1 to {}",
                    u32::MAX
                ));
            }
        },
    };
    let parameters = parse_parameters(&f[PARAMETERS])?;
    Ok(Parsed {
        category,
        event_type,
        timestamp,
        sequence,
        parameters,
    })
}

fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    use chrono::format::ParseErrorKind;
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => Ok(Timestamp(t)),
        // chrono's other reasons ("premature end of input" for "yesterday")
        // say little; the expected form says more.
        Err(e) => Err(match e.kind() {
            ParseErrorKind::OutOfRange | ParseErrorKind::Impossible => {
                format!("timestamp \"{s}\" is out of range")
            }
            _ if ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .any(|fmt| chrono::NaiveDateTime::parse_from_str(s, fmt).is_ok()) =>
            {
                format!("timestamp \"{s}\" has no UTC offset")
            }
            _ => {
                format!("timestamp \"{s}\" is not an RFC 3339 time like 2026-11-20T14:00:00+01:00")
            }
        }),
    }
}

fn parse_parameters(s: &str) -> Result<Vec<(String, String)>, String> {
    s.split(';')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some(("", _)) => Err(format!("parameter \"{p}\" has no name")),
            Some((k, v)) => Ok((k.to_owned(), v.to_owned())),
            None => Err(format!("parameter \"{p}\" is not name=value")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(text: &str, json: bool) -> Vec<Row> {
        let name = if json { "events.jsonl" } else { "events.csv" };
        EventLog::from_reader(
            name,
            json,
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        )
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp(chrono::DateTime::parse_from_rfc3339(s).unwrap())
    }

    fn event(row: &Row) -> &Event {
        match row {
            Row::Event(e) => e,
            Row::Fault(f) => panic!("unexpected fault: {f}"),
        }
    }

    fn fault(row: &Row) -> &RowFault {
        match row {
            Row::Fault(f) => f,
            Row::Event(e) => panic!("expected a fault, got {e:?}"),
        }
    }

    const HEADER: &str = "session_id,service,category,event_type,provider_event,timestamp,participant_id,user_name,billed_party,role,sequence,provider,parameters\n";

    /// The seed's conference, extended by a third participant.
    fn conference_csv() -> String {
        let rows = [
            "sessionRelated,start,,2026-11-20T14:00:00+01:00,p1,anna.berg,C00081,organiser,1,prov-conf,maxParticipants=10;lang=sv",
            "participantRelated,join,,2026-11-20T14:00:05+01:00,p1,anna.berg,C00081,organiser,2,prov-conf,",
            "participantRelated,join,,2026-11-20T14:01:30+01:00,p2,jonas.lind,C00412,participant,3,prov-conf,",
            "participantRelated,join,,2026-11-20T14:02:00+01:00,p3,maria.ek,C00533,participant,4,prov-conf,",
            "participantRelated,suspend,,2026-11-20T14:20:00+01:00,p2,jonas.lind,C00412,participant,5,prov-conf,",
            "participantRelated,resume,,2026-11-20T14:25:00+01:00,p2,jonas.lind,C00412,participant,6,prov-conf,",
            "participantRelated,leave,,2026-11-20T14:30:00+01:00,p3,maria.ek,C00533,participant,7,prov-conf,reason=hangup",
            "participantRelated,leave,,2026-11-20T14:45:30+01:00,p2,jonas.lind,C00412,participant,8,prov-conf,",
            "participantRelated,leave,,2026-11-20T14:46:00+01:00,p1,anna.berg,C00081,organiser,9,prov-conf,",
            "sessionRelated,end,,2026-11-20T14:46:00+01:00,p1,anna.berg,C00081,organiser,10,prov-conf,",
        ];
        let mut s = HEADER.to_owned();
        for r in rows {
            s.push_str("conf-20261120-0031,CONF,");
            s.push_str(r);
            s.push('\n');
        }
        s
    }

    #[test]
    fn conference_csv_gives_every_field() {
        let rows = log(&conference_csv(), false);
        assert_eq!(rows.len(), 10);
        let e = event(&rows[0]);
        let want = Event {
            session_id: "conf-20261120-0031".into(),
            service: "CONF".into(),
            category: EventCategory::SessionRelated,
            event_type: SessionEventType::Start,
            provider_event: None,
            timestamp: ts("2026-11-20T14:00:00+01:00"),
            participant_id: "p1".into(),
            user_name: "anna.berg".into(),
            billed_party: "C00081".into(),
            role: Some("organiser".into()),
            sequence: Some(1),
            provider: Some("prov-conf".into()),
            marketing_company: None,
            parameters: vec![
                ("maxParticipants".into(), "10".into()),
                ("lang".into(), "sv".into()),
            ],
            origin: Origin {
                file: "events.csv".into(),
                position: Position::Line(2),
                raw: Raw::Row(
                    [
                        "conf-20261120-0031",
                        "CONF",
                        "sessionRelated",
                        "start",
                        "",
                        "2026-11-20T14:00:00+01:00",
                        "p1",
                        "anna.berg",
                        "C00081",
                        "organiser",
                        "1",
                        "prov-conf",
                        "maxParticipants=10;lang=sv",
                    ]
                    .map(String::from)
                    .to_vec(),
                ),
            },
        };
        assert_eq!(*e, want);
        // The offset is kept, not normalised to UTC.
        assert_eq!(e.timestamp.offset().local_minus_utc(), 3600);
        // Raw rows are what Event::to_row writes back.
        assert_eq!(Raw::Row(e.to_row()), e.origin.raw);

        use SessionEventType::*;
        let summary: Vec<_> = rows
            .iter()
            .map(event)
            .map(|e| {
                (
                    e.event_type,
                    e.participant_id.as_str(),
                    e.sequence,
                    e.origin.position,
                    e.timestamp.to_rfc3339(),
                )
            })
            .collect();
        let l = Position::Line;
        assert_eq!(
            summary,
            vec![
                (
                    Start,
                    "p1",
                    Some(1),
                    l(2),
                    "2026-11-20T14:00:00+01:00".into()
                ),
                (
                    Join,
                    "p1",
                    Some(2),
                    l(3),
                    "2026-11-20T14:00:05+01:00".into()
                ),
                (
                    Join,
                    "p2",
                    Some(3),
                    l(4),
                    "2026-11-20T14:01:30+01:00".into()
                ),
                (
                    Join,
                    "p3",
                    Some(4),
                    l(5),
                    "2026-11-20T14:02:00+01:00".into()
                ),
                (
                    Suspend,
                    "p2",
                    Some(5),
                    l(6),
                    "2026-11-20T14:20:00+01:00".into()
                ),
                (
                    Resume,
                    "p2",
                    Some(6),
                    l(7),
                    "2026-11-20T14:25:00+01:00".into()
                ),
                (
                    Leave,
                    "p3",
                    Some(7),
                    l(8),
                    "2026-11-20T14:30:00+01:00".into()
                ),
                (
                    Leave,
                    "p2",
                    Some(8),
                    l(9),
                    "2026-11-20T14:45:30+01:00".into()
                ),
                (
                    Leave,
                    "p1",
                    Some(9),
                    l(10),
                    "2026-11-20T14:46:00+01:00".into()
                ),
                (
                    End,
                    "p1",
                    Some(10),
                    l(11),
                    "2026-11-20T14:46:00+01:00".into()
                ),
            ]
        );
        let p3_leave = event(&rows[6]);
        assert_eq!(p3_leave.category, EventCategory::ParticipantRelated);
        assert_eq!(p3_leave.user_name, "maria.ek");
        assert_eq!(p3_leave.billed_party, "C00533");
        assert_eq!(
            p3_leave.parameters,
            vec![("reason".into(), "hangup".into())]
        );
        assert_eq!(event(&rows[1]).parameters, vec![]);
        assert_eq!(event(&rows[9]).category, EventCategory::SessionRelated);
    }

    #[test]
    fn columns_in_any_order_and_optional_ones_absent() {
        let text = "\u{feff}timestamp , billed_party,user_name,participant_id,event_type,category,service,session_id\n\
                    2026-11-20T14:01:30+01:00,C00412,jonas.lind,p2,join,participantRelated,CONF,conf-1\n\
                    \n\
                    2026-11-20T13:01:30Z,C00412,\"lind, jonas\",p2,leave,participantRelated,CONF,conf-1\n";
        let rows = log(text, false);
        assert_eq!(rows.len(), 2);
        let e = event(&rows[0]);
        assert_eq!(e.session_id, "conf-1");
        assert_eq!(e.service, "CONF");
        assert_eq!(e.category, EventCategory::ParticipantRelated);
        assert_eq!(e.event_type, SessionEventType::Join);
        assert_eq!(e.timestamp, ts("2026-11-20T14:01:30+01:00"));
        assert_eq!(e.participant_id, "p2");
        assert_eq!(e.user_name, "jonas.lind");
        assert_eq!(e.billed_party, "C00412");
        assert_eq!(
            (&e.role, e.sequence, &e.provider, &e.provider_event),
            (&None, None, &None, &None)
        );
        assert!(e.parameters.is_empty());
        assert_eq!(
            e.origin.raw,
            Raw::Row(
                [
                    "conf-1",
                    "CONF",
                    "participantRelated",
                    "join",
                    "",
                    "2026-11-20T14:01:30+01:00",
                    "p2",
                    "jonas.lind",
                    "C00412",
                    "",
                    "",
                    "",
                    ""
                ]
                .map(String::from)
                .to_vec()
            )
        );
        // The blank line counts as a line.
        let e = event(&rows[1]);
        assert_eq!(e.origin.position, Position::Line(4));
        assert_eq!(e.user_name, "lind, jonas");
        assert_eq!(e.timestamp.offset().local_minus_utc(), 0);
        assert_eq!(e.event_type, SessionEventType::Leave);
    }

    const GOOD: &str =
        "conf-1,CONF,participantRelated,join,,2026-11-20T14:00:05+01:00,p1,anna,C1,,,,";

    /// A fault row between two good ones: the fault at line 3, the good
    /// rows at lines 2 and 4.
    fn fault_between(bad: &str) -> RowFault {
        let rows = log(&format!("{HEADER}{GOOD}\n{bad}\n{GOOD}\n"), false);
        assert_eq!(rows.len(), 3, "{bad}");
        assert_eq!(event(&rows[0]).origin.position, Position::Line(2));
        assert_eq!(event(&rows[2]).origin.position, Position::Line(4));
        let f = fault(&rows[1]).clone();
        assert_eq!((f.file.as_str(), f.line), ("events.csv", 3), "{bad}");
        assert_eq!(f.row.len(), EVENT_COLUMNS.len());
        f
    }

    #[test]
    fn each_fault_names_its_cause_and_keeps_the_row() {
        let cases = [
            (
                "conf-1,CONF,participantRelated,join,,2026-11-20T14:00:05+01:00,p1,,C1,,,,",
                "user_name is missing",
            ),
            (
                "conf-1,,participantRelated,join,,2026-11-20T14:00:05+01:00,p1,anna,C1,,,,",
                "service is missing",
            ),
            (
                "conf-1,CONF,participantRelated,jion,,2026-11-20T14:00:05+01:00,p1,anna,C1,,,,",
                "event_type \"jion\" is not a session event type",
            ),
            (
                "conf-1,CONF,participant,join,,2026-11-20T14:00:05+01:00,p1,anna,C1,,,,",
                "category \"participant\" is not an event category",
            ),
            (
                "conf-1,CONF,serviceProviderDefined,providerDefined,,2026-11-20T14:00:05+01:00,p1,anna,C1,,,,",
                "provider_event is missing for a providerDefined event",
            ),
            (
                "conf-1,CONF,participantRelated,join,,2026-11-20T14:00:05,p1,anna,C1,,,,",
                "timestamp \"2026-11-20T14:00:05\" has no UTC offset",
            ),
            (
                "conf-1,CONF,participantRelated,join,,2026-11-20 14:00:05,p1,anna,C1,,,,",
                "timestamp \"2026-11-20 14:00:05\" has no UTC offset",
            ),
            (
                "conf-1,CONF,participantRelated,join,,yesterday,p1,anna,C1,,,,",
                "timestamp \"yesterday\" is not an RFC 3339 time like 2026-11-20T14:00:00+01:00",
            ),
            (
                "conf-1,CONF,participantRelated,join,,2026-11-31T14:00:05+01:00,p1,anna,C1,,,,",
                "timestamp \"2026-11-31T14:00:05+01:00\" is out of range",
            ),
            (
                "conf-1,CONF,participantRelated,join,,2026-11-20T14:00:05+01:00,p1,anna,C1,,0,,",
                "sequence \"0\" is not at least 1",
            ),
            (
                "conf-1,CONF,participantRelated,join,,2026-11-20T14:00:05+01:00,p1,anna,C1,,-3,,",
                "sequence \"-3\" is not a whole number from 1 to 4294967295",
            ),
            (
                "conf-1,CONF,participantRelated,join,,2026-11-20T14:00:05+01:00,p1,anna,C1,,x1,,",
                "sequence \"x1\" is not a whole number from 1 to 4294967295",
            ),
            (
                "conf-1,CONF,participantRelated,join,,2026-11-20T14:00:05+01:00,p1,anna,C1,,,,a=1;lang",
                "parameter \"lang\" is not name=value",
            ),
            (
                "conf-1,CONF,participantRelated,join,,2026-11-20T14:00:05+01:00,p1,anna,C1,,,,=1",
                "parameter \"=1\" has no name",
            ),
            (
                "conf-1,CONF,participantRelated,join,,2026-11-20T14:00:05+01:00,p1",
                "7 fields where the header has 13",
            ),
            (
                "conf-1,CONF,participantRelated,join,,2026-11-20T14:00:05+01:00,p1,anna,C1,,,,,extra",
                "14 fields where the header has 13",
            ),
        ];
        for (bad, cause) in cases {
            let f = fault_between(bad);
            assert_eq!(f.cause, cause, "{bad}");
            let mut want: Vec<String> = bad.split(',').map(String::from).collect();
            want.resize(EVENT_COLUMNS.len(), String::new());
            assert_eq!(f.row, want, "{bad}");
        }
    }

    #[test]
    fn invalid_utf8_is_a_fault_that_keeps_the_rest() {
        let mut text = format!("{HEADER}{GOOD}\n").into_bytes();
        text.extend_from_slice(
            b"conf-1,CONF,participantRelated,join,,2026-11-20T14:00:05+01:00,p1,an\xffna,C1,,,,\n",
        );
        text.extend_from_slice(format!("{GOOD}\n").as_bytes());
        let rows: Vec<Row> =
            EventLog::from_reader("e.csv", false, Box::new(std::io::Cursor::new(text)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        assert_eq!(rows.len(), 3);
        event(&rows[0]);
        event(&rows[2]);
        let f = fault(&rows[1]);
        assert_eq!(f.line, 3);
        assert_eq!(f.cause, "user_name is not valid UTF-8");
        assert_eq!(f.row[USER_NAME], "an\u{fffd}na");
        assert_eq!(f.row[SESSION_ID], "conf-1");
    }

    #[test]
    fn a_quoted_field_over_two_lines_counts_both() {
        let text = format!(
            "{HEADER}conf-1,CONF,participantRelated,join,,2026-11-20T14:00:05+01:00,p1,\"anna\nberg\",C1,,,,\n{GOOD}\n"
        );
        let rows = log(&text, false);
        assert_eq!(event(&rows[0]).user_name, "anna\nberg");
        assert_eq!(event(&rows[0]).origin.position, Position::Line(2));
        assert_eq!(event(&rows[1]).origin.position, Position::Line(4));
    }

    #[test]
    fn line_numbers_are_physical_with_crlf_blank_lines_and_lone_cr() {
        let lines = |text: &str| -> Vec<u64> {
            log(text, false)
                .iter()
                .map(|r| match r {
                    Row::Event(e) => match e.origin.position {
                        Position::Line(l) => l,
                        Position::Offset(_) => unreachable!(),
                    },
                    Row::Fault(f) => f.line,
                })
                .collect()
        };
        let h = HEADER.trim_end();
        assert_eq!(lines(&format!("{h}\r\n{GOOD}\r\n{GOOD}\r\n")), [2, 3]);
        assert_eq!(
            lines(&format!("\n{h}\r\n\r\n{GOOD}\r\n\r\n\n\r\n{GOOD}")),
            [4, 8]
        );
        assert_eq!(lines(&format!("{h}\r{GOOD}\r\r{GOOD}\r")), [2, 4]);
        // A fault after blank lines too, and a quoted field with blank
        // lines in it.
        let text = format!(
            "{h}\n\n{GOOD},x\n{GOOD}\nconf-1,CONF,participantRelated,join,,2026-11-20T14:00:05+01:00,p1,\"a\r\n\r\n\nb\",C1,,,,\n\n{GOOD}\n"
        );
        assert_eq!(lines(&text), [3, 4, 5, 10]);
    }

    #[test]
    fn json_lines_give_the_same_events_as_csv() {
        let csv_rows = log(&conference_csv(), false);
        let json = concat!(
            r#"{"session_id":"conf-20261120-0031","service":"CONF","category":"sessionRelated","event_type":"start","timestamp":"2026-11-20T14:00:00+01:00","participant_id":"p1","user_name":"anna.berg","billed_party":"C00081","role":"organiser","sequence":1,"provider":"prov-conf","parameters":"maxParticipants=10;lang=sv"}"#,
            "\n\n   \r\n",
            r#"{"sequence":"2","parameters":"","provider_event":null,"session_id":"conf-20261120-0031","service":"CONF","category":"participantRelated","event_type":"join","timestamp":"2026-11-20T14:00:05+01:00","participant_id":"p1","user_name":"anna.berg","billed_party":"C00081","role":"organiser","provider":"prov-conf"}"#,
            "\r\n",
            r#"{"session_id":"conf-20261120-0031","service":"CONF","category":"participantRelated","event_type":"leave","timestamp":"2026-11-20T14:30:00+01:00","participant_id":"p3","user_name":"maria.ek","billed_party":"C00533","role":"participant","sequence":7,"provider":"prov-conf","parameters":"reason=hangup"}"#,
        );
        let rows = log(json, true);
        assert_eq!(rows.len(), 3);
        for (row, (csv_index, line)) in rows.iter().zip([(0, 1), (1, 4), (6, 5)]) {
            let mut want = event(&csv_rows[csv_index]).clone();
            want.origin.file = "events.jsonl".into();
            want.origin.position = Position::Line(line);
            assert_eq!(*event(row), want);
        }
    }

    #[test]
    fn json_faults() {
        let good = r#"{"session_id":"s","service":"CONF","category":"other","event_type":"logon","timestamp":"2026-11-20T14:00:05+01:00","participant_id":"p1","user_name":"u","billed_party":"C1"}"#;
        let cases = [
            (
                r#"{"session_id":"s","#.to_owned(),
                "invalid JSON at column 18: EOF while parsing a value",
            ),
            ("[1, 2]".to_owned(), "line is not a JSON object"),
            (
                good.replace("\"user_name\"", "\"username\""),
                "unknown key \"username\"",
            ),
            (good.replace("\"u\"", "7"), "user_name is not a string"),
            (
                good.replace("}", ",\"sequence\":-1}"),
                "sequence \"-1\" is not a whole number from 1 to 4294967295",
            ),
            (
                good.replace("}", ",\"sequence\":2.5}"),
                "sequence \"2.5\" is not a whole number from 1 to 4294967295",
            ),
            (
                good.replace("}", ",\"service\":\"X\"}"),
                "key service appears twice",
            ),
            (
                good.replace("\"logon\"", "\"providerDefined\""),
                "provider_event is missing for a providerDefined event",
            ),
            (
                good.replace(",\"billed_party\":\"C1\"", ""),
                "billed_party is missing",
            ),
        ];
        for (bad, cause) in cases {
            let rows = log(&format!("{good}\n{bad}\n{good}\n"), true);
            assert_eq!(rows.len(), 3, "{bad}");
            assert_eq!(event(&rows[0]).origin.position, Position::Line(1));
            assert_eq!(event(&rows[2]).origin.position, Position::Line(3));
            let f = fault(&rows[1]);
            assert_eq!((f.line, f.cause.as_str()), (2, cause), "{bad}");
            assert_eq!(f.row.len(), EVENT_COLUMNS.len());
        }
        // What could be read is kept in the fault's fields.
        let rows = log(&good.replace("\"u\"", "7"), true);
        assert_eq!(fault(&rows[0]).row[USER_NAME], "7");
        assert_eq!(fault(&rows[0]).row[SESSION_ID], "s");

        let mut bytes = good.replace("\"u\"", "\"a\u{e9}\"").into_bytes();
        let at = bytes.iter().position(|b| *b == 0xC3).unwrap();
        bytes[at] = 0xFF;
        let rows: Vec<Row> =
            EventLog::from_reader("e.jsonl", true, Box::new(std::io::Cursor::new(bytes)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let f = fault(&rows[0]);
        assert_eq!(f.cause, "line is not valid UTF-8");
        assert_eq!(f.row[SESSION_ID], "s");
    }

    #[test]
    fn an_overlong_json_line_is_a_fault_and_reading_goes_on() {
        let good = r#"{"session_id":"s","service":"CONF","category":"other","event_type":"logon","timestamp":"2026-11-20T14:00:05+01:00","participant_id":"p1","user_name":"u","billed_party":"C1"}"#;
        let long = "x".repeat(MAX_JSON_LINE + 1);
        let rows = log(&format!("{long}\n{good}"), true);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            fault(&rows[0]).cause,
            format!("line longer than {MAX_JSON_LINE} bytes")
        );
        assert_eq!(event(&rows[1]).origin.position, Position::Line(2));
    }

    #[test]
    fn a_bad_header_faults_every_row() {
        let cases = [
            (
                "session_id,service,category,event_type,timestamp,participant_id,user_name,billed_party,colour\n",
                "bad header: unknown column \"colour\"",
            ),
            (
                "session_id,service,category,event_type,timestamp,participant_id,user_name,service\n",
                "bad header: column service appears twice, required column billed_party is missing",
            ),
        ];
        for (header, cause) in cases {
            let text = format!(
                "{header}conf-1,CONF,participantRelated,join,2026-11-20T14:00:05+01:00,p1,anna,C1\n\
                 conf-1,CONF,participantRelated,leave,2026-11-20T14:10:05+01:00,p1,anna,C1\n"
            );
            let rows = log(&text, false);
            assert_eq!(rows.len(), 2);
            for (row, line) in rows.iter().zip([2, 3]) {
                let f = fault(row);
                assert_eq!((f.line, f.cause.as_str()), (line, cause));
                assert_eq!(f.row[SESSION_ID], "conf-1");
                assert!(!f.row[TIMESTAMP].is_empty());
                assert_eq!(f.row[PARTICIPANT_ID], "p1");
            }
        }
    }

    #[test]
    fn an_empty_file_has_no_rows() {
        assert!(log("", false).is_empty());
        assert!(log("", true).is_empty());
        assert!(log(HEADER, false).is_empty());
    }

    #[test]
    fn read_errors_name_the_file_and_stop() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("disk on fire"));
                }
                let line = format!("{GOOD}\n");
                self.0 -= 1;
                let n = line.len().min(buf.len());
                buf[..n].copy_from_slice(&line.as_bytes()[..n]);
                Ok(n)
            }
        }
        // The header read fails.
        let err = EventLog::from_reader("x.csv", false, Box::new(Failing(0)))
            .err()
            .unwrap();
        assert_eq!(format!("{err:#}"), "cannot read x.csv: disk on fire");
        // A read fails after one line (a CSV row, so not JSON: a fault).
        let mut log = EventLog::from_reader("x.jsonl", true, Box::new(Failing(1))).unwrap();
        assert!(matches!(log.next(), Some(Ok(Row::Fault(_)))));
        let err = log.next().unwrap().unwrap_err();
        assert_eq!(format!("{err:#}"), "cannot read x.jsonl: disk on fire");
        assert!(log.next().is_none());
    }

    #[test]
    fn directories_give_sdr_files_and_event_logs() {
        use crate::read::{expand_inputs, is_event_log};
        assert!(is_event_log(Path::new("a/b.csv")));
        assert!(is_event_log(Path::new("b.JSONL")));
        assert!(is_event_log(Path::new("b.NdJson")));
        assert!(!is_event_log(Path::new("b.sdr")));
        assert!(!is_event_log(Path::new("csv")));
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.csv", "a.sdr", "c.ndjson", "d.JSONL", "e.txt", ".f.csv", "g.BER",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("h.csv")).unwrap();
        let got: Vec<String> = expand_inputs(&[dir.path().to_path_buf()])
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, ["a.sdr", "b.csv", "c.ndjson", "d.JSONL", "g.BER"]);
    }

    #[test]
    fn open_picks_the_format_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("a.CSV");
        std::fs::write(&csv, conference_csv()).unwrap();
        let n = EventLog::open(&csv)
            .unwrap()
            .filter(|r| matches!(r, Ok(Row::Event(_))))
            .count();
        assert_eq!(n, 10);
        let json = dir.path().join("a.ndjson");
        std::fs::write(
            &json,
            r#"{"session_id":"s","service":"CONF","category":"other","event_type":"logon","timestamp":"2026-11-20T14:00:05+01:00","participant_id":"p1","user_name":"u","billed_party":"C1"}"#,
        )
        .unwrap();
        let rows: Vec<Row> = EventLog::open(&json).unwrap().map(Result::unwrap).collect();
        assert_eq!(event(&rows[0]).origin.file, json.display().to_string());
        let missing = dir.path().join("nope.csv");
        let err = EventLog::open(&missing).err().unwrap();
        assert!(format!("{err:#}").starts_with(&format!("cannot open {}", missing.display())));
    }
}
