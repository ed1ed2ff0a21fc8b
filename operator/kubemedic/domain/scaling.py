"""Planning a Scale step: how many replicas, and which bounds to move.

A Scale step changes a workload's replica count by ``replicasStep`` or by
``factorPercent``, never leaving ``[minReplicas, maxReplicas]`` of the policy.
When a HorizontalPodAutoscaler drives the workload, writing ``spec.replicas``
would start a tug of war that the HPA wins within seconds; the step moves the
HPA's bounds instead, so the autoscaler itself holds the new count:

- scaling up raises ``minReplicas`` to the new count (and ``maxReplicas``
  with it when it was lower);
- scaling down lowers ``maxReplicas`` to the new count (and ``minReplicas``
  with it when it was higher).

Nothing here reads the cluster: the caller passes the counts it observed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kubemedic.api.policies import ScaleAction

# NB: an HPA refuses minReplicas 0 unless the HPAScaleToZero feature gate is
# on, which it is not by default; the HPA path never goes below this.
HPA_MIN_REPLICAS_FLOOR = 1


def compute_replicas(
    current: int,
    *,
    step: int | None = None,
    factor_percent: int | None = None,
    min_replicas: int,
    max_replicas: int,
) -> int:
    """The replica count after a step or a factor, clamped to the bounds.

    A factor is rounded up, so that 150% of 1 replica is 2, not 1: a scale-up
    that rounds to no change would be a silent no-op. The bounds never turn a
    step around: growing a workload that is already above ``max_replicas``
    leaves it where it is rather than shrinking it to the ceiling.
    """
    if (step is None) == (factor_percent is None):
        raise ValueError("pass exactly one of step and factor_percent")
    if step is not None:
        wanted = current + step
    else:
        assert factor_percent is not None
        wanted = math.ceil(current * factor_percent / 100)
    clamped = max(min_replicas, min(max_replicas, wanted))
    if wanted > current:
        return max(current, clamped)
    if wanted < current:
        return min(current, clamped)
    return current


@dataclass(frozen=True)
class ReplicaPlan:
    """What a Scale step does to a workload without an autoscaler."""

    current: int
    desired: int
    refusal: str | None = None  # why nothing should be done, for humans

    @property
    def is_refused(self) -> bool:
        return self.refusal is not None


@dataclass(frozen=True)
class AutoscalerPlan:
    """What a Scale step does to the bounds of an HPA."""

    current: int  # the replicas the HPA holds the workload at now
    desired: int
    min_replicas: int  # the HPA's new minReplicas
    max_replicas: int  # the HPA's new maxReplicas
    refusal: str | None = None

    @property
    def is_refused(self) -> bool:
        return self.refusal is not None


def plan_replicas(current: int, scale: ScaleAction) -> ReplicaPlan:
    """The new ``spec.replicas`` of a workload, or why there is none."""
    desired = compute_replicas(
        current,
        step=scale.replicas_step,
        factor_percent=scale.factor_percent,
        min_replicas=scale.min_replicas,
        max_replicas=scale.max_replicas,
    )
    refusal = explain_no_change(current, desired, scale)
    return ReplicaPlan(current=current, desired=desired, refusal=refusal)


def plan_autoscaler(
    current: int, *, hpa_min: int, hpa_max: int, scale: ScaleAction
) -> AutoscalerPlan:
    """The new bounds of an HPA so that it holds the scaled count."""
    desired = compute_replicas(
        current,
        step=scale.replicas_step,
        factor_percent=scale.factor_percent,
        min_replicas=max(scale.min_replicas, HPA_MIN_REPLICAS_FLOOR),
        max_replicas=scale.max_replicas,
    )

    # Scaling up: the floor rises to the new count; the ceiling follows only
    # when the floor would cross it (an HPA refuses min > max).
    if desired > current:
        new_min = max(hpa_min, desired)
        return AutoscalerPlan(
            current=current,
            desired=desired,
            min_replicas=new_min,
            max_replicas=max(hpa_max, new_min),
        )

    # Scaling down: the mirror image, with the ceiling coming down.
    if desired < current:
        new_max = min(hpa_max, desired)
        return AutoscalerPlan(
            current=current,
            desired=desired,
            min_replicas=min(hpa_min, new_max),
            max_replicas=new_max,
        )

    return AutoscalerPlan(
        current=current,
        desired=desired,
        min_replicas=hpa_min,
        max_replicas=hpa_max,
        refusal=explain_no_change(current, desired, scale),
    )


def explain_no_change(current: int, desired: int, scale: ScaleAction) -> str | None:
    """Why a step that lands on the current count does nothing; None if it moves."""
    if desired != current:
        return None
    growing = (scale.replicas_step or 0) > 0 or (scale.factor_percent or 100) > 100
    shrinking = (scale.replicas_step or 0) < 0 or (scale.factor_percent or 100) < 100
    if growing and current >= scale.max_replicas:
        return f"already at maxReplicas ({scale.max_replicas})"
    if shrinking and current <= scale.min_replicas:
        return f"already at minReplicas ({scale.min_replicas})"
    return f"the step leaves the replicas at {current}"
