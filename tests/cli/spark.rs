//! `sdrate spark scan` and `sdrate spark price`: the Arrow exchange with
//! Spark, driven as Spark drives it (Arrow IPC streams through pipes) and
//! held against `sdrate rate` on the same inputs.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema};

use crate::common::{PRICING_TIME, ROOT, repo, run, sdrate, summary};

/// Runs `sdrate ARGS` in the repository root with `input` on stdin; its
/// stdout, which must be all it wrote there (the command must succeed).
fn pipe(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sdrate"));
    crate::scrub(&mut cmd)
        .current_dir(ROOT)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    out.stdout
}

/// An IPC stream of one `path` column, in batches of the given sizes.
fn paths_stream(paths: &[String], sizes: &[usize]) -> Vec<u8> {
    let schema = Arc::new(Schema::new(vec![Field::new("path", DataType::Utf8, false)]));
    let mut w = StreamWriter::try_new(Vec::new(), &schema).unwrap();
    let mut rest = paths;
    for &n in sizes {
        let (now, later) = rest.split_at(n);
        let col: ArrayRef = Arc::new(StringArray::from_iter_values(now));
        w.write(&RecordBatch::try_new(schema.clone(), vec![col]).unwrap())
            .unwrap();
        rest = later;
    }
    assert!(rest.is_empty());
    w.into_inner().unwrap()
}

fn batches(stream: &[u8]) -> Vec<RecordBatch> {
    StreamReader::try_new(stream, None)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The same rows, cut into batches of the given sizes (the last takes the
/// rest).
fn rebatch(stream: &[u8], sizes: &[usize]) -> Vec<u8> {
    let all = batches(stream);
    let schema = all[0].schema();
    let total: usize = all.iter().map(RecordBatch::num_rows).sum();
    let mut w = StreamWriter::try_new(Vec::new(), &schema).unwrap();
    let (mut at, mut sizes) = (0, sizes.iter());
    while at < total {
        let n = sizes.next().copied().unwrap_or(total - at).min(total - at);
        let mut cols: Vec<ArrayRef> = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            let rows = (at..at + n).map(|r| locate(&all, r));
            let col: ArrayRef = match f.data_type() {
                DataType::Utf8 => Arc::new(StringArray::from_iter(
                    rows.map(|(b, r)| text(&all[b], i, r)),
                )),
                DataType::Binary => Arc::new(BinaryArray::from_iter(rows.map(|(b, r)| {
                    let c = all[b].column(i).as_binary::<i32>();
                    c.is_valid(r).then(|| c.value(r).to_vec())
                }))),
                DataType::Int64 => Arc::new(Int64Array::from_iter(rows.map(|(b, r)| {
                    let c = all[b].column(i).as_primitive::<Int64Type>();
                    c.is_valid(r).then(|| c.value(r))
                }))),
                other => panic!("no column of type {other}"),
            };
            cols.push(col);
        }
        w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap())
            .unwrap();
        at += n;
    }
    w.into_inner().unwrap()
}

/// Batch and row of the `row`th row of `all`.
fn locate(all: &[RecordBatch], mut row: usize) -> (usize, usize) {
    for (b, batch) in all.iter().enumerate() {
        if row < batch.num_rows() {
            return (b, row);
        }
        row -= batch.num_rows();
    }
    panic!("row out of range")
}

fn text(batch: &RecordBatch, col: usize, row: usize) -> Option<String> {
    let c = batch.column(col).as_string::<i32>();
    c.is_valid(row).then(|| c.value(row).to_owned())
}

/// A priced row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Priced {
    file: String,
    offset: i64,
    outcome: String,
    priced: Vec<u8>,
    cause: Option<String>,
}

fn priced_rows(stream: &[u8]) -> Vec<Priced> {
    let mut rows = Vec::new();
    for b in batches(stream) {
        let col = |name: &str| b.column_by_name(name).unwrap().clone();
        let (file, offset, outcome, priced, cause) = (
            col("source_file"),
            col("offset"),
            col("outcome"),
            col("priced"),
            col("fault_cause"),
        );
        let (file, outcome, cause) = (
            file.as_string::<i32>(),
            outcome.as_string::<i32>(),
            cause.as_string::<i32>(),
        );
        let (offset, priced) = (
            offset.as_primitive::<Int64Type>(),
            priced.as_binary::<i32>(),
        );
        for r in 0..b.num_rows() {
            rows.push(Priced {
                file: file.value(r).to_owned(),
                offset: offset.value(r),
                outcome: outcome.value(r).to_owned(),
                priced: priced.value(r).to_vec(),
                cause: cause.is_valid(r).then(|| cause.value(r).to_owned()),
            });
        }
    }
    rows
}

