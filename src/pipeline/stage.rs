//! The session stage: events routed to their sessions, sessions priced in parallel batches, and session event logs read.

use std::cell::RefCell;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::fault::FaultCause;
use crate::group::assemble::{Added, Session};
use crate::group::duplicates::{Key, Verdict};
use crate::group::shards::{InOrder, Routed, Shards};
use crate::group::{Event, Position, Raw};
use crate::price::session::{
    PricedParticipation, PricedSession, SessionFault, price_session_as_of,
};
use crate::rate::Rater;
use crate::read::events::{EventLog, LineBytes, Row, RowFault};
use crate::read::origins::Source;
use crate::read::{self};
use crate::resolve::policy::DEFAULT_MAX_OPEN_HOURS;
use crate::sdr::StatusIndicator;
use crate::write::gather::Gather;
use crate::write::usage::UsageAnalysis;
use crate::write::{csv_row, sessions};

use super::dedup::{Dedup, DupKey};
use super::ledger::Ledger;
use super::outputs::Outputs;
use super::record::Billed;
use super::summary::Summary;
use crate::write::names;

/// The session stage of a run: the event router, the sessions ready to
/// price, and the usage analysis.
pub(super) struct SessionStage<'r> {
    pub(super) rater: &'r Rater,
    /// The run's duplicate check, for billing SDRs and participations
    /// alike.
    pub(super) dedup: Dedup<'r>,
    pub(super) assembler: Shards,
    pub(super) ready: Vec<Session>,
    pub(super) usage: UsageAnalysis,
    /// The SDRs the writer billed since the last
    /// [`SessionStage::price_ready`] (see [`Ledger`]): the workers' boxes,
    /// set aside whole, so the writer moves a pointer, not their totals.
    // The boxes are the workers' allocations, kept: unboxing each into the
    // vector would be the 300-byte copy this avoids, on the writer.
    #[allow(clippy::vec_box)]
    pub(super) billed: Vec<Box<Billed>>,
}

/// Sessions priced together, in parallel.
pub(super) const SESSION_BATCH: usize = 4096;

/// Sessions the threads price while the writer files the slice before
/// ([`SessionStage::price_ready`]). Filing a session takes the writer
/// about a fortieth of what pricing it takes a thread (~2,000 instructions
/// against ~85,000, callgrind, 200 k session events), so the writer keeps
/// up with many threads whatever the slice's size; the size only has to
/// be large next to a fork and join (~2 ms of pricing at one thread, 0.1 ms
/// split over 16) and small next to a block's ~250 sessions (1 M session
/// events: 512 KiB blocks of ~2,000 events), so that a block is filed in
/// several slices.
const FILED_TOGETHER: usize = 64;

/// A session priced, its participation SDRs encoded, its report rows and
/// duplicate-check keys made; or its events' fault rows.
type Priced = std::result::Result<
    (PricedSession, Vec<Vec<u8>>, SessionRows, Vec<DupKey>),
    Result<FaultedEvents>,
>;

/// A slice's bytes for the outputs of priced sessions, gathered in order.
struct SessionOutputs<'a> {
    participations: Gather<'a>,
    rows: Gather<'a>,
    costs: Gather<'a>,
}

/// A priced session's rows of the participation and cost reports, as CSV.
pub(super) struct SessionRows {
    pub(super) participations: Vec<u8>,
    pub(super) costs: Vec<u8>,
}

/// Bytes a thread's CSV writer wrote, taken after each batch of faulted
/// events ([`faulted_events`]) or faulted record ([`fault_rows`]).
#[derive(Clone, Default)]
struct Taken(std::rc::Rc<RefCell<Vec<u8>>>);

impl Write for Taken {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn writer() -> (csv::Writer<Taken>, Taken) {
    let out = Taken::default();
    (csv::Writer::from_writer(out.clone()), out)
}

/// [`writer`] for rows of a file whose header is written elsewhere.
fn no_header_writer() -> (csv::Writer<Taken>, Taken) {
    let out = Taken::default();
    let w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out.clone());
    (w, out)
}

