//! The canonical form (definite lengths, minimal integers, primitive
//! strings, fields in schema order), read and written directly.
//!
//! rasn decodes any BER; doing so costs it about 14,000 instructions for a
//! typical 260-byte record (every field goes through its generic decoder,
//! constraint checks and error plumbing), which alone keeps one core under
//! a million records a second. Almost every record, though, arrives in one
//! form: definite lengths, minimal integers, primitive strings, every
//! known field in schema order and nothing unknown. This module reads
//! exactly that form straight into the same Rust types, and gives up
//! (returns None) at the first byte of anything else, so that the record
//! goes to rasn, which stays the reference: unknown extension items,
//! unknown CHOICE alternatives, indefinite lengths, constructed strings,
//! other time forms, non-minimal integers and every malformed input take
//! the general path.
//!
//! Whatever this path accepts, rasn decodes to the same value: tests
//! compare the two on every property-tested record, on every fixture, and
//! the fuzz target compares them on every input it tries.
//!
//! Writing is the mirror image: [`encode`] writes the bytes rasn's BER
//! encoder writes (that form, plus kept unknown items verbatim), about ten
//! times faster, and refuses (false) only what rasn would refuse or write
//! otherwise, so the caller can ask rasn. Priced SDRs get their pricing
//! modules this way ([`encode_pricing_module`]), and sessions their
//! participation SDRs.

use crate::tlv;
use crate::*;

/// The SDR at the start of `bytes`, when the record is in the canonical
/// form and fills `bytes` exactly; None sends it to the general decoder.
pub fn decode(bytes: &[u8]) -> Option<ServiceDetailRecord> {
    let mut c = Cursor { buf: bytes };
    // [APPLICATION 1], constructed.
    let content = c.element(0x61)?;
    if !c.buf.is_empty() {
        return None;
    }
    ServiceDetailRecord::content(content)
}

/// [`decode`] into `sdr`, reusing what it holds from an earlier record;
/// false (with `sdr` holding a valid value of no use) sends the record to
/// the general decoder.
pub fn decode_into(bytes: &[u8], sdr: &mut ServiceDetailRecord) -> bool {
    let mut c = Cursor { buf: bytes };
    let Some(content) = c.element(0x61) else {
        return false;
    };
    c.buf.is_empty() && ServiceDetailRecord::content_into(content, sdr).is_some()
}

/// The unread rest of one element's contents.
struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// The identifier octet of the next element, if there is one.
    fn peek(&self) -> Option<u8> {
        self.buf.first().copied()
    }

    /// The contents of the next element, which must have identifier `id`
    /// (one octet) and a definite length in its minimal form.
    #[inline]
    fn element(&mut self, id: u8) -> Option<&'a [u8]> {
        let [first, len, rest @ ..] = self.buf else {
            return None;
        };
        if *first != id {
            return None;
        }
        let (len, rest) = if *len < 0x80 {
            (usize::from(*len), rest)
        } else {
            // Long form of 1 or 2 octets, minimal; 0x80 (indefinite) and
            // longer lengths go to the general path.
            match (*len, rest) {
                (0x81, [l, rest @ ..]) if *l >= 0x80 => (usize::from(*l), rest),
                (0x82, [h, l, rest @ ..]) if *h != 0 => {
                    (usize::from(*h) << 8 | usize::from(*l), rest)
                }
                _ => return None,
            }
        };
        if len > rest.len() {
            return None;
        }
        let (content, after) = rest.split_at(len);
        self.buf = after;
        Some(content)
    }
}

/// A type read in canonical form: its contents, and how it is tagged.
trait Canonical: Sized {
    /// Whether its encoding is constructed.
    const CONSTRUCTED: bool;
    /// Its universal identifier octet, as an element of a SEQUENCE OF.
    const UNIVERSAL: u8;
    fn content(bytes: &[u8]) -> Option<Self>;
    /// Reads the contents into `out`, reusing what it already holds (the
    /// vectors' capacity, the alternative of a service part) so that a
    /// record decoded into the previous one is neither allocated nor
    /// moved again. On None, `out` is a valid value of no use.
    #[inline]
    fn content_into(bytes: &[u8], out: &mut Self) -> Option<()> {
        *out = Self::content(bytes)?;
        Some(())
    }
    /// Appends the whole element, with identifier `id`; None for a value
    /// rasn would refuse or write in another form.
    fn write(&self, out: &mut Vec<u8>, id: u8) -> Option<()>;
}

/// The context-specific identifier octet of field `tag` (tags below 31).
const fn context<T: Canonical>(tag: u8) -> u8 {
    0x80 | if T::CONSTRUCTED { 0x20 } else { 0 } | tag
}

#[inline]
fn required<T: Canonical>(c: &mut Cursor<'_>, tag: u8) -> Option<T> {
    T::content(c.element(context::<T>(tag))?)
}

