-- Kept computations: the inputs and result of a ComputeOnRecords call or of a ComputeMetrics call
-- with save = true, exactly as exchanged (encoded protobuf), plus the definition versions applied.
-- Nothing here is read by a metric.
CREATE TABLE computations (
    tenant_id           text        NOT NULL,
    id                  uuid        NOT NULL,
    created_at          timestamptz NOT NULL,
    source              text        NOT NULL CHECK (source IN ('tenant_data', 'inline_records')),
    request             bytea       NOT NULL,
    result              bytea       NOT NULL,
    definition_versions jsonb       NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
