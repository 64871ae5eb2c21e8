"""The site channel's vocabulary, read and written in one place."""

from __future__ import annotations

from chatserver.core import site_events
from chatserver.core.site_events import Kind, SiteEvent


def test_the_scripts_payloads_parse_into_typed_events() -> None:
    event = site_events.parse({"t": "transferred", "conv": "c1", "from": "ann", "agent": "bob"})
    assert event == SiteEvent(Kind.TRANSFERRED, "c1", "bob", "ann", "")
    assert event.agents() == ("bob", "ann")
    assert site_events.parse({"t": "queue", "dept": "sales"}).dept == "sales"


def test_unknown_kinds_and_odd_fields_do_not_break_a_reader() -> None:
    assert site_events.parse({"t": "from-the-future", "conv": "c"}).kind is Kind.OTHER
    assert site_events.parse({"conv": 5, "agent": None}) == SiteEvent(Kind.OTHER)


def test_python_side_events_round_trip() -> None:
    event = SiteEvent(Kind.REVOKED, agent="ann")
    assert site_events.encode(event) == {"t": "revoked", "agent": "ann"}
    assert site_events.parse(site_events.encode(event)) == event


def test_every_kind_a_lua_script_publishes_is_known() -> None:
    import re
    from pathlib import Path

    lua = Path(site_events.__file__).parents[1] / "store" / "lua"
    published = set()
    for script in lua.glob("*.lua"):
        published |= set(re.findall(r"publish\(\{t = '(\w+)'", script.read_text()))
        published |= {"closed", "abandoned"} if "t = final" in script.read_text() else set()
    assert published, "the scripts were read"
    assert published <= {k.value for k in Kind}, published - {k.value for k in Kind}
