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
//! # Partitioned by day
//!
//! The index is one file per UTC day of the time of origin,
//! `STATE/duplicates/YYYY-MM-DD.idx`. An SDR can only be a duplicate of an
//! SDR of the same instant, so of the same day: a check looks in one day.
//! [`open`](DuplicateIndex::open) reads the 40-odd-byte header of every day
//! file (90 files for the default window: microseconds) and loads no SDR;
//! a day's SDRs load the first time an SDR of that day is checked. A night
//! whose SDRs fall in 2 days holds those 2 days in memory, whatever the
//! window; [`commit`](DuplicateIndex::commit) rewrites the days it staged
//! SDRs in (plus the days the previous run left pending, below), never the
//! others. Memory and commit cost follow the night, not the history.
//!
//! # The run's clock, retention and the future
//!
//! The reference is the run's clock ([`Window::now`]: the caller passes
//! its pricing time, so a rerun with the same `--pricing-time` gives the
//! same answers), never an SDR. The window is whole UTC days: the cutoff
//! is the start of the day of `now − retention`, and an SDR before it gets
//! [`Verdict::TooOld`]: the index no longer remembers that far back, so it
//! cannot tell, and the caller decides (fault it, or bill it and count it).
//! `commit` removes the day files before the cutoff; nothing else is ever
//! dropped. (90 days back from 2026-11-22 02:00Z keeps 2026-08-24 onwards:
//! 91 or 92 day files.)
//!
//! An SDR dated after `now` plus [`Window::future_tolerance`] (the CLI's
//! `--future-tolerance`, [`DEFAULT_FUTURE_TOLERANCE_HOURS`] by default)
//! gets [`Verdict::Future`]: a producer's bad clock. It is never staged,
//! so it never enters the index and, since the window counts from the
//! run's clock, it moves nothing: the SDRs after it are checked as before.
//! (Earlier versions counted the window back from the newest SDR in the
//! index, so one SDR dated 2099 made every later SDR too old.) Both checks
//! come before the lookup, so neither loads a day.
//!
//! A clock set back (a `--pricing-time` earlier than an earlier run's) does
//! not bring removed days back: they answer `New`. Operators rerate old
//! periods with `rerate`, which bypasses the index by design.
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
//! rename covers both, so each day file carries the run that wrote it:
//!
//! * a day file holds a *base* (SDRs of published runs) and a *pending*
//!   part (the SDRs of that day staged by one run, with that run's id);
//! * at `open`, the caller says, once per run id found pending, whether
//!   that run was published (its manifest exists). Published: its pending
//!   SDRs join the base as the day loads. Not published: they are ignored,
//!   as if that run never happened;
//! * `commit(run_id)` writes, for each day this run staged SDRs in, the
//!   day's base (its committed SDRs) plus this run's SDRs of that day as the
//!   new pending part, to a temporary file; syncs it; renames it over the
//!   day file. It does the same, with no pending part, for **every other
//!   day file that has a pending part** (that of a published run is folded
//!   into the base, that of an unpublished one dropped), then syncs the
//!   directory, and only then removes the days before the cutoff.
//!
//! So after a commit, **only the committing run is pending anywhere**, and
//! **no published run but the last is ever pending**: a commit that dies
//! part way leaves day files pending for the dying run (never published)
//! and for the runs before it that the commit had not cleaned yet, which
//! are the last published run or dead runs, never an older published one
//! (that one was folded by the commit that succeeded after it). The caller
//! tells "published" by comparing with the one run id in `STATE/last-run`,
//! the last published run; the invariant makes that enough. The days a run
//! must clean are the days the previous committing run wrote: the cost
//! stays one night's.
//!
//! The caller's order is therefore: write the outputs into the temporary
//! output directory; **`commit(run_id)`**; only if it succeeded, publish
//! (rename the output directory into place, manifest last, naming
//! `run_id`). A crash at any moment gives one of:
//!
//! | crash                          | outputs published | next open sees                        |
//! |--------------------------------|-------------------|---------------------------------------|
//! | before `commit`                | no                | the old index                         |
//! | during `commit`                | no                | each day old, or new with the run ignored |
//! | after `commit`, before publish | no                | the old index (run ignored)           |
//! | after publish                  | yes               | the old index plus the run            |
//!
//! During `commit` each day file is replaced atomically, so a day is the
//! old file (the previous run pending, counted if it was published) or the
//! new one (the previous run folded in or dropped as it deserved, this run
//! pending and not published): either way the same SDRs count. The SDRs of
//! a run count as seen exactly when that run's outputs were published.
//! (Publishing first and committing after would leave a window in which
//! published SDRs are not in the index, and an identical rerun would bill
//! them again; committing first without the run id would leave one in which
//! unpublished SDRs are marked seen and never billed.) Leftover temporary
//! files (`.YYYY-MM-DD.idx.tmp`) from a crash during `commit` are ignored
//! by `open` and removed by the next `commit`.
//!
//! The caller must give every run a unique id (the manifest id), must hold
//! the state directory exclusively while a run is in progress (one writer),
//! and must not open the index at all when re-rating (re-rating bypasses
//! duplicate checks by design). A dry run opens and checks but never
//! commits; `open` never writes, so the state directory stays byte-identical.
//!
//! ```text
//! let window = Window { now: pricing_time, retention, future_tolerance };
//! let mut index = DuplicateIndex::open(state, window, |run| Ok(run == last_run))?;
//! for sdr in run {
//!     match index.check_and_stage(&Key::of(&sdr.service_header))? {
//!         Verdict::New => bill(sdr),            // index.unstage(..) if it then faults
//!         Verdict::Duplicate => set_aside(sdr),
//!         Verdict::TooOld | Verdict::Future => fault(sdr), // kept for recycling
//!     }
//! }
//! write_outputs_to_temp_dir()?;
//! index.commit(&run_id)?;   // durable, but counts only once run_id is published
//! publish(&run_id)?;        // rename into place, manifest last
//! ```
//!
//! # Migration from one file
//!
//! Earlier versions kept the whole window in one file,
//! `STATE/duplicates.idx` (the format below). `open` still reads it
//! (whole, once), its pending part counting as the caller says; its SDRs
//! within the window join their days as the days load. The next `commit`
//! writes every day it holds, syncs the directory, and only then removes
//! `duplicates.idx`: a crash in between leaves both, and the next run
//! migrates again (the union of the two is the same set of SDRs). A dry
//! run reads it and changes nothing.
//!
//! # Which run billed an SDR, and undoing a run
//!
//! A day file's base is a list of *segments*, one per published run that
//! billed SDRs of that day, each naming the run. A commit folds the
//! previous run's pending part in as a new segment and copies the old
//! segments byte for byte (it never loads or merges them: the commit
//! reads the old file once, sequentially, verifying its checksum, and
//! writes the new one). Loading a day for lookups concatenates its
//! segments and sorts them once when there are several (a day's SDRs come
//! from a handful of nights).
//!
//! So the index can say which run billed an SDR ([`DuplicateIndex::billed_by`],
//! `sdrate index why`), list the runs it holds ([`runs`], `sdrate index
//! runs`, headers only), and take one run's SDRs out ([`undo_run`],
//! `sdrate index undo-run`) when that run was billed in error, dropping
//! its segment (or its pending part) from each day it touched and nothing
//! else. SDRs from version 1 files belong to no recorded run.
//!
//! # File format (version 2, little endian)
//!
//! Each day file is:
//!
//! | bytes        | content                                            |
//! |--------------|----------------------------------------------------|
//! | 0..8         | magic `SDRDUPIX`                                   |
//! | 8..12        | version, 2                                         |
//! | 12..16       | length L of the pending run id (0: none pending)   |
//! | 16..24       | number B of base records (all segments)            |
//! | 24..32       | number P of pending records                        |
//! | 32..36       | number S of base segments                          |
//! | 36..40       | length T of the segment table                      |
//! | 40..40+L     | pending run id, UTF-8                              |
//! | then T       | S × (run id length u32, record count u64, run id)  |
//! | then 24·B    | base records, segment after segment: fingerprint (u128), time (i64 UTC s) |
//! | then 24·P    | pending records, same layout                       |
//! | last 8       | SipHash-1-3 (64-bit) of everything before          |
//!
//! Each segment and the pending list are sorted by fingerprint, without
//! repeats; the segments' counts add up to B. Version 1 (and the legacy
//! single file) is the same without bytes 32..40 and the table: its base
//! is one segment of no recorded run. Version 1 files are read; every
//! file written is version 2. The file is read sequentially in large
//! chunks; a wrong magic, version, length or table is an error naming the
//! file at `open`, a wrong order or checksum one when its day loads
//! (never an empty index). The table costs 12 bytes plus the run id per
//! run and day: about 60 bytes a night against 24 per SDR.
//!
//! # Memory and cost, with numbers
//!
//! A loaded day's SDRs sit in one sorted `Vec` of 24-byte entries, plus a
//! directory of one `u32` per 2 to 4 entries (by the fingerprint's top
//! bits) that narrows each lookup to a cache line or two: 25 to 26 bytes
//! per SDR. The SDRs staged by the current run are in an `FxHashMap` at 24
//! bytes per entry plus hashbrown's one control byte and spare capacity,
//! 29 to 57 bytes per SDR.
//!
//! A network billing 1.5 million SDRs a day (35 MB of index a night) with
//! the default 90-day window keeps 135 million SDRs, 3.2 GB on disk in 92
//! files. The single file of earlier versions was read whole (3.2 GiB of
//! memory) and written whole (3.2 GB) every night. Now a night whose SDRs
//! fall in 2 days loads those 2 days (about 3 million SDRs, 70 MiB) plus
//! its staged SDRs (1.5 million, 40 to 80 MiB), and its commit writes those
//! 2 days plus the days the previous night left pending (usually the same
//! 2): about 70 MB, whatever the window. `benches/nights.sh` measures it
//! (BENCHMARKS.md: over 30 nights of 200 k SDRs, peak memory stays at
//! 67 to 75 MiB where the single file grew to 162 MiB).
//!
//! # Speed
//!
//! Fingerprinting costs about 50 ns per key. A lookup is a probe of the
//! staged map, one of the map of days, and one or two cache misses in the
//! day; a loop of checks over fingerprints computed beforehand (see
//! [`Key::fingerprint`]) overlaps them: 80 to 100 ns per SDR against 1 million
//! committed ones over two days (~70 ns with the single sorted array of
//! earlier versions), 300 ns with fingerprinting inside the loop. `open`
//! reads headers only (74 µs for two day files); loading and writing stream
//! at hundreds of MB/s (numbers in the ignored test `bench_one_million`,
//! on the shared 2-core host).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::hash::Hasher;
use std::io::{BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, Utc};
use rustc_hash::FxHashMap;
use siphasher::sip::SipHasher13 as Checksum;
use siphasher::sip128::{Hasher128, SipHasher13 as Fingerprinter};

use crate::sdr::ServiceHeaderModule;

/// Days the duplicate check looks back by default (`--duplicate-window`).
pub const DEFAULT_WINDOW_DAYS: u32 = 90;
/// Hours an SDR's time of origin may lie after the run's clock before it
/// is a [`Verdict::Future`] fault (`--future-tolerance`).
pub const DEFAULT_FUTURE_TOLERANCE_HOURS: u32 = 24;

/// The folder of day files in the state directory.
pub const INDEX_DIR: &str = "duplicates";
/// The single index file of earlier versions, migrated into day files by
/// the first commit that finds it.
pub const LEGACY_FILE: &str = "duplicates.idx";
/// Where earlier versions wrote before renaming; removed with the legacy
/// file.
const LEGACY_TMP: &str = ".duplicates.idx.tmp";
/// Day files are `YYYY-MM-DD.idx`; `commit` writes `.YYYY-MM-DD.idx.tmp`
/// first.
const DAY_SUFFIX: &str = ".idx";
const TMP_SUFFIX: &str = ".tmp";
const SECONDS_PER_DAY: i64 = 86_400;

