//! Multi-party sessions end to end: `sdrate rate` on event logs written
//! into a temp dir, priced with the test's own price lists. Every expected
//! charge is computed by hand in the comments next to it.
//!
//! The lists (written by `setup`):
//!
//! * CONF: the organiser pays an entry fee of 1.00 for every organiser and
//!   participant who joins; everybody pays 0.60 a minute (per second) while
//!   active, a viewer 0.30 (`when = { role = "viewer" }`). Group `gold` of
//!   acme gets 10% off; customer C9 has its own list at 0.45 a minute.
//!   A CONF session may stay open 2 hours.
//! * GAME: 1.20 a minute of game time, shared among the players active at
//!   each moment; a viewer (role template `viewer = ["watch"]`) pays 0.10 a
//!   minute of their own time instead.
//! * Cost lists: prov-conf gets 0.25 per joiner and 0.10 a minute per
//!   participant; prov-game gets 0.40 a minute of game time.
//!
//! Customers C1, C2, C3 belong to acme; C4 to acme's group gold; C9 to
//! acme with its own CONF list.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, Duration, FixedOffset};
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

use sdrate::group::assemble::{Added, Assembler, Session, sort_events};
use sdrate::group::{Event, Origin, Position, Raw};
use sdrate::price::session::{PricedSession, price_session};
use sdrate::resolve::{Customer, Customers, PriceLists};
use sdrate::sdr::{EventCategory, ServicePart, ServiceSpecificPart, SessionEventType, Timestamp};

use crate::common::{PRICING_TIME, sdrate, sdrate_in};

// ---------------------------------------------------------------------------
// Price lists and customers

const CONF_BASIC: &str = r#"
id = "conf-basic"
revision = 1
kind = "basic"
service = "CONF"
valid_from = "2026-01-01T00:00:00+01:00"
items = ["entry", "usage"]

[session]
max_open_hours = 2

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
unit_seconds = 60

[[charge]]
item = "usage"
when = { role = "viewer" }
per = "duration"
price = "0.30"
unit_seconds = 60
"#;

const CONF_GOLD: &str = r#"
id = "conf-acme-gold"
revision = 1
kind = "group"
service = "CONF"
based_on = "conf-basic"
marketing_company = "acme"
group = "gold"
valid_from = "2026-01-01T00:00:00+01:00"
discount_percent = "10"
"#;

const CONF_C9: &str = r#"
id = "conf-c9"
revision = 1
kind = "customer"
service = "CONF"
based_on = "conf-basic"
marketing_company = "acme"
customer = "C9"
valid_from = "2026-01-01T00:00:00+01:00"

[[charge]]
item = "usage"
per = "duration"
price = "0.45"
unit_seconds = 60
"#;

const CONF_COST: &str = r#"
id = "conf-cost"
revision = 1
kind = "cost"
service = "CONF"
based_on = "conf-basic"
provider = "prov-conf"
valid_from = "2026-01-01T00:00:00+01:00"
currency = "SEK"

[[charge]]
item = "entry"
per = "event"
price = "0.25"

[[charge]]
item = "usage"
per = "duration"
price = "0.10"
unit_seconds = 60
"#;

const GAME_BASIC: &str = r#"
id = "game-basic"
revision = 1
kind = "basic"
service = "GAME"
valid_from = "2026-01-01T00:00:00+01:00"
items = ["play", "watch"]

[session]
max_open_hours = 12

[session.roles]
player = ["play"]
viewer = ["watch"]
"*" = ["play"]

[[session.rule]]
item = "play"
measure = "shared-time"

[[session.rule]]
item = "watch"
measure = "active-time"
"#;

fn game_base(play: &str) -> String {
    format!(
        r#"
id = "game-acme"
revision = 1
kind = "base"
service = "GAME"
based_on = "game-basic"
marketing_company = "acme"
valid_from = "2026-01-01T00:00:00+01:00"
currency = "SEK"
vat_percent = "25"

[[charge]]
item = "play"
per = "duration"
price = "{play}"
unit_seconds = 60

[[charge]]
item = "watch"
per = "duration"
price = "0.10"
unit_seconds = 60
"#
    )
}

const GAME_GOLD: &str = r#"
id = "game-acme-gold"
revision = 1
kind = "group"
service = "GAME"
based_on = "game-basic"
marketing_company = "acme"
group = "gold"
valid_from = "2026-01-01T00:00:00+01:00"
discount_percent = "10"
"#;

const GAME_COST: &str = r#"
id = "game-cost"
revision = 1
kind = "cost"
service = "GAME"
based_on = "game-basic"
provider = "prov-game"
valid_from = "2026-01-01T00:00:00+01:00"
currency = "SEK"

[[charge]]
item = "play"
per = "duration"
price = "0.40"
unit_seconds = 60
"#;

const CUSTOMERS: &str = "customer_id,marketing_company,group\n\
C1,acme,\nC2,acme,\nC3,acme,\nC4,acme,gold\nC9,acme,\n";

/// Every list, as (file name, text).
fn lists() -> Vec<(&'static str, String)> {
    vec![
        ("conf-basic.toml", CONF_BASIC.into()),
        ("conf-acme.toml", CONF_BASE.into()),
        ("conf-gold.toml", CONF_GOLD.into()),
        ("conf-c9.toml", CONF_C9.into()),
        ("conf-cost.toml", CONF_COST.into()),
        ("game-basic.toml", GAME_BASIC.into()),
        ("game-acme.toml", game_base("1.20")),
        ("game-gold.toml", GAME_GOLD.into()),
        ("game-cost.toml", GAME_COST.into()),
    ]
}

fn setup(dir: &Path) {
    let pl = dir.join("lists");
    fs::create_dir_all(&pl).unwrap();
    for (name, text) in lists() {
        fs::write(pl.join(name), text).unwrap();
    }
    fs::write(dir.join("customers.csv"), CUSTOMERS).unwrap();
}

// ---------------------------------------------------------------------------
// Event logs

/// The columns the tests write (any order is accepted; `provider_event` is
/// left out).
const HEADER: &str = "session_id,service,category,event_type,timestamp,participant_id,user_name,billed_party,role,sequence,provider,parameters";

/// One event-log row.
#[derive(Clone, Debug)]
struct Ev {
    session: String,
    service: &'static str,
    ty: &'static str,
    time: String,
    who: &'static str,
    user: &'static str,
    billed: &'static str,
    role: &'static str,
    seq: Option<u32>,
    params: &'static str,
}

impl Ev {
    fn category(&self) -> &'static str {
        match self.ty {
            "start" | "end" => "sessionRelated",
            "invite" => "invitation",
            _ => "participantRelated",
        }
    }

    fn provider(&self) -> &'static str {
        match self.service {
            "CONF" => "prov-conf",
            _ => "prov-game",
        }
    }

    fn csv(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            self.session,
            self.service,
            self.category(),
            self.ty,
            self.time,
            self.who,
            self.user,
            self.billed,
            self.role,
            self.seq.map(|s| s.to_string()).unwrap_or_default(),
            self.provider(),
            self.params
        )
    }

    fn json(&self) -> String {
        let mut o = json!({
            "session_id": self.session, "service": self.service,
            "category": self.category(), "event_type": self.ty,
            "timestamp": self.time, "participant_id": self.who,
            "user_name": self.user, "billed_party": self.billed,
            "role": self.role, "provider": self.provider(),
        });
        if let Some(s) = self.seq {
            o["sequence"] = json!(s);
        }
        if !self.params.is_empty() {
            o["parameters"] = json!(self.params);
        }
        o.to_string()
    }

    fn unsequenced(mut self) -> Self {
        self.seq = None;
        self
    }
}

fn csv_log(events: &[Ev]) -> String {
    let mut s = format!("{HEADER}\n");
    for e in events {
        s.push_str(&e.csv());
        s.push('\n');
    }
    s
}

fn jsonl_log(events: &[Ev]) -> String {
    events.iter().map(|e| e.json() + "\n").collect()
}

/// (participant, user, billed party, role) of the seed's conference: the
/// organiser anna (C1), jonas (C4, in group gold) and maria (C3).
const ANNA: (&str, &str, &str, &str) = ("p1", "anna", "C1", "organiser");
const JONAS: (&str, &str, &str, &str) = ("p2", "jonas", "C4", "participant");
const MARIA: (&str, &str, &str, &str) = ("p3", "maria", "C3", "participant");

fn ev(
    session: &str,
    service: &'static str,
    seq: Option<u32>,
    ty: &'static str,
    time: String,
    who: (&'static str, &'static str, &'static str, &'static str),
) -> Ev {
    Ev {
        session: session.into(),
        service,
        ty,
        time,
        who: who.0,
        user: who.1,
        billed: who.2,
        role: who.3,
        seq,
        params: "",
    }
}

/// 2026-11-20 at `hm` (CET).
fn nov20(hm: &str) -> String {
    format!("2026-11-20T{hm}:00+01:00")
}

/// 2026-11-21 at `hm` (CET).
fn nov21(hm: &str) -> String {
    format!("2026-11-21T{hm}:00+01:00")
}

