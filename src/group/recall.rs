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

use std::io;

use redb::{Database, ReadOnlyTable, ReadableDatabase, ReadableTable, TableDefinition};

/// Session key -> last event time (i64) then the session's fingerprints
/// (u64 each), all little endian.
const SESSIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("sessions");
/// (last event time, session key): the order sessions are forgotten in.
const BY_END: TableDefinition<(i64, u64), ()> = TableDefinition::new("by_end");

/// The B-tree's own page cache. The lookups are one per new session, at
/// random keys, so a large cache would buy little over the kernel's.
const CACHE_BYTES: usize = 1 << 20;

/// Bits of the filter in front of the disk: 2 MiB. Two bits a session;
/// with 4 million sessions on disk (a day of 100 million mix records) one
/// new session in seven is still looked up on disk for nothing.
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

/// A session moved to disk: key, last event time, fingerprints.
pub(super) type Moved = (u64, i64, Vec<u64>);

pub(super) struct Spilled {
    db: Database,
    /// The committed sessions, read between spills without opening a
    /// transaction per lookup (let go while a spill writes, so the pages it
    /// frees can be reused).
    read: Option<ReadOnlyTable<u64, &'static [u8]>>,
    filter: Filter,
    len: usize,
}

impl std::fmt::Debug for Spilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spilled").field("len", &self.len).finish()
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
            .create_with_backend(redb::backends::FileBackend::new(file))
            .map_err(disk)?;
        let txn = db.begin_write().map_err(disk)?;
        txn.open_table(SESSIONS).map_err(disk)?;
        txn.open_table(BY_END).map_err(disk)?;
        txn.commit().map_err(disk)?;
        let read = Some(Self::reader(&db)?);
        Ok(Self {
            db,
            read,
            filter: Filter::new(),
            len: 0,
        })
    }

    fn reader(db: &Database) -> io::Result<ReadOnlyTable<u64, &'static [u8]>> {
        db.begin_read()
            .map_err(disk)?
            .open_table(SESSIONS)
            .map_err(disk)
    }

    /// Sessions on disk (forgotten ones are removed at each spill).
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
        let end = i64::from_le_bytes(end.try_into().expect("8 bytes"));
        if end < cutoff {
            return Ok(None);
        }
        let prints = prints
            .chunks_exact(8)
            .map(|p| u64::from_le_bytes(p.try_into().expect("8 bytes")))
            .collect();
        Ok(Some((end, prints)))
    }

    /// Moves `sessions` to disk (a key already there is replaced: the new
    /// entry holds the old one's prints too, and ends no earlier) and forgets the sessions that
    /// ended before `cutoff`, in one transaction.
    pub(super) fn put(&mut self, sessions: &[Moved], cutoff: i64) -> io::Result<()> {
        self.read = None;
        // A durable commit: after non-durable ones redb keeps the pages
        // they freed, in memory, until a durable one.
        let txn = self.db.begin_write().map_err(disk)?;
        {
            let mut table = txn.open_table(SESSIONS).map_err(disk)?;
            let mut by_end = txn.open_table(BY_END).map_err(disk)?;
            let mut value = Vec::new();
            for (key, end, prints) in sessions {
                value.clear();
                value.extend_from_slice(&end.to_le_bytes());
                for p in prints {
                    value.extend_from_slice(&p.to_le_bytes());
                }
                let replaced = table.insert(key, value.as_slice()).map_err(disk)?.is_some();
                if !replaced {
                    self.len += 1;
                }
                self.filter.insert(*key);
                by_end.insert((*end, *key), ()).map_err(disk)?;
            }
            let old: Vec<(i64, u64)> = by_end
                .range(..(cutoff, 0))
                .map_err(disk)?
                .map(|r| r.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()
                .map_err(disk)?;
            for (end, key) in old {
                by_end.remove((end, key)).map_err(disk)?;
                // A key replaced since ends later: it stays.
                let current = table
                    .get(key)
                    .map_err(disk)?
                    .map(|v| i64::from_le_bytes(v.value()[..8].try_into().expect("8 bytes")));
                if current == Some(end) {
                    table.remove(key).map_err(disk)?;
                    self.len -= 1;
                }
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
