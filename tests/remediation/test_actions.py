"""Each remediation step against the real local control plane.

kwok plays the kubelet, so replacement pods become Ready, and a Job's pod
completes; the rest (PodDisruptionBudgets, rollouts, the HPA's bounds,
server-side dry runs) is the real API server and controller manager.
"""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes.client import (
    ApiClient,
    AppsV1Api,
    AutoscalingV2Api,
    BatchV1Api,
    CoreV1Api,
    PolicyV1Api,
)

from kubemedic.api.incidents import ActionResult, Target
from kubemedic.api.policies import Action, ActionType
from kubemedic.clients.acting import ActionOutcome, ActionRequest, Actuator
from kubemedic.clients.apiserver import ApiServer
from kubemedic.clients.workloads import observe_workload
from kubemedic.errors import RefusedError
from support.devclusters import REPO, DevCluster
from support.workloads import create_deployment, wait_for_ready_pods, wait_for_rollout

pytestmark = pytest.mark.cluster

APP = "shop"
INCIDENT = "oom-shop-x1"
JOB_TEMPLATE = {
    "backoffLimit": 0,
    "template": {
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "runbook", "image": "registry.invalid/runbook:v1"}],
        }
    },
}


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def make_request(
    namespace: str,
    action: dict[str, Any],
    *,
    target_kind: str = "Deployment",
    target_name: str = APP,
    pods: tuple[str, ...] = (),
    dry_run: bool = False,
    detected_at: datetime.datetime | None = None,
    key: str | None = None,
) -> ActionRequest:
    return ActionRequest(
        key=key or f"{INCIDENT}-{uuid.uuid4().hex[:8]}",
        action=Action.model_validate({"name": "step", **action}),
        target=Target(kind=target_kind, namespace=namespace, name=target_name),
        incident=INCIDENT,
        detected_at=detected_at or now(),
        pods=pods,
        dry_run=dry_run,
    )


def wait_until(condition: Callable[[], Any], *, timeout: float = 60.0, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"Timed out waiting for {what}")
        time.sleep(0.2)


def pod_names(api: ApiClient, namespace: str) -> list[str]:
    pods = CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"app={APP}").items
    return sorted(p.metadata.name for p in pods if p.metadata.deletion_timestamp is None)


def replica_set_names(api: ApiClient, namespace: str) -> set[str]:
    items = AppsV1Api(api).list_namespaced_replica_set(namespace).items
    return {rs.metadata.name for rs in items}


def snapshot(api: ApiClient, namespace: str) -> dict[str, Any]:
    """What a step could write in the namespace (leaving out what controllers write)."""
    core, apps = CoreV1Api(api), AppsV1Api(api)
    hpas = AutoscalingV2Api(api).list_namespaced_horizontal_pod_autoscaler(namespace).items
    return {
        "pods": {
            p.metadata.name: (p.metadata.uid, p.metadata.annotations, p.metadata.deletion_timestamp)
            for p in core.list_namespaced_pod(namespace).items
        },
        "deployments": {
            d.metadata.name: (d.metadata.generation, d.metadata.annotations)
            for d in apps.list_namespaced_deployment(namespace).items
        },
        "configmaps": {
            c.metadata.name: c.metadata.resource_version
            for c in core.list_namespaced_config_map(namespace).items
        },
        "hpas": {
            h.metadata.name: (h.spec.min_replicas, h.spec.max_replicas, h.metadata.annotations)
            for h in hpas
        },
        "jobs": {j.metadata.name for j in BatchV1Api(api).list_namespaced_job(namespace).items},
    }


