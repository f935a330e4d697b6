//! `sdrate rate`: parse, then plan (price lists and customers loaded and
//! checked, state directory locked and settled, inputs hashed where a
//! decision needs the hash first, output staged), then rate (hashing the
//! other inputs as they are read), then publish atomically and commit the
//! state.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::RateArgs;
use sdrate::error::Failure;
use sdrate::group::duplicates::DuplicateIndex;
use sdrate::pipeline::{self, Outputs, PlannedInput, Summary, names};
use sdrate::rate::Rater;
use sdrate::read;
use sdrate::sdr::Timestamp;
use sdrate::state::publish::{self, InputFile, ListRevision, Manifest, Staging};
use sdrate::state::{
    Consumed, SUSPENSE, SUSPENSE_BROKEN, SUSPENSE_BROKEN_INDEX, SUSPENSE_INDEX, SUSPENSE_LINES,
    SUSPENSE_ROWS, StateDir, Suspense, WRITTEN_OFF, published_run_id,
};
use sdrate::write::subscribers::Routing;

/// A run id that depends only on what the run reads and how: the same
/// command on the same data gets the same id, and so the same output.
fn run_id(
    inputs: &[InputFile],
    lists: &[ListRevision],
    customers: &InputFile,
    pricing_time: &str,
    dry_run: bool,
    routing: Option<&InputFile>,
    args: &RateArgs,
) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for i in inputs {
        h.update(i.hash.as_bytes());
    }
    publish::hash_list_revisions(&mut h, lists);
    h.update(customers.hash.as_bytes());
    h.update(pricing_time.as_bytes());
    h.update(&[u8::from(dry_run)]);
    // The subscribers' outputs depend on the routing file: another one is
    // another run (and a run without one keeps the id it always had).
    if let Some(r) = routing {
        h.update(b"\0routing");
        h.update(r.hash.as_bytes());
    }
    // The duplicate index tells runs apart by id: every option that
    // changes what a run bills is part of it. (Two runs with one id make
    // the same billing decisions, so one standing in for the other in the
    // index bills nothing twice and loses nothing.)
    h.update(b"\0run");
    h.update(&[u8::from(args.force), u8::from(args.recycle)]);
    h.update(&args.duplicate_window.to_le_bytes());
    // The framing limit decides what is a record: another limit, another
    // run (the default keeps the id runs always had).
    if args.reading.max_record() != sdrate::read::MAX_RECORD_BYTES {
        h.update(b"\0max-record");
        h.update(&args.reading.max_record_bytes.to_le_bytes());
    }
    format!("{:016x}", h.digest())
}

/// `sdrate recycle`: a `rate` run over the state directory's suspense area.
pub fn recycle(
    args: crate::cli::RecycleArgs,
    verbosity: crate::cli::Verbosity,
) -> Result<ExitCode> {
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
    // The lock was released above; `run` takes it again for the run.
    run(&args.into_rate(inputs, out, verbosity))
}

