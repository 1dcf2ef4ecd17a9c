//! Unit tests of `value`.

use super::*;

#[test]
fn nearest_rank_percentiles() {
    let mut set = DurationSet::default();
    for seconds in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] {
        set.add_micros(seconds * 1_000_000);
    }
    let stats = set.stats().unwrap();
    // n = 10: median rank ceil(5) = 5 → 5 s; p90 rank ceil(9) = 9 → 9 s.
    assert_eq!(stats.median_seconds, 5.0);
    assert_eq!(stats.p90_seconds, 9.0);
    assert_eq!(stats.mean_seconds, 5.5);
    assert_eq!(stats.count, 10);
    assert!(DurationSet::default().stats().is_none());
}
