-- Whether a kept computation's personal data is kept apart (computation_personal_data) rather
-- than inside its encoded request. Computations kept before that was done, or by an older
-- replica during a rolling upgrade, are false: the service moves their personal data out before
-- it serves (and again with every retention sweep), so EraseCustomer reaches it. Computations
-- over the tenant's data carry no records and so no personal data.
ALTER TABLE computations ADD COLUMN personal_kept_apart boolean NOT NULL DEFAULT false;
UPDATE computations c SET personal_kept_apart = true
WHERE c.source = 'tenant_data'
   OR EXISTS (SELECT 1 FROM computation_personal_data p
              WHERE p.tenant_id = c.tenant_id AND p.computation_id = c.id);
CREATE INDEX computations_personal_not_apart_idx ON computations (tenant_id, id)
    WHERE NOT personal_kept_apart;