/// Row counts of a scan stream by record_kind.
fn kinds(scan: &[u8]) -> BTreeMap<String, u64> {
    let mut n = BTreeMap::new();
    for b in batches(scan) {
        let k = b.column_by_name("record_kind").unwrap().as_string::<i32>();
        for r in 0..b.num_rows() {
            *n.entry(k.value(r).to_owned()).or_default() += 1;
        }
    }
    n
}

/// The priced bytes of each file's priced rows, concatenated in offset
/// order: what `rate` writes into priced/<name>.
fn priced_by_file(rows: &[Priced]) -> BTreeMap<String, Vec<u8>> {
    let mut sorted: Vec<&Priced> = rows.iter().collect();
    sorted.sort_by(|a, b| (&a.file, a.offset).cmp(&(&b.file, b.offset)));
    let mut out: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for r in sorted {
        let bytes = out.entry(r.file.clone()).or_default();
        if r.outcome == "priced" {
            bytes.extend_from_slice(&r.priced);
        }
    }
    out
}

fn price_args() -> Vec<&'static str> {
    vec!["spark", "price", "--pricing-time", PRICING_TIME]
}

/// Holds the exchange's result on `inputs` against `rate`'s on the same.
fn check_against_rate(inputs: &[String], scan: &[u8], priced: &[u8]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let r = run(sdrate()
        .args(["-q", "rate"])
        .args(inputs)
        .arg("--out")
        .arg(&out)
        .args(["--pricing-time", PRICING_TIME]));
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let s = summary(&out);
    let rows = priced_rows(priced);
    let count = |o: &str| rows.iter().filter(|r| r.outcome == o).count() as u64;
    assert_eq!(count("fault"), s["faulted"].as_u64().unwrap(), "{s}");
    assert_eq!(count("priced"), s["priced"].as_u64().unwrap(), "{s}");
    assert_eq!(count("duplicate"), s["duplicates"].as_u64().unwrap());
    assert_eq!(count("priceRequest"), s["price_requests"].as_u64().unwrap());
    assert_eq!(count("notPriced"), s["not_priced"].as_u64().unwrap());
    let k = kinds(scan);
    let events =
        k.get("eventRow").copied().unwrap_or(0) + k.get("badEventRow").copied().unwrap_or(0);
    let records: u64 = k.values().sum::<u64>() - events;
    assert_eq!(records, s["records_read"].as_u64().unwrap(), "{k:?}");
    assert_eq!(
        events,
        s["sessions"]["event_log_rows"].as_u64().unwrap(),
        "{k:?}"
    );
    // A comparison of nothing would pass anything.
    assert!(count("priced") > 0);
    let by_file = priced_by_file(&rows);
    for input in inputs.iter().filter(|i| !is_event_log(i)) {
        let name = Path::new(input.trim_end_matches(".gz").trim_end_matches(".zst"))
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let want = fs::read(out.join("priced").join(&name)).unwrap();
        let got = by_file.get(input).cloned().unwrap_or_default();
        assert!(
            got == want,
            "{input}: {} bytes, rate wrote {}",
            got.len(),
            want.len()
        );
    }
}

fn is_event_log(p: &str) -> bool {
    [".csv", ".jsonl", ".ndjson"].iter().any(|x| p.ends_with(x))
}

