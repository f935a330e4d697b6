//! `sdrate spark price --grouped`: multi-party sessions priced by a
//! cluster, one partition of sessions per process.
//!
//! The cluster sends every session row (session-event SDRs and event-log
//! rows of the night, and the events carried from the night before) to
//! the partition of its `session_id`, and sorts each partition by session
//! and then **arrival order** (carried events first, in the order they
//! were kept; then the night's inputs in `rate`'s input order, by offset).
//! Arrival order rather than sequence number, because the assembler's
//! answer can depend on it: a logoff numbered 4 that arrives before event
//! 2 of a session ending at 3 joins the session in `rate`, while sorted by
//! number it would come after the session completed and be late.
//!
//! Each session is assembled by a fresh [`Assembler`], the one `rate` uses,
//! and priced by `rate`'s own session pricing ([`price_and_encode_sdrs`]), so a
//! participation's bytes are those of `participations.sdr`. Sessions are
//! independent, so one at a time is `rate`'s answer, with two clocks to
//! mind:
//! - what ages open sessions at the end of the night is the newest event
//!   of the whole night in `rate`; the cluster passes it
//!   (`--newest-event`, the maximum of the scan's `event_seconds`);
//! - whether a copy arriving after its session completed is still
//!   recognised is decided, in `rate`, by the newest event seen so far
//!   across all sessions, here by the session's own newest event. They
//!   differ only when a copy arrives more than the longest session
//!   horizon after its session ended while other sessions moved `rate`'s
//!   clock on: `rate` then prices the copy as a new session, this as a
//!   late or duplicate event.
//!
//! Whether a priced session was billed on an earlier night is for the
//! cluster to decide, by joining the participations' `duplicate_key` with
//! the billed keys (any one billed makes the session a duplicate, as the
//! index decides it). The window is checked here, as the index checks it
//! before any lookup (`--duplicates join`).
//!
//! Output rows are written in input order per session; sessions complete
//! in the order of their rows. Nothing depends on the thread count:
//! sessions are assembled in order, priced in parallel per input batch,
//! written in order.

use std::io::{Read, Write};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::builder::{BinaryBuilder, Int64Builder, StringBuilder};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;
use rustc_hash::FxHashSet;

use super::{Bytes, ExchangeError, RecordKind, Text, csv_line, int64};
use crate::fault::FaultCause;
use crate::group::assemble::{Added, Assembler, Session};
use crate::group::duplicates::Window;
use crate::group::{Event, Position, Raw};
use crate::pipeline::blocks::{Job, with_decoded};
use crate::pipeline::record::{Done, Needs, RateJob, events_of};
use crate::pipeline::stage::{
    max_open_seconds, participation_key, price_and_encode_sdrs, session_refusal,
};
use crate::price::session::{PricedSession, SessionFault};
use crate::rate::Rater;
use crate::read::Framed;
use crate::read::events::{self, Row};

/// What `--grouped` is told beyond the rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// The newest event time of the night (UTC seconds).
    pub newest_event: Option<i64>,
    /// The duplicate-check window (`--duplicates join`), checked against
    /// each priced session's end.
    pub window: Option<Window>,
}

/// What became of a session row or a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A priced participation: `priced` is its SDR (participations.sdr).
    Participation,
    /// A priced session: one row, `events` its events.
    SessionPriced,
    /// An event dropped as a copy of one already held or priced.
    DuplicateEvent,
    /// An event after the end of its priced session (late-events.csv).
    LateEvent,
    /// An event kept for recycling (faults.sdr, faulted-events.csv).
    Fault,
    /// An event-log row that is not a valid event.
    BadEventRow,
    /// An event of a session still open: carried to the next night.
    Pending,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Participation => "participation",
            Outcome::SessionPriced => "sessionPriced",
            Outcome::DuplicateEvent => "duplicateEvent",
            Outcome::LateEvent => "lateEvent",
            Outcome::Fault => "fault",
            Outcome::BadEventRow => "badEventRow",
            Outcome::Pending => "pending",
        }
    }
}

