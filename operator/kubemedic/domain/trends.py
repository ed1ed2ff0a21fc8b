"""The memory-leak rule: steady growth of working-set memory.

A leak climbs steadily; a cache warms once and levels off. So the rule wants
both a large growth over the window (first sample to last) and a large share
of rising steps, and, optionally, a trend that reaches the memory limit
within a horizon (a least-squares slope, extrapolated).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence

from kubemedic.api.policies import MemoryTrendTrigger


@dataclasses.dataclass(frozen=True)
class TrendVerdict:
    """What a pod's memory series says."""

    is_leaking: bool
    growth_percent: float
    rising_share_percent: float
    seconds_to_limit: float | None
    message: str


def assess_trend(
    samples: Sequence[tuple[float, float]],
    trigger: MemoryTrendTrigger,
    *,
    limit_bytes: float | None = None,
) -> TrendVerdict | None:
    """The leak verdict of one series ``(unix time, bytes)``, or None without enough data.

    Enough data is four samples spanning at least half the window: a pod
    younger than that has not shown a trend yet.
    """
    points = [(t, v) for t, v in samples if not math.isnan(v)]
    if len(points) < 4 or points[-1][0] - points[0][0] < trigger.window_seconds / 2:
        return None
    first, last = points[0][1], points[-1][1]
    growth = (last - first) / first * 100 if first > 0 else 0.0
    steps = list(itertools.pairwise(points))
    rising = sum(1 for (_, a), (_, b) in steps if b > a) / len(steps) * 100
    slope = _slope(points)
    to_limit: float | None = None
    if limit_bytes is not None and limit_bytes > 0 and slope > 0:
        to_limit = max((limit_bytes - last) / slope, 0.0)

    by_growth = growth >= trigger.growth_percent and rising >= trigger.rising_share_percent
    by_limit = (
        trigger.time_to_limit_seconds is not None
        and to_limit is not None
        and to_limit <= trigger.time_to_limit_seconds
        and rising >= trigger.rising_share_percent
    )
    message = (
        f"working set grew {growth:.0f}% over {int(points[-1][0] - points[0][0])}s with "
        f"{rising:.0f}% of samples rising"
    )
    if to_limit is not None:
        message += f"; at this rate it reaches its limit in {int(to_limit)}s"
    return TrendVerdict(
        is_leaking=by_growth or by_limit,
        growth_percent=growth,
        rising_share_percent=rising,
        seconds_to_limit=to_limit,
        message=message,
    )


def _slope(points: Sequence[tuple[float, float]]) -> float:
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    denominator = sum((t - mean_t) ** 2 for t, _ in points)
    if denominator == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / denominator
