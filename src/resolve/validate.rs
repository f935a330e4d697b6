//! What a price list may name: the usage attributes a charge's `when` can
//! match and the values they can take, access forms, currencies, VAT and
//! rounding decimals (docs/price-lists.md, "Validation").
//!
//! A condition that can never match is worse than one that fails to load: a
//! key or value in the wrong case makes a cheaper, less specific charge
//! price the call without a word. So every name and value is checked
//! against the usage module of the service at load time, and a near miss
//! gets a "did you mean".

use crate::sdr::{AccessForm, AtmClassOfService, ServiceCarrier, TypeOfAccess, VpnCallType};

/// Every known value of an ASN.1 enumeration (`asn_enum!`), by name.
macro_rules! names {
    ($t:ty) => {
        <$t>::KNOWN
            .iter()
            .filter_map(|v| v.name())
            .collect::<Vec<&'static str>>()
    };
}

/// The most rounding decimals a list (or a prepaid component) may ask for.
///
/// A priced amount is written into the pricing module as an `Amount`
/// (asn1/sdr.asn, src/sdr/amount.rs): a 64-bit integer of units with 0-28
/// decimal places. Rounded to `d` decimals, an amount is carried as
/// amount × 10^d units, so the largest amount is 9 223 372 036 854 775 807
/// × 10^-d: 92 233 720 368 547 758.07 at 2 decimals, 922.33 at 16,
/// 9.22 at 18. At 19 decimals not even 1.00 fits, so 18 is the limit; an
/// amount beyond what its decimals carry is an arithmetic overflow at
/// rating time (a technical error), like any other.
pub const MAX_DECIMALS: u32 = 18;

/// The usage module a service's SDRs carry: the alternative of the
/// `ServiceSpecificPart` CHOICE (asn1/sdr.asn), named by a basic list's
/// `usage` key; `session` for a basic list with a `[session]` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageKind {
    VirtualPrivateNetwork,
    VirtualCallCentre,
    SignalledAtm,
    BroadBand,
    FunctionUsage,
}

impl UsageKind {
    pub const ALL: [UsageKind; 5] = [
        UsageKind::VirtualPrivateNetwork,
        UsageKind::VirtualCallCentre,
        UsageKind::SignalledAtm,
        UsageKind::BroadBand,
        UsageKind::FunctionUsage,
    ];

    /// Its ASN.1 name, as the `usage` key takes it.
    pub fn name(self) -> &'static str {
        match self {
            UsageKind::VirtualPrivateNetwork => "virtualPrivateNetwork",
            UsageKind::VirtualCallCentre => "virtualCallCentre",
            UsageKind::SignalledAtm => "signalledAtm",
            UsageKind::BroadBand => "broadBand",
            UsageKind::FunctionUsage => "functionUsage",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The usage items the rater makes of this module (src/rate.rs), or
    /// None when the items are the functions used (any name).
    pub fn items(self) -> Option<&'static [&'static str]> {
        match self {
            UsageKind::VirtualPrivateNetwork => Some(&["call"]),
            UsageKind::VirtualCallCentre => Some(&["queue", "connect"]),
            UsageKind::SignalledAtm => Some(&["connection"]),
            UsageKind::BroadBand => Some(&["event", "time", "volume"]),
            UsageKind::FunctionUsage => None,
        }
    }

    /// The attributes of this module beyond those every usage module has.
    fn own_attributes(self) -> Vec<Attribute> {
        let text = Attribute::text;
        match self {
            UsageKind::VirtualPrivateNetwork => vec![
                Attribute::enumerated("callType", "VpnCallType", names!(VpnCallType)),
                Attribute::enumerated("typeOfAccess", "TypeOfAccess", names!(TypeOfAccess)),
                text("originatingLineIdentity"),
                text("terminatingLineIdentity"),
                text("privateNumberA"),
                text("publicNumberA"),
                text("privateNumberB"),
                text("publicNumberB"),
                text("costDistributionCode"),
                text("companyIdentifier"),
                text("accountNumber"),
            ],
            UsageKind::VirtualCallCentre => vec![Attribute::enumerated(
                "serviceCarrier",
                "ServiceCarrier",
                names!(ServiceCarrier),
            )],
            UsageKind::SignalledAtm => vec![Attribute::enumerated(
                "classOfService",
                "AtmClassOfService",
                names!(AtmClassOfService),
            )],
            UsageKind::BroadBand => vec![text("typeOfEvent")],
            UsageKind::FunctionUsage => vec![text("unit")],
        }
    }
}

