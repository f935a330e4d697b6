//! Golden tests over `fixtures/` (listed in `fixtures/README.md`).
//!
//! * Every `fixtures/src/X.jsonl` encodes to exactly the committed
//!   `fixtures/X.sdr`, and `sdrate inspect fixtures/X.sdr` prints the same
//!   `sdr` values as the source; the library decodes the same records.
//! * `fixtures/indefinite/all.sdr` (every source with indefinite lengths)
//!   reads as the same values as its definite twins.
//! * Every file in `fixtures/broken/` makes `inspect` exit with 1, print the
//!   records before (and, where framing allows, after) the damage, and name
//!   the file and the offset of the bad record on stderr.
//!
//! When a source changes, run `fixtures/build.sh` and review the diff.

use std::fs;
use std::path::{Path, PathBuf};

use sdrate::read::{self, FrameError, Input};
use sdrate::sdr::ServiceDetailRecord;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn source_path(name: &str) -> PathBuf {
    fixtures().join("src").join(format!("{name}.jsonl"))
}

fn sdr_path(name: &str) -> PathBuf {
    fixtures().join(format!("{name}.sdr"))
}

/// The `sdr` values of a JSON-lines source, in file order.
fn source_values(name: &str) -> Vec<Value> {
    let path = source_path(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, l)| {
            let mut line: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: line {}: {e}", path.display(), n + 1));
            line.get_mut("sdr")
                .unwrap_or_else(|| panic!("{}: line {}: no `sdr` key", path.display(), n + 1))
                .take()
        })
        .collect()
}

/// What `sdrate inspect` did with one file.
struct Inspected {
    code: i32,
    sdrs: Vec<Value>,
    offsets: Vec<u64>,
    stderr: String,
}

