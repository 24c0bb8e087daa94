from datetime import date

import pytest

from db.queries.periods import last_months, period_for, previous_period

TODAY = date(2026, 11, 20)


@pytest.mark.parametrize("choice, start, end, label", [
    ("This month", date(2026, 11, 1), date(2026, 11, 30), "November 2026"),
    ("Last month", date(2026, 10, 1), date(2026, 10, 31), "October 2026"),
    ("This quarter", date(2026, 10, 1), date(2026, 12, 31), "Q4 2026"),
    ("Last quarter", date(2026, 7, 1), date(2026, 9, 30), "Q3 2026"),
    ("This year", date(2026, 1, 1), date(2026, 12, 31), "2026"),
    ("Last year", date(2025, 1, 1), date(2025, 12, 31), "2025"),
])
def test_period_choices(choice, start, end, label):
    p = period_for(choice, TODAY)
    assert (p.start, p.end, p.label) == (start, end, label)


def test_previous_periods():
    assert previous_period(period_for("Last month", TODAY)).label == "September 2026"
    assert previous_period(period_for("This quarter", TODAY)).label == "Q3 2026"
    assert previous_period(period_for("This year", TODAY)).start == date(2025, 1, 1)
    jan = period_for("Last month", date(2026, 2, 10))
    assert previous_period(jan).start == date(2025, 12, 1)
    custom = period_for("Custom", TODAY, (date(2026, 10, 5), date(2026, 10, 14)))
    before = previous_period(custom)
    assert (before.start, before.end) == (date(2026, 9, 25), date(2026, 10, 4))


def test_evaluation_date():
    assert period_for("Last month", TODAY).evaluation_date(TODAY) == date(2026, 11, 1)
    assert period_for("This month", TODAY).evaluation_date(TODAY) == TODAY


def test_custom_period_needs_sane_dates():
    with pytest.raises(ValueError):
        period_for("Custom", TODAY)
    with pytest.raises(ValueError, match="before its start"):
        period_for("Custom", TODAY, (date(2026, 10, 5), date(2026, 10, 1)))
    with pytest.raises(ValueError):
        period_for("Fortnight", TODAY)


def test_last_months_runs_to_this_month():
    months = last_months(date(2026, 2, 10), 12)
    assert months[0].start == date(2025, 3, 1) and months[-1].end == date(2026, 2, 28)
