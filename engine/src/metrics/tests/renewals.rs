//! Unit tests of the `renewals` family: hand-computed vectors, window edges, as_of, series,
//! groups, and the merge property.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::calendar::Granularity;
use crate::dataset::KindRead;
use crate::dimension::Dimension;
use crate::eval::Period;
use crate::metrics::test_support::*;
use crate::query::MetricQuery;
use crate::records::{Cost, Record, RecordKind, Subscription};
use crate::value::{MoneyValue, UndefinedReason, Value};

const RENEWAL: &str = "renewal_rate";
const RETENTION_COST: &str = "customer_retention_cost";

fn money(result: &MetricResult) -> (i64, Option<i64>, Option<f64>) {
    match &result.value {
        Ok(Value::Money(MoneyValue {
            amount,
            numerator,
            denominator,
        })) => (
            amount.minor_units,
            numerator.map(|m| m.minor_units),
            *denominator,
        ),
        other => panic!("not money: {other:?}"),
    }
}

fn count(result: &MetricResult, name: &str) -> u64 {
    match result.components.iter().find(|c| c.name == name) {
        Some(Component {
            value: crate::value::ComponentValue::Count(n),
            ..
        }) => *n,
        other => panic!("no count {name}: {other:?}"),
    }
}

fn total(id: &str, records: Vec<Record>) -> MetricResult {
    run(records, &request(MetricQuery::new(id), march())).total
}

/// A subscription started in January whose renewal is due at `due` with `outcome`.
fn renewal(id: &str, due: Option<Timestamp>, outcome: Option<RenewalOutcome>) -> Record {
    Record::Subscription(Subscription {
        meta: meta(id),
        customer_id: format!("c-{id}").into(),
        mrr: usd(10_000),
        start_time: at(1, 1, 0),
        end_time: None,
        trial: false,
        renewal_due_time: due,
        renewal_outcome: outcome,
    })
}

/// A cost of `category` incurred at `t` (USD minor units).
fn cost(id: &str, category: CostCategory, t: Timestamp, amount: i64) -> Record {
    Record::Cost(Cost {
        meta: meta(id),
        category,
        channel: None,
        amount: usd(amount),
        incurred_time: t,
    })
}

fn with_channel(mut record: Record, channel: &str) -> Record {
    match &mut record {
        Record::Cost(c) => c.channel = Some(channel.into()),
        Record::Customer(c) => c.acquisition_channel = Some(channel.into()),
        _ => {}
    }
    record
}

use RenewalOutcome::{NotRenewed, Pending, Renewed};

#[test]
fn renewal_rate_counts_decided_renewals() {
    // Due in March: r1..r3 RENEWED (r1 exactly at P.start), n1 NOT_RENEWED, p1 PENDING, p2 with
    // no outcome. Outside: due at P.end, due in February, never due. → 3 / (3 + 1), pending 2.
    let records = vec![
        renewal("r1", Some(ymd(2026, 3, 1)), Some(Renewed)),
        renewal("r2", Some(at(3, 10, 0)), Some(Renewed)),
        renewal("r3", Some(at(3, 31, 23)), Some(Renewed)),
        renewal("n1", Some(at(3, 15, 0)), Some(NotRenewed)),
        renewal("p1", Some(at(3, 16, 0)), Some(Pending)),
        renewal("p2", Some(at(3, 17, 0)), None),
        renewal("x1", Some(ymd(2026, 4, 1)), Some(NotRenewed)),
        renewal("x2", Some(at(2, 27, 0)), Some(NotRenewed)),
        renewal("x3", None, Some(NotRenewed)),
    ];
    let result = total(RENEWAL, records);
    assert_eq!(ratio(&result), (3.0, 4.0));
    assert_eq!(count(&result, "pending"), 2);
    assert_eq!(count(&result, "not_renewed"), 1);
}

#[test]
fn renewal_due_after_as_of_is_pending() {
    // as_of March 20: r2 (due March 25, stored RENEWED) has not come due → pending; r1 (due
    // March 10) renewed, n1 (due March 20 00:00, = as_of) not renewed → 1/2, pending 1.
    let records = vec![
        renewal("r1", Some(at(3, 10, 0)), Some(Renewed)),
        renewal("r2", Some(at(3, 25, 0)), Some(Renewed)),
        renewal("n1", Some(at(3, 20, 0)), Some(NotRenewed)),
    ];
    let mut req = request(MetricQuery::new(RENEWAL), march());
    req.as_of = at(3, 20, 0);
    let result = run(records.clone(), &req).total;
    assert_eq!(ratio(&result), (1.0, 2.0));
    assert_eq!(count(&result, "due_after_as_of"), 1);
    assert_eq!(count(&result, "pending"), 1);
    // Without as_of: 2/3.
    assert_eq!(ratio(&total(RENEWAL, records)), (2.0, 3.0));
}

