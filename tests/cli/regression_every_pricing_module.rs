//! Regression: a record with two usage modules lost the first pricing
//! module on output (found while speeding up the writer, issue 3): the
//! encoder cleared its buffer for each module, so only the last was written.

use crate::common::{PRICING_TIME, inspect, run, sdrate};

#[test]
fn a_record_with_two_usage_modules_keeps_both_pricing_modules() {
    // fixtures/priced.jsonl record 1202: a FAXBOX send that prices and a
    // second module of FAXBOX revision 2, which no basic list knows; the
    // record is a fault, labelled module by module.
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    let r = run(sdrate()
        .args(["rate", "fixtures/priced.sdr", "--out"])
        .arg(&out)
        .args(["--pricing-time", PRICING_TIME]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = &inspect(&out.join("faults.sdr"))[0];
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
