//! `sdrate rerate` in the engine: price already priced SDRs again (after
//! a price list was corrected, or as a what-if under the lists valid at
//! another time), write the newly priced SDRs and report old against new
//! price per SDR and in totals ([`crate::write::differences`]).
//!
//! Re-rating keeps no state: there is no state directory, so it is never
//! caught by the duplicate check and moves neither the duplicate index nor
//! pending sessions. Its output is staged and published atomically like a
//! `rate` run's ([`crate::state::publish`]); it may replace an earlier
//! rerate output, never the output of another command.
//!
//! It runs on the block engine of `rate` ([`super::blocks`]): the same
//! reading, parallel work, in-order writing, buffer reuse and overlap of
//! working and writing; only what is done per record ([`RerateJob`]) and
//! how the result is filed ([`RerateWriter`]) are its own.
//!
//! Multi-party sessions are priced again from their events ([`sessions`]),
//! with `rate`'s grouping and session pricing.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::blocks::{self, Item, Job, Rated, Sink, Spare, with_decoded};
use super::outputs::{bytes_with_header, create, csv_with_header};
use super::{Progress, priced_name};
use crate::error::Failure;
use crate::fault::FaultCause;
use crate::group::{EVENT_COLUMNS, Event, Position};
use crate::rate::{Outcome, Rater};
use crate::read::origins::Source;
use crate::read::{self, Framed, Reader};
use crate::reprice::{Facts, Old, Side, facts_of, old_pricing, tables_of};
use crate::sdr::{ServiceDetailRecord, ServicePart, ServiceSpecificPart, StatusIndicator};
use crate::state::publish::{self, InputFile, ListRevision, Manifest, Staging};
use crate::write::answers::{AnswerCounts, Answers};
use crate::write::differences::{Change, DIFFERENCE_COLUMNS, Row, Totals};
use crate::write::trace::Tag;
use crate::write::{self, Kept, append_priced_tagged, names};

mod sessions;
pub use sessions::Counts as SessionCounts;

/// The `command` a rerate output's summary (and so its manifest) names:
/// how a later rerate knows it may replace the output.
pub const COMMAND: &str = "rerate";

/// Counts and money of one rerate run. Records read always equal repriced +
/// faulted + skipped, and repriced always equals changed + unchanged.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Always [`COMMAND`].
    pub command: &'static str,
    pub sdrate_version: &'static str,
    pub run_id: String,
    pub inputs: Vec<String>,
    /// The what-if time lists were chosen at; None: each time of use.
    pub as_of: Option<String>,
    pub pricing_time: String,
    pub records_read: u64,
    /// Priced again (billing SDRs and price requests).
    pub repriced: u64,
    /// Repriced with the same currency and individual price as before.
    pub unchanged: u64,
    /// Repriced with another individual price (or currency), or priced for
    /// the first time.
    pub changed: u64,
    /// Of the changed: SDRs that carried no usable price before.
    pub newly_priced: u64,
    /// Of the repriced: price requests (answers).
    pub price_requests: u64,
    /// The answers per producer that asked, as `rate` counts them.
    pub answers_by_producer: AnswerCounts,
    /// Could not be priced again: in faults.sdr and faults.csv.
    pub faulted: u64,
    /// Not priceable per record (quality-assurance and service-management
    /// SDRs): in skipped.sdr as read.
    pub skipped_not_priceable: u64,
    /// SDRs carrying session events: archived to session-events.sdr, their
    /// events grouped into sessions (`sessions`).
    pub session_event_sdrs: u64,
    /// Participation SDRs read: the old prices of participations
    /// (`sessions`).
    pub participation_sdrs: u64,
    /// Session events and participations, priced again per session.
    pub sessions: SessionCounts,
    pub accounting_identity_holds: bool,
    /// Faults by cause, listed in the order of the causes' spelling.
    pub faults_by_cause: BTreeMap<FaultCause, u64>,
    /// Individual prices per currency, old against new (the `currency`
    /// rows of difference-totals.csv).
    pub totals: BTreeMap<String, Change>,
    /// Entries of input directories that were not read (as in `rate`'s
    /// summary; a directory's event logs among them: name one to re-rate
    /// its sessions).
    pub not_read: super::NotReadReport,
    /// When the rerate started and ended, as in `rate`'s summary; its
    /// sessions and outputs are part of `read_and_price`.
    pub timing: super::Timing,
}

