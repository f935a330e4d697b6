//! Pricing truth: every documented rule priced exactly.
//!
//! The regression tests run `sdrate` on the minimal cases in
//! `tests/data/pricing-truth/` (price lists, registry, SDRs as JSON lines or
//! session event logs); every expected amount is computed by hand in the
//! comment beside it. The property tests compare the tariff arithmetic with
//! a reference written from docs/price-lists.md in exact fractions, and
//! check that shared rates add up for any mix of sharers' lists.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use chrono::DateTime;
use num_rational::Ratio;
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use sdrate::money::Exact;
use sdrate::price::{Quantity, amount};
use sdrate::resolve::period::Calendar;
use sdrate::resolve::price_list::{Charge, Rounding, RoundingMode};

use crate::common::{csv_maps, repo, sdrate};

fn case(name: &str) -> PathBuf {
    repo("tests/data/pricing-truth").join(name)
}

/// (basic, individual, price table, status) per SDR identifier.
type Prices = BTreeMap<u64, Vec<(String, String, String, String)>>;

/// Encodes the case's `sdr.jsonl`, rates it, and returns the exit code,
/// the prices of priced and faulted SDRs, and faults.csv.
fn rate_sdrs(name: &str) -> (i32, Prices, String) {
    let dir = case(name);
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join("in.sdr");
    sdrate()
        .arg("-q")
        .arg("encode")
        .arg(dir.join("sdr.jsonl"))
        .arg("-o")
        .arg(&input)
        .assert()
        .success();
    let out = t.path().join("out");
    let status = sdrate()
        .args(["-q", "rate"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .arg("--price-lists")
        .arg(dir.join("pl"))
        .arg("--customers")
        .arg(dir.join("customers.csv"))
        .args(["--pricing-time", "2028-01-01T00:00:00Z"])
        .output()
        .unwrap();
    let mut prices = Prices::new();
    for file in ["priced/in.sdr", "faults.sdr"] {
        let path = out.join(file);
        if !path.exists() {
            continue;
        }
        let shown = sdrate().arg("inspect").arg(&path).output().unwrap();
        for line in String::from_utf8(shown.stdout).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let sdr = &v["sdr"];
            let id = sdr["serviceHeader"]["sdrIdentifier"].as_u64().unwrap();
            for spm in sdr["servicePricingModules"].as_array().unwrap() {
                for p in spm["prices"].as_array().unwrap() {
                    let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
                    prices.entry(id).or_default().push((
                        s("basicPrice"),
                        s("individualPrice"),
                        s("priceTableIdentifier"),
                        s("statusIndicator"),
                    ));
                }
            }
        }
    }
    let faults = fs::read_to_string(out.join("faults.csv")).unwrap_or_default();
    (status.status.code().unwrap(), prices, faults)
}

fn price(basic: &str, individual: &str, table: &str) -> (String, String, String, String) {
    (
        basic.into(),
        individual.into(),
        table.into(),
        "priced".into(),
    )
}

type Rows = Vec<BTreeMap<String, String>>;

/// Rates the case's event logs (in the order given) and returns
/// participations.csv and costs.csv as rows of named columns.
fn rate_events(name: &str, logs: &[&str]) -> (Rows, Rows) {
    let dir = case(name);
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    let mut cmd = sdrate();
    cmd.args(["-q", "rate"]);
    for l in logs {
        cmd.arg(dir.join(l));
    }
    cmd.arg("--out")
        .arg(&out)
        .arg("--price-lists")
        .arg(dir.join("pl"))
        .arg("--customers")
        .arg(dir.join("customers.csv"))
        .args(["--pricing-time", "2028-01-01T00:00:00Z"])
        .assert()
        .success();
    (
        csv_maps(&out.join("participations.csv")),
        csv_maps(&out.join("costs.csv")),
    )
}

/// (session, participant) -> (billed party, basic, individual).
fn by_participant(
    rows: &[BTreeMap<String, String>],
) -> BTreeMap<(String, String), (String, String, String)> {
    rows.iter()
        .map(|r| {
            (
                (r["session_id"].clone(), r["participant_id"].clone()),
                (
                    r["billed_party"].clone(),
                    r["basic_price"].clone(),
                    r["individual_price"].clone(),
                ),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Regressions, one per class of wrong price

/// Base list of m1 charges `call` only on-net (0.60 a minute); K1's own list
/// charges every call 0.30 a minute; K2 has no list of its own.
#[test]
fn an_item_the_base_list_does_not_charge_is_priced_by_the_chosen_lists_own_charge() {
    let (code, prices, faults) = rate_sdrs("R1-base-list-does-not-charge");
    assert_eq!(code, 0, "{faults}");
    // K1, 120 s off-net: the base list charges nothing (basic 0.00); K1's
    // list 2 min x 0.30 = 0.60.
    assert_eq!(prices[&1], vec![price("0.00", "0.60", "vpn-K1")]);
    // K1, on-net: basic 2 x 0.60 = 1.20; individual 2 x 0.30 = 0.60.
    assert_eq!(prices[&2], vec![price("1.20", "0.60", "vpn-K1")]);
    // K2, off-net: no list charges the call: free, not a fault.
    assert_eq!(prices[&3], vec![price("0.00", "0.00", "vpn-m1-base")]);
    // K2, on-net: the base list for both, 1.20.
    assert_eq!(prices[&4], vec![price("1.20", "1.20", "vpn-m1-base")]);
}

/// 2.37 per 30 s for 25 s is exactly 2.37 x 25 / 30 = 1.975: half away
/// from zero, 1.98, whether the tariff is a linear algorithm (SDR 1) or a
/// flat price (SDR 2).
#[test]
fn an_amount_on_a_rounding_boundary_is_rounded_from_its_exact_value() {
    let (code, prices, _) = rate_sdrs("R2-precision-algorithm");
    assert_eq!(code, 0);
    assert_eq!(prices[&1], vec![price("1.98", "1.98", "vpn-m1-base")]);
    assert_eq!(prices[&2], vec![price("1.98", "1.98", "vpn-m1-base")]);
}

/// The first module (12:00) resolves to revision 1 in SEK, the second
/// (13:30) to revision 2 in EUR: an SDR is billed in one currency, so the
/// SDR is a fault of its own cause, kept for recycling.
#[test]
fn usage_modules_in_two_currencies_are_a_currency_mismatch_fault() {
    let (code, prices, faults) = rate_sdrs("R3-probe-sums-in-two-currencies");
    assert_eq!(code, 1);
    let rows: Vec<&str> = faults.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{faults}");
    assert!(rows[0].contains(",currencyMismatch,"), "{faults}");
    assert!(rows[0].contains("priced in EUR"), "{faults}");
    // The first module keeps its price, the second is labelled.
    assert_eq!(prices[&1][0], price("0.60", "0.60", "vpn-m1-base"));
    assert_eq!(prices[&1][1].3, "currencyMismatch");
}

/// 0.25 a minute shared by two for 60 s: 0.125 each, 0.25 in all, handed
/// out 0.13 + 0.12 (equal remainders: the lower participant id gets the
/// cent), whatever the second participant's list says: the base list (a),
/// a customer list holding only `discount_percent = "0"` (b), or one with
/// its own rounding equal to the base list's (c).
#[test]
fn a_zero_discount_does_not_split_a_shared_rate() {
    let (rows, _) = rate_events("S1-zero-discount-splits-shared-group", &["ev.csv"]);
    let got = by_participant(&rows);
    for (s, c) in [("a", "C1b"), ("b", "C2"), ("c", "C3")] {
        let key = |p: &str| (s.to_owned(), p.to_owned());
        assert_eq!(got[&key("p1")], ("C1".into(), "0.13".into(), "0.13".into()));
        assert_eq!(got[&key("p2")], (c.into(), "0.12".into(), "0.12".into()));
    }
}

/// 1.00 a minute shared. Session a: p1 (C1, base list) active 0-120 s, p2
/// (C2, own list rounding to 0 decimals) 0-70 s: p1 (35 + 50) / 60 =
/// 1.41666..., p2 35 / 60 = 0.58333...; total 2.00, allocated at the finest
/// precision (2 decimals) 1.42 + 0.58; then p2's own rounding: 0.58 -> 1.
/// Session c swaps the billed parties: C2 pays round(1.42) = 1, C1 0.58.
/// Session b: p1 (C1) and p3 (C3, group gold: 50 % off) 61 s together:
/// 0.508333... each, total 1.016666... -> 1.02, allocated 0.51 + 0.51;
/// p3's discount after the allocation: 0.255 -> 0.26.
#[test]
fn sharers_with_different_roundings_and_discounts_pay_by_their_own_share_not_the_join_order() {
    for logs in [["ev.csv", "ev2.csv"], ["ev2.csv", "ev.csv"]] {
        let (rows, _) = rate_events("S2-probe-shared-group-mixed-rounding", &logs);
        let got = by_participant(&rows);
        let row = |s: &str, p: &str| got[&(s.to_owned(), p.to_owned())].clone();
        let want = |c: &str, b: &str, i: &str| (c.to_owned(), b.to_owned(), i.to_owned());
        assert_eq!(row("a", "p1"), want("C1", "1.42", "1.42"));
        assert_eq!(row("a", "p2"), want("C2", "0.58", "1"));
        assert_eq!(row("c", "p1"), want("C2", "1.42", "1"));
        assert_eq!(row("c", "p2"), want("C1", "0.58", "0.58"));
        assert_eq!(row("b", "p1"), want("C1", "0.51", "0.51"));
        assert_eq!(row("b", "p3"), want("C3", "0.51", "0.26"));
    }
}

/// Three participations of 1 s each under a cost of 0.50 a minute:
/// 3 x 0.50 / 60 = 0.025 exactly, rounded once (half away from zero): 0.03.
#[test]
fn a_cost_of_exactly_0_025_is_rounded_from_its_exact_sum() {
    let (rows, costs) = rate_events("S3-precision-cost-sum", &["ev.csv"]);
    assert_eq!(rows.len(), 3);
    let usage: Vec<_> = costs.iter().filter(|c| c["item"] == "usage").collect();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0]["cost"], "0.03");
    // Each participation: usage 0.03 a minute for 1 s = 0.0005, rounded
    // down to 0.00; share 0.01 a second alone = 0.01.
    for r in &rows {
        assert_eq!(r["lines"], "usage=0.00;share=0.01");
    }
}

// ---------------------------------------------------------------------------
// The worked examples of docs/price-lists.md

fn charge(text: &str) -> Charge {
    toml::from_str(&format!("item = \"call\"\nper = \"duration\"\n{text}")).unwrap()
}

fn priced(c: &Charge, secs: u64, rounding: Rounding) -> Decimal {
    let at = DateTime::parse_from_rfc3339("2026-11-18T10:00:00+01:00").unwrap();
    let x = amount(c, Quantity::Seconds(secs), &at, &Calendar::default()).unwrap();
    rounding.round(x).unwrap()
}

fn two(mode: RoundingMode) -> Rounding {
    Rounding { decimals: 2, mode }
}

/// "Intermediate arithmetic is exact": 2.37 per 30 s for 25 s is 1.975 in
/// every mode's eyes, written as a price or as an algorithm; a 50 %
/// discount of 0.125 is 0.0625 -> 0.06.
#[test]
fn exact_intermediate_amounts_round_by_the_named_mode() {
    let flat = charge("unit_seconds = 30\nprice = \"2.37\"");
    let linear = charge("unit_seconds = 30\nalgorithm = { fn = \"linear\", rate = \"2.37\" }");
    for c in [&flat, &linear] {
        for (mode, want) in [
            (RoundingMode::HalfAwayFromZero, "1.98"),
            (RoundingMode::HalfEven, "1.98"),
            (RoundingMode::Up, "1.98"),
            (RoundingMode::Down, "1.97"),
        ] {
            assert_eq!(priced(c, 25, two(mode)).to_string(), want, "{mode:?}");
        }
    }
    let eighth = Exact::from_decimal(Decimal::new(125, 3));
    let half_off = eighth.less_percent(Decimal::from(50)).unwrap();
    assert_eq!(half_off.to_decimal(), Some(Decimal::new(625, 4)));
    assert_eq!(
        two(RoundingMode::HalfAwayFromZero).round(half_off),
        Some(Decimal::new(6, 2))
    );
}

/// "Algorithms": allowance floors the term, so the setup is paid within
/// the allowance: 500 s is 0.50; 900 s is 0.50 + 5 x 0.40 = 2.50.
#[test]
fn allowance_floors_the_term_not_the_setup() {
    let c =
        charge("algorithm = { fn = \"allowance\", setup = \"0.50\", free = 600, rate = \"0.40\" }");
    let r = two(RoundingMode::HalfAwayFromZero);
    assert_eq!(priced(&c, 500, r).to_string(), "0.50");
    assert_eq!(priced(&c, 900, r).to_string(), "2.50");
}

/// "Zero-length use": no increment and no minimum at 0 s; an algorithm's
/// setup is still charged.
#[test]
fn zero_length_use_is_charged_only_an_algorithms_setup() {
    let r = two(RoundingMode::HalfAwayFromZero);
    let increments = charge("price = \"0.60\"\nfirst_increment = 60\nminimum = \"0.45\"");
    assert_eq!(priced(&increments, 0, r).to_string(), "0.00");
    assert_eq!(priced(&increments, 1, r).to_string(), "0.60");
    let setup = charge("algorithm = { fn = \"linear\", setup = \"0.50\", rate = \"0.02\" }");
    assert_eq!(priced(&setup, 0, r).to_string(), "0.50");
}

// ---------------------------------------------------------------------------
// The tariff arithmetic against an exact reference

type Q = Ratio<i128>;

fn q(d: Decimal) -> Q {
    Q::new(d.mantissa(), 10i128.pow(d.scale()))
}

/// Rounds a non-negative fraction to `dp` decimals, from the definitions
/// of the four modes.
fn reference_round(x: Q, dp: u32, mode: RoundingMode) -> Decimal {
    let scaled = x * Q::from_integer(10i128.pow(dp));
    let floor = scaled.floor().to_integer();
    let frac = scaled - Q::from_integer(floor);
    let half = Q::new(1, 2);
    let units = match mode {
        RoundingMode::Down => floor,
        RoundingMode::Up => floor + i128::from(frac > Q::from_integer(0)),
        RoundingMode::HalfAwayFromZero => floor + i128::from(frac >= half),
        RoundingMode::HalfEven => {
            floor + i128::from(frac > half || (frac == half && floor % 2 == 1))
        }
    };
    Decimal::from_i128_with_scale(units, dp)
}

fn mode() -> impl Strategy<Value = RoundingMode> {
    prop_oneof![
        Just(RoundingMode::HalfAwayFromZero),
        Just(RoundingMode::HalfEven),
        Just(RoundingMode::Up),
        Just(RoundingMode::Down),
    ]
}

/// A price of up to 4 decimals.
fn money() -> impl Strategy<Value = Decimal> {
    (0i64..100_000, 0u32..5).prop_map(|(m, s)| Decimal::new(m, s))
}

#[derive(Debug, Clone)]
enum Tariff {
    Flat(Decimal),
    Linear(Decimal, Decimal),
    Capped(Decimal, Decimal, Decimal),
    Allowance(Decimal, u64, Decimal),
}

fn tariff() -> impl Strategy<Value = Tariff> {
    prop_oneof![
        money().prop_map(Tariff::Flat),
        (money(), money()).prop_map(|(s, r)| Tariff::Linear(s, r)),
        (money(), money(), money()).prop_map(|(s, r, c)| Tariff::Capped(s, r, c + s)),
        (money(), 0u64..600, money()).prop_map(|(s, f, r)| Tariff::Allowance(s, f, r)),
    ]
}

proptest! {
    /// A duration charge, written as the docs describe it, priced by
    /// sdrate and by the docs' formulas in fractions: increments first,
    /// then price x charged / unit_seconds (or the algorithm's), then the
    /// minimum for non-zero use, then a discount, then one rounding.
    #[test]
    fn duration_amounts_equal_the_exact_reference_in_every_rounding_mode(
        t in tariff(),
        secs in 0u64..20_000,
        unit in prop_oneof![Just(1u64), Just(30), Just(60), Just(7), 1u64..3600],
        first in 1u64..120,
        next in 1u64..60,
        minimum in proptest::option::of(money()),
        discount in proptest::option::of((0i64..10_000).prop_map(|m| Decimal::new(m, 2))),
        dp in 0u32..5,
        mode in mode(),
    ) {
        let algorithm = match &t {
            Tariff::Flat(p) => format!("price = \"{p}\""),
            Tariff::Linear(s, r) => format!("algorithm = {{ fn = \"linear\", setup = \"{s}\", rate = \"{r}\" }}"),
            Tariff::Capped(s, r, c) => format!("algorithm = {{ fn = \"capped\", setup = \"{s}\", rate = \"{r}\", cap = \"{c}\" }}"),
            Tariff::Allowance(s, f, r) => format!("algorithm = {{ fn = \"allowance\", setup = \"{s}\", free = {f}, rate = \"{r}\" }}"),
        };
        let min = minimum.map(|m| format!("minimum = \"{m}\"\n")).unwrap_or_default();
        let charge: Charge = toml::from_str(&format!(
            "item = \"call\"\nper = \"duration\"\nunit_seconds = {unit}\nfirst_increment = {first}\nnext_increment = {next}\n{min}{algorithm}\n"
        )).unwrap();
        let at = DateTime::parse_from_rfc3339("2026-11-18T10:00:00+01:00").unwrap();
        let got = amount(&charge, Quantity::Seconds(secs), &at, &Calendar::default()).unwrap();
        let got = match discount {
            Some(d) => got.less_percent(d).unwrap(),
            None => got,
        };
        let rounding = Rounding { decimals: dp, mode };
        let got = rounding.round(got).unwrap();

        // The reference, from docs/price-lists.md.
        let charged = if secs == 0 { 0 } else if secs <= first { first } else {
            first + (secs - first).div_ceil(next) * next
        };
        let n = Q::new(i128::from(charged), i128::from(unit));
        let mut x = match t {
            Tariff::Flat(p) => q(p) * n,
            Tariff::Linear(s, r) => q(s) + q(r) * n,
            Tariff::Capped(s, r, c) => (q(s) + q(r) * n).min(q(c)),
            Tariff::Allowance(s, f, r) => {
                q(s) + q(r) * Q::new(i128::from(charged.saturating_sub(f)), i128::from(unit))
            }
        };
        if let Some(m) = minimum.filter(|m| secs > 0 && x < q(*m)) {
            x = q(m);
        }
        if let Some(d) = discount {
            x = x * (Q::from_integer(100) - q(d)) / Q::from_integer(100);
        }
        prop_assert_eq!(got, reference_round(x, dp, mode));
    }

    /// Graduated and volume tiers of a unit charge against the reference:
    /// started unit sizes, each portion (or the whole) at its tier's price
    /// per unit size, summed unrounded and rounded once.
    #[test]
    fn tiered_amounts_equal_the_exact_reference(
        units in 0u64..50_000_000,
        size in prop_oneof![Just(1u64), Just(1_000), Just(1_000_000), 1u64..5_000],
        p0 in money(), p1 in money(), from1 in 1u64..20_000_000,
        graduated in any::<bool>(),
        dp in 0u32..4,
        mode in mode(),
    ) {
        let mode_name = if graduated { "graduated" } else { "volume" };
        let charge: Charge = toml::from_str(&format!(
            "item = \"volume\"\nper = \"unit\"\nunit_size = {size}\ntiers = \"{mode_name}\"\ntier = [{{ from = 0, price = \"{p0}\" }}, {{ from = {from1}, price = \"{p1}\" }}]\n"
        )).unwrap();
        let at = DateTime::parse_from_rfc3339("2026-11-18T10:00:00+01:00").unwrap();
        let got = amount(&charge, Quantity::Units(units), &at, &Calendar::default()).unwrap();
        let got = Rounding { decimals: dp, mode }.round(got).unwrap();
        let charged = units.div_ceil(size) * size;
        let per = |n: u64, p: Decimal| q(p) * Q::new(i128::from(n), i128::from(size));
        let x = if graduated {
            per(charged.min(from1), p0) + per(charged.saturating_sub(from1), p1)
        } else if charged >= from1 {
            per(charged, p1)
        } else {
            per(charged, p0)
        };
        prop_assert_eq!(got, reference_round(x, dp, mode));
    }

    /// Exact values survive any order of operations: a sum of shares
    /// price x seconds / company rounds like the fraction it is.
    #[test]
    fn exact_sums_of_shares_round_like_their_fraction(
        price in money(),
        parts in proptest::collection::vec((1u64..600, 1u64..7), 1..12),
        dp in 0u32..4,
        mode in mode(),
    ) {
        let mut got = Exact::ZERO;
        let mut want = Q::from_integer(0);
        for (secs, company) in parts {
            got = got
                .checked_add(Exact::from_decimal(price).mul_int(secs).unwrap().div_int(company * 60).unwrap())
                .unwrap();
            want += q(price) * Q::new(i128::from(secs), i128::from(company * 60));
        }
        let strategy = match mode {
            RoundingMode::HalfAwayFromZero => RoundingStrategy::MidpointAwayFromZero,
            RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
            RoundingMode::Up => RoundingStrategy::AwayFromZero,
            RoundingMode::Down => RoundingStrategy::ToZero,
        };
        prop_assert_eq!(got.round(dp, strategy).unwrap(), reference_round(want, dp, mode));
    }
}

// ---------------------------------------------------------------------------
// Shared rates: the shares add up for any mix of sharers' lists

mod shared {
    use super::*;
    use chrono::Duration;
    use sdrate::group::assemble::{Session, sort_events};
    use sdrate::group::{Event, Origin, Position, Raw};
    use sdrate::price::session::price_session;
    use sdrate::resolve::{Customer, Customers, PriceLists};
    use sdrate::sdr::{EventCategory, SessionEventType, Timestamp};

    const BASIC: &str = r#"
id = "sh-basic"
revision = 1
kind = "basic"
service = "SH"
valid_from = "2020-01-01T00:00:00Z"
items = ["share"]
[session]
[session.roles]
"*" = ["share"]
[[session.rule]]
item = "share"
measure = "shared-time"
"#;

    fn list(kind: &str, id: &str, owner: &str, extra: &str) -> String {
        format!(
            "id = \"{id}\"\nrevision = 1\nkind = \"{kind}\"\nservice = \"SH\"\nbased_on = \"sh-basic\"\nmarketing_company = \"mA\"\n{owner}\nvalid_from = \"2020-01-01T00:00:00Z\"\n{extra}\n"
        )
    }

    /// Base list 1.20 a minute (2 decimals, half away from zero). C1 has no
    /// list; C2 a list of `discount_percent = "0"`; C3 its own rounding,
    /// half-even; C4 rounds to whole units; C5 is in group gold, 50 % off.
    fn lists() -> (PriceLists, Customers) {
        let base = list(
            "base",
            "sh-base",
            "",
            "currency = \"SEK\"\nvat_percent = \"25\"\n[[charge]]\nitem = \"share\"\nper = \"duration\"\nprice = \"1.20\"",
        );
        let lists = PriceLists::from_sources(vec![
            (PathBuf::from("basic.toml"), BASIC.to_owned()),
            (PathBuf::from("base.toml"), base),
            (
                PathBuf::from("c2.toml"),
                list(
                    "customer",
                    "sh-c2",
                    "customer = \"C2\"",
                    "discount_percent = \"0\"",
                ),
            ),
            (
                PathBuf::from("c3.toml"),
                list(
                    "customer",
                    "sh-c3",
                    "customer = \"C3\"",
                    "rounding = { decimals = 2, mode = \"half-even\" }",
                ),
            ),
            (
                PathBuf::from("c4.toml"),
                list(
                    "customer",
                    "sh-c4",
                    "customer = \"C4\"",
                    "rounding = { decimals = 0 }",
                ),
            ),
            (
                PathBuf::from("gold.toml"),
                list(
                    "group",
                    "sh-gold",
                    "group = \"gold\"",
                    "discount_percent = \"50\"",
                ),
            ),
        ])
        .unwrap();
        let mut customers = Customers::default();
        for (id, group) in [
            ("C1", None),
            ("C2", None),
            ("C3", None),
            ("C4", None),
            ("C5", Some("gold")),
        ] {
            customers.insert(Customer {
                customer_id: id.into(),
                marketing_company: "mA".into(),
                group: group.map(str::to_owned),
            });
        }
        (lists, customers)
    }

    fn event(ty: SessionEventType, at: i64, who: usize, billed: usize) -> Event {
        event_of("SH", "x", "2026-11-21T20:00:00+01:00", ty, at, who, billed)
    }

    fn event_of(
        service: &str,
        role: &str,
        t0: &str,
        ty: SessionEventType,
        at: i64,
        who: usize,
        billed: usize,
    ) -> Event {
        let t0 = DateTime::parse_from_rfc3339(t0).unwrap();
        Event {
            session_id: "prop".into(),
            service: service.into(),
            category: EventCategory::ParticipantRelated,
            event_type: ty,
            provider_event: None,
            timestamp: Timestamp(t0 + Duration::seconds(at)),
            participant_id: format!("p{who}").into(),
            user_name: format!("u{who}").into(),
            billed_party: format!("C{billed}").into(),
            role: Some(role.into()),
            sequence: None,
            provider: None,
            marketing_company: None,
            parameters: Vec::new(),
            origin: Origin {
                file: "prop".into(),
                position: Position::Line(0),
                raw: Raw::Row(Vec::new()),
            },
        }
    }

    /// Prices one session of `events` (any order) with extra lists.
    fn price_events(
        sources: Vec<(&str, String)>,
        mut events: Vec<Event>,
    ) -> sdrate::price::session::PricedSession {
        let lists = PriceLists::from_sources(
            sources
                .into_iter()
                .map(|(n, t)| (PathBuf::from(n), t))
                .collect(),
        )
        .unwrap();
        let mut customers = Customers::default();
        for id in ["C1", "C2", "C3"] {
            customers.insert(Customer {
                customer_id: id.into(),
                marketing_company: "mA".into(),
                group: None,
            });
        }
        sort_events(&mut events);
        let s = Session {
            id: "prop".into(),
            events,
        };
        price_session(&lists, &customers, &s).unwrap()
    }

    fn basic_list(service: &str, items: &str, session: &str) -> String {
        format!(
            "id = \"{service}-basic\"\nrevision = 1\nkind = \"basic\"\nservice = \"{service}\"\nvalid_from = \"2020-01-01T00:00:00Z\"\nitems = {items}\n{session}"
        )
    }

    fn base_list(service: &str, rest: &str) -> String {
        format!(
            "id = \"{service}-base\"\nrevision = 1\nkind = \"base\"\nservice = \"{service}\"\nbased_on = \"{service}-basic\"\nmarketing_company = \"mA\"\nvalid_from = \"2020-01-01T00:00:00Z\"\ncurrency = \"SEK\"\nvat_percent = \"25\"\n{rest}"
        )
    }

    /// docs/sessions.md, "Who shares": two players and a viewer for 60 s
    /// at 1.20 a minute: the players pay 0.60 each; the viewer 0.10 a
    /// minute of their own time.
    #[test]
    fn only_the_items_sharers_count_as_active_for_a_shared_rate() {
        let basic = basic_list(
            "GM",
            "[\"play\", \"watch\"]",
            "[session]\n[session.roles]\nplayer = [\"play\"]\nviewer = [\"watch\"]\n[[session.rule]]\nitem = \"play\"\nmeasure = \"shared-time\"\n[[session.rule]]\nitem = \"watch\"\nmeasure = \"active-time\"\n",
        );
        let base = base_list(
            "GM",
            "[[charge]]\nitem = \"play\"\nper = \"duration\"\nprice = \"1.20\"\n[[charge]]\nitem = \"watch\"\nper = \"duration\"\nprice = \"0.10\"\n",
        );
        let t0 = "2026-11-21T20:00:00+01:00";
        let mut events = Vec::new();
        for (who, role) in [(1, "player"), (2, "player"), (3, "viewer")] {
            use SessionEventType as T;
            events.push(event_of("GM", role, t0, T::Join, 0, who, who));
            events.push(event_of("GM", role, t0, T::Leave, 60, who, who));
        }
        let priced = price_events(vec![("b.toml", basic), ("m.toml", base)], events);
        let got: Vec<(String, Decimal)> = priced
            .participations
            .iter()
            .map(|p| (p.part.participant_id.to_string(), p.individual))
            .collect();
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(
            got,
            vec![
                ("p1".into(), d("0.60")),
                ("p2".into(), d("0.60")),
                ("p3".into(), d("0.10"))
            ]
        );
    }

    /// docs/sessions.md, "Active time and rate periods" and "Time of use":
    /// peak Mon-Fri until 18:00 (UTC). p1 starts the session on Wednesday
    /// 2026-11-18 at 17:55 and leaves at 18:10; p2 is active 17:59:20 to
    /// 17:59:50; p3 18:05 to 18:06.
    /// Entry fee: 3 participants at the first event's period (peak, 2.00):
    /// 6.00 each, p3 included though it joined off-peak.
    /// Usage (60 s first increment, then per second): p1 300 s peak (3.00) +
    /// 600 s off-peak (3.00) = 6.00; p2 30 s used, 60 s charged, the extra
    /// 30 s after 17:59:50: 40 s peak (0.40) + 20 s off-peak (0.10) = 0.50;
    /// p3 60 s off-peak = 0.30.
    #[test]
    fn extra_increment_seconds_follow_the_last_span_and_fees_take_the_first_events_period() {
        let basic = basic_list(
            "EV",
            "[\"entry\", \"usage\"]",
            "[session]\n[session.roles]\n\"*\" = [\"entry\", \"usage\"]\n[[session.rule]]\nitem = \"entry\"\nmeasure = \"entry-fee\"\n[[session.rule]]\nitem = \"usage\"\nmeasure = \"active-time\"\n",
        );
        let base = base_list(
            "EV",
            "default_period = \"offpeak\"\n[[period]]\nname = \"peak\"\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\nfrom = \"08:00\"\nto = \"18:00\"\n[[charge]]\nitem = \"entry\"\nper = \"event\"\nprice = { peak = \"2.00\", offpeak = \"1.00\" }\n[[charge]]\nitem = \"usage\"\nper = \"duration\"\nfirst_increment = 60\nprice = { peak = \"0.60\", offpeak = \"0.30\" }\n",
        );
        use SessionEventType as T;
        let t0 = "2026-11-18T17:55:00Z";
        let ev = |ty, at, who| event_of("EV", "x", t0, ty, at, who, who);
        let events = vec![
            ev(T::Start, 0, 1),
            ev(T::Join, 260, 2),
            ev(T::Leave, 290, 2),
            ev(T::Join, 600, 3),
            ev(T::Leave, 660, 3),
            ev(T::Leave, 900, 1),
            ev(T::End, 900, 1),
        ];
        let priced = price_events(vec![("b.toml", basic), ("m.toml", base)], events);
        let got: Vec<(String, Vec<(String, String)>)> = priced
            .participations
            .iter()
            .map(|p| {
                (
                    p.part.participant_id.to_string(),
                    p.lines
                        .iter()
                        .map(|l| (l.item.clone(), l.individual.to_string()))
                        .collect(),
                )
            })
            .collect();
        let line = |i: &str, a: &str| (i.to_owned(), a.to_owned());
        assert_eq!(
            got,
            vec![
                (
                    "p1".into(),
                    vec![line("entry", "6.00"), line("usage", "6.00")]
                ),
                (
                    "p2".into(),
                    vec![line("entry", "6.00"), line("usage", "0.50")]
                ),
                (
                    "p3".into(),
                    vec![line("entry", "6.00"), line("usage", "0.30")]
                ),
            ]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Players (join, seconds, customer C1..C5): the basic shares add
        /// up to round(1.20 x union / 60) exactly; each is within a cent
        /// of the player's exact share (a fraction); and each individual
        /// price is the player's basic share under their own list's
        /// discount and rounding, so a zero discount or an equal rounding
        /// changes nothing; sharers who all round alike get shares that
        /// add up at their own precision.
        #[test]
        fn shared_shares_add_up_for_any_mix_of_sharers_lists(
            players in proptest::collection::vec((0i64..600, 1i64..900, 1usize..=5), 1..=6),
        ) {
            static LISTS: std::sync::OnceLock<(PriceLists, Customers)> = std::sync::OnceLock::new();
            let lists = LISTS.get_or_init(lists);
            let mut events: Vec<Event> = players
                .iter()
                .enumerate()
                .flat_map(|(i, &(join, secs, c))| {
                    [
                        event(SessionEventType::Join, join, i + 1, c),
                        event(SessionEventType::Leave, join + secs, i + 1, c),
                    ]
                })
                .collect();
            sort_events(&mut events);
            let s = Session { id: "prop".into(), events };
            let priced = price_session(&lists.0, &lists.1, &s).unwrap();
            prop_assert_eq!(priced.participations.len(), players.len());

            // Exact shares: each elementary interval's price split evenly.
            let mut cuts: Vec<i64> = players.iter().flat_map(|&(a, n, _)| [a, a + n]).collect();
            cuts.sort();
            cuts.dedup();
            let rate = Q::new(120, 100 * 60);
            let mut exact = vec![Q::from_integer(0); players.len()];
            let mut union = Q::from_integer(0);
            for w in cuts.windows(2) {
                let on: Vec<usize> = (0..players.len())
                    .filter(|&i| players[i].0 <= w[0] && w[1] <= players[i].0 + players[i].1)
                    .collect();
                if on.is_empty() {
                    continue;
                }
                let x = rate * Q::from_integer(i128::from(w[1] - w[0]));
                union += x;
                for &i in &on {
                    exact[i] += x / Q::from_integer(on.len() as i128);
                }
            }
            let sum: Decimal = priced.participations.iter().map(|p| p.basic).sum();
            prop_assert_eq!(sum, reference_round(union, 2, RoundingMode::HalfAwayFromZero));
            // Every list here inherits the base charge, so all players are
            // one allocation group of the individual side too, allocated at
            // the finest precision among them: whole units when all round
            // to whole units (C4), else cents; half-even only when all are
            // C3, else half away from zero.
            let only = |c: usize| players.iter().all(|p| p.2 == c);
            if only(4) || only(3) {
                let (dp, mode) = if only(4) {
                    (0, RoundingMode::HalfAwayFromZero)
                } else {
                    (2, RoundingMode::HalfEven)
                };
                let sum: Decimal = priced.participations.iter().map(|p| p.individual).sum();
                prop_assert_eq!(sum, reference_round(union, dp, mode));
            }
            for p in &priced.participations {
                let i: usize = p.part.participant_id[1..].parse::<usize>().unwrap() - 1;
                let diff = q(p.basic) - exact[i];
                prop_assert!(diff < Q::new(1, 100) && -diff < Q::new(1, 100), "{} vs {:?}", p.basic, exact[i]);
                if only(4) || only(3) {
                    let diff = q(p.individual) - exact[i];
                    prop_assert!(diff <= Q::from_integer(1) && -diff <= Q::from_integer(1));
                    continue;
                }
                // A cent share, then the player's own discount and rounding.
                let own = match players[i].2 {
                    4 => reference_round(q(p.basic), 0, RoundingMode::HalfAwayFromZero),
                    5 => reference_round(q(p.basic) / Q::from_integer(2), 2, RoundingMode::HalfAwayFromZero),
                    _ => p.basic,
                };
                prop_assert_eq!(p.individual, own, "customer C{}", players[i].2);
            }
        }
    }
}
