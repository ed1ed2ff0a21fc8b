"""The RemediationPolicy resource: what to watch, what to do, and the rails.

A policy is namespaced and acts only on workloads of its own namespace. It
holds three lists and three blocks:

- ``triggers`` say what counts as a failure (pod failures, a Prometheus
  query against a threshold, a memory growth trend);
- ``actions`` are the remediation ladder, tried in order, each verified
  before the next one;
- ``safety`` bounds what the ladder may do (dry-run, cooldowns, budgets,
  blast radius, storms), ``closing`` says when an incident is over,
  ``escalation`` and ``notifications`` say whom to tell.

Cross-field rules are published twice on purpose: as CEL rules in the CRD,
so the API server rejects a bad policy at admission, and as pydantic
validators, so the operator reports the same problem in status when a policy
reached the cluster some other way (an older CRD, a disabled validation).
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from kubemedic.api.common import (
    Condition,
    Flag,
    LabelKey,
    LabelSelectorRequirement,
    LabelValue,
    Model,
    Name,
    Percent,
    PositiveSeconds,
    PromQL,
    Seconds,
    SecretKeyRef,
    Severity,
    ShortText,
    Text,
)
from kubemedic.api.validations import cel, list_map

KIND = "RemediationPolicy"
PLURAL = "remediationpolicies"

StepName = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
]


# --- What to watch -------------------------------------------------------------------------------


class WorkloadKind(enum.StrEnum):
    """The kinds of workload an incident can be about."""

    DEPLOYMENT = "Deployment"
    STATEFUL_SET = "StatefulSet"
    DAEMON_SET = "DaemonSet"


class IncidentScope(enum.StrEnum):
    """Whether one incident covers a whole workload or a single pod."""

    WORKLOAD = "Workload"
    POD = "Pod"


class Selector(Model):
    """Which workloads the policy watches, always within its own namespace."""

    kinds: Annotated[list[WorkloadKind], Field(max_length=3)] = Field(
        default_factory=lambda: list(WorkloadKind),
        description="kinds of workload watched; pods owned by other kinds (or by none) are "
        "watched only with incidentScope Pod.",
    )
    match_labels: Annotated[dict[LabelKey, LabelValue], Field(max_length=32)] | None = Field(
        default=None,
        description="matchLabels selects the pods (by their labels) the policy watches. An empty "
        "selector watches every pod of the namespace.",
    )
    match_expressions: Annotated[list[LabelSelectorRequirement], Field(max_length=16)] | None = (
        Field(default=None, description="matchExpressions are further label requirements, ANDed.")
    )


class TriggerType(enum.StrEnum):
    """The kinds of failure signal a trigger watches."""

    POD_FAILURE = "PodFailure"
    PROMETHEUS_QUERY = "PrometheusQuery"
    MEMORY_TREND = "MemoryTrend"


class FailureReason(enum.StrEnum):
    """Container and pod states that count as a failure."""

    OOM_KILLED = "OOMKilled"
    CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
    ERROR = "Error"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    ERR_IMAGE_PULL = "ErrImagePull"
    CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
    EVICTED = "Evicted"


class RestartBurst(Model):
    """A number of container restarts within a window."""

    count: Annotated[int, Field(ge=1, le=1000)] = Field(
        description="count of restarts (summed over the pod's containers) that makes a burst.",
    )
    within_seconds: PositiveSeconds = Field(
        description="withinSeconds is the window the restarts must fall in.",
    )


class PodFailureTrigger(Model):
    """Failures read from pod status."""

    model_config = Model.model_config | {
        "json_schema_extra": cel(
            (
                "(has(self.reasons) && size(self.reasons) > 0) || has(self.restartBurst)"
                " || has(self.notReadyForSeconds)",
                "podFailure needs at least one of reasons, restartBurst or notReadyForSeconds",
            )
        )
    }

    reasons: Annotated[list[FailureReason], Field(max_length=16)] = Field(
        default_factory=list,
        description="reasons that count as a failure, matched against the current waiting or "
        "terminated state and the last terminated state of every container, and the pod's "
        "own status reason (Evicted).",
    )
    restart_burst: RestartBurst | None = Field(
        default=None, description="restartBurst fires when containers restart too often."
    )
    not_ready_for_seconds: PositiveSeconds | None = Field(
        default=None,
        description="notReadyForSeconds fires when a running pod stays not Ready this long.",
    )

    @model_validator(mode="after")
    def _needs_one_signal(self) -> PodFailureTrigger:
        if not self.reasons and self.restart_burst is None and self.not_ready_for_seconds is None:
            raise ValueError(
                "podFailure needs at least one of reasons, restartBurst or notReadyForSeconds"
            )
        return self


class Comparator(enum.StrEnum):
    """How a query's value is compared with a threshold."""

    GREATER_THAN = "GreaterThan"
    GREATER_OR_EQUAL = "GreaterOrEqual"
    LESS_THAN = "LessThan"
    LESS_OR_EQUAL = "LessOrEqual"


