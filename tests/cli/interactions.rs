//! Tariff interaction rules (issue 6), with the real binary: pricing
//! components registered per subscriber, combined by the rule for the set
//! present; every rule kind and failure policy, a profile change between
//! two runs, the seed's rules for {X, Y}, {X, Y, Z} and {Y, Z}, and load
//! errors. Every price is computed by hand below.
//!
//! The test's own lists: VPN calls of marketing company acme cost 0.60 a
//! minute off-net and 0.30 on-net, charged per second (base list); group
//! gold has 10 % off. Customers K1, K3..K9 are acme's, K2 is in gold.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::common::{self, ROOT, data_list, inspect, run_in};

const PRICING_TIME: &str = "2026-11-30T02:00:00+01:00";

const BASE: &str = r#"
id = "vpn-acme-base"
revision = 1
kind = "base"
service = "VPN"
based_on = "vpn-basic"
marketing_company = "acme"
valid_from = "2026-01-01T00:00:00+01:00"
currency = "SEK"
vat_percent = "25"

[[charge]]
item = "call"
per = "duration"
price = "0.60"

[[charge]]
item = "call"
when = { callType = "onNet" }
per = "duration"
price = "0.30"
"#;

/// The test's components: a number plan (4xxx on-net, else off-net), a
/// second plan that says 47xx is virtual on-net, a VPN tariff by call type
/// (0.12 / 0.06 / 0.48 a minute), a promotion for off-net calls only
/// (0.40), an office zone (+4687..., half price; nothing outside), a
/// prepaid conversion (+20 %, up to 0.10, at least 1.00) and a third-party
/// surcharge of 0.30 a call.
const COMPONENTS: &str = r#"
[[component]]
id = "plan"
kind = "translate"
attribute = "dialledNumber"
to = "callType"
map = [{ prefix = "4", value = "onNet" }]
default = "offNet"

[[component]]
id = "plan2"
kind = "translate"
attribute = "dialledNumber"
to = "callType"
map = [{ prefix = "47", value = "virtualOnNet" }]

[[component]]
id = "vpn"
kind = "rate-by"
attribute = "callType"
per = "duration"
rates = { onNet = "0.12", virtualOnNet = "0.06", offNet = "0.48" }

[[component]]
id = "promo"
kind = "rate-by"
attribute = "callType"
per = "duration"
rates = { offNet = "0.40" }

[[component]]
id = "zone"
kind = "zone"
attribute = "originatingLineIdentity"
[[component.zone]]
name = "office"
prefixes = ["+4687"]
factor = "0.5"

[[component]]
id = "pre"
kind = "prepaid"
markup_percent = "20"
rounding = { decimals = 1, mode = "up" }
minimum = "1.00"

[[component]]
id = "sur"
kind = "charge"
provider = "p3"
per = "event"
price = "0.30"
"#;

/// A profile of one customer registering `components` for VPN.
fn profile(id: &str, revision: u16, customer: &str, from: &str, components: &[&str]) -> String {
    let list: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        r#"
[[profile]]
id = "{id}"
revision = {revision}
marketing_company = "acme"
customer = "{customer}"
valid_from = "{from}"
trigger = [{{ service = "VPN", components = [{}] }}]
"#,
        list.join(", ")
    )
}

fn setup(dir: &Path, rules: &str, profiles: &str) {
    let lists = dir.join("lists");
    fs::create_dir_all(lists.join("profiles")).unwrap();
    fs::write(lists.join("basic.toml"), data_list("vpn-basic")).unwrap();
    fs::write(lists.join("base.toml"), BASE).unwrap();
    fs::write(lists.join("gold.toml"), data_list("vpn-acme-gold")).unwrap();
    fs::write(lists.join("profiles/components.toml"), COMPONENTS).unwrap();
    fs::write(lists.join("profiles/rules.toml"), rules).unwrap();
    fs::write(lists.join("profiles/profiles.toml"), profiles).unwrap();
    let mut customers = String::from("customer_id,marketing_company,group\n");
    for k in 1..=9 {
        let group = if k == 2 { "gold" } else { "" };
        customers.push_str(&format!("K{k},acme,{group}\n"));
    }
    fs::write(dir.join("customers.csv"), customers).unwrap();
}

