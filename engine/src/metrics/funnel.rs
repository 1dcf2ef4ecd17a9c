//! The sales funnel: `lead_qualification_rate`, `funnel_conversion` and `stage_duration`
//! (docs/metrics.md).
//!
//! `lead_qualification_rate` is a cohort metric over the leads created in the window, looked at as
//! of `as_of`. The two stage metrics read deals' `stage_history` (sorted by `entered_time`): a deal
//! can enter stages, or end visits, in several buckets of a series, so every deal is routed to every
//! period and `fold` looks at the entries that fall in the period's window. Entries after `as_of`
//! have not happened (the evaluator's `as_of` view drops them; the folds also refuse them).
//!
//! Decisions where docs/metrics.md is silent:
//! - `funnel_conversion` requires the `stages` parameter: a query without it (or with an empty list
//!   or a repeated stage) is rejected by validation with a problem at
//!   `metrics[i].parameters[stages]`. A state finalized without it (engine-internal use) is
//!   undefined with `MISSING_PARAMETER`.
//! - A deal counts at most once per stage and period (re-entering a stage is not a second deal);
//!   it *advanced* when a later entry of its history (after its first entry of the stage in the
//!   window) is the next listed stage, entered by `as_of` (possibly after the window).
//! - A stage visit ends at the next entry's `entered_time`, or, for the last entry, at the deal's
//!   `closed_time` when it was won or lost by `as_of`; an open deal's current visit has not ended.
//!   Visits that would end before they start (inconsistent data) are skipped.
//! - A deal created after the span ends is not read: its stage entries are taken to follow its
//!   creation.

use std::collections::BTreeMap;

use super::deals::{DEAL_KINDS, close_of};
use super::leads::{LEAD_KINDS, LEADS_CREATED, NO_LEAD_CREATED, created_in};
use super::pipeline::deals_created_before;
use crate::calendar::Window;
use crate::catalog::{
    Direction, MetricDefinition, ParamKind, ParameterDefinition, Settings, Term, UndefinedCase,
    ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, State};
use crate::query::Problem;
use crate::records::{Text, Timestamp};
use crate::value::{
    BreakdownEntry, Component, DurationSet, EvalError, MetricResult, Ratio, UndefinedReason, Value,
};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[
    &LEAD_QUALIFICATION_RATE,
    &FUNNEL_CONVERSION,
    &STAGE_DURATION,
];

/// Share of the leads created in the window that were qualified or converted.
pub static LEAD_QUALIFICATION_RATE: Declaration<LeadQualifications> = Declaration {
    definition: MetricDefinition {
        id: "lead_qualification_rate",
        family: "sales",
        version: 1,
        description: "The share of the leads created in the window that were qualified or converted by as_of (a converted lead counts as qualified even without a qualified_time).",
        formula: "leads created in P with qualified_time <= as_of or converted_time <= as_of / leads created in P",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: LEAD_KINDS,
        primary: LEAD_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            LEADS_CREATED,
            Term {
                name: "qualified",
                description: "leads created in the window with a qualified_time or a converted_time at or before as_of",
            },
        ],
        breakdown_keys: &[],
        undefined: &[NO_LEAD_CREATED],
    },
    reading: LeadQualifications,
    finalize: lead_qualification_rate_result,
    relate_group: None,
};

/// Leads created, and those qualified or converted by `as_of`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QualificationState {
    created: u64,
    qualified: u64,
}

impl State for QualificationState {
    fn merge(&mut self, other: &Self) {
        self.created += other.created;
        self.qualified += other.qualified;
    }
}

/// The leads created in the period and whether they were qualified or converted by `as_of`.
pub struct LeadQualifications;

impl Reading for LeadQualifications {
    type State = QualificationState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::LeadCreated)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut QualificationState,
        record: RecordRef<'a>,
    ) {
        let Some(lead) = created_in(record, ctx.period.window) else {
            return;
        };
        let as_of = ctx.period.as_of;
        state.created += 1;
        let by_as_of = |t: Option<Timestamp>| t.is_some_and(|t| t <= as_of);
        if by_as_of(lead.qualified_time) || by_as_of(lead.converted_time) {
            state.qualified += 1;
        }
    }
}

/// The value of `lead_qualification_rate`.
fn lead_qualification_rate_result(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &QualificationState,
) -> Result<MetricResult, EvalError> {
    let components = vec![
        Component::count("leads_created", state.created),
        Component::count("qualified", state.qualified),
    ];
    Ok(MetricResult::ratio(
        state.qualified as f64,
        state.created as f64,
        "leads created",
        components,
    ))
}

/// The ordered stage list of the funnel.
const STAGES: ParameterDefinition = ParameterDefinition {
    name: "stages",
    description: "the ordered stage names of the funnel (required, at least one, no repeats)",
    kind: ParamKind::List,
    default: None,
    positive: false,
};

