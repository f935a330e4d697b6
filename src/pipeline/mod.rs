//! The rating run: read every input in order, rate records in parallel
//! chunks, and hand results to one writer per output in input order, so the
//! output is byte-identical at any thread count and memory does not grow
//! with the input.

use std::fs::{self};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::group::assemble::Session;
use crate::group::duplicates::DuplicateIndex;
use crate::group::shards::Shards;
use crate::rate::Rater;
use crate::read::origins::{self, KeptInput, Origins};
use crate::read::{self, Reader};
use crate::state::publish::InputFile;
use crate::write::usage::UsageAnalysis;

mod blocks;
mod dedup;
pub mod exchange;
pub mod gather;
mod ledger;
mod outputs;
pub mod rating;
mod record;
pub mod rerate;
mod stage;
mod summary;

pub use crate::write::names;
pub use outputs::Outputs;
pub use record::{QA_COLUMNS, events_of};
pub use summary::{
    Money, NotReadReport, PaddingReport, PaddingRun, Phases, SessionCounts, Summary, Timing,
    millis, per_second, wall_clock,
};

use blocks::Spare;
use dedup::Dedup;
use outputs::create;
use record::{BlockWriter, Needs, RateJob, Responsible};
use stage::{SessionStage, read_event_log};

/// Name of the priced output for an input: its file name, without a
/// compression suffix (priced SDRs are written plain: `x.sdr.gz` gives
/// `x.sdr`), made unique by position when two inputs share a name.
pub(crate) fn priced_name(path: &Path, index: usize, all: &[PathBuf]) -> String {
    let plain = |p: &Path| {
        read::compressed::inner_name(p)
            .file_name()
            .map(|n| n.to_owned())
    };
    let name = plain(path).map_or_else(
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
        .any(|(i, p)| i != index && plain(p) == plain(path));
    if clash {
        format!("{index:04}-{name}")
    } else {
        name
    }
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
        indexed: dedup.is_some(),
        export: out.export.is_some(),
        fault_rows: false,
    };
    let mut summary = Summary {
        sdrate_version: env!("CARGO_PKG_VERSION"),
        ..Summary::default()
    };
    let mut stage = SessionStage {
        rater,
        dedup: match dedup {
            Some(d) => Dedup::Index(d),
            // One shard per thread, as the session router has.
            None => Dedup::Run(dedup::RunSet::new(rayon::current_num_threads())),
        },
        // One shard per thread: routing gives the same answers with any
        // number of shards (group::shards).
        assembler: Shards::new(
            rater.lists.longest_session_seconds(),
            rayon::current_num_threads(),
        ),
        ready: Vec::new(),
        usage: UsageAnalysis::default(),
        billed: Vec::new(),
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
    let mut spare = Spare::default();
    let mut hashes = vec![None; inputs.len()];
    // The writer borrows the outputs; the workers read the tag.
    let tag = out.tag.clone();
    let reading = Instant::now();
    for (index, path) in inputs.iter().enumerate() {
        let file = path.display().to_string();
        let (began, before) = (Instant::now(), InputCounts::of(&summary));
        if read::is_event_log(path) {
            summary.inputs.push(file.clone());
            read_event_log(path, &mut stage, &mut out, &mut summary)?;
            progress.inc(fs::metadata(path).map_or(0, |m| m.len()));
            InputCounts::of(&summary).log(&before, &file, began);
            continue;
        }
        let mut reader = Reader::open(path)?.max_record(max_record);
        if plan[index].hash_while_reading {
            reader = reader.hashing_by_chunks();
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
        let job = Responsible {
            job: RateJob {
                rater,
                file: &file,
                needs: Needs {
                    fault_rows: origins.is_none(),
                    ..needs
                },
            },
            tag: tag.as_ref(),
        };
        let mut writer = BlockWriter {
            out: &mut out,
            summary: &mut summary,
            stage: &mut stage,
            priced: &mut priced,
            priced_path: &priced_path,
            file: &file,
            origins: &mut origins,
            progress: progress_of(&reader, progress),
        };
        let drove = blocks::drive(&mut reader, &job, &mut writer, &mut spare);
        if reader.compression().is_some() {
            progress.inc(fs::metadata(path).map_or(0, |m| m.len()));
        }
        if let Some(d) = damage_of(drove)? {
            // Counted as a broken stretch is, with nothing kept.
            summary.records_read += 1;
            summary.count_fault(crate::fault::FaultCause::DamagedCompression);
            let detail = crate::write::damaged_stream(&mut out.fault_report, &d)?;
            if let Some(ex) = out.export.as_mut() {
                ex.fault(
                    &Default::default(),
                    crate::fault::FaultCause::DamagedCompression,
                    &detail,
                    &d.file,
                    d.offset,
                )?;
            }
        }
        priced
            .flush()
            .with_context(|| write_err(&priced_path.display().to_string()))?;
        hashes[index] = match reader.hash() {
            Some((digest, size)) => Some(InputFile::hashed(file.clone(), size, digest)),
            // A compressed input: its hash is that of the file on disk,
            // which the decompressing read did not see.
            None if plan[index].hash_while_reading => Some(crate::state::publish::hash_file(path)?),
            None => None,
        };
        InputCounts::of(&summary).log(&before, &file, began);
    }
    summary.timing.phases_ms.read_and_price = millis(reading.elapsed());
    let closing = Instant::now();
    let pending = stage.finish(&mut out, &mut summary)?;
    progress.finish();
    summary.timing.phases_ms.sessions = millis(closing.elapsed());
    tracing::debug!(
        sessions_priced = summary.sessions.sessions_priced,
        participations = summary.sessions.participations,
        pending = pending.len(),
        ms = summary.timing.phases_ms.sessions,
        "sessions closed"
    );
    let flushing = Instant::now();
    for (w, name) in [
        (&mut out.not_priced, names::NOT_PRICED),
        (&mut out.session_events, names::SESSION_EVENTS),
        (&mut out.participations, names::PARTICIPATIONS),
        (&mut out.duplicates, names::DUPLICATES),
        (&mut out.faulted_event_lines, names::FAULTED_EVENT_LINES),
        (&mut out.participation_report, names::PARTICIPATION_REPORT),
        (&mut out.cost_report, names::COSTS),
        (&mut out.qa_report, names::QA_REPORT),
    ] {
        w.flush().with_context(|| write_err(name))?;
    }
    summary.answers_by_producer = out.answers.finish()?;
    summary.secured = out.secured.as_mut().map(|s| s.finish()).transpose()?;
    out.faults.flush()?;
    out.broken.flush()?;
    for (w, name) in [
        (&mut out.fault_report, names::FAULT_REPORT),
        (&mut out.event_rows, names::SESSION_EVENT_ROWS),
        (&mut out.faulted_event_rows, names::FAULTED_EVENT_ROWS),
        (&mut out.late_events, names::LATE_EVENTS),
    ] {
        w.flush().with_context(|| write_err(name))?;
    }
    if let Some(e) = out.export.take() {
        e.finish()?;
    }
    if let Some(subs) = out.subscribers.take() {
        summary.routing = Some(subs.finish()?);
    }
    summary.settle_totals();
    summary.accounting_identity_holds = summary.identity_holds();
    summary.timing.phases_ms.outputs = millis(flushing.elapsed());
    tracing::debug!(ms = summary.timing.phases_ms.outputs, "outputs flushed");
    Ok((summary, pending, hashes))
}

/// The counts one input moves, for its `-v` line.
#[derive(Clone, Copy)]
struct InputCounts {
    records: u64,
    priced: u64,
    faulted: u64,
    duplicates: u64,
    session_events: u64,
    event_rows: u64,
}

impl InputCounts {
    fn of(s: &Summary) -> Self {
        InputCounts {
            records: s.records_read,
            priced: s.priced + s.price_requests,
            faulted: s.faulted + s.sessions.event_rows_faulted,
            duplicates: s.duplicates,
            session_events: s.session_events,
            event_rows: s.sessions.event_log_rows,
        }
    }

    /// One debug line per input: what it held and how long it took.
    fn log(self, before: &Self, file: &str, began: Instant) {
        tracing::debug!(
            input = file,
            records = self.records - before.records,
            event_rows = self.event_rows - before.event_rows,
            priced = self.priced - before.priced,
            faulted = self.faulted - before.faulted,
            duplicates = self.duplicates - before.duplicates,
            session_events = self.session_events - before.session_events,
            ms = millis(began.elapsed()),
            "input read and priced"
        );
    }
}

/// Where the bytes of records read are counted: a display's total is the
/// inputs' size on disk, so a compressed input, whose records are
/// decompressed bytes, counts its size on disk once it is read.
pub(crate) fn progress_of<'a>(reader: &Reader, progress: &'a dyn Progress) -> &'a dyn Progress {
    match reader.compression() {
        Some(_) => &Silent,
        None => progress,
    }
}

/// What reading an input ended with: a compressed stream that broke off
/// is one fault (`damagedCompression`) of the run, not the end of it (see
/// [`read::compressed`]): the records before it were rated. Other errors
/// end the run.
pub(crate) fn damage_of(drove: Result<()>) -> Result<Option<read::compressed::Damaged>> {
    match drove {
        Ok(()) => Ok(None),
        Err(e) => match e.downcast::<read::compressed::Damaged>() {
            Ok(d) => Ok(Some(d)),
            Err(e) => Err(e),
        },
    }
}

/// Files of a run that bill or feed other systems; a dry run removes them
/// and keeps only the reports.
pub const BILLING_OUTPUTS: [&str; 17] = [
    names::DUPLICATES,
    names::SECURED_DIR,
    names::SUBSCRIBERS_DIR,
    names::PRICED_DIR,
    names::ANSWERS,
    names::ANSWERS_DIR,
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
