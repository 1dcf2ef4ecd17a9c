//! Unit tests of `money`.

use super::*;

#[test]
fn currency_codes_are_three_upper_case_letters() {
    assert!(Currency::parse("USD").is_some());
    assert!(Currency::parse("usd").is_none());
    assert!(Currency::parse("US").is_none());
    assert!(Currency::parse("USDX").is_none());
}

#[test]
fn half_even_rounding() {
    assert_eq!(divide_half_even(5, 2), Some(2));
    assert_eq!(divide_half_even(7, 2), Some(4));
    assert_eq!(divide_half_even(-5, 2), Some(-2));
    assert_eq!(divide_half_even(-7, 2), Some(-4));
    assert_eq!(divide_half_even(10, 3), Some(3));
    assert_eq!(divide_half_even(11, 3), Some(4));
    assert_eq!(divide_half_even(1, 0), None);
    assert_eq!(divide_half_even(5, -2), Some(-2));
}

#[test]
fn sums_never_mix_currencies() {
    let usd = Currency::parse("USD").unwrap();
    let eur = Currency::parse("EUR").unwrap();
    let mut sum = MoneySum::default();
    sum.add(Money::new(usd, 100));
    assert_eq!(sum.single(), Ok(Some((usd, 100))));
    sum.add(Money::new(eur, 5));
    assert_eq!(sum.single(), Err(MixedCurrencies(vec![eur, usd])));
}

#[test]
fn equal_sums_compare_equal_whatever_the_order_of_currencies() {
    let usd = Currency::parse("USD").unwrap();
    let eur = Currency::parse("EUR").unwrap();
    let (mut one, mut two) = (MoneySum::default(), MoneySum::default());
    one.add(Money::new(usd, 100));
    one.add(Money::new(eur, 5));
    two.add(Money::new(eur, 2));
    two.add(Money::new(usd, 100));
    assert_ne!(one, two);
    two.add(Money::new(eur, 3));
    assert_eq!(one, two);
    let mut merged = MoneySum::default();
    merged.merge(&two);
    assert_eq!(merged, one);
    assert_eq!(merged.currencies(), vec![eur, usd]);
    let mut single = MoneySum::default();
    single.add(Money::new(usd, 7));
    single.subtract(Money::new(usd, 7));
    assert_eq!(single.single(), Ok(Some((usd, 0))));
    assert!(!single.is_empty());
}
