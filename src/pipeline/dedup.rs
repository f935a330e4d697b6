//! The duplicate check of a run. With a state directory it asks the
//! duplicate index ([`crate::group::duplicates`]), which remembers every
//! SDR billed within its window across runs. Without one a run remembers
//! nothing afterwards, but a second copy of an SDR within the same run is
//! still a duplicate: `rate vpn.sdr copy.sdr` bills each SDR once.
//!
//! Within a run the check keeps a 128-bit hash of the key of each SDR
//! billed so far (16 bytes each plus the hash set's control byte and spare
//! capacity, 17 to 40 bytes an SDR: 1 M billed SDRs take 16 to 38 MiB).
//! The keys are made by the workers, in parallel ([`DupKey::of`]); the
//! writer only looks them up. Nothing of a run without a state directory
//! is kept, so its hash need not be the index's stable keyed SipHash (about
//! 50 ns a key): xxh3-128 over the same injective encoding costs a fifth
//! of that, and two SDRs of one run share a hash with probability n²/2¹²⁹.
//! Measured: the within-run check costs +4.1 % of a run's instructions
//! with the index's fingerprint, +3.4 % with this (BENCHMARKS.md).
//!
//! The writer decides a block's verdicts before it files the block
//! ([`Dedup::check_block`]). The within-run set is split into shards by the
//! hash's high bits, and each shard checks its keys of the block, in input
//! order, on a thread of its own: a key only ever meets its own shard, so
//! the first copy in input order is billed, as with one set. On 1 M
//! records the set grows to ~600,000 keys: its look-ups (random reads of
//! 16 MiB), growth and fresh pages were 5-7 % of a one-thread run's time
//! (perf), all of it on the writer's thread.

use anyhow::Result;
use rayon::prelude::*;
use rustc_hash::FxHashSet;

use crate::group::duplicates::{DuplicateIndex, Fingerprint, Key, Verdict};

/// An SDR's duplicate-check key, made by a worker for the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DupKey {
    /// For the state directory's index.
    Index(Fingerprint),
    /// For a check within the run.
    Run(u128),
}

impl DupKey {
    /// The key the run's check needs: the index's fingerprint when there
    /// is an index (`indexed`), else the cheaper within-run hash.
    pub fn of(key: &Key<'_>, indexed: bool) -> Self {
        if indexed {
            return DupKey::Index(key.fingerprint());
        }
        let t = &key.time_of_origin;
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&(key.producer.len() as u64).to_le_bytes());
        h.update(key.producer.as_bytes());
        h.update(&key.sdr_identifier.to_le_bytes());
        h.update(&t.timestamp().to_le_bytes());
        h.update(&t.timestamp_subsec_nanos().to_le_bytes());
        DupKey::Run(h.digest128())
    }
}

/// Where a run looks for SDRs billed before.
pub(super) enum Dedup<'r> {
    /// The state directory's index.
    Index(&'r mut DuplicateIndex),
    /// No state directory: this run's SDRs only.
    Run(RunSet),
}

/// The keys a run billed, split into shards (see the module documentation).
#[derive(Debug)]
pub(super) struct RunSet {
    shards: Vec<FxHashSet<u128>>,
    /// Reused from block to block: each shard's keys of the block, with
    /// their index among the block's keys.
    work: Vec<Vec<(usize, u128)>>,
}

impl RunSet {
    /// `n` shards (at least one).
    pub fn new(n: usize) -> Self {
        let n = n.max(1);
        RunSet {
            shards: (0..n).map(|_| FxHashSet::default()).collect(),
            work: (0..n).map(|_| Vec::new()).collect(),
        }
    }

    /// The shard of key `k` ([`shard_of`]).
    fn index(&self, k: u128) -> usize {
        shard_of(k, self.shards.len())
    }

    fn shard(&mut self, k: u128) -> &mut FxHashSet<u128> {
        let i = self.index(k);
        &mut self.shards[i]
    }

    /// Removes the keys [`stage_session_keys`] staged for the sessions
    /// `undo` names.
    fn unstage(&mut self, undo: impl Fn(usize) -> bool + Sync) {
        self.shards
            .par_iter_mut()
            .zip(self.work.par_iter_mut())
            .for_each(|(shard, staged)| {
                for (i, k) in staged.drain(..) {
                    if undo(i) {
                        shard.remove(&k);
                    }
                }
            });
    }
}

impl Default for RunSet {
    fn default() -> Self {
        RunSet::new(1)
    }
}

/// The shard of key `k` among `n`: by the high half, since the low bits
/// place the key in its shard's table.
fn shard_of(k: u128, n: usize) -> usize {
    ((k >> 64) as u64 % n as u64) as usize
}

