//! Arbitrary bytes through the streaming reader that `rate` reads files
//! and standard input with, handed over in fuzz-chosen pieces, in small
//! blocks and with a small maximum record size, so that every bound of the
//! reader is reached with little input.
//!
//! The input starts with a header: the maximum record size (1 KiB plus 64
//! bytes per unit), the block size (1 byte plus 256 per unit), a repeat
//! count r and a prefix length p, the number of piece sizes (mod 8) and the
//! piece sizes (see `pieces.rs`). The SDR file is the rest's first p bytes,
//! then the others r + 1 times (at most 256 KiB in all), so that a short
//! input can make a long one. Checks: records, padding runs and broken
//! stretches are contiguous and cover the input exactly once; each is what
//! it claims to be; the reader holds at most a block or twice the maximum
//! record (or a padding step of 64 KiB), plus one read of 64 KiB; the hash
//! of what was read is that of the input; and the framing does not depend
//! on how the input was cut into reads and blocks.
#![no_main]

#[path = "pieces.rs"]
mod pieces;

use libfuzzer_sys::fuzz_target;
use sdrate::read::{Reader, tlv};

/// What one stretch of the input was framed as.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Record,
    Padding,
    Broken,
}

/// Reads `data` through a [`Reader`] and returns its stretches (offset,
/// length, kind) in order, padding runs cut by blocks joined, after
/// checking each block.
fn stretches(data: &[u8], shape: &[u8], target: usize, max: usize) -> Vec<(u64, u64, Kind)> {
    let source = Box::new(pieces::Pieces::new(data, shape));
    let mut reader = Reader::from_source("fuzz", source, target)
        .max_record(max)
        .hashing();
    let mut out: Vec<(u64, u64, Kind)> = Vec::new();
    let mut next = 0u64;
    while let Some(chunk) = reader
        .next_chunk()
        .expect("a reader over memory never fails")
    {
        assert_eq!(chunk.offset, next, "blocks are contiguous");
        assert!(!chunk.data.is_empty(), "a block holds something");
        // Everything read but not handed out before this block, plus the
        // block: what the reader held.
        let (_, read) = reader.hash().expect("hashing");
        let held = read - chunk.offset;
        let bound = (target.max(2 * max).max(64 << 10) + (64 << 10)) as u64;
        assert!(held <= bound, "held {held} bytes, more than {bound}");
        let mut spans: Vec<(u64, u64, Kind)> = Vec::new();
        for item in chunk.records() {
            match item {
                Ok(rec) => {
                    let n = rec.bytes.len();
                    assert!(n <= max, "a record of {n} bytes, longer than {max}");
                    assert_eq!(
                        tlv::element_len(rec.bytes),
                        Ok(n),
                        "a record is one element"
                    );
                    spans.push((rec.offset, n as u64, Kind::Record));
                }
                Err(b) => {
                    let n = b.bytes.len();
                    assert!(n > 0 && n <= max, "a broken stretch of {n} bytes");
                    spans.push((b.offset, n as u64, Kind::Broken));
                }
            }
        }
        for (offset, length) in chunk.padding() {
            let at = (offset - chunk.offset) as usize;
            let run = &chunk.data[at..at + length as usize];
            assert!(length > 0);
            assert!(
                run.iter().all(|b| *b == run[0]) && (run[0] == 0 || run[0] == 0xFF),
                "padding is one fill byte"
            );
            spans.push((offset, length, Kind::Padding));
        }
        spans.sort_by_key(|s| s.0);
        for (offset, length, kind) in spans {
            assert_eq!(offset, next, "stretches are contiguous");
            next += length;
            match out.last_mut() {
                // A run of one fill byte that a block boundary cut in two
                // is one run.
                Some(last)
                    if kind == Kind::Padding
                        && last.2 == Kind::Padding
                        && data[last.0 as usize] == data[offset as usize] =>
                {
                    last.1 += length;
                }
                _ => out.push((offset, length, kind)),
            }
        }
        assert_eq!(
            next,
            chunk.offset + chunk.data.len() as u64,
            "spans cover the block"
        );
        reader.recycle(chunk);
    }
    assert_eq!(next, data.len() as u64, "the stretches cover the input");
    let (digest, read) = reader.hash().expect("hashing");
    assert_eq!(read, data.len() as u64);
    assert_eq!(digest, xxhash_rust::xxh3::xxh3_128(data));
    out
}

fuzz_target!(|input: &[u8]| {
    let [m, t, r, p, k, rest @ ..] = input else {
        return;
    };
    let k = usize::from(*k % 8).min(rest.len());
    let (shape, rest) = rest.split_at(k);
    let (prefix, body) = rest.split_at(usize::from(*p).min(rest.len()));
    let mut data = prefix.to_vec();
    for _ in 0..=*r {
        if data.len() + body.len() > 256 << 10 {
            break;
        }
        data.extend_from_slice(body);
    }
    let max = (1 << 10) + usize::from(*m) * 64;
    let target = 1 + usize::from(*t) * 256;
    let cut = stretches(&data, shape, target, max);
    // All of it in one read and one block: the same framing.
    let whole = stretches(&data, &[], data.len() + 1, max);
    assert_eq!(cut, whole, "the framing depends on how the input was read");
});
