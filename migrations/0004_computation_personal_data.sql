-- Personal data of the records a kept ComputeOnRecords computation was given (contact fields of
-- customers and leads, survey comments) is kept here, beside the request, not inside its encoded
-- bytes: EraseCustomer deletes a customer's rows with one statement, and GetComputation puts what
-- remains back into the records it returns. customer_id is the customer the value belongs to
-- (a customer's own id, a lead's converted customer, a survey's customer), NULL when none.
CREATE TABLE computation_personal_data (
    tenant_id      text    NOT NULL,
    computation_id uuid    NOT NULL,
    record_index   integer NOT NULL,
    field          text    NOT NULL,
    customer_id    text,
    value          text    NOT NULL,
    PRIMARY KEY (tenant_id, computation_id, record_index, field),
    FOREIGN KEY (tenant_id, computation_id) REFERENCES computations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX computation_personal_data_customer_idx
    ON computation_personal_data (tenant_id, customer_id);

-- Kept computations expire after the retention period (--computation-retention-seconds); the
-- sweep that deletes them looks them up by age.
CREATE INDEX computations_created_idx ON computations (created_at);
