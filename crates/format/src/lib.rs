//! The Service Detail Record format, the lowest layer of sdrate: what the
//! fuzz targets, the benchmarks and any other program reading SDRs use.
//!
//! - the SDR types, mirroring `asn1/sdr.asn` (this module). Field order,
//!   tags and optionality follow the module exactly; the interop check in
//!   `tests/interop/` proves it against an independent ASN.1 compiler.
//!   Every SEQUENCE ends with `unknown_items`, which keeps extension items
//!   this version does not know (see [`ext`]);
//! - [`tlv`]: BER framing, without decoding;
//! - [`canonical`]: the direct decoder and encoder of the canonical form
//!   (rasn, through the derived types, reads everything else);
//! - [`event`]: one event of a multi-party session, from an SDR or an event
//!   log;
//! - [`generate`]: deterministic generated SDRs, for benchmarks and tests.
//!
//! It depends on no other part of sdrate (the compiler enforces it: this is
//! its own crate). In sdrate it is `sdrate::sdr`.

pub mod amount;
pub mod canonical;
pub mod event;
pub mod ext;
pub mod generate;
pub mod text;
pub mod time;
pub mod tlv;

use rasn::prelude::*;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

pub use amount::Amount;
pub use ext::Unknowns;
use ext::{RawTlv, asn_enum};

pub use text::Text;
pub use time::Timestamp;

/// Current revision of every module type this version writes.
pub const MODULE_REVISION: u16 = 1;

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rasn(tag(application, 1))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceDetailRecord {
    #[rasn(tag(0))]
    pub service_header: ServiceHeaderModule,
    #[rasn(tag(1))]
    pub network_service_modules: Option<Vec<NetworkServiceModule>>,
    #[rasn(tag(2))]
    pub service_usage_modules: Vec<ServiceUsageModule>,
    #[rasn(tag(3))]
    pub service_pricing_modules: Option<Vec<ServicePricingModule>>,
    pub unknown_items: Option<Unknowns>,
}

asn_enum!(
    /// The seed's Service Module Identifier.
    ModuleIdentifier {
        ServiceHeader = 1 => "serviceHeader",
        NetworkService = 2 => "networkService",
        ServiceUsage = 3 => "serviceUsage",
        ServicePricing = 4 => "servicePricing",
    }
);

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceHeaderModule {
    #[rasn(tag(0))]
    pub module_identifier: ModuleIdentifier,
    #[rasn(tag(1))]
    pub revision_state: u16,
    #[rasn(tag(2))]
    pub sdr_type: SdrType,
    #[rasn(tag(3))]
    pub session_identifier: Option<Text>,
    #[rasn(tag(4))]
    pub sequence_number: Option<u32>,
    #[rasn(tag(5))]
    pub sdr_identifier: u32,
    #[rasn(tag(6))]
    pub producer_identity: Text,
    #[rasn(tag(7))]
    pub time_of_origin: Timestamp,
    #[rasn(tag(8))]
    #[serde(default)]
    pub responsibility_trace: Vec<ResponsibilityEntry>,
    #[rasn(tag(9))]
    pub action_indicator: ActionIndicator,
    #[rasn(tag(10))]
    pub customer_identity: Option<Text>,
    #[rasn(tag(11))]
    pub marketing_company: Option<Text>,
    pub unknown_items: Option<Unknowns>,
}

asn_enum!(
    SdrType {
        Billing = 0 => "billing",
        QualityAssurance = 1 => "qualityAssurance",
        ServiceManagement = 2 => "serviceManagement",
        Statistics = 3 => "statistics",
        AccountingInternal = 4 => "accountingInternal",
        AccountingOtherOperator = 5 => "accountingOtherOperator",
    }
);

