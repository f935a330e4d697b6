//! The duplicate check of a run. With a state directory it asks the
//! duplicate index ([`crate::group::duplicates`]), which remembers every
//! SDR billed within its window across runs. Without one a run remembers
//! nothing afterwards, but a second copy of an SDR within the same run is
//! still a duplicate: `rate vpn.sdr copy.sdr` bills each SDR once.
//!
//! Within a run the check keeps the fingerprints of the SDRs billed so far
//! (24 bytes each plus the hash set's control byte and spare capacity, 29
//! to 57 bytes an SDR: 1 M billed SDRs take 28 to 55 MiB, as the index's
//! staged part does). The fingerprints are made by the workers, in
//! parallel; the writer only looks them up.

use anyhow::Result;
use rustc_hash::FxHashSet;

use crate::group::duplicates::{DuplicateIndex, Fingerprint, Verdict};

/// Where a run looks for SDRs billed before.
pub(super) enum Dedup<'r> {
    /// The state directory's index.
    Index(&'r mut DuplicateIndex),
    /// No state directory: this run's SDRs only.
    Run(FxHashSet<Fingerprint>),
}

impl Dedup<'_> {
    /// Whether `key` was billed before, without remembering it. An error
    /// is a day of the index that cannot be loaded.
    pub fn check(&mut self, key: Fingerprint) -> Result<Verdict> {
        Ok(match self {
            Dedup::Index(d) => d.check(key)?,
            Dedup::Run(seen) if seen.contains(&key) => Verdict::Duplicate,
            Dedup::Run(_) => Verdict::New,
        })
    }

    /// Whether `key` was billed before; if not, it is remembered as billed
    /// by this run.
    pub fn check_and_stage(&mut self, key: Fingerprint) -> Result<Verdict> {
        Ok(match self {
            Dedup::Index(d) => d.check_and_stage(key)?,
            Dedup::Run(seen) => {
                if seen.insert(key) {
                    Verdict::New
                } else {
                    Verdict::Duplicate
                }
            }
        })
    }
}
