//! Record conversion tests: one valid record of each kind, and the exact path of each rule.

use crm_metrics_engine::records::{DealStatus, Record, RecordKind, ScoreDirection};

use super::fixtures::*;
use super::pb;
use super::pb::crm_record::Kind;
use super::records_from_proto;

fn batch(kinds: Vec<Kind>) -> Vec<pb::CrmRecord> {
    kinds
        .into_iter()
        .map(|kind| pb::CrmRecord { kind: Some(kind) })
        .collect()
}

/// The problem paths of a one-record batch.
fn paths(kind: Kind) -> Vec<String> {
    match records_from_proto(batch(vec![kind])) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.into_iter().map(|p| p.field).collect(),
    }
}

#[track_caller]
fn rejects(kind: Kind, expected: &[&str]) {
    assert_eq!(paths(kind), expected);
}

#[test]
fn a_valid_record_of_each_kind_converts() {
    let records = records_from_proto(batch(every_kind())).unwrap();
    let kinds: Vec<RecordKind> = records.iter().map(Record::kind).collect();
    assert_eq!(kinds, RecordKind::ALL);
    let Record::Deal(deal) = &records[2] else {
        panic!("deal expected");
    };
    assert_eq!(deal.status, DealStatus::Won);
    assert_eq!(deal.amount.minor_units, 50_000);
    assert_eq!(deal.meta.attributes.get("region"), Some("emea"));
    assert_eq!(deal.stage_history.len(), 2);
    let Record::SurveyResponse(survey) = &records[7] else {
        panic!("survey expected");
    };
    assert_eq!(survey.direction, ScoreDirection::HigherIsBetter);
    let Record::ExchangeRate(rate) = &records[13] else {
        panic!("exchange rate expected");
    };
    assert_eq!((rate.rate_units, rate.rate_scale), (10845, 4));
}

#[test]
fn an_unset_oneof_is_reported() {
    let problems = records_from_proto(vec![pb::CrmRecord { kind: None }]).unwrap_err();
    assert_eq!(problems[0].field, "records[0].kind");
}

#[test]
fn paths_carry_the_record_index() {
    let mut bad = survey();
    bad.score = 11;
    let problems = records_from_proto(batch(vec![
        Kind::Customer(customer()),
        Kind::Order(order()),
        Kind::Deal(deal()),
        Kind::SurveyResponse(bad),
    ]))
    .unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "records[3].survey_response.score");
}

#[test]
fn ids_and_required_fields() {
    let mut c = customer();
    c.id = String::new();
    c.acquired_time = None;
    c.acquisition_channel = Some(String::new());
    rejects(
        Kind::Customer(c),
        &[
            "records[0].customer.id",
            "records[0].customer.acquired_time",
            "records[0].customer.acquisition_channel",
        ],
    );
    let mut o = order();
    o.id = "x".repeat(129);
    o.customer_id = String::new();
    rejects(
        Kind::Order(o),
        &["records[0].order.id", "records[0].order.customer_id"],
    );
    let mut d = deal();
    d.stage = String::new();
    d.amount = None;
    rejects(
        Kind::Deal(d),
        &["records[0].deal.amount", "records[0].deal.stage"],
    );
    let mut t = ticket();
    t.channel = String::new();
    rejects(Kind::Ticket(t), &["records[0].ticket.channel"]);
    let mut c = customer();
    c.attributes.insert(String::new(), "x".into());
    rejects(Kind::Customer(c), &["records[0].customer.attributes[]"]);
}

#[test]
fn enums_must_be_specified() {
    let mut d = deal();
    d.status = 0;
    d.deal_type = 77;
    rejects(
        Kind::Deal(d),
        &["records[0].deal.status", "records[0].deal.deal_type"],
    );
    let mut a = activity();
    a.activity_type = 0;
    a.direction = 0;
    rejects(
        Kind::Activity(a),
        &[
            "records[0].activity.activity_type",
            "records[0].activity.direction",
        ],
    );
    let mut s = subscription();
    s.renewal_outcome = Some(0);
    rejects(
        Kind::Subscription(s),
        &["records[0].subscription.renewal_outcome"],
    );
    let mut k = cost();
    k.category = 0;
    rejects(Kind::Cost(k), &["records[0].cost.category"]);
    let mut e = engagement();
    e.event_type = 0;
    rejects(
        Kind::EngagementEvent(e),
        &["records[0].engagement_event.event_type"],
    );
    let mut u = crm_user();
    u.role = 0;
    rejects(Kind::CrmUser(u), &["records[0].crm_user.role"]);
    let mut ue = user_event();
    ue.kind = 0;
    rejects(Kind::UserEvent(ue), &["records[0].user_event.kind"]);
    let mut o = order();
    o.kind = 0;
    rejects(Kind::Order(o), &["records[0].order.kind"]);
    let mut r = survey();
    r.survey_type = 0;
    rejects(
        Kind::SurveyResponse(r),
        &["records[0].survey_response.survey_type"],
    );
}