/// `Some(None)` when the next element is not this field.
#[inline]
fn optional<T: Canonical>(c: &mut Cursor<'_>, tag: u8) -> Option<Option<T>> {
    let id = context::<T>(tag);
    if c.peek() != Some(id) {
        return Some(None);
    }
    T::content(c.element(id)?).map(Some)
}

/// [`required`] into the value `out` holds.
#[inline]
fn required_into<T: Canonical>(c: &mut Cursor<'_>, tag: u8, out: &mut T) -> Option<()> {
    T::content_into(c.element(context::<T>(tag))?, out)
}

/// [`optional`] into the value `out` holds, if it holds one.
#[inline]
fn optional_into<T: Canonical>(c: &mut Cursor<'_>, tag: u8, out: &mut Option<T>) -> Option<()> {
    let id = context::<T>(tag);
    if c.peek() != Some(id) {
        *out = None;
        return Some(());
    }
    let bytes = c.element(id)?;
    match out {
        Some(v) => T::content_into(bytes, v),
        None => {
            *out = Some(T::content(bytes)?);
            Some(())
        }
    }
}

/// SEQUENCE OF: elements with their universal identifiers.
impl<T: Canonical> Canonical for Vec<T> {
    const CONSTRUCTED: bool = true;
    const UNIVERSAL: u8 = 0x30;
    fn content(bytes: &[u8]) -> Option<Self> {
        // Counted first, so the vector is allocated once and no larger
        // than needed (a usage module is about 500 bytes).
        let mut count = Cursor { buf: bytes };
        let mut n = 0;
        while !count.buf.is_empty() {
            count.element(T::UNIVERSAL)?;
            n += 1;
        }
        let mut c = Cursor { buf: bytes };
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(T::content(c.element(T::UNIVERSAL)?)?);
        }
        Some(items)
    }
    fn content_into(bytes: &[u8], out: &mut Self) -> Option<()> {
        let mut c = Cursor { buf: bytes };
        let mut n = 0;
        while !c.buf.is_empty() {
            let item = c.element(T::UNIVERSAL)?;
            match out.get_mut(n) {
                Some(v) => T::content_into(item, v)?,
                None => out.push(T::content(item)?),
            }
            n += 1;
        }
        out.truncate(n);
        Some(())
    }
    fn write(&self, out: &mut Vec<u8>, id: u8) -> Option<()> {
        let at = begin(out, id);
        for item in self {
            item.write(out, T::UNIVERSAL)?;
        }
        end(out, at);
        Some(())
    }
}

impl<T: Canonical> Canonical for Box<T> {
    const CONSTRUCTED: bool = T::CONSTRUCTED;
    const UNIVERSAL: u8 = T::UNIVERSAL;
    fn content(bytes: &[u8]) -> Option<Self> {
        T::content(bytes).map(Box::new)
    }
    fn content_into(bytes: &[u8], out: &mut Self) -> Option<()> {
        T::content_into(bytes, out)
    }
    fn write(&self, out: &mut Vec<u8>, id: u8) -> Option<()> {
        (**self).write(out, id)
    }
}

/// Writes field `tag` of a SEQUENCE.
#[inline]
fn write_field<T: Canonical>(v: &T, out: &mut Vec<u8>, tag: u8) -> Option<()> {
    v.write(out, context::<T>(tag))
}

/// Appends the canonical encoding of `sdr` to `out`, byte for byte what
/// rasn writes; false, with `out` as it was, for the rare value that must
/// go through rasn (an amount rasn refuses, an unsigned value above
/// i64::MAX).
pub fn encode(sdr: &ServiceDetailRecord, out: &mut Vec<u8>) -> bool {
    encode_as(sdr, out, 0x61)
}

/// [`encode`] for one Service Pricing Module, as an element of the
/// record's SEQUENCE OF.
pub fn encode_pricing_module(spm: &ServicePricingModule, out: &mut Vec<u8>) -> bool {
    encode_as(spm, out, 0x30)
}

/// The BER encoding of `sdr`: canonical, or rasn's where [`encode`]
/// refuses.
pub fn to_ber(sdr: &ServiceDetailRecord) -> Result<Vec<u8>, rasn::error::EncodeError> {
    let mut out = Vec::with_capacity(512);
    if encode(sdr, &mut out) {
        return Ok(out);
    }
    rasn::ber::encode(sdr)
}

/// [`to_ber`] into `out` (cleared first).
pub fn to_ber_buf(
    sdr: &ServiceDetailRecord,
    out: &mut Vec<u8>,
) -> Result<(), rasn::error::EncodeError> {
    out.clear();
    if encode(sdr, out) {
        return Ok(());
    }
    rasn::ber::encode_buf(sdr, out)
}

