//! Activities, tickets, survey responses, costs, engagement events, CRM users, user events and
//! exchange rates.

use chrono::NaiveDate;
use crm_metrics_engine::records::{
    Activity, Cost, CrmUser, EngagementEvent, ExchangeRate, ScoreDirection, SurveyResponse,
    SurveyType, Ticket, UserEvent,
};

use super::super::enums;
use super::super::fields::Fields;
use super::pb;

/// The most fractional digits an exchange rate may have (so `rate_units` fits comfortably).
const MAX_RATE_SCALE: usize = 18;

/// The longest activity: 100 years of 365.25 days.
const MAX_DURATION_SECONDS: i64 = 3_155_760_000;

/// An activity: `duration_seconds` is between 0 and 100 years.
pub fn activity(mut f: Fields<'_>, activity: pb::Activity) -> Option<Activity> {
    let pb::Activity {
        id,
        version,
        attributes,
        activity_type,
        direction,
        occurred_time,
        duration_seconds,
        lead_id,
        deal_id,
        customer_id,
        owner_id,
    } = activity;
    let meta = f.meta(id, version, attributes);
    let activity_type = f.enumeration(
        "activity_type",
        activity_type,
        pb::ActivityType::as_str_name,
        enums::activity_type,
    );
    let direction = f.enumeration(
        "direction",
        direction,
        pb::ActivityDirection::as_str_name,
        enums::activity_direction,
    );
    let occurred_time = f.time("occurred_time", occurred_time);
    let duration_seconds = match duration_seconds {
        Some(d) if d < 0 => {
            f.problem("duration_seconds", format!("must not be negative, got {d}"));
            None
        }
        Some(d) if d > MAX_DURATION_SECONDS => {
            f.problem(
                "duration_seconds",
                format!("must be at most {MAX_DURATION_SECONDS} (100 years), got {d}"),
            );
            None
        }
        d => Some(d),
    };
    let lead_id = f.opt_id("lead_id", lead_id);
    let deal_id = f.opt_id("deal_id", deal_id);
    let customer_id = f.opt_id("customer_id", customer_id);
    let owner_id = f.opt_id("owner_id", owner_id);
    Some(Activity {
        meta: meta?,
        activity_type: activity_type?,
        direction: direction?,
        occurred_time: occurred_time?,
        duration_seconds: duration_seconds?,
        lead_id: lead_id?,
        deal_id: deal_id?,
        customer_id: customer_id?,
        owner_id: owner_id?,
    })
}

/// A ticket: first response and resolution are not before `created_time`; `contact_count` 0
/// means no contact recorded yet.
pub fn ticket(mut f: Fields<'_>, ticket: pb::Ticket) -> Option<Ticket> {
    let pb::Ticket {
        id,
        version,
        attributes,
        customer_id,
        created_time,
        first_response_time,
        resolved_time,
        assignee_id,
        channel,
        contact_count,
        reopened,
    } = ticket;
    let meta = f.meta(id, version, attributes);
    let customer_id = f.opt_id("customer_id", customer_id);
    let created_time = f.time("created_time", created_time);
    let first_response_time = f.opt_time("first_response_time", first_response_time);
    let resolved_time = f.opt_time("resolved_time", resolved_time);
    let assignee_id = f.opt_id("assignee_id", assignee_id);
    let channel = f.id("channel", channel);
    f.not_before(
        "first_response_time",
        first_response_time.flatten(),
        "created_time",
        created_time,
    );
    f.not_before(
        "resolved_time",
        resolved_time.flatten(),
        "created_time",
        created_time,
    );
    Some(Ticket {
        meta: meta?,
        customer_id: customer_id?,
        created_time: created_time?,
        first_response_time: first_response_time?,
        resolved_time: resolved_time?,
        assignee_id: assignee_id?,
        channel: channel?,
        contact_count,
        reopened,
    })
}

/// The scales a survey type may use, as `(min, max)`.
fn allowed_scales(survey_type: SurveyType) -> &'static [(i32, i32)] {
    match survey_type {
        SurveyType::Nps => &[(0, 10), (1, 5)],
        SurveyType::Csat => &[(1, 5), (1, 10)],
        SurveyType::Ces => &[(1, 7), (1, 5)],
    }
}

