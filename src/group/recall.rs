//! Priced sessions the assembler no longer keeps in memory, on disk.
//!
//! The assembler remembers the event fingerprints of every session it
//! priced within the horizon, so that a late copy is dropped and not billed
//! again. A busy day holds millions of sessions; past a fixed number kept in
//! memory, the oldest are moved here, to an embedded B-tree (redb) in an
//! anonymous temporary file (under `TMPDIR`) that disappears with the run.
//! Only its page cache lives in the process, bounded by [`CACHE_BYTES`], so
//! peak memory does not grow with the sessions priced.
//!
//! Nothing here outlives the run (the file has no name); the cross-run
//! protection is the state directory's duplicate index.

use std::collections::BTreeMap;
use std::io;

use redb::{Database, ReadOnlyTable, ReadableDatabase, ReadableTable, TableDefinition};

/// Session key -> last event time (i64) then the session's fingerprints
/// (u64 each), all little endian.
const SESSIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("sessions");

/// Width of the buckets that count sessions on disk by last event time.
const BUCKET_SECONDS: i64 = 3600;

/// The B-tree's own page cache. The lookups are one per new session, at
/// random keys, so a large cache would buy little over the kernel's.
const CACHE_BYTES: usize = 1 << 20;

/// Bits of the filter in front of the disk: 512 KiB. Two bits a session;
/// with 1 million sessions on disk (a day of 25 million mix records) one
/// new session in seven is still looked up on disk for nothing, with 4
/// million three in four.
const FILTER_BITS: usize = 1 << 22;

/// A Bloom filter of the session keys on disk, so that a new session (the
/// usual case) is not looked up there. Fixed in size: as it fills, more
/// lookups go to disk for nothing, never fewer than needed. Keys are
/// already hashes of the session id; two bit positions are cut from it.
struct Filter {
    bits: Vec<u64>,
    ones: usize,
    /// Bits set just after the last rebuild.
    ones_rebuilt: usize,
}

impl Filter {
    fn new() -> Self {
        Self {
            bits: vec![0; FILTER_BITS / 64],
            ones: 0,
            ones_rebuilt: 0,
        }
    }

    fn positions(key: u64) -> [usize; 2] {
        let mask = FILTER_BITS as u64 - 1;
        [(key & mask) as usize, ((key >> 32) & mask) as usize]
    }

    fn insert(&mut self, key: u64) {
        for at in Self::positions(key) {
            let (word, bit) = (at / 64, 1u64 << (at % 64));
            if self.bits[word] & bit == 0 {
                self.bits[word] |= bit;
                self.ones += 1;
            }
        }
    }

    fn may_hold(&self, key: u64) -> bool {
        Self::positions(key)
            .iter()
            .all(|&at| self.bits[at / 64] & (1u64 << (at % 64)) != 0)
    }

    /// Worth rebuilding from the keys on disk: more than half full, and
    /// twice as full as after the last rebuild (so forgotten sessions
    /// are what fills it, not the ones still held).
    fn stale(&self) -> bool {
        self.ones > FILTER_BITS / 2 && self.ones > 2 * self.ones_rebuilt
    }
}

/// Sessions to move to disk, with their values already encoded.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// Key, last event time, and where its value is in `bytes`.
    entries: Vec<(u64, i64, usize, usize)>,
    bytes: Vec<u8>,
}

impl Batch {
    /// Adds a session: its key, last event time and fingerprints.
    pub(super) fn push(&mut self, key: u64, end: i64, prints: impl Iterator<Item = u64>) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(&end.to_le_bytes());
        for p in prints {
            self.bytes.extend_from_slice(&p.to_le_bytes());
        }
        self.entries.push((key, end, start, self.bytes.len()));
    }
}

fn end_of(value: &[u8]) -> i64 {
    i64::from_le_bytes(value[..8].try_into().expect("8 bytes"))
}

pub(super) struct Spilled {
    db: Database,
    /// The committed sessions, read between spills without opening a
    /// transaction per lookup (let go while a spill writes, so the pages it
    /// frees can be reused).
    read: Option<ReadOnlyTable<u64, &'static [u8]>>,
    filter: Filter,
    len: usize,
    /// Sessions written, by the bucket of their last event time: tells
    /// when enough of the file is past the horizon to be worth a sweep.
    /// Replaced entries stay counted until their bucket is swept, so the
    /// count only ever brings a sweep forward.
    buckets: BTreeMap<i64, usize>,
}

