//! `sdrate rerate`: a price list was wrong, a corrected revision supersedes
//! it, and the archive is priced again. Every expected price and difference
//! is computed by hand.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::common::{
    Call, ROOT, Run, csv_maps, data_list, encode, files, json_file, run_in, sdrate, shipped,
};

const RATED_AT: &str = "2026-11-22T02:00:00+01:00";
const RERATED_AT: &str = "2026-12-01T02:00:00+01:00";

/// acme's base list: off-net per minute (first minute whole, then per
/// second), on-net per minute in 30 s then 6 s steps.
fn acme(revision: u16, valid_from: &str, offnet: &str, onnet: &str, extra: &str) -> String {
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
{extra}
[[charge]]
item = "call"
per = "duration"
price = {offnet}
first_increment = 60
next_increment = 1

[[charge]]
item = "call"
when = {{ callType = "onNet" }}
per = "duration"
price = "{onnet}"
first_increment = 30
next_increment = 6
"#
    )
}

/// Revision 1, the wrong one: 0.50 a minute.
fn acme_r1() -> String {
    acme(1, "2026-01-01T00:00:00+01:00", "\"0.50\"", "0.20", "")
}

/// Revision 2, the correction: the same validity start, 0.40 a minute.
/// Among revisions valid at a time the one that took effect last wins, and
/// with the same start the higher revision.
fn acme_r2() -> String {
    acme(2, "2026-01-01T00:00:00+01:00", "\"0.40\"", "0.20", "")
}

/// Revision 3, next year's: peak (weekdays 08-18) 0.45, off-peak 0.30;
/// on-net 0.25.
fn acme_r3() -> String {
    acme(
        3,
        "2027-01-01T00:00:00+01:00",
        "{ peak = \"0.45\", offpeak = \"0.30\" }",
        "0.25",
        r#"time_zone = "Europe/Stockholm"

[[period]]
name = "peak"
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:00"
to = "18:00"
"#,
    )
}

fn beta(cancelled: bool) -> String {
    format!(
        r#"
id = "vpn-beta-base"
revision = 1
kind = "base"
service = "VPN"
based_on = "vpn-basic"
marketing_company = "beta"
valid_from = "2026-01-01T00:00:00+01:00"
cancelled = {cancelled}
currency = "SEK"
vat_percent = "25"

[[charge]]
item = "call"
per = "duration"
price = "0.70"
first_increment = 60
next_increment = 1
"#
    )
}

/// `lists1`: what billing ran with (acme revision 1, beta valid).
/// `lists2`: the corrected acme revision 2, next year's revision 3, and
/// beta's list cancelled.
fn setup(dir: &Path) {
    let write = |name: &str, files: &[(&str, String)]| {
        let d = dir.join(name);
        fs::create_dir_all(&d).unwrap();
        for (f, text) in files {
            fs::write(d.join(f), text).unwrap();
        }
    };
    write(
        "lists1",
        &[
            ("basic.toml", data_list("vpn-basic")),
            ("acme-r1.toml", acme_r1()),
            ("gold.toml", data_list("vpn-acme-gold")),
            ("beta.toml", beta(false)),
        ],
    );
    write(
        "lists2",
        &[
            ("basic.toml", data_list("vpn-basic")),
            ("acme-r1.toml", acme_r1()),
            ("acme-r2.toml", acme_r2()),
            ("acme-r3.toml", acme_r3()),
            ("gold.toml", data_list("vpn-acme-gold")),
            ("beta.toml", beta(true)),
        ],
    );
    fs::write(
        dir.join("customers.csv"),
        "customer_id,marketing_company,group\nK1,acme,\nK2,acme,gold\nB1,beta,\n",
    )
    .unwrap();
}

fn call(id: u32, customer: &str, company: &str, start: &str, secs: u64) -> Value {
    call_with(
        id,
        customer,
        company,
        start,
        secs,
        "offNet",
        "priceAndForward",
    )
}

fn call_with(
    id: u32,
    customer: &str,
    company: &str,
    start: &str,
    secs: u64,
    call_type: &str,
    action: &str,
) -> Value {
    let sdr_type = if action == "qualityAssuranceNotPriced" {
        "qualityAssurance"
    } else {
        "billing"
    };
    Call {
        call_type,
        action,
        sdr_type,
        ..Call::new(id, customer, company, start, secs)
    }
    .json()
}

/// 2026-11-21 is a Saturday, 2026-11-23 a Monday.
const SAT: &str = "2026-11-21T10:00:00+01:00";
const MON: &str = "2026-11-23T10:00:00+01:00";

