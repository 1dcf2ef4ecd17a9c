//! Unit tests of `convert`.

use super::*;

#[test]
fn timestamps_round_trip_at_microsecond_precision() {
    let proto = prost_types::Timestamp {
        seconds: 1_767_225_600,
        nanos: 123_456_789,
    };
    let t = timestamp_from_proto(&proto).unwrap();
    assert_eq!(
        timestamp_to_proto(t),
        prost_types::Timestamp {
            seconds: 1_767_225_600,
            nanos: 123_456_000
        }
    );
}

#[test]
fn timestamps_outside_the_range_are_rejected() {
    let at = |seconds, nanos| timestamp_from_proto(&prost_types::Timestamp { seconds, nanos });
    assert!(at(-1, 0).is_err());
    assert!(at(0, 0).is_ok());
    assert!(at(END_TIMESTAMP_SECONDS - 1, 999_999_999).is_ok());
    assert!(at(END_TIMESTAMP_SECONDS, 0).is_err());
    assert!(at(10, -1).is_err());
    assert!(at(10, 1_000_000_000).is_err());
}
