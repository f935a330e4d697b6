//! Participation SDRs of multi-party sessions are priced SDRs: a routing
//! file's subscribers get them like any other (issue 5, subscribers).

use std::fs;

use crate::common::{repo, sdrate_in, summary};

#[test]
fn subscribers_receive_participation_sdrs() {
    let t = tempfile::tempdir().unwrap();
    fs::write(
        t.path().join("routing.toml"),
        r#"
[[subscriber]]
name = "games"
format = "csv"
services = ["GAME"]
items = ["session_id", "customer", "individual_price", "currency"]
"#,
    )
    .unwrap();
    sdrate_in(t.path())
        .args(["-q", "rate"])
        .arg(repo("fixtures/game-events.jsonl"))
        .args(["--out", "out", "--routing", "routing.toml"])
        .arg("--price-lists")
        .arg(repo("price_lists"))
        .arg("--customers")
        .arg(repo("price_lists/customers.csv"))
        .assert()
        .code(0);
    // The seed's game at 1.20 a minute shared (docs/sessions.md): p1 pays
    // 1.20 + 30 × 1.20 / 3 = 13.20; p2 30 × 0.40 + 15 × 0.60 = 21.00; p3 the
    // same plus 0.50 for a completed level.
    assert_eq!(
        fs::read_to_string(t.path().join("out/subscribers/games.csv")).unwrap(),
        "session_id,customer,individual_price,currency\n\
         game-20261122-0200,C00734,13.20,SEK\n\
         game-20261122-0200,C00002,21.00,SEK\n\
         game-20261122-0200,C00003,21.50,SEK\n"
    );
    let summary = summary(&t.path().join("out"));
    assert_eq!(summary["routing"]["by_subscriber"]["games"], 3);
    assert_eq!(summary["routing"]["discarded"], 0);
}

/// The shipped example subscriber `publicom-quality` (docs/subscribers.md)
/// receives the service-management SDR of publicom; a statistics
/// subscriber receives the price-request answer, with its pricing; the
/// quality-assurance SDR of megacom goes to nobody and is counted.
#[test]
fn quality_service_management_and_answers_reach_their_subscribers() {
    let t = tempfile::tempdir().unwrap();
    fs::write(
        t.path().join("routing.toml"),
        r#"
[[subscriber]]
name = "publicom-quality"
format = "csv"
sdr_types = ["qualityAssurance", "serviceManagement"]
marketing_companies = ["publicom"]
items = ["sdr_identifier", "sdr_type", "service"]

[[subscriber]]
name = "statistics"
format = "ber"
sdr_types = ["statistics"]
"#,
    )
    .unwrap();
    sdrate_in(t.path())
        .args(["-q", "rate"])
        .arg(repo("fixtures/every_type.sdr"))
        .args(["--out", "out", "--routing", "routing.toml"])
        .args(["--pricing-time", crate::common::PRICING_TIME])
        .arg("--price-lists")
        .arg(repo("price_lists"))
        .arg("--customers")
        .arg(repo("price_lists/customers.csv"))
        .assert()
        .code(0);
    let out = t.path().join("out");
    // every_type.sdr: 1003 is publicom's service-management SDR (a MSGBOX
    // usage); 1004 a statistics price request; 1002 megacom's QA SDR.
    assert_eq!(
        fs::read_to_string(out.join("subscribers/publicom-quality.csv")).unwrap(),
        "sdr_identifier,sdr_type,service\n1003,serviceManagement,MSGBOX\n"
    );
    let answers = crate::common::inspect(&out.join("answers.sdr"));
    let routed = crate::common::inspect(&out.join("subscribers/statistics.sdr"));
    assert_eq!(routed.len(), 1);
    assert_eq!(routed[0]["sdr"]["serviceHeader"]["sdrIdentifier"], 1004);
    let first = answers
        .iter()
        .find(|a| a["sdr"]["serviceHeader"]["sdrIdentifier"] == 1004)
        .unwrap();
    assert_eq!(
        routed[0]["sdr"], first["sdr"],
        "the answer as returned, priced"
    );
    assert!(routed[0]["sdr"]["servicePricingModules"].is_array());
    let s = summary(&out);
    assert_eq!(s["routing"]["by_subscriber"]["publicom-quality"], 1);
    assert_eq!(s["routing"]["by_subscriber"]["statistics"], 1);
}
