//! A `rate` or `recycle` run from plan to publication: the library work
//! of a production run, which the commands only fill in and report.
//!
//! 1. [`prepare`]: price lists, customers and routing loaded; the state
//!    directory locked and settled (a run killed earlier is rolled forward
//!    or back before anything is decided); inputs already consumed by a
//!    published run skipped (hashed first only where that decision, or a
//!    comparison with a run already published in OUT, needs the hash);
//!    the run id known when it can be, so a run already published is
//!    found done.
//! 2. [`Prepared::execute`]: the output staged, the run engine
//!    ([`super::run`]) over every input (hashing the others as they are
//!    read), the accounting identity checked before anything is published,
//!    the quality-assurance thresholds, then the one order that survives a
//!    crash at any moment: state staged, duplicate index committed, output
//!    published, state promoted ([`crate::state`]).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use rust_decimal::{Decimal, RoundingStrategy};

use super::{
    BILLING_OUTPUTS, Phases, PlannedInput, Progress, Summary, Timing, millis, names, per_second,
    wall_clock,
};
use crate::error::Failure;
use crate::group::assemble::Session;
use crate::group::duplicates::{self, DuplicateIndex};
use crate::rate::Rater;
use crate::read;
use crate::sdr::Timestamp;
use crate::state::publish::{self, InputFile, ListRevision, Manifest, Staging};
use crate::state::{
    Consumed, SUSPENSE, SUSPENSE_BROKEN, SUSPENSE_BROKEN_INDEX, SUSPENSE_INDEX, SUSPENSE_LINES,
    SUSPENSE_ROWS, StateDir, Suspense, published_run_id,
};
use crate::write::subscribers::Routing;

/// The quality-assurance thresholds of a run: exceeded, the run still
/// publishes, and the command exits with its own code.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    pub max_faults: Option<u64>,
    /// Percent of records and event-log rows read.
    pub max_fault_share: Option<Decimal>,
    /// A previous run's output, to compare totals with.
    pub previous: Option<PathBuf>,
    /// Percent a currency's total may move against `previous`.
    pub max_total_change: Option<Decimal>,
}

/// What a `rate` or `recycle` run is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub state: Option<PathBuf>,
    /// Rate inputs again that a published run consumed.
    pub force: bool,
    /// The inputs are the state directory's suspense area: they are
    /// replaced by what still faults, never consumed.
    pub recycle: bool,
    /// A recycle of part of the suspense area (`recycle --cause`): what it
    /// takes (its inputs) and what it leaves in suspense untouched.
    pub selection: Option<crate::state::suspense::Selection>,
    /// Days the duplicate index looks back.
    pub duplicate_window: u32,
    /// Hours a time of origin may lie after the pricing time before the
    /// SDR is a `futureTimeOfOrigin` fault.
    pub future_tolerance_hours: u32,
    pub dry_run: bool,
    pub routing: Option<PathBuf>,
    pub price_lists: PathBuf,
    pub customers: PathBuf,
    pub pricing_time: Timestamp,
    /// The pricing time was given (`--pricing-time`), not the clock's: only
    /// then is it part of the run id, so the nightly command run twice on
    /// one day finds its run done instead of refusing to overwrite it.
    pub pricing_time_given: bool,
    /// sdrate's identity in the responsibility trace (`--system-identity`):
    /// with one, what the run bills carries its tag and secured/ lists it
    /// per producer (`write::trace`).
    pub system_identity: Option<String>,
    pub max_record: usize,
    pub thresholds: Thresholds,
    /// Priced records for analytics (`--export`): files in OUT, listed in
    /// the manifest with their hashes.
    pub export: Vec<crate::write::export::Format>,
    /// Network cost lists and production terms (docs/network-costs.md):
    /// the network cost of every billed SDR and its reports. None: no
    /// network costing, and no output changes.
    pub network_costs: Option<PathBuf>,
}

