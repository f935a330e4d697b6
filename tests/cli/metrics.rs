//! `--metrics FILE` (issue 23): the Prometheus text file of a `rate` or
//! `recycle` run, read back with a Prometheus text-format parser and held
//! against the run's summary.json, for runs that succeed, fail and exceed
//! a threshold.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use prometheus_parse::{Sample, Scrape, Value};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::common::{PRICING_TIME, run, sdrate, summary};

/// The metrics file at `path`, parsed.
fn scrape(path: &Path) -> Scrape {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Counter(x) | Value::Gauge(x) | Value::Untyped(x) => *x,
        other => panic!("not a plain number: {other:?}"),
    }
}

/// The samples of `metric`, by the value of `label`.
fn by_label(s: &Scrape, metric: &str, label: &str) -> BTreeMap<String, f64> {
    s.samples
        .iter()
        .filter(|x| x.metric == metric)
        .map(|x| (x.labels.get(label).unwrap().to_owned(), number(&x.value)))
        .collect()
}

fn one<'a>(s: &'a Scrape, metric: &str) -> Option<&'a Sample> {
    let mut it = s.samples.iter().filter(|x| x.metric == metric);
    let first = it.next();
    assert!(it.next().is_none(), "{metric} twice");
    first
}

fn value(s: &Scrape, metric: &str) -> f64 {
    number(
        &one(s, metric)
            .unwrap_or_else(|| panic!("no {metric}"))
            .value,
    )
}

fn rate(out: &Path, metrics: &Path, extra: &[&str]) -> crate::common::Run {
    run(sdrate()
        .args(["rate", "fixtures/", "--out"])
        .arg(out)
        .args(["--pricing-time", PRICING_TIME, "--metrics"])
        .arg(metrics)
        .args(extra))
}

