//! Record conversion tests: one valid record of each kind, and the exact path of each rule.

use std::collections::BTreeMap;

use crm_metrics_engine::records::{DealStatus, Record, RecordKind, ScoreDirection};

use super::pb;
use super::pb::record::Kind;
use super::records_from_proto;

const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3600;

fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn usd(units_minor: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: "USD".into(),
        units_minor,
    })
}

fn attrs() -> BTreeMap<String, String> {
    BTreeMap::from([("region".to_owned(), "emea".to_owned())])
}

fn customer() -> pb::Customer {
    pb::Customer {
        id: "c1".into(),
        version: 1,
        attributes: attrs(),
        name: Some("Ada".into()),
        email: None,
        phone: None,
        acquired_time: ts(T0),
        churned_time: ts(T0 + HOUR),
        acquisition_channel: Some("paid_search".into()),
    }
}

fn lead() -> pb::Lead {
    pb::Lead {
        id: "l1".into(),
        version: 1,
        attributes: attrs(),
        created_time: ts(T0),
        source: Some("web_form".into()),
        owner_id: Some("u1".into()),
        qualified_time: ts(T0 + HOUR),
        converted_time: ts(T0 + 2 * HOUR),
        customer_id: Some("c1".into()),
        disqualified_time: None,
        first_response_time: ts(T0 + 60),
        name: None,
        email: Some("a@example.com".into()),
        phone: None,
    }
}

fn deal() -> pb::Deal {
    pb::Deal {
        id: "d1".into(),
        version: 3,
        attributes: attrs(),
        created_time: ts(T0),
        owner_id: Some("u1".into()),
        amount: usd(500_00),
        status: pb::DealStatus::Won as i32,
        closed_time: ts(T0 + 10 * HOUR),
        stage: "closed_won".into(),
        stage_history: vec![
            pb::StageEntry {
                stage: "qualified".into(),
                entered_time: ts(T0),
            },
            pb::StageEntry {
                stage: "closed_won".into(),
                entered_time: ts(T0 + 10 * HOUR),
            },
        ],
        probability_percent: Some(100),
        deal_type: pb::DealType::NewBusiness as i32,
        lead_id: Some("l1".into()),
        customer_id: Some("c1".into()),
    }
}

fn order() -> pb::Order {
    pb::Order {
        id: "o1".into(),
        version: 1,
        attributes: attrs(),
        customer_id: "c1".into(),
        amount: usd(100_00),
        cost: usd(60_00),
        ordered_time: ts(T0),
        fulfilled_time: ts(T0 + HOUR),
        kind: pb::OrderKind::New as i32,
    }
}

fn subscription() -> pb::Subscription {
    pb::Subscription {
        id: "s1".into(),
        version: 1,
        attributes: attrs(),
        customer_id: "c1".into(),
        mrr: usd(49_00),
        start_time: ts(T0),
        end_time: None,
        trial: false,
        renewal_due_time: ts(T0 + 8760 * HOUR),
        renewal_outcome: Some(pb::RenewalOutcome::Pending as i32),
    }
}

fn activity() -> pb::Activity {
    pb::Activity {
        id: "a1".into(),
        version: 1,
        attributes: attrs(),
        activity_type: pb::ActivityType::Call as i32,
        direction: pb::ActivityDirection::Outbound as i32,
        occurred_time: ts(T0),
        duration_seconds: Some(300),
        lead_id: Some("l1".into()),
        deal_id: None,
        customer_id: None,
        owner_id: Some("u1".into()),
    }
}

fn ticket() -> pb::Ticket {
    pb::Ticket {
        id: "t1".into(),
        version: 1,
        attributes: attrs(),
        customer_id: Some("c1".into()),
        created_time: ts(T0),
        first_response_time: ts(T0 + 60),
        resolved_time: ts(T0 + HOUR),
        assignee_id: Some("u2".into()),
        channel: "email".into(),
        contact_count: 1,
        reopened: false,
    }
}

fn survey() -> pb::SurveyResponse {
    pb::SurveyResponse {
        id: "r1".into(),
        version: 1,
        attributes: attrs(),
        survey_type: pb::SurveyType::Nps as i32,
        score: 9,
        scale_min: 0,
        scale_max: 10,
        direction: 0,
        responded_time: ts(T0),
        customer_id: "c1".into(),
        ticket_id: None,
        channel: Some("email".into()),
        comment: Some("great".into()),
    }
}

fn cost() -> pb::Cost {
    pb::Cost {
        id: "k1".into(),
        version: 1,
        attributes: attrs(),
        category: pb::CostCategory::AcquisitionMarketing as i32,
        channel: Some("paid_search".into()),
        amount: usd(5_000_00),
        incurred_time: ts(T0),
    }
}

fn engagement() -> pb::EngagementEvent {
    pb::EngagementEvent {
        id: "e1".into(),
        version: 1,
        attributes: attrs(),
        customer_id: "c1".into(),
        event_type: pb::EngagementType::WebVisit as i32,
        occurred_time: ts(T0),
    }
}

