"""Storage: metadata, portable column types, unit of work, migrations."""
