//! Hostile input and operator edges where nothing may be lost or hang:
//! faulted JSON-lines rows kept byte for byte, `encode` writing only what
//! reads back (and atomically), configuration failures as exit 3, a closed
//! output pipe as a quiet stop, FIFOs refused by name.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

use crate::common::{PRICING_TIME, ROOT, Run, csv_rows, run, summary};

/// `sdrate` in the repository root, stopped after a minute: nothing here
/// may hang.
fn sdrate() -> Command {
    let mut c = crate::common::sdrate();
    c.timeout(Duration::from_secs(60));
    c
}

fn rate_with(price_lists: &Path, customers: &Path, out: &Path) -> Run {
    run(sdrate()
        .args(["rate", "fixtures/vpn.sdr", "--out"])
        .arg(out)
        .arg("--price-lists")
        .arg(price_lists)
        .arg("--customers")
        .arg(customers)
        .args(["--pricing-time", PRICING_TIME]))
}

// ---- item 8: configuration failures are exit 3 ----

#[test]
fn missing_customers_file_is_a_configuration_error() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("no-customers.csv");
    let r = rate_with(Path::new("price_lists"), &missing, &t.path().join("o"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("no-customers.csv"), "{}", r.stderr);
}

#[test]
fn missing_price_list_directory_is_a_configuration_error() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("no-lists");
    let r = rate_with(
        &missing,
        Path::new("price_lists/customers.csv"),
        &t.path().join("o"),
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("no-lists"), "{}", r.stderr);
}

#[test]
fn price_list_that_is_not_utf8_is_a_configuration_error() {
    let t = tempfile::tempdir().unwrap();
    let lists = t.path().join("lists");
    fs::create_dir(&lists).unwrap();
    fs::write(lists.join("latin1.toml"), b"id = \"caf\xe9\"\n").unwrap();
    let r = rate_with(
        &lists,
        Path::new("price_lists/customers.csv"),
        &t.path().join("o"),
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("latin1.toml"), "{}", r.stderr);
}

