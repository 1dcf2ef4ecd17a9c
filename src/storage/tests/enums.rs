//! Unit tests of `enums`.

use super::*;

fn round_trips<T: SqlText + PartialEq + std::fmt::Debug>() {
    for (variant, text) in T::VARIANTS {
        assert_eq!(variant.sql(), *text);
        assert_eq!(T::parse(text).unwrap(), *variant);
    }
    assert!(matches!(T::parse("nope"), Err(StorageError::Corrupt(_))));
}

#[test]
fn every_enum_round_trips_and_rejects_unknown_text() {
    round_trips::<DealStatus>();
    round_trips::<DealType>();
    round_trips::<OrderKind>();
    round_trips::<RenewalOutcome>();
    round_trips::<ActivityType>();
    round_trips::<ActivityDirection>();
    round_trips::<SurveyType>();
    round_trips::<ScoreDirection>();
    round_trips::<CostCategory>();
    round_trips::<EngagementType>();
    round_trips::<UserRole>();
    round_trips::<UserEventKind>();
}