class NoDataPolicy(enum.StrEnum):
    """What a missing value (no series, NaN, Prometheus unreachable) means."""

    IGNORE = "Ignore"
    INCONCLUSIVE = "Inconclusive"
    FIRE = "Fire"


class TargetMapping(Model):
    """How the labels of a result series name the target it is about."""

    kind: WorkloadKind = Field(
        default=WorkloadKind.DEPLOYMENT,
        description="kind of workload the series are about, unless podLabel maps a pod.",
    )
    name_label: LabelKey = Field(
        default="deployment",
        description="nameLabel is the series label holding the workload's name.",
    )
    pod_label: LabelKey | None = Field(
        default=None,
        description="podLabel, when set, is the series label holding a pod name; the pod's "
        "owning workload becomes the target. nameLabel is then ignored.",
    )
    namespace_label: LabelKey | None = Field(
        default="namespace",
        description="namespaceLabel is the series label holding the namespace; series of other "
        "namespaces than the policy's are ignored. Empty to accept every series.",
    )


class PrometheusTrigger(Model):
    """A PromQL query compared with a threshold, like an alerting rule."""

    # NB: the CRD carries no defaults, so the rule spells out the model's
    # default comparator (GreaterThan) for a manifest that leaves it out.
    model_config = Model.model_config | {
        "json_schema_extra": cel(
            (
                "!has(self.resolveThreshold) || ((has(self.comparator) ? self.comparator"
                " : 'GreaterThan') in ['GreaterThan', 'GreaterOrEqual']"
                " ? self.resolveThreshold <= self.threshold"
                " : self.resolveThreshold >= self.threshold)",
                "resolveThreshold must be on the healthy side of threshold: at or below it when "
                "the comparator is GreaterThan or GreaterOrEqual, at or above it otherwise",
                ".resolveThreshold",
            )
        )
    }

    query: PromQL = Field(
        description="query is an instant-vector PromQL expression; each result series is one "
        "target, named by targetLabels.",
    )
    comparator: Comparator = Field(
        default=Comparator.GREATER_THAN,
        description="comparator says which side of threshold is failing.",
    )
    threshold: float = Field(description="threshold past which (per comparator) a target fails.")
    resolve_threshold: float | None = Field(
        default=None,
        description="resolveThreshold is the value a failing target must come back past to count "
        "as healthy (hysteresis); it must be on the healthy side of threshold. Defaults to "
        "threshold.",
    )
    for_seconds: Seconds = Field(
        default=0,
        description="forSeconds the value must stay failing, at every evaluation, before an "
        "incident opens.",
    )
    evaluation_interval_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=15, description="evaluationIntervalSeconds between two evaluations of the query."
    )
    on_no_data: NoDataPolicy = Field(
        default=NoDataPolicy.INCONCLUSIVE,
        description="onNoData: Ignore (no signal, never healthy), Inconclusive (open incidents "
        "stay open and say the evidence is missing), Fire (missing counts as failing).",
    )
    target_labels: TargetMapping = Field(
        default_factory=TargetMapping,
        description="targetLabels map a result series to the workload it is about.",
    )

    @model_validator(mode="after")
    def _resolve_on_healthy_side(self) -> PrometheusTrigger:
        if self.resolve_threshold is None:
            return self
        failing_upwards = self.comparator in (Comparator.GREATER_THAN, Comparator.GREATER_OR_EQUAL)
        if failing_upwards and self.resolve_threshold > self.threshold:
            raise ValueError(
                "resolveThreshold must not be above threshold when the comparator fails upwards "
                f"({self.comparator}); set it at or below {self.threshold}"
            )
        if not failing_upwards and self.resolve_threshold < self.threshold:
            raise ValueError(
                "resolveThreshold must not be below threshold when the comparator fails downwards "
                f"({self.comparator}); set it at or above {self.threshold}"
            )
        return self


