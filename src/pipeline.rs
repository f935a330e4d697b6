//! The rating run: read every input in order, rate records in parallel
//! chunks, and hand results to one writer per output in input order, so the
//! output is byte-identical at any thread count and memory does not grow
//! with the input.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::group::assemble::{Added, Assembler, Session};
use crate::group::duplicates::{DuplicateIndex, Fingerprint, Key, Verdict};
use crate::group::{EVENT_COLUMNS, Event, Origin, Position, Raw};
use crate::price::session::{PricedSession, SessionFault, price_session};
use crate::rate::{Outcome, Rater, Totals};
use crate::read::events::{EventLog, LineBytes, Row, RowFault};
use crate::read::origins::{self, KeptInput, Origins, Source};
use crate::read::{self, Chunk, Framed, Reader};
use crate::resolve::policy::DEFAULT_MAX_OPEN_HOURS;
use crate::sdr::StatusIndicator;
use crate::sdr::{ServiceDetailRecord, Text};
use crate::state::publish::InputFile;
use crate::write::BROKEN_FRAMING;
use crate::write::subscribers::{self, RouteCounts, Routing};
use crate::write::usage::{SessionUsage, UsageAnalysis};
use crate::write::{Kept, append_priced, priced_bytes, sessions};

pub use crate::write::names;

/// Counts and money of one run. Records read always equal priced + price
/// requests + not priced + session events + faulted + duplicates.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub sdrate_version: &'static str,
    pub run_id: String,
    pub dry_run: bool,
    pub inputs: Vec<String>,
    /// Inputs a published run had already consumed: not rated again.
    pub skipped_inputs: Vec<String>,
    pub records_read: u64,
    pub priced: u64,
    pub price_requests: u64,
    pub not_priced: u64,
    /// Of the not priced: quality-assurance SDRs, priced into
    /// quality-assurance.csv only.
    pub quality_assurance: u64,
    pub session_events: u64,
    pub faulted: u64,
    /// Billing SDRs already billed (same producer, SDR identifier and time
    /// of origin), within the duplicate-check window.
    pub duplicates: u64,
    pub accounting_identity_holds: bool,
    pub faults_by_cause: BTreeMap<String, u64>,
    /// Runs of fill bytes (00 or FF) between or after records: skipped,
    /// not faults.
    pub padding: PaddingReport,
    /// Session events and what became of them.
    pub sessions: SessionCounts,
    /// Priced SDRs per subscriber, and those nobody subscribed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<RouteCounts>,
    /// currency -> marketing company -> totals (priced SDRs and priced
    /// participations; not price-request answers).
    pub totals: BTreeMap<String, BTreeMap<String, Money>>,
    /// The totals while the run goes on, by (currency, marketing company):
    /// a handful of entries searched in order is cheaper per priced SDR
    /// than two string-keyed tree lookups. Moved into `totals` when the
    /// run ends ([`Summary::settle_totals`]).
    #[serde(skip)]
    running: Vec<(Text, Text, Money)>,
}

/// Runs of fill bytes the reader skipped: how many, how many bytes, and
/// the first [`PaddingReport::LISTED`] of them by file and offset (a
/// bounded list, so a hostile input cannot grow the summary).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct PaddingReport {
    pub runs: u64,
    pub bytes: u64,
    pub first: Vec<PaddingRun>,
    /// Where the last run ended (file, offset): a run a block boundary
    /// cut in two is one run.
    #[serde(skip)]
    last_end: Option<(String, u64)>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PaddingRun {
    pub file: String,
    pub offset: u64,
    pub length: u64,
}

impl PaddingReport {
    pub const LISTED: usize = 100;

    /// One run of `length` fill bytes at `offset` of `file`.
    pub fn add(&mut self, file: &str, offset: u64, length: u64) {
        self.bytes += length;
        let continues = matches!(&self.last_end, Some((f, end)) if f == file && *end == offset);
        self.last_end = Some((file.to_owned(), offset + length));
        if continues {
            if let Some(last) = self.first.last_mut()
                && last.file == file
                && last.offset + last.length == offset
            {
                last.length += length;
            }
            return;
        }
        self.runs += 1;
        if self.first.len() < Self::LISTED {
            self.first.push(PaddingRun {
                file: file.to_owned(),
                offset,
                length,
            });
        }
    }
}

/// Session events in, and where each went. Events read (from session-event
/// SDRs and good event-log rows) plus those carried in from the state
/// directory always equal duplicates + priced + faulted + pending; event-log
/// rows always equal good rows + faulted rows.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct SessionCounts {
    pub event_log_rows: u64,
    pub event_rows_faulted: u64,
    pub events_read: u64,
    pub events_carried_in: u64,
    pub duplicate_events: u64,
    pub events_priced: u64,
    pub events_faulted: u64,
    pub events_pending: u64,
    pub sessions_priced: u64,
    /// Sessions an earlier run already billed (their events are counted
    /// as duplicates).
    pub duplicate_sessions: u64,
    pub sessions_faulted: u64,
    pub sessions_pending: u64,
    pub participations: u64,
}

impl SessionCounts {
    pub fn identity_holds(&self) -> bool {
        self.events_read + self.events_carried_in
            == self.duplicate_events
                + self.events_priced
                + self.events_faulted
                + self.events_pending
            && self.event_log_rows >= self.event_rows_faulted
    }
}

#[derive(Debug, Default, Serialize, PartialEq, Eq, Clone, Copy)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    pub basic: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub individual: Decimal,
}

impl Summary {
    pub fn identity_holds(&self) -> bool {
        self.sessions.identity_holds()
            && self.records_read
                == self.priced
                    + self.price_requests
                    + self.not_priced
                    + self.session_events
                    + self.faulted
                    + self.duplicates
    }

    /// One more record faulted, for `status`.
    fn count_fault(&mut self, status: &str) {
        self.faulted += 1;
        self.count_cause(status);
    }

    /// One more fault of `status` in the breakdown by cause.
    fn count_cause(&mut self, status: &str) {
        match self.faults_by_cause.get_mut(status) {
            Some(n) => *n += 1,
            None => {
                self.faults_by_cause.insert(status.to_owned(), 1);
            }
        }
    }

