//! `sdrate explain` end to end, with the shipped price lists and customer
//! registry. Every expected amount is computed by hand in the comments; the
//! explanation is also checked against what `sdrate rate` writes for the
//! same record.
//!
//! The lists used (price_lists/vpn):
//! * vpn-megacom-base r1 (from 2026-01-01): off-net 0.6 a minute, first
//!   60 s then per second, minimum 0.45.
//! * vpn-megacom-base r3 (from 2026-12-01): off-net per period on the
//!   Stockholm clock, peak Mon-Fri 08-18 0.69, offpeak 0.39, weekend and
//!   holidays 0.29; first 60 s then per second, minimum 0.45.
//! * vpn-megacom-corporate r1: 10% off, no charges of its own.
//! * vpn-C00030 r1 (from 2026-06-01): 0.30 a minute, per second.
//!
//! Customers: C00003 megacom without group; C00030 megacom, group
//! corporate, with its own list.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::{self, ROOT, inspect, repo, sdrate};

/// A decimal printed as a JSON string: compared by value, so `2.0` and
/// `2` are the same amount.
fn d(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("{v} is not a decimal string"))
        .parse()
        .unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// `sdrate explain` with the shipped lists and registry.
fn explain() -> Command {
    let mut c = crate::sdrate_command();
    c.arg("explain")
        .arg("--price-lists")
        .arg(repo("price_lists"))
        .arg("--customers")
        .arg(repo("price_lists/customers.csv"));
    c
}

/// The binary without the list options, for commands that take none.
/// A billing VPN off-net call from a fixed line.
fn call(id: u32, producer: &str, customer: &str, start: &str, secs: u64) -> Value {
    json!({"sdr": {
        "serviceHeader": {
            "moduleIdentifier": "serviceHeader", "revisionState": 1, "sdrType": "billing",
            "sdrIdentifier": id, "producerIdentity": producer, "timeOfOrigin": start,
            "responsibilityTrace": [], "actionIndicator": "priceAndForward",
            "customerIdentity": customer, "marketingCompany": "megacom"
        },
        "serviceUsageModules": [{
            "moduleIdentifier": "serviceUsage", "revisionState": 1, "serviceFeatureCode": "VPN",
            "revisionStateOfService": 1, "providerIdentifier": "prov-vpn",
            "marketingCompany": "megacom", "dialledNumber": "0812345678", "accessForm": "fixed",
            "serviceSpecific": {"virtualPrivateNetwork": {
                "typeOfAccess": "direct", "dialledNumber": "0812345678", "callType": "offNet",
                "startOfCharging": start, "chargeableDuration": secs
            }}
        }]
    }})
}

/// Encodes `records` into DIR/in.sdr; returns the offset of each record.
fn encode(dir: &Path, records: &[Value]) -> Vec<u64> {
    common::encode(dir, "in.jsonl", "in.sdr", records);
    inspect(&dir.join("in.sdr"))
        .iter()
        .map(|v| v["offset"].as_u64().unwrap())
        .collect()
}

fn explain_json(dir: &Path, args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = explain()
        .args(args)
        .arg("--json")
        .current_dir(dir)
        .output()
        .unwrap();
    let objects = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code().unwrap(),
        objects,
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn explain_text(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = explain().args(args).current_dir(dir).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn steps<'a>(e: &'a Value, name: &str) -> Vec<&'a Value> {
    e["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == name)
        .collect()
}

/// The steps of one side (basic or individual) of the first item: from
/// its `charge` step to the next `charge` or `price` step.
fn side<'a>(e: &'a Value, which: &str) -> Vec<&'a Value> {
    let all = e["steps"].as_array().unwrap();
    let start = all
        .iter()
        .position(|s| s["step"] == "charge" && s["side"] == which)
        .unwrap();
    all[start + 1..]
        .iter()
        .take_while(|s| s["step"] != "charge" && s["step"] != "price")
        .collect()
}

