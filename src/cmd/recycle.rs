//! `sdrate recycle`: a `rate` run over the state directory's suspense
//! area, or the write-off of its broken stretches.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{RecycleArgs, Verbosity};
use crate::metrics::Outcome;
use sdrate::pipeline::rating::Options;
use sdrate::state::suspense;
use sdrate::state::{StateDir, WRITTEN_OFF};

/// `sdrate recycle`: a `rate` run over the state directory's suspense area.
pub fn run(args: RecycleArgs, verbosity: Verbosity) -> Result<ExitCode> {
    if let Some(reason) = &args.write_off_broken {
        // Settle an unfinished run first, so the suspense area is current.
        let state = StateDir::open(&args.state)?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // The same balanced, journalled write-off as `suspense write-off
        // --cause brokenFraming`.
        let filter = suspense::Filter {
            causes: vec![suspense::BROKEN_CAUSE.to_owned()],
            ..Default::default()
        };
        let done = suspense::write_off(&state, &filter, reason, &now)?;
        let (pieces, bytes) = (done.written_off, done.bytes);
        if pieces > 0 {
            suspense::audit(
                state.path(),
                "write-off",
                "brokenFraming (all)",
                reason,
                pieces,
            )?;
        }
        if !verbosity.is_quiet() {
            tracing::info!(
                "wrote off {pieces} broken stretch(es), {bytes} bytes, from the suspense area of {}: {reason} (audit: {})",
                args.state.display(),
                args.state.join(WRITTEN_OFF).display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let metrics = args.run.metrics.clone();
    crate::metrics::around("recycle", metrics.as_deref(), |outcome| {
        recycle(&args, verbosity, outcome)
    })
}

/// A recycle run (not a write-off): its exit code.
fn recycle(args: &RecycleArgs, verbosity: Verbosity, outcome: &mut Outcome) -> Result<u8> {
    // Settle an unfinished run first, so the suspense area is current.
    let state = StateDir::open(&args.state)?;
    // A recycle by cause takes part of the suspense area: the selection
    // is copied aside (outside the state for a dry run, which changes no
    // state) and the rest carried into the suspense the run leaves.
    let selection_dir;
    let _dry_run_dir;
    let selection = if args.cause.is_empty() {
        None
    } else {
        let filter = sdrate::state::suspense::Filter {
            causes: args.cause.clone(),
            ..Default::default()
        };
        selection_dir = if args.run.dry_run {
            let t = tempfile::tempdir().context("cannot create a temporary folder")?;
            let p = t.path().join("selection");
            _dry_run_dir = Some(t);
            p
        } else {
            args.state.join(suspense::SELECTION_DIR)
        };
        Some(suspense::select(&state, &filter, &selection_dir)?)
    };
    let inputs: Vec<PathBuf> = match &selection {
        Some(sel) => sel.inputs.iter().map(|(p, _)| p.clone()).collect(),
        None => state
            .suspense_inputs()
            .into_iter()
            .map(|(p, _)| p)
            .collect(),
    };
    drop(state);
    if inputs.is_empty() {
        if !verbosity.is_quiet() {
            let what = if args.cause.is_empty() {
                "is empty".to_owned()
            } else {
                format!("holds nothing of cause {}", args.cause.join(", "))
            };
            tracing::info!(
                "the suspense area of {} {what}: nothing to recycle",
                args.state.display()
            );
        }
        if selection.is_some() && !args.run.dry_run {
            suspense::clear_selection(&args.state)?;
        }
        return Ok(crate::exit::SUCCESS);
    }
    let out = args
        .out
        .clone()
        .expect("clap requires --out without --write-off-broken");
    let taken = selection.as_ref().map(|s| s.taken);
    // The lock was released above; the run takes it again. Suspense files
    // are replaced, never consumed, so they are rated whatever a run
    // consumed before.
    let opts = Options {
        state: Some(args.state.clone()),
        force: true,
        recycle: true,
        selection,
        ..super::rate::options(inputs, out, &args.engine, &args.run)?
    };
    let code = super::rate::execute(opts, &args.engine, &args.run, verbosity, outcome);
    if let Some(taken) = taken
        && !args.run.dry_run
    {
        // Once the run is over (published or not) the copies are not
        // needed: the published suspense holds what was left.
        suspense::clear_selection(&args.state)?;
        if code.is_ok() {
            let state = StateDir::open(&args.state)?;
            suspense::audit(
                state.path(),
                "recycle",
                &format!("cause {}", args.cause.join(",")),
                "",
                taken,
            )?;
        }
    }
    code
}