/// The schema `--grouped` writes: one row per participation, priced
/// session, and event not priced (duplicate, late, faulted, pending).
/// Event rows carry the scan columns, so pending ones feed the next night
/// as they are (with `event_index` and `position`).
pub fn session_schema() -> SchemaRef {
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, true);
    let int = |name: &str| Field::new(name, DataType::Int64, true);
    let bin = |name: &str| Field::new(name, DataType::Binary, true);
    Arc::new(Schema::new(vec![
        Field::new("session_id", DataType::Utf8, false),
        Field::new("outcome", DataType::Utf8, false),
        utf8("source_file"),
        int("offset"),
        utf8("record_kind"),
        int("sequence_number"),
        utf8("time_of_origin"),
        int("event_seconds"),
        int("event_index"),
        int("position"),
        bin("raw"),
        bin("priced"),
        utf8("fault_cause"),
        utf8("fault_detail"),
        bin("duplicate_key"),
        int("events"),
        utf8("participant"),
        utf8("service"),
        utf8("start_of_use"),
        utf8("customer"),
        utf8("customer_group"),
        utf8("marketing_company"),
        utf8("currency"),
        utf8("basic_price"),
        utf8("individual_price"),
        utf8("vat_percent"),
        utf8("price_list"),
        int("revision"),
    ]))
}

/// An event as a row: where it came from and its bytes.
struct EventCols {
    file: String,
    offset: i64,
    kind: RecordKind,
    sequence: Option<i64>,
    time_of_origin: Option<String>,
    seconds: Option<i64>,
    index: Option<i64>,
    raw: Vec<u8>,
}

impl EventCols {
    /// `index`: which of its SDR's session events it is, for an event
    /// carried to the next night (which must add that one only).
    fn of(e: &Event, carried: bool) -> Result<Self> {
        let (offset, kind, raw, time_of_origin, index) = match (&e.origin.position, &e.origin.raw) {
            (Position::Offset(o), Raw::Sdr(bytes)) => {
                let (t, index) = if carried {
                    sdr_place(bytes, e)
                } else {
                    (None, None)
                };
                (*o, RecordKind::SessionEvent, bytes.clone(), t, index)
            }
            (position, raw) => {
                let line = match position {
                    Position::Line(l) | Position::Offset(l) => *l,
                };
                let fields = match raw {
                    Raw::Row(r) => r.clone(),
                    Raw::Sdr(_) => e.to_row(),
                };
                let t = Some(e.timestamp.to_string());
                (line, RecordKind::EventRow, csv_line(&fields)?, t, None)
            }
        };
        Ok(EventCols {
            file: e.origin.file.clone(),
            offset: offset as i64,
            kind,
            sequence: e.sequence.map(i64::from),
            time_of_origin,
            seconds: Some(e.timestamp.0.timestamp()),
            index,
            raw,
        })
    }
}

/// The time of origin of the SDR carrying `e`, and which of its session
/// events `e` is.
fn sdr_place(bytes: &[u8], e: &Event) -> (Option<String>, Option<i64>) {
    with_decoded(bytes, |d| match d {
        Ok(sdr) => {
            let t = sdr.service_header.time_of_origin.to_string();
            let rec = Framed { offset: 0, bytes };
            let want = e.to_row();
            let index = events_of::<Event, Vec<_>>(sdr, "", &rec)
                .iter()
                .position(|x| x.to_row() == want)
                .map(|i| i as i64);
            (Some(t), index)
        }
        Err(_) => (None, None),
    })
}

/// One output row, before it is written.
struct OutRow {
    session_id: String,
    outcome: Outcome,
    event: Option<EventCols>,
    position: Option<i64>,
    cause: Option<FaultCause>,
    detail: Option<String>,
}

impl OutRow {
    fn event(e: &Event, outcome: Outcome) -> Result<Self> {
        Ok(OutRow {
            session_id: e.session_id.to_string(),
            outcome,
            event: Some(EventCols::of(e, outcome == Outcome::Pending)?),
            position: None,
            cause: None,
            detail: None,
        })
    }

    fn fault(e: &Event, cause: FaultCause, detail: &str) -> Result<Self> {
        let mut row = Self::event(e, Outcome::Fault)?;
        row.cause = Some(cause);
        row.detail = Some(detail.to_owned());
        Ok(row)
    }
}

