//! Unit tests of `admission`.

use super::*;

#[tokio::test]
async fn without_a_wait_the_call_past_capacity_is_refused_at_once() {
    let gate = AdmissionGate::new(2, Duration::ZERO).unwrap();
    let first = gate.admit().await.unwrap();
    let _second = gate.admit().await.unwrap();
    assert_eq!(gate.in_flight(), 2);
    let refused = gate.admit().await.unwrap_err();
    assert_eq!(
        refused,
        AtCapacity {
            in_flight: 2,
            retry_after: RETRY_AFTER
        }
    );
    assert_eq!(
        refused.to_string(),
        "the service is at capacity: 2 computations in flight; retry after ~100 ms"
    );
    // A finished computation frees its slot.
    drop(first);
    assert_eq!(gate.in_flight(), 1);
    let _third = gate.admit().await.unwrap();
    assert_eq!(gate.in_flight(), 2);
}

#[tokio::test]
async fn clones_share_the_slots() {
    let gate = AdmissionGate::new(1, Duration::ZERO).unwrap();
    let _held = gate.clone().admit().await.unwrap();
    assert!(gate.admit().await.is_err());
}

#[tokio::test(start_paused = true)]
async fn a_waiting_call_gets_a_slot_freed_within_the_wait() {
    let gate = AdmissionGate::new(1, Duration::from_millis(50)).unwrap();
    let held = gate.admit().await.unwrap();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(held);
    });
    let admitted = gate.admit().await;
    assert!(admitted.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_waiting_call_is_refused_when_nothing_frees_up_within_the_wait() {
    let gate = AdmissionGate::new(1, Duration::from_millis(50)).unwrap();
    let _held = gate.admit().await.unwrap();
    let started = tokio::time::Instant::now();
    let refused = gate.admit().await.unwrap_err();
    assert_eq!(refused.in_flight, 1);
    // The call waited (in paused time) for the whole wait before giving up.
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[test]
fn the_capacity_is_at_least_one() {
    assert!(AdmissionGate::new(0, Duration::ZERO).is_err());
    assert!(AdmissionGate::new(usize::MAX, Duration::ZERO).is_err());
    assert_eq!(AdmissionGate::new(3, Duration::ZERO).unwrap().capacity(), 3);
    assert!(default_max_concurrent_computations() >= 2);
}
