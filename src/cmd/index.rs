//! `sdrate index runs|why|undo-run`: the duplicate index after the fact
//! (see `sdrate::group::duplicates`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{TimeDelta, Utc};

use crate::cli::{IndexCommand, IndexUndoArgs, IndexWhyArgs, Verbosity};
use sdrate::error::Failure;
use sdrate::group::duplicates::{self, Billed, DuplicateIndex, Fingerprint, Key, Window};
use sdrate::state::suspense::audit;

pub fn run(command: IndexCommand, verbosity: Verbosity) -> Result<ExitCode> {
    match command {
        IndexCommand::Runs(a) => runs(&a.state),
        IndexCommand::Why(a) => why(&a),
        IndexCommand::UndoRun(a) => undo(&a, verbosity),
    }
}

fn runs(state: &std::path::Path) -> Result<ExitCode> {
    let s = super::existing_state(state)?;
    let last = s.last_run_id();
    let listed = duplicates::runs(s.path())?;
    let mut w = csv::Writer::from_writer(super::output(None)?);
    w.write_record(["run_id", "sdrs", "first_day", "last_day", "status"])?;
    for r in listed {
        let status = match (r.pending, last.as_deref() == Some(r.run_id.as_str())) {
            (false, _) => "published",
            (true, true) => "published (last run)",
            (true, false) => "never published (ignored)",
        };
        let id = if r.run_id.is_empty() {
            "(before runs were recorded)".to_owned()
        } else {
            r.run_id
        };
        w.write_record([
            id,
            r.sdrs.to_string(),
            r.first_day,
            r.last_day,
            status.to_owned(),
        ])?;
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn why(a: &IndexWhyArgs) -> Result<ExitCode> {
    let s = super::existing_state(&a.state)?;
    let now = match &a.pricing_time {
        Some(t) => super::parse_time("--pricing-time", t)?.to_utc(),
        None => Utc::now(),
    };
    let window = Window {
        now,
        retention: TimeDelta::days(i64::from(a.window.duplicate_window)),
        future_tolerance: TimeDelta::hours(i64::from(a.window.future_tolerance)),
    };
    let last = s.last_run_id();
    let index = DuplicateIndex::open(s.path(), window, |id| Ok(last.as_deref() == Some(id)))?;
    let mut w = csv::Writer::from_writer(super::output(None)?);
    w.write_record([
        "file",
        "offset",
        "producer",
        "sdr_identifier",
        "time_of_origin",
        "billed_by",
        "verdict",
    ])?;
    let mut failed = false;
    for path in &a.inputs {
        // One file's keys at a time: a file of duplicates is a night's
        // worth at most, and each day file is read once per input.
        let mut rows = Vec::new();
        let mut keys: Vec<Fingerprint> = Vec::new();
        let file = path.display().to_string();
        let mut reader = sdrate::read::Reader::open(path)?;
        while let Some(block) = reader.next_chunk()? {
            for item in block.records() {
                let rec = match item {
                    Ok(rec) => rec,
                    Err(broken) => {
                        failed = true;
                        tracing::warn!(
                            "{file}: offset {}: {} bytes cannot be framed as records: {}",
                            broken.offset,
                            broken.bytes.len(),
                            broken.error
                        );
                        continue;
                    }
                };
                match sdrate::read::decode(rec.bytes) {
                    Ok(sdr) => {
                        let h = &sdr.service_header;
                        keys.push(Key::of(h).fingerprint());
                        rows.push((
                            rec.offset,
                            h.producer_identity.to_string(),
                            h.sdr_identifier,
                            h.time_of_origin.0.to_rfc3339(),
                        ));
                    }
                    Err(e) => {
                        failed = true;
                        tracing::warn!(
                            "{file}: offset {}: record cannot be decoded: {e}",
                            rec.offset
                        );
                    }
                }
            }
        }
        let answers = index.billed_by(&keys)?;
        for ((offset, producer, id, time), b) in rows.into_iter().zip(answers) {
            let (by, verdict) = match b {
                Billed::By(r) if r.is_empty() => {
                    ("(before runs were recorded)".to_owned(), "duplicate")
                }
                Billed::By(r) => (r, "duplicate"),
                Billed::NotBilled => (String::new(), "not billed"),
                Billed::TooOld => (String::new(), "before the window"),
                Billed::Future => (String::new(), "after the clock"),
            };
            w.write_record([
                file.clone(),
                offset.to_string(),
                producer,
                id.to_string(),
                time,
                by,
                verdict.to_owned(),
            ])?;
        }
    }
    w.flush()?;
    Ok(if failed {
        ExitCode::from(crate::exit::FAULTS)
    } else {
        ExitCode::SUCCESS
    })
}

fn undo(a: &IndexUndoArgs, verbosity: Verbosity) -> Result<ExitCode> {
    let s = super::existing_state(&a.state)?;
    let undone = duplicates::undo_run(s.path(), &a.run_id)?;
    let inputs = s.forget_consumed(&a.run_id)?;
    if undone.sdrs == 0 && inputs == 0 {
        return Err(Failure::Refused(format!(
            "the state directory {} holds nothing of run {} (`sdrate index runs` lists the runs)",
            a.state.display(),
            a.run_id
        ))
        .into());
    }
    audit(s.path(), "undo-run", &a.run_id, &a.reason, undone.sdrs)?;
    if !verbosity.is_quiet() {
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "sdrate: took run {} out of {}: {} SDRs from the duplicate index ({} days), {} inputs from the consumed list; its published output still stands: withdraw it from invoicing before billing the corrected run",
            a.run_id,
            a.state.display(),
            undone.sdrs,
            undone.days,
            inputs
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
