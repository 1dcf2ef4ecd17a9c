//! Unit tests of `customer_health_score`: components, rescaled weights, bands, per-customer
//! groups, parameter checks, and the merge property.

use proptest::prelude::*;

use super::*;
use crate::dimension::Dimension;
use crate::eval::Period;
use crate::metrics::test_support::*;
use crate::query::{MetricQuery, ParamValue};
use crate::records::{EngagementEvent, EngagementType, Record, SurveyType, Ticket};

fn event(id: &str, customer: &str, t: Timestamp) -> Record {
    Record::EngagementEvent(EngagementEvent {
        meta: meta(id),
        customer_id: customer.into(),
        event_type: EngagementType::WebVisit,
        occurred_time: t,
    })
}

fn ticket(id: &str, customer: &str, created: Timestamp, resolved: Option<Timestamp>) -> Record {
    Record::Ticket(Ticket {
        meta: meta(id),
        customer_id: Some(customer.into()),
        created_time: created,
        first_response_time: None,
        resolved_time: resolved,
        assignee_id: None,
        channel: "email".into(),
        contact_count: 1,
        reopened: false,
    })
}

fn answer(
    id: &str,
    customer: &str,
    survey_type: SurveyType,
    score: i32,
    scale: (i32, i32),
    t: Timestamp,
) -> Record {
    let mut record = survey(id, survey_type, score, scale, t);
    if let Record::SurveyResponse(s) = &mut record {
        s.customer_id = customer.into();
    }
    record
}

/// Evaluated as of 31 Mar 00:00 (inside March, so t = as_of).
/// a: 5 events since 1 Mar (+ 2 older) → usage 5/10 = 0.5; latest NPS 8 of 0–10 → 0.8;
///    1 open ticket of 5 → 0.8; last order 14 Feb, 45 days before → 1 − 45/90 = 0.5.
///    Equal weights: 100 × (0.5 + 0.8 + 0.8 + 0.5) / 4 = 65 (amber).
/// b: only a CSAT 5 of 1–5 → feedback 1, the other weights rescaled away → 100 (green).
/// gone: churned before t → not scored. quiet: no signal at all → not scored.
fn sample() -> Vec<Record> {
    let mut records = vec![
        customer("a", ymd(2025, 1, 1), None),
        customer("b", ymd(2025, 1, 1), None),
        customer("gone", ymd(2025, 1, 1), Some(at(3, 15, 0))),
        customer("quiet", ymd(2025, 1, 1), None),
        event("old1", "a", at(2, 10, 0)),
        event("old2", "a", at(2, 11, 0)),
        answer("s1", "a", SurveyType::Nps, 2, (0, 10), at(3, 1, 0)),
        answer("s2", "a", SurveyType::Nps, 8, (0, 10), at(3, 10, 0)),
        ticket("t-open", "a", at(3, 20, 0), None),
        ticket("t-done", "a", at(3, 1, 0), Some(at(3, 2, 0))),
        order("o-old", "a", at(1, 5, 0), 100),
        order("o-last", "a", at(2, 14, 0), 100),
        answer("s3", "b", SurveyType::Csat, 5, (1, 5), at(3, 3, 0)),
        answer("s4", "gone", SurveyType::Csat, 1, (1, 5), at(3, 3, 0)),
    ];
    for i in 0..5 {
        records.push(event(&format!("e{i}"), "a", at(3, 5 + i, 0)));
    }
    records
}

fn health_request(query: MetricQuery) -> crate::query::ComputeRequest {
    let mut req = request(query, march());
    req.as_of = at(3, 31, 0);
    req
}

#[test]
fn mean_score_and_bands() {
    let report = run(
        sample(),
        &health_request(MetricQuery::new("customer_health_score")),
    );
    assert_eq!(report.total.value, Ok(Value::Score(82.5)));
    let components = &report.total.components;
    assert!(components.contains(&Component::count("customers", 2)));
    assert!(components.contains(&Component::count("amber", 1)));
    assert!(components.contains(&Component::count("green", 1)));
    assert!(components.contains(&Component::count("red", 0)));
}

