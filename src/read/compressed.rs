//! Compressed inputs: gzip and zstd files, read as streams.
//!
//! Collectors deliver their spools compressed (`CDR0042.sdr.gz`,
//! `events.jsonl.zst`). An input is recognised as compressed by its first
//! bytes, whatever its name: gzip by `1f 8b`, zstd by `28 b5 2f fd`. An
//! SDR starts with `61` and an event log with text, so neither can be
//! taken for the other. The bytes are decompressed as they are read into
//! the same block reader as a plain file ([`super::Reader`]), never whole
//! into memory: what a compressed input adds to the reader's bound is the
//! decoder's state, 32 KiB of gzip window and a 32 KiB read buffer, or
//! the zstd frame's window, accepted up to [`MAX_ZSTD_WINDOW`] (8 MiB, the
//! largest window `zstd` writes at levels 1 to 19 and the least the zstd
//! format asks every decoder to support; `--long` and `--ultra` frames ask
//! for up to 128 MiB and are refused, naming the window).
//!
//! - **Names.** Only the kind of input (SDRs or event log, CSV or JSON
//!   lines) is decided by the name, with a compression suffix
//!   ([`SUFFIXES`]) taken off first: `x.csv.gz` is a CSV event log,
//!   `x.sdr.zst` and a gzip file named `x.sdr` are SDR files.
//! - **Several members.** Concatenated gzip members (`cat a.gz b.gz`, or a
//!   collector appending a member per batch) and concatenated zstd frames
//!   are one stream; zstd's skippable frames are skipped.
//! - **Offsets** of records, faults, `faults-index.csv`, `broken.csv` and
//!   `explain --offset` are offsets in the decompressed stream of the
//!   file: what `zcat FILE | tail -c +OFFSET+1` starts with.
//! - **Identity.** The consumed-input record of the state directory and
//!   the manifest name the file as it is on disk: its size and hash are
//!   those of the compressed bytes. (So a compressed input is hashed before
//!   it is rated, a read of a fifth to a tenth of the bytes it
//!   decompresses to, rather than by the read that rates it.)
//! - **Damage.** A stream that ends early (a file picked up while its
//!   collector still wrote it) or is corrupt (a bad checksum, a bad block)
//!   stops being read where the decoder fails: what was decompressed before
//!   is read as any input is (its records rated, a record cut short kept as
//!   a broken stretch, see [`super::frame`]), and the damage itself is a
//!   [`Damaged`] error that names the file, the decompressed offset reached
//!   and the decoder's reason. A rating run makes it a fault of its own
//!   (`damagedCompression`), so one damaged file does not stop a night's
//!   billing; the producer delivers the file again, and its records
//!   already billed are caught as duplicates. An I/O error reading the file
//!   itself stays an I/O error.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

/// How an input is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression the first bytes of an input announce.
    pub fn sniff(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

/// File name suffixes of compressed files, taken off a name before its
/// kind is decided.
pub const SUFFIXES: [&str; 3] = ["gz", "zst", "zstd"];

/// The largest zstd window accepted (see the module documentation).
pub const MAX_ZSTD_WINDOW: u64 = 8 << 20;

/// A compressed stream that cannot be read on: the decompressed bytes
/// before `offset` were read; nothing after it can be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{file}: {compression} stream damaged at offset {offset} of its decompressed stream: {cause}; the rest of the file cannot be read (have it delivered again)"
)]
pub struct Damaged {
    pub file: String,
    pub compression: Compression,
    /// Decompressed bytes read before the damage.
    pub offset: u64,
    /// The decoder's reason.
    pub cause: String,
}

impl Damaged {
    /// The damage an error reading a decompressing source carries, if it
    /// is one.
    pub fn of(e: &io::Error) -> Option<&Damaged> {
        e.get_ref().and_then(|e| e.downcast_ref::<Damaged>())
    }
}

/// The name of `path` without a compression suffix: what decides the kind
/// of input (`x.csv.gz` is a CSV file).
pub fn inner_name(path: &Path) -> PathBuf {
    let compressed = path
        .extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| SUFFIXES.iter().any(|s| s.eq_ignore_ascii_case(x)));
    if compressed {
        path.with_extension("")
    } else {
        path.to_path_buf()
    }
}

/// Opens a file, or standard input for `-`, decompressing it when its
/// first bytes say it is compressed.
pub fn open(path: &Path) -> Result<(Box<dyn Read + Send>, Option<Compression>)> {
    let (name, source): (String, Box<dyn Read + Send>) = if path.as_os_str() == "-" {
        ("standard input".into(), Box::new(io::stdin()))
    } else {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        (path.display().to_string(), Box::new(file))
    };
    let (head, source) = peek(source).with_context(|| format!("cannot read {name}"))?;
    let Some(kind) = Compression::sniff(&head) else {
        return Ok((source, None));
    };
    Ok((decoder(name, kind, source), Some(kind)))
}

