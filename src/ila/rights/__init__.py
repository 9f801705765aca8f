"""The training-right engine (rules as versioned data) and the rights ledger."""
