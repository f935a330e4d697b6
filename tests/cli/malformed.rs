//! `sdrate inspect` on malformed input: every class of damage is reported
//! on stderr with the file and the offset of the bad record, the records
//! that can still be framed are printed, the exit code says what happened,
//! and nothing panics or overflows the stack.
//!
//! Inputs are built from a few generated records, so the offsets asserted
//! below follow from the bytes written.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use sdrate::generate::Generator;
use sdrate::read::tlv::{self, push_length};
use sdrate::sdr::Timestamp;
use serde_json::Value;
use tempfile::TempDir;

/// `count` valid records, each as its own encoding.
fn records(count: usize) -> Vec<Vec<u8>> {
    let start = Timestamp(DateTime::parse_from_rfc3339("2026-11-21T00:00:00+01:00").unwrap());
    Generator::new(7, start)
        .take(count)
        .map(|sdr| rasn::ber::encode(&sdr).expect("generated records encode"))
        .collect()
}

/// Offsets of consecutive parts laid end to end.
fn offsets(parts: &[&[u8]]) -> Vec<u64> {
    parts
        .iter()
        .scan(0u64, |at, p| {
            let here = *at;
            *at += p.len() as u64;
            Some(here)
        })
        .collect()
}

struct Run {
    code: i32,
    /// `offset` of every JSON line, in order.
    offsets: Vec<u64>,
    /// `file` of every JSON line.
    files: Vec<String>,
    /// `sdr` of every JSON line.
    sdrs: Vec<Value>,
    stderr: String,
}

impl Run {
    /// The stderr lines that report a fault (padding is reported, but is
    /// not a fault).
    fn faults(&self) -> Vec<&str> {
        crate::common::messages(&self.stderr)
            .into_iter()
            .filter(|l| !l.trim().is_empty() && !l.contains("bytes of padding"))
            .collect()
    }

    /// Exactly one fault line, for `file` at `offset`, containing `what`.
    fn assert_one_fault(&self, file: &Path, offset: u64, what: &str) {
        let faults = self.faults();
        assert_eq!(faults.len(), 1, "stderr: {}", self.stderr);
        let prefix = format!("sdrate: {}: offset {offset}: ", file.display());
        assert!(
            faults[0].starts_with(&prefix),
            "expected `{prefix}...`, got: {}",
            faults[0]
        );
        assert!(
            faults[0].contains(what),
            "expected `{what}` in: {}",
            faults[0]
        );
    }
}

fn inspect(paths: &[&Path]) -> Run {
    let out = crate::sdrate_command()
        .arg("inspect")
        .args(paths)
        .output()
        .expect("run sdrate");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(!stderr.contains("overflow"), "overflow: {stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("bad JSON line {l}: {e}\nstderr: {stderr}"))
        })
        .collect();
    for l in &lines {
        assert!(l["sdr"].is_object(), "line without an sdr: {l}");
    }
    Run {
        code: out.status.code().expect("exited, not killed by a signal"),
        offsets: lines
            .iter()
            .map(|l| l["offset"].as_u64().unwrap())
            .collect(),
        files: lines
            .iter()
            .map(|l| l["file"].as_str().unwrap().to_owned())
            .collect(),
        sdrs: lines.iter().map(|l| l["sdr"].clone()).collect(),
        stderr,
    }
}

/// Writes `parts` end to end into `name` in a fresh directory.
fn write(dir: &TempDir, name: &str, parts: &[&[u8]]) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, parts.concat()).unwrap();
    path
}

