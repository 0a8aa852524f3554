-- The attempt log: one row per attempt to send a delivery, written in the same
-- transaction as the attempt's outcome (`Store::finish_deliveries`). Finished
-- deliveries and their payloads stay until `Store::prune_delivery_log` removes them
-- (older than the retention, or beyond the count kept per webhook), and their attempts
-- with them. A redelivery gets a copy of its payload, so that a payload lives exactly
-- as long as the deliveries of one event (or one redelivery). `status` is the HTTP status, NULL when no answer came; `error` is then
-- the network error class (refused, timeout, dns, tls, blocked, other).
CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    webhook_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    status BIGINT,
    error TEXT,
    response_head TEXT,
    next_retry_at BIGINT,
    PRIMARY KEY (delivery_id, attempt)
);
-- A webhook's deliveries newest first (the log's listing and the per-webhook cap).
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
-- No index by age: deliveries and payloads are pruned by id, whose `aidx` form starts
-- with the creation time. Every index on `deliveries` costs each delivery a write, and
-- the two more tried here (finish time, payload) cost a fifth of the fan-out throughput.