    fn add_totals(&mut self, t: &Totals) -> Result<()> {
        match self
            .running
            .iter_mut()
            .find(|(c, m, _)| *c == t.currency && *m == t.marketing_company)
        {
            Some((.., m)) => add_money(m, t),
            None => {
                let mut m = Money::default();
                add_money(&mut m, t)?;
                self.running
                    .push((t.currency.clone(), t.marketing_company.clone(), m));
                Ok(())
            }
        }
    }

    /// Moves the running totals into `totals`, where the summary shows
    /// them by currency and marketing company.
    fn settle_totals(&mut self) -> Result<()> {
        for (currency, marketing_company, m) in std::mem::take(&mut self.running) {
            let by_company = self.totals.entry(currency.to_string()).or_default();
            let total = by_company.entry(marketing_company.to_string()).or_default();
            add_money(
                total,
                &Totals {
                    currency,
                    marketing_company,
                    basic: m.basic,
                    individual: m.individual,
                },
            )?;
        }
        Ok(())
    }
}

fn add_money(m: &mut Money, t: &Totals) -> Result<()> {
    let overflow = || {
        anyhow::anyhow!(
            "the run total of {} for {} exceeds what an exact decimal holds",
            t.currency,
            t.marketing_company
        )
    };
    m.basic = m.basic.checked_add(t.basic).ok_or_else(overflow)?;
    m.individual = m
        .individual
        .checked_add(t.individual)
        .ok_or_else(overflow)?;
    Ok(())
}

/// What a worker made of one record; raw bytes stay in the input block.
enum Done {
    /// Where its priced bytes lie in its group's buffer ([`Group`]), the
    /// money, the duplicate-check key, and the priced SDR itself when
    /// subscribers are routed. The key is only made when a duplicate index
    /// checks it (a run with a state directory).
    Priced(
        Range<usize>,
        Totals,
        Option<Fingerprint>,
        Option<Box<ServiceDetailRecord>>,
    ),
    /// Where its answer lies in its group's buffer.
    Answered(Range<usize>),
    /// Passed on unpriced; a quality-assurance SDR with its report line.
    NotPriced(Option<Vec<String>>),
    /// Archived as it is; its events go to the session stage.
    SessionEvent(Vec<Event>),
    Fault {
        /// The record labelled with its pricing modules, when it decoded.
        labelled: Option<Vec<u8>>,
        sdr_identifier: Option<u32>,
        producer: Option<String>,
        status: String,
        detail: String,
    },
}

/// The session events an SDR carries, with where they came from. Takes the
/// record's strings (the record is done with) rather than copying them.
pub fn events_of(sdr: &mut ServiceDetailRecord, file: &str, rec: &Framed<'_>) -> Vec<Event> {
    use crate::sdr::{ServicePart, ServiceSpecificPart};
    use std::mem::take;
    let sequence = sdr.service_header.sequence_number;
    sdr.service_usage_modules
        .iter_mut()
        .filter_map(|sum| match &mut sum.service_specific {
            ServiceSpecificPart::Known(ServicePart::SessionEvent(e)) => Some(Event::from_sdr(
                e,
                sequence,
                Some(take(&mut sum.provider_identifier)).filter(|p| !p.is_empty()),
                take(&mut sum.marketing_company),
                Origin {
                    file: file.to_owned(),
                    position: Position::Offset(rec.offset),
                    raw: Raw::Sdr(rec.bytes.to_vec()),
                },
            )),
            _ => None,
        })
        .collect()
}

/// Columns of the quality-assurance report.
pub const QA_COLUMNS: [&str; 9] = [
    "sdr_identifier",
    "producer",
    "customer",
    "marketing_company",
    "currency",
    "basic_price",
    "individual_price",
    "status",
    "cause",
];

/// A quality-assurance SDR priced as if billed, as a report row.
fn qa_line(rater: &Rater, sdr: &ServiceDetailRecord) -> Vec<String> {
    let h = &sdr.service_header;
    let mut row = vec![
        h.sdr_identifier.to_string(),
        h.producer_identity.to_string(),
        h.customer_identity.clone().unwrap_or_default().to_string(),
        h.marketing_company.clone().unwrap_or_default().to_string(),
    ];
    match rater.rate_for_report(sdr) {
        Outcome::Priced(_, t) | Outcome::Answered(_, t) => row.extend([
            t.currency.to_string(),
            t.basic.to_string(),
            t.individual.to_string(),
            "priced".into(),
            String::new(),
        ]),
        Outcome::Fault(f) => row.extend([
            String::new(),
            String::new(),
            String::new(),
            f.status.to_string(),
            f.detail,
        ]),
        Outcome::NotPriced | Outcome::SessionEvent => row.extend([
            String::new(),
            String::new(),
            String::new(),
            "notPriceable".into(),
            "session events are priced per session".into(),
        ]),
    }
    row
}

/// What the writer will need of a priced record beyond its bytes.
#[derive(Debug, Clone, Copy)]
struct Needs {
    /// The decoded SDR, for subscriber routing.
    routed: bool,
    /// The duplicate-check key, for the state directory's index.
    keyed: bool,
}

fn work(rater: &Rater, file: &str, rec: &Framed<'_>, needs: Needs, out: &mut Vec<u8>) -> Done {
    thread_local! {
        // The record this thread decoded last, decoded into again: its
        // vectors and service part are reused rather than allocated and
        // moved for every record (see `read::decode_into`).
        static RECORD: RefCell<Option<ServiceDetailRecord>> = const { RefCell::new(None) };
    }
    RECORD.with_borrow_mut(|slot| match read::decode_into(rec.bytes, slot) {
        Ok(sdr) => rate_record(rater, file, rec, needs, sdr, out),
        Err(e) => Done::Fault {
            labelled: None,
            sdr_identifier: None,
            producer: None,
            status: "undecodable".into(),
            detail: e.to_string(),
        },
    })
}

