"""The bounded timeline of an incident."""

from __future__ import annotations

import datetime

from kubemedic.api.incidents import TIMELINE_LIMIT, IncidentStatus, TimelineEntry


def add_entry(
    status: IncidentStatus, type_: str, message: str, *, now: datetime.datetime
) -> IncidentStatus:
    """``status`` with one more timeline entry; the oldest are dropped past the bound."""
    entries = [*status.timeline, TimelineEntry(time=now, type=type_, message=message[:2048])]
    dropped = max(len(entries) - TIMELINE_LIMIT, 0)
    return status.model_copy(
        update={
            "timeline": entries[dropped:],
            "timeline_dropped": status.timeline_dropped + dropped,
        }
    )
