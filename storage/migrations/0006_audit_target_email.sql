-- The target account's email, apart from its label: entries posted to the audit channel name accounts by username
-- and id only, and show the email only where staff read privately (or when AUDIT_CHANNEL_SHOWS_EMAILS is on).
-- Entries written before this migration keep their "username <email>" labels.
ALTER TABLE audit_log ADD COLUMN target_email TEXT;
