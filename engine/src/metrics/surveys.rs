//! Customer perception: `nps`, `csat` and `ces` over survey responses (docs/metrics.md).
//!
//! Each response is classified or normalised on its own scale, so answers on different scales can
//! be mixed. Sums are kept as exact integers (CSAT means in 36ths, CES scores in halves) so that
//! states merge exactly in any order.

use std::collections::BTreeMap;

use crate::by_id::ById;
use crate::calendar::Window;
use crate::catalog::{
    Choice, Direction, MetricDefinition, PolicyDefinition, Settings, Term, UndefinedCase, ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::TimeField;
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, State};
use crate::records::{RecordKind, ScoreDirection, SurveyResponse, SurveyType, Timestamp};
use crate::value::{Component, EvalError, MetricResult, UndefinedReason, Value};

/// The response when it is of `survey_type` and was given in `window`. Every response is routed
/// to its `responded_time`; one of another type leaves the state unchanged.
fn survey_of<'a>(
    record: RecordRef<'a>,
    survey_type: SurveyType,
    window: Window,
) -> Option<&'a SurveyResponse> {
    match record {
        RecordRef::SurveyResponse(r)
            if r.survey_type == survey_type && window.contains(r.responded_time) =>
        {
            Some(r)
        }
        _ => None,
    }
}

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[&NPS, &CSAT, &CES];

/// Every survey metric reads (and filters and groups) survey responses only.
const SURVEY_RESPONSE_KINDS: &[RecordKind] = &[RecordKind::SurveyResponse];

/// NPS class of a response on its own scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum NpsClass {
    Promoter,
    Passive,
    Detractor,
}

fn nps_class(response: &SurveyResponse) -> NpsClass {
    let (promoter_from, passive_from) = if response.scale_min == 0 && response.scale_max == 10 {
        (9, 7)
    } else {
        // 1–5 scale: promoters 4–5, passives 3, detractors 1–2.
        (4, 3)
    };
    if response.score >= promoter_from {
        NpsClass::Promoter
    } else if response.score >= passive_from {
        NpsClass::Passive
    } else {
        NpsClass::Detractor
    }
}

/// Which NPS responses count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dedupe {
    /// Every response counts.
    All,
    /// Only each customer's latest response in the window counts.
    LatestPerCustomer,
}

impl Choice for Dedupe {
    const POLICY: PolicyDefinition = PolicyDefinition {
        name: "dedupe",
        description: "all: every response counts; latest_per_customer: only each customer's latest response in the window",
        values: &["all", "latest_per_customer"],
        default: "all",
    };
    const ALL: &'static [Dedupe] = &[Dedupe::All, Dedupe::LatestPerCustomer];
}

/// Net Promoter Score, in points from -100 to 100.
pub static NPS: Declaration<NpsResponses> = Declaration {
    definition: MetricDefinition {
        id: "nps",
        family: "customer_perception",
        version: 1,
        description: "Net Promoter Score: the share of promoters minus the share of detractors among NPS responses in the window, in points.",
        formula: "100 × (promoters − detractors) / responses; 0–10 scale: promoters 9–10, passives 7–8, detractors 0–6; 1–5 scale: promoters 4–5, passives 3, detractors 1–2",
        value_kind: ValueKind::Score,
        unit: "points",
        direction: Direction::HigherIsBetter,
        reads: SURVEY_RESPONSE_KINDS,
        primary: SURVEY_RESPONSE_KINDS,
        policies: &[Dedupe::POLICY],
        parameters: &[],
        components: &[
            Term {
                name: "promoters",
                description: "responses counted as promoters on their own scale (latest_per_customer: customers whose latest response is)",
            },
            Term {
                name: "passives",
                description: "responses counted as passives, counted like promoters",
            },
            Term {
                name: "detractors",
                description: "responses counted as detractors, counted like promoters",
            },
            Term {
                name: "responses",
                description: "promoters + passives + detractors",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no NPS response was given in the window",
        }],
    },
    reading: NpsResponses,
    finalize: nps_result,
    relate_group: None,
};

/// Counts per class, plus each customer's latest response for the dedupe policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NpsState {
    counts: BTreeMap<NpsClass, u64>,
    /// customer → (responded_time, response id, class): the latest wins, ties by id, then by
    /// class.
    latest: ById<(Timestamp, String, NpsClass)>,
}

impl State for NpsState {
    fn merge(&mut self, other: &Self) {
        for (class, n) in &other.counts {
            *self.counts.entry(*class).or_insert(0) += n;
        }
        for (customer, (time, id, class)) in other.latest.iter() {
            keep_latest(&mut self.latest, customer, (*time, id, *class));
        }
    }
}