/// The values an attribute can take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Domain {
    /// Any text (numbers, identities, event and unit names).
    Text,
    /// An ASN.1 enumeration, by its identifiers in exact case.
    Enumerated {
        type_name: &'static str,
        values: Vec<&'static str>,
    },
}

/// A usage attribute a charge or component can read, by its ASN.1 name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: &'static str,
    pub domain: Domain,
}

impl Attribute {
    fn text(name: &'static str) -> Self {
        Attribute {
            name,
            domain: Domain::Text,
        }
    }

    fn enumerated(name: &'static str, type_name: &'static str, values: Vec<&'static str>) -> Self {
        Attribute {
            name,
            domain: Domain::Enumerated { type_name, values },
        }
    }

    /// Whether `value` is one the attribute can take; the error says why
    /// not, with a suggestion where one is close.
    pub fn check_value(&self, value: &str) -> Result<(), String> {
        let (what, known): (String, Vec<&str>) = match &self.domain {
            Domain::Text => return Ok(()),
            Domain::Enumerated { type_name, values } => {
                (format!("a {type_name} value"), values.clone())
            }
        };
        if known.contains(&value) {
            return Ok(());
        }
        Err(format!(
            "`{value}` is not {what} for `{}` (it takes: {}){}",
            self.name,
            known.join(", "),
            did_you_mean(value, known.iter().copied())
        ))
    }
}

/// Attributes every usage module has (src/rate.rs `attribute`).
fn common_attributes() -> Vec<Attribute> {
    [
        "dialledNumber",
        "userIdentifier",
        "providerIdentifier",
        "chargedParticipant",
        "marketingCompany",
    ]
    .into_iter()
    .map(Attribute::text)
    .collect()
}

/// What a charge of a service can match on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    /// The basic list names its usage module.
    Module(UsageKind),
    /// The basic list names none: any attribute some usage module has.
    Undeclared,
    /// A multi-party session service: the participant's `role` (checked
    /// against the policy's roles where the charge's item is known).
    Session,
}

impl Usage {
    /// Every attribute a charge can match on, by name.
    pub fn attributes(&self) -> Vec<Attribute> {
        match self {
            Usage::Module(k) => {
                let mut v = common_attributes();
                v.extend(k.own_attributes());
                v
            }
            Usage::Undeclared => {
                let mut v = common_attributes();
                for k in UsageKind::ALL {
                    v.extend(k.own_attributes());
                }
                v
            }
            Usage::Session => vec![Attribute::text("role")],
        }
    }

    /// What the module is called in messages.
    pub fn describe(&self) -> String {
        match self {
            Usage::Module(k) => format!("the {} usage module", k.name()),
            Usage::Undeclared => "any usage module".to_owned(),
            Usage::Session => "a multi-party session".to_owned(),
        }
    }
}

/// Which part of a `when` entry is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Key,
    Value,
}

/// Checks one `when` entry against the attributes of the usage.
pub fn check_when(usage: &Usage, key: &str, value: &str) -> Result<(), (Part, String)> {
    let attrs = usage.attributes();
    let Some(attr) = attrs.iter().find(|a| a.name == key) else {
        let names: Vec<&str> = attrs.iter().map(|a| a.name).collect();
        return Err((
            Part::Key,
            format!(
                "`{key}` is not an attribute of {} (it has: {}){}",
                usage.describe(),
                names.join(", "),
                did_you_mean(key, names.iter().copied())
            ),
        ));
    };
    attr.check_value(value).map_err(|m| (Part::Value, m))
}

/// Every access form, by its ASN.1 name.
pub fn access_forms() -> Vec<&'static str> {
    names!(AccessForm)
}

/// Checks an `access_form`.
pub fn check_access_form(value: &str) -> Result<(), String> {
    let known = access_forms();
    if known.contains(&value) {
        return Ok(());
    }
    Err(format!(
        "access_form `{value}` is not an AccessForm (it takes: {}){}",
        known.join(", "),
        did_you_mean(value, known.iter().copied())
    ))
}

