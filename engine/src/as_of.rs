//! Looking at the data as it stood at an instant.
//!
//! A record field whose timestamp is after `as_of` has not happened yet: a deal closed later is
//! open (and its later stage entries are dropped), a lead converted later is not converted, a
//! customer churned later is active. A record whose own existence starts after `as_of` (created,
//! acquired, occurred, ordered, responded, incurred) does not exist yet. Quotas and exchange rates
//! are plans and reference data, not events, and are kept.

use crate::dataset::Dataset;
use crate::records::{DealStatus, Timestamp};

fn not_after(t: Option<Timestamp>, as_of: Timestamp) -> Option<Timestamp> {
    t.filter(|t| *t <= as_of)
}

/// The dataset as it stood at `as_of`.
pub fn as_of(dataset: &Dataset, as_of: Timestamp) -> Dataset {
    let at = as_of;
    Dataset {
        customers: dataset
            .customers
            .iter()
            .filter(|c| c.acquired_time <= at)
            .map(|c| {
                let mut c = c.clone();
                c.churned_time = not_after(c.churned_time, at);
                c
            })
            .collect(),
        leads: dataset
            .leads
            .iter()
            .filter(|l| l.created_time <= at)
            .map(|l| {
                let mut l = l.clone();
                l.qualified_time = not_after(l.qualified_time, at);
                l.converted_time = not_after(l.converted_time, at);
                l.disqualified_time = not_after(l.disqualified_time, at);
                l.first_response_time = not_after(l.first_response_time, at);
                if l.converted_time.is_none() {
                    l.customer_id = None;
                }
                l
            })
            .collect(),
        deals: dataset
            .deals
            .iter()
            .filter(|d| d.created_time <= at)
            .map(|d| {
                let mut d = d.clone();
                if d.closed_time.is_some_and(|t| t > at) {
                    d.closed_time = None;
                    d.status = DealStatus::Open;
                }
                d.stage_history.retain(|entry| entry.entered_time <= at);
                if let Some(last) = d.stage_history.last() {
                    d.stage = last.stage.clone();
                }
                d
            })
            .collect(),
        orders: dataset
            .orders
            .iter()
            .filter(|o| o.ordered_time <= at)
            .map(|o| {
                let mut o = o.clone();
                o.fulfilled_time = not_after(o.fulfilled_time, at);
                o
            })
            .collect(),
        subscriptions: dataset
            .subscriptions
            .iter()
            .filter(|s| s.start_time <= at)
            .cloned()
            .collect(),
        activities: dataset
            .activities
            .iter()
            .filter(|a| a.occurred_time <= at)
            .cloned()
            .collect(),
        tickets: dataset
            .tickets
            .iter()
            .filter(|t| t.created_time <= at)
            .map(|t| {
                let mut t = t.clone();
                t.first_response_time = not_after(t.first_response_time, at);
                t.resolved_time = not_after(t.resolved_time, at);
                t
            })
            .collect(),
        survey_responses: dataset
            .survey_responses
            .iter()
            .filter(|s| s.responded_time <= at)
            .cloned()
            .collect(),
        costs: dataset
            .costs
            .iter()
            .filter(|c| c.incurred_time <= at)
            .cloned()
            .collect(),
        engagement_events: dataset
            .engagement_events
            .iter()
            .filter(|e| e.occurred_time <= at)
            .cloned()
            .collect(),
        crm_users: dataset
            .crm_users
            .iter()
            .filter(|u| u.created_time <= at)
            .map(|u| {
                let mut u = u.clone();
                u.deactivated_time = not_after(u.deactivated_time, at);
                u
            })
            .collect(),
        user_events: dataset
            .user_events
            .iter()
            .filter(|e| e.occurred_time <= at)
            .cloned()
            .collect(),
        quotas: dataset.quotas.clone(),
        exchange_rates: dataset.exchange_rates.clone(),
    }
}
