//! Unit tests of the `subscriptions` family: hand-computed vectors (each with its working), the
//! movements identity, series, groups, `as_of` cut-offs, and the merge property of both states.

use std::collections::BTreeMap;

use chrono::Duration;
use proptest::prelude::*;

use super::movements::ENTRIES;
use super::*;
use crate::calendar::Granularity;
use crate::dataset::TimeBound;
use crate::dataset::{Dataset, KindRead};
use crate::dimension::Dimension;
use crate::eval::{Family, Period, prepare};
use crate::metrics::test_support::*;
use crate::money::{Currency, Money};
use crate::query::MetricQuery;
use crate::records::Record;
use crate::value::{MoneyValue, Ratio, Value};

/// A subscription of `customer` for `mrr` USD minor units over `[start, end)`.
fn sub(
    id: &str,
    customer: &str,
    mrr: i64,
    start: Timestamp,
    end: Option<Timestamp>,
    trial: bool,
) -> Record {
    Record::Subscription(Subscription {
        meta: meta(id),
        customer_id: customer.into(),
        mrr: usd(mrr),
        start_time: start,
        end_time: end,
        trial,
        renewal_due_time: None,
        renewal_outcome: None,
    })
}

/// A paying subscription.
fn paid(id: &str, customer: &str, mrr: i64, start: Timestamp, end: Option<Timestamp>) -> Record {
    sub(id, customer, mrr, start, end, false)
}

fn micro() -> Duration {
    Duration::microseconds(1)
}

fn money_of(result: &MetricResult) -> MoneyValue {
    match &result.value {
        Ok(Value::Money(m)) => *m,
        other => panic!("not money: {other:?}"),
    }
}

fn ratio_of(result: &MetricResult) -> Ratio {
    match &result.value {
        Ok(Value::Ratio(r)) => *r,
        other => panic!("not a ratio: {other:?}"),
    }
}

/// The movements breakdown as key → (amount, customers), after checking its keys, its order and
/// the identity start + new + reactivation + expansion − contraction − churn = end.
fn movements(result: &MetricResult) -> BTreeMap<String, (i64, u64)> {
    let Ok(Value::Breakdown(entries)) = &result.value else {
        panic!("not a breakdown: {result:?}");
    };
    let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ENTRIES);
    let map: BTreeMap<String, (i64, u64)> = entries
        .iter()
        .map(|e| {
            let Some(Value::Money(m)) = &e.value else {
                panic!("entry not money: {e:?}");
            };
            let [
                Component {
                    value: crate::value::ComponentValue::Count(n),
                    ..
                },
            ] = e.components.as_slice()
            else {
                panic!("entry without customer count: {e:?}");
            };
            (e.key.clone(), (m.amount.minor_units, *n))
        })
        .collect();
    let a = |k: &str| map[k].0;
    assert_eq!(
        a("start") + a("new") + a("reactivation") + a("expansion") - a("contraction") - a("churn"),
        a("end"),
        "identity: {map:?}"
    );
    map
}

/// Runs `id` over March with `as_of`.
fn march_as_of(records: Vec<Record>, id: &str, as_of: Timestamp) -> MetricResult {
    let mut req = request(MetricQuery::new(id), march());
    req.as_of = as_of;
    run(records, &req).total
}

fn march_total(records: Vec<Record>, id: &str) -> MetricResult {
    march_as_of(records, id, ymd(2100, 1, 1))
}

/// Evaluated at March's last instant t = 2026-03-31 23:59:59.999999.
fn snapshot_records() -> Vec<Record> {
    let t = ymd(2026, 4, 1) - micro();
    vec![
        // Counted: running since January.
        paid("a", "c1", 1_000, at(1, 1, 0), None),
        // Counted: ends at the window end, after t.
        paid("b", "c1", 500, at(2, 1, 0), Some(ymd(2026, 4, 1))),
        // Not counted: ends exactly at t (end is exclusive).
        paid("c", "c2", 2_000, at(2, 1, 0), Some(t)),
        // Not counted: a trial.
        sub("d", "c3", 300, at(2, 1, 0), None, true),
        // Not counted: starts at the window end, after t.
        paid("e", "c4", 700, ymd(2026, 4, 1), None),
        // Counted: starts exactly at t.
        paid("f", "c5", 401, t, None),
    ]
}

