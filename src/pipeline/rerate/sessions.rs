//! Multi-party sessions in a rerate: the session events read (an earlier
//! run's archive, `session-events.sdr` and `session-events.csv`, or event
//! logs and session-event SDR files named directly) are grouped into
//! sessions by `rate`'s own assembler ([`Assembler`]) and priced by `rate`'s
//! own session pricing ([`price_and_encode`]); each new participation is
//! compared with the participation SDR read for the same session and
//! participant (its old price), if any.
//!
//! A participation row can be written only once both sides are known, and
//! the old participations may be read before or after the events: so the
//! sessions are priced, and their rows written, after every input is read,
//! in the order the sessions completed (then, for those complete only at
//! the end of the input, by session id), which depends on the inputs alone.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Serialize;

use super::{Outputs, Summary};
use crate::fault::FaultCause;
use crate::group::assemble::{Added, Assembler, Session};
use crate::group::{Event, Position};
use crate::pipeline::stage::{
    SESSION_BATCH, SessionRows, archive_event_row, keep_faulted_event, max_open_seconds,
    price_and_encode, report_bad_row,
};
use crate::price::session::PricedSession;
use crate::rate::Rater;
use crate::read;
use crate::read::events::{EventLog, Row as LogRow};
use crate::reprice::{Facts, Old, facts_of, old_pricing};
use crate::sdr::Text;
use crate::write::differences::{Row, Totals};
use crate::write::names;

/// What became of the session events and participations of a rerate.
///
/// Every session event read ends in exactly one place: `events_read =
/// duplicate_events + late_events + events_priced + events_faulted +
/// events_incomplete`. Every participation priced again is `changed` or
/// `unchanged`, and every participation SDR read (an old price) is matched
/// by one priced again, or belongs to a session that faulted, or is not
/// priced again (`old_matched + old_faulted + old_not_repriced`).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Rows of event logs read, good and bad.
    pub event_log_rows: u64,
    /// Event-log rows that are not events (in faults.csv, by line).
    pub event_rows_faulted: u64,
    /// Session events read, from session-event SDRs and event-log rows.
    pub events_read: u64,
    pub duplicate_events: u64,
    /// Events after the end of their session, priced earlier in the
    /// rerate (as in `rate`: they do not price it again).
    pub late_events: u64,
    pub events_priced: u64,
    /// Events of sessions that no longer price, and sequence conflicts.
    pub events_faulted: u64,
    /// Events of sessions incomplete in the inputs.
    pub events_incomplete: u64,
    pub sessions_priced: u64,
    pub sessions_faulted: u64,
    /// Sessions incomplete in the inputs: not priced, listed with their
    /// events in pending-sessions.jsonl.
    pub sessions_incomplete: u64,
    /// Participations priced again (participations.sdr).
    pub participations: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// Of the changed: participations without a usable old price.
    pub newly_priced: u64,
    /// Participation SDRs read that a participation priced again matched.
    pub old_matched: u64,
    /// Participation SDRs read whose session no longer prices.
    pub old_faulted: u64,
    /// Participation SDRs read that nothing priced again matched: their
    /// session is incomplete or absent in the inputs, the participant no
    /// longer takes part, or the same participation was read before.
    pub old_not_repriced: u64,
}

impl Counts {
    /// The identities above, given the participation SDRs read.
    pub fn holds(&self, participation_sdrs: u64) -> bool {
        self.events_read
            == self.duplicate_events
                + self.late_events
                + self.events_priced
                + self.events_faulted
                + self.events_incomplete
            && self.participations == self.changed + self.unchanged
            && self.changed >= self.newly_priced
            && participation_sdrs == self.old_matched + self.old_faulted + self.old_not_repriced
    }

    /// Faults of the session side, for the exit code.
    pub fn faults(&self) -> u64 {
        self.events_faulted + self.event_rows_faulted
    }
}

/// A participation SDR read: the old price of its session and participant.
struct OldPart {
    file: String,
    offset: u64,
    facts: Facts,
    old: Old,
    /// Place in the order read, for listing the unmatched ones.
    order: u64,
}

/// Session id and participant id.
pub(super) type PartKey = (Text, Text);

/// The session stage of a rerate.
pub(super) struct Stage {
    assembler: Assembler,
    /// Sessions complete, in the order they completed: priced at the end.
    complete: Vec<Session>,
    old: BTreeMap<PartKey, OldPart>,
    read: u64,
}