#[test]
fn symlink_loop_in_price_lists_is_a_configuration_error_naming_it() {
    let t = tempfile::tempdir().unwrap();
    let lists = t.path().join("lists");
    fs::create_dir(&lists).unwrap();
    std::os::unix::fs::symlink(Path::new(ROOT).join("price_lists"), lists.join("shipped")).unwrap();
    std::os::unix::fs::symlink(".", lists.join("again")).unwrap();
    let r = rate_with(
        &lists,
        Path::new("price_lists/customers.csv"),
        &t.path().join("o"),
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link loop"), "{}", r.stderr);
    assert!(r.stderr.contains("again"), "{}", r.stderr);
    assert!(!r.stderr.contains("unknown field"), "{}", r.stderr);
}

// ---- item 8: a closed output pipe, a FIFO as input ----

#[test]
fn inspect_into_a_closed_pipe_stops_quietly_with_success() {
    let t = tempfile::tempdir().unwrap();
    let big = t.path().join("big.sdr");
    let one = fs::read(Path::new(ROOT).join("fixtures/every_type.sdr")).unwrap();
    fs::write(&big, one.repeat(2000)).unwrap();
    let mut child = crate::scrub(&mut std::process::Command::new(
        assert_cmd::cargo::cargo_bin("sdrate"),
    ))
    .arg("inspect")
    .arg(&big)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone (as `| head -1` leaves it).
    assert!(first.starts_with('{'), "{first}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn fifo_named_as_input_is_refused_by_name_not_waited_on() {
    let t = tempfile::tempdir().unwrap();
    let fifo = t.path().join("spool.sdr");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let r = run(sdrate()
        .arg("inspect")
        .arg(&fifo)
        .timeout(Duration::from_secs(20)));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("spool.sdr"), "{}", r.stderr);
    assert!(r.stderr.contains("FIFO"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

// ---- item 6: encode writes only what reads back, atomically ----

/// The first record of a fixture as `inspect` prints it.
fn inspected(fixture: &str) -> Value {
    let r = run(sdrate().args(["inspect", fixture]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let first = r.stdout_bytes.split(|&b| b == b'\n').next().unwrap();
    serde_json::from_slice(first).unwrap()
}

#[test]
fn encode_refuses_unknown_items_that_would_not_read_back() {
    let t = tempfile::tempdir().unwrap();
    let good = inspected("fixtures/vpn.sdr");
    let mut bad = good.clone();
    // A constructed tag promising 0x64 bytes that are not there.
    bad["sdr"]["serviceHeader"]["unknownItems"] = serde_json::json!(["bf8764"]);
    let input = t.path().join("in.jsonl");
    fs::write(&input, format!("{good}\n{bad}\n{good}\n")).unwrap();
    let out = t.path().join("out.sdr");
    let r = run(sdrate().arg("encode").arg(&input).arg("-o").arg(&out));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
    // Only the two good records, and they read back.
    let read = run(sdrate().arg("inspect").arg(&out));
    assert_eq!(read.code, 0, "{}", read.stderr);
    let lines: Vec<Value> = read
        .stdout_bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["sdr"], good["sdr"]);
    assert_eq!(lines[1]["sdr"], good["sdr"]);
}

#[test]
fn failed_encode_leaves_no_file_and_keeps_an_earlier_one() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out.sdr");
    let r = run(sdrate()
        .arg("encode")
        .arg(t.path().join("missing.jsonl"))
        .arg("-o")
        .arg(&out));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(!out.exists(), "a failed encode left {}", out.display());
    fs::write(&out, b"earlier").unwrap();
    let r = run(sdrate()
        .arg("encode")
        .arg(t.path().join("missing.jsonl"))
        .arg("-o")
        .arg(&out));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(fs::read(&out).unwrap(), b"earlier");
    // Nothing else beside it either (no temporary file left).
    assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1);
}

// ---- item 5: faulted JSON lines are kept byte for byte ----

#[test]
fn faulted_json_lines_are_kept_byte_for_byte_and_recycled() {
    let t = tempfile::tempdir().unwrap();
    let good = fs::read_to_string(Path::new(ROOT).join("fixtures/game-events.jsonl")).unwrap();
    let first = good.lines().next().unwrap();
    // Invalid JSON, a line that is not an object, an unknown key (the
    // rest of the row good), and a line too long to hold.
    let unknown = first.replacen('{', "{\"colour\": \"red\",  ", 1);
    let long = format!("{{\"session_id\": \"{}\"}}", "x".repeat(1 << 20));
    let bad = [
        "{\"session_id\": oops".to_owned(),
        "[1, 2, 3]".to_owned(),
        unknown,
        long,
    ];
    let mut input = good.clone();
    for b in &bad {
        input.push_str(b);
        input.push('\n');
    }
    let events = t.path().join("events.jsonl");
    fs::write(&events, &input).unwrap();
    let kept: Vec<u8> = bad
        .iter()
        .flat_map(|b| format!("{b}\n").into_bytes())
        .collect();

    let (out, state) = (t.path().join("out"), t.path().join("state"));
    let r = run(sdrate()
        .arg("rate")
        .arg(&events)
        .arg("--out")
        .arg(&out)
        .arg("--state")
        .arg(&state)
        .args(["--pricing-time", PRICING_TIME]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(fs::read(out.join("faulted-events.jsonl")).unwrap(), kept);
    // No empty CSV rows in their place: the header only.
    let csv = fs::read_to_string(out.join("faulted-events.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1, "{csv}");
    assert_eq!(fs::read(state.join("suspense-events.jsonl")).unwrap(), kept);

    // A recycle reads them again (still faulty) and keeps them as they are.
    let again = t.path().join("again");
    let r = run(sdrate()
        .arg("recycle")
        .arg("--state")
        .arg(&state)
        .arg("--out")
        .arg(&again)
        .args(["--pricing-time", PRICING_TIME]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let summary = summary(&again);
    assert_eq!(summary["sessions"]["event_rows_faulted"], 4, "{summary}");
    assert_eq!(fs::read(again.join("faulted-events.jsonl")).unwrap(), kept);
    assert_eq!(fs::read(state.join("suspense-events.jsonl")).unwrap(), kept);
}

// ---- item 8: the fuzz crate's lockfile is current ----

/// The fuzz crate is its own workspace with its own lockfile; when the main
/// crate gains or drops a dependency and fuzz/Cargo.lock is not brought
/// along, a build of the fuzz targets on a fresh clone rewrites it.
#[test]
fn fuzz_lockfile_lists_exactly_the_crates_dependencies() {
    let manifest: toml::Table = fs::read_to_string(Path::new(ROOT).join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let mut wanted: Vec<String> = manifest["dependencies"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(name, spec)| {
            spec.get("package")
                .and_then(|p| p.as_str())
                .unwrap_or(name)
                .to_owned()
        })
        .collect();
    for (_, target) in manifest["target"].as_table().unwrap() {
        if let Some(deps) = target.get("dependencies").and_then(|d| d.as_table()) {
            wanted.extend(deps.keys().cloned());
        }
    }
    wanted.sort();
    wanted.dedup();
    let lock: toml::Table = fs::read_to_string(Path::new(ROOT).join("fuzz/Cargo.lock"))
        .unwrap()
        .parse()
        .unwrap();
    let sdrate = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str() == Some("sdrate"))
        .expect("sdrate in fuzz/Cargo.lock");
    let mut locked: Vec<String> = sdrate["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().split(' ').next().unwrap().to_owned())
        .collect();
    locked.sort();
    locked.dedup();
    assert_eq!(
        locked, wanted,
        "run `cargo metadata --format-version 1` in fuzz/"
    );
}

/// Two runs into one `--out`: while one holds the output location's lock,
/// another exits 5 (locked) and touches nothing there, not even the first
/// run's `.NAME.partial`.
#[test]
fn a_second_run_into_the_same_out_is_refused_and_touches_nothing() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("o");
    // The first run, mid-way: its lock held, its partial output present.
    let lock = fs::File::create(t.path().join(".o.lock")).unwrap();
    lock.lock().unwrap();
    let partial = t.path().join(".o.partial");
    fs::create_dir(&partial).unwrap();
    fs::write(partial.join("priced.sdr"), b"first run").unwrap();
    let r = crate::sdrate_command()
        .args(["-q", "rate", "fixtures/vpn.sdr", "--out"])
        .arg(&out)
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("another sdrate run is writing"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(fs::read(partial.join("priced.sdr")).unwrap(), b"first run");
    assert!(!out.exists());
    // Once the first run is gone, the next one rates.
    drop(lock);
    let r = crate::sdrate_command()
        .args(["-q", "rate", "fixtures/vpn.sdr", "--out"])
        .arg(&out)
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert!(
        r.status.code().unwrap() <= 1,
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(out.join("manifest.json").is_file());
}

// ---- item 1: broken bytes never enter a file of records ----

/// How many records `sdrate inspect` reads from `file`, and whether it
/// framed all of it (nothing reported on standard error).
fn inspect_count(file: &Path) -> (usize, String) {
    let r = run(sdrate().arg("inspect").arg(file));
    let n = r
        .stdout_bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    (n, r.stderr)
}

#[test]
fn a_broken_tail_stays_out_of_faults_and_suspense_and_recycle_names_the_origin() {
    let t = tempfile::tempdir().unwrap();
    let customers = t.path().join("customers.csv");
    fs::copy(
        Path::new(ROOT).join("price_lists/customers.csv"),
        &customers,
    )
    .unwrap();
    let (out, state) = (t.path().join("o"), t.path().join("st"));
    let common = |c: &mut Command| {
        c.arg("--customers")
            .arg(&customers)
            .arg("--state")
            .arg(&state)
            .args(["--pricing-time", PRICING_TIME]);
    };
    // truncated.sdr: two records, then 267 bytes of a 307-byte record.
    // faults.sdr: two records that fault (C04711 unknown; HOLO unlisted).
    let mut c = sdrate();
    c.args([
        "rate",
        "fixtures/broken/truncated.sdr",
        "fixtures/faults.sdr",
        "--out",
    ])
    .arg(&out);
    common(&mut c);
    let r = run(&mut c);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Every BER file written frames whole: both faults read back.
    for kept in [out.join("faults.sdr"), state.join("suspense.sdr")] {
        let (n, stderr) = inspect_count(&kept);
        assert_eq!(n, 2, "{}: {stderr}", kept.display());
        assert!(stderr.is_empty(), "{}: {stderr}", kept.display());
    }
    // The broken tail is in a file of its own, with where it came from.
    let tail = fs::read(Path::new(ROOT).join("fixtures/broken/truncated.sdr")).unwrap();
    assert_eq!(fs::read(out.join("broken.dat")).unwrap(), tail[507..]);
    assert_eq!(
        fs::read(state.join("suspense-broken.dat")).unwrap(),
        tail[507..]
    );
    let row = &csv_rows(&out.join("broken.csv"))[0];
    assert_eq!(
        row[..5],
        ["0", "267", "fixtures/broken/truncated.sdr", "507", "267"]
    );
    assert!(row[5].contains("truncated"), "{row:?}");

    // The registry learns C04711: the recycle prices 1301, and its fault
    // rows name the original inputs, offsets and lengths.
    let mut reg = fs::read_to_string(&customers).unwrap();
    reg.push_str("C04711,megacom,\n");
    fs::write(&customers, reg).unwrap();
    let again = t.path().join("r1");
    let mut c = sdrate();
    c.arg("recycle").arg("--out").arg(&again);
    common(&mut c);
    let r = run(&mut c);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s = summary(&again);
    assert_eq!(
        (s["records_read"].as_u64(), s["priced"].as_u64()),
        (Some(3), Some(1))
    );
    let rows: Vec<Vec<String>> = csv_rows(&again.join("faults.csv"))
        .into_iter()
        .map(|r| r[..6].to_vec())
        .collect();
    assert_eq!(
        rows,
        [
            [
                "fixtures/faults.sdr",
                "235",
                "207",
                "1302",
                "spe-1",
                "unableToLocateServiceFeatureCode"
            ],
            [
                "fixtures/broken/truncated.sdr",
                "507",
                "267",
                "",
                "",
                "brokenFraming"
            ],
        ]
    );

    // Written off, the tail leaves the suspense area, audited.
    let mut c = sdrate();
    c.args(["recycle", "--write-off-broken", "producer re-sent the file"]);
    common(&mut c);
    let r = run(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // (Left empty: the write-off replaces the suspense files.)
    assert_eq!(
        fs::metadata(state.join("suspense-broken.dat")).map_or(0, |m| m.len()),
        0
    );
    let audit = csv_rows(&state.join("written-off.csv"));
    assert_eq!(audit.len(), 1);
    assert_eq!(
        audit[0][1..],
        [
            "producer re-sent the file",
            "fixtures/broken/truncated.sdr",
            "507",
            "267",
            "truncated: 307 bytes needed, 267 left in the file",
            "0"
        ]
    );
    assert_eq!(
        fs::read(state.join("written-off.dat")).unwrap(),
        tail[507..]
    );
    let last = t.path().join("r2");
    let mut c = sdrate();
    c.arg("recycle").arg("--out").arg(&last);
    common(&mut c);
    run(&mut c);
    assert_eq!(summary(&last)["records_read"], 1);
}

#[test]
fn a_record_over_the_limit_is_kept_and_recycles_whole_under_a_larger_one() {
    let t = tempfile::tempdir().unwrap();
    // A VPN SDR of 1346 bytes: the first of vpn.sdr, another identifier,
    // with an unknown item of 1 KiB that pricing passes through.
    let first = run(sdrate().args(["inspect", "fixtures/vpn.sdr"])).stdout_bytes;
    let mut line: Value =
        serde_json::from_slice(first.split(|b| *b == b'\n').next().unwrap()).unwrap();
    line["sdr"]["serviceHeader"]["sdrIdentifier"] = 9901.into();
    line["sdr"]["unknownItems"] = serde_json::json!([format!("9f8764820400{}", "41".repeat(1024))]);
    let json = t.path().join("big.jsonl");
    fs::write(&json, format!("{line}\n")).unwrap();
    let big = t.path().join("big.sdr");
    let r = run(sdrate().arg("encode").arg(&json).arg("-o").arg(&big));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fs::metadata(&big).unwrap().len(), 1346);
    let mut input = fs::read(Path::new(ROOT).join("fixtures/vpn.sdr")).unwrap();
    let vpn_len = input.len() as u64;
    input.extend(fs::read(&big).unwrap());
    let path = t.path().join("in.sdr");
    fs::write(&path, &input).unwrap();

    let (out, state) = (t.path().join("o"), t.path().join("st"));
    let common = |c: &mut Command| {
        c.arg("--state")
            .arg(&state)
            .args(["--pricing-time", PRICING_TIME]);
    };
    let mut c = sdrate();
    c.arg("rate")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .args(["--max-record-bytes", "1024"]);
    common(&mut c);
    let r = run(&mut c);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s = summary(&out);
    assert_eq!(s["priced"], 3);
    // Cut at the limit: two stretches, at their offsets.
    let rows = csv_rows(&out.join("broken.csv"));
    let at: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[3].as_str(), r[4].as_str()))
        .collect();
    let (a, b) = (vpn_len.to_string(), (vpn_len + 1024).to_string());
    assert_eq!(at, [(a.as_str(), "1024"), (b.as_str(), "322")]);
    assert!(
        rows[0][5].contains("longer than the largest record"),
        "{rows:?}"
    );

    // Recycled under the default limit, the two stretches are one record
    // again: priced, and the suspense area is empty.
    let again = t.path().join("r1");
    let mut c = sdrate();
    c.arg("recycle").arg("--out").arg(&again);
    common(&mut c);
    let r = run(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = summary(&again);
    assert_eq!(
        (s["records_read"].as_u64(), s["priced"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        fs::metadata(state.join("suspense-broken.dat"))
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn max_record_bytes_below_one_kibibyte_is_a_usage_error() {
    let r = run(sdrate().args(["inspect", "fixtures/vpn.sdr", "--max-record-bytes", "100"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("max-record-bytes"), "{}", r.stderr);
}

// ---- item 7: no leftovers, and no late failure of --summary-json ----

#[test]
fn a_run_that_fails_while_reading_leaves_no_partial_output_behind() {
    let t = tempfile::tempdir().unwrap();
    let (out, state) = (t.path().join("o"), t.path().join("st"));
    // /proc/self/mem says it is empty and then fails the first read (EIO):
    // an input that breaks after the run has started writing.
    let r = run(sdrate()
        .args(["rate", "fixtures/vpn.sdr", "/proc/self/mem", "--out"])
        .arg(&out)
        .arg("--state")
        .arg(&state)
        .args(["--pricing-time", PRICING_TIME]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("/proc/self/mem"), "{}", r.stderr);
    let left: Vec<String> = fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["st"], "only the state directory is left");
    let mut in_state: Vec<String> = fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    in_state.sort();
    assert!(
        !in_state.iter().any(|n| n == "staged" || n == "STAGED"),
        "{in_state:?}"
    );
}

#[test]
fn an_unwritable_summary_json_is_refused_before_anything_is_rated() {
    let t = tempfile::tempdir().unwrap();
    let (out, state) = (t.path().join("o"), t.path().join("st"));
    let dest = t.path().join("no-such-dir/summary.json");
    let r = run(sdrate()
        .args(["rate", "fixtures/vpn.sdr", "--out"])
        .arg(&out)
        .arg("--state")
        .arg(&state)
        .arg("--summary-json")
        .arg(&dest)
        .args(["--pricing-time", PRICING_TIME]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--summary-json"), "{}", r.stderr);
    assert!(!out.exists(), "nothing published");
    assert!(!state.join("consumed.jsonl").exists(), "nothing consumed");
    // Fixed, the same run goes through and the scheduler gets its summary.
    let dest = t.path().join("summary.json");
    let r = run(sdrate()
        .args(["rate", "fixtures/vpn.sdr", "--out"])
        .arg(&out)
        .arg("--state")
        .arg(&state)
        .arg("--summary-json")
        .arg(&dest)
        .args(["--pricing-time", PRICING_TIME]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s: Value = serde_json::from_slice(&fs::read(&dest).unwrap()).unwrap();
    assert_eq!(s["priced"], 3);
}

// ---- fault rows formatted by the workers keep input order ----

#[test]
fn record_faults_and_a_broken_tail_are_reported_in_input_order() {
    // Record faults' rows are formatted by the workers and gathered per
    // block; a broken stretch's row is written by the writer. Its row
    // must still come after the faults before it in the same block.
    let t = tempfile::tempdir().unwrap();
    let faults = fs::read(Path::new(ROOT).join("fixtures/faults.sdr")).unwrap();
    let tail = fs::read(Path::new(ROOT).join("fixtures/broken/truncated.sdr")).unwrap();
    let (f1, f2) = faults.split_at(235);
    // Framed, but an INTEGER where the record's fields should be.
    let undecodable: &[u8] = &[0x61, 0x03, 0x02, 0x01, 0x00];
    let input = t.path().join("mixed.sdr");
    fs::write(&input, [f1, undecodable, f2, &tail[507..]].concat()).unwrap();
    let name = input.display().to_string();
    let outs: Vec<_> = [1, 3]
        .into_iter()
        .map(|threads| {
            let out = t.path().join(format!("o{threads}"));
            let r = run(sdrate()
                .arg("rate")
                .arg(&input)
                .arg("--out")
                .arg(&out)
                .args(["--threads", &threads.to_string()])
                .args(["--pricing-time", PRICING_TIME]));
            assert_eq!(r.code, 1, "{}", r.stderr);
            out
        })
        .collect();
    let rows: Vec<Vec<String>> = csv_rows(&outs[0].join("faults.csv"))
        .into_iter()
        .map(|r| [&r[..3], &r[5..6]].concat())
        .collect();
    let at = |n: usize| n.to_string();
    assert_eq!(
        rows,
        [
            [&name, "0", "235", "unableToLocateServiceUser"].map(String::from),
            [name.clone(), at(235), at(5), "undecodable".into()],
            [
                name.clone(),
                at(240),
                at(207),
                "unableToLocateServiceFeatureCode".into()
            ],
            [name.clone(), at(447), at(267), "brokenFraming".into()],
        ]
    );
    // The kept records' index: consecutive positions, in the same order.
    let index = csv_rows(&outs[0].join("faults-index.csv"));
    let kept = fs::read(outs[0].join("faults.sdr")).unwrap();
    let mut position = 0;
    for (row, offset) in index.iter().zip(["0", "235", "240"]) {
        assert_eq!(row[0], position.to_string(), "{index:?}");
        assert_eq!(row[3], offset, "{index:?}");
        position += row[1].parse::<usize>().unwrap();
    }
    assert_eq!((index.len(), position), (3, kept.len()));
    // The same at three threads.
    for file in ["faults.csv", "faults-index.csv", "faults.sdr", "broken.csv"] {
        assert_eq!(
            fs::read(outs[0].join(file)).unwrap(),
            fs::read(outs[1].join(file)).unwrap(),
            "{file}"
        );
    }
}
