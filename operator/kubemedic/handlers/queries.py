"""Query triggers: Prometheus thresholds and memory trends, on their intervals.

One evaluator task per trigger of each policy: one query per interval,
whatever the number of targets. Each evaluation does two things:

- a target that fires becomes a signal (opening or joining its incident);
- every open incident of the trigger gets a health reading (healthy,
  unhealthy, or unknown when data is missing or Prometheus does not answer),
  which the reconciler picks up.

Missing data is never health: ``onNoData`` decides whether it is ignored,
inconclusive (the incident says its evidence is missing) or a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from typing import TYPE_CHECKING

from kubemedic import metrics
from kubemedic.api.common import utcnow
from kubemedic.api.incidents import HealthState, Phase, Target, TargetKind
from kubemedic.api.policies import (
    IncidentScope,
    MemoryTrendTrigger,
    NoDataPolicy,
    PrometheusTrigger,
    Trigger,
    TriggerType,
)
from kubemedic.clients.prometheus import Series
from kubemedic.domain.evaluating import SeriesKey, Verdict, evaluate_result
from kubemedic.domain.fingerprints import fingerprint_of
from kubemedic.domain.health import Reading
from kubemedic.domain.lifecycle import Signal
from kubemedic.domain.trends import assess_trend
from kubemedic.errors import KubemedicError, NotFoundError, UnavailableError
from kubemedic.handlers.incidents import open_or_join

if TYPE_CHECKING:
    from kubemedic.handlers.controller import Controller
    from kubemedic.handlers.runtime import PolicyEntry

logger = logging.getLogger(__name__)

_READINGS = {
    Verdict.FIRING: HealthState.UNHEALTHY,
    Verdict.PENDING: HealthState.UNHEALTHY,
    Verdict.BETWEEN: HealthState.UNHEALTHY,
    Verdict.HEALTHY: HealthState.HEALTHY,
}


class Evaluators:
    """The evaluator tasks, one per (namespace, policy, trigger)."""

    def __init__(self, ctl: Controller) -> None:
        self._ctl = ctl
        self._tasks: dict[tuple[str, str, str], tuple[int, asyncio.Task[None]]] = {}

    def sync_policy(self, entry: PolicyEntry) -> None:
        """Start, restart or stop the policy's evaluators to match its spec."""
        wanted = {
            t.name
            for t in entry.spec.triggers
            if t.type in (TriggerType.PROMETHEUS_QUERY, TriggerType.MEMORY_TREND)
        }
        for key in list(self._tasks):
            namespace, policy, trigger = key
            if (namespace, policy) != (entry.namespace, entry.name):
                continue
            generation, task = self._tasks[key]
            if trigger not in wanted or generation != entry.generation:
                task.cancel()
                del self._tasks[key]
        if wanted and self._ctl.prometheus is None:
            logger.warning(
                "RemediationPolicy %s/%s has query triggers but no --prometheus-url is set; "
                "they are not evaluated",
                entry.namespace,
                entry.name,
            )
            return
        for name in wanted:
            key = (entry.namespace, entry.name, name)
            if key not in self._tasks:
                task = asyncio.get_running_loop().create_task(
                    self._run(entry.namespace, entry.name, name),
                    name=f"evaluator {entry.namespace}/{entry.name}/{name}",
                )
                self._tasks[key] = (entry.generation, task)

    def stop_policy(self, namespace: str, name: str) -> None:
        for key in [k for k in self._tasks if k[:2] == (namespace, name)]:
            self._tasks.pop(key)[1].cancel()

    async def stop(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        for task in tasks:
            task.cancel()
        self._tasks.clear()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, namespace: str, policy: str, trigger_name: str) -> None:
        while True:
            entry = self._ctl.book.get(namespace, policy)
            trigger = entry.spec.trigger(trigger_name) if entry is not None else None
            if entry is None or trigger is None:
                return
            interval = _interval_of(trigger)
            try:
                await evaluate_trigger(self._ctl, entry, trigger)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(
                    "Evaluating trigger %s of RemediationPolicy %s/%s failed",
                    trigger_name,
                    namespace,
                    policy,
                )
            await asyncio.sleep(interval)


async def evaluate_trigger(ctl: Controller, entry: PolicyEntry, trigger: Trigger) -> None:
    """One evaluation of one query trigger: signals and readings."""
    if trigger.prometheus is not None:
        await _evaluate_threshold(ctl, entry, trigger, trigger.prometheus)
    elif trigger.memory_trend is not None:
        await _evaluate_trend(ctl, entry, trigger, trigger.memory_trend)


