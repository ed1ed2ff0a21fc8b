"""The kopf registrations: which resources are watched, and how.

Only *event* handlers are used. kopf's change-detection handlers would store
a diff base and progress in annotations on every pod; timers and daemons
would put a finalizer on every incident. Neither is needed: the state that
matters lives in our resources' status, and the periodic work is done by our
own reconcile queue and evaluators, started and stopped with the operator.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from kubemedic import GROUP, VERSION
from kubemedic.api.incidents import Incident
from kubemedic.handlers.controller import Controller
from kubemedic.handlers.pods import handle_pod
from kubemedic.handlers.policies import handle_policy, refresh_policy_status

logger = logging.getLogger(__name__)

POLICY_STATUS_SECONDS = 10.0


def register(registry: kopf.OperatorRegistry, ctl: Controller) -> None:
    """Register every handler of the operator into ``registry``."""

    @kopf.on.startup(registry=registry)
    async def start(**_: Any) -> None:
        ctl.queue.start()
        ctl.spawn(_resync(ctl))
        ctl.spawn(_refresh_policies(ctl))

    @kopf.on.cleanup(registry=registry)
    async def stop(**_: Any) -> None:
        await ctl.stop()

    @kopf.on.event(GROUP, VERSION, "remediationpolicies", registry=registry)
    async def policy_event(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
        await handle_policy(ctl, event.get("type"), body)

    @kopf.on.event(GROUP, VERSION, "incidents", registry=registry)
    async def incident_event(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
        metadata = body.get("metadata") or {}
        namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
        if event.get("type") == "DELETED":
            ctl.index.remove(namespace, name)
            return
        try:
            incident = Incident.from_wire(dict(body))
        except ValueError as exc:
            logger.warning("Incident %s/%s cannot be read: %s", namespace, name, exc)
            return

        # NB: only news from outside (a new incident, a human's spec change)
        # wakes the reconciler; our own status writes come back here too.
        before = ctl.index.get(namespace, name)
        summary = ctl.index.put(incident)
        if before is None or before.generation != summary.generation:
            ctl.queue.add(namespace, name)

    @kopf.on.event(
        "",
        "v1",
        "pods",
        registry=registry,
        when=lambda namespace, **_: ctl.book.has_any_in(namespace),
    )
    async def pod_event(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
        await handle_pod(ctl, event.get("type"), body)


async def _resync(ctl: Controller) -> None:
    """Queue every open incident on an interval: time passes without events."""
    while True:
        await asyncio.sleep(ctl.settings.resync_seconds)
        for summary in ctl.index.open():
            ctl.queue.add(summary.namespace, summary.name)


async def _refresh_policies(ctl: Controller) -> None:
    """Keep the policies' counters and RemediationAllowed condition current."""
    while True:
        await asyncio.sleep(POLICY_STATUS_SECONDS)
        for entry in ctl.book.all():
            try:
                await refresh_policy_status(ctl, entry)
            except Exception:
                logger.exception(
                    "Refreshing the status of RemediationPolicy %s/%s failed",
                    entry.namespace,
                    entry.name,
                )
