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
//! request's [`Scratch`] and changed there. A kind whose every record is known to look the same
//! at `as_of` ([`unchanged_from`], [`View::settle`]) is not even looked at: its list moves over.

use crate::context::{KeptIndexes, RecordRef};
use crate::records::{Customer, Deal, DealStatus, Lead, Order, RecordKind, Ticket, Timestamp};
use crate::view::{Scratch, View, rewrite};

/// The earliest `as_of` from which the view keeps `record` exactly as it is: the latest of the
/// instants the view looks at. `None` when no instant does (a lead that names a customer without
/// having converted loses the customer at every `as_of`; a deal whose stage is not its last
/// stage entry's takes that entry's stage).
pub fn unchanged_from(record: RecordRef<'_>) -> Option<Timestamp> {
    let latest = |first: Timestamp, later: &[Option<Timestamp>]| {
        later.iter().flatten().fold(first, |a, b| a.max(*b))
    };
    Some(match record {
        RecordRef::Customer(c) => latest(c.acquired_time, &[c.churned_time]),
        RecordRef::Lead(l) => {
            if l.converted_time.is_none() && l.customer_id.is_some() {
                return None;
            }
            latest(
                l.created_time,
                &[
                    l.qualified_time,
                    l.converted_time,
                    l.disqualified_time,
                    l.first_response_time,
                ],
            )
        }
        RecordRef::Deal(d) => {
            if d.stage_history.last().is_some_and(|e| e.stage != d.stage) {
                return None;
            }
            let entries = d.stage_history.iter().map(|e| e.entered_time);
            latest(d.created_time, &[d.closed_time, entries.max()])
        }
        RecordRef::Order(o) => latest(o.ordered_time, &[o.fulfilled_time]),
        RecordRef::Subscription(s) => s.start_time,
        RecordRef::Activity(a) => a.occurred_time,
        RecordRef::Ticket(t) => latest(t.created_time, &[t.first_response_time, t.resolved_time]),
        RecordRef::SurveyResponse(s) => s.responded_time,
        RecordRef::Cost(c) => c.incurred_time,
        RecordRef::EngagementEvent(e) => e.occurred_time,
        RecordRef::CrmUser(u) => latest(u.created_time, &[u.deactivated_time]),
        RecordRef::UserEvent(e) => e.occurred_time,
        RecordRef::Quota(_) | RecordRef::ExchangeRate(_) => Timestamp::MIN_UTC,
    })
}

/// `list` itself when `settled` (every record unchanged at the instant), else `pass` over it.
fn unless_settled<'a, T>(
    list: &mut Vec<&'a T>,
    settled: bool,
    pass: impl FnOnce(&[&'a T]) -> Vec<&'a T>,
) -> Vec<&'a T> {
    if settled {
        std::mem::take(list)
    } else {
        pass(list)
    }
}

fn not_after(t: Option<Timestamp>, as_of: Timestamp) -> Option<Timestamp> {
    t.filter(|t| *t <= as_of)
}

