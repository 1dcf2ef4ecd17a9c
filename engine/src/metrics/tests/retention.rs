//! Unit tests of the `retention` family: worked examples, hand-computed vectors, and the merge property.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::calendar::Granularity;
use crate::dimension::Dimension;
use crate::metrics::test_support::*;
use crate::query::MetricQuery;
use crate::records::Record;

const CHURN: &str = "customer_churn_rate";
const RETENTION: &str = "customer_retention_rate";

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
fn retention_as_printed_subtracts_every_customer_acquired_in_the_window() {
    // a, b, c acquired before March; b churns in March; d new in March and stays; e new in
    // March and gone by March 20. S = 3 (a, b, c); E = a, c, d = 3.
    // still_active (default): N = d → (3 − 1) / 3 = 2/3.
    // acquired_in_window: N = d, e → (3 − 2) / 3 = 1/3.
    let records = vec![
        customer("a", at(1, 1, 0), None),
        customer("b", at(1, 1, 0), Some(at(3, 15, 0))),
        customer("c", at(2, 1, 0), None),
        customer("d", at(3, 10, 0), None),
        customer("e", at(3, 5, 0), Some(at(3, 20, 0))),
    ];
    let default = run(
        records.clone(),
        &request(MetricQuery::new(RETENTION), march()),
    );
    assert_eq!(ratio(&default.total), (2.0, 3.0));
    let printed = run(
        records,
        &request(
            MetricQuery::new(RETENTION).policy("new_customers", "acquired_in_window"),
            march(),
        ),
    );
    assert_eq!(ratio(&printed.total), (1.0, 3.0));
    assert_eq!(
        printed.applied_policies,
        vec![("new_customers".to_owned(), "acquired_in_window".to_owned())]
    );
    assert_eq!(printed.total.components[4], Component::count("acquired", 2));
}

#[test]
fn retention_as_printed_can_fall_below_zero() {
    // S = a; a churns in March; x and y are acquired and lost in March. E = 0, N = 2:
    // (0 − 2) / 1 = −2, where the default gives 0 / 1.
    let records = vec![
        customer("a", at(1, 1, 0), Some(at(3, 2, 0))),
        customer("x", at(3, 3, 0), Some(at(3, 4, 0))),
        customer("y", at(3, 5, 0), Some(at(3, 6, 0))),
    ];
    let query = MetricQuery::new(RETENTION).policy("new_customers", "acquired_in_window");
    assert_eq!(
        ratio(&run(records.clone(), &request(query, march())).total),
        (-2.0, 1.0)
    );
    let default = run(records, &request(MetricQuery::new(RETENTION), march()));
    assert_eq!(ratio(&default.total), (0.0, 1.0));
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
        let period = Period { window: window(at(start_month, 1, 0), at(start_month + 1, 1, 0)), as_of: ymd(2100, 1, 1), time_zone: chrono_tz::UTC };
        assert_merge_property(&CUSTOMER_CHURN_RATE, &Settings::defaults(&CUSTOMER_CHURN_RATE.definition), period, &records, split, rotate);
        assert_merge_property(&CUSTOMER_RETENTION_RATE, &Settings::defaults(&CUSTOMER_RETENTION_RATE.definition), period, &records, split, rotate);
    }
}
