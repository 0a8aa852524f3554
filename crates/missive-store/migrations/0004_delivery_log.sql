-- The attempt log: one row per attempt to send a delivery, written in the same
-- transaction as the attempt's outcome (`Store::finish_deliveries`). Finished
-- deliveries and their payloads stay until `Store::prune_delivery_log` removes them
-- (older than the retention, or beyond the count kept per webhook), and their attempts
-- with them. `status` is the HTTP status, NULL when no answer came; `error` is then
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
-- Finished deliveries by age, for pruning them past the retention.
CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE state <> 0;
-- Whether a payload is still used by some delivery, once deliveries are pruned.
CREATE INDEX deliveries_by_payload ON deliveries (payload_id);
