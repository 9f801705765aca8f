"""The audit trail: who read or changed a person's data through the API, for whom, when."""
