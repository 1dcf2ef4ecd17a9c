//! Unit tests of the `deals` family: worked examples, hand-computed vectors, and the merge property.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::calendar::Granularity;
use crate::dataset::KindRead;
use crate::dimension::Dimension;
use crate::eval::prepare;
use crate::metrics::test_support::*;
use crate::query::{ComputeRequest, Filter, MetricQuery};
use crate::records::{ActivityDirection, DealType, Record};
use crate::value::UndefinedReason;
use crate::value::{DurationStats, MoneyValue};

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

fn cohort() -> MetricQuery {
    MetricQuery::new("win_rate").policy("basis", "cohort")
}

#[test]
fn win_rate_worked_example_both_bases() {
    // docs/metrics.md: 10 won, 12 lost, 18 open, all created and closed in P
    // → closed basis 10 / (10 + 12) = 10/22; cohort basis 10 / (10 + 12 + 18) = 10/40.
    let mut records = Vec::new();
    for i in 0..10 {
        records.push(won(&format!("w{i}"), at(3, 2, 0), at(3, 20, 0), 100));
    }
    for i in 0..12 {
        records.push(lost(&format!("l{i}"), at(3, 3, 0), at(3, 21, 0)));
    }
    for i in 0..18 {
        records.push(open(&format!("o{i}"), at(3, 4, 0)));
    }
    let closed = run(
        records.clone(),
        &request(MetricQuery::new("win_rate"), march()),
    );
    assert_eq!(closed.total.value, expected_ratio(10.0, 22.0));
    assert_eq!(
        closed.applied_policies,
        vec![("basis".to_owned(), "closed".to_owned())]
    );
    let report = run(records, &request(cohort(), march()));
    assert_eq!(report.total.value, expected_ratio(10.0, 40.0));
    assert_eq!(report.total.components[2], Component::count("open", 18));
}

#[test]
fn win_rate_window_is_half_open() {
    // closed: won at 03-01 00:00 (in), lost 03-15 (in), won at 04-01 00:00 (out), lost 02-28 23:00
    // (out) → 1 / 2.
    let records = vec![
        won("a", at(2, 1, 0), at(3, 1, 0), 1),
        lost("b", at(2, 1, 0), at(3, 15, 0)),
        won("c", at(2, 1, 0), at(4, 1, 0), 1),
        lost("d", at(2, 1, 0), at(2, 28, 23)),
    ];
    assert_eq!(
        run(records, &request(MetricQuery::new("win_rate"), march()))
            .total
            .value,
        expected_ratio(1.0, 2.0)
    );
    // cohort: created 03-01 00:00 and won later in April (in, won by as_of), created 03-31 23:00
    // open (in), created 04-01 00:00 won (out) → 1 / 2.
    let records = vec![
        won("a", at(3, 1, 0), at(4, 5, 0), 1),
        open("b", at(3, 31, 23)),
        won("c", at(4, 1, 0), at(4, 2, 0), 1),
    ];
    assert_eq!(
        run(records, &request(cohort(), march())).total.value,
        expected_ratio(1.0, 2.0)
    );
}

#[test]
fn win_rate_as_of_reopens_later_closes() {
    // as_of 03-25: won 03-05 (counts), won 03-28 (after as_of → still open), lost 03-06.
    // closed: 1 won / 2 closed; cohort (all created 03-02): 1 won of 3, 1 open.
    let records = vec![
        won("a", at(3, 2, 0), at(3, 5, 0), 1),
        won("b", at(3, 2, 0), at(3, 28, 0), 1),
        lost("c", at(3, 2, 0), at(3, 6, 0)),
    ];
    let mut req = request(MetricQuery::new("win_rate"), march());
    req.as_of = at(3, 25, 0);
    assert_eq!(
        run(records.clone(), &req).total.value,
        expected_ratio(1.0, 2.0)
    );
    req.metrics = vec![cohort()];
    let report = run(records, &req);
    assert_eq!(report.total.value, expected_ratio(1.0, 3.0));
    assert_eq!(report.total.components[2], Component::count("open", 1));
}

