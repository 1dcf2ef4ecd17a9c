//! Looking at the data as it stood at an instant.
//!
//! A record field whose timestamp is after `as_of` has not happened yet: a deal closed later is
//! open (and its later stage entries are dropped), a lead converted later is not converted, a
//! customer churned later is active. A record whose own existence starts after `as_of` (created,
//! acquired, occurred, ordered, responded, incurred) does not exist yet. Quotas and exchange rates
//! are plans and reference data, not events, and are kept.
//!
//! The view is applied without copying: a record that looks the same at `as_of` stays borrowed,
//! and only one that would change (a later close, a later stage entry) is copied into the
//! request's [`Scratch`] and changed there.

use crate::records::{Customer, Deal, DealStatus, Lead, Order, Ticket, Timestamp};
use crate::view::{Scratch, View, rewrite};

fn not_after(t: Option<Timestamp>, as_of: Timestamp) -> Option<Timestamp> {
    t.filter(|t| *t <= as_of)
}

fn after(t: Option<Timestamp>, as_of: Timestamp) -> bool {
    t.is_some_and(|t| t > as_of)
}

/// `view` as it stood at `as_of`; changed records are copied into `scratch`.
pub fn as_of<'a>(view: &View<'a>, as_of: Timestamp, scratch: &'a Scratch) -> View<'a> {
    let at = as_of;
    let exists = |t: Timestamp| t <= at;
    View {
        customers: rewrite(
            &view.customers,
            &scratch.customers,
            |c| exists(c.acquired_time),
            |c| after(c.churned_time, at),
            |c: &mut Customer| c.churned_time = not_after(c.churned_time, at),
        ),
        leads: rewrite(
            &view.leads,
            &scratch.leads,
            |l| exists(l.created_time),
            |l| {
                after(l.qualified_time, at)
                    || after(l.converted_time, at)
                    || after(l.disqualified_time, at)
                    || after(l.first_response_time, at)
                    || (l.converted_time.is_none() && l.customer_id.is_some())
            },
            |l: &mut Lead| {
                l.qualified_time = not_after(l.qualified_time, at);
                l.converted_time = not_after(l.converted_time, at);
                l.disqualified_time = not_after(l.disqualified_time, at);
                l.first_response_time = not_after(l.first_response_time, at);
                if l.converted_time.is_none() {
                    l.customer_id = None;
                }
            },
        ),
        deals: rewrite(
            &view.deals,
            &scratch.deals,
            |d| exists(d.created_time),
            |d| {
                after(d.closed_time, at)
                    || d.stage_history.iter().any(|e| e.entered_time > at)
                    || d.stage_history.last().is_some_and(|e| e.stage != d.stage)
            },
            |d: &mut Deal| {
                if after(d.closed_time, at) {
                    d.closed_time = None;
                    d.status = DealStatus::Open;
                }
                d.stage_history.retain(|entry| entry.entered_time <= at);
                if let Some(last) = d.stage_history.last() {
                    d.stage = last.stage.clone();
                }
            },
        ),
        orders: rewrite(
            &view.orders,
            &scratch.orders,
            |o| exists(o.ordered_time),
            |o| after(o.fulfilled_time, at),
            |o: &mut Order| o.fulfilled_time = not_after(o.fulfilled_time, at),
        ),
        subscriptions: kept(&view.subscriptions, |s| exists(s.start_time)),
        activities: kept(&view.activities, |a| exists(a.occurred_time)),
        tickets: rewrite(
            &view.tickets,
            &scratch.tickets,
            |t| exists(t.created_time),
            |t| after(t.first_response_time, at) || after(t.resolved_time, at),
            |t: &mut Ticket| {
                t.first_response_time = not_after(t.first_response_time, at);
                t.resolved_time = not_after(t.resolved_time, at);
            },
        ),
        survey_responses: kept(&view.survey_responses, |s| exists(s.responded_time)),
        costs: kept(&view.costs, |c| exists(c.incurred_time)),
        engagement_events: kept(&view.engagement_events, |e| exists(e.occurred_time)),
        crm_users: rewrite(
            &view.crm_users,
            &scratch.crm_users,
            |u| exists(u.created_time),
            |u| after(u.deactivated_time, at),
            |u| u.deactivated_time = not_after(u.deactivated_time, at),
        ),
        user_events: kept(&view.user_events, |e| exists(e.occurred_time)),
        quotas: view.quotas.clone(),
        exchange_rates: view.exchange_rates.clone(),
    }
}

/// The records of `list` that `keep` accepts, unchanged.
fn kept<'a, T>(list: &[&'a T], keep: impl Fn(&T) -> bool) -> Vec<&'a T> {
    list.iter().copied().filter(|r| keep(r)).collect()
}
