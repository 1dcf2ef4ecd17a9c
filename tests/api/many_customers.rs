//! A tenant of 20,000 customers with one order each in 2026, and the daily revenue query grouped
//! by customer over it: the "group-by bomb" the result limits are tested with.

use crate::helpers::*;
use crm_metrics::grpc::pb;

pub const CUSTOMERS: u32 = 20_000;

/// One order per customer `c00000`…`c19999` in 2026, customer i ordering 100 + i cents on day
/// i mod 365.
pub async fn ingest_customers_orders(app: &mut TestApp) {
    let orders: Vec<pb::CrmRecord> = (0..CUSTOMERS)
        .map(|i| {
            let day = chrono::NaiveDate::from_yo_opt(2026, 1 + i % 365)
                .expect("a day of 2026")
                .and_hms_opt(12, 0, 0)
                .expect("noon");
            let seconds = day.and_utc().timestamp();
            order(
                &format!("o{i:05}"),
                &format!("c{i:05}"),
                Some(prost_types::Timestamp { seconds, nanos: 0 }),
                100 + i64::from(i),
            )
        })
        .collect();
    for batch in orders.chunks(10_000) {
        app.ingest(batch.to_vec()).await;
    }
}

pub fn daily_revenue_by_customer(app: &TestApp) -> pb::ComputeMetricsRequest {
    let mut request = app.request(vec![metric("revenue")], window((2026, 1, 1), (2027, 1, 1)));
    request.granularity = pb::Granularity::Day as i32;
    request.group_by = vec!["customer_id".to_owned()];
    request.as_of = ts(2027, 1, 1, 0, 0);
    request
}

pub fn keys(report: &pb::MetricReport) -> Vec<String> {
    report
        .groups
        .iter()
        .map(|g| g.key[0].value.clone().expect("a customer id"))
        .collect()
}
