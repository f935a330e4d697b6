//! The rating run: read every input in order, rate records in parallel
//! chunks, and hand results to one writer per output in input order, so the
//! output is byte-identical at any thread count and memory does not grow
//! with the input.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::rate::{Outcome, Rater, Totals};
use crate::read::{self, Framed, Reader};
use crate::sdr::StatusIndicator;
use crate::write::append_priced;

/// Output file names inside the output directory.
pub mod names {
    pub const PRICED_DIR: &str = "priced";
    pub const ANSWERS: &str = "answers.sdr";
    pub const NOT_PRICED: &str = "not-priced.sdr";
    pub const SESSION_EVENTS: &str = "session-events.sdr";
    pub const FAULTS: &str = "faults.sdr";
    pub const FAULT_REPORT: &str = "faults.csv";
    pub const SUMMARY: &str = "summary.json";
}

/// Counts and money of one run. Records read always equal priced + price
/// requests + not priced + session events + faulted.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub sdrate_version: &'static str,
    pub inputs: Vec<String>,
    pub records_read: u64,
    pub priced: u64,
    pub price_requests: u64,
    pub not_priced: u64,
    pub session_events: u64,
    pub faulted: u64,
    pub accounting_identity_holds: bool,
    pub faults_by_cause: BTreeMap<String, u64>,
    /// currency -> marketing company -> totals (priced SDRs, not answers).
    pub totals: BTreeMap<String, BTreeMap<String, Money>>,
}

#[derive(Debug, Default, Serialize, PartialEq, Eq, Clone, Copy)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    pub basic: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub individual: Decimal,
}

impl Summary {
    pub fn identity_holds(&self) -> bool {
        self.records_read
            == self.priced
                + self.price_requests
                + self.not_priced
                + self.session_events
                + self.faulted
    }

    fn add_totals(&mut self, t: &Totals) -> Result<()> {
        // Look up by reference first: keys are allocated once per run, not
        // once per priced SDR.
        if !self.totals.contains_key(&t.currency) {
            self.totals.insert(t.currency.clone(), BTreeMap::new());
        }
        let by_company = self.totals.get_mut(&t.currency).expect("inserted above");
        if !by_company.contains_key(&t.marketing_company) {
            by_company.insert(t.marketing_company.clone(), Money::default());
        }
        let m = by_company
            .get_mut(&t.marketing_company)
            .expect("inserted above");
        let overflow = || {
            anyhow::anyhow!(
                "the run total of {} for {} exceeds what an exact decimal holds",
                t.currency,
                t.marketing_company
            )
        };
        m.basic = m.basic.checked_add(t.basic).ok_or_else(overflow)?;
        m.individual = m
            .individual
            .checked_add(t.individual)
            .ok_or_else(overflow)?;
        Ok(())
    }
}

/// What a worker made of one record; raw bytes stay in the input map.
enum Done {
    Priced(Vec<u8>, Totals),
    Answered(Vec<u8>),
    NotPriced,
    SessionEvent,
    Fault {
        /// The record labelled with its pricing modules, when it decoded.
        labelled: Option<Vec<u8>>,
        sdr_identifier: Option<u32>,
        producer: Option<String>,
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
                sdr_identifier: None,
                producer: None,
                status: "undecodable".into(),
                detail: e.to_string(),
            };
        }
    };
    let label = |spms: &[crate::sdr::ServicePricingModule]| {
        let mut out = Vec::with_capacity(rec.bytes.len() + 96 * spms.len());
        append_priced(rec.bytes, spms, &mut out).map(|_| out)
    };
    let fault = |status: StatusIndicator, detail: String, labelled| Done::Fault {
        labelled,
        sdr_identifier: Some(sdr.service_header.sdr_identifier),
        producer: Some(sdr.service_header.producer_identity.clone()),
        status: status.to_string(),
        detail,
    };
    match rater.rate(&sdr) {
        Outcome::Priced(spms, t) => match label(&spms) {
            Ok(b) => Done::Priced(b, t),
            Err(e) => fault(StatusIndicator::TechnicalError, format!("{e:#}"), None),
        },
        Outcome::Answered(spms, _) => match label(&spms) {
            Ok(b) => Done::Answered(b),
            Err(e) => fault(StatusIndicator::TechnicalError, format!("{e:#}"), None),
        },
        Outcome::NotPriced => Done::NotPriced,
        Outcome::SessionEvent => Done::SessionEvent,
        Outcome::Fault(f) => {
            let labelled = if f.spms.is_empty() {
                None
            } else {
                label(&f.spms).ok()
            };
            fault(f.status, f.detail, labelled)
        }
    }
}

/// Where the run writes, opened before any record is read.
pub struct Outputs {
    dir: PathBuf,
    answers: BufWriter<File>,
    not_priced: BufWriter<File>,
    session_events: BufWriter<File>,
    faults: BufWriter<File>,
    fault_report: csv::Writer<File>,
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        1 << 16,
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    ))
}

impl Outputs {
    pub fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir.join(names::PRICED_DIR))
            .with_context(|| format!("cannot create output directory {}", dir.display()))?;
        let report = dir.join(names::FAULT_REPORT);
        let mut fault_report = csv::Writer::from_path(&report)
            .with_context(|| format!("cannot create {}", report.display()))?;
        fault_report
            .write_record([
                "file",
                "offset",
                "length",
                "sdr_identifier",
                "producer",
                "status",
                "cause",
            ])
            .with_context(|| format!("cannot write {}", report.display()))?;
        Ok(Outputs {
            dir: dir.to_path_buf(),
            answers: create(&dir.join(names::ANSWERS))?,
            not_priced: create(&dir.join(names::NOT_PRICED))?,
            session_events: create(&dir.join(names::SESSION_EVENTS))?,
            faults: create(&dir.join(names::FAULTS))?,
            fault_report,
        })
    }
}

