//! Tenant settings through TenantService: defaults, etags, validation, and what computations
//! take from them (base currency, reporting currency, time zone, fiscal calendar), at once and on
//! every replica.

use crate::helpers::*;
use crm_metrics::grpc::pb;

fn settings(base: &str, reporting: &str, time_zone: &str, month: u32) -> pb::TenantSettings {
    pb::TenantSettings {
        base_currency: base.to_owned(),
        reporting_currency: reporting.to_owned(),
        time_zone: time_zone.to_owned(),
        fiscal_year_start_month: month,
    }
}

async fn get(app: &mut TestApp) -> pb::GetTenantSettingsResponse {
    app.tenants
        .get_tenant_settings(pb::GetTenantSettingsRequest {
            tenant_id: app.tenant.clone(),
        })
        .await
        .expect("settings")
        .into_inner()
}

async fn update(
    app: &mut TestApp,
    settings: pb::TenantSettings,
    etag: &str,
) -> Result<pb::UpdateTenantSettingsResponse, tonic::Status> {
    app.tenants
        .update_tenant_settings(pb::UpdateTenantSettingsRequest {
            tenant_id: app.tenant.clone(),
            settings: Some(settings),
            etag: etag.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn settings_round_trip_with_etags_guarding_concurrent_updates() {
    let mut app = TestApp::spawn_with(|config| {
        config.reporting_currency = Some("GBP".to_owned());
        config.fiscal_year_start_month = 7;
    })
    .await;
    // Nothing stored: the service's defaults, at version 0.
    let defaults = get(&mut app).await;
    assert_eq!(defaults.etag, "v0");
    assert_eq!(defaults.settings, Some(settings("", "GBP", "UTC", 7)));

    let wanted = settings("USD", "EUR", "Europe/Warsaw", 4);
    let first = update(&mut app, wanted.clone(), "v0").await.unwrap();
    assert_eq!(first.etag, "v1");
    assert_eq!(first.settings, Some(wanted.clone()));
    // A second writer still holding v0 loses, and nothing changes.
    let status = update(&mut app, settings("JPY", "", "", 0), "v0")
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Aborted);
    let read = get(&mut app).await;
    assert_eq!((read.etag.as_str(), read.settings), ("v1", Some(wanted)));
    // With the current etag it applies; without one it applies whatever is stored. Month 0 is
    // January.
    let second = update(&mut app, settings("USD", "", "", 0), "v1")
        .await
        .unwrap();
    assert_eq!(second.settings, Some(settings("USD", "", "UTC", 1)));
    let third = update(&mut app, settings("EUR", "", "", 12), "")
        .await
        .unwrap();
    assert_eq!(third.etag, "v3");
    let status = update(&mut app, settings("EUR", "", "", 12), "3")
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["etag"]);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_settings_are_named_field_by_field_in_one_answer() {
    let mut app = TestApp::spawn().await;
    let status = update(&mut app, settings("ZZZ", "usd", "Mars/Base", 13), "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        [
            "settings.base_currency",
            "settings.reporting_currency",
            "settings.time_zone",
            "settings.fiscal_year_start_month"
        ]
    );
    let status = app
        .tenants
        .update_tenant_settings(pb::UpdateTenantSettingsRequest {
            tenant_id: app.tenant.clone(),
            settings: None,
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["settings"]);
    // A made-up currency is refused in records and requests too.
    let status = app
        .ingest_for(
            "acme",
            vec![in_euros(order("o", "c", ts(2026, 3, 2, 0, 0), 100)).clone()]
                .into_iter()
                .map(|mut r| {
                    if let Some(pb::crm_record::Kind::Order(o)) = &mut r.kind {
                        o.amount.as_mut().unwrap().currency_code = "ZZZ".to_owned();
                    }
                    r
                })
                .collect(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        violations(&status),
        ["records[0].order.amount.currency_code"]
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_reporting_currency_no_rate_reaches_is_failed_precondition_naming_it() {
    // One EUR rate into the base USD: 100.00 EUR is 110.00 USD, and JPY has no path (it is
    // neither the base nor rated), so it is never reported as ¥110.
    let mut app = TestApp::spawn().await;
    app.set_settings(settings("USD", "", "", 0)).await;
    app.ingest(vec![
        rate("r", "EUR", "2026-03-01", "1.10"),
        in_euros(order("o", "c", ts(2026, 3, 2, 0, 0), 10_000)),
    ])
    .await;
    let mut request = app.request(vec![metric("revenue")], march());
    request.reporting_currency = "USD".to_owned();
    let usd = app.compute(request.clone()).await;
    assert_eq!(
        money(usd.reports[0].total.as_ref().unwrap()),
        ("USD".to_owned(), 11_000)
    );
    request.reporting_currency = "JPY".to_owned();
    let status = app.try_compute(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status
            .message()
            .contains("no exchange rate path reaches JPY"),
        "{}",
        status.message()
    );
    // Without a base currency no currency without rates is reachable, USD included.
    app.set_settings(settings("", "", "", 0)).await;
    request.reporting_currency = "USD".to_owned();
    let status = app.try_compute(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status.message().contains("no base currency"),
        "{}",
        status.message()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn computations_on_every_replica_take_the_settings_at_once() {
    // Two replicas over one database. Orders of 100.00 EUR on 15 Jan, 20 Apr and 10 Jul 2026
    // (rate 1.25 USD from 1 Jan).
    let (mut first, url) = TestApp::spawn_with_database().await;
    let mut second = TestApp::spawn_on(&url, |_| {}).await;
    first
        .ingest(vec![
            rate("r", "EUR", "2026-01-01", "1.25"),
            in_euros(order("a", "c", ts(2026, 1, 15, 12, 0), 10_000)),
            in_euros(order("b", "c", ts(2026, 4, 20, 12, 0), 10_000)),
            in_euros(order("d", "c", ts(2026, 7, 10, 12, 0), 10_000)),
        ])
        .await;
    let year = window((2026, 1, 1), (2027, 1, 1));
    let mut request = second.request(vec![metric("revenue")], year);
    request.granularity = pb::Granularity::FiscalQuarter as i32;
    request.as_of = ts(2027, 1, 1, 0, 0);
    // Defaults: calendar quarters in UTC, amounts in their own currency.
    let before = second.compute(request.clone()).await;
    assert_eq!(before.time_zone, "UTC");
    assert_eq!(
        money(before.reports[0].total.as_ref().unwrap()),
        ("EUR".to_owned(), 30_000)
    );
    let starts = |response: &pb::ComputeMetricsResponse| -> Vec<i64> {
        response.reports[0]
            .series
            .iter()
            .map(|p| p.window.as_ref().unwrap().start.as_ref().unwrap().seconds)
            .collect()
    };
    assert_eq!(
        starts(&before),
        [(2026, 1, 1), (2026, 4, 1), (2026, 7, 1), (2026, 10, 1)]
            .map(|(y, m, d)| utc(y, m, d, 0, 0).timestamp())
    );
    // Written through the first replica, read at once by the second: reports in USD, in
    // New York time, fiscal quarters from February.
    first
        .set_settings(settings("USD", "USD", "America/New_York", 2))
        .await;
    let after = second.compute(request).await;
    assert_eq!(after.time_zone, "America/New_York");
    assert_eq!(
        money(after.reports[0].total.as_ref().unwrap()),
        ("USD".to_owned(), 37_500)
    );
    // Fiscal quarters of a year from February, in New York time: the window's start (midnight
    // UTC) to 1 Feb, Feb–Apr, May–Jul, Aug–Oct, Nov to the window's end; the orders fall in the
    // first, second and third.
    let new_york = |m: u32| utc(2026, m, 1, 5, 0).timestamp();
    assert_eq!(
        starts(&after),
        [
            utc(2026, 1, 1, 0, 0).timestamp(),
            new_york(2),
            utc(2026, 5, 1, 4, 0).timestamp(),
            utc(2026, 8, 1, 4, 0).timestamp(),
            utc(2026, 11, 1, 4, 0).timestamp(),
        ]
    );
    let amounts: Vec<i64> = after.reports[0]
        .series
        .iter()
        .map(|p| {
            let result = p.result.as_ref().unwrap();
            if result.value.is_some() {
                money(result).1
            } else {
                0
            }
        })
        .collect();
    assert_eq!(amounts, [12_500, 12_500, 12_500, 0, 0]);
    second.shutdown().await;
    first.shutdown().await;
}
