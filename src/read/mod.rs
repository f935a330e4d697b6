//! Reading SDR files: framing records, decoding them, and turning anything
//! malformed into a fault that keeps its raw bytes for recycling.
//!
//! Framing, in one place ([`frame`]), decides what the bytes at a record
//! boundary are:
//!
//! - a **record**: a whole BER element of at most [`MAX_RECORD_BYTES`];
//! - **padding**: a run of fill bytes (`00` or `FF`, as block-oriented
//!   collectors pad their files), skipped in one linear scan and reported
//!   once per run with its offset and length, never as a fault;
//! - a **broken** stretch: bytes that cannot be framed (a corrupt or
//!   impossible length, a record longer than the maximum, a truncated
//!   record at the end of the input). It ends where the next record starts
//!   (the next `61` octet, the SDR's identifier, that frames as a whole,
//!   well-formed record), or after [`MAX_RECORD_BYTES`], or at the end of
//!   the input; it is one fault, kept byte for byte in a file of its own
//!   (never among records: see [`origins`]), and the records after it are
//!   read. The maximum is `--max-record-bytes`.
//!
//! So memory is bounded by the block size plus twice the maximum record
//! size (512 KiB + 2 MiB by default: a broken stretch ends where a record
//! starts that may end a record's length later), whatever the input
//! holds; an indefinite-length record is too long once it has run past
//! the maximum, however little its innermost element claims to need. A
//! reader that grew its buffer until it saw a valid record ate a 2 GiB
//! file of zeros (6.2 GB peak) and `/dev/zero` (killed by the OOM killer),
//! and scanning each zero pair as a record made 1 MiB of padding
//! quadratic.
//!
//! Compressed inputs (gzip, zstd) are decompressed as they are read, into
//! the same framing ([`compressed`]): offsets are those of the
//! decompressed stream, and the bound grows by the decoder's window only.

pub mod compressed;
pub mod events;
pub mod origins;
/// BER framing (in the format crate).
pub use crate::sdr::tlv;

use std::fmt;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::sdr::ServiceDetailRecord;
pub use crate::sdr::canonical;
pub use tlv::FrameError;

/// One input held whole in memory: for tests, the fuzzer and small files.
/// Runs over real inputs use [`Reader`], which streams.
pub struct Input {
    name: PathBuf,
    data: Vec<u8>,
}

impl Input {
    /// Reads a file, or standard input for `-`, into memory (decompressed,
    /// when it is compressed).
    pub fn open(path: &Path) -> Result<Self> {
        let mut data = Vec::new();
        open_source(path)?
            .read_to_end(&mut data)
            .with_context(|| format!("cannot read {}", display(path)))?;
        Ok(Input::from_bytes(path, data))
    }

    pub fn from_bytes(name: impl Into<PathBuf>, bytes: Vec<u8>) -> Self {
        Input {
            name: name.into(),
            data: bytes,
        }
    }

    pub fn name(&self) -> &Path {
        &self.name
    }

    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The records of this input, in file order.
    pub fn records(&self) -> Records<'_> {
        Records::new(&self.data, 0, &[])
    }
}

fn display(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".into()
    } else {
        path.display().to_string()
    }
}

fn open_source(path: &Path) -> Result<Box<dyn Read + Send>> {
    Ok(compressed::open(path)?.0)
}

/// Default size of the blocks a [`Reader`] hands out: small enough that a
/// block, its decoded records and their outputs mostly stay in a core's L2
/// cache (cachegrind, 2 MiB cache: 30 % fewer misses than 2 MiB blocks),
/// large enough that many threads share each block's records.
pub const CHUNK_BYTES: usize = 512 << 10;

/// The longest record read: a longer one is a broken stretch (a fault
/// with its offset), never a reason to hold more of the input in memory.
/// SDRs are a few hundred bytes; 1 MiB leaves room for any real one.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Padding runs longer than this are handed out before their end is seen,
/// so a file of zeros streams through the block buffer.
const PADDING_STEP: usize = 64 << 10;

/// What the bytes at a record boundary are (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    Record(usize),
    Padding(usize),
    Broken(usize, FrameError),
    /// Not decidable from the bytes at hand: read more (never more than
    /// twice the maximum record size).
    NeedMore,
}

/// Whether `b` fills space between records.
fn is_fill(b: u8) -> bool {
    b == 0x00 || b == 0xFF
}

