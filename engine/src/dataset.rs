//! The records one query reads, and the plan that tells storage which rows to fetch.
//!
//! Storage turns a [`ReadPlan`] into tenant-scoped, time-bounded index scans and hands back a
//! [`Dataset`]; the engine never sees SQL and storage never sees a formula.

use std::collections::BTreeMap;

use crate::calendar::Window;
use crate::context::RecordRef;

use crate::records::{
    Activity, Cost, CostCategory, CrmUser, Customer, Deal, EngagementEvent, ExchangeRate, Lead,
    Order, Quota, Record, RecordKind, Subscription, SurveyResponse, Ticket, Timestamp, UserEvent,
};

/// All records of one tenant that a query needs, one list per kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    pub customers: Vec<Customer>,
    pub leads: Vec<Lead>,
    pub deals: Vec<Deal>,
    pub orders: Vec<Order>,
    pub subscriptions: Vec<Subscription>,
    pub activities: Vec<Activity>,
    pub tickets: Vec<Ticket>,
    pub survey_responses: Vec<SurveyResponse>,
    pub costs: Vec<Cost>,
    pub engagement_events: Vec<EngagementEvent>,
    pub crm_users: Vec<CrmUser>,
    pub user_events: Vec<UserEvent>,
    pub quotas: Vec<Quota>,
    pub exchange_rates: Vec<ExchangeRate>,
}

impl Dataset {
    /// Builds a dataset from loose records (inline computations, tests).
    pub fn from_records(records: impl IntoIterator<Item = Record>) -> Dataset {
        let mut dataset = Dataset::default();
        for record in records {
            dataset.push(record);
        }
        dataset
    }

    /// Adds one record to the list of its kind.
    pub fn push(&mut self, record: Record) {
        match record {
            Record::Customer(r) => self.customers.push(r),
            Record::Lead(r) => self.leads.push(r),
            Record::Deal(r) => self.deals.push(r),
            Record::Order(r) => self.orders.push(r),
            Record::Subscription(r) => self.subscriptions.push(r),
            Record::Activity(r) => self.activities.push(r),
            Record::Ticket(r) => self.tickets.push(r),
            Record::SurveyResponse(r) => self.survey_responses.push(r),
            Record::Cost(r) => self.costs.push(r),
            Record::EngagementEvent(r) => self.engagement_events.push(r),
            Record::CrmUser(r) => self.crm_users.push(r),
            Record::UserEvent(r) => self.user_events.push(r),
            Record::Quota(r) => self.quotas.push(r),
            Record::ExchangeRate(r) => self.exchange_rates.push(r),
        }
    }

    /// How many records of all kinds.
    pub fn len(&self) -> usize {
        self.customers.len()
            + self.leads.len()
            + self.deals.len()
            + self.orders.len()
            + self.subscriptions.len()
            + self.activities.len()
            + self.tickets.len()
            + self.survey_responses.len()
            + self.costs.len()
            + self.engagement_events.len()
            + self.crm_users.len()
            + self.user_events.len()
            + self.quotas.len()
            + self.exchange_rates.len()
    }

    /// True when there are no records at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A timestamp field that storage can range-scan (each has a `(tenant_id, column)` index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeField {
    CustomerAcquired,
    LeadCreated,
    DealCreated,
    DealClosed,
    OrderOrdered,
    OrderFulfilled,
    SubscriptionStart,
    ActivityOccurred,
    TicketCreated,
    TicketResolved,
    SurveyResponded,
    CostIncurred,
    EngagementOccurred,
    UserEventOccurred,
    QuotaPeriodStart,
}

impl TimeField {
    /// The record kind the field belongs to.
    pub fn kind(self) -> RecordKind {
        match self {
            TimeField::CustomerAcquired => RecordKind::Customer,
            TimeField::LeadCreated => RecordKind::Lead,
            TimeField::DealCreated | TimeField::DealClosed => RecordKind::Deal,
            TimeField::OrderOrdered | TimeField::OrderFulfilled => RecordKind::Order,
            TimeField::SubscriptionStart => RecordKind::Subscription,
            TimeField::ActivityOccurred => RecordKind::Activity,
            TimeField::TicketCreated | TimeField::TicketResolved => RecordKind::Ticket,
            TimeField::SurveyResponded => RecordKind::SurveyResponse,
            TimeField::CostIncurred => RecordKind::Cost,
            TimeField::EngagementOccurred => RecordKind::EngagementEvent,
            TimeField::UserEventOccurred => RecordKind::UserEvent,
            TimeField::QuotaPeriodStart => RecordKind::Quota,
        }
    }
}