/// The BT seed's conference, numbered 1..=11: organiser p1 starts and
/// invites p2 and p3; they join; p2 suspends; p3 leaves; p2 resumes and
/// later leaves along with p1.
///
/// Active time: p1 10:00-10:30 = 1800 s; p2 10:01-10:10 + 10:20-10:30 =
/// 540 + 600 = 1140 s; p3 10:02-10:15 = 780 s.
fn seed_conference(id: &str) -> Vec<Ev> {
    let c = |seq, ty, hm: &str, who| ev(id, "CONF", Some(seq), ty, nov20(hm), who);
    let mut invite2 = c(2, "invite", "10:00", ANNA);
    invite2.params = "invitee=p2";
    let mut invite3 = c(3, "invite", "10:00", ANNA);
    invite3.params = "invitee=p3";
    let mut start = c(1, "start", "10:00", ANNA);
    start.params = "maxParticipants=10;lang=sv";
    vec![
        start,
        invite2,
        invite3,
        c(4, "join", "10:01", JONAS),
        c(5, "join", "10:02", MARIA),
        c(6, "suspend", "10:10", JONAS),
        c(7, "leave", "10:15", MARIA),
        c(8, "resume", "10:20", JONAS),
        c(9, "leave", "10:30", JONAS),
        c(10, "leave", "10:30", ANNA),
        c(11, "end", "10:30", ANNA),
    ]
}

/// The seed conference's participations.csv rows (session c1).
///
/// p1, organiser, C1 (acme base list): entry 3 joiners x 1.00 = 3.00;
///   usage 1800 s / 60 x 0.60 = 30 x 0.60 = 18.00; total 21.00, no discount.
/// p2, C4 (gold, 10% off): usage 1140 / 60 x 0.60 = 19 x 0.60 = 11.40
///   basic; individual 11.40 x 0.9 = 10.26, from the gold list.
/// p3, C3: usage 780 / 60 x 0.60 = 13 x 0.60 = 7.80.
/// Events counted: p1 start, 2 invites, leave, end = 5; p2 join, suspend,
/// resume, leave = 4; p3 join, leave = 2.
const SEED_CONFERENCE_ROWS: [&str; 3] = [
    "c1,CONF,p1,organiser,C1,acme,2026-11-20T10:00:00+01:00,2026-11-20T10:30:00+01:00,1800,5,SEK,21.00,21.00,25,conf-acme,1,entry=3.00;usage=18.00",
    "c1,CONF,p2,participant,C4,acme,2026-11-20T10:01:00+01:00,2026-11-20T10:30:00+01:00,1140,4,SEK,11.40,10.26,25,conf-acme-gold,1,usage=10.26",
    "c1,CONF,p3,participant,C3,acme,2026-11-20T10:02:00+01:00,2026-11-20T10:15:00+01:00,780,2,SEK,7.80,7.80,25,conf-acme,1,usage=7.80",
];

const P1: (&str, &str, &str, &str) = ("p1", "olle", "C1", "player");
const P2: (&str, &str, &str, &str) = ("p2", "pia", "C2", "player");
const P3: (&str, &str, &str, &str) = ("p3", "stig", "C3", "player");

/// The BT seed's game: p1 starts, p2 and p3 join, p1 leaves, later p2 and
/// p3 leave. 20:00 p1 starts; 20:05 p2 joins; 20:10 p3 joins; 20:40 p1
/// leaves; 20:50 p2 leaves; 21:00 p3 leaves and the game ends.
fn seed_game(id: &str) -> Vec<Ev> {
    let g = |seq, ty, hm: &str, who| ev(id, "GAME", Some(seq), ty, nov21(hm), who);
    vec![
        g(1, "start", "20:00", P1),
        g(2, "join", "20:05", P2),
        g(3, "join", "20:10", P3),
        g(4, "leave", "20:40", P1),
        g(5, "leave", "20:50", P2),
        g(6, "leave", "21:00", P3),
        g(7, "end", "21:00", P3),
    ]
}

/// The seed game's participations.csv rows (session g1), X = 1.20 a minute
/// shared among the players active:
///
/// | span        | min | active     | each pays          |
/// |-------------|-----|------------|--------------------|
/// | 20:00-20:05 |  5  | p1         | 5 x 1.20    = 6.00 |
/// | 20:05-20:10 |  5  | p1 p2      | 5 x 0.60    = 3.00 |
/// | 20:10-20:40 | 30  | p1 p2 p3   | 30 x 0.40   = 12.00|
/// | 20:40-20:50 | 10  | p2 p3      | 10 x 0.60   = 6.00 |
/// | 20:50-21:00 | 10  | p3         | 10 x 1.20   = 12.00|
///
/// p1 = 6 + 3 + 12 = 21.00 (40 min active); p2 = 3 + 12 + 6 = 21.00
/// (45 min); p3 = 12 + 6 + 12 = 30.00 (50 min). Sum 72.00 = 60 min x 1.20.
const SEED_GAME_ROWS: [&str; 3] = [
    "g1,GAME,p1,player,C1,acme,2026-11-21T20:00:00+01:00,2026-11-21T20:40:00+01:00,2400,2,SEK,21.00,21.00,25,game-acme,1,play=21.00",
    "g1,GAME,p2,player,C2,acme,2026-11-21T20:05:00+01:00,2026-11-21T20:50:00+01:00,2700,2,SEK,21.00,21.00,25,game-acme,1,play=21.00",
    "g1,GAME,p3,player,C3,acme,2026-11-21T20:10:00+01:00,2026-11-21T21:00:00+01:00,3000,3,SEK,30.00,30.00,25,game-acme,1,play=30.00",
];

// ---------------------------------------------------------------------------
// Running sdrate

struct Run {
    code: i32,
    summary: Value,
    out: PathBuf,
}

impl Run {
    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The data lines of a CSV output (header dropped).
    fn lines(&self, name: &str) -> Vec<String> {
        self.read(name).lines().skip(1).map(str::to_owned).collect()
    }

    fn sessions(&self) -> &Value {
        &self.summary["sessions"]
    }
}

/// Rates `inputs` (relative to `dir`) into `dir/out`, with `--state` when
/// given (else the default OUT/state). Checks the accounting identity of
/// every run.
fn rate(dir: &Path, inputs: &[&str], out: &str, state: Option<&str>) -> Run {
    let mut cmd = sdrate_in(dir);
    cmd.arg("rate").args(inputs).args([
        "--out",
        out,
        "--price-lists",
        "lists",
        "--customers",
        "customers.csv",
        "--pricing-time",
        PRICING_TIME,
    ]);
    if let Some(s) = state {
        cmd.args(["--state", s]);
    }
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let summary: Value = serde_json::from_slice(
        &fs::read(dir.join(out).join("summary.json"))
            .unwrap_or_else(|e| panic!("no summary.json ({e}): {stderr}")),
    )
    .unwrap();
    check_identity(&summary);
    Run {
        code: o.status.code().unwrap(),
        summary,
        out: dir.join(out),
    }
}

/// The accounting identity: the flag, and the session-event sum checked
/// here independently.
fn check_identity(summary: &Value) {
    assert_eq!(summary["accounting_identity_holds"], true, "{summary:#}");
    let s = &summary["sessions"];
    let n = |k: &str| {
        s[k].as_u64()
            .unwrap_or_else(|| panic!("sessions.{k} missing: {s}"))
    };
    assert_eq!(
        n("events_read") + n("events_carried_in"),
        n("duplicate_events")
            + n("late_events")
            + n("events_priced")
            + n("events_faulted")
            + n("events_pending"),
        "{s:#}"
    );
    assert!(n("event_log_rows") >= n("event_rows_faulted"), "{s:#}");
}

/// The summary's `sessions` block as it should be; unnamed counts are 0.
fn counts(pairs: &[(&str, u64)]) -> Value {
    let mut v = json!({
        "event_log_rows": 0, "event_rows_faulted": 0, "events_read": 0,
        "events_carried_in": 0, "duplicate_events": 0, "late_events": 0, "events_priced": 0,
        "events_faulted": 0, "events_pending": 0, "sessions_priced": 0, "duplicate_sessions": 0,
        "sessions_faulted": 0, "sessions_pending": 0, "participations": 0,
    });
    for (k, n) in pairs {
        assert!(v.get(k).is_some(), "unknown count {k}");
        v[k] = json!(n);
    }
    v
}

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

