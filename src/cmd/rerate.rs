//! `sdrate rerate`: price already priced SDRs again (after a price list was
//! corrected, or as a what-if under the lists valid at another time), write
//! the newly priced SDRs and report old against new price per SDR and in
//! totals.
//!
//! Re-rating keeps no state: there is no state directory, so it is never
//! caught by the duplicate check and moves neither the duplicate index nor
//! pending sessions. Its output is staged and published atomically like a
//! `rate` run's ([`sdrate::state::publish`]); it may replace an earlier
//! rerate output, never the output of another command.
//!
//! Records are read in blocks, rated in parallel and written in input order
//! by one writer per output, as in [`sdrate::pipeline`], so the output is
//! byte-identical at any thread count and memory does not grow with the
//! input.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::cli::RerateArgs;
use sdrate::error::Failure;
use sdrate::rate::{Outcome, Rater};
use sdrate::read::origins::Source;
use sdrate::read::{self, Framed, Reader};
use sdrate::reprice::{Old, Side, old_pricing, tables_of};
use sdrate::sdr::{ServiceDetailRecord, ServicePricingModule, StatusIndicator, Timestamp};
use sdrate::state::publish::{self, InputFile, ListRevision, Manifest, Staging};
use sdrate::write::names;
use sdrate::write::priced_bytes;

/// The `command` a rerate output's summary (and so its manifest) names:
/// how a later rerate knows it may replace the output.
pub const COMMAND: &str = "rerate";

/// Output file names of rerate besides those it shares with `rate`
/// ([`names::PRICED_DIR`], [`names::ANSWERS`], [`names::FAULTS`],
/// [`names::FAULT_REPORT`], [`names::SUMMARY`]).
pub mod files {
    /// One row per record read: old and new individual price.
    pub const DIFFERENCES: &str = "differences.csv";
    /// Old and new totals per currency, customer, marketing company and
    /// service.
    pub const DIFFERENCE_TOTALS: &str = "difference-totals.csv";
    /// Records rerate does not price, as they were read.
    pub const SKIPPED: &str = "skipped.sdr";
}

/// Columns of `differences.csv`.
pub const DIFFERENCE_COLUMNS: [&str; 16] = [
    "file",
    "offset",
    "sdr_identifier",
    "producer",
    "customer",
    "marketing_company",
    "service",
    "currency",
    "old_individual_price",
    "new_individual_price",
    "difference",
    "old_price_table",
    "new_price_table",
    "outcome",
    "status",
    "cause",
];

/// Columns of `difference-totals.csv`.
pub const TOTAL_COLUMNS: [&str; 7] = [
    "dimension",
    "key",
    "currency",
    "sdrs",
    "old",
    "new",
    "difference",
];

/// Columns of `faults.csv`, as `rate` writes them.
const FAULT_COLUMNS: [&str; 8] = [
    "file",
    "offset",
    "length",
    "sdr_identifier",
    "producer",
    "status",
    "cause",
    "line",
];

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
    /// Could not be priced again: in faults.sdr and faults.csv.
    pub faulted: u64,
    /// Not priceable per record (quality-assurance and service-management
    /// SDRs, session events, participations): in skipped.sdr as read.
    pub skipped_not_priceable: u64,
    pub accounting_identity_holds: bool,
    pub faults_by_cause: BTreeMap<String, u64>,
    /// Individual prices per currency, old against new (the `currency`
    /// rows of difference-totals.csv).
    pub totals: BTreeMap<String, Change>,
}

impl Summary {
    pub fn identity_holds(&self) -> bool {
        self.records_read == self.repriced + self.faulted + self.skipped_not_priceable
            && self.repriced == self.changed + self.unchanged
            && self.changed >= self.newly_priced
            && self.repriced >= self.price_requests
    }
}

#[derive(Debug, Default, Serialize, PartialEq, Eq, Clone, Copy)]
pub struct Change {
    #[serde(with = "rust_decimal::serde::str")]
    pub old: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub new: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub difference: Decimal,
}

