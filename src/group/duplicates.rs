//! The cross-run duplicate index: an SDR already billed by an earlier run
//! must not be billed again.
//!
//! # Key and fingerprint
//!
//! An SDR is identified by its producer identity, its SDR identifier and its
//! time of origin taken as a UTC instant (so `14:30+01:00` and `13:30Z` are
//! the same SDR; a fraction of a second is part of the instant). The index
//! stores, per SDR, a 128-bit fingerprint of that key and the time of origin
//! in whole UTC seconds (for retention): 24 bytes.
//!
//! The fingerprint is SipHash-1-3 with 128-bit output (the `siphasher`
//! crate, already in the dependency tree through `phf`) over an injective
//! encoding of the key: the producer's length (u64), its bytes, the SDR
//! identifier (u32), the UTC seconds (i64) and nanoseconds (u32), all little
//! endian. SipHash is a keyed pseudo-random function; the key is a fixed
//! constant so fingerprints are stable across runs and versions. Two
//! different SDRs share a fingerprint (and the later one is wrongly taken
//! for a duplicate) with probability at most n²/2¹²⁹ for n SDRs in the
//! window: 10⁹ SDRs give 1.5·10⁻²¹, far below the odds of a disk silently
//! flipping a bit. Producers are not adversaries, and even one who knew the
//! constant key would need about 2⁶⁴ SipHash evaluations to find a
//! collision by brute force.
//!
//! # Retention
//!
//! The reference is the newest time of origin in the committed index, not
//! the wall clock, so a rerun of the same inputs gives the same answers. At
//! [`open`](DuplicateIndex::open) the run's cutoff is fixed at `newest −
//! retention` (whole seconds); during the run an SDR whose time of origin
//! (UTC seconds, rounded down) is before the cutoff gets
//! [`Verdict::TooOld`]: the index no longer remembers that far back, so it
//! cannot tell, and the caller decides (bill it and count it, or send it to
//! suspense). A too-old SDR is never staged. [`commit`](DuplicateIndex::commit)
//! drops committed entries older than the cutoff, so the file holds about
//! one retention window of SDRs. An empty index has no cutoff.
//!
//! A time of origin far in the future moves the reference forward once that
//! run is published, and every SDR after it is then too old: the caller
//! should fault SDRs dated after the wall clock (plus a tolerance) before
//! checking them.
//!
//! # Two phases, and the crash protocol
//!
//! During a run, [`check`](DuplicateIndex::check) answers against the
//! committed index plus this run's staged SDRs (a second copy in the same
//! run is a duplicate), and [`check_and_stage`](DuplicateIndex::check_and_stage)
//! stages a new SDR. [`unstage`](DuplicateIndex::unstage) takes back an SDR
//! that was staged but then not billed (it faulted and goes to suspense), so
//! its recycled copy is not taken for a duplicate later. Staged SDRs live in
//! memory only: a run that dies before `commit` leaves the index as it was.
//!
//! Billing outputs and the index must change together, and no single
//! rename covers both, so the index file carries the run that wrote it:
//!
//! * `duplicates.idx` holds a *base* (SDRs of published runs) and a
//!   *pending* part (the SDRs staged by one run, with that run's id).
//! * At `open`, the caller says whether the pending run was published
//!   (its manifest exists). Published: the pending SDRs join the base.
//!   Not published: they are ignored, as if that run never happened.
//! * `commit(run_id)` writes base (the committed SDRs, retention applied)
//!   plus this run's staged SDRs as the new pending part, to a temporary
//!   file; syncs it; renames it over `duplicates.idx`; syncs the directory.
//!
//! The caller's order is therefore: write the outputs into the temporary
//! output directory; **`commit(run_id)`**; only if it succeeded, publish
//! (rename the output directory into place, manifest last, naming
//! `run_id`). A crash at any moment gives one of:
//!
//! | crash                          | outputs published | next open sees                |
//! |--------------------------------|-------------------|-------------------------------|
//! | before or during `commit`      | no                | the old index                 |
//! | after `commit`, before publish | no                | the old index (run ignored)   |
//! | after publish                  | yes               | the old index plus the run    |
//!
//! so the SDRs of a run count as seen exactly when that run's outputs were
//! published. (Publishing first and committing after would leave a window
//! in which published SDRs are not in the index, and an identical rerun
//! would bill them again; committing first without the run id would leave
//! one in which unpublished SDRs are marked seen and never billed.) A
//! leftover temporary file from a crash during `commit` is ignored by `open`
//! and overwritten by the next `commit`.
//!
//! The caller must give every run a unique id (the manifest id), must hold
//! the state directory exclusively while a run is in progress (one writer),
//! and must not open the index at all when re-rating (re-rating bypasses
//! duplicate checks by design). A dry run opens and checks but never
//! commits; `open` never writes, so the state directory stays byte-identical.
//!
//! ```text
//! let mut index = DuplicateIndex::open(state, retention, |run| Ok(manifest_exists(run)))?;
//! for sdr in run {
//!     match index.check_and_stage(&Key::of(&sdr.service_header)) {
//!         Verdict::New => bill(sdr),            // index.unstage(..) if it then faults
//!         Verdict::Duplicate => set_aside(sdr),
//!         Verdict::TooOld => bill_and_flag(sdr), // or suspense: the caller decides
//!     }
//! }
//! write_outputs_to_temp_dir()?;
//! index.commit(&run_id)?;   // durable, but counts only once run_id is published
//! publish(&run_id)?;        // rename into place, manifest last
//! ```
//!
//! # File format (version 1, little endian)
//!
//! | bytes        | content                                            |
//! |--------------|----------------------------------------------------|
//! | 0..8         | magic `SDRDUPIX`                                   |
//! | 8..12        | version, 1                                         |
//! | 12..16       | length L of the pending run id                     |
//! | 16..24       | number B of base records                           |
//! | 24..32       | number P of pending records                        |
//! | 32..32+L     | pending run id, UTF-8                              |
//! | then 24·B    | base records: fingerprint (u128), time (i64 UTC s) |
//! | then 24·P    | pending records, same layout                       |
//! | last 8       | SipHash-1-3 (64-bit) of everything before          |
//!
//! Both record lists are sorted by fingerprint, without repeats. The file
//! is read sequentially in large chunks; a wrong magic, version, length,
//! order or checksum is an error naming the file (never an empty index).
//!
//! # Memory
//!
//! The committed SDRs sit in one sorted `Vec` of 24-byte entries, plus a
//! directory of one `u32` per 2 to 4 entries (by the fingerprint's top
//! bits) that narrows each lookup to a cache line or two: 25 to 26 bytes
//! per SDR, so 10 million SDRs in the window take about 245 MiB (the file:
//! 229 MiB), 100 million about 2.4 GiB. Loading streams the file into that
//! `Vec` directly (no second copy); a published pending part is merged in
//! place. The SDRs staged by the current run are in an `FxHashMap` at 24
//! bytes per entry plus hashbrown's one control byte and spare capacity,
//! 29 to 57 bytes per SDR: 1 million staged SDRs take 28 to 55 MiB.
//!
//! # Speed
//!
//! Fingerprinting costs about 50 ns per key. A lookup is one or two cache
//! misses; a loop of checks over fingerprints computed beforehand (see
//! [`Key::fingerprint`]) overlaps them and takes ~70 ns per SDR against 1
//! million committed ones, where fingerprinting inside the loop exposes
//! every miss: 250 to 450 ns. `check` takes `&self`, so checks can also
//! run in parallel; staging is serial. Loading and writing stream at
//! hundreds of MB/s (numbers in the ignored test `bench_one_million`).

