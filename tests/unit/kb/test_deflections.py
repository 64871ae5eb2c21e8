"""Deflections (a shopper said an FAQ article answered them) as report figures: counted from
the `deflected` cells, their share of the shoppers' requests, by day and department."""

from __future__ import annotations

import random
from datetime import date
from zoneinfo import ZoneInfo

from chatserver.core.kpis import DAY_MS, HOUR_MS, Cell, Fact, Tally, Targets, figures, parse_day
from chatserver.core.model import Site
from chatserver.reports import demo_history
from chatserver.reports.csv_tables import to_csv
from chatserver.reports.tables import Inputs, Period, build

DAY = date(2026, 3, 2)
START = Period.of(DAY, DAY, ZoneInfo("UTC")).start


def _cell(hour: int, fact: str, dept: str, n: int, agent: str = "") -> Cell:
    return Cell(START + hour * HOUR_MS, fact, dept, agent, n)


def test_the_deflection_rate_is_the_share_of_requests_articles_answered() -> None:
    tally = Tally()
    for cell in (_cell(9, Fact.DEFLECTED, "support", 3), _cell(9, Fact.CREATED, "support", 9)):
        tally.add(cell)
    found = figures(tally)
    assert (found.deflected, found.deflection_rate) == (3, 0.25)
    assert figures(Tally()).deflection_rate is None  # nothing asked: nothing to measure
    assert figures(tally, per_agent=True).deflection_rate is None  # not an agent's figure


def test_report_tables_show_deflections_by_day_hour_and_department() -> None:
    period = Period.of(DAY, DAY, ZoneInfo("UTC"))
    cells = [
        _cell(9, Fact.DEFLECTED, "support", 2),
        _cell(10, Fact.DEFLECTED, "", 1),  # an article of no department
        _cell(10, Fact.CREATED, "sales", 1),
        _cell(10, Fact.ASSIGNED, "sales", 1, agent="amy"),
    ]
    inputs = Inputs(cells, [], {"amy": ("sales",)}, ("sales", "support"))
    report = build(inputs, period, Targets())
    assert (report["summary"]["deflected"], report["summary"]["deflection_rate"]) == (3, 0.75)
    assert [(d["day"], d["deflected"]) for d in report["days"]] == [("2026-03-02", 3)]
    assert [h["deflected"] for h in report["hours"] if h["deflected"]] == [2, 1]
    by_dept = {d["department"]: d for d in report["departments"]}
    assert list(by_dept) == ["sales", "support"]  # the department-less count has no row
    assert (by_dept["support"]["deflected"], by_dept["support"]["deflection_rate"]) == (2, 1.0)
    assert (by_dept["sales"]["deflected"], by_dept["sales"]["deflection_rate"]) == (0, 0.0)
    assert report["agents"][0]["deflection_rate"] is None
    filtered = build(Inputs(cells, [], {}, ("sales", "support"), "support"), period, Targets())
    assert filtered["summary"]["deflected"] == 2
    header, row = to_csv(report, "summary").splitlines()[:2]
    columns = dict(zip(header.split(","), row.split(","), strict=True))
    assert (columns["deflected"], columns["deflection_rate"]) == ("3", "0.75")


def test_the_demo_history_has_answers_by_articles_beside_its_chats() -> None:
    site = Site("demo", "Demo", ("sales", "support"))
    tally, _ = demo_history.simulate(site, [], START, START + 7 * DAY_MS, random.Random(7))
    cells = [c for day in {d for _, d in tally.counts} for c in parse_day(day, {
        name: str(n) for (name, d), n in tally.counts.items() if d == day})]  # fmt: skip
    total = Tally()
    for cell in cells:
        if not cell.agent:  # the departments' own counts, as a site report adds them
            total.add(cell)
    rate = figures(total).deflection_rate
    assert rate is not None and 0.15 < rate < 0.35