impl Summary {
    fn count_fault(&mut self, cause: FaultCause) {
        self.faulted += 1;
        *self.faults_by_cause.entry(cause).or_default() += 1;
    }

    pub fn identity_holds(&self) -> bool {
        self.records_read
            == self.repriced
                + self.faulted
                + self.skipped_not_priceable
                + self.session_event_sdrs
                + self.participation_sdrs
            && self.repriced == self.changed + self.unchanged
            && self.changed >= self.newly_priced
            && self.repriced >= self.price_requests
            && self.sessions.holds(self.participation_sdrs)
    }
}

/// One input file. An earlier run's answers.sdr holds price requests, and
/// its participations.sdr and session-events.sdr participations and
/// session events: none of them gets a priced file of its own unless it
/// holds billing SDRs.
pub struct RerateInput {
    pub path: PathBuf,
    pub run_file: bool,
}

/// Whether a directory is a run's published output.
fn is_run_output(dir: &Path) -> bool {
    dir.join(publish::MANIFEST).is_file()
}

/// The inputs of a rerate, and what of the directories named is not read.
pub struct Planned {
    pub inputs: Vec<RerateInput>,
    /// Entries of directories named that are not read (see
    /// [`read::list_inputs`]; event logs too: name one to re-rate it).
    /// A run's output directory is sdrate's own: only its priced SDRs are
    /// wanted, and nothing else of it is listed.
    pub not_read: Vec<read::NotRead>,
}

/// The input files, in order: files as named (SDR files and event logs),
/// directories' SDR files (sorted), and for a run's output directory its
/// priced/ files (sorted), its answers.sdr, and what it holds of its
/// sessions: participations.sdr (the old prices), session-events.sdr and
/// session-events.csv (the events it consumed).
pub fn plan_inputs(paths: &[PathBuf]) -> Result<Planned> {
    let mut out = Vec::new();
    let mut not_read = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            return Err(Failure::Refused(
                "rerate reads priced SDR files, not standard input: save them to a file first"
                    .into(),
            )
            .into());
        }
        if p.is_dir() && is_run_output(p) {
            let priced = p.join(names::PRICED_DIR);
            let before = out.len();
            if priced.is_dir() {
                let mut files: Vec<PathBuf> = fs::read_dir(&priced)
                    .with_context(|| format!("cannot list {}", priced.display()))?
                    .map(|e| e.map(|e| e.path()))
                    .collect::<Result<_, _>>()
                    .with_context(|| format!("cannot list {}", priced.display()))?;
                files.retain(|f| {
                    let hidden = f
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_none_or(|n| n.starts_with('.'));
                    f.is_file() && !hidden
                });
                files.sort();
                out.extend(files.into_iter().map(|path| RerateInput {
                    path,
                    run_file: false,
                }));
            }
            for name in [
                names::ANSWERS,
                names::PARTICIPATIONS,
                names::SESSION_EVENTS,
                names::SESSION_EVENT_ROWS,
            ] {
                let path = p.join(name);
                if path.is_file() {
                    out.push(RerateInput {
                        path,
                        run_file: true,
                    });
                }
            }
            if out.len() == before {
                return Err(Failure::Refused(format!(
                    "{} is a run output without priced SDRs (a dry run?): nothing to re-rate",
                    p.display()
                ))
                .into());
            }
        } else if p.is_dir() {
            let listed = read::list_inputs(std::slice::from_ref(p))?;
            not_read.extend(listed.not_read);
            for path in listed.files {
                if read::is_event_log(&path) {
                    not_read.push(read::NotRead {
                        path,
                        why: read::NotReadWhy::EventLog,
                    });
                } else {
                    out.push(RerateInput {
                        path,
                        run_file: false,
                    });
                }
            }
        } else {
            // An event log named is read for its sessions, an SDR file for
            // its records; only a directory's event logs are left out, as
            // a spool of SDRs may hold other CSV files.
            out.push(RerateInput {
                path: p.clone(),
                run_file: false,
            });
        }
    }
    Ok(Planned {
        inputs: out,
        not_read,
    })
}