/// What the difference report says of a session known only from its
/// events: its first event's service, billed party and company.
fn event_facts(e: &Event) -> Facts {
    Facts {
        sdr_identifier: None,
        producer: String::new(),
        customer: e.billed_party.to_string(),
        marketing_company: e.marketing_company.as_deref().unwrap_or("").to_owned(),
        service: e.service.to_string(),
    }
}

fn write_err(what: &str) -> String {
    format!("cannot write {what}")
}

impl Stage {
    pub(super) fn new(rater: &Rater) -> Self {
        Stage {
            // Remembers priced sessions as long as `rate` does, so late
            // copies and duplicates are told apart the same way.
            assembler: Assembler::with_horizon(rater.lists.longest_session_seconds()),
            complete: Vec::new(),
            old: BTreeMap::new(),
            read: 0,
        }
    }

    /// Routes one event to its session, as `rate` does.
    pub(super) fn add(&mut self, e: Event, out: &mut Outputs, summary: &mut Summary) -> Result<()> {
        summary.sessions.events_read += 1;
        let added = self
            .assembler
            .add(e)
            .context("cannot remember the sessions priced so far")?;
        match added {
            Added::Held => {}
            Added::Duplicate(_) => summary.sessions.duplicate_events += 1,
            Added::Late(_) => summary.sessions.late_events += 1,
            Added::Conflict(e, why) => {
                summary.sessions.events_faulted += 1;
                fault_event(&e, FaultCause::SequenceConflict, &why, out, summary)?;
                let facts = event_facts(&e);
                Row {
                    file: &e.origin.file,
                    offset: e.origin.position,
                    facts: Some(&facts),
                    old: None,
                    new: None,
                    outcome: "faulted",
                    status: &FaultCause::SequenceConflict.name(),
                    cause: &why,
                }
                .write(&mut out.differences)?;
            }
            Added::Complete(s) => self.complete.push(s),
        }
        Ok(())
    }

    /// A participation SDR read: the old price of its session and
    /// participant. A second one for the same pair is reported and not
    /// used: the first read is the old price.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn old_participation(
        &mut self,
        key: PartKey,
        file: &str,
        offset: u64,
        facts: Facts,
        old: Old,
        out: &mut Outputs,
        summary: &mut Summary,
    ) -> Result<()> {
        if let Some(first) = self.old.get(&key) {
            summary.sessions.old_not_repriced += 1;
            let cause = format!(
                "participant {} of session {} was read before ({} offset {}): that one is the old price",
                key.1, key.0, first.file, first.offset
            );
            return Row {
                file,
                offset: Position::Offset(offset),
                facts: Some(&facts),
                old: None,
                new: None,
                outcome: "skipped",
                status: "notRepriced",
                cause: &cause,
            }
            .write(&mut out.differences);
        }
        self.read += 1;
        self.old.insert(
            key,
            OldPart {
                file: file.to_owned(),
                offset,
                facts,
                old,
                order: self.read,
            },
        );
        Ok(())
    }

    /// End of the inputs: what completes now is priced with the rest, in
    /// parallel batches written in order; what is still open is reported
    /// incomplete; old participations nothing matched are listed last.
    pub(super) fn finish(
        self,
        rater: &Rater,
        out: &mut Outputs,
        summary: &mut Summary,
        totals: &mut Totals,
    ) -> Result<()> {
        let Stage {
            assembler,
            mut complete,
            mut old,
            ..
        } = self;
        let finished = assembler.finish(|s| max_open_seconds(&rater.lists, s));
        complete.extend(finished.complete);
        for batch in complete.chunks(SESSION_BATCH) {
            let results: Vec<_> = batch
                .par_iter()
                .map(|s| price_and_encode(rater, s))
                .collect();
            for (s, r) in batch.iter().zip(results) {
                match r {
                    Ok((priced, encoded, rows)) => {
                        write_priced(s, &priced, &encoded, &rows, &mut old, out, summary, totals)?
                    }
                    Err(f) => write_faulted(
                        s,
                        f.status.into(),
                        &f.detail,
                        &mut old,
                        out,
                        summary,
                        totals,
                    )?,
                }
            }
        }
        // Too old or still open: `rate` faulted the one and kept the other
        // pending; either way the inputs do not hold the whole session, so
        // it is not priced again, only reported.
        let mut incomplete: Vec<(Session, String)> = finished.expired;
        incomplete.extend(finished.pending.into_iter().map(|s| {
            (
                s,
                "still open at the end of the inputs (no end, or a gap in its sequence numbers)"
                    .to_owned(),
            )
        }));
        incomplete.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        if !incomplete.is_empty() {
            write_pending(out, &incomplete)?;
        }
        for (s, why) in &incomplete {
            summary.sessions.sessions_incomplete += 1;
            summary.sessions.events_incomplete += s.events.len() as u64;
            let cause = format!(
                "session {} is incomplete in the inputs: {why}; not priced again (its events are in {})",
                s.id,
                names::PENDING_REPORT
            );
            let parts = take_session(&mut old, &s.id);
            if parts.is_empty() {
                session_row(s, "skipped", "sessionIncomplete", &cause, out)?;
            }
            for o in &parts {
                summary.sessions.old_not_repriced += 1;
                old_row(o, "skipped", "sessionIncomplete", &cause, out)?;
            }
        }
        let mut rest: Vec<(PartKey, OldPart)> = old.into_iter().collect();
        rest.sort_by_key(|(_, o)| o.order);
        for ((session, _), o) in &rest {
            summary.sessions.old_not_repriced += 1;
            let cause = format!("no events of session {session} in the inputs: not priced again");
            old_row(o, "skipped", "notRepriced", &cause, out)?;
        }
        Ok(())
    }
}

