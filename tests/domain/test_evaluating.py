"""Prometheus verdicts: comparators, hysteresis, forSeconds, missing data, targets."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest

from kubemedic.api.incidents import TargetKind
from kubemedic.api.policies import Comparator, PrometheusTrigger, TargetMapping
from kubemedic.domain.evaluating import (
    SeriesKey,
    Verdict,
    evaluate_result,
    evaluate_series,
    is_failing,
    is_healthy,
    map_series,
)

NOW = datetime.datetime(2026, 12, 3, 12, 0, 0, tzinfo=datetime.UTC)
T = NOW.timestamp()
NAN = math.nan


def trigger(**overrides: Any) -> PrometheusTrigger:
    settings: dict[str, Any] = {
        "query": "error_ratio",
        "comparator": Comparator.GREATER_THAN,
        "threshold": 0.5,
        "resolveThreshold": 0.2,
        "forSeconds": 10,
        "evaluationIntervalSeconds": 1,
        **overrides,
    }
    return PrometheusTrigger.model_validate(settings)


def series(*values: float, end: float = T, step: float = 1.0) -> list[tuple[float, float]]:
    """Samples one ``step`` apart, the last at ``end``."""
    count = len(values)
    return [(end - (count - 1 - i) * step, v) for i, v in enumerate(values)]


# --- Comparators and hysteresis -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("comparator", "value", "expected"),
    [
        pytest.param(Comparator.GREATER_THAN, 0.6, True, id="gt-above"),
        pytest.param(Comparator.GREATER_THAN, 0.5, False, id="gt-equal"),
        pytest.param(Comparator.GREATER_OR_EQUAL, 0.5, True, id="ge-equal"),
        pytest.param(Comparator.GREATER_OR_EQUAL, 0.4, False, id="ge-below"),
        pytest.param(Comparator.LESS_THAN, 0.4, True, id="lt-below"),
        pytest.param(Comparator.LESS_THAN, 0.5, False, id="lt-equal"),
        pytest.param(Comparator.LESS_OR_EQUAL, 0.5, True, id="le-equal"),
        pytest.param(Comparator.LESS_OR_EQUAL, 0.6, False, id="le-above"),
    ],
)
def test_comparators_name_the_failing_side(
    comparator: Comparator, value: float, expected: bool
) -> None:
    assert is_failing(value, comparator, 0.5) is expected


@pytest.mark.parametrize(
    ("settings", "value", "expected"),
    [
        pytest.param({}, 0.1, True, id="past-resolve"),
        pytest.param({}, 0.2, True, id="at-resolve-counts-as-healthy"),
        pytest.param({}, 0.3, False, id="between"),
        pytest.param({}, 0.9, False, id="failing"),
        pytest.param({"resolveThreshold": None}, 0.4, True, id="no-resolve-uses-threshold"),
        pytest.param(
            {"comparator": Comparator.LESS_THAN, "threshold": 0.9, "resolveThreshold": 0.95},
            0.92,
            False,
            id="downwards-between",
        ),
        pytest.param(
            {"comparator": Comparator.LESS_THAN, "threshold": 0.9, "resolveThreshold": 0.95},
            0.97,
            True,
            id="downwards-past-resolve",
        ),
    ],
)
def test_health_needs_the_value_back_past_resolve_threshold(
    settings: dict[str, Any], value: float, expected: bool
) -> None:
    assert is_healthy(value, trigger(**settings)) is expected


# --- One series -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("samples", "settings", "verdict", "value"),
    [
        pytest.param(series(*[0.9] * 11), {}, Verdict.FIRING, 0.9, id="failing-for-the-window"),
        pytest.param(
            series(0.1, *[0.9] * 10), {}, Verdict.PENDING, 0.9, id="failing-one-second-short"
        ),
        pytest.param(series(0.1, *[0.9] * 11), {}, Verdict.FIRING, 0.9, id="failing-exactly-for"),
        pytest.param(
            series(*[0.9] * 6, 0.3, *[0.9] * 4),
            {},
            Verdict.PENDING,
            0.9,
            id="a-dip-restarts-the-clock",
        ),
        pytest.param(
            series(*[0.9] * 6, NAN, *[0.9] * 4),
            {},
            Verdict.FIRING,
            0.9,
            id="a-nan-gap-does-not-break-the-run",
        ),
        pytest.param(series(0.9), {"forSeconds": 0}, Verdict.FIRING, 0.9, id="for-zero"),
        pytest.param(series(*[0.9] * 10, 0.3), {}, Verdict.BETWEEN, 0.3, id="between"),
        pytest.param(series(*[0.9] * 10, 0.1), {}, Verdict.HEALTHY, 0.1, id="healthy"),
        pytest.param([], {}, Verdict.NO_DATA, None, id="no-samples"),
        pytest.param(series(NAN, NAN, NAN), {}, Verdict.NO_DATA, None, id="only-nan"),
        pytest.param(series(*[0.9] * 11, end=T - 61), {}, Verdict.NO_DATA, None, id="stale-series"),
        pytest.param(series(0.1, end=T - 50), {}, Verdict.HEALTHY, 0.1, id="recent-enough-series"),
        pytest.param(
            series(0.1, end=T - 100),
            {"evaluationIntervalSeconds": 60},
            Verdict.HEALTHY,
            0.1,
            id="staleness-scales-with-the-interval",
        ),
    ],
)
def test_a_series_verdict(
    samples: list[tuple[float, float]],
    settings: dict[str, Any],
    verdict: Verdict,
    value: float | None,
) -> None:
    got, got_value, _ = evaluate_series(samples, trigger(**settings), now=NOW)
    assert (got, got_value) == (verdict, value)


def test_failing_since_is_the_first_sample_of_the_uninterrupted_run() -> None:
    samples = series(0.9, 0.1, *[0.9] * 12)
    _, _, since = evaluate_series(samples, trigger(), now=NOW)
    assert since == NOW - datetime.timedelta(seconds=11)


def test_a_healthy_series_has_no_failing_since() -> None:
    _, _, since = evaluate_series(series(0.9, 0.1), trigger(), now=NOW)
    assert since is None


# --- Targets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "mapping", "expected"),
    [
        pytest.param(
            {"namespace": "shop", "deployment": "api"},
            {},
            SeriesKey(TargetKind.DEPLOYMENT, "shop", "api"),
            id="deployment-by-name-label",
        ),
        pytest.param(
            {"namespace": "other", "deployment": "api"}, {}, None, id="other-namespace-ignored"
        ),
        pytest.param(
            {"deployment": "api"},
            {},
            SeriesKey(TargetKind.DEPLOYMENT, "shop", "api"),
            id="no-namespace-label-means-ours",
        ),
        pytest.param(
            {"namespace": "other", "deployment": "api"},
            {"namespaceLabel": None},
            SeriesKey(TargetKind.DEPLOYMENT, "shop", "api"),
            id="namespace-filter-off",
        ),
        pytest.param({"namespace": "shop"}, {}, None, id="no-name-label"),
        pytest.param({"namespace": "shop", "deployment": ""}, {}, None, id="empty-name"),
        pytest.param(
            {"namespace": "shop", "statefulset": "db"},
            {"kind": "StatefulSet", "nameLabel": "statefulset"},
            SeriesKey(TargetKind.STATEFUL_SET, "shop", "db"),
            id="statefulset",
        ),
        pytest.param(
            {"namespace": "shop", "pod": "api-7d9f-x1", "deployment": "ignored"},
            {"podLabel": "pod"},
            SeriesKey(TargetKind.POD, "shop", "api-7d9f-x1"),
            id="pod-label-wins",
        ),
        pytest.param(
            {"namespace": "shop", "deployment": "api"},
            {"podLabel": "pod"},
            None,
            id="pod-label-missing",
        ),
    ],
)
def test_a_series_maps_to_its_target(
    labels: dict[str, str], mapping: dict[str, Any], expected: SeriesKey | None
) -> None:
    got = map_series(labels, TargetMapping.model_validate(mapping), namespace="shop")
    assert got == expected


# --- A whole result -----------------------------------------------------------------------------


def matrix(labels: dict[str, str], *values: float) -> dict[str, Any]:
    return {"metric": labels, "values": [[t, str(v)] for t, v in series(*values)]}


def test_several_series_of_one_target_keep_the_worst_verdict() -> None:
    result = [
        matrix({"deployment": "api", "instance": "a"}, *[0.1] * 11),
        matrix({"deployment": "api", "instance": "b"}, *[0.9] * 11),
        matrix({"deployment": "api", "instance": "c"}, *[0.3] * 11),
        matrix({"deployment": "web"}, *[0.1] * 11),
    ]
    verdicts = {
        e.target.name: e.verdict
        for e in evaluate_result(result, trigger(), namespace="shop", now=NOW)
    }
    assert verdicts == {"api": Verdict.FIRING, "web": Verdict.HEALTHY}


@pytest.mark.parametrize(
    ("values", "verdict"),
    [
        pytest.param([[T, "NaN"]], Verdict.NO_DATA, id="nan-string"),
        pytest.param([[T, "not a number"]], Verdict.NO_DATA, id="garbage"),
        pytest.param([], Verdict.NO_DATA, id="no-values"),
    ],
)
def test_unreadable_values_are_no_data(values: list[list[Any]], verdict: Verdict) -> None:
    result = [{"metric": {"deployment": "api"}, "values": values}]
    [evaluation] = evaluate_result(result, trigger(), namespace="shop", now=NOW)
    assert evaluation.verdict == verdict
    assert evaluation.value is None
    assert "no data" in evaluation.message


def test_series_of_no_target_here_are_left_out() -> None:
    result = [matrix({"namespace": "other", "deployment": "api"}, 0.9), matrix({}, 0.9)]
    assert evaluate_result(result, trigger(), namespace="shop", now=NOW) == []


@pytest.mark.parametrize(
    ("values", "is_continuing"),
    [
        pytest.param([*[0.9] * 11], True, id="failing-since-the-window-began"),
        pytest.param([0.1, *[0.9] * 11], False, id="began-inside-the-window"),
        pytest.param([0.3, *[0.9] * 3], False, id="pending-inside-the-window"),
        pytest.param([*[0.9] * 10, 0.1], False, id="healthy"),
    ],
)
def test_a_failure_older_than_the_window_is_continuing(
    values: list[float], is_continuing: bool
) -> None:
    [evaluation] = evaluate_result(
        [matrix({"deployment": "api"}, *values)], trigger(), namespace="shop", now=NOW
    )
    assert evaluation.is_continuing is is_continuing


def test_the_messages_say_what_was_compared() -> None:
    [firing] = evaluate_result(
        [matrix({"deployment": "api"}, *[0.9] * 11)], trigger(), namespace="shop", now=NOW
    )
    [between] = evaluate_result(
        [matrix({"deployment": "api"}, 0.3)], trigger(), namespace="shop", now=NOW
    )
    assert firing.message == "value 0.9 > 0.5 for 10s"
    assert between.message == "value 0.3 between threshold 0.5 and resolveThreshold 0.2"