DEFAULT_MEMORY_QUERY = 'container_memory_working_set_bytes{namespace="$namespace",container!=""}'


class MemoryTrendTrigger(Model):
    """A leak rule over working-set memory per pod."""

    query: PromQL = Field(
        default=DEFAULT_MEMORY_QUERY,
        description="query returns working-set bytes per pod; $namespace is replaced by the "
        "policy's namespace. Series are summed per pod.",
    )
    pod_label: LabelKey = Field(
        default="pod", description="podLabel is the series label holding the pod name."
    )
    window_seconds: Annotated[int, Field(ge=10, le=604_800)] = Field(
        default=3600, description="windowSeconds is how far back growth is measured."
    )
    step_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=60, description="stepSeconds is the resolution of the range query."
    )
    growth_percent: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=50,
        description="growthPercent is the growth, first to last sample of the window, that "
        "counts as a leak.",
    )
    rising_share_percent: Percent = Field(
        default=70,
        description="risingSharePercent of consecutive samples that must rise (a leak climbs "
        "steadily; a cache warms once).",
    )
    time_to_limit_seconds: PositiveSeconds | None = Field(
        default=None,
        description="timeToLimitSeconds, when set, also fires when the trend reaches the "
        "container memory limit within this horizon.",
    )
    evaluation_interval_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=60, description="evaluationIntervalSeconds between two evaluations."
    )


class Trigger(Model):
    """One failure signal; exactly the block named by type is set."""

    model_config = Model.model_config | {
        "json_schema_extra": cel(
            (
                "self.type != 'PodFailure' || has(self.podFailure)",
                "a PodFailure trigger needs podFailure",
                ".podFailure",
            ),
            (
                "self.type != 'PrometheusQuery' || has(self.prometheus)",
                "a PrometheusQuery trigger needs prometheus with a query",
                ".prometheus",
            ),
            (
                "self.type != 'MemoryTrend' || has(self.memoryTrend)",
                "a MemoryTrend trigger needs memoryTrend",
                ".memoryTrend",
            ),
            (
                "(has(self.podFailure) ? 1 : 0) + (has(self.prometheus) ? 1 : 0)"
                " + (has(self.memoryTrend) ? 1 : 0) <= 1",
                "set only the block that matches type",
            ),
        )
    }

    name: StepName = Field(description="name of the trigger, unique in the policy.")
    type: TriggerType = Field(description="type: PodFailure, PrometheusQuery or MemoryTrend.")
    severity: Severity | None = Field(
        default=None, description="severity of incidents from this trigger; the policy's if unset."
    )
    pod_failure: PodFailureTrigger | None = Field(
        default=None, description="podFailure settings, for type PodFailure."
    )
    prometheus: PrometheusTrigger | None = Field(
        default=None, description="prometheus settings, for type PrometheusQuery."
    )
    memory_trend: MemoryTrendTrigger | None = Field(
        default=None, description="memoryTrend settings, for type MemoryTrend."
    )

    @model_validator(mode="after")
    def _block_matches_type(self) -> Trigger:
        blocks = {
            TriggerType.POD_FAILURE: ("podFailure", self.pod_failure),
            TriggerType.PROMETHEUS_QUERY: ("prometheus", self.prometheus),
            TriggerType.MEMORY_TREND: ("memoryTrend", self.memory_trend),
        }
        wanted, value = blocks[self.type]
        if value is None:
            raise ValueError(f"a {self.type} trigger needs {wanted}")
        extra = [name for kind, (name, v) in blocks.items() if kind != self.type and v is not None]
        if extra:
            raise ValueError(f"a {self.type} trigger must not set {', '.join(extra)}")
        return self


