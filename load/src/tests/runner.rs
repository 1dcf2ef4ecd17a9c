//! The runner's accounting, with calls that answer instantly or never (no timing assertions).

use std::time::Duration;

use super::*;

#[tokio::test]
async fn a_closed_loop_counts_every_answer_and_error() {
    let outcome = run(
        Pace::Closed {
            concurrency: 3,
            calls: u64::MAX,
        },
        Duration::from_millis(50),
        Duration::from_secs(5),
        |n| async move {
            tokio::task::yield_now().await;
            if n % 2 == 0 {
                Ok(())
            } else {
                Err("odd".to_owned())
            }
        },
    )
    .await;
    let (ok, failed) = (outcome.samples.completed(), outcome.samples.failed());
    assert!(ok > 0 && failed > 0);
    // Calls are numbered 0, 1, 2, … without gaps, so evens and odds differ by at most the callers.
    assert!(ok.abs_diff(failed) <= 3, "{ok} ok, {failed} failed");
}

#[tokio::test]
async fn a_closed_loop_stops_after_its_calls() {
    // An hour-long run with a limit of 25 calls ends after exactly 25, numbered 0..25.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let outcome = run(
        Pace::Closed {
            concurrency: 4,
            calls: 25,
        },
        Duration::from_secs(3600),
        Duration::from_secs(5),
        move |n| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push(n);
                Ok(())
            }
        },
    )
    .await;
    assert_eq!(outcome.samples.completed(), 25);
    let mut calls = seen.lock().unwrap().clone();
    calls.sort_unstable();
    assert_eq!(calls, (0..25).collect::<Vec<u64>>());
}

#[tokio::test]
async fn an_open_loop_issues_calls_at_the_rate_and_times_out_stuck_ones() {
    let outcome = run(
        Pace::Open {
            rate: 100.0,
            max_in_flight: 1000,
        },
        Duration::from_millis(100),
        Duration::from_millis(10),
        |_| std::future::pending::<Result<(), String>>(),
    )
    .await;
    // Due at 0, 10, …, 90 ms: exactly ten calls, and every one timed out.
    assert_eq!(outcome.samples.completed(), 0);
    assert_eq!(outcome.samples.errors_json()["timeout"], 10);
    // Each call's send lag was recorded, and a closed loop records none.
    assert!(
        outcome
            .samples
            .send_lag_json()
            .is_some_and(|lag| lag["max"].is_number())
    );
    assert!(Samples::default().send_lag_json().is_none());
}

#[tokio::test]
async fn an_open_loop_over_its_in_flight_limit_counts_the_overflow() {
    let outcome = run(
        Pace::Open {
            rate: 1000.0,
            max_in_flight: 2,
        },
        Duration::from_millis(10),
        Duration::from_millis(200),
        |_| std::future::pending::<Result<(), String>>(),
    )
    .await;
    // Ten calls are due; two get a slot and time out, the other eight find none.
    assert_eq!(outcome.samples.errors_json()["timeout"], 2);
    assert_eq!(outcome.samples.errors_json()["client_overloaded"], 8);
}
