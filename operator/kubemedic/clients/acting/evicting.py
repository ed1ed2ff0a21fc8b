"""EvictPod and DeletePod: removing the pods the caller chose.

Eviction goes through the ``pods/eviction`` subresource, so the API server
checks PodDisruptionBudgets and answers 429 when one forbids it; that answer
is final for this step (BLOCKED), not a reason to retry in a loop. DeletePod
skips the budgets, for users who choose it explicitly.

Right before removing a pod, its annotations are stamped with the action key:
a pod that is terminating with that key, or gone, is the evidence that the
action ran. Both requests carry the pod's uid as a precondition, so a
StatefulSet pod recreated under the same name is never removed by mistake.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from kubemedic.api.incidents import ActionResult, TargetKind
from kubemedic.api.policies import ActionType
from kubemedic.clients.acting.requests import (
    ActionOutcome,
    ActionRequest,
    is_stamped,
    stamp,
)
from kubemedic.clients.apiserver import ApiServer, Body
from kubemedic.clients.workloads import pod_path
from kubemedic.errors import ConflictError, NotFoundError, RefusedError

logger = logging.getLogger(__name__)

EVICTION_REFUSED_STATUS = 429
PAST_TENSES = {"evict": "Evicted", "delete": "Deleted"}


@dataclass
class Tally:
    """What happened to each pod of one request."""

    removed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # gone, replaced or terminating
    refused: list[str] = field(default_factory=list)  # 'Pod ns/name: reason'


def chosen_pods(request: ActionRequest) -> tuple[str, ...]:
    """The pods to act on: the caller's choice, or the target pod itself."""
    if request.pods:
        return request.pods
    if request.target.kind == TargetKind.POD:
        return (request.target.name,)
    return ()


async def remove_pods(server: ApiServer, request: ActionRequest) -> ActionOutcome:
    """Evict (or delete) the chosen pods and say how it went."""
    verb = "evict" if request.action.type == ActionType.EVICT_POD else "delete"
    namespace = request.target.namespace
    names = chosen_pods(request)
    if not names:
        return ActionOutcome(
            ActionResult.SKIPPED, f"No pods were chosen to {verb} in {request.target.display}"
        )

    tally = Tally()
    for name in names:
        await remove_pod(server, request, name, tally)

    # One outcome for the whole request: refused only when nothing moved.
    display = ", ".join(f"Pod {namespace}/{name}" for name in tally.removed)
    done = f"Would {verb}" if request.dry_run else PAST_TENSES[verb]
    notes = []
    if tally.already:
        notes.append(f"already gone or terminating: {', '.join(tally.already)}")
    if tally.refused:
        notes.append(f"refused: {'; '.join(tally.refused)}")
    suffix = f" ({'; '.join(notes)})" if notes else ""
    object_name = f"Pod {tally.removed[0]}" if len(tally.removed) == 1 else None

    if tally.removed:
        result = ActionResult.DRY_RUN if request.dry_run else ActionResult.SUCCEEDED
        return ActionOutcome(result, f"{done} {display}{suffix}", object_name)
    if tally.refused:
        return ActionOutcome(
            ActionResult.BLOCKED,
            f"Could not {verb} {'; '.join(tally.refused)}",
            f"Pod {names[0]}" if len(names) == 1 else None,
        )
    return ActionOutcome(
        ActionResult.SKIPPED,
        f"Nothing to {verb} in {namespace}: {', '.join(tally.already)} already gone or terminating",
    )


async def remove_pod(server: ApiServer, request: ActionRequest, name: str, tally: Tally) -> None:
    """Evict or delete one pod, recording the result in ``tally``."""
    namespace = request.target.namespace
    path = pod_path(namespace, name)

    # A pod that is gone, already terminating, or replaced by a pod of the
    # same name (a StatefulSet's) needs nothing more from us.
    try:
        pod = await server.get(path)
    except NotFoundError:
        tally.already.append(name)
        return
    uid = pod["metadata"]["uid"]
    if is_replacement(pod, request) or pod["metadata"].get("deletionTimestamp"):
        tally.already.append(name)
        return

    # NB: the stamp must land before the removal, or a crash in between would
    # leave a removed pod that find_done cannot attribute to this action.
    evicting = request.action.type == ActionType.EVICT_POD
    logger.info(
        "%s Pod %s/%s for incident %s/%s%s",
        "Evicting" if evicting else "Deleting",
        namespace,
        name,
        namespace,
        request.incident,
        " (dry run)" if request.dry_run else "",
    )
    try:
        await server.patch(
            path,
            {"metadata": {"uid": uid, "annotations": stamp(request)}},
            kind="merge",
            dry_run=request.dry_run,
        )
        options: Body = {"preconditions": {"uid": uid}}
        if request.dry_run:
            options["dryRun"] = ["All"]
        if evicting:
            eviction = {
                "apiVersion": "policy/v1",
                "kind": "Eviction",
                "metadata": {"name": name, "namespace": namespace},
                "deleteOptions": options,
            }
            await server.create(pod_path(namespace, name, subresource="eviction"), eviction)
        else:
            await server.delete(path, body=options, dry_run=request.dry_run)
    except NotFoundError:
        tally.already.append(name)
        return
    except ConflictError:
        # The uid precondition failed: the pod was replaced meanwhile.
        tally.already.append(name)
        return
    except RefusedError as error:
        if error.status != EVICTION_REFUSED_STATUS:
            raise
        logger.warning("Eviction of Pod %s/%s refused: %s", namespace, name, error)
        tally.refused.append(f"Pod {namespace}/{name}: {error}")
        return
    tally.removed.append(name)


def is_replacement(pod: Body, request: ActionRequest) -> bool:
    """Whether the pod is not the incident's pod but a new one of the same name."""
    target = request.target
    return (
        target.kind == TargetKind.POD
        and target.uid is not None
        and pod["metadata"]["name"] == target.name
        and pod["metadata"]["uid"] != target.uid
    )


async def find_removed_pods(server: ApiServer, request: ActionRequest) -> ActionOutcome | None:
    """The outcome of an eviction or deletion that evidently ran, else None.

    Evidence, for every chosen pod: it is gone, it is terminating with our
    key, or (for a pod target whose uid is known) it was replaced.
    """
    names = chosen_pods(request)
    if not names:
        return None
    namespace = request.target.namespace
    for name in names:
        try:
            pod = await server.get(pod_path(namespace, name))
        except NotFoundError:
            continue
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        if not (terminating and is_stamped(pod, request)) and not is_replacement(pod, request):
            return None
    verb = "evict" if request.action.type == ActionType.EVICT_POD else "delete"
    return ActionOutcome(
        ActionResult.SUCCEEDED,
        f"{PAST_TENSES[verb]} Pod {namespace}/{', '.join(names)} "
        "(found gone or terminating after a restart)",
        f"Pod {names[0]}" if len(names) == 1 else None,
    )