/// A run id that depends only on what the run reads and how: the same
/// command on the same data gets the same id, and so the same output.
/// A pricing time read from the clock (`pricing_time` None) is left out:
/// it only stamps the pricing modules, and with it the nightly command run
/// twice would be two runs, the second refused an output directory that
/// is never overwritten. Two runs that differ only in that stamp make the
/// same billing decisions.
// Each argument is one thing the id depends on.
#[allow(clippy::too_many_arguments)]
fn run_id(
    inputs: &[InputFile],
    lists: &[ListRevision],
    customers: &InputFile,
    pricing_time: Option<&str>,
    dry_run: bool,
    routing: Option<&InputFile>,
    network: Option<u64>,
    opts: &Options,
) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for i in inputs {
        h.update(i.hash.as_bytes());
    }
    publish::hash_list_revisions(&mut h, lists);
    h.update(customers.hash.as_bytes());
    match pricing_time {
        Some(t) => h.update(t.as_bytes()),
        None => h.update(b"\0clock"),
    }
    h.update(&[u8::from(dry_run)]);
    // The subscribers' outputs depend on the routing file: another one is
    // another run (and a run without one keeps the id it always had).
    if let Some(r) = routing {
        h.update(b"\0routing");
        h.update(r.hash.as_bytes());
    }
    // Network cost reports are outputs too: other lists, another run
    // (without them the id is the one runs always had).
    if let Some(digest) = network {
        h.update(b"\0network-costs");
        h.update(&digest.to_le_bytes());
    }
    // The duplicate index tells runs apart by id: every option that
    // changes what a run bills is part of it. (Two runs with one id make
    // the same billing decisions, so one standing in for the other in the
    // index bills nothing twice and loses nothing.)
    h.update(b"\0run");
    h.update(&[u8::from(opts.force), u8::from(opts.recycle)]);
    h.update(&opts.duplicate_window.to_le_bytes());
    // The default keeps the id runs always had.
    if opts.future_tolerance_hours != crate::group::duplicates::DEFAULT_FUTURE_TOLERANCE_HOURS {
        h.update(b"\0future-tolerance");
        h.update(&opts.future_tolerance_hours.to_le_bytes());
    }
    // The framing limit decides what is a record: another limit, another
    // run (the default keeps the id runs always had).
    if opts.max_record != crate::read::MAX_RECORD_BYTES {
        h.update(b"\0max-record");
        h.update(&(opts.max_record as u64).to_le_bytes());
    }
    // Not a billing decision, but the output differs (tags, purge lists):
    // the run with an identity is not found done by the run without one.
    // (Without one, runs keep the id they always had.)
    if let Some(id) = &opts.system_identity {
        h.update(b"\0system-identity");
        h.update(id.as_bytes());
    }
    format!("{:016x}", h.digest())
}

/// A run planned: everything decided before the first record is read.
pub struct Prepared {
    opts: Options,
    rater: Rater,
    routing: Option<Routing>,
    routing_hash: Option<InputFile>,
    customers_hash: InputFile,
    list_revisions: Vec<ListRevision>,
    state: Option<StateDir>,
    consumed: Vec<Consumed>,
    /// Inputs to rate, each with its hash when it was hashed before
    /// rating (None: standard input, or hashed by the read that rates it).
    to_rate: Vec<(PathBuf, Option<InputFile>)>,
    /// Inputs a published run already consumed.
    skipped: Vec<InputFile>,
    /// When planning began: the wall clock for the summary, the monotonic
    /// clock for its durations.
    started: (chrono::DateTime<chrono::Utc>, Instant),
    /// An earlier run killed and settled now, in words.
    pub recovered: Option<String>,
    /// Each input skipped as already consumed, in words (which run rated
    /// it, under which name).
    pub skip_notices: Vec<String>,
    /// `out` already holds this very run: nothing to do.
    pub already_done: Option<String>,
    /// Entries of input directories not read (see
    /// [`read::not_read_warnings`] for the words).
    pub not_read: Vec<read::NotRead>,
}

/// A run published.
pub struct Published {
    pub summary: Summary,
    /// The bytes of summary.json.
    pub json: Vec<u8>,
    /// Quality-assurance thresholds exceeded, in words.
    pub breaches: Vec<String>,
}