/// One price line of a [`ParticipationSdr`]: a priced item of the
/// participation's price table (its table and revision are the module's).
#[derive(Debug, Clone)]
pub struct PriceLine<'a> {
    pub price_type: PriceType,
    pub basic_price: Amount,
    pub individual_price: Amount,
    pub bill_information: &'a str,
}

/// The priced SDR of one participation in a multi-party session, borrowed
/// from what session pricing made: [`ParticipationSdr::encode`] writes the
/// bytes [`encode`] writes for the owned record with these values (one
/// header with one responsibility entry, one usage module with the
/// participation summary, one pricing module), without building it.
///
/// Building the owned record and encoding it cost ~7,800 instructions a
/// participation (BENCHMARKS.md), about a fifth of it building (strings,
/// four vectors, a bill information string a line) and dropping it, and
/// another ~700 writing the two times every participation of a run or a
/// session shares, which arrive here as BER text made once. Written
/// straight from the participation it costs ~4,700 (3,050 of them
/// writing; callgrind, 20 k session events). The bytes are the owned
/// record's: tests compare the two on priced sessions and on values at the
/// edges (long and non-ASCII text, no price lines, amounts rasn refuses).
#[derive(Debug, Clone)]
pub struct ParticipationSdr<'a> {
    pub session_id: &'a str,
    /// The header's sequence number: the participation's, from 1.
    pub sequence_number: u32,
    pub sdr_identifier: u32,
    /// Producer identity, and the system identity of the one
    /// responsibility entry.
    pub producer: &'a str,
    /// BER text ([`Timestamp::ber_text`]) of the session's end, the
    /// header's time of origin.
    pub time_of_origin: &'a str,
    /// BER text of the time of pricing: the responsibility entry's time
    /// and the pricing module's.
    pub time_of_pricing: &'a str,
    pub customer: &'a str,
    pub marketing_company: &'a str,
    pub service: &'a str,
    pub user_name: &'a str,
    pub provider: &'a str,
    pub billed_party: &'a str,
    pub participant_id: &'a str,
    pub role: &'a str,
    pub first_join: Timestamp,
    pub last_leave: Timestamp,
    pub active_seconds: u64,
    pub events_counted: u64,
    pub pricing_identifier: &'a str,
    pub currency: &'a str,
    pub vat_level: Amount,
    pub price_table: &'a str,
    pub price_table_revision: u16,
    pub prices: &'a [PriceLine<'a>],
}

impl ParticipationSdr<'_> {
    /// Appends the record; false, with `out` as it was, where [`encode`]
    /// would refuse the owned record (an amount or count rasn writes
    /// otherwise): the caller then builds it and asks [`to_ber`].
    pub fn encode(&self, out: &mut Vec<u8>) -> bool {
        let at = out.len();
        if self.write(out).is_none() {
            out.truncate(at);
            return false;
        }
        true
    }

    /// The fields in schema order, tagged as `canonical_sequence!` tags
    /// them; absent optional fields write nothing.
    fn write(&self, out: &mut Vec<u8>) -> Option<()> {
        fn text(out: &mut Vec<u8>, tag: u8, s: &str) {
            put_string(out, context::<Text>(tag), s.as_bytes());
        }
        fn time_text(out: &mut Vec<u8>, tag: u8, s: &str) {
            put_string(out, context::<Timestamp>(tag), s.as_bytes());
        }
        let record = begin(out, 0x61);
        // [0] the header.
        let header = begin(out, context::<ServiceHeaderModule>(0));
        write_field(&ModuleIdentifier::ServiceHeader, out, 0)?;
        write_field(&MODULE_REVISION, out, 1)?;
        write_field(&SdrType::Billing, out, 2)?;
        text(out, 3, self.session_id);
        write_field(&self.sequence_number, out, 4)?;
        write_field(&self.sdr_identifier, out, 5)?;
        text(out, 6, self.producer);
        time_text(out, 7, self.time_of_origin);
        let trace = begin(out, context::<Vec<ResponsibilityEntry>>(8));
        let entry = begin(out, ResponsibilityEntry::UNIVERSAL);
        text(out, 0, self.producer);
        time_text(out, 1, self.time_of_pricing);
        end(out, entry);
        end(out, trace);
        write_field(&ActionIndicator::PriceAndForward, out, 9)?;
        text(out, 10, self.customer);
        text(out, 11, self.marketing_company);
        end(out, header);
        // [2] one usage module.
        let sums = begin(out, context::<Vec<ServiceUsageModule>>(2));
        let sum = begin(out, ServiceUsageModule::UNIVERSAL);
        write_field(&ModuleIdentifier::ServiceUsage, out, 0)?;
        write_field(&MODULE_REVISION, out, 1)?;
        text(out, 2, self.service);
        write_field(&MODULE_REVISION, out, 3)?;
        text(out, 4, self.user_name);
        text(out, 5, self.provider);
        text(out, 6, self.marketing_company);
        text(out, 7, self.billed_party);
        // The dialled number: none.
        text(out, 8, "");
        // [13] its pricing module's correlator.
        write_field(&1u32, out, 13)?;
        let specific = begin(out, context::<ServiceSpecificPart>(14));
        let summary = begin(out, context::<ParticipationSummary>(6));
        text(out, 0, self.session_id);
        text(out, 1, self.service);
        text(out, 2, self.participant_id);
        text(out, 3, self.role);
        text(out, 4, self.billed_party);
        write_field(&self.first_join, out, 5)?;
        write_field(&self.last_leave, out, 6)?;
        write_field(&self.active_seconds, out, 7)?;
        write_field(&self.events_counted, out, 8)?;
        end(out, summary);
        end(out, specific);
        end(out, sum);
        end(out, sums);
        // [3] one pricing module.
        let spms = begin(out, context::<Vec<ServicePricingModule>>(3));
        let spm = begin(out, ServicePricingModule::UNIVERSAL);
        write_field(&ModuleIdentifier::ServicePricing, out, 0)?;
        write_field(&MODULE_REVISION, out, 1)?;
        write_field(&1u32, out, 2)?;
        text(out, 3, self.pricing_identifier);
        time_text(out, 4, self.time_of_pricing);
        text(out, 5, self.currency);
        write_field(&self.vat_level, out, 6)?;
        let prices = begin(out, context::<Vec<PriceItem>>(7));
        for line in self.prices {
            let item = begin(out, PriceItem::UNIVERSAL);
            write_field(&line.price_type, out, 0)?;
            write_field(&line.basic_price, out, 1)?;
            write_field(&line.individual_price, out, 2)?;
            text(out, 3, self.price_table);
            write_field(&self.price_table_revision, out, 4)?;
            text(out, 5, line.bill_information);
            write_field(&StatusIndicator::Priced, out, 6)?;
            end(out, item);
        }
        end(out, prices);
        end(out, spm);
        end(out, spms);
        end(out, record);
        Some(())
    }
}

