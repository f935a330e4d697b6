//! Priced records for analytics (`--export parquet,jsonl`): one row per
//! priced usage module and per priced participation, whose individual
//! prices add up to summary.json's totals to the last digit, in files the
//! manifest lists, byte for byte the same at any thread count.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use arrow_array::{Array, Decimal128Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::common::{PRICING_TIME, json_file, run, sdrate, summary};

/// The README's main job with `--export parquet,jsonl` (and `threads`).
fn rate(out: &Path, threads: &str) {
    let r = run(sdrate()
        .args(["-q", "rate", "fixtures/", "--out"])
        .arg(out)
        .args(["--pricing-time", PRICING_TIME])
        .args(["--threads", threads, "--export", "parquet,jsonl"]));
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
}

/// summary.json's individual totals per currency (over marketing
/// companies).
fn summary_totals(out: &Path) -> BTreeMap<String, Decimal> {
    let mut t = BTreeMap::new();
    for (currency, companies) in summary(out)["totals"].as_object().unwrap() {
        for m in companies.as_object().unwrap().values() {
            let v: Decimal = m["individual"].as_str().unwrap().parse().unwrap();
            *t.entry(currency.clone()).or_insert(Decimal::ZERO) += v;
        }
    }
    t
}

fn jsonl(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Per-currency sums of individual_price and the row count of a Parquet
/// file, read back with the parquet crate's reader.
fn parquet_sums(path: &Path, sums: &mut BTreeMap<String, Decimal>) -> usize {
    let f = fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap();
    let mut rows = 0;
    for batch in reader {
        let batch: RecordBatch = batch.unwrap();
        let cur = batch
            .column_by_name("currency")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let price = batch
            .column_by_name("individual_price")
            .unwrap()
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .unwrap();
        assert_eq!(price.scale(), 18);
        for i in 0..batch.num_rows() {
            let v = Decimal::from_i128_with_scale(price.value(i), 18);
            *sums.entry(cur.value(i).to_owned()).or_insert(Decimal::ZERO) += v;
        }
        rows += batch.num_rows();
    }
    rows
}

#[test]
fn export_totals_match_the_summary_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    rate(&out, "2");
    let want = summary_totals(&out);
    assert!(!want.is_empty());

    let usage = jsonl(&out.join("priced-usage.jsonl"));
    let parts = jsonl(&out.join("participations.jsonl"));
    assert!(!usage.is_empty() && !parts.is_empty());
    let mut from_json = BTreeMap::new();
    for r in usage.iter().chain(&parts) {
        let v: Decimal = r["individual_price"].as_str().unwrap().parse().unwrap();
        *from_json
            .entry(r["currency"].as_str().unwrap().to_owned())
            .or_insert(Decimal::ZERO) += v;
        assert_eq!(r["status"], "priced");
    }
    assert_eq!(from_json, want);
    assert_eq!(usage[0]["file"], "fixtures/broadband.sdr");

    let mut from_parquet = BTreeMap::new();
    let n = parquet_sums(&out.join("priced-usage.parquet"), &mut from_parquet);
    assert_eq!(n, usage.len());
    let n = parquet_sums(&out.join("participations.parquet"), &mut from_parquet);
    assert_eq!(n, parts.len());
    assert_eq!(from_parquet, want);
}

#[test]
fn export_files_are_in_the_manifest_and_independent_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (one, four) = (dir.path().join("one"), dir.path().join("four"));
    rate(&one, "1");
    rate(&four, "4");
    let names = [
        "participations.jsonl",
        "participations.parquet",
        "priced-usage.jsonl",
        "priced-usage.parquet",
    ];
    for n in names {
        assert_eq!(
            fs::read(one.join(n)).unwrap(),
            fs::read(four.join(n)).unwrap(),
            "{n} differs between 1 and 4 threads"
        );
    }
    let manifest = json_file(&one.join("manifest.json"));
    let listed: Vec<(String, u64)> = manifest["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["hash"].as_str().unwrap().len(), 32);
            (
                e["path"].as_str().unwrap().to_owned(),
                e["size"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = names
        .iter()
        .map(|n| (n.to_string(), fs::metadata(one.join(n)).unwrap().len()))
        .collect();
    assert_eq!(listed, want);
}

#[test]
fn export_from_the_environment_and_none_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = run(sdrate()
        .env("SDRATE_EXPORT", "jsonl")
        .args(["-q", "rate", "fixtures/", "--out"])
        .arg(&out)
        .args(["--pricing-time", PRICING_TIME]));
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    assert!(out.join("priced-usage.jsonl").exists());
    assert!(!out.join("priced-usage.parquet").exists());

    let plain = dir.path().join("plain");
    let r = run(sdrate()
        .args(["-q", "rate", "fixtures/", "--out"])
        .arg(&plain)
        .args(["--pricing-time", PRICING_TIME]));
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    assert!(!plain.join("priced-usage.jsonl").exists());
    assert!(
        json_file(&plain.join("manifest.json"))
            .get("exports")
            .is_none()
    );
}
