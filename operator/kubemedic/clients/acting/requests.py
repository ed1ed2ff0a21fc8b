"""What the incident loop asks an actuator to do, and what it gets back.

Besides the two dataclasses, this module holds the marks an action leaves on
the objects it mutates. Every mutation carries, in the same request, the
annotations ``kubemedic.io/action-key`` and ``kubemedic.io/incident``; the
key on a live object is the evidence ``find_done`` looks for after a crash.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass

from kubemedic.api.incidents import ActionResult, Target
from kubemedic.api.policies import Action

ACTION_KEY_ANNOTATION = "kubemedic.io/action-key"
INCIDENT_ANNOTATION = "kubemedic.io/incident"
INCIDENT_LABEL = "kubemedic.io/incident"
ACTION_KEY_LABEL = "kubemedic.io/action-key"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kubemedic"
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
REVERT_ANNOTATION_PREFIX = "revert.kubemedic.io/"

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True)
class ActionRequest:
    """One step of an incident's ladder, to be carried out on the live objects."""

    key: str  # idempotency key, unique per action; <= 63 chars, DNS-label safe
    action: Action  # the ladder step from the policy
    target: Target  # the incident's target: a workload or a pod
    incident: str  # the incident's name, in the target's namespace
    detected_at: datetime.datetime  # when the incident opened (for onlyWithinSecondsOfRollout)
    pods: tuple[str, ...] = ()  # the pods EvictPod and DeletePod act on, chosen by the caller
    dry_run: bool = False  # everything but the mutation; the API still validates the request


@dataclass(frozen=True)
class ActionOutcome:
    """How an action went, in the words the incident's record keeps."""

    result: ActionResult
    message: str  # what was done or why not, naming objects as 'Kind ns/name'
    object: str | None = None  # 'Kind name' acted on


def stamp(request: ActionRequest) -> dict[str, str]:
    """The annotations every mutation of ``request`` writes on its object."""
    return {ACTION_KEY_ANNOTATION: request.key, INCIDENT_ANNOTATION: request.incident}


def is_stamped(body: dict[str, object], request: ActionRequest) -> bool:
    """Whether an object as read from the API carries the key of ``request``."""
    metadata = body.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return isinstance(annotations, dict) and annotations.get(ACTION_KEY_ANNOTATION) == request.key


def to_label_value(text: str) -> str:
    """``text`` as a valid label value: itself, or a shortened form with a hash.

    Object names may be 253 characters long, label values only 63.
    """
    if len(text) <= 63 and _LABEL_VALUE.match(text):
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    head = re.sub(r"[^-A-Za-z0-9_.]", "-", text)[:52].strip("-_.")
    return f"{head}-{digest}" if head else digest
