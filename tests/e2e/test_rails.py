"""The safety rails end to end: each refusal is recorded with its reason.

Every test keeps its target failing, so the ladder wants to act, and shows
the rail stopping it: in the action list (nothing done), the incident's
RemediationAllowed condition and timeline, and for storms the escalation.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api, CustomObjectsApi

from support.incidents import (
    create_policy,
    list_incidents,
    timeline_types,
    wait_for,
    wait_for_incidents,
)
from support.operators import OperatorProcess
from support.workloads import create_deployment, simulate_crash_loop, simulate_oom_kill

pytestmark = pytest.mark.cluster


def notify_steps(count: int, *, timeout: int = 1) -> list[dict[str, Any]]:
    return [
        {"name": f"step-{i}", "type": "NotifyOnly", "verification": {"timeoutSeconds": timeout}}
        for i in range(count)
    ]


def crash_policy(
    name: str,
    *,
    selector: dict[str, str],
    actions: list[dict[str, Any]],
    safety: dict[str, Any],
    reasons: tuple[str, ...] = ("CrashLoopBackOff",),
    **spec: Any,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": selector},
            "triggers": [
                {"name": "pods", "type": "PodFailure", "podFailure": {"reasons": list(reasons)}}
            ],
            "actions": actions,
            "safety": {"cooldownSeconds": 0, "stormThresholdPercent": 100, **safety},
            "closing": {"stabilizationSeconds": 600},
            **spec,
        },
    }


def pod_names(api: ApiClient, namespace: str, app: str) -> list[str]:
    pods = CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return sorted(p.metadata.name for p in pods)


def refusal_of(incident: dict[str, Any]) -> dict[str, Any] | None:
    for condition in (incident.get("status") or {}).get("conditions", []):
        if condition["type"] == "RemediationAllowed" and condition["status"] == "False":
            return condition
    return None


def wait_for_refusal(api: ApiClient, namespace: str, reason: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        for incident in list_incidents(api, namespace):
            refusal = refusal_of(incident)
            if refusal is not None and refusal["reason"] == reason:
                return incident
        return None

    found: dict[str, Any] = wait_for(probe, timeout=30, what=f"a refusal for {reason}")
    return found


def test_cooldown_refuses_the_next_step_and_says_until_when(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "web", replicas=1)
    create_policy(
        kube_api,
        namespace,
        crash_policy(
            "crashes",
            selector={"app": "web"},
            actions=notify_steps(2),
            safety={"cooldownSeconds": 300},
        ),
    )
    operator.start()

    simulate_crash_loop(kube_api, namespace, pod_names(kube_api, namespace, "web")[0])
    incident = wait_for_refusal(kube_api, namespace, "CooldownActive")

    assert [a["step"] for a in incident["status"]["actions"]] == ["step-0"]
    assert "cooldownSeconds=300" in refusal_of(incident)["message"]  # type: ignore[index]
    assert "ActionRefused" in timeline_types(incident)
    time.sleep(3)
    [later] = list_incidents(kube_api, namespace)
    assert len(later["status"]["actions"]) == 1
    assert timeline_types(later).count("ActionRefused") == 1, "said once, not every pass"


def test_the_hourly_budget_per_target_refuses_further_actions(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "web", replicas=1)
    create_policy(
        kube_api,
        namespace,
        crash_policy(
            "crashes",
            selector={"app": "web"},
            actions=notify_steps(3),
            safety={"maxActionsPerTargetPerHour": 2},
        ),
    )
    operator.start()

    simulate_crash_loop(kube_api, namespace, pod_names(kube_api, namespace, "web")[0])
    incident = wait_for_refusal(kube_api, namespace, "BudgetExhausted")

    assert [a["step"] for a in incident["status"]["actions"]] == ["step-0", "step-1"]
    assert "maxActionsPerTargetPerHour=2" in refusal_of(incident)["message"]  # type: ignore[index]


def test_max_unavailable_percent_refuses_an_eviction_that_would_pass_it(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    # Four replicas at 25 % may lose one; one is already down (crash loop).
    create_deployment(kube_api, namespace, "api", replicas=4)
    evict = {"name": "evict", "type": "EvictPod", "verification": {"timeoutSeconds": 30}}
    create_policy(
        kube_api,
        namespace,
        crash_policy(
            "oom",
            selector={"app": "api"},
            actions=[evict],
            reasons=("OOMKilled",),
            safety={"maxUnavailablePercent": 25},
        ),
    )
    down, victim = pod_names(kube_api, namespace, "api")[:2]
    simulate_crash_loop(kube_api, namespace, down)
    wait_for(
        lambda: (
            AppsV1Api(kube_api)
            .read_namespaced_deployment_status("api", namespace)
            .status.ready_replicas
            == 3
        ),
        timeout=20,
        what="3 of 4 replicas ready",
    )
    operator.start()

    simulate_oom_kill(kube_api, namespace, victim)
    incident = wait_for_refusal(kube_api, namespace, "UnavailabilityLimited")

    assert incident["status"].get("actions", []) == []
    assert "at most 1" in refusal_of(incident)["message"]  # type: ignore[index]
    assert victim in pod_names(kube_api, namespace, "api")


def test_a_storm_stops_acting_and_escalates_every_incident(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    for app in ("cart", "search", "auth"):
        create_deployment(kube_api, namespace, app, replicas=1, labels={"tier": "web"})
    restart = {"name": "restart", "type": "RolloutRestart"}
    # Paused while the failures pile up, so that every incident exists before
    # the rails look: then two of three targets failing is a storm.
    create_policy(
        kube_api,
        namespace,
        crash_policy(
            "web",
            selector={"tier": "web"},
            actions=[restart],
            paused=True,
            safety={"stormThresholdPercent": 50, "stormMinFailingTargets": 2},
        ),
    )
    operator.start()
    for app in ("cart", "search"):
        simulate_crash_loop(kube_api, namespace, pod_names(kube_api, namespace, app)[0])
    wait_for_incidents(kube_api, namespace, count=2)
    wait_for_refusal(kube_api, namespace, "Paused")

    patch: Any = {"spec": {"paused": False}}
    CustomObjectsApi(kube_api).patch_namespaced_custom_object(
        "kubemedic.io", "v1alpha1", namespace, "remediationpolicies", "web", patch
    )

    def all_escalated() -> list[dict[str, Any]] | None:
        items = list_incidents(kube_api, namespace)
        return items if all(i["status"]["phase"] == "Escalated" for i in items) else None

    escalated = wait_for(all_escalated, timeout=30, what="both incidents Escalated")
    for incident in escalated:
        assert incident["status"].get("actions", []) == [], "a storm takes no action"
        assert refusal_of(incident)["reason"] == "StormDetected"  # type: ignore[index]
    restarted = [
        d.metadata.name
        for d in AppsV1Api(kube_api).list_namespaced_deployment(namespace).items
        if (d.spec.template.metadata.annotations or {}).get("kubectl.kubernetes.io/restartedAt")
    ]
    assert restarted == []


def test_the_global_pause_stops_every_action_until_lifted(
    kube_api: ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "web", replicas=1)
    create_policy(
        kube_api,
        namespace,
        crash_policy(
            "crashes",
            selector={"app": "web"},
            actions=notify_steps(1, timeout=30),
            safety={},
        ),
    )
    core = CoreV1Api(kube_api)
    pause: Any = {"metadata": {"annotations": {"kubemedic.io/paused": "true"}}}
    core.patch_namespace(namespace, pause)
    operator.start()

    simulate_crash_loop(kube_api, namespace, pod_names(kube_api, namespace, "web")[0])
    paused = wait_for_refusal(kube_api, namespace, "Paused")
    assert paused["status"].get("actions", []) == []
    assert "global" in refusal_of(paused)["message"]  # type: ignore[index]

    lift: Any = {"metadata": {"annotations": {"kubemedic.io/paused": None}}}
    core.patch_namespace(namespace, lift)
    acted = wait_for(
        lambda: next(
            (
                i
                for i in list_incidents(kube_api, namespace)
                if any(a["result"] != "Pending" for a in i["status"].get("actions", []))
            ),
            None,
        ),
        timeout=30,
        what="the action once the pause is lifted",
    )
    assert acted["status"]["actions"][0]["result"] == "Succeeded"