#[test]
fn win_rate_without_deals_is_undefined_and_groups_by_deal_type() {
    let none = vec![won("x", at(2, 1, 0), at(2, 2, 0), 1)];
    let report = run(
        none.clone(),
        &request(MetricQuery::new("win_rate"), march()),
    );
    assert_eq!(reason(&report), UndefinedReason::ZeroDenominator);
    assert_eq!(
        reason(&run(none, &request(cohort(), march()))),
        UndefinedReason::ZeroDenominator
    );
    // upsell: 1 won, 1 lost → 0.5; new_business: 1 won → 1.0 (keys sort by name).
    let upsell = |r| edit_sales_deal(r, |d| d.deal_type = DealType::Upsell);
    let records = vec![
        upsell(won("a", at(3, 1, 0), at(3, 2, 0), 1)),
        upsell(lost("b", at(3, 1, 0), at(3, 2, 0))),
        won("c", at(3, 1, 0), at(3, 2, 0), 1),
    ];
    let mut req = request(MetricQuery::new("win_rate"), march());
    req.group_by = vec![Dimension::DealType];
    let report = run(records, &req);
    assert_eq!(report.total.value, expected_ratio(2.0, 3.0));
    assert_eq!(report.groups[0].key, vec![Some("new_business".to_owned())]);
    assert_eq!(report.groups[0].total.value, expected_ratio(1.0, 1.0));
    assert_eq!(report.groups[1].key, vec![Some("upsell".to_owned())]);
    assert_eq!(report.groups[1].total.value, expected_ratio(1.0, 2.0));
}

#[test]
fn average_deal_size_rounds_half_to_even() {
    // Won in March: alice 100 + 101, bob 103 → 304 / 3 = 101.33 → 101. Lost, open and a win
    // at 04-01 00:00 do not count.
    let records = vec![
        owned(won("a", at(2, 1, 0), at(3, 1, 0), 100), "alice"),
        owned(won("b", at(2, 1, 0), at(3, 31, 23), 101), "alice"),
        owned(won("c", at(2, 1, 0), at(3, 10, 0), 103), "bob"),
        lost("d", at(2, 1, 0), at(3, 10, 0)),
        open("e", at(3, 1, 0)),
        won("f", at(2, 1, 0), at(4, 1, 0), 5000),
    ];
    let money = |amount, sum, n| {
        Ok(Value::Money(MoneyValue {
            amount: usd(amount),
            numerator: Some(usd(sum)),
            denominator: Some(n),
        }))
    };
    let report = run(
        records.clone(),
        &request(MetricQuery::new("average_deal_size"), march()),
    );
    assert_eq!(report.total.value, money(101, 304, 3.0));
    // Filter owner_id = alice: 201 / 2 = 100.5 → half to even → 100.
    let mut req = request(MetricQuery::new("average_deal_size"), march());
    req.filters = vec![Filter {
        dimension: Dimension::OwnerId,
        values: vec!["alice".to_owned()],
        exclude: false,
    }];
    assert_eq!(run(records.clone(), &req).total.value, money(100, 201, 2.0));
    // Excluding alice: bob's 103 / 1; 100 + 103 alone would be 101.5 → 102 (tested via groups).
    req.filters[0].exclude = true;
    assert_eq!(run(records, &req).total.value, money(103, 103, 1.0));
    let empty = run(
        vec![open("e", at(3, 1, 0))],
        &request(MetricQuery::new("average_deal_size"), march()),
    );
    assert_eq!(reason(&empty), UndefinedReason::NoData);
}

fn cycle_records() -> Vec<Record> {
    vec![
        // d1: created 02-01, won 03-11 → 38 d; lead created 01-22 → 48 d; first activity 02-11 → 28 d.
        edit_sales_deal(won("d1", at(2, 1, 0), at(3, 11, 0), 1), |d| {
            d.lead_id = Some("l1".into())
        }),
        lead("l1", at(1, 22, 0)),
        sales_activity(
            "a1",
            ActivityDirection::Inbound,
            at(3, 1, 0),
            None,
            Some("d1"),
        ),
        sales_activity(
            "a2",
            ActivityDirection::Outbound,
            at(2, 11, 0),
            None,
            Some("d1"),
        ),
        // d2: created 03-01, won 03-03 → 2 d; no lead, no activity.
        won("d2", at(3, 1, 0), at(3, 3, 0), 1),
        // d3: created 03-05, won 03-06 → 1 d; its lead and its only activity come after the close.
        edit_sales_deal(won("d3", at(3, 5, 0), at(3, 6, 0), 1), |d| {
            d.lead_id = Some("l3".into())
        }),
        lead("l3", at(3, 7, 0)),
        sales_activity(
            "a3",
            ActivityDirection::Outbound,
            at(3, 8, 0),
            None,
            Some("d3"),
        ),
        lost("x", at(1, 1, 0), at(3, 10, 0)),
    ]
}

