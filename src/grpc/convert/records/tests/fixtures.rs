//! Valid proto records of every kind, for the record conversion tests.

use std::collections::BTreeMap;

use super::pb;
use super::pb::crm_record::Kind;

pub const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
pub const HOUR: i64 = 3600;

pub fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

pub fn usd(units_minor: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: "USD".into(),
        units_minor,
    })
}

fn attrs() -> BTreeMap<String, String> {
    BTreeMap::from([("region".to_owned(), "emea".to_owned())])
}

pub fn customer() -> pb::Customer {
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

pub fn lead() -> pb::Lead {
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

pub fn deal() -> pb::Deal {
    pb::Deal {
        id: "d1".into(),
        version: 3,
        attributes: attrs(),
        created_time: ts(T0),
        owner_id: Some("u1".into()),
        amount: usd(50_000),
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

pub fn order() -> pb::Order {
    pb::Order {
        id: "o1".into(),
        version: 1,
        attributes: attrs(),
        customer_id: "c1".into(),
        amount: usd(10_000),
        cost: usd(6_000),
        ordered_time: ts(T0),
        fulfilled_time: ts(T0 + HOUR),
        kind: pb::OrderKind::New as i32,
    }
}

pub fn subscription() -> pb::Subscription {
    pb::Subscription {
        id: "s1".into(),
        version: 1,
        attributes: attrs(),
        customer_id: "c1".into(),
        mrr: usd(4_900),
        start_time: ts(T0),
        end_time: None,
        trial: false,
        renewal_due_time: ts(T0 + 8760 * HOUR),
        renewal_outcome: Some(pb::RenewalOutcome::Pending as i32),
    }
}

pub fn activity() -> pb::Activity {
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

pub fn ticket() -> pb::Ticket {
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

pub fn survey() -> pb::SurveyResponse {
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

pub fn cost() -> pb::Cost {
    pb::Cost {
        id: "k1".into(),
        version: 1,
        attributes: attrs(),
        category: pb::CostCategory::AcquisitionMarketing as i32,
        channel: Some("paid_search".into()),
        amount: usd(500_000),
        incurred_time: ts(T0),
    }
}

pub fn engagement() -> pb::EngagementEvent {
    pb::EngagementEvent {
        id: "e1".into(),
        version: 1,
        attributes: attrs(),
        customer_id: "c1".into(),
        event_type: pb::EngagementType::WebVisit as i32,
        occurred_time: ts(T0),
    }
}

pub fn crm_user() -> pb::CrmUser {
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

pub fn user_event() -> pb::UserEvent {
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

pub fn quota() -> pb::Quota {
    pb::Quota {
        id: "q1".into(),
        version: 1,
        attributes: attrs(),
        owner_id: "u1".into(),
        period_start: ts(T0),
        period_end: ts(T0 + 744 * HOUR),
        amount: usd(10_000_000),
    }
}

pub fn exchange_rate() -> pb::ExchangeRate {
    pb::ExchangeRate {
        id: "x1".into(),
        version: 1,
        attributes: BTreeMap::new(),
        currency: "EUR".into(),
        date: "2026-01-01".into(),
        rate: "1.0845".into(),
    }
}

pub fn every_kind() -> Vec<Kind> {
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
