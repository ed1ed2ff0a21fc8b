"""The actuator: one entry point for every kind of ladder step.

``perform`` re-reads the target before anything else: a workload that is gone
or whose rollout a human paused is left alone (SKIPPED, with the reason).
Then the step's own module acts, and looks first for its key on the live
objects, so performing the same request twice mutates once.

Outcomes cover what the step's result can be. Failures that a later attempt
may not meet (the API server unavailable, an object changed between read and
write) are raised as ``TemporaryError``: the action key is already on the
incident, so the retry starts with ``find_done``.
"""

from __future__ import annotations

import logging
from typing import Any

import kubernetes.client

from kubemedic.api.incidents import ActionResult
from kubemedic.api.policies import ActionType
from kubemedic.clients.acting import evicting, patching, restarting, rolling_back, running_jobs
from kubemedic.clients.acting import scaling as scaling_actions
from kubemedic.clients.acting.requests import ActionOutcome, ActionRequest, is_stamped
from kubemedic.clients.apiserver import ApiServer
from kubemedic.clients.workloads import Workload, read_workload
from kubemedic.errors import NotFoundError, RefusedError

logger = logging.getLogger(__name__)

POD_ACTIONS = {ActionType.EVICT_POD, ActionType.DELETE_POD}
WORKLOAD_ACTIONS = {ActionType.ROLLOUT_RESTART, ActionType.SCALE, ActionType.ROLLBACK}


class Actuator:
    """Carries out ladder steps against the live objects, idempotently."""

    def __init__(self, api: kubernetes.client.ApiClient) -> None:
        self._server = ApiServer(api)

    async def perform(self, request: ActionRequest) -> ActionOutcome:
        """Carry out the step of ``request`` once, or say why it was not."""
        if request.action.type == ActionType.NOTIFY_ONLY:
            return ActionOutcome(
                ActionResult.SUCCEEDED,
                f"Changed nothing in {request.target.display}: the step only notifies",
            )

        # Re-read the target: acting on a stale picture is how a healthy
        # replacement gets killed.
        try:
            workload = await read_workload(self._server, request.target)
        except NotFoundError:
            return ActionOutcome(ActionResult.SKIPPED, f"{request.target.display} is gone")
        if workload is not None and workload.is_paused:
            logger.warning("Skipping %s: its rollout is paused", workload.display)
            return ActionOutcome(
                ActionResult.SKIPPED, f"rollout is paused: {workload.display} has spec.paused"
            )

        try:
            return await self._act(request, workload)
        except NotFoundError as error:
            return ActionOutcome(ActionResult.SKIPPED, f"An object vanished while acting: {error}")
        except RefusedError as error:
            logger.error("The API refused %s for %s: %s", request.action.type, request.key, error)
            return ActionOutcome(
                ActionResult.FAILED,
                f"The API server refused {request.action.type} on {request.target.display}: "
                f"{error}{advise_on(error)}",
            )

    async def _act(self, request: ActionRequest, workload: Workload | None) -> ActionOutcome:
        kind = request.action.type
        if kind in POD_ACTIONS:
            return await evicting.remove_pods(self._server, request)
        if kind == ActionType.RUN_JOB:
            return await running_jobs.run_job(self._server, request)
        if kind == ActionType.PATCH_CONFIG_MAP:
            return await patching.patch_config_map(self._server, request)
        if workload is None:
            return ActionOutcome(
                ActionResult.SKIPPED,
                f"{request.target.display} belongs to no Deployment, StatefulSet or DaemonSet",
            )
        if kind == ActionType.ROLLOUT_RESTART:
            return await restarting.restart_workload(self._server, request, workload)
        if kind == ActionType.SCALE:
            return await scaling_actions.scale_workload(self._server, request, workload)
        if kind == ActionType.ROLLBACK:
            return await rolling_back.roll_back_deployment(self._server, request, workload)
        raise AssertionError(f"unknown action type {kind}")

    async def find_done(self, request: ActionRequest) -> ActionOutcome | None:
        """The outcome of ``request`` if the live objects show it ran, else None.

        For use after a crash, when the key is on the incident but nobody knows
        whether the mutation happened. None means: perform it.
        """
        kind = request.action.type
        if kind == ActionType.NOTIFY_ONLY:
            return None
        if kind in POD_ACTIONS:
            return await evicting.find_removed_pods(self._server, request)
        if kind == ActionType.RUN_JOB:
            return await running_jobs.find_job(self._server, request)
        if kind == ActionType.PATCH_CONFIG_MAP:
            return await patching.find_patch(self._server, request)

        # Workload steps leave the key on the workload (a restart also in the
        # template), or on its HPA for a scale.
        try:
            workload = await read_workload(self._server, request.target)
        except NotFoundError:
            return None
        if workload is None:
            return None
        stamped: list[tuple[str, dict[str, Any]]] = [(workload.display, workload.body)]
        if kind == ActionType.SCALE:
            autoscaler = await scaling_actions.find_autoscaler(self._server, workload)
            if autoscaler is not None:
                name = autoscaler["metadata"]["name"]
                stamped.append((f"HorizontalPodAutoscaler {workload.namespace}/{name}", autoscaler))
        if kind == ActionType.ROLLOUT_RESTART:
            done = restarting.has_restarted(workload, request)
            found = workload.display if done else None
        else:
            found = next((display for display, body in stamped if is_stamped(body, request)), None)
        if found is None:
            return None
        return ActionOutcome(
            ActionResult.SUCCEEDED,
            f"{PAST_TENSES[kind]} {workload.display} (found the action key on {found} after a "
            "restart)",
            f"{workload.kind} {workload.name}",
        )

    async def poll(self, request: ActionRequest) -> ActionOutcome:
        """Where a PENDING step stands now (a RunJob's Job)."""
        if request.action.type != ActionType.RUN_JOB:
            return ActionOutcome(
                ActionResult.SUCCEEDED, f"{request.action.type} finishes when it is performed"
            )
        return await running_jobs.poll_job(self._server, request)

    async def revert(self, request: ActionRequest) -> ActionOutcome:
        """Undo a PatchConfigMap step with revertOnResolve; other steps are not undone."""
        settings = request.action.patch_config_map
        if request.action.type != ActionType.PATCH_CONFIG_MAP or settings is None:
            return ActionOutcome(
                ActionResult.SKIPPED, f"{request.action.type} steps are not reverted"
            )
        if not settings.revert_on_resolve:
            return ActionOutcome(
                ActionResult.SKIPPED,
                f"ConfigMap {request.target.namespace}/{settings.name} is kept as patched "
                "(revertOnResolve is off)",
            )
        try:
            return await patching.revert_config_map(self._server, request)
        except RefusedError as error:
            return ActionOutcome(
                ActionResult.FAILED,
                f"The API server refused to revert ConfigMap {request.target.namespace}/"
                f"{settings.name}: {error}{advise_on(error)}",
            )

    async def validate_job_template(
        self, namespace: str, job_template: dict[str, Any]
    ) -> str | None:
        """Why the API server would refuse a RunJob step's Job, or None (a dry run)."""
        return await running_jobs.validate_job_template(self._server, namespace, job_template)


PAST_TENSES = {
    ActionType.ROLLOUT_RESTART: "Restarted",
    ActionType.SCALE: "Scaled",
    ActionType.ROLLBACK: "Rolled back",
}


def advise_on(error: RefusedError) -> str:
    """What a human can do about a refusal, as a sentence to append."""
    if error.status in (401, 403):
        return "; check the operator's RBAC (manifests/rbac.yaml)"
    return ""