/// Every fixture `rate fixtures/` reads, the broken ones and a gzipped
/// copy of one.
fn fixture_inputs(tmp: &Path) -> Vec<String> {
    let mut inputs = Vec::new();
    for dir in ["fixtures", "fixtures/broken"] {
        let mut names: Vec<String> = fs::read_dir(repo(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| p.ends_with(".sdr") || is_event_log(p))
            .collect();
        names.sort();
        inputs.extend(names);
    }
    let gz = tmp.join("vpn-copy.sdr.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&fs::read(repo("fixtures/vpn.sdr")).unwrap())
        .unwrap();
    fs::write(&gz, e.finish().unwrap()).unwrap();
    inputs.push(gz.to_string_lossy().into_owned());
    inputs
}

#[test]
fn spark_price_matches_rate_on_the_fixtures() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = fixture_inputs(tmp.path());
    let scan = pipe(
        &["spark", "scan"],
        &paths_stream(&inputs, &[3, inputs.len() - 3]),
    );
    let k = kinds(&scan);
    for kind in ["sdr", "sessionEvent", "broken", "eventRow"] {
        assert!(k.contains_key(kind), "{kind} not scanned: {k:?}");
    }
    let priced = pipe(&price_args(), &scan);
    check_against_rate(&inputs, &scan, &priced);
    // The gzipped copy is read whole, and every SDR of it is a duplicate.
    let rows = priced_rows(&priced);
    let copy = rows.iter().filter(|r| r.file.ends_with(".gz"));
    assert!(copy.clone().count() > 0);
    assert!(
        copy.clone().all(|r| r.outcome == "duplicate"),
        "{:?}",
        copy.collect::<Vec<_>>()
    );
    // Faults say why.
    assert!(
        rows.iter()
            .filter(|r| r.outcome == "fault")
            .all(|r| r.cause.is_some())
    );
}

#[test]
fn spark_scan_and_price_are_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = fixture_inputs(tmp.path());
    let paths = paths_stream(&inputs, &[inputs.len()]);
    let scan = pipe(&["spark", "scan"], &paths);
    assert_eq!(scan, pipe(&["spark", "scan"], &paths));
    let once = pipe(&price_args(), &scan);
    let mut one_thread = price_args();
    one_thread.extend(["--threads", "1"]);
    assert_eq!(once, pipe(&price_args(), &scan), "a retried task differs");
    assert_eq!(once, pipe(&one_thread, &scan), "the thread count shows");
}

#[test]
fn spark_generated_input_in_three_batches_prices_as_one() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("generated.sdr");
    let r = run(sdrate()
        .args(["generate", "--count", "20000", "--seed", "7", "-o"])
        .arg(&input));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inputs = vec![input.to_string_lossy().into_owned()];
    let scan = pipe(&["spark", "scan"], &paths_stream(&inputs, &[1]));
    // Bounded batches: 20000 records do not come as one.
    assert!(batches(&scan).len() >= 3);
    let one = pipe(&price_args(), &rebatch(&scan, &[usize::MAX]));
    assert_eq!(batches(&one).len(), 1);
    let three = pipe(&price_args(), &rebatch(&scan, &[1, 12_345]));
    assert_eq!(batches(&three).len(), 3);
    let rows = priced_rows(&one);
    assert_eq!(rows.len(), 20_000);
    assert_eq!(rows, priced_rows(&three));
    check_against_rate(&inputs, &scan, &three);
}

#[test]
fn spark_names_what_is_wrong_with_its_input() {
    // No `path` column.
    let schema = Arc::new(Schema::new(vec![Field::new("file", DataType::Utf8, false)]));
    let col: ArrayRef = Arc::new(StringArray::from_iter_values(["fixtures/vpn.sdr"]));
    let mut w = StreamWriter::try_new(Vec::new(), &schema).unwrap();
    w.write(&RecordBatch::try_new(schema, vec![col]).unwrap())
        .unwrap();
    let stream = w.into_inner().unwrap();
    let r = run(sdrate().args(["spark", "scan"]).write_stdin(stream.clone()));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("no column `path`"), "{}", r.stderr);
    assert!(r.stdout_bytes.len() < 1024, "no rows on stdout");
    // A file that is not there is named.
    let paths = paths_stream(&["fixtures/no-such.sdr".to_owned()], &[1]);
    let r = run(sdrate().args(["spark", "scan"]).write_stdin(paths));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("no-such.sdr"), "{}", r.stderr);
    // Price needs the pricing time: no clock is read.
    let r = run(sdrate().args(["spark", "price"]).write_stdin(stream));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--pricing-time"), "{}", r.stderr);
}

/// The records of an SDR file, as framed.
fn frames(path: &Path) -> Vec<Vec<u8>> {
    if !path.exists() {
        return Vec::new();
    }
    let input = sdrate::read::Input::open(path).unwrap();
    input
        .records()
        .map(|r| {
            r.unwrap_or_else(|b| panic!("broken at {}", b.offset))
                .bytes
                .to_vec()
        })
        .collect()
}

/// The session rows of a priced stream, gathered as the cluster gathers
/// them: by session, then arrival (the file's place among `inputs`, then
/// offset), as one stream of the columns `--grouped` reads.
fn gathered(priced: &[u8], inputs: &[String]) -> Vec<u8> {
    let mut rows = Vec::new();
    for b in batches(priced) {
        let s = |n: &str| b.column_by_name(n).unwrap().as_string::<i32>().clone();
        let (file, kind, sid, outcome) = (
            s("source_file"),
            s("record_kind"),
            s("session_id"),
            s("outcome"),
        );
        let offset = b
            .column_by_name("offset")
            .unwrap()
            .as_primitive::<Int64Type>();
        let raw = b.column_by_name("priced").unwrap().as_binary::<i32>();
        for r in 0..b.num_rows() {
            if outcome.value(r) != "sessionEvent" || sid.is_null(r) {
                continue;
            }
            let order = inputs.iter().position(|i| i == file.value(r)).unwrap();
            rows.push((
                sid.value(r).to_owned(),
                order,
                offset.value(r),
                file.value(r).to_owned(),
                kind.value(r).to_owned(),
                raw.value(r).to_vec(),
            ));
        }
    }
    rows.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
    session_stream(&rows)
}

