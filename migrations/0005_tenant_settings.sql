-- A tenant's settings (TenantService): the currency its exchange rates convert into, the
-- defaults its computations use, its fiscal calendar. A tenant without a row uses the service's
-- defaults. `version` starts at 1 and grows by one with every update: it is the etag, and a
-- computation reads it with the tenant's change position in one statement, so a replica sees a
-- new version at once and fetches the row only then. Empty text means "not set".
CREATE TABLE tenant_settings (
    tenant_id               text        PRIMARY KEY,
    version                 bigint      NOT NULL,
    base_currency           text        NOT NULL,
    reporting_currency      text        NOT NULL,
    time_zone               text        NOT NULL,
    fiscal_year_start_month smallint    NOT NULL CHECK (fiscal_year_start_month BETWEEN 1 AND 12),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
