//! The direct decoder for the canonical form (`read::canonical`) against
//! rasn (`read::decode_general`): whatever the direct path accepts, rasn
//! must decode to the same value; the generator's records must all take
//! the direct path; and every other form must be left to rasn.

use std::fs;
use std::path::Path;

use chrono::DateTime;
use proptest::prelude::*;
use sdrate::generate::Generator;
use sdrate::read::{self, Input, canonical, tlv};
use sdrate::sdr::{ServiceDetailRecord, Timestamp};

fn generated(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let start = Timestamp(DateTime::parse_from_rfc3339("2026-11-21T00:00:00+01:00").unwrap());
    Generator::new(seed, start)
        .take(n)
        .map(|sdr| rasn::ber::encode(&sdr).unwrap())
        .collect()
}

/// The one property: the direct path accepts only what rasn reads as the
/// same value. Returns whether it accepted.
fn agrees(bytes: &[u8]) -> bool {
    match canonical::decode(bytes) {
        Some(direct) => {
            let general: ServiceDetailRecord = read::decode_general(bytes).unwrap_or_else(|e| {
                panic!(
                    "direct path accepted what rasn rejects ({e}): {}",
                    hex(bytes)
                )
            });
            assert_eq!(direct, general, "values differ for {}", hex(bytes));
            // Offsets are not part of equality; the JSON form shows them.
            assert_eq!(
                serde_json::to_string(&direct).unwrap(),
                serde_json::to_string(&general).unwrap()
            );
            true
        }
        None => false,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_generated_record_takes_the_direct_path() {
    let records = generated(7, 5000);
    for bytes in &records {
        assert!(agrees(bytes), "not canonical: {}", hex(bytes));
        // And the direct writer writes them back byte for byte.
        let sdr = canonical::decode(bytes).unwrap();
        let mut out = Vec::new();
        assert!(canonical::encode(&sdr, &mut out));
        assert_eq!(hex(&out), hex(bytes));
    }
}

#[test]
fn fixtures_agree_and_indefinite_lengths_go_to_rasn() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut direct = 0;
    let mut general = 0;
    let mut all = Vec::new();
    for dir in [root.clone(), root.join("broken"), root.join("indefinite")] {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "sdr") {
                continue;
            }
            let input = Input::open(&path).unwrap();
            for rec in input.records().flatten() {
                if agrees(rec.bytes) {
                    direct += 1;
                    assert!(dir != root.join("indefinite"), "{}", path.display());
                } else {
                    general += 1;
                }
                // Either way, `read::decode` gives rasn's answer.
                assert_eq!(
                    read::decode(rec.bytes).ok(),
                    read::decode_general(rec.bytes).ok()
                );
                all.push(rec.bytes.to_vec());
            }
        }
    }
    // Canonical, general and faulty records in turn, decoded into the
    // record before.
    decodes_alike_in_turn(all.iter().map(Vec::as_slice), false);
    decodes_alike_in_turn(all.iter().rev().map(Vec::as_slice), true);
    // fixtures/indefinite holds the other form of every fixture record, and
    // faults.sdr records rasn must refuse or read in another way.
    assert!(direct > 40, "direct {direct}");
    assert!(general > 40, "general {general}");
}

#[test]
fn other_forms_are_left_to_rasn() {
    let bytes = &generated(1, 1)[0];
    let sdr = read::decode_general(bytes).unwrap();
    // Indefinite lengths.
    let indefinite = tlv::to_indefinite(bytes).unwrap();
    assert!(canonical::decode(&indefinite).is_none());
    assert_eq!(read::decode(&indefinite).unwrap(), sdr);
    // A long-form length where the short form fits: the outer length
    // rewritten as 0x82 0x00 LL.
    let (id, rest) = bytes.split_at(1);
    let (len, content) = if rest[0] < 0x80 {
        (usize::from(rest[0]), &rest[1..])
    } else {
        let n = usize::from(rest[0] & 0x7f);
        (
            rest[1..=n]
                .iter()
                .fold(0usize, |a, b| a << 8 | usize::from(*b)),
            &rest[1 + n..],
        )
    };
    assert_eq!(len, content.len());
    let mut long = id.to_vec();
    long.extend_from_slice(&[0x84, 0, 0, (len >> 8) as u8, len as u8]);
    long.extend_from_slice(content);
    assert!(canonical::decode(&long).is_none());
    assert_eq!(read::decode(&long).unwrap(), sdr);
    // Trailing bytes after the record.
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(canonical::decode(&trailing).is_none());
    assert!(read::decode(&trailing).is_err());
}

