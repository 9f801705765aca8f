"""The ``ila`` command line."""
