-- Low-credit warnings go out once per crossing: set when a member is warned, cleared when the balance recovers.
ALTER TABLE credit_balances ADD COLUMN low_warned INTEGER NOT NULL DEFAULT 0 CHECK (low_warned IN (0, 1));
