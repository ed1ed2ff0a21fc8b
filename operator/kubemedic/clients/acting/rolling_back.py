"""Rollback: what ``kubectl rollout undo`` does for a Deployment.

The plan (which revision, which template, whether the incident is the
latest rollout's fault) comes from ``kubemedic.domain.rollouts``; this module
reads the ReplicaSets and writes the template back.

The template is replaced whole with a JSON patch: a merge patch would keep
template annotations and labels of the bad revision that the old one lacks.
The same patch sets the action key on the Deployment's metadata (never on the
template, which must equal the old ReplicaSet's for the controller to revive
it) and the ``resourceVersion`` the plan was made from, so a concurrent
rollout fails the patch with a conflict instead of being undone blindly.
"""

from __future__ import annotations

import logging

from kubemedic.api.incidents import ActionResult, TargetKind
from kubemedic.clients.acting.requests import ActionOutcome, ActionRequest, is_stamped, stamp
from kubemedic.clients.apiserver import ApiServer, Body, resource_path
from kubemedic.clients.workloads import Workload
from kubemedic.domain.rollouts import plan_rollback

logger = logging.getLogger(__name__)


async def roll_back_deployment(
    server: ApiServer, request: ActionRequest, workload: Workload
) -> ActionOutcome:
    """Put the previous revision's pod template back into the Deployment."""
    object_name = f"{workload.kind} {workload.name}"
    if workload.kind != TargetKind.DEPLOYMENT:
        return ActionOutcome(
            ActionResult.BLOCKED,
            f"Rollback supports Deployments; {workload.display} was not rolled back",
            object_name,
        )
    if is_stamped(workload.body, request):
        return ActionOutcome(
            ActionResult.SUCCEEDED,
            f"Rolled back {workload.display} already (it carries key {request.key})",
            object_name,
        )

    # The Deployment's history: the ReplicaSets it owns, found by selector.
    replica_sets = await server.list(
        resource_path("apps/v1", "replicasets", namespace=workload.namespace),
        label_selector=workload.selector,
    )
    window = (
        request.action.rollback.only_within_seconds_of_rollout if request.action.rollback else None
    )
    plan = plan_rollback(
        workload.body, replica_sets, detected_at=request.detected_at, window_seconds=window
    )
    if plan.is_refused or plan.target is None or plan.template is None:
        return ActionOutcome(
            ActionResult.BLOCKED,
            f"Did not roll back {workload.display}: {plan.refusal}",
            object_name,
        )

    logger.info(
        "Rolling back %s from revision %s to revision %d for incident %s/%s%s",
        workload.display,
        plan.current,
        plan.target.number,
        workload.namespace,
        request.incident,
        " (dry run)" if request.dry_run else "",
    )
    metadata = workload.body["metadata"]
    operations: list[Body] = [
        {
            "op": "replace",
            "path": "/metadata/resourceVersion",
            "value": metadata["resourceVersion"],
        },
        {"op": "replace", "path": "/spec/template", "value": plan.template},
    ]
    if metadata.get("annotations"):
        operations += [
            {"op": "add", "path": f"/metadata/annotations/{escape_pointer(key)}", "value": value}
            for key, value in stamp(request).items()
        ]
    else:
        operations.append({"op": "add", "path": "/metadata/annotations", "value": stamp(request)})
    await server.patch(workload.path, operations, kind="json", dry_run=request.dry_run)

    verb = "Would roll back" if request.dry_run else "Rolled back"
    result = ActionResult.DRY_RUN if request.dry_run else ActionResult.SUCCEEDED
    message = (
        f"{verb} {workload.display} from revision {plan.current} to revision "
        f"{plan.target.number} (ReplicaSet {workload.namespace}/{plan.target.replica_set})"
    )
    return ActionOutcome(result, message, object_name)


def escape_pointer(key: str) -> str:
    """A map key as one segment of a JSON pointer (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")