/// One input file. An earlier run's answers.sdr holds price requests: they
/// go back to answers.sdr, and it gets no priced file of its own unless it
/// holds billing SDRs.
struct Input {
    path: PathBuf,
    run_answers: bool,
}

/// Whether a directory is a run's published output.
fn is_run_output(dir: &Path) -> bool {
    dir.join(publish::MANIFEST).is_file()
}

/// The input files, in order: files as named, directories' SDR files
/// (sorted), and for a run's output directory its priced/ files (sorted)
/// and its answers.sdr.
fn expand(paths: &[PathBuf]) -> Result<Vec<Input>> {
    let mut out = Vec::new();
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
                out.extend(files.into_iter().map(|path| Input {
                    path,
                    run_answers: false,
                }));
            }
            let answers = p.join(names::ANSWERS);
            if answers.is_file() {
                out.push(Input {
                    path: answers,
                    run_answers: true,
                });
            }
            if out.len() == before {
                return Err(Failure::Refused(format!(
                    "{} is a run output without priced SDRs (a dry run?): nothing to re-rate",
                    p.display()
                ))
                .into());
            }
        } else if p.is_dir() {
            let files = read::expand_inputs(std::slice::from_ref(p))?;
            out.extend(
                files
                    .into_iter()
                    .filter(|f| !read::is_event_log(f))
                    .map(|path| Input {
                        path,
                        run_answers: false,
                    }),
            );
        } else if read::is_event_log(p) {
            return Err(Failure::Refused(format!(
                "{} is a session event log: sessions are priced by `sdrate rate`, not re-rated",
                p.display()
            ))
            .into());
        } else {
            out.push(Input {
                path: p.clone(),
                run_answers: false,
            });
        }
    }
    Ok(out)
}

