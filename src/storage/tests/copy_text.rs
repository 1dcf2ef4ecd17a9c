//! COPY text of values: timestamps against chrono's general format, escapes, integers.

use chrono::{DateTime, TimeZone, Utc};

use super::CopyText;

fn text(t: DateTime<Utc>) -> String {
    let mut line = String::new();
    t.copy_text(&mut line);
    line
}

#[test]
fn timestamps_are_written_like_the_general_format() {
    let instants = [
        Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 29, 23, 59, 59).unwrap()
            + chrono::Duration::microseconds(123_456),
        Utc.with_ymd_and_hms(2199, 12, 31, 5, 6, 7).unwrap() + chrono::Duration::nanoseconds(9),
        Utc.with_ymd_and_hms(12345, 1, 1, 0, 0, 0).unwrap(),
    ];
    for t in instants {
        assert_eq!(
            text(t),
            t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string(),
            "{t:?}"
        );
    }
    assert_eq!(text(instants[1]), "2026-11-29 23:59:59.123456+00");
}

fn field(value: impl CopyText) -> String {
    let mut line = String::new();
    value.copy_text(&mut line);
    line
}

#[test]
fn text_escapes_exactly_the_four_special_characters() {
    assert_eq!(field("plain ascii"), "plain ascii");
    assert_eq!(field(""), "");
    assert_eq!(field("a\\b\tc\nd\re"), "a\\\\b\\tc\\nd\\re");
    assert_eq!(field("\t\t"), "\\t\\t");
    assert_eq!(field("Zürich\n東京"), "Zürich\\n東京");
    assert_eq!(field(Some("x\\".to_owned())), "x\\\\");
    assert_eq!(field(None::<String>), "\\N");
}

#[test]
fn integers_and_booleans_are_written_in_decimal() {
    assert_eq!(field(i64::MIN), "-9223372036854775808");
    assert_eq!(field(i64::MAX), "9223372036854775807");
    assert_eq!(field(0i32), "0");
    assert_eq!(field(-7i16), "-7");
    assert_eq!(field(true), "true");
    assert_eq!(field(false), "false");
}
