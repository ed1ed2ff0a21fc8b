"""Pod failures: which states of a pod count as a failure for a trigger.

A pod is read as the API serves it (a plain mapping), so the same functions
serve kopf's watch bodies and listed objects. Each failure carries an
*evidence key* that names the very occurrence (pod, container, restart count,
reason): the same pod seen again after a restart of the operator, or through
another status update, yields the same key and is not counted twice.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from kubemedic.api.policies import FailureReason, PodFailureTrigger

# Reasons a container reports while waiting, and as a termination reason.
_WAITING_REASONS = {
    FailureReason.CRASH_LOOP_BACK_OFF,
    FailureReason.IMAGE_PULL_BACK_OFF,
    FailureReason.ERR_IMAGE_PULL,
    FailureReason.CREATE_CONTAINER_CONFIG_ERROR,
}
_TERMINATED_REASONS = {FailureReason.OOM_KILLED, FailureReason.ERROR}


@dataclasses.dataclass(frozen=True)
class PodFailure:
    """One failure seen on a pod."""

    reason: str
    pod: str
    container: str | None
    evidence_key: str
    began_at: datetime.datetime
    message: str


@dataclasses.dataclass(frozen=True)
class RestartSample:
    """A pod's total restart count at one moment."""

    time: datetime.datetime
    restarts: int


def parse_time(value: Any) -> datetime.datetime | None:
    """A Kubernetes timestamp (string or datetime) as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def container_statuses(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every container status of a pod, init containers included."""
    status = pod.get("status") or {}
    yield from status.get("initContainerStatuses") or []
    yield from status.get("containerStatuses") or []


def total_restarts(pod: Mapping[str, Any]) -> int:
    """The restarts of all containers of a pod, summed."""
    return sum(int(c.get("restartCount") or 0) for c in container_statuses(pod))


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    """Whether the pod's Ready condition is True."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def ready_since(pod: Mapping[str, Any]) -> datetime.datetime | None:
    """When the pod's Ready condition last changed, if known."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return parse_time(condition.get("lastTransitionTime"))
    return None


def detect_pod_failures(
    pod: Mapping[str, Any],
    trigger: PodFailureTrigger,
    *,
    now: datetime.datetime,
    restart_history: Sequence[RestartSample] = (),
) -> list[PodFailure]:
    """The failures of ``pod`` that ``trigger`` cares about, oldest evidence first.

    ``restart_history`` holds earlier restart counts of the same pod (from the
    watch); a burst is also recognised without it when the pod is younger
    than the burst window and has already restarted often enough.
    """
    metadata = pod.get("metadata") or {}
    status = pod.get("status") or {}
    name = str(metadata.get("name", ""))
    uid = str(metadata.get("uid", ""))[:8]
    if metadata.get("deletionTimestamp"):
        return []
    wanted = set(trigger.reasons)
    failures: list[PodFailure] = []

    # The pod itself: evictions end the pod with a reason of its own.
    if FailureReason.EVICTED in wanted and status.get("reason") == "Evicted":
        failures.append(
            PodFailure(
                reason=FailureReason.EVICTED,
                pod=name,
                container=None,
                evidence_key=f"{name}/{uid}/Evicted",
                began_at=parse_time(status.get("startTime")) or now,
                message=f"Pod {name} was evicted: {status.get('message', '')}".strip(),
            )
        )

    # Each container: its current state, then its last termination.
    for container in container_statuses(pod):
        cname = str(container.get("name", ""))
        restarts = int(container.get("restartCount") or 0)
        state = container.get("state") or {}
        waiting = state.get("waiting") or {}
        terminated = state.get("terminated") or {}
        last = (container.get("lastState") or {}).get("terminated") or {}
        if waiting.get("reason") in wanted and waiting.get("reason") in _WAITING_REASONS:
            reason = str(waiting["reason"])
            failures.append(
                PodFailure(
                    reason=reason,
                    pod=name,
                    container=cname,
                    evidence_key=f"{name}/{cname}/{restarts}/{reason}",
                    began_at=parse_time(last.get("finishedAt")) or now,
                    message=f"Container {cname} of Pod {name} is in {reason} after {restarts} "
                    f"restarts",
                )
            )
        for termination, when in ((terminated, "is"), (last, "was")):
            ended_by = termination.get("reason")
            if ended_by in wanted and ended_by in _TERMINATED_REASONS:
                reason = str(ended_by)
                finished = parse_time(termination.get("finishedAt")) or now
                # The current termination is restart N; the last one was N-1 or N.
                failures.append(
                    PodFailure(
                        reason=reason,
                        pod=name,
                        container=cname,
                        evidence_key=f"{name}/{cname}/{finished.isoformat()}/{reason}",
                        began_at=finished,
                        message=f"Container {cname} of Pod {name} {when} {reason} "
                        f"(exit code {termination.get('exitCode', '?')}, restarts {restarts})",
                    )
                )

    # Restart bursts: too many restarts within the window.
    burst = trigger.restart_burst
    if burst is not None:
        restarts_now = total_restarts(pod)
        window_start = now - datetime.timedelta(seconds=burst.within_seconds)
        earlier = [s for s in restart_history if s.time >= window_start]
        baseline = min((s.restarts for s in earlier), default=None)
        started = parse_time(status.get("startTime"))
        if started is not None and started >= window_start:
            baseline = 0
        if baseline is not None and restarts_now - baseline >= burst.count:
            failures.append(
                PodFailure(
                    reason="RestartBurst",
                    pod=name,
                    container=None,
                    evidence_key=f"{name}/{uid}/burst/{restarts_now}",
                    began_at=now,
                    message=f"Pod {name} restarted {restarts_now - baseline} times within "
                    f"{burst.within_seconds}s (limit {burst.count})",
                )
            )

    # Not ready for too long, while running.
    if trigger.not_ready_for_seconds is not None and status.get("phase") == "Running":
        since = ready_since(pod)
        limit = datetime.timedelta(seconds=trigger.not_ready_for_seconds)
        if not is_pod_ready(pod) and since is not None and now - since >= limit:
            failures.append(
                PodFailure(
                    reason="NotReady",
                    pod=name,
                    container=None,
                    evidence_key=f"{name}/{uid}/notready/{since.isoformat()}",
                    began_at=since,
                    message=f"Pod {name} has not been Ready for "
                    f"{int((now - since).total_seconds())}s "
                    f"(limit {trigger.not_ready_for_seconds}s)",
                )
            )
    failures.sort(key=lambda f: f.began_at)
    return failures


def not_ready_deadline(
    pod: Mapping[str, Any], trigger: PodFailureTrigger
) -> datetime.datetime | None:
    """When a not-ready pod will have been not ready for the trigger's limit, if ever.

    The watch says nothing while time passes; the caller rechecks the pod at
    this moment.
    """
    if trigger.not_ready_for_seconds is None or is_pod_ready(pod):
        return None
    since = ready_since(pod)
    if since is None:
        return None
    return since + datetime.timedelta(seconds=trigger.not_ready_for_seconds)
