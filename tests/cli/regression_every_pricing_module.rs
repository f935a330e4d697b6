//! Regression: a record with two usage modules lost the first pricing
//! module on output (found while speeding up the writer, issue 3): the
//! encoder cleared its buffer for each module, so only the last was written.

use serde_json::Value;

#[test]
fn a_record_with_two_usage_modules_keeps_both_pricing_modules() {
    // fixtures/priced.jsonl record 1202: a FAXBOX send that prices and a
    // second module of FAXBOX revision 2, which no basic list knows; the
    // record is a fault, labelled module by module.
    let root = env!("CARGO_MANIFEST_DIR");
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    let o = crate::sdrate_command()
        .current_dir(root)
        .args(["rate", "fixtures/priced.sdr", "--out"])
        .arg(&out)
        .args(["--pricing-time", "2026-11-22T02:00:00+01:00"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = crate::sdrate_command()
        .arg("inspect")
        .arg(out.join("faults.sdr"))
        .output()
        .unwrap();
    let r: Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().next().unwrap()).unwrap();
    let sdr = &r["sdr"];
    assert_eq!(sdr["serviceHeader"]["sdrIdentifier"], 1202);
    let status: Vec<&str> = sdr["servicePricingModules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["prices"][0]["statusIndicator"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["priced", "unableToLocateRevisionStateOfFeature"]);
}
