"""Routes whose authorisation is tested outside the employer model of ``test_authorization``.

``test_authorization`` runs one generic test over every employer-scoped route. Routes of other
audiences (institutions under a legal context, batch tickets of a sender, …) need their own
world; the module that tests their authorisation (no token → 401, wrong scope → 403, another
tenant's object → 404 like an unknown one, no write left behind) lists them here, by
(method, path template) → test module (path from the repository root). ``test_authorization``
checks that every route of the API is covered by one or the other, and that each module named
here exists and mentions its route."""

from __future__ import annotations

_EXCHANGE = "tests/api/test_exchange_authorization.py"

ELSEWHERE: dict[tuple[str, str], str] = {
    # ("GET", "/example/{id}"): "tests/api/test_example_authorization.py",
    ("POST", "/batches"): "tests/api/test_batch_api.py",
    ("GET", "/batches/{ticket}"): "tests/api/test_batch_api.py",
    ("GET", "/batches/{ticket}/result"): "tests/api/test_batch_api.py",
    ("GET", "/institutions/{en}/persons/{niss}/account"): _EXCHANGE,
    ("POST", "/institutions/{en}/trainings"): _EXCHANGE,
    ("GET", "/institutions/{en}/directory"): _EXCHANGE,
    ("POST", "/institutions/{en}/directory"): _EXCHANGE,
    ("POST", "/institutions/{en}/directory/{entry_id}/unregister"): _EXCHANGE,
    # a person's own data, with the person's access token from the OpenID provider (ADR 0018)
    ("GET", "/me/account"): "tests/api/test_person_api.py",
    ("GET", "/me/consultations"): "tests/api/test_person_api.py",
    ("POST", "/institutions/{en}/flows/fpie"): "tests/api/test_flows_api.py",
}
