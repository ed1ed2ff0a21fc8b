"""RolloutRestart: what ``kubectl rollout restart`` does.

A new value of the pod template annotation ``kubectl.kubernetes.io/restartedAt``
changes the template, so the workload's controller replaces every pod under
its own rollout strategy (maxUnavailable, partitions, PDB-free but paced).
The action key goes into the same merge patch, on the workload and on the
template; the key in the template is the evidence of this very restart.
"""

from __future__ import annotations

import datetime
import logging

from kubemedic.api.incidents import ActionResult
from kubemedic.clients.acting.requests import (
    ACTION_KEY_ANNOTATION,
    RESTARTED_AT_ANNOTATION,
    ActionOutcome,
    ActionRequest,
    stamp,
)
from kubemedic.clients.apiserver import ApiServer
from kubemedic.clients.workloads import Workload

logger = logging.getLogger(__name__)


async def restart_workload(
    server: ApiServer, request: ActionRequest, workload: Workload
) -> ActionOutcome:
    """Restart every pod of ``workload`` through its own rollout."""
    object_name = f"{workload.kind} {workload.name}"
    if has_restarted(workload, request):
        return ActionOutcome(
            ActionResult.SUCCEEDED,
            f"Restarted {workload.display} already (its template carries key {request.key})",
            object_name,
        )

    logger.info(
        "Restarting %s for incident %s/%s%s",
        workload.display,
        workload.namespace,
        request.incident,
        " (dry run)" if request.dry_run else "",
    )
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    restarted_at = now.replace("+00:00", "Z")
    template_annotations = {
        RESTARTED_AT_ANNOTATION: restarted_at,
        ACTION_KEY_ANNOTATION: request.key,
    }
    patch = {
        "metadata": {"annotations": stamp(request)},
        "spec": {"template": {"metadata": {"annotations": template_annotations}}},
    }
    await server.patch(workload.path, patch, kind="merge", dry_run=request.dry_run)

    if request.dry_run:
        return ActionOutcome(ActionResult.DRY_RUN, f"Would restart {workload.display}", object_name)
    return ActionOutcome(
        ActionResult.SUCCEEDED,
        f"Restarted {workload.display} (restartedAt {restarted_at})",
        object_name,
    )


def has_restarted(workload: Workload, request: ActionRequest) -> bool:
    """Whether the workload's template carries this request's key."""
    template = workload.body.get("spec", {}).get("template", {})
    annotations = template.get("metadata", {}).get("annotations") or {}
    return bool(annotations.get(ACTION_KEY_ANNOTATION) == request.key)
