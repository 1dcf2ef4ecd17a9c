//! gRPC-Web over HTTP/1.1 on the gRPC port, as a browser sends it, and CORS for the configured
//! origins.

use crate::helpers::*;

fn socket_address(app: &TestApp) -> std::net::SocketAddr {
    app.address
        .trim_start_matches("http://")
        .parse()
        .expect("the service address")
}

fn preflight(origin: &str) -> String {
    format!(
        "OPTIONS /crm.metrics.v1.MetricsService/ListMetrics HTTP/1.1\r\nHost: localhost\r\n\
         Origin: {origin}\r\nAccess-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: content-type,x-grpc-web,x-tenant-id\r\n\
         Connection: close\r\n\r\n"
    )
}

#[tokio::test]
async fn a_grpc_web_call_over_http1_is_answered_with_grpc_web_trailers() {
    let app = TestApp::spawn().await;
    // An empty ListMetricsRequest: one uncompressed frame of length 0.
    let request =
        b"POST /crm.metrics.v1.MetricsService/ListMetrics HTTP/1.1\r\nHost: localhost\r\n\
        Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: 5\r\n\
        Connection: close\r\n\r\n\0\0\0\0\0";
    let response = http_exchange(socket_address(&app), request).await;
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/grpc-web+proto"),
        "{text}"
    );
    // The catalog is in the message, and the status in the trailer frame of the body.
    assert!(text.contains("win_rate"), "{text}");
    assert!(text.contains("grpc-status:0"), "{text}");
}

#[tokio::test]
async fn cors_preflights_are_answered_for_configured_origins_only() {
    let app = TestApp::spawn_with(|config| {
        config.grpc_web_origins = vec!["https://app.example.com".to_owned()];
    })
    .await;
    let allowed = http_exchange(
        socket_address(&app),
        preflight("https://app.example.com").as_bytes(),
    )
    .await;
    let allowed = String::from_utf8_lossy(&allowed).to_ascii_lowercase();
    assert!(allowed.starts_with("http/1.1 200"), "{allowed}");
    assert!(
        allowed.contains("access-control-allow-origin: https://app.example.com"),
        "{allowed}"
    );
    assert!(allowed.contains("x-tenant-id"), "{allowed}");

    let other = http_exchange(
        socket_address(&app),
        preflight("https://evil.example.org").as_bytes(),
    )
    .await;
    let other = String::from_utf8_lossy(&other).to_ascii_lowercase();
    assert!(!other.contains("access-control-allow-origin"), "{other}");
}

#[tokio::test]
async fn without_configured_origins_no_cors_is_answered() {
    let app = TestApp::spawn().await;
    let response = http_exchange(
        socket_address(&app),
        preflight("https://app.example.com").as_bytes(),
    )
    .await;
    let response = String::from_utf8_lossy(&response).to_ascii_lowercase();
    assert!(
        !response.contains("access-control-allow-origin"),
        "{response}"
    );
}
