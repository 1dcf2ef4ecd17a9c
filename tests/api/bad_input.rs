//! Bad input through the API: however many problems a request has, the error is
//! INVALID_ARGUMENT with a bounded list of field violations that a client with default limits
//! (8 KiB of metadata, as Python's grpcio) can receive.

use crm_metrics::grpc::pb;
use crm_metrics::grpc::pb::ingest_service_client::IngestServiceClient;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

use crate::helpers::{TestApp, deal, ts, violations};

/// 10,000 deals, each with an empty id (1 problem each).
fn bad_deals() -> Vec<pb::Record> {
    (0..10_000)
        .map(|_| deal("", pb::DealStatus::Open, ts(2026, 3, 1, 0, 0), None, 100))
        .collect()
}

/// A client that accepts at most 8 KiB of response metadata, like grpcio's default.
async fn strict_client(app: &TestApp) -> IngestServiceClient<Channel> {
    let channel = Channel::from_shared(app.address.clone())
        .unwrap()
        .http2_max_header_list_size(8 * 1024)
        .connect()
        .await
        .unwrap();
    IngestServiceClient::new(channel)
}

#[tokio::test]
async fn ten_thousand_bad_records_get_a_bounded_invalid_argument() {
    let app = TestApp::spawn().await;
    let mut client = strict_client(&app).await;
    let status = client
        .ingest_records(pb::IngestRecordsRequest {
            tenant_id: "acme".to_owned(),
            records: bad_deals(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields = violations(&status);
    assert!(
        !fields.is_empty() && fields.len() <= 100,
        "{}",
        fields.len()
    );
    assert_eq!(fields[0], "records[0].deal.id");
    assert!(
        status.message().contains("10000 problems in all"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_stream_rejection_lists_a_bounded_number_of_problems() {
    let app = TestApp::spawn().await;
    let mut client = strict_client(&app).await;
    let batches = vec![pb::StreamRecordsRequest {
        tenant_id: "acme".to_owned(),
        records: bad_deals(),
    }];
    let mut acks = client
        .stream_records(tokio_stream::iter(batches))
        .await
        .unwrap()
        .into_inner();
    let ack = acks.next().await.unwrap().unwrap();
    let Some(pb::stream_records_response::Result::Rejected(rejected)) = ack.result else {
        panic!("expected a rejection, got {ack:?}");
    };
    assert_eq!(Code::from(rejected.code), Code::InvalidArgument);
    assert!(!rejected.field_violations.is_empty() && rejected.field_violations.len() <= 100);
    assert!(
        rejected.message.contains("10000 problems in all"),
        "{}",
        rejected.message
    );
}
