//! The streaming reader hands out the same records, offsets and faults as
//! reading the whole file at once, whatever the block size and however the
//! source splits its reads.

use std::io::Read;

use chrono::DateTime;
use proptest::prelude::*;
use sdrate::generate::Generator;
use sdrate::read::{Input, Reader};
use sdrate::sdr::Timestamp;

/// A source that returns at most `step` bytes per read, as pipes do.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// What a reader yields, flattened: (offset, bytes, framing error text).
type Item = (u64, Vec<u8>, Option<String>);

fn whole(data: &[u8]) -> Vec<Item> {
    Input::from_bytes("x", data.to_vec())
        .records()
        .map(|r| match r {
            Ok(f) => (f.offset, f.bytes.to_vec(), None),
            Err(b) => (b.offset, b.bytes.to_vec(), Some(b.error.to_string())),
        })
        .collect()
}

fn streamed(data: &[u8], target: usize, step: usize) -> Vec<Item> {
    let source = Trickle {
        data: data.to_vec(),
        pos: 0,
        step,
    };
    let mut reader = Reader::from_source("x", Box::new(source), target);
    let mut items = Vec::new();
    let mut expected_offset = 0;
    while let Some(chunk) = reader.next_chunk().unwrap() {
        // Blocks are contiguous and never empty.
        assert_eq!(chunk.offset, expected_offset);
        assert!(!chunk.data.is_empty());
        expected_offset += chunk.data.len() as u64;
        let before = items.len();
        items.extend(chunk.records().map(|r| match r {
            Ok(f) => (f.offset, f.bytes.to_vec(), None),
            Err(b) => (b.offset, b.bytes.to_vec(), Some(b.error.to_string())),
        }));
        // The rating engine's walk of a block (`Chunk::spans_into`) finds
        // the same records and broken stretches as the iterator.
        let (mut spans, mut broken) = (Vec::new(), Vec::new());
        chunk.spans_into(&mut spans, &mut broken);
        let mut by_ranges: Vec<Item> = spans
            .into_iter()
            .map(|r| (chunk.offset + r.start as u64, chunk.data[r].to_vec(), None))
            .chain(broken.into_iter().map(|(r, e)| {
                let text = Some(e.to_string());
                (chunk.offset + r.start as u64, chunk.data[r].to_vec(), text)
            }))
            .collect();
        by_ranges.sort_by_key(|i| i.0);
        assert_eq!(by_ranges, items[before..]);
    }
    assert_eq!(expected_offset, data.len() as u64);
    items
}

fn records(seed: u64, count: usize) -> Vec<u8> {
    let start = Timestamp(DateTime::parse_from_rfc3339("2026-11-21T00:00:00+01:00").unwrap());
    Generator::new(seed, start)
        .take(count)
        .flat_map(|sdr| rasn::ber::encode(&sdr).unwrap())
        .collect()
}

#[test]
fn blocks_end_on_record_boundaries() {
    let data = records(3, 40);
    let want = whole(&data);
    assert_eq!(want.len(), 40);
    for target in [1, 100, 1000, 4096, 1 << 20] {
        assert_eq!(streamed(&data, target, 1 << 16), want, "target {target}");
    }
}

#[test]
fn padding_at_the_end_is_not_a_record() {
    let mut data = records(4, 3);
    data.extend([0u8; 500]);
    let got = streamed(&data, 64, 7);
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|i| i.2.is_none()));
}

#[test]
fn a_broken_tail_carries_the_rest_of_the_input() {
    let mut data = records(5, 5);
    let cut = data.len() - 10;
    data.truncate(cut);
    let got = streamed(&data, 128, 13);
    assert_eq!(got, whole(&data));
    let last = got.last().unwrap();
    assert!(
        last.2.as_deref().unwrap().starts_with("truncated"),
        "{last:?}"
    );
    assert_eq!(last.0 as usize + last.1.len(), data.len());
}

#[test]
fn empty_input_has_no_blocks() {
    assert!(streamed(&[], 16, 1).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any damage anywhere: the stream agrees with the whole-file reader.
    #[test]
    fn streaming_equals_whole_file(
        seed in 0u64..50,
        count in 1usize..12,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        zeros in 0usize..40,
        target in 1usize..3000,
        step in 1usize..700,
    ) {
        let mut data = records(seed, count);
        for (at, byte) in flips {
            let i = at.index(data.len());
            data[i] = byte;
        }
        if let Some(c) = cut {
            let keep = c.index(data.len());
            data.truncate(keep);
        }
        data.extend(std::iter::repeat_n(0u8, zeros));
        prop_assert_eq!(streamed(&data, target, step), whole(&data));
    }
}

/// A reader asked to hash hashes every byte it reads, padding included,
/// as hashing the file first does (the manifest's input hash, which the
/// run id is made of), however the source splits its reads.
#[test]
fn a_hashing_reader_hashes_what_hashing_the_file_hashes() {
    let mut data = records(5, 300);
    data.extend([0u8; 10]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.sdr");
    std::fs::write(&path, &data).unwrap();
    let want = sdrate::state::publish::hash_file(&path).unwrap();
    assert_eq!(
        want.hash,
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&data))
    );
    for (target, step) in [(1, 7), (1000, 4096), (1 << 20, 1 << 20)] {
        let source = || {
            Box::new(Trickle {
                data: data.clone(),
                pos: 0,
                step,
            })
        };
        let mut reader = Reader::from_source("x", source(), target).hashing();
        while let Some(chunk) = reader.next_chunk().unwrap() {
            reader.recycle(chunk);
        }
        let (hash, size) = reader.hash().unwrap();
        assert_eq!(format!("{hash:032x}"), want.hash, "target {target}");
        assert_eq!(size, data.len() as u64);
        // Hashed by its chunks, as the block engine does, the hasher lent
        // out while the reader reads on: the same hash.
        let mut reader = Reader::from_source("x", source(), target).hashing_by_chunks();
        let mut hasher = reader.lend_chunk_hasher();
        assert!(hasher.is_some() && reader.lend_chunk_hasher().is_none());
        while let Some(chunk) = reader.next_chunk().unwrap() {
            hasher.as_mut().unwrap().update(&chunk.data);
            reader.recycle(chunk);
        }
        reader.return_chunk_hasher(hasher);
        let (hash, size) = reader.hash().unwrap();
        assert_eq!(
            format!("{hash:032x}"),
            want.hash,
            "by chunks, target {target}"
        );
        assert_eq!(size, data.len() as u64);
    }
    // Not asked: no hash.
    let mut plain = Reader::open(&path).unwrap();
    while plain.next_chunk().unwrap().is_some() {}
    assert_eq!(plain.hash(), None);
}
