"""Disclosure control of the statistics, without a database: rounding, months, medians."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.statistics import median_days, rounded, utilisation, whole_months


@pytest.mark.parametrize(
    ("count", "published"),
    [(0, 0), (1, 0), (2, 0), (3, 5), (5, 5), (7, 5), (8, 10), (12, 10), (13, 15), (1002, 1000)],
)
def test_counts_round_to_the_nearest_five_halves_up(count, published):
    assert rounded(count, 5) == published


@pytest.mark.parametrize(("count", "published"), [(4, 0), (5, 10), (14, 10), (15, 20)])
def test_another_base_rounds_to_its_multiples(count, published):
    assert rounded(count, 10) == published


def test_base_one_publishes_exact_counts():
    assert [rounded(n, 1) for n in range(4)] == [0, 1, 2, 3]


def test_a_total_is_rounded_from_its_own_count_not_from_rounded_parts():
    parts = [2, 2, 2]  # each published as 0
    assert [rounded(p, 5) for p in parts] == [0, 0, 0]
    assert rounded(sum(parts), 5) == 5


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2025, 3, 11), date(2025, 3, 11), (date(2025, 3, 1), date(2025, 3, 31))),
        (date(2024, 2, 29), date(2024, 2, 29), (date(2024, 2, 1), date(2024, 2, 29))),
        (date(2025, 2, 10), date(2025, 2, 10), (date(2025, 2, 1), date(2025, 2, 28))),
        (date(2025, 12, 31), date(2026, 1, 1), (date(2025, 12, 1), date(2026, 1, 31))),
        (date(2025, 4, 1), date(2025, 4, 30), (date(2025, 4, 1), date(2025, 4, 30))),
    ],
)
def test_periods_snap_outward_to_whole_months(start, end, months):
    assert whole_months(start, end) == months


def _decided(month: int, *days: float) -> list[tuple[datetime, float]]:
    at = datetime(2026, month, 15, 4, tzinfo=UTC)  # noon in China
    return [(at, d) for d in days]


def test_a_median_needs_five_cases():
    assert median_days(_decided(7, 1.0, 2.0, 3.0, 4.0)) is None
    assert median_days(_decided(7, 1.0, 2.0, 3.0, 4.0, 9.6)) == 3


def test_a_median_over_months_is_withheld_when_one_month_holds_one_to_four_cases():
    july = _decided(7, 2, 4, 6, 10, 12)
    assert median_days(july) == 6
    # One case in August: July-August would give it away (2 x 7 - 6 = 8).
    assert median_days(july + _decided(8, 8)) is None
    assert median_days(july + _decided(8, 8, 1, 3, 5)) is None
    # Five in August: nested periods differ by five cases, never one.
    assert median_days(july + _decided(8, 8, 1, 3, 5, 7)) == 6
    # The month is China's: 31 July 20:00 UTC is 1 August in Beijing.
    late = [(datetime(2026, 7, 31, 20, tzinfo=UTC), 8.0)]
    assert median_days(july + late) is None


def test_utilisation_uses_rounded_places_and_capacity():
    assert utilisation(1, 40, 5) == 0.0  # one booking is not visible
    assert utilisation(3, 40, 5) == 0.125
    assert utilisation(0, 2, 5) is None  # capacity rounds to nothing
    assert utilisation(39, 40, 5) == 1.0