#[test]
fn mrr_arr_arpa_at_the_last_instant_of_the_window() {
    // MRR = a 1000 + b 500 + f 401 = 1901 (c ends at t, d is a trial, e starts after t).
    // ARR = 12 × 1901 = 22812. ARPA = 1901 / 2 customers (c1, c5) = 950.5 → 950 (half to even).
    let mrr = march_total(snapshot_records(), "mrr");
    assert_eq!(money_of(&mrr).amount, usd(1_901));
    assert_eq!(
        mrr.components,
        vec![
            Component::count("subscriptions", 3),
            Component::count("customers", 2)
        ]
    );
    let arr = march_total(snapshot_records(), "arr");
    assert_eq!(money_of(&arr).amount, usd(22_812));
    assert!(
        arr.components
            .contains(&Component::money("mrr", usd(1_901)))
    );
    let arpa = money_of(&march_total(snapshot_records(), "arpa"));
    assert_eq!(arpa.amount, usd(950));
    assert_eq!(arpa.numerator, Some(usd(1_901)));
    assert_eq!(arpa.denominator, Some(2.0));
}

#[test]
fn arpa_rounds_half_to_even_upwards_too() {
    // 1000 + 503 = 1503 over 2 customers = 751.5 → 752 (752 is even).
    let records = vec![
        paid("a", "c1", 1_000, at(1, 1, 0), None),
        paid("b", "c2", 503, at(1, 1, 0), None),
    ];
    assert_eq!(money_of(&march_total(records, "arpa")).amount, usd(752));
}

#[test]
fn mrr_as_of_before_the_window_end() {
    // as_of March 15 00:00 → t = as_of. g starts March 20 (after as_of: not yet) → excluded;
    // h ended March 10 → excluded; i ends March 25 (after t) → 300; j starts exactly at as_of
    // → 50. MRR = 350, ARR = 4200, ARPA = 350 / 2 = 175.
    let records = vec![
        paid("g", "c1", 5_000, at(3, 20, 0), None),
        paid("h", "c2", 7_000, at(1, 1, 0), Some(at(3, 10, 0))),
        paid("i", "c3", 300, at(1, 1, 0), Some(at(3, 25, 0))),
        paid("j", "c4", 50, at(3, 15, 0), None),
    ];
    let as_of = at(3, 15, 0);
    let amount = |id| money_of(&march_as_of(records.clone(), id, as_of)).amount;
    assert_eq!(amount("mrr"), usd(350));
    assert_eq!(amount("arr"), usd(4_200));
    assert_eq!(amount("arpa"), usd(175));
    // One microsecond before j starts: 300 only.
    let before = money_of(&march_as_of(records, "mrr", as_of - micro())).amount;
    assert_eq!(before, usd(300));
}

#[test]
fn no_subscriptions_is_no_data_and_none_running_is_zero() {
    // No subscription at all: NO_DATA for every metric.
    for id in [
        "mrr",
        "arr",
        "arpa",
        "mrr_movements",
        "net_revenue_retention",
        "gross_revenue_retention",
    ] {
        assert_eq!(
            reason(&march_total(Vec::new(), id)),
            UndefinedReason::NoData,
            "{id}"
        );
    }
    // Only a subscription that ended in February and a trial: MRR 0 USD and ARR 0 USD (known, not
    // missing); ARPA 0 / 0 customers → ZERO_DENOMINATOR.
    let records = vec![
        paid("a", "c1", 900, at(1, 1, 0), Some(at(2, 1, 0))),
        sub("b", "c2", 900, at(1, 1, 0), None, true),
    ];
    assert_eq!(
        money_of(&march_total(records.clone(), "mrr")).amount,
        usd(0)
    );
    assert_eq!(
        money_of(&march_total(records.clone(), "arr")).amount,
        usd(0)
    );
    let arpa = march_total(records.clone(), "arpa");
    assert_eq!(reason(&arpa), UndefinedReason::ZeroDenominator);
    // Nobody paid just before March: NRR and GRR have a zero denominator; movements all 0.
    for id in ["net_revenue_retention", "gross_revenue_retention"] {
        let result = march_total(records.clone(), id);
        assert_eq!(reason(&result), UndefinedReason::ZeroDenominator, "{id}");
    }
    let m = movements(&march_total(records, "mrr_movements"));
    assert!(m.values().all(|(amount, _)| *amount == 0), "{m:?}");
}

