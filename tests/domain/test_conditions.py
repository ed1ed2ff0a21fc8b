"""Conditions: lastTransitionTime moves only when the status flips."""

from __future__ import annotations

from kubemedic.api.common import ConditionStatus
from kubemedic.domain.conditions import find_condition, is_condition_true, set_condition

from .pods import NOW, ago

TRUE, FALSE = ConditionStatus.TRUE, ConditionStatus.FALSE


def test_new_condition_transitions_now() -> None:
    (condition,) = set_condition([], "Ready", TRUE, "Watching", "fine", now=NOW, generation=3)

    assert condition.last_transition_time == NOW
    assert (condition.reason, condition.message, condition.observed_generation) == (
        "Watching",
        "fine",
        3,
    )


def test_same_status_keeps_the_transition_time_but_takes_the_new_reason() -> None:
    before = set_condition([], "Ready", FALSE, "InvalidSpec", "fix a", now=ago(60))

    (after,) = set_condition(before, "Ready", FALSE, "InvalidSpec", "fix b", now=NOW)

    assert after.last_transition_time == ago(60)
    assert after.message == "fix b"


def test_flipped_status_moves_the_transition_time() -> None:
    before = set_condition([], "Ready", FALSE, "InvalidSpec", "fix it", now=ago(60))

    (after,) = set_condition(before, "Ready", TRUE, "Watching", "fine", now=NOW)

    assert after.last_transition_time == NOW


def test_other_conditions_are_kept_in_their_order() -> None:
    conditions = set_condition([], "Ready", TRUE, "Watching", "", now=ago(60))
    conditions = set_condition(conditions, "RemediationAllowed", TRUE, "Allowed", "", now=ago(60))

    updated = set_condition(conditions, "Ready", FALSE, "InvalidSpec", "", now=NOW)

    assert [c.type for c in updated] == ["Ready", "RemediationAllowed"]
    assert updated[1] == conditions[1]
    assert conditions[0].status == TRUE  # the input is not changed


def test_find_and_is_true() -> None:
    conditions = set_condition([], "Resolved", FALSE, "Open", "", now=NOW)

    assert find_condition(conditions, "Resolved") == conditions[0]
    assert find_condition(conditions, "Acknowledged") is None
    assert not is_condition_true(conditions, "Resolved")
    assert not is_condition_true(conditions, "Acknowledged")
    assert is_condition_true(
        set_condition(conditions, "Resolved", TRUE, "Healthy", "", now=NOW), "Resolved"
    )
