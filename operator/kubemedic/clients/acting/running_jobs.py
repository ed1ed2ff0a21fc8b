"""RunJob: a runbook Job from the policy's template.

The Job is named after the action key, so creating it twice is impossible:
the second create meets AlreadyExists, which is the evidence that the action
ran. It is labelled with the incident and the key, every container gets the
incident's identity in its environment, and it is deleted by the cluster an
hour after it finishes unless the template says otherwise.

The step stays PENDING while the Job runs; ``poll_job`` reads its
conditions until it is Complete (SUCCEEDED) or Failed (FAILED).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from kubemedic.api.incidents import ActionResult, Target
from kubemedic.clients.acting.requests import (
    ACTION_KEY_LABEL,
    INCIDENT_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    ActionOutcome,
    ActionRequest,
    stamp,
    to_label_value,
)
from kubemedic.clients.apiserver import AlreadyExistsError, ApiServer, Body, resource_path
from kubemedic.errors import NotFoundError, RefusedError

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS_AFTER_FINISHED = 3600
VALIDATION_JOB_NAME = "kubemedic-validation"


def job_path(namespace: str, name: str | None = None) -> str:
    return resource_path("batch/v1", "jobs", namespace=namespace, name=name)


def build_job(
    job_template: dict[str, Any],
    *,
    name: str,
    target: Target,
    incident: str,
    annotations: dict[str, str],
) -> Body:
    """The Job to create: the template's spec, labelled and given the environment."""
    spec = copy.deepcopy(job_template)
    spec.setdefault("ttlSecondsAfterFinished", DEFAULT_TTL_SECONDS_AFTER_FINISHED)
    labels = {
        INCIDENT_LABEL: to_label_value(incident),
        ACTION_KEY_LABEL: to_label_value(name),
        MANAGED_BY_LABEL: MANAGED_BY,
    }

    # The identity of the incident, overriding variables of the same name.
    environment = {
        "KUBEMEDIC_INCIDENT": incident,
        "KUBEMEDIC_TARGET_KIND": str(target.kind),
        "KUBEMEDIC_TARGET_NAME": target.name,
        "KUBEMEDIC_NAMESPACE": target.namespace,
    }
    pod_spec = spec.setdefault("template", {}).setdefault("spec", {})
    for group in ("initContainers", "containers"):
        for container in pod_spec.get(group) or []:
            kept = [v for v in container.get("env") or [] if v.get("name") not in environment]
            container["env"] = kept + [{"name": k, "value": v} for k, v in environment.items()]
    template_metadata = spec["template"].setdefault("metadata", {})
    template_metadata["labels"] = {
        **(template_metadata.get("labels") or {}),
        INCIDENT_LABEL: labels[INCIDENT_LABEL],
    }

    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": spec,
    }


async def run_job(server: ApiServer, request: ActionRequest) -> ActionOutcome:
    """Create the runbook Job, or find the one an earlier attempt created."""
    assert request.action.run_job is not None  # the Action model requires it for RunJob
    namespace = request.target.namespace
    name = request.key
    job = build_job(
        request.action.run_job.job_template,
        name=name,
        target=request.target,
        incident=request.incident,
        annotations=stamp(request),
    )

    logger.info(
        "Creating Job %s/%s for incident %s/%s%s",
        namespace,
        name,
        namespace,
        request.incident,
        " (dry run)" if request.dry_run else "",
    )
    try:
        await server.create(job_path(namespace), job, dry_run=request.dry_run)
    except AlreadyExistsError:
        return await poll_job(server, request)
    except RefusedError as error:
        return ActionOutcome(
            ActionResult.FAILED,
            f"Could not create Job {namespace}/{name}: {error}; "
            "fix the policy's runJob.jobTemplate",
            f"Job {name}",
        )
    if request.dry_run:
        return ActionOutcome(
            ActionResult.DRY_RUN, f"Would create Job {namespace}/{name}", f"Job {name}"
        )
    return ActionOutcome(
        ActionResult.PENDING,
        f"Created Job {namespace}/{name}; waiting for it to finish",
        f"Job {name}",
    )


async def poll_job(server: ApiServer, request: ActionRequest) -> ActionOutcome:
    """Where the Job of ``request`` stands: finished one way or the other, or running."""
    namespace, name = request.target.namespace, request.key
    object_name = f"Job {name}"
    try:
        job = await server.get(job_path(namespace, name))
    except NotFoundError:
        return ActionOutcome(
            ActionResult.FAILED,
            f"Job {namespace}/{name} does not exist (deleted, or expired after it finished "
            "before its result was read)",
            object_name,
        )
    return read_job_outcome(job, namespace=namespace)


def read_job_outcome(job: Body, *, namespace: str) -> ActionOutcome:
    """The outcome a Job's status tells."""
    name = job["metadata"]["name"]
    status = job.get("status") or {}
    conditions = {
        c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"
    }
    if "Complete" in conditions:
        return ActionOutcome(
            ActionResult.SUCCEEDED, f"Job {namespace}/{name} succeeded", f"Job {name}"
        )
    if "Failed" in conditions:
        failed = conditions["Failed"]
        why = ": ".join(str(p) for p in (failed.get("reason"), failed.get("message")) if p)
        return ActionOutcome(
            ActionResult.FAILED,
            f"Job {namespace}/{name} failed ({why or 'no reason given'})",
            f"Job {name}",
        )
    return ActionOutcome(
        ActionResult.PENDING,
        f"Job {namespace}/{name} is running ({status.get('active', 0)} active, "
        f"{status.get('succeeded', 0)} succeeded, {status.get('failed', 0)} failed)",
        f"Job {name}",
    )


async def find_job(server: ApiServer, request: ActionRequest) -> ActionOutcome | None:
    """The state of the Job of ``request`` if it was created, else None."""
    try:
        job = await server.get(job_path(request.target.namespace, request.key))
    except NotFoundError:
        return None
    return read_job_outcome(job, namespace=request.target.namespace)


async def validate_job_template(
    server: ApiServer, namespace: str, job_template: dict[str, Any]
) -> str | None:
    """Why the API server would refuse a Job from ``job_template``, or None.

    The check is a server-side dry run of the very Job a RunJob step would
    create, so admission webhooks and quotas are consulted too.
    """
    placeholder = Target(kind="Deployment", namespace=namespace, name="validation")
    job = build_job(
        job_template,
        name=VALIDATION_JOB_NAME,
        target=placeholder,
        incident="validation",
        annotations={},
    )
    try:
        await server.create(job_path(namespace), job, dry_run=True)
    except AlreadyExistsError:
        return None
    except RefusedError as error:
        return str(error)
    return None