/// A run id that depends only on what the run reads and how.
fn run_id(
    inputs: &[InputFile],
    lists: &[ListRevision],
    customers: &InputFile,
    pricing_time: &str,
    as_of: Option<&str>,
    max_record: usize,
    system_identity: Option<&str>,
) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(COMMAND.as_bytes());
    for i in inputs {
        h.update(i.hash.as_bytes());
    }
    publish::hash_list_revisions(&mut h, lists);
    h.update(customers.hash.as_bytes());
    h.update(pricing_time.as_bytes());
    h.update(b"\0as-of");
    h.update(as_of.unwrap_or("").as_bytes());
    // The framing limit decides what is a record: another limit, another
    // run (the default keeps the id runs always had), as for `rate`.
    if max_record != read::MAX_RECORD_BYTES {
        h.update(b"\0max-record");
        h.update(&(max_record as u64).to_le_bytes());
    }
    // The tags change the output (without an identity, the id is the one
    // rerates always had).
    if let Some(id) = system_identity {
        h.update(b"\0system-identity");
        h.update(id.as_bytes());
    }
    format!("{:016x}", h.digest())
}

/// The run id of `out` if it holds a published rerate output.
fn rerate_output_id(out: &Path) -> Option<String> {
    #[derive(Deserialize)]
    struct Head {
        run_id: String,
        summary: SummaryHead,
    }
    #[derive(Deserialize)]
    struct SummaryHead {
        #[serde(default)]
        command: String,
    }
    let bytes = fs::read(out.join(publish::MANIFEST)).ok()?;
    let head: Head = serde_json::from_slice(&bytes).ok()?;
    (head.summary.command == COMMAND).then_some(head.run_id)
}

/// What a worker made of one record; raw bytes stay in the input block.
pub(super) enum Done {
    Repriced {
        /// Where its newly priced bytes lie in its group's buffer.
        range: Range<usize>,
        answered: bool,
        facts: Facts,
        old: Old,
        new: Side,
    },
    Skipped {
        facts: Facts,
        status: &'static str,
        cause: &'static str,
    },
    /// A session-event SDR: archived, its events grouped into sessions.
    Events(Vec<Event>),
    /// A participation SDR: the old price of its session and participant.
    Participation {
        key: sessions::PartKey,
        facts: Facts,
        old: Old,
    },
    Fault {
        /// The record labelled with its new pricing modules, when it decoded.
        labelled: Option<Vec<u8>>,
        facts: Option<Facts>,
        old: Old,
        cause: FaultCause,
        detail: String,
    },
}

/// The re-rating job: one priced SDR decoded, priced again and labelled
/// with its new pricing modules in place of the old.
struct RerateJob<'a> {
    rater: &'a Rater,
    /// The input, named in the events' origins.
    file: &'a str,
    /// sdrate's responsibility tag (`--system-identity`), for billing SDRs
    /// priced again whose trace does not hold it yet.
    tag: Option<&'a Tag>,
}

impl Job for RerateJob<'_> {
    type Done = Done;
    fn work(&self, rec: &Framed<'_>, out: &mut Vec<u8>) -> Done {
        with_decoded(rec.bytes, |decoded| match decoded {
            Ok(sdr) => self.reprice(rec, sdr, out),
            Err(e) => Done::Fault {
                labelled: None,
                facts: None,
                old: Old::None,
                cause: FaultCause::Undecodable,
                detail: e.to_string(),
            },
        })
    }
}

impl RerateJob<'_> {
    fn reprice(&self, rec: &Framed<'_>, sdr: &mut ServiceDetailRecord, out: &mut Vec<u8>) -> Done {
        let facts = facts_of(sdr);
        let old = old_pricing(sdr);
        let (spms, totals, answered) = match self.rater.rate(sdr) {
            Outcome::Priced(spms, t) => (spms, t, false),
            Outcome::Answered(spms, t) => (spms, t, true),
            Outcome::NotPriced => {
                return Done::Skipped {
                    facts,
                    status: "notPriced",
                    cause: "quality-assurance or service-management SDR: never priced",
                };
            }
            Outcome::SessionEvent => {
                let participation =
                    sdr.service_usage_modules
                        .iter()
                        .find_map(|sum| match &sum.service_specific {
                            ServiceSpecificPart::Known(ServicePart::ParticipationSummary(p)) => {
                                Some((p.session_id.clone(), p.participant_id.clone()))
                            }
                            _ => None,
                        });
                return match participation {
                    Some(key) => Done::Participation { key, facts, old },
                    None => Done::Events(super::events_of(sdr, self.file, rec)),
                };
            }
            Outcome::Fault(f) => {
                let labelled = if f.spms.is_empty() {
                    None
                } else {
                    write::priced_bytes(rec.bytes, &f.spms).ok()
                };
                return Done::Fault {
                    labelled,
                    facts: Some(facts),
                    old,
                    cause: f.status.into(),
                    detail: f.detail,
                };
            }
        };
        // An answer goes back to its producer untagged, as in `rate`; an
        // SDR tagged before keeps its one tag (see `write::trace`).
        let tag = self
            .tag
            .filter(|t| !answered && !t.held_by(&sdr.service_header));
        let start = out.len();
        match append_priced_tagged(rec.bytes, &spms, tag, out) {
            Ok(()) => Done::Repriced {
                range: start..out.len(),
                answered,
                new: Side {
                    currency: totals.currency.to_string(),
                    individual: totals.individual,
                    tables: tables_of(&spms),
                },
                facts,
                old,
            },
            Err(e) => {
                out.truncate(start);
                Done::Fault {
                    labelled: None,
                    facts: Some(facts),
                    old,
                    cause: StatusIndicator::TechnicalError.into(),
                    detail: format!("{e:#}"),
                }
            }
        }
    }
}

