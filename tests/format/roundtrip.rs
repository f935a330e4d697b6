//! Property tests: any ServiceDetailRecord survives BER (definite and
//! indefinite lengths) and JSON unchanged.
//!
//! The strategies cover every type of `src/sdr`: every ServicePart
//! alternative and an unknown one, every ENUMERATED with known and unknown
//! values, optional fields present and absent, Amounts, and Timestamps with
//! any whole-minute UTC offset, whole seconds or millisecond fractions.
//! `unknown_items` stays None (tests/format/forward_compat.rs covers it).
//!
//! `DateTime` equality ignores the offset, so every check also compares the
//! JSON form, which shows it.

use chrono::{FixedOffset, NaiveDate};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;
use sdrate::read::{self, tlv};
use sdrate::sdr::*;

type S<T> = BoxedStrategy<T>;

/// UTF8String contents: mostly readable, sometimes anything.
fn text() -> S<Text> {
    prop_oneof![
        4 => "[A-Za-z0-9+ ._-]{0,16}",
        1 => "\\PC{0,8}",
        1 => any::<String>(),
    ]
    .prop_map(Text::from)
    .boxed()
}

fn timestamp() -> S<Timestamp> {
    (
        (1950i32..=2100, 1u32..=12, 1u32..=28),
        (0u32..24, 0u32..60, 0u32..60),
        prop_oneof![Just(0u32), 1u32..1000],
        // Any whole-minute offset GeneralizedTime can write, UTC included.
        prop_oneof![Just(0i32), -(23 * 60 + 59)..=(23 * 60 + 59)],
    )
        .prop_map(|((y, mo, d), (h, mi, s), ms, off)| {
            let local = NaiveDate::from_ymd_opt(y, mo, d)
                .and_then(|date| date.and_hms_milli_opt(h, mi, s, ms))
                .expect("valid date and time");
            let offset = FixedOffset::east_opt(off * 60).expect("valid offset");
            Timestamp(
                local
                    .and_local_timezone(offset)
                    .single()
                    .expect("a fixed offset is never ambiguous"),
            )
        })
        .boxed()
}

/// An ENUMERATED: one of its known values, or an unknown one (small, as a
/// later revision would add, or anywhere in i64).
fn enumerated<T: Copy + std::fmt::Debug + 'static>(
    known: &'static [T],
    from_value: fn(i64) -> T,
) -> S<T> {
    prop_oneof![
        6 => select(known),
        1 => (-5i64..64).prop_map(from_value),
        1 => any::<i64>().prop_map(from_value),
    ]
    .boxed()
}

fn amount() -> S<Amount> {
    (any::<i64>(), 0u8..=28)
        .prop_map(|(units, decimal_places)| Amount {
            units,
            decimal_places,
            unknown_items: None,
        })
        .boxed()
}

fn parameter() -> S<Parameter> {
    (text(), text())
        .prop_map(|(name, value)| Parameter {
            name,
            value,
            unknown_items: None,
        })
        .boxed()
}

fn responsibility_entry() -> S<ResponsibilityEntry> {
    (text(), timestamp())
        .prop_map(|(system_identity, timestamp)| ResponsibilityEntry {
            system_identity,
            timestamp,
            unknown_items: None,
        })
        .boxed()
}

fn module_identifier() -> S<ModuleIdentifier> {
    enumerated(ModuleIdentifier::KNOWN, ModuleIdentifier::from_value)
}

fn service_header() -> S<ServiceHeaderModule> {
    (
        (
            module_identifier(),
            any::<u16>(),
            enumerated(SdrType::KNOWN, SdrType::from_value),
            of(text()),
            of(any::<u32>()),
            any::<u32>(),
        ),
        (
            text(),
            timestamp(),
            vec(responsibility_entry(), 0..3),
            enumerated(ActionIndicator::KNOWN, ActionIndicator::from_value),
            of(text()),
            of(text()),
        ),
    )
        .prop_map(
            |(
                (
                    module_identifier,
                    revision_state,
                    sdr_type,
                    session_identifier,
                    sequence_number,
                    sdr_identifier,
                ),
                (
                    producer_identity,
                    time_of_origin,
                    responsibility_trace,
                    action_indicator,
                    customer_identity,
                    marketing_company,
                ),
            )| ServiceHeaderModule {
                module_identifier,
                revision_state,
                sdr_type,
                session_identifier,
                sequence_number,
                sdr_identifier,
                producer_identity,
                time_of_origin,
                responsibility_trace,
                action_indicator,
                customer_identity,
                marketing_company,
                unknown_items: None,
            },
        )
        .boxed()
}