# --- What to do ----------------------------------------------------------------------------------


class ActionType(enum.StrEnum):
    """The remediation steps a ladder can hold."""

    EVICT_POD = "EvictPod"
    DELETE_POD = "DeletePod"
    ROLLOUT_RESTART = "RolloutRestart"
    SCALE = "Scale"
    ROLLBACK = "Rollback"
    RUN_JOB = "RunJob"
    PATCH_CONFIG_MAP = "PatchConfigMap"
    NOTIFY_ONLY = "NotifyOnly"


class ScaleAction(Model):
    """Scale a workload by a step or a factor, within bounds."""

    model_config = Model.model_config | {
        "json_schema_extra": cel(
            (
                "(has(self.minReplicas) ? self.minReplicas : 1) <= self.maxReplicas",
                "minReplicas (1 if unset) must not exceed maxReplicas",
                ".minReplicas",
            ),
            (
                "has(self.replicasStep) != has(self.factorPercent)",
                "set exactly one of replicasStep and factorPercent",
            ),
        )
    }

    replicas_step: Annotated[int, Field(ge=-1000, le=1000)] | None = Field(
        default=None, description="replicasStep added to the current replicas (negative shrinks)."
    )
    factor_percent: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        default=None,
        description="factorPercent multiplies the current replicas (150 = one and a half times), "
        "rounded up.",
    )
    min_replicas: Annotated[int, Field(ge=0, le=10_000)] = Field(
        default=1, description="minReplicas is the floor the action never goes below."
    )
    max_replicas: Annotated[int, Field(ge=1, le=10_000)] = Field(
        description="maxReplicas is the ceiling the action never goes above; with a "
        "HorizontalPodAutoscaler the HPA's bounds are raised instead, within this ceiling.",
    )

    @model_validator(mode="after")
    def _bounds_and_one_amount(self) -> ScaleAction:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas ({self.min_replicas}) must not exceed maxReplicas "
                f"({self.max_replicas})"
            )
        if (self.replicas_step is None) == (self.factor_percent is None):
            raise ValueError("scale needs exactly one of replicasStep and factorPercent")
        return self


class RollbackAction(Model):
    """Roll a Deployment back to its previous revision."""

    only_within_seconds_of_rollout: PositiveSeconds | None = Field(
        default=None,
        description="onlyWithinSecondsOfRollout refuses the rollback unless the incident was "
        "detected within this many seconds of the latest rollout (a deploy caused it).",
    )


class RunJobAction(Model):
    """Run a runbook Job."""

    job_template: dict[str, Any] = Field(
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
        description="jobTemplate is a batch/v1 JobSpec. The Job is labelled with the incident and "
        "its containers get KUBEMEDIC_INCIDENT, KUBEMEDIC_TARGET_KIND and KUBEMEDIC_TARGET_NAME "
        "in their environment. It is checked with a server-side dry run when the policy is "
        "reconciled.",
    )


class PatchConfigMapAction(Model):
    """Set keys of a ConfigMap: a feature flag or a circuit breaker."""

    name: Name = Field(description="name of the ConfigMap, in the policy's namespace.")
    data: Annotated[dict[LabelKey, Text], Field(min_length=1, max_length=32)] = Field(
        description="data keys and values to set."
    )
    revert_on_resolve: Flag = Field(
        default=False,
        description="revertOnResolve restores the previous values when the incident resolves.",
    )


class Verification(Model):
    """How a step proves it worked before the ladder moves on."""

    timeout_seconds: Annotated[int, Field(ge=1, le=86_400)] = Field(
        default=120,
        description="timeoutSeconds to wait for the target to be healthy before the next step.",
    )
    query: PromQL | None = Field(
        default=None,
        description="query, when set, must also hold: it must return at least one series "
        "(write it like an alert condition, e.g. 'rate(errors[1m]) < 0.01'); $namespace and "
        "$target are replaced by the incident's.",
    )


