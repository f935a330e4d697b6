//! Exact intermediate money: every amount is exact until its one rounding.
//!
//! A price list writes decimals, but pricing divides: by `unit_seconds`
//! (0.60 per 60 s for 25 s), by the number of participants sharing a rate,
//! by 100 for a discount. Done in `Decimal` at 28 digits, a division made
//! before a multiplication or a sum leaves a tail that can cross a rounding
//! boundary: 2.37 per 30 s for 25 s is exactly 1.975, but `25 / 30 * 2.37`
//! is 1.97499..., which rounds half-up to 1.97 instead of 1.98. Three
//! participations of 1 s at 0.50 per minute cost exactly 0.025 (0.03), but
//! three 28-digit thirds of 0.025 add up to 0.02499... (0.02).
//!
//! So every amount between the price list and the one rounding is an
//! [`Exact`]: a fraction of two 128-bit integers, kept reduced. Sums,
//! products, quotients and comparisons are exact or fail (overflow, a
//! technical error of the record, never a wrong amount); [`Exact::round`]
//! is the only way back to a `Decimal`, with a named strategy. The
//! fraction stays small in practice: a price of at most 6 decimals per
//! 60 s shared by up to 12 participants has a denominator of at most
//! 10^6 × 60 × 27720, and numerators of real usage stay far below 2^127.
//!
//! Why not `Decimal` with "divide last": it is enough for one charge, but
//! a shared rate adds quotients with different divisors (a moment with 2
//! active, one with 3), a discount multiplies a quotient, and a cost list
//! sums participations: a rational is the one representation in which all
//! of these are exact at once, with no rule to forget.

use std::cmp::Ordering;
use std::fmt;

use num_integer::Integer;
use num_rational::Ratio;
use rust_decimal::{Decimal, RoundingStrategy};

/// An exact amount: `num / den` with `den > 0`, not necessarily reduced.
///
/// Reducing by the gcd after every operation (as `Ratio` does) cost 35 %
/// more instructions per record on the generated mix: a 128-bit gcd per
/// multiplication. Here operations multiply out and reduce only when a
/// product would overflow or the denominator passes 2^62, which on real
/// tariffs is rare (0.60 × 25 s / 30 s is 1500/3000, well within range).
/// Comparisons cross-multiply, so an unreduced value compares and rounds
/// exactly like its reduced form.
#[derive(Clone, Copy)]
pub struct Exact {
    num: i128,
    den: i128,
}

impl Default for Exact {
    fn default() -> Self {
        Exact::ZERO
    }
}

/// 10^0 to 10^38, the powers an i128 holds.
const POW10: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut i = 1;
    while i < t.len() {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// 10^n for n <= 38, from a table: every decimal read and every rounding
/// asks for one, and `checked_pow` squares its way there in checked
/// 128-bit steps.
fn pow10(n: u32) -> Option<i128> {
    POW10.get(n as usize).copied()
}

/// `a * b`, or None when it overflows. Nearly every operand fits in 64
/// bits, and a product of two such cannot overflow 128: one widening
/// multiply then, instead of the 128-bit overflow check, which is about 60
/// instructions inlined at each use (exact money's multiplications were 3 %
/// of a one-thread run on the generated mix, callgrind). The same product
/// either way: only the check is skipped where it cannot fail.
#[inline]
fn mul(a: i128, b: i128) -> Option<i128> {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) => Some(i128::from(a) * i128::from(b)),
        _ => a.checked_mul(b),
    }
}

/// Denominators beyond this are reduced after an operation.
const REDUCE_ABOVE: i128 = 1 << 62;

impl Exact {
    pub const ZERO: Exact = Exact { num: 0, den: 1 };
    pub const ONE: Exact = Exact { num: 1, den: 1 };

    /// The exact value of a decimal (always representable: a mantissa of
    /// 96 bits over at most 10^28).
    pub fn from_decimal(d: Decimal) -> Exact {
        Exact {
            num: d.mantissa(),
            den: pow10(d.scale()).expect("a Decimal's scale is at most 28"),
        }
    }

