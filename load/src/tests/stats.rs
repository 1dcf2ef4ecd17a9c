//! Percentiles by nearest rank, and merging.

use std::time::Duration;

use super::*;

#[test]
fn nearest_rank_percentiles_of_one_to_a_hundred_milliseconds() {
    let mut samples = Samples::default();
    // 100 ms first, so the summary has to sort.
    for ms in (1..=100).rev() {
        samples.ok(Duration::from_millis(ms));
    }
    let latency = samples.latency_json();
    // Nearest rank: p50 is the 50th smallest of 100, p99 the 99th, max the 100th.
    assert_eq!(latency["p50"], 50.0);
    assert_eq!(latency["p90"], 90.0);
    assert_eq!(latency["p99"], 99.0);
    assert_eq!(latency["max"], 100.0);
}

#[test]
fn a_single_sample_is_every_percentile_and_none_is_null() {
    let mut samples = Samples::default();
    assert!(samples.latency_json()["p50"].is_null());
    samples.ok(Duration::from_micros(1500));
    assert_eq!(samples.latency_json()["p99"], 1.5);
}

#[test]
fn merging_adds_latencies_and_errors() {
    let mut a = Samples::default();
    a.ok(Duration::from_millis(1));
    a.error("UNAVAILABLE");
    let mut b = Samples::default();
    b.ok(Duration::from_millis(2));
    b.error("UNAVAILABLE");
    b.error("timeout");
    a.merge(b);
    assert_eq!(a.completed(), 2);
    assert_eq!(a.failed(), 3);
    assert_eq!(a.errors_json()["UNAVAILABLE"], 2);
    assert_eq!(a.errors_json()["timeout"], 1);
}
