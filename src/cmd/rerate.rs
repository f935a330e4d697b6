//! `sdrate rerate`: plan a re-rating (price lists, customers, inputs),
//! run it on the engine ([`sdrate::pipeline::rerate`]) and report.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{RerateArgs, Verbosity};
use sdrate::error::Failure;
use sdrate::pipeline::rerate::{self, Plan, Rerated, Summary};
use sdrate::rate::Rater;
use sdrate::sdr::Timestamp;
use sdrate::state::publish;
use sdrate::write::names;

pub fn run(args: &RerateArgs, verbosity: Verbosity) -> Result<ExitCode> {
    let given = match &args.engine.pricing_time {
        Some(t) => Some(super::parse_time("--pricing-time", t)?),
        None => None,
    };
    // Whole milliseconds: what every ASN.1 toolchain reads.
    let pricing_time = Timestamp::for_pricing(given).0;
    let as_of = args
        .as_of
        .as_deref()
        .map(|t| super::parse_time("--as-of", t))
        .transpose()?;
    if args.engine.threads == Some(0) {
        return Err(Failure::Refused("--threads must be at least 1".into()).into());
    }
    let (lists, customers) = sdrate::resolve::load(
        &args.engine.tariff.price_lists,
        &args.engine.tariff.customers,
    )?;
    let customers_hash = publish::hash_file(&args.engine.tariff.customers)?;
    let planned = rerate::plan_inputs(&args.inputs)?;
    if !verbosity.is_quiet() {
        for w in sdrate::read::not_read_warnings(&planned.not_read) {
            tracing::warn!("{w}");
        }
    }
    let list_revisions = publish::list_revisions(&lists);
    let rater = Rater {
        lists,
        customers,
        pricing_time: Timestamp(pricing_time),
        pricing_identifier: format!("sdrate {}", env!("CARGO_PKG_VERSION")).into(),
        as_of: as_of.map(Timestamp),
    };
    let plan = Plan {
        rater: &rater,
        inputs: planned.inputs,
        not_read: planned.not_read,
        list_revisions,
        customers: customers_hash,
        out: &args.out,
        max_record: args.engine.reading.max_record(),
        system_identity: args.engine.system_identity.clone(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.engine.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    let bar = crate::ui::Bar::new(verbosity.is_quiet());
    match pool.install(|| plan.execute(&bar))? {
        Rerated::AlreadyDone(id) => {
            tracing::info!(
                "{} already holds rerate run {id} (same inputs, price lists, pricing time and as-of): nothing to do",
                args.out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Rerated::Published(summary) => {
            if !verbosity.is_quiet() {
                report(&summary, args, verbosity);
            }
            Ok(crate::exit::completed(
                summary.faulted + summary.sessions.faults(),
            ))
        }
    }
}

/// The end-of-run lines on stderr.
fn report(summary: &Summary, args: &RerateArgs, verbosity: Verbosity) {
    tracing::info!(
        "{} records read: {} repriced ({} changed, {} unchanged), {} faulted, {} skipped as not priceable ({})",
        summary.records_read,
        summary.repriced,
        summary.changed,
        summary.unchanged,
        summary.faulted,
        summary.skipped_not_priceable,
        if summary.accounting_identity_holds {
            "all accounted for"
        } else {
            "ACCOUNTING MISMATCH"
        }
    );
    let s = &summary.sessions;
    if s.events_read + s.event_log_rows + summary.participation_sdrs > 0 {
        tracing::info!(
            "{} session events read: {} sessions priced again ({} participations: {} changed, {} unchanged), {} faulted, {} incomplete in the inputs",
            s.events_read,
            s.sessions_priced,
            s.participations,
            s.changed,
            s.unchanged,
            s.sessions_faulted,
            s.sessions_incomplete
        );
    }
    for (currency, c) in &summary.totals {
        tracing::info!(
            "{currency}: old {} new {} difference {}",
            c.old,
            c.new,
            c.difference
        );
    }
    if let Some(t) = &summary.as_of {
        tracing::info!("what-if: price lists chosen as valid at {t}");
    }
    if verbosity.is_verbose(1) {
        tracing::info!(
            "differences per SDR in {}/{}, totals in {}/{}",
            args.out.display(),
            names::DIFFERENCES,
            args.out.display(),
            names::DIFFERENCE_TOTALS
        );
    }
}
