"""Days, hours and minutes: exact conversions and the one display rule (ADR 0003)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from ila.errors import InvalidDuration

DEFAULT_DAY_MINUTES = 456  # 7 h 36: a full-time day at 38 hours a week


def fmt2(value: Fraction) -> str:
    """Two decimals, rounded half up (away from zero): ``Fraction(10, 3)`` -> ``"3.33"``."""
    n, d = value.numerator, value.denominator
    q = (abs(n) * 200 + d) // (2 * d)
    return f"{'-' if n < 0 and q else ''}{q // 100}.{q % 100:02d}"


def exact_text(value: Fraction) -> str:
    """Exact and readable: ``5``, ``0.8``, ``2.5`` for terminating decimals, else ``10/3``."""
    n, d = value.numerator, value.denominator
    if d == 1:
        return str(n)
    k = d
    while k % 2 == 0:
        k //= 2
    while k % 5 == 0:
        k //= 5
    return str(Decimal(n) / d) if k == 1 else f"{n}/{d}"


def _check_day_minutes(day_minutes: int) -> None:
    if day_minutes <= 0:
        raise InvalidDuration(
            f"a training day must last more than 0 minutes, got {day_minutes}", field="day_minutes"
        )


def days_to_minutes(days: Fraction, day_minutes: int) -> Fraction:
    """Exact minutes of a number of days, a day being ``day_minutes`` long."""
    _check_day_minutes(day_minutes)
    return Fraction(days) * day_minutes


def minutes_to_days(minutes: Fraction | int, day_minutes: int) -> Fraction:
    """Exact days of a duration in minutes (a training's duration: never negative)."""
    _check_day_minutes(day_minutes)
    if minutes < 0:
        raise InvalidDuration(
            f"a duration cannot be negative, got {minutes} minutes", field="minutes"
        )
    return Fraction(minutes) / day_minutes


def format_days(days: Fraction, day_minutes: int = DEFAULT_DAY_MINUTES) -> str:
    """``"3.33 days (25 h 20 min)"``: days to 2 decimals and minutes rounded half up."""
    minutes = days_to_minutes(days, day_minutes)
    n, d = minutes.numerator, minutes.denominator
    rounded = (abs(n) * 2 + d) // (2 * d)
    hours, rest = divmod(rounded, 60)
    sign = "-" if n < 0 and rounded else ""
    return f"{fmt2(Fraction(days))} days ({sign}{hours} h {rest} min)"
