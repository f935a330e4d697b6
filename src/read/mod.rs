//! Reading SDR files: framing records, decoding them, and turning anything
//! malformed into a fault that keeps its raw bytes for recycling.

pub mod tlv;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::sdr::ServiceDetailRecord;
pub use tlv::FrameError;

/// The bytes of one input, memory-mapped for files so that no copy is made.
pub struct Input {
    name: PathBuf,
    data: Data,
}

enum Data {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Input {
    /// Opens a file, or standard input for `-`.
    pub fn open(path: &Path) -> Result<Self> {
        if path.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
            return Ok(Input::from_bytes("-", buf));
        }
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let len = file
            .metadata()
            .with_context(|| format!("cannot stat {}", path.display()))?
            .len();
        // mmap of an empty file fails on some platforms; nothing to map anyway.
        let data = if len == 0 {
            Data::Owned(Vec::new())
        } else {
            // SAFETY: the map is read-only; sdrate never writes its inputs, and an
            // input truncated underneath a run is an operator error that can at
            // worst raise SIGBUS, as with any mmap-based reader.
            Data::Mapped(
                unsafe { memmap2::Mmap::map(&file) }
                    .with_context(|| format!("cannot map {}", path.display()))?,
            )
        };
        Ok(Input {
            name: path.to_path_buf(),
            data,
        })
    }

    pub fn from_bytes(name: impl Into<PathBuf>, bytes: Vec<u8>) -> Self {
        Input {
            name: name.into(),
            data: Data::Owned(bytes),
        }
    }

    pub fn name(&self) -> &Path {
        &self.name
    }

    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Mapped(m) => m,
            Data::Owned(v) => v,
        }
    }

    /// The records of this input, in file order.
    pub fn records(&self) -> Records<'_> {
        Records {
            buf: self.bytes(),
            pos: 0,
        }
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
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Framed<'a>, BrokenTail<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.pos..];
        // Block-oriented producers pad the last block with zeros.
        if rest.iter().all(|b| *b == 0) {
            return None;
        }
        let offset = self.pos as u64;
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

/// Decodes one framed record.
pub fn decode(bytes: &[u8]) -> Result<ServiceDetailRecord, DecodeFailure> {
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

/// File extensions taken from a directory given as input.
pub const SDR_EXTENSIONS: [&str; 2] = ["sdr", "ber"];

/// Expands directories into the SDR files they hold (by extension, see
/// [`SDR_EXTENSIONS`]; not recursive; hidden files skipped), sorted so a
/// run's input order is stable. Files named explicitly are always taken.
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
                let known = e
                    .extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| SDR_EXTENSIONS.iter().any(|k| k.eq_ignore_ascii_case(x)));
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