class Action(Model):
    """One step of the remediation ladder."""

    model_config = Model.model_config | {
        "json_schema_extra": cel(
            ("self.type != 'Scale' || has(self.scale)", "a Scale action needs scale", ".scale"),
            (
                "self.type != 'RunJob' || has(self.runJob)",
                "a RunJob action needs runJob with a jobTemplate",
                ".runJob",
            ),
            (
                "self.type != 'PatchConfigMap' || has(self.patchConfigMap)",
                "a PatchConfigMap action needs patchConfigMap",
                ".patchConfigMap",
            ),
            ("!has(self.scale) || self.type == 'Scale'", "scale is only for type Scale"),
            ("!has(self.rollback) || self.type == 'Rollback'", "rollback is only for Rollback"),
            ("!has(self.runJob) || self.type == 'RunJob'", "runJob is only for type RunJob"),
            (
                "!has(self.patchConfigMap) || self.type == 'PatchConfigMap'",
                "patchConfigMap is only for type PatchConfigMap",
            ),
        )
    }

    name: StepName = Field(description="name of the step, unique in the ladder.")
    type: ActionType = Field(
        description="type: EvictPod, DeletePod, RolloutRestart, Scale, Rollback, RunJob, "
        "PatchConfigMap or NotifyOnly.",
    )
    triggers: Annotated[list[StepName], Field(max_length=16)] | None = Field(
        default=None,
        description="triggers limits the step to incidents of these triggers; all if unset.",
    )
    verification: Verification = Field(
        default_factory=Verification,
        description="verification after the step, before the next one is tried.",
    )
    scale: ScaleAction | None = Field(default=None, description="scale settings, for Scale.")
    rollback: RollbackAction | None = Field(
        default=None, description="rollback settings, for Rollback."
    )
    run_job: RunJobAction | None = Field(default=None, description="runJob settings, for RunJob.")
    patch_config_map: PatchConfigMapAction | None = Field(
        default=None, description="patchConfigMap settings, for PatchConfigMap."
    )

    @model_validator(mode="after")
    def _block_matches_type(self) -> Action:
        required = {
            ActionType.SCALE: ("scale", self.scale),
            ActionType.RUN_JOB: ("runJob", self.run_job),
            ActionType.PATCH_CONFIG_MAP: ("patchConfigMap", self.patch_config_map),
        }
        if self.type in required and required[self.type][1] is None:
            raise ValueError(f"a {self.type} action needs {required[self.type][0]}")
        blocks = {
            "scale": (ActionType.SCALE, self.scale),
            "rollback": (ActionType.ROLLBACK, self.rollback),
            "runJob": (ActionType.RUN_JOB, self.run_job),
            "patchConfigMap": (ActionType.PATCH_CONFIG_MAP, self.patch_config_map),
        }
        extra = [name for name, (kind, v) in blocks.items() if v is not None and kind != self.type]
        if extra:
            raise ValueError(f"a {self.type} action must not set {', '.join(extra)}")
        return self


# --- The rails -----------------------------------------------------------------------------------


class Mode(enum.StrEnum):
    """Whether the policy mutates anything."""

    ENFORCE = "Enforce"
    DRY_RUN = "DryRun"


