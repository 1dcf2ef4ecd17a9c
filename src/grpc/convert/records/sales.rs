//! Customers, leads, deals, orders, subscriptions and quotas.

use crm_metrics_engine::records::{
    Customer, Deal, DealStatus, Lead, Order, Quota, StageEntry, Subscription,
};

use super::super::enums;
use super::super::fields::Fields;
use super::pb;

/// A customer; `churned_time` is not before `acquired_time`.
pub fn customer(mut f: Fields<'_>, customer: pb::Customer) -> Option<Customer> {
    let pb::Customer {
        id,
        version,
        attributes,
        name,
        email,
        phone,
        acquired_time,
        churned_time,
        acquisition_channel,
    } = customer;
    let meta = f.meta(id, version, attributes);
    let contact = f.contact(name, email, phone);
    let acquired_time = f.time("acquired_time", acquired_time);
    let churned_time = f.opt_time("churned_time", churned_time);
    let acquisition_channel = f.opt_id("acquisition_channel", acquisition_channel);
    f.not_before(
        "churned_time",
        churned_time.flatten(),
        "acquired_time",
        acquired_time,
    );
    let (name, email, phone) = contact?;
    Some(Customer {
        meta: meta?,
        name,
        email,
        phone,
        acquired_time: acquired_time?,
        churned_time: churned_time?,
        acquisition_channel: acquisition_channel?,
    })
}

/// A lead; every later milestone is not before `created_time`.
pub fn lead(mut f: Fields<'_>, lead: pb::Lead) -> Option<Lead> {
    let pb::Lead {
        id,
        version,
        attributes,
        created_time,
        source,
        owner_id,
        qualified_time,
        converted_time,
        customer_id,
        disqualified_time,
        first_response_time,
        name,
        email,
        phone,
    } = lead;
    let meta = f.meta(id, version, attributes);
    let contact = f.contact(name, email, phone);
    let created_time = f.time("created_time", created_time);
    let source = f.opt_id("source", source);
    let owner_id = f.opt_id("owner_id", owner_id);
    let qualified_time = f.opt_time("qualified_time", qualified_time);
    let converted_time = f.opt_time("converted_time", converted_time);
    let customer_id = f.opt_id("customer_id", customer_id);
    let disqualified_time = f.opt_time("disqualified_time", disqualified_time);
    let first_response_time = f.opt_time("first_response_time", first_response_time);
    for (field, time) in [
        ("qualified_time", qualified_time),
        ("converted_time", converted_time),
        ("disqualified_time", disqualified_time),
        ("first_response_time", first_response_time),
    ] {
        f.not_before(field, time.flatten(), "created_time", created_time);
    }
    let (name, email, phone) = contact?;
    Some(Lead {
        meta: meta?,
        created_time: created_time?,
        source: source?,
        owner_id: owner_id?,
        qualified_time: qualified_time?,
        converted_time: converted_time?,
        customer_id: customer_id?,
        disqualified_time: disqualified_time?,
        first_response_time: first_response_time?,
        name,
        email,
        phone,
    })
}

/// A deal: WON/LOST need `closed_time`, OPEN must not have one; `closed_time` is not before
/// `created_time`; `probability_percent` is 0–100; `stage_history` is sorted by `entered_time`.
pub fn deal(mut f: Fields<'_>, deal: pb::Deal) -> Option<Deal> {
    let pb::Deal {
        id,
        version,
        attributes,
        created_time,
        owner_id,
        amount,
        status,
        closed_time,
        stage,
        stage_history,
        probability_percent,
        deal_type,
        lead_id,
        customer_id,
    } = deal;
    let meta = f.meta(id, version, attributes);
    let created_time = f.time("created_time", created_time);
    let owner_id = f.opt_id("owner_id", owner_id);
    let amount = f.money("amount", amount);
    let status = f.enumeration(
        "status",
        status,
        pb::DealStatus::as_str_name,
        enums::deal_status,
    );
    let closed_time = f.opt_time("closed_time", closed_time);
    let stage = f.id("stage", stage);
    let stage_history = stage_entries(&mut f, stage_history);
    let deal_type = f.enumeration(
        "deal_type",
        deal_type,
        pb::DealType::as_str_name,
        enums::deal_type,
    );
    let lead_id = f.opt_id("lead_id", lead_id);
    let customer_id = f.opt_id("customer_id", customer_id);
    f.not_before(
        "closed_time",
        closed_time.flatten(),
        "created_time",
        created_time,
    );
    match (status, closed_time) {
        (Some(DealStatus::Won | DealStatus::Lost), Some(None)) => {
            f.problem("closed_time", "is required for WON and LOST deals");
            return None;
        }
        (Some(DealStatus::Open), Some(Some(_))) => {
            f.problem(
                "closed_time",
                "must be unset for an OPEN deal (a closed deal is WON or LOST)",
            );
            return None;
        }
        _ => {}
    }
    let probability_percent = match probability_percent {
        Some(p) if p > 100 => {
            f.problem("probability_percent", format!("must be 0-100, got {p}"));
            None
        }
        p => Some(p),
    };
    Some(Deal {
        meta: meta?,
        created_time: created_time?,
        owner_id: owner_id?,
        amount: amount?,
        status: status?,
        closed_time: closed_time?,
        stage: stage?,
        stage_history: stage_history?,
        probability_percent: probability_percent?,
        deal_type: deal_type?,
        lead_id: lead_id?,
        customer_id: customer_id?,
    })
}