/// What the sequential pass leaves for writing: a row, or a session to
/// price (in parallel) first.
enum Item {
    Row(OutRow),
    Price(Session),
}

/// What one input row holds, decoded in parallel.
enum Decoded {
    Events(Vec<Event>),
    /// A row that is not an event: a bad event-log row, or a session-event
    /// SDR that faulted before its events could be read.
    Faulted(OutRow),
}

/// The session being assembled.
struct Current {
    id: String,
    assembler: Assembler,
}

/// The builders of a [`session_schema`] batch.
#[derive(Default)]
struct Builders {
    session_id: StringBuilder,
    outcome: StringBuilder,
    file: StringBuilder,
    offset: Int64Builder,
    kind: StringBuilder,
    sequence: Int64Builder,
    time_of_origin: StringBuilder,
    seconds: Int64Builder,
    index: Int64Builder,
    position: Int64Builder,
    raw: BinaryBuilder,
    priced: BinaryBuilder,
    cause: StringBuilder,
    detail: StringBuilder,
    key: BinaryBuilder,
    events: Int64Builder,
    participant: StringBuilder,
    service: StringBuilder,
    start: StringBuilder,
    customer: StringBuilder,
    group: StringBuilder,
    company: StringBuilder,
    currency: StringBuilder,
    basic: StringBuilder,
    individual: StringBuilder,
    vat: StringBuilder,
    list: StringBuilder,
    revision: Int64Builder,
    rows: usize,
}

impl Builders {
    fn row(&mut self, r: &OutRow) {
        self.session_id.append_value(&r.session_id);
        self.outcome.append_value(r.outcome.name());
        match &r.event {
            Some(e) => {
                self.file.append_value(&e.file);
                self.offset.append_value(e.offset);
                self.kind.append_value(e.kind.name());
                self.sequence.append_option(e.sequence);
                self.time_of_origin
                    .append_option(e.time_of_origin.as_deref());
                self.seconds.append_option(e.seconds);
                self.index.append_option(e.index);
                self.raw.append_value(&e.raw);
                // What `rate` keeps of a faulted event: the SDR, or the row.
                if r.outcome == Outcome::Fault || r.outcome == Outcome::BadEventRow {
                    self.priced.append_value(&e.raw);
                } else {
                    self.priced.append_null();
                }
            }
            None => {
                self.file.append_null();
                self.offset.append_null();
                self.kind.append_null();
                self.sequence.append_null();
                self.time_of_origin.append_null();
                self.seconds.append_null();
                self.index.append_null();
                self.raw.append_null();
                self.priced.append_null();
            }
        }
        self.position.append_option(r.position);
        self.cause.append_option(r.cause.map(|c| c.name()));
        self.detail.append_option(r.detail.as_deref());
        self.key.append_null();
        self.events.append_null();
        self.no_participation();
        self.rows += 1;
    }

    fn no_participation(&mut self) {
        for b in [
            &mut self.participant,
            &mut self.service,
            &mut self.start,
            &mut self.customer,
            &mut self.group,
            &mut self.company,
            &mut self.currency,
            &mut self.basic,
            &mut self.individual,
            &mut self.vat,
            &mut self.list,
        ] {
            b.append_null();
        }
        self.revision.append_null();
    }

