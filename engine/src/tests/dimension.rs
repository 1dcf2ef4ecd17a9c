//! Unit tests of `dimension`.

use super::*;

#[test]
fn names_round_trip() {
    for name in FIXED_DIMENSIONS {
        assert_eq!(Dimension::parse(name).unwrap().name(), name);
    }
    assert_eq!(
        Dimension::parse("attr.region").unwrap().name(),
        "attr.region"
    );
    assert_eq!(
        Dimension::parse("customer.attr.plan").unwrap(),
        Dimension::CustomerAttribute("plan".into())
    );
    assert!(Dimension::parse("attr.").is_none());
    assert!(Dimension::parse("region").is_none());
}

#[test]
fn dimensions_follow_the_primary_kinds() {
    let deal = Dimension::names_for(&[RecordKind::Deal]);
    assert!(deal.contains(&"stage".to_owned()));
    assert!(!deal.contains(&"assignee_id".to_owned()));
    let cost = Dimension::names_for(&[RecordKind::Cost]);
    assert!(cost.contains(&"cost.channel".to_owned()));
    assert!(!cost.contains(&"customer.attr.<key>".to_owned()));
}