#[test]
fn money_rules() {
    let mut d = deal();
    d.amount = usd(-1);
    rejects(Kind::Deal(d), &["records[0].deal.amount.units_minor"]);
    let mut q = quota();
    q.amount = Some(pb::Money {
        currency_code: "usd".into(),
        units_minor: 1,
    });
    rejects(Kind::Quota(q), &["records[0].quota.amount.currency_code"]);
    let mut o = order();
    o.cost = Some(pb::Money {
        currency_code: "EUR".into(),
        units_minor: 1,
    });
    rejects(Kind::Order(o), &["records[0].order.cost.currency_code"]);
    let mut x = exchange_rate();
    x.currency = "EURO".into();
    x.date = "2026-13-01".into();
    x.rate = "-1".into();
    rejects(
        Kind::ExchangeRate(x),
        &[
            "records[0].exchange_rate.currency",
            "records[0].exchange_rate.date",
            "records[0].exchange_rate.rate",
        ],
    );
}

#[test]
fn timestamps_must_be_in_range() {
    let mut c = customer();
    c.acquired_time = ts(-1);
    c.churned_time = Some(prost_types::Timestamp {
        seconds: T0,
        nanos: 1_000_000_000,
    });
    rejects(
        Kind::Customer(c),
        &[
            "records[0].customer.acquired_time",
            "records[0].customer.churned_time",
        ],
    );
    let mut e = engagement();
    e.occurred_time = ts(super::super::END_TIMESTAMP_SECONDS);
    rejects(
        Kind::EngagementEvent(e),
        &["records[0].engagement_event.occurred_time"],
    );
}

#[test]
fn deal_rules() {
    let mut d = deal();
    d.closed_time = ts(T0 - 1);
    rejects(Kind::Deal(d), &["records[0].deal.closed_time"]);
    let mut d = deal();
    d.closed_time = None;
    rejects(Kind::Deal(d), &["records[0].deal.closed_time"]);
    let mut d = deal();
    d.status = pb::DealStatus::Lost as i32;
    d.closed_time = None;
    rejects(Kind::Deal(d), &["records[0].deal.closed_time"]);
    let mut d = deal();
    d.status = pb::DealStatus::Open as i32;
    let open_with_close = paths(Kind::Deal(d));
    assert_eq!(open_with_close, ["records[0].deal.closed_time"]);
    let mut d = deal();
    d.status = pb::DealStatus::Open as i32;
    d.closed_time = None;
    assert!(paths(Kind::Deal(d)).is_empty());
    let mut d = deal();
    d.probability_percent = Some(101);
    rejects(Kind::Deal(d), &["records[0].deal.probability_percent"]);
    let mut d = deal();
    d.stage_history.swap(0, 1);
    rejects(
        Kind::Deal(d),
        &["records[0].deal.stage_history[1].entered_time"],
    );
    let mut d = deal();
    d.stage_history[0].stage = String::new();
    d.stage_history[1].entered_time = None;
    rejects(
        Kind::Deal(d),
        &[
            "records[0].deal.stage_history[0].stage",
            "records[0].deal.stage_history[1].entered_time",
        ],
    );
}

#[test]
fn time_order_rules() {
    let mut t = ticket();
    t.first_response_time = ts(T0 - 1);
    t.resolved_time = ts(T0 - 1);
    rejects(
        Kind::Ticket(t),
        &[
            "records[0].ticket.first_response_time",
            "records[0].ticket.resolved_time",
        ],
    );
    let mut q = quota();
    q.period_end = q.period_start;
    rejects(Kind::Quota(q), &["records[0].quota.period_end"]);
    let mut s = subscription();
    s.end_time = ts(T0 - 1);
    rejects(Kind::Subscription(s), &["records[0].subscription.end_time"]);
    let mut s = subscription();
    s.end_time = s.start_time;
    assert!(paths(Kind::Subscription(s)).is_empty());
    let mut s = subscription();
    s.renewal_due_time = None;
    rejects(
        Kind::Subscription(s),
        &["records[0].subscription.renewal_outcome"],
    );
    let mut c = customer();
    c.churned_time = ts(T0 - 1);
    rejects(Kind::Customer(c), &["records[0].customer.churned_time"]);
    let mut l = lead();
    l.converted_time = ts(T0 - 1);
    rejects(Kind::Lead(l), &["records[0].lead.converted_time"]);
    let mut o = order();
    o.fulfilled_time = ts(T0 - 1);
    rejects(Kind::Order(o), &["records[0].order.fulfilled_time"]);
    let mut u = crm_user();
    u.deactivated_time = ts(T0 - 1);
    rejects(Kind::CrmUser(u), &["records[0].crm_user.deactivated_time"]);
    let mut a = activity();
    a.duration_seconds = Some(-1);
    rejects(Kind::Activity(a), &["records[0].activity.duration_seconds"]);
    let mut t = ticket();
    t.contact_count = 0;
    assert!(paths(Kind::Ticket(t)).is_empty());
}