    /// The row of a priced session, then one per participation.
    fn priced(&mut self, s: &Session, priced: &PricedSession, encoded: &[Vec<u8>]) {
        let f = &priced.facts;
        let end = f.end.to_string();
        let start = f.start.to_string();
        let common = |b: &mut Self, outcome: Outcome| {
            b.session_id.append_value(f.session_id.as_str());
            b.outcome.append_value(outcome.name());
            b.file.append_null();
            b.offset.append_null();
            b.kind.append_null();
            b.sequence.append_null();
            b.time_of_origin.append_value(&end);
            b.seconds.append_value(f.end.0.timestamp());
            b.index.append_null();
            b.position.append_null();
            b.raw.append_null();
            b.cause.append_null();
            b.detail.append_null();
            b.rows += 1;
        };
        common(self, Outcome::SessionPriced);
        self.priced.append_null();
        self.key.append_null();
        self.events.append_value(s.events.len() as i64);
        self.no_participation();
        for (p, bytes) in priced.participations.iter().zip(encoded) {
            common(self, Outcome::Participation);
            self.priced.append_value(bytes);
            self.key
                .append_value(participation_key(priced, p).fingerprint().to_bytes());
            self.events.append_null();
            self.participant
                .append_value(p.part.participant_id.as_str());
            self.service.append_value(f.service.as_str());
            self.start.append_value(&start);
            self.customer.append_value(p.customer.as_str());
            self.group.append_option(p.customer_group.as_deref());
            self.company.append_value(p.marketing_company.as_str());
            self.currency.append_value(p.currency.as_str());
            self.basic.append_value(p.basic.to_string());
            self.individual.append_value(p.individual.to_string());
            self.vat.append_value(p.vat_percent.to_string());
            self.list.append_value(&p.table);
            self.revision.append_value(i64::from(p.revision));
        }
    }

    fn finish(&mut self) -> Result<RecordBatch, ExchangeError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.session_id.finish()),
            Arc::new(self.outcome.finish()),
            Arc::new(self.file.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.sequence.finish()),
            Arc::new(self.time_of_origin.finish()),
            Arc::new(self.seconds.finish()),
            Arc::new(self.index.finish()),
            Arc::new(self.position.finish()),
            Arc::new(self.raw.finish()),
            Arc::new(self.priced.finish()),
            Arc::new(self.cause.finish()),
            Arc::new(self.detail.finish()),
            Arc::new(self.key.finish()),
            Arc::new(self.events.finish()),
            Arc::new(self.participant.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.start.finish()),
            Arc::new(self.customer.finish()),
            Arc::new(self.group.finish()),
            Arc::new(self.company.finish()),
            Arc::new(self.currency.finish()),
            Arc::new(self.basic.finish()),
            Arc::new(self.individual.finish()),
            Arc::new(self.vat.finish()),
            Arc::new(self.list.finish()),
            Arc::new(self.revision.finish()),
        ];
        self.rows = 0;
        RecordBatch::try_new(session_schema(), columns).map_err(ExchangeError::Write)
    }
}

/// A session priced, with its participation SDRs encoded, or why not.
type Priced = Result<(PricedSession, Vec<Vec<u8>>), SessionFault>;

/// What a grouped price step wrote, by outcome.
pub type Counts = std::collections::BTreeMap<&'static str, u64>;

/// The pricing state of a grouped stream.
struct Grouped<'r> {
    rater: &'r Rater,
    opts: &'r Options,
    current: Option<Current>,
    /// Fingerprints of the sessions finished, to refuse a stream whose
    /// rows of one session are not together.
    finished: FxHashSet<u64>,
    horizon: i64,
}

