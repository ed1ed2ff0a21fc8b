"""RemediationPolicies: parse, validate, keep in the book, write status.

A policy that fails validation is taken out of the book (nothing acts on
it) and its status says what to fix; the operator never crashes on it. The
CRD rejects most mistakes at admission already; this catches the rest (an
older CRD, a Job template the API server would refuse, a policy applied
with validation off).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pydantic

from kubemedic import metrics
from kubemedic.api.common import utcnow
from kubemedic.api.policies import ActionType, RemediationPolicy, RemediationPolicyStatus
from kubemedic.domain.policy_status import IncidentFacts, invalid_status, policy_status
from kubemedic.errors import KubemedicError
from kubemedic.handlers.pods import handle_pod
from kubemedic.handlers.runtime import PolicyEntry

if TYPE_CHECKING:
    from kubemedic.handlers.controller import Controller

logger = logging.getLogger(__name__)


async def handle_policy(ctl: Controller, event_type: str | None, body: Mapping[str, Any]) -> None:
    """Bring the book, the evaluators and the status in line with one policy event."""
    metadata = body.get("metadata") or {}
    namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
    generation = int(metadata.get("generation") or 0)
    if event_type == "DELETED":
        ctl.book.remove(namespace, name)
        ctl.evaluators.stop_policy(namespace, name)
        return
    previous = ctl.book.get(namespace, name)
    if previous is not None and previous.generation == generation and _status_of(body):
        # Our own status write came back on the watch: nothing new in the spec.
        return

    # Parse and validate; a bad policy is reported, not acted on.
    problem: str | None = None
    try:
        policy = RemediationPolicy.from_wire(dict(body))
    except pydantic.ValidationError as exc:
        ctl.book.remove(namespace, name)
        ctl.evaluators.stop_policy(namespace, name)
        message = describe_validation_error(exc)
        logger.warning("RemediationPolicy %s/%s is invalid: %s", namespace, name, message)
        await _write_invalid(ctl, body, generation=generation, message=message)
        return
    problem = await _check_job_templates(ctl, namespace, policy)

    entry = PolicyEntry(
        namespace=namespace,
        name=name,
        uid=str(metadata.get("uid")),
        generation=generation,
        spec=policy.spec,
        body={"metadata": {"name": name, "namespace": namespace, "uid": metadata.get("uid")}},
    )
    if problem is not None:
        ctl.book.remove(namespace, name)
        ctl.evaluators.stop_policy(namespace, name)
        logger.warning("RemediationPolicy %s/%s cannot be used: %s", namespace, name, problem)
        await _write_invalid(ctl, body, generation=generation, message=problem)
        return
    is_news = previous is None or previous.generation != generation
    if is_news:
        logger.info("Watching RemediationPolicy %s/%s (generation %d)", namespace, name, generation)
    ctl.book.put(entry)
    ctl.evaluators.sync_policy(entry)
    await refresh_policy_status(ctl, entry, body=body)

    # NB: the pod watch filters on the book, and may have listed the
    # namespace's pods before this policy reached it (at start-up, or when
    # the policy is new): look at them once more, now that it is there.
    if is_news:
        ctl.spawn(rescan_pods(ctl, namespace))


async def refresh_policy_status(
    ctl: Controller, entry: PolicyEntry, *, body: Mapping[str, Any] | None = None
) -> None:
    """Recompute the policy's status from its incidents and write it if it changed."""
    old = (
        dict(_status_of(body))
        if body is not None
        else ctl.policy_statuses.get((entry.namespace, entry.name), {})
    )
    try:
        previous = RemediationPolicyStatus.from_wire(old) if old else None
    except pydantic.ValidationError:
        previous = None
    facts = [
        IncidentFacts(
            target=(s.target_kind, s.target_name),
            is_open=s.is_open,
            is_remediating=s.is_remediating,
            action_times=s.action_times,
        )
        for s in ctl.index.of_policy(entry.namespace, entry.name)
    ]
    status = policy_status(
        previous,
        entry.spec,
        generation=entry.generation,
        incidents=facts,
        targets=await ctl.count_targets(entry),
        is_globally_paused=await ctl.is_globally_paused(),
        now=utcnow(),
    )
    metrics.OPEN_INCIDENTS.labels(entry.namespace, entry.name).set(status.open_incidents)
    if previous is not None and status == previous:
        return
    await ctl.store.write_policy_status(entry.namespace, entry.name, old, status)
    ctl.policy_statuses[(entry.namespace, entry.name)] = status.to_wire()


def describe_validation_error(exc: pydantic.ValidationError) -> str:
    """A pydantic error as one line per problem, naming the field by its JSON path."""
    lines = []
    for error in exc.errors()[:10]:
        path = ".".join(str(p) for p in error["loc"]) or "the policy"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{path}: {message}")
    more = len(exc.errors()) - len(lines)
    if more > 0:
        lines.append(f"... and {more} more")
    return "; ".join(lines)


async def _check_job_templates(
    ctl: Controller, namespace: str, policy: RemediationPolicy
) -> str | None:
    for action in policy.spec.actions:
        if action.type != ActionType.RUN_JOB or action.run_job is None:
            continue
        try:
            problem = await ctl.actuator.validate_job_template(
                namespace, action.run_job.job_template
            )
        except KubemedicError as exc:
            logger.warning("Could not check the Job template of step %s: %s", action.name, exc)
            continue
        if problem:
            return f"actions[{action.name}].runJob.jobTemplate: {problem}"
    return None


async def _write_invalid(
    ctl: Controller, body: Mapping[str, Any], *, generation: int, message: str
) -> None:
    metadata = body.get("metadata") or {}
    old = dict(_status_of(body))
    try:
        previous = RemediationPolicyStatus.from_wire(old) if old else None
    except pydantic.ValidationError:
        previous = None
    status = invalid_status(previous, generation=generation, message=message, now=utcnow())
    if previous is not None and status == previous:
        return
    namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
    await ctl.store.write_policy_status(namespace, name, old, status)
    reference = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": dict(metadata),
    }
    await ctl.store.post_event(
        reference, type_="Warning", reason="InvalidSpec", message=message, now=utcnow()
    )


def _status_of(body: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if body is None:
        return {}
    status = body.get("status")
    return status if isinstance(status, Mapping) else {}


async def rescan_pods(ctl: Controller, namespace: str) -> None:
    """Check every pod of a namespace against its policies, as the watch would."""
    try:
        pods = await ctl.server.list(f"/api/v1/namespaces/{namespace}/pods")
    except KubemedicError as exc:
        logger.warning("Listing the pods of %s for a new policy failed: %s", namespace, exc)
        return
    for pod in pods:
        await handle_pod(ctl, "MODIFIED", pod)