/// A VPN call as `encode` JSON.
struct Call<'a> {
    id: u32,
    customer: &'a str,
    start: &'a str,
    secs: u64,
    dialled: &'a str,
    call_type: Option<&'a str>,
    line: &'a str,
}

impl Call<'_> {
    fn json(&self) -> Value {
        let mut vpn = json!({
            "typeOfAccess": "direct", "dialledNumber": self.dialled,
            "originatingLineIdentity": self.line,
            "startOfCharging": self.start, "chargeableDuration": self.secs
        });
        if let Some(t) = self.call_type {
            vpn["callType"] = json!(t);
        }
        json!({"sdr": {
            "serviceHeader": {
                "moduleIdentifier": "serviceHeader", "revisionState": 1, "sdrType": "billing",
                "sdrIdentifier": self.id, "producerIdentity": "spe-t", "timeOfOrigin": self.start,
                "responsibilityTrace": [], "actionIndicator": "priceAndForward",
                "customerIdentity": self.customer, "marketingCompany": "acme"
            },
            "serviceUsageModules": [{
                "moduleIdentifier": "serviceUsage", "revisionState": 1, "serviceFeatureCode": "VPN",
                "revisionStateOfService": 1, "providerIdentifier": "p", "marketingCompany": "acme",
                "dialledNumber": self.dialled, "accessForm": "fixed",
                "serviceSpecific": {"virtualPrivateNetwork": vpn}
            }]
        }})
    }
}

/// A call of `secs` seconds by `customer` on 20 Nov, dialling `dialled`
/// from a line outside the office, with no call type of its own.
fn call<'a>(id: u32, customer: &'a str, secs: u64, dialled: &'a str) -> Call<'a> {
    Call {
        id,
        customer,
        start: "2026-11-20T10:00:00+01:00",
        secs,
        dialled,
        call_type: None,
        line: "+46705550000",
    }
}

fn encode(dir: &Path, name: &str, calls: &[Call<'_>]) {
    let records: Vec<Value> = calls.iter().map(Call::json).collect();
    common::encode(dir, &format!("{name}.jsonl"), name, &records);
}

fn rate(dir: &Path, input: &str, out: &str) -> (i32, String) {
    let r = run_in(
        dir,
        &[
            "rate",
            input,
            "--out",
            out,
            "--price-lists",
            "lists",
            "--customers",
            "customers.csv",
            "--pricing-time",
            PRICING_TIME,
        ],
    );
    (r.code, r.stderr)
}

/// One price item of a priced SDR.
#[derive(Debug)]
struct Priced {
    id: u64,
    basic: String,
    individual: String,
    table: String,
    revision: u64,
    info: String,
}

/// An amount as its shortest decimal ("2.0" and "2.00" are both "2").
fn amount(v: &Value) -> String {
    let s = v.as_str().unwrap_or_else(|| panic!("amount {v}"));
    s.parse::<rust_decimal::Decimal>()
        .unwrap()
        .normalize()
        .to_string()
}

/// The prices of every priced SDR in `out`, in output order.
fn priced(dir: &Path, out: &str) -> Vec<Priced> {
    let mut v = Vec::new();
    let priced_dir = dir.join(out).join("priced");
    let mut files: Vec<_> = fs::read_dir(&priced_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        for r in inspect(&f) {
            let sdr = &r["sdr"];
            for spm in sdr["servicePricingModules"].as_array().unwrap() {
                for p in spm["prices"].as_array().unwrap() {
                    v.push(Priced {
                        id: sdr["serviceHeader"]["sdrIdentifier"].as_u64().unwrap(),
                        basic: amount(&p["basicPrice"]),
                        individual: amount(&p["individualPrice"]),
                        table: p["priceTableIdentifier"].as_str().unwrap().to_owned(),
                        revision: p["priceTableRevision"].as_u64().unwrap(),
                        info: p["billInformation"].as_str().unwrap_or("").to_owned(),
                    });
                }
            }
        }
    }
    v
}

fn faults(dir: &Path, out: &str) -> String {
    fs::read_to_string(dir.join(out).join("faults.csv")).unwrap()
}

/// (id, individual price) of every priced SDR.
fn individual(p: &[Priced]) -> Vec<(u64, &str)> {
    p.iter().map(|p| (p.id, p.individual.as_str())).collect()
}

#[test]
fn a_translation_chains_into_the_tariff_under_the_default_rule() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // No rule is written for {plan, vpn}: registering it never fails, the
    // default rule applies (precedence as registered, first wins).
    setup(
        d,
        "",
        &profile("p1", 1, "K1", "2026-01-01T00:00:00+01:00", &["plan", "vpn"]),
    );
    encode(
        d,
        "in.sdr",
        &[
            call(1, "K1", 90, "4711"),
            call(2, "K1", 90, "+4640111222"),
            call(3, "K3", 90, "4711"),
        ],
    );
    let (code, err) = rate(d, "in.sdr", "out");
    assert_eq!(code, 0, "{err}");
    let p = priced(d, "out");
    // 1: 4711 -> onNet, 90 s at 0.12/min = 0.18. 2: off-net 0.48 x 1.5 =
    // 0.72. 3: K3 has no profile: the list, no call type, 0.60 x 1.5 = 0.90.
    assert_eq!(individual(&p), [(1, "0.18"), (2, "0.72"), (3, "0.9")]);
    // The basic price is the base list's, with the usage's own data.
    assert_eq!(p[0].basic, "0.9");
    assert_eq!((p[0].table.as_str(), p[0].revision), ("p1", 1));
    assert_eq!((p[2].table.as_str(), p[2].revision), ("vpn-acme-base", 1));
    assert_eq!(
        p[0].info,
        "call: rule default for plan+vpn; plan callType=onNet; vpn 0.18 (first → 0.18)"
    );
    assert_eq!(p[2].info, "call");
}