asn_enum!(
    ActionIndicator {
        PriceAndForward = 0 => "priceAndForward",
        PriceRequest = 1 => "priceRequest",
        QualityAssuranceNotPriced = 2 => "qualityAssuranceNotPriced",
        ServiceManagementNotPriced = 3 => "serviceManagementNotPriced",
    }
);

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponsibilityEntry {
    #[rasn(tag(0))]
    pub system_identity: Text,
    #[rasn(tag(1))]
    pub timestamp: Timestamp,
    pub unknown_items: Option<Unknowns>,
}

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkServiceModule {
    #[rasn(tag(0))]
    pub module_identifier: ModuleIdentifier,
    #[rasn(tag(1))]
    pub revision_state: u16,
    #[rasn(tag(2))]
    pub nsm_sum_correlator: Option<u32>,
    #[rasn(tag(3))]
    pub network_usage: Vec<NetworkUsage>,
    pub unknown_items: Option<Unknowns>,
}

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkUsage {
    #[rasn(tag(0))]
    pub network_provider: Text,
    #[rasn(tag(1))]
    pub type_of_network: TypeOfNetwork,
    #[rasn(tag(2))]
    pub start_of_charging: Timestamp,
    #[rasn(tag(3))]
    pub chargeable_duration: u64,
    #[rasn(tag(4))]
    pub consumed_capacity: Option<u64>,
    #[rasn(tag(5))]
    pub sse_identifier: Option<Text>,
    pub unknown_items: Option<Unknowns>,
}

asn_enum!(
    TypeOfNetwork {
        Signalling = 0 => "signalling",
        Ip = 1 => "ip",
        VoiceChannel = 2 => "voiceChannel",
        Atm = 3 => "atm",
        Mobile = 4 => "mobile",
    }
);

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceUsageModule {
    #[rasn(tag(0))]
    pub module_identifier: ModuleIdentifier,
    #[rasn(tag(1))]
    pub revision_state: u16,
    #[rasn(tag(2))]
    pub service_feature_code: Text,
    #[rasn(tag(3))]
    pub revision_state_of_service: u16,
    #[rasn(tag(4))]
    pub user_identifier: Option<Text>,
    #[rasn(tag(5))]
    pub provider_identifier: Text,
    #[rasn(tag(6))]
    pub marketing_company: Text,
    #[rasn(tag(7))]
    pub charged_participant: Option<Text>,
    #[rasn(tag(8))]
    pub dialled_number: Text,
    #[rasn(tag(9))]
    pub access_form: Option<AccessForm>,
    #[rasn(tag(10))]
    pub customer_price: Option<bool>,
    #[rasn(tag(11))]
    pub market_price: Option<bool>,
    #[rasn(tag(12))]
    pub nsm_sum_correlator: Option<u32>,
    #[rasn(tag(13))]
    pub sum_spm_correlator: Option<u32>,
    #[rasn(tag(explicit(14)))]
    pub service_specific: ServiceSpecificPart,
    pub unknown_items: Option<Unknowns>,
}

asn_enum!(
    AccessForm {
        Fixed = 0 => "fixed",
        Mobile = 1 => "mobile",
        Internet = 2 => "internet",
        Payphone = 3 => "payphone",
    }
);

/// The service-specific data items of a SUM.
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rasn(choice)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum ServicePart {
    #[rasn(tag(0))]
    VirtualCallCentre(VirtualCallCentreUsage),
    #[rasn(tag(1))]
    VirtualPrivateNetwork(Box<VirtualPrivateNetworkUsage>),
    #[rasn(tag(2))]
    SignalledAtm(SignalledAtmUsage),
    #[rasn(tag(3))]
    BroadBand(BroadBandUsage),
    #[rasn(tag(4))]
    FunctionUsage(FunctionUsage),
    #[rasn(tag(5))]
    SessionEvent(SessionEvent),
    #[rasn(tag(6))]
    ParticipationSummary(ParticipationSummary),
}

/// `ServiceSpecificPart`: a known alternative, or one this version does not
/// know, kept as its raw TLV.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
// Known is the common case; boxing it would cost every record an allocation.
#[allow(clippy::large_enum_variant)]
pub enum ServiceSpecificPart {
    Known(ServicePart),
    Unknown {
        #[serde(with = "hex")]
        unknown: Vec<u8>,
    },
}

