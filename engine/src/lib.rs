//! `crm-metrics-engine`: the pure CRM metrics engine.
//!
//! Domain records go in, typed metric values come out. No I/O, no clock, no async: time is always
//! an argument (`as_of`, windows). The service's storage layer builds a [`dataset::Dataset`] from
//! the [`dataset::ReadPlan`] of a prepared request ([`eval::prepare`]); the evaluator folds records
//! into mergeable states ([`eval::Declaration`]) and finalizes them into typed values.

pub mod as_of;
pub mod by_id;
pub mod calendar;
pub mod catalog;
pub mod context;
pub mod currency;
pub mod dataset;
pub mod dimension;
pub mod eval;
pub mod metrics;
pub mod money;
pub mod query;
pub mod records;
pub mod value;
pub mod view;

pub use chrono_tz::Tz;
