//! Retention and churn: `customer_churn_rate` and `customer_retention_rate` (METRICS.md §2).
//!
//! Both are customer-state metrics: every customer is routed to every period and `fold` classifies
//! it against the period's window (active at `P.start`, active at the last instant of P, new in P,
//! churned in P). The state is a handful of counts, so states merge exactly in any order.
//!
//! Churn base at the window's edges: the churn rate's denominator is the customers active at
//! `P.start`, except that (a) a customer acquired and churned within P counts in neither side, even
//! when acquired exactly at `P.start`, and (b) a customer churned exactly at `P.start` (acquired
//! before) is churned in P and so also counts in the base, keeping churned ⊆ base (the rate never
//! exceeds 1, and a churn at a midnight bucket boundary is counted in exactly one bucket).
//! Retention's N is "new in P and still active at its end" (E's members that were not in S), so
//! `E − N` is exactly the customers of `P.start` still there at the end. Read literally ("acquired
//! in P"), a customer acquired and lost inside P would be subtracted without ever being in E,
//! understating retention and even driving it negative; churn already counts such customers in
//! neither side, and retention follows the same rule.

use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, Settings, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{Family, FoldContext, Metric, Period, Route, State};
use crate::records::{Customer, RecordKind, Timestamp};
use crate::value::{Component, EvalError, MetricResult, UndefinedReason};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[&CustomerChurnRate, &CustomerRetentionRate];

/// Customer metrics read every customer acquired before the span ends (a customer acquired later
/// cannot be active, new or churned in any period of the span).
fn customer_plan(span: Window) -> ReadPlan {
    let mut plan = ReadPlan::default();
    plan.read_bounded(TimeBound {
        field: TimeField::CustomerAcquired,
        from: None,
        until: Some(span.end),
    });
    plan
}

fn customer_route(record: RecordRef<'_>) -> Route {
    match record {
        RecordRef::Customer(_) => Route::Everywhere,
        _ => Route::Nowhere,
    }
}

/// Whether the customer is active at `t`: acquired at or before `t` and not churned by `t`.
fn active_at(customer: &Customer, t: Timestamp) -> bool {
    customer.acquired_time <= t && customer.churned_time.is_none_or(|churned| churned > t)
}

/// The customer-state counts of one period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerCounts {
    /// Customers acquired before the window ends (none: the period has no customer data).
    known: u64,
    /// S: active at `P.start`.
    active_at_start: u64,
    /// E: active at the last instant of P.
    active_at_end: u64,
    /// Active at both `P.start` and the last instant of P.
    retained: u64,
    /// N: acquired in P.
    new: u64,
    /// Churned in P and acquired before `P.start`.
    churned: u64,
    /// Acquired and churned within P (counted in neither side of the churn rate).
    acquired_and_churned: u64,
    /// Acquired before `P.start` and churned exactly at `P.start`: churned in P, though not
    /// active at `P.start` under the strict `churned_time > t` rule.
    churned_at_start: u64,
    /// The churn rate's denominator: the customers that could churn in P.
    churn_base: u64,
}

impl State for CustomerCounts {
    fn merge(&mut self, other: &Self) {
        self.known += other.known;
        self.active_at_start += other.active_at_start;
        self.active_at_end += other.active_at_end;
        self.retained += other.retained;
        self.new += other.new;
        self.churned += other.churned;
        self.acquired_and_churned += other.acquired_and_churned;
        self.churned_at_start += other.churned_at_start;
        self.churn_base += other.churn_base;
    }
}

/// Classifies one customer against `period` and counts it.
fn count_customer(period: Period, counts: &mut CustomerCounts, record: RecordRef<'_>) {
    let RecordRef::Customer(c) = record else {
        return;
    };
    let window = period.window;
    if c.acquired_time >= window.end {
        return;
    }
    let at_start = active_at(c, window.start);
    let at_end = active_at(c, period.last_instant());
    let new = window.contains(c.acquired_time);
    let churned_in_window = window.contains_opt(c.churned_time);
    let churned = churned_in_window && c.acquired_time < window.start;
    let acquired_and_churned = new && churned_in_window;
    let churned_at_start = churned && c.churned_time == Some(window.start);
    counts.known += 1;
    counts.active_at_start += u64::from(at_start);
    counts.active_at_end += u64::from(at_end);
    counts.retained += u64::from(at_start && at_end);
    counts.new += u64::from(new);
    counts.churned += u64::from(churned);
    counts.acquired_and_churned += u64::from(acquired_and_churned);
    counts.churned_at_start += u64::from(churned_at_start);
    // Active at the start, plus those churning exactly at the start (so that churned ⊆ base),
    // minus those acquired and churned within the window (which count in neither).
    counts.churn_base += u64::from((at_start || churned_at_start) && !acquired_and_churned);
}

