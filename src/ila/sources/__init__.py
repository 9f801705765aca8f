"""Authentic sources behind adapter interfaces (``typing.Protocol``), each with a deterministic
simulator used by the demo and the tests:

* :mod:`ila.sources.employment` — employment declarations (DmfA-like): employments with their
  work fractions, and the FTE each employer declared per quarter;
* :mod:`ila.sources.onem` — ONEM unemployment data (situation and allowance amounts) and ONEM
  career-break / time-credit counters.

:mod:`ila.sources.service` imports employment declarations into the platform's own tables;
:mod:`ila.sources.registry` chooses the adapters (today: the simulators)."""
