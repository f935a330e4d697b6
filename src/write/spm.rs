//! Encoding a Service Pricing Module by hand, byte for byte as rasn's BER
//! encoder writes it (definite lengths in the shortest form, integers in
//! the fewest octets, strings primitive), for the one module every priced
//! SDR gets: through rasn's generic encoder it cost more than the rest of
//! writing the priced record.

use crate::read::tlv;
use crate::sdr::{Amount, PriceItem, ServicePricingModule, Unknowns};

/// Appends the encoding of `spm` to `out`. Returns false, with `out` as it
/// was, for a module rasn refuses (an amount with more than 28 decimals),
/// so that the caller gets rasn's error.
pub(crate) fn encode(spm: &ServicePricingModule, out: &mut Vec<u8>) -> bool {
    let at = out.len();
    if spm_into(spm, out).is_none() {
        out.truncate(at);
        return false;
    }
    true
}

fn spm_into(spm: &ServicePricingModule, out: &mut Vec<u8>) -> Option<()> {
    let seq = begin(out, 0x30);
    integer(out, 0x80, spm.module_identifier.value());
    integer(out, 0x81, spm.revision_state.into());
    if let Some(c) = spm.sum_spm_correlator {
        integer(out, 0x82, c.into());
    }
    if let Some(id) = &spm.service_pricing_identifier {
        string(out, 0x83, id.as_bytes());
    }
    spm.time_of_pricing
        .with_ber_text(|text| string(out, 0x84, text));
    string(out, 0x85, spm.currency.as_bytes());
    amount(out, 0xa6, &spm.vat_level)?;
    let prices = begin(out, 0xa7);
    for p in &spm.prices {
        price_item(out, p)?;
    }
    end(out, prices);
    unknowns(out, &spm.unknown_items);
    end(out, seq);
    Some(())
}

fn price_item(out: &mut Vec<u8>, p: &PriceItem) -> Option<()> {
    let seq = begin(out, 0x30);
    integer(out, 0x80, p.price_type.value());
    amount(out, 0xa1, &p.basic_price)?;
    if let Some(a) = &p.individual_price {
        amount(out, 0xa2, a)?;
    }
    string(out, 0x83, p.price_table_identifier.as_bytes());
    integer(out, 0x84, p.price_table_revision.into());
    if let Some(b) = &p.bill_information {
        string(out, 0x85, b.as_bytes());
    }
    integer(out, 0x86, p.status_indicator.value());
    unknowns(out, &p.unknown_items);
    end(out, seq);
    Some(())
}

fn amount(out: &mut Vec<u8>, id: u8, a: &Amount) -> Option<()> {
    // decimalPlaces is constrained to 0..=28.
    if a.decimal_places > 28 {
        return None;
    }
    let seq = begin(out, id);
    integer(out, 0x80, a.units);
    integer(out, 0x81, a.decimal_places.into());
    unknowns(out, &a.unknown_items);
    end(out, seq);
    Some(())
}

/// Kept items are written as they were read; empty ones write nothing.
fn unknowns(out: &mut Vec<u8>, items: &Option<Unknowns>) {
    for item in items.iter().flat_map(|u| &u.0) {
        out.extend_from_slice(item);
    }
}

/// A primitive INTEGER (or ENUMERATED) in the fewest two's complement
/// octets; every field here fits an i64.
fn integer(out: &mut Vec<u8>, id: u8, v: i64) {
    // Octets for the value's bits plus one sign bit.
    let redundant = if v < 0 {
        v.leading_ones()
    } else {
        v.leading_zeros()
    };
    let n = (65 - redundant).div_ceil(8) as usize;
    out.extend_from_slice(&[id, n as u8]);
    out.extend_from_slice(&v.to_be_bytes()[8 - n..]);
}

fn string(out: &mut Vec<u8>, id: u8, s: &[u8]) {
    out.push(id);
    tlv::push_length(out, s.len());
    out.extend_from_slice(s);
}

/// Writes a constructed identifier and one length octet to complete in
/// [`end`]; returns where the contents start.
fn begin(out: &mut Vec<u8>, id: u8) -> usize {
    out.push(id);
    out.push(0);
    out.len()
}

