//! Regression for the pipelined run loop (the next block is rated while the
//! writer writes the current one): a file of several 2 MiB blocks whose
//! framing breaks near the end gives the same outputs at one and two
//! threads, every good record before the break is read, and the broken rest
//! is kept whole as one fault.

use std::fs;

use assert_cmd::Command;
use serde_json::Value;

fn sdrate() -> Command {
    Command::cargo_bin("sdrate").unwrap()
}

#[test]
fn broken_tail_after_several_blocks_at_one_and_two_threads() {
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join("g.sdr");
    sdrate()
        .args(["generate", "--count", "20000", "--seed", "9", "-o"])
        .arg(&input)
        .assert()
        .success();
    let mut bytes = fs::read(&input).unwrap();
    let good = bytes.len();
    // More than two 2 MiB blocks of records before the break.
    assert!(good > 5 << 20, "{good} bytes");
    // A record whose length says 4 GiB: the rest cannot be framed.
    let tail = [
        0x61, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x03, 0x80, 0x01, 0x01,
    ];
    bytes.extend_from_slice(&tail);
    fs::write(&input, &bytes).unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    for threads in ["1", "2"] {
        sdrate()
            .current_dir(root)
            .arg("rate")
            .arg(&input)
            .arg("--out")
            .arg(t.path().join(format!("out{threads}")))
            .args([
                "--threads",
                threads,
                "--pricing-time",
                "2026-11-22T02:00:00+01:00",
            ])
            .assert()
            .code(1);
    }
    for name in [
        "priced/g.sdr",
        "answers.sdr",
        "not-priced.sdr",
        "session-events.sdr",
        "participations.sdr",
        "faults.sdr",
        "faults.csv",
        "summary.json",
    ] {
        let a = fs::read(t.path().join("out1").join(name)).unwrap();
        let b = fs::read(t.path().join("out2").join(name)).unwrap();
        assert!(a == b, "{name} differs between 1 and 2 threads");
    }
    let summary: Value =
        serde_json::from_slice(&fs::read(t.path().join("out1/summary.json")).unwrap()).unwrap();
    // 20,000 records, and the broken rest counted as one.
    assert_eq!(summary["records_read"], 20001);
    assert_eq!(summary["faults_by_cause"]["broken framing"], 1);
    assert_eq!(summary["accounting_identity_holds"], true);
    // The fault report names the offset where framing broke, and the
    // fault file ends with the broken bytes, kept whole.
    let report = fs::read_to_string(t.path().join("out1/faults.csv")).unwrap();
    let line = report
        .lines()
        .find(|l| l.contains("broken framing"))
        .expect("a broken-framing row");
    assert!(line.contains(&format!(",{good},")), "{line}");
    let faults = fs::read(t.path().join("out1/faults.sdr")).unwrap();
    assert!(faults.ends_with(&tail));
}
