//! The metric catalog's metadata: what each metric means, reads, and accepts.
//!
//! Every metric publishes a [`MetricDefinition`]; `ListMetrics` returns them, and query
//! validation checks policies and parameters against them, so the catalog a caller reads is
//! exactly what the evaluator enforces.

use std::collections::BTreeMap;

use crate::query::{MetricQuery, ParamValue, Problem};
use crate::records::RecordKind;
use crate::value::UndefinedReason;

/// The type of a metric's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    Ratio,
    Money,
    Duration,
    Score,
    Count,
    Number,
    Breakdown,
}

/// Whether a higher value is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
    Neutral,
}

/// A named variant of a formula, one of a fixed set of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyDefinition {
    pub name: &'static str,
    pub description: &'static str,
    pub values: &'static [&'static str],
    pub default: &'static str,
}

/// The type a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamKind {
    Number,
    Text,
    List,
    NumberMap,
}

impl ParamKind {
    fn name(self) -> &'static str {
        match self {
            ParamKind::Number => "number",
            ParamKind::Text => "text",
            ParamKind::List => "list",
            ParamKind::NumberMap => "number_map",
        }
    }
}

/// A parameter's default, when it has one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamDefault {
    Number(f64),
    List(&'static [&'static str]),
}

/// A numeric or structured input of a formula.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParameterDefinition {
    pub name: &'static str,
    pub description: &'static str,
    pub kind: ParamKind,
    pub default: Option<ParamDefault>,
    /// For numbers: the value must be strictly positive.
    pub positive: bool,
}

/// A name a result carries (a component, a breakdown key) and what it means. A name in angle
/// brackets (`<stage>`) stands for names taken from the data or the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub name: &'static str,
    pub description: &'static str,
}

/// One way a metric's value can be undefined, and when it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UndefinedCase {
    pub reason: UndefinedReason,
    pub when: &'static str,
}

/// A policy whose values are a Rust enum: the formula reads the setting as `Self`
/// ([`Settings::choice`]), never as a string.
pub trait Choice: Copy + 'static {
    /// The published policy; its `values` name [`Choice::ALL`] in the same order.
    const POLICY: PolicyDefinition;
    /// Every value, in the order of `POLICY.values`.
    const ALL: &'static [Self];
    /// Checked at compile time for every choice a formula reads: `ALL` and `POLICY.values` pair
    /// up one to one, and the default is one of the values.
    const WELL_FORMED: () = {
        assert!(!Self::ALL.is_empty() && Self::ALL.len() == Self::POLICY.values.len());
        assert!(names_value(Self::POLICY.values, Self::POLICY.default));
    };
}

/// Whether `values` holds `wanted` (usable in constants, where `==` on strings is not).
const fn names_value(values: &[&str], wanted: &str) -> bool {
    let mut i = 0;
    while i < values.len() {
        let (value, wanted) = (values[i].as_bytes(), wanted.as_bytes());
        let mut same = value.len() == wanted.len();
        let mut j = 0;
        while same && j < value.len() {
            same = value[j] == wanted[j];
            j += 1;
        }
        if same {
            return true;
        }
        i += 1;
    }
    false
}

/// Everything a caller needs to know about a metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDefinition {
    pub id: &'static str,
    pub family: &'static str,
    /// Bumped whenever the formula's meaning changes; echoed in every result.
    pub version: u32,
    pub description: &'static str,
    pub formula: &'static str,
    pub value_kind: ValueKind,
    pub unit: &'static str,
    pub direction: Direction,
    /// Every record kind the formula reads.
    pub reads: &'static [RecordKind],
    /// The kinds whose records are filtered and grouped (the dimensions apply to these).
    pub primary: &'static [RecordKind],
    pub policies: &'static [PolicyDefinition],
    pub parameters: &'static [ParameterDefinition],
    /// The components every result carries.
    pub components: &'static [Term],
    /// For a breakdown value, the keys of its entries (empty otherwise).
    pub breakdown_keys: &'static [Term],
    /// Every reason the value can be undefined. A test checks each one occurs.
    pub undefined: &'static [UndefinedCase],
}

/// A metric query's policies and parameters, checked against the definition and completed with
/// defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    policies: BTreeMap<&'static str, &'static str>,
    parameters: BTreeMap<&'static str, ParamValue>,
}