fn inspect(path: &Path) -> Inspected {
    let out = crate::sdrate_command()
        .arg("inspect")
        .arg(path)
        .output()
        .expect("sdrate runs");
    let stdout = String::from_utf8(out.stdout).expect("inspect prints UTF-8");
    let mut sdrs = Vec::new();
    let mut offsets = Vec::new();
    for line in stdout.lines() {
        let mut v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("inspect printed a line that is not JSON ({e}): {line}"));
        assert_eq!(
            v["file"].as_str(),
            Some(path.display().to_string().as_str()),
            "`file` of {line}"
        );
        offsets.push(v["offset"].as_u64().expect("`offset` is a number"));
        sdrs.push(v["sdr"].take());
    }
    Inspected {
        code: out.status.code().expect("sdrate exits normally"),
        sdrs,
        offsets,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A readable failure for two byte strings that should be equal.
fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    if got == want {
        return;
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    panic!(
        "{what}: {} bytes, committed file has {}; first difference at offset {at}. \
         If the change is intended, run fixtures/build.sh and review the diff.",
        got.len(),
        want.len()
    );
}

fn check_encode(name: &str) {
    let out = crate::sdrate_command()
        .arg("encode")
        .arg(source_path(name))
        .output()
        .expect("sdrate runs");
    assert!(
        out.status.success(),
        "encode {name}.jsonl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = fs::read(sdr_path(name)).expect("committed .sdr exists");
    assert_same_bytes(&out.stdout, &committed, &format!("encode {name}.jsonl"));
}

fn check_inspect(name: &str) {
    let path = sdr_path(name);
    let got = inspect(&path);
    assert_eq!(got.code, 0, "inspect {name}.sdr: {}", got.stderr);
    assert_eq!(got.stderr, "", "inspect {name}.sdr wrote to stderr");
    let want = source_values(name);
    assert_eq!(got.sdrs.len(), want.len(), "records in {name}.sdr");
    for (n, (g, w)) in got.sdrs.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{name}.sdr record {} differs from its source", n + 1);
    }
    assert_eq!(got.offsets.first(), Some(&0), "first offset of {name}.sdr");
    assert!(
        got.offsets.windows(2).all(|w| w[0] < w[1]),
        "offsets of {name}.sdr increase: {:?}",
        got.offsets
    );
}

/// The library reads the same records as the typed view of the source, and
/// the records tile the file exactly.
fn check_library(name: &str) {
    let input = Input::open(&sdr_path(name)).expect("fixture opens");
    let want: Vec<ServiceDetailRecord> = source_values(name)
        .into_iter()
        .map(|v| serde_json::from_value(v).expect("source is a valid SDR"))
        .collect();
    let mut next = 0u64;
    let mut got = Vec::new();
    for item in input.records() {
        let rec = item.unwrap_or_else(|b| panic!("{name}.sdr: framing broken at {}", b.offset));
        assert_eq!(rec.offset, next, "{name}.sdr: records are contiguous");
        next += rec.bytes.len() as u64;
        got.push(
            read::decode(rec.bytes)
                .unwrap_or_else(|e| panic!("{name}.sdr offset {}: {e}", rec.offset)),
        );
    }
    assert_eq!(
        next,
        input.bytes().len() as u64,
        "{name}.sdr: no bytes left over"
    );
    assert_eq!(got, want, "{name}.sdr decoded by the library");
}

/// One test per source and aspect, plus the list the completeness test
/// compares with `fixtures/src/`.
macro_rules! golden {
    ($($name:ident),+ $(,)?) => {
        const SOURCES: &[&str] = &[$(stringify!($name)),+];

        /// `sdrate encode fixtures/src/X.jsonl` gives exactly fixtures/X.sdr.
        mod encode {
            $(#[test] fn $name() { super::check_encode(stringify!($name)); })+
        }

        /// `sdrate inspect fixtures/X.sdr` prints the source's values.
        mod inspect {
            $(#[test] fn $name() { super::check_inspect(stringify!($name)); })+
        }

        /// `read::Input` + `read::decode` give the source's typed values.
        mod library {
            $(#[test] fn $name() { super::check_library(stringify!($name)); })+
        }
    };
}

// Keep sorted: the indefinite fixture holds the sources in this order.
golden!(
    broadband,
    conference,
    every_type,
    faults,
    faxbox,
    game,
    msgbox,
    participation,
    priced,
    satm,
    vcc,
    vpn,
    vpn_profiles,
);

fn names_in(dir: &Path, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_source_has_golden_tests_and_every_sdr_a_source() {
    let mut listed: Vec<String> = SOURCES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(listed, SOURCES, "keep the golden! list sorted");
    assert_eq!(
        names_in(&fixtures().join("src"), "jsonl"),
        listed,
        "fixtures/src/*.jsonl and the golden! list"
    );
    assert_eq!(
        names_in(&fixtures(), "sdr"),
        listed,
        "fixtures/*.sdr and fixtures/src/*.jsonl"
    );
}

#[test]
fn sources_keep_customers_with_their_marketing_company() {
    // C00001..C01000 belong to [megacom, publicom, foretag][n % 3]; only
    // faults.jsonl may name a customer outside the registry.
    const COMPANIES: [&str; 3] = ["megacom", "publicom", "foretag"];
    for name in SOURCES {
        for (n, sdr) in source_values(name).iter().enumerate() {
            let header = &sdr["serviceHeader"];
            let company = header["marketingCompany"].as_str();
            if let Some(customer) = header["customerIdentity"].as_str() {
                let number: u32 = customer[1..].parse().expect("customer is C + digits");
                if (1..=1000).contains(&number) {
                    assert_eq!(
                        company,
                        Some(COMPANIES[(number % 3) as usize]),
                        "{name} record {}: {customer}",
                        n + 1
                    );
                } else {
                    assert_eq!(*name, "faults", "{name} record {}: {customer}", n + 1);
                }
            }
            for sum in sdr["serviceUsageModules"].as_array().unwrap() {
                assert_eq!(
                    sum["marketingCompany"].as_str(),
                    company,
                    "{name} record {}: SUM and header company",
                    n + 1
                );
            }
        }
    }
}

// ---- indefinite lengths -------------------------------------------------

fn indefinite_path() -> PathBuf {
    fixtures().join("indefinite").join("all.sdr")
}

#[test]
fn indefinite_encoding_is_reproducible() {
    let out = crate::sdrate_command()
        .arg("encode")
        .arg("--indefinite")
        .args(SOURCES.iter().map(|s| source_path(s)))
        .output()
        .expect("sdrate runs");
    assert!(out.status.success());
    let committed = fs::read(indefinite_path()).unwrap();
    assert_same_bytes(&out.stdout, &committed, "encode --indefinite");
}

#[test]
fn indefinite_inspects_like_its_definite_twins() {
    let got = inspect(&indefinite_path());
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(got.stderr, "");
    let mut twins = Vec::new();
    for name in SOURCES {
        let twin = inspect(&sdr_path(name));
        assert_eq!(twin.code, 0);
        twins.extend(twin.sdrs);
    }
    assert_eq!(got.sdrs.len(), twins.len(), "records");
    for (n, (g, w)) in got.sdrs.iter().zip(&twins).enumerate() {
        assert_eq!(g, w, "indefinite record {} differs from its twin", n + 1);
    }
}

#[test]
fn indefinite_records_are_really_indefinite_and_decode_equal() {
    let indefinite = Input::open(&indefinite_path()).unwrap();
    let mut twins = Vec::new();
    let definite: Vec<Input> = SOURCES
        .iter()
        .map(|s| Input::open(&sdr_path(s)).unwrap())
        .collect();
    for input in &definite {
        twins.extend(input.records().map(|r| r.unwrap().bytes));
    }
    let records: Vec<_> = indefinite.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), twins.len());
    for (rec, twin) in records.iter().zip(twins) {
        // [APPLICATION 1] constructed, then the indefinite length octet, and
        // end-of-contents octets at the end.
        assert_eq!(&rec.bytes[..2], &[0x61, 0x80], "offset {}", rec.offset);
        assert_eq!(&rec.bytes[rec.bytes.len() - 2..], &[0, 0]);
        assert!(rec.bytes.len() > twin.len());
        assert_eq!(
            read::decode(rec.bytes).unwrap(),
            read::decode(twin).unwrap(),
            "offset {}",
            rec.offset
        );
    }
}

// ---- broken files -------------------------------------------------------

/// One damaged file: the records read before the damage and after it, and
/// where the bad record starts. Offsets follow from fixtures/build.sh: a
/// faxbox record is 208 bytes, vcc.sdr's first two records 261 + 246.
struct Broken {
    file: &'static str,
    /// (source, 1-based line) of every record inspect must still print.
    good: &'static [(&'static str, usize)],
    good_offsets: &'static [u64],
    bad_offset: u64,
    /// What stderr says about it.
    reason: &'static str,
}

const BROKEN: &[Broken] = &[
    Broken {
        file: "truncated.sdr",
        good: &[("vcc", 1), ("vcc", 2)],
        good_offsets: &[0, 261],
        bad_offset: 507,
        reason: "cannot be framed as records",
    },
    Broken {
        file: "garbage-between.sdr",
        good: &[("faxbox", 1), ("faxbox", 2)],
        good_offsets: &[0, 226],
        bad_offset: 208,
        reason: "cannot be decoded",
    },
    Broken {
        file: "huge-length.sdr",
        // The 6-byte header of 2 GB is one broken stretch; reading goes on
        // with the records after it.
        good: &[("faxbox", 1), ("faxbox", 2), ("faxbox", 3)],
        good_offsets: &[0, 214, 428],
        bad_offset: 208,
        reason: "longer than the largest record read",
    },
];

#[test]
fn every_broken_file_is_covered() {
    let mut covered: Vec<&str> = BROKEN.iter().map(|b| b.file).collect();
    covered.sort();
    let present: Vec<String> = names_in(&fixtures().join("broken"), "sdr")
        .into_iter()
        .map(|n| format!("{n}.sdr"))
        .collect();
    assert_eq!(present, covered);
}

fn check_broken(case: &Broken) {
    let path = fixtures().join("broken").join(case.file);
    let got = inspect(&path);
    assert_eq!(
        got.code, 1,
        "{}: exit code; stderr: {}",
        case.file, got.stderr
    );
    assert_eq!(
        got.sdrs.len(),
        case.good.len(),
        "{}: good records",
        case.file
    );
    assert_eq!(got.offsets, case.good_offsets, "{}: offsets", case.file);
    for (n, (source, line)) in case.good.iter().enumerate() {
        let want = &source_values(source)[line - 1];
        assert_eq!(&got.sdrs[n], want, "{}: good record {}", case.file, n + 1);
    }
    // Exactly one fault, naming the file and the bad record's offset.
    let lines: Vec<&str> = got.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}: stderr {:?}", case.file, got.stderr);
    let line = lines[0];
    assert!(
        line.contains(&path.display().to_string()),
        "{}: stderr names the file: {line}",
        case.file
    );
    let offset = format!("offset {}", case.bad_offset);
    let at = line
        .find(&offset)
        .unwrap_or_else(|| panic!("{}: stderr names {offset}: {line}", case.file));
    assert!(
        !line[at + offset.len()..].starts_with(|c: char| c.is_ascii_digit()),
        "{}: {offset} is the whole number: {line}",
        case.file
    );
    assert!(line.contains(case.reason), "{}: {line}", case.file);
}

