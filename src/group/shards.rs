//! The event router split by session id, so that the events of a block are
//! routed by several threads at once.
//!
//! What becomes of an event depends only on the events of its own session
//! that came before it and on the newest event time seen before it in the
//! input (the clock that ages priced sessions): never on other sessions'
//! events. So the sessions are split into shards by a hash of their id,
//! each shard an [`Assembler`] of its own; a block's events are given to
//! their shards in input order, each together with the clock as the whole
//! input had it at that event, and the shards route them in parallel. The
//! answers are put back in input order, and are the ones one assembler
//! gives, whatever the number of shards (tests below and in tests/cli).
//!
//! Why: routing an event costs about 1,600 instructions (its fingerprint,
//! the look-ups of its session, completing it), and the writer did it for
//! every event, one thread in input order: 3 % of a run of the generated
//! mix and 7 % of a run of session events, all serial (callgrind, 20 k
//! records).

use std::io;

use rayon::prelude::*;

use super::Event;
use super::assemble::{Added, Assembler, Finished, IN_MEMORY_SESSIONS, Session, session_key};

/// Priced sessions a shard keeps in memory at least, however many shards
/// share [`IN_MEMORY_SESSIONS`].
const MIN_IN_MEMORY: usize = 4096;

/// An event on its way to its shard, with what routing needs of it made
/// by the worker that decoded it: the key of its session id and its time
/// in UTC seconds. The writer hashed the id and converted the time of
/// every event, ~45 instructions an event and 5 % of its work on session
/// events (callgrind, 200 k events); now it only compares and pushes.
#[derive(Debug)]
pub struct Routed {
    key: u64,
    at: i64,
    pub event: Box<Event>,
}

impl From<Event> for Routed {
    fn from(e: Event) -> Self {
        Routed {
            key: session_key(&e.session_id),
            at: e.timestamp.0.timestamp(),
            event: Box::new(e),
        }
    }
}

/// Sessions being assembled, split by session id.
#[derive(Debug)]
pub struct Shards {
    shards: Vec<Assembler>,
    /// Newest event time seen (UTC seconds), over every shard.
    newest: Option<i64>,
    /// Reused from block to block: each shard's events of the block, with
    /// the clock at them.
    work: Vec<Vec<(i64, Box<Event>)>>,
    /// The shard of each event staged, in input order.
    order: Vec<u32>,
}

impl Shards {
    /// `n` shards (at least one) that remember each priced session until
    /// the newest event time is `horizon` seconds past its last event.
    pub fn new(horizon: i64, n: usize) -> Self {
        let n = n.max(1);
        let in_memory = (IN_MEMORY_SESSIONS / n).max(MIN_IN_MEMORY);
        Shards {
            shards: (0..n)
                .map(|_| Assembler::with_limits(horizon, in_memory))
                .collect(),
            newest: None,
            work: (0..n).map(|_| Vec::new()).collect(),
            order: Vec::new(),
        }
    }

    /// The shard of a session by its key ([`session_key`]).
    fn shard_of(&self, key: u64) -> usize {
        // The high half: the low bits key the shard's own hash maps.
        ((key >> 32) % self.shards.len() as u64) as usize
    }

    /// The clock after an event at `t`.
    fn tick(&mut self, t: i64) -> i64 {
        let newest = self.newest.map_or(t, |n| n.max(t));
        self.newest = Some(newest);
        newest
    }

    /// Adds one event (see [`Assembler::add`]).
    pub fn add(&mut self, e: Event) -> io::Result<Added> {
        let newest = self.tick(e.timestamp.0.timestamp());
        let i = self.shard_of(session_key(&e.session_id));
        let shard = &mut self.shards[i];
        shard.saw(newest);
        shard.add(e)
    }

    /// Adds the events of a block, in input order, routing them by
    /// several threads; the answers come in the events' order.
    pub fn add_all(&mut self, events: impl IntoIterator<Item = Routed>) -> io::Result<InOrder> {
        for r in events {
            self.stage(r);
        }
        self.route_staged()
    }

    /// Stages one event of a block for [`Self::route_staged`], in input
    /// order: the writer stages a block's events in the same pass that
    /// gathers its duplicate-check keys, rather than in a pass of its own.
    #[inline]
    pub fn stage(&mut self, r: Routed) {
        let newest = self.tick(r.at);
        let i = self.shard_of(r.key);
        self.order.push(i as u32);
        self.work[i].push((newest, r.event));
    }