use std::fs::{self, File, OpenOptions};
use std::hash::Hasher;
use std::io::{BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use chrono::{DateTime, FixedOffset, TimeDelta};
use rustc_hash::FxHashMap;
use siphasher::sip::SipHasher13 as Checksum;
use siphasher::sip128::{Hasher128, SipHasher13 as Fingerprinter};

use crate::sdr::ServiceHeaderModule;

/// The index file in the state directory.
/// Days the duplicate check looks back by default (`--duplicate-window`;
/// `recycle` always uses it).
pub const DEFAULT_WINDOW_DAYS: u32 = 90;

pub const INDEX_FILE: &str = "duplicates.idx";
/// Where `commit` writes before renaming.
const TMP_FILE: &str = ".duplicates.idx.tmp";

const MAGIC: [u8; 8] = *b"SDRDUPIX";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 32;
const RECORD_LEN: usize = 24;
const CHECKSUM_LEN: usize = 8;
/// Run ids are manifest ids; anything longer is a caller's mistake.
pub const MAX_RUN_ID_LEN: usize = 4096;
/// The most SDRs one index holds (the directory counts in u32): 4.3 billion,
/// a 96 GiB file, far beyond any retention window sdrate is meant for.
const MAX_ENTRIES: usize = u32::MAX as usize;
/// Records per read while loading (about 96 KiB).
const CHUNK_RECORDS: usize = 4096;

/// Fixed SipHash keys ("sdrate-duplicate", "sdrate-checksum!"): changing
/// them changes every fingerprint, which needs a new file version.
const FINGERPRINT_KEY: (u64, u64) = (0x7364_7261_7465_2d64, 0x7570_6c69_6361_7465);
const CHECKSUM_KEY: (u64, u64) = (0x7364_7261_7465_2d63, 0x6865_636b_7375_6d21);

/// What identifies an SDR for duplicate checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key<'a> {
    pub producer: &'a str,
    pub sdr_identifier: u32,
    /// Compared as a UTC instant: the offset does not matter.
    pub time_of_origin: DateTime<FixedOffset>,
}

impl<'a> Key<'a> {
    /// The key of an SDR, from its service header.
    pub fn of(header: &'a ServiceHeaderModule) -> Self {
        Key {
            producer: &header.producer_identity,
            sdr_identifier: header.sdr_identifier,
            time_of_origin: header.time_of_origin.0,
        }
    }

    /// The key's fingerprint, to compute ahead of the checks (in parallel
    /// with decoding, say): a run of checks over ready fingerprints lets the
    /// CPU overlap their memory accesses (see the benchmark).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(self.entry())
    }

    fn entry(&self) -> Entry {
        let t = &self.time_of_origin;
        let mut h = Fingerprinter::new_with_keys(FINGERPRINT_KEY.0, FINGERPRINT_KEY.1);
        h.write(&(self.producer.len() as u64).to_le_bytes());
        h.write(self.producer.as_bytes());
        h.write(&self.sdr_identifier.to_le_bytes());
        h.write(&t.timestamp().to_le_bytes());
        h.write(&t.timestamp_subsec_nanos().to_le_bytes());
        let (hi, lo) = h.finish128().as_u64();
        Entry {
            fp: Fp { hi, lo },
            time: t.timestamp(),
        }
    }
}

/// A key's 128-bit fingerprint and its time of origin (UTC seconds): all
/// the index needs. The checking methods take a `&Key` or a `Fingerprint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(Entry);

impl From<&Key<'_>> for Fingerprint {
    fn from(key: &Key<'_>) -> Self {
        key.fingerprint()
    }
}

/// The answer for one SDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Not seen before (staged by `check_and_stage`).
    New,
    /// Committed by a published run, or already staged by this run.
    Duplicate,
    /// Older than the retention window: the index cannot tell. Not staged.
    TooOld,
}

/// The run whose SDRs were pending in the index at `open`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousRun {
    pub run_id: String,
    /// What the caller said: its SDRs joined the index only if true.
    pub published: bool,
    pub entries: usize,
}

/// What `commit` wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    /// Committed SDRs kept in the base.
    pub kept: usize,
    /// Committed SDRs dropped as older than the retention window.
    pub dropped: usize,
    /// This run's SDRs, pending until its outputs are published.
    pub staged: usize,
    /// Size of the new index file.
    pub bytes: u64,
}

/// 128-bit fingerprint; ordered as the u128 `hi:lo`. Two u64 halves keep
/// the entry at 8-byte alignment (24 bytes, where a u128 would make 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
struct Fp {
    hi: u64,
    lo: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Entry {
    fp: Fp,
    /// Time of origin, whole UTC seconds.
    time: i64,
}

impl Entry {
    fn encode(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        let fp = ((self.fp.hi as u128) << 64) | self.fp.lo as u128;
        b[..16].copy_from_slice(&fp.to_le_bytes());
        b[16..].copy_from_slice(&self.time.to_le_bytes());
        b
    }

    fn decode(b: &[u8]) -> Entry {
        let fp = u128::from_le_bytes(b[..16].try_into().expect("16 bytes"));
        Entry {
            fp: Fp {
                hi: (fp >> 64) as u64,
                lo: fp as u64,
            },
            time: i64::from_le_bytes(b[16..24].try_into().expect("8 bytes")),
        }
    }
}

/// Committed entries sorted by fingerprint, with a directory by the top
/// `bits` bits of the fingerprint: bucket `b` is `entries[dir[b]..dir[b + 1]]`,
/// 2 to 4 entries on average, so a lookup touches the directory and one or
/// two cache lines of entries (a binary search over the whole array would
/// take ~20 dependent cache misses, one over 16-entry buckets ~4).
struct Sorted {
    entries: Vec<Entry>,
    bits: u32,
    dir: Vec<u32>,
}

impl Sorted {
    /// `entries` sorted, at most `MAX_ENTRIES` of them.
    fn new(entries: Vec<Entry>) -> Self {
        let n = entries.len();
        debug_assert!(n <= MAX_ENTRIES);
        let bits = if n < 4 {
            0
        } else {
            usize::BITS - 1 - n.leading_zeros() - 1
        };
        let mut dir = vec![0u32; (1usize << bits) + 1];
        for e in &entries {
            dir[Self::bucket(bits, e.fp) + 1] += 1;
        }
        for i in 1..dir.len() {
            dir[i] += dir[i - 1];
        }
        Sorted { entries, bits, dir }
    }