/// Per listed stage, how many deals entered it in the window and how many advanced.
pub static FUNNEL_CONVERSION: Declaration<FunnelEntries> = Declaration {
    definition: MetricDefinition {
        id: "funnel_conversion",
        family: "sales",
        version: 1,
        description: "For an ordered list of stages: per stage, the deals that entered it in the window (a stage_history entry with entered_time in the window; a deal counts once per stage), and the share of them that later entered the next listed stage by as_of. The last stage has no next stage to convert to: its entry carries the count of deals that entered it (a count value, not a ratio), so the end of the funnel is visible. Breakdown entries follow the list order.",
        formula: "per stage s_i: entered_i = deals with an entry of s_i in P; advanced_i = those with a later entry of s_(i+1) with entered_time <= as_of; value_i = advanced_i / entered_i; the last stage s_n has no s_(n+1): value_n = entered_n, a count",
        value_kind: ValueKind::Breakdown,
        unit: "fraction per stage",
        direction: Direction::HigherIsBetter,
        reads: DEAL_KINDS,
        primary: DEAL_KINDS,
        policies: &[],
        parameters: &[STAGES],
        components: &[
            Term {
                name: "deals",
                description: "deals that entered at least one of the listed stages in the window",
            },
            Term {
                name: "entered",
                description: "on each breakdown entry: the deals that entered that stage in the window",
            },
            Term {
                name: "advanced",
                description: "on each breakdown entry but the last: those of them that entered the next listed stage later, by as_of",
            },
        ],
        breakdown_keys: &[Term {
            name: "<stage>",
            description: "each listed stage, in list order, with the components entered (deals that entered it in the window) and, for every stage but the last, advanced (those of them that entered the next listed stage later, by as_of); its value is advanced / entered (none when no deal entered the stage), and for the last stage the count entered",
        }],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no deal entered any of the listed stages in the window",
        }],
    },
    reading: FunnelEntries,
    finalize: funnel_conversion_result,
    relate_group: None,
};

/// Entered and advanced counts of one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StageCounts {
    entered: u64,
    advanced: u64,
}

/// Counts per stage position (only stages some deal entered), and the deals entering any stage.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FunnelState {
    stages: BTreeMap<usize, StageCounts>,
    deals: u64,
}

impl State for FunnelState {
    fn merge(&mut self, other: &Self) {
        for (index, counts) in &other.stages {
            let mine = self.stages.entry(*index).or_default();
            mine.entered += counts.entered;
            mine.advanced += counts.advanced;
        }
        self.deals += other.deals;
    }
}

/// Deals' entries into the listed stages in the period, and their advances by `as_of`.
pub struct FunnelEntries;

impl Reading for FunnelEntries {
    type State = FunnelState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        // A deal's entries fall in any period: every deal is routed to every period.
        CountedBy::State
    }

    fn validate(&self, settings: &Settings, path: &str) -> Vec<Problem> {
        let field = format!("{path}.parameters[{}]", STAGES.name);
        let Some(stages) = settings.list(&STAGES) else {
            return vec![Problem::new(
                field,
                "parameter stages is required: the ordered stage names of the funnel",
            )];
        };
        if stages.is_empty() {
            return vec![Problem::new(
                field,
                "parameter stages needs at least one stage",
            )];
        }
        stages
            .iter()
            .enumerate()
            .filter(|(i, stage)| stages[..*i].contains(stage))
            .map(|(_, stage)| {
                Problem::new(
                    field.clone(),
                    format!("stage '{stage}' is listed more than once"),
                )
            })
            .collect()
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        deals_created_before(span)
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut FunnelState, record: RecordRef<'a>) {
        let (RecordRef::Deal(deal), Some(stages)) = (record, ctx.settings.list(&STAGES)) else {
            return;
        };
        let (window, as_of) = (ctx.period.window, ctx.period.as_of);
        let history = &deal.stage_history;
        let mut entered_any = false;
        for (i, stage) in stages.iter().enumerate() {
            let Some(first) = history.iter().position(|e| {
                e.stage == stage && window.contains(e.entered_time) && e.entered_time <= as_of
            }) else {
                continue;
            };
            entered_any = true;
            let counts = state.stages.entry(i).or_default();
            counts.entered += 1;
            if let Some(next) = stages.get(i + 1) {
                let advanced = history[first + 1..]
                    .iter()
                    .any(|e| e.stage == next && e.entered_time <= as_of);
                counts.advanced += u64::from(advanced);
            }
        }
        state.deals += u64::from(entered_any);
    }
}

