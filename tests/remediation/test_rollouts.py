"""The revision a Rollback goes back to, and when it refuses."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubemedic.domain.rollouts import (
    Revision,
    check_rollout_window,
    choose_previous_revision,
    clean_template,
    collect_revisions,
    plan_rollback,
)

OWNER_UID = "0b6e2f3c-deployment"
T0 = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.UTC)


def replica_set(
    name: str,
    revision: int | None,
    *,
    image: str = "app:1",
    created: datetime.datetime = T0,
    owner_uid: str = OWNER_UID,
) -> dict[str, Any]:
    annotations = {} if revision is None else {"deployment.kubernetes.io/revision": str(revision)}
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created.isoformat().replace("+00:00", "Z"),
            "annotations": annotations,
            "ownerReferences": [{"kind": "Deployment", "uid": owner_uid, "controller": True}],
        },
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "shop", "pod-template-hash": f"{name}-hash"}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            }
        },
    }


def deployment(revision: int | None) -> dict[str, Any]:
    annotations = {} if revision is None else {"deployment.kubernetes.io/revision": str(revision)}
    return {"metadata": {"name": "shop", "uid": OWNER_UID, "annotations": annotations}}


def revision(number: int) -> Revision:
    return Revision(number=number, replica_set=f"rs-{number}", created_at=T0, template={})


@pytest.mark.parametrize(
    ("numbers", "current", "expected"),
    [
        pytest.param([1, 2, 3], 3, 2, id="the-one-before"),
        pytest.param([1, 3, 7], 7, 3, id="skips-gaps"),
        pytest.param([2, 5, 4], 5, 4, id="unordered-input"),
        pytest.param([4, 5, 6], 5, 4, id="current-is-not-the-newest"),
        pytest.param([3], 3, None, id="only-the-current"),
        pytest.param([], 1, None, id="no-history"),
    ],
)
def test_previous_revision_is_the_highest_below_the_current(
    numbers: list[int], current: int, expected: int | None
) -> None:
    chosen = choose_previous_revision([revision(n) for n in numbers], current)
    assert (chosen.number if chosen else None) == expected


def test_history_ignores_replica_sets_of_other_owners_and_without_revision() -> None:
    revisions = collect_revisions(
        [
            replica_set("shop-b", 2),
            replica_set("other-a", 9, owner_uid="someone-else"),
            replica_set("shop-x", None),
            replica_set("shop-a", 1),
        ],
        OWNER_UID,
    )
    assert [(r.number, r.replica_set) for r in revisions] == [(1, "shop-a"), (2, "shop-b")]


def test_template_loses_the_pod_template_hash_and_nothing_else() -> None:
    template = replica_set("shop-a", 1)["spec"]["template"]
    cleaned = clean_template(template)
    assert cleaned["metadata"]["labels"] == {"app": "shop"}
    assert cleaned["spec"] == template["spec"]
    assert "pod-template-hash" in template["metadata"]["labels"], "the input is not modified"


@pytest.mark.parametrize(
    ("seconds_after_rollout", "window", "refusal"),
    [
        pytest.param(30, 300, None, id="within"),
        pytest.param(300, 300, None, id="at-the-edge"),
        pytest.param(
            301,
            300,
            "the incident began 301s after the latest rollout, "
            "outside onlyWithinSecondsOfRollout=300",
            id="outside",
        ),
        pytest.param(-5, 300, "the incident began 5s before the latest rollout", id="before"),
        pytest.param(99_999, None, None, id="no-window"),
    ],
)
def test_rollout_window(
    seconds_after_rollout: int, window: int | None, refusal: str | None
) -> None:
    detected = T0 + datetime.timedelta(seconds=seconds_after_rollout)
    assert (
        check_rollout_window(detected_at=detected, rolled_out_at=T0, window_seconds=window)
        == refusal
    )


def test_plan_goes_back_to_the_previous_template() -> None:
    history = [
        replica_set("shop-a", 1, image="app:1", created=T0),
        replica_set("shop-b", 2, image="app:2", created=T0 + datetime.timedelta(hours=1)),
    ]
    plan = plan_rollback(
        deployment(2),
        history,
        detected_at=T0 + datetime.timedelta(hours=1, seconds=40),
        window_seconds=120,
    )
    assert plan.refusal is None
    assert plan.current == 2
    assert plan.target is not None
    assert plan.target.replica_set == "shop-a"
    assert plan.template is not None
    assert plan.template["spec"]["containers"][0]["image"] == "app:1"
    assert "pod-template-hash" not in plan.template["metadata"]["labels"]


def test_plan_refuses_without_a_previous_revision() -> None:
    plan = plan_rollback(
        deployment(1), [replica_set("shop-a", 1)], detected_at=T0, window_seconds=None
    )
    assert plan.refusal == "no revision before the current revision 1"


def test_plan_refuses_an_incident_long_after_the_rollout() -> None:
    history = [replica_set("shop-a", 1), replica_set("shop-b", 2, created=T0)]
    plan = plan_rollback(
        deployment(2), history, detected_at=T0 + datetime.timedelta(hours=2), window_seconds=600
    )
    assert plan.refusal == (
        "the incident began 7200s after the latest rollout, outside onlyWithinSecondsOfRollout=600"
    )


def test_plan_takes_the_newest_replica_set_as_current_before_the_deployment_says() -> None:
    history = [replica_set("shop-a", 1), replica_set("shop-b", 2)]
    plan = plan_rollback(deployment(None), history, detected_at=T0, window_seconds=None)
    assert plan.current == 2
    assert plan.target is not None
    assert plan.target.number == 1


def test_plan_refuses_without_any_history() -> None:
    plan = plan_rollback(deployment(None), [], detected_at=T0, window_seconds=None)
    assert plan.refusal == "no ReplicaSet records a revision yet"
