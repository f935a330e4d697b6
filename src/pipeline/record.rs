//! What a rating worker does with one SDR, and how the writer files the result.

use std::fs::File;
use std::io::BufWriter;
use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result};
use smallvec::SmallVec;

use crate::fault::FaultCause;
use crate::group::assemble::Added;
use crate::group::duplicates::{Key, Verdict};
use crate::group::shards::Routed;
use crate::group::{Event, Origin, Position, Raw};
use crate::rate::{Outcome, Rater, Totals};
use crate::read::origins::{Origins, Source};
use crate::read::{self, Framed};
use crate::sdr::StatusIndicator;
use crate::sdr::{ServiceDetailRecord, Text};
use crate::write::export::{FaultHead, Head};
use crate::write::gather::Gather;
use crate::write::secured::SecuredSdr;
use crate::write::trace::Tag;
use crate::write::{append_priced_tagged, priced_bytes};

use super::Progress;
use super::blocks::{Item, Job, Rated, Sink, with_decoded};
use super::dedup::DupKey;
use super::outputs::Outputs;
use super::stage::{FaultBatch, FaultRows, SessionStage, fault_rows};
use super::summary::Summary;
use crate::write::names;

/// What a worker made of one record; raw bytes stay in the input block.
///
/// Kept small (56 bytes): a block's results are moved from the worker to
/// the block's vector and through the writer's loop, five moves a record.
/// With a billed SDR's totals inline the enum was about 330 bytes, each
/// move a `memcpy` call: 6.5 M of the writer's 34 M instructions on the
/// 20 k mix (BENCHMARKS.md, "Speed: fewer copies on the writer"). What
/// is large and common
/// (a billed SDR) or rare (a fault) is boxed, allocated by the worker.
pub(super) enum Done {
    /// A billed or billable SDR: see [`Billed`].
    Priced(Box<Billed>),
    /// Where its answer lies in its group's buffer, the producer that
    /// asked, and the answer itself when subscribers are routed.
    Answered(Range<usize>, Text, Option<Box<ServiceDetailRecord>>),
    /// Passed on unpriced; a quality-assurance SDR with where its report
    /// row (CSV, formatted by the worker) lies in its group's buffer; the
    /// SDR itself when subscribers are routed.
    NotPriced(Option<Range<usize>>, Option<Box<ServiceDetailRecord>>),
    /// Archived as it is; its events go to the session stage. Boxed by
    /// the worker: an `Event` is about 330 bytes, and the writer moved each
    /// one three times on its way to the shards (`group::shards`), a
    /// `memcpy` call each (15 % of the writer's work on session events).
    /// An SDR's one event is kept inline: a vector per record was
    /// allocated by the worker and freed by the writer, ~60 instructions
    /// of the writer's a record on session events.
    SessionEvent(SmallVec<[Routed; 1]>),
    Fault(Box<Faulted>),
}

/// A priced SDR: where its priced bytes lie in its group's buffer
/// ([`Group`]), the money, the duplicate-check key (made here, in parallel:
/// the writer only looks it up), the priced SDR itself when subscribers
/// are routed, its export head, and its purge-list row when the run takes
/// responsibility ([`Responsible`]). Once billed, the box is set aside
/// whole for the ledger ([`SessionStage::price_ready`]).
pub(super) struct Billed {
    pub range: Range<usize>,
    pub key: DupKey,
    pub totals: Totals,
    pub sdr: Option<Box<ServiceDetailRecord>>,
    pub head: Option<Box<Head>>,
    /// Inline (48 bytes): the whole is boxed already.
    pub secured: Option<SecuredSdr>,
}

/// A record that could not be priced.
pub(super) struct Faulted {
    /// The record labelled with its pricing modules, when it decoded.
    pub labelled: Option<Vec<u8>>,
    pub sdr_identifier: Option<u32>,
    pub producer: Option<String>,
    pub cause: FaultCause,
    pub detail: String,
    /// What its export row says of it (`--export`).
    pub head: Option<Box<FaultHead>>,
    /// Its fault index and report rows, formatted by the worker when it
    /// lies where it is read ([`Needs::fault_rows`]).
    pub rows: Option<FaultRows>,
}