    fn bucket(bits: u32, fp: Fp) -> usize {
        if bits == 0 {
            0
        } else {
            (fp.hi >> (64 - bits)) as usize
        }
    }

    fn contains(&self, fp: Fp) -> bool {
        let b = Self::bucket(self.bits, fp);
        self.entries[self.dir[b] as usize..self.dir[b + 1] as usize]
            .iter()
            .any(|e| e.fp == fp)
    }
}

/// The duplicate index of one state directory, open for one run.
pub struct DuplicateIndex {
    dir: PathBuf,
    committed: Sorted,
    /// This run's cutoff: SDRs before it are `TooOld`.
    cutoff: Option<i64>,
    staged: FxHashMap<Fp, i64>,
    previous: Option<PreviousRun>,
}

impl DuplicateIndex {
    /// Loads the index of `state_dir` (empty when there is none yet).
    ///
    /// `is_published` is asked, at most once, whether the run that wrote
    /// the pending part of the index published its outputs; its SDRs count
    /// only if so. Never writes: a dry run leaves the directory untouched.
    pub fn open(
        state_dir: &Path,
        retention: TimeDelta,
        is_published: impl FnOnce(&str) -> Result<bool>,
    ) -> Result<Self> {
        ensure!(
            retention >= TimeDelta::zero(),
            "the duplicate retention must not be negative (got {retention})"
        );
        let path = state_dir.join(INDEX_FILE);
        let (entries, previous) = match load(&path)? {
            None => (Vec::new(), None),
            Some(mut loaded) => {
                let mut previous = None;
                if !loaded.run_id.is_empty() {
                    let published = is_published(&loaded.run_id).with_context(|| {
                        format!(
                            "cannot tell whether run {} (pending in {}) was published",
                            loaded.run_id,
                            path.display()
                        )
                    })?;
                    if published {
                        merge_into(&mut loaded.base, &loaded.pending);
                    }
                    previous = Some(PreviousRun {
                        run_id: loaded.run_id,
                        published,
                        entries: loaded.pending.len(),
                    });
                }
                (loaded.base, previous)
            }
        };
        let retention_secs = retention.num_seconds();
        let cutoff = entries
            .iter()
            .map(|e| e.time)
            .max()
            .map(|newest| newest.saturating_sub(retention_secs));
        Ok(DuplicateIndex {
            dir: state_dir.to_path_buf(),
            committed: Sorted::new(entries),
            cutoff,
            staged: FxHashMap::default(),
            previous,
        })
    }

    /// The verdict for an SDR, without staging it.
    pub fn check(&self, key: impl Into<Fingerprint>) -> Verdict {
        self.check_entry(&key.into().0)
    }

    /// The verdict for an SDR; a `New` one is staged for this run, so a
    /// second copy later in the run is a `Duplicate`.
    pub fn check_and_stage(&mut self, key: impl Into<Fingerprint>) -> Verdict {
        let e = key.into().0;
        let verdict = self.check_entry(&e);
        if verdict == Verdict::New {
            self.staged.insert(e.fp, e.time);
        }
        verdict
    }

    /// Takes back an SDR staged by this run (one that then faulted and was
    /// not billed). False if it was not staged.
    pub fn unstage(&mut self, key: impl Into<Fingerprint>) -> bool {
        self.staged.remove(&key.into().0.fp).is_some()
    }

    fn check_entry(&self, e: &Entry) -> Verdict {
        if self.cutoff.is_some_and(|c| e.time < c) {
            Verdict::TooOld
        } else if self.staged.contains_key(&e.fp) || self.committed.contains(e.fp) {
            Verdict::Duplicate
        } else {
            Verdict::New
        }
    }

    /// Committed SDRs plus this run's staged ones.
    pub fn len(&self) -> usize {
        self.committed.entries.len() + self.staged.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn committed_len(&self) -> usize {
        self.committed.entries.len()
    }

    pub fn staged_len(&self) -> usize {
        self.staged.len()
    }

    /// This run's retention cutoff (UTC seconds), if the index is not empty.
    pub fn cutoff(&self) -> Option<DateTime<chrono::Utc>> {
        self.cutoff.and_then(|c| DateTime::from_timestamp(c, 0))
    }

    /// The run that was pending at `open`, and whether it counted.
    pub fn previous_run(&self) -> Option<&PreviousRun> {
        self.previous.as_ref()
    }

    /// Makes this run's staged SDRs durable, pending the publication of
    /// `run_id`: call it after the outputs are written and before they are
    /// published; publish only if it succeeds. Atomic: a crash leaves the
    /// old index or the new one.
    pub fn commit(self, run_id: &str) -> Result<CommitStats> {
        ensure!(
            !run_id.is_empty() && run_id.len() <= MAX_RUN_ID_LEN,
            "a run id must have 1 to {MAX_RUN_ID_LEN} bytes (got {})",
            run_id.len()
        );
        let path = self.dir.join(INDEX_FILE);
        let tmp = self.dir.join(TMP_FILE);
        let keep = |e: &&Entry| self.cutoff.is_none_or(|c| e.time >= c);
        let kept = self.committed.entries.iter().filter(keep).count();
        let mut pending: Vec<Entry> = self
            .staged
            .iter()
            .map(|(&fp, &time)| Entry { fp, time })
            .collect();
        pending.sort_unstable_by_key(|e| e.fp);
        ensure!(
            kept + pending.len() <= MAX_ENTRIES,
            "the duplicate index would hold more than {MAX_ENTRIES} SDRs; shorten the retention"
        );

        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create state directory {}", self.dir.display()))?;
        let write = || -> std::io::Result<u64> {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            let mut w = SummingWriter {
                inner: BufWriter::with_capacity(1 << 20, file),
                sum: Checksum::new_with_keys(CHECKSUM_KEY.0, CHECKSUM_KEY.1),
                bytes: 0,
            };
            let mut header = [0u8; HEADER_LEN];
            header[..8].copy_from_slice(&MAGIC);
            header[8..12].copy_from_slice(&VERSION.to_le_bytes());
            header[12..16].copy_from_slice(&(run_id.len() as u32).to_le_bytes());
            header[16..24].copy_from_slice(&(kept as u64).to_le_bytes());
            header[24..32].copy_from_slice(&(pending.len() as u64).to_le_bytes());
            w.put(&header)?;
            w.put(run_id.as_bytes())?;
            for e in self.committed.entries.iter().filter(keep) {
                w.put(&e.encode())?;
            }
            for e in &pending {
                w.put(&e.encode())?;
            }
            let sum = w.sum.finish().to_le_bytes();
            w.inner.write_all(&sum)?;
            let file = w.inner.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            Ok(w.bytes + CHECKSUM_LEN as u64)
        };
        let bytes = write().with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, &path).with_context(|| format!("cannot replace {}", path.display()))?;
        // The rename is durable only once the directory is synced.
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync state directory {}", self.dir.display()))?;
        Ok(CommitStats {
            kept,
            dropped: self.committed.entries.len() - kept,
            staged: pending.len(),
            bytes,
        })
    }
}

struct SummingWriter {
    inner: BufWriter<File>,
    sum: Checksum,
    bytes: u64,
}

impl SummingWriter {
    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.sum.write(b);
        self.bytes += b.len() as u64;
        self.inner.write_all(b)
    }
}

