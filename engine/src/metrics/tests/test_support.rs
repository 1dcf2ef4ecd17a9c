//! Builders and runners shared by the metric families' unit tests: records with sensible
//! defaults, a one-call evaluator, readers of results (`ratio`, `reason`, `expected_ratio`), and
//! the merge / order-independence property check.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use crate::calendar::{Granularity, Window};
use crate::catalog::Settings;
use crate::context::{Lookup, RecordRef, for_each_of_kind};
use crate::dataset::Dataset;
use crate::eval::{Family, FoldContext, MetricReport, Period, State, prepare, state_of};
use crate::money::{Currency, Money};
use crate::query::{ComputeRequest, MetricQuery};
use crate::records::*;
use crate::value::{MetricResult, Ratio, Undefined, UndefinedReason, Value};
use crate::view::View;

/// A result, or the total of a report.
pub trait Outcome {
    /// The result.
    fn result(&self) -> &MetricResult;
}

impl Outcome for MetricResult {
    fn result(&self) -> &MetricResult {
        self
    }
}

impl Outcome for MetricReport {
    fn result(&self) -> &MetricResult {
        &self.total
    }
}

/// The numerator and denominator of a ratio result; panics on anything else.
pub fn ratio(outcome: &impl Outcome) -> (f64, f64) {
    match &outcome.result().value {
        Ok(Value::Ratio(Ratio {
            numerator,
            denominator,
            ..
        })) => (*numerator, *denominator),
        other => panic!("not a ratio: {other:?}"),
    }
}

/// Why a result is undefined; panics when it has a value.
pub fn reason(outcome: &impl Outcome) -> UndefinedReason {
    match &outcome.result().value {
        Err(undefined) => undefined.reason,
        Ok(value) => panic!("defined: {value:?}"),
    }
}

/// The value a ratio result must have: `numerator / denominator`, with both parts.
pub fn expected_ratio(numerator: f64, denominator: f64) -> Result<Value, Undefined> {
    Ok(Value::Ratio(Ratio {
        value: numerator / denominator,
        numerator,
        denominator,
    }))
}

/// 2026-`m`-`d` `h`:00 UTC.
pub fn at(m: u32, d: u32, h: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, m, d, h, 0, 0).unwrap()
}

