//! Reading SDR files: framing records, decoding them, and turning anything
//! malformed into a fault that keeps its raw bytes for recycling.

pub mod events;
pub mod tlv;

use std::fmt;
use std::fs::File;
use std::io::Read;
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
    /// Reads a file, or standard input for `-`, into memory.
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
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Box::new(file))
}

/// Default size of the blocks a [`Reader`] hands out: small enough that a
/// block, its decoded records and their outputs mostly stay in a core's L2
/// cache (cachegrind, 2 MiB cache: 30 % fewer misses than 2 MiB blocks),
/// large enough that many threads share each block's records.
pub const CHUNK_BYTES: usize = 512 << 10;

/// Streams one input in blocks of whole records, so memory stays bounded
/// by the block size (or the largest record) whatever the file size.
/// Unlike a memory map, the pages read do not stay resident.
pub struct Reader {
    name: PathBuf,
    source: Box<dyn Read + Send>,
    /// Bytes read but not yet handed out; `carry[0]` is at file `offset`.
    carry: Vec<u8>,
    /// A finished block's buffer, reused for the next `carry`.
    spare: Vec<u8>,
    /// The record ends of a finished block, kept for the next.
    spare_ends: Vec<usize>,
    offset: u64,
    eof: bool,
    target: usize,
    /// xxh3-128 of every byte read, when asked for ([`Reader::hashing`]).
    hasher: Option<Box<xxhash_rust::xxh3::Xxh3>>,
}

/// A block of an input: whole records (and, last in a file, possibly
/// zero padding or a broken tail), starting at file offset `offset`.
pub struct Chunk {
    pub offset: u64,
    pub data: Vec<u8>,
    /// Where each record [`Reader::next_chunk`] framed ends, so that
    /// [`Chunk::records`] does not frame them again.
    ends: Vec<usize>,
}

impl Chunk {
    /// The records of this block, with their offsets in the file.
    pub fn records(&self) -> Records<'_> {
        Records::new(&self.data, self.offset, &self.ends)
    }
}

impl Reader {
    /// Opens a file, or standard input for `-`.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self::from_source(path, open_source(path)?, CHUNK_BYTES))
    }

    /// A reader over any byte source, handing out blocks of about `target`
    /// bytes.
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
            hasher: None,
        }
    }

    /// Hashes every byte as it is read (xxh3-128, as
    /// `write::publish::hash_file` does), so that a file whose hash is only
    /// needed once it is rated is not read twice.
    pub fn hashing(mut self) -> Self {
        self.hasher = Some(Box::default());
        self
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
            let n = self
                .source
                .by_ref()
                .take(need as u64)
                .read_to_end(&mut self.carry)
                .with_context(|| format!("cannot read {}", display(&self.name)))?;
            if let Some(h) = self.hasher.as_mut() {
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

    /// The next block of whole records, or None at the end of the input.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        let mut want = self.target;
        loop {
            self.fill(want)?;
            if self.carry.is_empty() {
                return Ok(None);
            }
            // Frame whole records up to the target size.
            let mut end = 0;
            let mut ends = std::mem::take(&mut self.spare_ends);
            ends.clear();
            while end < self.carry.len() && end < self.target {
                let rest = &self.carry[end..];
                // Zeros are padding only at the very end of the input,
                // which is not known yet; a broken or unfinished record
                // needs more bytes too.
                if rest[0] == 0 && rest.iter().all(|b| *b == 0) {
                    break;
                }
                match tlv::element_len(rest) {
                    Ok(n) => {
                        end += n;
                        ends.push(end);
                    }
                    Err(_) => break,
                }
            }
            if end > 0 {
                return Ok(Some(self.take(end, ends)));
            }
            if self.eof {
                // Padding, or a broken tail that runs to the end of the
                // input: one last block, which `records()` reports.
                let all = self.carry.len();
                return Ok(Some(self.take(all, ends)));
            }
            self.spare_ends = ends;
            // Not one whole record yet: read more, doubling the block.
            want = self.carry.len().saturating_mul(2).max(self.target);
        }
    }

    fn take(&mut self, end: usize, ends: Vec<usize>) -> Chunk {
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

/// A break in the framing: the outer length of the record at `offset` is
/// unusable, so the rest of the file (`bytes`) cannot be split into records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenTail<'a> {
    pub offset: u64,
    pub bytes: &'a [u8],
    pub error: FrameError,
}

/// Iterator over the records of one input. After a framing error it yields
/// that error once, carrying every remaining byte, and stops.
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    /// File offset of `buf[0]`.
    base: u64,
    /// Ends of the records already framed, in order; framing goes on
    /// after the last of them.
    ends: std::slice::Iter<'a, usize>,
}

impl<'a> Records<'a> {
    fn new(buf: &'a [u8], base: u64, ends: &'a [usize]) -> Self {
        Records {
            buf,
            pos: 0,
            base,
            ends: ends.iter(),
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Framed<'a>, BrokenTail<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(&end) = self.ends.next() {
            let offset = self.base + self.pos as u64;
            let bytes = &self.buf[self.pos..end];
            self.pos = end;
            return Some(Ok(Framed { offset, bytes }));
        }
        let rest = &self.buf[self.pos..];
        // Block-oriented producers pad the last block with zeros.
        if rest.iter().all(|b| *b == 0) {
            return None;
        }
        let offset = self.base + self.pos as u64;
        match tlv::element_len(rest) {
            Ok(n) => {
                self.pos += n;
                Some(Ok(Framed {
                    offset,
                    bytes: &rest[..n],
                }))
            }
            Err(error) => {
                self.pos = self.buf.len();
                Some(Err(BrokenTail {
                    offset,
                    bytes: rest,
                    error,
                }))
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

/// SDR file extensions taken from a directory given as input.
pub const SDR_EXTENSIONS: [&str; 2] = ["sdr", "ber"];

/// Event log extensions taken from a directory given as input (see
/// [`events`]): CSV, and JSON lines.
pub const EVENT_LOG_EXTENSIONS: [&str; 3] = ["csv", "jsonl", "ndjson"];

fn has_extension(path: &Path, known: &[&str]) -> bool {
    path.extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| known.iter().any(|k| k.eq_ignore_ascii_case(x)))
}

/// Whether a path names an event log rather than an SDR file, by its
/// extension (case-insensitive, see [`EVENT_LOG_EXTENSIONS`]).
pub fn is_event_log(path: &Path) -> bool {
    has_extension(path, &EVENT_LOG_EXTENSIONS)
}

/// Expands directories into the SDR files and event logs they hold (by
/// extension, see [`SDR_EXTENSIONS`] and [`EVENT_LOG_EXTENSIONS`]; not
/// recursive; hidden files skipped), sorted so a run's input order is
/// stable. Files named explicitly are always taken.
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() != "-" && p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .with_context(|| format!("cannot list {}", p.display()))?;
            entries.retain(|e| {
                let name = e.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let known = has_extension(e, &SDR_EXTENSIONS) || is_event_log(e);
                e.is_file() && known && !name.starts_with('.')
            });
            entries.sort();
            out.extend(entries);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}
