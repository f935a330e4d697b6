//! Logs a scheduler can keep: every stderr line with its time and level,
//! `--log-format json` for log shippers, `-v` lines per input and phase,
//! and the run's timing in summary.json.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tempfile::TempDir;

use crate::common::{PRICING_TIME, repo, run, sdrate, summary};

/// The fixtures that `rate` reads, with one faulted record (faults.sdr
/// holds two) and an event log.
const INPUTS: [&str; 3] = [
    "fixtures/vpn.sdr",
    "fixtures/faults.sdr",
    "fixtures/conference-events.csv",
];

fn rate(out: &std::path::Path, extra: &[&str]) -> crate::common::Run {
    let mut c = sdrate();
    c.args(extra)
        .arg("rate")
        .args(INPUTS.map(repo))
        .arg("--out")
        .arg(out)
        .args(["--pricing-time", PRICING_TIME]);
    run(&mut c)
}

/// `2026-12-06T17:53:44.902113Z  INFO sdrate: message` → (time, level,
/// message).
fn parse_text_line(line: &str) -> (DateTime<Utc>, &str, &str) {
    let (time, rest) = line.split_once(' ').unwrap_or_else(|| panic!("{line}"));
    let time = DateTime::parse_from_rfc3339(time)
        .unwrap_or_else(|e| panic!("`{time}` is not an RFC 3339 time ({e}): {line}"))
        .to_utc();
    let (level, message) = rest
        .trim_start()
        .split_once(" sdrate: ")
        .unwrap_or_else(|| panic!("no level and `sdrate:` in {line}"));
    (time, level, message)
}

