//! The speed issue's shards: session events are routed to their sessions
//! by several threads (`group::shards`, one shard per thread), and every
//! output is byte-identical at any thread count.

use std::path::Path;

use crate::common::{files, sdrate, summary};

/// Rates `inputs` into `dir/out-T` on `threads` threads.
fn rate(dir: &Path, inputs: &[&Path], threads: usize) -> std::path::PathBuf {
    let out = dir.join(format!("out-{threads}"));
    sdrate()
        .arg("rate")
        .args(inputs)
        .arg("--out")
        .arg(&out)
        .args(["--threads", &threads.to_string()])
        .args(["--pricing-time", "2026-11-22T02:00:00+01:00"])
        .assert()
        .code(1);
    out
}

/// 6,000 generated session events of 300 sessions at a time, into `path`.
fn session_events(path: &Path) {
    sdrate()
        .args(["generate", "--count", "6000", "--seed", "11"])
        .args(["--sessions", "300", "-o"])
        .arg(path)
        .assert()
        .success();
}

#[test]
fn session_routing_by_shards_is_identical_at_any_thread_count() {
    let t = tempfile::tempdir().unwrap();
    let (first, again, other) = (
        t.path().join("sessions.sdr"),
        t.path().join("sessions-again.sdr"),
        t.path().join("other.sdr"),
    );
    session_events(&first);
    sdrate()
        .args(["generate", "--count", "4000", "--seed", "12", "-o"])
        .arg(&other)
        .assert()
        .success();
    // The same events again: copies of sessions already priced (duplicates,
    // or events after their session's end) and of sessions still open; and
    // the mix again, whose billed SDRs are duplicates of the first copies.
    std::fs::copy(&first, &again).unwrap();
    let other_again = t.path().join("other-again.sdr");
    std::fs::copy(&other, &other_again).unwrap();
    let inputs = [
        first.as_path(),
        other.as_path(),
        again.as_path(),
        other_again.as_path(),
    ];
    let one = rate(t.path(), &inputs, 1);
    let s = summary(&one);
    let sessions = &s["sessions"];
    assert!(
        sessions["sessions_priced"].as_u64().unwrap() > 100,
        "{sessions}"
    );
    assert!(
        sessions["duplicate_events"].as_u64().unwrap() > 1000,
        "{sessions}"
    );
    assert!(
        sessions["sessions_pending"].as_u64().unwrap() > 0,
        "{sessions}"
    );
    // Every SDR the mix bills once, the second copy is a duplicate.
    assert_eq!(s["duplicates"], s["priced"], "{s}");
    assert!(s["priced"].as_u64().unwrap() > 2000, "{s}");
    let mut expected = files(&one);
    expected.remove("summary.json");
    expected.remove("manifest.json");
    let without_timing = |out: &Path| {
        let mut s = summary(out);
        s.as_object_mut().unwrap().remove("timing");
        s
    };
    for threads in [2, 3, 5] {
        let out = rate(t.path(), &inputs, threads);
        let mut got = files(&out);
        got.remove("summary.json");
        got.remove("manifest.json");
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>()
        );
        for (name, bytes) in &expected {
            assert!(got[name] == *bytes, "{name} differs at {threads} threads");
        }
        assert_eq!(
            without_timing(&out),
            without_timing(&one),
            "{threads} threads"
        );
    }
}

/// The fault rows of faulted sessions are formatted by the pricing threads
/// and only copied by the writer, the kept SDRs' index rows without their
/// position (`stage::FaultedEvents`). Whatever the thread count, each
/// faulted event's bytes are in `faults.sdr` at the position its index row
/// names, positions follow one another, and the report has a row for each,
/// at the event's offset in its input.
#[test]
fn faulted_session_events_are_kept_with_their_index_and_report_rows() {
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join("sessions.sdr");
    session_events(&input);
    let bytes = std::fs::read(&input).unwrap();
    let name = input.display().to_string();
    let mut outputs = Vec::new();
    for threads in [1, 2] {
        let out = rate(t.path(), &[input.as_path()], threads);
        let s = summary(&out);
        let faulted = s["sessions"]["events_faulted"].as_u64().unwrap();
        assert!(faulted > 20, "{s}");
        let kept = std::fs::read(out.join("faults.sdr")).unwrap();
        let index = crate::common::csv_maps(&out.join("faults-index.csv"));
        let report = crate::common::csv_maps(&out.join("faults.csv"));
        // Every event of the input is a session event: all its faults are.
        assert_eq!(index.len() as u64, faulted);
        assert_eq!(report.len() as u64, faulted);
        let mut position = 0;
        for (row, fault) in index.iter().zip(&report) {
            let n = |k: &str| row[k].parse::<usize>().unwrap();
            assert_eq!(n("position"), position, "{row:?}");
            assert_eq!(row["file"], name);
            assert_eq!(n("length"), n("input_length"));
            let at = n("offset");
            assert_eq!(
                kept[position..position + n("length")],
                bytes[at..at + n("length")],
                "{row:?}"
            );
            // The report's status is the index's cause; its cause, why.
            assert_eq!(
                (
                    &fault["file"],
                    &fault["offset"],
                    &fault["length"],
                    &fault["status"]
                ),
                (&row["file"], &row["offset"], &row["length"], &row["cause"]),
            );
            assert!(!fault["cause"].is_empty(), "{fault:?}");
            position += n("length");
        }
        assert_eq!(position, kept.len());
        outputs.push((kept, std::fs::read(out.join("faults.csv")).unwrap()));
    }
    assert!(
        outputs[0] == outputs[1],
        "faults differ between 1 and 2 threads"
    );
}
