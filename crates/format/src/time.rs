//! GeneralizedTime that keeps its UTC offset.
//!
//! rasn writes every GeneralizedTime in UTC ("Z"); the seed's date and time
//! of origin carries the producer's UTC offset, so sdrate writes the offset
//! it read ("20261122143000+0100"). Reading accepts every legal BER form
//! (minutes or seconds omitted, fractions, Z, offsets; a local time without
//! zone is taken as UTC).

use std::cell::Cell;
use std::fmt;
use std::ops::{Add, AddAssign, Deref, Sub};

use chrono::{DateTime, FixedOffset, TimeDelta};
use rasn::prelude::*;
use serde::{Deserialize, Serialize};

/// Longest text [`Timestamp::write_ber_text`] writes:
/// `YYYYMMDDHHMMSS.FFFFFFFFF+HHMM`.
const BER_TEXT_MAX: usize = 29;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub DateTime<FixedOffset>);

/// The Unix epoch in UTC: a placeholder for a time about to be read in
/// place (`canonical`), not a meaningful default.
impl Default for Timestamp {
    fn default() -> Self {
        Timestamp(DateTime::UNIX_EPOCH.fixed_offset())
    }
}

impl Timestamp {
    /// The time of pricing written into pricing modules: `at` (the
    /// `--pricing-time` given, else the clock) to whole milliseconds.
    /// GeneralizedTime allows any number of fraction digits, but asn1tools
    /// reads at most six: the clock's nanoseconds made it reject every
    /// priced record of a run without `--pricing-time`.
    pub fn for_pricing(at: Option<DateTime<FixedOffset>>) -> Timestamp {
        use chrono::SubsecRound;
        let at = at.unwrap_or_else(|| chrono::Local::now().fixed_offset());
        Timestamp(at.trunc_subsecs(3))
    }

    /// The BER text: seconds always, a fraction only when non-zero, and the
    /// offset (Z for UTC).
    pub fn ber_text(&self) -> String {
        let mut buf = [0u8; BER_TEXT_MAX];
        match self.write_ber_text(&mut buf) {
            // Only ASCII digits and signs are written.
            Some(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
            None => self.ber_text_general(),
        }
    }

    /// Calls `f` with [`Self::ber_text`], without allocating in the usual
    /// case.
    pub(crate) fn with_ber_text<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        thread_local! {
            // The last time written, and its text: every pricing module of
            // a run carries the same time of pricing.
            static LAST: Cell<Option<(Timestamp, [u8; BER_TEXT_MAX], u8)>> =
                const { Cell::new(None) };
        }
        // DateTime equality ignores the offset, which the text shows.
        if let Some((t, buf, n)) = LAST.get()
            && t.0 == self.0
            && t.0.offset() == self.0.offset()
        {
            return f(&buf[..usize::from(n)]);
        }
        let mut buf = [0u8; BER_TEXT_MAX];
        match self.write_ber_text(&mut buf) {
            Some(n) => {
                LAST.set(Some((*self, buf, n as u8)));
                f(&buf[..n])
            }
            None => f(self.ber_text_general().as_bytes()),
        }
    }

    /// RFC 3339 text, exactly as chrono's `to_rfc3339` writes it: the
    /// reports write several per session, and chrono's formatter costs
    /// more than the rest of a report row.
    pub fn rfc3339(&self) -> String {
        let mut s = String::with_capacity(25);
        self.push_rfc3339(&mut s);
        s
    }