const MAGIC: [u8; 8] = *b"SDRDUPIX";
const VERSION: u32 = 2;
/// Version 1 files (still read) have a shorter header: no segment table.
const V1_HEADER_LEN: usize = 32;
const HEADER_LEN: usize = 40;
const RECORD_LEN: usize = 24;
const CHECKSUM_LEN: usize = 8;
/// Run ids are manifest ids; anything longer is a caller's mistake.
pub const MAX_RUN_ID_LEN: usize = 4096;
/// The most SDRs one file holds (the directory counts in u32): 4.3 billion
/// in a single day, far beyond any network sdrate is meant for.
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

impl Fingerprint {
    /// The 128-bit fingerprint as 16 bytes (big endian), for a key that
    /// leaves the process: the Arrow exchange's `duplicate_key`, on which
    /// a cluster groups copies of one SDR.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0; 16];
        b[..8].copy_from_slice(&self.0.fp.hi.to_be_bytes());
        b[8..].copy_from_slice(&self.0.fp.lo.to_be_bytes());
        b
    }

    /// The key's time of origin in whole UTC seconds (what the window is
    /// checked against).
    pub fn seconds(&self) -> i64 {
        self.0.time
    }
}

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
    /// Dated after the run's clock plus the tolerance: a bad clock, not an
    /// SDR to bill or to remember. Not staged.
    Future,
}

/// What the index says about an SDR after the fact (see
/// [`DuplicateIndex::billed_by`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Billed {
    /// A published run billed it: its id, or empty when it was billed
    /// before the index recorded runs (a version 1 file).
    By(String),
    /// Within the window and not billed.
    NotBilled,
    /// Before the window: the index no longer remembers.
    TooOld,
    /// After the run's clock plus the tolerance.
    Future,
}

/// A run's SDRs in the index (see [`runs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedRun {
    /// Empty for SDRs billed before the index recorded runs.
    pub run_id: String,
    pub sdrs: u64,
    /// The first and last UTC day of origin (YYYY-MM-DD) it billed in.
    pub first_day: String,
    pub last_day: String,
    /// Pending: the last run to commit; it counts only if published.
    pub pending: bool,
}

/// Every run with SDRs in the index of `state_dir`, from the day files'
/// headers (no SDR is loaded), in the order of their first day.
pub fn runs(state_dir: &Path) -> Result<Vec<IndexedRun>> {
    let mut out: Vec<IndexedRun> = Vec::new();
    for (day, path) in day_paths(state_dir)? {
        let mut file =
            File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        let h = read_header(&mut file, &path)?;
        let name = day_file_name(day);
        let name = name.trim_end_matches(DAY_SUFFIX);
        let parts = h
            .segments
            .iter()
            .map(|s| (s.run_id.as_str(), s.count, false))
            .chain((h.pending > 0).then_some((h.run_id.as_str(), h.pending, true)));
        for (id, count, pending) in parts {
            match out.iter_mut().find(|r| r.run_id == id) {
                Some(r) => {
                    r.sdrs += count as u64;
                    r.last_day = name.to_owned();
                    r.pending |= pending;
                }
                None => out.push(IndexedRun {
                    run_id: id.to_owned(),
                    sdrs: count as u64,
                    first_day: name.to_owned(),
                    last_day: name.to_owned(),
                    pending,
                }),
            }
        }
    }
    Ok(out)
}

/// The day files of `state_dir`, by day.
fn day_paths(state_dir: &Path) -> Result<BTreeMap<i64, PathBuf>> {
    let dir = state_dir.join(INDEX_DIR);
    let mut out = BTreeMap::new();
    match fs::read_dir(&dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
                if let Some(day) = entry.file_name().to_str().and_then(day_of_file_name) {
                    out.insert(day, entry.path());
                }
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    }
    Ok(out)
}

/// What [`undo_run`] took out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Undone {
    pub sdrs: u64,
    pub days: usize,
}

/// Takes the SDRs of `run_id` out of the index of `state_dir`, as if that
/// run had never billed them: for a published run billed in error, so the
/// corrected run can bill them. Each day file is replaced atomically and
/// only the run's own segment (or pending part) leaves it, so a crash
/// half-way leaves some days undone and the rest as they were: running
/// it again finishes the job. The caller holds the state lock; a legacy
/// single-file index (which records no runs) must be migrated first by a
/// billing run.
pub fn undo_run(state_dir: &Path, run_id: &str) -> Result<Undone> {
    ensure!(!run_id.is_empty(), "give the id of the run to undo");
    ensure!(
        !state_dir.join(LEGACY_FILE).exists(),
        "{} predates the index by day and records no runs; let one billing run migrate it first",
        state_dir.join(LEGACY_FILE).display()
    );
    let mut undone = Undone::default();
    let dir = state_dir.join(INDEX_DIR);
    for (day, path) in day_paths(state_dir)? {
        let mut file =
            File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        let h = read_header(&mut file, &path)?;
        drop(file);
        let pending_is_run = h.pending > 0 && h.run_id == run_id;
        if !pending_is_run && !h.segments.iter().any(|s| s.run_id == run_id) {
            continue;
        }
        let name = day_file_name(day);
        let tmp = dir.join(format!(".{name}{TMP_SUFFIX}"));
        let plan = Rewrite {
            drop_run: Some(run_id),
            old_pending: if pending_is_run {
                OldPending::Drop
            } else {
                OldPending::Keep
            },
            extra: &[],
            pending: None,
        };
        match write_day(&tmp, &path, &plan)? {
            Some(w) => {
                fs::rename(&tmp, &path)
                    .with_context(|| format!("cannot replace {}", path.display()))?;
                undone.sdrs += w.dropped as u64;
            }
            None => {
                undone.sdrs += (h.base + h.pending) as u64;
                fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        undone.days += 1;
    }
    if undone.days > 0 {
        sync_dir(&dir)?;
    }
    Ok(undone)
}

/// The run's clock, and how far around it the index answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The run's clock: its pricing time (given, so reruns are
    /// deterministic, or the wall clock at the start of the run).
    pub now: DateTime<Utc>,
    /// How far back from `now` SDRs are remembered; rounded out to whole
    /// UTC days.
    pub retention: TimeDelta,
    /// How far after `now` a time of origin may lie.
    pub future_tolerance: TimeDelta,
}

impl Window {
    /// The cutoff (the start of the UTC day of `now - retention`: earlier
    /// is `TooOld`) and the latest accepted time of origin (later is
    /// `Future`), in UTC seconds.
    fn bounds(&self) -> (i64, i64) {
        let now = self.now.timestamp();
        let cutoff = day_of(now.saturating_sub(self.retention.num_seconds())) * SECONDS_PER_DAY;
        (
            cutoff,
            now.saturating_add(self.future_tolerance.num_seconds()),
        )
    }

    /// The verdict a time of origin (UTC seconds) gets before any lookup: `TooOld` or
    /// `Future` when it lies outside the window, else None (the index
    /// decides). The same test [`DuplicateIndex::check`] makes first, for
    /// a cluster that looks keys up by joining tables instead.
    pub fn outside(&self, utc_seconds: i64) -> Option<Verdict> {
        let (cutoff, future_after) = self.bounds();
        let t = utc_seconds;
        if t > future_after {
            Some(Verdict::Future)
        } else if t < cutoff {
            Some(Verdict::TooOld)
        } else {
            None
        }
    }
}

/// A run whose SDRs were pending in some day file at `open`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousRun {
    pub run_id: String,
    /// What the caller said: its SDRs joined the index only if true.
    pub published: bool,
    /// Its pending SDRs, over all day files.
    pub entries: usize,
}

/// What `commit` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommitStats {
    /// Committed SDRs in the day files written (their bases).
    pub kept: usize,
    /// Day files removed as older than the retention window.
    pub dropped_days: usize,
    /// This run's SDRs, pending until its outputs are published.
    pub staged: usize,
    /// Day files written (this run's days, the days a previous run left
    /// pending, and the days migrated from a legacy file).
    pub files_written: usize,
    /// Bytes written.
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

    fn day(&self) -> i64 {
        day_of(self.time)
    }
}

fn day_of(secs: i64) -> i64 {
    secs.div_euclid(SECONDS_PER_DAY)
}

/// `YYYY-MM-DD.idx` of a day (days since 1970-01-01).
fn day_file_name(day: i64) -> String {
    match DateTime::from_timestamp(day.saturating_mul(SECONDS_PER_DAY), 0) {
        Some(t) => format!("{}{DAY_SUFFIX}", t.format("%Y-%m-%d")),
        // Beyond chrono's range: never a day the window admits.
        None => format!("day{day}{DAY_SUFFIX}"),
    }
}

