"""What the handlers share while the operator runs.

- ``PolicyBook``: the valid policies, parsed once per change, by namespace.
- ``IncidentIndex``: a summary of every incident seen on the watch, for the
  periodic resync and the policies' counters.
- ``ReconcileQueue``: incidents waiting to be reconciled, each at most once
  in the queue and never by two workers at once (a work queue in the manner
  of controller-runtime).
- ``KeyedLocks``: in-process locks per incident, fingerprint and policy.

Nothing here is the source of truth: the custom resources are. All of it is
rebuilt from the watches after a restart.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any

from kubemedic.api.incidents import Incident, Phase
from kubemedic.api.policies import RemediationPolicySpec
from kubemedic.domain.detecting import RestartSample
from kubemedic.domain.health import Reading
from kubemedic.domain.lifecycle import counted_action_times, is_being_remediated

logger = logging.getLogger(__name__)

Key = tuple[str, str]


@dataclasses.dataclass(frozen=True)
class PolicyEntry:
    """A valid policy as last seen on the watch."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: RemediationPolicySpec
    body: dict[str, Any]


class PolicyBook:
    """The valid policies, by namespace."""

    def __init__(self) -> None:
        self._entries: dict[Key, PolicyEntry] = {}
        self._by_namespace: dict[str, dict[str, PolicyEntry]] = collections.defaultdict(dict)

    def put(self, entry: PolicyEntry) -> None:
        self._entries[(entry.namespace, entry.name)] = entry
        self._by_namespace[entry.namespace][entry.name] = entry

    def remove(self, namespace: str, name: str) -> None:
        self._entries.pop((namespace, name), None)
        self._by_namespace.get(namespace, {}).pop(name, None)

    def get(self, namespace: str, name: str) -> PolicyEntry | None:
        return self._entries.get((namespace, name))

    def in_namespace(self, namespace: str) -> list[PolicyEntry]:
        return list(self._by_namespace.get(namespace, {}).values())

    def has_any_in(self, namespace: str | None) -> bool:
        return bool(namespace and self._by_namespace.get(namespace))

    def all(self) -> list[PolicyEntry]:
        return list(self._entries.values())


@dataclasses.dataclass(frozen=True)
class IncidentSummary:
    """What the index keeps of an incident."""

    namespace: str
    name: str
    policy: str
    trigger: str
    target_kind: str
    target_name: str
    phase: Phase
    generation: int
    is_remediating: bool
    action_times: tuple[datetime.datetime, ...]

    @property
    def is_open(self) -> bool:
        return self.phase != Phase.RESOLVED


class IncidentIndex:
    """Every incident seen on the watch, summarized."""

    def __init__(self) -> None:
        self._summaries: dict[Key, IncidentSummary] = {}

    def put(self, incident: Incident) -> IncidentSummary:
        metadata = incident.metadata
        summary = IncidentSummary(
            namespace=str(metadata.get("namespace")),
            name=str(metadata.get("name")),
            policy=incident.spec.policy_ref.name,
            trigger=incident.spec.trigger,
            target_kind=incident.spec.target.kind.value,
            target_name=incident.spec.target.name,
            phase=incident.status.phase,
            generation=int(metadata.get("generation") or 0),
            is_remediating=is_being_remediated(incident.status),
            action_times=tuple(counted_action_times(incident.status)),
        )
        self._summaries[(summary.namespace, summary.name)] = summary
        return summary

    def get(self, namespace: str, name: str) -> IncidentSummary | None:
        return self._summaries.get((namespace, name))

    def remove(self, namespace: str, name: str) -> None:
        self._summaries.pop((namespace, name), None)

    def of_policy(self, namespace: str, policy: str) -> list[IncidentSummary]:
        return [
            s for s in self._summaries.values() if s.namespace == namespace and s.policy == policy
        ]

    def open(self) -> list[IncidentSummary]:
        return [s for s in self._summaries.values() if s.is_open]


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: collections.Counter[Hashable] = collections.Counter()

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] <= 0:
                del self._users[key]
                self._locks.pop(key, None)


class ReconcileQueue:
    """Incidents to reconcile; each key queued once, handled by one worker at a time."""

    def __init__(self, worker: Callable[[str, str], Awaitable[None]], *, workers: int = 4) -> None:
        self._worker = worker
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
        self._active: set[Key] = set()
        self._again: set[Key] = set()
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._work(), name=f"reconciler-{i}") for i in range(self._workers)
        ]

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def add(self, namespace: str, name: str, *, after: float = 0.0) -> None:
        """Queue an incident now, or after ``after`` seconds."""
        key = (namespace, name)
        if after > 0:
            loop = asyncio.get_running_loop()
            handle = loop.call_later(after, self.add, namespace, name)
            self._timers.add(handle)
            return
        if key in self._active:
            self._again.add(key)
            return
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            self._active.add(key)
            try:
                await self._worker(*key)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Reconciling Incident %s/%s failed; retrying later", *key)
                self.add(*key, after=5.0)
            finally:
                self._active.discard(key)
                if key in self._again:
                    self._again.discard(key)
                    self.add(*key)
            self._timers = {t for t in self._timers if not t.cancelled()}


@dataclasses.dataclass
class Evidence:
    """The latest readings from the query evaluators, by incident target."""

    readings: dict[tuple[str, str, str, str, str], Reading] = dataclasses.field(
        default_factory=dict
    )

    def put(
        self, namespace: str, policy: str, trigger: str, kind: str, name: str, reading: Reading
    ) -> None:
        self.readings[(namespace, policy, trigger, kind, name)] = reading

    def get(
        self, namespace: str, policy: str, trigger: str, kind: str, name: str
    ) -> Reading | None:
        return self.readings.get((namespace, policy, trigger, kind, name))


class RestartHistory:
    """Recent restart counts per pod, for restart-burst detection."""

    def __init__(self, *, per_pod: int = 32, pods: int = 20_000) -> None:
        self._samples: collections.OrderedDict[str, collections.deque[RestartSample]] = (
            collections.OrderedDict()
        )
        self._per_pod = per_pod
        self._pods = pods

    def record(self, uid: str, sample: RestartSample) -> list[RestartSample]:
        """Add a sample; returns the samples before it."""
        samples = self._samples.get(uid)
        if samples is None:
            samples = collections.deque(maxlen=self._per_pod)
            self._samples[uid] = samples
            if len(self._samples) > self._pods:
                self._samples.popitem(last=False)
        self._samples.move_to_end(uid)
        before = list(samples)
        if not samples or samples[-1].restarts != sample.restarts:
            samples.append(sample)
        return before

    def forget(self, uid: str) -> None:
        self._samples.pop(uid, None)
