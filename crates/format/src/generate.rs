//! Deterministic synthetic SDRs with a realistic mix of services, customers,
//! marketing companies and multi-SDR sessions.
//!
//! The universe (customers C00001-C01000 in three marketing companies, the
//! service feature codes below) is the one the shipped price lists and
//! customer registry describe; about one record in a hundred names a
//! customer or service that does not exist, as real feeds do.

use chrono::{Duration, TimeDelta};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::*;

/// Marketing companies of the generated universe.
pub const MARKETING_COMPANIES: [&str; 3] = ["megacom", "publicom", "foretag"];
/// Number of registered customers (C00001..=C01000).
pub const CUSTOMERS: u32 = 1000;

/// Marketing company of a registered customer number.
pub fn company_of(customer: u32) -> &'static str {
    MARKETING_COMPANIES[(customer % 3) as usize]
}

/// Produces SDRs one at a time; a multi-SDR session is emitted record by
/// record, so memory does not grow with the count.
pub struct Generator {
    rng: ChaCha8Rng,
    start: Timestamp,
    next_id: u32,
    session_no: u64,
    pending: Vec<ServiceDetailRecord>,
}

impl Generator {
    pub fn new(seed: u64, start: Timestamp) -> Self {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
            start,
            next_id: 1,
            session_no: 0,
            pending: Vec::new(),
        }
    }

    fn customer(&mut self) -> (String, u32) {
        // One record in a hundred: a customer the registry does not know.
        if self.rng.random_ratio(1, 100) {
            let n = self.rng.random_range(90_000..99_999);
            return (format!("C{n:05}"), n);
        }
        let n = self.rng.random_range(1..=CUSTOMERS);
        (format!("C{n:05}"), n)
    }

    fn time(&mut self) -> Timestamp {
        self.start + TimeDelta::seconds(self.rng.random_range(0..86_400))
    }

    fn number(&mut self, prefix: &str) -> String {
        format!("{prefix}{:07}", self.rng.random_range(0..10_000_000u32))
    }

    fn header(
        &mut self,
        customer: &str,
        company: &str,
        origin: Timestamp,
        session: Option<(String, u32)>,
    ) -> ServiceHeaderModule {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let (sdr_type, action) = match self.rng.random_range(0..100) {
            0..=1 => (
                SdrType::QualityAssurance,
                ActionIndicator::QualityAssuranceNotPriced,
            ),
            2 => (
                SdrType::ServiceManagement,
                ActionIndicator::ServiceManagementNotPriced,
            ),
            3..=4 => (SdrType::Billing, ActionIndicator::PriceRequest),
            _ => (SdrType::Billing, ActionIndicator::PriceAndForward),
        };
        let (session_identifier, sequence_number) = match session {
            Some((s, n)) => (Some(s), Some(n)),
            None => (None, None),
        };
        ServiceHeaderModule {
            module_identifier: ModuleIdentifier::ServiceHeader,
            revision_state: MODULE_REVISION,
            sdr_type,
            session_identifier: session_identifier.map(Into::into),
            sequence_number,
            sdr_identifier: id,
            producer_identity: format!("spe-{}", id % 4 + 1).into(),
            time_of_origin: origin,
            responsibility_trace: vec![ResponsibilityEntry {
                system_identity: "mediation-1".into(),
                timestamp: origin + Duration::seconds(2),
                unknown_items: None,
            }],
            action_indicator: action,
            customer_identity: Some(customer.to_owned().into()),
            marketing_company: Some(company.to_owned().into()),
            unknown_items: None,
        }
    }

    fn sum(
        &mut self,
        code: &str,
        company: &str,
        dialled: String,
        part: ServicePart,
    ) -> ServiceUsageModule {
        // One record in a hundred and fifty: a service nobody prices.
        let code = if self.rng.random_ratio(1, 150) {
            "XSRV"
        } else {
            code
        };
        let access_form = match self.rng.random_range(0..10) {
            0..=5 => AccessForm::Fixed,
            6..=8 => AccessForm::Mobile,
            _ => AccessForm::Internet,
        };
        ServiceUsageModule {
            module_identifier: ModuleIdentifier::ServiceUsage,
            revision_state: MODULE_REVISION,
            service_feature_code: code.to_owned().into(),
            revision_state_of_service: 1,
            user_identifier: None,
            provider_identifier: format!("prov-{}", code.to_lowercase()).into(),
            marketing_company: company.to_owned().into(),
            charged_participant: None,
            dialled_number: dialled.into(),
            access_form: Some(access_form),
            customer_price: None,
            market_price: None,
            nsm_sum_correlator: None,
            sum_spm_correlator: None,
            service_specific: ServiceSpecificPart::Known(part),
            unknown_items: None,
        }
    }

    fn single(&mut self) -> ServiceDetailRecord {
        let (customer, n) = self.customer();
        let company = company_of(n);
        let t = self.time();
        let duration = self.rng.random_range(5..3_600u64);
        let (code, dialled, part, nsm) = match self.rng.random_range(0..100) {
            0..=44 => {
                let call_type = match self.rng.random_range(0..10) {
                    0..=5 => VpnCallType::OnNet,
                    6..=8 => VpnCallType::OffNet,
                    _ => VpnCallType::VirtualOnNet,
                };
                let dialled = self.number("4");
                let part =
                    ServicePart::VirtualPrivateNetwork(Box::new(VirtualPrivateNetworkUsage {
                        private_number_a: Some(
                            format!("{}", self.rng.random_range(1000..9999)).into(),
                        ),
                        public_number_a: Some(self.number("+468").into()),
                        private_number_b: Some(
                            format!("{}", self.rng.random_range(1000..9999)).into(),
                        ),
                        public_number_b: None,
                        first_destination_number: None,
                        second_destination_number: None,
                        third_destination_number: None,
                        cost_distribution_code: Some(format!("CDC{}", n % 40).into()),
                        extra_cdc1: None,
                        extra_cdc2: None,
                        extra_cdc3: None,
                        account_number: None,
                        type_of_access: TypeOfAccess::Direct,
                        originating_line_identity: Some(format!("OLID{}", n % 7).into()),
                        terminating_line_identity: None,
                        dialled_number: dialled.clone().into(),
                        call_type: Some(call_type),
                        follow_on_counter: None,
                        related_identifier: None,
                        event_trace: None,
                        redirection_indicator: None,
                        authorisation_code: None,
                        company_identifier: Some(format!("CO{}", n % 97).into()),
                        authorisation_code_version2: None,
                        in_call_indicator: None,
                        non_dialable_private_cli: None,
                        non_dialable_public_cli: None,
                        personal_phone_number: None,
                        start_of_charging: Some(t),
                        chargeable_duration: Some(duration),
                        unknown_items: None,
                    }));
                ("VPN", dialled, part, true)
            }
            45..=59 => {
                let dialled = self.number("020");
                let queue = self.rng.random_range(0..300u64);
                let part = ServicePart::VirtualCallCentre(VirtualCallCentreUsage {
                    calling_number: self.number("+46").into(),
                    dialled_number: dialled.clone().into(),
                    service_carrier: ServiceCarrier::Freephone,
                    customer_control_code: None,
                    events: vec![VccEvent {
                        destination_number: self.number("+468").into(),
                        event_code: VccEventCode::QueuedThenConnected,
                        queue_start: Some(t),
                        queue_duration: Some(queue),
                        connect_start: Some(t + Duration::seconds(queue as i64)),
                        connect_duration: Some(duration),
                        unknown_items: None,
                    }],
                    unknown_items: None,
                });
                ("VCC", dialled, part, false)
            }
            60..=79 => {
                let (code, function, unit) = if self.rng.random_bool(0.5) {
                    (
                        "FAXBOX",
                        ["send", "store", "retrieve"][self.rng.random_range(0..3)],
                        "page",
                    )
                } else {
                    (
                        "MSGBOX",
                        ["create", "send", "store"][self.rng.random_range(0..3)],
                        "message",
                    )
                };
                let part = ServicePart::FunctionUsage(FunctionUsage {
                    function: function.into(),
                    quantity: self.rng.random_range(1..20),
                    unit: unit.into(),
                    size: Some(self.rng.random_range(1_000..2_000_000)),
                    start_time: t,
                    duration: (function == "store")
                        .then_some(86_400 * self.rng.random_range(1..30)),
                    unknown_items: None,
                });
                (code, self.number("0200"), part, false)
            }
            _ => {
                let part = ServicePart::SignalledAtm(SignalledAtmUsage {
                    originating_number: self.number("+4687").into(),
                    terminating_number: self.number("+4631").into(),
                    start_of_charging: t,
                    chargeable_duration: duration,
                    peak_allocated_bandwidth: 2_048 * self.rng.random_range(1..8),
                    average_allocated_bandwidth: 1_024 * self.rng.random_range(1..4),
                    class_of_service: AtmClassOfService::from_value(self.rng.random_range(0..5)),
                    transmitted_cells: self.rng.random_range(1_000..10_000_000),
                    unknown_items: None,
                });
                ("SATM", self.number("+4631"), part, false)
            }
        };
        let header = self.header(
            &customer,
            company,
            t + Duration::seconds(duration as i64),
            None,
        );
        let network_service_modules = nsm.then(|| {
            vec![NetworkServiceModule {
                module_identifier: ModuleIdentifier::NetworkService,
                revision_state: MODULE_REVISION,
                nsm_sum_correlator: None,
                network_usage: vec![NetworkUsage {
                    network_provider: "telco-se".into(),
                    type_of_network: TypeOfNetwork::VoiceChannel,
                    start_of_charging: t,
                    chargeable_duration: duration,
                    consumed_capacity: None,
                    sse_identifier: Some("sse-1".into()),
                    unknown_items: None,
                }],
                unknown_items: None,
            }]
        });
        let sum = self.sum(code, company, dialled, part);
        ServiceDetailRecord {
            service_header: header,
            network_service_modules,
            service_usage_modules: vec![sum],
            service_pricing_modules: None,
            unknown_items: None,
        }
    }

    /// A broadband session: one SDR per event, with sequence numbers.
    fn broadband_session(&mut self) {
        let (customer, n) = self.customer();
        let company = company_of(n);
        self.session_no += 1;
        let session = format!("bb-{:08}", self.session_no);
        let mut t = self.time();
        let events = self.rng.random_range(2..6u32);
        for seq in 1..=events {
            let ty = match seq {
                1 => "logon",
                s if s == events => "logoff",
                _ => "homePageChange",
            };
            let duration = self.rng.random_range(10..1_800u64);
            let part = ServicePart::BroadBand(BroadBandUsage {
                atm_service_identifier: "web".into(),
                start_of_charging: t,
                chargeable_duration: duration,
                session_identifier: session.clone().into(),
                type_of_event: ty.into(),
                event_parameters: vec![Parameter {
                    name: "protocol".into(),
                    value: "http".into(),
                    unknown_items: None,
                }],
                octets_transferred: Some(self.rng.random_range(1_000..50_000_000)),
                unknown_items: None,
            });
            let header = self.header(&customer, company, t, Some((session.clone(), seq)));
            let sum = self.sum("BB", company, "broadband".into(), part);
            self.pending.push(ServiceDetailRecord {
                service_header: header,
                network_service_modules: None,
                service_usage_modules: vec![sum],
                service_pricing_modules: None,
                unknown_items: None,
            });
            t += Duration::seconds(duration as i64);
        }
    }

    /// A multi-party session (conference or game) as session-event SDRs.
    fn party_session(&mut self) {
        self.session_no += 1;
        let (service, roles) = if self.rng.random_bool(0.5) {
            ("CONF", ["organiser", "participant"])
        } else {
            ("GAME", ["player", "player"])
        };
        let session = format!("{}-{:08}", service.to_lowercase(), self.session_no);
        let mut t = self.time();
        let people = self.rng.random_range(2..5usize);
        let parties: Vec<(String, u32)> = (0..people).map(|_| self.customer()).collect();
        let mut seq = 0u32;
        let mut push = |g: &mut Generator, ty: SessionEventType, who: usize, at: Timestamp| {
            seq += 1;
            let (customer, n) = &parties[who];
            let company = company_of(*n);
            let role = if who == 0 { roles[0] } else { roles[1] };
            let part = ServicePart::SessionEvent(SessionEvent {
                session_id: session.clone().into(),
                service: service.into(),
                category: match ty {
                    SessionEventType::Start | SessionEventType::End => {
                        EventCategory::SessionRelated
                    }
                    _ => EventCategory::ParticipantRelated,
                },
                event_type: ty,
                provider_event_name: None,
                timestamp: at,
                participant_id: format!("p{}", who + 1).into(),
                user_name: format!("user-{customer}").into(),
                billed_party: customer.clone().into(),
                role: Some(role.into()),
                parameters: None,
                unknown_items: None,
            });
            let mut header = g.header(customer, company, at, Some((session.clone(), seq)));
            // A session's events are billing data: one set aside as quality
            // assurance would leave a gap that holds the session forever.
            header.sdr_type = SdrType::Billing;
            header.action_indicator = ActionIndicator::PriceAndForward;
            let sum = g.sum(service, company, "session".into(), part);
            g.pending.push(ServiceDetailRecord {
                service_header: header,
                network_service_modules: None,
                service_usage_modules: vec![sum],
                service_pricing_modules: None,
                unknown_items: None,
            });
        };
        push(self, SessionEventType::Start, 0, t);
        for who in 0..people {
            t += Duration::seconds(self.rng.random_range(0..120));
            push(self, SessionEventType::Join, who, t);
        }
        for who in (0..people).rev() {
            t += Duration::seconds(self.rng.random_range(60..1_800));
            push(self, SessionEventType::Leave, who, t);
        }
        push(self, SessionEventType::End, 0, t);
        // Most recent first in `pending`, so records pop in session order.
        self.pending.reverse();
    }
}

