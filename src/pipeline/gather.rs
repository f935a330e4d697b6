//! What `sdrate explain` looks up in a run's inputs: one record by offset
//! ([`record_at`]) or by identifier ([`records_with_id`]), or one
//! session's events, grouped exactly as `rate` groups them
//! ([`gather_session`]): SDR inputs go through the run engine's block
//! engine ([`super::blocks`]), event logs through the same reader, and the
//! events through the same assembler and open-time policy
//! ([`super::stage`]).

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::blocks::{self, Item, Job, Rated, Sink, Spare, with_decoded};
use super::events_of;
use super::stage::max_open_seconds;
use crate::error::Failure;
use crate::group::Event;
use crate::group::assemble::{Added, Assembler, Session};
use crate::rate::Rater;
use crate::read::events::{EventLog, Row};
use crate::read::{self, Framed, Reader};
use crate::sdr::ServiceDetailRecord;

/// What became of the session.
pub enum SessionFound {
    /// Complete: ready to price.
    Complete(Session),
    /// Open longer than its service allows: `rate` faults it
    /// (sessionIncomplete), for this reason.
    Expired(String),
    /// No end yet, or a gap in its sequence numbers: `rate` keeps it
    /// pending.
    Incomplete,
}

/// The session's events as `rate` would see them.
pub struct Gathered {
    /// Events of the session read (duplicates included).
    pub events: usize,
    pub duplicates: u64,
    /// Events and event-log rows of the session `rate` leaves out, in
    /// words.
    pub left_out: Vec<String>,
    pub found: SessionFound,
}

/// The session events of one SDR that belong to the session asked for.
struct SessionEvents<'a> {
    file: &'a str,
    id: &'a str,
}

impl Job for SessionEvents<'_> {
    type Done = Vec<Event>;
    fn work(&self, rec: &Framed<'_>, _: &mut Vec<u8>) -> Vec<Event> {
        with_decoded(rec.bytes, |decoded| match decoded {
            Ok(sdr) => {
                let mut events: Vec<Event> = events_of(sdr, self.file, rec);
                events.retain(|e| e.session_id == self.id);
                events
            }
            // Undecodable records carry no session id to match.
            Err(_) => Vec::new(),
        })
    }
}

struct Gatherer {
    assembler: Assembler,
    complete: Option<Session>,
    events: usize,
    duplicates: u64,
    left_out: Vec<String>,
}

impl Gatherer {
    fn add(&mut self, e: Event) -> Result<()> {
        self.events += 1;
        match self.assembler.add(e)? {
            Added::Held => {}
            Added::Duplicate(_) => self.duplicates += 1,
            Added::Conflict(e, why) => self.left_out.push(format!(
                "{} {}: event left out, as `rate` leaves it out: {why}",
                e.origin.file, e.origin.position
            )),
            Added::Late(e) => self.left_out.push(format!(
                "{} {}: event after the end of the session, counted late as `rate` counts it (late-events.csv), not priced",
                e.origin.file, e.origin.position
            )),
            Added::Complete(s) => self.complete = Some(s),
        }
        Ok(())
    }
}

impl Sink<Vec<Event>> for Gatherer {
    fn write(&mut self, rated: &mut Rated<Vec<Event>>) -> Result<()> {
        rated.each(|item| match item {
            Item::Record { done, .. } => done.into_iter().try_for_each(|e| self.add(e)),
            // Broken stretches carry no session id to match.
            Item::Broken { .. } => Ok(()),
        })
    }
}

/// Gathers the events of session `id` from `inputs` (files or
/// directories, SDRs and event logs) and groups them as `rate` does.
pub fn gather_session(
    rater: &Rater,
    inputs: &[PathBuf],
    id: &str,
    max_record: usize,
) -> Result<Gathered> {
    let mut g = Gatherer {
        assembler: Assembler::with_horizon(rater.lists.longest_session_seconds()),
        complete: None,
        events: 0,
        duplicates: 0,
        left_out: Vec::new(),
    };
    let mut spare = Spare::default();
    for path in read::expand_inputs(inputs)? {
        let file = path.display().to_string();
        if read::is_event_log(&path) {
            for row in EventLog::open(&path)? {
                match row? {
                    Row::Event(e) if e.session_id == id => g.add(e)?,
                    Row::Event(_) => {}
                    Row::Fault(f) if f.row.first().is_some_and(|s| s == id) => g.left_out.push(
                        format!("{f}: a row of session {id} that cannot be read is left out, as `rate` leaves it out"),
                    ),
                    Row::Fault(_) => {}
                }
            }
        } else {
            let mut reader = Reader::open(&path)?.max_record(max_record);
            let job = SessionEvents { file: &file, id };
            blocks::drive(&mut reader, &job, &mut g, &mut spare)?;
        }
    }
    let found = match g.complete.take() {
        Some(s) => SessionFound::Complete(s),
        None => {
            let lists = &rater.lists;
            let finished = g.assembler.finish(|s| max_open_seconds(lists, s));
            match (
                finished.complete.into_iter().next(),
                finished.expired.into_iter().next(),
            ) {
                (Some(s), _) => SessionFound::Complete(s),
                (None, Some((_, why))) => SessionFound::Expired(why),
                (None, None) => SessionFound::Incomplete,
            }
        }
    };
    Ok(Gathered {
        events: g.events,
        duplicates: g.duplicates,
        left_out: g.left_out,
        found,
    })
}

