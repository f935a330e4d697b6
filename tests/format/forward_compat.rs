//! Forward compatibility, byte by byte: an SDR written by a later revision
//! of the module (extension items appended to a SEQUENCE, new ENUMERATED
//! values, new CHOICE alternatives) decodes, keeps what this version does
//! not know, and encodes back to exactly the bytes it was read from.
//!
//! Every encoding here is built by hand from a small tree of TLVs, so the
//! tests do not depend on the encoder they check.

use chrono::DateTime;
use sdrate::read::{self, tlv};
use sdrate::sdr::*;

/// A hand-written BER element.
#[derive(Clone)]
enum Node {
    /// Identifier octets and contents of a primitive element.
    Prim(Vec<u8>, Vec<u8>),
    /// Identifier octets and children of a constructed element.
    Cons(Vec<u8>, Vec<Node>),
}

use Node::{Cons, Prim};

fn prim(id: u8, content: &[u8]) -> Node {
    Prim(vec![id], content.to_vec())
}

fn cons(id: u8, children: Vec<Node>) -> Node {
    Cons(vec![id], children)
}

fn length(len: usize) -> Vec<u8> {
    match len {
        0..=0x7f => vec![len as u8],
        0x80..=0xff => vec![0x81, len as u8],
        _ => vec![0x82, (len >> 8) as u8, len as u8],
    }
}

impl Node {
    /// Definite lengths everywhere (what rasn writes).
    fn definite(&self) -> Vec<u8> {
        let (id, content) = match self {
            Prim(id, c) => (id, c.clone()),
            Cons(id, kids) => (id, kids.iter().flat_map(Node::definite).collect()),
        };
        let mut out = id.clone();
        out.extend(length(content.len()));
        out.extend(content);
        out
    }

    /// Indefinite length on every constructed element; primitives keep
    /// their definite length, as BER requires.
    fn indefinite(&self) -> Vec<u8> {
        match self {
            Prim(..) => self.definite(),
            Cons(id, kids) => {
                let mut out = id.clone();
                out.push(0x80);
                for k in kids {
                    out.extend(k.indefinite());
                }
                out.extend([0, 0]);
                out
            }
        }
    }
}

const ORIGIN: &str = "20261122143000+0100";

fn ts(rfc3339: &str) -> Timestamp {
    Timestamp(DateTime::parse_from_rfc3339(rfc3339).unwrap())
}

/// ServiceHeaderModule contents, `sdr_type` as the ENUMERATED contents.
fn header_fields(sdr_type: &[u8]) -> Vec<Node> {
    vec![
        prim(0x80, &[1]),              // moduleIdentifier serviceHeader
        prim(0x81, &[1]),              // revisionState 1
        prim(0x82, sdr_type),          // sdrType
        prim(0x85, &[7]),              // sdrIdentifier 7
        prim(0x86, b"P"),              // producerIdentity "P"
        prim(0x87, ORIGIN.as_bytes()), // timeOfOrigin
        cons(0xa8, vec![]),            // responsibilityTrace (empty)
        prim(0x89, &[0]),              // actionIndicator priceAndForward
    ]
}

/// FunctionUsage as the [4] alternative of ServiceSpecificPart.
fn function_usage() -> Node {
    cons(
        0xa4,
        vec![
            prim(0x80, b"f"),              // function
            prim(0x81, &[1]),              // quantity 1
            prim(0x82, b"u"),              // unit
            prim(0x84, ORIGIN.as_bytes()), // startTime
        ],
    )
}

/// One ServiceUsageModule whose serviceSpecific [14] (explicit, since it is
/// a CHOICE) holds `part`.
fn usage_module(part: Node) -> Node {
    cons(
        0x30,
        vec![
            prim(0x80, &[3]),       // moduleIdentifier serviceUsage
            prim(0x81, &[1]),       // revisionState 1
            prim(0x82, b"F"),       // serviceFeatureCode
            prim(0x83, &[1]),       // revisionStateOfService 1
            prim(0x85, b"X"),       // providerIdentifier
            prim(0x86, b"M"),       // marketingCompany
            prim(0x88, b"1"),       // dialledNumber
            cons(0xae, vec![part]), // serviceSpecific
        ],
    )
}

/// A whole [APPLICATION 1] record.
fn record(header: Vec<Node>, part: Node, trailing: Vec<Node>) -> Node {
    let mut kids = vec![
        cons(0xa0, header),                   // serviceHeader
        cons(0xa2, vec![usage_module(part)]), // serviceUsageModules
    ];
    kids.extend(trailing);
    cons(0x61, kids)
}

fn base() -> Node {
    record(header_fields(&[0]), function_usage(), vec![])
}