#[test]
fn a_call_over_the_peak_boundary_shows_each_slice_the_increments_and_the_rounding() {
    let dir = tempfile::tempdir().unwrap();
    // Wednesday 2 Dec 2026 17:58:20, 250 s: r3 of megacom's base list.
    // 250 s is past the first 60 s increment and charged per second: 250 s.
    // 17:58:20-18:00:00 is 100 s peak: 100 x 0.69 / 60 = 1.15;
    // 18:00:00-18:02:30 is 150 s offpeak: 150 x 0.39 / 60 = 0.975.
    // 1.15 + 0.975 = 2.125, rounded half away from zero: 2.13.
    // Saturday 5 Dec 10:00, 45 s: charged as the first increment, 60 s,
    // weekend: 60 x 0.29 / 60 = 0.29, below the 0.45 minimum: 0.45.
    let offsets = encode(
        dir.path(),
        &[
            call(501, "spe-t", "C00003", "2026-12-02T17:58:20+01:00", 250),
            call(502, "spe-t", "C00003", "2026-12-05T10:00:00+01:00", 45),
        ],
    );
    let (code, out, err) =
        explain_json(dir.path(), &["in.sdr", "--offset", &offsets[0].to_string()]);
    assert_eq!(code, 0, "{err}");
    let e = &out[0];
    assert_eq!(e["sdr_identifier"], 501);
    assert_eq!(e["outcome"], "priced");
    assert_eq!(d(&e["totals"]["basic"]), dec("2.13"));
    assert_eq!(d(&e["totals"]["individual"]), dec("2.13"));
    assert_eq!(e["totals"]["currency"], "SEK");
    let basic = side(e, "basic");
    assert_eq!(basic[0]["step"], "quantity");
    assert_eq!(basic[0]["used"], 250);
    assert_eq!(basic[0]["charged"], 250);
    assert_eq!(basic[0]["first_increment"], 60);
    assert_eq!(basic[0]["next_increment"], 1);
    assert_eq!(basic[0]["price_per"], 60);
    let slices: Vec<(&str, u64, Decimal, Decimal)> = basic
        .iter()
        .filter(|s| s["step"] == "slice")
        .map(|s| {
            (
                s["period"].as_str().unwrap(),
                s["quantity"].as_u64().unwrap(),
                d(&s["unit_price"]),
                d(&s["amount"]),
            )
        })
        .collect();
    assert_eq!(
        slices,
        [
            ("peak", 100, dec("0.69"), dec("1.15")),
            ("offpeak", 150, dec("0.39"), dec("0.975"))
        ]
    );
    let peak = basic.iter().find(|s| s["period"] == "peak").unwrap();
    assert_eq!(peak["start"], "2026-12-02T17:58:20+01:00");
    let minimum = basic.iter().find(|s| s["step"] == "minimum").unwrap();
    assert_eq!(minimum["applied"], false);
    let rounding = steps(e, "rounding");
    assert_eq!(rounding.len(), 2);
    assert_eq!(d(&rounding[0]["before"]), dec("2.125"));
    assert_eq!(d(&rounding[0]["after"]), dec("2.13"));
    assert_eq!(rounding[0]["mode"], "half-away-from-zero");
    assert_eq!(rounding[0]["decimals"], 2);
    let price = &steps(e, "price")[0];
    assert_eq!(price["list"], "vpn-megacom-base");
    assert_eq!(price["revision"], 3);
    assert_eq!(d(&price["vat_percent"]), dec("25"));

    // The same in the text a billing operator reads.
    let (code, text, _) = explain_text(dir.path(), &["in.sdr", "--sdr-id", "501"]);
    assert_eq!(code, 0);
    for needle in [
        "vpn-megacom-base r3",
        "used 250 s -> charged 250 s (first increment 60 s, then 1 s)",
        "peak",
        "100 s x 0.69 / 60 s = 1.15",
        "150 s x 0.39 / 60 s = 0.975",
        "2.125 -> 2.13 SEK",
        "VAT 25%",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }

    // The short weekend call: one increment, then the minimum.
    let (code, out, _) = explain_json(dir.path(), &["in.sdr", "--sdr-id", "502"]);
    assert_eq!(code, 0);
    let e = &out[0];
    let basic = side(e, "basic");
    assert_eq!(basic[0]["used"], 45);
    assert_eq!(basic[0]["charged"], 60);
    let slice = basic.iter().find(|s| s["step"] == "slice").unwrap();
    assert_eq!(slice["period"], "weekend");
    assert_eq!(d(&slice["amount"]), dec("0.29"));
    let minimum = basic.iter().find(|s| s["step"] == "minimum").unwrap();
    assert_eq!(minimum["applied"], true);
    assert_eq!(d(&minimum["minimum"]), dec("0.45"));
    assert_eq!(d(&e["totals"]["individual"]), dec("0.45"));
}