/// A survey response: an allowed scale for its type, a score on that scale, and a direction that
/// only CES may set to LOWER_IS_BETTER (and CES must set).
pub fn survey_response(mut f: Fields<'_>, response: pb::SurveyResponse) -> Option<SurveyResponse> {
    let pb::SurveyResponse {
        id,
        version,
        attributes,
        survey_type,
        score,
        scale_min,
        scale_max,
        direction,
        responded_time,
        customer_id,
        ticket_id,
        channel,
        comment,
    } = response;
    let meta = f.meta(id, version, attributes);
    let survey_type = f.enumeration(
        "survey_type",
        survey_type,
        pb::SurveyType::as_str_name,
        enums::survey_type,
    );
    let direction = f.enumeration(
        "direction",
        direction,
        pb::ScoreDirection::as_str_name,
        enums::score_direction,
    );
    let responded_time = f.time("responded_time", responded_time);
    let customer_id = f.id("customer_id", customer_id);
    let ticket_id = f.opt_id("ticket_id", ticket_id);
    let channel = f.opt_id("channel", channel);
    let comment = f.text("comment", comment);
    let survey_type = survey_type?;
    let type_name = format!("{survey_type:?}").to_uppercase();
    let scales = allowed_scales(survey_type);
    if !scales.contains(&(scale_min, scale_max)) {
        let allowed: Vec<String> = scales.iter().map(|(lo, hi)| format!("{lo}-{hi}")).collect();
        f.problem(
            "scale_min",
            format!(
                "scale {scale_min}-{scale_max} is not allowed for {type_name}; allowed: {}",
                allowed.join(", ")
            ),
        );
    } else if !(scale_min..=scale_max).contains(&score) {
        f.problem(
            "score",
            format!("must lie on the scale {scale_min}-{scale_max}, got {score}"),
        );
    }
    let direction = match (survey_type, direction?) {
        (SurveyType::Ces, None) => {
            f.problem(
                "direction",
                "is required for CES: SCORE_DIRECTION_HIGHER_IS_BETTER or SCORE_DIRECTION_LOWER_IS_BETTER",
            );
            None
        }
        (SurveyType::Ces, Some(direction)) => Some(direction),
        (_, None | Some(ScoreDirection::HigherIsBetter)) => Some(ScoreDirection::HigherIsBetter),
        (_, Some(ScoreDirection::LowerIsBetter)) => {
            f.problem(
                "direction",
                format!("only CES responses may be LOWER_IS_BETTER; {type_name} scores are higher-is-better"),
            );
            None
        }
    };
    Some(SurveyResponse {
        meta: meta?,
        survey_type,
        score,
        scale_min,
        scale_max,
        direction: direction?,
        responded_time: responded_time?,
        customer_id: customer_id?,
        ticket_id: ticket_id?,
        channel: channel?,
        comment: comment?,
    })
}

/// A cost.
pub fn cost(mut f: Fields<'_>, cost: pb::Cost) -> Option<Cost> {
    let pb::Cost {
        id,
        version,
        attributes,
        category,
        channel,
        amount,
        incurred_time,
    } = cost;
    let meta = f.meta(id, version, attributes);
    let category = f.enumeration(
        "category",
        category,
        pb::CostCategory::as_str_name,
        enums::cost_category,
    );
    let channel = f.opt_id("channel", channel);
    let amount = f.money("amount", amount);
    let incurred_time = f.time("incurred_time", incurred_time);
    Some(Cost {
        meta: meta?,
        category: category?,
        channel: channel?,
        amount: amount?,
        incurred_time: incurred_time?,
    })
}

/// A customer engagement event.
pub fn engagement_event(mut f: Fields<'_>, event: pb::EngagementEvent) -> Option<EngagementEvent> {
    let pb::EngagementEvent {
        id,
        version,
        attributes,
        customer_id,
        event_type,
        occurred_time,
    } = event;
    let meta = f.meta(id, version, attributes);
    let customer_id = f.id("customer_id", customer_id);
    let event_type = f.enumeration(
        "event_type",
        event_type,
        pb::EngagementType::as_str_name,
        enums::engagement_type,
    );
    let occurred_time = f.time("occurred_time", occurred_time);
    Some(EngagementEvent {
        meta: meta?,
        customer_id: customer_id?,
        event_type: event_type?,
        occurred_time: occurred_time?,
    })
}

