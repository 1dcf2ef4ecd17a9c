//! Unit tests of the `sales_performance` family: hand-computed vectors and the merge property.

use chrono::Duration;
use proptest::prelude::*;

use super::quota::QUOTA_ATTAINMENT;
use super::*;
use crate::calendar::Granularity;
use crate::dataset::{Dataset, KindRead};
use crate::dimension::Dimension;
use crate::eval::prepare;
use crate::metrics::test_support::*;
use crate::query::MetricQuery;
use crate::records::{CrmUser, Quota, Record};
use crate::value::Undefined;

fn won(id: &str, created: Timestamp, closed: Timestamp, amount: i64) -> Record {
    deal(id, DealStatus::Won, created, Some(closed), amount)
}

fn lost(id: &str, created: Timestamp, closed: Timestamp) -> Record {
    deal(id, DealStatus::Lost, created, Some(closed), 1)
}

fn open(id: &str, created: Timestamp) -> Record {
    deal(id, DealStatus::Open, created, None, 1)
}

fn owned(record: Record, owner: &str) -> Record {
    edit_sales_deal(record, |d| d.owner_id = Some(owner.into()))
}

fn quota(id: &str, owner: &str, start: Timestamp, end: Timestamp, amount: i64) -> Record {
    Record::Quota(Quota {
        meta: meta(id),
        owner_id: owner.into(),
        period_start: start,
        period_end: end,
        amount: usd(amount),
    })
}

fn user(id: &str, role: UserRole, created: Timestamp, deactivated: Option<Timestamp>) -> Record {
    Record::CrmUser(CrmUser {
        meta: meta(id),
        role,
        team: None,
        licensed: true,
        created_time: created,
        deactivated_time: deactivated,
    })
}

fn usd_per_day(minor: i64) -> Result<Value, Undefined> {
    Ok(Value::Money(MoneyValue {
        amount: usd(minor),
        numerator: None,
        denominator: None,
    }))
}

fn velocity_records() -> Vec<Record> {
    vec![
        won("w1", at(3, 1, 0), at(3, 11, 0), 100_000), // 10 d cycle
        won("w2", at(3, 1, 0), at(3, 21, 0), 300_000), // 20 d cycle
        lost("l1", at(2, 20, 0), at(3, 1, 0)),         // lost at the window start
        lost("l2", at(3, 1, 0), at(3, 25, 0)),
        open("o1", at(3, 2, 0)),
        open("o2", at(3, 2, 0)),
        open("o3", at(3, 2, 0)),
        open("o4", at(2, 2, 0)),
        open("o5", at(3, 2, 0)),
        // Won at the window end: open at its last instant, not won in P.
        won("w3", at(3, 20, 0), at(4, 1, 0), 999_999),
        open("late", at(4, 1, 0)), // created at the window end: not open at P.end
    ]
}

#[test]
fn pipeline_velocity_hand_computed() {
    // open at P.end: o1..o5, w3 = 6; win rate 2 / 4; average deal size 400000 / 2 = 200000;
    // mean cycle (10 + 20) / 2 = 15 d → 6 × 0.5 × 200000 / 15 = 40000 minor units per day.
    let report = run(
        velocity_records(),
        &request(MetricQuery::new("pipeline_velocity"), march()),
    );
    assert_eq!(report.total.value, usd_per_day(40_000));
    assert_eq!(
        report.total.components,
        vec![
            Component::count("open_deals", 6),
            Component::count("deals_won", 2),
            Component::count("deals_lost", 2),
            Component::number("win_rate", 0.5),
            Component::money("average_deal_size", usd(200_000)),
            Component::number("mean_sales_cycle_days", 15.0),
        ]
    );
    // as_of 03-15, evaluated at 03-15: won w1 (10 d, 100000), lost l1 → win rate 1/2; open:
    // o1..o5, w2 and l2 (closed later) = 7 → 7 × 0.5 × 100000 / 10 = 35000.
    let mut req = request(MetricQuery::new("pipeline_velocity"), march());
    req.as_of = at(3, 15, 0);
    assert_eq!(
        run(velocity_records(), &req).total.value,
        usd_per_day(35_000)
    );
}

