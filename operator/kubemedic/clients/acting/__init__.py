"""Carrying out remediation steps against the live objects, idempotently.

The incident loop decides *when* to act; this package does it. Each step of
a policy's ladder has a module named after what it does:

- ``evicting``: EvictPod (the Eviction API, so PodDisruptionBudgets hold)
  and DeletePod;
- ``restarting``: RolloutRestart, as ``kubectl rollout restart``;
- ``scaling``: Scale, through the HorizontalPodAutoscaler when one drives
  the workload;
- ``rolling_back``: Rollback, as ``kubectl rollout undo``;
- ``running_jobs``: RunJob, a runbook Job named after the action key;
- ``patching``: PatchConfigMap, with its revert.

Idempotency rests on one rule: every mutation writes the action key onto the
object it mutates, in the same request (for pods, right before the removal).
The key on a live object is the evidence ``Actuator.find_done`` looks for
after a crash, and the evidence ``Actuator.perform`` checks so that a second
call with the same key changes nothing. In dry-run mode every mutating
request is still sent, with ``dryRun=All``, so the API server validates it
(PodDisruptionBudgets included) without persisting anything.

The decisions with no I/O in them (the replica count, the revision to roll
back to, the rollout window) live in ``kubemedic.domain.scaling`` and
``kubemedic.domain.rollouts``.
"""

from kubemedic.clients.acting.actuators import Actuator
from kubemedic.clients.acting.requests import ActionOutcome, ActionRequest

__all__ = ["ActionOutcome", "ActionRequest", "Actuator"]
