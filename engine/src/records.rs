//! Domain records: the facts the metrics are computed from.
//!
//! These types are already valid (the service validates protobuf input before building them), so
//! the formulas never re-check their invariants. Every record carries [`Meta`]: the caller's own id,
//! the version used for last-writer-wins upserts, and free-form string attributes that filters and
//! group-by can use. References between records (`customer_id`, `lead_id`, ...) are soft: the
//! referenced record may not exist (yet).

use chrono::{DateTime, NaiveDate, Utc};

use crate::money::{Currency, Money};

mod attributes;
mod fingerprint;
mod kind;

pub use attributes::Attributes;
pub use kind::RecordKind;

/// A short text (an id, a stage, a channel): kept inline up to 24 bytes, so records hold their
/// ids without a heap allocation each, clone without allocating, and hash without a pointer
/// chase. Compares, hashes and orders exactly as the `str` it holds. Personal data (names,
/// e-mail addresses, phone numbers, comments) stays in `String`s.
pub type Text = compact_str::CompactString;

/// An instant in time, in UTC, with microsecond precision once stored.
pub type Timestamp = DateTime<Utc>;

/// Identity, version and custom attributes shared by every record kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Meta {
    /// The caller's own id, 1–128 characters, unique per tenant and kind.
    pub id: Text,
    /// Upserts apply only when the incoming version is at least the stored one.
    pub version: i64,
    /// Free-form string attributes, usable as `attr.<key>` in filters and group-by.
    pub attributes: Attributes,
}

/// A company or person that buys. Holds the only personal data besides leads and survey comments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Customer {
    pub meta: Meta,
    /// Personal data: display name.
    pub name: Option<String>,
    /// Personal data: e-mail address.
    pub email: Option<String>,
    /// Personal data: phone number.
    pub phone: Option<String>,
    /// When the customer became a customer (first contract or first paid order).
    pub acquired_time: Timestamp,
    /// When the customer stopped being a customer, if they did.
    pub churned_time: Option<Timestamp>,
    /// The channel that acquired the customer (e.g. `paid_search`), matched against cost channels.
    pub acquisition_channel: Option<Text>,
}

/// A prospective customer in the sales funnel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lead {
    pub meta: Meta,
    pub created_time: Timestamp,
    /// Where the lead came from (`web_form`, `referral`, ...).
    pub source: Option<Text>,
    pub owner_id: Option<Text>,
    pub qualified_time: Option<Timestamp>,
    pub converted_time: Option<Timestamp>,
    /// The customer the lead converted into.
    pub customer_id: Option<Text>,
    pub disqualified_time: Option<Timestamp>,
    /// The first response recorded by the CRM itself (activities may record an earlier one).
    pub first_response_time: Option<Timestamp>,
    /// Personal data: contact name.
    pub name: Option<String>,
    /// Personal data: contact e-mail.
    pub email: Option<String>,
    /// Personal data: contact phone.
    pub phone: Option<String>,
}

/// Where a deal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DealStatus {
    Open,
    Won,
    Lost,
}

/// What kind of business a deal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DealType {
    NewBusiness,
    Upsell,
    CrossSell,
    Renewal,
}

impl DealType {
    /// The snake_case name used as a dimension value.
    pub fn name(self) -> &'static str {
        match self {
            DealType::NewBusiness => "new_business",
            DealType::Upsell => "upsell",
            DealType::CrossSell => "cross_sell",
            DealType::Renewal => "renewal",
        }
    }
}

/// One entry of a deal's stage history: the deal entered `stage` at `entered_time`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StageEntry {
    pub stage: Text,
    pub entered_time: Timestamp,
}

/// A sales opportunity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Deal {
    pub meta: Meta,
    pub created_time: Timestamp,
    pub owner_id: Option<Text>,
    pub amount: Money,
    pub status: DealStatus,
    /// Required for WON and LOST deals, never before `created_time`.
    pub closed_time: Option<Timestamp>,
    /// The current stage name.
    pub stage: Text,
    /// Stage visits, sorted by `entered_time`.
    pub stage_history: Vec<StageEntry>,
    /// Win probability in whole percent, 0–100.
    pub probability_percent: Option<u32>,
    pub deal_type: DealType,
    pub lead_id: Option<Text>,
    pub customer_id: Option<Text>,
}

/// What kind of revenue event an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderKind {
    New,
    Repeat,
    Upsell,
    CrossSell,
    Renewal,
    Other,
}

