//! Enum mappings between protobuf and the engine.
//!
//! Inbound mappings return `None` for values that are not allowed (the `*_UNSPECIFIED` zero
//! values); the matches are exhaustive on both sides, so a new enum value in a proto file or in
//! the engine breaks the build here until it is mapped.

use crm_metrics_engine::calendar::Granularity;
use crm_metrics_engine::catalog::{Direction, ParamKind, ValueKind};
use crm_metrics_engine::query::GroupOrder;
use crm_metrics_engine::records::{
    ActivityDirection, ActivityType, CostCategory, DealStatus, DealType, EngagementType, OrderKind,
    RecordKind, RenewalOutcome, ScoreDirection, SurveyType, UserEventKind, UserRole,
};
use crm_metrics_engine::value::UndefinedReason;

use super::pb;

/// A proto `RecordKind` (raw `i32`, as in `DeleteRecordsRequest.kind`) as an engine kind; `None`
/// for UNSPECIFIED and unknown values.
pub fn kind_from_proto(raw: i32) -> Option<RecordKind> {
    pb::RecordKind::try_from(raw).ok().and_then(record_kind)
}

/// The proto kind of an engine kind (as the raw `i32` prost fields hold).
pub fn kind_to_proto(kind: RecordKind) -> i32 {
    let kind = match kind {
        RecordKind::Customer => pb::RecordKind::Customer,
        RecordKind::Lead => pb::RecordKind::Lead,
        RecordKind::Deal => pb::RecordKind::Deal,
        RecordKind::Order => pb::RecordKind::Order,
        RecordKind::Subscription => pb::RecordKind::Subscription,
        RecordKind::Activity => pb::RecordKind::Activity,
        RecordKind::Ticket => pb::RecordKind::Ticket,
        RecordKind::SurveyResponse => pb::RecordKind::SurveyResponse,
        RecordKind::Cost => pb::RecordKind::Cost,
        RecordKind::EngagementEvent => pb::RecordKind::EngagementEvent,
        RecordKind::CrmUser => pb::RecordKind::CrmUser,
        RecordKind::UserEvent => pb::RecordKind::UserEvent,
        RecordKind::Quota => pb::RecordKind::Quota,
        RecordKind::ExchangeRate => pb::RecordKind::ExchangeRate,
    };
    kind as i32
}

/// A proto record kind as an engine kind; `None` for UNSPECIFIED.
pub fn record_kind(kind: pb::RecordKind) -> Option<RecordKind> {
    Some(match kind {
        pb::RecordKind::Unspecified => return None,
        pb::RecordKind::Customer => RecordKind::Customer,
        pb::RecordKind::Lead => RecordKind::Lead,
        pb::RecordKind::Deal => RecordKind::Deal,
        pb::RecordKind::Order => RecordKind::Order,
        pb::RecordKind::Subscription => RecordKind::Subscription,
        pb::RecordKind::Activity => RecordKind::Activity,
        pb::RecordKind::Ticket => RecordKind::Ticket,
        pb::RecordKind::SurveyResponse => RecordKind::SurveyResponse,
        pb::RecordKind::Cost => RecordKind::Cost,
        pb::RecordKind::EngagementEvent => RecordKind::EngagementEvent,
        pb::RecordKind::CrmUser => RecordKind::CrmUser,
        pb::RecordKind::UserEvent => RecordKind::UserEvent,
        pb::RecordKind::Quota => RecordKind::Quota,
        pb::RecordKind::ExchangeRate => RecordKind::ExchangeRate,
    })
}

/// The series granularity; UNSPECIFIED means none.
pub fn granularity(value: pb::Granularity) -> Option<Granularity> {
    Some(match value {
        pb::Granularity::Unspecified | pb::Granularity::None => Granularity::None,
        pb::Granularity::Day => Granularity::Day,
        pb::Granularity::Week => Granularity::Week,
        pb::Granularity::Month => Granularity::Month,
        pb::Granularity::Quarter => Granularity::Quarter,
        pb::Granularity::Year => Granularity::Year,
        pb::Granularity::FiscalQuarter => Granularity::FiscalQuarter,
        pb::Granularity::FiscalYear => Granularity::FiscalYear,
    })
}

