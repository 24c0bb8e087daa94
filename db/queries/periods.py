"""Reporting periods: this month, last month, a quarter, a year or custom dates.

Pure date arithmetic in Python, so that SQL only ever receives plain bounds and
both databases see the same dates.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

PERIOD_CHOICES = ("This month", "Last month", "This quarter", "Last quarter",
                  "This year", "Last year", "Custom")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    label: str

    def evaluation_date(self, today: date) -> date:
        """The as-of date at which the period is judged.

        The day after the period for a period in the past (every window that
        ended within it is closed by then), else today: a window that ends
        today is still open.
        """
        return min(self.end + timedelta(days=1), today)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    return add_months(day, 1) - timedelta(days=1)


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _month_label(start: date) -> str:
    return start.strftime("%B %Y")


def _quarter_label(start: date) -> str:
    return f"Q{(start.month - 1) // 3 + 1} {start.year}"


def period_for(choice: str, today: date, custom: tuple[date, date] | None = None) -> Period:
    """The period a selector choice names, as seen on ``today``.

    "This ..." periods run to their calendar end (days still ahead hold no
    closed series yet); "Custom" takes ``custom`` = (start, end).
    """
    if choice == "This month":
        start = month_start(today)
        return Period(start, month_end(start), _month_label(start))
    if choice == "Last month":
        start = add_months(today, -1)
        return Period(start, month_end(start), _month_label(start))
    if choice == "This quarter":
        start = _quarter_start(today)
        return Period(start, add_months(start, 3) - timedelta(days=1), _quarter_label(start))
    if choice == "Last quarter":
        start = add_months(_quarter_start(today), -3)
        return Period(start, add_months(start, 3) - timedelta(days=1), _quarter_label(start))
    if choice == "This year":
        return Period(date(today.year, 1, 1), date(today.year, 12, 31), str(today.year))
    if choice == "Last year":
        year = today.year - 1
        return Period(date(year, 1, 1), date(year, 12, 31), str(year))
    if choice == "Custom":
        if custom is None:
            raise ValueError("a custom period needs a start and an end date")
        start, end = custom
        if end < start:
            raise ValueError("the period's end date is before its start date")
        return Period(start, end, f"{start.isoformat()} to {end.isoformat()}")
    raise ValueError(f"unknown period {choice!r}; choose one of {', '.join(PERIOD_CHOICES)}")


def previous_period(period: Period) -> Period:
    """The period just before, of the same kind: the previous month, quarter or
    year for calendar periods, else as many days immediately before."""
    start, end = period.start, period.end
    if start.day == 1 and end == month_end(end):
        months = (end.year * 12 + end.month) - (start.year * 12 + start.month) + 1
        prev_start = add_months(start, -months)
        prev_end = start - timedelta(days=1)
        if months == 1:
            label = _month_label(prev_start)
        elif months == 3 and prev_start.month in (1, 4, 7, 10):
            label = _quarter_label(prev_start)
        elif months == 12 and prev_start.month == 1:
            label = str(prev_start.year)
        else:
            label = f"{prev_start.isoformat()} to {prev_end.isoformat()}"
        return Period(prev_start, prev_end, label)
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=period.days - 1)
    return Period(prev_start, prev_end, f"{prev_start.isoformat()} to {prev_end.isoformat()}")


def last_months(today: date, count: int = 12) -> list[Period]:
    """The ``count`` calendar months ending with ``today``'s month, oldest first."""
    first = add_months(today, -(count - 1))
    return [Period(add_months(first, i), month_end(add_months(first, i)),
                   _month_label(add_months(first, i))) for i in range(count)]