    pub fn from_int(n: u64) -> Exact {
        Exact {
            num: i128::from(n),
            den: 1,
        }
    }

    /// `num / den`; None when `den` is zero.
    pub fn ratio(num: u64, den: u64) -> Option<Exact> {
        (den != 0).then(|| Exact {
            num: i128::from(num),
            den: i128::from(den),
        })
    }

    /// The same value in lowest terms.
    fn reduced(self) -> Exact {
        let g = self.num.gcd(&self.den);
        if g <= 1 {
            return self;
        }
        Exact {
            num: self.num / g,
            den: self.den / g,
        }
    }

    /// Keeps denominators small enough for the next operation.
    fn tidy(self) -> Exact {
        if self.den > REDUCE_ABOVE {
            self.reduced()
        } else {
            self
        }
    }

    /// Runs `op` on the operands as they are, and once more in lowest
    /// terms when that overflows.
    fn either(self, o: Exact, op: impl Fn(Exact, Exact) -> Option<Exact>) -> Option<Exact> {
        op(self, o)
            .or_else(|| op(self.reduced(), o.reduced()))
            .map(Exact::tidy)
    }

    pub fn is_zero(&self) -> bool {
        self.num == 0
    }

    pub fn checked_add(self, o: Exact) -> Option<Exact> {
        self.either(o, |a, b| {
            if a.den == b.den {
                return Some(Exact {
                    num: a.num.checked_add(b.num)?,
                    den: a.den,
                });
            }
            Some(Exact {
                num: mul(a.num, b.den)?.checked_add(mul(b.num, a.den)?)?,
                den: mul(a.den, b.den)?,
            })
        })
    }

    pub fn checked_sub(self, o: Exact) -> Option<Exact> {
        self.checked_add(Exact {
            num: o.num.checked_neg()?,
            den: o.den,
        })
    }

    pub fn checked_mul(self, o: Exact) -> Option<Exact> {
        self.either(o, |a, b| {
            Some(Exact {
                num: mul(a.num, b.num)?,
                den: mul(a.den, b.den)?,
            })
        })
    }

    /// None on overflow or division by zero.
    pub fn checked_div(self, o: Exact) -> Option<Exact> {
        if o.is_zero() {
            return None;
        }
        // Keep the denominator positive.
        let (num, den) = if o.num < 0 {
            (o.den.checked_neg()?, o.num.checked_neg()?)
        } else {
            (o.den, o.num)
        };
        self.checked_mul(Exact { num, den })
    }

    pub fn mul_decimal(self, d: Decimal) -> Option<Exact> {
        self.checked_mul(Exact::from_decimal(d))
    }

    pub fn mul_int(self, n: u64) -> Option<Exact> {
        self.checked_mul(Exact::from_int(n))
    }

    /// None on overflow or when `n` is zero.
    pub fn div_int(self, n: u64) -> Option<Exact> {
        if n == 0 {
            return None;
        }
        self.checked_mul(Exact {
            num: 1,
            den: i128::from(n),
        })
    }

    /// `self × (100 − percent) / 100`: what is left after a discount.
    pub fn less_percent(self, percent: Decimal) -> Option<Exact> {
        let keep = Exact::from_int(100).checked_sub(Exact::from_decimal(percent))?;
        self.checked_mul(keep)?.div_int(100)
    }

    /// `self × (100 + percent) / 100`: a markup.
    pub fn plus_percent(self, percent: Decimal) -> Option<Exact> {
        let grow = Exact::from_int(100).checked_add(Exact::from_decimal(percent))?;
        self.checked_mul(grow)?.div_int(100)
    }

    /// Whether the integer part fits a `Decimal` (96 bits): larger amounts
    /// are an overflow of the record, as `Decimal` arithmetic would be.
    pub fn fits_decimal(&self) -> bool {
        (self.num / self.den).unsigned_abs() < (1u128 << 96)
    }

