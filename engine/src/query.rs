//! What a caller asks for: metric queries with policies and parameters, a window, a time zone, a
//! granularity, group-by, filters, `compare_previous` and `as_of`.

use std::collections::BTreeMap;

use chrono_tz::Tz;

use crate::calendar::{Granularity, Window};
use crate::dimension::Dimension;
use crate::money::Currency;
use crate::records::Timestamp;

/// A typed parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Number(f64),
    Text(String),
    List(Vec<String>),
    NumberMap(BTreeMap<String, f64>),
}

/// One metric to compute, with the policies and parameters the caller chose.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricQuery {
    pub metric: String,
    pub policies: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, ParamValue>,
}

impl MetricQuery {
    /// A query for `metric` with default policies and no parameters.
    pub fn new(metric: &str) -> MetricQuery {
        MetricQuery {
            metric: metric.to_owned(),
            ..MetricQuery::default()
        }
    }

    /// Sets a policy.
    pub fn policy(mut self, name: &str, value: &str) -> MetricQuery {
        self.policies.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Sets a parameter.
    pub fn parameter(mut self, name: &str, value: ParamValue) -> MetricQuery {
        self.parameters.insert(name.to_owned(), value);
        self
    }
}

/// Keeps only records whose dimension value is one of `values` (or, with `exclude`, none of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub dimension: Dimension,
    pub values: Vec<String>,
    pub exclude: bool,
}

/// Everything one ComputeMetrics call asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputeRequest {
    pub metrics: Vec<MetricQuery>,
    pub window: Window,
    pub time_zone: Tz,
    pub granularity: Granularity,
    pub group_by: Vec<Dimension>,
    pub filters: Vec<Filter>,
    pub compare_previous: bool,
    /// The instant the data is looked at: later field timestamps have not happened yet.
    pub as_of: Timestamp,
    /// Which groups of a group-by are reported, in what order.
    pub groups: GroupPage,
    /// What the tenant's settings contribute.
    pub tenant: TenantCalendar,
}

/// What a tenant's settings contribute to every computation of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantCalendar {
    /// The currency the tenant's exchange rates convert into; `None`: not set, so no currency
    /// without rates is reachable.
    pub base_currency: Option<Currency>,
    /// The month (1-12) the fiscal year starts in; fiscal quarters are three months from it.
    pub fiscal_year_start_month: u32,
}

impl Default for TenantCalendar {
    fn default() -> Self {
        TenantCalendar {
            base_currency: None,
            fiscal_year_start_month: 1,
        }
    }
}

/// The order in which a report lists its groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupOrder {
    /// By key, ascending (a missing value before any value).
    #[default]
    Key,
    /// By the group's total value, highest first; groups without a value last, ties by key.
    ValueDescending,
    /// By the group's total value, lowest first; groups without a value last, ties by key.
    ValueAscending,
}

/// One page of a report's groups: the `limit` groups after the first `offset`, in `order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupPage {
    pub order: GroupOrder,
    /// The most groups a report lists; `None` takes the largest page the result limits allow
    /// (see [`crate::eval::group_page_limit`]).
    pub limit: Option<usize>,
    /// How many groups (in `order`) earlier pages listed.
    pub offset: usize,
}

/// One problem with a request, at a field path (`metrics[0].policies[basis]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub description: String,
}

impl Problem {
    /// A problem at `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            description: description.into(),
        }
    }
}
