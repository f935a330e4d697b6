//! `sdrate rate` worked examples: every expected price computed by hand.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::common::{Call, data_list, encode, sdrate, summary};

fn base(revision: u16, valid_from: &str, offnet: &str) -> String {
    format!(
        r#"
id = "vpn-acme-base"
revision = {revision}
kind = "base"
service = "VPN"
based_on = "vpn-basic"
marketing_company = "acme"
valid_from = "{valid_from}"
currency = "SEK"
vat_percent = "25"

[[charge]]
item = "call"
per = "duration"
price = "{offnet}"
first_increment = 60
next_increment = 1
minimum = "0.45"

[[charge]]
item = "call"
when = {{ callType = "onNet" }}
per = "duration"
price = "0.20"
first_increment = 30
next_increment = 6
minimum = "0.15"
"#
    )
}

const K3: &str = r#"
id = "vpn-K3"
revision = 1
kind = "customer"
service = "VPN"
based_on = "vpn-basic"
marketing_company = "acme"
customer = "K3"
valid_from = "2026-06-01T00:00:00+02:00"

[[charge]]
item = "call"
per = "duration"
price = "0.30"
"#;

fn setup(dir: &Path) {
    let pl = dir.join("lists");
    fs::create_dir_all(&pl).unwrap();
    fs::write(pl.join("basic.toml"), data_list("vpn-basic")).unwrap();
    fs::write(
        pl.join("base-r1.toml"),
        base(1, "2026-01-01T00:00:00+01:00", "0.60"),
    )
    .unwrap();
    fs::write(
        pl.join("base-r2.toml"),
        base(2, "2026-11-21T12:00:00+01:00", "0.55"),
    )
    .unwrap();
    fs::write(pl.join("gold.toml"), data_list("vpn-acme-gold")).unwrap();
    fs::write(pl.join("k3.toml"), K3).unwrap();
    fs::write(
        dir.join("customers.csv"),
        "customer_id,marketing_company,group\nK1,acme,\nK2,acme,gold\nK3,acme,gold\n",
    )
    .unwrap();
}

fn billing(id: u32, customer: &str, start: &str, secs: u64) -> Value {
    Call::new(id, customer, "acme", start, secs).json()
}