/// A generated record with one change: a byte replaced, removed or
/// inserted, or the record cut short.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let pool = generated(11, 200);
    (
        0..pool.len(),
        any::<prop::sample::Index>(),
        any::<u8>(),
        0..4u8,
    )
        .prop_map(move |(which, at, value, how)| {
            let mut b = pool[which].clone();
            let i = at.index(b.len());
            match how {
                0 => b[i] = value,
                1 => {
                    b.remove(i);
                }
                2 => b.insert(i, value),
                _ => b.truncate(i),
            }
            b
        })
}

/// What `rate` does with a decoded record between two decodes: the
/// session stage takes its strings, leaving them empty.
fn take_strings(sdr: &mut ServiceDetailRecord) {
    use sdrate::sdr::{ServicePart, ServiceSpecificPart};
    use std::mem::take;
    take(&mut sdr.service_header.producer_identity);
    for sum in &mut sdr.service_usage_modules {
        take(&mut sum.marketing_company);
        if let ServiceSpecificPart::Known(ServicePart::SessionEvent(e)) = &mut sum.service_specific
        {
            take(&mut e.session_id);
            e.role.take();
            e.parameters.iter_mut().flatten().for_each(|p| {
                take(&mut p.name);
            });
        }
    }
}

/// Decoding into the record decoded before (`read::decode_into`, as every
/// rating thread does) gives what a fresh decode gives, whatever that
/// record held: another service, more or fewer usage modules, a record
/// that was not canonical, or strings taken from it.
fn decodes_alike_in_turn<'a>(records: impl IntoIterator<Item = &'a [u8]>, take: bool) {
    let mut slot = None;
    for bytes in records {
        let fresh = read::decode(bytes);
        let into = read::decode_into(bytes, &mut slot);
        match (&fresh, into) {
            (Ok(f), Ok(i)) => {
                assert_eq!(f, &*i, "values differ for {}", hex(bytes));
                assert_eq!(
                    serde_json::to_string(f).unwrap(),
                    serde_json::to_string(&*i).unwrap()
                );
                if take {
                    take_strings(i);
                }
            }
            (Err(f), Err(i)) => assert_eq!(f.to_string(), i.to_string()),
            (f, i) => panic!(
                "fresh {:?}, into the last record {:?}: {}",
                f.is_ok(),
                i.is_ok(),
                hex(bytes)
            ),
        }
    }
}

#[test]
fn every_generated_record_decodes_into_the_one_before_as_a_fresh_decode() {
    let records = generated(7, 5000);
    // The generator's mix changes service from one record to the next
    // more often than not; both ways through the part are taken.
    let services = |b: &[u8]| {
        let s = read::decode(b).unwrap();
        let sum = &s.service_usage_modules[0];
        (
            sum.service_feature_code.to_string(),
            s.service_usage_modules.len(),
        )
    };
    let same = records
        .windows(2)
        .filter(|w| services(&w[0]) == services(&w[1]))
        .count();
    assert!(same > 100 && same < 4900, "{same} pairs alike");
    decodes_alike_in_turn(records.iter().map(Vec::as_slice), false);
    decodes_alike_in_turn(records.iter().map(Vec::as_slice), true);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn mutated_records_agree(bytes in mutated()) {
        agrees(&bytes);
    }

    #[test]
    fn mutated_records_decode_into_the_one_before_as_a_fresh_decode(
        a in mutated(),
        b in mutated(),
        c in mutated(),
        take in any::<bool>(),
    ) {
        decodes_alike_in_turn([a.as_slice(), b.as_slice(), c.as_slice()], take);
    }
}
