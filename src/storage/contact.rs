//! Columns of the customer-contact tables: activities, tickets, survey responses, engagement
//! events, and of the CRM-usage tables: CRM users and their events.

use crm_metrics_engine::records::{
    Activity, CrmUser, EngagementEvent, Meta, RecordKind, SurveyResponse, Ticket, UserEvent,
};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::StorageError;
use super::enums::{SqlText, get_enum};
use super::table::{Columns, Table, get_u32, opt_text, text};

impl Table for Activity {
    const TABLE: &'static str = "activities";
    const KIND: RecordKind = RecordKind::Activity;
    const COLUMNS: &'static [&'static str] = &[
        "activity_type",
        "direction",
        "occurred_time",
        "duration_seconds",
        "lead_id",
        "deal_id",
        "customer_id",
        "owner_id",
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("activity_type", rows, |r| r.activity_type.sql())?;
        out.push("direction", rows, |r| r.direction.sql())?;
        out.push("occurred_time", rows, |r| r.occurred_time)?;
        out.push("duration_seconds", rows, |r| r.duration_seconds)?;
        out.push("lead_id", rows, |r| r.lead_id.as_deref())?;
        out.push("deal_id", rows, |r| r.deal_id.as_deref())?;
        out.push("customer_id", rows, |r| r.customer_id.as_deref())?;
        out.push("owner_id", rows, |r| r.owner_id.as_deref())
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        Ok(Activity {
            meta,
            activity_type: get_enum(row, "activity_type")?,
            direction: get_enum(row, "direction")?,
            occurred_time: row.try_get("occurred_time")?,
            duration_seconds: row.try_get("duration_seconds")?,
            lead_id: opt_text(row, "lead_id")?,
            deal_id: opt_text(row, "deal_id")?,
            customer_id: opt_text(row, "customer_id")?,
            owner_id: opt_text(row, "owner_id")?,
        })
    }
}

impl Table for Ticket {
    const TABLE: &'static str = "tickets";
    const KIND: RecordKind = RecordKind::Ticket;
    const COLUMNS: &'static [&'static str] = &[
        "customer_id",
        "created_time",
        "first_response_time",
        "resolved_time",
        "assignee_id",
        "channel",
        "contact_count",
        "reopened",
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("customer_id", rows, |r| r.customer_id.as_deref())?;
        out.push("created_time", rows, |r| r.created_time)?;
        out.push("first_response_time", rows, |r| r.first_response_time)?;
        out.push("resolved_time", rows, |r| r.resolved_time)?;
        out.push("assignee_id", rows, |r| r.assignee_id.as_deref())?;
        out.push("channel", rows, |r| r.channel.as_str())?;
        out.push("contact_count", rows, |r| i64::from(r.contact_count))?;
        out.push("reopened", rows, |r| r.reopened)
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        Ok(Ticket {
            meta,
            customer_id: opt_text(row, "customer_id")?,
            created_time: row.try_get("created_time")?,
            first_response_time: row.try_get("first_response_time")?,
            resolved_time: row.try_get("resolved_time")?,
            assignee_id: opt_text(row, "assignee_id")?,
            channel: text(row, "channel")?,
            contact_count: get_u32::<i64>(row, "contact_count")?,
            reopened: row.try_get("reopened")?,
        })
    }
}

impl Table for SurveyResponse {
    const TABLE: &'static str = "survey_responses";
    const KIND: RecordKind = RecordKind::SurveyResponse;
    const COLUMNS: &'static [&'static str] = &[
        "survey_type",
        "score",
        "scale_min",
        "scale_max",
        "direction",
        "responded_time",
        "customer_id",
        "ticket_id",
        "channel",
        "comment",
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("survey_type", rows, |r| r.survey_type.sql())?;
        out.push("score", rows, |r| r.score)?;
        out.push("scale_min", rows, |r| r.scale_min)?;
        out.push("scale_max", rows, |r| r.scale_max)?;
        out.push("direction", rows, |r| r.direction.sql())?;
        out.push("responded_time", rows, |r| r.responded_time)?;
        out.push("customer_id", rows, |r| r.customer_id.as_str())?;
        out.push("ticket_id", rows, |r| r.ticket_id.as_deref())?;
        out.push("channel", rows, |r| r.channel.as_deref())?;
        out.push("comment", rows, |r| r.comment.as_deref())
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        Ok(SurveyResponse {
            meta,
            survey_type: get_enum(row, "survey_type")?,
            score: row.try_get("score")?,
            scale_min: row.try_get("scale_min")?,
            scale_max: row.try_get("scale_max")?,
            direction: get_enum(row, "direction")?,
            responded_time: row.try_get("responded_time")?,
            customer_id: text(row, "customer_id")?,
            ticket_id: opt_text(row, "ticket_id")?,
            channel: opt_text(row, "channel")?,
            comment: row.try_get("comment")?,
        })
    }
}

impl Table for EngagementEvent {
    const TABLE: &'static str = "engagement_events";
    const KIND: RecordKind = RecordKind::EngagementEvent;
    const COLUMNS: &'static [&'static str] = &["customer_id", "event_type", "occurred_time"];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("customer_id", rows, |r| r.customer_id.as_str())?;
        out.push("event_type", rows, |r| r.event_type.sql())?;
        out.push("occurred_time", rows, |r| r.occurred_time)
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        Ok(EngagementEvent {
            meta,
            customer_id: text(row, "customer_id")?,
            event_type: get_enum(row, "event_type")?,
            occurred_time: row.try_get("occurred_time")?,
        })
    }
}

impl Table for CrmUser {
    const TABLE: &'static str = "crm_users";
    const KIND: RecordKind = RecordKind::CrmUser;
    const COLUMNS: &'static [&'static str] = &[
        "role",
        "team",
        "licensed",
        "created_time",
        "deactivated_time",
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("role", rows, |r| r.role.sql())?;
        out.push("team", rows, |r| r.team.as_deref())?;
        out.push("licensed", rows, |r| r.licensed)?;
        out.push("created_time", rows, |r| r.created_time)?;
        out.push("deactivated_time", rows, |r| r.deactivated_time)
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        Ok(CrmUser {
            meta,
            role: get_enum(row, "role")?,
            team: opt_text(row, "team")?,
            licensed: row.try_get("licensed")?,
            created_time: row.try_get("created_time")?,
            deactivated_time: row.try_get("deactivated_time")?,
        })
    }
}

impl Table for UserEvent {
    const TABLE: &'static str = "user_events";
    const KIND: RecordKind = RecordKind::UserEvent;
    const COLUMNS: &'static [&'static str] = &["user_id", "kind", "feature", "occurred_time"];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("user_id", rows, |r| r.user_id.as_str())?;
        out.push("kind", rows, |r| r.kind.sql())?;
        out.push("feature", rows, |r| r.feature.as_deref())?;
        out.push("occurred_time", rows, |r| r.occurred_time)
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        Ok(UserEvent {
            meta,
            user_id: text(row, "user_id")?,
            kind: get_enum(row, "kind")?,
            feature: opt_text(row, "feature")?,
            occurred_time: row.try_get("occurred_time")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::tests::check_columns;
    use super::*;

    #[test]
    fn bound_columns_match_declared_columns() {
        check_columns::<Activity>();
        check_columns::<Ticket>();
        check_columns::<SurveyResponse>();
        check_columns::<EngagementEvent>();
        check_columns::<CrmUser>();
        check_columns::<UserEvent>();
    }
}