/// The identifier octet of an SDR: `[APPLICATION 1]`, constructed.
const SDR_IDENTIFIER: u8 = 0x61;

/// Whether a whole, well-formed record of at most `max` bytes starts at
/// `buf[0]`: the evidence needed to resume reading after a broken stretch.
/// None when `buf` ends before that is known: a record of at most `max`
/// bytes whose end has not been read yet (`eof` false).
fn record_starts(buf: &[u8], eof: bool, max: usize) -> Option<bool> {
    if buf[0] != SDR_IDENTIFIER {
        return Some(false);
    }
    match tlv::element_len(buf) {
        Ok(n) => Some(n <= max && tlv::check_record_tree(&buf[..n]).is_ok()),
        // A record of at most `max` bytes lies within `max` bytes.
        Err(FrameError::Truncated { .. }) if !eof && buf.len() < max => None,
        Err(_) => Some(false),
    }
}

/// Frames the bytes at a record boundary; `eof` says whether `buf` runs to
/// the end of the input; `resyncing` that a broken stretch ended just
/// before without a record starting, so framing resumes only where one
/// does. `buf` must not be empty.
pub fn frame(buf: &[u8], eof: bool, max: usize, resyncing: bool) -> Span {
    let first = buf[0];
    if is_fill(first) {
        let run = buf.iter().take_while(|b| **b == first).count();
        if run == buf.len() && !eof && run < PADDING_STEP {
            return Span::NeedMore;
        }
        return Span::Padding(run);
    }
    if resyncing {
        match record_starts(buf, eof, max) {
            Some(true) => {}
            Some(false) => {
                return broken_until_next_record(buf, eof, max, FrameError::NoRecordStart);
            }
            None => return Span::NeedMore,
        }
    }
    let error = match tlv::element_len(buf) {
        Ok(n) if n <= max => return Span::Record(n),
        Ok(n) => FrameError::TooLong {
            length: n as u64,
            max: max as u64,
        },
        // `needed` counts from the start of the innermost element that is
        // cut short, so an indefinite-length record can claim to need
        // little more, one child at a time, while it grows past `max`:
        // past `max` bytes it is too long, whatever it claims.
        Err(FrameError::Truncated { needed, .. }) if !eof && buf.len() >= max => {
            FrameError::TooLong {
                length: needed.max(buf.len() as u64 + 1),
                max: max as u64,
            }
        }
        Err(FrameError::Truncated { needed, .. }) if needed as usize <= max && !eof => {
            return Span::NeedMore;
        }
        Err(FrameError::Truncated { needed, .. }) if needed as usize > max => FrameError::TooLong {
            length: needed,
            max: max as u64,
        },
        Err(e) => e,
    };
    broken_until_next_record(buf, eof, max, error)
}

/// A broken stretch at `buf[0]`: up to the next position where a whole,
/// well-formed record starts, at most `max` bytes. Where that is depends
/// only on the input, not on how much of it has been read: a record that
/// may start in the stretch but ends in bytes not read yet is waited for
/// (so framing may look up to twice `max` bytes ahead).
fn broken_until_next_record(buf: &[u8], eof: bool, max: usize, error: FrameError) -> Span {
    let limit = buf.len().min(max);
    for p in 1..limit {
        match record_starts(&buf[p..], eof, max) {
            Some(true) => return Span::Broken(p, error),
            Some(false) => {}
            None => return Span::NeedMore,
        }
    }
    if !eof && buf.len() < max {
        // The next record may start in bytes not read yet.
        return Span::NeedMore;
    }
    Span::Broken(limit, error)
}

