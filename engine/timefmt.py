"""RFC 3339 timestamps as riskrules writes them everywhere: UTC, with `Z` instead of `+00:00`.

The one place that formats a moment for a document, a log line or an export
(`2026-11-27T14:05:09Z`, or with milliseconds `2026-11-27T14:05:09.123Z`).
"""

from __future__ import annotations

import datetime as dt


def rfc3339(moment: dt.datetime, timespec: str = "auto") -> str:
    """`moment` in UTC as RFC 3339 text ending in `Z`; `timespec` as for `isoformat`
    ("auto": microseconds only when there are some; "seconds", "milliseconds")."""
    return moment.astimezone(dt.UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def utc_now_seconds() -> dt.datetime:
    """Now, in UTC, to the whole second (the `created_at` of assessments and dispositions)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
