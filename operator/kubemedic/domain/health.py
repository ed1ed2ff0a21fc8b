"""Is the target healthy? Positive evidence only.

An incident closes on positive evidence of health, never on its absence: a
missing workload, no pods, no data from Prometheus are not "healthy". For pod
failures the evidence is the workload's own status and its pods; for queries
it is the evaluator's latest verdict, written into the incident's status.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from kubemedic.api.incidents import Health, HealthState
from kubemedic.api.policies import FailureReason, PodFailureTrigger
from kubemedic.domain.detecting import (
    container_statuses,
    is_pod_ready,
    parse_time,
    ready_since,
)
from kubemedic.domain.rails import Unavailability

_ALWAYS_UNHEALTHY_WAITING = {
    FailureReason.CRASH_LOOP_BACK_OFF.value,
    FailureReason.IMAGE_PULL_BACK_OFF.value,
    FailureReason.ERR_IMAGE_PULL.value,
    FailureReason.CREATE_CONTAINER_CONFIG_ERROR.value,
}

_FINISHED_PHASES = {"Succeeded", "Failed"}


@dataclasses.dataclass(frozen=True)
class Reading:
    """One observation of health: the state, since when (if known), and why."""

    state: HealthState
    message: str
    since: datetime.datetime | None = None
    value: float | None = None


def desired_replicas(workload: Mapping[str, Any]) -> int:
    """How many pods the workload wants."""
    kind = workload.get("kind")
    status = workload.get("status") or {}
    if kind == "DaemonSet":
        return int(status.get("desiredNumberScheduled") or 0)
    replicas = (workload.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def ready_replicas(workload: Mapping[str, Any]) -> int:
    """How many of the workload's pods are ready, by the workload's status."""
    status = workload.get("status") or {}
    if workload.get("kind") == "DaemonSet":
        return int(status.get("numberReady") or 0)
    return int(status.get("readyReplicas") or 0)


def assess_pods(
    workload: Mapping[str, Any] | None,
    pods: Sequence[Mapping[str, Any]],
    trigger: PodFailureTrigger | None,
    *,
    now: datetime.datetime,
    window_seconds: int,
) -> Reading:
    """The health of a workload (or one pod when ``workload`` is None) from its pods.

    Unhealthy: a pod not Ready, a container waiting in a failure state, or a
    container terminated for a watched reason within the last
    ``window_seconds``; or fewer ready replicas than desired. Healthy
    otherwise, *since* the latest of those failures ended.
    """
    live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]
    # NB: a workload's Failed pods (evicted ones linger until garbage collection)
    # were replaced by its controller; they are history, not replicas.
    if workload is not None:
        live = [p for p in live if (p.get("status") or {}).get("phase") not in _FINISHED_PHASES]
    reasons = {r.value for r in trigger.reasons} if trigger is not None else set()
    window_start = now - datetime.timedelta(seconds=window_seconds)
    problems: list[str] = []
    latest_failure: datetime.datetime | None = None

    # The workload's own count of ready replicas comes first: it sees pods we may not.
    if workload is not None:
        desired, ready = desired_replicas(workload), ready_replicas(workload)
        if ready < desired:
            problems.append(f"{ready}/{desired} replicas ready")
    if not live:
        if workload is not None and desired_replicas(workload) == 0:
            return Reading(HealthState.UNKNOWN, "the workload is scaled to zero; nothing to judge")
        return Reading(HealthState.UNKNOWN, "no pods to judge health by")

    # Then each pod: readiness, waiting states, recent terminations.
    for pod in live:
        name = (pod.get("metadata") or {}).get("name", "?")
        if not is_pod_ready(pod):
            problems.append(f"Pod {name} is not Ready")
        since = ready_since(pod)
        if since is not None and is_pod_ready(pod):
            latest_failure = max(latest_failure or since, since)
        for container in container_statuses(pod):
            cname = container.get("name", "?")
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in _ALWAYS_UNHEALTHY_WAITING | reasons:
                problems.append(f"container {cname} of Pod {name} is {waiting['reason']}")
            last = (container.get("lastState") or {}).get("terminated") or {}
            finished = parse_time(last.get("finishedAt"))
            if finished is None:
                continue
            watched = last.get("reason") in reasons or int(last.get("exitCode") or 0) != 0
            if watched and finished >= window_start:
                problems.append(
                    f"container {cname} of Pod {name} ended {last.get('reason', 'with an error')} "
                    f"at {finished.isoformat()}"
                )
            if watched:
                latest_failure = max(latest_failure or finished, finished)

    if problems:
        return Reading(HealthState.UNHEALTHY, "; ".join(problems[:5]))
    return Reading(
        HealthState.HEALTHY,
        f"{len(live)} pods Ready, no failures within {window_seconds}s",
        since=min(latest_failure, now) if latest_failure else None,
    )


def merge_health(previous: Health | None, reading: Reading, *, now: datetime.datetime) -> Health:
    """The incident's health after a new reading: ``since`` moves only on a change."""
    if previous is not None and previous.state == reading.state:
        since = previous.since
    else:
        since = reading.since if reading.since is not None and reading.since <= now else now
    return Health(
        state=reading.state,
        since=since,
        observed_at=now,
        value=reading.value,
        message=reading.message[:2048],
    )


def is_stable(health: Health | None, *, now: datetime.datetime, seconds: int) -> bool:
    """Whether the target has been healthy for at least ``seconds``."""
    if health is None or health.state != HealthState.HEALTHY:
        return False
    return (now - health.since).total_seconds() >= seconds


def failing_pods(
    pods: Sequence[Mapping[str, Any]],
    trigger: PodFailureTrigger | None,
    *,
    evidence_keys: Sequence[str],
    now: datetime.datetime,
    window_seconds: int,
) -> list[str]:
    """The names of the pods a pod action should act on, most clearly failing first.

    Pods named by the incident's evidence come first, then pods that fail by
    the same rules as ``assess_pods``; terminating pods are left alone.
    """
    evidence_pods = {key.split("/", 1)[0] for key in evidence_keys}
    chosen: list[tuple[int, str]] = []
    for pod in pods:
        metadata = pod.get("metadata") or {}
        if metadata.get("deletionTimestamp"):
            continue
        name = str(metadata.get("name", ""))
        reading = assess_pods(None, [pod], trigger, now=now, window_seconds=window_seconds)
        if name in evidence_pods and reading.state != HealthState.HEALTHY:
            chosen.append((0, name))
        elif reading.state == HealthState.UNHEALTHY:
            chosen.append((1, name))
        elif name in evidence_pods:
            chosen.append((2, name))
    return [name for _, name in sorted(chosen)]


def unavailability_of(
    workload: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], chosen: Sequence[str]
) -> Unavailability:
    """The workload's replicas for the maxUnavailablePercent rail, if ``chosen`` were hit."""
    desired = desired_replicas(workload)
    ready_names = {(p.get("metadata") or {}).get("name") for p in pods if is_pod_ready(p)}
    return Unavailability(
        desired=desired,
        unavailable=max(desired - ready_replicas(workload), 0),
        touching_ready=sum(1 for name in chosen if name in ready_names),
    )