/// The within-run key of a [`DupKey`].
fn run_key(key: &DupKey) -> u128 {
    match *key {
        DupKey::Run(k) => k,
        DupKey::Index(_) => unreachable!("keys are made for the run's check (DupKey::of)"),
    }
}

/// One shard's keys of a block, in order. Not inlined: the serial-share
/// benchmark (`benches/serial.sh`) tells the threads' work from the
/// writer's by this name.
#[inline(never)]
fn stage_keys(set: &mut FxHashSet<u128>, keys: &mut Vec<(usize, u128)>) -> Vec<(usize, bool)> {
    keys.drain(..).map(|(i, k)| (i, set.insert(k))).collect()
}

/// One shard's part of a slice of sessions' keys ([`Dedup::check_sessions`]),
/// in order: every key of the shard not billed before is staged at once and
/// listed in `staged` with its session's index. Returns the sessions with a
/// key billed before the slice, and whether a key came twice within the
/// slice (then the slice is undone and checked one session at a time).
/// Not inlined: the serial-share benchmark (`benches/serial.sh`) tells the
/// threads' work from the writer's by this name.
#[inline(never)]
fn stage_session_keys(
    set: &mut FxHashSet<u128>,
    staged: &mut Vec<(usize, u128)>,
    shard: usize,
    n: usize,
    sessions: &[&[DupKey]],
) -> (Vec<usize>, bool) {
    staged.clear();
    let mut seen = Vec::new();
    // This slice's staged keys, as a set: made only at the first key found
    // in the set, which is rare (a session priced twice).
    let mut of_slice: Option<FxHashSet<u128>> = None;
    for (i, keys) in sessions.iter().enumerate() {
        for k in keys.iter().map(run_key) {
            if shard_of(k, n) != shard {
                continue;
            }
            if set.insert(k) {
                staged.push((i, k));
                if let Some(s) = of_slice.as_mut() {
                    s.insert(k);
                }
                continue;
            }
            let slice = of_slice.get_or_insert_with(|| staged.iter().map(|&(_, k)| k).collect());
            if slice.contains(&k) {
                return (seen, true);
            }
            seen.push(i);
        }
    }
    (seen, false)
}