/// The day a file name stands for, if it is a day file's canonical name.
fn day_of_file_name(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(DAY_SUFFIX)?;
    let date = NaiveDate::parse_from_str(stem, "%Y-%m-%d").ok()?;
    let day = day_of(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp());
    (day_file_name(day) == name).then_some(day)
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

/// A day file as its header describes it (read at `open`).
#[derive(Debug, Clone)]
struct DayFile {
    /// The run whose SDRs are pending in it; empty if none.
    run_id: String,
    pending: usize,
}

/// The duplicate index of one state directory, open for one run.
pub struct DuplicateIndex {
    state: PathBuf,
    dir: PathBuf,
    /// SDRs before it (UTC seconds, the start of a day) are `TooOld`.
    cutoff: i64,
    /// SDRs after it (UTC seconds) are `Future`.
    future_after: i64,
    /// The day files on disk, by day.
    files: BTreeMap<i64, DayFile>,
    /// Whether each pending run (of a day file or the legacy file) was
    /// published, as the caller said.
    published: FxHashMap<String, bool>,
    /// The days loaded so far: each day's committed SDRs.
    days: FxHashMap<i64, Sorted>,
    /// A legacy single-file index found at `open`: its committed SDRs by
    /// day, until each day is loaded.
    legacy: Option<BTreeMap<i64, Vec<Entry>>>,
    staged: FxHashMap<Fp, i64>,
    previous: Vec<PreviousRun>,
    /// Temporary files left by a crash during a commit.
    leftovers: Vec<PathBuf>,
    /// Test hook: `commit` stops (as if killed) after this many renames.
    #[cfg(test)]
    crash_after_renames: Option<usize>,
}

impl DuplicateIndex {
    /// Opens the index of `state_dir` (empty when there is none yet): reads
    /// the header of every day file, never a day's SDRs (those load the
    /// first time an SDR of that day is checked). A legacy single-file
    /// index is read whole (once: the next commit splits it into days).
    ///
    /// `is_published` is asked, once per run id, whether a run whose SDRs
    /// are pending in a day file published its outputs; its SDRs count only
    /// if so. Never writes: a dry run leaves the directory untouched.
    pub fn open(
        state_dir: &Path,
        window: Window,
        mut is_published: impl FnMut(&str) -> Result<bool>,
    ) -> Result<Self> {
        ensure!(
            window.retention >= TimeDelta::zero(),
            "the duplicate retention must not be negative (got {})",
            window.retention
        );
        ensure!(
            window.future_tolerance >= TimeDelta::zero(),
            "the future tolerance must not be negative (got {})",
            window.future_tolerance
        );
        let (cutoff, future_after) = window.bounds();
        let dir = state_dir.join(INDEX_DIR);

        let mut files = BTreeMap::new();
        let mut leftovers = Vec::new();
        match fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
                    let name = entry.file_name();
                    let Some(name) = name.to_str() else { continue };
                    let path = dir.join(name);
                    if name.starts_with('.') && name.ends_with(TMP_SUFFIX) {
                        leftovers.push(path);
                    } else if let Some(day) = day_of_file_name(name) {
                        let mut file = File::open(&path)
                            .with_context(|| format!("cannot open {}", path.display()))?;
                        let header = read_header(&mut file, &path)?;
                        files.insert(
                            day,
                            DayFile {
                                run_id: header.run_id,
                                pending: header.pending,
                            },
                        );
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot list {}", dir.display()));
            }
        }

        let mut published: FxHashMap<String, bool> = FxHashMap::default();
        let mut previous: Vec<PreviousRun> = Vec::new();
        let mut ask = |run_id: &str, entries: usize, file: &Path| -> Result<bool> {
            if let Some(p) = previous.iter_mut().find(|p| p.run_id == run_id) {
                p.entries += entries;
                return Ok(p.published);
            }
            let answer = is_published(run_id).with_context(|| {
                format!(
                    "cannot tell whether run {run_id} (pending in {}) was published",
                    file.display()
                )
            })?;
            published.insert(run_id.to_string(), answer);
            previous.push(PreviousRun {
                run_id: run_id.to_string(),
                published: answer,
                entries,
            });
            Ok(answer)
        };
        for (&day, f) in &files {
            if !f.run_id.is_empty() {
                ask(&f.run_id, f.pending, &dir.join(day_file_name(day)))?;
            }
        }

        // A legacy index: its committed SDRs within the window, by day.
        let legacy_path = state_dir.join(LEGACY_FILE);
        let legacy = match load(&legacy_path)? {
            None => None,
            Some(loaded) => {
                let (run_id, mut base, pending) = loaded.into_sorted_base();
                if !run_id.is_empty() && ask(&run_id, pending.len(), &legacy_path)? {
                    merge_into(&mut base, &pending);
                }
                let mut by_day: BTreeMap<i64, Vec<Entry>> = BTreeMap::new();
                // Sorted by fingerprint, so each day's list is too.
                for e in base.into_iter().filter(|e| e.time >= cutoff) {
                    by_day.entry(e.day()).or_default().push(e);
                }
                Some(by_day)
            }
        };
        previous.sort_by(|a, b| b.published.cmp(&a.published).then(a.run_id.cmp(&b.run_id)));

        Ok(DuplicateIndex {
            state: state_dir.to_path_buf(),
            dir,
            cutoff,
            future_after,
            files,
            published,
            days: FxHashMap::default(),
            legacy,
            staged: FxHashMap::default(),
            previous,
            leftovers,
            #[cfg(test)]
            crash_after_renames: None,
        })
    }

    /// The verdict for an SDR, without staging it. Loads the SDR's day
    /// if no SDR of that day was checked before: an error is a day file
    /// that cannot be read or is damaged.
    pub fn check(&mut self, key: impl Into<Fingerprint>) -> Result<Verdict> {
        self.check_entry(&key.into().0)
    }

    /// The verdict for an SDR; a `New` one is staged for this run, so a
    /// second copy later in the run is a `Duplicate`.
    pub fn check_and_stage(&mut self, key: impl Into<Fingerprint>) -> Result<Verdict> {
        let e = key.into().0;
        let verdict = self.check_entry(&e)?;
        if verdict == Verdict::New {
            self.staged.insert(e.fp, e.time);
        }
        Ok(verdict)
    }

    /// Takes back an SDR staged by this run (one that then faulted and was
    /// not billed). False if it was not staged.
    pub fn unstage(&mut self, key: impl Into<Fingerprint>) -> bool {
        self.staged.remove(&key.into().0.fp).is_some()
    }

    fn check_entry(&mut self, e: &Entry) -> Result<Verdict> {
        Ok(if e.time > self.future_after {
            Verdict::Future
        } else if e.time < self.cutoff {
            Verdict::TooOld
        } else if self.staged.contains_key(&e.fp) || self.committed_contains(e)? {
            Verdict::Duplicate
        } else {
            Verdict::New
        })
    }

    /// Whether a published run billed `e`: one map probe once its day is
    /// loaded.
    fn committed_contains(&mut self, e: &Entry) -> Result<bool> {
        let day = e.day();
        Ok(match self.days.get(&day) {
            Some(s) => s.contains(e.fp),
            None => self.day(day)?.contains(e.fp),
        })
    }

    /// A day's committed SDRs, loaded on first use: its file's base, its
    /// pending part if that run was published, and what the legacy file
    /// holds for that day.
    fn day(&mut self, day: i64) -> Result<&Sorted> {
        if !self.days.contains_key(&day) {
            let mut entries = Vec::new();
            if let Some(f) = self.files.get(&day) {
                let path = self.dir.join(day_file_name(day));
                let Some(loaded) = load(&path)? else {
                    bail!("duplicate index {} vanished while open", path.display());
                };
                ensure!(
                    loaded.run_id == f.run_id,
                    "duplicate index {} changed while open",
                    path.display()
                );
                let (run_id, mut base, pending) = loaded.into_sorted_base();
                if !run_id.is_empty() && self.published[&run_id] {
                    merge_into(&mut base, &pending);
                }
                entries = base;
            }
            // Copied, not moved: the commit writes the legacy SDRs of
            // every day as they were.
            if let Some(from_legacy) = self.legacy.as_ref().and_then(|l| l.get(&day)) {
                merge_into(&mut entries, from_legacy);
            }
            self.days.insert(day, Sorted::new(entries));
        }
        Ok(&self.days[&day])
    }

    /// Committed SDRs of the days loaded so far, plus this run's staged ones.
    pub fn len(&self) -> usize {
        self.committed_len() + self.staged.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Committed SDRs of the days loaded so far.
    pub fn committed_len(&self) -> usize {
        self.days.values().map(|s| s.entries.len()).sum()
    }

    pub fn staged_len(&self) -> usize {
        self.staged.len()
    }

    /// Days loaded so far: what the run's memory holds.
    pub fn days_loaded(&self) -> usize {
        self.days.len()
    }

    /// Day files on disk at `open`.
    pub fn day_files(&self) -> usize {
        self.files.len()
    }

    /// This run's retention cutoff: SDRs before it are too old.
    pub fn cutoff(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.cutoff, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The latest time of origin this run accepts; later SDRs are `Future`.
    pub fn future_after(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.future_after, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// A run that was pending at `open`, and whether it counted: the
    /// published one first (there is at most one of each, see the module
    /// documentation).
    pub fn previous_run(&self) -> Option<&PreviousRun> {
        self.previous.first()
    }

    /// Every run pending at `open`.
    pub fn previous_runs(&self) -> &[PreviousRun] {
        &self.previous
    }

    /// Makes this run's staged SDRs durable, pending the publication of
    /// `run_id`: call it after the outputs are written and before they are
    /// published; publish only if it succeeds.
    ///
    /// Writes the day files of the days this run staged SDRs in, folds or
    /// clears the pending part of every other day file that has one (so
    /// only `run_id` is pending anywhere afterwards), writes the days
    /// migrated from a legacy file, then removes the day files older than
    /// the window, and the legacy file. Each file is replaced atomically; a
    /// crash in between leaves a mix that the next `open` reads right (see
    /// the module documentation).
    pub fn commit(self, run_id: &str) -> Result<CommitStats> {
        ensure!(
            !run_id.is_empty() && run_id.len() <= MAX_RUN_ID_LEN,
            "a run id must have 1 to {MAX_RUN_ID_LEN} bytes (got {})",
            run_id.len()
        );
        let cutoff_day = day_of(self.cutoff);
        let mut staged: BTreeMap<i64, Vec<Entry>> = BTreeMap::new();
        for (&fp, &time) in &self.staged {
            let e = Entry { fp, time };
            staged.entry(e.day()).or_default().push(e);
        }
        for list in staged.values_mut() {
            list.sort_unstable_by_key(|e| e.fp);
        }
        let mut to_write: BTreeSet<i64> = staged.keys().copied().collect();
        if let Some(legacy) = &self.legacy {
            to_write.extend(legacy.keys().copied());
        }
        to_write.extend(
            self.files
                .iter()
                .filter(|(_, f)| !f.run_id.is_empty())
                .map(|(&d, _)| d),
        );
        to_write.retain(|&d| d >= cutoff_day);
        let to_remove: Vec<i64> = self.files.range(..cutoff_day).map(|(&d, _)| d).collect();

        let mut stats = CommitStats::default();
        let created = !self.dir.exists();
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        if created {
            sync_dir(&self.state)?;
        }
        for day in to_write {
            let name = day_file_name(day);
            let path = self.dir.join(&name);
            let tmp = self.dir.join(format!(".{name}{TMP_SUFFIX}"));
            let old_pending = match self.files.get(&day) {
                Some(f) if !f.run_id.is_empty() && self.published[&f.run_id] => OldPending::Fold,
                _ => OldPending::Drop,
            };
            let plan = Rewrite {
                drop_run: None,
                old_pending,
                extra: self
                    .legacy
                    .as_ref()
                    .and_then(|l| l.get(&day))
                    .map_or(&[], |v| v.as_slice()),
                pending: staged.get(&day).map(|v| (run_id, v.as_slice())),
            };
            let Some(written) = write_day(&tmp, &path, &plan)? else {
                // Only a dropped pending part was there: the day is empty.
                fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
                continue;
            };
            #[cfg(test)]
            if self.crash_after_renames == Some(stats.files_written) {
                bail!("killed (test) after {} renames", stats.files_written);
            }
            fs::rename(&tmp, &path)
                .with_context(|| format!("cannot replace {}", path.display()))?;
            stats.bytes += written.bytes;
            stats.kept += written.base;
            stats.staged += written.pending;
            stats.files_written += 1;
        }
        // The renames are durable only once the directory is synced; the
        // legacy file goes only after that.
        sync_dir(&self.dir)?;
        #[cfg(test)]
        if self.crash_after_renames.is_some() {
            bail!("killed (test) after every rename");
        }
        for day in to_remove {
            let path = self.dir.join(day_file_name(day));
            fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            stats.dropped_days += 1;
        }
        for tmp in &self.leftovers {
            match fs::remove_file(tmp) {
                Err(e) if e.kind() != ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("cannot remove {}", tmp.display()));
                }
                _ => {}
            }
        }
        sync_dir(&self.dir)?;
        if self.legacy.is_some() {
            for name in [LEGACY_FILE, LEGACY_TMP] {
                let path = self.state.join(name);
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != ErrorKind::NotFound => {
                        return Err(e).with_context(|| format!("cannot remove {}", path.display()));
                    }
                    _ => {}
                }
            }
            sync_dir(&self.state)?;
        }
        Ok(stats)
    }

    /// Which run billed each of `keys`, for "why was this a duplicate?":
    /// reads each day's file once (its segments record the run), so it
    /// is for a lookup, not for a billing run. Staged SDRs are not asked
    /// about: open a fresh index.
    pub fn billed_by(&self, keys: &[Fingerprint]) -> Result<Vec<Billed>> {
        let mut out = vec![Billed::NotBilled; keys.len()];
        let mut by_day: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            let e = &k.0;
            if e.time > self.future_after {
                out[i] = Billed::Future;
            } else if e.time < self.cutoff {
                out[i] = Billed::TooOld;
            } else {
                by_day.entry(e.day()).or_default().push(i);
            }
        }
        for (day, wanted) in by_day {
            let loaded = if self.files.contains_key(&day) {
                load(&self.dir.join(day_file_name(day)))?
            } else {
                None
            };
            let legacy = self.legacy.as_ref().and_then(|l| l.get(&day));
            for i in wanted {
                let fp = keys[i].0.fp;
                let found = loaded.as_ref().and_then(|l| {
                    if let Some(s) = l.segment_of(fp) {
                        return Some(Billed::By(s.run_id.clone()));
                    }
                    let pending = !l.run_id.is_empty()
                        && self.published.get(&l.run_id).copied().unwrap_or(false)
                        && l.pending.binary_search_by_key(&fp, |e| e.fp).is_ok();
                    pending.then(|| Billed::By(l.run_id.clone()))
                });
                let found = found.or_else(|| {
                    legacy
                        .is_some_and(|v| v.binary_search_by_key(&fp, |e| e.fp).is_ok())
                        .then(|| Billed::By(String::new()))
                });
                if let Some(b) = found {
                    out[i] = b;
                }
            }
        }
        Ok(out)
    }

    /// Test hook: the next `commit` stops after `n` renames, as if killed.
    #[cfg(test)]
    fn crash_after(&mut self, n: usize) {
        self.crash_after_renames = Some(n);
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync directory {}", dir.display()))
}

