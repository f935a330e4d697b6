//! The state directory: what one run leaves for the next.
//!
//! | file | what |
//! | --- | --- |
//! | `lock` | held (advisory lock) by the run using the directory |
//! | `pending-sessions.jsonl` | sessions still open, one a line, with every event's raw bytes |
//! | `consumed.jsonl` | input files already rated by a published run (path, size, hash, run) |
//! | `last-run` | the id of the last run whose output was published |
//! | `suspense.sdr`, `suspense-events.csv`, `suspense-events.jsonl` | the suspense area: what faulted in published runs, until `sdrate recycle` prices it (JSON lines of event logs byte for byte) |
//! | `suspense-index.csv` | where each record of `suspense.sdr` came from (input file and offset; see `read::origins`) |
//! | `suspense-broken.dat`, `suspense-broken.csv` | stretches of input that could not be framed as records, byte for byte, and their index; recycled one by one, or written off (`sdrate recycle --write-off-broken`) |
//! | `written-off.csv`, `written-off.dat` | the audit of what was written off: when, why, where it came from, and the bytes (`sdrate suspense write-off`, `sdrate recycle --write-off-broken`) |
//! | `audit.csv` | every management action: write-offs, recycles by cause, runs taken out of the duplicate index (see `state::suspense`) |
//! | `WRITE-OFF`, `*.new`, `recycle-selection/` | a write-off between deciding and renaming, and what a recycle by cause takes and leaves: finished or removed by the next open |
//! | `duplicates/YYYY-MM-DD.idx` | SDRs already billed, one file per UTC day of origin (see `group::duplicates`), committed before publishing, counted once published; a legacy `duplicates.idx` is split into days by the next commit |
//! | `staged/`, `STAGED` | the next state of a run that has not finished publishing |
//!
//! A run never edits the state in place. It stages the new files in
//! `staged/` and names its run and output directory in `STAGED`; once its
//! output is published (its manifest carries the run id) the staged files
//! replace the current ones and `STAGED` goes. A run killed at any moment is
//! resolved by the next one: if the output it staged for was published, the
//! staged state is rolled forward, otherwise thrown away, so the state
//! always matches the published output: nothing is billed twice and
//! nothing is lost.

pub mod publish;
pub mod suspense;

use std::fs::{self, File, TryLockError};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::error::Failure;
use crate::group::assemble::Session;
use crate::read::origins::{INDEX_COLUMNS, IndexRow, KeptInput};

pub const PENDING: &str = "pending-sessions.jsonl";
pub const CONSUMED: &str = "consumed.jsonl";
/// The id of the last run whose output was published.
pub const LAST_RUN: &str = "last-run";
/// The suspense area: faulted SDRs, and faulted event-log rows, of every
/// published run, until a recycle prices them.
pub const SUSPENSE: &str = "suspense.sdr";
pub const SUSPENSE_ROWS: &str = "suspense-events.csv";
/// Faulted JSON lines of event logs, each byte for byte as it was read.
pub const SUSPENSE_LINES: &str = "suspense-events.jsonl";
/// Where each record of SUSPENSE came from.
pub const SUSPENSE_INDEX: &str = "suspense-index.csv";
/// Stretches that cannot be framed as records, and their index.
pub const SUSPENSE_BROKEN: &str = "suspense-broken.dat";
pub const SUSPENSE_BROKEN_INDEX: &str = "suspense-broken.csv";
/// What left the suspense area without being priced: the audit rows, and
/// the bytes.
pub const WRITTEN_OFF: &str = "written-off.csv";
pub const WRITTEN_OFF_BYTES: &str = "written-off.dat";
/// The columns of [`WRITTEN_OFF`]: `position` is where the bytes are in
/// [`WRITTEN_OFF_BYTES`].
pub const WRITTEN_OFF_COLUMNS: [&str; 7] = [
    "written_off_at",
    "reason",
    "file",
    "offset",
    "length",
    "cause",
    "position",
];
const LOCK: &str = "lock";
const STAGED_DIR: &str = "staged";
const STAGED_NOTE: &str = "STAGED";
/// The files a staged state replaces.
const STATE_FILES: [&str; 9] = [
    PENDING,
    CONSUMED,
    LAST_RUN,
    SUSPENSE,
    SUSPENSE_INDEX,
    SUSPENSE_ROWS,
    SUSPENSE_LINES,
    SUSPENSE_BROKEN,
    SUSPENSE_BROKEN_INDEX,
];