fn stage_entries(f: &mut Fields<'_>, entries: Vec<pb::StageEntry>) -> Option<Vec<StageEntry>> {
    let mut converted = Vec::with_capacity(entries.len());
    let mut valid = true;
    for (i, entry) in entries.into_iter().enumerate() {
        let pb::StageEntry {
            stage,
            entered_time,
        } = entry;
        let mut at = f.nested(&format!("stage_history[{i}]"));
        let stage = at.id("stage", stage);
        let entered_time = at.time("entered_time", entered_time);
        if let (Some(previous), Some(current)) = (
            converted.last().map(|e: &StageEntry| e.entered_time),
            entered_time,
        ) && current < previous
        {
            at.problem(
                "entered_time",
                format!("stage_history must be sorted by entered_time; {current} is before the previous entry's {previous}"),
            );
            valid = false;
        }
        match (stage, entered_time) {
            (Some(stage), Some(entered_time)) => converted.push(StageEntry {
                stage,
                entered_time,
            }),
            _ => valid = false,
        }
    }
    valid.then_some(converted)
}

/// An order: `cost` in the currency of `amount`; `fulfilled_time` not before `ordered_time`.
pub fn order(mut f: Fields<'_>, order: pb::Order) -> Option<Order> {
    let pb::Order {
        id,
        version,
        attributes,
        customer_id,
        amount,
        cost,
        ordered_time,
        fulfilled_time,
        kind,
    } = order;
    let meta = f.meta(id, version, attributes);
    let customer_id = f.id("customer_id", customer_id);
    let amount = f.money("amount", amount);
    let cost = f.opt_money("cost", cost);
    let ordered_time = f.time("ordered_time", ordered_time);
    let fulfilled_time = f.opt_time("fulfilled_time", fulfilled_time);
    let kind = f.enumeration("kind", kind, pb::OrderKind::as_str_name, enums::order_kind);
    f.not_before(
        "fulfilled_time",
        fulfilled_time.flatten(),
        "ordered_time",
        ordered_time,
    );
    if let (Some(amount), Some(Some(cost))) = (amount, cost)
        && amount.currency != cost.currency
    {
        f.problem(
            "cost.currency_code",
            format!(
                "must be the currency of amount ({}), got {}",
                amount.currency, cost.currency
            ),
        );
        return None;
    }
    Some(Order {
        meta: meta?,
        customer_id: customer_id?,
        amount: amount?,
        cost: cost?,
        ordered_time: ordered_time?,
        fulfilled_time: fulfilled_time?,
        kind: kind?,
    })
}

/// A subscription: `end_time` not before `start_time`; a renewal outcome needs a due time.
pub fn subscription(mut f: Fields<'_>, subscription: pb::Subscription) -> Option<Subscription> {
    let pb::Subscription {
        id,
        version,
        attributes,
        customer_id,
        mrr,
        start_time,
        end_time,
        trial,
        renewal_due_time,
        renewal_outcome,
    } = subscription;
    let meta = f.meta(id, version, attributes);
    let customer_id = f.id("customer_id", customer_id);
    let mrr = f.money("mrr", mrr);
    let start_time = f.time("start_time", start_time);
    let end_time = f.opt_time("end_time", end_time);
    let renewal_due_time = f.opt_time("renewal_due_time", renewal_due_time);
    let renewal_outcome = match renewal_outcome {
        None => Some(None),
        Some(raw) => f
            .enumeration(
                "renewal_outcome",
                raw,
                pb::RenewalOutcome::as_str_name,
                enums::renewal_outcome,
            )
            .map(Some),
    };
    f.not_before("end_time", end_time.flatten(), "start_time", start_time);
    if let (Some(Some(_)), Some(None)) = (renewal_outcome, renewal_due_time) {
        f.problem("renewal_outcome", "requires renewal_due_time");
        return None;
    }
    Some(Subscription {
        meta: meta?,
        customer_id: customer_id?,
        mrr: mrr?,
        start_time: start_time?,
        end_time: end_time?,
        trial,
        renewal_due_time: renewal_due_time?,
        renewal_outcome: renewal_outcome?,
    })
}

/// A quota: `period_end` after `period_start`.
pub fn quota(mut f: Fields<'_>, quota: pb::Quota) -> Option<Quota> {
    let pb::Quota {
        id,
        version,
        attributes,
        owner_id,
        period_start,
        period_end,
        amount,
    } = quota;
    let meta = f.meta(id, version, attributes);
    let owner_id = f.id("owner_id", owner_id);
    let period_start = f.time("period_start", period_start);
    let period_end = f.time("period_end", period_end);
    let amount = f.money("amount", amount);
    if let (Some(start), Some(end)) = (period_start, period_end)
        && end <= start
    {
        f.problem(
            "period_end",
            format!("must be after period_start ({end} <= {start})"),
        );
        return None;
    }
    Some(Quota {
        meta: meta?,
        owner_id: owner_id?,
        period_start: period_start?,
        period_end: period_end?,
        amount: amount?,
    })
}
