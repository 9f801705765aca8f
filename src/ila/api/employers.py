"""An employer's workers, headcount per two-year period, and dashboard figures per year."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Security

from ila.access.audit import record_personal_data_access
from ila.access.domain import Caller, Scope
from ila.access.service import acting_for
from ila.accounts.service import MAX_PAGE, employer_dashboard, employer_headcount, employer_workers
from ila.api.problems import problem_responses, request_id_of
from ila.api.read_schemas import Dashboard, HeadcountOut, WorkerPage
from ila.api.rights import EnterpriseNumberPath
from ila.api.security import container_of, current_caller
from ila.api.transaction import request_transaction
from ila.db.base import utcnow

router = APIRouter(tags=["employers"])

_READ_ERRORS = problem_responses(401, 403, 404, 422, 429)
YearQuery = Annotated[int, Query(ge=2022, le=2100, description="Calendar year.", examples=[2024])]
AsOfQuery = Annotated[
    datetime | None, Query(description="The figures as recorded at this moment (default: now).")
]


def utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


@router.get(
    "/employers/{en}/workers",
    response_model=WorkerPage,
    summary="List the employer's workers (employments overlapping a year)",
    responses=_READ_ERRORS,
)
def list_workers(
    request: Request,
    en: EnterpriseNumberPath,
    year: YearQuery,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_WORKERS_READ])],
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="`next_cursor` of the previous page."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 50,
) -> Any:
    """One employment per item (a worker hired twice in the year appears twice), in a stable
    order; follow `next_cursor` until it is null."""
    with request_transaction(container_of(request)) as tx:
        acting = acting_for(
            tx.session, caller, en, at=utcnow(), scope=Scope.EMPLOYER_WORKERS_READ, field="en"
        )
        page = employer_workers(tx.session, acting.employer_id, year, cursor=cursor, limit=limit)
        record_personal_data_access(
            tx.session,
            caller=caller,
            acting=acting,
            action="workers.list",
            subjects={
                "national_numbers": [w["national_number"] for w in page["items"]],
                "year": year,
            },
            request_id=request_id_of(request),
        )
    return page


@router.get(
    "/employers/{en}/headcount/{period_start}",
    response_model=HeadcountOut,
    summary="Read the employer's headcount and band for a two-year period, with its derivation",
    responses=_READ_ERRORS,
)
def read_headcount(
    request: Request,
    en: EnterpriseNumberPath,
    period_start: Annotated[
        int,
        Path(
            ge=2022,
            le=2100,
            description="First year of the period (2022, 2024, …).",
            examples=[2024],
        ),
    ],
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_WORKERS_READ])],
) -> Any:
    """Average FTE over the reference quarters (Q4 two years before, Q1–Q3 of the year
    before), or the fallback when nothing was declared; a year that starts no period is a 422
    `invalid_period`."""
    with request_transaction(container_of(request)) as tx:
        acting = acting_for(
            tx.session, caller, en, at=utcnow(), scope=Scope.EMPLOYER_WORKERS_READ, field="en"
        )
        return employer_headcount(tx.session, tx.container.rules, acting.employer_id, period_start)


@router.get(
    "/employers/{en}/dashboard",
    response_model=Dashboard,
    summary="Read the employer's dashboard figures for a year",
    responses=_READ_ERRORS,
)
def read_dashboard(
    request: Request,
    en: EnterpriseNumberPath,
    year: YearQuery,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_RIGHTS_READ])],
    workers_limit: Annotated[
        int,
        Query(
            ge=1,
            le=1000,
            description="How many workers `by_worker` and "
            "`without_training` list at most (the totals count them all).",
        ),
    ] = 100,
    workers_offset: Annotated[
        int,
        Query(
            ge=0,
            le=10_000_000,
            description="Skip this many workers in `by_worker` and `without_training` "
            "(take it from `next_workers_offset`).",
        ),
    ] = 0,
    as_of: AsOfQuery = None,
) -> Any:
    """Entitlement, days carried in, used, balance and expiring days, summed over the workers
    employed in the year, per worker and per joint committee; days used per quarter; the
    workers who used nothing. Each amount exact and to two decimals."""
    with request_transaction(container_of(request)) as tx:
        acting = acting_for(
            tx.session, caller, en, at=utcnow(), scope=Scope.EMPLOYER_RIGHTS_READ, field="en"
        )
        figures = employer_dashboard(
            tx.session,
            tx.container.rules,
            acting.employer_id,
            year,
            as_of=utc(as_of),
            workers_limit=workers_limit,
            workers_offset=workers_offset,
        )
        record_personal_data_access(
            tx.session,
            caller=caller,
            acting=acting,
            action="dashboard.read",
            subjects={
                # the persons the answer names, by worker and without training
                "national_numbers": [
                    w["national_number"]
                    for w in [*figures["by_worker"], *figures["without_training"]]
                ],
                "year": year,
                "workers": figures["workers"],
            },
            request_id=request_id_of(request),
        )
    return figures