    /// Routes the events staged since the last call by several threads;
    /// the answers come in the events' order.
    pub fn route_staged(&mut self) -> io::Result<InOrder> {
        let mut work = std::mem::take(&mut self.work);
        // The next block's vector sized by this one's: grown afresh, it
        // was reallocated about eleven times a block.
        let next = Vec::with_capacity(self.order.len());
        let order = std::mem::replace(&mut self.order, next);
        let routed: Vec<io::Result<Vec<Added>>> = self
            .shards
            .par_iter_mut()
            .zip(work.par_iter_mut())
            .map(|(shard, events)| route(shard, events))
            .collect();
        self.work = work;
        Ok(InOrder {
            shards: routed
                .into_iter()
                .map(|r| r.map(Vec::into_iter))
                .collect::<io::Result<_>>()?,
            order: order.into_iter(),
        })
    }

    /// End of the input (see [`Assembler::finish`]): every shard ages its
    /// sessions by the newest event time of all of them, and the sessions
    /// come in the order of their ids, as from one assembler.
    pub fn finish(self, max_open: impl Fn(&Session) -> i64 + Sync) -> Finished {
        let newest = self.newest;
        let parts: Vec<Finished> = self
            .shards
            .into_par_iter()
            .map(|shard| finish_shard(shard, newest, &max_open))
            .collect();
        let mut all = Finished::default();
        for p in parts {
            all.complete.extend(p.complete);
            all.expired.extend(p.expired);
            all.pending.extend(p.pending);
        }
        all.complete.sort_by(|a, b| a.id.cmp(&b.id));
        all.expired.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        all.pending.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }
}

/// One shard's sessions at the end of the input, aged by the newest event
/// time of all of them. Not inlined: the serial-share benchmark
/// (`benches/serial.sh`) tells the threads' work from the writer's by this
/// name.
#[inline(never)]
fn finish_shard(
    mut shard: Assembler,
    newest: Option<i64>,
    max_open: &(impl Fn(&Session) -> i64 + Sync),
) -> Finished {
    if let Some(t) = newest {
        shard.saw(t);
    }
    shard.finish(max_open)
}

/// One shard's events of a block, routed in their order, each at the clock
/// the whole input had at it. Not inlined: the serial-share benchmark
/// (`benches/serial.sh`) tells the threads' work from the writer's by
/// this name.
#[inline(never)]
fn route(shard: &mut Assembler, events: &mut Vec<(i64, Box<Event>)>) -> io::Result<Vec<Added>> {
    let mut out = Vec::with_capacity(events.len());
    for (newest, e) in events.drain(..) {
        shard.saw(newest);
        // Unboxed here, on the shard's thread: the move is the thread's.
        out.push(shard.add(*e)?);
    }
    Ok(out)
}

/// The answers of a block's events ([`Shards::add_all`]), in the events'
/// order: each shard's answers are in order, and `order` names the shard
/// of each event. Putting them into one vector by index cost the writer two
/// passes over the block's events (3 % of its work on session events).
#[derive(Debug)]
pub struct InOrder {
    shards: Vec<std::vec::IntoIter<Added>>,
    order: std::vec::IntoIter<u32>,
}

impl Iterator for InOrder {
    type Item = Added;