/// The session events an SDR carries, with where they came from. Takes the
/// record's strings (the record is done with) rather than copying them.
/// `rate` takes them boxed and keyed for routing (`Vec<Routed>`): see
/// [`Done::SessionEvent`].
pub fn events_of<T: From<Event>, C: FromIterator<T>>(
    sdr: &mut ServiceDetailRecord,
    file: &str,
    rec: &Framed<'_>,
) -> C {
    use crate::sdr::{ServicePart, ServiceSpecificPart};
    use std::mem::take;
    let sequence = sdr.service_header.sequence_number;
    sdr.service_usage_modules
        .iter_mut()
        .filter_map(|sum| match &mut sum.service_specific {
            ServiceSpecificPart::Known(ServicePart::SessionEvent(e)) => {
                Some(T::from(Event::from_sdr(
                    e,
                    sequence,
                    Some(take(&mut sum.provider_identifier)).filter(|p| !p.is_empty()),
                    take(&mut sum.marketing_company),
                    Origin {
                        file: file.to_owned(),
                        position: Position::Offset(rec.offset),
                        raw: Raw::Sdr(rec.bytes.to_vec()),
                    },
                )))
            }
            _ => None,
        })
        .collect()
}

/// The fault of an SDR the duplicate check refuses (`TooOld`, `Future`):
/// its cause and detail, as `rate` and the cluster's pricing write them.
pub(super) fn refusal(verdict: Verdict) -> (FaultCause, &'static str) {
    if verdict == Verdict::TooOld {
        (
            FaultCause::TooOldForDuplicateCheck,
            "older than the duplicate-check window: cannot prove it was not billed before; rate it with a longer --duplicate-window",
        )
    } else {
        (
            FaultCause::FutureTimeOfOrigin,
            "time of origin after the pricing time plus --future-tolerance: the producer's clock is wrong; recycle it once it is fixed",
        )
    }
}

/// Columns of the quality-assurance report.
pub const QA_COLUMNS: [&str; 9] = [
    "sdr_identifier",
    "producer",
    "customer",
    "marketing_company",
    "currency",
    "basic_price",
    "individual_price",
    "status",
    "cause",
];

/// Appends a quality-assurance SDR's report row, as CSV, to `out` (its
/// group's buffer) and returns where it lies: formatted by the worker, the
/// writer only gathers it (through the CSV writer it was ~1,600 of the
/// writer's instructions a row).
fn qa_row_into(rater: &Rater, sdr: &ServiceDetailRecord, out: &mut Vec<u8>) -> Range<usize> {
    let start = out.len();
    crate::write::csv_row::push_record(out, qa_line(rater, sdr));
    start..out.len()
}

/// A quality-assurance SDR priced as if billed, as a report row.
fn qa_line(rater: &Rater, sdr: &ServiceDetailRecord) -> Vec<String> {
    let h = &sdr.service_header;
    let mut row = vec![
        h.sdr_identifier.to_string(),
        h.producer_identity.to_string(),
        h.customer_identity.clone().unwrap_or_default().to_string(),
        h.marketing_company.clone().unwrap_or_default().to_string(),
    ];
    match rater.rate_for_report(sdr) {
        Outcome::Priced(_, t) | Outcome::Answered(_, t) => row.extend([
            t.currency.to_string(),
            t.basic.to_string(),
            t.individual.to_string(),
            "priced".into(),
            String::new(),
        ]),
        Outcome::Fault(f) => row.extend([
            String::new(),
            String::new(),
            String::new(),
            f.status.to_string(),
            f.detail,
        ]),
        Outcome::NotPriced | Outcome::SessionEvent => row.extend([
            String::new(),
            String::new(),
            String::new(),
            "notPriceable".into(),
            "session events are priced per session".into(),
        ]),
    }
    row
}

