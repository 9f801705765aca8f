"""ila: the open Individual Learning Account platform."""

__version__ = "0.1.0"
