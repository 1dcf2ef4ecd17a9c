# Multi-stage build: compile in the Rust image (protoc ships inside a crate, no system protoc),
# run as non-root on distroless of the same Debian release (13, trixie) in both stages.
# The runtime image holds no PostgreSQL: set DATABASE_URL to the database to use.
# It listens on all interfaces, so it starts only with an authorization policy
# (CRM_METRICS_POLICY_FILE and an identity source, see the README) or with
# CRM_METRICS_ALLOW_OPEN_ACCESS=true.
# CI runs this builder stage's steps natively (scripts/check-container-build) and starts the
# binary they produce, since no Docker engine is at hand there.
FROM rust:1.95-trixie AS builder
WORKDIR /src
# No debug information and no symbols: 17 MB instead of 110 MB. (The profile used for
# profiling keeps line tables; the image does not need them.)
ENV CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_STRIP=symbols

# 1. Dependencies alone, from the workspace's manifests and placeholder sources: this layer is
#    rebuilt only when a Cargo.toml or Cargo.lock changes.
COPY Cargo.toml Cargo.lock ./
COPY api/Cargo.toml api/
COPY demo/Cargo.toml demo/
COPY engine/Cargo.toml engine/
COPY load/Cargo.toml load/
COPY testkit/Cargo.toml testkit/
RUN mkdir -p src api/src demo/src engine/src engine/benches load/src testkit/src \
 && echo 'fn main() {}' > src/main.rs \
 && echo 'fn main() {}' > api/build.rs \
 && echo 'fn main() {}' > engine/benches/metrics.rs \
 && echo 'fn main() {}' > load/src/main.rs \
 && touch src/lib.rs api/src/lib.rs demo/src/lib.rs engine/src/lib.rs load/src/lib.rs testkit/src/lib.rs \
 && cargo build --release --locked --bin crm-metrics \
 && rm -rf src api/src api/build.rs demo/src engine/src engine/benches load/src testkit/src

# 2. The service. Its sources are touched so cargo rebuilds over the placeholders whatever the
#    build context's file times are.
COPY proto proto
COPY migrations migrations
COPY api api
COPY demo demo
COPY engine engine
COPY load load
COPY testkit testkit
COPY src src
RUN touch api/build.rs api/src/lib.rs demo/src/lib.rs engine/src/lib.rs src/main.rs src/lib.rs \
 && cargo build --release --locked --bin crm-metrics

FROM gcr.io/distroless/cc-debian13:nonroot
COPY --from=builder /src/target/release/crm-metrics /usr/local/bin/crm-metrics
USER nonroot:nonroot
ENV CRM_METRICS_LISTEN=0.0.0.0:50051 \
    CRM_METRICS_ADMIN_LISTEN=0.0.0.0:9464 \
    CRM_METRICS_LOG_FORMAT=json
# 50051: gRPC and gRPC-Web. 9464: /livez, /readyz, /metrics.
EXPOSE 50051 9464
ENTRYPOINT ["/usr/local/bin/crm-metrics"]