/// Formats [`SessionRows`] in the parallel pricing step, which leaves the
/// writer (one thread, in order) only their bytes to copy. The rows are
/// written straight into their buffers ([`csv_row`]), and the text of the
/// participation row being built is a buffer each thread keeps.
fn session_rows(priced: &PricedSession) -> SessionRows {
    thread_local! {
        static TEXT: RefCell<String> = const { RefCell::new(String::new()) };
    }
    // A participation row of the generated sessions is ~170 bytes (1.05 MB
    // for 6,350 rows): sized once, at 192.
    let mut participations = Vec::with_capacity(priced.participations.len() * 192);
    TEXT.with_borrow_mut(|text| {
        for p in &priced.participations {
            csv_row::push_record(
                &mut participations,
                sessions::participation_row(priced, p, text),
            );
        }
    });
    let mut costs = Vec::new();
    for row in sessions::cost_rows(priced) {
        csv_row::push_record(&mut costs, row.iter().map(|f| f.as_bytes()));
    }
    SessionRows {
        participations,
        costs,
    }
}

/// Prices a complete session (lists as valid at its first event, or at the
/// rater's `as_of` in a rerate), its participation SDRs encoded and its
/// report rows formatted: `rate` and `rerate` alike.
pub(super) fn price_and_encode(
    rater: &Rater,
    s: &Session,
) -> Result<(PricedSession, Vec<Vec<u8>>, SessionRows), SessionFault> {
    let (priced, encoded) = price_and_encode_sdrs(rater, s)?;
    let rows = session_rows(&priced);
    Ok((priced, encoded, rows))
}

/// [`price_and_encode`] without the report rows, for the cluster's
/// session pricing, which writes no reports.
pub(super) fn price_and_encode_sdrs(
    rater: &Rater,
    s: &Session,
) -> Result<(PricedSession, Vec<Vec<u8>>), SessionFault> {
    let priced = price_session_as_of(&rater.lists, &rater.customers, s, rater.as_of.as_ref())?;
    let mut encoded = Vec::with_capacity(priced.participations.len());
    let times = sessions::SessionTimes::new(&priced, rater.pricing_time);
    let mut scratch = String::new();
    for (i, p) in priced.participations.iter().enumerate() {
        let sdr = sessions::encode_participation(
            &priced,
            p,
            u32::try_from(i + 1).unwrap_or(u32::MAX),
            &times,
            &rater.pricing_identifier,
            &mut scratch,
        )
        .map_err(|e| SessionFault {
            status: StatusIndicator::TechnicalError,
            detail: format!(
                "participation {} of session {}: {e:#}",
                p.part.participant_id, s.id
            ),
        })?;
        encoded.push(sdr);
    }
    Ok((priced, encoded))
}

