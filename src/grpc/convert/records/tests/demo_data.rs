//! The demo's generated data set is valid input: every kind is generated, and every record
//! passes the same conversion and validation an ingest call applies.

use crm_metrics_demo::generate::{Spec, generate};

use super::records_from_proto;

#[test]
fn every_generated_record_passes_ingestion_validation() {
    let records = generate(&Spec {
        scale: 0.05,
        ..Spec::default()
    });
    assert!(records.len() > 1_000, "{}", records.len());
    for kind in [
        "customer",
        "lead",
        "deal",
        "order",
        "subscription",
        "activity",
        "ticket",
        "survey_response",
        "cost",
        "engagement_event",
        "crm_user",
        "user_event",
        "quota",
    ] {
        assert!(
            records.iter().any(|r| format!("{:?}", r.kind)
                .to_lowercase()
                .starts_with(&format!("some({}(", kind.replace('_', "")))),
            "no {kind} generated"
        );
    }
    if let Err(problems) = records_from_proto(records) {
        panic!(
            "invalid generated records: {:?}",
            &problems[..problems.len().min(5)]
        );
    }
}