#[test]
fn two_components_pricing_the_same_item_combine_by_the_rule() {
    // promo: 0.40 x 2 = 0.80; the list: 0.60 x 2 = 1.20, for 120 s off-net.
    for (combine, want) in [
        ("first", "0.8"),
        ("last", "1.2"),
        ("lowest", "0.8"),
        ("highest", "1.2"),
        ("sum", "2"),
    ] {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let rules = format!("[[rule]]\norder = [\"promo\", \"list\"]\ncombine = \"{combine}\"\n");
        setup(
            d,
            &rules,
            &profile(
                "p4",
                1,
                "K4",
                "2026-01-01T00:00:00+01:00",
                &["list", "promo"],
            ),
        );
        let mut c = call(4, "K4", 120, "+4640111222");
        c.call_type = Some("offNet");
        encode(d, "in.sdr", &[c]);
        let (code, err) = rate(d, "in.sdr", "out");
        assert_eq!(code, 0, "{combine}: {err}");
        let p = priced(d, "out");
        assert_eq!(individual(&p), [(4, want)], "{combine}");
        assert!(
            p[0].info.starts_with("call: rule promo+list; promo 0.8"),
            "{}",
            p[0].info
        );
    }
}

#[test]
fn a_translation_conflict_is_resolved_by_precedence_or_latest() {
    // 4711: plan says onNet (0.12/min), plan2 says virtualOnNet (0.06/min);
    // 60 s.
    for (conflict, want, note) in [
        (
            "precedence",
            "0.12",
            "plan2 callType=virtualOnNet overruled, kept onNet",
        ),
        ("latest", "0.06", "plan2 callType=virtualOnNet; vpn 0.06"),
    ] {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let rules = format!(
            "[[rule]]\norder = [\"plan\", \"plan2\", \"vpn\"]\nconflict = \"{conflict}\"\n"
        );
        setup(
            d,
            &rules,
            &profile(
                "p5",
                1,
                "K5",
                "2026-01-01T00:00:00+01:00",
                &["vpn", "plan2", "plan"],
            ),
        );
        encode(d, "in.sdr", &[call(5, "K5", 60, "4711")]);
        let (code, err) = rate(d, "in.sdr", "out");
        assert_eq!(code, 0, "{conflict}: {err}");
        let p = priced(d, "out");
        assert_eq!(individual(&p), [(5, want)], "{conflict}");
        assert!(p[0].info.contains(note), "{conflict}: {}", p[0].info);
    }
}

