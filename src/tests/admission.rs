//! Unit tests of `admission`: slots, the queue's order, head drop and the wait backstop (in
//! paused time, so no test depends on the machine's speed).

use std::time::Duration;

use tokio::task::JoinHandle;

use super::*;

const LONG: Duration = Duration::from_secs(3600);

/// Starts `admit` in a task and lets it reach the queue.
async fn queued(gate: &AdmissionGate) -> JoinHandle<Result<Admitted, AtCapacity>> {
    let gate = gate.clone();
    let call = tokio::spawn(async move { gate.admit().await });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    call
}

#[tokio::test]
async fn without_a_queue_the_call_past_capacity_is_refused_at_once() {
    let gate = AdmissionGate::new(2, 0, LONG).unwrap();
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
    let gate = AdmissionGate::new(1, 0, LONG).unwrap();
    let _held = gate.clone().admit().await.unwrap();
    assert!(gate.admit().await.is_err());
}

#[tokio::test(start_paused = true)]
async fn below_overflow_waiters_get_freed_slots_first_come_first_served() {
    let gate = AdmissionGate::new(1, 3, LONG).unwrap();
    let running = gate.admit().await.unwrap();
    let first = queued(&gate).await;
    let second = queued(&gate).await;
    // The slot passes straight to the oldest waiter, and stays taken.
    drop(running);
    let first = first.await.unwrap().unwrap();
    assert!(!second.is_finished());
    assert_eq!(gate.in_flight(), 1);
    drop(first);
    let second = second.await.unwrap().unwrap();
    drop(second);
    assert_eq!(gate.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refuses_its_oldest_waiter_and_then_serves_the_newest_first() {
    let gate = AdmissionGate::new(1, 2, LONG).unwrap();
    let running = gate.admit().await.unwrap();
    let oldest = queued(&gate).await;
    let middle = queued(&gate).await;
    // The queue holds two: a third arrival pushes the oldest out at once.
    let newest = queued(&gate).await;
    let refused = oldest.await.unwrap().unwrap_err();
    assert_eq!(refused.in_flight, 1);
    // Just after an overflow the freed slot goes to the newest waiter.
    drop(running);
    let admitted = newest.await.unwrap().unwrap();
    assert!(!middle.is_finished());
    drop(admitted);
    assert!(middle.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn long_after_an_overflow_the_queue_is_first_come_first_served_again() {
    let gate = AdmissionGate::new(1, 2, LONG).unwrap();
    let running = gate.admit().await.unwrap();
    let pushed_out = queued(&gate).await;
    let older = queued(&gate).await;
    let newer = queued(&gate).await;
    assert!(pushed_out.await.unwrap().is_err());
    tokio::time::advance(OVERLOAD_MEMORY * 2).await;
    drop(running);
    let admitted = older.await.unwrap().unwrap();
    assert!(!newer.is_finished());
    drop(admitted);
    assert!(newer.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn while_overloaded_only_the_overload_capacity_runs() {
    let gate = AdmissionGate::with_overload_capacity(3, 1, 1, LONG).unwrap();
    let running = [
        gate.admit().await.unwrap(),
        gate.admit().await.unwrap(),
        gate.admit().await.unwrap(),
    ];
    let pushed_out = queued(&gate).await;
    let waiting = queued(&gate).await;
    assert!(pushed_out.await.unwrap().is_err());
    // Overloaded: the first two slots freed are not handed on, the third is.
    let [first, second, third] = running;
    drop(first);
    drop(second);
    assert_eq!(gate.in_flight(), 1);
    assert!(!waiting.is_finished());
    drop(third);
    let admitted = waiting.await.unwrap().unwrap();
    assert_eq!(gate.in_flight(), 1);
    // A new call finds the overload capacity taken and waits, though a slot of the normal
    // capacity is free.
    let next = queued(&gate).await;
    assert!(!next.is_finished());
    // Once the overload is over, the next arrival admits the waiter before itself.
    tokio::time::advance(OVERLOAD_MEMORY * 2).await;
    let newcomer = gate.admit().await.unwrap();
    let next = next.await.unwrap().unwrap();
    assert_eq!(gate.in_flight(), 3);
    drop((admitted, newcomer, next));
    assert_eq!(gate.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_waiter_is_refused_when_nothing_frees_up_within_the_wait() {
    let gate = AdmissionGate::new(1, 4, Duration::from_millis(50)).unwrap();
    let running = gate.admit().await.unwrap();
    let started = tokio::time::Instant::now();
    let refused = gate.admit().await.unwrap_err();
    assert_eq!(refused.in_flight, 1);
    // The call waited (in paused time) for the whole wait before giving up.
    assert!(started.elapsed() >= Duration::from_millis(50));
    // The waiter that gave up does not take the slot freed later.
    drop(running);
    assert_eq!(gate.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_waiter_passes_on_the_slot_it_was_handed() {
    let gate = AdmissionGate::new(1, 4, LONG).unwrap();
    let running = gate.admit().await.unwrap();
    let cancelled = queued(&gate).await;
    let next = queued(&gate).await;
    // The slot is handed to the first waiter, whose caller is gone before it looks.
    drop(running);
    cancelled.abort();
    assert!(cancelled.await.unwrap_err().is_cancelled());
    let admitted = next.await.unwrap().unwrap();
    assert_eq!(gate.in_flight(), 1);
    drop(admitted);
    assert_eq!(gate.in_flight(), 0);
}

#[test]
fn the_capacity_is_at_least_one() {
    assert!(AdmissionGate::new(0, 1, LONG).is_err());
    assert_eq!(AdmissionGate::new(3, 0, LONG).unwrap().capacity(), 3);
    assert!(default_max_concurrent_computations() >= 2);
    assert!(default_max_queued_computations() >= 16);
}