def roll_out_new_image(api: ApiClient, namespace: str, image: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    AppsV1Api(api).patch_namespaced_deployment(APP, namespace, patch)
    wait_for_rollout(api, namespace, APP)


def deployment_image(api: ApiClient, namespace: str) -> str:
    deployment = AppsV1Api(api).read_namespaced_deployment(APP, namespace)
    return str(deployment.spec.template.spec.containers[0].image)


def create_config_map(api: ApiClient, namespace: str) -> None:
    body = {"metadata": {"name": "flags"}, "data": {"checkout": "on", "keep": "1"}}
    CoreV1Api(api).create_namespaced_config_map(namespace, body)


def create_hpa(api: ApiClient, namespace: str, *, minimum: int, maximum: int) -> None:
    body = {
        "metadata": {"name": APP},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP},
            "minReplicas": minimum,
            "maxReplicas": maximum,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 80},
                    },
                }
            ],
        },
    }
    AutoscalingV2Api(api).create_namespaced_horizontal_pod_autoscaler(namespace, body)


@pytest.fixture
def actuator(kube_api: ApiClient) -> Actuator:
    return Actuator(kube_api)


@pytest.fixture
def shop(kube_api: ApiClient, namespace: str) -> str:
    """A Deployment `shop` of two Ready pods in the test's namespace."""
    create_deployment(kube_api, namespace, APP, replicas=2)
    return namespace


# --- EvictPod and DeletePod ---------------------------------------------------------------------


async def test_evicting_a_pod_removes_it_and_the_replica_set_replaces_it(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    victim = pod_names(kube_api, shop)[0]
    request = make_request(shop, {"type": "EvictPod"}, pods=(victim,))
    assert await actuator.find_done(request) is None

    outcome = await actuator.perform(request)

    assert outcome == ActionOutcome(
        ActionResult.SUCCEEDED, f"Evicted Pod {shop}/{victim}", f"Pod {victim}"
    )
    pods = wait_for_ready_pods(kube_api, shop, f"app={APP}", count=2)
    assert victim not in {p.metadata.name for p in pods}
    found = await actuator.find_done(request)
    assert found is not None
    assert found.result == ActionResult.SUCCEEDED


async def test_a_disruption_budget_blocks_eviction_with_its_reason(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    budget = {
        "metadata": {"name": APP},
        "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": APP}}},
    }
    PolicyV1Api(kube_api).create_namespaced_pod_disruption_budget(shop, budget)
    wait_until(
        lambda: (
            PolicyV1Api(kube_api)
            .read_namespaced_pod_disruption_budget(APP, shop)
            .status.expected_pods
            == 2
        ),
        what="the PodDisruptionBudget to count the pods",
    )
    victim = pod_names(kube_api, shop)[0]
    request = make_request(shop, {"type": "EvictPod"}, pods=(victim,))

    outcome = await actuator.perform(request)

    assert outcome.result == ActionResult.BLOCKED
    assert outcome.message.startswith(f"Could not evict Pod {shop}/{victim}: Cannot evict pod")
    assert "Cannot evict pod as it would violate the pod's disruption budget" in outcome.message
    assert victim in pod_names(kube_api, shop)
    assert await actuator.find_done(request) is None


