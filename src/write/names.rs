//! Output file names inside the output directory.

pub const PRICED_DIR: &str = "priced";
/// Every answer to a price request, in input order.
pub const ANSWERS: &str = "answers.sdr";
/// The same answers, one file per producer (`write::answers`).
pub const ANSWERS_DIR: &str = "answers";
pub const NOT_PRICED: &str = "not-priced.sdr";
pub const SESSION_EVENTS: &str = "session-events.sdr";
pub const FAULTS: &str = "faults.sdr";
/// Where each record of FAULTS came from (`read::origins`).
pub const FAULT_INDEX: &str = "faults-index.csv";
/// Stretches of input that cannot be framed as records, byte for byte,
/// and their index (`read::origins`).
pub const BROKEN: &str = "broken.dat";
pub const BROKEN_INDEX: &str = "broken.csv";
/// SDRs already billed by an earlier run (or earlier in this one).
pub const DUPLICATES: &str = "duplicates.sdr";
/// Quality-assurance SDRs priced as if billed: a report, never a bill.
pub const QA_REPORT: &str = "quality-assurance.csv";
/// One output per subscriber of the routing file.
pub const SUBSCRIBERS_DIR: &str = "subscribers";
pub const FAULT_REPORT: &str = "faults.csv";
pub const SUMMARY: &str = "summary.json";
/// One priced SDR per participation in a multi-party session.
pub const PARTICIPATIONS: &str = "participations.sdr";
pub const PARTICIPATION_REPORT: &str = "participations.csv";
pub const COSTS: &str = "costs.csv";
/// Events that came after the end of their session, priced earlier in the
/// run: where each was read, and the event.
pub const LATE_EVENTS: &str = "late-events.csv";
/// Event-log rows, archived as read (SDR events go to SESSION_EVENTS).
pub const SESSION_EVENT_ROWS: &str = "session-events.csv";
/// Event-log rows that are faults, in event-log format for recycling.
pub const FAULTED_EVENT_ROWS: &str = "faulted-events.csv";
/// JSON lines of event logs that are faults, each byte for byte as it
/// was in its file, for recycling.
pub const FAULTED_EVENT_LINES: &str = "faulted-events.jsonl";
pub const USAGE: &str = "usage.csv";
/// `--network-costs` (write::network): one row per network hop of every
/// billed SDR; totals per provider, network, service and day; production
/// cost per marketing company; margins.
pub const NETWORK_COST_LINES: &str = "network-cost-lines.csv";
pub const NETWORK_COSTS: &str = "network-costs.csv";
/// The network cost of each service use session (one billed SDR).
pub const NETWORK_COSTS_BY_SESSION: &str = "network-costs-by-session.csv";
pub const PRODUCTION_COSTS: &str = "production-costs.csv";
pub const MARGINS: &str = "margins.csv";
pub const USAGE_CHART: &str = "usage.svg";
/// Sessions still open, when the run has no state directory to keep
/// them in (a report; the next run does not read it).
pub const PENDING_REPORT: &str = "pending-sessions.jsonl";

/// The purge lists: per producer, the SDRs a run secured with sdrate's
/// responsibility tag (`write::secured`).
pub const SECURED_DIR: &str = "secured";

/// `sdrate rerate`: one row per record read, old and new individual price.
pub const DIFFERENCES: &str = "differences.csv";
/// `sdrate rerate`: old and new totals per currency, customer, marketing
/// company and service.
pub const DIFFERENCE_TOTALS: &str = "difference-totals.csv";
/// `sdrate rerate`: records it does not price, as they were read.
pub const SKIPPED: &str = "skipped.sdr";

/// `--export jsonl`: one JSON object a line per priced usage module and
/// per priced participation (write::export).
pub const EXPORT_USAGE_JSONL: &str = "priced-usage.jsonl";
pub const EXPORT_PARTICIPATIONS_JSONL: &str = "participations.jsonl";
/// `--export parquet`: the same rows as Apache Parquet.
pub const EXPORT_USAGE_PARQUET: &str = "priced-usage.parquet";
pub const EXPORT_PARTICIPATIONS_PARQUET: &str = "participations.parquet";