impl TimeField {
    /// The field's value in `record`; `None` when absent or when the record is of another kind.
    pub fn value_of(self, record: RecordRef<'_>) -> Option<Timestamp> {
        match (self, record) {
            (TimeField::CustomerAcquired, RecordRef::Customer(r)) => Some(r.acquired_time),
            (TimeField::LeadCreated, RecordRef::Lead(r)) => Some(r.created_time),
            (TimeField::DealCreated, RecordRef::Deal(r)) => Some(r.created_time),
            (TimeField::DealClosed, RecordRef::Deal(r)) => r.closed_time,
            (TimeField::OrderOrdered, RecordRef::Order(r)) => Some(r.ordered_time),
            (TimeField::OrderFulfilled, RecordRef::Order(r)) => r.fulfilled_time,
            (TimeField::SubscriptionStart, RecordRef::Subscription(r)) => Some(r.start_time),
            (TimeField::ActivityOccurred, RecordRef::Activity(r)) => Some(r.occurred_time),
            (TimeField::TicketCreated, RecordRef::Ticket(r)) => Some(r.created_time),
            (TimeField::TicketResolved, RecordRef::Ticket(r)) => r.resolved_time,
            (TimeField::SurveyResponded, RecordRef::SurveyResponse(r)) => Some(r.responded_time),
            (TimeField::CostIncurred, RecordRef::Cost(r)) => Some(r.incurred_time),
            (TimeField::EngagementOccurred, RecordRef::EngagementEvent(r)) => Some(r.occurred_time),
            (TimeField::UserEventOccurred, RecordRef::UserEvent(r)) => Some(r.occurred_time),
            (TimeField::QuotaPeriodStart, RecordRef::Quota(r)) => Some(r.period_start),
            _ => None,
        }
    }
}

/// Rows whose `field` lies in `[from, until)`; an open side is unbounded. Rows where the field is
/// absent (NULL) never match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBound {
    pub field: TimeField,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl TimeBound {
    /// Whether `record` lies in the bound (what storage's range scan selects).
    pub fn contains(&self, record: RecordRef<'_>) -> bool {
        self.field.value_of(record).is_some_and(|t| {
            self.from.is_none_or(|from| t >= from) && self.until.is_none_or(|until| t < until)
        })
    }
}

/// Which rows of one kind to read: every row of the tenant, or the union of some time bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindRead {
    /// Every row of the tenant of this kind.
    All,
    /// Rows matching at least one bound.
    AnyOf(Vec<TimeBound>),
}

impl KindRead {
    /// Whether `record` is among the rows this read selects: the in-memory twin of storage's
    /// scan, so records kept in memory are filtered exactly as a fresh read would be.
    pub fn selects(&self, record: RecordRef<'_>) -> bool {
        match self {
            KindRead::All => true,
            KindRead::AnyOf(bounds) => bounds.iter().any(|bound| bound.contains(record)),
        }
    }
}

/// The rows a query needs, per kind. Kinds not named are not read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadPlan {
    pub kinds: BTreeMap<RecordKind, KindRead>,
}

impl ReadPlan {
    /// Needs every row of `kind`.
    pub fn read_all(&mut self, kind: RecordKind) {
        self.kinds.insert(kind, KindRead::All);
    }

    /// Needs the rows of the bound's kind whose field lies in the bound (unioned with what was
    /// already planned).
    pub fn read_bounded(&mut self, bound: TimeBound) {
        let entry = self
            .kinds
            .entry(bound.field.kind())
            .or_insert_with(|| KindRead::AnyOf(Vec::new()));
        if let KindRead::AnyOf(bounds) = entry
            && !bounds.contains(&bound)
        {
            bounds.push(bound);
        }
    }

    /// A plan for the rows whose `field` lies in `window`.
    pub fn within(field: TimeField, window: Window) -> ReadPlan {
        let mut plan = ReadPlan::default();
        plan.read_bounded(TimeBound {
            field,
            from: Some(window.start),
            until: Some(window.end),
        });
        plan
    }

    /// A plan for the rows whose `field` is before `end`.
    pub fn before(field: TimeField, end: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        plan.read_bounded(TimeBound {
            field,
            from: None,
            until: Some(end),
        });
        plan
    }

    /// Unions another plan into this one.
    pub fn merge(&mut self, other: ReadPlan) {
        for (kind, read) in other.kinds {
            match read {
                KindRead::All => self.read_all(kind),
                KindRead::AnyOf(bounds) => {
                    for bound in bounds {
                        self.read_bounded(bound);
                    }
                }
            }
        }
    }
}

/// Cost categories that count as acquisition spend.
pub fn is_acquisition(category: CostCategory) -> bool {
    matches!(
        category,
        CostCategory::AcquisitionMarketing | CostCategory::AcquisitionSales
    )
}