#[test]
fn pipeline_velocity_rounds_half_to_even_once() {
    // One win of 1 minor unit after 2 days, win rate 1: n open × 1 × 1 / 2 per day.
    // 1 open → 0.5 → 0; 3 open → 1.5 → 2.
    let base = vec![won("w", at(3, 1, 0), at(3, 3, 0), 1)];
    let velocity = |open_deals: usize| {
        let mut records = base.clone();
        records.extend((0..open_deals).map(|i| open(&format!("o{i}"), at(3, 2, 0))));
        run(
            records,
            &request(MetricQuery::new("pipeline_velocity"), march()),
        )
        .total
        .value
    };
    assert_eq!(velocity(1), usd_per_day(0));
    assert_eq!(velocity(3), usd_per_day(2));
    // Without open deals the velocity is 0 (defined).
    assert_eq!(velocity(0), usd_per_day(0));
}

#[test]
fn pipeline_velocity_undefined_inputs() {
    let query = || request(MetricQuery::new("pipeline_velocity"), march());
    // Nothing closed: the win rate is undefined.
    let report = run(vec![open("o", at(3, 2, 0))], &query());
    assert_eq!(reason(&report), UndefinedReason::UndefinedInput);
    // Only losses: the deal size and cycle are undefined.
    let report = run(vec![lost("l", at(3, 1, 0), at(3, 2, 0))], &query());
    assert_eq!(reason(&report), UndefinedReason::UndefinedInput);
    // A win closed at its creation: mean cycle 0 days.
    let report = run(vec![won("w", at(3, 2, 0), at(3, 2, 0), 5)], &query());
    assert_eq!(reason(&report), UndefinedReason::ZeroDenominator);
}

fn quota_records() -> Vec<Record> {
    let q1 = (ymd(2026, 1, 1), ymd(2026, 4, 1));
    let mar = (ymd(2026, 3, 1), ymd(2026, 4, 1));
    vec![
        quota("qa-m", "alice", mar.0, mar.1, 1_000_000),
        quota("qa-q", "alice", q1.0, q1.1, 3_000_000),
        owned(won("a1", at(1, 5, 0), at(3, 10, 0), 500_000), "alice"), // in both: once
        owned(won("a2", at(1, 5, 0), at(2, 10, 0), 400_000), "alice"), // in Q1 only
        owned(won("a3", at(1, 5, 0), at(4, 1, 0), 9_999), "alice"),    // at the quota ends
        owned(lost("a4", at(1, 5, 0), at(3, 5, 0)), "alice"),
        quota("qb", "bob", mar.0, mar.1, 500_000),
        owned(won("b1", at(3, 1, 0), at(3, 31, 23), 600_000), "bob"), // 1.2 of the quota
        owned(open("b2", at(3, 1, 0)), "bob"),
        owned(won("c1", at(3, 1, 0), at(3, 10, 0), 70_000), "carol"), // no quota
        quota("qd", "dave", ymd(2026, 2, 1), ymd(2026, 3, 1), 100_000), // ends at P.start
        owned(won("d1", at(2, 1, 0), at(2, 15, 0), 100_000), "dave"),
        quota("qe", "erin", ymd(2026, 4, 1), ymd(2026, 5, 1), 100_000), // starts at P.end
    ]
}

