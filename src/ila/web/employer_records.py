"""The employer's records in the web interface: training rights (the employer's own value with
a reason, the computed one kept visible), the company's trainings with rectify, cancel and
history, XML batch upload with its progress and per-record results, and CSV/XLSX exports.

Built like :func:`ila.web.pages.build_router`: a full page or (HTMX) the fragment of the same
view, every form with its CSRF token, another company's number a 404 like an unknown one.
Changes call the same use cases as the API; each change and its audit rows commit together."""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request

from ila.access.domain import Acting
from ila.accounts.service import employer_dashboard
from ila.api.streaming import spooled_response
from ila.audit.service import record_personal_data_access
from ila.batch.config import BatchSettings
from ila.batch.models import Batch, BatchRecord
from ila.batch.result import write_result
from ila.batch.service import BATCH_SCOPES, Sender, find_batch, submit, view, work
from ila.bootstrap import Container
from ila.db.uow import SQLITE_BEGIN
from ila.employment.models import Employment
from ila.errors import DomainError, NotFound, ValidationError
from ila.identity.models import Person
from ila.identity.service import find_person
from ila.rights.models import RightVersion
from ila.rights.service import SetRight, set_rights
from ila.trainings.domain import Status
from ila.trainings.models import Training, TrainingVersion
from ila.trainings.service import (
    TrainingFilter,
    cancel_training,
    current_version,
    employer_trainings,
    history,
    owned_training,
    rectify_training,
    version_data,
)
from ila.web import auth
from ila.web.auth import WRITE_ROLES, WebUser
from ila.web.i18n import N_, Translator
from ila.web.pages import (
    Renderer,
    _employer_access,
    _form_date,
    _training_data,
    _user,
    _web_caller,
    _writer,
    _year,
    language_of,
)

RIGHTS_PAGE = 100
TRAININGS_PAGE = 50
RESULTS_PAGE = 100
EXPORT_CHUNK = 1000
MAX_SELECTION = 500
FILTERS = ("worker", "from", "to", "status", "cancelled")
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the CSRF field around the file
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = list[object]
OPERATION_MESSAGES = (
    N_("operation:create"),
    N_("operation:rectify"),
    N_("operation:cancel"),
    N_("batch:received"),
    N_("batch:validating"),
    N_("batch:processing"),
    N_("batch:done"),
    N_("batch:failed"),
    N_("record:accepted"),
    N_("record:unchanged"),
    N_("record:rejected"),
)
"""Words of the codes the pages show with ``t.code`` (history operations, batch states)."""
RIGHTS_COLUMNS = (
    N_("National number"),
    N_("Name"),
    N_("Joint committee"),
    N_("Entitlement"),
    N_("Carried over"),
    N_("Used"),
    N_("Balance"),
    N_("Expiring"),
    N_("Expires on"),
)
TRAINING_COLUMNS = (
    N_("Number"),
    N_("National number"),
    N_("Title"),
    N_("Provider"),
    N_("Start date"),
    N_("End date"),
    N_("Duration"),
    N_("Unit"),
    N_("Kind of training"),
    N_("Status"),
    N_("Counts toward the right"),
    N_("Source"),
    N_("Version"),
    N_("Cancelled"),
)
"""The exports' column headers, in the user's language."""


# --- helpers -------------------------------------------------------------------------------


@contextmanager
def _transaction(container: Container) -> Iterator[tuple[Session, Container]]:
    """One transaction for a change and its audit rows: the use case's units of work join it
    (each a savepoint), the audit is written in it, and it commits when the block ends."""
    with container.uow() as uow:
        connection = uow.session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        nested = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        yield uow.session, replace(container, session_factory=nested)
        uow.commit()


def _audit(
    session: Session,
    user: WebUser,
    en: str,
    employer_id: int,
    action: str,
    subjects: Mapping[str, object],
) -> None:
    record_personal_data_access(
        session,
        caller=_web_caller(user, en),
        acting=Acting(employer_id, en, None, frozenset()),
        action=action,
        subjects=subjects,
        request_id=f"web-{uuid.uuid4().hex}",
    )


def _form(raw: Any) -> dict[str, str]:
    return {k: str(v) for k, v in raw.items() if isinstance(v, str)}