/// Encodes `records`, rates them, and returns (exit code, dir).
fn rate(dir: &Path, records: &[Value]) -> i32 {
    encode(dir, "in.jsonl", "in.sdr", records);
    let out = sdrate()
        .args([
            "rate",
            "in.sdr",
            "--out",
            "out",
            "--price-lists",
            "lists",
            "--customers",
            "customers.csv",
            "--pricing-time",
            "2026-11-22T02:00:00+01:00",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    out.status.code().unwrap()
}

/// (sdrIdentifier, basic, individual, table, revision, status) per priced SDR of a file.
fn prices(file: &Path) -> Vec<(u64, String, String, String, u64, String)> {
    let out = sdrate().arg("inspect").arg(file).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let sdr = &v["sdr"];
            let item = &sdr["servicePricingModules"][0]["prices"][0];
            (
                sdr["serviceHeader"]["sdrIdentifier"].as_u64().unwrap(),
                item["basicPrice"].as_str().unwrap().to_owned(),
                item["individualPrice"].as_str().unwrap_or("").to_owned(),
                item["priceTableIdentifier"].as_str().unwrap().to_owned(),
                item["priceTableRevision"].as_u64().unwrap(),
                item["statusIndicator"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn row(
    id: u64,
    basic: &str,
    individual: &str,
    table: &str,
    rev: u64,
) -> (u64, String, String, String, u64, String) {
    (
        id,
        basic.into(),
        individual.into(),
        table.into(),
        rev,
        "priced".into(),
    )
}

#[test]
fn worked_examples_price_by_hand() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let code = rate(
        t.path(),
        &[
            // 125 s off-net under revision 1: 0.60 * 125 / 60 = 1.25.
            billing(1, "K1", "2026-11-21T10:00:00+01:00", 125),
            // One second before revision 2 takes effect: still revision 1.
            billing(2, "K1", "2026-11-21T11:59:59+01:00", 125),
            // At the validity edge, revision 2: 0.55 * 125 / 60 = 1.14583.. -> 1.15.
            billing(3, "K1", "2026-11-21T12:00:00+01:00", 125),
            // Same instant written in UTC: the time of use, not its notation, decides.
            billing(4, "K1", "2026-11-21T11:00:00+00:00", 125),
            // 20 s on-net: 30/6 increments give 30 s -> 0.10, below the 0.15 minimum.
            Call {
                call_type: "onNet",
                ..Call::new(5, "K1", "acme", "2026-11-21T10:00:00+01:00", 20)
            }
            .json(),
            // 61 s off-net: first 60 s then per second -> 61 s -> 0.61.
            billing(6, "K1", "2026-11-21T10:00:00+01:00", 61),
            // Group gold, 10% off: 1.25 * 0.9 = 1.125 -> 1.13 (half away from zero).
            billing(7, "K2", "2026-11-21T10:00:00+01:00", 125),
            // K3's own list: 0.30 * 125 / 60 = 0.625 -> 0.63, not the group's.
            billing(8, "K3", "2026-11-21T10:00:00+01:00", 125),
            // Before K3's list is valid: the group list applies.
            billing(9, "K3", "2026-05-31T10:00:00+02:00", 125),
        ],
    );
    assert_eq!(code, 0);
    let priced = prices(&t.path().join("out/priced/in.sdr"));
    assert_eq!(
        priced,
        vec![
            row(1, "1.25", "1.25", "vpn-acme-base", 1),
            row(2, "1.25", "1.25", "vpn-acme-base", 1),
            row(3, "1.15", "1.15", "vpn-acme-base", 2),
            row(4, "1.15", "1.15", "vpn-acme-base", 2),
            row(5, "0.15", "0.15", "vpn-acme-base", 1),
            row(6, "0.61", "0.61", "vpn-acme-base", 1),
            row(7, "1.25", "1.13", "vpn-acme-gold", 1),
            row(8, "1.25", "0.63", "vpn-K3", 1),
            row(9, "1.25", "1.13", "vpn-acme-gold", 1),
        ]
    );
    let summary = summary(&t.path().join("out"));
    // 1.25+1.25+1.15+1.15+0.15+0.61+1.25+1.25+1.25 = 9.31 basic;
    // individual: 1.25+1.25+1.15+1.15+0.15+0.61+1.13+0.63+1.13 = 8.45.
    assert_eq!(
        summary["totals"]["SEK"]["acme"],
        json!({"basic": "9.31", "individual": "8.45"})
    );
    assert_eq!(summary["priced"], 9);
    assert_eq!(summary["accounting_identity_holds"], true);
}

#[test]
fn faults_not_priced_and_answers_are_accounted_for() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let code = rate(
        t.path(),
        &[
            billing(1, "K1", "2026-11-21T10:00:00+01:00", 125),
            billing(2, "K9", "2026-11-21T10:00:00+01:00", 125),
            Call {
                company: "nobody",
                ..Call::new(3, "K1", "acme", "2026-11-21T10:00:00+01:00", 60)
            }
            .json(),
            Call {
                service: "XYZ",
                ..Call::new(4, "K1", "acme", "2026-11-21T10:00:00+01:00", 60)
            }
            .json(),
            billing(5, "K1", "2025-06-01T10:00:00+02:00", 125),
            Call {
                action: "qualityAssuranceNotPriced",
                sdr_type: "qualityAssurance",
                ..Call::new(6, "K1", "acme", "2026-11-21T10:00:00+01:00", 60)
            }
            .json(),
            Call {
                action: "priceRequest",
                ..Call::new(7, "K1", "acme", "2026-11-21T10:00:00+01:00", 60)
            }
            .json(),
        ],
    );
    assert_eq!(code, 1, "faults give exit code 1");
    let report = fs::read_to_string(t.path().join("out/faults.csv")).unwrap();
    let causes: Vec<(String, String)> = report
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[3].to_owned(), f[5].to_owned())
        })
        .collect();
    assert_eq!(
        causes,
        vec![
            ("2".into(), "unableToLocateServiceUser".into()),
            // K1 is acme's in the registry: a usage naming `nobody` is a
            // marketing-company mismatch, not an unknown company.
            ("3".into(), "marketingCompanyMismatch".into()),
            ("4".into(), "unableToLocateServiceFeatureCode".into()),
            ("5".into(), "unableToLocatePriceTable".into()),
        ]
    );
    // Faulty SDRs carry their status in a pricing module, ready for recycling.
    let labelled = prices(&t.path().join("out/faults.sdr"));
    assert_eq!(labelled.len(), 4);
    assert_eq!(labelled[0].5, "unableToLocateServiceUser");
    // The price request is answered with a price: 0.60 * 60 / 60 = 0.60.
    assert_eq!(
        prices(&t.path().join("out/answers.sdr")),
        vec![row(7, "0.60", "0.60", "vpn-acme-base", 1)]
    );
    let summary = summary(&t.path().join("out"));
    assert_eq!(
        (
            &summary["records_read"],
            &summary["priced"],
            &summary["price_requests"],
            &summary["not_priced"],
            &summary["faulted"]
        ),
        (&json!(7), &json!(1), &json!(1), &json!(1), &json!(4))
    );
    assert_eq!(summary["accounting_identity_holds"], true);
}