    /// Appends [`Self::rfc3339`] to `out`.
    pub fn push_rfc3339(&self, out: &mut String) {
        use chrono::{Datelike, Timelike};
        let t = self.0.naive_local();
        let year = t.year();
        let offset = self.0.offset().local_minus_utc();
        if !(0..=9999).contains(&year) || t.nanosecond() != 0 || offset % 60 != 0 {
            out.push_str(&self.0.to_rfc3339());
            return;
        }
        let mut buf = *b"0000-00-00T00:00:00+00:00";
        fn put(buf: &mut [u8], at: usize, width: usize, mut n: u32) {
            for i in (at..at + width).rev() {
                buf[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        put(&mut buf, 0, 4, year as u32);
        put(&mut buf, 5, 2, t.month());
        put(&mut buf, 8, 2, t.day());
        put(&mut buf, 11, 2, t.hour());
        put(&mut buf, 14, 2, t.minute());
        put(&mut buf, 17, 2, t.second());
        if offset < 0 {
            buf[19] = b'-';
        }
        let minutes = offset.unsigned_abs() / 60;
        put(&mut buf, 20, 2, minutes / 60);
        put(&mut buf, 23, 2, minutes % 60);
        // Digits, signs and separators only: ASCII.
        out.push_str(std::str::from_utf8(&buf).expect("ASCII"));
    }

    /// [`Self::ber_text`] for years 0 to 9999 without leap seconds, written
    /// digit by digit into `buf`: this runs for every priced SDR, and
    /// `write!` with padded fields cost several times the rest of encoding
    /// a pricing module. Returns the length, or None for the general path.
    fn write_ber_text(&self, buf: &mut [u8; BER_TEXT_MAX]) -> Option<usize> {
        use chrono::{Datelike, Timelike};
        // The local date and time once, rather than once per field.
        let t = self.0.naive_local();
        let year = t.year();
        let nanos = t.nanosecond();
        if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
            return None;
        }
        fn put(buf: &mut [u8], at: usize, width: usize, mut n: u32) {
            for i in (at..at + width).rev() {
                buf[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        put(buf, 0, 4, year as u32);
        put(buf, 4, 2, t.month());
        put(buf, 6, 2, t.day());
        put(buf, 8, 2, t.hour());
        put(buf, 10, 2, t.minute());
        put(buf, 12, 2, t.second());
        let mut len = 14;
        if nanos != 0 {
            buf[len] = b'.';
            put(buf, len + 1, 9, nanos);
            len += 10;
            // Trailing zeros of a fraction are not allowed.
            while buf[len - 1] == b'0' {
                len -= 1;
            }
        }
        let offset = self.0.offset().local_minus_utc() / 60;
        if offset == 0 {
            buf[len] = b'Z';
            len += 1;
        } else {
            buf[len] = if offset < 0 { b'-' } else { b'+' };
            let abs = offset.unsigned_abs();
            put(buf, len + 1, 2, abs / 60);
            put(buf, len + 3, 2, abs % 60);
            len += 5;
        }
        Some(len)
    }

    /// Years beyond four digits and leap seconds, through chrono.
    fn ber_text_general(&self) -> String {
        let mut s = self.0.format("%Y%m%d%H%M%S%.f").to_string();
        if s.contains('.') {
            // Trailing zeros of a fraction are not allowed.
            while s.ends_with('0') {
                s.pop();
            }
        }
        if self.0.offset().local_minus_utc() == 0 {
            s.push('Z');
        } else {
            s.push_str(&self.0.format("%z").to_string());
        }
        s
    }
}

impl AsnType for Timestamp {
    const TAG: Tag = Tag::GENERALIZED_TIME;
}

impl Decode for Timestamp {
    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        tag: Tag,
        _constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        let codec = decoder.codec();
        let text: std::borrow::Cow<[u8]> =
            decoder.decode_octet_string(tag, &Constraints::default())?;
        if let Some(t) = parse_common_form(&text) {
            return Ok(Timestamp(t));
        }
        // Every other legal form (minutes or seconds omitted, comma
        // fractions, no zone, constructed strings) goes through rasn's
        // parser, on the contents re-framed as a primitive GeneralizedTime.
        let mut element = vec![0x18];
        crate::tlv::push_length(&mut element, text.len());
        element.extend_from_slice(&text);
        rasn::ber::decode::<GeneralizedTime>(&element)
            .map(Timestamp)
            .map_err(|e| {
                rasn::error::DecodeError::parser_fail(
                    format!(
                        "invalid GeneralizedTime `{}`: {e}",
                        String::from_utf8_lossy(&text)
                    ),
                    codec,
                )
                .into()
            })
    }
}

/// What follows the seconds of the common form: an optional `.` fraction
/// (1 to 9 digits), then `Z` or `+HHMM`/`-HHMM`, as (nanoseconds, offset
/// in minutes east).
fn fraction_and_zone(mut rest: &[u8]) -> Option<(u32, i32)> {
    fn num(d: &[u8]) -> Option<u32> {
        d.iter().try_fold(0u32, |acc, b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    }
    let mut nanos = 0u32;
    if let [b'.', tail @ ..] = rest {
        let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = num(&tail[..digits])? * 10u32.pow(9 - digits as u32);
        rest = &tail[digits..];
    }
    let offset = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), hh @ ..] if hh.len() == 4 => {
            let minutes = (num(&hh[..2])? * 60 + num(&hh[2..])?) as i32;
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    Some((nanos, offset))
}

/// The form nearly every producer writes, parsed without allocating:
/// `YYYYMMDDHHMMSS`, an optional `.` fraction, then `Z` or `+HHMM`/`-HHMM`.
/// None sends the text to the general parser.
pub(crate) fn parse_common_form(text: &[u8]) -> Option<DateTime<FixedOffset>> {
    use chrono::{NaiveDate, NaiveTime};
    /// Where a local day starts in UTC, for one date and offset: the
    /// times of a file are nearly all of one or two days and one offset,
    /// so each time is this start plus its second of the day, without
    /// chrono's general date arithmetic.
    #[derive(Clone, Copy)]
    struct Day {
        /// The date's eight characters, and the offset in minutes.
        key: u64,
        offset: i32,
        /// UTC date and second of day at local midnight, and the UTC date
        /// after it (a local day spans at most two UTC dates).
        start: NaiveDate,
        next: NaiveDate,
        start_second: u32,
        zone: FixedOffset,
    }
    thread_local! {
        static LAST_DAY: Cell<Option<Day>> = const { Cell::new(None) };
    }
    let (head, rest) = text.split_at_checked(14)?;
    let (day, clock) = head.split_at(8);
    let key = u64::from_le_bytes(day.try_into().ok()?);
    let two = |d: &[u8], i: usize| u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0');
    if !clock.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (h, m, sec) = (two(clock, 0), two(clock, 2), two(clock, 4));
    // Leap seconds and other oddities take the general path.
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let (nanos, offset) = fraction_and_zone(rest)?;
    let d = match LAST_DAY.get() {
        Some(d) if d.key == key && d.offset == offset => d,
        _ => {
            if !day.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let year = (two(day, 0) * 100 + two(day, 2)) as i32;
            let date = NaiveDate::from_ymd_opt(year, two(day, 4), two(day, 6))?;
            let zone = FixedOffset::east_opt(offset * 60)?;
            // UTC is local time minus the offset (under a day either way).
            let shift = offset * 60;
            let (start, start_second) = if shift > 0 {
                (date.pred_opt()?, (86_400 - shift) as u32)
            } else {
                (date, (-shift) as u32)
            };
            let d = Day {
                key,
                offset,
                start,
                next: start.succ_opt()?,
                start_second,
                zone,
            };
            LAST_DAY.set(Some(d));
            d
        }
    };
    let second = d.start_second + h * 3600 + m * 60 + sec;
    let (date, second) = if second >= 86_400 {
        (d.next, second - 86_400)
    } else {
        (d.start, second)
    };
    let utc = date.and_time(NaiveTime::from_num_seconds_from_midnight_opt(
        second, nanos,
    )?);
    Some(DateTime::from_naive_utc_and_offset(utc, d.zone))
}

impl Encode for Timestamp {
    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        tag: Tag,
        constraints: &Constraints,
        identifier: Identifier,
    ) -> Result<(), E::Error> {
        // A GeneralizedTime is a primitive string of its characters; the
        // usual form needs no allocation.
        self.with_ber_text(|text| encoder.encode_octet_string(tag, constraints, text, identifier))?;
        Ok(())
    }
}

impl Deref for Timestamp {
    type Target = DateTime<FixedOffset>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<DateTime<FixedOffset>> for Timestamp {
    fn from(t: DateTime<FixedOffset>) -> Self {
        Timestamp(t)
    }
}

impl Add<TimeDelta> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: TimeDelta) -> Timestamp {
        Timestamp(self.0 + d)
    }
}

impl AddAssign<TimeDelta> for Timestamp {
    fn add_assign(&mut self, d: TimeDelta) {
        self.0 += d;
    }
}

impl Sub for Timestamp {
    type Output = TimeDelta;
    fn sub(self, other: Timestamp) -> TimeDelta {
        self.0 - other.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp(DateTime::parse_from_rfc3339(s).unwrap())
    }

    #[test]
    fn hand_written_text_matches_chrono_formatting() {
        for text in [
            "2026-11-22T14:30:00+01:00",
            "2026-03-29T01:59:59.5-05:30",
            "0001-01-01T00:00:00.000000001+00:00",
            "9999-12-31T23:59:59.123456789+14:00",
            "2026-06-01T12:00:00.120-00:45",
        ] {
            let t = ts(text);
            assert_eq!(t.ber_text(), t.ber_text_general(), "{text}");
        }
    }

    /// The `write!` formatting [`Timestamp::ber_text`] replaced.
    fn formatted_text(t: &Timestamp) -> String {
        use chrono::{Datelike, Timelike};
        use std::fmt::Write;
        let t = &t.0;
        let nanos = t.nanosecond();
        let mut s = String::new();
        let _ = write!(
            s,
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        if nanos != 0 {
            let frac = format!("{nanos:09}");
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        let offset = t.offset().local_minus_utc() / 60;
        if offset == 0 {
            s.push('Z');
        } else {
            let sign = if offset < 0 { '-' } else { '+' };
            let _ = write!(s, "{sign}{:02}{:02}", offset.abs() / 60, offset.abs() % 60);
        }
        s
    }

    /// The parser [`parse_common_form`] replaced: chrono builds the local
    /// time and subtracts the offset.
    fn parse_common_form_by_chrono(text: &[u8]) -> Option<DateTime<FixedOffset>> {
        thread_local! {
            // The last date read, by its eight characters: the times of a file
            // are nearly all of one or two days.
            static LAST_DATE: Cell<(u64, Option<chrono::NaiveDate>)> = const { Cell::new((0, None)) };
        }
        let (head, rest) = text.split_at_checked(14)?;
        let (day, clock) = head.split_at(8);
        let key = u64::from_le_bytes(day.try_into().ok()?);
        let two = |d: &[u8], i: usize| u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0');
        let date = match LAST_DATE.get() {
            (k, Some(date)) if k == key => date,
            _ => {
                if !day.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let year = (two(day, 0) * 100 + two(day, 2)) as i32;
                let date = chrono::NaiveDate::from_ymd_opt(year, two(day, 4), two(day, 6))?;
                LAST_DATE.set((key, Some(date)));
                date
            }
        };
        if !clock.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let (h, m, sec) = (two(clock, 0), two(clock, 2), two(clock, 4));
        let (nanos, offset) = fraction_and_zone(rest)?;
        // Leap seconds and other oddities take the general path.
        if sec > 59 {
            return None;
        }
        let local = date.and_hms_nano_opt(h, m, sec, nanos)?;
        let zone = FixedOffset::east_opt(offset * 60)?;
        local.and_local_timezone(zone).single()
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        /// The day-start parser reads what chrono's arithmetic read, on
        /// texts around the common form (bad digits, hours, offsets, days
        /// of a month, both sides of midnight), one cached day after another.
        #[test]
        fn common_form_parser_matches_chrono_arithmetic(
            texts in proptest::collection::vec(
                (
                    prop_oneof![Just(2026u32), 0u32..10000],
                    prop_oneof![Just(11u32), 0u32..14],
                    prop_oneof![Just(22u32), 0u32..33],
                    prop_oneof![0u32..24, 0u32..100],
                    0u32..61,
                    0u32..61,
                    prop_oneof![Just(String::new()), Just(".5".to_string()), (0u32..1_000_000_000).prop_map(|n| format!(".{n:09}")), Just(".".to_string())],
                    prop_oneof![Just("Z".to_string()), Just("+0100".to_string()), Just("-0530".to_string()), (0u32..100, 0u32..100, any::<bool>()).prop_map(|(h, m, neg)| format!("{}{h:02}{m:02}", if neg { '-' } else { '+' })), Just("+01".to_string()), Just("x".to_string())],
                    any::<Option<(usize, u8)>>(),
                ),
                1..6,
            ),
        ) {
            for (y, mo, d, h, mi, s, frac, zone, edit) in texts {
                let mut text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}{frac}{zone}").into_bytes();
                if let Some((at, b)) = edit {
                    let at = at % text.len();
                    text[at] = b;
                }
                prop_assert_eq!(
                    parse_common_form(&text).map(|t| (t, t.offset().local_minus_utc())),
                    parse_common_form_by_chrono(&text).map(|t| (t, t.offset().local_minus_utc())),
                    "{}", String::from_utf8_lossy(&text)
                );
            }
        }

        #[test]
        fn digit_writer_matches_formatting(
            secs in -62_000_000_000i64..253_000_000_000,
            nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000, Just(500_000_000)],
            offset in prop_oneof![Just(0i32), -86_399i32..86_400, (-14i32..15).prop_map(|h| h * 3600)],
        ) {
            let zone = FixedOffset::east_opt(offset).unwrap();
            let t = Timestamp(DateTime::from_timestamp(secs, nanos).unwrap().with_timezone(&zone));
            let mut buf = [0u8; BER_TEXT_MAX];
            let n = t.write_ber_text(&mut buf).expect("years 0 to 9999");
            prop_assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), formatted_text(&t));
            prop_assert_eq!(t.ber_text(), formatted_text(&t));
            prop_assert_eq!(t.rfc3339(), t.0.to_rfc3339());
        }
    }

