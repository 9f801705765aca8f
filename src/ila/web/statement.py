"""The PDF statement of the person's learning account (issue 5, point 5): every employer's
entitlement, carried-over, used, balance and expiring days with a line explaining each, the
trainings and certificates with their source and status, in the language the person chooses.

Built with fpdf2; the text is set in Lato (SIL OFL, from the ``font-lato`` package), embedded
and subset, so the accented letters of the four languages render in any reader. Numbers and
dates use the locale helpers of :mod:`ila.web.i18n`. The download is a read of the person's own
data: it is written to the audit trail in the same transaction as the read."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from starlette.requests import Request

import ila
from ila.access.domain import BELGIAN_TIME
from ila.accounts.service import person_account
from ila.audit.service import PLATFORM, record_event
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.errors import NotFound, UnknownCode
from ila.web import auth, contests, pages
from ila.web.i18n import LANGUAGES, N_, Translator

FONT = "Lato"
MEDIA_TYPE = "application/pdf"
AUDIT_RESOURCE = "account"
AUDIT_ACTION = "statement"
CODE_MESSAGES = (N_("action:account.statement"),)
"""How the download appears under "who consulted my data"."""

_NARROW_NBSP = "\u202f"  # Babel's French thousands separator; Lato has no glyph for it


@cache
def _font_file(style: str) -> str:
    return str(resources.files("font_lato").joinpath("files", f"Lato-{style}.ttf"))


class _Statement(FPDF):
    def __init__(self, t: Translator, footer: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.t = t
        self.footer_text = footer
        self.add_font(FONT, "", _font_file("Regular"))
        self.add_font(FONT, "B", _font_file("Bold"))
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_lang(t.language)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.footer_text, align="L")
        self.set_x(self.l_margin)
        page = self.t.gettext("Page %(page)s of %(pages)s", page=self.page_no(), pages="{nb}")
        self.cell(0, 5, page, align="R")
        self.set_text_color(0, 0, 0)

    def line_of(self, text: str, size: float = 10, style: str = "", height: float = 5.5) -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str, size: float = 13) -> None:
        self.ln(3)
        self.line_of(text, size, "B", height=7)
        self.ln(1)


def _clean(text: object) -> str:
    return str(text).replace(_NARROW_NBSP, "\u00a0")


def build_statement(
    account: dict[str, Any],
    language: str,
    *,
    issued_at: datetime,
    recorded_on: datetime,
    contested: set[int] | frozenset[int] = frozenset(),
) -> bytes:
    """The statement of ``account`` (a :func:`ila.accounts.service.person_account` result) as
    PDF bytes, in ``language``."""
    t = Translator(language)
    _ = t.gettext
    footer = _clean(
        f"ila {ila.__version__} · {_('Statement of the learning account')} · "
        f"{account['person']['name']}"
    )
    pdf = _Statement(t, footer)
    pdf.set_title(_("Statement of the learning account"))
    pdf.set_author("ila")
    pdf.set_creator(f"ila {ila.__version__}")
    pdf.set_creation_date(issued_at)
    pdf.add_page()
    pdf.line_of(_("Individual Learning Account"), 9)
    pdf.line_of(f"{_('Statement of the learning account')} — {account['year']}", 17, "B", 9)
    pdf.ln(2)
    _facts(pdf, t, account, issued_at, recorded_on)
    _rights(pdf, t, account)
    _trainings(pdf, t, account, contested)
    return bytes(pdf.output())


def _days(t: Translator, amount: dict[str, str]) -> str:
    return _clean(t.gettext("%(days)s days", days=t.number(amount["days"])))


def _facts(
    pdf: _Statement,
    t: Translator,
    account: dict[str, Any],
    issued_at: datetime,
    recorded_on: datetime,
) -> None:
    _ = t.gettext
    facts = (
        (_("Full name"), account["person"]["name"]),
        (_("National number"), account["person"]["national_number"]),
        (_("Date of issue"), t.date(issued_at.astimezone(BELGIAN_TIME))),
        (_("As recorded on"), t.date(recorded_on.astimezone(BELGIAN_TIME))),
        (_("Platform version"), f"ila {ila.__version__}"),
    )
    pdf.set_font(FONT, "", 10)
    with pdf.table(
        col_widths=(55, 119),
        first_row_as_headings=False,
        line_height=6,
        text_align="LEFT",
        borders_layout="NONE",
    ) as table:
        for label, value in facts:
            row = table.row()
            row.cell(_clean(label))
            row.cell(_clean(value))


def _rights(pdf: _Statement, t: Translator, account: dict[str, Any]) -> None:
    """Per employer: the five figures, each with the line that explains it."""
    _ = t.gettext
    pdf.heading(_("My training rights in %(year)s", year=account["year"]))
    if not account["employers"]:
        pdf.line_of(_("No employer has an account for you this year."))
    for part in account["employers"]:
        employer = part["employer"]
        pdf.line_of(f"{employer['name']} ({employer['enterprise_number']})", 11, "B", height=7)
        expires = t.date(part["expires_on"])
        lines = (
            (
                _("Entitlement"),
                part["entitlement"],
                _(
                    "The days this employer owes you this year, computed from the law or "
                    "the sector agreement."
                ),
            ),
            (
                _("Carried over"),
                part["carried_in"],
                _("Days not used in earlier years of the same five-year period."),
            ),
            (
                _("Used"),
                part["used"],
                _("Trainings followed this year that count toward the right."),
            ),
            (_("Balance"), part["balance"], _("Entitlement plus carried over minus used.")),
            (
                _("Expiring"),
                part["expiring"],
                _("Days lost if not used by %(date)s, the end of the period.", date=expires),
            ),
        )
        pdf.set_font(FONT, "", 9.5)
        with pdf.table(
            col_widths=(34, 28, 112),
            line_height=5.5,
            first_row_as_headings=False,
            text_align="LEFT",
        ) as table:
            for label, amount, why in lines:
                row = table.row()
                row.cell(_clean(label))
                row.cell(_days(t, amount), align="RIGHT")
                row.cell(_clean(why))
        if not part["recorded"]:
            pdf.line_of(_("Not recorded yet for this year."), 9)
        pdf.ln(2)
    if len(account["employers"]) > 1:
        total = _days(t, account["totals"]["balance"])
        pdf.line_of(f"{_('All employers')}: {_('balance')} {total}", 11, "B")


def _trainings(
    pdf: _Statement, t: Translator, account: dict[str, Any], contested: set[int] | frozenset[int]
) -> None:
    """Every training and certificate, with its source and status."""
    _ = t.gettext
    pdf.heading(_("My trainings and certificates"))
    if not account["trainings"]:
        pdf.line_of(_("No training recorded."))
        return
    pdf.set_font(FONT, "", 9.5)
    with pdf.table(col_widths=(44, 62, 30, 38), line_height=5, text_align="LEFT") as table:
        head = table.row()
        for title in (_("Dates"), _("Title"), _("Source"), _("Status")):
            head.cell(_clean(title))
        for tr in account["trainings"]:
            row = table.row()
            row.cell(_clean(f"{t.date(tr['start_date'])} – {t.date(tr['end_date'])}"))
            what = tr["title"] + (f" · {tr['provider']}" if tr["provider"] else "")
            if tr["certificate"]:
                what += f"\n{_('Certificate')}: {tr['certificate']}"
            row.cell(_clean(what))
            row.cell(_clean(t.code("source", tr["source"])))
            status = [t.code("status", tr["status"])]
            if not tr["counts_toward_right"]:
                status.append(_("Does not count toward the right"))
            if tr["id"] in contested:
                status.append(_("Contested"))
            row.cell(_clean("\n".join(status)))


def _year(raw: str | None) -> int:
    try:
        year = int(raw) if raw else utcnow().year
    except ValueError:
        year = utcnow().year
    return min(max(year, 2022), 2100)


def build_router(container: Container) -> APIRouter:
    router = APIRouter()

    @router.get("/account/statement.pdf")
    def statement(request: Request, year: str | None = None, lang: str | None = None) -> Response:
        user = auth.current_user(request)
        if user is None:
            raise pages.LoginRequired
        if not user.national_number:
            raise NotFound("this login has no learning account", field="national_number")
        language = lang or pages.language_of(request)
        if language not in LANGUAGES:
            raise UnknownCode(f"lang must be one of {', '.join(LANGUAGES)}", field="lang")
        y = _year(year)
        now = utcnow()
        with container.uow() as uow:
            # the person is the logged-in one: no identifier in the address to change
            account = person_account(uow.session, user.national_number, y, rules=container.rules)
            ids = [tr["id"] for tr in account["trainings"]]
            contested = contests.open_contests_of(uow.session, ids)
            record_event(
                uow.session,
                actor=user.actor,
                action=AUDIT_ACTION,
                resource=AUDIT_RESOURCE,
                request_id=f"web-{uuid.uuid4().hex}",
                details={"year": y, "language": language, "format": "pdf"},
                organisation=PLATFORM,
                subject_national_number=user.national_number,
            )
            uow.commit()
        body = build_statement(
            account, language, issued_at=now, recorded_on=now, contested=contested
        )
        name = f"ila-statement-{y}-{language}.pdf"
        return Response(
            body,
            media_type=MEDIA_TYPE,
            headers={
                "content-disposition": f'attachment; filename="{name}"',
                "cache-control": "no-store",
            },
        )

    return router
