"""REST: service reports (supervisors, admins), the site's targets, and the live KPIs of the
supervisor's view. The figures are defined in docs/reports.md.

    GET /api/v1/reports?from=2024-05-01&to=2024-05-07&department=sales
    GET /api/v1/reports/agents.csv?from=...&to=...
    GET /api/v1/reports/live
    GET, PUT /api/v1/reports/targets
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.core.kpis import Targets
from chatserver.core.model import Role, Site
from chatserver.reports import metrics
from chatserver.reports.csv_tables import TABLES, to_csv
from chatserver.reports.service import PeriodError, Reports, period_of, zone_of
from chatserver.web import security
from chatserver.web.http import MANAGERS, ApiError, Caller, endpoint, field, hub, json, json_body

LIVE_CACHE_SECONDS = 3.0  # supervisors' views poll every few seconds: one computation serves all
_live: dict[str, tuple[float, dict[str, Any]]] = {}


def routes(prefix: str) -> list[Route]:
    """The reports' routes under `prefix` (/api/v1), gathered with the others in web.api."""
    return [
        Route(f"{prefix}/reports", get_report, methods=["GET"]),
        Route(f"{prefix}/reports/live", get_live, methods=["GET"]),
        Route(f"{prefix}/reports/targets", get_targets, methods=["GET"]),
        Route(f"{prefix}/reports/targets", put_targets, methods=["PUT"]),
        Route(f"{prefix}/reports/{{table}}.csv", get_csv, methods=["GET"]),
    ]


def reports(request: Request) -> Reports:
    h = hub(request)
    return Reports(h.rollups, h.site_agents)


@endpoint(roles=MANAGERS)
async def get_report(request: Request, caller: Caller) -> Response:
    """Every table for the period (`from`, `to`: local dates; default the last 7 days) in the
    site's time zone (or `tz`), within `department` if given."""
    return json(await _report(request, caller))


@endpoint(roles=MANAGERS)
async def get_csv(request: Request, caller: Caller) -> Response:
    table = request.path_params["table"]
    if table not in TABLES:
        raise ApiError(404, "not_found", f"no table {table[:32]!r}: {', '.join(TABLES)}")
    report = await _report(request, caller)
    name = f"{report['site']}-{table}-{report['from']}-{report['to']}.csv"
    return Response(
        to_csv(report, table),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@endpoint(roles=MANAGERS)
async def get_live(request: Request, caller: Caller) -> Response:
    """Today's and the last 7 days' KPIs against the targets (cached a few seconds)."""
    h, key = hub(request), caller.agent.site
    cached = _live.get(key)
    if cached is None or cached[0] < time.monotonic():
        site = await _site(request, caller)
        cached = (
            time.monotonic() + LIVE_CACHE_SECONDS,
            await reports(request).live(site, h.now_ms()),
        )
        _live[key] = cached
    return json(cached[1])


@endpoint(roles=MANAGERS)
async def get_targets(request: Request, caller: Caller) -> Response:
    return json(_targets_json(await hub(request).rollups.targets(caller.agent.site)))


@endpoint(roles=(Role.ADMIN,))
async def put_targets(request: Request, caller: Caller) -> Response:
    """Set any of the targets and the report time zone (admins)."""
    h, body = hub(request), await json_body(request)
    current = await h.rollups.targets(caller.agent.site)
    timezone = field(body, "timezone", str, current.timezone)
    try:
        zone_of(timezone)
        targets = replace(
            current, wait_seconds=field(body, "wait_seconds", int, current.wait_seconds),
            csat_percent=field(body, "csat_percent", int, current.csat_percent),
            resolution_percent=field(body, "resolution_percent", int, current.resolution_percent),
            timezone=timezone,
        ).check()  # fmt: skip
    except ValueError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None
    await h.rollups.save_targets(caller.agent.site, targets)
    _live.pop(caller.agent.site, None)
    return json(_targets_json(targets))


# --- Prometheus ---------------------------------------------------------------------------------
async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics: with --metrics-token set, for `Authorization: Bearer TOKEN` only; without
    one, not served on this port (404: see --metrics-address)."""
    token = hub(request).settings.metrics_token
    if not token:
        return Response("not found", status_code=404, media_type="text/plain")
    given = request.headers.get("authorization", "")
    if not given.lower().startswith("bearer ") or not security.same(token, given[7:].strip()):
        return Response("unauthorized", status_code=401, media_type="text/plain",
                        headers={"www-authenticate": "Bearer"})  # fmt: skip
    await request.app.state.sampler.sample()
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)


# --- helpers ------------------------------------------------------------------------------------
async def _report(request: Request, caller: Caller) -> dict[str, Any]:
    h, params = hub(request), request.query_params
    site = await _site(request, caller)
    department = params.get("department") or None
    if department is not None and department not in site.departments:
        raise ApiError(422, "invalid_field", f"no department {department[:40]!r}")
    try:
        targets = await h.rollups.targets(site.key)
        zone = zone_of(params.get("tz") or targets.timezone)
        period = period_of(params.get("from"), params.get("to"), zone, h.now_ms())
    except PeriodError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None
    report = await reports(request).report(site, period, h.now_ms(), department)
    report["timezone"] = zone.key
    return report


async def _site(request: Request, caller: Caller) -> Site:
    site = await hub(request).site(caller.agent.site)
    if site is None:
        raise ApiError(404, "not_found", "no such site")
    return site


def _targets_json(targets: Targets) -> dict[str, Any]:
    return {"wait_seconds": targets.wait_seconds, "csat_percent": targets.csat_percent,
            "resolution_percent": targets.resolution_percent,
            "timezone": targets.timezone}  # fmt: skip
