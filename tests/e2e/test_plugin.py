"""The kubectl plugin against the real API server and a running operator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes.client import ApiClient, CoreV1Api

from support.devclusters import DevCluster
from support.incidents import create_policy, list_incidents, wait_for, wait_for_incidents
from support.operators import OPERATOR_DIR, OperatorProcess
from support.workloads import create_deployment, simulate_crash_loop

pytestmark = pytest.mark.cluster


def medic(devcluster: DevCluster, *args: str) -> str:
    env = {**os.environ, "KUBECONFIG": str(devcluster.kubeconfig), "PYTHONPATH": str(OPERATOR_DIR)}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from kubemedic.plugin import main; sys.exit(main(sys.argv[1:]))",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_ack_show_list_and_retry_drive_an_incident(
    kube_api: ApiClient, devcluster: DevCluster, namespace: str, operator: OperatorProcess
) -> None:
    create_deployment(kube_api, namespace, "web", replicas=1)
    create_policy(
        kube_api,
        namespace,
        {
            "metadata": {"name": "crashes"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "triggers": [
                    {
                        "name": "pods",
                        "type": "PodFailure",
                        "podFailure": {"reasons": ["CrashLoopBackOff"]},
                    }
                ],
                "actions": [
                    {"name": "page", "type": "NotifyOnly", "verification": {"timeoutSeconds": 1}}
                ],
                "safety": {"cooldownSeconds": 0},
            },
        },
    )
    operator.start()
    pods = CoreV1Api(kube_api).list_namespaced_pod(namespace).items
    simulate_crash_loop(kube_api, namespace, pods[0].metadata.name)
    [incident] = wait_for_incidents(kube_api, namespace)
    name = incident["metadata"]["name"]

    def escalated() -> bool:
        return bool(list_incidents(kube_api, namespace)[0]["status"].get("phase") == "Escalated")

    wait_for(escalated, timeout=30, what="the incident escalated")
    assert name in medic(devcluster, "list", "-n", namespace)

    assert "as alice" in medic(devcluster, "ack", name, "-n", namespace, "--by", "alice")
    acked = wait_for(
        lambda: next(
            (i for i in list_incidents(kube_api, namespace) if i["status"].get("acknowledgedAt")),
            None,
        ),
        timeout=20,
        what="acknowledgedAt stamped",
    )
    assert acked["spec"]["acknowledgedBy"] == "alice"

    medic(devcluster, "retry", name, "-n", namespace)
    wait_for(
        lambda: (
            "LadderReset"
            in [e["type"] for e in list_incidents(kube_api, namespace)[0]["status"]["timeline"]]
        ),
        timeout=20,
        what="the ladder reset",
    )
    shown = medic(devcluster, "show", name, "-n", namespace)
    assert "Acknowledged" in shown
    assert "LadderReset" in shown
    assert "page (NotifyOnly)" in shown


def test_version_needs_no_cluster() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from kubemedic.plugin import main; sys.exit(main(['version']))",
        ],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "operator")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.startswith("kubectl-medic ")
