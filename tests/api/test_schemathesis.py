"""Schemathesis over the whole OpenAPI document, against the live server over real HTTP (SQLite
and PostgreSQL): every operation gets generated requests (positive and negative), authenticated
with a real token of a client with every scope acting for a seeded employer; path parameters name
the seeded objects three times in four so that the happy paths run too. Every response must: not
be a server error, have a documented status code, a documented content type and a body that
matches its schema; errors must be RFC 9457 problem details; a request that breaks the schema
(negative mode) is refused with a 4xx. Deterministic (derandomized), bounded (``MAX_EXAMPLES``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests import builders
from tests.api.conftest import Api, assert_problem, make_world, training_content

MAX_EXAMPLES = 15  # per operation and generation mode (positive, negative)


def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error answer is an RFC 9457 problem (the OAuth token endpoint answers RFC 6749 §5.2
    JSON errors instead, as documented in docs/api.md)."""
    if response.status_code < 400 or case.operation.path == "/oauth/token":
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type == "application/problem+json", (response.status_code, content_type)
    body = response.json()
    assert body["status"] == response.status_code, body
    assert body["type"] == f"urn:ila:problem:{body['code']}", body
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    problem_details,
]


@dataclass(frozen=True)
class Seeded:
    """Values that name real objects, per path parameter."""

    values: dict[str, list[Any]]


def _seed(api: Api) -> tuple[Seeded, dict[str, str]]:
    w = make_world(api.container)
    extra = builders.person(api.container, 20)
    builders.employ(api.container, extra, w.a, start=date(2024, 1, 1))
    headers = api.auth(api.register(w.a))
    rights = api.http.post(
        f"/api/v1/employers/{w.a}/rights",
        headers=headers,
        json={
            "year": 2024,
            "items": [{"national_number": w.worker_a, "days": "3", "reason": "policy"}],
        },
    )
    assert rights.status_code == 200, rights.text
    training = api.http.post(
        f"/api/v1/employers/{w.a}/trainings",
        headers=headers,
        json={
            "training": training_content(),
            "workers": [
                {"national_number": w.worker_a, "record_id": "seed/0"},
                {"national_number": extra, "record_id": "seed/1"},
            ],
        },
    )
    assert training.status_code == 200, training.text
    training_ids = [item["training_id"] for item in training.json()["items"]]
    seeded = Seeded(
        {
            # the client's own employer most often; another employer and an unknown one too
            "en": [w.a, w.a, w.a, w.b, w.unknown],
            "niss": [w.worker_a, extra, w.worker_b],
            "year": [2024, 2025, 2023],
            "training_id": training_ids,
            "mandate_id": [w.spare, w.mandate_b],
            "period_start": ["2024-01-01", "2025-01-01", "2024-04-01"],
        }
    )
    return seeded, headers


def _runner(
    operation: Any,
    seeded: Seeded,
    base_url: str,
    headers: dict[str, str],
    statuses: Counter[int],
    mode: GenerationMode,
) -> Callable[[], None]:
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        print_blob=False,
    )
    @given(case=operation.as_strategy(mode), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        for name in list(case.path_parameters or {}):
            # three times in four a real object, else what the schema generates
            if name in seeded.values and data.draw(st.integers(0, 3)) > 0:
                case.path_parameters[name] = data.draw(st.sampled_from(seeded.values[name]))
        checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS
        response = case.call_and_validate(base_url=base_url, headers=headers, checks=checks)
        statuses[response.status_code] += 1

    return run


def test_every_operation_conforms_to_the_openapi_document(
    api_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ILA_BATCH_SPOOL_DIR", str(tmp_path / "batches"))  # uploaded files
    # the longest token lifetime: on a loaded machine the run can outlast the default 300 s
    api: Api = api_factory(
        api_rate_per_second=1_000_000.0, api_rate_burst=1_000_000, api_token_ttl_seconds=3600
    )
    seeded, headers = _seed(api)
    schema = schemathesis.openapi.from_url(f"{api.base}/api/v1/openapi.json")
    failures: list[str] = []
    answered: dict[str, Counter[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        statuses = answered[operation.label] = Counter()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _runner(operation, seeded, f"{api.base}/api/v1", headers, statuses, mode)()
            except (AssertionError, BaseExceptionGroup) as exc:  # all failures, then report
                failures.append(f"{operation.label} ({mode.value}):\n{exc}")
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
    assert len(answered) >= 16
    # the seeded objects are reached: most operations answered a success at least once
    succeeded = [label for label, seen in answered.items() if any(s < 300 for s in seen)]
    assert len(succeeded) >= 10, answered


def test_a_path_with_a_newline_stays_in_the_api(api: Api) -> None:
    """Found by Schemathesis: an encoded newline in a path fell out of the ``/api/v1`` mount to
    the site's plain-JSON 404 instead of the API's problem details."""
    w = make_world(api.container)
    headers = api.auth(api.register(w.a))
    for path in ("/api/v1/employers/%0A/mandates", "/api/v1/nowhere%0A"):
        response = api.http.get(path, headers=headers)
        assert response.status_code in {404, 422}, response.text
        assert_problem(response, response.status_code)