def _int(raw: str | None, default: int = 0) -> int:
    try:
        return max(int(raw or default), 0)
    except ValueError:
        return default


def _name(given: str, family: str) -> str:
    return f"{given} {family}"


# --- training rights -------------------------------------------------------------------------


def rights_page(
    session: Session, employer_id: int, year: int, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The workers employed in ``year`` (by national number) with their current right: the
    computed value and the employer's own one (with its reason)."""
    employed = select(Employment.person_id).where(
        Employment.employer_id == employer_id,
        Employment.start_date <= date(year, 12, 31),
        or_(Employment.end_date.is_(None), Employment.end_date >= date(year, 1, 1)),
    )
    total = session.scalar(select(func.count()).where(Person.id.in_(employed))) or 0
    people = session.execute(
        select(Person.id, Person.national_number, Person.given_name, Person.family_name)
        .where(Person.id.in_(employed))
        .order_by(Person.national_number)
        .offset(offset)
        .limit(limit)
    ).all()
    rights = {
        r.person_id: r
        for r in session.scalars(
            select(RightVersion).where(
                RightVersion.employer_id == employer_id,
                RightVersion.year == year,
                RightVersion.superseded_at.is_(None),
                RightVersion.person_id.in_([p.id for p in people]),
            )
        )
    }
    rows = []
    for pid, number, given, family in people:
        right = rights.get(pid)
        rows.append(
            {
                "national_number": number,
                "name": _name(given, family),
                "computed": right.computed_days if right else None,
                "set": right.set_days if right else None,
                "reason": right.set_reason if right else None,
                "effective": right.effective_days if right else None,
                "version": right.version if right else None,
            }
        )
    return rows, total


def _selection(raw: Any) -> list[str]:
    chosen = [str(v) for v in raw.getlist("worker") if isinstance(v, str)]
    typed = str(raw.get("workers") or "").split()
    return list(dict.fromkeys(n.strip() for n in [*chosen, *typed] if n.strip()))


# --- exports ---------------------------------------------------------------------------------


def _safe_text(value: str) -> str:
    """A text a spreadsheet would run as a formula is kept as text (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_cell(value: object, t: Translator) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return t.gettext("yes") if value else t.gettext("no")
    if isinstance(value, Decimal | int | float):
        return str(value).replace(".", ",")  # the decimal comma of Belgian Excel
    if isinstance(value, date):
        return value.isoformat()
    return _safe_text(str(value))


def csv_stream(header: list[str], chunks: Iterator[list[Row]], t: Translator) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark and ``;`` between fields, as Excel in Belgium reads it."""
    buffer = io.StringIO()
    out = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    out.writerow(header)
    yield ("\ufeff" + buffer.getvalue()).encode()
    for rows in chunks:
        buffer.seek(0)
        buffer.truncate()
        out.writerows([_csv_cell(c, t) for c in row] for row in rows)
        yield buffer.getvalue().encode()


def xlsx_stream(
    title: str, header: list[str], chunks: Iterator[list[Row]], t: Translator
) -> Iterator[bytes]:
    """A write-only workbook (rows are written out as they come, not kept), then sent in
    blocks from a spooled file."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(header)
    for rows in chunks:
        for row in rows:
            cells: list[object] = []
            for value in row:
                if isinstance(value, bool):
                    cells.append(t.gettext("yes") if value else t.gettext("no"))
                elif isinstance(value, str):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"  # never a formula
                    cells.append(cell)
                else:
                    cells.append(value)
            sheet.append(cells)
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as out:
        book.save(out)
        out.seek(0)
        while block := out.read(1 << 16):
            yield block


def _download(
    fmt: str, name: str, header: list[str], chunks: Iterator[list[Row]], t: Translator
) -> Response:
    if fmt == "csv":
        body, media = csv_stream(header, chunks, t), "text/csv; charset=utf-8"
    else:
        body = xlsx_stream(name, header, chunks, t)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def _check_format(fmt: str) -> None:
    if fmt not in ("csv", "xlsx"):
        raise NotFound("no such export format", field="format")


# --- trainings -------------------------------------------------------------------------------


def _training_filter(session: Session, query: Mapping[str, str]) -> TrainingFilter:
    person_id = None
    if query.get("worker", "").strip():
        try:
            person_id = find_person(session, query["worker"].strip()).id
        except NotFound:
            person_id = -1  # nobody: an empty list, whether or not the person exists elsewhere
    status = query.get("status", "")
    if status and status not in {s.value for s in Status}:
        raise ValidationError("unknown status", field="status", code="unknown_code")
    return TrainingFilter(
        person_id=person_id,
        start=_form_date(dict(query), "from") if query.get("from") else None,
        end=_form_date(dict(query), "to") if query.get("to") else None,
        status=Status(status) if status else None,
        include_cancelled=query.get("cancelled") == "1",
    )


def _training_row(t: Training, v: TrainingVersion, number: str) -> dict[str, Any]:
    return {
        "id": t.id,
        "national_number": number,
        "title": v.title,
        "provider": v.provider,
        "start_date": v.start_date,
        "end_date": v.end_date,
        "duration": v.duration_value,
        "unit": v.duration_unit,
        "nature": v.nature,
        "status": v.status,
        "counts": v.counts_toward_right,
        "source": t.source,
        "version": v.version,
        "cancelled": v.cancelled,
    }


def _rectify_form(v: TrainingVersion) -> dict[str, str]:
    return {
        "title": v.title,
        "provider": v.provider or "",
        "start_date": v.start_date.isoformat(),
        "end_date": v.end_date.isoformat(),
        "duration": format(v.duration_value.normalize(), "f"),
        "unit": v.duration_unit,
        "nature": v.nature,
        "status": v.status,
        "version": str(v.version),
    }


# --- the router ------------------------------------------------------------------------------


def build_router(container: Container, render: Renderer) -> APIRouter:  # noqa: PLR0915
    router = APIRouter()

    # --- training rights ---------------------------------------------------------------------

    def _rights(
        request: Request, en: str, year: int, offset: int, status: int = 200, **extra: Any
    ) -> Response:
        user = _user(request)
        employer_id, role = _employer_access(container, user, en)
        with container.uow() as uow:
            rows, total = rights_page(uow.session, employer_id, year, offset, RIGHTS_PAGE)
            _audit(
                uow.session,
                user,
                en,
                employer_id,
                "rights.read",
                {"national_numbers": [r["national_number"] for r in rows], "year": year},
            )
            uow.commit()
        return render(
            request,
            "records_rights.html",
            status=status,
            en=en,
            year=year,
            rows=rows,
            total=total,
            offset=offset,
            page=RIGHTS_PAGE,
            can_write=role in WRITE_ROLES,
            **extra,
        )

    @router.get("/employer/{en}/rights", response_class=HTMLResponse)
    def rights(request: Request, en: str, year: str | None = None, offset: str = "0") -> Response:
        return _rights(request, en, _year(year), _int(offset))

    @router.post("/employer/{en}/rights", response_class=HTMLResponse)
    async def set_worker_rights(request: Request, en: str) -> Response:
        user = _user(request)
        raw = await request.form()
        auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
        employer_id = _writer(container, user, en)
        form = _form(raw)
        year = _year(form.get("year"))
        numbers = _selection(raw)
        if not numbers or len(numbers) > MAX_SELECTION:
            error = ValidationError("choose workers", field="workers", code="workers_required")
            return _rights(request, en, year, 0, status=422, error=error, form=form)
        days_text = form.get("days", "").strip().replace(",", ".")
        items = [SetRight(n, year, days_text or None, form.get("reason", "")) for n in numbers]
        with _transaction(container) as (session, inner):
            results = set_rights(inner, enterprise_number=en, items=items, actor=user.actor)
            changed = [numbers[r.index] for r in results if r.status == "accepted"]
            _audit(
                session,
                user,
                en,
                employer_id,
                "rights.write",
                {"national_numbers": changed, "year": year},
            )
        outcome = [
            {"national_number": numbers[r.index], "status": r.status, "error": r.error}
            for r in results
        ]
        rejected = all(r.status == "rejected" for r in results)
        return _rights(
            request, en, year, 0, status=422 if rejected else 200, results=outcome, form=form
        )

    # --- trainings ---------------------------------------------------------------------------

    @router.get("/employer/{en}/trainings", response_class=HTMLResponse)
    def trainings(request: Request, en: str) -> Response:
        user = _user(request)
        employer_id, role = _employer_access(container, user, en)
        query = dict(request.query_params)
        after = _int(query.get("after")) or None
        items: list[dict[str, Any]] = []
        error = None
        more = False
        with container.uow() as uow:
            try:
                where = _training_filter(uow.session, query)
            except DomainError as exc:
                error = exc
            else:
                found = employer_trainings(
                    uow.session, employer_id, where, after_id=after, limit=TRAININGS_PAGE + 1
                )
                items = [_training_row(t, v, n) for t, v, n in found[:TRAININGS_PAGE]]
                more = len(found) > TRAININGS_PAGE
                _audit(
                    uow.session,
                    user,
                    en,
                    employer_id,
                    "trainings.list",
                    {"national_numbers": [i["national_number"] for i in items]},
                )
                uow.commit()
        filters: dict[str, str] = {k: query[k] for k in FILTERS if k in query}
        next_link = None
        if more:
            next_link = "?" + urlencode({**filters, "after": str(items[-1]["id"])})
        return render(
            request,
            "records_trainings.html",
            status=400 if error else 200,
            en=en,
            items=items,
            filters=filters,
            query=urlencode(filters),
            next_link=next_link,
            first_page=after is not None,
            error=error,
            can_write=role in WRITE_ROLES,
        )

    def _training_page(
        request: Request, en: str, training_id: int, status: int = 200, **extra: Any
    ) -> Response:
        user = _user(request)
        employer_id, role = _employer_access(container, user, en)
        with container.uow() as uow:
            training = owned_training(uow.session, training_id, employer_id)
            versions = history(uow.session, training_id)
            number = uow.session.get_one(Person, training.person_id).national_number
            _audit(
                uow.session,
                user,
                en,
                employer_id,
                "trainings.history",
                {"national_number": number, "training_id": training_id},
            )
            uow.commit()
        current = versions[-1]
        extra.setdefault("form", _rectify_form(current))
        return render(
            request,
            "records_training.html",
            status=status,
            en=en,
            training=training,
            national_number=number,
            current=current,
            versions=list(reversed(versions)),
            can_write=role in WRITE_ROLES and not current.cancelled,
            **extra,
        )

    @router.get("/employer/{en}/trainings/{training_id:int}", response_class=HTMLResponse)
    def training(request: Request, en: str, training_id: int, done: str = "") -> Response:
        return _training_page(request, en, training_id, done=done)

    async def _change(
        request: Request, en: str, training_id: int
    ) -> tuple[WebUser, int, dict[str, str]]:
        user = _user(request)
        raw = await request.form()
        auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
        employer_id = _writer(container, user, en)
        with container.uow() as uow:
            owned_training(uow.session, training_id, employer_id)
        return user, employer_id, _form(raw)

    def _refused(
        request: Request, en: str, training_id: int, exc: DomainError, **extra: Any
    ) -> Response:
        status = 409 if exc.code in ("stale_version", "already_cancelled") else 422
        return _training_page(request, en, training_id, status=status, error=exc, **extra)

    def _audit_change(
        session: Session, user: WebUser, en: str, employer_id: int, training_id: int, action: str
    ) -> None:
        """The change of one of the company's trainings, for its worker's audit trail."""
        training = owned_training(session, training_id, employer_id)
        number = session.get_one(Person, training.person_id).national_number
        _audit(
            session,
            user,
            en,
            employer_id,
            action,
            {"national_number": number, "training_id": training_id},
        )

    @router.post("/employer/{en}/trainings/{training_id:int}/rectify")
    async def rectify(request: Request, en: str, training_id: int) -> Response:
        user, employer_id, form = await _change(request, en, training_id)
        try:
            with _transaction(container) as (session, inner):
                current = current_version(session, training_id)
                typed = _training_data(form, certificate=True)
                data = replace(
                    version_data(current),
                    title=typed.title,
                    provider=typed.provider,
                    start_date=typed.start_date,
                    end_date=typed.end_date,
                    duration_value=typed.duration_value,
                    duration_unit=typed.duration_unit,
                    nature=typed.nature,
                    status=typed.status,
                )
                rectify_training(
                    inner.uow(),
                    training_id,
                    actor=user.actor,
                    reason=form.get("reason", ""),
                    data=data,
                    expected_version=_int(form.get("version"), -1),
                )
                _audit_change(session, user, en, employer_id, training_id, "trainings.rectify")
        except DomainError as exc:
            # the person's input is kept in the form; the history shows what changed meanwhile
            return _refused(request, en, training_id, exc, form=form)
        return RedirectResponse(
            f"/employer/{en}/trainings/{training_id}?done=rectified", status_code=303
        )

    @router.post("/employer/{en}/trainings/{training_id:int}/cancel")
    async def cancel(request: Request, en: str, training_id: int) -> Response:
        user, employer_id, form = await _change(request, en, training_id)
        try:
            with _transaction(container) as (session, inner):
                cancel_training(
                    inner.uow(),
                    training_id,
                    actor=user.actor,
                    reason=form.get("cancel_reason", ""),
                    expected_version=_int(form.get("version"), -1),
                )
                _audit_change(session, user, en, employer_id, training_id, "trainings.cancel")
        except DomainError as exc:
            return _refused(request, en, training_id, exc, cancel_reason=form.get("cancel_reason"))
        return RedirectResponse(
            f"/employer/{en}/trainings/{training_id}?done=cancelled", status_code=303
        )

    # --- XML batches -------------------------------------------------------------------------

    def _batches(request: Request, en: str, status: int = 200, **extra: Any) -> Response:
        user = _user(request)
        _, role = _employer_access(container, user, en)
        with container.uow() as uow:
            recent = [
                view(b)
                for b in uow.session.scalars(
                    select(Batch)
                    .where(Batch.sender == en)
                    .order_by(Batch.received_at.desc(), Batch.id.desc())
                    .limit(20)
                )
            ]
        return render(
            request,
            "records_batches.html",
            status=status,
            en=en,
            recent=recent,
            max_bytes=BatchSettings().max_file_bytes,
            can_write=role in WRITE_ROLES,
            **extra,
        )

    @router.get("/employer/{en}/batches", response_class=HTMLResponse)
    def batches(request: Request, en: str) -> Response:
        return _batches(request, en)

    @router.post("/employer/{en}/batches")
    async def upload(request: Request, en: str) -> Response:
        user = _user(request)
        _writer(container, user, en)
        settings = BatchSettings()
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > settings.max_file_bytes + FORM_OVERHEAD:
            too_large = ValidationError(
                f"the file is larger than the limit of {settings.max_file_bytes} bytes",
                field="file",
                code="file_too_large",
            )
            return _batches(request, en, status=413, error=too_large)
        raw = await request.form(max_files=1, max_fields=5)
        try:
            auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
            upload = raw.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ValidationError("choose a file", field="file", code="file_required")
            sender = Sender(en, user.actor, BATCH_SCOPES, "web")
            try:
                batch = await run_in_threadpool(
                    submit,
                    container,
                    settings,
                    upload.file,
                    file_name=upload.filename,
                    sender=sender,
                )
            except DomainError as exc:
                return _batches(request, en, status=409, error=exc)
        finally:
            await raw.close()
        background = BackgroundTasks()
        if container.settings.is_sqlite and not batch.final and not batch.duplicate:
            background.add_task(work, container, settings)  # in-process on SQLite, as the API
        return RedirectResponse(
            f"/employer/{en}/batches/{batch.ticket}" + ("?duplicate=1" if batch.duplicate else ""),
            status_code=303,
            background=background,
        )

    @router.get("/employer/{en}/batches/{ticket}", response_class=HTMLResponse)
    def batch(
        request: Request, en: str, ticket: str, after: str = "0", duplicate: str = ""
    ) -> Response:
        user = _user(request)
        _employer_access(container, user, en)
        start = _int(after)
        with container.uow() as uow:
            found = find_batch(uow.session, ticket, en)
            state = view(found)
            results = []
            if state.final:
                results = list(
                    uow.session.scalars(
                        select(BatchRecord)
                        .where(BatchRecord.batch_id == found.id, BatchRecord.seq > start)
                        .order_by(BatchRecord.seq)
                        .limit(RESULTS_PAGE + 1)
                    )
                )
        more = len(results) > RESULTS_PAGE
        results = results[:RESULTS_PAGE]
        return render(
            request,
            "records_batch.html",
            fragment="records_batch_status.html",
            en=en,
            batch=state,
            results=results,
            next_after=results[-1].seq if more else None,
            paged=start > 0,
            duplicate=duplicate == "1",
        )

    @router.get("/employer/{en}/batches/{ticket}/result.xml")
    def batch_result(request: Request, en: str, ticket: str) -> Response:
        _employer_access(container, _user(request), en)
        out = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed by the response
        try:
            with container.uow() as uow:
                write_result(uow.session, find_batch(uow.session, ticket, en), out)
        except BaseException:
            out.close()
            raise
        return spooled_response(
            out,
            "application/xml",
            {"content-disposition": f'attachment; filename="result-{ticket}.xml"'},
        )

    # --- exports -----------------------------------------------------------------------------

    @router.get("/employer/{en}/exports/rights.{fmt}")
    def export_rights(request: Request, en: str, fmt: str, year: str | None = None) -> Response:
        _check_format(fmt)
        user = _user(request)
        employer_id, _ = _employer_access(container, user, en)
        y = _year(year)
        t = Translator(language_of(request))

        def chunks() -> Iterator[list[Row]]:
            offset = 0
            while True:
                with container.uow() as uow:
                    data = employer_dashboard(
                        uow.session,
                        container.rules,
                        employer_id,
                        y,
                        workers_limit=EXPORT_CHUNK,
                        workers_offset=offset,
                    )
                    rows = data["by_worker"]
                    _audit(
                        uow.session,
                        user,
                        en,
                        employer_id,
                        "rights.read",
                        {
                            "national_numbers": [w["national_number"] for w in rows],
                            "year": y,
                            "export": fmt,
                        },
                    )
                    uow.commit()
                yield [_rights_row(w) for w in rows]
                if len(rows) < EXPORT_CHUNK:
                    return
                offset += EXPORT_CHUNK

        header = [t.gettext(h) for h in RIGHTS_COLUMNS]
        return _download(fmt, f"ila-rights-{en}-{y}", header, chunks(), t)

    @router.get("/employer/{en}/exports/trainings.{fmt}")
    def export_trainings(request: Request, en: str, fmt: str) -> Response:
        _check_format(fmt)
        user = _user(request)
        employer_id, _ = _employer_access(container, user, en)
        t = Translator(language_of(request))
        with container.uow() as uow:
            where = _training_filter(uow.session, dict(request.query_params))

        def chunks() -> Iterator[list[Row]]:
            after: int | None = None
            while True:
                with container.uow() as uow:
                    found = employer_trainings(
                        uow.session, employer_id, where, after_id=after, limit=EXPORT_CHUNK
                    )
                    _audit(
                        uow.session,
                        user,
                        en,
                        employer_id,
                        "trainings.list",
                        {"national_numbers": [n for _, _, n in found], "export": fmt},
                    )
                    uow.commit()
                yield [_trainings_row(_training_row(tr, v, n), t) for tr, v, n in found]
                if len(found) < EXPORT_CHUNK:
                    return
                after = found[-1][0].id

        header = [t.gettext(h) for h in TRAINING_COLUMNS]
        return _download(fmt, f"ila-trainings-{en}", header, chunks(), t)

    return router


def _rights_row(w: dict[str, Any]) -> Row:
    return [
        w["national_number"],
        w["name"],
        w["joint_committee"],
        *(Decimal(w[k]["days"]) for k in ("entitlement", "carried_in", "used", "balance")),
        Decimal(w["expiring"]["days"]),
        w["expires_on"],
    ]


def _trainings_row(r: dict[str, Any], t: Translator) -> Row:
    return [
        r["id"],
        r["national_number"],
        r["title"],
        r["provider"],
        r["start_date"],
        r["end_date"],
        r["duration"],
        t.gettext("hours") if r["unit"] == "hours" else t.gettext("days"),
        t.code("nature", r["nature"]),
        t.code("status", r["status"]),
        r["counts"],
        t.code("source", r["source"]),
        r["version"],
        r["cancelled"],
    ]


def install(app: FastAPI, container: Container, render: Renderer) -> None:
    app.include_router(build_router(container, render))