#[test]
fn broken_truncated() {
    check_broken(&BROKEN[0]);
}

#[test]
fn broken_garbage_between() {
    check_broken(&BROKEN[1]);
}

#[test]
fn broken_huge_length() {
    check_broken(&BROKEN[2]);
}

#[test]
fn broken_files_through_the_library() {
    let open = |f: &str| Input::open(&fixtures().join("broken").join(f)).unwrap();

    // Truncated: two records, then the rest of the file as a broken tail.
    let input = open("truncated.sdr");
    let items: Vec<_> = input.records().collect();
    assert_eq!(items.len(), 3);
    assert!(items[..2].iter().all(|r| r.is_ok()));
    let tail = items[2].as_ref().unwrap_err();
    assert_eq!(tail.offset, 507);
    assert_eq!(tail.bytes.len(), input.bytes().len() - 507);
    assert!(matches!(tail.error, FrameError::Truncated { .. }));

    // Garbage: framed, so the reader steps over it; only decoding fails.
    let input = open("garbage-between.sdr");
    let recs: Vec<_> = input.records().map(|r| r.unwrap()).collect();
    assert_eq!(
        recs.iter().map(|r| r.offset).collect::<Vec<_>>(),
        [0, 208, 226]
    );
    assert!(read::decode(recs[0].bytes).is_ok());
    assert!(read::decode(recs[1].bytes).is_err());
    assert!(read::decode(recs[2].bytes).is_ok());

    // Huge outer length: its header alone is broken (up to the next
    // record, at 214), and the two records after it are read.
    let input = open("huge-length.sdr");
    let items: Vec<_> = input.records().collect();
    assert_eq!(items.len(), 4);
    let tail = items[1].as_ref().unwrap_err();
    assert_eq!(tail.offset, 208);
    assert_eq!(tail.bytes.len(), 6);
    assert_eq!(
        tail.error,
        FrameError::TooLong {
            length: 6 + 0x7fff_ffff,
            max: read::MAX_RECORD_BYTES as u64
        }
    );
    assert_eq!(items[2].as_ref().unwrap().offset, 214);
    assert_eq!(items[3].as_ref().unwrap().offset, 428);
}