class Safety(Model):
    """Bounds on what the ladder may do."""

    mode: Mode = Field(
        default=Mode.ENFORCE,
        description="mode: Enforce acts; DryRun does everything but the mutation and records "
        "what it would have done.",
    )
    cooldown_seconds: Seconds = Field(
        default=60, description="cooldownSeconds between two actions on the same target."
    )
    max_actions_per_hour: Annotated[int, Field(ge=0, le=10_000)] = Field(
        default=20, description="maxActionsPerHour across the policy's targets."
    )
    max_actions_per_target_per_hour: Annotated[int, Field(ge=0, le=10_000)] = Field(
        default=5, description="maxActionsPerTargetPerHour for any one target."
    )
    max_concurrent: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=3, description="maxConcurrent incidents of the policy being remediated at once."
    )
    max_unavailable_percent: Percent = Field(
        default=25,
        description="maxUnavailablePercent of a workload's replicas that may be unavailable "
        "once a pod action has run; a pod action that would pass it is refused.",
    )
    storm_min_failing_targets: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=3,
        description="stormMinFailingTargets: a storm needs at least this many failing targets, "
        "so a policy with one or two workloads is never in a storm.",
    )
    storm_threshold_percent: Percent = Field(
        default=50,
        description="stormThresholdPercent: when this share of the policy's targets fail at once "
        "the policy stops acting and escalates (an outage is not a pod problem). 100 disables "
        "it for policies with a single target.",
    )


class Closing(Model):
    """When an incident is over."""

    stabilization_seconds: Seconds = Field(
        default=120,
        description="stabilizationSeconds the target must stay healthy before the incident is "
        "Resolved.",
    )
    reopen_within_seconds: Seconds = Field(
        default=600,
        description="reopenWithinSeconds after resolution a new failure of the same target "
        "reopens the incident instead of opening another.",
    )


class SeverityTimeout(Model):
    """Escalation timeouts for one severity."""

    severity: Severity = Field(description="severity these timeouts apply to.")
    ack_timeout_seconds: PositiveSeconds | None = Field(
        default=None,
        description="ackTimeoutSeconds: escalate when nobody acknowledged the incident by then.",
    )
    resolve_timeout_seconds: PositiveSeconds | None = Field(
        default=None,
        description="resolveTimeoutSeconds: escalate when the incident is still open by then.",
    )


class Escalation(Model):
    """Whom to page, and when, once automation is not enough."""

    receivers: Annotated[list[StepName], Field(max_length=16)] = Field(
        default_factory=list,
        description="receivers (by name from notifications) paged on escalation.",
    )
    timeouts: Annotated[list[SeverityTimeout], Field(max_length=4)] = Field(
        default_factory=list,
        json_schema_extra=list_map("severity"),
        description="timeouts per severity for acknowledgement and resolution, one entry per "
        "severity.",
    )

    @model_validator(mode="after")
    def _one_timeout_per_severity(self) -> Escalation:
        _require_unique("timeout severity", [t.severity.value for t in self.timeouts])
        return self


class ReceiverType(enum.StrEnum):
    """Where notifications go."""

    SLACK = "Slack"
    PAGER_DUTY = "PagerDuty"
    WEBHOOK = "Webhook"


class NotificationEvent(enum.StrEnum):
    """Moments of an incident a receiver can be told about."""

    OPENED = "Opened"
    ACTION_TAKEN = "ActionTaken"
    ESCALATED = "Escalated"
    RESOLVED = "Resolved"


class SlackReceiver(Model):
    """A Slack incoming webhook."""

    webhook_url_secret_ref: SecretKeyRef = Field(
        description="webhookURLSecretRef names the Secret key holding the incoming-webhook URL.",
        alias="webhookURLSecretRef",
    )
    channel: ShortText | None = Field(default=None, description="channel override, if allowed.")


class PagerDutyReceiver(Model):
    """A PagerDuty Events API v2 integration."""

    routing_key_secret_ref: SecretKeyRef = Field(
        description="routingKeySecretRef names the Secret key holding the integration's "
        "routing key.",
    )
    url: Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://")] | None = Field(
        default=None, description="url of the Events API; PagerDuty's own if unset."
    )


class WebhookReceiver(Model):
    """A generic JSON webhook."""

    model_config = Model.model_config | {
        "json_schema_extra": cel(
            ("has(self.url) != has(self.urlSecretRef)", "set exactly one of url and urlSecretRef")
        )
    }

    url: Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://")] | None = Field(
        default=None, description="url to POST incident events to."
    )
    url_secret_ref: SecretKeyRef | None = Field(
        default=None, description="urlSecretRef names a Secret key holding the URL instead."
    )
    authorization_secret_ref: SecretKeyRef | None = Field(
        default=None,
        description="authorizationSecretRef names a Secret key whose value is sent as the "
        "Authorization header.",
    )

    @model_validator(mode="after")
    def _one_url(self) -> WebhookReceiver:
        if (self.url is None) == (self.url_secret_ref is None):
            raise ValueError("webhook needs exactly one of url and urlSecretRef")
        return self


