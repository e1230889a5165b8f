"""Calendar arithmetic the catalogue's validity rules need (no clock, no time zones)."""

from __future__ import annotations

from datetime import date

__all__ = ["add_years", "age_on"]


def add_years(d: date, years: int) -> date:
    """``d`` moved by whole years; 29 February becomes 28 February in a year without it."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def age_on(birth: date, on: date) -> int:
    """Completed years of age on ``on`` for someone born on ``birth``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