impl std::fmt::Debug for Spilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spilled").field("len", &self.len).finish()
    }
}

/// redb's own file backend over the temporary file, less the flush to
/// the device. The file has no name and goes with the run, so what a
/// crash leaves in it is never read: a commit's `fsync` bought nothing,
/// and it stopped the writer's thread at every spill, waiting for the
/// disk (0.47 s of a 6.2 s two-thread run of 1 M session events with
/// `TMPDIR` on ext4; BENCHMARKS.md). Commits stay durable in redb's own
/// sense, so the pages they free are reused ([`Spilled::put`]). No range
/// locks either: one process, one handle, and redb accepts a backend
/// without them.
#[derive(Debug)]
struct Unsynced(redb::backends::FileBackend);

impl redb::StorageBackend for Unsynced {
    fn len(&self) -> Result<u64, redb::BackendError> {
        self.0.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), redb::BackendError> {
        self.0.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), redb::BackendError> {
        self.0.set_len(len)
    }

    fn sync_data(&self) -> Result<(), redb::BackendError> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), redb::BackendError> {
        self.0.write(offset, data)
    }

    fn close(&self) -> Result<(), redb::BackendError> {
        self.0.close()
    }
}

fn disk(e: impl Into<redb::Error>) -> io::Error {
    let e: redb::Error = e.into();
    io::Error::other(format!(
        "the on-disk memory of priced sessions (a temporary file under TMPDIR): {e}"
    ))
}

