"""Pod failures: from a pod's status to a signal for its workload's incident.

The pod watch is the hottest path of the operator: every status change of
every pod in a watched namespace comes through here. So the filter runs
first (only namespaces with a policy), then pure checks on the body; only a
pod that actually fails costs API calls (its owner, once per ReplicaSet; its
incident).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kubemedic.api.common import utcnow
from kubemedic.api.incidents import Target, TargetKind
from kubemedic.api.policies import IncidentScope, TriggerType
from kubemedic.domain.detecting import (
    RestartSample,
    detect_pod_failures,
    not_ready_deadline,
    total_restarts,
)
from kubemedic.domain.lifecycle import Signal
from kubemedic.domain.selecting import matches_selector
from kubemedic.errors import KubemedicError, NotFoundError
from kubemedic.handlers.incidents import open_or_join

if TYPE_CHECKING:
    from kubemedic.handlers.controller import Controller
    from kubemedic.handlers.runtime import PolicyEntry

logger = logging.getLogger(__name__)


async def handle_pod(ctl: Controller, event_type: str | None, pod: Mapping[str, Any]) -> None:
    """Check one pod against every policy of its namespace."""
    metadata = pod.get("metadata") or {}
    namespace = str(metadata.get("namespace", ""))
    uid = str(metadata.get("uid", ""))
    if event_type == "DELETED":
        ctl.restarts.forget(uid)
        return
    entries = ctl.book.in_namespace(namespace)
    if not entries:
        return
    now = utcnow()
    history = ctl.restarts.record(uid, RestartSample(now, total_restarts(pod)))
    labels = metadata.get("labels") or {}

    for entry in entries:
        if not matches_selector(labels, entry.spec.selector):
            continue
        for trigger in entry.spec.triggers:
            if trigger.type != TriggerType.POD_FAILURE or trigger.pod_failure is None:
                continue
            failures = detect_pod_failures(
                pod, trigger.pod_failure, now=now, restart_history=history
            )
            deadline = not_ready_deadline(pod, trigger.pod_failure)
            if deadline is not None and deadline > now and not failures:
                _recheck_later(
                    ctl,
                    namespace,
                    str(metadata.get("name")),
                    (deadline - now).total_seconds() + 0.5,
                )
            if not failures:
                continue
            target = await _target_of(ctl, entry, pod)
            if target is None:
                continue
            for failure in failures:
                signal = Signal(
                    trigger=trigger.name,
                    reason=failure.reason,
                    evidence_key=failure.evidence_key,
                    began_at=failure.began_at,
                    message=failure.message,
                )
                try:
                    await open_or_join(ctl, entry, trigger.name, target, signal)
                except KubemedicError as exc:
                    logger.error(
                        "Recording %s of Pod %s/%s for %s failed: %s",
                        failure.reason,
                        namespace,
                        metadata.get("name"),
                        target.display,
                        exc,
                    )


async def _target_of(ctl: Controller, entry: PolicyEntry, pod: Mapping[str, Any]) -> Target | None:
    metadata = pod.get("metadata") or {}
    namespace = str(metadata.get("namespace"))
    if entry.spec.incident_scope == IncidentScope.POD:
        return Target(
            kind=TargetKind.POD,
            namespace=namespace,
            name=str(metadata.get("name")),
            uid=str(metadata.get("uid")),
        )
    owner = await ctl.owners.workload_of(pod)
    if owner is None:
        logger.debug(
            "Pod %s/%s has no workload; policy %s watches workloads",
            namespace,
            metadata.get("name"),
            entry.name,
        )
        return None
    kind, name = owner
    if kind not in {k.value for k in entry.spec.selector.kinds}:
        return None
    return Target(kind=TargetKind(kind), namespace=namespace, name=name)


def _recheck_later(ctl: Controller, namespace: str, name: str, delay: float) -> None:
    """Look at a not-ready pod again when its not-ready limit passes."""
    key = (namespace, name)
    if key in ctl.pending_rechecks:
        return
    ctl.pending_rechecks.add(key)

    async def recheck() -> None:
        await asyncio.sleep(delay)
        ctl.pending_rechecks.discard(key)
        try:
            pod = await ctl.server.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
        except NotFoundError:
            return
        except KubemedicError as exc:
            logger.warning("Rechecking Pod %s/%s failed: %s", namespace, name, exc)
            return
        await handle_pod(ctl, "MODIFIED", pod)

    ctl.spawn(recheck())
