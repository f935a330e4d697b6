//! Price requests are answered to the Service Producing Element that asked
//! (the seed: the SDR "shall be returned to the Service Producing
//! Element"): besides the combined answers.sdr, `answers/<producer>.sdr`
//! holds each producer's answers in input order, in `rate`, `recycle` and
//! `rerate` alike.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::common::{PRICING_TIME, ROOT, encode, files, inspect, repo, run_in, shipped, summary};

/// The price requests of the fixtures (a VPN call of spe-3, an SATM
/// connection of spe-4) and a billing SDR, as `encode` reads them.
fn fixture_sdrs() -> (Value, Value, Value) {
    let all = inspect(&repo("fixtures/every_type.sdr"));
    let by_id = |id: u64| {
        let r = all
            .iter()
            .find(|r| r["sdr"]["serviceHeader"]["sdrIdentifier"] == id)
            .unwrap_or_else(|| panic!("fixture SDR {id}"));
        json!({"sdr": r["sdr"].clone()})
    };
    (by_id(1004), by_id(1005), by_id(1001))
}

fn with(sdr: &Value, id: u32, producer: &str) -> Value {
    let mut s = sdr.clone();
    s["sdr"]["serviceHeader"]["sdrIdentifier"] = json!(id);
    s["sdr"]["serviceHeader"]["producerIdentity"] = json!(producer);
    s
}

/// The input: price requests of two producers interleaved, one of an
/// identity that is no plain file name, and a billing SDR among them.
fn input(dir: &Path) {
    let (vpn, satm, billing) = fixture_sdrs();
    encode(
        dir,
        "in.jsonl",
        "in.sdr",
        &[
            with(&vpn, 1, "spe-3"),
            with(&satm, 2, "spe-4"),
            with(&billing, 3, "fax-1"),
            with(&vpn, 4, "spe-4"),
            with(&satm, 5, "spe-3"),
            with(&vpn, 6, "Odd/Prod"),
            with(&vpn, 7, "spe-3"),
        ],
    );
}

