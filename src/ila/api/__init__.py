"""The public REST API, ``/api/v1``: a versioned contract with one error format."""