#[test]
fn metrics_of_a_run_agree_with_its_summary() {
    let t = tempfile::tempdir().unwrap();
    let prom = t.path().join("textfile/sdrate.prom");
    fs::create_dir(t.path().join("textfile")).unwrap();
    let out = t.path().join("out");
    let r = rate(&out, &prom, &[]);
    assert_eq!(r.code, 1, "the fixtures carry faults: {}", r.stderr);
    let s = scrape(&prom);
    let sum = summary(&out);
    for x in &s.samples {
        assert_eq!(x.labels.get("command"), Some("rate"), "{x:?}");
    }
    let n = |k: &str| sum[k].as_u64().unwrap() as f64;
    let records = by_label(&s, "sdrate_records_total", "outcome");
    let expected: BTreeMap<String, f64> = [
        ("priced", n("priced")),
        ("price_request", n("price_requests")),
        ("not_priced", n("not_priced")),
        ("session_event", n("session_events")),
        ("faulted", n("faulted")),
        ("duplicate", n("duplicates")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(records, expected);
    assert_eq!(records.values().sum::<f64>(), n("records_read"));
    let causes: BTreeMap<String, f64> = sum["faults_by_cause"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as f64))
        .collect();
    assert!(!causes.is_empty());
    assert_eq!(by_label(&s, "sdrate_faults_total", "cause"), causes);
    let sessions = by_label(&s, "sdrate_sessions_total", "outcome");
    let sc = &sum["sessions"];
    assert_eq!(
        sessions["priced"],
        sc["sessions_priced"].as_u64().unwrap() as f64
    );
    assert_eq!(
        sessions["pending"],
        sc["sessions_pending"].as_u64().unwrap() as f64
    );
    assert_eq!(
        sessions["faulted"],
        sc["sessions_faulted"].as_u64().unwrap() as f64
    );
    // Amounts: the sum over marketing companies, per currency and kind.
    let totals = sum["totals"].as_object().unwrap();
    assert!(!totals.is_empty());
    let amounts: Vec<&Sample> = s
        .samples
        .iter()
        .filter(|x| x.metric == "sdrate_amount")
        .collect();
    assert_eq!(amounts.len(), 2 * totals.len());
    for x in amounts {
        let by_company = totals[x.labels.get("currency").unwrap()]
            .as_object()
            .unwrap();
        let kind = x.labels.get("kind").unwrap();
        let exact: Decimal = by_company
            .values()
            .map(|m| m[kind].as_str().unwrap().parse::<Decimal>().unwrap())
            .sum();
        let got = number(&x.value);
        assert!(
            (got - exact.to_f64().unwrap()).abs() < 1e-6,
            "{x:?} {exact}"
        );
    }
    assert_eq!(value(&s, "sdrate_exit_code"), 1.0);
    let duration = value(&s, "sdrate_run_duration_seconds");
    assert!(duration > 0.0 && duration < 600.0, "{duration}");
    let rps = value(&s, "sdrate_records_per_second");
    assert!((rps * duration - n("records_read")).abs() < 1.0, "{rps}");
    let ended = value(&s, "sdrate_last_run_timestamp_seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(ended <= now && ended > now - 600.0, "{ended}");
    assert_eq!(value(&s, "sdrate_last_success_timestamp_seconds"), ended);
    // Every family documented: HELP and TYPE before its samples.
    for name in [
        "sdrate_records_total",
        "sdrate_faults_total",
        "sdrate_sessions_total",
        "sdrate_amount",
        "sdrate_run_duration_seconds",
        "sdrate_records_per_second",
        "sdrate_exit_code",
        "sdrate_last_run_timestamp_seconds",
        "sdrate_last_success_timestamp_seconds",
    ] {
        assert!(s.docs.contains_key(name), "no HELP for {name}");
    }
    // Renamed into place: no temporary file left for the collector.
    let left: Vec<_> = fs::read_dir(t.path().join("textfile"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("sdrate.prom")]);
}

#[test]
fn failed_runs_and_breaches_write_their_exit_code_and_keep_the_last_success() {
    let t = tempfile::tempdir().unwrap();
    let prom = t.path().join("sdrate.prom");
    let r = rate(&t.path().join("a"), &prom, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let success = value(&scrape(&prom), "sdrate_last_success_timestamp_seconds");
    // Configuration that does not load: exit 3, no counts, the success kept.
    let r = rate(
        &t.path().join("b"),
        &prom,
        &["--customers", "no/such/customers.csv"],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let s = scrape(&prom);
    assert_eq!(value(&s, "sdrate_exit_code"), 3.0);
    assert_eq!(value(&s, "sdrate_last_success_timestamp_seconds"), success);
    assert!(value(&s, "sdrate_last_run_timestamp_seconds") >= success);
    assert!(one(&s, "sdrate_records_per_second").is_none());
    assert!(by_label(&s, "sdrate_records_total", "outcome").is_empty());
    // A threshold exceeded: the run published, its counts are there, and
    // its exit code is 6; it is not a success.
    let r = rate(&t.path().join("c"), &prom, &["--max-faults", "0"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    let s = scrape(&prom);
    assert_eq!(value(&s, "sdrate_exit_code"), 6.0);
    assert_eq!(value(&s, "sdrate_last_success_timestamp_seconds"), success);
    let records = by_label(&s, "sdrate_records_total", "outcome");
    assert_eq!(
        records["priced"],
        summary(&t.path().join("c"))["priced"].as_u64().unwrap() as f64
    );
}

#[test]
fn a_metrics_file_that_cannot_be_written_is_refused_before_the_run() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    let r = rate(&out, &t.path().join("no/such/dir/sdrate.prom"), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--metrics"), "{}", r.stderr);
    assert!(!out.exists(), "nothing was rated");
}

#[test]
fn a_recycle_writes_its_own_metrics() {
    let t = tempfile::tempdir().unwrap();
    let state = t.path().join("state");
    let r = run(sdrate()
        .args(["-q", "rate", "fixtures/", "--out"])
        .arg(t.path().join("a"))
        .arg("--state")
        .arg(&state)
        .args(["--pricing-time", PRICING_TIME]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let prom = t.path().join("recycle.prom");
    let out = t.path().join("b");
    let r = run(sdrate()
        .args(["-q", "recycle", "--state"])
        .arg(&state)
        .arg("--out")
        .arg(&out)
        .args(["--pricing-time", PRICING_TIME])
        .env("SDRATE_METRICS", &prom));
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let s = scrape(&prom);
    for x in &s.samples {
        assert_eq!(x.labels.get("command"), Some("recycle"), "{x:?}");
    }
    assert_eq!(value(&s, "sdrate_exit_code"), f64::from(r.code));
    assert_eq!(
        by_label(&s, "sdrate_records_total", "outcome")["faulted"],
        summary(&out)["faulted"].as_u64().unwrap() as f64
    );
}
