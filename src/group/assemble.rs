//! The event router: events in, complete sessions out.
//!
//! A session with sequence numbers on every event is complete as soon as
//! it has its end event and the numbers run unbroken from 1; it is priced
//! at once, so memory holds only open sessions, and an 8-byte fingerprint
//! of each event of the sessions recently priced, so that a copy arriving
//! later in the run is dropped as a duplicate ([`Completed`]). Without sequence numbers
//! nothing can tell whether an event is still missing, so such a session
//! waits for the end of the input. A session that is not complete at the
//! end of the input stays pending (state directory) unless it has been
//! open longer than its policy allows; then it is closed as a fault.

use std::collections::VecDeque;
use std::io;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::Event;
use super::recall::{Batch, Spilled};
use crate::sdr::{SessionEventType, Text};

/// How long a session may stay open when its price list does not say
/// (`max_open_hours`): the grouping stage needs it before any list does.
pub const DEFAULT_MAX_OPEN_HOURS: u64 = 24;

/// The events of one session, ordered and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: Text,
    pub events: Vec<Event>,
}

/// What became of one added event.
#[derive(Debug)]
pub enum Added {
    /// Held with its session, which is not complete yet.
    Held,
    /// The same event was already there; it is dropped and counted.
    Duplicate(Box<Event>),
    /// Another event already holds this sequence number: a fault.
    Conflict(Box<Event>, String),
    /// An event of a session priced earlier in this run, dated at or after
    /// its last event and not one that opens a session (numbered past 1,
    /// or not a start): it came after the session's end (a logoff after
    /// the end). It belongs to the priced session, which is not priced
    /// again; it is counted and archived, not held as a new session that
    /// could only fault for a gap in its sequence numbers.
    Late(Box<Event>),
    /// This event completed its session.
    Complete(Session),
}

/// The sessions left at the end of the input.
#[derive(Debug, Default)]
pub struct Finished {
    /// Complete by the rules that need the whole input.
    pub complete: Vec<Session>,
    /// Open longer than allowed: faults, with the reason.
    pub expired: Vec<(Session, String)>,
    /// Still open: carried to the next run.
    pub pending: Vec<Session>,
}

/// Order of event types at the same instant: who arrives before who
/// leaves, so the order never depends on arrival.
fn type_rank(t: SessionEventType) -> u8 {
    use SessionEventType as T;
    match t {
        T::Start => 0,
        T::Logon => 1,
        T::Join => 2,
        T::Resume => 3,
        T::Invite | T::Advertise | T::Decline | T::WithdrawAdvertisement => 4,
        T::ProviderDefined | T::Unknown(_) => 5,
        T::Suspend => 6,
        T::Leave => 7,
        T::Logoff => 8,
        T::End => 9,
    }
}

/// The order events are priced in: by sequence number when every event
/// has one, else by time (then type and participant).
pub fn sort_events(events: &mut [Event]) {
    if events.iter().all(|e| e.sequence.is_some()) {
        events.sort_by_key(|e| e.sequence);
    } else {
        events.sort_by(|a, b| {
            (
                a.timestamp.0.timestamp(),
                a.timestamp.0.timestamp_subsec_nanos(),
            )
                .cmp(&(
                    b.timestamp.0.timestamp(),
                    b.timestamp.0.timestamp_subsec_nanos(),
                ))
                .then(type_rank(a.event_type).cmp(&type_rank(b.event_type)))
                .then(a.participant_id.cmp(&b.participant_id))
                .then(a.sequence.cmp(&b.sequence))
                .then_with(|| a.to_row().cmp(&b.to_row()))
        });
    }
}