/// The decoded records of an SDR file.
fn decode_all(path: &Path) -> Vec<sdrate::sdr::ServiceDetailRecord> {
    let input = sdrate::read::Input::open(path).unwrap();
    input
        .records()
        .map(|r| sdrate::read::decode(r.unwrap().bytes).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------
// 1. The seed's conference

#[test]
fn seed_conference_entry_fee_per_joiner_and_active_time() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    write(t.path(), "conf.csv", &csv_log(&seed_conference("c1")));
    let run = rate(t.path(), &["conf.csv"], "out", None);
    assert_eq!(run.code, 0);
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", 11),
            ("events_read", 11),
            ("events_priced", 11),
            ("sessions_priced", 1),
            ("participations", 3),
        ])
    );
    assert_eq!(run.lines("participations.csv"), SEED_CONFERENCE_ROWS);
    assert_eq!(
        run.read("participations.csv").lines().next().unwrap(),
        "session_id,service,participant_id,role,billed_party,marketing_company,first_join,last_leave,active_seconds,events_counted,currency,basic_price,individual_price,vat_percent,price_table,revision,lines"
    );
    // Run totals: basic 21.00 + 11.40 + 7.80 = 40.20; individual 21.00 +
    // 10.26 + 7.80 = 39.06.
    assert_eq!(
        run.summary["totals"]["SEK"]["acme"],
        json!({"basic": "40.20", "individual": "39.06"})
    );

    // One priced SDR per participation, in participant order.
    let sdrs = decode_all(&run.out.join("participations.sdr"));
    assert_eq!(sdrs.len(), 3);
    let mut seen = Vec::new();
    for (i, sdr) in sdrs.iter().enumerate() {
        let h = &sdr.service_header;
        assert_eq!(h.session_identifier.as_deref(), Some("c1"));
        assert_eq!(h.sequence_number, Some(i as u32 + 1));
        assert_eq!(h.producer_identity, "sdrate");
        assert_eq!(h.time_of_origin.0.to_rfc3339(), "2026-11-20T10:30:00+01:00");
        assert_eq!(h.marketing_company.as_deref(), Some("acme"));
        let sum = &sdr.service_usage_modules[0];
        assert_eq!(sum.service_feature_code, "CONF");
        assert_eq!(sum.provider_identifier, "prov-conf");
        let ServiceSpecificPart::Known(ServicePart::ParticipationSummary(p)) =
            &sum.service_specific
        else {
            panic!("not a participation summary: {:?}", sum.service_specific);
        };
        seen.push((
            p.participant_id.to_string(),
            p.role.to_string(),
            p.billed_party.to_string(),
            h.customer_identity.clone().unwrap().to_string(),
            p.active_seconds,
            p.events_counted,
            p.first_join.0.to_rfc3339(),
            p.last_leave.0.to_rfc3339(),
        ));
        let spms = sdr.service_pricing_modules.as_ref().unwrap();
        assert_eq!(spms.len(), 1);
        assert_eq!(spms[0].currency, "SEK");
        assert_eq!(spms[0].vat_level.to_decimal().unwrap(), Decimal::from(25));
        assert_eq!(
            spms[0].time_of_pricing.0.to_rfc3339(),
            "2026-11-22T02:00:00+01:00"
        );
    }
    let s = |x: &str| x.to_owned();
    assert_eq!(
        seen,
        vec![
            (
                s("p1"),
                s("organiser"),
                s("C1"),
                s("C1"),
                1800,
                5,
                s("2026-11-20T10:00:00+01:00"),
                s("2026-11-20T10:30:00+01:00")
            ),
            (
                s("p2"),
                s("participant"),
                s("C4"),
                s("C4"),
                1140,
                4,
                s("2026-11-20T10:01:00+01:00"),
                s("2026-11-20T10:30:00+01:00")
            ),
            (
                s("p3"),
                s("participant"),
                s("C3"),
                s("C3"),
                780,
                2,
                s("2026-11-20T10:02:00+01:00"),
                s("2026-11-20T10:15:00+01:00")
            ),
        ]
    );
    // The SPM lines, as `sdrate inspect` writes them.
    let prices: Vec<Value> = sdrs
        .iter()
        .map(|s| {
            serde_json::to_value(&s.service_pricing_modules.as_ref().unwrap()[0].prices).unwrap()
        })
        .collect();
    assert_eq!(
        prices,
        vec![
            // p1: the entry fee for 3 joiners, 3 x 1.00; 30 min x 0.60.
            json!([
                {"priceType": "perFunction", "basicPrice": "3.00", "individualPrice": "3.00",
                 "priceTableIdentifier": "conf-acme", "priceTableRevision": 1,
                 "billInformation": "entry: 3 participants", "statusIndicator": "priced"},
                {"priceType": "perTimeSlice", "basicPrice": "18.00", "individualPrice": "18.00",
                 "priceTableIdentifier": "conf-acme", "priceTableRevision": 1,
                 "billInformation": "usage: 1800 s active", "statusIndicator": "priced"},
            ]),
            // p2: 19 min x 0.60 = 11.40, gold: 11.40 x 0.9 = 10.26.
            json!([
                {"priceType": "perTimeSlice", "basicPrice": "11.40", "individualPrice": "10.26",
                 "priceTableIdentifier": "conf-acme-gold", "priceTableRevision": 1,
                 "billInformation": "usage: 1140 s active", "statusIndicator": "priced"},
            ]),
            // p3: 13 min x 0.60 = 7.80.
            json!([
                {"priceType": "perTimeSlice", "basicPrice": "7.80", "individualPrice": "7.80",
                 "priceTableIdentifier": "conf-acme", "priceTableRevision": 1,
                 "billInformation": "usage: 780 s active", "statusIndicator": "priced"},
            ]),
        ]
    );
    // `sdrate inspect` reads the file too.
    let inspect = sdrate()
        .arg("inspect")
        .arg(run.out.join("participations.sdr"))
        .output()
        .unwrap();
    assert!(inspect.status.success());
    assert_eq!(
        String::from_utf8(inspect.stdout).unwrap().lines().count(),
        3
    );
    // The events are archived as read; nothing is left pending.
    assert_eq!(run.lines("session-events.csv").len(), 11);
    assert!(run.lines("faults.csv").is_empty());
    assert!(run.lines("faulted-events.csv").is_empty());
    // Without --state, pending sessions would be listed in the output.
    assert!(!run.out.join("pending-sessions.jsonl").exists());
}

// ---------------------------------------------------------------------------
// 2. The seed's game

#[test]
fn seed_game_shares_the_rate_among_active_players() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    write(t.path(), "game.csv", &csv_log(&seed_game("g1")));
    let run = rate(t.path(), &["game.csv"], "out", None);
    assert_eq!(run.code, 0);
    assert_eq!(run.lines("participations.csv"), SEED_GAME_ROWS);
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", 7),
            ("events_read", 7),
            ("events_priced", 7),
            ("sessions_priced", 1),
            ("participations", 3),
        ])
    );
    // The shares add up to X x the time at least one player was active:
    // 20:00-21:00 = 60 min x 1.20 = 72.00.
    let total: Decimal = decode_all(&run.out.join("participations.sdr"))
        .iter()
        .flat_map(|s| s.service_pricing_modules.clone().unwrap()[0].prices.clone())
        .map(|p| p.basic_price.to_decimal().unwrap())
        .sum();
    assert_eq!(total, Decimal::new(7200, 2));
    assert_eq!(
        run.summary["totals"]["SEK"]["acme"],
        json!({"basic": "72.00", "individual": "72.00"})
    );
}

// ---------------------------------------------------------------------------
// 3. Roles and customers

#[test]
fn roles_group_discounts_and_customer_lists_set_the_price() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let v1 = ("p2", "vera", "C1", "viewer");
    let gold = ("p3", "gun", "C4", "participant");
    let own = ("p4", "nils", "C9", "participant");
    let gold_viewer = ("p5", "ulf", "C4", "viewer");
    let r = |seq, ty, hm: &str, who| ev("r1", "CONF", Some(seq), ty, nov20(hm), who);
    let events = vec![
        r(1, "start", "11:00", ANNA),
        r(2, "join", "11:00", v1),
        r(3, "join", "11:00", gold),
        r(4, "join", "11:00", own),
        r(5, "join", "11:00", gold_viewer),
        r(6, "leave", "11:10", v1),
        r(7, "leave", "11:10", gold),
        r(8, "leave", "11:10", own),
        r(9, "leave", "11:10", gold_viewer),
        r(10, "leave", "11:10", ANNA),
        r(11, "end", "11:10", ANNA),
    ];
    write(t.path(), "roles.csv", &csv_log(&events));
    let run = rate(t.path(), &["roles.csv"], "out", None);
    assert_eq!(run.code, 0);
    // Everyone is active 11:00-11:10 = 600 s = 10 min.
    assert_eq!(
        run.lines("participations.csv"),
        [
            // Organiser: entry counts organiser and participants only
            // (p1, p3, p4; not the viewers): 3 x 1.00 = 3.00; usage 10 x
            // 0.60 = 6.00; 9.00.
            "r1,CONF,p1,organiser,C1,acme,2026-11-20T11:00:00+01:00,2026-11-20T11:10:00+01:00,600,3,SEK,9.00,9.00,25,conf-acme,1,entry=3.00;usage=6.00",
            // Viewer, base list: the `when = { role = "viewer" }` charge,
            // 10 x 0.30 = 3.00.
            "r1,CONF,p2,viewer,C1,acme,2026-11-20T11:00:00+01:00,2026-11-20T11:10:00+01:00,600,2,SEK,3.00,3.00,25,conf-acme,1,usage=3.00",
            // Gold participant: 6.00 basic, 6.00 x 0.9 = 5.40.
            "r1,CONF,p3,participant,C4,acme,2026-11-20T11:00:00+01:00,2026-11-20T11:10:00+01:00,600,2,SEK,6.00,5.40,25,conf-acme-gold,1,usage=5.40",
            // C9's own list: basic 6.00 (base list), individual 10 x 0.45 = 4.50.
            "r1,CONF,p4,participant,C9,acme,2026-11-20T11:00:00+01:00,2026-11-20T11:10:00+01:00,600,2,SEK,6.00,4.50,25,conf-c9,1,usage=4.50",
            // Gold viewer: 3.00 basic, 3.00 x 0.9 = 2.70.
            "r1,CONF,p5,viewer,C4,acme,2026-11-20T11:00:00+01:00,2026-11-20T11:10:00+01:00,600,2,SEK,3.00,2.70,25,conf-acme-gold,1,usage=2.70",
        ]
    );
    // 9.00 + 3.00 + 6.00 + 6.00 + 3.00 = 27.00 basic; 9.00 + 3.00 + 5.40 +
    // 4.50 + 2.70 = 24.60 individual.
    assert_eq!(
        run.summary["totals"]["SEK"]["acme"],
        json!({"basic": "27.00", "individual": "24.60"})
    );
}

