-- A notice that failed waits before its next try, longer each time, so a Discord outage of hours loses nothing.
ALTER TABLE outbox ADD COLUMN retry_at TEXT;
