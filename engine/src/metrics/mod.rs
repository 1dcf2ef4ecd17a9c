//! The metric catalog: one file per metric family, one registry entry per metric.
//!
//! Adding a metric is one [`Declaration`](crate::eval::Declaration) in its family's file, listed in
//! that file's `METRICS`; the catalog, `ListMetrics` and the checks over every metric follow.

use std::sync::LazyLock;

use crate::eval::Metric;

pub mod acquisition;
pub mod deals;
pub mod engagement;
pub mod funnel;
pub mod health;
pub mod leads;
pub mod lifetime_value;
pub mod pipeline;
pub mod purchases;
pub mod renewals;
pub mod retention;
pub mod revenue;
pub mod roi;
pub mod sales_performance;
pub mod subscriptions;
pub mod support;
pub mod surveys;

#[cfg(test)]
#[path = "tests/test_support.rs"]
pub(crate) mod test_support;

#[cfg(test)]
#[path = "tests/arb_records.rs"]
pub(crate) mod arb_records;

#[cfg(test)]
#[path = "tests/plans.rs"]
mod plans;

#[cfg(test)]
#[path = "tests/declarations.rs"]
mod declarations;

/// Every family's metrics, in catalog order (each family file lists its own).
static CATALOG: LazyLock<Vec<&'static dyn Metric>> = LazyLock::new(|| {
    [
        surveys::METRICS,
        retention::METRICS,
        renewals::METRICS,
        revenue::METRICS,
        purchases::METRICS,
        subscriptions::METRICS,
        acquisition::METRICS,
        lifetime_value::METRICS,
        roi::METRICS,
        deals::METRICS,
        pipeline::METRICS,
        leads::METRICS,
        funnel::METRICS,
        sales_performance::METRICS,
        support::METRICS,
        engagement::METRICS,
        health::METRICS,
    ]
    .concat()
});

/// Every metric, in catalog order.
pub fn catalog() -> &'static [&'static dyn Metric] {
    &CATALOG
}

/// The metric with `id`.
pub fn find(id: &str) -> Option<&'static dyn Metric> {
    CATALOG.iter().copied().find(|m| m.definition().id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_policies_have_valid_defaults() {
        let mut ids: Vec<&str> = catalog().iter().map(|m| m.definition().id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len());
        for metric in catalog() {
            for policy in metric.definition().policies {
                assert!(
                    policy.values.contains(&policy.default),
                    "{}",
                    metric.definition().id
                );
            }
            assert!(!metric.definition().primary.is_empty());
        }
    }
}