fn network_usage() -> S<NetworkUsage> {
    (
        text(),
        enumerated(TypeOfNetwork::KNOWN, TypeOfNetwork::from_value),
        timestamp(),
        any::<u64>(),
        of(any::<u64>()),
        of(text()),
    )
        .prop_map(
            |(
                network_provider,
                type_of_network,
                start_of_charging,
                chargeable_duration,
                consumed_capacity,
                sse_identifier,
            )| NetworkUsage {
                network_provider,
                type_of_network,
                start_of_charging,
                chargeable_duration,
                consumed_capacity,
                sse_identifier,
                unknown_items: None,
            },
        )
        .boxed()
}

fn network_service_module() -> S<NetworkServiceModule> {
    (
        module_identifier(),
        any::<u16>(),
        of(any::<u32>()),
        vec(network_usage(), 0..3),
    )
        .prop_map(
            |(module_identifier, revision_state, nsm_sum_correlator, network_usage)| {
                NetworkServiceModule {
                    module_identifier,
                    revision_state,
                    nsm_sum_correlator,
                    network_usage,
                    unknown_items: None,
                }
            },
        )
        .boxed()
}

fn vcc_event() -> S<VccEvent> {
    (
        text(),
        enumerated(VccEventCode::KNOWN, VccEventCode::from_value),
        of(timestamp()),
        of(any::<u64>()),
        of(timestamp()),
        of(any::<u64>()),
    )
        .prop_map(
            |(
                destination_number,
                event_code,
                queue_start,
                queue_duration,
                connect_start,
                connect_duration,
            )| VccEvent {
                destination_number,
                event_code,
                queue_start,
                queue_duration,
                connect_start,
                connect_duration,
                unknown_items: None,
            },
        )
        .boxed()
}

fn virtual_call_centre() -> S<VirtualCallCentreUsage> {
    (
        text(),
        text(),
        enumerated(ServiceCarrier::KNOWN, ServiceCarrier::from_value),
        of(text()),
        vec(vcc_event(), 0..3),
    )
        .prop_map(
            |(calling_number, dialled_number, service_carrier, customer_control_code, events)| {
                VirtualCallCentreUsage {
                    calling_number,
                    dialled_number,
                    service_carrier,
                    customer_control_code,
                    events,
                    unknown_items: None,
                }
            },
        )
        .boxed()
}

fn virtual_private_network() -> S<VirtualPrivateNetworkUsage> {
    let numbers = (
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        of(text()),
        of(text()),
    );
    let routing = (
        enumerated(TypeOfAccess::KNOWN, TypeOfAccess::from_value),
        of(text()),
        of(text()),
        text(),
        of(enumerated(VpnCallType::KNOWN, VpnCallType::from_value)),
        of(any::<u64>()),
        of(any::<u32>()),
        of(vec(enumerated(VpnEvent::KNOWN, VpnEvent::from_value), 0..4)),
        of(enumerated(
            RedirectionIndicator::KNOWN,
            RedirectionIndicator::from_value,
        )),
    );
    let rest = (
        of(text()),
        of(text()),
        of(text()),
        of(any::<bool>()),
        of(text()),
        of(text()),
        of(text()),
        of(timestamp()),
        of(any::<u64>()),
    );
    (numbers, routing, rest)
        .prop_map(
            |(
                (
                    private_number_a,
                    public_number_a,
                    private_number_b,
                    public_number_b,
                    first_destination_number,
                    second_destination_number,
                    third_destination_number,
                    cost_distribution_code,
                    extra_cdc1,
                    extra_cdc2,
                    extra_cdc3,
                    account_number,
                ),
                (
                    type_of_access,
                    originating_line_identity,
                    terminating_line_identity,
                    dialled_number,
                    call_type,
                    follow_on_counter,
                    related_identifier,
                    event_trace,
                    redirection_indicator,
                ),
                (
                    authorisation_code,
                    company_identifier,
                    authorisation_code_version2,
                    in_call_indicator,
                    non_dialable_private_cli,
                    non_dialable_public_cli,
                    personal_phone_number,
                    start_of_charging,
                    chargeable_duration,
                ),
            )| VirtualPrivateNetworkUsage {
                private_number_a,
                public_number_a,
                private_number_b,
                public_number_b,
                first_destination_number,
                second_destination_number,
                third_destination_number,
                cost_distribution_code,
                extra_cdc1,
                extra_cdc2,
                extra_cdc3,
                account_number,
                type_of_access,
                originating_line_identity,
                terminating_line_identity,
                dialled_number,
                call_type,
                follow_on_counter,
                related_identifier,
                event_trace,
                redirection_indicator,
                authorisation_code,
                company_identifier,
                authorisation_code_version2,
                in_call_indicator,
                non_dialable_private_cli,
                non_dialable_public_cli,
                personal_phone_number,
                start_of_charging,
                chargeable_duration,
                unknown_items: None,
            },
        )
        .boxed()
}