/// `view` as it stood at `as_of`; changed records are copied into `scratch`.
pub fn as_of<'a>(mut view: View<'a>, as_of: Timestamp, scratch: &'a Scratch) -> View<'a> {
    let at = as_of;
    let exists = |t: Timestamp| t <= at;
    // A record that exists at `at` looks different there exactly when some instant the view
    // looks at is later (or it is always rewritten): one rule, shared with the snapshots.
    let changed = |record: RecordRef<'_>| unchanged_from(record).is_none_or(|from| from > at);
    let settled = RecordKind::ALL.map(|kind| view.settled_by(kind, at));
    let settled = |kind: RecordKind| settled[kind as usize];
    // The `as_of` view drops records or rewrites them in their places: a list as long as before
    // is the list that was lent, position for position, so its kept index still applies.
    let lent = (
        view.customers.len(),
        view.leads.len(),
        view.activities.len(),
    );
    let customers = unless_settled(&mut view.customers, settled(RecordKind::Customer), |list| {
        rewrite(
            list,
            &scratch.customers,
            |c| exists(c.acquired_time),
            |c| changed(RecordRef::Customer(c)),
            |c: &mut Customer| c.churned_time = not_after(c.churned_time, at),
        )
    });
    let leads = unless_settled(&mut view.leads, settled(RecordKind::Lead), |list| {
        rewrite(
            list,
            &scratch.leads,
            |l| exists(l.created_time),
            |l| changed(RecordRef::Lead(l)),
            |l: &mut Lead| {
                l.qualified_time = not_after(l.qualified_time, at);
                l.converted_time = not_after(l.converted_time, at);
                l.disqualified_time = not_after(l.disqualified_time, at);
                l.first_response_time = not_after(l.first_response_time, at);
                if l.converted_time.is_none() {
                    l.customer_id = None;
                }
            },
        )
    });
    let activities = unless_settled(
        &mut view.activities,
        settled(RecordKind::Activity),
        |list| kept(list, |a| exists(a.occurred_time)),
    );
    let kept_indexes = KeptIndexes {
        customers: (customers.len() == lent.0)
            .then_some(view.kept_indexes.customers)
            .flatten(),
        leads: (leads.len() == lent.1)
            .then_some(view.kept_indexes.leads)
            .flatten(),
        activities: (activities.len() == lent.2)
            .then_some(view.kept_indexes.activities)
            .flatten(),
    };
    View {
        customers,
        leads,
        deals: unless_settled(&mut view.deals, settled(RecordKind::Deal), |list| {
            rewrite(
                list,
                &scratch.deals,
                |d| exists(d.created_time),
                |d| changed(RecordRef::Deal(d)),
                |d: &mut Deal| {
                    if d.closed_time.is_some_and(|t| t > at) {
                        d.closed_time = None;
                        d.status = DealStatus::Open;
                    }
                    d.stage_history.retain(|entry| entry.entered_time <= at);
                    if let Some(last) = d.stage_history.last() {
                        d.stage = last.stage.clone();
                    }
                },
            )
        }),
        orders: unless_settled(&mut view.orders, settled(RecordKind::Order), |list| {
            rewrite(
                list,
                &scratch.orders,
                |o| exists(o.ordered_time),
                |o| changed(RecordRef::Order(o)),
                |o: &mut Order| o.fulfilled_time = not_after(o.fulfilled_time, at),
            )
        }),
        subscriptions: unless_settled(
            &mut view.subscriptions,
            settled(RecordKind::Subscription),
            |list| kept(list, |s| exists(s.start_time)),
        ),
        activities,
        tickets: unless_settled(&mut view.tickets, settled(RecordKind::Ticket), |list| {
            rewrite(
                list,
                &scratch.tickets,
                |t| exists(t.created_time),
                |t| changed(RecordRef::Ticket(t)),
                |t: &mut Ticket| {
                    t.first_response_time = not_after(t.first_response_time, at);
                    t.resolved_time = not_after(t.resolved_time, at);
                },
            )
        }),
        survey_responses: unless_settled(
            &mut view.survey_responses,
            settled(RecordKind::SurveyResponse),
            |list| kept(list, |s| exists(s.responded_time)),
        ),
        costs: unless_settled(&mut view.costs, settled(RecordKind::Cost), |list| {
            kept(list, |c| exists(c.incurred_time))
        }),
        engagement_events: unless_settled(
            &mut view.engagement_events,
            settled(RecordKind::EngagementEvent),
            |list| kept(list, |e| exists(e.occurred_time)),
        ),
        crm_users: unless_settled(&mut view.crm_users, settled(RecordKind::CrmUser), |list| {
            rewrite(
                list,
                &scratch.crm_users,
                |u| exists(u.created_time),
                |u| changed(RecordRef::CrmUser(u)),
                |u| u.deactivated_time = not_after(u.deactivated_time, at),
            )
        }),
        user_events: unless_settled(
            &mut view.user_events,
            settled(RecordKind::UserEvent),
            |list| kept(list, |e| exists(e.occurred_time)),
        ),
        quotas: std::mem::take(&mut view.quotas),
        exchange_rates: std::mem::take(&mut view.exchange_rates),
        settled: view.settled,
        kept_indexes,
    }
}

/// The records of `list` that `keep` accepts, unchanged.
fn kept<'a, T>(list: &[&'a T], keep: impl Fn(&T) -> bool) -> Vec<&'a T> {
    list.iter().copied().filter(|r| keep(r)).collect()
}
