//! Priced records for analytics (`--export parquet,jsonl`): one row per
//! priced usage module and per priced participation, whose individual
//! prices add up to summary.json's totals to the last digit, one row per
//! faulted record (as summary.json counts them), in files the manifest
//! lists, byte for byte the same at any thread count. The expected values
//! of single rows are worked out from the fixtures and price lists.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMicrosecondType, UInt16Type, UInt32Type};
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
            // Fault rows have no price (and no currency).
            if price.is_null(i) {
                assert!(cur.is_null(i));
                continue;
            }
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
        if r["status"] == "fault" {
            assert!(r["individual_price"].is_null() && r["currency"].is_null());
            continue;
        }
        assert_eq!(r["status"], "priced");
        let v: Decimal = r["individual_price"].as_str().unwrap().parse().unwrap();
        *from_json
            .entry(r["currency"].as_str().unwrap().to_owned())
            .or_insert(Decimal::ZERO) += v;
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

/// The JSON row of priced-usage.jsonl for SDR `id`.
fn usage_row(rows: &[Value], id: u64) -> &Value {
    rows.iter()
        .find(|r| r["sdr_identifier"] == id)
        .unwrap_or_else(|| panic!("no row for SDR {id}"))
}

#[test]
fn export_usage_rows_carry_group_items_list_vat_and_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    rate(&out, "2");
    let usage = jsonl(&out.join("priced-usage.jsonl"));

    // fixtures/broadband.sdr, SDR 4401: C00042 (megacom, no group), a
    // logon at 2026-11-20T19:02:10+01:00 of 64 s and 18230 octets, priced
    // by bb-megacom-base r1 (VAT 25 %): event 0.10 + time 2 started
    // minutes × 0.02 + volume 1 started MB × 0.05 = 0.19.
    let bb = usage_row(&usage, 4401);
    assert_eq!(bb["customer"], "C00042");
    assert_eq!(bb["marketing_company"], "megacom");
    assert!(bb["customer_group"].is_null());
    assert_eq!(bb["service"], "BB");
    assert_eq!(bb["items"], serde_json::json!(["event", "time", "volume"]));
    assert_eq!(bb["start_of_use"], "2026-11-20T18:02:10Z");
    assert_eq!(bb["day"], "2026-11-20");
    assert_eq!(
        (bb["seconds"].as_u64(), bb["events"].as_u64()),
        (Some(64), Some(1))
    );
    assert_eq!(bb["units"], 18230);
    assert_eq!(bb["price_list"], "bb-megacom-base");
    assert_eq!(bb["revision"], 1);
    assert_eq!(bb["currency"], "SEK");
    assert_eq!(bb["vat_percent"], "25");
    assert_eq!(bb["basic_price"], "0.19");
    assert_eq!(bb["individual_price"], "0.19");
    assert!(bb["fault_cause"].is_null());

    // fixtures/vpn.sdr, SDR 2201: C00300 is megacom's, group corporate; an
    // on-net call from 2026-11-20T08:30:00+01:00 of 312 s. Basic (base
    // list, 0.2 a minute in 30 s then 6 s steps): 312 s = 1.04; the
    // group list vpn-megacom-corporate r1 takes 10 % off: 0.936 -> 0.94,
    // VAT from the base list: 25 %.
    let vpn = usage_row(&usage, 2201);
    assert_eq!(vpn["customer_group"], "corporate");
    assert_eq!(vpn["items"], serde_json::json!(["call"]));
    assert_eq!(vpn["start_of_use"], "2026-11-20T07:30:00Z");
    assert_eq!(vpn["seconds"], 312);
    assert_eq!(vpn["price_list"], "vpn-megacom-corporate");
    assert_eq!(vpn["revision"], 1);
    assert_eq!(vpn["vat_percent"], "25");
    assert_eq!(vpn["basic_price"], "1.04");
    assert_eq!(vpn["individual_price"], "0.94");
    assert_eq!(vpn["file"], "fixtures/vpn.sdr");
    assert_eq!(vpn["offset"], 0);

    // The same row in Parquet.
    let f = fs::File::open(out.join("priced-usage.parquet")).unwrap();
    let mut reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap();
    let batch = reader.next().unwrap().unwrap();
    let ids = batch["sdr_identifier"].as_primitive::<UInt32Type>();
    let i = (0..batch.num_rows())
        .find(|&i| ids.is_valid(i) && ids.value(i) == 2201)
        .unwrap();
    let text = |c: &str| batch[c].as_string::<i32>().value(i).to_owned();
    assert_eq!(text("customer_group"), "corporate");
    assert_eq!(text("price_list"), "vpn-megacom-corporate");
    assert_eq!(batch["revision"].as_primitive::<UInt16Type>().value(i), 1);
    let items = batch["items"].as_list::<i32>().value(i);
    assert_eq!(items.as_string::<i32>().value(0), "call");
    assert_eq!(items.len(), 1);
    // 2026-11-20T07:30:00Z in microseconds since 1970.
    let start = batch["start_of_use"].as_primitive::<TimestampMicrosecondType>();
    assert_eq!(start.value(i), 1_795_159_800_000_000);
    let money = |c: &str| {
        let a = batch[c].as_any().downcast_ref::<Decimal128Array>().unwrap();
        Decimal::from_i128_with_scale(a.value(i), 18).normalize()
    };
    assert_eq!(money("vat_percent"), Decimal::from(25));
    assert_eq!(
        money("individual_price"),
        "0.94".parse::<Decimal>().unwrap()
    );

    // Participations: C00300's group too (p3 of the conference).
    let parts = jsonl(&out.join("participations.jsonl"));
    let p3 = parts.iter().find(|r| r["customer"] == "C00300").unwrap();
    assert_eq!(p3["customer_group"], "corporate");
    assert_eq!(p3["items"], serde_json::json!(["usage"]));
}