/// March movements; m0 at 2026-02-28 23:59:59.999999, m1 at 2026-03-31 23:59:59.999999.
fn movement_records() -> Vec<Record> {
    vec![
        // new: the first subscription starts exactly at P.start → m0 0, m1 300.
        paid("n", "c_new", 300, ymd(2026, 3, 1), None),
        // reactivation: paid January 1 – February 15, restarts March 10 → m0 0, m1 250.
        paid("r1", "c_react", 200, at(1, 1, 0), Some(at(2, 15, 0))),
        paid("r2", "c_react", 250, at(3, 10, 0), None),
        // expansion: 1000 since January plus an add-on of 500 from March 5 → 1000 → 1500.
        paid("x1", "c_exp", 1_000, at(1, 1, 0), None),
        paid("x2", "c_exp", 500, at(3, 5, 0), None),
        // contraction: 800 until March 20, then 600 → 800 → 600.
        paid("k1", "c_con", 800, at(1, 1, 0), Some(at(3, 20, 0))),
        paid("k2", "c_con", 600, at(3, 20, 0), None),
        // churn: 400 ending exactly at P.start (counted just before it) → 400 → 0.
        paid("h", "c_churn", 400, at(1, 1, 0), Some(ymd(2026, 3, 1))),
        // unchanged: 100 throughout.
        paid("f", "c_flat", 100, at(1, 1, 0), None),
        // A trial is not "paying before": converting to 900 on March 15 is new.
        sub(
            "t1",
            "c_trial",
            1_000,
            at(2, 1, 0),
            Some(at(3, 15, 0)),
            true,
        ),
        paid("t2", "c_trial", 900, at(3, 15, 0), None),
    ]
}