/// Only session events, from `open` sessions at a time, interleaved.
pub struct Sessions {
    generator: Generator,
    /// Each open session's remaining events, next one last.
    open: Vec<Vec<ServiceDetailRecord>>,
    want: usize,
}

impl Generator {
    /// Session events only, with `open` sessions running at once.
    pub fn sessions(self, open: usize) -> Sessions {
        Sessions {
            generator: self,
            open: Vec::with_capacity(open),
            want: open.max(1),
        }
    }
}

impl Iterator for Sessions {
    type Item = ServiceDetailRecord;

    fn next(&mut self) -> Option<ServiceDetailRecord> {
        while self.open.len() < self.want {
            self.generator.party_session();
            let events = std::mem::take(&mut self.generator.pending);
            self.open.push(events);
        }
        let i = self.generator.rng.random_range(0..self.open.len());
        let sdr = self.open[i].pop();
        if self.open[i].is_empty() {
            self.open.swap_remove(i);
        }
        sdr
    }
}

impl Iterator for Generator {
    type Item = ServiceDetailRecord;

    fn next(&mut self) -> Option<ServiceDetailRecord> {
        if let Some(sdr) = self.pending.pop() {
            return Some(sdr);
        }
        match self.rng.random_range(0..100) {
            0..=79 => Some(self.single()),
            80..=91 => {
                self.broadband_session();
                self.pending.reverse();
                self.pending.pop()
            }
            _ => {
                self.party_session();
                self.pending.pop()
            }
        }
    }
}