/// Where a rerate writes, one writer per output.
struct Outputs {
    dir: PathBuf,
    answers: Answers,
    faults: Kept,
    broken: Kept,
    fault_report: csv::Writer<File>,
    skipped: BufWriter<File>,
    differences: csv::Writer<File>,
    /// The session events read, archived as `rate` archives them, so that
    /// a rerate output can be re-rated in turn.
    session_events: BufWriter<File>,
    event_rows: csv::Writer<File>,
    faulted_event_rows: csv::Writer<File>,
    participations: BufWriter<File>,
    participation_report: BufWriter<File>,
    cost_report: BufWriter<File>,
}

impl Outputs {
    fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir.join(names::PRICED_DIR))
            .with_context(|| format!("cannot create output directory {}", dir.display()))?;
        Ok(Outputs {
            dir: dir.to_path_buf(),
            answers: Answers::create(dir)?,
            faults: Kept::create(dir, names::FAULTS, names::FAULT_INDEX)?,
            broken: Kept::create(dir, names::BROKEN, names::BROKEN_INDEX)?,
            fault_report: csv_with_header(dir, names::FAULT_REPORT, &write::FAULT_COLUMNS)?,
            skipped: create(&dir.join(names::SKIPPED))?,
            differences: csv_with_header(dir, names::DIFFERENCES, &DIFFERENCE_COLUMNS)?,
            session_events: create(&dir.join(names::SESSION_EVENTS))?,
            event_rows: csv_with_header(dir, names::SESSION_EVENT_ROWS, &EVENT_COLUMNS)?,
            faulted_event_rows: csv_with_header(dir, names::FAULTED_EVENT_ROWS, &EVENT_COLUMNS)?,
            participations: create(&dir.join(names::PARTICIPATIONS))?,
            participation_report: bytes_with_header(
                dir,
                names::PARTICIPATION_REPORT,
                &write::sessions::PARTICIPATION_COLUMNS,
            )?,
            cost_report: bytes_with_header(dir, names::COSTS, &write::sessions::COST_COLUMNS)?,
        })
    }

    fn flush(&mut self) -> Result<()> {
        let err = |what: &str| format!("cannot write {what}");
        for (w, name) in [
            (&mut self.skipped, names::SKIPPED),
            (&mut self.session_events, names::SESSION_EVENTS),
            (&mut self.participations, names::PARTICIPATIONS),
            (&mut self.participation_report, names::PARTICIPATION_REPORT),
            (&mut self.cost_report, names::COSTS),
        ] {
            w.flush().with_context(|| err(name))?;
        }
        self.faults.flush()?;
        self.broken.flush()?;
        for (w, name) in [
            (&mut self.fault_report, names::FAULT_REPORT),
            (&mut self.differences, names::DIFFERENCES),
            (&mut self.event_rows, names::SESSION_EVENT_ROWS),
            (&mut self.faulted_event_rows, names::FAULTED_EVENT_ROWS),
        ] {
            w.flush().with_context(|| err(name))?;
        }
        Ok(())
    }
}

/// The priced output of one input, created up front (as `rate` does) or,
/// for an earlier run's answers.sdr, only if a billing SDR turns up.
struct PricedFile {
    path: PathBuf,
    w: Option<BufWriter<File>>,
}

