-- One table per record kind of `crm-metrics-engine::records`.
--
-- Conventions (see src/storage/):
-- * every table carries tenant_id and every primary key / index starts with it, so the schema can
--   be distributed by tenant_id (Citus) unchanged; no sequences, nothing cross-tenant;
-- * id is the caller's own id; version drives last-writer-wins upserts; content_fingerprint is
--   `Record::content_fingerprint()` and tells an UPDATED upsert from an UNCHANGED one;
-- * money is integer minor units plus an ISO 4217 code; enums are lower_snake text with CHECKs;
-- * attributes holds the caller's custom string fields; every field a metric reads is a column;
-- * an index on (tenant_id, <timestamp>) exists for every engine `TimeField`, because reads are
--   tenant + time-range scans.

CREATE TABLE customers (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    name                 text,
    email                text,
    phone                text,
    acquired_time        timestamptz NOT NULL,
    churned_time         timestamptz,
    acquisition_channel  text,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX customers_acquired_time_idx ON customers (tenant_id, acquired_time);

CREATE TABLE leads (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    created_time         timestamptz NOT NULL,
    source               text,
    owner_id             text,
    qualified_time       timestamptz,
    converted_time       timestamptz,
    customer_id          text,
    disqualified_time    timestamptz,
    first_response_time  timestamptz,
    name                 text,
    email                text,
    phone                text,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX leads_created_time_idx ON leads (tenant_id, created_time);
-- Erasure finds a customer's leads.
CREATE INDEX leads_customer_id_idx ON leads (tenant_id, customer_id);

CREATE TABLE deals (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    created_time         timestamptz NOT NULL,
    owner_id             text,
    amount_minor         bigint      NOT NULL,
    amount_currency      text        NOT NULL CHECK (amount_currency ~ '^[A-Z]{3}$'),
    status               text        NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    closed_time          timestamptz,
    stage                text        NOT NULL,
    probability_percent  integer     CHECK (probability_percent BETWEEN 0 AND 100),
    deal_type            text        NOT NULL
        CHECK (deal_type IN ('new_business', 'upsell', 'cross_sell', 'renewal')),
    lead_id              text,
    customer_id          text,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX deals_created_time_idx ON deals (tenant_id, created_time);
CREATE INDEX deals_closed_time_idx ON deals (tenant_id, closed_time);

-- A deal's stage_history, one row per entry, in order. No foreign key to deals: storage rewrites
-- the entries of a deal in the same transaction as the deal row, and a foreign key would have to
-- be co-located under Citus anyway.
CREATE TABLE deal_stage_entries (
    tenant_id     text        NOT NULL,
    deal_id       text        NOT NULL,
    position      integer     NOT NULL CHECK (position >= 0),
    stage         text        NOT NULL,
    entered_time  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, deal_id, position)
);

CREATE TABLE orders (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    customer_id          text        NOT NULL,
    amount_minor         bigint      NOT NULL,
    amount_currency      text        NOT NULL CHECK (amount_currency ~ '^[A-Z]{3}$'),
    cost_minor           bigint,
    cost_currency        text        CHECK (cost_currency ~ '^[A-Z]{3}$'),
    ordered_time         timestamptz NOT NULL,
    fulfilled_time       timestamptz,
    kind                 text        NOT NULL
        CHECK (kind IN ('new', 'repeat', 'upsell', 'cross_sell', 'renewal', 'other')),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- A cost is either fully present or absent.
    CHECK ((cost_minor IS NULL) = (cost_currency IS NULL))
);
CREATE INDEX orders_ordered_time_idx ON orders (tenant_id, ordered_time);
CREATE INDEX orders_fulfilled_time_idx ON orders (tenant_id, fulfilled_time);

CREATE TABLE subscriptions (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    customer_id          text        NOT NULL,
    mrr_minor            bigint      NOT NULL,
    mrr_currency         text        NOT NULL CHECK (mrr_currency ~ '^[A-Z]{3}$'),
    start_time           timestamptz NOT NULL,
    end_time             timestamptz,
    trial                boolean     NOT NULL,
    renewal_due_time     timestamptz,
    renewal_outcome      text
        CHECK (renewal_outcome IN ('pending', 'renewed', 'not_renewed')),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX subscriptions_start_time_idx ON subscriptions (tenant_id, start_time);

CREATE TABLE activities (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    activity_type        text        NOT NULL
        CHECK (activity_type IN ('call', 'email', 'meeting', 'task', 'note', 'data_entry', 'other')),
    direction            text        NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    occurred_time        timestamptz NOT NULL,
    duration_seconds     bigint,
    lead_id              text,
    deal_id              text,
    customer_id          text,
    owner_id             text,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX activities_occurred_time_idx ON activities (tenant_id, occurred_time);

CREATE TABLE tickets (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    customer_id          text,
    created_time         timestamptz NOT NULL,
    first_response_time  timestamptz,
    resolved_time        timestamptz,
    assignee_id          text,
    channel              text        NOT NULL,
    -- u32 in the domain: bigint holds every value losslessly.
    contact_count        bigint      NOT NULL CHECK (contact_count BETWEEN 0 AND 4294967295),
    reopened             boolean     NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tickets_created_time_idx ON tickets (tenant_id, created_time);
CREATE INDEX tickets_resolved_time_idx ON tickets (tenant_id, resolved_time);

CREATE TABLE survey_responses (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    survey_type          text        NOT NULL CHECK (survey_type IN ('nps', 'csat', 'ces')),
    score                integer     NOT NULL,
    scale_min            integer     NOT NULL,
    scale_max            integer     NOT NULL,
    direction            text        NOT NULL
        CHECK (direction IN ('higher_is_better', 'lower_is_better')),
    responded_time       timestamptz NOT NULL,
    customer_id          text        NOT NULL,
    ticket_id            text,
    channel              text,
    comment              text,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX survey_responses_responded_time_idx ON survey_responses (tenant_id, responded_time);
-- Erasure finds a customer's survey responses.
CREATE INDEX survey_responses_customer_id_idx ON survey_responses (tenant_id, customer_id);

CREATE TABLE costs (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    category             text        NOT NULL
        CHECK (category IN ('acquisition_marketing', 'acquisition_sales', 'retention',
                            'crm_investment', 'other')),
    channel              text,
    amount_minor         bigint      NOT NULL,
    amount_currency      text        NOT NULL CHECK (amount_currency ~ '^[A-Z]{3}$'),
    incurred_time        timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX costs_incurred_time_idx ON costs (tenant_id, incurred_time);

CREATE TABLE engagement_events (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    customer_id          text        NOT NULL,
    event_type           text        NOT NULL
        CHECK (event_type IN ('email_open', 'email_click', 'web_visit', 'social', 'loyalty',
                              'product_usage')),
    occurred_time        timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX engagement_events_occurred_time_idx ON engagement_events (tenant_id, occurred_time);

CREATE TABLE crm_users (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    role                 text        NOT NULL
        CHECK (role IN ('sales', 'support', 'marketing', 'admin', 'other')),
    team                 text,
    licensed             boolean     NOT NULL,
    created_time         timestamptz NOT NULL,
    deactivated_time     timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE user_events (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    user_id              text        NOT NULL,
    kind                 text        NOT NULL CHECK (kind IN ('login', 'feature_use')),
    feature              text,
    occurred_time        timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX user_events_occurred_time_idx ON user_events (tenant_id, occurred_time);

CREATE TABLE quotas (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    owner_id             text        NOT NULL,
    period_start         timestamptz NOT NULL,
    period_end           timestamptz NOT NULL,
    amount_minor         bigint      NOT NULL,
    amount_currency      text        NOT NULL CHECK (amount_currency ~ '^[A-Z]{3}$'),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX quotas_period_start_idx ON quotas (tenant_id, period_start);

CREATE TABLE exchange_rates (
    tenant_id            text        NOT NULL,
    id                   text        NOT NULL,
    version              bigint      NOT NULL,
    content_fingerprint  bigint      NOT NULL,
    attributes           jsonb       NOT NULL DEFAULT '{}',
    currency             text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    date                 date        NOT NULL,
    rate_units           bigint      NOT NULL,
    -- u32 in the domain: bigint holds every value losslessly.
    rate_scale           bigint      NOT NULL CHECK (rate_scale BETWEEN 0 AND 4294967295),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- Rate lookups go by currency and date.
CREATE INDEX exchange_rates_currency_date_idx ON exchange_rates (tenant_id, currency, date);
