//! Managing the suspense area: what is in it, by cause and age; which
//! part a recycle takes; what leaves it by write-off; and the audit of
//! every such change.
//!
//! The suspense area (see the [state module](super)) is four files: kept
//! SDRs with their index, broken stretches with theirs, faulted event-log
//! rows (CSV) and lines (JSON lines). Every function here reads them front
//! to back, one entry at a time, so memory does not depend on how much
//! suspense there is (an SDR is read and decoded alone; a damaged index
//! row claiming more than [`MAX_ENTRY_BYTES`] is listed, not read).
//!
//! # Causes
//!
//! An SDR's cause is its fault status or reason as its run kept it (the
//! `cause` column of the index: `unableToLocateServiceUser`,
//! `tooOldForDuplicateCheck`, `futureTimeOfOrigin`...). A broken stretch's
//! cause is `brokenFraming` (the index keeps why it could not be framed
//! as its detail). Event-log rows and lines are listed under `eventRow`:
//! the suspense area keeps them as rows of an event log, so they can be
//! read back as one, and the reason each faulted is in the faults.csv of
//! the run that kept it.
//!
//! # Age
//!
//! The age of an entry is the time from its time of use (an SDR's time of
//! origin, an event's timestamp) to the clock given (`--now`, default the
//! wall clock), in whole days: what decides whether usage can still be
//! invoiced. Broken stretches and undecodable SDRs have none.
//!
//! # Write-off, exactly once
//!
//! [`write_off`] moves the chosen SDRs out of the suspense area into the
//! audit, `written-off.csv` (one row each: when, why, where it came from)
//! and `written-off.dat` (the bytes), and checks the identity *entries
//! before = written off + entries after* before anything changes. The
//! bytes are appended to `written-off.dat` first (beyond what the audit
//! names, harmless if we die); then the new suspense files and the new
//! audit are written beside the old ones (`*.new`), then a journal file
//! `WRITE-OFF` naming them, then each is renamed into place and the
//! journal removed. A run killed before the journal leaves the old files
//! (the `*.new` are removed by the next open); after it, the next open
//! finishes the renames ([`finish_journal`]). So an SDR is either still
//! in suspense or written off and audited, never both, never neither.
//!
//! # The audit log
//!
//! Every management action (a write-off, a recycle by cause, an undo of a
//! run's index entries) appends one row to `STATE/audit.csv`: when, what,
//! its subject, the reason given, and how many records.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use chrono::{DateTime, FixedOffset, Utc};

use super::{
    SUSPENSE, SUSPENSE_BROKEN, SUSPENSE_BROKEN_INDEX, SUSPENSE_INDEX, SUSPENSE_LINES,
    SUSPENSE_ROWS, StateDir, Suspense, WRITTEN_OFF, WRITTEN_OFF_BYTES, WRITTEN_OFF_COLUMNS,
    sync_dir,
};
use crate::read::origins::{INDEX_COLUMNS, IndexRow, KeptInput};

/// The audit log of management actions.
pub const AUDIT: &str = "audit.csv";
pub const AUDIT_COLUMNS: [&str; 5] = ["at", "action", "subject", "reason", "records"];
/// The journal of a write-off between writing its files and renaming them.
const JOURNAL: &str = "WRITE-OFF";
const NEW_SUFFIX: &str = ".new";
/// Where a recycle by cause puts the part it takes and the part it leaves.
pub const SELECTION_DIR: &str = "recycle-selection";
/// The cause under which event-log rows and lines are listed.
pub const EVENT_ROW_CAUSE: &str = "eventRow";
/// The cause under which broken stretches are listed.
pub const BROKEN_CAUSE: &str = "brokenFraming";
/// An index row claiming a longer SDR is listed, not read.
pub const MAX_ENTRY_BYTES: u64 = 64 << 20;

/// What kind of thing a suspense entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Sdr,
    Broken,
    EventRow,
    EventLine,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sdr => "sdr",
            Kind::Broken => "broken",
            Kind::EventRow => "eventRow",
            Kind::EventLine => "eventLine",
        }
    }
}

/// One entry of the suspense area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// The input it was read from, and where: the offset for SDRs and
    /// broken stretches, none for event rows (their `line` is in the
    /// suspense file).
    pub file: String,
    pub offset: Option<u64>,
    /// The line in the suspense file, for event rows and lines.
    pub line: Option<u64>,
    pub length: u64,
    pub cause: String,
    /// Why a broken stretch could not be framed.
    pub detail: String,
    pub sdr_identifier: Option<u32>,
    pub producer: Option<String>,
    pub time_of_use: Option<DateTime<FixedOffset>>,
}

