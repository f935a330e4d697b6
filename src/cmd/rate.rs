//! `sdrate rate`: fill in the plan of a production run from the command
//! line, run it ([`sdrate::pipeline::rating`]) and report.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{EngineArgs, RateArgs, RunArgs, Verbosity};
use crate::metrics::Outcome;
use sdrate::error::Failure;
use sdrate::pipeline::rating::{self, Options, Thresholds};
use sdrate::pipeline::{Summary, names};
use sdrate::sdr::Timestamp;

pub fn run(args: RateArgs, verbosity: Verbosity) -> Result<ExitCode> {
    let metrics = args.run.metrics.clone();
    crate::metrics::around("rate", metrics.as_deref(), |outcome| {
        let opts = Options {
            state: args.state,
            force: args.force,
            ..options(args.inputs, args.out, &args.engine, &args.run)?
        };
        execute(opts, &args.engine, &args.run, verbosity, outcome)
    })
}

/// The plan of a run from the groups `rate` and `recycle` share; what
/// only `rate` has (a state directory is optional, `--force`) is left at
/// its default.
pub(crate) fn options(
    inputs: Vec<std::path::PathBuf>,
    out: std::path::PathBuf,
    engine: &EngineArgs,
    run: &RunArgs,
) -> Result<Options> {
    let given = engine
        .pricing_time
        .as_deref()
        .map(|t| super::parse_time("--pricing-time", t))
        .transpose()?;
    Ok(Options {
        inputs,
        out,
        state: None,
        force: false,
        recycle: false,
        selection: None,
        duplicate_window: run.window.duplicate_window,
        future_tolerance_hours: run.window.future_tolerance,
        dry_run: run.dry_run,
        routing: run.routing.clone(),
        price_lists: engine.tariff.price_lists.clone(),
        customers: engine.tariff.customers.clone(),
        // Whole milliseconds: what every ASN.1 toolchain reads.
        pricing_time: Timestamp::for_pricing(given),
        pricing_time_given: given.is_some(),
        system_identity: engine.system_identity.clone(),
        max_record: engine.reading.max_record(),
        thresholds: Thresholds {
            max_faults: run.max_faults,
            max_fault_share: run.max_fault_share,
            previous: run.previous.clone(),
            max_total_change: run.max_total_change,
        },
        export: run.export_formats(),
        network_costs: run.network_costs.clone(),
    })
}

/// Plans, runs and reports a `rate` or `recycle` run; its exit code, and
/// its summary in `outcome` for the metrics.
pub(crate) fn execute(
    opts: Options,
    engine: &EngineArgs,
    run: &RunArgs,
    verbosity: Verbosity,
    outcome: &mut Outcome,
) -> Result<u8> {
    if engine.threads == Some(0) {
        return Err(Failure::Refused("--threads must be at least 1".into()).into());
    }
    if let Some(dest) = &run.summary_json {
        crate::ui::check_summary_json(dest)?;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(engine.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    let prepared = rating::prepare(opts.clone())?;
    if let Some(note) = prepared
        .recovered
        .as_ref()
        .filter(|_| !verbosity.is_quiet())
    {
        tracing::info!("{note}");
    }
    // Skipped inputs are said even under -q, an operator must see them;
    // there as one count, not one line a file every night.
    match prepared.skip_notices.len() {
        0 => {}
        n if verbosity.is_quiet() => tracing::warn!(
            "skipped {n} input(s) already rated by published runs (--force rates them again; without -q each is named)"
        ),
        _ => prepared
            .skip_notices
            .iter()
            .for_each(|note| tracing::info!("{note}")),
    }
    // Entries of input directories not read are said before the run (the
    // summary counts and lists them too); not under -q, where a spool
    // directory that keeps, say, an archive/ subdirectory would say so
    // every night.
    if !verbosity.is_quiet() {
        for w in sdrate::read::not_read_warnings(&prepared.not_read) {
            tracing::warn!("{w}");
        }
    }
    if let Some(id) = &prepared.already_done {
        // Said under -q too: a command that did nothing should say so.
        tracing::warn!(
            "{} already holds run {id} (same inputs, price lists, pricing time and routing): nothing to do",
            opts.out.display()
        );
        return Ok(crate::exit::SUCCESS);
    }
    let bar = crate::ui::Bar::new(verbosity.is_quiet());
    let done = pool.install(|| prepared.execute(&bar))?;
    if let Some(dest) = &run.summary_json {
        crate::ui::write_summary_json(dest, &done.json)?;
    }
    if !verbosity.is_quiet() {
        report(&done.summary, &opts);
    }
    let s = &done.summary;
    let faults = s.faulted + s.sessions.events_faulted + s.sessions.event_rows_faulted;
    outcome.summary = Some(done.summary);
    if !done.breaches.is_empty() {
        for b in &done.breaches {
            tracing::error!("quality-assurance threshold exceeded: {b}");
        }
        return Ok(crate::exit::THRESHOLD);
    }
    Ok(crate::exit::completed_code(faults))
}

/// The end-of-run lines on stderr.
fn report(summary: &Summary, opts: &Options) {
    tracing::info!(
        "{} records read: {} priced, {} price requests, {} not priced, {} session events, {} faulted, {} duplicates ({})",
        summary.records_read,
        summary.priced,
        summary.price_requests,
        summary.not_priced,
        summary.session_events,
        summary.faulted,
        summary.duplicates,
        if summary.accounting_identity_holds {
            "all accounted for"
        } else {
            "ACCOUNTING MISMATCH"
        }
    );
    let s = &summary.sessions;
    if s.events_read + s.events_carried_in + s.event_rows_faulted > 0 {
        let kept = match &opts.state {
            Some(st) => format!("pending in {}", st.display()),
            // Joined as a path: `--out out/` gave `out//...`. The file is
            // written only when a session is left open.
            None if s.sessions_pending > 0 => format!(
                "pending (no --state: listed in {} only)",
                opts.out.join(names::PENDING_REPORT).display()
            ),
            None => "pending".to_owned(),
        };
        tracing::info!(
            "{} session events ({} carried in): {} sessions priced ({} participations), {} faulted, {} {kept}; {} duplicates dropped, {} late (after their session's end), {} bad event-log rows",
            s.events_read,
            s.events_carried_in,
            s.sessions_priced,
            s.participations,
            s.sessions_faulted,
            s.sessions_pending,
            s.duplicate_events,
            s.late_events,
            s.event_rows_faulted,
        );
    }
    if opts.dry_run {
        tracing::info!(
            "dry run: reports only in {}; nothing billed, no state changed",
            opts.out.display()
        );
    }
}