fn cycle(start: &str) -> (DurationStats, Vec<Component>) {
    let query = MetricQuery::new("sales_cycle_length").policy("start", start);
    let report = run(cycle_records(), &request(query, march()));
    match report.total.value {
        Ok(Value::Duration(stats)) => (stats, report.total.components),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sales_cycle_length_per_start_policy() {
    const DAY: f64 = 86_400.0;
    // deal_created: [1, 2, 38] d; mean 41/3 d; median rank ceil(1.5) = 2 → 2 d; p90 rank
    // ceil(2.7) = 3 → 38 d.
    let (stats, components) = cycle("deal_created");
    let expected = DurationStats {
        count: 3,
        total_seconds: 41.0 * DAY,
        mean_seconds: 41.0 * DAY / 3.0,
        median_seconds: 2.0 * DAY,
        p90_seconds: 38.0 * DAY,
        min_seconds: DAY,
        max_seconds: 38.0 * DAY,
    };
    assert_eq!(stats, expected);
    assert_eq!(components[1], Component::count("unknown_start", 0));
    // lead_created: only d1 (48 d); d2 has no lead, d3's lead comes after its close.
    let (stats, components) = cycle("lead_created");
    assert_eq!((stats.count, stats.mean_seconds), (1, 48.0 * DAY));
    assert_eq!(
        components,
        vec![
            Component::count("deals_won", 3),
            Component::count("unknown_start", 2)
        ]
    );
    // first_activity: only d1 (earliest activity 02-11 → 28 d); d2 has none, d3's is after close.
    let (stats, components) = cycle("first_activity");
    assert_eq!((stats.count, stats.mean_seconds), (1, 28.0 * DAY));
    assert_eq!(components[1], Component::count("unknown_start", 2));
    let empty = run(
        Vec::new(),
        &request(MetricQuery::new("sales_cycle_length"), march()),
    );
    assert_eq!(reason(&empty), UndefinedReason::NoData);
}

#[test]
fn deals_won_series_groups_and_filters() {
    // Q1 by month: won 01-10 (alice), 02-05 (alice), 02-06 (bob, upsell); carol's deal is lost.
    // Series: Jan 1, Feb 2, Mar 0; total 3; alice 2, bob 1; upsell only: 1.
    let records = vec![
        owned(won("a", at(1, 1, 0), at(1, 10, 0), 1), "alice"),
        owned(won("b", at(1, 1, 0), at(2, 5, 0), 1), "alice"),
        edit_sales_deal(owned(won("c", at(1, 1, 0), at(2, 6, 0), 1), "bob"), |d| {
            d.deal_type = DealType::Upsell;
        }),
        owned(lost("d", at(1, 1, 0), at(3, 3, 0)), "carol"),
    ];
    let mut req = request(
        MetricQuery::new("deals_won"),
        window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
    );
    req.granularity = Granularity::Month;
    req.group_by = vec![Dimension::OwnerId];
    let report = run(records.clone(), &req);
    assert_eq!(report.total.value, Ok(Value::Count(3)));
    let series: Vec<_> = report
        .series
        .iter()
        .map(|p| p.result.value.clone().ok())
        .collect();
    assert_eq!(
        series,
        vec![
            Some(Value::Count(1)),
            Some(Value::Count(2)),
            Some(Value::Count(0))
        ]
    );
    assert_eq!(report.groups.len(), 2);
    assert_eq!(report.groups[0].key, vec![Some("alice".to_owned())]);
    assert_eq!(report.groups[0].total.value, Ok(Value::Count(2)));
    assert_eq!(report.groups[1].total.value, Ok(Value::Count(1)));
    req.group_by.clear();
    req.filters = vec![Filter {
        dimension: Dimension::DealType,
        values: vec!["upsell".to_owned()],
        exclude: false,
    }];
    assert_eq!(run(records, &req).total.value, Ok(Value::Count(1)));
    let empty = run(Vec::new(), &request(MetricQuery::new("deals_won"), march()));
    assert_eq!(empty.total.value, Ok(Value::Count(0)));
}

#[test]
fn deals_lost_counts_losses_by_close_and_as_of() {
    // Lost in March: b (03-15) and d (03-31 23:00); c lost 04-01 00:00 is outside the half-open
    // window; a is won; e closes 03-20 but as_of is 03-18, so it is still open then → 2, and with
    // as_of 03-18, only b → 1. An owner's count sees only that owner's losses: o1 has b → 1.
    let records = vec![
        won("a", at(2, 1, 0), at(3, 10, 0), 100),
        owned(lost("b", at(2, 1, 0), at(3, 15, 0)), "o1"),
        lost("c", at(2, 1, 0), at(4, 1, 0)),
        owned(lost("d", at(2, 1, 0), at(3, 31, 23)), "o2"),
        open("e", at(2, 1, 0)),
    ];
    let lost_in = |req: &ComputeRequest| run(records.clone(), req).total.value;
    let query = || MetricQuery::new("deals_lost");
    assert_eq!(lost_in(&request(query(), march())), Ok(Value::Count(2)));
    let mut early = request(query(), march());
    early.as_of = at(3, 18, 0);
    assert_eq!(lost_in(&early), Ok(Value::Count(1)));
    let mut by_owner = request(query(), march());
    by_owner.group_by = vec![Dimension::OwnerId];
    let groups = run(records.clone(), &by_owner).groups;
    let counts: Vec<_> = groups
        .iter()
        .map(|g| (g.key.clone(), g.total.value.clone()))
        .collect();
    assert_eq!(
        counts,
        vec![
            (vec![Some("o1".to_owned())], Ok(Value::Count(1))),
            (vec![Some("o2".to_owned())], Ok(Value::Count(1))),
        ]
    );
    // No loss in the window counts 0, never undefined.
    let empty = run(Vec::new(), &request(query(), march()));
    assert_eq!(empty.total.value, Ok(Value::Count(0)));
}

#[test]
fn plans_read_only_the_needed_ranges() {
    // Closed basis reads deals closed in the window, cohort deals created in it; the
    // lead_created cycle also reads leads created before the window's end.
    let plan = |query| prepare(&request(query, march())).unwrap().plan(None).kinds;
    let bound = |field, from| TimeBound {
        field,
        from,
        until: Some(march().end),
    };
    let in_march = |field| KindRead::AnyOf(vec![bound(field, Some(march().start))]);
    let closed = plan(MetricQuery::new("win_rate"));
    assert_eq!(closed[&RecordKind::Deal], in_march(TimeField::DealClosed));
    assert_eq!(
        plan(cohort())[&RecordKind::Deal],
        in_march(TimeField::DealCreated)
    );
    let cycle = plan(MetricQuery::new("sales_cycle_length").policy("start", "lead_created"));
    assert_eq!(cycle[&RecordKind::Deal], in_march(TimeField::DealClosed));
    let leads = KindRead::AnyOf(vec![bound(TimeField::LeadCreated, None)]);
    assert_eq!(cycle[&RecordKind::Lead], leads);
    assert!(!cycle.contains_key(&RecordKind::Activity));
}

fn arb_deal() -> impl Strategy<Value = Record> {
    (
        0usize..3,
        arb_time(),
        0i64..2000,
        1i64..100_000,
        0u8..10,
        0u8..6,
    )
        .prop_map(|(status, created, hours, amount, id, lead)| {
            let status = [DealStatus::Open, DealStatus::Won, DealStatus::Lost][status];
            let closed = (status != DealStatus::Open).then(|| created + Duration::hours(hours));
            edit_sales_deal(
                deal(&format!("d{id}"), status, created, closed, amount),
                |d| {
                    d.lead_id = (lead < 5).then(|| format!("l{lead}").into());
                },
            )
        })
}

proptest! {
    #[test]
    fn deal_states_merge_exactly(
        deals in prop::collection::vec(arb_deal(), 0..30),
        leads in prop::collection::vec((0u8..5, arb_time()), 0..5),
        activities in prop::collection::vec((0u8..10, arb_time()), 0..10),
        split in 0usize..40,
        rotate in 0usize..40,
    ) {
        let mut records = deals;
        records.extend(leads.iter().map(|(i, t)| lead(&format!("l{i}"), *t)));
        records.extend(activities.iter().enumerate().map(|(n, (i, t))| {
            sales_activity(&format!("a{n}"), ActivityDirection::Outbound, *t, None, Some(&format!("d{i}")))
        }));
        let period = Period { window: window(at(2, 1, 0), at(9, 1, 0)), as_of: at(8, 1, 0), time_zone: chrono_tz::UTC };
        let with = |definition: &MetricDefinition, policy: &str, value: &str| {
            Settings::resolve(definition, &MetricQuery::new(definition.id).policy(policy, value), "m").unwrap()
        };
        for basis in ["closed", "cohort"] {
            assert_merge_property(&WIN_RATE, &with(&WIN_RATE.definition, "basis", basis), period, &records, split, rotate);
        }
        for start in ["deal_created", "lead_created", "first_activity"] {
            let settings = with(&SALES_CYCLE_LENGTH.definition, "start", start);
            assert_merge_property(&SALES_CYCLE_LENGTH, &settings, period, &records, split, rotate);
        }
        for metric in [&AVERAGE_DEAL_SIZE, &DEALS_WON, &DEALS_LOST] {
            let settings = Settings::defaults(&metric.definition);
            assert_merge_property(metric, &settings, period, &records, split, rotate);
        }
    }
}
