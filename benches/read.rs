//! Read-path throughput: how many SDRs per second one core frames and
//! decodes.
//!
//!   cargo bench --bench read
//!
//! The input is the generator's realistic mix, 100,000 records with seed 1
//! (the same bytes as `sdrate generate --count 100000 --seed 1`). Every
//! benchmark is single-threaded and counts one element per record, so
//! criterion reports records/s; `read_bytes` repeats the file benchmark with
//! byte throughput to give MB/s. Decoded records are dropped inside the
//! measured loop, as a pipeline would drop them after use.
//!
//! * `read/decode_in_memory`: `read::decode` over records already framed and
//!   held in one buffer: the cost of rasn decoding alone.
//! * `read/frame_file`: `Reader` (2 MiB blocks of whole records) over the
//!   file on disk, no decoding: the cost of finding record boundaries.
//! * `read/frame_decode_file`: both, as `sdrate inspect` and the rating
//!   pipeline read a file.
//!
//! Results and the machine they came from are in BENCHMARKS.md.

#[global_allocator]
static GLOBAL: sdrate::allocator::Allocator = sdrate::allocator::Allocator;

use std::hint::black_box;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use chrono::DateTime;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use sdrate::generate::Generator;
use sdrate::read::{self, Reader};
use sdrate::sdr::Timestamp;

const RECORDS: usize = 100_000;
const SEED: u64 = 1;
/// `sdrate generate`'s default start.
const START: &str = "2026-11-21T00:00:00+01:00";

/// The generated mix, encoded back to back as in a file.
struct Corpus {
    bytes: Vec<u8>,
    records: Vec<Range<usize>>,
}

fn corpus() -> Corpus {
    let start = Timestamp(DateTime::parse_from_rfc3339(START).unwrap());
    let mut bytes = Vec::with_capacity(RECORDS * 300);
    let mut records = Vec::with_capacity(RECORDS);
    let mut buf = Vec::with_capacity(1024);
    for sdr in Generator::new(SEED, start).take(RECORDS) {
        // As `sdrate generate` writes them: one record encoded at a time.
        buf.clear();
        rasn::ber::encode_buf(&sdr, &mut buf).expect("generated SDRs encode");
        let from = bytes.len();
        bytes.extend_from_slice(&buf);
        records.push(from..bytes.len());
    }
    eprintln!(
        "corpus: {} records, {} bytes, {:.1} bytes per record on average",
        records.len(),
        bytes.len(),
        bytes.len() as f64 / records.len() as f64
    );
    Corpus { bytes, records }
}

/// Frames and decodes a whole file; returns the number of good records.
fn read_file(path: &Path) -> usize {
    let mut reader = Reader::open(path).expect("bench file opens");
    let mut good = 0;
    while let Some(chunk) = reader.next_chunk().expect("bench file reads") {
        for item in chunk.records() {
            let rec = item.expect("generated file frames");
            let sdr = read::decode(rec.bytes).expect("generated record decodes");
            black_box(&sdr);
            good += 1;
        }
    }
    good
}

fn benches(c: &mut Criterion) {
    let corpus = corpus();
    let mut file = tempfile::Builder::new()
        .prefix("sdrate-bench-")
        .suffix(".sdr")
        .tempfile()
        .expect("temporary file");
    file.write_all(&corpus.bytes).expect("write bench file");
    file.flush().unwrap();
    let path = file.path().to_path_buf();
    assert_eq!(read_file(&path), RECORDS);

    let mut group = c.benchmark_group("read");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(3))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(RECORDS as u64));

    group.bench_function("decode_in_memory", |b| {
        b.iter(|| {
            for r in &corpus.records {
                let sdr = read::decode(black_box(&corpus.bytes[r.clone()])).unwrap();
                black_box(&sdr);
            }
        })
    });

    group.bench_function("frame_file", |b| {
        b.iter(|| {
            let mut reader = Reader::open(&path).unwrap();
            let mut n = 0usize;
            while let Some(chunk) = reader.next_chunk().unwrap() {
                for item in chunk.records() {
                    black_box(item.unwrap().bytes);
                    n += 1;
                }
            }
            assert_eq!(n, RECORDS);
        })
    });

    group.bench_function("frame_decode_file", |b| {
        b.iter(|| assert_eq!(read_file(black_box(&path)), RECORDS))
    });
    group.finish();

    let mut group = c.benchmark_group("read_bytes");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(3))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Bytes(corpus.bytes.len() as u64));
    group.bench_function("frame_decode_file", |b| {
        b.iter(|| assert_eq!(read_file(black_box(&path)), RECORDS))
    });
    group.finish();
}

criterion_group!(read_benches, benches);
criterion_main!(read_benches);