/// One part of a day file's base: the SDRs one run billed on that day.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    /// The run that billed them; empty for SDRs from before runs were
    /// recorded (a version 1 file, a legacy single file).
    run_id: String,
    count: usize,
}

/// What to do with the old file's pending part when a day is rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OldPending {
    /// Its run was published: it becomes a base segment.
    Fold,
    /// Its run was not published (or is being undone): left out.
    Drop,
    /// Stays pending, for the same run (an undo of another run).
    Keep,
}

/// How one day file is rewritten: the old file's segments, less those of
/// `drop_run`; its pending part as `old_pending` says; then `extra` (SDRs
/// migrated from a legacy file) as a segment of no recorded run; then
/// this run's `pending` SDRs.
struct Rewrite<'a> {
    drop_run: Option<&'a str>,
    old_pending: OldPending,
    extra: &'a [Entry],
    pending: Option<(&'a str, &'a [Entry])>,
}

/// An old day file read front to back while it is copied, its checksum
/// verified at the end (a damaged file is never copied into a new one).
struct OldFile<'a> {
    file: std::io::BufReader<File>,
    header: Header,
    sum: Checksum,
    path: &'a Path,
}

impl<'a> OldFile<'a> {
    fn open(path: &'a Path) -> Result<Option<Self>> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
        };
        let header = read_header(&mut file, path)?;
        let mut sum = Checksum::new_with_keys(CHECKSUM_KEY.0, CHECKSUM_KEY.1);
        sum.write(&header.bytes);
        Ok(Some(OldFile {
            file: std::io::BufReader::with_capacity(RECORD_LEN * CHUNK_RECORDS, file),
            header,
            sum,
            path,
        }))
    }

    /// Reads `count` records, copying them to `out` if given.
    fn copy(&mut self, count: usize, mut out: Option<&mut SummingWriter>) -> Result<()> {
        let mut buf = [0u8; RECORD_LEN * 256];
        let mut left = count;
        while left > 0 {
            let n = left.min(256);
            let chunk = &mut buf[..n * RECORD_LEN];
            self.file
                .read_exact(chunk)
                .with_context(|| format!("cannot read duplicate index {}", self.path.display()))?;
            self.sum.write(chunk);
            if let Some(w) = out.as_deref_mut() {
                w.put(chunk)
                    .context("cannot write the new duplicate index")?;
            }
            left -= n;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        let mut stored = [0u8; CHECKSUM_LEN];
        self.file
            .read_exact(&mut stored)
            .with_context(|| format!("cannot read duplicate index {}", self.path.display()))?;
        ensure!(
            u64::from_le_bytes(stored) == self.sum.finish(),
            "duplicate index {} is damaged: checksum mismatch",
            self.path.display()
        );
        Ok(())
    }
}

/// What [`write_day`] wrote.
#[derive(Debug, Default, Clone, Copy)]
struct Written {
    bytes: u64,
    /// Base SDRs (kept segments, folded pending part, extra).
    base: usize,
    pending: usize,
    /// Old SDRs left out (dropped pending part, the undone run).
    dropped: usize,
}

/// Writes the day file `tmp` (synced) from the old file at `old` (if
/// any) as `plan` says, copying old records without loading them.
/// Returns `None`, writing nothing, when the day would hold no SDR.
fn write_day(tmp: &Path, old: &Path, plan: &Rewrite) -> Result<Option<Written>> {
    let mut old = OldFile::open(old)?;
    let mut segments: Vec<Segment> = Vec::new();
    let mut keep: Vec<bool> = Vec::new();
    let mut written = Written::default();
    let mut pending_id = "";
    let mut pending_count = 0;
    if let Some(o) = &old {
        for s in &o.header.segments {
            let k = plan.drop_run != Some(s.run_id.as_str());
            keep.push(k);
            if k {
                segments.push(s.clone());
            } else {
                written.dropped += s.count;
            }
        }
        if o.header.pending > 0 {
            match plan.old_pending {
                OldPending::Fold => segments.push(Segment {
                    run_id: o.header.run_id.clone(),
                    count: o.header.pending,
                }),
                OldPending::Drop => written.dropped += o.header.pending,
                OldPending::Keep => {
                    pending_id = &o.header.run_id;
                    pending_count = o.header.pending;
                }
            }
        }
    }
    if !plan.extra.is_empty() {
        segments.push(Segment {
            run_id: String::new(),
            count: plan.extra.len(),
        });
    }
    if let Some((id, p)) = plan.pending.filter(|(_, p)| !p.is_empty()) {
        ensure!(
            pending_count == 0,
            "internal error: two pending runs in one day file"
        );
        pending_id = id;
        pending_count = p.len();
    }
    written.base = segments.iter().map(|s| s.count).sum();
    written.pending = pending_count;
    ensure!(
        written.base + written.pending <= MAX_ENTRIES,
        "the duplicate index would hold more than {MAX_ENTRIES} SDRs of one day"
    );
    if written.base + written.pending == 0 {
        if let Some(o) = old.take() {
            drain(o, &keep)?;
        }
        return Ok(None);
    }
    let pending_id = pending_id.to_owned();

    let create = || {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)
    };
    let file = create().with_context(|| format!("cannot write {}", tmp.display()))?;
    let mut w = SummingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        sum: Checksum::new_with_keys(CHECKSUM_KEY.0, CHECKSUM_KEY.1),
        bytes: 0,
    };
    let put = |w: &mut SummingWriter, b: &[u8]| {
        w.put(b)
            .with_context(|| format!("cannot write {}", tmp.display()))
    };
    put(
        &mut w,
        &encode_header(&pending_id, &segments, written.base, pending_count),
    )?;
    if let Some(mut o) = old {
        let counts: Vec<usize> = o.header.segments.iter().map(|s| s.count).collect();
        for (count, k) in counts.into_iter().zip(&keep) {
            o.copy(count, k.then_some(&mut w))?;
        }
        let p = o.header.pending;
        let copy_pending = matches!(plan.old_pending, OldPending::Fold | OldPending::Keep);
        // A kept pending part goes last, after the extra segment; the
        // extra segment only exists when migrating, never with Keep.
        ensure!(
            plan.old_pending != OldPending::Keep || plan.extra.is_empty(),
            "internal error: a kept pending part with migrated SDRs"
        );
        o.copy(p, copy_pending.then_some(&mut w))?;
        o.finish()?;
    }
    for e in plan.extra {
        put(&mut w, &e.encode())?;
    }
    if let Some((_, p)) = plan.pending {
        for e in p {
            put(&mut w, &e.encode())?;
        }
    }
    let sum = w.sum.finish().to_le_bytes();
    let finish = |mut w: SummingWriter| -> std::io::Result<u64> {
        w.inner.write_all(&sum)?;
        let file = w.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(w.bytes + CHECKSUM_LEN as u64)
    };
    written.bytes = finish(w).with_context(|| format!("cannot write {}", tmp.display()))?;
    Ok(Some(written))
}

/// Reads the rest of an old file only to verify it: a day about to be
/// removed as empty must not have been damaged either.
fn drain(mut o: OldFile, keep: &[bool]) -> Result<()> {
    debug_assert!(keep.iter().all(|k| !k));
    let total = o.header.base + o.header.pending;
    o.copy(total, None)?;
    o.finish()
}

/// The header, pending run id and segment table of a version 2 file.
fn encode_header(run_id: &str, segments: &[Segment], base: usize, pending: usize) -> Vec<u8> {
    let mut table = Vec::new();
    for s in segments {
        table.extend_from_slice(&(s.run_id.len() as u32).to_le_bytes());
        table.extend_from_slice(&(s.count as u64).to_le_bytes());
        table.extend_from_slice(s.run_id.as_bytes());
    }
    let mut b = Vec::with_capacity(HEADER_LEN + run_id.len() + table.len());
    b.extend_from_slice(&MAGIC);
    b.extend_from_slice(&VERSION.to_le_bytes());
    b.extend_from_slice(&(run_id.len() as u32).to_le_bytes());
    b.extend_from_slice(&(base as u64).to_le_bytes());
    b.extend_from_slice(&(pending as u64).to_le_bytes());
    b.extend_from_slice(&(segments.len() as u32).to_le_bytes());
    b.extend_from_slice(&(table.len() as u32).to_le_bytes());
    b.extend_from_slice(run_id.as_bytes());
    b.extend_from_slice(&table);
    b
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

struct Header {
    /// Everything before the records, as read (for the checksum).
    bytes: Vec<u8>,
    run_id: String,
    base: usize,
    pending: usize,
    /// The base's segments in file order; their counts add up to `base`.
    segments: Vec<Segment>,
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))
}

fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

/// Reads and checks an index file's header, run id and segment table:
/// its magic, its version (1 or 2), and that its counts match the
/// file's length.
fn read_header(file: &mut File, path: &Path) -> Result<Header> {
    let ctx = || format!("cannot read duplicate index {}", path.display());
    let actual = file.metadata().with_context(ctx)?.len();
    if actual < (V1_HEADER_LEN + CHECKSUM_LEN) as u64 {
        bail!(
            "duplicate index {} is truncated: {actual} bytes, shorter than any index",
            path.display()
        );
    }
    let mut bytes = vec![0u8; V1_HEADER_LEN];
    file.read_exact(&mut bytes).with_context(ctx)?;
    if bytes[..8] != MAGIC {
        bail!(
            "{} is not a duplicate index written by sdrate (bad magic)",
            path.display()
        );
    }
    let version = le_u32(&bytes[8..]);
    if version != VERSION && version != 1 {
        bail!(
            "duplicate index {} has format version {version}; this sdrate reads versions 1 and {VERSION}",
            path.display()
        );
    }
    let run_id_len = le_u32(&bytes[12..]) as u64;
    let base_count = le_u64(&bytes[16..]);
    let pending_count = le_u64(&bytes[24..]);
    let (header_len, segment_count, table_len) = if version == 1 {
        (V1_HEADER_LEN, 0, 0)
    } else {
        if actual < (HEADER_LEN + CHECKSUM_LEN) as u64 {
            bail!(
                "duplicate index {} is truncated: {actual} bytes, shorter than any index",
                path.display()
            );
        }
        bytes.resize(HEADER_LEN, 0);
        file.read_exact(&mut bytes[V1_HEADER_LEN..])
            .with_context(ctx)?;
        (
            HEADER_LEN,
            le_u32(&bytes[32..]) as u64,
            le_u32(&bytes[36..]) as u64,
        )
    };
    let expected = (header_len + CHECKSUM_LEN) as u128
        + run_id_len as u128
        + table_len as u128
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
    // The lengths now fit in the file, so the allocations are bounded.
    let start = bytes.len();
    bytes.resize(start + (run_id_len + table_len) as usize, 0);
    file.read_exact(&mut bytes[start..]).with_context(ctx)?;
    let damaged =
        |what: &str| anyhow::anyhow!("duplicate index {} is damaged: {what}", path.display());
    let id_end = start + run_id_len as usize;
    let run_id = std::str::from_utf8(&bytes[start..id_end])
        .map_err(|_| damaged("the run id is not UTF-8"))?
        .to_owned();
    let mut segments = Vec::new();
    if version == 1 {
        if base_count > 0 {
            segments.push(Segment {
                run_id: String::new(),
                count: base_count as usize,
            });
        }
    } else {
        let mut t = &bytes[id_end..];
        for _ in 0..segment_count {
            if t.len() < 12 {
                return Err(damaged("its segment table is cut short"));
            }
            let len = le_u32(t) as usize;
            let count = le_u64(&t[4..]);
            t = &t[12..];
            if t.len() < len {
                return Err(damaged("its segment table is cut short"));
            }
            let id = std::str::from_utf8(&t[..len])
                .map_err(|_| damaged("a segment's run id is not UTF-8"))?;
            t = &t[len..];
            segments.push(Segment {
                run_id: id.to_owned(),
                count: usize::try_from(count).unwrap_or(usize::MAX),
            });
        }
        if !t.is_empty() {
            return Err(damaged("its segment table is longer than its segments"));
        }
        let total: u128 = segments.iter().map(|s| s.count as u128).sum();
        if total != base_count as u128 {
            return Err(damaged("its segments do not add up to its base"));
        }
    }
    Ok(Header {
        bytes,
        run_id,
        base: base_count as usize,
        pending: pending_count as usize,
        segments,
    })
}