/// A viewer (role template `viewer = ["watch"]`) pays for their own time
/// and does not play: the game's rate is shared among the players only.
#[test]
fn a_viewer_pays_own_time_and_does_not_share_the_players_rate() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let viewer = ("v1", "vera", "C4", "viewer");
    let g = |seq, ty, hm: &str, who| ev("g2", "GAME", Some(seq), ty, nov21(hm), who);
    let events = vec![
        g(1, "start", "18:00", P1),
        g(2, "join", "18:00", P2),
        g(3, "join", "18:00", viewer),
        g(4, "leave", "18:10", P1),
        g(5, "leave", "18:10", P2),
        g(6, "leave", "18:15", viewer),
        g(7, "end", "18:15", viewer),
    ];
    write(t.path(), "viewer.csv", &csv_log(&events));
    let run = rate(t.path(), &["viewer.csv"], "out", None);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.lines("participations.csv"),
        [
            // Two players 18:00-18:10: 10 min x 1.20 = 12.00, half each.
            "g2,GAME,p1,player,C1,acme,2026-11-21T18:00:00+01:00,2026-11-21T18:10:00+01:00,600,2,SEK,6.00,6.00,25,game-acme,1,play=6.00",
            "g2,GAME,p2,player,C2,acme,2026-11-21T18:00:00+01:00,2026-11-21T18:10:00+01:00,600,2,SEK,6.00,6.00,25,game-acme,1,play=6.00",
            // The viewer, gold: 18:00-18:15 = 15 min x 0.10 = 1.50, less
            // 10% = 1.35.
            "g2,GAME,v1,viewer,C4,acme,2026-11-21T18:00:00+01:00,2026-11-21T18:15:00+01:00,900,3,SEK,1.50,1.35,25,game-acme-gold,1,watch=1.35",
        ]
    );
    // The provider is paid for game time, however many watch: 10 min x
    // 0.40 = 4.00.
    assert_eq!(
        run.lines("costs.csv"),
        ["g2,GAME,prov-game,game-cost,1,play,SEK,4.00"]
    );
}

// ---------------------------------------------------------------------------
// 4. Sessions over files and runs

#[test]
fn a_session_over_two_input_files_prices_once() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let all = seed_conference("c1");
    // The first half as CSV, the second as JSON lines.
    write(t.path(), "a.csv", &csv_log(&all[..6]));
    write(t.path(), "b.jsonl", &jsonl_log(&all[6..]));
    let run = rate(t.path(), &["a.csv", "b.jsonl"], "out", None);
    assert_eq!(run.code, 0);
    assert_eq!(run.lines("participations.csv"), SEED_CONFERENCE_ROWS);
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", 11),
            ("events_read", 11),
            ("events_priced", 11),
            ("sessions_priced", 1),
            ("participations", 3),
        ])
    );
}

#[test]
fn a_session_over_two_runs_waits_in_the_state_dir() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let all = seed_conference("c1");
    write(t.path(), "all.csv", &csv_log(&all));
    write(t.path(), "first.csv", &csv_log(&all[..6]));
    write(t.path(), "second.csv", &csv_log(&all[6..]));
    let single = rate(t.path(), &["all.csv"], "single", Some("state0"));

    // Run 1: events 1-6, no end yet; pending is no fault.
    let one = rate(t.path(), &["first.csv"], "run1", Some("state"));
    assert_eq!(one.code, 0);
    assert_eq!(
        *one.sessions(),
        counts(&[
            ("event_log_rows", 6),
            ("events_read", 6),
            ("events_pending", 6),
            ("sessions_pending", 1),
        ])
    );
    assert!(one.lines("participations.csv").is_empty());
    let pending = fs::read_to_string(t.path().join("state/pending-sessions.jsonl")).unwrap();
    assert_eq!(pending.lines().count(), 1);

    // Run 2: events 7-11; the six wait no more.
    let two = rate(t.path(), &["second.csv"], "run2", Some("state"));
    assert_eq!(two.code, 0);
    assert_eq!(
        *two.sessions(),
        counts(&[
            ("event_log_rows", 5),
            ("events_read", 5),
            ("events_carried_in", 6),
            ("events_priced", 11),
            ("sessions_priced", 1),
            ("participations", 3),
        ])
    );
    assert_eq!(two.lines("participations.csv"), SEED_CONFERENCE_ROWS);
    assert_eq!(
        two.read("participations.csv"),
        single.read("participations.csv")
    );
    assert_eq!(
        fs::read(two.out.join("participations.sdr")).unwrap(),
        fs::read(single.out.join("participations.sdr")).unwrap(),
        "the same priced SDRs as one run over every event"
    );
    assert_eq!(two.read("costs.csv"), single.read("costs.csv"));
    assert_eq!(
        fs::read_to_string(t.path().join("state/pending-sessions.jsonl")).unwrap(),
        ""
    );

    // Run 3, nothing new: the session is not priced again.
    write(t.path(), "none.csv", &format!("{HEADER}\n"));
    let three = rate(t.path(), &["none.csv"], "run3", Some("state"));
    assert_eq!(three.code, 0);
    assert_eq!(*three.sessions(), counts(&[]));
}

// ---------------------------------------------------------------------------
// 5. Gaps, duplicates, order, expiry

#[test]
fn a_gap_in_sequence_numbers_holds_the_session() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let mut all = seed_conference("c1");
    let missing = all.remove(5); // event 6: p2 suspends
    assert_eq!(missing.seq, Some(6));
    write(t.path(), "gap.csv", &csv_log(&all));
    let run = rate(t.path(), &["gap.csv"], "out", Some("state"));
    // Ended, but event 6 is missing: not priced (which would bill p2 for
    // the suspension), held.
    assert_eq!(run.code, 0);
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", 10),
            ("events_read", 10),
            ("events_pending", 10),
            ("sessions_pending", 1),
        ])
    );
    assert!(run.lines("participations.csv").is_empty());
    assert!(run.lines("faults.csv").is_empty());

    // The missing event arrives: priced as if it had never been missing.
    write(t.path(), "late.csv", &csv_log(&[missing]));
    let run = rate(t.path(), &["late.csv"], "out2", Some("state"));
    assert_eq!(run.code, 0);
    assert_eq!(run.lines("participations.csv"), SEED_CONFERENCE_ROWS);
    assert_eq!(run.sessions()["events_carried_in"], 10);
    assert_eq!(run.sessions()["events_priced"], 11);
}

#[test]
fn a_duplicate_event_is_dropped_and_counted() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let all = seed_conference("c1");
    // Event 4 (p2 joins) twice, the copy before the session is complete.
    let mut dup = all.clone();
    dup.insert(5, all[3].clone());
    write(t.path(), "dup.csv", &csv_log(&dup));
    let run = rate(t.path(), &["dup.csv"], "out", None);
    assert_eq!(run.code, 0);
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", 12),
            ("events_read", 12),
            ("duplicate_events", 1),
            ("events_priced", 11),
            ("sessions_priced", 1),
            ("participations", 3),
        ])
    );
    assert_eq!(run.lines("participations.csv"), SEED_CONFERENCE_ROWS);

    // Without sequence numbers the session waits for the end of the input,
    // so a copy anywhere is caught.
    let mut dup: Vec<Ev> = all.iter().cloned().map(Ev::unsequenced).collect();
    dup.push(dup[3].clone());
    write(t.path(), "dup-unnumbered.csv", &csv_log(&dup));
    let run = rate(t.path(), &["dup-unnumbered.csv"], "out2", None);
    assert_eq!(run.code, 0);
    assert_eq!(run.sessions()["duplicate_events"], 1);
    assert_eq!(run.lines("participations.csv"), SEED_CONFERENCE_ROWS);
}

/// A copy of an event of a numbered session that arrives after the
/// session completed and was priced, in the same run: it is the same
/// event, so it must be dropped as a duplicate, not start a new session.
#[test]
fn a_duplicate_after_the_session_completed_is_dropped() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let all = seed_conference("c1");
    let mut dup = all.clone();
    dup.push(all[3].clone());
    write(t.path(), "late-dup.csv", &csv_log(&dup));
    let run = rate(t.path(), &["late-dup.csv"], "out", None);
    assert_eq!(run.code, 0);
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", 12),
            ("events_read", 12),
            ("duplicate_events", 1),
            ("events_priced", 11),
            ("sessions_priced", 1),
            ("participations", 3),
        ])
    );
    assert_eq!(run.lines("participations.csv"), SEED_CONFERENCE_ROWS);

    // The same file delivered twice in one run: every event of the second
    // copy is a duplicate; the session is billed once.
    write(t.path(), "again.csv", &csv_log(&all));
    write(t.path(), "copy.csv", &csv_log(&all));
    let run = rate(t.path(), &["again.csv", "copy.csv"], "out2", None);
    assert_eq!(run.code, 0);
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", 22),
            ("events_read", 22),
            ("duplicate_events", 11),
            ("events_priced", 11),
            ("sessions_priced", 1),
            ("participations", 3),
        ])
    );
    assert_eq!(run.lines("participations.csv"), SEED_CONFERENCE_ROWS);
}