impl AsnType for ServiceSpecificPart {
    const TAG: Tag = Tag::EOC;
    const TAG_TREE: TagTree = ServicePart::TAG_TREE;
    const IS_CHOICE: bool = true;
}

impl rasn::types::Choice for ServiceSpecificPart {
    const VARIANTS: &'static [TagTree] = <ServicePart as rasn::types::Choice>::VARIANTS;
    const VARIANCE_CONSTRAINT: Constraints =
        <ServicePart as rasn::types::Choice>::VARIANCE_CONSTRAINT;
    const IDENTIFIERS: &'static [&'static str] = <ServicePart as rasn::types::Choice>::IDENTIFIERS;
}

impl rasn::types::DecodeChoice for ServiceSpecificPart {
    fn from_tag<D: Decoder>(decoder: &mut D, tag: Tag) -> Result<Self, D::Error> {
        let known = <ServicePart as rasn::types::Choice>::VARIANTS
            .iter()
            .any(|t| matches!(t, TagTree::Leaf(k) if *k == tag));
        if known {
            <ServicePart as rasn::types::DecodeChoice>::from_tag(decoder, tag).map(Self::Known)
        } else {
            Ok(Self::Unknown {
                unknown: RawTlv::decode(decoder)?.0,
            })
        }
    }
}

impl Decode for ServiceSpecificPart {
    fn decode<D: Decoder>(decoder: &mut D) -> Result<Self, D::Error> {
        decoder.decode_choice(&Constraints::default())
    }

    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        _tag: Tag,
        constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        decoder.decode_choice(constraints)
    }
}

impl Encode for ServiceSpecificPart {
    fn encode<'b, E: Encoder<'b>>(&self, encoder: &mut E) -> Result<(), E::Error> {
        match self {
            Self::Known(part) => part.encode(encoder),
            Self::Unknown { unknown } => {
                encoder.encode_any(Tag::EOC, &Any::new(unknown.clone()), Identifier::EMPTY)?;
                Ok(())
            }
        }
    }

    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        _tag: Tag,
        _constraints: &Constraints,
        _identifier: Identifier,
    ) -> Result<(), E::Error> {
        self.encode(encoder)
    }
}

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VirtualCallCentreUsage {
    #[rasn(tag(0))]
    pub calling_number: Text,
    #[rasn(tag(1))]
    pub dialled_number: Text,
    #[rasn(tag(2))]
    pub service_carrier: ServiceCarrier,
    #[rasn(tag(3))]
    pub customer_control_code: Option<Text>,
    #[rasn(tag(4))]
    pub events: Vec<VccEvent>,
    pub unknown_items: Option<Unknowns>,
}

asn_enum!(
    ServiceCarrier {
        Frisamtal = 0 => "frisamtal",
        Freephone = 1 => "freephone",
        Foretagsnummer = 2 => "foretagsnummer",
        Foretagsabonnemang = 3 => "foretagsabonnemang",
        Split1 = 4 => "split1",
        Split2 = 5 => "split2",
        Split3 = 6 => "split3",
    }
);

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VccEvent {
    #[rasn(tag(0))]
    pub destination_number: Text,
    #[rasn(tag(1))]
    pub event_code: VccEventCode,
    #[rasn(tag(2))]
    pub queue_start: Option<Timestamp>,
    #[rasn(tag(3))]
    pub queue_duration: Option<u64>,
    #[rasn(tag(4))]
    pub connect_start: Option<Timestamp>,
    #[rasn(tag(5))]
    pub connect_duration: Option<u64>,
    pub unknown_items: Option<Unknowns>,
}

