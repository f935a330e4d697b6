//! Rate periods: which named period (peak, offpeak, weekend...) an instant
//! falls in, and splitting a duration at every period boundary.
//!
//! Periods are defined on the list's local wall clock (its time zone), but
//! all arithmetic is done on absolute instants (Unix seconds), so a call
//! across a daylight-saving change is charged for the seconds that really
//! passed: the skipped spring hour never happens, the repeated autumn hour
//! happens twice.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;

const DAY: i64 = 86_400;

/// Longest duration split into periods. Splitting walks every boundary, so
/// a bound keeps a corrupt duration from becoming a near-endless loop.
pub const MAX_SPLIT_SECONDS: u64 = 366 * DAY as u64;

/// Bit of a day type in [`Rule::days`]: Monday is 0 ... Sunday 6.
pub const HOLIDAY_BIT: u8 = 7;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("a duration of {0} s is longer than a period split allows ({MAX_SPLIT_SECONDS} s)")]
    TooLong(u64),
    #[error("time of use out of range")]
    OutOfRange,
}

/// One `[[period]]` entry: on these day types, from..to local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Index into [`Calendar::names`].
    pub period: usize,
    /// Bit set of day types: bits 0-6 Monday-Sunday, bit 7 holiday.
    pub days: u8,
    /// Seconds after local midnight, `from` inclusive, `to` exclusive.
    pub from: u32,
    pub to: u32,
}

/// A list's rate periods in its time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    tz: Tz,
    /// Sorted; a holiday is its own day type, not its weekday.
    holidays: Vec<NaiveDate>,
    /// In list order: the first rule that matches wins.
    rules: Vec<Rule>,
    /// Period names; index 0 is the default period (no rule matches).
    names: Vec<String>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            tz: Tz::UTC,
            holidays: Vec::new(),
            rules: Vec::new(),
            names: vec!["offpeak".into()],
        }
    }
}