impl PricedFile {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.w.is_none() {
            self.w = Some(create(&self.path)?);
        }
        let w = self.w.as_mut().expect("created above");
        w.write_all(bytes)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    fn finish(self) -> Result<()> {
        match self.w {
            Some(mut w) => w
                .flush()
                .with_context(|| format!("cannot write {}", self.path.display())),
            None => Ok(()),
        }
    }
}

/// Where `rec` of input `file` lies (rerate reads no kept files, so the
/// input itself).
fn source<'a>(file: &'a str, rec: &Framed<'_>) -> Source<'a> {
    Source {
        file,
        offset: rec.offset,
        length: rec.bytes.len() as u64,
    }
}

/// Everything the writer of one input touches: the rerate job's [`Sink`].
struct RerateWriter<'a> {
    out: &'a mut Outputs,
    summary: &'a mut Summary,
    totals: &'a mut Totals,
    sessions: &'a mut sessions::Stage,
    priced: &'a mut PricedFile,
    file: &'a str,
    progress: &'a dyn Progress,
}

impl Sink<Done> for RerateWriter<'_> {
    fn write(&mut self, rated: &mut Rated<Done>) -> Result<()> {
        let write_err = |what: &str| format!("cannot write {what}");
        let Self {
            out,
            summary,
            totals,
            sessions,
            priced,
            file,
            progress,
        } = self;
        progress.inc(rated.record_bytes());
        rated.each(|item| {
            summary.records_read += 1;
            let (rec, group_bytes, done) = match item {
                Item::Record {
                    rec, bytes, done, ..
                } => (rec, bytes, done),
                Item::Broken { rec, error } => {
                    // A stretch that cannot be framed: kept whole, as one
                    // fault, as `rate` does.
                    let cause = FaultCause::BrokenFraming;
                    summary.count_fault(cause);
                    progress.inc(rec.bytes.len() as u64);
                    let src = source(file, &rec);
                    write::broken_stretch(
                        &mut out.broken,
                        &mut out.fault_report,
                        src,
                        rec.bytes,
                        &error,
                    )?;
                    let row = Row {
                        file,
                        offset: Position::Offset(rec.offset),
                        facts: None,
                        old: None,
                        new: None,
                        outcome: "faulted",
                        status: &cause.name(),
                        cause: &error.to_string(),
                    };
                    return row.write(&mut out.differences);
                }
            };
            let row = |facts, old, new, outcome, status, cause| Row {
                file,
                offset: Position::Offset(rec.offset),
                facts,
                old,
                new,
                outcome,
                status,
                cause,
            };
            match done {
                Done::Repriced {
                    range,
                    answered,
                    facts,
                    old,
                    new,
                } => {
                    let bytes = &group_bytes[range];
                    summary.repriced += 1;
                    if answered {
                        summary.price_requests += 1;
                        out.answers.write(&facts.producer, bytes)?;
                    } else {
                        priced.write(bytes)?;
                    }
                    let (changed, cause) = old.compare(&new);
                    if changed {
                        summary.changed += 1;
                        if old.side().is_none() {
                            summary.newly_priced += 1;
                        }
                    } else {
                        summary.unchanged += 1;
                    }
                    totals.add(&facts, old.side(), Some(&new))?;
                    row(
                        Some(&facts),
                        old.side(),
                        Some(&new),
                        if changed { "changed" } else { "unchanged" },
                        "priced",
                        &cause,
                    )
                    .write(&mut out.differences)
                }
                Done::Events(events) => {
                    summary.session_event_sdrs += 1;
                    out.session_events
                        .write_all(rec.bytes)
                        .with_context(|| write_err(names::SESSION_EVENTS))?;
                    for e in events {
                        sessions.add(e, out, summary)?;
                    }
                    Ok(())
                }
                Done::Participation { key, facts, old } => {
                    summary.participation_sdrs += 1;
                    sessions.old_participation(key, file, rec.offset, facts, old, out, summary)
                }
                Done::Skipped {
                    facts,
                    status,
                    cause,
                } => {
                    summary.skipped_not_priceable += 1;
                    out.skipped
                        .write_all(rec.bytes)
                        .with_context(|| write_err(names::SKIPPED))?;
                    row(Some(&facts), None, None, "skipped", status, cause)
                        .write(&mut out.differences)
                }
                Done::Fault {
                    labelled,
                    facts,
                    old,
                    cause,
                    detail,
                } => {
                    summary.count_fault(cause);
                    let src = source(file, &rec);
                    write::fault_record(
                        &mut out.faults,
                        &mut out.fault_report,
                        src,
                        rec.bytes,
                        labelled.as_deref(),
                        facts.as_ref().and_then(|f| f.sdr_identifier),
                        facts.as_ref().map_or("", |f| f.producer.as_str()),
                        cause,
                        &detail,
                    )?;
                    if let Some(f) = &facts {
                        totals.add(f, old.side(), None)?;
                    }
                    row(
                        facts.as_ref(),
                        old.side(),
                        None,
                        "faulted",
                        cause.name().as_ref(),
                        &detail,
                    )
                    .write(&mut out.differences)
                }
            }
        })
    }
}