#[test]
fn mrr_movements_classify_every_customer() {
    // start = 1000 (exp) + 800 (con) + 400 (churn) + 100 (flat) = 2300, 4 customers.
    // new = 300 + 900 = 1200 (2); reactivation 250 (1); expansion 500 (1); contraction 200 (1);
    // churn 400 (1). end = 300 + 250 + 1500 + 600 + 100 + 900 = 3650, 6 customers.
    // Identity: 2300 + 1200 + 250 + 500 − 200 − 400 = 3650.
    let result = march_total(movement_records(), "mrr_movements");
    let m = movements(&result);
    let expected: BTreeMap<String, (i64, u64)> = [
        ("start", (2_300, 4)),
        ("new", (1_200, 2)),
        ("reactivation", (250, 1)),
        ("expansion", (500, 1)),
        ("contraction", (200, 1)),
        ("churn", (400, 1)),
        ("end", (3_650, 6)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(m, expected);
    assert_eq!(
        result.components,
        vec![
            Component::count("customers", 7),
            Component::count("unchanged", 1)
        ]
    );
}

#[test]
fn revenue_retention_over_customers_paying_at_the_start() {
    // Base (m0 > 0): 2300. NRR = (2300 + 500 − 200 − 400) / 2300 = 2200 / 2300.
    // GRR = (2300 − 200 − 400) / 2300 = 1700 / 2300. New and reactivated MRR count in neither.
    let nrr = march_total(movement_records(), "net_revenue_retention");
    assert_eq!(
        ratio_of(&nrr),
        Ratio {
            value: 2_200.0 / 2_300.0,
            numerator: 2_200.0,
            denominator: 2_300.0
        }
    );
    assert_eq!(
        nrr.components,
        vec![
            Component::money("m0_total", usd(2_300)),
            Component::money("expansion", usd(500)),
            Component::money("contraction", usd(200)),
            Component::money("churn", usd(400)),
            Component::count("customers_at_start", 4),
        ]
    );
    let grr = ratio_of(&march_total(movement_records(), "gross_revenue_retention"));
    assert_eq!((grr.numerator, grr.denominator), (1_700.0, 2_300.0));
}

#[test]
fn movements_as_of_inside_the_window() {
    // as_of March 12: m1 is taken at March 12. c_con's switch on March 20 and c_trial's paid
    // subscription of March 15 have not happened: c_con unchanged at 800, c_trial 0 → 0.
    // start 2300; new 300 (c_new); reactivation 250; expansion 500; churn 400; contraction 0.
    // end = 300 + 250 + 1500 + 800 + 100 = 2950 = 2300 + 300 + 250 + 500 − 400.
    let m = movements(&march_as_of(
        movement_records(),
        "mrr_movements",
        at(3, 12, 0),
    ));
    assert_eq!(m["new"], (300, 1));
    assert_eq!(m["contraction"], (0, 0));
    assert_eq!(m["end"], (2_950, 5));
    // NRR = (2300 + 500 − 400) / 2300 = 2400 / 2300.
    let nrr = march_as_of(movement_records(), "net_revenue_retention", at(3, 12, 0));
    assert_eq!(ratio_of(&nrr).numerator, 2_400.0);
}

#[test]
fn monthly_series_of_mrr_and_chained_movements() {
    // A: c1 1000 from January 15. B: c2 500 from February 1 until April 1. C: a trial.
    // MRR at each month's last instant: Jan 1000, Feb 1500, Mar 1500 (B ends April 1), Apr 1000.
    // Movements: Jan new 1000; Feb new 500; Mar unchanged; Apr churn 500. Each bucket's start
    // is the previous bucket's end. Whole window: start 0, new 1000 (c1), end 1000 (c2 came
    // and went inside the window).
    let records = vec![
        paid("A", "c1", 1_000, at(1, 15, 0), None),
        paid("B", "c2", 500, at(2, 1, 0), Some(at(4, 1, 0))),
        sub("C", "c3", 70, at(3, 1, 0), None, true),
    ];
    let series_request = |id| {
        let mut req = request(
            MetricQuery::new(id),
            window(ymd(2026, 1, 1), ymd(2026, 5, 1)),
        );
        req.granularity = Granularity::Month;
        req
    };
    let report = run(records.clone(), &series_request("mrr"));
    let got: Vec<i64> = report
        .series
        .iter()
        .map(|p| money_of(&p.result).amount.minor_units)
        .collect();
    assert_eq!(got, vec![1_000, 1_500, 1_500, 1_000]);
    assert_eq!(report.series[2].window, march());
    assert_eq!(money_of(&report.total).amount, usd(1_000));

    let report = run(records, &series_request("mrr_movements"));
    let buckets: Vec<BTreeMap<String, (i64, u64)>> =
        report.series.iter().map(|p| movements(&p.result)).collect();
    let amount = |i: usize, k: &str| buckets[i][k].0;
    assert_eq!(
        (0..4).map(|i| amount(i, "new")).collect::<Vec<_>>(),
        [1_000, 500, 0, 0]
    );
    assert_eq!(
        (0..4).map(|i| amount(i, "churn")).collect::<Vec<_>>(),
        [0, 0, 0, 500]
    );
    for i in 1..4 {
        assert_eq!(amount(i, "start"), amount(i - 1, "end"), "bucket {i}");
    }
    let total = movements(&report.total);
    assert_eq!(
        (total["start"].0, total["new"].0, total["end"].0),
        (0, 1_000, 1_000)
    );
}

#[test]
fn grouped_by_customer() {
    // Per customer in March: c_exp MRR 1500, NRR 1500 / 1000; c_churn MRR 0, NRR 0 / 400;
    // c_new MRR 300, NRR undefined (nothing at the start).
    let records = movement_records();
    let grouped = |id| {
        let mut req = request(MetricQuery::new(id), march());
        req.group_by = vec![Dimension::CustomerId];
        let report = run(records.clone(), &req);
        report
            .groups
            .into_iter()
            .map(|g| (g.key[0].clone().unwrap_or_default(), g.total))
            .collect::<BTreeMap<String, MetricResult>>()
    };
    let mrr = grouped("mrr");
    assert_eq!(mrr.len(), 7);
    assert_eq!(money_of(&mrr["c_exp"]).amount, usd(1_500));
    assert_eq!(money_of(&mrr["c_churn"]).amount, usd(0));
    assert_eq!(money_of(&mrr["c_new"]).amount, usd(300));
    let nrr = grouped("net_revenue_retention");
    assert_eq!(ratio_of(&nrr["c_exp"]).value, 1.5);
    assert_eq!(ratio_of(&nrr["c_churn"]).value, 0.0);
    assert_eq!(reason(&nrr["c_new"]), UndefinedReason::ZeroDenominator);
    let moves = grouped("mrr_movements");
    assert_eq!(movements(&moves["c_react"])["reactivation"], (250, 1));
    assert_eq!(movements(&moves["c_con"])["contraction"], (200, 1));
}

#[test]
fn mixed_currencies_are_an_error() {
    let mut eur = paid("b", "c2", 5, at(1, 1, 0), None);
    if let Record::Subscription(s) = &mut eur {
        s.mrr = Money::new(Currency::parse("EUR").unwrap(), 5);
    }
    let dataset = Dataset::from_records(vec![paid("a", "c1", 10, at(1, 1, 0), None), eur]);
    for id in [
        "mrr",
        "arr",
        "arpa",
        "mrr_movements",
        "net_revenue_retention",
    ] {
        let prepared = prepare(&request(MetricQuery::new(id), march())).unwrap();
        let error = prepared.evaluate(&dataset, None).unwrap_err();
        let expected = EvalError::MixedCurrencies {
            metric: id.to_owned(),
            currencies: vec!["EUR".to_owned(), "USD".to_owned()],
        };
        assert_eq!(error, expected, "{id}");
    }
}

#[test]
fn plans_read_every_subscription_started_before_the_span_end() {
    let span = march();
    for plan in [
        MRR.plan(&Settings::defaults(&MRR.definition), span, ymd(2100, 1, 1)),
        MRR_MOVEMENTS.plan(
            &Settings::defaults(&MRR_MOVEMENTS.definition),
            span,
            ymd(2100, 1, 1),
        ),
    ] {
        assert_eq!(
            plan.kinds.get(&RecordKind::Subscription),
            Some(&KindRead::AnyOf(vec![TimeBound {
                field: TimeField::SubscriptionStart,
                from: None,
                until: Some(span.end),
            }]))
        );
        assert_eq!(plan.kinds.len(), 1);
    }
}

fn arb_subscriptions() -> impl Strategy<Value = Vec<Record>> {
    let one = (
        0u8..5,
        0i64..5_000,
        arb_time(),
        prop::option::of(0i64..3_000),
        0u8..4,
        0u32..1000,
    )
        .prop_map(|(c, mrr, start, hours, trial, id)| {
            let end = hours.map(|h| start + Duration::hours(h));
            sub(
                &format!("s{id}"),
                &format!("c{c}"),
                mrr,
                start,
                end,
                trial == 0,
            )
        });
    prop::collection::vec(one, 0..40)
}

proptest! {
    #[test]
    fn subscription_states_merge_exactly(
        records in arb_subscriptions(),
        split in 0usize..40,
        rotate in 0usize..40,
        month in 1u32..12,
        as_of in prop::option::of(arb_time()),
    ) {
        let period = Period {
            window: window(at(month, 1, 0), at(month + 1, 1, 0)),
            as_of: as_of.unwrap_or(ymd(2100, 1, 1)),
            time_zone: chrono_tz::UTC,
        };
        for metric in [&MRR, &ARR, &ARPA] {
            assert_merge_property(metric, &Settings::defaults(&metric.definition), period, &records, split, rotate);
        }
        for metric in [&MRR_MOVEMENTS, &NET_REVENUE_RETENTION, &GROSS_REVENUE_RETENTION] {
            assert_merge_property(metric, &Settings::defaults(&metric.definition), period, &records, split, rotate);
        }
    }

    #[test]
    fn movements_identity_holds_for_any_data(records in arb_subscriptions(), month in 1u32..12) {
        let req = request(MetricQuery::new("mrr_movements"), window(at(month, 1, 0), at(month + 1, 1, 0)));
        let report = run(records, &req);
        if report.total.value.is_ok() {
            movements(&report.total);
        }
    }
}
