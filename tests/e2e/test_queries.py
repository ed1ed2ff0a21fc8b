"""Query triggers end to end: a real exporter, the real Prometheus, the operator as a process.

The exporter serves gauges that Prometheus scrapes every second, so a value
set here reaches a query one to two seconds later. Timings are asserted
against the moment a value was set: a trigger cannot fire before its
``forSeconds`` have passed since then, whatever the scrape delay.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from kubernetes.client import ApiClient, CoreV1Api

from support.exporters import Exporter
from support.incidents import (
    create_policy,
    list_incidents,
    phase_of,
    timeline_types,
    wait_for,
    wait_for_incidents,
)
from support.operators import OperatorProcess
from support.prometheuses import PrometheusServer
from support.workloads import create_deployment, simulate_oom_kill

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

ERROR_RATIO = "kubemedic_test_error_ratio"
WORKING_SET = "container_memory_working_set_bytes"
MIB = 1024 * 1024


# --- Policies and readings --------------------------------------------------------------------


def threshold_policy(
    name: str, *, for_seconds: int, stabilization_seconds: int, **prometheus: Any
) -> dict[str, Any]:
    """A policy firing when the error ratio of a Deployment exceeds 0.5, healthy below 0.2."""
    return {
        "metadata": {"name": name},
        "spec": {
            "triggers": [
                {
                    "name": "errors",
                    "type": "PrometheusQuery",
                    "prometheus": {
                        "query": f'{ERROR_RATIO}{{namespace="$namespace"}}',
                        "comparator": "GreaterThan",
                        "threshold": 0.5,
                        "resolveThreshold": 0.2,
                        "forSeconds": for_seconds,
                        "evaluationIntervalSeconds": 1,
                        **prometheus,
                    },
                }
            ],
            "closing": {"stabilizationSeconds": stabilization_seconds},
        },
    }


def memory_trend_policy(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "triggers": [
                {
                    "name": "leak",
                    "type": "MemoryTrend",
                    "memoryTrend": {
                        "windowSeconds": 12,
                        "stepSeconds": 2,
                        "growthPercent": 50,
                        "risingSharePercent": 70,
                        "evaluationIntervalSeconds": 1,
                    },
                }
            ],
            "closing": {"stabilizationSeconds": 600},
        },
    }


def oom_policy(name: str, *, app: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": app}},
            "triggers": [
                {"name": "pods", "type": "PodFailure", "podFailure": {"reasons": ["OOMKilled"]}}
            ],
            "closing": {"stabilizationSeconds": 600},
        },
    }


def set_error_ratio(exporter: Exporter, namespace: str, value: float) -> None:
    labels = {"namespace": namespace, "deployment": "api"}
    exporter.gauge(ERROR_RATIO, labels=labels).set(value)


def wait_until_scraped(prometheus: PrometheusServer, namespace: str, value: float) -> float:
    """Wait until Prometheus has the value; the monotonic time it was seen."""
    prometheus.wait_for(
        f'{ERROR_RATIO}{{namespace="{namespace}"}}',
        predicate=lambda samples: any(float(s["value"][1]) == value for s in samples),
        timeout=15,
    )
    return time.monotonic()


def condition_of(incident: dict[str, Any], type_: str) -> dict[str, Any] | None:
    conditions = (incident.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == type_), None)


def the_incident(api: ApiClient, namespace: str) -> dict[str, Any]:
    """The namespace's only incident; fails when there are several."""
    items = list_incidents(api, namespace)
    assert len(items) == 1, [i["metadata"]["name"] for i in items]
    return items[0]


def events_with_reason(api: ApiClient, namespace: str, reason: str) -> list[Any]:
    return list(
        CoreV1Api(api).list_namespaced_event(namespace, field_selector=f"reason={reason}").items
    )