/// Keeps `(time, id, class)` as the customer's answer when it is the latest (ties by id, then by
/// class, so the answer never depends on record order: stored data has one record per id, but
/// inline records may repeat one); the id is copied only when kept.
fn keep_latest(
    latest: &mut ById<(Timestamp, String, NpsClass)>,
    customer: &str,
    (time, id, class): (Timestamp, &str, NpsClass),
) {
    match latest.get(customer) {
        Some(current) if (current.0, current.1.as_str(), current.2) >= (time, id, class) => {}
        _ => latest.insert(customer, (time, id.to_owned(), class)),
    }
}

/// NPS responses given in the period, classified on their own scale.
pub struct NpsResponses;

impl Reading for NpsResponses {
    type State = NpsState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::SurveyResponded)
    }

    fn admits(&self, record: RecordRef<'_>) -> bool {
        matches!(record, RecordRef::SurveyResponse(r) if r.survey_type == SurveyType::Nps)
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut NpsState, record: RecordRef<'a>) {
        let Some(response) = survey_of(record, SurveyType::Nps, ctx.period.window) else {
            return;
        };
        let class = nps_class(response);
        match ctx.settings.choice::<Dedupe>() {
            Dedupe::LatestPerCustomer => {
                let entry = (response.responded_time, response.meta.id.as_str(), class);
                keep_latest(&mut state.latest, &response.customer_id, entry);
            }
            Dedupe::All => *state.counts.entry(class).or_insert(0) += 1,
        }
    }
}

/// The value of `nps`.
fn nps_result(
    _definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &NpsState,
) -> Result<MetricResult, EvalError> {
    let mut counts = state.counts.clone();
    if ctx.settings.choice::<Dedupe>() == Dedupe::LatestPerCustomer {
        for (_, _, class) in state.latest.values() {
            *counts.entry(*class).or_insert(0) += 1;
        }
    }
    let count = |class| counts.get(&class).copied().unwrap_or(0);
    let (promoters, passives, detractors) = (
        count(NpsClass::Promoter),
        count(NpsClass::Passive),
        count(NpsClass::Detractor),
    );
    let responses = promoters + passives + detractors;
    let components = vec![
        Component::count("promoters", promoters),
        Component::count("passives", passives),
        Component::count("detractors", detractors),
        Component::count("responses", responses),
    ];
    if responses == 0 {
        return Ok(MetricResult::undefined(
            UndefinedReason::NoData,
            "no NPS responses in the window",
            components,
        ));
    }
    let score = 100.0 * (promoters as f64 - detractors as f64) / responses as f64;
    Ok(MetricResult::value(Value::Score(score), components))
}

/// How CSAT responses are summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsatMode {
    /// The share of answers in the top two points of their scale.
    Top2Box,
    /// The mean score normalised to 0..1.
    Mean,
}

impl Choice for CsatMode {
    const POLICY: PolicyDefinition = PolicyDefinition {
        name: "mode",
        description: "top2_box: share of top-two-box answers; mean: mean of scores normalised to 0..1",
        values: &["top2_box", "mean"],
        default: "top2_box",
    };
    const ALL: &'static [CsatMode] = &[CsatMode::Top2Box, CsatMode::Mean];
}

/// Customer satisfaction: share of satisfied CSAT responses, or their mean normalised score.
pub static CSAT: Declaration<CsatResponses> = Declaration {
    definition: MetricDefinition {
        id: "csat",
        family: "customer_perception",
        version: 1,
        description: "Customer satisfaction over CSAT responses in the window: the share answering in the top two points of their scale, or the mean normalised score.",
        formula: "top2_box: satisfied / responses, satisfied = top two points of the response's scale (4–5 on 1–5, 9–10 on 1–10); mean: mean of (score − min) / (max − min)",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: SURVEY_RESPONSE_KINDS,
        primary: SURVEY_RESPONSE_KINDS,
        policies: &[CsatMode::POLICY],
        parameters: &[],
        components: &[
            Term {
                name: "responses",
                description: "CSAT responses given in the window",
            },
            Term {
                name: "satisfied",
                description: "those in the top two points of their scale (under either mode)",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no CSAT response was given in the window",
        }],
    },
    reading: CsatResponses,
    finalize: csat_result,
    relate_group: None,
};

/// Normalised scores are summed exactly in 36ths: every supported range (4 or 9) divides 36.
const CSAT_DENOMINATOR: i64 = 36;

/// Responses, satisfied responses and the exact sum of normalised scores (in 36ths).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsatState {
    responses: u64,
    satisfied: u64,
    normalised_36ths: i64,
}

impl State for CsatState {
    fn merge(&mut self, other: &Self) {
        self.responses += other.responses;
        self.satisfied += other.satisfied;
        self.normalised_36ths += other.normalised_36ths;
    }
}

/// CSAT responses given in the period.
pub struct CsatResponses;

