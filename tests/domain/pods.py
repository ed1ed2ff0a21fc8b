"""Pod and workload bodies as the API server serves them, for the domain tests.

Each builder returns a plain dict with only the fields the domain reads, so a
test spells out the one state it is about and nothing else.
"""

from __future__ import annotations

import datetime
from typing import Any

NOW = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.UTC)


def ago(seconds: float) -> datetime.datetime:
    """A moment ``seconds`` before ``NOW``."""
    return NOW - datetime.timedelta(seconds=seconds)


def stamp(moment: datetime.datetime) -> str:
    """A timestamp as the API server writes it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def container(
    name: str = "app",
    *,
    restarts: int = 0,
    waiting: str | None = None,
    terminated: str | None = None,
    terminated_at: datetime.datetime | None = None,
    last_terminated: str | None = None,
    last_terminated_at: datetime.datetime | None = None,
    exit_code: int = 137,
) -> dict[str, Any]:
    """A container status; the running state unless waiting or terminated."""
    if waiting is not None:
        state: dict[str, Any] = {"waiting": {"reason": waiting}}
    elif terminated is not None:
        finished = stamp(terminated_at or ago(5))
        state = {
            "terminated": {"reason": terminated, "exitCode": exit_code, "finishedAt": finished}
        }
    else:
        state = {"running": {"startedAt": stamp(ago(600))}}
    last: dict[str, Any] = {}
    if last_terminated is not None:
        finished = stamp(last_terminated_at or ago(30))
        last = {
            "terminated": {"reason": last_terminated, "exitCode": exit_code, "finishedAt": finished}
        }
    return {"name": name, "restartCount": restarts, "state": state, "lastState": last}


def pod(
    name: str = "api-7d9f-x1",
    *,
    containers: list[dict[str, Any]] | None = None,
    is_ready: bool = True,
    ready_changed_at: datetime.datetime | None = None,
    phase: str = "Running",
    started_at: datetime.datetime | None = None,
    reason: str | None = None,
    is_terminating: bool = False,
) -> dict[str, Any]:
    """A pod of the workload ``api``; Running and Ready unless told otherwise."""
    metadata: dict[str, Any] = {"name": name, "uid": f"uid-of-{name}"}
    if is_terminating:
        metadata["deletionTimestamp"] = stamp(ago(1))
    status: dict[str, Any] = {
        "phase": phase,
        "startTime": stamp(started_at or ago(86_400)),
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if is_ready else "False",
                "lastTransitionTime": stamp(ready_changed_at or ago(3_600)),
            }
        ],
        "containerStatuses": containers if containers is not None else [container()],
    }
    if reason is not None:
        status["reason"] = reason
        status["message"] = "The node was low on resource: memory."
    return {"metadata": metadata, "status": status}


def deployment(*, replicas: int | None = 2, ready: int = 2) -> dict[str, Any]:
    """A Deployment named ``api`` with its desired and ready replica counts."""
    spec: dict[str, Any] = {} if replicas is None else {"replicas": replicas}
    return {
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "shop"},
        "spec": spec,
        "status": {"readyReplicas": ready},
    }