/// NO_DATA when no customer existed before the window ended, ZERO_DENOMINATOR otherwise.
fn no_base(counts: &CustomerCounts, components: Vec<Component>) -> MetricResult {
    if counts.known == 0 {
        MetricResult::undefined(
            UndefinedReason::NoData,
            "no customers acquired before the window end",
            components,
        )
    } else {
        MetricResult::undefined(
            UndefinedReason::ZeroDenominator,
            "no customers active at the window start",
            components,
        )
    }
}

/// Share of the customers active at the start of the window who churned in it.
pub struct CustomerChurnRate;

static CUSTOMER_CHURN_RATE: MetricDefinition = MetricDefinition {
    id: "customer_churn_rate",
    family: "retention",
    version: 1,
    description: "Share of the customers active at the start of the window who churned in the window. Customers both acquired and churned within the window count in neither the numerator nor the denominator.",
    formula: "customers churned in P (churned_time in P, acquired_time < P.start) / customers active at P.start (acquired_time <= P.start, churned_time absent or > P.start; a customer churned exactly at P.start is included, one acquired and churned within P is not)",
    value_kind: ValueKind::Ratio,
    unit: "fraction",
    direction: Direction::LowerIsBetter,
    reads: &[RecordKind::Customer],
    primary: &[RecordKind::Customer],
    policies: &[],
    parameters: &[],
};

impl Family for CustomerChurnRate {
    type State = CustomerCounts;

    fn definition(&self) -> &'static MetricDefinition {
        &CUSTOMER_CHURN_RATE
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        customer_plan(span)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        customer_route(record)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut CustomerCounts,
        record: RecordRef<'a>,
    ) {
        count_customer(ctx.period, state, record);
    }

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &CustomerCounts,
    ) -> Result<MetricResult, EvalError> {
        let components = vec![
            Component::count("active_at_start", state.active_at_start),
            Component::count("churned", state.churned),
            Component::count("churned_at_start", state.churned_at_start),
            Component::count("new", state.new),
            Component::count("acquired_and_churned", state.acquired_and_churned),
        ];
        if state.churn_base == 0 {
            return Ok(no_base(state, components));
        }
        Ok(MetricResult::ratio(
            state.churned as f64,
            state.churn_base as f64,
            "customers active at the window start",
            components,
        ))
    }
}

/// `(E − N) / S`: the classic customer retention rate, with N the new customers still active.
pub struct CustomerRetentionRate;

static CUSTOMER_RETENTION_RATE: MetricDefinition = MetricDefinition {
    id: "customer_retention_rate",
    family: "retention",
    version: 1,
    description: "Customer retention rate: the share of the customers active at the window's start that are still active at its last instant. New customers acquired and lost inside the window count in neither side, as for churn.",
    formula: "(E − N) / S; S = customers active at P.start, E = customers active at the last instant of P, N = customers of E not active at P.start (new in P and still active at its end)",
    value_kind: ValueKind::Ratio,
    unit: "fraction",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::Customer],
    primary: &[RecordKind::Customer],
    policies: &[],
    parameters: &[],
};

impl Family for CustomerRetentionRate {
    type State = CustomerCounts;

