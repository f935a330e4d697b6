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

use anyhow::Result;
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
    Run(FxHashSet<u128>),
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
            (Dedup::Run(seen), DupKey::Run(k)) if seen.contains(&k) => Verdict::Duplicate,
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
                if seen.insert(k) {
                    Verdict::New
                } else {
                    Verdict::Duplicate
                }
            }
            _ => unreachable!("keys are made for the run's check (DupKey::of)"),
        })
    }
}