    fn next(&mut self) -> Option<Added> {
        let shard = self.order.next()?;
        let added = self.shards[shard as usize].next();
        debug_assert!(added.is_some(), "every event was routed");
        added
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.order.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdr::SessionEventType;
    use chrono::DateTime;

    /// An event of session `s`, number `seq` (None: unnumbered) of type
    /// `ty`, `minutes` after a fixed start.
    fn ev(s: usize, seq: Option<u32>, ty: SessionEventType, minutes: i64, line: u64) -> Event {
        let at = DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z").unwrap()
            + chrono::TimeDelta::minutes(minutes);
        let who = format!("p{}", seq.unwrap_or(0) % 3);
        crate::group::testing::event(&format!("s{s}"), seq, ty, at, &who, line)
    }

    /// A stream with every kind of answer: sessions completed at once and
    /// at the end, copies (before and after their session completed),
    /// events after a session's end, conflicting numbers, unnumbered
    /// sessions, sessions left open, and a clock that runs two days so
    /// that priced sessions are forgotten on the way.
    fn stream() -> Vec<Event> {
        use SessionEventType as T;
        let mut out = Vec::new();
        let mut line = 0;
        let mut push = |e: Event| {
            out.push(e);
        };
        for round in 0..6i64 {
            let base = round * 600; // ten hours a round
            for s in 0..40usize {
                let id = round as usize * 100 + s;
                let t = base + s as i64;
                line += 1;
                match s % 5 {
                    // Numbered, out of order, complete at once.
                    0 | 1 => {
                        push(ev(id, Some(3), T::End, t + 9, line));
                        push(ev(id, Some(1), T::Start, t, line));
                        push(ev(id, Some(2), T::Leave, t + 5, line));
                        // A copy after it completed, and one after its end.
                        push(ev(id, Some(2), T::Leave, t + 5, line));
                        push(ev(id, Some(4), T::Logoff, t + 20, line));
                    }
                    // A conflicting number, then completed.
                    2 => {
                        push(ev(id, Some(1), T::Start, t, line));
                        let mut c = ev(id, Some(1), T::Join, t + 1, line);
                        c.participant_id = "other".into();
                        push(c);
                        push(ev(id, Some(2), T::End, t + 3, line));
                    }
                    // Unnumbered: waits for the end of the input.
                    3 => {
                        push(ev(id, None, T::Start, t, line));
                        push(ev(id, None, T::Join, t + 2, line));
                        push(ev(id, None, T::Leave, t + 4, line));
                    }
                    // A gap: left open (pending or expired).
                    _ => {
                        push(ev(id, Some(1), T::Start, t, line));
                        push(ev(id, Some(3), T::End, t + 4, line));
                    }
                }
            }
            // Copies of the first round's sessions, arriving later and
            // later: remembered, then forgotten past the horizon.
            for s in 0..2usize {
                line += 1;
                push(ev(s, Some(2), T::Leave, s as i64 + 5, line));
            }
        }
        out
    }

    fn describe(a: &Added) -> String {
        match a {
            Added::Held => "held".into(),
            Added::Duplicate(e) => format!("duplicate {} {:?}", e.session_id, e.sequence),
            Added::Conflict(e, why) => format!("conflict {} {why}", e.session_id),
            Added::Late(e) => format!("late {} {:?}", e.session_id, e.sequence),
            Added::Complete(s) => format!("complete {:?}", s),
        }
    }

    fn finished(f: &Finished) -> Vec<String> {
        let ids = |v: &[Session]| v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>();
        let mut out = ids(&f.complete);
        out.push("--".into());
        out.extend(f.expired.iter().map(|(s, why)| format!("{s:?} {why}")));
        out.push("--".into());
        out.extend(ids(&f.pending));
        out
    }

    /// One assembler, as `rate` had it before the shards.
    fn one(events: Vec<Event>, horizon: i64) -> (Vec<String>, Vec<String>) {
        let mut a = Assembler::with_limits(horizon, 8);
        let added = events
            .into_iter()
            .map(|e| describe(&a.add(e).expect("memory")))
            .collect();
        (added, finished(&a.finish(|_| 3600)))
    }

    fn sharded(
        events: Vec<Event>,
        horizon: i64,
        n: usize,
        block: usize,
    ) -> (Vec<String>, Vec<String>) {
        let mut s = Shards::new(horizon, n);
        // Small in-memory limits, so that sessions also move to disk.
        for shard in &mut s.shards {
            *shard = Assembler::with_limits(horizon, 4);
        }
        let mut added = Vec::new();
        let mut events = events.into_iter().peekable();
        let mut serial = true;
        while events.peek().is_some() {
            let chunk: Vec<Event> = events.by_ref().take(block).collect();
            if serial {
                for e in chunk {
                    added.push(describe(&s.add(e).expect("memory")));
                }
            } else {
                for a in s
                    .add_all(chunk.into_iter().map(Routed::from))
                    .expect("memory")
                {
                    added.push(describe(&a));
                }
            }
            serial = !serial;
        }
        (added, finished(&s.finish(|_| 3600)))
    }

    #[test]
    fn shards_route_every_event_as_one_assembler_does() {
        for horizon in [3600, 24 * 3600, 7 * 24 * 3600] {
            let expected = one(stream(), horizon);
            assert!(expected.0.iter().any(|a| a.starts_with("duplicate")));
            assert!(expected.0.iter().any(|a| a.starts_with("late")));
            assert!(expected.0.iter().any(|a| a.starts_with("conflict")));
            assert!(expected.1.iter().filter(|l| *l == "--").count() == 2);
            for n in [1, 2, 3, 7, 16] {
                for block in [1, 5, 64, 10_000] {
                    assert_eq!(
                        sharded(stream(), horizon, n, block),
                        expected,
                        "{n} shards, blocks of {block}, horizon {horizon} s"
                    );
                }
            }
        }
    }
}