impl Grouped<'_> {
    /// Adds a row's events to its session, starting a new one when the id
    /// changes.
    fn add(&mut self, id: &str, decoded: Decoded, items: &mut Vec<Item>) -> Result<()> {
        if self.current.as_ref().is_none_or(|c| c.id != id) {
            self.finish(items)?;
            let print = xxhash_rust::xxh3::xxh3_64(id.as_bytes());
            if !self.finished.insert(print) {
                anyhow::bail!(
                    "the rows of session {id} are not together: partition the session rows by session_id and sort each partition by session_id, then arrival"
                );
            }
            self.current = Some(Current {
                id: id.to_owned(),
                assembler: Assembler::with_horizon(self.horizon),
            });
        }
        let current = self.current.as_mut().expect("started above");
        let events = match decoded {
            Decoded::Events(events) => events,
            Decoded::Faulted(row) => {
                items.push(Item::Row(row));
                return Ok(());
            }
        };
        for e in events {
            let added = current
                .assembler
                .add(e)
                .context("cannot remember the sessions priced so far")?;
            match added {
                Added::Held => {}
                Added::Duplicate(e) => {
                    items.push(Item::Row(OutRow::event(&e, Outcome::DuplicateEvent)?))
                }
                Added::Late(e) => items.push(Item::Row(OutRow::event(&e, Outcome::LateEvent)?)),
                Added::Conflict(e, why) => items.push(Item::Row(OutRow::fault(
                    &e,
                    FaultCause::SequenceConflict,
                    &why,
                )?)),
                Added::Complete(s) => items.push(Item::Price(s)),
            }
        }
        Ok(())
    }

    /// The end of the current session's rows: what completes now, what
    /// expired, what is carried.
    fn finish(&mut self, items: &mut Vec<Item>) -> Result<()> {
        let Some(mut current) = self.current.take() else {
            return Ok(());
        };
        if let Some(t) = self.opts.newest_event {
            current.assembler.saw(t);
        }
        let lists = &self.rater.lists;
        let finished = current.assembler.finish(|s| max_open_seconds(lists, s));
        items.extend(finished.complete.into_iter().map(Item::Price));
        for (s, why) in &finished.expired {
            for e in &s.events {
                items.push(Item::Row(OutRow::fault(
                    e,
                    FaultCause::SessionIncomplete,
                    why,
                )?));
            }
        }
        for s in &finished.pending {
            for (i, e) in s.events.iter().enumerate() {
                let mut row = OutRow::event(e, Outcome::Pending)?;
                row.position = Some(i as i64);
                items.push(Item::Row(row));
            }
        }
        Ok(())
    }

    /// Prices the sessions among `items` in parallel and writes everything
    /// in order.
    fn write(&self, items: Vec<Item>, out: &mut Builders, counts: &mut Counts) -> Result<()> {
        let rater = self.rater;
        let priced: Vec<Option<Priced>> = items
            .par_iter()
            .map(|item| match item {
                Item::Row(_) => None,
                Item::Price(s) => Some(price_and_encode_sdrs(rater, s)),
            })
            .collect();
        let mut count = |o: Outcome, n: u64| *counts.entry(o.name()).or_default() += n;
        for (item, result) in items.into_iter().zip(priced) {
            let s = match item {
                Item::Row(row) => {
                    count(row.outcome, 1);
                    out.row(&row);
                    continue;
                }
                Item::Price(s) => s,
            };
            let refused = match result.expect("priced above") {
                Ok((priced, encoded)) => {
                    let end = priced.facts.end.0.timestamp();
                    match self.opts.window.and_then(|w| w.outside(end)) {
                        None => {
                            count(Outcome::SessionPriced, 1);
                            count(Outcome::Participation, encoded.len() as u64);
                            out.priced(&s, &priced, &encoded);
                            continue;
                        }
                        Some(v) => {
                            let (cause, detail) = session_refusal(v);
                            (cause, detail.to_owned())
                        }
                    }
                }
                Err(f) => (f.status.into(), f.detail),
            };
            for e in &s.events {
                count(Outcome::Fault, 1);
                out.row(&OutRow::fault(e, refused.0, &refused.1)?);
            }
        }
        Ok(())
    }
}

/// The columns of a session row that grouped pricing reads.
struct SessionCols<'a> {
    file: Text<'a>,
    offset: &'a Int64Array,
    kind: Text<'a>,
    session_id: Text<'a>,
    event_index: Option<&'a Int64Array>,
    raw: Bytes<'a>,
}

