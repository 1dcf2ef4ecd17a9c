# Multi-stage build: compile in the Rust image (protoc ships inside a crate, no system protoc),
# run as non-root on distroless of the same Debian release.
# The runtime image holds no PostgreSQL: set DATABASE_URL to the database to use.
# It listens on all interfaces, so it starts only with an authorization policy
# (CRM_METRICS_POLICY_FILE and an identity source, see the README) or with
# CRM_METRICS_ALLOW_OPEN_ACCESS=true.
FROM rust:1.95-trixie AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY engine engine
COPY proto proto
COPY migrations migrations
COPY src src
RUN cargo build --release --locked --bin crm-metrics

FROM gcr.io/distroless/cc-debian13:nonroot
COPY --from=builder /src/target/release/crm-metrics /usr/local/bin/crm-metrics
USER nonroot:nonroot
ENV CRM_METRICS_LISTEN=0.0.0.0:50051 \
    CRM_METRICS_LOG_FORMAT=json
EXPOSE 50051
ENTRYPOINT ["/usr/local/bin/crm-metrics"]
