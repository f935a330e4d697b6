//! The block engine that every per-record job runs on (`rate`, `recycle`,
//! `rerate`): blocks of whole records are read one at a time
//! ([`read::CHUNK_BYTES`]), the records of a block are worked on in
//! parallel in groups of [`GROUP_RECORDS`], and one writer files the results
//! in input order, so the output is byte-identical at any thread count and
//! memory does not grow with the input.
//!
//! What differs between commands is only what a worker does with one record
//! ([`Job`]) and what the writer does with the result ([`Sink`]). The engine
//! owns what made `rate` fast and what `rerate`'s own copy of the loop had
//! lost:
//! - with more than one thread the next block is worked on while the
//!   current one is written (`rayon::join`), so workers do not wait for the
//!   writer, and the block after it is read and framed beside both, so
//!   neither waits for the reader ([`drive_ahead`]);
//! - a worker appends the bytes it produces for a whole group to one buffer,
//!   so the writer frees one buffer per 64 records, not one per record
//!   (allocated on another thread);
//! - the block buffers and the vectors of spans and groups are reused from
//!   block to block: fresh multi-megabyte vectors for every block cost page
//!   faults;
//! - each worker thread decodes into the record it decoded last
//!   ([`with_decoded`]), reusing its vectors.

use std::cell::RefCell;
use std::ops::Range;

use anyhow::Result;
use rayon::prelude::*;
use xxhash_rust::xxh3::Xxh3;

use crate::read::{self, Chunk, DecodeFailure, Framed, Reader};
use crate::sdr::ServiceDetailRecord;

/// What a worker does with one record, on any thread.
pub(crate) trait Job: Sync {
    /// What the writer needs to file the record; bytes the worker produced
    /// (a priced record, say) are appended to the group's buffer and named
    /// here by their range in it.
    type Done: Send;
    fn work(&self, rec: &Framed<'_>, out: &mut Vec<u8>) -> Self::Done;
}

/// What the writer does with a block's results, on one thread at a time,
/// in input order.
pub(crate) trait Sink<D>: Send {
    /// Files one worked block ([`Rated::each`] visits it in order).
    fn write(&mut self, rated: &mut Rated<D>) -> Result<()>;
    /// Called after each block is written, on the reading thread: for
    /// starting the written bytes on their way to disk.
    fn written(&mut self) {}
}

/// One block worked on: its records' spans in `block.data`, what the
/// workers made of each (in groups of consecutive records), and where the
/// framing broke, if it did.
pub(crate) struct Rated<D> {
    pub block: Chunk,
    spans: Vec<Range<usize>>,
    groups: Vec<Group<D>>,
    /// Stretches of `block.data` that cannot be framed, and why, in order.
    broken: Vec<(Range<usize>, read::FrameError)>,
}

/// Records a worker handles in one go: a buffer per group, rather than per
/// record, holds what it produced.
struct Group<D> {
    bytes: Vec<u8>,
    done: Vec<D>,
}

/// Records per [`Group`]: enough that a buffer is shared widely, few
/// enough that a block splits into many tasks for the threads.
const GROUP_RECORDS: usize = 64;

/// The vectors one worked block leaves for the next.
pub(crate) struct Spare<D>(Vec<Range<usize>>, Vec<Group<D>>);

impl<D> Default for Spare<D> {
    fn default() -> Self {
        Spare(Vec::new(), Vec::new())
    }
}

/// One item of a block, in input order.
pub(crate) enum Item<'a, D> {
    /// A framed record, what its worker made of it, the buffer its
    /// group's bytes are in, and the block's bytes its own lie in.
    Record {
        rec: Framed<'a>,
        bytes: &'a [u8],
        block: &'a [u8],
        done: D,
    },
    /// A stretch that cannot be framed: one fault, kept whole.
    Broken {
        rec: Framed<'a>,
        error: read::FrameError,
    },
}