/// Decodes one session row into its session's events.
fn decode(rater: &Rater, cols: &SessionCols<'_>, row: usize) -> Result<(String, Decoded)> {
    let null = |column| ExchangeError::Null { column, row };
    let file = cols.file.get(row).ok_or(null("source_file"))?;
    if cols.offset.is_null(row) {
        return Err(null("offset").into());
    }
    let offset = cols.offset.value(row);
    let kind = cols.kind.get(row).ok_or(null("record_kind"))?;
    let id = cols.session_id.get(row).ok_or(null("session_id"))?;
    let raw = cols.raw.get(row).ok_or(null("raw"))?;
    let index = cols
        .event_index
        .and_then(|a| a.is_valid(row).then(|| a.value(row)));
    let decoded = match RecordKind::parse(kind) {
        Some(RecordKind::SessionEvent) => {
            let needs = Needs {
                routed: false,
                indexed: false,
                export: false,
                fault_rows: false,
            };
            let job = RateJob { rater, file, needs };
            let rec = Framed {
                offset: offset as u64,
                bytes: raw,
            };
            match job.work(&rec, &mut Vec::new()) {
                Done::SessionEvent(events) => Decoded::Events(match index {
                    Some(i) => events
                        .into_iter()
                        .skip(i as usize)
                        .take(1)
                        .map(|r| *r.event)
                        .collect(),
                    None => events
                        .into_iter()
                        .filter(|r| r.event.session_id.as_str() == id)
                        .map(|r| *r.event)
                        .collect(),
                }),
                Done::Fault(f) => Decoded::Faulted(OutRow {
                    session_id: id.to_owned(),
                    outcome: Outcome::Fault,
                    event: Some(EventCols {
                        file: file.to_owned(),
                        offset,
                        kind: RecordKind::SessionEvent,
                        sequence: None,
                        time_of_origin: None,
                        seconds: None,
                        index,
                        raw: raw.to_vec(),
                    }),
                    position: None,
                    cause: Some(f.cause),
                    detail: Some(f.detail),
                }),
                _ => anyhow::bail!(
                    "{file} at {offset}: record_kind is sessionEvent but the SDR carries no session event"
                ),
            }
        }
        Some(RecordKind::EventRow) => match events::parse_line(file, offset as u64, raw) {
            Row::Event(e) => Decoded::Events(vec![e]),
            Row::Fault(f) => Decoded::Faulted(OutRow {
                session_id: id.to_owned(),
                outcome: Outcome::BadEventRow,
                event: Some(EventCols {
                    file: file.to_owned(),
                    offset,
                    kind: RecordKind::EventRow,
                    sequence: None,
                    time_of_origin: None,
                    seconds: None,
                    index: None,
                    raw: raw.to_vec(),
                }),
                position: None,
                cause: Some(FaultCause::BadEventRow),
                detail: Some(f.cause),
            }),
        },
        _ => anyhow::bail!(
            "{file} at {offset}: record_kind `{kind}` is not a session row (sessionEvent or eventRow); price it without --grouped"
        ),
    };
    Ok((id.to_owned(), decoded))
}

/// `sdrate spark price --grouped`: reads session rows (the scan schema,
/// plus `event_index` for carried events), gathered by `session_id` in
/// arrival order, and writes the [`session_schema`] stream.
pub fn price(
    rater: &Rater,
    input: impl Read,
    output: impl Write,
    opts: &Options,
) -> Result<Counts> {
    let reader = StreamReader::try_new(input, None).map_err(ExchangeError::Read)?;
    let mut writer =
        StreamWriter::try_new(output, &session_schema()).map_err(ExchangeError::Write)?;
    let mut state = Grouped {
        rater,
        opts,
        current: None,
        finished: FxHashSet::default(),
        horizon: rater.lists.longest_session_seconds(),
    };
    let mut counts = Counts::new();
    let mut out = Builders::default();
    for batch in reader {
        let batch = batch.map_err(ExchangeError::Read)?;
        let cols = SessionCols {
            file: Text::of(&batch, "source_file")?,
            offset: int64(&batch, "offset")?.ok_or(ExchangeError::MissingColumn("offset"))?,
            kind: Text::of(&batch, "record_kind")?,
            session_id: Text::of(&batch, "session_id")?,
            event_index: int64(&batch, "event_index")?,
            raw: Bytes::of(&batch, "raw")?,
        };
        let decoded = (0..batch.num_rows())
            .into_par_iter()
            .map(|row| decode(rater, &cols, row))
            .collect::<Result<Vec<_>>>()?;
        let mut items = Vec::new();
        for (id, d) in decoded {
            state.add(&id, d, &mut items)?;
        }
        state.write(items, &mut out, &mut counts)?;
        if out.rows > 0 {
            writer.write(&out.finish()?).map_err(ExchangeError::Write)?;
        }
    }
    let mut items = Vec::new();
    state.finish(&mut items)?;
    state.write(items, &mut out, &mut counts)?;
    if out.rows > 0 {
        writer.write(&out.finish()?).map_err(ExchangeError::Write)?;
    }
    writer.finish().map_err(ExchangeError::Write)?;
    Ok(counts)
}