#[test]
fn survey_scales_scores_and_directions() {
    let with = |survey_type: pb::SurveyType, min, max, score, direction: pb::ScoreDirection| {
        let mut r = survey();
        r.survey_type = survey_type as i32;
        (r.scale_min, r.scale_max, r.score) = (min, max, score);
        r.direction = direction as i32;
        paths(Kind::SurveyResponse(r))
    };
    use pb::ScoreDirection as D;
    use pb::SurveyType as S;
    let ok: Vec<String> = Vec::new();
    assert_eq!(with(S::Nps, 0, 10, 0, D::Unspecified), ok);
    assert_eq!(with(S::Nps, 1, 5, 5, D::HigherIsBetter), ok);
    assert_eq!(with(S::Csat, 1, 5, 4, D::Unspecified), ok);
    assert_eq!(with(S::Csat, 1, 10, 10, D::Unspecified), ok);
    assert_eq!(with(S::Ces, 1, 7, 2, D::LowerIsBetter), ok);
    assert_eq!(with(S::Ces, 1, 5, 5, D::HigherIsBetter), ok);
    assert_eq!(
        with(S::Nps, 1, 10, 5, D::Unspecified),
        ["records[0].survey_response.scale_min"]
    );
    assert_eq!(
        with(S::Csat, 0, 10, 5, D::Unspecified),
        ["records[0].survey_response.scale_min"]
    );
    assert_eq!(
        with(S::Ces, 1, 10, 5, D::HigherIsBetter),
        ["records[0].survey_response.scale_min"]
    );
    assert_eq!(
        with(S::Nps, 1, 5, 0, D::Unspecified),
        ["records[0].survey_response.score"]
    );
    assert_eq!(
        with(S::Ces, 1, 7, 8, D::HigherIsBetter),
        ["records[0].survey_response.score"]
    );
    assert_eq!(
        with(S::Ces, 1, 7, 3, D::Unspecified),
        ["records[0].survey_response.direction"]
    );
    assert_eq!(
        with(S::Nps, 0, 10, 3, D::LowerIsBetter),
        ["records[0].survey_response.direction"]
    );
    assert_eq!(
        with(S::Csat, 1, 5, 3, D::LowerIsBetter),
        ["records[0].survey_response.direction"]
    );
}

#[test]
fn duplicate_ids_must_have_identical_content() {
    let identical =
        records_from_proto(batch(vec![Kind::Deal(deal()), Kind::Deal(deal())])).unwrap();
    assert_eq!(identical.len(), 2);
    // The same id in another kind is a different record.
    let mut as_lead = lead();
    as_lead.id = "d1".into();
    assert!(records_from_proto(batch(vec![Kind::Deal(deal()), Kind::Lead(as_lead)])).is_ok());
    let mut changed = deal();
    changed.stage = "negotiation".into();
    let problems = records_from_proto(batch(vec![
        Kind::Deal(deal()),
        Kind::Customer(customer()),
        Kind::Deal(changed),
    ]))
    .unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "records[2].deal.id");
    assert!(problems[0].description.contains("records[0]"));
    let mut newer = deal();
    newer.version = 4;
    assert!(records_from_proto(batch(vec![Kind::Deal(deal()), Kind::Deal(newer)])).is_err());
}

#[test]
fn sub_microsecond_digits_are_dropped() {
    let mut e = engagement();
    e.occurred_time = Some(prost_types::Timestamp {
        seconds: T0,
        nanos: 1_999,
    });
    let records = records_from_proto(batch(vec![Kind::EngagementEvent(e)])).unwrap();
    let Record::EngagementEvent(event) = &records[0] else {
        panic!("engagement event expected");
    };
    assert_eq!(event.occurred_time.timestamp_subsec_nanos(), 1_000);
}
