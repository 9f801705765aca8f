"""Pure identifier rules. Checksums come from python-stdnum, never hand-written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from stdnum.be import bis, nn, vat
from stdnum.exceptions import ValidationError as StdnumError

from ila.errors import InvalidEnterpriseNumber, InvalidJointCommittee, InvalidNationalNumber


class NumberKind(StrEnum):
    NISS = "niss"  # national register number
    BIS = "bis"  # Crossroads Bank register number


@dataclass(frozen=True, slots=True)
class NationalNumber:
    """A validated NISS or BIS number, stored as 11 digits."""

    value: str
    kind: NumberKind

    @classmethod
    def parse(cls, raw: object, *, field: str = "national_number") -> NationalNumber:
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidNationalNumber("a national number (NISS or BIS) is required", field=field)
        found = _national_number(raw)
        if isinstance(found, NationalNumber):
            return found
        if found == "digits":
            raise InvalidNationalNumber(
                f"{raw!r} is not a national number: 11 digits expected", field=field
            )
        raise InvalidNationalNumber(
            f"{raw!r} is not a valid NISS or BIS number (checksum or date)", field=field
        )

    def formatted(self) -> str:
        v = self.value
        return f"{v[0:2]}.{v[2:4]}.{v[4:6]}-{v[6:9]}.{v[9:11]}"

    def __str__(self) -> str:
        return self.value


@lru_cache(maxsize=65_536)
def _national_number(raw: str) -> NationalNumber | str:
    """The number, or why it is not one ("digits", "checksum"): remembered, since the same
    numbers come again and again (and the checks cost more than a look-up)."""
    digits = nn.compact(raw)
    if not digits.isdigit() or len(digits) != 11:
        return "digits"
    for kind, module in ((NumberKind.NISS, nn), (NumberKind.BIS, bis)):
        try:
            return NationalNumber(module.validate(digits), kind)
        except StdnumError:
            continue
    return "checksum"


@dataclass(frozen=True, slots=True)
class EnterpriseNumber:
    """A validated Belgian enterprise number (KBO/BCE), stored as 10 digits."""

    value: str

    @classmethod
    def parse(cls, raw: object, *, field: str = "enterprise_number") -> EnterpriseNumber:
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidEnterpriseNumber("an enterprise number is required", field=field)
        found = _enterprise_number(raw)
        if found is None:
            raise InvalidEnterpriseNumber(
                f"{raw!r} is not a valid enterprise number (10 digits, checksum mod 97)",
                field=field,
            )
        return found

    def formatted(self) -> str:
        v = self.value
        return f"{v[0:4]}.{v[4:7]}.{v[7:10]}"

    def __str__(self) -> str:
        return self.value


_JC_PATTERN = re.compile(r"^\d{3}(\.\d{2}){0,2}$")


@dataclass(frozen=True, slots=True)
class JointCommittee:
    """A joint-committee code (PC/CP): ``200``, ``124``, ``225.01``, ``305.02.09``."""

    code: str

    @classmethod
    def parse(cls, raw: object, *, field: str = "joint_committee") -> JointCommittee:
        text = raw.strip() if isinstance(raw, str) else ""
        if not _JC_PATTERN.fullmatch(text):
            raise InvalidJointCommittee(
                f"{raw!r} is not a joint-committee code (formats: 200, 225.01, 305.02.09)",
                field=field,
            )
        return cls(text)

    def parents(self) -> tuple[str, ...]:
        """The code and its ancestors, most specific first: 305.02.09, 305.02, 305."""
        parts = self.code.split(".")
        return tuple(".".join(parts[:i]) for i in range(len(parts), 0, -1))

    def __str__(self) -> str:
        return self.code


@lru_cache(maxsize=4_096)
def _enterprise_number(raw: str) -> EnterpriseNumber | None:
    """The number, or None if it is not one (remembered, as for national numbers)."""
    try:
        return EnterpriseNumber(vat.validate(raw))
    except StdnumError:
        return None
