//! `sdrate rate`: parse, then plan (price lists and customers loaded and
//! checked, outputs opened), then rate.

use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Local};

use crate::cli::RateArgs;
use crate::exit::Failure;
use crate::group::state::StateDir;
use crate::pipeline::{self, Outputs};
use crate::rate::Rater;
use crate::read;
use crate::resolve::{Customers, PriceLists};
use crate::sdr::Timestamp;

pub fn run(args: &RateArgs) -> Result<ExitCode> {
    let pricing_time = match &args.pricing_time {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map_err(|e| Failure::Usage(format!("--pricing-time `{t}`: {e}")))?,
        None => Local::now().fixed_offset(),
    };
    if args.threads == Some(0) {
        return Err(Failure::Usage("--threads must be at least 1".into()).into());
    }
    let lists = PriceLists::load_dir(&args.price_lists)?;
    if lists.is_empty() {
        return Err(Failure::Config(format!(
            "no price lists found in {}",
            args.price_lists.display()
        ))
        .into());
    }
    let customers = Customers::load(&args.customers)?;
    let inputs = read::expand_inputs(&args.inputs)?;
    let outputs = Outputs::open(&args.out)?;
    let state_dir = args.state.clone().unwrap_or_else(|| args.out.join("state"));
    let state = StateDir::open(&state_dir)?;
    let rater = Rater {
        lists,
        customers,
        pricing_time: Timestamp(pricing_time),
        pricing_identifier: format!("sdrate {}", env!("CARGO_PKG_VERSION")),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    let summary = pool.install(|| pipeline::run(&rater, &inputs, outputs, &state))?;
    eprintln!(
        "sdrate: {} records read: {} priced, {} price requests, {} not priced, {} session events, {} faulted ({})",
        summary.records_read,
        summary.priced,
        summary.price_requests,
        summary.not_priced,
        summary.session_events,
        summary.faulted,
        if summary.accounting_identity_holds {
            "all accounted for"
        } else {
            "ACCOUNTING MISMATCH"
        }
    );
    let s = &summary.sessions;
    if s.events_read + s.events_carried_in + s.event_rows_faulted > 0 {
        eprintln!(
            "sdrate: {} session events ({} carried in): {} sessions priced ({} participations), {} faulted, {} pending in {}; {} duplicates dropped, {} bad event-log rows",
            s.events_read,
            s.events_carried_in,
            s.sessions_priced,
            s.participations,
            s.sessions_faulted,
            s.sessions_pending,
            state.path().display(),
            s.duplicate_events,
            s.event_rows_faulted,
        );
    }
    if !summary.accounting_identity_holds {
        return Err(anyhow::anyhow!(
            "accounting identity does not hold; see summary.json"
        ));
    }
    Ok(crate::exit::completed(
        summary.faulted + summary.sessions.events_faulted + summary.sessions.event_rows_faulted,
    ))
}
