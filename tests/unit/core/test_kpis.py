"""The KPI rules as plain values: percentiles of histograms, fields, figures, target bands."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatserver.core.kpis import (
    HOUR_MS,
    Cell,
    Status,
    Tally,
    Targets,
    count_field,
    figures,
    median,
    parse_day,
    percentile,
    rate_status,
    seconds_of,
    spread_over_hours,
    wait_status,
)
from chatserver.reports.csv_tables import to_csv


def test_median_is_the_middle_or_the_mean_of_the_two_middles() -> None:
    assert median(Counter({40: 1, 60: 1, 90: 1, 300: 1})) == 75.0
    assert median(Counter({5: 2, 9: 1})) == 5.0
    assert median(Counter()) is None


def test_p90_is_the_nearest_rank() -> None:
    assert percentile(Counter({40: 1, 60: 1, 90: 1, 300: 1}), 90) == 300.0
    assert percentile(Counter({s: 1 for s in range(1, 11)}), 90) == 9.0
    assert percentile(Counter(), 90) is None


@given(st.lists(st.integers(0, 5000), min_size=1, max_size=200))
def test_percentiles_of_a_histogram_are_those_of_its_values(values: list[int]) -> None:
    hist = Counter(values)
    ordered = sorted(values)
    n = len(ordered)
    expected = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    assert median(hist) == expected
    assert percentile(hist, 90) == ordered[max(1, -(-9 * n // 10)) - 1]


def test_durations_round_half_up_to_the_second() -> None:
    assert [seconds_of(ms) for ms in (0, 499, 500, 119_499, 119_500, -20)] == [0, 0, 1, 119, 120, 0]


def test_fields_name_the_utc_hour_fact_department_and_agent() -> None:
    at = 5 * 24 * HOUR_MS + 9 * HOUR_MS + 1234
    assert count_field(at, "created", "sales") == "09|created|sales|"
    assert count_field(at, "good", "sales", "ann") == "09|good|sales|ann"
    cells = list(parse_day(5 * 24 * HOUR_MS, {
        "09|created|sales|": "3", "09|reply_wait|sales|ann|42": "2", "junk": "1",
        "09|created|sales": "1", "xx|created|sales|": "1", "09|reply_wait|sales||x": "1",
    }))  # fmt: skip
    assert cells == [
        Cell(at - 1234, "created", "sales", "", 3),
        Cell(at - 1234, "reply_wait", "sales", "ann", 2, 42),
    ]


def test_figures_leave_out_what_cannot_be_measured() -> None:
    f = figures(Tally())
    assert (f.wait_median, f.csat, f.resolution_rate, f.chats_per_agent_hour) == (None,) * 4
    assert f.agent_hours == 0.0


def test_spam_is_out_of_the_resolution_rate_and_reopened_chats_out_of_resolved() -> None:
    t = Tally(Counter({"closed": 10, "o:resolved": 6, "o:sale": 1, "o:spam": 2, "reopened": 1,
                       "o:none": 1}))  # fmt: skip
    assert figures(t).resolution_rate == (7 - 1) / (10 - 2)


def test_agent_hours_divide_chats_and_enquiries() -> None:
    t = Tally(Counter({"closed": 6, "created": 9, "assigned": 8}), online_ms=4 * HOUR_MS)
    assert (figures(t).chats_per_agent_hour, figures(t).enquiries_per_agent_hour) == (1.5, 2.25)
    assert figures(t, per_agent=True).enquiries_per_agent_hour == 2.0


@pytest.mark.parametrize(
    ("seconds", "status"),
    [(None, Status.NONE), (120, Status.GREEN), (121, Status.AMBER), (150, Status.AMBER),
     (151, Status.RED)],
)  # fmt: skip
def test_a_wait_is_amber_up_to_a_quarter_over_its_target(seconds: float, status: Status) -> None:
    assert wait_status(seconds, 120) is status


@pytest.mark.parametrize(
    ("rate", "status"),
    [(None, Status.NONE), (0.85, Status.GREEN), (0.8, Status.AMBER), (0.7999, Status.RED)],
)
def test_a_rate_is_amber_up_to_five_points_under_its_target(
    rate: float | None, status: Status
) -> None:
    assert rate_status(rate, 85) is status


def test_targets_are_checked() -> None:
    assert Targets().check() == Targets(120, 85, 90, "UTC")
    with pytest.raises(ValueError, match="csat_percent"):
        Targets(csat_percent=0).check()


def test_time_online_is_spread_over_the_hours_it_covers() -> None:
    start = 9 * HOUR_MS + 20 * 60_000
    spread = list(spread_over_hours(start, 12 * HOUR_MS + 10 * 60_000))
    assert spread == [(9 * HOUR_MS, 40 * 60_000), (10 * HOUR_MS, HOUR_MS), (11 * HOUR_MS, HOUR_MS),
                      (12 * HOUR_MS, 10 * 60_000)]  # fmt: skip


def test_csv_has_a_header_and_never_starts_a_cell_with_a_formula() -> None:
    report = {"agents": [{"agent": "a1", "name": "=HYPERLINK(1)", "csat": None, "closed": 2}]}
    assert to_csv(report, "agents") == "agent,name,csat,closed\r\na1,'=HYPERLINK(1),,2\r\n"
    summary = {"summary": {"closed": 1, "status": {"csat": "red"}}}
    assert to_csv(summary, "summary") == "closed\r\n1\r\n"