#[test]
fn each_failure_policy_faults_falls_back_or_keeps() {
    // {vpn, zone}: the zone fails for a line outside the office (no
    // outside factor). 150 s off-net: vpn 0.48 x 2.5 = 1.20; from the
    // office x0.5 = 0.60.
    let calls = || {
        let mut office = call(7, "K7", 150, "+4640111222");
        office.line = "+4687001122";
        [call(6, "K7", 150, "+4640111222"), office]
    };
    let profiles = profile(
        "p7",
        1,
        "K7",
        "2026-01-01T00:00:00+01:00",
        &["plan", "vpn", "zone"],
    );
    let rule = |policy: &str| {
        format!(
            "[[rule]]\nname = \"r\"\norder = [\"plan\", \"vpn\", \"zone\"]\non_failure = \"{policy}\"\n"
        )
    };

    // fault: call 6 is a fault, kept for recycling, with the reason.
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    setup(d, &rule("fault"), &profiles);
    encode(d, "in.sdr", &calls());
    let (code, err) = rate(d, "in.sdr", "out");
    assert_eq!(code, 1, "{err}");
    assert_eq!(individual(&priced(d, "out")), [(7, "0.6")]);
    let f = faults(d, "out");
    assert!(
        f.contains(",6,spe-t,unableToLocatePriceTable,profile p7 r1: component zone cannot price call: originatingLineIdentity +46705550000 is in no zone (rule r: a failure is a fault)"),
        "{f}"
    );
    // Fixed (an outside factor of 1) and recycled: it prices at 1.20.
    let fixed = COMPONENTS.replace(
        "attribute = \"originatingLineIdentity\"",
        "attribute = \"originatingLineIdentity\"\noutside_factor = \"1\"",
    );
    fs::write(d.join("lists/profiles/components.toml"), fixed).unwrap();
    let (code, err) = rate(d, "out/faults.sdr", "recycled");
    assert_eq!(code, 0, "{err}");
    let p = priced(d, "recycled");
    assert_eq!(individual(&p), [(6, "1.2")]);
    assert!(
        p[0].info.ends_with("zone outside every zone ×1: 1.2 → 1.2"),
        "{}",
        p[0].info
    );

    // next: the zone is the last component, nothing to fall back to.
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    setup(d, &rule("next"), &profiles);
    encode(d, "in.sdr", &calls());
    let (code, err) = rate(d, "in.sdr", "out");
    assert_eq!(code, 1, "{err}");
    assert!(
        faults(d, "out").contains("and no component follows it to fall back to (rule r)"),
        "{}",
        faults(d, "out")
    );

    // keep: the VPN price stands, the failure is in the bill information.
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    setup(d, &rule("keep"), &profiles);
    encode(d, "in.sdr", &calls());
    let (code, err) = rate(d, "in.sdr", "out");
    assert_eq!(code, 0, "{err}");
    let p = priced(d, "out");
    assert_eq!(individual(&p), [(6, "1.2"), (7, "0.6")]);
    assert!(
        p[0].info.ends_with(
            "zone failed (originatingLineIdentity +46705550000 is in no zone); kept the others' results"
        ),
        "{}",
        p[0].info
    );
}

#[test]
fn next_falls_back_to_the_following_component() {
    // {promo, list}, next: promo has no on-net rate, the list prices the
    // on-net call: 0.30 x 1.5 = 0.45 for 90 s.
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    setup(
        d,
        "[[rule]]\norder = [\"promo\", \"list\"]\non_failure = \"next\"\n",
        &profile(
            "p8",
            1,
            "K8",
            "2026-01-01T00:00:00+01:00",
            &["promo", "list"],
        ),
    );
    let mut c = call(8, "K8", 90, "4711");
    c.call_type = Some("onNet");
    encode(d, "in.sdr", &[c]);
    let (code, err) = rate(d, "in.sdr", "out");
    assert_eq!(code, 0, "{err}");
    let p = priced(d, "out");
    assert_eq!(individual(&p), [(8, "0.45")]);
    assert_eq!(
        p[0].info,
        "call: rule promo+list; promo failed (no rate for callType onNet); next component took over; list 0.45 (first → 0.45)"
    );
}