/// The value of `funnel_conversion`.
fn funnel_conversion_result(
    _definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &FunnelState,
) -> Result<MetricResult, EvalError> {
    // A query without stages is refused before evaluation, so this reason is not published; it
    // is left for states finalized inside the engine.
    let Some(stages) = ctx.settings.list(&STAGES) else {
        return Ok(MetricResult::undefined(
            UndefinedReason::MissingParameter,
            "funnel_conversion needs the ordered stage list in parameter stages",
            Vec::new(),
        ));
    };
    let components = vec![Component::count("deals", state.deals)];
    if state.deals == 0 {
        return Ok(MetricResult::undefined(
            UndefinedReason::NoData,
            "no deal entered any of the stages in the window",
            components,
        ));
    }
    let entries = stages
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let counts = state.stages.get(&i).copied().unwrap_or_default();
            let entered = Component::count("entered", counts.entered);
            if i + 1 == stages.len() {
                return BreakdownEntry {
                    key: stage.clone(),
                    value: Some(Value::Count(counts.entered)),
                    components: vec![entered],
                };
            }
            let value = (counts.entered > 0).then(|| {
                Value::Ratio(Ratio {
                    value: counts.advanced as f64 / counts.entered as f64,
                    numerator: counts.advanced as f64,
                    denominator: counts.entered as f64,
                })
            });
            BreakdownEntry {
                key: stage.clone(),
                value,
                components: vec![entered, Component::count("advanced", counts.advanced)],
            }
        })
        .collect();
    Ok(MetricResult::value(Value::Breakdown(entries), components))
}

/// How long deals stayed in each stage.
pub static STAGE_DURATION: Declaration<StageVisits> = Declaration {
    definition: MetricDefinition {
        id: "stage_duration",
        family: "sales",
        version: 1,
        description: "Per stage, the length of each stage visit that ended in the window (by as_of): exit − entry, where a visit exits at the next stage_history entry or, for the last entry, at the deal's closed_time when it was won or lost. Open visits are not counted. Breakdown entries are sorted by stage name.",
        formula: "per stage: stats of (exit − entered_time) over visits with exit in P and exit <= as_of; exit = next entry's entered_time, else closed_time",
        value_kind: ValueKind::Breakdown,
        unit: "seconds per stage",
        direction: Direction::LowerIsBetter,
        reads: DEAL_KINDS,
        primary: DEAL_KINDS,
        policies: &[],
        parameters: &[],
        components: &[Term {
            name: "visits",
            description: "stage visits that ended in the window, over all stages",
        }],
        breakdown_keys: &[Term {
            name: "<stage>",
            description: "each stage with a visit that ended in the window, sorted by name: the duration statistics of those visits, with their count in the visits component",
        }],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no stage visit ended in the window",
        }],
    },
    reading: StageVisits,
    finalize: stage_duration_result,
    relate_group: None,
};

/// Visit durations per stage name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StageDurationState {
    stages: BTreeMap<Text, DurationSet>,
}

impl State for StageDurationState {
    fn merge(&mut self, other: &Self) {
        for (stage, durations) in &other.stages {
            self.stages
                .entry(stage.clone())
                .or_default()
                .merge(durations);
        }
    }
}

/// Deals' stage visits that ended in the period.
pub struct StageVisits;

impl Reading for StageVisits {
    type State = StageDurationState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        // A deal's visits end in any period: every deal is routed to every period.
        CountedBy::State
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        deals_created_before(span)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut StageDurationState,
        record: RecordRef<'a>,
    ) {
        let RecordRef::Deal(deal) = record else {
            return;
        };
        let (window, as_of) = (ctx.period.window, ctx.period.as_of);
        let history = &deal.stage_history;
        for (k, entry) in history.iter().enumerate() {
            let exit = match history.get(k + 1) {
                Some(next) => Some(next.entered_time).filter(|t| *t <= as_of),
                None => close_of(deal, as_of).map(|(closed, _)| closed),
            };
            let Some(exit) = exit.filter(|t| window.contains(*t) && *t >= entry.entered_time)
            else {
                continue;
            };
            state
                .stages
                .entry(entry.stage.clone())
                .or_default()
                .add(exit - entry.entered_time);
        }
    }
}

/// The value of `stage_duration`.
fn stage_duration_result(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &StageDurationState,
) -> Result<MetricResult, EvalError> {
    let mut visits = 0;
    let mut entries = Vec::with_capacity(state.stages.len());
    for (stage, durations) in &state.stages {
        visits += durations.len();
        entries.push(BreakdownEntry {
            key: stage.to_string(),
            value: durations.stats().map(Value::Duration),
            components: vec![Component::count("visits", durations.len())],
        });
    }
    let components = vec![Component::count("visits", visits)];
    if visits == 0 {
        return Ok(MetricResult::undefined(
            UndefinedReason::NoData,
            "no stage visit ended in the window",
            components,
        ));
    }
    Ok(MetricResult::value(Value::Breakdown(entries), components))
}

#[cfg(test)]
#[path = "tests/funnel.rs"]
mod tests;