#[test]
fn renewal_rate_undefined_without_decided_renewals() {
    let pending = vec![renewal("p1", Some(at(3, 16, 0)), Some(Pending))];
    for records in [Vec::new(), pending] {
        assert_eq!(
            reason(&total(RENEWAL, records)),
            UndefinedReason::ZeroDenominator
        );
    }
}

#[test]
fn renewal_rate_monthly_series() {
    // Jan: 1 renewed of 2 → 1/2; Feb: none decided (1 pending) → undefined; Mar: 2/2.
    // Q1: 3 renewed of 4 decided → 3/4.
    let records = vec![
        renewal("j1", Some(at(1, 10, 0)), Some(Renewed)),
        renewal("j2", Some(at(1, 11, 0)), Some(NotRenewed)),
        renewal("f1", Some(at(2, 11, 0)), Some(Pending)),
        renewal("m1", Some(at(3, 11, 0)), Some(Renewed)),
        renewal("m2", Some(at(3, 12, 0)), Some(Renewed)),
    ];
    let mut req = request(
        MetricQuery::new(RENEWAL),
        window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
    );
    req.granularity = Granularity::Month;
    let report = run(records, &req);
    assert_eq!(ratio(&report.series[0].result), (1.0, 2.0));
    assert_eq!(
        reason(&report.series[1].result),
        UndefinedReason::ZeroDenominator
    );
    assert_eq!(ratio(&report.series[2].result), (2.0, 2.0));
    assert_eq!(ratio(&report.total), (3.0, 4.0));
}

#[test]
fn renewal_rate_reads_subscriptions_started_before_the_span_end() {
    let plan = RenewalsDue.plan(
        &Settings::defaults(&RENEWAL_RATE.definition),
        march(),
        ymd(2100, 1, 1),
    );
    let Some(KindRead::AnyOf(bounds)) = plan.kinds.get(&RecordKind::Subscription) else {
        panic!("subscriptions not read");
    };
    assert_eq!((bounds[0].from, bounds[0].until), (None, Some(march().end)));
}

/// Retained through March: a, b, c, r (churned exactly at P.end); not retained: d (churned in
/// March), q (churned at March's last instant), g (new in March), h (churned in February).
fn retention_records() -> Vec<Record> {
    let last = ymd(2026, 4, 1) - Duration::microseconds(1);
    vec![
        customer("a", at(1, 1, 0), None),
        customer("b", at(1, 1, 0), None),
        customer("c", ymd(2026, 3, 1), None),
        customer("r", at(1, 1, 0), Some(ymd(2026, 4, 1))),
        customer("d", at(1, 1, 0), Some(at(3, 10, 0))),
        customer("q", at(1, 1, 0), Some(last)),
        customer("g", at(3, 10, 0), None),
        customer("h", at(1, 1, 0), Some(at(2, 10, 0))),
        // Retention costs in March: 3,000.00 at P.start and 2,000.00 at its last hour.
        cost("k1", CostCategory::Retention, ymd(2026, 3, 1), 300_000),
        cost("k2", CostCategory::Retention, at(3, 31, 23), 200_000),
        // Not counted: other categories, February, P.end.
        cost(
            "k3",
            CostCategory::AcquisitionMarketing,
            at(3, 5, 0),
            500_000,
        ),
        cost("k4", CostCategory::Retention, at(2, 5, 0), 700_000),
        cost("k5", CostCategory::Retention, ymd(2026, 4, 1), 900_000),
    ]
}

#[test]
fn customer_retention_cost_per_retained_customer() {
    // 5,000.00 / 4 retained = 1,250.00.
    let result = total(RETENTION_COST, retention_records());
    assert_eq!(money(&result), (125_000, Some(500_000), Some(4.0)));
    assert_eq!(count(&result, "retained_customers"), 4);
    assert_eq!(count(&result, "costs"), 2);
}

#[test]
fn customer_retention_cost_rounds_half_to_even_and_respects_as_of() {
    // as_of March 20: k2 (March 31) not incurred yet; r, q not churned yet and g exists but is
    // new; d churned March 10. Retained: a, b, c, r, q = 5 → 3,000.00 / 5 = 600.00.
    let mut req = request(MetricQuery::new(RETENTION_COST), march());
    req.as_of = at(3, 20, 0);
    let result = run(retention_records(), &req).total;
    assert_eq!(money(&result), (60_000, Some(300_000), Some(5.0)));
    // 0.10 over 4 retained customers = 2.5 minor units → 2 (half to even).
    let mut records: Vec<Record> = retention_records()
        .into_iter()
        .filter(|r| matches!(r, Record::Customer(_)))
        .collect();
    records.push(cost("k", CostCategory::Retention, at(3, 2, 0), 10));
    assert_eq!(money(&total(RETENTION_COST, records)).0, 2);
}