impl SessionStage<'_> {
    pub(super) fn add(&mut self, e: Event, out: &mut Outputs, summary: &mut Summary) -> Result<()> {
        let added = self
            .assembler
            .add(e)
            .context("cannot remember the sessions priced so far")?;
        self.handle(added, out, summary)?;
        if self.ready.len() >= SESSION_BATCH {
            self.price_ready(out, summary)?;
        }
        Ok(())
    }

    /// Stages one event of a block for [`Self::route_staged`], in input
    /// order.
    #[inline]
    pub(super) fn stage_event(&mut self, r: Routed) {
        self.assembler.stage(r);
    }

    /// Routes the events staged since the last call to their sessions, by
    /// several threads ([`Shards`]); what became of each, in their order,
    /// is for [`Self::handle`].
    pub(super) fn route_staged(&mut self) -> Result<InOrder> {
        self.assembler
            .route_staged()
            .context("cannot remember the sessions priced so far")
    }

    /// Files what became of one event: counted, written, or its session
    /// priced with the others ready. Inlined for the common answers: a
    /// call and a drop per event were 7 % of the writer's work on session
    /// events (callgrind, 200 k events).
    #[inline]
    pub(super) fn handle(
        &mut self,
        added: Added,
        out: &mut Outputs,
        summary: &mut Summary,
    ) -> Result<()> {
        match added {
            Added::Held => Ok(()),
            // Priced in a batch: at the end of an SDR block (whose records'
            // duplicate verdicts come first, see `BlockWriter`), or by
            // `add` every SESSION_BATCH sessions of an event log.
            Added::Complete(s) => {
                self.ready.push(s);
                Ok(())
            }
            rare => Self::handle_rare(rare, out, summary),
        }
    }

    /// [`Self::handle`] of the answers that are counted or written.
    fn handle_rare(added: Added, out: &mut Outputs, summary: &mut Summary) -> Result<()> {
        match added {
            Added::Held | Added::Complete(_) => unreachable!("handled inline"),
            Added::Duplicate(_) => summary.sessions.duplicate_events += 1,
            Added::Late(e) => {
                summary.sessions.late_events += 1;
                let mut row = vec![e.origin.file.clone(), e.origin.position.to_string()];
                row.extend(e.to_row());
                out.late_events
                    .write_record(&row)
                    .with_context(|| format!("cannot write {}", names::LATE_EVENTS))?;
            }
            Added::Conflict(e, why) => {
                summary.sessions.events_faulted += 1;
                fault_event(&e, FaultCause::SequenceConflict, &why, out, summary)?;
            }
        }
        Ok(())
    }

    /// Adds the SDRs billed since the last call to the run's totals and
    /// usage ([`Ledger`]), and prices the complete sessions in parallel and
    /// files them in order.
    ///
    /// The SDRs' ledger is summed beside the first slice's pricing; then
    /// the writer files each slice ([`FILED_TOGETHER`]) while the threads
    /// price the next and sum and free the one filed before. A block of
    /// session events is ~8 ms of work, and each parallel step is a fork and
    /// a join at which the other threads have often gone to sleep: summing,
    /// freeing and pricing one after the other, with the writer filing
    /// alone in between, left the second of two threads idle a third of
    /// the run (BENCHMARKS.md: "filing sessions while the threads price").
    pub(super) fn price_ready(&mut self, out: &mut Outputs, summary: &mut Summary) -> Result<()> {
        // Taken, and given back emptied: grown afresh every block, the
        // vector was reallocated about eight times a block.
        let mut ready = std::mem::take(&mut self.ready);
        let mut sdrs = std::mem::take(&mut self.billed);
        let rater = self.rater;
        let indexed = self.dedup.indexed();
        let sdr_ledger = || {
            (!sdrs.is_empty())
                .then(|| Ledger::of(&sdrs, |l, b| l.bill(&b.totals)))
                .transpose()
        };
        let price = |sessions: &[Session]| -> Vec<Priced> {
            sessions
                .par_iter()
                .map(|s| match price_and_encode(rater, s) {
                    Ok((priced, encoded, rows)) => {
                        let keys = participation_keys(&priced, indexed);
                        Ok((priced, encoded, rows, keys))
                    }
                    Err(f) => Err(faulted_events(&s.events, f.status.into(), &f.detail)),
                })
                .collect()
        };
        let mut slices = ready.chunks(FILED_TOGETHER);
        let first = slices.next();
        let (sdr_ledger, mut pending) = rayon::join(sdr_ledger, || first.map(price));
        if let Some(l) = sdr_ledger? {
            l.settle(summary, &mut self.usage)?;
        }
        let mut faulted = FaultBatch::default();
        // The slice filed last, and which of its sessions were billed.
        let mut filed: Option<(Vec<Priced>, Vec<usize>)> = None;
        let mut at = 0;
        while let Some(priced) = pending {
            let next = slices.next();
            let sessions = &ready[at..at + priced.len()];
            let before = filed.take();
            let ((next, summed), billed) = rayon::join(
                || rayon::join(|| next.map(price), || before.map(sum_and_free)),
                || self.file(sessions, &priced, out, summary, &mut faulted),
            );
            if let Some(l) = summed.transpose()? {
                l.settle(summary, &mut self.usage)?;
            }
            at += priced.len();
            filed = Some((priced, billed?));
            pending = next;
        }
        faulted.write(out)?;
        let (summed, ()) = rayon::join(
            || filed.map(sum_and_free),
            || {
                discard_drain(&mut ready);
                discard_drain(&mut sdrs);
            },
        );
        if let Some(l) = summed.transpose()? {
            l.settle(summary, &mut self.usage)?;
        }
        // The vectors' capacity, for the next block's sessions and billed
        // SDRs.
        self.billed = sdrs;
        self.ready = ready;
        Ok(())
    }

    /// Files priced sessions in order: written if new, set aside if billed
    /// before, faulted if they cannot be priced. Returns the indices of
    /// those billed, for the ledger.
    fn file(
        &mut self,
        sessions: &[Session],
        results: &[Priced],
        out: &mut Outputs,
        summary: &mut Summary,
        faulted: &mut FaultBatch,
    ) -> Result<Vec<usize>> {
        // The slice's duplicate verdicts first, by the set's shards; a
        // session that cannot be priced has no keys.
        let keys: Vec<&[DupKey]> = results
            .iter()
            .map(|r| r.as_ref().map_or(&[][..], |(.., k)| &k[..]))
            .collect();
        let verdicts = self.dedup.check_sessions(&keys)?;
        let mut billed = Vec::with_capacity(results.len());
        // The slice's participations and report rows, gathered and written
        // after it (`write::gather`): nothing else writes those outputs.
        let participations = results
            .iter()
            .map(|r| r.as_ref().map_or(0, |(_, encoded, ..)| encoded.len()))
            .sum();
        let mut gathered = SessionOutputs {
            participations: Gather::with_capacity(participations),
            rows: Gather::with_capacity(results.len()),
            costs: Gather::with_capacity(results.len()),
        };
        for (i, ((s, r), verdict)) in sessions.iter().zip(results).zip(verdicts).enumerate() {
            let n = s.events.len() as u64;
            match r {
                Ok((priced, encoded, rows, _)) => match verdict {
                    Verdict::New => {
                        summary.sessions.sessions_priced += 1;
                        summary.sessions.events_priced += n;
                        Self::write_priced(priced, encoded, rows, out, summary, &mut gathered)?;
                        billed.push(i);
                    }
                    Verdict::Duplicate => {
                        // Billed by an earlier run: its events are
                        // duplicates, its participations kept aside.
                        summary.sessions.duplicate_sessions += 1;
                        summary.sessions.duplicate_events += n;
                        for bytes in encoded {
                            out.duplicates
                                .write_all(bytes)
                                .with_context(|| format!("cannot write {}", names::DUPLICATES))?;
                        }
                    }
                    v @ (Verdict::TooOld | Verdict::Future) => {
                        // Rare: formatted here, in order with the rest.
                        let (cause, detail) = session_refusal(v);
                        summary.sessions.sessions_faulted += 1;
                        summary.sessions.events_faulted += n;
                        let rows = faulted_events(&s.events, cause, detail)?;
                        faulted.add(&s.events, &rows, &mut out.faults, summary)?;
                    }
                },
                Err(rows) => {
                    summary.sessions.sessions_faulted += 1;
                    summary.sessions.events_faulted += n;
                    let rows = rows.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
                    faulted.add(&s.events, rows, &mut out.faults, summary)?;
                }
            }
        }
        let write_err = |what: &str| format!("cannot write {what}");
        for (mut g, w, name) in [
            (
                gathered.participations,
                &mut out.participations,
                names::PARTICIPATIONS,
            ),
            (
                gathered.rows,
                &mut out.participation_report,
                names::PARTICIPATION_REPORT,
            ),
            (gathered.costs, &mut out.cost_report, names::COSTS),
        ] {
            g.write_to(w).with_context(|| write_err(name))?;
        }
        Ok(billed)
    }

    /// Files a new priced session: its participations and rows gathered,
    /// routed to subscribers and exported.
    fn write_priced<'a>(
        priced: &PricedSession,
        encoded: &'a [Vec<u8>],
        rows: &'a SessionRows,
        out: &mut Outputs,
        summary: &mut Summary,
        gathered: &mut SessionOutputs<'a>,
    ) -> Result<()> {
        for (p, bytes) in priced.participations.iter().zip(encoded) {
            summary.sessions.participations += 1;
            gathered.participations.push(bytes);
            if let Some(subs) = out.subscribers.as_mut() {
                // Participation SDRs are priced SDRs too; decoding the bytes
                // billed routes exactly what was billed.
                let sdr = read::decode(bytes).map_err(|e| {
                    anyhow::anyhow!(
                        "participation SDR of {} does not decode: {e}",
                        priced.facts.session_id
                    )
                })?;
                subs.route(&sdr, bytes)?;
            }
            if let Some(ex) = out.export.as_mut() {
                ex.participation(&priced.facts.session_id, &priced.facts.service, p)?;
            }
        }
        gathered.rows.push(&rows.participations);
        gathered.costs.push(&rows.costs);
        Ok(())
    }

    /// End of input: price what completes now, fault what is too old,
    /// carry the rest to the next run.
    pub(super) fn finish(
        mut self,
        out: &mut Outputs,
        summary: &mut Summary,
    ) -> Result<Vec<Session>> {
        let lists = &self.rater.lists;
        let assembler = std::mem::replace(&mut self.assembler, Shards::new(0, 1));
        let finished = assembler.finish(|s| max_open_seconds(lists, s));
        self.ready.extend(finished.complete);
        self.price_ready(out, summary)?;
        // Formatted by the threads, as in `price_ready`.
        let rows: Vec<_> = finished
            .expired
            .par_iter()
            .map(|(s, why)| faulted_events(&s.events, FaultCause::SessionIncomplete, why))
            .collect();
        let mut faulted = FaultBatch::default();
        for ((s, _), rows) in finished.expired.iter().zip(rows) {
            summary.sessions.sessions_faulted += 1;
            summary.sessions.events_faulted += s.events.len() as u64;
            faulted.add(&s.events, &rows?, &mut out.faults, summary)?;
        }
        faulted.write(out)?;
        summary.sessions.sessions_pending = finished.pending.len() as u64;
        summary.sessions.events_pending =
            finished.pending.iter().map(|s| s.events.len() as u64).sum();
        // Written on every run, an empty one too: "no usage" is an answer.
        self.usage.write_csv(&out.dir.join(names::USAGE))?;
        self.usage.write_svg(&out.dir.join(names::USAGE_CHART))?;
        // The margins read the finished usage analysis.
        if let Some(n) = out.network.take() {
            summary.network_costs = Some(n.finish(&out.dir, &self.usage)?);
        }
        Ok(finished.pending)
    }
}