/// The value `base()` encodes, modified by the caller.
fn base_value() -> ServiceDetailRecord {
    ServiceDetailRecord {
        service_header: ServiceHeaderModule {
            module_identifier: ModuleIdentifier::ServiceHeader,
            revision_state: 1,
            sdr_type: SdrType::Billing,
            session_identifier: None,
            sequence_number: None,
            sdr_identifier: 7,
            producer_identity: "P".into(),
            time_of_origin: ts("2026-11-22T14:30:00+01:00"),
            responsibility_trace: vec![],
            action_indicator: ActionIndicator::PriceAndForward,
            customer_identity: None,
            marketing_company: None,
            unknown_items: None,
        },
        network_service_modules: None,
        service_usage_modules: vec![ServiceUsageModule {
            module_identifier: ModuleIdentifier::ServiceUsage,
            revision_state: 1,
            service_feature_code: "F".into(),
            revision_state_of_service: 1,
            user_identifier: None,
            provider_identifier: "X".into(),
            marketing_company: "M".into(),
            charged_participant: None,
            dialled_number: "1".into(),
            access_form: None,
            customer_price: None,
            market_price: None,
            nsm_sum_correlator: None,
            sum_spm_correlator: None,
            service_specific: ServiceSpecificPart::Known(ServicePart::FunctionUsage(
                FunctionUsage {
                    function: "f".into(),
                    quantity: 1,
                    unit: "u".into(),
                    size: None,
                    start_time: ts("2026-11-22T14:30:00+01:00"),
                    duration: None,
                    unknown_items: None,
                },
            )),
            unknown_items: None,
        }],
        service_pricing_modules: None,
        unknown_items: None,
    }
}

/// Decodes `bytes` as one framed record, checking that the reader frames it
/// as exactly one element first.
fn decode(bytes: &[u8]) -> ServiceDetailRecord {
    assert_eq!(tlv::element_len(bytes), Ok(bytes.len()), "framing");
    read::decode(bytes).unwrap_or_else(|e| panic!("decode {}: {e}", hex::encode(bytes)))
}

fn encode(sdr: &ServiceDetailRecord) -> Vec<u8> {
    rasn::ber::encode(sdr).expect("encode")
}

/// Decode, re-encode, and require the very same bytes; also through JSON.
fn round_trip(bytes: &[u8]) -> ServiceDetailRecord {
    let sdr = decode(bytes);
    assert_eq!(
        hex::encode(encode(&sdr)),
        hex::encode(bytes),
        "re-encoding changed the bytes"
    );
    let json = serde_json::to_string(&sdr).unwrap();
    let back: ServiceDetailRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sdr, "JSON round trip: {json}");
    assert_eq!(hex::encode(encode(&back)), hex::encode(bytes), "after JSON");
    sdr
}

#[test]
fn hand_built_base_record_matches_the_encoder() {
    let bytes = base().definite();
    // 61 66 | a0 29 <header, 41 octets> | a2 39 30 37 <SUM, 55 octets>
    assert_eq!(bytes.len(), 104);
    assert_eq!(&bytes[..4], &[0x61, 0x66, 0xa0, 0x29]);
    assert_eq!(&bytes[45..49], &[0xa2, 0x39, 0x30, 0x37]);
    // serviceSpecific [14] { functionUsage [4] { ... } }
    assert_eq!(&bytes[70..74], &[0xae, 0x20, 0xa4, 0x1e]);
    assert_eq!(decode(&bytes), base_value());
    assert_eq!(hex::encode(encode(&base_value())), hex::encode(&bytes));
}

#[test]
fn unknown_item_at_end_of_header_is_kept() {
    // A later revision appends [30] OCTET-like item ab cd to the header.
    let extra = vec![0x9e, 0x02, 0xab, 0xcd];
    let mut header = header_fields(&[0]);
    header.push(prim(0x9e, &[0xab, 0xcd]));
    let bytes = record(header, function_usage(), vec![]).definite();
    assert_eq!(&bytes[..4], &[0x61, 0x6a, 0xa0, 0x2d]);
    assert_eq!(&bytes[45..49], &extra[..]);

    let sdr = round_trip(&bytes);
    let mut want = base_value();
    want.service_header.unknown_items = Some(Unknowns(vec![extra]));
    assert_eq!(sdr, want);
    assert_eq!(sdr.unknown_items, None);
}