impl<D> Rated<D> {
    /// Bytes of the framed records of the block (broken stretches not
    /// included).
    pub fn record_bytes(&self) -> u64 {
        self.spans.iter().map(|r| r.len() as u64).sum()
    }

    /// How many framed records the block has: the size of vectors that
    /// hold something per record, allocated once rather than grown.
    pub fn record_count(&self) -> usize {
        self.spans.len()
    }

    /// Calls `f` on what the workers made of each record, in input order,
    /// left in place for [`Self::each`].
    pub fn each_done_mut(&mut self, mut f: impl FnMut(&mut D)) {
        for g in &mut self.groups {
            for d in &mut g.done {
                f(d);
            }
        }
    }

    /// Visits the block's records and broken stretches in input order,
    /// taking what the workers made of each record ([`Self::items`]).
    pub fn each<'s>(&'s mut self, mut f: impl FnMut(Item<'s, D>) -> Result<()>) -> Result<()> {
        self.items().try_for_each(&mut f)
    }

    /// The block's records and broken stretches in input order, taking
    /// what the workers made of each record. The bytes it hands out live
    /// as long as the borrow of the block, so the writer can gather them
    /// for one write per output (`write::gather`).
    ///
    /// An iterator, so that the writer's loop body is the loop's, not a
    /// closure called per record: a chain of iterator adapters (spans
    /// zipped with the groups flattened, a peekable for the broken) and
    /// then a call per record cost the writer ~130 and ~40 instructions a
    /// record (callgrind, 20 k mix).
    pub fn items(&mut self) -> Items<'_, D> {
        let mut broken = self.broken.drain(..);
        Items {
            block: &self.block,
            spans: self.spans.iter(),
            groups: self.groups.iter_mut(),
            current: None,
            next_broken: broken.next(),
            broken,
        }
    }
}

/// See [`Rated::items`].
pub(crate) struct Items<'s, D> {
    block: &'s Chunk,
    /// Spans of the records not yet handed out.
    spans: std::slice::Iter<'s, Range<usize>>,
    groups: std::slice::IterMut<'s, Group<D>>,
    /// The group being handed out: its buffer and its results left.
    current: Option<(&'s [u8], std::vec::Drain<'s, D>)>,
    next_broken: Option<(Range<usize>, read::FrameError)>,
    broken: std::vec::Drain<'s, (Range<usize>, read::FrameError)>,
}

impl<'s, D> Iterator for Items<'s, D> {
    type Item = Item<'s, D>;

    #[inline]
    fn next(&mut self) -> Option<Item<'s, D>> {
        loop {
            // A broken stretch comes before the next record that starts
            // after it, and after the last record.
            if let Some((range, _)) = &self.next_broken
                && self
                    .spans
                    .as_slice()
                    .first()
                    .is_none_or(|s| range.start < s.start)
            {
                let (range, error) = self.next_broken.take().expect("just seen");
                self.next_broken = self.broken.next();
                return Some(Item::Broken {
                    rec: framed(self.block, &range),
                    error,
                });
            }
            if let Some((bytes, done)) = &mut self.current
                && let Some(done) = done.next()
            {
                let span = self.spans.next().expect("one span per record");
                return Some(Item::Record {
                    rec: framed(self.block, span),
                    bytes,
                    block: &self.block.data,
                    done,
                });
            }
            let Group { bytes, done } = self.groups.next()?;
            self.current = Some((bytes, done.drain(..)));
        }
    }
}

/// Works on the records of `block` in parallel, into the vectors given
/// (cleared first, so their capacity is reused).
fn work_block<J: Job>(
    block: Chunk,
    hasher: Option<&mut Xxh3>,
    job: &J,
    Spare(mut spans, mut groups): Spare<J::Done>,
) -> Rated<J::Done> {
    spans.clear();
    let mut broken = Vec::new();
    block.spans_into(&mut spans, &mut broken);
    // The input's hash for the run id, if asked for, beside the work.
    rayon::join(
        || hash_chunk(hasher, &block.data),
        || {
            spans
                .par_chunks(GROUP_RECORDS)
                .map(|g| work_group(job, &block, g))
                .collect_into_vec(&mut groups)
        },
    );
    Rated {
        block,
        spans,
        groups,
        broken,
    }
}