/// The ledger of the sessions of a filed slice that were billed (`billed`,
/// indices into `results`), then the slice freed, on the threads.
fn sum_and_free((results, billed): (Vec<Priced>, Vec<usize>)) -> Result<Ledger> {
    let sessions: Vec<&PricedSession> = billed
        .iter()
        .filter_map(|&i| results[i].as_ref().ok().map(|r| &r.0))
        .collect();
    let ledger = Ledger::of(&sessions, |l, p| l.bill_session(p));
    drop(sessions);
    discard(results);
    ledger
}

/// Frees what the threads made, on the threads: a batch of sessions and
/// their priced results is thousands of blocks, most allocated by other
/// threads, and freeing them was 15 % of the writer's work on session
/// events (callgrind). Not inlined: the serial-share benchmark
/// (`benches/serial.sh`) tells the threads' work from the writer's by this
/// name.
#[inline(never)]
pub(super) fn discard<T: Send>(items: Vec<T>) {
    items.into_par_iter().with_min_len(64).for_each(drop);
}

/// [`discard`], keeping the vector's capacity for reuse.
#[inline(never)]
pub(super) fn discard_drain<T: Send>(items: &mut Vec<T>) {
    items.par_drain(..).with_min_len(64).for_each(drop);
}

/// The duplicate-check keys of a priced session's participations
/// ([`participation_key`]), made by the thread that priced it: hashing
/// them was 3.7 % of the writer's work on session events. Not inlined:
/// the serial-share benchmark (`benches/serial.sh`) tells the threads'
/// work from the writer's by this name.
#[inline(never)]
fn participation_keys(priced: &PricedSession, indexed: bool) -> Vec<DupKey> {
    priced
        .participations
        .iter()
        .map(|p| DupKey::of(&participation_key(priced, p), indexed))
        .collect()
}