asn_enum!(
    VccEventCode {
        QueuedThenHungUp = 0 => "queuedThenHungUp",
        QueuedThenConnected = 1 => "queuedThenConnected",
        ConnectedImmediately = 2 => "connectedImmediately",
    }
);

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VirtualPrivateNetworkUsage {
    #[rasn(tag(0))]
    pub private_number_a: Option<Text>,
    #[rasn(tag(1))]
    pub public_number_a: Option<Text>,
    #[rasn(tag(2))]
    pub private_number_b: Option<Text>,
    #[rasn(tag(3))]
    pub public_number_b: Option<Text>,
    #[rasn(tag(4))]
    pub first_destination_number: Option<Text>,
    #[rasn(tag(5))]
    pub second_destination_number: Option<Text>,
    #[rasn(tag(6))]
    pub third_destination_number: Option<Text>,
    #[rasn(tag(7))]
    pub cost_distribution_code: Option<Text>,
    #[rasn(tag(8))]
    pub extra_cdc1: Option<Text>,
    #[rasn(tag(9))]
    pub extra_cdc2: Option<Text>,
    #[rasn(tag(10))]
    pub extra_cdc3: Option<Text>,
    #[rasn(tag(11))]
    pub account_number: Option<Text>,
    #[rasn(tag(12))]
    pub type_of_access: TypeOfAccess,
    #[rasn(tag(13))]
    pub originating_line_identity: Option<Text>,
    #[rasn(tag(14))]
    pub terminating_line_identity: Option<Text>,
    #[rasn(tag(15))]
    pub dialled_number: Text,
    #[rasn(tag(16))]
    pub call_type: Option<VpnCallType>,
    #[rasn(tag(17))]
    pub follow_on_counter: Option<u64>,
    #[rasn(tag(18))]
    pub related_identifier: Option<u32>,
    #[rasn(tag(19))]
    pub event_trace: Option<Vec<VpnEvent>>,
    #[rasn(tag(20))]
    pub redirection_indicator: Option<RedirectionIndicator>,
    #[rasn(tag(21))]
    pub authorisation_code: Option<Text>,
    #[rasn(tag(22))]
    pub company_identifier: Option<Text>,
    #[rasn(tag(23))]
    pub authorisation_code_version2: Option<Text>,
    #[rasn(tag(24))]
    pub in_call_indicator: Option<bool>,
    #[rasn(tag(25))]
    pub non_dialable_private_cli: Option<Text>,
    #[rasn(tag(26))]
    pub non_dialable_public_cli: Option<Text>,
    #[rasn(tag(27))]
    pub personal_phone_number: Option<Text>,
    #[rasn(tag(28))]
    pub start_of_charging: Option<Timestamp>,
    #[rasn(tag(29))]
    pub chargeable_duration: Option<u64>,
    pub unknown_items: Option<Unknowns>,
}

asn_enum!(
    TypeOfAccess {
        Direct = 0 => "direct",
        Gvns = 1 => "gvns",
        Switched = 2 => "switched",
        Remote = 3 => "remote",
        CallCentre = 4 => "callCentre",
        NetworkRemote = 5 => "networkRemote",
    }
);

asn_enum!(
    VpnCallType {
        OnNet = 0 => "onNet",
        OffNet = 1 => "offNet",
        VirtualOnNet = 2 => "virtualOnNet",
    }
);

asn_enum!(
    VpnEvent {
        ForcedOnNet = 0 => "forcedOnNet",
        PrivilegeOverride = 1 => "privilegeOverride",
        DirectTerminationOverflow = 2 => "directTerminationOverflow",
        BreakOut = 3 => "breakOut",
        CallDiversionOnBusy = 4 => "callDiversionOnBusy",
        CallDiversionOnNoReply = 5 => "callDiversionOnNoReply",
        TimeDependentRouting = 6 => "timeDependentRouting",
        CallScreening = 7 => "callScreening",
        FollowMe = 8 => "followMe",
        OriginDependentRouting = 9 => "originDependentRouting",
        CallDistribution = 10 => "callDistribution",
        LeasedVirtualChannelsNoOverflow = 11 => "leasedVirtualChannelsNoOverflow",
        LeasedVirtualChannelsOverflow = 12 => "leasedVirtualChannelsOverflow",
        CustomerControlPin = 13 => "customerControlPin",
        CustomerControlTimeDependentRouting = 14 => "customerControlTimeDependentRouting",
        CustomerControlAdvancedForcedOnNet = 15 => "customerControlAdvancedForcedOnNet",
        CustomerControlFollowMeActivateOwn = 16 => "customerControlFollowMeActivateOwn",
        CustomerControlFollowMeActivateOther = 17 => "customerControlFollowMeActivateOther",
        CustomerControlFollowMeDeactivateOwn = 18 => "customerControlFollowMeDeactivateOwn",
        CustomerControlFollowMeDeactivateOther = 19 => "customerControlFollowMeDeactivateOther",
        CustomerControlLanguageCode = 20 => "customerControlLanguageCode",
        Overflow = 21 => "overflow",
        DifferentiatedCallScreening = 22 => "differentiatedCallScreening",
    }
);