/// What the writer will need of a priced record beyond its bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Needs {
    /// The decoded SDR, for subscriber routing.
    pub routed: bool,
    /// Duplicate-check keys for the state directory's index (else for a
    /// check within the run).
    pub indexed: bool,
    /// The header fields of export rows (`--export`).
    pub export: bool,
    /// Fault rows formatted by the worker ([`Faulted::rows`]): the input
    /// is where its records come from (not a kept file, whose index names
    /// their origins, read by the writer in order).
    pub fault_rows: bool,
}

/// The rating job: one SDR decoded, rated and labelled with its pricing
/// modules, or classified.
pub(super) struct RateJob<'a> {
    pub rater: &'a Rater,
    pub file: &'a str,
    pub needs: Needs,
}

impl Job for RateJob<'_> {
    type Done = Done;
    fn work(&self, rec: &Framed<'_>, out: &mut Vec<u8>) -> Done {
        self.work_tagged(rec, out, None)
    }
}

/// The rating job of a run that takes responsibility for what it bills:
/// its priced SDRs carry sdrate's tag (`write::trace`) and their purge-list
/// rows. Without a tag it is the plain [`RateJob`].
pub(super) struct Responsible<'a> {
    pub job: RateJob<'a>,
    pub tag: Option<&'a Tag>,
}

impl Job for Responsible<'_> {
    type Done = Done;
    fn work(&self, rec: &Framed<'_>, out: &mut Vec<u8>) -> Done {
        self.job.work_tagged(rec, out, self.tag)
    }
}

impl RateJob<'_> {
    fn work_tagged(&self, rec: &Framed<'_>, out: &mut Vec<u8>, tag: Option<&Tag>) -> Done {
        let mut done = self.work_decoded(rec, out, tag);
        if let (true, Done::Fault(f)) = (self.needs.fault_rows, &mut done) {
            let src = Source {
                file: self.file,
                offset: rec.offset,
                length: rec.bytes.len() as u64,
            };
            let kept = f.labelled.as_deref().unwrap_or(rec.bytes).len();
            // An error leaves the rows to the writer.
            f.rows = fault_rows(
                src,
                kept,
                f.sdr_identifier,
                f.producer.as_deref(),
                f.cause,
                &f.detail,
            )
            .ok();
        }
        done
    }

    fn work_decoded(&self, rec: &Framed<'_>, out: &mut Vec<u8>, tag: Option<&Tag>) -> Done {
        with_decoded(rec.bytes, |decoded| match decoded {
            Ok(sdr) => rate_record(self.rater, self.file, rec, self.needs, tag, sdr, out),
            Err(e) => Done::Fault(Box::new(Faulted {
                labelled: None,
                sdr_identifier: None,
                producer: None,
                cause: FaultCause::Undecodable,
                detail: e.to_string(),
                head: None,
                rows: None,
            })),
        })
    }
}

