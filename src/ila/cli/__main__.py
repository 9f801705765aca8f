"""``python -m ila.cli``."""

from ila.cli.main import app

app()