fn candidate<'a>(e: &'a Value, kind: &str) -> &'a Value {
    steps(e, "resolution")[0]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap()
}

#[test]
fn customer_group_and_base_lists_and_why_the_others_were_not_chosen() {
    let dir = tempfile::tempdir().unwrap();
    encode(
        dir.path(),
        &[
            // 15 May 2026: C00030's own list is valid only from 1 June, so
            // the corporate group list is chosen: base r1 0.6 a minute,
            // 200 s = 2.00, less 10% = 1.80.
            call(601, "spe-t", "C00030", "2026-05-15T10:00:00+02:00", 200),
            // 2 Dec 2026 10:00 (peak), 150 s: the customer list, 0.30 a
            // minute: 0.75; the basic price under base r3: 150 x 0.69 / 60
            // = 1.725, rounded 1.73.
            call(602, "spe-t", "C00030", "2026-12-02T10:00:00+01:00", 150),
            // C00003 is in no group and has no list: the base list.
            call(603, "spe-t", "C00003", "2026-11-20T10:00:00+01:00", 60),
        ],
    );
    let (code, out, _) = explain_json(dir.path(), &["in.sdr", "--sdr-id", "601"]);
    assert_eq!(code, 0);
    let e = &out[0];
    let r = &steps(e, "resolution")[0];
    assert_eq!(r["customer_id"], "C00030");
    assert_eq!(r["customer_found"], true);
    assert_eq!(r["group"], "corporate");
    assert_eq!(r["registry_company"], "megacom");
    assert_eq!(
        r["chosen"],
        json!({"id": "vpn-megacom-corporate", "revision": 1})
    );
    assert_eq!(r["base"], json!({"id": "vpn-megacom-base", "revision": 1}));
    let customer = candidate(e, "customer");
    assert_eq!(customer["verdict"], "not-valid");
    assert_eq!(customer["revisions"][0]["id"], "vpn-C00030");
    assert_eq!(customer["revisions"][0]["status"], "not-yet-valid");
    assert_eq!(
        customer["revisions"][0]["valid_from"],
        "2026-06-01T00:00:00+02:00"
    );
    assert_eq!(candidate(e, "group")["verdict"], "chosen");
    assert_eq!(candidate(e, "base")["verdict"], "basic-price-only");
    let discount = &steps(e, "discount")[0];
    assert_eq!(d(&discount["percent"]), dec("10"));
    assert_eq!(d(&discount["before"]), dec("2"));
    assert_eq!(d(&discount["after"]), dec("1.80"));
    let individual = side(e, "individual");
    assert!(individual.iter().any(|s| s["step"] == "discount"));
    let charge = steps(e, "charge")
        .into_iter()
        .find(|c| c["side"] == "individual")
        .unwrap();
    // The group list only discounts: the base list's charge applies.
    assert_eq!(charge["list"], "vpn-megacom-base");
    assert_eq!(charge["from_base"], true);
    assert_eq!(d(&e["totals"]["basic"]), dec("2.00"));
    assert_eq!(d(&e["totals"]["individual"]), dec("1.80"));
    assert_eq!(e["prices"][0]["table"], "vpn-megacom-corporate");

    let (_, out, _) = explain_json(dir.path(), &["in.sdr", "--sdr-id", "602"]);
    let e = &out[0];
    assert_eq!(candidate(e, "customer")["verdict"], "chosen");
    assert_eq!(candidate(e, "group")["verdict"], "overridden");
    assert_eq!(candidate(e, "group")["by"], "customer");
    let base_revs: Vec<(u64, &str)> = candidate(e, "base")["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_u64().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        base_revs,
        [(1, "superseded"), (2, "superseded"), (3, "in-effect")]
    );
    assert_eq!(d(&e["totals"]["basic"]), dec("1.73"));
    assert_eq!(d(&e["totals"]["individual"]), dec("0.75"));
    let individual = side(e, "individual");
    let slice = individual.iter().find(|s| s["step"] == "slice").unwrap();
    // The customer list's flat price ignores the base list's periods.
    assert_eq!(slice["period"], Value::Null);
    assert_eq!(d(&slice["unit_price"]), dec("0.30"));
    assert_eq!(d(&slice["amount"]), dec("0.75"));
    assert!(steps(e, "discount").is_empty());

    let (_, text, _) = explain_text(dir.path(), &["in.sdr", "--sdr-id", "602"]);
    for needle in [
        "customer  list (C00030)",
        "CHOSEN: sets the individual price",
        "not chosen: the customer list comes first",
        "vpn-megacom-base r1: valid from 2026-01-01T00:00:00+01:00: superseded",
        "not chosen; sets the basic price",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }

    let (_, out, _) = explain_json(dir.path(), &["in.sdr", "--sdr-id", "603"]);
    let e = &out[0];
    assert_eq!(candidate(e, "customer")["verdict"], "no-list");
    assert_eq!(candidate(e, "group")["verdict"], "no-group");
    assert_eq!(candidate(e, "base")["verdict"], "chosen");
    // 20 Nov is before r2 of the base list (21 Nov 12:00): r1, 60 s at
    // 0.6 a minute: 0.60.
    assert_eq!(steps(e, "price")[0]["revision"], 1);
    assert_eq!(d(&e["totals"]["individual"]), dec("0.60"));
}

