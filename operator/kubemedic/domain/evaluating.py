"""Prometheus results against a trigger: which targets fail, which are healthy.

The ``for`` duration is judged from a range query over the last
``forSeconds`` rather than from memory: a target fires when every sample of
the window is on the failing side and the series covers the whole window. So
a restarted operator judges exactly as the old one would have, with no
pending state to lose. ``resolveThreshold`` gives hysteresis: between the two
thresholds a target is neither failing nor healthy.

A failure whose run reaches back to the first sample is *continuing*: it
began before the window, and the evaluation that saw it begin already
signalled it. Its ``failing_since`` is only the window's edge, which moves
with every evaluation, so it must not name new evidence.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any

from kubemedic.api.incidents import TargetKind
from kubemedic.api.policies import Comparator, PrometheusTrigger, TargetMapping


class Verdict(enum.StrEnum):
    """What one series says about its target."""

    FIRING = "Firing"
    PENDING = "Pending"
    BETWEEN = "Between"
    HEALTHY = "Healthy"
    NO_DATA = "NoData"


@dataclasses.dataclass(frozen=True)
class SeriesKey:
    """The target a series maps to: a workload, or a pod to be resolved to its owner."""

    kind: TargetKind
    namespace: str
    name: str


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """The verdict for one target, with the value that led to it."""

    target: SeriesKey
    verdict: Verdict
    value: float | None
    message: str
    failing_since: datetime.datetime | None = None
    is_continuing: bool = False


def is_failing(value: float, comparator: Comparator, threshold: float) -> bool:
    """Whether ``value`` is on the failing side of ``threshold``."""
    match comparator:
        case Comparator.GREATER_THAN:
            return value > threshold
        case Comparator.GREATER_OR_EQUAL:
            return value >= threshold
        case Comparator.LESS_THAN:
            return value < threshold
        case Comparator.LESS_OR_EQUAL:
            return value <= threshold


def is_healthy(value: float, trigger: PrometheusTrigger) -> bool:
    """Whether ``value`` is back on the healthy side of ``resolveThreshold``."""
    resolve = trigger.threshold if trigger.resolve_threshold is None else trigger.resolve_threshold
    return not is_failing(value, trigger.comparator, resolve)


def map_series(
    labels: Mapping[str, str], mapping: TargetMapping, *, namespace: str
) -> SeriesKey | None:
    """The target a series is about, or None when its labels do not name one here."""
    if mapping.namespace_label:
        series_namespace = labels.get(mapping.namespace_label)
        if series_namespace is not None and series_namespace != namespace:
            return None
    if mapping.pod_label:
        pod = labels.get(mapping.pod_label)
        return SeriesKey(TargetKind.POD, namespace, pod) if pod else None
    name = labels.get(mapping.name_label)
    if not name:
        return None
    return SeriesKey(TargetKind(mapping.kind.value), namespace, name)


def evaluate_series(
    samples: Sequence[tuple[float, float]],
    trigger: PrometheusTrigger,
    *,
    now: datetime.datetime,
) -> tuple[Verdict, float | None, datetime.datetime | None]:
    """The verdict of one series from its samples ``(unix time, value)``, oldest first."""
    points = [(t, v) for t, v in samples if not math.isnan(v)]
    if not points:
        return Verdict.NO_DATA, None, None
    latest_time, latest = points[-1]
    interval = trigger.evaluation_interval_seconds
    # A series that stopped reporting long ago says nothing about now.
    if now.timestamp() - latest_time > max(3 * interval, 60):
        return Verdict.NO_DATA, None, None
    if not is_failing(latest, trigger.comparator, trigger.threshold):
        if is_healthy(latest, trigger):
            return Verdict.HEALTHY, latest, None
        return Verdict.BETWEEN, latest, None

    # Failing now: since when, without interruption?
    since = latest_time
    for t, v in reversed(points):
        if not is_failing(v, trigger.comparator, trigger.threshold):
            break
        since = t
    failing_since = datetime.datetime.fromtimestamp(since, tz=datetime.UTC)
    if latest_time - since >= trigger.for_seconds:
        return Verdict.FIRING, latest, failing_since
    return Verdict.PENDING, latest, failing_since


def evaluate_result(
    result: Sequence[Mapping[str, Any]],
    trigger: PrometheusTrigger,
    *,
    namespace: str,
    now: datetime.datetime,
) -> list[Evaluation]:
    """Verdicts per target from a range-query ``matrix`` result.

    Several series naming the same target keep the worst verdict.
    """
    by_target: dict[SeriesKey, Evaluation] = {}
    for series in result:
        target = map_series(series.get("metric") or {}, trigger.target_labels, namespace=namespace)
        if target is None:
            continue
        samples = [(float(t), _as_float(v)) for t, v in series.get("values") or []]
        verdict, value, since = evaluate_series(samples, trigger, now=now)
        first = next((t for t, v in samples if not math.isnan(v)), None)
        evaluation = Evaluation(
            target=target,
            verdict=verdict,
            value=value,
            message=describe(verdict, value, trigger),
            failing_since=since,
            is_continuing=since is not None and since.timestamp() == first,
        )
        previous = by_target.get(target)
        if previous is None or _rank(evaluation.verdict) < _rank(previous.verdict):
            by_target[target] = evaluation
    return list(by_target.values())


def describe(verdict: Verdict, value: float | None, trigger: PrometheusTrigger) -> str:
    """A sentence for the timeline about one verdict."""
    op = {
        Comparator.GREATER_THAN: ">",
        Comparator.GREATER_OR_EQUAL: ">=",
        Comparator.LESS_THAN: "<",
        Comparator.LESS_OR_EQUAL: "<=",
    }[trigger.comparator]
    resolve = trigger.threshold if trigger.resolve_threshold is None else trigger.resolve_threshold
    match verdict:
        case Verdict.FIRING:
            return f"value {value:g} {op} {trigger.threshold:g} for {trigger.for_seconds}s"
        case Verdict.PENDING:
            return f"value {value:g} {op} {trigger.threshold:g}, not yet for {trigger.for_seconds}s"
        case Verdict.BETWEEN:
            return (
                f"value {value:g} between threshold {trigger.threshold:g} and resolveThreshold "
                f"{resolve:g}"
            )
        case Verdict.HEALTHY:
            return f"value {value:g} back past resolveThreshold {resolve:g}"
        case Verdict.NO_DATA:
            return "the query returned no data for the target"


def _rank(verdict: Verdict) -> int:
    return [
        Verdict.FIRING,
        Verdict.PENDING,
        Verdict.BETWEEN,
        Verdict.NO_DATA,
        Verdict.HEALTHY,
    ].index(verdict)


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
