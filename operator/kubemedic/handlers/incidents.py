"""Opening, joining and reconciling incidents.

Two paths write an incident's status, both under the incident's lock:

- a *signal* (a failing pod, a query that fires) opens a new incident or
  joins the open one of the same fingerprint (``open_or_join``);
- the *reconciler* takes each open incident in turn: it settles an action
  left pending (after a crash, or a running Job), observes the target's
  health, asks the domain for the next state and runs the ladder's next step
  through the rails (``reconcile_incident``).

The order of writes around an action is the point of this module: the
action's key is written to the incident before the mutation, the outcome
after it. A restarted operator that finds a pending key asks the live
objects whether the mutation happened, and either records it or performs it
then; it never does it twice.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from kubemedic import failpoints, metrics
from kubemedic.api.common import utcnow
from kubemedic.api.incidents import (
    ActionRecord,
    ActionResult,
    HealthState,
    Incident,
    IncidentStatus,
    Phase,
    Target,
    TargetKind,
)
from kubemedic.api.policies import Action, ActionType, Mode, NotificationEvent, TriggerType
from kubemedic.clients.acting import ActionOutcome, ActionRequest
from kubemedic.clients.apiserver import AlreadyExistsError
from kubemedic.clients.workloads import list_owned_pods, read_workload
from kubemedic.domain import lifecycle
from kubemedic.domain.detecting import parse_time
from kubemedic.domain.health import (
    Reading,
    assess_pods,
    failing_pods,
    unavailability_of,
)
from kubemedic.domain.lifecycle import Note, Plan, Signal, StepPlan
from kubemedic.domain.rails import POD_ACTIONS, RailsContext, Unavailability, check_rails
from kubemedic.errors import ConflictError, KubemedicError, NotFoundError, UnavailableError

if TYPE_CHECKING:
    from kubemedic.handlers.controller import Controller
    from kubemedic.handlers.runtime import PolicyEntry

logger = logging.getLogger(__name__)

# An incident without status this long after its creation lost its creator.
ABANDONED_AFTER_SECONDS = 10


# --- Signals ------------------------------------------------------------------------------------


async def open_or_join(
    ctl: Controller, entry: PolicyEntry, trigger_name: str, target: Target, signal: Signal
) -> None:
    """Open an incident for ``signal``, or join the one already open for it."""
    trigger = entry.spec.trigger(trigger_name)
    if trigger is None:
        return
    fingerprint = f"{entry.name}/{trigger_name}/{target.kind}/{target.namespace}/{target.name}"
    if ctl.seen_evidence(fingerprint, signal.evidence_key):
        return

    # NB: one signal at a time per fingerprint, so two racing pods of one
    # Deployment cannot both decide that no incident exists yet.
    async with ctl.locks.hold(("fingerprint", fingerprint)):
        now = utcnow()
        existing = await ctl.store.list_by_fingerprint(entry.namespace, fingerprint)
        reopen_within = entry.spec.closing.reopen_within_seconds
        current = existing[0] if existing else None
        if current is not None and lifecycle.is_joinable(
            current.status, now=now, reopen_within_seconds=reopen_within
        ):
            await _join(ctl, current, signal)
        else:
            await _open(ctl, entry, trigger_name, target, signal, sequence=len(existing))
    ctl.remember_evidence(fingerprint, signal.evidence_key)


async def _open(
    ctl: Controller,
    entry: PolicyEntry,
    trigger_name: str,
    target: Target,
    signal: Signal,
    *,
    sequence: int,
) -> None:
    trigger = entry.spec.trigger(trigger_name)
    assert trigger is not None
    now = utcnow()
    incident, plan = lifecycle.open_incident(
        policy=entry.name,
        namespace=entry.namespace,
        spec=entry.spec,
        trigger=trigger,
        target=target,
        signal=signal,
        now=now,
        sequence=sequence,
    )
    name = incident.metadata["name"]
    logger.info(
        "Opening Incident %s/%s for %s: %s", entry.namespace, name, target.display, signal.message
    )
    try:
        created = await ctl.store.create_incident(incident, owner=entry.body)
    except AlreadyExistsError:
        # Another writer won the race for this name: join what it created.
        await _join(ctl, await ctl.store.read_incident(entry.namespace, name), signal)
        return
    metrics.INCIDENTS_OPENED.labels(entry.namespace, entry.name, trigger_name).inc()
    await ctl.carry_out(created, plan)
    ctl.queue.add(entry.namespace, name)


async def _join(ctl: Controller, incident: Incident, signal: Signal) -> None:
    namespace, name = _identity(incident)
    async with ctl.locks.hold(("incident", namespace, name)):
        fresh = await ctl.store.read_incident(namespace, name)
        plan = lifecycle.join_signal(fresh.status, signal, now=utcnow())
        if plan.status == fresh.status:
            return
        logger.info("Joining a signal to Incident %s/%s: %s", namespace, name, signal.message)
        stored = await ctl.store.write_status(fresh, plan.status)
        await ctl.carry_out(stored, plan)
    ctl.queue.add(namespace, name)


# --- Reconciling ----------------------------------------------------------------------------


async def reconcile_incident(ctl: Controller, namespace: str, name: str) -> None:
    """One pass over one incident: settle, observe, decide, act, record."""
    async with ctl.locks.hold(("incident", namespace, name)):
        try:
            incident = await ctl.store.read_incident(namespace, name)
        except NotFoundError:
            ctl.index.remove(namespace, name)
            return
        # NB: an incident is created in two writes, the object and then its
        # status; one seen in between is for its creator to finish, who then
        # queues it. Reconciling it here would make the creator's write fail.
        if incident.status.detected_at is None:
            incident = await _complete_if_abandoned(ctl, incident)
            if incident.status.detected_at is None:
                return
        entry = ctl.book.get(namespace, incident.spec.policy_ref.name)
        try:
            await _reconcile(ctl, incident, entry)
        except ConflictError:
            # The incident changed while we worked (a human, the join path):
            # nothing was lost, the next pass starts from the new version.
            logger.debug("Incident %s/%s changed under us; reconciling again", namespace, name)
            ctl.queue.add(namespace, name, after=0.5)


async def _complete_if_abandoned(ctl: Controller, incident: Incident) -> Incident:
    """Write the status of an incident whose creator died before writing it."""
    created = parse_time(incident.metadata.get("creationTimestamp"))
    if created is None or (utcnow() - created).total_seconds() < ABANDONED_AFTER_SECONDS:
        return incident
    logger.warning(
        "Completing Incident %s/%s: it has had no status for %ds",
        *_identity(incident),
        ABANDONED_AFTER_SECONDS,
    )
    return await ctl.store.write_status(
        incident, lifecycle.complete_creation(incident, now=utcnow())
    )


async def _reconcile(ctl: Controller, incident: Incident, entry: PolicyEntry | None) -> None:
    spec = entry.spec if entry is not None else None
    if incident.status.phase == Phase.RESOLVED and not _has_human_input(incident):
        return

    # An action announced but not confirmed comes first: settle it.
    pending = lifecycle.pending_action(incident.status)
    if pending is not None and entry is not None:
        incident = await _settle(ctl, incident, entry, pending)
        if lifecycle.pending_action(incident.status) is not None:
            return

    # Observe, decide, and carry out what the domain decided.
    reading = await _observe(ctl, incident, entry)
    now = utcnow()
    plan = lifecycle.reconcile(incident, spec, reading, now=now)
    if plan.step is not None and entry is not None:
        await _run_step(ctl, incident, entry, plan)
        return
    if plan.status != incident.status:
        if plan.status.phase == Phase.RESOLVED and incident.status.phase != Phase.RESOLVED:
            logger.info("Resolving Incident %s/%s: %s", *_identity(incident), plan.status.message)
            _count_resolution(incident, plan)
            if entry is not None:
                plan = dataclasses.replace(
                    plan, status=await _revert_on_resolve(ctl, incident, entry, plan.status)
                )
        incident = await ctl.store.write_status(incident, plan.status)
    incident = await ctl.carry_out(incident, plan)

    # Notifications that failed for a passing reason are tried again.
    unsent = ctl.unsent.get(_identity(incident))
    if unsent:
        await ctl.notify(incident, tuple(sorted(unsent)))


async def _observe(
    ctl: Controller, incident: Incident, entry: PolicyEntry | None
) -> Reading | None:
    """The latest health reading of the incident's target, if any was taken."""
    target = incident.spec.target
    trigger = entry.spec.trigger(incident.spec.trigger) if entry is not None else None
    window = entry.spec.closing.stabilization_seconds if entry is not None else 120

    # Query triggers: the evaluator's verdict, as fresh as its interval.
    if trigger is not None and trigger.type != TriggerType.POD_FAILURE:
        assert entry is not None
        reading = ctl.evidence.get(
            target.namespace, entry.name, trigger.name, target.kind.value, target.name
        )
    else:
        reading = await _observe_pods(
            ctl, target, trigger.pod_failure if trigger else None, window=window
        )

    # A step's verification query must hold too, while the step is verified.
    if (
        reading is not None
        and reading.state == HealthState.HEALTHY
        and entry is not None
        and incident.status.monitoring_until is not None
        and incident.status.actions
    ):
        action = _action_named(entry, incident.status.actions[-1].step)
        if action is not None and action.verification.query:
            reading = await _verify_by_query(ctl, incident, action.verification.query, reading)
    return reading