impl Entry {
    /// Whole days from the time of use to `now`; none without a time.
    pub fn age_days(&self, now: DateTime<Utc>) -> Option<i64> {
        self.time_of_use.map(|t| (now - t.to_utc()).num_days())
    }
}

/// The age buckets `suspense list` counts in, by upper bound in days.
pub const AGE_BUCKETS: [(&str, i64); 5] = [
    ("under 1 day", 1),
    ("1-7 days", 7),
    ("7-30 days", 30),
    ("30-90 days", 90),
    ("over 90 days", i64::MAX),
];

/// The bucket of an age (index into [`AGE_BUCKETS`]), or none.
pub fn age_bucket(days: Option<i64>) -> Option<usize> {
    let d = days?;
    AGE_BUCKETS.iter().position(|(_, max)| d < *max)
}

/// Which entries an action applies to: all criteria given must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Causes (as listed); empty: any.
    pub causes: Vec<String>,
    /// Only entries at least this many days old (entries without a time
    /// of use never match).
    pub older_than_days: Option<i64>,
    /// Only these entries, by input file and offset; empty: any.
    pub entries: Vec<(String, u64)>,
    pub now: Option<DateTime<Utc>>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.causes.is_empty() && self.older_than_days.is_none() && self.entries.is_empty()
    }

    pub fn matches(&self, e: &Entry) -> bool {
        (self.causes.is_empty() || self.causes.iter().any(|c| c.eq_ignore_ascii_case(&e.cause)))
            && self.older_than_days.is_none_or(|min| {
                let now = self.now.unwrap_or_else(Utc::now);
                e.age_days(now).is_some_and(|d| d >= min)
            })
            && (self.entries.is_empty()
                || e.offset.is_some_and(|o| {
                    self.entries
                        .iter()
                        .any(|(f, off)| *off == o && same_file(f, &e.file))
                }))
    }
}

/// Whether a file named by an operator is the entry's input: the same
/// text, or the same file name when either is a bare name.
fn same_file(given: &str, recorded: &str) -> bool {
    given == recorded
        || Path::new(recorded).file_name().is_some_and(|n| n == given)
        || Path::new(given).file_name().is_some_and(|n| n == recorded)
}

/// Calls `f` for every entry of the suspense area of `dir`, in file
/// order: SDRs, broken stretches, event rows, event lines.
pub fn for_each(dir: &Path, mut f: impl FnMut(&Entry) -> Result<()>) -> Result<()> {
    for_each_kept(dir, SUSPENSE, SUSPENSE_INDEX, Kind::Sdr, &mut f)?;
    for_each_kept(
        dir,
        SUSPENSE_BROKEN,
        SUSPENSE_BROKEN_INDEX,
        Kind::Broken,
        &mut f,
    )?;
    for_each_row(dir, &mut f)?;
    for_each_line(dir, &mut f)
}

/// The rows of a kept file's index, each with its bytes read and, for an
/// SDR, its header decoded.
fn for_each_kept(
    dir: &Path,
    data: &str,
    index: &str,
    kind: Kind,
    f: &mut impl FnMut(&Entry) -> Result<()>,
) -> Result<()> {
    walk_kept(dir, data, index, kind, &mut |e, _, _| f(e))
}