#[test]
fn json_agrees_with_what_rate_writes_and_a_priced_output_is_checked_against_its_stored_price() {
    let dir = tempfile::tempdir().unwrap();
    encode(
        dir.path(),
        &[
            call(701, "spe-t", "C00030", "2026-05-15T10:00:00+02:00", 200),
            call(702, "spe-t", "C00003", "2026-12-02T17:58:20+01:00", 250),
        ],
    );
    sdrate()
        .args(["-q", "rate", "in.sdr", "--out", "out"])
        .args(["--pricing-time", "2026-12-31T02:00:00+01:00"])
        .arg("--price-lists")
        .arg(repo("price_lists"))
        .arg("--customers")
        .arg(repo("price_lists/customers.csv"))
        .current_dir(dir.path())
        .assert()
        .success();
    let priced = inspect(&dir.path().join("out/priced/in.sdr"));
    assert_eq!(priced.len(), 2);
    for rec in &priced {
        let id = rec["sdr"]["serviceHeader"]["sdrIdentifier"].to_string();
        let (code, out, _) = explain_json(dir.path(), &["in.sdr", "--sdr-id", &id]);
        assert_eq!(code, 0);
        let e = &out[0];
        let written = &rec["sdr"]["servicePricingModules"][0]["prices"][0];
        let explained = &e["prices"][0];
        assert_eq!(d(&explained["basic"]), d(&written["basicPrice"]), "{id}");
        assert_eq!(
            d(&explained["individual"]),
            d(&written["individualPrice"]),
            "{id}"
        );
        assert_eq!(explained["table"], written["priceTableIdentifier"], "{id}");
        assert_eq!(explained["revision"], written["priceTableRevision"], "{id}");
        // The last rounding step of each side is the price written.
        let price = &steps(e, "price")[0];
        assert_eq!(d(&price["basic"]), d(&written["basicPrice"]));
        assert_eq!(d(&price["individual"]), d(&written["individualPrice"]));

        // The priced output explains to the same price, and says so.
        let offset = rec["offset"].to_string();
        let (code, out, _) = explain_json(dir.path(), &["out/priced/in.sdr", "--offset", &offset]);
        assert_eq!(code, 0);
        let again = &out[0];
        assert_eq!(again["prices"], e["prices"]);
        assert_eq!(again["stored"]["same"], true, "{}", again["stored"]);
        assert_eq!(
            d(&again["stored"]["individual"]),
            d(&written["individualPrice"])
        );
    }
    let (_, text, _) = explain_text(dir.path(), &["out/priced/in.sdr", "--sdr-id", "701"]);
    assert!(
        text.contains(
            "Stored price: equals the price computed now (stored individual price 1.80 SEK)"
        ),
        "{text}"
    );
}

#[test]
fn a_stored_price_that_no_longer_holds_is_named_with_what_differs() {
    // fixtures/priced.sdr 1201: C00042 (megacom, no group), off-net, 312 s
    // on 20 Nov 2026: base r1 0.6 a minute, per second after 60 s:
    // 312 x 0.6 / 60 = 3.12 both prices. It was stored at 3.12 basic and
    // 2.81 individual under table megacom-vpn-offnet r3.
    let (code, out, _) = explain_json(
        Path::new(ROOT),
        &["fixtures/priced.sdr", "--sdr-id", "1201"],
    );
    assert_eq!(code, 0);
    let e = &out[0];
    assert_eq!(d(&e["totals"]["individual"]), dec("3.12"));
    let stored = &e["stored"];
    assert_eq!(stored["same"], false);
    assert_eq!(d(&stored["individual"]), dec("2.81"));
    let diff = stored["differences"][0].as_str().unwrap();
    assert!(diff.contains("individual 2.81 -> 3.12"), "{diff}");
    assert!(
        diff.contains("table megacom-vpn-offnet r3 -> vpn-megacom-base r1"),
        "{diff}"
    );
    assert!(!diff.contains("basic"), "{diff}");
    let (_, text, _) = explain_text(Path::new(ROOT), &["fixtures/priced.sdr", "--offset", "0"]);
    assert!(text.contains("Stored price: DIFFERS"), "{text}");
}