/// The compression of a file by its first bytes (None for `-`, which
/// cannot be read twice).
pub fn of_file(path: &Path) -> Result<Option<Compression>> {
    if path.as_os_str() == "-" {
        return Ok(None);
    }
    let mut head = [0u8; 4];
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let n = read_up_to(&mut file, &mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Compression::sniff(&head[..n]))
}

/// The first (up to) four bytes of `source`, and a source that still
/// yields them.
fn peek(mut source: Box<dyn Read + Send>) -> io::Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = [0u8; 4];
    let n = read_up_to(&mut source, &mut head)?;
    let head = head[..n].to_vec();
    Ok((head.clone(), Box::new(io::Cursor::new(head).chain(source))))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A decoder of `kind` over `source`, whose errors name `file`.
pub fn decoder(
    file: String,
    kind: Compression,
    source: Box<dyn Read + Send>,
) -> Box<dyn Read + Send> {
    let failed = Arc::new(AtomicBool::new(false));
    let disk = Disk {
        inner: source,
        failed: failed.clone(),
    };
    let inner: Box<dyn Read + Send> = match kind {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(disk)),
        Compression::Zstd => Box::new(Zstd {
            source: BufReader::with_capacity(64 << 10, disk),
            frame: FrameDecoder::new(),
            in_frame: false,
        }),
    };
    Box::new(Decoded {
        inner,
        file,
        kind,
        offset: 0,
        disk_failed: failed,
        damaged: None,
    })
}

/// The file under a decoder: notes whether an error came from reading the
/// file itself, which stays an I/O error, rather than from decoding it.
struct Disk {
    inner: Box<dyn Read + Send>,
    failed: Arc<AtomicBool>,
}

impl Read for Disk {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if e.kind() != io::ErrorKind::Interrupted {
                self.failed.store(true, Ordering::Relaxed);
            }
        })
    }
}

/// A decoder's output, counted, with its failures made [`Damaged`].
struct Decoded {
    inner: Box<dyn Read + Send>,
    file: String,
    kind: Compression,
    /// Decompressed bytes handed out.
    offset: u64,
    disk_failed: Arc<AtomicBool>,
    /// Once damaged, every read fails the same way.
    damaged: Option<Damaged>,
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(d) = &self.damaged {
            return Err(io::Error::new(io::ErrorKind::InvalidData, d.clone()));
        }
        match self.inner.read(buf) {
            Ok(n) => {
                self.offset += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) if self.disk_failed.load(Ordering::Relaxed) => Err(e),
            Err(e) => {
                let cause = match e.kind() {
                    io::ErrorKind::UnexpectedEof => {
                        "the file ends inside the compressed stream (cut short?)".to_owned()
                    }
                    _ => e.to_string(),
                };
                let d = Damaged {
                    file: self.file.clone(),
                    compression: self.kind,
                    offset: self.offset,
                    cause,
                };
                self.damaged = Some(d.clone());
                Err(io::Error::new(io::ErrorKind::InvalidData, d))
            }
        }
    }
}

/// Concatenated zstd frames as one stream, skippable frames skipped, each
/// frame's checksum checked, windows bounded by [`MAX_ZSTD_WINDOW`].
struct Zstd<R: BufRead> {
    source: R,
    frame: FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> Read for Zstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.in_frame {
                while self.frame.can_collect() == 0 && !self.frame.is_finished() {
                    self.frame
                        .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBlocks(1))
                        .map_err(frame_error)?;
                }
                let n = self.frame.read(buf)?;
                if n > 0 {
                    return Ok(n);
                }
                if let (Some(stored), Some(computed)) = (
                    self.frame.get_checksum_from_data(),
                    self.frame.get_calculated_checksum(),
                ) && stored != computed
                {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "frame checksum {stored:08x} does not match the content's {computed:08x}"
                        ),
                    ));
                }
                self.in_frame = false;
            }
            if self.source.fill_buf()?.is_empty() {
                return Ok(0);
            }
            self.frame.set_max_window_size(MAX_ZSTD_WINDOW);
            match self.frame.reset(&mut self.source) {
                Ok(()) => self.in_frame = true,
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped = io::copy(
                        &mut (&mut self.source).take(u64::from(length)),
                        &mut io::sink(),
                    )?;
                    if skipped < u64::from(length) {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(e) => return Err(frame_error(e)),
            }
        }
    }
}