impl Dedup<'_> {
    /// Whether keys are for the index ([`DupKey::of`]).
    pub fn indexed(&self) -> bool {
        matches!(self, Dedup::Index(_))
    }

    /// Whether `key` was billed before, without remembering it. An error
    /// is a day of the index that cannot be loaded.
    pub fn check(&mut self, key: DupKey) -> Result<Verdict> {
        Ok(match (self, key) {
            (Dedup::Index(d), DupKey::Index(k)) => d.check(k)?,
            (Dedup::Run(seen), DupKey::Run(k)) if seen.shards[seen.index(k)].contains(&k) => {
                Verdict::Duplicate
            }
            (Dedup::Run(_), DupKey::Run(_)) => Verdict::New,
            _ => unreachable!("keys are made for the run's check (DupKey::of)"),
        })
    }

    /// Whether `key` was billed before; if not, it is remembered as billed
    /// by this run.
    pub fn check_and_stage(&mut self, key: DupKey) -> Result<Verdict> {
        Ok(match (self, key) {
            (Dedup::Index(d), DupKey::Index(k)) => d.check_and_stage(k)?,
            (Dedup::Run(seen), DupKey::Run(k)) => {
                if seen.shard(k).insert(k) {
                    Verdict::New
                } else {
                    Verdict::Duplicate
                }
            }
            _ => unreachable!("keys are made for the run's check (DupKey::of)"),
        })
    }

    /// Whether a priced session was billed before, by its participations'
    /// keys (producer sdrate, a hash of session and participant, the
    /// session's last event), which pricing it again reproduces: the first
    /// verdict that is not new, or, when all are new, all of them staged
    /// and [`Verdict::New`].
    pub fn check_session(&mut self, keys: &[DupKey]) -> Result<Verdict> {
        for k in keys {
            match self.check(*k)? {
                Verdict::New => {}
                other => return Ok(other),
            }
        }
        for k in keys {
            self.check_and_stage(*k)?;
        }
        Ok(Verdict::New)
    }

    /// [`Self::check_session`] of each session of a slice, in order. Within
    /// a run the set's shards stage their keys of the slice in parallel,
    /// then unstage those of sessions found billed before; sessions
    /// sharing a key within the slice (one priced twice) are checked one
    /// at a time, as before. Entering the keys one by one was 8 % of the
    /// writer's work on session events (callgrind, 200 k events).
    pub fn check_sessions(&mut self, sessions: &[&[DupKey]]) -> Result<Vec<Verdict>> {
        let Dedup::Run(set) = self else {
            return sessions.iter().map(|k| self.check_session(k)).collect();
        };
        let n = set.shards.len();
        let found: Vec<(Vec<usize>, bool)> = set
            .shards
            .par_iter_mut()
            .zip(set.work.par_iter_mut())
            .enumerate()
            .map(|(i, (shard, staged))| stage_session_keys(shard, staged, i, n, sessions))
            .collect();
        if found.iter().any(|(_, twice)| *twice) {
            set.unstage(|_| true);
            return sessions.iter().map(|k| self.check_session(k)).collect();
        }
        let mut verdicts = vec![Verdict::New; sessions.len()];
        for (seen, _) in &found {
            for &i in seen {
                verdicts[i] = Verdict::Duplicate;
            }
        }
        if found.iter().any(|(seen, _)| !seen.is_empty()) {
            set.unstage(|i| verdicts[i] != Verdict::New);
        } else {
            set.work.iter_mut().for_each(Vec::clear);
        }
        Ok(verdicts)
    }

    /// [`Self::check_and_stage`] of every key of a block, in order: the
    /// within-run set's shards check theirs in parallel.
    pub fn check_block(&mut self, keys: &[DupKey]) -> Result<Vec<Verdict>> {
        let Dedup::Run(set) = self else {
            return keys.iter().map(|k| self.check_and_stage(*k)).collect();
        };
        for (i, key) in keys.iter().enumerate() {
            let DupKey::Run(k) = *key else {
                unreachable!("keys are made for the run's check (DupKey::of)")
            };
            let s = set.index(k);
            set.work[s].push((i, k));
        }
        let staged: Vec<Vec<(usize, bool)>> = set
            .shards
            .par_iter_mut()
            .zip(set.work.par_iter_mut())
            .map(|(shard, keys)| stage_keys(shard, keys))
            .collect();
        let mut verdicts = vec![Verdict::New; keys.len()];
        for (i, new) in staged.into_iter().flatten() {
            if !new {
                verdicts[i] = Verdict::Duplicate;
            }
        }
        Ok(verdicts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{Duplicate, New};

    /// Key `i`, its high half varied so that keys fall in every shard.
    fn k(i: u64) -> DupKey {
        DupKey::Run(((i as u128) << 64) | i as u128)
    }

    /// The verdicts of one slice, at 1, 2 and 3 shards, each set first
    /// given `before` as billed.
    fn slices(before: &[DupKey], slices: &[&[&[DupKey]]]) -> Vec<Vec<Vec<Verdict>>> {
        (1..=3)
            .map(|n| {
                let mut d = Dedup::Run(RunSet::new(n));
                d.check_block(before).unwrap();
                slices
                    .iter()
                    .map(|s| d.check_sessions(s).unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn session_slices_stage_only_sessions_billed_now() {
        let (a, b, c) = (&[k(1), k(2)][..], &[k(3)][..], &[k(4)][..]);
        let dup = &[k(5), k(2), k(6)][..];
        for v in slices(&[], &[&[a, b], &[c, dup], &[&[k(6)], &[k(5)]]]) {
            assert_eq!(v, [vec![New, New], vec![New, Duplicate], vec![New, New]]);
        }
    }

    #[test]
    fn a_key_twice_in_a_slice_is_checked_in_order() {
        // The second session meets the first's key: a duplicate, so its
        // other key is not staged and the third session is new.
        let s = [&[k(7)][..], &[k(7), k(8)][..], &[k(8)][..]];
        for v in slices(&[], &[&s, &[&[k(8)], &[k(7)]]]) {
            assert_eq!(v, [vec![New, Duplicate, New], vec![Duplicate, Duplicate]]);
        }
        // The first session billed before: its other key is free for the
        // second.
        let s = [&[k(9), k(10)][..], &[k(10)][..]];
        for v in slices(&[k(9)], &[&s, &[&[k(10)]]]) {
            assert_eq!(v, [vec![Duplicate, New], vec![Duplicate]]);
        }
        // One session with one key twice is new, and stages it.
        for v in slices(&[], &[&[&[k(11), k(11)]], &[&[k(11)]]]) {
            assert_eq!(v, [vec![New], vec![Duplicate]]);
        }
    }

    #[test]
    fn session_slices_leave_the_block_check_its_own_keys() {
        // A session without keys (it could not be priced) is new; what the
        // slices staged and unstaged is all the block check sees.
        for n in 1..=3 {
            let mut d = Dedup::Run(RunSet::new(n));
            let slice = [&[][..], &[k(12), k(13)][..], &[k(13)][..]];
            assert_eq!(d.check_sessions(&slice).unwrap(), [New, New, Duplicate]);
            let block = [k(12), k(14), k(14), k(13)];
            assert_eq!(
                d.check_block(&block).unwrap(),
                [Duplicate, New, Duplicate, Duplicate]
            );
        }
    }
}