impl OrderKind {
    /// Every order kind.
    pub const ALL: [OrderKind; 6] = [
        OrderKind::New,
        OrderKind::Repeat,
        OrderKind::Upsell,
        OrderKind::CrossSell,
        OrderKind::Renewal,
        OrderKind::Other,
    ];
}

/// A revenue event: a purchase by a customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Order {
    pub meta: Meta,
    pub customer_id: Text,
    pub amount: Money,
    /// The cost of goods for the order, when known (profit metrics).
    pub cost: Option<Money>,
    pub ordered_time: Timestamp,
    pub fulfilled_time: Option<Timestamp>,
    pub kind: OrderKind,
}

/// The outcome of a subscription's renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RenewalOutcome {
    Pending,
    Renewed,
    NotRenewed,
}

/// A recurring-revenue contract.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subscription {
    pub meta: Meta,
    pub customer_id: Text,
    /// Monthly-normalised recurring amount.
    pub mrr: Money,
    pub start_time: Timestamp,
    /// Exclusive end; absent while the subscription runs.
    pub end_time: Option<Timestamp>,
    /// Trials never count as recurring revenue.
    pub trial: bool,
    pub renewal_due_time: Option<Timestamp>,
    pub renewal_outcome: Option<RenewalOutcome>,
}

/// The type of a logged activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityType {
    Call,
    Email,
    Meeting,
    Task,
    Note,
    DataEntry,
    Other,
}

impl ActivityType {
    /// Every activity type.
    pub const ALL: [ActivityType; 7] = [
        ActivityType::Call,
        ActivityType::Email,
        ActivityType::Meeting,
        ActivityType::Task,
        ActivityType::Note,
        ActivityType::DataEntry,
        ActivityType::Other,
    ];

    /// The UPPER_SNAKE name used in the `routine_types` parameter.
    pub fn name(self) -> &'static str {
        match self {
            ActivityType::Call => "CALL",
            ActivityType::Email => "EMAIL",
            ActivityType::Meeting => "MEETING",
            ActivityType::Task => "TASK",
            ActivityType::Note => "NOTE",
            ActivityType::DataEntry => "DATA_ENTRY",
            ActivityType::Other => "OTHER",
        }
    }
}

/// Whether an activity went to the contact or came from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityDirection {
    Inbound,
    Outbound,
}

/// A call, e-mail, meeting, task or note logged in the CRM.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Activity {
    pub meta: Meta,
    pub activity_type: ActivityType,
    pub direction: ActivityDirection,
    pub occurred_time: Timestamp,
    pub duration_seconds: Option<i64>,
    pub lead_id: Option<Text>,
    pub deal_id: Option<Text>,
    pub customer_id: Option<Text>,
    pub owner_id: Option<Text>,
}

/// A support ticket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ticket {
    pub meta: Meta,
    pub customer_id: Option<Text>,
    pub created_time: Timestamp,
    pub first_response_time: Option<Timestamp>,
    pub resolved_time: Option<Timestamp>,
    pub assignee_id: Option<Text>,
    /// `email`, `phone`, `chat`, ...
    pub channel: Text,
    /// How many contacts the customer needed (1 = resolved on first contact).
    pub contact_count: u32,
    pub reopened: bool,
}

/// Which survey a response answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SurveyType {
    Nps,
    Csat,
    Ces,
}

/// How a score is oriented. Only CES may be stored lower-is-easier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScoreDirection {
    HigherIsBetter,
    LowerIsBetter,
}

/// One answer to an NPS, CSAT or CES survey. Scale and score are validated on ingestion.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SurveyResponse {
    pub meta: Meta,
    pub survey_type: SurveyType,
    pub score: i32,
    pub scale_min: i32,
    pub scale_max: i32,
    pub direction: ScoreDirection,
    pub responded_time: Timestamp,
    pub customer_id: Text,
    pub ticket_id: Option<Text>,
    pub channel: Option<Text>,
    /// Personal data: free-text comment.
    pub comment: Option<String>,
}

/// What a cost was spent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CostCategory {
    AcquisitionMarketing,
    AcquisitionSales,
    Retention,
    CrmInvestment,
    Other,
}

/// Money spent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cost {
    pub meta: Meta,
    pub category: CostCategory,
    pub channel: Option<Text>,
    pub amount: Money,
    pub incurred_time: Timestamp,
}

/// What a customer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngagementType {
    EmailOpen,
    EmailClick,
    WebVisit,
    Social,
    Loyalty,
    ProductUsage,
}

