"""Identities: national numbers (NISS/BIS), enterprise numbers, persons and employers."""