fn encode_as<T: Canonical>(v: &T, out: &mut Vec<u8>, id: u8) -> bool {
    let at = out.len();
    if v.write(out, id).is_none() {
        out.truncate(at);
        return false;
    }
    true
}

/// Kept items are written as they were read; empty ones write nothing.
fn put_unknowns(out: &mut Vec<u8>, items: &Option<Unknowns>) {
    for item in items.iter().flat_map(|u| &u.0) {
        out.extend_from_slice(item);
    }
}

/// How many octets the fewest two's complement octets of `v` are, and
/// those octets at the front of a big-endian word. Written with one
/// fixed-size store instead of a one-to-eight-byte copy, which is a memcpy
/// call costing more than the value (every amount writes two); the rest of
/// the word lies past the new length.
#[inline]
fn integer_word(v: i64) -> (usize, [u8; 8]) {
    // Octets for the value's bits plus one sign bit.
    let redundant = if v < 0 {
        v.leading_ones()
    } else {
        v.leading_zeros()
    };
    let n = (65 - redundant).div_ceil(8) as usize;
    (n, ((v as u64) << (8 * (8 - n))).to_be_bytes())
}

/// A primitive INTEGER (or ENUMERATED) in the fewest two's complement
/// octets.
fn put_integer(out: &mut Vec<u8>, id: u8, v: i64) {
    let (n, word) = integer_word(v);
    out.reserve(10);
    let len = out.len();
    // SAFETY: reserve(10) leaves room for the 2 + 8 bytes stored, and the
    // length grows by 2 + n <= 10 bytes, all of them written just before.
    unsafe {
        let p = out.as_mut_ptr().add(len);
        p.write(id);
        p.add(1).write(n as u8);
        std::ptr::write_unaligned(p.add(2).cast::<[u8; 8]>(), word);
        out.set_len(len + 2 + n);
    }
}

/// A primitive string element. Most are shorter than 128 bytes: one
/// capacity check and three stores, inlined (pushed one by one, with a
/// capacity check each, they cost ~64 instructions, a participation SDR
/// writes 25 of them); longer ones out of line.
#[inline]
fn put_string(out: &mut Vec<u8>, id: u8, s: &[u8]) {
    if s.len() >= 0x80 {
        return put_long_string(out, id, s);
    }
    out.reserve(2 + s.len());
    let len = out.len();
    // SAFETY: reserve leaves room for the 2 + s.len() bytes written, and
    // the length grows by exactly those; `s` cannot overlap `out`'s spare
    // capacity, which nothing else borrows.
    unsafe {
        let p = out.as_mut_ptr().add(len);
        p.write(id);
        p.add(1).write(s.len() as u8);
        std::ptr::copy_nonoverlapping(s.as_ptr(), p.add(2), s.len());
        out.set_len(len + 2 + s.len());
    }
}