impl Settings {
    /// Checks `query` against `definition`; `path` prefixes the field paths of problems
    /// (`metrics[2]`).
    pub fn resolve(
        definition: &MetricDefinition,
        query: &MetricQuery,
        path: &str,
    ) -> Result<Settings, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut policies = BTreeMap::new();
        for (name, value) in &query.policies {
            match definition.policies.iter().find(|p| p.name == name) {
                None => problems.push(Problem::new(
                    format!("{path}.policies[{name}]"),
                    format!(
                        "unknown policy '{name}' for metric {}; allowed: {}",
                        definition.id,
                        allowed(definition.policies.iter().map(|p| p.name))
                    ),
                )),
                Some(policy) => match policy.values.iter().find(|v| *v == value) {
                    Some(v) => {
                        policies.insert(policy.name, *v);
                    }
                    None => problems.push(Problem::new(
                        format!("{path}.policies[{name}]"),
                        format!(
                            "unknown value '{value}' for policy {name}; allowed: {}",
                            policy.values.join(", ")
                        ),
                    )),
                },
            }
        }
        for policy in definition.policies {
            policies.entry(policy.name).or_insert(policy.default);
        }
        let mut parameters = BTreeMap::new();
        for (name, value) in &query.parameters {
            let field = format!("{path}.parameters[{name}]");
            let Some(def) = definition.parameters.iter().find(|p| p.name == name) else {
                problems.push(Problem::new(
                    field,
                    format!(
                        "unknown parameter '{name}' for metric {}; allowed: {}",
                        definition.id,
                        allowed(definition.parameters.iter().map(|p| p.name))
                    ),
                ));
                continue;
            };
            match check_parameter(def, value) {
                Ok(()) => {
                    parameters.insert(def.name, value.clone());
                }
                Err(message) => problems.push(Problem::new(field, message)),
            }
        }
        for def in definition.parameters {
            if let (false, Some(default)) = (parameters.contains_key(def.name), def.default) {
                let value = match default {
                    ParamDefault::Number(n) => ParamValue::Number(n),
                    ParamDefault::List(items) => {
                        ParamValue::List(items.iter().map(|s| (*s).to_owned()).collect())
                    }
                };
                parameters.insert(def.name, value);
            }
        }
        if problems.is_empty() {
            Ok(Settings {
                policies,
                parameters,
            })
        } else {
            Err(problems)
        }
    }

    /// Settings with every default (for tests and engine-internal use).
    pub fn defaults(definition: &MetricDefinition) -> Settings {
        Settings::resolve(definition, &MetricQuery::new(definition.id), "metric").unwrap_or(
            Settings {
                policies: BTreeMap::new(),
                parameters: BTreeMap::new(),
            },
        )
    }

    /// The value of the policy `C` (its default when not given).
    pub fn choice<C: Choice>(&self) -> C {
        let policy = C::POLICY;
        let value = self
            .policies
            .get(policy.name)
            .copied()
            .unwrap_or(policy.default);
        let () = C::WELL_FORMED;
        let position = |wanted: &str| policy.values.iter().position(|v| *v == wanted);
        // Resolution admits only the policy's values, so the default's position is a fallback
        // for a policy the metric does not declare; WELL_FORMED makes every position a valid
        // index of ALL.
        let index = position(value)
            .or_else(|| position(policy.default))
            .unwrap_or(0);
        C::ALL[index]
    }

    /// Every policy with the value applied, for echoing in results.
    pub fn applied_policies(&self) -> Vec<(String, String)> {
        self.policies
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The number parameter `parameter` declares: as given, else its declared default (`None`
    /// when it has neither). Read through the declaration (the metric's own const), never by a
    /// free name.
    pub fn number(&self, parameter: &ParameterDefinition) -> Option<f64> {
        match self.parameters.get(parameter.name) {
            Some(ParamValue::Number(n)) => Some(*n),
            Some(_) => None,
            None => match parameter.default {
                Some(ParamDefault::Number(n)) => Some(n),
                _ => None,
            },
        }
    }

    /// The text parameter `parameter` declares, when given.
    pub fn text(&self, parameter: &ParameterDefinition) -> Option<&str> {
        match self.parameters.get(parameter.name)? {
            ParamValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The list parameter `parameter` declares, when given or defaulted.
    pub fn list(&self, parameter: &ParameterDefinition) -> Option<&[String]> {
        match self.parameters.get(parameter.name)? {
            ParamValue::List(items) => Some(items),
            _ => None,
        }
    }

    /// The map-of-numbers parameter `parameter` declares, when given.
    pub fn number_map(&self, parameter: &ParameterDefinition) -> Option<&BTreeMap<String, f64>> {
        match self.parameters.get(parameter.name)? {
            ParamValue::NumberMap(map) => Some(map),
            _ => None,
        }
    }
}

fn allowed<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn check_parameter(def: &ParameterDefinition, value: &ParamValue) -> Result<(), String> {
    let kind_ok = matches!(
        (def.kind, value),
        (ParamKind::Number, ParamValue::Number(_))
            | (ParamKind::Text, ParamValue::Text(_))
            | (ParamKind::List, ParamValue::List(_))
            | (ParamKind::NumberMap, ParamValue::NumberMap(_))
    );
    if !kind_ok {
        return Err(format!(
            "parameter {} takes a {}",
            def.name,
            def.kind.name()
        ));
    }
    match value {
        ParamValue::Number(n) if !n.is_finite() => {
            Err(format!("parameter {} must be a finite number", def.name))
        }
        ParamValue::Number(n) if def.positive && *n <= 0.0 => {
            Err(format!("parameter {} must be greater than 0", def.name))
        }
        ParamValue::NumberMap(map) if map.values().any(|v| !v.is_finite()) => {
            Err(format!("parameter {} must map to finite numbers", def.name))
        }
        _ => Ok(()),
    }
}
