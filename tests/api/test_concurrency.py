"""Concurrent requests on one database: every request writes (its audit rows at least), so on
SQLite they must queue for the write lock rather than fail with "database is locked"."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from ila.trainings.models import Training
from tests.api.conftest import Api, make_world, training_content


def test_concurrent_reads_and_writes_all_succeed(api: Api) -> None:
    w = make_world(api.container)
    headers = api.auth(api.register(w.a))
    posts = 24

    def post(n: int) -> int:
        body = {
            "items": [{**training_content(), "national_number": w.worker_a, "record_id": f"c-{n}"}]
        }
        with httpx.Client(base_url=api.base, timeout=60) as http:
            return http.post(
                f"/api/v1/employers/{w.a}/trainings",
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                json=body,
            ).status_code

    def read(_: int) -> int:
        with httpx.Client(base_url=api.base, timeout=60) as http:
            return http.get(
                f"/api/v1/employers/{w.a}/workers/{w.worker_a}/account",
                headers=headers,
                params={"year": 2024},
            ).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        writes = pool.map(post, range(posts))
        reads = pool.map(read, range(posts))
        statuses = list(writes) + list(reads)
    assert statuses == [200] * (2 * posts)
    with api.container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Training)) == posts