/// An input file already rated by a published run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumed {
    pub path: String,
    pub size: u64,
    /// xxh3-128 of the contents, hex.
    pub hash: String,
    pub run_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct StagedNote {
    run_id: String,
    /// The output directory the run publishes to.
    out: PathBuf,
}

/// An open, locked state directory.
pub struct StateDir {
    dir: PathBuf,
    /// Held for the life of the run; the OS releases it if we die.
    _lock: File,
    /// What `open` did about a run that had not finished.
    pub recovered: Option<String>,
}

/// The run id in a published output's manifest, if there is one.
pub fn published_run_id(out: &Path) -> Option<String> {
    #[derive(Deserialize)]
    struct Head {
        run_id: String,
    }
    let text = fs::read(out.join(crate::state::publish::MANIFEST)).ok()?;
    serde_json::from_slice::<Head>(&text).ok().map(|h| h.run_id)
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path, what: &str) -> Result<Vec<T>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).with_context(|| {
            format!(
                "{} line {}: not {what} written by sdrate",
                path.display(),
                i + 1
            )
        })?);
    }
    Ok(out)
}

/// Writes `items` as JSON lines to `path`, flushed to disk.
fn write_jsonl<T: Serialize + Sync>(path: &Path, items: &[T]) -> Result<()> {
    let write = || -> Result<()> {
        let mut w = BufWriter::new(File::create(path)?);
        jsonl_into(items, &mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(())
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `items` as JSON lines, in order. The lines are formatted by
/// the threads, a window of slices at a time, and only written here:
/// pending sessions carry every event's raw bytes, and formatting them on
/// one thread was 12 % of a run of session events (callgrind, 20 k events,
/// about 1,000 sessions left open), all of it serial. A window bounds the
/// memory the formatted lines take, whatever the number of items.
pub(crate) fn jsonl_into<T: Serialize + Sync>(items: &[T], w: &mut impl Write) -> Result<()> {
    use rayon::prelude::*;
    const SLICE: usize = 64;
    let window = SLICE * rayon::current_num_threads().max(1) * 2;
    let mut lines: Vec<serde_json::Result<Vec<u8>>> = Vec::new();
    // Bytes an item took so far, to size each slice's buffer once.
    let (mut items_done, mut bytes_done) = (0usize, 0usize);
    for part in items.chunks(window) {
        let per_item = bytes_done / items_done.max(1) + 256;
        part.par_chunks(SLICE)
            .map(|slice| jsonl_slice(slice, slice.len() * per_item))
            .collect_into_vec(&mut lines);
        items_done += part.len();
        for buf in lines.drain(..) {
            let buf = buf?;
            bytes_done += buf.len();
            w.write_all(&buf)?;
        }
    }
    Ok(())
}

/// One slice of [`jsonl_into`], on a worker thread. Not inlined: the
/// serial-share benchmark (`benches/serial.sh`) tells the threads' work
/// from the writer's by this name.
#[inline(never)]
fn jsonl_slice<T: Serialize>(slice: &[T], capacity: usize) -> serde_json::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(capacity);
    for item in slice {
        serde_json::to_writer(&mut buf, item)?;
        buf.push(b'\n');
    }
    Ok(buf)
}

/// What the suspense area holds after a run: the files to concatenate.
#[derive(Debug, Default, Clone)]
pub struct Suspense {
    /// Kept records, each file with its index.
    pub sdrs: Vec<(PathBuf, PathBuf)>,
    /// Broken stretches, each file with its index.
    pub broken: Vec<(PathBuf, PathBuf)>,
    /// CSV files with the same header; the header is written once.
    pub rows: Vec<PathBuf>,
    /// JSON-lines files.
    pub lines: Vec<PathBuf>,
}

impl Suspense {
    /// Puts `other`'s files before this one's.
    pub fn add_front(&mut self, other: Suspense) {
        fn front<T>(v: &mut Vec<T>, mut before: Vec<T>) {
            before.append(v);
            *v = before;
        }
        front(&mut self.sdrs, other.sdrs);
        front(&mut self.broken, other.broken);
        front(&mut self.rows, other.rows);
        front(&mut self.lines, other.lines);
    }
}

/// Concatenates the existing files of `from` into `to`, flushed to disk;
/// with `csv`, the header line of every file but the first is dropped.
/// Streams, so the suspense area may be larger than memory.
fn concat_files(from: &[PathBuf], to: &Path, csv: bool) -> Result<()> {
    let mut w = BufWriter::new(
        File::create(to).with_context(|| format!("cannot create {}", to.display()))?,
    );
    let mut header_written = false;
    for f in from.iter().filter(|f| f.exists()) {
        let read_err = || format!("cannot read {}", f.display());
        let mut r = BufReader::new(File::open(f).with_context(read_err)?);
        if csv {
            let mut header = Vec::new();
            r.read_until(b'\n', &mut header).with_context(read_err)?;
            if !header_written {
                w.write_all(&header)
                    .with_context(|| format!("cannot write {}", to.display()))?;
                header_written = true;
            }
        }
        std::io::copy(&mut r, &mut w).with_context(|| format!("cannot write {}", to.display()))?;
    }
    let f = w.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()
        .with_context(|| format!("cannot write {}", to.display()))
}

/// Concatenates kept files with their indexes (see `read::origins`):
/// the bytes as they are, the index rows moved by the bytes before them.
/// A kept file without an index (written before indexes existed) keeps
/// its bytes; its entries are simply not indexed.
fn concat_kept(from: &[(PathBuf, PathBuf)], to: &Path, index_to: &Path) -> Result<()> {
    let data: Vec<PathBuf> = from.iter().map(|(d, _)| d.clone()).collect();
    concat_files(&data, to, false)?;
    let write_err = || format!("cannot write {}", index_to.display());
    let mut index = csv::WriterBuilder::new()
        .has_headers(false)
        .from_path(index_to)
        .with_context(write_err)?;
    index.write_record(INDEX_COLUMNS).with_context(write_err)?;
    let mut base = 0;
    for (d, i) in from {
        let Ok(size) = fs::metadata(d).map(|m| m.len()) else {
            continue;
        };
        if i.exists() {
            let mut rows = csv::Reader::from_path(i)
                .with_context(|| format!("cannot read {}", i.display()))?;
            for row in rows.deserialize::<IndexRow>() {
                let mut row = row.with_context(|| format!("cannot read {}", i.display()))?;
                row.position += base;
                index.serialize(row).with_context(write_err)?;
            }
        }
        base += size;
    }
    let f = index
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(write_err)?;
    f.sync_all().with_context(write_err)
}

/// Opens (creating) `path` and takes its exclusive lock without waiting;
/// held by another process, it is [`Failure::Locked`] with `busy`'s
/// message (exit 5). Shared by the state directory and the output location.
pub fn try_lock(path: &Path, busy: impl FnOnce() -> String) -> Result<File> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Failure::Locked(busy()).into()),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Makes renames and removals in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync directory {}", dir.display()))
}