#[test]
fn a_prepaid_conversion_combines_the_post_paid_results() {
    // {plan, vpn, zone, pre} from the office: 200 s off-net = 0.48 x 200/60
    // = 1.60; office x0.5 = 0.80; +20 % = 0.96; up to 0.10: 1.0; at least
    // 1.00. 500 s: 4.00 x 0.5 = 2.00; +20 % = 2.40.
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    setup(
        d,
        "",
        &profile(
            "p9",
            1,
            "K9",
            "2026-01-01T00:00:00+01:00",
            &["plan", "vpn", "zone", "pre"],
        ),
    );
    let mut a = call(9, "K9", 200, "+4640111222");
    a.line = "+4687001122";
    let mut b = call(10, "K9", 500, "+4640111222");
    b.line = "+4687001122";
    let mut c = call(11, "K9", 100, "+4640111222");
    c.line = "+4687001122";
    // 100 s: 0.80 x 0.5 = 0.40; +20 % = 0.48; up: 0.5; minimum 1.00.
    encode(d, "in.sdr", &[a, b, c]);
    let (code, err) = rate(d, "in.sdr", "out");
    assert_eq!(code, 0, "{err}");
    let p = priced(d, "out");
    assert_eq!(individual(&p), [(9, "1"), (10, "2.4"), (11, "1")]);
    assert!(
        p[1].info
            .ends_with("pre prepaid +20%, rounded up to 1 decimals: 2 → 2.4"),
        "{}",
        p[1].info
    );
    assert!(p[2].info.ends_with(", minimum: 0.4 → 1"), "{}", p[2].info);
}

#[test]
fn a_surcharge_is_added_to_the_discounted_list_price() {
    // K2 is in group gold (10 % off): 120 s off-net 1.20 x 0.9 = 1.08, plus
    // the third party's 0.30 a call = 1.38. The basic price stays 1.20.
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let profiles = r#"
[[profile]]
id = "gold-surcharge"
revision = 1
marketing_company = "acme"
group = "gold"
valid_from = "2026-01-01T00:00:00+01:00"
trigger = [{ service = "VPN", components = ["list", "sur"] }]
"#;
    setup(
        d,
        "[[rule]]\norder = [\"list\", \"sur\"]\ncombine = \"sum\"\n",
        profiles,
    );
    encode(
        d,
        "in.sdr",
        &[
            call(12, "K2", 120, "+4640111222"),
            call(13, "K1", 120, "+4640111222"),
        ],
    );
    let (code, err) = rate(d, "in.sdr", "out");
    assert_eq!(code, 0, "{err}");
    let p = priced(d, "out");
    // K1 is not in the group: the list alone.
    assert_eq!(individual(&p), [(12, "1.38"), (13, "1.2")]);
    assert_eq!(p[0].basic, "1.2");
    assert_eq!(p[0].table, "gold-surcharge");
}