/// A UTC instant.
pub fn ymd(y: i32, m: u32, d: u32) -> Timestamp {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

/// `[start, end)`.
pub fn window(start: Timestamp, end: Timestamp) -> Window {
    Window::new(start, end).unwrap()
}

/// The month of March 2026 (UTC).
pub fn march() -> Window {
    window(ymd(2026, 3, 1), ymd(2026, 4, 1))
}

/// USD minor units.
pub fn usd(minor: i64) -> Money {
    Money::new(Currency::parse("USD").unwrap(), minor)
}

/// A `Meta` with `id`, version 1 and no attributes.
pub fn meta(id: &str) -> Meta {
    Meta {
        id: id.into(),
        version: 1,
        attributes: Attributes::new(),
    }
}

/// A survey response.
pub fn survey(
    id: &str,
    survey_type: SurveyType,
    score: i32,
    scale: (i32, i32),
    t: Timestamp,
) -> Record {
    Record::SurveyResponse(SurveyResponse {
        meta: meta(id),
        survey_type,
        score,
        scale_min: scale.0,
        scale_max: scale.1,
        direction: ScoreDirection::HigherIsBetter,
        responded_time: t,
        customer_id: format!("c-{id}").into(),
        ticket_id: None,
        channel: None,
        comment: None,
    })
}

/// A customer acquired at `acquired`, churned at `churned`.
pub fn customer(id: &str, acquired: Timestamp, churned: Option<Timestamp>) -> Record {
    Record::Customer(Customer {
        meta: meta(id),
        name: None,
        email: None,
        phone: None,
        acquired_time: acquired,
        churned_time: churned,
        acquisition_channel: None,
    })
}

/// A deal with the given status and times, amount in USD minor units.
pub fn deal(
    id: &str,
    status: DealStatus,
    created: Timestamp,
    closed: Option<Timestamp>,
    amount: i64,
) -> Record {
    Record::Deal(Deal {
        meta: meta(id),
        created_time: created,
        owner_id: None,
        amount: usd(amount),
        status,
        closed_time: closed,
        stage: "open".into(),
        stage_history: Vec::new(),
        probability_percent: None,
        deal_type: DealType::NewBusiness,
        lead_id: None,
        customer_id: None,
    })
}

/// An order by `customer` at `t`, amount in USD minor units.
pub fn order(id: &str, customer: &str, t: Timestamp, amount: i64) -> Record {
    Record::Order(Order {
        meta: meta(id),
        customer_id: customer.into(),
        amount: usd(amount),
        cost: None,
        ordered_time: t,
        fulfilled_time: None,
        kind: OrderKind::New,
    })
}

/// A lead created at `created`.
pub fn lead(id: &str, created: Timestamp) -> Record {
    Record::Lead(Lead {
        meta: meta(id),
        created_time: created,
        source: None,
        owner_id: None,
        qualified_time: None,
        converted_time: None,
        customer_id: None,
        disqualified_time: None,
        first_response_time: None,
        name: None,
        email: None,
        phone: None,
    })
}

/// A request for `query` over `window` in UTC with no series, groups or filters, `as_of` far
/// in the future.
pub fn request(query: MetricQuery, window: Window) -> ComputeRequest {
    ComputeRequest {
        metrics: vec![query],
        window,
        time_zone: chrono_tz::UTC,
        granularity: Granularity::None,
        group_by: Vec::new(),
        filters: Vec::new(),
        compare_previous: false,
        as_of: ymd(2100, 1, 1),
        groups: Default::default(),
        tenant: Default::default(),
    }
}

/// Runs a request over `records` through the whole engine pipeline (prepare, as_of, evaluate).
pub fn run(records: Vec<Record>, request: &ComputeRequest) -> MetricReport {
    let prepared =
        prepare(request).unwrap_or_else(|problems| panic!("invalid request: {problems:?}"));
    let dataset = Dataset::from_records(records);
    prepared.evaluate(&dataset, None).unwrap().remove(0)
}

/// Runs a request like [`run`], but over only the records its read plan selects (what the
/// service reads from storage or takes from a snapshot).
pub fn run_planned(records: Vec<Record>, request: &ComputeRequest) -> MetricReport {
    let prepared =
        prepare(request).unwrap_or_else(|problems| panic!("invalid request: {problems:?}"));
    let plan = prepared.plan(None);
    let dataset = Dataset::from_records(records);
    let mut view = View::default();
    for (kind, read) in &plan.kinds {
        View::of(&dataset).for_each_of_kind(*kind, |record| {
            if read.selects(record) {
                view.push(record);
            }
        });
    }
    prepared.evaluate_view(view, None).unwrap().remove(0)
}

/// Runs `query` over `window` and returns the total's scalar value (panics when undefined).
pub fn scalar(records: Vec<Record>, query: MetricQuery, window: Window) -> f64 {
    let report = run(records, &request(query, window));
    report
        .total
        .scalar()
        .unwrap_or_else(|| panic!("undefined: {:?}", report.total))
}

/// Checks, for one family and settings, that folding any split of `records` and merging gives
/// the state of all records, and that the final result does not depend on record order.
pub fn assert_merge_property<F: Family>(
    family: &F,
    settings: &Settings,
    period: Period,
    records: &[Record],
    split: usize,
    rotate: usize,
) {
    let dataset = Dataset::from_records(records.iter().cloned());
    let view = View::of(&dataset);
    let lookup = Lookup::new(&view);
    let ctx = FoldContext::new(settings, period, &lookup);
    let mut refs: Vec<RecordRef<'_>> = Vec::new();
    for kind in family.definition().primary {
        for_each_of_kind(&view, *kind, |r| refs.push(r));
    }
    let split = split % (refs.len() + 1);
    let all = state_of(family, &ctx, &refs);
    let mut left = state_of(family, &ctx, &refs[..split]);
    let right = state_of(family, &ctx, &refs[split..]);
    left.merge(&right);
    assert_eq!(left, all, "merge(state(A), state(B)) != state(A ∪ B)");
    let mut rotated = refs.clone();
    if !rotated.is_empty() {
        let by = rotate % rotated.len();
        rotated.rotate_left(by);
        rotated.reverse();
    }
    let reordered = state_of(family, &ctx, &rotated);
    assert_eq!(
        family.finalize(&ctx, &reordered).unwrap(),
        family.finalize(&ctx, &all).unwrap(),
        "result depends on record order"
    );
}

/// A random instant in 2026 at hour granularity.
pub fn arb_time() -> impl Strategy<Value = Timestamp> {
    (1u32..=12, 1u32..=28, 0u32..24).prop_map(|(m, d, h)| at(m, d, h))
}

/// An activity of type CALL at `t` in `direction`, on the given lead and/or deal (sales tests).
pub fn sales_activity(
    id: &str,
    direction: ActivityDirection,
    t: Timestamp,
    lead: Option<&str>,
    deal: Option<&str>,
) -> Record {
    Record::Activity(Activity {
        meta: meta(id),
        activity_type: ActivityType::Call,
        direction,
        occurred_time: t,
        duration_seconds: None,
        lead_id: lead.map(Into::into),
        deal_id: deal.map(Into::into),
        customer_id: None,
        owner_id: None,
    })
}

/// `record` with `edit` applied when it is a deal (sales tests).
pub fn edit_sales_deal(mut record: Record, edit: impl FnOnce(&mut Deal)) -> Record {
    if let Record::Deal(deal) = &mut record {
        edit(deal);
    }
    record
}

/// `record` with `edit` applied when it is a lead (sales tests).
pub fn edit_sales_lead(mut record: Record, edit: impl FnOnce(&mut Lead)) -> Record {
    if let Record::Lead(lead) = &mut record {
        edit(lead);
    }
    record
}