#[test]
fn customer_retention_cost_undefined() {
    // No retention cost → NO_DATA; costs but nobody retained → ZERO_DENOMINATOR.
    let customers_only = vec![customer("a", at(1, 1, 0), None)];
    assert_eq!(
        reason(&total(RETENTION_COST, customers_only)),
        UndefinedReason::NoData
    );
    let costs_only = vec![
        cost("k1", CostCategory::Retention, at(3, 2, 0), 100),
        customer("g", at(3, 10, 0), None),
    ];
    let result = total(RETENTION_COST, costs_only);
    assert_eq!(reason(&result), UndefinedReason::ZeroDenominator);
    assert_eq!(count(&result, "retained_customers"), 0);
    // The text names the real cause: nobody retained, not a lack of costs.
    assert_eq!(
        result.value.clone().unwrap_err().detail,
        "no retained customers (active at both the window's start and its last instant)"
    );
}

#[test]
fn customer_retention_cost_grouped_by_channel() {
    // email: 1,000.00 over a, b → 500.00; events: 600.00 over c → 600.00.
    let records = vec![
        with_channel(customer("a", at(1, 1, 0), None), "email"),
        with_channel(customer("b", at(1, 1, 0), None), "email"),
        with_channel(customer("c", at(1, 1, 0), None), "events"),
        with_channel(
            cost("k1", CostCategory::Retention, at(3, 2, 0), 100_000),
            "email",
        ),
        with_channel(
            cost("k2", CostCategory::Retention, at(3, 3, 0), 60_000),
            "events",
        ),
    ];
    let mut req = request(MetricQuery::new(RETENTION_COST), march());
    req.group_by = vec![Dimension::Channel];
    let report = run(records, &req);
    let got: Vec<(Option<String>, i64)> = report
        .groups
        .iter()
        .map(|g| (g.key[0].clone(), money(&g.total).0))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("email".to_owned()), 50_000),
            (Some("events".to_owned()), 60_000),
        ]
    );
    // Overall: 1,600.00 / 3 = 533.33.
    assert_eq!(money(&report.total).0, 53_333);
}

#[test]
fn customer_retention_cost_monthly_series() {
    // Feb: 7,000.00 over a, b, d, q, r (active Feb 1 and Feb 28's last instant; h churned) = 5
    // → 1,400.00. Mar: 5,000.00 / 4 = 1,250.00.
    let mut req = request(
        MetricQuery::new(RETENTION_COST),
        window(ymd(2026, 2, 1), ymd(2026, 4, 1)),
    );
    req.granularity = Granularity::Month;
    let report = run(retention_records(), &req);
    let got: Vec<i64> = report.series.iter().map(|p| money(&p.result).0).collect();
    assert_eq!(got, vec![140_000, 125_000]);
}

fn arb_renewal() -> impl Strategy<Value = Record> {
    (prop::option::of(arb_time()), 0usize..4, 0u32..1000).prop_map(|(due, outcome, id)| {
        let outcome = [Some(Renewed), Some(NotRenewed), Some(Pending), None][outcome];
        renewal(&format!("s{id}"), due, outcome)
    })
}

fn arb_retention_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        (arb_time(), prop::option::of(0i64..3000), 0u32..100).prop_map(|(t, churn, id)| {
            customer(&format!("c{id}"), t, churn.map(|h| t + Duration::hours(h)))
        }),
        (arb_time(), any::<bool>(), 0i64..10_000, 0u32..100).prop_map(|(t, keep, amount, id)| {
            let category = if keep {
                CostCategory::Retention
            } else {
                CostCategory::Other
            };
            cost(&format!("k{id}"), category, t, amount)
        }),
    ]
}

proptest! {
    #[test]
    fn renewal_states_merge_exactly(
        renewals in prop::collection::vec(arb_renewal(), 0..40),
        retention in prop::collection::vec(arb_retention_record(), 0..40),
        split in 0usize..40,
        rotate in 0usize..40,
        start_month in 1u32..12,
        as_of_day in 1u32..28,
    ) {
        let period = Period {
            window: window(at(start_month, 1, 0), at(start_month + 1, 1, 0)),
            as_of: at(start_month, as_of_day, 0),
            time_zone: chrono_tz::UTC,
        };
        assert_merge_property(&RENEWAL_RATE, &Settings::defaults(&RENEWAL_RATE.definition), period, &renewals, split, rotate);
        assert_merge_property(&CUSTOMER_RETENTION_COST, &Settings::defaults(&CUSTOMER_RETENTION_COST.definition), period, &retention, split, rotate);
    }
}
