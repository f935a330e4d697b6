//! `sdrate recycle`: the suspense area of a state directory, fed again
//! after the customer registry was fixed (issue 5, recycling).

use std::fs;

use assert_cmd::Command;

use crate::common::{repo, sdrate_in as sdrate, summary};

const PRICING_TIME: &str = "2026-11-23T02:00:00+01:00";

#[test]
fn recycling_bills_what_now_prices_and_keeps_the_rest_in_suspense() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    fs::copy(repo("price_lists/customers.csv"), dir.join("customers.csv")).unwrap();
    // faults.sdr holds two faulty SDRs: customer C04711 is unknown (1301),
    // and service HOLO has no price list (1302).
    let common = |c: &mut Command| {
        c.arg("--price-lists")
            .arg(repo("price_lists"))
            .args(["--customers", "customers.csv"])
            .args(["--pricing-time", PRICING_TIME])
            .args(["--state", "state"]);
    };
    let mut c = sdrate(dir);
    c.arg("rate")
        .arg(repo("fixtures/faults.sdr"))
        .arg(repo("fixtures/vpn.sdr"))
        .args(["--out", "night-1"]);
    common(&mut c);
    c.assert().code(1);
    let s = summary(&dir.join("night-1"));
    assert_eq!(
        (s["priced"].as_u64(), s["faulted"].as_u64()),
        (Some(3), Some(2))
    );
    let suspense = fs::read(dir.join("state/suspense.sdr")).unwrap();
    assert_eq!(
        suspense,
        fs::read(dir.join("night-1/faults.sdr")).unwrap(),
        "the suspense area holds the night's faults"
    );

    // Nothing fixed yet: recycling changes nothing.
    let mut c = sdrate(dir);
    c.args(["recycle", "--out", "recycle-0"]);
    common(&mut c);
    c.assert().code(1);
    let s = summary(&dir.join("recycle-0"));
    assert_eq!(
        (s["records_read"].as_u64(), s["faulted"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        fs::read(dir.join("state/suspense.sdr")).unwrap().len(),
        suspense.len()
    );

    // The registry learns C04711 (megacom): SDR 1301 now prices, 1302 stays.
    let mut reg = fs::read_to_string(dir.join("customers.csv")).unwrap();
    reg.push_str("C04711,megacom,\n");
    fs::write(dir.join("customers.csv"), reg).unwrap();
    let mut c = sdrate(dir);
    c.args(["recycle", "--out", "recycle-1"]);
    common(&mut c);
    c.assert().code(1);
    let s = summary(&dir.join("recycle-1"));
    assert_eq!(s["records_read"], 2);
    assert_eq!(s["priced"], 1);
    assert_eq!(s["faulted"], 1);
    assert_eq!(s["accounting_identity_holds"], true);
    let report = fs::read_to_string(dir.join("recycle-1/faults.csv")).unwrap();
    let ids: Vec<&str> = report
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap())
        .collect();
    assert_eq!(ids, ["1302"]);
    // Across runs: 2 entered suspense, 1 billed by the recycle, 1 left.
    let left = fs::read(dir.join("state/suspense.sdr")).unwrap();
    assert_eq!(left, fs::read(dir.join("recycle-1/faults.sdr")).unwrap());
    assert!(left.len() < suspense.len());

    // Recycling again does not bill 1301 twice: it left the suspense area.
    let mut c = sdrate(dir);
    c.args(["recycle", "--out", "recycle-2"]);
    common(&mut c);
    c.assert().code(1);
    let s = summary(&dir.join("recycle-2"));
    assert_eq!(
        (s["records_read"].as_u64(), s["priced"].as_u64()),
        (Some(1), Some(0))
    );
}

#[test]
fn an_empty_suspense_area_is_nothing_to_do() {
    let t = tempfile::tempdir().unwrap();
    sdrate(t.path())
        .args(["recycle", "--state", "state", "--out", "o"])
        .assert()
        .code(0)
        .stderr(predicates::str::contains("nothing to recycle"));
    assert!(!t.path().join("o").exists());
}
