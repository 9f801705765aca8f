"""Response bodies of the read resources: an employer's workers, headcount and dashboard, and
a worker's account (the employer's part)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from ila.api.schemas import Days, EmployerRef, PersonRef


class Amount(BaseModel):
    """A sum over employers whose working days differ: no days-hours text."""

    exact: str = Field(description="Exact value as a fraction.", examples=["10/3"])
    days: str = Field(description="Rounded to two decimals.", examples=["3.33"])


# --- workers --------------------------------------------------------------------------------


class Worker(BaseModel):
    """One employment of the employer overlapping the year."""

    employment_id: int
    national_number: str
    name: str
    start_date: date
    end_date: date | None
    end_reason: str | None
    joint_committee: str = Field(examples=["200"])
    work_fraction: str | None = Field(
        description="Work fraction (Q/S) in force today, or on the last day of the year or of "
        "the employment when earlier.",
        examples=["0.8"],
    )


class WorkerPage(BaseModel):
    year: int
    items: list[Worker]
    next_cursor: str | None = Field(
        description="Send as `cursor` for the next page; null on the last page."
    )


# --- headcount ------------------------------------------------------------------------------


class Quarter(BaseModel):
    year: int
    quarter: int


class Fte(BaseModel):
    exact: str = Field(examples=["79/2"])
    value: str = Field(description="Rounded to two decimals.", examples=["39.50"])


class HeadcountOut(BaseModel):
    """An employer's average FTE for a two-year period, its band and how it was obtained."""

    period_start: int
    period: list[int] = Field(description="First and last year of the period.")
    fte: Fte
    band: str = Field(examples=["ge20"])
    method: str = Field(examples=["average"])
    reference_quarters: list[Quarter]
    quarters_used: list[Quarter]
    derivation: dict[str, Any]


# --- dashboard ------------------------------------------------------------------------------


class Figures(BaseModel):
    entitlement: Days
    carried_in: Days
    used: Days
    balance: Days
    expiring: Days = Field(description="Days lost at the end of the year or at departure.")


class WorkerFigures(Figures):
    national_number: str
    name: str
    joint_committee: str
    expires_on: date | None
    departure: str | None


class CommitteeFigures(Figures):
    joint_committee: str
    workers: int


class QuarterUse(BaseModel):
    quarter: int = Field(ge=1, le=4)
    used: Days


class Dashboard(BaseModel):
    """An employer's figures for one year (the ledger year of each worker employed in it)."""

    employer: EmployerRef
    year: int
    as_of: datetime | None
    workers: int
    totals: Figures
    by_worker: list[WorkerFigures] = Field(
        description="`workers_limit` workers by national number, from `workers_offset`."
    )
    by_worker_total: int
    by_joint_committee: list[CommitteeFigures]
    used_per_quarter: list[QuarterUse] = Field(
        description="Days of followed, counting trainings, by the quarter in which they ended."
    )
    without_training: list[PersonRef] = Field(description="Workers who used no day this year.")
    without_training_total: int
    workers_offset: int = Field(description="Where `by_worker` and `without_training` start.")
    next_workers_offset: int | None = Field(
        description="Pass as `workers_offset` for the next page of both lists; null on the last."
    )


# --- account --------------------------------------------------------------------------------


class AccountPart(Figures):
    """The person's account with one employer, for the year."""

    employer: EmployerRef
    year: int
    recorded: bool = Field(description="False when nothing is recorded yet for the year.")
    expires_on: date
    departure: str | None


class AccountTraining(BaseModel):
    id: int
    title: str
    provider: str | None
    start_date: date
    end_date: date
    duration_value: str
    duration_unit: str
    duration_minutes: int
    nature: str
    status: str
    source: str
    employer: str | None = Field(description="Enterprise number it was recorded for.")
    counts_toward_right: bool
    not_counting_reason: str | None
    certificate: str | None
    certificate_valid_until: date | None
    version: int


class Totals(BaseModel):
    entitlement: Amount
    carried_in: Amount
    used: Amount
    balance: Amount
    expiring: Amount


class Account(BaseModel):
    """A person's learning account: per employer, consolidated, and the trainings (newest
    first). Through the employer resource, only that employer's part."""

    person: PersonRef
    year: int
    as_of: datetime | None
    employers: list[AccountPart]
    totals: Totals
    trainings: list[AccountTraining]