class Receiver(Model):
    """One notification receiver."""

    model_config = Model.model_config | {
        "json_schema_extra": cel(
            ("self.type != 'Slack' || has(self.slack)", "a Slack receiver needs slack", ".slack"),
            (
                "self.type != 'PagerDuty' || has(self.pagerDuty)",
                "a PagerDuty receiver needs pagerDuty",
                ".pagerDuty",
            ),
            (
                "self.type != 'Webhook' || has(self.webhook)",
                "a Webhook receiver needs webhook",
                ".webhook",
            ),
        )
    }

    name: StepName = Field(description="name of the receiver, unique in the policy.")
    type: ReceiverType = Field(description="type: Slack, PagerDuty or Webhook.")
    events: Annotated[list[NotificationEvent], Field(max_length=4)] = Field(
        default_factory=lambda: [
            NotificationEvent.OPENED,
            NotificationEvent.ESCALATED,
            NotificationEvent.RESOLVED,
        ],
        description="events sent to this receiver.",
    )
    min_severity: Severity = Field(
        default=Severity.SEV4,
        description="minSeverity: incidents less severe than this are not sent.",
    )
    slack: SlackReceiver | None = Field(default=None, description="slack settings.")
    pager_duty: PagerDutyReceiver | None = Field(default=None, description="pagerDuty settings.")
    webhook: WebhookReceiver | None = Field(default=None, description="webhook settings.")

    @model_validator(mode="after")
    def _block_matches_type(self) -> Receiver:
        blocks = {
            ReceiverType.SLACK: ("slack", self.slack),
            ReceiverType.PAGER_DUTY: ("pagerDuty", self.pager_duty),
            ReceiverType.WEBHOOK: ("webhook", self.webhook),
        }
        name, value = blocks[self.type]
        if value is None:
            raise ValueError(f"a {self.type} receiver needs {name}")
        return self


class Notifications(Model):
    """Receivers told about incidents."""

    receivers: Annotated[list[Receiver], Field(max_length=16)] = Field(
        default_factory=list,
        json_schema_extra=list_map("name"),
        description="receivers of incident notifications, unique by name.",
    )


# --- The resource --------------------------------------------------------------------------------