#[test]
fn quota_attainment_total_and_per_rep() {
    // Overlapping quotas: alice 1000000 + 3000000, bob 500000 = 4500000.
    // Won: alice a1 + a2 = 900000, bob 600000 → 1500000 / 4500000 = 1/3.
    let mut req = request(MetricQuery::new("quota_attainment"), march());
    req.group_by = vec![Dimension::OwnerId];
    let report = run(quota_records(), &req);
    assert_eq!(report.total.value, expected_ratio(1_500_000.0, 4_500_000.0));
    assert_eq!(
        report.total.components,
        vec![
            Component::count("quotas", 3),
            Component::count("owners", 2),
            Component::count("deals_won", 3),
            Component::money("won", usd(1_500_000)),
            Component::money("quota", usd(4_500_000)),
        ]
    );
    // Per rep: alice 900000 / 4000000, bob 1.2; carol and dave have no overlapping quota; erin,
    // whose only record (a quota starting at P.end) counts nowhere, is not a group.
    let keys: Vec<_> = report.groups.iter().map(|g| g.key[0].clone()).collect();
    let names = ["alice", "bob", "carol", "dave"];
    assert_eq!(keys, names.map(|n| Some(n.to_owned())).to_vec());
    assert_eq!(
        report.groups[0].total.value,
        expected_ratio(900_000.0, 4_000_000.0)
    );
    assert_eq!(
        report.groups[1].total.value,
        expected_ratio(600_000.0, 500_000.0)
    );
    for group in &report.groups[2..] {
        let undefined = group.total.value.as_ref().unwrap_err();
        assert_eq!(undefined.reason, UndefinedReason::ZeroDenominator);
    }
    // as_of 03-15: bob's win (03-31) has not happened → bob 0 / 500000; total 900000 / 4500000.
    req.as_of = at(3, 15, 0);
    let report = run(quota_records(), &req);
    assert_eq!(report.total.value, expected_ratio(900_000.0, 4_500_000.0));
    assert_eq!(report.groups[1].total.value, expected_ratio(0.0, 500_000.0));
}

#[test]
fn quota_attainment_series_and_edge_cases() {
    // Monthly over Feb–Mar. Feb: alice's Q1 quota 3000000 (a1 + a2 = 900000), dave's Feb
    // quota 100000 (d1 100000) → 1000000 / 3100000. Mar: the total above, 1500000 / 4500000.
    let mut req = request(
        MetricQuery::new("quota_attainment"),
        window(ymd(2026, 2, 1), ymd(2026, 4, 1)),
    );
    req.granularity = Granularity::Month;
    let report = run(quota_records(), &req);
    assert_eq!(
        report.series[0].result.value,
        expected_ratio(1_000_000.0, 3_100_000.0)
    );
    assert_eq!(
        report.series[1].result.value,
        expected_ratio(1_500_000.0, 4_500_000.0)
    );
    // No quota → ZERO_DENOMINATOR.
    let report = run(
        vec![owned(won("x", at(3, 1, 0), at(3, 2, 0), 1), "alice")],
        &request(MetricQuery::new("quota_attainment"), march()),
    );
    assert_eq!(reason(&report), UndefinedReason::ZeroDenominator);
    // A EUR quota against USD wins cannot be compared without conversion.
    let mut records = quota_records();
    if let Record::Quota(q) = &mut records[0] {
        q.amount = crate::money::Money::new(crate::money::Currency::parse("EUR").unwrap(), 1);
    }
    let prepared = prepare(&request(MetricQuery::new("quota_attainment"), march())).unwrap();
    let error = prepared
        .evaluate(&Dataset::from_records(records), None)
        .unwrap_err();
    assert!(matches!(error, EvalError::MixedCurrencies { .. }));
}

fn rep_records() -> Vec<Record> {
    vec![
        user("s1", UserRole::Sales, ymd(2026, 1, 1), None),
        user("s2", UserRole::Sales, at(3, 31, 23), None), // created just before the end
        user("s3", UserRole::Sales, at(4, 1, 0), None),   // created at the end: not active
        user("s4", UserRole::Sales, ymd(2026, 1, 1), Some(at(3, 1, 0))), // gone at P.start
        user("s5", UserRole::Sales, ymd(2026, 1, 1), Some(at(3, 1, 1))), // active for an hour
        user("u6", UserRole::Support, ymd(2026, 1, 1), None),
        won("w1", at(2, 1, 0), at(3, 1, 0), 1),
        won("w2", at(2, 1, 0), at(3, 5, 0), 1),
        won("w3", at(2, 1, 0), at(3, 10, 0), 1),
        won("w4", at(2, 1, 0), at(3, 31, 23), 1),
        won("w5", at(2, 1, 0), at(4, 1, 0), 1), // at the window end: outside
        lost("l1", at(2, 1, 0), at(3, 3, 0)),
    ]
}

