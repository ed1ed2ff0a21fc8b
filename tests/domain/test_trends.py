"""The memory-leak rule: growth, the share of rising steps, and time to the limit."""

from __future__ import annotations

import math
from typing import Any

import pytest

from kubemedic.api.policies import MemoryTrendTrigger
from kubemedic.domain.trends import assess_trend

MIB = 1024.0 * 1024.0


def trigger(**overrides: Any) -> MemoryTrendTrigger:
    settings: dict[str, Any] = {
        "windowSeconds": 100,
        "stepSeconds": 10,
        "growthPercent": 50,
        "risingSharePercent": 70,
        **overrides,
    }
    return MemoryTrendTrigger.model_validate(settings)


def samples(*mebibytes: float, step: float = 10.0) -> list[tuple[float, float]]:
    return [(1_000.0 + i * step, v * MIB) for i, v in enumerate(mebibytes)]


STEADY_CLIMB = samples(100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200)


@pytest.mark.parametrize(
    ("series", "is_leaking"),
    [
        pytest.param(STEADY_CLIMB, True, id="steady-climb-doubles"),
        pytest.param(samples(100, 106, 112, 118, 124, 130, 136, 142, 148, 154), True, id="54pct"),
        pytest.param(samples(100, 105, 110, 115, 120, 125, 130, 135, 140, 145), False, id="45pct"),
        pytest.param(
            samples(100, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
            False,
            id="cache-warms-once",
        ),
        pytest.param(
            samples(100, 160, 120, 180, 140, 200, 160, 220, 180, 240, 200),
            False,
            id="sawtooth-half-rising",
        ),
        pytest.param(
            samples(100, 110, 120, 130, 140, 150, 160, 170, 160, 180, 200),
            True,
            id="one-dip-in-ten",
        ),
        pytest.param(samples(*[100] * 11), False, id="flat"),
        pytest.param(
            samples(200, 190, 180, 170, 160, 150, 140, 130, 120, 110), False, id="falling"
        ),
        pytest.param(
            samples(0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100), False, id="from-zero-no-growth"
        ),
    ],
)
def test_the_rule_wants_growth_and_a_steady_climb(
    series: list[tuple[float, float]], is_leaking: bool
) -> None:
    verdict = assess_trend(series, trigger())
    assert verdict is not None
    assert verdict.is_leaking is is_leaking


@pytest.mark.parametrize(
    ("settings", "is_leaking"),
    [
        pytest.param({"growthPercent": 100}, True, id="growth-exactly-at-the-threshold"),
        pytest.param({"growthPercent": 101}, False, id="growth-just-under"),
        pytest.param({"risingSharePercent": 100}, True, id="every-step-rises"),
    ],
)
def test_thresholds_are_inclusive(settings: dict[str, Any], is_leaking: bool) -> None:
    verdict = assess_trend(STEADY_CLIMB, trigger(**settings))
    assert verdict is not None
    assert verdict.is_leaking is is_leaking


def test_the_verdict_reports_growth_and_rising_share() -> None:
    verdict = assess_trend(samples(100, 110, 105, 150, 200), trigger(windowSeconds=60))
    assert verdict is not None
    assert verdict.growth_percent == pytest.approx(100.0)
    assert verdict.rising_share_percent == pytest.approx(75.0)
    assert verdict.message == "working set grew 100% over 40s with 75% of samples rising"


@pytest.mark.parametrize(
    "series",
    [
        pytest.param([], id="no-samples"),
        pytest.param(samples(100, 200, 300), id="three-samples"),
        pytest.param(samples(100, 200, 300, 400, 500, step=5), id="less-than-half-the-window"),
        pytest.param(
            [*samples(100, 200), (1_020.0, math.nan), (1_030.0, math.nan)], id="nan-not-counted"
        ),
    ],
)
def test_too_little_data_gives_no_verdict(series: list[tuple[float, float]]) -> None:
    assert assess_trend(series, trigger()) is None


def test_half_the_window_is_enough_data() -> None:
    verdict = assess_trend(samples(100, 150, 200, 250, 300, 350), trigger())
    assert verdict is not None
    assert verdict.is_leaking


# --- Time to the limit -----------------------------------------------------------------------


def test_time_to_limit_extrapolates_the_slope() -> None:
    # One MiB a second, 200 MiB now, a limit of 256 MiB: 56 s left.
    verdict = assess_trend(STEADY_CLIMB, trigger(), limit_bytes=256 * MIB)
    assert verdict is not None
    assert verdict.seconds_to_limit == pytest.approx(56.0)
    assert "reaches its limit in 56s" in verdict.message


@pytest.mark.parametrize(
    ("series", "limit", "expected"),
    [
        pytest.param(STEADY_CLIMB, None, None, id="no-limit"),
        pytest.param(STEADY_CLIMB, 0.0, None, id="zero-limit"),
        pytest.param(samples(*[100] * 11), 256 * MIB, None, id="flat-never-reaches-it"),
        pytest.param(STEADY_CLIMB, 150 * MIB, 0.0, id="already-over-the-limit"),
    ],
)
def test_time_to_limit_only_for_a_rising_series_under_a_limit(
    series: list[tuple[float, float]], limit: float | None, expected: float | None
) -> None:
    verdict = assess_trend(series, trigger(), limit_bytes=limit)
    assert verdict is not None
    assert verdict.seconds_to_limit == expected


@pytest.mark.parametrize(
    ("settings", "limit", "is_leaking"),
    [
        pytest.param({"timeToLimitSeconds": 60}, 256 * MIB, True, id="limit-within-horizon"),
        pytest.param({"timeToLimitSeconds": 30}, 256 * MIB, False, id="limit-beyond-horizon"),
        pytest.param({}, 256 * MIB, False, id="no-horizon-set"),
    ],
)
def test_a_slow_leak_fires_when_it_reaches_the_limit_soon(
    settings: dict[str, Any], limit: float, is_leaking: bool
) -> None:
    # 20% growth: under growthPercent, so only the horizon can fire.
    slow = samples(200, 204, 208, 212, 216, 220, 224, 228, 232, 236, 240)
    verdict = assess_trend(slow, trigger(**settings), limit_bytes=limit)
    assert verdict is not None
    assert verdict.is_leaking is is_leaking


def test_a_jittery_series_near_its_limit_is_no_leak() -> None:
    # Up and down by turns: rising at half the steps, and close to the limit.
    jittery = samples(200, 230, 210, 240, 220, 250, 230, 260, 240, 270, 250)
    verdict = assess_trend(jittery, trigger(timeToLimitSeconds=3600), limit_bytes=300 * MIB)
    assert verdict is not None
    assert verdict.seconds_to_limit is not None
    assert verdict.seconds_to_limit < 3600
    assert not verdict.is_leaking
