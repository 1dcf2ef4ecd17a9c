//! Bad input through the API: however many problems a request has, the error is
//! INVALID_ARGUMENT with a bounded list of field violations that a client with default limits
//! (8 KiB of metadata, as Python's grpcio) can receive.

use crm_metrics::grpc::pb;
use crm_metrics::grpc::pb::ingest_service_client::IngestServiceClient;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

use crate::helpers::{TestApp, deal, march, metric, record, ts, violations};

/// 10,000 deals, each with an empty id (1 problem each).
fn bad_deals() -> Vec<pb::CrmRecord> {
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

/// One record of each kind with a NUL character in one string field, and the path that must be
/// named.
fn records_with_a_nul() -> Vec<(pb::CrmRecord, &'static str)> {
    use pb::crm_record::Kind;
    let nul = || "a\0b".to_owned();
    let customer = |f: &dyn Fn(&mut pb::Customer)| {
        let mut c = pb::Customer {
            id: "c1".to_owned(),
            version: 1,
            acquired_time: ts(2026, 3, 1, 0, 0),
            ..Default::default()
        };
        f(&mut c);
        record(Kind::Customer(c))
    };
    let mut deal_record = deal("d1", pb::DealStatus::Open, ts(2026, 3, 1, 0, 0), None, 100);
    let Some(Kind::Deal(d)) = deal_record.kind.as_mut() else {
        unreachable!()
    };
    d.stage_history = vec![pb::StageEntry {
        stage: nul(),
        entered_time: ts(2026, 3, 1, 0, 0),
    }];
    vec![
        (customer(&|c| c.id = nul()), "records[0].customer.id"),
        (
            customer(&|c| c.name = Some(nul())),
            "records[0].customer.name",
        ),
        (
            customer(&|c| c.email = Some(nul())),
            "records[0].customer.email",
        ),
        (
            customer(&|c| c.phone = Some(nul())),
            "records[0].customer.phone",
        ),
        (
            customer(&|c| c.acquisition_channel = Some(nul())),
            "records[0].customer.acquisition_channel",
        ),
        (
            customer(&|c| {
                c.attributes.insert("region".to_owned(), nul());
            }),
            "records[0].customer.attributes[region]",
        ),
        (
            customer(&|c| {
                c.attributes.insert(nul(), "x".to_owned());
            }),
            "records[0].customer.attributes[a\\0b]",
        ),
        (
            record(Kind::Lead(pb::Lead {
                id: "l1".to_owned(),
                email: Some(nul()),
                ..Default::default()
            })),
            "records[0].lead.email",
        ),
        (
            record(Kind::Lead(pb::Lead {
                id: "l1".to_owned(),
                owner_id: Some(nul()),
                ..Default::default()
            })),
            "records[0].lead.owner_id",
        ),
        (deal_record, "records[0].deal.stage_history[0].stage"),
        (
            record(Kind::SurveyResponse(pb::SurveyResponse {
                id: "s1".to_owned(),
                comment: Some(nul()),
                ..Default::default()
            })),
            "records[0].survey_response.comment",
        ),
        (
            record(Kind::Order(pb::Order {
                id: "o1".to_owned(),
                customer_id: nul(),
                ..Default::default()
            })),
            "records[0].order.customer_id",
        ),
        (
            record(Kind::CrmUser(pb::CrmUser {
                id: "u1".to_owned(),
                team: Some(nul()),
                ..Default::default()
            })),
            "records[0].crm_user.team",
        ),
    ]
}

#[tokio::test]
async fn a_nul_character_in_any_string_is_an_invalid_argument_naming_the_field() {
    let mut app = TestApp::spawn().await;
    for (record, path) in records_with_a_nul() {
        let status = app.ingest_for("acme", vec![record]).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{path}: {status:?}");
        assert!(
            violations(&status).iter().any(|f| f == path),
            "{path}: {:?}",
            violations(&status)
        );
    }
    for tenant in ["ac\0me", " ", "acme\n"] {
        let status = app.ingest_for(tenant, vec![]).await.unwrap_err();
        assert_eq!(violations(&status), ["tenant_id"], "{tenant:?}");
    }
    let status = app
        .ingest
        .delete_records(pb::DeleteRecordsRequest {
            tenant_id: "acme".to_owned(),
            kind: pb::RecordKind::Deal as i32,
            ids: vec!["ok".to_owned(), "d\0x".to_owned()],
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["ids[1]"]);
    let status = app
        .ingest
        .erase_customer(pb::EraseCustomerRequest {
            tenant_id: "acme".to_owned(),
            customer_id: "c\0".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["customer_id"]);
    let mut request = app.request(vec![metric("revenue")], march());
    request.filters = vec![pb::Filter {
        dimension: "customer_id".to_owned(),
        values: vec!["c1".to_owned(), "c\0x".to_owned()],
        exclude: false,
    }];
    let status = app.try_compute(request).await.unwrap_err();
    assert_eq!(violations(&status), ["filters[0].values[1]"]);
    // Nothing reached the database: the service still answers for the tenant.
    app.ingest(vec![deal(
        "d1",
        pb::DealStatus::Open,
        ts(2026, 3, 1, 0, 0),
        None,
        100,
    )])
    .await;
}

/// Sends raw bytes as a request message and reads the raw response.
#[derive(Debug, Clone, Default)]
struct RawCodec;

struct RawEncoder;
struct RawDecoder;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        use bytes::Buf;
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

const UNARY_METHODS: [&str; 9] = [
    "/crm.metrics.v1.IngestService/IngestRecords",
    "/crm.metrics.v1.IngestService/DeleteRecords",
    "/crm.metrics.v1.IngestService/EraseCustomer",
    "/crm.metrics.v1.MetricsService/ListMetrics",
    "/crm.metrics.v1.MetricsService/ComputeMetrics",
    "/crm.metrics.v1.MetricsService/ComputeOnRecords",
    "/crm.metrics.v1.MetricsService/GetComputation",
    "/crm.metrics.v1.TenantService/GetTenantSettings",
    "/crm.metrics.v1.TenantService/UpdateTenantSettings",
];

/// Malformed messages: a truncated batch, a string that is not UTF-8, a varint that never ends,
/// a length beyond the message, and a wrong wire type.
fn malformed_messages() -> Vec<Vec<u8>> {
    use prost::Message;
    let batch = pb::IngestRecordsRequest {
        tenant_id: "acme".to_owned(),
        records: vec![deal(
            "d1",
            pb::DealStatus::Open,
            ts(2026, 3, 1, 0, 0),
            None,
            100,
        )],
    }
    .encode_to_vec();
    vec![
        batch[..batch.len() / 2].to_vec(),
        vec![0x0a, 0x02, 0xff, 0xfe],
        vec![
            0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
        vec![0x0a, 0x7f, 0x61],
        vec![0x0d, 0x01],
    ]
}

/// Deterministic pseudo-random bytes (a 64-bit LCG): `count` messages of 0-199 bytes, half of
/// them mutations of a valid batch.
fn fuzzed_messages(count: usize) -> Vec<Vec<u8>> {
    use prost::Message;
    let valid = pb::IngestRecordsRequest {
        tenant_id: "acme".to_owned(),
        records: vec![deal(
            "d1",
            pb::DealStatus::Won,
            ts(2026, 3, 1, 0, 0),
            ts(2026, 3, 5, 0, 0),
            100,
        )],
    }
    .encode_to_vec();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    (0..count)
        .map(|i| {
            if i % 2 == 0 {
                (0..next() % 200).map(|_| next() as u8).collect()
            } else {
                let mut mutated = valid.clone();
                for _ in 0..1 + next() % 4 {
                    let at = next() % mutated.len();
                    mutated[at] = next() as u8;
                }
                mutated.truncate(1 + next() % mutated.len());
                mutated
            }
        })
        .collect()
}

#[tokio::test]
async fn malformed_and_random_bytes_never_get_internal_on_any_method() {
    let app = TestApp::spawn().await;
    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    let mut decode_refusals = 0;
    let messages: Vec<Vec<u8>> = malformed_messages()
        .into_iter()
        .chain(fuzzed_messages(60))
        .collect();
    for method in UNARY_METHODS {
        for (i, message) in messages.iter().enumerate() {
            grpc.ready().await.unwrap();
            let result = grpc
                .unary(
                    tonic::Request::new(message.clone()),
                    http::uri::PathAndQuery::from_static(method),
                    RawCodec,
                )
                .await;
            let code = match result {
                Ok(_) => Code::Ok,
                Err(status) => {
                    if status.message().contains("does not decode as protobuf") {
                        decode_refusals += 1;
                        assert_eq!(status.code(), Code::InvalidArgument);
                    }
                    assert!(
                        !matches!(status.code(), Code::Internal | Code::Unknown),
                        "{method} message {i}: {status:?}"
                    );
                    status.code()
                }
            };
            *codes.entry(format!("{code:?}")).or_default() += 1;
        }
    }
    // The hand-made malformed messages fail to decode on every method that has fields.
    assert!(decode_refusals >= 5 * 6, "{decode_refusals} {codes:?}");
    assert_eq!(
        codes.values().sum::<usize>(),
        UNARY_METHODS.len() * messages.len()
    );
    // A stream whose message does not decode ends with INVALID_ARGUMENT.
    grpc.ready().await.unwrap();
    let result = grpc
        .streaming(
            tonic::Request::new(tokio_stream::iter(malformed_messages())),
            http::uri::PathAndQuery::from_static("/crm.metrics.v1.IngestService/StreamRecords"),
            RawCodec,
        )
        .await;
    let status = match result {
        Err(status) => status,
        Ok(response) => {
            let mut acks = response.into_inner();
            loop {
                match acks.next().await {
                    Some(Ok(_)) => continue,
                    Some(Err(status)) => break status,
                    None => panic!("the stream ended without an error"),
                }
            }
        }
    };
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
}

#[tokio::test]
async fn an_activity_longer_than_a_century_is_refused_at_the_door() {
    // 4,000,000,000 s is over 100 years (3,155,760,000 s); 3,155,760,000 itself is accepted.
    let mut app = TestApp::spawn().await;
    let activity = |id: &str, seconds: i64| {
        record(pb::crm_record::Kind::Activity(pb::Activity {
            id: id.to_owned(),
            version: 1,
            activity_type: pb::ActivityType::Task as i32,
            direction: pb::ActivityDirection::Outbound as i32,
            occurred_time: ts(2026, 3, 2, 0, 0),
            duration_seconds: Some(seconds),
            ..Default::default()
        }))
    };
    let status = app
        .ingest_for("acme", vec![activity("long", 4_000_000_000)])
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        ["records[0].activity.duration_seconds"]
    );
    app.ingest(vec![activity("century", 3_155_760_000)]).await;
    app.shutdown().await;
}

#[tokio::test]
async fn every_bad_id_of_every_small_request_is_named_before_anything_is_read() {
    let mut app = TestApp::spawn().await;
    // A blank tenant is refused on every service, settings included.
    for tenant in ["", "   ", "ac\tme"] {
        let status = app
            .tenants
            .get_tenant_settings(pb::GetTenantSettingsRequest {
                tenant_id: tenant.to_owned(),
            })
            .await
            .expect_err("not a tenant");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{tenant:?}");
        assert_eq!(violations(&status), ["tenant_id"], "{tenant:?}");
    }
    // A deletion names its missing kind and each bad id at once.
    let status = app
        .ingest
        .delete_records(pb::DeleteRecordsRequest {
            tenant_id: "acme".to_owned(),
            kind: 0,
            ids: vec!["d1".to_owned(), String::new(), "x".repeat(129)],
        })
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(violations(&status), ["kind", "ids[1]", "ids[2]"]);
    // An erasure needs a customer id.
    let status = app
        .ingest
        .erase_customer(pb::EraseCustomerRequest {
            tenant_id: "acme".to_owned(),
            customer_id: String::new(),
        })
        .await
        .expect_err("invalid");
    assert_eq!(violations(&status), ["customer_id"]);
    // ComputeOnRecords names the tenant inside its query.
    let status = app
        .metrics
        .compute_on_records(pb::ComputeOnRecordsRequest {
            query: Some(pb::ComputeMetricsRequest {
                tenant_id: " ".to_owned(),
                ..app.request(vec![metric("win_rate")], march())
            }),
            records: Vec::new(),
        })
        .await
        .expect_err("invalid");
    assert_eq!(violations(&status), ["query.tenant_id"]);
}