/// The order of a report's groups.
pub fn group_order(value: pb::GroupOrder) -> Option<GroupOrder> {
    Some(match value {
        pb::GroupOrder::Unspecified | pb::GroupOrder::Key => GroupOrder::Key,
        pb::GroupOrder::ValueDescending => GroupOrder::ValueDescending,
        pb::GroupOrder::ValueAscending => GroupOrder::ValueAscending,
    })
}

/// A deal's status.
pub fn deal_status(value: pb::DealStatus) -> Option<DealStatus> {
    Some(match value {
        pb::DealStatus::Unspecified => return None,
        pb::DealStatus::Open => DealStatus::Open,
        pb::DealStatus::Won => DealStatus::Won,
        pb::DealStatus::Lost => DealStatus::Lost,
    })
}

/// A deal's type.
pub fn deal_type(value: pb::DealType) -> Option<DealType> {
    Some(match value {
        pb::DealType::Unspecified => return None,
        pb::DealType::NewBusiness => DealType::NewBusiness,
        pb::DealType::Upsell => DealType::Upsell,
        pb::DealType::CrossSell => DealType::CrossSell,
        pb::DealType::Renewal => DealType::Renewal,
    })
}

/// An order's kind.
pub fn order_kind(value: pb::OrderKind) -> Option<OrderKind> {
    Some(match value {
        pb::OrderKind::Unspecified => return None,
        pb::OrderKind::New => OrderKind::New,
        pb::OrderKind::Repeat => OrderKind::Repeat,
        pb::OrderKind::Upsell => OrderKind::Upsell,
        pb::OrderKind::CrossSell => OrderKind::CrossSell,
        pb::OrderKind::Renewal => OrderKind::Renewal,
        pb::OrderKind::Other => OrderKind::Other,
    })
}

/// A subscription's renewal outcome.
pub fn renewal_outcome(value: pb::RenewalOutcome) -> Option<RenewalOutcome> {
    Some(match value {
        pb::RenewalOutcome::Unspecified => return None,
        pb::RenewalOutcome::Pending => RenewalOutcome::Pending,
        pb::RenewalOutcome::Renewed => RenewalOutcome::Renewed,
        pb::RenewalOutcome::NotRenewed => RenewalOutcome::NotRenewed,
    })
}

/// An activity's type.
pub fn activity_type(value: pb::ActivityType) -> Option<ActivityType> {
    Some(match value {
        pb::ActivityType::Unspecified => return None,
        pb::ActivityType::Call => ActivityType::Call,
        pb::ActivityType::Email => ActivityType::Email,
        pb::ActivityType::Meeting => ActivityType::Meeting,
        pb::ActivityType::Task => ActivityType::Task,
        pb::ActivityType::Note => ActivityType::Note,
        pb::ActivityType::DataEntry => ActivityType::DataEntry,
        pb::ActivityType::Other => ActivityType::Other,
    })
}

/// An activity's direction.
pub fn activity_direction(value: pb::ActivityDirection) -> Option<ActivityDirection> {
    Some(match value {
        pb::ActivityDirection::Unspecified => return None,
        pb::ActivityDirection::Inbound => ActivityDirection::Inbound,
        pb::ActivityDirection::Outbound => ActivityDirection::Outbound,
    })
}

/// A survey's type.
pub fn survey_type(value: pb::SurveyType) -> Option<SurveyType> {
    Some(match value {
        pb::SurveyType::Unspecified => return None,
        pb::SurveyType::Nps => SurveyType::Nps,
        pb::SurveyType::Csat => SurveyType::Csat,
        pb::SurveyType::Ces => SurveyType::Ces,
    })
}

/// A score direction as given: `Some(None)` for UNSPECIFIED (its meaning depends on the survey
/// type, decided by the survey conversion).
pub fn score_direction(value: pb::ScoreDirection) -> Option<Option<ScoreDirection>> {
    Some(match value {
        pb::ScoreDirection::Unspecified => None,
        pb::ScoreDirection::HigherIsBetter => Some(ScoreDirection::HigherIsBetter),
        pb::ScoreDirection::LowerIsBetter => Some(ScoreDirection::LowerIsBetter),
    })
}