/// Streams one input in blocks of whole records, so memory stays bounded
/// by the block size plus twice the largest record, whatever the input
/// holds.
/// Unlike a memory map, the pages read do not stay resident.
pub struct Reader {
    name: PathBuf,
    source: Box<dyn Read + Send>,
    /// Bytes read but not yet handed out; `carry[0]` is at file `offset`.
    carry: Vec<u8>,
    /// A finished block's buffer, reused for the next `carry`.
    spare: Vec<u8>,
    /// The spans of a finished block, kept for the next.
    spare_ends: Vec<(usize, Span)>,
    offset: u64,
    eof: bool,
    target: usize,
    /// The longest record: see [`MAX_RECORD_BYTES`].
    max_record: usize,
    /// The last span was a broken stretch: see [`frame`].
    resyncing: bool,
    /// The input is compressed: see [`compressed`].
    compression: Option<compressed::Compression>,
    /// The compressed stream broke here; given out (as an error) once the
    /// bytes decompressed before it were.
    damaged: Option<compressed::Damaged>,
    /// xxh3-128 of every byte read, when asked for ([`Reader::hashing`]).
    hasher: Option<Box<xxhash_rust::xxh3::Xxh3>>,
    /// The caller hashes each chunk ([`Reader::hashing_by_chunks`]).
    by_chunks: bool,
    /// Ends of the pieces framed each on its own ([`Reader::pieces`]),
    /// and the end of the current one.
    pieces: Option<Box<dyn Iterator<Item = u64> + Send>>,
    piece_end: Option<u64>,
}

/// A block of an input: whole records, padding and broken stretches,
/// starting at file offset `offset`.
pub struct Chunk {
    pub offset: u64,
    pub data: Vec<u8>,
    /// What [`Reader::next_chunk`] framed, with where each span ends, so
    /// that [`Chunk::records`] does not frame them again.
    ends: Vec<(usize, Span)>,
}

impl Chunk {
    /// The records and broken stretches of this block, with their offsets
    /// in the file (padding is skipped: see [`Chunk::padding`]).
    pub fn records(&self) -> Records<'_> {
        Records::new(&self.data, self.offset, &self.ends)
    }

    /// The block's records and broken stretches as ranges of `data`, into
    /// the vectors given, in order: what [`Chunk::records`] yields, without
    /// building an item per record (the rating engine's writer thread walks
    /// every block this way: 70 instructions a record through the
    /// iterator, a fifth of reading).
    pub fn spans_into(
        &self,
        records: &mut Vec<Range<usize>>,
        broken: &mut Vec<(Range<usize>, FrameError)>,
    ) {
        let mut start = 0;
        for (end, span) in &self.ends {
            match span {
                Span::Record(_) => records.push(start..*end),
                Span::Broken(_, error) => broken.push((start..*end, error.clone())),
                Span::Padding(_) | Span::NeedMore => {}
            }
            start = *end;
        }
        debug_assert_eq!(
            start,
            self.data.len(),
            "a reader's block is framed to its end"
        );
    }

    /// The runs of fill bytes of this block: (file offset, length). A run
    /// longer than a block continues in the next one at the offset where
    /// this one ends.
    pub fn padding(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let mut start = 0;
        self.ends.iter().filter_map(move |(end, span)| {
            let s = start;
            start = *end;
            matches!(span, Span::Padding(_)).then(|| (self.offset + s as u64, (end - s) as u64))
        })
    }
}

impl Reader {
    /// Opens a file, or standard input for `-`, decompressing it when its
    /// first bytes say it is compressed ([`compressed`]).
    pub fn open(path: &Path) -> Result<Self> {
        let (source, compression) = compressed::open(path)?;
        let mut reader = Self::from_source(path, source, CHUNK_BYTES);
        reader.compression = compression;
        Ok(reader)
    }

    /// A reader over any byte source, handing out blocks of about `target`
    /// bytes. The bytes are framed as they are: only [`Reader::open`]
    /// recognises a compressed input.
    pub fn from_source(
        name: impl Into<PathBuf>,
        source: Box<dyn Read + Send>,
        target: usize,
    ) -> Self {
        Reader {
            name: name.into(),
            source,
            carry: Vec::new(),
            spare: Vec::new(),
            spare_ends: Vec::new(),
            offset: 0,
            eof: false,
            target: target.max(1),
            max_record: MAX_RECORD_BYTES,
            resyncing: false,
            compression: None,
            damaged: None,
            hasher: None,
            by_chunks: false,
            pieces: None,
            piece_end: None,
        }
    }

    /// Frames the input as separate pieces ending at `ends` (increasing
    /// file offsets): each piece is framed as if it were a whole input, so
    /// kept broken stretches read back one by one, as they were read from
    /// their inputs (see [`origins`]).
    pub fn pieces(mut self, ends: Box<dyn Iterator<Item = u64> + Send>) -> Self {
        self.pieces = Some(ends);
        self
    }

