-- Freshness: a per-tenant change sequence, rows stamped with the change that last wrote them,
-- and versioned tombstones for deleted records.
--
-- Every write transaction (ingest, delete, erase) first advances its tenant's change_seq in
-- tenant_changes, which takes the tenant's row lock until commit: writes of one tenant commit in
-- sequence order, so a reader that sees sequence S sees exactly the changes 1..S. Each row a
-- transaction writes gets that transaction's change_seq; each record it deletes leaves a
-- tombstone with the deleted version and the change_seq. A reader holding the tenant's records
-- as of sequence C brings them to S by reading the rows and tombstones with change_seq > C.

CREATE TABLE tenant_changes (
    tenant_id   text   NOT NULL PRIMARY KEY,
    change_seq  bigint NOT NULL
);

CREATE TABLE tombstones (
    tenant_id   text   NOT NULL,
    kind        text   NOT NULL,
    id          text   NOT NULL,
    -- The version of the record when it was deleted: replays up to it are stale.
    version     bigint NOT NULL,
    change_seq  bigint NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);
CREATE INDEX tombstones_change_seq_idx ON tombstones (tenant_id, change_seq);

ALTER TABLE customers ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX customers_change_seq_idx ON customers (tenant_id, change_seq);
ALTER TABLE leads ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX leads_change_seq_idx ON leads (tenant_id, change_seq);
ALTER TABLE deals ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX deals_change_seq_idx ON deals (tenant_id, change_seq);
ALTER TABLE orders ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX orders_change_seq_idx ON orders (tenant_id, change_seq);
ALTER TABLE subscriptions ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX subscriptions_change_seq_idx ON subscriptions (tenant_id, change_seq);
ALTER TABLE activities ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX activities_change_seq_idx ON activities (tenant_id, change_seq);
ALTER TABLE tickets ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX tickets_change_seq_idx ON tickets (tenant_id, change_seq);
ALTER TABLE survey_responses ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX survey_responses_change_seq_idx ON survey_responses (tenant_id, change_seq);
ALTER TABLE costs ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX costs_change_seq_idx ON costs (tenant_id, change_seq);
ALTER TABLE engagement_events ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX engagement_events_change_seq_idx ON engagement_events (tenant_id, change_seq);
ALTER TABLE crm_users ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX crm_users_change_seq_idx ON crm_users (tenant_id, change_seq);
ALTER TABLE user_events ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX user_events_change_seq_idx ON user_events (tenant_id, change_seq);
ALTER TABLE quotas ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX quotas_change_seq_idx ON quotas (tenant_id, change_seq);
ALTER TABLE exchange_rates ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX exchange_rates_change_seq_idx ON exchange_rates (tenant_id, change_seq);