/// A record found in an input.
pub struct Found {
    pub file: String,
    pub offset: u64,
    pub bytes: Vec<u8>,
}

/// The record that starts at `offset`; refused when none does.
pub fn record_at(path: &Path, offset: u64) -> Result<Found> {
    let file = path.display().to_string();
    let mut reader = Reader::open(path)?;
    let mut before: Option<u64> = None;
    while let Some(block) = reader.next_chunk()? {
        for item in block.records() {
            match item {
                Ok(rec) if rec.offset == offset => {
                    return Ok(Found {
                        file,
                        offset,
                        bytes: rec.bytes.to_vec(),
                    });
                }
                Ok(rec) if rec.offset > offset => {
                    return Err(Failure::Refused(format!(
                        "{file}: no record starts at offset {offset}; the nearest start at {} and {}",
                        before.map_or("-".into(), |b| b.to_string()),
                        rec.offset
                    ))
                    .into());
                }
                Ok(rec) => before = Some(rec.offset),
                Err(broken) if broken.offset <= offset => {
                    return Err(Failure::Refused(format!(
                        "{file}: the record framing breaks at offset {} ({}): no record can be found at offset {offset}",
                        broken.offset, broken.error
                    ))
                    .into());
                }
                Err(_) => break,
            }
        }
    }
    Err(Failure::Refused(format!(
        "{file}: no record starts at offset {offset}; the last record starts at {}",
        before.map_or("- (the file holds no record)".into(), |b| b.to_string())
    ))
    .into())
}

/// A record found by identifier, decoded.
pub type Match = (Found, ServiceDetailRecord);

/// What a worker made of one record when looking for an identifier.
enum Seen {
    Match(Box<ServiceDetailRecord>),
    Other,
    Undecodable,
}

/// SDRs with one identifier (and producer, when given).
struct WithId<'a> {
    id: u32,
    producer: Option<&'a str>,
}

impl Job for WithId<'_> {
    type Done = Seen;
    fn work(&self, rec: &Framed<'_>, _: &mut Vec<u8>) -> Seen {
        with_decoded(rec.bytes, |decoded| match decoded {
            Ok(sdr) => {
                let h = &sdr.service_header;
                if h.sdr_identifier == self.id
                    && self.producer.is_none_or(|p| p == h.producer_identity)
                {
                    Seen::Match(Box::new(sdr.clone()))
                } else {
                    Seen::Other
                }
            }
            Err(_) => Seen::Undecodable,
        })
    }
}

/// Collects the matches of [`WithId`] in input order.
struct Matches<'a> {
    file: &'a str,
    found: Vec<Match>,
    read: u64,
    undecodable: u64,
}

impl Sink<Seen> for Matches<'_> {
    fn write(&mut self, rated: &mut Rated<Seen>) -> Result<()> {
        rated.each(|item| {
            if let Item::Record { rec, done, .. } = item {
                self.read += 1;
                match done {
                    Seen::Match(sdr) => self.found.push((
                        Found {
                            file: self.file.to_owned(),
                            offset: rec.offset,
                            bytes: rec.bytes.to_vec(),
                        },
                        *sdr,
                    )),
                    Seen::Other => {}
                    Seen::Undecodable => self.undecodable += 1,
                }
            }
            Ok(())
        })
    }
}

/// Every decodable SDR with identifier `id` (and producer, when given),
/// in input order; also how many records were read and how many could not
/// be decoded.
pub fn records_with_id(
    inputs: &[PathBuf],
    id: u32,
    producer: Option<&str>,
) -> Result<(Vec<Match>, u64, u64)> {
    let (mut found, mut read_count, mut undecodable) = (Vec::new(), 0, 0);
    let mut spare = Spare::default();
    let job = WithId { id, producer };
    for path in read::expand_inputs(inputs)? {
        if read::is_event_log(&path) {
            continue;
        }
        let file = path.display().to_string();
        let mut sink = Matches {
            file: &file,
            found: std::mem::take(&mut found),
            read: 0,
            undecodable: 0,
        };
        blocks::drive(&mut Reader::open(&path)?, &job, &mut sink, &mut spare)?;
        found = sink.found;
        read_count += sink.read;
        undecodable += sink.undecodable;
    }
    Ok((found, read_count, undecodable))
}