/// Completes the length of the value whose contents start at `start` and
/// run to the end of `out`, moving them along for the long form.
fn end(out: &mut Vec<u8>, start: usize) {
    let len = out.len() - start;
    if len < 0x80 {
        out[start - 1] = len as u8;
        return;
    }
    let n = tlv::length_len(len) - 1;
    let old_end = out.len();
    out.resize(old_end + n, 0);
    out.copy_within(start..old_end, start + n);
    out[start - 1] = 0x80 | n as u8;
    out[start..start + n].copy_from_slice(&len.to_be_bytes()[size_of::<usize>() - n..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdr::*;
    use chrono::DateTime;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = Text> {
        prop_oneof![
            "[a-zA-Z0-9 -]{0,12}",
            "[a-zé€]{100,300}",
            Just(String::new()),
        ]
        .prop_map(Text::from)
    }

    fn unknowns() -> impl Strategy<Value = Option<Unknowns>> {
        prop_oneof![
            3 => Just(None),
            1 => Just(Some(Unknowns(vec![]))),
            1 => proptest::collection::vec(
                prop_oneof![
                    Just(vec![0x9f, 0x20, 0x01, 0x07]),
                    Just(vec![]),
                    Just(vec![0xbf, 0x21, 0x80, 0x05, 0x00, 0x00, 0x00]),
                ],
                1..3
            )
            .prop_map(|v| Some(Unknowns(v))),
        ]
    }

    fn integer_value() -> impl Strategy<Value = i64> {
        prop_oneof![
            -300i64..300,
            any::<i64>(),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(127),
            Just(128),
            Just(-128),
            Just(-129),
            Just(32767),
            Just(32768),
        ]
    }

    fn amount() -> impl Strategy<Value = Amount> {
        (
            integer_value(),
            prop_oneof![0u8..=28, Just(28), Just(29), any::<u8>()],
            unknowns(),
        )
            .prop_map(|(units, decimal_places, unknown_items)| Amount {
                units,
                decimal_places,
                unknown_items,
            })
    }

    fn price_item() -> impl Strategy<Value = PriceItem> {
        (
            (0i64..6).prop_map(PriceType::from_value),
            amount(),
            proptest::option::of(amount()),
            text(),
            any::<u16>(),
            proptest::option::of(text()),
            (-2i64..9).prop_map(StatusIndicator::from_value),
            unknowns(),
        )
            .prop_map(
                |(pt, basic, individual, table, rev, bill, status, unknown_items)| PriceItem {
                    price_type: pt,
                    basic_price: basic,
                    individual_price: individual,
                    price_table_identifier: table,
                    price_table_revision: rev,
                    bill_information: bill,
                    status_indicator: status,
                    unknown_items,
                },
            )
    }

    fn spm() -> impl Strategy<Value = ServicePricingModule> {
        (
            (
                (0i64..6).prop_map(ModuleIdentifier::from_value),
                any::<u16>(),
                proptest::option::of(any::<u32>()),
                proptest::option::of(text()),
            ),
            (
                -62_000_000_000i64..253_000_000_000,
                prop_oneof![Just(0u32), 0u32..1_000_000_000],
                -86_399i32..86_400,
            ),
            text(),
            amount(),
            proptest::collection::vec(price_item(), 0..8),
            unknowns(),
        )
            .prop_map(
                |(
                    (module, rev, corr, id),
                    (secs, nanos, offset),
                    currency,
                    vat,
                    prices,
                    unknown_items,
                )| {
                    let zone = chrono::FixedOffset::east_opt(offset).unwrap();
                    let t = DateTime::from_timestamp(secs, nanos)
                        .unwrap()
                        .with_timezone(&zone);
                    ServicePricingModule {
                        module_identifier: module,
                        revision_state: rev,
                        sum_spm_correlator: corr,
                        service_pricing_identifier: id,
                        time_of_pricing: Timestamp(t),
                        currency,
                        vat_level: vat,
                        prices,
                        unknown_items,
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn same_bytes_as_rasn(spm in spm()) {
            let mut got = vec![0xee];
            let ours = encode(&spm, &mut got);
            let theirs = rasn::ber::encode(&spm);
            match theirs {
                Ok(want) => {
                    prop_assert!(ours);
                    prop_assert_eq!(hex::encode(&got[1..]), hex::encode(want));
                }
                Err(_) => {
                    prop_assert!(!ours);
                    prop_assert_eq!(got, vec![0xee]);
                }
            }
        }
    }
}