/// Name of the priced output for an input: its file name, made unique by
/// position when two inputs share a name.
fn priced_name(path: &Path, index: usize, all: &[PathBuf]) -> String {
    let name = path.file_name().map_or_else(
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
        .any(|(i, p)| i != index && p.file_name() == path.file_name());
    if clash {
        format!("{index:04}-{name}")
    } else {
        name
    }
}

/// Rates every input into `outputs`; returns the run summary.
pub fn run(rater: &Rater, inputs: &[PathBuf], mut out: Outputs) -> Result<Summary> {
    let mut summary = Summary {
        sdrate_version: env!("CARGO_PKG_VERSION"),
        ..Summary::default()
    };
    let total_bytes: u64 = inputs
        .iter()
        .filter_map(|p| fs::metadata(p).ok().map(|m| m.len()))
        .sum();
    let progress = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(total_bytes)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let write_err = |what: &str| format!("cannot write {what}");
    for (index, path) in inputs.iter().enumerate() {
        let mut reader = Reader::open(path)?;
        let file = path.display().to_string();
        summary.inputs.push(file.clone());
        let priced_path = out
            .dir
            .join(names::PRICED_DIR)
            .join(priced_name(path, index, inputs));
        let mut priced = create(&priced_path)?;
        // One block of whole records at a time (read::CHUNK_BYTES), so
        // memory does not grow with the file.
        while let Some(block) = reader.next_chunk()? {
            let mut chunk = Vec::with_capacity(block.data.len() / 128);
            let mut broken = None;
            for item in block.records() {
                match item {
                    Ok(rec) => chunk.push(rec),
                    Err(b) => broken = Some(b),
                }
            }
            let done: Vec<Done> = chunk.par_iter().map(|rec| work(rater, rec)).collect();
            // Once per block: the bar reads the clock on every call.
            progress.inc(chunk.iter().map(|r| r.bytes.len() as u64).sum());
            for (rec, d) in chunk.iter().zip(done) {
                summary.records_read += 1;
                match d {
                    Done::Priced(bytes, t) => {
                        summary.priced += 1;
                        summary.add_totals(&t)?;
                        priced
                            .write_all(&bytes)
                            .with_context(|| write_err(&priced_path.display().to_string()))?;
                    }
                    Done::Answered(bytes) => {
                        summary.price_requests += 1;
                        out.answers
                            .write_all(&bytes)
                            .with_context(|| write_err(names::ANSWERS))?;
                    }
                    Done::NotPriced => {
                        summary.not_priced += 1;
                        out.not_priced
                            .write_all(rec.bytes)
                            .with_context(|| write_err(names::NOT_PRICED))?;
                    }
                    Done::SessionEvent => {
                        summary.session_events += 1;
                        out.session_events
                            .write_all(rec.bytes)
                            .with_context(|| write_err(names::SESSION_EVENTS))?;
                    }
                    Done::Fault {
                        labelled,
                        sdr_identifier,
                        producer,
                        status,
                        detail,
                    } => {
                        summary.faulted += 1;
                        *summary.faults_by_cause.entry(status.clone()).or_default() += 1;
                        out.faults
                            .write_all(labelled.as_deref().unwrap_or(rec.bytes))
                            .with_context(|| write_err(names::FAULTS))?;
                        out.fault_report
                            .write_record([
                                file.as_str(),
                                &rec.offset.to_string(),
                                &rec.bytes.len().to_string(),
                                &sdr_identifier.map(|i| i.to_string()).unwrap_or_default(),
                                producer.as_deref().unwrap_or(""),
                                &status,
                                &detail,
                            ])
                            .with_context(|| write_err(names::FAULT_REPORT))?;
                    }
                }
            }
            if let Some(b) = broken {
                // The rest of the file cannot be split into records: keep it
                // whole, as one fault, for repair and recycling.
                summary.records_read += 1;
                summary.faulted += 1;
                *summary
                    .faults_by_cause
                    .entry("broken framing".into())
                    .or_default() += 1;
                progress.inc(b.bytes.len() as u64);
                out.faults
                    .write_all(b.bytes)
                    .with_context(|| write_err(names::FAULTS))?;
                out.fault_report
                    .write_record([
                        file.as_str(),
                        &b.offset.to_string(),
                        &b.bytes.len().to_string(),
                        "",
                        "",
                        "broken framing",
                        &format!(
                            "{}; the remaining {} bytes of the file cannot be split into records",
                            b.error,
                            b.bytes.len()
                        ),
                    ])
                    .with_context(|| write_err(names::FAULT_REPORT))?;
                break;
            }
            drop(chunk);
            reader.recycle(block);
        }
        priced
            .flush()
            .with_context(|| write_err(&priced_path.display().to_string()))?;
    }
    progress.finish_and_clear();
    for (w, name) in [
        (&mut out.answers, names::ANSWERS),
        (&mut out.not_priced, names::NOT_PRICED),
        (&mut out.session_events, names::SESSION_EVENTS),
        (&mut out.faults, names::FAULTS),
    ] {
        w.flush().with_context(|| write_err(name))?;
    }
    out.fault_report
        .flush()
        .with_context(|| write_err(names::FAULT_REPORT))?;
    summary.accounting_identity_holds = summary.identity_holds();
    let mut json = serde_json::to_vec_pretty(&summary).context("cannot serialise the summary")?;
    json.push(b'\n');
    fs::write(out.dir.join(names::SUMMARY), json).with_context(|| write_err(names::SUMMARY))?;
    Ok(summary)
}