/// [`work`] on a decoded record. The record stays the thread's, to be
/// decoded into again: what outlives the call is copied or taken from it.
/// Priced and answered records are appended to `out`.
fn rate_record(
    rater: &Rater,
    file: &str,
    rec: &Framed<'_>,
    needs: Needs,
    sdr: &mut ServiceDetailRecord,
    out: &mut Vec<u8>,
) -> Done {
    let label = |spms: &[crate::sdr::ServicePricingModule]| priced_bytes(rec.bytes, spms);
    let mut label_into = |spms: &[crate::sdr::ServicePricingModule]| {
        let start = out.len();
        match append_priced(rec.bytes, spms, out) {
            Ok(()) => Ok(start..out.len()),
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    };
    let fault = |sdr: &ServiceDetailRecord, status: StatusIndicator, detail: String, labelled| {
        Done::Fault {
            labelled,
            sdr_identifier: Some(sdr.service_header.sdr_identifier),
            producer: Some(sdr.service_header.producer_identity.to_string()),
            status: status.to_string(),
            detail,
        }
    };
    match rater.rate(sdr) {
        Outcome::Priced(spms, t) => match label_into(&spms) {
            Ok(b) => {
                let key = needs
                    .keyed
                    .then(|| Key::of(&sdr.service_header).fingerprint());
                let keep = needs.routed.then(|| {
                    let mut priced = Box::new(sdr.clone());
                    priced.service_pricing_modules = Some(spms);
                    priced
                });
                Done::Priced(b, t, key, keep)
            }
            Err(e) => fault(sdr, StatusIndicator::TechnicalError, format!("{e:#}"), None),
        },
        Outcome::Answered(spms, _) => match label_into(&spms) {
            Ok(b) => Done::Answered(b),
            Err(e) => fault(sdr, StatusIndicator::TechnicalError, format!("{e:#}"), None),
        },
        Outcome::NotPriced if Rater::is_quality_assurance(sdr) => {
            Done::NotPriced(Some(qa_line(rater, sdr)))
        }
        Outcome::NotPriced => Done::NotPriced(None),
        Outcome::SessionEvent => Done::SessionEvent(events_of(sdr, file, rec)),
        Outcome::Fault(f) => {
            let labelled = if f.spms.is_empty() {
                None
            } else {
                label(&f.spms).ok()
            };
            fault(sdr, f.status, f.detail, labelled)
        }
    }
}

/// Where the run writes, opened before any record is read.
pub struct Outputs {
    dir: PathBuf,
    answers: BufWriter<File>,
    not_priced: BufWriter<File>,
    session_events: BufWriter<File>,
    faults: Kept,
    broken: Kept,
    fault_report: csv::Writer<File>,
    participations: BufWriter<File>,
    /// The session reports, as CSV bytes that the parallel pricing step
    /// formats (`SessionRows`): the writer only copies them.
    participation_report: BufWriter<File>,
    cost_report: BufWriter<File>,
    event_rows: csv::Writer<File>,
    faulted_event_rows: csv::Writer<File>,
    faulted_event_lines: BufWriter<File>,
    duplicates: BufWriter<File>,
    qa_report: csv::Writer<File>,
    subscribers: Option<subscribers::Outputs>,
}

fn csv_with_header(dir: &Path, name: &str, header: &[&str]) -> Result<csv::Writer<File>> {
    let path = dir.join(name);
    let mut w = csv::Writer::from_path(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    w.write_record(header)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(w)
}

/// A CSV file whose rows arrive as formatted bytes ([`SessionRows`]).
fn bytes_with_header(dir: &Path, name: &str, header: &[&str]) -> Result<BufWriter<File>> {
    let path = dir.join(name);
    let mut w = create(&path)?;
    let mut head = csv::Writer::from_writer(Vec::new());
    head.write_record(header)
        .and_then(|()| head.flush().map_err(Into::into))
        .with_context(|| format!("cannot write {}", path.display()))?;
    w.write_all(head.get_ref())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(w)
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        1 << 16,
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    ))
}

impl Outputs {
    /// [`crate::state::publish::start_writeback`] for the large outputs
    /// (what is still in their buffers follows at the next call).
    fn start_writeback(&self) {
        use crate::state::publish::start_writeback;
        start_writeback(self.session_events.get_ref());
        start_writeback(self.participations.get_ref());
        start_writeback(self.participation_report.get_ref());
    }

    pub fn open(dir: &Path, routing: Option<&Routing>) -> Result<Self> {
        fs::create_dir_all(dir.join(names::PRICED_DIR))
            .with_context(|| format!("cannot create output directory {}", dir.display()))?;
        let report = dir.join(names::FAULT_REPORT);
        let mut fault_report = csv::Writer::from_path(&report)
            .with_context(|| format!("cannot create {}", report.display()))?;
        fault_report
            .write_record([
                "file",
                "offset",
                "length",
                "sdr_identifier",
                "producer",
                "status",
                "cause",
                "line",
            ])
            .with_context(|| format!("cannot write {}", report.display()))?;
        Ok(Outputs {
            dir: dir.to_path_buf(),
            answers: create(&dir.join(names::ANSWERS))?,
            not_priced: create(&dir.join(names::NOT_PRICED))?,
            session_events: create(&dir.join(names::SESSION_EVENTS))?,
            faults: Kept::create(dir, names::FAULTS, names::FAULT_INDEX)?,
            broken: Kept::create(dir, names::BROKEN, names::BROKEN_INDEX)?,
            fault_report,
            participations: create(&dir.join(names::PARTICIPATIONS))?,
            participation_report: bytes_with_header(
                dir,
                names::PARTICIPATION_REPORT,
                &sessions::PARTICIPATION_COLUMNS,
            )?,
            cost_report: bytes_with_header(dir, names::COSTS, &sessions::COST_COLUMNS)?,
            event_rows: csv_with_header(dir, names::SESSION_EVENT_ROWS, &EVENT_COLUMNS)?,
            faulted_event_rows: csv_with_header(dir, names::FAULTED_EVENT_ROWS, &EVENT_COLUMNS)?,
            faulted_event_lines: create(&dir.join(names::FAULTED_EVENT_LINES))?,
            duplicates: create(&dir.join(names::DUPLICATES))?,
            qa_report: csv_with_header(dir, names::QA_REPORT, &QA_COLUMNS)?,
            subscribers: routing
                .map(|r| subscribers::Outputs::open(r, &dir.join(names::SUBSCRIBERS_DIR)))
                .transpose()?,
        })
    }
}

/// Name of the priced output for an input: its file name, made unique by
/// position when two inputs share a name.
fn priced_name(path: &Path, index: usize, all: &[PathBuf]) -> String {
    let name = path.file_name().map_or_else(
        || "stdin.sdr".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let name = if name == "-" {
        "stdin.sdr".to_owned()
    } else {
        name
    };
    let clash = all
        .iter()
        .enumerate()
        .any(|(i, p)| i != index && p.file_name() == path.file_name());
    if clash {
        format!("{index:04}-{name}")
    } else {
        name
    }
}

/// The session stage of a run: the event router, the sessions ready to
/// price, and the usage analysis.
struct SessionStage<'r> {
    rater: &'r Rater,
    /// The state directory's duplicate index, for billing SDRs and
    /// participations alike.
    dedup: Option<&'r mut DuplicateIndex>,
    assembler: Assembler,
    ready: Vec<Session>,
    usage: UsageAnalysis,
}