#[test]
fn deals_won_per_rep_hand_computed() {
    // Won in March: w1..w4 = 4; active sales reps: s1, s2, s5 = 3 → 4/3.
    let report = run(
        rep_records(),
        &request(MetricQuery::new("deals_won_per_rep"), march()),
    );
    assert_eq!(report.total.value, Ok(Value::Number(4.0 / 3.0)));
    assert_eq!(
        report.total.components,
        vec![
            Component::count("deals_won", 4),
            Component::count("sales_reps", 3)
        ]
    );
    // as_of 03-20: s2 does not exist yet, w4 not won yet → 3 / 2.
    let mut req = request(MetricQuery::new("deals_won_per_rep"), march());
    req.as_of = at(3, 20, 0);
    assert_eq!(run(rep_records(), &req).total.value, Ok(Value::Number(1.5)));
    // No sales rep → ZERO_DENOMINATOR.
    let report = run(
        vec![won("w", at(3, 1, 0), at(3, 2, 0), 1)],
        &request(MetricQuery::new("deals_won_per_rep"), march()),
    );
    assert_eq!(reason(&report), UndefinedReason::ZeroDenominator);
}

#[test]
fn plans_read_every_needed_kind() {
    let plan = |id| {
        prepare(&request(MetricQuery::new(id), march()))
            .unwrap()
            .plan(None)
            .kinds
    };
    let bound = |field, from, until| KindRead::AnyOf(vec![TimeBound { field, from, until }]);
    let end = Some(march().end);
    let velocity = plan("pipeline_velocity");
    assert_eq!(
        velocity[&RecordKind::Deal],
        bound(TimeField::DealCreated, None, end)
    );
    let quota = plan("quota_attainment");
    assert_eq!(
        quota[&RecordKind::Quota],
        bound(TimeField::QuotaPeriodStart, None, end)
    );
    assert_eq!(
        quota[&RecordKind::Deal],
        bound(TimeField::DealClosed, None, None)
    );
    let reps = plan("deals_won_per_rep");
    assert_eq!(
        reps[&RecordKind::Deal],
        bound(TimeField::DealClosed, Some(march().start), end)
    );
    assert_eq!(reps[&RecordKind::CrmUser], KindRead::All);
}

fn arb_sales_record() -> impl Strategy<Value = Record> {
    (
        0usize..5,
        0u8..10,
        arb_time(),
        0i64..2000,
        1i64..100_000,
        0usize..3,
    )
        .prop_map(|(kind, id, t, hours, amount, owner)| {
            let owner = ["alice", "bob", "carol"][owner];
            let later = t + Duration::hours(hours);
            match kind {
                0 => owned(won(&format!("d{id}"), t, later, amount), owner),
                1 => owned(lost(&format!("d{id}"), t, later), owner),
                2 => owned(open(&format!("d{id}"), t), owner),
                3 => quota(
                    &format!("q{id}"),
                    owner,
                    t,
                    later + Duration::hours(1),
                    amount,
                ),
                _ => {
                    let role = if amount % 3 == 0 {
                        UserRole::Support
                    } else {
                        UserRole::Sales
                    };
                    user(
                        &format!("u{id}"),
                        role,
                        t,
                        (hours % 2 == 0).then_some(later),
                    )
                }
            }
        })
}

proptest! {
    #[test]
    fn sales_performance_states_merge_exactly(
        records in prop::collection::vec(arb_sales_record(), 0..40),
        split in 0usize..40,
        rotate in 0usize..40,
    ) {
        let period = Period { window: window(at(2, 1, 0), at(9, 1, 0)), as_of: at(8, 1, 0), time_zone: chrono_tz::UTC };
        assert_merge_property(&PIPELINE_VELOCITY, &Settings::defaults(&PIPELINE_VELOCITY.definition), period, &records, split, rotate);
        assert_merge_property(&QUOTA_ATTAINMENT, &Settings::defaults(&QUOTA_ATTAINMENT.definition), period, &records, split, rotate);
        assert_merge_property(&DEALS_WON_PER_REP, &Settings::defaults(&DEALS_WON_PER_REP.definition), period, &records, split, rotate);
    }
}
