//! Latency samples, error counts and their summary: percentiles and the JSON every run prints as
//! its last line.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

/// What a run observed: one latency per completed call, and failures by kind.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    latencies: Vec<Duration>,
    errors: BTreeMap<String, u64>,
    /// Open loop only: how late each call was sent after its due instant (the load generator's
    /// own lateness, included in the latencies).
    send_lags: Vec<Duration>,
}

impl Samples {
    /// Records a successful call.
    pub fn ok(&mut self, latency: Duration) {
        self.latencies.push(latency);
    }

    /// Records how late a call was sent after it was due.
    pub fn send_lag(&mut self, lag: Duration) {
        self.send_lags.push(lag);
    }

    /// Records a failed call by kind (a gRPC code, `timeout`, ...).
    pub fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    /// Adds another run's samples.
    pub fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.send_lags.extend(other.send_lags);
        for (kind, count) in other.errors {
            *self.errors.entry(kind).or_default() += count;
        }
    }

    /// Successful calls.
    pub fn completed(&self) -> u64 {
        self.latencies.len() as u64
    }

    /// Failed calls.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The errors as a JSON object `{kind: count}`.
    pub fn errors_json(&self) -> Value {
        json!(self.errors)
    }

    /// p50, p90, p99 and max of the latencies, in milliseconds.
    pub fn latency_json(&self) -> Value {
        summary_ms(&self.latencies)
    }

    /// The same summary of the send lags; `None` when none were recorded (closed loop).
    pub fn send_lag_json(&self) -> Option<Value> {
        (!self.send_lags.is_empty()).then(|| summary_ms(&self.send_lags))
    }
}

/// p50, p90, p99 and max of `durations`, in milliseconds.
fn summary_ms(durations: &[Duration]) -> Value {
    let mut sorted = durations.to_vec();
    sorted.sort_unstable();
    json!({
            "p50": percentile_ms(&sorted, 0.50),
            "p90": percentile_ms(&sorted, 0.90),
            "p99": percentile_ms(&sorted, 0.99),
            "max": percentile_ms(&sorted, 1.0),
    })
}

/// The nearest-rank percentile `q` (0 < q ≤ 1) of sorted samples, in milliseconds; null when
/// there are none.
fn percentile_ms(sorted: &[Duration], q: f64) -> Value {
    if sorted.is_empty() {
        return Value::Null;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    let ms = sorted[rank - 1].as_secs_f64() * 1000.0;
    json!((ms * 1000.0).round() / 1000.0)
}

/// Prints a human line, then the machine-readable result as the last line of output.
pub fn print_report(summary: &str, report: &Value) {
    println!("{summary}");
    println!("{report}");
}

#[cfg(test)]
#[path = "tests/stats.rs"]
mod tests;