#[test]
fn the_rule_follows_the_set_registered_when_the_profile_changes_between_runs() {
    // The seed's example: X = plan, Y = vpn, Z = zone. Rule beta for
    // {X, Y}, alpha for {X, Y, Z}, gamma for {Y, Z}.
    let rules = r#"
[[rule]]
name = "beta"
order = ["plan", "vpn"]

[[rule]]
name = "alpha"
order = ["plan", "vpn", "zone"]
on_failure = "keep"

[[rule]]
name = "gamma"
order = ["vpn", "zone"]
on_failure = "keep"
"#;
    let r1 = profile("px", 1, "K6", "2026-11-01T00:00:00+01:00", &["plan", "vpn"]);
    let r2 = profile(
        "px",
        2,
        "K6",
        "2026-11-10T00:00:00+01:00",
        &["zone", "plan", "vpn"],
    );
    let r3 = profile("px", 3, "K6", "2026-11-20T00:00:00+01:00", &["vpn", "zone"]);
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    setup(d, rules, &format!("{r1}{r2}"));
    // Extension 4711 from the office, 120 s, on 5, 15 and 25 Nov; the SDR
    // says off-net.
    let mk = |id: u32, start: &'static str| Call {
        id,
        customer: "K6",
        start,
        secs: 120,
        dialled: "4711",
        call_type: Some("offNet"),
        line: "+4687001122",
    };
    encode(
        d,
        "in.sdr",
        &[
            mk(21, "2026-11-05T10:00:00+01:00"),
            mk(22, "2026-11-15T10:00:00+01:00"),
            mk(23, "2026-11-25T10:00:00+01:00"),
        ],
    );
    let (code, err) = rate(d, "in.sdr", "run1");
    assert_eq!(code, 0, "{err}");
    let p = priced(d, "run1");
    // 5 Nov, beta: on-net by the plan, 0.12 x 2 = 0.24. 15 and 25 Nov,
    // alpha: 0.24 x 0.5 = 0.12.
    assert_eq!(individual(&p), [(21, "0.24"), (22, "0.12"), (23, "0.12")]);
    assert!(p[0].info.starts_with("call: rule beta;"), "{}", p[0].info);
    assert!(p[2].info.starts_with("call: rule alpha;"), "{}", p[2].info);

    // Between the runs the operator drops the number plan from 20 Nov on
    // (revision 3). The same input rated again is a new run: the 25 Nov
    // call now has {vpn, zone}, rule gamma, and the SDR's own off-net call
    // type: 0.48 x 2 x 0.5 = 0.48. Earlier usage keeps its revision.
    fs::write(
        d.join("lists/profiles/profiles.toml"),
        format!("{r1}{r2}{r3}"),
    )
    .unwrap();
    let (code, err) = rate(d, "in.sdr", "run2");
    assert_eq!(code, 0, "{err}");
    let p = priced(d, "run2");
    assert_eq!(individual(&p), [(21, "0.24"), (22, "0.12"), (23, "0.48")]);
    assert!(p[2].info.starts_with("call: rule gamma;"), "{}", p[2].info);
    assert_eq!((p[2].table.as_str(), p[2].revision), ("px", 3));
    let id = |out: &str| {
        let m: Value =
            serde_json::from_slice(&fs::read(d.join(out).join("manifest.json")).unwrap()).unwrap();
        assert!(
            m["price_lists"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["id"] == "px" && l["revision"] == 2),
            "{m:#}"
        );
        m["run_id"].as_str().unwrap().to_owned()
    };
    assert_ne!(id("run1"), id("run2"));

    // A published revision never changes: editing revision 1 in place is a
    // configuration error before anything is read.
    let changed = r1.replace("\"plan\", \"vpn\"", "\"vpn\"");
    fs::write(d.join("lists/profiles/more.toml"), changed).unwrap();
    let (code, err) = rate(d, "in.sdr", "run3");
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("revision 1 differs"), "{err}");
    assert!(!d.join("run3").exists());
}

#[test]
fn bad_profiles_stop_the_run_with_file_line_and_column() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    encode(d, "in.sdr", &[call(1, "K1", 60, "4711")]);
    for (rules, want) in [
        (
            "[[rule]]\norder = [\"plan\", \"nosuch\"]\n",
            "rules.toml: line 2, column 18: no component `nosuch` is defined",
        ),
        (
            "[[rule]]\norder = [\"plan\", \"plan\"]\n",
            "rules.toml: line 2, column 18: component `plan` is named twice in a rule's order",
        ),
        (
            "[[rule]]\norder = [\"plan\"]\ncombine = \"average\"\n",
            "rules.toml: line 3, column 11: unknown variant `average`",
        ),
        (
            "[[rule]]\norder = [\"plan\"]\nprecedence = 1\n",
            "rules.toml: line 3, column 1: unknown field `precedence`",
        ),
        (
            "[[rule]]\norder = [\"plan\", \"vpn\"]\n[[rule]]\norder = [\"vpn\", \"plan\"]\n",
            "a rule for {vpn, plan} already exists (plan+vpn)",
        ),
        (
            "[[component]]\nid = \"list\"\nkind = \"prepaid\"\n",
            "`list` is the built-in component",
        ),
        (
            "[[component]]\nid = \"x\"\nkind = \"zone\"\nattribute = \"a\"\nrates = { a = \"1\" }\n",
            "component `x`: `rates` (or a key like it) does not apply to a component of kind Zone",
        ),
    ] {
        setup(d, rules, "");
        let (code, err) = rate(d, "in.sdr", "out");
        assert_eq!(code, 3, "{rules}: {err}");
        assert!(err.contains(want), "{rules}: {err}");
        assert!(!d.join("out").exists());
    }
}