async def _observe_pods(ctl: Controller, target: Target, trigger: Any, *, window: int) -> Reading:
    now = utcnow()
    try:
        if target.kind == TargetKind.POD:
            pod = await ctl.server.get(f"/api/v1/namespaces/{target.namespace}/pods/{target.name}")
            return assess_pods(None, [pod], trigger, now=now, window_seconds=window)
        workload = await read_workload(ctl.server, target)
        if workload is None:
            return Reading(HealthState.UNKNOWN, f"{target.display} is not a known workload")
        pods = await list_owned_pods(ctl.server, workload)
    except NotFoundError:
        return Reading(HealthState.UNKNOWN, f"{target.display} no longer exists")
    except UnavailableError as exc:
        return Reading(HealthState.UNKNOWN, f"the API server did not answer: {exc}")
    return assess_pods(workload.body, pods, trigger, now=now, window_seconds=window)


async def _verify_by_query(
    ctl: Controller, incident: Incident, query: str, reading: Reading
) -> Reading:
    target = incident.spec.target
    expression = query.replace("$namespace", target.namespace).replace("$target", target.name)
    if ctl.prometheus is None:
        return Reading(HealthState.UNKNOWN, "the verification query needs --prometheus-url")
    try:
        result = await ctl.prometheus.query(expression)
    except UnavailableError as exc:
        return Reading(HealthState.UNKNOWN, f"the verification query could not run: {exc}")
    if not result:
        return Reading(HealthState.UNHEALTHY, f"the verification query does not hold: {expression}")
    return reading