/// Issue 3 (memory): the assembler forgets a priced session once the
/// newest event is the longest session policy (at least the default 24 h)
/// past the session's end, so a run's memory follows recent sessions, not
/// its length. A copy arriving after that is no longer recognised by the
/// assembler, but the state directory's duplicate index still keeps the
/// session from being billed twice.
#[test]
fn issue3_a_copy_after_the_assembler_forgot_its_session_is_still_not_billed_twice() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    // c1 ends 2026-11-20 10:30 CET; g1 ends 2026-11-21 21:00, 34.5 h later.
    write(t.path(), "c1.csv", &csv_log(&seed_conference("c1")));
    write(t.path(), "g1.csv", &csv_log(&seed_game("g1")));
    write(t.path(), "copy.csv", &csv_log(&seed_conference("c1")));
    let run = rate(
        t.path(),
        &["c1.csv", "g1.csv", "copy.csv"],
        "out",
        Some("state"),
    );
    assert_eq!(run.code, 0);
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", 29),
            ("events_read", 29),
            ("events_priced", 18),
            ("sessions_priced", 2),
            ("participations", 6),
            ("duplicate_sessions", 1),
            ("duplicate_events", 11),
        ])
    );
    let mut rows = SEED_CONFERENCE_ROWS.to_vec();
    rows.extend(SEED_GAME_ROWS);
    assert_eq!(run.lines("participations.csv"), rows);
}

/// Past 16,384 priced sessions the oldest move from memory to a temporary
/// file, so memory stays flat however many sessions a day holds. A late
/// copy of a session moved there is still recognised, without any state
/// directory, and billed once.
#[test]
fn issue3_a_copy_of_a_session_moved_to_disk_is_still_a_duplicate() {
    const N: usize = 17_000;
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let mut events = Vec::with_capacity(N * 11);
    for i in 1..=N {
        events.extend(seed_conference(&format!("c{i}")));
    }
    write(t.path(), "day.csv", &csv_log(&events));
    write(t.path(), "copy.csv", &csv_log(&seed_conference("c1")));
    let run = rate(t.path(), &["day.csv", "copy.csv"], "out", None);
    assert_eq!(run.code, 0);
    // The copy came after c1 (the oldest) moved to disk.
    const { assert!(N > sdrate::group::assemble::IN_MEMORY_SESSIONS) };
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", N as u64 * 11 + 11),
            ("events_read", N as u64 * 11 + 11),
            ("events_priced", N as u64 * 11),
            ("sessions_priced", N as u64),
            ("participations", N as u64 * 3),
            ("duplicate_events", 11),
        ])
    );
    let rows = run.lines("participations.csv");
    assert_eq!(rows.len(), N * 3);
    let c1: Vec<_> = rows.iter().filter(|r| r.starts_with("c1,")).collect();
    assert_eq!(c1, SEED_CONFERENCE_ROWS.iter().collect::<Vec<_>>());
}

/// A different event under a sequence number already taken is no
/// duplicate: it is a fault, and the session prices without it.
#[test]
fn a_different_event_with_a_taken_sequence_number_is_a_fault() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let mut events = seed_conference("c1");
    let mut clash = events[3].clone(); // number 4, p2 joins at 10:01
    clash.time = nov20("10:03");
    events.insert(4, clash);
    write(t.path(), "clash.csv", &csv_log(&events));
    let run = rate(t.path(), &["clash.csv"], "out", None);
    assert_eq!(run.code, 1);
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", 12),
            ("events_read", 12),
            ("events_faulted", 1),
            ("events_priced", 11),
            ("sessions_priced", 1),
            ("participations", 3),
        ])
    );
    assert_eq!(run.lines("participations.csv"), SEED_CONFERENCE_ROWS);
    assert_eq!(
        run.lines("faulted-events.csv"),
        [
            "c1,CONF,participantRelated,join,,2026-11-20T10:03:00+01:00,p2,jonas,C4,participant,4,prov-conf,"
        ]
    );
    let faults = run.lines("faults.csv");
    assert_eq!(faults.len(), 1);
    assert!(
        faults[0].starts_with("clash.csv,,,,,sequenceConflict,\"sequence number 4 of session c1 is already taken by a different event (join of p2 at 2026-11-20T10:01:00+01:00, from clash.csv line 5)\",6"),
        "{}",
        faults[0]
    );
}

/// A fixed shuffle of `v` (deterministic; moves every element).
fn shuffled<T: Clone>(v: &[T]) -> Vec<T> {
    let n = v.len();
    // 5 is coprime to 11 and 7: a permutation.
    (0..n).map(|i| v[(i * 5 + 3) % n].clone()).collect()
}

#[test]
fn out_of_order_rows_give_identical_participations() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let mut events = seed_conference("c1");
    events.extend(seed_game("g1"));
    let numbered = events.clone();
    let unnumbered: Vec<Ev> = events.into_iter().map(Ev::unsequenced).collect();
    for (name, evs) in [("numbered", numbered), ("unnumbered", unnumbered)] {
        let conf = &evs[..11];
        let game = &evs[11..];
        let mut mixed = shuffled(conf);
        mixed.extend(shuffled(game));
        let mut reversed = evs.clone();
        reversed.reverse();
        write(t.path(), &format!("{name}-in-order.csv"), &csv_log(&evs));
        write(t.path(), &format!("{name}-shuffled.csv"), &csv_log(&mixed));
        write(
            t.path(),
            &format!("{name}-reversed.csv"),
            &csv_log(&reversed),
        );
        let base = rate(
            t.path(),
            &[&format!("{name}-in-order.csv")],
            &format!("{name}-0"),
            None,
        );
        assert_eq!(base.code, 0);
        let mut want: Vec<&str> = SEED_CONFERENCE_ROWS.to_vec();
        want.extend(SEED_GAME_ROWS);
        assert_eq!(base.lines("participations.csv"), want, "{name}");
        for variant in ["shuffled", "reversed"] {
            let run = rate(
                t.path(),
                &[&format!("{name}-{variant}.csv")],
                &format!("{name}-{variant}"),
                None,
            );
            assert_eq!(run.code, 0);
            let mut a = run.lines("participations.csv");
            let mut b = base.lines("participations.csv");
            // Sessions complete in the order their last event arrives.
            a.sort();
            b.sort();
            assert_eq!(a, b, "{name} {variant}");
            let mut a = run.lines("costs.csv");
            let mut b = base.lines("costs.csv");
            a.sort();
            b.sort();
            assert_eq!(a, b, "{name} {variant}");
            assert_eq!(run.sessions()["events_priced"], 18);
        }
    }
}

/// p2 drops out at 11:10 and rejoins the same second (a reconnect), then
/// leaves at 11:20; p1 runs the conference 11:00-11:20.
fn reconnect(numbered: bool) -> Vec<Ev> {
    let n = |s| numbered.then_some(s);
    let r = |seq, ty, hm: &str, who| ev("rc", "CONF", n(seq), ty, nov20(hm), who);
    let p2 = ("p2", "jonas", "C2", "participant");
    vec![
        r(1, "start", "11:00", ANNA),
        r(2, "join", "11:00", p2),
        r(3, "leave", "11:10", p2),
        r(4, "join", "11:10", p2),
        r(5, "leave", "11:20", p2),
        r(6, "leave", "11:20", ANNA),
        r(7, "end", "11:20", ANNA),
    ]
}

/// p1: entry 2 x 1.00 + 20 min x 0.60 = 14.00; p2: 11:00-11:10 and
/// 11:10-11:20 = 1200 s = 20 min x 0.60 = 12.00.
const RECONNECT_ROWS: [&str; 2] = [
    "rc,CONF,p1,organiser,C1,acme,2026-11-20T11:00:00+01:00,2026-11-20T11:20:00+01:00,1200,3,SEK,14.00,14.00,25,conf-acme,1,entry=2.00;usage=12.00",
    "rc,CONF,p2,participant,C2,acme,2026-11-20T11:00:00+01:00,2026-11-20T11:20:00+01:00,1200,4,SEK,12.00,12.00,25,conf-acme,1,usage=12.00",
];

#[test]
fn a_reconnect_within_the_same_second_keeps_the_time_with_sequence_numbers() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    write(t.path(), "rc.csv", &csv_log(&reconnect(true)));
    let run = rate(t.path(), &["rc.csv"], "out", None);
    assert_eq!(run.code, 0);
    assert_eq!(run.lines("participations.csv"), RECONNECT_ROWS);
}

#[test]
fn a_reconnect_within_the_same_second_keeps_the_time_without_sequence_numbers() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    write(t.path(), "rc.csv", &csv_log(&reconnect(false)));
    let run = rate(t.path(), &["rc.csv"], "out", None);
    assert_eq!(run.code, 0);
    // Regression: p2 was active at 11:10, so the leave comes before the
    // rejoin of the same instant (it used to be the other way round, and
    // p2 got 600 s, 6.00).
    assert_eq!(run.lines("participations.csv"), RECONNECT_ROWS);
}