#[inline(never)]
fn put_long_string(out: &mut Vec<u8>, id: u8, s: &[u8]) {
    out.reserve(6 + s.len());
    out.push(id);
    tlv::push_length(out, s.len());
    out.extend_from_slice(s);
}

/// Writes a constructed identifier and one length octet to complete in
/// [`end`]; returns where the contents start.
#[inline]
fn begin(out: &mut Vec<u8>, id: u8) -> usize {
    out.extend_from_slice(&[id, 0]);
    out.len()
}

/// Completes the length of the value whose contents start at `start` and
/// run to the end of `out`, moving them along for the long form.
#[inline]
fn end(out: &mut Vec<u8>, start: usize) {
    let len = out.len() - start;
    if len < 0x80 {
        out[start - 1] = len as u8;
        return;
    }
    end_long(out, start, len);
}

/// [`end`] of contents of 128 bytes or more, out of line.
#[inline(never)]
fn end_long(out: &mut Vec<u8>, start: usize, len: usize) {
    let n = tlv::length_len(len) - 1;
    let old_end = out.len();
    out.resize(old_end + n, 0);
    out.copy_within(start..old_end, start + n);
    out[start - 1] = 0x80 | n as u8;
    out[start..start + n].copy_from_slice(&len.to_be_bytes()[size_of::<usize>() - n..]);
}

/// An INTEGER's value in its minimal two's-complement form, up to 8 octets.
#[inline]
fn integer(b: &[u8]) -> Option<i64> {
    match b {
        [] => None,
        [x] => Some(i64::from(*x as i8)),
        [0x00, next, ..] if next & 0x80 == 0 => None,
        [0xff, next, ..] if next & 0x80 != 0 => None,
        _ if b.len() > 8 => None,
        _ => {
            let start = if b[0] & 0x80 != 0 { -1i64 } else { 0 };
            Some(b.iter().fold(start, |v, x| (v << 8) | i64::from(*x)))
        }
    }
}

macro_rules! canonical_integer {
    ($($t:ty),*) => {$(
        impl Canonical for $t {
            const CONSTRUCTED: bool = false;
            const UNIVERSAL: u8 = 0x02;
            #[inline]
            fn content(bytes: &[u8]) -> Option<Self> {
                <$t>::try_from(integer(bytes)?).ok()
            }
            fn write(&self, out: &mut Vec<u8>, id: u8) -> Option<()> {
                // u64 values above i64::MAX take nine octets: rasn's.
                put_integer(out, id, i64::try_from(*self).ok()?);
                Some(())
            }
        }
    )*};
}
canonical_integer!(i64, u64, u32, u16);

impl Canonical for u8 {
    const CONSTRUCTED: bool = false;
    const UNIVERSAL: u8 = 0x02;
    fn content(bytes: &[u8]) -> Option<Self> {
        // Only Amount's decimal places are a u8, constrained to 0..=28.
        u8::try_from(integer(bytes)?).ok().filter(|d| *d <= 28)
    }
    fn write(&self, out: &mut Vec<u8>, id: u8) -> Option<()> {
        // rasn refuses to write more than 28 decimal places.
        if *self > 28 {
            return None;
        }
        put_integer(out, id, i64::from(*self));
        Some(())
    }
}

impl Canonical for bool {
    const CONSTRUCTED: bool = false;
    const UNIVERSAL: u8 = 0x01;
    fn content(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0x00] => Some(false),
            [0xff] => Some(true),
            _ => None,
        }
    }
    fn write(&self, out: &mut Vec<u8>, id: u8) -> Option<()> {
        out.extend_from_slice(&[id, 1, if *self { 0xff } else { 0 }]);
        Some(())
    }
}

impl Canonical for Text {
    const CONSTRUCTED: bool = false;
    const UNIVERSAL: u8 = 0x0c;
    #[inline]
    fn content(bytes: &[u8]) -> Option<Self> {
        // Nearly every item is ASCII, which is checked a word at a time;
        // the general UTF-8 check costs several times more on short items.
        if bytes.is_ascii() {
            // SAFETY: ASCII is valid UTF-8.
            return Some(Text::from(unsafe { std::str::from_utf8_unchecked(bytes) }));
        }
        std::str::from_utf8(bytes).ok().map(Text::from)
    }
    fn write(&self, out: &mut Vec<u8>, id: u8) -> Option<()> {
        put_string(out, id, self.as_bytes());
        Some(())
    }
}

impl Canonical for Timestamp {
    const CONSTRUCTED: bool = false;
    const UNIVERSAL: u8 = 0x18;
    fn content(bytes: &[u8]) -> Option<Self> {
        crate::time::parse_common_form(bytes).map(Timestamp)
    }
    fn write(&self, out: &mut Vec<u8>, id: u8) -> Option<()> {
        self.with_ber_text(|text| put_string(out, id, text));
        Some(())
    }
}