#[test]
fn bad_price_lists_stop_the_run_with_file_line_and_column() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    fs::write(t.path().join("in.sdr"), b"").unwrap();
    let run = |dir: &Path| {
        sdrate()
            .args([
                "rate",
                "in.sdr",
                "--out",
                "out",
                "--price-lists",
                "lists",
                "--customers",
                "customers.csv",
            ])
            .current_dir(dir)
            .output()
            .unwrap()
    };
    // An unknown key.
    fs::write(
        t.path().join("lists/gold.toml"),
        data_list("vpn-acme-gold").replace("discount_percent", "discount_pct"),
    )
    .unwrap();
    let out = run(t.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("gold.toml: line 10, column 1"), "{err}");
    assert!(err.contains("discount_pct"), "{err}");
    // An item the basic list does not name.
    fs::write(t.path().join("lists/gold.toml"), data_list("vpn-acme-gold")).unwrap();
    fs::write(
        t.path().join("lists/k3.toml"),
        K3.replace("item = \"call\"", "item = \"sms\""),
    )
    .unwrap();
    let out = run(t.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("k3.toml: line 12, column 8: item `sms` is not named by basic list vpn-basic"),
        "{err}"
    );
    // A published revision edited in place.
    fs::write(t.path().join("lists/k3.toml"), K3).unwrap();
    fs::write(
        t.path().join("lists/k3-copy.toml"),
        K3.replace("0.30", "0.25"),
    )
    .unwrap();
    let out = run(t.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("price list vpn-K3 revision 1 differs"),
        "{err}"
    );
    assert!(
        !t.path().join("out").exists(),
        "nothing is written before the lists load"
    );
}

/// Rates `input` with the shipped price lists into `dir/out1` and
/// `dir/out2`, on one and on two threads (both finish with faults).
fn rate_at_one_and_two_threads(dir: &Path, input: &Path) {
    for threads in ["1", "2"] {
        sdrate()
            .arg("rate")
            .arg(input)
            .arg("--out")
            .arg(dir.join(format!("out{threads}")))
            .args([
                "--threads",
                threads,
                "--pricing-time",
                "2026-11-22T02:00:00+01:00",
            ])
            .assert()
            .code(1);
    }
}

/// The outputs `names` of `dir/out1` and `dir/out2` are byte-identical.
fn assert_same_outputs(dir: &Path, names: &[&str]) {
    for name in names {
        let (a, b) = (
            crate::common::files(&dir.join("out1")).remove(*name),
            crate::common::files(&dir.join("out2")).remove(*name),
        );
        assert!(a.is_some(), "{name} is written");
        assert!(a == b, "{name} differs between 1 and 2 threads");
    }
}

const OUTPUTS: [&str; 10] = [
    "priced/g.sdr",
    "answers.sdr",
    "not-priced.sdr",
    "session-events.sdr",
    "participations.sdr",
    "faults.sdr",
    "faults.csv",
    "faults-index.csv",
    "broken.dat",
    "summary.json",
];

#[test]
fn output_is_identical_at_one_and_two_threads() {
    let t = tempfile::tempdir().unwrap();
    sdrate()
        .args(["generate", "--count", "20000", "--seed", "5", "-o"])
        .arg(t.path().join("g.sdr"))
        .assert()
        .success();
    rate_at_one_and_two_threads(t.path(), &t.path().join("g.sdr"));
    assert_same_outputs(t.path(), &OUTPUTS);
    let summary = summary(&t.path().join("out1"));
    assert_eq!(summary["records_read"], 20000);
    assert_eq!(summary["accounting_identity_holds"], true);
}

