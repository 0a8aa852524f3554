-- The delivery log. Finished deliveries stay in `deliveries` (with their payloads)
-- until `Store::prune_delivery_log` removes them: older than the retention (by id,
-- whose `aidx` form starts with the creation time), or beyond the count kept per
-- webhook. A redelivery gets a copy of its payload, so that a payload lives exactly as
-- long as the deliveries of one event (or one redelivery).
--
-- Each attempt is a line of JSON appended to `attempt_log` by the same statement of
-- `Store::finish_deliveries` that records its outcome. A table of attempts, tried
-- first, cost each attempt a row and a key index entry on the single SQLite writer:
-- with an index by webhook it took a fifth of the fan-out throughput.
ALTER TABLE deliveries ADD COLUMN attempt_log TEXT;
-- A webhook's deliveries newest first (the log's listing and the per-webhook cap).
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