    #[test]
    fn rfc3339_text_is_chronos() {
        for text in [
            "2026-11-22T14:30:00+01:00",
            "2026-11-22T14:30:00Z",
            "2026-03-29T01:59:59-05:30",
            "2026-06-01T12:00:00.120-00:45",
        ] {
            let t = ts(text);
            assert_eq!(t.rfc3339(), t.0.to_rfc3339(), "{text}");
        }
        assert_eq!(
            ts("2026-11-22T14:30:00Z").rfc3339(),
            "2026-11-22T14:30:00+00:00"
        );
    }

    #[test]
    fn text_keeps_offset_and_drops_zero_fraction() {
        assert_eq!(
            ts("2026-11-22T14:30:00+01:00").ber_text(),
            "20261122143000+0100"
        );
        assert_eq!(ts("2026-11-22T14:30:00Z").ber_text(), "20261122143000Z");
        assert_eq!(
            ts("2026-11-22T14:30:00.250-05:30").ber_text(),
            "20261122143000.25-0530"
        );
    }

    #[test]
    fn reads_every_legal_form() {
        let cases = [
            ("20261122143000+0100", "2026-11-22T14:30:00+01:00"),
            ("202611221430+0100", "2026-11-22T14:30:00+01:00"),
            ("2026112214+0100", "2026-11-22T14:00:00+01:00"),
            ("20261122143000.5Z", "2026-11-22T14:30:00.500+00:00"),
            ("20261122143000,5Z", "2026-11-22T14:30:00.500+00:00"),
            ("20261122143000", "2026-11-22T14:30:00+00:00"),
        ];
        for (text, want) in cases {
            // ResponsibilityEntry { systemIdentity "x", timestamp text }
            let mut der = vec![
                0x30,
                5 + text.len() as u8,
                0x80,
                1,
                b'x',
                0x81,
                text.len() as u8,
            ];
            der.extend_from_slice(text.as_bytes());
            let got = rasn::ber::decode::<crate::ResponsibilityEntry>(&der)
                .unwrap_or_else(|e| panic!("{text}: {e}"))
                .timestamp;
            assert_eq!(got, ts(want), "{text}");
            assert_eq!(got.offset(), ts(want).offset(), "{text}");
        }
    }
}