    pub fn is_negative(&self) -> bool {
        self.num < 0
    }

    pub fn min(self, o: Exact) -> Exact {
        if o < self { o } else { self }
    }

    pub fn max(self, o: Exact) -> Exact {
        if o > self { o } else { self }
    }

    /// Rounded to `decimals` places with `strategy`, as a decimal with
    /// exactly that scale; None when the result does not fit a `Decimal`
    /// (or `decimals` is above 28). The one place an amount is rounded.
    pub fn round(self, decimals: u32, strategy: RoundingStrategy) -> Option<Decimal> {
        if decimals > 28 {
            return None;
        }
        let p = pow10(decimals)?;
        let (num, den) = match mul(self.num, p) {
            Some(scaled) => (scaled, self.den),
            None => {
                let r = self.reduced();
                (mul(r.num, p)?, r.den)
            }
        };
        let units = round_units(num, den, strategy);
        Decimal::try_from_i128_with_scale(units, decimals).ok()
    }
}

/// `scaled / den` (den > 0) rounded to an integer with `strategy`; in 64
/// bits when both fit, as nearly every amount does.
fn round_units(scaled: i128, den: i128, strategy: RoundingStrategy) -> i128 {
    let (floor, rem) = match (i64::try_from(scaled), i64::try_from(den)) {
        (Ok(s), Ok(d)) => (i128::from(s.div_euclid(d)), i128::from(s.rem_euclid(d))),
        _ => (scaled.div_euclid(den), scaled.rem_euclid(den)),
    };
    if rem == 0 {
        return floor;
    }
    let positive = scaled > 0;
    let ceil = floor + 1;
    // Away from zero is up for a positive value, down (the floor) for a
    // negative one; toward zero the other way round.
    let away = if positive { ceil } else { floor };
    let toward = if positive { floor } else { ceil };
    let even = if floor % 2 == 0 { floor } else { ceil };
    // rem against den - rem: the distances to floor and ceiling.
    let nearest = |tie: i128| match rem.cmp(&(den - rem)) {
        Ordering::Less => floor,
        Ordering::Greater => ceil,
        Ordering::Equal => tie,
    };
    #[allow(deprecated)]
    match strategy {
        RoundingStrategy::MidpointAwayFromZero | RoundingStrategy::RoundHalfUp => nearest(away),
        RoundingStrategy::MidpointTowardZero | RoundingStrategy::RoundHalfDown => nearest(toward),
        RoundingStrategy::MidpointNearestEven | RoundingStrategy::BankersRounding => nearest(even),
        RoundingStrategy::AwayFromZero | RoundingStrategy::RoundUp => away,
        RoundingStrategy::ToZero | RoundingStrategy::RoundDown => toward,
        RoundingStrategy::ToNegativeInfinity => floor,
        RoundingStrategy::ToPositiveInfinity => ceil,
    }
}

impl Exact {
    /// The value as a decimal: exact when it has a finite expansion within
    /// 28 places, else the nearest 28-digit decimal. For showing an
    /// unrounded amount (explanations, reports of unrounded values), never
    /// for arithmetic.
    pub fn to_decimal(self) -> Option<Decimal> {
        let Exact { num, den } = self.reduced();
        // A denominator of only 2s and 5s divides some 10^k: exact.
        for k in 0..=28u32 {
            let p = pow10(k)?;
            if p % den == 0 {
                return num
                    .checked_mul(p / den)
                    .and_then(|n| Decimal::try_from_i128_with_scale(n, k).ok())
                    .or_else(|| self.approximate());
            }
        }
        self.approximate()
    }

    fn approximate(self) -> Option<Decimal> {
        let Exact { num, den } = self.reduced();
        let num = Decimal::try_from_i128_with_scale(num, 0).ok()?;
        let den = Decimal::try_from_i128_with_scale(den, 0).ok()?;
        num.checked_div(den)
    }

    /// Whether [`Exact::to_decimal`] is exact.
    pub fn is_decimal(self) -> bool {
        self.to_decimal()
            .is_some_and(|d| Exact::from_decimal(d) == self)
    }
}