#[test]
fn the_shipped_profiles_price_the_shipped_fixture_as_documented() {
    // fixtures/vpn_profiles.sdr with price_lists/ (docs/interactions.md).
    let root = Path::new(ROOT);
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    let o = crate::sdrate_command()
        .current_dir(root)
        .args(["rate", "fixtures/vpn_profiles.sdr", "--out"])
        .arg(&out)
        .args(["--pricing-time", PRICING_TIME])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let p = priced(t.path(), "out");
    assert_eq!(
        individual(&p),
        [
            (7001, "0.25"),
            (7002, "0.75"),
            (7003, "2.7"),
            (7004, "1.45"),
            (7005, "0.08"),
            (7006, "0.9")
        ]
    );
    let basic: Vec<&str> = p.iter().map(|p| p.basic.as_str()).collect();
    assert_eq!(basic, ["1.5", "2", "4", "1.2", "0.16", "0.9"]);
    let rules: Vec<&str> = p
        .iter()
        .map(|p| p.info.split(';').next().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "call: rule beta",
            "call: rule alpha",
            "call: rule prepaid-vpn",
            "call: rule list-plus-surcharge",
            "call: rule best-price",
            "call: rule best-price"
        ]
    );
}

const CONF_BASIC: &str = r#"
id = "conf-basic"
revision = 1
kind = "basic"
service = "CONF"
valid_from = "2026-01-01T00:00:00+01:00"
items = ["entry", "usage"]

[session.roles]
organiser = ["entry", "usage"]
"*" = ["usage"]

[[session.rule]]
item = "entry"
measure = "entry-fee"
counts = ["organiser", "participant"]

[[session.rule]]
item = "usage"
measure = "active-time"
"#;

const CONF_BASE: &str = r#"
id = "conf-acme"
revision = 1
kind = "base"
service = "CONF"
based_on = "conf-basic"
marketing_company = "acme"
valid_from = "2026-01-01T00:00:00+01:00"
currency = "SEK"
vat_percent = "25"

[[charge]]
item = "entry"
per = "event"
price = "1.00"

[[charge]]
item = "usage"
per = "duration"
price = "0.60"
"#;

