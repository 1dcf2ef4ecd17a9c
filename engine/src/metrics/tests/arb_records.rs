//! Random records of every kind tied together by references (property tests across families):
//! a few customers, leads, deals, tickets and users that the other kinds refer to, and times
//! spread over 2025 and 2026, so that references, time bounds and `as_of` all meet each other.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::metrics::test_support::*;
use crate::money::Money;
use crate::records::*;

pub(crate) const STAGES: [&str; 4] = ["prospect", "qualified", "proposal", "negotiation"];

/// A day of 2025 or 2026 at some hour.
fn arb_instant() -> impl Strategy<Value = Timestamp> {
    (0i64..730, 0i64..24).prop_map(|(day, hour)| {
        ymd(2025, 1, 1) + chrono::Duration::days(day) + chrono::Duration::hours(hour)
    })
}

fn arb_later(after: Timestamp) -> impl Strategy<Value = Option<Timestamp>> {
    prop::option::of((0i64..200).prop_map(move |days| after + chrono::Duration::days(days)))
}

fn arb_ref(prefix: &'static str) -> impl Strategy<Value = Text> {
    (0u8..4).prop_map(move |n| format!("{prefix}{n}").into())
}

fn arb_opt_ref(prefix: &'static str) -> impl Strategy<Value = Option<Text>> {
    prop::option::of(arb_ref(prefix))
}

/// An amount, zero a quarter of the time (free plans, zero-cost entries: the edges where a sum
/// can be zero).
fn arb_amount() -> impl Strategy<Value = Money> {
    prop_oneof![1 => Just(0i64), 3 => 0i64..50_000].prop_map(usd)
}

fn arb_customer() -> impl Strategy<Value = Record> {
    (
        0u8..4,
        arb_instant(),
        any::<bool>(),
        0i64..400,
        prop::option::of(0u8..2),
    )
        .prop_map(|(n, acquired, churns, days, channel)| {
            Record::Customer(Customer {
                meta: meta(&format!("c{n}")),
                name: None,
                email: None,
                phone: None,
                acquired_time: acquired,
                churned_time: churns.then(|| acquired + chrono::Duration::days(days)),
                acquisition_channel: channel.map(|c| format!("channel{c}").into()),
            })
        })
}

fn arb_lead() -> impl Strategy<Value = Record> {
    (
        0u8..4,
        arb_instant(),
        prop::option::of(0u8..2),
        arb_opt_ref("u"),
    )
        .prop_flat_map(|(n, created, source, owner)| {
            (
                Just((n, created, source, owner)),
                arb_later(created),
                arb_later(created),
                arb_later(created),
                arb_later(created),
                arb_opt_ref("c"),
            )
        })
        .prop_map(
            |(
                (n, created, source, owner),
                qualified,
                converted,
                disqualified,
                response,
                customer,
            )| {
                Record::Lead(Lead {
                    meta: meta(&format!("l{n}")),
                    created_time: created,
                    source: source.map(|s| format!("source{s}").into()),
                    owner_id: owner,
                    qualified_time: qualified,
                    converted_time: converted,
                    customer_id: customer,
                    disqualified_time: disqualified,
                    first_response_time: response,
                    name: None,
                    email: None,
                    phone: None,
                })
            },
        )
}

fn arb_deal() -> impl Strategy<Value = Record> {
    (
        0u8..4,
        arb_instant(),
        arb_opt_ref("u"),
        arb_amount(),
        0u8..3,
        // A close at the creation instant now and then: a sales cycle of 0.
        prop_oneof![1 => Just(0i64), 7 => 0i64..200],
    )
        .prop_flat_map(|(n, created, owner, amount, status, close_days)| {
            (
                Just((n, created, owner, amount, status, close_days)),
                prop::collection::vec((0usize..4, 0i64..150), 0..3),
                prop::option::of(0u32..=100),
                arb_opt_ref("l"),
                arb_opt_ref("c"),
                0u8..4,
            )
        })
        .prop_map(
            |(
                (n, created, owner, amount, status, close_days),
                history,
                probability,
                lead,
                customer,
                kind,
            )| {
                let (status, closed_time) = match status {
                    0 => (DealStatus::Open, None),
                    1 => (
                        DealStatus::Won,
                        Some(created + chrono::Duration::days(close_days)),
                    ),
                    _ => (
                        DealStatus::Lost,
                        Some(created + chrono::Duration::days(close_days)),
                    ),
                };
                let mut stage_history: Vec<StageEntry> = history
                    .into_iter()
                    .map(|(stage, days)| StageEntry {
                        stage: STAGES[stage].into(),
                        entered_time: created + chrono::Duration::days(days),
                    })
                    .collect();
                stage_history.sort_by_key(|entry| entry.entered_time);
                let stage = stage_history
                    .last()
                    .map_or_else(|| STAGES[0].into(), |entry| entry.stage.clone());
                Record::Deal(Deal {
                    meta: meta(&format!("d{n}")),
                    created_time: created,
                    owner_id: owner,
                    amount,
                    status,
                    closed_time,
                    stage,
                    stage_history,
                    probability_percent: probability,
                    deal_type: [
                        DealType::NewBusiness,
                        DealType::Upsell,
                        DealType::CrossSell,
                        DealType::Renewal,
                    ][usize::from(kind)],
                    lead_id: lead,
                    customer_id: customer,
                })
            },
        )
}

