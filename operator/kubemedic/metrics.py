"""Prometheus metrics of the operator itself.

Served on ``--metrics-port``. Labels are namespace and policy (and action
type, result or reason); never pod or incident names, which would make the
series count grow without bound.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

INCIDENTS_OPENED = Counter(
    "kubemedic_incidents_opened_total",
    "Incidents opened.",
    ["namespace", "policy", "trigger"],
)
INCIDENTS_RESOLVED = Counter(
    "kubemedic_incidents_resolved_total",
    "Incidents resolved.",
    ["namespace", "policy"],
)
ACTIONS = Counter(
    "kubemedic_actions_total",
    "Remediation actions by result; DryRun counts what dry-run policies would have done.",
    ["namespace", "policy", "type", "result"],
)
ACTIONS_REFUSED = Counter(
    "kubemedic_actions_refused_total",
    "Actions the safety rails refused, by reason.",
    ["namespace", "policy", "reason"],
)
QUERY_FAILURES = Counter(
    "kubemedic_query_failures_total",
    "Prometheus queries that got no answer.",
    ["namespace", "policy", "trigger"],
)
NOTIFICATIONS = Counter(
    "kubemedic_notifications_total",
    "Notifications by receiver type and result.",
    ["type", "result"],
)
OPEN_INCIDENTS = Gauge(
    "kubemedic_open_incidents",
    "Incidents not yet resolved.",
    ["namespace", "policy"],
)
TIME_TO_RESOLVE = Histogram(
    "kubemedic_time_to_resolve_seconds",
    "From detection to resolution.",
    ["namespace", "policy"],
    buckets=(10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400),
)
