"""Scale: more (or fewer) replicas, without fighting an autoscaler.

The count comes from ``kubemedic.domain.scaling``. When an autoscaling/v2
HorizontalPodAutoscaler targets the workload, its bounds are moved instead of
``spec.replicas``, which the HPA would overwrite within seconds.

Without an HPA the workload itself is patched (rather than its ``scale``
subresource, which cannot carry annotations), so the new count and the action
key land in one request: there is no moment where the replicas changed but
the evidence is missing. Both patches carry the ``resourceVersion`` they
were computed from; a concurrent change makes them fail with a conflict,
to be retried from a fresh read.
"""

from __future__ import annotations

import logging

from kubemedic.api.incidents import ActionResult, TargetKind
from kubemedic.clients.acting.requests import ActionOutcome, ActionRequest, is_stamped, stamp
from kubemedic.clients.apiserver import ApiServer, Body, resource_path
from kubemedic.clients.workloads import Workload
from kubemedic.domain.scaling import plan_autoscaler, plan_replicas

logger = logging.getLogger(__name__)

HPA_API_VERSION = "autoscaling/v2"


async def find_autoscaler(server: ApiServer, workload: Workload) -> Body | None:
    """The HPA whose scaleTargetRef names the workload, if any."""
    autoscalers = await server.list(
        resource_path(HPA_API_VERSION, "horizontalpodautoscalers", namespace=workload.namespace)
    )
    for autoscaler in autoscalers:
        ref = autoscaler.get("spec", {}).get("scaleTargetRef", {})
        if ref.get("kind") == workload.kind and ref.get("name") == workload.name:
            return autoscaler
    return None


async def scale_workload(
    server: ApiServer, request: ActionRequest, workload: Workload
) -> ActionOutcome:
    """Scale ``workload`` as the step says, through its HPA when it has one."""
    scale = request.action.scale
    assert scale is not None  # the Action model requires it for type Scale
    if workload.kind == TargetKind.DAEMON_SET:
        return ActionOutcome(
            ActionResult.BLOCKED,
            f"Scale does not apply to {workload.display}: a DaemonSet runs one pod per node",
        )
    current = int(workload.body.get("spec", {}).get("replicas", 1))
    autoscaler = await find_autoscaler(server, workload)

    if autoscaler is None:
        return await scale_replicas(server, request, workload, current)

    # With an HPA, the evidence of the action is on the HPA.
    name = autoscaler["metadata"]["name"]
    object_name = f"HorizontalPodAutoscaler {name}"
    display = f"HorizontalPodAutoscaler {workload.namespace}/{name}"
    spec = autoscaler.get("spec", {})
    if is_stamped(autoscaler, request):
        return ActionOutcome(
            ActionResult.SUCCEEDED,
            f"Set the bounds of {display} already (minReplicas {spec.get('minReplicas', 1)}, "
            f"maxReplicas {spec.get('maxReplicas')})",
            object_name,
        )
    plan = plan_autoscaler(
        current,
        hpa_min=int(spec.get("minReplicas", 1)),
        hpa_max=int(spec["maxReplicas"]),
        scale=scale,
    )
    if plan.is_refused:
        return ActionOutcome(
            ActionResult.BLOCKED,
            f"Did not scale {workload.display} through {display}: {plan.refusal}",
            object_name,
        )

    logger.info(
        "Setting the bounds of %s to [%d, %d] for incident %s/%s%s",
        display,
        plan.min_replicas,
        plan.max_replicas,
        workload.namespace,
        request.incident,
        " (dry run)" if request.dry_run else "",
    )
    patch = {
        "metadata": {
            "resourceVersion": autoscaler["metadata"]["resourceVersion"],
            "annotations": stamp(request),
        },
        "spec": {"minReplicas": plan.min_replicas, "maxReplicas": plan.max_replicas},
    }
    path = resource_path(
        HPA_API_VERSION, "horizontalpodautoscalers", namespace=workload.namespace, name=name
    )
    await server.patch(path, patch, kind="merge", dry_run=request.dry_run)

    bounds = (
        f"minReplicas {spec.get('minReplicas', 1)}→{plan.min_replicas}, "
        f"maxReplicas {spec['maxReplicas']}→{plan.max_replicas}"
    )
    if request.dry_run:
        return ActionOutcome(
            ActionResult.DRY_RUN,
            f"Would scale {workload.display} from {current} to {plan.desired} replicas through "
            f"{display} ({bounds})",
            object_name,
        )
    return ActionOutcome(
        ActionResult.SUCCEEDED,
        f"Scaled {workload.display} from {current} to {plan.desired} replicas through "
        f"{display} ({bounds})",
        object_name,
    )


async def scale_replicas(
    server: ApiServer, request: ActionRequest, workload: Workload, current: int
) -> ActionOutcome:
    """Write ``spec.replicas`` of a workload no autoscaler drives."""
    scale = request.action.scale
    assert scale is not None
    object_name = f"{workload.kind} {workload.name}"
    if is_stamped(workload.body, request):
        return ActionOutcome(
            ActionResult.SUCCEEDED,
            f"Scaled {workload.display} already (to {current} replicas)",
            object_name,
        )
    plan = plan_replicas(current, scale)
    if plan.is_refused:
        return ActionOutcome(
            ActionResult.BLOCKED, f"Did not scale {workload.display}: {plan.refusal}", object_name
        )

    logger.info(
        "Scaling %s from %d to %d replicas for incident %s/%s%s",
        workload.display,
        current,
        plan.desired,
        workload.namespace,
        request.incident,
        " (dry run)" if request.dry_run else "",
    )
    patch = {
        "metadata": {
            "resourceVersion": workload.body["metadata"]["resourceVersion"],
            "annotations": stamp(request),
        },
        "spec": {"replicas": plan.desired},
    }
    await server.patch(workload.path, patch, kind="merge", dry_run=request.dry_run)

    verb = "Would scale" if request.dry_run else "Scaled"
    result = ActionResult.DRY_RUN if request.dry_run else ActionResult.SUCCEEDED
    message = f"{verb} {workload.display} from {current} to {plan.desired} replicas"
    return ActionOutcome(result, message, object_name)