# --- Acting -----------------------------------------------------------------------------------


async def _run_step(ctl: Controller, incident: Incident, entry: PolicyEntry, plan: Plan) -> None:
    step = plan.step
    assert step is not None
    namespace, name = _identity(incident)
    is_dry_run = entry.spec.safety.mode == Mode.DRY_RUN

    # Choose what to act on, then ask the rails, under the policy's lock so
    # that two incidents of one policy cannot both take the last budget slot.
    async with ctl.locks.hold(("policy", entry.namespace, entry.name)):
        pods, unavailability = await _choose_pods(ctl, incident, entry, step.action)
        rails = await _gather_rails(ctl, incident, entry, unavailability)
        verdict = check_rails(entry.spec, step.action, rails)
        if not verdict.is_allowed:
            logger.warning(
                "Refusing step %s of Incident %s/%s (%s): %s",
                step.action.name,
                namespace,
                name,
                verdict.reason,
                verdict.message,
            )
            status, notes = lifecycle.refuse_action(plan.status, step, verdict, now=utcnow())
            metrics.ACTIONS_REFUSED.labels(namespace, entry.name, verdict.reason).inc()
            stored = await ctl.store.write_status(incident, status)
            await ctl.carry_out(
                stored, dataclasses.replace(plan, status=status, notes=(*plan.notes, *notes))
            )
            if verdict.retry_at is not None:
                delay = (verdict.retry_at - utcnow()).total_seconds()
                ctl.queue.add(namespace, name, after=max(delay, 1.0))
            return
        object_ = _describe_object(incident.spec.target, step.action, pods)
        status = lifecycle.allow_action(plan.status, now=utcnow())
        status = lifecycle.start_action(
            status, step, object_=object_, is_dry_run=is_dry_run, now=utcnow()
        )
        # NB: the key is stored before the mutation; see the module docstring.
        incident = await ctl.store.write_status(incident, status)
    failpoints.hit("after-action-key")
    incident = await ctl.carry_out(incident, dataclasses.replace(plan, status=status))

    request = _request(incident, step.key, step.action, pods, is_dry_run=is_dry_run)
    verb = "Planning (dry run)" if is_dry_run else "Running"
    logger.info(
        "%s step %s (%s) of Incident %s/%s on %s",
        verb,
        step.action.name,
        step.action.type,
        namespace,
        name,
        object_,
    )
    outcome = await _perform(ctl, request)
    failpoints.hit("after-mutation")
    await _record_outcome(ctl, incident, entry, step.key, step.action, outcome)