macro_rules! canonical_enumerated {
    ($($t:ty),* $(,)?) => {$(
        impl Canonical for $t {
            const CONSTRUCTED: bool = false;
            const UNIVERSAL: u8 = 0x0a;
            fn content(bytes: &[u8]) -> Option<Self> {
                Some(<$t>::from_value(integer(bytes)?))
            }
            fn write(&self, out: &mut Vec<u8>, id: u8) -> Option<()> {
                put_integer(out, id, self.value());
                Some(())
            }
        }
    )*};
}
canonical_enumerated!(
    ModuleIdentifier,
    SdrType,
    ActionIndicator,
    TypeOfNetwork,
    AccessForm,
    ServiceCarrier,
    VccEventCode,
    TypeOfAccess,
    VpnCallType,
    VpnEvent,
    RedirectionIndicator,
    AtmClassOfService,
    EventCategory,
    SessionEventType,
    PriceType,
    StatusIndicator,
);

/// `[14] EXPLICIT` around the CHOICE: exactly one known alternative.
impl Canonical for ServiceSpecificPart {
    const CONSTRUCTED: bool = true;
    const UNIVERSAL: u8 = 0x30;
    fn content(bytes: &[u8]) -> Option<Self> {
        let mut c = Cursor { buf: bytes };
        let part = match c.peek()? {
            0xa0 => ServicePart::VirtualCallCentre(required(&mut c, 0)?),
            0xa1 => ServicePart::VirtualPrivateNetwork(required(&mut c, 1)?),
            0xa2 => ServicePart::SignalledAtm(required(&mut c, 2)?),
            0xa3 => ServicePart::BroadBand(required(&mut c, 3)?),
            0xa4 => ServicePart::FunctionUsage(required(&mut c, 4)?),
            0xa5 => ServicePart::SessionEvent(required(&mut c, 5)?),
            0xa6 => ServicePart::ParticipationSummary(required(&mut c, 6)?),
            _ => return None,
        };
        if !c.buf.is_empty() {
            return None;
        }
        Some(ServiceSpecificPart::Known(part))
    }
    fn content_into(bytes: &[u8], out: &mut Self) -> Option<()> {
        use ServicePart as P;
        use ServiceSpecificPart::Known;
        let mut c = Cursor { buf: bytes };
        // The alternative of the record before: read in place.
        match (c.peek()?, &mut *out) {
            (0xa0, Known(P::VirtualCallCentre(p))) => required_into(&mut c, 0, p)?,
            (0xa1, Known(P::VirtualPrivateNetwork(p))) => required_into(&mut c, 1, p)?,
            (0xa2, Known(P::SignalledAtm(p))) => required_into(&mut c, 2, p)?,
            (0xa3, Known(P::BroadBand(p))) => required_into(&mut c, 3, p)?,
            (0xa4, Known(P::FunctionUsage(p))) => required_into(&mut c, 4, p)?,
            (0xa5, Known(P::SessionEvent(p))) => required_into(&mut c, 5, p)?,
            (0xa6, Known(P::ParticipationSummary(p))) => required_into(&mut c, 6, p)?,
            // Another alternative: a blank one of its kind, filled in
            // place like the others (building the value and moving it in
            // cost more).
            (id, _) => {
                *out = Known(match id {
                    0xa0 => P::VirtualCallCentre(Default::default()),
                    0xa1 => P::VirtualPrivateNetwork(Default::default()),
                    0xa2 => P::SignalledAtm(Default::default()),
                    0xa3 => P::BroadBand(Default::default()),
                    0xa4 => P::FunctionUsage(Default::default()),
                    0xa5 => P::SessionEvent(Default::default()),
                    0xa6 => P::ParticipationSummary(Default::default()),
                    _ => return None,
                });
                return Self::content_into(bytes, out);
            }
        }
        c.buf.is_empty().then_some(())
    }
    fn write(&self, out: &mut Vec<u8>, id: u8) -> Option<()> {
        let at = begin(out, id);
        match self {
            ServiceSpecificPart::Known(part) => match part {
                ServicePart::VirtualCallCentre(p) => p.write(out, 0xa0)?,
                ServicePart::VirtualPrivateNetwork(p) => p.write(out, 0xa1)?,
                ServicePart::SignalledAtm(p) => p.write(out, 0xa2)?,
                ServicePart::BroadBand(p) => p.write(out, 0xa3)?,
                ServicePart::FunctionUsage(p) => p.write(out, 0xa4)?,
                ServicePart::SessionEvent(p) => p.write(out, 0xa5)?,
                ServicePart::ParticipationSummary(p) => p.write(out, 0xa6)?,
            },
            // Kept as it was read, tag and all.
            ServiceSpecificPart::Unknown { unknown } => out.extend_from_slice(unknown),
        }
        end(out, at);
        Some(())
    }
}

