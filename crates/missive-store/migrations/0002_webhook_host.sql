-- The receiving host of each webhook (`missive_core::receiver::host_key` of its URL),
-- so that the dispatcher can skip every webhook of a host at its concurrency cap in
-- the claim itself. Rows written before this column existed are filled in by
-- `Store::migrate`, which can parse URLs.
ALTER TABLE webhooks ADD COLUMN host TEXT NOT NULL DEFAULT '';

