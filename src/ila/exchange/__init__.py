"""Data exchange with the regions and the authorised flows (issue 6, points 1-4):
authorisations as versioned data, the person directory, the legal context of every exchange,
the exchange API's filtering, and the trainings the regional services send."""