async def test_deleting_a_pod_removes_it(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    victim = pod_names(kube_api, shop)[0]
    request = make_request(shop, {"type": "DeletePod"}, pods=(victim,))

    outcome = await actuator.perform(request)

    assert outcome.result == ActionResult.SUCCEEDED
    assert outcome.message == f"Deleted Pod {shop}/{victim}"
    wait_until(lambda: victim not in pod_names(kube_api, shop), what=f"Pod {victim} to go")


async def test_evicting_a_pod_that_is_gone_is_skipped(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    request = make_request(shop, {"type": "EvictPod"}, pods=("shop-gone",))
    outcome = await actuator.perform(request)
    assert outcome.result == ActionResult.SKIPPED
    assert outcome.message == f"Nothing to evict in {shop}: shop-gone already gone or terminating"


# --- RolloutRestart -----------------------------------------------------------------------------


async def test_rollout_restart_changes_the_template_and_a_new_replica_set_appears(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    before = replica_set_names(kube_api, shop)
    request = make_request(shop, {"type": "RolloutRestart"})

    outcome = await actuator.perform(request)

    assert outcome.result == ActionResult.SUCCEEDED
    assert outcome.message.startswith(f"Restarted Deployment {shop}/{APP} (restartedAt ")
    assert outcome.object == f"Deployment {APP}"
    deployment = AppsV1Api(kube_api).read_namespaced_deployment(APP, shop)
    annotations = deployment.spec.template.metadata.annotations
    assert "kubectl.kubernetes.io/restartedAt" in annotations
    assert annotations["kubemedic.io/action-key"] == request.key
    wait_until(lambda: replica_set_names(kube_api, shop) - before, what="a new ReplicaSet")
    wait_for_rollout(kube_api, shop, APP)


async def test_a_paused_rollout_is_left_alone(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    AppsV1Api(kube_api).patch_namespaced_deployment(APP, shop, {"spec": {"paused": True}})
    request = make_request(shop, {"type": "RolloutRestart"})
    # NB: the controller writes the paused condition into status meanwhile,
    # so the spec's generation is what must stay.
    before = AppsV1Api(kube_api).read_namespaced_deployment(APP, shop).metadata.generation

    outcome = await actuator.perform(request)

    assert outcome == ActionOutcome(
        ActionResult.SKIPPED, f"rollout is paused: Deployment {shop}/{APP} has spec.paused"
    )
    assert AppsV1Api(kube_api).read_namespaced_deployment(APP, shop).metadata.generation == before


async def test_a_gone_workload_is_skipped(namespace: str, actuator: Actuator) -> None:
    outcome = await actuator.perform(make_request(namespace, {"type": "RolloutRestart"}))
    assert outcome == ActionOutcome(ActionResult.SKIPPED, f"Deployment {namespace}/{APP} is gone")


# --- Scale --------------------------------------------------------------------------------------


async def test_scale_raises_replicas_within_bounds(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    scale = {"type": "Scale", "scale": {"replicasStep": 2, "maxReplicas": 3}}

    outcome = await actuator.perform(make_request(shop, scale))

    assert outcome == ActionOutcome(
        ActionResult.SUCCEEDED,
        f"Scaled Deployment {shop}/{APP} from 2 to 3 replicas",
        f"Deployment {APP}",
    )
    assert AppsV1Api(kube_api).read_namespaced_deployment(APP, shop).spec.replicas == 3
    again = await actuator.perform(make_request(shop, scale))
    assert again.result == ActionResult.BLOCKED
    assert again.message == f"Did not scale Deployment {shop}/{APP}: already at maxReplicas (3)"


async def test_scale_with_an_hpa_raises_its_bounds_instead_of_the_replicas(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    create_hpa(kube_api, shop, minimum=1, maximum=3)
    request = make_request(shop, {"type": "Scale", "scale": {"replicasStep": 2, "maxReplicas": 6}})

    outcome = await actuator.perform(request)

    assert outcome.result == ActionResult.SUCCEEDED
    assert outcome.object == f"HorizontalPodAutoscaler {APP}"
    assert outcome.message == (
        f"Scaled Deployment {shop}/{APP} from 2 to 4 replicas through HorizontalPodAutoscaler "
        f"{shop}/{APP} (minReplicas 1→4, maxReplicas 3→4)"
    )
    hpa = AutoscalingV2Api(kube_api).read_namespaced_horizontal_pod_autoscaler(APP, shop)
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (4, 4)
    assert hpa.metadata.annotations["kubemedic.io/action-key"] == request.key
    deployment = AppsV1Api(kube_api).read_namespaced_deployment(APP, shop)
    assert "kubemedic.io/action-key" not in (deployment.metadata.annotations or {})
    found = await actuator.find_done(request)
    assert found is not None


# --- Rollback -----------------------------------------------------------------------------------


async def test_rollback_restores_the_previous_revision(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    first = deployment_image(kube_api, shop)
    roll_out_new_image(kube_api, shop, "registry.invalid/kubemedic/demo-app:v2-broken")
    request = make_request(
        shop, {"type": "Rollback", "rollback": {"onlyWithinSecondsOfRollout": 600}}
    )

    outcome = await actuator.perform(request)

    assert outcome.result == ActionResult.SUCCEEDED
    assert outcome.message.startswith(
        f"Rolled back Deployment {shop}/{APP} from revision 2 to revision 1 "
        f"(ReplicaSet {shop}/shop-"
    )
    wait_for_rollout(kube_api, shop, APP)
    assert deployment_image(kube_api, shop) == first
    deployment = AppsV1Api(kube_api).read_namespaced_deployment(APP, shop)
    assert deployment.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    assert len(replica_set_names(kube_api, shop)) == 2, "the old ReplicaSet was revived"
    assert await actuator.find_done(request) is not None


async def test_rollback_is_refused_without_a_previous_revision(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    outcome = await actuator.perform(make_request(shop, {"type": "Rollback"}))
    assert outcome == ActionOutcome(
        ActionResult.BLOCKED,
        f"Did not roll back Deployment {shop}/{APP}: no revision before the current revision 1",
        f"Deployment {APP}",
    )


async def test_rollback_is_refused_outside_the_rollout_window(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    roll_out_new_image(kube_api, shop, "registry.invalid/kubemedic/demo-app:v2")
    request = make_request(
        shop,
        {"type": "Rollback", "rollback": {"onlyWithinSecondsOfRollout": 60}},
        detected_at=now() + datetime.timedelta(hours=1),
    )
    before = snapshot(kube_api, shop)

    outcome = await actuator.perform(request)

    assert outcome.result == ActionResult.BLOCKED
    assert "after the latest rollout, outside onlyWithinSecondsOfRollout=60" in outcome.message
    assert snapshot(kube_api, shop) == before


# --- RunJob -------------------------------------------------------------------------------------


async def test_run_job_creates_a_labelled_job_and_poll_follows_it(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    request = make_request(shop, {"type": "RunJob", "runJob": {"jobTemplate": JOB_TEMPLATE}})

    outcome = await actuator.perform(request)

    assert outcome == ActionOutcome(
        ActionResult.PENDING,
        f"Created Job {shop}/{request.key}; waiting for it to finish",
        f"Job {request.key}",
    )
    job = BatchV1Api(kube_api).read_namespaced_job(request.key, shop)
    assert job.metadata.labels["kubemedic.io/incident"] == INCIDENT
    assert job.spec.ttl_seconds_after_finished == 3600
    env = {e.name: e.value for e in job.spec.template.spec.containers[0].env}
    assert env == {
        "KUBEMEDIC_INCIDENT": INCIDENT,
        "KUBEMEDIC_TARGET_KIND": "Deployment",
        "KUBEMEDIC_TARGET_NAME": APP,
        "KUBEMEDIC_NAMESPACE": shop,
    }

    # kwok completes the pods of Jobs, so the Job itself completes.
    async def poll() -> ActionOutcome:
        return await actuator.poll(request)

    deadline = time.monotonic() + 60
    polled = await poll()
    while polled.result == ActionResult.PENDING and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        polled = await poll()
    assert polled == ActionOutcome(
        ActionResult.SUCCEEDED, f"Job {shop}/{request.key} succeeded", f"Job {request.key}"
    )


async def test_job_templates_are_validated_by_a_dry_run(shop: str, actuator: Actuator) -> None:
    assert await actuator.validate_job_template(shop, JOB_TEMPLATE) is None

    broken = {"template": {"spec": {"restartPolicy": "Always", "containers": []}}}
    problem = await actuator.validate_job_template(shop, broken)
    assert problem is not None
    assert "restartPolicy" in problem


# --- PatchConfigMap -----------------------------------------------------------------------------


async def test_patch_config_map_sets_keys_and_revert_restores_them(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    create_config_map(kube_api, shop)
    action = {
        "type": "PatchConfigMap",
        "patchConfigMap": {
            "name": "flags",
            "data": {"checkout": "off", "breaker": "open"},
            "revertOnResolve": True,
        },
    }
    request = make_request(shop, action)

    outcome = await actuator.perform(request)

    assert outcome == ActionOutcome(
        ActionResult.SUCCEEDED,
        f"Set breaker, checkout of ConfigMap {shop}/flags",
        "ConfigMap flags",
    )
    data = CoreV1Api(kube_api).read_namespaced_config_map("flags", shop).data
    assert data == {"checkout": "off", "breaker": "open", "keep": "1"}

    reverted = await actuator.revert(request)

    assert reverted.result == ActionResult.SUCCEEDED
    assert reverted.message == f"Reverted breaker, checkout of ConfigMap {shop}/flags"
    config_map = CoreV1Api(kube_api).read_namespaced_config_map("flags", shop)
    assert config_map.data == {"checkout": "on", "keep": "1"}
    assert f"revert.kubemedic.io/{request.key}" not in config_map.metadata.annotations
    again = await actuator.revert(request)
    assert again.result == ActionResult.SKIPPED


async def test_revert_leaves_keys_a_human_changed_since(
    kube_api: ApiClient, shop: str, actuator: Actuator
) -> None:
    create_config_map(kube_api, shop)
    action = {
        "type": "PatchConfigMap",
        "patchConfigMap": {"name": "flags", "data": {"checkout": "off"}, "revertOnResolve": True},
    }
    request = make_request(shop, action)
    await actuator.perform(request)
    CoreV1Api(kube_api).patch_namespaced_config_map("flags", shop, {"data": {"checkout": "half"}})

    reverted = await actuator.revert(request)

    assert reverted.message == (
        f"Reverted no keys of ConfigMap {shop}/flags (left checkout alone: changed since the patch)"
    )
    assert CoreV1Api(kube_api).read_namespaced_config_map("flags", shop).data["checkout"] == "half"


# --- Dry run and idempotency --------------------------------------------------------------------

STEPS = [
    pytest.param({"type": "EvictPod"}, id="EvictPod"),
    pytest.param({"type": "DeletePod"}, id="DeletePod"),
    pytest.param({"type": "RolloutRestart"}, id="RolloutRestart"),
    pytest.param({"type": "Scale", "scale": {"replicasStep": 1, "maxReplicas": 5}}, id="Scale"),
    pytest.param({"type": "Rollback"}, id="Rollback"),
    pytest.param({"type": "RunJob", "runJob": {"jobTemplate": JOB_TEMPLATE}}, id="RunJob"),
    pytest.param(
        {
            "type": "PatchConfigMap",
            "patchConfigMap": {"name": "flags", "data": {"checkout": "off"}},
        },
        id="PatchConfigMap",
    ),
]


def prepare(kube_api: ApiClient, namespace: str, action: dict[str, Any]) -> tuple[str, ...]:
    """Set the stage for a step; the pods it should act on."""
    if action["type"] == "Rollback":
        roll_out_new_image(kube_api, namespace, "registry.invalid/kubemedic/demo-app:v2")
    if action["type"] == "PatchConfigMap":
        create_config_map(kube_api, namespace)
    if action["type"] in (ActionType.EVICT_POD, ActionType.DELETE_POD):
        return (pod_names(kube_api, namespace)[0],)
    return ()


@pytest.mark.parametrize("action", STEPS)
async def test_dry_run_mutates_nothing(
    kube_api: ApiClient, shop: str, actuator: Actuator, action: dict[str, Any]
) -> None:
    pods = prepare(kube_api, shop, action)
    request = make_request(shop, action, pods=pods, dry_run=True)
    before = snapshot(kube_api, shop)

    outcome = await actuator.perform(request)

    assert outcome.result == ActionResult.DRY_RUN, outcome.message
    assert outcome.message.startswith("Would ")
    await asyncio.sleep(1)  # give controllers a moment to react to a mutation, were there one
    assert snapshot(kube_api, shop) == before
    assert await actuator.find_done(request) is None


@pytest.mark.parametrize("action", STEPS)
async def test_the_same_request_twice_mutates_once(
    kube_api: ApiClient, shop: str, actuator: Actuator, action: dict[str, Any]
) -> None:
    pods = prepare(kube_api, shop, action)
    request = make_request(shop, action, pods=pods)
    assert await actuator.find_done(request) is None

    first = await actuator.perform(request)
    assert first.result in (ActionResult.SUCCEEDED, ActionResult.PENDING), first.message
    found = await actuator.find_done(request)
    assert found is not None, "find_done sees the evidence"
    after_first = snapshot(kube_api, shop)
    generation = AppsV1Api(kube_api).read_namespaced_deployment(APP, shop).metadata.generation

    second = await actuator.perform(request)

    assert second.result in (ActionResult.SUCCEEDED, ActionResult.PENDING, ActionResult.SKIPPED)
    after_second = snapshot(kube_api, shop)
    # Controllers go on with the first mutation (new pods, rollouts); what
    # the step itself writes must not have changed a second time.
    assert after_second["configmaps"] == after_first["configmaps"]
    assert after_second["hpas"] == after_first["hpas"]
    assert after_second["jobs"] == after_first["jobs"]
    if action["type"] in ("Scale", "RolloutRestart", "Rollback"):
        deployment = AppsV1Api(kube_api).read_namespaced_deployment(APP, shop)
        assert deployment.metadata.annotations["kubemedic.io/action-key"] == request.key
        assert deployment.metadata.generation == generation


# --- Observation and RBAC -----------------------------------------------------------------------


async def test_observing_a_deployment_reports_counts_and_pods(
    kube_api: ApiClient, shop: str
) -> None:
    observation = await observe_workload(
        kube_api, Target(kind="Deployment", namespace=shop, name=APP)
    )

    assert observation.display == f"Deployment {shop}/{APP}"
    assert (observation.desired_replicas, observation.ready_replicas) == (2, 2)
    assert observation.is_rollout_complete
    assert observation.selector == f"app={APP}"
    assert [pod.name for pod in observation.pods] == pod_names(kube_api, shop)
    assert all(pod.ready and pod.phase == "Running" for pod in observation.pods)


async def test_the_operator_role_allows_every_step(
    kube_api: ApiClient, devcluster: DevCluster, shop: str
) -> None:
    devcluster.kubectl("apply", "-f", str(REPO / "manifests" / "rbac.yaml"))
    as_operator = ApiClient(
        kube_api.configuration,
        header_name="Impersonate-User",
        header_value="system:serviceaccount:kubemedic-system:kubemedic",
    )
    actuator = Actuator(as_operator)
    roll_out_new_image(kube_api, shop, "registry.invalid/kubemedic/demo-app:v2")
    create_config_map(kube_api, shop)
    create_hpa(kube_api, shop, minimum=1, maximum=3)
    steps = [
        {"type": "Rollback"},
        {"type": "RolloutRestart"},
        {"type": "Scale", "scale": {"replicasStep": 1, "maxReplicas": 5}},
        {"type": "RunJob", "runJob": {"jobTemplate": JOB_TEMPLATE}},
        {"type": "PatchConfigMap", "patchConfigMap": {"name": "flags", "data": {"a": "b"}}},
        {"type": "EvictPod"},
    ]

    for step in steps:
        pods: tuple[str, ...] = ()
        if step["type"] == "EvictPod":
            # NB: the restart and the rollback above replace pods; pick one that stays.
            wait_for_rollout(kube_api, shop, APP)
            pods = (pod_names(kube_api, shop)[0],)
        outcome = await actuator.perform(make_request(shop, step, pods=pods))
        assert outcome.result in (ActionResult.SUCCEEDED, ActionResult.PENDING), outcome.message
    assert await actuator.validate_job_template(shop, JOB_TEMPLATE) is None

    # The impersonation is real: what the role leaves out is refused.
    with pytest.raises(RefusedError) as refusal:
        await ApiServer(as_operator).delete(f"/api/v1/namespaces/{shop}/configmaps/flags")
    assert refusal.value.status == 403
