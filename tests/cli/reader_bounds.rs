//! The streaming reader on hostile input: memory bounded by the block size
//! plus the maximum record size, padding skipped once in linear work, and
//! a stretch that cannot be framed costing only itself (src/read/mod.rs).

use std::fs;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use sdrate::read::{CHUNK_BYTES, MAX_RECORD_BYTES, Reader};

use crate::common::{ROOT, csv_maps, sdrate, summary};

/// Rates `input` with the shipped lists; returns summary.json.
fn rate(input: &Path, out: &Path) -> Value {
    sdrate()
        .args(["-q", "rate"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--pricing-time", "2027-01-01T00:00:00Z"])
        .assert()
        .code(predicates::ord::le(1));
    summary(out)
}

fn vpn() -> Vec<u8> {
    fs::read(Path::new(ROOT).join("fixtures/vpn.sdr")).unwrap()
}

/// Every record a reader yields, and every chunk's size.
fn read_all(source: Box<dyn Read + Send>, max_record: usize) -> (usize, usize, u64, usize) {
    let mut reader = Reader::from_source("t", source, CHUNK_BYTES).max_record(max_record);
    let (mut records, mut broken, mut padding, mut largest) = (0, 0, 0, 0);
    while let Some(chunk) = reader.next_chunk().unwrap() {
        largest = largest.max(chunk.data.len());
        padding += chunk.padding().map(|(_, n)| n).sum::<u64>();
        for item in chunk.records() {
            match item {
                Ok(_) => records += 1,
                Err(_) => broken += 1,
            }
        }
        reader.recycle(chunk);
    }
    (records, broken, padding, largest)
}

/// 64 MiB of zeros: no record, all padding, and no block larger than the
/// block size plus the maximum record (the old reader held all 64 MiB).
#[test]
fn memory_stays_bounded_on_a_stream_of_zeros() {
    let zeros = std::io::repeat(0).take(64 << 20);
    let (records, broken, padding, largest) = read_all(Box::new(zeros), MAX_RECORD_BYTES);
    assert_eq!((records, broken), (0, 0));
    assert_eq!(padding, 64 << 20);
    assert!(
        largest <= CHUNK_BYTES + MAX_RECORD_BYTES,
        "a block of {largest} bytes"
    );
}

/// A record declaring 3.5 GB: a broken stretch of its header's bytes up to
/// the next record, and the records after it are read; no block grows past
/// the bound.
#[test]
fn an_impossible_length_costs_only_its_record() {
    let intact = vpn();
    let (want, _, _, _) = read_all(
        Box::new(std::io::Cursor::new(intact.clone())),
        MAX_RECORD_BYTES,
    );
    let mut bad = intact.clone();
    // The first record's length becomes four octets: d2a06380.
    assert_eq!(bad[0], 0x61);
    bad.splice(1..1, [0x84, 0xd2, 0xa0, 0x63]);
    let (records, broken, _, largest) =
        read_all(Box::new(std::io::Cursor::new(bad)), MAX_RECORD_BYTES);
    assert_eq!(broken, 1);
    assert_eq!(records, want - 1, "only the first record is lost");
    assert!(largest <= CHUNK_BYTES + MAX_RECORD_BYTES);
}

/// A whole record longer than the maximum is one fault, and reading goes on
/// after it.
#[test]
fn a_record_longer_than_the_maximum_is_a_fault_and_reading_goes_on() {
    let intact = vpn();
    let (want, _, _, _) = read_all(Box::new(std::io::Cursor::new(intact.clone())), 1 << 10);
    // [APPLICATION 1] of 4000 content bytes of 0x01, then the fixture.
    let mut input = vec![0x61, 0x82, 0x0f, 0xa0];
    input.extend(std::iter::repeat_n(1u8, 4000));
    input.extend(&intact);
    let (records, broken, _, _) = read_all(Box::new(std::io::Cursor::new(input)), 1 << 10);
    assert_eq!(records, want);
    assert!(broken >= 1);
}

/// 256 KiB of zeros and 64 KiB of FF between two copies of the fixture:
/// two padding runs reported once each with their offsets and lengths, and
/// exactly the faults of the two copies (the old reader made a fault of
/// every `00 00` pair: 131,072 of them, in quadratic time).
#[test]
fn padding_between_records_is_skipped_and_reported_once_per_run() {
    let t = tempfile::tempdir().unwrap();
    let v = vpn();
    let twice = [v.clone(), v.clone()].concat();
    fs::write(t.path().join("twice.sdr"), &twice).unwrap();
    let mut padded = v.clone();
    padded.extend(std::iter::repeat_n(0u8, 256 << 10));
    padded.extend(&v);
    padded.extend(std::iter::repeat_n(0xffu8, 64 << 10));
    fs::write(t.path().join("padded.sdr"), &padded).unwrap();
    let plain = rate(&t.path().join("twice.sdr"), &t.path().join("o1"));
    let got = rate(&t.path().join("padded.sdr"), &t.path().join("o2"));
    for key in ["records_read", "priced", "faulted"] {
        assert_eq!(got[key], plain[key], "{key}");
    }
    assert_eq!(got["padding"]["runs"], 2);
    assert_eq!(got["padding"]["bytes"], (256 << 10) + (64 << 10));
    let first = &got["padding"]["first"];
    assert_eq!(first[0]["offset"], v.len());
    assert_eq!(first[0]["length"], 256 << 10);
    assert_eq!(first[1]["offset"], 2 * v.len() + (256 << 10));
    assert_eq!(first[1]["length"], 64 << 10);
}

/// A corrupt first length no longer turns the whole file into one fault:
/// one broken stretch, and every other record priced as in the intact file.
#[test]
fn a_corrupt_first_length_loses_only_the_first_record() {
    let t = tempfile::tempdir().unwrap();
    let v = vpn();
    let mut bad = v.clone();
    bad.splice(1..1, [0x84, 0xd2, 0xa0, 0x63]);
    fs::write(t.path().join("bad.sdr"), &bad).unwrap();
    fs::write(t.path().join("rest.sdr"), &v).unwrap();
    let intact = rate(&t.path().join("rest.sdr"), &t.path().join("o1"));
    let got = rate(&t.path().join("bad.sdr"), &t.path().join("o2"));
    assert_eq!(got["faults_by_cause"]["brokenFraming"], 1);
    assert_eq!(got["records_read"], intact["records_read"]);
    let priced = |s: &Value| s["priced"].as_u64().unwrap();
    assert!(priced(&got) + 1 >= priced(&intact), "{got}");
    assert!(priced(&got) > 0);
}

/// Without `--pricing-time` the clock's time of pricing is written to
/// whole milliseconds at most: asn1tools reads six fraction digits and
/// rejected the clock's nine.
#[test]
fn the_clocks_time_of_pricing_has_at_most_three_fraction_digits() {
    let t = tempfile::tempdir().unwrap();
    sdrate()
        .args(["-q", "rate", "fixtures/vpn.sdr", "--out"])
        .arg(t.path().join("o"))
        .current_dir(ROOT)
        .assert()
        .code(predicates::ord::le(1));
    let priced = sdrate()
        .arg("inspect")
        .arg(t.path().join("o/priced/vpn.sdr"))
        .output()
        .unwrap();
    let text = String::from_utf8(priced.stdout).unwrap();
    let mut seen = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        for spm in v["sdr"]["servicePricingModules"].as_array().unwrap() {
            let at = spm["timeOfPricing"].as_str().unwrap();
            // 2026-12-06T08:20:01.123+01:00: the fraction between '.' and
            // the offset.
            let digits = at.split_once('.').map_or(0, |(_, f)| {
                f.chars().take_while(char::is_ascii_digit).count()
            });
            assert!(digits <= 3, "{at}");
            seen += 1;
        }
    }
    assert!(seen > 0, "{text}");
}

/// A stretch that cannot be framed is a fault spelled `brokenFraming`,
/// camelCase like every other fault cause, in the fault report
/// (`faults.csv` status), the summary (`faults_by_cause`) and rerate's
/// difference report; the spelling of earlier versions ("broken framing")
/// is written nowhere.
#[test]
fn broken_framing_is_spelled_brokenframing_in_every_report() {
    let t = tempfile::tempdir().unwrap();
    let input = Path::new(ROOT).join("fixtures/broken/truncated.sdr");
    let rated = t.path().join("rated");
    let s = rate(&input, &rated);
    assert_eq!(
        s["faults_by_cause"],
        serde_json::json!({"brokenFraming": 1})
    );
    let rerated = t.path().join("rerated");
    sdrate()
        .args(["-q", "rerate"])
        .arg(&input)
        .arg("--out")
        .arg(&rerated)
        .args(["--pricing-time", "2027-01-01T00:00:00Z"])
        .assert()
        .code(1);
    assert_eq!(
        summary(&rerated)["faults_by_cause"],
        serde_json::json!({"brokenFraming": 1})
    );
    let status_of_offset_507 = |csv: &Path| {
        csv_maps(csv)
            .into_iter()
            .filter(|r| r["offset"] == "507")
            .map(|r| r["status"].clone())
            .collect::<Vec<_>>()
    };
    for report in [
        rated.join("faults.csv"),
        rerated.join("faults.csv"),
        rerated.join("differences.csv"),
    ] {
        assert_eq!(
            status_of_offset_507(&report),
            ["brokenFraming"],
            "{}",
            report.display()
        );
    }
    for dir in [&rated, &rerated] {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let text = String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned();
                assert!(!text.contains("broken framing"), "{}", path.display());
            }
        }
    }
}