/// A participation's identity for the duplicate check: producer sdrate, a
/// hash of session and participant, the session's last event.
pub(super) fn participation_key<'a>(priced: &'a PricedSession, p: &PricedParticipation) -> Key<'a> {
    Key {
        producer: sessions::PRODUCER,
        sdr_identifier: sessions::participation_id(
            &priced.facts.session_id,
            &p.part.participant_id,
        ),
        time_of_origin: priced.facts.end.0,
    }
}

/// The fault of a session the duplicate check refuses (`TooOld`,
/// `Future`, by its end): cause and detail for each of its events.
pub(super) fn session_refusal(verdict: Verdict) -> (FaultCause, &'static str) {
    if verdict == Verdict::TooOld {
        (
            FaultCause::TooOldForDuplicateCheck,
            "the session is older than the duplicate-check window: cannot prove it was not billed before",
        )
    } else {
        (
            FaultCause::FutureTimeOfOrigin,
            "the session ends after the pricing time plus --future-tolerance: a producer's clock is wrong",
        )
    }
}

/// How long `s` may stay open: the policy of its service at its first
/// event, else the default. `rate` and `explain` decide it here alike.
pub(super) fn max_open_seconds(lists: &crate::resolve::PriceLists, s: &Session) -> i64 {
    s.events
        .first()
        .and_then(|e| price_session_policy(lists, &e.service, &e.timestamp))
        .unwrap_or(DEFAULT_MAX_OPEN_HOURS as i64 * 3600)
}

fn price_session_policy(
    lists: &crate::resolve::PriceLists,
    service: &str,
    at: &crate::sdr::Timestamp,
) -> Option<i64> {
    crate::price::session::policy_at(lists, service, at)
        .ok()
        .map(|p| p.max_open_seconds())
}