asn_enum!(
    RedirectionIndicator {
        GeneralFailure = 0 => "generalFailure",
        GeneralCongestion = 1 => "generalCongestion",
        CongestionInsideVpn = 2 => "congestionInsideVpn",
        CongestionOutsideVpn = 3 => "congestionOutsideVpn",
        FailureInsideVpn = 4 => "failureInsideVpn",
        FailureOutsideVpn = 5 => "failureOutsideVpn",
    }
);

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalledAtmUsage {
    #[rasn(tag(0))]
    pub originating_number: Text,
    #[rasn(tag(1))]
    pub terminating_number: Text,
    #[rasn(tag(2))]
    pub start_of_charging: Timestamp,
    #[rasn(tag(3))]
    pub chargeable_duration: u64,
    #[rasn(tag(4))]
    pub peak_allocated_bandwidth: u64,
    #[rasn(tag(5))]
    pub average_allocated_bandwidth: u64,
    #[rasn(tag(6))]
    pub class_of_service: AtmClassOfService,
    #[rasn(tag(7))]
    pub transmitted_cells: u64,
    pub unknown_items: Option<Unknowns>,
}

asn_enum!(
    AtmClassOfService {
        Cbr = 0 => "cbr",
        RtVbr = 1 => "rtVbr",
        NrtVbr = 2 => "nrtVbr",
        Abr = 3 => "abr",
        Ubr = 4 => "ubr",
    }
);

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BroadBandUsage {
    #[rasn(tag(0))]
    pub atm_service_identifier: Text,
    #[rasn(tag(1))]
    pub start_of_charging: Timestamp,
    #[rasn(tag(2))]
    pub chargeable_duration: u64,
    #[rasn(tag(3))]
    pub session_identifier: Text,
    #[rasn(tag(4))]
    pub type_of_event: Text,
    #[rasn(tag(5))]
    #[serde(default)]
    pub event_parameters: Vec<Parameter>,
    #[rasn(tag(6))]
    pub octets_transferred: Option<u64>,
    pub unknown_items: Option<Unknowns>,
}

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FunctionUsage {
    #[rasn(tag(0))]
    pub function: Text,
    #[rasn(tag(1))]
    pub quantity: u64,
    #[rasn(tag(2))]
    pub unit: Text,
    #[rasn(tag(3))]
    pub size: Option<u64>,
    #[rasn(tag(4))]
    pub start_time: Timestamp,
    #[rasn(tag(5))]
    pub duration: Option<u64>,
    pub unknown_items: Option<Unknowns>,
}

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionEvent {
    #[rasn(tag(0))]
    pub session_id: Text,
    #[rasn(tag(1))]
    pub service: Text,
    #[rasn(tag(2))]
    pub category: EventCategory,
    #[rasn(tag(3))]
    pub event_type: SessionEventType,
    #[rasn(tag(4))]
    pub provider_event_name: Option<Text>,
    #[rasn(tag(5))]
    pub timestamp: Timestamp,
    #[rasn(tag(6))]
    pub participant_id: Text,
    #[rasn(tag(7))]
    pub user_name: Text,
    #[rasn(tag(8))]
    pub billed_party: Text,
    #[rasn(tag(9))]
    pub role: Option<Text>,
    #[rasn(tag(10))]
    pub parameters: Option<Vec<Parameter>>,
    pub unknown_items: Option<Unknowns>,
}