/// Regression for the pipelined run loop (the next block is rated while
/// the writer writes the current one): a file of several 2 MiB blocks
/// whose framing breaks near the end gives the same outputs at one and two
/// threads, every good record before the break is read, and the broken
/// rest is kept whole as one fault.
#[test]
fn regression_broken_tail_after_several_blocks_at_one_and_two_threads() {
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
    rate_at_one_and_two_threads(t.path(), &input);
    assert_same_outputs(t.path(), &OUTPUTS);
    let summary = summary(&t.path().join("out1"));
    // 20,000 records, and the broken rest counted as one.
    assert_eq!(summary["records_read"], 20001);
    assert_eq!(summary["faults_by_cause"]["brokenFraming"], 1);
    assert_eq!(summary["accounting_identity_holds"], true);
    // The fault report names the offset where framing broke, and the
    // broken bytes are kept whole, apart from the records.
    let report = fs::read_to_string(t.path().join("out1/faults.csv")).unwrap();
    let line = report
        .lines()
        .find(|l| l.contains(",brokenFraming,"))
        .expect("a broken-framing row");
    assert!(line.contains(&format!(",{good},")), "{line}");
    assert_eq!(fs::read(t.path().join("out1/broken.dat")).unwrap(), tail);
    assert!(
        !fs::read(t.path().join("out1/faults.sdr"))
            .unwrap()
            .ends_with(&tail)
    );
}