/// A CRM user: `deactivated_time` is not before `created_time`.
pub fn crm_user(mut f: Fields<'_>, user: pb::CrmUser) -> Option<CrmUser> {
    let pb::CrmUser {
        id,
        version,
        attributes,
        role,
        team,
        licensed,
        created_time,
        deactivated_time,
    } = user;
    let meta = f.meta(id, version, attributes);
    let role = f.enumeration("role", role, pb::UserRole::as_str_name, enums::user_role);
    let team = f.opt_id("team", team);
    let created_time = f.time("created_time", created_time);
    let deactivated_time = f.opt_time("deactivated_time", deactivated_time);
    f.not_before(
        "deactivated_time",
        deactivated_time.flatten(),
        "created_time",
        created_time,
    );
    Some(CrmUser {
        meta: meta?,
        role: role?,
        team: team?,
        licensed,
        created_time: created_time?,
        deactivated_time: deactivated_time?,
    })
}

/// A CRM user's event.
pub fn user_event(mut f: Fields<'_>, event: pb::UserEvent) -> Option<UserEvent> {
    let pb::UserEvent {
        id,
        version,
        attributes,
        user_id,
        kind,
        feature,
        occurred_time,
    } = event;
    let meta = f.meta(id, version, attributes);
    let user_id = f.id("user_id", user_id);
    let kind = f.enumeration(
        "kind",
        kind,
        pb::UserEventKind::as_str_name,
        enums::user_event_kind,
    );
    let feature = f.opt_id("feature", feature);
    let occurred_time = f.time("occurred_time", occurred_time);
    Some(UserEvent {
        meta: meta?,
        user_id: user_id?,
        kind: kind?,
        feature: feature?,
        occurred_time: occurred_time?,
    })
}

/// An exchange rate: an ISO 4217 currency, a `YYYY-MM-DD` date and a positive decimal rate.
pub fn exchange_rate(mut f: Fields<'_>, rate: pb::ExchangeRate) -> Option<ExchangeRate> {
    let pb::ExchangeRate {
        id,
        version,
        attributes,
        currency,
        date,
        rate,
    } = rate;
    let meta = f.meta(id, version, attributes);
    let currency = f.currency("currency", &currency);
    let date = match parse_date(&date) {
        Ok(date) => Some(date),
        Err(message) => {
            f.problem("date", message);
            None
        }
    };
    let rate = match parse_rate(&rate) {
        Ok(rate) => Some(rate),
        Err(message) => {
            f.problem("rate", message);
            None
        }
    };
    let (rate_units, rate_scale) = rate?;
    Some(ExchangeRate {
        meta: meta?,
        currency: currency?,
        date: date?,
        rate_units,
        rate_scale,
    })
}

/// A strict `YYYY-MM-DD` date in [1970-01-01, 2200-01-01).
fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let well_formed = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let date = well_formed
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| format!("'{text}' is not a date of the form YYYY-MM-DD"))?;
    let in_range = NaiveDate::from_ymd_opt(1970, 1, 1).is_some_and(|min| date >= min)
        && NaiveDate::from_ymd_opt(2200, 1, 1).is_some_and(|end| date < end);
    if in_range {
        Ok(date)
    } else {
        Err(format!("'{text}' must lie in [1970-01-01, 2200-01-01)"))
    }
}

/// A positive decimal (`"1.0845"`) as `(units, scale)` = `10845 × 10^-4`.
fn parse_rate(text: &str) -> Result<(i64, u32), String> {
    let invalid = || {
        format!(
            "'{text}' is not a positive decimal number with at most {MAX_RATE_SCALE} fractional digits, e.g. \"1.0845\""
        )
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits_only(whole)
        || !digits_only(fraction)
        || fraction.len() > MAX_RATE_SCALE
    {
        return Err(invalid());
    }
    if text.ends_with('.') {
        return Err(invalid());
    }
    let units: i64 = format!("{whole}{fraction}")
        .parse()
        .map_err(|_| invalid())?;
    if units <= 0 {
        return Err(format!("'{text}' must be greater than 0"));
    }
    let scale = u32::try_from(fraction.len()).map_err(|_| invalid())?;
    Ok((units, scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_exactly() {
        assert_eq!(parse_rate("1.0845"), Ok((10845, 4)));
        assert_eq!(parse_rate("2"), Ok((2, 0)));
        assert_eq!(parse_rate("0.000001"), Ok((1, 6)));
        for bad in [
            "",
            ".5",
            "1.",
            "-1",
            "1e3",
            "0",
            "0.000",
            "1.2.3",
            " 1",
            "99999999999999999999",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2026-03-01").is_ok());
        for bad in [
            "2026-3-1",
            "2026-02-30",
            "1969-12-31",
            "2200-01-01",
            "20260301",
            "2026/03/01",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }
}
