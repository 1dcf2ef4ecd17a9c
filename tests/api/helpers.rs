//! Test harness: database per test, in-process server, generated clients, record builders.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use crm_metrics::config::Config;
use crm_metrics::grpc::pb;
use crm_metrics::grpc::pb::ingest_service_client::IngestServiceClient;
use crm_metrics::grpc::pb::metrics_service_client::MetricsServiceClient;
use crm_metrics::grpc::pb::tenant_service_client::TenantServiceClient;
use crm_metrics::snapshot::Snapshots;
use crm_metrics::startup::Application;
pub use crm_metrics_testkit::{TestDatabase, fresh_database};
use tonic::transport::{Channel, ClientTlsConfig};

/// A running service on a loopback port with its clients.
pub struct TestApp {
    pub ingest: IngestServiceClient<Channel>,
    pub metrics: MetricsServiceClient<Channel>,
    pub tenants: TenantServiceClient<Channel>,
    pub channel: Channel,
    pub tenant: String,
    /// The service's address, `http://127.0.0.1:<port>`.
    pub address: String,
    /// The admin HTTP port's address, `127.0.0.1:<port>`.
    pub admin: std::net::SocketAddr,
    /// The service's tenant snapshots (counters of hits, loads, evictions).
    pub snapshots: Snapshots,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// Its database, dropped when the last service on it and the test are done with it.
    _database: TestDatabase,
}

impl TestApp {
    /// Starts the service with default configuration.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Starts the service and also returns its database (for another instance on it, or SQL).
    pub async fn spawn_with_database() -> (TestApp, TestDatabase) {
        let database = fresh_database().await.expect("a fresh test database");
        (TestApp::spawn_on(&database, |_| {}).await, database)
    }

    /// Starts the service after `configure` adjusts the configuration, and also returns its
    /// database.
    pub async fn spawn_with_database_configured(
        configure: impl FnOnce(&mut Config),
    ) -> (TestApp, TestDatabase) {
        let database = fresh_database().await.expect("a fresh test database");
        (TestApp::spawn_on(&database, configure).await, database)
    }

    /// Starts the service after `configure` adjusts the configuration.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::spawn_on(
            &fresh_database().await.expect("a fresh test database"),
            configure,
        )
        .await
    }

    /// Starts the service on `database` after `configure` adjusts the configuration.
    pub async fn spawn_on(database: &TestDatabase, configure: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::spawn_connecting(database.clone(), configure, None).await
    }

    /// Starts a service serving TLS (as `configure` sets it up) and connects to it with `tls`.
    pub async fn spawn_tls(configure: impl FnOnce(&mut Config), tls: ClientTlsConfig) -> TestApp {
        TestApp::spawn_connecting(
            fresh_database().await.expect("a fresh test database"),
            configure,
            Some(tls),
        )
        .await
    }

    async fn spawn_connecting(
        database: TestDatabase,
        configure: impl FnOnce(&mut Config),
        tls: Option<ClientTlsConfig>,
    ) -> TestApp {
        let mut config = Config::for_database(
            database.url().to_owned(),
            "127.0.0.1:0".parse().expect("address"),
        )
        .expect("the default configuration");
        configure(&mut config);
        let application = Application::build(config).await.expect("service builds");
        let address = application.local_addr();
        let admin = application.admin_addr();
        let snapshots = application.app().snapshots().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            application
                .run_until_stopped(async {
                    let _ = stopped.await;
                })
                .await
                .expect("service runs");
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let address = format!("{scheme}://{address}");
        let mut endpoint = Channel::from_shared(address.clone()).expect("endpoint");
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls).expect("client TLS");
        }
        let channel = endpoint.connect().await.expect("connect to the service");
        TestApp {
            ingest: IngestServiceClient::new(channel.clone()),
            metrics: MetricsServiceClient::new(channel.clone()),
            tenants: TenantServiceClient::new(channel.clone()),
            channel,
            tenant: "acme".to_owned(),
            address,
            admin,
            snapshots,
            stop: Some(stop),
            server: Some(server),
            _database: database,
        }
    }

    /// Ingests one batch for the test tenant, asserting success.
    pub async fn ingest(&mut self, records: Vec<pb::CrmRecord>) -> pb::IngestRecordsResponse {
        let tenant = self.tenant.clone();
        self.ingest_for(&tenant, records)
            .await
            .expect("batch accepted")
    }

    /// Ingests one batch for `tenant`.
    pub async fn ingest_for(
        &mut self,
        tenant: &str,
        records: Vec<pb::CrmRecord>,
    ) -> Result<pb::IngestRecordsResponse, tonic::Status> {
        self.ingest
            .ingest_records(pb::IngestRecordsRequest {
                tenant_id: tenant.to_owned(),
                records,
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Replaces the test tenant's settings, asserting success.
    pub async fn set_settings(
        &mut self,
        settings: pb::TenantSettings,
    ) -> pb::UpdateTenantSettingsResponse {
        self.tenants
            .update_tenant_settings(pb::UpdateTenantSettingsRequest {
                tenant_id: self.tenant.clone(),
                settings: Some(settings),
                etag: String::new(),
            })
            .await
            .expect("settings accepted")
            .into_inner()
    }

    /// Erases the test tenant's customer `customer_id`, asserting success.
    pub async fn erase(&mut self, customer_id: &str) -> pb::EraseCustomerResponse {
        self.ingest
            .erase_customer(pb::EraseCustomerRequest {
                tenant_id: self.tenant.clone(),
                customer_id: customer_id.to_owned(),
            })
            .await
            .expect("erase")
            .into_inner()
    }

    /// Computes one request, asserting success.
    pub async fn compute(
        &mut self,
        request: pb::ComputeMetricsRequest,
    ) -> pb::ComputeMetricsResponse {
        self.try_compute(request)
            .await
            .expect("computation succeeds")
    }

    /// Computes one request.
    pub async fn try_compute(
        &mut self,
        request: pb::ComputeMetricsRequest,
    ) -> Result<pb::ComputeMetricsResponse, tonic::Status> {
        self.metrics
            .compute_metrics(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// Computes one metric over `window` for the test tenant and returns its report.
    pub async fn report(
        &mut self,
        query: pb::MetricQuery,
        window: pb::TimeWindow,
    ) -> pb::MetricReport {
        let request = self.request(vec![query], window);
        self.compute(request).await.reports.remove(0)
    }

    /// A request for the test tenant with defaults (UTC, no series, as_of = receive time).
    pub fn request(
        &self,
        metrics: Vec<pb::MetricQuery>,
        window: pb::TimeWindow,
    ) -> pb::ComputeMetricsRequest {
        pb::ComputeMetricsRequest {
            tenant_id: self.tenant.clone(),
            metrics,
            window: Some(window),
            ..Default::default()
        }
    }

    /// Signals the server to drain, without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task ends");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A UTC instant.
pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// A protobuf timestamp of a UTC instant.
pub fn ts(y: i32, m: u32, d: u32, h: u32, min: u32) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: utc(y, m, d, h, min).timestamp(),
        nanos: 0,
    })
}

/// `[start, end)` from two dates at midnight UTC.
pub fn window(start: (i32, u32, u32), end: (i32, u32, u32)) -> pb::TimeWindow {
    pb::TimeWindow {
        start: ts(start.0, start.1, start.2, 0, 0),
        end: ts(end.0, end.1, end.2, 0, 0),
    }
}

/// March 2026, UTC.
pub fn march() -> pb::TimeWindow {
    window((2026, 3, 1), (2026, 4, 1))
}

/// USD minor units.
pub fn usd(minor: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: "USD".to_owned(),
        units_minor: minor,
    })
}