#[test]
fn a_session_open_too_long_is_a_fault_and_its_rows_recycle() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    // o1: no end; first event 08:00, and the newest event of the run is the
    // conference's 10:30: open 2 h 30 min = 9000 s > 2 h = 7200 s.
    let o1 = vec![
        ev("o1", "CONF", None, "start", nov20("08:00"), ANNA),
        ev("o1", "CONF", None, "join", nov20("08:05"), MARIA),
    ];
    // o2: numbered, ended, but event 2 is missing; first event 08:10:
    // 8400 s > 7200 s.
    let o2 = vec![
        ev("o2", "CONF", Some(1), "start", nov20("08:10"), ANNA),
        ev("o2", "CONF", Some(3), "leave", nov20("08:20"), ANNA),
        ev("o2", "CONF", Some(4), "end", nov20("08:20"), ANNA),
    ];
    // o3: no end, but first event 09:00: 5400 s, within the limit (by the
    // newest event seen, not the clock of the run): pending.
    let o3 = vec![ev("o3", "CONF", None, "start", nov20("09:00"), ANNA)];
    let mut log = o1.clone();
    log.extend(o2.clone());
    log.extend(o3.clone());
    log.extend(seed_conference("c1"));
    write(t.path(), "events.csv", &csv_log(&log));
    let run = rate(t.path(), &["events.csv"], "out", Some("state"));
    assert_eq!(run.code, 1, "an expired session is a fault");
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", 17),
            ("events_read", 17),
            ("events_priced", 11),
            ("events_faulted", 5),
            ("events_pending", 1),
            ("sessions_priced", 1),
            ("sessions_faulted", 2),
            ("sessions_pending", 1),
            ("participations", 3),
        ])
    );
    assert_eq!(
        run.summary["faults_by_cause"],
        json!({"sessionIncomplete": 5})
    );
    assert_eq!(run.lines("participations.csv"), SEED_CONFERENCE_ROWS);
    // faults.csv names file and line (header = line 1) of every event.
    let o1_why =
        "\"session o1 has been open 9000 s, longer than the 7200 s its policy allows (no end)\"";
    let o2_why = "\"session o2 has been open 8400 s, longer than the 7200 s its policy allows (a gap in its sequence numbers)\"";
    assert_eq!(
        run.lines("faults.csv"),
        [
            format!("events.csv,,,,,sessionIncomplete,{o1_why},2"),
            format!("events.csv,,,,,sessionIncomplete,{o1_why},3"),
            format!("events.csv,,,,,sessionIncomplete,{o2_why},4"),
            format!("events.csv,,,,,sessionIncomplete,{o2_why},5"),
            format!("events.csv,,,,,sessionIncomplete,{o2_why},6"),
        ]
    );
    // The rows themselves, in event-log format (all 13 columns).
    assert_eq!(
        run.lines("faulted-events.csv"),
        [
            "o1,CONF,sessionRelated,start,,2026-11-20T08:00:00+01:00,p1,anna,C1,organiser,,prov-conf,",
            "o1,CONF,participantRelated,join,,2026-11-20T08:05:00+01:00,p3,maria,C3,participant,,prov-conf,",
            "o2,CONF,sessionRelated,start,,2026-11-20T08:10:00+01:00,p1,anna,C1,organiser,1,prov-conf,",
            "o2,CONF,participantRelated,leave,,2026-11-20T08:20:00+01:00,p1,anna,C1,organiser,3,prov-conf,",
            "o2,CONF,sessionRelated,end,,2026-11-20T08:20:00+01:00,p1,anna,C1,organiser,4,prov-conf,",
        ]
    );
    let pending = fs::read_to_string(t.path().join("state/pending-sessions.jsonl")).unwrap();
    assert_eq!(pending.lines().count(), 1);
    assert!(pending.contains("\"id\":\"o3\""), "{pending}");

    // Recycle: faulted-events.csv is an event log; with the missing events
    // (o1's leaves and end, o2's event 2) both sessions price.
    let fix = vec![
        ev("o1", "CONF", None, "leave", nov20("08:35"), MARIA),
        ev("o1", "CONF", None, "end", nov20("08:40"), ANNA),
        ev("o2", "CONF", Some(2), "invite", nov20("08:15"), ANNA),
    ];
    write(t.path(), "fix.csv", &csv_log(&fix));
    fs::copy(
        run.out.join("faulted-events.csv"),
        t.path().join("recycled.csv"),
    )
    .unwrap();
    let again = rate(
        t.path(),
        &["recycled.csv", "fix.csv"],
        "out2",
        Some("state2"),
    );
    assert_eq!(again.code, 0);
    assert_eq!(
        *again.sessions(),
        counts(&[
            ("event_log_rows", 8),
            ("events_read", 8),
            ("events_priced", 8),
            ("sessions_priced", 2),
            ("participations", 3),
        ])
    );
    assert_eq!(
        again.lines("participations.csv"),
        [
            // o1 (completes at the end of the input): p1 08:00-08:40 =
            // 40 min x 0.60 = 24.00, entry 2 x 1.00; p3 08:05-08:35 = 30
            // min x 0.60 = 18.00. o2 (complete as soon as event 2 arrives,
            // so first): p1 08:10-08:20 = 10 min x 0.60 = 6.00, entry 1.00.
            "o2,CONF,p1,organiser,C1,acme,2026-11-20T08:10:00+01:00,2026-11-20T08:20:00+01:00,600,4,SEK,7.00,7.00,25,conf-acme,1,entry=1.00;usage=6.00",
            "o1,CONF,p1,organiser,C1,acme,2026-11-20T08:00:00+01:00,2026-11-20T08:40:00+01:00,2400,2,SEK,26.00,26.00,25,conf-acme,1,entry=2.00;usage=24.00",
            "o1,CONF,p3,participant,C3,acme,2026-11-20T08:05:00+01:00,2026-11-20T08:35:00+01:00,1800,2,SEK,18.00,18.00,25,conf-acme,1,usage=18.00",
        ]
    );
}

// ---------------------------------------------------------------------------
// 6. Bad rows

#[test]
fn bad_rows_are_faults_with_file_and_line_and_the_rest_prices() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    // Session b1, numbered; three of its rows are bad.
    let b = |seq, ty, hm: &str, who| ev("b1", "CONF", Some(seq), ty, nov20(hm), who);
    let mut b1 = vec![
        b(1, "start", "09:00", ANNA),
        b(2, "join", "09:01", JONAS),
        b(3, "join", "09:02", MARIA),
        b(4, "leave", "09:12", MARIA),
        b(5, "leave", "09:21", JONAS),
        b(6, "leave", "09:30", ANNA),
        b(7, "end", "09:30", ANNA),
    ];
    let good = b1.clone();
    b1[1].user = ""; // line 3: a required field missing
    b1[2].ty = "jion"; // line 4: not an event type
    b1[3].time = "yesterday".into(); // line 5: not a time
    let mut log = b1;
    log.extend(seed_conference("c1"));
    write(t.path(), "bad.csv", &csv_log(&log));
    let run = rate(t.path(), &["bad.csv"], "out", Some("state"));
    assert_eq!(run.code, 1, "bad rows are faults");
    assert_eq!(
        run.lines("faults.csv"),
        [
            "bad.csv,,,,,badEventRow,user_name is missing,3",
            "bad.csv,,,,,badEventRow,\"event_type \"\"jion\"\" is not a session event type\",4",
            "bad.csv,,,,,badEventRow,\"timestamp \"\"yesterday\"\" is not an RFC 3339 time like 2026-11-20T14:00:00+01:00\",5",
        ]
    );
    // Kept as they were, in event-log format.
    assert_eq!(
        run.lines("faulted-events.csv"),
        [
            "b1,CONF,participantRelated,join,,2026-11-20T09:01:00+01:00,p2,,C4,participant,2,prov-conf,",
            "b1,CONF,participantRelated,jion,,2026-11-20T09:02:00+01:00,p3,maria,C3,participant,3,prov-conf,",
            "b1,CONF,participantRelated,leave,,yesterday,p3,maria,C3,participant,4,prov-conf,",
        ]
    );
    // The conference prices; b1 waits for its events 2-4.
    assert_eq!(run.lines("participations.csv"), SEED_CONFERENCE_ROWS);
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", 18),
            ("event_rows_faulted", 3),
            ("events_read", 15),
            ("events_priced", 11),
            ("events_pending", 4),
            ("sessions_priced", 1),
            ("sessions_pending", 1),
            ("participations", 3),
        ])
    );
    assert_eq!(run.summary["faults_by_cause"], json!({"badEventRow": 3}));

    // Corrected and fed again, the rows complete b1.
    let fixed = run
        .read("faulted-events.csv")
        .replace(",p2,,C4,", ",p2,jonas,C4,")
        .replace(",jion,", ",join,")
        .replace("yesterday", "2026-11-20T09:12:00+01:00");
    write(t.path(), "fixed.csv", &fixed);
    let run = rate(t.path(), &["fixed.csv"], "out2", Some("state"));
    assert_eq!(run.code, 0);
    assert_eq!(
        *run.sessions(),
        counts(&[
            ("event_log_rows", 3),
            ("events_read", 3),
            ("events_carried_in", 4),
            ("events_priced", 7),
            ("sessions_priced", 1),
            ("participations", 3),
        ])
    );
    // p1 09:00-09:30 = 30 min x 0.60 = 18.00 + entry 3 x 1.00 = 21.00;
    // p2 (gold) 09:01-09:21 = 20 min x 0.60 = 12.00, less 10% = 10.80;
    // p3 09:02-09:12 = 10 min x 0.60 = 6.00.
    assert_eq!(
        run.lines("participations.csv"),
        [
            "b1,CONF,p1,organiser,C1,acme,2026-11-20T09:00:00+01:00,2026-11-20T09:30:00+01:00,1800,3,SEK,21.00,21.00,25,conf-acme,1,entry=3.00;usage=18.00",
            "b1,CONF,p2,participant,C4,acme,2026-11-20T09:01:00+01:00,2026-11-20T09:21:00+01:00,1200,2,SEK,12.00,10.80,25,conf-acme-gold,1,usage=10.80",
            "b1,CONF,p3,participant,C3,acme,2026-11-20T09:02:00+01:00,2026-11-20T09:12:00+01:00,600,2,SEK,6.00,6.00,25,conf-acme,1,usage=6.00",
        ]
    );
    // The same prices as the good rows in one run.
    write(t.path(), "good.csv", &csv_log(&good));
    let direct = rate(t.path(), &["good.csv"], "out3", None);
    assert_eq!(
        direct.read("participations.csv"),
        run.read("participations.csv")
    );
}