impl Reading for CsatResponses {
    type State = CsatState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::SurveyResponded)
    }

    fn admits(&self, record: RecordRef<'_>) -> bool {
        matches!(record, RecordRef::SurveyResponse(r) if r.survey_type == SurveyType::Csat)
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut CsatState, record: RecordRef<'a>) {
        let Some(r) = survey_of(record, SurveyType::Csat, ctx.period.window) else {
            return;
        };
        let range = i64::from(r.scale_max - r.scale_min).max(1);
        state.responses += 1;
        state.satisfied += u64::from(r.score >= r.scale_max - 1);
        state.normalised_36ths += i64::from(r.score - r.scale_min) * CSAT_DENOMINATOR / range;
    }
}

/// The value of `csat`.
fn csat_result(
    _definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &CsatState,
) -> Result<MetricResult, EvalError> {
    let components = vec![
        Component::count("responses", state.responses),
        Component::count("satisfied", state.satisfied),
    ];
    if state.responses == 0 {
        return Ok(MetricResult::undefined(
            UndefinedReason::NoData,
            "no CSAT responses in the window",
            components,
        ));
    }
    let numerator = match ctx.settings.choice::<CsatMode>() {
        CsatMode::Mean => state.normalised_36ths as f64 / CSAT_DENOMINATOR as f64,
        CsatMode::Top2Box => state.satisfied as f64,
    };
    Ok(MetricResult::ratio(
        numerator,
        state.responses as f64,
        "CSAT responses",
        components,
    ))
}

/// Customer effort score: mean oriented score on a 1–7 scale, higher = easier.
pub static CES: Declaration<CesResponses> = Declaration {
    definition: MetricDefinition {
        id: "ces",
        family: "customer_perception",
        version: 1,
        description: "Customer effort score: the mean CES answer in the window on a 1–7 scale oriented so that higher means easier; 1–5 answers are mapped linearly onto 1–7.",
        formula: "mean(oriented score); oriented = min + max − score when stored LOWER_IS_EASIER, then mapped to 1–7 as 1 + (s − 1) × 6 / (max − 1); easy_share = share of oriented scores ≥ 5",
        value_kind: ValueKind::Score,
        unit: "points (1–7)",
        direction: Direction::HigherIsBetter,
        reads: SURVEY_RESPONSE_KINDS,
        primary: SURVEY_RESPONSE_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            Term {
                name: "responses",
                description: "CES responses given in the window",
            },
            Term {
                name: "easy",
                description: "those whose oriented 1–7 score is at least 5",
            },
            Term {
                name: "easy_share",
                description: "easy / responses; absent when there is no response",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no CES response was given in the window",
        }],
    },
    reading: CesResponses,
    finalize: ces_result,
    relate_group: None,
};

/// Responses, the exact sum of oriented 1–7 scores in halves, and easy answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CesState {
    responses: u64,
    oriented_halves: i64,
    easy: u64,
}

impl State for CesState {
    fn merge(&mut self, other: &Self) {
        self.responses += other.responses;
        self.oriented_halves += other.oriented_halves;
        self.easy += other.easy;
    }
}

/// The oriented score on the 1–7 scale, in halves (a 1–5 answer maps to a multiple of 1.5).
fn ces_oriented_halves(r: &SurveyResponse) -> i64 {
    let oriented = match r.direction {
        ScoreDirection::LowerIsBetter => r.scale_min + r.scale_max - r.score,
        ScoreDirection::HigherIsBetter => r.score,
    };
    let steps = i64::from(r.scale_max - r.scale_min).max(1);
    // 1 + (s − 1) × 6 / steps, doubled: 2 + 12 (s − 1) / steps (exact for steps 4 and 6).
    2 + 12 * i64::from(oriented - r.scale_min) / steps
}

/// CES responses given in the period, oriented and mapped onto 1–7.
pub struct CesResponses;

impl Reading for CesResponses {
    type State = CesState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::SurveyResponded)
    }

    fn admits(&self, record: RecordRef<'_>) -> bool {
        matches!(record, RecordRef::SurveyResponse(r) if r.survey_type == SurveyType::Ces)
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut CesState, record: RecordRef<'a>) {
        let Some(r) = survey_of(record, SurveyType::Ces, ctx.period.window) else {
            return;
        };
        let halves = ces_oriented_halves(r);
        state.responses += 1;
        state.oriented_halves += halves;
        state.easy += u64::from(halves >= 10);
    }
}

/// The value of `ces`.
fn ces_result(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &CesState,
) -> Result<MetricResult, EvalError> {
    let mut components = vec![
        Component::count("responses", state.responses),
        Component::count("easy", state.easy),
    ];
    if state.responses == 0 {
        return Ok(MetricResult::undefined(
            UndefinedReason::NoData,
            "no CES responses in the window",
            components,
        ));
    }
    let n = state.responses as f64;
    components.push(Component::number("easy_share", state.easy as f64 / n));
    Ok(MetricResult::value(
        Value::Score(state.oriented_halves as f64 / 2.0 / n),
        components,
    ))
}

#[cfg(test)]
#[path = "tests/surveys.rs"]
mod tests;
