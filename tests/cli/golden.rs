//! Golden outputs of the main job of README.md: `sdrate rate fixtures/`
//! with the shipped price lists and customers, at a fixed pricing time.
//! Every report and CSV file of the output directory, and `sdrate inspect`
//! of every file of SDRs, is a reviewed snapshot under `snapshots/`.
//!
//! A change of output fails here with a diff. When the change is meant,
//! review and accept the new snapshots (`cargo insta review`, or run with
//! `INSTA_UPDATE=always` and read the `.snap` files in `git diff`).

use std::fs;
use std::path::Path;

use crate::common::{PRICING_TIME, ROOT, files, run, sdrate, sdrate_in};

/// How each output file is shown in its snapshot.
enum Shown {
    /// Text, as written.
    Text,
    /// SDRs: what `sdrate inspect` prints.
    Inspect,
    /// Bytes that are not records (broken.dat): a hex dump.
    Hex,
}

fn shown(name: &str) -> Shown {
    match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some("sdr") => Shown::Inspect,
        Some("dat") => Shown::Hex,
        Some("csv" | "json" | "jsonl" | "svg") => Shown::Text,
        _ => panic!("{name}: a new kind of output; say how its snapshot shows it"),
    }
}

/// `sdrate rate fixtures/ --out OUT` in the repository root, as README.md
/// runs it (default price lists and customers), at `threads` threads.
fn main_job(out: &Path, threads: &str) {
    let r = run(sdrate()
        .args(["-q", "rate", "fixtures/", "--out"])
        .arg(out)
        .args(["--pricing-time", PRICING_TIME, "--threads", threads]));
    // The fixtures carry one of each fault on purpose: exit code 1.
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stderr, "", "-q prints nothing but errors");
}

/// The version of sdrate (in summary.json and manifest.json, and in the
/// service pricing identifier of every pricing module), replaced so that a
/// release does not change every snapshot.
fn without_version(name: &str, text: String) -> String {
    let v = env!("CARGO_PKG_VERSION");
    let (field, identifier) = (
        format!("\"sdrate_version\": \"{v}\""),
        format!("\"servicePricingIdentifier\":\"sdrate {v}\""),
    );
    if name.ends_with(".json") {
        assert!(text.contains(&field), "{name} names the version");
    }
    text.replace(&field, "\"sdrate_version\": \"[version]\"")
        .replace(
            &identifier,
            "\"servicePricingIdentifier\":\"sdrate [version]\"",
        )
}

/// The text of one output file for its snapshot. Run in the output
/// directory, so that `inspect` names files relative to it.
fn text_of(out: &Path, name: &str, bytes: &[u8]) -> String {
    let text = match shown(name) {
        Shown::Text => {
            let text = String::from_utf8(bytes.to_vec())
                .unwrap_or_else(|e| panic!("{name} is not UTF-8: {e}"));
            without_version(name, text)
        }
        Shown::Inspect => {
            let r = run(sdrate_in(out).args(["inspect", name]));
            assert_eq!((r.code, r.stderr.as_str()), (0, ""), "inspect {name}");
            without_version(name, r.stdout)
        }
        Shown::Hex => bytes
            .chunks(32)
            .map(|c| hex::encode(c) + "\n")
            .collect::<String>(),
    };
    for (place, path) in [("output directory", out), ("repository", Path::new(ROOT))] {
        let path = path.display().to_string();
        assert!(!text.contains(&path), "{name} names the {place} {path}");
    }
    text
}

#[test]
fn main_job_outputs_match_their_reviewed_snapshots() {
    let t = tempfile::tempdir().unwrap();
    let (one, two) = (t.path().join("one"), t.path().join("two"));
    main_job(&one, "1");
    main_job(&two, "2");
    let outputs = files(&one);
    // Byte-identical at any thread count, reports and run id included.
    assert!(
        outputs == files(&two),
        "the outputs differ between 1 and 2 threads"
    );

    // The list of outputs is a snapshot too: a file that appears or goes
    // away is a change to review.
    let listing: String = outputs
        .iter()
        .map(|(name, bytes)| format!("{name} {}\n", bytes.len()))
        .collect();
    insta::assert_snapshot!("rate_files", listing);

    let mut reports = 0;
    for (name, bytes) in &outputs {
        let text = text_of(&one, name, bytes);
        if matches!(shown(name), Shown::Text) {
            reports += 1;
        }
        insta::assert_snapshot!(format!("rate_{}", name.replace('/', "_")), text);
    }
    assert!(reports >= 10, "{reports} reports");

    // The snapshots hold real prices, not just faults.
    let costs = fs::read_to_string(one.join("costs.csv")).unwrap();
    assert!(costs.lines().count() > 1, "{costs}");
}