async def _settle(
    ctl: Controller, incident: Incident, entry: PolicyEntry, pending: ActionRecord
) -> Incident:
    """Find out what became of an action whose key was written but not its result."""
    action = _action_named(entry, pending.step)
    if action is None:
        outcome = ActionOutcome(ActionResult.FAILED, f"step {pending.step} left the policy")
        return await _record_outcome(ctl, incident, entry, pending.key, None, outcome)
    is_dry_run = entry.spec.safety.mode == Mode.DRY_RUN
    pods = _pods_from_object(pending.object)
    request = _request(incident, pending.key, action, pods, is_dry_run=is_dry_run)
    try:
        found = await ctl.actuator.find_done(request)
        if found is not None:
            outcome = found
        else:
            logger.info(
                "Resuming step %s of Incident %s/%s: no trace of key %s on the live objects",
                pending.step,
                *_identity(incident),
                pending.key,
            )
            outcome = await _perform(ctl, request)
        if outcome.result == ActionResult.PENDING:
            outcome = await ctl.actuator.poll(request)
    except KubemedicError as exc:
        outcome = ActionOutcome(ActionResult.FAILED, f"step {pending.step} failed: {exc}")
    if outcome.result == ActionResult.PENDING:
        elapsed = (utcnow() - pending.started_at).total_seconds()
        if elapsed < action.verification.timeout_seconds:
            ctl.queue.add(*_identity(incident), after=2.0)
            return incident
        outcome = ActionOutcome(
            ActionResult.FAILED,
            f"step {pending.step} did not finish within {action.verification.timeout_seconds}s: "
            f"{outcome.message}",
            outcome.object,
        )
    return await _record_outcome(ctl, incident, entry, pending.key, action, outcome)


async def _revert_on_resolve(
    ctl: Controller, incident: Incident, entry: PolicyEntry, status: IncidentStatus
) -> IncidentStatus:
    """Undo the incident's ConfigMap patches that asked to be undone on resolution."""
    is_dry_run = entry.spec.safety.mode == Mode.DRY_RUN
    for record in status.actions:
        action = _action_named(entry, record.step)
        if (
            action is None
            or action.patch_config_map is None
            or not action.patch_config_map.revert_on_resolve
            or record.result != ActionResult.SUCCEEDED
        ):
            continue
        request = _request(incident, record.key, action, (), is_dry_run=is_dry_run)
        try:
            outcome = await ctl.actuator.revert(request)
        except KubemedicError as exc:
            outcome = ActionOutcome(ActionResult.FAILED, f"reverting step {record.step}: {exc}")
        logger.info(
            "Reverting step %s of Incident %s/%s: %s",
            record.step,
            *_identity(incident),
            outcome.message,
        )
        status = lifecycle.record_revert(status, record.step, outcome.message, now=utcnow())
    return status


async def _perform(ctl: Controller, request: ActionRequest) -> ActionOutcome:
    try:
        return await ctl.actuator.perform(request)
    except KubemedicError as exc:
        return ActionOutcome(ActionResult.FAILED, f"{request.action.type} failed: {exc}")


async def _record_outcome(
    ctl: Controller,
    incident: Incident,
    entry: PolicyEntry,
    key: str,
    action: Action | None,
    outcome: ActionOutcome,
) -> Incident:
    if outcome.result == ActionResult.PENDING:
        ctl.queue.add(*_identity(incident), after=2.0)
        return incident
    fresh = await ctl.store.read_incident(*_identity(incident))
    timeout = action.verification.timeout_seconds if action is not None else 60
    status, notes = lifecycle.finish_action(
        fresh.status,
        key,
        result=outcome.result,
        message=outcome.message,
        object_=outcome.object,
        verification_seconds=timeout,
        now=utcnow(),
    )
    log = logger.info if outcome.result != ActionResult.FAILED else logger.error
    log(
        "Step of Incident %s/%s ended %s: %s", *_identity(incident), outcome.result, outcome.message
    )
    metrics.ACTIONS.labels(
        entry.namespace,
        entry.name,
        action.type.value if action else "Unknown",
        outcome.result.value,
    ).inc()
    stored = await ctl.store.write_status(fresh, status)
    is_done = outcome.result in (ActionResult.SUCCEEDED, ActionResult.DRY_RUN)
    events = (NotificationEvent.ACTION_TAKEN,) if is_done else ()
    stored = await ctl.carry_out(stored, Plan(status=status, notes=tuple(notes), notify=events))
    ctl.queue.add(*_identity(incident), after=1.0)
    return stored