// ---------------------------------------------------------------------------
// 7. Third-party costing and 8. usage analysis

#[test]
fn costs_and_usage_of_the_seed_examples() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    write(t.path(), "conf.csv", &csv_log(&seed_conference("c1")));
    write(t.path(), "game.jsonl", &jsonl_log(&seed_game("g1")));
    let run = rate(t.path(), &["conf.csv", "game.jsonl"], "out", None);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.read("costs.csv"),
        "session_id,service,provider,cost_table,revision,item,currency,cost\n\
         c1,CONF,prov-conf,conf-cost,1,entry,SEK,0.75\n\
         c1,CONF,prov-conf,conf-cost,1,usage,SEK,6.20\n\
         g1,GAME,prov-game,game-cost,1,play,SEK,24.00\n"
    );
    // c1 entry: the organiser's 3 joiners x 0.25 = 0.75.
    // c1 usage: (1800 + 1140 + 780) s = 3720 s = 62 min x 0.10 = 6.20.
    // g1 play: game time 20:00-21:00 = 60 min x 0.40 = 24.00, once, not
    //   per player.
    //
    // Usage, by the UTC day of the first event (CONF 09:00 UTC on 20 Nov,
    // GAME 19:00 UTC on 21 Nov): CONF 3720 s = 62.00 min; basic prices
    //   21.00 + 11.40 + 7.80 = 40.20; revenue = individual prices 21.00 +
    //   10.26 + 7.80 = 39.06; cost 0.75 + 6.20 = 6.95; margin 32.11.
    // GAME 2400 + 2700 + 3000 = 8100 s = 135.00 min; basic and revenue
    //   21.00 + 21.00 + 30.00 = 72.00; cost 24.00; margin 48.00.
    assert_eq!(
        run.read("usage.csv"),
        "day,service,currency,usage_modules,sessions,participations,minutes,events,units,basic_price,revenue,cost,margin\n\
         2026-11-20,CONF,SEK,0,1,3,62.00,0,0,40.20,39.06,6.95,32.11\n\
         2026-11-21,GAME,SEK,0,1,3,135.00,0,0,72.00,72.00,24.00,48.00\n"
    );
    let svg = run.read("usage.svg");
    assert!(svg.starts_with("<svg"), "{svg}");
    for label in ["CONF", "GAME", "39.06 SEK", "72.00 SEK"] {
        assert!(svg.contains(label), "{label} not in the chart");
    }
}

// ---------------------------------------------------------------------------
// 9. Properties, on the library

/// The GAME lists with play priced at `x` a minute, and customers C1 (acme)
/// and C4 (acme, gold).
fn game_lists(x: &str) -> (PriceLists, Customers) {
    let lists = PriceLists::from_sources(vec![
        (PathBuf::from("game-basic.toml"), GAME_BASIC.to_owned()),
        (PathBuf::from("game-acme.toml"), game_base(x)),
        (PathBuf::from("game-gold.toml"), GAME_GOLD.to_owned()),
        (PathBuf::from("game-cost.toml"), GAME_COST.to_owned()),
    ])
    .unwrap();
    let mut customers = Customers::default();
    for (id, group) in [("C1", None), ("C4", Some("gold"))] {
        customers.insert(Customer {
            customer_id: id.into(),
            marketing_company: "acme".into(),
            group: group.map(str::to_owned),
        });
    }
    (lists, customers)
}

/// How long the assembler remembers a priced session: the longest
/// `max_open_hours` of any basic list, never less than the 24 h default.
#[test]
fn priced_sessions_are_remembered_for_the_longest_policy() {
    let (game, _) = game_lists("1.20");
    // GAME allows 12 h: the default's 24 h is longer.
    assert_eq!(game.longest_session_seconds(), 24 * 3600);
    let long = GAME_BASIC.replace("max_open_hours = 12", "max_open_hours = 36");
    assert_ne!(long, GAME_BASIC, "the GAME policy sets max_open_hours = 12");
    let lists = PriceLists::from_sources(vec![
        (PathBuf::from("game-basic.toml"), long),
        (PathBuf::from("conf-basic.toml"), CONF_BASIC.to_owned()),
    ])
    .unwrap();
    assert_eq!(lists.longest_session_seconds(), 36 * 3600);
}

fn origin() -> Origin {
    Origin {
        file: "prop".into(),
        position: Position::Line(0),
        raw: Raw::Row(Vec::new()),
    }
}

fn t0() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-21T20:00:00+01:00").unwrap()
}

fn event(ty: SessionEventType, at: i64, who: usize, billed: &str, role: &str) -> Event {
    Event {
        session_id: "prop".into(),
        service: "GAME".into(),
        category: match ty {
            SessionEventType::Start | SessionEventType::End => EventCategory::SessionRelated,
            _ => EventCategory::ParticipantRelated,
        },
        event_type: ty,
        provider_event: None,
        timestamp: Timestamp(t0() + Duration::seconds(at)),
        participant_id: format!("p{who}").into(),
        user_name: format!("user{who}").into(),
        billed_party: billed.into(),
        role: Some(role.into()),
        sequence: None,
        provider: Some("prov-game".into()),
        marketing_company: None,
        parameters: Vec::new(),
        origin: origin(),
    }
}

/// One player: joins at `join`, active `first` s, then optionally away
/// `pause.0` s and back for `pause.1` s, then leaves.
#[derive(Debug, Clone)]
struct Player {
    join: i64,
    first: i64,
    pause: Option<(i64, i64)>,
    gold: bool,
    viewer: bool,
}

impl Player {
    /// Active spans [from, to).
    fn spans(&self) -> Vec<(i64, i64)> {
        let a = self.join;
        let b = a + self.first;
        match self.pause {
            None => vec![(a, b)],
            Some((away, back)) => vec![(a, b), (b + away, b + away + back)],
        }
    }

    fn events(&self, i: usize) -> Vec<Event> {
        let billed = if self.gold { "C4" } else { "C1" };
        let role = if self.viewer { "viewer" } else { "player" };
        let mut out = Vec::new();
        let spans = self.spans();
        for (k, (from, to)) in spans.iter().enumerate() {
            use SessionEventType as T;
            let on = if k == 0 { T::Join } else { T::Resume };
            let off = if k + 1 == spans.len() {
                T::Leave
            } else {
                T::Suspend
            };
            out.push(event(on, *from, i, billed, role));
            out.push(event(off, *to, i, billed, role));
        }
        out
    }
}

fn player() -> impl Strategy<Value = Player> {
    (
        0i64..3600,
        1i64..3600,
        proptest::option::of((1i64..900, 1i64..900)),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(join, first, pause, gold, viewer)| Player {
            join,
            first,
            pause,
            gold,
            viewer,
        })
}

/// Seconds covered by at least one of the spans.
fn union_seconds(spans: &[(i64, i64)]) -> i64 {
    let mut s = spans.to_vec();
    s.sort();
    let mut total = 0;
    let mut end = i64::MIN;
    for (a, b) in s {
        let a = a.max(end);
        if b > a {
            total += b - a;
            end = b;
        }
        end = end.max(b);
    }
    total
}