async def _evaluate_threshold(
    ctl: Controller, entry: PolicyEntry, trigger: Trigger, settings: PrometheusTrigger
) -> None:
    assert ctl.prometheus is not None
    now = utcnow()
    step = settings.evaluation_interval_seconds
    # NB: the window's points fall on multiples of the step, so that a failure's
    # first failing point, which names its evidence, is the same at every pass.
    end = _floor_to_step(now, step)
    start = end - datetime.timedelta(seconds=settings.for_seconds + step)
    query = settings.query.replace("$namespace", entry.namespace)

    # No answer at all: every open incident of the trigger lacks evidence.
    try:
        result = await ctl.prometheus.query_range(query, start=start, end=end, step_seconds=step)
    except UnavailableError as exc:
        metrics.QUERY_FAILURES.labels(entry.namespace, entry.name, trigger.name).inc()
        logger.warning(
            "Query of trigger %s of RemediationPolicy %s/%s failed: %s",
            trigger.name,
            entry.namespace,
            entry.name,
            exc,
        )
        _mark_missing(ctl, entry, trigger, settings.on_no_data, str(exc))
        return

    evaluations = evaluate_result(result, settings, namespace=entry.namespace, now=now)
    seen: set[tuple[str, str]] = set()
    for evaluation in evaluations:
        target = await _target_for(ctl, entry, evaluation.target)
        if target is None:
            continue
        seen.add((target.kind.value, target.name))
        state = _READINGS.get(evaluation.verdict)
        if state is not None:
            reading = Reading(state, evaluation.message, value=evaluation.value)
            ctl.evidence.put(
                entry.namespace, entry.name, trigger.name, target.kind.value, target.name, reading
            )
        if evaluation.verdict == Verdict.FIRING:
            # A failure older than the window was signalled when it began.
            if evaluation.is_continuing and await _has_open_incident(ctl, entry, trigger, target):
                continue
            since = evaluation.failing_since or now
            signal = Signal(
                trigger=trigger.name,
                reason="ThresholdExceeded",
                evidence_key=f"{trigger.name}/{target.name}/{since.isoformat()}",
                began_at=since,
                message=f"{trigger.name}: {evaluation.message}",
                value=evaluation.value,
            )
            await open_or_join(ctl, entry, trigger.name, target, signal)
    _mark_missing(
        ctl,
        entry,
        trigger,
        settings.on_no_data,
        "the query returned no data for the target",
        skip=seen,
    )
    _wake_incidents(ctl, entry, trigger)


async def _evaluate_trend(
    ctl: Controller, entry: PolicyEntry, trigger: Trigger, settings: MemoryTrendTrigger
) -> None:
    assert ctl.prometheus is not None
    now = utcnow()
    start = now - datetime.timedelta(seconds=settings.window_seconds)
    inner = settings.query.replace("$namespace", entry.namespace)
    query = f"sum by ({settings.pod_label}) ({inner})"
    try:
        result = await ctl.prometheus.query_range(
            query, start=start, end=now, step_seconds=settings.step_seconds
        )
    except UnavailableError as exc:
        metrics.QUERY_FAILURES.labels(entry.namespace, entry.name, trigger.name).inc()
        _mark_missing(ctl, entry, trigger, NoDataPolicy.INCONCLUSIVE, str(exc))
        return

    # Per pod, a verdict; per target, the worst of its pods.
    verdicts: dict[tuple[str, str], tuple[Target, list[str], bool]] = {}
    for series in result:
        pod = (series.get("metric") or {}).get(settings.pod_label)
        if not pod:
            continue
        key = SeriesKey(TargetKind.POD, entry.namespace, str(pod))
        target = await _target_for(ctl, entry, key)
        if target is None:
            continue
        limit = (
            await _memory_limit(ctl, entry.namespace, str(pod))
            if (settings.time_to_limit_seconds is not None)
            else None
        )
        verdict = assess_trend(_samples(series), settings, limit_bytes=limit)
        if verdict is None:
            continue
        slot = verdicts.setdefault((target.kind.value, target.name), (target, [], False))
        messages = [*slot[1], f"Pod {pod}: {verdict.message}"]
        verdicts[(target.kind.value, target.name)] = (
            target,
            messages,
            slot[2] or verdict.is_leaking,
        )
        if verdict.is_leaking:
            bucket = int(now.timestamp()) // settings.window_seconds
            signal = Signal(
                trigger=trigger.name,
                reason="MemoryLeak",
                evidence_key=f"{pod}/trend/{bucket}",
                began_at=start,
                message=f"{trigger.name}: Pod {pod} {verdict.message}",
                value=verdict.growth_percent,
            )
            await open_or_join(ctl, entry, trigger.name, target, signal)
    for target, messages, is_leaking in verdicts.values():
        state = HealthState.UNHEALTHY if is_leaking else HealthState.HEALTHY
        ctl.evidence.put(
            entry.namespace,
            entry.name,
            trigger.name,
            target.kind.value,
            target.name,
            Reading(state, "; ".join(messages)[:2048]),
        )
    _mark_missing(
        ctl,
        entry,
        trigger,
        NoDataPolicy.INCONCLUSIVE,
        "no memory series with enough samples for the target",
        skip={(k, n) for k, n in verdicts},
    )
    _wake_incidents(ctl, entry, trigger)


