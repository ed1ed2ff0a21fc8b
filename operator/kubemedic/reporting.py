"""``kubemedic report``: a summary of incidents for humans."""

from __future__ import annotations

import datetime
from typing import Any

import kubernetes

from kubemedic import GROUP, VERSION
from kubemedic.api.incidents import Incident, Phase
from kubemedic.clients.configuring import load_kubeconfig


def print_report(*, namespace: str | None) -> int:
    """Print incidents by phase with their times to resolve."""
    load_kubeconfig()
    api = kubernetes.client.CustomObjectsApi()
    if namespace:
        body: Any = api.list_namespaced_custom_object(GROUP, VERSION, namespace, "incidents")
    else:
        body = api.list_cluster_custom_object(GROUP, VERSION, "incidents")
    incidents = [Incident.from_wire(item) for item in body.get("items", [])]
    print(format_report(incidents))
    return 0


def format_report(incidents: list[Incident]) -> str:
    """The report's text: one line per incident, then totals."""
    lines = [f"{'INCIDENT':45} {'SEV':4} {'PHASE':13} {'ACTIONS':>7} {'RESOLVED IN':>12}"]
    durations: list[float] = []
    for incident in sorted(incidents, key=lambda i: str(i.metadata.get("name"))):
        status = incident.status
        took = ""
        if status.detected_at and status.resolved_at and status.phase == Phase.RESOLVED:
            seconds = (status.resolved_at - status.detected_at).total_seconds()
            durations.append(seconds)
            took = str(datetime.timedelta(seconds=int(seconds)))
        name = f"{incident.metadata.get('namespace')}/{incident.metadata.get('name')}"
        lines.append(
            f"{name[:45]:45} {(status.severity or incident.spec.severity).value:4} "
            f"{status.phase.value:13} {status.action_count:>7} {took:>12}"
        )
    open_count = sum(1 for i in incidents if i.status.phase != Phase.RESOLVED)
    summary = f"{len(incidents)} incidents, {open_count} open"
    if durations:
        mean = datetime.timedelta(seconds=int(sum(durations) / len(durations)))
        summary += f", mean time to resolve {mean}"
    lines.append(summary)
    return "\n".join(lines)