/// Walks a kept file with its index: for each row, the entry, the row,
/// and the entry's bytes when they were read (SDRs up to
/// [`MAX_ENTRY_BYTES`]; broken stretches are not read).
fn walk_kept(
    dir: &Path,
    data: &str,
    index: &str,
    kind: Kind,
    f: &mut impl FnMut(&Entry, &IndexRow, Option<&[u8]>) -> Result<()>,
) -> Result<()> {
    let index = dir.join(index);
    if !index.exists() {
        return Ok(());
    }
    let data = dir.join(data);
    let mut rows = csv::Reader::from_path(&index)
        .with_context(|| format!("cannot read {}", index.display()))?;
    let mut bytes = File::open(&data).ok();
    let mut buf = Vec::new();
    for row in rows.deserialize::<IndexRow>() {
        let row = row.with_context(|| format!("cannot read {}", index.display()))?;
        let broken = kind == Kind::Broken;
        let mut e = Entry {
            kind,
            file: row.file.clone(),
            offset: Some(row.offset),
            line: None,
            length: row.length,
            cause: if broken {
                BROKEN_CAUSE.to_owned()
            } else {
                row.cause.clone()
            },
            detail: if broken {
                row.cause.clone()
            } else {
                String::new()
            },
            sdr_identifier: None,
            producer: None,
            time_of_use: None,
        };
        let mut read = false;
        if !broken
            && row.length <= MAX_ENTRY_BYTES
            && let Some(file) = bytes.as_mut()
        {
            buf.resize(row.length as usize, 0);
            file.seek(SeekFrom::Start(row.position))
                .and_then(|_| file.read_exact(&mut buf))
                .with_context(|| {
                    format!(
                        "cannot read {} at {} ({} bytes, as {} says)",
                        data.display(),
                        row.position,
                        row.length,
                        index.display()
                    )
                })?;
            read = true;
            if let Ok(sdr) = crate::read::decode(&buf) {
                let h = &sdr.service_header;
                e.sdr_identifier = Some(h.sdr_identifier);
                e.producer = Some(h.producer_identity.to_string());
                e.time_of_use = Some(h.time_of_origin.0);
            }
        }
        f(&e, &row, read.then_some(buf.as_slice()))?;
    }
    Ok(())
}

fn for_each_row(dir: &Path, f: &mut impl FnMut(&Entry) -> Result<()>) -> Result<()> {
    let path = dir.join(SUSPENSE_ROWS);
    if !path.exists() {
        return Ok(());
    }
    let mut rows = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let headers = rows
        .headers()
        .with_context(|| format!("cannot read {}", path.display()))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (time, session) = (column("timestamp"), column("session_id"));
    for row in rows.records() {
        let row = row.with_context(|| format!("cannot read {}", path.display()))?;
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).unwrap_or("");
        f(&Entry {
            kind: Kind::EventRow,
            file: SUSPENSE_ROWS.to_owned(),
            offset: None,
            line: row.position().map(|p| p.line()),
            length: row.as_byte_record().as_slice().len() as u64,
            cause: EVENT_ROW_CAUSE.to_owned(),
            detail: format!("session {}", get(session)),
            sdr_identifier: None,
            producer: None,
            time_of_use: DateTime::parse_from_rfc3339(get(time)).ok(),
        })?;
    }
    Ok(())
}

fn for_each_line(dir: &Path, f: &mut impl FnMut(&Entry) -> Result<()>) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(default)]
        session_id: Option<serde_json::Value>,
        #[serde(default)]
        timestamp: Option<String>,
    }
    let path = dir.join(SUSPENSE_LINES);
    let Ok(file) = File::open(&path) else {
        return Ok(());
    };
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        // A line is read whole: a suspense line is one an event log held,
        // which the reader bounded when it was read.
        let n = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        let head: Option<Head> = serde_json::from_slice(&line).ok();
        let (session, time) = head.map_or((None, None), |h| (h.session_id, h.timestamp));
        f(&Entry {
            kind: Kind::EventLine,
            file: SUSPENSE_LINES.to_owned(),
            offset: None,
            line: Some(number),
            length: line.len() as u64,
            cause: EVENT_ROW_CAUSE.to_owned(),
            detail: session.map_or(String::new(), |s| format!("session {s}")),
            sdr_identifier: None,
            producer: None,
            time_of_use: time.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()),
        })?;
    }
}