asn_enum!(
    EventCategory {
        SessionRelated = 0 => "sessionRelated",
        ParticipantRelated = 1 => "participantRelated",
        ServiceProviderDefined = 2 => "serviceProviderDefined",
        Invitation = 3 => "invitation",
        Other = 4 => "other",
    }
);

asn_enum!(
    SessionEventType {
        Start = 0 => "start",
        Join = 1 => "join",
        Suspend = 2 => "suspend",
        Resume = 3 => "resume",
        Leave = 4 => "leave",
        Invite = 5 => "invite",
        Advertise = 6 => "advertise",
        Decline = 7 => "decline",
        WithdrawAdvertisement = 8 => "withdrawAdvertisement",
        End = 9 => "end",
        Logon = 10 => "logon",
        Logoff = 11 => "logoff",
        ProviderDefined = 12 => "providerDefined",
    }
);

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParticipationSummary {
    #[rasn(tag(0))]
    pub session_id: Text,
    #[rasn(tag(1))]
    pub service: Text,
    #[rasn(tag(2))]
    pub participant_id: Text,
    #[rasn(tag(3))]
    pub role: Text,
    #[rasn(tag(4))]
    pub billed_party: Text,
    #[rasn(tag(5))]
    pub first_join: Timestamp,
    #[rasn(tag(6))]
    pub last_leave: Timestamp,
    #[rasn(tag(7))]
    pub active_seconds: u64,
    #[rasn(tag(8))]
    pub events_counted: u64,
    pub unknown_items: Option<Unknowns>,
}

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Parameter {
    #[rasn(tag(0))]
    pub name: Text,
    #[rasn(tag(1))]
    pub value: Text,
    pub unknown_items: Option<Unknowns>,
}

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePricingModule {
    #[rasn(tag(0))]
    pub module_identifier: ModuleIdentifier,
    #[rasn(tag(1))]
    pub revision_state: u16,
    #[rasn(tag(2))]
    pub sum_spm_correlator: Option<u32>,
    #[rasn(tag(3))]
    pub service_pricing_identifier: Option<Text>,
    #[rasn(tag(4))]
    pub time_of_pricing: Timestamp,
    #[rasn(tag(5))]
    pub currency: Text,
    #[rasn(tag(6))]
    pub vat_level: Amount,
    #[rasn(tag(7))]
    pub prices: Vec<PriceItem>,
    pub unknown_items: Option<Unknowns>,
}

#[skip_serializing_none]
#[derive(AsnType, Decode, Encode, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceItem {
    #[rasn(tag(0))]
    pub price_type: PriceType,
    #[rasn(tag(1))]
    pub basic_price: Amount,
    #[rasn(tag(2))]
    pub individual_price: Option<Amount>,
    #[rasn(tag(3))]
    pub price_table_identifier: Text,
    #[rasn(tag(4))]
    pub price_table_revision: u16,
    #[rasn(tag(5))]
    pub bill_information: Option<Text>,
    #[rasn(tag(6))]
    pub status_indicator: StatusIndicator,
    pub unknown_items: Option<Unknowns>,
}

asn_enum!(
    PriceType {
        PerCall = 0 => "perCall",
        PerFunction = 1 => "perFunction",
        PerTimeSlice = 2 => "perTimeSlice",
        Combination = 3 => "combination",
    }
);

asn_enum!(
    /// The seed's Status Indicator: priced, or why not.
    StatusIndicator {
        Priced = 0 => "priced",
        UnableToLocateServiceFeatureCode = 1 => "unableToLocateServiceFeatureCode",
        UnableToLocateRevisionStateOfFeature = 2 => "unableToLocateRevisionStateOfFeature",
        UnableToLocateServiceUser = 3 => "unableToLocateServiceUser",
        UnableToLocateMarketingCompany = 4 => "unableToLocateMarketingCompany",
        UnableToLocatePriceTable = 5 => "unableToLocatePriceTable",
        TechnicalError = 6 => "technicalError",
        CurrencyMismatch = 7 => "currencyMismatch",
        MarketingCompanyMismatch = 8 => "marketingCompanyMismatch",
    }
);