class RemediationPolicySpec(Model):
    """spec of a RemediationPolicy: intent, kept in Git."""

    model_config = Model.model_config | {
        "json_schema_extra": cel(
            (
                "!has(self.actions) || self.actions.all(a, !has(a.triggers)"
                " || a.triggers.all(n, self.triggers.exists(t, t.name == n)))",
                "every name in actions[].triggers must be the name of a trigger",
                ".actions",
            ),
            (
                "!has(self.escalation) || !has(self.escalation.receivers)"
                " || self.escalation.receivers.all(r, has(self.notifications)"
                " && has(self.notifications.receivers)"
                " && self.notifications.receivers.exists(n, n.name == r))",
                "every name in escalation.receivers must be the name of a receiver under "
                "notifications.receivers",
                ".escalation.receivers",
            ),
        )
    }

    selector: Selector = Field(
        default_factory=Selector, description="selector of the watched workloads and pods."
    )
    incident_scope: IncidentScope = Field(
        default=IncidentScope.WORKLOAD,
        description="incidentScope: Workload opens one incident per workload (the default), Pod "
        "one per pod.",
    )
    severity: Severity = Field(
        default=Severity.SEV3, description="severity of incidents unless a trigger sets its own."
    )
    triggers: Annotated[list[Trigger], Field(min_length=1, max_length=16)] = Field(
        json_schema_extra=list_map("name"),
        description="triggers: the failure signals watched, unique by name.",
    )
    actions: Annotated[list[Action], Field(max_length=16)] = Field(
        default_factory=list,
        json_schema_extra=list_map("name"),
        description="actions: the remediation ladder, tried in order until the target is "
        "healthy; past its end the incident escalates. Names are unique.",
    )
    safety: Safety = Field(default_factory=Safety, description="safety rails of the ladder.")
    closing: Closing = Field(default_factory=Closing, description="closing rules.")
    escalation: Escalation = Field(
        default_factory=Escalation, description="escalation receivers and timeouts."
    )
    notifications: Notifications = Field(
        default_factory=Notifications, description="notification receivers."
    )
    paused: Flag = Field(
        default=False,
        description="paused stops all actions of this policy; detection goes on.",
    )

    @model_validator(mode="after")
    def _names_resolve(self) -> RemediationPolicySpec:
        _require_unique("trigger name", [t.name for t in self.triggers])
        _require_unique("action name", [a.name for a in self.actions])
        _require_unique("receiver name", [r.name for r in self.notifications.receivers])
        trigger_names = {t.name for t in self.triggers}
        for action in self.actions:
            unknown = sorted(set(action.triggers or []) - trigger_names)
            if unknown:
                raise ValueError(
                    f"action {action.name} names unknown triggers {', '.join(unknown)}; "
                    f"known: {', '.join(sorted(trigger_names))}"
                )
        receiver_names = {r.name for r in self.notifications.receivers}
        unknown = sorted(set(self.escalation.receivers) - receiver_names)
        if unknown:
            raise ValueError(
                f"escalation names unknown receivers {', '.join(unknown)}; define them under "
                "notifications.receivers"
            )
        return self

    def trigger(self, name: str) -> Trigger | None:
        """The trigger of that name, if any."""
        return next((t for t in self.triggers if t.name == name), None)

    def severity_of(self, trigger: Trigger) -> Severity:
        """The severity of incidents opened by ``trigger``."""
        return trigger.severity or self.severity

    def ladder_for(self, trigger_name: str) -> list[Action]:
        """The steps that apply to incidents of that trigger, in order."""
        return [a for a in self.actions if a.triggers is None or trigger_name in a.triggers]


def _require_unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} {name!r} is used twice; it must be unique")
        seen.add(name)


class RemediationPolicyStatus(Model):
    """status of a RemediationPolicy: what the operator observed."""

    mode: Mode | None = Field(
        default=None,
        description="mode in effect: spec.safety.mode with its default applied, so the MODE "
        "column shows Enforce for a policy that does not spell it out.",
    )
    observed_generation: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="observedGeneration of the spec last reconciled."
    )
    conditions: Annotated[list[Condition], Field(max_length=8)] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        description="conditions: Ready (the spec is valid and watched) and RemediationAllowed "
        "(reasons CooldownActive, BudgetExhausted, StormDetected, Paused, DryRun).",
    )
    open_incidents: Annotated[int, Field(ge=0)] = Field(
        default=0, description="openIncidents of this policy not yet Resolved."
    )
    remediating_incidents: Annotated[int, Field(ge=0)] = Field(
        default=0, description="remediatingIncidents with an action under way or being verified."
    )
    actions_last_hour: Annotated[int, Field(ge=0)] = Field(
        default=0, description="actionsLastHour taken (or, in DryRun, planned) by this policy."
    )
    targets: Annotated[int, Field(ge=0)] = Field(
        default=0, description="targets: workloads currently selected by the policy."
    )
    failing_targets: Annotated[int, Field(ge=0)] = Field(
        default=0, description="failingTargets with an open incident."
    )


class RemediationPolicy(Model):
    """A RemediationPolicy as stored in the cluster."""

    api_version: ShortText = Field(default="kubemedic.io/v1alpha1", description="apiVersion.")
    kind: ShortText = Field(default=KIND, description="kind.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="metadata.")
    spec: RemediationPolicySpec
    status: RemediationPolicyStatus | None = None

    def to_manifest(self) -> dict[str, Any]:
        """What was set, always with apiVersion and kind, ready to apply."""
        return {"apiVersion": self.api_version, "kind": self.kind} | super().to_manifest()
