"""Which pod states count as a failure for a trigger, and how an occurrence is named."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubemedic.api.policies import FailureReason, PodFailureTrigger, RestartBurst
from kubemedic.domain.detecting import (
    RestartSample,
    detect_pod_failures,
    not_ready_deadline,
    parse_time,
)

from .pods import NOW, ago, container, pod


def trigger(*reasons: FailureReason, **fields: Any) -> PodFailureTrigger:
    return PodFailureTrigger(reasons=list(reasons), **fields)


ALL_REASONS = trigger(*FailureReason)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            pod(containers=[container(restarts=1, last_terminated="OOMKilled")]),
            "OOMKilled",
            id="oom-in-last-state",
        ),
        pytest.param(
            pod(containers=[container(terminated="OOMKilled")], is_ready=False),
            "OOMKilled",
            id="oom-in-current-state",
        ),
        pytest.param(
            pod(containers=[container(restarts=4, waiting="CrashLoopBackOff")], is_ready=False),
            "CrashLoopBackOff",
            id="crash-loop-waiting",
        ),
        pytest.param(
            pod(containers=[container(waiting="ImagePullBackOff")], is_ready=False),
            "ImagePullBackOff",
            id="image-pull-waiting",
        ),
        pytest.param(
            pod(containers=[container(terminated="Error", exit_code=1)], is_ready=False),
            "Error",
            id="error-termination",
        ),
        pytest.param(
            pod(phase="Failed", reason="Evicted", is_ready=False, containers=[]),
            "Evicted",
            id="evicted-pod",
        ),
    ],
)
def test_watched_failure_is_detected(body: dict[str, Any], reason: str) -> None:
    failures = detect_pod_failures(body, ALL_REASONS, now=NOW)

    assert [f.reason for f in failures] == [reason]
    assert failures[0].pod == "api-7d9f-x1"
    assert reason.lower() in failures[0].message.lower()


def test_init_container_failures_count_too() -> None:
    body = pod(is_ready=False)
    body["status"]["initContainerStatuses"] = [
        container("migrate", restarts=2, waiting="CrashLoopBackOff")
    ]

    failures = detect_pod_failures(body, trigger(FailureReason.CRASH_LOOP_BACK_OFF), now=NOW)

    assert [(f.container, f.reason) for f in failures] == [("migrate", "CrashLoopBackOff")]


@pytest.mark.parametrize(
    ("body", "watched"),
    [
        pytest.param(
            pod(containers=[container(restarts=1, last_terminated="OOMKilled")]),
            trigger(FailureReason.CRASH_LOOP_BACK_OFF),
            id="oom-not-watched",
        ),
        pytest.param(
            pod(containers=[container(waiting="CrashLoopBackOff")]),
            trigger(FailureReason.OOM_KILLED),
            id="crash-loop-not-watched",
        ),
        pytest.param(
            pod(phase="Failed", reason="Evicted", containers=[]),
            trigger(FailureReason.OOM_KILLED),
            id="eviction-not-watched",
        ),
        pytest.param(
            pod(containers=[container(waiting="ContainerCreating")]),
            ALL_REASONS,
            id="harmless-waiting-reason",
        ),
        pytest.param(
            pod(containers=[container(terminated="Completed", exit_code=0)]),
            ALL_REASONS,
            id="completed-termination",
        ),
        pytest.param(pod(), ALL_REASONS, id="healthy-pod"),
    ],
)
def test_states_the_trigger_does_not_watch_are_ignored(
    body: dict[str, Any], watched: PodFailureTrigger
) -> None:
    assert detect_pod_failures(body, watched, now=NOW) == []


def test_terminating_pod_is_ignored() -> None:
    body = pod(
        containers=[container(restarts=3, waiting="CrashLoopBackOff")],
        is_ready=False,
        is_terminating=True,
    )

    assert detect_pod_failures(body, ALL_REASONS, now=NOW) == []


def test_failures_come_oldest_evidence_first() -> None:
    body = pod(
        containers=[
            container("late", terminated="Error", terminated_at=ago(10), exit_code=1),
            container("early", restarts=1, last_terminated="OOMKilled", last_terminated_at=ago(90)),
        ]
    )

    failures = detect_pod_failures(body, ALL_REASONS, now=NOW)

    assert [f.container for f in failures] == ["early", "late"]
    assert failures[0].began_at == ago(90)


# --- Evidence keys ------------------------------------------------------------------------------


def test_same_oom_seen_again_later_has_the_same_evidence_key() -> None:
    body = pod(containers=[container(restarts=1, last_terminated="OOMKilled")])

    first = detect_pod_failures(body, ALL_REASONS, now=NOW)
    again = detect_pod_failures(body, ALL_REASONS, now=NOW + datetime.timedelta(minutes=5))

    assert [f.evidence_key for f in first] == [f.evidence_key for f in again]


def test_oom_keeps_its_key_when_it_moves_from_state_to_last_state() -> None:
    killed_at = ago(20)
    while_dead = pod(containers=[container(terminated="OOMKilled", terminated_at=killed_at)])
    restarted = pod(
        containers=[
            container(restarts=1, last_terminated="OOMKilled", last_terminated_at=killed_at)
        ]
    )

    before = detect_pod_failures(while_dead, ALL_REASONS, now=NOW)
    after = detect_pod_failures(restarted, ALL_REASONS, now=NOW)

    assert [f.evidence_key for f in before] == [f.evidence_key for f in after]


def test_next_oom_has_a_new_evidence_key() -> None:
    first = pod(
        containers=[container(restarts=1, last_terminated="OOMKilled", last_terminated_at=ago(300))]
    )
    second = pod(
        containers=[container(restarts=2, last_terminated="OOMKilled", last_terminated_at=ago(10))]
    )

    (one,) = detect_pod_failures(first, ALL_REASONS, now=NOW)
    (two,) = detect_pod_failures(second, ALL_REASONS, now=NOW)

    assert one.evidence_key != two.evidence_key


def test_crash_loop_key_changes_with_each_restart_only() -> None:
    def key(restarts: int) -> str:
        body = pod(containers=[container(restarts=restarts, waiting="CrashLoopBackOff")])
        (failure,) = detect_pod_failures(body, ALL_REASONS, now=NOW)
        return failure.evidence_key

    assert key(3) == key(3)
    assert key(3) != key(4)


def test_evidence_key_starts_with_the_pod_name() -> None:
    body = pod("web-1", containers=[container(waiting="CrashLoopBackOff")])

    (failure,) = detect_pod_failures(body, ALL_REASONS, now=NOW)

    assert failure.evidence_key.split("/", 1)[0] == "web-1"


# --- Restart bursts -----------------------------------------------------------------------------

BURST = trigger(restart_burst=RestartBurst(count=3, within_seconds=600))


@pytest.mark.parametrize(
    ("restarts", "started_at", "history", "is_burst"),
    [
        pytest.param(
            5, ago(86_400), [RestartSample(ago(300), 2)], True, id="three-more-within-window"
        ),
        pytest.param(
            4, ago(86_400), [RestartSample(ago(300), 2)], False, id="two-more-within-window"
        ),
        pytest.param(
            9, ago(86_400), [RestartSample(ago(900), 0)], False, id="history-older-than-window"
        ),
        pytest.param(
            5,
            ago(86_400),
            [RestartSample(ago(500), 1), RestartSample(ago(100), 4)],
            True,
            id="lowest-sample-in-window-is-the-baseline",
        ),
        pytest.param(9, ago(86_400), [], False, id="old-pod-without-history"),
        pytest.param(3, ago(120), [], True, id="young-pod-without-history"),
        pytest.param(2, ago(120), [], False, id="young-pod-below-count"),
    ],
)
def test_restart_burst(
    restarts: int,
    started_at: datetime.datetime,
    history: list[RestartSample],
    is_burst: bool,
) -> None:
    body = pod(containers=[container(restarts=restarts)], started_at=started_at)

    failures = detect_pod_failures(body, BURST, now=NOW, restart_history=history)

    assert [f.reason for f in failures] == (["RestartBurst"] if is_burst else [])


def test_restart_burst_sums_the_restarts_of_all_containers() -> None:
    body = pod(
        containers=[container("a", restarts=2), container("b", restarts=1)], started_at=ago(60)
    )

    (failure,) = detect_pod_failures(body, BURST, now=NOW)

    assert failure.reason == "RestartBurst"
    assert failure.evidence_key != ""


# --- Not ready ----------------------------------------------------------------------------------

NOT_READY = trigger(not_ready_for_seconds=300)


@pytest.mark.parametrize(
    ("body", "is_failure"),
    [
        pytest.param(pod(is_ready=False, ready_changed_at=ago(300)), True, id="exactly-the-limit"),
        pytest.param(pod(is_ready=False, ready_changed_at=ago(900)), True, id="past-the-limit"),
        pytest.param(pod(is_ready=False, ready_changed_at=ago(299)), False, id="not-yet"),
        pytest.param(pod(is_ready=True, ready_changed_at=ago(900)), False, id="ready"),
        pytest.param(
            pod(is_ready=False, ready_changed_at=ago(900), phase="Pending"),
            False,
            id="pending-pod",
        ),
        pytest.param(
            pod(is_ready=False, ready_changed_at=ago(900), phase="Succeeded"),
            False,
            id="finished-pod",
        ),
    ],
)
def test_not_ready_counts_only_while_running_for_the_whole_limit(
    body: dict[str, Any], is_failure: bool
) -> None:
    failures = detect_pod_failures(body, NOT_READY, now=NOW)

    assert [f.reason for f in failures] == (["NotReady"] if is_failure else [])


def test_not_ready_failure_began_when_readiness_was_lost() -> None:
    body = pod(is_ready=False, ready_changed_at=ago(400))

    (failure,) = detect_pod_failures(body, NOT_READY, now=NOW)

    assert failure.began_at == ago(400)
    assert "400s" in failure.message


def test_not_ready_deadline_is_when_the_limit_will_be_reached() -> None:
    lost_at = ago(100)

    deadline = not_ready_deadline(pod(is_ready=False, ready_changed_at=lost_at), NOT_READY)

    assert deadline == lost_at + datetime.timedelta(seconds=300)
    assert not_ready_deadline(pod(is_ready=True), NOT_READY) is None
    assert not_ready_deadline(pod(is_ready=False), ALL_REASONS) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2026-12-03T12:00:00Z", NOW, id="zulu-string"),
        pytest.param("2026-12-03T13:00:00+01:00", NOW, id="offset-string"),
        pytest.param(NOW.replace(tzinfo=None), NOW, id="naive-datetime-is-utc"),
        pytest.param(NOW, NOW, id="aware-datetime"),
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_time_gives_aware_datetimes(value: Any, expected: datetime.datetime | None) -> None:
    assert parse_time(value) == expected