fn arb_order() -> impl Strategy<Value = Record> {
    (
        0u8..6,
        arb_ref("c"),
        arb_amount(),
        prop::option::of(arb_amount()),
        arb_instant(),
        0u8..6,
    )
        .prop_flat_map(|(n, customer, amount, cost, ordered, kind)| {
            (
                Just((n, customer, amount, cost, ordered, kind)),
                arb_later(ordered),
            )
        })
        .prop_map(|((n, customer, amount, cost, ordered, kind), fulfilled)| {
            Record::Order(Order {
                meta: meta(&format!("o{n}")),
                customer_id: customer,
                amount,
                cost,
                ordered_time: ordered,
                fulfilled_time: fulfilled,
                kind: OrderKind::ALL[usize::from(kind)],
            })
        })
}

fn arb_subscription() -> impl Strategy<Value = Record> {
    (
        0u8..5,
        arb_ref("c"),
        arb_amount(),
        arb_instant(),
        any::<bool>(),
        0u8..4,
    )
        .prop_flat_map(|(n, customer, mrr, start, trial, outcome)| {
            (
                Just((n, customer, mrr, start, trial, outcome)),
                arb_later(start),
                arb_later(start),
            )
        })
        .prop_map(|((n, customer, mrr, start, trial, outcome), end, due)| {
            Record::Subscription(Subscription {
                meta: meta(&format!("s{n}")),
                customer_id: customer,
                mrr,
                start_time: start,
                end_time: end,
                trial,
                renewal_due_time: due,
                renewal_outcome: [
                    None,
                    Some(RenewalOutcome::Pending),
                    Some(RenewalOutcome::Renewed),
                    Some(RenewalOutcome::NotRenewed),
                ][usize::from(outcome)],
            })
        })
}

fn arb_activity() -> impl Strategy<Value = Record> {
    (
        0u8..8,
        0u8..7,
        any::<bool>(),
        arb_instant(),
        prop::option::of(0i64..7_200),
        (
            arb_opt_ref("l"),
            arb_opt_ref("d"),
            arb_opt_ref("c"),
            arb_opt_ref("u"),
        ),
    )
        .prop_map(
            |(n, kind, outbound, occurred, duration, (lead, deal, customer, owner))| {
                Record::Activity(Activity {
                    meta: meta(&format!("a{n}")),
                    activity_type: ActivityType::ALL[usize::from(kind)],
                    direction: if outbound {
                        ActivityDirection::Outbound
                    } else {
                        ActivityDirection::Inbound
                    },
                    occurred_time: occurred,
                    duration_seconds: duration,
                    lead_id: lead,
                    deal_id: deal,
                    customer_id: customer,
                    owner_id: owner,
                })
            },
        )
}

fn arb_ticket() -> impl Strategy<Value = Record> {
    (
        0u8..4,
        arb_opt_ref("c"),
        arb_instant(),
        arb_opt_ref("u"),
        0u8..2,
        1u32..4,
        any::<bool>(),
    )
        .prop_flat_map(
            |(n, customer, created, assignee, channel, contacts, reopened)| {
                (
                    Just((n, customer, created, assignee, channel, contacts, reopened)),
                    arb_later(created),
                    arb_later(created),
                )
            },
        )
        .prop_map(
            |(
                (n, customer, created, assignee, channel, contacts, reopened),
                response,
                resolved,
            )| {
                Record::Ticket(Ticket {
                    meta: meta(&format!("t{n}")),
                    customer_id: customer,
                    created_time: created,
                    first_response_time: response,
                    resolved_time: resolved,
                    assignee_id: assignee,
                    channel: if channel == 0 { "email" } else { "phone" }.into(),
                    contact_count: contacts,
                    reopened,
                })
            },
        )
}