/// [`RateJob::work`] on a decoded record. The record stays the thread's, to be
/// decoded into again: what outlives the call is copied or taken from it.
/// Priced and answered records are appended to `out`.
fn rate_record(
    rater: &Rater,
    file: &str,
    rec: &Framed<'_>,
    needs: Needs,
    tag: Option<&Tag>,
    sdr: &mut ServiceDetailRecord,
    out: &mut Vec<u8>,
) -> Done {
    let label = |spms: &[crate::sdr::ServicePricingModule]| priced_bytes(rec.bytes, spms);
    // Only what is billed carries the tag; a trace that holds sdrate's
    // identity already keeps its entry (see `write::trace`).
    let billed_tag = tag.filter(|t| !t.held_by(&sdr.service_header));
    let mut label_into = |spms: &[crate::sdr::ServicePricingModule], tag: Option<&Tag>| {
        let start = out.len();
        match append_priced_tagged(rec.bytes, spms, tag, out) {
            Ok(()) => Ok(start..out.len()),
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    };
    let fault = |sdr: &ServiceDetailRecord,
                 status: StatusIndicator,
                 detail: String,
                 labelled,
                 spms: &[crate::sdr::ServicePricingModule]| {
        Done::Fault(Box::new(Faulted {
            labelled,
            sdr_identifier: Some(sdr.service_header.sdr_identifier),
            producer: Some(sdr.service_header.producer_identity.to_string()),
            cause: status.into(),
            detail,
            head: needs.export.then(|| Box::new(FaultHead::of(sdr, spms))),
            rows: None,
        }))
    };
    match rater.rate(sdr) {
        Outcome::Priced(spms, t) => match label_into(&spms, billed_tag) {
            Ok(b) => {
                let secured = tag.map(|_| {
                    let h = &sdr.service_header;
                    SecuredSdr {
                        producer: h.producer_identity.clone(),
                        sdr_identifier: h.sdr_identifier,
                        time_of_origin: h.time_of_origin,
                    }
                });
                let key = DupKey::of(&Key::of(&sdr.service_header), needs.indexed);
                let head = needs.export.then(|| Box::new(Head::priced(sdr, &spms)));
                let keep = needs.routed.then(|| {
                    let mut priced = Box::new(sdr.clone());
                    priced.service_pricing_modules = Some(spms);
                    priced
                });
                Done::Priced(Box::new(Billed {
                    range: b,
                    key,
                    totals: t,
                    sdr: keep,
                    head,
                    secured,
                }))
            }
            Err(e) => fault(
                sdr,
                StatusIndicator::TechnicalError,
                format!("{e:#}"),
                None,
                &[],
            ),
        },
        Outcome::Answered(spms, _) => match label_into(&spms, None) {
            Ok(b) => {
                // The seed's subscription service returns answers too.
                let keep = needs.routed.then(|| {
                    let mut answer = Box::new(sdr.clone());
                    answer.service_pricing_modules = Some(spms);
                    answer
                });
                Done::Answered(b, sdr.service_header.producer_identity.clone(), keep)
            }
            Err(e) => fault(
                sdr,
                StatusIndicator::TechnicalError,
                format!("{e:#}"),
                None,
                &[],
            ),
        },
        Outcome::NotPriced => {
            let qa = match Rater::is_quality_assurance(sdr) {
                true => Some(qa_row_into(rater, sdr, out)),
                false => None,
            };
            // Quality-assurance and service-management SDRs go to the
            // subscribers that asked for them (a QA team, operations).
            Done::NotPriced(qa, needs.routed.then(|| Box::new(sdr.clone())))
        }
        Outcome::SessionEvent => Done::SessionEvent(events_of(sdr, file, rec)),
        Outcome::Fault(f) => {
            let labelled = if f.spms.is_empty() {
                None
            } else {
                label(&f.spms).ok()
            };
            fault(sdr, f.status, f.detail, labelled, &f.spms)
        }
    }
}

/// Everything the writer of one input file touches: the rating job's
/// [`Sink`].
pub(super) struct BlockWriter<'a, 'r> {
    pub out: &'a mut Outputs,
    pub summary: &'a mut Summary,
    pub stage: &'a mut SessionStage<'r>,
    pub priced: &'a mut BufWriter<File>,
    pub priced_path: &'a Path,
    pub file: &'a str,
    /// The index of an input sdrate kept: see [`origin`].
    pub origins: &'a mut Option<Origins>,
    pub progress: &'a dyn Progress,
}

impl Sink<Done> for BlockWriter<'_, '_> {
    /// [`Self::write_block`], then prices the sessions the block completed:
    /// with more than one thread this runs beside the rating of the next
    /// block, so session pricing no longer waits between blocks.
    fn write(&mut self, rated: &mut Rated<Done>) -> Result<()> {
        self.write_block(rated)?;
        self.stage.price_ready(self.out, self.summary)
    }

    /// What this block wrote starts on its way to disk now, not at the
    /// fsync before publication.
    fn written(&mut self) {
        crate::state::publish::start_writeback(self.priced.get_ref());
        self.out.start_writeback();
    }
}

impl BlockWriter<'_, '_> {
    /// Writes a rated block in record order: records, and the stretches
    /// that cannot be framed (each one fault, kept whole) where they lie.
    fn write_block(&mut self, rated: &mut Rated<Done>) -> Result<()> {
        let write_err = |what: &str| format!("cannot write {what}");
        let Self {
            out,
            summary,
            stage,
            priced,
            priced_path,
            file,
            origins,
            progress,
        } = self;
        for (offset, length) in rated.block.padding() {
            summary.padding.add(file, offset, length);
        }
        // Once per block: the bar reads the clock on every call.
        progress.inc(rated.record_bytes());
        // The block's duplicate verdicts, decided first, in input order
        // (see `dedup`). Its vectors are sized once: grown by doubling,
        // they were ~5 % of the writer's work.
        //
        // The block's session events are routed to their sessions first,
        // by several threads (`group::shards`); the loop below files what
        // became of each in input order, as if each were routed there. An
        // input sdrate kept names each event's origin in its index, read
        // in input order: those events are routed in the loop.
        //
        // One pass over the block stages both, the keys and the events.
        let n = rated.record_count();
        let mut keys: Vec<DupKey> = Vec::with_capacity(n);
        let routing = origins.is_none();
        let mut counts = Vec::with_capacity(if routing { n } else { 0 });
        rated.each_done_mut(|d| match d {
            Done::Priced(b) => keys.push(b.key),
            Done::SessionEvent(e) if routing => {
                counts.push(e.len());
                for r in e.drain(..) {
                    stage.stage_event(r);
                }
            }
            _ => {}
        });
        let mut verdicts = stage.dedup.check_block(&keys)?.into_iter();
        let mut assembled = match routing {
            true => Some((counts.into_iter(), stage.route_staged()?)),
            false => None,
        };
        // Record faults whose rows the workers formatted, appended once
        // per block; written out first where anything else writes faults.
        let mut faulted = FaultBatch::default();
        // The block's records for the four outputs that take them as they
        // are, gathered where they lie and written after the loop, one
        // vectored write each (`write::gather`). Session filing writes
        // duplicates too: after the loop, or in it for an input sdrate
        // kept, where what was gathered is written first.
        let mut to_priced = Gather::with_capacity(n);
        let mut to_events = Gather::with_capacity(n);
        let mut to_not_priced = Gather::with_capacity(n);
        let mut to_duplicates = Gather::with_capacity(n);
        // Quality-assurance rows are rare: the vector grows.
        let mut to_qa = Gather::default();
        for item in rated.items() {
            let (rec, group_bytes, block, d) = match item {
                Item::Broken { rec, error } => {
                    faulted.flush(out)?;
                    write_broken(out, summary, *progress, file, origins, rec, error)?;
                    continue;
                }
                Item::Record {
                    rec,
                    bytes,
                    block,
                    done,
                } => (rec, bytes, block, done),
            };
            let rec = &rec;
            summary.records_read += 1;
            match d {
                Done::Priced(mut b) => {
                    let bytes = &group_bytes[b.range.clone()];
                    let verdict = verdicts.next().expect("one verdict per billed SDR");
                    debug_assert!(b.key == keys[keys.len() - verdicts.len() - 1]);
                    match verdict {
                        Verdict::New => {
                            summary.priced += 1;
                            if let (Some(n), Some(cost)) = (out.network.as_mut(), &b.totals.network)
                            {
                                n.add(cost)?;
                            }
                            to_priced.push_in(group_bytes, bytes);
                            if let (Some(subs), Some(sdr)) =
                                (out.subscribers.as_mut(), b.sdr.take())
                            {
                                subs.route(&sdr, bytes)?;
                            }
                            if let (Some(ex), Some(head)) = (out.export.as_mut(), b.head.take()) {
                                let src = origin(origins, file, rec.offset, rec.bytes.len())?;
                                ex.priced(&head, &b.totals, src.file, src.offset)?;
                            }
                            if let (Some(list), Some(s)) = (out.secured.as_mut(), b.secured.take())
                            {
                                let src = origin(origins, file, rec.offset, rec.bytes.len())?;
                                list.write(&s, src.file, src.offset)?;
                            }
                            // Summed after the block, by the threads.
                            stage.billed.push(b);
                        }
                        Verdict::Duplicate => {
                            summary.duplicates += 1;
                            to_duplicates.push_in(block, rec.bytes);
                        }
                        Verdict::TooOld | Verdict::Future => {
                            faulted.flush(out)?;
                            let (cause, detail) = refusal(verdict);
                            summary.count_fault(cause);
                            let src = origin(origins, file, rec.offset, rec.bytes.len())?;
                            // Rare: the header is decoded again for the row.
                            let (id, producer) = with_decoded(rec.bytes, |d| match d {
                                Ok(sdr) => (
                                    Some(sdr.service_header.sdr_identifier),
                                    sdr.service_header.producer_identity.to_string(),
                                ),
                                Err(_) => (None, String::new()),
                            });
                            crate::write::fault_record(
                                &mut out.faults,
                                &mut out.fault_report,
                                src,
                                rec.bytes,
                                None,
                                id,
                                &producer,
                                cause,
                                detail,
                            )?;
                            if let (Some(ex), Some(head)) = (out.export.as_mut(), &b.head) {
                                let h = FaultHead::refused(head, &b.totals);
                                ex.fault(&h, cause, detail, src.file, src.offset)?;
                            }
                        }
                    }
                }
                Done::Answered(range, producer, sdr) => {
                    summary.price_requests += 1;
                    let bytes = &group_bytes[range];
                    out.answers.write(&producer, bytes)?;
                    if let (Some(subs), Some(sdr)) = (out.subscribers.as_mut(), sdr) {
                        subs.route(&sdr, bytes)?;
                    }
                }
                Done::NotPriced(qa, sdr) => {
                    if let (Some(subs), Some(sdr)) = (out.subscribers.as_mut(), sdr) {
                        subs.route(&sdr, rec.bytes)?;
                    }
                    if let Some(row) = qa {
                        summary.quality_assurance += 1;
                        to_qa.push_in(group_bytes, &group_bytes[row]);
                    }
                    summary.not_priced += 1;
                    to_not_priced.push_in(block, rec.bytes);
                }
                Done::SessionEvent(events) => {
                    summary.session_events += 1;
                    to_events.push_in(block, rec.bytes);
                    if let Some((counts, added)) = assembled.as_mut() {
                        let n = counts.next().expect("counted before");
                        for a in added.by_ref().take(n) {
                            summary.sessions.events_read += 1;
                            // What becomes of an event may be a fault, kept
                            // after the block's record faults so far. Only
                            // the rare answers write: flushed before every
                            // session event, the batch was written in
                            // one-fault pieces, two small writes a fault
                            // (15,700 on the 1 M mix).
                            if !matches!(a, Added::Held | Added::Complete(_)) {
                                faulted.flush(out)?;
                            }
                            stage.handle(a, out, summary)?;
                        }
                        continue;
                    }
                    faulted.flush(out)?;
                    // Filing may write duplicates (`SessionStage::add`).
                    to_duplicates
                        .write_to(&mut out.duplicates)
                        .with_context(|| write_err(names::DUPLICATES))?;
                    for Routed { event: mut e, .. } in events {
                        summary.sessions.events_read += 1;
                        if origins.is_some() {
                            let src = origin(origins, file, rec.offset, rec.bytes.len())?;
                            e.origin.file = src.file.to_owned();
                            e.origin.position = Position::Offset(src.offset);
                        }
                        stage.add(*e, out, summary)?;
                    }
                }
                Done::Fault(f) => {
                    let Faulted {
                        labelled,
                        sdr_identifier,
                        producer,
                        cause,
                        detail,
                        head,
                        rows,
                    } = *f;
                    summary.count_fault(cause);
                    let src = origin(origins, file, rec.offset, rec.bytes.len())?;
                    let kept = labelled.as_deref().unwrap_or(rec.bytes);
                    match rows {
                        Some(rows) => faulted.add_record(kept, &rows, &mut out.faults)?,
                        None => {
                            faulted.flush(out)?;
                            crate::write::fault_record(
                                &mut out.faults,
                                &mut out.fault_report,
                                src,
                                rec.bytes,
                                labelled.as_deref(),
                                sdr_identifier,
                                producer.as_deref().unwrap_or(""),
                                cause,
                                &detail,
                            )?;
                        }
                    }
                    if let Some(ex) = out.export.as_mut() {
                        // An undecodable record has no head: its row has
                        // only the cause and where it lies.
                        let h = head.map(|h| *h).unwrap_or_default();
                        ex.fault(&h, cause, &detail, src.file, src.offset)?;
                    }
                }
            }
        }
        to_priced
            .write_to(*priced)
            .with_context(|| write_err(&priced_path.display().to_string()))?;
        for (gathered, w, name) in [
            (to_events, &mut out.session_events, names::SESSION_EVENTS),
            (to_not_priced, &mut out.not_priced, names::NOT_PRICED),
            (to_duplicates, &mut out.duplicates, names::DUPLICATES),
            (to_qa, &mut out.qa_report, names::QA_REPORT),
        ] {
            let mut gathered = gathered;
            gathered.write_to(w).with_context(|| write_err(name))?;
        }
        faulted.flush(out)
    }
}

/// One stretch of an input that cannot be framed: a fault, kept byte for
/// byte in the broken file (see `read::frame`); the records after it are
/// read.
#[allow(clippy::too_many_arguments)]
fn write_broken(
    out: &mut Outputs,
    summary: &mut Summary,
    progress: &dyn Progress,
    file: &str,
    origins: &mut Option<Origins>,
    rec: Framed<'_>,
    error: read::FrameError,
) -> Result<()> {
    let (bytes, offset) = (rec.bytes, rec.offset);
    summary.records_read += 1;
    summary.count_fault(FaultCause::BrokenFraming);
    progress.inc(bytes.len() as u64);
    let src = origin(origins, file, offset, bytes.len())?;
    let detail =
        crate::write::broken_stretch(&mut out.broken, &mut out.fault_report, src, bytes, &error)?;
    if let Some(ex) = out.export.as_mut() {
        let h = FaultHead::default();
        ex.fault(&h, FaultCause::BrokenFraming, &detail, src.file, src.offset)?;
    }
    Ok(())
}

/// Where the `length` bytes at `offset` of input `file` came from: the
/// input itself, unless it is a file sdrate kept (the suspense area), whose
/// index names the original input, offset and length.
fn origin<'a>(
    origins: &'a mut Option<Origins>,
    file: &'a str,
    offset: u64,
    length: usize,
) -> Result<Source<'a>> {
    let length = length as u64;
    if let Some(o) = origins
        && let Some(src) = o.at(offset, length)?
    {
        return Ok(src);
    }
    Ok(Source {
        file,
        offset,
        length,
    })
}

#[cfg(test)]
mod tests {
    use super::Done;

    /// A worker's result is moved about five times on its way through the
    /// writer: it must stay a few words, not the 330 bytes it was with a
    /// billed SDR's totals inline (a `memcpy` call per move).
    #[test]
    fn done_stays_small_so_moving_it_is_cheap() {
        assert!(
            std::mem::size_of::<Done>() <= 64,
            "Done is {} bytes",
            std::mem::size_of::<Done>()
        );
    }
}
