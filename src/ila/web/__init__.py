"""HTTP entrypoint (FastAPI). The public API and the web interface grow here."""
