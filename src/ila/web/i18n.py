"""The four languages of the web interface: catalogues read from the shipped ``.po`` files
(no compile step), the language of a request (cookie, then ``Accept-Language``) and
locale-aware formatting of dates and amounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = ("fr", "nl", "de", "en")
DEFAULT_LANGUAGE = "fr"
LANGUAGE_NAMES = {"fr": "Français", "nl": "Nederlands", "de": "Deutsch", "en": "English"}
LANGUAGE_COOKIE = "ila_lang"
LOCALES_DIR = Path(__file__).parent / "locales"


def N_(message: str) -> str:  # noqa: N802 - the extraction keyword gettext tools know
    """Marks a message for extraction where it is translated later (a code's words)."""
    return message


CODE_MESSAGES = (
    N_("source:employer"),
    N_("source:provider"),
    N_("source:region"),
    N_("source:person"),
    N_("status:planned"),
    N_("status:followed"),
    N_("status:not_followed"),
    N_("nature:formal_internal"),
    N_("nature:formal_external"),
    N_("nature:informal"),
    N_("role:access_admin"),
    N_("role:administrator"),
    N_("role:editor"),
    N_("role:viewer"),
    N_("mandate:social_secretariat"),
    N_("mandate:software_vendor"),
    N_("mandate:training_provider"),
    N_("action:right.read"),
    N_("action:right.set"),
    N_("action:workers.list"),
    N_("action:dashboard.read"),
    N_("action:account.read"),
    N_("action:training.create"),
    N_("action:training.read"),
    N_("action:training.history"),
    N_("action:training.list"),
    N_("action:training.rectify"),
    N_("action:training.cancel"),
    N_("action:training.verify"),
    N_("band:lt10"),
    N_("band:10to19"),
    N_("band:ge20"),
    N_("method:average"),
    N_("method:fallback_first_quarter"),
    N_("method:none"),
)


@cache
def catalogue(language: str) -> dict[str, str]:
    """msgid → msgstr of one language (only translated, non-fuzzy entries)."""
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        cat = read_po(f, locale=language)
    return {
        str(m.id): str(m.string)
        for m in cat
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return str(cookie)
    if accept_language:
        wanted = [
            part.split(";")[0].strip().replace("-", "_")
            for part in accept_language.split(",")
            if part.strip()
        ]
        found = negotiate_locale(wanted, list(LANGUAGES), sep="_")
        if found:
            return found.split("_")[0]
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Translator:
    """What templates use: ``_()`` and the locale's formats."""

    language: str

    def gettext(self, message: str, **values: object) -> str:
        text = catalogue(self.language).get(message, message)
        return text % values if values else text

    def code(self, kind: str, value: str) -> str:
        """A code (source, status, role...) in words; the code itself when it has none."""
        return catalogue(self.language).get(f"{kind}:{value}", value.replace("_", " "))

    def date(self, value: date | datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return format_datetime(value, "medium", locale=Locale.parse(self.language))
        return format_date(value, "medium", locale=Locale.parse(self.language))

    def number(self, value: str | Decimal | float | int) -> str:
        return format_decimal(Decimal(str(value)), "#,##0.##", locale=Locale.parse(self.language))