/// Sessions priced together, in parallel.
const SESSION_BATCH: usize = 4096;

/// A priced session's rows of the participation and cost reports, as CSV.
struct SessionRows {
    participations: Vec<u8>,
    costs: Vec<u8>,
}

/// Bytes a thread's CSV writer wrote, taken after each session.
#[derive(Clone, Default)]
struct Taken(std::rc::Rc<RefCell<Vec<u8>>>);

impl Write for Taken {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A thread's CSV writers for [`SessionRows`], each with the buffer it
/// writes into, and the text of the row being built.
struct Writers {
    parts: (csv::Writer<Taken>, Taken),
    costs: (csv::Writer<Taken>, Taken),
    text: String,
}

fn writer() -> (csv::Writer<Taken>, Taken) {
    let out = Taken::default();
    (csv::Writer::from_writer(out.clone()), out)
}

/// Formats [`SessionRows`] in the parallel pricing step, which leaves the
/// writer (one thread, in order) only their bytes to copy. Each thread
/// keeps its two CSV writers: a new one zeroes an 8 KiB buffer.
fn session_rows(priced: &PricedSession) -> Result<SessionRows, csv::Error> {
    fn writers() -> Writers {
        Writers {
            parts: writer(),
            costs: writer(),
            text: String::new(),
        }
    }
    thread_local! {
        static WRITERS: RefCell<Writers> = RefCell::new(writers());
    }
    WRITERS.with_borrow_mut(|w| {
        let rows = rows_into(priced, w);
        if rows.is_err() {
            // Nothing half-written may reach the next session's rows.
            *w = writers();
        }
        rows
    })
}

fn rows_into(priced: &PricedSession, w: &mut Writers) -> Result<SessionRows, csv::Error> {
    for p in &priced.participations {
        w.parts
            .0
            .write_record(sessions::participation_row(priced, p, &mut w.text))?;
    }
    for row in sessions::cost_rows(priced) {
        w.costs.0.write_record(row.iter().map(|f| f.as_bytes()))?;
    }
    w.parts.0.flush()?;
    w.costs.0.flush()?;
    Ok(SessionRows {
        participations: std::mem::take(&mut *w.parts.1.0.borrow_mut()),
        costs: std::mem::take(&mut *w.costs.1.0.borrow_mut()),
    })
}

fn price_and_encode(
    rater: &Rater,
    s: &Session,
) -> Result<(PricedSession, Vec<Vec<u8>>, SessionRows), SessionFault> {
    let priced = price_session(&rater.lists, &rater.customers, s)?;
    let rows = session_rows(&priced).map_err(|e| SessionFault {
        status: StatusIndicator::TechnicalError,
        detail: format!("session {}: cannot format its report rows: {e}", s.id),
    })?;
    let mut encoded = Vec::with_capacity(priced.participations.len());
    for (i, p) in priced.participations.iter().enumerate() {
        let sdr = sessions::participation_sdr(
            &priced,
            p,
            u32::try_from(i + 1).unwrap_or(u32::MAX),
            rater.pricing_time,
            &rater.pricing_identifier,
        )
        .and_then(|sdr| {
            crate::sdr::canonical::to_ber(&sdr).map_err(|e| anyhow::anyhow!("cannot encode: {e}"))
        })
        .map_err(|e| SessionFault {
            status: StatusIndicator::TechnicalError,
            detail: format!(
                "participation {} of session {}: {e:#}",
                p.part.participant_id, s.id
            ),
        })?;
        encoded.push(sdr);
    }
    Ok((priced, encoded, rows))
}

impl SessionStage<'_> {
    fn add(&mut self, e: Event, out: &mut Outputs, summary: &mut Summary) -> Result<()> {
        let added = self
            .assembler
            .add(e)
            .context("cannot remember the sessions priced so far")?;
        match added {
            Added::Held => {}
            Added::Duplicate(_) => summary.sessions.duplicate_events += 1,
            Added::Conflict(e, why) => {
                summary.sessions.events_faulted += 1;
                fault_event(&e, "sequenceConflict", &why, out, summary)?;
            }
            Added::Complete(s) => {
                self.ready.push(s);
                if self.ready.len() >= SESSION_BATCH {
                    self.price_ready(out, summary)?;
                }
            }
        }
        Ok(())
    }