/// A cost's category.
pub fn cost_category(value: pb::CostCategory) -> Option<CostCategory> {
    Some(match value {
        pb::CostCategory::Unspecified => return None,
        pb::CostCategory::AcquisitionMarketing => CostCategory::AcquisitionMarketing,
        pb::CostCategory::AcquisitionSales => CostCategory::AcquisitionSales,
        pb::CostCategory::Retention => CostCategory::Retention,
        pb::CostCategory::CrmInvestment => CostCategory::CrmInvestment,
        pb::CostCategory::Other => CostCategory::Other,
    })
}

/// An engagement event's type.
pub fn engagement_type(value: pb::EngagementType) -> Option<EngagementType> {
    Some(match value {
        pb::EngagementType::Unspecified => return None,
        pb::EngagementType::EmailOpen => EngagementType::EmailOpen,
        pb::EngagementType::EmailClick => EngagementType::EmailClick,
        pb::EngagementType::WebVisit => EngagementType::WebVisit,
        pb::EngagementType::Social => EngagementType::Social,
        pb::EngagementType::Loyalty => EngagementType::Loyalty,
        pb::EngagementType::ProductUsage => EngagementType::ProductUsage,
    })
}

/// A CRM user's role.
pub fn user_role(value: pb::UserRole) -> Option<UserRole> {
    Some(match value {
        pb::UserRole::Unspecified => return None,
        pb::UserRole::Sales => UserRole::Sales,
        pb::UserRole::Support => UserRole::Support,
        pb::UserRole::Marketing => UserRole::Marketing,
        pb::UserRole::Admin => UserRole::Admin,
        pb::UserRole::Other => UserRole::Other,
    })
}

/// A user event's kind.
pub fn user_event_kind(value: pb::UserEventKind) -> Option<UserEventKind> {
    Some(match value {
        pb::UserEventKind::Unspecified => return None,
        pb::UserEventKind::Login => UserEventKind::Login,
        pb::UserEventKind::FeatureUse => UserEventKind::FeatureUse,
    })
}

/// A metric's value kind.
pub fn value_kind_to_proto(kind: ValueKind) -> pb::ValueKind {
    match kind {
        ValueKind::Ratio => pb::ValueKind::Ratio,
        ValueKind::Money => pb::ValueKind::Money,
        ValueKind::Duration => pb::ValueKind::Duration,
        ValueKind::Score => pb::ValueKind::Score,
        ValueKind::Count => pb::ValueKind::Count,
        ValueKind::Number => pb::ValueKind::Number,
        ValueKind::Breakdown => pb::ValueKind::Breakdown,
    }
}

/// A metric's direction.
pub fn direction_to_proto(direction: Direction) -> pb::Direction {
    match direction {
        Direction::HigherIsBetter => pb::Direction::HigherIsBetter,
        Direction::LowerIsBetter => pb::Direction::LowerIsBetter,
        Direction::Neutral => pb::Direction::Neutral,
    }
}

/// A parameter's kind.
pub fn parameter_kind_to_proto(kind: ParamKind) -> pb::ParameterKind {
    match kind {
        ParamKind::Number => pb::ParameterKind::Number,
        ParamKind::Text => pb::ParameterKind::Text,
        ParamKind::List => pb::ParameterKind::List,
        ParamKind::NumberMap => pb::ParameterKind::NumberMap,
    }
}

/// Why a value is undefined.
pub fn undefined_reason_to_proto(reason: UndefinedReason) -> pb::UndefinedReason {
    match reason {
        UndefinedReason::NoData => pb::UndefinedReason::NoData,
        UndefinedReason::ZeroDenominator => pb::UndefinedReason::ZeroDenominator,
        UndefinedReason::MissingParameter => pb::UndefinedReason::MissingParameter,
        UndefinedReason::UndefinedInput => pb::UndefinedReason::UndefinedInput,
    }
}

#[cfg(test)]
#[path = "tests/enums.rs"]
mod tests;
