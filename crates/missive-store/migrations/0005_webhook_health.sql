-- Endpoint health and secret rotation, on the webhook itself so that the recorder
-- updates them in the statement batch that records the outcomes.
-- The run of failed deliveries (none succeeding since): how many, and when the first ended.
ALTER TABLE webhooks ADD COLUMN consecutive_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN first_failure_at BIGINT;
-- Why and when the webhook was switched off automatically (`gone`, `failing`); NULL
-- when it was not, or was switched back on since.
ALTER TABLE webhooks ADD COLUMN disabled_reason TEXT;
ALTER TABLE webhooks ADD COLUMN disabled_at BIGINT;
-- The secret before the latest change, which still signs deliveries until
-- `previous_secret_until`, so receivers can switch without rejecting any.
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_until BIGINT;