fn frame_error(e: FrameDecoderError) -> io::Error {
    match e {
        FrameDecoderError::WindowSizeTooBig { requested, max } => io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a zstd frame asks for a window of {} KiB, more than the {} KiB sdrate accepts to keep memory bounded (compress without --long or --ultra)",
                requested >> 10,
                max >> 10
            ),
        ),
        // A read that ran out of input inside a frame: ruzstd keeps the
        // io::Error inside its own error types, whose chain of sources
        // does not always reach it, but whose debug form names its kind.
        e if format!("{e:?}").contains("UnexpectedEof") => io::ErrorKind::UnexpectedEof.into(),
        e => io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zst(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    fn decode_all(kind: Compression, bytes: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        decoder("t".into(), kind, Box::new(io::Cursor::new(bytes))).read_to_end(&mut out)?;
        Ok(out)
    }

    fn text(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect()
    }

    #[test]
    fn sniffs_by_the_first_bytes() {
        assert_eq!(Compression::sniff(&gz(b"x")), Some(Compression::Gzip));
        assert_eq!(Compression::sniff(&zst(b"x")), Some(Compression::Zstd));
        assert_eq!(Compression::sniff(b"\x61\x82"), None);
        assert_eq!(Compression::sniff(b"\x1f"), None);
        assert_eq!(Compression::sniff(b""), None);
    }

    #[test]
    fn the_kind_is_named_without_the_compression_suffix() {
        assert_eq!(inner_name(Path::new("d/x.csv.gz")), Path::new("d/x.csv"));
        assert_eq!(inner_name(Path::new("x.jsonl.ZST")), Path::new("x.jsonl"));
        assert_eq!(inner_name(Path::new("x.sdr")), Path::new("x.sdr"));
        assert_eq!(inner_name(Path::new("x.gz")), Path::new("x"));
    }

    #[test]
    fn concatenated_members_and_frames_are_one_stream() {
        let (a, b) = (text(1000), text(3000));
        let whole: Vec<u8> = a.iter().chain(&b).copied().collect();
        let two_gz = [gz(&a), gz(&b)].concat();
        assert_eq!(decode_all(Compression::Gzip, two_gz).unwrap(), whole);
        // A skippable frame between two frames.
        let skippable = [&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0][..], b"abc"].concat();
        let two_zst = [zst(&a), skippable, zst(&b)].concat();
        assert_eq!(decode_all(Compression::Zstd, two_zst).unwrap(), whole);
    }

    #[test]
    fn a_cut_stream_is_damage_after_what_decoded() {
        let data = text(200_000);
        for kind in [Compression::Gzip, Compression::Zstd] {
            let whole = match kind {
                Compression::Gzip => gz(&data),
                Compression::Zstd => zst(&data),
            };
            let cut = whole[..whole.len() * 2 / 3].to_vec();
            let mut d = decoder("cut.gz".into(), kind, Box::new(io::Cursor::new(cut)));
            let mut out = Vec::new();
            let e = d.read_to_end(&mut out).unwrap_err();
            let damaged = Damaged::of(&e).unwrap_or_else(|| panic!("{kind}: {e}"));
            assert_eq!(damaged.offset, out.len() as u64, "{kind}");
            assert!(out.len() > data.len() / 4, "{kind}: {}", out.len());
            assert_eq!(out[..], data[..out.len()], "{kind}");
            assert!(e.to_string().contains("cut.gz"), "{e}");
            // It stays damaged.
            assert!(Damaged::of(&d.read(&mut [0; 8]).unwrap_err()).is_some());
        }
    }

    #[test]
    fn a_corrupt_checksum_is_damage() {
        let mut bytes = gz(&text(100));
        let n = bytes.len();
        bytes[n - 6] ^= 0xff; // in the CRC-32 of the trailer
        let e = decode_all(Compression::Gzip, bytes).unwrap_err();
        assert!(Damaged::of(&e).is_some(), "{e}");
    }

    #[test]
    fn a_disk_error_stays_an_io_error() {
        struct Failing(Vec<u8>, usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.1 >= self.0.len() / 2 {
                    return Err(io::Error::other("disk on fire"));
                }
                let n = buf.len().min(self.0.len() / 2 - self.1).min(100);
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let bytes = gz(&text(50_000));
        let mut d = decoder("f".into(), Compression::Gzip, Box::new(Failing(bytes, 0)));
        let e = d.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(Damaged::of(&e).is_none(), "{e}");
        assert!(e.to_string().contains("disk on fire"), "{e}");
    }
}
