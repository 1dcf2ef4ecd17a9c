//! Unit tests of `startup`.

use super::*;

#[test]
fn tenant_currencies_are_pairs_of_tenant_and_code() {
    let parsed =
        parse_tenant_currencies(&["acme=EUR".to_owned(), " globex = USD ".to_owned()]).unwrap();
    assert_eq!(parsed.get("acme").map(Currency::as_str), Some("EUR"));
    assert_eq!(parsed.get("globex").map(Currency::as_str), Some("USD"));
    for bad in ["acme", "acme=eur", "=EUR", "acme=EURO"] {
        assert!(parse_tenant_currencies(&[bad.to_owned()]).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn the_global_request_limit_sheds_with_resource_exhausted() {
    use tower::{Service, ServiceExt};
    // The same stack as the server's layer, around a call that never finishes.
    let mut service = tower::ServiceBuilder::new()
        .load_shed()
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(1))
        .service_fn(|()| std::future::pending::<Result<(), tower::BoxError>>());
    let held = service.ready().await.unwrap().call(());
    let shed = service.ready().await.unwrap().call(()).await.unwrap_err();
    // The conversion tonic's server applies to an error of a layer.
    let status = tonic::Status::from_error(shed);
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    drop(held);
}
