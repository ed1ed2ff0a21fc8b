"""The replica count and HPA bounds a Scale step plans."""

from __future__ import annotations

import pytest

from kubemedic.api.policies import ScaleAction
from kubemedic.domain.scaling import compute_replicas, plan_autoscaler, plan_replicas


@pytest.mark.parametrize(
    ("current", "step", "factor", "bounds", "expected"),
    [
        pytest.param(3, 1, None, (1, 10), 4, id="step-up"),
        pytest.param(3, -1, None, (1, 10), 2, id="step-down"),
        pytest.param(9, 5, None, (1, 10), 10, id="step-clamped-to-max"),
        pytest.param(2, -5, None, (1, 10), 1, id="step-clamped-to-min"),
        pytest.param(2, None, 150, (1, 10), 3, id="factor-up"),
        pytest.param(1, None, 150, (1, 10), 2, id="factor-rounds-up"),
        pytest.param(3, None, 101, (1, 10), 4, id="tiny-factor-still-adds-one"),
        pytest.param(8, None, 200, (1, 10), 10, id="factor-clamped-to-max"),
        pytest.param(4, None, 50, (1, 10), 2, id="factor-down"),
        pytest.param(0, 1, None, (2, 10), 2, id="below-min-rises-to-min"),
        pytest.param(12, 1, None, (1, 10), 12, id="above-max-never-shrinks-on-a-scale-up"),
        pytest.param(1, -1, None, (3, 10), 1, id="below-min-never-grows-on-a-scale-down"),
        pytest.param(0, None, 200, (0, 10), 0, id="factor-of-zero-stays-zero"),
    ],
)
def test_replicas_follow_the_step_within_bounds(
    current: int, step: int | None, factor: int | None, bounds: tuple[int, int], expected: int
) -> None:
    minimum, maximum = bounds
    replicas = compute_replicas(
        current, step=step, factor_percent=factor, min_replicas=minimum, max_replicas=maximum
    )
    assert replicas == expected


def test_step_and_factor_together_are_refused() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        compute_replicas(1, step=1, factor_percent=150, min_replicas=1, max_replicas=3)


@pytest.mark.parametrize(
    ("current", "scale", "refusal"),
    [
        pytest.param(
            5,
            ScaleAction(replicas_step=1, max_replicas=5),
            "already at maxReplicas (5)",
            id="at-max",
        ),
        pytest.param(
            7,
            ScaleAction(factor_percent=150, max_replicas=5),
            "already at maxReplicas (5)",
            id="above-max",
        ),
        pytest.param(
            2,
            ScaleAction(replicas_step=-1, min_replicas=2, max_replicas=5),
            "already at minReplicas (2)",
            id="at-min",
        ),
        pytest.param(
            0,
            ScaleAction(factor_percent=300, min_replicas=0, max_replicas=5),
            "the step leaves the replicas at 0",
            id="zero-times-factor",
        ),
    ],
)
def test_a_step_that_changes_nothing_is_refused_with_the_reason(
    current: int, scale: ScaleAction, refusal: str
) -> None:
    plan = plan_replicas(current, scale)
    assert plan.desired == current
    assert plan.refusal == refusal


def test_a_step_that_moves_is_not_refused() -> None:
    plan = plan_replicas(2, ScaleAction(replicas_step=2, max_replicas=5))
    assert (plan.current, plan.desired, plan.refusal) == (2, 4, None)


@pytest.mark.parametrize(
    ("current", "hpa", "scale", "expected"),
    [
        pytest.param(
            3,
            (2, 10),
            ScaleAction(replicas_step=2, max_replicas=8),
            (5, 5, 10),
            id="up-raises-min-only",
        ),
        pytest.param(
            3,
            (2, 4),
            ScaleAction(replicas_step=3, max_replicas=8),
            (6, 6, 6),
            id="up-raises-max-too",
        ),
        pytest.param(
            3,
            (2, 4),
            ScaleAction(replicas_step=10, max_replicas=8),
            (8, 8, 8),
            id="up-within-policy-max",
        ),
        pytest.param(
            6,
            (5, 10),
            ScaleAction(replicas_step=-2, max_replicas=8),
            (4, 4, 4),
            id="down-lowers-max-and-min",
        ),
        pytest.param(
            6,
            (2, 10),
            ScaleAction(factor_percent=50, max_replicas=8),
            (3, 2, 3),
            id="down-keeps-lower-min",
        ),
        pytest.param(
            2,
            (1, 5),
            ScaleAction(replicas_step=-5, min_replicas=0, max_replicas=8),
            (1, 1, 1),
            id="hpa-never-below-one",
        ),
    ],
)
def test_an_autoscaler_gets_bounds_that_hold_the_new_count(
    current: int, hpa: tuple[int, int], scale: ScaleAction, expected: tuple[int, int, int]
) -> None:
    plan = plan_autoscaler(current, hpa_min=hpa[0], hpa_max=hpa[1], scale=scale)
    assert (plan.desired, plan.min_replicas, plan.max_replicas) == expected
    assert plan.min_replicas <= plan.desired <= plan.max_replicas
    assert plan.refusal is None


def test_an_autoscaled_workload_at_the_policy_ceiling_is_refused() -> None:
    plan = plan_autoscaler(
        8, hpa_min=2, hpa_max=10, scale=ScaleAction(replicas_step=1, max_replicas=8)
    )
    assert plan.refusal == "already at maxReplicas (8)"
    assert (plan.min_replicas, plan.max_replicas) == (2, 10)