type SessionRow = (String, usize, i64, String, String, Vec<u8>);

fn session_stream(rows: &[SessionRow]) -> Vec<u8> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("source_file", DataType::Utf8, false),
        Field::new("offset", DataType::Int64, false),
        Field::new("record_kind", DataType::Utf8, false),
        Field::new("session_id", DataType::Utf8, false),
        Field::new("raw", DataType::Binary, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.3))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.4))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))),
        Arc::new(BinaryArray::from_iter_values(rows.iter().map(|r| &r.5))),
    ];
    let mut w = StreamWriter::try_new(Vec::new(), &schema).unwrap();
    w.write(&RecordBatch::try_new(schema, cols).unwrap())
        .unwrap();
    w.into_inner().unwrap()
}

/// Rows of a session stream: outcome, the `priced` bytes, `events`.
fn session_out(stream: &[u8]) -> Vec<(String, Option<Vec<u8>>, Option<i64>)> {
    let mut rows = Vec::new();
    for b in batches(stream) {
        let outcome = b.column_by_name("outcome").unwrap().as_string::<i32>();
        let priced = b.column_by_name("priced").unwrap().as_binary::<i32>();
        let events = b
            .column_by_name("events")
            .unwrap()
            .as_primitive::<Int64Type>();
        for r in 0..b.num_rows() {
            rows.push((
                outcome.value(r).to_owned(),
                priced.is_valid(r).then(|| priced.value(r).to_vec()),
                events.is_valid(r).then(|| events.value(r)),
            ));
        }
    }
    rows
}

#[test]
fn spark_grouped_prices_every_session_as_rate_does() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = fixture_inputs(tmp.path());
    let scan = pipe(&["spark", "scan"], &paths_stream(&inputs, &[inputs.len()]));
    let priced = pipe(&price_args(), &scan);
    let sessions = gathered(&priced, &inputs);
    let mut grouped = price_args();
    grouped.push("--grouped");
    let out = pipe(&grouped, &sessions);
    let rows = session_out(&out);

    let out_dir = tmp.path().join("rate");
    let r = run(sdrate()
        .args(["-q", "rate"])
        .args(&inputs)
        .arg("--out")
        .arg(&out_dir)
        .args(["--pricing-time", PRICING_TIME]));
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let s = summary(&out_dir)["sessions"].clone();
    let count = |o: &str| rows.iter().filter(|r| r.0 == o).count() as u64;
    let events: i64 = rows.iter().filter_map(|r| r.2).sum();
    // The fixtures' four sessions, of 36 events and 10 participations
    // (docs/sessions.md); the copy in the .gz input is all duplicates.
    assert_eq!(count("sessionPriced"), 4);
    assert_eq!(
        count("sessionPriced"),
        s["sessions_priced"].as_u64().unwrap()
    );
    assert_eq!(events, 36);
    assert_eq!(events as u64, s["events_priced"].as_u64().unwrap());
    assert_eq!(
        count("participation"),
        s["participations"].as_u64().unwrap()
    );
    assert_eq!(
        count("duplicateEvent"),
        s["duplicate_events"].as_u64().unwrap()
    );
    assert_eq!(count("fault"), s["events_faulted"].as_u64().unwrap());
    assert_eq!(count("pending"), s["events_pending"].as_u64().unwrap());
    // Byte for byte the participation SDRs `rate` writes.
    let mut ours: Vec<Vec<u8>> = rows
        .iter()
        .filter(|r| r.0 == "participation")
        .map(|r| r.1.clone().unwrap())
        .collect();
    let mut theirs = frames(&out_dir.join("participations.sdr"));
    ours.sort();
    theirs.sort();
    assert_eq!(ours.len(), 10);
    assert!(ours == theirs, "participation SDRs differ from rate's");
    // Deterministic, at any thread count and batching.
    let mut one = grouped.clone();
    one.extend(["--threads", "1"]);
    assert_eq!(out, pipe(&one, &sessions), "the thread count shows");
    let split = pipe(&grouped, &rebatch(&sessions, &[5, 7]));
    assert_eq!(rows, session_out(&split), "batching shows");
}