fn rate(dir: &Path, out: &str, threads: &str) {
    let r = crate::common::shipped(
        dir,
        "rate",
        "in.sdr",
        out,
        PRICING_TIME,
        &["--threads", threads],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// (producer, SDR identifier) of every SDR of a file, in order.
fn ids(file: &Path) -> Vec<(String, u64)> {
    inspect(file)
        .iter()
        .map(|r| {
            let h = &r["sdr"]["serviceHeader"];
            (
                h["producerIdentity"].as_str().unwrap().to_owned(),
                h["sdrIdentifier"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn expected_files() -> BTreeMap<&'static str, Vec<(String, u64)>> {
    let of = |p: &str, ids: &[u64]| ids.iter().map(|i| (p.to_owned(), *i)).collect();
    BTreeMap::from([
        ("answers/spe-3.sdr", of("spe-3", &[1, 5, 7])),
        ("answers/spe-4.sdr", of("spe-4", &[2, 4])),
        // Capitals and `/` escaped: `O` 4F, `/` 2F, `P` 50.
        ("answers/%4Fdd%2F%50rod.sdr", of("Odd/Prod", &[6])),
    ])
}

/// Each producer's file holds its answers, in input order, and nothing
/// else; together they are answers.sdr.
fn assert_per_producer(out: &Path) {
    let all = files(out);
    let answer_files: Vec<&str> = all
        .keys()
        .filter(|k| k.starts_with("answers/"))
        .map(String::as_str)
        .collect();
    let expected = expected_files();
    assert_eq!(
        answer_files,
        expected.keys().copied().collect::<Vec<_>>(),
        "one file per producer answered (not fax-1: it asked no price)"
    );
    let mut union = Vec::new();
    for (name, want) in &expected {
        assert_eq!(&ids(&out.join(name)), want, "{name}");
        union.extend(want.iter().cloned());
    }
    let mut combined = ids(&out.join("answers.sdr"));
    assert_eq!(
        combined.iter().map(|(_, i)| *i).collect::<Vec<_>>(),
        [1, 2, 4, 5, 6, 7],
        "answers.sdr: every answer in input order"
    );
    combined.sort();
    union.sort();
    assert_eq!(combined, union);
    // Byte for byte: each producer file is its records of answers.sdr.
    let total: usize = expected.keys().map(|n| all[*n].len()).sum();
    assert_eq!(total, all["answers.sdr"].len());
}

fn assert_counted(summary: &Value) {
    assert_eq!(summary["answers_by_producer"]["producers"], 3);
    assert_eq!(summary["answers_by_producer"]["unlisted_answers"], 0);
    assert_eq!(
        summary["answers_by_producer"]["first"],
        json!([
            {"producer": "spe-3", "file": "answers/spe-3.sdr", "answers": 3},
            {"producer": "spe-4", "file": "answers/spe-4.sdr", "answers": 2},
            {"producer": "Odd/Prod", "file": "answers/%4Fdd%2F%50rod.sdr", "answers": 1},
        ])
    );
}

#[test]
fn price_requests_are_answered_to_the_producer_that_asked() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    input(d);
    rate(d, "one", "1");
    rate(d, "two", "2");
    assert_per_producer(&d.join("one"));
    assert_counted(&summary(&d.join("one")));
    assert_eq!(
        files(&d.join("one")),
        files(&d.join("two")),
        "byte-identical at any thread count"
    );
}

#[test]
fn rerate_answers_each_producer_as_rate_does() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    input(d);
    rate(d, "out", "1");
    let r = shipped(d, "rerate", "out", "again", PRICING_TIME, &[]);
    assert!(r.code <= 1, "{}", r.stderr);
    // rerate reads the earlier answers.sdr, not answers/ too: each answer
    // once.
    assert_per_producer(&d.join("again"));
    assert_counted(&summary(&d.join("again")));
    assert!(fs::metadata(d.join("again/answers")).unwrap().is_dir());
}

#[test]
fn recycled_price_requests_are_answered_to_their_producers() {
    // The VPN price requests (1, 4, 6, 7) name a customer the registry of
    // the first night lacks: they fault and wait in suspense. The recycle,
    // once the registry knows the customer, answers each to the producer
    // that asked, in the order they first came.
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    input(d);
    let (vpn, _, _) = fixture_sdrs();
    let customer = vpn["sdr"]["serviceHeader"]["customerIdentity"]
        .as_str()
        .unwrap()
        .to_owned();
    let full = fs::read_to_string(repo("price_lists/customers.csv")).unwrap();
    let without: String = full
        .lines()
        .filter(|l| !l.starts_with(&format!("{customer},")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without.len(), full.len(), "{customer} is in the registry");
    fs::write(d.join("customers.csv"), without).unwrap();
    let lists = format!("{ROOT}/price_lists");
    let common = [
        "--price-lists",
        lists.as_str(),
        "--customers",
        "customers.csv",
        "--state",
        "state",
    ];
    let mut args = vec!["rate", "in.sdr", "--out", "night"];
    args.extend_from_slice(&common);
    args.extend_from_slice(&["--pricing-time", PRICING_TIME]);
    assert_eq!(run_in(d, &args).code, 1);
    assert_eq!(
        ids(&d.join("night/answers/spe-3.sdr")),
        [("spe-3".to_owned(), 5)]
    );
    assert_eq!(
        ids(&d.join("night/answers/spe-4.sdr")),
        [("spe-4".to_owned(), 2)]
    );
    fs::write(d.join("customers.csv"), full).unwrap();
    let mut args = vec!["recycle", "--out", "recycled"];
    args.extend_from_slice(&common);
    args.extend_from_slice(&["--pricing-time", "2026-11-23T02:00:00+01:00"]);
    let r = run_in(d, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = d.join("recycled");
    let of = |p: &str, ids: &[u64]| ids.iter().map(|i| (p.to_owned(), *i)).collect::<Vec<_>>();
    assert_eq!(ids(&out.join("answers/spe-3.sdr")), of("spe-3", &[1, 7]));
    assert_eq!(ids(&out.join("answers/spe-4.sdr")), of("spe-4", &[4]));
    assert_eq!(
        ids(&out.join("answers/%4Fdd%2F%50rod.sdr")),
        of("Odd/Prod", &[6])
    );
    assert_eq!(
        ids(&out.join("answers.sdr"))
            .iter()
            .map(|(_, i)| *i)
            .collect::<Vec<_>>(),
        [1, 4, 6, 7]
    );
    assert_eq!(summary(&out)["answers_by_producer"]["producers"], 3);
}