/// Keeps a session event that cannot be priced, as it arrived: an SDR in
/// the fault file, a row in the faulted-rows event log; both named in the
/// fault report.
fn fault_event(
    e: &Event,
    cause: FaultCause,
    detail: &str,
    out: &mut Outputs,
    summary: &mut Summary,
) -> Result<()> {
    summary.count_cause(cause);
    keep_faulted_event(
        e,
        cause,
        detail,
        &mut out.faults,
        &mut out.fault_report,
        &mut out.faulted_event_rows,
    )
}

/// [`fault_event`]'s keeping, on the writers of `rate` or `rerate`.
pub(super) fn keep_faulted_event(
    e: &Event,
    cause: FaultCause,
    detail: &str,
    faults: &mut crate::write::Kept,
    fault_report: &mut csv::Writer<File>,
    faulted_event_rows: &mut csv::Writer<File>,
) -> Result<()> {
    keep_event_with(
        e,
        cause,
        detail,
        |bytes, src| faults.keep(bytes, src, &cause.name()),
        fault_report,
        faulted_event_rows,
    )
}

/// An event kept in the fault file (an SDR's bytes, from their offset),
/// rather than as a row of the faulted event rows.
fn kept_bytes(e: &Event) -> Option<(&[u8], u64)> {
    match (&e.origin.raw, e.origin.position) {
        (Raw::Sdr(bytes), Position::Offset(off)) => Some((bytes, off)),
        _ => None,
    }
}