/// A customer's interaction with the company (e-mail, web, product usage, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EngagementEvent {
    pub meta: Meta,
    pub customer_id: Text,
    pub event_type: EngagementType,
    pub occurred_time: Timestamp,
}

/// A CRM user's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserRole {
    Sales,
    Support,
    Marketing,
    Admin,
    Other,
}

/// A person who uses the CRM (a sales rep, a support agent, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CrmUser {
    pub meta: Meta,
    pub role: UserRole,
    pub team: Option<Text>,
    pub licensed: bool,
    pub created_time: Timestamp,
    pub deactivated_time: Option<Timestamp>,
}

/// What a CRM user did in the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserEventKind {
    Login,
    FeatureUse,
}

/// A CRM user's login or feature use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserEvent {
    pub meta: Meta,
    pub user_id: Text,
    pub kind: UserEventKind,
    pub feature: Option<Text>,
    pub occurred_time: Timestamp,
}

/// A sales target for one owner over `[period_start, period_end)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Quota {
    pub meta: Meta,
    pub owner_id: Text,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub amount: Money,
}

/// The value of one unit of `currency` in the tenant's reporting currency on `date`, as an exact
/// decimal `rate_units × 10^-rate_scale`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExchangeRate {
    pub meta: Meta,
    pub currency: Currency,
    pub date: NaiveDate,
    pub rate_units: i64,
    pub rate_scale: u32,
}

/// Any record, as ingested.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Record {
    Customer(Customer),
    Lead(Lead),
    Deal(Deal),
    Order(Order),
    Subscription(Subscription),
    Activity(Activity),
    Ticket(Ticket),
    SurveyResponse(SurveyResponse),
    Cost(Cost),
    EngagementEvent(EngagementEvent),
    CrmUser(CrmUser),
    UserEvent(UserEvent),
    Quota(Quota),
    ExchangeRate(ExchangeRate),
}

impl Record {
    /// The record's kind.
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Customer(_) => RecordKind::Customer,
            Record::Lead(_) => RecordKind::Lead,
            Record::Deal(_) => RecordKind::Deal,
            Record::Order(_) => RecordKind::Order,
            Record::Subscription(_) => RecordKind::Subscription,
            Record::Activity(_) => RecordKind::Activity,
            Record::Ticket(_) => RecordKind::Ticket,
            Record::SurveyResponse(_) => RecordKind::SurveyResponse,
            Record::Cost(_) => RecordKind::Cost,
            Record::EngagementEvent(_) => RecordKind::EngagementEvent,
            Record::CrmUser(_) => RecordKind::CrmUser,
            Record::UserEvent(_) => RecordKind::UserEvent,
            Record::Quota(_) => RecordKind::Quota,
            Record::ExchangeRate(_) => RecordKind::ExchangeRate,
        }
    }

    /// The identity, version and attributes of the record.
    pub fn meta(&self) -> &Meta {
        match self {
            Record::Customer(r) => &r.meta,
            Record::Lead(r) => &r.meta,
            Record::Deal(r) => &r.meta,
            Record::Order(r) => &r.meta,
            Record::Subscription(r) => &r.meta,
            Record::Activity(r) => &r.meta,
            Record::Ticket(r) => &r.meta,
            Record::SurveyResponse(r) => &r.meta,
            Record::Cost(r) => &r.meta,
            Record::EngagementEvent(r) => &r.meta,
            Record::CrmUser(r) => &r.meta,
            Record::UserEvent(r) => &r.meta,
            Record::Quota(r) => &r.meta,
            Record::ExchangeRate(r) => &r.meta,
        }
    }

    /// The identity, version and attributes of the record, to change (tests build variants).
    #[cfg(test)]
    pub(crate) fn meta_mut(&mut self) -> &mut Meta {
        match self {
            Record::Customer(r) => &mut r.meta,
            Record::Lead(r) => &mut r.meta,
            Record::Deal(r) => &mut r.meta,
            Record::Order(r) => &mut r.meta,
            Record::Subscription(r) => &mut r.meta,
            Record::Activity(r) => &mut r.meta,
            Record::Ticket(r) => &mut r.meta,
            Record::SurveyResponse(r) => &mut r.meta,
            Record::Cost(r) => &mut r.meta,
            Record::EngagementEvent(r) => &mut r.meta,
            Record::CrmUser(r) => &mut r.meta,
            Record::UserEvent(r) => &mut r.meta,
            Record::Quota(r) => &mut r.meta,
            Record::ExchangeRate(r) => &mut r.meta,
        }
    }
}
