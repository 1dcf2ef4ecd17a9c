//! Which tenant and request each call of `crm-load query` makes.

use std::collections::BTreeSet;

use super::*;
use crate::scenarios::CATALOG_MIX;

#[test]
fn a_sweep_asks_every_metric_of_every_tenant_once_per_round() {
    let tenants = TenantArgs {
        tenant_prefix: "t".to_owned(),
        tenants: 3,
        sweep: true,
    };
    let calls = 3 * CATALOG_MIX.len() as u64;
    let pairs: BTreeSet<(String, String)> = (0..calls)
        .map(|n| {
            let request = Scenario::CatalogMix.request(tenants.pick(n), tenants.request_index(n));
            (request.tenant_id, request.metrics[0].metric.clone())
        })
        .collect();
    assert_eq!(pairs.len() as u64, calls);
    assert!(pairs.contains(&("t-003".to_owned(), "customer_health_score".to_owned())));
}

#[test]
fn without_a_sweep_calls_spread_over_tenants_and_rotate_metrics() {
    let tenants = TenantArgs {
        tenant_prefix: "t".to_owned(),
        tenants: 3,
        sweep: false,
    };
    let picked: BTreeSet<String> = (0..50).map(|n| tenants.pick(n)).collect();
    assert_eq!(picked.len(), 3);
    assert_eq!(tenants.request_index(7), 7);
}
