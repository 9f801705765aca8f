"""Training records: create, rectify, cancel; full version history."""
