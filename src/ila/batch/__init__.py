"""The XML batch channel (issue 4): a published schema, streaming ingest through the same use
cases as the API, per-record results, idempotent and crash-safe processing. Guide:
docs/batch.md."""
