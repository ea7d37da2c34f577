-- "Credits will run out" warnings: each account's recent falls in balance (its bills), as JSON
-- [[unix_seconds, "amount"], ...], and whether its member was warned at the current rate. Cleared when a reading
-- that is not a bill shows the balance covering more than CREDIT_WARNING_DAYS again.
ALTER TABLE credit_balances ADD COLUMN falls TEXT NOT NULL DEFAULT '[]';
ALTER TABLE credit_balances ADD COLUMN runout_warned INTEGER NOT NULL DEFAULT 0 CHECK (runout_warned IN (0, 1));