#[test]
fn several_unknown_items_at_end_of_header_keep_their_order() {
    // A primitive high-tag-number item [200] and a constructed [31] item.
    let a = Prim(vec![0x9f, 0x81, 0x48], vec![0x01]);
    let b = Cons(vec![0xbf, 0x1f], vec![prim(0x02, &[5]), prim(0x04, b"zz")]);
    let mut header = header_fields(&[0]);
    header.extend([a.clone(), b.clone()]);
    let bytes = record(header, function_usage(), vec![]).definite();

    let sdr = round_trip(&bytes);
    assert_eq!(
        sdr.service_header.unknown_items,
        Some(Unknowns(vec![
            vec![0x9f, 0x81, 0x48, 0x01, 0x01],
            vec![0xbf, 0x1f, 0x07, 0x02, 0x01, 0x05, 0x04, 0x02, b'z', b'z'],
        ]))
    );
    assert_eq!(
        a.definite(),
        sdr.service_header.unknown_items.as_ref().unwrap().0[0]
    );
    assert_eq!(
        b.definite(),
        sdr.service_header.unknown_items.as_ref().unwrap().0[1]
    );
}

#[test]
fn unknown_item_at_end_of_record_is_kept() {
    // [APPLICATION 1] gains a constructed [40] item { INTEGER 5 } at its end.
    let extra = vec![0xbf, 0x28, 0x03, 0x02, 0x01, 0x05];
    let item = Cons(vec![0xbf, 0x28], vec![prim(0x02, &[5])]);
    let bytes = record(header_fields(&[0]), function_usage(), vec![item]).definite();
    assert_eq!(&bytes[..2], &[0x61, 0x6c]);
    assert_eq!(&bytes[104..], &extra[..]);

    let sdr = round_trip(&bytes);
    let mut want = base_value();
    want.unknown_items = Some(Unknowns(vec![extra]));
    assert_eq!(sdr, want);
    assert_eq!(sdr.service_header.unknown_items, None);
}

#[test]
fn unknown_items_in_header_and_record_together() {
    let mut header = header_fields(&[0]);
    header.push(prim(0x9e, &[0xab, 0xcd]));
    let item = Cons(vec![0xbf, 0x28], vec![prim(0x02, &[5])]);
    let bytes = record(header, function_usage(), vec![item]).definite();
    let sdr = round_trip(&bytes);
    assert_eq!(
        sdr.service_header.unknown_items,
        Some(Unknowns(vec![vec![0x9e, 0x02, 0xab, 0xcd]]))
    );
    assert_eq!(
        sdr.unknown_items,
        Some(Unknowns(vec![vec![0xbf, 0x28, 0x03, 0x02, 0x01, 0x05]]))
    );
}

#[test]
fn unknown_enumerated_value_is_kept() {
    // sdrType 42: 82 01 2a.
    let bytes = record(header_fields(&[42]), function_usage(), vec![]).definite();
    assert_eq!(&bytes[10..13], &[0x82, 0x01, 0x2a]);
    let sdr = round_trip(&bytes);
    assert_eq!(sdr.service_header.sdr_type, SdrType::Unknown(42));
    let mut want = base_value();
    want.service_header.sdr_type = SdrType::Unknown(42);
    assert_eq!(sdr, want);
    // JSON shows an unknown value as its number.
    let json = serde_json::to_value(&sdr).unwrap();
    assert_eq!(json["serviceHeader"]["sdrType"], 42);
}