    /// The end of the piece holding file offset `at`, if the input is in
    /// pieces and any is left; a new piece starts framing afresh.
    fn piece_end(&mut self, at: u64) -> Option<u64> {
        let pieces = self.pieces.as_mut()?;
        while self.piece_end.is_none_or(|e| e <= at) {
            self.piece_end = Some(pieces.next()?);
            self.resyncing = false;
        }
        self.piece_end
    }

    /// Sets the longest record read (at least 1 KiB).
    pub fn max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes.max(1 << 10);
        self
    }

    /// Hashes every byte as it is read (xxh3-128, as
    /// `write::publish::hash_file` does), so that a file whose hash is only
    /// needed once it is rated is not read twice. Not for a compressed
    /// input, whose hash is that of the file on disk, which this reader
    /// never sees: it hashes nothing, and [`Reader::hash`] is None.
    pub fn hashing(mut self) -> Self {
        if self.compression.is_none() {
            self.hasher = Some(Box::default());
        }
        self
    }

    /// As [`Reader::hashing`], but the caller feeds each chunk's data, in
    /// order, to the hasher [`Reader::lend_chunk_hasher`] lends: a chunk's
    /// data are the input's bytes from its offset to the next chunk's, so
    /// the chunks together hash what hashing as read hashes. The block
    /// engine hashes a chunk beside the work on its records, off the
    /// reading thread's serial path (3.7 M of the 38 M serial instructions
    /// of a 20 k mix run), while the reader reads the next.
    pub fn hashing_by_chunks(mut self) -> Self {
        self = self.hashing();
        self.by_chunks = true;
        self
    }

    /// Lends out the hasher each chunk is fed to, when hashing by chunks,
    /// so that the chunks already read are hashed while the reader reads
    /// the next; [`Reader::return_chunk_hasher`] gives it back before the
    /// hash is asked for.
    pub fn lend_chunk_hasher(&mut self) -> Option<Box<xxhash_rust::xxh3::Xxh3>> {
        match self.by_chunks {
            true => self.hasher.take(),
            false => None,
        }
    }

    /// Takes back the hasher [`Reader::lend_chunk_hasher`] lent.
    pub fn return_chunk_hasher(&mut self, hasher: Option<Box<xxhash_rust::xxh3::Xxh3>>) {
        if hasher.is_some() {
            self.hasher = hasher;
        }
    }

    /// How the input is compressed, if it is.
    pub fn compression(&self) -> Option<compressed::Compression> {
        self.compression
    }

    /// The hash of what was read so far, when hashing, and how many bytes
    /// that was: the file's, once [`Reader::next_chunk`] returned None.
    pub fn hash(&self) -> Option<(u128, u64)> {
        let read = self.offset + self.carry.len() as u64;
        self.hasher.as_ref().map(|h| (h.digest128(), read))
    }

    pub fn name(&self) -> &Path {
        &self.name
    }

    /// Reads until `carry` holds at least `want` bytes or the input ends.
    fn fill(&mut self, want: usize) -> Result<()> {
        while !self.eof && self.carry.len() < want {
            let need = (want - self.carry.len()).max(64 << 10);
            self.carry.reserve(need);
            let before = self.carry.len();
            // read_to_end on a `take` reads into spare capacity without
            // zeroing it first, and retries interrupted reads.
            let n = match self
                .source
                .by_ref()
                .take(need as u64)
                .read_to_end(&mut self.carry)
            {
                Ok(n) => n,
                // What was decompressed before the damage is in `carry`
                // (read_to_end keeps it) and is framed as the end of the
                // input; the damage is given out after it.
                Err(e) => match compressed::Damaged::of(&e) {
                    Some(d) => {
                        self.damaged = Some(d.clone());
                        0
                    }
                    None => {
                        return Err(e)
                            .with_context(|| format!("cannot read {}", display(&self.name)));
                    }
                },
            };
            if let Some(h) = self.hasher.as_mut().filter(|_| !self.by_chunks) {
                // Still in cache from the read.
                h.update(&self.carry[before..]);
            }
            self.eof = n == 0;
        }
        Ok(())
    }

    /// Gives a finished block's buffer back for the next read, so a run
    /// does not allocate (and fault in) fresh pages for every block.
    pub fn recycle(&mut self, chunk: Chunk) {
        let mut data = chunk.data;
        if chunk.ends.capacity() > self.spare_ends.capacity() {
            self.spare_ends = chunk.ends;
        }
        if data.capacity() > self.spare.capacity() {
            data.clear();
            self.spare = data;
        }
    }

    /// The next block of whole records, padding and broken stretches, or
    /// None at the end of the input. Holds at most the block size plus
    /// twice the maximum record size.
    ///
    /// A compressed input whose stream is damaged gives its blocks up to
    /// the damage, then a [`compressed::Damaged`] error (once; None after
    /// it).
    // Not inlined: `benches/serial.sh` finds the reading stage by name.
    #[inline(never)]
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        let mut want = self.target;
        loop {
            self.fill(want)?;
            if self.carry.is_empty() {
                return match self.damaged.take() {
                    Some(d) => Err(d.into()),
                    None => Ok(None),
                };
            }
            let mut end = 0;
            let mut ends = std::mem::take(&mut self.spare_ends);
            ends.clear();
            let mut more = false;
            while end < self.carry.len() && end < self.target {
                // Within a piece, its end is the end of the input.
                let (stop, eof) = match self.piece_end(self.offset + end as u64) {
                    Some(e) => {
                        let stop = (e - self.offset) as usize;
                        (
                            stop.min(self.carry.len()),
                            self.eof || stop <= self.carry.len(),
                        )
                    }
                    None => (self.carry.len(), self.eof),
                };
                let span = frame(&self.carry[end..stop], eof, self.max_record, self.resyncing);
                self.resyncing = match &span {
                    Span::Broken(..) => true,
                    Span::Record(_) => false,
                    _ => self.resyncing,
                };
                end += match &span {
                    Span::Record(n) | Span::Padding(n) | Span::Broken(n, _) => *n,
                    Span::NeedMore => {
                        more = true;
                        break;
                    }
                };
                ends.push((end, span));
            }
            if end > 0 {
                return Ok(Some(self.take(end, ends)));
            }
            self.spare_ends = ends;
            debug_assert!(more && !self.eof);
            // Not one span yet: read more, up to what `frame` may need.
            want = (self.carry.len() + (64 << 10)).max(self.target);
        }
    }

    fn take(&mut self, end: usize, ends: Vec<(usize, Span)>) -> Chunk {
        let mut next = std::mem::take(&mut self.spare);
        next.clear();
        next.extend_from_slice(&self.carry[end..]);
        let mut data = std::mem::replace(&mut self.carry, next);
        data.truncate(end);
        let chunk = Chunk {
            offset: self.offset,
            data,
            ends,
        };
        self.offset += end as u64;
        chunk
    }
}

