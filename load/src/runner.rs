//! Driving calls at a fixed concurrency (closed loop) or a fixed arrival rate (open loop).
//!
//! In the open loop a call's latency is measured from the instant it was due, not from when it
//! was sent, so a server that falls behind shows it as latency rather than as fewer requests
//! (no coordinated omission).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};

use super::stats::Samples;

/// How calls are issued.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// `concurrency` callers, each sending its next call when the previous one returns, until
    /// `calls` calls have started (or the duration ends).
    Closed { concurrency: usize, calls: u64 },
    /// One call every `1/rate` seconds whatever the answers, at most `max_in_flight` at once
    /// (beyond that a due call is counted as the error `client_overloaded`).
    Open { rate: f64, max_in_flight: usize },
}

impl Pace {
    /// The pace as JSON fields.
    pub fn json(&self) -> Value {
        match self {
            Pace::Closed { concurrency, .. } => {
                json!({"mode": "closed", "concurrency": concurrency})
            }
            Pace::Open {
                rate,
                max_in_flight,
            } => json!({"mode": "open", "rate": rate, "max_in_flight": max_in_flight}),
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Outcome {
    /// Latencies and errors.
    pub samples: Samples,
    /// From the first call to the last answer.
    pub elapsed: Duration,
}

impl Outcome {
    /// Completed calls per second.
    pub fn per_second(&self) -> f64 {
        self.samples.completed() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Calls `call(n)` for n = 0, 1, 2, … at `pace` for `duration`; a call taking longer than
/// `timeout` counts as the error `timeout`. After `duration` no new call starts and the ones in
/// flight are awaited.
pub async fn run<F, Fut>(pace: Pace, duration: Duration, timeout: Duration, call: F) -> Outcome
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let call = Arc::new(call);
    let started = Instant::now();
    let deadline = started + duration;
    let samples = match pace {
        Pace::Closed { concurrency, calls } => {
            closed(concurrency.max(1), calls, deadline, timeout, call).await
        }
        Pace::Open {
            rate,
            max_in_flight,
        } => open(rate, max_in_flight.max(1), deadline, timeout, call).await,
    };
    Outcome {
        samples,
        elapsed: started.elapsed(),
    }
}

async fn timed<Fut>(samples: &mut Samples, due: Instant, timeout: Duration, call: Fut)
where
    Fut: Future<Output = Result<(), String>>,
{
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(())) => samples.ok(due.elapsed()),
        Ok(Err(kind)) => samples.error(kind),
        Err(_) => samples.error("timeout"),
    }
}

async fn closed<F, Fut>(
    concurrency: usize,
    calls: u64,
    deadline: Instant,
    timeout: Duration,
    call: Arc<F>,
) -> Samples
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let next = Arc::new(AtomicU64::new(0));
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (call, next) = (call.clone(), next.clone());
        callers.spawn(async move {
            let mut samples = Samples::default();
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= calls {
                    break;
                }
                timed(&mut samples, Instant::now(), timeout, call(n)).await;
            }
            samples
        });
    }
    collect(callers).await
}

async fn open<F, Fut>(
    rate: f64,
    max_in_flight: usize,
    deadline: Instant,
    timeout: Duration,
    call: Arc<F>,
) -> Samples
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let in_flight = Arc::new(Semaphore::new(max_in_flight));
    let shared = Arc::new(Mutex::new(Samples::default()));
    let mut calls = tokio::task::JoinSet::new();
    let start = Instant::now();
    let mut n: u64 = 0;
    loop {
        let due = start + interval.mul_f64(n as f64);
        if due >= deadline {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        match in_flight.clone().try_acquire_owned() {
            Ok(permit) => {
                let (call, shared) = (call.clone(), shared.clone());
                calls.spawn(async move {
                    let mut samples = Samples::default();
                    samples.send_lag(due.elapsed());
                    timed(&mut samples, due, timeout, call(n)).await;
                    shared.lock().await.merge(samples);
                    drop(permit);
                });
            }
            Err(_) => shared.lock().await.error("client_overloaded"),
        }
        // Reap finished calls as we go so the set stays small.
        while calls.try_join_next().is_some() {}
        n += 1;
    }
    while calls.join_next().await.is_some() {}
    std::mem::take(&mut *shared.lock().await)
}

async fn collect(mut callers: tokio::task::JoinSet<Samples>) -> Samples {
    let mut samples = Samples::default();
    while let Some(result) = callers.join_next().await {
        match result {
            Ok(part) => samples.merge(part),
            Err(_) => samples.error("caller_panicked"),
        }
    }
    samples
}

#[cfg(test)]
#[path = "tests/runner.rs"]
mod tests;
