"""Scheduled jobs: the platform's periodic work (webhook delivery, audit checkpoints, retention),
claimed through the database so any number of schedulers may run (docs/operations.md)."""