fn signalled_atm() -> S<SignalledAtmUsage> {
    (
        text(),
        text(),
        timestamp(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        enumerated(AtmClassOfService::KNOWN, AtmClassOfService::from_value),
        any::<u64>(),
    )
        .prop_map(
            |(
                originating_number,
                terminating_number,
                start_of_charging,
                chargeable_duration,
                peak_allocated_bandwidth,
                average_allocated_bandwidth,
                class_of_service,
                transmitted_cells,
            )| SignalledAtmUsage {
                originating_number,
                terminating_number,
                start_of_charging,
                chargeable_duration,
                peak_allocated_bandwidth,
                average_allocated_bandwidth,
                class_of_service,
                transmitted_cells,
                unknown_items: None,
            },
        )
        .boxed()
}

fn broad_band() -> S<BroadBandUsage> {
    (
        text(),
        timestamp(),
        any::<u64>(),
        text(),
        text(),
        vec(parameter(), 0..3),
        of(any::<u64>()),
    )
        .prop_map(
            |(
                atm_service_identifier,
                start_of_charging,
                chargeable_duration,
                session_identifier,
                type_of_event,
                event_parameters,
                octets_transferred,
            )| BroadBandUsage {
                atm_service_identifier,
                start_of_charging,
                chargeable_duration,
                session_identifier,
                type_of_event,
                event_parameters,
                octets_transferred,
                unknown_items: None,
            },
        )
        .boxed()
}

fn function_usage() -> S<FunctionUsage> {
    (
        text(),
        any::<u64>(),
        text(),
        of(any::<u64>()),
        timestamp(),
        of(any::<u64>()),
    )
        .prop_map(
            |(function, quantity, unit, size, start_time, duration)| FunctionUsage {
                function,
                quantity,
                unit,
                size,
                start_time,
                duration,
                unknown_items: None,
            },
        )
        .boxed()
}

fn session_event() -> S<SessionEvent> {
    (
        (
            text(),
            text(),
            enumerated(EventCategory::KNOWN, EventCategory::from_value),
            enumerated(SessionEventType::KNOWN, SessionEventType::from_value),
            of(text()),
            timestamp(),
        ),
        (
            text(),
            text(),
            text(),
            of(text()),
            of(vec(parameter(), 0..3)),
        ),
    )
        .prop_map(
            |(
                (session_id, service, category, event_type, provider_event_name, timestamp),
                (participant_id, user_name, billed_party, role, parameters),
            )| SessionEvent {
                session_id,
                service,
                category,
                event_type,
                provider_event_name,
                timestamp,
                participant_id,
                user_name,
                billed_party,
                role,
                parameters,
                unknown_items: None,
            },
        )
        .boxed()
}

fn participation_summary() -> S<ParticipationSummary> {
    (
        text(),
        text(),
        text(),
        text(),
        text(),
        timestamp(),
        timestamp(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(
                session_id,
                service,
                participant_id,
                role,
                billed_party,
                first_join,
                last_leave,
                active_seconds,
                events_counted,
            )| ParticipationSummary {
                session_id,
                service,
                participant_id,
                role,
                billed_party,
                first_join,
                last_leave,
                active_seconds,
                events_counted,
                unknown_items: None,
            },
        )
        .boxed()
}

/// A CHOICE alternative this version does not know: a primitive context
/// tag past the known ones ([7]..[30], or a high tag number). Primitive, so
/// that its kept bytes are the same in the indefinite form.
fn unknown_alternative() -> S<Vec<u8>> {
    (
        prop_oneof![
            (7u8..=30).prop_map(|n| vec![0x80 | n]),
            (31u8..=127).prop_map(|n| vec![0x9f, n]),
        ],
        vec(any::<u8>(), 0..40),
    )
        .prop_map(|(mut tlv, content)| {
            tlv.push(content.len() as u8);
            tlv.extend(content);
            tlv
        })
        .boxed()
}

fn service_specific() -> S<ServiceSpecificPart> {
    use ServicePart::*;
    let known = prop_oneof![
        virtual_call_centre().prop_map(VirtualCallCentre),
        virtual_private_network().prop_map(|v| VirtualPrivateNetwork(Box::new(v))),
        signalled_atm().prop_map(SignalledAtm),
        broad_band().prop_map(BroadBand),
        function_usage().prop_map(FunctionUsage),
        session_event().prop_map(SessionEvent),
        participation_summary().prop_map(ParticipationSummary),
    ];
    prop_oneof![
        7 => known.prop_map(ServiceSpecificPart::Known),
        1 => unknown_alternative().prop_map(|unknown| ServiceSpecificPart::Unknown { unknown }),
    ]
    .boxed()
}

fn service_usage_module() -> S<ServiceUsageModule> {
    (
        (
            module_identifier(),
            any::<u16>(),
            text(),
            any::<u16>(),
            of(text()),
            text(),
            text(),
            of(text()),
        ),
        (
            text(),
            of(enumerated(AccessForm::KNOWN, AccessForm::from_value)),
            of(any::<bool>()),
            of(any::<bool>()),
            of(any::<u32>()),
            of(any::<u32>()),
            service_specific(),
        ),
    )
        .prop_map(
            |(
                (
                    module_identifier,
                    revision_state,
                    service_feature_code,
                    revision_state_of_service,
                    user_identifier,
                    provider_identifier,
                    marketing_company,
                    charged_participant,
                ),
                (
                    dialled_number,
                    access_form,
                    customer_price,
                    market_price,
                    nsm_sum_correlator,
                    sum_spm_correlator,
                    service_specific,
                ),
            )| ServiceUsageModule {
                module_identifier,
                revision_state,
                service_feature_code,
                revision_state_of_service,
                user_identifier,
                provider_identifier,
                marketing_company,
                charged_participant,
                dialled_number,
                access_form,
                customer_price,
                market_price,
                nsm_sum_correlator,
                sum_spm_correlator,
                service_specific,
                unknown_items: None,
            },
        )
        .boxed()
}

fn price_item() -> S<PriceItem> {
    (
        enumerated(PriceType::KNOWN, PriceType::from_value),
        amount(),
        of(amount()),
        text(),
        any::<u16>(),
        of(text()),
        enumerated(StatusIndicator::KNOWN, StatusIndicator::from_value),
    )
        .prop_map(
            |(
                price_type,
                basic_price,
                individual_price,
                price_table_identifier,
                price_table_revision,
                bill_information,
                status_indicator,
            )| PriceItem {
                price_type,
                basic_price,
                individual_price,
                price_table_identifier,
                price_table_revision,
                bill_information,
                status_indicator,
                unknown_items: None,
            },
        )
        .boxed()
}

fn service_pricing_module() -> S<ServicePricingModule> {
    (
        module_identifier(),
        any::<u16>(),
        of(any::<u32>()),
        of(text()),
        timestamp(),
        "[A-Z]{3}",
        amount(),
        vec(price_item(), 0..3),
    )
        .prop_map(
            |(
                module_identifier,
                revision_state,
                sum_spm_correlator,
                service_pricing_identifier,
                time_of_pricing,
                currency,
                vat_level,
                prices,
            )| ServicePricingModule {
                module_identifier,
                revision_state,
                sum_spm_correlator,
                service_pricing_identifier,
                time_of_pricing,
                currency: currency.into(),
                vat_level,
                prices,
                unknown_items: None,
            },
        )
        .boxed()
}

fn sdr() -> S<ServiceDetailRecord> {
    (
        service_header(),
        of(vec(network_service_module(), 0..3)),
        vec(service_usage_module(), 1..3),
        of(vec(service_pricing_module(), 0..3)),
    )
        .prop_map(
            |(
                service_header,
                network_service_modules,
                service_usage_modules,
                service_pricing_modules,
            )| ServiceDetailRecord {
                service_header,
                network_service_modules,
                service_usage_modules,
                service_pricing_modules,
                unknown_items: None,
            },
        )
        .boxed()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Equal as values and in their JSON form (which shows UTC offsets).
fn assert_same(got: &ServiceDetailRecord, want: &ServiceDetailRecord, what: &str) {
    assert_eq!(got, want, "{what}");
    assert_eq!(
        serde_json::to_value(got).unwrap(),
        serde_json::to_value(want).unwrap(),
        "{what}: JSON form"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ber_round_trip(sdr in sdr()) {
        let bytes = rasn::ber::encode(&sdr).expect("encode");
        prop_assert_eq!(tlv::element_len(&bytes), Ok(bytes.len()));
        let back = read::decode(&bytes).expect("decode");
        assert_same(&back, &sdr, "BER");
        // The direct path reads what rasn writes, or leaves it to rasn.
        if let Some(direct) = read::canonical::decode(&bytes) {
            assert_same(&direct, &sdr, "canonical");
        }
        assert_same(&read::decode_general(&bytes).expect("decode"), &sdr, "general");
        // The direct writer writes rasn's bytes, or leaves it to rasn.
        let mut direct = Vec::new();
        if read::canonical::encode(&sdr, &mut direct) {
            prop_assert_eq!(hex(&direct), hex(&bytes));
        }
        prop_assert_eq!(hex(&read::canonical::to_ber(&sdr).unwrap()), hex(&bytes));
        // Encoding is stable: the decoded value encodes to the same bytes.
        prop_assert_eq!(rasn::ber::encode(&back).unwrap(), bytes);
    }

    #[test]
    fn indefinite_length_round_trip(sdr in sdr()) {
        let bytes = rasn::ber::encode(&sdr).expect("encode");
        let indefinite = tlv::to_indefinite(&bytes).expect("re-frame");
        prop_assert_eq!(tlv::element_len(&indefinite), Ok(indefinite.len()));
        prop_assert!(read::canonical::decode(&indefinite).is_none());
        let back = read::decode(&indefinite).expect("decode indefinite");
        assert_same(&back, &sdr, "indefinite");
        prop_assert_eq!(rasn::ber::encode(&back).unwrap(), bytes);
    }

    #[test]
    fn json_round_trip(sdr in sdr()) {
        let json = serde_json::to_string(&sdr).expect("to JSON");
        let back: ServiceDetailRecord = serde_json::from_str(&json).expect("from JSON");
        assert_same(&back, &sdr, "JSON");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Timestamps alone, many more of them: the text keeps the offset and
    /// the fraction through BER and JSON.
    #[test]
    fn timestamp_round_trip(t in timestamp(), system in text()) {
        let entry = ResponsibilityEntry { system_identity: system, timestamp: t, unknown_items: None };
        let bytes = rasn::ber::encode(&entry).unwrap();
        let back: ResponsibilityEntry = rasn::ber::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &entry);
        prop_assert_eq!(back.timestamp.offset(), t.offset());
        prop_assert_eq!(back.timestamp.to_rfc3339(), t.to_rfc3339());
        let json = serde_json::to_string(&t).unwrap();
        let from_json: Timestamp = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(from_json.to_rfc3339(), t.to_rfc3339());
    }

    /// Amounts alone: exact through BER and JSON, scale included.
    #[test]
    fn amount_round_trip(a in amount()) {
        let bytes = rasn::ber::encode(&a).unwrap();
        prop_assert_eq!(rasn::ber::decode::<Amount>(&bytes).unwrap(), a.clone());
        let json = serde_json::to_string(&a).unwrap();
        prop_assert_eq!(serde_json::from_str::<Amount>(&json).unwrap(), a);
    }
}

#[test]
fn strategies_reach_every_alternative() {
    // A cheap guard that the CHOICE strategy is not lopsided: draw records
    // until every known alternative and an unknown one have been seen.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = service_specific();
    let mut seen = [false; 8];
    for _ in 0..2000 {
        let part = strategy.new_tree(&mut runner).unwrap().current();
        let i = match part {
            ServiceSpecificPart::Known(ServicePart::VirtualCallCentre(_)) => 0,
            ServiceSpecificPart::Known(ServicePart::VirtualPrivateNetwork(_)) => 1,
            ServiceSpecificPart::Known(ServicePart::SignalledAtm(_)) => 2,
            ServiceSpecificPart::Known(ServicePart::BroadBand(_)) => 3,
            ServiceSpecificPart::Known(ServicePart::FunctionUsage(_)) => 4,
            ServiceSpecificPart::Known(ServicePart::SessionEvent(_)) => 5,
            ServiceSpecificPart::Known(ServicePart::ParticipationSummary(_)) => 6,
            ServiceSpecificPart::Unknown { .. } => 7,
        };
        seen[i] = true;
        if seen.iter().all(|s| *s) {
            return;
        }
    }
    panic!("alternatives seen: {seen:?}");
}

#[test]
fn enumerated_strategy_reaches_unknown_values() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = enumerated(SdrType::KNOWN, SdrType::from_value);
    let values: Vec<SdrType> = (0..500)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    assert!(values.iter().any(|v| matches!(v, SdrType::Unknown(_))));
    for k in SdrType::KNOWN {
        assert!(values.contains(k), "{k:?} never drawn");
    }
}