struct Loaded {
    run_id: String,
    /// With spare capacity for `pending`, so merging does not reallocate.
    base: Vec<Entry>,
    pending: Vec<Entry>,
}

/// Reads and verifies an index file; `None` if there is none.
fn load(path: &Path) -> Result<Option<Loaded>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    let ctx = || format!("cannot read duplicate index {}", path.display());
    let actual = file.metadata().with_context(ctx)?.len();
    if actual < (HEADER_LEN + CHECKSUM_LEN) as u64 {
        bail!(
            "duplicate index {} is truncated: {actual} bytes, shorter than any index",
            path.display()
        );
    }
    let mut header = [0u8; HEADER_LEN];
    file.read_exact(&mut header).with_context(ctx)?;
    if header[..8] != MAGIC {
        bail!(
            "{} is not a duplicate index written by sdrate (bad magic)",
            path.display()
        );
    }
    let version = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        bail!(
            "duplicate index {} has format version {version}; this sdrate reads version {VERSION}",
            path.display()
        );
    }
    let run_id_len = u32::from_le_bytes(header[12..16].try_into().expect("4 bytes")) as u64;
    let base_count = u64::from_le_bytes(header[16..24].try_into().expect("8 bytes"));
    let pending_count = u64::from_le_bytes(header[24..32].try_into().expect("8 bytes"));
    let expected = (HEADER_LEN + CHECKSUM_LEN) as u128
        + run_id_len as u128
        + RECORD_LEN as u128 * (base_count as u128 + pending_count as u128);
    if expected != actual as u128 {
        bail!(
            "duplicate index {} is truncated or damaged: its header calls for {expected} bytes, \
             the file has {actual}",
            path.display()
        );
    }
    if base_count as u128 + pending_count as u128 > MAX_ENTRIES as u128 {
        bail!(
            "duplicate index {} holds more than {MAX_ENTRIES} SDRs; shorten the retention",
            path.display()
        );
    }
    // The counts now fit in the file, so the allocations below are bounded.
    let mut sum = Checksum::new_with_keys(CHECKSUM_KEY.0, CHECKSUM_KEY.1);
    sum.write(&header);
    let mut run_id = vec![0u8; run_id_len as usize];
    file.read_exact(&mut run_id).with_context(ctx)?;
    sum.write(&run_id);
    let (base_count, pending_count) = (base_count as usize, pending_count as usize);
    let mut base = Vec::with_capacity(base_count + pending_count);
    let mut pending = Vec::with_capacity(pending_count);
    read_entries(&mut file, base_count, &mut sum, &mut base, path, "base")?;
    read_entries(
        &mut file,
        pending_count,
        &mut sum,
        &mut pending,
        path,
        "pending",
    )?;
    let mut stored = [0u8; CHECKSUM_LEN];
    file.read_exact(&mut stored).with_context(ctx)?;
    if u64::from_le_bytes(stored) != sum.finish() {
        bail!(
            "duplicate index {} is damaged: checksum mismatch",
            path.display()
        );
    }
    let run_id = String::from_utf8(run_id).map_err(|_| {
        anyhow::anyhow!(
            "duplicate index {} is damaged: the run id is not UTF-8",
            path.display()
        )
    })?;
    Ok(Some(Loaded {
        run_id,
        base,
        pending,
    }))
}

fn read_entries(
    file: &mut File,
    count: usize,
    sum: &mut Checksum,
    out: &mut Vec<Entry>,
    path: &Path,
    part: &str,
) -> Result<()> {
    let mut buf = vec![0u8; RECORD_LEN * CHUNK_RECORDS.min(count)];
    let mut left = count;
    let mut prev: Option<Fp> = None;
    while left > 0 {
        let n = left.min(CHUNK_RECORDS);
        let chunk = &mut buf[..n * RECORD_LEN];
        file.read_exact(chunk)
            .with_context(|| format!("cannot read duplicate index {}", path.display()))?;
        sum.write(chunk);
        for rec in chunk.chunks_exact(RECORD_LEN) {
            let e = Entry::decode(rec);
            if prev.is_some_and(|p| p >= e.fp) {
                bail!(
                    "duplicate index {} is damaged: its {part} records are out of order",
                    path.display()
                );
            }
            prev = Some(e.fp);
            out.push(e);
        }
        left -= n;
    }
    Ok(())
}