/// Works on one group of a block's records, on any thread. Not inlined:
/// the serial-share benchmark (`benches/serial.sh`) tells the threads'
/// work from the writer's by this name.
#[inline(never)]
fn work_group<J: Job>(job: &J, block: &Chunk, g: &[Range<usize>]) -> Group<J::Done> {
    // Priced records are their input plus the pricing modules.
    let input: usize = g.iter().map(ExactSizeIterator::len).sum();
    let mut bytes = Vec::with_capacity(input + input / 2);
    let done = g
        .iter()
        .map(|r| job.work(&framed(block, r), &mut bytes))
        .collect();
    Group { bytes, done }
}

/// Feeds a chunk to the input's hash ([`Reader::hashing_by_chunks`]). Not
/// inlined: the serial-share benchmark (`benches/serial.sh`) tells the
/// threads' work from the writer's by this name.
#[inline(never)]
fn hash_chunk(hasher: Option<&mut Xxh3>, data: &[u8]) {
    if let Some(h) = hasher {
        h.update(data);
    }
}

fn framed<'a>(block: &'a Chunk, r: &Range<usize>) -> Framed<'a> {
    Framed {
        offset: block.offset + r.start as u64,
        bytes: &block.data[r.clone()],
    }
}

/// Runs `job` over every record of `reader`, filing the results with
/// `sink` in input order. `spare` carries block vectors from one input to
/// the next.
pub(crate) fn drive<J: Job, S: Sink<J::Done>>(
    reader: &mut Reader,
    job: &J,
    sink: &mut S,
    spare: &mut Spare<J::Done>,
) -> Result<()> {
    // Fed beside the work on each block while the reader reads ahead.
    let mut hasher = reader.lend_chunk_hasher();
    let drove = if rayon::current_num_threads() > 1 {
        drive_ahead(reader, hasher.as_deref_mut(), job, sink, spare)
    } else {
        // One thread: each block is read, worked on and written while
        // still in cache, and its buffers are reused for the next.
        let mut in_turn = || {
            while let Some(block) = reader.next_chunk()? {
                let worked = work_block(block, hasher.as_deref_mut(), job, std::mem::take(spare));
                *spare = file(sink, reader, worked)?;
            }
            Ok(())
        };
        in_turn()
    };
    reader.return_chunk_hasher(hasher);
    drove
}

/// [`drive`] on several threads, three blocks at a time: while block n is
/// written, block n + 1 is worked on and block n + 2 read and framed, so
/// neither the work nor the writer waits for the reading (12 % of the
/// serial instructions of a 200 k mix, on the critical path when the next
/// block was read before its work could start).
///
/// A read that fails is reported after the blocks before it are written,
/// as at one thread.
fn drive_ahead<J: Job, S: Sink<J::Done>>(
    reader: &mut Reader,
    mut hasher: Option<&mut Xxh3>,
    job: &J,
    sink: &mut S,
    spare: &mut Spare<J::Done>,
) -> Result<()> {
    let mut ahead = reader.next_chunk();
    let mut worked: Option<Rated<J::Done>> = None;
    loop {
        let block = match ahead {
            Ok(block) => block,
            Err(e) => {
                if let Some(last) = worked.take() {
                    *spare = file(sink, reader, last)?;
                }
                return Err(e);
            }
        };
        if block.is_none() && worked.is_none() {
            return Ok(());
        }
        let vectors = std::mem::take(spare);
        let more = block.is_some();
        let hasher = hasher.as_deref_mut();
        let (read, (next, written)) = rayon::join(
            || if more { reader.next_chunk() } else { Ok(None) },
            || {
                rayon::join(
                    || block.map(|b| work_block(b, hasher, job, vectors)),
                    || worked.as_mut().map_or(Ok(()), |w| sink.write(w)),
                )
            },
        );
        written?;
        if let Some(done) = worked.take() {
            sink.written();
            *spare = finish(reader, done);
        }
        worked = next;
        ahead = read;
    }
}

