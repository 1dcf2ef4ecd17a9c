//! Group-by and filter dimensions, and how each record kind answers them.
//!
//! A dimension applies to a metric when every one of its primary record kinds can answer it.
//! `customer.*` dimensions follow the record's `customer_id` to the customer (a soft reference:
//! a missing customer gives no value, grouped under an absent key).

use crate::context::{Lookup, RecordRef};
use crate::records::RecordKind;

/// A dimension records can be filtered and grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    CustomerId,
    OwnerId,
    AssigneeId,
    LeadSource,
    CustomerAcquisitionChannel,
    /// The record's own channel: a ticket's, a survey answer's, a cost's, or a customer's
    /// acquisition channel.
    Channel,
    DealType,
    Stage,
    SurveyChannel,
    CostChannel,
    /// `attr.<key>`: the record's own attribute.
    Attribute(String),
    /// `customer.attr.<key>`: the attribute of the record's customer.
    CustomerAttribute(String),
}

/// The fixed dimension names (plus the `attr.<key>` and `customer.attr.<key>` patterns).
pub const FIXED_DIMENSIONS: [&str; 10] = [
    "customer_id",
    "owner_id",
    "assignee_id",
    "lead.source",
    "customer.acquisition_channel",
    "channel",
    "deal_type",
    "stage",
    "survey.channel",
    "cost.channel",
];

impl Dimension {
    /// Parses a dimension name; `None` for unknown names or an empty attribute key.
    pub fn parse(name: &str) -> Option<Dimension> {
        if let Some(key) = name.strip_prefix("customer.attr.") {
            return (!key.is_empty()).then(|| Dimension::CustomerAttribute(key.to_owned()));
        }
        if let Some(key) = name.strip_prefix("attr.") {
            return (!key.is_empty()).then(|| Dimension::Attribute(key.to_owned()));
        }
        Some(match name {
            "customer_id" => Dimension::CustomerId,
            "owner_id" => Dimension::OwnerId,
            "assignee_id" => Dimension::AssigneeId,
            "lead.source" => Dimension::LeadSource,
            "customer.acquisition_channel" => Dimension::CustomerAcquisitionChannel,
            "channel" => Dimension::Channel,
            "deal_type" => Dimension::DealType,
            "stage" => Dimension::Stage,
            "survey.channel" => Dimension::SurveyChannel,
            "cost.channel" => Dimension::CostChannel,
            _ => return None,
        })
    }

    /// The dimension's name as callers write it.
    pub fn name(&self) -> String {
        match self {
            Dimension::Attribute(key) => format!("attr.{key}"),
            Dimension::CustomerAttribute(key) => format!("customer.attr.{key}"),
            fixed => FIXED_DIMENSIONS[fixed.fixed_index()].to_owned(),
        }
    }

    fn fixed_index(&self) -> usize {
        match self {
            Dimension::CustomerId => 0,
            Dimension::OwnerId => 1,
            Dimension::AssigneeId => 2,
            Dimension::LeadSource => 3,
            Dimension::CustomerAcquisitionChannel => 4,
            Dimension::Channel => 5,
            Dimension::DealType => 6,
            Dimension::Stage => 7,
            Dimension::SurveyChannel => 8,
            Dimension::CostChannel => 9,
            Dimension::Attribute(_) | Dimension::CustomerAttribute(_) => usize::MAX,
        }
    }

    /// Whether records of `kind` can answer this dimension.
    pub fn applies_to(&self, kind: RecordKind) -> bool {
        use RecordKind as K;
        let has_customer = matches!(
            kind,
            K::Customer
                | K::Lead
                | K::Deal
                | K::Order
                | K::Subscription
                | K::Activity
                | K::Ticket
                | K::SurveyResponse
                | K::EngagementEvent
        );
        match self {
            Dimension::CustomerId
            | Dimension::CustomerAcquisitionChannel
            | Dimension::CustomerAttribute(_) => has_customer,
            Dimension::OwnerId => matches!(kind, K::Lead | K::Deal | K::Activity | K::Quota),
            Dimension::AssigneeId => kind == K::Ticket,
            Dimension::LeadSource => matches!(kind, K::Lead | K::Deal),
            Dimension::Channel => {
                matches!(kind, K::Ticket | K::SurveyResponse | K::Cost | K::Customer)
            }
            Dimension::DealType | Dimension::Stage => kind == K::Deal,
            Dimension::SurveyChannel => kind == K::SurveyResponse,
            Dimension::CostChannel => kind == K::Cost,
            Dimension::Attribute(_) => true,
        }
    }

    /// The dimension names that apply to every kind in `kinds`.
    pub fn names_for(kinds: &[RecordKind]) -> Vec<String> {
        let mut names: Vec<String> = FIXED_DIMENSIONS
            .iter()
            .filter(|name| {
                Dimension::parse(name).is_some_and(|d| kinds.iter().all(|k| d.applies_to(*k)))
            })
            .map(|name| (*name).to_owned())
            .collect();
        names.push("attr.<key>".to_owned());
        if kinds
            .iter()
            .all(|k| Dimension::CustomerAttribute(String::new()).applies_to(*k))
        {
            names.push("customer.attr.<key>".to_owned());
        }
        names
    }

    /// The record's value for this dimension; `None` when the record has none.
    pub fn value_of<'a>(&self, record: RecordRef<'a>, lookup: &Lookup<'a>) -> Option<&'a str> {
        let customer = || record.customer_id().and_then(|id| lookup.customer(id));
        match (self, record) {
            (Dimension::CustomerId, _) => record.customer_id(),
            (Dimension::CustomerAcquisitionChannel, _) => {
                customer()?.acquisition_channel.as_deref()
            }
            (Dimension::CustomerAttribute(key), _) => customer()?.meta.attributes.get(key),
            (Dimension::Attribute(key), _) => record.meta().attributes.get(key),
            (Dimension::OwnerId, RecordRef::Lead(r)) => r.owner_id.as_deref(),
            (Dimension::OwnerId, RecordRef::Deal(r)) => r.owner_id.as_deref(),
            (Dimension::OwnerId, RecordRef::Activity(r)) => r.owner_id.as_deref(),
            (Dimension::OwnerId, RecordRef::Quota(r)) => Some(&r.owner_id),
            (Dimension::AssigneeId, RecordRef::Ticket(r)) => r.assignee_id.as_deref(),
            (Dimension::LeadSource, RecordRef::Lead(r)) => r.source.as_deref(),
            (Dimension::LeadSource, RecordRef::Deal(r)) => {
                lookup.lead(r.lead_id.as_deref()?)?.source.as_deref()
            }
            (Dimension::Channel | Dimension::SurveyChannel, RecordRef::SurveyResponse(r)) => {
                r.channel.as_deref()
            }
            (Dimension::Channel, RecordRef::Ticket(r)) => Some(&r.channel),
            (Dimension::Channel | Dimension::CostChannel, RecordRef::Cost(r)) => {
                r.channel.as_deref()
            }
            (Dimension::Channel, RecordRef::Customer(r)) => r.acquisition_channel.as_deref(),
            (Dimension::DealType, RecordRef::Deal(r)) => Some(r.deal_type.name()),
            (Dimension::Stage, RecordRef::Deal(r)) => Some(&r.stage),
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "tests/dimension.rs"]
mod tests;