/// Re-rates every input into `dir`; returns the summary (without run id
/// and times) and the difference totals.
pub fn rerate(
    rater: &Rater,
    tag: Option<&Tag>,
    inputs: &[RerateInput],
    dir: &Path,
    max_record: usize,
    progress: &dyn Progress,
) -> Result<(Summary, Totals)> {
    let mut out = Outputs::open(dir)?;
    let mut summary = Summary {
        command: COMMAND,
        sdrate_version: env!("CARGO_PKG_VERSION"),
        ..Summary::default()
    };
    let mut totals = Totals::default();
    progress.start(
        inputs
            .iter()
            .filter_map(|i| fs::metadata(&i.path).ok().map(|m| m.len()))
            .sum(),
    );
    let paths: Vec<PathBuf> = inputs.iter().map(|i| i.path.clone()).collect();
    let mut stage = sessions::Stage::new(rater);
    let mut spare = Spare::default();
    for (index, input) in inputs.iter().enumerate() {
        let file = input.path.display().to_string();
        summary.inputs.push(file.clone());
        if read::is_event_log(&input.path) {
            sessions::read_event_log(&input.path, &mut stage, &mut out, &mut summary)?;
            progress.inc(fs::metadata(&input.path).map_or(0, |m| m.len()));
            continue;
        }
        let job = RerateJob {
            rater,
            file: &file,
            tag,
        };
        let mut reader = Reader::open(&input.path)?.max_record(max_record);
        let mut priced = PricedFile {
            path: out
                .dir
                .join(names::PRICED_DIR)
                .join(priced_name(&input.path, index, &paths)),
            w: None,
        };
        if !input.run_file {
            priced.w = Some(create(&priced.path)?);
        }
        let mut writer = RerateWriter {
            out: &mut out,
            summary: &mut summary,
            totals: &mut totals,
            sessions: &mut stage,
            priced: &mut priced,
            file: &file,
            progress: super::progress_of(&reader, progress),
        };
        let drove = blocks::drive(&mut reader, &job, &mut writer, &mut spare);
        if reader.compression().is_some() {
            progress.inc(fs::metadata(&input.path).map_or(0, |m| m.len()));
        }
        if let Some(d) = super::damage_of(drove)? {
            // A compressed stream that broke off: a fault, as in `rate`.
            summary.records_read += 1;
            let cause = FaultCause::DamagedCompression;
            summary.count_fault(cause);
            write::damaged_stream(&mut out.fault_report, &d)?;
            Row {
                file: &file,
                offset: Position::Offset(d.offset),
                facts: None,
                old: None,
                new: None,
                outcome: "faulted",
                status: &cause.name(),
                cause: &d.to_string(),
            }
            .write(&mut out.differences)?;
        }
        priced.finish()?;
    }
    stage.finish(rater, &mut out, &mut summary, &mut totals)?;
    progress.finish();
    out.flush()?;
    summary.answers_by_producer = out.answers.finish()?;
    summary.accounting_identity_holds = summary.identity_holds();
    Ok((summary, totals))
}

/// A rerate as the command planned it.
pub struct Plan<'a> {
    pub rater: &'a Rater,
    pub inputs: Vec<RerateInput>,
    pub list_revisions: Vec<ListRevision>,
    /// The customer registry read, hashed.
    pub customers: InputFile,
    pub out: &'a Path,
    pub max_record: usize,
    /// Entries of input directories not read ([`Planned::not_read`]).
    pub not_read: Vec<read::NotRead>,
    /// sdrate's identity in the responsibility trace (`--system-identity`):
    /// billing SDRs priced again carry its tag, once (`write::trace`). A
    /// rerate writes no purge lists: its SDRs were secured by the run that
    /// first billed them.
    pub system_identity: Option<String>,
}