/// Rates `input` (relative to `dir`) into `out` with the test lists.
fn rate_file(dir: &Path, input: &str, out: &str) -> (i32, Value) {
    let run = sdrate()
        .args([
            "rate",
            input,
            "--out",
            out,
            "--price-lists",
            "lists",
            "--customers",
            "customers.csv",
            "--pricing-time",
            "2026-11-22T02:00:00+01:00",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    let summary = serde_json::from_slice(&fs::read(dir.join(out).join("summary.json")).unwrap())
        .expect("summary.json");
    (run.status.code().unwrap(), summary)
}

fn counts(summary: &Value) -> [u64; 3] {
    [
        summary["records_read"].as_u64().unwrap(),
        summary["priced"].as_u64().unwrap(),
        summary["faulted"].as_u64().unwrap(),
    ]
}

#[test]
fn faults_recycle_after_customer_data_and_price_lists_are_fixed() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let code = rate(
        t.path(),
        &[
            billing(1, "K1", "2026-11-21T10:00:00+01:00", 125),
            // K9 is not in the registry yet.
            billing(2, "K9", "2026-11-21T10:00:00+01:00", 125),
            // No list is valid in 2025 yet.
            billing(3, "K1", "2025-06-01T10:00:00+02:00", 125),
        ],
    );
    assert_eq!(code, 1);

    // Fix the customer registry: K9 joins group gold.
    let customers = t.path().join("customers.csv");
    let mut registry = fs::read_to_string(&customers).unwrap();
    registry.push_str("K9,acme,gold\n");
    fs::write(&customers, registry).unwrap();
    let (code, summary) = rate_file(t.path(), "out/faults.sdr", "out2");
    assert_eq!(code, 1, "the 2025 record still has no price table");
    assert_eq!(counts(&summary), [2, 1, 1]);
    // Gold: 0.60 * 125 / 60 = 1.25, less 10% = 1.125 -> 1.13. The record
    // carries one pricing module: the erroneous one was replaced, not kept.
    assert_eq!(
        prices(&t.path().join("out2/priced/faults.sdr")),
        vec![row(2, "1.25", "1.13", "vpn-acme-gold", 1)]
    );
    let inspect = sdrate()
        .arg("inspect")
        .arg(t.path().join("out2/priced/faults.sdr"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        v["sdr"]["servicePricingModules"].as_array().unwrap().len(),
        1
    );

    // Fix the price lists: revision 0 of the basic and base lists, valid
    // from 2025 until revision 1 takes over.
    let lists = t.path().join("lists");
    fs::write(
        lists.join("basic-r0.toml"),
        data_list("vpn-basic")
            .replace("revision = 1", "revision = 0")
            .replace("2026-01-01", "2025-01-01"),
    )
    .unwrap();
    fs::write(
        lists.join("base-r0.toml"),
        base(0, "2025-01-01T00:00:00+01:00", "0.40"),
    )
    .unwrap();
    let (code, summary) = rate_file(t.path(), "out2/faults.sdr", "out3");
    assert_eq!(code, 0, "everything priced");
    assert_eq!(counts(&summary), [1, 1, 0]);
    // 0.40 * 125 / 60 = 0.8333.. -> 0.83 under revision 0.
    assert_eq!(
        prices(&t.path().join("out3/priced/faults.sdr")),
        vec![row(3, "0.83", "0.83", "vpn-acme-base", 0)]
    );
    // Across the three runs every record was priced exactly once.
    assert!(
        fs::read(t.path().join("out3/faults.sdr"))
            .unwrap()
            .is_empty(),
        "the suspense file is empty"
    );
}

#[test]
fn pricing_module_carries_currency_vat_and_correlator() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    assert_eq!(
        rate(
            t.path(),
            &[billing(1, "K2", "2026-11-21T10:00:00+01:00", 125)]
        ),
        0
    );
    let out = sdrate()
        .arg("inspect")
        .arg(t.path().join("out/priced/in.sdr"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let spm = &v["sdr"]["servicePricingModules"][0];
    // The base list sets currency and VAT level (vat_percent = "25"); the
    // group list (gold) only discounts.
    assert_eq!(spm["currency"], "SEK");
    assert_eq!(spm["vatLevel"], "25");
    assert_eq!(spm["timeOfPricing"], "2026-11-22T02:00:00+01:00");
    assert_eq!(spm["prices"][0]["individualPrice"], "1.13");
    assert_eq!(spm["prices"][0]["priceTableIdentifier"], "vpn-acme-gold");
}

/// A VCC list of `revision`, valid from `valid_from`, connect at `price` a
/// minute by the second.
fn vcc_base(revision: u16, valid_from: &str, price: &str) -> String {
    format!(
        r#"
id = "vcc-acme-base"
revision = {revision}
kind = "base"
service = "VCC"
based_on = "vcc-basic"
marketing_company = "acme"
valid_from = "{valid_from}"
currency = "SEK"
vat_percent = "25"

[[charge]]
item = "connect"
per = "duration"
price = "{price}"
"#
    )
}

#[test]
fn items_of_one_usage_module_price_under_the_revision_valid_at_each_time_of_use() {
    // Resolution is done once for the items of a usage module that share a
    // time of use; a call-centre module whose two calls straddle a new
    // revision must still price each call under its own revision.
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let pl = t.path().join("lists");
    fs::write(
        pl.join("vcc-basic.toml"),
        r#"
id = "vcc-basic"
revision = 1
kind = "basic"
service = "VCC"
valid_from = "2026-01-01T00:00:00+01:00"
service_revisions = [1]
items = ["queue", "connect"]
"#,
    )
    .unwrap();
    fs::write(
        pl.join("vcc-r1.toml"),
        vcc_base(1, "2026-01-01T00:00:00+01:00", "0.60"),
    )
    .unwrap();
    fs::write(
        pl.join("vcc-r2.toml"),
        vcc_base(2, "2026-11-21T12:00:00+01:00", "0.90"),
    )
    .unwrap();
    let event = |start: &str, secs: u64| {
        json!({"destinationNumber": "+4687001200", "eventCode": "queuedThenConnected",
               "queueStart": start, "queueDuration": 0,
               "connectStart": start, "connectDuration": secs})
    };
    let sdr = json!({"sdr": {
        "serviceHeader": {
            "moduleIdentifier": "serviceHeader", "revisionState": 1, "sdrType": "billing",
            "sdrIdentifier": 1, "producerIdentity": "spe-t",
            "timeOfOrigin": "2026-11-21T12:20:00+01:00", "responsibilityTrace": [],
            "actionIndicator": "priceAndForward", "customerIdentity": "K1",
            "marketingCompany": "acme"
        },
        "serviceUsageModules": [{
            "moduleIdentifier": "serviceUsage", "revisionState": 1, "serviceFeatureCode": "VCC",
            "revisionStateOfService": 1, "providerIdentifier": "p", "marketingCompany": "acme",
            "dialledNumber": "0200123456", "accessForm": "fixed",
            "serviceSpecific": {"virtualCallCentre": {
                "callingNumber": "+46851234567", "dialledNumber": "0200123456",
                "serviceCarrier": "freephone",
                "events": [
                    event("2026-11-21T11:50:00+01:00", 120),
                    event("2026-11-21T12:10:00+01:00", 60),
                ]
            }}
        }]
    }});
    assert_eq!(rate(t.path(), &[sdr]), 0);
    let out = sdrate()
        .arg("inspect")
        .arg(t.path().join("out/priced/in.sdr"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let prices: Vec<(String, u64)> = v["sdr"]["servicePricingModules"][0]["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["basicPrice"].as_str().unwrap().to_owned(),
                p["priceTableRevision"].as_u64().unwrap(),
            )
        })
        .collect();
    // Queue time is free (no charge names it). 11:50, 120 s under revision
    // 1: 0.60 * 120 / 60 = 1.20; 12:10, 60 s under revision 2: 0.90.
    assert_eq!(prices, [("1.20".to_owned(), 1), ("0.90".to_owned(), 2)]);
}