pub fn run(args: &RateArgs) -> Result<ExitCode> {
    let given = match &args.pricing_time {
        Some(t) => Some(super::parse_time("--pricing-time", t)?),
        None => None,
    };
    // Whole milliseconds: what every ASN.1 toolchain reads.
    let pricing_time = Timestamp::for_pricing(given).0;
    if args.threads == Some(0) {
        return Err(Failure::Refused("--threads must be at least 1".into()).into());
    }
    if let Some(dest) = &args.summary_json {
        crate::ui::check_summary_json(dest)?;
    }
    let (lists, customers) =
        sdrate::resolve::load(&args.tariff.price_lists, &args.tariff.customers)?;
    let customers_hash = publish::hash_file(&args.tariff.customers)?;
    let routing = args.routing.as_deref().map(Routing::load).transpose()?;
    let routing_hash = args
        .routing
        .as_deref()
        .map(publish::hash_file)
        .transpose()?;
    let inputs = read::expand_inputs(&args.inputs)?;

    // The state directory is locked for the whole run and settled first:
    // a run killed earlier is rolled forward or back before we look.
    let state = match (&args.state, args.dry_run) {
        (Some(dir), false) => Some(StateDir::open(dir)?),
        (Some(dir), true) => Some(StateDir::open_for_dry_run(dir)?),
        (None, _) => None,
    };
    if let Some(note) = state.as_ref().and_then(|s| s.recovered.as_deref())
        && !args.verbosity.is_quiet()
    {
        eprintln!("sdrate: {note}");
    }
    let consumed = match &state {
        Some(s) => s.consumed()?,
        None => Vec::new(),
    };
    let mut to_rate: Vec<PathBuf> = Vec::new();
    // The hash of each input rated, in input order: None for standard
    // input, and for a file hashed by the read that rates it.
    let mut hashes: Vec<Option<InputFile>> = Vec::new();
    let mut skipped = Vec::new();
    // A file's hash is needed before it is rated only to find it among the
    // consumed inputs (of its size), or to compare run ids with a run
    // already published in --out. Otherwise the rating read hashes it, so
    // the file is read once rather than twice.
    let published_here = published_run_id(&args.out).is_some();
    for path in inputs {
        if path.as_os_str() == "-" {
            // Standard input cannot be recognised again; it is always rated.
            to_rate.push(path);
            hashes.push(None);
            continue;
        }
        let size = fs::metadata(&path).map(|m| m.len()).ok();
        let later = !published_here
            && !read::is_event_log(&path)
            && size.is_some_and(|n| consumed.iter().all(|c| c.size != n));
        if later {
            to_rate.push(path);
            hashes.push(None);
            continue;
        }
        let h = publish::hash_file(&path)?;
        let seen = consumed
            .iter()
            .find(|c| c.size == h.size && c.hash == h.hash);
        match seen {
            Some(c) if !args.force && !args.dry_run => {
                // A warning even under -q: an operator must see it.
                eprintln!(
                    "sdrate: skipping {}: already rated by run {} (as {}); --force rates it again",
                    h.path, c.run_id, c.path
                );
                skipped.push(h);
            }
            _ => {
                to_rate.push(path);
                hashes.push(Some(h));
            }
        }
    }
    let list_revisions: Vec<ListRevision> = publish::list_revisions(&lists);
    // Every input named counts, rated or skipped: the same command run
    // again after it published gets the same id, and finds it done.
    let id_of = |hashed: &[InputFile]| {
        let mut named: Vec<InputFile> = hashed.iter().chain(&skipped).cloned().collect();
        named.sort_by(|a, b| a.path.cmp(&b.path));
        run_id(
            &named,
            &list_revisions,
            &customers_hash,
            &pricing_time.to_rfc3339(),
            args.dry_run,
            routing_hash.as_ref(),
            args,
        )
    };
    if published_here {
        // Every input was hashed above.
        let hashed: Vec<InputFile> = hashes.iter().flatten().cloned().collect();
        let id = id_of(&hashed);
        if published_run_id(&args.out).as_deref() == Some(id.as_str()) {
            eprintln!(
                "sdrate: {} already holds run {id} (same inputs, price lists, pricing time and routing): nothing to do",
                args.out.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
    }
    if args.dry_run && args.out.join(publish::MANIFEST).exists() && !is_dry_run(&args.out) {
        return Err(Failure::Refused(format!(
            "{} holds a published billing run; a dry run never writes over one: give another --out",
            args.out.display()
        ))
        .into());
    }
    // Without a state directory a run is a report to look at, replaced by
    // the next; with one, published output is never overwritten.
    let staging = Staging::begin(&args.out, state.is_none() || args.dry_run)?;
    let outputs = Outputs::open(staging.dir(), routing.as_ref())?;
    // The duplicate index counts the SDRs of the last run only if that run
    // was published (see group::duplicates).
    let mut dedup = match &state {
        Some(s) => {
            let last = s.last_run_id();
            Some(DuplicateIndex::open(
                s.path(),
                chrono::TimeDelta::days(i64::from(args.duplicate_window)),
                |id| Ok(last.as_deref() == Some(id)),
            )?)
        }
        None => None,
    };
    let pending_in = match &state {
        Some(s) => s.load_pending()?,
        None => Vec::new(),
    };
    let rater = Rater {
        lists,
        customers,
        pricing_time: Timestamp(pricing_time),
        pricing_identifier: format!("sdrate {}", env!("CARGO_PKG_VERSION")).into(),
        as_of: None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    // A recycle reads kept files: their indexes name the original inputs.
    let kept_files = match &state {
        Some(s) if args.recycle => s.suspense_inputs(),
        _ => Vec::new(),
    };
    let plan: Vec<PlannedInput> = to_rate
        .iter()
        .zip(&hashes)
        .map(|(p, h)| PlannedInput {
            path: p.clone(),
            // Every file not hashed above is hashed by its rating read.
            hash_while_reading: h.is_none() && p.as_os_str() != "-",
            kept: kept_files
                .iter()
                .find(|(k, _)| k == p)
                .and_then(|(_, k)| k.clone()),
        })
        .collect();
    let (mut summary, pending_out, read_hashes) = pool.install(|| {
        pipeline::run(
            &rater,
            &plan,
            args.reading.max_record(),
            outputs,
            pending_in,
            &crate::ui::Bar::new(args.verbosity.is_quiet()),
            dedup.as_mut(),
        )
    })?;
    let hashed: Vec<InputFile> = hashes
        .into_iter()
        .zip(read_hashes)
        .filter_map(|(before, read)| before.or(read))
        .collect();
    let id = id_of(&hashed);
    summary.run_id = id.clone();
    summary.dry_run = args.dry_run;
    summary.skipped_inputs = skipped.iter().map(|s| s.path.clone()).collect();
    if state.is_none() && !pending_out.is_empty() {
        write_pending_report(&staging, &pending_out)?;
    }
    // Checked before anything is published: a run whose records do not
    // add up publishes nothing and changes no state.
    sdrate::error::Failure::require_balanced(
        summary.accounting_identity_holds,
        summary.records_read,
    )?;
    if args.dry_run {
        for name in pipeline::BILLING_OUTPUTS {
            let p = staging.dir().join(name);
            if p.is_dir() {
                fs::remove_dir_all(&p).with_context(|| format!("cannot remove {}", p.display()))?;
            } else if p.exists() {
                fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
            }
        }
    }
    let breaches = match &args.previous {
        Some(prev) => compare_totals(&summary, prev, &staging.dir().join(TOTAL_DIFFERENCES), args)?,
        None => Vec::new(),
    };
    let breaches: Vec<String> = fault_breaches(&summary, args)
        .into_iter()
        .chain(breaches)
        .collect();
    let json = staging.write_summary(&summary)?;
    let manifest = Manifest {
        sdrate_version: env!("CARGO_PKG_VERSION"),
        run_id: &id,
        dry_run: args.dry_run,
        billing: state.is_some() && !args.dry_run,
        inputs: &hashed,
        skipped_inputs: &skipped,
        price_lists: &list_revisions,
        summary: &summary,
    };
    match (&state, args.dry_run) {
        (Some(s), false) => {
            let mut now_consumed = consumed;
            // Suspense files are replaced, never consumed.
            now_consumed.extend(hashed.iter().filter(|_| !args.recycle).map(|h| Consumed {
                path: h.path.clone(),
                size: h.size,
                hash: h.hash.clone(),
                run_id: id.clone(),
            }));
            // State first (staged, not yet current), then the output, then
            // the state becomes current: a crash anywhere is settled by the
            // next run (see group::state).
            // The suspense area keeps what faulted until a recycle prices
            // it: a recycle replaces it with what still faults.
            let mut suspense = Suspense::default();
            if !args.recycle {
                let p = |name| s.path().join(name);
                suspense.sdrs.push((p(SUSPENSE), p(SUSPENSE_INDEX)));
                suspense
                    .broken
                    .push((p(SUSPENSE_BROKEN), p(SUSPENSE_BROKEN_INDEX)));
                suspense.rows.push(p(SUSPENSE_ROWS));
                suspense.lines.push(p(SUSPENSE_LINES));
            }
            let p = |name| staging.dir().join(name);
            suspense
                .sdrs
                .push((p(names::FAULTS), p(names::FAULT_INDEX)));
            suspense
                .broken
                .push((p(names::BROKEN), p(names::BROKEN_INDEX)));
            suspense
                .rows
                .push(staging.dir().join(names::FAULTED_EVENT_ROWS));
            suspense
                .lines
                .push(staging.dir().join(names::FAULTED_EVENT_LINES));
            let commit = || -> Result<()> {
                s.stage(&id, &args.out, &pending_out, &now_consumed, &suspense)?;
                if let Some(d) = dedup {
                    d.commit(&id)?;
                }
                staging.publish(&manifest)?;
                s.promote()
            };
            if let Err(e) = commit() {
                // Rolled forward if the output was published after all,
                // else discarded: no staged state outlives the run.
                let _ = s.settle();
                return Err(e);
            }
        }
        _ => staging.publish(&manifest)?,
    }
    if let Some(dest) = &args.summary_json {
        crate::ui::write_summary_json(dest, &json)?;
    }
    if !args.verbosity.is_quiet() {
        report(&summary, state.as_ref(), args);
    }
    if !breaches.is_empty() {
        for b in &breaches {
            eprintln!("sdrate: quality-assurance threshold exceeded: {b}");
        }
        return Ok(ExitCode::from(crate::exit::THRESHOLD));
    }
    Ok(crate::exit::completed(
        summary.faulted + summary.sessions.events_faulted + summary.sessions.event_rows_faulted,
    ))
}

fn is_dry_run(out: &std::path::Path) -> bool {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(default)]
        dry_run: bool,
    }
    fs::read(out.join(publish::MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice::<Head>(&b).ok())
        .is_some_and(|h| h.dry_run)
}

fn write_pending_report(
    staging: &Staging,
    pending: &[sdrate::group::assemble::Session],
) -> Result<()> {
    use std::io::Write;
    let path = staging.dir().join(names::PENDING_REPORT);
    let mut w = std::io::BufWriter::new(
        fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    for s in pending {
        serde_json::to_writer(&mut w, s)?;
        w.write_all(b"\n")?;
    }
    w.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The end-of-run lines on stderr.
fn report(summary: &Summary, state: Option<&StateDir>, args: &RateArgs) {
    eprintln!(
        "sdrate: {} records read: {} priced, {} price requests, {} not priced, {} session events, {} faulted, {} duplicates ({})",
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
        let kept = match state {
            Some(st) => format!("pending in {}", st.path().display()),
            None => format!(
                "pending (no --state: listed in {}/{} only)",
                args.out.display(),
                names::PENDING_REPORT
            ),
        };
        eprintln!(
            "sdrate: {} session events ({} carried in): {} sessions priced ({} participations), {} faulted, {} {kept}; {} duplicates dropped, {} bad event-log rows",
            s.events_read,
            s.events_carried_in,
            s.sessions_priced,
            s.participations,
            s.sessions_faulted,
            s.sessions_pending,
            s.duplicate_events,
            s.event_rows_faulted,
        );
    }
    if args.dry_run {
        eprintln!(
            "sdrate: dry run: reports only in {}; nothing billed, no state changed",
            args.out.display()
        );
    }
}

/// Written with `--previous`: totals now against the previous run's.
pub const TOTAL_DIFFERENCES: &str = "total-differences.csv";

fn total_faults(s: &Summary) -> u64 {
    s.faulted + s.sessions.events_faulted + s.sessions.event_rows_faulted
}

/// The fault thresholds the run exceeded, in words.
fn fault_breaches(summary: &Summary, args: &RateArgs) -> Vec<String> {
    let faults = total_faults(summary);
    let read = summary.records_read + summary.sessions.event_log_rows;
    let mut out = Vec::new();
    if let Some(max) = args.max_faults
        && faults > max
    {
        out.push(format!("{faults} faults, more than --max-faults {max}"));
    }
    if let Some(max) = args.max_fault_share
        && read > 0
    {
        let share = rust_decimal::Decimal::from(faults) * rust_decimal::Decimal::ONE_HUNDRED
            / rust_decimal::Decimal::from(read);
        if share > max {
            out.push(format!(
                "faults are {}% of {read} records and rows read, more than --max-fault-share {max}%",
                share.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            ));
        }
    }
    out
}

/// Writes the totals of this run against a previous run's, per currency
/// and marketing company, and returns the currencies whose total moved more
/// than `--max-total-change`.
fn compare_totals(
    summary: &Summary,
    previous: &std::path::Path,
    path: &std::path::Path,
    args: &RateArgs,
) -> Result<Vec<String>> {
    use rust_decimal::Decimal;
    use std::collections::BTreeMap;
    let prev_path = previous.join(names::SUMMARY);
    let text = fs::read(&prev_path)
        .with_context(|| format!("cannot read the previous run's {}", prev_path.display()))?;
    #[derive(serde::Deserialize)]
    struct Prev {
        #[serde(default)]
        totals: BTreeMap<String, BTreeMap<String, PrevMoney>>,
    }
    #[derive(serde::Deserialize)]
    struct PrevMoney {
        #[serde(with = "rust_decimal::serde::str")]
        individual: Decimal,
    }
    let prev: Prev = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not an sdrate run summary", prev_path.display()))?;
    let mut rows: BTreeMap<(String, String), (Decimal, Decimal)> = BTreeMap::new();
    for (cur, by) in &prev.totals {
        for (co, m) in by {
            rows.entry((cur.clone(), co.clone())).or_default().0 = m.individual;
        }
    }
    for (cur, by) in &summary.totals {
        for (co, m) in by {
            rows.entry((cur.clone(), co.clone())).or_default().1 = m.individual;
        }
    }
    let overflow = || anyhow::anyhow!("totals too large to compare");
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    w.write_record([
        "currency",
        "marketing_company",
        "previous",
        "now",
        "difference",
    ])?;
    let mut per_currency: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for ((cur, co), (before, now)) in &rows {
        let diff = now.checked_sub(*before).ok_or_else(overflow)?;
        w.write_record([
            cur,
            co,
            &before.to_string(),
            &now.to_string(),
            &diff.to_string(),
        ])?;
        let t = per_currency.entry(cur.clone()).or_default();
        t.0 = t.0.checked_add(*before).ok_or_else(overflow)?;
        t.1 = t.1.checked_add(*now).ok_or_else(overflow)?;
    }
    w.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    let mut out = Vec::new();
    if let Some(max) = args.max_total_change {
        for (cur, (before, now)) in per_currency {
            let moved = if before.is_zero() {
                if now.is_zero() {
                    Some(Decimal::ZERO)
                } else {
                    None
                }
            } else {
                (now - before)
                    .checked_mul(Decimal::ONE_HUNDRED)
                    .and_then(|x| x.checked_div(before))
                    .map(|x| x.abs())
            };
            match moved {
                Some(p) if p <= max => {}
                Some(p) => out.push(format!(
                    "{cur} total moved {}% ({before} -> {now}), more than --max-total-change {max}%",
                    p.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
                )),
                None => out.push(format!(
                    "{cur} total moved from 0 to {now}, more than --max-total-change {max}%"
                )),
            }
        }
    }
    Ok(out)
}