/// One framed record: its offset in the file and its complete encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framed<'a> {
    pub offset: u64,
    pub bytes: &'a [u8],
}

/// A break in the framing: the bytes at `offset` cannot be framed as a
/// record (see [`frame`]); they run to where the next record starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenTail<'a> {
    pub offset: u64,
    pub bytes: &'a [u8],
    pub error: FrameError,
}

/// Iterator over the records of one input, in file order: each record,
/// or a broken stretch as an error, after which reading goes on. Padding
/// is skipped.
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    /// File offset of `buf[0]`.
    base: u64,
    /// Spans already framed, in order; framing goes on after the last.
    ends: std::slice::Iter<'a, (usize, Span)>,
    /// See [`frame`].
    resyncing: bool,
}

impl<'a> Records<'a> {
    fn new(buf: &'a [u8], base: u64, ends: &'a [(usize, Span)]) -> Self {
        Records {
            buf,
            pos: 0,
            base,
            ends: ends.iter(),
            resyncing: false,
        }
    }

    fn item(&self, start: usize, end: usize, span: &Span) -> Option<<Self as Iterator>::Item> {
        let offset = self.base + start as u64;
        let bytes = &self.buf[start..end];
        match span {
            Span::Record(_) => Some(Ok(Framed { offset, bytes })),
            Span::Broken(_, error) => Some(Err(BrokenTail {
                offset,
                bytes,
                error: error.clone(),
            })),
            Span::Padding(_) | Span::NeedMore => None,
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Framed<'a>, BrokenTail<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (start, end, span) = match self.ends.next() {
                Some((end, span)) => (self.pos, *end, span.clone()),
                None => {
                    // Framing what no reader framed (an input in memory):
                    // all of it is there, so it runs to the end.
                    if self.pos >= self.buf.len() {
                        return None;
                    }
                    let span = frame(
                        &self.buf[self.pos..],
                        true,
                        MAX_RECORD_BYTES,
                        self.resyncing,
                    );
                    self.resyncing = match &span {
                        Span::Broken(..) => true,
                        Span::Record(_) => false,
                        _ => self.resyncing,
                    };
                    let n = match &span {
                        Span::Record(n) | Span::Padding(n) | Span::Broken(n, _) => *n,
                        Span::NeedMore => return None,
                    };
                    (self.pos, self.pos + n, span)
                }
            };
            self.pos = end;
            if let Some(item) = self.item(start, end, &span) {
                return Some(item);
            }
        }
    }
}

