"""metav1.Condition bookkeeping: set one condition, keep the others.

``lastTransitionTime`` moves only when the status flips; a changed reason or
message with the same status updates them in place. The whole list is
returned each time because a merge patch replaces lists.
"""

from __future__ import annotations

import datetime

from kubemedic.api.common import Condition, ConditionStatus


def set_condition(
    conditions: list[Condition],
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    *,
    now: datetime.datetime,
    generation: int | None = None,
) -> list[Condition]:
    """The conditions with ``type_`` set as given, in their original order."""
    previous = find_condition(conditions, type_)
    flipped = previous is None or previous.status != status
    condition = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        observed_generation=generation,
        last_transition_time=now if flipped or previous is None else previous.last_transition_time,
    )
    if previous is None:
        return [*conditions, condition]
    return [condition if c.type == type_ else c for c in conditions]


def find_condition(conditions: list[Condition], type_: str) -> Condition | None:
    """The condition of that type, if set."""
    return next((c for c in conditions if c.type == type_), None)


def is_condition_true(conditions: list[Condition], type_: str) -> bool:
    """Whether the condition of that type is set and True."""
    condition = find_condition(conditions, type_)
    return condition is not None and condition.status == ConditionStatus.TRUE