impl Spilled {
    pub(super) fn new() -> io::Result<Self> {
        let file = tempfile::tempfile().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create a temporary file for priced sessions under TMPDIR: {e}"),
            )
        })?;
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create_with_backend(Unsynced(redb::backends::FileBackend::new(file)))
            .map_err(disk)?;
        let txn = db.begin_write().map_err(disk)?;
        txn.open_table(SESSIONS).map_err(disk)?;
        txn.commit().map_err(disk)?;
        let read = Some(Self::reader(&db)?);
        Ok(Self {
            db,
            read,
            filter: Filter::new(),
            len: 0,
            buckets: BTreeMap::new(),
        })
    }

    fn reader(db: &Database) -> io::Result<ReadOnlyTable<u64, &'static [u8]>> {
        db.begin_read()
            .map_err(disk)?
            .open_table(SESSIONS)
            .map_err(disk)
    }

    /// Sessions on disk, forgotten ones included until a sweep removes
    /// them (see [`Self::put`]).
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The last event time and fingerprints of a session key, if its last
    /// event is not before `cutoff`.
    pub(super) fn get(&self, key: u64, cutoff: i64) -> io::Result<Option<(i64, Vec<u64>)>> {
        if !self.filter.may_hold(key) {
            return Ok(None);
        }
        let read = self.read.as_ref().expect("a reader between spills");
        let Some(v) = read.get(key).map_err(disk)? else {
            return Ok(None);
        };
        let v = v.value();
        let (end, prints) = v.split_at(8);
        let end = end_of(end);
        if end < cutoff {
            return Ok(None);
        }
        let prints = prints
            .chunks_exact(8)
            .map(|p| u64::from_le_bytes(p.try_into().expect("8 bytes")))
            .collect();
        Ok(Some((end, prints)))
    }

    /// Moves a batch of sessions to disk (a key already there is replaced:
    /// the new entry holds the old one's prints too, and ends no earlier),
    /// and, once at least half the file ended before `cutoff`, forgets
    /// those, in one transaction.
    pub(super) fn put(&mut self, mut batch: Batch, cutoff: i64) -> io::Result<()> {
        self.read = None;
        // In key order, inserts walk the B-tree's leaves once each instead
        // of reading a random page per session.
        batch.entries.sort_unstable_by_key(|e| e.0);
        // A durable commit: after non-durable ones redb keeps the pages
        // they freed, in memory, until a durable one.
        let txn = self.db.begin_write().map_err(disk)?;
        {
            let mut table = txn.open_table(SESSIONS).map_err(disk)?;
            for &(key, end, from, to) in &batch.entries {
                let replaced = table
                    .insert(key, &batch.bytes[from..to])
                    .map_err(disk)?
                    .is_some();
                if !replaced {
                    self.len += 1;
                }
                self.filter.insert(key);
                *self
                    .buckets
                    .entry(end.div_euclid(BUCKET_SECONDS))
                    .or_default() += 1;
            }
            // Buckets wholly before the cutoff; a sweep reads the whole
            // file, so it waits until they are half of it.
            let first_kept = cutoff.div_euclid(BUCKET_SECONDS);
            let expired: usize = self.buckets.range(..first_kept).map(|(_, n)| n).sum();
            if expired > 0 && 2 * expired >= self.len {
                let mut removed = 0;
                table
                    .retain(|_, v| {
                        let keep = end_of(v) >= cutoff;
                        removed += usize::from(!keep);
                        keep
                    })
                    .map_err(disk)?;
                self.len -= removed;
                self.buckets = self.buckets.split_off(&first_kept);
            }
        }
        txn.commit().map_err(disk)?;
        let read = Self::reader(&self.db)?;
        if self.filter.stale() {
            let mut filter = Filter::new();
            for entry in read.iter().map_err(disk)? {
                filter.insert(entry.map_err(disk)?.0.value());
            }
            filter.ones_rebuilt = filter.ones;
            self.filter = filter;
        }
        self.read = Some(read);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = BUCKET_SECONDS;

    fn batch(sessions: &[(u64, i64, &[u64])]) -> Batch {
        let mut b = Batch::default();
        for &(key, end, prints) in sessions {
            b.push(key, end, prints.iter().copied());
        }
        b
    }

    #[test]
    fn a_sweep_waits_until_half_the_file_is_past_the_horizon() {
        let mut disk = Spilled::new().unwrap();
        // Keys out of order: the batch is sorted before it is written.
        disk.put(
            batch(&[
                (4, 10, &[40]),
                (1, 20, &[10, 11]),
                (3, 30, &[30]),
                (2, 40, &[20]),
            ]),
            i64::MIN,
        )
        .unwrap();
        assert_eq!(disk.len(), 4);
        assert_eq!(disk.get(1, i64::MIN).unwrap(), Some((20, vec![10, 11])));
        // Hour 10 arrives with a cutoff at hour 5: the four sessions of
        // hour 0 are two thirds of the file, so they go.
        disk.put(
            batch(&[(5, 10 * HOUR, &[50]), (6, 10 * HOUR, &[60])]),
            5 * HOUR,
        )
        .unwrap();
        assert_eq!(disk.len(), 2);
        assert_eq!(disk.get(4, i64::MIN).unwrap(), None);
        assert_eq!(disk.get(5, i64::MIN).unwrap(), Some((10 * HOUR, vec![50])));
        // Three more at hour 20, cutoff at hour 15: the two of hour 10 are
        // two fifths of the file, so they stay on disk, but a lookup past
        // the horizon does not see them.
        disk.put(
            batch(&[
                (7, 20 * HOUR, &[70]),
                (8, 20 * HOUR, &[80]),
                (9, 20 * HOUR, &[90]),
            ]),
            15 * HOUR,
        )
        .unwrap();
        assert_eq!(disk.len(), 5);
        assert_eq!(disk.get(5, 15 * HOUR).unwrap(), None);
        assert_eq!(disk.get(5, i64::MIN).unwrap(), Some((10 * HOUR, vec![50])));
    }

    #[test]
    fn a_key_moved_again_keeps_its_later_end_through_a_sweep() {
        let mut disk = Spilled::new().unwrap();
        disk.put(batch(&[(1, 0, &[10]), (2, 0, &[20])]), i64::MIN)
            .unwrap();
        // Key 1 again, ending at hour 10, holding both sessions' prints.
        disk.put(batch(&[(1, 10 * HOUR, &[10, 11])]), i64::MIN)
            .unwrap();
        assert_eq!(disk.len(), 2);
        disk.put(batch(&[(3, 10 * HOUR, &[30])]), 5 * HOUR).unwrap();
        assert_eq!(disk.len(), 2);
        assert_eq!(
            disk.get(1, 5 * HOUR).unwrap(),
            Some((10 * HOUR, vec![10, 11]))
        );
        assert_eq!(disk.get(2, i64::MIN).unwrap(), None);
    }
}