/// Checks that a currency is an ISO 4217 alphabetic code: three uppercase
/// letters of the ISO 4217 list.
pub fn check_currency(code: &str) -> Result<(), String> {
    let upper = code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase());
    if upper && iso_currency::Currency::from_code(code).is_some() {
        return Ok(());
    }
    // The letters it has, in upper case, may be the code meant.
    let letters: String = code
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let hint = if letters != code && iso_currency::Currency::from_code(&letters).is_some() {
        format!("; did you mean `{letters}`?")
    } else {
        String::new()
    };
    Err(format!(
        "currency `{code}` is not an ISO 4217 alphabetic code (three uppercase letters, like \"SEK\" or \"EUR\"){hint}"
    ))
}

/// Checks a rounding's decimals against [`MAX_DECIMALS`].
pub fn check_decimals(decimals: u32) -> Result<(), String> {
    if decimals <= MAX_DECIMALS {
        return Ok(());
    }
    Err(format!(
        "rounding decimals {decimals} is more than the pricing module can carry (at most {MAX_DECIMALS}: an amount is a 64-bit integer of units, and at {} decimals not even 1.00 fits)",
        MAX_DECIMALS + 1
    ))
}

/// The known name closest to `word`, if one is close enough to be what
/// was meant: the same name in another case, or one a few edits away.
pub fn suggest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        if k == word {
            continue;
        }
        let d = if k.to_lowercase() == lower {
            0
        } else {
            strsim::levenshtein(&lower, &k.to_lowercase())
        };
        // A third of the word may be wrong, at least one letter.
        let allowed = (word.chars().count() / 3).max(1);
        if d <= allowed && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

/// `"; did you mean `x`?"`, or nothing when no known name is close.
pub fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    suggest(word, known).map_or_else(String::new, |k| format!("; did you mean `{k}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_case_and_small_typos() {
        let known = ["callType", "typeOfAccess", "dialledNumber"];
        assert_eq!(suggest("calltype", known), Some("callType"));
        assert_eq!(suggest("dialedNumber", known), Some("dialledNumber"));
        assert_eq!(suggest("zone", known), None);
        assert_eq!(suggest("mobil", access_forms()), Some("mobile"));
        assert_eq!(suggest("offnet", ["onNet", "offNet"]), Some("offNet"));
    }

    #[test]
    fn enumerations_come_from_the_asn1_types() {
        let vpn = Usage::Module(UsageKind::VirtualPrivateNetwork);
        assert!(check_when(&vpn, "callType", "offNet").is_ok());
        assert!(check_when(&vpn, "dialledNumber", "+46 whatever").is_ok());
        let (part, msg) = check_when(&vpn, "callType", "offnet").unwrap_err();
        assert_eq!(part, Part::Value);
        assert!(msg.contains("did you mean `offNet`?"), "{msg}");
        let (part, msg) = check_when(&vpn, "calltype", "offNet").unwrap_err();
        assert_eq!(part, Part::Key);
        assert!(msg.contains("did you mean `callType`?"), "{msg}");
        // Another module's attribute is not this one's.
        assert!(check_when(&vpn, "serviceCarrier", "freephone").is_err());
        assert!(check_when(&Usage::Undeclared, "serviceCarrier", "freephone").is_ok());
    }

    #[test]
    fn currencies_are_iso_4217_codes() {
        assert!(check_currency("SEK").is_ok());
        assert!(check_currency("EUR").is_ok());
        assert!(
            check_currency("sek")
                .unwrap_err()
                .contains("did you mean `SEK`?")
        );
        assert!(
            check_currency("sek!")
                .unwrap_err()
                .contains("did you mean `SEK`?")
        );
        assert!(check_currency("ABC").is_err());
        assert!(check_currency("SEKK").is_err());
    }

    #[test]
    fn decimals_stop_where_one_unit_no_longer_fits() {
        assert!(check_decimals(MAX_DECIMALS).is_ok());
        assert!(check_decimals(MAX_DECIMALS + 1).is_err());
        // The reason: 1.00 at 18 decimals fits 64-bit units, at 19 not.
        let one = |d: u32| i64::try_from(10i128.pow(d)).is_ok();
        assert!(one(MAX_DECIMALS));
        assert!(!one(MAX_DECIMALS + 1));
    }
}
