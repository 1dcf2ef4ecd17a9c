//! Unit tests of `calendar`.

use super::*;
use chrono::Utc;

fn utc(y: i32, m: u32, d: u32, h: u32) -> Timestamp {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

#[test]
fn daily_buckets_across_warsaw_spring_forward_are_23_hours() {
    let tz = parse_time_zone("Europe/Warsaw").unwrap();
    // 2026-03-29 is the spring-forward day in Europe/Warsaw (02:00 CET → 03:00 CEST).
    // Local midnight of 2026-03-28 is 2026-03-27T23:00Z; of 2026-03-30 it is 2026-03-29T22:00Z.
    let window = Window::new(utc(2026, 3, 27, 23), utc(2026, 3, 29, 22)).unwrap();
    let days = buckets(window, tz, Granularity::Day, 1, 100).unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0].duration(), Duration::hours(24));
    assert_eq!(days[1].duration(), Duration::hours(23));
    assert_eq!(days[1].start, utc(2026, 3, 28, 23));
}

#[test]
fn monthly_buckets_clip_to_the_window() {
    let tz = parse_time_zone("UTC").unwrap();
    let window = Window::new(utc(2026, 1, 15, 0), utc(2026, 3, 10, 0)).unwrap();
    let months = buckets(window, tz, Granularity::Month, 1, 100).unwrap();
    assert_eq!(
        months,
        vec![
            Window::new(utc(2026, 1, 15, 0), utc(2026, 2, 1, 0)).unwrap(),
            Window::new(utc(2026, 2, 1, 0), utc(2026, 3, 1, 0)).unwrap(),
            Window::new(utc(2026, 3, 1, 0), utc(2026, 3, 10, 0)).unwrap(),
        ]
    );
}

#[test]
fn iso_weeks_start_on_monday() {
    let tz = parse_time_zone("UTC").unwrap();
    // 2026-11-18 is a Wednesday; its ISO week starts Monday 2026-11-16.
    let window = Window::new(utc(2026, 11, 18, 0), utc(2026, 11, 30, 0)).unwrap();
    let weeks = buckets(window, tz, Granularity::Week, 1, 100).unwrap();
    assert_eq!(weeks.len(), 2);
    assert_eq!(weeks[0].end, utc(2026, 11, 23, 0));
    assert_eq!(weeks[1].end, utc(2026, 11, 30, 0));
}

#[test]
fn bucket_limit_is_enforced() {
    let tz = parse_time_zone("UTC").unwrap();
    let window = Window::new(utc(2020, 1, 1, 0), utc(2026, 1, 1, 0)).unwrap();
    assert!(buckets(window, tz, Granularity::Day, 1, 100).is_none());
    assert_eq!(
        buckets(window, tz, Granularity::Year, 1, 100)
            .unwrap()
            .len(),
        6
    );
}

#[test]
fn previous_period_has_equal_calendar_length() {
    let utc_tz = parse_time_zone("UTC").unwrap();
    // A quarter before a quarter: Q2 2026 → Q1 2026 (90 days vs 91 days).
    let q2 = Window::new(utc(2026, 4, 1, 0), utc(2026, 7, 1, 0)).unwrap();
    assert_eq!(
        previous_window(q2, utc_tz),
        Window::new(utc(2026, 1, 1, 0), utc(2026, 4, 1, 0)).unwrap()
    );
    // A month before a month: March → February.
    let march = Window::new(utc(2026, 3, 1, 0), utc(2026, 4, 1, 0)).unwrap();
    assert_eq!(previous_window(march, utc_tz).start, utc(2026, 2, 1, 0));
    // Ten local days before ten local days across DST in Warsaw.
    let warsaw = parse_time_zone("Europe/Warsaw").unwrap();
    let days = Window::new(utc(2026, 4, 4, 22), utc(2026, 4, 14, 22)).unwrap();
    // 2026-03-26 local midnight is 2026-03-25T23:00Z (CET).
    assert_eq!(previous_window(days, warsaw).start, utc(2026, 3, 25, 23));
    // Any other window: the same exact duration before.
    let odd = Window::new(utc(2026, 4, 1, 5), utc(2026, 4, 1, 9)).unwrap();
    assert_eq!(previous_window(odd, utc_tz).start, utc(2026, 4, 1, 1));
}

#[test]
fn fiscal_quarters_and_years_start_in_the_fiscal_month() {
    // A fiscal year starting in April: 15 Feb 2026 – 15 Aug 2026 in UTC cuts into fiscal
    // quarters [15 Feb, 1 Apr), [1 Apr, 1 Jul), [1 Jul, 15 Aug) and fiscal years
    // [15 Feb, 1 Apr), [1 Apr, 15 Aug).
    let tz = chrono_tz::UTC;
    let day = |m: u32, d: u32| Utc.with_ymd_and_hms(2026, m, d, 0, 0, 0).unwrap();
    let window = Window {
        start: day(2, 15),
        end: day(8, 15),
    };
    let starts = |granularity, month| -> Vec<Timestamp> {
        buckets(window, tz, granularity, month, 100)
            .unwrap()
            .iter()
            .map(|b| b.start)
            .collect()
    };
    assert_eq!(
        starts(Granularity::FiscalQuarter, 4),
        vec![day(2, 15), day(4, 1), day(7, 1)]
    );
    assert_eq!(
        starts(Granularity::FiscalYear, 4),
        vec![day(2, 15), day(4, 1)]
    );
    // A fiscal year starting in November: quarters start Nov, Feb, May, Aug.
    assert_eq!(
        starts(Granularity::FiscalQuarter, 11),
        vec![day(2, 15), day(5, 1), day(8, 1)]
    );
    // Starting in January they are the calendar's quarters and years.
    assert_eq!(
        buckets(window, tz, Granularity::FiscalQuarter, 1, 100),
        buckets(window, tz, Granularity::Quarter, 1, 100)
    );
    assert_eq!(
        buckets(window, tz, Granularity::FiscalYear, 1, 100),
        buckets(window, tz, Granularity::Year, 1, 100)
    );
}
