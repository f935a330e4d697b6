//! The run summary: counts and money of one run, and the accounting identity they must satisfy.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::fault::FaultCause;
use crate::read::NotRead;
use crate::sdr::Text;
use crate::write::answers::AnswerCounts;
use crate::write::secured::SecuredCounts;
use crate::write::subscribers::RouteCounts;

/// Counts and money of one run. Records read always equal priced + price
/// requests + not priced + session events + faulted + duplicates.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub sdrate_version: &'static str,
    pub run_id: String,
    pub dry_run: bool,
    /// The time every pricing module of the run carries (RFC 3339, whole
    /// milliseconds): `--pricing-time`, else the clock at the start.
    pub pricing_time: String,
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
    /// The price requests answered, per producer that asked (each one's
    /// file under answers/): the first producers listed, the others
    /// counted.
    pub answers_by_producer: AnswerCounts,
    /// sdrate's responsibility tag and the purge lists under secured/,
    /// when the run has a system identity (`--system-identity`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secured: Option<SecuredCounts>,
    pub accounting_identity_holds: bool,
    /// Faults by cause, listed in the order of the causes' spelling.
    pub faults_by_cause: BTreeMap<FaultCause, u64>,
    /// Runs of fill bytes (00 or FF) between or after records: skipped,
    /// not faults.
    pub padding: PaddingReport,
    /// Session events and what became of them.
    pub sessions: SessionCounts,
    /// Entries of input directories that were not read (subdirectories,
    /// hidden files, names of no known kind): counted, the first listed.
    pub not_read: NotReadReport,
    /// Priced SDRs per subscriber, and those nobody subscribed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<RouteCounts>,
    /// Network costing (`--network-costs`): hops costed, hops without a
    /// list, totals per currency; absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_costs: Option<crate::write::network::NetworkSummary>,
    /// currency -> marketing company -> totals (priced SDRs and priced
    /// participations; not price-request answers).
    pub totals: BTreeMap<String, BTreeMap<String, Money>>,
    /// The totals while the run goes on, by (currency, marketing company):
    /// a handful of entries searched in order is cheaper per priced SDR
    /// than two string-keyed tree lookups. Moved into `totals` when the
    /// run ends ([`Summary::settle_totals`]).
    #[serde(skip)]
    pub(super) running: Vec<(Text, Text, Money)>,
    /// When the run started and ended, and how fast it went: the one part
    /// of the summary two runs of the same command on the same data do not
    /// share (tests comparing outputs leave it out).
    pub timing: Timing,
}

/// Wall-clock facts of a run, for a scheduler and for capacity planning.
/// Whole milliseconds and whole records a second keep the summary exact
/// (no floating point in a billing document).
#[derive(Debug, Default, Serialize, PartialEq, Eq, Clone)]
pub struct Timing {
    /// When the run began planning (RFC 3339, UTC, milliseconds).
    pub started: String,
    /// When the summary was written: everything but publishing, which
    /// takes a few renames.
    pub ended: String,
    pub duration_ms: u64,
    /// Records read (SDRs and event-log rows) per second of the duration.
    pub records_per_second: u64,
    /// Where the duration went.
    pub phases_ms: Phases,
}

/// The phases of a run, in order; their sum is about the duration.
#[derive(Debug, Default, Serialize, PartialEq, Eq, Clone)]
pub struct Phases {
    /// Price lists, customers, routing, state and skipped inputs.
    pub prepare: u64,
    /// Reading, pricing and writing the records, input by input.
    pub read_and_price: u64,
    /// Completing, pricing and carrying the sessions left at the end.
    pub sessions: u64,
    /// Flushing the outputs, the exports and the subscribers' files.
    pub outputs: u64,
    /// Thresholds, totals and the summary.
    pub report: u64,
}

/// Whole milliseconds of a duration, saturating.
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whole records a second over a duration (a zero duration counts as a
/// microsecond).
pub fn per_second(records: u64, d: std::time::Duration) -> u64 {
    u64::try_from(u128::from(records) * 1_000_000 / d.as_micros().max(1)).unwrap_or(u64::MAX)
}

/// A wall-clock time as the summary writes it.
pub fn wall_clock(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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

/// Entries of input directories not read: how many, and the first
/// [`PaddingReport::LISTED`] of them (a bounded list, as for padding).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct NotReadReport {
    pub entries: u64,
    pub first: Vec<NotRead>,
}

impl NotReadReport {
    pub fn of(not_read: &[NotRead]) -> Self {
        NotReadReport {
            entries: not_read.len() as u64,
            first: not_read
                .iter()
                .take(PaddingReport::LISTED)
                .cloned()
                .collect(),
        }
    }
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
    /// Events of a session already priced in this run that came after its
    /// end (listed in late-events.csv): counted, not priced again.
    pub late_events: u64,
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
                + self.late_events
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

    /// One more record faulted, for `cause`.
    pub(super) fn count_fault(&mut self, cause: FaultCause) {
        self.faulted += 1;
        self.count_cause(cause);
    }

    /// One more fault of `cause` in the breakdown by cause.
    pub(super) fn count_cause(&mut self, cause: FaultCause) {
        self.count_causes(cause, 1);
    }

    /// `n` faults for `cause`.
    pub(super) fn count_causes(&mut self, cause: FaultCause, n: u64) {
        *self.faults_by_cause.entry(cause).or_default() += n;
    }

    /// Moves the running totals into `totals`, where the summary shows
    /// them by currency and marketing company.
    pub(super) fn settle_totals(&mut self) {
        for (currency, marketing_company, m) in std::mem::take(&mut self.running) {
            // Each (currency, marketing company) is in `running` once.
            self.totals
                .entry(currency.to_string())
                .or_default()
                .insert(marketing_company.to_string(), m);
        }
    }
}