/// A metric query with no policies or parameters.
pub fn metric(id: &str) -> pb::MetricQuery {
    pb::MetricQuery {
        metric: id.to_owned(),
        ..Default::default()
    }
}

/// A metric query with one policy.
pub fn metric_with_policy(id: &str, policy: &str, value: &str) -> pb::MetricQuery {
    let mut query = metric(id);
    query.policies = BTreeMap::from([(policy.to_owned(), value.to_owned())]);
    query
}

/// Wraps a record kind into a `Record`.
pub fn record(kind: pb::crm_record::Kind) -> pb::CrmRecord {
    pb::CrmRecord { kind: Some(kind) }
}

/// A survey response.
pub fn survey(
    id: &str,
    survey_type: pb::SurveyType,
    score: i32,
    scale: (i32, i32),
    responded: Option<prost_types::Timestamp>,
) -> pb::CrmRecord {
    record(pb::crm_record::Kind::SurveyResponse(pb::SurveyResponse {
        id: id.to_owned(),
        version: 1,
        survey_type: survey_type as i32,
        score,
        scale_min: scale.0,
        scale_max: scale.1,
        responded_time: responded,
        customer_id: format!("cust-{id}"),
        ..Default::default()
    }))
}

/// A deal.
pub fn deal(
    id: &str,
    status: pb::DealStatus,
    created: Option<prost_types::Timestamp>,
    closed: Option<prost_types::Timestamp>,
    amount_minor: i64,
) -> pb::CrmRecord {
    record(pb::crm_record::Kind::Deal(pb::Deal {
        id: id.to_owned(),
        version: 1,
        created_time: created,
        amount: usd(amount_minor),
        status: status as i32,
        closed_time: closed,
        stage: "negotiation".to_owned(),
        deal_type: pb::DealType::NewBusiness as i32,
        ..Default::default()
    }))
}

/// A customer.
pub fn customer(
    id: &str,
    acquired: Option<prost_types::Timestamp>,
    churned: Option<prost_types::Timestamp>,
) -> pb::CrmRecord {
    record(pb::crm_record::Kind::Customer(pb::Customer {
        id: id.to_owned(),
        version: 1,
        acquired_time: acquired,
        churned_time: churned,
        ..Default::default()
    }))
}