/// An [APPLICATION 1] record with the given contents and a definite length.
fn app1(content: &[u8]) -> Vec<u8> {
    let mut out = vec![0x61];
    push_length(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// The contents octets of a definite-length record (tag 0x61, so one
/// identifier octet).
fn content_of(record: &[u8]) -> &[u8] {
    let l = record[1];
    let header = if l < 0x80 {
        2
    } else {
        2 + usize::from(l & 0x7f)
    };
    &record[header..]
}

#[test]
fn valid_records_print_with_their_offsets() {
    let dir = TempDir::new().unwrap();
    let r = records(3);
    let parts: Vec<&[u8]> = r.iter().map(Vec::as_slice).collect();
    let path = write(&dir, "good.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(run.offsets, offsets(&parts));
    assert!(run.files.iter().all(|f| *f == path.display().to_string()));
    assert_eq!(run.stderr, "");
}

#[test]
fn truncated_last_record() {
    let dir = TempDir::new().unwrap();
    let r = records(3);
    let cut = &r[2][..r[2].len() / 2];
    let parts: [&[u8]; 3] = [&r[0], &r[1], cut];
    let path = write(&dir, "truncated.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1);
    let at = offsets(&parts);
    assert_eq!(run.offsets, at[..2]);
    run.assert_one_fault(&path, at[2], "truncated");
    assert!(
        run.stderr
            .contains(&format!("{} bytes cannot be framed as records", cut.len())),
        "{}",
        run.stderr
    );
}

#[test]
fn record_cut_inside_its_length_octets() {
    // Only the identifier and the first octet of a long-form length.
    let dir = TempDir::new().unwrap();
    let r = records(1);
    let parts: [&[u8]; 2] = [&r[0], &[0x61, 0x82, 0x01]];
    let path = write(&dir, "cut-length.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1);
    assert_eq!(run.offsets, [0]);
    run.assert_one_fault(&path, r[0].len() as u64, "truncated");
}

#[test]
fn garbage_content_with_intact_length_is_skipped() {
    let dir = TempDir::new().unwrap();
    let r = records(3);
    // Same outer tag and length as record 1, contents replaced by garbage.
    let garbage = app1(&vec![0xff; content_of(&r[1]).len()]);
    assert_eq!(garbage.len(), r[1].len());
    let parts: [&[u8]; 3] = [&r[0], &garbage, &r[2]];
    let path = write(&dir, "garbage.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1);
    let at = offsets(&parts);
    assert_eq!(run.offsets, [at[0], at[2]]);
    run.assert_one_fault(
        &path,
        at[1],
        &format!("record of {} bytes cannot be decoded", garbage.len()),
    );
}

#[test]
fn garbage_records_in_a_row_are_each_reported() {
    let dir = TempDir::new().unwrap();
    let r = records(2);
    let g1 = app1(b"\x01\x02\x03\x04");
    let g2 = app1(&[0x30, 0x03, 0x02, 0x01, 0x05]);
    let parts: [&[u8]; 4] = [&r[0], &g1, &g2, &r[1]];
    let path = write(&dir, "garbage-run.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1);
    let at = offsets(&parts);
    assert_eq!(run.offsets, [at[0], at[3]]);
    let faults = run.faults();
    assert_eq!(faults.len(), 2, "{}", run.stderr);
    for (fault, offset) in faults.iter().zip([at[1], at[2]]) {
        let prefix = format!("sdrate: {}: offset {offset}: ", path.display());
        assert!(fault.starts_with(&prefix), "{fault}");
        assert!(fault.contains("cannot be decoded"), "{fault}");
    }
}

#[test]
fn huge_outer_length_costs_only_the_bytes_up_to_the_next_record() {
    let dir = TempDir::new().unwrap();
    let r = records(3);
    // [APPLICATION 1] with a 4-octet length of 4 GiB - 1, then what was
    // record 1's contents, then a valid record, read after the break.
    let mut bad = vec![0x61, 0x84, 0xff, 0xff, 0xff, 0xff];
    bad.extend_from_slice(content_of(&r[1]));
    let parts: [&[u8]; 3] = [&r[0], &bad, &r[2]];
    let path = write(&dir, "huge-length.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1);
    let at = offsets(&parts);
    assert_eq!(run.offsets, [at[0], at[2]]);
    run.assert_one_fault(&path, at[1], "cannot be framed as records");
    assert!(
        run.stderr
            .contains(&format!("{} bytes cannot be framed", bad.len())),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("longer than the largest record read"),
        "{}",
        run.stderr
    );
}

#[test]
fn eight_octet_length_of_u64_max_is_a_fault() {
    let dir = TempDir::new().unwrap();
    let r = records(1);
    let mut bad = vec![0x61, 0x88];
    bad.extend([0xff; 8]);
    bad.extend_from_slice(b"tail");
    let parts: [&[u8]; 2] = [&r[0], &bad];
    let path = write(&dir, "u64-length.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1);
    assert_eq!(run.offsets, [0]);
    run.assert_one_fault(
        &path,
        r[0].len() as u64,
        "record of 18446744073709551615 bytes is longer than the largest record read",
    );
}

#[test]
fn length_of_length_above_eight_is_a_fault() {
    let dir = TempDir::new().unwrap();
    let r = records(2);
    let mut bad = vec![0x61, 0x89];
    bad.extend([0x00; 8]);
    bad.push(0x10);
    bad.extend(vec![0xab; 16]);
    let parts: [&[u8]; 3] = [&r[0], &bad, &r[1]];
    let path = write(&dir, "length-of-length.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1);
    let at = offsets(&parts);
    // The broken stretch ends where the next record starts.
    assert_eq!(run.offsets, [at[0], at[2]]);
    run.assert_one_fault(&path, at[1], "length field of 9 octets is too long");
    assert!(
        run.stderr
            .contains(&format!("{} bytes cannot be framed as records", bad.len())),
        "{}",
        run.stderr
    );
}

#[test]
fn reserved_length_octet_0xff_is_a_fault() {
    // 0xff announces 127 length octets: reserved in X.690, too long here.
    let dir = TempDir::new().unwrap();
    let r = records(1);
    let parts: [&[u8]; 2] = [&r[0], &[0x61, 0xff, 0x01, 0x02]];
    let path = write(&dir, "length-0xff.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1);
    assert_eq!(run.offsets, [0]);
    run.assert_one_fault(&path, r[0].len() as u64, "127 octets is too long");
}

/// `depth` nested indefinite-length constructed elements `id 80`, closed
/// by as many end-of-contents pairs.
fn nested_indefinite(id: u8, depth: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(depth * 4);
    for _ in 0..depth {
        out.extend([id, 0x80]);
    }
    for _ in 0..depth {
        out.extend([0, 0]);
    }
    out
}

#[test]
fn deep_indefinite_nesting_as_a_record_is_a_framing_fault() {
    // 5000 nested SEQUENCEs inside an indefinite [APPLICATION 1]: the
    // framing walk gives up at its nesting limit instead of recursing.
    let dir = TempDir::new().unwrap();
    let r = records(2);
    let mut deep = vec![0x61, 0x80];
    deep.extend(nested_indefinite(0x30, 5000));
    deep.extend([0, 0]);
    let parts: [&[u8]; 3] = [&r[0], &deep, &r[1]];
    let path = write(&dir, "deep.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1);
    let at = offsets(&parts);
    assert_eq!(run.offsets, [at[0], at[2]]);
    run.assert_one_fault(&path, at[1], "nesting deeper than 64 levels");
}

#[test]
fn deep_indefinite_nesting_inside_a_definite_record_is_a_decode_fault() {
    // The outer length is definite, so framing does not look inside; the
    // decoder meets 5000 nested indefinite elements where the header
    // should be, and the records around it are still read.
    let dir = TempDir::new().unwrap();
    let r = records(2);
    for (name, id) in [("deep-seq.sdr", 0x30), ("deep-ctx0.sdr", 0xa0)] {
        let deep = app1(&nested_indefinite(id, 5000));
        let parts: [&[u8]; 3] = [&r[0], &deep, &r[1]];
        let path = write(&dir, name, &parts);
        let run = inspect(&[&path]);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        let at = offsets(&parts);
        assert_eq!(run.offsets, [at[0], at[2]], "{name}");
        run.assert_one_fault(&path, at[1], "cannot be decoded");
    }
}

#[test]
fn deep_nesting_inside_an_unknown_extension_item_is_a_record_fault() {
    // A valid record with 20000 nested indefinite [40] elements appended as
    // an unknown extension item. Kept items must be re-framable trees of at
    // most tlv::MAX_DEPTH levels, so this record is a fault, its neighbours
    // are read, and nothing overflows the stack.
    let dir = TempDir::new().unwrap();
    let r = records(2);
    let mut item = Vec::new();
    for _ in 0..20_000 {
        item.extend([0xbf, 0x28, 0x80]); // [40] constructed, indefinite
    }
    for _ in 0..20_000 {
        item.extend([0, 0]);
    }
    let mut content = content_of(&r[0]).to_vec();
    content.extend(&item);
    let deep = app1(&content);
    let parts: [&[u8]; 3] = [&r[1], &deep, &r[1]];
    let path = write(&dir, "deep-unknown.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let at = offsets(&parts);
    assert_eq!(run.offsets, [at[0], at[2]]);
    run.assert_one_fault(&path, at[1], "nesting deeper than 64 levels");
}

#[test]
fn nesting_of_64_levels_inside_an_unknown_extension_item_is_kept() {
    let dir = TempDir::new().unwrap();
    let r = records(1);
    // 64 constructed levels below the item, the item itself at depth 0.
    let mut item = Vec::new();
    for _ in 0..=64 {
        item.extend([0xbf, 0x28, 0x80]);
    }
    for _ in 0..=64 {
        item.extend([0, 0]);
    }
    let mut content = content_of(&r[0]).to_vec();
    content.extend(&item);
    let record = app1(&content);
    let path = write(&dir, "deep-ok.sdr", &[&record]);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.sdrs[0]["unknownItems"],
        serde_json::json!([hex::encode(&item)])
    );
}

#[test]
fn deep_definite_nesting_inside_a_record_is_a_decode_fault() {
    // 3000 nested definite-length SEQUENCEs as the record's contents.
    let dir = TempDir::new().unwrap();
    let r = records(2);
    let mut inner: Vec<u8> = vec![0x05, 0x00]; // NULL at the bottom
    for _ in 0..3000 {
        let mut outer = vec![0x30];
        push_length(&mut outer, inner.len());
        outer.extend(inner);
        inner = outer;
    }
    let deep = app1(&inner);
    let parts: [&[u8]; 3] = [&r[0], &deep, &r[1]];
    let path = write(&dir, "deep-definite.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let at = offsets(&parts);
    assert_eq!(run.offsets, [at[0], at[2]]);
    run.assert_one_fault(&path, at[1], "cannot be decoded");
}

#[test]
fn wrong_outer_tag_is_a_decode_fault() {
    // A universal SEQUENCE (0x30) where [APPLICATION 1] (0x61) belongs.
    let dir = TempDir::new().unwrap();
    let r = records(3);
    let mut seq = r[1].clone();
    seq[0] = 0x30;
    let parts: [&[u8]; 3] = [&r[0], &seq, &r[2]];
    let path = write(&dir, "universal-sequence.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1);
    let at = offsets(&parts);
    assert_eq!(run.offsets, [at[0], at[2]]);
    run.assert_one_fault(
        &path,
        at[1],
        &format!("record of {} bytes cannot be decoded", seq.len()),
    );
}

#[test]
fn wrong_inner_tag_is_a_decode_fault() {
    let dir = TempDir::new().unwrap();
    let r = records(3);
    // The record's first item is serviceHeader [0] (0xa0); make it [7].
    let header_at = r[1].len() - content_of(&r[1]).len();
    let mut bad = r[1].clone();
    assert_eq!(bad[header_at], 0xa0);
    bad[header_at] = 0xa7;
    // And one where moduleIdentifier [0] inside the header becomes a
    // universal INTEGER (0x02).
    let mut bad2 = r[2].clone();
    let inner = header_at + tlv::header(&bad2[header_at..]).unwrap().header_len;
    assert_eq!(bad2[inner], 0x80);
    bad2[inner] = 0x02;
    let parts: [&[u8]; 4] = [&r[0], &bad, &bad2, &r[0]];
    let path = write(&dir, "inner-tag.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1);
    let at = offsets(&parts);
    assert_eq!(run.offsets, [at[0], at[3]]);
    let faults = run.faults();
    assert_eq!(faults.len(), 2, "{}", run.stderr);
    for (fault, offset) in faults.iter().zip([at[1], at[2]]) {
        let prefix = format!("sdrate: {}: offset {offset}: ", path.display());
        assert!(fault.starts_with(&prefix), "{fault}");
        assert!(fault.contains("cannot be decoded"), "{fault}");
    }
}

#[test]
fn trailing_bytes_inside_the_outer_length_are_a_fault() {
    // A stray octet after the known items, inside the outer length: it is
    // not an element, so it cannot be kept as an unknown extension item.
    let dir = TempDir::new().unwrap();
    let r = records(2);
    let mut content = content_of(&r[0]).to_vec();
    content.extend([0x1f]); // a high-tag-number identifier with no number
    let bad = app1(&content);
    let parts: [&[u8]; 3] = [&r[0], &bad, &r[1]];
    let path = write(&dir, "stray-octet.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 1);
    let at = offsets(&parts);
    assert_eq!(run.offsets, [at[0], at[2]]);
    run.assert_one_fault(&path, at[1], "cannot be decoded");
}

#[test]
fn empty_file_is_no_records_and_no_fault() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "empty.sdr", &[]);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 0);
    assert!(run.offsets.is_empty());
    assert_eq!(run.stderr, "");
}

#[test]
fn zero_padding_is_no_records_and_no_fault() {
    let dir = TempDir::new().unwrap();
    let zeros = vec![0u8; 4096];
    let path = write(&dir, "zeros.sdr", &[&zeros]);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 0);
    assert!(run.offsets.is_empty());
    assert_eq!(
        crate::common::messages(&run.stderr),
        [format!(
            "sdrate: {}: 4096 bytes of padding (00 or FF) in 1 run(s) skipped",
            path.display()
        )]
    );
}

#[test]
fn zero_padding_after_records_is_ignored() {
    let dir = TempDir::new().unwrap();
    let r = records(2);
    let zeros = vec![0u8; 2048 - (r[0].len() + r[1].len()) % 2048];
    let parts: [&[u8]; 3] = [&r[0], &r[1], &zeros];
    let path = write(&dir, "padded.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.offsets, offsets(&parts)[..2]);
    assert!(run.faults().is_empty(), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("{} bytes of padding", zeros.len())),
        "{}",
        run.stderr
    );
}

#[test]
fn zeros_between_records_are_padding_reported_once() {
    // Block-padded files put fill bytes between records: skipped and
    // reported, not faults (no record starts with 00).
    let dir = TempDir::new().unwrap();
    let r = records(2);
    let parts: [&[u8]; 3] = [&r[0], &[0, 0], &r[1]];
    let path = write(&dir, "zeros-between.sdr", &parts);
    let run = inspect(&[&path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let at = offsets(&parts);
    assert_eq!(run.offsets, [at[0], at[2]]);
    assert!(run.faults().is_empty(), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("2 bytes of padding (00 or FF) in 1 run(s)"),
        "{}",
        run.stderr
    );
}

#[test]
fn faults_name_the_file_they_are_in() {
    let dir = TempDir::new().unwrap();
    let r = records(2);
    let good = write(&dir, "a-good.sdr", &[&r[0], &r[1]]);
    let bad = write(&dir, "b-bad.sdr", &[&r[0], &r[1][..10]]);
    let run = inspect(&[&good, &bad]);
    assert_eq!(run.code, 1);
    let at = offsets(&[&r[0], &r[1]]);
    assert_eq!(run.offsets, [at[0], at[1], at[0]]);
    assert_eq!(
        run.files,
        [
            good.display().to_string(),
            good.display().to_string(),
            bad.display().to_string()
        ]
    );
    run.assert_one_fault(&bad, at[1], "truncated");
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("missing.sdr");
    let run = inspect(&[&missing]);
    assert_eq!(run.code, 4);
    assert!(run.offsets.is_empty());
    assert!(
        run.stderr.contains(&missing.display().to_string()),
        "{}",
        run.stderr
    );
}

/// A generated record with one pricing module whose VAT level has
/// `decimal_places` decimals.
fn priced_record(decimal_places: u8) -> Vec<u8> {
    use sdrate::sdr::*;
    let start = Timestamp(DateTime::parse_from_rfc3339("2026-11-21T00:00:00+01:00").unwrap());
    let mut sdr = Generator::new(7, start).next().unwrap();
    sdr.service_pricing_modules = Some(vec![ServicePricingModule {
        module_identifier: ModuleIdentifier::ServicePricing,
        revision_state: 1,
        sum_spm_correlator: None,
        service_pricing_identifier: None,
        time_of_pricing: start,
        currency: "SEK".into(),
        vat_level: Amount {
            units: 25,
            decimal_places: 28,
            unknown_items: None,
        },
        prices: vec![],
        unknown_items: None,
    }]);
    // The encoder enforces the range, so the out-of-range value is patched
    // into the octets: units [0] 25, decimalPlaces [1] 28.
    let mut bytes = rasn::ber::encode(&sdr).unwrap();
    let at = bytes
        .windows(6)
        .position(|w| w == [0x80, 0x01, 25, 0x81, 0x01, 28])
        .expect("the VAT level is in the record");
    bytes[at + 5] = decimal_places;
    bytes
}

#[test]
fn amount_with_too_many_decimal_places_is_a_record_fault() {
    // decimalPlaces is (0..28); 29 is well-formed BER
    // but has no decimal value. It is one faulty record, not the end of
    // the run.
    let dir = TempDir::new().unwrap();
    let r = records(1);
    let ok = priced_record(28);
    let bad = priced_record(29);
    let parts: [&[u8]; 4] = [&r[0], &ok, &bad, &r[0]];
    let path = write(&dir, "decimal-places.sdr", &parts);
    let run = inspect(&[&path]);
    let at = offsets(&parts);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.offsets, [at[0], at[1], at[3]]);
    run.assert_one_fault(
        &path,
        at[2],
        "`Amount.decimal_places`: Value constraint not satisfied: expected: 0..28; actual: 29",
    );
}

// Replays of fuzzer findings (fuzz/, target `reader`). All three came from one
// gap: an element whose identifier octet is 00, the end-of-contents
// identifier, is taken as an ordinary child inside definite-length content,
// and `tlv::to_indefinite` copies it, so the re-framed record either ends
// its parent early or is refused by the decoder.

#[test]
fn fuzz_crash_eoc_child_reframes_early() {
    // Minimized: 61 02 00 00. Re-framed it is 61 80 00 00 00 00, which
    // frames as the 4-octet element 61 80 00 00.
    let record = [0x61, 0x02, 0x00, 0x00];
    assert_eq!(tlv::element_len(&record), Ok(4));
    match tlv::to_indefinite(&record) {
        Err(_) => {}
        Ok(indefinite) => assert_eq!(
            tlv::element_len(&indefinite),
            Ok(indefinite.len()),
            "re-framed as {}",
            hex::encode(&indefinite)
        ),
    }
}

/// `sdrate encode --indefinite` of one generated record whose serviceSpecific
/// is the unknown alternative `unknown_hex`, then `sdrate inspect` of the
/// result. Returns the encode exit code, the inspect run, and the value
/// that was encoded.
fn encode_indefinite_and_inspect(unknown_hex: &str) -> (i32, Run, Value) {
    let dir = TempDir::new().unwrap();
    let r = records(1);
    let source = write(&dir, "one.sdr", &[&r[0]]);
    let mut want = inspect(&[&source]).sdrs.remove(0);
    want["serviceUsageModules"][0]["serviceSpecific"] =
        serde_json::json!({ "unknown": unknown_hex });
    let jsonl = dir.path().join("one.jsonl");
    fs::write(&jsonl, format!("{}\n", serde_json::json!({ "sdr": want }))).unwrap();
    let indefinite = dir.path().join("indefinite.sdr");
    let enc = crate::sdrate_command()
        .arg("encode")
        .arg("--indefinite")
        .arg(&jsonl)
        .arg("-o")
        .arg(&indefinite)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&enc.stderr).contains("panicked"));
    let code = enc.status.code().unwrap();
    (code, inspect(&[&indefinite]), want)
}

#[test]
fn fuzz_crash_tag_zero_child_breaks_indefinite() {
    // Minimized from a fuzzer input: serviceSpecific [14] held a constructed
    // unknown alternative with the child 00 01 00. The definite record
    // reads; its twin from `encode --indefinite` did not ("End-of-contents
    // octets encountered where a value was expected"). Either encode
    // refuses the record, or the twin reads as the same value.
    let (code, run, want) = encode_indefinite_and_inspect("a903000100");
    if code == 0 {
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.sdrs, [want]);
    }
}

#[test]
fn fuzz_crash_eoc_child_changes_the_value() {
    // serviceSpecific = a9 02 00 00 ([9] holding one 00 00 element) is
    // written by `encode --indefinite` as a9 80 00 00 00 00: the child
    // becomes the end of [9], and the record silently reads back with
    // a9 80 00 00 instead.
    let (code, run, want) = encode_indefinite_and_inspect("a9020000");
    if code == 0 {
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.sdrs, [want]);
    }
}