def _mark_missing(
    ctl: Controller,
    entry: PolicyEntry,
    trigger: Trigger,
    on_no_data: NoDataPolicy,
    message: str,
    *,
    skip: set[tuple[str, str]] | None = None,
) -> None:
    """Readings for the open incidents of the trigger that got no data this time."""
    if on_no_data == NoDataPolicy.IGNORE:
        return
    state = HealthState.UNHEALTHY if on_no_data == NoDataPolicy.FIRE else HealthState.UNKNOWN
    for summary in ctl.index.of_policy(entry.namespace, entry.name):
        if summary.trigger != trigger.name or not summary.is_open:
            continue
        if skip is not None and (summary.target_kind, summary.target_name) in skip:
            continue
        ctl.evidence.put(
            entry.namespace,
            entry.name,
            trigger.name,
            summary.target_kind,
            summary.target_name,
            Reading(state, message),
        )
        ctl.queue.add(summary.namespace, summary.name)


async def _has_open_incident(
    ctl: Controller, entry: PolicyEntry, trigger: Trigger, target: Target
) -> bool:
    """Whether the target has an open incident of the trigger, by the index or else the API.

    The index fills from a watch, which may not have delivered the incidents
    yet right after a restart; the API has them.
    """
    for summary in ctl.index.of_policy(entry.namespace, entry.name):
        if (
            summary.is_open
            and summary.trigger == trigger.name
            and (summary.target_kind, summary.target_name) == (target.kind.value, target.name)
        ):
            return True
    fingerprint = fingerprint_of(policy=entry.name, trigger=trigger.name, target=target)
    try:
        existing = await ctl.store.list_by_fingerprint(entry.namespace, fingerprint)
    except KubemedicError:
        return False
    return any(incident.status.phase != Phase.RESOLVED for incident in existing)


def _floor_to_step(moment: datetime.datetime, step: int) -> datetime.datetime:
    seconds = int(moment.timestamp()) // step * step
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


def _wake_incidents(ctl: Controller, entry: PolicyEntry, trigger: Trigger) -> None:
    for summary in ctl.index.of_policy(entry.namespace, entry.name):
        if summary.trigger == trigger.name and summary.is_open:
            ctl.queue.add(summary.namespace, summary.name)


async def _target_for(ctl: Controller, entry: PolicyEntry, key: SeriesKey) -> Target | None:
    """The incident target of a series: its workload, or its pod with incidentScope Pod."""
    if key.kind != TargetKind.POD:
        return Target(kind=key.kind, namespace=key.namespace, name=key.name)
    if entry.spec.incident_scope == IncidentScope.POD:
        return Target(kind=TargetKind.POD, namespace=key.namespace, name=key.name)
    try:
        pod = await ctl.server.get(f"/api/v1/namespaces/{key.namespace}/pods/{key.name}")
    except NotFoundError:
        return None
    except KubemedicError as exc:
        logger.warning("Reading Pod %s/%s failed: %s", key.namespace, key.name, exc)
        return None
    owner = await ctl.owners.workload_of(pod)
    if owner is None:
        return None
    return Target(kind=TargetKind(owner[0]), namespace=key.namespace, name=owner[1])


async def _memory_limit(ctl: Controller, namespace: str, pod: str) -> float | None:
    with contextlib.suppress(KubemedicError):
        body = await ctl.server.get(f"/api/v1/namespaces/{namespace}/pods/{pod}")
        total = 0.0
        for container in (body.get("spec") or {}).get("containers") or []:
            limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
            if limit is None:
                return None
            total += parse_quantity(str(limit))
        return total or None
    return None


def parse_quantity(text: str) -> float:
    """A Kubernetes memory quantity (``512Mi``, ``1G``, ``1e9``) in bytes."""
    suffixes = {
        "Ki": 1024,
        "Mi": 1024**2,
        "Gi": 1024**3,
        "Ti": 1024**4,
        "Pi": 1024**5,
        "k": 1000,
        "M": 1000**2,
        "G": 1000**3,
        "T": 1000**4,
        "P": 1000**5,
    }
    for suffix, factor in suffixes.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def _samples(series: Series) -> list[tuple[float, float]]:
    samples = []
    for t, v in series.get("values") or []:
        try:
            samples.append((float(t), float(v)))
        except (TypeError, ValueError):
            continue
    return samples


def _interval_of(trigger: Trigger) -> int:
    if trigger.prometheus is not None:
        return trigger.prometheus.evaluation_interval_seconds
    if trigger.memory_trend is not None:
        return trigger.memory_trend.evaluation_interval_seconds
    return 60
