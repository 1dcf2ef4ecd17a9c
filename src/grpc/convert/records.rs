//! Ingest batches: proto records → engine records, validating everything before anything is
//! written.
//!
//! Every problem of every record is reported at its path (`records[3].survey_response.score`).
//! The per-kind rules live in [`sales`] (customers, leads, deals, orders, subscriptions, quotas)
//! and [`service`] (activities, tickets, surveys, costs, engagement, CRM users, exchange rates);
//! this module dispatches on the oneof and checks the batch as a whole (duplicate ids).

#[cfg(test)]
#[path = "records/tests/demo_data.rs"]
mod demo_data;
#[cfg(test)]
#[path = "records/tests/fixtures.rs"]
mod fixtures;
mod sales;
mod service;
#[cfg(test)]
#[path = "records/tests/records.rs"]
mod tests;

use crm_metrics_engine::query::Problem;
use crm_metrics_engine::records::{Record, RecordKind, Text};
use hashbrown::HashMap;
use hashbrown::hash_map::Entry;

use super::fields::Fields;
use super::pb;

/// Converts and validates one ingest batch. `Err` carries every problem found; the batch must
/// then be rejected as a whole.
///
/// Two records of the same kind and id in one batch must be identical (a retried element of the
/// same batch is harmless); differing ones are a problem at the later record's `id`, since which
/// one should win is ambiguous.
pub fn records_from_proto(records: Vec<pb::CrmRecord>) -> Result<Vec<Record>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut converted = Vec::with_capacity(records.len());
    // The request position of each converted record (they differ once a record is refused).
    let mut positions = Vec::with_capacity(records.len());
    let mut first_index: HashMap<(RecordKind, Text), usize> = HashMap::with_capacity(records.len());
    for (index, record) in records.into_iter().enumerate() {
        let pb::CrmRecord { kind } = record;
        let Some(kind) = kind else {
            let kinds: Vec<&str> = RecordKind::ALL.iter().map(|k| k.name()).collect();
            problems.push(Problem::new(
                format!("records[{index}].kind"),
                format!("exactly one record kind must be set: {}", kinds.join(", ")),
            ));
            continue;
        };
        let Some(record) = record_from_proto(index, kind, &mut problems) else {
            continue;
        };
        let key = (record.kind(), record.meta().id.clone());
        match first_index.entry(key) {
            Entry::Vacant(vacant) => {
                vacant.insert(converted.len());
            }
            Entry::Occupied(occupied) => {
                let position = *occupied.get();
                if converted[position] != record {
                    let (kind, id) = occupied.key();
                    problems.push(Problem::new(
                        format!("records[{index}].{}.id", kind.name()),
                        format!(
                            "{} '{id}' also appears at records[{}] with different content; send each record once per batch",
                            kind.name(),
                            positions[position]
                        ),
                    ));
                }
                // An identical duplicate is kept: the response has one outcome per request record.
            }
        }
        positions.push(index);
        converted.push(record);
    }
    if problems.is_empty() {
        Ok(converted)
    } else {
        Err(problems)
    }
}

/// Converts one record, adding its problems (under `records[i].<kind>`) to `problems`.
fn record_from_proto(
    index: usize,
    kind: pb::crm_record::Kind,
    problems: &mut Vec<Problem>,
) -> Option<Record> {
    use pb::crm_record::Kind;
    Some(match kind {
        Kind::Customer(r) => Record::Customer(sales::customer(
            Fields::record(index, RecordKind::Customer.name(), problems),
            r,
        )?),
        Kind::Lead(r) => Record::Lead(sales::lead(
            Fields::record(index, RecordKind::Lead.name(), problems),
            r,
        )?),
        Kind::Deal(r) => Record::Deal(sales::deal(
            Fields::record(index, RecordKind::Deal.name(), problems),
            r,
        )?),
        Kind::Order(r) => Record::Order(sales::order(
            Fields::record(index, RecordKind::Order.name(), problems),
            r,
        )?),
        Kind::Subscription(r) => Record::Subscription(sales::subscription(
            Fields::record(index, RecordKind::Subscription.name(), problems),
            r,
        )?),
        Kind::Quota(r) => Record::Quota(sales::quota(
            Fields::record(index, RecordKind::Quota.name(), problems),
            r,
        )?),
        Kind::Activity(r) => Record::Activity(service::activity(
            Fields::record(index, RecordKind::Activity.name(), problems),
            r,
        )?),
        Kind::Ticket(r) => Record::Ticket(service::ticket(
            Fields::record(index, RecordKind::Ticket.name(), problems),
            r,
        )?),
        Kind::SurveyResponse(r) => Record::SurveyResponse(service::survey_response(
            Fields::record(index, RecordKind::SurveyResponse.name(), problems),
            r,
        )?),
        Kind::Cost(r) => Record::Cost(service::cost(
            Fields::record(index, RecordKind::Cost.name(), problems),
            r,
        )?),
        Kind::EngagementEvent(r) => Record::EngagementEvent(service::engagement_event(
            Fields::record(index, RecordKind::EngagementEvent.name(), problems),
            r,
        )?),
        Kind::CrmUser(r) => Record::CrmUser(service::crm_user(
            Fields::record(index, RecordKind::CrmUser.name(), problems),
            r,
        )?),
        Kind::UserEvent(r) => Record::UserEvent(service::user_event(
            Fields::record(index, RecordKind::UserEvent.name(), problems),
            r,
        )?),
        Kind::ExchangeRate(r) => Record::ExchangeRate(service::exchange_rate(
            Fields::record(index, RecordKind::ExchangeRate.name(), problems),
            r,
        )?),
    })
}