    /// Prices the complete sessions in parallel and writes them in order.
    fn price_ready(&mut self, out: &mut Outputs, summary: &mut Summary) -> Result<()> {
        let ready = std::mem::take(&mut self.ready);
        let rater = self.rater;
        let results: Vec<_> = ready
            .par_iter()
            .map(|s| price_and_encode(rater, s))
            .collect();
        for (s, r) in ready.iter().zip(results) {
            let n = s.events.len() as u64;
            match r {
                Ok((priced, encoded, rows)) => match self.session_verdict(&priced) {
                    Verdict::New => {
                        summary.sessions.sessions_priced += 1;
                        summary.sessions.events_priced += n;
                        self.write_priced(&priced, &encoded, &rows, out, summary)?;
                    }
                    Verdict::Duplicate => {
                        // Billed by an earlier run: its events are
                        // duplicates, its participations kept aside.
                        summary.sessions.duplicate_sessions += 1;
                        summary.sessions.duplicate_events += n;
                        for bytes in &encoded {
                            out.duplicates
                                .write_all(bytes)
                                .with_context(|| format!("cannot write {}", names::DUPLICATES))?;
                        }
                    }
                    Verdict::TooOld => {
                        summary.sessions.sessions_faulted += 1;
                        summary.sessions.events_faulted += n;
                        for e in &s.events {
                            fault_event(
                                e,
                                "tooOldForDuplicateCheck",
                                "the session is older than the duplicate-check window: cannot prove it was not billed before",
                                out,
                                summary,
                            )?;
                        }
                    }
                },
                Err(f) => {
                    summary.sessions.sessions_faulted += 1;
                    summary.sessions.events_faulted += n;
                    let status = f.status.to_string();
                    for e in &s.events {
                        fault_event(e, &status, &f.detail, out, summary)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether a priced session was billed before: by its participations'
    /// identities (producer sdrate, a hash of session and participant, the
    /// session's last event), which pricing it again reproduces.
    fn session_verdict(&mut self, priced: &PricedSession) -> Verdict {
        let Some(d) = self.dedup.as_deref_mut() else {
            return Verdict::New;
        };
        let keys: Vec<Fingerprint> = priced
            .participations
            .iter()
            .map(|p| {
                Key {
                    producer: sessions::PRODUCER,
                    sdr_identifier: sessions::participation_id(
                        &priced.facts.session_id,
                        &p.part.participant_id,
                    ),
                    time_of_origin: priced.facts.end.0,
                }
                .fingerprint()
            })
            .collect();
        for k in &keys {
            match d.check(*k) {
                Verdict::New => {}
                other => return other,
            }
        }
        for k in keys {
            d.check_and_stage(k);
        }
        Verdict::New
    }

    fn write_priced(
        &mut self,
        priced: &PricedSession,
        encoded: &[Vec<u8>],
        rows: &SessionRows,
        out: &mut Outputs,
        summary: &mut Summary,
    ) -> Result<()> {
        let write_err = |what: &str| format!("cannot write {what}");
        let mut revenue = Vec::with_capacity(priced.participations.len());
        let mut active = 0u64;
        for (p, bytes) in priced.participations.iter().zip(encoded) {
            summary.sessions.participations += 1;
            out.participations
                .write_all(bytes)
                .with_context(|| write_err(names::PARTICIPATIONS))?;
            if let Some(subs) = out.subscribers.as_mut() {
                // Participation SDRs are priced SDRs too; decoding the bytes
                // just written routes exactly what was billed.
                let sdr = read::decode(bytes).map_err(|e| {
                    anyhow::anyhow!(
                        "participation SDR of {} does not decode: {e}",
                        priced.facts.session_id
                    )
                })?;
                subs.route(&sdr, bytes)?;
            }
            summary.add_totals(&Totals {
                currency: p.currency.clone(),
                marketing_company: p.marketing_company.clone(),
                basic: p.basic,
                individual: p.individual,
            })?;
            revenue.push((p.currency.clone(), p.individual));
            active = active.saturating_add(p.part.active_seconds());
        }
        out.participation_report
            .write_all(&rows.participations)
            .with_context(|| write_err(names::PARTICIPATION_REPORT))?;
        out.cost_report
            .write_all(&rows.costs)
            .with_context(|| write_err(names::COSTS))?;
        let cost: Vec<(Text, Decimal)> = priced
            .costs
            .iter()
            .map(|c| (Text::from(c.currency.as_str()), c.amount))
            .collect();
        self.usage.add(&SessionUsage {
            service: &priced.facts.service,
            day: priced.facts.start.0.date_naive(),
            participations: priced.participations.len() as u64,
            active_seconds: active,
            revenue: &revenue,
            cost: &cost,
        })
    }

    /// End of input: price what completes now, fault what is too old,
    /// carry the rest to the next run.
    fn finish(mut self, out: &mut Outputs, summary: &mut Summary) -> Result<Vec<Session>> {
        let lists = &self.rater.lists;
        let assembler = std::mem::take(&mut self.assembler);
        let finished = assembler.finish(|s| {
            s.events
                .first()
                .and_then(|e| price_session_policy(lists, &e.service, &e.timestamp))
                .unwrap_or(DEFAULT_MAX_OPEN_HOURS as i64 * 3600)
        });
        self.ready.extend(finished.complete);
        self.price_ready(out, summary)?;
        for (s, why) in &finished.expired {
            summary.sessions.sessions_faulted += 1;
            summary.sessions.events_faulted += s.events.len() as u64;
            for e in &s.events {
                fault_event(e, "sessionIncomplete", why, out, summary)?;
            }
        }
        summary.sessions.sessions_pending = finished.pending.len() as u64;
        summary.sessions.events_pending =
            finished.pending.iter().map(|s| s.events.len() as u64).sum();
        if !self.usage.is_empty() {
            self.usage.write_csv(&out.dir.join(names::USAGE))?;
            self.usage.write_svg(&out.dir.join(names::USAGE_CHART))?;
        }
        Ok(finished.pending)
    }
}

fn price_session_policy(
    lists: &crate::resolve::PriceLists,
    service: &str,
    at: &crate::sdr::Timestamp,
) -> Option<i64> {
    crate::price::session::policy_at(lists, service, at)
        .ok()
        .map(|p| p.max_open_seconds())
}

/// Keeps a session event that cannot be priced, as it arrived: an SDR in
/// the fault file, a row in the faulted-rows event log; both named in the
/// fault report.
fn fault_event(
    e: &Event,
    status: &str,
    cause: &str,
    out: &mut Outputs,
    summary: &mut Summary,
) -> Result<()> {
    summary.count_cause(status);
    let write_err = |what: &str| format!("cannot write {what}");
    match (&e.origin.raw, e.origin.position) {
        (Raw::Sdr(bytes), Position::Offset(off)) => {
            let src = Source {
                file: &e.origin.file,
                offset: off,
                length: bytes.len() as u64,
            };
            crate::write::fault_record(
                &mut out.faults,
                &mut out.fault_report,
                src,
                bytes,
                None,
                None,
                "",
                status,
                cause,
            )?;
        }
        (raw, position) => {
            let row = match raw {
                Raw::Row(r) => r.clone(),
                Raw::Sdr(_) => e.to_row(),
            };
            out.faulted_event_rows
                .write_record(&row)
                .with_context(|| write_err(names::FAULTED_EVENT_ROWS))?;
            let line = match position {
                Position::Line(l) => l.to_string(),
                Position::Offset(_) => String::new(),
            };
            out.fault_report
                .write_record([e.origin.file.as_str(), "", "", "", "", status, cause, &line])
                .with_context(|| write_err(names::FAULT_REPORT))?;
        }
    }
    Ok(())
}

/// Reads one event log: good rows are archived and routed to their
/// sessions, bad rows kept for recycling.
fn read_event_log(
    path: &Path,
    stage: &mut SessionStage<'_>,
    out: &mut Outputs,
    summary: &mut Summary,
) -> Result<()> {
    let write_err = |what: &str| format!("cannot write {what}");
    for row in EventLog::open(path)? {
        summary.sessions.event_log_rows += 1;
        match row? {
            Row::Event(e) => {
                summary.sessions.events_read += 1;
                let fields = match &e.origin.raw {
                    Raw::Row(r) => r.clone(),
                    Raw::Sdr(_) => e.to_row(),
                };
                out.event_rows
                    .write_record(&fields)
                    .with_context(|| write_err(names::SESSION_EVENT_ROWS))?;
                stage.add(e, out, summary)?;
            }
            Row::Fault(f) => {
                summary.sessions.event_rows_faulted += 1;
                summary.count_cause("badEventRow");
                keep_faulted_row(path, &f, out)?;
                out.fault_report
                    .write_record([
                        f.file.as_str(),
                        "",
                        "",
                        "",
                        "",
                        "badEventRow",
                        &f.cause,
                        &f.line.to_string(),
                    ])
                    .with_context(|| write_err(names::FAULT_REPORT))?;
            }
        }
    }
    stage.price_ready(out, summary)
}

/// Keeps a faulted event-log row for recycling: a JSON line byte for byte
/// in `faulted-events.jsonl` (a line too long to hold is copied from its
/// file), a CSV row in `faulted-events.csv`.
fn keep_faulted_row(path: &Path, f: &RowFault, out: &mut Outputs) -> Result<()> {
    let write_err = |what: &str| format!("cannot write {what}");
    let lines = &mut out.faulted_event_lines;
    match &f.line_bytes {
        None => out
            .faulted_event_rows
            .write_record(&f.row)
            .with_context(|| write_err(names::FAULTED_EVENT_ROWS))?,
        Some(LineBytes::Held(bytes)) => lines
            .write_all(bytes)
            .and_then(|()| lines.write_all(b"\n"))
            .with_context(|| write_err(names::FAULTED_EVENT_LINES))?,
        Some(LineBytes::At { offset, length }) => {
            let (offset, length) = (*offset, *length);
            use std::io::{Read, Seek, SeekFrom};
            let mut src =
                File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            src.seek(SeekFrom::Start(offset))
                .with_context(|| format!("cannot read {}", path.display()))?;
            let copied = std::io::copy(&mut src.take(length), lines)
                .with_context(|| write_err(names::FAULTED_EVENT_LINES))?;
            if copied != length {
                anyhow::bail!(
                    "cannot read {}: it changed while it was read (line {})",
                    path.display(),
                    f.line
                );
            }
            lines
                .write_all(b"\n")
                .with_context(|| write_err(names::FAULTED_EVENT_LINES))?;
        }
    }
    Ok(())
}

/// One block rated: its records' spans in `block.data`, what the workers
/// made of each (in groups of consecutive records), and where the framing
/// broke, if it did.
struct Rated {
    block: Chunk,
    spans: Vec<Range<usize>>,
    groups: Vec<Group>,
    /// Stretches of `block.data` that cannot be framed, and why, in order.
    broken: Vec<(Range<usize>, read::FrameError)>,
}

/// Records a worker rates in one go: a buffer per group, rather than per
/// record, holds their priced bytes, so the writer frees one buffer per
/// group instead of one (allocated on another thread) per record.
struct Group {
    bytes: Vec<u8>,
    done: Vec<Done>,
}

/// Records per [`Group`]: enough that a buffer is shared widely, few
/// enough that a block splits into many tasks for the threads.
const GROUP_RECORDS: usize = 64;

/// The vectors one rated block leaves for the next.
type Spare = (Vec<Range<usize>>, Vec<Group>);

/// Reads the next block of `reader` and rates its records in parallel,
/// into the vectors given (cleared first, so their capacity is reused).
fn rate_block(
    reader: &mut Reader,
    rater: &Rater,
    file: &str,
    needs: Needs,
    (mut spans, mut groups): Spare,
) -> Result<Option<Rated>> {
    let Some(block) = reader.next_chunk()? else {
        return Ok(None);
    };
    spans.clear();
    let mut broken = Vec::new();
    for item in block.records() {
        match item {
            Ok(rec) => {
                let start = (rec.offset - block.offset) as usize;
                spans.push(start..start + rec.bytes.len());
            }
            Err(b) => {
                let start = (b.offset - block.offset) as usize;
                broken.push((start..start + b.bytes.len(), b.error));
            }
        }
    }
    spans
        .par_chunks(GROUP_RECORDS)
        .map(|g| {
            // Priced records are their input plus the pricing modules.
            let input: usize = g.iter().map(ExactSizeIterator::len).sum();
            let mut bytes = Vec::with_capacity(input + input / 2);
            let done = g
                .iter()
                .map(|r| work(rater, file, &framed(&block, r), needs, &mut bytes))
                .collect();
            Group { bytes, done }
        })
        .collect_into_vec(&mut groups);
    Ok(Some(Rated {
        block,
        spans,
        groups,
        broken,
    }))
}

fn framed<'a>(block: &'a Chunk, r: &Range<usize>) -> Framed<'a> {
    Framed {
        offset: block.offset + r.start as u64,
        bytes: &block.data[r.clone()],
    }
}

/// Everything the writer of one input file touches.
struct BlockWriter<'a, 'r> {
    out: &'a mut Outputs,
    summary: &'a mut Summary,
    stage: &'a mut SessionStage<'r>,
    priced: &'a mut BufWriter<File>,
    priced_path: &'a Path,
    file: &'a str,
    /// The index of an input sdrate kept: see [`origin`].
    origins: &'a mut Option<Origins>,
    progress: &'a dyn Progress,
}

impl BlockWriter<'_, '_> {
    /// [`Self::write`], then prices the sessions the block completed: with
    /// more than one thread this runs beside the rating of the next block,
    /// so session pricing no longer waits between blocks.
    fn write_and_price(&mut self, rated: &mut Rated) -> Result<()> {
        self.write(rated)?;
        self.stage.price_ready(self.out, self.summary)
    }

    /// Writes a rated block in record order: records, and the stretches
    /// that cannot be framed (each one fault, kept whole) where they lie.
    fn write(&mut self, rated: &mut Rated) -> Result<()> {
        let write_err = |what: &str| format!("cannot write {what}");
        let Self {
            out,
            summary,
            stage,
            priced,
            priced_path,
            file,
            origins,
            progress,
        } = self;
        let block = &rated.block;
        for (offset, length) in block.padding() {
            summary.padding.add(file, offset, length);
        }
        // Once per block: the bar reads the clock on every call.
        progress.inc(rated.spans.iter().map(|r| r.len() as u64).sum());
        let mut broken = rated.broken.drain(..).peekable();
        let records = rated.groups.iter_mut().flat_map(|g| {
            let bytes = &g.bytes;
            g.done.drain(..).map(move |d| (bytes, d))
        });
        for (span, (group_bytes, d)) in rated.spans.iter().zip(records) {
            while let Some((range, error)) = broken.next_if(|(r, _)| r.start < span.start) {
                write_broken(out, summary, *progress, file, origins, block, range, error)?;
            }
            let rec = &framed(block, span);
            summary.records_read += 1;
            match d {
                Done::Priced(range, t, key, sdr) => {
                    let bytes = &group_bytes[range];
                    let verdict = match (stage.dedup.as_deref_mut(), key) {
                        (Some(d), Some(key)) => d.check_and_stage(key),
                        _ => Verdict::New,
                    };
                    match verdict {
                        Verdict::New => {
                            summary.priced += 1;
                            summary.add_totals(&t)?;
                            priced
                                .write_all(bytes)
                                .with_context(|| write_err(&priced_path.display().to_string()))?;
                            if let (Some(subs), Some(sdr)) = (out.subscribers.as_mut(), sdr) {
                                subs.route(&sdr, bytes)?;
                            }
                        }
                        Verdict::Duplicate => {
                            summary.duplicates += 1;
                            out.duplicates
                                .write_all(rec.bytes)
                                .with_context(|| write_err(names::DUPLICATES))?;
                        }
                        Verdict::TooOld => {
                            let status = "tooOldForDuplicateCheck";
                            summary.count_fault(status);
                            let src = origin(origins, file, rec.offset, rec.bytes.len())?;
                            crate::write::fault_record(
                                &mut out.faults,
                                &mut out.fault_report,
                                src,
                                rec.bytes,
                                None,
                                None,
                                "",
                                status,
                                "older than the duplicate-check window: cannot prove it was not billed before; rate it with a longer --duplicate-window",
                            )?;
                        }
                    }
                }
                Done::Answered(range) => {
                    summary.price_requests += 1;
                    out.answers
                        .write_all(&group_bytes[range])
                        .with_context(|| write_err(names::ANSWERS))?;
                }
                Done::NotPriced(qa) => {
                    if let Some(row) = qa {
                        summary.quality_assurance += 1;
                        out.qa_report
                            .write_record(&row)
                            .with_context(|| write_err(names::QA_REPORT))?;
                    }
                    summary.not_priced += 1;
                    out.not_priced
                        .write_all(rec.bytes)
                        .with_context(|| write_err(names::NOT_PRICED))?;
                }
                Done::SessionEvent(events) => {
                    summary.session_events += 1;
                    out.session_events
                        .write_all(rec.bytes)
                        .with_context(|| write_err(names::SESSION_EVENTS))?;
                    for mut e in events {
                        summary.sessions.events_read += 1;
                        if origins.is_some() {
                            let src = origin(origins, file, rec.offset, rec.bytes.len())?;
                            e.origin.file = src.file.to_owned();
                            e.origin.position = Position::Offset(src.offset);
                        }
                        stage.add(e, out, summary)?;
                    }
                }
                Done::Fault {
                    labelled,
                    sdr_identifier,
                    producer,
                    status,
                    detail,
                } => {
                    summary.count_fault(&status);
                    let src = origin(origins, file, rec.offset, rec.bytes.len())?;
                    crate::write::fault_record(
                        &mut out.faults,
                        &mut out.fault_report,
                        src,
                        rec.bytes,
                        labelled.as_deref(),
                        sdr_identifier,
                        producer.as_deref().unwrap_or(""),
                        &status,
                        &detail,
                    )?;
                }
            }
        }
        for (range, error) in broken {
            write_broken(out, summary, *progress, file, origins, block, range, error)?;
        }
        Ok(())
    }
}

/// One stretch of an input that cannot be framed: a fault, kept byte for
/// byte in the broken file (see `read::frame`); the records after it are
/// read.
#[allow(clippy::too_many_arguments)]
fn write_broken(
    out: &mut Outputs,
    summary: &mut Summary,
    progress: &dyn Progress,
    file: &str,
    origins: &mut Option<Origins>,
    block: &Chunk,
    range: Range<usize>,
    error: read::FrameError,
) -> Result<()> {
    let bytes = &block.data[range.clone()];
    let offset = block.offset + range.start as u64;
    summary.records_read += 1;
    summary.count_fault(BROKEN_FRAMING);
    progress.inc(bytes.len() as u64);
    let src = origin(origins, file, offset, bytes.len())?;
    crate::write::broken_stretch(&mut out.broken, &mut out.fault_report, src, bytes, &error)
}

/// Where the `length` bytes at `offset` of input `file` came from: the
/// input itself, unless it is a file sdrate kept (the suspense area), whose
/// index names the original input, offset and length.
fn origin<'a>(
    origins: &'a mut Option<Origins>,
    file: &'a str,
    offset: u64,
    length: usize,
) -> Result<Source<'a>> {
    let length = length as u64;
    if let Some(o) = origins
        && let Some(src) = o.at(offset, length)?
    {
        return Ok(src);
    }
    Ok(Source {
        file,
        offset,
        length,
    })
}

/// One input of a run, as the command planned it.
#[derive(Debug, Clone)]
pub struct PlannedInput {
    pub path: PathBuf,
    /// Hash the file as it is read for rating (see [`Finished`]).
    pub hash_while_reading: bool,
    /// A file sdrate kept (the suspense area): see [`KeptInput`].
    pub kept: Option<KeptInput>,
}

/// How far a run is, for a display: the engine reports bytes read, the
/// caller draws (or not).
pub trait Progress: Sync {
    /// The run will read about `total` bytes.
    fn start(&self, total: u64);
    /// `bytes` more were read.
    fn inc(&self, bytes: u64);
    /// The run has read everything.
    fn finish(&self);
}

/// No display.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: u64) {}
    fn inc(&self, _: u64) {}
    fn finish(&self) {}
}