fn crm_user() -> pb::CrmUser {
    pb::CrmUser {
        id: "u1".into(),
        version: 1,
        attributes: attrs(),
        role: pb::UserRole::Sales as i32,
        team: Some("north".into()),
        licensed: true,
        created_time: ts(T0),
        deactivated_time: None,
    }
}

fn user_event() -> pb::UserEvent {
    pb::UserEvent {
        id: "ue1".into(),
        version: 1,
        attributes: attrs(),
        user_id: "u1".into(),
        kind: pb::UserEventKind::FeatureUse as i32,
        feature: Some("reports".into()),
        occurred_time: ts(T0),
    }
}

fn quota() -> pb::Quota {
    pb::Quota {
        id: "q1".into(),
        version: 1,
        attributes: attrs(),
        owner_id: "u1".into(),
        period_start: ts(T0),
        period_end: ts(T0 + 744 * HOUR),
        amount: usd(100_000_00),
    }
}

fn exchange_rate() -> pb::ExchangeRate {
    pb::ExchangeRate {
        id: "x1".into(),
        version: 1,
        attributes: BTreeMap::new(),
        currency: "EUR".into(),
        date: "2026-01-01".into(),
        rate: "1.0845".into(),
    }
}

fn every_kind() -> Vec<Kind> {
    vec![
        Kind::Customer(customer()),
        Kind::Lead(lead()),
        Kind::Deal(deal()),
        Kind::Order(order()),
        Kind::Subscription(subscription()),
        Kind::Activity(activity()),
        Kind::Ticket(ticket()),
        Kind::SurveyResponse(survey()),
        Kind::Cost(cost()),
        Kind::EngagementEvent(engagement()),
        Kind::CrmUser(crm_user()),
        Kind::UserEvent(user_event()),
        Kind::Quota(quota()),
        Kind::ExchangeRate(exchange_rate()),
    ]
}

fn batch(kinds: Vec<Kind>) -> Vec<pb::Record> {
    kinds.into_iter().map(|kind| pb::Record { kind: Some(kind) }).collect()
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
    assert_eq!(deal.amount.minor_units, 500_00);
    assert_eq!(deal.meta.attributes["region"], "emea");
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
    let problems = records_from_proto(vec![pb::Record { kind: None }]).unwrap_err();
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
    rejects(Kind::Order(o), &["records[0].order.id", "records[0].order.customer_id"]);
    let mut d = deal();
    d.stage = String::new();
    d.amount = None;
    rejects(Kind::Deal(d), &["records[0].deal.amount", "records[0].deal.stage"]);
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
    rejects(Kind::Deal(d), &["records[0].deal.status", "records[0].deal.deal_type"]);
    let mut a = activity();
    a.activity_type = 0;
    a.direction = 0;
    rejects(
        Kind::Activity(a),
        &["records[0].activity.activity_type", "records[0].activity.direction"],
    );
    let mut s = subscription();
    s.renewal_outcome = Some(0);
    rejects(Kind::Subscription(s), &["records[0].subscription.renewal_outcome"]);
    let mut k = cost();
    k.category = 0;
    rejects(Kind::Cost(k), &["records[0].cost.category"]);
    let mut e = engagement();
    e.event_type = 0;
    rejects(Kind::EngagementEvent(e), &["records[0].engagement_event.event_type"]);
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
    rejects(Kind::SurveyResponse(r), &["records[0].survey_response.survey_type"]);
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
        &["records[0].customer.acquired_time", "records[0].customer.churned_time"],
    );
    let mut e = engagement();
    e.occurred_time = ts(super::super::END_TIMESTAMP_SECONDS);
    rejects(Kind::EngagementEvent(e), &["records[0].engagement_event.occurred_time"]);
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
    rejects(Kind::Deal(d), &["records[0].deal.stage_history[1].entered_time"]);
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
        &["records[0].ticket.first_response_time", "records[0].ticket.resolved_time"],
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
    rejects(Kind::Subscription(s), &["records[0].subscription.renewal_outcome"]);
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
    assert_eq!(with(S::Nps, 1, 10, 5, D::Unspecified), ["records[0].survey_response.scale_min"]);
    assert_eq!(with(S::Csat, 0, 10, 5, D::Unspecified), ["records[0].survey_response.scale_min"]);
    assert_eq!(with(S::Ces, 1, 10, 5, D::HigherIsBetter), ["records[0].survey_response.scale_min"]);
    assert_eq!(with(S::Nps, 1, 5, 0, D::Unspecified), ["records[0].survey_response.score"]);
    assert_eq!(with(S::Ces, 1, 7, 8, D::HigherIsBetter), ["records[0].survey_response.score"]);
    assert_eq!(with(S::Ces, 1, 7, 3, D::Unspecified), ["records[0].survey_response.direction"]);
    assert_eq!(with(S::Nps, 0, 10, 3, D::LowerIsBetter), ["records[0].survey_response.direction"]);
    assert_eq!(with(S::Csat, 1, 5, 3, D::LowerIsBetter), ["records[0].survey_response.direction"]);
}

#[test]
fn duplicate_ids_must_have_identical_content() {
    let identical = records_from_proto(batch(vec![Kind::Deal(deal()), Kind::Deal(deal())])).unwrap();
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
