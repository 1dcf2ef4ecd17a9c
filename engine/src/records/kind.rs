//! The kinds of record, with the names the catalog and error messages use.

/// The kinds of record the service stores, one table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Customer,
    Lead,
    Deal,
    Order,
    Subscription,
    Activity,
    Ticket,
    SurveyResponse,
    Cost,
    EngagementEvent,
    CrmUser,
    UserEvent,
    Quota,
    ExchangeRate,
}

impl RecordKind {
    /// Every kind, in a fixed order.
    pub const ALL: [RecordKind; 14] = [
        RecordKind::Customer,
        RecordKind::Lead,
        RecordKind::Deal,
        RecordKind::Order,
        RecordKind::Subscription,
        RecordKind::Activity,
        RecordKind::Ticket,
        RecordKind::SurveyResponse,
        RecordKind::Cost,
        RecordKind::EngagementEvent,
        RecordKind::CrmUser,
        RecordKind::UserEvent,
        RecordKind::Quota,
        RecordKind::ExchangeRate,
    ];

    /// The snake_case name used in the catalog and in error messages.
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Customer => "customer",
            RecordKind::Lead => "lead",
            RecordKind::Deal => "deal",
            RecordKind::Order => "order",
            RecordKind::Subscription => "subscription",
            RecordKind::Activity => "activity",
            RecordKind::Ticket => "ticket",
            RecordKind::SurveyResponse => "survey_response",
            RecordKind::Cost => "cost",
            RecordKind::EngagementEvent => "engagement_event",
            RecordKind::CrmUser => "crm_user",
            RecordKind::UserEvent => "user_event",
            RecordKind::Quota => "quota",
            RecordKind::ExchangeRate => "exchange_rate",
        }
    }
}