/// The archive. Under revision 1 (0.50/min, on-net 0.20):
/// 1. K1 125 s: 0.50 × 125/60 = 1.0416.. → 1.04
/// 2. K2 (gold, 10 % off) 125 s: 1.0416.. × 0.9 = 0.9375 → 0.94
/// 3. K1 30 s, charged as the first 60 s: 0.50
/// 4. K1 on-net 60 s: 0.20
/// 5. B1 of beta 60 s: 0.70
/// 6. K1 price request 60 s: 0.50 (answered)
/// 7. K1 on Monday 120 s: 1.00
fn archive() -> Vec<Value> {
    vec![
        call(1, "K1", "acme", SAT, 125),
        call(2, "K2", "acme", SAT, 125),
        call(3, "K1", "acme", SAT, 30),
        call_with(4, "K1", "acme", SAT, 60, "onNet", "priceAndForward"),
        call(5, "B1", "beta", SAT, 60),
        call_with(6, "K1", "acme", SAT, 60, "offNet", "priceRequest"),
        call(7, "K1", "acme", MON, 120),
    ]
}

/// Encodes the archive and rates it with `lists1` into `out`.
fn billed(dir: &Path) {
    setup(dir);
    encode(dir, "in.jsonl", "in.sdr", &archive());
    let r = run_in(
        dir,
        &[
            "rate",
            "in.sdr",
            "--out",
            "out",
            "--price-lists",
            "lists1",
            "--customers",
            "customers.csv",
            "--pricing-time",
            RATED_AT,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

fn rerate(dir: &Path, input: &str, out: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "rerate",
        input,
        "--out",
        out,
        "--price-lists",
        "lists2",
        "--customers",
        "customers.csv",
        "--pricing-time",
        RERATED_AT,
    ];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

/// The columns `keys` of every row, for comparing with a table by hand.
fn cols(rows: &[BTreeMap<String, String>], keys: &[&str]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| keys.iter().map(|k| r[*k].clone()).collect())
        .collect()
}

fn strs(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

/// (sdrIdentifier, offset, individual price, table, revision, time of pricing)
/// of every SDR of a file.
fn priced(file: &Path) -> Vec<(u64, u64, String, String, u64, String)> {
    let out = sdrate().arg("inspect").arg(file).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let sdr = &v["sdr"];
            let spm = &sdr["servicePricingModules"];
            assert_eq!(spm.as_array().unwrap().len(), 1, "never stacked: {spm}");
            let item = &spm[0]["prices"][0];
            (
                sdr["serviceHeader"]["sdrIdentifier"].as_u64().unwrap(),
                v["offset"].as_u64().unwrap(),
                item["individualPrice"].as_str().unwrap_or("").to_owned(),
                item["priceTableIdentifier"].as_str().unwrap().to_owned(),
                item["priceTableRevision"].as_u64().unwrap(),
                spm[0]["timeOfPricing"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn corrected_revision_reprices_the_archive_by_hand() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    billed(d);
    let before = priced(&d.join("out/priced/in.sdr"));
    let old_prices: Vec<&str> = before.iter().map(|p| p.2.as_str()).collect();
    assert_eq!(old_prices, ["1.04", "0.94", "0.50", "0.20", "0.70", "1.00"]);

    // The earlier run's output directory: its priced/ files and answers.sdr.
    let r = rerate(d, "out", "rerated", &[]);
    assert_eq!(r.code, 1, "SDR 5 faults now: {}", r.stderr);
    let o = d.join("rerated");

    // Under revision 2 (0.40/min; on-net unchanged 0.20); revision 3 is not
    // valid in 2026 and is not used:
    // 1. 0.40 × 125/60 = 0.8333.. → 0.83
    // 2. 0.8333.. × 0.9 = 0.75 (gold: still table vpn-acme-gold 1)
    // 3. 0.40
    // 4. 0.20 (same money, new table revision)
    // 5. beta's list is cancelled: a fault
    // 6. 0.40 (answer)
    // 7. 0.40 × 2 = 0.80
    let after = priced(&o.join("priced/in.sdr"));
    let summary_of = |v: &[(u64, u64, String, String, u64, String)]| {
        v.iter()
            .map(|p| (p.0, p.2.clone(), p.3.clone(), p.4))
            .collect::<Vec<_>>()
    };
    let s = |id, price: &str, table: &str, rev| (id, price.to_owned(), table.to_owned(), rev);
    assert_eq!(
        summary_of(&after),
        vec![
            s(1, "0.83", "vpn-acme-base", 2),
            s(2, "0.75", "vpn-acme-gold", 1),
            s(3, "0.40", "vpn-acme-base", 2),
            s(4, "0.20", "vpn-acme-base", 2),
            s(7, "0.80", "vpn-acme-base", 2),
        ]
    );
    assert!(after.iter().all(|p| p.5 == "2026-12-01T02:00:00+01:00"));
    assert_eq!(
        summary_of(&priced(&o.join("answers.sdr"))),
        vec![s(6, "0.40", "vpn-acme-base", 2)]
    );
    // An answers file of the earlier run gets no priced file of its own.
    assert!(!o.join("priced/answers.sdr").exists());

    // One row per SDR, in input order, at its offset in the input.
    let rows = csv_maps(&o.join("differences.csv"));
    let offset = |id: u64| {
        before
            .iter()
            .find(|p| p.0 == id)
            .map(|p| p.1.to_string())
            .unwrap()
    };
    let priced_in = format!(
        "out{}priced{}in.sdr",
        std::path::MAIN_SEPARATOR,
        std::path::MAIN_SEPARATOR
    );
    let answers_in = format!("out{}answers.sdr", std::path::MAIN_SEPARATOR);
    let (o1, o2, o3, o4, o5, o7) = (
        offset(1),
        offset(2),
        offset(3),
        offset(4),
        offset(5),
        offset(7),
    );
    let cause5 = "no base list of VPN for beta valid at 2026-11-21 10:00:00 +01:00";
    assert_eq!(
        cols(
            &rows,
            &[
                "file",
                "offset",
                "sdr_identifier",
                "producer",
                "customer",
                "marketing_company",
                "service",
                "currency",
                "old_individual_price",
                "new_individual_price",
                "difference",
                "old_price_table",
                "new_price_table",
                "outcome",
                "status",
                "cause",
            ]
        ),
        strs(&[
            &[
                &priced_in,
                &o1,
                "1",
                "spe-t",
                "K1",
                "acme",
                "VPN",
                "SEK",
                "1.04",
                "0.83",
                "-0.21",
                "vpn-acme-base:1",
                "vpn-acme-base:2",
                "changed",
                "priced",
                "",
            ],
            &[
                &priced_in,
                &o2,
                "2",
                "spe-t",
                "K2",
                "acme",
                "VPN",
                "SEK",
                "0.94",
                "0.75",
                "-0.19",
                "vpn-acme-gold:1",
                "vpn-acme-gold:1",
                "changed",
                "priced",
                "",
            ],
            &[
                &priced_in,
                &o3,
                "3",
                "spe-t",
                "K1",
                "acme",
                "VPN",
                "SEK",
                "0.50",
                "0.40",
                "-0.10",
                "vpn-acme-base:1",
                "vpn-acme-base:2",
                "changed",
                "priced",
                "",
            ],
            &[
                &priced_in,
                &o4,
                "4",
                "spe-t",
                "K1",
                "acme",
                "VPN",
                "SEK",
                "0.20",
                "0.20",
                "0.00",
                "vpn-acme-base:1",
                "vpn-acme-base:2",
                "unchanged",
                "priced",
                "",
            ],
            &[
                &priced_in,
                &o5,
                "5",
                "spe-t",
                "B1",
                "beta",
                "VPN",
                "SEK",
                "0.70",
                "",
                "-0.70",
                "vpn-beta-base:1",
                "",
                "faulted",
                "unableToLocatePriceTable",
                cause5,
            ],
            &[
                &priced_in,
                &o7,
                "7",
                "spe-t",
                "K1",
                "acme",
                "VPN",
                "SEK",
                "1.00",
                "0.80",
                "-0.20",
                "vpn-acme-base:1",
                "vpn-acme-base:2",
                "changed",
                "priced",
                "",
            ],
            &[
                &answers_in,
                "0",
                "6",
                "spe-t",
                "K1",
                "acme",
                "VPN",
                "SEK",
                "0.50",
                "0.40",
                "-0.10",
                "vpn-acme-base:1",
                "vpn-acme-base:2",
                "changed",
                "priced",
                "",
            ],
        ])
    );

    // Totals, sorted by dimension, key and currency:
    // old 1.04+0.94+0.50+0.20+0.70+1.00+0.50 = 4.88,
    // new 0.83+0.75+0.40+0.20+0.80+0.40 = 3.38 (the fault adds nothing);
    // K1: 1.04+0.50+0.20+1.00+0.50 = 3.24 → 0.83+0.40+0.20+0.80+0.40 = 2.63.
    let totals = csv_maps(&o.join("difference-totals.csv"));
    assert_eq!(
        cols(
            &totals,
            &[
                "dimension",
                "key",
                "currency",
                "sdrs",
                "old",
                "new",
                "difference"
            ]
        ),
        strs(&[
            &["currency", "SEK", "SEK", "7", "4.88", "3.38", "-1.50"],
            &["customer", "B1", "SEK", "1", "0.70", "0", "-0.70"],
            &["customer", "K1", "SEK", "5", "3.24", "2.63", "-0.61"],
            &["customer", "K2", "SEK", "1", "0.94", "0.75", "-0.19"],
            &[
                "marketing_company",
                "acme",
                "SEK",
                "6",
                "4.18",
                "3.38",
                "-0.80"
            ],
            &[
                "marketing_company",
                "beta",
                "SEK",
                "1",
                "0.70",
                "0",
                "-0.70"
            ],
            &["service", "VPN", "SEK", "7", "4.88", "3.38", "-1.50"],
        ])
    );

    let summary = json_file(&o.join("summary.json"));
    let counts: Vec<&Value> = [
        "records_read",
        "repriced",
        "changed",
        "unchanged",
        "newly_priced",
        "price_requests",
        "faulted",
        "skipped_not_priceable",
    ]
    .iter()
    .map(|k| &summary[k])
    .collect();
    assert_eq!(
        counts,
        [7, 6, 5, 1, 0, 1, 1, 0]
            .iter()
            .map(|n| json!(n))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(summary["accounting_identity_holds"], true);
    assert_eq!(summary["command"], "rerate");
    assert_eq!(summary["as_of"], Value::Null);
    assert_eq!(
        summary["totals"]["SEK"],
        json!({"old": "4.88", "new": "3.38", "difference": "-1.50"})
    );
    assert_eq!(
        summary["faults_by_cause"],
        json!({"unableToLocatePriceTable": 1})
    );

    // The SDR that no longer prices is kept for recycling, labelled with
    // its new status instead of its old price.
    let faults = csv_maps(&o.join("faults.csv"));
    assert_eq!(
        cols(
            &faults,
            &["file", "offset", "sdr_identifier", "status", "cause"]
        ),
        strs(&[&[&priced_in, &o5, "5", "unableToLocatePriceTable", cause5]])
    );
    let label = sdrate()
        .arg("inspect")
        .arg(o.join("faults.sdr"))
        .output()
        .unwrap();
    let label: Value = serde_json::from_slice(&label.stdout).unwrap();
    let spms = label["sdr"]["servicePricingModules"].as_array().unwrap();
    assert_eq!(spms.len(), 1);
    assert_eq!(
        spms[0]["prices"][0]["statusIndicator"],
        "unableToLocatePriceTable"
    );

    // Published like a run, with its manifest last.
    let manifest = json_file(&o.join("manifest.json"));
    assert_eq!(manifest["summary"]["command"], "rerate");
    // priced/in.sdr and answers.sdr, and the run's participations.sdr,
    // session-events.sdr and session-events.csv (empty here).
    assert_eq!(manifest["inputs"].as_array().unwrap().len(), 5);
    // The earlier output is untouched.
    assert_eq!(before, priced(&d.join("out/priced/in.sdr")));
}

#[test]
fn as_of_prices_with_next_years_revision_but_periods_follow_the_time_of_use() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    billed(d);
    // Monday 2027-01-04 10:00 is peak time; the archive's calls are on
    // Saturday (off-peak) except SDR 7 (Monday, peak). Revision 3 is chosen
    // for all of them; the period is that of each call.
    let r = rerate(
        d,
        "out",
        "whatif",
        &["--as-of", "2027-01-04T10:00:00+01:00"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("what-if"), "{}", r.stderr);
    let o = d.join("whatif");
    // 1. off-peak 0.30 × 125/60 = 0.625 → 0.63
    // 2. 0.625 × 0.9 = 0.5625 → 0.56 (the group list prices with the base
    //    list's periods)
    // 3. 0.30
    // 4. on-net 0.25 × 60/60 = 0.25
    // 5. beta still cancelled: fault
    // 6. 0.30
    // 7. peak 0.45 × 2 = 0.90
    let rows = csv_maps(&o.join("differences.csv"));
    assert_eq!(
        cols(
            &rows,
            &[
                "sdr_identifier",
                "old_individual_price",
                "new_individual_price",
                "difference",
                "new_price_table",
                "outcome"
            ]
        ),
        strs(&[
            &["1", "1.04", "0.63", "-0.41", "vpn-acme-base:3", "changed"],
            &["2", "0.94", "0.56", "-0.38", "vpn-acme-gold:1", "changed"],
            &["3", "0.50", "0.30", "-0.20", "vpn-acme-base:3", "changed"],
            &["4", "0.20", "0.25", "0.05", "vpn-acme-base:3", "changed"],
            &["5", "0.70", "", "-0.70", "", "faulted"],
            &["7", "1.00", "0.90", "-0.10", "vpn-acme-base:3", "changed"],
            &["6", "0.50", "0.30", "-0.20", "vpn-acme-base:3", "changed"],
        ])
    );
    assert!(rows[4]["cause"].contains("valid at 2027-01-04 10:00:00 +01:00"));
    // New: 0.63+0.56+0.30+0.25+0.90+0.30 = 2.94; old 4.88.
    let summary = json_file(&o.join("summary.json"));
    assert_eq!(
        summary["totals"]["SEK"],
        json!({"old": "4.88", "new": "2.94", "difference": "-1.94"})
    );
    assert_eq!(summary["as_of"], "2027-01-04T10:00:00+01:00");
    assert_eq!(
        (&summary["changed"], &summary["unchanged"]),
        (&json!(6), &json!(0))
    );
}

#[test]
fn rerating_is_repeatable_and_only_ever_replaces_a_rerate_output() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    billed(d);
    assert_eq!(rerate(d, "out", "a", &[]).code, 1);
    assert_eq!(rerate(d, "out", "b", &[]).code, 1);
    let a = files(&d.join("a"));
    assert_eq!(
        a,
        files(&d.join("b")),
        "rerating twice gives identical files"
    );
    for f in [
        "manifest.json",
        "summary.json",
        "differences.csv",
        "difference-totals.csv",
        "priced/in.sdr",
        "answers.sdr",
        "faults.sdr",
        "faults.csv",
        "skipped.sdr",
    ] {
        assert!(a.contains_key(f), "{f} in {:?}", a.keys());
    }

    // The same run again into the same directory: nothing to do.
    let r = rerate(d, "out", "a", &[]);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("nothing to do"), "{}", r.stderr);
    assert_eq!(a, files(&d.join("a")));
    // Another what-if replaces an earlier rerate output...
    let r = rerate(d, "out", "a", &["--as-of", "2027-01-04T10:00:00+01:00"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_ne!(a, files(&d.join("a")));
    assert!(!d.join(".a.partial").exists());
    // ...but never a rate output, nor any other directory.
    let billed_out = files(&d.join("out"));
    let r = rerate(d, "out", "out", &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("rerate replaces only an earlier rerate output"),
        "{}",
        r.stderr
    );
    assert_eq!(billed_out, files(&d.join("out")));
    fs::create_dir(d.join("mine")).unwrap();
    fs::write(d.join("mine/notes.txt"), "keep").unwrap();
    assert_eq!(rerate(d, "out", "mine", &[]).code, 2);
    assert_eq!(fs::read(d.join("mine/notes.txt")).unwrap(), b"keep");

    // A rerate output can itself be rerated: with the same lists nothing
    // changes, and the priced SDRs come out byte for byte as they went in.
    assert_eq!(rerate(d, "b", "c", &[]).code, 0);
    let b = files(&d.join("b"));
    let c = files(&d.join("c"));
    assert_eq!(b["priced/in.sdr"], c["priced/in.sdr"]);
    assert_eq!(b["answers.sdr"], c["answers.sdr"]);
    let summary = json_file(&d.join("c/summary.json"));
    assert_eq!(
        (
            &summary["records_read"],
            &summary["unchanged"],
            &summary["changed"]
        ),
        (&json!(6), &json!(6), &json!(0))
    );
    assert_eq!(
        summary["totals"]["SEK"],
        json!({"old": "3.38", "new": "3.38", "difference": "0.00"})
    );
}

#[test]
fn unpriced_sdrs_have_no_old_price_and_unpriceable_ones_are_skipped() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    setup(d);
    encode(
        d,
        "raw.jsonl",
        "raw.sdr",
        &[
            call(1, "K1", "acme", SAT, 60),
            call_with(
                2,
                "K1",
                "acme",
                SAT,
                60,
                "offNet",
                "qualityAssuranceNotPriced",
            ),
        ],
    );
    let r = rerate(d, "raw.sdr", "o", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = csv_maps(&d.join("o/differences.csv"));
    assert_eq!(
        cols(
            &rows,
            &[
                "file",
                "offset",
                "sdr_identifier",
                "old_individual_price",
                "new_individual_price",
                "difference",
                "old_price_table",
                "outcome",
                "status",
            ]
        ),
        strs(&[
            &[
                "raw.sdr", "0", "1", "", "0.40", "0.40", "", "changed", "priced"
            ],
            &[
                "raw.sdr",
                &rows[1]["offset"],
                "2",
                "",
                "",
                "",
                "",
                "skipped",
                "notPriced"
            ],
        ])
    );
    assert_eq!(rows[0]["cause"], "not priced before");
    // The skipped record is kept as it was read.
    let raw = fs::read(d.join("raw.sdr")).unwrap();
    let off: usize = rows[1]["offset"].parse().unwrap();
    assert_eq!(fs::read(d.join("o/skipped.sdr")).unwrap(), &raw[off..]);
    let summary = json_file(&d.join("o/summary.json"));
    assert_eq!(
        (
            &summary["records_read"],
            &summary["repriced"],
            &summary["newly_priced"],
            &summary["skipped_not_priceable"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(1))
    );
    assert_eq!(summary["accounting_identity_holds"], true);

    // Standard input is not re-rated (session event logs are: see
    // rerate_prices_sessions_again_from_their_archived_events).
    assert_eq!(rerate(d, "-", "p", &[]).code, 2);
    assert!(!d.join("p").exists());
}

#[test]
fn output_is_byte_identical_at_any_thread_count() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let r = run_in(
        d,
        &[
            "generate", "--count", "6000", "--seed", "7", "-o", "gen.sdr",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = shipped(d, "rate", "gen.sdr", "out", RATED_AT, &[]);
    assert!(r.code <= 1, "{}", r.stderr);
    let rerate_with = |out: &str, threads: &str| {
        let r = shipped(d, "rerate", "out", out, RERATED_AT, &["--threads", threads]);
        assert!(r.code <= 1, "{}", r.stderr);
    };
    rerate_with("t1", "1");
    rerate_with("t2", "2");
    let t1 = files(&d.join("t1"));
    assert_eq!(t1, files(&d.join("t2")));
    let summary = json_file(&d.join("t1/summary.json"));
    assert_eq!(summary["accounting_identity_holds"], true);
    // Same lists: every price is what it was.
    assert_eq!(summary["changed"], 0);
    assert!(summary["repriced"].as_u64().unwrap() > 1000, "{summary}");
    assert_eq!(summary["sessions"]["changed"], 0);
    assert!(
        summary["sessions"]["participations"].as_u64().unwrap() > 10,
        "{summary}"
    );
    // One difference row per SDR read, and one per old participation
    // (every one matched by a participation priced again, or reported).
    let rows = csv_maps(&d.join("t1/differences.csv"));
    let count = |k: &str| summary[k].as_u64().unwrap();
    let of_file = |f: &str| rows.iter().filter(|r| r["file"] == f).count() as u64;
    let sdr_rows = rows
        .iter()
        .filter(|r| r["file"].starts_with("out/priced/") || r["file"] == "out/answers.sdr")
        .count() as u64;
    assert_eq!(
        sdr_rows,
        count("records_read") - count("session_event_sdrs") - count("participation_sdrs")
    );
    assert_eq!(
        of_file("out/participations.sdr"),
        count("participation_sdrs")
    );
}

/// The shipped CONF lists into `dir/name`; `corrected` adds revision 2 of
/// megacom's base list (same `valid_from`, so it supersedes revision 1)
/// with usage at 0.40 a minute instead of 0.50.
fn conf_lists(dir: &Path, name: &str, corrected: bool) {
    let to = dir.join(name);
    fs::create_dir_all(&to).unwrap();
    let from = Path::new(ROOT).join("price_lists/conf");
    for e in fs::read_dir(&from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    if corrected {
        let r1 = fs::read_to_string(from.join("megacom-base-r1.toml")).unwrap();
        assert_eq!(r1.matches("price = \"0.50\"").count(), 1, "{r1}");
        let r2 = r1
            .replace("revision = 1", "revision = 2")
            .replace("price = \"0.50\"", "price = \"0.40\"");
        fs::write(to.join("megacom-base-r2.toml"), r2).unwrap();
    }
}

/// A `rate` run with the seed's conference (fixtures/conference-events.csv,
/// priced and complete) and a second conference still open (no end): the
/// run archives the events it consumed in session-events.csv and writes
/// the priced participations to participations.sdr.
fn sessions_billed(dir: &Path) {
    conf_lists(dir, "lists1", false);
    conf_lists(dir, "lists2", true);
    fs::write(
        dir.join("customers.csv"),
        "customer_id,marketing_company,group\nC00081,megacom,\nC00300,megacom,corporate\nC00412,publicom,\n",
    )
    .unwrap();
    let seed = fs::read_to_string(Path::new(ROOT).join("fixtures/conference-events.csv")).unwrap();
    // The header and the 11 events of conf-20261122-0100 (the fixture's
    // last row is a bad one, for other tests).
    let mut log: String = seed.lines().take(12).map(|l| format!("{l}\n")).collect();
    log.push_str(
        "conf-open,CONF,sessionRelated,start,2026-11-22T12:00:00+01:00,p1,anna.berg,C00081,organiser,1,prov-conf,\n\
         conf-open,CONF,participantRelated,join,2026-11-22T12:01:00+01:00,p2,jonas.lind,C00412,participant,2,prov-conf,\n",
    );
    fs::write(dir.join("events.csv"), log).unwrap();
    let r = run_in(
        dir,
        &[
            "rate",
            "events.csv",
            "--out",
            "out",
            "--price-lists",
            "lists1",
            "--customers",
            "customers.csv",
            "--pricing-time",
            RATED_AT,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = json_file(&dir.join("out/summary.json"));
    assert_eq!(
        (
            &s["sessions"]["sessions_priced"],
            &s["sessions"]["sessions_pending"]
        ),
        (&json!(1), &json!(1))
    );
}

const PART_COLUMNS: [&str; 13] = [
    "file",
    "offset",
    "customer",
    "marketing_company",
    "service",
    "currency",
    "old_individual_price",
    "new_individual_price",
    "difference",
    "old_price_table",
    "new_price_table",
    "outcome",
    "status",
];

/// Issue: `rerate` skipped participations, and the only workaround (rating
/// the archived events again) gave no differences report. Now the run
/// directory's archived session events are grouped and priced again as
/// `rate` does, and each participation is compared with its old
/// participation SDR.
#[test]
fn rerate_prices_sessions_again_from_their_archived_events() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    sessions_billed(d);
    // Where the old participations lie in the run's participations.sdr.
    let offsets: Vec<String> = priced(&d.join("out/participations.sdr"))
        .iter()
        .map(|p| p.1.to_string())
        .collect();
    assert_eq!(offsets.len(), 3);

    let r = rerate(d, "out", "rerated", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let o = d.join("rerated");
    // Old prices (lists1, docs/sessions.md), new ones under the corrected
    // megacom base list (0.40 a minute instead of 0.50):
    // p1, organiser, C00081 (megacom base list): entry 3 participants ×
    //   2.00 = 6.00; active 10:00-10:50 = 3000 s; 2 invitations × 0.10 =
    //   0.20. Old 6.00 + 3000 × 0.50 / 60 (= 25.00) + 0.20 = 31.20;
    //   new 6.00 + 3000 × 0.40 / 60 (= 20.00) + 0.20 = 26.20; −5.00.
    // p2, C00412 (publicom, list unchanged): (1140 + 900) s = 34 min ×
    //   0.50 = 17.00, old and new: unchanged.
    // p3, C00300 (megacom, group corporate, 10 % off the base list):
    //   10:02-10:30 = 1680 s. Old 1680 × 0.50 / 60 = 14.00 × 0.9 = 12.60;
    //   new 1680 × 0.40 / 60 = 11.20 × 0.9 = 10.08; −2.52.
    // conf-open has no end: incomplete in the archive, not priced.
    let rows = csv_maps(&o.join("differences.csv"));
    let part = "out/participations.sdr";
    let archive = "out/session-events.csv";
    assert_eq!(
        cols(&rows, &PART_COLUMNS),
        strs(&[
            &[
                part,
                &offsets[0],
                "C00081",
                "megacom",
                "CONF",
                "SEK",
                "31.20",
                "26.20",
                "-5.00",
                "conf-megacom-base:1",
                "conf-megacom-base:2",
                "changed",
                "priced"
            ],
            &[
                part,
                &offsets[1],
                "C00412",
                "publicom",
                "CONF",
                "SEK",
                "17.00",
                "17.00",
                "0.00",
                "conf-publicom-base:1",
                "conf-publicom-base:1",
                "unchanged",
                "priced"
            ],
            &[
                part,
                &offsets[2],
                "C00300",
                "megacom",
                "CONF",
                "SEK",
                "12.60",
                "10.08",
                "-2.52",
                "conf-megacom-corporate:1",
                "conf-megacom-corporate:1",
                "changed",
                "priced"
            ],
            // Line 13 of the archive: conf-open's first event.
            &[
                archive,
                "line 13",
                "C00081",
                "",
                "CONF",
                "",
                "",
                "",
                "",
                "",
                "",
                "skipped",
                "sessionIncomplete"
            ],
        ])
    );
    assert!(rows[3]["cause"].contains("conf-open"), "{:?}", rows[3]);
    // The participation SDR identity is a hash of session and participant:
    // priced again, the same identities.
    let new_parts = priced(&o.join("participations.sdr"));
    let old_parts = priced(&d.join("out/participations.sdr"));
    assert_eq!(
        new_parts.iter().map(|p| p.0).collect::<Vec<_>>(),
        old_parts.iter().map(|p| p.0).collect::<Vec<_>>()
    );
    assert_eq!(
        rows[..3]
            .iter()
            .map(|r| r["sdr_identifier"].parse::<u64>().unwrap())
            .collect::<Vec<_>>(),
        old_parts.iter().map(|p| p.0).collect::<Vec<_>>()
    );
    // The incomplete session is listed with its events, not lost.
    let pending = fs::read_to_string(o.join("pending-sessions.jsonl")).unwrap();
    assert_eq!(pending.lines().count(), 1, "{pending}");
    let open: Value = serde_json::from_str(pending.lines().next().unwrap()).unwrap();
    assert_eq!(open["id"], "conf-open");
    assert_eq!(open["events"].as_array().unwrap().len(), 2);

    // Totals: old 31.20 + 17.00 + 12.60 = 60.80; new 26.20 + 17.00 +
    // 10.08 = 53.28; −7.52. megacom: 43.80 → 36.28. The skipped row adds
    // nothing.
    let totals = fs::read_to_string(o.join("difference-totals.csv")).unwrap();
    assert_eq!(
        totals,
        "dimension,key,currency,sdrs,old,new,difference\n\
         currency,SEK,SEK,3,60.80,53.28,-7.52\n\
         customer,C00081,SEK,1,31.20,26.20,-5.00\n\
         customer,C00300,SEK,1,12.60,10.08,-2.52\n\
         customer,C00412,SEK,1,17.00,17.00,0.00\n\
         marketing_company,megacom,SEK,2,43.80,36.28,-7.52\n\
         marketing_company,publicom,SEK,1,17.00,17.00,0.00\n\
         service,CONF,SEK,3,60.80,53.28,-7.52\n"
    );
    let s = json_file(&o.join("summary.json"));
    assert_eq!(s["accounting_identity_holds"], true);
    assert_eq!(
        s["totals"]["SEK"],
        json!({"old": "60.80", "new": "53.28", "difference": "-7.52"})
    );
    assert_eq!(s["participation_sdrs"], 3);
    let c = &s["sessions"];
    assert_eq!(
        [
            "events_read",
            "events_priced",
            "events_incomplete",
            "sessions_priced",
            "sessions_incomplete",
            "participations",
            "changed",
            "unchanged",
            "newly_priced",
            "old_matched",
            "old_not_repriced",
        ]
        .map(|k| c[k].as_u64().unwrap()),
        [13, 11, 2, 1, 1, 3, 2, 1, 0, 3, 0],
        "{c}"
    );

    // The unchanged lists: every participation unchanged, difference 0.
    let r = run_in(
        d,
        &[
            "rerate",
            "out",
            "--out",
            "same",
            "--price-lists",
            "lists1",
            "--customers",
            "customers.csv",
            "--pricing-time",
            RERATED_AT,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = csv_maps(&d.join("same/differences.csv"));
    assert_eq!(
        cols(
            &rows[..3],
            &[
                "customer",
                "old_individual_price",
                "new_individual_price",
                "difference",
                "outcome"
            ]
        ),
        strs(&[
            &["C00081", "31.20", "31.20", "0.00", "unchanged"],
            &["C00412", "17.00", "17.00", "0.00", "unchanged"],
            &["C00300", "12.60", "12.60", "0.00", "unchanged"],
        ])
    );
    let s = json_file(&d.join("same/summary.json"));
    assert_eq!(
        s["totals"]["SEK"],
        json!({"old": "60.80", "new": "60.80", "difference": "0.00"})
    );
    assert_eq!(s["sessions"]["unchanged"], 3);

    // A rerate output archives the events it read, so it is re-rated in
    // turn: against its own participations, nothing changes.
    let r = rerate(d, "rerated", "again", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = json_file(&d.join("again/summary.json"));
    assert_eq!(
        (&s["sessions"]["unchanged"], &s["totals"]["SEK"]["new"]),
        (&json!(3), &json!("53.28"))
    );
}

/// An event log named directly has no old participations: each is newly
/// priced, and its rows point at the session's first event.
#[test]
fn rerate_of_an_event_log_prices_its_sessions_for_the_first_time() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    sessions_billed(d);
    let r = rerate(d, "events.csv", "fresh", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = csv_maps(&d.join("fresh/differences.csv"));
    assert_eq!(
        cols(
            &rows,
            &[
                "file",
                "offset",
                "old_individual_price",
                "new_individual_price",
                "difference",
                "outcome"
            ]
        ),
        strs(&[
            &["events.csv", "line 2", "", "26.20", "26.20", "changed"],
            &["events.csv", "line 2", "", "17.00", "17.00", "changed"],
            &["events.csv", "line 2", "", "10.08", "10.08", "changed"],
            &["events.csv", "line 13", "", "", "", "skipped"],
        ])
    );
    assert_eq!(rows[0]["cause"], "not priced before");
    let s = json_file(&d.join("fresh/summary.json"));
    assert_eq!(s["sessions"]["newly_priced"], 3);
    assert_eq!(s["accounting_identity_holds"], true);
}