#[test]
fn the_seed_conference_explains_every_participation_and_the_costs() {
    let (code, out, err) = explain_json(
        Path::new(ROOT),
        &[
            "fixtures/conference-events.csv",
            "--session",
            "conf-20261122-0100",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let e = &out[0];
    assert_eq!(e["outcome"], "priced");
    assert_eq!(e["events"], 11);
    let parts = e["participations"].as_array().unwrap();
    let summary: Vec<(&str, &str, Decimal, Decimal, u64)> = parts
        .iter()
        .map(|p| {
            (
                p["participant_id"].as_str().unwrap(),
                p["table"].as_str().unwrap(),
                d(&p["basic"]),
                d(&p["individual"]),
                p["active_seconds"].as_u64().unwrap(),
            )
        })
        .collect();
    // p1 organiser 10:00-10:50 = 3000 s: entry 3 joiners x 2.00 = 6.00,
    // usage 50 min x 0.50 = 25.00, 2 invitations x 0.10 = 0.20: 31.20.
    // p2 10:01-10:20 and 10:35-10:50 (suspended in between): 1140 + 900 =
    // 2040 s = 34 min x 0.50 = 17.00 under publicom's base list.
    // p3 10:02-10:30 = 1680 s = 28 min x 0.50 = 14.00; corporate 10% off:
    // 12.60.
    assert_eq!(
        summary,
        [
            ("p1", "conf-megacom-base", dec("31.20"), dec("31.20"), 3000),
            ("p2", "conf-publicom-base", dec("17.00"), dec("17.00"), 2040),
            (
                "p3",
                "conf-megacom-corporate",
                dec("14.00"),
                dec("12.60"),
                1680
            ),
        ]
    );
    let lines: Vec<(&str, &str, u64, Decimal)> = parts[0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["item"].as_str().unwrap(),
                l["measure"].as_str().unwrap(),
                l["quantity"].as_u64().unwrap(),
                d(&l["individual"]),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("entry", "entry-fee", 3, dec("6.00")),
            ("usage", "active-time", 3000, dec("25.00")),
            ("invitation", "events", 2, dec("0.20")),
        ]
    );
    // p2's spans around the suspension.
    let p2 = steps(e, "participation")
        .into_iter()
        .find(|p| p["participant_id"] == "p2")
        .unwrap();
    let spans: Vec<(&str, u64)> = p2["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["start"].as_str().unwrap(), s["seconds"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        spans,
        [
            ("2026-11-22T10:01:00+01:00", 1140),
            ("2026-11-22T10:35:00+01:00", 900)
        ]
    );
    assert_eq!(p2["marketing_company"], "publicom");
    // Costs to prov-conf: 3 joiners x 0.25 = 0.75; (3000 + 2040 + 1680) s
    // = 112 min x 0.10 = 11.20.
    let costs: Vec<(&str, Decimal)> = e["costs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["item"].as_str().unwrap(), d(&c["amount"])))
        .collect();
    assert_eq!(costs, [("entry", dec("0.75")), ("usage", dec("11.20"))]);
    let discount = &steps(e, "discount")[0];
    assert_eq!(d(&discount["before"]), dec("14"));
    assert_eq!(d(&discount["after"]), dec("12.60"));

    let (code, text, _) = explain_text(
        Path::new(ROOT),
        &[
            "fixtures/conference-events.csv",
            "--session",
            "conf-20261122-0100",
        ],
    );
    assert_eq!(code, 0);
    for needle in [
        "suspend    p2",
        "active 2026-11-22T10:01:00+01:00 to 2026-11-22T10:20:00+01:00: 1140 s",
        "Rule entry: measure entry-fee, quantity 3 events",
        "3 x 2 / event = 6",
        "discount 10% of conf-megacom-corporate r1: 14 -> 12.6",
        "cost to prov-conf for usage: 11.20 SEK",
        "p3 (C00300): basic 14.00 SEK, individual 12.60 SEK",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }
}

#[test]
fn several_sdrs_with_one_identifier_are_each_explained_unless_a_producer_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = encode(
        dir.path(),
        &[
            call(801, "spe-a", "C00003", "2026-11-20T10:00:00+01:00", 60),
            call(801, "spe-b", "C00003", "2026-11-20T10:00:00+01:00", 120),
        ],
    );
    let (code, out, err) = explain_json(dir.path(), &["in.sdr", "--sdr-id", "801"]);
    assert_eq!(code, 0);
    assert_eq!(out.len(), 2);
    assert!(err.contains("2 SDRs have identifier 801"), "{err}");
    assert!(err.contains("--producer"), "{err}");
    let (code, out, err) = explain_json(
        dir.path(),
        &["in.sdr", "--sdr-id", "801", "--producer", "spe-b"],
    );
    assert_eq!(code, 0);
    assert_eq!(out.len(), 1);
    assert!(err.is_empty(), "{err}");
    assert_eq!(out[0]["offset"], offsets[1]);
    // 120 s x 0.6 / 60 = 1.20.
    assert_eq!(d(&out[0]["totals"]["individual"]), dec("1.20"));
}

#[test]
fn errors_name_the_file_and_offset_and_use_the_documented_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = encode(
        dir.path(),
        &[
            call(901, "spe-t", "C00003", "2026-11-20T10:00:00+01:00", 60),
            call(902, "spe-t", "C04711", "2026-11-20T10:00:00+01:00", 60),
        ],
    );
    // Not the start of a record: a usage error naming file and offset.
    let (code, _, err) = explain_text(dir.path(), &["in.sdr", "--offset", "3"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("in.sdr: no record starts at offset 3"),
        "{err}"
    );
    assert!(err.contains(&format!("0 and {}", offsets[1])), "{err}");
    let (code, _, err) = explain_text(dir.path(), &["in.sdr", "--offset", "100000"]);
    assert_eq!(code, 2);
    assert!(err.contains("no record starts at offset 100000"), "{err}");
    // Unknown identifier, unknown session: usage errors.
    let (code, _, err) = explain_text(dir.path(), &["in.sdr", "--sdr-id", "4242"]);
    assert_eq!(code, 2);
    assert!(err.contains("no SDR with identifier 4242"), "{err}");
    assert!(err.contains("2 records read"), "{err}");
    let (code, _, err) = explain_text(
        Path::new(ROOT),
        &["fixtures/conference-events.csv", "--session", "conf-nope"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("session conf-nope not found"), "{err}");
    // Nothing to explain, or --offset with two files: usage errors.
    let (code, _, _) = explain_text(dir.path(), &["in.sdr"]);
    assert_eq!(code, 2);
    let (code, _, err) = explain_text(dir.path(), &["in.sdr", "in.sdr", "--offset", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("exactly one"), "{err}");
    // A record that does not price is explained up to its fault: exit 1.
    let (code, out, _) = explain_json(dir.path(), &["in.sdr", "--sdr-id", "902"]);
    assert_eq!(code, 1);
    assert_eq!(out[0]["outcome"], "fault");
    assert_eq!(out[0]["status"], "unableToLocateServiceUser");
    let r = &steps(&out[0], "resolution")[0];
    assert_eq!(r["customer_found"], false);
    assert_eq!(r["chosen"], Value::Null);
    assert_eq!(steps(&out[0], "fault").len(), 1);
    // An undecodable record (intact framing, content not an SDR): exit 1,
    // named by file and offset.
    fs::write(dir.path().join("bad.sdr"), [0x61, 0x03, 0x80, 0x01, 0x00]).unwrap();
    let (code, out, err) = explain_text(dir.path(), &["bad.sdr", "--offset", "0"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("bad.sdr: offset 0"), "{err}");
    assert!(err.contains("cannot be decoded"), "{err}");
    // A session event SDR says how to explain its session.
    let (code, out, _) = explain_json(
        Path::new(ROOT),
        &["fixtures/conference.sdr", "--offset", "0"],
    );
    assert_eq!(code, 0);
    assert_eq!(out[0]["outcome"], "sessionEvent");
    assert!(
        out[0]["detail"]
            .as_str()
            .unwrap()
            .contains("--session conf-"),
        "{}",
        out[0]["detail"]
    );
}