#[test]
fn grouped_by_customer_each_gets_its_score_components_and_applied_weights() {
    let mut req = health_request(MetricQuery::new("customer_health_score"));
    req.group_by = vec![Dimension::CustomerId];
    let report = run(sample(), &req);
    let group = |id: &str| {
        report
            .groups
            .iter()
            .find(|g| g.key == vec![Some(id.to_owned())])
            .unwrap_or_else(|| panic!("no group {id}"))
            .total
            .clone()
    };
    let a = group("a");
    assert_eq!(a.value, Ok(Value::Score(65.0)));
    assert!(a.components.contains(&Component::number("usage", 0.5)));
    assert!(a.components.contains(&Component::number("feedback", 0.8)));
    assert!(a.components.contains(&Component::number("support", 0.8)));
    assert!(a.components.contains(&Component::number("recency", 0.5)));
    let b = group("b");
    assert_eq!(b.value, Ok(Value::Score(100.0)));
    assert!(
        b.components
            .contains(&Component::number("feedback_weight", 1.0))
    );
    assert!(!b.components.iter().any(|c| c.name == "usage"));
    assert_eq!(
        group("gone").value.unwrap_err().reason,
        UndefinedReason::NoData
    );
}

#[test]
fn weights_parameter_changes_the_mix_and_is_checked() {
    // a with weights 0.4/0.2/0.2/0.2: 100 × (0.2 + 0.16 + 0.16 + 0.1) = 62; b still 100.
    let weights = |pairs: &[(&str, f64)]| {
        ParamValue::NumberMap(pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
    };
    let query = MetricQuery::new("customer_health_score").parameter(
        "weights",
        weights(&[
            ("usage", 0.4),
            ("feedback", 0.2),
            ("support", 0.2),
            ("recency", 0.2),
        ]),
    );
    let mut req = health_request(query);
    req.group_by = vec![Dimension::CustomerId];
    let report = run(sample(), &req);
    let Ok(Value::Score(a)) = report.groups[0].total.value else {
        panic!("a is scored");
    };
    assert!((a - 62.0).abs() < 1e-9, "{a}");
    let bad = MetricQuery::new("customer_health_score")
        .parameter("weights", weights(&[("usage", 0.5), ("mood", 0.6)]));
    let problems = crate::eval::prepare(&health_request(bad))
        .err()
        .expect("rejected");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems
            .iter()
            .all(|p| p.field == "metrics[0].parameters[weights]")
    );
}

fn arb_record() -> impl Strategy<Value = Record> {
    (0u8..5, arb_time(), 0u8..4, 0u32..300, 0i32..11).prop_map(|(kind, t, c, id, score)| {
        let customer_id = format!("c{c}");
        match kind {
            0 => customer(&customer_id, t, None),
            1 => event(&format!("e{id}"), &customer_id, t),
            2 => answer(
                &format!("s{id}"),
                &customer_id,
                SurveyType::Nps,
                score,
                (0, 10),
                t,
            ),
            3 => ticket(&format!("t{id}"), &customer_id, t, None),
            _ => order(&format!("o{id}"), &customer_id, t, 100),
        }
    })
}

proptest! {
    #[test]
    fn health_states_merge_exactly(records in prop::collection::vec(arb_record(), 0..40), split in 0usize..40, rotate in 0usize..40) {
        let period = Period { window: window(at(2, 1, 0), at(9, 1, 0)), as_of: ymd(2100, 1, 1), time_zone: chrono_tz::UTC };
        assert_merge_property(&CUSTOMER_HEALTH_SCORE, &Settings::defaults(&CUSTOMER_HEALTH_SCORE.definition), period, &records, split, rotate);
    }
}

#[test]
fn health_reads_no_amounts_so_a_missing_exchange_rate_cannot_fail_it() {
    // The sample's orders in EUR and no exchange rate at all. Health uses only when orders
    // happened: in USD it is the same 82.5, and the rates are not even read. Revenue over the
    // same records needs the missing rate and says so.
    use crate::eval::prepare;
    use crate::money::{Currency, Money};
    let eur = Currency::parse("EUR").unwrap();
    let records = sample().into_iter().map(|record| match record {
        Record::Order(mut o) => {
            o.amount = Money::new(eur, o.amount.minor_units);
            Record::Order(o)
        }
        other => other,
    });
    let dataset = crate::dataset::Dataset::from_records(records);
    let usd = Currency::parse("USD");

    let health = prepare(&health_request(MetricQuery::new("customer_health_score"))).unwrap();
    let report = health.evaluate(&dataset, usd).unwrap().remove(0);
    assert_eq!(report.total.value, Ok(Value::Score(82.5)));
    assert!(
        !health
            .plan(usd)
            .kinds
            .contains_key(&RecordKind::ExchangeRate)
    );

    let revenue = prepare(&health_request(MetricQuery::new("revenue"))).unwrap();
    assert!(
        revenue
            .plan(usd)
            .kinds
            .contains_key(&RecordKind::ExchangeRate)
    );
    assert!(matches!(
        revenue.evaluate(&dataset, usd),
        Err(EvalError::Unreachable { .. })
    ));
}