/// A SEQUENCE whose fields carry context tags in schema order (`req`uired
/// or `opt`ional) and end with `unknown_items`, which the canonical form
/// never has.
macro_rules! canonical_sequence {
    ($t:ident { $($tag:literal $field:ident $kind:ident),* $(,)? }) => {
        impl Canonical for $t {
            const CONSTRUCTED: bool = true;
            const UNIVERSAL: u8 = 0x30;
            fn content(bytes: &[u8]) -> Option<Self> {
                let mut c = Cursor { buf: bytes };
                // Fields are read in this order, which is the order of
                // their tags on the wire, and the value is built in the
                // return place: building it first and then wrapping it
                // copied every decoded module once more.
                $(let $field = canonical_sequence!(@$kind c $tag);)*
                if !c.buf.is_empty() {
                    return None;
                }
                Some($t {
                    $($field,)*
                    unknown_items: None,
                })
            }
            fn content_into(bytes: &[u8], out: &mut Self) -> Option<()> {
                let mut c = Cursor { buf: bytes };
                $(canonical_sequence!(@into $kind c $tag out.$field);)*
                out.unknown_items = None;
                c.buf.is_empty().then_some(())
            }
            fn write(&self, out: &mut Vec<u8>, id: u8) -> Option<()> {
                let at = begin(out, id);
                $(canonical_sequence!(@write $kind self out $field $tag);)*
                put_unknowns(out, &self.unknown_items);
                end(out, at);
                Some(())
            }
        }
    };
    (@req $c:ident $tag:literal) => { required(&mut $c, $tag)? };
    (@opt $c:ident $tag:literal) => { optional(&mut $c, $tag)? };
    (@into req $c:ident $tag:literal $out:expr) => { required_into(&mut $c, $tag, &mut $out)? };
    (@into opt $c:ident $tag:literal $out:expr) => { optional_into(&mut $c, $tag, &mut $out)? };
    (@write req $s:ident $out:ident $field:ident $tag:literal) => {
        write_field(&$s.$field, $out, $tag)?
    };
    (@write opt $s:ident $out:ident $field:ident $tag:literal) => {
        if let Some(v) = &$s.$field {
            write_field(v, $out, $tag)?;
        }
    };
}