    fn definition(&self) -> &'static MetricDefinition {
        &CUSTOMER_RETENTION_RATE
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        customer_plan(span)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        customer_route(record)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut CustomerCounts,
        record: RecordRef<'a>,
    ) {
        count_customer(ctx.period, state, record);
    }

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &CustomerCounts,
    ) -> Result<MetricResult, EvalError> {
        let components = vec![
            Component::count("active_at_start", state.active_at_start),
            Component::count("active_at_end", state.active_at_end),
            Component::count("new_still_active", state.active_at_end - state.retained),
            Component::count("retained", state.retained),
        ];
        if state.active_at_start == 0 {
            return Ok(no_base(state, components));
        }
        // E − N with N = E's members not active at the start: the retained customers.
        Ok(MetricResult::ratio(
            state.retained as f64,
            state.active_at_start as f64,
            "customers active at the window start",
            components,
        ))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;
    use crate::calendar::Granularity;
    use crate::dimension::Dimension;
    use crate::metrics::test_support::*;
    use crate::query::MetricQuery;
    use crate::records::Record;
    use crate::value::{Ratio, Value};

    const CHURN: &str = "customer_churn_rate";
    const RETENTION: &str = "customer_retention_rate";

    fn ratio(result: &MetricResult) -> (f64, f64) {
        match &result.value {
            Ok(Value::Ratio(Ratio {
                numerator,
                denominator,
                ..
            })) => (*numerator, *denominator),
            other => panic!("not a ratio: {other:?}"),
        }
    }

    fn reason(result: &MetricResult) -> UndefinedReason {
        result.value.clone().unwrap_err().reason
    }

    fn in_region(mut record: Record, region: &str) -> Record {
        if let Record::Customer(c) = &mut record {
            c.meta
                .attributes
                .insert("region".to_owned(), region.to_owned());
        }
        record
    }

    /// The last instant of March 2026.
    fn march_last() -> Timestamp {
        ymd(2026, 4, 1) - Duration::microseconds(1)
    }

    #[test]
    fn churn_counts_churned_over_active_at_start() {
        // Ten customers acquired in January: c0, c1 churn in March, c2 churned in February.
        // n1 is acquired and churned in March (neither side), n2 is new in March (not in the base).
        // Active at start: 10 − c2 = 9; churned in March: c0, c1 → 2 / 9.
        let churn_of = |i| {
            [Some(at(3, 5, 0)), Some(at(3, 25, 0)), Some(at(2, 14, 0))]
                .get(i)
                .copied()
                .flatten()
        };
        let mut records: Vec<Record> = (0..10)
            .map(|i| customer(&format!("c{i}"), at(1, 10, 0), churn_of(i)))
            .collect();
        records.push(customer("n1", at(3, 2, 0), Some(at(3, 20, 0))));
        records.push(customer("n2", at(3, 3, 0), None));
        let report = run(records, &request(MetricQuery::new(CHURN), march()));
        assert_eq!(ratio(&report.total), (2.0, 9.0));
        assert_eq!(report.total.components[3], Component::count("new", 2));
        assert_eq!(
            report.total.components[4],
            Component::count("acquired_and_churned", 1)
        );
    }

    fn boundary_customers() -> Vec<Record> {
        vec![
            // p: churned exactly at P.start → churned in P; included in the base (see module doc).
            customer("p", at(1, 1, 0), Some(ymd(2026, 3, 1))),
            // q: churned at the last instant of P → churned in P, not active at the last instant.
            customer("q", at(1, 1, 0), Some(march_last())),
            // r: churned exactly at P.end → not churned in P, active at both ends.
            customer("r", at(1, 1, 0), Some(ymd(2026, 4, 1))),
            // s: acquired exactly at P.start and churned in P → neither side of the churn rate.
            customer("s", ymd(2026, 3, 1), Some(at(3, 10, 0))),
            // t: acquired exactly at P.start, still active → active at start, and new in P.
            customer("t", ymd(2026, 3, 1), None),
            // u: acquired exactly at P.end → not new in P, not active.
            customer("u", ymd(2026, 4, 1), None),
            // v: churned before P → nowhere.
            customer("v", at(1, 1, 0), Some(at(2, 28, 23))),
        ]
    }

    #[test]
    fn churn_window_boundaries() {
        // Churned: p, q = 2. Base: p, q, r, t = 4 (s excluded as acquired and churned in P).
        let report = run(
            boundary_customers(),
            &request(MetricQuery::new(CHURN), march()),
        );
        assert_eq!(ratio(&report.total), (2.0, 4.0));
        // Strictly active at start (churned_time > start): q, r, s, t.
        assert_eq!(
            report.total.components[0],
            Component::count("active_at_start", 4)
        );
        assert_eq!(
            report.total.components[2],
            Component::count("churned_at_start", 1)
        );
        assert_eq!(
            report.total.components[4],
            Component::count("acquired_and_churned", 1)
        );
    }

    #[test]
    fn retention_window_boundaries() {
        // S = q, r, s, t = 4; E at the last instant = r, t = 2 (q churned at that instant);
        // N = E's members not active at P.start = none (t, acquired exactly at P.start, is in S;
        // u is acquired at P.end) → (2 − 0) / 4.
        let report = run(
            boundary_customers(),
            &request(MetricQuery::new(RETENTION), march()),
        );
        assert_eq!(ratio(&report.total), (2.0, 4.0));
        assert_eq!(report.total.components[3], Component::count("retained", 2));
    }

    #[test]
    fn retention_hand_vector() {
        // a, b, c acquired before March; b churns in March; d new in March and stays.
        // S = 3 (a, b, c); E = a, c, d = 3; N = 1 (d) → (3 − 1) / 3 = 2/3.
        let records = vec![
            customer("a", at(1, 1, 0), None),
            customer("b", at(1, 1, 0), Some(at(3, 15, 0))),
            customer("c", at(2, 1, 0), None),
            customer("d", at(3, 10, 0), None),
        ];
        let report = run(records, &request(MetricQuery::new(RETENTION), march()));
        assert_eq!(ratio(&report.total), (2.0, 3.0));
        assert_eq!(
            report.total.components[1],
            Component::count("active_at_end", 3)
        );
    }

    #[test]
    fn no_data_and_zero_denominator() {
        for id in [CHURN, RETENTION] {
            // No customers at all, or only customers acquired after the window: NO_DATA.
            let empty = run(Vec::new(), &request(MetricQuery::new(id), march()));
            assert_eq!(reason(&empty.total), UndefinedReason::NoData);
            let later = run(
                vec![customer("x", at(4, 2, 0), None)],
                &request(MetricQuery::new(id), march()),
            );
            assert_eq!(reason(&later.total), UndefinedReason::NoData);
            // Only customers new in March: nobody active at the start → ZERO_DENOMINATOR.
            let only_new = vec![
                customer("y", at(3, 2, 0), None),
                customer("z", at(3, 3, 0), Some(at(3, 9, 0))),
            ];
            let report = run(only_new, &request(MetricQuery::new(id), march()));
            assert_eq!(reason(&report.total), UndefinedReason::ZeroDenominator);
        }
    }

    #[test]
    fn churn_after_as_of_has_not_happened() {
        // as_of = March 20: x churned March 25 is still active; y churned March 10 is churned;
        // z acquired March 22 does not exist yet.
        let records = vec![
            customer("x", at(1, 1, 0), Some(at(3, 25, 0))),
            customer("y", at(1, 1, 0), Some(at(3, 10, 0))),
            customer("z", at(3, 22, 0), None),
        ];
        let mut churn = request(MetricQuery::new(CHURN), march());
        churn.as_of = at(3, 20, 0);
        // Base x, y; churned y → 1/2 (without as_of both churned → 2/2).
        assert_eq!(ratio(&run(records.clone(), &churn).total), (1.0, 2.0));
        assert_eq!(
            scalar(records.clone(), MetricQuery::new(CHURN), march()),
            1.0
        );
        // Retention as of March 20: S = 2, E = x = 1, N = 0 → 1/2.
        let mut retention = request(MetricQuery::new(RETENTION), march());
        retention.as_of = at(3, 20, 0);
        assert_eq!(ratio(&run(records.clone(), &retention).total), (1.0, 2.0));
        // Without as_of: S = 2, E = z = 1, N = 1 (z) → 0 / 2.
        assert_eq!(
            ratio(&run(records, &request(MetricQuery::new(RETENTION), march())).total),
            (0.0, 2.0)
        );
    }

    fn quarter_customers() -> Vec<Record> {
        vec![
            customer("a", ymd(2025, 12, 1), None),
            customer("b", ymd(2025, 12, 1), Some(at(2, 10, 0))),
            customer("c", at(1, 15, 0), Some(at(3, 10, 0))),
            customer("d", ymd(2025, 11, 1), Some(at(1, 20, 0))),
            customer("e", ymd(2025, 10, 1), None),
            customer("f", ymd(2025, 10, 1), Some(at(2, 20, 0))),
        ]
    }

    fn quarter_request(id: &str) -> crate::query::ComputeRequest {
        let mut req = request(
            MetricQuery::new(id),
            window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
        );
        req.granularity = Granularity::Month;
        req
    }

    #[test]
    fn churn_monthly_series_uses_each_bucket_alone() {
        // Jan: base a, b, d, e, f (c is new); churned d → 1/5.
        // Feb: base a, b, c, e, f; churned b, f → 2/5.
        // Mar: base a, c, e; churned c → 1/3.
        // Q1 total (recomputed, not averaged): base a, b, d, e, f (c acquired and churned in Q1
        // counts in neither); churned b, d, f → 3/5.
        let report = run(quarter_customers(), &quarter_request(CHURN));
        let got: Vec<(f64, f64)> = report.series.iter().map(|p| ratio(&p.result)).collect();
        assert_eq!(got, vec![(1.0, 5.0), (2.0, 5.0), (1.0, 3.0)]);
        assert_eq!(
            report.series[1].window,
            window(ymd(2026, 2, 1), ymd(2026, 3, 1))
        );
        assert_eq!(ratio(&report.total), (3.0, 5.0));
    }

    #[test]
    fn retention_monthly_series_uses_each_bucket_alone() {
        // Jan: S = a, b, d, e, f = 5; E = a, b, c, e, f = 5; N = c (new, still active) → (5 − 1) / 5.
        // Feb: S = a, b, c, e, f = 5; E = a, c, e = 3; N = 0 → 3/5.
        // Mar: S = a, c, e = 3; E = a, e = 2; N = 0 → 2/3.
        // Q1: S = 5; E = a, e = 2; N = 0 (c, new and gone within Q1, counts in neither) → 2/5.
        let report = run(quarter_customers(), &quarter_request(RETENTION));
        let got: Vec<(f64, f64)> = report.series.iter().map(|p| ratio(&p.result)).collect();
        assert_eq!(got, vec![(4.0, 5.0), (3.0, 5.0), (2.0, 3.0)]);
        assert_eq!(ratio(&report.total), (2.0, 5.0));
    }

    #[test]
    fn churn_grouped_by_region() {
        // eu: e1 churns in March, e2 stays → 1/2. us: u0..u3, u0 churns → 1/4.
        // No region: n stays → 0/1 (key [None] sorts first). Total: 2/7.
        let mut records = vec![
            in_region(customer("e1", at(1, 5, 0), Some(at(3, 10, 0))), "eu"),
            in_region(customer("e2", at(1, 5, 0), None), "eu"),
            customer("n", at(1, 5, 0), None),
        ];
        for i in 0..4 {
            let churned = (i == 0).then(|| at(3, 5, 0));
            records.push(in_region(
                customer(&format!("u{i}"), at(2, 1, 0), churned),
                "us",
            ));
        }
        let mut req = request(MetricQuery::new(CHURN), march());
        req.group_by = vec![Dimension::Attribute("region".to_owned())];
        let report = run(records, &req);
        assert_eq!(ratio(&report.total), (2.0, 7.0));
        let keys: Vec<Option<String>> = report.groups.iter().map(|g| g.key[0].clone()).collect();
        assert_eq!(
            keys,
            vec![None, Some("eu".to_owned()), Some("us".to_owned())]
        );
        let values: Vec<(f64, f64)> = report.groups.iter().map(|g| ratio(&g.total)).collect();
        assert_eq!(values, vec![(0.0, 1.0), (1.0, 2.0), (1.0, 4.0)]);
    }

    fn arb_customer() -> impl Strategy<Value = Record> {
        (arb_time(), prop::option::of(0i64..3000), 0u32..1000).prop_map(
            |(acquired, churn_after, id)| {
                let churned = churn_after.map(|hours| acquired + Duration::hours(hours));
                customer(&format!("c{id}"), acquired, churned)
            },
        )
    }

    proptest! {
        #[test]
        fn customer_states_merge_exactly(
            records in prop::collection::vec(arb_customer(), 0..40),
            split in 0usize..40,
            rotate in 0usize..40,
            start_month in 1u32..12,
        ) {
            let period = Period { window: window(at(start_month, 1, 0), at(start_month + 1, 1, 0)), as_of: ymd(2100, 1, 1) };
            assert_merge_property(&CustomerChurnRate, &Settings::defaults(&CUSTOMER_CHURN_RATE), period, &records, split, rotate);
            assert_merge_property(&CustomerRetentionRate, &Settings::defaults(&CUSTOMER_RETENTION_RATE), period, &records, split, rotate);
        }
    }
}