#[test]
fn spark_grouped_refuses_a_session_whose_rows_are_apart() {
    let inputs: Vec<String> = [
        "fixtures/conference-events.csv",
        "fixtures/game-events.jsonl",
    ]
    .iter()
    .map(|f| repo(f).to_string_lossy().into_owned())
    .collect();
    let scan = pipe(&["spark", "scan"], &paths_stream(&inputs, &[2]));
    let priced = pipe(&price_args(), &scan);
    // Arrival order without gathering: a session's rows split by another's.
    let mut rows = Vec::new();
    for b in batches(&gathered(&priced, &inputs)) {
        let s = |i: usize| b.column(i).as_string::<i32>().clone();
        let (file, kind, sid) = (s(0), s(2), s(3));
        let offset = b.column(1).as_primitive::<Int64Type>();
        let raw = b.column(4).as_binary::<i32>();
        for r in 0..b.num_rows() {
            rows.push((
                sid.value(r).to_owned(),
                0,
                offset.value(r),
                file.value(r).to_owned(),
                kind.value(r).to_owned(),
                raw.value(r).to_vec(),
            ));
        }
    }
    let ids: std::collections::BTreeSet<&String> = rows.iter().map(|r| &r.0).collect();
    assert!(ids.len() >= 2, "{ids:?}");
    let last = rows.pop().unwrap();
    rows.insert(0, last.clone());
    let mut grouped = price_args();
    grouped.push("--grouped");
    let r = run(sdrate().args(&grouped).write_stdin(session_stream(&rows)));
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains(&format!("the rows of session {} are not together", last.0)),
        "{}",
        r.stderr
    );
}

#[test]
fn spark_price_join_refuses_what_lies_outside_the_window_as_rate_state_does() {
    // Priced a year after the fixtures' usage, every SDR is older than
    // the 90-day window: `rate --state` faults each one
    // (tooOldForDuplicateCheck) rather than billing it unchecked.
    let later = "2027-12-01T02:00:00+01:00";
    let tmp = tempfile::tempdir().unwrap();
    let inputs = vec![
        repo("fixtures/vpn.sdr").to_string_lossy().into_owned(),
        repo("fixtures/msgbox.sdr").to_string_lossy().into_owned(),
    ];
    let scan = pipe(&["spark", "scan"], &paths_stream(&inputs, &[2]));
    let args = [
        "spark",
        "price",
        "--pricing-time",
        later,
        "--duplicates",
        "join",
    ];
    let rows = priced_rows(&pipe(&args, &scan));
    let r = run(sdrate()
        .args(["-q", "rate"])
        .args(&inputs)
        .arg("--out")
        .arg(tmp.path().join("out"))
        .arg("--state")
        .arg(tmp.path().join("state"))
        .args(["--pricing-time", later]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s = summary(&tmp.path().join("out"));
    let too_old = rows
        .iter()
        .filter(|r| r.cause.as_deref() == Some("tooOldForDuplicateCheck"))
        .count() as u64;
    assert!(too_old > 0);
    assert_eq!(
        too_old,
        s["faults_by_cause"]["tooOldForDuplicateCheck"]
            .as_u64()
            .unwrap()
    );
    assert_eq!(rows.iter().filter(|r| r.outcome == "priced").count(), 0);
    // The fault keeps the SDR as read, as faults.sdr does.
    let mut ours: Vec<Vec<u8>> = rows
        .iter()
        .filter(|r| r.outcome == "fault")
        .map(|r| r.priced.clone())
        .collect();
    let mut theirs = frames(&tmp.path().join("out/faults.sdr"));
    ours.sort();
    theirs.sort();
    assert!(ours == theirs, "faulted bytes differ");

    // Within the window, `join` leaves copies to the cluster: both
    // copies of vpn.sdr are priced here, each with its duplicate key.
    let twice = vec![inputs[0].clone(), inputs[0].clone()];
    let scan = pipe(&["spark", "scan"], &paths_stream(&twice, &[2]));
    let mut join = price_args();
    join.extend(["--duplicates", "join"]);
    let rows = priced_rows(&pipe(&join, &scan));
    assert!(rows.iter().all(|r| r.outcome == "priced"), "{rows:?}");
    let stream = priced_rows(&pipe(&price_args(), &scan));
    let half = rows.len() / 2;
    assert!(stream[half..].iter().all(|r| r.outcome == "duplicate"));
}