canonical_sequence!(ServiceDetailRecord {
    0 service_header req,
    1 network_service_modules opt,
    2 service_usage_modules req,
    3 service_pricing_modules opt,
});
canonical_sequence!(ServiceHeaderModule {
    0 module_identifier req,
    1 revision_state req,
    2 sdr_type req,
    3 session_identifier opt,
    4 sequence_number opt,
    5 sdr_identifier req,
    6 producer_identity req,
    7 time_of_origin req,
    8 responsibility_trace req,
    9 action_indicator req,
    10 customer_identity opt,
    11 marketing_company opt,
});
canonical_sequence!(ResponsibilityEntry {
    0 system_identity req,
    1 timestamp req,
});
canonical_sequence!(NetworkServiceModule {
    0 module_identifier req,
    1 revision_state req,
    2 nsm_sum_correlator opt,
    3 network_usage req,
});
canonical_sequence!(NetworkUsage {
    0 network_provider req,
    1 type_of_network req,
    2 start_of_charging req,
    3 chargeable_duration req,
    4 consumed_capacity opt,
    5 sse_identifier opt,
});
canonical_sequence!(ServiceUsageModule {
    0 module_identifier req,
    1 revision_state req,
    2 service_feature_code req,
    3 revision_state_of_service req,
    4 user_identifier opt,
    5 provider_identifier req,
    6 marketing_company req,
    7 charged_participant opt,
    8 dialled_number req,
    9 access_form opt,
    10 customer_price opt,
    11 market_price opt,
    12 nsm_sum_correlator opt,
    13 sum_spm_correlator opt,
    14 service_specific req,
});
canonical_sequence!(VirtualCallCentreUsage {
    0 calling_number req,
    1 dialled_number req,
    2 service_carrier req,
    3 customer_control_code opt,
    4 events req,
});
canonical_sequence!(VccEvent {
    0 destination_number req,
    1 event_code req,
    2 queue_start opt,
    3 queue_duration opt,
    4 connect_start opt,
    5 connect_duration opt,
});
canonical_sequence!(VirtualPrivateNetworkUsage {
    0 private_number_a opt,
    1 public_number_a opt,
    2 private_number_b opt,
    3 public_number_b opt,
    4 first_destination_number opt,
    5 second_destination_number opt,
    6 third_destination_number opt,
    7 cost_distribution_code opt,
    8 extra_cdc1 opt,
    9 extra_cdc2 opt,
    10 extra_cdc3 opt,
    11 account_number opt,
    12 type_of_access req,
    13 originating_line_identity opt,
    14 terminating_line_identity opt,
    15 dialled_number req,
    16 call_type opt,
    17 follow_on_counter opt,
    18 related_identifier opt,
    19 event_trace opt,
    20 redirection_indicator opt,
    21 authorisation_code opt,
    22 company_identifier opt,
    23 authorisation_code_version2 opt,
    24 in_call_indicator opt,
    25 non_dialable_private_cli opt,
    26 non_dialable_public_cli opt,
    27 personal_phone_number opt,
    28 start_of_charging opt,
    29 chargeable_duration opt,
});
canonical_sequence!(SignalledAtmUsage {
    0 originating_number req,
    1 terminating_number req,
    2 start_of_charging req,
    3 chargeable_duration req,
    4 peak_allocated_bandwidth req,
    5 average_allocated_bandwidth req,
    6 class_of_service req,
    7 transmitted_cells req,
});
canonical_sequence!(BroadBandUsage {
    0 atm_service_identifier req,
    1 start_of_charging req,
    2 chargeable_duration req,
    3 session_identifier req,
    4 type_of_event req,
    5 event_parameters req,
    6 octets_transferred opt,
});
canonical_sequence!(FunctionUsage {
    0 function req,
    1 quantity req,
    2 unit req,
    3 size opt,
    4 start_time req,
    5 duration opt,
});
canonical_sequence!(SessionEvent {
    0 session_id req,
    1 service req,
    2 category req,
    3 event_type req,
    4 provider_event_name opt,
    5 timestamp req,
    6 participant_id req,
    7 user_name req,
    8 billed_party req,
    9 role opt,
    10 parameters opt,
});
canonical_sequence!(ParticipationSummary {
    0 session_id req,
    1 service req,
    2 participant_id req,
    3 role req,
    4 billed_party req,
    5 first_join req,
    6 last_leave req,
    7 active_seconds req,
    8 events_counted req,
});
canonical_sequence!(Parameter {
    0 name req,
    1 value req,
});
canonical_sequence!(ServicePricingModule {
    0 module_identifier req,
    1 revision_state req,
    2 sum_spm_correlator opt,
    3 service_pricing_identifier opt,
    4 time_of_pricing req,
    5 currency req,
    6 vat_level req,
    7 prices req,
});
canonical_sequence!(PriceItem {
    0 price_type req,
    1 basic_price req,
    2 individual_price opt,
    3 price_table_identifier req,
    4 price_table_revision req,
    5 bill_information opt,
    6 status_indicator req,
});
/// Every price item writes two amounts: written in one piece, as the
/// sequence macro would write them (short lengths throughout: at most
/// 2 + 8 + 3 content octets).
impl Canonical for Amount {
    const CONSTRUCTED: bool = true;
    const UNIVERSAL: u8 = 0x30;
    fn content(bytes: &[u8]) -> Option<Self> {
        let mut c = Cursor { buf: bytes };
        let units = required(&mut c, 0)?;
        let decimal_places = required(&mut c, 1)?;
        if !c.buf.is_empty() {
            return None;
        }
        Some(Amount {
            units,
            decimal_places,
            unknown_items: None,
        })
    }
    fn write(&self, out: &mut Vec<u8>, id: u8) -> Option<()> {
        // rasn refuses more than 28 decimal places (u8's `write`).
        if self.decimal_places > 28 {
            return None;
        }
        if self.unknown_items.is_some() {
            let at = begin(out, id);
            put_integer(out, context::<i64>(0), self.units);
            put_integer(out, context::<u8>(1), i64::from(self.decimal_places));
            put_unknowns(out, &self.unknown_items);
            end(out, at);
            return Some(());
        }
        // id, length, [0] units (2 + n octets), [1] decimals (3 octets,
        // 0..=28 is one octet).
        let (n, word) = integer_word(self.units);
        out.reserve(16);
        let len = out.len();
        // SAFETY: reserve(16) leaves room for every store below: the word
        // ends at offset 12, the decimals at 4 + n + 3 <= 15; the length
        // grows by exactly the 4 + n + 3 bytes written.
        unsafe {
            let p = out.as_mut_ptr().add(len);
            p.write(id);
            p.add(1).write((2 + n + 3) as u8);
            p.add(2).write(context::<i64>(0));
            p.add(3).write(n as u8);
            std::ptr::write_unaligned(p.add(4).cast::<[u8; 8]>(), word);
            let q = p.add(4 + n);
            q.write(context::<u8>(1));
            q.add(1).write(1);
            q.add(2).write(self.decimal_places);
            out.set_len(len + 4 + n + 3);
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            let ours = encode_pricing_module(&spm, &mut got);
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
