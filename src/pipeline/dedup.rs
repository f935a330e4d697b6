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

    /// The shard of key `k`: by the high half, since the low bits place
    /// the key in its shard's table.
    fn index(&self, k: u128) -> usize {
        ((k >> 64) as u64 % self.shards.len() as u64) as usize
    }

    fn shard(&mut self, k: u128) -> &mut FxHashSet<u128> {
        let i = self.index(k);
        &mut self.shards[i]
    }
}

impl Default for RunSet {
    fn default() -> Self {
        RunSet::new(1)
    }
}

/// One shard's keys of a block, in order. Not inlined: the serial-share
/// benchmark (`benches/serial.sh`) tells the threads' work from the
/// writer's by this name.
#[inline(never)]
fn stage_keys(set: &mut FxHashSet<u128>, keys: &mut Vec<(usize, u128)>) -> Vec<(usize, bool)> {
    keys.drain(..).map(|(i, k)| (i, set.insert(k))).collect()
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