/// Merges the sorted `add` into the sorted `base` in place (from the back,
/// so no second copy of `base`), dropping repeats.
fn merge_into(base: &mut Vec<Entry>, add: &[Entry]) {
    if add.is_empty() {
        return;
    }
    let mut i = base.len();
    let mut j = add.len();
    base.resize(i + j, Entry::default());
    let mut k = base.len();
    while j > 0 {
        k -= 1;
        if i > 0 && base[i - 1].fp > add[j - 1].fp {
            base[k] = base[i - 1];
            i -= 1;
        } else {
            base[k] = add[j - 1];
            j -= 1;
        }
    }
    base.dedup_by_key(|e| e.fp);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::{BTreeSet, HashSet};

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn key<'a>(producer: &'a str, id: u32, time: &str) -> Key<'a> {
        Key {
            producer,
            sdr_identifier: id,
            time_of_origin: t(time),
        }
    }

    fn open(dir: &Path, published: &[&str]) -> DuplicateIndex {
        let published: Vec<String> = published.iter().map(|s| s.to_string()).collect();
        DuplicateIndex::open(dir, TimeDelta::days(30), |id| {
            Ok(published.iter().any(|p| p == id))
        })
        .unwrap()
    }

    fn all_published(dir: &Path) -> DuplicateIndex {
        DuplicateIndex::open(dir, TimeDelta::days(30), |_| Ok(true)).unwrap()
    }

    #[test]
    fn new_then_duplicate_within_a_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = all_published(dir.path());
        assert!(ix.is_empty());
        assert_eq!(ix.cutoff(), None);
        let k = key("node-1", 7, "2026-11-22T14:30:00+01:00");
        assert_eq!(ix.check(&k), Verdict::New);
        assert_eq!(ix.check(&k), Verdict::New, "check alone does not stage");
        assert_eq!(ix.check_and_stage(&k), Verdict::New);
        assert_eq!(ix.check_and_stage(&k), Verdict::Duplicate);
        assert_eq!(ix.check(&k), Verdict::Duplicate);
        assert_eq!((ix.len(), ix.staged_len(), ix.committed_len()), (1, 1, 0));
        // Nothing on disk until commit.
        assert!(!dir.path().join(INDEX_FILE).exists());
    }

    #[test]
    fn duplicate_across_runs_after_a_published_commit() {
        let dir = tempfile::tempdir().unwrap();
        let k = key("node-1", 7, "2026-11-22T14:30:00+01:00");
        let mut ix = open(dir.path(), &[]);
        assert_eq!(ix.check_and_stage(&k), Verdict::New);
        let stats = ix.commit("run-1").unwrap();
        assert_eq!(
            stats,
            CommitStats {
                kept: 0,
                dropped: 0,
                staged: 1,
                bytes: (HEADER_LEN + 5 + RECORD_LEN + CHECKSUM_LEN) as u64
            }
        );
        assert_eq!(
            fs::metadata(dir.path().join(INDEX_FILE)).unwrap().len(),
            stats.bytes
        );

        let mut ix = open(dir.path(), &["run-1"]);
        assert_eq!(
            ix.previous_run(),
            Some(&PreviousRun {
                run_id: "run-1".into(),
                published: true,
                entries: 1
            })
        );
        assert_eq!(ix.committed_len(), 1);
        assert_eq!(ix.check_and_stage(&k), Verdict::Duplicate);
        // Still a duplicate two runs later, once run-1 moved into the base.
        ix.commit("run-2").unwrap();
        let ix = open(dir.path(), &["run-1", "run-2"]);
        assert_eq!(ix.check(&k), Verdict::Duplicate);
        assert_eq!(ix.committed_len(), 1);
    }

    #[test]
    fn a_run_that_did_not_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let k = key("node-1", 7, "2026-11-22T14:30:00Z");
        let mut ix = open(dir.path(), &[]);
        assert_eq!(ix.check_and_stage(&k), Verdict::New);
        drop(ix); // killed before commit
        let mut ix = open(dir.path(), &[]);
        assert_eq!(ix.check_and_stage(&k), Verdict::New);
        assert!(ix.previous_run().is_none());
    }

    #[test]
    fn a_committed_run_that_was_not_published_does_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = key("node-1", 1, "2026-11-22T14:30:00Z");
        let k2 = key("node-1", 2, "2026-11-22T14:31:00Z");
        let mut ix = open(dir.path(), &[]);
        ix.check_and_stage(&k1);
        ix.commit("run-1").unwrap();
        // run-1 published; run-2 commits, then dies before publishing.
        let mut ix = open(dir.path(), &["run-1"]);
        assert_eq!(ix.check_and_stage(&k2), Verdict::New);
        ix.commit("run-2").unwrap();
        let mut calls = Vec::new();
        let mut ix = DuplicateIndex::open(dir.path(), TimeDelta::days(30), |id| {
            calls.push(id.to_string());
            Ok(id == "run-1")
        })
        .unwrap();
        assert_eq!(calls, ["run-2"]);
        assert_eq!(
            ix.previous_run().map(|p| (p.published, p.entries)),
            Some((false, 1))
        );
        assert_eq!(ix.check(&k1), Verdict::Duplicate);
        // The rerun (run-3) bills k2 after all, and its commit drops run-2.
        assert_eq!(ix.check_and_stage(&k2), Verdict::New);
        ix.commit("run-3").unwrap();
        let ix = open(dir.path(), &["run-1", "run-3"]);
        assert_eq!(ix.check(&k2), Verdict::Duplicate);
        assert_eq!(ix.committed_len(), 2);
    }

    #[test]
    fn the_publication_question_can_fail() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = open(dir.path(), &[]);
        ix.check_and_stage(&key("a", 1, "2026-01-01T00:00:00Z"));
        ix.commit("run-1").unwrap();
        let err = DuplicateIndex::open(dir.path(), TimeDelta::days(1), |_| {
            bail!("manifest directory unreadable")
        })
        .err()
        .unwrap();
        let msg = format!("{err:#}");
        assert!(msg.contains("run-1") && msg.contains(INDEX_FILE), "{msg}");
        assert!(msg.contains("manifest directory unreadable"), "{msg}");
    }

    #[test]
    fn unstage_takes_back_a_faulted_sdr() {
        let dir = tempfile::tempdir().unwrap();
        let k = key("a", 1, "2026-01-01T00:00:00Z");
        let mut ix = open(dir.path(), &[]);
        assert_eq!(ix.check_and_stage(&k), Verdict::New);
        assert!(ix.unstage(&k));
        assert!(!ix.unstage(&k));
        assert_eq!(ix.check(&k), Verdict::New);
        ix.commit("run-1").unwrap();
        let mut ix = open(dir.path(), &["run-1"]);
        assert_eq!(ix.check_and_stage(&k), Verdict::New);
        // Committed SDRs cannot be unstaged.
        ix.commit("run-2").unwrap();
        let mut ix = open(dir.path(), &["run-1", "run-2"]);
        assert!(!ix.unstage(&k));
        assert_eq!(ix.check(&k), Verdict::Duplicate);
    }

    #[test]
    fn a_fingerprint_answers_as_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let k = key("node-1", 7, "2026-11-22T14:30:00+01:00");
        let fp = k.fingerprint();
        assert_eq!(fp, key("node-1", 7, "2026-11-22T13:30:00Z").fingerprint());
        assert_ne!(fp, key("node-1", 8, "2026-11-22T13:30:00Z").fingerprint());
        let mut ix = open(dir.path(), &[]);
        assert_eq!(ix.check(fp), Verdict::New);
        assert_eq!(ix.check_and_stage(fp), Verdict::New);
        assert_eq!(ix.check(&k), Verdict::Duplicate);
        assert_eq!(ix.check_and_stage(&k), Verdict::Duplicate);
        assert!(ix.unstage(fp));
        assert_eq!(ix.check_and_stage(&k), Verdict::New);
        ix.commit("r1").unwrap();
        assert_eq!(open(dir.path(), &["r1"]).check(fp), Verdict::Duplicate);
    }

    #[test]
    fn every_part_of_the_key_matters() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = open(dir.path(), &[]);
        assert_eq!(
            ix.check_and_stage(&key("node-1", 7, "2026-11-22T14:30:00Z")),
            Verdict::New
        );
        ix.commit("r1").unwrap();
        let mut ix = open(dir.path(), &["r1"]);
        for k in [
            key("node-2", 7, "2026-11-22T14:30:00Z"),
            key("node-1", 8, "2026-11-22T14:30:00Z"),
            key("node-1", 7, "2026-11-22T14:30:01Z"),
            key("node-1", 7, "2026-11-22T14:30:00.5Z"),
            key("node-1", 7, "2026-11-22T14:30:00+01:00"),
            // Length prefix: "node-1" + 7 must not collide with "node-" ...
            key("node-", 7, "2026-11-22T14:30:00Z"),
            key("", 7, "2026-11-22T14:30:00Z"),
        ] {
            assert_eq!(ix.check_and_stage(&k), Verdict::New, "{k:?}");
        }
        assert_eq!(ix.len(), 8);
    }

    #[test]
    fn the_same_instant_in_another_offset_is_a_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = open(dir.path(), &[]);
        assert_eq!(
            ix.check_and_stage(&key("node-1", 7, "2026-11-22T14:30:00+01:00")),
            Verdict::New
        );
        assert_eq!(
            ix.check_and_stage(&key("node-1", 7, "2026-11-22T13:30:00Z")),
            Verdict::Duplicate
        );
        ix.commit("r1").unwrap();
        let ix = open(dir.path(), &["r1"]);
        assert_eq!(
            ix.check(&key("node-1", 7, "2026-11-22T08:30:00-05:00")),
            Verdict::Duplicate
        );
        assert_eq!(
            ix.check(&key("node-1", 7, "2026-11-23T00:00:00+10:30")),
            Verdict::Duplicate
        );
    }

    #[test]
    fn retention_drops_old_entries_and_reports_too_old() {
        let dir = tempfile::tempdir().unwrap();
        let d = |day: u32| format!("2026-01-{day:02}T12:00:00Z");
        let (d1, d10, d11, d12, d20) = (d(1), d(10), d(11), d(12), d(20));
        let mut ix = DuplicateIndex::open(dir.path(), TimeDelta::days(10), |_| Ok(true)).unwrap();
        for (i, day) in [&d1, &d10, &d11].into_iter().enumerate() {
            assert_eq!(ix.check_and_stage(&key("a", i as u32, day)), Verdict::New);
        }
        ix.commit("r1").unwrap();

        // Newest is Jan 11 12:00, so the cutoff is Jan 1 12:00: Jan 1 stays.
        let mut ix = DuplicateIndex::open(dir.path(), TimeDelta::days(10), |_| Ok(true)).unwrap();
        assert_eq!(ix.cutoff(), Some(t(&d1).to_utc()));
        assert_eq!(ix.check(&key("a", 0, &d1)), Verdict::Duplicate);
        assert_eq!(
            ix.check(&key("a", 99, "2026-01-01T11:59:59Z")),
            Verdict::TooOld
        );
        // A newer SDR this run does not move this run's cutoff.
        assert_eq!(ix.check_and_stage(&key("a", 3, &d20)), Verdict::New);
        assert_eq!(ix.check(&key("a", 0, &d1)), Verdict::Duplicate);
        let stats = ix.commit("r2").unwrap();
        assert_eq!((stats.kept, stats.dropped, stats.staged), (3, 0, 1));

        // Newest is now Jan 20: cutoff Jan 10 12:00. Jan 1 is too old.
        let mut ix = DuplicateIndex::open(dir.path(), TimeDelta::days(10), |_| Ok(true)).unwrap();
        assert_eq!(ix.cutoff(), Some(t(&d10).to_utc()));
        assert_eq!(ix.check_and_stage(&key("a", 0, &d1)), Verdict::TooOld);
        assert_eq!(ix.staged_len(), 0, "too old is not staged");
        assert_eq!(ix.check(&key("a", 1, &d10)), Verdict::Duplicate);
        assert_eq!(ix.check(&key("a", 2, &d11)), Verdict::Duplicate);
        assert_eq!(ix.check_and_stage(&key("a", 4, &d12)), Verdict::New);
        let stats = ix.commit("r3").unwrap();
        assert_eq!((stats.kept, stats.dropped, stats.staged), (3, 1, 1));

        let ix = DuplicateIndex::open(dir.path(), TimeDelta::days(10), |_| Ok(true)).unwrap();
        assert_eq!(ix.committed_len(), 4);
        assert_eq!(ix.check(&key("a", 0, &d1)), Verdict::TooOld);
        assert_eq!(ix.check(&key("a", 4, &d12)), Verdict::Duplicate);
    }

    #[test]
    fn negative_retention_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(DuplicateIndex::open(dir.path(), TimeDelta::seconds(-1), |_| Ok(true)).is_err());
    }

    #[test]
    fn bad_run_ids_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(open(dir.path(), &[]).commit("").is_err());
        assert!(
            open(dir.path(), &[])
                .commit(&"x".repeat(MAX_RUN_ID_LEN + 1))
                .is_err()
        );
        assert!(!dir.path().join(INDEX_FILE).exists());
    }

    /// Writes an index of three SDRs, one pending, and returns its bytes.
    fn sample(dir: &Path) -> Vec<u8> {
        let mut ix = open(dir, &[]);
        ix.check_and_stage(&key("a", 1, "2026-01-01T00:00:00Z"));
        ix.check_and_stage(&key("a", 2, "2026-01-01T00:00:00Z"));
        ix.commit("r1").unwrap();
        let mut ix = open(dir, &["r1"]);
        ix.check_and_stage(&key("a", 3, "2026-01-01T00:00:00Z"));
        ix.commit("r2").unwrap();
        fs::read(dir.join(INDEX_FILE)).unwrap()
    }

    fn open_err(dir: &Path) -> String {
        let err = DuplicateIndex::open(dir, TimeDelta::days(1), |_| Ok(true))
            .err()
            .expect("an error");
        let msg = format!("{err:#}");
        assert!(
            msg.contains(&dir.join(INDEX_FILE).display().to_string()),
            "{msg}"
        );
        msg
    }

    #[test]
    fn a_damaged_index_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = sample(dir.path());
        assert_eq!(good.len(), HEADER_LEN + 2 + 3 * RECORD_LEN + CHECKSUM_LEN);
        let path = dir.path().join(INDEX_FILE);

        // A flipped bit in a record.
        let mut bad = good.clone();
        bad[HEADER_LEN + 2 + 5] ^= 0x10;
        fs::write(&path, &bad).unwrap();
        assert!(open_err(dir.path()).contains("checksum"));

        // A flipped bit in the checksum itself.
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 1;
        fs::write(&path, &bad).unwrap();
        assert!(open_err(dir.path()).contains("checksum"));

        // Wrong magic, other version.
        let mut bad = good.clone();
        bad[0] = b'X';
        fs::write(&path, &bad).unwrap();
        assert!(open_err(dir.path()).contains("magic"));
        let mut bad = good.clone();
        bad[8] = 2;
        fs::write(&path, &bad).unwrap();
        assert!(open_err(dir.path()).contains("version 2"));

        // Counts that do not match the length.
        let mut bad = good.clone();
        bad[16] = 0xff;
        fs::write(&path, &bad).unwrap();
        assert!(open_err(dir.path()).contains("truncated or damaged"));

        // Records out of order, with a checksum that matches.
        let mut bad = good.clone();
        let r = HEADER_LEN + 2;
        let (first, second) = bad[r..r + 2 * RECORD_LEN].split_at_mut(RECORD_LEN);
        first.swap_with_slice(second);
        let n = bad.len() - CHECKSUM_LEN;
        let mut sum = Checksum::new_with_keys(CHECKSUM_KEY.0, CHECKSUM_KEY.1);
        sum.write(&bad[..n]);
        bad[n..].copy_from_slice(&sum.finish().to_le_bytes());
        fs::write(&path, &bad).unwrap();
        assert!(open_err(dir.path()).contains("out of order"));

        // The intact file still loads.
        fs::write(&path, &good).unwrap();
        assert_eq!(all_published(dir.path()).committed_len(), 3);
    }

    #[test]
    fn a_truncated_index_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = sample(dir.path());
        let path = dir.path().join(INDEX_FILE);
        for len in [0, 1, 8, HEADER_LEN, HEADER_LEN + 2, good.len() - 1] {
            fs::write(&path, &good[..len]).unwrap();
            let msg = open_err(dir.path());
            assert!(msg.contains("truncated"), "{len}: {msg}");
        }
        // And one with bytes appended.
        let mut long = good.clone();
        long.extend_from_slice(&[0; RECORD_LEN]);
        fs::write(&path, &long).unwrap();
        assert!(open_err(dir.path()).contains("truncated or damaged"));
    }

    #[test]
    fn an_unreadable_index_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(INDEX_FILE)).unwrap();
        open_err(dir.path());
    }

    #[test]
    fn a_leftover_temporary_file_is_ignored_and_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let good = sample(dir.path());
        let tmp = dir.path().join(TMP_FILE);

        // A crash half way through writing the temporary file...
        fs::write(&tmp, &good[..good.len() / 2]).unwrap();
        let ix = all_published(dir.path());
        assert_eq!(ix.committed_len(), 3);
        // ...and one after writing it in full, before the rename: the new
        // index (with "z") never took effect.
        let other = tempfile::tempdir().unwrap();
        let mut ox = all_published(other.path());
        ox.check_and_stage(&key("z", 1, "2026-01-01T00:00:00Z"));
        ox.commit("other").unwrap();
        fs::copy(other.path().join(INDEX_FILE), &tmp).unwrap();
        let mut ix = all_published(dir.path());
        assert_eq!(ix.committed_len(), 3);
        assert_eq!(ix.check(&key("z", 1, "2026-01-01T00:00:00Z")), Verdict::New);
        // Opening wrote nothing.
        assert_eq!(fs::read(dir.path().join(INDEX_FILE)).unwrap(), good);
        assert!(tmp.exists());

        ix.check_and_stage(&key("a", 4, "2026-01-01T00:00:00Z"));
        ix.commit("r3").unwrap();
        assert!(!tmp.exists());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [INDEX_FILE]);
        assert_eq!(all_published(dir.path()).committed_len(), 4);
    }

    #[test]
    fn commit_creates_the_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state").join("deeper");
        let mut ix = all_published(&state);
        ix.check_and_stage(&key("a", 1, "2026-01-01T00:00:00Z"));
        ix.commit("r1").unwrap();
        assert_eq!(all_published(&state).committed_len(), 1);
    }

    #[test]
    fn key_of_a_service_header() {
        let header: ServiceHeaderModule = serde_json::from_value(serde_json::json!({
            "moduleIdentifier": "serviceHeader",
            "revisionState": 1,
            "sdrType": "billing",
            "sdrIdentifier": 42,
            "producerIdentity": "node-9",
            "timeOfOrigin": "2026-11-22T14:30:00+01:00",
            "actionIndicator": "priceAndForward",
        }))
        .unwrap();
        assert_eq!(
            Key::of(&header),
            key("node-9", 42, "2026-11-22T14:30:00+01:00")
        );
    }

    #[test]
    fn the_directory_finds_every_entry() {
        for n in [0usize, 1, 3, 4, 5, 15, 16, 17, 100, 1000, 5000] {
            let mut entries: Vec<Entry> = (0..n as u32)
                .map(|i| key("p", i, "2026-01-01T00:00:00Z").entry())
                .collect();
            entries.sort_unstable_by_key(|e| e.fp);
            let s = Sorted::new(entries.clone());
            assert_eq!(*s.dir.last().unwrap() as usize, n);
            assert!(entries.iter().all(|e| s.contains(e.fp)));
            let absent = key("q", 0, "2026-01-01T00:00:00Z").entry();
            assert!(!s.contains(absent.fp));
            assert!(!s.contains(Fp { hi: 0, lo: 0 }));
            assert!(!s.contains(Fp {
                hi: u64::MAX,
                lo: u64::MAX
            }));
        }
    }

    #[test]
    fn merge_keeps_order_and_drops_repeats() {
        let e = |hi: u64| Entry {
            fp: Fp { hi, lo: 0 },
            time: hi as i64,
        };
        let mut base = vec![e(1), e(4), e(6)];
        merge_into(&mut base, &[e(0), e(4), e(5), e(9)]);
        let his: Vec<u64> = base.iter().map(|x| x.fp.hi).collect();
        assert_eq!(his, [0, 1, 4, 5, 6, 9]);
        let mut empty = Vec::new();
        merge_into(&mut empty, &[e(2)]);
        assert_eq!(empty, [e(2)]);
    }

    mod model {
        use super::*;
        use proptest::prelude::*;

        /// A key drawn from a small space so repeats are common.
        #[derive(Debug, Clone)]
        struct K {
            producer: usize,
            id: u32,
            secs: i64,
            half: bool,
            offset_hours: i32,
        }

        const PRODUCERS: [&str; 3] = ["a", "b", "né"];
        const BASE: i64 = 1_790_000_000;

        impl K {
            fn time(&self) -> DateTime<FixedOffset> {
                FixedOffset::east_opt(self.offset_hours * 3600)
                    .unwrap()
                    .timestamp_opt(BASE + self.secs, if self.half { 500_000_000 } else { 0 })
                    .unwrap()
            }
            fn key(&self) -> Key<'static> {
                Key {
                    producer: PRODUCERS[self.producer],
                    sdr_identifier: self.id,
                    time_of_origin: self.time(),
                }
            }
            fn model(&self) -> (&'static str, u32, i64, bool) {
                (PRODUCERS[self.producer], self.id, self.secs, self.half)
            }
        }

        #[derive(Debug, Clone, Copy)]
        enum Op {
            Check,
            CheckAndStage,
            Unstage,
        }

        #[derive(Debug, Clone, Copy, PartialEq)]
        enum End {
            Crash,
            CommitNotPublished,
            CommitPublished,
        }

        fn k() -> impl Strategy<Value = K> {
            (0..3usize, 0..3u32, 0..40i64, any::<bool>(), -3..4i32).prop_map(
                |(producer, id, secs, half, offset_hours)| K {
                    producer,
                    id,
                    secs,
                    half,
                    offset_hours,
                },
            )
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                2 => Just(Op::Check),
                6 => Just(Op::CheckAndStage),
                1 => Just(Op::Unstage),
            ]
        }

        fn end() -> impl Strategy<Value = End> {
            prop_oneof![
                1 => Just(End::Crash),
                1 => Just(End::CommitNotPublished),
                3 => Just(End::CommitPublished),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]
            #[test]
            fn verdicts_match_a_simple_model(
                retention in 0..30i64,
                runs in prop::collection::vec(
                    (prop::collection::vec((op(), k()), 0..25), end()),
                    1..7,
                ),
            ) {
                let dir = tempfile::tempdir().unwrap();
                let mut published: HashSet<String> = HashSet::new();
                // The model: every SDR of every published run, forever.
                let mut committed: BTreeSet<(&str, u32, i64, bool)> = BTreeSet::new();
                for (n, (ops, end)) in runs.iter().enumerate() {
                    let run_id = format!("run-{n}");
                    let mut ix = DuplicateIndex::open(
                        dir.path(),
                        TimeDelta::seconds(retention),
                        |id| Ok(published.contains(id)),
                    )
                    .unwrap();
                    let cutoff = committed.iter().map(|k| k.2).max().map(|m| m - retention);
                    let mut staged: BTreeSet<(&str, u32, i64, bool)> = BTreeSet::new();
                    for (op, k) in ops {
                        let m = k.model();
                        let expected = if cutoff.is_some_and(|c| m.2 < c) {
                            Verdict::TooOld
                        } else if committed.contains(&m) || staged.contains(&m) {
                            Verdict::Duplicate
                        } else {
                            Verdict::New
                        };
                        match op {
                            Op::Check => prop_assert_eq!(ix.check(&k.key()), expected, "{:?}", k),
                            Op::CheckAndStage => {
                                prop_assert_eq!(ix.check_and_stage(&k.key()), expected, "{:?}", k);
                                if expected == Verdict::New {
                                    staged.insert(m);
                                }
                            }
                            Op::Unstage => {
                                prop_assert_eq!(ix.unstage(&k.key()), staged.remove(&m), "{:?}", k);
                            }
                        }
                    }
                    prop_assert_eq!(ix.staged_len(), staged.len());
                    match end {
                        End::Crash => drop(ix),
                        End::CommitNotPublished => {
                            ix.commit(&run_id).unwrap();
                        }
                        End::CommitPublished => {
                            ix.commit(&run_id).unwrap();
                            published.insert(run_id);
                            committed.extend(staged);
                        }
                    }
                }
                // The file holds no more than the model within the window.
                let ix = DuplicateIndex::open(
                    dir.path(),
                    TimeDelta::seconds(retention),
                    |id| Ok(published.contains(id)),
                )
                .unwrap();
                prop_assert!(ix.committed_len() <= committed.len());
                if let Some(newest) = committed.iter().map(|k| k.2).max() {
                    let window = committed.iter().filter(|k| k.2 >= newest - retention).count();
                    prop_assert!(ix.committed_len() >= window);
                }
            }
        }
    }

    /// `cargo test --release --lib duplicates::tests::bench -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn bench_one_million() {
        use chrono::Utc;
        use std::time::Instant;
        const N: u32 = 1_000_000;
        let dir = tempfile::tempdir().unwrap();
        let producers: Vec<String> = (0..16)
            .map(|i| format!("node-{i:02}.example.net"))
            .collect();
        let base = Utc
            .with_ymd_and_hms(2026, 11, 22, 0, 0, 0)
            .unwrap()
            .fixed_offset();
        let keys: Vec<Key> = (0..N + 100_000)
            .map(|i| Key {
                producer: &producers[(i % 16) as usize],
                sdr_identifier: i,
                time_of_origin: base + TimeDelta::milliseconds(i as i64 * 80),
            })
            .collect();
        let (first, second) = keys.split_at(N as usize);

        let start = Instant::now();
        let folded = first.iter().fold(0u64, |a, k| a ^ k.entry().fp.lo);
        let fingerprint = start.elapsed();
        assert_ne!(folded, 0);

        let start = Instant::now();
        let mut ix = DuplicateIndex::open(dir.path(), TimeDelta::days(30), |_| Ok(true)).unwrap();
        let new = first
            .iter()
            .filter(|&k| ix.check_and_stage(k) == Verdict::New)
            .count();
        let staging = start.elapsed();
        assert_eq!(new, N as usize);
        let start = Instant::now();
        let stats = ix.commit("bench-1").unwrap();
        let commit = start.elapsed();

        let start = Instant::now();
        let ix = DuplicateIndex::open(dir.path(), TimeDelta::days(30), |_| Ok(true)).unwrap();
        let reopen = start.elapsed();
        assert_eq!(ix.committed_len(), N as usize);
        let start = Instant::now();
        let dups = first
            .iter()
            .filter(|&k| ix.check(k) == Verdict::Duplicate)
            .count();
        let checking = start.elapsed();
        assert_eq!(dups, N as usize);
        let fps: Vec<Fingerprint> = first.iter().map(Key::fingerprint).collect();
        let start = Instant::now();
        let found = fps
            .iter()
            .filter(|&&fp| ix.check(fp) == Verdict::Duplicate)
            .count();
        let lookup = start.elapsed();
        assert_eq!(found, N as usize);

        // A second run's commit rewrites the whole window (base + pending).
        let mut ix = ix;
        for k in second {
            ix.check_and_stage(k);
        }
        let start = Instant::now();
        let stats2 = ix.commit("bench-2").unwrap();
        let commit2 = start.elapsed();

        let ns = |d: std::time::Duration| d.as_nanos() as f64 / N as f64;
        println!(
            "1M keys: fingerprint alone {fingerprint:?} ({:.0} ns/key), check_and_stage \
             {staging:?} ({:.0} ns/key), commit {commit:?}, file {} bytes ({:.1} MiB), \
             reopen {reopen:?}, check all (duplicates) {checking:?} ({:.0} ns/key, \
             with ready fingerprints {:.0} ns); \
             second run +100k: commit {commit2:?}, file {} bytes",
            ns(fingerprint),
            ns(staging),
            stats.bytes,
            stats.bytes as f64 / (1 << 20) as f64,
            ns(checking),
            ns(lookup),
            stats2.bytes,
        );
    }
}
