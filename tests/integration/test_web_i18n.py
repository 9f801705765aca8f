"""The four catalogues are complete: every message the web code and templates use (extracted
with babel.cfg, as ``pybabel extract`` does) has a translation in fr, nl, de and en, and the
placeholders of each translation are those of its message."""

from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from ila.web.i18n import LANGUAGES, Translator, catalogue, pick_language

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _msgids() -> set[str]:
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)  # type: ignore[no-untyped-call]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords={"_": None, "gettext": None, "N_": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


MSGIDS = _msgids()


def test_extraction_finds_the_messages() -> None:
    assert len(MSGIDS) > 100
    assert "My learning account" in MSGIDS  # a template message
    assert "source:person" in MSGIDS  # a code's words, marked with N_


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_has_a_translation(language: str) -> None:
    translated = catalogue(language)
    missing = sorted(m for m in MSGIDS if not translated.get(m))
    assert missing == []
    wrong = [
        m for m in MSGIDS if set(PLACEHOLDER.findall(m)) != set(PLACEHOLDER.findall(translated[m]))
    ]
    assert wrong == []


def test_languages_differ_where_they_should() -> None:
    titles = {Translator(lang).gettext("My learning account") for lang in LANGUAGES}
    assert len(titles) == 4


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        ("nl", "de-BE,de;q=0.9", "nl"),
        (None, "de-BE,de;q=0.9", "de"),
        ("xx", "en-GB, fr;q=0.5", "en"),
        (None, "es-ES", "fr"),
        (None, None, "fr"),
        (None, " , ", "fr"),
    ],
)
def test_pick_language(cookie: str | None, header: str | None, expected: str) -> None:
    assert pick_language(cookie, header) == expected


def test_formats_follow_the_language() -> None:
    from datetime import date, datetime

    assert Translator("fr").number("1234.5") == "1\u202f234,5"
    assert Translator("en").number("1234.5") == "1,234.5"
    assert Translator("nl").date(date(2025, 3, 2)) == "2 mrt 2025"
    assert Translator("de").date(None) == ""
    assert "2025" in Translator("en").date(datetime(2025, 3, 2, 10, 0, tzinfo=UTC))
    assert Translator("en").code("source", "person") == "self-declared"
    assert Translator("en").code("action", "unknown.thing_done") == "unknown.thing done"
