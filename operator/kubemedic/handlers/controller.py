"""The controller: the clients and the shared state, and carrying out plans.

One ``Controller`` lives for the operator's lifetime. The kopf handlers in
``registering`` forward to it; the modules ``incidents``, ``pods``,
``policies`` and ``queries`` hold the logic per resource.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from kubemedic import GROUP, metrics
from kubemedic.api.common import utcnow
from kubemedic.api.incidents import Incident, NotificationRecord
from kubemedic.clients.acting import Actuator
from kubemedic.clients.apiserver import ApiServer, resource_path
from kubemedic.clients.notifying import Notifier
from kubemedic.clients.owners import OwnerResolver
from kubemedic.clients.prometheus import Prometheus
from kubemedic.clients.store import Store
from kubemedic.domain import notices
from kubemedic.domain.lifecycle import Plan
from kubemedic.domain.selecting import matches_selector
from kubemedic.errors import ConflictError, KubemedicError
from kubemedic.handlers.runtime import (
    Evidence,
    IncidentIndex,
    KeyedLocks,
    PolicyBook,
    PolicyEntry,
    ReconcileQueue,
    RestartHistory,
)

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

PAUSE_ANNOTATION = f"{GROUP}/paused"
_SEEN_LIMIT = 10_000
_TARGETS_TTL_SECONDS = 30.0
_PAUSE_TTL_SECONDS = 2.0
_RECORD_ATTEMPTS = 5


@dataclasses.dataclass
class Settings:
    """How the operator runs; set from the command line."""

    resync_seconds: float = 5.0
    workers: int = 4
    pause_namespace: str | None = None


class Controller:
    """Everything the handlers share."""

    def __init__(
        self,
        *,
        server: ApiServer,
        actuator: Actuator,
        prometheus: Prometheus | None,
        notifier: Notifier | None,
        settings: Settings,
    ) -> None:
        from kubemedic.handlers.incidents import reconcile_incident
        from kubemedic.handlers.queries import Evaluators

        self.server = server
        self.store = Store(server)
        self.actuator = actuator
        self.prometheus = prometheus
        self.notifier = notifier
        self.settings = settings
        self.book = PolicyBook()
        self.index = IncidentIndex()
        self.evidence = Evidence()
        self.locks = KeyedLocks()
        self.restarts = RestartHistory()
        self.queue = ReconcileQueue(
            lambda ns, name: reconcile_incident(self, ns, name), workers=settings.workers
        )
        self.owners = OwnerResolver(server)
        self.evaluators = Evaluators(self)
        self.pending_rechecks: set[tuple[str, str]] = set()
        self.policy_statuses: dict[tuple[str, str], dict[str, Any]] = {}
        self.unsent: dict[tuple[str, str], set[str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()
        self._targets: dict[tuple[str, str], tuple[float, int]] = {}
        self._paused: tuple[float, bool] = (0.0, False)

    # --- Lifetime ------------------------------------------------------------------------

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a background task that is cancelled when the operator stops."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Cancel everything started in the background, and wait for it."""
        await self.evaluators.stop()
        await self.queue.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- Evidence already joined by this process --------------------------------------------

    def seen_evidence(self, fingerprint: str, key: str) -> bool:
        """Whether this process already joined that evidence (a cheap pre-check)."""
        return (fingerprint, key) in self._seen

    def remember_evidence(self, fingerprint: str, key: str) -> None:
        self._seen[(fingerprint, key)] = None
        if len(self._seen) > _SEEN_LIMIT:
            self._seen.popitem(last=False)

    # --- Carrying out a plan ----------------------------------------------------------------

    async def carry_out(self, incident: Incident, plan: Plan) -> Incident:
        """Post the plan's Events and send its notifications (the status is written).

        Returns the incident as stored afterwards: recording notifications
        writes its status again.
        """
        now = utcnow()
        reference = _reference(incident)
        target = incident.spec.target
        target_reference = {
            "apiVersion": "v1" if target.kind == "Pod" else "apps/v1",
            "kind": target.kind.value,
            "metadata": {"namespace": target.namespace, "name": target.name, "uid": target.uid},
        }
        for note in plan.notes:
            await self.store.post_event(
                reference, type_=note.type, reason=note.reason, message=note.message, now=now
            )
            if note.on_target:
                await self.store.post_event(
                    target_reference,
                    type_=note.type,
                    reason=note.reason,
                    message=f"{note.message} (Incident {incident.metadata.get('name')})",
                    now=now,
                )
        if plan.notify:
            return await self.notify(incident, plan.notify)
        return incident

    async def notify(self, incident: Incident, events: tuple[Any, ...]) -> Incident:
        """Send each event to the receivers that want it, once per key."""
        entry = self.book.get(str(incident.metadata["namespace"]), incident.spec.policy_ref.name)
        if entry is None or self.notifier is None or not entry.spec.notifications.receivers:
            return incident
        now = utcnow()
        namespace = str(incident.metadata["namespace"])
        records: list[NotificationRecord] = []
        self.unsent.pop(_key(incident), None)
        for event in events:
            notice = notices.build_notice(incident, event, now=now)
            for receiver in notices.receivers_for(entry.spec, notice):
                key = notices.notification_key(receiver, event, incident)
                if notices.is_already_sent(incident.status, key):
                    continue
                result = await self.notifier.deliver(receiver, notice, namespace=namespace, key=key)
                outcome = "Delivered" if result.delivered else "Failed"
                metrics.NOTIFICATIONS.labels(receiver.type.value, outcome).inc()
                if result.retry_after is not None:
                    # A passing failure is not recorded: the next pass tries again.
                    self.unsent.setdefault(_key(incident), set()).add(str(event))
                    continue
                records.append(
                    notices.notification_record(
                        receiver,
                        event,
                        key=key,
                        delivered=result.delivered,
                        message=result.message,
                        now=now,
                    )
                )
        if not records:
            return incident

        # The record keeps each notification from being sent twice. Other
        # writers (the reconciler) may change the status meanwhile: on a
        # conflict, read again and add the records to the newer status.
        name = str(incident.metadata["name"])
        for attempt in range(_RECORD_ATTEMPTS):
            try:
                fresh = await self.store.read_incident(namespace, name)
                kept = list(fresh.status.notifications)
                for record in records:
                    kept = notices.record(kept, record)
                return await self.store.write_status(
                    fresh, fresh.status.model_copy(update={"notifications": kept})
                )
            except ConflictError:
                if attempt + 1 < _RECORD_ATTEMPTS:
                    continue
                logger.warning(
                    "Recording notifications on Incident %s/%s kept conflicting", namespace, name
                )
            except KubemedicError as exc:
                logger.warning(
                    "Recording notifications on Incident %s/%s failed: %s", namespace, name, exc
                )
                break
        return incident

    # --- Facts for the rails ----------------------------------------------------------------

    async def count_targets(self, entry: PolicyEntry) -> int:
        """How many workloads the policy selects (cached for a short while)."""
        key = (entry.namespace, entry.name)
        cached = self._targets.get(key)
        if cached is not None and time.monotonic() - cached[0] < _TARGETS_TTL_SECONDS:
            return cached[1]
        count = 0
        plurals = {
            "Deployment": "deployments",
            "StatefulSet": "statefulsets",
            "DaemonSet": "daemonsets",
        }
        for kind in entry.spec.selector.kinds:
            try:
                items = await self.server.list(
                    resource_path("apps/v1", plurals[kind.value], namespace=entry.namespace)
                )
            except KubemedicError as exc:
                logger.warning("Listing %s of %s failed: %s", kind, entry.namespace, exc)
                continue
            for item in items:
                labels = ((item.get("spec") or {}).get("template") or {}).get("metadata", {})
                if matches_selector(labels.get("labels") or {}, entry.spec.selector):
                    count += 1
        self._targets[key] = (time.monotonic(), count)
        return count

    async def is_globally_paused(self) -> bool:
        """Whether the operator's namespace carries ``kubemedic.io/paused: "true"``."""
        namespace = self.settings.pause_namespace
        if not namespace:
            return False
        checked_at, paused = self._paused
        if time.monotonic() - checked_at < _PAUSE_TTL_SECONDS:
            return paused
        try:
            body = await self.server.get(resource_path("v1", "namespaces", name=namespace))
            annotations = (body.get("metadata") or {}).get("annotations") or {}
            paused = str(annotations.get(PAUSE_ANNOTATION, "")).lower() == "true"
        except KubemedicError as exc:
            # NB: when the switch cannot be read, err on the side of not acting.
            logger.warning("Reading the pause switch on Namespace %s failed: %s", namespace, exc)
            paused = True
        self._paused = (time.monotonic(), paused)
        return paused


def _key(incident: Incident) -> tuple[str, str]:
    return str(incident.metadata["namespace"]), str(incident.metadata["name"])


def _reference(incident: Incident) -> dict[str, Any]:
    return {
        "apiVersion": incident.api_version,
        "kind": incident.kind,
        "metadata": {
            "namespace": incident.metadata.get("namespace"),
            "name": incident.metadata.get("name"),
            "uid": incident.metadata.get("uid"),
        },
    }