struct Loaded {
    run_id: String,
    /// The base's segments; their records lie in `base` in this order,
    /// each sorted.
    segments: Vec<Segment>,
    /// With spare capacity for `pending`, so merging does not reallocate.
    base: Vec<Entry>,
    pending: Vec<Entry>,
}

impl Loaded {
    /// The base as one sorted list without repeats (what lookups need);
    /// the segments are forgotten.
    fn into_sorted_base(mut self) -> (String, Vec<Entry>, Vec<Entry>) {
        if self.segments.len() > 1 {
            // A day's SDRs come from a few nights, so a handful of
            // segments: sorting the concatenation is simpler than a k-way
            // merge and as fast for k beyond 2.
            self.base.sort_unstable_by_key(|e| e.fp);
            self.base.dedup_by_key(|e| e.fp);
        }
        (self.run_id, self.base, self.pending)
    }

    /// The run whose segment holds `fp` (the first, if several do).
    fn segment_of(&self, fp: Fp) -> Option<&Segment> {
        let mut start = 0;
        for s in &self.segments {
            let part = &self.base[start..start + s.count];
            if part.binary_search_by_key(&fp, |e| e.fp).is_ok() {
                return Some(s);
            }
            start += s.count;
        }
        None
    }
}

/// Reads and verifies an index file; `None` if there is none.
fn load(path: &Path) -> Result<Option<Loaded>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    let ctx = || format!("cannot read duplicate index {}", path.display());
    let header = read_header(&mut file, path)?;
    let mut sum = Checksum::new_with_keys(CHECKSUM_KEY.0, CHECKSUM_KEY.1);
    sum.write(&header.bytes);
    let (base_count, pending_count) = (header.base, header.pending);
    let mut base = Vec::with_capacity(base_count + pending_count);
    let mut pending = Vec::with_capacity(pending_count);
    for s in &header.segments {
        read_entries(&mut file, s.count, &mut sum, &mut base, path, "base")?;
    }
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
    Ok(Some(Loaded {
        run_id: header.run_id,
        segments: header.segments,
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
    use std::collections::BTreeSet;

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

    /// The tests' clock, unless they set one.
    const NOW: &str = "2026-11-25T00:00:00Z";

    fn window(now: &str, retention_days: i64) -> Window {
        Window {
            now: t(now).to_utc(),
            retention: TimeDelta::days(retention_days),
            future_tolerance: TimeDelta::hours(24),
        }
    }

    fn open(dir: &Path, published: &[&str]) -> DuplicateIndex {
        let published: Vec<String> = published.iter().map(|s| s.to_string()).collect();
        DuplicateIndex::open(dir, window(NOW, 365), |id| {
            Ok(published.iter().any(|p| p == id))
        })
        .unwrap()
    }

    fn all_published(dir: &Path) -> DuplicateIndex {
        DuplicateIndex::open(dir, window(NOW, 365), |_| Ok(true)).unwrap()
    }

    fn day_path(dir: &Path, day: &str) -> PathBuf {
        dir.join(INDEX_DIR).join(format!("{day}{DAY_SUFFIX}"))
    }

    /// The day files of a state directory, with their bytes.
    fn day_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        match fs::read_dir(dir.join(INDEX_DIR)) {
            Err(_) => BTreeMap::new(),
            Ok(rd) => rd
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.file_name().into_string().unwrap(),
                        fs::read(e.path()).unwrap(),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn new_then_duplicate_within_a_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = all_published(dir.path());
        assert!(ix.is_empty());
        assert_eq!(ix.cutoff(), t("2025-11-25T00:00:00Z").to_utc());
        let k = key("node-1", 7, "2026-11-22T14:30:00+01:00");
        assert_eq!(ix.check(&k).unwrap(), Verdict::New);
        assert_eq!(
            ix.check(&k).unwrap(),
            Verdict::New,
            "check alone does not stage"
        );
        assert_eq!(ix.check_and_stage(&k).unwrap(), Verdict::New);
        assert_eq!(ix.check_and_stage(&k).unwrap(), Verdict::Duplicate);
        assert_eq!(ix.check(&k).unwrap(), Verdict::Duplicate);
        assert_eq!((ix.len(), ix.staged_len(), ix.committed_len()), (1, 1, 0));
        // Nothing on disk until commit.
        assert!(!dir.path().join(INDEX_DIR).exists());
    }

    #[test]
    fn duplicate_across_runs_after_a_published_commit() {
        let dir = tempfile::tempdir().unwrap();
        let k = key("node-1", 7, "2026-11-22T14:30:00+01:00");
        let mut ix = open(dir.path(), &[]);
        assert_eq!(ix.check_and_stage(&k).unwrap(), Verdict::New);
        let stats = ix.commit("run-1").unwrap();
        assert_eq!(
            stats,
            CommitStats {
                kept: 0,
                dropped_days: 0,
                staged: 1,
                files_written: 1,
                bytes: (HEADER_LEN + 5 + RECORD_LEN + CHECKSUM_LEN) as u64
            }
        );
        assert_eq!(
            fs::metadata(day_path(dir.path(), "2026-11-22"))
                .unwrap()
                .len(),
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
        assert_eq!(ix.committed_len(), 0, "no day loaded before a check");
        assert_eq!(ix.check_and_stage(&k).unwrap(), Verdict::Duplicate);
        assert_eq!(ix.committed_len(), 1);
        // Still a duplicate two runs later, once run-1 moved into the base.
        ix.commit("run-2").unwrap();
        let mut ix = open(dir.path(), &["run-1", "run-2"]);
        assert_eq!(ix.check(&k).unwrap(), Verdict::Duplicate);
        assert_eq!(ix.committed_len(), 1);
    }

    #[test]
    fn a_run_that_did_not_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let k = key("node-1", 7, "2026-11-22T14:30:00Z");
        let mut ix = open(dir.path(), &[]);
        assert_eq!(ix.check_and_stage(&k).unwrap(), Verdict::New);
        drop(ix); // killed before commit
        let mut ix = open(dir.path(), &[]);
        assert_eq!(ix.check_and_stage(&k).unwrap(), Verdict::New);
        assert!(ix.previous_run().is_none());
    }

    #[test]
    fn a_committed_run_that_was_not_published_does_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = key("node-1", 1, "2026-11-22T14:30:00Z");
        let k2 = key("node-1", 2, "2026-11-22T14:31:00Z");
        let mut ix = open(dir.path(), &[]);
        ix.check_and_stage(&k1).unwrap();
        ix.commit("run-1").unwrap();
        // run-1 published; run-2 commits, then dies before publishing.
        let mut ix = open(dir.path(), &["run-1"]);
        assert_eq!(ix.check_and_stage(&k2).unwrap(), Verdict::New);
        ix.commit("run-2").unwrap();
        let mut calls = Vec::new();
        let mut ix = DuplicateIndex::open(dir.path(), window(NOW, 30), |id| {
            calls.push(id.to_string());
            Ok(id == "run-1")
        })
        .unwrap();
        assert_eq!(calls, ["run-2"]);
        assert_eq!(
            ix.previous_run().map(|p| (p.published, p.entries)),
            Some((false, 1))
        );
        assert_eq!(ix.check(&k1).unwrap(), Verdict::Duplicate);
        // The rerun (run-3) bills k2 after all, and its commit drops run-2.
        assert_eq!(ix.check_and_stage(&k2).unwrap(), Verdict::New);
        ix.commit("run-3").unwrap();
        let mut ix = open(dir.path(), &["run-1", "run-3"]);
        assert_eq!(ix.check(&k2).unwrap(), Verdict::Duplicate);
        assert_eq!(ix.committed_len(), 2);
    }

    #[test]
    fn the_publication_question_can_fail() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = open(dir.path(), &[]);
        ix.check_and_stage(&key("a", 1, "2026-01-01T00:00:00Z"))
            .unwrap();
        ix.commit("run-1").unwrap();
        let err = DuplicateIndex::open(dir.path(), window(NOW, 365), |_| {
            bail!("manifest directory unreadable")
        })
        .err()
        .unwrap();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("run-1") && msg.contains("2026-01-01.idx"),
            "{msg}"
        );
        assert!(msg.contains("manifest directory unreadable"), "{msg}");
    }

    #[test]
    fn unstage_takes_back_a_faulted_sdr() {
        let dir = tempfile::tempdir().unwrap();
        let k = key("a", 1, "2026-01-01T00:00:00Z");
        let mut ix = open(dir.path(), &[]);
        assert_eq!(ix.check_and_stage(&k).unwrap(), Verdict::New);
        assert!(ix.unstage(&k));
        assert!(!ix.unstage(&k));
        assert_eq!(ix.check(&k).unwrap(), Verdict::New);
        ix.commit("run-1").unwrap();
        let mut ix = open(dir.path(), &["run-1"]);
        assert_eq!(ix.check_and_stage(&k).unwrap(), Verdict::New);
        // Committed SDRs cannot be unstaged.
        ix.commit("run-2").unwrap();
        let mut ix = open(dir.path(), &["run-1", "run-2"]);
        assert!(!ix.unstage(&k));
        assert_eq!(ix.check(&k).unwrap(), Verdict::Duplicate);
    }

    #[test]
    fn a_fingerprint_answers_as_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let k = key("node-1", 7, "2026-11-22T14:30:00+01:00");
        let fp = k.fingerprint();
        assert_eq!(fp, key("node-1", 7, "2026-11-22T13:30:00Z").fingerprint());
        assert_ne!(fp, key("node-1", 8, "2026-11-22T13:30:00Z").fingerprint());
        let mut ix = open(dir.path(), &[]);
        assert_eq!(ix.check(fp).unwrap(), Verdict::New);
        assert_eq!(ix.check_and_stage(fp).unwrap(), Verdict::New);
        assert_eq!(ix.check(&k).unwrap(), Verdict::Duplicate);
        assert_eq!(ix.check_and_stage(&k).unwrap(), Verdict::Duplicate);
        assert!(ix.unstage(fp));
        assert_eq!(ix.check_and_stage(&k).unwrap(), Verdict::New);
        ix.commit("r1").unwrap();
        assert_eq!(
            open(dir.path(), &["r1"]).check(fp).unwrap(),
            Verdict::Duplicate
        );
    }

    #[test]
    fn every_part_of_the_key_matters() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = open(dir.path(), &[]);
        assert_eq!(
            ix.check_and_stage(&key("node-1", 7, "2026-11-22T14:30:00Z"))
                .unwrap(),
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
            assert_eq!(ix.check_and_stage(&k).unwrap(), Verdict::New, "{k:?}");
        }
        assert_eq!(ix.len(), 8);
    }

    #[test]
    fn the_same_instant_in_another_offset_is_a_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = open(dir.path(), &[]);
        assert_eq!(
            ix.check_and_stage(&key("node-1", 7, "2026-11-22T14:30:00+01:00"))
                .unwrap(),
            Verdict::New
        );
        assert_eq!(
            ix.check_and_stage(&key("node-1", 7, "2026-11-22T13:30:00Z"))
                .unwrap(),
            Verdict::Duplicate
        );
        ix.commit("r1").unwrap();
        let mut ix = open(dir.path(), &["r1"]);
        assert_eq!(
            ix.check(&key("node-1", 7, "2026-11-22T08:30:00-05:00"))
                .unwrap(),
            Verdict::Duplicate
        );
        assert_eq!(
            ix.check(&key("node-1", 7, "2026-11-23T00:00:00+10:30"))
                .unwrap(),
            Verdict::Duplicate
        );
    }

    #[test]
    fn retention_counts_back_from_the_clock_and_drops_whole_days() {
        let dir = tempfile::tempdir().unwrap();
        let d = |day: u32| format!("2026-01-{day:02}T12:00:00Z");
        let (d1, d10, d11, d12, d20) = (d(1), d(10), d(11), d(12), d(20));
        let open_at =
            |now: &str| DuplicateIndex::open(dir.path(), window(now, 10), |_| Ok(true)).unwrap();
        let mut ix = open_at("2026-01-11T18:00:00Z");
        // The cutoff is the start of the day of now - 10 days: Jan 1.
        assert_eq!(ix.cutoff(), t("2026-01-01T00:00:00Z").to_utc());
        for (i, day) in [&d1, &d10, &d11].into_iter().enumerate() {
            assert_eq!(
                ix.check_and_stage(&key("a", i as u32, day)).unwrap(),
                Verdict::New
            );
        }
        assert_eq!(
            ix.check(&key("a", 99, "2025-12-31T23:59:59Z")).unwrap(),
            Verdict::TooOld
        );
        ix.commit("r1").unwrap();

        // The clock, not the newest SDR, sets the cutoff: a run at Jan 12
        // 06:00 keeps Jan 2 onwards (Jan 1 is too old, and its file goes
        // when this run commits).
        let mut ix = open_at("2026-01-12T06:00:00Z");
        assert_eq!(ix.cutoff(), t("2026-01-02T00:00:00Z").to_utc());
        assert_eq!(ix.check(&key("a", 0, &d1)).unwrap(), Verdict::TooOld);
        assert_eq!(ix.check(&key("a", 1, &d10)).unwrap(), Verdict::Duplicate);
        assert_eq!(ix.days_loaded(), 1, "too old loads nothing");
        assert_eq!(
            ix.check_and_stage(&key("a", 3, &d12)).unwrap(),
            Verdict::New
        );
        let stats = ix.commit("r2").unwrap();
        // Jan 10 and 11 had r1 pending: folded. Jan 12 is new.
        assert_eq!(
            (stats.dropped_days, stats.files_written, stats.staged),
            (1, 3, 1)
        );
        assert!(!day_path(dir.path(), "2026-01-01").exists());
        let names: Vec<String> = day_files(dir.path()).into_keys().collect();
        assert_eq!(
            names,
            ["2026-01-10.idx", "2026-01-11.idx", "2026-01-12.idx"]
        );

        // Later on, only Jan 20 onwards is remembered.
        let mut ix = open_at("2026-01-30T00:00:00Z");
        assert_eq!(ix.check(&key("a", 3, &d12)).unwrap(), Verdict::TooOld);
        assert_eq!(
            ix.check_and_stage(&key("a", 4, &d20)).unwrap(),
            Verdict::New
        );
        let stats = ix.commit("r3").unwrap();
        assert_eq!(stats.dropped_days, 3);
        let names: Vec<String> = day_files(dir.path()).into_keys().collect();
        assert_eq!(names, ["2026-01-20.idx"]);
        let mut ix = open_at("2026-01-30T00:00:00Z");
        assert_eq!(ix.check(&key("a", 4, &d20)).unwrap(), Verdict::Duplicate);
    }

    /// One published run per day for `days` days from 2026-03-01, each
    /// billing `per_day` SDRs of its day.
    fn history(dir: &Path, days: u32, per_day: u32) {
        for d in 0..days {
            let day = format!("2026-03-{:02}T10:00:00Z", d + 1);
            let now = format!("2026-03-{:02}T23:00:00Z", d + 1);
            let last = (d > 0).then(|| format!("night-{}", d - 1));
            let mut ix =
                DuplicateIndex::open(dir, window(&now, 90), |id| Ok(last.as_deref() == Some(id)))
                    .unwrap();
            for i in 0..per_day {
                assert_eq!(
                    ix.check_and_stage(&key("n", i, &day)).unwrap(),
                    Verdict::New
                );
            }
            ix.commit(&format!("night-{d}")).unwrap();
        }
    }

    #[test]
    fn a_night_loads_and_rewrites_only_its_days_and_the_previous_nights() {
        let dir = tempfile::tempdir().unwrap();
        history(dir.path(), 20, 50);
        let before = day_files(dir.path());
        assert_eq!(before.len(), 20);
        // Night 21 bills SDRs of March 21 and a late one of March 5.
        let mut ix = DuplicateIndex::open(dir.path(), window("2026-03-21T23:00:00Z", 90), |id| {
            Ok(id == "night-19")
        })
        .unwrap();
        assert_eq!((ix.day_files(), ix.days_loaded()), (20, 0));
        for i in 0..50 {
            let k = key("n", i, "2026-03-21T10:00:00Z");
            assert_eq!(ix.check_and_stage(&k).unwrap(), Verdict::New);
        }
        let late = key("n", 1000, "2026-03-05T10:00:00Z");
        assert_eq!(ix.check_and_stage(&late).unwrap(), Verdict::New);
        let billed = key("n", 7, "2026-03-05T10:00:00Z");
        assert_eq!(ix.check_and_stage(&billed).unwrap(), Verdict::Duplicate);
        // Memory: the two days touched, not the twenty in the window.
        assert_eq!(ix.days_loaded(), 2);
        assert_eq!(ix.committed_len(), 50);
        let stats = ix.commit("night-20").unwrap();
        // Written: March 21 and 5 (this night's) and March 20 (night-19
        // pending there, folded). Nothing else changed.
        assert_eq!(
            (stats.files_written, stats.staged, stats.kept),
            (3, 51, 100)
        );
        let after = day_files(dir.path());
        let changed: Vec<&str> = after
            .iter()
            .filter(|(name, bytes)| before.get(*name) != Some(*bytes))
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(
            changed,
            ["2026-03-05.idx", "2026-03-20.idx", "2026-03-21.idx"]
        );
        let mut ix = DuplicateIndex::open(dir.path(), window("2026-03-22T23:00:00Z", 90), |id| {
            Ok(id == "night-20")
        })
        .unwrap();
        assert_eq!(ix.check(&late).unwrap(), Verdict::Duplicate);
        assert_eq!(
            ix.check(&key("n", 3, "2026-03-20T10:00:00Z")).unwrap(),
            Verdict::Duplicate
        );
    }

    #[test]
    fn a_published_run_pending_in_a_day_the_next_run_does_not_touch_still_counts() {
        // The engine asks "published?" of the last published run only: a
        // day file left pending by an earlier published run must have been
        // folded by the run after it, or its SDRs would be billed again.
        let dir = tempfile::tempdir().unwrap();
        let a = key("a", 1, "2026-11-01T10:00:00Z");
        let b = key("a", 2, "2026-11-02T10:00:00Z");
        let last = |run: &'static str| move |id: &str| Ok(id == run);
        let mut ix = DuplicateIndex::open(dir.path(), window(NOW, 90), last("none")).unwrap();
        ix.check_and_stage(&a).unwrap();
        ix.commit("r1").unwrap();
        let mut ix = DuplicateIndex::open(dir.path(), window(NOW, 90), last("r1")).unwrap();
        ix.check_and_stage(&b).unwrap();
        ix.commit("r2").unwrap();
        let mut ix = DuplicateIndex::open(dir.path(), window(NOW, 90), last("r2")).unwrap();
        assert_eq!(ix.check(&a).unwrap(), Verdict::Duplicate);
        assert_eq!(ix.check(&b).unwrap(), Verdict::Duplicate);
        // And after a crash part way through r3's commit, r2 still counts
        // and r3 does not.
        let c = key("a", 3, "2026-11-03T10:00:00Z");
        ix.check_and_stage(&c).unwrap();
        ix.crash_after(1);
        assert!(ix.commit("r3").is_err());
        let mut ix = DuplicateIndex::open(dir.path(), window(NOW, 90), last("r2")).unwrap();
        assert_eq!(ix.check(&a).unwrap(), Verdict::Duplicate);
        assert_eq!(ix.check(&b).unwrap(), Verdict::Duplicate);
        assert_eq!(ix.check(&c).unwrap(), Verdict::New);
    }

    #[test]
    fn a_future_sdr_is_refused_and_does_not_move_retention() {
        let dir = tempfile::tempdir().unwrap();
        let night = |now: &str, last: &str| {
            let last = last.to_string();
            DuplicateIndex::open(dir.path(), window(now, 90), move |id| Ok(id == last)).unwrap()
        };
        let mut ix = night("2026-11-22T02:00:00Z", "");
        let bad_clock = key("n", 1, "2099-01-01T00:00:00Z");
        assert_eq!(ix.check_and_stage(&bad_clock).unwrap(), Verdict::Future);
        // Within the tolerance (24 hours here) is fine.
        let early = key("n", 2, "2026-11-23T01:59:59Z");
        assert_eq!(ix.check_and_stage(&early).unwrap(), Verdict::New);
        assert_eq!(
            ix.check(&key("n", 3, "2026-11-23T02:00:01Z")).unwrap(),
            Verdict::Future
        );
        assert_eq!(ix.staged_len(), 1, "a future SDR is not staged");
        assert_eq!(ix.days_loaded(), 1, "nor loads a day");
        ix.commit("r1").unwrap();
        let names: Vec<String> = day_files(dir.path()).into_keys().collect();
        assert_eq!(names, ["2026-11-23.idx"]);
        // The next night's SDRs are billed, not too old.
        let mut ix = night("2026-11-23T02:00:00Z", "r1");
        assert_eq!(
            ix.check_and_stage(&key("n", 4, "2026-11-22T12:00:00Z"))
                .unwrap(),
            Verdict::New
        );
        assert_eq!(ix.check(&early).unwrap(), Verdict::Duplicate);
        // Recycled once the clock was fixed, it is billed like any SDR.
        assert_eq!(ix.check(&bad_clock).unwrap(), Verdict::Future);
    }

    /// A legacy single-file index of `base` and `pending` (run `run`).
    fn write_legacy(dir: &Path, run: &str, base: &[Key], pending: &[Key]) {
        let sorted = |keys: &[Key]| {
            let mut v: Vec<Entry> = keys.iter().map(Key::entry).collect();
            v.sort_unstable_by_key(|e| e.fp);
            v
        };
        fs::create_dir_all(dir).unwrap();
        write_v1(&dir.join(LEGACY_FILE), run, &sorted(base), &sorted(pending));
    }

    /// A file in format version 1 (no segment table), as earlier versions
    /// wrote them.
    fn write_v1(path: &Path, run: &str, base: &[Entry], pending: &[Entry]) {
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&(run.len() as u32).to_le_bytes());
        b.extend_from_slice(&(base.len() as u64).to_le_bytes());
        b.extend_from_slice(&(pending.len() as u64).to_le_bytes());
        b.extend_from_slice(run.as_bytes());
        for e in base.iter().chain(pending) {
            b.extend_from_slice(&e.encode());
        }
        let mut sum = Checksum::new_with_keys(CHECKSUM_KEY.0, CHECKSUM_KEY.1);
        sum.write(&b);
        b.extend_from_slice(&sum.finish().to_le_bytes());
        fs::write(path, b).unwrap();
    }

    fn sorted_entries(keys: &[Key]) -> Vec<Entry> {
        let mut v: Vec<Entry> = keys.iter().map(Key::entry).collect();
        v.sort_unstable_by_key(|e| e.fp);
        v
    }

    fn billed(ix: &DuplicateIndex, keys: &[&Key]) -> Vec<Billed> {
        let fps: Vec<Fingerprint> = keys.iter().map(|k| k.fingerprint()).collect();
        ix.billed_by(&fps).unwrap()
    }

    fn by(run: &str) -> Billed {
        Billed::By(run.to_string())
    }

    #[test]
    fn the_index_records_which_run_billed_each_sdr() {
        let dir = tempfile::tempdir().unwrap();
        let a = key("p", 1, "2026-11-20T10:00:00Z");
        let b = key("p", 2, "2026-11-20T11:00:00Z");
        let c = key("p", 3, "2026-11-21T10:00:00Z");
        let d = key("p", 4, "2026-11-20T12:00:00Z");
        let never = key("p", 5, "2026-11-20T13:00:00Z");
        let mut ix = open(dir.path(), &[]);
        ix.check_and_stage(&a).unwrap();
        ix.check_and_stage(&c).unwrap();
        ix.commit("run-1").unwrap();
        let mut ix = open(dir.path(), &["run-1"]);
        ix.check_and_stage(&b).unwrap();
        ix.commit("run-2").unwrap();
        let mut ix = open(dir.path(), &["run-1", "run-2"]);
        ix.check_and_stage(&d).unwrap();
        ix.commit("run-3").unwrap();

        // run-3 published: its pending SDR counts and is named.
        let ix = open(dir.path(), &["run-3"]);
        assert_eq!(
            billed(&ix, &[&a, &b, &c, &d, &never]),
            [
                by("run-1"),
                by("run-2"),
                by("run-1"),
                by("run-3"),
                Billed::NotBilled
            ]
        );
        // run-3 not published: its SDR was not billed.
        let ix = open(dir.path(), &[]);
        assert_eq!(billed(&ix, &[&d]), [Billed::NotBilled]);
        // Out of the window either way.
        let ix = DuplicateIndex::open(dir.path(), window(NOW, 1), |_| Ok(true)).unwrap();
        let future = key("p", 6, "2026-11-27T00:00:00Z");
        assert_eq!(
            billed(&ix, &[&a, &future]),
            [Billed::TooOld, Billed::Future]
        );

        let listed = runs(dir.path()).unwrap();
        let row = |id: &str, sdrs, first: &str, last: &str, pending| IndexedRun {
            run_id: id.into(),
            sdrs,
            first_day: first.into(),
            last_day: last.into(),
            pending,
        };
        assert_eq!(
            listed,
            [
                row("run-1", 2, "2026-11-20", "2026-11-21", false),
                row("run-2", 1, "2026-11-20", "2026-11-20", false),
                row("run-3", 1, "2026-11-20", "2026-11-20", true),
            ]
        );
    }

    #[test]
    fn undoing_a_run_takes_out_its_sdrs_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let a = key("p", 1, "2026-11-20T10:00:00Z");
        let b = key("p", 2, "2026-11-20T11:00:00Z");
        let c = key("p", 3, "2026-11-21T10:00:00Z");
        let d = key("p", 4, "2026-11-22T10:00:00Z");
        let e = key("p", 5, "2026-11-20T12:00:00Z");
        let mut ix = open(dir.path(), &[]);
        ix.check_and_stage(&a).unwrap();
        ix.commit("run-1").unwrap();
        let mut ix = open(dir.path(), &["run-1"]);
        ix.check_and_stage(&b).unwrap();
        ix.check_and_stage(&c).unwrap();
        ix.commit("run-2").unwrap();
        let mut ix = open(dir.path(), &["run-2"]);
        ix.check_and_stage(&d).unwrap();
        ix.check_and_stage(&e).unwrap();
        ix.commit("run-3").unwrap();

        // run-2, folded into the base of two days.
        assert_eq!(
            undo_run(dir.path(), "run-2").unwrap(),
            Undone { sdrs: 2, days: 2 }
        );
        // 2026-11-21 held only run-2's SDR: the file is gone.
        assert!(!day_path(dir.path(), "2026-11-21").exists());
        let mut ix = open(dir.path(), &["run-3"]);
        for (k, v) in [
            (&a, Verdict::Duplicate),
            (&b, Verdict::New),
            (&c, Verdict::New),
            (&d, Verdict::Duplicate),
            (&e, Verdict::Duplicate),
        ] {
            assert_eq!(ix.check(k).unwrap(), v, "{k:?}");
        }
        drop(ix);
        // Again: nothing left to undo.
        assert_eq!(undo_run(dir.path(), "run-2").unwrap(), Undone::default());

        // run-3, the last run, still pending in two days.
        assert_eq!(
            undo_run(dir.path(), "run-3").unwrap(),
            Undone { sdrs: 2, days: 2 }
        );
        let mut ix = open(dir.path(), &["run-3"]);
        assert_eq!(ix.check(&a).unwrap(), Verdict::Duplicate);
        assert_eq!(ix.check(&d).unwrap(), Verdict::New);
        assert_eq!(ix.check(&e).unwrap(), Verdict::New);
        assert_eq!(
            runs(dir.path())
                .unwrap()
                .iter()
                .map(|r| r.run_id.as_str())
                .collect::<Vec<_>>(),
            ["run-1"]
        );
    }

    #[test]
    fn undo_keeps_the_last_runs_pending_part_pending() {
        let dir = tempfile::tempdir().unwrap();
        let a = key("p", 1, "2026-11-20T10:00:00Z");
        let b = key("p", 2, "2026-11-20T11:00:00Z");
        let mut ix = open(dir.path(), &[]);
        ix.check_and_stage(&a).unwrap();
        ix.commit("run-1").unwrap();
        let mut ix = open(dir.path(), &["run-1"]);
        ix.check_and_stage(&b).unwrap();
        ix.commit("run-2").unwrap();
        undo_run(dir.path(), "run-1").unwrap();
        // run-2 still counts only if published.
        assert_eq!(
            open(dir.path(), &["run-2"]).check(&b).unwrap(),
            Verdict::Duplicate
        );
        assert_eq!(open(dir.path(), &[]).check(&b).unwrap(), Verdict::New);
        assert_eq!(open(dir.path(), &[]).check(&a).unwrap(), Verdict::New);
    }

    #[test]
    fn a_version_1_day_file_is_read_and_rewritten_as_version_2() {
        let dir = tempfile::tempdir().unwrap();
        let a = key("p", 1, "2026-11-20T10:00:00Z");
        let b = key("p", 2, "2026-11-20T11:00:00Z");
        let c = key("p", 3, "2026-11-20T12:00:00Z");
        fs::create_dir_all(dir.path().join(INDEX_DIR)).unwrap();
        let path = day_path(dir.path(), "2026-11-20");
        write_v1(&path, "old", &sorted_entries(&[a]), &sorted_entries(&[b]));
        let mut ix = open(dir.path(), &["old"]);
        assert_eq!(ix.check(&a).unwrap(), Verdict::Duplicate);
        assert_eq!(ix.check(&b).unwrap(), Verdict::Duplicate);
        assert_eq!(billed(&ix, &[&a, &b]), [by(""), by("old")]);
        ix.check_and_stage(&c).unwrap();
        ix.commit("new").unwrap();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(le_u32(&bytes[8..]), VERSION);
        let ix = open(dir.path(), &["new"]);
        assert_eq!(billed(&ix, &[&a, &b, &c]), [by(""), by("old"), by("new")]);
    }

    #[test]
    fn a_legacy_single_file_index_is_honoured_and_split_into_days() {
        let dir = tempfile::tempdir().unwrap();
        let old = key("a", 1, "2026-05-01T10:00:00Z"); // beyond 90 days
        let b1 = key("a", 2, "2026-11-20T10:00:00Z");
        let b2 = key("a", 3, "2026-11-21T10:00:00Z");
        let p = key("a", 4, "2026-11-21T11:00:00Z");
        write_legacy(dir.path(), "old-run", &[old, b1, b2], &[p]);
        let legacy = fs::read(dir.path().join(LEGACY_FILE)).unwrap();
        let open_with = |last: &'static str| {
            DuplicateIndex::open(dir.path(), window(NOW, 90), move |id| Ok(id == last)).unwrap()
        };

        // A dry run: checks against it, writes nothing.
        let mut ix = open_with("old-run");
        for k in [&b1, &b2, &p] {
            assert_eq!(ix.check(k).unwrap(), Verdict::Duplicate, "{k:?}");
        }
        assert_eq!(ix.check(&old).unwrap(), Verdict::TooOld);
        drop(ix);
        assert!(!dir.path().join(INDEX_DIR).exists());

        // Not published: its pending SDR does not count.
        let mut ix = open_with("another");
        assert_eq!(ix.check(&p).unwrap(), Verdict::New);
        drop(ix);

        // Killed part way through the migrating commit: the legacy file
        // stays, and the mix answers the same.
        let mut ix = open_with("old-run");
        let n = key("a", 5, "2026-11-24T10:00:00Z");
        ix.check_and_stage(&n).unwrap();
        ix.crash_after(1);
        assert!(ix.commit("r1").is_err());
        assert_eq!(fs::read(dir.path().join(LEGACY_FILE)).unwrap(), legacy);
        let mut ix = open_with("old-run");
        for k in [&b1, &b2, &p] {
            assert_eq!(ix.check(k).unwrap(), Verdict::Duplicate, "{k:?}");
        }
        assert_eq!(ix.check_and_stage(&n).unwrap(), Verdict::New);

        // The commit splits it into days, then removes it.
        let stats = ix.commit("r2").unwrap();
        assert_eq!(stats.files_written, 3);
        assert!(!dir.path().join(LEGACY_FILE).exists());
        let names: Vec<String> = day_files(dir.path()).into_keys().collect();
        assert_eq!(
            names,
            ["2026-11-20.idx", "2026-11-21.idx", "2026-11-24.idx"]
        );
        let mut ix = open_with("r2");
        for k in [&b1, &b2, &p, &n] {
            assert_eq!(ix.check(k).unwrap(), Verdict::Duplicate, "{k:?}");
        }
    }

    #[test]
    fn negative_retention_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = window(NOW, 1);
        w.retention = TimeDelta::seconds(-1);
        assert!(DuplicateIndex::open(dir.path(), w, |_| Ok(true)).is_err());
        let mut w = window(NOW, 1);
        w.future_tolerance = TimeDelta::seconds(-1);
        assert!(DuplicateIndex::open(dir.path(), w, |_| Ok(true)).is_err());
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
        assert!(!dir.path().join(INDEX_DIR).exists());
    }

    /// Writes an index of three SDRs, one pending, and returns its bytes.
    fn sample(dir: &Path) -> Vec<u8> {
        let mut ix = open(dir, &[]);
        ix.check_and_stage(&key("a", 1, "2026-01-01T00:00:00Z"))
            .unwrap();
        ix.check_and_stage(&key("a", 2, "2026-01-01T00:00:00Z"))
            .unwrap();
        ix.commit("r1").unwrap();
        let mut ix = open(dir, &["r1"]);
        ix.check_and_stage(&key("a", 3, "2026-01-01T00:00:00Z"))
            .unwrap();
        ix.commit("r2").unwrap();
        fs::read(day_path(dir, "2026-01-01")).unwrap()
    }

    /// The error of opening the index, or of loading the sample's day.
    fn open_err(dir: &Path) -> String {
        let err = DuplicateIndex::open(dir, window(NOW, 365), |_| Ok(true))
            .and_then(|mut ix| ix.check(&key("a", 9, "2026-01-01T00:00:00Z")))
            .expect_err("an error");
        let msg = format!("{err:#}");
        assert!(
            msg.contains(&day_path(dir, "2026-01-01").display().to_string()),
            "{msg}"
        );
        msg
    }

    #[test]
    fn a_damaged_index_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = sample(dir.path());
        // Header, the pending run id "r2", the segment table (run "r1": 12
        // bytes and its id), three records, the checksum.
        let records = HEADER_LEN + 2 + 14;
        assert_eq!(good.len(), records + 3 * RECORD_LEN + CHECKSUM_LEN);
        let path = day_path(dir.path(), "2026-01-01");

        // A flipped bit in a record.
        let mut bad = good.clone();
        bad[records + 5] ^= 0x10;
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
        bad[8] = 3;
        fs::write(&path, &bad).unwrap();
        assert!(open_err(dir.path()).contains("version 3"));

        // Counts that do not match the length.
        let mut bad = good.clone();
        bad[16] = 0xff;
        fs::write(&path, &bad).unwrap();
        assert!(open_err(dir.path()).contains("truncated or damaged"));

        // Records out of order, with a checksum that matches.
        let mut bad = good.clone();
        let r = records;
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
        let mut ix = all_published(dir.path());
        ix.check(&key("a", 1, "2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(ix.committed_len(), 3);
    }

    #[test]
    fn a_truncated_index_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = sample(dir.path());
        let path = day_path(dir.path(), "2026-01-01");
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
        fs::create_dir_all(day_path(dir.path(), "2026-01-01")).unwrap();
        open_err(dir.path());
    }

    #[test]
    fn a_leftover_temporary_file_is_ignored_and_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let good = sample(dir.path());
        let tmp = dir.path().join(INDEX_DIR).join(".2026-01-01.idx.tmp");
        let z = key("z", 1, "2026-01-01T00:00:00Z");
        let a1 = key("a", 1, "2026-01-01T00:00:00Z");

        // A crash half way through writing the temporary file...
        fs::write(&tmp, &good[..good.len() / 2]).unwrap();
        let mut ix = all_published(dir.path());
        assert_eq!(ix.check(&a1).unwrap(), Verdict::Duplicate);
        assert_eq!(ix.committed_len(), 3);
        // ...and one after writing it in full, before the rename: the new
        // file (with "z") never took effect.
        let other = tempfile::tempdir().unwrap();
        let mut ox = all_published(other.path());
        ox.check_and_stage(&z).unwrap();
        ox.commit("other").unwrap();
        fs::copy(day_path(other.path(), "2026-01-01"), &tmp).unwrap();
        let mut ix = all_published(dir.path());
        assert_eq!(ix.check(&z).unwrap(), Verdict::New);
        assert_eq!(ix.committed_len(), 3);
        // Opening and checking wrote nothing.
        assert_eq!(fs::read(day_path(dir.path(), "2026-01-01")).unwrap(), good);
        assert!(tmp.exists());

        ix.check_and_stage(&key("a", 4, "2026-01-01T00:00:00Z"))
            .unwrap();
        ix.commit("r3").unwrap();
        assert!(!tmp.exists());
        let names: Vec<String> = day_files(dir.path()).into_keys().collect();
        assert_eq!(names, ["2026-01-01.idx"]);
        let mut ix = all_published(dir.path());
        ix.check(&a1).unwrap();
        assert_eq!(ix.committed_len(), 4);
    }

    #[test]
    fn commit_creates_the_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state").join("deeper");
        let mut ix = all_published(&state);
        ix.check_and_stage(&key("a", 1, "2026-01-01T00:00:00Z"))
            .unwrap();
        ix.commit("r1").unwrap();
        let mut ix = all_published(&state);
        assert_eq!(
            ix.check(&key("a", 1, "2026-01-01T00:00:00Z")).unwrap(),
            Verdict::Duplicate
        );
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

        /// A key drawn from a small space so repeats are common, over a
        /// few days so runs touch several day files.
        #[derive(Debug, Clone)]
        struct K {
            producer: usize,
            id: u32,
            day: i64,
            secs: i64,
            half: bool,
            offset_hours: i32,
        }

        const PRODUCERS: [&str; 3] = ["a", "b", "né"];
        /// 2026-09-21T00:00:00Z.
        const BASE: i64 = 1_789_948_800;
        const DAY: i64 = SECONDS_PER_DAY;

        impl K {
            fn utc_secs(&self) -> i64 {
                BASE + self.day * DAY + self.secs
            }
            fn time(&self) -> DateTime<FixedOffset> {
                FixedOffset::east_opt(self.offset_hours * 3600)
                    .unwrap()
                    .timestamp_opt(self.utc_secs(), if self.half { 500_000_000 } else { 0 })
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
                (
                    PRODUCERS[self.producer],
                    self.id,
                    self.utc_secs(),
                    self.half,
                )
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
            /// Killed part way through `commit`, after this many renames.
            CrashInCommit(usize),
            CommitNotPublished,
            CommitPublished,
        }

        fn k() -> impl Strategy<Value = K> {
            (
                0..3usize,
                0..3u32,
                0..8i64,
                prop_oneof![Just(0i64), Just(1), Just(DAY - 1)],
                any::<bool>(),
                -3..4i32,
            )
                .prop_map(|(producer, id, day, secs, half, offset_hours)| K {
                    producer,
                    id,
                    day,
                    secs,
                    half,
                    offset_hours,
                })
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
                1 => (0..4usize).prop_map(End::CrashInCommit),
                1 => Just(End::CommitNotPublished),
                3 => Just(End::CommitPublished),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]
            /// Any sequence of runs, each ending in a crash (before or
            /// during its commit), a commit that is not published, or a
            /// published commit, answers as a model that remembers every
            /// published SDR forever, within the window of each run's
            /// clock. "Published" is asked as the engine asks it: is this
            /// the last published run?
            #[test]
            fn verdicts_match_a_simple_model(
                retention_days in 0..4i64,
                runs in prop::collection::vec(
                    (prop::collection::vec((op(), k()), 0..25), end(), 0..2i64),
                    1..7,
                ),
            ) {
                let dir = tempfile::tempdir().unwrap();
                let mut last_published: Option<String> = None;
                // The model: every SDR of every published run, forever.
                let mut committed: BTreeSet<(&str, u32, i64, bool)> = BTreeSet::new();
                // The clock only moves forward: a day or none per run.
                let mut clock_day = 3i64;
                let mut ever_published: BTreeSet<String> = BTreeSet::new();
                let open_at = |day: i64, last: &Option<String>| {
                    let w = Window {
                        now: DateTime::from_timestamp(BASE + day * DAY + 3600, 0).unwrap(),
                        retention: TimeDelta::days(retention_days),
                        future_tolerance: TimeDelta::days(1),
                    };
                    DuplicateIndex::open(dir.path(), w, |id| Ok(last.as_deref() == Some(id)))
                        .unwrap()
                };
                for (n, (ops, end, advance)) in runs.iter().enumerate() {
                    clock_day += advance;
                    let run_id = format!("run-{n}");
                    let mut ix = open_at(clock_day, &last_published);
                    let cutoff = BASE + (clock_day - retention_days) * DAY;
                    let future_after = BASE + (clock_day + 1) * DAY + 3600;
                    let mut staged: BTreeSet<(&str, u32, i64, bool)> = BTreeSet::new();
                    for (op, k) in ops {
                        let m = k.model();
                        let expected = if m.2 > future_after {
                            Verdict::Future
                        } else if m.2 < cutoff {
                            Verdict::TooOld
                        } else if committed.contains(&m) || staged.contains(&m) {
                            Verdict::Duplicate
                        } else {
                            Verdict::New
                        };
                        match op {
                            Op::Check => prop_assert_eq!(ix.check(&k.key()).unwrap(), expected, "{:?}", k),
                            Op::CheckAndStage => {
                                prop_assert_eq!(ix.check_and_stage(&k.key()).unwrap(), expected, "{:?}", k);
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
                        End::CrashInCommit(renames) => {
                            ix.crash_after(*renames);
                            prop_assert!(ix.commit(&run_id).is_err());
                        }
                        End::CommitNotPublished => {
                            ix.commit(&run_id).unwrap();
                        }
                        End::CommitPublished => {
                            ix.commit(&run_id).unwrap();
                            ever_published.insert(run_id.clone());
                            last_published = Some(run_id);
                            committed.extend(staged);
                        }
                    }
                    // A published run is pending nowhere but the last
                    // one: asking "is it last-run?" is enough.
                    let ix = open_at(clock_day, &last_published);
                    for p in ix.previous_runs() {
                        prop_assert!(
                            Some(&p.run_id) == last_published.as_ref()
                                || !ever_published.contains(&p.run_id),
                            "{:?}",
                            ix.previous_runs()
                        );
                    }
                }

                // The files hold the model's SDRs within the window, and
                // nothing of a day before it.
                let mut ix = open_at(clock_day, &last_published);
                let cutoff = BASE + (clock_day - retention_days) * DAY;
                for day in 0..10 {
                    let d = day_of(BASE) + day;
                    if d * DAY >= cutoff {
                        ix.day(d).unwrap();
                    }
                }
                let window = committed.iter().filter(|k| k.2 >= cutoff).count();
                prop_assert_eq!(ix.committed_len(), window);
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
        let w = window("2026-11-23T12:00:00Z", 30);
        let mut ix = DuplicateIndex::open(dir.path(), w, |_| Ok(true)).unwrap();
        let new = first
            .iter()
            .filter(|&k| ix.check_and_stage(k).unwrap() == Verdict::New)
            .count();
        let staging = start.elapsed();
        assert_eq!(new, N as usize);
        let start = Instant::now();
        let stats = ix.commit("bench-1").unwrap();
        let commit = start.elapsed();

        let start = Instant::now();
        let mut ix = DuplicateIndex::open(dir.path(), w, |_| Ok(true)).unwrap();
        let reopen = start.elapsed();
        let start = Instant::now();
        let dups = first
            .iter()
            .filter(|&k| ix.check(k).unwrap() == Verdict::Duplicate)
            .count();
        let checking = start.elapsed();
        assert_eq!(dups, N as usize);
        assert_eq!(ix.committed_len(), N as usize);
        let fps: Vec<Fingerprint> = first.iter().map(Key::fingerprint).collect();
        let start = Instant::now();
        let found = fps
            .iter()
            .filter(|&&fp| ix.check(fp).unwrap() == Verdict::Duplicate)
            .count();
        let lookup = start.elapsed();
        assert_eq!(found, N as usize);

        // A second run's commit rewrites the days it touches, and the
        // days the first left pending.
        for k in second {
            ix.check_and_stage(k).unwrap();
        }
        let start = Instant::now();
        let stats2 = ix.commit("bench-2").unwrap();
        let commit2 = start.elapsed();

        let ns = |d: std::time::Duration| d.as_nanos() as f64 / N as f64;
        println!(
            "1M keys: fingerprint alone {fingerprint:?} ({:.0} ns/key), check_and_stage \
             {staging:?} ({:.0} ns/key), commit {commit:?}, file {} bytes ({:.1} MiB), \
             reopen (headers) {reopen:?}, check all (loads the days) (duplicates) {checking:?} ({:.0} ns/key, \
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