fn arb_survey() -> impl Strategy<Value = Record> {
    (
        0u8..6,
        0u8..3,
        0i32..=10,
        arb_instant(),
        arb_ref("c"),
        arb_opt_ref("t"),
    )
        .prop_map(|(n, kind, score, responded, customer, ticket)| {
            let (survey_type, scale_min, scale_max, direction) = match kind {
                0 => (SurveyType::Nps, 0, 10, ScoreDirection::HigherIsBetter),
                1 => (SurveyType::Csat, 1, 5, ScoreDirection::HigherIsBetter),
                _ => (SurveyType::Ces, 1, 7, ScoreDirection::LowerIsBetter),
            };
            Record::SurveyResponse(SurveyResponse {
                meta: meta(&format!("r{n}")),
                survey_type,
                score: score.clamp(scale_min, scale_max),
                scale_min,
                scale_max,
                direction,
                responded_time: responded,
                customer_id: customer,
                ticket_id: ticket,
                channel: None,
                comment: None,
            })
        })
}

fn arb_cost() -> impl Strategy<Value = Record> {
    (
        0u8..4,
        0u8..5,
        prop::option::of(0u8..2),
        arb_amount(),
        arb_instant(),
    )
        .prop_map(|(n, category, channel, amount, incurred)| {
            Record::Cost(Cost {
                meta: meta(&format!("k{n}")),
                category: [
                    CostCategory::AcquisitionMarketing,
                    CostCategory::AcquisitionSales,
                    CostCategory::Retention,
                    CostCategory::CrmInvestment,
                    CostCategory::Other,
                ][usize::from(category)],
                channel: channel.map(|c| format!("channel{c}").into()),
                amount,
                incurred_time: incurred,
            })
        })
}

fn arb_engagement() -> impl Strategy<Value = Record> {
    (0u8..6, arb_ref("c"), 0u8..6, arb_instant()).prop_map(|(n, customer, kind, occurred)| {
        Record::EngagementEvent(EngagementEvent {
            meta: meta(&format!("e{n}")),
            customer_id: customer,
            event_type: [
                EngagementType::EmailOpen,
                EngagementType::EmailClick,
                EngagementType::WebVisit,
                EngagementType::Social,
                EngagementType::Loyalty,
                EngagementType::ProductUsage,
            ][usize::from(kind)],
            occurred_time: occurred,
        })
    })
}

fn arb_user() -> impl Strategy<Value = Record> {
    (0u8..4, 0u8..5, any::<bool>(), arb_instant())
        .prop_flat_map(|(n, role, licensed, created)| {
            (Just((n, role, licensed, created)), arb_later(created))
        })
        .prop_map(|((n, role, licensed, created), deactivated)| {
            Record::CrmUser(CrmUser {
                meta: meta(&format!("u{n}")),
                role: [
                    UserRole::Sales,
                    UserRole::Support,
                    UserRole::Marketing,
                    UserRole::Admin,
                    UserRole::Other,
                ][usize::from(role)],
                team: None,
                licensed,
                created_time: created,
                deactivated_time: deactivated,
            })
        })
}

fn arb_user_event() -> impl Strategy<Value = Record> {
    (
        0u8..6,
        arb_ref("u"),
        any::<bool>(),
        prop::option::of(0u8..2),
        arb_instant(),
    )
        .prop_map(|(n, user, login, feature, occurred)| {
            Record::UserEvent(UserEvent {
                meta: meta(&format!("v{n}")),
                user_id: user,
                kind: if login {
                    UserEventKind::Login
                } else {
                    UserEventKind::FeatureUse
                },
                feature: feature.map(|f| format!("feature{f}").into()),
                occurred_time: occurred,
            })
        })
}

fn arb_quota() -> impl Strategy<Value = Record> {
    (0u8..3, arb_ref("u"), arb_instant(), 1i64..120, 1i64..50_000).prop_map(
        |(n, owner, start, days, amount)| {
            Record::Quota(Quota {
                meta: meta(&format!("q{n}")),
                owner_id: owner,
                period_start: start,
                period_end: start + chrono::Duration::days(days),
                amount: usd(amount),
            })
        },
    )
}

/// Records of every kind but exchange rates (every amount is in one currency), ids from small
/// pools so that later records replace earlier ones of the same id.
pub(crate) fn arb_records() -> impl Strategy<Value = Vec<Record>> {
    prop::collection::vec(
        prop_oneof![
            arb_customer(),
            arb_lead(),
            arb_deal(),
            arb_order(),
            arb_subscription(),
            arb_activity(),
            arb_activity(),
            arb_ticket(),
            arb_survey(),
            arb_cost(),
            arb_engagement(),
            arb_user(),
            arb_user_event(),
            arb_quota(),
        ],
        0..60,
    )
    .prop_map(|records| {
        let mut by_id = BTreeMap::new();
        for record in records {
            by_id.insert((record.kind(), record.meta().id.clone()), record);
        }
        by_id.into_values().collect()
    })
}
