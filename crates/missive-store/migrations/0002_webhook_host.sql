-- The receiving host of each webhook (`missive_core::receiver::host_key` of its URL),
-- so that the dispatcher can skip every webhook of a host at its concurrency cap in
-- the claim itself. Rows written before this column existed are filled in by
-- `Store::migrate`, which can parse URLs.
ALTER TABLE webhooks ADD COLUMN host TEXT NOT NULL DEFAULT '';

-- Claims that skip webhooks or hosts reach the due deliveries of the others through
-- this index, a range of `due_at` per webhook (see `ClaimSkip::pending_sql`).
DROP INDEX deliveries_pending_by_webhook;
CREATE INDEX deliveries_pending_by_webhook ON deliveries (webhook_id, due_at) WHERE state = 0;