/// The summary's timing once the run is priced and reported: the phases
/// the engine measured, planning and reporting added here.
fn timing(
    started: (chrono::DateTime<chrono::Utc>, Instant),
    prepare_ms: u64,
    reporting: Instant,
    summary: &Summary,
) -> Timing {
    let duration = started.1.elapsed();
    let ended = started.0 + chrono::TimeDelta::from_std(duration).unwrap_or_default();
    let records = summary.records_read + summary.sessions.event_log_rows;
    Timing {
        started: wall_clock(started.0),
        ended: wall_clock(ended),
        duration_ms: millis(duration),
        records_per_second: per_second(records, duration),
        phases_ms: Phases {
            prepare: prepare_ms,
            report: millis(reporting.elapsed()),
            ..summary.timing.phases_ms.clone()
        },
    }
}

/// Plans a run (see the module documentation).
pub fn prepare(opts: Options) -> Result<Prepared> {
    let started = (chrono::Utc::now(), Instant::now());
    let (mut lists, customers) = crate::resolve::load(&opts.price_lists, &opts.customers)?;
    if let Some(dir) = &opts.network_costs {
        lists.network = Some(crate::resolve::network::NetworkCosts::load_dir(dir)?);
    }
    let customers_hash = publish::hash_file(&opts.customers)?;
    let routing = opts.routing.as_deref().map(Routing::load).transpose()?;
    let routing_hash = opts
        .routing
        .as_deref()
        .map(publish::hash_file)
        .transpose()?;
    let read::Inputs {
        files: inputs,
        not_read,
    } = read::list_inputs(&opts.inputs)?;
    let mut skip_notices = Vec::new();
    // The state directory is locked for the whole run and settled first:
    // a run killed earlier is rolled forward or back before we look.
    let state = match (&opts.state, opts.dry_run) {
        (Some(dir), false) => Some(StateDir::open(dir)?),
        (Some(dir), true) => Some(StateDir::open_for_dry_run(dir)?),
        (None, _) => None,
    };
    let recovered = state.as_ref().and_then(|s| s.recovered.clone());
    let consumed = match &state {
        Some(s) => s.consumed()?,
        None => Vec::new(),
    };
    let mut to_rate = Vec::new();
    let mut skipped = Vec::new();
    // A file's hash is needed before it is rated only to find it among the
    // consumed inputs (of its size), or to compare run ids with a run
    // already published in --out. Otherwise the rating read hashes it, so
    // the file is read once rather than twice.
    let published_here = published_run_id(&opts.out).is_some();
    for path in inputs {
        if path.as_os_str() == "-" {
            // Standard input cannot be recognised again; it is always rated.
            to_rate.push((path, None));
            continue;
        }
        let size = fs::metadata(&path).map(|m| m.len()).ok();
        let later = !published_here
            && !read::is_event_log(&path)
            && size.is_some_and(|n| consumed.iter().all(|c| c.size != n));
        if later {
            to_rate.push((path, None));
            continue;
        }
        let h = publish::hash_file(&path)?;
        let seen = consumed
            .iter()
            .find(|c| c.size == h.size && c.hash == h.hash);
        match seen {
            // A dry run skips what a billing run would skip: pointed at
            // the spool, it shows what tonight would bill, not the files
            // already billed as duplicates.
            Some(c) if !opts.force => {
                skip_notices.push(format!(
                    "skipping {}: already rated by run {} (as {}); --force rates it again",
                    h.path, c.run_id, c.path
                ));
                skipped.push(h);
            }
            _ => to_rate.push((path, Some(h))),
        }
    }
    let mut prepared = Prepared {
        list_revisions: publish::list_revisions(&lists),
        rater: Rater {
            lists,
            customers,
            pricing_time: opts.pricing_time,
            pricing_identifier: format!("sdrate {}", env!("CARGO_PKG_VERSION")).into(),
            as_of: None,
        },
        opts,
        routing,
        routing_hash,
        customers_hash,
        state,
        consumed,
        to_rate,
        skipped,
        started,
        recovered,
        skip_notices,
        already_done: None,
        not_read,
    };
    if published_here {
        // Every input was hashed above.
        let hashed: Vec<InputFile> = prepared
            .to_rate
            .iter()
            .filter_map(|(_, h)| h.clone())
            .collect();
        let id = prepared.id_of(&hashed);
        if published_run_id(&prepared.opts.out).as_deref() == Some(id.as_str()) {
            prepared.already_done = Some(id);
            return Ok(prepared);
        }
    }
    let out = &prepared.opts.out;
    if prepared.opts.dry_run && out.join(publish::MANIFEST).exists() && !is_dry_run(out) {
        return Err(Failure::Refused(format!(
            "{} holds a published billing run; a dry run never writes over one: give another --out",
            out.display()
        ))
        .into());
    }
    Ok(prepared)
}