/// Appends one row to the audit log of `dir`, flushed to disk.
pub fn audit(dir: &Path, action: &str, subject: &str, reason: &str, records: u64) -> Result<()> {
    let path = dir.join(AUDIT);
    let new = !path.exists();
    let write = || -> Result<()> {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let mut w = csv::Writer::from_writer(file);
        if new {
            w.write_record(AUDIT_COLUMNS)?;
        }
        let at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        w.write_record([at.as_str(), action, subject, reason, &records.to_string()])?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// Splits the kept SDRs (and broken stretches) of `dir` by `keep`,
/// copying each entry's bytes with its index row (moved to its new
/// position) into `taken` or `left`. Returns how many went each way.
fn split_kept(
    dir: &Path,
    data: &str,
    index: &str,
    kind: Kind,
    take: &mut impl FnMut(&Entry) -> bool,
    taken: (&Path, &Path),
    left: (&Path, &Path),
) -> Result<(u64, u64)> {
    let index_path = dir.join(index);
    let data_path = dir.join(data);
    let open = |(d, i): (&Path, &Path)| -> Result<(BufWriter<File>, csv::Writer<File>, u64)> {
        let dw = BufWriter::new(
            File::create(d).with_context(|| format!("cannot create {}", d.display()))?,
        );
        let mut iw = csv::WriterBuilder::new()
            .has_headers(false)
            .from_path(i)
            .with_context(|| format!("cannot create {}", i.display()))?;
        iw.write_record(INDEX_COLUMNS)?;
        Ok((dw, iw, 0))
    };
    let mut outs = [open(taken)?, open(left)?];
    let mut counts = (0, 0);
    let mut src = File::open(&data_path).ok();
    walk_kept(dir, data, index, kind, &mut |e, row, bytes| {
        let to_take = take(e);
        let (dw, iw, pos) = &mut outs[usize::from(!to_take)];
        match bytes {
            Some(b) => dw.write_all(b)?,
            None => {
                let src = src
                    .as_mut()
                    .with_context(|| format!("cannot read {}", data_path.display()))?;
                src.seek(SeekFrom::Start(row.position))?;
                let copied = std::io::copy(&mut src.take(row.length), dw)
                    .with_context(|| format!("cannot copy from {}", data_path.display()))?;
                ensure!(
                    copied == row.length,
                    "{} is shorter than {} says ({} bytes at {})",
                    data_path.display(),
                    index_path.display(),
                    row.length,
                    row.position
                );
            }
        }
        let mut row = row.clone();
        row.position = *pos;
        *pos += row.length;
        iw.serialize(&row)?;
        if to_take {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
        Ok(())
    })?;
    for (dw, iw, _) in outs {
        let f = dw.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        let f = iw.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
    }
    Ok(counts)
}

/// What a recycle by cause takes and leaves (see [`select`]).
#[derive(Debug, Default, Clone)]
pub struct Selection {
    /// The inputs of the recycle: kept files with their indexes, and the
    /// event rows and lines when selected.
    pub inputs: Vec<(PathBuf, Option<KeptInput>)>,
    /// What stays in suspense untouched: added to the suspense the
    /// recycle leaves.
    pub left: Suspense,
    pub taken: u64,
}

/// Splits the suspense area of `state` for a recycle of the entries
/// `filter` matches, into the folder `into` (`STATE/recycle-selection/`
/// for a billing run; outside the state for a dry run, which changes no
/// state): the selected SDRs
/// and broken stretches (with their indexes) to be the recycle's inputs,
/// the others to be carried into the suspense the recycle leaves. Event
/// rows and lines go whole, to one side or the other, by whether the
/// filter matches `eventRow`. The suspense files themselves are not
/// touched: the recycle replaces them when it publishes, as always.
pub fn select(state: &StateDir, filter: &Filter, into: &Path) -> Result<Selection> {
    let dir = state.path();
    let sel = into.to_path_buf();
    if sel.exists() {
        fs::remove_dir_all(&sel).with_context(|| format!("cannot remove {}", sel.display()))?;
    }
    for part in ["taken", "left"] {
        fs::create_dir_all(sel.join(part))
            .with_context(|| format!("cannot create {}", sel.join(part).display()))?;
    }
    let mut out = Selection::default();
    let mut take = |e: &Entry| filter.matches(e);
    for (kind, data, index) in [
        (Kind::Sdr, SUSPENSE, SUSPENSE_INDEX),
        (Kind::Broken, SUSPENSE_BROKEN, SUSPENSE_BROKEN_INDEX),
    ] {
        // Named as in the suspense area, so the recycle's priced output
        // is priced/suspense.sdr either way.
        let p = |part: &str, name: &str| sel.join(part).join(name);
        let (taken, _) = split_kept(
            dir,
            data,
            index,
            kind,
            &mut take,
            (&p("taken", data), &p("taken", index)),
            (&p("left", data), &p("left", index)),
        )?;
        out.taken += taken;
        if taken > 0 {
            out.inputs.push((
                p("taken", data),
                Some(KeptInput {
                    index: p("taken", index),
                    pieces: kind == Kind::Broken,
                }),
            ));
        }
        let pair = (p("left", data), p("left", index));
        match kind {
            Kind::Sdr => out.left.sdrs.push(pair),
            _ => out.left.broken.push(pair),
        }
    }
    // Event rows and lines: all or none, by the cause they are listed
    // under.
    let events_taken = filter
        .causes
        .iter()
        .any(|c| c.eq_ignore_ascii_case(EVENT_ROW_CAUSE));
    let mut events = 0;
    for_each_row(dir, &mut |_| {
        events += 1;
        Ok(())
    })?;
    for_each_line(dir, &mut |_| {
        events += 1;
        Ok(())
    })?;
    let (rows, lines) = (dir.join(SUSPENSE_ROWS), dir.join(SUSPENSE_LINES));
    if events_taken {
        out.taken += events;
        for (p, rows_file) in [(rows, true), (lines, false)] {
            let holds = fs::metadata(&p).is_ok_and(|m| m.len() > 0);
            let any = if rows_file {
                holds && File::open(&p).is_ok_and(|f| BufReader::new(f).lines().nth(1).is_some())
            } else {
                holds
            };
            if any {
                out.inputs.push((p, None));
            }
        }
    } else {
        // Copied, since the recycle replaces the suspense files.
        let (r, l) = (
            sel.join("left").join(SUSPENSE_ROWS),
            sel.join("left").join(SUSPENSE_LINES),
        );
        for (from, to) in [(&rows, &r), (&lines, &l)] {
            if from.exists() {
                fs::copy(from, to).with_context(|| format!("cannot copy {}", from.display()))?;
            }
        }
        out.left.rows.push(r);
        out.left.lines.push(l);
    }
    for part in ["taken", "left"] {
        sync_dir(&sel.join(part))?;
    }
    Ok(out)
}

/// Removes what [`select`] left, once the recycle is over.
pub fn clear_selection(dir: &Path) -> Result<()> {
    let sel = dir.join(SELECTION_DIR);
    if sel.exists() {
        fs::remove_dir_all(&sel).with_context(|| format!("cannot remove {}", sel.display()))?;
    }
    Ok(())
}

/// What a write-off did: the identity `before = written_off + after` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOff {
    pub before: u64,
    pub written_off: u64,
    pub after: u64,
    pub bytes: u64,
}

/// Writes off the kept SDRs and broken stretches of `state` that `filter`
/// matches, for `reason`, at `now` (see the module documentation for the
/// order of the steps). Event rows are not written off this way.
pub fn write_off(state: &StateDir, filter: &Filter, reason: &str, now: &str) -> Result<WriteOff> {
    ensure!(
        !filter.is_empty(),
        "say what to write off (a cause, an age or entries): a write-off of the whole suspense area is never implied"
    );
    ensure!(!reason.trim().is_empty(), "a write-off needs a reason");
    let dir = state.path();
    let mut before = 0u64;
    for_each(dir, |_| {
        before += 1;
        Ok(())
    })?;
    let new = |name: &str| dir.join(format!("{name}{NEW_SUFFIX}"));
    let kept_bytes = dir.join(WRITTEN_OFF_BYTES);
    let audit_path = dir.join(WRITTEN_OFF);
    // The new audit: the old rows, then one per entry written off.
    if audit_path.exists() {
        fs::copy(&audit_path, new(WRITTEN_OFF))
            .with_context(|| format!("cannot copy {}", audit_path.display()))?;
    } else {
        let mut w = csv::Writer::from_path(new(WRITTEN_OFF))?;
        w.write_record(WRITTEN_OFF_COLUMNS)?;
        w.flush()?;
    }
    let mut audit = csv::WriterBuilder::new().has_headers(false).from_writer(
        fs::OpenOptions::new()
            .append(true)
            .open(new(WRITTEN_OFF))
            .with_context(|| format!("cannot write {}", new(WRITTEN_OFF).display()))?,
    );
    let mut bytes_out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&kept_bytes)
        .with_context(|| format!("cannot write {}", kept_bytes.display()))?;
    let mut base = fs::metadata(&kept_bytes).map_or(0, |m| m.len());
    let mut result = WriteOff::default();
    let tmp = dir.join(format!("{SELECTION_DIR}.write-off"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut take = |e: &Entry| filter.matches(e);
    for (kind, data, index) in [
        (Kind::Sdr, SUSPENSE, SUSPENSE_INDEX),
        (Kind::Broken, SUSPENSE_BROKEN, SUSPENSE_BROKEN_INDEX),
    ] {
        let (td, ti) = (tmp.join(data), tmp.join(index));
        let (taken, _) = split_kept(
            dir,
            data,
            index,
            kind,
            &mut take,
            (&td, &ti),
            (&new(data), &new(index)),
        )?;
        if taken == 0 {
            continue;
        }
        result.written_off += taken;
        let mut rows = csv::Reader::from_path(&ti)?;
        for row in rows.deserialize::<IndexRow>() {
            let row = row?;
            // As the index has it: a fault status for an SDR, why it
            // could not be framed for a broken stretch.
            audit.write_record([
                now,
                reason,
                &row.file,
                &row.offset.to_string(),
                &row.length.to_string(),
                &row.cause,
                &(base + row.position).to_string(),
            ])?;
        }
        let mut from = File::open(&td)?;
        let n = std::io::copy(&mut from, &mut bytes_out)
            .with_context(|| format!("cannot write {}", kept_bytes.display()))?;
        base += n;
        result.bytes += n;
    }
    bytes_out
        .sync_all()
        .with_context(|| format!("cannot write {}", kept_bytes.display()))?;
    let f = audit.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    fs::remove_dir_all(&tmp).with_context(|| format!("cannot remove {}", tmp.display()))?;

    // The identity, counted on the new files before anything is renamed.
    let mut after = 0u64;
    for_each_new(dir, &mut |_| {
        after += 1;
        Ok(())
    })?;
    result.before = before;
    result.after = after;
    if result.written_off == 0 || before != result.written_off + after {
        for name in [
            SUSPENSE,
            SUSPENSE_INDEX,
            SUSPENSE_BROKEN,
            SUSPENSE_BROKEN_INDEX,
            WRITTEN_OFF,
        ] {
            let _ = fs::remove_file(new(name));
        }
        if result.written_off == 0 {
            return Ok(result);
        }
        bail!(
            "the write-off does not balance ({before} entries before, {} written off, {after} after): nothing was changed",
            result.written_off
        );
    }
    sync_dir(dir)?;
    let journal = dir.join(JOURNAL);
    fs::write(
        &journal,
        b"suspense write-off: rename the .new files into place\n",
    )
    .and_then(|()| File::open(&journal)?.sync_all())
    .with_context(|| format!("cannot write {}", journal.display()))?;
    sync_dir(dir)?;
    finish_journal(dir)?;
    Ok(result)
}

/// [`for_each`] over the `.new` files a write-off wrote, the event files
/// as they are.
fn for_each_new(dir: &Path, f: &mut impl FnMut(&Entry) -> Result<()>) -> Result<()> {
    let n = |name: &str| format!("{name}{NEW_SUFFIX}");
    for_each_kept(dir, &n(SUSPENSE), &n(SUSPENSE_INDEX), Kind::Sdr, f)?;
    for_each_kept(
        dir,
        &n(SUSPENSE_BROKEN),
        &n(SUSPENSE_BROKEN_INDEX),
        Kind::Broken,
        f,
    )?;
    for_each_row(dir, f)?;
    for_each_line(dir, f)
}

/// Finishes a write-off the journal says was decided (renames its `.new`
/// files into place), or throws away the `.new` files of one that was not;
/// run when the state directory is opened. Idempotent.
pub fn finish_journal(dir: &Path) -> Result<Option<String>> {
    let journal = dir.join(JOURNAL);
    let names = [
        SUSPENSE,
        SUSPENSE_INDEX,
        SUSPENSE_BROKEN,
        SUSPENSE_BROKEN_INDEX,
        WRITTEN_OFF,
    ];
    let new = |name: &str| dir.join(format!("{name}{NEW_SUFFIX}"));
    if journal.exists() {
        for name in names {
            if new(name).exists() {
                fs::rename(new(name), dir.join(name))
                    .with_context(|| format!("cannot move {} into place", new(name).display()))?;
            }
        }
        sync_dir(dir)?;
        fs::remove_file(&journal)
            .with_context(|| format!("cannot remove {}", journal.display()))?;
        sync_dir(dir)?;
        return Ok(Some(
            "a write-off had not finished renaming its files: finished".into(),
        ));
    }
    let mut found = false;
    for name in names {
        if new(name).exists() {
            fs::remove_file(new(name))
                .with_context(|| format!("cannot remove {}", new(name).display()))?;
            found = true;
        }
    }
    Ok(found
        .then(|| "a write-off stopped before it decided: the suspense area is as it was".into()))
}
