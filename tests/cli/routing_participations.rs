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
