"""Planning a Rollback: which revision, which template, and whether at all.

A Deployment keeps its history as ReplicaSets: each one it owns carries the
revision number it was created (or last reused) for in the annotation
``deployment.kubernetes.io/revision``, and its pod template. Rolling back, as
``kubectl rollout undo`` does, writes the template of the highest revision
below the current one into the Deployment; the Deployment controller then
finds the old ReplicaSet by its template hash and scales it back up.

The plan refuses, with a reason meant for the incident's timeline, when there
is no earlier revision, or when ``onlyWithinSecondsOfRollout`` is set and the
incident did not begin within that many seconds after the latest rollout (so
the rollout is not what broke the workload).

The functions take the objects as the API returns them (plain dicts), so that
a ReplicaSet read by a client can be handed over unchanged.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
POD_TEMPLATE_HASH_LABEL = "pod-template-hash"


@dataclass(frozen=True)
class Revision:
    """One revision of a Deployment, as recorded by its ReplicaSet."""

    number: int
    replica_set: str
    created_at: datetime.datetime | None
    template: Mapping[str, Any]


@dataclass(frozen=True)
class RollbackPlan:
    """The template to write into the Deployment, or why not to."""

    current: int | None = None
    target: Revision | None = None
    template: Mapping[str, Any] | None = None
    refusal: str | None = None

    @property
    def is_refused(self) -> bool:
        return self.refusal is not None


def parse_timestamp(value: str | None) -> datetime.datetime | None:
    """A timestamp as the API writes it (RFC 3339, UTC), or None."""
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def collect_revisions(replica_sets: Iterable[Mapping[str, Any]], owner_uid: str) -> list[Revision]:
    """The revisions of the Deployment with ``owner_uid``, oldest first.

    ReplicaSets owned by another object (or none), or without a readable
    revision number, are not part of the history and are left out.
    """
    revisions = []
    for replica_set in replica_sets:
        metadata = replica_set.get("metadata", {})
        owners = metadata.get("ownerReferences") or []
        if not any(owner.get("uid") == owner_uid for owner in owners):
            continue
        try:
            number = int((metadata.get("annotations") or {})[REVISION_ANNOTATION])
        except (KeyError, ValueError):
            continue
        revisions.append(
            Revision(
                number=number,
                replica_set=metadata.get("name", ""),
                created_at=parse_timestamp(metadata.get("creationTimestamp")),
                template=replica_set.get("spec", {}).get("template", {}),
            )
        )
    return sorted(revisions, key=lambda revision: revision.number)


def choose_previous_revision(revisions: Iterable[Revision], current: int) -> Revision | None:
    """The highest revision below ``current``: what ``rollout undo`` goes back to."""
    earlier = [revision for revision in revisions if revision.number < current]
    return max(earlier, key=lambda revision: revision.number, default=None)


def clean_template(template: Mapping[str, Any]) -> dict[str, Any]:
    """A ReplicaSet's pod template made fit for its Deployment again.

    The ReplicaSet controller adds the ``pod-template-hash`` label; left in,
    it would make the Deployment's template differ from the old ReplicaSet's
    and produce a new ReplicaSet instead of reviving the old one.
    """
    cleaned = copy.deepcopy(dict(template))
    labels = cleaned.get("metadata", {}).get("labels")
    if labels is not None:
        labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    return cleaned


def check_rollout_window(
    *,
    detected_at: datetime.datetime,
    rolled_out_at: datetime.datetime | None,
    window_seconds: int | None,
) -> str | None:
    """Why the incident is not the latest rollout's fault, or None if it may be."""
    if window_seconds is None:
        return None
    if rolled_out_at is None:
        return "the time of the latest rollout is unknown (its ReplicaSet has no creationTimestamp)"
    elapsed = int((detected_at - rolled_out_at).total_seconds())
    if elapsed < 0:
        return f"the incident began {-elapsed}s before the latest rollout"
    if elapsed > window_seconds:
        return (
            f"the incident began {elapsed}s after the latest rollout, "
            f"outside onlyWithinSecondsOfRollout={window_seconds}"
        )
    return None


def plan_rollback(
    deployment: Mapping[str, Any],
    replica_sets: Iterable[Mapping[str, Any]],
    *,
    detected_at: datetime.datetime,
    window_seconds: int | None,
) -> RollbackPlan:
    """What rolling ``deployment`` back means, given its ReplicaSets."""
    metadata = deployment.get("metadata", {})
    revisions = collect_revisions(replica_sets, metadata.get("uid", ""))

    # The current revision is the Deployment's own annotation; before the
    # controller has written it, the newest ReplicaSet's is the best guess.
    try:
        current = int((metadata.get("annotations") or {})[REVISION_ANNOTATION])
    except (KeyError, ValueError):
        current = revisions[-1].number if revisions else 0
    if not revisions:
        return RollbackPlan(current=current, refusal="no ReplicaSet records a revision yet")

    # Without an earlier revision there is nothing to go back to.
    previous = choose_previous_revision(revisions, current)
    if previous is None:
        return RollbackPlan(
            current=current, refusal=f"no revision before the current revision {current}"
        )

    # NB: the latest rollout is when the current revision's ReplicaSet was
    # created. A rollback to an existing ReplicaSet keeps its old creation
    # time, so a second rollback soon after the first one may be refused.
    newest = next((r for r in revisions if r.number == current), revisions[-1])
    refusal = check_rollout_window(
        detected_at=detected_at, rolled_out_at=newest.created_at, window_seconds=window_seconds
    )
    if refusal is not None:
        return RollbackPlan(current=current, refusal=refusal)

    return RollbackPlan(
        current=current, target=previous, template=clean_template(previous.template)
    )