fn price(lists: &(PriceLists, Customers), events: Vec<Event>) -> PricedSession {
    let mut events = events;
    sort_events(&mut events);
    let s = Session {
        id: "prop".into(),
        events,
    };
    price_session(&lists.0, &lists.1, &s).unwrap()
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// (a) One shared-time charge, 1..5 players of one list: the shares add
    /// up to round(X x union of active time / 60 s) exactly, and each share
    /// is within a cent of the player's exact share.
    #[test]
    fn shared_rate_shares_add_up_to_the_rate_times_the_union(
        players in proptest::collection::vec(player(), 1..=5),
        x in prop_oneof![Just("1.20"), Just("0.37"), Just("2.345"), Just("0.01")],
    ) {
        let lists = game_lists(x);
        let players: Vec<Player> = players
            .into_iter()
            .map(|p| Player { gold: false, viewer: false, ..p })
            .collect();
        let events: Vec<Event> = players.iter().enumerate().flat_map(|(i, p)| p.events(i + 1)).collect();
        let priced = price(&lists, events);
        let xd: Decimal = x.parse().unwrap();
        let unit = Decimal::from(60);
        let all: Vec<(i64, i64)> = players.iter().flat_map(Player::spans).collect();
        let union = union_seconds(&all);
        let sum: Decimal = priced.participations.iter().map(|p| p.basic).sum();
        prop_assert_eq!(sum, round2(xd * Decimal::from(union) / unit));
        // Exact shares: every elementary interval's price split evenly.
        let mut cuts: Vec<i64> = all.iter().flat_map(|&(a, b)| [a, b]).collect();
        cuts.sort();
        cuts.dedup();
        let mut exact = vec![Decimal::ZERO; players.len()];
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let on: Vec<usize> = (0..players.len())
                .filter(|&i| players[i].spans().iter().any(|&(s, e)| s <= a && b <= e))
                .collect();
            for &i in &on {
                exact[i] += xd * Decimal::from(b - a) / unit / Decimal::from(on.len());
            }
        }
        prop_assert_eq!(priced.participations.len(), players.len());
        for p in &priced.participations {
            let i: usize = p.part.participant_id[1..].parse::<usize>().unwrap() - 1;
            prop_assert!((p.basic - exact[i]).abs() < Decimal::new(1, 2),
                "{}: {} vs exact {}", p.part.participant_id, p.basic, exact[i]);
            prop_assert_eq!(p.basic, p.individual);
            prop_assert!(p.basic >= Decimal::ZERO);
        }
        // The provider's cost is the union too: 0.40 a minute.
        let cost: Decimal = priced.costs.iter().map(|c| c.amount).sum();
        prop_assert_eq!(cost, round2(Decimal::new(40, 2) * Decimal::from(union) / unit));
    }

    /// (a') Viewers among the players: the players' shares of the game
    /// still add up to round(X x union of the players' time / 60 s), and a
    /// viewer pays only their own time, 0.10 a minute.
    #[test]
    fn viewers_do_not_dilute_the_shared_rate(
        players in proptest::collection::vec(player(), 1..=5),
    ) {
        let lists = game_lists("1.20");
        let players: Vec<Player> = players.into_iter().map(|p| Player { gold: false, ..p }).collect();
        let events: Vec<Event> = players.iter().enumerate().flat_map(|(i, p)| p.events(i + 1)).collect();
        let priced = price(&lists, events);
        let unit = Decimal::from(60);
        let playing: Vec<(i64, i64)> = players
            .iter()
            .filter(|p| !p.viewer)
            .flat_map(Player::spans)
            .collect();
        let union = union_seconds(&playing);
        let lines = |item: &str| -> Vec<Decimal> {
            priced
                .participations
                .iter()
                .flat_map(|p| &p.lines)
                .filter(|l| l.item == item)
                .map(|l| l.basic)
                .collect()
        };
        let play = lines("play");
        prop_assert_eq!(play.len(), players.iter().filter(|p| !p.viewer).count());
        prop_assert_eq!(
            play.iter().sum::<Decimal>(),
            round2(Decimal::new(120, 2) * Decimal::from(union) / unit)
        );
        for p in &priced.participations {
            let i: usize = p.part.participant_id[1..].parse::<usize>().unwrap() - 1;
            if players[i].viewer {
                let secs: i64 = players[i].spans().iter().map(|(a, b)| b - a).sum();
                prop_assert_eq!(p.lines.len(), 1);
                prop_assert_eq!(p.basic, round2(Decimal::new(10, 2) * Decimal::from(secs) / unit));
            }
        }
        let cost: Decimal = priced.costs.iter().map(|c| c.amount).sum();
        prop_assert_eq!(cost, round2(Decimal::new(40, 2) * Decimal::from(union) / unit));
    }

    /// (b) The order events arrive in does not matter: with sequence
    /// numbers (complete as soon as the last one arrives) and without (at
    /// the end of the input), shuffled events give the same participations.
    #[test]
    fn shuffled_events_price_the_same(
        (ordered, shuffled) in proptest::collection::vec(player(), 1..=5).prop_flat_map(|players| {
            let mut events: Vec<Event> = players.iter().enumerate().flat_map(|(i, p)| p.events(i + 1)).collect();
            // p1 ends the session at the last event's time.
            let end = events.iter().map(|e| e.timestamp).max().unwrap();
            let mut last = events.iter().find(|e| e.participant_id == "p1").unwrap().clone();
            last.event_type = SessionEventType::End;
            last.category = EventCategory::SessionRelated;
            last.timestamp = end;
            events.push(last);
            sort_events(&mut events);
            for (k, e) in events.iter_mut().enumerate() {
                e.sequence = Some(k as u32 + 1);
            }
            (Just(events.clone()), Just(events).prop_shuffle())
        }),
    ) {
        static LISTS: OnceLock<(PriceLists, Customers)> = OnceLock::new();
        let lists = LISTS.get_or_init(|| game_lists("1.20"));
        let want = price(lists, ordered.clone());

        // Numbered: complete exactly when the last missing event arrives.
        let mut a = Assembler::new();
        let n = shuffled.len();
        let mut done = None;
        for (k, e) in shuffled.iter().cloned().enumerate() {
            match a.add(e).unwrap() {
                Added::Complete(s) => {
                    prop_assert_eq!(k + 1, n, "complete before every event arrived");
                    done = Some(s);
                }
                Added::Held => {}
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        let s = done.expect("complete");
        let got = price_session(&lists.0, &lists.1, &s).unwrap();
        prop_assert_eq!(&got.participations, &want.participations);
        prop_assert_eq!(&got.costs, &want.costs);

        // Unnumbered: complete at the end of the input.
        let mut a = Assembler::new();
        for mut e in shuffled.iter().cloned() {
            e.sequence = None;
            prop_assert!(matches!(a.add(e).unwrap(), Added::Held));
        }
        let f = a.finish(|_| i64::MAX);
        prop_assert_eq!(f.complete.len(), 1);
        let got = price_session(&lists.0, &lists.1, &f.complete[0]).unwrap();
        prop_assert_eq!(&got.participations, &want.participations);
        prop_assert_eq!(&got.costs, &want.costs);
    }
}

/// The faults of one block keep input order: a record the workers faulted
/// (its rows batched for the block) before a session event the routing
/// faults (written as it is filed). The writer flushes the batch only
/// before such rare answers, not before every session event.
#[test]
fn record_and_session_event_faults_of_one_block_stay_in_input_order() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let start = Timestamp(DateTime::parse_from_rfc3339("2026-11-21T00:00:00+01:00").unwrap());
    let events: Vec<_> = sdrate::generate::Generator::new(7, start)
        .sessions(1)
        .take(2)
        .collect();
    let (first, second) = (&events[0], &events[1]);
    assert_eq!(
        second.service_header.sequence_number,
        Some(2),
        "the session's second event"
    );
    // The second event again under its number, a minute later: a
    // different event where one is already taken.
    let mut clash = second.clone();
    let ServiceSpecificPart::Known(ServicePart::SessionEvent(e)) =
        &mut clash.service_usage_modules[0].service_specific
    else {
        panic!("a session event");
    };
    e.timestamp = Timestamp(e.timestamp.0 + Duration::minutes(1));
    let encode = |sdr| rasn::ber::encode(sdr).unwrap();
    // An undecodable record: [APPLICATION 1] around garbage.
    let garbage = [0x61, 0x04, 0xff, 0xff, 0xff, 0xff].to_vec();
    let parts = [encode(first), garbage, encode(second), encode(&clash)];
    let at: Vec<usize> = parts
        .iter()
        .scan(0, |n, p| {
            let here = *n;
            *n += p.len();
            Some(here)
        })
        .collect();
    fs::write(t.path().join("mixed.sdr"), parts.concat()).unwrap();
    let run = rate(t.path(), &["mixed.sdr"], "out", None);
    assert_eq!(run.code, 1);
    let faults = run.lines("faults.csv");
    assert_eq!(faults.len(), 2, "{faults:?}");
    let (undecodable, conflict) = (
        format!("mixed.sdr,{},{},,,undecodable,", at[1], parts[1].len()),
        format!("mixed.sdr,{},{},,,sequenceConflict,", at[3], parts[3].len()),
    );
    assert!(faults[0].starts_with(&undecodable), "{faults:?}");
    assert!(faults[1].starts_with(&conflict), "{faults:?}");
    // The kept records' index, in the same order, at their positions in
    // faults.sdr.
    let index = run.lines("faults-index.csv");
    assert_eq!(index.len(), 2, "{index:?}");
    assert!(
        index[0].starts_with(&format!("0,{},", parts[1].len())),
        "{index:?}"
    );
    assert!(
        index[1].starts_with(&format!("{},{},", parts[1].len(), parts[3].len())),
        "{index:?}"
    );
    assert!(index[0].contains("undecodable") && index[1].contains("sequenceConflict"));
}