async def _choose_pods(
    ctl: Controller, incident: Incident, entry: PolicyEntry, action: Action
) -> tuple[tuple[str, ...], Unavailability | None]:
    """The pods a pod action would touch, and the workload's availability."""
    target = incident.spec.target
    if action.type not in POD_ACTIONS:
        return (), None
    if target.kind == TargetKind.POD:
        return (target.name,), None
    workload = await read_workload(ctl.server, target)
    if workload is None:
        return (), None
    pods = await list_owned_pods(ctl.server, workload)
    trigger = entry.spec.trigger(incident.spec.trigger)
    chosen = failing_pods(
        pods,
        trigger.pod_failure if trigger is not None else None,
        evidence_keys=incident.status.evidence_keys,
        now=utcnow(),
        window_seconds=entry.spec.closing.stabilization_seconds,
    )
    unavailability = unavailability_of(workload.body, pods, chosen)
    return tuple(chosen), unavailability


async def _gather_rails(
    ctl: Controller,
    incident: Incident,
    entry: PolicyEntry,
    unavailability: Unavailability | None,
) -> RailsContext:
    """The rails' inputs, read from the incidents' status in the API (not a cache)."""
    siblings = await ctl.store.list_by_policy(entry.namespace, entry.name)
    return lifecycle.rails_context(
        incident,
        siblings,
        total_targets=await ctl.count_targets(entry),
        is_globally_paused=await ctl.is_globally_paused(),
        unavailability=unavailability,
        now=utcnow(),
    )


# --- Small helpers ------------------------------------------------------------------------------


def _request(
    incident: Incident, key: str, action: Action, pods: tuple[str, ...], *, is_dry_run: bool
) -> ActionRequest:
    return ActionRequest(
        key=key,
        action=action,
        target=incident.spec.target,
        incident=str(incident.metadata["name"]),
        detected_at=incident.status.detected_at or utcnow(),
        pods=pods,
        dry_run=is_dry_run,
    )


def _describe_object(target: Target, action: Action, pods: tuple[str, ...]) -> str:
    if action.type in POD_ACTIONS and pods:
        return "Pod " + ",".join(pods)
    if action.type == ActionType.PATCH_CONFIG_MAP and action.patch_config_map is not None:
        return f"ConfigMap {action.patch_config_map.name}"
    return f"{target.kind} {target.name}"


def _pods_from_object(object_: str | None) -> tuple[str, ...]:
    if not object_ or not object_.startswith("Pod "):
        return ()
    return tuple(p for p in object_[4:].split(",") if p)


def _action_named(entry: PolicyEntry, step: str) -> Action | None:
    return next((a for a in entry.spec.actions if a.name == step), None)


def _identity(incident: Incident) -> tuple[str, str]:
    return str(incident.metadata["namespace"]), str(incident.metadata["name"])


def _has_human_input(incident: Incident) -> bool:
    spec, status = incident.spec, incident.status
    return bool(spec.acknowledged_by and status.acknowledged_at is None) or (
        spec.retries > status.observed_retries
    )


def _count_resolution(incident: Incident, plan: Plan) -> None:
    detected = incident.status.detected_at
    resolved = plan.status.resolved_at
    if detected is not None and resolved is not None:
        metrics.TIME_TO_RESOLVE.labels(
            incident.metadata.get("namespace"), incident.spec.policy_ref.name
        ).observe((resolved - detected).total_seconds())
    metrics.INCIDENTS_RESOLVED.labels(
        incident.metadata.get("namespace"), incident.spec.policy_ref.name
    ).inc()


__all__ = ["Note", "StepPlan", "open_or_join", "reconcile_incident"]
