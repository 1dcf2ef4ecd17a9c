//! Unit tests of `currency`.

use chrono::{TimeZone, Utc};

use super::*;
use crate::records::{Meta, Order, OrderKind, Record};

fn code(c: &str) -> Currency {
    Currency::parse(c).unwrap()
}

fn rate(currency: &str, date: (i32, u32, u32), units: i64, scale: u32) -> Record {
    Record::ExchangeRate(ExchangeRate {
        meta: Meta::default(),
        currency: code(currency),
        date: NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap(),
        rate_units: units,
        rate_scale: scale,
    })
}

fn order(currency: &str, minor: i64, day: u32) -> Record {
    Record::Order(Order {
        meta: Meta::default(),
        customer_id: "c".into(),
        amount: Money::new(code(currency), minor),
        cost: None,
        ordered_time: Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap(),
        fulfilled_time: None,
        kind: OrderKind::New,
    })
}

#[test]
fn converts_with_the_latest_rate_on_or_before_the_records_date() {
    // USD is the base. EUR = 1.10 USD from 1 Mar, 1.20 USD from 10 Mar.
    // 100.00 EUR on 5 Mar → 110.00 USD; 100.00 EUR on 10 Mar → 120.00 USD; 1,000 JPY
    // (0.0067 USD from 1 Mar) → 6.70 USD (exponent 0 → 2).
    let mut dataset = Dataset::from_records([
        rate("EUR", (2026, 3, 1), 110, 2),
        rate("EUR", (2026, 3, 10), 120, 2),
        rate("JPY", (2026, 3, 1), 67, 4),
        order("EUR", 10_000, 5),
        order("EUR", 10_000, 10),
        order("JPY", 1_000, 5),
        order("USD", 1, 5),
    ]);
    convert_dataset(&mut dataset, code("USD"), Some(code("USD")), chrono_tz::UTC).unwrap();
    let amounts: Vec<i64> = dataset
        .orders
        .iter()
        .map(|o| o.amount.minor_units)
        .collect();
    assert_eq!(amounts, vec![11_000, 12_000, 670, 1]);
    assert!(
        dataset
            .orders
            .iter()
            .all(|o| o.amount.currency == code("USD"))
    );
}

#[test]
fn cross_rates_and_rounding_half_to_even() {
    // Base USD; EUR 1.25, GBP 1.50 → 1 EUR = 0.8333… GBP. 0.03 EUR → 0.025 GBP → 0.02 (even).
    let mut dataset = Dataset::from_records([
        rate("EUR", (2026, 1, 1), 125, 2),
        rate("GBP", (2026, 1, 1), 150, 2),
        order("EUR", 3, 5),
        order("EUR", 12_000, 5),
    ]);
    convert_dataset(&mut dataset, code("GBP"), Some(code("USD")), chrono_tz::UTC).unwrap();
    assert_eq!(dataset.orders[0].amount, Money::new(code("GBP"), 2));
    // 120.00 EUR × 1.25 / 1.50 = 100.00 GBP.
    assert_eq!(dataset.orders[1].amount, Money::new(code("GBP"), 10_000));
}

#[test]
fn two_currencies_without_rates_are_never_converted_one_to_one() {
    let mut dataset = Dataset::from_records([order("EUR", 100, 5)]);
    let error =
        convert_dataset(&mut dataset, code("USD"), Some(code("USD")), chrono_tz::UTC).unwrap_err();
    assert_eq!(
        error,
        EvalError::Unreachable {
            currency: "EUR".into(),
            base: Some("USD".into())
        }
    );
    // Converting from the base into a rated currency divides by its rate: 11.00 USD at
    // EUR = 1.10 USD is 10.00 EUR.
    let mut dataset =
        Dataset::from_records([rate("EUR", (2026, 3, 1), 110, 2), order("USD", 1_100, 5)]);
    convert_dataset(&mut dataset, code("EUR"), Some(code("USD")), chrono_tz::UTC).unwrap();
    assert_eq!(dataset.orders[0].amount, Money::new(code("EUR"), 1_000));
}

#[test]
fn a_missing_rate_names_currency_and_date() {
    let mut dataset =
        Dataset::from_records([rate("EUR", (2026, 3, 10), 110, 2), order("EUR", 100, 5)]);
    let error =
        convert_dataset(&mut dataset, code("USD"), Some(code("USD")), chrono_tz::UTC).unwrap_err();
    assert_eq!(
        error,
        EvalError::MissingRate {
            currency: "EUR".into(),
            date: "2026-03-05".into()
        }
    );
}

#[test]
fn a_reporting_currency_no_rate_reaches_is_never_taken_for_the_base() {
    // One EUR rate into the base USD; a report in JPY has no path (JPY has no rate and is not
    // the base), so 100.00 EUR is never reported as ¥110.
    let records = [rate("EUR", (2026, 3, 1), 110, 2), order("EUR", 10_000, 5)];
    let mut dataset = Dataset::from_records(records.clone());
    let error =
        convert_dataset(&mut dataset, code("JPY"), Some(code("USD")), chrono_tz::UTC).unwrap_err();
    assert_eq!(
        error,
        EvalError::Unreachable {
            currency: "JPY".into(),
            base: Some("USD".into())
        }
    );
    assert!(
        error
            .to_string()
            .contains("not the tenant's base currency USD")
    );
    // Without a base currency even USD is unreachable: nothing says the rates are into USD.
    let mut dataset = Dataset::from_records(records.clone());
    let error = convert_dataset(&mut dataset, code("USD"), None, chrono_tz::UTC).unwrap_err();
    assert!(
        error.to_string().contains("has no base currency"),
        "{error}"
    );
    // With the base USD, the same report in USD is 110.00.
    let mut dataset = Dataset::from_records(records);
    convert_dataset(&mut dataset, code("USD"), Some(code("USD")), chrono_tz::UTC).unwrap();
    assert_eq!(dataset.orders[0].amount, Money::new(code("USD"), 11_000));
}
