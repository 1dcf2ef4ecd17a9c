//! `docs/metrics.md` is the catalog exactly as `ListMetrics` publishes it: every metric with its
//! description, formula, kind, unit, direction, the records it reads, its policies, parameters,
//! components, breakdown keys, undefined cases and dimensions. This test renders the document from a live `ListMetrics` answer and fails when
//! the committed file differs; `UPDATE_DOCS=1 cargo test --test api catalog_doc` rewrites it.

use std::fmt::Write as _;

use crate::helpers::*;
use crm_metrics::grpc::pb;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md");

fn enum_name(name: &str, prefix: &str) -> String {
    name.trim_start_matches(prefix).to_ascii_lowercase()
}

/// The reference document for `metrics`, in catalog order.
fn render(metrics: &[pb::MetricDefinition]) -> String {
    let mut doc = String::from(
        "# Metric catalog\n\n\
         Generated from `ListMetrics` (the definitions the service computes by; \
         `tests/api/catalog_doc.rs` checks this file against a running service). \
         P is the window (or a series bucket); every ratio reports its numerator and \
         denominator, and an undefined value says why.\n\n",
    );
    let mut family = "";
    for metric in metrics {
        if metric.family != family {
            family = &metric.family;
            let _ = writeln!(doc, "## {family}\n");
        }
        let value_kind = pb::ValueKind::try_from(metric.value_kind).map_or_else(
            |_| "?".to_owned(),
            |k| enum_name(k.as_str_name(), "VALUE_KIND_"),
        );
        let direction = pb::Direction::try_from(metric.direction).map_or_else(
            |_| "?".to_owned(),
            |d| enum_name(d.as_str_name(), "DIRECTION_"),
        );
        let reads: Vec<String> = metric
            .reads
            .iter()
            .map(|kind| {
                pb::RecordKind::try_from(*kind).map_or_else(
                    |_| "?".to_owned(),
                    |k| enum_name(k.as_str_name(), "RECORD_KIND_"),
                )
            })
            .collect();
        let _ = writeln!(doc, "### `{}`\n", metric.id);
        let _ = writeln!(doc, "{}\n", metric.description);
        let _ = writeln!(doc, "- **Formula:** {}", metric.formula);
        let _ = writeln!(
            doc,
            "- **Value:** {value_kind}, unit {}, {direction}",
            metric.unit
        );
        let _ = writeln!(doc, "- **Reads:** {}", reads.join(", "));
        for policy in &metric.policies {
            let _ = writeln!(
                doc,
                "- **Policy `{}`** ({}; default `{}`): {}",
                policy.name,
                policy
                    .values
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                policy.default_value,
                policy.description
            );
        }
        for parameter in &metric.parameters {
            let kind = pb::ParameterKind::try_from(parameter.kind).map_or_else(
                |_| "?".to_owned(),
                |k| enum_name(k.as_str_name(), "PARAMETER_KIND_"),
            );
            let default = parameter
                .default_value
                .as_ref()
                .map_or_else(|| "required".to_owned(), |d| format!("default `{d}`"));
            let _ = writeln!(
                doc,
                "- **Parameter `{}`** ({kind}, {default}): {}",
                parameter.name, parameter.description
            );
        }
        for (label, terms) in [
            ("Component", &metric.components),
            ("Breakdown key", &metric.breakdown_keys),
        ] {
            for term in terms {
                let _ = writeln!(doc, "- **{label} `{}`**: {}", term.name, term.description);
            }
        }
        for case in &metric.undefined_cases {
            let reason = pb::UndefinedReason::try_from(case.reason).map_or_else(
                |_| "?".to_owned(),
                |r| {
                    r.as_str_name()
                        .trim_start_matches("UNDEFINED_REASON_")
                        .to_owned()
                },
            );
            let _ = writeln!(doc, "- **Undefined `{reason}`** when {}", case.when);
        }
        if !metric.dimensions.is_empty() {
            let _ = writeln!(
                doc,
                "- **Group by / filter:** {}",
                metric
                    .dimensions
                    .iter()
                    .map(|d| format!("`{d}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        doc.push('\n');
    }
    doc
}

#[tokio::test]
async fn docs_metrics_md_is_the_published_catalog() {
    let mut app = TestApp::spawn().await;
    let metrics = app
        .metrics
        .list_metrics(pb::ListMetricsRequest {})
        .await
        .expect("the catalog")
        .into_inner()
        .metrics;
    let rendered = render(&metrics);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(DOC, &rendered).expect("write docs/metrics.md");
    }
    let committed = std::fs::read_to_string(DOC).unwrap_or_default();
    // Every id, policy and parameter the service publishes is in the document.
    for metric in &metrics {
        assert!(
            committed.contains(&format!("### `{}`", metric.id)),
            "{}",
            metric.id
        );
        for policy in &metric.policies {
            assert!(
                committed.contains(&format!("**Policy `{}`**", policy.name)),
                "{}: {}",
                metric.id,
                policy.name
            );
        }
        for parameter in &metric.parameters {
            assert!(
                committed.contains(&format!("**Parameter `{}`**", parameter.name)),
                "{}: {}",
                metric.id,
                parameter.name
            );
        }
    }
    // And nothing else: the document is exactly what ListMetrics says.
    assert!(
        committed == rendered,
        "docs/metrics.md differs from ListMetrics; run UPDATE_DOCS=1 cargo test --test api catalog_doc"
    );
}
