//! Placeholder: metrics of this family are being added.

use crate::eval::Metric;

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[];