/// The old participations of one session, removed from `old`, in
/// participant order.
fn take_session(old: &mut BTreeMap<PartKey, OldPart>, session: &Text) -> Vec<OldPart> {
    let keys: Vec<PartKey> = old
        .range((session.clone(), Text::default())..)
        .take_while(|(k, _)| &k.0 == session)
        .map(|(k, _)| k.clone())
        .collect();
    keys.iter().filter_map(|k| old.remove(k)).collect()
}

/// A row for an old participation that has no new price: a fault shows
/// the old price (its difference is minus the old price, as for an SDR
/// that faults); a skipped one adds nothing, as a skipped SDR.
fn old_row(o: &OldPart, outcome: &str, status: &str, cause: &str, out: &mut Outputs) -> Result<()> {
    Row {
        file: &o.file,
        offset: Position::Offset(o.offset),
        facts: Some(&o.facts),
        old: if outcome == "faulted" {
            o.old.side()
        } else {
            None
        },
        new: None,
        outcome,
        status,
        cause,
    }
    .write(&mut out.differences)
}

/// A row for a session without participations to show: where its first
/// event was read.
fn session_row(
    s: &Session,
    outcome: &str,
    status: &str,
    cause: &str,
    out: &mut Outputs,
) -> Result<()> {
    let first = &s.events[0];
    let facts = event_facts(first);
    Row {
        file: &first.origin.file,
        offset: first.origin.position,
        facts: Some(&facts),
        old: None,
        new: None,
        outcome,
        status,
        cause,
    }
    .write(&mut out.differences)
}

/// One priced session: its participation SDRs and report rows written,
/// and one difference row per participation against its old price.
#[allow(clippy::too_many_arguments)]
fn write_priced(
    s: &Session,
    priced: &PricedSession,
    encoded: &[Vec<u8>],
    rows: &SessionRows,
    old: &mut BTreeMap<PartKey, OldPart>,
    out: &mut Outputs,
    summary: &mut Summary,
    totals: &mut Totals,
) -> Result<()> {
    let c = &mut summary.sessions;
    c.sessions_priced += 1;
    c.events_priced += s.events.len() as u64;
    let first = &s.events[0];
    for (p, bytes) in priced.participations.iter().zip(encoded) {
        out.participations
            .write_all(bytes)
            .with_context(|| write_err(names::PARTICIPATIONS))?;
        // The new price is read off the new SDR as the old one is off the
        // old SDR, so both sides are compared alike.
        let sdr = read::decode(bytes).map_err(|e| {
            anyhow::anyhow!(
                "participation SDR of {} does not decode: {e}",
                priced.facts.session_id
            )
        })?;
        let facts = facts_of(&sdr);
        let Old::Priced(new) = old_pricing(&sdr) else {
            anyhow::bail!(
                "participation {} of session {} has no usable price",
                p.part.participant_id,
                priced.facts.session_id
            );
        };
        let key = (
            priced.facts.session_id.clone(),
            p.part.participant_id.clone(),
        );
        let matched = old.remove(&key);
        let (file, offset) = match &matched {
            Some(o) => (o.file.as_str(), Position::Offset(o.offset)),
            None => (first.origin.file.as_str(), first.origin.position),
        };
        let before = matched.as_ref().map_or(Old::None, |o| o.old.clone());
        let (changed, cause) = before.compare(&new);
        let c = &mut summary.sessions;
        if matched.is_some() {
            c.old_matched += 1;
        }
        c.participations += 1;
        if changed {
            c.changed += 1;
            if before.side().is_none() {
                c.newly_priced += 1;
            }
        } else {
            c.unchanged += 1;
        }
        totals.add(&facts, before.side(), Some(&new))?;
        Row {
            file,
            offset,
            facts: Some(&facts),
            old: before.side(),
            new: Some(&new),
            outcome: if changed { "changed" } else { "unchanged" },
            status: "priced",
            cause: &cause,
        }
        .write(&mut out.differences)?;
    }
    out.participation_report
        .write_all(&rows.participations)
        .with_context(|| write_err(names::PARTICIPATION_REPORT))?;
    out.cost_report
        .write_all(&rows.costs)
        .with_context(|| write_err(names::COSTS))?;
    // Old participations of this session that pricing it again did not
    // give: the participant no longer takes part (a changed event filter).
    for o in take_session(old, &priced.facts.session_id) {
        summary.sessions.old_not_repriced += 1;
        let cause = format!(
            "not a participant of session {} as priced again",
            priced.facts.session_id
        );
        old_row(&o, "skipped", "notRepriced", &cause, out)?;
    }
    Ok(())
}

