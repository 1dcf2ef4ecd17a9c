//! COPY text of timestamps against chrono's general format.

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