/// A 64-bit digest of what `same_event` compares, so that the events of
/// sessions already handed on can be recognised at 8 bytes an event.
fn fingerprint(e: &Event) -> u64 {
    use std::hash::{Hash, Hasher};
    // XXH3 with its fixed default secret: the same on every run and
    // platform, and several times cheaper than SipHash on these short
    // fields (every event is fingerprinted).
    // The fields are gathered into one buffer and hashed in one call: the
    // streaming hasher's state costs more to set up than these few bytes
    // cost to hash.
    struct Gather(Vec<u8>);
    impl Hasher for Gather {
        fn write(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
        fn finish(&self) -> u64 {
            xxhash_rust::xxh3::xxh3_64(&self.0)
        }
    }
    thread_local! {
        static BUF: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    let mut buf = BUF.take();
    buf.clear();
    let mut h = Gather(buf);
    e.session_id.hash(&mut h);
    e.service.hash(&mut h);
    e.category.hash(&mut h);
    e.event_type.hash(&mut h);
    e.provider_event.hash(&mut h);
    e.timestamp.hash(&mut h);
    e.participant_id.hash(&mut h);
    e.user_name.hash(&mut h);
    e.billed_party.hash(&mut h);
    e.role.hash(&mut h);
    e.sequence.hash(&mut h);
    e.parameters.hash(&mut h);
    let print = h.finish();
    BUF.set(h.0);
    print
}

/// Two events are the same event when everything but where they came from
/// agrees.
fn same_event(a: &Event, b: &Event) -> bool {
    a.session_id == b.session_id
        && a.service == b.service
        && a.category == b.category
        && a.event_type == b.event_type
        && a.provider_event == b.provider_event
        && a.timestamp == b.timestamp
        && a.participant_id == b.participant_id
        && a.user_name == b.user_name
        && a.billed_party == b.billed_party
        && a.role == b.role
        && a.sequence == b.sequence
        && a.parameters == b.parameters
}

#[derive(Debug, Default)]
struct Open {
    events: Vec<Event>,
    /// Each event's [`fingerprint`], in the order they came (`events` is
    /// sorted only once the session is complete): a copy is looked for
    /// among the events with its print, not compared with every one
    /// (field by field, that was ~40 % of adding an event).
    prints: Vec<u64>,
    /// Sequence numbers seen, when every event so far has one.
    all_sequenced: bool,
    max_sequence: u32,
    ended: bool,
    /// A session with this id priced earlier in the run, still
    /// remembered when this one opened: its last event time and
    /// fingerprints, so its late copies are still dropped.
    earlier: Option<Box<(i64, Vec<u64>)>>,
}

impl Open {
    fn gap(&self) -> bool {
        self.all_sequenced && self.max_sequence as usize != self.events.len()
    }

    /// Complete by the eager rule: ended, numbered, no gap.
    fn complete_now(&self) -> bool {
        self.ended && self.all_sequenced && !self.gap()
    }

    /// Complete by the end-of-input rule: no gap, and ended or everybody
    /// who took part has left.
    fn complete_at_end(&mut self) -> bool {
        if self.gap() {
            return false;
        }
        if self.ended {
            return true;
        }
        sort_events(&mut self.events);
        let mut present: Vec<&str> = Vec::new();
        let mut anyone = false;
        for e in &self.events {
            match e.event_type {
                SessionEventType::Start | SessionEventType::Join | SessionEventType::Resume => {
                    anyone = true;
                    if !present.contains(&e.participant_id.as_str()) {
                        present.push(&e.participant_id);
                    }
                }
                SessionEventType::Leave => present.retain(|p| *p != e.participant_id),
                _ => {}
            }
        }
        anyone && present.is_empty()
    }

    fn first_time(&self) -> i64 {
        self.events
            .iter()
            .map(|e| e.timestamp.0.timestamp())
            .min()
            .unwrap_or(0)
    }
}

/// Whether `e`, of a session priced in this run whose last event was at
/// `end` (UTC seconds), came after that session's end rather than opening
/// a new session of the same id: a new one starts at sequence number 1
/// (or, unnumbered, with its start event).
fn is_late(e: &Event, end: i64) -> bool {
    let opens = match e.sequence {
        Some(s) => s <= 1,
        None => e.event_type == SessionEventType::Start,
    };
    !opens && e.timestamp.0.timestamp() >= end
}

/// The key of a session id in [`Completed`].
pub(super) fn session_key(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// Sessions completed at once (numbered) during this run, by the
/// fingerprints of their events: a copy of one of those events that
/// arrives later is a duplicate, not the first event of a new session
/// (which would price a session delivered twice twice).
///
/// Compact, because it grows with every session priced: a session is a
/// 64-bit key of its id pointing into one queue of 8-byte fingerprints,
/// oldest session first ([`Prints`]). Two ids with the same
/// key only share a lookup: an event is a copy only if its own
/// fingerprint, which covers its session id, is among the prints found.
///
/// A session is forgotten once the newest event time seen is more than
/// `horizon` seconds past its last event. Past `in_memory` sessions all
/// but the newest eighth move to disk ([`Spilled`], [`KEPT_AFTER_MOVE`]),
/// so memory stays flat however many sessions the horizon holds. The
/// horizon is the longest time any session may stay open
/// ([`crate::resolve::PriceLists::longest_session_seconds`]): a copy
/// later than that opens a session that is already too old, which the end
/// of the run faults unless all of it came again; against that, a state
/// directory's duplicate index recognises the participations it would bill.
#[derive(Debug)]
struct Completed {
    /// Session key -> position of its first fingerprint in `prints`, how
    /// many there are, and the session's last event time.
    index: FxHashMap<u64, (u64, u32, i64)>,
    prints: Prints,
    /// The sessions in `prints`, in order: last event time, key, prints.
    order: VecDeque<(i64, u64, u32)>,
    horizon: i64,
    /// Sessions kept in memory before the oldest move to disk.
    in_memory: usize,
    /// The sessions moved to disk, once there are any.
    spilled: Option<Spilled>,
}

impl Completed {
    fn new(horizon: i64, in_memory: usize) -> Self {
        Self {
            index: FxHashMap::default(),
            prints: Prints::default(),
            order: VecDeque::new(),
            horizon,
            in_memory: in_memory.max(1),
            spilled: None,
        }
    }

    /// The last event time and fingerprints kept for a session key, if
    /// any; `newest` is the newest event time seen.
    fn prints_of(&self, key: u64, newest: i64) -> io::Result<Option<(i64, Vec<u64>)>> {
        if let Some(&(start, n, end)) = self.index.get(&key) {
            // Past the horizon a session is forgotten, whether or not it
            // has left memory yet (the queue drops sessions in completion
            // order, so one can linger behind a later one): what is
            // remembered then depends only on the session and the clock,
            // not on which sessions share the queue (see `super::shards`).
            // An older entry on disk ended no later: forgotten too.
            if end < newest.saturating_sub(self.horizon) {
                return Ok(None);
            }
            return Ok(Some((end, self.prints.range(start, n))));
        }
        match &self.spilled {
            Some(disk) => disk.get(key, newest.saturating_sub(self.horizon)),
            None => Ok(None),
        }
    }

    /// Remembers a completed session (`end`: its last event time; `prints`
    /// include those of an earlier session with the same key), then forgets
    /// the sessions that ended more than the horizon before `newest`, and
    /// moves the oldest to disk when too many are in memory.
    fn add(
        &mut self,
        key: u64,
        end: i64,
        prints: impl Iterator<Item = u64>,
        newest: i64,
    ) -> io::Result<()> {
        let start = self.prints.end();
        for p in prints {
            self.prints.push(p);
        }
        let n = u32::try_from(self.prints.end() - start).unwrap_or(u32::MAX);
        // A key already here is replaced; its old range is dead.
        self.index.insert(key, (start, n, end));
        self.order.push_back((end, key, n));
        let cutoff = newest.saturating_sub(self.horizon);
        // In completion order: a session that ended late holds the ones
        // behind it a little longer, never the other way round.
        while let Some(&(end, key, n)) = self.order.front() {
            if end >= cutoff {
                break;
            }
            self.pop_front(key, n);
        }
        if self.order.len() > self.in_memory {
            let mut moved = Batch::default();
            while self.order.len() > self.in_memory / KEPT_AFTER_MOVE {
                let (end, key, n) = self.order[0];
                if self.live(key) {
                    moved.push(key, end, self.prints.iter(self.prints.start, n));
                }
                self.pop_front(key, n);
            }
            let disk = match &mut self.spilled {
                Some(disk) => disk,
                None => self.spilled.insert(Spilled::new()?),
            };
            disk.put(moved, cutoff)?;
        }
        Ok(())
    }

    /// Whether the oldest session in `order`, with this key, is the one
    /// the index points to (not an earlier one replaced since).
    fn live(&self, key: u64) -> bool {
        self.index
            .get(&key)
            .is_some_and(|&(s, _, _)| s == self.prints.start)
    }

    /// Forgets the oldest session in `order`.
    fn pop_front(&mut self, key: u64, n: u32) {
        self.order.pop_front();
        if self.live(key) {
            self.index.remove(&key);
        }
        self.prints.forget(n);
    }

    /// Sessions remembered, in memory and on disk.
    fn len(&self) -> usize {
        self.order.len() + self.spilled.as_ref().map_or(0, Spilled::len)
    }
}

/// Priced sessions kept in memory before the oldest move to disk
/// (about 2.5 MiB of them). Measured on the mix: 1 << 16 held 23 MiB more
/// at its peak (index and queue capacities double), so it is kept small;
/// moving costs about 12,000 instructions a session moved on 1 M session
/// events (a few microseconds; see [`KEPT_AFTER_MOVE`]).
pub const IN_MEMORY_SESSIONS: usize = 1 << 14;

/// After a move to disk, the newest `1 / KEPT_AFTER_MOVE` of the sessions
/// in memory stay. A move's cost grows with the file, not with what it
/// moves: the keys are hashes, spread over every leaf of the B-tree, so
/// while the file has fewer leaves than a move has sessions, each move
/// rewrites all of them. Fewer, larger moves cost less: moving all but an
/// eighth instead of half took `Spilled::put` from 1,360 M to 1,073 M
/// instructions on 1 M generated session events (90,000 sessions moved,
/// one thread; BENCHMARKS.md). The sessions kept are the ones whose late
/// copies are likeliest; the older ones are still found on disk.
const KEPT_AFTER_MOVE: usize = 8;

/// Fingerprints per chunk of [`Prints`] (64 KiB).
const CHUNK: usize = 8192;

/// A queue of fingerprints in fixed-size chunks: it grows without copying
/// what it holds (a doubling vector would, and leave the old copies to the
/// allocator) and is forgotten from the front a chunk at a time.
///
/// Positions count every fingerprint pushed since the queue was made, so a
/// position stays valid while the front is forgotten.
#[derive(Debug, Default)]
struct Prints {
    chunks: VecDeque<Vec<u64>>,
    /// Position of the first entry of `chunks[0]`.
    base: u64,
    /// Position of the oldest fingerprint not forgotten.
    start: u64,
}

impl Prints {
    fn push(&mut self, p: u64) {
        match self.chunks.back_mut() {
            Some(last) if last.len() < CHUNK => last.push(p),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(p);
                self.chunks.push_back(chunk);
            }
        }
    }

    /// The fingerprint at position `at` (not yet forgotten).
    fn get(&self, at: u64) -> u64 {
        let i = (at - self.base) as usize;
        self.chunks[i / CHUNK][i % CHUNK]
    }

    /// The `n` fingerprints from position `at`.
    fn range(&self, at: u64, n: u32) -> Vec<u64> {
        self.iter(at, n).collect()
    }

    fn iter(&self, at: u64, n: u32) -> impl Iterator<Item = u64> + '_ {
        (at..at + u64::from(n)).map(|at| self.get(at))
    }

    /// The position the next fingerprint pushed gets.
    fn end(&self) -> u64 {
        let held = match self.chunks.back() {
            Some(last) => (self.chunks.len() - 1) * CHUNK + last.len(),
            None => 0,
        };
        self.base + held as u64
    }

    /// Forgets the `n` oldest fingerprints.
    fn forget(&mut self, n: u32) {
        self.start += u64::from(n);
        // Only the last chunk is ever partly filled, so a chunk forgotten
        // to its end is a full one.
        while self.start - self.base >= CHUNK as u64 {
            self.chunks.pop_front();
            self.base += CHUNK as u64;
        }
    }
}

/// Sessions being assembled.
#[derive(Debug)]
pub struct Assembler {
    open: FxHashMap<Text, Open>,
    done: Completed,
    /// Newest event time seen (UTC seconds): the clock that ages sessions,
    /// so a run's result never depends on when it ran.
    newest: Option<i64>,
}

impl Default for Assembler {
    fn default() -> Self {
        Self::new()
    }
}

impl Assembler {
    /// An assembler that remembers priced sessions for the default longest
    /// time a session may stay open.
    pub fn new() -> Self {
        Self::with_horizon(DEFAULT_MAX_OPEN_HOURS as i64 * 3600)
    }

    /// An assembler that remembers each priced session until the newest
    /// event time is `horizon` seconds past the session's last event.
    pub fn with_horizon(horizon: i64) -> Self {
        Self::with_limits(horizon, IN_MEMORY_SESSIONS)
    }

    /// As [`with_horizon`](Self::with_horizon), keeping at most
    /// `in_memory` priced sessions in memory (all but the newest eighth of
    /// them move to a temporary file when there are more).
    pub fn with_limits(horizon: i64, in_memory: usize) -> Self {
        Self {
            open: FxHashMap::default(),
            done: Completed::new(horizon, in_memory),
            newest: None,
        }
    }

    /// Entries of priced sessions still remembered, for recognising late
    /// copies: an upper bound on the sessions. An id priced again counts
    /// once per entry (in memory and on disk) until the newer replaces the
    /// older on disk, and entries on disk past the horizon count until
    /// they are swept.
    pub fn remembered_sessions(&self) -> usize {
        self.done.len()
    }

    /// Priced sessions remembered in memory (the rest are on disk).
    pub fn remembered_in_memory(&self) -> usize {
        self.done.order.len()
    }

    pub fn open_sessions(&self) -> usize {
        self.open.len()
    }

    pub fn open_events(&self) -> usize {
        self.open.values().map(|o| o.events.len()).sum()
    }

    /// Adds one event. Fails only when the on-disk memory of priced
    /// sessions cannot be read or written.
    pub fn add(&mut self, e: Event) -> io::Result<Added> {
        let t = e.timestamp.0.timestamp();
        let newest = self.newest.map_or(t, |n| n.max(t));
        self.newest = Some(newest);
        // Only an event that would open a session is looked up among the
        // priced ones: an open session carries what was found then.
        let open = match self.open.get_mut(&e.session_id) {
            Some(open) => open,
            None => {
                let earlier = self.done.prints_of(session_key(&e.session_id), newest)?;
                self.open.entry(e.session_id.clone()).or_insert(Open {
                    all_sequenced: true,
                    earlier: earlier.map(Box::new),
                    ..Open::default()
                })
            }
        };
        let print = fingerprint(&e);
        if let Some(earlier) = &open.earlier
            && earlier.1.contains(&print)
        {
            if open.events.is_empty() {
                // Opened for nothing: a later event looks again.
                self.open.remove(&e.session_id);
            }
            return Ok(Added::Duplicate(Box::new(e)));
        }
        if open.events.is_empty()
            && let Some(earlier) = &open.earlier
            && is_late(&e, earlier.0)
        {
            self.open.remove(&e.session_id);
            return Ok(Added::Late(Box::new(e)));
        }
        if (open.prints.iter().zip(&open.events)).any(|(p, o)| *p == print && same_event(o, &e)) {
            return Ok(Added::Duplicate(Box::new(e)));
        }
        if let Some(seq) = e.sequence
            && let Some(prev) = open.events.iter().find(|p| p.sequence == Some(seq))
        {
            let why = format!(
                "sequence number {seq} of session {} is already taken by a different event ({} of {} at {}, from {} {})",
                e.session_id,
                prev.event_type,
                prev.participant_id,
                prev.timestamp.0.to_rfc3339(),
                prev.origin.file,
                prev.origin.position
            );
            return Ok(Added::Conflict(Box::new(e), why));
        }
        match e.sequence {
            Some(s) => open.max_sequence = open.max_sequence.max(s),
            None => open.all_sequenced = false,
        }
        if e.event_type == SessionEventType::End {
            open.ended = true;
        }
        open.events.push(e);
        open.prints.push(print);
        if open.complete_now() {
            let id = open.events[0].session_id.clone();
            let mut o = self.open.remove(&id).expect("present");
            sort_events(&mut o.events);
            let own_end = o.events.iter().map(|e| e.timestamp.0.timestamp()).max();
            let (earlier_end, earlier) = o.earlier.map_or((i64::MIN, Vec::new()), |b| *b);
            // The earlier session's prints move along, so one entry
            // covers both, remembered until the later of their ends.
            self.done.add(
                session_key(&id),
                own_end.unwrap_or(t).max(earlier_end),
                earlier.into_iter().chain(o.prints),
                newest,
            )?;
            return Ok(Added::Complete(Session {
                id,
                events: o.events,
            }));
        }
        Ok(Added::Held)
    }

    /// Moves the clock that ages open sessions to at least `t` (UTC
    /// seconds). A cluster assembles one session at a time; before
    /// [`finish`](Self::finish) it gives each the newest event time of the
    /// whole night, the clock one machine's run ends with.
    pub fn saw(&mut self, t: i64) {
        self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
    }

    /// End of the input: what completes now, what expires, what waits.
    /// `max_open` gives a session's allowed age in seconds from its first
    /// event (by its service's policy).
    pub fn finish(self, max_open: impl Fn(&Session) -> i64) -> Finished {
        let newest = self.newest.unwrap_or(0);
        let mut ids: Vec<Text> = self.open.keys().cloned().collect();
        // Sorted, so output does not depend on hash order.
        ids.sort();
        let mut open = self.open;
        let mut out = Finished::default();
        for id in ids {
            let mut o = open.remove(&id).expect("listed");
            let complete = o.complete_at_end();
            let first = o.first_time();
            let gap = o.gap();
            sort_events(&mut o.events);
            let s = Session {
                id,
                events: o.events,
            };
            if complete {
                out.complete.push(s);
                continue;
            }
            let age = newest - first;
            let limit = max_open(&s);
            if age > limit {
                let why = if gap {
                    "a gap in its sequence numbers"
                } else {
                    "no end"
                };
                let reason = format!(
                    "session {} has been open {} s, longer than the {} s its policy allows ({why})",
                    s.id, age, limit
                );
                out.expired.push((s, reason));
            } else {
                out.pending.push(s);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn ev(seq: Option<u32>, ty: SessionEventType, who: &str, at: &str) -> Event {
        let at = DateTime::parse_from_rfc3339(at).unwrap();
        crate::group::testing::event("s1", seq, ty, at, who, seq.unwrap_or(0) as u64 + 1)
    }

    use SessionEventType as T;

    impl Assembler {
        /// `add`, where the disk cannot fail the test.
        fn put(&mut self, e: Event) -> Added {
            self.add(e).expect("the temporary file works")
        }
    }

    #[test]
    fn numbered_session_completes_at_once_even_out_of_order() {
        let mut a = Assembler::new();
        assert!(matches!(
            a.put(ev(Some(3), T::End, "p1", "2026-11-20T10:10:00Z")),
            Added::Held
        ));
        assert!(matches!(
            a.put(ev(Some(1), T::Start, "p1", "2026-11-20T10:00:00Z")),
            Added::Held
        ));
        // A duplicate of event 1 is dropped.
        assert!(matches!(
            a.put(ev(Some(1), T::Start, "p1", "2026-11-20T10:00:00Z")),
            Added::Duplicate(_)
        ));
        match a.put(ev(Some(2), T::Leave, "p1", "2026-11-20T10:05:00Z")) {
            Added::Complete(s) => {
                let seqs: Vec<_> = s.events.iter().map(|e| e.sequence.unwrap()).collect();
                assert_eq!(seqs, [1, 2, 3]);
            }
            other => panic!("not complete: {other:?}"),
        }
        assert_eq!(a.open_sessions(), 0);
    }

    #[test]
    fn a_copy_arriving_after_its_session_completed_is_a_duplicate() {
        let mut a = Assembler::new();
        a.put(ev(Some(1), T::Start, "p1", "2026-11-20T10:00:00Z"));
        assert!(matches!(
            a.put(ev(Some(2), T::End, "p1", "2026-11-20T10:10:00Z")),
            Added::Complete(_)
        ));
        // The same instant written in another offset is the same event.
        assert!(matches!(
            a.put(ev(Some(1), T::Start, "p1", "2026-11-20T11:00:00+01:00")),
            Added::Duplicate(_)
        ));
        assert!(matches!(
            a.put(ev(Some(2), T::End, "p1", "2026-11-20T10:10:00Z")),
            Added::Duplicate(_)
        ));
        assert_eq!(a.open_sessions(), 0);
        // A different event of that session after its end is not a copy:
        // a late event of the priced session, not a new session.
        assert!(matches!(
            a.put(ev(Some(3), T::Invite, "p1", "2026-11-20T10:11:00Z")),
            Added::Late(_)
        ));
        assert_eq!(a.open_sessions(), 0);
    }

    #[test]
    fn a_logoff_after_the_end_is_late_not_a_new_session() {
        let mut a = Assembler::new();
        a.put(ev(Some(1), T::Start, "p1", "2026-11-20T10:00:00Z"));
        a.put(ev(Some(2), T::Logon, "p2", "2026-11-20T10:01:00Z"));
        assert!(matches!(
            a.put(ev(Some(3), T::End, "p1", "2026-11-20T10:10:00Z")),
            Added::Complete(_)
        ));
        assert!(matches!(
            a.put(ev(Some(4), T::Logoff, "p2", "2026-11-20T10:12:00Z")),
            Added::Late(_)
        ));
        // Nothing is left open to fault at the end of the input.
        assert_eq!(a.open_sessions(), 0);
        // A new session of the same id (from sequence number 1) still opens.
        assert!(matches!(
            a.put(ev(Some(1), T::Start, "p3", "2026-11-20T12:00:00Z")),
            Added::Held
        ));
    }

    /// Adds a two-event session `id` of `who` (start, end) and checks that
    /// its end completes it.
    fn price_two(a: &mut Assembler, id: &str, who: &str, start: &str, end: &str) {
        for (seq, ty, at) in [(1, T::Start, start), (2, T::End, end)] {
            let added = a.put(copy_of(id, seq, ty, who, at));
            assert_eq!(matches!(added, Added::Complete(_)), seq == 2, "{added:?}");
        }
    }

    /// Prices sessions `{prefix}0`..`{prefix}{n-1}`, one a minute from
    /// 10:00, participant `p{i}` in each.
    fn price_many(a: &mut Assembler, prefix: &str, n: usize) {
        for i in 0..n {
            let t = |m: usize| format!("2026-11-20T{:02}:{:02}:00Z", 10 + m / 60, m % 60);
            price_two(
                a,
                &format!("{prefix}{i}"),
                &format!("p{i}"),
                &t(i),
                &t(i + 1),
            );
        }
    }

    /// Event number `seq` of session `id`.
    fn copy_of(id: &str, seq: u32, ty: SessionEventType, who: &str, at: &str) -> Event {
        let mut e = ev(Some(seq), ty, who, at);
        e.session_id = id.into();
        e
    }

    #[test]
    fn sessions_moved_to_disk_still_recognise_their_late_copies() {
        // Four in memory: the fifth moves them all to disk (an eighth of
        // four is none), and so on.
        let mut a = Assembler::with_limits(24 * 3600, 4);
        price_many(&mut a, "s", 10);
        assert_eq!(a.remembered_sessions(), 10);
        assert!(
            a.remembered_in_memory() <= 4,
            "{}",
            a.remembered_in_memory()
        );
        // s0 (10:00-10:01) is on disk by now; both its events are copies.
        for (seq, ty, at) in [
            (1, T::Start, "2026-11-20T10:00:00Z"),
            (2, T::End, "2026-11-20T10:01:00Z"),
        ] {
            assert!(matches!(
                a.put(copy_of("s0", seq, ty, "p0", at)),
                Added::Duplicate(_)
            ));
        }
        assert_eq!(a.open_sessions(), 0);
        // A new session of id s0 (numbered from 1, another participant)
        // opens knowing the old one's events: a copy arriving after it is
        // dropped too. (A new event numbered past the old end is late.)
        assert!(matches!(
            a.put(copy_of("s0", 1, T::Start, "p9", "2026-11-20T10:02:00Z")),
            Added::Held
        ));
        assert!(matches!(
            a.put(copy_of("s0", 1, T::Start, "p0", "2026-11-20T10:00:00Z")),
            Added::Duplicate(_)
        ));
        assert_eq!(a.open_sessions(), 1);
        // A session that was never priced is not taken for one on disk.
        assert!(matches!(
            a.put(copy_of("s99", 1, T::Start, "p0", "2026-11-20T10:00:00Z")),
            Added::Held
        ));
    }

    #[test]
    fn sessions_on_disk_are_forgotten_at_the_horizon_like_those_in_memory() {
        let mut a = Assembler::with_limits(3600, 2);
        // s0..s4 end 10:01..10:05; s0 moves to disk.
        price_many(&mut a, "s", 5);
        assert!(matches!(
            a.put(copy_of("s0", 1, T::Start, "p0", "2026-11-20T10:00:00Z")),
            Added::Duplicate(_)
        ));
        // The clock reaches 11:01:01, more than an hour after s0 ended
        // (10:01): its copy now opens a session of its own.
        price_two(
            &mut a,
            "late",
            "q",
            "2026-11-20T11:00:00Z",
            "2026-11-20T11:01:01Z",
        );
        assert!(matches!(
            a.put(copy_of("s0", 1, T::Start, "p0", "2026-11-20T10:00:00Z")),
            Added::Held
        ));
        // s4 ended 10:05, within the hour: still recognised.
        assert!(matches!(
            a.put(copy_of("s4", 2, T::End, "p4", "2026-11-20T10:05:00Z")),
            Added::Duplicate(_)
        ));
    }

    #[test]
    fn a_move_to_disk_keeps_only_the_newest_eighth_in_memory() {
        // Sixteen in memory: the seventeenth moves all but the newest two.
        let mut a = Assembler::with_limits(24 * 3600, 16);
        price_many(&mut a, "s", 16);
        assert_eq!(a.remembered_in_memory(), 16);
        price_many(&mut a, "t", 1);
        assert_eq!(a.remembered_in_memory(), 2);
        assert_eq!(a.remembered_sessions(), 17);
        // The next move comes fifteen sessions later, not nine.
        price_many(&mut a, "u", 14);
        assert_eq!(a.remembered_in_memory(), 16);
        price_many(&mut a, "v", 1);
        assert_eq!(a.remembered_in_memory(), 2);
        assert_eq!(a.remembered_sessions(), 32);
    }

    #[test]
    fn an_id_priced_twice_keeps_both_sessions_copies_across_the_move_to_disk() {
        let mut a = Assembler::with_limits(24 * 3600, 2);
        price_two(
            &mut a,
            "x",
            "p1",
            "2026-11-20T09:00:00Z",
            "2026-11-20T09:10:00Z",
        );
        price_many(&mut a, "s", 3);
        // x is on disk; a second session x (numbered from 1 again, p2)
        // reads it back when it opens, and the entry that replaces it
        // holds both.
        for (seq, ty, at) in [
            (1, T::Start, "2026-11-20T12:00:00Z"),
            (2, T::End, "2026-11-20T12:10:00Z"),
        ] {
            a.put(copy_of("x", seq, ty, "p2", at));
        }
        price_many(&mut a, "t", 3);
        for (seq, ty, who, at) in [
            (1, T::Start, "p1", "2026-11-20T09:00:00Z"),
            (2, T::End, "p2", "2026-11-20T12:10:00Z"),
        ] {
            assert!(matches!(
                a.put(copy_of("x", seq, ty, who, at)),
                Added::Duplicate(_)
            ));
        }
    }

    #[test]
    fn a_priced_session_is_forgotten_once_the_clock_passes_its_horizon() {
        let mut a = Assembler::with_horizon(3600);
        price_two(
            &mut a,
            "s1",
            "p1",
            "2026-11-20T10:00:00Z",
            "2026-11-20T10:10:00Z",
        );
        // Another session, ending 59 minutes later: s1 is still within
        // the hour, so a copy of its start is recognised.
        price_two(
            &mut a,
            "s2",
            "p2",
            "2026-11-20T10:30:00Z",
            "2026-11-20T11:09:00Z",
        );
        assert_eq!(a.remembered_sessions(), 2);
        assert!(matches!(
            a.put(ev(Some(1), T::Start, "p1", "2026-11-20T10:00:00Z")),
            Added::Duplicate(_)
        ));
        // A third session ends at 11:10:01, more than an hour after s1's
        // last event (10:10:00): s1 is forgotten when it completes, s2
        // is kept.
        price_two(
            &mut a,
            "s3",
            "p3",
            "2026-11-20T11:00:00Z",
            "2026-11-20T11:10:01Z",
        );
        assert_eq!(a.remembered_sessions(), 2);
        let copy = copy_of("s2", 1, T::Start, "p2", "2026-11-20T10:30:00Z");
        assert!(matches!(a.put(copy), Added::Duplicate(_)));
        // A copy of s1's start now opens a session of its own, which the
        // end of the run judges by its age like any other.
        assert!(matches!(
            a.put(ev(Some(1), T::Start, "p1", "2026-11-20T10:00:00Z")),
            Added::Held
        ));
        assert_eq!(a.open_sessions(), 1);
    }

    #[test]
    fn an_id_priced_twice_keeps_the_prints_of_both() {
        let mut a = Assembler::new();
        a.put(ev(Some(1), T::Start, "p1", "2026-11-20T10:00:00Z"));
        a.put(ev(Some(2), T::End, "p1", "2026-11-20T10:10:00Z"));
        // Not a copy (another participant): a new session of the same id,
        // complete by itself.
        a.put(ev(Some(1), T::Start, "p2", "2026-11-20T12:00:00Z"));
        assert!(matches!(
            a.put(ev(Some(2), T::End, "p2", "2026-11-20T12:10:00Z")),
            Added::Complete(_)
        ));
        for (who, at) in [
            ("p1", "2026-11-20T10:00:00Z"),
            ("p2", "2026-11-20T12:00:00Z"),
        ] {
            assert!(matches!(
                a.put(ev(Some(1), T::Start, who, at)),
                Added::Duplicate(_)
            ));
        }
    }

    #[test]
    fn prints_keep_their_order_across_chunks_as_the_front_is_forgotten() {
        // Each fingerprint pushed is its own position, so reads check both.
        let mut p = Prints::default();
        let n = 2 * CHUNK as u64 + 100;
        for i in 0..n {
            p.push(i);
        }
        assert_eq!(p.end(), n);
        let chunk = CHUNK as u64;
        assert_eq!(p.get(chunk + 5), chunk + 5);
        p.forget(CHUNK as u32 - 1);
        assert_eq!(
            (p.start, p.get(chunk - 1), p.chunks.len()),
            (chunk - 1, chunk - 1, 3)
        );
        p.forget(2);
        // The first chunk is gone; positions still read the same entries.
        assert_eq!(
            (p.start, p.get(chunk + 1), p.chunks.len()),
            (chunk + 1, chunk + 1, 2)
        );
        assert_eq!(p.get(n - 1), n - 1);
        p.forget((n - p.start) as u32);
        assert_eq!((p.start, p.end()), (n, n));
        p.push(n);
        assert_eq!((p.get(n), p.end()), (n, n + 1));
    }

    #[test]
    fn a_gap_holds_the_session_and_a_conflict_is_a_fault() {
        let mut a = Assembler::new();
        a.put(ev(Some(1), T::Start, "p1", "2026-11-20T10:00:00Z"));
        a.put(ev(Some(3), T::End, "p1", "2026-11-20T10:10:00Z"));
        assert!(matches!(
            a.put(ev(Some(3), T::Leave, "p1", "2026-11-20T10:09:00Z")),
            Added::Conflict(..)
        ));
        let f = a.finish(|_| 3600);
        assert_eq!(f.complete.len(), 0);
        assert_eq!(f.pending.len(), 1);
        assert_eq!(f.pending[0].events.len(), 2);
    }

    #[test]
    fn unnumbered_session_completes_at_end_of_input_when_everyone_left() {
        let mut a = Assembler::new();
        a.put(ev(None, T::Leave, "p1", "2026-11-20T10:30:00Z"));
        a.put(ev(None, T::Join, "p1", "2026-11-20T10:00:00Z"));
        let f = a.finish(|_| 3600);
        assert_eq!(f.complete.len(), 1);
        assert_eq!(f.complete[0].events[0].event_type, T::Join);
    }

    #[test]
    fn a_session_older_than_its_limit_expires() {
        let mut a = Assembler::new();
        a.put(ev(None, T::Join, "p1", "2026-11-20T10:00:00Z"));
        let mut b = ev(None, T::Join, "p9", "2026-11-21T11:00:00Z");
        b.session_id = "s2".into();
        a.put(b);
        let f = a.finish(|_| 24 * 3600);
        assert_eq!(f.expired.len(), 1);
        assert_eq!(f.expired[0].0.id, "s1");
        assert!(f.expired[0].1.contains("90000 s"), "{}", f.expired[0].1);
        assert_eq!(f.pending.len(), 1);
        assert_eq!(f.pending[0].id, "s2");
    }
}