/// A session that no longer prices: its events kept as `rate` keeps them,
/// its old participations reported faulted (new price empty, difference
/// minus the old price), or the session itself when it had none.
#[allow(clippy::too_many_arguments)]
fn write_faulted(
    s: &Session,
    cause: FaultCause,
    detail: &str,
    old: &mut BTreeMap<PartKey, OldPart>,
    out: &mut Outputs,
    summary: &mut Summary,
    totals: &mut Totals,
) -> Result<()> {
    summary.sessions.sessions_faulted += 1;
    summary.sessions.events_faulted += s.events.len() as u64;
    for e in &s.events {
        fault_event(e, cause, detail, out, summary)?;
    }
    let status = cause.name();
    let parts = take_session(old, &s.id);
    if parts.is_empty() {
        return session_row(s, "faulted", &status, detail, out);
    }
    for o in &parts {
        summary.sessions.old_faulted += 1;
        totals.add(&o.facts, o.old.side(), None)?;
        old_row(o, "faulted", &status, detail, out)?;
    }
    Ok(())
}

/// Keeps a session event that cannot be priced, as `rate` does.
fn fault_event(
    e: &Event,
    cause: FaultCause,
    detail: &str,
    out: &mut Outputs,
    summary: &mut Summary,
) -> Result<()> {
    *summary.faults_by_cause.entry(cause).or_default() += 1;
    keep_faulted_event(
        e,
        cause,
        detail,
        &mut out.faults,
        &mut out.fault_report,
        &mut out.faulted_event_rows,
    )
}

/// The sessions incomplete in the inputs, one JSON object a line, as
/// `rate` lists its pending sessions.
fn write_pending(out: &Outputs, incomplete: &[(Session, String)]) -> Result<()> {
    let path = out.dir.join(names::PENDING_REPORT);
    let mut w = super::create(&path)?;
    for (s, _) in incomplete {
        serde_json::to_writer(&mut w, s).with_context(|| write_err(names::PENDING_REPORT))?;
        w.write_all(b"\n")
            .with_context(|| write_err(names::PENDING_REPORT))?;
    }
    w.flush().with_context(|| write_err(names::PENDING_REPORT))
}

/// Reads one event log: good rows are archived and routed to their
/// sessions; a bad row is named by file and line in faults.csv and
/// differences.csv (the log itself is the copy to fix: a rerate keeps no
/// state and no suspense).
pub(super) fn read_event_log(
    path: &std::path::Path,
    stage: &mut Stage,
    out: &mut Outputs,
    summary: &mut Summary,
) -> Result<()> {
    for row in EventLog::open(path)? {
        summary.sessions.event_log_rows += 1;
        match row? {
            LogRow::Event(e) => {
                archive_event_row(&mut out.event_rows, &e)?;
                stage.add(e, out, summary)?;
            }
            LogRow::Fault(f) => {
                let cause = FaultCause::BadEventRow;
                summary.sessions.event_rows_faulted += 1;
                *summary.faults_by_cause.entry(cause).or_default() += 1;
                report_bad_row(&mut out.fault_report, &f)?;
                Row {
                    file: &f.file,
                    offset: Position::Line(f.line),
                    facts: None,
                    old: None,
                    new: None,
                    outcome: "faulted",
                    status: &cause.name(),
                    cause: &f.cause,
                }
                .write(&mut out.differences)?;
            }
        }
    }
    Ok(())
}
