"""CSV exports of the report's tables: one header row of field names, then one row per line
of the table; durations in seconds, rates as fractions, empty where nothing was measured."""

from __future__ import annotations

import csv
import io
from typing import Any

TABLES = ("summary", "days", "hours", "waits", "agents", "departments")


def to_csv(report: dict[str, Any], table: str) -> str:
    """Table `table` of a report (see reports.tables.build) as CSV text."""
    rows = report[table]
    if isinstance(rows, dict):  # the summary: one row
        rows = [{k: v for k, v in rows.items() if k != "status"}]
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # a spreadsheet must not run a name as a formula
    return value
