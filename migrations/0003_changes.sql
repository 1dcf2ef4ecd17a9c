-- Freshness: per-tenant change sequences, rows stamped with the change that last wrote them, and
-- versioned tombstones for deleted records.
--
-- A tenant has a few change lanes (tenant_changes rows, one per lane). Every write transaction
-- (ingest, delete, erase) first advances the sequence of one lane, which takes that lane's row
-- lock until commit: writes on one lane commit in sequence order, while writers on other lanes
-- run concurrently. A reader that sees a lane at sequence S sees exactly that lane's changes
-- 1..S. Each row a transaction writes gets its (change_lane, change_seq); each record it deletes
-- leaves a tombstone with the deleted version and the change. A reader holding the tenant's
-- records as of the lane sequences C brings them to S by reading the rows and tombstones whose
-- change_seq is above C of their lane.

CREATE TABLE tenant_changes (
    tenant_id   text     NOT NULL,
    lane        smallint NOT NULL,
    change_seq  bigint   NOT NULL,
    PRIMARY KEY (tenant_id, lane)
);

CREATE TABLE tombstones (
    tenant_id    text     NOT NULL,
    kind         text     NOT NULL,
    id           text     NOT NULL,
    -- The version of the record when it was deleted: replays up to it are stale.
    version      bigint   NOT NULL,
    change_lane  smallint NOT NULL,
    change_seq   bigint   NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);
CREATE INDEX tombstones_change_idx ON tombstones (tenant_id, change_lane, change_seq);

ALTER TABLE customers ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX customers_change_idx ON customers (tenant_id, change_lane, change_seq);
ALTER TABLE leads ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX leads_change_idx ON leads (tenant_id, change_lane, change_seq);
ALTER TABLE deals ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX deals_change_idx ON deals (tenant_id, change_lane, change_seq);
ALTER TABLE orders ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX orders_change_idx ON orders (tenant_id, change_lane, change_seq);
ALTER TABLE subscriptions ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX subscriptions_change_idx ON subscriptions (tenant_id, change_lane, change_seq);
ALTER TABLE activities ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX activities_change_idx ON activities (tenant_id, change_lane, change_seq);
ALTER TABLE tickets ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX tickets_change_idx ON tickets (tenant_id, change_lane, change_seq);
ALTER TABLE survey_responses ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX survey_responses_change_idx ON survey_responses (tenant_id, change_lane, change_seq);
ALTER TABLE costs ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX costs_change_idx ON costs (tenant_id, change_lane, change_seq);
ALTER TABLE engagement_events ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX engagement_events_change_idx ON engagement_events (tenant_id, change_lane, change_seq);
ALTER TABLE crm_users ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX crm_users_change_idx ON crm_users (tenant_id, change_lane, change_seq);
ALTER TABLE user_events ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX user_events_change_idx ON user_events (tenant_id, change_lane, change_seq);
ALTER TABLE quotas ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX quotas_change_idx ON quotas (tenant_id, change_lane, change_seq);
ALTER TABLE exchange_rates ADD COLUMN change_lane smallint NOT NULL DEFAULT 0, ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX exchange_rates_change_idx ON exchange_rates (tenant_id, change_lane, change_seq);