#[test]
fn every_line_has_a_time_and_a_level_and_quiet_keeps_only_warnings() {
    let dir = TempDir::new().unwrap();
    let before = Utc::now();
    let r = rate(&dir.path().join("out"), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lines: Vec<_> = r.stderr.lines().map(parse_text_line).collect();
    assert!(!lines.is_empty());
    for (time, level, _) in &lines {
        assert!(*time >= before - chrono::TimeDelta::seconds(1) && *time <= Utc::now());
        assert_eq!(*level, "INFO", "{}", r.stderr);
    }
    assert!(
        lines[0].2.starts_with(
            "5 records read: 3 priced, 0 price requests, 0 not priced, 0 session events, 2 faulted"
        ),
        "{}",
        r.stderr
    );
    // -q: the end-of-run lines are info, and go; nothing here warns.
    let q = rate(&dir.path().join("out-q"), &["-q"]);
    assert_eq!((q.code, q.stderr.as_str()), (1, ""));
}

#[test]
fn verbose_names_every_input_and_phase() {
    let dir = TempDir::new().unwrap();
    let r = rate(&dir.path().join("out"), &["-v"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let debug: Vec<&str> = r
        .stderr
        .lines()
        .map(parse_text_line)
        .filter(|(_, level, _)| *level == "DEBUG")
        .map(|(_, _, m)| m)
        .collect();
    // One line per input, in the order read, with what it held.
    let inputs: Vec<&&str> = debug
        .iter()
        .filter(|m| m.starts_with("input read and priced"))
        .collect();
    assert_eq!(inputs.len(), 3, "{}", r.stderr);
    for (line, input) in inputs.iter().zip(INPUTS) {
        assert!(line.contains(input), "{line} names {input}");
    }
    assert!(
        inputs[0].contains("records=3 event_rows=0 priced=3 faulted=0"),
        "{}",
        inputs[0]
    );
    assert!(
        inputs[1].contains("records=2 event_rows=0 priced=0 faulted=2"),
        "{}",
        inputs[1]
    );
    // conference-events.csv: 12 rows, one of them bad.
    assert!(
        inputs[2].contains("records=0 event_rows=12 priced=0 faulted=1"),
        "{}",
        inputs[2]
    );
    for phase in [
        "prepared",
        "sessions closed",
        "outputs flushed",
        "published",
    ] {
        assert!(
            debug
                .iter()
                .any(|m| m.starts_with(phase) && m.contains(" ms=")),
            "no `{phase}` line: {}",
            r.stderr
        );
    }
}

#[test]
fn json_log_lines_are_objects_a_shipper_reads() {
    let dir = TempDir::new().unwrap();
    let r = rate(&dir.path().join("out"), &["--log-format", "json", "-v"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let events: Vec<Value> = r
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for e in &events {
        DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap()).unwrap();
        assert!(
            ["INFO", "DEBUG"].contains(&e["level"].as_str().unwrap()),
            "{e}"
        );
        assert!(e["message"].is_string(), "{e}");
    }
    let vpn = events
        .iter()
        .find(|e| {
            e["input"]
                .as_str()
                .is_some_and(|i| i.ends_with("fixtures/vpn.sdr"))
        })
        .unwrap_or_else(|| panic!("no line for vpn.sdr: {}", r.stderr));
    assert_eq!(vpn["message"], "input read and priced");
    assert_eq!(
        (vpn["records"].as_u64(), vpn["priced"].as_u64()),
        (Some(3), Some(3))
    );
    // The environment variable does the same.
    let env = run(sdrate()
        .env("SDRATE_LOG_FORMAT", "json")
        .args(["inspect", "/no/such/file.sdr"]));
    assert_eq!(env.code, 4);
    let e: Value = serde_json::from_str(env.stderr.trim()).unwrap();
    assert_eq!(e["level"], "ERROR");
    assert!(
        e["message"].as_str().unwrap().contains("/no/such/file.sdr"),
        "{e}"
    );
}

#[test]
fn the_summary_says_when_the_run_started_and_ended_and_how_fast_it_went() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let before = Utc::now();
    let r = rate(&out, &["-q"]);
    let after = Utc::now();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s = summary(&out);
    assert_eq!(s["pricing_time"], "2026-11-22T02:00:00+01:00");
    let t = &s["timing"];
    let time = |k: &str| DateTime::parse_from_rfc3339(t[k].as_str().unwrap()).unwrap();
    let (started, ended) = (time("started"), time("ended"));
    // Milliseconds: the clock read is truncated, never rounded up.
    assert!(started >= before - chrono::TimeDelta::milliseconds(1) && ended <= after);
    let duration = t["duration_ms"].as_u64().unwrap();
    // Both ends are truncated to the millisecond, the duration too.
    assert!(
        (ended - started)
            .num_milliseconds()
            .abs_diff(duration as i64)
            <= 1,
        "{t}"
    );
    // 5 SDRs and 12 event-log rows in a duration of [ms, ms + 1) ms.
    let rps = t["records_per_second"].as_u64().unwrap();
    assert!(rps >= 17_000 / (duration + 1), "{t}");
    if let Some(most) = 17_000u64.checked_div(duration) {
        assert!(rps <= most, "{t}");
    }
    let phases: u64 = ["prepare", "read_and_price", "sessions", "outputs", "report"]
        .iter()
        .map(|p| {
            t["phases_ms"][p]
                .as_u64()
                .unwrap_or_else(|| panic!("{p}: {t}"))
        })
        .sum();
    assert!(phases <= duration, "{t}");
    // The manifest carries the same summary.
    let manifest = crate::common::json_file(&out.join("manifest.json"));
    assert_eq!(&manifest["summary"]["timing"], t);
}

#[test]
fn a_rerate_summary_has_its_timing_too() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    assert_eq!(rate(&out, &["-q"]).code, 1);
    let again = dir.path().join("again");
    let r = run(sdrate()
        .args(["-q", "rerate"])
        .arg(&out)
        .arg("--out")
        .arg(&again)
        .args(["--pricing-time", PRICING_TIME]));
    assert!(r.code <= 1, "{}", r.stderr);
    let t = &summary(&again)["timing"];
    let started = DateTime::parse_from_rfc3339(t["started"].as_str().unwrap()).unwrap();
    let ended = DateTime::parse_from_rfc3339(t["ended"].as_str().unwrap()).unwrap();
    assert!(ended >= started, "{t}");
    assert!(
        t["duration_ms"].is_u64() && t["records_per_second"].is_u64(),
        "{t}"
    );
    assert_eq!(summary(&again)["pricing_time"], "2026-11-22T02:00:00+01:00");
}
