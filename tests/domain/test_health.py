"""Health from positive evidence: the workload's counts and its pods."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubemedic.api.incidents import Health, HealthState
from kubemedic.api.policies import FailureReason, PodFailureTrigger
from kubemedic.domain.health import (
    Reading,
    assess_pods,
    desired_replicas,
    failing_pods,
    is_stable,
    merge_health,
    ready_replicas,
    unavailability_of,
)
from kubemedic.domain.rails import Unavailability

from .pods import NOW, ago, container, deployment, pod

OOM = PodFailureTrigger(reasons=[FailureReason.OOM_KILLED])
WINDOW = 300


def assess(workload: dict[str, Any] | None, pods: list[dict[str, Any]]) -> Reading:
    return assess_pods(workload, pods, OOM, now=NOW, window_seconds=WINDOW)


@pytest.mark.parametrize(
    ("workload", "pods"),
    [
        pytest.param(
            deployment(replicas=2, ready=1), [pod("a"), pod("b")], id="fewer-ready-than-desired"
        ),
        pytest.param(deployment(), [pod("a"), pod("b", is_ready=False)], id="one-pod-not-ready"),
        pytest.param(
            None,
            [pod(containers=[container(waiting="CrashLoopBackOff")])],
            id="waiting-in-crash-loop",
        ),
        pytest.param(
            None,
            [pod(containers=[container(waiting="ImagePullBackOff")])],
            id="waiting-for-an-image",
        ),
        pytest.param(
            None,
            [
                pod(
                    containers=[
                        container(
                            restarts=1,
                            last_terminated="OOMKilled",
                            last_terminated_at=ago(WINDOW - 1),
                        )
                    ]
                )
            ],
            id="oom-within-window",
        ),
        pytest.param(
            None,
            [
                pod(
                    containers=[
                        container(
                            restarts=1,
                            last_terminated="Unknown",
                            last_terminated_at=ago(10),
                            exit_code=2,
                        )
                    ]
                )
            ],
            id="non-zero-exit-within-window",
        ),
    ],
)
def test_unhealthy(workload: dict[str, Any] | None, pods: list[dict[str, Any]]) -> None:
    assert assess(workload, pods).state == HealthState.UNHEALTHY


def test_termination_older_than_the_window_is_history_not_failure() -> None:
    old = container(restarts=1, last_terminated="OOMKilled", last_terminated_at=ago(WINDOW + 60))

    reading = assess(deployment(replicas=1, ready=1), [pod(containers=[old])])

    assert reading.state == HealthState.HEALTHY


def test_clean_exit_is_not_a_failure() -> None:
    done = container(
        restarts=1, last_terminated="Completed", last_terminated_at=ago(10), exit_code=0
    )

    assert assess(None, [pod(containers=[done])]).state == HealthState.HEALTHY


def test_healthy_since_the_latest_failure_ended() -> None:
    pods = [
        pod("a", ready_changed_at=ago(3_000)),
        pod(
            "b",
            containers=[
                container(
                    restarts=1, last_terminated="OOMKilled", last_terminated_at=ago(WINDOW + 100)
                )
            ],
            ready_changed_at=ago(WINDOW + 90),
        ),
    ]

    reading = assess(deployment(), pods)

    assert reading.state == HealthState.HEALTHY
    assert reading.since == ago(WINDOW + 90)


@pytest.mark.parametrize(
    ("workload", "pods"),
    [
        pytest.param(None, [], id="no-pods"),
        pytest.param(deployment(replicas=0, ready=0), [], id="scaled-to-zero"),
        pytest.param(None, [pod(is_terminating=True)], id="only-terminating-pods"),
    ],
)
def test_nothing_to_judge_is_unknown_never_healthy(
    workload: dict[str, Any] | None, pods: list[dict[str, Any]]
) -> None:
    assert assess(workload, pods).state == HealthState.UNKNOWN


def test_terminating_pods_do_not_count() -> None:
    pods = [pod("old", is_ready=False, is_terminating=True), pod("new")]

    assert assess(deployment(replicas=1, ready=1), pods).state == HealthState.HEALTHY


def test_evicted_pod_left_behind_does_not_keep_the_workload_unhealthy() -> None:
    # The ReplicaSet replaced it; the Failed pod lingers until garbage collection.
    evicted = pod("old", phase="Failed", reason="Evicted", is_ready=False, containers=[])

    reading = assess(deployment(replicas=1, ready=1), [evicted, pod("new")])

    assert reading.state == HealthState.HEALTHY


def test_evicted_pod_alone_is_unhealthy() -> None:
    evicted = pod("old", phase="Failed", reason="Evicted", is_ready=False, containers=[])

    assert assess(None, [evicted]).state == HealthState.UNHEALTHY


@pytest.mark.parametrize(
    ("workload", "desired", "ready"),
    [
        pytest.param(deployment(replicas=3, ready=2), 3, 2, id="deployment"),
        pytest.param(deployment(replicas=None, ready=0), 1, 0, id="replicas-default-to-one"),
        pytest.param(
            {"kind": "DaemonSet", "status": {"desiredNumberScheduled": 4, "numberReady": 3}},
            4,
            3,
            id="daemonset",
        ),
        pytest.param({"kind": "StatefulSet", "spec": {"replicas": 2}}, 2, 0, id="fresh-status"),
    ],
)
def test_replica_counts(workload: dict[str, Any], desired: int, ready: int) -> None:
    assert (desired_replicas(workload), ready_replicas(workload)) == (desired, ready)


# --- Merging readings ---------------------------------------------------------------------------


def health(state: HealthState, since: datetime.datetime) -> Health:
    return Health(state=state, since=since, observed_at=since, message="earlier")


def test_merge_keeps_since_while_the_state_holds() -> None:
    previous = health(HealthState.UNHEALTHY, ago(600))

    merged = merge_health(previous, Reading(HealthState.UNHEALTHY, "still bad"), now=NOW)

    assert merged.since == ago(600)
    assert merged.observed_at == NOW
    assert merged.message == "still bad"


@pytest.mark.parametrize(
    ("reading_since", "expected"),
    [
        pytest.param(ago(90), ago(90), id="reading-knows-since"),
        pytest.param(None, NOW, id="reading-does-not-know"),
        pytest.param(NOW + datetime.timedelta(seconds=5), NOW, id="since-in-the-future"),
    ],
)
def test_merge_on_a_change_takes_since_from_the_reading(
    reading_since: datetime.datetime | None, expected: datetime.datetime
) -> None:
    previous = health(HealthState.UNHEALTHY, ago(600))
    reading = Reading(HealthState.HEALTHY, "fine", since=reading_since)

    assert merge_health(previous, reading, now=NOW).since == expected


def test_merge_without_previous_health_starts_one() -> None:
    merged = merge_health(None, Reading(HealthState.UNKNOWN, "no pods"), now=NOW)

    assert (merged.state, merged.since) == (HealthState.UNKNOWN, NOW)


@pytest.mark.parametrize(
    ("current", "is_expected_stable"),
    [
        pytest.param(health(HealthState.HEALTHY, ago(120)), True, id="healthy-exactly-long-enough"),
        pytest.param(health(HealthState.HEALTHY, ago(119)), False, id="healthy-not-long-enough"),
        pytest.param(health(HealthState.UNHEALTHY, ago(900)), False, id="unhealthy"),
        pytest.param(health(HealthState.UNKNOWN, ago(900)), False, id="unknown"),
        pytest.param(None, False, id="never-observed"),
    ],
)
def test_is_stable(current: Health | None, is_expected_stable: bool) -> None:
    assert is_stable(current, now=NOW, seconds=120) is is_expected_stable


# --- Choosing pods to act on --------------------------------------------------------------------


def choose(pods: list[dict[str, Any]], evidence_keys: list[str]) -> list[str]:
    return failing_pods(pods, OOM, evidence_keys=evidence_keys, now=NOW, window_seconds=WINDOW)


def test_failing_pods_puts_the_evidence_pods_first() -> None:
    pods = [
        pod("a", is_ready=False),
        pod("z", containers=[container(waiting="CrashLoopBackOff")]),
        pod("healthy"),
    ]

    assert choose(pods, ["z/app/3/CrashLoopBackOff"]) == ["z", "a"]


def test_failing_pods_keeps_a_recovered_evidence_pod_last() -> None:
    pods = [pod("recovered"), pod("b", is_ready=False)]

    assert choose(pods, ["recovered/app/1/CrashLoopBackOff"]) == ["b", "recovered"]


def test_failing_pods_skips_terminating_pods() -> None:
    pods = [pod("going", is_ready=False, is_terminating=True), pod("b", is_ready=False)]

    assert choose(pods, ["going/app/1/CrashLoopBackOff"]) == ["b"]


def test_failing_pods_is_empty_when_all_are_healthy() -> None:
    assert choose([pod("a"), pod("b")], []) == []


@pytest.mark.parametrize(
    ("ready", "chosen", "expected"),
    [
        pytest.param(4, ["a"], Unavailability(4, 0, 1), id="all-ready-one-ready-pod-chosen"),
        pytest.param(3, ["down"], Unavailability(4, 1, 0), id="the-chosen-pod-is-already-down"),
        pytest.param(3, ["a", "down"], Unavailability(4, 1, 1), id="one-ready-one-down"),
    ],
)
def test_unavailability_counts_only_ready_pods_a_pod_action_would_take(
    ready: int, chosen: list[str], expected: Unavailability
) -> None:
    pods = [pod("a"), pod("b"), pod("c"), pod("down", is_ready=False)]
    assert unavailability_of(deployment(replicas=4, ready=ready), pods, chosen) == expected