/// Name of the priced output for an input: its file name, made unique by
/// position when two inputs share a name. The same rule as `rate`'s
/// (a copy of the private `pipeline::priced_name`).
fn priced_name(path: &Path, index: usize, all: &[Input]) -> String {
    let name = path.file_name().map_or_else(
        || "stdin.sdr".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let clash = all
        .iter()
        .enumerate()
        .any(|(i, p)| i != index && p.path.file_name() == path.file_name());
    if clash {
        format!("{index:04}-{name}")
    } else {
        name
    }
}

/// A run id that depends only on what the run reads and how.
fn run_id(
    inputs: &[InputFile],
    lists: &[ListRevision],
    customers: &InputFile,
    pricing_time: &str,
    as_of: Option<&str>,
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

pub fn run(args: &RerateArgs) -> Result<ExitCode> {
    let given = match &args.pricing_time {
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
    if args.threads == Some(0) {
        return Err(Failure::Refused("--threads must be at least 1".into()).into());
    }
    let (lists, customers) =
        sdrate::resolve::load(&args.tariff.price_lists, &args.tariff.customers)?;
    let customers_hash = publish::hash_file(&args.tariff.customers)?;
    let inputs = expand(&args.inputs)?;
    let hashed = inputs
        .iter()
        .map(|i| publish::hash_file(&i.path))
        .collect::<Result<Vec<_>>>()?;
    let list_revisions: Vec<ListRevision> = publish::list_revisions(&lists);
    let as_of_text = as_of.map(|t| t.to_rfc3339());
    let id = run_id(
        &hashed,
        &list_revisions,
        &customers_hash,
        &pricing_time.to_rfc3339(),
        as_of_text.as_deref(),
    );
    // Only an earlier rerate output is ever replaced.
    let replace = if args.out.exists() {
        match rerate_output_id(&args.out) {
            Some(old) if old == id => {
                eprintln!(
                    "sdrate: {} already holds rerate run {id} (same inputs, price lists, pricing time and as-of): nothing to do",
                    args.out.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            Some(_) => true,
            None => {
                let what = match sdrate::state::published_run_id(&args.out) {
                    Some(run) => format!("holds the published run {run}"),
                    None => "exists".into(),
                };
                return Err(Failure::Refused(format!(
                    "output directory {} {what}; rerate replaces only an earlier rerate output: give a new --out",
                    args.out.display()
                ))
                .into());
            }
        }
    } else {
        false
    };
    let staging = Staging::begin(&args.out, replace)?;
    let rater = Rater {
        lists,
        customers,
        pricing_time: Timestamp(pricing_time),
        pricing_identifier: format!("sdrate {}", env!("CARGO_PKG_VERSION")).into(),
        as_of: as_of.map(Timestamp),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    let result = pool.install(|| {
        rerate(
            &rater,
            &inputs,
            staging.dir(),
            args.reading.max_record(),
            args.verbosity.is_quiet(),
        )
    });
    let (mut summary, totals) = match result {
        Ok(r) => r,
        Err(e) => {
            // Nothing half-written is left behind; the error is what counts.
            let _ = staging.abandon();
            return Err(e);
        }
    };
    summary.run_id = id.clone();
    summary.as_of = as_of_text;
    summary.pricing_time = pricing_time.to_rfc3339();
    totals.write_csv(&staging.dir().join(files::DIFFERENCE_TOTALS))?;
    summary.totals = totals.by_currency()?;
    // Checked before anything is published: a run whose records do not
    // add up publishes nothing and changes no state.
    sdrate::error::Failure::require_balanced(
        summary.accounting_identity_holds,
        summary.records_read,
    )?;
    staging.write_summary(&summary)?;
    let manifest = Manifest {
        sdrate_version: env!("CARGO_PKG_VERSION"),
        run_id: &id,
        dry_run: false,
        billing: false,
        inputs: &hashed,
        skipped_inputs: &[],
        price_lists: &list_revisions,
        summary: &summary,
    };
    staging.publish(&manifest)?;
    if !args.verbosity.is_quiet() {
        report(&summary, args);
    }
    Ok(crate::exit::completed(summary.faulted))
}

/// The end-of-run lines on stderr.
fn report(summary: &Summary, args: &RerateArgs) {
    eprintln!(
        "sdrate: {} records read: {} repriced ({} changed, {} unchanged), {} faulted, {} skipped as not priceable ({})",
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
    for (currency, c) in &summary.totals {
        eprintln!(
            "sdrate: {currency}: old {} new {} difference {}",
            c.old, c.new, c.difference
        );
    }
    if let Some(t) = &summary.as_of {
        eprintln!("sdrate: what-if: price lists chosen as valid at {t}");
    }
    if args.verbosity.is_verbose(1) {
        eprintln!(
            "sdrate: differences per SDR in {}/{}, totals in {}/{}",
            args.out.display(),
            files::DIFFERENCES,
            args.out.display(),
            files::DIFFERENCE_TOTALS
        );
    }
}

/// What identifies a record in the difference report and the totals.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Facts {
    sdr_identifier: Option<u32>,
    producer: String,
    customer: String,
    marketing_company: String,
    service: String,
}

/// Distinct values in order of appearance, joined with `;`.
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for v in values {
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.join(";")
}

fn facts_of(sdr: &ServiceDetailRecord) -> Facts {
    let h = &sdr.service_header;
    let first = sdr.service_usage_modules.first();
    // The customer resolution asks for: the header's, else the charged
    // participant or user of the (first) usage module.
    let customer = h
        .customer_identity
        .as_deref()
        .or(first.and_then(|s| s.charged_participant.as_deref()))
        .or(first.and_then(|s| s.user_identifier.as_deref()))
        .unwrap_or("");
    let mut marketing_company = distinct(
        sdr.service_usage_modules
            .iter()
            .map(|s| s.marketing_company.as_str()),
    );
    if marketing_company.is_empty() {
        marketing_company = h.marketing_company.clone().unwrap_or_default().to_string();
    }
    Facts {
        sdr_identifier: Some(h.sdr_identifier),
        producer: h.producer_identity.to_string(),
        customer: customer.to_owned(),
        marketing_company,
        service: distinct(
            sdr.service_usage_modules
                .iter()
                .map(|s| s.service_feature_code.as_str()),
        ),
    }
}

/// What a worker made of one record; raw bytes stay in the input block.
enum Done {
    Repriced {
        bytes: Vec<u8>,
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
    Fault {
        /// The record labelled with its new pricing modules, when it decoded.
        labelled: Option<Vec<u8>>,
        facts: Option<Facts>,
        old: Old,
        status: String,
        detail: String,
    },
}

fn work(rater: &Rater, rec: &Framed<'_>) -> Done {
    let sdr = match read::decode(rec.bytes) {
        Ok(s) => s,
        Err(e) => {
            return Done::Fault {
                labelled: None,
                facts: None,
                old: Old::None,
                status: "undecodable".into(),
                detail: e.to_string(),
            };
        }
    };
    let facts = facts_of(&sdr);
    let old = old_pricing(&sdr);
    let label = |spms: &[ServicePricingModule]| priced_bytes(rec.bytes, spms);
    let (spms, totals, answered) = match rater.rate(&sdr) {
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
            return Done::Skipped {
                facts,
                status: "sessionEvent",
                cause: "session event or participation: priced per session by `sdrate rate`, not re-rated",
            };
        }
        Outcome::Fault(f) => {
            let labelled = if f.spms.is_empty() {
                None
            } else {
                label(&f.spms).ok()
            };
            return Done::Fault {
                labelled,
                facts: Some(facts),
                old,
                status: f.status.to_string(),
                detail: f.detail,
            };
        }
    };
    match label(&spms) {
        Ok(bytes) => Done::Repriced {
            bytes,
            answered,
            new: Side {
                currency: totals.currency.to_string(),
                individual: totals.individual,
                tables: tables_of(&spms),
            },
            facts,
            old,
        },
        Err(e) => Done::Fault {
            labelled: None,
            facts: Some(facts),
            old,
            status: StatusIndicator::TechnicalError.to_string(),
            detail: format!("{e:#}"),
        },
    }
}

/// Old and new money of one (dimension, key, currency).
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    sdrs: u64,
    old: Decimal,
    new: Decimal,
}

type ByKey = BTreeMap<String, BTreeMap<String, Sums>>;

/// The difference totals, per dimension (in the order they are written,
/// which is sorted by name), key and currency.
#[derive(Debug, Default)]
struct Totals {
    currency: ByKey,
    customer: ByKey,
    marketing_company: ByKey,
    service: ByKey,
}

fn overflow(what: &str, key: &str, currency: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the {what} total of {currency} for `{key}` exceeds what an exact decimal holds"
    )
}

/// The sums of `key` and `currency`, created on first use; keys are
/// allocated once per run, not once per SDR.
fn slot<'m>(m: &'m mut ByKey, key: &str, currency: &str) -> &'m mut Sums {
    if !m.contains_key(key) {
        m.insert(key.to_owned(), BTreeMap::new());
    }
    let by_currency = m.get_mut(key).expect("inserted above");
    if !by_currency.contains_key(currency) {
        by_currency.insert(currency.to_owned(), Sums::default());
    }
    by_currency.get_mut(currency).expect("inserted above")
}

impl Totals {
    /// Adds one SDR: its old price (if any) and its new price (if any).
    /// An SDR counts once in a row; with old and new in two currencies,
    /// once in each currency's row.
    fn add(&mut self, facts: &Facts, old: Option<&Side>, new: Option<&Side>) -> Result<()> {
        let same_currency = matches!((old, new), (Some(o), Some(n)) if o.currency == n.currency);
        for (side, is_old) in [(old, true), (new, false)] {
            let Some(side) = side else { continue };
            let cur = side.currency.as_str();
            for (m, key) in [
                (&mut self.currency, cur),
                (&mut self.customer, facts.customer.as_str()),
                (
                    &mut self.marketing_company,
                    facts.marketing_company.as_str(),
                ),
                (&mut self.service, facts.service.as_str()),
            ] {
                let s = slot(m, key, cur);
                if is_old {
                    s.sdrs += 1;
                    s.old = s
                        .old
                        .checked_add(side.individual)
                        .ok_or_else(|| overflow("old", key, cur))?;
                } else {
                    if !same_currency {
                        s.sdrs += 1;
                    }
                    s.new = s
                        .new
                        .checked_add(side.individual)
                        .ok_or_else(|| overflow("new", key, cur))?;
                }
            }
        }
        Ok(())
    }

    fn dimensions(&self) -> [(&'static str, &ByKey); 4] {
        [
            ("currency", &self.currency),
            ("customer", &self.customer),
            ("marketing_company", &self.marketing_company),
            ("service", &self.service),
        ]
    }

    fn write_csv(&self, path: &Path) -> Result<()> {
        let err = || format!("cannot write {}", path.display());
        let mut w = csv::Writer::from_path(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        w.write_record(TOTAL_COLUMNS).with_context(err)?;
        for (dimension, by_key) in self.dimensions() {
            for (key, by_currency) in by_key {
                for (currency, s) in by_currency {
                    let difference = s
                        .new
                        .checked_sub(s.old)
                        .ok_or_else(|| overflow("difference", key, currency))?;
                    w.write_record([
                        dimension,
                        key,
                        currency,
                        &s.sdrs.to_string(),
                        &s.old.to_string(),
                        &s.new.to_string(),
                        &difference.to_string(),
                    ])
                    .with_context(err)?;
                }
            }
        }
        w.flush().with_context(err)
    }

    fn by_currency(&self) -> Result<BTreeMap<String, Change>> {
        self.currency
            .values()
            .flatten()
            .map(|(currency, s)| {
                let difference = s
                    .new
                    .checked_sub(s.old)
                    .ok_or_else(|| overflow("difference", currency, currency))?;
                Ok((
                    currency.clone(),
                    Change {
                        old: s.old,
                        new: s.new,
                        difference,
                    },
                ))
            })
            .collect()
    }
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        1 << 16,
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    ))
}

fn csv_with_header(path: &Path, header: &[&str]) -> Result<csv::Writer<File>> {
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    w.write_record(header)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(w)
}

/// Where the run writes, one writer per output.
struct Outputs {
    dir: PathBuf,
    answers: BufWriter<File>,
    faults: sdrate::write::Kept,
    broken: sdrate::write::Kept,
    fault_report: csv::Writer<File>,
    skipped: BufWriter<File>,
    differences: csv::Writer<File>,
}

impl Outputs {
    fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir.join(names::PRICED_DIR))
            .with_context(|| format!("cannot create output directory {}", dir.display()))?;
        Ok(Outputs {
            dir: dir.to_path_buf(),
            answers: create(&dir.join(names::ANSWERS))?,
            faults: sdrate::write::Kept::create(dir, names::FAULTS, names::FAULT_INDEX)?,
            broken: sdrate::write::Kept::create(dir, names::BROKEN, names::BROKEN_INDEX)?,
            fault_report: csv_with_header(&dir.join(names::FAULT_REPORT), &FAULT_COLUMNS)?,
            skipped: create(&dir.join(files::SKIPPED))?,
            differences: csv_with_header(&dir.join(files::DIFFERENCES), &DIFFERENCE_COLUMNS)?,
        })
    }

    fn flush(&mut self) -> Result<()> {
        let err = |what: &str| format!("cannot write {what}");
        for (w, name) in [
            (&mut self.answers, names::ANSWERS),
            (&mut self.skipped, files::SKIPPED),
        ] {
            w.flush().with_context(|| err(name))?;
        }
        self.faults.flush()?;
        self.broken.flush()?;
        for (w, name) in [
            (&mut self.fault_report, names::FAULT_REPORT),
            (&mut self.differences, files::DIFFERENCES),
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

/// Text of an optional amount for the report.
fn amount(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// One row of differences.csv.
struct Row<'a> {
    file: &'a str,
    offset: u64,
    facts: Option<&'a Facts>,
    old: Option<&'a Side>,
    new: Option<&'a Side>,
    outcome: &'a str,
    status: &'a str,
    cause: &'a str,
}

impl Row<'_> {
    fn write(&self, w: &mut csv::Writer<File>) -> Result<()> {
        let f = self.facts;
        let text = |g: fn(&Facts) -> &str| f.map(g).unwrap_or("");
        let currency = self.new.or(self.old).map_or("", |s| s.currency.as_str());
        // An absent price counts as 0; no difference across currencies.
        let difference = match (self.old, self.new) {
            (Some(o), Some(n)) if o.currency != n.currency => None,
            (None, None) => None,
            (o, n) => {
                let o = o.map_or(Decimal::ZERO, |s| s.individual);
                let n = n.map_or(Decimal::ZERO, |s| s.individual);
                Some(
                    n.checked_sub(o)
                        .ok_or_else(|| overflow("difference", text(|f| &f.customer), currency))?,
                )
            }
        };
        w.write_record([
            self.file,
            &self.offset.to_string(),
            &f.and_then(|f| f.sdr_identifier)
                .map(|i| i.to_string())
                .unwrap_or_default(),
            text(|f| &f.producer),
            text(|f| &f.customer),
            text(|f| &f.marketing_company),
            text(|f| &f.service),
            currency,
            &amount(self.old.map(|s| s.individual)),
            &amount(self.new.map(|s| s.individual)),
            &amount(difference),
            self.old.map_or("", |s| s.tables.as_str()),
            self.new.map_or("", |s| s.tables.as_str()),
            self.outcome,
            self.status,
            self.cause,
        ])
        .with_context(|| format!("cannot write {}", files::DIFFERENCES))
    }
}

/// Rates every input into `dir`; returns the summary (without run id and
/// times) and the difference totals.
fn rerate(
    rater: &Rater,
    inputs: &[Input],
    dir: &Path,
    max_record: usize,
    quiet: bool,
) -> Result<(Summary, Totals)> {
    let mut out = Outputs::open(dir)?;
    let mut summary = Summary {
        command: COMMAND,
        sdrate_version: env!("CARGO_PKG_VERSION"),
        ..Summary::default()
    };
    let mut totals = Totals::default();
    let total_bytes: u64 = inputs
        .iter()
        .filter_map(|i| fs::metadata(&i.path).ok().map(|m| m.len()))
        .sum();
    let progress = crate::ui::progress_bar(total_bytes, quiet);
    let write_err = |what: &str| format!("cannot write {what}");
    for (index, input) in inputs.iter().enumerate() {
        let file = input.path.display().to_string();
        summary.inputs.push(file.clone());
        let mut reader = Reader::open(&input.path)?.max_record(max_record);
        let mut priced = PricedFile {
            path: out
                .dir
                .join(names::PRICED_DIR)
                .join(priced_name(&input.path, index, inputs)),
            w: None,
        };
        if !input.run_answers {
            priced.w = Some(create(&priced.path)?);
        }
        // One block of whole records at a time, so memory does not grow
        // with the file.
        while let Some(block) = reader.next_chunk()? {
            let mut chunk = Vec::with_capacity(block.data.len() / 128);
            let mut broken = Vec::new();
            for item in block.records() {
                match item {
                    Ok(rec) => chunk.push(rec),
                    Err(b) => broken.push(b),
                }
            }
            let done: Vec<Done> = chunk.par_iter().map(|rec| work(rater, rec)).collect();
            progress.inc(chunk.iter().map(|r| r.bytes.len() as u64).sum());
            for (rec, d) in chunk.iter().zip(done) {
                summary.records_read += 1;
                let row = |facts, old, new, outcome, status, cause| Row {
                    file: &file,
                    offset: rec.offset,
                    facts,
                    old,
                    new,
                    outcome,
                    status,
                    cause,
                };
                match d {
                    Done::Repriced {
                        bytes,
                        answered,
                        facts,
                        old,
                        new,
                    } => {
                        summary.repriced += 1;
                        if answered {
                            summary.price_requests += 1;
                            out.answers
                                .write_all(&bytes)
                                .with_context(|| write_err(names::ANSWERS))?;
                        } else {
                            priced.write(&bytes)?;
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
                        .write(&mut out.differences)?;
                    }
                    Done::Skipped {
                        facts,
                        status,
                        cause,
                    } => {
                        summary.skipped_not_priceable += 1;
                        out.skipped
                            .write_all(rec.bytes)
                            .with_context(|| write_err(files::SKIPPED))?;
                        row(Some(&facts), None, None, "skipped", status, cause)
                            .write(&mut out.differences)?;
                    }
                    Done::Fault {
                        labelled,
                        facts,
                        old,
                        status,
                        detail,
                    } => {
                        summary.faulted += 1;
                        *summary.faults_by_cause.entry(status.clone()).or_default() += 1;
                        let src = Source {
                            file: &file,
                            offset: rec.offset,
                            length: rec.bytes.len() as u64,
                        };
                        sdrate::write::fault_record(
                            &mut out.faults,
                            &mut out.fault_report,
                            src,
                            rec.bytes,
                            labelled.as_deref(),
                            facts.as_ref().and_then(|f| f.sdr_identifier),
                            facts.as_ref().map_or("", |f| f.producer.as_str()),
                            &status,
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
                            &status,
                            &detail,
                        )
                        .write(&mut out.differences)?;
                    }
                }
            }
            for b in broken {
                // A stretch that cannot be framed: kept whole, as one
                // fault, as `rate` does (after the block's records).
                summary.records_read += 1;
                summary.faulted += 1;
                let status = sdrate::write::BROKEN_FRAMING;
                *summary.faults_by_cause.entry(status.into()).or_default() += 1;
                progress.inc(b.bytes.len() as u64);
                let src = Source {
                    file: &file,
                    offset: b.offset,
                    length: b.bytes.len() as u64,
                };
                sdrate::write::broken_stretch(
                    &mut out.broken,
                    &mut out.fault_report,
                    src,
                    b.bytes,
                    &b.error,
                )?;
                let cause = b.error.to_string();
                Row {
                    file: &file,
                    offset: b.offset,
                    facts: None,
                    old: None,
                    new: None,
                    outcome: "faulted",
                    status,
                    cause: &cause,
                }
                .write(&mut out.differences)?;
            }
            drop(chunk);
            reader.recycle(block);
        }
        priced.finish()?;
    }
    progress.finish_and_clear();
    out.flush()?;
    summary.accounting_identity_holds = summary.identity_holds();
    Ok((summary, totals))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(currency: &str, individual: &str) -> Side {
        Side {
            currency: currency.into(),
            individual: individual.parse().unwrap(),
            tables: String::new(),
        }
    }

    fn facts() -> Facts {
        Facts {
            sdr_identifier: Some(1),
            producer: "p".into(),
            customer: "K1".into(),
            marketing_company: "acme".into(),
            service: "VPN".into(),
        }
    }

    #[test]
    fn totals_count_each_sdr_once_per_row_and_keep_currencies_apart() {
        let mut t = Totals::default();
        let f = facts();
        // Repriced: same currency, one SDR in the row.
        t.add(&f, Some(&side("SEK", "1.25")), Some(&side("SEK", "1.00")))
            .unwrap();
        // Newly priced.
        t.add(&f, None, Some(&side("SEK", "0.50"))).unwrap();
        // Now faults: old only.
        t.add(&f, Some(&side("SEK", "2.00")), None).unwrap();
        // Currency changed: one SDR in each currency's row.
        t.add(&f, Some(&side("SEK", "3.00")), Some(&side("EUR", "0.30")))
            .unwrap();
        let sek = t.currency["SEK"]["SEK"];
        assert_eq!(sek.sdrs, 4);
        assert_eq!(sek.old, "6.25".parse().unwrap());
        assert_eq!(sek.new, "1.50".parse().unwrap());
        let eur = t.customer["K1"]["EUR"];
        assert_eq!(
            (eur.sdrs, eur.old, eur.new),
            (1, Decimal::ZERO, "0.30".parse().unwrap())
        );
        let by = t.by_currency().unwrap();
        assert_eq!(by["SEK"].difference, "-4.75".parse().unwrap());
        assert_eq!(by["EUR"].difference, "0.30".parse().unwrap());
    }

    #[test]
    fn overflowing_totals_are_an_error_not_a_panic() {
        let mut t = Totals::default();
        let f = facts();
        t.add(&f, None, Some(&side("SEK", &Decimal::MAX.to_string())))
            .unwrap();
        assert!(
            t.add(&f, None, Some(&side("SEK", "1")))
                .unwrap_err()
                .to_string()
                .contains("exceeds")
        );
    }

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
