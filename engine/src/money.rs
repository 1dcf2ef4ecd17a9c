//! Money: integer minor units plus an ISO 4217 currency code, with exact sums and
//! half-to-even rounding for averages.
//!
//! Amounts of different currencies are never added: [`MoneySum`] keeps one exact sum per
//! currency, and a metric that needs a single amount asks for it with [`MoneySum::single`], which
//! fails naming the currencies found.

use std::collections::BTreeMap;
use std::fmt;

/// A three-letter upper-case ISO 4217 currency code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a current or historic ISO 4217 alphabetic code (`USD`, `EUR`); made-up codes of
    /// three letters (`ZZZ`) are `None`.
    pub fn parse(code: &str) -> Option<Currency> {
        iso_currency::Currency::from_code(code)?;
        Currency::from_letters(code)
    }

    /// A code of exactly three ASCII upper-case letters, whether or not ISO 4217 lists it: for
    /// codes already accepted once (stored rows), which a newer list must not make unreadable.
    pub fn from_letters(code: &str) -> Option<Currency> {
        let bytes = code.as_bytes();
        if bytes.len() == 3 && bytes.iter().all(u8::is_ascii_uppercase) {
            Some(Currency([bytes[0], bytes[1], bytes[2]]))
        } else {
            None
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount of money in minor units (cents for USD) of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub currency: Currency,
    pub minor_units: i64,
}

impl Money {
    /// An amount in minor units.
    pub fn new(currency: Currency, minor_units: i64) -> Money {
        Money {
            currency,
            minor_units,
        }
    }
}

/// Exact sums of money, one per currency; merging adds sums of the same currency.
///
/// Nearly every sum has one currency, kept inline (no allocation); a second currency moves both
/// into the map. Either way the layout is canonical, so equal sums compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MoneySum {
    /// The sum while only one currency was added.
    single: Option<(Currency, i128)>,
    /// Every sum once two or more currencies were added (then `single` is `None`).
    by_currency: BTreeMap<Currency, i128>,
}

/// A sum that spans several currencies where one was needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixedCurrencies(pub Vec<Currency>);

impl MoneySum {
    /// The running sum of `currency`, created at 0.
    fn sum_of(&mut self, currency: Currency) -> &mut i128 {
        match self.single {
            Some((present, amount)) if present != currency => {
                self.single = None;
                self.by_currency.insert(present, amount);
            }
            None if self.by_currency.is_empty() => self.single = Some((currency, 0)),
            _ => {}
        }
        match &mut self.single {
            Some((_, amount)) => amount,
            None => self.by_currency.entry(currency).or_insert(0),
        }
    }

    /// Every currency and its sum, by currency.
    fn sums(&self) -> impl Iterator<Item = (Currency, i128)> + '_ {
        self.single
            .into_iter()
            .chain(self.by_currency.iter().map(|(c, a)| (*c, *a)))
    }

    /// Adds an amount.
    pub fn add(&mut self, money: Money) {
        *self.sum_of(money.currency) += i128::from(money.minor_units);
    }

    /// Adds an amount scaled by `numerator / denominator` later: callers that need a weighted sum
    /// add the raw product here and divide once at the end.
    pub fn add_minor(&mut self, currency: Currency, minor_units: i128) {
        *self.sum_of(currency) += minor_units;
    }

    /// Removes an amount (the inverse of [`MoneySum::add`]).
    pub fn subtract(&mut self, money: Money) {
        *self.sum_of(money.currency) -= i128::from(money.minor_units);
    }

    /// Adds every sum of `other`.
    pub fn merge(&mut self, other: &MoneySum) {
        for (currency, amount) in other.sums() {
            *self.sum_of(currency) += amount;
        }
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.single.is_none() && self.by_currency.is_empty()
    }

    /// The currencies present.
    pub fn currencies(&self) -> Vec<Currency> {
        self.sums().map(|(currency, _)| currency).collect()
    }

    /// The sum when every amount had one currency; `Ok(None)` when empty.
    pub fn single(&self) -> Result<Option<(Currency, i128)>, MixedCurrencies> {
        let mut iter = self.sums();
        match (iter.next(), iter.next()) {
            (None, _) => Ok(None),
            (Some(only), None) => Ok(Some(only)),
            _ => Err(MixedCurrencies(self.currencies())),
        }
    }
}

/// `numerator / denominator` rounded half to even; `None` when the denominator is zero or the
/// result does not fit in an i64.
pub fn divide_half_even(numerator: i128, denominator: i128) -> Option<i64> {
    if denominator == 0 {
        return None;
    }
    let (mut num, mut den) = (numerator, denominator);
    if den < 0 {
        num = -num;
        den = -den;
    }
    let quotient = num.div_euclid(den);
    let remainder = num.rem_euclid(den);
    let twice = remainder * 2;
    let rounded = if twice > den || (twice == den && quotient % 2 != 0) {
        quotient + 1
    } else {
        quotient
    };
    i64::try_from(rounded).ok()
}

#[cfg(test)]
#[path = "tests/money.rs"]
mod tests;