impl Prepared {
    /// The run id: every input named counts, rated or skipped, so the same
    /// command run again after it published gets the same id, and finds it
    /// done.
    fn id_of(&self, hashed: &[InputFile]) -> String {
        let mut named: Vec<InputFile> = hashed.iter().chain(&self.skipped).cloned().collect();
        named.sort_by(|a, b| a.path.cmp(&b.path));
        run_id(
            &named,
            &self.list_revisions,
            &self.customers_hash,
            self.opts
                .pricing_time_given
                .then(|| self.opts.pricing_time.0.to_rfc3339())
                .as_deref(),
            self.opts.dry_run,
            self.routing_hash.as_ref(),
            self.rater.lists.network.as_ref().map(|n| n.digest),
            &self.opts,
        )
    }

    /// Rates, checks and publishes (see the module documentation).
    pub fn execute(self, progress: &dyn Progress) -> Result<Published> {
        let opts = &self.opts;
        let prepare_ms = millis(self.started.1.elapsed());
        tracing::debug!(
            inputs = self.to_rate.len(),
            skipped = self.skipped.len(),
            price_lists = self.list_revisions.len(),
            ms = prepare_ms,
            "prepared"
        );
        // Without a state directory a run is a report to look at, replaced
        // by the next; with one, published output is never overwritten.
        let staging = Staging::begin(&opts.out, self.state.is_none() || opts.dry_run)?;
        let mut outputs = super::Outputs::open(
            staging.dir(),
            self.routing.as_ref(),
            &opts.export,
            self.rater.lists.network.as_ref().map(|n| n.count),
        )?;
        // A dry run publishes nothing, so it secures nothing.
        if let Some(id) = opts.system_identity.as_deref().filter(|_| !opts.dry_run) {
            outputs = outputs.responsible(crate::write::trace::Tag::new(id, opts.pricing_time)?)?;
        }
        // The duplicate index counts the SDRs of the last run only if that
        // run was published (see group::duplicates); its window counts from
        // the pricing time.
        let mut dedup = match &self.state {
            Some(s) => {
                let last = s.last_run_id();
                let window = duplicates::Window {
                    now: opts.pricing_time.0.to_utc(),
                    retention: chrono::TimeDelta::days(i64::from(opts.duplicate_window)),
                    future_tolerance: chrono::TimeDelta::hours(i64::from(
                        opts.future_tolerance_hours,
                    )),
                };
                Some(DuplicateIndex::open(s.path(), window, |id| {
                    Ok(last.as_deref() == Some(id))
                })?)
            }
            None => None,
        };
        let pending_in = match &self.state {
            Some(s) => s.load_pending()?,
            None => Vec::new(),
        };
        // A recycle reads kept files: their indexes name the original
        // inputs.
        let kept_files = match (&self.state, &opts.selection) {
            (Some(_), Some(sel)) if opts.recycle => sel.inputs.clone(),
            (Some(s), None) if opts.recycle => s.suspense_inputs(),
            _ => Vec::new(),
        };
        let plan: Vec<PlannedInput> = self
            .to_rate
            .iter()
            .map(|(p, h)| PlannedInput {
                path: p.clone(),
                // Every file not hashed before is hashed by its rating read.
                hash_while_reading: h.is_none() && p.as_os_str() != "-",
                kept: kept_files
                    .iter()
                    .find(|(k, _)| k == p)
                    .and_then(|(_, k)| k.clone()),
            })
            .collect();
        let (mut summary, pending_out, read_hashes) = super::run(
            &self.rater,
            &plan,
            opts.max_record,
            outputs,
            pending_in,
            progress,
            dedup.as_mut(),
        )?;
        let hashed: Vec<InputFile> = self
            .to_rate
            .iter()
            .zip(read_hashes)
            .filter_map(|((_, before), read)| before.clone().or(read))
            .collect();
        let reporting = Instant::now();
        let id = self.id_of(&hashed);
        summary.run_id = id.clone();
        summary.dry_run = opts.dry_run;
        // Spelled as rerate's summary spells it.
        summary.pricing_time = opts.pricing_time.0.to_rfc3339();
        summary.skipped_inputs = self.skipped.iter().map(|s| s.path.clone()).collect();
        summary.not_read = super::NotReadReport::of(&self.not_read);
        if self.state.is_none() && !pending_out.is_empty() {
            write_pending_report(&staging, &pending_out)?;
        }
        // Checked before anything is published: a run whose records do not
        // add up publishes nothing and changes no state.
        Failure::require_balanced(summary.accounting_identity_holds, summary.records_read)?;
        if opts.dry_run {
            for name in BILLING_OUTPUTS {
                let p = staging.dir().join(name);
                if p.is_dir() {
                    fs::remove_dir_all(&p)
                        .with_context(|| format!("cannot remove {}", p.display()))?;
                } else if p.exists() {
                    fs::remove_file(&p)
                        .with_context(|| format!("cannot remove {}", p.display()))?;
                }
            }
        }
        let t = &opts.thresholds;
        // Every input already billed: tonight's totals are not a night's,
        // and "moved 100 %" would page for a run with nothing to do.
        let nothing_rated = summary.records_read == 0
            && summary.sessions.event_log_rows == 0
            && !self.skipped.is_empty();
        let moved = match &t.previous {
            Some(prev) => compare_totals(
                &summary,
                prev,
                &staging.dir().join(TOTAL_DIFFERENCES),
                t.max_total_change.filter(|_| !nothing_rated),
            )?,
            None => Vec::new(),
        };
        let breaches: Vec<String> = fault_breaches(&summary, t)
            .into_iter()
            .chain(moved)
            .collect();
        summary.timing = timing(self.started, prepare_ms, reporting, &summary);
        let json = staging.write_summary(&summary)?;
        let exports = crate::write::export::file_names(&opts.export)
            .into_iter()
            .map(|name| {
                let mut h = crate::state::publish::hash_file(&staging.dir().join(name))?;
                h.path = name.to_owned();
                Ok(h)
            })
            .collect::<Result<Vec<_>>>()?;
        let published = Instant::now();
        let manifest = Manifest {
            sdrate_version: env!("CARGO_PKG_VERSION"),
            run_id: &id,
            dry_run: opts.dry_run,
            billing: self.state.is_some() && !opts.dry_run,
            inputs: &hashed,
            skipped_inputs: &self.skipped,
            price_lists: &self.list_revisions,
            customers: &self.customers_hash,
            routing: self.routing_hash.as_ref(),
            exports: &exports,
            summary: &summary,
        };
        match (&self.state, opts.dry_run) {
            (Some(s), false) => {
                let mut now_consumed = self.consumed.clone();
                // Suspense files are replaced, never consumed.
                now_consumed.extend(hashed.iter().filter(|_| !opts.recycle).map(|h| Consumed {
                    path: h.path.clone(),
                    size: h.size,
                    hash: h.hash.clone(),
                    run_id: id.clone(),
                }));
                let mut suspense = suspense_after(s, staging.dir(), opts.recycle);
                if let Some(sel) = &opts.selection {
                    // What the recycle did not take stays as it was.
                    suspense.add_front(sel.left.clone());
                }
                // State first (staged, not yet current), then the output,
                // then the state becomes current: a crash anywhere is
                // settled by the next run (see crate::state).
                let commit = || -> Result<()> {
                    s.stage(&id, &opts.out, &pending_out, &now_consumed, &suspense)?;
                    if let Some(d) = dedup {
                        d.commit(&id)?;
                    }
                    staging.publish(&manifest)?;
                    s.promote()
                };
                if let Err(e) = commit() {
                    // Rolled forward if the output was published after
                    // all, else discarded: no staged state outlives the
                    // run.
                    let _ = s.settle();
                    return Err(e);
                }
            }
            _ => staging.publish(&manifest)?,
        }
        tracing::debug!(
            run = id.as_str(),
            out = %opts.out.display(),
            ms = millis(published.elapsed()),
            "published"
        );
        Ok(Published {
            summary,
            json,
            breaches,
        })
    }
}

