//! Unit tests of `startup`.

use super::*;

#[test]
fn tenant_currencies_are_pairs_of_tenant_and_code() {
    let parsed =
        parse_tenant_currencies(&["acme=EUR".to_owned(), " globex = USD ".to_owned()]).unwrap();
    assert_eq!(parsed.get("acme").map(Currency::as_str), Some("EUR"));
    assert_eq!(parsed.get("globex").map(Currency::as_str), Some("USD"));
    for bad in ["acme", "acme=eur", "=EUR", "acme=EURO"] {
        assert!(parse_tenant_currencies(&[bad.to_owned()]).is_err(), "{bad}");
    }
}
