//! `sdrate recycle`: a `rate` run over the state directory's suspense
//! area, or the write-off of its broken stretches.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{RecycleArgs, Verbosity};
use sdrate::pipeline::rating::Options;
use sdrate::state::{StateDir, WRITTEN_OFF};

/// `sdrate recycle`: a `rate` run over the state directory's suspense area.
pub fn run(args: RecycleArgs, verbosity: Verbosity) -> Result<ExitCode> {
    // Settle an unfinished run first, so the suspense area is current.
    let state = StateDir::open(&args.state)?;
    if let Some(reason) = &args.write_off_broken {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let (pieces, bytes) = state.write_off_broken(reason, &now)?;
        if !verbosity.is_quiet() {
            eprintln!(
                "sdrate: wrote off {pieces} broken stretch(es), {bytes} bytes, from the suspense area of {}: {reason} (audit: {})",
                args.state.display(),
                args.state.join(WRITTEN_OFF).display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let inputs: Vec<PathBuf> = state
        .suspense_inputs()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    drop(state);
    if inputs.is_empty() {
        if !verbosity.is_quiet() {
            eprintln!(
                "sdrate: the suspense area of {} is empty: nothing to recycle",
                args.state.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let out = args
        .out
        .clone()
        .expect("clap requires --out without --write-off-broken");
    // The lock was released above; the run takes it again. Suspense files
    // are replaced, never consumed, so they are rated whatever a run
    // consumed before.
    let opts = Options {
        state: Some(args.state),
        force: true,
        recycle: true,
        ..super::rate::options(inputs, out, &args.engine, &args.run)?
    };
    super::rate::execute(opts, &args.engine, &args.run, verbosity)
}
