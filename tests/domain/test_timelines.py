"""The timeline of an incident stays bounded and says how much it dropped."""

from __future__ import annotations

from kubemedic.api.incidents import TIMELINE_LIMIT, IncidentStatus
from kubemedic.domain.timelines import add_entry

from .pods import NOW, ago


def test_entries_are_appended_in_order() -> None:
    status = add_entry(IncidentStatus(), "Detected", "first", now=ago(10))
    status = add_entry(status, "Joined", "second", now=NOW)

    assert [(e.type, e.message, e.time) for e in status.timeline] == [
        ("Detected", "first", ago(10)),
        ("Joined", "second", NOW),
    ]
    assert status.timeline_dropped == 0


def test_oldest_entries_are_dropped_and_counted() -> None:
    status = IncidentStatus()
    for n in range(TIMELINE_LIMIT + 7):
        status = add_entry(status, "Joined", f"entry {n}", now=NOW)

    assert len(status.timeline) == TIMELINE_LIMIT
    assert status.timeline[0].message == "entry 7"
    assert status.timeline[-1].message == f"entry {TIMELINE_LIMIT + 6}"
    assert status.timeline_dropped == 7


def test_long_messages_are_cut_to_the_schema_limit() -> None:
    status = add_entry(IncidentStatus(), "Joined", "x" * 5000, now=NOW)

    assert len(status.timeline[0].message) == 2048