impl PartialEq for Exact {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for Exact {}

impl PartialOrd for Exact {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Exact {
    /// Cross-multiplied; where that overflows, `Ratio`'s comparison, which
    /// cannot.
    fn cmp(&self, o: &Self) -> Ordering {
        if self.den == o.den {
            return self.num.cmp(&o.num);
        }
        match (mul(self.num, o.den), mul(o.num, self.den)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => Ratio::new_raw(self.num, self.den).cmp(&Ratio::new_raw(o.num, o.den)),
        }
    }
}

impl From<Decimal> for Exact {
    fn from(d: Decimal) -> Self {
        Exact::from_decimal(d)
    }
}

impl fmt::Debug for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.reduced();
        write!(f, "{}/{}", r.num, r.den)
    }
}

/// Shown as a decimal when exact, else as `≈decimal (num/den)`.
impl fmt::Display for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.reduced();
        match self.to_decimal() {
            Some(d) if Exact::from_decimal(d) == *self => write!(f, "{d}"),
            Some(d) => write!(f, "≈{d} ({}/{})", r.num, r.den),
            None => write!(f, "{}/{}", r.num, r.den),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    const ALL: [RoundingStrategy; 4] = [
        RoundingStrategy::MidpointAwayFromZero,
        RoundingStrategy::MidpointNearestEven,
        RoundingStrategy::AwayFromZero,
        RoundingStrategy::ToZero,
    ];

    #[test]
    fn division_before_multiplication_is_exact() {
        // 2.37 per 30 s for 25 s: exactly 1.975, half-up 1.98.
        let x = Exact::from_decimal(d("2.37"))
            .mul_int(25)
            .unwrap()
            .div_int(30)
            .unwrap();
        assert_eq!(x.to_decimal(), Some(d("1.975")));
        assert_eq!(
            x.round(2, RoundingStrategy::MidpointAwayFromZero),
            Some(d("1.98"))
        );
        // Divided first, the same amount: the order no longer matters.
        let y = Exact::ratio(25, 30)
            .unwrap()
            .mul_decimal(d("2.37"))
            .unwrap();
        assert_eq!(x, y);
        // Three thirds of 0.025 are 0.025: half-up 0.03.
        let third = Exact::from_decimal(d("0.025")).div_int(3).unwrap();
        let sum = third
            .checked_add(third)
            .unwrap()
            .checked_add(third)
            .unwrap();
        assert_eq!(
            sum.round(2, RoundingStrategy::MidpointAwayFromZero),
            Some(d("0.03"))
        );
    }

    #[test]
    fn rounding_modes_on_and_off_the_midpoint() {
        let half = |s: &str| Exact::from_decimal(d(s));
        let r = |x: Exact, s| x.round(2, s).unwrap().to_string();
        use RoundingStrategy as S;
        assert_eq!(r(half("1.125"), S::MidpointAwayFromZero), "1.13");
        assert_eq!(r(half("-1.125"), S::MidpointAwayFromZero), "-1.13");
        assert_eq!(r(half("1.125"), S::MidpointNearestEven), "1.12");
        assert_eq!(r(half("1.135"), S::MidpointNearestEven), "1.14");
        assert_eq!(r(half("1.1201"), S::AwayFromZero), "1.13");
        assert_eq!(r(half("-1.1299"), S::ToZero), "-1.12");
        assert_eq!(r(half("0.0049"), S::ToZero), "0.00");
        assert_eq!(r(half("7"), S::AwayFromZero), "7.00");
        // A third is never a midpoint.
        let third = Exact::ratio(1, 3).unwrap();
        assert_eq!(r(third, S::MidpointAwayFromZero), "0.33");
        assert_eq!(r(third, S::AwayFromZero), "0.34");
    }

    #[test]
    fn shown_exactly_when_finite() {
        assert_eq!(Exact::ratio(1, 8).unwrap().to_string(), "0.125");
        assert!(
            Exact::ratio(1, 3)
                .unwrap()
                .to_string()
                .starts_with("≈0.333")
        );
        assert!(!Exact::ratio(1, 3).unwrap().is_decimal());
    }

    proptest! {
        /// On decimals, rounding agrees with rust_decimal's own, in every
        /// mode (rust_decimal is exact there: no division is involved).
        #[test]
        fn rounding_a_decimal_agrees_with_rust_decimal(
            m in -10_000_000_000i64..10_000_000_000, scale in 0u32..10, dp in 0u32..6,
        ) {
            let x = Decimal::new(m, scale);
            for s in ALL {
                let mut want = x.round_dp_with_strategy(dp, s);
                want.rescale(dp);
                prop_assert_eq!(Exact::from_decimal(x).round(dp, s), Some(want));
            }
        }

        /// Sums, products and comparisons agree with `Ratio`'s, which
        /// reduces at every step, on operands on both sides of 64 bits
        /// (the widening multiply and the checked 128-bit one), in ranges
        /// where no result overflows.
        #[test]
        fn arithmetic_agrees_with_ratio_across_the_64_bit_boundary(
            a in -(1i128 << 66)..(1i128 << 66), b in 1i128..(1i128 << 30),
            c in -(1i128 << 60)..(1i128 << 60), d in 1i128..(1i128 << 30),
            shift in 0u32..8,
        ) {
            use num_traits::{CheckedAdd, CheckedMul};
            // Shifted down now and then: both sides of 2^63.
            let a = a >> shift;
            let x = Exact { num: a, den: b };
            let y = Exact { num: c, den: d };
            let (rx, ry) = (Ratio::new(a, b), Ratio::new(c, d));
            let reduced = |e: Option<Exact>| e.map(|e| {
                let r = e.reduced();
                (r.num, r.den)
            });
            let as_pair = |r: Option<Ratio<i128>>| r.map(|r| (*r.numer(), *r.denom()));
            prop_assert_eq!(reduced(x.checked_add(y)), as_pair(rx.checked_add(&ry)));
            prop_assert_eq!(reduced(x.checked_mul(y)), as_pair(rx.checked_mul(&ry)));
            prop_assert_eq!(x.cmp(&y), rx.cmp(&ry));
            for dp in [0u32, 2, 6] {
                let s = RoundingStrategy::MidpointAwayFromZero;
                let r = x.round(dp, s);
                // Rounded within half a unit of the last place, exactly.
                if let Some(r) = r {
                    let half = Ratio::new(1, 2 * pow10(dp).unwrap());
                    let diff = Ratio::new(r.mantissa(), pow10(r.scale()).unwrap()) - rx;
                    prop_assert!(diff <= half && -diff <= half);
                }
            }
        }

        /// Rounding p/q agrees with integer arithmetic done by hand:
        /// floor(p·10^dp / q) and the remainder against q / 2.
        #[test]
        fn rounding_a_fraction_agrees_with_integer_division(
            p in 0i64..1_000_000_000, q in 1i64..100_000, dp in 0u32..5,
        ) {
            let x = Exact::ratio(p as u64, q as u64).unwrap();
            let scaled = i128::from(p) * 10i128.pow(dp);
            let (fl, rem) = (scaled / i128::from(q), scaled % i128::from(q));
            let twice = 2 * rem;
            let q = i128::from(q);
            let cases = [
                (RoundingStrategy::MidpointAwayFromZero, if twice >= q { fl + 1 } else { fl }),
                (RoundingStrategy::MidpointNearestEven,
                    if twice > q || (twice == q && fl % 2 == 1) { fl + 1 } else { fl }),
                (RoundingStrategy::AwayFromZero, if rem > 0 { fl + 1 } else { fl }),
                (RoundingStrategy::ToZero, fl),
            ];
            for (s, units) in cases {
                prop_assert_eq!(x.round(dp, s), Some(Decimal::from_i128_with_scale(units, dp)));
            }
        }
    }
}
