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
    /// taking what the workers made of each record. The bytes it hands out
    /// live as long as the visit's borrow of the block, so the writer can
    /// gather them for one write per output (`write::gather`).
    pub fn each<'s>(&'s mut self, mut f: impl FnMut(Item<'s, D>) -> Result<()>) -> Result<()> {
        // Plain loops over the groups, and one comparison a record for the
        // broken stretches: the chain of iterator adapters this replaces
        // (spans zipped with the groups flattened, a peekable for the
        // broken) cost the writer ~130 instructions a record, a fifth of
        // its work on the generated mix (callgrind, 20 k records).
        let block = &self.block;
        let data: &'s [u8] = &block.data;
        let mut broken = self.broken.drain(..);
        let mut next_broken = broken.next();
        let mut spans = self.spans.iter();
        for Group { bytes, done } in self.groups.iter_mut() {
            let bytes: &'s [u8] = bytes;
            for done in done.drain(..) {
                let span = spans.next().expect("one span per record");
                while let Some((range, _)) = &next_broken
                    && range.start < span.start
                {
                    let (range, error) = next_broken.take().expect("just seen");
                    f(Item::Broken {
                        rec: framed(block, &range),
                        error,
                    })?;
                    next_broken = broken.next();
                }
                f(Item::Record {
                    rec: framed(block, span),
                    bytes,
                    block: data,
                    done,
                })?;
            }
        }
        for (range, error) in next_broken.into_iter().chain(broken) {
            f(Item::Broken {
                rec: framed(block, &range),
                error,
            })?;
        }
        Ok(())
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