/// The suspense area after a run: what faulted in it, added to what was
/// there, except after a recycle, which replaces the area with what still
/// faults.
fn suspense_after(s: &StateDir, staged: &Path, recycle: bool) -> Suspense {
    let mut suspense = Suspense::default();
    if !recycle {
        let p = |name| s.path().join(name);
        suspense.sdrs.push((p(SUSPENSE), p(SUSPENSE_INDEX)));
        suspense
            .broken
            .push((p(SUSPENSE_BROKEN), p(SUSPENSE_BROKEN_INDEX)));
        suspense.rows.push(p(SUSPENSE_ROWS));
        suspense.lines.push(p(SUSPENSE_LINES));
    }
    let p = |name| staged.join(name);
    suspense
        .sdrs
        .push((p(names::FAULTS), p(names::FAULT_INDEX)));
    suspense
        .broken
        .push((p(names::BROKEN), p(names::BROKEN_INDEX)));
    suspense.rows.push(p(names::FAULTED_EVENT_ROWS));
    suspense.lines.push(p(names::FAULTED_EVENT_LINES));
    suspense
}

/// Whether `out` holds a published dry run.
fn is_dry_run(out: &Path) -> bool {
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

fn write_pending_report(staging: &Staging, pending: &[Session]) -> Result<()> {
    use std::io::Write;
    let path = staging.dir().join(names::PENDING_REPORT);
    let mut w = std::io::BufWriter::new(
        fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    crate::state::jsonl_into(pending, &mut w)?;
    w.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Written with `--previous`: totals now against the previous run's,
/// under the name rerate gives its totals (earlier versions wrote
/// `total-differences.csv`).
pub const TOTAL_DIFFERENCES: &str = names::DIFFERENCE_TOTALS;

fn total_faults(s: &Summary) -> u64 {
    s.faulted + s.sessions.events_faulted + s.sessions.event_rows_faulted
}

/// The fault thresholds the run exceeded, in words.
fn fault_breaches(summary: &Summary, t: &Thresholds) -> Vec<String> {
    let faults = total_faults(summary);
    let read = summary.records_read + summary.sessions.event_log_rows;
    let mut out = Vec::new();
    if let Some(max) = t.max_faults
        && faults > max
    {
        out.push(format!("{faults} faults, more than --max-faults {max}"));
    }
    if let Some(max) = t.max_fault_share
        && read > 0
    {
        let share = Decimal::from(faults) * Decimal::ONE_HUNDRED / Decimal::from(read);
        if share > max {
            out.push(format!(
                "faults are {}% of {read} records and rows read, more than --max-fault-share {max}%",
                share.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
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
    max_total_change: Option<Decimal>,
) -> Result<Vec<String>> {
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
    if let Some(max) = max_total_change {
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
                    p.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
                )),
                None => out.push(format!(
                    "{cur} total moved from 0 to {now}, more than --max-total-change {max}%"
                )),
            }
        }
    }
    Ok(out)
}