#[test]
fn components_registered_for_a_session_service_price_each_participation() {
    // K1 organises a conference that K3 joins for 10 minutes; K1 stays 20.
    // The list: K1's entry fee 2 x 1.00 = 2.00 and usage 20 x 0.60 =
    // 12.00; K3's usage 10 x 0.60 = 6.00. K1's profile registers for CONF a
    // per-joiner surcharge of 0.50 on the entry fee only, then a prepaid
    // conversion: entry 2.00 + 2 x 0.50 = 3.00, +20 % = 3.60; usage 12.00
    // (the surcharge does not take part), +20 % = 14.40. K3 has no profile.
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let components = format!(
        "{COMPONENTS}\n[[component]]\nid = \"joiner\"\nkind = \"charge\"\nitems = [\"entry\"]\nper = \"event\"\nprice = \"0.50\"\n"
    );
    setup(
        d,
        "[[rule]]\norder = [\"list\", \"joiner\", \"pre\"]\ncombine = \"sum\"\n",
        r#"
[[profile]]
id = "k1-conf"
revision = 1
marketing_company = "acme"
customer = "K1"
valid_from = "2026-01-01T00:00:00+01:00"
trigger = [{ service = "CONF", components = ["list", "joiner", "pre"] }]
"#,
    );
    fs::write(d.join("lists/profiles/components.toml"), components).unwrap();
    fs::write(d.join("lists/conf-basic.toml"), CONF_BASIC).unwrap();
    fs::write(d.join("lists/conf-acme.toml"), CONF_BASE).unwrap();
    fs::write(
        d.join("events.csv"),
        "session_id,service,category,event_type,timestamp,participant_id,user_name,billed_party,role,sequence,provider,parameters
s1,CONF,sessionRelated,start,2026-11-20T10:00:00+01:00,p1,anna,K1,organiser,1,prov,
s1,CONF,participantRelated,join,2026-11-20T10:00:00+01:00,p2,bo,K3,participant,2,prov,
s1,CONF,participantRelated,leave,2026-11-20T10:10:00+01:00,p2,bo,K3,participant,3,prov,
s1,CONF,participantRelated,leave,2026-11-20T10:20:00+01:00,p1,anna,K1,organiser,4,prov,
s1,CONF,sessionRelated,end,2026-11-20T10:20:00+01:00,p1,anna,K1,organiser,5,prov,
",
    )
    .unwrap();
    let (code, err) = rate(d, "events.csv", "out");
    assert_eq!(code, 0, "{err}");
    let csv = fs::read_to_string(d.join("out/participations.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // participant, basic, individual, price table, revision, lines
    let cells: Vec<[&str; 6]> = rows
        .iter()
        .map(|r| [r[2], r[11], r[12], r[14], r[15], r[16]])
        .collect();
    assert_eq!(
        cells,
        [
            [
                "p1",
                "14.00",
                "18.00",
                "k1-conf",
                "1",
                "entry=3.60;usage=14.40"
            ],
            ["p2", "6.00", "6.00", "conf-acme", "1", "usage=6.00"],
        ],
        "{csv}"
    );
    // The participation SDR says what the components did.
    let first = &inspect(&d.join("out/participations.sdr"))[0];
    let info: Vec<&str> = first["sdr"]["servicePricingModules"][0]["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["billInformation"].as_str().unwrap())
        .collect();
    assert_eq!(
        info,
        [
            "entry: rule list+joiner+pre; list 2 (sum → 2); joiner 1 (sum → 3); pre prepaid +20%, rounded up to 1 decimals: 3 → 3.6 (2 participants)",
            "usage: rule list+joiner+pre; list 12 (sum → 12); pre prepaid +20%, rounded up to 1 decimals: 12 → 14.4 (1200 s active)",
        ]
    );
}

#[test]
fn explain_names_the_profile_the_rule_and_each_component() {
    // The shipped prepaid subscriber (docs/interactions.md): 400 s off-net
    // from home: 0.45/min = 3.00, x0.8 = 2.40, +10 % = 2.64, up to 2.70.
    let root = Path::new(ROOT);
    let o = crate::sdrate_command()
        .current_dir(root)
        .args(["explain", "fixtures/vpn_profiles.sdr", "--sdr-id", "7003"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    for line in [
        "components: profile prof-C00606-prepaid r1 (customer C00606) registers vpn-number-plan, vpn-onnet-offnet, office-zone, prepaid",
        "rule prepaid-vpn: precedence vpn-number-plan > vpn-onnet-offnet > office-zone > prepaid; combine first, conflict precedence, on failure fault",
        "vpn-number-plan: set callType = offNet",
        "vpn-onnet-offnet: priced 3; amount so far 3",
        "office-zone: zone home ×0.8: 3 -> 2.4",
        "prepaid: prepaid +10%, rounded up to 1 decimals: 2.4 -> 2.7",
        "= call (perTimeSlice): basic 4.00 SEK, individual 2.70 SEK; table prof-C00606-prepaid r1",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
    // JSON: the failure the rule let pass, for C00612's call without a
    // call type, and the list that took over.
    let o = crate::sdrate_command()
        .current_dir(root)
        .args([
            "explain",
            "fixtures/vpn_profiles.sdr",
            "--sdr-id",
            "7006",
            "--json",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "components")
        .unwrap();
    assert_eq!(c["rule"], "best-price");
    assert_eq!(c["on_failure"], "next");
    assert_eq!(
        c["steps"],
        json!([
            {"component": "vpn-onnet-offnet", "outcome": "failed", "reason": "the usage has no callType", "policy": "next"},
            {"component": "list", "outcome": "priced", "amount": "0.9", "total": "0.9"}
        ])
    );
}