impl Calendar {
    /// `names[0]` is the default period; every rule's `period` indexes
    /// `names`.
    pub fn new(tz: Tz, mut holidays: Vec<NaiveDate>, rules: Vec<Rule>, names: Vec<String>) -> Self {
        holidays.sort_unstable();
        holidays.dedup();
        debug_assert!(!names.is_empty() && rules.iter().all(|r| r.period < names.len()));
        Calendar {
            tz,
            holidays,
            rules,
            names,
        }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn has_periods(&self) -> bool {
        !self.rules.is_empty()
    }

    fn offset_at(&self, t: i64) -> Result<i64, SplitError> {
        let utc = DateTime::from_timestamp(t, 0).ok_or(SplitError::OutOfRange)?;
        Ok(i64::from(
            self.tz
                .offset_from_utc_datetime(&utc.naive_utc())
                .fix()
                .local_minus_utc(),
        ))
    }

    fn day_bit(&self, date: NaiveDate) -> u8 {
        if self.holidays.binary_search(&date).is_ok() {
            HOLIDAY_BIT
        } else {
            date.weekday().num_days_from_monday() as u8
        }
    }

    /// The period at instant `t` (Unix seconds) and the next instant after
    /// `t` at which the period may change.
    pub fn period_at(&self, t: i64) -> Result<(usize, i64), SplitError> {
        let off = self.offset_at(t)?;
        let wall = t.checked_add(off).ok_or(SplitError::OutOfRange)?;
        let date = DateTime::from_timestamp(wall, 0)
            .ok_or(SplitError::OutOfRange)?
            .date_naive();
        let sod = wall.rem_euclid(DAY) as u32;
        let bit = 1u8 << self.day_bit(date);
        let today = || self.rules.iter().filter(move |r| r.days & bit != 0);
        let period = today()
            .find(|r| r.from <= sod && sod < r.to)
            .map_or(0, |r| r.period);
        // The next wall-clock boundary today, else midnight (the day type
        // may change).
        let next_sod = today()
            .flat_map(|r| [r.from, r.to])
            .filter(|&b| b > sod)
            .min()
            .unwrap_or(DAY as u32);
        let cand = t + i64::from(next_sod - sod);
        // While the UTC offset holds, wall time advances with real time, so
        // the boundary is `cand`. If the offset changes first (DST), stop at
        // the change and look again from there: the wall clock jumped.
        if self.offset_at(cand)? == off {
            return Ok((period, cand));
        }
        // First instant in (t, cand] with another offset.
        let (mut lo, mut hi) = (t, cand);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.offset_at(mid)? == off {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok((period, hi))
    }

    /// The period a point in time (an event) falls in.
    pub fn period_of(&self, at: &DateTime<FixedOffset>) -> Result<usize, SplitError> {
        if self.rules.is_empty() {
            return Ok(0);
        }
        Ok(self.period_at(at.timestamp())?.0)
    }

    /// Splits `secs` seconds starting at `start` at every period boundary:
    /// (period, seconds) in time order, adjacent slices of one period
    /// merged. The slices always add up to `secs`.
    pub fn split(
        &self,
        start: &DateTime<FixedOffset>,
        secs: u64,
    ) -> Result<Vec<(usize, u64)>, SplitError> {
        if self.rules.is_empty() {
            return Ok(vec![(0, secs)]);
        }
        if secs > MAX_SPLIT_SECONDS {
            return Err(SplitError::TooLong(secs));
        }
        // Charging is to the second: a fraction of the start second is
        // dropped (the timestamp floors).
        let mut t = start.timestamp();
        let end = t + secs as i64;
        let mut out: Vec<(usize, u64)> = Vec::new();
        while t < end {
            let (p, next) = self.period_at(t)?;
            let e = next.min(end);
            let len = (e - t) as u64;
            match out.last_mut() {
                Some((last, n)) if *last == p => *n += len,
                _ => out.push((p, len)),
            }
            t = e;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const WEEKDAYS: u8 = 0b0001_1111;
    const WEEKEND: u8 = 0b0110_0000;

    fn hm(h: u32, m: u32) -> u32 {
        h * 3600 + m * 60
    }

    /// offpeak (default), peak Mon-Fri 08-18, weekend Sat, Sun and
    /// holidays, in Stockholm, with Christmas Eve a holiday.
    fn stockholm() -> Calendar {
        Calendar::new(
            chrono_tz::Europe::Stockholm,
            vec![NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()],
            vec![
                Rule {
                    period: 1,
                    days: WEEKDAYS,
                    from: hm(8, 0),
                    to: hm(18, 0),
                },
                Rule {
                    period: 2,
                    days: WEEKEND | 1 << HOLIDAY_BIT,
                    from: 0,
                    to: DAY as u32,
                },
            ],
            vec!["offpeak".into(), "peak".into(), "weekend".into()],
        )
    }

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn peak_to_offpeak_at_six() {
        // Wed 2026-11-18 17:58 local: 2 min peak, then 3 min offpeak.
        let c = stockholm();
        assert_eq!(
            c.split(&at("2026-11-18T17:58:00+01:00"), 300).unwrap(),
            vec![(1, 120), (0, 180)]
        );
        // The same instant written in UTC splits the same way.
        assert_eq!(
            c.split(&at("2026-11-18T16:58:00Z"), 300).unwrap(),
            vec![(1, 120), (0, 180)]
        );
    }

    #[test]
    fn across_midnight_into_the_weekend() {
        // Fri 23:59 -> Sat 00:01: 60 s offpeak, 60 s weekend.
        let c = stockholm();
        assert_eq!(
            c.split(&at("2026-11-20T23:59:00+01:00"), 120).unwrap(),
            vec![(0, 60), (2, 60)]
        );
        // Tue 23:50 -> Wed 00:10: offpeak both days, one slice.
        assert_eq!(
            c.split(&at("2026-11-17T23:50:00+01:00"), 1200).unwrap(),
            vec![(0, 1200)]
        );
    }

    #[test]
    fn a_whole_weekend() {
        // Fri 17:00 to Mon 09:00 (64 h): 1 h peak, Fri 18-24 offpeak (6 h),
        // Sat+Sun weekend (48 h), Mon 00-08 offpeak (8 h), Mon 08-09 peak.
        let c = stockholm();
        assert_eq!(
            c.split(&at("2026-11-20T17:00:00+01:00"), 64 * 3600)
                .unwrap(),
            vec![
                (1, 3600),
                (0, 6 * 3600),
                (2, 48 * 3600),
                (0, 8 * 3600),
                (1, 3600)
            ]
        );
    }

    #[test]
    fn holiday_is_its_own_day_type() {
        // Thu 2026-12-24 10:00 would be peak; it is a holiday: weekend.
        let c = stockholm();
        assert_eq!(
            c.split(&at("2026-12-24T10:00:00+01:00"), 600).unwrap(),
            vec![(2, 600)]
        );
        // Into Fri 25th 00:00, a working day here: 23:59 Thu -> 00:01.
        assert_eq!(
            c.split(&at("2026-12-24T23:59:00+01:00"), 120).unwrap(),
            vec![(2, 60), (0, 60)]
        );
        assert_eq!(c.period_of(&at("2026-12-23T10:00:00+01:00")).unwrap(), 1);
        assert_eq!(c.period_of(&at("2026-12-24T10:00:00+01:00")).unwrap(), 2);
    }

    /// Peak 01:00-02:30 and 03:00-04:00 every day: boundaries inside and
    /// next to the hours that DST skips or repeats.
    fn night_peaks() -> Calendar {
        Calendar::new(
            chrono_tz::Europe::Stockholm,
            vec![],
            vec![
                Rule {
                    period: 1,
                    days: 0x7f,
                    from: hm(1, 0),
                    to: hm(2, 30),
                },
                Rule {
                    period: 1,
                    days: 0x7f,
                    from: hm(3, 0),
                    to: hm(4, 0),
                },
            ],
            vec!["offpeak".into(), "peak".into()],
        )
    }

    #[test]
    fn spring_forward_skips_an_hour() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z). From 00:30
        // CET (23:30Z) for 3 h of real time: 00:30-01:00 offpeak (30 min),
        // 01:00-02:00 CET peak (60 min, the wall clock never shows 02:30),
        // then 03:00-04:00 CEST peak (60 min) -> one peak slice of 120 min,
        // then 04:00-04:30 offpeak (30 min).
        let c = night_peaks();
        assert_eq!(
            c.split(&at("2026-03-29T00:30:00+01:00"), 3 * 3600).unwrap(),
            vec![(0, 1800), (1, 7200), (0, 1800)]
        );
        // The whole peak of that night lasts 2 real hours, not 2.5 + 1.
        let s = stockholm();
        // Sunday: weekend all day, 23 h long. Sat 23:00 CET -> Mon 00:00
        // CEST is 1 h + 23 h = 24 h of real time, then Monday offpeak.
        assert_eq!(
            s.split(&at("2026-03-28T23:00:00+01:00"), 25 * 3600)
                .unwrap(),
            vec![(2, 24 * 3600), (0, 3600)]
        );
    }

    #[test]
    fn fall_back_repeats_an_hour() {
        // 2026-10-25: 03:00 CEST goes back to 02:00 CET (01:00Z). From
        // 02:00 CEST (00:00Z): 02:00-02:30 peak (30 min), 02:30-03:00 CEST
        // offpeak (30 min), then the wall clock shows 02:00 again: 02:00-
        // 02:30 CET peak (30 min), 02:30-03:00 offpeak (30 min), 03:00-
        // 04:00 peak (60 min).
        let c = night_peaks();
        assert_eq!(
            c.split(&at("2026-10-25T02:00:00+02:00"), 3 * 3600).unwrap(),
            vec![(1, 1800), (0, 1800), (1, 1800), (0, 1800), (1, 3600)]
        );
        // Sunday 2026-10-25 lasts 25 h: Sat 23:00 CEST -> Mon 01:00 CET is
        // 1 + 25 h weekend, then Monday offpeak.
        let s = stockholm();
        assert_eq!(
            s.split(&at("2026-10-24T23:00:00+02:00"), 27 * 3600)
                .unwrap(),
            vec![(2, 26 * 3600), (0, 3600)]
        );
    }

    #[test]
    fn no_periods_one_slice_and_limits() {
        let c = Calendar::default();
        assert_eq!(
            c.split(&at("2026-10-25T02:00:00+02:00"), 5).unwrap(),
            vec![(0, 5)]
        );
        assert_eq!(
            stockholm().split(&at("2026-10-25T02:00:00+02:00"), MAX_SPLIT_SECONDS + 1),
            Err(SplitError::TooLong(MAX_SPLIT_SECONDS + 1))
        );
        assert_eq!(
            stockholm()
                .split(&at("2026-10-25T02:00:00+02:00"), 0)
                .unwrap(),
            vec![]
        );
    }

    proptest! {
        #[test]
        fn slices_add_up_around_dst(
            // Within two days either side of each 2026 change.
            which in 0..2usize,
            offset in -2 * DAY..2 * DAY,
            secs in 0u64..3 * DAY as u64,
        ) {
            let change = [1_774_746_000i64, 1_792_890_000][which]; // 01:00Z both days
            let start = DateTime::from_timestamp(change + offset, 0).unwrap().fixed_offset();
            for c in [stockholm(), night_peaks()] {
                let slices = c.split(&start, secs).unwrap();
                prop_assert_eq!(slices.iter().map(|s| s.1).sum::<u64>(), secs);
                prop_assert!(slices.iter().all(|s| s.1 > 0));
                prop_assert!(slices.windows(2).all(|w| w[0].0 != w[1].0));
                // Each slice's period is the period at its first second.
                let mut t = start.timestamp();
                for (p, n) in &slices {
                    prop_assert_eq!(c.period_at(t).unwrap().0, *p);
                    prop_assert_eq!(c.period_at(t + *n as i64 - 1).unwrap().0, *p);
                    t += *n as i64;
                }
            }
        }
    }
}