@contextmanager
def flipping(
    exporter: Exporter, namespace: str, values: list[float], period: float
) -> Iterator[None]:
    """Set the error ratio to each of ``values`` in turn, every ``period``, until the block ends."""
    stop = threading.Event()

    def flip() -> None:
        index = 0
        while not stop.is_set():
            set_error_ratio(exporter, namespace, values[index % len(values)])
            index += 1
            stop.wait(period)

    thread = threading.Thread(target=flip, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


@contextmanager
def growing(gauge: Any, *, start: float, per_second: float) -> Iterator[None]:
    """Raise ``gauge`` from ``start`` by ``per_second`` (bytes), twice a second."""
    stop = threading.Event()
    began = time.monotonic()

    def grow() -> None:
        while not stop.is_set():
            gauge.set(start + per_second * (time.monotonic() - began))
            stop.wait(0.5)

    thread = threading.Thread(target=grow, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


# --- Thresholds and forSeconds ----------------------------------------------------------------


def test_threshold_opens_an_incident_after_for_seconds_not_before(
    kube_api: ApiClient,
    namespace: str,
    operator: OperatorProcess,
    prometheus: PrometheusServer,
    exporter: Exporter,
) -> None:
    for_seconds = 6
    set_error_ratio(exporter, namespace, 0.1)
    wait_until_scraped(prometheus, namespace, 0.1)
    create_policy(
        kube_api,
        namespace,
        threshold_policy("errors", for_seconds=for_seconds, stabilization_seconds=600),
    )
    operator.prometheus_url = prometheus.url
    operator.start()

    # Crossing the threshold starts the clock; half-way, nothing has opened.
    set_error_ratio(exporter, namespace, 0.9)
    crossed = time.monotonic()
    time.sleep(for_seconds / 2)
    assert list_incidents(kube_api, namespace) == [], "opened before forSeconds"

    [incident] = wait_for_incidents(kube_api, namespace, timeout=for_seconds + 6)
    opened_after = time.monotonic() - crossed
    assert opened_after >= for_seconds, f"opened {opened_after:.1f}s after the crossing"
    assert incident["spec"]["target"] == {
        "kind": "Deployment",
        "namespace": namespace,
        "name": "api",
    }
    assert incident["spec"]["trigger"] == "errors"
    assert "0.9 > 0.5" in incident["status"]["message"]

    # A value that stays over the threshold is one occurrence, however long it stays.
    time.sleep(for_seconds + 2)
    incident = the_incident(kube_api, namespace)
    assert incident["status"]["occurrences"] == 1, incident["status"]["evidenceKeys"]
    assert timeline_types(incident).count("Joined") == 0
    assert incident["status"]["health"]["state"] == "Unhealthy"


def test_a_value_hovering_between_the_thresholds_keeps_one_incident_open(
    kube_api: ApiClient,
    namespace: str,
    operator: OperatorProcess,
    prometheus: PrometheusServer,
    exporter: Exporter,
) -> None:
    stabilization_seconds = 4
    set_error_ratio(exporter, namespace, 0.9)
    create_policy(
        kube_api,
        namespace,
        threshold_policy("errors", for_seconds=2, stabilization_seconds=stabilization_seconds),
    )
    operator.prometheus_url = prometheus.url
    operator.start()
    wait_for_incidents(kube_api, namespace, timeout=15)

    # Above the threshold, then below it but above resolveThreshold, and again:
    # never healthy, so never closed, for well over the stabilization window.
    with flipping(exporter, namespace, [0.3, 0.6], period=1.5):
        time.sleep(stabilization_seconds + 2)
    incident = the_incident(kube_api, namespace)
    assert phase_of(incident) != "Resolved"
    assert incident["status"]["health"]["state"] == "Unhealthy"
    assert "Resolved" not in timeline_types(incident)

    # Hovering just under the threshold is not healthy either.
    set_error_ratio(exporter, namespace, 0.3)
    time.sleep(stabilization_seconds + 2)
    incident = the_incident(kube_api, namespace)
    assert phase_of(incident) != "Resolved"
    assert (
        "between threshold 0.5 and resolveThreshold 0.2" in incident["status"]["health"]["message"]
    )

    # Past resolveThreshold it is, and the same incident closes.
    set_error_ratio(exporter, namespace, 0.1)
    resolved = wait_for(
        lambda: phase_of(the_incident(kube_api, namespace)) == "Resolved",
        timeout=stabilization_seconds + 8,
        what="the incident to resolve",
    )
    assert resolved


def test_an_incident_stays_open_while_prometheus_is_down_and_closes_after_it_is_back(
    kube_api: ApiClient,
    namespace: str,
    operator: OperatorProcess,
    prometheus: PrometheusServer,
    exporter: Exporter,
) -> None:
    stabilization_seconds = 4
    set_error_ratio(exporter, namespace, 0.9)
    create_policy(
        kube_api,
        namespace,
        threshold_policy("errors", for_seconds=1, stabilization_seconds=stabilization_seconds),
    )
    operator.prometheus_url = prometheus.url
    operator.start()
    [incident] = wait_for_incidents(kube_api, namespace, timeout=15)
    name = incident["metadata"]["name"]

    try:
        # The value recovers while nobody can see it: that is no evidence of health.
        prometheus.stop()
        set_error_ratio(exporter, namespace, 0.1)

        def says_evidence_is_missing() -> dict[str, Any] | None:
            found = the_incident(kube_api, namespace)
            condition = condition_of(found, "EvidenceAvailable")
            is_missing = condition is not None and condition["status"] == "False"
            return found if is_missing and "EvidenceMissing" in timeline_types(found) else None

        incident = wait_for(says_evidence_is_missing, timeout=10, what="EvidenceAvailable False")
        condition = condition_of(incident, "EvidenceAvailable")
        assert condition is not None
        assert condition["reason"] == "EvidenceMissing"
        assert "did not answer" in condition["message"]
        assert incident["status"]["health"]["state"] == "Unknown"
        # The Event is posted just after the status is written.
        warnings = wait_for(
            lambda: [
                e
                for e in events_with_reason(kube_api, namespace, "EvidenceMissing")
                if e.involved_object.name == name
            ],
            timeout=10,
            what="the EvidenceMissing Event",
        )
        assert [e.type for e in warnings] == ["Warning"]

        time.sleep(stabilization_seconds + 2)
        incident = the_incident(kube_api, namespace)
        assert phase_of(incident) != "Resolved", "closed without evidence"
        assert timeline_types(incident).count("EvidenceMissing") == 1
    finally:
        prometheus.start()
    back = wait_until_scraped(prometheus, namespace, 0.1)

    # Back, and healthy: the incident closes once the window has passed.
    resolved = wait_for(
        lambda: (
            (found := the_incident(kube_api, namespace)) and phase_of(found) == "Resolved" and found
        ),
        timeout=stabilization_seconds + 15,
        what="the incident to resolve",
    )
    assert time.monotonic() - back >= stabilization_seconds - 1
    assert resolved["metadata"]["name"] == name
    types = timeline_types(resolved)
    assert (
        types.index("EvidenceMissing") < types.index("EvidenceRestored") < types.index("Resolved")
    )
    condition = condition_of(resolved, "EvidenceAvailable")
    assert condition is not None
    assert condition["status"] == "True"


# --- Memory trends ------------------------------------------------------------------------------


def test_a_growing_working_set_opens_a_leak_incident_and_a_flat_one_does_not(
    kube_api: ApiClient,
    namespace: str,
    operator: OperatorProcess,
    prometheus: PrometheusServer,
    exporter: Exporter,
) -> None:
    create_deployment(kube_api, namespace, "leaky", replicas=1)
    create_deployment(kube_api, namespace, "steady", replicas=1)
    [leaky_pod] = pods_of(kube_api, namespace, "leaky")
    [steady_pod] = pods_of(kube_api, namespace, "steady")
    leaky = exporter.gauge(
        WORKING_SET, labels={"namespace": namespace, "pod": leaky_pod, "container": "app"}
    )
    steady = exporter.gauge(
        WORKING_SET, labels={"namespace": namespace, "pod": steady_pod, "container": "app"}
    )
    steady.set(60 * MIB)
    create_policy(kube_api, namespace, memory_trend_policy("memory"))
    operator.prometheus_url = prometheus.url
    operator.start()

    # A fifth of the start value a second: a leak by any reading of the rule.
    with growing(leaky, start=40 * MIB, per_second=8 * MIB):
        [incident] = wait_for_incidents(kube_api, namespace, timeout=30)
        time.sleep(3)
    assert incident["spec"]["target"] == {
        "kind": "Deployment",
        "namespace": namespace,
        "name": "leaky",
    }
    assert incident["spec"]["trigger"] == "leak"
    assert f"Pod {leaky_pod}" in incident["status"]["message"]
    assert "working set grew" in incident["status"]["message"]
    targets = [i["spec"]["target"]["name"] for i in list_incidents(kube_api, namespace)]
    assert targets == ["leaky"], "the flat working set is no leak"


def pods_of(api: ApiClient, namespace: str, app: str) -> list[str]:
    pods = CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return sorted(p.metadata.name for p in pods if p.metadata.deletion_timestamp is None)


# --- Restarts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stopping", [pytest.param("stop", id="sigterm"), pytest.param("kill", id="sigkill")]
)
def test_an_operator_restart_loses_no_oom_and_counts_none_twice(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess, stopping: str
) -> None:
    create_deployment(kube_api, namespace, "api", replicas=3)
    create_policy(kube_api, namespace, oom_policy("oom", app="api"))
    operator.start()
    pods = pods_of(kube_api, namespace, "api")
    simulate_oom_kill(kube_api, namespace, pods[0])
    wait_for_incidents(kube_api, namespace, timeout=10)

    # While the operator is away, another pod is OOM-killed; the first one's
    # OOM is still in its status, to be seen again by the new process.
    getattr(operator, stopping)()
    simulate_oom_kill(kube_api, namespace, pods[1])
    operator.start()

    def occurrences(count: int) -> Any:
        found = the_incident(kube_api, namespace)
        return found if found["status"]["occurrences"] == count else None

    wait_for(lambda: occurrences(2), timeout=10, what="the missed OOM to be joined")
    simulate_oom_kill(kube_api, namespace, pods[2])
    wait_for(lambda: occurrences(3), timeout=10, what="a new OOM to be joined")
    time.sleep(2)
    incident = the_incident(kube_api, namespace)
    assert incident["status"]["occurrences"] == 3
    assert len(incident["status"]["evidenceKeys"]) == 3
    types = timeline_types(incident)
    assert types.count("Detected") == 1
    assert types.count("Joined") == 2
    assert types.count("Investigating") == 1


def test_an_operator_restart_during_a_sustained_breach_adds_no_occurrence(
    kube_api: ApiClient,
    namespace: str,
    operator: OperatorProcess,
    prometheus: PrometheusServer,
    exporter: Exporter,
) -> None:
    for_seconds = 2
    set_error_ratio(exporter, namespace, 0.9)
    create_policy(
        kube_api,
        namespace,
        threshold_policy("errors", for_seconds=for_seconds, stabilization_seconds=600),
    )
    operator.prometheus_url = prometheus.url
    operator.start()
    [incident] = wait_for_incidents(kube_api, namespace, timeout=15)
    timeline = incident["status"]["timeline"]

    # Away for longer than the query's window: the breach's start is out of view.
    operator.stop()
    time.sleep(for_seconds + 3)
    operator.start()
    time.sleep(4)
    incident = the_incident(kube_api, namespace)
    assert incident["status"]["occurrences"] == 1, incident["status"]["evidenceKeys"]
    assert incident["status"]["health"]["state"] == "Unhealthy"
    types = timeline_types(incident)
    assert types.count("Detected") == 1
    assert "Joined" not in types
    assert incident["status"]["timeline"][: len(timeline)] == timeline