/// An order.
pub fn order(
    id: &str,
    customer_id: &str,
    ordered: Option<prost_types::Timestamp>,
    amount_minor: i64,
) -> pb::CrmRecord {
    record(pb::crm_record::Kind::Order(pb::Order {
        id: id.to_owned(),
        version: 1,
        customer_id: customer_id.to_owned(),
        amount: usd(amount_minor),
        ordered_time: ordered,
        kind: pb::OrderKind::New as i32,
        ..Default::default()
    }))
}

/// A lead.
pub fn lead(id: &str, created: Option<prost_types::Timestamp>) -> pb::CrmRecord {
    record(pb::crm_record::Kind::Lead(pb::Lead {
        id: id.to_owned(),
        version: 1,
        created_time: created,
        ..Default::default()
    }))
}

/// The ratio value of a result (panics when not a ratio).
pub fn ratio(result: &pb::MetricResult) -> (f64, f64, f64) {
    match &result.value {
        Some(pb::metric_result::Value::Ratio(r)) => (r.value, r.numerator, r.denominator),
        other => panic!(
            "expected a ratio, got {other:?} ({})",
            result.undefined_detail
        ),
    }
}

/// The score value of a result.
pub fn score(result: &pb::MetricResult) -> f64 {
    match &result.value {
        Some(pb::metric_result::Value::Score(s)) => s.value,
        other => panic!(
            "expected a score, got {other:?} ({})",
            result.undefined_detail
        ),
    }
}

/// The money value of a result, in minor units, with its currency.
pub fn money(result: &pb::MetricResult) -> (String, i64) {
    match &result.value {
        Some(pb::metric_result::Value::Money(m)) => {
            let amount = m.amount.as_ref().expect("amount");
            (amount.currency_code.clone(), amount.units_minor)
        }
        other => panic!(
            "expected money, got {other:?} ({})",
            result.undefined_detail
        ),
    }
}

/// The count value of a result.
pub fn count(result: &pb::MetricResult) -> u64 {
    match &result.value {
        Some(pb::metric_result::Value::Count(c)) => c.value,
        other => panic!(
            "expected a count, got {other:?} ({})",
            result.undefined_detail
        ),
    }
}

/// The duration stats of a result.
pub fn duration(result: &pb::MetricResult) -> pb::DurationStats {
    match &result.value {
        Some(pb::metric_result::Value::Duration(d)) => *d,
        other => panic!(
            "expected a duration, got {other:?} ({})",
            result.undefined_detail
        ),
    }
}

/// A named component of a result.
pub fn component<'a>(result: &'a pb::MetricResult, name: &str) -> &'a pb::Component {
    result
        .components
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no component {name} in {:?}", result.components))
}

/// A count component's value.
pub fn component_count(result: &pb::MetricResult, name: &str) -> u64 {
    match component(result, name).value {
        Some(pb::component::Value::Count(n)) => n,
        ref other => panic!("component {name} is not a count: {other:?}"),
    }
}

/// The field paths of a BadRequest status.
pub fn violations(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| v.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Deletes the tenant's deals with `ids`.
pub async fn delete_deals(app: &mut TestApp, ids: &[&str]) -> pb::DeleteRecordsResponse {
    app.ingest
        .delete_records(pb::DeleteRecordsRequest {
            tenant_id: app.tenant.clone(),
            kind: pb::RecordKind::Deal as i32,
            ids: ids.iter().map(|id| (*id).to_owned()).collect(),
        })
        .await
        .expect("delete")
        .into_inner()
}

/// An exchange rate: one `currency` is worth `rate` of the tenant's base currency from `date`.
pub fn rate(id: &str, currency: &str, date: &str, rate: &str) -> pb::CrmRecord {
    record(pb::crm_record::Kind::ExchangeRate(pb::ExchangeRate {
        id: id.to_owned(),
        version: 1,
        currency: currency.to_owned(),
        date: date.to_owned(),
        rate: rate.to_owned(),
        ..Default::default()
    }))
}

/// An order with its amount in euros.
pub fn in_euros(mut record: pb::CrmRecord) -> pb::CrmRecord {
    if let Some(pb::crm_record::Kind::Order(o)) = &mut record.kind {
        o.amount.as_mut().expect("amount").currency_code = "EUR".to_owned();
    }
    record
}

/// Sends `request` as is over a new connection to `address` and reads until the server closes it.
pub async fn http_exchange(address: std::net::SocketAddr, request: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream.write_all(request).await.expect("send the request");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("read the response");
    response
}

/// `GET path` on the admin port: the HTTP status and body.
pub async fn admin_get(admin: std::net::SocketAddr, path: &str) -> (u16, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let response =
        String::from_utf8(http_exchange(admin, request.as_bytes()).await).expect("a text response");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    (status, body.to_owned())
}