/// Why a record's content could not be decoded (its framing was intact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeFailure(pub String);

impl fmt::Display for DecodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeFailure {}

/// Decodes one framed record: directly when it is in the form nearly every
/// producer writes ([`canonical`]), otherwise with rasn.
pub fn decode(bytes: &[u8]) -> Result<ServiceDetailRecord, DecodeFailure> {
    if let Some(sdr) = canonical::decode(bytes) {
        return Ok(sdr);
    }
    decode_general(bytes)
}

/// [`decode`] into `slot`, reusing the record it holds from an earlier
/// call (its vectors and service part), which spares a record's
/// allocations and moves; the record is left in `slot` either way.
pub fn decode_into<'a>(
    bytes: &[u8],
    slot: &'a mut Option<ServiceDetailRecord>,
) -> Result<&'a mut ServiceDetailRecord, DecodeFailure> {
    let fresh = match slot.as_mut() {
        Some(sdr) => {
            // Not canonical: the direct path would decline again.
            (!canonical::decode_into(bytes, sdr)).then(|| decode_general(bytes))
        }
        None => Some(decode(bytes)),
    };
    if let Some(sdr) = fresh {
        *slot = None;
        *slot = Some(sdr?);
    }
    slot.as_mut()
        .ok_or_else(|| DecodeFailure("no record was decoded".into()))
}

/// Decodes one framed record with rasn, whatever its form: the reference
/// for [`canonical`], and the path of every record that is not canonical.
pub fn decode_general(bytes: &[u8]) -> Result<ServiceDetailRecord, DecodeFailure> {
    tlv::check_record_tree(bytes).map_err(|e| DecodeFailure(format!("malformed encoding: {e}")))?;
    match rasn::ber::decode_with_remainder::<ServiceDetailRecord>(bytes) {
        Ok((sdr, [])) => Ok(sdr),
        Ok((_, rest)) => Err(DecodeFailure(format!(
            "{} unexpected bytes after the record",
            rest.len()
        ))),
        Err(e) => Err(DecodeFailure(one_line(&e.to_string()))),
    }
}

/// rasn's messages span lines and repeat the codec once per nesting level;
/// a fault report wants one line, and every record is BER.
fn one_line(s: &str) -> String {
    s.replace(" (Codec: BER)", "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// SDR file extensions taken from a directory given as input (each also
/// with a compression suffix, see [`compressed::SUFFIXES`]).
pub const SDR_EXTENSIONS: [&str; 2] = ["sdr", "ber"];

/// Event log extensions taken from a directory given as input (see
/// [`events`]): CSV, and JSON lines (each also with a compression suffix).
pub const EVENT_LOG_EXTENSIONS: [&str; 3] = ["csv", "jsonl", "ndjson"];

fn has_extension(path: &Path, known: &[&str]) -> bool {
    compressed::inner_name(path)
        .extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| known.iter().any(|k| k.eq_ignore_ascii_case(x)))
}

/// Whether a path names an event log rather than an SDR file, by its
/// extension (case-insensitive, see [`EVENT_LOG_EXTENSIONS`]) once a
/// compression suffix is taken off: `x.csv.gz` is an event log.
pub fn is_event_log(path: &Path) -> bool {
    has_extension(path, &EVENT_LOG_EXTENSIONS)
}

/// Why an entry of an input directory is not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NotReadWhy {
    /// Directories are not descended into.
    Subdirectory,
    /// A name starting with `.`: a collector's file still being written.
    Hidden,
    /// Neither an SDR file nor an event log by its name.
    UnknownName,
    /// Not a regular file (a FIFO, a socket, a dangling link).
    NotAFile,
    /// An event log in a directory where only SDRs are read (`rerate`:
    /// event logs named directly are read).
    EventLog,
}