/// What [`run`] returns: the run summary, the sessions still open, and
/// the hashes of the inputs it was asked to hash as it read them
/// (`hash_while_reading`), in input order (None for the others).
pub type Finished = (Summary, Vec<Session>, Vec<Option<InputFile>>);

/// Rates every input into `outputs`, completing the sessions `pending`
/// left open by earlier runs. SDR inputs marked in `hash_while_reading`
/// are hashed by the read that rates them (see [`Finished`]).
pub fn run(
    rater: &Rater,
    plan: &[PlannedInput],
    max_record: usize,
    mut out: Outputs,
    pending: Vec<Session>,
    progress: &dyn Progress,
    dedup: Option<&mut DuplicateIndex>,
) -> Result<Finished> {
    let needs = Needs {
        routed: out.subscribers.is_some(),
        keyed: dedup.is_some(),
    };
    let mut summary = Summary {
        sdrate_version: env!("CARGO_PKG_VERSION"),
        ..Summary::default()
    };
    let mut stage = SessionStage {
        rater,
        dedup,
        assembler: Assembler::with_horizon(rater.lists.longest_session_seconds()),
        ready: Vec::new(),
        usage: UsageAnalysis::default(),
    };
    for s in pending {
        summary.sessions.events_carried_in += s.events.len() as u64;
        for e in s.events {
            stage.add(e, &mut out, &mut summary)?;
        }
    }
    let inputs: Vec<PathBuf> = plan.iter().map(|p| p.path.clone()).collect();
    let total_bytes: u64 = inputs
        .iter()
        .filter_map(|p| fs::metadata(p).ok().map(|m| m.len()))
        .sum();
    progress.start(total_bytes);
    let write_err = |what: &str| format!("cannot write {what}");
    // Reused from block to block: fresh multi-megabyte vectors for every
    // block cost page faults.
    let mut spare: Spare = Default::default();
    let mut hashes = vec![None; inputs.len()];
    for (index, path) in inputs.iter().enumerate() {
        let file = path.display().to_string();
        if read::is_event_log(path) {
            summary.inputs.push(file.clone());
            read_event_log(path, &mut stage, &mut out, &mut summary)?;
            progress.inc(fs::metadata(path).map_or(0, |m| m.len()));
            continue;
        }
        let mut reader = Reader::open(path)?.max_record(max_record);
        if plan[index].hash_while_reading {
            reader = reader.hashing();
        }
        let kept = plan[index].kept.as_ref();
        if let Some(k) = kept.filter(|k| k.pieces) {
            reader = reader.pieces(origins::piece_ends(&k.index)?);
        }
        let mut origins = kept.map(|k| Origins::open(&k.index)).transpose()?;
        summary.inputs.push(file.clone());
        let priced_path = out
            .dir
            .join(names::PRICED_DIR)
            .join(priced_name(path, index, &inputs));
        let mut priced = create(&priced_path)?;
        // One block of whole records at a time (read::CHUNK_BYTES), so
        // memory does not grow with the file. The next block is rated
        // while this one is written, so the raters do not wait for the
        // writer; blocks are written in file order.
        let mut next = rate_block(&mut reader, rater, &file, needs, std::mem::take(&mut spare))?;
        let parallel = rayon::current_num_threads() > 1;
        while let Some(mut current) = next {
            let mut writer = BlockWriter {
                out: &mut out,
                summary: &mut summary,
                stage: &mut stage,
                priced: &mut priced,
                priced_path: &priced_path,
                file: &file,
                origins: &mut origins,
                progress,
            };
            let rated = if parallel {
                // The next block is rated while this one is written.
                let vectors = std::mem::take(&mut spare);
                let (rated, written) = rayon::join(
                    || rate_block(&mut reader, rater, &file, needs, vectors),
                    || writer.write_and_price(&mut current),
                );
                written?;
                Some(rated)
            } else {
                writer.write_and_price(&mut current)?;
                None
            };
            // What this block wrote starts on its way to disk now, not at
            // the fsync before publication.
            crate::state::publish::start_writeback(priced.get_ref());
            out.start_writeback();
            let Rated {
                block,
                spans,
                groups,
                ..
            } = current;
            reader.recycle(block);
            spare = (spans, groups);
            next = match rated {
                Some(rated) => rated?,
                // One thread: the block was written while still in cache,
                // and its buffers are reused for the next.
                None => rate_block(&mut reader, rater, &file, needs, std::mem::take(&mut spare))?,
            };
        }
        priced
            .flush()
            .with_context(|| write_err(&priced_path.display().to_string()))?;
        hashes[index] = reader
            .hash()
            .map(|(digest, size)| InputFile::hashed(file.clone(), size, digest));
    }
    let pending = stage.finish(&mut out, &mut summary)?;
    progress.finish();
    for (w, name) in [
        (&mut out.answers, names::ANSWERS),
        (&mut out.not_priced, names::NOT_PRICED),
        (&mut out.session_events, names::SESSION_EVENTS),
        (&mut out.participations, names::PARTICIPATIONS),
        (&mut out.duplicates, names::DUPLICATES),
        (&mut out.faulted_event_lines, names::FAULTED_EVENT_LINES),
        (&mut out.participation_report, names::PARTICIPATION_REPORT),
        (&mut out.cost_report, names::COSTS),
    ] {
        w.flush().with_context(|| write_err(name))?;
    }
    out.faults.flush()?;
    out.broken.flush()?;
    for (w, name) in [
        (&mut out.fault_report, names::FAULT_REPORT),
        (&mut out.event_rows, names::SESSION_EVENT_ROWS),
        (&mut out.faulted_event_rows, names::FAULTED_EVENT_ROWS),
        (&mut out.qa_report, names::QA_REPORT),
    ] {
        w.flush().with_context(|| write_err(name))?;
    }
    if let Some(subs) = out.subscribers.take() {
        summary.routing = Some(subs.finish()?);
    }
    summary.settle_totals()?;
    summary.accounting_identity_holds = summary.identity_holds();
    Ok((summary, pending, hashes))
}

/// Files of a run that bill or feed other systems; a dry run removes them
/// and keeps only the reports.
pub const BILLING_OUTPUTS: [&str; 15] = [
    names::DUPLICATES,
    names::SUBSCRIBERS_DIR,
    names::PRICED_DIR,
    names::ANSWERS,
    names::NOT_PRICED,
    names::SESSION_EVENTS,
    names::FAULTS,
    names::FAULT_INDEX,
    names::BROKEN,
    names::BROKEN_INDEX,
    names::PARTICIPATIONS,
    names::SESSION_EVENT_ROWS,
    names::FAULTED_EVENT_ROWS,
    names::FAULTED_EVENT_LINES,
    names::PENDING_REPORT,
];
