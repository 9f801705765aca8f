"""Synthetic identifiers for demo and test data: check digits are found by asking python-stdnum
which two digits make the number valid, never computed by hand."""

from __future__ import annotations

from collections.abc import Callable

from stdnum.be import nn, vat


def with_check_digits(body: str, is_valid: Callable[[str], bool]) -> str:
    """``body`` followed by the only two check digits ``is_valid`` accepts."""
    for digits in range(100):
        candidate = f"{body}{digits:02d}"
        if is_valid(candidate):
            return candidate
    raise ValueError(f"no check digits make {body!r} valid")


def synthetic_niss(body: str) -> str:
    """A NISS from its first nine digits (YYMMDD + day counter)."""
    return with_check_digits(body, nn.is_valid)


def synthetic_enterprise_number(body: str) -> str:
    """An enterprise number from its first eight digits."""
    return with_check_digits(body, vat.is_valid)