/// Writes a worked block, then [`finish`]es it.
fn file<D, S: Sink<D>>(sink: &mut S, reader: &mut Reader, mut rated: Rated<D>) -> Result<Spare<D>> {
    sink.write(&mut rated)?;
    sink.written();
    Ok(finish(reader, rated))
}

/// Gives a written block's buffer back to the reader and returns its
/// vectors for the next block's work.
fn finish<D>(reader: &mut Reader, rated: Rated<D>) -> Spare<D> {
    let Rated {
        block,
        spans,
        groups,
        ..
    } = rated;
    reader.recycle(block);
    Spare(spans, groups)
}

/// Calls `f` with `bytes` decoded into the record this thread decoded
/// last: its vectors and service part are reused rather than allocated and
/// moved for every record (see [`read::decode_into`]). What outlives the
/// call must be copied or taken from the record.
pub(crate) fn with_decoded<R>(
    bytes: &[u8],
    f: impl FnOnce(Result<&mut ServiceDetailRecord, DecodeFailure>) -> R,
) -> R {
    thread_local! {
        static RECORD: RefCell<Option<ServiceDetailRecord>> = const { RefCell::new(None) };
    }
    RECORD.with_borrow_mut(|slot| f(read::decode_into(bytes, slot)))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::path::Path;

    use super::*;

    /// What a record was made into: where it lies, and its bytes copied
    /// into its group's buffer.
    struct Copied;

    impl Job for Copied {
        type Done = (u64, Range<usize>);
        fn work(&self, rec: &Framed<'_>, out: &mut Vec<u8>) -> Self::Done {
            let start = out.len();
            out.extend_from_slice(rec.bytes);
            (rec.offset, start..out.len())
        }
    }

    /// The writer's view of a block is the framer's: every record and
    /// every broken stretch once, in input order, across groups, with a
    /// broken stretch before the record after it and at the end.
    #[test]
    fn items_come_in_input_order_with_broken_stretches_where_they_lie() {
        let fixture = |f: &str| {
            std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("fixtures/broken")
                    .join(f),
            )
            .unwrap()
        };
        // Three records and a broken 6-byte header a copy, then a broken
        // tail: 120 records in two groups, 41 broken stretches.
        let mut input = fixture("huge-length.sdr").repeat(40);
        input.extend(fixture("truncated.sdr"));
        let mut reader = Reader::from_source("t", Box::new(Cursor::new(input)), 1 << 20);
        let block = reader.next_chunk().unwrap().unwrap();
        let framed: Vec<(bool, u64, Vec<u8>)> = block
            .records()
            .map(|r| match r {
                Ok(rec) => (true, rec.offset, rec.bytes.to_vec()),
                Err(b) => (false, b.offset, b.bytes.to_vec()),
            })
            .collect();
        let records = framed.iter().filter(|(record, ..)| *record).count();
        assert_eq!(records, 122, "the fixtures' records");
        assert_eq!(framed.len() - records, 41, "the fixtures' broken stretches");
        let mut rated = work_block(block, None, &Copied, Spare::default());
        let items: Vec<(bool, u64, Vec<u8>)> = rated
            .items()
            .map(|item| match item {
                Item::Record {
                    rec,
                    bytes,
                    block,
                    done: (offset, range),
                } => {
                    assert_eq!(offset, rec.offset);
                    assert_eq!(&bytes[range], rec.bytes, "its group's bytes");
                    let start = rec.bytes.as_ptr() as usize - block.as_ptr() as usize;
                    assert_eq!(&block[start..start + rec.bytes.len()], rec.bytes);
                    (true, rec.offset, rec.bytes.to_vec())
                }
                Item::Broken { rec, .. } => (false, rec.offset, rec.bytes.to_vec()),
            })
            .collect();
        assert_eq!(items, framed);
    }
}