impl StateDir {
    /// Opens (creating) and locks the state directory, and settles a run
    /// that did not finish. Another run holding the lock is an error with
    /// exit code 5.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, true)
    }

    /// Opens for a dry run: locked, but a run that did not finish is not
    /// settled (that would change the state); such a directory is an
    /// error asking for the real run first.
    pub fn open_for_dry_run(dir: &Path) -> Result<Self> {
        // Creating it would leave a trace of a run that must change
        // nothing, and a mistyped path would check duplicates against
        // nothing at all: every record would look new.
        if !dir.is_dir() {
            return Err(Failure::Refused(format!(
                "the state directory {} does not exist; a dry run changes no state and checks duplicates against the real runs' state: give that directory, or leave --state out",
                dir.display()
            ))
            .into());
        }
        if dir.join(STAGED_NOTE).exists() {
            return Err(Failure::Refused(format!(
                "the state directory {} holds a run that did not finish; a dry run changes no state, so run the real command (or `sdrate recycle`) first",
                dir.display()
            ))
            .into());
        }
        Self::open_with(dir, false)
    }

    fn open_with(dir: &Path, settle: bool) -> Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create state directory {}", dir.display()))?;
        let lock = try_lock(&dir.join(LOCK), || {
            format!(
                "another sdrate run is using the state directory {} (its lock is held); nothing was done",
                dir.display()
            )
        })?;
        let mut state = StateDir {
            dir: dir.to_path_buf(),
            _lock: lock,
            recovered: None,
        };
        if settle {
            state.recovered = state.settle()?;
        }
        Ok(state)
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Rolls a staged state forward if its output was published, else
    /// throws it away; says which, if there was one. Run when the state is
    /// opened (after a run killed half-way) and when a run fails after
    /// staging, so a failed run leaves no `staged/` behind.
    pub fn settle(&self) -> Result<Option<String>> {
        let mut recovered = suspense::finish_journal(&self.dir)?;
        let note_path = self.dir.join(STAGED_NOTE);
        let staged = self.dir.join(STAGED_DIR);
        let note: Option<StagedNote> = match fs::read(&note_path) {
            Ok(b) => serde_json::from_slice(&b).ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", note_path.display()));
            }
        };
        match note {
            Some(n) if published_run_id(&n.out).as_deref() == Some(n.run_id.as_str()) => {
                self.promote()?;
                recovered = Some(format!(
                    "run {} had published {} but not updated its state: state rolled forward",
                    n.run_id,
                    n.out.display()
                ));
            }
            other => {
                if let Some(n) = other {
                    recovered = Some(format!(
                        "run {} stopped before publishing {}: its staged state was discarded",
                        n.run_id,
                        n.out.display()
                    ));
                }
                if staged.exists() {
                    fs::remove_dir_all(&staged)
                        .with_context(|| format!("cannot remove {}", staged.display()))?;
                }
                if note_path.exists() {
                    fs::remove_file(&note_path)
                        .with_context(|| format!("cannot remove {}", note_path.display()))?;
                }
                sync_dir(&self.dir)?;
            }
        }
        Ok(recovered)
    }

    /// The sessions left pending by the previous run.
    pub fn load_pending(&self) -> Result<Vec<Session>> {
        read_jsonl(&self.dir.join(PENDING), "a pending session")
    }

    /// The inputs published runs have consumed.
    pub fn consumed(&self) -> Result<Vec<Consumed>> {
        read_jsonl(&self.dir.join(CONSUMED), "a consumed-input entry")
    }

    /// Forgets the inputs `run_id` consumed (when that run is undone), so
    /// the corrected run rates them again; returns how many. The list is
    /// replaced atomically.
    pub fn forget_consumed(&self, run_id: &str) -> Result<usize> {
        let all = self.consumed()?;
        let kept: Vec<Consumed> = all.iter().filter(|c| c.run_id != run_id).cloned().collect();
        let gone = all.len() - kept.len();
        if gone > 0 {
            let tmp = self.dir.join(format!(".{CONSUMED}.tmp"));
            write_jsonl(&tmp, &kept)?;
            fs::rename(&tmp, self.dir.join(CONSUMED))
                .with_context(|| format!("cannot replace {}", self.dir.join(CONSUMED).display()))?;
            sync_dir(&self.dir)?;
        }
        Ok(gone)
    }

    /// The suspense files that hold anything, each with its index where
    /// it is a kept BER file (see `read::origins`).
    pub fn suspense_inputs(&self) -> Vec<(PathBuf, Option<KeptInput>)> {
        let rows_of = |p: &Path| -> bool {
            let Ok(f) = File::open(p) else { return false };
            // More than the header line.
            BufReader::new(f).lines().nth(1).is_some_and(|l| l.is_ok())
        };
        let holds = |p: &Path| fs::metadata(p).is_ok_and(|m| m.len() > 0);
        let mut out = Vec::new();
        let sdrs = self.dir.join(SUSPENSE);
        if holds(&sdrs) {
            let index = self.dir.join(SUSPENSE_INDEX);
            out.push((
                sdrs,
                Some(KeptInput {
                    index,
                    pieces: false,
                }),
            ));
        }
        let broken = self.dir.join(SUSPENSE_BROKEN);
        if holds(&broken) {
            let index = self.dir.join(SUSPENSE_BROKEN_INDEX);
            out.push((
                broken,
                Some(KeptInput {
                    index,
                    pieces: true,
                }),
            ));
        }
        let rows = self.dir.join(SUSPENSE_ROWS);
        if rows_of(&rows) {
            out.push((rows, None));
        }
        let lines = self.dir.join(SUSPENSE_LINES);
        if holds(&lines) {
            out.push((lines, None));
        }
        out
    }

    /// The id of the last run whose output was published.
    pub fn last_run_id(&self) -> Option<String> {
        fs::read_to_string(self.dir.join(LAST_RUN))
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    /// Stages the state a run leaves, to take effect once `out` is
    /// published with `run_id`.
    pub fn stage(
        &self,
        run_id: &str,
        out: &Path,
        pending: &[Session],
        consumed: &[Consumed],
        suspense: &Suspense,
    ) -> Result<()> {
        let staged = self.dir.join(STAGED_DIR);
        if staged.exists() {
            fs::remove_dir_all(&staged)
                .with_context(|| format!("cannot remove {}", staged.display()))?;
        }
        fs::create_dir_all(&staged)
            .with_context(|| format!("cannot create {}", staged.display()))?;
        write_jsonl(&staged.join(PENDING), pending)?;
        write_jsonl(&staged.join(CONSUMED), consumed)?;
        concat_kept(
            &suspense.sdrs,
            &staged.join(SUSPENSE),
            &staged.join(SUSPENSE_INDEX),
        )?;
        concat_kept(
            &suspense.broken,
            &staged.join(SUSPENSE_BROKEN),
            &staged.join(SUSPENSE_BROKEN_INDEX),
        )?;
        concat_files(&suspense.rows, &staged.join(SUSPENSE_ROWS), true)?;
        concat_files(&suspense.lines, &staged.join(SUSPENSE_LINES), false)?;
        let last = staged.join(LAST_RUN);
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&last)?;
            f.write_all(run_id.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()
        };
        write().with_context(|| format!("cannot write {}", last.display()))?;
        sync_dir(&staged)?;
        let note = serde_json::to_vec(&StagedNote {
            run_id: run_id.to_owned(),
            out: std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf()),
        })?;
        let tmp = self.dir.join(format!(".{STAGED_NOTE}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&note)?;
            f.sync_all()
        };
        write().with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, self.dir.join(STAGED_NOTE))
            .with_context(|| format!("cannot write {}", self.dir.join(STAGED_NOTE).display()))?;
        sync_dir(&self.dir)
    }

    /// Makes the staged state current (after the output was published).
    /// Idempotent, so a crash half-way is finished by the next run.
    pub fn promote(&self) -> Result<()> {
        let staged = self.dir.join(STAGED_DIR);
        for name in STATE_FILES {
            let from = staged.join(name);
            if from.exists() {
                fs::rename(&from, self.dir.join(name))
                    .with_context(|| format!("cannot move {} into place", from.display()))?;
            }
        }
        sync_dir(&self.dir)?;
        fs::remove_file(self.dir.join(STAGED_NOTE))
            .with_context(|| format!("cannot remove {}", self.dir.join(STAGED_NOTE).display()))?;
        if staged.exists() {
            fs::remove_dir_all(&staged)
                .with_context(|| format!("cannot remove {}", staged.display()))?;
        }
        sync_dir(&self.dir)
    }
}
