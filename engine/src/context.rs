//! Borrowed views of records and the per-query indexes formulas use to follow soft references
//! (a deal's customer, a lead's activities).

use std::cell::OnceCell;
use std::sync::OnceLock;

use hashbrown::HashMap;

use crate::records::{
    Activity, ActivityDirection, Cost, CrmUser, Customer, Deal, EngagementEvent, ExchangeRate,
    Lead, Meta, Order, Quota, RecordKind, Subscription, SurveyResponse, Text, Ticket, Timestamp,
    UserEvent,
};
use crate::view::View;

/// A borrowed record of any kind: what states fold.
#[derive(Debug, Clone, Copy)]
pub enum RecordRef<'a> {
    Customer(&'a Customer),
    Lead(&'a Lead),
    Deal(&'a Deal),
    Order(&'a Order),
    Subscription(&'a Subscription),
    Activity(&'a Activity),
    Ticket(&'a Ticket),
    SurveyResponse(&'a SurveyResponse),
    Cost(&'a Cost),
    EngagementEvent(&'a EngagementEvent),
    CrmUser(&'a CrmUser),
    UserEvent(&'a UserEvent),
    Quota(&'a Quota),
    ExchangeRate(&'a ExchangeRate),
}

impl<'a> RecordRef<'a> {
    /// The record's identity, version and attributes.
    pub fn meta(&self) -> &'a Meta {
        match self {
            RecordRef::Customer(r) => &r.meta,
            RecordRef::Lead(r) => &r.meta,
            RecordRef::Deal(r) => &r.meta,
            RecordRef::Order(r) => &r.meta,
            RecordRef::Subscription(r) => &r.meta,
            RecordRef::Activity(r) => &r.meta,
            RecordRef::Ticket(r) => &r.meta,
            RecordRef::SurveyResponse(r) => &r.meta,
            RecordRef::Cost(r) => &r.meta,
            RecordRef::EngagementEvent(r) => &r.meta,
            RecordRef::CrmUser(r) => &r.meta,
            RecordRef::UserEvent(r) => &r.meta,
            RecordRef::Quota(r) => &r.meta,
            RecordRef::ExchangeRate(r) => &r.meta,
        }
    }

    /// The id of the customer the record belongs to, if any (a customer's own id for a customer).
    pub fn customer_id(&self) -> Option<&'a str> {
        match self {
            RecordRef::Customer(r) => Some(&r.meta.id),
            RecordRef::Lead(r) => r.customer_id.as_deref(),
            RecordRef::Deal(r) => r.customer_id.as_deref(),
            RecordRef::Order(r) => Some(&r.customer_id),
            RecordRef::Subscription(r) => Some(&r.customer_id),
            RecordRef::Activity(r) => r.customer_id.as_deref(),
            RecordRef::Ticket(r) => r.customer_id.as_deref(),
            RecordRef::SurveyResponse(r) => Some(&r.customer_id),
            RecordRef::EngagementEvent(r) => Some(&r.customer_id),
            RecordRef::Cost(_)
            | RecordRef::CrmUser(_)
            | RecordRef::UserEvent(_)
            | RecordRef::Quota(_)
            | RecordRef::ExchangeRate(_) => None,
        }
    }
}

/// Calls `visit` with every record of `kind` in `view`.
pub fn for_each_of_kind<'a>(view: &View<'a>, kind: RecordKind, visit: impl FnMut(RecordRef<'a>)) {
    view.for_each_of_kind(kind, visit);
}

/// Indexes over one dataset, for following soft references. Each index is built the first time
/// a formula or dimension asks it (most queries never follow a reference), then kept for the
/// rest of the query; an index the view lends ([`KeptIndexes`]) outlives the query instead.
#[derive(Debug, Default)]
pub struct Lookup<'a> {
    customer_list: Vec<&'a Customer>,
    lead_list: Vec<&'a Lead>,
    activity_list: Vec<&'a Activity>,
    customers: OnceCell<HashMap<&'a str, &'a Customer>>,
    leads: OnceCell<HashMap<&'a str, &'a Lead>>,
    activities: OnceLock<ActivityIndex>,
    kept: KeptIndexes<'a>,
}

/// Indexes kept beside whole record lists that many queries read unchanged (the service's
/// snapshot of a tenant's kind, one version of it): the first query that follows a reference
/// builds one, later ones reuse it. A [`View`] lends them only while its list of the kind is
/// exactly the records the index was built over, in the same order (records the `as_of` view
/// rewrote stay in their places; a list that lost or gained a record withdraws the index).
#[derive(Debug, Clone, Copy, Default)]
pub struct KeptIndexes<'a> {
    pub customers: Option<&'a KeptIdIndex>,
    pub leads: Option<&'a KeptIdIndex>,
    pub activities: Option<&'a KeptActivityIndex>,
}

/// The position of each id in a kept list.
#[derive(Debug, Default)]
pub struct KeptIdIndex(OnceLock<HashMap<Text, usize>>);

impl KeptIdIndex {
    /// Where the record with `id` sits in `list` (the list the index is kept beside).
    fn position<T>(&self, list: &[&T], id: &str, id_of: impl Fn(&T) -> &Text) -> Option<usize> {
        self.0
            .get_or_init(|| {
                list.iter()
                    .enumerate()
                    .map(|(position, record)| (id_of(record).clone(), position))
                    .collect()
            })
            .get(id)
            .copied()
    }

    /// Whether a request has built the index yet.
    pub fn is_built(&self) -> bool {
        self.0.get().is_some()
    }
}

/// The earliest activities per lead and per deal.
#[derive(Debug, Default)]
pub struct ActivityIndex {
    first_outbound_by_lead: HashMap<Text, Timestamp>,
    first_activity_by_deal: HashMap<Text, Timestamp>,
}

impl ActivityIndex {
    fn of<'r>(activities: impl IntoIterator<Item = &'r Activity>) -> ActivityIndex {
        let mut index = ActivityIndex::default();
        for activity in activities {
            if let (Some(lead), ActivityDirection::Outbound) =
                (&activity.lead_id, activity.direction)
            {
                keep_earliest(
                    &mut index.first_outbound_by_lead,
                    lead,
                    activity.occurred_time,
                );
            }
            if let Some(deal) = &activity.deal_id {
                keep_earliest(
                    &mut index.first_activity_by_deal,
                    deal,
                    activity.occurred_time,
                );
            }
        }
        index
    }
}

/// The activity index kept beside a whole activity list (see [`KeptIndexes`]).
#[derive(Debug, Default)]
pub struct KeptActivityIndex(OnceLock<ActivityIndex>);

impl KeptActivityIndex {
    /// Whether a request has built the index yet.
    pub fn is_built(&self) -> bool {
        self.0.get().is_some()
    }
}

impl<'a> Lookup<'a> {
    /// Indexes `view` (lazily: see [`Lookup`]), with the indexes the view lends, if any.
    pub fn new(view: &View<'a>) -> Lookup<'a> {
        Lookup {
            customer_list: view.customers.clone(),
            lead_list: view.leads.clone(),
            activity_list: view.activities.clone(),
            kept: view.kept_indexes,
            ..Lookup::default()
        }
    }

    fn activities(&self) -> &ActivityIndex {
        let cell = match self.kept.activities {
            Some(kept) => &kept.0,
            None => &self.activities,
        };
        cell.get_or_init(|| ActivityIndex::of(self.activity_list.iter().copied()))
    }

    /// The customer with `id`, when present.
    pub fn customer(&self, id: &str) -> Option<&'a Customer> {
        if let Some(kept) = self.kept.customers {
            let list = &self.customer_list;
            return kept.position(list, id, |c| &c.meta.id).map(|i| list[i]);
        }
        self.customers
            .get_or_init(|| {
                self.customer_list
                    .iter()
                    .map(|c| (c.meta.id.as_str(), *c))
                    .collect()
            })
            .get(id)
            .copied()
    }

    /// The lead with `id`, when present.
    pub fn lead(&self, id: &str) -> Option<&'a Lead> {
        if let Some(kept) = self.kept.leads {
            let list = &self.lead_list;
            return kept.position(list, id, |l| &l.meta.id).map(|i| list[i]);
        }
        self.leads
            .get_or_init(|| {
                self.lead_list
                    .iter()
                    .map(|l| (l.meta.id.as_str(), *l))
                    .collect()
            })
            .get(id)
            .copied()
    }

    /// The earliest OUTBOUND activity on the lead.
    pub fn first_outbound_activity_on_lead(&self, lead_id: &str) -> Option<Timestamp> {
        self.activities()
            .first_outbound_by_lead
            .get(lead_id)
            .copied()
    }

    /// The earliest activity of any kind on the deal.
    pub fn first_activity_on_deal(&self, deal_id: &str) -> Option<Timestamp> {
        self.activities()
            .first_activity_by_deal
            .get(deal_id)
            .copied()
    }
}

fn keep_earliest(map: &mut HashMap<Text, Timestamp>, key: &Text, t: Timestamp) {
    match map.get_mut(key.as_str()) {
        Some(earliest) => *earliest = (*earliest).min(t),
        None => {
            map.insert(key.clone(), t);
        }
    }
}