#[test]
fn unknown_enumerated_values_of_other_sizes_are_kept() {
    // Two-octet (300), negative (-1) and eight-octet values.
    for (content, value) in [
        (vec![0x01, 0x2c], 300),
        (vec![0xff], -1),
        (
            vec![0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            i64::MAX,
        ),
    ] {
        let bytes = record(header_fields(&content), function_usage(), vec![]).definite();
        let sdr = round_trip(&bytes);
        assert_eq!(sdr.service_header.sdr_type, SdrType::Unknown(value));
    }
}

#[test]
fn unknown_choice_alternative_is_kept() {
    // serviceSpecific [14] { [9] { [0] 01 } }: ae 05 a9 03 80 01 01.
    let alt = cons(0xa9, vec![prim(0x80, &[1])]);
    let bytes = record(header_fields(&[0]), alt, vec![]).definite();
    let at = bytes
        .windows(7)
        .position(|w| w == [0xae, 0x05, 0xa9, 0x03, 0x80, 0x01, 0x01])
        .expect("serviceSpecific in the encoding");
    assert_eq!(at + 7, bytes.len(), "serviceSpecific is the last item");

    let sdr = round_trip(&bytes);
    let mut want = base_value();
    want.service_usage_modules[0].service_specific = ServiceSpecificPart::Unknown {
        unknown: vec![0xa9, 0x03, 0x80, 0x01, 0x01],
    };
    assert_eq!(sdr, want);
    let json = serde_json::to_value(&sdr).unwrap();
    assert_eq!(
        json["serviceUsageModules"][0]["serviceSpecific"]["unknown"],
        "a903800101"
    );
}

#[test]
fn unknown_primitive_choice_alternative_is_kept() {
    // A high-tag-number primitive alternative [77] with two content octets.
    let alt = Prim(vec![0x9f, 0x4d], vec![0x12, 0x34]);
    let bytes = record(header_fields(&[0]), alt, vec![]).definite();
    let sdr = round_trip(&bytes);
    assert_eq!(
        sdr.service_usage_modules[0].service_specific,
        ServiceSpecificPart::Unknown {
            unknown: vec![0x9f, 0x4d, 0x02, 0x12, 0x34]
        }
    );
}

#[test]
fn every_unknown_at_once_round_trips() {
    let mut header = header_fields(&[42]);
    header.push(prim(0x9e, &[0xab, 0xcd]));
    let alt = cons(0xa9, vec![prim(0x80, &[1])]);
    let item = Cons(vec![0xbf, 0x28], vec![prim(0x02, &[5])]);
    let bytes = record(header, alt, vec![item]).definite();
    let sdr = round_trip(&bytes);
    assert_eq!(sdr.service_header.sdr_type, SdrType::Unknown(42));
    assert!(sdr.service_header.unknown_items.is_some());
    assert!(sdr.unknown_items.is_some());
    assert!(matches!(
        sdr.service_usage_modules[0].service_specific,
        ServiceSpecificPart::Unknown { .. }
    ));
}

#[test]
fn indefinite_form_decodes_to_the_same_value() {
    let tree = base();
    let definite = tree.definite();
    let indefinite = tree.indefinite();
    // 61 80 a0 80 80 01 01 ...: every constructed element is indefinite.
    assert_eq!(
        &indefinite[..7],
        &[0x61, 0x80, 0xa0, 0x80, 0x80, 0x01, 0x01]
    );
    assert_eq!(&indefinite[indefinite.len() - 2..], &[0, 0]);
    // The reader's own re-framing gives exactly the hand-built form.
    assert_eq!(
        hex::encode(tlv::to_indefinite(&definite).unwrap()),
        hex::encode(&indefinite)
    );
    assert_eq!(decode(&indefinite), decode(&definite));
    assert_eq!(decode(&indefinite), base_value());
}

#[test]
fn indefinite_form_with_unknowns_decodes_to_the_same_value() {
    // Primitive unknowns only: a constructed unknown item is kept as the
    // TLV it was on the wire, so its indefinite form is a different value.
    let mut header = header_fields(&[42]);
    header.push(prim(0x9e, &[0xab, 0xcd]));
    let alt = Prim(vec![0x9f, 0x4d], vec![0x12, 0x34]);
    let item = Prim(vec![0x9f, 0x28], vec![0x05]);
    let tree = record(header, alt, vec![item]);
    let definite = tree.definite();
    let indefinite = tree.indefinite();
    assert_eq!(
        hex::encode(tlv::to_indefinite(&definite).unwrap()),
        hex::encode(&indefinite)
    );
    let from_indefinite = decode(&indefinite);
    assert_eq!(from_indefinite, decode(&definite));
    // Its definite re-encoding is the definite input.
    assert_eq!(
        hex::encode(encode(&from_indefinite)),
        hex::encode(&definite)
    );
}

#[test]
fn constructed_unknowns_keep_their_indefinite_bytes() {
    // A constructed unknown read in indefinite form is kept as it was read,
    // end-of-contents octets included, and written back verbatim.
    let alt = cons(0xa9, vec![prim(0x80, &[1])]);
    let item = Cons(vec![0xbf, 0x28], vec![prim(0x02, &[5])]);
    let indefinite = record(header_fields(&[0]), alt, vec![item]).indefinite();
    let sdr = decode(&indefinite);
    assert_eq!(
        sdr.service_usage_modules[0].service_specific,
        ServiceSpecificPart::Unknown {
            unknown: vec![0xa9, 0x80, 0x80, 0x01, 0x01, 0x00, 0x00]
        }
    );
    assert_eq!(
        sdr.unknown_items,
        Some(Unknowns(vec![vec![
            0xbf, 0x28, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00
        ]]))
    );
    // Re-encoded (definite outer lengths) it still decodes to that value.
    let again = encode(&sdr);
    assert_eq!(decode(&again), sdr);
}

#[test]
fn optional_known_fields_are_not_mistaken_for_unknown_items() {
    // customerIdentity [10] and marketingCompany [11] present: known fields,
    // so unknown_items stays None.
    let mut header = header_fields(&[0]);
    header.push(prim(0x8a, b"C00001"));
    header.push(prim(0x8b, b"megacom"));
    let bytes = record(header, function_usage(), vec![]).definite();
    let sdr = round_trip(&bytes);
    assert_eq!(
        sdr.service_header.customer_identity.as_deref(),
        Some("C00001")
    );
    assert_eq!(
        sdr.service_header.marketing_company.as_deref(),
        Some("megacom")
    );
    assert_eq!(sdr.service_header.unknown_items, None);
}