/// An entry of an input directory that is not read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotRead {
    pub path: PathBuf,
    pub why: NotReadWhy,
}

/// The inputs named, directories expanded, and what of those directories
/// is not read.
#[derive(Debug, Default)]
pub struct Inputs {
    pub files: Vec<PathBuf>,
    pub not_read: Vec<NotRead>,
}

impl Inputs {
    /// One line per directory and reason, naming the first few entries and
    /// what to do: nothing in an input directory is left out unsaid.
    pub fn warnings(&self) -> Vec<String> {
        not_read_warnings(&self.not_read)
    }
}

/// See [`Inputs::warnings`].
pub fn not_read_warnings(not_read: &[NotRead]) -> Vec<String> {
    const NAMED: usize = 5;
    let mut groups: Vec<(&Path, NotReadWhy, Vec<String>)> = Vec::new();
    for n in not_read {
        let dir = n.path.parent().unwrap_or(Path::new(""));
        let name = n
            .path
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
        match groups.iter_mut().find(|(d, w, _)| *d == dir && *w == n.why) {
            Some((.., names)) => names.push(name),
            None => groups.push((dir, n.why, vec![name])),
        }
    }
    groups
        .into_iter()
        .map(|(dir, why, names)| {
            let n = names.len();
            let (what, hint) = match why {
                NotReadWhy::Subdirectory => (
                    plural(n, "subdirectory", "subdirectories"),
                    "sdrate does not descend into subdirectories: name one as an input to read it",
                ),
                NotReadWhy::Hidden => (
                    plural(n, "hidden file", "hidden files"),
                    "a name starting with `.` is taken to be a file still being written",
                ),
                NotReadWhy::UnknownName => (
                    plural(n, "file", "files"),
                    "not an SDR file or event log by its name (.sdr, .ber, .csv, .jsonl, .ndjson, each also .gz or .zst): name it as an input to read it as SDRs",
                ),
                NotReadWhy::EventLog => (
                    plural(n, "event log", "event logs"),
                    "a directory's event logs are left out: name them to re-rate their sessions",
                ),
                NotReadWhy::NotAFile => (
                    plural(n, "entry that is not a regular file", "entries that are not regular files"),
                    "FIFOs, sockets and dangling links are never read from a directory",
                ),
            };
            let mut listed = names.iter().take(NAMED).cloned().collect::<Vec<_>>().join(", ");
            if n > NAMED {
                listed.push_str(&format!(", and {} more", n - NAMED));
            }
            let dir = dir.display().to_string();
            let dir = if dir.ends_with('/') { dir } else { format!("{dir}/") };
            format!("{dir}: {what} not read ({listed}): {hint}")
        })
        .collect()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Expands directories into the SDR files and event logs they hold (by
/// extension, see [`SDR_EXTENSIONS`] and [`EVENT_LOG_EXTENSIONS`]; not
/// recursive; hidden files not read), sorted so a run's input order is
/// stable, and notes every entry not read. Files named explicitly are
/// always taken.
pub fn list_inputs(paths: &[PathBuf]) -> Result<Inputs> {
    let mut out = Inputs::default();
    for p in paths {
        if p.as_os_str() != "-" && p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .with_context(|| format!("cannot list {}", p.display()))?;
            entries.sort();
            for e in entries {
                let name = e.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let why = if e.is_dir() {
                    Some(NotReadWhy::Subdirectory)
                } else if name.starts_with('.') {
                    Some(NotReadWhy::Hidden)
                } else if !e.is_file() {
                    Some(NotReadWhy::NotAFile)
                } else if !(has_extension(&e, &SDR_EXTENSIONS) || is_event_log(&e)) {
                    Some(NotReadWhy::UnknownName)
                } else {
                    None
                };
                match why {
                    Some(why) => out.not_read.push(NotRead { path: e, why }),
                    None => out.files.push(e),
                }
            }
        } else {
            out.files.push(p.clone());
        }
    }
    Ok(out)
}

/// The files of [`list_inputs`], for callers that say nothing of what is
/// not read.
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    Ok(list_inputs(paths)?.files)
}