/// The keeping of a faulted session event, wherever its rows are written:
/// `keep` keeps an SDR's bytes (see [`kept_bytes`]), the rest are rows.
fn keep_event_with<R: Write, W: Write>(
    e: &Event,
    cause: FaultCause,
    detail: &str,
    keep: impl FnOnce(&[u8], Source<'_>) -> Result<()>,
    fault_report: &mut csv::Writer<R>,
    faulted_event_rows: &mut csv::Writer<W>,
) -> Result<()> {
    let write_err = |what: &str| format!("cannot write {what}");
    if let Some((bytes, offset)) = kept_bytes(e) {
        let src = Source {
            file: &e.origin.file,
            offset,
            length: bytes.len() as u64,
        };
        keep(bytes, src)?;
        return crate::write::fault_row(fault_report, src, None, "", cause, detail);
    }
    let row = match &e.origin.raw {
        Raw::Row(r) => r.clone(),
        Raw::Sdr(_) => e.to_row(),
    };
    faulted_event_rows
        .write_record(&row)
        .with_context(|| write_err(names::FAULTED_EVENT_ROWS))?;
    let line = match e.origin.position {
        Position::Line(l) => l.to_string(),
        Position::Offset(_) => String::new(),
    };
    fault_report
        .write_record([
            e.origin.file.as_str(),
            "",
            "",
            "",
            "",
            &cause.name(),
            detail,
            &line,
        ])
        .with_context(|| write_err(names::FAULT_REPORT))
}

/// The fault rows of a session's events, formatted by the thread that
/// priced it (or found it expired): rows of the fault report and of the
/// faulted event rows, and each kept SDR's index row but for its position.
/// The writer copies them ([`FaultBatch`]). Formatted on the writer, they
/// were a fifth of its work on session events (callgrind, 200 k events).
pub(super) struct FaultedEvents {
    cause: FaultCause,
    report: Vec<u8>,
    rows: Vec<u8>,
    index: Vec<u8>,
    /// Where each kept SDR's index row ends in `index`, in event order.
    ends: Vec<usize>,
}

/// A thread's CSV writers for [`FaultedEvents`].
struct FaultWriters {
    report: (csv::Writer<Taken>, Taken),
    rows: (csv::Writer<Taken>, Taken),
    index: (csv::Writer<Taken>, Taken),
}

fn fault_writers() -> FaultWriters {
    FaultWriters {
        report: writer(),
        rows: writer(),
        index: no_header_writer(),
    }
}

/// Formats [`FaultedEvents`] for `events`, all faulted for `cause`. Not
/// inlined: the serial-share benchmark (`benches/serial.sh`) tells the
/// threads' work from the writer's by this name.
#[inline(never)]
pub(super) fn faulted_events(
    events: &[Event],
    cause: FaultCause,
    detail: &str,
) -> Result<FaultedEvents> {
    with_fault_writers(|w| faulted_events_into(events, cause, detail, w))
}

/// Runs `format` with this thread's [`FaultWriters`], which it leaves
/// empty; after an error they are made anew, so that nothing half-written
/// reaches the next rows. A thread keeps its writers: a new one zeroes an
/// 8 KiB buffer.
fn with_fault_writers<T>(format: impl FnOnce(&mut FaultWriters) -> Result<T>) -> Result<T> {
    thread_local! {
        static WRITERS: RefCell<FaultWriters> = RefCell::new(fault_writers());
    }
    WRITERS.with_borrow_mut(|w| {
        let formatted = format(w);
        if formatted.is_err() {
            *w = fault_writers();
        }
        formatted
    })
}

fn faulted_events_into(
    events: &[Event],
    cause: FaultCause,
    detail: &str,
    w: &mut FaultWriters,
) -> Result<FaultedEvents> {
    let name = cause.name();
    let mut ends = Vec::new();
    for e in events {
        let index = &mut w.index;
        keep_event_with(
            e,
            cause,
            detail,
            |bytes, src| {
                crate::write::index_row(&mut index.0, None, bytes.len(), src, &name)?;
                index.0.flush()?;
                ends.push(index.1.0.borrow().len());
                Ok(())
            },
            &mut w.report.0,
            &mut w.rows.0,
        )?;
    }
    w.report.0.flush()?;
    w.rows.0.flush()?;
    Ok(FaultedEvents {
        cause,
        report: std::mem::take(&mut *w.report.1.0.borrow_mut()),
        rows: std::mem::take(&mut *w.rows.1.0.borrow_mut()),
        index: std::mem::take(&mut *w.index.1.0.borrow_mut()),
        ends,
    })
}

/// A faulted record's rows, formatted by a worker: its row in the fault
/// index but for the position ([`crate::write::Kept::keep_formatted`]),
/// and its row in the fault report. The writer formatted them, ~2,000
/// instructions a fault, 6 % of its work on the mix (callgrind).
pub(super) struct FaultRows {
    index: Vec<u8>,
    report: Vec<u8>,
}

/// Formats [`FaultRows`] for a record from `src` kept as `kept` bytes.
pub(super) fn fault_rows(
    src: Source<'_>,
    kept: usize,
    sdr_identifier: Option<u32>,
    producer: Option<&str>,
    cause: FaultCause,
    detail: &str,
) -> Result<FaultRows> {
    with_fault_writers(|w| {
        crate::write::index_row(&mut w.index.0, None, kept, src, &cause.name())?;
        let producer = producer.unwrap_or("");
        crate::write::fault_row(
            &mut w.report.0,
            src,
            sdr_identifier,
            producer,
            cause,
            detail,
        )?;
        w.index.0.flush()?;
        w.report.0.flush()?;
        Ok(FaultRows {
            index: std::mem::take(&mut *w.index.1.0.borrow_mut()),
            report: std::mem::take(&mut *w.report.1.0.borrow_mut()),
        })
    })
}

/// The fault rows of a batch of faulted sessions or records, gathered in
/// order and appended to their files once ([`FaultBatch::write`]).
#[derive(Default)]
pub(super) struct FaultBatch {
    index: Vec<u8>,
    report: Vec<u8>,
    rows: Vec<u8>,
}

impl FaultBatch {
    /// Keeps the SDRs of `events` in the fault file and gathers their
    /// rows, formatted in `f`; each event counted once for its cause.
    pub(super) fn add(
        &mut self,
        events: &[Event],
        f: &FaultedEvents,
        faults: &mut crate::write::Kept,
        summary: &mut Summary,
    ) -> Result<()> {
        summary.count_causes(f.cause, events.len() as u64);
        let mut ends = f.ends.iter();
        let mut start = 0;
        for (bytes, _) in events.iter().filter_map(kept_bytes) {
            let end = *ends.next().expect("an index row per kept SDR");
            faults.keep_formatted(bytes, &f.index[start..end], &mut self.index)?;
            start = end;
        }
        self.report.extend_from_slice(&f.report);
        self.rows.extend_from_slice(&f.rows);
        Ok(())
    }

    /// Keeps a faulted record's bytes in the fault file and gathers its
    /// rows, formatted by a worker.
    pub(super) fn add_record(
        &mut self,
        bytes: &[u8],
        rows: &FaultRows,
        faults: &mut crate::write::Kept,
    ) -> Result<()> {
        faults.keep_formatted(bytes, &rows.index, &mut self.index)?;
        self.report.extend_from_slice(&rows.report);
        Ok(())
    }

    /// [`Self::write`], leaving the batch empty for more. Inlined: the
    /// writer asks before every session-event record.
    #[inline]
    pub(super) fn flush(&mut self, out: &mut Outputs) -> Result<()> {
        // Every fault has a report row.
        if self.report.is_empty() {
            return Ok(());
        }
        std::mem::take(self).write(out)
    }

    /// Appends the gathered rows after what their files have so far.
    pub(super) fn write(self, out: &mut Outputs) -> Result<()> {
        out.faults.append_index(&self.index)?;
        for (w, bytes, name) in [
            (&mut out.fault_report, &self.report, names::FAULT_REPORT),
            (
                &mut out.faulted_event_rows,
                &self.rows,
                names::FAULTED_EVENT_ROWS,
            ),
        ] {
            crate::write::append_rows(w, bytes).with_context(|| format!("cannot write {name}"))?;
        }
        Ok(())
    }
}

/// Reads one event log: good rows are archived and routed to their
/// sessions, bad rows kept for recycling.
pub(super) fn read_event_log(
    path: &Path,
    stage: &mut SessionStage<'_>,
    out: &mut Outputs,
    summary: &mut Summary,
) -> Result<()> {
    for row in EventLog::open(path)? {
        summary.sessions.event_log_rows += 1;
        match row? {
            Row::Event(e) => {
                summary.sessions.events_read += 1;
                archive_event_row(&mut out.event_rows, &e)?;
                stage.add(e, out, summary)?;
            }
            Row::Fault(f) => {
                summary.sessions.event_rows_faulted += 1;
                summary.count_cause(FaultCause::BadEventRow);
                keep_faulted_row(path, &f, out)?;
                report_bad_row(&mut out.fault_report, &f)?;
            }
        }
    }
    stage.price_ready(out, summary)
}

/// An event-log row as the run's archive keeps it (`session-events.csv`):
/// the row as read, or an event of an SDR as a row.
pub(crate) fn archive_event_row(w: &mut csv::Writer<File>, e: &Event) -> Result<()> {
    let fields = match &e.origin.raw {
        Raw::Row(r) => r.clone(),
        Raw::Sdr(_) => e.to_row(),
    };
    w.write_record(&fields)
        .with_context(|| format!("cannot write {}", names::SESSION_EVENT_ROWS))
}

/// A bad event-log row's line in `faults.csv` (file, cause, line).
pub(crate) fn report_bad_row(w: &mut csv::Writer<File>, f: &RowFault) -> Result<()> {
    w.write_record([
        f.file.as_str(),
        "",
        "",
        "",
        "",
        &FaultCause::BadEventRow.name(),
        &f.cause,
        &f.line.to_string(),
    ])
    .with_context(|| format!("cannot write {}", names::FAULT_REPORT))
}

/// Keeps a faulted event-log row for recycling: a JSON line byte for byte
/// in `faulted-events.jsonl` (a line too long to hold is copied from its
/// file), a CSV row in `faulted-events.csv`.
fn keep_faulted_row(path: &Path, f: &RowFault, out: &mut Outputs) -> Result<()> {
    let write_err = |what: &str| format!("cannot write {what}");
    let lines = &mut out.faulted_event_lines;
    match &f.line_bytes {
        None => out
            .faulted_event_rows
            .write_record(&f.row)
            .with_context(|| write_err(names::FAULTED_EVENT_ROWS))?,
        Some(LineBytes::Held(bytes)) => lines
            .write_all(bytes)
            .and_then(|()| lines.write_all(b"\n"))
            .with_context(|| write_err(names::FAULTED_EVENT_LINES))?,
        Some(LineBytes::At { offset, length }) => {
            let (offset, length) = (*offset, *length);
            use std::io::{Read, Seek, SeekFrom};
            // The offset is in the decompressed stream of a compressed
            // log: it is decompressed again up to there.
            let src: Box<dyn Read> = match crate::read::compressed::of_file(path)? {
                None => {
                    let mut f = File::open(path)
                        .with_context(|| format!("cannot open {}", path.display()))?;
                    f.seek(SeekFrom::Start(offset))
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    Box::new(f)
                }
                Some(_) => {
                    let (mut d, _) = crate::read::compressed::open(path)?;
                    std::io::copy(&mut (&mut d).take(offset), &mut std::io::sink())
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    d
                }
            };
            let copied = std::io::copy(&mut src.take(length), lines)
                .with_context(|| write_err(names::FAULTED_EVENT_LINES))?;
            if copied != length {
                anyhow::bail!(
                    "cannot read {}: it changed while it was read (line {})",
                    path.display(),
                    f.line
                );
            }
            lines
                .write_all(b"\n")
                .with_context(|| write_err(names::FAULTED_EVENT_LINES))?;
        }
    }
    Ok(())
}
