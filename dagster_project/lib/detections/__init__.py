"""Detection records (the collectors' contract) on their way into raw: hashing, state split, storage."""
