//! `routine_task_time`: time logged on routine activity types in the window, and its share of all
//! logged activity time.

use crate::catalog::{
    Direction, MetricDefinition, ParamDefault, ParamKind, ParameterDefinition, Settings, Term,
    UndefinedCase, ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::TimeField;
use crate::eval::{CountedBy, Declaration, FoldContext, Reading, State};
use crate::query::Problem;
use crate::records::{ActivityType, RecordKind};
use crate::value::{Component, DurationSet, EvalError, MetricResult, UndefinedReason};

/// The default routine activity types.
const DEFAULT_ROUTINE_TYPES: &[&str] = &["TASK", "NOTE", "DATA_ENTRY"];

/// The activity types that count as routine work.
const ROUTINE_TYPES: ParameterDefinition = ParameterDefinition {
    name: "routine_types",
    description: "the activity types that count as routine work (CALL, EMAIL, MEETING, TASK, NOTE, DATA_ENTRY, OTHER)",
    kind: ParamKind::List,
    default: Some(ParamDefault::List(DEFAULT_ROUTINE_TYPES)),
    positive: false,
};

/// Time logged on routine activity types in the window.
pub static ROUTINE_TASK_TIME: Declaration<RoutineActivities> = Declaration {
    definition: MetricDefinition {
        id: "routine_task_time",
        family: "engagement",
        version: 1,
        description: "Time logged on routine activities (by default tasks, notes and data entry) in the window: the total (total_seconds) with count, mean, median and p90 per activity, and the share of all logged activity time. Activities without a duration are counted apart.",
        formula: "sum of duration_seconds of activities with occurred_time in P and type in routine_types; share_of_logged_time = that sum / sum of duration_seconds of all activities in P",
        value_kind: ValueKind::Duration,
        unit: "seconds",
        direction: Direction::LowerIsBetter,
        reads: &[RecordKind::Activity],
        primary: &[RecordKind::Activity],
        policies: &[],
        parameters: &[ROUTINE_TYPES],
        components: &[
            Term {
                name: "logged_seconds",
                description: "the durations of all activities in the window, routine or not, summed",
            },
            Term {
                name: "routine_without_duration",
                description: "routine activities in the window without a duration (left out of the statistics)",
            },
            Term {
                name: "without_duration",
                description: "activities in the window without a duration, routine or not",
            },
            Term {
                name: "share_of_logged_time",
                description: "the routine total_seconds / logged_seconds; absent when no routine activity has a duration or logged_seconds is 0",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no routine activity with a duration occurred in the window",
        }],
    },
    reading: RoutineActivities,
    finalize: routine_task_time_result,
    relate_group: None,
};

/// Routine durations, all logged seconds, and activities without a duration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutineState {
    routine: DurationSet,
    /// All logged seconds, exactly (no sum of i64 durations overflows i128).
    logged_seconds: i128,
    routine_without_duration: u64,
    without_duration: u64,
    /// A routine duration did not fit 64-bit microseconds.
    overflowed: bool,
}

impl State for RoutineState {
    fn merge(&mut self, other: &Self) {
        self.routine.merge(&other.routine);
        self.logged_seconds += other.logged_seconds;
        self.routine_without_duration += other.routine_without_duration;
        self.without_duration += other.without_duration;
        self.overflowed |= other.overflowed;
    }
}

/// The activities of the period, routine or not, by `occurred_time`.
pub struct RoutineActivities;

impl Reading for RoutineActivities {
    type State = RoutineState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::ActivityOccurred)
    }

    fn validate(&self, settings: &Settings, path: &str) -> Vec<Problem> {
        let allowed: Vec<&str> = ActivityType::ALL.iter().map(|t| t.name()).collect();
        let types = settings.list(&ROUTINE_TYPES).unwrap_or_default();
        let mut problems: Vec<Problem> = types
            .iter()
            .filter(|name| !allowed.contains(&name.as_str()))
            .map(|name| {
                Problem::new(
                    format!("{path}.parameters[{}]", ROUTINE_TYPES.name),
                    format!(
                        "unknown activity type '{name}'; allowed: {}",
                        allowed.join(", ")
                    ),
                )
            })
            .collect();
        if types.is_empty() {
            problems.push(Problem::new(
                format!("{path}.parameters[{}]", ROUTINE_TYPES.name),
                format!(
                    "at least one activity type is required; allowed: {}",
                    allowed.join(", ")
                ),
            ));
        }
        problems
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut RoutineState, record: RecordRef<'a>) {
        let RecordRef::Activity(a) = record else {
            return;
        };
        if !ctx.period.window.contains(a.occurred_time) {
            return;
        }
        let routine = ctx
            .settings
            .list(&ROUTINE_TYPES)
            .unwrap_or_default()
            .iter()
            .any(|name| name == a.activity_type.name());
        match a.duration_seconds {
            Some(seconds) => {
                state.logged_seconds += i128::from(seconds);
                if routine {
                    match seconds.checked_mul(1_000_000) {
                        Some(micros) => state.routine.add_micros(micros),
                        None => state.overflowed = true,
                    }
                }
            }
            None => {
                state.without_duration += 1;
                state.routine_without_duration += u64::from(routine);
            }
        }
    }
}

/// The value of `routine_task_time`.
fn routine_task_time_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &RoutineState,
) -> Result<MetricResult, EvalError> {
    if state.overflowed {
        return Err(EvalError::Overflow {
            metric: format!("{}: a duration over 64-bit microseconds", definition.id),
        });
    }
    let mut components = vec![
        Component::seconds("logged_seconds", state.logged_seconds as f64),
        Component::count("routine_without_duration", state.routine_without_duration),
        Component::count("without_duration", state.without_duration),
    ];
    if let (Some(stats), true) = (state.routine.stats(), state.logged_seconds != 0) {
        components.push(Component::number(
            "share_of_logged_time",
            stats.total_seconds / state.logged_seconds as f64,
        ));
    }
    Ok(state
        .routine
        .result("routine activities with a duration", components))
}