#[test]
fn export_has_one_fault_row_per_faulted_record() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    rate(&out, "2");
    let usage = jsonl(&out.join("priced-usage.jsonl"));
    let faulted = summary(&out)["faulted"].as_u64().unwrap();
    let faults: Vec<&Value> = usage.iter().filter(|r| r["status"] == "fault").collect();
    assert!(faulted > 0);
    assert_eq!(faults.len() as u64, faulted);

    // fixtures/faults.sdr, its first record: SDR 1301 of spe-1, a VCC
    // call of C04711, whom the customer registry does not know.
    let f = usage_row(&usage, 1301);
    assert_eq!(f["status"], "fault");
    assert_eq!(f["fault_cause"], "unableToLocateServiceUser");
    assert_eq!(
        f["fault_detail"],
        "customer `C04711` is not in the customer registry"
    );
    assert_eq!(f["producer"], "spe-1");
    assert_eq!(f["customer"], "C04711");
    assert_eq!(f["marketing_company"], "megacom");
    assert_eq!(f["service"], "VCC");
    assert_eq!(
        (f["file"].as_str(), f["offset"].as_u64()),
        (Some("fixtures/faults.sdr"), Some(0))
    );
    for c in [
        "basic_price",
        "individual_price",
        "vat_percent",
        "currency",
        "price_list",
        "items",
        "start_of_use",
    ] {
        assert!(f[c].is_null(), "{c} of a fault row is {}", f[c]);
    }

    // Parquet: the same count, prices null.
    let file = fs::File::open(out.join("priced-usage.parquet")).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut n = 0;
    for batch in reader {
        let batch = batch.unwrap();
        let status = batch["status"].as_string::<i32>();
        let price = &batch["individual_price"];
        for i in 0..batch.num_rows() {
            if status.value(i) == "fault" {
                assert!(price.is_null(i));
                n += 1;
            }
        }
    }
    assert_eq!(n, faulted);
}