/// What a rerate did.
pub enum Rerated {
    /// `out` already holds this very rerate (same run id): nothing done.
    AlreadyDone(String),
    Published(Box<Summary>),
}

impl Plan<'_> {
    /// Hashes the inputs, decides whether `out` may be written (only an
    /// earlier rerate output is ever replaced), re-rates into a staged
    /// output, checks the accounting identity and publishes.
    pub fn execute(self, progress: &dyn Progress) -> Result<Rerated> {
        let started = (chrono::Utc::now(), std::time::Instant::now());
        let hashed = self
            .inputs
            .iter()
            .map(|i| publish::hash_file(&i.path))
            .collect::<Result<Vec<_>>>()?;
        let pricing_time = self.rater.pricing_time.0.to_rfc3339();
        let as_of = self.rater.as_of.map(|t| t.0.to_rfc3339());
        let id = run_id(
            &hashed,
            &self.list_revisions,
            &self.customers,
            &pricing_time,
            as_of.as_deref(),
            self.max_record,
            self.system_identity.as_deref(),
        );
        let replace = if self.out.exists() {
            match rerate_output_id(self.out) {
                Some(old) if old == id => return Ok(Rerated::AlreadyDone(id)),
                Some(_) => true,
                None => {
                    let what = match crate::state::published_run_id(self.out) {
                        Some(run) => format!("holds the published run {run}"),
                        None => "exists".into(),
                    };
                    return Err(Failure::Refused(format!(
                        "output directory {} {what}; rerate replaces only an earlier rerate output: give a new --out",
                        self.out.display()
                    ))
                    .into());
                }
            }
        } else {
            false
        };
        let staging = Staging::begin(self.out, replace)?;
        let prepare = super::millis(started.1.elapsed());
        let pricing = std::time::Instant::now();
        let tag = self
            .system_identity
            .as_deref()
            .map(|id| Tag::new(id, self.rater.pricing_time))
            .transpose()?;
        let (mut summary, totals) = rerate(
            self.rater,
            tag.as_ref(),
            &self.inputs,
            staging.dir(),
            self.max_record,
            progress,
        )?;
        let read_and_price = super::millis(pricing.elapsed());
        let reporting = std::time::Instant::now();
        summary.run_id = id.clone();
        summary.as_of = as_of;
        summary.pricing_time = pricing_time;
        summary.not_read = super::NotReadReport::of(&self.not_read);
        totals.write_csv(&staging.dir().join(names::DIFFERENCE_TOTALS))?;
        summary.totals = totals.by_currency()?;
        // Checked before anything is published: a run whose records do not
        // add up publishes nothing.
        Failure::require_balanced(summary.accounting_identity_holds, summary.records_read)?;
        let duration = started.1.elapsed();
        let records = summary.records_read + summary.sessions.event_log_rows;
        summary.timing = super::Timing {
            started: super::wall_clock(started.0),
            ended: super::wall_clock(
                started.0 + chrono::TimeDelta::from_std(duration).unwrap_or_default(),
            ),
            duration_ms: super::millis(duration),
            records_per_second: super::per_second(records, duration),
            phases_ms: super::Phases {
                prepare,
                read_and_price,
                report: super::millis(reporting.elapsed()),
                ..Default::default()
            },
        };
        staging.write_summary(&summary)?;
        let manifest = Manifest {
            sdrate_version: env!("CARGO_PKG_VERSION"),
            run_id: &id,
            dry_run: false,
            billing: false,
            inputs: &hashed,
            skipped_inputs: &[],
            price_lists: &self.list_revisions,
            customers: &self.customers,
            routing: None,
            exports: &[],
            summary: &summary,
        };
        staging.publish(&manifest)?;
        Ok(Rerated::Published(Box::new(summary)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity() {
        let s = Summary {
            records_read: 5,
            repriced: 3,
            changed: 2,
            unchanged: 1,
            newly_priced: 1,
            faulted: 1,
            skipped_not_priceable: 1,
            ..Summary::default()
        };
        assert!(s.identity_holds());
        assert!(!Summary { unchanged: 0, ..s }.identity_holds());
    }
}
